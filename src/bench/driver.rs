//! The worker pool both load models share: workers take the next request of
//! one stream through an atomic cursor, wait for its scheduled start when
//! there is a schedule, and time the engine's answer on a monotonic clock.
//! Every request of the stream runs (the same work for every engine of a
//! round), unless the run is interrupted.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use audit_engines::{Engine, Query};

use super::{call, interrupted, CallError, Request, Trial, HANG_AFTER};

/// Runs one trial of `stream` on `workers` workers. With `schedule`, request
/// `i` is due `schedule[i]` ns after the start (open loop); without, each
/// worker starts its next request at once (closed loop).
pub fn drive(engine: &dyn Engine, stream: &[Query], workers: u32, schedule: Option<&[u64]>) -> Trial {
    let next = AtomicU64::new(0);
    let first_error = Mutex::new(None);
    let gave_up = AtomicBool::new(false);
    // Nanoseconds since t0 of the last answer (or start), for the watchdog.
    let progress = AtomicU64::new(0);
    let running = AtomicBool::new(true);
    let t0 = Instant::now();
    let mut requests: Vec<Request> = std::thread::scope(|s| {
        s.spawn(|| watchdog(engine.name(), t0, &progress, &running));
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut done = Vec::with_capacity(stream.len() / workers as usize + 1);
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                        if i >= stream.len() || interrupted() || gave_up.load(Ordering::Relaxed) {
                            break;
                        }
                        let intended = schedule.map(|s| s[i]);
                        if let Some(at) = intended {
                            wait_until(t0, at);
                        }
                        let start = Instant::now();
                        let answer = call(engine, &stream[i]);
                        let end = Instant::now();
                        progress.store(end.duration_since(t0).as_nanos() as u64, Ordering::Relaxed);
                        let rows = match answer {
                            Ok(n) => Some(n),
                            Err(e) => {
                                if matches!(e, CallError::GaveUp(_)) {
                                    gave_up.store(true, Ordering::Relaxed);
                                }
                                if let Ok(mut f) = first_error.lock() {
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
                        });
                    }
                    done
                })
            })
            .collect();
        let done = handles.into_iter().flat_map(|w| w.join().unwrap_or_default()).collect();
        running.store(false, Ordering::Relaxed);
        done
    });
    requests.sort_unstable_by_key(|r| r.seq);
    // The queries are filled in after the clock stops: cloning them is not the engine's time.
    for r in &mut requests {
        r.query = stream[r.seq as usize].clone();
    }
    Trial {
        index: 0,
        requests,
        first_error: first_error.into_inner().unwrap_or_default(),
        warmup_errors: 0,
        gave_up: gave_up.into_inner(),
    }
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

/// Ends the harness when a trial's engine answers nothing for [`HANG_AFTER`]:
/// a built-in engine's threads cannot be cancelled, and waiting for them would
/// hang the gate. (Process engines time out on their own first.)
fn watchdog(engine: &str, t0: Instant, progress: &AtomicU64, running: &AtomicBool) {
    while running.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(50));
        let last = Duration::from_nanos(progress.load(Ordering::Relaxed));
        if t0.elapsed().saturating_sub(last) > HANG_AFTER {
            // The one line of terminal text outside `output`: this thread ends the process.
            let e = crate::error::HarnessError::failed(format!(
                "engine {engine} answered nothing for {} s: it hangs; the benchmark cannot stop its threads and gives up (the report files written so far are whole; run.json says complete: false)",
                HANG_AFTER.as_secs()
            ));
            eprintln!("audit-harness: {e}");
            std::process::exit(1);
        }
    }
}
