//! Template directories as Coder uploads them: a tar archive with entries in sorted order and
//! fixed metadata (mtime 0, uid/gid 0, mode 0644 or 0755), so the same directory always
//! gives the same bytes (and the server's content-addressed file id). Like Coder's
//! `provisionersdk.Tar`, hidden files and directories (except `.terraform.lock.hcl`) and
//! Terraform state files are left out.

use std::fs;
use std::path::Path;

use crate::cli::ProvisionerArg;
use crate::error::{CliError, Result};

/// The local manifest the reference server's `process` provisioner reads.
pub(crate) const LOCAL_MANIFEST: &str = "coder-template.toml";

/// Archives `dir`.
pub(crate) fn tar_directory(dir: &Path) -> Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    append_dir(&mut builder, dir, "")?;
    builder.into_inner().map_err(CliError::io(dir))
}

fn append_dir(builder: &mut tar::Builder<Vec<u8>>, dir: &Path, prefix: &str) -> Result<()> {
    let mut entries = fs::read_dir(dir)
        .map_err(CliError::io(dir))?
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(CliError::io(dir))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        if skipped(&name) {
            continue;
        }
        let path = entry.path();
        let meta = fs::metadata(&path).map_err(CliError::io(&path))?;
        let rel = format!("{prefix}{name}");
        let mut header = tar::Header::new_gnu();
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        if meta.is_dir() {
            header.set_entry_type(tar::EntryType::Directory);
            header.set_mode(0o755);
            header.set_size(0);
            builder
                .append_data(&mut header, format!("{rel}/"), std::io::empty())
                .map_err(CliError::io(&path))?;
            append_dir(builder, &path, &format!("{rel}/"))?;
        } else if meta.is_file() {
            let data = fs::read(&path).map_err(CliError::io(&path))?;
            header.set_entry_type(tar::EntryType::Regular);
            header.set_mode(if executable(&meta) { 0o755 } else { 0o644 });
            header.set_size(data.len() as u64);
            builder
                .append_data(&mut header, &rel, data.as_slice())
                .map_err(CliError::io(&path))?;
        }
    }
    Ok(())
}

fn skipped(name: &str) -> bool {
    (name.starts_with('.') && name != ".terraform.lock.hcl") || name.contains(".tfstate")
}

#[cfg(unix)]
fn executable(meta: &fs::Metadata) -> bool {
    std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o111 != 0
}

#[cfg(not(unix))]
fn executable(_: &fs::Metadata) -> bool {
    false
}

/// The provisioner a directory asks for: `process` when it has the local manifest,
/// `terraform` when it has `*.tf` files.
pub(crate) fn detect_provisioner(dir: &Path) -> Result<ProvisionerArg> {
    if dir.join(LOCAL_MANIFEST).is_file() {
        return Ok(ProvisionerArg::Process);
    }
    let has_tf = fs::read_dir(dir)
        .map_err(CliError::io(dir))?
        .filter_map(|e| e.ok())
        .any(|e| e.path().extension().is_some_and(|x| x == "tf"));
    if has_tf {
        return Ok(ProvisionerArg::Terraform);
    }
    Err(CliError::Usage(format!(
        "{} has neither {LOCAL_MANIFEST} nor *.tf files: pass --provisioner, or run \
         `coder templates init` for an example",
        dir.display()
    )))
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn entries(tar_bytes: &[u8]) -> Vec<(String, u32, u64, String)> {
        let mut archive = tar::Archive::new(tar_bytes);
        archive
            .entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let h = e.header().clone();
                let mut body = String::new();
                e.read_to_string(&mut body).unwrap();
                (
                    e.path().unwrap().to_string_lossy().into_owned(),
                    h.mode().unwrap(),
                    h.mtime().unwrap(),
                    body,
                )
            })
            .collect()
    }

    #[test]
    fn archives_in_sorted_order_with_fixed_metadata_skipping_hidden_and_state() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        fs::write(d.join("main.tf"), "resource {}").unwrap();
        fs::write(d.join("README.md"), "hi").unwrap();
        fs::create_dir(d.join("scripts")).unwrap();
        fs::write(d.join("scripts/b.sh"), "b").unwrap();
        fs::write(d.join("scripts/a.sh"), "a").unwrap();
        fs::write(d.join("terraform.tfstate"), "secret").unwrap();
        fs::write(d.join(".env"), "secret").unwrap();
        fs::write(d.join(".terraform.lock.hcl"), "lock").unwrap();
        fs::create_dir(d.join(".git")).unwrap();
        fs::write(d.join(".git/HEAD"), "ref").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(d.join("scripts/a.sh"), fs::Permissions::from_mode(0o700)).unwrap();
        }
        let bytes = tar_directory(d).unwrap();
        let got = entries(&bytes);
        let names: Vec<&str> = got.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(
            names,
            [
                ".terraform.lock.hcl",
                "README.md",
                "main.tf",
                "scripts/",
                "scripts/a.sh",
                "scripts/b.sh"
            ]
        );
        assert!(got.iter().all(|e| e.2 == 0), "mtime is fixed");
        assert_eq!(got[1].1, 0o644);
        assert_eq!(got[3].1, 0o755);
        #[cfg(unix)]
        assert_eq!(got[4].1, 0o755);
        assert_eq!(got[2].3, "resource {}");
        // Deterministic: the same tree gives the same bytes.
        assert_eq!(tar_directory(d).unwrap(), bytes);
    }

    #[test]
    fn the_manifest_means_process_tf_means_terraform() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        assert!(
            detect_provisioner(d)
                .unwrap_err()
                .to_string()
                .contains("--provisioner")
        );
        fs::write(d.join("main.tf"), "").unwrap();
        assert_eq!(detect_provisioner(d).unwrap(), ProvisionerArg::Terraform);
        fs::write(d.join(LOCAL_MANIFEST), "").unwrap();
        assert_eq!(detect_provisioner(d).unwrap(), ProvisionerArg::Process);
    }
}
