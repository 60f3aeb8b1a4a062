//! Simulated rounds with known truth: a baseline and candidates whose latency
//! distributions are the same shape scaled by a known ratio, under a chosen
//! kind of machine noise, served by a closed loop of `concurrency` workers on
//! a simulated clock. The benchmark's own round loop, analysis and verdict
//! code run on these records exactly as on real ones.

use audit_engines::Query;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::Scenario;
use crate::bench::rounds::{Round, RoundSource};
use crate::bench::{Request, Trial};
use crate::error::HarnessError;

/// One simulated engine: latencies are the baseline's times `scale`; each
/// worker also idles `(gap_factor − 1)` times each latency between requests,
/// so throughput is `1 / (scale · gap_factor)` times the baseline's.
#[derive(Debug, Clone, Copy)]
pub struct SimEngine {
    pub scale: f64,
    pub gap_factor: f64,
    /// The sd of its log latency relative to the baseline's (1: the same shape).
    pub sigma_factor: f64,
    /// A slow mode: this fraction of requests takes `slow_factor` times longer.
    pub slow_fraction: f64,
    pub slow_factor: f64,
}

impl SimEngine {
    /// The baseline's shape scaled by `scale`, with `gap_factor` as above.
    pub fn scaled(scale: f64, gap_factor: f64) -> SimEngine {
        SimEngine {
            scale,
            gap_factor,
            sigma_factor: 1.0,
            slow_fraction: 0.0,
            slow_factor: 1.0,
        }
    }
}

/// The simulated machine.
pub struct Sim<'a> {
    pub engines: &'a [SimEngine],
    pub scenario: Scenario,
    /// Median of the baseline's latency (seconds) and the sd of its log.
    pub median_s: f64,
    pub sigma: f64,
    pub requests: usize,
    pub concurrency: usize,
    /// Seed of the engine order per round (as the benchmark's plan does it).
    pub order_seed: u64,
    pub rng: StdRng,
    /// The simulated clock (seconds) and the burst state.
    pub clock: f64,
    burst_start: f64,
    burst_until: f64,
    next_burst: f64,
}

/// Burst episodes last this long on average (seconds).
const BURST_MEAN_S: f64 = 0.2;

impl<'a> Sim<'a> {
    pub fn new(
        engines: &'a [SimEngine],
        scenario: Scenario,
        median_s: f64,
        sigma: f64,
        requests: usize,
        concurrency: usize,
        seed: u64,
    ) -> Sim<'a> {
        let mut sim = Sim {
            engines,
            scenario,
            median_s,
            sigma,
            requests,
            concurrency,
            order_seed: seed,
            rng: StdRng::seed_from_u64(seed),
            clock: 0.0,
            burst_start: f64::NEG_INFINITY,
            burst_until: f64::NEG_INFINITY,
            next_burst: f64::INFINITY,
        };
        if let Scenario::Bursts { fraction, .. } = scenario {
            sim.next_burst = sim.exp(BURST_MEAN_S * (1.0 - fraction) / fraction);
        }
        sim
    }

    fn normal(&mut self) -> f64 {
        let u1: f64 = self.rng.random_range(1e-300..1.0);
        let u2: f64 = self.rng.random_range(0.0..1.0);
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    fn exp(&mut self, mean: f64) -> f64 {
        let u: f64 = self.rng.random_range(1e-300..1.0);
        -u.ln() * mean
    }

    /// The burst slowdown at simulated time `t` (times asked are non-decreasing):
    /// bursts of exponential length (mean [`BURST_MEAN_S`]) separated by
    /// exponential gaps, so that `fraction` of the time is in a burst.
    fn burst_factor(&mut self, t: f64) -> f64 {
        let Scenario::Bursts { fraction, slowdown } = self.scenario else {
            return 1.0;
        };
        while t >= self.next_burst {
            self.burst_start = self.next_burst;
            self.burst_until = self.next_burst + self.exp(BURST_MEAN_S);
            self.next_burst = self.burst_until + self.exp(BURST_MEAN_S * (1.0 - fraction) / fraction);
        }
        if t >= self.burst_start && t < self.burst_until {
            slowdown
        } else {
            1.0
        }
    }

    /// One trial of engine `e`, starting at the current clock.
    pub fn trial(&mut self, e: SimEngine, round: u32) -> Trial {
        let drift = match self.scenario {
            Scenario::Drift { sd } => (sd * self.normal()).exp(),
            _ => 1.0,
        };
        let phi = match self.scenario {
            Scenario::Ar1 { phi } => phi,
            _ => 0.0,
        };
        let t0 = self.clock;
        let mut free = vec![t0; self.concurrency];
        let mut z = self.normal();
        let mut requests = Vec::with_capacity(self.requests);
        for i in 0..self.requests {
            if i > 0 {
                z = phi * z + (1.0 - phi * phi).sqrt() * self.normal();
            }
            let (w, start) = free
                .iter()
                .copied()
                .enumerate()
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .unwrap_or((0, t0));
            let slow = if e.slow_fraction > 0.0 && self.rng.random_bool(e.slow_fraction) {
                e.slow_factor
            } else {
                1.0
            };
            let latency = self.median_s
                * (self.sigma * e.sigma_factor * z).exp()
                * e.scale
                * slow
                * drift
                * self.burst_factor(start);
            free[w] = start + latency * e.gap_factor;
            requests.push(Request {
                seq: i as u64,
                query: Query::default(),
                rows: Some(0),
                start_ns: ((start - t0) * 1e9) as u64,
                latency_ns: (latency * 1e9).max(1.0) as u64,
                intended_ns: None,
            });
        }
        self.clock = free.iter().copied().fold(t0, f64::max);
        Trial {
            index: round,
            requests,
            first_error: None,
            warmup_errors: 0,
            gave_up: false,
        }
    }
}

impl RoundSource for Sim<'_> {
    fn run_round(&mut self, r: u32) -> Result<Option<Round>, HarnessError> {
        let start = self.clock;
        let n = self.engines.len();
        // A seeded random order per round, as the benchmark runs its engines.
        let mut order: Vec<usize> = (0..n).collect();
        let mut rng = StdRng::seed_from_u64(self.order_seed ^ (u64::from(r) << 20));
        for i in (1..n).rev() {
            order.swap(i, rng.random_range(0..=i));
        }
        let mut trials = Vec::with_capacity(n);
        for i in order {
            let t = self.trial(self.engines[i], r + 1);
            trials.push((i, t));
        }
        Ok(Some(Round {
            trials,
            seconds: self.clock - start,
        }))
    }
}
