//! `audit-harness calibrate`: the gate's statistics checked by simulation with
//! known truth. Each replicate simulates a whole benchmark (a baseline and the
//! gate's candidates, rounds on a simulated clock under one kind of machine
//! noise) and runs the very round loop, analysis and verdict code the gate
//! uses; the tallies say how often the intervals cover the truth, how often a
//! candidate sitting exactly at its thresholds fails a check or the gate, and
//! how often a better one passes within the budget.

pub mod compare;
pub mod sim;

use std::str::FromStr;

use audit_engines::Role;

use crate::analysis::{self, Settings};
use crate::bench::rounds::{self, Budget};
use crate::bench::Series;
use crate::error::HarnessError;
use crate::spec::{GateSpec, LoadMode, Thresholds};
use crate::stats::sequential::Looks;
use crate::verdict::{self, Check, Outcome};

use sim::{Sim, SimEngine};

/// A kind of machine noise.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scenario {
    /// Every request independent: the textbook case.
    Independent,
    /// Each trial's latencies multiplied by `exp(N(0, sd²))`, independently per engine and round.
    Drift { sd: f64 },
    /// `fraction` of the time the machine is `slowdown` times slower, in episodes of 0.2 s on average.
    Bursts { fraction: f64, slowdown: f64 },
    /// Log latencies of neighbouring requests correlated: AR(1) with coefficient `phi`.
    Ar1 { phi: f64 },
}

/// The scenarios `calibrate` runs by default.
pub const DEFAULT_SCENARIOS: &[&str] = &["independent", "drift-0.05", "drift-0.10", "bursts", "ar1-0.5"];

impl Scenario {
    pub fn name(&self) -> String {
        match self {
            Scenario::Independent => "independent".into(),
            Scenario::Drift { sd } => format!("drift-{sd:.2}"),
            Scenario::Bursts { .. } => "bursts".into(),
            Scenario::Ar1 { phi } => format!("ar1-{phi}"),
        }
    }
}

impl FromStr for Scenario {
    type Err = String;

    /// `independent`, `drift-SD` (0 < SD <= 1), `bursts` (3 % of the time 2.5x slower), `ar1-PHI` (0 <= PHI < 1).
    fn from_str(s: &str) -> Result<Scenario, String> {
        let bad = || {
            format!(
                "unknown scenario {s:?}: expected independent, drift-SD (0 < SD <= 1, e.g. drift-0.05), bursts, or ar1-PHI (0 <= PHI < 1, e.g. ar1-0.5)"
            )
        };
        let num = |rest: &str| rest.parse::<f64>().ok().filter(|v| v.is_finite());
        match s {
            "independent" => Ok(Scenario::Independent),
            "bursts" => Ok(Scenario::Bursts {
                fraction: 0.03,
                slowdown: 2.5,
            }),
            _ => {
                if let Some(sd) = s.strip_prefix("drift-").and_then(num) {
                    if sd > 0.0 && sd <= 1.0 {
                        return Ok(Scenario::Drift { sd });
                    }
                } else if let Some(phi) = s.strip_prefix("ar1-").and_then(num) {
                    if (0.0..1.0).contains(&phi) {
                        return Ok(Scenario::Ar1 { phi });
                    }
                }
                Err(bad())
            }
        }
    }
}

/// Where the simulated candidates truly stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Truth {
    /// Exactly at every threshold: p95 and p99 ratios at `p95_ratio_max`, throughput ratio at `rps_ratio_min`.
    AtThreshold,
    /// 10 % better than the latency thresholds (0.72 for 0.8), throughput following latency.
    Better,
    /// 10 % worse than every threshold (0.889 for 0.8, 1.08 for 1.2).
    Worse,
    /// Another tail shape (a narrower body, 1.2 % of requests 4x slower) with
    /// its true p99 ratio exactly at `p99_ratio_max`: a check that reads p99
    /// from too few requests per round would pass it.
    TailAtThreshold,
}

impl Truth {
    pub const ALL: [Truth; 4] = [Truth::AtThreshold, Truth::Better, Truth::Worse, Truth::TailAtThreshold];

    pub fn name(self) -> &'static str {
        match self {
            Truth::AtThreshold => "at-threshold",
            Truth::Better => "better",
            Truth::Worse => "worse",
            Truth::TailAtThreshold => "tail-at-threshold",
        }
    }

    /// The candidate's simulated engine for these thresholds.
    pub fn engine(self, t: &SimThresholds) -> SimEngine {
        match self {
            Truth::AtThreshold => SimEngine::scaled(t.latency, 1.0 / (t.latency * t.rps)),
            Truth::Better => SimEngine::scaled(0.9 * t.latency, 1.0),
            Truth::Worse => {
                let scale = t.latency / 0.9;
                SimEngine::scaled(scale, 1.0 / (scale * 0.9 * t.rps))
            }
            // Half the baseline's spread and 1.2 % of requests 4x slower: a
            // different tail shape, placed (by `placed`) so that its true p99
            // ratio is exactly the threshold while its p95 is far better.
            Truth::TailAtThreshold => SimEngine {
                scale: 1.0,
                gap_factor: 1.0,
                sigma_factor: 0.5,
                slow_fraction: 0.012,
                slow_factor: 4.0,
            },
        }
    }
}

impl FromStr for Truth {
    type Err = String;

    fn from_str(s: &str) -> Result<Truth, String> {
        Truth::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or_else(|| format!("unknown truth {s:?}: expected at-threshold, better or worse"))
    }
}

/// The thresholds the simulation judges: one latency ratio (p95 and p99) and one throughput ratio.
#[derive(Debug, Clone, Copy)]
pub struct SimThresholds {
    pub latency: f64,
    pub rps: f64,
}

/// Everything a calibration run needs.
#[derive(Debug, Clone)]
pub struct Config {
    pub scenarios: Vec<Scenario>,
    pub truths: Vec<Truth>,
    pub replicates: u32,
    pub seed: u64,
    /// Candidates judged at once (the gate's candidates).
    pub candidates: usize,
    pub thresholds: SimThresholds,
    /// The baseline's median latency (ms) and the sd of its log latency.
    pub median_ms: f64,
    pub sigma: f64,
    pub requests: usize,
    pub concurrency: usize,
    pub budget: Budget,
}

/// The tallies of one scenario and truth. Rates are fractions.
#[derive(Debug, Clone)]
pub struct Row {
    pub scenario: String,
    pub truth: Truth,
    pub replicates: u32,
    /// Coverage of the reported 95 % intervals of the p95, p99 and throughput ratios.
    pub coverage: [f64; 3],
    /// Fail rate of each deciding check (p95, p99, throughput ratio), per candidate.
    pub check_fail: [f64; 3],
    /// Pass rate of each deciding check, per candidate.
    pub check_pass: [f64; 3],
    pub gate_pass: f64,
    pub gate_fail: f64,
    pub gate_inconclusive: f64,
    pub mean_rounds: f64,
    pub mean_seconds: f64,
}

/// One replicate's result.
#[derive(Debug, Clone, Default)]
struct Replicate {
    covered: [u32; 3],
    fail: [u32; 3],
    pass: [u32; 3],
    gate: Option<Outcome>,
    rounds: u32,
    seconds: f64,
}

const CHECKS: [Check; 3] = [Check::P95RatioMax, Check::P99RatioMax, Check::RpsRatioMin];

impl Config {
    /// A calibration of the spec's gate as it ships: its candidates' number,
    /// its ratio thresholds, its `[bench]` budget, requests and workers; every
    /// default scenario and truth, 400 replicates, seed 1, a lognormal
    /// baseline of median 14 ms and sd of log 0.3 (the caller may change any).
    pub fn from_spec(spec: &crate::spec::Spec) -> Result<Config, HarnessError> {
        let t = &spec.gate.thresholds;
        let (Some(latency), Some(rps)) = (t.p95_ratio_max.or(t.p99_ratio_max), t.rps_ratio_min) else {
            return Err(HarnessError::input(
                "calibrate simulates the ratio thresholds: set [gate] p95_ratio_max (or p99_ratio_max) and rps_ratio_min",
            ));
        };
        let b = &spec.bench;
        Ok(Config {
            scenarios: DEFAULT_SCENARIOS
                .iter()
                .map(|s| s.parse::<Scenario>().map_err(HarnessError::input))
                .collect::<Result<Vec<_>, _>>()?,
            truths: Truth::ALL.to_vec(),
            replicates: 400,
            seed: 1,
            candidates: spec.gate.candidates.len().max(1),
            thresholds: SimThresholds { latency, rps },
            median_ms: 14.0,
            sigma: 0.3,
            requests: b.requests as usize,
            concurrency: b.concurrency as usize,
            budget: Budget {
                min_rounds: b.min_rounds,
                max_rounds: b.max_rounds,
                max_seconds: b.max_seconds,
            },
        })
    }

    /// The gate the simulation judges: the candidates on the simulated mix with these thresholds.
    fn gate(&self) -> GateSpec {
        GateSpec {
            candidates: (1..=self.candidates).map(|i| format!("cand-{i}")).collect(),
            thresholds: Thresholds {
                p95_ratio_max: Some(self.thresholds.latency),
                p99_ratio_max: Some(self.thresholds.latency),
                rps_ratio_min: Some(self.thresholds.rps),
                p95_ms_max: None,
                p99_ms_max: None,
            },
            engine: Default::default(),
            mixes: vec!["sim".into()],
        }
    }

    fn settings(&self, looks: Looks, series: &[Series]) -> Settings {
        Settings::from_records(LoadMode::Closed, self.concurrency as u32, looks, series)
    }

    /// Simulates one benchmark and judges it as the gate does.
    /// The candidate of a truth and its true p95, p99 and throughput ratios
    /// to the baseline under `scenario`. A rescaled baseline's are exact; a
    /// candidate of another shape is measured on a long simulation (2 million
    /// requests each) and rescaled so its true p99 ratio is the threshold.
    pub fn truth(&self, scenario: Scenario, truth: Truth) -> Result<(SimEngine, [f64; 3]), HarnessError> {
        let cand = truth.engine(&self.thresholds);
        if truth != Truth::TailAtThreshold {
            return Ok((cand, [cand.scale, cand.scale, 1.0 / (cand.scale * cand.gap_factor)]));
        }
        let engines = [SimEngine::scaled(1.0, 1.0), cand];
        let mut sim = Sim::new(
            &engines,
            scenario,
            self.median_ms / 1000.0,
            self.sigma,
            20_000,
            self.concurrency,
            self.seed ^ 0x7275_7468,
        );
        let mut lat: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
        let mut time = [0.0f64; 2];
        for r in 0..100 {
            if let Some(round) = crate::bench::rounds::RoundSource::run_round(&mut sim, r)? {
                for (i, t) in round.trials {
                    lat[i].extend(t.requests.iter().map(|q| q.latency_ns as f64));
                    time[i] += t.requests.iter().map(|q| q.end_ns()).max().unwrap_or(0) as f64;
                }
            }
        }
        for l in &mut lat {
            l.sort_by(f64::total_cmp);
        }
        let q = |i: usize, p: f64| crate::stats::quantile(&lat[i], p).unwrap_or(f64::NAN);
        let (p95, p99) = (q(1, 0.95) / q(0, 0.95), q(1, 0.99) / q(0, 0.99));
        let rps = (lat[1].len() as f64 / time[1]) / (lat[0].len() as f64 / time[0]);
        let scale = self.thresholds.latency / p99;
        Ok((
            SimEngine { scale, ..cand },
            [p95 * scale, self.thresholds.latency, rps / scale],
        ))
    }

    fn replicate(
        &self,
        scenario: Scenario,
        cand: SimEngine,
        truths: [f64; 3],
        seed: u64,
    ) -> Result<Replicate, HarnessError> {
        let gate = self.gate();
        let mut engines = vec![SimEngine::scaled(1.0, 1.0)];
        engines.extend(std::iter::repeat_n(cand, self.candidates));
        let mut names = vec!["baseline".to_string()];
        names.extend(gate.candidates.iter().cloned());
        let mut series: Vec<Series> = names
            .iter()
            .enumerate()
            .map(|(i, n)| Series {
                engine: n.clone(),
                role: if i == 0 { Role::Reference } else { Role::Candidate },
                mix: "sim".into(),
                trials: Vec::new(),
            })
            .collect();
        let mut sim = Sim::new(
            &engines,
            scenario,
            self.median_ms / 1000.0,
            self.sigma,
            self.requests,
            self.concurrency,
            seed,
        );
        let settled = |s: &[Series], looks: Looks| verdict::settled_by(s, &self.settings(looks, s), &gate);
        let outcome = rounds::run(&mut sim, self.budget, &mut series, settled)?;
        let looks = outcome.looks(self.budget.min_rounds);
        let summaries = analysis::summarize(&series, &self.settings(looks, &series));
        let judgements = verdict::judge_all(&summaries, &gate, &looks);
        let mut r = Replicate {
            gate: Some(match verdict::decide(&judgements) {
                Ok(()) => Outcome::Pass,
                Err(HarnessError::Failed(_)) => Outcome::Fail,
                Err(_) => Outcome::Inconclusive,
            }),
            rounds: outcome.rounds,
            seconds: outcome.seconds,
            ..Replicate::default()
        };
        for s in summaries.iter().filter(|s| s.role == Role::Candidate) {
            for (i, e) in [s.p95_ratio, s.p99_ratio, s.rps_ratio].iter().enumerate() {
                if let Some((lo, hi)) = e.and_then(|e| e.ci) {
                    r.covered[i] += u32::from(lo <= truths[i] && truths[i] <= hi);
                }
            }
        }
        for j in &judgements {
            if let Some(i) = CHECKS.iter().position(|c| *c == j.check) {
                r.fail[i] += u32::from(j.outcome == Outcome::Fail);
                r.pass[i] += u32::from(j.outcome == Outcome::Pass);
            }
        }
        Ok(r)
    }
}

/// A replicate's seed, from the run's seed and its place (independent of threading).
pub fn replicate_seed(seed: u64, scenario: usize, truth: usize, rep: u32) -> u64 {
    let mut z = seed ^ ((scenario as u64) << 48) ^ ((truth as u64) << 40) ^ u64::from(rep);
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Runs every scenario and truth; `progress` hears of each finished row.
pub fn run(cfg: &Config, mut progress: impl FnMut(&Row)) -> Result<Vec<Row>, HarnessError> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).max(1);
    let mut rows = Vec::new();
    for (si, &scenario) in cfg.scenarios.iter().enumerate() {
        for &truth in &cfg.truths {
            let ti = Truth::ALL.iter().position(|t| *t == truth).unwrap_or(0);
            let (cand, truths) = cfg.truth(scenario, truth)?;
            let reps: Vec<Result<Replicate, HarnessError>> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..threads)
                    .map(|k| {
                        s.spawn(move || {
                            (0..cfg.replicates)
                                .filter(|rep| *rep as usize % threads == k)
                                .map(|rep| cfg.replicate(scenario, cand, truths, replicate_seed(cfg.seed, si, ti, rep)))
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .flat_map(|h| {
                        h.join()
                            .unwrap_or_else(|_| vec![Err(HarnessError::input("a calibration thread panicked"))])
                    })
                    .collect()
            });
            let reps = reps.into_iter().collect::<Result<Vec<_>, _>>()?;
            let row = tally(&scenario.name(), truth, cfg.candidates, &reps);
            progress(&row);
            rows.push(row);
        }
    }
    Ok(rows)
}

fn tally(scenario: &str, truth: Truth, candidates: usize, reps: &[Replicate]) -> Row {
    let n = reps.len().max(1) as f64;
    let per_cand = n * candidates.max(1) as f64;
    let sum = |f: &dyn Fn(&Replicate) -> u32| reps.iter().map(f).sum::<u32>() as f64;
    let gate = |o: Outcome| reps.iter().filter(|r| r.gate == Some(o)).count() as f64 / n;
    Row {
        scenario: scenario.to_string(),
        truth,
        replicates: reps.len() as u32,
        coverage: [0, 1, 2].map(|i| sum(&|r| r.covered[i]) / per_cand),
        check_fail: [0, 1, 2].map(|i| sum(&|r| r.fail[i]) / per_cand),
        check_pass: [0, 1, 2].map(|i| sum(&|r| r.pass[i]) / per_cand),
        gate_pass: gate(Outcome::Pass),
        gate_fail: gate(Outcome::Fail),
        gate_inconclusive: gate(Outcome::Inconclusive),
        mean_rounds: sum(&|r| r.rounds) / n,
        mean_seconds: reps.iter().map(|r| r.seconds).sum::<f64>() / n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenarios_parse_or_say_what_is_allowed() {
        assert_eq!("drift-0.05".parse(), Ok(Scenario::Drift { sd: 0.05 }));
        assert_eq!("ar1-0.5".parse(), Ok(Scenario::Ar1 { phi: 0.5 }));
        for s in DEFAULT_SCENARIOS {
            let parsed: Scenario = s.parse().unwrap();
            assert_eq!(parsed.name(), *s);
        }
        for bad in ["drift", "drift-0", "drift-x", "ar1-1", "burst", ""] {
            let e = bad.parse::<Scenario>().unwrap_err();
            assert!(e.contains("expected independent, drift-SD"), "{bad}: {e}");
        }
    }
}
