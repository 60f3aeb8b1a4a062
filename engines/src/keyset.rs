//! `keyset`: the service's SQL, made cheaper where the answer allows it.
//!
//! Why it is faster than the baseline: long-lived connections in a small pool
//! (no open per request), cached prepared statements, payloads read with
//! positioned reads on one shared file handle (no open per row), and
//! seeking by `(created_at, id)` instead of skipping rows wherever it can.
//!
//! Where keyset helps, and where it cannot: a keyset seek needs the boundary
//! row, the last row of the previous page. A random page number does not come
//! with one: page 1,000 still has to count past 999 pages of rows, exactly as
//! OFFSET does, unless a boundary at or before that offset is already known.
//! So the engine remembers, per filter, the boundary after every page it has
//! served and seeks from the nearest one at or before the requested offset
//! (sequential paging and repeated deep pages get cheap; a first visit to a
//! deep page does not). It also remembers each filter's row count, so a page
//! past the last row (most of the service's mix) is answered empty without
//! scanning (counted once per filter, on its first deep page). Both caches hold metadata only and are dropped whenever another
//! connection commits (`PRAGMA data_version` changes), so appends are seen.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OpenFlags};

use crate::contract::{EngineError, Page, Query, RowMeta};
use crate::engine::Engine;
use crate::fetch;
use crate::payload::PayloadFile;

const FILTER: &str = "created_at BETWEEN ?1 AND ?2 AND (?3 IS NULL OR actor_id = ?3) AND (?4 IS NULL OR action = ?4)";
const COLUMNS: &str = "id, created_at, actor_id, action, resource_type, resource_id, payload_offset, payload_len";

fn count_sql() -> String {
    format!("SELECT count(*) FROM audit_events WHERE {FILTER}")
}

fn offset_sql() -> String {
    format!("SELECT {COLUMNS} FROM audit_events WHERE {FILTER} ORDER BY created_at DESC, id DESC LIMIT ?5 OFFSET ?6")
}

/// Rows strictly after the boundary `(?7, ?8)` in `created_at DESC, id DESC`
/// order; `?2` is bound to `min(to_ts, boundary)` so the index range shrinks too.
fn seek_sql() -> String {
    format!(
        "SELECT {COLUMNS} FROM audit_events WHERE {FILTER} AND (created_at < ?7 OR (created_at = ?7 AND id < ?8))
         ORDER BY created_at DESC, id DESC LIMIT ?5 OFFSET ?6"
    )
}

/// The part of a query that identifies a result list (everything but the page).
type FilterKey = (i64, i64, Option<i64>, Option<String>);

/// Counts and page boundaries per filter, valid for one `generation` of the data.
#[derive(Default)]
struct Memo {
    generation: u64,
    counts: HashMap<FilterKey, u64>,
    /// offset -> (created_at, id) of the row just before it.
    bounds: HashMap<FilterKey, BTreeMap<u64, (i64, i64)>>,
}

/// Deep pages (at least this many rows skipped) count the filter's rows first.
const COUNT_FROM_OFFSET: u64 = 500;

/// Caches are dropped wholesale beyond this many filters, to bound memory.
const MEMO_MAX_FILTERS: usize = 200_000;

pub struct KeysetEngine {
    db: PathBuf,
    pool: Mutex<Vec<Connection>>,
    watch: Mutex<(Connection, i64)>,
    memo: Mutex<Memo>,
    payloads: PayloadFile,
}

fn poisoned<T>(_: T) -> EngineError {
    EngineError::Other("keyset lock poisoned by a panicking thread".into())
}

impl KeysetEngine {
    pub fn open(dir: &Path) -> Result<KeysetEngine, EngineError> {
        let db = dir.join(crate::DB_FILE);
        if !db.is_file() {
            return Err(EngineError::io(
                &db,
                std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
            ));
        }
        let watch = Self::connect(&db)?;
        let version = watch.query_row("PRAGMA data_version", [], |r| r.get(0))?;
        Ok(KeysetEngine {
            pool: Mutex::new(vec![Self::connect(&db)?]),
            watch: Mutex::new((watch, version)),
            memo: Mutex::new(Memo::default()),
            payloads: PayloadFile::open(dir)?,
            db,
        })
    }

    fn connect(db: &Path) -> Result<Connection, EngineError> {
        Ok(Connection::open_with_flags(
            db,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?)
    }

    /// The data generation this request sees; caches are dropped when it changes.
    fn generation(&self) -> Result<u64, EngineError> {
        let mut watch = self.watch.lock().map_err(poisoned)?;
        let version: i64 = watch.0.query_row("PRAGMA data_version", [], |r| r.get(0))?;
        let mut memo = self.memo.lock().map_err(poisoned)?;
        if version != watch.1 || memo.counts.len() + memo.bounds.len() > MEMO_MAX_FILTERS {
            watch.1 = version;
            let generation = memo.generation + 1;
            *memo = Memo {
                generation,
                ..Memo::default()
            };
        }
        Ok(memo.generation)
    }

    fn rows(&self, conn: &Connection, q: &Query, generation: u64) -> Result<Vec<RowMeta>, EngineError> {
        let (skip, take) = q.skip_take();
        if take == Some(0) || q.from_ts > q.to_ts {
            return Ok(Vec::new());
        }
        let key: FilterKey = (q.from_ts, q.to_ts, q.actor_id, q.action.clone());
        let limit = take.map_or(-1, |t| i64::try_from(t).unwrap_or(i64::MAX));
        let skip64 = skip as u64;

        let (count, bound) = {
            let memo = self.memo.lock().map_err(poisoned)?;
            let count = memo.counts.get(&key).copied();
            let bound = memo
                .bounds
                .get(&key)
                .and_then(|b| b.range(..=skip64).next_back().map(|(&o, &k)| (o, k)));
            (count, bound)
        };
        let count = match count {
            Some(c) => c,
            // Shallow pages stop scanning after a few rows: counting would cost more than it saves.
            None if skip64 < COUNT_FROM_OFFSET => u64::MAX,
            None => {
                let mut stmt = conn.prepare_cached(&count_sql())?;
                let c: i64 = stmt.query_row(rusqlite::params![q.from_ts, q.to_ts, q.actor_id, q.action], |r| {
                    r.get(0)
                })?;
                self.remember(generation, |m| {
                    m.counts.insert(key.clone(), c as u64);
                })?;
                c as u64
            }
        };
        if skip64 >= count {
            return Ok(Vec::new());
        }
        let rows = match bound {
            Some((at, (created_at, id))) if at > 0 => {
                let mut stmt = conn.prepare_cached(&seek_sql())?;
                let rest = i64::try_from(skip64 - at).unwrap_or(i64::MAX);
                let params = rusqlite::params![
                    q.from_ts,
                    q.to_ts.min(created_at),
                    q.actor_id,
                    q.action,
                    limit,
                    rest,
                    created_at,
                    id
                ];
                let rows = stmt
                    .query_map(params, RowMeta::from_sql)?
                    .collect::<Result<Vec<_>, _>>()?;
                rows
            }
            _ => {
                let mut stmt = conn.prepare_cached(&offset_sql())?;
                let offset = i64::try_from(skip64).unwrap_or(i64::MAX);
                let params = rusqlite::params![q.from_ts, q.to_ts, q.actor_id, q.action, limit, offset];
                let rows = stmt
                    .query_map(params, RowMeta::from_sql)?
                    .collect::<Result<Vec<_>, _>>()?;
                rows
            }
        };
        if let Some(last) = rows.last() {
            let end = skip64 + rows.len() as u64;
            self.remember(generation, |m| {
                m.bounds.entry(key).or_default().insert(end, (last.created_at, last.id));
            })?;
        }
        Ok(rows)
    }

    /// Stores into the caches only if they still describe the data this request saw.
    fn remember(&self, generation: u64, f: impl FnOnce(&mut Memo)) -> Result<(), EngineError> {
        let mut memo = self.memo.lock().map_err(poisoned)?;
        if memo.generation == generation {
            f(&mut memo);
        }
        Ok(())
    }
}

impl Engine for KeysetEngine {
    fn name(&self) -> &str {
        "keyset"
    }

    fn query(&self, q: &Query) -> Result<Page, EngineError> {
        let generation = self.generation()?;
        let pooled = self.pool.lock().map_err(poisoned)?.pop();
        let conn = match pooled {
            Some(c) => c,
            None => Self::connect(&self.db)?,
        };
        let rows = self.rows(&conn, q, generation);
        self.pool.lock().map_err(poisoned)?.push(conn);
        let rows = rows?;
        let file = self.payloads.handle()?;
        Ok(Page::new(fetch::one_by_one(&file, &rows)?))
    }

    fn index_bytes(&self) -> u64 {
        self.memo
            .lock()
            .map(|m| (m.counts.len() * 64 + m.bounds.values().map(|b| 48 + b.len() * 40).sum::<usize>()) as u64)
            .unwrap_or(0)
    }
}
