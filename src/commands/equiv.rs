//! `audit-harness equiv`: differential testing of candidates against the baseline.

use crate::cancel::Cancel;
use crate::cli::EquivArgs;
use crate::error::HarnessError;
use crate::spec::Spec;
use crate::{dataset, equivalence, output, registry, report, stages};

pub fn run(spec: &Spec, dir: &std::path::Path, args: EquivArgs, cancel: &Cancel) -> Result<(), HarnessError> {
    let names = args.engines.unwrap_or_else(|| spec.equivalence.engines.clone());
    let candidates = names
        .iter()
        .map(|n| registry::opener(spec, n, cancel))
        .collect::<Result<Vec<_>, _>>()?;
    let mut opts = equivalence::Options::from_spec(spec, dir, cancel)?;
    opts.reference = registry::reference_opener(spec, cancel)?;
    opts.noise_reference = registry::noise_reference_opener(spec, cancel)?;
    if let Some(n) = args.cases {
        opts.cases = n;
    }
    if let Some(n) = args.small_dataset_cases {
        opts.small_dataset_cases = n;
    }
    if let Some(s) = args.seed {
        opts.seed = s;
    }
    if let Some(r) = args.regressions {
        opts.regressions = Some(r);
    }
    if let Some(n) = args.live_rows {
        opts.live_rows = n;
    }
    if let Some(n) = args.live_requests {
        opts.live_requests = n;
    }
    opts.strict_domain |= args.strict_domain;
    opts.only = args.property;
    // A damaged dataset is bad input before anything runs.
    dataset::preflight(dir)?;
    let mut run = report::run::Run::start(spec, dir, cancel)?;
    let mut not_applicable = 0;
    let result = stages::equivalence_stage(&opts, &candidates, Some(&mut run)).and_then(|r| {
        not_applicable = r.not_applicable();
        r.judge()
    });
    let result = stages::finish(run, result);
    let scope = match not_applicable {
        0 => "every property of every engine; see the lines above".to_string(),
        n => format!("every applicable property of every engine; {n} n/a for deployed URLs, listed above"),
    };
    output::verdict::print_result("equiv", &result, &scope);
    result
}
