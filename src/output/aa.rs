//! What `audit-harness aa` says: the plan, one line per A/A run, and the
//! alarm rates with their exact binomial intervals.

use std::path::Path;

use crate::aa::{AaRun, Options, Rate, Tally};

pub fn print_header(o: &Options, dir: &Path) {
    say_always!(
        "== A/A: {} against a second instance of itself on mix {}, {} runs (each a whole benchmark), seed {}",
        o.engine,
        o.mix,
        o.runs,
        o.seed
    );
    say!("   every ratio limit at 1.0; alarms per run: fail = a check fails at the gate's own fail-side level,");
    say!("   apart = the twin told apart either way (5 % over both directions of the checks), noise = the whole 95 %");
    say!(
        "   interval beyond ±{:.0} % (compare's rule); runs are written under {}",
        o.noise * 100.0,
        dir.display()
    );
}

fn mark(b: bool) -> &'static str {
    if b {
        "ALARM"
    } else {
        "-"
    }
}

/// One finished run: its rounds, time and each check's ratio with its 95 % interval.
pub fn print_run(r: &AaRun) {
    let checks: Vec<String> = r
        .checks
        .iter()
        .map(|c| {
            let est = match (c.estimate, c.ci) {
                (Some(e), Some((lo, hi))) => format!("{e:.3} [{lo:.3}, {hi:.3}]"),
                (Some(e), None) => format!("{e:.3} [no interval]"),
                _ => "-".into(),
            };
            let alarm = if c.fail || c.apart || c.noise {
                format!(" {}/{}/{}", mark(c.fail), mark(c.apart), mark(c.noise))
            } else {
                String::new()
            };
            format!(
                "{} {est}{alarm}",
                c.check.trim_end_matches("_max").trim_end_matches("_min")
            )
        })
        .collect();
    say_always!(
        "  run {:>3}: {:>3} rounds {:>5.1} s  {}",
        r.index,
        r.rounds,
        r.seconds,
        checks.join("  ")
    );
}

fn rate(r: &Rate) -> String {
    format!(
        "{:>2}/{:<3} {:>5.1} % [{:.1}, {:.1}]",
        r.alarms,
        r.runs,
        100.0 * r.rate,
        100.0 * r.ci.0,
        100.0 * r.ci.1
    )
}

/// The alarm rates, per check and for the family, with exact 95 % intervals.
pub fn print_tally(t: &Tally, seconds: f64, dir: &Path) {
    say_always!(
        "== A/A {} on {}: {} runs, {:.0} s of benchmark ({:.0} s in all); false alarms, 95 % exact intervals:",
        t.engine,
        t.mix,
        t.runs,
        t.seconds,
        seconds
    );
    say_always!("  {:<14} {:<28} {:<28} {:<28}", "check", "fail", "apart", "noise");
    for (check, f, a, n) in &t.per_check {
        say_always!("  {:<14} {:<28} {:<28} {:<28}", check, rate(f), rate(a), rate(n));
    }
    say_always!(
        "  {:<14} {:<28} {:<28} {:<28}",
        "family",
        rate(&t.family_fail),
        rate(&t.family_apart),
        rate(&t.family_noise)
    );
    say_always!(
        "== reports: {} (aa.csv, aa.json, one run directory each)",
        dir.display()
    );
}
