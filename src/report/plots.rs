//! SVG plots (plotters), one file each per mix: the latency CDF, the tail on a
//! percentile axis (x = 1/(1-p), so 50 %, 90 %, 99 %, 99.9 % are evenly
//! spaced, as HdrHistogram plots them), and p99 by page-depth bucket.
//!
//! Made for a reviewer: every engine keeps one colour in every plot of a run
//! (Okabe–Ito, safe for colour-blind readers; chosen by the engine's role and
//! position in the run's engine list, never by its name), every log axis has
//! 1-2-5 tick labels, a point without an interval is drawn hollow with its
//! sample count, the p95/p99 lines and the gate's latency limits are drawn
//! where they apply, and the run id is in every subtitle.

use audit_engines::Role;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::analysis::{Stratum, Summary, Timing, DEPTH_BUCKETS};
use crate::bench::Series;
use crate::error::HarnessError;
use crate::verdict::{Check, Judgement};

const SIZE: (u32, u32) = (900, 540);
const FONT: &str = "sans-serif";
/// Threshold and percentile lines.
const GUIDE: RGBColor = RGBColor(0x55, 0x55, 0x55);

/// Okabe & Ito (2008), "Color Universal Design": distinguishable with every
/// common colour-vision deficiency. Candidates take these in the run's order
/// (the yellow is left out: too faint on white).
const CANDIDATE_COLOURS: [RGBColor; 6] = [
    RGBColor(0x00, 0x72, 0xB2), // blue
    RGBColor(0xD5, 0x5E, 0x00), // vermillion
    RGBColor(0x00, 0x9E, 0x73), // bluish green
    RGBColor(0xCC, 0x79, 0xA7), // reddish purple
    RGBColor(0xE6, 0x9F, 0x00), // orange
    RGBColor(0x56, 0xB4, 0xE9), // sky blue
];
/// The reference (the baseline every ratio is against).
const REFERENCE_COLOUR: RGBColor = RGBColor(0, 0, 0);
/// Yardsticks (the floor): shown beside the others, never judged.
const YARDSTICK_COLOUR: RGBColor = RGBColor(0x88, 0x88, 0x88);

/// Each engine's colour for a whole run: black for the reference, grey for
/// yardsticks, Okabe–Ito colours for the others in the run's engine order.
#[derive(Debug, Clone)]
pub struct Colours {
    engines: Vec<(String, RGBColor)>,
}

impl Colours {
    /// From the run's engines in plan order, with their roles.
    pub fn new(engines: &[(String, Role)]) -> Colours {
        let mut next = 0;
        let engines = engines
            .iter()
            .map(|(name, role)| {
                let c = match role {
                    Role::Reference => REFERENCE_COLOUR,
                    Role::Yardstick => YARDSTICK_COLOUR,
                    Role::Candidate => {
                        next += 1;
                        CANDIDATE_COLOURS[(next - 1) % CANDIDATE_COLOURS.len()]
                    }
                };
                (name.clone(), c)
            })
            .collect();
        Colours { engines }
    }

    /// The engines in the run's order.
    pub fn engines(&self) -> impl Iterator<Item = &str> {
        self.engines.iter().map(|e| e.0.as_str())
    }

    /// The engine's colour (an engine the run did not list is drawn in the yardstick grey).
    pub fn of(&self, engine: &str) -> RGBColor {
        self.engines
            .iter()
            .find(|e| e.0 == engine)
            .map_or(YARDSTICK_COLOUR, |e| e.1)
    }

    /// The engine's colour as CSS `#rrggbb`.
    pub fn hex(&self, engine: &str) -> String {
        let RGBColor(r, g, b) = self.of(engine);
        format!("#{r:02x}{g:02x}{b:02x}")
    }
}

/// What every plot of a run shares.
pub struct Context<'a> {
    pub run_id: &'a str,
    pub colours: &'a Colours,
    /// The latency the verdicts use (closed loop, or open loop from intended starts).
    pub timing: Timing,
}

impl Context<'_> {
    fn subtitle(&self) -> String {
        let latency = match self.timing {
            Timing::Closed => "closed loop, service time",
            Timing::Open => "open loop, from each request's intended start",
            Timing::OpenService => "open loop, service time",
        };
        format!("run {}; {latency}; all rounds' answered requests pooled", self.run_id)
    }
}

/// A latency limit of the gate on one mix, in ms: an absolute `p95_ms_max`
/// / `p99_ms_max`, or a ratio threshold times the reference's estimate.
#[derive(Debug, Clone, PartialEq)]
pub struct Limit {
    /// 0.95 or 0.99: the quantile the limit is for.
    pub quantile: f64,
    pub ms: f64,
    /// What it is, e.g. `p95 limit: 0.8 × baseline p95 = 19.347 ms`.
    pub label: String,
}

/// The latency limits the judgements on `mix` apply (one per distinct check
/// and threshold; the engines named when a limit holds for some of them only).
pub fn limits(summaries: &[Summary], judgements: &[Judgement], mix: &str, timing: Timing) -> Vec<Limit> {
    let on_mix: Vec<&Judgement> = judgements.iter().filter(|j| j.mix == mix).collect();
    let reference = summaries
        .iter()
        .find(|s| s.mix == mix && s.timing == timing && s.role == Role::Reference);
    let mut out: Vec<(Check, f64, Vec<&str>, Limit)> = Vec::new();
    for j in &on_mix {
        let (quantile, ms, what) = match j.check {
            Check::P95MsMax => (0.95, j.threshold, format!("p95 limit {} ms", j.threshold)),
            Check::P99MsMax => (0.99, j.threshold, format!("p99 limit {} ms", j.threshold)),
            Check::P95RatioMax | Check::P99RatioMax => {
                let q = if j.check == Check::P95RatioMax { 0.95 } else { 0.99 };
                let Some(r) = reference else { continue };
                let Some(base) = (if q == 0.95 { r.p95 } else { r.p99 }) else {
                    continue;
                };
                let p = if q == 0.95 { "p95" } else { "p99" };
                let ms = base.value * j.threshold;
                (
                    q,
                    ms,
                    format!("{p} limit {} × {} {p} = {ms:.3} ms", j.threshold, r.engine),
                )
            }
            _ => continue,
        };
        if !(ms.is_finite() && ms > 0.0) {
            continue;
        }
        match out.iter_mut().find(|o| o.0 == j.check && o.1 == j.threshold) {
            Some(o) => o.2.push(&j.engine),
            None => out.push((
                j.check,
                j.threshold,
                vec![&j.engine],
                Limit {
                    quantile,
                    ms,
                    label: what,
                },
            )),
        }
    }
    let judged: Vec<&str> = {
        let mut e: Vec<&str> = on_mix.iter().map(|j| j.engine.as_str()).collect();
        e.dedup();
        e
    };
    out.into_iter()
        .map(|(check, _, engines, mut limit)| {
            let all = judged
                .iter()
                .all(|e| engines.contains(e) || !on_mix.iter().any(|j| j.engine == *e && j.check == check));
            if !all {
                limit.label = format!("{} ({})", limit.label, engines.join(", "));
            }
            limit
        })
        .collect()
}

/// Ticks for a log axis over `lo..hi`: labelled ticks at 1-2-5 per decade
/// (every decade's 1 only over a wide range, 1..9 over a narrow one), and
/// light grid lines at the rest of 1..9.
pub fn log_ticks(lo: f64, hi: f64) -> (Vec<f64>, Vec<f64>) {
    let in_range = |mantissas: &[u32]| -> Vec<f64> {
        if !(lo > 0.0 && hi > lo && lo.is_finite() && hi.is_finite()) {
            return Vec::new();
        }
        let (first, last) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
        let mut v = Vec::new();
        for e in first..=last {
            for &m in mantissas {
                let x = f64::from(m) * 10f64.powi(e);
                if x >= lo * (1.0 - 1e-9) && x <= hi * (1.0 + 1e-9) {
                    v.push(x);
                }
            }
        }
        v
    };
    let all = in_range(&[1, 2, 3, 4, 5, 6, 7, 8, 9]);
    let mut bold = in_range(&[1, 2, 5]);
    if bold.len() > 13 {
        bold = in_range(&[1]);
    }
    if bold.len() < 5 && all.len() <= 13 {
        bold = all.clone();
    }
    let light = all.into_iter().filter(|x| !bold.contains(x)).collect();
    (bold, light)
}

/// A tick label that shows a 1-2-5 (or 1..9) tick exactly: `0.002`, `0.5`, `20`.
pub fn tick_label(v: f64) -> String {
    if v <= 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let decimals = (-v.log10().floor()).max(0.0) as usize;
    format!("{v:.decimals$}")
}

/// A white sheet with a plot's title and, smaller and grey, its subtitle.
fn sheet<'a>(
    svg: &'a mut String,
    name: &str,
    title: &str,
    subtitle: &str,
) -> Result<DrawingArea<SVGBackend<'a>, plotters::coord::Shift>, HarnessError> {
    let root = SVGBackend::with_string(svg, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err(name))?;
    let root = root.titled(title, (FONT, 22)).map_err(plot_err(name))?;
    root.titled(subtitle, (FONT, 14).into_font().color(&GUIDE))
        .map_err(plot_err(name))
}

/// The chart area every plot shares: its margins and room for axis labels.
fn frame<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, plotters::coord::Shift>,
) -> ChartBuilder<'a, 'b, SVGBackend<'b>> {
    let mut b = ChartBuilder::on(root);
    b.margin(12)
        .margin_right(24)
        .x_label_area_size(44)
        .y_label_area_size(56);
    b
}

fn plot_err<E: std::fmt::Display>(name: &str) -> impl Fn(E) -> HarnessError + '_ {
    move |e| HarnessError::input(format!("{name}: cannot draw the plot: {e}"))
}

/// Each engine's answered latencies on `mix` in ms, sorted, in the run's engine order.
fn latencies(series: &[Series], mix: &str, timing: Timing) -> Vec<(String, Vec<f64>)> {
    series
        .iter()
        .filter(|s| s.mix == mix)
        .map(|s| {
            let mut xs: Vec<f64> = s
                .trials
                .iter()
                .flat_map(|t| &t.requests)
                .filter(|r| r.rows.is_some())
                .map(|r| (timing.latency_us(r) / 1000.0).max(1e-4))
                .collect();
            xs.sort_by(f64::total_cmp);
            (s.engine.clone(), xs)
        })
        .filter(|(_, xs)| !xs.is_empty())
        .collect()
}

/// A log range around `values` (a default when there are none), padded by `pad`.
fn log_range(values: impl Iterator<Item = f64>, pad: f64) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite() && *v > 0.0)
        .fold((f64::INFINITY, 0.0f64), |(a, b), v| (a.min(v), b.max(v)));
    if lo.is_finite() && hi > lo {
        (lo / pad, hi * pad)
    } else if lo.is_finite() {
        (lo / 2.0, lo * 2.0)
    } else {
        (0.001, 1.0)
    }
}

/// `hi` raised (or `lo` lowered, for `fraction` < 0) by a share of the log
/// span, leaving an empty band where the legend goes.
fn reserve(lo: f64, hi: f64, fraction: f64) -> (f64, f64) {
    let k = (hi / lo).powf(fraction.abs());
    if fraction >= 0.0 {
        (lo, hi * k)
    } else {
        (lo / k, hi)
    }
}

fn text_style(size: u32, colour: RGBColor, h: HPos, v: VPos) -> TextStyle<'static> {
    TextStyle {
        font: (FONT, size).into_font(),
        color: colour.to_backend_color(),
        pos: Pos::new(h, v),
    }
}

/// Latency CDF per engine for one mix (ms on a log axis), with the p95 and
/// p99 lines and the gate's latency limits on the mix.
pub fn cdf(series: &[Series], mix: &str, ctx: &Context, limits: &[Limit]) -> Result<String, HarnessError> {
    let name = format!("cdf-{mix}.svg");
    let curves = latencies(series, mix, ctx.timing);
    let (lo, hi) = log_range(
        curves
            .iter()
            .flat_map(|c| [c.1[0], c.1[c.1.len() - 1]])
            .chain(limits.iter().map(|l| l.ms)),
        1.1,
    );
    // The legend goes right of the slowest request, where every curve is flat at 1.
    let (lo, hi) = reserve(lo, hi, 0.3);
    let (bold, light) = log_ticks(lo, hi);
    let mut svg = String::new();
    {
        let root = sheet(&mut svg, &name, &format!("Latency CDF, mix {mix}"), &ctx.subtitle())?;
        let mut chart = frame(&root)
            .build_cartesian_2d(
                (lo..hi).log_scale().with_key_points(bold).with_light_points(light),
                0.0..1.0,
            )
            .map_err(plot_err(&name))?;
        chart
            .configure_mesh()
            .x_label_formatter(&|v| tick_label(*v))
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 15))
            .x_desc("latency (ms, log scale)")
            .y_desc("fraction of requests at or below")
            .draw()
            .map_err(plot_err(&name))?;
        for (q, label) in [(0.95, "p95"), (0.99, "p99")] {
            chart
                .draw_series(DashedLineSeries::new([(lo, q), (hi, q)], 6, 4, GUIDE.stroke_width(1)))
                .map_err(plot_err(&name))?;
            chart
                .draw_series(std::iter::once(Text::new(
                    label,
                    (lo, q),
                    text_style(13, GUIDE, HPos::Left, VPos::Bottom),
                )))
                .map_err(plot_err(&name))?;
        }
        for (i, l) in limits.iter().enumerate() {
            chart
                .draw_series(DashedLineSeries::new(
                    [(l.ms, 0.0), (l.ms, 1.0)],
                    3,
                    3,
                    GUIDE.stroke_width(2),
                ))
                .map_err(plot_err(&name))?;
            chart
                .draw_series(std::iter::once(Text::new(
                    l.label.clone(),
                    (l.ms, 0.03 + 0.05 * i as f64),
                    text_style(13, GUIDE, HPos::Right, VPos::Bottom),
                )))
                .map_err(plot_err(&name))?;
        }
        for (engine, xs) in &curves {
            let colour = ctx.colours.of(engine);
            let step = (xs.len() / 800).max(1);
            let n = xs.len() as f64;
            let pts = xs
                .iter()
                .enumerate()
                .filter(|(k, _)| k % step == 0 || *k == xs.len() - 1)
                .map(|(k, x)| (*x, (k + 1) as f64 / n));
            chart
                .draw_series(LineSeries::new(pts, colour.stroke_width(2)))
                .map_err(plot_err(&name))?
                .label(format!("{engine} (n={})", xs.len()))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .label_font((FONT, 14))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(plot_err(&name))?;
        root.present().map_err(plot_err(&name))?;
    }
    Ok(svg)
}

/// The percentile a tail-plot x value stands for: x = 1/(1-p).
fn percentile_label(x: f64) -> String {
    let p = 100.0 * (1.0 - 1.0 / x);
    let mut s = format!("{p:.4}");
    while s.ends_with('0') {
        s.pop();
    }
    if s.ends_with('.') {
        s.pop();
    }
    format!("{s}%")
}

/// Latency by percentile per engine for one mix on a percentile axis (x =
/// 1/(1-p), log scale, so 50 %, 90 %, 99 % and 99.9 % are evenly spaced), with
/// the p50/p90/p95/p99 estimates and their intervals from the summaries (hollow
/// where there is no interval), the p95 and p99 lines and the gate's latency limits.
pub fn tail(
    series: &[Series],
    summaries: &[Summary],
    mix: &str,
    ctx: &Context,
    limits: &[Limit],
) -> Result<String, HarnessError> {
    let name = format!("tail-{mix}.svg");
    let curves = latencies(series, mix, ctx.timing);
    let rows: Vec<&Summary> = summaries
        .iter()
        .filter(|s| s.mix == mix && s.timing == ctx.timing)
        .collect();
    let marks = |s: &Summary| [(0.5, s.p50), (0.9, s.p90), (0.95, s.p95), (0.99, s.p99)];
    let x_hi = curves.iter().map(|c| c.1.len() as f64).fold(100.0, f64::max) * 1.2;
    let (lo, hi) = log_range(
        curves
            .iter()
            .flat_map(|c| [c.1[0], c.1[c.1.len() - 1]])
            .chain(limits.iter().map(|l| l.ms))
            .chain(
                rows.iter()
                    .flat_map(|s| marks(s))
                    .filter_map(|(_, e)| e)
                    .flat_map(|e| [Some(e.value), e.ci.map(|c| c.0), e.ci.map(|c| c.1)])
                    .flatten(),
            ),
        1.15,
    );
    // The legend goes below the fastest high-percentile latency (tails rise).
    let (lo, hi) = reserve(lo, hi, -0.25);
    let (bold, light) = log_ticks(lo, hi);
    let x_ticks: Vec<f64> = [1.0, 2.0, 10.0, 20.0, 100.0, 1000.0, 10_000.0, 100_000.0, 1_000_000.0]
        .into_iter()
        .filter(|x| *x <= x_hi)
        .collect();
    let x_light: Vec<f64> = (0..7)
        .flat_map(|e| (2..10).map(move |m| f64::from(m) * 10f64.powi(e)))
        .filter(|x| *x <= x_hi && !x_ticks.contains(x))
        .collect();
    let mut svg = String::new();
    {
        let root = sheet(
            &mut svg,
            &name,
            &format!("Latency by percentile, mix {mix}"),
            &ctx.subtitle(),
        )?;
        let mut chart = frame(&root)
            .build_cartesian_2d(
                (1.0..x_hi)
                    .log_scale()
                    .with_key_points(x_ticks)
                    .with_light_points(x_light),
                (lo..hi).log_scale().with_key_points(bold).with_light_points(light),
            )
            .map_err(plot_err(&name))?;
        chart
            .configure_mesh()
            .x_label_formatter(&|x| percentile_label(*x))
            .y_label_formatter(&|v| tick_label(*v))
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 15))
            .x_desc("percentile (axis: 1/(1 - p), log scale)")
            .y_desc("latency (ms, log scale)")
            .draw()
            .map_err(plot_err(&name))?;
        for (x, label) in [(20.0, "p95"), (100.0, "p99")] {
            if x > x_hi {
                continue;
            }
            chart
                .draw_series(DashedLineSeries::new([(x, lo), (x, hi)], 6, 4, GUIDE.stroke_width(1)))
                .map_err(plot_err(&name))?;
            chart
                .draw_series(std::iter::once(Text::new(
                    label,
                    (x, hi),
                    text_style(13, GUIDE, HPos::Left, VPos::Top),
                )))
                .map_err(plot_err(&name))?;
        }
        for l in limits {
            chart
                .draw_series(DashedLineSeries::new(
                    [(1.0, l.ms), (x_hi, l.ms)],
                    3,
                    3,
                    GUIDE.stroke_width(2),
                ))
                .map_err(plot_err(&name))?;
            chart
                .draw_series(std::iter::once(Text::new(
                    l.label.clone(),
                    (1.0 / (1.0 - l.quantile) / 1.05, l.ms),
                    text_style(13, GUIDE, HPos::Right, VPos::Bottom),
                )))
                .map_err(plot_err(&name))?;
        }
        let engines = curves.len().max(1) as f64;
        for (i, (engine, xs)) in curves.iter().enumerate() {
            let colour = ctx.colours.of(engine);
            let n = xs.len();
            // About 600 points evenly spaced on the log percentile axis, the last request included.
            let mut ks: Vec<usize> = (0..600)
                .map(|j| {
                    let t = (n as f64).powf(f64::from(j) / 599.0);
                    ((n as f64 - n as f64 / t).floor() as usize).min(n - 1)
                })
                .collect();
            ks.push(n - 1);
            ks.dedup();
            let pts = ks.into_iter().map(|k| (n as f64 / (n - k) as f64, xs[k]));
            chart
                .draw_series(LineSeries::new(pts, colour.stroke_width(2)))
                .map_err(plot_err(&name))?
                .label(format!("{engine} (n={n})"))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2)));
            // The estimates, nudged apart so the engines' bars do not cover each other.
            let nudge = 1.0 + 0.06 * (i as f64 - (engines - 1.0) / 2.0);
            for s in rows.iter().filter(|s| &s.engine == engine) {
                for (p, e) in marks(s) {
                    let Some(e) = e else { continue };
                    let x = nudge / (1.0 - p);
                    match e.ci {
                        Some((l, h)) => {
                            chart
                                .draw_series([
                                    ErrorBar::new_vertical(x, l.max(lo), e.value, h.min(hi), colour.stroke_width(2), 8)
                                        .into_dyn(),
                                    Circle::new((x, e.value), 4, colour.filled()).into_dyn(),
                                ])
                                .map_err(plot_err(&name))?;
                        }
                        None => {
                            chart
                                .draw_series(std::iter::once(
                                    EmptyElement::at((x, e.value))
                                        + Circle::new((0, 0), 5, WHITE.filled())
                                        + Circle::new((0, 0), 5, colour.stroke_width(2)),
                                ))
                                .map_err(plot_err(&name))?;
                        }
                    }
                }
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .label_font((FONT, 14))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(plot_err(&name))?;
        root.present().map_err(plot_err(&name))?;
    }
    Ok(svg)
}

/// p99 by page-depth bucket per engine for one mix, with order-statistic
/// interval bars; a bucket too small for an interval is drawn as a hollow
/// point with its request count.
pub fn p99_by_depth(strata: &[Stratum], mix: &str, ctx: &Context) -> Result<String, HarnessError> {
    let name = format!("p99-by-depth-{mix}.svg");
    let buckets: Vec<&str> = DEPTH_BUCKETS.iter().map(|b| b.0).collect();
    let rows: Vec<&Stratum> = strata
        .iter()
        .filter(|s| s.mix == mix && s.dimension == "depth")
        .collect();
    let (lo, hi) = log_range(
        rows.iter()
            .filter_map(|s| s.p99)
            .flat_map(|e| [Some(e.value), e.ci.map(|c| c.0), e.ci.map(|c| c.1)])
            .flatten(),
        1.25,
    );
    // The legend goes above the highest bar.
    let (lo, hi) = reserve(lo, hi, 0.35);
    let (bold, light) = log_ticks(lo, hi);
    let engines: Vec<&str> = ctx
        .colours
        .engines()
        .filter(|e| rows.iter().any(|s| s.engine == *e))
        .collect();
    let mut svg = String::new();
    {
        let root = sheet(
            &mut svg,
            &name,
            &format!("p99 by page depth, mix {mix} (95 % order-statistic intervals)"),
            &format!("{}; hollow: too few requests for an interval (n shown)", ctx.subtitle()),
        )?;
        let mut chart = frame(&root)
            .build_cartesian_2d(
                -0.5..(buckets.len() as f64 - 0.5),
                (lo..hi).log_scale().with_key_points(bold).with_light_points(light),
            )
            .map_err(plot_err(&name))?;
        let labels = buckets.clone();
        chart
            .configure_mesh()
            .x_labels(buckets.len())
            .disable_x_mesh()
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() < 1e-6 && i >= 0.0 {
                    labels.get(i as usize).map_or(String::new(), |s| s.to_string())
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|v| tick_label(*v))
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 15))
            .x_desc("page-depth bucket (page number)")
            .y_desc("p99 latency (ms, log scale)")
            .draw()
            .map_err(plot_err(&name))?;
        let width = 0.6 / engines.len().max(1) as f64;
        for (i, engine) in engines.iter().enumerate() {
            let colour = ctx.colours.of(engine);
            let offset = -0.3 + width * (i as f64 + 0.5);
            let pts: Vec<(f64, &Stratum)> = rows
                .iter()
                .filter(|s| s.engine == *engine)
                .filter_map(|s| {
                    let b = buckets.iter().position(|b| *b == s.value)?;
                    s.p99.map(|_| (b as f64 + offset, *s))
                })
                .collect();
            chart
                .draw_series(pts.iter().filter_map(|(x, s)| {
                    let e = s.p99?;
                    let (l, h) = e.ci?;
                    Some(ErrorBar::new_vertical(
                        *x,
                        l.max(lo),
                        e.value,
                        h.min(hi),
                        colour.stroke_width(2),
                        8,
                    ))
                }))
                .map_err(plot_err(&name))?
                .label(engine.to_string())
                .legend(move |(x, y)| Circle::new((x + 8, y), 4, colour.filled()));
            for (x, s) in &pts {
                let Some(e) = s.p99 else { continue };
                if e.ci.is_some() {
                    chart
                        .draw_series(std::iter::once(Circle::new((*x, e.value), 4, colour.filled())))
                        .map_err(plot_err(&name))?;
                } else {
                    chart
                        .draw_series(std::iter::once(
                            EmptyElement::at((*x, e.value))
                                + Circle::new((0, 0), 5, WHITE.filled())
                                + Circle::new((0, 0), 5, colour.stroke_width(2))
                                + Text::new(
                                    format!("n={}", s.requests),
                                    (7, -4),
                                    text_style(12, colour, HPos::Left, VPos::Bottom),
                                ),
                        ))
                        .map_err(plot_err(&name))?;
                }
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .label_font((FONT, 14))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(plot_err(&name))?;
        root.present().map_err(plot_err(&name))?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_ticks_are_1_2_5_per_decade_and_at_least_three() {
        let (bold, light) = log_ticks(0.004, 60.0);
        let labels: Vec<String> = bold.iter().map(|v| tick_label(*v)).collect();
        assert_eq!(
            labels,
            ["0.005", "0.01", "0.02", "0.05", "0.1", "0.2", "0.5", "1", "2", "5", "10", "20", "50"]
        );
        assert!(light.iter().any(|v| (v - 0.03).abs() < 1e-12));
        // A narrow range (the depth plot's used to get one label) gets 1..9.
        let (bold, _) = log_ticks(16.0, 100.0);
        let labels: Vec<String> = bold.iter().map(|v| tick_label(*v)).collect();
        assert_eq!(labels, ["20", "30", "40", "50", "60", "70", "80", "90", "100"]);
        // A very wide one gets decades only.
        let (bold, _) = log_ticks(0.0001, 10_000.0);
        assert_eq!(bold.len(), 9);
    }

    #[test]
    fn percentile_axis_labels_read_as_percentiles() {
        let l: Vec<String> = [1.0, 2.0, 10.0, 20.0, 100.0, 1000.0]
            .into_iter()
            .map(percentile_label)
            .collect();
        assert_eq!(l, ["0%", "50%", "90%", "95%", "99%", "99.9%"]);
    }

    #[test]
    fn colours_follow_roles_and_order_not_names() {
        let c = Colours::new(&[
            ("zeta".into(), Role::Reference),
            ("baseline".into(), Role::Candidate),
            ("a".into(), Role::Yardstick),
            ("b".into(), Role::Candidate),
        ]);
        assert_eq!(c.hex("zeta"), "#000000");
        assert_eq!(c.hex("baseline"), "#0072b2");
        assert_eq!(c.hex("a"), "#888888");
        assert_eq!(c.hex("b"), "#d55e00");
    }
}
