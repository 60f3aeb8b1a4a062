//! `strata.csv`: the quantiles per stratum (empty or non-empty page, filter
//! kind, page-depth bucket) for every engine and mix.

use crate::analysis::Stratum;
use crate::error::HarnessError;

use super::{cell, csv_err, finish_csv, SCHEMA_VERSION};

#[rustfmt::skip]
pub const COLUMNS: &[&str] = &[
    "schema_version", "engine", "mix", "mode", "stratum", "value", "requests", "mean_ms",
    "p50_ms", "p50_ci_low", "p50_ci_high", "p90_ms", "p90_ci_low", "p90_ci_high",
    "p95_ms", "p95_ci_low", "p95_ci_high", "p99_ms", "p99_ci_low", "p99_ci_high",
];

pub fn to_csv(rows: &[Stratum]) -> Result<Vec<u8>, HarnessError> {
    let name = "strata.csv";
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(COLUMNS).map_err(csv_err(name))?;
    for s in rows {
        let mut r = vec![
            SCHEMA_VERSION.to_string(),
            s.engine.clone(),
            s.mix.clone(),
            s.timing.label().to_string(),
            s.dimension.to_string(),
            s.value.clone(),
            s.requests.to_string(),
            cell(Some(s.mean_ms), 6),
        ];
        for q in [s.p50, s.p90, s.p95, s.p99] {
            r.push(cell(q.map(|e| e.value), 6));
            r.push(cell(q.and_then(|e| e.ci).map(|c| c.0), 6));
            r.push(cell(q.and_then(|e| e.ci).map(|c| c.1), 6));
        }
        w.write_record(&r).map_err(csv_err(name))?;
    }
    finish_csv(w, name)
}
