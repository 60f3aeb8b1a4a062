//! The acceptance gate (`audit-harness gate`, run by `./run_tests`): each stage
//! in order, stopping at the first that fails.

use std::path::Path;

use crate::error::HarnessError;
use crate::integrity::{self, Check};
use crate::spec::Spec;

/// Runs the gate's stages on the dataset in `dir`.
pub fn run(spec: &Spec, dir: &Path) -> Result<(), HarnessError> {
    println!("== integrity: {} ({})", dir.display(), spec.path.display());
    let checks = integrity::verify(spec, dir)?;
    print_checks(&checks);
    integrity::judge(&checks)?;
    println!("gate: PASS (integrity)");
    Ok(())
}

/// One line per check: `ok`/`FAIL`, its name and what it found.
pub fn print_checks(checks: &[Check]) {
    for c in checks {
        println!(
            "  {:<4} {:<19} {}",
            if c.ok { "ok" } else { "FAIL" },
            c.name,
            c.detail
        );
    }
}
