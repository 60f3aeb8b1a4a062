//! The acceptance gate (`audit-harness gate`, run by `./run_tests`): integrity,
//! equivalence, benchmark and verdict, in order, stopping at the first stage
//! that fails; and the stages `equiv` and `bench` share with it. Every run
//! writes its report directory (see `report`).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

use crate::analysis::Settings;
use crate::bench::{self, overhead, Plan};
use crate::error::HarnessError;
use crate::integrity::{self, Check};
use crate::report::reanalyze::{write_analysis, Analysis};
use crate::report::run_json::{self, BenchInfo, EngineErrors, EquivalenceInfo, OverheadInfo, RunInfo};
use crate::report::{latencies, RunDir};
use crate::spec::{LoadMode, Spec};
use crate::{equivalence, output, registry, verdict};

/// A run in progress: its report directory and its run.json.
pub struct Run {
    pub dir: RunDir,
    pub info: RunInfo,
}

impl Run {
    /// Creates the report directory and writes run.json (`complete: false`) before anything runs.
    pub fn start(spec: &Spec, data_dir: &Path) -> Result<Run, HarnessError> {
        let started = SystemTime::now();
        let dir = RunDir::create(&spec.bench.reports_dir, started, &spec.digest)?;
        let info = RunInfo::start(&dir.id, started, spec, data_dir);
        dir.write("run.json", &info.to_json())?;
        bench::install_interrupt_handler();
        Ok(Run { dir, info })
    }

    /// Records a stage's outcome and saves run.json.
    pub fn stage(&mut self, name: &str, outcome: &str) -> Result<(), HarnessError> {
        self.info.stages.push((name.to_string(), outcome.to_string()));
        self.dir.write("run.json", &self.info.to_json())
    }

    /// Marks the run ended (complete unless interrupted), saves run.json and says where the reports are.
    pub fn finish(mut self, result: Result<(), HarnessError>) -> Result<(), HarnessError> {
        self.info.ended_at = Some(run_json::timestamp(SystemTime::now()));
        self.info.complete = !bench::interrupted();
        self.info.exit_code = Some(result.as_ref().map_or_else(HarnessError::exit_code, |_| 0));
        let saved = self.dir.write("run.json", &self.info.to_json());
        println!(
            "== reports: {}{}",
            self.dir.path.display(),
            if self.info.complete { "" } else { " (incomplete)" }
        );
        result.and(saved)
    }
}

/// Runs the gate's stages on the dataset in `dir`.
pub fn run(spec: &Spec, dir: &Path) -> Result<(), HarnessError> {
    let mut run = Run::start(spec, dir)?;
    let result = stages(spec, dir, &mut run);
    if result.is_ok() {
        println!("gate: PASS (integrity, equivalence, benchmark, verdict)");
    }
    run.finish(result)
}

fn stages(spec: &Spec, dir: &Path, run: &mut Run) -> Result<(), HarnessError> {
    println!("== integrity: {} ({})", dir.display(), spec.path.display());
    let checks = integrity::verify(spec, dir)?;
    print_checks(&checks);
    let judged = integrity::judge(&checks);
    run.stage("integrity", if judged.is_ok() { "pass" } else { "fail" })?;
    judged?;

    let opts = equivalence::Options::from_spec(spec, dir)?;
    let candidates = spec
        .equivalence
        .engines
        .iter()
        .map(|n| registry::opener(spec, n))
        .collect::<Result<Vec<_>, _>>()?;
    let report = equivalence_stage(&opts, &candidates, Some(run))?;
    let judged = report.judge();
    run.stage("equivalence", if judged.is_ok() { "pass" } else { "fail" })?;
    judged?;

    let mut engines = spec.bench.engines.clone();
    engines.extend(
        spec.gate
            .candidates
            .iter()
            .filter(|c| !spec.bench.engines.contains(c))
            .cloned(),
    );
    let plan = Plan::new(
        spec,
        dir,
        bench::plan::Overrides {
            engines: Some(engines),
            ..Default::default()
        },
    )?;
    let analysis = bench_stage(spec, dir, &plan, run)?;
    verdict_stage(spec, &analysis, run)
}

/// Runs the equivalence suite, printing each result as it lands, and writes
/// `equivalence.csv` into the run's directory when there is a run.
pub fn equivalence_stage(
    opts: &equivalence::Options,
    candidates: &[equivalence::Opener],
    run: Option<&mut Run>,
) -> Result<equivalence::Report, HarnessError> {
    let names: Vec<&str> = candidates.iter().map(|c| c.name.as_str()).collect();
    println!(
        "== equivalence: {} vs baseline, seed {}, {} cases + {} small datasets per candidate{}",
        names.join(", "),
        opts.seed,
        opts.cases,
        opts.small_dataset_cases,
        if opts.strict_domain { ", strict domain" } else { "" }
    );
    let report = equivalence::run(opts, candidates, |r| println!("{}", equivalence::describe(r)))?;
    let cases: u64 = report.results.iter().map(|r| r.cases).sum();
    println!(
        "  {} checks in {:.1} s ({:.0} per second)",
        cases,
        report.seconds,
        cases as f64 / report.seconds.max(1e-9)
    );
    if let Some(run) = run {
        let csv =
            equivalence::export::to_csv(&report).map_err(|e| HarnessError::input(format!("equivalence.csv: {e}")))?;
        run.dir.write("equivalence.csv", &csv)?;
        run.info.equivalence = Some(EquivalenceInfo {
            seed: opts.seed,
            cases: opts.cases,
            small_dataset_cases: opts.small_dataset_cases,
            engines: names.iter().map(|s| s.to_string()).collect(),
        });
    }
    Ok(report)
}

/// Benchmarks the plan's engines, prints the figures, and writes
/// `latencies.csv`, `summary.csv`, `strata.csv` and the plots into the run's directory.
pub fn bench_stage(spec: &Spec, dir: &Path, plan: &Plan, run: &mut Run) -> Result<Analysis, HarnessError> {
    let engines = plan
        .engines
        .iter()
        .map(|n| registry::open(spec, n, dir).map(|e| (n.clone(), e)))
        .collect::<Result<Vec<_>, _>>()?;
    let mode = match plan.mode {
        LoadMode::Closed => "closed".to_string(),
        LoadMode::Open => "open".to_string(),
    };
    let cache = format!("{:?}", plan.cache).to_lowercase();
    println!(
        "== bench: {} on {}; {mode} loop, {} workers, {} trials interleaved, >= {} requests per trial (then to {} or {} s), {} warm-up, {cache} cache, seed {}",
        plan.engines.join(", "),
        plan.mixes.iter().map(|m| m.0.as_str()).collect::<Vec<_>>().join(", "),
        plan.concurrency,
        plan.trials,
        plan.requests,
        plan.min_requests,
        plan.min_seconds,
        plan.warmup,
        plan.seed
    );
    let first_mix = &plan.mixes[0].1;
    let oh = overhead::measure(&plan.trial_stream(first_mix, 0), 200_000);
    println!(
        "  harness overhead: {:.0} ns per request (closed loop around a do-nothing engine, {} requests; target < 1000 ns); {:.0} ns recorded as its latency",
        oh.per_request_ns, oh.requests, oh.recorded_latency_ns
    );
    let mut progress = output::BenchProgress::new();
    let n_engines = engines.len();
    let result = bench::run(plan, &engines, |p| progress.update(p, n_engines))?;

    let mut warmup_errors = BTreeMap::new();
    let mut engine_errors = Vec::new();
    for s in &result.series {
        for t in &s.trials {
            let measured = t.requests.iter().filter(|r| r.rows.is_none()).count() as u64;
            if let Some(e) = &t.first_error {
                engine_errors.push(EngineErrors {
                    engine: s.engine.clone(),
                    mix: s.mix.clone(),
                    trial: t.index,
                    warmup_errors: t.warmup_errors,
                    measured_errors: measured,
                    first_error: e.clone(),
                });
                println!("  ERROR {} {} trial {}: {e}", s.engine, s.mix, t.index);
            }
            *warmup_errors.entry((s.engine.clone(), s.mix.clone())).or_insert(0) += t.warmup_errors;
        }
    }
    let index_bytes: BTreeMap<String, u64> = result.index_bytes.iter().cloned().collect();
    let bootstrap_seed = plan.seed;
    run.info.bench = Some(BenchInfo {
        engines: plan.engines.clone(),
        mixes: plan.mixes.iter().map(|m| m.0.clone()).collect(),
        mode: mode.clone(),
        concurrency: plan.concurrency,
        trials: plan.trials,
        requests: plan.requests,
        warmup: plan.warmup,
        min_requests: plan.min_requests,
        min_seconds: plan.min_seconds,
        cache,
        seed: plan.seed,
        warmup_stream_seed: plan.seed.wrapping_mul(1_000_003),
        trial_stream_seeds: (0..plan.trials).map(|t| plan.trial_seed(t)).collect(),
        rate: plan.rate.map(|r| r.to_string()),
        rates_rps: result.rates.iter().cloned().collect(),
        confidence: crate::stats::CONFIDENCE,
        bootstrap_method: crate::stats::BOOTSTRAP_METHOD.to_string(),
        bootstrap_resamples: plan.bootstrap_resamples,
        bootstrap_seed,
        index_bytes: index_bytes.clone(),
        harness_overhead: Some(OverheadInfo {
            requests: oh.requests,
            per_request_ns: oh.per_request_ns,
            recorded_latency_ns: oh.recorded_latency_ns,
        }),
        engine_errors,
    });
    run.dir.write("run.json", &run.info.to_json())?;
    if result.series.iter().all(|s| s.trials.is_empty()) {
        return Err(HarnessError::Inconclusive(
            "interrupted before any trial finished".into(),
        ));
    }
    run.dir.write("latencies.csv", &latencies::to_csv(&result.series)?)?;
    let settings = Settings {
        mode: plan.mode,
        concurrency: plan.concurrency,
        bootstrap_resamples: plan.bootstrap_resamples,
        seed: bootstrap_seed,
        index_bytes,
        warmup_errors,
    };
    let analysis = write_analysis(&run.dir.path, &result.series, &settings, &spec.gate)?;
    output::print_summaries(&analysis.summaries);
    run.stage("bench", if result.complete { "done" } else { "interrupted" })?;
    Ok(analysis)
}

/// Prints one line per threshold and decides the exit code from the candidates' verdicts.
pub fn verdict_stage(spec: &Spec, analysis: &Analysis, run: &mut Run) -> Result<(), HarnessError> {
    println!(
        "== verdict: candidates {}; a threshold passes when its whole 95 % interval is on the right side",
        spec.gate.candidates.join(", ")
    );
    output::print_judgements(&analysis.judgements);
    if analysis.judgements.iter().all(|j| j.informational) {
        println!(
            "  (no engine of [gate] candidates was judged on a mix of [gate] mixes: every line above is informational)"
        );
    }
    let decided = if bench::interrupted() {
        Err(HarnessError::Inconclusive(
            "interrupted: the figures cover the finished trials only; run.json says complete: false".into(),
        ))
    } else {
        verdict::decide(&analysis.judgements)
    };
    run.stage(
        "verdict",
        match &decided {
            Ok(()) => "pass",
            Err(HarnessError::Failed(_)) => "fail",
            Err(_) => "inconclusive",
        },
    )?;
    decided
}

/// One line per check: `ok`/`FAIL`, its name and what it found.
pub fn print_checks(checks: &[Check]) {
    for c in checks {
        println!("  {:<4} {:<19} {}", if c.ok { "ok" } else { "FAIL" }, c.name, c.detail);
    }
}
