//! The worker pool both load models share: workers take the next request of
//! one stream through an atomic cursor, wait for its scheduled start when
//! there is a schedule, and time the engine's answer on a monotonic clock.
//! A slice ends when its stream is done (a closed-loop slice is handed the
//! count it sends, see `quota`), when the schedule reaches the slice's end
//! (open loop: no request scheduled at or after `until` starts; the ones
//! before it are sent however late), or when the run is interrupted. Whether
//! a request is sent never depends on how fast the ones before it were.
//!
//! The workers are started once per benchmark ([`Pool`]) and handed one slice
//! after another: a benchmark runs thousands of short slices, and a thread
//! started for each would bring its own cold stack and allocator arena into
//! every slice's first requests.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Barrier, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use audit_engines::{Query, SharedEngine};

use super::{call, interrupted, CallError, Request, Trial, HANG_AFTER};

/// What the workers of one slice share.
struct Job {
    engine: SharedEngine,
    stream: Arc<[Query]>,
    schedule: Option<Arc<[u64]>>,
    until_ns: Option<u64>,
    /// Every worker and the pool's caller meet here; the clock starts after it.
    start: Barrier,
    t0: std::sync::OnceLock<Instant>,
    next: AtomicU64,
    first_error: Mutex<Option<String>>,
    gave_up: AtomicBool,
    /// Nanoseconds since t0 of the last answer, for the hang check.
    progress: AtomicU64,
}

/// Workers that run slice after slice on any engine.
pub struct Pool {
    jobs: Vec<Sender<Arc<Job>>>,
    results: Receiver<Vec<Request>>,
    handles: Vec<JoinHandle<()>>,
}

impl Pool {
    /// Starts `workers` workers (at least one).
    pub fn new(workers: u32) -> Pool {
        let (done_tx, results) = channel();
        let mut jobs = Vec::new();
        let mut handles = Vec::new();
        for w in 0..workers.max(1) {
            let (tx, rx) = channel::<Arc<Job>>();
            let done = done_tx.clone();
            jobs.push(tx);
            handles.push(std::thread::spawn(move || {
                while let Ok(job) = rx.recv() {
                    let out = work(&job, w);
                    if done.send(out).is_err() {
                        return;
                    }
                }
            }));
        }
        Pool { jobs, results, handles }
    }

    pub fn workers(&self) -> u32 {
        self.jobs.len() as u32
    }

    /// Runs one slice of `stream` on every worker. With `schedule`, request
    /// `i` is due `schedule[i]` ns after the start (open loop); without, each
    /// worker starts its next request at once (closed loop). With `until`
    /// (open loop), no request scheduled at or after it starts. Requests carry their
    /// position in `stream` as `seq` and the worker that sent them.
    pub fn drive(
        &self,
        engine: &SharedEngine,
        stream: &[Query],
        schedule: Option<&[u64]>,
        until: Option<Duration>,
    ) -> Trial {
        let n = self.jobs.len();
        let job = Arc::new(Job {
            engine: engine.clone(),
            stream: stream.into(),
            schedule: schedule.map(Into::into),
            until_ns: until.map(|d| d.as_nanos() as u64),
            start: Barrier::new(n + 1),
            t0: std::sync::OnceLock::new(),
            next: AtomicU64::new(0),
            first_error: Mutex::new(None),
            gave_up: AtomicBool::new(false),
            progress: AtomicU64::new(0),
        });
        for tx in &self.jobs {
            // A worker that is gone (it panicked) sends nothing back: counted below.
            let _ = tx.send(job.clone());
        }
        job.start.wait();
        // The clock starts once every worker is ready (whoever passes first).
        let t0 = *job.t0.get_or_init(Instant::now);
        let mut requests: Vec<Request> = Vec::with_capacity(stream.len());
        let mut got = 0;
        while got < n {
            match self.results.recv_timeout(Duration::from_millis(50)) {
                Ok(mut part) => {
                    requests.append(&mut part);
                    got += 1;
                }
                Err(RecvTimeoutError::Timeout) => hang_check(engine.name(), t0, &job.progress),
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        requests.sort_unstable_by_key(|r| r.seq);
        // The queries are filled in after the clock stops: cloning them is not the engine's time.
        for r in &mut requests {
            r.query = stream[r.seq as usize].clone();
        }
        Trial {
            index: 0,
            requests,
            first_error: job.first_error.lock().map(|e| e.clone()).unwrap_or_default(),
            warmup_errors: 0,
            gave_up: job.gave_up.load(Ordering::Relaxed),
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.jobs.clear();
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
    }
}

/// One worker's share of a slice.
fn work(job: &Job, w: u32) -> Vec<Request> {
    job.start.wait();
    let t0 = *job.t0.get_or_init(Instant::now);
    let stream = &job.stream;
    let mut done = Vec::new();
    loop {
        let i = job.next.fetch_add(1, Ordering::Relaxed) as usize;
        if i >= stream.len() || interrupted() || job.gave_up.load(Ordering::Relaxed) {
            break;
        }
        let intended = job.schedule.as_ref().map(|s| s[i]);
        if let Some(at) = intended {
            // No request starts after the slice's end (the schedule only
            // rises, so the next slice goes on from this request).
            if job.until_ns.is_some_and(|u| at >= u) {
                break;
            }
            wait_until(t0, at);
        }
        let start = Instant::now();
        let answer = call(job.engine.as_ref(), &stream[i]);
        let end = Instant::now();
        job.progress
            .store(end.duration_since(t0).as_nanos() as u64, Ordering::Relaxed);
        let rows = match answer {
            Ok(n) => Some(n),
            Err(e) => {
                if matches!(e, CallError::GaveUp(_)) {
                    job.gave_up.store(true, Ordering::Relaxed);
                }
                if let Ok(mut f) = job.first_error.lock() {
                    f.get_or_insert(e.message());
                }
                None
            }
        };
        done.push(Request {
            seq: i as u64,
            query: Query::default(),
            rows,
            start_ns: start.duration_since(t0).as_nanos() as u64,
            latency_ns: end.duration_since(start).as_nanos() as u64,
            intended_ns: intended,
            slice: 0,
            worker: w,
        });
    }
    done
}

/// One slice on a pool of its own (for one-off measurements outside a benchmark).
pub fn drive(
    engine: &SharedEngine,
    stream: &[Query],
    workers: u32,
    schedule: Option<&[u64]>,
    until: Option<Duration>,
) -> Trial {
    Pool::new(workers).drive(engine, stream, schedule, until)
}

/// Sleeps until `at_ns` after `t0`, then spins the last stretch (sleep alone is too coarse).
fn wait_until(t0: Instant, at_ns: u64) {
    let target = t0 + Duration::from_nanos(at_ns);
    loop {
        let now = Instant::now();
        if now >= target {
            return;
        }
        let left = target - now;
        if left > Duration::from_micros(200) {
            std::thread::sleep(left - Duration::from_micros(100));
        } else {
            std::hint::spin_loop();
        }
    }
}

/// Ends the harness when a slice's engine has answered nothing for
/// [`HANG_AFTER`]: a built-in engine's threads cannot be cancelled, and
/// waiting for them would hang the gate. (Process engines time out on their own first.)
fn hang_check(engine: &str, t0: Instant, progress: &AtomicU64) {
    let last = Duration::from_nanos(progress.load(Ordering::Relaxed));
    if t0.elapsed().saturating_sub(last) > HANG_AFTER {
        // The one line of terminal text outside `output`: the harness ends here.
        let e = crate::error::HarnessError::failed(format!(
            "engine {engine} answered nothing for {} s: it hangs; the benchmark cannot stop its threads and gives up (the report files written so far are whole; run.json says complete: false)",
            HANG_AFTER.as_secs()
        ));
        eprintln!("audit-harness: {e}");
        std::process::exit(1);
    }
}
