//! Fault injection: bad specs, flags, batches and damaged datasets, engines
//! that cannot start, hang or die, and signals. Each fault must end with its
//! documented exit code and a message naming what is wrong (one line for bad
//! input), leave no child process running and no partial file behind.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use audit_harness::cancel::Cancel;
use audit_harness::dataset::{self, GenParams};

/// A 300-row dataset from the contract's generator, shared by the cases here.
fn small() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let p = GenParams {
            rows: 300,
            ..GenParams::default()
        };
        dataset::generate(&p, &tmp.path().join("d"), false, &Cancel::new()).unwrap();
        tmp
    })
    .path()
    .join("d")
    .leak()
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// The shipped spec with replacements, in `dir` (so reports and regressions land there too).
fn spec_with(dir: &Path, name: &str, edits: &[(&str, &str)], extra: &str) -> String {
    let mut text = std::fs::read_to_string(common::root().join("harness.toml")).unwrap();
    for (from, to) in edits {
        assert!(text.contains(from), "the shipped spec has no {from:?}");
        text = text.replacen(from, to, 1);
    }
    text.push_str(extra);
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    s(&path)
}

/// A copy of the small dataset in `dir/name`, changed by `damage`.
fn damaged(dir: &Path, name: &str, damage: impl FnOnce(&Path)) -> String {
    let d = dir.join(name);
    common::copy_dataset(small(), &d);
    damage(&d);
    s(&d)
}

fn fixture() -> String {
    s(&common::root().join("tests/fixtures/process/misbehave.sh"))
}

/// A unique word put on an engine's command line, to find its processes in /proc.
fn marker(tag: &str) -> String {
    format!("faults-marker-{}-{tag}", std::process::id())
}

/// Processes still running (not zombies) whose command line holds `marker`.
fn running_with(marker: &str) -> Vec<u32> {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let mut found = Vec::new();
        for e in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
            let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
            let zombie = stat.rsplit(')').next().is_some_and(|s| s.trim_start().starts_with('Z'));
            if !zombie && String::from_utf8_lossy(&cmd).contains(marker) {
                found.push(pid);
            }
        }
        if found.is_empty() || Instant::now() > deadline {
            return found;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Files or directories a run must never leave behind.
fn partial_files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with(".gen-") || name.starts_with(".old-") || name.starts_with(".tmp-") {
                out.push(s(&e.path()));
            }
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(e.path());
            }
        }
    }
    out
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// One fault: the arguments, the exit code and a substring of stderr (or of
/// stdout, for batch answers) it must give.
struct Case {
    name: &'static str,
    args: Vec<String>,
    code: i32,
    needle: String,
}

fn case(name: &'static str, args: Vec<String>, code: i32, needle: &str) -> Case {
    Case {
        name,
        args,
        code,
        needle: needle.to_string(),
    }
}

fn v(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

#[test]
fn every_fault_gets_its_exit_code_and_message_and_leaves_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let data = s(small());
    let text_db = damaged(t, "text-db", |d| std::fs::write(d.join("audit.db"), "hello\n").unwrap());
    let renamed = damaged(t, "renamed", |d| {
        let c = rusqlite::Connection::open(d.join("audit.db")).unwrap();
        c.execute_batch("ALTER TABLE audit_events RENAME TO events").unwrap();
    });
    let dropped_col = damaged(t, "dropped-column", |d| {
        let c = rusqlite::Connection::open(d.join("audit.db")).unwrap();
        c.execute_batch("DROP INDEX idx_created_at; ALTER TABLE audit_events DROP COLUMN action")
            .unwrap();
    });
    let pl_dir = damaged(t, "payloads-dir", |d| {
        std::fs::remove_file(d.join("payloads.jsonl")).unwrap();
        std::fs::create_dir(d.join("payloads.jsonl")).unwrap();
    });
    let truncated = damaged(t, "truncated", |d| {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(d.join("payloads.jsonl"))
            .unwrap();
        f.set_len(1000).unwrap();
    });
    let no_payloads = damaged(t, "no-payloads", |d| {
        std::fs::remove_file(d.join("payloads.jsonl")).unwrap()
    });
    let batch_array = t.join("array.jsonl");
    std::fs::write(&batch_array, "[0, 1767225600, null, null, 1, 10]\n").unwrap();
    let batch_empty = t.join("empty.jsonl");
    std::fs::write(&batch_empty, "\n").unwrap();
    let batch_twice = t.join("twice.jsonl");
    std::fs::write(
        &batch_twice,
        "{\"from_ts\": 0, \"to_ts\": 1767225600, \"page\": 1, \"page\": 2, \"page_size\": 10}\n",
    )
    .unwrap();
    let batch_domain = t.join("domain.jsonl");
    std::fs::write(
        &batch_domain,
        "{\"from_ts\": 0, \"to_ts\": 1767225600, \"page\": 1, \"page_size\": 10}\n{\"from_ts\": 0, \"to_ts\": 1767225600, \"page\": 0, \"page_size\": 10}\n",
    )
    .unwrap();
    let a_file = t.join("a-file");
    std::fs::write(&a_file, "x").unwrap();
    let ghost = marker("ghost");

    let spec = |name: &str, edits: &[(&str, &str)]| spec_with(t, name, edits, "");
    let quick_bench = v(&[
        "bench",
        "--mix",
        "shallow",
        "--requests",
        "10",
        "--min-rounds",
        "2",
        "--max-rounds",
        "2",
    ]);
    let only = |spec_file: String, rest: Vec<String>| {
        let mut a = vec!["--spec".to_string(), spec_file];
        a.extend(rest);
        a
    };
    let with = |spec_file: String, rest: Vec<String>| {
        let mut a = vec!["--spec".to_string(), spec_file, "--data".into(), data.clone()];
        a.extend(rest);
        a
    };
    let mut cases = vec![
        // [gate], [equivalence] and [bench] name registered engines only.
        case(
            "gate candidate typo",
            with(
                spec("cand", &[("candidates = [\"memindex\", \"prefetch\"]", "candidates = [\"nosuch\"]")]),
                quick_bench.clone(),
            ),
            2,
            "gate.candidates: \"nosuch\" is not an engine; the engines are baseline, keyset",
        ),
        case(
            "gate override for an unknown engine",
            with(
                spec_with(t, "override", &[], "\n[gate.engine.nosuch]\np99_ratio_max = 0.9\n"),
                v(&["gate"]),
            ),
            2,
            "gate.engine.nosuch: \"nosuch\" is not an engine",
        ),
        case(
            "equivalence engine typo",
            with(
                spec("eqeng", &[("engines = [\"keyset\", \"memindex\", \"prefetch\"]", "engines = [\"keyste\"]")]),
                v(&["equiv"]),
            ),
            2,
            "equivalence.engines: \"keyste\" is not an engine",
        ),
        case(
            "bench engine typo",
            with(
                spec("beng", &[("\"prefetch\", \"floor\"]", "\"prefetch\", \"flor\"]")]),
                quick_bench.clone(),
            ),
            2,
            "bench.engines: \"flor\" is not an engine",
        ),
        // Spec values: exactly [first, last], bounded threads, a rate's form, no overflow.
        case(
            "three pages",
            only(spec("pages", &[("pages = [1, 5]", "pages = [1, 2, 3]")]), v(&["engines"])),
            2,
            "mixes.shallow.pages: [1, 2, 3] is not allowed: expected [first, last], two integers",
        ),
        case(
            "too many threads",
            only(spec("threads", &[("threads = 32", "threads = 100000")]), v(&["engines"])),
            2,
            "equivalence.threads: 100000 is not allowed: expected an integer from 1 to 1024",
        ),
        case(
            "too many bench workers",
            only(spec("conc", &[("concurrency = 4", "concurrency = 100000")]), v(&["engines"])),
            2,
            "bench.concurrency: 100000 is not allowed: expected an integer from 1 to 1024",
        ),
        case(
            "too many engine processes",
            only(
                spec_with(t, "processes", &[], "\n[engines.py]\ncommand = [\"x\"]\nprocesses = 5000\n"),
                v(&["engines"]),
            ),
            2,
            "engines.py.processes: 5000 is not allowed: expected an integer from 1 to 1024",
        ),
        case(
            "a rate that is neither",
            only(spec("rate", &[("# rate = \"0.5x\"", "rate = \"fast\"")]), v(&["engines"])),
            2,
            "bench.rate: \"fast\" is not allowed: expected requests per second, a number > 0 (e.g. 2000), or a fraction of the baseline's closed-loop throughput, a string like \"0.5x\"",
        ),
        case(
            "a window reaching past i64",
            only(
                spec(
                    "window",
                    &[
                        ("now = 1767225600", "now = -2592100"),
                        ("window_seconds = 604800", "window_seconds = 9223372036854775807"),
                    ],
                ),
                v(&["engines"]),
            ),
            2,
            "mixes.default.window_seconds: 9223372036854775807 is not allowed",
        ),
        // Spec values near i64's ends: probes past max_page saturate instead of overflowing.
        case(
            "max_page at i64::MAX",
            with(
                spec("maxpage", &[("max_page = 2000", "max_page = 9223372036854775807")]),
                v(&["equiv", "--engines", "memindex", "--property", "outside_domain"]),
            ),
            0,
            "memindex   outside_domain      ok",
        ),
        // Negative values of count flags.
        case(
            "negative rows",
            v(&["gen", "--rows", "-1", "--out", &s(&t.join("neg"))]),
            2,
            "-1 is not allowed: expected an integer >= 1",
        ),
        case(
            "negative seed",
            v(&["equiv", "--seed", "-1"]),
            2,
            "-1 is not allowed: expected a non-negative integer",
        ),
        case(
            "--data where it does not apply",
            v(&["--data", &data, "adopt", &data]),
            2,
            "--data does not apply to `adopt`",
        ),
        // Damaged datasets are bad input for every engine and command alike.
        case(
            "a batch line that is an array",
            v(&["--data", &data, "query", "--engine", "baseline", "--batch", &s(&batch_array)]),
            1,
            "line 1: an array, not an object; expected one JSON object per line, like {\\\"from_ts\\\"",
        ),
        case(
            "an empty batch line",
            v(&["--data", &data, "query", "--engine", "baseline", "--batch", &s(&batch_empty)]),
            1,
            "line 1: empty line; expected one JSON object per line",
        ),
        case(
            "a batch line with a key twice",
            v(&["--data", &data, "query", "--engine", "baseline", "--batch", &s(&batch_twice)]),
            1,
            "line 1: not a query: duplicate field `page`",
        ),
        case(
            "a batch line outside the domain",
            v(&["--data", &data, "query", "--engine", "baseline", "--batch", &s(&batch_domain)]),
            1,
            "line 2: page = 0 is outside the domain",
        ),
        case(
            "payloads.jsonl is a directory (verify)",
            v(&["--data", &pl_dir, "verify"]),
            2,
            "payloads.jsonl",
        ),
        case(
            "payloads.jsonl is a directory (equiv)",
            v(&["--spec", &spec("pldir", &[]), "--data", &pl_dir, "equiv", "--engines", "memindex"]),
            2,
            "payloads.jsonl: not a regular file",
        ),
        case(
            "payloads.jsonl is missing",
            v(&["--data", &no_payloads, "query", "--engine", "keyset"]),
            2,
            "a dataset needs its payloads file",
        ),
        case(
            "an engine that cannot start (equiv)",
            with(
                spec("ghost", &[]),
                v(&[
                    "--engine-command",
                    &format!("ghost=/nonexistent/engine {ghost}"),
                    "equiv",
                    "--engines",
                    "ghost",
                ]),
            ),
            2,
            "engine ghost: cannot start `/nonexistent/engine",
        ),
        case(
            "a wrong pin",
            with(
                spec(
                    "pin",
                    &[("baseline_sha256 = \"sha256:77223870", "baseline_sha256 = \"sha256:87223870")],
                ),
                v(&["verify"]),
            ),
            1,
            "the spec's [integrity] baseline_sha256 (sha256:87223870cea4",
        ),
    ];
    for engine in ["baseline", "keyset", "memindex", "prefetch", "floor"] {
        for (dir, needle) in [
            (&text_db, "audit.db: cannot be read as SQLite (file is not a database)"),
            (&renamed, "audit.db: has no table audit_events"),
            (&dropped_col, "table audit_events lacks column(s) action"),
            (&pl_dir, "payloads.jsonl: not a regular file"),
            (
                &truncated,
                "past the end of the file (1000 bytes): payloads.jsonl is truncated",
            ),
        ] {
            cases.push(case(
                "a damaged dataset (query)",
                v(&[
                    "--data",
                    dir,
                    "query",
                    "--engine",
                    engine,
                    "--from",
                    "0",
                    "--to",
                    "9999999999",
                ]),
                2,
                needle,
            ));
        }
    }
    // `--data` before `verify` of a dataset in a mess is also bad input.
    cases.push(case(
        "text audit.db (verify)",
        v(&["--data", &text_db, "verify"]),
        2,
        "audit.db",
    ));

    for c in &cases {
        let o = common::harness(&c.args.iter().map(String::as_str).collect::<Vec<_>>());
        let (out, err) = text(&o);
        let what = format!("{}: {:?}\nstdout: {out}\nstderr: {err}", c.name, c.args);
        assert_eq!(o.status.code(), Some(c.code), "{what}");
        assert!(err.contains(&c.needle) || out.contains(&c.needle), "{what}");
        if c.code == 2 {
            assert_eq!(err.trim_end().lines().count(), 1, "one line: {what}");
            assert!(!err.contains("panicked"), "{what}");
        }
    }
    assert!(running_with(&ghost).is_empty());
    assert!(partial_files(t).is_empty(), "{:?}", partial_files(t));
    // gen --force over a file replaces it and leaves nothing aside.
    let o = common::harness(&["gen", "--out", &s(&a_file), "--rows", "10", "--force"]);
    assert!(o.status.success(), "{:?}", text(&o));
    assert!(a_file.join("manifest.json").is_file());
    assert!(partial_files(t).is_empty(), "{:?}", partial_files(t));
}

/// A process engine that answers the handshake and then stalls is given up
/// on at its first hang: no further case, no shrinking through hangs, and no
/// regression saved (a hang is not a divergence).
#[test]
fn a_stalling_engine_is_given_up_on_at_its_first_hang_and_not_saved() {
    let tmp = tempfile::tempdir().unwrap();
    let mark = marker("stall");
    let extra = format!(
        "\n[engines.stall]\ncommand = [\"sh\", {:?}, \"hang\", \"{mark}\"]\ntimeout_ms = 300\n",
        fixture()
    );
    let spec = spec_with(tmp.path(), "stall", &[], &extra);
    let regressions = tmp.path().join("r.jsonl");
    for prop in ["small_datasets", "mix", "pagination"] {
        let start = Instant::now();
        let o = common::harness(&[
            "--spec",
            &spec,
            "--data",
            &s(small()),
            "equiv",
            "--engines",
            "stall",
            "--property",
            prop,
            "--cases",
            "40",
            "--small-dataset-cases",
            "40",
            "--regressions",
            &s(&regressions),
        ]);
        let took = start.elapsed();
        let (out, err) = text(&o);
        assert_eq!(o.status.code(), Some(1), "{prop}: {out}{err}");
        // 40 cases at 300 ms each, or shrinking through hangs, would take 12 s or more.
        assert!(took < Duration::from_secs(8), "{prop}: took {took:?}\n{out}");
        assert!(out.contains("FAIL"), "{out}");
        assert!(out.contains("hang: no answer within 300 ms"), "{out}");
        assert!(out.contains("stall was not asked again in this property"), "{out}");
        assert!(out.contains("shrunk  in 0 step(s)"), "{out}");
        assert!(running_with(&mark).is_empty(), "{prop}: engine left running");
    }
    let saved = std::fs::read_to_string(&regressions).unwrap_or_default();
    assert!(saved.trim().is_empty(), "a hang was saved as a regression: {saved}");
}

/// Sends `sig` to the harness once `ready(stdout so far)` holds, or after `after`.
fn signal_when(mut child: std::process::Child, sig: i32, ready: impl Fn(&Path) -> bool) -> Output {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready(Path::new("/")) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: sending a signal to our own child.
    unsafe { libc::kill(child.id() as i32, sig) };
    let start = Instant::now();
    let o = loop {
        if let Some(_status) = child.try_wait().unwrap() {
            break child.wait_with_output().unwrap();
        }
        if start.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("the harness did not stop within 10 s of the signal");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    o
}

fn spawn(args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_audit-harness"))
        .current_dir(common::root())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn sigterm_and_sigint_stop_equivalence_and_the_gate_kill_engines_and_exit_3() {
    let tmp = tempfile::tempdir().unwrap();
    for (sig, name, gate) in [
        (libc::SIGTERM, "SIGTERM", false),
        (libc::SIGINT, "SIGINT", false),
        (libc::SIGINT, "SIGINT", true),
    ] {
        let mark = marker(&format!("sig{sig}{gate}"));
        let extra = format!(
            "\n[engines.stall]\ncommand = [\"sh\", {:?}, \"hang\", \"{mark}\"]\ntimeout_ms = 60000\n",
            fixture()
        );
        let spec = spec_with(
            tmp.path(),
            &format!("sig{sig}{gate}"),
            &[(
                "engines = [\"keyset\", \"memindex\", \"prefetch\"]",
                "engines = [\"stall\"]",
            )],
            &extra,
        );
        let data = s(small());
        let mut args = vec!["--spec", &spec, "--data", &data];
        if gate {
            args.push("gate");
        } else {
            args.extend(["equiv", "--property", "mix"]);
        }
        let child = spawn(&args);
        let m = mark.clone();
        // Signal once the engine is up and stalling on a request.
        let o = signal_when(child, sig, move |_| !running_with_now(&m).is_empty());
        let (out, err) = text(&o);
        let what = format!("{name} gate={gate}: {out}{err}");
        assert_eq!(o.status.code(), Some(3), "{what}");
        assert!(err.contains(&format!("interrupted by {name}")), "{what}");
        assert_eq!(err.trim_end().lines().count(), 1, "{what}");
        assert!(running_with(&mark).is_empty(), "engine left running: {what}");
        // An interrupted equiv, like an interrupted gate, leaves its page.
        let latest = tmp.path().join("reports/latest");
        let html = std::fs::read_to_string(latest.join("report.html")).unwrap_or_default();
        assert!(html.contains("<html"), "no report.html in {}: {what}", latest.display());
    }
}

/// Like `running_with`, without waiting.
fn running_with_now(marker: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let pid = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let cmd = std::fs::read(e.path().join("cmdline")).ok()?;
            String::from_utf8_lossy(&cmd).contains(marker).then_some(pid)
        })
        .collect()
}

#[test]
fn an_interrupted_gen_leaves_no_partial_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("big");
    let child = spawn(&["gen", "--out", &s(&out), "--rows", "3000000"]);
    let dir: PathBuf = tmp.path().to_path_buf();
    let o = signal_when(child, libc::SIGINT, move |_| !partial_files(&dir).is_empty());
    let (stdout, err) = text(&o);
    assert_eq!(o.status.code(), Some(3), "{stdout}{err}");
    assert!(err.contains("interrupted by SIGINT: generation stopped"), "{err}");
    assert!(partial_files(tmp.path()).is_empty(), "{:?}", partial_files(tmp.path()));
    assert!(!out.exists());
}

#[test]
fn a_database_locked_by_another_writer_is_named_as_locked_not_as_damaged() {
    let tmp = tempfile::tempdir().unwrap();
    let d = damaged(tmp.path(), "locked", |_| {});
    let writer = rusqlite::Connection::open(Path::new(&d).join("audit.db")).unwrap();
    writer.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let o = common::harness(&["--data", &d, "query", "--engine", "baseline", "--page-size", "10"]);
    let (stdout, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{stdout}{err}");
    assert!(err.contains("audit.db: locked by another connection"), "{err}");
    assert!(!err.contains("must be a SQLite database"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    writer.execute_batch("ROLLBACK").unwrap();
    // The same dataset, once the writer is gone, answers.
    let o = common::harness(&["--data", &d, "query", "--engine", "baseline", "--page-size", "10"]);
    assert!(o.status.success(), "{:?}", text(&o));
}

/// What an engine starts dies with the command: a child in the engine's
/// process group, and a double-forked `setsid` daemon that left the group
/// (the harness is their subreaper), after a clean run and after a failure.
#[test]
fn an_engines_children_and_daemons_do_not_outlive_the_command() {
    let tmp = tempfile::tempdir().unwrap();
    let mark = marker("spawn");
    let extra = format!(
        "\n[engines.spawner]\ncommand = [\"sh\", {:?}, \"spawn\", \"{mark}\"]\n",
        fixture()
    );
    let spec = spec_with(tmp.path(), "spawn", &[], &extra);
    let data = s(small());
    for (args, code) in [
        // A clean run: one query answered.
        (vec!["query", "--engine", "spawner", "--page-size", "10"], 0),
        // A failed one: empty pages are not the baseline's answers.
        (
            vec!["equiv", "--engines", "spawner", "--property", "edge", "--cases", "5"],
            1,
        ),
    ] {
        let mut all = vec!["--spec", spec.as_str(), "--data", data.as_str()];
        all.extend(&args);
        let o = common::harness(&all);
        let (out, err) = text(&o);
        assert_eq!(o.status.code(), Some(code), "{args:?}: {out}{err}");
        let left = running_with(&mark);
        assert!(left.is_empty(), "{args:?}: left running: {left:?}");
    }
}

/// A second signal (Ctrl-C twice, or SIGINT then SIGTERM) is obeyed at once:
/// one line says so, the harness dies of it, and its engine dies with it.
#[test]
fn a_second_signal_says_so_and_ends_the_harness_at_once() {
    use std::os::unix::process::ExitStatusExt;
    let tmp = tempfile::tempdir().unwrap();
    let mark = marker("twice");
    let extra = format!(
        "\n[engines.stall]\ncommand = [\"sh\", {:?}, \"hang\", \"{mark}\"]\ntimeout_ms = 60000\n",
        fixture()
    );
    let spec = spec_with(tmp.path(), "twice", &[], &extra);
    let data = s(small());
    let child = spawn(&[
        "--spec",
        &spec,
        "--data",
        &data,
        "equiv",
        "--engines",
        "stall",
        "--property",
        "mix",
    ]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while running_with_now(&mark).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    // Two different signals, so that they cannot merge into one pending
    // signal on a busy machine (two SIGINTs sent back to back can).
    // SAFETY: signalling our own child, twice in a row.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let o = child.wait_with_output().unwrap();
    let (out, err) = text(&o);
    // Either may be handled first (threads take them in parallel): the harness dies of the other.
    assert!(
        matches!(o.status.signal(), Some(libc::SIGINT | libc::SIGTERM)),
        "{:?}: {out}{err}",
        o.status
    );
    assert!(
        err.contains("audit-harness: a second signal: stopping at once"),
        "{err}"
    );
    assert!(running_with(&mark).is_empty(), "engine left running");
}

/// A benchmark killed outright (SIGKILL, or a second Ctrl-C) cannot write
/// its files at the end; its finished rounds stay all the same: latencies.csv
/// grows round by round and run.json records after each round how much of it
/// is whole, so `report` analyses them, and ignores a row cut short past it.
#[test]
fn a_benchmark_killed_outright_keeps_its_finished_rounds_for_report() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = spec_with(tmp.path(), "killed", &[], "");
    let data = s(small());
    let child = spawn_long_bench(&spec, &data, &[]);
    let latest = tmp.path().join("reports/latest");
    let l = latest.clone();
    let o = signal_when(child, libc::SIGKILL, move |_| checkpointed_rounds(&l) >= 3);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), None, "not killed: {out}{err}");
    let dir = std::fs::canonicalize(&latest).unwrap();
    let info: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("run.json")).unwrap()).unwrap();
    assert_eq!(info["complete"], false);
    let counted = info["bench"]["rounds"].as_u64().unwrap();
    let whole = info["bench"]["checkpoint"]["latencies_bytes"].as_u64().unwrap();
    assert!(counted >= 3, "{info}");
    // A round the record does not count, cut short mid-row, as a kill leaves it.
    let lat = dir.join("latencies.csv");
    let mut bytes = std::fs::read(&lat).unwrap();
    assert!(bytes.len() as u64 >= whole);
    bytes.extend_from_slice(b"3,memindex,candidate,default,9999,12,17");
    std::fs::write(&lat, &bytes).unwrap();

    let o = common::harness(&["report", &s(&dir)]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    assert!(
        out.contains(&format!(
            "its {counted} finished round(s) are analysed as an interrupted run"
        )),
        "{out}"
    );
    let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["decision"], "inconclusive", "{summary}");
    // Every engine's figures rest on exactly the rounds run.json counts.
    let csv = std::fs::read_to_string(dir.join("summary.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let rows: Vec<Vec<&str>> = csv.lines().skip(1).map(|l| l.split(',').collect()).collect();
    assert!(rows.iter().any(|r| r[col("engine")] == "memindex"), "{csv}");
    for r in &rows {
        assert_eq!(r[col("rounds")], counted.to_string(), "{csv}");
    }
    assert!(std::fs::read_to_string(dir.join("report.html"))
        .unwrap()
        .contains("<html"));
}

/// A benchmark that ends by an error after some rounds (here its payloads
/// file vanishes, so a cold-cache slice cannot evict it) keeps those rounds:
/// run.json holds the journal's last record and `report` analyses them.
#[test]
fn a_benchmark_ended_by_an_error_keeps_its_finished_rounds_for_report() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = spec_with(tmp.path(), "vanish", &[], "");
    let data = damaged(tmp.path(), "vanish-data", |_| {});
    let mut child = spawn_long_bench(&spec, &data, &["--cache", "cold"]);
    let latest = tmp.path().join("reports/latest");
    let deadline = Instant::now() + Duration::from_secs(60);
    while checkpointed_rounds(&latest) < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let payloads = Path::new(&data).join("payloads.jsonl");
    std::fs::rename(&payloads, Path::new(&data).join("gone.jsonl")).unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("the benchmark did not stop within 30 s of losing its payloads file");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let o = child.wait_with_output().unwrap();
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}{err}");
    assert!(err.contains("payloads.jsonl"), "{err}");
    let dir = std::fs::canonicalize(&latest).unwrap();
    let info: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("run.json")).unwrap()).unwrap();
    assert_eq!(info["complete"], false);
    assert!(info["bench"]["checkpoint"].is_object(), "{info}");
    let rounds = info["bench"]["rounds"].as_u64().unwrap();
    assert!(rounds >= 3, "{info}");
    let o = common::harness(&["report", &s(&dir)]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    assert!(
        out.contains(&format!("its {rounds} finished round(s) are analysed")),
        "{out}"
    );
}

/// A `bench` of memindex on the default mix that runs its rounds until
/// stopped (200 before its first look, within 120 s), with `extra` flags.
fn spawn_long_bench(spec: &str, data: &str, extra: &[&str]) -> std::process::Child {
    let mut args = vec!["--spec", spec, "--data", data, "bench", "--engines", "memindex"];
    args.extend(["--mix", "default", "--min-rounds", "200", "--max-seconds", "120"]);
    args.extend(extra);
    spawn(&args)
}

/// The rounds a running benchmark's run.json in `dir` counts (0 before its
/// first checkpoint, or once a finished run replaced it).
fn checkpointed_rounds(dir: &Path) -> u64 {
    std::fs::read(dir.join("run.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .filter(|v| v["bench"]["checkpoint"].is_object())
        .and_then(|v| v["bench"]["rounds"].as_u64())
        .unwrap_or(0)
}

/// A gate candidate that `[equivalence] engines` does not name is checked
/// all the same: a fast engine whose answers are wrong (empty pages) used to
/// pass the gate on its speed, its answers never compared with the baseline.
#[test]
fn the_gate_checks_every_candidate_whether_equivalence_lists_it_or_not() {
    let tmp = tempfile::tempdir().unwrap();
    let extra = format!("\n[engines.wrong]\ncommand = [\"sh\", {:?}, \"empty\"]\n", fixture());
    let spec = spec_with(
        tmp.path(),
        "unchecked",
        &[
            (
                "engines = [\"keyset\", \"memindex\", \"prefetch\"]",
                "engines = [\"keyset\"]",
            ),
            ("candidates = [\"memindex\", \"prefetch\"]", "candidates = [\"wrong\"]"),
            ("cases = 2000", "cases = 100"),
            ("max_seconds = 60", "max_seconds = 10"),
        ],
        &extra,
    );
    let data = s(small());
    let o = common::harness(&["--spec", &spec, "--data", &data, "gate"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(out.contains("wrong"), "{out}{err}");
    assert!(
        !out.contains("== bench"),
        "the benchmark ran after a failed equivalence: {out}"
    );
}

/// A mix the gate decides on is benchmarked whether `[bench] mixes` lists it
/// or not: it used to be left out, its checks never made, and the gate
/// decided on the other mixes alone.
#[test]
fn the_gate_benchmarks_every_mix_it_decides_on() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = spec_with(
        tmp.path(),
        "mixes",
        &[
            ("mixes = [\"default\", \"shallow\"]", "mixes = [\"default\"]"),
            (
                "mixes = [\"default\"]\n# Candidate p95",
                "mixes = [\"default\", \"shallow\"]\n# Candidate p95",
            ),
            ("cases = 2000", "cases = 50"),
            ("max_seconds = 60", "max_seconds = 10"),
        ],
        "",
    );
    let data = s(small());
    let o = common::harness(&["--spec", &spec, "--data", &data, "gate"]);
    let (out, err) = text(&o);
    assert!(
        out.contains("== verdict: candidates memindex, prefetch on default, shallow; 12 deciding check(s)"),
        "{out}{err}"
    );
}

/// A benchmark interrupted while its reference errs ends as interrupted
/// (exit 3), as its files say: it used to exit 1 for the reference's errors
/// while its report said interrupted, exit 3.
#[test]
fn an_interrupted_benchmark_whose_reference_errs_ends_as_interrupted() {
    let tmp = tempfile::tempdir().unwrap();
    let extra = format!("\n[engines.flaky]\ncommand = [\"sh\", {:?}, \"error\"]\n", fixture());
    let spec = spec_with(
        tmp.path(),
        "flaky",
        &[(
            "reference = \"baseline\"\n# Engines benchmarked",
            "reference = \"flaky\"\n# Engines benchmarked",
        )],
        &extra,
    );
    let data = s(small());
    let child = spawn_long_bench(&spec, &data, &["--engines", "flaky,memindex"]);
    let latest = tmp.path().join("reports/latest");
    let l = latest.clone();
    let o = signal_when(child, libc::SIGINT, move |_| checkpointed_rounds(&l) >= 2);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(3), "{out}{err}");
    assert!(err.contains("interrupted"), "{err}");
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(latest.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["decision"], "inconclusive", "{summary}");
}

/// A benchmark whose appends rounds fail ends incomplete (exit 2): it is not
/// kept as a saved baseline, and an earlier baseline of that name stays.
/// It used to replace it, the failed run taken for a finished one.
#[test]
fn a_run_whose_appends_fail_is_not_saved_as_a_baseline() {
    let tmp = tempfile::tempdir().unwrap();
    let data = std::fs::canonicalize(small()).unwrap();
    // Answers on the dataset itself; refuses to start on the appends' scratch copy.
    let script = format!(
        "[ \"$AUDIT_DATA_DIR\" = {:?} ] && exec sh {:?} empty; echo not on a copy >&2; exit 3",
        s(&data),
        fixture()
    );
    let extra = format!("\n[engines.edge]\ncommand = [\"sh\", \"-c\", {script:?}]\n");
    let spec = spec_with(tmp.path(), "appends", &[], &extra);
    let data = s(&data);
    let bench = |name: &str, rate: &str| {
        common::harness(&[
            "--spec",
            &spec,
            "--data",
            &data,
            "bench",
            "--engines",
            "edge",
            "--mix",
            "shallow",
            "--max-seconds",
            "6",
            "--append-rate",
            rate,
            "--save-baseline",
            name,
        ])
    };
    let o = bench("keep", "0");
    assert!(o.status.code() != Some(2), "{:?}", text(&o));
    let kept = tmp.path().join("reports/baselines/keep/run.json");
    let before = std::fs::read(&kept).expect("the first run is saved");
    let o = bench("keep", "50");
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}{err}");
    assert!(out.contains("appends not measured"), "{out}{err}");
    assert!(
        std::fs::read(&kept).unwrap() == before,
        "the failed run replaced the saved baseline"
    );
}

/// A run that cannot point `latest` at itself (here `latest` is a real
/// directory) stops with one line and leaves no empty run directory behind:
/// every attempt used to leave one.
#[test]
fn a_run_that_cannot_point_latest_leaves_no_empty_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = spec_with(tmp.path(), "latest", &[], "");
    let reports = tmp.path().join("reports");
    std::fs::create_dir_all(reports.join("latest/kept")).unwrap();
    let data = s(small());
    let o = common::harness(&["--spec", &spec, "--data", &data, "bench", "--engines", "memindex"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}{err}");
    assert!(err.contains("latest"), "{err}");
    let left: Vec<_> = std::fs::read_dir(&reports)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, vec!["latest".to_string()], "{left:?}");
}
