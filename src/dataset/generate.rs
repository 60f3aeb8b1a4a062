//! The dataset generator: the service's own seeding (docs/contract.md, "The default dataset"), reproduced
//! byte for byte, written atomically into a dataset directory.

use std::io::Write;
use std::path::Path;
use std::sync::{mpsc, Arc};
use std::time::Instant;

use audit_engines::RowMeta;
use rusqlite::Connection;
use sha2::{Digest, Sha256};

use super::manifest::{Manifest, RowDigest, Source};
use super::params::GenParams;
use super::pyrandom::PyRandom;
use super::schema;
use crate::cancel::Cancel;
use crate::error::HarnessError;

const TAGS: [&str; 5] = ["a", "b", "c", "d", "e"];
const DIFF_FIELDS: usize = 20;
const TAG_COUNT: usize = 10;

/// Draws the rows and payload lines in the service's order, handing each to `sink`.
///
/// The payload line is built exactly as CPython's `json.dumps` formats the
/// service's dict (`", "` and `": "` separators, keys in insertion order) plus `"\n"`.
/// Stops with an error once `cancel` is cancelled.
pub fn draw_rows(
    p: &GenParams,
    cancel: &Cancel,
    mut sink: impl FnMut(RowMeta, &[u8]) -> Result<(), HarnessError>,
) -> Result<(), HarnessError> {
    let mut r = PyRandom::new(p.seed);
    let mut line: Vec<u8> = Vec::with_capacity(2048);
    let mut ibuf = itoa::Buffer::new();
    let mut offset = 0u64;
    for id in 1..=p.rows as i64 {
        if id % 1024 == 0 {
            cancel.check("generation stopped; nothing was written")?;
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
/// An existing `out` is replaced only with `force`. Once `cancel` is
/// cancelled, generation stops and nothing is written.
pub fn generate(p: &GenParams, out: &Path, force: bool, cancel: &Cancel) -> Result<GenReport, HarnessError> {
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
    let tmp = crate::fsutil::temp_dir_in(&parent, ".gen-").map_err(|e| HarnessError::io(&parent, e))?;

    // On any error (or a cancellation, checked while drawing rows) `tmp` is
    // dropped and the partial directory removed.
    let manifest = write_files(p, tmp.path(), cancel)?;
    manifest.write(tmp.path())?;
    cancel.check("generation stopped; nothing was written")?;

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

/// Rows drawn per batch handed from the drawing thread to the two writers.
const BATCH_ROWS: usize = 4096;

/// SQLite page cache while generating, KiB: room for `CREATE INDEX` to sort
/// millions of keys in memory rather than in temporary files.
const GEN_CACHE_KIB: i64 = 256 * 1024;

/// A run of consecutive rows and their payload lines, concatenated.
struct Batch {
    rows: Vec<RowMeta>,
    lines: Vec<u8>,
}

/// Writes `audit.db` and `payloads.jsonl` into `dir` and returns their manifest.
///
/// Three threads in a pipeline, so that the time is the slowest stage's, not
/// the sum: one draws the rows (the single MT19937 stream is sequential), one
/// writes the payload lines and hashes them and the rows, and this one inserts
/// the rows into the table. The index is created after the last row (one sort:
/// inserting five million random timestamps into a B-tree one by one outgrows
/// the page cache and turns into disk reads, which made generation grow faster
/// than the row count). Each batch is shared by both writers, in order, so the
/// files are byte-identical to a one-thread generation.
fn write_files(p: &GenParams, dir: &Path, cancel: &Cancel) -> Result<Manifest, HarnessError> {
    let db_path = dir.join(audit_engines::DB_FILE);
    let pl_path = dir.join(audit_engines::PAYLOADS_FILE);
    let mut conn = Connection::open(&db_path).map_err(|e| HarnessError::sql(&db_path, e))?;
    let sql_err = |e| HarnessError::sql(&db_path, e);
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -{GEN_CACHE_KIB};"
    ))
    .map_err(sql_err)?;
    conn.execute_batch(schema::CREATE_TABLE_SQL).map_err(sql_err)?;
    let file = std::fs::File::create(&pl_path).map_err(|e| HarnessError::io(&pl_path, e))?;

    let (to_payloads, payload_batches) = mpsc::sync_channel::<Arc<Batch>>(8);
    let (to_table, table_batches) = mpsc::sync_channel::<Arc<Batch>>(8);
    let (drawn, payloads, table) = std::thread::scope(|s| {
        let drawer = s.spawn(move || draw_batches(p, cancel, &to_payloads, &to_table));
        let writer = s.spawn(|| write_payloads(file, &pl_path, payload_batches));
        let table = insert_rows(&mut conn, &db_path, table_batches);
        (joined(drawer.join()), joined(writer.join()), table)
    });
    // A drawing error (an interrupt) explains the writers' early end; report it first.
    drawn?;
    table?;
    let (bytes, sha, rows_sha) = payloads?;

    conn.execute_batch(schema::CREATE_INDEX_SQL).map_err(sql_err)?;
    conn.execute_batch("PRAGMA journal_mode = DELETE;").map_err(sql_err)?;
    drop(conn);

    Ok(Manifest::new(
        Source::Generated(p.clone()),
        p.rows,
        bytes,
        sha,
        rows_sha,
    ))
}

/// A stage thread's result; a panic (a bug, not input) becomes an error line.
fn joined<T>(r: std::thread::Result<Result<T, HarnessError>>) -> Result<T, HarnessError> {
    r.unwrap_or_else(|_| Err(HarnessError::input("generation: a writer thread panicked")))
}

/// The drawing stage: rows in batches, each handed to both writers. A writer
/// that stopped (its error is reported by its own stage) ends the drawing.
fn draw_batches(
    p: &GenParams,
    cancel: &Cancel,
    to_payloads: &mpsc::SyncSender<Arc<Batch>>,
    to_table: &mpsc::SyncSender<Arc<Batch>>,
) -> Result<(), HarnessError> {
    let new_batch = || Batch {
        rows: Vec::with_capacity(BATCH_ROWS),
        lines: Vec::with_capacity(BATCH_ROWS * 1200),
    };
    let mut batch = new_batch();
    let mut writers_gone = false;
    let send = |b: Batch| {
        let b = Arc::new(b);
        to_payloads.send(Arc::clone(&b)).is_ok() && to_table.send(b).is_ok()
    };
    let drawn = draw_rows(p, cancel, |m, line| {
        batch.rows.push(m);
        batch.lines.extend_from_slice(line);
        if batch.rows.len() == BATCH_ROWS && !send(std::mem::replace(&mut batch, new_batch())) {
            writers_gone = true;
            // Stop drawing; the writer's own error says why.
            return Err(HarnessError::input("generation: a writer stopped"));
        }
        Ok(())
    });
    match drawn {
        Err(_) if writers_gone => Ok(()),
        Err(e) => Err(e),
        Ok(()) => {
            if !batch.rows.is_empty() {
                send(batch);
            }
            Ok(())
        }
    }
}

/// The payload stage: appends each batch's lines to `payloads.jsonl`, hashes
/// them and the rows, and makes the file durable. Returns (bytes, payloads
/// sha256, rows sha256).
fn write_payloads(
    file: std::fs::File,
    pl_path: &Path,
    batches: mpsc::Receiver<Arc<Batch>>,
) -> Result<(u64, String, String), HarnessError> {
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut sha = Sha256::new();
    let mut rows = RowDigest::new();
    let mut bytes = 0u64;
    for b in batches {
        out.write_all(&b.lines).map_err(|e| HarnessError::io(pl_path, e))?;
        sha.update(&b.lines);
        bytes += b.lines.len() as u64;
        b.rows.iter().for_each(|m| rows.add(m));
    }
    let file = out
        .into_inner()
        .map_err(|e| HarnessError::io(pl_path, e.into_error()))?;
    file.sync_all().map_err(|e| HarnessError::io(pl_path, e))?;
    Ok((bytes, crate::digest::hex(&sha.finalize()), rows.finish()))
}

/// The table stage: inserts every batch's rows in one transaction.
fn insert_rows(conn: &mut Connection, db_path: &Path, batches: mpsc::Receiver<Arc<Batch>>) -> Result<(), HarnessError> {
    let sql_err = |e| HarnessError::sql(db_path, e);
    let tx = conn.transaction().map_err(sql_err)?;
    {
        let mut insert = tx.prepare(schema::INSERT_SQL).map_err(sql_err)?;
        for b in batches {
            for m in &b.rows {
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
                    .map_err(sql_err)?;
            }
        }
    }
    tx.commit().map_err(sql_err)
}
