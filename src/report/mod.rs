//! A run's report directory, `reports/<run-id>/`: every file written whole
//! by `run_dir.rs`, `run.json` first with `complete: false`, and
//! `reports/latest` pointing at the newest run. One file per format below.

pub mod appends;
pub mod baselines;
pub mod equivalence;
pub mod html;
pub mod journal;
pub mod latencies;
pub mod markdown;
pub mod plots;
pub mod reanalyze;
pub mod run;
pub mod run_dir;
pub mod run_json;
pub mod scaling;
pub mod strata;
pub mod summary;
pub mod summary_json;

use crate::error::HarnessError;

pub use run_dir::{Files, RunDir};

/// The `schema_version` column of every CSV file (bump on any column change).
pub const SCHEMA_VERSION: u32 = 3;

/// `x` with `digits` decimals, or empty for `None` (CSV cells).
pub(crate) fn cell(x: Option<f64>, digits: usize) -> String {
    match x {
        Some(v) if v.is_finite() => format!("{v:.digits$}"),
        _ => String::new(),
    }
}

/// Turns a CSV writer's buffer into bytes, naming the file on error.
pub(crate) fn finish_csv(w: csv::Writer<Vec<u8>>, name: &str) -> Result<Vec<u8>, HarnessError> {
    w.into_inner().map_err(|e| HarnessError::input(format!("{name}: {e}")))
}

/// A CSV write error, naming the file.
pub(crate) fn csv_err(name: &str) -> impl Fn(csv::Error) -> HarnessError + '_ {
    move |e| HarnessError::input(format!("{name}: {e}"))
}
