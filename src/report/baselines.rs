//! Saved baselines, criterion-style: `bench --save-baseline NAME` keeps a copy
//! of a finished run's report directory as `<reports_dir>/baselines/NAME/`,
//! and `bench --baseline NAME` compares a new run with it (as `compare` does).
//! A copy, not a link: the run directory may be deleted, the baseline stays.

use std::path::{Path, PathBuf};

use crate::error::HarnessError;

/// The directory that holds the saved baselines.
pub fn root(reports_dir: &Path) -> PathBuf {
    reports_dir.join("baselines")
}

/// The saved baseline `name`, or one line saying which ones exist.
pub fn find(reports_dir: &Path, name: &str) -> Result<PathBuf, HarnessError> {
    let dir = root(reports_dir).join(name);
    if dir.join("latencies.csv").is_file() && dir.join("run.json").is_file() {
        return Ok(dir);
    }
    let saved = list(reports_dir);
    Err(HarnessError::input(format!(
        "--baseline {name}: no saved baseline of that name in {}; saved: {} (save one with bench --save-baseline NAME)",
        root(reports_dir).display(),
        if saved.is_empty() {
            "none".to_string()
        } else {
            saved.join(", ")
        }
    )))
}

/// The names of the saved baselines, sorted.
pub fn list(reports_dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root(reports_dir))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join("run.json").is_file())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    names
}

/// Copies the run's files into `<reports_dir>/baselines/name`, replacing an
/// older baseline of that name only once the copy is whole.
pub fn save(reports_dir: &Path, name: &str, run_dir: &Path) -> Result<PathBuf, HarnessError> {
    let root = root(reports_dir);
    std::fs::create_dir_all(&root).map_err(|e| HarnessError::io(&root, e))?;
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}-"))
        .tempdir_in(&root)
        .map_err(|e| HarnessError::io(&root, e))?;
    let entries = std::fs::read_dir(run_dir).map_err(|e| HarnessError::io(run_dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| HarnessError::io(run_dir, e))?;
        let from = entry.path();
        if from.is_file() {
            std::fs::copy(&from, tmp.path().join(entry.file_name())).map_err(|e| HarnessError::io(&from, e))?;
        }
    }
    let dest = root.join(name);
    let copy = tmp.keep();
    if let Err(e) = crate::fsutil::replace_dir(&copy, &dest) {
        let _ = std::fs::remove_dir_all(&copy);
        return Err(e);
    }
    Ok(dest)
}
