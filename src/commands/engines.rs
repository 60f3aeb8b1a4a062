//! `audit-harness engines`: every engine, one line each, with its role; with
//! `--check`, each one started on the dataset and asked one query, so that a
//! misspelled module path or a server that never answers shows before a run.

use std::path::Path;

use crate::cancel::Cancel;
use crate::cli::EnginesArgs;
use crate::error::HarnessError;
use crate::spec::Spec;
use crate::{output, registry};

pub fn run(spec: &Spec, data_dir: &Path, args: &EnginesArgs, cancel: &Cancel) -> Result<(), HarnessError> {
    let list = registry::list(spec);
    if !args.check {
        output::dataset::print_engines(&list);
        return Ok(());
    }
    // A name the spec uses that is no engine (`reference = "prdo"`) first.
    registry::validate(spec)?;
    crate::dataset::preflight(data_dir)?;
    let checks: Vec<registry::StartCheck> = list
        .iter()
        .map(|(name, _)| registry::check_starts(spec, name, data_dir, cancel))
        .collect();
    output::dataset::print_start_checks(&checks);
    let failed: Vec<&str> = checks
        .iter()
        .filter(|c| c.outcome.is_err())
        .map(|c| c.name.as_str())
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(HarnessError::input(format!(
            "{} of {} engines did not start or answer: {} (the lines above say why)",
            failed.len(),
            checks.len(),
            failed.join(", ")
        )))
    }
}
