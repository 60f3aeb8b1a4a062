//! Engines reached over HTTP, and engines served over HTTP.
//!
//! In production the audit-log listing is an HTTP endpoint, so the harness
//! gates it the way clients reach it:
//!
//! - [`client`]: [`HttpEngine`], one GET per query through a pooled,
//!   keep-alive `ureq` agent, answers checked against the contract's shape;
//! - [`launch`]: a server the harness starts on the dataset it chooses (a
//!   *launched* engine: `[engines.NAME]` with `command` and `url`), stopped
//!   with the engine;
//! - [`probe`]: is an engine answering (at open, and while a launched server starts);
//! - [`serve`]: `audit-harness serve`, any engine served on `axum`;
//! - [`cost`]: `audit-harness http-cost`, the HTTP driver's own cost
//!   against wrk on the same pinned do-nothing server, each side pinned by
//!   [`affinity`].
//!
//! A *deployed* engine (`url` alone, or `--engine-url`) is a running service
//! on its own data: the properties that need the harness to choose the
//! dataset do not apply to it and are reported as such (`Opener::own_data`).

pub mod affinity;
pub mod client;
pub mod cost;
pub mod flag;
pub mod launch;
pub mod probe;
pub mod serve;

pub use client::HttpEngine;
pub use serve::{ServeCounts, ServeOptions, Server};

/// The path `serve` answers on, and the path of the contract's endpoint.
pub const PATH: &str = "/audit-events";
