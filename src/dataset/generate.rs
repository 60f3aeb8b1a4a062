//! The dataset generator: the service's own seeding (DESIGN §2), reproduced
//! byte for byte, written atomically into a dataset directory.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use audit_engines::RowMeta;
use rusqlite::Connection;
use sha2::{Digest, Sha256};

use super::manifest::{Manifest, RowDigest, Source};
use super::params::GenParams;
use super::pyrandom::PyRandom;
use super::schema;
use crate::error::HarnessError;

const TAGS: [&str; 5] = ["a", "b", "c", "d", "e"];
const DIFF_FIELDS: usize = 20;
const TAG_COUNT: usize = 10;

/// Draws the rows and payload lines in the service's order, handing each to `sink`.
///
/// The payload line is built exactly as CPython's `json.dumps` formats the
/// service's dict (`", "` and `": "` separators, keys in insertion order) plus `"\n"`.
pub fn draw_rows(
    p: &GenParams,
    mut sink: impl FnMut(RowMeta, &[u8]) -> Result<(), HarnessError>,
) -> Result<(), HarnessError> {
    let mut r = PyRandom::new(p.seed);
    let mut line: Vec<u8> = Vec::with_capacity(2048);
    let mut ibuf = itoa::Buffer::new();
    let mut offset = 0u64;
    for id in 1..=p.rows as i64 {
        if id % 1024 == 0 {
            crate::interrupt::check("generation stopped; nothing was written")?;
        }
        let created_at = p.now - r.randint(0, p.span_seconds);
        let actor_id = r.randint(1, p.actors);
        let action = r.choice(&p.actions).clone();
        let resource_type = r.choice(&p.resource_types).clone();
        let resource_id = format!("{resource_type}-{}", r.randint(1, p.resource_id_max));

        line.clear();
        line.extend_from_slice(b"{\"diff\": {");
        for f in 0..DIFF_FIELDS {
            if f > 0 {
                line.extend_from_slice(b", ");
            }
            line.extend_from_slice(b"\"field_");
            line.extend_from_slice(ibuf.format(f).as_bytes());
            line.extend_from_slice(b"\": [");
            line.extend_from_slice(ibuf.format(r.randint(0, 1000)).as_bytes());
            line.extend_from_slice(b", ");
            line.extend_from_slice(ibuf.format(r.randint(0, 1000)).as_bytes());
            line.push(b']');
        }
        line.extend_from_slice(b"}, \"meta\": {\"ip\": \"10.");
        for i in 0..3 {
            if i > 0 {
                line.push(b'.');
            }
            line.extend_from_slice(ibuf.format(r.randint(0, 255)).as_bytes());
        }
        line.extend_from_slice(b"\"}, \"tags\": [");
        for t in 0..TAG_COUNT {
            if t > 0 {
                line.extend_from_slice(b", ");
            }
            line.push(b'"');
            line.extend_from_slice(r.choice(&TAGS).as_bytes());
            line.push(b'"');
        }
        line.extend_from_slice(b"], \"note\": \"");
        let n = r.randint(p.note_min, p.note_max) as usize;
        line.resize(line.len() + n, b'x');
        line.extend_from_slice(b"\"}\n");

        let len = line.len() as u64;
        let meta = RowMeta {
            id,
            created_at,
            actor_id,
            action,
            resource_type,
            resource_id,
            payload_offset: offset,
            payload_len: len,
        };
        offset += len;
        sink(meta, &line)?;
    }
    Ok(())
}

/// What a generation produced, for the CLI to print.
#[derive(Debug)]
pub struct GenReport {
    pub manifest: Manifest,
    pub seconds: f64,
}

/// Generates a dataset into `out`, atomically: everything is written into a
/// temporary sibling directory which is renamed into place only when complete.
/// An existing `out` is replaced only with `force`.
pub fn generate(p: &GenParams, out: &Path, force: bool) -> Result<GenReport, HarnessError> {
    p.validate()
        .map_err(|e| HarnessError::input(format!("generator parameters: {e}")))?;
    if out.exists() && !force {
        return Err(HarnessError::input(format!(
            "{}: already exists; pass --force to replace it",
            out.display()
        )));
    }
    let start = Instant::now();
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|e| HarnessError::io(&parent, e))?;
    let tmp = tempfile::Builder::new()
        .prefix(".gen-")
        .tempdir_in(&parent)
        .map_err(|e| HarnessError::io(&parent, e))?;

    // On any error (or SIGINT/SIGTERM, checked while drawing rows) `tmp` is
    // dropped and the partial directory removed.
    let manifest = write_files(p, tmp.path())?;
    manifest.write(tmp.path())?;
    crate::interrupt::check("generation stopped; nothing was written")?;

    let tmp_path = tmp.keep();
    if let Err(e) = crate::fsutil::replace_dir(&tmp_path, out) {
        let _ = std::fs::remove_dir_all(&tmp_path);
        return Err(e);
    }
    Ok(GenReport {
        manifest,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Writes `audit.db` and `payloads.jsonl` into `dir` and returns their manifest.
fn write_files(p: &GenParams, dir: &Path) -> Result<Manifest, HarnessError> {
    let db_path = dir.join(audit_engines::DB_FILE);
    let pl_path = dir.join(audit_engines::PAYLOADS_FILE);
    let mut conn = Connection::open(&db_path).map_err(|e| HarnessError::sql(&db_path, e))?;
    let sql_err = |e| HarnessError::sql(&db_path, e);
    conn.execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;")
        .map_err(sql_err)?;
    conn.execute_batch(schema::CREATE_SQL).map_err(sql_err)?;

    let file = std::fs::File::create(&pl_path).map_err(|e| HarnessError::io(&pl_path, e))?;
    let mut payloads = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut sha = Sha256::new();
    let mut rows = RowDigest::new();
    let mut bytes = 0u64;

    let tx = conn.transaction().map_err(sql_err)?;
    {
        let mut insert = tx.prepare(schema::INSERT_SQL).map_err(sql_err)?;
        draw_rows(p, |m, line| {
            payloads.write_all(line).map_err(|e| HarnessError::io(&pl_path, e))?;
            sha.update(line);
            bytes += line.len() as u64;
            rows.add(&m);
            insert
                .execute(rusqlite::params![
                    m.id,
                    m.created_at,
                    m.actor_id,
                    m.action,
                    m.resource_type,
                    m.resource_id,
                    m.payload_offset as i64,
                    m.payload_len as i64
                ])
                .map_err(|e| HarnessError::sql(&db_path, e))?;
            Ok(())
        })?;
    }
    tx.commit().map_err(sql_err)?;
    conn.execute_batch("PRAGMA journal_mode = DELETE;").map_err(sql_err)?;
    drop(conn);
    let file = payloads
        .into_inner()
        .map_err(|e| HarnessError::io(&pl_path, e.into_error()))?;
    file.sync_all().map_err(|e| HarnessError::io(&pl_path, e))?;

    Ok(Manifest::new(
        Source::Generated(p.clone()),
        p.rows,
        bytes,
        crate::digest::hex(&sha.finalize()),
        rows.finish(),
    ))
}
