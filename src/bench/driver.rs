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

use super::{call, CallError, Trial, HANG_AFTER};
use crate::cancel::Cancel;
use crate::measured::Request;

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
    /// Each worker's call in flight: its request's `seq` ([`IDLE`] between
    /// calls) and start (ns since t0), so that a request an engine hangs on
    /// is recorded as an error when the slice gives up on it.
    in_call: Vec<(AtomicU64, AtomicU64)>,
    /// No request starts once it is cancelled.
    cancel: Cancel,
}

/// A worker's `in_call` slot between calls.
const IDLE: u64 = u64::MAX;

/// Workers that run slice after slice on any engine. A slice whose engine
/// answers nothing for [`HANG_AFTER`] ends as given up (a built-in engine's
/// threads cannot be cancelled): its stuck workers are abandoned to the
/// engine and the pool starts fresh ones, so the run goes on with the other
/// engines and ends like any other run.
pub struct Pool {
    workers: Mutex<Workers>,
    count: u32,
    hang_after: Duration,
    cancel: Cancel,
}

/// One generation of workers and the channel their results come back on.
struct Workers {
    jobs: Vec<Sender<Arc<Job>>>,
    results: Receiver<Vec<Request>>,
    handles: Vec<JoinHandle<()>>,
}

impl Workers {
    fn start(count: u32) -> Workers {
        let (done_tx, results) = channel();
        let mut jobs = Vec::new();
        let mut handles = Vec::new();
        for w in 0..count {
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
        Workers { jobs, results, handles }
    }

    /// Lets the workers go without waiting for them (one is stuck in an
    /// engine call): each ends when its call returns, if ever.
    fn abandon(mut self) {
        self.jobs.clear();
        self.handles.clear();
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.jobs.clear();
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
    }
}

impl Pool {
    /// Starts `workers` workers (at least one); a slice stops sending
    /// requests once `cancel` is cancelled.
    pub fn new(workers: u32, cancel: &Cancel) -> Pool {
        Pool::with_hang_after(workers, HANG_AFTER, cancel)
    }

    /// The same, giving up on an engine that answers nothing for `hang_after`.
    pub fn with_hang_after(workers: u32, hang_after: Duration, cancel: &Cancel) -> Pool {
        let count = workers.max(1);
        Pool {
            workers: Mutex::new(Workers::start(count)),
            count,
            hang_after,
            cancel: cancel.clone(),
        }
    }

    pub fn workers(&self) -> u32 {
        self.count
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
        let mut workers = crate::sync::lock(&self.workers);
        let n = workers.jobs.len();
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
            in_call: (0..n).map(|_| (AtomicU64::new(IDLE), AtomicU64::new(0))).collect(),
            cancel: self.cancel.clone(),
        });
        for tx in &workers.jobs {
            // A worker that is gone (it panicked) sends nothing back: counted below.
            let _ = tx.send(job.clone());
        }
        job.start.wait();
        // The clock starts once every worker is ready (whoever passes first).
        let t0 = *job.t0.get_or_init(Instant::now);
        let mut requests: Vec<Request> = Vec::with_capacity(stream.len());
        let mut got = 0;
        let mut hung: Option<Instant> = None;
        while got < n {
            match workers.results.recv_timeout(Duration::from_millis(50)) {
                Ok(mut part) => {
                    requests.append(&mut part);
                    got += 1;
                }
                Err(RecvTimeoutError::Timeout) => match hung {
                    // The workers that are not stuck stop at their next
                    // request; what they sent is kept, the rest abandoned.
                    Some(at) if at.elapsed() > Duration::from_secs(1) => break,
                    Some(_) => {}
                    None if stalled(t0, &job.progress, self.hang_after) => {
                        job.gave_up.store(true, Ordering::Relaxed);
                        if let Ok(mut f) = job.first_error.lock() {
                            *f = Some(format!(
                                "answered nothing for {} s: it hangs, and its calls cannot be cancelled; the benchmark gave up on it",
                                self.hang_after.as_secs_f64()
                            ));
                        }
                        hung = Some(Instant::now());
                    }
                    None => {}
                },
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        if let Some(at) = hung.filter(|_| got < n) {
            // The requests the stuck workers are in: unanswered, so errors
            // (a hang is one), lasting until the slice gave up on them.
            let gave_up_ns = at.duration_since(t0).as_nanos() as u64;
            for (w, (seq, start_ns)) in job.in_call.iter().enumerate() {
                let (seq, start_ns) = (seq.load(Ordering::Relaxed), start_ns.load(Ordering::Relaxed));
                if seq != IDLE {
                    requests.push(Request {
                        seq,
                        query: Query::default(),
                        rows: None,
                        start_ns,
                        latency_ns: gave_up_ns.saturating_sub(start_ns),
                        intended_ns: job.schedule.as_ref().map(|s| s[seq as usize]),
                        slice: 0,
                        worker: w as u32,
                    });
                }
            }
            let stuck = std::mem::replace(&mut *workers, Workers::start(self.count));
            stuck.abandon();
        }
        drop(workers);
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

/// One worker's share of a slice.
fn work(job: &Job, w: u32) -> Vec<Request> {
    job.start.wait();
    let t0 = *job.t0.get_or_init(Instant::now);
    let stream = &job.stream;
    let mut done = Vec::new();
    loop {
        let i = job.next.fetch_add(1, Ordering::Relaxed) as usize;
        if i >= stream.len() || job.cancel.is_cancelled() || job.gave_up.load(Ordering::Relaxed) {
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
        let slot = &job.in_call[w as usize];
        slot.1
            .store(start.duration_since(t0).as_nanos() as u64, Ordering::Relaxed);
        slot.0.store(i as u64, Ordering::Relaxed);
        let answer = call(job.engine.as_ref(), &stream[i]);
        slot.0.store(IDLE, Ordering::Relaxed);
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
    cancel: &Cancel,
) -> Trial {
    Pool::new(workers, cancel).drive(engine, stream, schedule, until)
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

/// Whether a slice's engine has answered nothing for `hang_after`.
fn stalled(t0: Instant, progress: &AtomicU64, hang_after: Duration) -> bool {
    let last = Duration::from_nanos(progress.load(Ordering::Relaxed));
    t0.elapsed().saturating_sub(last) > hang_after
}

#[cfg(test)]
mod tests {
    use super::*;
    use audit_engines::{Engine, EngineError, Page};

    /// Answers at once, except that its `hang_at`th call never returns.
    struct Hangs {
        calls: AtomicU64,
        hang_at: u64,
    }

    impl Engine for Hangs {
        fn name(&self) -> &str {
            "hangs"
        }

        fn query(&self, _q: &Query) -> Result<Page, EngineError> {
            if self.calls.fetch_add(1, Ordering::Relaxed) + 1 == self.hang_at {
                std::thread::sleep(Duration::from_secs(3600));
            }
            Ok(Page::new(Vec::new()))
        }
    }

    /// A hung built-in engine ends its slice as given up with what it did
    /// answer and the request it hangs on as an error, and the pool goes on
    /// with fresh workers (it used to end the whole harness with exit 1 from
    /// inside the driver).
    #[test]
    fn a_hung_engine_is_given_up_and_the_pool_goes_on() {
        let pool = Pool::with_hang_after(2, Duration::from_millis(300), &Cancel::new());
        let hangs: SharedEngine = Arc::new(Hangs {
            calls: AtomicU64::new(0),
            hang_at: 5,
        });
        let stream = vec![Query::default(); 50];
        let t = pool.drive(&hangs, &stream, None, None);
        assert!(t.gave_up);
        assert!(
            t.first_error
                .as_deref()
                .unwrap_or("")
                .contains("answered nothing for 0.3 s"),
            "{t:?}"
        );
        assert!(t.requests.len() >= 4 && t.requests.len() < 50, "{}", t.requests.len());
        // The request it hangs on is on record as an error (a hang is one), lasting until the give-up.
        let hung: Vec<_> = t.requests.iter().filter(|r| r.rows.is_none()).collect();
        assert_eq!(hung.len(), 1, "{t:?}");
        assert!(hung[0].latency_ns >= 300_000_000, "{:?}", hung[0]);
        let fine: SharedEngine = Arc::new(Hangs {
            calls: AtomicU64::new(0),
            hang_at: u64::MAX,
        });
        let t = pool.drive(&fine, &stream, None, None);
        assert!(!t.gave_up && t.first_error.is_none());
        assert_eq!(t.requests.len(), 50);
        assert_eq!(pool.workers(), 2);
        // Dropping the pool does not wait for the stuck thread.
        drop(pool);
    }

    /// An engine that cancels the run's token at its `at`-th call.
    struct CancelsAt {
        calls: AtomicU64,
        at: u64,
        cancel: Cancel,
    }

    impl Engine for CancelsAt {
        fn name(&self) -> &str {
            "cancels"
        }

        fn query(&self, _q: &Query) -> Result<Page, EngineError> {
            if self.calls.fetch_add(1, Ordering::Relaxed) + 1 == self.at {
                self.cancel.cancel();
            }
            Ok(Page::new(Vec::new()))
        }
    }

    /// The pool's token stops a slice at the next request: the requests sent
    /// before are kept, no later one starts, and a pool with another token
    /// is not stopped by it.
    #[test]
    fn a_cancelled_token_stops_the_slice_at_the_next_request() {
        let cancel = Cancel::new();
        let pool = Pool::new(1, &cancel);
        let engine: SharedEngine = Arc::new(CancelsAt {
            calls: AtomicU64::new(0),
            at: 7,
            cancel: cancel.clone(),
        });
        let stream = vec![Query::default(); 500];
        let t = pool.drive(&engine, &stream, None, None);
        assert_eq!(t.requests.len(), 7, "one worker stops after the call that cancelled");
        assert!(!t.gave_up && t.first_error.is_none());
        let t = Pool::new(1, &Cancel::new()).drive(&engine, &stream, None, None);
        assert_eq!(t.requests.len(), 500);
    }
}
