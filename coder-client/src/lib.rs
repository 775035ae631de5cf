#![doc = include_str!("../README.md")]

mod api;
mod cli_config;
mod client;
mod error;
mod http;
pub mod stream;
mod tls;

pub use api::{
    Builds, Files, Organizations, TemplateVersions, Templates, Tokens, Users, Workspaces,
};
pub use cli_config::CliConfig;
pub use client::{Client, ClientBuilder};
/// The wire model this client takes and returns (`coder-core`'s), so one dependency is
/// enough: `coder_client::model::Workspace`.
pub use coder_core::model;
pub use error::{ApiError, Error, Result};
