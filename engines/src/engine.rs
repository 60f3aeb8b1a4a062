//! The one trait every system under test implements, and the registry of the
//! built-in engines. The harness knows engines only through this trait.

use std::path::Path;
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
    /// (a process engine: workers x max_in_flight). The equivalence suite's
    /// concurrency property drives at least this many threads.
    fn concurrency(&self) -> Option<usize> {
        None
    }
}

/// An engine shared between threads.
pub type SharedEngine = Arc<dyn Engine>;

/// A built-in engine: its name, one line about it, and how to open it.
pub struct EngineInfo {
    pub name: &'static str,
    pub about: &'static str,
    /// Whether it may replace the baseline (the floor is a yardstick, not a candidate).
    pub candidate: bool,
    pub open: fn(&Path) -> Result<SharedEngine, EngineError>,
}

/// Every built-in engine, baseline first.
pub fn builtin() -> &'static [EngineInfo] {
    &[
        EngineInfo {
            name: "baseline",
            about: "the production service ported verbatim: connection per request, LIMIT/OFFSET, a file open per payload (frozen)",
            candidate: false,
            open: |dir| Ok(Arc::new(crate::baseline::Baseline::open(dir)?)),
        },
        EngineInfo {
            name: "keyset",
            about: "pooled connections, cached statements, (created_at, id) seeks from remembered page boundaries, shared pread",
            candidate: true,
            open: |dir| Ok(Arc::new(crate::keyset::KeysetEngine::open(dir)?)),
        },
        EngineInfo {
            name: "memindex",
            about: "metadata in memory (newest first, per-actor and per-action lists), binary search, one pread per payload",
            candidate: true,
            open: |dir| Ok(Arc::new(crate::memindex::MemIndexEngine::open(dir)?)),
        },
        EngineInfo {
            name: "prefetch",
            about: "memindex's lookup, then a page's payload reads sorted, coalesced and read-ahead hinted together",
            candidate: true,
            open: |dir| Ok(Arc::new(crate::prefetch::PrefetchEngine::open(dir)?)),
        },
        EngineInfo {
            name: "floor",
            about: "answers known in advance; only the mandatory payload reads and decodes (the physical limit)",
            candidate: false,
            open: |dir| Ok(Arc::new(crate::floor::FloorEngine::open(dir)?)),
        },
    ]
}

/// The built-in engine registered under `name`.
pub fn find(name: &str) -> Option<&'static EngineInfo> {
    builtin().iter().find(|e| e.name == name)
}
