//! `audit-harness calibrate`: the gate's statistics checked by simulation
//! with known truth, at the spec's budget and thresholds.

use crate::cli::CalibrateArgs;
use crate::error::HarnessError;
use crate::spec::Spec;
use crate::{calibrate, output};

pub fn run(spec: &Spec, args: CalibrateArgs) -> Result<(), HarnessError> {
    let mut cfg = calibrate::Config::from_spec(spec)?;
    if !args.scenario.is_empty() {
        cfg.scenarios = args.scenario;
    }
    if !args.truth.is_empty() {
        cfg.truths = args.truth;
    }
    cfg.replicates = args.replicates;
    cfg.seed = args.seed;
    cfg.median_ms = args.median_ms;
    cfg.sigma = args.sigma;
    output::calibrate::print_header(&cfg);
    let started = std::time::Instant::now();
    calibrate::run(&cfg, output::calibrate::print_row)?;
    if args.compare {
        let rows = calibrate::compare::run(&cfg, &[5, 10], 2000)?;
        output::calibrate::print_method_comparison(&rows);
    }
    output::calibrate::print_done(started.elapsed().as_secs_f64());
    Ok(())
}
