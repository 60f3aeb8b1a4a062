//! `audit-harness bench`: the benchmark and its verdict lines, with the
//! command line's overrides of `[bench]`.

use crate::cancel::Cancel;
use crate::cli::BenchArgs;
use crate::error::HarnessError;
use crate::spec::Spec;
use crate::{bench, output, report, stages};

pub fn run(spec: &Spec, dir: &std::path::Path, args: BenchArgs, cancel: &Cancel) -> Result<(), HarnessError> {
    let plan = bench::Plan::new(
        spec,
        dir,
        bench::plan::Overrides {
            slices: args.slices,
            slice_ms: args.slice_ms,
            precision: args.precision,
            warmup: args.warmup,
            concurrency: args.concurrency,
            max_rounds: args.max_rounds,
            mode: args.mode,
            rate: args.rate,
            arrivals: args.arrivals,
            cache: args.cache,
            append_rate: args.append_rate,
            driver: args.driver,
            locust_workers: args.locust_workers,
            ..args.scope.overrides()
        },
    )?;
    let exports = args.export.exports();
    stages::check_exports(&exports)?;
    let reports_dir = &spec.bench.reports_dir;
    let saved = args
        .baseline
        .as_deref()
        .map(|name| report::baselines::find(reports_dir, name))
        .transpose()?;
    let mut run = report::run::Run::start(spec, dir, cancel)?;
    let run_dir = run.dir.path.clone();
    let result = stages::bench_stage(spec, dir, &plan, &mut run)
        .and_then(|a| stages::verdict_stage(spec, &a, &mut run, &exports));
    // Only a finished benchmark is kept or compared: not one stopped by bad
    // input or a signal, nor one left incomplete by a deferred error (the
    // appends rounds) or by its record failing to be written at the end.
    let deferred = run.deferred.is_some();
    let result = stages::finish(run, result);
    let measured = !result.as_ref().is_err_and(HarnessError::is_input) && !cancel.is_cancelled() && !deferred;
    let result = match (&args.save_baseline, &saved) {
        (Some(name), _) if measured => report::baselines::save(reports_dir, name, &run_dir).and_then(|path| {
            output::run::print_saved_baseline(name, &path);
            result
        }),
        (_, Some(base)) if measured => combine(result, stages::compare_stage(base, &run_dir, args.noise)),
        _ => result,
    };
    let what = match &args.baseline {
        Some(name) => format!("the verdict, and the comparison with baseline {name}; see the lines above"),
        None => "the exit code's verdict; see the lines above".to_string(),
    };
    output::verdict::print_result("bench", &result, &what);
    result
}

/// The verdict and the comparison with a saved baseline as one exit code: a
/// failure of either is a failure (exit 1), and bad input stays bad input.
fn combine(verdict: Result<(), HarnessError>, compared: Result<(), HarnessError>) -> Result<(), HarnessError> {
    match (verdict, compared) {
        (Err(e), _) if e.is_input() || e.exit_code() == 1 => Err(e),
        (_, Err(e)) if e.exit_code() == 1 => Err(e),
        (Ok(()), Err(e)) => Err(e),
        (verdict, _) => verdict,
    }
}
