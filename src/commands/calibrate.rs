//! `audit-harness calibrate`: the gate's statistics checked by simulation
//! with known truth, at the spec's design, budget and thresholds, or on a
//! recorded run (`--from`, which needs no spec: the run's own is in its run.json).

use std::path::Path;

use crate::calibrate::from_run::Replays;
use crate::cli::CalibrateArgs;
use crate::error::HarnessError;
use crate::spec::Spec;
use crate::{calibrate, output};

pub fn run(spec: &Spec, args: CalibrateArgs) -> Result<(), HarnessError> {
    let mut cfg = calibrate::Config::from_spec(spec)?;
    if !args.scenario.is_empty() {
        cfg.noises = args.scenario;
    }
    if !args.shape.is_empty() {
        cfg.shapes = args.shape;
    }
    if !args.truth.is_empty() {
        cfg.truths = args.truth;
    }
    cfg.replicates = args.replicates;
    cfg.seed = args.seed;
    cfg.median_ms = args.median_ms;
    cfg.sigma = args.sigma;
    cfg.design = args.design;
    let started = std::time::Instant::now();
    let mut tally = Tally::default();
    output::calibrate::print_header(&cfg);
    output::calibrate::print_columns();
    let rows = (cfg.noises.len() * cfg.shapes.len() * cfg.truths.len()) as u64;
    let lines = calibrate::bounds::Lines::simulated(&cfg.thresholds, cfg.candidates);
    let task = output::progress::start("calibrate", Some(rows), "scenario x truth");
    let done = calibrate::run(&cfg, |row| {
        task.inc();
        output::calibrate::print_row(row);
        let (lat, rps) = row.truth.ratios(&cfg.thresholds);
        output::calibrate::print_truth_note(row, [lat, lat, rps]);
        output::calibrate::print_episodes(row);
        output::calibrate::print_to_decide(row);
        tally.judge(row, &lines);
    });
    drop(task);
    done?;
    tally.print(started);
    Ok(())
}

/// `calibrate --from RUN_DIR`: the recorded run is the scenario, its gate,
/// thresholds, budget and precision those it ran with (from its run.json),
/// so it needs no `harness.toml` here.
pub fn run_from(dir: &Path, args: &CalibrateArgs) -> Result<(), HarnessError> {
    let replays = Replays {
        truths: if args.truth.is_empty() {
            calibrate::Truth::ALL.to_vec()
        } else {
            args.truth.clone()
        },
        replicates: args.replicates,
        seed: args.seed,
    };
    let started = std::time::Instant::now();
    let mut tally = Tally::default();
    let rec = calibrate::from_run::Recorded::load(dir)?;
    output::calibrate::print_from_header(&rec, &replays);
    let (recorded, simulated) = rec.variance_check(200, replays.seed);
    output::calibrate::print_variance_check(&recorded, &simulated);
    output::calibrate::print_columns();
    let lines = rec.lines();
    let task = output::progress::start("calibrate", Some(replays.truths.len() as u64), "truths");
    let done = calibrate::from_run::run(&rec, &replays, |row| {
        task.inc();
        output::calibrate::print_row(row);
        output::calibrate::print_to_decide(row);
        tally.judge(row, &lines);
    });
    drop(task);
    done?;
    tally.print(started);
    Ok(())
}

/// The rows judged against their bounds, and the ones that missed.
#[derive(Default)]
struct Tally {
    rows: usize,
    missed: Vec<String>,
}

impl Tally {
    fn judge(&mut self, row: &calibrate::Row, lines: &calibrate::bounds::Lines) {
        let m = calibrate::bounds::misses(row, row.noise.as_ref(), lines);
        output::calibrate::print_misses(&m);
        self.rows += 1;
        if !m.is_empty() {
            self.missed.push(format!("{} {}", row.scenario, row.truth.name()));
        }
    }

    fn print(&self, started: std::time::Instant) {
        output::calibrate::print_bounds_summary(self.rows, &self.missed);
        output::calibrate::print_done(started.elapsed().as_secs_f64());
    }
}
