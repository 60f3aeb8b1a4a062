//! One check's judged interval drawn against its threshold, as a small inline
//! SVG: the pass side shaded, the threshold a dark line, the interval a bar in
//! the outcome's colour, the estimate a dot. Log scale when every value is
//! positive (ratios span 0.005 to 500), linear otherwise.

use std::fmt::Write;

use crate::verdict::{Bound, Judgement, Outcome};

use super::esc;

const W: f64 = 260.0;
const H: f64 = 30.0;
/// Horizontal room left at each end.
const PAD: f64 = 10.0;

/// The outcome's colour (Okabe–Ito, as the plots): blue pass, vermillion fail, orange inconclusive.
pub fn outcome_colour(o: Outcome) -> &'static str {
    match o {
        Outcome::Pass => "#0072b2",
        Outcome::Fail => "#d55e00",
        Outcome::Inconclusive => "#e69f00",
    }
}

/// The strip for a judgement, or `None` when it has no interval (a count
/// check, or too few rounds): the table then says so in words.
pub fn strip(j: &Judgement) -> Option<String> {
    let (lo, hi) = j.interval?;
    let est = j.estimate.map(|e| e.value).filter(|v| v.is_finite());
    let values: Vec<f64> = [lo, hi, j.threshold]
        .into_iter()
        .chain(est)
        .filter(|v| v.is_finite())
        .collect();
    if values.len() < 3 {
        return None;
    }
    let log = values.iter().all(|v| *v > 0.0);
    let f = |v: f64| if log { v.ln() } else { v };
    let (mut a, mut b) = values
        .iter()
        .map(|v| f(*v))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    let span = (b - a).max(if log { 0.2 } else { 1e-9 });
    a -= span * 0.15;
    b += span * 0.15;
    let x = |v: f64| PAD + (f(v) - a) / (b - a) * (W - 2.0 * PAD);
    let (xl, xh, xt) = (x(lo), x(hi), x(j.threshold));
    let colour = outcome_colour(j.outcome);
    let op = match j.bound {
        Bound::Max => "≤",
        Bound::Min => "≥",
    };
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"strip\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\">\
         <title>{} {}: interval [{}, {}] against {op} {} ({})</title>",
        esc(&j.engine),
        j.check.key(),
        num(lo),
        num(hi),
        num(j.threshold),
        if log { "log scale" } else { "linear scale" },
    );
    // The pass side of the threshold, shaded.
    let (px, pw) = match j.bound {
        Bound::Max => (0.0, xt),
        Bound::Min => (xt, W - xt),
    };
    let _ = write!(
        s,
        "<rect x=\"{px:.1}\" y=\"0\" width=\"{pw:.1}\" height=\"{H}\" fill=\"#e6f0f7\"/>\
         <line x1=\"{xt:.1}\" y1=\"1\" x2=\"{xt:.1}\" y2=\"{}\" stroke=\"#222\" stroke-width=\"2\" stroke-dasharray=\"3 2\"/>\
         <line x1=\"{xl:.1}\" y1=\"15\" x2=\"{xh:.1}\" y2=\"15\" stroke=\"{colour}\" stroke-width=\"5\"/>\
         <line x1=\"{xl:.1}\" y1=\"9\" x2=\"{xl:.1}\" y2=\"21\" stroke=\"{colour}\" stroke-width=\"2\"/>\
         <line x1=\"{xh:.1}\" y1=\"9\" x2=\"{xh:.1}\" y2=\"21\" stroke=\"{colour}\" stroke-width=\"2\"/>",
        H - 1.0
    );
    if let Some(e) = est {
        let _ = write!(
            s,
            "<circle cx=\"{:.1}\" cy=\"15\" r=\"4\" fill=\"#fff\" stroke=\"#222\" stroke-width=\"2\"/>",
            x(e)
        );
    }
    s.push_str("</svg>");
    Some(s)
}

/// A figure with 4 significant digits (ratios from 0.006 to 400 alike).
pub fn num(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    if v == 0.0 {
        return "0".into();
    }
    let decimals = (3 - v.abs().log10().floor() as i32).clamp(0, 6) as usize;
    format!("{v:.decimals$}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::Check;

    fn judgement(interval: (f64, f64), threshold: f64, bound: Bound, outcome: Outcome) -> Judgement {
        Judgement {
            engine: "x".into(),
            mix: "m".into(),
            check: Check::P95RatioMax,
            bound,
            threshold,
            estimate: Some(crate::stats::Estimate {
                value: (interval.0 * interval.1).sqrt(),
                ci: None,
                spread: None,
            }),
            interval: Some(interval),
            fail_alpha: 0.025,
            outcome,
            informational: false,
        }
    }

    /// The x of the n-th `<line` element's x1 attribute.
    fn line_x(svg: &str, n: usize) -> f64 {
        let at = svg.match_indices("<line x1=\"").nth(n).unwrap().0 + 10;
        svg[at..].split('"').next().unwrap().parse().unwrap()
    }

    #[test]
    fn a_passing_max_interval_lies_left_of_the_threshold_line() {
        let svg = strip(&judgement((0.003, 0.01), 0.8, Bound::Max, Outcome::Pass)).unwrap();
        let (threshold, lo, hi) = (line_x(&svg, 0), line_x(&svg, 2), line_x(&svg, 3));
        assert!(lo < hi && hi < threshold, "{svg}");
        assert!(svg.contains("#0072b2"));
        // A failing min check: the interval lies left of its threshold too, in the fail colour.
        let svg = strip(&judgement((0.5, 0.9), 1.2, Bound::Min, Outcome::Fail)).unwrap();
        assert!(line_x(&svg, 3) < line_x(&svg, 0));
        assert!(svg.contains("#d55e00"));
    }

    #[test]
    fn no_interval_no_strip_and_numbers_keep_four_digits() {
        let mut j = judgement((0.1, 0.2), 0.8, Bound::Max, Outcome::Pass);
        j.interval = None;
        assert!(strip(&j).is_none());
        assert_eq!(num(0.006_012_3), "0.006012");
        assert_eq!(num(303.97), "304.0");
        assert_eq!(num(0.8), "0.8000");
    }
}
