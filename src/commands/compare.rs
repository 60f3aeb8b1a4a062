//! `audit-harness compare RUN_A RUN_B`: each engine's figures from run A to
//! run B, with intervals; exit 1 when a regression beyond the noise threshold
//! is clear of its interval.

use crate::cli::CompareArgs;
use crate::error::HarnessError;
use crate::stages;

pub fn run(args: &CompareArgs) -> Result<(), HarnessError> {
    stages::compare_stage(&args.run_a, &args.run_b, args.noise)
}
