//! The acceptance gate (`audit-harness gate`, run by `./run_tests`): integrity,
//! equivalence, benchmark and verdict, in order, stopping at the first stage
//! that fails; and the stages `equiv` and `bench` share with it. Every run
//! writes its report directory (see `report`).

use std::path::Path;

use crate::bench::{self, overhead, Plan};
use crate::error::HarnessError;
use crate::integrity::{self, Check};
use crate::report::latencies;
use crate::report::reanalyze::{self, write_analysis, Analysis};
use crate::report::run::Run;
use crate::report::run_json::{BenchInfo, EquivalenceInfo};
use crate::spec::Spec;
use crate::{equivalence, output, registry, verdict};

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
    let (mode, cache) = (plan.mode.label(), plan.cache.label());
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
    let oh = overhead::measure(plan, &plan.trial_stream(first_mix, 0), 200_000);
    println!(
        "  harness overhead: {:.0} ns per request (closed loop around a do-nothing engine, {} requests; target < 1000 ns); {:.0} ns recorded as its latency",
        oh.per_request_ns, oh.requests, oh.recorded_latency_ns
    );
    let mut progress = output::BenchProgress::new();
    let n_engines = engines.len();
    let result = bench::run(plan, &engines, |p| progress.update(p, n_engines))?;

    let info = BenchInfo::new(plan, &result, &oh);
    for e in &info.engine_errors {
        println!("  ERROR {} {} trial {}: {}", e.engine, e.mix, e.trial, e.first_error);
    }
    let settings = reanalyze::settings(&info).map_err(HarnessError::input)?;
    run.info.bench = Some(info);
    run.dir.write("run.json", &run.info.to_json())?;
    if result.series.iter().all(|s| s.trials.is_empty()) {
        return Err(HarnessError::Inconclusive(
            "interrupted before any trial finished".into(),
        ));
    }
    run.dir.write("latencies.csv", &latencies::to_csv(&result.series)?)?;
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
