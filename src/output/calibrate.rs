//! The calibration table (`audit-harness calibrate`).

use crate::calibrate::compare::MethodRow;
use crate::calibrate::{Config, Row};

/// What a calibration simulates, in a few lines.
pub fn print_header(cfg: &Config) {
    say_always!(
        "== calibrate: {} replicates per scenario and truth, seed {}; {} candidate(s) vs a baseline",
        cfg.replicates,
        cfg.seed,
        cfg.candidates
    );
    say!(
        "  lognormal latency (median {} ms, sd of log {}), {} requests per engine per round, {} workers,",
        cfg.median_ms,
        cfg.sigma,
        cfg.requests,
        cfg.concurrency
    );
    say!(
        "  {}..{} rounds within {} s (simulated clock)",
        cfg.budget.min_rounds,
        cfg.budget.max_rounds,
        cfg.budget.max_seconds
    );
    say!(
        "  truths: at-threshold = p95/p99 ratio {:.3}, throughput ratio {:.3}; better = latency ratio {:.3};",
        cfg.thresholds.latency,
        cfg.thresholds.rps,
        0.9 * cfg.thresholds.latency
    );
    say!(
        "  worse = latency ratio {:.3}, throughput ratio {:.3}; tail-at-threshold = half the spread,",
        cfg.thresholds.latency / 0.9,
        0.9 * cfg.thresholds.rps
    );
    say!("  1.2 % of requests 4x slower, true p99 ratio at the threshold");
    say!("  coverage: reported 95 % intervals containing the truth; fail/pass: per candidate and check;");
    say!("  gate: the exit decision");
    say_always!(
        "  {:<12} {:<12} {:>5}  {:>18}  {:>18}  {:>18}  {:>17}  {:>6}",
        "scenario",
        "truth",
        "reps",
        "cover p95/p99/rps",
        "fail p95/p99/rps",
        "pass p95/p99/rps",
        "gate fail/pass",
        "rounds"
    );
}

fn pct3(x: [f64; 3]) -> String {
    format!("{:>5.1} {:>5.1} {:>5.1}", 100.0 * x[0], 100.0 * x[1], 100.0 * x[2])
}

/// One row of the calibration table (percentages).
pub fn print_row(r: &Row) {
    say_always!(
        "  {:<12} {:<12} {:>5}  {:>18}  {:>18}  {:>18}  {:>8.1} {:>8.1}  {:>6.1}",
        r.scenario,
        r.truth.name(),
        r.replicates,
        pct3(r.coverage),
        pct3(r.check_fail),
        pct3(r.check_pass),
        100.0 * r.gate_fail,
        100.0 * r.gate_pass,
        r.mean_rounds
    );
}

/// The interval methods compared at fixed numbers of rounds.
pub fn print_method_comparison(rows: &[MethodRow]) {
    say_always!(
        "== interval methods at a fixed number of rounds (at-threshold truth, no looks): coverage of 95 % intervals"
    );
    say_always!(
        "  {:<12} {:>6}  {:<30} {:>18}",
        "scenario",
        "rounds",
        "method",
        "cover p95/p99/rps"
    );
    for r in rows {
        say_always!(
            "  {:<12} {:>6}  {:<30} {:>18}",
            r.scenario,
            r.rounds,
            r.method,
            pct3(r.coverage)
        );
    }
}

/// The last line: how long it took.
pub fn print_done(seconds: f64) {
    say_always!("== calibrated in {seconds:.1} s");
}
