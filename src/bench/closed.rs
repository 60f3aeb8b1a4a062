//! The closed loop, as the service's own runner does it: warm-up requests one
//! after another, then a fixed number of workers pulling requests from one
//! shared stream, each request timed on its own.

use audit_engines::{Engine, Query, SharedEngine};

use super::{call, CallError, Trial};
use crate::cancel::Cancel;

/// Runs the warm-up requests one after another; returns the error count, the
/// first error, and whether the engine hung or died (the warm-up then stops).
pub fn warm_up(engine: &dyn Engine, warmup: &[Query]) -> (u64, Option<String>, bool) {
    let mut errors = 0;
    let mut first = None;
    for q in warmup {
        match call(engine, q) {
            Ok(_) => {}
            Err(e @ CallError::GaveUp(_)) => {
                first.get_or_insert(e.message());
                return (errors + 1, first, true);
            }
            Err(e) => {
                errors += 1;
                first.get_or_insert(e.message());
            }
        }
    }
    (errors, first, false)
}

/// One measured slice: `workers` workers share `stream` through one atomic
/// cursor until every request of it is answered, or `cancel` is cancelled.
pub fn run(engine: &SharedEngine, stream: &[Query], workers: u32, cancel: &Cancel) -> Trial {
    super::driver::drive(engine, stream, workers, None, None, cancel)
}
