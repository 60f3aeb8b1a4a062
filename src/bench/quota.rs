//! How many requests an engine sends in one closed-loop slice: fixed before
//! the slice starts, from the engine's time per request in earlier rounds
//! (its warm-up before the first), so that a slice lasts about `slice_ms`.
//!
//! Why a count and not a deadline: a slice that stops starting requests at
//! its deadline keeps a worker's second request only when its first was
//! fast. When latencies are correlated within a slice (a slow stretch of the
//! machine, a drift) the requests that get in are the fast ones, and the
//! mean time per request, so the throughput, is biased (calibration measured
//! the baseline's throughput 3–14 % false fails at a 2.5 % level). A count
//! fixed in advance depends on no latency of its own slice: every slice
//! measures its machine state with the same weight, whatever that state is.

/// A slice's count: `workers` requests per `cycle_s` (an engine's time per
/// request on one worker) fill `slice_s`; at least two per worker, so that
/// every slice shows each worker's step from one answer to its next request
/// (a part of the time per request, so of the throughput); at most `cap`
/// (the slice's share of the round's stream). With no pace measured yet (no
/// warm-up), the least: an engine of unknown cost could make a full share
/// last minutes.
pub fn per_slice(cycle_s: Option<f64>, slice_s: f64, workers: u32, cap: usize) -> usize {
    let least = (2 * workers.max(1) as usize).min(cap);
    let fill = match cycle_s {
        Some(c) if c > 0.0 && c.is_finite() => (slice_s / c * f64::from(workers.max(1))).round(),
        _ => 0.0,
    };
    let fill = if fill.is_finite() {
        fill.min(cap as f64) as usize
    } else {
        cap
    };
    fill.max(least).min(cap)
}

/// An engine's time per request on one worker, from what it has measured so far.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pace {
    busy_ns: f64,
    requests: f64,
    /// The figure is the warm-up's, until a slice is measured.
    warmup: bool,
}

impl Pace {
    /// From a warm-up of `requests` sent one after another in `seconds`.
    pub fn from_warmup(requests: usize, seconds: f64) -> Pace {
        Pace {
            busy_ns: seconds * 1e9,
            requests: requests as f64,
            warmup: true,
        }
    }

    /// Adds a slice's requests: each worker's time from its first start to
    /// its last answer, over the requests it sent. The warm-up's figure is
    /// replaced by the first measured slice (a warm-up is one worker, cold).
    pub fn add(&mut self, requests: &[crate::measured::Request]) {
        let mut spans: std::collections::HashMap<u32, (u64, u64, u64)> = std::collections::HashMap::new();
        for r in requests {
            let e = spans.entry(r.worker).or_insert((u64::MAX, 0, 0));
            e.0 = e.0.min(r.start_ns);
            e.1 = e.1.max(r.end_ns());
            e.2 += 1;
        }
        if spans.is_empty() {
            return;
        }
        if self.warmup {
            *self = Pace::default();
        }
        for (first, last, n) in spans.into_values() {
            self.busy_ns += last.saturating_sub(first) as f64;
            self.requests += n as f64;
        }
    }

    /// Seconds per request on one worker, when anything was measured.
    pub fn cycle_s(&self) -> Option<f64> {
        (self.requests > 0.0 && self.busy_ns > 0.0).then(|| self.busy_ns / self.requests / 1e9)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slice_holds_what_fills_its_time_within_one_per_worker_and_the_cap() {
        // 4 workers, 1 ms per request, 10 ms: 40 requests.
        assert_eq!(per_slice(Some(0.001), 0.010, 4, 100), 40);
        // Faster than the cap allows: the cap.
        assert_eq!(per_slice(Some(1e-6), 0.010, 4, 100), 100);
        // Slower than the slice: two per worker.
        assert_eq!(per_slice(Some(0.5), 0.010, 4, 100), 8);
        assert_eq!(per_slice(Some(0.004), 0.010, 4, 100), 10);
        // Nothing measured yet: two per worker; a cap below that: the cap.
        assert_eq!(per_slice(None, 0.010, 4, 100), 8);
        assert_eq!(per_slice(Some(0.5), 0.010, 4, 2), 2);
        assert_eq!(per_slice(Some(0.0), 0.010, 4, 100), 8);
    }

    #[test]
    fn pace_is_each_workers_span_over_its_requests_and_the_warmup_gives_way() {
        let req = |worker, start_ns, latency_ns| crate::measured::Request {
            seq: 0,
            query: Default::default(),
            rows: Some(0),
            start_ns,
            latency_ns,
            intended_ns: None,
            slice: 0,
            worker,
        };
        let mut p = Pace::from_warmup(10, 1.0);
        assert_eq!(p.cycle_s(), Some(0.1));
        // Worker 0: two requests over 4 ms; worker 1: one of 2 ms. 6 ms / 3.
        p.add(&[req(0, 0, 1_000_000), req(0, 2_000_000, 2_000_000), req(1, 0, 2_000_000)]);
        assert!((p.cycle_s().unwrap() - 0.002).abs() < 1e-12);
        p.add(&[req(0, 0, 5_000_000)]);
        assert!((p.cycle_s().unwrap() - 0.00275).abs() < 1e-12);
        // A slice with nothing measured keeps what there was.
        p.add(&[]);
        assert!((p.cycle_s().unwrap() - 0.00275).abs() < 1e-12);
    }
}
