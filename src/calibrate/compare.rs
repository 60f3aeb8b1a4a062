//! Why Student-t intervals from the rounds: the same simulated rounds (fixed
//! lengths, no looks) judged by the harness's own intervals and by the
//! alternative the issue named, a percentile bootstrap over whole rounds (of
//! the per-round paired log ratios).
//! With few rounds the bootstrap's intervals are too narrow (they ignore that
//! the round-to-round variance is itself estimated from a handful of rounds).

use audit_engines::Role;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::sim::{Sim, SimEngine};
use super::{replicate_seed, Config, Scenario, Truth};
use crate::analysis::{self, Settings};
use crate::bench::rounds::RoundSource;
use crate::bench::{Series, Trial};
use crate::error::HarnessError;
use crate::spec::LoadMode;
use crate::stats::sequential::Looks;

/// Coverage of one method at one fixed number of rounds.
#[derive(Debug, Clone)]
pub struct MethodRow {
    pub scenario: String,
    pub rounds: u32,
    pub method: &'static str,
    /// Coverage of the 95 % intervals of the p95, p99 and throughput ratios.
    pub coverage: [f64; 3],
}

/// Per-round figures of one trial: p95, p99 (µs) and throughput.
fn figures(t: &Trial) -> [f64; 3] {
    let mut xs: Vec<f64> = t.requests.iter().map(|r| r.latency_ns as f64 / 1000.0).collect();
    xs.sort_by(f64::total_cmp);
    let q = |p| crate::stats::quantile(&xs, p).unwrap_or(f64::NAN);
    [q(0.95), q(0.99), crate::bench::served_per_second(&t.requests)]
}

/// Runs `rounds` fixed rounds per replicate for every scenario at the
/// at-threshold truth, and tallies both methods' coverage.
pub fn run(cfg: &Config, rounds_list: &[u32], resamples: u32) -> Result<Vec<MethodRow>, HarnessError> {
    let mut out = Vec::new();
    let cand = Truth::AtThreshold.engine(&cfg.thresholds);
    let truths = [cand.scale, cand.scale, 1.0 / (cand.scale * cand.gap_factor)];
    let engines = [SimEngine::scaled(1.0, 1.0), cand];
    for (si, &scenario) in cfg.scenarios.iter().enumerate() {
        for &k in rounds_list {
            let mut t_cov = [0u32; 3];
            let mut b_cov = [0u32; 3];
            for rep in 0..cfg.replicates {
                let seed = replicate_seed(cfg.seed ^ 0xc0, si, k as usize, rep);
                let (t_in, b_in) = one(cfg, scenario, &engines, k, seed, &truths, resamples)?;
                for i in 0..3 {
                    t_cov[i] += u32::from(t_in[i]);
                    b_cov[i] += u32::from(b_in[i]);
                }
            }
            let n = f64::from(cfg.replicates.max(1));
            for (method, cov) in [
                ("t on round log ratios", t_cov),
                ("round bootstrap (percentile)", b_cov),
            ] {
                out.push(MethodRow {
                    scenario: scenario.name(),
                    rounds: k,
                    method,
                    coverage: cov.map(|c| f64::from(c) / n),
                });
            }
        }
    }
    Ok(out)
}

fn one(
    cfg: &Config,
    scenario: Scenario,
    engines: &[SimEngine],
    k: u32,
    seed: u64,
    truths: &[f64; 3],
    resamples: u32,
) -> Result<([bool; 3], [bool; 3]), HarnessError> {
    let mut sim = Sim::new(
        engines,
        scenario,
        cfg.median_ms / 1000.0,
        cfg.sigma,
        cfg.requests,
        cfg.concurrency,
        seed,
    );
    let mut series: Vec<Series> = [("baseline", Role::Reference), ("cand", Role::Candidate)]
        .iter()
        .map(|(n, role)| Series {
            engine: n.to_string(),
            role: *role,
            mix: "sim".into(),
            trials: Vec::new(),
        })
        .collect();
    for r in 0..k {
        if let Some(round) = sim.run_round(r)? {
            for (i, t) in round.trials {
                series[i].trials.push(t);
            }
        }
    }
    let settings = Settings::from_records(LoadMode::Closed, cfg.concurrency as u32, Looks::fixed(k), &series);
    let rows = analysis::summarize(&series, &settings);
    let cand = &rows[1];
    let mut t_in = [false; 3];
    let mut b_in = [false; 3];
    let mut rng = StdRng::seed_from_u64(seed ^ 0xb007);
    for (i, e) in [cand.p95_ratio, cand.p99_ratio, cand.rps_ratio].iter().enumerate() {
        let Some(e) = e else { continue };
        if let Some((lo, hi)) = e.ci {
            t_in[i] = lo <= truths[i] && truths[i] <= hi;
        }
        // The bootstrap: resample whole rounds (paired), the mean of the
        // per-round log ratios, percentile interval shifted onto the pooled estimate.
        let d: Vec<f64> = series[1]
            .trials
            .iter()
            .zip(&series[0].trials)
            .map(|(c, b)| figures(c)[i].ln() - figures(b)[i].ln())
            .collect();
        let mean = d.iter().sum::<f64>() / d.len() as f64;
        let mut means: Vec<f64> = (0..resamples)
            .map(|_| (0..d.len()).map(|_| d[rng.random_range(0..d.len())]).sum::<f64>() / d.len() as f64)
            .collect();
        means.sort_by(f64::total_cmp);
        let lo = crate::stats::quantile(&means, 0.025).unwrap_or(mean) - mean;
        let hi = crate::stats::quantile(&means, 0.975).unwrap_or(mean) - mean;
        let c = e.value.ln();
        let truth = truths[i].ln();
        b_in[i] = c + lo <= truth && truth <= c + hi;
    }
    Ok((t_in, b_in))
}
