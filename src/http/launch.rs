//! A launched HTTP engine's server: started on the dataset the harness
//! chooses and a port it chooses, waited for until it answers, and stopped
//! (SIGTERM to its process group, SIGKILL after a grace period, reaped) when
//! the engine is dropped.
//!
//! The server gets `AUDIT_DATA_DIR` (absolute) and `AUDIT_PORT` in its
//! environment; `{port}` in its command's arguments and in `url` is
//! replaced by the port, and `{data_dir}` in its arguments by the dataset
//! directory. It runs in its own process group and dies with the
//! harness (`process::child::confine`), as process engines do. Its stdout
//! and stderr are read into a ring of their last lines for error messages.

use std::collections::VecDeque;
use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::cancel::Cancel;
use crate::process::child::{command_line, confine, exited_unreaped, keep_last_lines};
use crate::process::{stderr_text, working_dir, StartError, SHUTDOWN_GRACE};
use crate::spec::endpoint::{Endpoint, PORT_PLACEHOLDER};
use crate::spec::ProcessEngineSpec;
use crate::sync::lock;

/// What stands for the dataset directory (absolute) in a launched command's arguments.
pub const DATA_DIR_PLACEHOLDER: &str = "{data_dir}";

/// A running server process.
pub struct Launched {
    pid: u32,
    command: String,
    child: Mutex<Option<Child>>,
    /// How it ended, once it was found dead and reaped.
    death: Mutex<Option<String>>,
    tail: Arc<Mutex<VecDeque<String>>>,
}

/// A port on the loopback interface that nobody listens on now.
fn free_port() -> Result<u16, StartError> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| StartError::os("cannot find a free port on 127.0.0.1", e))
}

impl Launched {
    /// Starts the spec's command on `data_dir` with a free port; returns the
    /// server and the URL to send queries to.
    pub fn start(
        name: &str,
        spec: &ProcessEngineSpec,
        spec_dir: &Path,
        data_dir: &Path,
        endpoint: &Endpoint,
    ) -> Result<(Launched, String), StartError> {
        let data = data_dir
            .canonicalize()
            .map_err(|e| StartError::os(format!("dataset directory {}", data_dir.display()), e))?;
        let cwd = working_dir(spec, spec_dir)?;
        let port = free_port()?;
        let args: Vec<String> = spec
            .command
            .iter()
            .map(|a| {
                a.replace(PORT_PLACEHOLDER, &port.to_string())
                    .replace(DATA_DIR_PLACEHOLDER, &data.to_string_lossy())
            })
            .collect();
        let (program, rest) = args
            .split_first()
            .ok_or_else(|| StartError::Config("the command is empty".into()))?;
        // A relative program path with a slash is relative to the working
        // directory the process gets, as for process engines.
        let program = if program.contains('/') {
            cwd.join(program).into_os_string()
        } else {
            program.into()
        };
        let mut command = Command::new(&program);
        command
            .args(rest)
            .env("AUDIT_DATA_DIR", &data)
            .env("AUDIT_PORT", port.to_string())
            .envs(&spec.env)
            .current_dir(&cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        confine(&mut command);
        let line = command_line(&args);
        let mut child = command
            .spawn()
            .map_err(|e| StartError::os(format!("cannot start `{line}` in {}", cwd.display()), e))?;
        let tail = Arc::new(Mutex::new(VecDeque::new()));
        let pipes: [Option<Box<dyn Read + Send>>; 2] = [
            child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>),
            child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>),
        ];
        for pipe in pipes.into_iter().flatten() {
            let tail = tail.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("{name}-output"))
                .spawn(move || keep_last_lines(pipe, &tail, |t| t));
            if let Err(e) = spawned {
                let _ = child.kill();
                let _ = child.wait();
                return Err(StartError::os("cannot start a thread", e));
            }
        }
        let server = Launched {
            pid: child.id(),
            command: line,
            child: Mutex::new(Some(child)),
            death: Mutex::new(None),
            tail,
        };
        Ok((server, endpoint.with_port(port)))
    }

    /// Waits until the server answers `url` (any status), it exits, or
    /// `deadline` passes or `cancel` is cancelled; on failure the server is stopped.
    pub fn wait_ready(
        &self,
        agent: &ureq::Agent,
        url: &str,
        deadline: Instant,
        cancel: &Cancel,
    ) -> Result<(), StartError> {
        let mut tries = 0u32;
        loop {
            if let Some(died) = self.death() {
                return Err(StartError::NotReady(format!("{died} before answering at {url}")));
            }
            let slice = Instant::now() + Duration::from_millis(200);
            match super::probe::probe(agent, url, slice.min(deadline), Some(cancel)) {
                Ok(()) => return Ok(()),
                Err(_) if cancel.is_cancelled() => {
                    self.stop();
                    return Err(StartError::NotReady(format!(
                        "the harness stopped server `{}` before it answered at {url}: it was interrupted by {}",
                        self.command,
                        cancel.cause()
                    )));
                }
                Err(e) if Instant::now() >= deadline => {
                    self.stop();
                    return Err(StartError::NotReady(format!(
                        "server `{}` did not answer within timeout_ms after {} tries ({e}); {}",
                        self.command,
                        tries + 1,
                        stderr_text(&self.tail())
                    )));
                }
                Err(_) => tries += 1,
            }
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// If the server has ended: how (exit status and its last output lines).
    /// A dead server is reaped here, its process group killed first.
    pub fn death(&self) -> Option<String> {
        if let Some(d) = lock(&self.death).clone() {
            return Some(d);
        }
        if !exited_unreaped(self.pid) {
            return None;
        }
        let status = self.reap();
        // Let the collectors read the last lines the server wrote.
        std::thread::sleep(Duration::from_millis(50));
        let status = status.map_or_else(|| "exit status unknown".to_string(), |s| s.to_string());
        let why = format!(
            "server `{}` (pid {}) ended ({status}); {}",
            self.command,
            self.pid,
            stderr_text(&self.tail())
        );
        Some(lock(&self.death).get_or_insert(why).clone())
    }

    /// The last lines of the server's stdout and stderr.
    fn tail(&self) -> Vec<String> {
        lock(&self.tail).iter().cloned().collect()
    }

    /// SIGKILL to the process group, then reaps the server; idempotent.
    fn reap(&self) -> Option<ExitStatus> {
        let mut slot = lock(&self.child);
        let mut child = slot.take()?;
        kill_group(self.pid, libc::SIGKILL);
        child.wait().ok()
    }

    /// SIGTERM to the process group, up to [`SHUTDOWN_GRACE`] to exit, then
    /// SIGKILL and reaping.
    pub fn stop(&self) {
        if lock(&self.child).is_none() {
            return;
        }
        kill_group(self.pid, libc::SIGTERM);
        let deadline = Instant::now() + SHUTDOWN_GRACE;
        while !exited_unreaped(self.pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        self.reap();
    }
}

impl Drop for Launched {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Sends `sig` to the process group led by `pid` (an unreaped child of ours,
/// so the group id cannot have been reused).
fn kill_group(pid: u32, sig: libc::c_int) {
    if let Ok(pid) = i32::try_from(pid) {
        // SAFETY: kill(2) has no memory effects.
        unsafe {
            libc::kill(-pid, sig);
        }
    }
}
