//! Integrity (`verify`, the gate's first stage): the dataset is the one its
//! manifest describes (and the contract's, when generated with the spec's
//! parameters), and the baseline is the frozen one.

use std::path::Path;

use crate::dataset::manifest::Source;
use crate::dataset::{open_db, read_rows, schema, Manifest, RowDigest};
use crate::error::HarnessError;
use crate::spec::Spec;

/// The baseline's source file, relative to the spec's directory.
pub const BASELINE_PATH: &str = "engines/src/baseline.rs";

/// One integrity check and what it found.
#[derive(Debug, Clone)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
}

impl Check {
    fn new(name: &'static str, ok: bool, detail: String) -> Check {
        Check { name, ok, detail }
    }
}

/// Runs every check on the dataset in `dir`. Missing files are input errors;
/// a check that runs and finds a difference is a failed [`Check`].
pub fn verify(spec: &Spec, dir: &Path) -> Result<Vec<Check>, HarnessError> {
    let manifest = Manifest::read(dir).map_err(|e| {
        HarnessError::input(format!(
            "{e} (a dataset needs a manifest: create one with `audit-harness gen` or `audit-harness adopt {}`)",
            dir.display()
        ))
    })?;
    let mut checks = Vec::new();

    let conn = open_db(dir)?;
    let db_path = dir.join(audit_engines::DB_FILE);
    let problems = schema::check(&conn).map_err(|e| HarnessError::sql(&db_path, e))?;
    checks.push(Check::new(
        "schema",
        problems.is_empty(),
        if problems.is_empty() {
            "table audit_events and index idx_created_at(created_at) as the contract says".into()
        } else {
            problems.join("; ")
        },
    ));

    match read_rows(&conn) {
        Ok(rows) => {
            let mut d = RowDigest::new();
            rows.iter().for_each(|r| d.add(r));
            let digest = d.finish();
            let n = rows.len() as u64;
            checks.push(Check::new(
                "row count",
                n == manifest.rows,
                format!("{n} rows (manifest: {})", manifest.rows),
            ));
            checks.push(Check::new(
                "row digest",
                digest == manifest.rows_sha256,
                if digest == manifest.rows_sha256 {
                    format!("sha256 {}", short(&digest))
                } else {
                    format!(
                        "rows were edited: sha256 {} (manifest: {})",
                        short(&digest),
                        short(&manifest.rows_sha256)
                    )
                },
            ));
        }
        Err(e) => checks.push(Check::new("row digest", false, format!("cannot read rows: {e}"))),
    }

    let pl_path = dir.join(audit_engines::PAYLOADS_FILE);
    let (sha, size) = crate::digest::sha256_file(&pl_path).map_err(|e| HarnessError::io(&pl_path, e))?;
    checks.push(Check::new(
        "payloads size",
        size == manifest.payloads_bytes,
        match size.cmp(&manifest.payloads_bytes) {
            std::cmp::Ordering::Equal => format!("{size} bytes"),
            std::cmp::Ordering::Less => format!(
                "payloads.jsonl is truncated: {size} bytes (manifest: {})",
                manifest.payloads_bytes
            ),
            std::cmp::Ordering::Greater => format!(
                "payloads.jsonl grew: {size} bytes (manifest: {})",
                manifest.payloads_bytes
            ),
        },
    ));
    checks.push(Check::new(
        "payloads digest",
        sha == manifest.payloads_sha256,
        if sha == manifest.payloads_sha256 {
            format!("sha256 {}", short(&sha))
        } else {
            format!(
                "payloads.jsonl was modified: sha256 {} (manifest: {})",
                short(&sha),
                short(&manifest.payloads_sha256)
            )
        },
    ));

    match (&manifest.source, &spec.dataset.payloads_sha256) {
        (Source::Generated(p), Some(want)) if *p == spec.dataset.generator => checks.push(Check::new(
            "contract",
            manifest.payloads_sha256 == *want,
            if manifest.payloads_sha256 == *want {
                format!(
                    "generated with the spec's parameters; payloads match the pinned sha256 {}",
                    short(want)
                )
            } else {
                format!(
                    "generated with the spec's parameters but payloads sha256 {} differs from the pinned {}",
                    short(&manifest.payloads_sha256),
                    short(want)
                )
            },
        )),
        (Source::Generated(p), _) => checks.push(Check::new(
            "contract",
            true,
            format!(
                "generated: {} rows, seed {}, now {} (no pinned digest applies)",
                p.rows, p.seed, p.now
            ),
        )),
        (Source::Adopted, _) => checks.push(Check::new(
            "contract",
            true,
            "adopted dataset (no pinned digest applies)".into(),
        )),
    }

    checks.extend(baseline_checks(spec));
    Ok(checks)
}

/// The baseline's compiled-in source and its file on disk both have the pinned digest.
pub fn baseline_checks(spec: &Spec) -> Vec<Check> {
    let want = &spec.integrity.baseline_sha256;
    let compiled = crate::digest::sha256_tagged(audit_engines::BASELINE_SOURCE);
    let mut checks = vec![Check::new(
        "baseline (compiled)",
        compiled == *want,
        if compiled == *want {
            format!("{} as pinned", short(&compiled))
        } else {
            format!(
                "the spec's [integrity] baseline_sha256 ({want}) differs from the digest of the baseline compiled into this binary ({compiled}): the pin is wrong or the baseline was edited"
            )
        },
    )];
    let path = spec.base_dir().join(BASELINE_PATH);
    match std::fs::read(&path) {
        Ok(bytes) => {
            let disk = crate::digest::sha256_tagged(&bytes);
            checks.push(Check::new(
                "baseline (source)",
                disk == *want,
                if disk == *want {
                    format!("{} {} as pinned", path.display(), short(&disk))
                } else {
                    format!(
                        "{} has sha256 {disk}, the spec's [integrity] baseline_sha256 is {want}: the pin is wrong or the file was edited",
                        path.display()
                    )
                },
            ));
        }
        Err(_) => checks.push(Check::new(
            "baseline (source)",
            true,
            format!(
                "{} not present beside the spec; the compiled-in source was checked",
                path.display()
            ),
        )),
    }
    checks
}

/// The first 12 hex digits of a digest, for messages.
fn short(d: &str) -> String {
    let hex = d.strip_prefix("sha256:").unwrap_or(d);
    hex.chars().take(12).collect()
}

/// Turns failed checks into the error the gate exits with.
pub fn judge(checks: &[Check]) -> Result<(), HarnessError> {
    let failed: Vec<String> = checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| format!("{}: {}", c.name, c.detail))
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(HarnessError::failed(format!("integrity broken: {}", failed.join("; "))))
    }
}
