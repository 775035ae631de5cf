//! Shared by the client's integration tests: making a template on the reference server.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use coder_client::Client;
use coder_client::model::{
    CreateTemplateRequest, CreateTemplateVersionRequest, ProvisionerJobStatus,
    ProvisionerStorageMethod, ProvisionerType, Template,
};
use futures_util::StreamExt;

/// The tar of a template directory.
pub fn tar_of(dir: &Path) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    builder.append_dir_all(".", dir).unwrap();
    builder.into_inner().unwrap()
}

/// The example template's tar (`examples/templates/local`).
pub fn example_template() -> Vec<u8> {
    tar_of(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/templates/local"))
}

/// Uploads `tar`, imports it (following the import logs to the end) and makes a template.
pub async fn push(client: &Client, name: &str, tar: Vec<u8>) -> Template {
    let file = client.files().upload(tar).await.unwrap();
    let version = client
        .template_versions()
        .create(
            "default",
            &CreateTemplateVersionRequest {
                storage_method: ProvisionerStorageMethod::File,
                file_id: file.hash,
                provisioner: ProvisionerType::Process,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut logs = client
        .template_versions()
        .follow_logs(version.id, None)
        .unwrap();
    let mut ids = Vec::new();
    while let Some(line) = logs.next().await {
        ids.push(line.unwrap().id);
    }
    assert!(
        !ids.is_empty() && ids.windows(2).all(|w| w[0] < w[1]),
        "{ids:?}"
    );
    let version = client.template_versions().get(version.id).await.unwrap();
    assert_eq!(version.job.status, ProvisionerJobStatus::Succeeded);
    client
        .templates()
        .create(
            "default",
            &CreateTemplateRequest {
                name: name.into(),
                template_version_id: version.id,
                ..Default::default()
            },
        )
        .await
        .unwrap()
}
