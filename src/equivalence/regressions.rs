//! The regressions file: every mismatch a run finds is saved (one JSON
//! object per line) and replayed first by every later run, as proptest does.

use std::io::Write;
use std::path::Path;

use audit_engines::Query;
use serde::{Deserialize, Serialize};

use super::cases::SmallRow;
use super::{Report, Status};
use crate::error::HarnessError;

/// One saved counterexample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Saved {
    pub engine: String,
    pub property: String,
    pub seed: u64,
    pub query: Query,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset: Option<Vec<SmallRow>>,
    pub detail: String,
}

/// Reads the file; a missing file is an empty list, an unreadable or malformed one an input error.
pub fn load(path: &Path) -> Result<Vec<Saved>, HarnessError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(HarnessError::input(format!("regressions file {}: {e}", path.display()))),
    };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| {
                HarnessError::input(format!(
                    "regressions file {}:{}: not a saved counterexample: {e}",
                    path.display(),
                    i + 1
                ))
            })
        })
        .collect()
}

/// Appends the report's new counterexamples (mismatches that failed or warned) to the file.
pub fn save_new(path: &Path, report: &Report) -> Result<(), HarnessError> {
    let known = load(path)?;
    let mut new: Vec<Saved> = Vec::new();
    for r in &report.results {
        // A live_appends failure is a history, not a query: its replay line reproduces it.
        if r.status == Status::Pass || matches!(r.property, super::Property::Regressions | super::Property::LiveAppends)
        {
            continue;
        }
        let Some(c) = &r.counterexample else { continue };
        // Only genuine divergences are regressions: a hang, a broken process
        // or an engine that cannot open the dataset says nothing about the query.
        if c.kind != super::outcome::FailureKind::Mismatch {
            continue;
        }
        let s = Saved {
            engine: r.engine.clone(),
            property: r.property.name().to_string(),
            seed: r.seed,
            query: c.query.clone(),
            dataset: c.dataset.clone(),
            detail: c.detail.clone(),
        };
        let dup = |k: &Saved| k.query == s.query && k.dataset == s.dataset;
        if !known.iter().any(dup) && !new.iter().any(dup) {
            new.push(s);
        }
    }
    if new.is_empty() {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| HarnessError::io(parent, e))?;
    }
    let mut text = String::new();
    for s in &new {
        text.push_str(&serde_json::to_string(s).expect("a saved case serialises"));
        text.push('\n');
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| HarnessError::io(path, e))?;
    f.write_all(text.as_bytes()).map_err(|e| HarnessError::io(path, e))
}
