//! One engine process: spawning it, the hello/ready handshake, writing
//! requests, routing answers to the threads waiting for them, keeping the last
//! lines of its stderr, and killing and reaping it.
//!
//! Threads: the requesting thread writes its request line itself (stdin is
//! non-blocking, so a process that stops reading cannot block it past its
//! deadline) and waits on a one-shot channel; a reader thread splits stdout
//! into lines and routes each to the channel of its `id`, leaving the decoding
//! to the waiting thread so that answers are decoded in parallel; a collector
//! thread drains stderr into a ring buffer of its last lines.
//!
//! Any breach of the protocol (a non-JSON line, a wrong shape, an unknown id,
//! the process ending, a request outliving its timeout) kills the whole
//! process group with SIGKILL and reaps the process at once: every request
//! outstanding on it fails, and so does every later one. No zombie is left
//! behind and no caller waits longer than its timeout.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::io::{AsRawFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use audit_engines::{Page, Query};

use super::protocol::{self, Reply};

/// The longest line accepted from an engine's stdout.
pub const MAX_LINE: usize = 64 << 20;
/// How many lines of an engine's stderr are kept for error messages.
pub const STDERR_LINES: usize = 20;
/// Each kept stderr line is cut to this many characters.
const STDERR_LINE_CHARS: usize = 300;
/// How long a failure message waits for the stderr collector to read the last lines.
const STDERR_SETTLE: Duration = Duration::from_millis(200);

/// What a worker needs to start its process.
pub struct Launch<'a> {
    /// The engine's name, for thread names.
    pub engine: &'a str,
    /// Program and arguments.
    pub command: &'a [String],
    /// Extra environment variables (besides `AUDIT_DATA_DIR`).
    pub env: &'a BTreeMap<String, String>,
    /// The working directory of the process.
    pub cwd: &'a Path,
    /// The dataset directory, absolute, as sent in `hello` and `AUDIT_DATA_DIR`.
    pub data_dir: &'a str,
    /// Bound on the handshake and on every request.
    pub timeout: Duration,
}

/// Why a call did not return a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// The engine answered `{"id": k, "error": "..."}`: the process is fine.
    Answered(String),
    /// The process broke the protocol, ended or timed out (it is now killed
    /// and reaped), or had already failed.
    Failed(String),
}

/// A waiter's delivery: the raw answer line, or why none will come.
type Delivery = Result<Vec<u8>, String>;

/// One running engine process that has completed the handshake.
pub struct Worker {
    shared: Arc<Shared>,
    pid: u32,
    ready: protocol::Ready,
    timeout: Duration,
}

/// A process that has been started and sent `hello`, not yet `ready`.
/// Dropping it shuts the process down like dropping a worker.
pub struct Starting {
    worker: Worker,
    ready_rx: mpsc::Receiver<Delivery>,
}

/// State shared by the worker handle, the reader thread and the collector thread.
struct Shared {
    state: Mutex<State>,
    stdin: Mutex<Option<ChildStdin>>,
    child: Mutex<ChildSlot>,
    stderr: StderrTail,
    /// Set once the harness has closed stdin on purpose (shutting down).
    closing: AtomicBool,
}

struct State {
    next_id: u64,
    pending: HashMap<u64, mpsc::Sender<Delivery>>,
    /// Why the process failed; set once, never cleared.
    death: Option<String>,
}

struct ChildSlot {
    /// `None` once reaped.
    child: Option<Child>,
    status: Option<ExitStatus>,
}

/// The last lines a process wrote to stderr.
struct StderrTail {
    inner: Mutex<(VecDeque<String>, bool)>,
    eof: Condvar,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The command as one line, for messages.
pub fn command_line(command: &[String]) -> String {
    command.join(" ")
}

impl Starting {
    /// Starts the process, its reader and stderr threads, and writes `hello`.
    pub fn launch(l: &Launch<'_>) -> Result<Starting, String> {
        let (program, args) = l
            .command
            .split_first()
            .ok_or_else(|| "the command is empty".to_string())?;
        // A relative program path with a slash is relative to the working
        // directory the process gets, not to the harness's.
        let program = if program.contains('/') {
            l.cwd.join(program).into_os_string()
        } else {
            program.into()
        };
        let mut child = Command::new(&program)
            .args(args)
            .env("AUDIT_DATA_DIR", l.data_dir)
            .envs(l.env)
            .current_dir(l.cwd)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group, so that killing it also kills anything it started.
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot start `{}` in {}: {e}", command_line(l.command), l.cwd.display()))?;
        let pid = child.id();
        let (stdin, stdout, stderr) = (child.stdin.take(), child.stdout.take(), child.stderr.take());
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                next_id: 0,
                pending: HashMap::new(),
                death: None,
            }),
            stdin: Mutex::new(None),
            child: Mutex::new(ChildSlot {
                child: Some(child),
                status: None,
            }),
            stderr: StderrTail {
                inner: Mutex::new((VecDeque::new(), false)),
                eof: Condvar::new(),
            },
            closing: AtomicBool::new(false),
        });
        let (Some(stdin), Some(stdout), Some(stderr)) = (stdin, stdout, stderr) else {
            shared.fail("its pipes could not be set up".into());
            return Err("its pipes could not be set up".into());
        };
        if let Err(e) = set_nonblocking(stdin.as_raw_fd()) {
            let why = format!("cannot make its stdin non-blocking: {e}");
            shared.fail(why.clone());
            return Err(why);
        }
        *lock(&shared.stdin) = Some(stdin);
        let (ready_tx, ready_rx) = mpsc::channel();
        let threads = [
            spawn_thread(format!("{}-stderr", l.engine), {
                let shared = shared.clone();
                move || collect_stderr(&shared, stderr)
            }),
            spawn_thread(format!("{}-reader", l.engine), {
                let shared = shared.clone();
                move || read_answers(&shared, stdout, ready_tx)
            }),
        ];
        if let Some(Err(e)) = threads.into_iter().find(Result::is_err) {
            let why = format!("cannot start a thread: {e}");
            shared.fail(why.clone());
            return Err(why);
        }
        // A write error here means the process already ended: the reader
        // reports that with its exit status, which says more.
        let _ = shared.write(
            &protocol::hello_line(l.data_dir),
            Instant::now() + l.timeout,
            l.timeout,
        );
        Ok(Starting {
            worker: Worker {
                shared,
                pid,
                ready: protocol::Ready {
                    name: None,
                    version: None,
                    max_in_flight: 1,
                },
                timeout: l.timeout,
            },
            ready_rx,
        })
    }

    /// Waits (until `deadline`) for the `ready` line and checks it. On failure
    /// the process is killed and reaped; the error carries why and the last
    /// lines of its stderr.
    pub fn ready(self, deadline: Instant) -> Result<Worker, (String, Vec<String>)> {
        let Starting { mut worker, ready_rx } = self;
        let shared = worker.shared.clone();
        let failed = |why: String| (shared.fail(why), shared.stderr_tail());
        let wait = deadline.saturating_duration_since(Instant::now());
        let line = match ready_rx.recv_timeout(wait) {
            Ok(Ok(line)) => line,
            Ok(Err(why)) => return Err(failed(why)),
            Err(_) => {
                return Err(failed(format!(
                    "sent no ready line within {} ms of hello (timeout_ms)",
                    worker.timeout.as_millis()
                )))
            }
        };
        match protocol::parse_ready(&line) {
            Ok(ready) => {
                worker.ready = ready;
                Ok(worker)
            }
            Err(why) => Err(failed(why)),
        }
    }
}

impl Worker {
    /// The process id (the process is reaped once the worker has failed or stopped).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// What the engine declared in its `ready` line.
    pub fn ready(&self) -> &protocol::Ready {
        &self.ready
    }

    /// Whether the process has failed (or been stopped).
    pub fn is_dead(&self) -> bool {
        lock(&self.shared.state).death.is_some()
    }

    /// Sends `q` and waits for its answer, at most the timeout. The caller
    /// keeps at most `max_in_flight` calls outstanding on one worker.
    pub fn call(&self, q: &Query) -> Result<Page, CallError> {
        let deadline = Instant::now() + self.timeout;
        let (tx, rx) = mpsc::channel();
        let id = {
            let mut st = lock(&self.shared.state);
            if let Some(why) = &st.death {
                return Err(CallError::Failed(format!("it had already failed: {why}")));
            }
            st.next_id += 1;
            let id = st.next_id;
            st.pending.insert(id, tx);
            id
        };
        let mut line = Vec::with_capacity(192);
        protocol::request_line(id, q, &mut line);
        if let Err(why) = self.shared.write(&line, deadline, self.timeout) {
            lock(&self.shared.state).pending.remove(&id);
            return Err(CallError::Failed(self.shared.fail(why)));
        }
        let delivered = match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(d) => d,
            Err(RecvTimeoutError::Timeout) => {
                if lock(&self.shared.state).pending.remove(&id).is_some() {
                    let why = format!("no answer within {} ms (timeout_ms)", self.timeout.as_millis());
                    return Err(CallError::Failed(self.shared.fail(why)));
                }
                // The answer was routed just as the time ran out.
                rx.try_recv()
                    .unwrap_or_else(|_| Err("the reader stopped without answering".into()))
            }
            Err(RecvTimeoutError::Disconnected) => Err("the reader stopped without answering".into()),
        };
        let line = delivered.map_err(CallError::Failed)?;
        match protocol::parse_answer(&line) {
            Ok((_, Reply::Page(p))) => Ok(p),
            Ok((_, Reply::Error(msg))) => Err(CallError::Answered(msg)),
            Err(e) => Err(CallError::Failed(self.shared.fail(e.to_string()))),
        }
    }

    /// The last lines of the process's stderr. When the process is dead, waits
    /// briefly for the collector to read what it wrote last.
    pub fn stderr_tail(&self) -> Vec<String> {
        self.shared.stderr_tail()
    }

    /// Closes stdin: the protocol's signal to shut down.
    pub fn close_stdin(&self) {
        self.shared.closing.store(true, Ordering::SeqCst);
        lock(&self.shared.stdin).take();
    }

    /// Waits until the process has exited or `deadline` has passed.
    pub fn wait_exit(&self, deadline: Instant) {
        let mut nap = Duration::from_micros(200);
        while !self.shared.exited() && Instant::now() < deadline {
            std::thread::sleep(nap.min(deadline.saturating_duration_since(Instant::now())));
            nap = (nap * 2).min(Duration::from_millis(10));
        }
    }

    /// Kills what is left of the process group and reaps the process.
    pub fn stop(&self) {
        self.shared.fail("it was shut down".into());
    }
}

impl Drop for Worker {
    /// Closes stdin, gives the process a moment to exit, then kills and reaps it.
    fn drop(&mut self) {
        self.close_stdin();
        self.wait_exit(Instant::now() + super::SHUTDOWN_GRACE);
        self.stop();
    }
}

impl Shared {
    /// Writes one whole line to stdin, giving up at `deadline`.
    fn write(&self, line: &[u8], deadline: Instant, timeout: Duration) -> Result<(), String> {
        let mut guard = lock(&self.stdin);
        let Some(stdin) = guard.as_mut() else {
            return Err("its stdin is closed".into());
        };
        let fd = stdin.as_raw_fd();
        let mut rest = line;
        while !rest.is_empty() {
            match stdin.write(rest) {
                Ok(0) => return Err("its stdin accepts no more bytes".into()),
                Ok(n) => rest = &rest[n..],
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(format!(
                            "did not read its stdin for {} ms (timeout_ms)",
                            timeout.as_millis()
                        ));
                    }
                    wait_writable(fd, left);
                }
                Err(e) => return Err(format!("cannot write to its stdin: {e}")),
            }
        }
        Ok(())
    }

    /// Records the first failure, fails every outstanding request, kills the
    /// process group and reaps the process. Returns the first failure's reason.
    fn fail(&self, why: String) -> String {
        let (pending, first) = {
            let mut st = lock(&self.state);
            let first = st.death.get_or_insert(why).clone();
            (std::mem::take(&mut st.pending), first)
        };
        for (_, tx) in pending {
            let _ = tx.send(Err(format!("failed while this request was outstanding: {first}")));
        }
        self.reap();
        first
    }

    /// Kills the process group (SIGKILL) and reaps the process; idempotent.
    /// Returns its exit status once reaped.
    fn reap(&self) -> Option<ExitStatus> {
        let mut slot = lock(&self.child);
        if let Some(mut child) = slot.child.take() {
            if let Ok(pid) = i32::try_from(child.id()) {
                // SAFETY: kill(2) has no memory effects. The process is not
                // reaped yet (we hold it), so its pid, which is also its
                // process group id, cannot have been reused.
                unsafe {
                    libc::kill(-pid, libc::SIGKILL);
                }
            }
            let _ = child.kill();
            slot.status = child.wait().ok();
        }
        slot.status
    }

    /// Whether the process has exited, without reaping it (so that its
    /// process group can still be killed safely).
    fn exited(&self) -> bool {
        let slot = lock(&self.child);
        let Some(child) = slot.child.as_ref() else {
            return true;
        };
        let pid: libc::id_t = child.id();
        // SAFETY: `info` is a valid, zeroed siginfo_t that waitid fills in;
        // WNOWAIT leaves the child waitable, and we hold the child's slot, so
        // nobody reaps it meanwhile.
        unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            let r = libc::waitid(
                libc::P_PID,
                pid,
                &mut info,
                libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
            );
            r != 0 || info.si_pid() != 0
        }
    }

    fn stderr_tail(&self) -> Vec<String> {
        let dead = lock(&self.state).death.is_some();
        let deadline = Instant::now() + STDERR_SETTLE;
        let mut inner = lock(&self.stderr.inner);
        while dead && !inner.1 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            inner = self
                .stderr
                .eof
                .wait_timeout(inner, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        inner.0.iter().cloned().collect()
    }
}

fn spawn_thread(name: String, f: impl FnOnce() + Send + 'static) -> std::io::Result<()> {
    std::thread::Builder::new().name(name).spawn(f).map(drop)
}

/// One line read from a pipe.
enum Line {
    Eof,
    TooLong,
    Text,
}

/// Reads one line (newline included) into `buf`, at most `max` bytes.
fn read_line(r: &mut impl BufRead, buf: &mut Vec<u8>, max: usize) -> std::io::Result<Line> {
    buf.clear();
    let n = r.by_ref().take(max as u64 + 1).read_until(b'\n', buf)?;
    Ok(if n == 0 {
        Line::Eof
    } else if buf.len() > max {
        Line::TooLong
    } else {
        Line::Text
    })
}

/// The reader thread: the first line goes to the handshake, every later one
/// to the request with its id. Any breach fails the worker and ends the thread.
fn read_answers(shared: &Shared, stdout: ChildStdout, ready_tx: mpsc::Sender<Delivery>) {
    let mut r = BufReader::with_capacity(64 * 1024, stdout);
    let mut ready_tx = Some(ready_tx);
    loop {
        let mut buf = Vec::new();
        let why = match read_line(&mut r, &mut buf, MAX_LINE) {
            Ok(Line::Text) => {
                if let Some(tx) = ready_tx.take() {
                    let _ = tx.send(Ok(buf));
                    continue;
                }
                match protocol::answer_id(&buf) {
                    Ok(id) => match lock(&shared.state).pending.remove(&id) {
                        Some(tx) => {
                            let _ = tx.send(Ok(buf));
                            continue;
                        }
                        None => format!(
                            "answered id {id}, which is not an outstanding request: {}",
                            protocol::excerpt(&buf)
                        ),
                    },
                    Err(e) => e.to_string(),
                }
            }
            Ok(Line::TooLong) => format!("wrote a line longer than {MAX_LINE} bytes"),
            Ok(Line::Eof) => {
                if shared.closing.load(Ordering::SeqCst) {
                    // Shutting down: the closer waits for the exit, then reaps.
                    return;
                }
                let status = shared.reap();
                let status = status.map_or_else(|| "status unknown".to_string(), |s| s.to_string());
                if ready_tx.is_some() {
                    format!("ended before answering hello ({status})")
                } else {
                    format!("ended or closed its stdout ({status})")
                }
            }
            Err(e) => format!("cannot read its stdout: {e}"),
        };
        if let Some(tx) = ready_tx.take() {
            let _ = tx.send(Err(why.clone()));
        }
        shared.fail(why);
        return;
    }
}

/// The collector thread: keeps the last [`STDERR_LINES`] lines of stderr.
fn collect_stderr(shared: &Shared, stderr: ChildStderr) {
    let mut r = BufReader::new(stderr);
    let mut buf = Vec::new();
    while let Ok(Line::Text | Line::TooLong) = read_line(&mut r, &mut buf, 64 * 1024) {
        let text = String::from_utf8_lossy(&buf);
        let text = text.trim_end();
        if text.is_empty() {
            continue;
        }
        let mut line: String = text.chars().take(STDERR_LINE_CHARS).collect();
        if line.len() < text.len() {
            line.push_str("...");
        }
        let mut inner = lock(&shared.stderr.inner);
        if inner.0.len() == STDERR_LINES {
            inner.0.pop_front();
        }
        inner.0.push_back(line);
    }
    lock(&shared.stderr.inner).1 = true;
    shared.stderr.eof.notify_all();
}

fn set_nonblocking(fd: RawFd) -> std::io::Result<()> {
    // SAFETY: fcntl on a file descriptor we own, with plain integer arguments.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Waits until `fd` is writable (or broken), at most `wait`.
fn wait_writable(fd: RawFd, wait: Duration) {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLOUT,
        revents: 0,
    };
    let ms = wait.as_millis().clamp(1, i32::MAX as u128) as i32;
    // SAFETY: one valid pollfd, count 1. The result is not needed: the next
    // write says whether the pipe is writable, broken or still full.
    unsafe {
        libc::poll(&mut p, 1, ms);
    }
}
