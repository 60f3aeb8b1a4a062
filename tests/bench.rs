//! The benchmark, its reports and its verdicts, end to end through the binary,
//! on the default dataset with small settings.

mod common;

use common::spec_in;

use std::path::Path;

use common::run_with_spec as run;
use common::text;

fn csv_rows(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let headers = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|x| x.unwrap().iter().map(String::from).collect())
        .collect();
    (headers, rows)
}

fn col<'a>(headers: &[String], row: &'a [String], name: &str) -> &'a str {
    &row[headers
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name}"))]
}

const SMALL: &[&str] = &[
    "--mix",
    "shallow",
    "--requests",
    "200",
    "--min-rounds",
    "3",
    "--max-rounds",
    "3",
    "--warmup",
    "5",
];

#[test]
fn a_run_writes_every_report_and_report_recomputes_them_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = spec_in(tmp.path(), &[]);
    let mut args = vec!["bench", "--engines", "memindex,floor"];
    args.extend_from_slice(SMALL);
    let o = run(&spec, &args);
    let out = text(&o);
    assert!(matches!(o.status.code(), Some(0 | 3)), "{out}");
    assert!(out.contains("harness overhead:"), "{out}");
    let latest = tmp.path().join("reports/latest");
    let dir = std::fs::canonicalize(&latest).unwrap();
    for f in [
        "run.json",
        "summary.csv",
        "summary.json",
        "latencies.csv",
        "strata.csv",
        "cdf-shallow.svg",
        "tail-shallow.svg",
        "p99-by-depth-shallow.svg",
        "report.html",
    ] {
        assert!(dir.join(f).is_file(), "{f} missing in {}", dir.display());
    }
    let info: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("run.json")).unwrap()).unwrap();
    assert_eq!(info["complete"], true);
    assert_eq!(info["bench"]["rounds"], 3);
    assert_eq!(
        info["bench"]["stop"], "planned",
        "no deciding check: the planned rounds run"
    );
    // What each round held: one record per round and mix, its slices in the order they ran.
    let records = info["bench"]["round_records"].as_array().unwrap();
    assert_eq!(records.len(), 3);
    assert_eq!(
        records[0]["slices"].as_array().unwrap().len(),
        16 * 3,
        "16 slices of each of 3 engines"
    );
    assert!(info["bench"]["variance"].as_array().unwrap().len() >= 9);
    assert!(info["machine"]["cores"].as_u64().unwrap() >= 1);
    assert!(info["bench"]["method"].as_str().unwrap().contains("jackknife"));

    let (h, rows) = csv_rows(&dir.join("summary.csv"));
    assert_eq!(
        &h[..35],
        audit_harness::report::summary::COLUMNS[..35]
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
    );
    assert_eq!(h[34], "verdict");
    let engines: Vec<&str> = rows.iter().map(|r| col(&h, r, "engine")).collect();
    assert_eq!(engines, ["baseline", "memindex", "floor"]);
    let base = &rows[0];
    assert_eq!(col(&h, base, "rps_ratio"), "", "the baseline has no ratio to itself");
    assert_eq!(col(&h, base, "verdict"), "reference");
    let mem = &rows[1];
    assert!(col(&h, mem, "p99_ci_low").parse::<f64>().unwrap() <= col(&h, mem, "p99_ms").parse::<f64>().unwrap());
    assert!(col(&h, mem, "index_bytes").parse::<u64>().unwrap() > 1_000_000);
    // Shallow is not a mix the gate judges: memindex's verdict there is informational.
    assert!(
        col(&h, mem, "verdict").starts_with("info:"),
        "{}",
        col(&h, mem, "verdict")
    );

    let (lh, lrows) = csv_rows(&dir.join("latencies.csv"));
    let requests: usize = rows
        .iter()
        .map(|r| col(&h, r, "requests").parse::<usize>().unwrap())
        .sum();
    assert_eq!(lrows.len(), requests);
    assert!(lrows.iter().all(|r| col(&lh, r, "intended_start_us").is_empty()));
    assert!(lrows.iter().all(|r| col(&lh, r, "schema_version") == "3"));
    // Each engine ran at most the round's 200 requests in each of the 3 rounds, slice by slice.
    assert!(rows.iter().all(|r| {
        let n: usize = col(&h, r, "requests").parse().unwrap();
        n > 0 && n <= 600
    }));

    let again = tmp.path().join("again");
    let o = run(
        &spec,
        &["report", dir.to_str().unwrap(), "--out", again.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", text(&o));
    for f in [
        "summary.csv",
        "summary.json",
        "strata.csv",
        "cdf-shallow.svg",
        "tail-shallow.svg",
        "p99-by-depth-shallow.svg",
        "report.html",
    ] {
        assert_eq!(
            std::fs::read(dir.join(f)).unwrap(),
            std::fs::read(again.join(f)).unwrap(),
            "{f} differs"
        );
    }
}

#[test]
fn a_candidate_slower_than_its_threshold_fails_and_errors_fail() {
    // keyset as the only candidate, held to 1 % of the baseline's p95: it cannot pass.
    let tmp = tempfile::tempdir().unwrap();
    let spec = spec_in(
        tmp.path(),
        &[
            ("candidates = [\"memindex\", \"prefetch\"]", "candidates = [\"keyset\"]"),
            ("mixes = [\"default\"]\n", "mixes = [\"shallow\"]\n"),
            ("p95_ratio_max = 0.8", "p95_ratio_max = 0.01"),
        ],
    );
    let mut args = vec!["bench", "--engines", "keyset"];
    args.extend_from_slice(SMALL);
    let o = run(&spec, &args);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("FAIL         keyset     shallow  p95_ratio_max"), "{out}");
    assert!(out.contains("candidate threshold(s) failed"), "{out}");

    // An engine that answers with errors fails whatever its latency.
    let fixture = common::root().join("tests/fixtures/process/misbehave.sh");
    let cmd = format!("broken=sh {} error", fixture.display());
    let spec = spec_in(
        tmp.path(),
        &[("candidates = [\"memindex\", \"prefetch\"]", "candidates = [\"broken\"]")],
    );
    let o = run(
        &spec,
        &[
            "--engine-command",
            &cmd,
            "bench",
            "--engines",
            "broken",
            "--mix",
            "shallow",
            "--requests",
            "100",
            "--min-rounds",
            "2",
            "--max-rounds",
            "2",
            "--warmup",
            "0",
        ],
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("FAIL         broken     shallow  errors"), "{out}");
    assert!(out.contains("ERROR broken shallow round 1"), "{out}");
    // It errs on every other request: those are counted and marked, and are
    // not served requests (throughput counts only answers).
    let dir = std::fs::canonicalize(tmp.path().join("reports/latest")).unwrap();
    let (h, rows) = csv_rows(&dir.join("summary.csv"));
    let broken = rows.iter().find(|r| col(&h, r, "engine") == "broken").unwrap();
    // Slices end after 10 ms, so how many requests a loaded machine sends
    // varies; about half of them err.
    let errors: f64 = col(&h, broken, "errors").parse().unwrap();
    let measured: f64 = col(&h, broken, "requests").parse().unwrap();
    let share = errors / measured;
    assert!(
        errors >= 10.0 && (0.3..0.7).contains(&share),
        "{errors} errors of {measured}"
    );
    assert!(out.contains("ERRORS"), "{out}");
    // A process engine's memory is its processes', reported; the built-in
    // baseline lives in the harness's process and has none of its own.
    assert!(out.contains("broken     peak memory"), "{out}");
    let info: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("run.json")).unwrap()).unwrap();
    let rss = &info["bench"]["peak_rss_bytes"];
    assert!(rss["broken"].as_u64().is_some_and(|b| b > 100 * 1024), "{info}");
    assert!(rss.get("baseline").is_none(), "{info}");
    let t = audit_harness::report::latencies::read(
        std::fs::File::open(dir.join("latencies.csv")).unwrap(),
        "latencies.csv",
    )
    .unwrap();
    let s = t.iter().find(|s| s.engine == "broken").unwrap();
    let trial = &s.trials[0].requests;
    let served = trial.iter().filter(|r| r.rows.is_some()).count() as f64;
    let end = trial.iter().map(|r| r.end_ns()).max().unwrap() as f64 / 1e9;
    assert!((audit_harness::bench::served_per_second(trial) - served / end).abs() < 1e-6);
    assert!(served < trial.len() as f64);
}

#[test]
fn open_loop_reports_intended_start_and_service_time_and_saturation() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = spec_in(tmp.path(), &[]);
    // 200 rps is easy for memindex; the baseline cannot keep up with 100,000 rps.
    let o = run(
        &spec,
        &[
            "bench",
            "--engines",
            "memindex",
            "--mix",
            "shallow",
            "--mode",
            "open",
            "--rate",
            "100000",
            "--requests",
            "400",
            "--min-rounds",
            "2",
            "--max-rounds",
            "2",
            "--warmup",
            "0",
            "--concurrency",
            "2",
        ],
    );
    let out = text(&o);
    assert!(matches!(o.status.code(), Some(0 | 1 | 3)), "{out}");
    let dir = std::fs::canonicalize(tmp.path().join("reports/latest")).unwrap();
    let (h, rows) = csv_rows(&dir.join("summary.csv"));
    let modes: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (col(&h, r, "engine"), col(&h, r, "mode")))
        .collect();
    assert_eq!(
        modes,
        [
            ("baseline", "open"),
            ("memindex", "open"),
            ("baseline", "open-service"),
            ("memindex", "open-service")
        ]
    );
    assert_eq!(col(&h, &rows[0], "saturated"), "true", "{out}");
    assert!(col(&h, &rows[0], "late").parse::<u64>().unwrap() > 0);
    assert!(out.contains("SATURATED"), "{out}");
    // From the intended start, a saturated engine's latency includes its queue.
    let p99 = |r: &Vec<String>| col(&h, r, "p99_ms").parse::<f64>().unwrap();
    assert!(
        p99(&rows[0]) > p99(&rows[2]),
        "open {} vs service {}",
        p99(&rows[0]),
        p99(&rows[2])
    );
    let (lh, lrows) = csv_rows(&dir.join("latencies.csv"));
    assert!(lrows.iter().all(|r| !col(&lh, r, "intended_start_us").is_empty()));
    // Open loop judges whether the rate was sustained, not a throughput ratio.
    assert!(out.contains("sustained"), "{out}");
    assert!(!out.contains("rps_ratio_min"), "{out}");
    assert!(out.contains("harness pacing (do-nothing engine)"), "{out}");
    let info: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("run.json")).unwrap()).unwrap();
    assert!(
        info["bench"]["pacing"]["shallow"]["p99_us"].as_f64().is_some(),
        "{info}"
    );
}

#[test]
fn a_relative_rate_follows_the_baseline_and_cold_cache_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = spec_in(tmp.path(), &[]);
    let o = run(
        &spec,
        &[
            "bench",
            "--engines",
            "prefetch",
            "--mix",
            "shallow",
            "--mode",
            "open",
            "--rate",
            "0.5x",
            "--requests",
            "100",
            "--min-rounds",
            "2",
            "--max-rounds",
            "2",
            "--arrivals",
            "poisson",
            "--warmup",
            "2",
            "--cache",
            "cold",
        ],
    );
    let out = text(&o);
    assert!(matches!(o.status.code(), Some(0 | 1 | 3)), "{out}");
    assert!(out.contains("open-loop arrival rate"), "{out}");
    let dir = std::fs::canonicalize(tmp.path().join("reports/latest")).unwrap();
    let info: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("run.json")).unwrap()).unwrap();
    assert_eq!(info["bench"]["cache"], "cold");
    assert_eq!(info["bench"]["arrivals"], "poisson");
    assert!(info["bench"]["rates_rps"]["shallow"].as_f64().unwrap() > 0.0);
}

#[test]
fn bad_input_is_exit_2_with_nothing_half_written() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = spec_in(tmp.path(), &[]);
    for (args, says) in [
        (
            vec!["bench", "--concurrency", "0"],
            "expected an integer from 1 to 1024",
        ),
        (
            vec!["bench", "--concurrency", "100000"],
            "expected an integer from 1 to 1024",
        ),
        (vec!["bench", "--requests", "-1"], "expected an integer >= 1"),
        (vec!["bench", "--min-rounds", "-3"], "expected an integer >= 2"),
        (vec!["bench", "--rate", "0"], "expected requests per second"),
        (
            vec!["bench", "--rate", "100"],
            "--rate is an open-loop setting: add --mode open",
        ),
        (vec!["bench", "--min-rounds", "1"], "--min-rounds"),
        (vec!["bench", "--min-rounds", "x"], "--min-rounds"),
        (
            vec!["bench", "--min-rounds", "9", "--max-rounds", "3"],
            "expected an integer >= min_rounds",
        ),
        (vec!["bench", "--max-seconds", "0"], "expected a number above 0"),
        (vec!["bench", "--max-seconds", "-3"], "expected a number above 0"),
        (vec!["bench", "--max-seconds", "soon"], "expected a number above 0"),
        (
            vec!["calibrate", "--scenario", "sideways"],
            "unknown scenario \"sideways\"",
        ),
        (vec!["calibrate", "--replicates", "0"], "--replicates"),
        (vec!["bench", "--mode", "open"], "open loop needs an arrival rate"),
        (vec!["bench", "--engines", "nosuch"], "unknown engine \"nosuch\""),
        (vec!["bench", "--mix", "nosuch"], "unknown mix \"nosuch\""),
        (
            vec!["bench", "--append-rate", "-5"],
            "-5 is not allowed: expected a number of rows per second >= 0",
        ),
        (
            vec!["bench", "--append-rate", "fast"],
            "fast is not allowed: expected a number of rows per second >= 0",
        ),
        (
            vec!["gate", "--append-rate", "NaN"],
            "expected a number of rows per second >= 0",
        ),
    ] {
        let o = run(&spec, &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(text(&o).contains(says), "{args:?}: {}", text(&o));
    }
    assert!(!tmp.path().join("reports").exists(), "a refused run wrote reports");

    let bad = spec_in(tmp.path(), &[("append_rate = 0", "append_rate = -1")]);
    let o = run(&bad, &["bench"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("append_rate") && text(&o).contains(">= 0"),
        "{}",
        text(&o)
    );
    assert_eq!(text(&o).trim().lines().count(), 1, "{}", text(&o));

    let bad = spec_in(tmp.path(), &[("p95_ratio_max = 0.8", "p95_ratio_max = \"fast\"")]);
    let o = run(&bad, &["bench"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("p95_ratio_max"), "{}", text(&o));

    // A reports directory that cannot be created.
    let blocked = spec_in(
        tmp.path(),
        &[("reports_dir = \"reports\"", "reports_dir = \"file/reports\"")],
    );
    std::fs::write(tmp.path().join("file"), "not a directory").unwrap();
    let o = run(&blocked, &["bench", "--engines", "memindex"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("report directory"), "{}", text(&o));

    // A latencies.csv with a missing column: exit 2, nothing written.
    let run_dir = tmp.path().join("run");
    std::fs::create_dir(&run_dir).unwrap();
    std::fs::write(
        run_dir.join("latencies.csv"),
        "schema_version,engine,mix,round\n2,a,b,1\n",
    )
    .unwrap();
    let info = serde_json::json!({"bench": null});
    std::fs::write(run_dir.join("run.json"), info.to_string()).unwrap();
    let o = run(&spec, &["report", run_dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(!run_dir.join("summary.csv").exists());
}

#[test]
fn report_names_a_missing_column() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = spec_in(tmp.path(), &[]);
    let o = run(
        &spec,
        &[
            "bench",
            "--engines",
            "memindex",
            "--mix",
            "shallow",
            "--requests",
            "50",
            "--min-rounds",
            "2",
            "--max-rounds",
            "2",
            "--warmup",
            "0",
        ],
    );
    assert!(matches!(o.status.code(), Some(0 | 3)), "{}", text(&o));
    let dir = std::fs::canonicalize(tmp.path().join("reports/latest")).unwrap();
    let lat = std::fs::read_to_string(dir.join("latencies.csv")).unwrap();
    // Drop the rows column from every line.
    let cut: String = lat
        .lines()
        .map(|l| {
            let mut f: Vec<&str> = l.split(',').collect();
            f.remove(12);
            f.join(",") + "\n"
        })
        .collect();
    std::fs::write(dir.join("latencies.csv"), cut).unwrap();
    let before = std::fs::read(dir.join("summary.csv")).unwrap();
    let o = run(&spec, &["report", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("missing column \"rows\""), "{}", text(&o));
    assert_eq!(
        std::fs::read(dir.join("summary.csv")).unwrap(),
        before,
        "summary.csv was touched"
    );
}

#[test]
fn ctrl_c_keeps_finished_files_and_marks_the_run_incomplete() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = spec_in(tmp.path(), &[]);
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_audit-harness"))
        .current_dir(common::root())
        .args([
            "--spec",
            spec.to_str().unwrap(),
            "bench",
            "--engines",
            "memindex",
            "--mix",
            "shallow",
            "--min-rounds",
            "500",
            "--max-rounds",
            "500",
            "--max-seconds",
            "600",
            "--export-json",
            tmp.path().join("export.json").to_str().unwrap(),
            "--export-markdown",
            tmp.path().join("export.md").to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until at least one trial has finished (the run dir and a trial line exist), then interrupt.
    std::thread::sleep(std::time::Duration::from_secs(4));
    // SAFETY: sending a signal to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let o = child.wait_with_output().unwrap();
    let out = text(&o);
    assert_eq!(o.status.code(), Some(3), "{out}");
    let dir = std::fs::canonicalize(tmp.path().join("reports/latest")).unwrap();
    let info: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("run.json")).unwrap()).unwrap();
    assert_eq!(info["complete"], false, "{out}");
    assert!(
        dir.join("summary.csv").is_file() && dir.join("latencies.csv").is_file(),
        "{out}"
    );
    assert!(out.contains("(incomplete)"), "{out}");
    // The decision is inconclusive in every output, never the partial checks' pass.
    assert!(out.contains("INCONCLUSIVE"), "{out}");
    for f in [dir.join("summary.json"), tmp.path().join("export.json")] {
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap();
        assert_eq!(v["decision"], "inconclusive", "{}: {v}", f.display());
    }
    let md = std::fs::read_to_string(tmp.path().join("export.md")).unwrap();
    assert!(md.starts_with("### audit-harness: INCONCLUSIVE"), "{md}");
    assert!(md.contains("**The run was interrupted**"), "{md}");
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("The run was interrupted"), "report.html");
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn an_engine_that_hangs_or_dies_is_given_up_on_not_waited_for() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = spec_in(
        tmp.path(),
        &[(
            "candidates = [\"memindex\", \"prefetch\"]",
            "candidates = [\"hung\", \"dead\"]",
        )],
    );
    let fixture = common::root().join("tests/fixtures/process/misbehave.sh");
    let mut spec_text = std::fs::read_to_string(&spec).unwrap();
    for (name, mode) in [("hung", "hang"), ("dead", "exit")] {
        spec_text.push_str(&format!(
            "\n[engines.{name}]\ncommand = [\"sh\", {:?}, \"{mode}\"]\ntimeout_ms = 300\n",
            fixture.display().to_string()
        ));
    }
    std::fs::write(&spec, spec_text).unwrap();
    let started = std::time::Instant::now();
    let o = run(
        &spec,
        &[
            "bench",
            "--engines",
            "hung,dead",
            "--mix",
            "shallow",
            "--requests",
            "100",
            "--min-rounds",
            "3",
            "--max-rounds",
            "3",
            "--warmup",
            "2",
        ],
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    // 3 rounds x 100 requests at a 300 ms timeout would take minutes if every request were waited for.
    assert!(started.elapsed().as_secs() < 60, "{:?}: {out}", started.elapsed());
    assert!(out.contains("hung GAVE UP") && out.contains("dead GAVE UP"), "{out}");
    assert!(out.contains("FAIL         hung       shallow  errors"), "{out}");
    assert!(out.contains("FAIL         dead       shallow  errors"), "{out}");
    // The re-analysis sees the trials that have no measured request too.
    let dir = std::fs::canonicalize(tmp.path().join("reports/latest")).unwrap();
    let again = tmp.path().join("again");
    let o = run(
        &spec,
        &["report", dir.to_str().unwrap(), "--out", again.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", text(&o));
    for f in ["summary.csv", "summary.json", "strata.csv"] {
        assert_eq!(
            std::fs::read(dir.join(f)).unwrap(),
            std::fs::read(again.join(f)).unwrap(),
            "{f} differs after report"
        );
    }
    let ps = std::process::Command::new("pgrep")
        .args(["-f", &fixture.display().to_string()])
        .output();
    if let Ok(ps) = ps {
        assert!(
            ps.stdout.is_empty(),
            "engine processes left: {}",
            String::from_utf8_lossy(&ps.stdout)
        );
    }
}

#[test]
fn summary_json_and_markdown_exports_carry_every_judgement_and_the_decision() {
    let tmp = tempfile::tempdir().unwrap();
    // keyset held to 1 % of the baseline's p95 on the shallow mix: a sure FAIL that decides.
    let spec = spec_in(
        tmp.path(),
        &[
            ("candidates = [\"memindex\", \"prefetch\"]", "candidates = [\"keyset\"]"),
            ("mixes = [\"default\"]\n", "mixes = [\"shallow\"]\n"),
            ("p95_ratio_max = 0.8", "p95_ratio_max = 0.01"),
        ],
    );
    let json = tmp.path().join("out.json");
    let md = tmp.path().join("out.md");
    let mut args = vec![
        "bench",
        "--engines",
        "keyset",
        "--export-json",
        json.to_str().unwrap(),
        "--export-markdown",
        md.to_str().unwrap(),
    ];
    args.extend_from_slice(SMALL);
    let o = run(&spec, &args);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["decision"], "fail");
    let judgements = doc["judgements"].as_array().unwrap();
    let failed = judgements
        .iter()
        .find(|j| j["engine"] == "keyset" && j["check"] == "p95_ratio_max")
        .unwrap();
    assert_eq!(failed["outcome"], "fail");
    assert_eq!(failed["decides_exit_code"], true);
    assert!(failed["interval"][0].as_f64().unwrap() > 0.01, "{failed}");
    let rows = doc["summaries"].as_array().unwrap();
    assert!(rows
        .iter()
        .any(|r| r["engine"] == "baseline" && r["role"] == "reference"));
    assert!(rows.iter().all(|r| r["rounds"] == 3));
    assert!(!doc["strata"].as_array().unwrap().is_empty());
    // The export is the run's own summary.json.
    let dir = std::fs::canonicalize(tmp.path().join("reports/latest")).unwrap();
    assert_eq!(
        std::fs::read(&json).unwrap(),
        std::fs::read(dir.join("summary.json")).unwrap()
    );
    let md = std::fs::read_to_string(&md).unwrap();
    assert!(md.starts_with("### audit-harness: FAIL"), "{md}");
    assert!(md.contains("| **FAIL** | keyset | shallow | `p95_ratio_max` |"), "{md}");

    // An export path that cannot be written is refused before anything runs.
    let o = run(&spec, &["bench", "--export-json", "/nonexistent/dir/out.json"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("--export-json /nonexistent/dir/out.json"),
        "{}",
        text(&o)
    );
}

#[test]
fn compare_shows_each_figure_between_two_runs_and_names_what_differs() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = spec_in(tmp.path(), &[]);
    let mut args = vec!["bench", "--engines", "memindex"];
    args.extend_from_slice(SMALL);
    let o = run(&spec, &args);
    assert!(matches!(o.status.code(), Some(0 | 3)), "{}", text(&o));
    let a = std::fs::canonicalize(tmp.path().join("reports/latest")).unwrap();

    // A run against itself: every ratio is 1, nothing regressed, nothing differs.
    let o = run(&spec, &["compare", a.to_str().unwrap(), a.to_str().unwrap()]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("same machine, spec, dataset, revision and benchmark settings"),
        "{out}"
    );
    assert!(out.contains("NOTE A and B are the same run"), "{out}");
    for figure in ["p50_ms", "p95_ms", "p99_ms", "rps"] {
        assert!(
            out.contains(&format!("memindex   shallow  {figure:<7}")),
            "{figure}: {out}"
        );
    }
    assert!(out.lines().filter(|l| l.contains("B/A 1.000")).count() >= 8, "{out}");

    // Another machine: said plainly; a run 3x slower: its latency regressed (exit 1).
    let b = tmp.path().join("b");
    std::fs::create_dir(&b).unwrap();
    let mut info: serde_json::Value = serde_json::from_slice(&std::fs::read(a.join("run.json")).unwrap()).unwrap();
    info["machine"]["cpu_model"] = "Another CPU".into();
    std::fs::write(b.join("run.json"), info.to_string()).unwrap();
    let mut series =
        audit_harness::report::latencies::read(std::fs::File::open(a.join("latencies.csv")).unwrap(), "l").unwrap();
    for s in &mut series {
        for t in &mut s.trials {
            for r in &mut t.requests {
                r.latency_ns *= 3;
                r.start_ns *= 3;
            }
        }
    }
    std::fs::write(
        b.join("latencies.csv"),
        audit_harness::report::latencies::to_csv(&series).unwrap(),
    )
    .unwrap();
    let o = run(&spec, &["compare", a.to_str().unwrap(), b.to_str().unwrap()]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("NOTE machine differs"), "{out}");
    assert!(out.contains("REGRESSED"), "{out}");
    assert!(
        out.lines().any(|l| l.contains("p95_ms") && l.contains("B/A 3.000")),
        "{out}"
    );

    // report and compare need no harness.toml where they run: run.json holds the spec.
    let elsewhere = tempfile::tempdir().unwrap();
    for args in [
        vec!["report", a.to_str().unwrap(), "--out", "again"],
        vec!["compare", a.to_str().unwrap(), a.to_str().unwrap()],
    ] {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_audit-harness"))
            .current_dir(elsewhere.path())
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", text(&o));
    }
    assert!(elsewhere.path().join("again/summary.csv").is_file());

    // Another dataset: refused, nothing compared.
    info["dataset"]["rows"] = 3000.into();
    std::fs::write(b.join("run.json"), info.to_string()).unwrap();
    let o = run(&spec, &["compare", a.to_str().unwrap(), b.to_str().unwrap()]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(out.contains("the runs measured different datasets"), "{out}");
    assert!(!out.contains("B/A"), "{out}");

    for (bad, says) in [
        (
            vec!["compare", a.to_str().unwrap(), "/nonexistent/run"],
            "/nonexistent/run/run.json",
        ),
        (
            vec!["compare", a.to_str().unwrap(), a.to_str().unwrap(), "--noise", "2"],
            "expected a fraction",
        ),
    ] {
        let o = run(&spec, &bad);
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {}", text(&o));
        assert!(text(&o).contains(says), "{bad:?}: {}", text(&o));
    }
}

/// Every line of `out` fits 120 columns, except a replay command, a query or
/// a dataset printed whole so that it can be pasted.
fn assert_fits_120_columns(out: &str) {
    for line in out.lines() {
        let t = line.trim_start();
        if t.starts_with("replay") || t.starts_with("query") || t.starts_with("dataset") {
            continue;
        }
        assert!(line.chars().count() <= 120, "{} columns: {line}", line.chars().count());
    }
}

#[test]
fn a_saved_baseline_is_compared_with_later_runs_and_quiet_and_verbose_change_only_the_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = spec_in(tmp.path(), &[]);
    let mut args = vec![
        "--verbose",
        "bench",
        "--engines",
        "memindex",
        "--save-baseline",
        "before",
    ];
    args.extend_from_slice(SMALL);
    let o = run(&spec, &args);
    let out = text(&o);
    assert!(matches!(o.status.code(), Some(0 | 3)), "{out}");
    let saved = tmp.path().join("reports/baselines/before");
    assert!(
        out.contains(&format!("saved as baseline before: {}", saved.display())),
        "{out}"
    );
    for f in ["run.json", "latencies.csv", "summary.json"] {
        assert!(saved.join(f).is_file(), "{f} not saved: {out}");
    }
    // --verbose: a line per trial, and the variance behind the intervals.
    assert!(
        out.lines()
            .any(|l| l.starts_with("    trial memindex on shallow, round 3:")),
        "{out}"
    );
    assert!(out.contains("-- variance of the log figures"), "{out}");
    assert_fits_120_columns(&String::from_utf8_lossy(&o.stdout));

    // Make the saved baseline three times faster: the next run regressed (exit 1).
    let mut series =
        audit_harness::report::latencies::read(std::fs::File::open(saved.join("latencies.csv")).unwrap(), "l").unwrap();
    for s in &mut series {
        for t in &mut s.trials {
            for r in &mut t.requests {
                r.latency_ns /= 3;
                r.start_ns /= 3;
            }
        }
    }
    std::fs::write(
        saved.join("latencies.csv"),
        audit_harness::report::latencies::to_csv(&series).unwrap(),
    )
    .unwrap();
    let mut args = vec!["--quiet", "bench", "--engines", "memindex", "--baseline", "before"];
    args.extend_from_slice(SMALL);
    let o = run(&spec, &args);
    let stdout = String::from_utf8_lossy(&o.stdout).to_string();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(stdout.contains("REGRESSED"), "{stdout}");
    assert!(
        stdout.lines().last().is_some_and(|l| l.starts_with("bench: FAIL")),
        "{stdout}"
    );
    // --quiet: no plan, no rounds, no passing lines.
    for chatter in ["== bench", "round 1/", "harness overhead", "PASS  "] {
        assert!(!stdout.contains(chatter), "{chatter}: {stdout}");
    }
    assert!(stdout.contains("== reports: "), "{stdout}");

    // Bad names and combinations are refused before anything runs.
    for (bad, says) in [
        (vec!["bench", "--baseline", "missing"], "no saved baseline of that name"),
        (vec!["bench", "--save-baseline", "../up"], "not allowed"),
        (
            vec!["bench", "--save-baseline", "a", "--baseline", "before"],
            "cannot be used with",
        ),
        (vec!["bench", "--noise", "0.1"], "--baseline"),
        (vec!["--quiet", "--verbose", "bench"], "cannot be used with"),
    ] {
        let o = run(&spec, &bad);
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {}", text(&o));
        assert!(text(&o).contains(says), "{bad:?}: {}", text(&o));
        assert_eq!(text(&o).trim_end().lines().count(), 1, "{bad:?}: {}", text(&o));
    }
    let runs = std::fs::read_dir(tmp.path().join("reports"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name() != "latest" && e.as_ref().unwrap().file_name() != "baselines")
        .count();
    assert_eq!(runs, 2, "a refused run left a report directory");
}

/// When the rounds under appends cannot run (here TMPDIR cannot hold the
/// scratch copy), the message names TMPDIR, not the user's dataset, and the
/// quiet run's verdict and reports are kept; the run still ends with exit 2.
#[test]
fn appends_that_cannot_run_name_tmpdir_and_keep_the_quiet_verdict() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = spec_in(tmp.path(), &[]);
    let not_a_dir = tmp.path().join("a-file");
    std::fs::write(&not_a_dir, "").unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_audit-harness"))
        .current_dir(common::root())
        .env("TMPDIR", &not_a_dir)
        .args(["--spec", spec.to_str().unwrap(), "bench", "--engines", "memindex"])
        .args(SMALL)
        .args(["--append-rate", "200"])
        .output()
        .unwrap();
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("(TMPDIR)") && err.contains(&not_a_dir.display().to_string()),
        "{err}"
    );
    assert!(!err.contains("payloads.jsonl") && !err.contains("audit.db"), "{err}");
    assert!(out.contains("appends not measured"), "{out}");
    // The quiet run's verdict lines and report files are there.
    assert!(out.contains("memindex"), "{out}");
    let dir = std::fs::canonicalize(tmp.path().join("reports/latest")).unwrap();
    for f in ["summary.csv", "summary.json", "report.html", "latencies.csv"] {
        assert!(dir.join(f).is_file(), "{f}: {out}");
    }
    let info: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("run.json")).unwrap()).unwrap();
    assert_eq!(info["exit_code"], 2, "{info}");
    assert_eq!(info["complete"], false, "{info}");
    assert!(
        info["stages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s[0] == "appends" && s[1] == "error"),
        "{info}"
    );
}

/// With an append rate, the same rounds run again while a writer appends to a
/// scratch copy: figures beside the quiet ones in the terminal, appends.csv
/// and run.json, the writer's achieved rate, and the dataset untouched.
#[test]
fn under_appends_the_rounds_run_again_beside_the_quiet_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = spec_in(tmp.path(), &[]);
    let data = common::default_dataset();
    let before = std::fs::metadata(data.join("payloads.jsonl")).unwrap().len();
    let o = run(
        &spec,
        &[
            "bench",
            "--engines",
            "memindex",
            "--mix",
            "shallow",
            "--requests",
            "60",
            "--warmup",
            "2",
            "--min-rounds",
            "2",
            "--max-rounds",
            "2",
            "--append-rate",
            "200",
            "--color",
            "never",
        ],
    );
    let out = text(&o);
    assert!(matches!(o.status.code(), Some(0 | 1 | 3)), "{out}");
    assert!(
        out.contains("== bench under appends: the same 2 round(s) again"),
        "{out}"
    );
    assert!(
        out.contains("writer: ") && out.contains("rows/s achieved of 200 asked"),
        "{out}"
    );
    assert_eq!(std::fs::metadata(data.join("payloads.jsonl")).unwrap().len(), before);
    let dir = std::fs::canonicalize(tmp.path().join("reports/latest")).unwrap();
    let (h, rows) = csv_rows(&dir.join("appends.csv"));
    assert_eq!(rows.len(), 2, "baseline and memindex: {rows:?}");
    let mem = rows.iter().find(|r| col(&h, r, "engine") == "memindex").unwrap();
    let ratio: f64 = col(&h, mem, "p99_ratio").parse().unwrap();
    let (q, a): (f64, f64) = (
        col(&h, mem, "quiet_p99_ms").parse().unwrap(),
        col(&h, mem, "appending_p99_ms").parse().unwrap(),
    );
    assert!((ratio - a / q).abs() < 1e-3 * ratio.max(1.0), "{mem:?}");
    let info: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("run.json")).unwrap()).unwrap();
    let w = &info["bench"]["appends"]["writer"];
    assert!(w["rows"].as_u64().unwrap() > 0, "{info}");
    assert!(w["achieved_rate"].as_f64().unwrap() > 0.0, "{info}");
    assert_eq!(info["bench"]["appends"]["rounds"], 2);

    // Off by default: no second pass, no appends.csv, no run.json field.
    let o = run(
        &spec,
        &[
            "bench",
            "--engines",
            "memindex",
            "--mix",
            "shallow",
            "--requests",
            "64",
            "--warmup",
            "1",
            "--min-rounds",
            "2",
            "--max-rounds",
            "2",
        ],
    );
    assert!(o.status.code().is_some_and(|c| c != 2), "{}", text(&o));
    assert!(!text(&o).contains("under appends"), "{}", text(&o));
    let dir = std::fs::canonicalize(tmp.path().join("reports/latest")).unwrap();
    assert!(!dir.join("appends.csv").exists());
    let info: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("run.json")).unwrap()).unwrap();
    assert!(info["bench"].get("appends").is_none(), "{info}");
}

/// A reference that answers some requests with an error is no yardstick:
/// the run exits 1, and its files say so too. summary.json, report.html and
/// `report DIR`'s recomputation used to say `pass` from the candidates'
/// checks alone while the command exited 1.
#[test]
fn a_reference_that_errs_leaves_no_file_saying_pass() {
    let tmp = tempfile::tempdir().unwrap();
    // A copy of its own: another test looks for the fixture's processes by its path.
    let fixture = tmp.path().join("flaky.sh");
    std::fs::copy(common::root().join("tests/fixtures/process/misbehave.sh"), &fixture).unwrap();
    let spec = spec_in(
        tmp.path(),
        &[
            (
                "reference = \"baseline\"\n# Engines benchmarked",
                "reference = \"flaky\"\n# Engines benchmarked",
            ),
            (
                "candidates = [\"memindex\", \"prefetch\"]",
                "candidates = [\"memindex\"]",
            ),
        ],
    );
    let mut text_spec = std::fs::read_to_string(&spec).unwrap();
    text_spec.push_str(&format!(
        "\n[engines.flaky]\ncommand = [\"sh\", {:?}, \"error\"]\n",
        fixture.display().to_string()
    ));
    std::fs::write(&spec, text_spec).unwrap();
    let o = run(
        &spec,
        &[
            "bench",
            "--engines",
            "flaky,memindex",
            "--mix",
            "default",
            "--max-seconds",
            "10",
        ],
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("with an error; its figures are no yardstick"), "{out}");
    let dir = std::fs::canonicalize(tmp.path().join("reports/latest")).unwrap();
    let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["decision"], "inconclusive", "{summary}");
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("its figures are no yardstick"), "report.html");
    assert!(!html.contains("badge decision pass"), "report.html");
    // `report DIR` recomputes the same files.
    let again = tmp.path().join("again");
    let o = run(
        &spec,
        &["report", dir.to_str().unwrap(), "--out", again.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        std::fs::read(dir.join("summary.json")).unwrap(),
        std::fs::read(again.join("summary.json")).unwrap()
    );
}
