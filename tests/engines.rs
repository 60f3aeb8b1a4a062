//! Every built-in engine passes the whole equivalence suite (strict domain
//! included) on the contract dataset, and the floor answers correctly for
//! prepared and unprepared queries.

mod common;

use audit_engines::SharedEngine;
use audit_harness::cancel::Cancel;
use audit_harness::equivalence::outcome::{call_here, diff};
use audit_harness::equivalence::{self, Options, Status};
use audit_harness::registry;

fn options() -> Options {
    let spec = common::spec();
    let mut o = Options::from_spec(&spec, &common::default_dataset(), &Cancel::new()).unwrap();
    o.cases = 600;
    o.small_dataset_cases = 150;
    o.strict_domain = true;
    o.regressions = None;
    o
}

#[test]
fn candidates_pass_every_property_in_strict_mode() {
    let spec = common::spec();
    let candidates: Vec<_> = ["keyset", "memindex", "prefetch", "floor"]
        .iter()
        .map(|n| registry::opener(&spec, n, &Cancel::new()).unwrap())
        .collect();
    let report = equivalence::run(&options(), &candidates, |r| {
        eprintln!("{}", audit_harness::output::equivalence::describe(r))
    })
    .unwrap();
    let bad: Vec<String> = report
        .results
        .iter()
        .filter(|r| r.status != Status::Pass)
        .map(audit_harness::output::equivalence::describe)
        .collect();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    for name in ["keyset", "memindex", "prefetch"] {
        assert!(
            report.results.iter().filter(|r| r.engine == name).count() >= 9,
            "{name} skipped properties"
        );
    }
}

#[test]
fn the_floor_answers_prepared_queries_correctly() {
    let spec = common::spec();
    let dir = common::default_dataset();
    let floor: SharedEngine = (audit_engines::find("floor").unwrap().open)(&dir).unwrap();
    let base: SharedEngine = (audit_engines::find("baseline").unwrap().open)(&dir).unwrap();
    let queries = audit_harness::mix::stream(spec.mix("shallow").unwrap(), &spec.dataset.generator, 3, 100);
    floor.prepare(&queries).unwrap();
    assert!(floor.index_bytes() > 0);
    for q in queries
        .iter()
        .chain(audit_harness::mix::stream(spec.mix("default").unwrap(), &spec.dataset.generator, 4, 50).iter())
    {
        assert_eq!(diff(&call_here(&base, q), &call_here(&floor, q)), None, "{q:?}");
    }
}

#[test]
fn memindex_stays_under_16_mb_at_50000_rows() {
    let dir = common::default_dataset();
    for name in ["memindex", "prefetch"] {
        let e = (audit_engines::find(name).unwrap().open)(&dir).unwrap();
        let bytes = e.index_bytes();
        assert!(bytes > 1_000_000 && bytes < 16 << 20, "{name}: {bytes} bytes");
    }
}

#[test]
fn engines_fail_on_a_missing_dataset_instead_of_panicking() {
    let tmp = tempfile::tempdir().unwrap();
    for info in audit_engines::builtin() {
        assert!(
            (info.open)(tmp.path()).is_err(),
            "{} opened an empty directory",
            info.name
        );
    }
}
