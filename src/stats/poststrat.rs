//! Post-stratified quantiles: a quantile of the mix, not of the sample.
//!
//! Each answered request falls in a known stratum: an empty page or a page
//! with rows (on the service's default mix about 5.5 % of requests return
//! rows and cost a hundred times more than the rest). A fast engine's p95
//! sits at the edge between the two clusters, so the share of non-empty pages
//! an engine happened to draw moves its plain sample p95 across that gap:
//! from 3 µs to 90 µs when the share falls below 5 %. Post-stratification
//! fixes the shares: the distribution of a figure is
//! `G(x) = Σ_h W_h · F_h(x)`, with `F_h` the engine's own distribution within
//! stratum `h` and `W_h` the stratum's share of the mix, the same for every
//! engine (counted over every query of the mix the run answered). A quantile
//! is `G⁻¹(p)`. With one stratum it is exactly the rank-interpolated quantile
//! of [`crate::stats::quantile`] (each `F_h` interpolates linearly between
//! order statistics, `F(y_i) = (i − 1)/(n − 1)`).
//!
//! Every function takes an optional `removed` multiset per stratum, so the
//! delete-one-round jackknife recomputes a figure without one round's
//! requests without sorting again.

/// Strata: 0 = an empty page, 1 = a page with rows.
pub const STRATA: usize = 2;

/// The names of the strata, in index order.
pub const STRATUM_NAMES: [&str; STRATA] = ["empty", "non-empty"];

/// The stratum of an answered request with `rows` events.
pub fn stratum(rows: u32) -> usize {
    usize::from(rows > 0)
}

/// A stratum's sorted sample, without an optional sorted sub-multiset.
#[derive(Clone, Copy)]
pub struct Sample<'a> {
    pub all: &'a [f64],
    pub removed: &'a [f64],
}

impl Sample<'_> {
    /// Values remaining.
    pub fn len(&self) -> usize {
        self.all.len() - self.removed.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Remaining values `<= x`.
    fn count_le(&self, x: f64) -> usize {
        self.all.partition_point(|v| *v <= x) - self.removed.partition_point(|v| *v <= x)
    }

    /// Remaining values `< x`.
    fn count_lt(&self, x: f64) -> usize {
        self.all.partition_point(|v| *v < x) - self.removed.partition_point(|v| *v < x)
    }

    /// The `j`-th smallest remaining value (0-based).
    fn select(&self, j: usize) -> f64 {
        let i = self.all.partition_point(|x| self.count_le(*x) < j + 1);
        self.all[i.min(self.all.len() - 1)]
    }

    /// The distribution function at the stratum's order statistics, as the
    /// service runner's quantile reads them (the `i`-th smallest of `n` at
    /// `(i − 1)/(n − 1)`), held between them: `(count(<= x) − 1)/(n − 1)`.
    fn cdf(&self, x: f64) -> f64 {
        let n = self.len();
        match self.count_le(x) {
            0 => 0.0,
            c if c >= n => 1.0,
            c => (c - 1) as f64 / (n - 1) as f64,
        }
    }

    /// The distribution function at the first of the stratum's values equal
    /// to `x` (its order statistic's own level, ties not yet counted), or held
    /// from below where the stratum has no value `x`.
    fn cdf_first(&self, x: f64) -> f64 {
        let (lt, le) = (self.count_lt(x), self.count_le(x));
        if le == lt {
            return self.cdf(x);
        }
        let n = self.len();
        if n <= 1 {
            1.0
        } else {
            (lt as f64 / (n - 1) as f64).min(1.0)
        }
    }
}

/// `G(x) = Σ w_h F_h(x)` (strata without values left out and the weights
/// renormalised): the share of the mix's requests at most `x`.
pub fn cdf(strata: &[Sample; STRATA], w: &[f64; STRATA], x: f64) -> Option<f64> {
    let w = present_weights(w, strata)?;
    Some(
        (0..STRATA)
            .filter(|h| w[*h] > 0.0)
            .map(|h| w[h] * strata[h].cdf(x))
            .sum(),
    )
}

/// The variance of `G(x)` were every request independent: each stratum's
/// binomial variance `F_h(1 − F_h)/n_h`, weighted by `w_h²` (strata without
/// values left out and the weights renormalised, as in [`cdf`]).
pub fn independent_var(strata: &[Sample; STRATA], w: &[f64; STRATA], x: f64) -> Option<f64> {
    let w = present_weights(w, strata)?;
    Some(
        (0..STRATA)
            .filter(|h| w[*h] > 0.0)
            .map(|h| {
                let f = strata[h].cdf(x);
                w[h] * w[h] * f * (1.0 - f) / strata[h].len() as f64
            })
            .sum(),
    )
}

/// Weights renormalised over the strata that have values (`None` when none has).
fn present_weights(w: &[f64; STRATA], strata: &[Sample; STRATA]) -> Option<[f64; STRATA]> {
    let mut out = [0.0; STRATA];
    let mut total = 0.0;
    for h in 0..STRATA {
        if !strata[h].is_empty() && w[h] > 0.0 {
            out[h] = w[h];
            total += w[h];
        }
    }
    if total <= 0.0 {
        return None;
    }
    for v in &mut out {
        *v /= total;
    }
    Some(out)
}

/// The `p` quantile of `G = Σ w_h F_h`: `G` is evaluated at the latencies
/// (`pooled`: every stratum's values merged and sorted, removed ones
/// included, where `G` does not rise) and inverted linearly between the first
/// one where it reaches `p` and the largest remaining latency below it. With
/// one stratum of distinct values this is exactly the rank-interpolated
/// quantile (rank `p(n − 1)`); between two strata's latencies each `F_h` is
/// held at its last order statistic, an approximation of at most one order
/// statistic's weight in `G`. Strata without values are left out and the
/// weights renormalised; `None` when no stratum with weight has values.
pub fn quantile(pooled: &[f64], strata: &[Sample; STRATA], w: &[f64; STRATA], p: f64) -> Option<f64> {
    let w = present_weights(w, strata)?;
    let live: Vec<usize> = (0..STRATA).filter(|h| w[*h] > 0.0).collect();
    let g = |x: f64| -> f64 { live.iter().map(|&h| w[h] * strata[h].cdf(x)).sum() };
    if p <= 0.0 {
        // The smallest value any weighted stratum still holds.
        return live
            .iter()
            .filter(|&&h| !strata[h].is_empty())
            .map(|&h| strata[h].select(0))
            .reduce(f64::min);
    }
    let first = pooled.partition_point(|v| g(*v) < p);
    let b = match pooled.get(first) {
        Some(b) => *b,
        None => return pooled.last().copied(),
    };
    // The largest remaining latency of a weighted stratum below b.
    let a = live
        .iter()
        .filter_map(|&h| match strata[h].count_lt(b) {
            0 => None,
            c => Some(strata[h].select(c - 1)),
        })
        .reduce(f64::max);
    let Some(a) = a else {
        return Some(b);
    };
    // Between a and b, G rises to its level at b's first order statistic;
    // further up (ties at b) the quantile is b itself.
    let ga = g(a);
    let gb: f64 = live.iter().map(|&h| w[h] * strata[h].cdf_first(b)).sum();
    if gb > ga && p > ga && p <= gb {
        Some(a + (b - a) * (p - ga) / (gb - ga))
    } else {
        Some(b)
    }
}

/// `Σ w_h · mean_h` from per-stratum sums and counts (strata without values
/// left out and the weights renormalised).
pub fn mean(sums: &[f64; STRATA], counts: &[f64; STRATA], w: &[f64; STRATA]) -> Option<f64> {
    let mut total_w = 0.0;
    let mut acc = 0.0;
    for h in 0..STRATA {
        if counts[h] > 0.0 && w[h] > 0.0 {
            acc += w[h] * sums[h] / counts[h];
            total_w += w[h];
        }
    }
    (total_w > 0.0).then(|| acc / total_w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use quickcheck_macros::quickcheck;

    fn sorted(mut v: Vec<f64>) -> Vec<f64> {
        v.sort_by(f64::total_cmp);
        v
    }

    #[test]
    fn one_stratum_is_the_rank_interpolated_quantile() {
        let xs = sorted(vec![3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0]);
        let s = [Sample { all: &xs, removed: &[] }, Sample { all: &[], removed: &[] }];
        for p in [0.0, 0.1, 0.25, 0.5, 0.77, 0.95, 0.99, 1.0] {
            let got = quantile(&xs, &s, &[0.3, 0.7], p).unwrap();
            let want = crate::stats::quantile(&xs, p).unwrap();
            assert!((got - want).abs() < 1e-12, "p {p}: {got} vs {want}");
        }
    }

    /// For any sample and removal, one stratum without a sub-multiset equals
    /// the rank-interpolated quantile of what remains.
    #[quickcheck]
    fn removal_equals_the_quantile_of_the_rest(values: Vec<u16>, cut: u8, p: u8) -> bool {
        let mut values = values;
        values.sort_unstable();
        values.dedup();
        // Distinct values in a scrambled order, so the removed ones are any subset.
        values.sort_by_key(|v| v.wrapping_mul(40503));
        if values.len() < 3 {
            return true;
        }
        let all = sorted(values.iter().map(|v| f64::from(*v)).collect());
        let k = usize::from(cut) % (values.len() - 1);
        let removed = sorted(values[..k].iter().map(|v| f64::from(*v)).collect());
        let rest = sorted(values[k..].iter().map(|v| f64::from(*v)).collect());
        let p = f64::from(p) / 255.0;
        let s = [
            Sample {
                all: &all,
                removed: &removed,
            },
            Sample { all: &[], removed: &[] },
        ];
        let got = quantile(&all, &s, &[1.0, 0.0], p).unwrap();
        let want = crate::stats::quantile(&rest, p).unwrap();
        (got - want).abs() < 1e-9
    }

    /// Two clusters: the quantile follows the weights, not the sample's shares.
    #[test]
    fn the_weights_not_the_sample_decide_where_the_quantile_falls() {
        // 980 fast (1..2) and 20 slow (100..200) requests: 2 % slow in the sample.
        let fast = sorted((0..980).map(|i| 1.0 + f64::from(i) / 980.0).collect());
        let slow = sorted((0..20).map(|i| 100.0 + 5.0 * f64::from(i)).collect());
        let pooled = sorted(fast.iter().chain(&slow).copied().collect());
        let s = [
            Sample {
                all: &fast,
                removed: &[],
            },
            Sample {
                all: &slow,
                removed: &[],
            },
        ];
        // With the mix's 5.5 % slow share, p95 is inside the slow cluster
        // (its (0.055 - 0.05)/0.055 = 9.1 % point), though the sample's p95 is fast.
        let q = quantile(&pooled, &s, &[0.945, 0.055], 0.95).unwrap();
        let want_rank = (0.055 - 0.05) / 0.055 * 19.0;
        assert!((q - (100.0 + 5.0 * want_rank)).abs() < 1e-9, "{q}");
        assert!(crate::stats::quantile(&pooled, 0.95).unwrap() < 2.0);
        // With a 2 % share p95 is in the fast cluster, at its 0.95/0.98 point.
        let q = quantile(&pooled, &s, &[0.98, 0.02], 0.95).unwrap();
        let want = crate::stats::quantile(&fast, 0.95 / 0.98).unwrap();
        assert!((q - want).abs() < 1e-9, "{q} vs {want}");
        // A stratum without values is left out.
        let only_fast = [s[0], Sample { all: &[], removed: &[] }];
        assert_eq!(
            quantile(&fast, &only_fast, &[0.5, 0.5], 0.5),
            crate::stats::quantile(&fast, 0.5)
        );
        assert_eq!(mean(&[10.0, 0.0], &[5.0, 0.0], &[0.5, 0.5]), Some(2.0));
        assert_eq!(mean(&[10.0, 30.0], &[5.0, 3.0], &[0.5, 0.5]), Some(6.0));
    }

    #[test]
    fn independent_variance_is_each_strata_binomial_weighted_by_its_share() {
        let a: Vec<f64> = (1..=101).map(f64::from).collect();
        let b: Vec<f64> = (1..=11).map(|v| f64::from(v) * 1000.0).collect();
        let s = [Sample { all: &a, removed: &[] }, Sample { all: &b, removed: &[] }];
        // At 51: F_a = 0.5 (the 51st of 101 at 50/100), F_b = 0.
        let v = independent_var(&s, &[0.8, 0.2], 51.0).unwrap();
        assert!((v - 0.64 * 0.25 / 101.0).abs() < 1e-15, "{v}");
        // At 6000: F_a = 1, F_b = 0.5 (the 6th of 11).
        let v = independent_var(&s, &[0.8, 0.2], 6000.0).unwrap();
        assert!((v - 0.04 * 0.25 / 11.0).abs() < 1e-15, "{v}");
        assert_eq!(independent_var(&[s[0], s[0]], &[0.0, 0.0], 1.0), None);
    }

    /// G is continuous where no stratum has ties, so the quantile is monotone in p.
    #[quickcheck]
    fn quantiles_are_monotone_in_p(a: Vec<u16>, b: Vec<u16>, w: u8) -> bool {
        let a = sorted(a.iter().map(|v| f64::from(*v)).collect());
        let b = sorted(b.iter().map(|v| f64::from(*v) * 3.0).collect());
        let pooled = sorted(a.iter().chain(&b).copied().collect());
        if pooled.is_empty() {
            return true;
        }
        let s = [Sample { all: &a, removed: &[] }, Sample { all: &b, removed: &[] }];
        let w0 = f64::from(w) / 255.0;
        let qs: Option<Vec<f64>> = (0..=20)
            .map(|i| quantile(&pooled, &s, &[w0, 1.0 - w0], f64::from(i) / 20.0))
            .collect();
        // No stratum with weight has values: no quantile at all.
        let Some(qs) = qs else {
            return true;
        };
        qs.windows(2).all(|x| x[0] <= x[1] + 1e-9) && qs[0] >= pooled[0] && qs[20] <= pooled[pooled.len() - 1]
    }
}
