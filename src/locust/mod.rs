//! The Locust driver: the benchmark's rounds sent by a Locust cluster
//! instead of the harness's own threads. The harness starts a Locust master
//! (and, unless told the workers are started elsewhere, N local workers) with
//! `locust/audit_locustfile.py`, hands it each round whole (every slice of
//! every engine, in the round's recorded order, with the seeded requests),
//! and gets back one record per request, timed by Locust's request event;
//! the records become the same [`Request`]s the built-in driver produces, so
//! analysis, verdict and reports are the same code. What is assumed about
//! clocks, workers on other hosts and the driver's cost: `docs/locust.md`.

pub mod cost;
pub mod venv;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use audit_engines::Query;

use crate::cancel::Cancel;
use crate::error::HarnessError;
use crate::measured::Request;

/// The locustfile, compiled in and written into the run's scratch directory.
pub const LOCUSTFILE: &str = include_str!("../../locust/audit_locustfile.py");

/// How the cluster is set up (from `[driver]` and the command line).
#[derive(Debug, Clone)]
pub struct Settings {
    /// The environment's python (see [`venv::ensure`]).
    pub python: PathBuf,
    /// Where the master listens for workers, `HOST:PORT` (port 0: a free one).
    pub master: String,
    /// Workers the master waits for before the first round.
    pub workers: u32,
    /// Whether the harness starts the workers itself (on this machine).
    pub start_workers: bool,
    /// How long the workers have to connect.
    pub connect_timeout: Duration,
    /// How long one round may take before its records count as late.
    pub round_timeout: Duration,
    /// Each request's timeout on the workers.
    pub request_timeout: Duration,
    /// Locust users in all: the round's concurrency, split across workers.
    pub concurrency: u32,
    /// A CPU the master and the local workers are pinned to (`http-cost`).
    pub cpu: Option<usize>,
}

/// What run.json records of the Locust driver (`bench.driver`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DriverRecord {
    /// `locust`.
    pub kind: String,
    /// The Locust version that ran.
    pub locust: String,
    /// Workers the master waited for, and whether the harness started them.
    pub workers: u32,
    pub started_workers: bool,
    /// Where the master listened for workers.
    pub master: String,
    /// Locust users in all (the concurrency), split across the workers.
    pub users: u32,
}

/// One slice of one engine, as the cluster replays it.
pub struct Job<'a> {
    pub engine: &'a str,
    /// The engine's URL, without a query string.
    pub url: &'a str,
    /// Where the events are in an object answer (`events_key`).
    pub events_key: Option<&'a str>,
    pub queries: &'a [Query],
    /// Open loop: each request's intended start, ns from the slice's start.
    pub schedule: Option<&'a [u64]>,
}

/// What one job gave back.
#[derive(Debug, Clone, Default)]
pub struct JobResult {
    /// In `queries` order; `seq` is the position in the job, `slice` 0.
    pub requests: Vec<Request>,
    pub first_error: Option<String>,
    /// A request timed out: the engine hung (later rounds skip it).
    pub gave_up: bool,
    /// When the job started, in seconds after the round was handed over (the earliest worker).
    pub offset_s: f64,
}

/// How a round ended.
#[derive(Debug)]
pub enum RoundEnd {
    Done(Vec<JobResult>),
    /// The run was interrupted: nothing of the round is kept.
    Interrupted,
    /// Records were lost (a worker died or left, records incomplete or
    /// late): the round is discarded for every engine, and the cluster is
    /// not asked again. The text says what was lost.
    Lost(String),
}

/// A running master and the workers the harness started; stopped when dropped.
pub struct Cluster {
    master: Child,
    workers: Vec<Child>,
    control: BufReader<TcpStream>,
    dir: tempfile::TempDir,
    settings: Settings,
    /// Rounds handed to the cluster so far: each hand-over's number on the
    /// wire (a benchmark round of several mixes is several hand-overs, and a
    /// worker waits for a number it has not seen).
    handed: u64,
    /// A round was handed over and its records have not come back: the
    /// master's control connection is busy with it and would not read `quit`.
    pending: bool,
    /// The master's `HOST:PORT` for workers (the port it chose when 0 was asked).
    pub master_address: String,
    /// Stops every wait on the master.
    cancel: Cancel,
}

/// The text of a driver failure.
fn failed(why: impl std::fmt::Display) -> HarnessError {
    HarnessError::input(format!("--driver locust: {why}"))
}

impl Cluster {
    /// Starts the master (and local workers) and waits until every expected
    /// worker has connected and its users are running; `cancel` stops every
    /// wait on the master, then and later.
    pub fn start(settings: Settings, scratch: &Path, cancel: &Cancel) -> Result<Cluster, HarnessError> {
        let (host, port) = split_address(&settings.master)?;
        // A port in use would only show as the master's exit: say it first.
        let listener = TcpListener::bind((host.as_str(), port)).map_err(|e| {
            failed(format!(
                "cannot listen for workers on {}: {e} (set [driver] master to a free HOST:PORT)",
                settings.master
            ))
        })?;
        let port = listener.local_addr().map_err(failed)?.port();
        drop(listener);
        let dir = crate::fsutil::temp_dir_in(scratch, "audit-locust-").map_err(|e| HarnessError::io(scratch, e))?;
        let file = dir.path().join("audit_locustfile.py");
        std::fs::write(&file, LOCUSTFILE).map_err(|e| HarnessError::io(&file, e))?;
        let master_out = dir.path().join("master.out");
        let users = settings.concurrency.to_string();
        let mut command = Command::new(&settings.python);
        command
            .args(["-m", "locust", "-f"])
            .arg(&file)
            .args(["--master", "--headless", "--only-summary", "--loglevel", "WARNING"])
            .args(["--expect-workers", &settings.workers.to_string()])
            .args(["-u", &users, "-r", &users])
            .args(["--master-bind-host", &host, "--master-bind-port", &port.to_string()])
            .env("AUDIT_LOCUST_CONTROL", "127.0.0.1:0");
        let mut master = spawn(command, &master_out, &dir.path().join("master.err"), settings.cpu)?;
        let control = match control_port(&mut master, dir.path(), settings.connect_timeout, cancel) {
            Ok(port) => TcpStream::connect(("127.0.0.1", port))
                .and_then(|s| s.set_read_timeout(Some(Duration::from_millis(200))).map(|()| s))
                .map_err(|e| failed(format!("cannot reach the master's control port {port}: {e}"))),
            Err(e) => Err(e),
        };
        let control = match control {
            Ok(c) => c,
            Err(e) => {
                kill_group(&mut master);
                return Err(e);
            }
        };
        let mut cluster = Cluster {
            master,
            workers: Vec::new(),
            control: BufReader::new(control),
            dir,
            master_address: format!("{host}:{port}"),
            settings,
            handed: 0,
            pending: false,
            cancel: cancel.clone(),
        };
        if cluster.settings.start_workers {
            let connect = if host == "0.0.0.0" || host == "::" {
                "127.0.0.1".to_string()
            } else {
                host.clone()
            };
            for w in 0..cluster.settings.workers {
                let mut command = Command::new(&cluster.settings.python);
                command
                    .args(["-m", "locust", "-f"])
                    .arg(&file)
                    .args(["--worker", "--loglevel", "WARNING", "--master-host", &connect])
                    .args(["--master-port", &port.to_string()])
                    .env(
                        "AUDIT_LOCUST_TIMEOUT_S",
                        cluster.settings.request_timeout.as_secs_f64().to_string(),
                    );
                let out = cluster.dir.path().join(format!("worker{w}.out"));
                let err = cluster.dir.path().join(format!("worker{w}.err"));
                let child = spawn(command, &out, &err, cluster.settings.cpu)?;
                cluster.workers.push(child);
            }
        }
        cluster.wait_ready()?;
        Ok(cluster)
    }

    /// Why the master or a worker the harness started has exited, if one has.
    fn exited(&mut self) -> Option<String> {
        let dir = self.dir.path().to_path_buf();
        if let Ok(Some(status)) = self.master.try_wait() {
            return Some(format!(
                "the Locust master exited ({status}): {}",
                last_line(&dir.join("master.err"))
            ));
        }
        for (w, child) in self.workers.iter_mut().enumerate() {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(format!(
                    "Locust worker {w} exited ({status}): {}",
                    last_line(&dir.join(format!("worker{w}.err")))
                ));
            }
        }
        None
    }

    /// Polls the master until every expected worker runs its users.
    fn wait_ready(&mut self) -> Result<(), HarnessError> {
        let deadline = Instant::now() + self.settings.connect_timeout;
        loop {
            let status: Status = self.ask(&serde_json::json!({"cmd": "status"}), deadline)?;
            if status.workers >= self.settings.workers && status.users == self.settings.concurrency {
                return Ok(());
            }
            if let Some(why) = self.exited() {
                return Err(failed(why));
            }
            if Instant::now() > deadline {
                return Err(failed(format!(
                    "{} of {} Locust workers connected to the master at {} within {:.0} s ([driver] connect_timeout_s)",
                    status.workers,
                    self.settings.workers,
                    self.master_address,
                    self.settings.connect_timeout.as_secs_f64()
                )));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Sends one command and reads its one-line reply by `deadline`.
    fn ask<T: serde::de::DeserializeOwned>(
        &mut self,
        command: &serde_json::Value,
        deadline: Instant,
    ) -> Result<T, HarnessError> {
        let mut line = serde_json::to_vec(command).map_err(failed)?;
        line.push(b'\n');
        self.control
            .get_mut()
            .write_all(&line)
            .map_err(|e| failed(format!("the master's control connection failed: {e}")))?;
        let mut reply = Vec::new();
        loop {
            match self.control.read_until(b'\n', &mut reply) {
                Ok(0) => {
                    let why = self
                        .exited()
                        .unwrap_or_else(|| "it closed its control connection".into());
                    return Err(failed(why));
                }
                Ok(_) if reply.ends_with(b"\n") => break,
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                    ) =>
                {
                    if self.cancel.is_cancelled() {
                        return Err(HarnessError::input("interrupted"));
                    }
                    if let Some(why) = self.exited() {
                        return Err(failed(why));
                    }
                    if Instant::now() > deadline {
                        return Err(failed(format!(
                            "no answer from the Locust master in time ([driver] round_timeout_s = {:.0}): records incomplete or late",
                            self.settings.round_timeout.as_secs_f64()
                        )));
                    }
                }
                Err(e) => return Err(failed(format!("the master's control connection failed: {e}"))),
            }
        }
        serde_json::from_slice(&reply).map_err(|e| failed(format!("the master answered something else: {e}")))
    }

    /// Replays one round (`round` names it in messages): `jobs` in order,
    /// every worker its share of each.
    pub fn run_round(&mut self, round: u32, jobs: &[Job]) -> Result<RoundEnd, HarnessError> {
        let wire: Vec<serde_json::Value> = jobs
            .iter()
            .map(|j| {
                let requests: Vec<serde_json::Value> = j
                    .queries
                    .iter()
                    .enumerate()
                    .map(|(i, q)| {
                        let intended = j.schedule.and_then(|s| s.get(i)).map_or(-1, |&t| t as i64);
                        serde_json::json!([i, query_string(q), intended])
                    })
                    .collect();
                serde_json::json!({"engine": j.engine, "url": j.url, "key": j.events_key, "requests": requests})
            })
            .collect();
        self.handed += 1;
        let command = serde_json::json!({
            "cmd": "round",
            "round": self.handed,
            "concurrency": self.settings.concurrency,
            "jobs": wire,
        });
        let deadline = Instant::now() + self.settings.round_timeout;
        self.pending = true;
        let discarded = |why: String| {
            RoundEnd::Lost(format!(
                "--driver locust: round {round} lost records ({why}): the round is discarded for every engine, and the run stops"
            ))
        };
        let reply: Reply = match self.ask(&command, deadline) {
            Ok(r) => r,
            Err(_) if self.cancel.is_cancelled() => return Ok(RoundEnd::Interrupted),
            Err(e) => {
                return Ok(discarded(
                    e.to_string().trim_start_matches("--driver locust: ").to_string(),
                ))
            }
        };
        self.pending = false;
        if let Some(lost) = reply.lost {
            let which = lost.iter().map(u32::to_string).collect::<Vec<_>>().join(", ");
            let exit = self.exited().map(|w| format!("; {w}")).unwrap_or_default();
            return Ok(discarded(format!("the master lost Locust worker {which}{exit}")));
        }
        let mut results: Vec<JobResult> = jobs.iter().map(|_| JobResult::default()).collect();
        for (k, seq, intended, start_ns, latency_ns, _status, rows, slot) in reply.records {
            let (Some(job), Some(result)) = (jobs.get(k), results.get_mut(k)) else {
                return Err(failed(format!(
                    "round {round}: a record names job {k}, which the round has not"
                )));
            };
            let Some(query) = job.queries.get(seq as usize) else {
                return Err(failed(format!(
                    "round {round}: a record names request {seq} of job {k}"
                )));
            };
            result.requests.push(Request {
                seq,
                query: query.clone(),
                rows: u32::try_from(rows).ok(),
                start_ns,
                latency_ns,
                intended_ns: u64::try_from(intended).ok(),
                slice: 0,
                worker: slot,
            });
        }
        for (k, (job, result)) in jobs.iter().zip(&mut results).enumerate() {
            result.requests.sort_by_key(|r| r.seq);
            let whole = result.requests.len() == job.queries.len()
                && result.requests.iter().enumerate().all(|(i, r)| r.seq == i as u64);
            if !whole {
                return Ok(discarded(format!(
                    "the workers returned {} records for the {} requests of engine {}'s slice {k}",
                    result.requests.len(),
                    job.queries.len(),
                    job.engine
                )));
            }
            result.first_error = reply.errors.get(&k.to_string()).cloned();
            result.gave_up = result.first_error.as_deref().is_some_and(|e| e.starts_with("timeout"));
            result.offset_s = reply.offsets.get(k).copied().unwrap_or(0) as f64 / 1e9;
        }
        Ok(RoundEnd::Done(results))
    }

    /// Asks the master to end the test (unless it is still busy with a
    /// round, as after Ctrl-C), then stops every process of the cluster.
    pub fn stop(&mut self) {
        if !self.pending {
            let deadline = Instant::now() + Duration::from_secs(5);
            let _: Result<serde_json::Value, _> = self.ask(&serde_json::json!({"cmd": "quit"}), deadline);
        }
        let grace = Instant::now() + Duration::from_secs(if self.pending { 0 } else { 5 });
        for child in std::iter::once(&mut self.master).chain(self.workers.iter_mut()) {
            while Instant::now() < grace && matches!(child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(20));
            }
            kill_group(child);
        }
    }

    /// What run.json records of this cluster.
    pub fn record(&self) -> DriverRecord {
        DriverRecord {
            kind: "locust".into(),
            locust: venv::pinned_version().into(),
            workers: self.settings.workers,
            started_workers: self.settings.start_workers,
            master: self.master_address.clone(),
            users: self.settings.concurrency,
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for child in std::iter::once(&mut self.master).chain(self.workers.iter_mut()) {
            kill_group(child);
        }
    }
}

/// SIGKILL to the child's process group (it leads one), then reaping.
fn kill_group(child: &mut Child) {
    if matches!(child.try_wait(), Ok(None)) {
        if let Ok(pid) = i32::try_from(child.id()) {
            // SAFETY: kill(2) has no memory effects.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
    }
    let _ = child.wait();
}

/// Starts a Locust process in its own group, dying with the harness, its
/// output in `out` and `err`.
fn spawn(mut command: Command, out: &Path, err: &Path, cpu: Option<usize>) -> Result<Child, HarnessError> {
    let stdout = std::fs::File::create(out).map_err(|e| HarnessError::io(out, e))?;
    let stderr = std::fs::File::create(err).map_err(|e| HarnessError::io(err, e))?;
    command.stdin(Stdio::null()).stdout(stdout).stderr(stderr);
    crate::process::child::confine(&mut command);
    if let Some(cpu) = cpu {
        use std::os::unix::process::CommandExt;
        // SAFETY: set_affinity is one system call and allocates nothing, so it
        // is safe between fork and exec.
        unsafe {
            command.pre_exec(move || crate::http::affinity::set_affinity(cpu));
        }
    }
    command.spawn().map_err(|e| failed(format!("cannot start Locust: {e}")))
}

/// Reads the master's control port from its first line of output.
fn control_port(master: &mut Child, dir: &Path, timeout: Duration, cancel: &Cancel) -> Result<u16, HarnessError> {
    let deadline = Instant::now() + timeout;
    loop {
        let text = std::fs::read_to_string(dir.join("master.out")).unwrap_or_default();
        if let Some(port) = text
            .lines()
            .find_map(|l| l.strip_prefix("audit-control "))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|p| p.parse().ok())
        {
            return Ok(port);
        }
        if let Ok(Some(status)) = master.try_wait() {
            return Err(failed(format!(
                "the Locust master exited ({status}): {}",
                last_line(&dir.join("master.err"))
            )));
        }
        if Instant::now() > deadline {
            return Err(failed(format!(
                "the Locust master did not start within {:.0} s",
                timeout.as_secs_f64()
            )));
        }
        if cancel.is_cancelled() {
            return Err(failed("interrupted while the Locust master started"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The last non-empty line of a log file.
fn last_line(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("(no output)")
        .trim()
        .to_string()
}

/// `HOST:PORT` taken apart.
fn split_address(address: &str) -> Result<(String, u16), HarnessError> {
    let (host, port) = address
        .rsplit_once(':')
        .ok_or_else(|| failed(format!("master {address:?} is not HOST:PORT")))?;
    let port = port
        .parse()
        .map_err(|_| failed(format!("master {address:?}: the port must be a number from 0 to 65535")))?;
    Ok((host.trim_matches(['[', ']']).to_string(), port))
}

/// The query string the built-in HTTP client sends for `q`.
pub fn query_string(q: &Query) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    s.append_pair("from_ts", &q.from_ts.to_string());
    s.append_pair("to_ts", &q.to_ts.to_string());
    if let Some(actor) = q.actor_id {
        s.append_pair("actor_id", &actor.to_string());
    }
    if let Some(action) = &q.action {
        s.append_pair("action", action);
    }
    s.append_pair("page", &q.page.to_string());
    s.append_pair("page_size", &q.page_size.to_string());
    s.finish()
}

/// The master's answer to `status`.
#[derive(serde::Deserialize)]
struct Status {
    workers: u32,
    users: u32,
}

/// One request as a worker recorded it: job, position in the job, intended
/// start (-1: closed loop), start, latency (ns), HTTP status (0: none), rows
/// (-1: an error), user slot.
type Record = (usize, u64, i64, u64, u64, u16, i64, u32);

/// The master's answer to `round`.
#[derive(serde::Deserialize)]
struct Reply {
    #[serde(default)]
    records: Vec<Record>,
    #[serde(default)]
    errors: BTreeMap<String, String>,
    #[serde(default)]
    offsets: Vec<u64>,
    #[serde(default)]
    lost: Option<Vec<u32>>,
}
