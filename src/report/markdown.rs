//! The verdict as Markdown, fit for a pull-request comment (`--export-markdown`):
//! the decision in the heading, one table row per check, then the figures.

use std::fmt::Write;

use crate::analysis::Summary;
use crate::stats::Estimate;
use crate::verdict::{Bound, Decision, Judgement, Undecided};

fn est(e: Option<Estimate>, digits: usize) -> String {
    match e {
        Some(Estimate {
            value,
            ci: Some((lo, hi)),
            ..
        }) => format!("{value:.digits$} [{lo:.digits$}, {hi:.digits$}]"),
        Some(e) => format!("{:.digits$}", e.value),
        None => "–".into(),
    }
}

/// The Markdown text for a run's verdict and figures.
pub fn to_markdown(run_id: &str, decision: Decision, summaries: &[Summary], judgements: &[Judgement]) -> String {
    let mut s = String::new();
    let deciding: Vec<&Judgement> = judgements.iter().filter(|j| !j.informational).collect();
    let _ = writeln!(
        s,
        "### audit-harness: {} ({} deciding check(s)), run `{run_id}`\n",
        decision.label().to_uppercase(),
        deciding.len()
    );
    if decision == Decision::Inconclusive(Undecided::Interrupted) {
        let _ = writeln!(
            s,
            "**The run was interrupted**: the outcomes below cover the finished rounds only and decide nothing (exit 3).\n"
        );
    }
    let _ = writeln!(
        s,
        "| outcome | engine | mix | check | estimate | interval judged | threshold | decides |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|");
    let mut ordered: Vec<&Judgement> = judgements.iter().collect();
    ordered.sort_by_key(|j| j.informational);
    for j in ordered {
        let interval = j
            .interval
            .map_or("–".to_string(), |(lo, hi)| format!("[{lo:.4}, {hi:.4}]"));
        let op = match j.bound {
            Bound::Max => "≤",
            Bound::Min => "≥",
        };
        let _ = writeln!(
            s,
            "| **{}** | {} | {} | `{}` | {} | {interval} | {op} {} | {} |",
            j.outcome.label().to_uppercase(),
            j.engine,
            j.mix,
            j.check.key(),
            j.estimate.map_or("–".to_string(), |e| format!("{:.4}", e.value)),
            j.threshold,
            if j.informational { "no" } else { "yes" }
        );
    }
    let _ = writeln!(s, "\n<details><summary>Figures per engine (ms; [95 % intervals from the round-to-round spread]; × = ratio to the baseline)</summary>\n");
    let _ = writeln!(
        s,
        "| engine | mix | mode | rounds | rps | p50 | p95 | p99 | × p95 | × p99 | × rps | errors |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|---|---|---|");
    for r in summaries {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.engine,
            r.mix,
            r.timing.label(),
            r.rounds,
            est(r.rps, 0),
            est(r.p50, 3),
            est(r.p95, 3),
            est(r.p99, 3),
            est(r.p95_ratio, 4),
            est(r.p99_ratio, 4),
            est(r.rps_ratio, 2),
            r.errors
        );
    }
    let _ = writeln!(s, "\n</details>");
    s
}
