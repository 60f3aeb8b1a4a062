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
    say!("== dataset: {} exists; not regenerating", out.display());
}

/// A dataset generated.
pub fn print_generated(out: &Path, p: &GenParams, r: &GenReport) {
    say!(
        "generated {}: {} rows (seed {}, now {}) in {:.3} s",
        out.display(),
        r.manifest.rows,
        p.seed,
        p.now,
        r.seconds
    );
    say!(
        "  payloads.jsonl {} bytes, sha256 {}",
        r.manifest.payloads_bytes,
        r.manifest.payloads_sha256
    );
}

/// A dataset adopted.
pub fn print_adopted(dir: &Path, m: &Manifest) {
    say!("adopted {}: {} rows; manifest written", dir.display(), m.rows);
    say!(
        "  payloads.jsonl {} bytes, sha256 {}",
        m.payloads_bytes,
        m.payloads_sha256
    );
}

/// What the integrity stage checks.
pub fn print_integrity_header(spec: &Spec, dir: &Path) {
    say!("== integrity: {} ({})", dir.display(), spec.path.display());
}

/// One line per check: `ok`/`FAIL`, its name and what it found.
pub fn print_checks(checks: &[Check]) {
    for c in checks {
        let line = format!(
            "  {} {:<19} {}",
            super::word(if c.ok { "ok" } else { "FAIL" }, 4),
            c.name,
            c.detail
        );
        if c.ok {
            say!("{line}");
        } else {
            say_always!("{line}");
        }
    }
}

/// One line per engine: its name and what it is.
/// `engines --check`: one line per engine, ok with what it did or FAIL with why.
pub fn print_start_checks(checks: &[crate::registry::StartCheck]) {
    let width = checks.iter().map(|c| c.name.len()).max().unwrap_or(0).max(10);
    for c in checks {
        match &c.outcome {
            Ok(what) => say!("  ok   {:<width$} {what}", c.name),
            Err(why) => say_always!("  FAIL {:<width$} {why}", c.name),
        }
    }
}

pub fn print_engines(list: &[(String, String)]) {
    let width = list.iter().map(|(n, _)| n.len()).max().unwrap_or(0).max(10);
    for (name, about) in list {
        say_always!("{name:<width$} {about}");
    }
}
