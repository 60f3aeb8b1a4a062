//! `audit-harness aa`: an engine against a second instance of itself, as
//! `bench` runs it, many times; how often the gate's judge raised a false alarm.

use std::path::Path;

use crate::bench::plan::Overrides;
use crate::bench::Plan;
use crate::cancel::Cancel;
use crate::cli::AaArgs;
use crate::error::HarnessError;
use crate::report::run::Run;
use crate::report::run_json::{Stage, StageOutcome};
use crate::report::RunDir;
use crate::spec::Spec;
use crate::{aa, output, registry, stages};

pub fn run(spec: &Spec, data_dir: &std::path::Path, args: AaArgs, cancel: &Cancel) -> Result<(), HarnessError> {
    let engine = args
        .engine
        .unwrap_or_else(|| crate::registry::reference_name().to_string());
    crate::registry::check_name(spec, &engine)?;
    let mix = match args.mix {
        Some(m) => m,
        None => spec
            .gate
            .mixes
            .first()
            .cloned()
            .ok_or_else(|| HarnessError::input("--mix: name a mix ([gate] mixes is empty)"))?,
    };
    spec.mix(&mix)?;
    let opts = aa::Options {
        engine,
        mix,
        runs: args.runs,
        noise: args.noise,
        seed: args.seed.unwrap_or(spec.bench.seed),
        max_seconds: args.max_seconds,
    };
    let dir = aa::out_dir(spec, &opts.engine);
    output::aa::print_header(&opts, &dir);
    let started = std::time::Instant::now();
    let Series { runs, error } = output::quietly(|| series(spec, data_dir, &opts, &dir, cancel, output::aa::print_run));
    if runs.is_empty() {
        return Err(error.unwrap_or_else(|| HarnessError::Inconclusive("no A/A run finished".into())));
    }
    let tally = aa::tally(&opts, &runs);
    RunDir::open(&dir)?.write_all(&aa::files(&tally, &runs)?)?;
    output::aa::print_tally(&tally, started.elapsed().as_secs_f64(), &dir);
    // A run that went wrong ends the series: the finished runs are tallied above.
    if let Some(e) = error {
        return Err(e);
    }
    if (runs.len() as u32) < opts.runs {
        return Err(HarnessError::Inconclusive(format!(
            "interrupted after {} of {} A/A runs: the rates above cover those",
            runs.len(),
            opts.runs
        )));
    }
    Ok(())
}

/// What a series of A/A runs left: the runs that finished, and the error
/// that ended the series early, if one did (the finished runs still count).
struct Series {
    pub runs: Vec<aa::AaRun>,
    pub error: Option<HarnessError>,
}

/// Runs the A/A series: `opts.runs` whole benchmarks of `opts.engine` against
/// its twin, each in its own run directory under `dir_out`, and returns each
/// run's alarms. `each` hears of each run as it ends.
fn series(
    spec: &Spec,
    data_dir: &Path,
    opts: &aa::Options,
    dir_out: &Path,
    cancel: &Cancel,
    mut each: impl FnMut(&aa::AaRun),
) -> Series {
    let mut out = Vec::new();
    match run_each(spec, data_dir, opts, dir_out, cancel, |r| {
        each(&r);
        out.push(r);
    }) {
        Ok(()) => Series { runs: out, error: None },
        Err(e) => Series {
            runs: out,
            error: Some(e),
        },
    }
}

fn run_each(
    spec: &Spec,
    data_dir: &Path,
    opts: &aa::Options,
    dir_out: &Path,
    cancel: &Cancel,
    mut each: impl FnMut(aa::AaRun),
) -> Result<(), HarnessError> {
    registry::check_name(spec, &opts.engine)?;
    let aa = aa::aa_spec(spec, &opts.engine, &opts.mix, dir_out)?;
    let twin = aa::twin_name(&opts.engine);
    for i in 1..=opts.runs {
        if cancel.is_cancelled() {
            break;
        }
        let seed = opts.seed.wrapping_add(u64::from(i));
        let plan = Plan::new(
            &aa,
            data_dir,
            Overrides {
                engines: Some(vec![opts.engine.clone()]),
                mixes: Some(vec![opts.mix.clone()]),
                seed: Some(seed),
                max_seconds: opts.max_seconds,
                ..Overrides::default()
            },
        )?
        .twin(&opts.engine, &twin);
        // Both instances run each round: the budget is checked for the pair.
        plan.check_budget(&aa.gate)?;
        let first = registry::open(spec, &opts.engine, data_dir, cancel)?;
        let second = registry::open(spec, &opts.engine, data_dir, cancel).map_err(|e| {
            e.prefixed(&format!(
                "engine {} cannot be started twice (an A/A run needs a second instance of its own)",
                opts.engine
            ))
        })?;
        let engines = vec![(opts.engine.clone(), first), (twin.clone(), second)];
        let mut run = Run::start(&aa, data_dir, cancel)?;
        let run_id = run.dir.id.clone();
        let analysis = stages::bench_engines(&aa, data_dir, &plan, &engines, &mut run);
        drop(engines);
        let analysis = match analysis {
            Ok(a) => a,
            Err(e) => return stages::finish(run, Err(e)),
        };
        let bench = run.info.bench.as_ref();
        let rounds = bench.map_or(0, |b| b.rounds);
        let seconds = bench.map_or(0.0, |b| b.seconds);
        let complete = bench.is_some_and(|b| !b.interrupted());
        let _ = run.stage(Stage::Verdict, StageOutcome::AaSeries);
        stages::finish(run, Ok(()))?;
        if !complete {
            break;
        }
        let r = aa::AaRun {
            index: i,
            run_id,
            seed,
            rounds,
            seconds,
            checks: aa::checks(&analysis, opts.noise),
        };
        each(r);
    }
    Ok(())
}
