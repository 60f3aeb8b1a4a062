//! The growth exponent of a figure against the dataset's size: the slope b of
//! `log y = a + b log rows` by ordinary least squares over the sizes measured
//! (b = 1: linear, b = 0: flat, b = 0.5: square root).
//!
//! Its interval is the textbook one for a regression slope: `b ± t(0.975,
//! n−2) · s / sqrt(Σ (x − x̄)²)`, with `s²` the residual variance over `n − 2`
//! degrees of freedom. It assumes the log figure is the line plus
//! independent errors of one variance at every size (a power law in rows, the
//! machine's noise alike at each size); with three sizes it has one degree
//! of freedom (t = 12.7) and is wide, honestly so; with two sizes there is
//! none.

use statrs::distribution::{ContinuousCDF, StudentsT};

/// A fitted exponent: the slope and, with at least three sizes, its 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Exponent {
    pub slope: f64,
    pub ci: Option<(f64, f64)>,
    /// Sizes the slope was fitted on.
    pub points: usize,
}

/// The least-squares slope of `ln y` on `ln x` over the points with `x > 0`
/// and `y > 0` (others cannot be on a log axis); `None` with fewer than two
/// distinct sizes.
pub fn exponent(points: &[(f64, f64)]) -> Option<Exponent> {
    let logs: Vec<(f64, f64)> = points
        .iter()
        .filter(|(x, y)| *x > 0.0 && *y > 0.0 && x.is_finite() && y.is_finite())
        .map(|(x, y)| (x.ln(), y.ln()))
        .collect();
    let n = logs.len();
    if n < 2 {
        return None;
    }
    let mx = logs.iter().map(|p| p.0).sum::<f64>() / n as f64;
    let my = logs.iter().map(|p| p.1).sum::<f64>() / n as f64;
    let sxx: f64 = logs.iter().map(|p| (p.0 - mx).powi(2)).sum();
    if sxx <= 0.0 {
        return None;
    }
    let sxy: f64 = logs.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let slope = sxy / sxx;
    let ci = (n >= 3).then(|| {
        let a = my - slope * mx;
        let rss: f64 = logs.iter().map(|p| (p.1 - a - slope * p.0).powi(2)).sum();
        let df = (n - 2) as f64;
        let se = (rss / df / sxx).sqrt();
        let t = StudentsT::new(0.0, 1.0, df).map_or(f64::NAN, |d| d.inverse_cdf(0.975));
        (slope - t * se, slope + t * se)
    });
    Some(Exponent {
        slope,
        ci: ci.filter(|(lo, hi)| lo.is_finite() && hi.is_finite()),
        points: n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_power_law_gives_its_power_exactly() {
        let pts: Vec<(f64, f64)> = [50e3, 500e3, 5e6]
            .iter()
            .map(|&x: &f64| (x, 3.0 * x.powf(0.5)))
            .collect();
        let e = exponent(&pts).unwrap();
        assert!((e.slope - 0.5).abs() < 1e-12);
        let (lo, hi) = e.ci.unwrap();
        assert!((lo - 0.5).abs() < 1e-9 && (hi - 0.5).abs() < 1e-9);
    }

    #[test]
    fn flat_figures_give_zero_and_noise_widens_the_interval() {
        let e = exponent(&[(1e3, 2.0), (1e4, 2.2), (1e5, 1.9), (1e6, 2.1)]).unwrap();
        assert!(e.slope.abs() < 0.05, "{e:?}");
        let (lo, hi) = e.ci.unwrap();
        assert!(lo < 0.0 && hi > 0.0 && hi - lo > 0.01);
    }

    #[test]
    fn two_sizes_give_a_slope_without_interval_and_one_gives_nothing() {
        let e = exponent(&[(1e3, 1.0), (1e4, 10.0)]).unwrap();
        assert!((e.slope - 1.0).abs() < 1e-12 && e.ci.is_none());
        assert!(exponent(&[(1e3, 1.0)]).is_none());
        assert!(exponent(&[(1e3, 1.0), (1e3, 2.0)]).is_none());
        assert!(exponent(&[(1e3, 0.0), (1e4, 2.0)]).is_none());
    }
}
