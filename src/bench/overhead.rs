//! The harness's own cost per request, measured with an engine that does nothing.

use std::time::Instant;

use audit_engines::{Engine, EngineError, Page, Query};

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

/// Runs `plan`'s closed loop with one worker over `requests` requests of
/// `stream` (cycled) on the null engine.
pub fn measure(plan: &super::Plan, stream: &[Query], requests: u64) -> Overhead {
    let stream: Vec<Query> = stream.iter().cycle().take(requests as usize).cloned().collect();
    let plan = super::Plan {
        requests,
        concurrency: 1,
        min_requests: 0,
        min_seconds: 0.0,
        ..plan.clone()
    };
    let t0 = Instant::now();
    let trial = super::closed::run(&NullEngine, &stream, &plan);
    let wall = t0.elapsed().as_nanos() as f64;
    let n = trial.requests.len().max(1) as f64;
    Overhead {
        requests: trial.requests.len() as u64,
        per_request_ns: wall / n,
        recorded_latency_ns: trial.requests.iter().map(|r| r.latency_ns as f64).sum::<f64>() / n,
    }
}
