//! The baseline: a faithful port of the production service's listing handler.
//!
//! FROZEN. The harness pins this file's sha256 in `harness.toml` and refuses to
//! run if it changed: the baseline *is* the definition of a correct answer.
//! Per request it opens a new SQLite connection, runs the reference SQL with
//! bound parameters and LIMIT/OFFSET, then for every row opens the payload file,
//! seeks, reads `payload_len` bytes and decodes them as JSON, one at a time.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use crate::contract::{EngineError, Event, Page, Query};
use crate::engine::Engine;

/// The service's query, verbatim.
pub const REFERENCE_SQL: &str = "SELECT id, created_at, actor_id, action, resource_type, resource_id, payload_offset, payload_len
FROM audit_events
WHERE created_at BETWEEN ? AND ? AND (? IS NULL OR actor_id = ?) AND (? IS NULL OR action = ?)
ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?";

/// The production handler, holding nothing but the dataset's paths.
pub struct Baseline {
    db: PathBuf,
    payloads: PathBuf,
}

impl Baseline {
    /// Remembers the dataset's paths; like the service, it touches no file until a request.
    pub fn open(dir: &Path) -> Result<Baseline, EngineError> {
        let db = dir.join("audit.db");
        if !db.is_file() {
            return Err(EngineError::io(
                &db,
                std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
            ));
        }
        Ok(Baseline {
            db,
            payloads: dir.join("payloads.jsonl"),
        })
    }
}

impl Engine for Baseline {
    fn name(&self) -> &str {
        "baseline"
    }

    fn query(&self, q: &Query) -> Result<Page, EngineError> {
        let conn = Connection::open_with_flags(
            &self.db,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        let offset = q.page.saturating_sub(1).saturating_mul(q.page_size);
        let mut stmt = conn.prepare(REFERENCE_SQL)?;
        let rows = stmt
            .query_map(
                rusqlite::params![
                    q.from_ts,
                    q.to_ts,
                    q.actor_id,
                    q.actor_id,
                    q.action,
                    q.action,
                    q.page_size,
                    offset
                ],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, String>(5)?,
                        r.get::<_, i64>(6)?,
                        r.get::<_, i64>(7)?,
                    ))
                },
            )?
            .collect::<Result<Vec<_>, _>>()?;
        drop(stmt);
        drop(conn);

        let mut events = Vec::with_capacity(rows.len());
        for (id, created_at, actor_id, action, resource_type, resource_id, off, len) in rows {
            let mut f =
                File::open(&self.payloads).map_err(|e| EngineError::io(&self.payloads, e))?;
            let (off, len) = match (u64::try_from(off), usize::try_from(len)) {
                (Ok(o), Ok(l)) => (o, l),
                _ => {
                    return Err(EngineError::CorruptPayload {
                        id,
                        reason: format!("negative payload range {off}+{len}"),
                    })
                }
            };
            f.seek(SeekFrom::Start(off))
                .map_err(|e| EngineError::io(&self.payloads, e))?;
            let mut buf = vec![0u8; len];
            f.read_exact(&mut buf)
                .map_err(|e| EngineError::CorruptPayload {
                    id,
                    reason: format!("reading {len} bytes at offset {off}: {e}"),
                })?;
            let payload =
                serde_json::from_slice(&buf).map_err(|e| EngineError::CorruptPayload {
                    id,
                    reason: format!("payload is not JSON: {e}"),
                })?;
            events.push(Event {
                id,
                created_at,
                actor_id,
                action,
                resource_type,
                resource_id,
                payload,
            });
        }
        Ok(Page::new(events))
    }
}
