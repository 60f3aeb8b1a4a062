//! The binary's commands and exit codes, as a user meets them.

mod common;

use common::{harness, harness_stdin};

fn data() -> String {
    common::default_dataset().display().to_string()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn query_prints_the_answer_json() {
    let o = harness(&[
        "--data",
        &data(),
        "query",
        "--engine",
        "baseline",
        "--from",
        "1767139200",
        "--to",
        "1767225600",
        "--action",
        "UPDATE",
        "--page-size",
        "20",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["count"], 20);
    let e = &v["events"][0];
    let keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "id",
            "created_at",
            "actor_id",
            "action",
            "resource_type",
            "resource_id",
            "payload"
        ]
    );
    assert_eq!(e["action"], "UPDATE");
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("\"payload\":{\"diff\":{\"field_0\""),
        "payload keys out of order: {}",
        &text[..200]
    );
}

#[test]
fn queries_outside_the_domain_are_rejected_before_the_engine() {
    for (flag, value, field) in [
        ("--page", "0", "page"),
        ("--page", "2001", "page"),
        ("--page-size", "7", "page_size"),
    ] {
        let o = harness(&["--data", &data(), "query", "--engine", "baseline", flag, value]);
        assert_eq!(o.status.code(), Some(2), "{flag} {value}");
        let e = stderr(&o);
        assert!(e.contains(field) && e.contains("allowed"), "{e}");
        assert_eq!(e.lines().count(), 1, "{e}");
    }
}

#[test]
fn batch_answers_every_line_in_order_and_marks_bad_ones() {
    let input = [
        r#"{"from_ts": 0, "to_ts": 9999999999, "actor_id": 306, "action": null, "page": 1, "page_size": 10}"#,
        r#"{"from_ts": 0, "to_ts": "soon"}"#,
        r#"{"from_ts": 0, "to_ts": 9999999999, "actor_id": null, "action": "LOGIN", "page": 0, "page_size": 10}"#,
        r#"{"from_ts": 0, "to_ts": 9999999999, "page": 2, "page_size": 50}"#,
    ]
    .join("\n");
    let o = harness_stdin(
        &["--data", &data(), "query", "--engine", "baseline", "--batch", "-"],
        &input,
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert!(lines[0]["count"].as_u64().unwrap() > 0);
    assert!(lines[0]["events"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["actor_id"] == 306));
    assert!(lines[1]["error"].as_str().unwrap().contains("line 2"));
    assert!(lines[2]["error"].as_str().unwrap().contains("page"));
    assert_eq!(lines[3]["count"], 50);
    assert!(stderr(&o).contains("2 line(s)"));
}

#[test]
fn bad_input_gets_one_line_and_exit_2() {
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--spec", "/nonexistent.toml", "engines"], "/nonexistent.toml"),
        (
            vec!["--data", "/nonexistent", "query", "--engine", "baseline"],
            "audit.db",
        ),
        (vec!["query", "--engine", "nosuch"], "known engines are baseline"),
        (vec!["--data", "/nonexistent", "verify"], "manifest"),
        (vec!["gen", "--out", "/proc/nope/x", "--rows", "5"], "/proc/nope"),
        (vec!["adopt", "/nonexistent"], "audit.db"),
    ];
    for (args, needle) in cases {
        let o = harness(&args);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {e}");
        assert!(e.contains(needle), "{args:?}: {e}");
        assert_eq!(e.trim_end().lines().count(), 1, "{args:?}: {e}");
    }
    // An option of the harness given after a command it does not apply to
    // says where it does.
    for (args, flag) in [
        (vec!["report", "/x", "--data", "/x"], "--data"),
        (vec!["calibrate", "--engine-command=a=true"], "--engine-command"),
        (
            vec!["compare", "a", "b", "--engine-url", "a=http://h/p"],
            "--engine-url",
        ),
    ] {
        let o = harness(&args);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {e}");
        assert!(
            e.contains(&format!("{flag} applies to "))
                && e.contains("(before or after the command), not to this command"),
            "{args:?}: {e}"
        );
        assert_eq!(e.trim_end().lines().count(), 1, "{args:?}: {e}");
    }
    // Before a command it does not apply to: refused, not ignored.
    let o = harness(&["--data", "/x", "http-cost"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--data does not apply to `http-cost`; it applies to gen, verify"),
        "{}",
        stderr(&o)
    );
    // Two different --data, one on each side.
    let o = harness(&["--data", "/a", "verify", "--data", "/b"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--data is given twice, /a before the command and /b after it"),
        "{}",
        stderr(&o)
    );
    // Flags out of range are clap's errors, also exit 2.
    let o = harness(&["gen", "--rows", "0"]);
    assert_eq!(o.status.code(), Some(2));
}

/// `--data`, `--engine-command` and `--engine-url` work before and after
/// the command, alike.
#[test]
fn placed_options_work_before_and_after_the_command() {
    // --data
    let data = data();
    for args in [vec!["--data", &data, "verify"], vec!["verify", "--data", &data]] {
        let o = harness(&args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        assert!(String::from_utf8_lossy(&o.stdout).contains("contract"), "{args:?}");
    }
    // --engine-command
    for args in [
        vec!["--engine-command", "placed=true", "engines"],
        vec!["engines", "--engine-command", "placed=true"],
    ] {
        let o = harness(&args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(out.lines().any(|l| l.starts_with("placed ")), "{args:?}: {out}");
    }
    // --engine-url
    for args in [
        vec!["--engine-url", "where=http://127.0.0.1:9/audit-events", "engines"],
        vec!["engines", "--engine-url", "where=http://127.0.0.1:9/audit-events"],
    ] {
        let o = harness(&args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(out.lines().any(|l| l.starts_with("where ")), "{args:?}: {out}");
    }
}

#[test]
fn engines_lists_one_line_each_and_verify_passes_on_the_default_dataset() {
    let o = harness(&["engines"]);
    assert!(o.status.success());
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.lines().any(|l| l.starts_with("baseline ")), "{out}");
    let o = harness(&["--data", &data(), "verify"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("contract"));
}

#[test]
fn property_names_as_printed_and_with_hyphens_are_accepted() {
    use audit_harness::cli::{Cli, Command};
    use clap::Parser;
    for (given, want) in [
        ("small_datasets", "small_datasets"),
        ("small-datasets", "small_datasets"),
        ("payloads_from_disk", "payloads_from_disk"),
        ("payloads-from-disk", "payloads_from_disk"),
        ("outside_domain", "outside_domain"),
        ("outside-domain", "outside_domain"),
        ("mix", "mix"),
    ] {
        let cli = Cli::try_parse_from(["audit-harness", "equiv", "--property", given]).unwrap();
        let Command::Equiv(a) = cli.command else {
            panic!("not equiv")
        };
        assert_eq!(a.property[0].name(), want);
    }
    let e = harness(&["equiv", "--property", "nope"]);
    assert_eq!(e.status.code(), Some(2));
    let err = stderr(&e);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("small_datasets"), "{err}");
}

#[test]
fn help_says_where_options_apply_and_what_query_allows() {
    let out = |args: &[&str]| String::from_utf8_lossy(&harness(args).stdout).into_owned();
    for cmd in ["gen", "adopt", "report"] {
        let h = out(&[cmd, "--help"]);
        assert!(!h.contains("--engine-command"), "{cmd}: {h}");
    }
    let h = out(&["query", "--help"]);
    assert!(h.contains("max_page` (2000") && h.contains("10, 20 or 50"), "{h}");
    let h = out(&["--help"]);
    assert!(h.contains("--engine-command") && h.contains("--data"), "{h}");
    let o = harness(&["--engine-command", "x=true", "gen", "--out", "/nonexistent/x"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--engine-command does not apply to `gen`"),
        "{}",
        stderr(&o)
    );
}

/// `./run_tests` runs the binary cargo built, wherever cargo put it, never a
/// fixed `target/release` path (missing with CARGO_TARGET_DIR, stale otherwise).
/// A stand-in `cargo` reports a stand-in binary, which records how it is run.
#[test]
fn run_tests_runs_the_binary_cargo_reports() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("log");
    let stub = tmp.path().join("stub-harness");
    std::fs::write(&stub, format!("#!/bin/sh\necho \"$*\" >> '{}'\n", log.display())).unwrap();
    let cargo = tmp.path().join("cargo");
    std::fs::write(
        &cargo,
        format!(
            "#!/bin/sh\ncase \"$1\" in build) ;; *) exit 1 ;; esac\n\
             echo '{{\"reason\":\"compiler-artifact\",\"package_id\":\"x\",\"target\":{{\"kind\":[\"lib\"],\"name\":\"audit_harness\",\"src_path\":\"/x/src/lib.rs\"}},\"executable\":null,\"fresh\":true}}'\n\
             echo '{{\"reason\":\"compiler-artifact\",\"package_id\":\"x\",\"target\":{{\"kind\":[\"bin\"],\"name\":\"audit-harness\",\"src_path\":\"/x/src/main.rs\"}},\"executable\":\"{}\",\"fresh\":true}}'\n\
             echo '{{\"reason\":\"build-finished\",\"success\":true}}'\n",
            stub.display()
        ),
    )
    .unwrap();
    for f in [&stub, &cargo] {
        std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = format!("{}:{}", tmp.path().display(), std::env::var("PATH").unwrap_or_default());
    let o = std::process::Command::new(common::root().join("run_tests"))
        .args(["--spec", "my spec.toml"])
        .env("PATH", path)
        .env("CARGO_TARGET_DIR", tmp.path().join("elsewhere"))
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}{}", stderr(&o));
    assert!(out.starts_with("== build (release)\n"), "{out}");
    let ran = std::fs::read_to_string(&log).unwrap();
    assert_eq!(ran, "--spec my spec.toml gen --if-missing\n--spec my spec.toml gate\n");
}

#[test]
fn colour_is_on_when_asked_off_when_not_and_bad_values_are_refused() {
    let data = data();
    let run = |color: &str| harness(&["--color", color, "--data", &data, "verify"]);
    let always = run("always");
    assert!(always.status.success(), "{}", stderr(&always));
    let out = String::from_utf8_lossy(&always.stdout);
    assert!(out.contains("\u{1b}[") && out.contains("ok"), "{out:?}");
    for when in ["never", "auto"] {
        // auto: stdout is a pipe here, so no colour.
        let o = run(when);
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success() && !out.contains('\u{1b}'), "{when}: {out:?}");
        assert!(out.contains("  ok   schema"), "{when}: {out}");
    }
    let o = harness(&["--color", "sometimes", "verify"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("possible values: auto, always, never"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn version_names_the_revision_and_the_compiler_that_built_it() {
    let o = harness(&["--version"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}");
    assert!(out.starts_with("audit-harness 0.1.0 (git "), "{out}");
    assert!(out.contains(", built with rustc "), "{out}");
    // The revision is the checkout's, "-dirty" exactly when the binary's own
    // sources differ from it (build.rs watches those, not .git/index).
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(common::root())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    if let Some(head) = git(&["rev-parse", "--short=12", "HEAD"]) {
        let dirty = git(&[
            "status",
            "--porcelain",
            "--untracked-files=no",
            "--",
            "src",
            "engines/src",
            "engines/Cargo.toml",
            "build.rs",
            "Cargo.toml",
            "Cargo.lock",
        ])
        .is_some_and(|s| !s.is_empty());
        let want = if dirty { format!("{head}-dirty") } else { head };
        assert!(out.contains(&format!("(git {want},")), "{out}: want {want}");
    }
}

#[test]
fn completions_and_manual_pages_come_from_the_command_line_definition() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef audit-harness"),
        ("fish", "complete -c audit-harness"),
    ] {
        let o = harness(&["completions", shell]);
        assert_eq!(o.status.code(), Some(0), "{shell}");
        let script = String::from_utf8_lossy(&o.stdout);
        assert!(script.contains(marker), "{shell}: {script}");
        for sub in ["gate", "bench", "compare", "calibrate", "save-baseline"] {
            assert!(script.contains(sub), "{shell} completes no {sub}");
        }
    }
    let o = harness(&["completions", "tcsh"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("possible values: bash"));

    let o = harness(&["man"]);
    assert_eq!(o.status.code(), Some(0));
    let page = String::from_utf8_lossy(&o.stdout);
    assert!(
        page.starts_with(".ie") || page.contains(".TH audit-harness 1"),
        "{page}"
    );
    assert!(
        page.contains("audit\\-harness\\-gate(1)") || page.contains("gate"),
        "{page}"
    );

    let dir = tempfile::tempdir().unwrap();
    let o = harness(&["man", "--out", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    for page in ["audit-harness.1", "audit-harness-gate.1", "audit-harness-bench.1"] {
        let text = std::fs::read_to_string(dir.path().join(page)).unwrap();
        assert!(text.contains(".TH"), "{page}");
    }
    assert!(
        !dir.path().join("audit-harness-protocol-null.1").exists(),
        "a hidden command got a page"
    );
    let o = harness(&["man", "--out", "/nonexistent/dir"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("expected an existing directory"));
}

#[test]
fn payload_numbers_are_printed_as_the_file_holds_them_by_every_engine() {
    use audit_harness::dataset::write::{write_dataset, NewRow};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("numbers");
    // Beyond u64, beyond f64's exact integers, a float written with a zero
    // fraction, an exponent beyond f64's range: none may pass through a float.
    let payload = r#"{"big":18446744073709551617,"exact":9007199254740993,"f":802.0,"huge":1e+400,"neg":-0.10}"#;
    let rows: Vec<NewRow> = (0..3)
        .map(|i| NewRow {
            created_at: 100 + i,
            actor_id: 1,
            action: "UPDATE".into(),
            resource_type: "DOC".into(),
            resource_id: format!("DOC-{i}"),
            payload: serde_json::from_str(payload).unwrap(),
        })
        .collect();
    write_dataset(&dir, &rows).unwrap();
    for engine in ["baseline", "memindex", "prefetch", "keyset", "floor"] {
        let o = harness(&[
            "--data",
            dir.to_str().unwrap(),
            "query",
            "--engine",
            engine,
            "--from",
            "0",
            "--to",
            "1000",
            "--page-size",
            "10",
        ]);
        assert!(o.status.success(), "{engine}: {}", stderr(&o));
        let text = String::from_utf8_lossy(&o.stdout);
        assert_eq!(text.matches(payload).count(), 3, "{engine}: {text}");
    }
}
