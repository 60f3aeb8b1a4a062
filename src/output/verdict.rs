//! The verdict's lines: the method in one line, then one line per check.

use crate::spec::GateSpec;
use crate::stats::sequential::Looks;
use crate::stats::ALPHA_SIDE;
use crate::verdict::{self, Bound, Check, Judgement};

/// The verdict's method in one line.
pub fn print_header(spec: &GateSpec, judgements: &[Judgement], looks: &Looks) {
    let m = judgements
        .iter()
        .filter(|j| !j.informational && j.check.is_statistical())
        .count();
    let fail = judgements
        .iter()
        .find(|j| !j.informational && j.check.is_statistical())
        .map_or(ALPHA_SIDE, |j| j.fail_alpha);
    say!(
        "== verdict: candidates {} on {}; {m} deciding check(s)",
        spec.candidates.join(", "),
        spec.mixes.join(", ")
    );
    say!(
        "   a check passes or fails when its interval is wholly on one side of the threshold: pass side {:.1} %,",
        100.0 * (1.0 - ALPHA_SIDE)
    );
    say!(
        "   fail side {:.2} % ({:.0} % familywise), adjusted for looks at rounds {}..{} of {} planned",
        100.0 * (1.0 - fail),
        100.0 * verdict::FAMILY_ALPHA,
        looks.first,
        looks.last,
        looks.planned
    );
}

/// One line per judgement, candidates first.
pub fn print_judgements(judgements: &[Judgement]) {
    let mut sorted: Vec<&Judgement> = judgements.iter().collect();
    sorted.sort_by_key(|j| j.informational);
    for j in sorted {
        if j.informational || j.outcome == verdict::Outcome::Pass {
            say!("  {}", describe(j));
        } else {
            say_always!("  {}", describe(j));
        }
    }
}

/// One line per judgement.
pub fn describe(j: &Judgement) -> String {
    let est = match (j.check, j.estimate, j.interval) {
        (Check::Errors, Some(e), _) => format!("{} errors", e.value),
        (Check::Sustained, Some(e), _) => format!("{:.2} % of requests late", e.value * 100.0),
        (_, Some(e), Some((lo, hi))) => format!("{:.4} [{lo:.4}, {hi:.4}]", e.value),
        (_, Some(e), None) => format!("{:.4} [no interval]", e.value),
        (_, None, _) => "no data".into(),
    };
    let op = match j.bound {
        Bound::Max => "<=",
        Bound::Min => ">=",
    };
    let threshold = match j.check {
        Check::Errors => "0".to_string(),
        Check::Sustained => format!("{} %", j.threshold * 100.0),
        _ => j.threshold.to_string(),
    };
    format!(
        "{}{} {:<10} {:<8} {:<14} {est} {op} {threshold}",
        if j.informational { "info " } else { "     " },
        super::word(&j.outcome.label().to_uppercase(), 12),
        j.engine,
        j.mix,
        j.check.key(),
    )
}

/// For each deciding check left undecided, roughly how many more rounds
/// would decide it if its estimate held ([`Judgement::rounds_to_decide`]);
/// `looked` is the deciding phase's rounds, seconds and the run's `max_rounds`.
pub fn print_rounds_to_decide(judgements: &[Judgement], looked: Option<(u32, f64, u32)>) {
    for j in judgements.iter().filter(|j| !j.informational) {
        if let Some(k) = j.rounds_to_decide() {
            say_always!(
                "  to decide {} {} {}: {} if its estimate held ([bench] max_seconds is the budget)",
                j.engine,
                j.mix,
                j.check.key(),
                more_rounds(k, looked)
            );
        }
    }
}

/// "about 2.4x these 45 rounds (about 130 s of rounds)", and when that is
/// more rounds than `max_rounds` allows, "and max_rounds above N".
pub fn more_rounds(factor: f64, looked: Option<(u32, f64, u32)>) -> String {
    let Some((rounds, seconds, max_rounds)) = looked.filter(|l| l.0 > 0) else {
        return format!("about {factor:.1}x the rounds");
    };
    if factor < 1.1 {
        return format!("a few more rounds than these {rounds}");
    }
    if factor > 100.0 {
        return format!("more rounds than a run holds (about {factor:.0}x these {rounds}): it sits too near its line");
    }
    let cap = if (f64::from(rounds) * factor).ceil() > f64::from(max_rounds) {
        format!(", and max_rounds above {max_rounds}")
    } else {
        String::new()
    };
    format!(
        "about {factor:.1}x these {rounds} rounds (about {:.0} s of rounds{cap})",
        seconds * factor
    )
}

/// Said when no engine of `[gate] candidates` was judged on a mix of `[gate] mixes`.
pub fn print_all_informational() {
    say!("  (no engine of [gate] candidates was judged on a mix of [gate] mixes: every line above is informational)");
}

/// The command's last line: its word and why.
pub fn print_result(command: &str, result: &Result<(), crate::error::HarnessError>, what: &str) {
    let outcome = match result {
        Ok(()) => "PASS",
        Err(crate::error::HarnessError::Failed(_)) => "FAIL",
        Err(crate::error::HarnessError::Inconclusive(_)) => "INCONCLUSIVE",
        Err(_) => return,
    };
    say_always!("{command}: {} ({what})", super::word(outcome, 0));
}
