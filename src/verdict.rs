//! Judging summaries against the `[gate]` thresholds (DESIGN §5): a threshold
//! passes when its whole interval is on the right side, fails when the whole
//! interval is on the wrong side, and is inconclusive otherwise, or when the
//! data supports no interval. Candidates decide the exit code; every other
//! engine is judged too, for information.

use crate::analysis::{Summary, Timing};
use crate::error::HarnessError;
use crate::spec::GateSpec;
use crate::stats::Estimate;

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Pass,
    Inconclusive,
    Fail,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Inconclusive => "inconclusive",
            Outcome::Fail => "fail",
        }
    }
}

/// Which side of the threshold is the right one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// The value must be at most the threshold.
    Max,
    /// The value must be at least the threshold.
    Min,
}

/// One threshold judged for one engine and mix.
#[derive(Debug, Clone)]
pub struct Judgement {
    pub engine: String,
    pub mix: String,
    /// The threshold's key in `[gate]` (or `errors`).
    pub check: &'static str,
    pub bound: Bound,
    pub threshold: f64,
    pub estimate: Option<Estimate>,
    pub outcome: Outcome,
    /// Not a candidate, or a mix the gate does not judge: shown, but it does not decide the exit code.
    pub informational: bool,
}

/// Judges an estimate's interval against a threshold.
pub fn judge(estimate: Option<Estimate>, bound: Bound, threshold: f64) -> Outcome {
    let Some((lo, hi)) = estimate.and_then(|e| e.ci) else {
        return Outcome::Inconclusive;
    };
    match bound {
        Bound::Max if hi <= threshold => Outcome::Pass,
        Bound::Max if lo > threshold => Outcome::Fail,
        Bound::Min if lo >= threshold => Outcome::Pass,
        Bound::Min if hi < threshold => Outcome::Fail,
        _ => Outcome::Inconclusive,
    }
}

/// Every judgement for the summaries the verdicts use (closed loop, or open loop
/// from intended starts); the baseline is the reference and is not judged.
pub fn judge_all(summaries: &[Summary], gate: &GateSpec) -> Vec<Judgement> {
    let mut out = Vec::new();
    for s in summaries {
        if s.engine == "baseline" || s.timing == Timing::OpenService {
            continue;
        }
        let candidate = gate.candidates.contains(&s.engine);
        let judged_mix = gate.mixes.contains(&s.mix);
        let t = gate.thresholds_for(&s.engine);
        // An engine error fails a candidate whatever the mix; thresholds count on the judged mixes.
        let mut push =
            |check: &'static str, bound: Bound, threshold: f64, estimate: Option<Estimate>, outcome: Outcome| {
                let informational = !candidate || (check != "errors" && !judged_mix);
                out.push(Judgement {
                    engine: s.engine.clone(),
                    mix: s.mix.clone(),
                    check,
                    bound,
                    threshold,
                    estimate,
                    outcome,
                    informational,
                })
            };
        if s.errors > 0 {
            let e = Some(Estimate {
                value: s.errors as f64,
                ci: None,
            });
            push("errors", Bound::Max, 0.0, e, Outcome::Fail);
        }
        let checks: [(&'static str, Bound, Option<f64>, Option<Estimate>); 5] = [
            ("p95_ratio_max", Bound::Max, t.p95_ratio_max, s.p95_ratio),
            ("p99_ratio_max", Bound::Max, t.p99_ratio_max, s.p99_ratio),
            ("rps_ratio_min", Bound::Min, t.rps_ratio_min, s.rps_ratio),
            ("p95_ms_max", Bound::Max, t.p95_ms_max, s.p95),
            ("p99_ms_max", Bound::Max, t.p99_ms_max, s.p99),
        ];
        for (check, bound, threshold, estimate) in checks {
            if let Some(th) = threshold {
                push(check, bound, th, estimate, judge(estimate, bound, th));
            }
        }
    }
    out
}

/// The summary row's `verdict` column: `reference` for the baseline, else the
/// worst outcome of its judgements (`info:` before it for non-candidates).
pub fn column(s: &Summary, judgements: &[Judgement], gate: &GateSpec) -> String {
    if s.engine == "baseline" {
        return "reference".into();
    }
    if s.timing == Timing::OpenService {
        return "not judged (service time)".into();
    }
    let worst = judgements
        .iter()
        .filter(|j| j.engine == s.engine && j.mix == s.mix)
        .map(|j| j.outcome)
        .max();
    let word = worst.map_or("no thresholds", Outcome::label);
    if gate.candidates.contains(&s.engine) && gate.mixes.contains(&s.mix) {
        word.to_string()
    } else {
        format!("info:{word}")
    }
}

/// The exit status the candidates' judgements call for (DESIGN §6).
pub fn decide(judgements: &[Judgement]) -> Result<(), HarnessError> {
    let count = |o: Outcome| judgements.iter().filter(|j| !j.informational && j.outcome == o).count();
    let (fail, inconclusive) = (count(Outcome::Fail), count(Outcome::Inconclusive));
    if fail > 0 {
        Err(HarnessError::failed(format!(
            "{fail} candidate threshold(s) failed (and {inconclusive} inconclusive); see the verdict lines above"
        )))
    } else if inconclusive > 0 {
        Err(HarnessError::Inconclusive(format!(
            "{inconclusive} candidate threshold(s) inconclusive: the intervals straddle the threshold or the data is too small for one; run more requests or trials"
        )))
    } else {
        Ok(())
    }
}

/// One line per judgement.
pub fn describe(j: &Judgement) -> String {
    let est = match j.estimate {
        Some(Estimate {
            value,
            ci: Some((lo, hi)),
        }) => format!("{value:.4} [{lo:.4}, {hi:.4}]"),
        Some(Estimate { value, ci: None }) => format!("{value:.4} [no interval]"),
        None => "no data".into(),
    };
    let op = match j.bound {
        Bound::Max => "<=",
        Bound::Min => ">=",
    };
    format!(
        "{}{:<12} {:<10} {:<8} {:<14} {est} {op} {}",
        if j.informational { "info " } else { "     " },
        j.outcome.label().to_uppercase(),
        j.engine,
        j.mix,
        j.check,
        j.threshold
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(lo: f64, hi: f64) -> Option<Estimate> {
        Some(Estimate {
            value: (lo + hi) / 2.0,
            ci: Some((lo, hi)),
        })
    }

    #[test]
    fn the_whole_interval_decides() {
        assert_eq!(judge(e(0.1, 0.7), Bound::Max, 0.8), Outcome::Pass);
        assert_eq!(judge(e(0.1, 0.8), Bound::Max, 0.8), Outcome::Pass);
        assert_eq!(judge(e(0.7, 0.9), Bound::Max, 0.8), Outcome::Inconclusive);
        assert_eq!(judge(e(0.81, 0.9), Bound::Max, 0.8), Outcome::Fail);
        assert_eq!(judge(e(1.3, 2.0), Bound::Min, 1.2), Outcome::Pass);
        assert_eq!(judge(e(1.1, 1.3), Bound::Min, 1.2), Outcome::Inconclusive);
        assert_eq!(judge(e(0.5, 1.1), Bound::Min, 1.2), Outcome::Fail);
        assert_eq!(judge(None, Bound::Min, 1.2), Outcome::Inconclusive);
        let no_ci = Some(Estimate { value: 0.1, ci: None });
        assert_eq!(judge(no_ci, Bound::Max, 0.8), Outcome::Inconclusive);
    }

    #[test]
    fn candidates_decide_the_exit_code() {
        let j = |outcome, informational| Judgement {
            engine: "x".into(),
            mix: "m".into(),
            check: "p95_ratio_max",
            bound: Bound::Max,
            threshold: 0.8,
            estimate: None,
            outcome,
            informational,
        };
        assert!(decide(&[j(Outcome::Pass, false), j(Outcome::Fail, true)]).is_ok());
        assert_eq!(decide(&[j(Outcome::Inconclusive, false)]).unwrap_err().exit_code(), 3);
        let both = [j(Outcome::Inconclusive, false), j(Outcome::Fail, false)];
        assert_eq!(decide(&both).unwrap_err().exit_code(), 1);
    }
}
