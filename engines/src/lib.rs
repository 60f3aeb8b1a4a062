//! The system under test: the audit-log listing contract, the [`Engine`] trait
//! and the engines that implement it.

// Frozen: its digest is pinned, so formatting must never touch it.
#[rustfmt::skip]
pub mod baseline;
pub mod contract;
pub mod engine;
pub mod extras;
pub mod fetch;
pub mod floor;
pub mod index;
pub mod json;
pub mod keyset;
pub mod memindex;
pub mod payload;
pub mod prefetch;
pub mod registry;
pub mod validate;

pub use contract::{contract_field, EngineError, Event, Fault, Page, Query, RowMeta, EVENT_FIELDS};
pub use engine::{Engine, SharedEngine};
pub use extras::{covers, flatten_into, Extras, EVENT_FIELD_PREFIX};
pub use registry::{builtin, find, reference, EngineInfo, Role};
pub use validate::{Domain, DomainError};

/// The dataset's SQLite file name inside a dataset directory.
pub const DB_FILE: &str = "audit.db";
/// The dataset's payload file name inside a dataset directory.
pub const PAYLOADS_FILE: &str = "payloads.jsonl";

/// The baseline's source as compiled into this binary; the harness checks its
/// digest against the one pinned in `harness.toml`.
pub const BASELINE_SOURCE: &[u8] = include_bytes!("baseline.rs");
