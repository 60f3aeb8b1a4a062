//! A live append stream: a writer thread that appends rows to a scratch copy
//! of a dataset exactly as the service does (the payload line at the end of
//! `payloads.jsonl`, then the row with the next id in its own transaction), at
//! a configured rate, until it is stopped or runs out of rows. Readers use it
//! to check and measure engines while the log grows (the equivalence suite's
//! `live_appends`, the benchmark's `append_rate`).
//!
//! It never writes to the user's dataset: it only accepts a [`Scratch`], a
//! copy made in a temporary directory that is removed when dropped.
//!
//! Two counters bracket what a reader may see: `committed` counts rows whose
//! transaction has committed (every reader sees at least these), `begun`
//! counts rows whose payload write has started (no reader can see a row past
//! these). Read `committed` before sending a request and `begun` after its
//! answer, and the answer must match the log at some row count in between.
//!
//! Each payload line is written in two `write`s with a short pause between
//! (as a buffered writer flushes a line that straddles its buffer), so an
//! engine that reads payload bytes past the last committed row sees a
//! half-written line. The row is committed only after its whole line is in
//! the file, so a correct engine never can.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::params::GenParams;
use super::write::{Appender, NewRow, Split};
use crate::cancel::Cancel;
use crate::error::HarnessError;

/// A copy of a dataset's files in a new temporary directory (removed on drop):
/// the only kind of directory the live writer appends to.
pub struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    /// Copies `src`'s `audit.db` and `payloads.jsonl` into a new directory
    /// under the system's temporary directory (`TMPDIR`). A failure names
    /// the side that failed: the scratch directory (full, missing), or the
    /// dataset file that could not be read; the dataset is never written.
    pub fn copy_of(src: &Path) -> Result<Scratch, HarnessError> {
        let tmp = std::env::temp_dir();
        let dir = crate::fsutil::temp_dir_in(&tmp, "audit-scratch-").map_err(|e| {
            HarnessError::input(format!(
                "cannot create a scratch directory in {} (TMPDIR): {e}; point TMPDIR at a writable directory with room for a copy of the dataset",
                tmp.display()
            ))
        })?;
        for f in [audit_engines::DB_FILE, audit_engines::PAYLOADS_FILE] {
            let (from, to) = (src.join(f), dir.path().join(f));
            // Read side first: a dataset file that cannot be opened is the dataset's fault.
            std::fs::File::open(&from).map_err(|e| HarnessError::io(&from, e))?;
            std::fs::copy(&from, &to).map_err(|e| {
                let full = matches!(e.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT));
                HarnessError::input(if full {
                    format!(
                        "{}: no space left for the scratch copy of {} (the scratch directory is in {}, TMPDIR; the dataset is untouched): free space there or point TMPDIR at a larger file system",
                        to.display(),
                        from.display(),
                        tmp.display()
                    )
                } else {
                    format!("cannot copy {} to the scratch copy {}: {e}", from.display(), to.display())
                })
            })?;
        }
        Ok(Scratch { dir })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// Seeded rows in the service's shape: mostly stamped at the stream's clock
/// (newest, ties within a second), one in twenty anywhere in the generator's
/// span (late or skewed clocks: out of time order), actors from a small pool
/// so that actor filters meet them, payloads like the service's.
pub struct LiveRows {
    rng: StdRng,
    params: GenParams,
    /// The pool of actors the rows are drawn from.
    pub actors: Vec<i64>,
    /// Rows per second of the stream's clock.
    rate: f64,
    n: u64,
}

impl LiveRows {
    pub fn new(params: &GenParams, seed: u64, rate: f64) -> LiveRows {
        let mut rng = StdRng::seed_from_u64(seed);
        let actors = (0..8).map(|_| rng.random_range(1..=params.actors.max(1))).collect();
        LiveRows {
            rng,
            params: params.clone(),
            actors,
            rate: if rate > 0.0 { rate } else { 1.0 },
            n: 0,
        }
    }
}

impl Iterator for LiveRows {
    type Item = NewRow;

    fn next(&mut self) -> Option<NewRow> {
        let p = &self.params;
        let r = &mut self.rng;
        let clock = p.now.saturating_add((self.n as f64 / self.rate) as i64);
        self.n += 1;
        let created_at = if r.random_range(0..20) == 0 {
            p.now.saturating_sub(r.random_range(0..=p.span_seconds.max(0)))
        } else {
            clock
        };
        let pick = |r: &mut StdRng, v: &[String], dflt: &str| {
            if v.is_empty() {
                dflt.to_string()
            } else {
                v[r.random_range(0..v.len())].clone()
            }
        };
        let actor_id = self.actors[r.random_range(0..self.actors.len())];
        let action = pick(r, &p.actions, "UPDATE");
        let resource_type = pick(r, &p.resource_types, "ORDER");
        let resource_id = format!("{resource_type}-{}", r.random_range(1..=p.resource_id_max.max(1)));
        let mut diff = Map::new();
        for f in 0..20 {
            diff.insert(
                format!("field_{f}"),
                json!([r.random_range(0..=1000), r.random_range(0..=1000)]),
            );
        }
        let ip = format!(
            "10.{}.{}.{}",
            r.random_range(0..=255),
            r.random_range(0..=255),
            r.random_range(0..=255)
        );
        let tags: Vec<Value> = (0..10)
            .map(|_| Value::from(["a", "b", "c", "d", "e"][r.random_range(0..5)]))
            .collect();
        let note = "x".repeat(r.random_range(p.note_min.max(0)..=p.note_max.max(p.note_min).max(0)) as usize);
        Some(NewRow {
            created_at,
            actor_id,
            action,
            resource_type,
            resource_id,
            payload: json!({"diff": diff, "meta": {"ip": ip}, "tags": tags, "note": note}),
        })
    }
}

/// What a writer did.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct WriterReport {
    /// The rate asked for, rows per second.
    pub target_rate: f64,
    /// Rows committed.
    pub rows: u64,
    pub seconds: f64,
    /// Rows committed per second of the writer's life.
    pub achieved_rate: f64,
    /// The seed of its rows and of where each payload line is split.
    pub seed: u64,
}

/// The live writer: a thread appending to a [`Scratch`] at a fixed rate.
pub struct Writer {
    stop: Arc<AtomicBool>,
    begun: Arc<AtomicU64>,
    committed: Arc<AtomicU64>,
    handle: Option<JoinHandle<Result<(u64, f64), HarnessError>>>,
    rate: f64,
    seed: u64,
    path: PathBuf,
}

/// The pause between the two halves of a payload line.
const SPLIT_PAUSE: Duration = Duration::from_millis(1);

impl Writer {
    /// Starts appending `rows` to `scratch` at `rate` rows per second (row
    /// *i* is due at *i / rate* after the start; a late row goes at once),
    /// one transaction per row, until stopped, `rows` ends or `cancel` is cancelled.
    pub fn start(
        scratch: &Scratch,
        rate: f64,
        seed: u64,
        rows: impl Iterator<Item = NewRow> + Send + 'static,
        cancel: &Cancel,
    ) -> Result<Writer, HarnessError> {
        if !(rate.is_finite() && rate > 0.0) {
            return Err(HarnessError::input(format!(
                "append rate {rate}: expected a number of rows per second > 0"
            )));
        }
        let mut appender = Appender::open(scratch.path(), false)?;
        let stop = Arc::new(AtomicBool::new(false));
        let begun = Arc::new(AtomicU64::new(0));
        let committed = Arc::new(AtomicU64::new(0));
        let (s, b, c) = (stop.clone(), begun.clone(), committed.clone());
        let cancel = cancel.clone();
        let mut split_rng = StdRng::seed_from_u64(seed ^ 0x5EED_5117);
        let handle = std::thread::Builder::new()
            .name("live-writer".into())
            .spawn(move || {
                let start = Instant::now();
                let mut n = 0u64;
                for row in rows {
                    let due = start + Duration::from_secs_f64(n as f64 / rate);
                    while !s.load(Ordering::Acquire) && Instant::now() < due {
                        std::thread::sleep(
                            due.saturating_duration_since(Instant::now())
                                .min(Duration::from_millis(20)),
                        );
                    }
                    if s.load(Ordering::Acquire) || cancel.is_cancelled() {
                        break;
                    }
                    let split = Split {
                        at: split_rng.random_range(1..200),
                        pause: SPLIT_PAUSE,
                    };
                    b.fetch_add(1, Ordering::AcqRel);
                    appender.append(std::slice::from_ref(&row), Some(split))?;
                    c.fetch_add(1, Ordering::AcqRel);
                    n += 1;
                }
                Ok((n, start.elapsed().as_secs_f64()))
            })
            .map_err(|e| HarnessError::input(format!("cannot start the live writer's thread: {e}")))?;
        Ok(Writer {
            stop,
            begun,
            committed,
            handle: Some(handle),
            rate,
            seed,
            path: scratch.path().to_path_buf(),
        })
    }

    /// Rows committed so far: every reader sees at least these.
    pub fn committed(&self) -> u64 {
        self.committed.load(Ordering::Acquire)
    }

    /// Rows whose append has begun: no reader can see more than these.
    pub fn begun(&self) -> u64 {
        self.begun.load(Ordering::Acquire)
    }

    /// Whether the writer has ended (stopped, out of rows, or failed).
    pub fn finished(&self) -> bool {
        self.handle.as_ref().is_none_or(|h| h.is_finished())
    }

    /// Stops the writer, waits for its thread and says what it did.
    pub fn stop(self) -> Result<WriterReport, HarnessError> {
        self.stop.store(true, Ordering::Release);
        self.join()
    }

    /// Waits until the writer has appended all its rows (or is interrupted),
    /// and says what it did.
    pub fn finish(self) -> Result<WriterReport, HarnessError> {
        self.join()
    }

    fn join(mut self) -> Result<WriterReport, HarnessError> {
        let handle = self.handle.take();
        let (rows, seconds) = match handle.map(|h| h.join()) {
            Some(Ok(r)) => r?,
            Some(Err(_)) => {
                return Err(HarnessError::input(format!(
                    "the live writer appending to {} panicked",
                    self.path.display()
                )))
            }
            None => (self.committed(), 0.0),
        };
        Ok(WriterReport {
            target_rate: self.rate,
            rows,
            seconds,
            achieved_rate: if seconds > 0.0 { rows as f64 / seconds } else { 0.0 },
            seed: self.seed,
        })
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_at_its_rate_on_a_scratch_copy_only() {
        let src = tempfile::tempdir().unwrap();
        let params = GenParams {
            rows: 50,
            ..GenParams::default()
        };
        crate::dataset::generate(&params, &src.path().join("d"), false, &Cancel::new()).unwrap();
        let d = src.path().join("d");
        let before = std::fs::read(d.join(audit_engines::PAYLOADS_FILE)).unwrap();
        let scratch = Scratch::copy_of(&d).unwrap();
        let rows = LiveRows::new(&params, 9, 200.0).take(40);
        let w = Writer::start(&scratch, 200.0, 9, rows, &Cancel::new()).unwrap();
        while !w.finished() {
            assert!(w.committed() <= w.begun());
            std::thread::sleep(Duration::from_millis(5));
        }
        let report = w.stop().unwrap();
        assert_eq!(report.rows, 40);
        // 40 rows at 200/s take at least 195 ms (the first is due at once).
        assert!(report.seconds >= 0.19 && report.achieved_rate <= 210.0, "{report:?}");
        // The user's dataset is untouched; the copy holds every row, each payload whole.
        assert_eq!(std::fs::read(d.join(audit_engines::PAYLOADS_FILE)).unwrap(), before);
        let conn = crate::dataset::open_db(scratch.path()).unwrap();
        let all = crate::dataset::read_rows(&conn).unwrap();
        assert_eq!(all.len(), 90);
        let payloads = std::fs::read(scratch.path().join(audit_engines::PAYLOADS_FILE)).unwrap();
        for r in &all[50..] {
            let line = &payloads[r.payload_offset as usize..(r.payload_offset + r.payload_len) as usize];
            assert_eq!(line.last(), Some(&b'\n'));
            serde_json::from_slice::<Value>(line).unwrap();
        }
        // Seeded: the same seed gives the same rows.
        let a: Vec<NewRow> = LiveRows::new(&params, 9, 200.0).take(5).collect();
        assert_eq!(a, LiveRows::new(&params, 9, 200.0).take(5).collect::<Vec<_>>());
        assert!(Writer::start(&scratch, -1.0, 9, std::iter::empty(), &Cancel::new()).is_err());
    }
}
