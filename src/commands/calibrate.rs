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
    let rows = (cfg.scenarios.len() * cfg.truths.len()) as u64;
    let task = output::progress::start("calibrate", Some(rows), "scenario x truth");
    let done = calibrate::run(&cfg, |row| {
        task.inc();
        output::calibrate::print_row(row)
    });
    drop(task);
    done?;
    if args.compare {
        let task = output::progress::start("comparing interval methods", None, "");
        let rows = calibrate::compare::run(&cfg, &[5, 10], 2000);
        drop(task);
        output::calibrate::print_method_comparison(&rows?);
    }
    output::calibrate::print_done(started.elapsed().as_secs_f64());
    Ok(())
}
