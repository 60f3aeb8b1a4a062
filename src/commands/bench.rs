//! `audit-harness bench`: the benchmark and its verdict lines, with the
//! command line's overrides of `[bench]`.

use crate::cli::BenchArgs;
use crate::error::HarnessError;
use crate::spec::Spec;
use crate::{bench, output, report, stages};

pub fn run(spec: &Spec, dir: &std::path::Path, args: BenchArgs) -> Result<(), HarnessError> {
    let plan = bench::Plan::new(
        spec,
        dir,
        bench::plan::Overrides {
            engines: args.engines,
            mixes: args.mix,
            requests: args.requests,
            warmup: args.warmup,
            concurrency: args.concurrency,
            min_rounds: args.min_rounds,
            max_rounds: args.max_rounds,
            max_seconds: args.max_seconds,
            mode: args.mode,
            rate: args.rate,
            arrivals: args.arrivals,
            cache: args.cache,
            seed: args.seed,
            append_rate: args.append_rate,
        },
    )?;
    stages::check_exports(&args.export)?;
    let mut run = report::run::Run::start(spec, dir)?;
    let result = stages::bench_stage(spec, dir, &plan, &mut run)
        .and_then(|a| stages::verdict_stage(spec, &a, &mut run, &args.export));
    let result = stages::finish(run, result);
    output::verdict::print_result("bench", &result, "the exit code's verdict; see the lines above");
    result
}
