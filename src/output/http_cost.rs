//! `http-cost`'s lines: what is measured, each side's figures, the comparison.

use crate::http::cost::{CostOptions, HttpCost, Load, Side};

/// What `http-cost` is about to measure.
pub fn print_header(o: &CostOptions, others: &[Box<dyn Load>]) {
    say!("http-cost: a do-nothing server (serve's axum, 1 thread on the first CPU) loaded from the second CPU,");
    let sides: Vec<String> = ["harness".to_string(), "wrk".to_string()]
        .into_iter()
        .chain(others.iter().map(|l| l.label()))
        .collect();
    say!(
        "  {} connections, {} rounds of {} s per side ({} in turn, each round starting one later), empty pages",
        o.connections,
        o.rounds,
        o.seconds,
        sides.join(", ")
    );
}

/// A line about the set-up (installing Locust).
pub fn print_note(line: &str) {
    say!("  {line}");
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len().max(1) as f64
}

fn side(label: &str, s: &Side) {
    // On the log scale, as the ratio: a rate's interval stays positive.
    let logs: Vec<f64> = s.rps.iter().map(|r| r.ln()).collect();
    let log = crate::http::cost::t_interval(&logs);
    let rps = crate::http::cost::Interval {
        estimate: log.estimate.exp(),
        low: log.low.exp(),
        high: log.high.exp(),
    };
    say_always!(
        "  {label:<24} rps {:.0} [{:.0}, {:.0}]  latency mean {:.0} us, p50 {:.0} us, p99 {:.0} us",
        rps.estimate,
        rps.low,
        rps.high,
        mean(&s.mean_us),
        mean(&s.p50_us),
        mean(&s.p99_us)
    );
}

/// Both sides and the comparison.
pub fn print_cost(c: &HttpCost) {
    side(&format!("harness ({} threads)", c.options.connections), &c.harness);
    side(&format!("{} (1 thread)", c.wrk_version), &c.wrk);
    say_always!(
        "  harness / wrk: rps x{:.3} [{:.3}, {:.3}] (target >= 0.8); latency added per request {:+.1} us [{:+.1}, {:+.1}]",
        c.rps_ratio.estimate,
        c.rps_ratio.low,
        c.rps_ratio.high,
        c.added_us.estimate,
        c.added_us.low,
        c.added_us.high
    );
    for o in &c.others {
        side(&o.label, &o.side);
        say_always!(
            "  {} / wrk: rps x{:.3} [{:.3}, {:.3}]; latency added per request {:+.1} us [{:+.1}, {:+.1}]",
            o.label,
            o.rps_ratio.estimate,
            o.rps_ratio.low,
            o.rps_ratio.high,
            o.added_us.estimate,
            o.added_us.low,
            o.added_us.high
        );
    }
}
