//! The worker pool both load models share: workers take the next request of
//! one stream through an atomic cursor, wait for its scheduled start when
//! there is a schedule, and time the engine's answer on a monotonic clock.
//! Every request of the stream runs (the same work for every engine of a
//! round), unless the run is interrupted.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use audit_engines::{Engine, Query};

use super::{call, interrupted, open, Request, Trial};

/// Runs one trial of `stream` on `workers` workers. With `schedule`, request
/// `i` is due `schedule[i]` ns after the start (open loop); without, each
/// worker starts its next request at once (closed loop).
pub fn drive(engine: &dyn Engine, stream: &[Query], workers: u32, schedule: Option<&[u64]>) -> Trial {
    let next = AtomicU64::new(0);
    let first_error = Mutex::new(None);
    let t0 = Instant::now();
    let mut requests: Vec<Request> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut done = Vec::with_capacity(stream.len() / workers as usize + 1);
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                        if i >= stream.len() || interrupted() {
                            break;
                        }
                        let intended = schedule.map(|s| s[i]);
                        if let Some(at) = intended {
                            open::wait_until(t0, at);
                        }
                        let start = Instant::now();
                        let answer = call(engine, &stream[i]);
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
        handles.into_iter().flat_map(|w| w.join().unwrap_or_default()).collect()
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
