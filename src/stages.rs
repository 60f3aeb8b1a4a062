//! The stages a run is made of (integrity, equivalence, benchmark, verdict),
//! shared by `gate`, `equiv`, `bench` and `verify` (and the benchmark's pieces
//! by `aa` and `sweep`): each runs its part, hands
//! plain data to `output` for the terminal and to the run's report directory,
//! records its outcome in run.json, and returns what the next stage needs.

use std::path::{Path, PathBuf};

use crate::analysis::Settings;
use crate::bench::{self, overhead, Plan, Series};
use crate::cancel::Cancel;
use crate::error::HarnessError;
use crate::integrity;
use crate::report::journal::Journal;
use crate::report::latencies;
use crate::report::reanalyze::{self, Analysis};
use crate::report::run::Run;
use crate::report::run_json::{BenchInfo, EquivalenceInfo, Stage, StageOutcome};
use crate::report::RunDir;
use crate::spec::Spec;
use crate::stats::sequential::Looks;
use crate::{equivalence, output, registry, report, verdict};

/// Checks the dataset and the baseline (`verify`, and the gate's first stage).
pub fn integrity_stage(spec: &Spec, dir: &Path, mut run: Option<&mut Run>) -> Result<(), HarnessError> {
    if let Some(run) = run.as_deref_mut() {
        run.begin(Stage::Integrity);
    }
    output::dataset::print_integrity_header(spec, dir);
    let task = output::progress::start("integrity: reading the dataset and the baseline", None, "");
    let checks = integrity::verify(spec, dir);
    drop(task);
    let checks = checks?;
    output::dataset::print_checks(&checks);
    let judged = integrity::judge(&checks);
    if let Some(run) = run {
        run.stage(Stage::Integrity, StageOutcome::of_check(judged.is_ok()))?;
    }
    judged
}

/// Runs the equivalence suite, printing each result as it lands, and writes
/// `equivalence.csv` into the run's directory when there is a run.
pub fn equivalence_stage(
    opts: &equivalence::Options,
    candidates: &[equivalence::Opener],
    run: Option<&mut Run>,
) -> Result<equivalence::Report, HarnessError> {
    let names: Vec<&str> = candidates.iter().map(|c| c.name.as_str()).collect();
    let width = output::equivalence::print_header(opts, &names);
    let task = output::progress::start("equivalence", None, "results");
    let report = equivalence::run(opts, candidates, |r| {
        task.inc();
        output::equivalence::print_result(r, width)
    });
    drop(task);
    let report = report?;
    output::equivalence::print_totals(&report);
    if let Some(run) = run {
        run.dir
            .write("equivalence.csv", &report::equivalence::to_csv(&report)?)?;
        run.info.equivalence = Some(EquivalenceInfo {
            reference: report.reference.clone(),
            seed: opts.seed,
            cases: opts.cases,
            small_dataset_cases: opts.small_dataset_cases,
            engines: names.iter().map(|s| s.to_string()).collect(),
            results: report::equivalence::results(&report),
            noise: report.noise.clone(),
        });
    }
    Ok(report)
}

/// Benchmarks the plan's engines round by round until every deciding
/// threshold is decided or the budget is spent, prints the figures, and writes
/// `latencies.csv`, `summary.csv`, `summary.json`, `strata.csv`, `report.html`
/// and the plots into the run's directory.
pub fn bench_stage(spec: &Spec, dir: &Path, plan: &Plan, run: &mut Run) -> Result<Analysis, HarnessError> {
    run.begin(Stage::Bench);
    let engines = plan
        .bench
        .engines
        .iter()
        .map(|n| registry::open(spec, n, dir, &run.cancel).map(|e| (n.clone(), e)))
        .collect::<Result<Vec<_>, _>>()?;
    bench_engines(spec, dir, plan, &engines, run)
}

/// The benchmark stage on engines already opened (one per plan engine, in order).
pub fn bench_engines(
    spec: &Spec,
    dir: &Path,
    plan: &Plan,
    engines: &[(String, audit_engines::SharedEngine)],
    run: &mut Run,
) -> Result<Analysis, HarnessError> {
    run.begin(Stage::Bench);
    output::bench::print_header(plan);
    let first_mix = &plan.mixes[0].1;
    let task = output::progress::start("measuring the harness's own overhead", None, "");
    let oh = overhead::measure(&plan.round_stream(first_mix, 0), 200_000, &run.cancel);
    drop(task);
    output::bench::print_overhead(&oh);
    let phases = plan.phases(&spec.gate);
    let mut cache = crate::analysis::Cache::default();
    let settled = |series: &[Series], looks: Looks| {
        let settings = Settings::from_records(plan.bench.mode, plan.bench.concurrency, looks, series);
        verdict::settled_by(series, &settings, &spec.gate, &plan.bench.precision, &mut cache)
    };
    let mut journal = Journal::new(&run.dir, &run.info, plan, &oh);
    let result = run_rounds(plan, engines, &phases, settled, |c| journal.round(c), &run.cancel);
    let saved = journal.into_record();
    let result = match result {
        Ok(result) => result,
        Err(e) => {
            // The run ends with this error; run.json keeps the rounds the
            // journal recorded, so that `report` still analyses them.
            run.info.bench = saved;
            return Err(e);
        }
    };

    let info = BenchInfo::new(plan, &result, &oh);
    output::bench::print_engine_errors(&info.engine_errors);
    let settings = reanalyze::settings(&info).map_err(HarnessError::input)?;
    run.info.bench = Some(info);
    // run.json first: until latencies.csv is replaced by the whole run's
    // (in the order of the series), the journal's holds every finished round.
    run.save()?;
    if result.rounds_done() == 0 {
        if let Some(why) = &result.driver_lost {
            run.stage(Stage::Bench, StageOutcome::DriverLost)?;
            return Err(HarnessError::input(format!("{why}; no round had finished before it")));
        }
        return Err(HarnessError::Inconclusive(
            "interrupted before any round finished".into(),
        ));
    }
    let analysis = write_measured(&run.dir, &result.series, &settings, &spec.gate, &run.info)?;
    output::bench::print_summaries(&analysis.summaries);
    if let Some(b) = &run.info.bench {
        output::bench::print_peak_rss(&b.peak_rss_bytes);
        output::bench::print_variance(&b.variance);
    }
    output::bench::print_imprecise(
        &verdict::imprecise(&analysis.summaries, &analysis.judgements, &plan.bench.precision),
        run.info.bench.as_ref().and_then(BenchInfo::looked_extent),
    );
    let outcome = if result.driver_lost.is_some() {
        StageOutcome::DriverLost
    } else if result.interrupted() {
        StageOutcome::Interrupted
    } else {
        StageOutcome::Done
    };
    run.stage(Stage::Bench, outcome)?;
    if let Some(why) = &result.driver_lost {
        return Err(HarnessError::input(format!(
            "{why}; the {} finished round(s) before it are analysed above and in latencies.csv",
            result.rounds_done()
        )));
    }
    // An interrupted run ends as one (exit 3), whatever its reference did
    // meanwhile: an engine stopped by the signal errs by no fault of its own,
    // and its files say interrupted too (RunInfo::decision).
    let interrupted = run.cancel.is_cancelled() || result.interrupted();
    if !interrupted && result.phases.iter().any(|p| p.outcome.stop == bench::Stop::NoReference) {
        let reference = result
            .series
            .iter()
            .find(|s| s.role == audit_engines::Role::Reference)
            .map_or("the baseline", |s| s.engine.as_str());
        return Err(HarnessError::failed(format!(
            "the reference engine {reference} answered no request of round {} (every answer an error, or it hung or died): no ratio has a yardstick, so the run stopped there; the {} finished round(s) are in latencies.csv (see the ERROR lines above)",
            result.rounds_done(),
            result.rounds_done()
        )));
    }
    // The reference's figures are the yardstick of every ratio: a baseline that
    // errs makes them meaningless.
    let erring_reference = analysis
        .summaries
        .iter()
        .find(|s| s.role == audit_engines::Role::Reference && s.errors > 0);
    if let Some(b) = erring_reference.filter(|_| !interrupted) {
        return Err(HarnessError::failed(format!(
            "the baseline answered {} request(s) on mix {} with an error; its figures are no yardstick (see the ERROR lines above)",
            b.errors, b.mix
        )));
    }
    if plan.bench.append_rate > 0.0 && !run.cancel.is_cancelled() {
        if let Err(e) = appends_stage(spec, dir, plan, result.rounds_done(), &analysis, run) {
            if run.cancel.is_cancelled() {
                return Err(e);
            }
            // The quiet run's figures and verdict stand and are written; the
            // run still ends with this error (it is incomplete without them).
            output::bench::print_appends_failed(&e);
            run.stage(Stage::Appends, StageOutcome::Error)?;
            run.deferred = Some(e);
        }
    }
    Ok(analysis)
}

/// The rounds again under a live append stream, on a scratch copy: figures
/// beside the quiet ones in the terminal, `appends.csv` and run.json.
fn appends_stage(
    spec: &Spec,
    dir: &Path,
    plan: &Plan,
    rounds: u32,
    analysis: &Analysis,
    run: &mut Run,
) -> Result<(), HarnessError> {
    output::bench::print_appends_header(plan, rounds);
    let mut progress = output::bench::BenchProgress::new(plan);
    let info = crate::appends::run(
        spec,
        dir,
        plan,
        rounds,
        &analysis.summaries,
        |p| progress.update(p),
        &run.cancel,
    );
    drop(progress);
    let info = info?;
    output::bench::print_appends(&info);
    run.dir.write("appends.csv", &crate::report::appends::to_csv(&info)?)?;
    if let Some(b) = run.info.bench.as_mut() {
        b.appends = Some(info);
    }
    run.save()
}

/// Runs the plan's phases on `engines` round by round, with progress on the
/// terminal, and prints how each phase ended: the benchmark as `bench`,
/// `gate`, `aa` and `sweep` run it. Once `cancel` is cancelled no request
/// starts and the finished rounds are returned.
pub fn run_rounds(
    plan: &Plan,
    engines: &[(String, audit_engines::SharedEngine)],
    phases: &[bench::Phase],
    settled: impl FnMut(&[Series], Looks) -> bool,
    checkpoint: impl FnMut(&bench::Checkpoint) -> Result<(), HarnessError>,
    cancel: &Cancel,
) -> Result<bench::BenchRun, HarnessError> {
    let mut progress = output::bench::BenchProgress::new(plan);
    let result = bench::run(
        plan,
        engines,
        phases,
        |p| progress.update(p),
        settled,
        checkpoint,
        cancel,
    );
    drop(progress);
    let result = result?;
    output::bench::print_phases(&result.phases, phases, cancel.is_cancelled());
    Ok(result)
}

/// Writes a benchmark's `latencies.csv` and its analysis's files into `dir`
/// (a run's directory, or `sweep`'s `rows-N/`), and returns the analysis.
pub fn write_measured(
    dir: &RunDir,
    series: &[Series],
    settings: &Settings,
    gate: &crate::spec::GateSpec,
    info: &crate::report::run_json::RunInfo,
) -> Result<Analysis, HarnessError> {
    dir.write("latencies.csv", &latencies::to_csv(series)?)?;
    let (analysis, files) = reanalyze::analyze(series, settings, gate, info)?;
    dir.write_all(&files)?;
    Ok(analysis)
}

/// Prints one line per threshold and decides the exit code from the candidates' verdicts.
pub fn verdict_stage(spec: &Spec, analysis: &Analysis, run: &mut Run, export: &Exports) -> Result<(), HarnessError> {
    run.begin(Stage::Verdict);
    output::verdict::print_header(&spec.gate, &analysis.judgements, &analysis.looks);
    output::verdict::print_judgements(&analysis.judgements);
    output::verdict::print_rounds_to_decide(
        &analysis.judgements,
        run.info.bench.as_ref().and_then(BenchInfo::looked_extent),
    );
    if analysis.judgements.iter().all(|j| j.informational) {
        output::verdict::print_all_informational();
    }
    let interrupted = run.cancel.is_cancelled() || run.info.bench.as_ref().is_some_and(|b| b.interrupted());
    let decision = verdict::decide(&analysis.judgements, interrupted);
    write_exports(analysis, decision, run, export)?;
    run.stage(Stage::Verdict, StageOutcome::of_decision(&decision))?;
    decision.into_result()
}

/// Ends a run: run.json saved, and the last line says where its reports are
/// (a run refused before any stage ran leaves none).
pub fn finish(run: Run, result: Result<(), HarnessError>) -> Result<(), HarnessError> {
    // An engine that failed because the run was cancelled failed by no fault
    // of its own: the run was interrupted (exit 3), not refused (exit 2).
    let result = match result {
        Err(e) if e.is_input() && run.cancel.is_cancelled() => Err(run.cancel.error(&e.to_string())),
        other => other,
    };
    let ended = run.finish(result);
    if let Some((dir, complete)) = &ended.reports {
        output::run::print_reports_dir(dir, *complete);
    }
    ended.result
}

/// Compares run A with run B figure by figure (`compare`, and `bench
/// --baseline`): prints the ratios and what differs between the runs; fails
/// when a figure regressed beyond `noise` with its whole interval.
pub fn compare_stage(run_a: &Path, run_b: &Path, noise: f64) -> Result<(), HarnessError> {
    let (info_a, series_a, settings_a, spec_a) = reanalyze::load(run_a)?;
    let (info_b, series_b, settings_b, spec_b) = reanalyze::load(run_b)?;
    if let Some(why) = crate::compare::incomparable(&info_a, &spec_a, &info_b, &spec_b) {
        return Err(HarnessError::input(format!(
            "cannot compare {} with {}: {why}",
            run_a.display(),
            run_b.display()
        )));
    }
    let a = crate::analysis::summarize(&series_a, &settings_a);
    let b = crate::analysis::summarize(&series_b, &settings_b);
    let rows = crate::compare::compare(&a, &b, noise);
    output::compare::print(
        &info_a,
        &info_b,
        &crate::compare::notes(&info_a, &info_b, &a, &b),
        &crate::compare::differences(&info_a, &info_b),
        &rows,
        noise,
    );
    if rows.is_empty() {
        return Err(HarnessError::input(format!(
            "{} and {} share no engine and mix to compare",
            run_a.display(),
            run_b.display()
        )));
    }
    let regressions = rows.iter().filter(|r| r.regression).count();
    if regressions > 0 {
        return Err(HarnessError::failed(format!(
            "{regressions} figure(s) regressed by more than {:.0} % with the whole interval beyond it (the REGRESSED lines above)",
            noise * 100.0
        )));
    }
    Ok(())
}

/// Copies of a run's verdict written outside its report directory
/// (`--export-json`, `--export-markdown`).
#[derive(Debug, Clone, Default)]
pub struct Exports {
    /// summary.json, as the run wrote it.
    pub json: Option<PathBuf>,
    /// The verdict and figures as Markdown.
    pub markdown: Option<PathBuf>,
}

/// Checks, before anything runs, that the export files can be written where
/// asked (their directory exists): a typo must not cost a whole run.
pub fn check_exports(export: &Exports) -> Result<(), HarnessError> {
    for (flag, path) in [("--export-json", &export.json), ("--export-markdown", &export.markdown)] {
        let Some(path) = path else { continue };
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        if !dir.is_dir() || path.is_dir() {
            return Err(HarnessError::input(format!(
                "{flag} {}: expected a file path in an existing directory",
                path.display()
            )));
        }
    }
    Ok(())
}

/// Writes the export copies: summary.json as the run wrote it, and the Markdown verdict.
fn write_exports(
    analysis: &Analysis,
    decision: verdict::Decision,
    run: &Run,
    export: &Exports,
) -> Result<(), HarnessError> {
    if let Some(path) = &export.json {
        let from = run.dir.path.join("summary.json");
        let bytes = std::fs::read(&from).map_err(|e| HarnessError::io(&from, e))?;
        crate::fsutil::write_atomic(path, &bytes)?;
    }
    if let Some(path) = &export.markdown {
        let md = report::markdown::to_markdown(&run.dir.id, decision, &analysis.summaries, &analysis.judgements);
        crate::fsutil::write_atomic(path, md.as_bytes())?;
    }
    Ok(())
}
