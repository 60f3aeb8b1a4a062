//! The acceptance gate (`audit-harness gate`, run by `./run_tests`): integrity,
//! equivalence, benchmark and verdict, in order, stopping at the first stage
//! that fails; and the stages `equiv` and `bench` share with it. Every run
//! writes its report directory (see `report`).

use std::path::Path;

use crate::analysis::{self, Settings};
use crate::bench::{self, overhead, Plan, Series};
use crate::error::HarnessError;
use crate::integrity::{self, Check};
use crate::report::latencies;
use crate::report::reanalyze::{self, write_analysis, Analysis};
use crate::report::run::Run;
use crate::report::run_json::{BenchInfo, EquivalenceInfo};
use crate::spec::Spec;
use crate::stats::sequential::Looks;
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

/// Benchmarks the plan's engines round by round until every deciding
/// threshold is decided or the budget is spent, prints the figures, and writes
/// `latencies.csv`, `summary.csv`, `strata.csv` and the plots into the run's directory.
pub fn bench_stage(spec: &Spec, dir: &Path, plan: &Plan, run: &mut Run) -> Result<Analysis, HarnessError> {
    let engines = plan
        .engines
        .iter()
        .map(|n| registry::open(spec, n, dir).map(|e| (n.clone(), e)))
        .collect::<Result<Vec<_>, _>>()?;
    output::print_bench_header(plan);
    let first_mix = &plan.mixes[0].1;
    let oh = overhead::measure(&plan.round_stream(first_mix, 0), 200_000);
    output::print_overhead(&oh);
    let mut progress = output::BenchProgress::new();
    let settled = |series: &[Series], looks: Looks| {
        let settings = Settings {
            mode: plan.mode,
            concurrency: plan.concurrency,
            looks,
            index_bytes: Default::default(),
            warmup_errors: analysis::warmup_errors(series),
        };
        let summaries = analysis::summarize(series, &settings);
        verdict::settled(&verdict::judge_all(&summaries, &spec.gate, &looks))
    };
    let result = bench::run(plan, &engines, |p| progress.update(p), settled)?;
    output::print_bench_end(&result.outcome);

    let info = BenchInfo::new(plan, &result, &oh);
    for e in &info.engine_errors {
        println!("  ERROR {} {} round {}: {}", e.engine, e.mix, e.trial, e.first_error);
    }
    let settings = reanalyze::settings(&info).map_err(HarnessError::input)?;
    run.info.bench = Some(info);
    run.dir.write("run.json", &run.info.to_json())?;
    if result.outcome.rounds == 0 {
        return Err(HarnessError::Inconclusive(
            "interrupted before any round finished".into(),
        ));
    }
    run.dir.write("latencies.csv", &latencies::to_csv(&result.series)?)?;
    let analysis = write_analysis(&run.dir.path, &result.series, &settings, &spec.gate)?;
    output::print_summaries(&analysis.summaries);
    run.stage(
        "bench",
        if result.outcome.stop == bench::Stop::Interrupted {
            "interrupted"
        } else {
            "done"
        },
    )?;
    // The reference's figures are the yardstick of every ratio: a baseline that
    // errs makes them meaningless.
    if let Some(b) = analysis
        .summaries
        .iter()
        .find(|s| s.role == audit_engines::Role::Reference && s.errors > 0)
    {
        return Err(HarnessError::failed(format!(
            "the baseline answered {} request(s) on mix {} with an error; its figures are no yardstick (see the ERROR lines above)",
            b.errors, b.mix
        )));
    }
    Ok(analysis)
}

/// Prints one line per threshold and decides the exit code from the candidates' verdicts.
pub fn verdict_stage(spec: &Spec, analysis: &Analysis, run: &mut Run) -> Result<(), HarnessError> {
    output::print_verdict_header(&spec.gate, &analysis.judgements, &analysis.looks);
    output::print_judgements(&analysis.judgements);
    if analysis.judgements.iter().all(|j| j.informational) {
        println!(
            "  (no engine of [gate] candidates was judged on a mix of [gate] mixes: every line above is informational)"
        );
    }
    let decided = if bench::interrupted() {
        Err(HarnessError::Inconclusive(
            "interrupted: the figures cover the finished rounds only; run.json says complete: false".into(),
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
