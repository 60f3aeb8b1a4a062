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

/// For each deciding check left undecided, roughly how many times the
/// rounds so far would decide it if its estimate held
/// ([`Judgement::rounds_to_decide`]); `looked` is the deciding phase's
/// rounds and seconds and the run's `max_rounds`.
pub fn print_rounds_to_decide(judgements: &[Judgement], looked: Option<(u32, f64, u32)>) {
    for j in judgements.iter().filter(|j| !j.informational) {
        if let Some(k) = j.rounds_to_decide() {
            say_always!("  {}", to_decide_line(j, k, looked));
        }
    }
}

/// The `to decide` line of an undecided check that would take `k` times its rounds.
fn to_decide_line(j: &Judgement, k: f64, looked: Option<(u32, f64, u32)>) -> String {
    let what = format!("to decide {} {} {}", j.engine, j.mix, j.check.key());
    if k > FAR {
        format!(
            "{what}: its estimate sits too near its threshold for more rounds to decide it soon ({})",
            more_rounds(k, looked)
        )
    } else {
        format!(
            "{what}: {} if its estimate held ([bench] max_seconds is the budget)",
            more_rounds(k, looked)
        )
    }
}

/// A factor of the rounds beyond which a projection says "not soon".
const FAR: f64 = 100.0;

/// How many rounds a factor `k` of the deciding phase's is: "about 2.4x
/// these 45 rounds (about 130 s of rounds)", with ", and max_rounds above N"
/// when `max_rounds` would cut it short; "a few more rounds than these 45"
/// below 1.1.
pub fn more_rounds(k: f64, looked: Option<(u32, f64, u32)>) -> String {
    let Some((rounds, seconds, max_rounds)) = looked.filter(|l| l.0 > 0) else {
        return format!("about {k:.1}x the rounds");
    };
    if k < 1.1 {
        return format!("a few more rounds than these {rounds}");
    }
    let cap = if (f64::from(rounds) * k).ceil() > f64::from(max_rounds) {
        format!(", and max_rounds above {max_rounds}")
    } else {
        String::new()
    };
    let factor = if k >= 10.0 {
        format!("{k:.0}")
    } else {
        format!("{k:.1}")
    };
    format!(
        "about {factor}x these {rounds} rounds (about {:.0} s of rounds{cap})",
        seconds * k
    )
}

/// Said when no engine of `[gate] candidates` was judged on a mix of `[gate] mixes`.
pub fn print_all_informational() {
    say!("  (no engine of [gate] candidates was judged on a mix of [gate] mixes: every line above is informational)");
}

/// The command's last line: its word and why.
pub fn print_result(command: &str, result: &Result<(), crate::error::HarnessError>, what: &str) {
    // By the exit code, decided in one place (`HarnessError::exit_code`):
    // bad input or environment has its own line already.
    let outcome = match result.as_ref().map_err(crate::error::HarnessError::exit_code) {
        Ok(()) => "PASS",
        Err(1) => "FAIL",
        Err(3) => "INCONCLUSIVE",
        Err(_) => return,
    };
    say_always!("{command}: {} ({what})", super::word(outcome, 0));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Estimate;
    use crate::verdict::Outcome;

    fn p99(e: f64, (lo, hi): (f64, f64)) -> Judgement {
        Judgement {
            engine: "memindex".into(),
            mix: "default".into(),
            check: Check::P99RatioMax,
            bound: Bound::Max,
            threshold: 0.8,
            estimate: Some(Estimate {
                value: e,
                ci: Some((lo, hi)),
                spread: None,
            }),
            interval: Some((lo, hi)),
            fail_alpha: 0.025,
            outcome: Outcome::Inconclusive,
            informational: false,
        }
    }

    #[test]
    fn a_projection_names_the_rounds_the_seconds_and_a_cap_it_would_pass() {
        let looked = Some((45, 60.0, 300));
        assert_eq!(more_rounds(1.05, looked), "a few more rounds than these 45");
        assert_eq!(
            more_rounds(2.0, looked),
            "about 2.0x these 45 rounds (about 120 s of rounds)"
        );
        assert_eq!(
            more_rounds(12.0, looked),
            "about 12x these 45 rounds (about 720 s of rounds, and max_rounds above 300)"
        );
        assert_eq!(more_rounds(3.0, None), "about 3.0x the rounds");
        assert_eq!(more_rounds(3.0, Some((0, 0.0, 300))), "about 3.0x the rounds");
    }

    #[test]
    fn an_undecided_check_reads_as_a_sentence_near_its_line_or_not() {
        let looked = Some((45, 60.0, 300));
        let j = p99(0.72, (0.6, 0.72 * 1.2));
        let k = j.rounds_to_decide().unwrap();
        assert_eq!(
            to_decide_line(&j, k, looked),
            format!(
                "to decide memindex default p99_ratio_max: about {k:.1}x these 45 rounds (about {:.0} s of rounds) if its estimate held ([bench] max_seconds is the budget)",
                60.0 * k
            )
        );
        let near = p99(0.799, (0.5, 1.2));
        let k = near.rounds_to_decide().unwrap();
        assert!(k > FAR, "{k}");
        let line = to_decide_line(&near, k, looked);
        assert!(
            line.starts_with("to decide memindex default p99_ratio_max: its estimate sits too near its threshold for more rounds to decide it soon (about "),
            "{line}"
        );
        assert!(line.ends_with("and max_rounds above 300))"), "{line}");
    }
}
