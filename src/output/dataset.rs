//! Lines about datasets and engines: generation, adoption, the integrity
//! checks, and the engine list.

use std::path::Path;

use crate::dataset::generate::GenReport;
use crate::dataset::manifest::Manifest;
use crate::dataset::GenParams;
use crate::integrity::Check;
use crate::spec::Spec;

/// `gen --if-missing` found the dataset.
pub fn print_exists(out: &Path) {
    println!("== dataset: {} exists; not regenerating", out.display());
}

/// A dataset generated.
pub fn print_generated(out: &Path, p: &GenParams, r: &GenReport) {
    println!(
        "generated {}: {} rows (seed {}, now {}), payloads.jsonl {} bytes sha256 {} in {:.3} s",
        out.display(),
        r.manifest.rows,
        p.seed,
        p.now,
        r.manifest.payloads_bytes,
        r.manifest.payloads_sha256,
        r.seconds
    );
}

/// A dataset adopted.
pub fn print_adopted(dir: &Path, m: &Manifest) {
    println!(
        "adopted {}: {} rows, payloads.jsonl {} bytes sha256 {}; manifest written",
        dir.display(),
        m.rows,
        m.payloads_bytes,
        m.payloads_sha256
    );
}

/// What the integrity stage checks.
pub fn print_integrity_header(spec: &Spec, dir: &Path) {
    println!("== integrity: {} ({})", dir.display(), spec.path.display());
}

/// One line per check: `ok`/`FAIL`, its name and what it found.
pub fn print_checks(checks: &[Check]) {
    for c in checks {
        anstream::println!(
            "  {} {:<19} {}",
            super::word(if c.ok { "ok" } else { "FAIL" }, 4),
            c.name,
            c.detail
        );
    }
}

/// One line per engine: its name and what it is.
pub fn print_engines(list: &[(String, String)]) {
    for (name, about) in list {
        println!("{name:<10} {about}");
    }
}
