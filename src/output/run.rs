//! Lines about a run as a whole: where its reports are, and the gate's last word.

use std::path::Path;

/// The last line of every run: where the reports are.
pub fn print_reports_dir(dir: &Path, complete: bool) {
    println!(
        "== reports: {}{}",
        dir.display(),
        if complete { "" } else { " (incomplete)" }
    );
}

/// Every stage of the gate passed.
pub fn print_gate_pass() {
    anstream::println!(
        "gate: {} (integrity, equivalence, benchmark, verdict)",
        super::word("PASS", 0)
    );
}

/// `report DIR` wrote its files.
pub fn print_recomputed(out: &Path) {
    println!("== recomputed summary.csv, strata.csv and plots in {}", out.display());
}
