//! A benchmark's files while it runs. After each finished round its requests
//! are appended to latencies.csv, and run.json is rewritten (whole, by
//! rename) to record the rounds so far and how many bytes of latencies.csv
//! hold them ([`Checkpoint`]). A run killed at any moment (SIGKILL, a second
//! Ctrl-C, the kernel's OOM killer) so keeps every round it finished, and
//! `audit-harness report DIR` analyses them; rows past the recorded length
//! belong to a round the record does not count (or were cut short) and are
//! not read. The run's own end replaces both files whole.

use std::fs::File;
use std::io::Write;

use crate::bench::{self, overhead::Overhead, Plan};
use crate::error::HarnessError;

use super::latencies;
use super::run_json::{BenchInfo, Checkpoint, RunInfo};
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

    /// Appends the round just finished to latencies.csv, then records the
    /// run as it stands in run.json.
    pub fn round(&mut self, c: &bench::Checkpoint) -> Result<(), HarnessError> {
        let path = self.dir.path.join("latencies.csv");
        let rows = latencies::round_rows(c.series, c.fresh, self.file.is_none())?;
        let file = match &mut self.file {
            Some(f) => f,
            None => self
                .file
                .insert(File::create(&path).map_err(|e| HarnessError::io(&path, e))?),
        };
        file.write_all(&rows).map_err(|e| HarnessError::io(&path, e))?;
        self.bytes += rows.len() as u64;
        let bench = BenchInfo::checkpoint(self.plan, c.series, &c.run, self.overhead, self.bytes);
        self.info.bench = Some(bench);
        self.dir.rewrite("run.json", &self.info.to_json())
    }
}

impl Checkpoint {
    /// latencies.csv as far as this record counts it.
    pub fn whole(&self, latencies: impl std::io::Read) -> impl std::io::Read {
        latencies.take(self.latencies_bytes)
    }
}
