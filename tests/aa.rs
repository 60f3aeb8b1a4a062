//! A/A runs (`audit-harness aa`), `calibrate --from` on a recorded run, and
//! `report` refusing measurements that are not the ones its run recorded:
//! end to end through the binary, on the default dataset with small budgets.

mod common;

use std::path::Path;

use common::spec_in;

use common::run_with_spec as run;
use common::text;

fn one_line_error(o: &std::process::Output) -> String {
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    err
}

/// The entry of `dir` whose name starts with `prefix` (an A/A series' directory).
fn entry_starting(dir: &Path, prefix: &str) -> std::path::PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix}* in {}", dir.display()))
}

#[test]
fn aa_runs_whole_benchmarks_of_an_engine_against_its_twin_and_tallies_the_alarms() {
    let tmp = tempfile::tempdir().unwrap();
    // The spec in a subdirectory, named relative to the working directory:
    // its reports_dir is resolved against the spec's directory once.
    spec_in(&tmp.path().join("sub"), &[]);
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_audit-harness"))
        .current_dir(tmp.path())
        .args(["--spec", "sub/harness.toml"])
        .args(["aa", "--engine", "memindex", "--runs", "2", "--max-seconds", "3"])
        .output()
        .unwrap();
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("== A/A: memindex against a second instance of itself on mix default, 2 runs"),
        "{out}"
    );
    assert!(out.contains("run   1:") && out.contains("run   2:"), "{out}");
    assert!(out.contains("family"), "{out}");
    let dir = entry_starting(&tmp.path().join("sub/reports"), "aa-memindex-");
    let aa: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("aa.json")).unwrap()).unwrap();
    assert_eq!(aa["tally"]["runs"], 2, "{aa}");
    let runs = aa["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert_ne!(runs[0]["seed"], runs[1]["seed"], "each run its own streams");
    assert_eq!(runs[0]["checks"].as_array().unwrap().len(), 3);
    // Each run is a whole run directory: the twin is a candidate, the original the reference,
    // and `report` recomputes it byte for byte with the A/A gate its run.json records.
    let run_dir = dir.join(runs[0]["run_id"].as_str().unwrap());
    let info: serde_json::Value = serde_json::from_slice(&std::fs::read(run_dir.join("run.json")).unwrap()).unwrap();
    assert_eq!(info["complete"], true);
    assert_eq!(
        info["bench"]["engines"],
        serde_json::json!(["memindex", "memindex~twin"])
    );
    assert_eq!(info["bench"]["roles"], serde_json::json!(["reference", "candidate"]));
    assert!(info["spec"]["text"]
        .as_str()
        .unwrap()
        .contains("candidates = [\"memindex~twin\"]"));
    let before = std::fs::read(run_dir.join("summary.json")).unwrap();
    let o = common::harness(&["report", run_dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(std::fs::read(run_dir.join("summary.json")).unwrap(), before);
    let (_, rows) = {
        let mut r = csv::Reader::from_path(dir.join("aa.csv")).unwrap();
        let h: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
        let rows: Vec<Vec<String>> = r
            .records()
            .map(|x| x.unwrap().iter().map(String::from).collect())
            .collect();
        (h, rows)
    };
    assert_eq!(rows.len(), 6, "two runs of three checks");
}

#[test]
fn aa_refuses_a_budget_too_small_and_an_engine_that_cannot_start_twice() {
    let tmp = tempfile::tempdir().unwrap();
    // An engine that holds a lock while it runs: a second instance cannot start.
    let lock = tmp.path().join("engine.lock");
    let script = common::root().join("tests/fixtures/process/misbehave.sh");
    let engine = format!(
        "\n[engines.single]\ncommand = [\"sh\", \"-c\", \"exec 9>{}; flock -n 9 || {{ echo 'single: already running' >&2; exit 1; }}; exec sh {} empty\"]\n",
        lock.display(),
        script.display()
    );
    let spec = spec_in(tmp.path(), &[]);
    let mut text_spec = std::fs::read_to_string(&spec).unwrap();
    text_spec.push_str(&engine);
    std::fs::write(&spec, text_spec).unwrap();
    let o = run(
        &spec,
        &["aa", "--engine", "single", "--runs", "1", "--max-seconds", "3"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = one_line_error(&o);
    assert!(err.contains("cannot be started twice"), "{err}");

    let o = run(&spec, &["aa", "--engine", "memindex", "--max-seconds", "0.1"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = one_line_error(&o);
    assert!(err.contains("--max-seconds") && err.contains("expected"), "{err}");
    let o = run(&spec, &["aa", "--engine", "nope"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(one_line_error(&o).contains("unknown engine \"nope\""));
}

/// A short recorded run to replay and to damage.
fn recorded(tmp: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let spec = spec_in(tmp, &[]);
    let o = run(
        &spec,
        &[
            "bench",
            "--engines",
            "memindex",
            "--mix",
            "default",
            "--max-seconds",
            "6",
            "--warmup",
            "2",
        ],
    );
    assert!(matches!(o.status.code(), Some(0 | 3)), "{}", text(&o));
    let dir = std::fs::canonicalize(tmp.join("reports/latest")).unwrap();
    (spec, dir)
}

#[test]
fn calibrate_from_a_recorded_run_replays_its_rounds_and_keeps_their_variance() {
    let tmp = tempfile::tempdir().unwrap();
    let (spec, dir) = recorded(tmp.path());
    // The replays' variance components are the record's, within 25 % (a
    // block bootstrap of whole rounds: E = (n - 1)/n of the record's, plus
    // the Monte Carlo error of 200 replays).
    let rec = audit_harness::calibrate::from_run::Recorded::load(&dir).unwrap();
    let (recorded, replayed) = rec.variance_check(200, 7);
    assert!(!recorded.is_empty());
    for (r, s) in recorded.iter().zip(&replayed) {
        assert_eq!((&r.engine, &r.figure), (&s.engine, &s.figure));
        if r.total > 0.0 {
            assert!(
                (s.total / r.total - 1.0).abs() < 0.25,
                "{} {}: {} vs {}",
                r.engine,
                r.figure,
                r.total,
                s.total
            );
        }
    }
    let o = run(
        &spec,
        &[
            "calibrate",
            "--from",
            dir.to_str().unwrap(),
            "--replicates",
            "8",
            "--truth",
            "at-threshold",
        ],
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("calibrate --from run"), "{out}");
    assert!(out.contains("recorded → replicated"), "{out}");
    assert!(out.contains(" at-threshold "), "{out}");
    // The run's own spec is in its run.json: no harness.toml is needed where
    // calibrate --from runs (as for report).
    let elsewhere = tempfile::tempdir().unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_audit-harness"))
        .current_dir(elsewhere.path())
        .args([
            "calibrate",
            "--from",
            dir.to_str().unwrap(),
            "--replicates",
            "4",
            "--truth",
            "at-threshold",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("calibrate --from run"), "{}", text(&o));
    let o = run(
        &spec,
        &["calibrate", "--from", dir.to_str().unwrap(), "--shape", "tail"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(one_line_error(&o).contains("'--from <RUN_DIR>' cannot be used with '--shape <SHAPE>'"));

    // Not a run, an interrupted one, an unknown scenario: one line, exit 2.
    let o = run(&spec, &["calibrate", "--from", tmp.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(one_line_error(&o).contains("no run.json"));
    let cut = tmp.path().join("cut");
    std::fs::create_dir_all(&cut).unwrap();
    for f in ["run.json", "latencies.csv"] {
        std::fs::copy(dir.join(f), cut.join(f)).unwrap();
    }
    let mut info: serde_json::Value = serde_json::from_slice(&std::fs::read(cut.join("run.json")).unwrap()).unwrap();
    info["complete"] = serde_json::json!(false);
    std::fs::write(cut.join("run.json"), serde_json::to_vec(&info).unwrap()).unwrap();
    let o = run(&spec, &["calibrate", "--from", cut.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(one_line_error(&o).contains("did not finish"));
}

#[test]
fn report_refuses_measurements_that_are_not_the_recorded_ones_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, dir) = recorded(tmp.path());
    let lat = std::fs::read_to_string(dir.join("latencies.csv")).unwrap();
    let summary = std::fs::read(dir.join("summary.csv")).unwrap();
    let lines: Vec<&str> = lat.lines().collect();
    let damaged = [
        // The last half of the rows cut.
        lines[..lines.len() / 2].join("\n") + "\n",
        // A row repeated.
        format!("{lat}{}\n", lines[lines.len() - 1]),
        // One row gone.
        lines[..lines.len() - 1].join("\n") + "\n",
    ];
    for (i, text_csv) in damaged.iter().enumerate() {
        std::fs::write(dir.join("latencies.csv"), text_csv).unwrap();
        let o = common::harness(&["report", dir.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "case {i}: {}", text(&o));
        let err = one_line_error(&o);
        assert!(err.contains("disagree"), "case {i}: {err}");
        assert_eq!(
            std::fs::read(dir.join("summary.csv")).unwrap(),
            summary,
            "case {i}: nothing written"
        );
    }
    std::fs::write(dir.join("latencies.csv"), &lat).unwrap();
    let mut info: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("run.json")).unwrap()).unwrap();
    info["schema_version"] = serde_json::json!(99);
    std::fs::write(dir.join("run.json"), serde_json::to_vec(&info).unwrap()).unwrap();
    let o = common::harness(&["report", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(one_line_error(&o).contains("schema_version 99"));
}

/// A reference that answers no request of a round leaves every ratio
/// without its yardstick: the run ends after that round (not at its
/// budget), exit 1, with the round kept and the reason in one line.
#[test]
fn a_reference_that_answers_nothing_ends_the_run_after_one_round() {
    let tmp = tempfile::tempdir().unwrap();
    let fixture = common::root().join("tests/fixtures/process/misbehave.sh");
    let spec = spec_in(tmp.path(), &[]);
    let mut text_spec = std::fs::read_to_string(&spec).unwrap();
    text_spec.push_str(&format!(
        "\n[engines.void]\ncommand = [\"sh\", {:?}, \"error-all\"]\n",
        fixture.display().to_string()
    ));
    std::fs::write(&spec, text_spec).unwrap();
    let started = std::time::Instant::now();
    let o = run(&spec, &["aa", "--engine", "void", "--runs", "1", "--max-seconds", "60"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("the reference engine void answered no request of round 1"),
        "{out}"
    );
    assert!(started.elapsed().as_secs() < 30, "{:?}: {out}", started.elapsed());
    // The run's own record says why it stopped, and keeps the round.
    let aa_dir = entry_starting(&tmp.path().join("reports"), "aa-void-");
    let run_dir = std::fs::read_dir(&aa_dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.join("run.json").exists())
        .expect("the run's directory");
    let info: serde_json::Value = serde_json::from_slice(&std::fs::read(run_dir.join("run.json")).unwrap()).unwrap();
    assert_eq!(info["bench"]["stop"], "no_reference", "{info}");
    assert_eq!(info["bench"]["rounds"], 1, "{info}");
    assert!(run_dir.join("latencies.csv").exists());
    // No file of it says pass: without a yardstick nothing is decided.
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run_dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["decision"], "inconclusive", "{summary}");
}
