//! Engines that run as separate programs, speaking the process protocol
//! (JSON lines over stdin/stdout, `docs/protocol.md`), so that candidates
//! written in any language go through the same equivalence suite and
//! benchmark as the built-in ones.
//!
//! - [`protocol`]: the lines and their checks;
//! - [`child`]: one engine process (spawn, handshake, requests, stderr, reaping);
//! - [`ProcessEngine`] (here): `processes` of them behind the [`Engine`] trait,
//!   each with up to its declared `max_in_flight` requests outstanding;
//! - [`error`]: why an engine outside the harness could not be opened, as data;
//! - [`command`]: `--engine-command NAME=COMMAND`;
//! - [`null`] and [`cost`]: a do-nothing engine and the protocol's own round-trip cost;
//! - [`reaper`]: what engines leave behind (a `setsid` daemon) dies with the command.
//!
//! Failure policy: the first failure of any process (protocol breach, exit,
//! timeout) kills and reaps that process and marks the whole engine failed;
//! every later request fails at once with the first failure's message. There
//! is no respawn: a candidate that breaks once is broken, and a respawn would
//! hide that from a benchmark.

pub mod child;
pub mod command;
pub mod cost;
pub mod error;
pub mod null;
pub mod protocol;
pub mod reaper;

use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use audit_engines::{Engine, EngineError, Fault, Page, Query};

pub use error::{SetupError, StartError};

use crate::cancel::Cancel;
use crate::spec::ProcessEngineSpec;
use crate::sync::lock;
use child::{CallError, ChildProcess, Launch, Starting};

/// How long dropping an engine waits for its processes to exit after closing
/// their stdin, before killing them.
pub const SHUTDOWN_GRACE: Duration = Duration::from_millis(250);

/// An engine served by `processes` child processes.
pub struct ProcessEngine {
    name: String,
    processes: Vec<ChildProcess>,
    /// Requests outstanding per process.
    in_flight: Mutex<Vec<usize>>,
    freed: Condvar,
    /// The first failure; once set, every request fails at once.
    failed: Mutex<Option<(Fault, String)>>,
}

/// The last stderr lines, as one line.
pub(crate) fn stderr_text(lines: &[String]) -> String {
    if lines.is_empty() {
        "stderr: (nothing)".into()
    } else {
        format!("stderr (last {} lines): {}", lines.len(), lines.join(" | "))
    }
}

/// The directory a process engine runs in: `cwd` when the spec entry set one,
/// else the spec file's directory; absolute.
pub(crate) fn working_dir(spec: &ProcessEngineSpec, spec_dir: &Path) -> Result<PathBuf, StartError> {
    let dir = spec.cwd.clone().unwrap_or_else(|| spec_dir.to_path_buf());
    let dir = if dir.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        dir
    };
    std::path::absolute(&dir).map_err(|e| StartError::os(format!("working directory {}", dir.display()), e))
}

impl ProcessEngine {
    /// Starts `spec.processes` processes of engine `name` on the dataset in
    /// `data_dir` and completes their handshakes (in parallel, each bounded by
    /// `timeout_ms`). `spec_dir` is the spec file's directory, where commands
    /// from `harness.toml` run. `cancel` stops every wait on the processes.
    pub fn open(
        name: &str,
        spec: &ProcessEngineSpec,
        spec_dir: &Path,
        data_dir: &Path,
        cancel: &Cancel,
    ) -> Result<ProcessEngine, SetupError> {
        let err = |step: StartError| SetupError::new(name, step);
        let cmd = child::command_line(&spec.command);
        let data = data_dir
            .canonicalize()
            .map_err(|e| err(StartError::os(format!("dataset directory {}", data_dir.display()), e)))?;
        let data = data.to_str().ok_or_else(|| {
            err(StartError::Config(format!(
                "dataset directory {} is not UTF-8, which the protocol's JSON cannot carry",
                data.display()
            )))
        })?;
        let cwd = working_dir(spec, spec_dir).map_err(err)?;
        let timeout = Duration::from_millis(spec.timeout_ms.max(1));
        let launch = Launch {
            engine: name,
            command: &spec.command,
            env: &spec.env,
            cwd: &cwd,
            data_dir: data,
            timeout,
            cancel,
        };
        let mut starting = Vec::new();
        for _ in 0..spec.processes().max(1) {
            starting.push(Starting::launch(&launch).map_err(err)?);
        }
        let deadline = Instant::now() + timeout;
        let mut processes = Vec::new();
        for (i, s) in starting.into_iter().enumerate() {
            match s.ready(deadline) {
                Ok(p) => processes.push(p),
                Err((why, stderr)) => {
                    return Err(err(StartError::Process {
                        index: i + 1,
                        command: cmd,
                        stderr: stderr_text(&stderr),
                        step: Box::new(why),
                    }))
                }
            }
        }
        Ok(ProcessEngine {
            name: name.to_string(),
            in_flight: Mutex::new(vec![0; processes.len()]),
            processes,
            freed: Condvar::new(),
            failed: Mutex::new(None),
        })
    }

    /// The process ids of the engine's processes (for tests that check reaping).
    pub fn pids(&self) -> Vec<u32> {
        self.processes.iter().map(ChildProcess::pid).collect()
    }

    /// What each process declared in its `ready` line.
    pub fn declared(&self) -> Vec<&protocol::Ready> {
        self.processes.iter().map(ChildProcess::ready).collect()
    }

    /// Waits for a process with free capacity (the least loaded one) and takes
    /// one of its slots; fails at once when the engine has failed.
    fn acquire(&self) -> Result<Slot<'_>, (Fault, String)> {
        let mut in_flight = lock(&self.in_flight);
        loop {
            if let Some(first) = lock(&self.failed).as_ref() {
                return Err(first.clone());
            }
            let free = (0..self.processes.len())
                .filter(|&i| in_flight[i] < self.processes[i].ready().max_in_flight)
                .min_by_key(|&i| in_flight[i]);
            if let Some(i) = free {
                in_flight[i] += 1;
                return Ok(Slot { engine: self, index: i });
            }
            // Every slot ends within the timeout; the bounded wait only guards
            // against a missed wake-up.
            in_flight = self
                .freed
                .wait_timeout(in_flight, Duration::from_millis(50))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Records process `i`'s failure (the first one sticks) and describes it:
    /// the process, why, and the last lines of its stderr.
    fn record_failure(&self, i: usize, fault: Fault, why: &str) -> (String, String) {
        let w = &self.processes[i];
        let what = format!("process {} (pid {}): {why}; killed and reaped", i + 1, w.pid());
        let stderr = stderr_text(&w.stderr_tail());
        lock(&self.failed).get_or_insert_with(|| (fault, format!("{what}; {stderr}")));
        self.freed.notify_all();
        (what, stderr)
    }
}

/// One taken request slot of one process; released on drop.
struct Slot<'a> {
    engine: &'a ProcessEngine,
    index: usize,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        lock(&self.engine.in_flight)[self.index] -= 1;
        self.engine.freed.notify_one();
    }
}

impl Engine for ProcessEngine {
    fn name(&self) -> &str {
        &self.name
    }

    fn query(&self, q: &Query) -> Result<Page, EngineError> {
        let query = || serde_json::to_string(q).unwrap_or_default();
        let slot = self.acquire().map_err(|(fault, first)| EngineError::Broken {
            fault,
            detail: format!(
                "engine {}: not asked again after an earlier failure; query {}; the failure: {first}",
                self.name,
                query()
            ),
        })?;
        match self.processes[slot.index].call(q) {
            Ok(page) => Ok(page),
            // The engine's own error for this query: no need to name the
            // engine (callers do), and the process is fine.
            Err(CallError::Answered(msg)) => Err(EngineError::Failed {
                fault: Fault::Status,
                detail: format!("answered with an error: {msg}"),
            }),
            Err(CallError::Failed(fault, why)) => {
                let (what, stderr) = self.record_failure(slot.index, fault, &why);
                Err(EngineError::Broken {
                    fault,
                    detail: format!("engine {}: {what}; query {}; {stderr}", self.name, query()),
                })
            }
            Err(CallError::TimedOut(why)) => {
                let (what, stderr) = self.record_failure(slot.index, Fault::Timeout, &why);
                Err(EngineError::Hang {
                    ms: self.processes[slot.index].timeout().as_millis() as u64,
                    detail: format!("engine {}: {what}; query {}; {stderr}", self.name, query()),
                })
            }
        }
    }

    fn concurrency(&self) -> Option<usize> {
        Some(self.processes.iter().map(|w| w.ready().max_in_flight).sum())
    }

    fn peak_rss_bytes(&self) -> Option<u64> {
        let each: Vec<u64> = self
            .pids()
            .into_iter()
            .filter_map(audit_engines::engine::peak_rss_of)
            .collect();
        (!each.is_empty()).then(|| each.iter().sum())
    }
}

impl Drop for ProcessEngine {
    /// Closes every process's stdin, waits up to [`SHUTDOWN_GRACE`] for all of
    /// them to exit, then kills and reaps whatever is left.
    fn drop(&mut self) {
        for w in &self.processes {
            w.close_stdin();
        }
        let deadline = Instant::now() + SHUTDOWN_GRACE;
        for w in &self.processes {
            w.wait_exit(deadline);
            w.stop();
        }
    }
}
