//! `audit-harness compare RUN_A RUN_B`: each engine's figures from run A to
//! run B, with intervals; exit 1 when a regression beyond the noise threshold
//! is clear of its interval.

use crate::cli::CompareArgs;
use crate::error::HarnessError;
use crate::report::reanalyze;
use crate::{analysis, compare, output};

pub fn run(args: &CompareArgs) -> Result<(), HarnessError> {
    let (info_a, series_a, settings_a, _) = reanalyze::load(&args.run_a)?;
    let (info_b, series_b, settings_b, _) = reanalyze::load(&args.run_b)?;
    let a = analysis::summarize(&series_a, &settings_a);
    let b = analysis::summarize(&series_b, &settings_b);
    let rows = compare::compare(&a, &b, args.noise);
    output::compare::print(
        &info_a,
        &info_b,
        &compare::differences(&info_a, &info_b),
        &rows,
        args.noise,
    );
    if rows.is_empty() {
        return Err(HarnessError::input(format!(
            "{} and {} share no engine and mix to compare",
            args.run_a.display(),
            args.run_b.display()
        )));
    }
    let regressions = rows.iter().filter(|r| r.regression).count();
    if regressions > 0 {
        return Err(HarnessError::failed(format!(
            "{regressions} figure(s) regressed by more than {:.0} % with the whole interval beyond it (the REGRESSED lines above)",
            args.noise * 100.0
        )));
    }
    Ok(())
}
