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
    let db_path = dir.join(audit_engines::DB_FILE);
    let pl_path = dir.join(audit_engines::PAYLOADS_FILE);
    let mut conn = Connection::open(&db_path).map_err(|e| HarnessError::sql(&db_path, e))?;
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&pl_path)
        .map_err(|e| HarnessError::io(&pl_path, e))?;
    let mut offset = file.metadata().map_err(|e| HarnessError::io(&pl_path, e))?.len();
    let sql = |e| HarnessError::sql(&db_path, e);
    if !durable {
        conn.execute_batch("PRAGMA synchronous = OFF;").map_err(sql)?;
    }
    let tx = conn.transaction().map_err(sql)?;
    let mut out = Vec::with_capacity(rows.len());
    {
        let mut insert = tx
            .prepare(
                "INSERT INTO audit_events (created_at, actor_id, action, resource_type, resource_id, payload_offset, payload_len)
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .map_err(sql)?;
        for r in rows {
            let mut line = serde_json::to_vec(&r.payload).expect("a JSON value always serialises");
            line.push(b'\n');
            file.write_all(&line).map_err(|e| HarnessError::io(&pl_path, e))?;
            insert
                .execute(rusqlite::params![
                    r.created_at,
                    r.actor_id,
                    r.action,
                    r.resource_type,
                    r.resource_id,
                    offset as i64,
                    line.len() as i64
                ])
                .map_err(|e| HarnessError::sql(&db_path, e))?;
            out.push(RowMeta {
                id: tx.last_insert_rowid(),
                created_at: r.created_at,
                actor_id: r.actor_id,
                action: r.action.clone(),
                resource_type: r.resource_type.clone(),
                resource_id: r.resource_id.clone(),
                payload_offset: offset,
                payload_len: line.len() as u64,
            });
            offset += line.len() as u64;
        }
    }
    file.sync_data().map_err(|e| HarnessError::io(&pl_path, e))?;
    tx.commit().map_err(sql)?;
    Ok(out)
}
