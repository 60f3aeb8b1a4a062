//! `run.json`: what was run, where, with which seeds, and whether it finished.
//! Written when the run starts (`complete: false`) and again as it ends.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::analysis::Variance;
use crate::bench::overhead::Overhead;
use crate::bench::{BenchRun, Plan, Stop};
use crate::spec::Spec;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunInfo {
    pub schema_version: u32,
    pub run_id: String,
    /// True once every stage that was to run has run (false while running or after Ctrl-C).
    pub complete: bool,
    pub started_at: String,
    pub ended_at: Option<String>,
    /// The command line.
    pub command: Vec<String>,
    pub spec: SpecInfo,
    pub dataset_dir: String,
    /// The dataset's identity from its manifest (absent when it has none yet):
    /// `compare` tells two datasets apart by it, not by their directory.
    #[serde(default)]
    pub dataset: Option<DatasetInfo>,
    pub git: Option<GitInfo>,
    pub machine: Machine,
    pub versions: BTreeMap<String, String>,
    /// Each stage that ran and its outcome, in order (in the file, a pair
    /// of words such as `["bench", "done"]`).
    pub stages: Vec<(Stage, StageOutcome)>,
    pub equivalence: Option<EquivalenceInfo>,
    pub bench: Option<BenchInfo>,
    /// `sweep`: per size, its dataset, how its rounds were fitted into the
    /// budget, and its benchmark's settings (each size's reports are in `rows-N/`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sweep: Vec<SweepSize>,
    /// The exit code the run ended with, once it has ended.
    pub exit_code: Option<i32>,
    /// The error the run ended with (its one line), when it ended with one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A stage of a run, by the name run.json gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    Integrity,
    Equivalence,
    Bench,
    /// The rounds again under a live append stream (`--append-rate`).
    Appends,
    Verdict,
    Sweep,
}

impl Stage {
    /// Its name in run.json and on report.html.
    pub fn label(self) -> &'static str {
        match self {
            Stage::Integrity => "integrity",
            Stage::Equivalence => "equivalence",
            Stage::Bench => "bench",
            Stage::Appends => "appends",
            Stage::Verdict => "verdict",
            Stage::Sweep => "sweep",
        }
    }
}

/// How a stage ended, by the word run.json gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StageOutcome {
    /// A check stage (integrity, equivalence) or the verdict passed.
    #[serde(rename = "pass")]
    Pass,
    #[serde(rename = "fail")]
    Fail,
    /// The verdict: undecided (or decided on an interrupted run).
    #[serde(rename = "inconclusive")]
    Inconclusive,
    /// A measuring stage ran to its end.
    #[serde(rename = "done")]
    Done,
    /// Stopped by a signal; what finished is recorded.
    #[serde(rename = "interrupted")]
    Interrupted,
    /// The load driver (Locust) lost a round's records.
    #[serde(rename = "driver lost records")]
    DriverLost,
    /// The run ended by an error inside the stage (a disk that filled up, say).
    #[serde(rename = "error")]
    Error,
    /// `aa`: the series' runs are judged together, not one by one.
    #[serde(rename = "a/a")]
    AaSeries,
}

impl StageOutcome {
    /// Its word in run.json and on report.html.
    pub fn label(self) -> &'static str {
        match self {
            StageOutcome::Pass => "pass",
            StageOutcome::Fail => "fail",
            StageOutcome::Inconclusive => "inconclusive",
            StageOutcome::Done => "done",
            StageOutcome::Interrupted => "interrupted",
            StageOutcome::DriverLost => "driver lost records",
            StageOutcome::Error => "error",
            StageOutcome::AaSeries => "a/a",
        }
    }

    /// The verdict stage's outcome: the decision's.
    pub fn of_decision(d: &crate::verdict::Decision) -> StageOutcome {
        match d.outcome() {
            crate::verdict::Outcome::Pass => StageOutcome::Pass,
            crate::verdict::Outcome::Fail => StageOutcome::Fail,
            crate::verdict::Outcome::Inconclusive => StageOutcome::Inconclusive,
        }
    }

    /// A check's result: pass when `ok`, else fail.
    pub fn of_check(ok: bool) -> StageOutcome {
        if ok {
            StageOutcome::Pass
        } else {
            StageOutcome::Fail
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SpecInfo {
    pub path: String,
    pub sha256: String,
    /// The spec's full text: `audit-harness report` takes the thresholds from it.
    pub text: String,
}

/// One size of a sweep, as run.json records it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SweepSize {
    pub rows: u64,
    pub dataset_dir: String,
    /// `generated` (with the seconds it took) or `reused` (its manifest matched).
    pub dataset: String,
    pub generate_seconds: Option<f64>,
    /// Measured requests and warm-ups per engine per round asked, and used after fitting.
    pub requests_asked: u64,
    pub warmup_asked: u64,
    pub requests: u64,
    pub warmup: u64,
    /// The length a round may take (`max_seconds / min_rounds`) and the estimate for the one run.
    pub round_budget_seconds: f64,
    pub round_estimate_seconds: f64,
    /// Probed seconds per request per engine (closed loop at the round's concurrency, summed over the mixes).
    pub probe_seconds_per_request: Vec<(String, f64)>,
    /// Engines cut at this size, each with why.
    pub cut: Vec<(String, String)>,
    /// Seconds each engine took to open the dataset.
    pub open_seconds: Vec<(String, f64)>,
    /// The benchmark at this size (as `bench` in a bench run's run.json); none when every engine was cut.
    pub bench: Option<BenchInfo>,
}

/// What identifies a dataset: its row count and the digests of its rows and payloads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetInfo {
    pub rows: u64,
    pub rows_sha256: String,
    pub payloads_sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GitInfo {
    pub revision: String,
    /// Uncommitted changes in the work tree.
    pub dirty: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Machine {
    pub cpu_model: String,
    pub cores: usize,
    pub os: String,
    pub kernel: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EquivalenceInfo {
    /// The engine the candidates were compared with (`[equivalence] reference`).
    #[serde(default)]
    pub reference: String,
    pub seed: u64,
    pub cases: u64,
    pub small_dataset_cases: u64,
    pub engines: Vec<String>,
    /// One entry per engine and property (what summary.json reports).
    #[serde(default)]
    pub results: Vec<EquivalenceResult>,
    /// The fields beyond the contract left out of the comparisons: learned
    /// from `[equivalence] noise_reference`, or stated in `ignore_fields`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise: Option<crate::equivalence::noise::NoiseSummary>,
}

/// One property's outcome for one engine, as run.json keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EquivalenceResult {
    pub engine: String,
    pub property: String,
    /// `pass`, `warn` or `fail`.
    pub status: String,
    pub cases: u64,
    pub failures: u64,
    /// As equivalence.csv writes it: `0x` hex.
    pub seed: String,
    /// The minimal failing query (JSON), the first difference, and the replay command.
    pub counterexample: Option<String>,
    pub detail: Option<String>,
    pub replay: Option<String>,
}

/// The benchmark's settings and everything `report` needs besides latencies.csv.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchInfo {
    pub engines: Vec<String>,
    /// Each engine's role (`reference`, `candidate`, `yardstick`), as the run decided it.
    #[serde(default)]
    pub roles: Vec<String>,
    pub mixes: Vec<String>,
    /// `closed` or `open`.
    pub mode: crate::spec::LoadMode,
    pub concurrency: u32,
    /// Measured requests per engine per round at most (the round stream's length).
    pub requests: u64,
    /// Slices per engine per round, and the longest a slice runs (ms).
    pub slices: u32,
    pub slice_ms: f64,
    /// The half-widths the deciding intervals had to reach for an early stop.
    pub precision: crate::spec::Precision,
    pub warmup: u64,
    /// Seconds the warm-ups took, before the first round.
    #[serde(default)]
    pub warmup_seconds: f64,
    pub min_rounds: u32,
    pub max_rounds: u32,
    pub max_seconds: f64,
    /// The looked phase's (the deciding one's, else the only one's) rounds
    /// planned after its first round: the looks' information fraction is rounds / planned.
    pub planned_rounds: u32,
    /// Whole rounds done in all phases (the ones analysed).
    pub rounds: u32,
    /// Why the looked phase stopped: `decided`, `budget`, `planned`, `interrupted`.
    pub stop: Stop,
    /// Seconds the rounds of every phase took.
    pub seconds: f64,
    /// Each phase: what it was for, its rounds, budget, and why it stopped.
    pub phases: Vec<PhaseInfo>,
    /// `warm` or `cold`.
    pub cache: crate::spec::CacheMode,
    /// Open loop: `uniform` or `poisson`.
    pub arrivals: crate::spec::Arrivals,
    pub seed: u64,
    pub warmup_stream_seed: u64,
    /// Seed of each round's request stream, round 1 first.
    pub round_stream_seeds: Vec<u64>,
    /// Per round and mix: what it held, slice by slice in the order they ran
    /// (engine, requests, start on the benchmark's clock, seconds).
    pub round_records: Vec<RoundRecord>,
    /// Open loop: the rate as asked, and the arrival rate used per mix.
    pub rate: Option<String>,
    pub rates_rps: BTreeMap<String, f64>,
    /// Open loop: the harness's own pacing lateness per mix (a do-nothing engine at the same rate).
    pub pacing: BTreeMap<String, PacingInfo>,
    pub confidence: f64,
    /// How the intervals are computed.
    pub method: String,
    /// The familywise false-fail rate over the checks that decide the exit code.
    pub family_alpha: f64,
    pub index_bytes: BTreeMap<String, u64>,
    /// Peak resident memory (bytes) of each engine served by processes of
    /// its own (process engines: all its processes summed; launched servers),
    /// read at the end of the rounds; engines in the harness's process have none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub peak_rss_bytes: BTreeMap<String, u64>,
    pub harness_overhead: Option<OverheadInfo>,
    /// Errors engines returned (warm-up included), one entry per engine, mix and round.
    pub engine_errors: Vec<EngineErrors>,
    /// Between- and within-round variance of p95, p99 and throughput per engine and mix.
    pub variance: Vec<Variance>,
    /// With `append_rate` > 0: the rounds run again under appends, figures
    /// beside the quiet ones, and the writer's achieved rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appends: Option<crate::appends::AppendsInfo>,
    /// Who sent the requests when it was not the harness's own threads
    /// (`--driver locust`): absent for the built-in driver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<crate::locust::DriverRecord>,
    /// Present while the benchmark runs (and in a run killed before its
    /// end): the record is of the rounds finished so far, and latencies.csv
    /// holds them in its first `latencies_bytes` bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<Checkpoint>,
}

/// A running benchmark's record (see [`BenchInfo::checkpoint`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// How much of latencies.csv is whole: the header and the rows of the
    /// rounds this record counts. Rows past it are of a round that had not
    /// been recorded (or were cut short) when the run was killed.
    pub latencies_bytes: u64,
}

impl Checkpoint {
    /// latencies.csv as far as this record counts it.
    pub fn whole(&self, latencies: impl std::io::Read) -> impl std::io::Read {
        latencies.take(self.latencies_bytes)
    }
}

/// One mix of one round, as run.json records it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RoundRecord {
    pub round: u32,
    pub phase: crate::bench::PhaseKind,
    pub mix: String,
    pub seconds: f64,
    pub slices: Vec<crate::bench::SliceInfo>,
}

/// One phase of the benchmark, as run.json records it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PhaseInfo {
    pub kind: crate::bench::PhaseKind,
    /// Its rounds are `first_round ..= first_round + rounds - 1`.
    pub first_round: u32,
    pub rounds: u32,
    pub planned_rounds: u32,
    pub stop: Stop,
    pub seconds: f64,
    pub budget_seconds: f64,
    /// Rounds between its looks at the data (the deciding phase's).
    pub look_every: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PacingInfo {
    pub rps: f64,
    pub requests: u64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
    pub late: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OverheadInfo {
    pub requests: u64,
    pub per_request_ns: f64,
    pub recorded_latency_ns: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EngineErrors {
    pub engine: String,
    pub mix: String,
    pub trial: u32,
    pub warmup_errors: u64,
    pub measured_errors: u64,
    pub first_error: String,
}

impl BenchInfo {
    /// What run.json records of a finished (or interrupted) benchmark.
    pub fn new(plan: &Plan, run: &BenchRun, overhead: &Overhead) -> BenchInfo {
        BenchInfo {
            variance: crate::analysis::variance_components(&run.series, plan.bench.mode, plan.bench.concurrency),
            ..BenchInfo::of(plan, &run.series, run, overhead)
        }
    }

    /// The record of a benchmark still running, after the round that made
    /// latencies.csv `latencies_bytes` long: `run` as it stands (see
    /// `bench::Checkpoint`), with `series` its measurements so far. The
    /// variance components are left to `report`, which recomputes them.
    pub fn checkpoint(
        plan: &Plan,
        series: &[crate::bench::Series],
        run: &BenchRun,
        overhead: &Overhead,
        latencies_bytes: u64,
    ) -> BenchInfo {
        BenchInfo {
            checkpoint: Some(Checkpoint { latencies_bytes }),
            ..BenchInfo::of(plan, series, run, overhead)
        }
    }

    /// Everything but the variance components, from `run` and its `series`.
    fn of(plan: &Plan, series: &[crate::bench::Series], run: &BenchRun, overhead: &Overhead) -> BenchInfo {
        let mut engine_errors = Vec::new();
        for s in series {
            for t in &s.trials {
                if let Some(e) = &t.first_error {
                    engine_errors.push(EngineErrors {
                        engine: s.engine.clone(),
                        mix: s.mix.clone(),
                        trial: t.index,
                        warmup_errors: t.warmup_errors,
                        measured_errors: t.requests.iter().filter(|r| r.rows.is_none()).count() as u64,
                        first_error: e.clone(),
                    });
                }
            }
        }
        let looked = run.looked().map(|p| p.outcome);
        BenchInfo {
            engines: plan.bench.engines.clone(),
            roles: plan.roles.iter().map(|r| r.label().to_string()).collect(),
            mixes: plan.mixes.iter().map(|m| m.0.clone()).collect(),
            mode: plan.bench.mode,
            concurrency: plan.bench.concurrency,
            requests: plan.bench.requests,
            slices: plan.bench.slices,
            slice_ms: plan.bench.slice_ms,
            precision: plan.bench.precision,
            warmup: plan.bench.warmup,
            warmup_seconds: run.warmup_seconds,
            min_rounds: plan.bench.min_rounds,
            max_rounds: plan.bench.max_rounds,
            max_seconds: plan.bench.max_seconds,
            planned_rounds: looked.map_or(0, |o| o.planned),
            rounds: run.rounds_done(),
            stop: looked.map_or(Stop::Interrupted, |o| o.stop),
            seconds: run.phases.iter().map(|p| p.outcome.seconds).sum(),
            phases: run
                .phases
                .iter()
                .map(|p| PhaseInfo {
                    kind: p.kind,
                    first_round: p.first_round,
                    rounds: p.outcome.rounds,
                    planned_rounds: p.outcome.planned,
                    stop: p.outcome.stop,
                    seconds: p.outcome.seconds,
                    budget_seconds: p.budget_seconds,
                    look_every: p.outcome.every,
                })
                .collect(),
            cache: plan.bench.cache,
            arrivals: plan.bench.arrivals,
            seed: plan.bench.seed,
            warmup_stream_seed: plan.warmup_seed(),
            round_stream_seeds: (0..run.rounds_done()).map(|r| plan.round_seed(r)).collect(),
            round_records: run
                .rounds
                .iter()
                .map(|r| RoundRecord {
                    round: r.round,
                    phase: r.phase,
                    mix: r.mix.clone(),
                    seconds: r.seconds,
                    slices: r.slices.clone(),
                })
                .collect(),
            rate: plan.bench.rate.map(|r| r.to_string()),
            rates_rps: run.rates.iter().cloned().collect(),
            pacing: run
                .pacing
                .iter()
                .map(|(m, p)| {
                    (
                        m.clone(),
                        PacingInfo {
                            rps: p.rps,
                            requests: p.requests,
                            p50_us: p.p50_us,
                            p99_us: p.p99_us,
                            max_us: p.max_us,
                            late: p.late,
                        },
                    )
                })
                .collect(),
            confidence: crate::stats::CONFIDENCE,
            method: crate::stats::METHOD.to_string(),
            family_alpha: crate::verdict::FAMILY_ALPHA,
            index_bytes: run.index_bytes.iter().cloned().collect(),
            peak_rss_bytes: run.peak_rss.iter().cloned().collect(),
            harness_overhead: Some(OverheadInfo {
                requests: overhead.requests,
                per_request_ns: overhead.per_request_ns,
                recorded_latency_ns: overhead.recorded_latency_ns,
            }),
            engine_errors,
            variance: Vec::new(),
            appends: None,
            driver: run.driver.clone(),
            checkpoint: None,
        }
    }

    /// The phase whose looks the intervals are adjusted for: the deciding
    /// one, else the only one.
    pub fn looked_phase(&self) -> Option<&PhaseInfo> {
        self.phases
            .iter()
            .find(|p| p.kind == crate::bench::PhaseKind::Deciding)
            .or(self.phases.first())
    }

    /// The deciding phase's (else the only one's) rounds and seconds, and
    /// the run's `max_rounds`: what a projection of more rounds starts from.
    pub fn looked_extent(&self) -> Option<(u32, f64, u32)> {
        self.looked_phase().map(|p| (p.rounds, p.seconds, self.max_rounds))
    }

    /// The looks the run made at its data, for the analysis.
    pub fn looks(&self) -> crate::stats::sequential::Looks {
        let (rounds, planned, stop, seconds, every) = match self.looked_phase() {
            // Nothing decided, so nothing was looked at: a fixed design.
            Some(p) if p.kind == crate::bench::PhaseKind::Informational => {
                return crate::stats::sequential::Looks::fixed(p.rounds.max(1))
            }
            Some(p) => (p.rounds, p.planned_rounds, p.stop, p.seconds, p.look_every),
            None => (self.rounds, self.planned_rounds, self.stop, self.seconds, 1),
        };
        crate::bench::Outcome {
            rounds,
            planned,
            stop,
            seconds,
            every,
        }
        .looks(self.min_rounds)
    }

    /// Whether a phase was interrupted (the run's figures cover part of it),
    /// or the record is a running benchmark's (the run did not end: its
    /// verdict is inconclusive, whatever its phases had decided).
    pub fn interrupted(&self) -> bool {
        self.checkpoint.is_some()
            || self.stop == Stop::Interrupted
            || self.phases.iter().any(|p| p.stop == Stop::Interrupted)
    }

    /// Why the run's figures carry no verdict although it ended, if they do
    /// not: the reference erred (warm-ups included) or answered no request of
    /// a round, or the load driver lost a round's records. The run then
    /// exits 1 or 2 whatever its candidates' checks say, and its files must
    /// not say `pass`.
    pub fn no_yardstick(&self) -> Option<crate::verdict::Undecided> {
        use crate::verdict::Undecided;
        let stops = || std::iter::once(self.stop).chain(self.phases.iter().map(|p| p.stop));
        if stops().any(|s| s == Stop::DriverLost) {
            return Some(Undecided::DriverLost);
        }
        // Earlier records have no roles: their reference is the first engine.
        let reference = if self.roles.is_empty() {
            self.engines.first()
        } else {
            self.roles
                .iter()
                .position(|r| r == "reference")
                .and_then(|i| self.engines.get(i))
        };
        let erred = self
            .engine_errors
            .iter()
            .any(|e| Some(&e.engine) == reference && e.warmup_errors + e.measured_errors > 0);
        (erred || stops().any(|s| s == Stop::NoReference)).then_some(Undecided::NoYardstick)
    }

    /// The rounds the looks were made on, when other phases ran beside them.
    pub fn looked_rounds(&self) -> Option<(u32, u32)> {
        let p = self.looked_phase()?;
        (self.phases.len() > 1 && p.rounds > 0).then(|| (p.first_round, p.first_round + p.rounds - 1))
    }
}

impl RunInfo {
    /// The decision the run's deciding judgements call for (inconclusive
    /// for an interrupted run): what summary.json and report.html show.
    pub fn decision(&self, judgements: &[crate::verdict::Judgement]) -> crate::verdict::Decision {
        let bench = self.bench.as_ref();
        match bench.filter(|b| !b.interrupted()).and_then(BenchInfo::no_yardstick) {
            Some(why) => crate::verdict::Decision::Inconclusive(why),
            None => crate::verdict::decide(judgements, bench.is_some_and(|b| b.interrupted())),
        }
    }

    /// The record of a run starting now.
    pub fn start(run_id: &str, started: SystemTime, spec: &Spec, data_dir: &Path) -> RunInfo {
        let mut versions = BTreeMap::new();
        versions.insert("audit-harness".into(), env!("CARGO_PKG_VERSION").to_string());
        // The compiler and revision the binary was built from (not the rustc on PATH now).
        versions.insert("rustc".into(), env!("AUDIT_HARNESS_RUSTC").to_string());
        versions.insert("harness_git".into(), env!("AUDIT_HARNESS_GIT").to_string());
        versions.insert("sqlite".into(), rusqlite::version().to_string());
        RunInfo {
            schema_version: super::SCHEMA_VERSION,
            run_id: run_id.to_string(),
            complete: false,
            started_at: timestamp(started),
            ended_at: None,
            command: std::env::args().collect(),
            spec: SpecInfo {
                path: spec.path.display().to_string(),
                sha256: spec.digest.clone(),
                text: spec.text.clone(),
            },
            dataset_dir: data_dir.display().to_string(),
            dataset: crate::dataset::manifest::Manifest::read(data_dir)
                .ok()
                .map(|m| DatasetInfo {
                    rows: m.rows,
                    rows_sha256: m.rows_sha256,
                    payloads_sha256: m.payloads_sha256,
                }),
            git: git_info(&spec.base_dir()),
            machine: machine(),
            versions,
            stages: Vec::new(),
            equivalence: None,
            bench: None,
            sweep: Vec::new(),
            exit_code: None,
            error: None,
        }
    }

    pub fn to_json(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).unwrap_or_default();
        v.push(b'\n');
        v
    }
}

/// RFC 3339 UTC, to the second.
pub fn timestamp(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

fn command_output(cmd: &str, args: &[&str], dir: Option<&Path>) -> Option<String> {
    let mut c = std::process::Command::new(cmd);
    c.args(args).stderr(std::process::Stdio::null());
    if let Some(d) = dir {
        c.current_dir(d);
    }
    let out = c.output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn git_info(dir: &Path) -> Option<GitInfo> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let revision = command_output("git", &["rev-parse", "HEAD"], Some(dir))?;
    let dirty = command_output("git", &["status", "--porcelain", "--untracked-files=no"], Some(dir))
        .is_some_and(|s| !s.is_empty());
    Some(GitInfo { revision, dirty })
}

fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or_else(|| std::env::consts::ARCH.to_string(), |(_, v)| v.trim().to_string());
    let os = std::fs::read_to_string("/etc/os-release")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map_or_else(|| std::env::consts::OS.to_string(), |v| v.trim_matches('"').to_string());
    Machine {
        cpu_model,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        os,
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stages are typed in the code and the same words in run.json as when
    /// they were strings, so `report` reads runs written before.
    #[test]
    fn stages_are_written_and_read_as_the_words_run_json_always_had() {
        let stages = vec![
            (Stage::Integrity, StageOutcome::Pass),
            (Stage::Equivalence, StageOutcome::Fail),
            (Stage::Bench, StageOutcome::DriverLost),
            (Stage::Appends, StageOutcome::Error),
            (Stage::Bench, StageOutcome::Interrupted),
            (Stage::Verdict, StageOutcome::Inconclusive),
            (Stage::Verdict, StageOutcome::AaSeries),
            (Stage::Sweep, StageOutcome::Done),
        ];
        let text = serde_json::to_string(&stages).unwrap();
        assert_eq!(
            text,
            r#"[["integrity","pass"],["equivalence","fail"],["bench","driver lost records"],["appends","error"],["bench","interrupted"],["verdict","inconclusive"],["verdict","a/a"],["sweep","done"]]"#
        );
        for (stage, outcome) in &stages {
            assert_eq!(
                serde_json::to_string(&(stage, outcome)).unwrap(),
                format!("[\"{}\",\"{}\"]", stage.label(), outcome.label())
            );
        }
        let back: Vec<(Stage, StageOutcome)> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, stages);
        assert!(serde_json::from_str::<(Stage, StageOutcome)>(r#"["bench","maybe"]"#).is_err());
    }
}
