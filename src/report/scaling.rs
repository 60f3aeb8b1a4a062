//! `scaling.csv`, `scaling-fit.csv` and `scaling.svg` (`audit-harness sweep`):
//! each engine's figures against the dataset's size, and the fitted growth
//! exponent of each figure (`stats::growth`).

use plotters::prelude::*;

use audit_engines::Role;

use crate::analysis::Summary;
use crate::error::HarnessError;
use crate::stats::growth::{self, Exponent};
use crate::stats::Estimate;

use super::{cell, csv_err, finish_csv};

/// Layout version of the scaling files (they are new: 1).
pub const SCALING_SCHEMA: u32 = 1;

/// One engine on one mix at one size.
#[derive(Debug, Clone)]
pub struct ScalingRow {
    pub engine: String,
    pub role: Role,
    pub mix: String,
    pub rows: u64,
    /// Rounds run, measured requests per engine per round, and in all.
    pub rounds: usize,
    pub requests_per_round: u64,
    pub requests: usize,
    pub errors: usize,
    pub p50: Option<Estimate>,
    pub p95: Option<Estimate>,
    pub p99: Option<Estimate>,
    pub rps: Option<Estimate>,
    /// Seconds the engine took to open the dataset (build its index).
    pub open_seconds: Option<f64>,
    pub index_bytes: Option<u64>,
    /// Why the engine did not run at this size (empty when it ran).
    pub cut: Option<String>,
}

impl ScalingRow {
    /// The row of an engine that ran at this size: its summary on one mix,
    /// with how long it took to open the dataset and how large its index is.
    pub fn measured(
        s: &Summary,
        rows: u64,
        requests_per_round: u64,
        open_seconds: Option<f64>,
        index_bytes: Option<u64>,
    ) -> ScalingRow {
        ScalingRow {
            engine: s.engine.clone(),
            role: s.role,
            mix: s.mix.clone(),
            rows,
            rounds: s.rounds,
            requests_per_round,
            requests: s.requests,
            errors: s.errors,
            p50: s.p50,
            p95: s.p95,
            p99: s.p99,
            rps: s.rps,
            open_seconds,
            index_bytes,
            cut: None,
        }
    }

    /// The row of an engine cut at this size, and why ([`cut_reason`]).
    pub fn cut(engine: &str, role: Role, mix: &str, rows: u64, open_seconds: Option<f64>, why: &str) -> ScalingRow {
        ScalingRow {
            engine: engine.to_string(),
            role,
            mix: mix.to_string(),
            rows,
            rounds: 0,
            requests_per_round: 0,
            requests: 0,
            errors: 0,
            p50: None,
            p95: None,
            p99: None,
            rps: None,
            open_seconds,
            index_bytes: None,
            cut: Some(why.to_string()),
        }
    }
}

/// Why an engine was cut at a size: its probed cost per request would not
/// let its slices fit the time a round may take.
pub fn cut_reason(probed: &crate::bench::fit::Cost, round_budget: f64) -> String {
    format!(
        "cut: {:.3} s per request (probed); its slices would not fit the {:.1} s a round may take",
        probed.seconds_per_request, round_budget
    )
}

/// A figure an exponent is fitted for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Figure {
    P50,
    P95,
    P99,
    Rps,
    OpenSeconds,
    IndexBytes,
}

impl Figure {
    /// Every figure, in the order of scaling-fit.csv.
    pub const ALL: [Figure; 6] = [
        Figure::P50,
        Figure::P95,
        Figure::P99,
        Figure::Rps,
        Figure::OpenSeconds,
        Figure::IndexBytes,
    ];

    /// The name scaling-fit.csv and the terminal give it.
    pub fn label(self) -> &'static str {
        match self {
            Figure::P50 => "p50_ms",
            Figure::P95 => "p95_ms",
            Figure::P99 => "p99_ms",
            Figure::Rps => "rps",
            Figure::OpenSeconds => "open_s",
            Figure::IndexBytes => "index_bytes",
        }
    }

    /// Its value in `r`, where `r` has one.
    fn of(self, r: &ScalingRow) -> Option<f64> {
        let v = |e: Option<Estimate>| e.map(|e| e.value);
        match self {
            Figure::P50 => v(r.p50),
            Figure::P95 => v(r.p95),
            Figure::P99 => v(r.p99),
            Figure::Rps => v(r.rps),
            Figure::OpenSeconds => r.open_seconds,
            Figure::IndexBytes => r.index_bytes.map(|b| b as f64),
        }
    }
}

/// One fitted exponent: engine, mix, figure.
#[derive(Debug, Clone)]
pub struct FitRow {
    pub engine: String,
    pub mix: String,
    pub figure: Figure,
    pub exponent: Option<Exponent>,
}

/// Engines and mixes in first-seen order.
fn keys(rows: &[ScalingRow]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for r in rows {
        let k = (r.engine.clone(), r.mix.clone());
        if !out.contains(&k) {
            out.push(k);
        }
    }
    out
}

/// The exponent of every figure per engine and mix, over the sizes it ran at.
pub fn fits(rows: &[ScalingRow]) -> Vec<FitRow> {
    let mut out = Vec::new();
    for (engine, mix) in keys(rows) {
        let mine: Vec<&ScalingRow> = rows
            .iter()
            .filter(|r| r.engine == engine && r.mix == mix && r.cut.is_none())
            .collect();
        for f in Figure::ALL {
            let pts: Vec<(f64, f64)> = mine
                .iter()
                .filter_map(|r| f.of(r).map(|y| (r.rows as f64, y)))
                .collect();
            out.push(FitRow {
                engine: engine.clone(),
                mix: mix.clone(),
                figure: f,
                exponent: growth::exponent(&pts),
            });
        }
    }
    out
}

#[rustfmt::skip]
pub const COLUMNS: &[&str] = &[
    "schema_version", "engine", "role", "mix", "rows", "rounds", "requests_per_round", "requests", "errors",
    "p50_ms", "p50_ci_low", "p50_ci_high", "p95_ms", "p95_ci_low", "p95_ci_high",
    "p99_ms", "p99_ci_low", "p99_ci_high", "rps", "rps_ci_low", "rps_ci_high",
    "open_s", "index_bytes", "index_bytes_per_row", "cut",
];

fn est(e: Option<Estimate>, digits: usize) -> [String; 3] {
    [
        cell(e.map(|e| e.value), digits),
        cell(e.and_then(|e| e.ci).map(|c| c.0), digits),
        cell(e.and_then(|e| e.ci).map(|c| c.1), digits),
    ]
}

/// `scaling.csv`: one row per engine, mix and size.
pub fn to_csv(rows: &[ScalingRow]) -> Result<Vec<u8>, HarnessError> {
    let name = "scaling.csv";
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(COLUMNS).map_err(csv_err(name))?;
    for s in rows {
        let mut r: Vec<String> = vec![
            SCALING_SCHEMA.to_string(),
            s.engine.clone(),
            s.role.label().to_string(),
            s.mix.clone(),
            s.rows.to_string(),
            s.rounds.to_string(),
            s.requests_per_round.to_string(),
            s.requests.to_string(),
            s.errors.to_string(),
        ];
        for q in [s.p50, s.p95, s.p99] {
            r.extend(est(q, 6));
        }
        r.extend(est(s.rps, 1));
        r.push(cell(s.open_seconds, 3));
        r.push(s.index_bytes.map(|b| b.to_string()).unwrap_or_default());
        r.push(cell(s.index_bytes.map(|b| b as f64 / s.rows.max(1) as f64), 1));
        r.push(s.cut.clone().unwrap_or_default());
        debug_assert_eq!(r.len(), COLUMNS.len());
        w.write_record(&r).map_err(csv_err(name))?;
    }
    finish_csv(w, name)
}

#[rustfmt::skip]
pub const FIT_COLUMNS: &[&str] = &[
    "schema_version", "engine", "mix", "figure", "sizes", "exponent", "ci_low", "ci_high",
];

/// `scaling-fit.csv`: one row per engine, mix and figure.
pub fn fits_to_csv(fits: &[FitRow]) -> Result<Vec<u8>, HarnessError> {
    let name = "scaling-fit.csv";
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(FIT_COLUMNS).map_err(csv_err(name))?;
    for f in fits {
        let e = f.exponent;
        let r = [
            SCALING_SCHEMA.to_string(),
            f.engine.clone(),
            f.mix.clone(),
            f.figure.label().to_string(),
            e.map_or(0, |e| e.points).to_string(),
            cell(e.map(|e| e.slope), 4),
            cell(e.and_then(|e| e.ci).map(|c| c.0), 4),
            cell(e.and_then(|e| e.ci).map(|c| c.1), 4),
        ];
        w.write_record(&r).map_err(csv_err(name))?;
    }
    finish_csv(w, name)
}

/// `scaling.svg`: one row of panels per mix (p50, p95, p99, throughput against
/// rows, both axes logarithmic), a line per engine, the legend with each
/// engine's fitted exponent.
pub fn plot(rows: &[ScalingRow], fits: &[FitRow]) -> Result<String, HarnessError> {
    let name = "scaling.svg";
    let err = |e: &dyn std::fmt::Display| HarnessError::input(format!("{name}: cannot draw the plot: {e}"));
    let mut mixes: Vec<&str> = Vec::new();
    let mut engines: Vec<&str> = Vec::new();
    for r in rows {
        if !mixes.contains(&r.mix.as_str()) {
            mixes.push(&r.mix);
        }
        if !engines.contains(&r.engine.as_str()) {
            engines.push(&r.engine);
        }
    }
    let panels = [Figure::P50, Figure::P95, Figure::P99, Figure::Rps];
    let (xlo, xhi) = rows
        .iter()
        .map(|r| r.rows as f64)
        .fold((f64::INFINITY, 0.0f64), |(a, b), v| (a.min(v), b.max(v)));
    let (xlo, xhi) = if xlo.is_finite() && xhi > xlo {
        (xlo / 1.5, xhi * 1.5)
    } else {
        (xlo.max(1.0) / 2.0, xlo.max(1.0) * 2.0)
    };
    let mut svg = String::new();
    {
        let size = (360 * panels.len() as u32, 320 * mixes.len().max(1) as u32);
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let areas = root.split_evenly((mixes.len().max(1), panels.len()));
        for (i, area) in areas.iter().enumerate() {
            let Some(mix) = mixes.get(i / panels.len()) else {
                continue;
            };
            let fig = panels[i % panels.len()];
            let vals: Vec<f64> = rows
                .iter()
                .filter(|r| r.mix == *mix)
                .filter_map(|r| fig.of(r))
                .filter(|v| *v > 0.0)
                .collect();
            let (lo, hi) = vals
                .iter()
                .fold((f64::INFINITY, 0.0f64), |(a, b), v| (a.min(*v), b.max(*v)));
            let (lo, hi) = if lo.is_finite() && hi > lo {
                (lo / 1.5, hi * 1.5)
            } else if lo.is_finite() {
                (lo / 2.0, lo * 2.0)
            } else {
                (0.001, 1.0)
            };
            let mut chart = ChartBuilder::on(area)
                .caption(format!("{}, mix {mix}", fig.label()), ("sans-serif", 16))
                .margin(8)
                .x_label_area_size(34)
                .y_label_area_size(56)
                .build_cartesian_2d((xlo..xhi).log_scale(), (lo..hi).log_scale())
                .map_err(|e| err(&e))?;
            chart
                .configure_mesh()
                .x_desc("rows (log)")
                .y_desc(if fig == Figure::Rps {
                    "requests/s (log)"
                } else {
                    "ms (log)"
                })
                .x_label_formatter(&|x| format!("{x:.0e}"))
                .draw()
                .map_err(|e| err(&e))?;
            for (k, engine) in engines.iter().enumerate() {
                let color = Palette99::pick(k).to_rgba();
                let pts: Vec<(f64, f64)> = rows
                    .iter()
                    .filter(|r| r.mix == *mix && r.engine == *engine && r.cut.is_none())
                    .filter_map(|r| fig.of(r).filter(|v| *v > 0.0).map(|v| (r.rows as f64, v)))
                    .collect();
                if pts.is_empty() {
                    continue;
                }
                let slope = fits
                    .iter()
                    .find(|f| f.engine == *engine && f.mix == *mix && f.figure == fig)
                    .and_then(|f| f.exponent)
                    .map_or(String::new(), |e| format!(" b={:.2}", e.slope));
                chart
                    .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
                    .map_err(|e| err(&e))?
                    .label(format!("{engine}{slope}"))
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 14, y)], color.stroke_width(2)));
                chart
                    .draw_series(pts.iter().map(|p| Circle::new(*p, 3, color.filled())))
                    .map_err(|e| err(&e))?;
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .label_font(("sans-serif", 11))
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()
                .map_err(|e| err(&e))?;
        }
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(engine: &str, rows: u64, p99: f64, cut: bool) -> ScalingRow {
        let e = |v: f64| {
            Some(Estimate {
                value: v,
                ci: None,
                spread: None,
            })
        };
        ScalingRow {
            engine: engine.into(),
            role: Role::Candidate,
            mix: "m".into(),
            rows,
            rounds: 3,
            requests_per_round: 10,
            requests: 30,
            errors: 0,
            p50: e(p99 / 2.0),
            p95: e(p99 / 1.5),
            p99: if cut { None } else { e(p99) },
            rps: e(1000.0 / p99),
            open_seconds: Some(rows as f64 * 1e-6),
            index_bytes: Some(rows * 90),
            cut: cut.then(|| "too slow".to_string()),
        }
    }

    #[test]
    fn exponents_per_engine_and_figure_skip_cut_sizes() {
        let rows = vec![
            row("lin", 1000, 1.0, false),
            row("lin", 10_000, 10.0, false),
            row("lin", 100_000, 100.0, false),
            row("flat", 1000, 2.0, false),
            row("flat", 10_000, 2.0, false),
            row("flat", 100_000, 999.0, true),
        ];
        let f = fits(&rows);
        let get = |e: &str, fig: Figure| f.iter().find(|r| r.engine == e && r.figure == fig).unwrap().exponent;
        assert!((get("lin", Figure::P99).unwrap().slope - 1.0).abs() < 1e-9);
        assert!((get("lin", Figure::Rps).unwrap().slope + 1.0).abs() < 1e-9);
        assert!((get("lin", Figure::IndexBytes).unwrap().slope - 1.0).abs() < 1e-9);
        let flat = get("flat", Figure::P99).unwrap();
        assert_eq!(flat.points, 2);
        assert!(flat.slope.abs() < 1e-9 && flat.ci.is_none());
        let csv = String::from_utf8(to_csv(&rows).unwrap()).unwrap();
        assert!(csv.lines().last().unwrap().ends_with("too slow"));
        assert_eq!(csv.lines().count(), rows.len() + 1);
        let fit_csv = String::from_utf8(fits_to_csv(&f).unwrap()).unwrap();
        assert!(fit_csv.contains("lin,m,p99_ms,3,1.0000,1.0000,1.0000"), "{fit_csv}");
        let svg = plot(&rows, &f).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("lin b=1.00"));
    }
}
