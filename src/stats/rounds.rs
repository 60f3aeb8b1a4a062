//! Intervals from the variation between rounds.
//!
//! Requests within a run are not independent on a shared machine (drift
//! between trials, slow bursts, neighbouring requests alike), so the
//! uncertainty of a figure is read from how much it varies from round to
//! round, not from the number of requests. Everything is on the log scale.
//! Throughput and mean latency: the estimate is the mean of the per-round
//! logs (for a ratio, of the per-round paired log ratios), [`Spread::new`] /
//! [`Spread::of_logs`]. Quantiles: the estimate is the quantile of all rounds
//! pooled and its standard error the delete-one-round [`jackknife`] (a round's
//! own p99 from 400 requests is its 4th-5th largest value, which misreads a
//! tail of another shape; the per-round spread misses how much a pooled p99
//! hinges on which engine caught a run's few slow bursts: `calibrate` showed
//! both). The interval is `exp(center ± c · se)` with `c` a Student-t critical
//! value with `k − 1` degrees of freedom, adjusted for the looks the run made
//! (`sequential`).

/// A positive quantity's per-round spread on the log scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    /// Mean of the per-round log values (the estimate is its exp).
    pub log_center: f64,
    /// Sample standard deviation of the per-round log values (0 with one round).
    pub sd: f64,
    /// Rounds it comes from.
    pub rounds: usize,
    /// The standard error below and above the center as multiples of
    /// `sd / √rounds` (1 and 1 for a symmetric spread; a quantile beside a
    /// gap between clusters has one side far wider than the other).
    pub below: f64,
    pub above: f64,
    /// Degrees of freedom of its t statistic: `rounds − 1`, fewer when a few
    /// rounds carry most of the variation ([`effective_df`]).
    pub df: f64,
    /// The skewness of the rounds' contributions to the estimate (their
    /// pseudo-values) on the side below and above the center: 0 for a
    /// symmetric spread. A few rounds that met a slow episode make it large,
    /// and [`Spread::interval`] then corrects the t statistic's skew.
    pub skew_below: f64,
    pub skew_above: f64,
}

impl Spread {
    /// From per-round values on the natural scale; `None` without values or
    /// when one is not a positive number.
    pub fn new(per_round: &[f64]) -> Option<Spread> {
        if per_round.iter().any(|v| !(*v > 0.0 && v.is_finite())) {
            return None;
        }
        Spread::of_logs(&per_round.iter().map(|v| v.ln()).collect::<Vec<_>>())
    }

    /// From per-round log values (for a ratio: the paired log ratios); `None` without values.
    pub fn of_logs(logs: &[f64]) -> Option<Spread> {
        if logs.is_empty() || logs.iter().any(|v| !v.is_finite()) {
            return None;
        }
        Some(Spread {
            log_center: logs.iter().sum::<f64>() / logs.len() as f64,
            sd: sd(logs),
            rounds: logs.len(),
            below: 1.0,
            above: 1.0,
            df: effective_df(logs),
            skew_below: skewness(logs),
            skew_above: skewness(logs),
        })
    }

    /// The estimate on the natural scale.
    pub fn value(&self) -> f64 {
        self.log_center.exp()
    }

    /// Standard error of the center (`sd / √k`).
    pub fn se(&self) -> f64 {
        self.sd / (self.rounds.max(1) as f64).sqrt()
    }

    /// `[exp(center − t'_below · se_below), exp(center + t'_above · se_above)]`:
    /// each critical value `t` is widened by [`skew_widened`] on the side the
    /// rounds' skewness says a t interval is too short (a few rounds pulling
    /// the estimate one way), and never narrowed.
    pub fn interval(&self, t_below: f64, t_above: f64) -> (f64, f64) {
        let se = self.se();
        let k = self.rounds.max(1) as f64;
        // The pseudo-values' skew toward low values leaves the lower side too short.
        let lower = skew_widened(t_below, -self.skew_below, k);
        let upper = skew_widened(t_above, self.skew_above, k);
        (
            (self.log_center - lower * se * self.below).exp(),
            (self.log_center + upper * se * self.above).exp(),
        )
    }

    /// The same spread without its skewness correction (tests compare the two).
    #[cfg(test)]
    pub(crate) fn symmetric(self) -> Spread {
        Spread {
            skew_below: 0.0,
            skew_above: 0.0,
            ..self
        }
    }

    /// A spread whose standard error is `se_below` below the center and
    /// `se_above` above it, from `rounds` rounds with `df` degrees of freedom
    /// (and symmetric contributions: see [`Spread::with_skew`]).
    pub fn asymmetric(log_center: f64, se_below: f64, se_above: f64, rounds: usize, df: f64) -> Spread {
        let se = 0.5 * (se_below + se_above);
        let (below, above) = if se > 0.0 {
            (se_below / se, se_above / se)
        } else {
            (1.0, 1.0)
        };
        Spread {
            log_center,
            sd: se * (rounds.max(1) as f64).sqrt(),
            rounds,
            below,
            above,
            df,
            skew_below: 0.0,
            skew_above: 0.0,
        }
    }

    /// The spread with the skewness of its contributions below and above the center.
    pub fn with_skew(self, skew_below: f64, skew_above: f64) -> Spread {
        Spread {
            skew_below,
            skew_above,
            ..self
        }
    }

    /// Whether an interval can be drawn: at least two rounds that differ (a
    /// zero spread says nothing about the next round, so it decides nothing).
    pub fn has_interval(&self) -> bool {
        self.rounds >= 2 && self.sd > 0.0 && self.sd.is_finite()
    }

    /// Degrees of freedom of the t statistic.
    pub fn df(&self) -> f64 {
        self.df
    }
}

/// The degrees of freedom of a t statistic whose variance is estimated from
/// `k` rounds' contributions `x` (per-round values, or each round's
/// leave-out change): `k − 1` for normal contributions, fewer when their
/// excess kurtosis `κ` is high, as when a few rounds met a slow episode and
/// carry most of the variation. The variance estimate's own variance is then
/// about `σ⁴ (2/(k − 1) + κ/k)`; matching a χ² gives
/// `df = 2 / (2/(k − 1) + κ/k)` (Satterthwaite's moment matching; κ from the
/// sample, at least 0).
pub fn effective_df(x: &[f64]) -> f64 {
    let k = x.len();
    if k < 2 {
        return 0.0;
    }
    let kf = k as f64;
    let [m2, _, m4] = central_moments(x);
    let kurt = if m2 > 0.0 { (m4 / (m2 * m2) - 3.0).max(0.0) } else { 0.0 };
    let df = 2.0 / (2.0 / (kf - 1.0) + kurt / kf);
    df.clamp(1.0, kf - 1.0)
}

/// The central moments `m₂, m₃, m₄` of `x` (sums over its length).
fn central_moments(x: &[f64]) -> [f64; 3] {
    let kf = x.len() as f64;
    let mean = x.iter().sum::<f64>() / kf;
    let m = |p: i32| x.iter().map(|v| (v - mean).powi(p)).sum::<f64>() / kf;
    [m(2), m(3), m(4)]
}

/// The sample skewness `m₃ / m₂^{3/2}` of `x` (0 for fewer than three values
/// or none that differ).
pub fn skewness(x: &[f64]) -> f64 {
    if x.len() < 3 {
        return 0.0;
    }
    let [m2, m3, _] = central_moments(x);
    if m2 > 0.0 && m2.is_finite() {
        let g = m3 / m2.powf(1.5);
        if g.is_finite() {
            return g;
        }
    }
    0.0
}

/// A critical value `t` of a mean of `k` contributions, widened for their
/// skewness `γ` on one side: the Cornish–Fisher expansion of the studentised
/// mean's quantile, `t + γ (2t² + 1) / (6√k)`, where `γ > 0` means the
/// contributions reach far on this side (as when a few rounds met a slow
/// episode and the rest did not: a run that met fewer than its share of them
/// has an estimate and a standard error that are both too small). `γ` is
/// first shrunk by twice the skewness's own standard error for normal
/// contributions, `√(6/k)`, so that the skew of rounds that are merely noisy
/// widens nothing; a negative `γ` leaves `t` as it is (an interval is never
/// made shorter than the t interval on the strength of an estimated skew).
pub fn skew_widened(t: f64, skew: f64, k: f64) -> f64 {
    if !(k >= 3.0 && skew.is_finite() && t.is_finite()) {
        return t;
    }
    let excess = (skew - 2.0 * (6.0 / k).sqrt()).max(0.0);
    t + excess * (2.0 * t * t + 1.0) / (6.0 * k.sqrt())
}

/// Sample standard deviation (n − 1); 0 for fewer than two values.
pub fn sd(xs: &[f64]) -> f64 {
    let n = xs.len();
    if n < 2 {
        return 0.0;
    }
    let mean = xs.iter().sum::<f64>() / n as f64;
    (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_is_the_t_interval_on_the_per_round_logs() {
        let s = Spread::new(&[1.0, 2.0, 4.0]).unwrap();
        assert_eq!(s.rounds, 3);
        assert!((s.value() - 2.0).abs() < 1e-12, "geometric mean");
        assert!((s.sd - 2f64.ln()).abs() < 1e-12);
        let (lo, hi) = s.interval(4.302653, 4.302653);
        let half = 4.302653 * 2f64.ln() / 3f64.sqrt();
        assert!((lo - (2f64.ln() - half).exp()).abs() < 1e-9);
        assert!((hi - (2f64.ln() + half).exp()).abs() < 1e-9);
        assert_eq!(Spread::new(&[]), None);
        assert_eq!(Spread::new(&[1.0, -1.0]), None);
        let r = Spread::of_logs(&[0.1, 0.1, 0.1]).unwrap();
        assert!((r.log_center - 0.1).abs() < 1e-12);
        assert!(r.sd.abs() < 1e-12);
        assert_eq!(r.df(), 2.0);
    }

    /// The widening grows with the skew beyond noise and with `t`, is
    /// nothing for symmetric or noisy rounds and never narrows.
    #[quickcheck_macros::quickcheck]
    fn skew_widens_and_never_narrows(t: u16, skew: i8, k: u8) -> bool {
        let (t, skew, k) = (f64::from(t) / 8000.0, f64::from(skew) / 20.0, f64::from(k.max(3)));
        let w = skew_widened(t, skew, k);
        let noise = 2.0 * (6.0 / k).sqrt();
        w >= t && skew_widened(t, skew + 0.5, k) >= w && (skew > noise || w == t) && skew_widened(t, 0.0, k) == t
    }

    /// Rounds skewed to the right (a few far above the rest) reach further
    /// above the center than a t interval, never less far below it.
    #[test]
    fn skewed_rounds_widen_the_side_they_pull_to() {
        let mut logs = vec![0.0; 17];
        logs.extend([1.0, 1.2, 0.9]);
        let s = Spread::of_logs(&logs).unwrap();
        assert!(s.skew_above > 1.0, "{s:?}");
        let (lo, hi) = s.interval(2.0, 2.0);
        let (tlo, thi) = s.symmetric().interval(2.0, 2.0);
        assert!(hi > thi * 1.01, "{hi} vs {thi}");
        assert_eq!(lo, tlo, "the other side keeps the t interval");
        // Mirrored, the lower side widens instead.
        let neg: Vec<f64> = logs.iter().map(|v| -v).collect();
        let m = Spread::of_logs(&neg).unwrap();
        let ((lo, hi), (tlo, thi)) = (m.interval(2.0, 2.0), m.symmetric().interval(2.0, 2.0));
        assert!(lo < tlo / 1.01 && hi == thi, "{lo} {hi} vs {tlo} {thi}");
        assert!((skewness(&logs) + skewness(&neg)).abs() < 1e-12);
        assert_eq!(skewness(&[1.0, 2.0]), 0.0);
        assert_eq!(skewness(&[1.0, 1.0, 1.0]), 0.0);
    }
}

/// The `j`-th smallest (0-based) of the multiset `all \ removed`, where
/// `removed` is a sub-multiset of `all` and both are sorted: found by binary
/// search on how many of the remaining values are at most each value of `all`.
fn select_without(all: &[f64], removed: &[f64], j: usize) -> f64 {
    let remaining_le = |x: f64| all.partition_point(|v| *v <= x) - removed.partition_point(|v| *v <= x);
    let i = all.partition_point(|x| remaining_le(*x) < j + 1);
    all[i.min(all.len() - 1)]
}

/// The `p` quantile (rank p(n−1), interpolated) of sorted `all` without the
/// sorted sub-multiset `removed`; `None` when nothing remains.
pub fn quantile_without(all: &[f64], removed: &[f64], p: f64) -> Option<f64> {
    let n = all.len().checked_sub(removed.len()).filter(|n| *n > 0)?;
    let rank = p * (n - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    let a = select_without(all, removed, lo);
    let b = if hi == lo { a } else { select_without(all, removed, hi) };
    Some(a + (b - a) * (rank - lo as f64))
}

/// A pooled quantile's (or pooled quantile ratio's) spread by the
/// delete-one-round jackknife: `theta(None)` is the log statistic on all
/// rounds, `theta(Some(r))` without round `r`; the standard error is
/// `sqrt((k−1)/k · Σ (θ₍ᵣ₎ − θ̄)²)`, stored as `sd = se · √k` so that
/// [`Spread::se`] gives it back.
pub fn jackknife(k: usize, theta: impl Fn(Option<usize>) -> Option<f64>) -> Option<Spread> {
    let full = theta(None).filter(|v| v.is_finite())?;
    if k < 2 {
        return Some(Spread {
            log_center: full,
            sd: 0.0,
            rounds: k,
            below: 1.0,
            above: 1.0,
            df: 0.0,
            skew_below: 0.0,
            skew_above: 0.0,
        });
    }
    let leave_out: Vec<f64> = (0..k).map(|r| theta(Some(r))).collect::<Option<Vec<_>>>()?;
    if leave_out.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let mean = leave_out.iter().sum::<f64>() / k as f64;
    let var = (k - 1) as f64 / k as f64 * leave_out.iter().map(|v| (v - mean).powi(2)).sum::<f64>();
    // A round's pseudo-value moves opposite to the estimate without it.
    let skew = -skewness(&leave_out);
    Some(Spread {
        log_center: full,
        sd: var.sqrt() * (k as f64).sqrt(),
        rounds: k,
        below: 1.0,
        above: 1.0,
        df: effective_df(&leave_out),
        skew_below: skew,
        skew_above: skew,
    })
}

#[cfg(test)]
mod jackknife_tests {
    use super::*;

    #[test]
    fn quantiles_without_a_round_equal_the_quantiles_of_the_rest() {
        let rounds: Vec<Vec<f64>> = vec![
            vec![1.0, 5.0, 9.0, 2.0],
            vec![3.0, 3.0, 7.0],
            vec![8.0, 4.0, 6.0, 3.0, 10.0],
        ];
        let mut all: Vec<f64> = rounds.iter().flatten().copied().collect();
        all.sort_by(f64::total_cmp);
        for (r, out) in rounds.iter().enumerate() {
            let mut removed = out.clone();
            removed.sort_by(f64::total_cmp);
            let mut rest: Vec<f64> = rounds
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != r)
                .flat_map(|(_, v)| v.iter().copied())
                .collect();
            rest.sort_by(f64::total_cmp);
            for p in [0.0, 0.3, 0.5, 0.95, 0.99, 1.0] {
                assert_eq!(
                    quantile_without(&all, &removed, p),
                    crate::stats::quantile(&rest, p),
                    "round {r} p {p}"
                );
            }
        }
        assert_eq!(quantile_without(&all, &all, 0.5), None);
    }

    #[test]
    fn the_jackknife_of_a_mean_is_the_usual_standard_error() {
        // For the mean, the delete-one jackknife standard error is sd / sqrt(k) exactly.
        let xs = [1.0, 4.0, 2.0, 8.0, 5.0];
        let mean = |skip: Option<usize>| {
            let v: Vec<f64> = xs
                .iter()
                .enumerate()
                .filter(|(i, _)| Some(*i) != skip)
                .map(|(_, x)| *x)
                .collect();
            Some(v.iter().sum::<f64>() / v.len() as f64)
        };
        let s = jackknife(5, mean).unwrap();
        assert!((s.se() - sd(&xs) / 5f64.sqrt()).abs() < 1e-12, "{s:?}");
        assert_eq!(s.log_center, 4.0);
    }
}
