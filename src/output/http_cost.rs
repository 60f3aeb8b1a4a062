//! `http-cost`'s lines: what is measured, each side's figures, the comparison.

use crate::http::cost::{CostOptions, HttpCost, Side};

/// What `http-cost` is about to measure.
pub fn print_header(o: &CostOptions) {
    say!("http-cost: a do-nothing server (serve's axum, 1 thread on the first CPU) loaded from the second CPU,");
    say!(
        "  {} connections, {} rounds of {} s per side (harness and wrk in alternating order), empty pages",
        o.connections,
        o.rounds,
        o.seconds
    );
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
}
