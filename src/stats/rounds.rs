//! Intervals from the variation between rounds.
//!
//! Requests within a run are not independent on a shared machine (drift
//! between trials, slow bursts, neighbouring requests alike), so the
//! uncertainty of a figure is read from how much it varies from round to
//! round, not from the number of requests. Each figure is computed per round
//! (a quantile by the service runner's interpolation, throughput, mean) and
//! summarised on the log scale: the estimate is the mean of the per-round
//! logs (a geometric mean), for a ratio the mean of the per-round paired log
//! ratios (both engines ran the same requests in the same round, so what the
//! round shared cancels). The interval is `exp(center ± c · sd / √k)` with `k`
//! rounds and `c` a Student-t critical value with `k − 1` degrees of freedom,
//! adjusted for the looks the run made (`sequential`).
//!
//! Why not the ratio of the pooled quantiles: with slow bursts the pooled p99
//! of an engine hinges on how many of a run's few bursts its trials caught,
//! which the per-round spread does not measure; `calibrate` showed its p99
//! ratio intervals covering the truth 50–64 % of the time, against 97 % for
//! the per-round mean.

/// A positive quantity's per-round spread on the log scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    /// Mean of the per-round log values (the estimate is its exp).
    pub log_center: f64,
    /// Sample standard deviation of the per-round log values (0 with one round).
    pub sd: f64,
    /// Rounds it comes from.
    pub rounds: usize,
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

    /// `[exp(center − below · se), exp(center + above · se)]`.
    pub fn interval(&self, below: f64, above: f64) -> (f64, f64) {
        let se = self.se();
        (
            (self.log_center - below * se).exp(),
            (self.log_center + above * se).exp(),
        )
    }

    /// Whether an interval can be drawn: at least two rounds that differ (a
    /// zero spread says nothing about the next round, so it decides nothing).
    pub fn has_interval(&self) -> bool {
        self.rounds >= 2 && self.sd > 0.0 && self.sd.is_finite()
    }

    /// Degrees of freedom of the t statistic (`k − 1`).
    pub fn df(&self) -> usize {
        self.rounds.saturating_sub(1)
    }
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
        assert_eq!(r.df(), 2);
    }
}
