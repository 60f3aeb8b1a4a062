//! `audit-harness adopt DIR`: a dataset made elsewhere, checked and given its manifest.

use std::path::Path;

use crate::error::HarnessError;
use crate::{dataset, output};

pub fn run(dir: &Path) -> Result<(), HarnessError> {
    let m = dataset::adopt::adopt(dir)?;
    output::dataset::print_adopted(dir, &m);
    Ok(())
}
