//! The audit-log engine conformance harness: dataset generation and integrity,
//! equivalence against the baseline, benchmarks, statistics, reports and the gate.

pub mod aa;
pub mod analysis;
pub mod app;
pub mod appends;
pub mod bench;
pub mod calibrate;
pub mod cancel;
pub mod cli;
pub mod commands;
pub mod compare;
pub mod dataset;
pub mod digest;
pub mod equivalence;
pub mod error;
pub mod fsutil;
pub mod http;
pub mod integrity;
pub mod locust;
pub mod measured;
pub mod mix;
pub mod output;
pub mod process;
pub mod query;
pub mod registry;
pub mod report;
pub mod shell;
pub mod spec;
pub mod stages;
pub mod stats;
pub mod sync;
pub mod verdict;

pub use error::HarnessError;
