//! SVG plots (plotters): the latency CDF of every engine on a log axis, and
//! p99 by page-depth bucket with its interval as error bars. One file each per mix.

use plotters::prelude::*;

use crate::analysis::{Stratum, Timing, DEPTH_BUCKETS};
use crate::bench::Series;
use crate::error::HarnessError;

const SIZE: (u32, u32) = (900, 540);

/// x, p99 and its interval.
type Point = (f64, f64, Option<(f64, f64)>);

fn plot_err<E: std::fmt::Display>(name: &str) -> impl Fn(E) -> HarnessError + '_ {
    move |e| HarnessError::input(format!("{name}: cannot draw the plot: {e}"))
}

/// Latency CDF per engine for one mix under `timing` (milliseconds, x on a log axis).
pub fn cdf(series: &[Series], mix: &str, timing: Timing) -> Result<String, HarnessError> {
    let name = format!("cdf-{mix}.svg");
    let curves: Vec<(String, Vec<f64>)> = series
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
        .collect();
    let lo = curves.iter().map(|c| c.1[0]).fold(f64::INFINITY, f64::min);
    let hi = curves.iter().map(|c| c.1[c.1.len() - 1]).fold(0.0, f64::max);
    let (lo, hi) = if lo.is_finite() && hi > lo {
        (lo * 0.9, hi * 1.1)
    } else {
        (0.001, 1.0)
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err(&name))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(format!("Latency CDF, mix {mix}"), ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d((lo..hi).log_scale(), 0.0..1.0)
            .map_err(plot_err(&name))?;
        chart
            .configure_mesh()
            .x_desc("latency (ms, log scale)")
            .y_desc("fraction of requests")
            .draw()
            .map_err(plot_err(&name))?;
        for (i, (engine, xs)) in curves.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            let step = (xs.len() / 800).max(1);
            let n = xs.len() as f64;
            let pts = xs
                .iter()
                .enumerate()
                .filter(|(k, _)| k % step == 0 || *k == xs.len() - 1)
                .map(|(k, x)| (*x, (k + 1) as f64 / n));
            chart
                .draw_series(LineSeries::new(pts, color.stroke_width(2)))
                .map_err(plot_err(&name))?
                .label(engine.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(plot_err(&name))?;
        root.present().map_err(plot_err(&name))?;
    }
    Ok(svg)
}

/// p99 by page-depth bucket per engine for one mix, with order-statistic interval bars
/// (buckets too small for an interval are drawn as a point without a bar).
pub fn p99_by_depth(strata: &[Stratum], engines: &[String], mix: &str) -> Result<String, HarnessError> {
    let name = format!("p99-by-depth-{mix}.svg");
    let buckets: Vec<&str> = DEPTH_BUCKETS.iter().map(|b| b.0).collect();
    let rows: Vec<&Stratum> = strata
        .iter()
        .filter(|s| s.mix == mix && s.dimension == "depth")
        .collect();
    let vals = rows
        .iter()
        .filter_map(|s| s.p99)
        .flat_map(|e| [Some(e.value), e.ci.map(|c| c.0), e.ci.map(|c| c.1)])
        .flatten()
        .filter(|v| *v > 0.0);
    let (lo, hi) = vals.fold((f64::INFINITY, 0.0f64), |(a, b), v| (a.min(v), b.max(v)));
    let (lo, hi) = if lo.is_finite() && hi > lo {
        (lo * 0.8, hi * 1.25)
    } else {
        (0.001, 1.0)
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err(&name))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("p99 by page depth, mix {mix} (95 % intervals)"),
                ("sans-serif", 20),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(-0.5..(buckets.len() as f64 - 0.5), (lo..hi).log_scale())
            .map_err(plot_err(&name))?;
        let labels = buckets.clone();
        chart
            .configure_mesh()
            .x_labels(buckets.len())
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() < 1e-6 && i >= 0.0 {
                    labels.get(i as usize).map_or(String::new(), |s| s.to_string())
                } else {
                    String::new()
                }
            })
            .x_desc("page-depth bucket (page number)")
            .y_desc("p99 latency (ms, log scale)")
            .draw()
            .map_err(plot_err(&name))?;
        let width = 0.6 / engines.len().max(1) as f64;
        for (i, engine) in engines.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            let offset = -0.3 + width * (i as f64 + 0.5);
            let pts: Vec<Point> = rows
                .iter()
                .filter(|s| &s.engine == engine)
                .filter_map(|s| {
                    let b = buckets.iter().position(|b| *b == s.value)?;
                    let e = s.p99?;
                    Some((b as f64 + offset, e.value, e.ci))
                })
                .collect();
            chart
                .draw_series(pts.iter().map(|(x, y, _)| Circle::new((*x, *y), 4, color.filled())))
                .map_err(plot_err(&name))?
                .label(engine.clone())
                .legend(move |(x, y)| Circle::new((x + 8, y), 4, color.filled()));
            chart
                .draw_series(pts.iter().filter_map(|(x, y, ci)| {
                    ci.map(|(l, h)| ErrorBar::new_vertical(*x, l, *y, h, color.stroke_width(1), 8))
                }))
                .map_err(plot_err(&name))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(plot_err(&name))?;
        root.present().map_err(plot_err(&name))?;
    }
    Ok(svg)
}
