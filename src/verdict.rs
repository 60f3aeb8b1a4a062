//! Judging summaries against the `[gate]` thresholds. A threshold passes when
//! its whole interval is on the right side, fails when the whole interval is
//! on the wrong side, and is inconclusive otherwise, or when the data supports
//! no interval. Candidates on the judged mixes decide the exit code; every
//! other engine is judged too, for information.
//!
//! The interval judged is drawn from the round-to-round spread at two levels:
//! its pass side at 97.5 % one-sided (so a check passes by chance at most
//! 2.5 % of the time: a gate that needs every check to pass cannot pass by
//! chance more often), its fail side at 1 − min(2.5 %, 5 %/m) one-sided for the
//! `m` checks that decide the exit code (Bonferroni), so a candidate sitting
//! exactly at every threshold fails the gate at most 5 % of the time. Both are adjusted
//! for the looks the run made after each round (`stats::sequential`).

use audit_engines::Role;

use crate::analysis::{Summary, Timing};
use crate::error::HarnessError;
use crate::spec::{half_width, GateSpec, Precision};
use crate::stats::sequential::Looks;
use crate::stats::{Estimate, ALPHA_SIDE};

/// The familywise rate of false fails over the checks that decide the exit code.
pub const FAMILY_ALPHA: f64 = 0.05;

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

/// What is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    P95RatioMax,
    P99RatioMax,
    RpsRatioMin,
    P95MsMax,
    P99MsMax,
    /// The engine answered every request without an error.
    Errors,
    /// Open loop: the engine kept up with the offered rate (at most 1 % of requests late).
    Sustained,
}

impl Check {
    /// The threshold's key in `[gate]` (or the check's name).
    pub fn key(self) -> &'static str {
        match self {
            Check::P95RatioMax => "p95_ratio_max",
            Check::P99RatioMax => "p99_ratio_max",
            Check::RpsRatioMin => "rps_ratio_min",
            Check::P95MsMax => "p95_ms_max",
            Check::P99MsMax => "p99_ms_max",
            Check::Errors => "errors",
            Check::Sustained => "sustained",
        }
    }

    /// Whether the check is judged on an interval (and so counts in the family).
    pub fn is_statistical(self) -> bool {
        !matches!(self, Check::Errors | Check::Sustained)
    }
}

/// One threshold judged for one engine and mix.
#[derive(Debug, Clone)]
pub struct Judgement {
    pub engine: String,
    pub mix: String,
    pub check: Check,
    pub bound: Bound,
    pub threshold: f64,
    pub estimate: Option<Estimate>,
    /// The interval judged (see the module doc); `None` when the data supports none.
    pub interval: Option<(f64, f64)>,
    /// One-sided error rate of the interval's fail side.
    pub fail_alpha: f64,
    pub outcome: Outcome,
    /// Not a candidate, or a mix the gate does not judge: shown, but it does not decide the exit code.
    pub informational: bool,
}

impl Judgement {
    /// Roughly how many times its rounds an undecided statistical check
    /// would need to be decided, if its estimate held and its interval
    /// narrowed as one over the square root of the rounds (the looks' and
    /// `t`'s critical values move little): on the log scale, the squared
    /// ratio of the interval's reach toward the threshold to the estimate's
    /// distance from it. `None` when it is decided, not statistical, has no
    /// interval, or sits on the threshold (then more rounds need not decide it).
    pub fn rounds_to_decide(&self) -> Option<f64> {
        if self.outcome != Outcome::Inconclusive || !self.check.is_statistical() {
            return None;
        }
        let e = self.estimate?.value;
        let (lo, hi) = self.interval?;
        let t = self.threshold;
        if !(e > 0.0 && lo > 0.0 && hi > 0.0 && t > 0.0) {
            return None;
        }
        let distance = (t / e).ln().abs();
        let reach = if t > e { (hi / e).ln() } else { (e / lo).ln() };
        let factor = (reach / distance).powi(2);
        (distance > 1e-9 && factor.is_finite()).then_some(factor.max(1.0))
    }
}

/// Judges an interval against a threshold.
pub fn judge(interval: Option<(f64, f64)>, bound: Bound, threshold: f64) -> Outcome {
    let Some((lo, hi)) = interval else {
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

/// The interval judged for an estimate: the pass side at `ALPHA_SIDE`, the
/// fail side at `fail_alpha`, both at the run's looks.
pub fn judged_interval(e: &Estimate, bound: Bound, fail_alpha: f64, looks: &Looks) -> Option<(f64, f64)> {
    let s = e.spread.filter(|s| s.has_interval())?;
    let pass = looks.t_critical(ALPHA_SIDE, s.df())?;
    let fail = looks.t_critical(fail_alpha, s.df())?;
    if !(pass.is_finite() && fail.is_finite()) {
        return None;
    }
    Some(match bound {
        Bound::Max => s.interval(fail, pass),
        Bound::Min => s.interval(pass, fail),
    })
}

/// Every judgement for the summaries the verdicts use (closed loop, or open loop
/// from intended starts); the baseline is the reference and is not judged.
/// Each interval is adjusted for the looks of its summary.
pub fn judge_all(summaries: &[Summary], gate: &GateSpec) -> Vec<Judgement> {
    struct Planned<'a> {
        s: &'a Summary,
        check: Check,
        bound: Bound,
        threshold: f64,
        estimate: Option<Estimate>,
        informational: bool,
    }
    let mut planned = Vec::new();
    for s in summaries {
        if s.role == Role::Reference || s.timing == Timing::OpenService {
            continue;
        }
        let candidate = gate.candidates.contains(&s.engine);
        let judged_mix = gate.mixes.contains(&s.mix);
        let t = gate.thresholds_for(&s.engine);
        let mut push = |check: Check, bound: Bound, threshold: f64, estimate: Option<Estimate>| {
            // An engine error fails a candidate whatever the mix; thresholds count on the judged mixes.
            let informational = !candidate || (check != Check::Errors && !judged_mix);
            planned.push(Planned {
                s,
                check,
                bound,
                threshold,
                estimate,
                informational,
            });
        };
        if s.errors > 0 {
            push(Check::Errors, Bound::Max, 0.0, None);
        }
        if s.timing == Timing::Open {
            push(
                Check::Sustained,
                Bound::Max,
                crate::bench::open::SATURATED_FRACTION,
                None,
            );
        }
        let checks: [(Check, Bound, Option<f64>, Option<Estimate>); 5] = [
            (Check::P95RatioMax, Bound::Max, t.p95_ratio_max, s.p95_ratio),
            (Check::P99RatioMax, Bound::Max, t.p99_ratio_max, s.p99_ratio),
            // Open loop runs both engines at the offered rate: no throughput ratio to judge.
            (
                Check::RpsRatioMin,
                Bound::Min,
                t.rps_ratio_min.filter(|_| s.timing == Timing::Closed),
                s.rps_ratio,
            ),
            (Check::P95MsMax, Bound::Max, t.p95_ms_max, s.p95),
            (Check::P99MsMax, Bound::Max, t.p99_ms_max, s.p99),
        ];
        for (check, bound, threshold, estimate) in checks {
            if let Some(th) = threshold {
                push(check, bound, th, estimate);
            }
        }
    }
    let m = planned
        .iter()
        .filter(|p| !p.informational && p.check.is_statistical())
        .count();
    let family_alpha = ALPHA_SIDE.min(FAMILY_ALPHA / m.max(1) as f64);
    planned
        .into_iter()
        .map(|p| {
            let fail_alpha = if p.informational { ALPHA_SIDE } else { family_alpha };
            let (interval, outcome) = match p.check {
                Check::Errors => (None, Outcome::Fail),
                Check::Sustained => (None, if p.s.saturated { Outcome::Fail } else { Outcome::Pass }),
                _ => {
                    let interval = p
                        .estimate
                        .as_ref()
                        .and_then(|e| judged_interval(e, p.bound, fail_alpha, &p.s.looks));
                    (interval, judge(interval, p.bound, p.threshold))
                }
            };
            let estimate = match p.check {
                Check::Errors => Some(Estimate {
                    value: p.s.errors as f64,
                    ci: None,
                    spread: None,
                }),
                Check::Sustained => Some(Estimate {
                    value: p.s.late as f64 / p.s.requests.max(1) as f64,
                    ci: None,
                    spread: None,
                }),
                _ => p.estimate,
            };
            Judgement {
                engine: p.s.engine.clone(),
                mix: p.s.mix.clone(),
                check: p.check,
                bound: p.bound,
                threshold: p.threshold,
                estimate,
                interval,
                fail_alpha,
                outcome,
                informational: p.informational,
            }
        })
        .collect()
}

/// Whether the records so far, analysed with `settings`, settle every check
/// that decides the exit code within `precision`: the question a run asks
/// after each round.
pub fn settled_by(
    series: &[crate::bench::Series],
    settings: &crate::analysis::Settings,
    gate: &GateSpec,
    precision: &Precision,
    cache: &mut crate::analysis::Cache,
) -> bool {
    let summaries = crate::analysis::summarize_cached(series, settings, cache);
    let judgements = judge_all(&summaries, gate);
    settled(&judgements) && imprecise(&summaries, &judgements, precision).is_empty()
}

/// A figure that decides (or that the deciding ratios rest on) whose 95 %
/// interval is wider than asked.
#[derive(Debug, Clone, PartialEq)]
pub struct Imprecise {
    pub engine: String,
    pub mix: String,
    /// `p95_ratio`, `p99_ratio`, `rps_ratio`, `p50`, `p95`, `p99` or `rps`.
    pub figure: &'static str,
    /// Its relative half-width (infinite without an interval).
    pub half_width: f64,
    pub asked: f64,
}

impl Imprecise {
    /// Roughly how many times its rounds the figure would need for the
    /// half-width asked, as its interval narrows as one over the square
    /// root of the rounds (on the log scale); `None` without an interval.
    pub fn rounds_to_precise(&self) -> Option<f64> {
        let f = ((1.0 + self.half_width).ln() / (1.0 + self.asked).ln()).powi(2);
        (f.is_finite() && self.asked > 0.0).then_some(f.max(1.0))
    }
}

/// The deciding figures whose reported 95 % interval (at the run's looks) is
/// wider than `precision` asks: each deciding check's estimate, and the
/// reference's own p50 (at p95's precision), p95, p99 and throughput on every deciding mix (every
/// deciding ratio is measured against them, and an SLA document quotes them).
pub fn imprecise(summaries: &[Summary], judgements: &[Judgement], precision: &Precision) -> Vec<Imprecise> {
    let mut out = Vec::new();
    let mut check = |engine: &str, mix: &str, figure: &'static str, e: Option<Estimate>, asked: f64| {
        let half_width = e
            .and_then(|e| e.ci.map(|ci| half_width(e.value, ci)))
            .unwrap_or(f64::INFINITY);
        if half_width.is_nan() || half_width > asked {
            out.push(Imprecise {
                engine: engine.to_string(),
                mix: mix.to_string(),
                figure,
                half_width,
                asked,
            });
        }
    };
    let mut mixes: Vec<&str> = Vec::new();
    for j in judgements
        .iter()
        .filter(|j| !j.informational && j.check.is_statistical())
    {
        let (figure, asked) = match j.check {
            Check::P95RatioMax => ("p95_ratio", precision.p95),
            Check::P99RatioMax => ("p99_ratio", precision.p99),
            Check::RpsRatioMin => ("rps_ratio", precision.throughput),
            Check::P95MsMax => ("p95", precision.p95),
            Check::P99MsMax => ("p99", precision.p99),
            Check::Errors | Check::Sustained => continue,
        };
        check(&j.engine, &j.mix, figure, j.estimate, asked);
        if !mixes.contains(&j.mix.as_str()) {
            mixes.push(&j.mix);
        }
    }
    for s in summaries
        .iter()
        .filter(|s| s.role == Role::Reference && s.timing != Timing::OpenService)
    {
        if mixes.contains(&s.mix.as_str()) {
            // The median is held to p95's precision: an SLA document quotes both.
            check(&s.engine, &s.mix, "p50", s.p50, precision.p95);
            check(&s.engine, &s.mix, "p95", s.p95, precision.p95);
            check(&s.engine, &s.mix, "p99", s.p99, precision.p99);
            if s.timing == Timing::Closed {
                check(&s.engine, &s.mix, "rps", s.rps, precision.throughput);
            }
        }
    }
    out
}

/// Whether every check that decides the exit code is decided (and there is at
/// least one): the benchmark can stop.
pub fn settled(judgements: &[Judgement]) -> bool {
    let mut deciding = judgements.iter().filter(|j| !j.informational).peekable();
    deciding.peek().is_some() && deciding.all(|j| j.outcome != Outcome::Inconclusive)
}

/// A summary row's verdict, as data: what its `verdict` column says in
/// summary.csv and summary.json ([`Cell::label`]) and its badge in report.html.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell {
    /// The baseline: every other engine is measured against it.
    Reference,
    /// Open-loop service time: shown, never judged.
    NotJudged,
    /// The worst outcome of the row's checks (`None`: it has no thresholds);
    /// `informational` when the engine or mix does not decide the exit code.
    Judged {
        worst: Option<Outcome>,
        informational: bool,
    },
}

impl Cell {
    /// The column's text: `reference`, `not judged (service time)`, or the
    /// worst outcome (`no thresholds` without one), after `info:` for a row
    /// that does not decide the exit code.
    pub fn label(self) -> String {
        match self {
            Cell::Reference => "reference".into(),
            Cell::NotJudged => "not judged (service time)".into(),
            Cell::Judged { worst, informational } => {
                let word = worst.map_or("no thresholds", Outcome::label);
                if informational {
                    format!("info:{word}")
                } else {
                    word.to_string()
                }
            }
        }
    }
}

/// The summary row's verdict: the reference, service time (never judged),
/// or the worst outcome of its judgements, informational for non-candidates.
pub fn column(s: &Summary, judgements: &[Judgement], gate: &GateSpec) -> Cell {
    if s.role == Role::Reference {
        return Cell::Reference;
    }
    if s.timing == Timing::OpenService {
        return Cell::NotJudged;
    }
    let worst = judgements
        .iter()
        .filter(|j| j.engine == s.engine && j.mix == s.mix)
        .map(|j| j.outcome)
        .max();
    Cell::Judged {
        worst,
        informational: !(gate.candidates.contains(&s.engine) && gate.mixes.contains(&s.mix)),
    }
}

/// What the deciding checks call for: the gate's decision, as data. It
/// becomes an error (and an exit code) only at the command's boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Every deciding check passed.
    Pass,
    /// A deciding check failed.
    Fail { failed: usize, inconclusive: usize },
    /// Not enough evidence either way.
    Inconclusive(Undecided),
}

/// Why a decision is inconclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Undecided {
    /// No check decides the exit code in this run.
    NothingDecides,
    /// This many deciding checks straddle their thresholds (or have no interval).
    Straddling(usize),
    /// The run was interrupted: its figures cover the finished rounds only.
    Interrupted,
    /// The reference erred, or answered no request of a round: its figures
    /// are no yardstick, so no ratio decides (the gate exits 1).
    NoYardstick,
    /// The load driver lost a round's records: the run ended there, incomplete (exit 2).
    DriverLost,
}

impl Decision {
    /// The decision as an outcome, without its reasons.
    pub fn outcome(&self) -> Outcome {
        match self {
            Decision::Pass => Outcome::Pass,
            Decision::Fail { .. } => Outcome::Fail,
            Decision::Inconclusive(_) => Outcome::Inconclusive,
        }
    }

    /// `pass`, `fail` or `inconclusive`, as every report file writes it.
    pub fn label(&self) -> &'static str {
        self.outcome().label()
    }

    /// The exit code it gives (0, 1 or 3): its result's, so that the code
    /// is decided in one place, `HarnessError::exit_code`.
    pub fn exit_code(&self) -> i32 {
        self.into_result().err().map_or(0, |e| e.exit_code())
    }

    /// The command's result: `Ok` for a pass, else the error that carries the exit code and why.
    pub fn into_result(self) -> Result<(), HarnessError> {
        match self {
            Decision::Pass => Ok(()),
            Decision::Fail { failed, inconclusive } => Err(HarnessError::failed(format!(
                "{failed} candidate threshold(s) failed (and {inconclusive} inconclusive); see the verdict lines above"
            ))),
            Decision::Inconclusive(Undecided::NothingDecides) => Err(HarnessError::Inconclusive(
                "no check decides the exit code: no engine of [gate] candidates was judged on a mix of [gate] mixes in this run".into(),
            )),
            Decision::Inconclusive(Undecided::Straddling(n)) => Err(HarnessError::Inconclusive(format!(
                "{n} candidate threshold(s) inconclusive: the intervals straddle the threshold or the data is too small for one; raise [bench] max_seconds (or --max-seconds) for more rounds"
            ))),
            Decision::Inconclusive(Undecided::Interrupted) => Err(HarnessError::Inconclusive(
                "interrupted: the figures cover the finished rounds only; run.json says complete: false".into(),
            )),
            Decision::Inconclusive(Undecided::NoYardstick) => Err(HarnessError::failed(
                "the reference erred or answered no request of a round: its figures are no yardstick, so no ratio decides (see the ERROR lines)",
            )),
            Decision::Inconclusive(Undecided::DriverLost) => Err(HarnessError::input(
                "the load driver lost a round's records: the run ended there, incomplete",
            )),
        }
    }
}

/// The decision the candidates' judgements call for; an interrupted run's
/// is inconclusive whatever its checks say (they cover part of a run).
pub fn decide(judgements: &[Judgement], interrupted: bool) -> Decision {
    if interrupted {
        return Decision::Inconclusive(Undecided::Interrupted);
    }
    let count = |o: Outcome| judgements.iter().filter(|j| !j.informational && j.outcome == o).count();
    let (failed, inconclusive) = (count(Outcome::Fail), count(Outcome::Inconclusive));
    if judgements.iter().all(|j| j.informational) {
        // A gate that judged nothing has no evidence either way: never a pass by accident.
        Decision::Inconclusive(Undecided::NothingDecides)
    } else if failed > 0 {
        Decision::Fail { failed, inconclusive }
    } else if inconclusive > 0 {
        Decision::Inconclusive(Undecided::Straddling(inconclusive))
    } else {
        Decision::Pass
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Spread;

    #[test]
    fn the_whole_interval_decides() {
        let e = |lo, hi| Some((lo, hi));
        assert_eq!(judge(e(0.1, 0.7), Bound::Max, 0.8), Outcome::Pass);
        assert_eq!(judge(e(0.1, 0.8), Bound::Max, 0.8), Outcome::Pass);
        assert_eq!(judge(e(0.7, 0.9), Bound::Max, 0.8), Outcome::Inconclusive);
        assert_eq!(judge(e(0.81, 0.9), Bound::Max, 0.8), Outcome::Fail);
        assert_eq!(judge(e(1.3, 2.0), Bound::Min, 1.2), Outcome::Pass);
        assert_eq!(judge(e(1.1, 1.3), Bound::Min, 1.2), Outcome::Inconclusive);
        assert_eq!(judge(e(0.5, 1.1), Bound::Min, 1.2), Outcome::Fail);
        assert_eq!(judge(None, Bound::Min, 1.2), Outcome::Inconclusive);
    }

    fn judgement(outcome: Outcome, informational: bool) -> Judgement {
        Judgement {
            engine: "x".into(),
            mix: "m".into(),
            check: Check::P95RatioMax,
            bound: Bound::Max,
            threshold: 0.8,
            estimate: None,
            interval: None,
            fail_alpha: 0.025,
            outcome,
            informational,
        }
    }

    /// The projection is the factor that narrows the interval's reach
    /// toward the threshold (as one over the square root of the rounds)
    /// until it just touches it, on the side that would decide.
    #[test]
    fn an_undecided_check_says_how_many_times_its_rounds_would_decide_it() {
        let with = |bound, threshold: f64, e: f64, (lo, hi): (f64, f64)| Judgement {
            bound,
            threshold,
            estimate: Some(Estimate {
                value: e,
                ci: Some((lo, hi)),
                spread: None,
            }),
            interval: Some((lo, hi)),
            ..judgement(judge(Some((lo, hi)), bound, threshold), false)
        };
        // Below a maximum: the upper side must come down to the threshold.
        let (e, lo, hi) = (0.72, 0.6, 0.72 * 1.2);
        let k = with(Bound::Max, 0.8, e, (lo, hi)).rounds_to_decide().unwrap();
        let narrowed = e * ((hi / e).ln() / k.sqrt()).exp();
        assert!((narrowed - 0.8).abs() < 1e-12, "{k} {narrowed}");
        assert!((k - (1.2f64.ln() / (0.8f64 / 0.72).ln()).powi(2)).abs() < 1e-12);
        // Above a maximum: the lower side must rise past it (a fail).
        let k = with(Bound::Max, 0.8, 0.9, (0.7, 1.0)).rounds_to_decide().unwrap();
        assert!((0.9 * (-(0.9f64 / 0.7).ln() / k.sqrt()).exp() - 0.8).abs() < 1e-12);
        // A minimum works alike: a throughput ratio above its line must lift its lower side.
        let k = with(Bound::Min, 1.2, 1.3, (1.1, 1.5)).rounds_to_decide().unwrap();
        assert!((1.3 * (-(1.3f64 / 1.1).ln() / k.sqrt()).exp() - 1.2).abs() < 1e-12);
        // Decided, on the threshold, or without an interval: no projection.
        assert_eq!(with(Bound::Max, 0.8, 0.7, (0.6, 0.79)).rounds_to_decide(), None);
        assert_eq!(with(Bound::Max, 0.8, 0.8, (0.7, 0.9)).rounds_to_decide(), None);
        assert_eq!(judgement(Outcome::Inconclusive, false).rounds_to_decide(), None);
        // The precision asked: ±20 % on the log scale needs (ln 1.2 / ln 1.1)² times the rounds for ±10 %.
        let imprecise = Imprecise {
            engine: "x".into(),
            mix: "m".into(),
            figure: "p95",
            half_width: 0.2,
            asked: 0.1,
        };
        let k = imprecise.rounds_to_precise().unwrap();
        assert!((k - (1.2f64.ln() / 1.1f64.ln()).powi(2)).abs() < 1e-12, "{k}");
        assert_eq!(
            Imprecise {
                half_width: f64::INFINITY,
                ..imprecise
            }
            .rounds_to_precise(),
            None
        );
    }

    #[test]
    fn candidates_decide_the_exit_code() {
        let j = judgement;
        assert_eq!(
            decide(&[j(Outcome::Pass, false), j(Outcome::Fail, true)], false),
            Decision::Pass
        );
        assert_eq!(
            decide(&[j(Outcome::Pass, true)], false),
            Decision::Inconclusive(Undecided::NothingDecides),
            "nothing decides: no pass"
        );
        assert_eq!(decide(&[], false).exit_code(), 3);
        assert_eq!(decide(&[j(Outcome::Inconclusive, false)], false).exit_code(), 3);
        let both = [j(Outcome::Inconclusive, false), j(Outcome::Fail, false)];
        assert_eq!(
            decide(&both, false),
            Decision::Fail {
                failed: 1,
                inconclusive: 1
            }
        );
        assert_eq!(decide(&both, false).into_result().unwrap_err().exit_code(), 1);
        // An interrupted run decides nothing, whatever its checks say.
        let pass = [j(Outcome::Pass, false)];
        assert_eq!(decide(&pass, true), Decision::Inconclusive(Undecided::Interrupted));
        assert_eq!(decide(&pass, true).label(), "inconclusive");
        assert!(settled(&[
            j(Outcome::Pass, false),
            j(Outcome::Fail, false),
            j(Outcome::Inconclusive, true)
        ]));
        assert!(!settled(&[j(Outcome::Pass, false), j(Outcome::Inconclusive, false)]));
        assert!(!settled(&[j(Outcome::Pass, true)]), "nothing decides: never settled");
    }

    /// The fail side is wider than the pass side by the Bonferroni share, and
    /// the pass side is the reported 95 % interval's.
    #[test]
    fn the_fail_side_carries_the_family_correction() {
        let looks = Looks::fixed(10);
        let e = Estimate {
            value: 0.8,
            ci: None,
            spread: Some(Spread {
                log_center: 0.8f64.ln(),
                sd: 0.1,
                rounds: 10,
                below: 1.0,
                above: 1.0,
                df: 9.0,
                skew_below: 0.0,
                skew_above: 0.0,
            }),
        };
        let (lo, hi) = judged_interval(&e, Bound::Max, 0.05 / 6.0, &looks).unwrap();
        let se = 0.1 / 10f64.sqrt();
        let t975 = 2.262157;
        assert!(((hi / 0.8).ln() / se - t975).abs() < 1e-3, "{hi}");
        // t(1 - 0.05/6, 9) = 2.93 on the fail side, against 2.26 on the pass side.
        assert!(((0.8f64 / lo).ln() / se - 2.93).abs() < 0.02, "{lo}");
        let (lo_min, _) = judged_interval(&e, Bound::Min, 0.05 / 6.0, &looks).unwrap();
        assert!(((0.8f64 / lo_min).ln() / se - t975).abs() < 1e-3);
    }
}
