//! Reading and unpacking template archives within [`TemplateLimits`]: every entry is counted
//! and its full size (a sparse file's too) added up from the headers before any content is
//! read or written, so an archive over a limit fails at once with a message naming it. Both
//! run on a blocking thread, never on the async workers that answer requests.

use std::io::Read;
use std::path::{Path, PathBuf};

use coder_core::provision::Archive;

use super::manifest::{MANIFEST, Manifest};
use crate::config::TemplateLimits;

fn err(msg: impl Into<String>) -> coder_core::Error {
    coder_core::Error::Provisioner(msg.into())
}

/// Reads `coder-template.toml` and `README.md` (at the root or under `./`), checking the
/// whole archive against `limits`.
pub(super) async fn read(
    archive: &Archive,
    limits: TemplateLimits,
) -> coder_core::Result<(Manifest, String)> {
    let archive = Archive::clone(archive);
    blocking(move || read_blocking(&archive, limits)).await
}

/// Unpacks the archive into `to` (created; an earlier copy is removed first), within `limits`.
pub(super) async fn unpack(
    archive: &Archive,
    to: PathBuf,
    limits: TemplateLimits,
) -> coder_core::Result<()> {
    let archive = Archive::clone(archive);
    blocking(move || unpack_blocking(&archive, &to, limits)).await
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> coder_core::Result<T> + Send + 'static,
) -> coder_core::Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| err(format!("reading the template archive: {e}")))?
}

/// Counts entries and unpacked bytes against the limits.
struct Budget {
    limits: TemplateLimits,
    files: u64,
    bytes: u64,
}

impl Budget {
    fn new(limits: TemplateLimits) -> Self {
        Self {
            limits,
            files: 0,
            bytes: 0,
        }
    }

    fn take(&mut self, path: &str, size: u64) -> coder_core::Result<()> {
        self.files += 1;
        self.bytes = self.bytes.saturating_add(size);
        if self.files > self.limits.max_files {
            return Err(err(format!(
                "the template has more than {} files (--template-max-files)",
                self.limits.max_files
            )));
        }
        if self.bytes > self.limits.max_unpacked_bytes {
            return Err(err(format!(
                "the template unpacks to more than {} bytes (--template-max-unpacked-size); \
                 {path} alone is {size} bytes",
                self.limits.max_unpacked_bytes
            )));
        }
        Ok(())
    }
}

fn tar_error(e: std::io::Error) -> coder_core::Error {
    err(format!("reading the tar archive: {e}"))
}

fn read_blocking(archive: &[u8], limits: TemplateLimits) -> coder_core::Result<(Manifest, String)> {
    let mut manifest = None;
    let mut readme = String::new();
    let mut budget = Budget::new(limits);
    let mut tar = tar::Archive::new(archive);
    let entries = tar
        .entries()
        .map_err(|e| err(format!("the upload is not a tar archive: {e}")))?;
    for entry in entries {
        let mut entry = entry.map_err(tar_error)?;
        let path = entry
            .path()
            .map_err(tar_error)?
            .to_string_lossy()
            .trim_start_matches("./")
            .to_owned();
        budget.take(&path, entry.size())?;
        if path == MANIFEST || path == "README.md" {
            let mut text = String::new();
            entry
                .read_to_string(&mut text)
                .map_err(|e| err(format!("{path} is not UTF-8 text: {e}")))?;
            if path == MANIFEST {
                manifest = Some(text);
            } else {
                readme = text;
            }
        }
    }
    let text = manifest.ok_or_else(|| {
        err(format!(
            "the template has no {MANIFEST} at its root; see examples/templates/local for the format"
        ))
    })?;
    Ok((Manifest::parse(&text).map_err(err)?, readme))
}

fn unpack_blocking(archive: &[u8], to: &Path, limits: TemplateLimits) -> coder_core::Result<()> {
    let io = |what: &str, e: std::io::Error| err(format!("{what} {}: {e}", to.display()));
    match std::fs::remove_dir_all(to) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io("removing", e)),
    }
    std::fs::create_dir_all(to).map_err(|e| io("creating", e))?;
    let mut budget = Budget::new(limits);
    let mut tar = tar::Archive::new(archive);
    for entry in tar.entries().map_err(tar_error)? {
        let mut entry = entry.map_err(tar_error)?;
        let path = entry.path().map_err(tar_error)?.display().to_string();
        budget.take(&path, entry.size())?;
        // `unpack_in` refuses paths that escape `to` (absolute, `..`, through symlinks).
        entry
            .unpack_in(to)
            .map_err(|e| err(format!("unpacking {path}: {e}")))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;

    fn tar_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (path, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, path, *data)
                .unwrap_or_else(|e| panic!("{e}"));
        }
        b.into_inner().unwrap_or_else(|e| panic!("{e}"))
    }

    /// A GNU sparse entry declaring `real` bytes, only the last 512 of them stored.
    fn sparse_tar(name: &str, real: u64) -> Vec<u8> {
        let mut h = tar::Header::new_gnu();
        h.set_path(name).unwrap_or_else(|e| panic!("{e}"));
        h.set_entry_type(tar::EntryType::GNUSparse);
        h.set_size(512);
        h.set_mode(0o644);
        if let Some(gnu) = h.as_gnu_mut() {
            gnu.set_real_size(real);
            gnu.sparse[0].set_offset(real - 512);
            gnu.sparse[0].set_length(512);
        }
        h.set_cksum();
        let mut out = h.as_bytes().to_vec();
        out.extend_from_slice(&[7u8; 512]);
        out.extend_from_slice(&[0u8; 1024]);
        out
    }

    const MANIFEST_TEXT: &[u8] = b"[[agents]]\nname = \"main\"\n";

    #[test]
    fn a_template_within_the_limits_reads() {
        let tar = tar_of(&[(MANIFEST, MANIFEST_TEXT), ("README.md", b"# hi")]);
        let (manifest, readme) =
            read_blocking(&tar, TemplateLimits::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((manifest.agents.len(), readme.as_str()), (1, "# hi"));
    }

    #[test]
    fn too_many_files_fail_naming_the_limit() {
        let limits = TemplateLimits {
            max_files: 2,
            max_unpacked_bytes: 1 << 20,
        };
        let tar = tar_of(&[(MANIFEST, MANIFEST_TEXT), ("a", b"1"), ("b", b"2")]);
        let e = read_blocking(&tar, limits).map(|_| ()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "provisioner failed: the template has more than 2 files (--template-max-files)"
        );
    }

    #[test]
    fn a_sparse_file_counts_at_its_full_size_before_anything_is_written() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let to = dir.path().join("t");
        let limits = TemplateLimits {
            max_files: 10,
            max_unpacked_bytes: 64 << 20,
        };
        let e = unpack_blocking(&sparse_tar("big", 256 << 20), &to, limits).unwrap_err();
        assert_eq!(
            e.to_string(),
            "provisioner failed: the template unpacks to more than 67108864 bytes \
             (--template-max-unpacked-size); big alone is 268435456 bytes"
        );
        assert_eq!(std::fs::read_dir(&to).map(Iterator::count).ok(), Some(0));
    }

    /// Unpacking thousands of files never holds up the async thread it was awaited on: a
    /// ticker on the same single-threaded runtime keeps running while it works.
    #[tokio::test(flavor = "current_thread")]
    async fn unpacking_leaves_the_async_thread_free() {
        let files: Vec<(String, Vec<u8>)> = (0..3000)
            .map(|i| (format!("f/{i}.txt"), vec![b'x'; 64]))
            .collect();
        let entries: Vec<(&str, &[u8])> = files
            .iter()
            .map(|(p, d)| (p.as_str(), d.as_slice()))
            .collect();
        let archive: Archive = Arc::from(tar_of(&entries));
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let ticks = Arc::new(AtomicU64::new(0));
        let ticker = tokio::spawn({
            let ticks = Arc::clone(&ticks);
            async move {
                loop {
                    ticks.fetch_add(1, Ordering::Relaxed);
                    tokio::task::yield_now().await;
                }
            }
        });
        tokio::task::yield_now().await;
        let before = ticks.load(Ordering::Relaxed);
        unpack(&archive, dir.path().join("t"), TemplateLimits::default())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let during = ticks.load(Ordering::Relaxed) - before;
        ticker.abort();
        assert_eq!(
            std::fs::read_dir(dir.path().join("t/f"))
                .map(Iterator::count)
                .ok(),
            Some(3000)
        );
        assert!(during > 0, "the ticker never ran while unpacking");
    }
}
