//! One engine process: spawning it, the hello/ready handshake, writing
//! requests, getting each answer to the thread waiting for it, keeping the
//! last lines of its stderr, and killing and reaping it.
//!
//! Threads: there is no reader thread. A requesting thread writes its request
//! line itself (stdin is non-blocking, so a process that stops reading cannot
//! block it past its deadline), then either becomes the *reader* (whoever
//! holds the stdout lock reads lines, routing each other thread's answer to
//! that thread's one-shot channel, until its own arrives) or, when another
//! thread is reading, waits on its channel. A reader that leaves hands the
//! role to a thread still waiting. With one request in flight the requesting
//! thread thus reads its own answer: two context switches per round trip, not
//! three (see the protocol cost in `docs/protocol.md`). Answers are decoded by
//! the thread that asked, so they are decoded in parallel. A collector thread
//! drains stderr into a ring buffer of its last lines.
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
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use audit_engines::{Fault, Page, Query};

use super::error::StartError;
use super::protocol::{self, Reply};
use crate::cancel::Cancel;
use crate::sync::lock;

/// The longest line accepted from an engine's stdout.
pub const MAX_LINE: usize = 64 << 20;
/// How many lines of an engine's stderr are kept for error messages.
pub const STDERR_LINES: usize = 20;
/// Each kept stderr line is cut to this many characters.
const STDERR_LINE_CHARS: usize = 300;
/// How long a failure message waits for the stderr collector to read the last lines.
const STDERR_SETTLE: Duration = Duration::from_millis(200);
/// Waits on a pipe are cut into slices this long, to notice a cancellation.
const POLL_SLICE: Duration = Duration::from_millis(100);

/// Why a process was given up on when the harness's work was cancelled.
fn interrupted_text(cause: &str) -> String {
    format!("the harness was interrupted by {cause}")
}

/// What it takes to start one engine process.
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
    /// Stops every wait on the process's pipes.
    pub cancel: &'a Cancel,
}

/// Why a call did not return a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// The engine answered `{"id": k, "error": "..."}`: the process is fine.
    Answered(String),
    /// The process broke the protocol or ended (it is now killed and
    /// reaped), or had already failed: the first failure's kind, and why.
    Failed(Fault, String),
    /// The process gave no answer within the timeout, or failed while this
    /// request was outstanding after another one timed out (it is now killed
    /// and reaped).
    TimedOut(String),
}

/// What a waiting thread receives on its channel.
enum Delivery {
    /// Its answer line, routed by the reader.
    Line(Vec<u8>),
    /// The process failed; no answer will come.
    Failed(Fault, String),
    /// The reader left: try to become the reader.
    Lead,
}

/// One running engine process that has completed the handshake.
pub struct ChildProcess {
    shared: Arc<Shared>,
    pid: u32,
    ready: protocol::Ready,
    timeout: Duration,
}

/// A process that has been started and sent `hello`, not yet `ready`.
/// Dropping it shuts the process down like dropping a `ChildProcess`.
pub struct Starting {
    child: ChildProcess,
}

/// State shared by the process's callers and its stderr collector.
struct Shared {
    state: Mutex<State>,
    stdin: Mutex<Option<ChildStdin>>,
    /// Held by the thread currently reading answers.
    stdout: Mutex<LineReader>,
    child: Mutex<ChildSlot>,
    stderr: StderrTail,
    cancel: Cancel,
}

struct State {
    next_id: u64,
    /// Outstanding requests: id to the channel of the thread waiting for it.
    pending: HashMap<u64, mpsc::Sender<Delivery>>,
    /// Why the process failed, and its kind; set once, never cleared.
    death: Option<(Fault, String)>,
    /// Whether it failed by not answering (or not reading) in time.
    hung: bool,
}

struct ChildSlot {
    /// `None` once reaped.
    child: Option<Child>,
    status: Option<ExitStatus>,
}

/// The last lines a process wrote to stderr, and whether it has closed stderr.
struct StderrTail {
    inner: Mutex<(VecDeque<String>, bool)>,
    eof: Condvar,
}

/// Makes a command's process die with the harness and take its own
/// process group, so that killing the group also kills anything it started.
///
/// With `PR_SET_PDEATHSIG` the kernel kills the process when the thread that
/// started it ends, so an engine cannot outlive the harness, even one killed
/// by SIGKILL (engines are opened on long-lived threads).
pub fn confine(command: &mut Command) {
    command.process_group(0);
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: the closure runs in the child between fork and exec and only
    // makes async-signal-safe calls (prctl, getppid, _exit).
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The harness ended before the prctl took effect.
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}

/// Whether child `pid` has exited, without reaping it (so that its process
/// group can still be killed safely). The caller must own the unreaped child.
pub fn exited_unreaped(pid: u32) -> bool {
    // SAFETY: `info` is a valid, zeroed siginfo_t that waitid fills in;
    // WNOWAIT leaves the child waitable.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let r = libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        );
        r != 0 || info.si_pid() != 0
    }
}

/// The command as one line, for messages.
pub fn command_line(command: &[String]) -> String {
    command.join(" ")
}

impl Starting {
    /// Starts the process and its stderr collector, and writes `hello`.
    pub fn launch(l: &Launch<'_>) -> Result<Starting, StartError> {
        let (program, args) = l
            .command
            .split_first()
            .ok_or_else(|| StartError::Config("the command is empty".into()))?;
        // A relative program path with a slash is relative to the working
        // directory the process gets, not to the harness's.
        let program = if program.contains('/') {
            l.cwd.join(program).into_os_string()
        } else {
            program.into()
        };
        let mut command = Command::new(&program);
        command
            .args(args)
            .env("AUDIT_DATA_DIR", l.data_dir)
            .envs(l.env)
            .current_dir(l.cwd)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        confine(&mut command);
        let mut child = command.spawn().map_err(|e| {
            StartError::os(
                format!("cannot start `{}` in {}", command_line(l.command), l.cwd.display()),
                e,
            )
        })?;
        let pid = child.id();
        let pipes = (child.stdin.take(), child.stdout.take(), child.stderr.take());
        let (Some(stdin), Some(stdout), Some(stderr)) = pipes else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(StartError::NotReady("its pipes could not be set up".into()));
        };
        let nonblocking = set_nonblocking(stdin.as_raw_fd()).and_then(|_| set_nonblocking(stdout.as_raw_fd()));
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                next_id: 0,
                pending: HashMap::new(),
                death: None,
                hung: false,
            }),
            stdin: Mutex::new(Some(stdin)),
            stdout: Mutex::new(LineReader::new(stdout, pid)),
            child: Mutex::new(ChildSlot {
                child: Some(child),
                status: None,
            }),
            stderr: StderrTail {
                inner: Mutex::new((VecDeque::new(), false)),
                eof: Condvar::new(),
            },
            cancel: l.cancel.clone(),
        });
        if let Err(e) = nonblocking {
            return Err(StartError::NotReady(
                shared
                    .fail(Fault::Start, format!("cannot make its pipes non-blocking: {e}"))
                    .1,
            ));
        }
        let collector = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name(format!("{}-stderr", l.engine))
                .spawn(move || collect_stderr(&shared, stderr))
        };
        if let Err(e) = collector {
            return Err(StartError::NotReady(
                shared.fail(Fault::Start, format!("cannot start a thread: {e}")).1,
            ));
        }
        // A write error here means the process already ended: reading its
        // stdout then reports that with its exit status, which says more.
        let _ = shared.write(&protocol::hello_line(l.data_dir), Instant::now() + l.timeout, l.timeout);
        Ok(Starting {
            child: ChildProcess {
                shared,
                pid,
                ready: protocol::Ready {
                    name: None,
                    version: None,
                    max_in_flight: 1,
                },
                timeout: l.timeout,
            },
        })
    }

    /// Waits (until `deadline`) for the `ready` line and checks it. On failure
    /// the process is killed and reaped; the error carries why and the last
    /// lines of its stderr.
    pub fn ready(self, deadline: Instant) -> Result<ChildProcess, (StartError, Vec<String>)> {
        let Starting { mut child } = self;
        let shared = child.shared.clone();
        let failed = |why: String| {
            (
                StartError::NotReady(shared.fail(Fault::Start, why).1),
                shared.stderr_tail(),
            )
        };
        let line = lock(&shared.stdout).next_line(deadline, &shared.cancel);
        let line = match line {
            Ok(line) => line,
            Err(ReadError::Timeout) => {
                return Err(failed(format!(
                    "sent no ready line within {} ms of hello (timeout_ms)",
                    child.timeout.as_millis()
                )))
            }
            Err(ReadError::Eof) => return Err(failed(format!("ended before answering hello ({})", shared.ended()))),
            Err(e) => return Err(failed(e.to_string())),
        };
        match protocol::parse_ready(&line) {
            Ok(ready) => {
                child.ready = ready;
                Ok(child)
            }
            Err(why) => Err(failed(why.to_string())),
        }
    }
}

impl ChildProcess {
    /// The process id (the process is reaped once it has failed or stopped).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// What the engine declared in its `ready` line.
    pub fn ready(&self) -> &protocol::Ready {
        &self.ready
    }

    /// The bound on every request.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Whether the process has failed (or been stopped).
    pub fn is_dead(&self) -> bool {
        lock(&self.shared.state).death.is_some()
    }

    /// Sends `q` and waits for its answer, at most the timeout. The caller
    /// keeps at most `max_in_flight` calls outstanding on one process.
    pub fn call(&self, q: &Query) -> Result<Page, CallError> {
        let deadline = Instant::now() + self.timeout;
        let (tx, rx) = mpsc::channel();
        let id = {
            let mut st = lock(&self.shared.state);
            if let Some((fault, why)) = &st.death {
                return Err(CallError::Failed(*fault, format!("it had already failed: {why}")));
            }
            st.next_id += 1;
            let id = st.next_id;
            st.pending.insert(id, tx);
            id
        };
        let mut line = Vec::with_capacity(192);
        protocol::request_line(id, q, &mut line);
        if let Err(why) = self.shared.write(&line, deadline, self.timeout) {
            let hung = {
                let mut st = lock(&self.shared.state);
                st.pending.remove(&id);
                st.hung
            };
            let (fault, why) = self
                .shared
                .fail(if hung { Fault::Timeout } else { Fault::Exit }, why.to_string());
            return Err(if hung {
                CallError::TimedOut(why)
            } else {
                CallError::Failed(fault, why)
            });
        }
        let line = self
            .shared
            .await_answer(id, &rx, deadline, self.timeout)
            .map_err(|e| match e {
                CallError::Failed(_, why) if lock(&self.shared.state).hung => CallError::TimedOut(why),
                other => other,
            })?;
        match protocol::parse_answer(&line) {
            Ok((_, Reply::Page(p))) => Ok(p),
            Ok((_, Reply::Error(msg))) => Err(CallError::Answered(protocol::one_line(&msg, 2000))),
            Err(e) => {
                let (fault, why) = self.shared.fail(Fault::Protocol, e.to_string());
                Err(CallError::Failed(fault, why))
            }
        }
    }

    /// The last lines of the process's stderr. When the process is dead, waits
    /// briefly for the collector to read what it wrote last.
    pub fn stderr_tail(&self) -> Vec<String> {
        self.shared.stderr_tail()
    }

    /// Closes stdin: the protocol's signal to shut down.
    pub fn close_stdin(&self) {
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
        self.shared.fail(Fault::Exit, "it was shut down".into());
    }
}

impl Drop for ChildProcess {
    /// Closes stdin, gives the process a moment to exit, then kills and reaps it.
    fn drop(&mut self) {
        self.close_stdin();
        self.wait_exit(Instant::now() + super::SHUTDOWN_GRACE);
        self.stop();
    }
}

/// Why a line could not be written to a process's stdin.
#[derive(Debug, thiserror::Error)]
enum WriteError {
    #[error("its stdin is closed")]
    Closed,
    #[error("its stdin accepts no more bytes")]
    Full,
    /// It did not read for `timeout_ms`: it hangs.
    #[error("did not read its stdin for {ms} ms (timeout_ms)")]
    Stalled { ms: u128 },
    #[error("{}", interrupted_text(.0))]
    Interrupted(&'static str),
    /// The pipe broke: the process ended (how, when it is known).
    #[error("cannot write to its stdin ({source}): it ended ({ended})")]
    Ended {
        #[source]
        source: std::io::Error,
        ended: String,
    },
}

impl Shared {
    /// Writes one whole line to stdin, giving up at `deadline`.
    fn write(&self, line: &[u8], deadline: Instant, timeout: Duration) -> Result<(), WriteError> {
        let mut guard = lock(&self.stdin);
        let Some(stdin) = guard.as_mut() else {
            return Err(WriteError::Closed);
        };
        let fd = stdin.as_raw_fd();
        let mut rest = line;
        while !rest.is_empty() {
            match stdin.write(rest) {
                Ok(0) => return Err(WriteError::Full),
                Ok(n) => rest = &rest[n..],
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        lock(&self.state).hung = true;
                        return Err(WriteError::Stalled {
                            ms: timeout.as_millis(),
                        });
                    }
                    if self.cancel.is_cancelled() {
                        return Err(WriteError::Interrupted(self.cancel.cause()));
                    }
                    wait_fd(fd, libc::POLLOUT, left.min(POLL_SLICE));
                }
                Err(source) => {
                    drop(guard);
                    return Err(WriteError::Ended {
                        source,
                        ended: self.ended(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Waits for answer `id`: as the reader when nobody else is reading,
    /// otherwise on `rx` for the reader to route it (or to hand over the role).
    fn await_answer(
        &self,
        id: u64,
        rx: &mpsc::Receiver<Delivery>,
        deadline: Instant,
        timeout: Duration,
    ) -> Result<Vec<u8>, CallError> {
        loop {
            // Delivered already (or the process failed)?
            match rx.try_recv() {
                Ok(Delivery::Line(line)) => return Ok(line),
                Ok(Delivery::Failed(fault, why)) => return Err(CallError::Failed(fault, why)),
                Ok(Delivery::Lead) | Err(_) => {}
            }
            if let Ok(mut reader) = self.stdout.try_lock() {
                let outcome = self.read_until_own(&mut reader, id, deadline, timeout);
                drop(reader);
                // Fail first (which empties `pending`), so that nobody is
                // handed the role of reading from a failed process.
                let outcome = outcome.map_err(|(fault, why)| self.fail(fault, why));
                self.hand_over(id);
                match outcome {
                    Ok(Some(line)) => return Ok(line),
                    Ok(None) => continue,
                    Err((fault, first)) => return Err(CallError::Failed(fault, first)),
                }
            }
            match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(Delivery::Line(line)) => return Ok(line),
                Ok(Delivery::Failed(fault, why)) => return Err(CallError::Failed(fault, why)),
                Ok(Delivery::Lead) => continue,
                Err(RecvTimeoutError::Timeout) => {
                    let mut st = lock(&self.state);
                    if st.pending.remove(&id).is_some() {
                        st.hung = true;
                        drop(st);
                        let why = format!("no answer within {} ms (timeout_ms)", timeout.as_millis());
                        let (fault, why) = self.fail(Fault::Timeout, why);
                        return Err(CallError::Failed(fault, why));
                    }
                    drop(st);
                    // Routed (or failed) just as the time ran out: the
                    // delivery is being sent.
                    return match rx.recv_timeout(STDERR_SETTLE) {
                        Ok(Delivery::Line(line)) => Ok(line),
                        Ok(Delivery::Failed(fault, why)) => Err(CallError::Failed(fault, why)),
                        _ => {
                            let (fault, why) = self.fail(Fault::Protocol, "lost track of a request".into());
                            Err(CallError::Failed(fault, why))
                        }
                    };
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let (fault, why) = self.fail(Fault::Protocol, "lost track of a request".into());
                    return Err(CallError::Failed(fault, why));
                }
            }
        }
    }

    /// As the reader: reads lines, routing other requests' answers, until
    /// `id`'s own arrives (`Some`), or it turns out another reader delivered
    /// it already (`None`). `Err` is a failure of the process.
    fn read_until_own(
        &self,
        reader: &mut LineReader,
        id: u64,
        deadline: Instant,
        timeout: Duration,
    ) -> Result<Option<Vec<u8>>, (Fault, String)> {
        loop {
            if !lock(&self.state).pending.contains_key(&id) {
                return Ok(None);
            }
            let line = match reader.next_line(deadline, &self.cancel) {
                Ok(line) => line,
                Err(ReadError::Timeout) => {
                    let mut st = lock(&self.state);
                    if st.pending.remove(&id).is_none() {
                        return Ok(None);
                    }
                    st.hung = true;
                    return Err((
                        Fault::Timeout,
                        format!("no answer within {} ms (timeout_ms)", timeout.as_millis()),
                    ));
                }
                Err(ReadError::Eof) => {
                    return Err((Fault::Exit, format!("ended or closed its stdout ({})", self.ended())))
                }
                Err(e) => return Err((Fault::Protocol, e.to_string())),
            };
            let got = protocol::answer_id(&line).map_err(|e| (Fault::Protocol, e.to_string()))?;
            let Some(tx) = lock(&self.state).pending.remove(&got) else {
                return Err((
                    Fault::Protocol,
                    format!(
                        "answered id {got}, which is not an outstanding request: {}",
                        protocol::excerpt(&line)
                    ),
                ));
            };
            if got == id {
                return Ok(Some(line));
            }
            let _ = tx.send(Delivery::Line(line));
        }
    }

    /// After leaving the reader role: asks one thread still waiting (not `me`) to take it.
    fn hand_over(&self, me: u64) {
        let st = lock(&self.state);
        if let Some((_, tx)) = st.pending.iter().find(|(&id, _)| id != me) {
            let _ = tx.send(Delivery::Lead);
        }
    }

    /// Records the first failure, fails every outstanding request, kills the
    /// process group and reaps the process. Returns the first failure's kind
    /// and reason.
    fn fail(&self, fault: Fault, why: String) -> (Fault, String) {
        let (pending, first) = {
            let mut st = lock(&self.state);
            let first = st.death.get_or_insert((fault, why)).clone();
            (std::mem::take(&mut st.pending), first)
        };
        for (_, tx) in pending {
            let _ = tx.send(Delivery::Failed(
                first.0,
                format!("failed while this request was outstanding: {}", first.1),
            ));
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

    /// The process's exit status, after killing and reaping it if needed.
    fn ended(&self) -> String {
        self.reap()
            .map_or_else(|| "exit status unknown".to_string(), |s| s.to_string())
    }

    /// Whether the process has exited, without reaping it (so that its
    /// process group can still be killed safely).
    fn exited(&self) -> bool {
        let slot = lock(&self.child);
        let Some(child) = slot.child.as_ref() else {
            return true;
        };
        // We hold the child's slot, so nobody reaps it meanwhile.
        exited_unreaped(child.id())
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

/// Why no line could be read.
#[derive(Debug)]
enum ReadError {
    Eof,
    Timeout,
    TooLong,
    /// The harness's work was cancelled, by this cause.
    Interrupted(&'static str),
    Io(std::io::Error),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Eof => write!(f, "closed its stdout"),
            ReadError::Timeout => write!(f, "timed out"),
            ReadError::TooLong => write!(f, "wrote a line longer than {MAX_LINE} bytes"),
            ReadError::Interrupted(cause) => f.write_str(&interrupted_text(cause)),
            ReadError::Io(e) => write!(f, "cannot read its stdout: {e}"),
        }
    }
}

/// Lines from a non-blocking pipe, each read with a deadline.
struct LineReader {
    pipe: ChildStdout,
    /// The process writing it: when it has exited, a pipe that stays open
    /// (a child of its own holds it) will bring no answer, and the wait ends
    /// as an exit, not as a hang after `timeout_ms`.
    pid: u32,
    /// The process had exited at an earlier read that found nothing.
    gone: bool,
    buf: Vec<u8>,
    /// `buf[..scanned]` holds no newline.
    scanned: usize,
}

impl LineReader {
    fn new(pipe: ChildStdout, pid: u32) -> LineReader {
        LineReader {
            pipe,
            pid,
            gone: false,
            buf: Vec::with_capacity(16 * 1024),
            scanned: 0,
        }
    }

    /// The next line, newline included (a last line without one at end of
    /// input counts too), waiting until `deadline` or until `cancel` is cancelled.
    fn next_line(&mut self, deadline: Instant, cancel: &Cancel) -> Result<Vec<u8>, ReadError> {
        loop {
            if let Some(pos) = self.buf[self.scanned..].iter().position(|&b| b == b'\n') {
                let rest = self.buf.split_off(self.scanned + pos + 1);
                self.scanned = 0;
                return Ok(std::mem::replace(&mut self.buf, rest));
            }
            self.scanned = self.buf.len();
            if self.buf.len() > MAX_LINE {
                return Err(ReadError::TooLong);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(ReadError::Timeout);
            }
            if cancel.is_cancelled() {
                return Err(ReadError::Interrupted(cancel.cause()));
            }
            wait_fd(self.pipe.as_raw_fd(), libc::POLLIN, left.min(POLL_SLICE));
            let len = self.buf.len();
            self.buf.resize(len + 16 * 1024, 0);
            let r = self.pipe.read(&mut self.buf[len..]);
            self.buf.truncate(len + *r.as_ref().unwrap_or(&0));
            match r {
                Ok(0) if self.buf.is_empty() => return Err(ReadError::Eof),
                Ok(0) => {
                    self.scanned = 0;
                    return Ok(std::mem::take(&mut self.buf));
                }
                Ok(_) => {}
                // Nothing to read, and the process was already gone at the
                // read before: everything it wrote before it exited has been
                // read (seen gone once, it is read once more, since it may
                // have written between that read and its exit).
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && self.gone => {
                    if self.buf.is_empty() {
                        return Err(ReadError::Eof);
                    }
                    self.scanned = 0;
                    return Ok(std::mem::take(&mut self.buf));
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && exited_unreaped(self.pid) => {
                    self.gone = true;
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => return Err(ReadError::Io(e)),
            }
        }
    }
}

/// The collector thread: keeps the last [`STDERR_LINES`] lines of stderr.
fn collect_stderr(shared: &Shared, stderr: ChildStderr) {
    keep_last_lines(stderr, &shared.stderr.inner, |inner| &mut inner.0);
    lock(&shared.stderr.inner).1 = true;
    shared.stderr.eof.notify_all();
}

/// Reads `pipe` to its end, keeping its last [`STDERR_LINES`] non-blank
/// lines (each made one line of at most 300 characters) in the ring that
/// `ring` finds inside `state`: a process's output kept for error messages.
pub(crate) fn keep_last_lines<S>(pipe: impl Read, state: &Mutex<S>, ring: impl Fn(&mut S) -> &mut VecDeque<String>) {
    let mut r = BufReader::new(pipe);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match r.by_ref().take(64 * 1024).read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let line = protocol::one_line(&String::from_utf8_lossy(&buf), STDERR_LINE_CHARS);
        if line.trim().is_empty() {
            continue;
        }
        let mut guard = lock(state);
        let lines = ring(&mut guard);
        if lines.len() == STDERR_LINES {
            lines.pop_front();
        }
        lines.push_back(line);
    }
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

/// Waits until `fd` is ready for `events` (or broken), at most `wait`.
fn wait_fd(fd: RawFd, events: libc::c_short, wait: Duration) {
    let mut p = libc::pollfd { fd, events, revents: 0 };
    let ms = wait.as_micros().div_ceil(1000).clamp(1, i32::MAX as u128) as i32;
    // SAFETY: one valid pollfd, count 1. The result is not needed: the next
    // read or write says whether the pipe is ready, broken or still not ready.
    unsafe {
        libc::poll(&mut p, 1, ms);
    }
}
