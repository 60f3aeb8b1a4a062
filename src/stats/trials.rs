//! Intervals over independent trials (Student's t).

use statrs::distribution::{ContinuousCDF, StudentsT};

/// Mean of `xs` with a two-sided t interval at `confidence`; no interval for fewer than two values.
pub fn mean_ci(xs: &[f64], confidence: f64) -> Option<(f64, Option<(f64, f64)>)> {
    let n = xs.len();
    if n == 0 {
        return None;
    }
    let mean = xs.iter().sum::<f64>() / n as f64;
    if n < 2 {
        return Some((mean, None));
    }
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let t = StudentsT::new(0.0, 1.0, (n - 1) as f64)
        .ok()?
        .inverse_cdf(1.0 - (1.0 - confidence) / 2.0);
    let half = t * (var / n as f64).sqrt();
    Some((mean, Some((mean - half, mean + half))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_interval_matches_the_textbook() {
        // n = 3, mean 2, s = 1, t(0.975, 2) = 4.302653: half-width 4.302653 / sqrt(3).
        let (m, ci) = mean_ci(&[1.0, 2.0, 3.0], 0.95).unwrap();
        let (lo, hi) = ci.unwrap();
        assert_eq!(m, 2.0);
        assert!((hi - 2.0 - 4.302653 / 3f64.sqrt()).abs() < 1e-5, "{hi}");
        assert!((2.0 - lo - 4.302653 / 3f64.sqrt()).abs() < 1e-5);
        assert_eq!(mean_ci(&[5.0], 0.95), Some((5.0, None)));
        assert_eq!(mean_ci(&[], 0.95), None);
    }
}
