//! Quantiles and their distribution-free (order-statistic) confidence intervals.

use statrs::distribution::{Binomial, DiscreteCDF};

/// The `p` quantile of sorted data by linear interpolation at rank `p(n-1)`,
/// as the service's own runner computes it (`None` for no data).
pub fn quantile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = p * (sorted.len() - 1) as f64;
    let lo = rank.floor() as usize;
    let hi = rank.ceil() as usize;
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64))
}

/// 1-based ranks `(l, u)` of the order statistics that bound the `p` quantile
/// with at least `confidence`: `P(X(l) <= q_p < X(u)) = B(u-1) - B(l-1)` where
/// `B` is the Binomial(n, p) CDF. Starts from the equal-tailed pair (`l` the
/// largest rank with `B(l-1) <= a/2`, `u` the smallest with `B(u-1) >= 1 - a/2`),
/// then narrows it one rank at a time while the exact coverage stays at least
/// `confidence`: the discrete equal-tailed pair over-covers (97 % for p99 at
/// n = 1000), and a needlessly wide interval turns passes into "inconclusive".
/// `None` when the equal-tailed ranks do not exist in `1..=n`: the sample is too
/// small for a two-sided interval (p99 needs n >= 368).
pub fn order_statistic_ranks(n: usize, p: f64, confidence: f64) -> Option<(usize, usize)> {
    if n == 0 || !(0.0..1.0).contains(&p) {
        return None;
    }
    let alpha = 1.0 - confidence;
    let b = Binomial::new(p, n as u64).ok()?;
    let cdf = |k: i64| if k < 0 { 0.0 } else { b.cdf(k as u64) };
    // Largest l in 1..=n with B(l-1) <= alpha/2.
    if cdf(0) > alpha / 2.0 {
        return None;
    }
    let (mut lo, mut hi) = (1usize, n);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if cdf(mid as i64 - 1) <= alpha / 2.0 {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let mut l = lo;
    // Smallest u in 1..=n with B(u-1) >= 1 - alpha/2.
    if cdf(n as i64 - 1) < 1.0 - alpha / 2.0 {
        return None;
    }
    let (mut lo, mut hi) = (1usize, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if cdf(mid as i64 - 1) >= 1.0 - alpha / 2.0 {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    let mut u = lo;
    let coverage = |l: usize, u: usize| cdf(u as i64 - 1) - cdf(l as i64 - 1);
    loop {
        let down = (u > l + 1).then(|| coverage(l, u - 1)).filter(|c| *c >= confidence);
        let up = (l + 1 < u).then(|| coverage(l + 1, u)).filter(|c| *c >= confidence);
        match (down, up) {
            (Some(d), Some(x)) if d >= x => u -= 1,
            (_, Some(_)) => l += 1,
            (Some(_), None) => u -= 1,
            (None, None) => break,
        }
    }
    Some((l, u))
}

/// A point estimate with its interval, if the data supports one, and (for
/// figures measured round by round) the spread the interval came from, so a
/// verdict can draw an interval at another level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub value: f64,
    pub ci: Option<(f64, f64)>,
    pub spread: Option<super::rounds::Spread>,
}

/// The `p` quantile of sorted data with its order-statistic interval.
pub fn quantile_with_ci(sorted: &[f64], p: f64, confidence: f64) -> Option<Estimate> {
    let value = quantile(sorted, p)?;
    let ci = order_statistic_ranks(sorted.len(), p, confidence).map(|(l, u)| (sorted[l - 1], sorted[u - 1]));
    Some(Estimate {
        value,
        ci,
        spread: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Exact binomial probability mass by the product formula, independent of statrs.
    fn pmf(n: usize, k: usize, p: f64) -> f64 {
        let mut ln = 0.0;
        for i in 0..k {
            ln += ((n - i) as f64).ln() - ((i + 1) as f64).ln();
        }
        (ln + k as f64 * p.ln() + (n - k) as f64 * (1.0 - p).ln()).exp()
    }

    fn cdf(n: usize, k: i64, p: f64) -> f64 {
        (0..=k.max(-1)).map(|i| pmf(n, i as usize, p)).sum::<f64>().min(1.0)
    }

    #[test]
    fn interpolates_at_rank_p_n_minus_1() {
        let d = [1.0, 2.0, 3.0, 4.0, 10.0];
        assert_eq!(quantile(&d, 0.5), Some(3.0));
        assert_eq!(quantile(&d, 0.0), Some(1.0));
        assert_eq!(quantile(&d, 1.0), Some(10.0));
        assert!((quantile(&d, 0.9).unwrap() - 7.6).abs() < 1e-12); // rank 3.6: 4 + 0.6 * 6
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn ranks_match_exact_binomial_sums() {
        for &(n, p) in &[
            (20usize, 0.5),
            (100, 0.9),
            (400, 0.95),
            (368, 0.99),
            (1000, 0.99),
            (5000, 0.5),
        ] {
            let (l, u) = order_statistic_ranks(n, p, 0.95).unwrap();
            assert!(l < u && u <= n);
            // P(X(l) <= q < X(u)) = P(l <= #{X_i <= q} <= u - 1), summed term by term.
            let coverage: f64 = (l..u).map(|k| pmf(n, k, p)).sum();
            assert!(coverage >= 0.95 - 1e-9, "n={n} p={p}: coverage {coverage}");
            assert!((coverage - (cdf(n, u as i64 - 1, p) - cdf(n, l as i64 - 1, p))).abs() < 1e-9);
            // No single-rank narrowing keeps 95 %: the interval is as tight as the rule allows.
            if u > l + 1 {
                let down: f64 = (l..u - 1).map(|k| pmf(n, k, p)).sum();
                let up: f64 = (l + 1..u).map(|k| pmf(n, k, p)).sum();
                assert!(
                    down < 0.95 + 1e-9 && up < 0.95 + 1e-9,
                    "n={n} p={p}: ({l}, {u}) could narrow"
                );
            }
        }
    }

    #[test]
    fn p99_needs_368_samples() {
        assert_eq!(order_statistic_ranks(367, 0.99, 0.95), None);
        assert!(order_statistic_ranks(368, 0.99, 0.95).is_some());
        assert_eq!(order_statistic_ranks(58, 0.95, 0.95), None);
        assert!(order_statistic_ranks(72, 0.95, 0.95).is_some());
        assert_eq!(order_statistic_ranks(0, 0.5, 0.95), None);
    }
}
