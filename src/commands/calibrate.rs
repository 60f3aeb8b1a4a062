//! `audit-harness calibrate`: the gate's statistics checked by simulation
//! with known truth, at the spec's budget and thresholds.

use crate::cli::CalibrateArgs;
use crate::error::HarnessError;
use crate::output;
use crate::spec::Spec;

pub fn run(spec: &Spec, args: CalibrateArgs) -> Result<(), HarnessError> {
    use crate::calibrate::{self, Config, Scenario, SimThresholds, Truth, DEFAULT_SCENARIOS};
    let scenarios = if args.scenario.is_empty() {
        DEFAULT_SCENARIOS
            .iter()
            .map(|s| s.parse::<Scenario>().map_err(HarnessError::input))
            .collect::<Result<Vec<_>, _>>()?
    } else {
        args.scenario
    };
    let t = &spec.gate.thresholds;
    let (Some(latency), Some(rps)) = (t.p95_ratio_max.or(t.p99_ratio_max), t.rps_ratio_min) else {
        return Err(HarnessError::input(
            "calibrate simulates the ratio thresholds: set [gate] p95_ratio_max (or p99_ratio_max) and rps_ratio_min",
        ));
    };
    let b = &spec.bench;
    let cfg = Config {
        scenarios,
        truths: if args.truth.is_empty() {
            Truth::ALL.to_vec()
        } else {
            args.truth
        },
        replicates: args.replicates,
        seed: args.seed,
        candidates: spec.gate.candidates.len().max(1),
        thresholds: SimThresholds { latency, rps },
        median_ms: args.median_ms,
        sigma: args.sigma,
        requests: b.requests as usize,
        concurrency: b.concurrency as usize,
        budget: crate::bench::Budget {
            min_rounds: b.min_rounds,
            max_rounds: b.max_rounds,
            max_seconds: b.max_seconds,
        },
    };
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
