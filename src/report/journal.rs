//! A benchmark's files while it runs. After each finished round its requests
//! are appended to latencies.csv, and run.json is rewritten (whole, by
//! rename) to record the rounds so far and how many bytes of latencies.csv
//! hold them ([`Checkpoint`](super::run_json::Checkpoint)); again when a
//! phase ends, with the phase's own stop. A run killed at any moment
//! (SIGKILL, a second Ctrl-C, the kernel's OOM killer) so keeps every round
//! it finished, and `audit-harness report DIR` analyses them; rows past the
//! recorded length belong to a round the record does not count (or were cut
//! short) and are not read. The run's own end replaces both files whole; a
//! run that ends by an error keeps the last record. Neither file is synced:
//! a power cut may leave a record that counts more than the disk kept.

use std::fs::File;
use std::io::Write;

use crate::bench::{self, overhead::Overhead, Plan};
use crate::error::HarnessError;

use super::latencies;
use super::run_json::{BenchInfo, RunInfo};
use super::RunDir;

/// The journal of one benchmark in one run directory.
pub struct Journal<'a> {
    dir: &'a RunDir,
    /// The run's record as the benchmark began; its `bench` is each checkpoint's.
    info: RunInfo,
    plan: &'a Plan,
    overhead: &'a Overhead,
    /// latencies.csv, opened at the first finished round (a run that
    /// finishes none has no latencies.csv).
    file: Option<File>,
    /// Bytes of latencies.csv written whole so far.
    bytes: u64,
}

impl<'a> Journal<'a> {
    pub fn new(dir: &'a RunDir, info: &RunInfo, plan: &'a Plan, overhead: &'a Overhead) -> Journal<'a> {
        Journal {
            dir,
            info: info.clone(),
            plan,
            overhead,
            file: None,
            bytes: 0,
        }
    }

    /// Appends the round just finished to latencies.csv (nothing when a
    /// phase ended), then records the run as it stands in run.json.
    pub fn round(&mut self, c: &bench::Checkpoint) -> Result<(), HarnessError> {
        if !c.fresh.is_empty() {
            let path = self.dir.path.join("latencies.csv");
            let rows = latencies::round_rows(c.series, c.fresh, self.file.is_none())?;
            let file = match &mut self.file {
                Some(f) => f,
                None => self.file.insert(self.dir.create_appendable("latencies.csv")?),
            };
            file.write_all(&rows).map_err(|e| HarnessError::io(&path, e))?;
            self.bytes += rows.len() as u64;
        }
        let bench = BenchInfo::checkpoint(self.plan, c.series, &c.run, self.overhead, self.bytes);
        self.info.bench = Some(bench);
        self.dir.rewrite("run.json", &self.info.to_json())
    }

    /// The last record saved, if any: what run.json must keep when the
    /// benchmark ends by an error (its rounds stay analysable).
    pub fn into_record(self) -> Option<BenchInfo> {
        self.info.bench
    }
}
