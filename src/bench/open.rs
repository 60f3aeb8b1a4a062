//! The open loop: requests scheduled at a fixed arrival rate whatever the
//! engine does. Each request's latency counts from its intended start, so an
//! engine that stalls is charged for the queue it built (no coordinated
//! omission); its service time is recorded as well.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use audit_engines::{Engine, Query};

use super::{call, interrupted, Plan, Request, Trial};

/// A request is late when it starts more than this after its intended start.
pub const LATE_AFTER_NS: u64 = 1_000_000;

/// More than this fraction of late requests means the engine could not sustain the rate.
pub const SATURATED_FRACTION: f64 = 0.01;

/// One measured trial at `rps` arrivals per second, served by `plan.concurrency` workers.
pub fn run(engine: &dyn Engine, stream: &[Query], plan: &Plan, rps: f64) -> Trial {
    let interval_ns = 1e9 / rps;
    let next = AtomicU64::new(0);
    let first_error = Mutex::new(None);
    let t0 = Instant::now();
    let mut requests: Vec<Request> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..plan.concurrency)
            .map(|_| {
                s.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let intended = (i as f64 * interval_ns) as u64;
                        if i as usize >= stream.len() || !plan.wants_more(i, intended as f64 / 1e9) || interrupted() {
                            break;
                        }
                        wait_until(t0, intended);
                        let q = &stream[i as usize];
                        let start = Instant::now();
                        let answer = call(engine, q);
                        let end = Instant::now();
                        let rows = match answer {
                            Ok(n) => Some(n),
                            Err(e) => {
                                if let Ok(mut f) = first_error.lock() {
                                    f.get_or_insert(e);
                                }
                                None
                            }
                        };
                        done.push(Request {
                            seq: i,
                            query: Query::default(),
                            rows,
                            start_ns: start.duration_since(t0).as_nanos() as u64,
                            latency_ns: end.duration_since(start).as_nanos() as u64,
                            intended_ns: Some(intended),
                        });
                    }
                    done
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap_or_default()).collect()
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

/// Requests that started more than [`LATE_AFTER_NS`] after their intended start.
pub fn late(requests: &[Request]) -> u64 {
    requests
        .iter()
        .filter(|r| r.intended_ns.is_some_and(|i| r.start_ns > i + LATE_AFTER_NS))
        .count() as u64
}
