//! `summary.csv`: one row per engine, mix and timing (closed loop; open loop
//! from intended starts and as service time).

use crate::analysis::Summary;
use crate::error::HarnessError;
use crate::stats::Estimate;
use crate::verdict::Cell;

use super::{cell, csv_err, finish_csv, SCHEMA_VERSION};

/// The columns, in order: the list, then the additions documented in reports/README.md.
#[rustfmt::skip]
pub const COLUMNS: &[&str] = &[
    "schema_version", "engine", "mix", "mode", "concurrency", "rounds", "requests",
    "rps", "rps_ci_low", "rps_ci_high", "mean_ms",
    "p50_ms", "p50_ci_low", "p50_ci_high", "p90_ms", "p90_ci_low", "p90_ci_high",
    "p95_ms", "p95_ci_low", "p95_ci_high", "p99_ms", "p99_ci_low", "p99_ci_high",
    "rps_ratio", "rps_ratio_ci_low", "rps_ratio_ci_high",
    "p95_ratio", "p95_ratio_ci_low", "p95_ratio_ci_high",
    "p99_ratio", "p99_ratio_ci_low", "p99_ratio_ci_high",
    "floor_p95_ratio", "index_bytes", "verdict",
    "mean_ci_low", "mean_ci_high", "errors", "late", "saturated",
];

fn est(e: Option<Estimate>, digits: usize) -> [String; 3] {
    [
        cell(e.map(|e| e.value), digits),
        cell(e.and_then(|e| e.ci).map(|c| c.0), digits),
        cell(e.and_then(|e| e.ci).map(|c| c.1), digits),
    ]
}

/// The CSV bytes for these rows; `verdicts[i]` is row i's verdict column.
pub fn to_csv(rows: &[Summary], verdicts: &[Cell]) -> Result<Vec<u8>, HarnessError> {
    let name = "summary.csv";
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(COLUMNS).map_err(csv_err(name))?;
    for (s, verdict) in rows.iter().zip(verdicts) {
        let mut r: Vec<String> = vec![
            SCHEMA_VERSION.to_string(),
            s.engine.clone(),
            s.mix.clone(),
            s.timing.label().to_string(),
            s.concurrency.to_string(),
            s.rounds.to_string(),
            s.requests.to_string(),
        ];
        r.extend(est(s.rps, 1));
        let m = est(s.mean_ms, 6);
        r.push(m[0].clone());
        for q in [s.p50, s.p90, s.p95, s.p99] {
            r.extend(est(q, 6));
        }
        for q in [s.rps_ratio, s.p95_ratio, s.p99_ratio] {
            r.extend(est(q, 6));
        }
        r.push(cell(s.floor_p95_ratio, 6));
        r.push(s.index_bytes.map(|b| b.to_string()).unwrap_or_default());
        r.push(verdict.label());
        r.push(m[1].clone());
        r.push(m[2].clone());
        r.push(s.errors.to_string());
        r.push(s.late.to_string());
        r.push(s.saturated.to_string());
        debug_assert_eq!(r.len(), COLUMNS.len());
        w.write_record(&r).map_err(csv_err(name))?;
    }
    finish_csv(w, name)
}
