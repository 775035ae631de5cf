#![doc = include_str!("../README.md")]

mod api;
mod client;
mod error;
mod http;
pub mod stream;
mod tls;

pub use api::{
    Builds, Files, Organizations, TemplateVersions, Templates, Tokens, Users, Workspaces,
};
pub use client::{Client, ClientBuilder};
pub use error::{ApiError, Error, Result};
