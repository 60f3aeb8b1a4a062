//! The closed loop, as the service's own runner does it: warm-up requests one
//! after another, then a fixed number of workers pulling requests from one
//! shared stream, each request timed on its own.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use audit_engines::{Engine, Query};

use super::{call, interrupted, Plan, Request, Trial};

/// Runs the warm-up requests one after another; returns the error count and the first error.
pub fn warm_up(engine: &dyn Engine, warmup: &[Query]) -> (u64, Option<String>) {
    let mut errors = 0;
    let mut first = None;
    for q in warmup {
        if let Err(e) = call(engine, q) {
            errors += 1;
            first.get_or_insert(e);
        }
    }
    (errors, first)
}

/// One measured trial: `plan.concurrency` workers share `stream` through one
/// atomic cursor until [`Plan::wants_more`] says stop.
pub fn run(engine: &dyn Engine, stream: &[Query], plan: &Plan) -> Trial {
    let next = AtomicU64::new(0);
    let first_error = Mutex::new(None);
    let t0 = Instant::now();
    let mut requests: Vec<Request> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..plan.concurrency)
            .map(|_| {
                s.spawn(|| {
                    let mut done = Vec::with_capacity(stream.len() / plan.concurrency as usize + 1);
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i as usize >= stream.len()
                            || !plan.wants_more(i, t0.elapsed().as_secs_f64())
                            || interrupted()
                        {
                            break;
                        }
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
                            intended_ns: None,
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
