//! `appends.csv` (with `append_rate` > 0): per engine, mix and timing, the
//! quiet figures, the figures with the live writer appending, and their
//! ratios (appending / quiet).

use crate::appends::AppendsInfo;
use crate::error::HarnessError;

/// The report as CSV, one row per engine, mix and timing.
pub fn to_csv(info: &AppendsInfo) -> Result<Vec<u8>, HarnessError> {
    render(info).map_err(|e| HarnessError::input(format!("appends.csv: {e}")))
}

fn render(info: &AppendsInfo) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "schema_version",
        "engine",
        "role",
        "mix",
        "timing",
        "rounds",
        "errors",
        "append_rate",
        "achieved_rate",
        "quiet_p50_ms",
        "quiet_p95_ms",
        "quiet_p99_ms",
        "quiet_rps",
        "appending_p50_ms",
        "appending_p95_ms",
        "appending_p99_ms",
        "appending_rps",
        "p50_ratio",
        "p95_ratio",
        "p99_ratio",
        "rps_ratio",
    ])?;
    let num = |v: Option<f64>| v.map(|x| format!("{x:.6}")).unwrap_or_default();
    for f in &info.figures {
        let mut r = vec![
            super::SCHEMA_VERSION.to_string(),
            f.engine.clone(),
            f.role.label().to_string(),
            f.mix.clone(),
            f.timing.label().to_string(),
            f.rounds.to_string(),
            f.errors.to_string(),
            format!("{}", info.append_rate),
            format!("{:.3}", info.writer.achieved_rate),
        ];
        for fig in [&f.quiet, &f.appending] {
            r.extend([num(fig.p50_ms), num(fig.p95_ms), num(fig.p99_ms), num(fig.rps)]);
        }
        r.extend([num(f.p50_ratio), num(f.p95_ratio), num(f.p99_ratio), num(f.rps_ratio)]);
        w.write_record(&r)?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}
