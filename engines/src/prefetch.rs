//! `prefetch`: memindex's lookup, then a page's payload reads issued together.
//!
//! Why it is fast: the lookup is memindex's (binary search in memory). Then,
//! instead of one read per row in page order, the page's payload ranges are
//! sorted by offset, adjacent ranges are coalesced into one read, the kernel
//! is told about every range up front (`posix_fadvise(WILLNEED)`) so that
//! read-ahead for all of them starts at once, and each range is decoded as
//! soon as its read completes. With a cold page cache this overlaps the disk
//! reads; with a warm cache it saves little beyond a few system calls.

use std::path::Path;

use crate::contract::{EngineError, Page, Query};
use crate::engine::Engine;
use crate::fetch;
use crate::index::MemIndex;
use crate::memindex::MemIndexEngine;
use crate::payload::PayloadFile;

pub struct PrefetchEngine {
    index: MemIndex,
    payloads: PayloadFile,
}

impl PrefetchEngine {
    pub fn open(dir: &Path) -> Result<PrefetchEngine, EngineError> {
        Ok(PrefetchEngine {
            index: MemIndex::open(dir)?,
            payloads: PayloadFile::open(dir)?,
        })
    }
}

impl Engine for PrefetchEngine {
    fn name(&self) -> &str {
        "prefetch"
    }

    fn query(&self, q: &Query) -> Result<Page, EngineError> {
        let rows = MemIndexEngine::rows(&self.index, q)?;
        let file = self.payloads.handle()?;
        Ok(Page::new(fetch::coalesced(&file, &rows)?))
    }

    fn index_bytes(&self) -> u64 {
        self.index.bytes()
    }
}
