//! `[equivalence] reference`: candidates checked against any registered
//! engine, here the production Python module served by the shipped adapter,
//! and every report saying which engine was the reference.

mod common;

use std::path::Path;
use std::process::Output;

const ADAPTER: &str = "adapters/python_module.py";
const SERVICE: &str = "examples/python-service/audit_log_service.py";
const WRONG: &str = "examples/python-service/wrong_service.py";

/// A copy of the shipped spec in `dir` on the default dataset, reports and
/// regressions in `dir`, with `reference` as the equivalence reference.
fn spec_in(dir: &Path, reference: &str) -> String {
    let reference = format!("reference = {reference:?}");
    common::spec_in(dir, &[("reference = \"baseline\"", reference.as_str())])
        .display()
        .to_string()
}

fn harness(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_audit-harness"))
        .current_dir(common::root())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .args(args)
        .output()
        .expect("run audit-harness")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn latest(dir: &Path) -> std::path::PathBuf {
    let reports = dir.join("reports");
    reports.join(std::fs::read_link(reports.join("latest")).unwrap())
}

#[test]
fn candidates_are_checked_against_a_python_reference_and_the_reports_name_it() {
    if !common::python3_available("candidates_are_checked_against_a_python_reference_and_the_reports_name_it") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let spec = spec_in(tmp.path(), "prod");
    let prod = format!("prod=python3 {ADAPTER} {SERVICE}:handle_request");
    let run = |engines: &str, extra: &[&str]| {
        let mut args = vec!["--spec", spec.as_str(), "--engine-command", prod.as_str()];
        args.extend(extra);
        args.extend([
            "equiv",
            "--engines",
            engines,
            "--property",
            "mix",
            "--property",
            "edge",
            "--cases",
            "100",
        ]);
        harness(&args)
    };

    // The built-in memindex answers as the production Python module does.
    let o = run("memindex", &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("== equivalence vs prod (the reference): memindex"),
        "{}",
        text(&o)
    );
    let dir = latest(tmp.path());
    let csv = std::fs::read_to_string(dir.join("equivalence.csv")).unwrap();
    let mut lines = csv.lines();
    assert!(lines.next().unwrap().ends_with(",replay,reference"), "{csv}");
    assert!(
        lines.all(|l| l.starts_with("3,memindex,") && l.ends_with(",prod")),
        "{csv}"
    );
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("run.json")).unwrap()).unwrap();
    assert_eq!(json["equivalence"]["reference"], "prod");

    // The wrong module (action filter forgotten after page 1) differs from it.
    let wrong = format!("wrong=python3 {ADAPTER} {WRONG}:handle_request");
    let o = run("wrong", &["--engine-command", wrong.as_str()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("not equivalent: wrong"), "{}", text(&o));
    let csv = std::fs::read_to_string(latest(tmp.path()).join("equivalence.csv")).unwrap();
    assert!(
        csv.lines()
            .skip(1)
            .any(|l| l.contains(",fail,") && l.ends_with(",prod")),
        "{csv}"
    );
}

#[test]
fn a_reference_that_is_not_an_engine_is_refused_in_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = spec_in(tmp.path(), "prdo");
    let o = harness(&["--spec", &spec, "equiv", "--cases", "10"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("equivalence.reference") && err.contains("\"prdo\""),
        "{err}"
    );
    assert!(err.contains("baseline, keyset"), "names the engines: {err}");
    assert!(!tmp.path().join("reports").exists());
}

#[test]
fn the_default_reference_is_the_frozen_baseline_and_reports_say_so() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = spec_in(tmp.path(), "baseline");
    let o = harness(&[
        "--spec",
        &spec,
        "equiv",
        "--engines",
        "memindex",
        "--property",
        "mix",
        "--cases",
        "50",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let dir = latest(tmp.path());
    let csv = std::fs::read_to_string(dir.join("equivalence.csv")).unwrap();
    assert!(csv.lines().nth(1).unwrap().ends_with(",baseline"), "{csv}");
}
