//! The one trait every system under test implements. The harness knows
//! engines only through this trait (the built-ins are listed in `registry`).

use std::sync::Arc;

use crate::contract::{EngineError, Page, Query};

/// A listing engine opened on one dataset directory and shared by many threads.
///
/// `query` must answer every query, including ones outside the input domain,
/// with the page the baseline would return, or an error; it must never panic.
pub trait Engine: Send + Sync {
    /// The name the engine is registered under.
    fn name(&self) -> &str;

    /// Answers one query, reading every returned payload from disk.
    fn query(&self, q: &Query) -> Result<Page, EngineError>;

    /// Announces the queries about to be asked. Only the floor uses it (it
    /// "knows each answer in advance"); every other engine ignores it.
    fn prepare(&self, _queries: &[Query]) -> Result<(), EngineError> {
        Ok(())
    }

    /// Bytes of metadata the engine keeps in memory (its index), for reports.
    fn index_bytes(&self) -> u64 {
        0
    }

    /// Requests the engine declares it serves at once, when it has a limit
    /// (a process engine: processes x max_in_flight). The equivalence suite's
    /// concurrency property drives at least this many threads.
    fn concurrency(&self) -> Option<usize> {
        None
    }

    /// The peak resident memory, in bytes, of the processes that serve the
    /// engine outside the harness (a process engine's processes, a launched
    /// server), summed; `None` for an engine inside the harness's own
    /// process, whose memory is the harness's.
    fn peak_rss_bytes(&self) -> Option<u64> {
        None
    }

    /// Where an engine served over HTTP is reached, for a load generator
    /// outside the harness (the Locust driver); `None` for every other engine.
    fn http_target(&self) -> Option<HttpTarget> {
        None
    }
}

/// An HTTP engine's endpoint, as another client must call it.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpTarget {
    /// The URL queries are sent to, without a query string.
    pub url: String,
    /// Where the events are in an object answer.
    pub events_key: Option<String>,
    /// Each request's timeout.
    pub timeout: std::time::Duration,
}

/// The peak resident set of process `pid` so far (`VmHWM` in
/// `/proc/PID/status`), in bytes; `None` once it is gone or where there is no `/proc`.
pub fn peak_rss_of(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// An engine shared between threads.
pub type SharedEngine = Arc<dyn Engine>;
