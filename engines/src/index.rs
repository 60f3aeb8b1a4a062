//! The in-memory metadata index shared by `memindex`, `prefetch` and `floor`:
//! every row's metadata ordered `created_at DESC, id DESC`, with per-actor and
//! per-action position lists, answered by binary search on the window.
//! Payloads are not in it: they are read from disk on every request.
//!
//! Appends are noticed cheaply: each request asks SQLite's `PRAGMA data_version`
//! on a long-lived connection (one integer, changed by any other connection's
//! commit); only then are the rows past the largest known id read and the index
//! rebuilt.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

use rusqlite::{Connection, OpenFlags};

use crate::contract::{EngineError, Query, RowMeta};

/// One row's metadata, compact: strings interned where they repeat.
#[derive(Debug, Clone)]
pub struct Row {
    pub created_at: i64,
    pub id: i64,
    pub actor_id: i64,
    pub payload_offset: u64,
    pub payload_len: u64,
    pub action: u32,
    pub resource_type: u32,
    pub resource_id: Box<str>,
}

/// An immutable snapshot of the index; replaced whole when rows are appended.
#[derive(Default)]
pub struct Snapshot {
    /// Newest first: `created_at DESC, id DESC`.
    pub rows: Vec<Row>,
    /// Interned action and resource type strings.
    pub strings: Vec<Box<str>>,
    string_ids: HashMap<Box<str>, u32>,
    /// Positions in `rows` (ascending, so newest first) per actor and per action.
    by_actor: HashMap<i64, Vec<u32>>,
    by_action: HashMap<u32, Vec<u32>>,
    pub max_id: i64,
}

impl Snapshot {
    fn intern(&mut self, s: String) -> u32 {
        if let Some(&i) = self.string_ids.get(s.as_str()) {
            return i;
        }
        let i = self.strings.len() as u32;
        self.strings.push(s.clone().into_boxed_str());
        self.string_ids.insert(s.into_boxed_str(), i);
        i
    }

    /// A snapshot holding `old`'s rows plus `new` ones.
    fn extended(old: &Snapshot, new: Vec<RowMeta>) -> Snapshot {
        let mut s = Snapshot {
            rows: old.rows.clone(),
            strings: old.strings.clone(),
            string_ids: old.string_ids.clone(),
            max_id: old.max_id,
            ..Snapshot::default()
        };
        for m in new {
            s.max_id = s.max_id.max(m.id);
            let action = s.intern(m.action);
            let resource_type = s.intern(m.resource_type);
            s.rows.push(Row {
                created_at: m.created_at,
                id: m.id,
                actor_id: m.actor_id,
                payload_offset: m.payload_offset,
                payload_len: m.payload_len,
                action,
                resource_type,
                resource_id: m.resource_id.into_boxed_str(),
            });
        }
        s.rows.sort_unstable_by_key(|r| std::cmp::Reverse((r.created_at, r.id)));
        for (pos, r) in s.rows.iter().enumerate() {
            s.by_actor.entry(r.actor_id).or_default().push(pos as u32);
            s.by_action.entry(r.action).or_default().push(pos as u32);
        }
        s.rows.shrink_to_fit();
        s
    }

    /// Bytes held in memory (rows, strings, position lists), approximately.
    pub fn bytes(&self) -> u64 {
        let rows = self.rows.capacity() * std::mem::size_of::<Row>()
            + self.rows.iter().map(|r| r.resource_id.len()).sum::<usize>();
        let lists = |values: &mut dyn Iterator<Item = &Vec<u32>>, slots: usize| {
            values.map(|v| v.capacity() * 4 + 48).sum::<usize>() + slots * 16
        };
        let strings = self.strings.iter().map(|s| s.len() * 2 + 40).sum::<usize>();
        let lists = lists(&mut self.by_actor.values(), self.by_actor.capacity())
            + lists(&mut self.by_action.values(), self.by_action.capacity());
        (rows + lists + strings) as u64
    }

    /// The positions (into `rows`) of the page `q` asks for, newest first.
    pub fn lookup(&self, q: &Query) -> Vec<u32> {
        let (skip, take) = q.skip_take();
        let take = take.unwrap_or(usize::MAX);
        if take == 0 || q.from_ts > q.to_ts {
            return Vec::new();
        }
        let action = match &q.action {
            Some(a) => match self.string_ids.get(a.as_str()) {
                Some(&i) => Some(i),
                None => return Vec::new(),
            },
            None => None,
        };
        // The rows in the window form one run of every newest-first list: find it by binary search.
        let window = |list_len: usize, at: &dyn Fn(usize) -> i64| {
            let lo = partition_point(list_len, |i| at(i) > q.to_ts);
            let hi = partition_point(list_len, |i| at(i) >= q.from_ts);
            (lo, hi.max(lo))
        };
        let page = |candidates: &mut dyn Iterator<Item = u32>| candidates.skip(skip).take(take).collect::<Vec<u32>>();
        match (q.actor_id, action) {
            (None, None) => {
                let (lo, hi) = window(self.rows.len(), &|i| self.rows[i].created_at);
                let start = lo.saturating_add(skip).min(hi);
                let end = start.saturating_add(take).min(hi);
                (start as u32..end as u32).collect()
            }
            (Some(actor), action) => {
                let Some(list) = self.by_actor.get(&actor) else {
                    return Vec::new();
                };
                let (lo, hi) = window(list.len(), &|i| self.rows[list[i] as usize].created_at);
                let mut it = list[lo..hi]
                    .iter()
                    .copied()
                    .filter(|&p| action.is_none_or(|a| self.rows[p as usize].action == a));
                page(&mut it)
            }
            (None, Some(a)) => {
                let Some(list) = self.by_action.get(&a) else {
                    return Vec::new();
                };
                let (lo, hi) = window(list.len(), &|i| self.rows[list[i] as usize].created_at);
                let start = lo.saturating_add(skip).min(hi);
                let end = start.saturating_add(take).min(hi);
                list[start..end].to_vec()
            }
        }
    }

    /// The metadata of the row at `pos`, as the contract types it.
    pub fn meta(&self, pos: u32) -> RowMeta {
        let r = &self.rows[pos as usize];
        RowMeta {
            id: r.id,
            created_at: r.created_at,
            actor_id: r.actor_id,
            action: self.strings[r.action as usize].to_string(),
            resource_type: self.strings[r.resource_type as usize].to_string(),
            resource_id: r.resource_id.to_string(),
            payload_offset: r.payload_offset,
            payload_len: r.payload_len,
        }
    }
}

/// The first index in `0..len` where `pred` is false (pred true then false).
fn partition_point(len: usize, pred: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, len);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if pred(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// A connection that watches for appends, with the `data_version` it last saw
/// (`None`: never looked, so compare ids once).
struct Watcher {
    conn: Connection,
    seen: Option<i64>,
}

/// The live index: the current snapshot, and a pool of connections that watch
/// for appends. Each request takes a watcher of its own from the pool (the pool
/// lock is held for a push or a pop, never across SQL), so concurrent requests
/// never queue behind one another's `PRAGMA data_version`; with one shared
/// watcher, a thread preempted while holding it stalled every other request for
/// a whole scheduler slice (p99 in milliseconds on a loaded machine).
pub struct MemIndex {
    path: std::path::PathBuf,
    watchers: Mutex<Vec<Watcher>>,
    /// Serialises extending the snapshot.
    extend: Mutex<()>,
    current: RwLock<Arc<Snapshot>>,
}

const NEW_ROWS_SQL: &str =
    "SELECT id, created_at, actor_id, action, resource_type, resource_id, payload_offset, payload_len
    FROM audit_events WHERE id > ? ORDER BY id";

fn read_new(conn: &Connection, after: i64) -> Result<Vec<RowMeta>, EngineError> {
    let mut stmt = conn.prepare_cached(NEW_ROWS_SQL)?;
    let rows = stmt
        .query_map([after], |r| {
            Ok(RowMeta {
                id: r.get(0)?,
                created_at: r.get(1)?,
                actor_id: r.get(2)?,
                action: r.get(3)?,
                resource_type: r.get(4)?,
                resource_id: r.get(5)?,
                payload_offset: r.get::<_, i64>(6)? as u64,
                payload_len: r.get::<_, i64>(7)? as u64,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

fn data_version(conn: &Connection) -> Result<i64, EngineError> {
    Ok(conn.query_row("PRAGMA data_version", [], |r| r.get(0))?)
}

fn poisoned<T>(_: T) -> EngineError {
    EngineError::Other("index lock poisoned by a panicking thread".into())
}

fn connect(path: &Path) -> Result<Connection, EngineError> {
    Ok(Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?)
}

impl MemIndex {
    /// Loads every row of `dir/audit.db`.
    pub fn open(dir: &Path) -> Result<MemIndex, EngineError> {
        let path = dir.join(crate::DB_FILE);
        if !path.is_file() {
            return Err(EngineError::io(
                &path,
                std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
            ));
        }
        let conn = connect(&path)?;
        let version = data_version(&conn)?;
        let snapshot = Snapshot::extended(&Snapshot::default(), read_new(&conn, i64::MIN)?);
        Ok(MemIndex {
            path,
            watchers: Mutex::new(vec![Watcher {
                conn,
                seen: Some(version),
            }]),
            extend: Mutex::new(()),
            current: RwLock::new(Arc::new(snapshot)),
        })
    }

    /// The snapshot to answer from, extended first if rows were committed since
    /// this request's watcher last looked.
    pub fn snapshot(&self) -> Result<Arc<Snapshot>, EngineError> {
        let popped = self.watchers.lock().map_err(poisoned)?.pop();
        let mut w = match popped {
            Some(w) => w,
            None => Watcher {
                conn: connect(&self.path)?,
                seen: None,
            },
        };
        let version = data_version(&w.conn)?;
        if w.seen != Some(version) {
            let _one_at_a_time = self.extend.lock().map_err(poisoned)?;
            let old = self.current.read().map_err(poisoned)?.clone();
            let new = read_new(&w.conn, old.max_id)?;
            if !new.is_empty() {
                *self.current.write().map_err(poisoned)? = Arc::new(Snapshot::extended(&old, new));
            }
            w.seen = Some(version);
        }
        let snapshot = self.current.read().map_err(poisoned)?.clone();
        self.watchers.lock().map_err(poisoned)?.push(w);
        Ok(snapshot)
    }

    /// The current snapshot's size in bytes.
    pub fn bytes(&self) -> u64 {
        self.current.read().map(|s| s.bytes()).unwrap_or(0)
    }
}
