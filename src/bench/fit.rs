//! Fitting a benchmark's rounds into its time budget before it starts, for
//! runs whose engines' cost is not known in advance (`audit-harness sweep`:
//! the baseline's deep OFFSET pages cost about a second each at 5M rows).
//!
//! The round loop (`stopping.rs`) always runs `min_rounds` rounds and only then
//! looks at the clock, so a round that alone takes longer than the budget
//! allows would overrun it by `min_rounds` times. A slice holds the requests
//! that fill `slice_ms` at the engine's pace, but at least two per worker:
//! an engine whose single request outlasts the slice makes every slice as
//! long as two such requests. So each engine's cost per request is probed with a short
//! closed-loop trial, a round's length is estimated from it, and when the
//! round does not fit `max_seconds / min_rounds` the most expensive engines
//! are cut from the run, each with the estimate that cut it (the warm-ups are
//! shortened first when they alone would take a tenth of the budget).

use audit_engines::{Query, SharedEngine};

use crate::cancel::Cancel;

/// Warm-up requests per engine and mix once the warm-ups have to be made shorter.
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
/// Once `cancel` is cancelled, no request starts.
pub fn probe(engines: &[(String, SharedEngine)], streams: &[Vec<Query>], workers: u32, cancel: &Cancel) -> Vec<Cost> {
    engines
        .iter()
        .map(|(name, e)| {
            let seconds_per_request = streams
                .iter()
                .filter(|s| !s.is_empty())
                .map(|stream| {
                    // From the trial's start to its last answer, as throughput is
                    // measured (starting the workers is not the engine's cost).
                    let t = super::closed::run(e, stream, workers, cancel);
                    let end = t
                        .requests
                        .iter()
                        .map(crate::measured::Request::end_ns)
                        .max()
                        .unwrap_or(0);
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
    /// Measured requests per engine per round (as asked: the slices' time bounds a round).
    pub requests: u64,
    /// Warm-up requests per engine and mix.
    pub warmup: u64,
    /// Engines left out, each with its probed seconds per request.
    pub cut: Vec<Cost>,
    /// The estimated length of one round with these settings, seconds.
    pub round_seconds: f64,
    /// The length a round may take: the budget over the rounds always run.
    pub round_budget: f64,
}

impl Fit {
    /// Whether the warm-ups had to be made shorter than asked or engines cut.
    pub fn changed(&self, requests: u64, warmup: u64) -> bool {
        self.requests != requests || self.warmup != warmup || !self.cut.is_empty()
    }
}

/// The round's shape the estimate needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RoundShape {
    pub requests: u64,
    pub slices: u32,
    pub slice_seconds: f64,
    pub workers: u32,
}

impl RoundShape {
    /// One engine's time in a round, at `spr` seconds per request (its
    /// closed-loop throughput's inverse, summed over the mixes): per slice,
    /// its share of the stream or the slice's time, whichever ends first, and
    /// never less than two requests per worker (`quota::per_slice`).
    fn engine_seconds(&self, spr: f64) -> f64 {
        let cap = self.requests.div_ceil(u64::from(self.slices.max(1))) as f64;
        let least = (2.0 * f64::from(self.workers.max(1))).min(cap);
        let slice = (cap * spr).min(self.slice_seconds).max(least * spr);
        f64::from(self.slices) * slice
    }
}

/// Fits a round of `shape` into `max_seconds / min_rounds` with each engine's
/// cost from [`probe`]: keeps every engine when the round fits; else cuts the
/// costliest engine and tries again. Warm-ups (one after another, `warmup`
/// per engine and mix) are shortened to [`SHRUNK_WARMUP`] when they would take
/// more than a tenth of the budget. Every engine cut leaves an empty run.
pub fn fit(costs: &[Cost], shape: RoundShape, warmup: u64, max_seconds: f64, min_rounds: u32) -> Fit {
    let round_budget = max_seconds / f64::from(min_rounds.max(1));
    let mut kept: Vec<Cost> = costs.to_vec();
    let mut cut: Vec<Cost> = Vec::new();
    let warmup_seconds = |kept: &[Cost]| {
        kept.iter()
            .map(|c| c.seconds_per_request * f64::from(shape.workers))
            .sum::<f64>()
            * warmup as f64
    };
    let warmup = if warmup_seconds(&kept) > 0.1 * max_seconds {
        warmup.min(SHRUNK_WARMUP)
    } else {
        warmup
    };
    loop {
        let round: f64 = kept.iter().map(|c| shape.engine_seconds(c.seconds_per_request)).sum();
        if round <= round_budget || kept.is_empty() {
            return Fit {
                requests: shape.requests,
                warmup,
                cut,
                round_seconds: round,
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

    const SHAPE: RoundShape = RoundShape {
        requests: 400,
        slices: 4,
        slice_seconds: 0.04,
        workers: 4,
    };

    #[test]
    fn cheap_engines_keep_the_asked_round() {
        let f = fit(&costs(&[("a", 1e-4), ("b", 1e-5)]), SHAPE, 20, 60.0, 5);
        assert_eq!((f.requests, f.warmup, f.cut.len()), (400, 20, 0));
        assert!(!f.changed(400, 20));
        assert!(f.round_seconds <= f.round_budget);
        // a: 100 requests per slice at 0.1 ms would take 10 ms, within the slice's 40 ms.
        assert!((SHAPE.engine_seconds(1e-4) - 4.0 * 0.01).abs() < 1e-12);
        // A slow engine is held to the slice's time, but never below two requests per worker.
        assert!((SHAPE.engine_seconds(0.005) - 4.0 * 0.04).abs() < 1e-12);
        assert!((SHAPE.engine_seconds(0.5) - 4.0 * 4.0).abs() < 1e-12);
    }

    #[test]
    fn an_engine_too_slow_for_the_round_is_cut_first() {
        // glacial: each of its slices lasts 4 workers x 5 s; the round may take 12 s.
        let f = fit(
            &costs(&[("a", 1e-4), ("glacial", 5.0), ("slow", 0.01)]),
            SHAPE,
            20,
            60.0,
            5,
        );
        assert_eq!(f.cut.iter().map(|c| c.engine.as_str()).collect::<Vec<_>>(), ["glacial"]);
        assert!(f.round_seconds <= f.round_budget + 1e-9);
        assert_eq!(f.warmup, SHRUNK_WARMUP, "glacial's warm-ups alone would take 400 s");
    }

    #[test]
    fn nothing_fits_cuts_everything() {
        let f = fit(&costs(&[("a", 100.0), ("b", 50.0)]), SHAPE, 20, 60.0, 5);
        assert_eq!(f.cut.len(), 2);
    }
}
