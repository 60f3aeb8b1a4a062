//! Candidate / baseline ratios with percentile-bootstrap intervals.
//!
//! Latency quantile ratios resample contiguous blocks of requests (each trial
//! cut into [`BLOCKS_PER_TRIAL`] blocks in request order, so that drift and
//! correlation between neighbouring requests stay inside a block); throughput
//! ratios resample whole trials. Each engine is resampled independently.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::quantile::{order_statistic_ranks, Estimate};

/// How the intervals are computed, written into the reports.
pub const BOOTSTRAP_METHOD: &str =
    "percentile bootstrap; latency quantiles resample contiguous blocks (10 per trial), throughput resamples trials";

/// Blocks each trial is cut into for resampling.
pub const BLOCKS_PER_TRIAL: usize = 10;

/// One engine's measurements: latencies per trial in request order, and throughput per trial.
#[derive(Debug, Clone, Default)]
pub struct Measured {
    pub trials: Vec<Vec<f64>>,
    pub rps: Vec<f64>,
}

/// Ratios of a candidate to the baseline, with intervals where the data supports them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RatioIntervals {
    pub p95: Option<Estimate>,
    pub p99: Option<Estimate>,
    pub rps: Option<Estimate>,
}

fn blocks(m: &Measured) -> Vec<&[f64]> {
    m.trials
        .iter()
        .filter(|t| !t.is_empty())
        .flat_map(|t| {
            let size = t.len().div_ceil(BLOCKS_PER_TRIAL).max(1);
            t.chunks(size)
        })
        .collect()
}

/// The interpolated `p` quantile of unsorted data, in linear time.
fn select_quantile(data: &mut [f64], p: f64) -> f64 {
    let rank = p * (data.len() - 1) as f64;
    let lo = rank.floor() as usize;
    let (_, &mut a, right) = data.select_nth_unstable_by(lo, f64::total_cmp);
    let b = if rank > lo as f64 {
        right.iter().copied().fold(f64::INFINITY, f64::min)
    } else {
        a
    };
    a + (b - a) * (rank - lo as f64)
}

fn resample_into(rng: &mut StdRng, blocks: &[&[f64]], out: &mut Vec<f64>) {
    out.clear();
    for _ in 0..blocks.len() {
        out.extend_from_slice(blocks[rng.random_range(0..blocks.len())]);
    }
}

fn percentile_ci(mut xs: Vec<f64>, confidence: f64) -> Option<(f64, f64)> {
    xs.retain(|x| x.is_finite());
    if xs.len() < 10 {
        return None;
    }
    xs.sort_by(f64::total_cmp);
    let a = (1.0 - confidence) / 2.0;
    Some((super::quantile(&xs, a)?, super::quantile(&xs, 1.0 - a)?))
}

/// Candidate / baseline ratios of p95, p99 and mean throughput. A quantile
/// ratio has no interval when either side is too small for that quantile's own
/// order-statistic interval (the answer is then "inconclusive", never a guess).
pub fn ratio_intervals(cand: &Measured, base: &Measured, resamples: u32, seed: u64, confidence: f64) -> RatioIntervals {
    let mut rng = StdRng::seed_from_u64(seed);
    let (cb, bb) = (blocks(cand), blocks(base));
    let pooled = |m: &Measured| m.trials.iter().flatten().copied().collect::<Vec<f64>>();
    let (mut cp, mut bp) = (pooled(cand), pooled(base));
    let point = |c: &mut Vec<f64>, b: &mut Vec<f64>, p: f64| {
        if c.is_empty() || b.is_empty() {
            None
        } else {
            Some(select_quantile(c, p) / select_quantile(b, p))
        }
    };
    let p95_point = point(&mut cp, &mut bp, 0.95);
    let p99_point = point(&mut cp, &mut bp, 0.99);
    let supported = |p: f64| {
        order_statistic_ranks(cp.len(), p, confidence).is_some()
            && order_statistic_ranks(bp.len(), p, confidence).is_some()
    };
    let (ok95, ok99) = (supported(0.95), supported(0.99));

    let mut r95 = Vec::with_capacity(resamples as usize);
    let mut r99 = Vec::with_capacity(resamples as usize);
    let (mut cbuf, mut bbuf) = (Vec::new(), Vec::new());
    if (ok95 || ok99) && !cb.is_empty() && !bb.is_empty() {
        for _ in 0..resamples {
            resample_into(&mut rng, &cb, &mut cbuf);
            resample_into(&mut rng, &bb, &mut bbuf);
            r95.push(select_quantile(&mut cbuf, 0.95) / select_quantile(&mut bbuf, 0.95));
            r99.push(select_quantile(&mut cbuf, 0.99) / select_quantile(&mut bbuf, 0.99));
        }
    }
    let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len() as f64;
    let rps = if cand.rps.is_empty() || base.rps.is_empty() {
        None
    } else {
        let value = mean(&cand.rps) / mean(&base.rps);
        let ci = if cand.rps.len() >= 2 && base.rps.len() >= 2 {
            let ratios: Vec<f64> = (0..resamples)
                .map(|_| {
                    let pick = |rng: &mut StdRng, xs: &[f64]| {
                        (0..xs.len()).map(|_| xs[rng.random_range(0..xs.len())]).sum::<f64>() / xs.len() as f64
                    };
                    pick(&mut rng, &cand.rps) / pick(&mut rng, &base.rps)
                })
                .collect();
            percentile_ci(ratios, confidence)
        } else {
            None
        };
        Some(Estimate { value, ci })
    };
    RatioIntervals {
        p95: p95_point.map(|value| Estimate {
            value,
            ci: if ok95 { percentile_ci(r95, confidence) } else { None },
        }),
        p99: p99_point.map(|value| Estimate {
            value,
            ci: if ok99 { percentile_ci(r99, confidence) } else { None },
        }),
        rps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lognormal(rng: &mut StdRng, n: usize, scale: f64) -> Vec<f64> {
        (0..n)
            .map(|_| {
                // Box-Muller normal, then exp.
                let (u1, u2): (f64, f64) = (rng.random_range(1e-12..1.0), rng.random_range(0.0..1.0));
                let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
                scale * (0.5 * z).exp()
            })
            .collect()
    }

    #[test]
    fn ratio_intervals_cover_a_known_ratio() {
        let mut rng = StdRng::seed_from_u64(1);
        let trials = |rng: &mut StdRng, scale: f64| Measured {
            trials: (0..3).map(|_| lognormal(rng, 2000, scale)).collect(),
            rps: (0..3)
                .map(|_| 1000.0 / scale * (1.0 + rng.random_range(-0.02..0.02)))
                .collect(),
        };
        let base = trials(&mut rng, 4.0);
        let cand = trials(&mut rng, 1.0);
        let r = ratio_intervals(&cand, &base, 1000, 7, 0.95);
        for (name, e, want) in [("p95", r.p95, 0.25), ("p99", r.p99, 0.25), ("rps", r.rps, 4.0)] {
            let e = e.unwrap();
            let (lo, hi) = e.ci.unwrap_or_else(|| panic!("{name} has no interval"));
            assert!(lo <= want && want <= hi, "{name}: {want} outside [{lo}, {hi}]");
            assert!((e.value - want).abs() / want < 0.15, "{name}: point {}", e.value);
            assert!(hi / lo < 1.6, "{name}: interval [{lo}, {hi}] too wide to mean anything");
        }
        // Same seed, same answer.
        assert_eq!(r, ratio_intervals(&cand, &base, 1000, 7, 0.95));
    }

    #[test]
    fn too_little_data_gives_no_interval() {
        let m = Measured {
            trials: vec![vec![1.0; 100]],
            rps: vec![10.0],
        };
        let r = ratio_intervals(&m, &m, 200, 1, 0.95);
        assert!(r.p99.unwrap().ci.is_none(), "p99 from 100 samples must be inconclusive");
        assert!(r.p95.unwrap().ci.is_some());
        assert!(r.rps.unwrap().ci.is_none(), "one trial: no throughput interval");
    }

    /// Seeded coverage study: on lognormal data the 95 % order-statistic
    /// intervals for p95 and p99 cover the true quantile 93-97 % of the time.
    #[test]
    fn quantile_intervals_cover_93_to_97_percent() {
        let mut rng = StdRng::seed_from_u64(20261123);
        let n = 1000;
        let reps = 1000;
        // True quantiles of exp(0.5 Z): exp(0.5 z_p).
        let truth = |z: f64| (0.5 * z).exp();
        for (p, z) in [(0.95, 1.6448536269514722), (0.99, 2.3263478740408408)] {
            let mut covered = 0;
            for _ in 0..reps {
                let mut xs = lognormal(&mut rng, n, 1.0);
                xs.sort_by(f64::total_cmp);
                let (lo, hi) = crate::stats::quantile_with_ci(&xs, p, 0.95).unwrap().ci.unwrap();
                covered += usize::from(lo <= truth(z) && truth(z) <= hi);
            }
            let rate = covered as f64 / reps as f64;
            assert!((0.93..=0.97).contains(&rate), "p{}: coverage {rate}", p * 100.0);
        }
    }
}
