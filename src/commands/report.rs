//! `audit-harness report DIR`: a run's figures recomputed from its latencies.csv and run.json.

use crate::cli::ReportArgs;
use crate::error::HarnessError;
use crate::{output, report};

pub fn run(args: &ReportArgs) -> Result<(), HarnessError> {
    let out = args.out.clone().unwrap_or_else(|| args.dir.clone());
    let (analysis, info) = report::reanalyze::reanalyze(&args.dir, &out)?;
    if let Some(b) = info.bench.as_ref().filter(|b| b.checkpoint.is_some()) {
        output::run::print_cut_short(&args.dir, b.rounds);
    }
    output::bench::print_summaries(&analysis.summaries);
    output::run::print_recomputed(&out);
    Ok(())
}
