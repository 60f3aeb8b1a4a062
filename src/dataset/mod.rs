//! Datasets: generating the contract's, adopting the service's, reading rows.

pub mod adopt;
pub mod generate;
pub mod live;
pub mod manifest;
pub mod params;
pub mod pyrandom;
pub mod schema;
pub mod write;

use std::path::Path;

use audit_engines::RowMeta;
use rusqlite::{Connection, OpenFlags};

use crate::error::HarnessError;
pub use generate::generate;
pub use manifest::{Manifest, RowDigest};
pub use params::GenParams;

/// Opens a dataset's `audit.db` read-only; a missing file is an input error, not a new database.
pub fn open_db(dir: &Path) -> Result<Connection, HarnessError> {
    let path = dir.join(audit_engines::DB_FILE);
    if !path.is_file() {
        return Err(HarnessError::input(format!(
            "{}: no such file; generate a dataset with `audit-harness gen` or adopt one with `audit-harness adopt`",
            path.display()
        )));
    }
    Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(|e| HarnessError::sql(&path, e))
}

/// Checks that `dir` holds a dataset as the contract says, before any engine
/// is opened on it, so that a damaged dataset is bad input (exit 2) for
/// every engine alike instead of one engine's failed answer: `audit.db` opens
/// as SQLite read-only and has table `audit_events` with the contract's
/// columns; `payloads.jsonl` is a readable regular file; and no row's payload
/// range reaches past its end. (`verify` checks much more: digests, the index.)
pub fn preflight(dir: &Path) -> Result<(), HarnessError> {
    if !dir.is_dir() {
        return Err(HarnessError::input(format!(
            "{}: no such dataset directory (one holds audit.db and payloads.jsonl); generate one with `audit-harness gen` or adopt one with `audit-harness adopt`",
            dir.display()
        )));
    }
    let db = dir.join(audit_engines::DB_FILE);
    let conn = open_db(dir)?;
    let not_contract = |what: String| {
        HarnessError::input(format!(
            "{}: {what}; a dataset's audit.db must be a SQLite database with table audit_events ({})",
            db.display(),
            schema::COLUMN_NAMES.join(", ")
        ))
    };
    let unreadable = |e: rusqlite::Error| {
        if crate::error::sql_locked(&e) {
            HarnessError::locked(&db)
        } else {
            not_contract(format!("cannot be read as SQLite ({e})"))
        }
    };
    let columns: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_info('audit_events')")
        .and_then(|mut st| st.query_map([], |r| r.get(0))?.collect())
        .map_err(unreadable)?;
    if columns.is_empty() {
        return Err(not_contract("has no table audit_events".into()));
    }
    let missing: Vec<&str> = schema::COLUMN_NAMES
        .iter()
        .copied()
        .filter(|c| !columns.iter().any(|have| have == c))
        .collect();
    if !missing.is_empty() {
        return Err(not_contract(format!(
            "table audit_events lacks column(s) {}",
            missing.join(", ")
        )));
    }
    let pl = dir.join(audit_engines::PAYLOADS_FILE);
    let meta = std::fs::metadata(&pl)
        .map_err(|e| HarnessError::input(format!("{}: {e}; a dataset needs its payloads file", pl.display())))?;
    if !meta.is_file() {
        return Err(HarnessError::input(format!(
            "{}: not a regular file; a dataset's payloads.jsonl must be a file of JSON lines",
            pl.display()
        )));
    }
    std::fs::File::open(&pl).map_err(|e| HarnessError::input(format!("{}: cannot be read: {e}", pl.display())))?;
    let size = meta.len();
    // The row whose payload range ends last (or is negative): one scan.
    let last: Option<(i64, i64, i64)> = conn
        .query_row(
            "SELECT id, payload_offset, payload_len FROM audit_events
             ORDER BY (payload_offset < 0 OR payload_len < 0) DESC, payload_offset + payload_len DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })
        .map_err(unreadable)?;
    if let Some((id, offset, len)) = last {
        if offset < 0 || len < 0 {
            return Err(not_contract(format!(
                "row id {id} has a negative payload range (offset {offset}, length {len})"
            )));
        }
        let end = offset.saturating_add(len) as u64;
        if end > size {
            return Err(HarnessError::input(format!(
                "{}: row id {id}'s payload (offset {offset}, {len} bytes) ends at byte {end}, past the end of the file ({size} bytes): payloads.jsonl is truncated or does not belong to this audit.db",
                pl.display()
            )));
        }
    }
    Ok(())
}

/// Every row of the table in id order.
pub fn read_rows(conn: &Connection) -> rusqlite::Result<Vec<RowMeta>> {
    let mut stmt = conn.prepare(schema::SELECT_ALL_SQL)?;
    let rows = stmt.query_map([], RowMeta::from_sql)?.collect();
    rows
}
