//! `verify` passes on an untouched dataset and names each kind of damage.

mod common;

use std::path::Path;

use audit_harness::cancel::Cancel;
use audit_harness::dataset::{self, GenParams};
use audit_harness::integrity;
use audit_harness::spec::Spec;

fn small(dir: &Path) {
    dataset::generate(
        &GenParams {
            rows: 300,
            ..GenParams::default()
        },
        dir,
        false,
        &Cancel::new(),
    )
    .unwrap();
}

fn failed(spec: &Spec, dir: &Path) -> Vec<(String, String)> {
    integrity::verify(spec, dir)
        .unwrap()
        .into_iter()
        .filter(|c| !c.ok)
        .map(|c| (c.name.to_string(), c.detail))
        .collect()
}

#[test]
fn an_untouched_dataset_passes_every_check() {
    let tmp = tempfile::tempdir().unwrap();
    small(&tmp.path().join("d"));
    let spec = common::spec();
    assert_eq!(failed(&spec, &tmp.path().join("d")), vec![]);
    let checks = integrity::verify(&spec, &common::default_dataset()).unwrap();
    let contract = checks.iter().find(|c| c.name == "contract").unwrap();
    assert!(contract.ok && contract.detail.contains("pinned"), "{contract:?}");
    assert!(integrity::judge(&checks).is_ok());
}

#[test]
fn each_kind_of_damage_is_named() {
    let spec = common::spec();
    let tmp = tempfile::tempdir().unwrap();
    let orig = tmp.path().join("orig");
    small(&orig);

    let d = tmp.path().join("truncated");
    common::copy_dataset(&orig, &d);
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(d.join("payloads.jsonl"))
        .unwrap();
    let len = f.metadata().unwrap().len();
    f.set_len(len - 100).unwrap();
    let bad = failed(&spec, &d);
    assert!(
        bad.iter().any(|(n, m)| n == "payloads size" && m.contains("truncated")),
        "{bad:?}"
    );

    let d = tmp.path().join("edited-payload");
    common::copy_dataset(&orig, &d);
    let mut bytes = std::fs::read(d.join("payloads.jsonl")).unwrap();
    bytes[20] = if bytes[20] == b'1' { b'2' } else { b'1' };
    std::fs::write(d.join("payloads.jsonl"), bytes).unwrap();
    let bad = failed(&spec, &d);
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert!(
        bad[0].0 == "payloads digest" && bad[0].1.contains("modified"),
        "{bad:?}"
    );

    let d = tmp.path().join("edited-row");
    common::copy_dataset(&orig, &d);
    rusqlite::Connection::open(d.join("audit.db"))
        .unwrap()
        .execute("UPDATE audit_events SET actor_id = actor_id + 1 WHERE id = 42", [])
        .unwrap();
    let bad = failed(&spec, &d);
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert!(bad[0].0 == "row digest" && bad[0].1.contains("edited"), "{bad:?}");

    let d = tmp.path().join("dropped-index");
    common::copy_dataset(&orig, &d);
    rusqlite::Connection::open(d.join("audit.db"))
        .unwrap()
        .execute("DROP INDEX idx_created_at", [])
        .unwrap();
    let bad = failed(&spec, &d);
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert!(bad[0].0 == "schema" && bad[0].1.contains("idx_created_at"), "{bad:?}");

    let d = tmp.path().join("deleted-row");
    common::copy_dataset(&orig, &d);
    rusqlite::Connection::open(d.join("audit.db"))
        .unwrap()
        .execute("DELETE FROM audit_events WHERE id = 7", [])
        .unwrap();
    let bad = failed(&spec, &d);
    assert!(bad.iter().any(|(n, _)| n == "row count"), "{bad:?}");

    let err = integrity::judge(&integrity::verify(&spec, &d).unwrap()).unwrap_err();
    assert_eq!(err.exit_code(), 1);
    assert!(err.to_string().contains("row count"), "{err}");
}

#[test]
fn a_missing_manifest_or_dataset_is_an_input_error() {
    let spec = common::spec();
    let tmp = tempfile::tempdir().unwrap();
    let e = integrity::verify(&spec, &tmp.path().join("nothing")).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(e.to_string().contains("audit-harness gen"), "{e}");
}

#[test]
fn an_edited_baseline_is_refused() {
    // A spec beside an edited engines/src/baseline.rs.
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(common::root().join("harness.toml")).unwrap();
    std::fs::write(tmp.path().join("harness.toml"), &text).unwrap();
    std::fs::create_dir_all(tmp.path().join("engines/src")).unwrap();
    let src = std::fs::read_to_string(common::root().join(integrity::BASELINE_PATH)).unwrap();
    std::fs::write(tmp.path().join(integrity::BASELINE_PATH), &src).unwrap();
    let spec = Spec::load(&tmp.path().join("harness.toml")).unwrap();
    assert!(integrity::baseline_checks(&spec).iter().all(|c| c.ok));

    std::fs::write(
        tmp.path().join(integrity::BASELINE_PATH),
        src.replace("DESC, id DESC", "DESC, id ASC"),
    )
    .unwrap();
    let checks = integrity::baseline_checks(&spec);
    let bad: Vec<_> = checks.iter().filter(|c| !c.ok).collect();
    assert_eq!(bad.len(), 1, "{checks:?}");
    assert!(
        bad[0].name == "baseline (source)" && bad[0].detail.contains("was edited"),
        "{bad:?}"
    );

    // A pin that does not match the compiled-in baseline fails the compiled check too.
    let pinned = spec.integrity.baseline_sha256.clone();
    let flipped = format!("sha256:{}", pinned[7..].chars().rev().collect::<String>());
    std::fs::write(tmp.path().join("harness.toml"), text.replace(&pinned, &flipped)).unwrap();
    let spec = Spec::load(&tmp.path().join("harness.toml")).unwrap();
    let checks = integrity::baseline_checks(&spec);
    assert!(
        checks.iter().any(|c| c.name == "baseline (compiled)" && !c.ok),
        "{checks:?}"
    );
}
