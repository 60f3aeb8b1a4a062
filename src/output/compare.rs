//! The lines of `compare`: what differs between the runs, then per engine,
//! mix and figure the value in each run and the ratio B/A with its interval.

use crate::compare::Row;
use crate::report::run_json::RunInfo;

/// `notes` are about the runs themselves (the same run, an incomplete one,
/// engines in one run only), `differences` what differs between them.
pub fn print(a: &RunInfo, b: &RunInfo, notes: &[String], differences: &[String], rows: &[Row], noise: f64) {
    say_always!("== compare: A {} -> B {}", a.run_id, b.run_id);
    say_always!(
        "   ratio B/A with 95 % intervals (each run's round-based spread, Welch); flagged when the whole interval is beyond {:.0} %",
        noise * 100.0
    );
    if differences.is_empty() {
        say_always!("  same machine, spec, dataset, revision and benchmark settings");
    }
    for d in notes.iter().chain(differences) {
        say_always!("  NOTE {d}");
    }
    for r in rows {
        let ci = r
            .ratio
            .ci
            .map_or("[no interval]".to_string(), |(lo, hi)| format!("[{lo:.3}, {hi:.3}]"));
        let flag = if r.regression {
            super::word("REGRESSED", 0)
        } else if r.improvement {
            super::word("IMPROVED", 0)
        } else {
            String::new()
        };
        let line = format!(
            "  {:<10} {:<8} {:<7} A {:>10.3}  B {:>10.3}  B/A {:.3} {ci} {flag}",
            r.engine, r.mix, r.figure, r.a, r.b, r.ratio.value
        );
        say_always!("{}", line.trim_end());
    }
}
