//! Looking after every round without inflating the error rate: group-sequential
//! boundaries from the Lan–DeMets O'Brien–Fleming-type alpha-spending function.
//!
//! The benchmark looks at its data after every round from `min_rounds` on and
//! stops as soon as every deciding threshold is decided. A fixed 95 % interval
//! checked after every round would cross a threshold by chance far more often
//! than 2.5 % of the time; instead, a one-sided error rate `a` is *spent* over
//! the planned rounds, `a(t) = 2 − 2Φ(z_{1−a/2} / √t)` with `t` the fraction of
//! the planned rounds done. Early looks need overwhelming evidence, the last
//! look an interval only slightly wider than a fixed design's. The boundary of
//! each look is found by the recursive numerical integration of Armitage,
//! McPherson and Rowe (Jennison & Turnbull 2000, ch. 19) on the z scale, and
//! converted to Student's t with the rounds seen (the "significance level"
//! approach, J&T §11.4): the variance is estimated from the rounds themselves.

use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

/// Boundaries beyond this many standard deviations are treated as "never":
/// the probability above it (1e-19) is far below any error rate in use.
const Z_CAP: f64 = 9.0;

/// Grid points per look for the numerical integration (odd, for Simpson's rule).
const GRID: usize = 401;

/// Where the looks of a run fall, in rounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Looks {
    /// The first look (the benchmark's `min_rounds`): no look before it.
    pub first: u32,
    /// The current (or last) look: rounds done.
    pub last: u32,
    /// Rounds planned when the run started (the information fraction's denominator).
    pub planned: u32,
    /// Whether this look is the last one for a reason unrelated to the data
    /// (budget spent, planned rounds done, interrupted): it spends what is left.
    pub last_is_final: bool,
}

impl Looks {
    /// A single analysis of `rounds` rounds, as in a fixed design (no interim looks).
    pub fn fixed(rounds: u32) -> Looks {
        Looks {
            first: rounds,
            last: rounds,
            planned: rounds,
            last_is_final: true,
        }
    }

    /// The z-scale boundary of the current look for a one-sided error rate
    /// `alpha` spent over all looks (`f64::INFINITY` when nothing can be spent).
    /// Boundaries are cached: they depend only on the looks and `alpha`, and a
    /// calibration asks for the same few thousands of times.
    pub fn z_boundary(&self, alpha: f64) -> f64 {
        type Key = (u64, u32, u32, u32, bool);
        static CACHE: std::sync::OnceLock<std::sync::Mutex<std::collections::HashMap<Key, f64>>> =
            std::sync::OnceLock::new();
        let first = self.first.max(1);
        let last = self.last.max(first);
        let planned = self.planned.max(1);
        let key = (alpha.to_bits(), first, last, planned, self.last_is_final);
        let cache = CACHE.get_or_init(Default::default);
        if let Some(b) = cache.lock().ok().and_then(|c| c.get(&key).copied()) {
            return b;
        }
        let rounds: Vec<u32> = (first..=last).collect();
        let b = boundaries(alpha, &rounds, planned, self.last_is_final)
            .last()
            .copied()
            .unwrap_or(f64::INFINITY);
        if let Ok(mut c) = cache.lock() {
            c.insert(key, b);
        }
        b
    }

    /// The critical value for a Student-t statistic with `df` degrees of
    /// freedom at the current look: the t quantile with the same one-sided
    /// tail probability as the z boundary. `None` without degrees of freedom.
    pub fn t_critical(&self, alpha: f64, df: usize) -> Option<f64> {
        t_for_z(self.z_boundary(alpha), df)
    }
}

/// The one-sided error rate spent by information fraction `t` (O'Brien–Fleming type).
pub fn spent(alpha: f64, t: f64) -> f64 {
    if t <= 0.0 {
        return 0.0;
    }
    if t >= 1.0 {
        return alpha;
    }
    let n = std_normal();
    let z = n.inverse_cdf(1.0 - alpha / 2.0);
    2.0 * (1.0 - n.cdf(z / t.sqrt()))
}

fn std_normal() -> Normal {
    Normal::new(0.0, 1.0).expect("the standard normal exists")
}

/// z-scale upper boundaries for looks after `rounds[j]` rounds (increasing),
/// spending the one-sided rate `alpha` over `planned` rounds; with
/// `last_is_final`, the last look spends everything not yet spent.
pub fn boundaries(alpha: f64, rounds: &[u32], planned: u32, last_is_final: bool) -> Vec<f64> {
    let n = std_normal();
    let mut out = Vec::with_capacity(rounds.len());
    // The sub-density of the running sum S_j on its continuation region, on a grid.
    let mut grid: Vec<f64> = Vec::new();
    let mut dens: Vec<f64> = Vec::new();
    let mut prev_info = 0.0;
    let mut prev_spent = 0.0;
    for (j, &r) in rounds.iter().enumerate() {
        let info = f64::from(r);
        let t = info / f64::from(planned);
        let cum = if last_is_final && j + 1 == rounds.len() {
            alpha
        } else {
            spent(alpha, t)
        };
        let target = (cum - prev_spent).max(0.0);
        let sd_step = (info - prev_info).sqrt();
        let b = if j == 0 {
            if target <= 0.0 {
                Z_CAP
            } else {
                n.inverse_cdf(1.0 - target).min(Z_CAP)
            }
        } else {
            // Probability of first crossing at this look for a boundary b (z scale).
            let cross = |b: f64| {
                let u = b * info.sqrt();
                let vals: Vec<f64> = grid
                    .iter()
                    .zip(&dens)
                    .map(|(s, f)| f * (1.0 - n.cdf((u - s) / sd_step)))
                    .collect();
                simpson(&grid, &vals)
            };
            solve_decreasing(cross, target)
        };
        out.push(b);
        if j + 1 == rounds.len() {
            break;
        }
        // The new sub-density on (-8 sd, b sqrt(info)).
        let hi = b * info.sqrt();
        let lo = -8.0 * info.sqrt();
        let new_grid = linspace(lo, hi.max(lo + 1e-9), GRID);
        let new_dens: Vec<f64> = if j == 0 {
            new_grid
                .iter()
                .map(|x| (-(x * x) / (2.0 * info)).exp() / (2.0 * std::f64::consts::PI * info).sqrt())
                .collect()
        } else {
            new_grid
                .iter()
                .map(|x| {
                    let vals: Vec<f64> = grid
                        .iter()
                        .zip(&dens)
                        .map(|(s, f)| {
                            let z = (x - s) / sd_step;
                            f * (-(z * z) / 2.0).exp() / (sd_step * (2.0 * std::f64::consts::PI).sqrt())
                        })
                        .collect();
                    simpson(&grid, &vals)
                })
                .collect()
        };
        grid = new_grid;
        dens = new_dens;
        prev_info = info;
        prev_spent = cum;
    }
    out
}

/// The boundary `b` in [-Z_CAP, Z_CAP] at which the decreasing function `f` equals `target`.
fn solve_decreasing(f: impl Fn(f64) -> f64, target: f64) -> f64 {
    if target <= 0.0 || f(Z_CAP) >= target {
        return Z_CAP;
    }
    let (mut lo, mut hi) = (-Z_CAP, Z_CAP);
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if f(mid) > target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

fn linspace(a: f64, b: f64, n: usize) -> Vec<f64> {
    (0..n).map(|i| a + (b - a) * i as f64 / (n - 1) as f64).collect()
}

/// Simpson's rule on an evenly spaced grid with an odd number of points.
fn simpson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len();
    if n < 3 {
        return 0.0;
    }
    let h = (x[n - 1] - x[0]) / (n - 1) as f64;
    let mut s = y[0] + y[n - 1];
    for (i, v) in y.iter().enumerate().take(n - 1).skip(1) {
        s += if i % 2 == 1 { 4.0 * v } else { 2.0 * v };
    }
    s * h / 3.0
}

/// The Student-t quantile with the same upper-tail probability as the z value
/// `z` (`None` for `df` = 0; a z at the cap maps to infinity).
pub fn t_for_z(z: f64, df: usize) -> Option<f64> {
    if df == 0 {
        return None;
    }
    if z >= Z_CAP {
        return Some(f64::INFINITY);
    }
    // The upper tail from the lower one, so tiny tails keep their precision.
    let tail = std_normal().cdf(-z);
    let t = StudentsT::new(0.0, 1.0, df as f64).ok()?;
    Some(-t.inverse_cdf(tail))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_look_is_the_fixed_design() {
        let b = boundaries(0.025, &[10], 10, true);
        assert!((b[0] - 1.959964).abs() < 1e-5, "{b:?}");
        let t = t_for_z(b[0], 9).unwrap();
        assert!((t - 2.262157).abs() < 1e-4, "{t}");
    }

    /// gsDesign::gsDesign(k = 5, test.type = 1, alpha = 0.025, sfu = sfLDOF)
    /// upper bounds: 4.8769, 3.3569, 2.6803, 2.2898, 2.0310.
    #[test]
    fn five_equal_looks_match_gsdesign() {
        let b = boundaries(0.025, &[1, 2, 3, 4, 5], 5, false);
        let want = [4.8769, 3.3569, 2.6803, 2.2898, 2.0310];
        for (got, want) in b.iter().zip(want) {
            assert!((got - want).abs() < 2e-3, "{b:?}");
        }
    }

    /// The spent error rate: simulated random walks cross the boundaries with
    /// the planned total probability.
    #[test]
    fn simulated_crossing_rate_is_the_spent_alpha() {
        use rand::rngs::StdRng;
        use rand::{RngExt, SeedableRng};
        let rounds: Vec<u32> = (5..=20).collect();
        let b = boundaries(0.025, &rounds, 20, true);
        let mut rng = StdRng::seed_from_u64(3);
        let reps = 200_000;
        let mut crossed = 0;
        for _ in 0..reps {
            let mut s = 0.0;
            let mut k = 0u32;
            for (j, &r) in rounds.iter().enumerate() {
                while k < r {
                    let (u1, u2): (f64, f64) = (rng.random_range(1e-12..1.0), rng.random_range(0.0..1.0));
                    s += (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
                    k += 1;
                }
                if s / f64::from(r).sqrt() >= b[j] {
                    crossed += 1;
                    break;
                }
            }
        }
        let rate = crossed as f64 / reps as f64;
        assert!((rate - 0.025).abs() < 0.0015, "crossing rate {rate}, boundaries {b:?}");
        // The last look is barely wider than a fixed design's 1.96.
        assert!(b[b.len() - 1] < 2.2 && b[0] > 4.0, "{b:?}");
    }

    #[test]
    fn an_early_final_look_spends_the_rest() {
        let planned = Looks {
            first: 5,
            last: 8,
            planned: 20,
            last_is_final: false,
        };
        let stopped = Looks {
            last_is_final: true,
            ..planned
        };
        assert!(stopped.z_boundary(0.025) < planned.z_boundary(0.025));
        // OBF spends almost nothing early, so a look made final early is about the fixed design's.
        assert!((stopped.z_boundary(0.025) - 1.96).abs() < 1e-3);
        assert_eq!(Looks::fixed(7).z_boundary(0.025), boundaries(0.025, &[7], 7, true)[0]);
        assert!(t_for_z(Z_CAP, 3).unwrap().is_infinite());
        assert_eq!(t_for_z(2.0, 0), None);
    }
}
