//! All terminal text: each stage returns plain data and these modules turn it
//! into lines (hyperfine's `src/output/` is the model). One file per stage.

pub mod bench;
pub mod calibrate;
pub mod dataset;
pub mod equivalence;
pub mod process;
pub mod run;
pub mod verdict;

use crate::stats::Estimate;

/// An estimate with its interval, `digits` decimals (`-` without data).
pub(crate) fn est(e: Option<Estimate>, digits: usize) -> String {
    match e {
        Some(Estimate {
            value,
            ci: Some((lo, hi)),
            ..
        }) => format!("{value:.digits$} [{lo:.digits$}, {hi:.digits$}]"),
        Some(Estimate { value, ci: None, .. }) => format!("{value:.digits$} [no interval]"),
        None => "-".into(),
    }
}
