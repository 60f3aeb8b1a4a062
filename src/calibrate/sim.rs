//! Simulated rounds with known truth: a baseline and candidates with known
//! latency distributions (per stratum: an empty page or a page with rows),
//! served by a closed loop of `concurrency` workers on a simulated clock,
//! under a chosen mix of machine noise, measured with the benchmark's own
//! design (interleaved slices, or the earlier one trial per engine per
//! round). The benchmark's round loop, analysis and verdict run on these
//! records exactly as on real ones.

use audit_engines::Query;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::{Design, Noise};
use crate::bench::quota::{self, Pace};
use crate::bench::stopping::{Round, RoundSource};
use crate::bench::Trial;
use crate::error::HarnessError;
use crate::measured::Request;

/// One latency cluster: a lognormal with this median (seconds) and sd of its log.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cluster {
    pub median_s: f64,
    pub sigma: f64,
}

/// One simulated engine: a cluster for the requests whose answer is an empty
/// page and one for those with rows (the stratum comes from the request
/// stream, the same for every engine), and how long a worker spends between
/// requests (`gap_s` after each answer: throughput is
/// `workers / (mean latency + gap_s)`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SimEngine {
    pub empty: Cluster,
    pub rows: Cluster,
    pub gap_s: f64,
    /// A slow mode of the engine's own, whatever the stratum: this fraction
    /// of its requests takes `slow_factor` times longer.
    pub slow_fraction: f64,
    pub slow_factor: f64,
}

impl SimEngine {
    /// One lognormal cluster for every request.
    pub fn lognormal(median_s: f64, sigma: f64) -> SimEngine {
        let c = Cluster { median_s, sigma };
        SimEngine {
            empty: c,
            rows: c,
            gap_s: 0.0,
            slow_fraction: 0.0,
            slow_factor: 1.0,
        }
    }

    /// Every latency times `k`.
    pub fn scaled(self, k: f64) -> SimEngine {
        let s = |c: Cluster| Cluster {
            median_s: c.median_s * k,
            ..c
        };
        SimEngine {
            empty: s(self.empty),
            rows: s(self.rows),
            ..self
        }
    }

    fn cluster(&self, rows: bool) -> Cluster {
        if rows {
            self.rows
        } else {
            self.empty
        }
    }
}

/// Warm-up requests per engine before the first round (the spec's default `warmup`).
const WARMUP: usize = 20;

/// How the simulated benchmark measures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measure {
    pub design: Design,
    /// Requests per engine per round at most (the round stream's length).
    pub requests: usize,
    pub slices: u32,
    pub slice_s: f64,
    pub concurrency: usize,
    /// The mix's share of requests whose answer has rows.
    pub rows_share: f64,
}

/// The simulated machine and the engines on it.
pub struct Sim<'a> {
    pub engines: &'a [SimEngine],
    pub noise: Noise,
    pub measure: Measure,
    /// Seed of the engine order per slice (as the benchmark's plan does it).
    pub order_seed: u64,
    pub rng: StdRng,
    /// The simulated clock (seconds).
    pub clock: f64,
    /// Slow episodes ahead (start, end), and when the one after them starts.
    episodes: Vec<(f64, f64)>,
    next_burst: f64,
    /// Slow episodes some request of the run has met, and the start of the
    /// last one counted (requests come in the order they start).
    met: u32,
    last_met_start: f64,
    /// Interleaved design: each engine's time per request so far, which
    /// sizes its slices (as the benchmark's `bench::quota` does); `None`
    /// until the warm-up before the first round.
    paces: Option<Vec<Pace>>,
}

impl<'a> Sim<'a> {
    pub fn new(engines: &'a [SimEngine], noise: Noise, measure: Measure, seed: u64) -> Sim<'a> {
        let mut sim = Sim {
            engines,
            noise,
            measure,
            order_seed: seed,
            rng: StdRng::seed_from_u64(seed),
            clock: 0.0,
            episodes: Vec::new(),
            next_burst: f64::INFINITY,
            met: 0,
            last_met_start: f64::NEG_INFINITY,
            paces: None,
        };
        if let Some(b) = noise.bursts {
            // Start in the stationary state: in an episode with probability `fraction`.
            if sim.rng.random_bool(b.fraction) {
                let end = sim.exp(b.mean_s);
                sim.episodes.push((0.0, end));
                sim.next_burst = end + sim.exp(b.mean_s * (1.0 - b.fraction) / b.fraction);
            } else {
                sim.next_burst = sim.exp(b.mean_s * (1.0 - b.fraction) / b.fraction);
            }
        }
        sim
    }

    /// How many slow episodes the run's requests (its warm-ups included)
    /// have met so far: `calibrate` tells the runs that met none apart.
    pub fn episodes_met(&self) -> u32 {
        self.met
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

    /// The episode after the last one known: exponential lengths separated by
    /// exponential gaps, so that `fraction` of the time is in an episode.
    fn next_episode(&mut self, b: super::Bursts) -> (f64, f64) {
        let start = self.next_burst;
        let end = start + self.exp(b.mean_s);
        self.next_burst = end + self.exp(b.mean_s * (1.0 - b.fraction) / b.fraction);
        self.episodes.push((start, end));
        (start, end)
    }

    /// When a request that starts at `t` and needs `work` seconds of an
    /// unhindered machine ends: during a slow episode the machine runs
    /// `slowdown` times slower, so an episode that covers part of a request
    /// slows that part. Requests are asked in the order they start.
    fn finish(&mut self, t: f64, work: f64) -> f64 {
        let Some(b) = self.noise.bursts else {
            return t + work;
        };
        // No later request starts before t: episodes over by then are done with.
        let over = self.episodes.iter().take_while(|e| e.1 <= t).count();
        self.episodes.drain(..over);
        let (mut now, mut left) = (t, work);
        let mut i = 0;
        loop {
            let (start, end) = match self.episodes.get(i) {
                Some(e) => *e,
                None => self.next_episode(b),
            };
            i += 1;
            if end <= now {
                continue;
            }
            if now < start {
                if left <= start - now {
                    return now + left;
                }
                left -= start - now;
                now = start;
            }
            // The request runs into this episode.
            if start > self.last_met_start {
                self.met += 1;
                self.last_met_start = start;
            }
            let capacity = (end - now) / b.slowdown;
            if left <= capacity {
                return now + left * b.slowdown;
            }
            left -= capacity;
            now = end;
        }
    }

    /// One slice of engine `e` on `stream` (whether each request's answer
    /// has rows) from position `from`, starting at the current clock: `count`
    /// requests (fewer where the stream ends). Returns its requests (seq from `from`).
    fn slice(&mut self, e: SimEngine, stream: &[bool], from: usize, count: usize, slice: u32) -> Vec<Request> {
        let drift = (self.noise.drift_sd * self.normal()).exp();
        let phi = self.noise.ar1;
        let t0 = self.clock;
        let c = self.measure.concurrency.max(1);
        let mut free = vec![t0; c];
        let mut z = self.normal();
        let mut requests = Vec::new();
        let end = (from + count).min(stream.len());
        let mut last_end = t0;
        for (k, i) in (from..end).enumerate() {
            if k > 0 {
                z = phi * z + (1.0 - phi * phi).sqrt() * self.normal();
            }
            let (w, start) = free
                .iter()
                .copied()
                .enumerate()
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .unwrap_or((0, t0));
            let cl = e.cluster(stream[i]);
            let slow = if e.slow_fraction > 0.0 && self.rng.random_bool(e.slow_fraction) {
                e.slow_factor
            } else {
                1.0
            };
            let work = cl.median_s * (cl.sigma * z).exp() * slow * drift;
            let end = self.finish(start, work);
            let latency = end - start;
            free[w] = end + e.gap_s;
            last_end = last_end.max(end);
            requests.push(Request {
                seq: i as u64,
                query: Query::default(),
                rows: Some(if stream[i] { 10 } else { 0 }),
                start_ns: ((start - t0) * 1e9) as u64,
                latency_ns: (latency * 1e9).max(1.0) as u64,
                intended_ns: None,
                slice,
                worker: w as u32,
            });
        }
        self.clock = last_end;
        requests
    }

    /// Each engine's warm-up before the first round, as the benchmark's: a
    /// few requests one after another, whose time per request sizes the first
    /// round's slices. Not measured.
    fn warm_up(&mut self, stream: &[bool]) -> Vec<Pace> {
        let n = WARMUP.min(stream.len());
        let engines = self.engines;
        engines
            .iter()
            .map(|&e| {
                let before = self.clock;
                let c = std::mem::replace(&mut self.measure.concurrency, 1);
                self.slice(e, stream, 0, n, 0);
                self.measure.concurrency = c;
                Pace::from_warmup(n, self.clock - before)
            })
            .collect()
    }

    /// Round `r`'s stream: whether each request's answer has rows (the same
    /// for every engine of the round).
    fn stream(&mut self, r: u32) -> Vec<bool> {
        let mut rng = StdRng::seed_from_u64(self.order_seed ^ 0x5354_5245_414d ^ (u64::from(r) << 24));
        (0..self.measure.requests)
            .map(|_| rng.random_bool(self.measure.rows_share))
            .collect()
    }
}

/// A seeded permutation of `0..n` (the engines' order in a slice).
fn order(seed: u64, n: usize) -> Vec<usize> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        order.swap(i, rng.random_range(0..=i));
    }
    order
}

impl RoundSource for Sim<'_> {
    fn run_round(&mut self, r: u32) -> Result<Option<Round>, HarnessError> {
        let start = self.clock;
        let n = self.engines.len();
        let stream = self.stream(r);
        let m = self.measure;
        let mut trials: Vec<Trial> = (0..n)
            .map(|_| Trial {
                index: r + 1,
                ..Trial::default()
            })
            .collect();
        match m.design {
            Design::Interleaved => {
                let cap = m.requests.div_ceil(m.slices.max(1) as usize);
                let paces = match self.paces.take() {
                    Some(p) => p,
                    None => self.warm_up(&stream),
                };
                // Each slice's count is fixed before the round from the rounds before it.
                let quota: Vec<usize> = paces
                    .iter()
                    .map(|p| quota::per_slice(p.cycle_s(), m.slice_s, m.concurrency as u32, cap))
                    .collect();
                let mut paces = paces;
                let mut cursor = vec![0usize; n];
                for slice in 0..m.slices {
                    for i in order(self.order_seed ^ (u64::from(r) << 20) ^ (u64::from(slice) << 40), n) {
                        let reqs = self.slice(self.engines[i], &stream, cursor[i], quota[i], slice);
                        cursor[i] += reqs.len();
                        paces[i].add(&reqs);
                        trials[i].requests.extend(reqs);
                    }
                }
                self.paces = Some(paces);
            }
            Design::Trials => {
                // One trial per engine per round, every engine on the whole stream.
                for i in order(self.order_seed ^ (u64::from(r) << 20), n) {
                    let reqs = self.slice(self.engines[i], &stream, 0, stream.len(), 0);
                    trials[i].requests = reqs;
                }
            }
        }
        Ok(Some(Round {
            trials: trials.into_iter().enumerate().collect(),
            seconds: self.clock - start,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calibrate::{Bursts, Design, Noise};

    /// Every episode a request runs into is counted once, however many
    /// requests meet it; requests between episodes count none.
    #[test]
    fn each_episode_a_request_meets_is_counted_once() {
        let engines = [SimEngine::lognormal(0.01, 0.3)];
        let noise = Noise {
            bursts: Some(Bursts {
                fraction: 0.1,
                slowdown: 2.0,
                mean_s: 1.0,
            }),
            ..Noise::default()
        };
        let measure = Measure {
            design: Design::Interleaved,
            requests: 10,
            slices: 1,
            slice_s: 0.01,
            concurrency: 1,
            rows_share: 0.0,
        };
        let mut sim = Sim::new(&engines, noise, measure, 1);
        // Two known episodes and none after them.
        sim.episodes = vec![(1.0, 2.0), (5.0, 6.0)];
        sim.next_burst = f64::INFINITY;
        assert_eq!(sim.finish(0.5, 0.1), 0.6);
        assert_eq!(sim.episodes_met(), 0);
        // Runs from 0.9 into the first episode: 0.1 s before it, the rest at half speed.
        assert_eq!(sim.finish(0.9, 0.5), 1.8);
        assert_eq!(sim.episodes_met(), 1);
        sim.finish(1.5, 0.1);
        assert_eq!(sim.episodes_met(), 1, "the same episode again");
        sim.finish(3.0, 0.1);
        assert_eq!(sim.episodes_met(), 1, "between episodes");
        sim.finish(4.9, 2.0);
        assert_eq!(sim.episodes_met(), 2);
        sim.finish(7.0, 0.1);
        assert_eq!(sim.episodes_met(), 2);
    }
}
