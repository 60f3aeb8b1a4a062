//! `adopt`: checking a dataset made elsewhere (the live service's) and writing its manifest.

use std::path::Path;

use sha2::{Digest, Sha256};

use super::manifest::{Manifest, RowDigest, Source};
use super::{open_db, read_rows, schema};
use crate::error::HarnessError;

/// At most this many problems are listed one by one; the rest are counted.
const LIST_AT_MOST: usize = 50;

/// Checks `dir`'s schema, index and every row's payload range, and writes the
/// manifest only if nothing is wrong. Every problem found is reported.
pub fn adopt(dir: &Path) -> Result<Manifest, HarnessError> {
    let conn = open_db(dir)?;
    let db_path = dir.join(audit_engines::DB_FILE);
    let mut problems = schema::check(&conn).map_err(|e| HarnessError::sql(&db_path, e))?;
    // Rows can be checked unless the table itself is missing or shaped otherwise.
    let rows = if problems.iter().any(|p| p.starts_with("table audit_events")) {
        Vec::new()
    } else {
        read_rows(&conn).map_err(|e| HarnessError::sql(&db_path, e))?
    };
    let pl_path = dir.join(audit_engines::PAYLOADS_FILE);
    let payloads = std::fs::read(&pl_path).map_err(|e| HarnessError::io(&pl_path, e))?;
    let size = payloads.len() as u64;

    let mut digest = RowDigest::new();
    for r in &rows {
        digest.add(r);
        let end = r.payload_offset.checked_add(r.payload_len);
        let (off, len) = (r.payload_offset as i64, r.payload_len as i64);
        if off < 0 || len < 1 {
            problems.push(format!(
                "row {}: payload range offset {off} length {len} is not a line",
                r.id
            ));
            continue;
        }
        match end {
            Some(end) if end <= size => {
                let line = &payloads[r.payload_offset as usize..end as usize];
                if line.last() != Some(&b'\n') {
                    problems.push(format!(
                        "row {}: payload at {off}+{len} does not end with a newline",
                        r.id
                    ));
                } else if r.payload_offset > 0 && payloads[r.payload_offset as usize - 1] != b'\n' {
                    problems.push(format!("row {}: payload at {off} does not start at a line start", r.id));
                } else if let Err(e) = serde_json::from_slice::<serde_json::Value>(line) {
                    problems.push(format!("row {}: payload at {off}+{len} is not JSON: {e}", r.id));
                }
            }
            _ => problems.push(format!(
                "row {}: payload range {off}+{len} lies outside payloads.jsonl ({size} bytes)",
                r.id
            )),
        }
    }
    if !problems.is_empty() {
        let n = problems.len();
        let mut listed: Vec<String> = problems.into_iter().take(LIST_AT_MOST).collect();
        if n > LIST_AT_MOST {
            listed.push(format!("... and {} more", n - LIST_AT_MOST));
        }
        return Err(HarnessError::input(format!(
            "{}: cannot adopt, {n} problem(s):\n  {}",
            dir.display(),
            listed.join("\n  ")
        )));
    }
    let manifest = Manifest::new(
        Source::Adopted,
        rows.len() as u64,
        size,
        crate::digest::hex(&Sha256::digest(&payloads)),
        digest.finish(),
    );
    manifest.write(dir)?;
    Ok(manifest)
}
