//! The open loop: requests scheduled at a fixed arrival rate whatever the
//! engine does. Each request's latency counts from its intended start, so an
//! engine that stalls is charged for the queue it built (no coordinated
//! omission); its service time is recorded as well.

use audit_engines::{Query, SharedEngine};

use super::Trial;
use crate::cancel::Cancel;
use crate::measured::Request;

/// A request is late when it starts more than this after its intended start.
pub const LATE_AFTER_NS: u64 = 1_000_000;

/// More than this fraction of late requests means the engine could not sustain the rate.
pub const SATURATED_FRACTION: f64 = 0.01;

/// One measured slice: request `i` due `schedule[i]` ns after the start,
/// served by `workers` workers; with `until`, no request scheduled at or
/// after it starts, nor any once `cancel` is cancelled.
pub fn run(
    engine: &SharedEngine,
    stream: &[Query],
    workers: u32,
    schedule: &[u64],
    until: Option<std::time::Duration>,
    cancel: &Cancel,
) -> Trial {
    super::driver::drive(engine, stream, workers, Some(schedule), until, cancel)
}

/// How late requests started after their intended start, in ns (open loop only).
pub fn lateness_ns(requests: &[Request]) -> Vec<u64> {
    requests
        .iter()
        .filter_map(|r| r.intended_ns.map(|i| r.start_ns.saturating_sub(i)))
        .collect()
}

/// Requests that started more than [`LATE_AFTER_NS`] after their intended start.
pub fn late(requests: &[Request]) -> u64 {
    requests
        .iter()
        .filter(|r| r.intended_ns.is_some_and(|i| r.start_ns > i + LATE_AFTER_NS))
        .count() as u64
}
