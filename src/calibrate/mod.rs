//! `audit-harness calibrate`: the gate's statistics checked by simulation with
//! known truth. Each replicate simulates a whole benchmark (a baseline and the
//! gate's candidates, measured with the benchmark's design on a simulated
//! clock under one mix of machine noise) and runs the very round loop,
//! analysis and verdict code the gate uses; the tallies say how often the
//! intervals cover the truth, how often a candidate sitting exactly at its
//! thresholds fails a check or the gate, and how often a better one passes
//! within the budget. `calibrate --from RUN_DIR` ([`from_run`]) builds the
//! scenario from a recorded run instead.

pub mod bounds;
pub mod from_run;
pub mod sim;
pub mod truth;

use std::str::FromStr;

use audit_engines::Role;

use crate::analysis::{self, Settings};
use crate::bench::stopping::{self, Budget, RoundSource};
use crate::bench::Series;
use crate::error::HarnessError;
use crate::spec::{GateSpec, LoadMode, Precision, Thresholds};
use crate::stats::sequential::Looks;
use crate::verdict::{self, Check, Outcome};

use sim::{Measure, Sim, SimEngine};

/// How the simulated benchmark measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Design {
    /// The shipped design: each round interleaves the engines in short slices.
    Interleaved,
    /// The earlier design: each round runs every engine once on the whole
    /// round stream (equal requests, no time limit), kept to show why it went.
    Trials,
}

impl Design {
    pub fn name(self) -> &'static str {
        match self {
            Design::Interleaved => "interleaved",
            Design::Trials => "trials",
        }
    }
}

impl FromStr for Design {
    type Err = String;

    fn from_str(s: &str) -> Result<Design, String> {
        match s {
            "interleaved" => Ok(Design::Interleaved),
            "trials" => Ok(Design::Trials),
            _ => Err(format!(
                "unknown design {s:?}: expected interleaved (the benchmark's) or trials (one trial per engine per round, the earlier design)"
            )),
        }
    }
}

/// Slow episodes of the whole machine: `fraction` of the time it is
/// `slowdown` times slower, in episodes of `mean_s` seconds on average.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bursts {
    pub fraction: f64,
    pub slowdown: f64,
    pub mean_s: f64,
}

/// A kind of machine noise, or several at once.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Noise {
    /// Each slice's latencies (a trial's, in the trials design) multiplied by
    /// `exp(N(0, sd²))`, independently per engine and slice.
    pub drift_sd: f64,
    /// Slow episodes on the machine's clock, shared by every engine.
    pub bursts: Option<Bursts>,
    /// Log latencies of neighbouring requests of a slice correlated: AR(1).
    pub ar1: f64,
}

/// The noise scenarios `calibrate` runs by default.
pub const DEFAULT_NOISE: &[&str] = &[
    "independent",
    "drift-0.05",
    "drift-0.10",
    "bursts",
    "bursts-short",
    "bursts-rare",
    "ar1-0.5",
    "drift-0.05+bursts",
];

const NOISE_ALLOWED: &str = "expected independent, drift-SD (0 < SD <= 1, e.g. drift-0.05), bursts (3 % of the time 2.5x slower in 200 ms episodes), bursts-short (the same in 20 ms episodes), bursts-rare (1 % of the time 4x slower in 2 s episodes), bursts-F-S-MS (a fraction F < 0.5 of the time S > 1 times slower in MS ms episodes), or ar1-PHI (0 <= PHI < 1), several joined with +";

impl Noise {
    /// Its name as `--scenario` takes it.
    pub fn name(&self) -> String {
        let mut parts = Vec::new();
        if self.drift_sd > 0.0 {
            parts.push(format!("drift-{:.2}", self.drift_sd));
        }
        if let Some(b) = self.bursts {
            parts.push(match (b.fraction, b.slowdown, (b.mean_s * 1000.0).round() as u64) {
                (f, s, 200) if f == 0.03 && s == 2.5 => "bursts".to_string(),
                (f, s, 20) if f == 0.03 && s == 2.5 => "bursts-short".to_string(),
                (f, s, 2000) if f == 0.01 && s == 4.0 => "bursts-rare".to_string(),
                (f, s, ms) => format!("bursts-{f}-{s}-{ms}"),
            });
        }
        if self.ar1 > 0.0 {
            parts.push(format!("ar1-{}", self.ar1));
        }
        if parts.is_empty() {
            "independent".into()
        } else {
            parts.join("+")
        }
    }
}

impl FromStr for Noise {
    type Err = String;

    fn from_str(s: &str) -> Result<Noise, String> {
        let bad = || format!("unknown scenario {s:?}: {NOISE_ALLOWED}");
        let num = |t: &str| t.parse::<f64>().ok().filter(|v| v.is_finite());
        let mut n = Noise::default();
        for part in s.split('+') {
            match part {
                "independent" => {}
                "bursts" => {
                    n.bursts = Some(Bursts {
                        fraction: 0.03,
                        slowdown: 2.5,
                        mean_s: 0.2,
                    })
                }
                "bursts-short" => {
                    n.bursts = Some(Bursts {
                        fraction: 0.03,
                        slowdown: 2.5,
                        mean_s: 0.02,
                    })
                }
                "bursts-rare" => {
                    n.bursts = Some(Bursts {
                        fraction: 0.01,
                        slowdown: 4.0,
                        mean_s: 2.0,
                    })
                }
                _ => {
                    if let Some(sd) = part.strip_prefix("drift-").and_then(num) {
                        if !(sd > 0.0 && sd <= 1.0) {
                            return Err(bad());
                        }
                        n.drift_sd = sd;
                    } else if let Some(phi) = part.strip_prefix("ar1-").and_then(num) {
                        if !(0.0..1.0).contains(&phi) {
                            return Err(bad());
                        }
                        n.ar1 = phi;
                    } else if let Some(rest) = part.strip_prefix("bursts-") {
                        let v: Vec<f64> = rest.split('-').filter_map(num).collect();
                        match v[..] {
                            [f, sl, ms] if f > 0.0 && f < 0.5 && sl > 1.0 && ms > 0.0 => {
                                n.bursts = Some(Bursts {
                                    fraction: f,
                                    slowdown: sl,
                                    mean_s: ms / 1000.0,
                                })
                            }
                            _ => return Err(bad()),
                        }
                    } else {
                        return Err(bad());
                    }
                }
            }
        }
        Ok(n)
    }
}

/// The candidate's shape against a one-cluster lognormal baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// The baseline's own shape, rescaled.
    Scaled,
    /// Half the baseline's spread and 1.2 % of its requests 4x slower: a tail
    /// of another shape, placed so that its p99 ratio is the truth's (its
    /// p95 is far better): a p99 read from too few requests per round passes it.
    Tail,
    /// The default mix's class: 5.5 % of requests return rows and cost a
    /// hundred times more than the empty pages; p95 and p99 both fall in the
    /// slow cluster, p95 just above the gap between the two.
    Bimodal,
    /// 3 % of requests return rows: p95 falls in the fast cluster, p99 in the
    /// slow one, on either side of the gap.
    BimodalSplit,
}

impl Shape {
    pub const ALL: [Shape; 4] = [Shape::Scaled, Shape::Tail, Shape::Bimodal, Shape::BimodalSplit];

    pub fn name(self) -> &'static str {
        match self {
            Shape::Scaled => "scaled",
            Shape::Tail => "tail",
            Shape::Bimodal => "bimodal",
            Shape::BimodalSplit => "bimodal-split",
        }
    }

    /// The mix's share of requests whose answer has rows.
    pub fn rows_share(self) -> f64 {
        match self {
            Shape::BimodalSplit => 0.03,
            _ => 0.055,
        }
    }
}

impl FromStr for Shape {
    type Err = String;

    fn from_str(s: &str) -> Result<Shape, String> {
        Shape::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or_else(|| format!("unknown shape {s:?}: expected scaled, tail, bimodal or bimodal-split"))
    }
}

/// Where the simulated candidates truly stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Truth {
    /// Exactly at every threshold: p95 and p99 ratios at their maxima,
    /// throughput ratio at its minimum.
    AtThreshold,
    /// 10 % better than the latency thresholds (0.72 for 0.8), throughput
    /// following latency (1.39 for 1.2 and 0.8).
    Better,
    /// 10 % worse than every threshold (0.889 for 0.8, 1.08 for 1.2).
    Worse,
}

impl Truth {
    pub const ALL: [Truth; 3] = [Truth::AtThreshold, Truth::Better, Truth::Worse];

    pub fn name(self) -> &'static str {
        match self {
            Truth::AtThreshold => "at-threshold",
            Truth::Better => "better",
            Truth::Worse => "worse",
        }
    }

    /// The true latency and throughput ratios for these thresholds.
    pub fn ratios(self, t: &SimThresholds) -> (f64, f64) {
        match self {
            Truth::AtThreshold => (t.latency, t.rps),
            Truth::Better => (0.9 * t.latency, 1.0 / (0.9 * t.latency)),
            Truth::Worse => (t.latency / 0.9, 0.9 * t.rps),
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

/// One scenario: a noise and a candidate shape (or a recorded run).
#[derive(Debug, Clone)]
pub struct Scenario {
    pub noise: Noise,
    pub shape: Shape,
}

impl Scenario {
    pub fn name(&self) -> String {
        format!("{} {}", self.noise.name(), self.shape.name())
    }
}

/// Everything a calibration run needs.
#[derive(Debug, Clone)]
pub struct Config {
    pub noises: Vec<Noise>,
    pub shapes: Vec<Shape>,
    pub truths: Vec<Truth>,
    pub replicates: u32,
    pub seed: u64,
    /// Candidates judged at once (the gate's candidates).
    pub candidates: usize,
    pub thresholds: SimThresholds,
    /// The baseline's median latency (ms) and the sd of its log.
    pub median_ms: f64,
    pub sigma: f64,
    pub design: Design,
    pub requests: usize,
    pub slices: u32,
    pub slice_ms: f64,
    pub concurrency: usize,
    pub budget: Budget,
    pub precision: Precision,
    /// Rounds of the long run that measures the truth where slow episodes make it the design's own.
    pub truth_rounds: u32,
}

/// The tallies of one scenario and truth. Rates are fractions.
#[derive(Debug, Clone)]
pub struct Row {
    pub scenario: String,
    /// The simulated machine's noise (`None`: a recorded run's, replayed).
    pub noise: Option<Noise>,
    pub truth: Truth,
    pub replicates: u32,
    /// The true p95, p99 and throughput ratios.
    pub true_ratios: [f64; 3],
    /// Coverage of the reported 95 % intervals of the p95, p99 and throughput ratios.
    pub coverage: [f64; 3],
    /// Fail rate of each deciding check (p95, p99, throughput ratio), per candidate.
    pub check_fail: [f64; 3],
    /// Pass rate of each deciding check, per candidate.
    pub check_pass: [f64; 3],
    pub gate_pass: f64,
    pub gate_fail: f64,
    pub gate_inconclusive: f64,
    /// Share of replicates whose deciding intervals all met the precision.
    pub precise: f64,
    /// Deciding checks left undecided with a projection (all replicates,
    /// all candidates), and the quartiles of how many times their rounds
    /// their runs' `to decide` lines said would decide them.
    pub undecided: usize,
    pub to_decide: Option<[f64; 3]>,
    pub mean_rounds: f64,
    pub mean_seconds: f64,
    /// Under slow episodes: the same candidates on the machine without them,
    /// how many episodes the runs met, and how the runs that met none were
    /// judged (`None` for a machine without episodes and for a recorded run).
    pub episodes: Option<Episodes>,
}

/// What a row's runs met of the machine's slow episodes. A run that met
/// none drew its requests exactly as on the same machine without episodes,
/// where the candidates stand at `without`: it cannot know the row's truth
/// (measured with episodes), and how the gate judged such runs says how much
/// of the row's error rate no method can take back in a run of this length.
#[derive(Debug, Clone, PartialEq)]
pub struct Episodes {
    /// The candidates' true p95, p99 and throughput ratios on the machine without its episodes.
    pub without: [f64; 3],
    /// Episodes met per run: the mean over all runs, and over the runs whose gate failed.
    pub mean_met: f64,
    pub mean_met_failed: Option<f64>,
    /// How many runs met none; of them, the gate's fail rate and each
    /// deciding check's fail and pass rates (per candidate).
    pub none: u32,
    pub none_gate_fail: f64,
    pub none_check_fail: [f64; 3],
    pub none_check_pass: [f64; 3],
}

impl Episodes {
    /// `reps` tallied by the episodes they met; `without`: the truth
    /// without episodes; `none`: the runs that met none, tallied as a row.
    fn of(without: [f64; 3], reps: &[Replicate], none: &Row) -> Episodes {
        let mean = |rs: Vec<&Replicate>| {
            (!rs.is_empty())
                .then(|| rs.iter().map(|r| f64::from(r.episodes.unwrap_or(0))).sum::<f64>() / rs.len() as f64)
        };
        Episodes {
            without,
            mean_met: mean(reps.iter().collect()).unwrap_or(0.0),
            mean_met_failed: mean(reps.iter().filter(|r| r.gate == Some(Outcome::Fail)).collect()),
            none: none.replicates,
            none_gate_fail: none.gate_fail,
            none_check_fail: none.check_fail,
            none_check_pass: none.check_pass,
        }
    }
}

impl Row {
    /// The Monte Carlo standard error of a rate `r` estimated from this row's
    /// replicates (per candidate for the per-check columns).
    pub fn mc_se(&self, r: f64, per_candidate: usize) -> f64 {
        (r * (1.0 - r) / (f64::from(self.replicates) * per_candidate.max(1) as f64)).sqrt()
    }
}

/// One replicate's result.
#[derive(Debug, Clone, Default)]
pub(crate) struct Replicate {
    pub covered: [u32; 3],
    pub fail: [u32; 3],
    pub pass: [u32; 3],
    pub gate: Option<Outcome>,
    pub precise: bool,
    pub rounds: u32,
    pub seconds: f64,
    /// For each deciding check left undecided, how many times its rounds
    /// the run's `to decide` line says would decide it.
    pub to_decide: Vec<f64>,
    /// How many slow episodes the run met (`None`: a machine without them).
    pub episodes: Option<u32>,
}

const CHECKS: [Check; 3] = [Check::P95RatioMax, Check::P99RatioMax, Check::RpsRatioMin];

impl Config {
    /// A calibration of the spec's gate as it ships: its candidates' number,
    /// its ratio thresholds, its `[bench]` design, budget and precision;
    /// every default noise, shape and truth, 400 replicates, seed 1, a
    /// lognormal baseline of median 14 ms and sd of log 0.3 (the caller may change any).
    pub fn from_spec(spec: &crate::spec::Spec) -> Result<Config, HarnessError> {
        let t = &spec.gate.thresholds;
        let (Some(latency), Some(rps)) = (t.p95_ratio_max.or(t.p99_ratio_max), t.rps_ratio_min) else {
            return Err(HarnessError::input(
                "calibrate simulates the ratio thresholds: set [gate] p95_ratio_max (or p99_ratio_max) and rps_ratio_min",
            ));
        };
        let b = &spec.bench;
        Ok(Config {
            noises: DEFAULT_NOISE
                .iter()
                .map(|s| s.parse::<Noise>().map_err(HarnessError::input))
                .collect::<Result<Vec<_>, _>>()?,
            shapes: Shape::ALL.to_vec(),
            truths: Truth::ALL.to_vec(),
            replicates: 400,
            seed: 1,
            candidates: spec.gate.candidates.len().max(1),
            thresholds: SimThresholds { latency, rps },
            median_ms: 14.0,
            sigma: 0.3,
            design: Design::Interleaved,
            requests: b.requests as usize,
            slices: b.slices,
            slice_ms: b.slice_ms,
            concurrency: b.concurrency as usize,
            budget: Budget {
                min_rounds: b.min_rounds,
                max_rounds: b.max_rounds,
                max_seconds: b.max_seconds,
            },
            precision: b.precision,
            truth_rounds: truth::long_run_rounds(b.max_seconds),
        })
    }

    /// The gate the simulation judges: the candidates on the simulated mix with these thresholds.
    pub(crate) fn gate(&self) -> GateSpec {
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

    pub(crate) fn measure(&self, shape: Shape) -> Measure {
        Measure {
            design: self.design,
            requests: self.requests,
            slices: if self.design == Design::Trials { 1 } else { self.slices },
            slice_s: self.slice_ms / 1000.0,
            concurrency: self.concurrency,
            rows_share: shape.rows_share(),
        }
    }

    /// The baseline: one lognormal cluster.
    pub fn baseline(&self) -> SimEngine {
        SimEngine::lognormal(self.median_ms / 1000.0, self.sigma)
    }

    /// The series a replicate fills: the baseline, then the candidates.
    pub(crate) fn empty_series(&self) -> Vec<Series> {
        let mut names = vec!["baseline".to_string()];
        names.extend(self.gate().candidates);
        names
            .iter()
            .enumerate()
            .map(|(i, n)| Series {
                engine: n.clone(),
                role: if i == 0 { Role::Reference } else { Role::Candidate },
                mix: "sim".into(),
                trials: Vec::new(),
            })
            .collect()
    }

    fn replicate(
        &self,
        scenario: &Scenario,
        cand: SimEngine,
        truths: [f64; 3],
        seed: u64,
    ) -> Result<Replicate, HarnessError> {
        let mut engines = vec![self.baseline()];
        engines.extend(std::iter::repeat_n(cand, self.candidates));
        let mut series = self.empty_series();
        let mut sim = Sim::new(&engines, scenario.noise, self.measure(scenario.shape), seed);
        let gate = self.gate();
        let judge = Judge {
            gate: &gate,
            concurrency: self.concurrency as u32,
            budget: self.budget,
            precision: &self.precision,
        };
        let mut r = judge.replicate(&mut sim, &mut series, &vec![truths; self.candidates])?;
        r.episodes = scenario.noise.bursts.map(|_| sim.episodes_met());
        Ok(r)
    }
}

/// The gate a replicate is judged by, and its budget.
pub(crate) struct Judge<'a> {
    pub gate: &'a GateSpec,
    pub concurrency: u32,
    pub budget: Budget,
    pub precision: &'a Precision,
}

impl Judge<'_> {
    fn settings(&self, looks: Looks, series: &[Series]) -> Settings {
        Settings::from_records(LoadMode::Closed, self.concurrency, looks, series)
    }

    /// Runs a benchmark from `source` with the gate's round loop and judges
    /// it as the gate does; `truths[i]` are candidate `i`'s true p95, p99 and
    /// throughput ratios (candidates follow the reference in `series`).
    pub fn replicate(
        &self,
        source: &mut dyn RoundSource,
        series: &mut [Series],
        truths: &[[f64; 3]],
    ) -> Result<Replicate, HarnessError> {
        let mut cache = analysis::Cache::default();
        let settled = |s: &[Series], looks: Looks| {
            verdict::settled_by(s, &self.settings(looks, s), self.gate, self.precision, &mut cache)
        };
        let outcome = stopping::run(source, self.budget, series, settled)?;
        let looks = outcome.looks(self.budget.min_rounds);
        let summaries = analysis::summarize(series, &self.settings(looks, series));
        let judgements = verdict::judge_all(&summaries, self.gate);
        let mut r = Replicate {
            gate: Some(verdict::decide(&judgements, false).outcome()),
            precise: verdict::imprecise(&summaries, &judgements, self.precision).is_empty(),
            rounds: outcome.rounds,
            seconds: outcome.seconds,
            ..Replicate::default()
        };
        for (ci, s) in summaries.iter().filter(|s| s.role == Role::Candidate).enumerate() {
            let t = truths.get(ci).copied().unwrap_or([f64::NAN; 3]);
            for (i, e) in [s.p95_ratio, s.p99_ratio, s.rps_ratio].iter().enumerate() {
                if let Some((lo, hi)) = e.and_then(|e| e.ci) {
                    r.covered[i] += u32::from(lo <= t[i] && t[i] <= hi);
                }
            }
        }
        r.to_decide = judgements
            .iter()
            .filter(|j| !j.informational)
            .filter_map(verdict::Judgement::rounds_to_decide)
            .collect();
        for j in judgements.iter().filter(|j| !j.informational) {
            if let Some(i) = CHECKS.iter().position(|c| *c == j.check) {
                r.fail[i] += u32::from(j.outcome == Outcome::Fail);
                r.pass[i] += u32::from(j.outcome == Outcome::Pass);
            }
        }
        Ok(r)
    }
}

/// A replicate's seed, from the run's seed, its scenario's name, its truth
/// and its number: independent of threading and of the other rows of the
/// command, so that one row run alone (`--scenario S --shape H --truth T`)
/// prints the same figures as in a full table with the same seed.
pub fn replicate_seed(seed: u64, scenario: &str, truth: Truth, rep: u32) -> u64 {
    let t = Truth::ALL.iter().position(|x| *x == truth).unwrap_or(0) as u64;
    mix64(seed ^ mix64(fnv1a(scenario)) ^ (t << 40) ^ u64::from(rep))
}

/// FNV-1a of a name: a fixed hash (std's `DefaultHasher` may change between releases).
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// SplitMix64's output for state `z`: every bit of the input moves every bit of the output.
fn mix64(z: u64) -> u64 {
    crate::stats::splitmix::SplitMix64(z).next_u64()
}

/// Runs `replicates` replicates over the machine's threads; `one(rep)` runs one.
pub(crate) fn replicate_all(
    replicates: u32,
    one: impl Fn(u32) -> Result<Replicate, HarnessError> + Sync,
) -> Result<Vec<Replicate>, HarnessError> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).max(1);
    let one = &one;
    let reps: Vec<Result<Replicate, HarnessError>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|k| {
                s.spawn(move || {
                    (0..replicates)
                        .filter(|rep| *rep as usize % threads == k)
                        .map(one)
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
    reps.into_iter().collect()
}

/// Runs every noise, shape and truth; `progress` hears of each finished row.
pub fn run(cfg: &Config, mut progress: impl FnMut(&Row)) -> Result<Vec<Row>, HarnessError> {
    let mut rows = Vec::new();
    for &noise in &cfg.noises {
        for &shape in &cfg.shapes {
            let scenario = Scenario { noise, shape };
            let name = scenario.name();
            for &truth in &cfg.truths {
                let (cand, truths) = truth::candidate(cfg, &scenario, truth)?;
                let reps = replicate_all(cfg.replicates, |rep| {
                    cfg.replicate(&scenario, cand, truths, replicate_seed(cfg.seed, &name, truth, rep))
                })?;
                let mut row = tally(&name, Some(noise), truth, truths, cfg.candidates, &reps);
                if noise.bursts.is_some() {
                    let without = truth::without_episodes(cfg, &scenario, cand);
                    let quiet: Vec<Replicate> = reps.iter().filter(|r| r.episodes == Some(0)).cloned().collect();
                    let none = tally(&name, Some(noise), truth, without, cfg.candidates, &quiet);
                    row.episodes = Some(Episodes::of(without, &reps, &none));
                }
                progress(&row);
                rows.push(row);
            }
        }
    }
    Ok(rows)
}

pub(crate) fn tally(
    scenario: &str,
    noise: Option<Noise>,
    truth: Truth,
    true_ratios: [f64; 3],
    candidates: usize,
    reps: &[Replicate],
) -> Row {
    let n = reps.len().max(1) as f64;
    let per_cand = n * candidates.max(1) as f64;
    let sum = |f: &dyn Fn(&Replicate) -> u32| reps.iter().map(f).sum::<u32>() as f64;
    let gate = |o: Outcome| reps.iter().filter(|r| r.gate == Some(o)).count() as f64 / n;
    let mut to_decide: Vec<f64> = reps.iter().flat_map(|r| r.to_decide.iter().copied()).collect();
    to_decide.sort_by(f64::total_cmp);
    let q = |p: f64| crate::stats::quantile::quantile(&to_decide, p);
    Row {
        scenario: scenario.to_string(),
        noise,
        truth,
        replicates: reps.len() as u32,
        true_ratios,
        coverage: [0, 1, 2].map(|i| sum(&|r| r.covered[i]) / per_cand),
        check_fail: [0, 1, 2].map(|i| sum(&|r| r.fail[i]) / per_cand),
        check_pass: [0, 1, 2].map(|i| sum(&|r| r.pass[i]) / per_cand),
        gate_pass: gate(Outcome::Pass),
        gate_fail: gate(Outcome::Fail),
        gate_inconclusive: gate(Outcome::Inconclusive),
        precise: reps.iter().filter(|r| r.precise).count() as f64 / n,
        undecided: to_decide.len(),
        to_decide: match (q(0.25), q(0.5), q(0.75)) {
            (Some(a), Some(b), Some(c)) => Some([a, b, c]),
            _ => None,
        },
        mean_rounds: sum(&|r| r.rounds) / n,
        mean_seconds: reps.iter().map(|r| r.seconds).sum::<f64>() / n,
        episodes: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenarios_parse_or_say_what_is_allowed() {
        let n: Noise = "drift-0.05".parse().unwrap();
        assert_eq!(n.drift_sd, 0.05);
        let n: Noise = "ar1-0.5".parse().unwrap();
        assert_eq!(n.ar1, 0.5);
        for s in DEFAULT_NOISE {
            let parsed: Noise = s.parse().unwrap();
            assert_eq!(parsed.name(), *s);
        }
        let b: Noise = "bursts-0.05-3-100".parse().unwrap();
        assert_eq!(b.name(), "bursts-0.05-3-100");
        for bad in [
            "drift",
            "drift-0",
            "drift-x",
            "ar1-1",
            "burst",
            "",
            "bursts-0.7-2-10",
            "drift-0.05+nope",
        ] {
            let e = bad.parse::<Noise>().unwrap_err();
            assert!(e.contains("expected independent, drift-SD"), "{bad}: {e}");
        }
        assert!("bimodal".parse::<Shape>().is_ok());
        assert!("nope".parse::<Shape>().unwrap_err().contains("expected scaled"));
    }
}
