//! The harness's own cost per request, measured with an engine that does nothing.

use std::time::Instant;

use audit_engines::{Engine, EngineError, Page, Query};

use crate::cancel::Cancel;

/// An engine that answers every query with an empty page at once.
pub struct NullEngine;

impl Engine for NullEngine {
    fn name(&self) -> &str {
        "null"
    }

    fn query(&self, _q: &Query) -> Result<Page, EngineError> {
        Ok(Page::new(Vec::new()))
    }
}

/// What the measuring costs per request.
#[derive(Debug, Clone, Copy)]
pub struct Overhead {
    /// Requests timed.
    pub requests: u64,
    /// Mean wall time per request of the closed loop around a do-nothing engine.
    pub per_request_ns: f64,
    /// Mean latency the loop records for a do-nothing engine (the timer's floor).
    pub recorded_latency_ns: f64,
}

/// Runs the closed loop with one worker over `requests` requests of `stream`
/// (cycled) on the null engine, until `cancel` is cancelled.
pub fn measure(stream: &[Query], requests: u64, cancel: &Cancel) -> Overhead {
    let stream: Vec<Query> = stream.iter().cycle().take(requests as usize).cloned().collect();
    let t0 = Instant::now();
    let null: audit_engines::SharedEngine = std::sync::Arc::new(NullEngine);
    let trial = super::closed::run(&null, &stream, 1, cancel);
    let wall = t0.elapsed().as_nanos() as f64;
    let n = trial.requests.len().max(1) as f64;
    Overhead {
        requests: trial.requests.len() as u64,
        per_request_ns: wall / n,
        recorded_latency_ns: trial.requests.iter().map(|r| r.latency_ns as f64).sum::<f64>() / n,
    }
}

/// How late the open loop's own pacing starts requests, measured with the
/// null engine on the schedule the run will use: the harness's share of
/// every engine's lateness.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pacing {
    pub requests: u64,
    pub rps: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
    /// Requests more than [`super::open::LATE_AFTER_NS`] late.
    pub late: u64,
}

/// Runs `schedule` (with `stream`, cycled) on the null engine with `workers`
/// workers, until `cancel` is cancelled (at a low rate it lasts seconds).
pub fn pacing(stream: &[Query], schedule: &[u64], workers: u32, rps: f64, cancel: &Cancel) -> Pacing {
    let stream: Vec<Query> = stream.iter().cycle().take(schedule.len()).cloned().collect();
    let null: audit_engines::SharedEngine = std::sync::Arc::new(NullEngine);
    let trial = super::open::run(&null, &stream, workers, schedule, None, cancel);
    let mut late: Vec<f64> = super::open::lateness_ns(&trial.requests)
        .into_iter()
        .map(|ns| ns as f64 / 1000.0)
        .collect();
    late.sort_by(f64::total_cmp);
    let q = |p| crate::stats::quantile(&late, p).unwrap_or(0.0);
    Pacing {
        requests: late.len() as u64,
        rps,
        p50_us: q(0.5),
        p99_us: q(0.99),
        max_us: late.last().copied().unwrap_or(0.0),
        late: super::open::late(&trial.requests),
    }
}
