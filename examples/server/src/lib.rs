//! `coder-server`: a reference control plane that speaks Coder's REST API (`/api/v2`).
//!
//! - [`store`]: one `Store` over SQLite (embedded default) or PostgreSQL, versioned migrations.
//! - [`api`]: the HTTP routes, with Coder's paths, bodies, status codes and error shape, each
//!   declared once in [`api::routes`].
//! - [`auth`]: API keys, session extraction, the login-attempt key.
//! - [`passwords`]: argon2 hashing and verification, bounded, with a dummy hash for unknown users.
//! - [`runner`]: the job runner; [`provisioners`]: the provisioners it runs jobs with, by
//!   type; [`process`]: the local process provisioner.
//! - [`openapi`]: the OpenAPI document, derived from the route registry and the wire types.
//! - [`views`]: stored rows turned into Coder's wire objects with derived fields.
//! - [`server`]: [`serve`] — start-up, recovery, graceful shutdown.
//! - [`connections`]: the accept loop: connection cap, header timeout, open-file limit.
//!
//! ```no_run
//! # async fn run() -> Result<(), coder_server::error::Error> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
//! let config = coder_server::Config::new(coder_server::Config::default_cache_dir());
//! coder_server::serve(listener, config).await
//! # }
//! ```

pub mod api;
pub mod auth;
pub mod cli;
pub mod config;
pub mod connections;
pub mod error;
pub mod openapi;
pub mod passwords;
mod private_fs;
pub mod process;
pub mod provisioners;
pub mod pubsub;
pub mod runner;
pub mod schedule;
pub mod search;
pub mod server;
pub mod state;
pub mod store;
pub mod testing;
pub mod views;

pub use config::Config;
pub use server::{serve, serve_with_shutdown};
