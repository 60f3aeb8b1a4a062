//! A zoo of deliberately wrong engines, each a realistic bug, built on a small
//! correct in-memory engine ([`Model`]). The harness must catch every one.
#![allow(dead_code)]

use std::collections::HashMap;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use audit_engines::{Engine, EngineError, Page, Query, RowMeta, SharedEngine};
use audit_harness::dataset::{open_db, read_rows};
use audit_harness::equivalence::Opener;
use serde_json::Value;

/// The bugs, one per mutant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bug {
    /// None: the correct model.
    None,
    TiesByIdAscending,
    /// `page <= 0` wraps around to the oldest rows (caught in strict mode).
    NonPositivePageWraps,
    OffsetOffByOne,
    ActionIgnoredWithActor,
    WindowEndExclusive,
    PayloadsCached,
    IndexStaleAfterAppend,
    FullPageDropsLast,
    LastPartialPageWrong,
    /// Threads share one read buffer between reading and decoding.
    RaceOnSharedBuffer,
    /// Reads the payload of another row with the same length.
    SameLengthPayload,
    PanicsOnUnicodeAction,
    ErrorsOnDeepPages,
    HangsOnReversedWindow,
    /// A request that finds the index out of date while another thread is
    /// reloading it answers from the old index instead of waiting: stale
    /// answers, but only while appends and reads overlap.
    StaleWhileRefreshing,
    /// Follows the tail of payloads.jsonl into a cache of lines, taking
    /// whatever the file holds as whole lines: a line caught half-written is
    /// cached torn, and served when its row is committed.
    TornTailCache,
}

impl Bug {
    pub const MUTANTS: [Bug; 16] = [
        Bug::TiesByIdAscending,
        Bug::NonPositivePageWraps,
        Bug::OffsetOffByOne,
        Bug::ActionIgnoredWithActor,
        Bug::WindowEndExclusive,
        Bug::PayloadsCached,
        Bug::IndexStaleAfterAppend,
        Bug::FullPageDropsLast,
        Bug::LastPartialPageWrong,
        Bug::RaceOnSharedBuffer,
        Bug::SameLengthPayload,
        Bug::PanicsOnUnicodeAction,
        Bug::ErrorsOnDeepPages,
        Bug::HangsOnReversedWindow,
        Bug::StaleWhileRefreshing,
        Bug::TornTailCache,
    ];

    pub fn name(self) -> String {
        format!("{self:?}")
    }

    pub fn opener(self) -> Opener {
        Opener::new(&self.name(), move |dir| {
            Ok::<_, EngineError>(Arc::new(Model::open(dir, self)?) as SharedEngine)
        })
    }
}

/// Metadata in memory, newest first, reloaded when the table changes; payloads
/// read from disk on every request.
pub struct Model {
    dir: PathBuf,
    bug: Bug,
    state: Mutex<(i64, i64, Arc<Vec<RowMeta>>)>,
    cache: Mutex<HashMap<i64, Value>>,
    shared_buf: Mutex<Vec<u8>>,
    first_of_len: Mutex<HashMap<u64, u64>>,
    /// Held while the rows are reloaded.
    reloading: Mutex<()>,
    /// TornTailCache: the file length followed so far, and the "lines" read past it by offset.
    tail: Mutex<(u64, HashMap<u64, Vec<u8>>)>,
}

fn other(e: impl std::fmt::Display) -> EngineError {
    EngineError::Other(e.to_string())
}

impl Model {
    pub fn open(dir: &Path, bug: Bug) -> Result<Model, EngineError> {
        let m = Model {
            dir: dir.to_path_buf(),
            bug,
            state: Mutex::new((-1, -1, Arc::new(Vec::new()))),
            cache: Mutex::new(HashMap::new()),
            shared_buf: Mutex::new(Vec::new()),
            first_of_len: Mutex::new(HashMap::new()),
            reloading: Mutex::new(()),
            tail: Mutex::new((0, HashMap::new())),
        };
        let pl = dir.join(audit_engines::PAYLOADS_FILE);
        m.tail.lock().map_err(other)?.0 = std::fs::metadata(&pl).map_err(|e| EngineError::io(&pl, e))?.len();
        m.rows(true)?;
        Ok(m)
    }

    fn rows(&self, first: bool) -> Result<Arc<Vec<RowMeta>>, EngineError> {
        let conn = open_db(&self.dir).map_err(other)?;
        let (count, max): (i64, i64) =
            conn.query_row("SELECT count(*), coalesce(max(id), 0) FROM audit_events", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
        let stale_ok = self.bug == Bug::IndexStaleAfterAppend && !first;
        let _reloading = if self.bug == Bug::StaleWhileRefreshing {
            let st = self.state.lock().map_err(other)?;
            if (st.0, st.1) == (count, max) {
                return Ok(st.2.clone());
            }
            let old = st.2.clone();
            drop(st);
            match self.reloading.try_lock() {
                // A real index takes a while to reload (seconds at millions
                // of rows); a few milliseconds here keep the window in which
                // other requests answer stale as wide as a real one's, so the
                // property meets it in every run, not one run in five.
                Ok(g) => {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    Some(g)
                }
                // Someone else is reloading: answer from what is there.
                Err(_) => return Ok(old),
            }
        } else {
            None
        };
        let mut st = self.state.lock().map_err(other)?;
        if (st.0, st.1) != (count, max) && !stale_ok {
            let mut rows = read_rows(&conn)?;
            let ties_asc = self.bug == Bug::TiesByIdAscending;
            rows.sort_by(|a, b| {
                b.created_at
                    .cmp(&a.created_at)
                    .then(if ties_asc { a.id.cmp(&b.id) } else { b.id.cmp(&a.id) })
            });
            let mut fol = self.first_of_len.lock().map_err(other)?;
            fol.clear();
            let mut by_id = rows.clone();
            by_id.sort_by_key(|r| r.id);
            for r in &by_id {
                fol.entry(r.payload_len).or_insert(r.payload_offset);
            }
            *st = (count, max, Arc::new(rows));
        }
        Ok(st.2.clone())
    }

    /// TornTailCache: reads what the file grew by since last time and caches
    /// it split at newlines, a trailing partial line as if it were whole.
    fn follow_tail(&self, file: &std::fs::File) -> Result<(), EngineError> {
        let len = file.metadata().map_err(other)?.len();
        let mut tail = self.tail.lock().map_err(other)?;
        if len <= tail.0 {
            return Ok(());
        }
        let mut buf = vec![0u8; (len - tail.0) as usize];
        file.read_exact_at(&mut buf, tail.0).map_err(other)?;
        let mut at = tail.0;
        for line in buf.split_inclusive(|b| *b == b'\n') {
            tail.1.insert(at, line.to_vec());
            at += line.len() as u64;
        }
        tail.0 = len;
        Ok(())
    }

    fn payload(&self, file: &std::fs::File, r: &RowMeta) -> Result<Value, EngineError> {
        if self.bug == Bug::TornTailCache {
            if let Some(line) = self.tail.lock().map_err(other)?.1.get(&r.payload_offset) {
                return Ok(serde_json::from_slice(line)
                    .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(line).into_owned())));
            }
        }
        if self.bug == Bug::PayloadsCached {
            if let Some(v) = self.cache.lock().map_err(other)?.get(&r.id) {
                return Ok(v.clone());
            }
        }
        let mut offset = r.payload_offset;
        if self.bug == Bug::SameLengthPayload {
            offset = *self
                .first_of_len
                .lock()
                .map_err(other)?
                .get(&r.payload_len)
                .unwrap_or(&offset);
        }
        let mut buf = vec![0u8; r.payload_len as usize];
        file.read_exact_at(&mut buf, offset).map_err(other)?;
        let v: Value = if self.bug == Bug::RaceOnSharedBuffer {
            *self.shared_buf.lock().map_err(other)? = buf;
            std::thread::sleep(Duration::from_micros(200));
            let shared = self.shared_buf.lock().map_err(other)?.clone();
            serde_json::from_slice(&shared).map_err(other)?
        } else {
            serde_json::from_slice(&buf).map_err(other)?
        };
        if self.bug == Bug::PayloadsCached {
            self.cache.lock().map_err(other)?.insert(r.id, v.clone());
        }
        Ok(v)
    }
}

impl Engine for Model {
    fn name(&self) -> &str {
        "model"
    }

    fn query(&self, q: &Query) -> Result<Page, EngineError> {
        if self.bug == Bug::PanicsOnUnicodeAction && q.action.as_deref().is_some_and(|a| !a.is_ascii()) {
            panic!("byte index out of range in action {:?}", q.action);
        }
        if self.bug == Bug::ErrorsOnDeepPages && q.page > 1000 {
            return Err(EngineError::Other("cursor exhausted".into()));
        }
        if self.bug == Bug::HangsOnReversedWindow && q.from_ts > q.to_ts {
            std::thread::sleep(Duration::from_secs(5));
        }
        let rows = self.rows(false)?;
        let hits: Vec<&RowMeta> = rows
            .iter()
            .filter(|r| {
                let in_window = if self.bug == Bug::WindowEndExclusive {
                    q.from_ts <= r.created_at && r.created_at < q.to_ts
                } else {
                    q.from_ts <= r.created_at && r.created_at <= q.to_ts
                };
                let action_ok = (self.bug == Bug::ActionIgnoredWithActor && q.actor_id.is_some())
                    || q.action.as_deref().is_none_or(|a| a == r.action);
                in_window && q.actor_id.is_none_or(|a| a == r.actor_id) && action_ok
            })
            .collect();
        let (mut skip, take) = q.skip_take();
        let take = take.unwrap_or(usize::MAX);
        if self.bug == Bug::OffsetOffByOne && q.page > 1 {
            skip += 1;
        }
        if self.bug == Bug::NonPositivePageWraps && q.page <= 0 {
            skip = hits.len().saturating_sub(take.min(hits.len()));
        }
        if self.bug == Bug::LastPartialPageWrong && skip < hits.len() && skip.saturating_add(take) > hits.len() {
            skip = hits.len().saturating_sub(take);
        }
        let mut page: Vec<&RowMeta> = hits.into_iter().skip(skip).take(take).collect();
        if self.bug == Bug::FullPageDropsLast && page.len() == take && take > 1 {
            page.pop();
        }
        let path = self.dir.join(audit_engines::PAYLOADS_FILE);
        let file = std::fs::File::open(&path).map_err(|e| EngineError::io(&path, e))?;
        if self.bug == Bug::TornTailCache {
            self.follow_tail(&file)?;
        }
        let events = page
            .iter()
            .map(|r| Ok(r.to_event(self.payload(&file, r)?)))
            .collect::<Result<Vec<_>, EngineError>>()?;
        Ok(Page::new(events))
    }
}
