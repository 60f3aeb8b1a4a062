//! The acceptance gate (`audit-harness gate`, run by `./run_tests`): each stage
//! in order, stopping at the first that fails.

use std::path::Path;

use crate::error::HarnessError;
use crate::integrity::{self, Check};
use crate::spec::Spec;
use crate::{equivalence, registry};

/// Runs the gate's stages on the dataset in `dir`.
pub fn run(spec: &Spec, dir: &Path) -> Result<(), HarnessError> {
    println!("== integrity: {} ({})", dir.display(), spec.path.display());
    let checks = integrity::verify(spec, dir)?;
    print_checks(&checks);
    integrity::judge(&checks)?;

    let opts = equivalence::Options::from_spec(spec, dir)?;
    let candidates = spec
        .equivalence
        .engines
        .iter()
        .map(|n| registry::opener(spec, n))
        .collect::<Result<Vec<_>, _>>()?;
    let report = equivalence_stage(spec, &opts, &candidates)?;
    report.judge()?;
    println!("gate: PASS (integrity, equivalence)");
    Ok(())
}

/// Runs the equivalence suite, printing each result as it lands, and writes `equivalence.csv`.
pub fn equivalence_stage(
    spec: &Spec,
    opts: &equivalence::Options,
    candidates: &[equivalence::Opener],
) -> Result<equivalence::Report, HarnessError> {
    let names: Vec<&str> = candidates.iter().map(|c| c.name.as_str()).collect();
    println!(
        "== equivalence: {} vs baseline, seed {}, {} cases + {} small datasets per candidate{}",
        names.join(", "),
        opts.seed,
        opts.cases,
        opts.small_dataset_cases,
        if opts.strict_domain { ", strict domain" } else { "" }
    );
    let report = equivalence::run(opts, candidates, |r| println!("{}", equivalence::describe(r)))?;
    let cases: u64 = report.results.iter().map(|r| r.cases).sum();
    println!(
        "  {} checks in {:.1} s ({:.0} per second)",
        cases,
        report.seconds,
        cases as f64 / report.seconds.max(1e-9)
    );
    let csv = equivalence::export::to_csv(&report).map_err(|e| HarnessError::input(format!("equivalence.csv: {e}")))?;
    let dir = spec.bench.reports_dir.join(format!(
        "equiv-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    ));
    std::fs::create_dir_all(&dir).map_err(|e| HarnessError::io(&dir, e))?;
    crate::fsutil::write_atomic(&dir.join("equivalence.csv"), &csv)?;
    println!("  wrote {}", dir.join("equivalence.csv").display());
    Ok(report)
}

/// One line per check: `ok`/`FAIL`, its name and what it found.
pub fn print_checks(checks: &[Check]) {
    for c in checks {
        println!("  {:<4} {:<19} {}", if c.ok { "ok" } else { "FAIL" }, c.name, c.detail);
    }
}
