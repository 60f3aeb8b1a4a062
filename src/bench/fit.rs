//! Fitting a benchmark's rounds into its time budget before it starts, for
//! runs whose engines' cost is not known in advance (`audit-harness sweep`:
//! the baseline's deep OFFSET pages cost about a second each at 5M rows).
//!
//! The round loop (`rounds.rs`) always runs `min_rounds` rounds and only then
//! looks at the clock, so a round that alone takes longer than the budget
//! allows would overrun it by `min_rounds` times. Here each engine's cost per
//! request is probed with a short closed-loop trial, and the round is made to fit
//! `max_seconds / min_rounds`: first with fewer requests (and warm-ups) per
//! engine, and when even [`MIN_REQUESTS`] would not fit, by cutting the most
//! expensive engines from the run, each with the estimate that cut it.

use audit_engines::{Query, SharedEngine};

/// Fewest measured requests per engine per round worth running: a round's
/// p99 from fewer than 100 requests is its single largest latency, and every
/// engine of a round runs the same requests, so one slow engine that would
/// shrink the round below this is cut rather than starve the others' tails.
pub const MIN_REQUESTS: u64 = 100;

/// Warm-up requests per trial once a round has to be made smaller.
pub const SHRUNK_WARMUP: u64 = 2;

/// Requests per engine and mix in the probe.
pub const PROBE_REQUESTS: usize = 8;

/// What the probe found for one engine: seconds per request (the inverse of
/// its closed-loop throughput at the round's concurrency), summed over the
/// mixes.
#[derive(Debug, Clone, PartialEq)]
pub struct Cost {
    pub engine: String,
    pub seconds_per_request: f64,
}

/// Runs each engine on each mix's probe stream in a closed loop with
/// `workers` workers, as a round does, and returns its seconds per request:
/// the time until the last answer over the requests, so that whatever the machine gives
/// concurrent requests (little, when they are CPU-bound on two shared cores)
/// is in the figure. Errors count as answered: the benchmark reports them.
pub fn probe(engines: &[(String, SharedEngine)], streams: &[Vec<Query>], workers: u32) -> Vec<Cost> {
    engines
        .iter()
        .map(|(name, e)| {
            let seconds_per_request = streams
                .iter()
                .filter(|s| !s.is_empty())
                .map(|stream| {
                    // From the trial's start to its last answer, as throughput is
                    // measured (starting the workers is not the engine's cost).
                    let t = super::closed::run(e.as_ref(), stream, workers);
                    let end = t.requests.iter().map(super::Request::end_ns).max().unwrap_or(0);
                    end as f64 / 1e9 / stream.len() as f64
                })
                .sum();
            Cost {
                engine: name.clone(),
                seconds_per_request,
            }
        })
        .collect()
}

/// How a round was fitted into the budget.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    /// Measured requests per engine per round.
    pub requests: u64,
    /// Warm-up requests per trial.
    pub warmup: u64,
    /// Engines left out, each with its probed seconds per request.
    pub cut: Vec<Cost>,
    /// The estimated length of one round with these settings, seconds.
    pub round_seconds: f64,
    /// The length a round may take: the budget over the rounds always run.
    pub round_budget: f64,
}

impl Fit {
    /// Whether the round had to be made smaller than asked or engines cut.
    pub fn changed(&self, requests: u64, warmup: u64) -> bool {
        self.requests != requests || self.warmup != warmup || !self.cut.is_empty()
    }
}

/// The round's length for engines of total cost `k` (seconds per request
/// at the round's concurrency, summed over engines and mixes), warm-ups
/// counted at the same cost.
fn round_seconds(k: f64, requests: u64, warmup: u64) -> f64 {
    k * (warmup + requests) as f64
}

/// Fits a round of `requests` measured and `warmup` warm-up requests per
/// engine into `max_seconds / min_rounds`, with each engine's cost from
/// [`probe`]. Keeps the asked
/// settings when they fit; else fewer requests (at least [`MIN_REQUESTS`])
/// with [`SHRUNK_WARMUP`] warm-ups; else cuts the costliest engine and tries
/// again. Every engine cut leaves an empty run (nothing fits).
pub fn fit(costs: &[Cost], requests: u64, warmup: u64, max_seconds: f64, min_rounds: u32) -> Fit {
    let round_budget = max_seconds / f64::from(min_rounds.max(1));
    let mut kept: Vec<Cost> = costs.to_vec();
    let mut cut: Vec<Cost> = Vec::new();
    loop {
        let k: f64 = kept.iter().map(|c| c.seconds_per_request).sum();
        let asked = round_seconds(k, requests, warmup);
        if asked <= round_budget || kept.is_empty() {
            return Fit {
                requests,
                warmup,
                cut,
                round_seconds: asked,
                round_budget,
            };
        }
        let w = warmup.min(SHRUNK_WARMUP);
        let r = (round_budget / k - w as f64).floor();
        if r >= MIN_REQUESTS as f64 {
            let r = (r as u64).min(requests);
            return Fit {
                requests: r,
                warmup: w,
                cut,
                round_seconds: round_seconds(k, r, w),
                round_budget,
            };
        }
        let worst = kept
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.seconds_per_request.total_cmp(&b.1.seconds_per_request))
            .map(|(i, _)| i)
            .unwrap_or(0);
        cut.push(kept.remove(worst));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn costs(v: &[(&str, f64)]) -> Vec<Cost> {
        v.iter()
            .map(|(n, s)| Cost {
                engine: n.to_string(),
                seconds_per_request: *s,
            })
            .collect()
    }

    #[test]
    fn cheap_engines_keep_the_asked_round() {
        let f = fit(&costs(&[("a", 1e-4), ("b", 1e-5)]), 400, 20, 60.0, 5);
        assert_eq!((f.requests, f.warmup, f.cut.len()), (400, 20, 0));
        assert!(!f.changed(400, 20));
        assert!(f.round_seconds <= f.round_budget);
    }

    #[test]
    fn a_slow_engine_makes_the_round_smaller_and_it_fits() {
        // 0.05 s per request: 400 requests would take 20 s, the round may take 12 s.
        let f = fit(&costs(&[("slow", 0.05), ("fast", 1e-4)]), 400, 20, 60.0, 5);
        assert!(f.cut.is_empty());
        assert_eq!(f.warmup, SHRUNK_WARMUP);
        assert!(f.requests >= MIN_REQUESTS && f.requests < 400, "{f:?}");
        assert!(f.round_seconds <= f.round_budget + 1e-9, "{f:?}");
        // One more request would not fit.
        assert!(round_seconds(0.0501, f.requests + 1, f.warmup) > f.round_budget);
        assert!(f.changed(400, 20));
    }

    #[test]
    fn an_engine_too_slow_for_the_smallest_round_is_cut_first() {
        let f = fit(
            &costs(&[("a", 1e-4), ("glacial", 5.0), ("slow", 0.01)]),
            400,
            20,
            60.0,
            5,
        );
        assert_eq!(f.cut.iter().map(|c| c.engine.as_str()).collect::<Vec<_>>(), ["glacial"]);
        assert!(f.requests >= MIN_REQUESTS);
        assert!(f.round_seconds <= f.round_budget + 1e-9);
    }

    #[test]
    fn nothing_fits_cuts_everything() {
        let f = fit(&costs(&[("a", 100.0), ("b", 50.0)]), 400, 20, 60.0, 5);
        assert_eq!(f.cut.len(), 2);
    }
}
