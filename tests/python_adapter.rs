//! The shipped Python adapter (`adapters/python_module.py`): a plain Python
//! module with a `handle_request(query)` function is gated without protocol
//! code. The faithful service example passes the equivalence suite, the
//! wrong one is caught, every way the module cannot start is an engine that
//! cannot start (exit 2) naming the problem, an exception in the function is
//! a failed check carrying the exception, and no adapter process outlives a
//! run.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const ADAPTER: &str = "adapters/python_module.py";
const SERVICE: &str = "examples/python-service/audit_log_service.py";
const WRONG: &str = "examples/python-service/wrong_service.py";

/// The Python interpreter itself (a version manager's shim costs ~0.1 s per
/// start), or `None` with a printed reason when there is no python3.
fn python(test: &str) -> Option<String> {
    static EXE: OnceLock<Option<String>> = OnceLock::new();
    if !common::python3_available(test) {
        return None;
    }
    EXE.get_or_init(|| {
        let o = Command::new("python3")
            .args(["-c", "import sys; print(sys.executable)"])
            .output()
            .ok()?;
        let exe = String::from_utf8(o.stdout).ok()?.trim().to_string();
        Some(if exe.is_empty() { "python3".into() } else { exe })
    })
    .clone()
}

/// The shared spec copy (`common::spec_in`) as a command-line argument.
fn spec_in(dir: &Path, replace: &[(&str, &str)]) -> String {
    common::spec_in(dir, replace).display().to_string()
}

/// A marker no other test's processes carry: it goes into the environment
/// of the harness, which passes it on to every engine process it starts.
fn marker() -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "AUDIT_PY_ADAPTER_TEST={}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Runs the harness in the repository root with `args`, then checks that
/// no process it started is still running.
fn harness(args: &[&str]) -> Output {
    harness_stdin(args, "")
}

/// [`harness`] with `stdin` as its input. Python writes no bytecode caches
/// into the checkout.
fn harness_stdin(args: &[&str], stdin: &str) -> Output {
    let marker = marker();
    let (key, value) = marker.split_once('=').unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_audit-harness"))
        .current_dir(common::root())
        .env(key, value)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run audit-harness");
    let mut input = child.stdin.take().unwrap();
    // A harness that stops early (a bad flag) need not read it all.
    let _ = input.write_all(stdin.as_bytes());
    drop(input);
    let o = child.wait_with_output().expect("wait for audit-harness");
    let left = running_with(&marker);
    assert!(
        left.is_empty(),
        "processes left running after {args:?}: {left:?}\n{}",
        text(&o)
    );
    o
}

/// The command lines of running processes whose environment holds `marker`
/// (zombies have no environment left to read and are not running). Waits
/// up to 2 s for them to go.
fn running_with(marker: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let mut found = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let proc_dir = entry.path();
            let Ok(env) = std::fs::read(proc_dir.join("environ")) else {
                continue;
            };
            if env.split(|b| *b == 0).any(|kv| kv == marker.as_bytes()) {
                let cmd = std::fs::read(proc_dir.join("cmdline")).unwrap_or_default();
                found.push(String::from_utf8_lossy(&cmd).replace('\0', " "));
            }
        }
        if found.is_empty() || Instant::now() > deadline {
            return found;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `--engine-command` for `name` serving `target` (PATH.py:FUNCTION) through the adapter.
fn engine(name: &str, py: &str, target: &str, flags: &str) -> String {
    format!("{name}={py} {ADAPTER} {target} {flags}").trim_end().to_string()
}

fn data() -> String {
    common::default_dataset().display().to_string()
}

/// Writes a module into `dir` and returns its path.
fn module(dir: &Path, file: &str, source: &str) -> PathBuf {
    let path = dir.join(file);
    std::fs::write(&path, source).unwrap();
    path
}

#[test]
fn the_faithful_service_module_passes_the_equivalence_suite() {
    let Some(py) = python("the_faithful_service_module_passes_the_equivalence_suite") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    // 8 threads share the engine's 4 slots in the concurrency property (the
    // shipped 32 would make it 2048 requests, most of this file's time).
    let spec = spec_in(tmp.path(), &[("threads = 32", "threads = 8")]);
    let start = Instant::now();
    let o = harness(&[
        "--spec",
        &spec,
        "--engine-command",
        &engine("svc", &py, &format!("{SERVICE}:handle_request"), ""),
        "equiv",
        "--engines",
        "svc",
        "--cases",
        "200",
        "--small-dataset-cases",
        "30",
        "--strict-domain",
    ]);
    eprintln!("equiv on the faithful service: {:?}", start.elapsed());
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    for property in [
        "mix",
        "edge",
        "small_datasets",
        "pagination",
        "partition",
        "concurrency",
        "payloads_from_disk",
        "appends",
        "outside_domain",
    ] {
        assert!(
            out.lines().any(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                w.len() > 2 && w[0] == "svc" && w[1] == property && w[2] == "ok"
            }),
            "{property} did not pass: {out}"
        );
    }
    assert!(!tmp.path().join("regressions.jsonl").exists(), "nothing failed");
}

#[test]
fn the_named_tuple_mode_answers_as_the_baseline_does() {
    let Some(py) = python("the_named_tuple_mode_answers_as_the_baseline_does") else {
        return;
    };
    let queries = [
        r#"{"from_ts":1767100000,"to_ts":1767225600,"actor_id":51,"action":null,"page":1,"page_size":10}"#,
        r#"{"from_ts":1766620800,"to_ts":1767225600,"actor_id":null,"action":"UPDATE","page":3,"page_size":20}"#,
        r#"{"from_ts":0,"to_ts":1767225600,"actor_id":null,"action":null,"page":7,"page_size":50}"#,
    ]
    .join("\n");
    let batch = |extra: &[&str]| {
        let mut args = vec!["--data".to_string(), data()];
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = harness_stdin(&args, &queries);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        stdout(&o)
    };
    let expected = batch(&["query", "--engine", "baseline", "--batch", "-"]);
    assert_eq!(expected.lines().count(), 3, "{expected}");
    let flags = "--named-tuple --max-in-flight 2 --threads 1";
    let got = batch(&[
        "--engine-command",
        &engine("nt", &py, &format!("{SERVICE}:handle_request"), flags),
        "query",
        "--engine",
        "nt",
        "--batch",
        "-",
    ]);
    assert_eq!(got, expected);
}

#[test]
fn the_wrong_service_module_is_caught_with_a_counterexample() {
    let Some(py) = python("the_wrong_service_module_is_caught_with_a_counterexample") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let spec = spec_in(tmp.path(), &[]);
    let o = harness(&[
        "--spec",
        &spec,
        "--engine-command",
        &engine("bad", &py, &format!("{WRONG}:handle_request"), ""),
        "equiv",
        "--engines",
        "bad",
        "--property",
        "mix",
        "--property",
        "edge",
        "--cases",
        "200",
    ]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(stderr(&o).contains("not equivalent: bad"), "{}", text(&o));
    let fail = out
        .lines()
        .find(|l| l.trim_start().starts_with("bad ") && l.contains("FAIL"))
        .unwrap_or_else(|| panic!("no FAIL line: {out}"));
    assert!(fail.contains(" mix ") || fail.contains(" edge "), "{fail}");
    // The counterexample: the shrunk query (page 2 with an action filter,
    // where the bug lives), the difference and how to replay it.
    let query = out
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("query   "))
        .unwrap_or_else(|| panic!("no query line: {out}"));
    assert!(
        query.contains("\"page\":2,") && !query.contains("\"action\":null"),
        "{query}"
    );
    assert!(out.contains("differs events: expected "), "{out}");
    assert!(out.contains("replay  "), "no replay line: {out}");
    let saved = std::fs::read_to_string(tmp.path().join("regressions.jsonl")).unwrap();
    assert!(saved.contains("\"engine\":\"bad\""), "{saved}");
}

#[test]
fn modules_that_cannot_start_are_engines_that_cannot_start() {
    let Some(py) = python("modules_that_cannot_start_are_engines_that_cannot_start") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let broken = module(dir, "broken_import.py", "import no_such_module_here\n");
    let unconfigurable = module(
        dir,
        "unconfigurable.py",
        "def configure(data_dir):\n    raise RuntimeError(f'no index built in {data_dir}')\n\ndef handle_request(query):\n    return {'count': 0, 'events': []}\n",
    );
    let notes = module(dir, "notes.txt", "not Python\n");
    let p = |path: &Path| path.display().to_string();
    let cases: Vec<(String, Vec<String>)> = vec![
        (
            "tests/no/such/service.py:handle_request".into(),
            vec!["tests/no/such/service.py: no such file".into()],
        ),
        (format!("{}:handle_request", p(&notes)), vec!["not a .py file".into()]),
        (
            format!("{SERVICE}:handle_requests"),
            vec![
                format!("{SERVICE} has no 'handle_requests'"),
                "(it defines: Query, configure, handle_request, ".into(),
            ],
        ),
        (
            format!("{SERVICE}:DATA_DIR"),
            vec!["DATA_DIR is a str, not callable".into()],
        ),
        (
            format!("{}:handle_request", p(&broken)),
            vec![
                "importing".into(),
                "broken_import.py raised ModuleNotFoundError: No module named 'no_such_module_here'".into(),
            ],
        ),
        (
            format!("{}:handle_request", p(&unconfigurable)),
            vec![
                "configure(".into(),
                "raised RuntimeError: no index built in".into(),
                "(at unconfigurable.py:2 in configure)".into(),
            ],
        ),
    ];
    for (target, needles) in cases {
        let o = harness(&[
            "--data",
            &data(),
            "--engine-command",
            &engine("mine", &py, &target, ""),
            "query",
            "--engine",
            "mine",
        ]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{target}: {}", text(&o));
        assert_eq!(err.lines().count(), 1, "{target}: one line: {err}");
        assert!(
            err.contains("engine mine: process 1: declined to start (ready: false): "),
            "{target}: {err}"
        );
        for n in needles {
            assert!(err.contains(&n), "{target}: {n:?} not in {err}");
        }
    }
    // Bad usage of the adapter itself: one line on its stderr, exit 2, which
    // the harness reports as an engine that ended before the hello.
    let o = harness(&[
        "--data",
        &data(),
        "--engine-command",
        &engine("mine", &py, SERVICE, ""),
        "query",
        "--engine",
        "mine",
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(err.contains("ended before answering hello (exit status: 2)"), "{err}");
    assert!(err.contains("is not PATH/TO/MODULE.py:FUNCTION"), "{err}");
}

#[test]
fn an_exception_in_the_function_fails_the_check_with_its_message() {
    let Some(py) = python("an_exception_in_the_function_fails_the_check_with_its_message") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let spec = spec_in(tmp.path(), &[]);
    let flaky = module(
        tmp.path(),
        "flaky_service.py",
        "import audit_log_service\n\n\
         def handle_request(query):\n    \
             if query['actor_id'] is not None:\n        \
                 raise LookupError(f\"actor {query['actor_id']} is not in the cache\")\n    \
             return audit_log_service.handle_request(query)\n",
    );
    // Its import of the service next to it works (the adapter puts the
    // module's directory on sys.path), and the service finds the dataset in
    // AUDIT_DATA_DIR: flaky_service defines no configure().
    let service_dir = common::root().join("examples/python-service");
    std::fs::copy(
        service_dir.join("audit_log_service.py"),
        tmp.path().join("audit_log_service.py"),
    )
    .unwrap();
    let o = harness(&[
        "--spec",
        &spec,
        "--engine-command",
        &engine("flaky", &py, &format!("{}:handle_request", flaky.display()), ""),
        "equiv",
        "--engines",
        "flaky",
        "--property",
        "mix",
        "--cases",
        "50",
    ]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(out.contains("flaky      mix                 FAIL"), "{out}");
    assert!(
        out.contains("LookupError: actor ")
            && out.contains(" is not in the cache (at flaky_service.py:5 in handle_request)"),
        "{out}"
    );
    // One query straight: the error answer is the query's failure.
    let o = harness(&[
        "--data",
        &data(),
        "--engine-command",
        &engine("flaky", &py, &format!("{}:handle_request", flaky.display()), ""),
        "query",
        "--engine",
        "flaky",
        "--actor",
        "7",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        stderr(&o).contains("LookupError: actor 7 is not in the cache"),
        "{}",
        text(&o)
    );
}

#[test]
fn answers_of_the_wrong_shape_are_error_answers_saying_what_was_returned() {
    let Some(py) = python("answers_of_the_wrong_shape_are_error_answers_saying_what_was_returned") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let odd = module(
        tmp.path(),
        "odd_shapes.py",
        "import json\n\n\
         def handle_request(query):\n    \
             print('debugging output goes to stderr, not into the protocol')\n    \
             return {1: [], 2: json.dumps({'count': 0, 'events': []}), 3: {'count': 1, 'events': []}}[query['page']]\n",
    );
    let target = format!("{}:handle_request", odd.display());
    for (page, needle) in [
        (
            "1",
            "handle_request returned list []; expected a dict {\"count\": n, \"events\": [",
        ),
        (
            "2",
            "handle_request returned str '{\"count\": 0, \"events\": []}' (a JSON string? return the dict itself)",
        ),
        (
            "3",
            "handle_request returned count 1 with 0 events; expected count == len(events)",
        ),
    ] {
        let o = harness(&[
            "--data",
            &data(),
            "--engine-command",
            &engine("odd", &py, &target, ""),
            "query",
            "--engine",
            "odd",
            "--page",
            page,
        ]);
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        assert!(stderr(&o).contains(needle), "{needle:?} not in {}", text(&o));
    }
}

#[test]
fn the_adapter_finishes_outstanding_requests_and_exits_when_stdin_closes() {
    let Some(py) = python("the_adapter_finishes_outstanding_requests_and_exits_when_stdin_closes") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let slow = module(
        tmp.path(),
        "slow.py",
        "import time\n\nclass Service:\n    def handle_request(self, query):\n        time.sleep(0.2)\n        return {'count': 0, 'events': []}\n\nservice = Service()\n",
    );
    let mut child = Command::new(&py)
        .current_dir(common::root())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .args([
            ADAPTER,
            &format!("{}:service.handle_request", slow.display()),
            "--threads",
            "2",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{{\"hello\":{{\"protocol\":1,\"data_dir\":{:?}}}}}", data()).unwrap();
    for id in 1..=3 {
        writeln!(
            stdin,
            "{{\"id\":{id},\"from_ts\":0,\"to_ts\":1,\"actor_id\":null,\"action\":null,\"page\":1,\"page_size\":10}}"
        )
        .unwrap();
    }
    drop(stdin);
    let start = Instant::now();
    let lines: Vec<String> = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map(Result::unwrap)
        .collect();
    let status = child.wait().unwrap();
    assert!(start.elapsed() < Duration::from_secs(5), "{:?}", start.elapsed());
    assert!(status.success(), "{status}: {lines:?}");
    assert_eq!(
        lines[0],
        "{\"ready\":true,\"protocol\":1,\"name\":\"slow:service.handle_request\",\"max_in_flight\":4}"
    );
    let mut answers = lines[1..].to_vec();
    answers.sort();
    assert_eq!(
        answers,
        (1..=3)
            .map(|id| format!("{{\"id\":{id},\"count\":0,\"events\":[]}}"))
            .collect::<Vec<_>>()
    );
}

/// `--http`: the same module as a launched HTTP engine passes the suite
/// (small datasets included: a server per dataset), the wrong one is caught,
/// and an exception in the function is a 500 carrying its message.
#[test]
fn the_service_module_over_http_passes_and_its_exceptions_are_500_answers() {
    let Some(py) = python("the_service_module_over_http_passes_and_its_exceptions_are_500_answers") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let spec = common::spec_in(tmp.path(), &[("threads = 32", "threads = 8")]);
    let flaky = module(
        tmp.path(),
        "flaky_service.py",
        "import audit_log_service\n\n\
         def handle_request(query):\n    \
             if query['actor_id'] == 7:\n        \
                 raise LookupError('actor 7 is not in the cache')\n    \
             return audit_log_service.handle_request(query)\n",
    );
    std::fs::copy(common::root().join(SERVICE), tmp.path().join("audit_log_service.py")).unwrap();
    let root = common::root();
    let launched = |name: &str, target: &str| {
        format!(
            "\n[engines.{name}]\ncommand = [{py:?}, {:?}, {target:?}, \"--http\", \"127.0.0.1:{{port}}\"]\n\
             url = \"http://127.0.0.1:{{port}}/audit-events\"\n",
            root.join(ADAPTER).display().to_string()
        )
    };
    let mut text_of_spec = std::fs::read_to_string(&spec).unwrap();
    text_of_spec.push_str(&launched(
        "svc",
        &format!("{}:handle_request", root.join(SERVICE).display()),
    ));
    text_of_spec.push_str(&launched(
        "wrong",
        &format!("{}:handle_request", root.join(WRONG).display()),
    ));
    text_of_spec.push_str(&launched("flaky", &format!("{}:handle_request", flaky.display())));
    std::fs::write(&spec, text_of_spec).unwrap();
    let spec = spec.display().to_string();
    let equiv = |engine: &str| {
        harness(&[
            "--spec",
            &spec,
            "equiv",
            "--engines",
            engine,
            "--cases",
            "100",
            "--small-dataset-cases",
            "4",
            "--property",
            "mix",
            "--property",
            "small_datasets",
            "--property",
            "outside_domain",
        ])
    };
    let o = equiv("svc");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    for property in ["mix", "small_datasets", "outside_domain"] {
        assert!(
            stdout(&o).lines().any(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                w.len() > 3 && w[0] == "svc" && w[1] == property && w[2] == "ok" && w[3] != "0"
            }),
            "{property} did not run and pass over HTTP: {}",
            text(&o)
        );
    }
    let o = equiv("wrong");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(stdout(&o).contains("differs"), "{}", text(&o));
    let o = harness(&["--spec", &spec, "query", "--engine", "flaky", "--actor", "7"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        stderr(&o).contains("answered HTTP 500") && stderr(&o).contains("LookupError: actor 7 is not in the cache"),
        "{}",
        text(&o)
    );
}
