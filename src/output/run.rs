//! Lines about a run as a whole: where its reports are, and the gate's last word.

use std::path::Path;

/// The last line of every run: where the reports are.
pub fn print_reports_dir(dir: &Path, complete: bool) {
    say_always!(
        "== reports: {}{}",
        dir.display(),
        if complete { "" } else { " (incomplete)" }
    );
}

/// Every stage of the gate passed.
pub fn print_gate_pass() {
    say_always!(
        "gate: {} (integrity, equivalence, benchmark, verdict)",
        super::word("PASS", 0)
    );
}

/// `bench --save-baseline NAME` kept the run.
pub fn print_saved_baseline(name: &str, path: &Path) {
    say!("== saved as baseline {name}: {}", path.display());
}

/// `man --out DIR` wrote its pages.
pub fn print_man_pages(dir: &Path, pages: usize) {
    say!("== wrote {pages} manual pages into {}", dir.display());
}

/// `report DIR` read a benchmark that did not end: killed (SIGKILL, a second
/// Ctrl-C) or still running.
pub fn print_cut_short(dir: &Path, rounds: u32) {
    say!(
        "== {} holds a benchmark that did not end (killed, or still running): its {rounds} finished round(s) are analysed as an interrupted run",
        dir.display()
    );
}

/// `report DIR` wrote its files.
pub fn print_recomputed(out: &Path) {
    say!(
        "== recomputed summary.csv, summary.json, strata.csv, report.html and plots in {}",
        out.display()
    );
}
