//! Writing small datasets row by row, and appending to one as the service
//! does: for tests, the equivalence suite's generated datasets and its appends.

use std::io::Write;
use std::path::Path;

use rusqlite::Connection;
use serde_json::Value;

use super::manifest::{Manifest, RowDigest, Source};
use super::schema;
use crate::error::HarnessError;
use audit_engines::RowMeta;

/// One row to write; its id is assigned in order and its payload is serialised
/// as one JSON line.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRow {
    pub created_at: i64,
    pub actor_id: i64,
    pub action: String,
    pub resource_type: String,
    pub resource_id: String,
    pub payload: Value,
}

/// Creates a complete dataset (database, payloads, manifest) in the empty or
/// missing directory `dir`, with ids 1..=rows.len().
pub fn write_dataset(dir: &Path, rows: &[NewRow]) -> Result<Manifest, HarnessError> {
    std::fs::create_dir_all(dir).map_err(|e| HarnessError::io(dir, e))?;
    let db_path = dir.join(audit_engines::DB_FILE);
    let conn = Connection::open(&db_path).map_err(|e| HarnessError::sql(&db_path, e))?;
    conn.execute_batch(schema::CREATE_SQL)
        .map_err(|e| HarnessError::sql(&db_path, e))?;
    drop(conn);
    std::fs::File::create(dir.join(audit_engines::PAYLOADS_FILE))
        .map_err(|e| HarnessError::io(dir.join(audit_engines::PAYLOADS_FILE), e))?;
    append(dir, rows, false)?;

    let conn = super::open_db(dir)?;
    let all = super::read_rows(&conn).map_err(|e| HarnessError::sql(&db_path, e))?;
    let mut digest = RowDigest::new();
    all.iter().for_each(|r| digest.add(r));
    let pl = dir.join(audit_engines::PAYLOADS_FILE);
    let (sha, bytes) = crate::digest::sha256_file(&pl).map_err(|e| HarnessError::io(&pl, e))?;
    let m = Manifest::new(Source::Adopted, all.len() as u64, bytes, sha, digest.finish());
    m.write(dir)?;
    Ok(m)
}

/// Appends rows as the live service does: each payload line is appended to
/// `payloads.jsonl`, then its row is inserted with the next id, durably.
/// Returns the new rows.
pub fn append_rows(dir: &Path, rows: &[NewRow]) -> Result<Vec<RowMeta>, HarnessError> {
    append(dir, rows, true)
}

fn append(dir: &Path, rows: &[NewRow], durable: bool) -> Result<Vec<RowMeta>, HarnessError> {
    Appender::open(dir, durable)?.append(rows, None)
}

/// How an appended payload line reaches the file: in one `write`, or in two
/// (the first `n` bytes, a pause, the rest), as a buffered writer flushes a
/// line that straddles its buffer. Either way the row is committed only after
/// the whole line is written.
#[derive(Debug, Clone, Copy)]
pub struct Split {
    pub at: usize,
    pub pause: std::time::Duration,
}

/// A dataset opened for appending, as the service appends: the payload line
/// at the end of `payloads.jsonl` first, then the row with the next id, one
/// transaction per call. Keeps its connection and file open between calls.
pub struct Appender {
    conn: Connection,
    file: std::fs::File,
    offset: u64,
    durable: bool,
    db_path: std::path::PathBuf,
    pl_path: std::path::PathBuf,
}

impl Appender {
    /// Opens `dir` for appending. With `durable`, each call syncs the payload
    /// file before committing and SQLite syncs its commit (the service's
    /// defaults); without, visibility order is the same but nothing is synced.
    pub fn open(dir: &Path, durable: bool) -> Result<Appender, HarnessError> {
        let db_path = dir.join(audit_engines::DB_FILE);
        let pl_path = dir.join(audit_engines::PAYLOADS_FILE);
        let conn = Connection::open(&db_path).map_err(|e| HarnessError::sql(&db_path, e))?;
        if !durable {
            conn.execute_batch("PRAGMA synchronous = OFF;")
                .map_err(|e| HarnessError::sql(&db_path, e))?;
        }
        let file = std::fs::OpenOptions::new()
            .append(true)
            .open(&pl_path)
            .map_err(|e| HarnessError::io(&pl_path, e))?;
        let offset = file.metadata().map_err(|e| HarnessError::io(&pl_path, e))?.len();
        Ok(Appender {
            conn,
            file,
            offset,
            durable,
            db_path,
            pl_path,
        })
    }

    /// Appends `rows` in one transaction and returns them as stored.
    pub fn append(&mut self, rows: &[NewRow], split: Option<Split>) -> Result<Vec<RowMeta>, HarnessError> {
        let db_path = &self.db_path;
        let pl_path = &self.pl_path;
        let sql = |e| HarnessError::sql(db_path, e);
        let tx = self.conn.transaction().map_err(sql)?;
        let mut out = Vec::with_capacity(rows.len());
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO audit_events (created_at, actor_id, action, resource_type, resource_id, payload_offset, payload_len)
                     VALUES (?, ?, ?, ?, ?, ?, ?)",
                )
                .map_err(sql)?;
            for r in rows {
                let mut line = serde_json::to_vec(&r.payload).expect("a JSON value always serialises");
                line.push(b'\n');
                let write = |f: &mut std::fs::File, b: &[u8]| f.write_all(b).map_err(|e| HarnessError::io(pl_path, e));
                match split.filter(|s| s.at > 0 && s.at < line.len()) {
                    Some(s) => {
                        write(&mut self.file, &line[..s.at])?;
                        std::thread::sleep(s.pause);
                        write(&mut self.file, &line[s.at..])?;
                    }
                    None => write(&mut self.file, &line)?,
                }
                insert
                    .execute(rusqlite::params![
                        r.created_at,
                        r.actor_id,
                        r.action,
                        r.resource_type,
                        r.resource_id,
                        self.offset as i64,
                        line.len() as i64
                    ])
                    .map_err(sql)?;
                out.push(RowMeta {
                    id: tx.last_insert_rowid(),
                    created_at: r.created_at,
                    actor_id: r.actor_id,
                    action: r.action.clone(),
                    resource_type: r.resource_type.clone(),
                    resource_id: r.resource_id.clone(),
                    payload_offset: self.offset,
                    payload_len: line.len() as u64,
                });
                self.offset += line.len() as u64;
            }
        }
        if self.durable {
            self.file.sync_data().map_err(|e| HarnessError::io(pl_path, e))?;
        }
        tx.commit().map_err(sql)?;
        Ok(out)
    }
}
