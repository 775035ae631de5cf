//! `coder-core`: the domain model and every rule of a Coder-compatible control plane, without IO.
//!
//! - [`model`]: serde types spelled exactly as Coder's API (`codersdk`) spells them, decoded
//!   tolerantly (unknown enum strings, `null` arrays, missing optional fields).
//! - [`build`]: workspace status derived from provisioner job status × transition, and which
//!   transitions are allowed when.
//! - [`provision`]: the [`Provisioner`](provision::Provisioner) trait that turns a template
//!   archive into parameters, plans and infrastructure.
//! - [`schedule`]: autostop deadlines, activity bump, autostart, dormancy — each result carries
//!   the reason it was computed.
//! - [`chat`]: the chat-queue state machines, server side and client side.
//!
//! Nothing here reads a clock, opens a socket or touches a file: time is a parameter, effects are
//! returned values. Drivers in `coder-client` and the reference server do the IO.

pub mod backoff;
pub mod build;
pub mod chat;
pub mod error;
pub mod model;
pub mod provision;
pub mod schedule;
pub mod wire;

pub use error::{Error, Result};
