//! `audit-harness verify`: the dataset is the contract's and the baseline is untouched.

use std::path::Path;

use crate::error::HarnessError;
use crate::spec::Spec;
use crate::stages;

pub fn run(spec: &Spec, dir: &Path) -> Result<(), HarnessError> {
    stages::integrity_stage(spec, dir, None)
}
