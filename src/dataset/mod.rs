//! Datasets: generating the contract's, adopting the service's, reading rows.

pub mod adopt;
pub mod generate;
pub mod manifest;
pub mod pyrandom;
pub mod schema;
pub mod write;

use std::path::Path;

use audit_engines::RowMeta;
use rusqlite::{Connection, OpenFlags};

use crate::error::HarnessError;
pub use generate::{generate, GenParams};
pub use manifest::{Manifest, RowDigest};

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

/// Every row of the table in id order.
pub fn read_rows(conn: &Connection) -> rusqlite::Result<Vec<RowMeta>> {
    let mut stmt = conn.prepare(schema::SELECT_ALL_SQL)?;
    let rows = stmt
        .query_map([], |r| {
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
        .collect();
    rows
}
