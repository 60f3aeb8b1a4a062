//! `memindex`: metadata in memory, payloads from disk.
//!
//! Why it is fast: no SQL and no connection per request. Every row's metadata
//! sits in memory ordered `created_at DESC, id DESC` with per-actor and
//! per-action position lists ([`crate::index`]); a window is two binary
//! searches, a page is a slice of it. A deep page past the last row costs the
//! same two binary searches as page 1, where LIMIT/OFFSET walks every skipped
//! row. Payloads are then read with one positioned read each on a file handle
//! shared by all threads, and decoded.

use std::path::Path;

use crate::contract::{EngineError, Page, Query, RowMeta};
use crate::engine::Engine;
use crate::fetch;
use crate::index::MemIndex;
use crate::payload::PayloadFile;

pub struct MemIndexEngine {
    index: MemIndex,
    payloads: PayloadFile,
}

impl MemIndexEngine {
    pub fn open(dir: &Path) -> Result<MemIndexEngine, EngineError> {
        Ok(MemIndexEngine {
            index: MemIndex::open(dir)?,
            payloads: PayloadFile::open(dir)?,
        })
    }

    /// The metadata of the rows `q` returns, in page order.
    pub fn rows(index: &MemIndex, q: &Query) -> Result<Vec<RowMeta>, EngineError> {
        Ok(index.snapshot()?.page(q))
    }
}

impl Engine for MemIndexEngine {
    fn name(&self) -> &str {
        "memindex"
    }

    fn query(&self, q: &Query) -> Result<Page, EngineError> {
        let rows = Self::rows(&self.index, q)?;
        let file = self.payloads.handle()?;
        Ok(Page::new(fetch::one_by_one(&file, &rows)?))
    }

    fn index_bytes(&self) -> u64 {
        self.index.bytes()
    }
}
