//! The calibration table (`audit-harness calibrate`).

use crate::analysis::Variance;
use crate::calibrate::from_run::Recorded;
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
        "  baseline lognormal (median {} ms, sd of log {}); design {}: {} slices per engine per round of about {} ms (2 to {} requests),",
        cfg.median_ms,
        cfg.sigma,
        cfg.design.name(),
        if cfg.design == crate::calibrate::Design::Trials { 1 } else { cfg.slices },
        cfg.slice_ms,
        cfg.requests.div_ceil(cfg.slices.max(1) as usize),
    );
    say!(
        "  {} workers, {}..{} rounds within {} s (simulated clock), stop when decided within ±{:.0} %/±{:.0} %/±{:.0} % (p95/p99/throughput)",
        cfg.concurrency,
        cfg.budget.min_rounds,
        cfg.budget.max_rounds,
        cfg.budget.max_seconds,
        100.0 * cfg.precision.p95,
        100.0 * cfg.precision.p99,
        100.0 * cfg.precision.throughput,
    );
    say!(
        "  truths: at-threshold = p95 and p99 ratios {:.3}, throughput ratio {:.3}; better = {:.3} and {:.3}; worse = {:.3} and {:.3}",
        cfg.thresholds.latency,
        cfg.thresholds.rps,
        0.9 * cfg.thresholds.latency,
        1.0 / (0.9 * cfg.thresholds.latency),
        cfg.thresholds.latency / 0.9,
        0.9 * cfg.thresholds.rps
    );
    say!("  shapes: scaled (the baseline's), tail (half its spread, 1.2 % of requests 4x slower; p99 at the truth, p95 far better),");
    say!("  bimodal (5.5 % of pages with rows, 100x slower: p95 just above the gap), bimodal-split (3 %: p95 below the gap, p99 above)");
}

/// What `calibrate --from` replays.
pub fn print_from_header(rec: &Recorded, cfg: &crate::calibrate::from_run::Replays) {
    say_always!(
        "== calibrate --from run {}: {} replicates per truth, seed {}; mix {}, reference {}, candidates {}",
        rec.run_id,
        cfg.replicates,
        cfg.seed,
        rec.mix,
        rec.engines[0],
        rec.engines[1..].join(", ")
    );
    say!(
        "  each replicate: the gate's round loop on rounds drawn from the {} recorded ones in blocks of {} consecutive rounds,",
        rec.rounds.len(),
        crate::calibrate::from_run::BLOCK_ROUNDS
    );
    say!(
        "  {}..{} rounds within {:.1} s (each round takes the time it took); candidates moved to each truth by L' = k·L^a",
        rec.budget.min_rounds,
        rec.budget.max_rounds,
        rec.budget.max_seconds
    );
}

/// The recorded run's variance components beside the replicates' (their mean).
pub fn print_variance_check(recorded: &[Variance], simulated: &[Variance]) {
    say!("  variance of the per-round log figures, recorded → replicated (mean of 200 replays of as many rounds):");
    for (r, s) in recorded.iter().zip(simulated) {
        say!(
            "    {:<10} {:<4} total {:.2e} → {:.2e}  between {:.2e} → {:.2e}  within {:.2e} → {:.2e}",
            r.engine,
            r.figure,
            r.total,
            s.total,
            r.between,
            s.between,
            r.within,
            s.within
        );
    }
}

/// The table's column heads and what they mean.
pub fn print_columns() {
    say!("  cover: reported 95 % intervals containing the truth; fail/pass: per candidate and check; gate: the exit decision;");
    say!("  se: the largest Monte Carlo standard error of the row's rates (binomial), in points");
    say_always!("{}", head_line());
}

/// The column heads, aligned with [`row_line`].
fn head_line() -> String {
    format!(
        "  {:<31} {:<12} {:>4}  {:<14}  {:<14}  {:<14}  {:<9} {:>4} {:>3}",
        "scenario", "truth", "reps", "cover 95/99/rps", "fail 95/99/rps", "pass 95/99/rps", "gate f/p", "se", "rds"
    )
}

/// A percentage in four columns (100 without its decimal).
fn pct(x: f64) -> String {
    let p = 100.0 * x;
    if p >= 99.95 {
        " 100".to_string()
    } else {
        format!("{p:>4.1}")
    }
}

fn pct3(x: [f64; 3]) -> String {
    format!("{} {} {}", pct(x[0]), pct(x[1]), pct(x[2]))
}

/// One row of the calibration table (percentages).
pub fn print_row(r: &Row) {
    say_always!("{}", row_line(r));
}

/// A row: every rate in percent; se is the largest Monte Carlo standard
/// error among its rates (binomial), in points; rds the mean rounds run.
fn row_line(r: &Row) -> String {
    let se = r
        .coverage
        .iter()
        .chain(&r.check_fail)
        .chain(&r.check_pass)
        .map(|x| r.mc_se(*x, 1))
        .chain([r.mc_se(r.gate_fail, 1), r.mc_se(r.gate_pass, 1)])
        .fold(0.0, f64::max);
    format!(
        "  {:<31} {:<12} {:>4}  {:<14}  {:<14}  {:<14}  {} {} {:>4.1} {:>3.0}",
        r.scenario,
        r.truth.name(),
        r.replicates,
        pct3(r.coverage),
        pct3(r.check_fail),
        pct3(r.check_pass),
        pct(r.gate_fail),
        pct(r.gate_pass),
        100.0 * se,
        r.mean_rounds
    )
}

/// Under a row whose truth is not exactly the nominal one (slow episodes
/// make the truth the design's own, measured on a long run), the truth.
pub fn print_truth_note(r: &Row, nominal: [f64; 3]) {
    if r.true_ratios
        .iter()
        .zip(nominal)
        .any(|(t, n)| (t / n - 1.0).abs() > 0.005)
    {
        say!(
            "  {:<31} truth: p95 ×{:.3}, p99 ×{:.3}, throughput ×{:.3}",
            "",
            r.true_ratios[0],
            r.true_ratios[1],
            r.true_ratios[2]
        );
    }
}

/// Under a row with slow episodes: the candidates' truth on the same machine
/// without them, how many episodes the runs met (and the runs the gate
/// failed), and how the gate judged the runs that met none (such a run sees
/// exactly the machine without episodes, so it cannot know the row's truth).
pub fn print_episodes(r: &Row) {
    let Some(e) = &r.episodes else {
        return;
    };
    say!(
        "  {:<31} without its episodes: p95 ×{:.3}, p99 ×{:.3}, throughput ×{:.3}",
        "",
        e.without[0],
        e.without[1],
        e.without[2]
    );
    say!(
        "  {:<31} episodes met: {:.1} a run{}",
        "",
        e.mean_met,
        match e.mean_met_failed {
            Some(m) => format!(", {m:.1} in the runs the gate failed"),
            None => String::new(),
        }
    );
    if e.none > 0 {
        say!(
            "  {:<31} {} run(s) met none: the gate failed {:.1} % of them; their checks failed {:.1}/{:.1}/{:.1} %",
            "",
            e.none,
            100.0 * e.none_gate_fail,
            100.0 * e.none_check_fail[0],
            100.0 * e.none_check_fail[1],
            100.0 * e.none_check_fail[2]
        );
        say!(
            "  {:<31} and passed {:.1}/{:.1}/{:.1} % (p95/p99/rps)",
            "",
            100.0 * e.none_check_pass[0],
            100.0 * e.none_check_pass[1],
            100.0 * e.none_check_pass[2]
        );
    }
}

/// Under a row that misses a bound, what it misses, one a line (see
/// [`crate::calibrate::bounds`]).
pub fn print_misses(misses: &[crate::calibrate::bounds::Miss]) {
    for (i, m) in misses.iter().enumerate() {
        // The bound as set: 93 %, 0.83 %, 2.5 %, 5 %.
        let bound = (1e4 * m.bound).round() / 100.0;
        say_always!(
            "  {:<31} {:<8}{} {:.1} % (bound {bound} %)",
            "",
            if i == 0 { "misses:" } else { "" },
            m.what,
            100.0 * m.rate
        );
    }
}

/// Under a row of a truth away from the thresholds, how much longer its
/// undecided runs said they needed: the quartiles of their checks' `to
/// decide` factors (at a threshold, a check is not meant to decide).
pub fn print_to_decide(r: &Row) {
    if r.truth == crate::calibrate::Truth::AtThreshold {
        return;
    }
    if let Some([lo, mid, hi]) = r.to_decide {
        say!(
            "  {:<31} undecided: {} check(s); their runs said {mid:.1}x the rounds (quartiles {lo:.1}x, {hi:.1}x)",
            "",
            r.undecided
        );
    }
}

/// After the table: how many rows meet every bound, and which do not.
pub fn print_bounds_summary(rows: usize, missed: &[String]) {
    say_always!(
        "== bounds: {} of {rows} row(s) meet every bound within two Monte Carlo standard errors{}",
        rows - missed.len(),
        if missed.is_empty() {
            String::new()
        } else {
            format!("; not met: {}", missed.join(", "))
        }
    );
}

/// The last line: how long it took.
pub fn print_done(seconds: f64) {
    say_always!("== calibrated in {seconds:.1} s");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The widest row (the longest scenario name, 100 % everywhere) fits 120 columns.
    #[test]
    fn rows_fit_120_columns() {
        let r = Row {
            scenario: "drift-0.05+bursts bimodal-split".into(),
            noise: None,
            truth: crate::calibrate::Truth::AtThreshold,
            replicates: 9999,
            true_ratios: [0.8, 0.8, 1.2],
            coverage: [1.0; 3],
            check_fail: [1.0; 3],
            check_pass: [1.0; 3],
            gate_pass: 1.0,
            gate_fail: 1.0,
            gate_inconclusive: 0.0,
            precise: 1.0,
            undecided: 0,
            to_decide: None,
            mean_rounds: 300.0,
            mean_seconds: 60.0,
            episodes: None,
        };
        for line in [row_line(&r), head_line()] {
            assert!(line.chars().count() <= 120, "{} columns: {line}", line.chars().count());
        }
    }
}
