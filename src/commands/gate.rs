//! `audit-harness gate` (run by `./run_tests`): integrity, equivalence,
//! benchmark and verdict, in order, stopping at the first stage that fails.
//! Every run writes its report directory (see `report`).

use std::path::Path;

use crate::bench::{self, Plan};
use crate::cancel::Cancel;
use crate::error::HarnessError;
use crate::report::run::Run;
use crate::report::run_json::{Stage, StageOutcome};
use crate::spec::Spec;
use crate::{equivalence, output, registry, stages};

/// Runs the gate's stages on the dataset in `dir`.
pub fn run(
    spec: &Spec,
    dir: &Path,
    append_rate: Option<f64>,
    export: &stages::Exports,
    cancel: &Cancel,
) -> Result<(), HarnessError> {
    stages::check_exports(export)?;
    let mut run = Run::start(spec, dir, cancel)?;
    let result = run_stages(spec, dir, &mut run, append_rate, export);
    // A stage's deferred error (the appends rounds) still ends the run with it.
    if result.is_ok() && run.deferred.is_none() {
        output::run::print_gate_pass();
    }
    stages::finish(run, result)
}

fn run_stages(
    spec: &Spec,
    dir: &Path,
    run: &mut Run,
    append_rate: Option<f64>,
    export: &stages::Exports,
) -> Result<(), HarnessError> {
    stages::integrity_stage(spec, dir, Some(run))?;

    let mut opts = equivalence::Options::from_spec(spec, dir, &run.cancel)?;
    opts.reference = registry::reference_opener(spec, &run.cancel)?;
    opts.noise_reference = registry::noise_reference_opener(spec, &run.cancel)?;
    // Every candidate up for acceptance is proven equivalent first, whether
    // `[equivalence] engines` names it or not: a gate never passes an engine
    // whose answers were not checked.
    let checked = with_missing(&spec.equivalence.engines, &spec.gate.candidates);
    let candidates = checked
        .iter()
        .map(|n| registry::opener(spec, n, &run.cancel))
        .collect::<Result<Vec<_>, _>>()?;
    run.begin(Stage::Equivalence);
    let report = stages::equivalence_stage(&opts, &candidates, Some(run))?;
    let judged = report.judge();
    run.stage(Stage::Equivalence, StageOutcome::of_check(judged.is_ok()))?;
    judged?;

    // The candidates and the mixes that decide are measured whatever
    // `[bench]` lists: a deciding pair left out would be a check never made.
    let plan = Plan::new(
        spec,
        dir,
        bench::plan::Overrides {
            engines: Some(with_missing(&spec.bench.engines, &spec.gate.candidates)),
            mixes: Some(with_missing(&spec.bench.mixes, &spec.gate.mixes)),
            append_rate,
            ..Default::default()
        },
    )?;
    let analysis = stages::bench_stage(spec, dir, &plan, run)?;
    stages::verdict_stage(spec, &analysis, run, export)
}

/// `names` followed by those of `more` it does not hold, in order.
fn with_missing(names: &[String], more: &[String]) -> Vec<String> {
    let mut out = names.to_vec();
    out.extend(more.iter().filter(|m| !names.contains(m)).cloned());
    out
}
