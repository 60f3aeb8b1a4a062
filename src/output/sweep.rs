//! Lines of `audit-harness sweep`: the sizes and budget, disk space, each
//! size's dataset, engine opening, how its rounds were fitted into the budget,
//! its figures, and the growth exponents at the end.

use std::path::Path;

use audit_engines::SharedEngine;

use crate::analysis::Summary;
use crate::bench::fit::{Cost, Fit};
use crate::bench::Plan;
use crate::report::scaling::FitRow;

/// Bytes in the largest unit that keeps them readable (GB = 10^9 bytes).
pub fn bytes(b: u128) -> String {
    let b = b as f64;
    if b >= 1e9 {
        format!("{:.1} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.1} MB", b / 1e6)
    } else {
        format!("{:.0} kB", (b / 1e3).max(1.0))
    }
}

pub fn print_header(rows: &[u64], root: &Path, plan: &Plan) {
    let sizes: Vec<String> = rows.iter().map(u64::to_string).collect();
    say!(
        "{}",
        super::wrap_items(
            &format!("== sweep of {}: rows", plan.bench.engines.join(", ")),
            &sizes,
            4
        )
    );
    say!("   datasets in {}", root.display());
    say!(
        "   per size: mixes {}, closed loop, {} workers, up to {} requests per engine per round,",
        plan.mixes.iter().map(|m| m.0.as_str()).collect::<Vec<_>>().join(", "),
        plan.bench.concurrency,
        plan.bench.requests,
    );
    say!(
        "   {}..{} rounds within {} s, seed {}",
        plan.bench.min_rounds,
        plan.bench.max_rounds,
        plan.bench.max_seconds,
        plan.bench.seed
    );
}

pub fn print_disk(need: u128, free: u128, at: &Path) {
    say!(
        "  disk: about {} needed for the datasets to generate, {} free under {}",
        bytes(need),
        bytes(free),
        at.display()
    );
}

pub fn print_reused(rows: u64, dir: &Path) {
    say!(
        "== rows {rows}: reusing {} (its manifest matches the generator's parameters)",
        dir.display()
    );
}

pub fn print_opens(rows: u64, opens: &[(String, f64)], engines: &[(String, SharedEngine)]) {
    let items: Vec<String> = opens
        .iter()
        .zip(engines)
        .map(|((n, s), (_, e))| {
            let index = e.index_bytes();
            if index > 0 {
                format!(
                    "{n} {s:.2} s ({:.1} MB index, {:.1} bytes per row)",
                    index as f64 / 1e6,
                    index as f64 / rows.max(1) as f64
                )
            } else {
                format!("{n} {s:.2} s")
            }
        })
        .collect();
    say!("{}", super::wrap_items(&format!("== rows {rows}: opened"), &items, 4));
}

/// How the round was fitted into the budget, said whenever it changed what was asked.
pub fn print_fit(rows: u64, f: &Fit, requests: u64, warmup: u64, plan: &Plan, costs: &[Cost]) {
    let probed: Vec<String> = costs
        .iter()
        .map(|c| format!("{} {:.2} ms", c.engine, c.seconds_per_request * 1e3))
        .collect();
    let head = format!(
        "  probe ({} requests per mix, {} workers):",
        crate::bench::fit::PROBE_REQUESTS,
        plan.bench.concurrency
    );
    say!("{}", super::wrap_items(&head, &probed, 4));
    if !f.changed(requests, warmup) {
        say!(
            "  rounds: about {:.1} s a round of the {:.1} s allowed ({} s / {} rounds)",
            f.round_seconds,
            f.round_budget,
            plan.bench.max_seconds,
            plan.bench.min_rounds
        );
        return;
    }
    if f.warmup != warmup {
        say!(
            "  warm-ups at {rows} rows: {warmup} per engine and mix would take a tenth of the budget; {} instead",
            f.warmup
        );
    }
    say!(
        "  rounds at {rows} rows: about {:.1} s a round of the {:.1} s allowed ({} s / {} rounds)",
        f.round_seconds,
        f.round_budget,
        plan.bench.max_seconds,
        plan.bench.min_rounds
    );
    for c in &f.cut {
        say_always!(
            "  CUT {} at {rows} rows ({:.3} s per request probed: its slices alone would not fit a round)",
            c.engine,
            c.seconds_per_request
        );
    }
}

pub fn print_size(rows: u64, summaries: &[Summary]) {
    let ms = |e: Option<crate::stats::Estimate>| e.map_or("-".to_string(), |e| format!("{:.3}", e.value));
    for s in summaries {
        say!(
            "  rows {rows:<9} {:<10} {:<8} n={:<6} p50 {} p95 {} p99 {} ms  rps {}{}",
            s.engine,
            s.mix,
            s.requests,
            ms(s.p50),
            ms(s.p95),
            ms(s.p99),
            s.rps.map_or("-".to_string(), |e| format!("{:.0}", e.value)),
            if s.errors > 0 {
                format!("  {} ERRORS", s.errors)
            } else {
                String::new()
            }
        );
    }
}

/// The growth exponents: per engine and mix, p50/p95/p99/rps, then open time and index size.
pub fn print_fits(fits: &[FitRow]) {
    say_always!(
        "== growth exponents b (figure ~ rows^b; least squares on log-log, [95 % interval] with 3 or more sizes)"
    );
    let mut keys: Vec<(&str, &str)> = Vec::new();
    for f in fits {
        if !keys.contains(&(f.engine.as_str(), f.mix.as_str())) {
            keys.push((&f.engine, &f.mix));
        }
    }
    for (engine, mix) in keys {
        let items: Vec<String> = fits
            .iter()
            .filter(|f| f.engine == engine && f.mix == mix)
            .map(|f| match f.exponent {
                None => format!("{} -", f.figure.label()),
                Some(e) => match e.ci {
                    Some((lo, hi)) => format!("{} {:.2} [{:.2}, {:.2}]", f.figure.label(), e.slope, lo, hi),
                    None => format!("{} {:.2}", f.figure.label(), e.slope),
                },
            })
            .collect();
        say_always!("{}", super::wrap_items(&format!("  {engine:<10} {mix:<8}"), &items, 22));
    }
}
