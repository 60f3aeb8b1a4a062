//! `floor`: not a candidate but a yardstick. It is told the queries in advance
//! (`prepare`) and keeps each answer's row metadata, so a request only does the
//! work every conforming engine must do: read the returned payloads from disk
//! (coalesced, as cheaply as possible) and decode them. Its latency is the
//! physical limit reports compare the others with. A query it was not told
//! about is looked up in its in-memory index, so it stays correct.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use crate::contract::{EngineError, Page, Query, RowMeta};
use crate::engine::Engine;
use crate::fetch;
use crate::index::MemIndex;
use crate::memindex::MemIndexEngine;
use crate::payload::PayloadFile;

pub struct FloorEngine {
    index: MemIndex,
    payloads: PayloadFile,
    known: RwLock<HashMap<Query, Arc<Vec<RowMeta>>>>,
}

impl FloorEngine {
    pub fn open(dir: &Path) -> Result<FloorEngine, EngineError> {
        Ok(FloorEngine {
            index: MemIndex::open(dir)?,
            payloads: PayloadFile::open(dir)?,
            known: RwLock::new(HashMap::new()),
        })
    }
}

fn poisoned<T>(_: T) -> EngineError {
    EngineError::Other("floor answer table lock poisoned".into())
}

impl Engine for FloorEngine {
    fn name(&self) -> &str {
        "floor"
    }

    fn prepare(&self, queries: &[Query]) -> Result<(), EngineError> {
        let mut known = HashMap::with_capacity(queries.len());
        for q in queries {
            if !known.contains_key(q) {
                known.insert(q.clone(), Arc::new(MemIndexEngine::rows(&self.index, q)?));
            }
        }
        *self.known.write().map_err(poisoned)? = known;
        Ok(())
    }

    fn query(&self, q: &Query) -> Result<Page, EngineError> {
        let known = self.known.read().map_err(poisoned)?.get(q).cloned();
        let rows = match known {
            Some(rows) => rows,
            None => Arc::new(MemIndexEngine::rows(&self.index, q)?),
        };
        let file = self.payloads.handle()?;
        Ok(Page::new(fetch::coalesced(&file, &rows)?))
    }

    fn index_bytes(&self) -> u64 {
        self.index.bytes()
            + self
                .known
                .read()
                .map(|k| k.values().map(|v| v.len() as u64 * 96).sum())
                .unwrap_or(0)
    }
}
