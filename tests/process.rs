//! Engines that run as separate programs (the process protocol,
//! docs/protocol.md): the Python example passes the whole equivalence suite,
//! its wrong-ties variant is caught, and every way a process can misbehave
//! (at start or mid-run) ends in a clear error naming the engine, never in a
//! hang or a zombie.

mod common;

use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use audit_engines::{Engine, Fault, Query};
use audit_harness::cancel::Cancel;
use audit_harness::equivalence::{self, Options, Property, Status};
use audit_harness::process::ProcessEngine;
use audit_harness::registry;
use audit_harness::spec::{ProcessEngineSpec, Spec};

fn fixture() -> String {
    common::root()
        .join("tests/fixtures/process/misbehave.sh")
        .display()
        .to_string()
}

fn engine_spec(command: Vec<String>, processes: u32, timeout_ms: u64, env: &[(&str, &str)]) -> ProcessEngineSpec {
    ProcessEngineSpec {
        command,
        url: None,
        events_key: None,
        processes_key: Some(processes),
        workers_key: None,
        timeout_ms,
        env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        cwd: None,
    }
}

/// The misbehaving engine in `mode`.
fn misbehave(mode: &str, timeout_ms: u64) -> ProcessEngineSpec {
    engine_spec(vec!["sh".into(), fixture(), mode.into()], 1, timeout_ms, &[])
}

/// Opens a process engine on the repository root (the fixtures read no data).
fn open(name: &str, spec: &ProcessEngineSpec) -> Result<ProcessEngine, String> {
    ProcessEngine::open(name, spec, &common::root(), &common::root(), &Cancel::new()).map_err(|e| e.to_string())
}

fn q(from_ts: i64) -> Query {
    Query {
        from_ts,
        to_ts: 1_767_225_600,
        actor_id: Some(7),
        action: None,
        page: 1,
        page_size: 10,
    }
}

/// Whether our child `pid` is gone: reaped by us (waitpid knows no such child) and absent from /proc.
fn reaped(pid: u32) -> bool {
    // SAFETY: waitpid with a null status pointer and WNOHANG only queries.
    let r = unsafe { libc::waitpid(pid as i32, std::ptr::null_mut(), libc::WNOHANG) };
    let echild = std::io::Error::last_os_error().raw_os_error() == Some(libc::ECHILD);
    r == -1 && echild && !Path::new(&format!("/proc/{pid}")).exists()
}

/// Whether a process that is not our child is no longer running (gone, or a
/// zombie waiting for its new parent to reap it).
fn not_running(pid: u32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let stopped = match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => true,
            Ok(stat) => stat.rsplit(')').next().is_some_and(|s| s.trim_start().starts_with('Z')),
        };
        if stopped || Instant::now() > deadline {
            return stopped;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The number after `marker` in `text`.
fn number_after(text: &str, marker: &str) -> u32 {
    let at = text.find(marker).unwrap_or_else(|| panic!("no {marker:?} in {text}")) + marker.len();
    text[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or_else(|e| panic!("{marker:?} in {text}: {e}"))
}

/// The Python interpreter itself (not a version manager's shim script, which
/// costs ~0.1 s per start), or `None` (with a printed reason) without Python.
fn python(test: &str) -> Option<String> {
    static EXE: OnceLock<Option<String>> = OnceLock::new();
    if !common::python3_available(test) {
        return None;
    }
    EXE.get_or_init(|| {
        let o = std::process::Command::new("python3")
            .args(["-c", "import sys; print(sys.executable)"])
            .output()
            .ok()?;
        let exe = String::from_utf8(o.stdout).ok()?.trim().to_string();
        Some(if exe.is_empty() { "python3".into() } else { exe })
    })
    .clone()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn data() -> String {
    common::default_dataset().display().to_string()
}

#[test]
fn the_python_engine_passes_the_whole_equivalence_suite() {
    let Some(py) = python("the_python_engine_passes_the_whole_equivalence_suite") else {
        return;
    };
    let mut spec = common::spec();
    // Two processes of 20 threads each: a declared concurrency of 40, above
    // the suite's 32 threads, which must rise to match it.
    spec.engines.insert(
        "py".into(),
        engine_spec(
            vec![py, "examples/python-engine/engine.py".into()],
            2,
            10_000,
            &[("AUDIT_PY_MAX_IN_FLIGHT", "20")],
        ),
    );
    let mut opts = Options::from_spec(&spec, &common::default_dataset(), &Cancel::new()).unwrap();
    opts.cases = 300;
    opts.small_dataset_cases = 30;
    opts.strict_domain = true;
    opts.regressions = None;
    let candidates = vec![registry::opener(&spec, "py", &Cancel::new()).unwrap()];
    let report = equivalence::run(&opts, &candidates, |r| {
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
    let py: Vec<_> = report.results.iter().filter(|r| r.engine == "py").collect();
    assert_eq!(py.len(), 10, "every property but regressions (none saved) ran");
    let conc = py.iter().find(|r| r.property == Property::Concurrency).unwrap();
    assert_eq!(
        conc.cases,
        40 * 64,
        "the concurrency property drives all 40 declared slots"
    );
}

#[test]
fn the_wrong_ties_engine_is_caught_with_a_counterexample() {
    let Some(py) = python("the_wrong_ties_engine_is_caught_with_a_counterexample") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let regressions = tmp.path().join("regressions.jsonl");
    let spec = tmp_spec(tmp.path());
    let o = common::harness(&[
        "--spec",
        &spec,
        "--data",
        &data(),
        "--engine-command",
        &format!("bad={py} examples/python-engine/wrong_ties.py"),
        "equiv",
        "--engines",
        "bad",
        "--property",
        "pagination",
        "--regressions",
        &regressions.display().to_string(),
    ]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{}", stderr(&o));
    assert!(out.contains("bad        pagination          FAIL"), "{out}");
    assert!(out.contains("a duplicate or out of order"), "{out}");
    assert!(stderr(&o).contains("not equivalent: bad pagination"), "{}", stderr(&o));
    // The counterexample is saved for later runs to replay.
    let saved = std::fs::read_to_string(&regressions).unwrap();
    assert!(saved.contains("\"engine\":\"bad\""), "{saved}");
    // The printed replay line, pasted into a shell, reproduces the failure.
    replay_reproduces(&out, "bad        pagination          FAIL");
}

/// A copy of the shipped spec in `dir`: runs with it write their reports
/// (and regressions) there, never into the checkout.
fn tmp_spec(dir: &Path) -> String {
    let path = dir.join("harness.toml");
    std::fs::copy(common::root().join("harness.toml"), &path).unwrap();
    path.display().to_string()
}

/// Runs the first `replay` line of `out` through `sh -c` in the repository
/// root and checks that it fails again with `expect` in its output.
fn replay_reproduces(out: &str, expect: &str) {
    let line = out
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("replay  "))
        .unwrap_or_else(|| panic!("no replay line in {out}"));
    let (program, rest) = line.split_once(' ').unwrap();
    assert!(program.ends_with("audit-harness"), "{line}");
    // Run this test's binary under the printed name.
    let line = format!(
        "{} {rest}",
        shlex::try_quote(env!("CARGO_BIN_EXE_audit-harness")).unwrap()
    );
    let o = std::process::Command::new("sh")
        .args(["-c", &line])
        .current_dir(common::root())
        .output()
        .unwrap();
    let again = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{line}\n{again}{}", stderr(&o));
    assert!(again.contains(expect), "{line}\n{again}");
}

#[test]
fn a_printed_replay_line_reproduces_the_failure_of_an_engine_given_on_the_command_line() {
    // An engine that answers every query with an empty page: a mismatch on the first case.
    let tmp = tempfile::tempdir().unwrap();
    let spec = tmp_spec(tmp.path());
    let dir = tmp.path().join("data with a space");
    common::copy_dataset(&common::default_dataset(), &dir);
    let o = common::harness(&[
        "--spec",
        &spec,
        "--data",
        &dir.display().to_string(),
        "--engine-command",
        "void=sh tests/fixtures/process/misbehave.sh empty",
        "equiv",
        "--engines",
        "void",
        "--property",
        "edge",
        "--cases",
        "10",
        "--strict-domain",
        "--regressions",
        &tmp.path().join("r.jsonl").display().to_string(),
    ]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{}", stderr(&o));
    for needle in [
        "--engine-command 'void=sh tests/fixtures/process/misbehave.sh empty'",
        "--strict-domain",
        "'--data' ",
        "--property edge",
    ] {
        let needle = needle.replace("'--data' ", "--data '");
        assert!(out.contains(&needle), "{needle:?} not in {out}");
    }
    replay_reproduces(&out, "void       edge                FAIL");
}

#[test]
fn engines_that_cannot_start_are_input_errors_naming_the_engine() {
    let fx = fixture();
    let cases: Vec<(String, Vec<&str>)> = vec![
        (
            "ghost=/nonexistent/engine --flag".into(),
            vec![
                "engine ghost:",
                "cannot start `/nonexistent/engine --flag`",
                "No such file",
            ],
        ),
        (
            "quits=true".into(),
            vec![
                "engine quits:",
                "ended before answering hello (exit status: 0)",
                "command: true",
            ],
        ),
        (
            format!("garbled=sh {fx} garbage-hello"),
            vec!["engine garbled:", "not JSON", "Hello to you too", "mode garbage-hello"],
        ),
        (
            format!("future=sh {fx} protocol2"),
            vec!["engine future:", "speaks protocol 2", "speaks protocol 1 only"],
        ),
        (
            format!("unready=sh {fx} not-ready"),
            vec![
                "engine unready:",
                "declined to start (ready: false): the index is not built",
            ],
        ),
        (
            format!("quitter=sh {fx} exit-at-hello"),
            vec!["engine quitter:", "exit status: 7", "giving up at hello"],
        ),
    ];
    for (flag, needles) in cases {
        let name = flag.split('=').next().unwrap().to_string();
        let o = common::harness(&["--data", &data(), "--engine-command", &flag, "query", "--engine", &name]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{flag}: {err}");
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        for n in needles {
            assert!(err.contains(n), "{flag}: {n:?} not in {err}");
        }
    }
    for (flag, needle) in [
        ("no-equals-sign", "no '='"),
        ("keyset=python3 x.py", "built-in engine's name"),
        ("a,b=python3 x.py", "the name has ','"),
    ] {
        let o = common::harness(&["--engine-command", flag, "engines"]);
        assert_eq!(o.status.code(), Some(2), "{flag}");
        assert!(stderr(&o).contains(needle), "{}", stderr(&o));
        assert!(stderr(&o).contains("expected NAME=COMMAND"), "{}", stderr(&o));
    }
}

#[test]
fn a_silent_engine_fails_the_handshake_within_its_timeout() {
    let start = Instant::now();
    let e = ProcessEngine::open(
        "mute",
        &misbehave("silent", 300),
        &common::root(),
        &common::root(),
        &Cancel::new(),
    )
    .err()
    .unwrap();
    assert!(start.elapsed() < Duration::from_secs(3), "{:?}", start.elapsed());
    assert_eq!(e.fault(), Fault::Start);
    let e = e.to_string();
    assert!(
        e.starts_with("engine mute: process 1: sent no ready line within 300 ms"),
        "{e}"
    );
    assert!(e.contains("not answering hello"), "{e}");
    let pid = number_after(&e, ", pid ");
    assert!(not_running(pid), "{e}");
}

#[test]
fn a_hanging_request_fails_within_the_timeout_and_the_process_is_reaped() {
    let engine = open("sleepy", &misbehave("hang", 400)).unwrap();
    let pid = engine.pids()[0];
    let start = Instant::now();
    let e = engine.query(&q(11)).unwrap_err();
    let took = start.elapsed();
    assert_eq!(e.fault(), Some(Fault::Timeout), "{e}");
    let e = e.to_string();
    assert!(e.starts_with("timeout: engine sleepy: process 1 (pid "), "{e}");
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_secs(3),
        "{took:?}"
    );
    for needle in [
        "engine sleepy: process 1 (pid ",
        "no answer within 400 ms",
        "; killed and reaped; query {\"from_ts\":11,",
        "request 1 received, sleeping",
    ] {
        assert!(e.contains(needle), "{needle:?} not in {e}");
    }
    assert!(reaped(pid), "pid {pid} left behind: {e}");
    // The process group went too: the sleep it started is not left running.
    assert!(not_running(number_after(&e, "sleeper pid ")), "{e}");
    // A failed engine fails at once from then on.
    let start = Instant::now();
    let again = engine.query(&q(12)).unwrap_err();
    assert!(start.elapsed() < Duration::from_millis(200), "{:?}", start.elapsed());
    assert_eq!(again.fault(), Some(Fault::Timeout), "the first failure's kind: {again}");
    let again = again.to_string();
    assert!(
        again.starts_with("timeout: engine sleepy: not asked again after an earlier failure; query {\"from_ts\":12,"),
        "{again}"
    );
    assert!(again.contains("no answer within 400 ms"), "{again}");
}

#[test]
fn a_hanging_engine_fails_the_equivalence_check_instead_of_hanging_it() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = tmp.path().join("spec.toml");
    let text = std::fs::read_to_string(common::root().join("harness.toml")).unwrap()
        + &format!(
            "\n[engines.hang]\ncommand = [\"sh\", {:?}, \"hang\"]\ntimeout_ms = 300\n",
            fixture()
        );
    std::fs::write(&spec, text).unwrap();
    let start = Instant::now();
    let o = common::harness(&[
        "--spec",
        &spec.display().to_string(),
        "--data",
        &data(),
        "equiv",
        "--engines",
        "hang",
        "--property",
        "mix",
        "--cases",
        "20",
        "--regressions",
        &tmp.path().join("r.jsonl").display().to_string(),
    ]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{}", stderr(&o));
    assert!(start.elapsed() < Duration::from_secs(20), "{:?}", start.elapsed());
    assert!(out.contains("hang       mix                 FAIL"), "{out}");
    assert!(out.contains("no answer within 300 ms"), "{out}");
}

#[test]
fn protocol_breaches_mid_run_fail_naming_the_engine_the_query_and_stderr() {
    for (mode, fault, needles) in [
        (
            "junk",
            Fault::Protocol,
            &["not JSON", "\"oops, this is not JSON\"", "about to write junk"][..],
        ),
        (
            "count",
            Fault::Protocol,
            &["count is 3 but events holds 0", "miscounting"],
        ),
        (
            "unknown-id",
            Fault::Protocol,
            &["answered id 999999, which is not an outstanding request", "wrong id"],
        ),
        (
            "missing",
            Fault::Protocol,
            &["expected {\"id\", \"count\", \"events\"}", "without a page"],
        ),
        (
            "types",
            Fault::Protocol,
            &["wrong shape", "invalid type", "count as a string"],
        ),
        (
            "exit",
            Fault::Exit,
            &["ended or closed its stdout (exit status: 3)", "exiting mid-run"],
        ),
        // A child of its own keeps the engine's stdout open after it exits:
        // still an exit, at once, not a hang after timeout_ms.
        (
            "exit-orphan",
            Fault::Exit,
            &[
                "ended or closed its stdout (exit status: 3)",
                "leaving a child on stdout",
            ],
        ),
    ] {
        let name = format!("m-{mode}");
        let engine = open(&name, &misbehave(mode, 5_000)).unwrap();
        let pid = engine.pids()[0];
        if mode == "junk" {
            assert_eq!(engine.query(&q(1)).unwrap().count, 0, "the first answer is fine");
        }
        let start = Instant::now();
        let e = engine.query(&q(2)).unwrap_err();
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{mode}: {:?}",
            start.elapsed()
        );
        assert_eq!(e.fault(), Some(fault), "{mode}: {e}");
        let e = e.to_string();
        assert!(
            e.starts_with(&format!("{fault}: engine {name}: process 1 (pid {pid}): ")),
            "{e}"
        );
        assert!(
            e.contains("query {\"from_ts\":2,\"to_ts\":1767225600,\"actor_id\":7,"),
            "{e}"
        );
        assert!(
            e.contains(&format!("mode {mode}, pid {pid}")),
            "stderr tail missing: {e}"
        );
        for n in needles {
            assert!(e.contains(n), "{mode}: {n:?} not in {e}");
        }
        assert!(reaped(pid), "{mode}: pid {pid} left behind");
        let again = engine.query(&q(3)).unwrap_err();
        assert_eq!(again.fault(), Some(fault), "{mode}: {again}");
        assert!(
            again.to_string().contains("not asked again after an earlier failure"),
            "{again}"
        );
    }
}

#[test]
fn an_error_answer_fails_only_its_request() {
    let engine = open("picky", &misbehave("error", 5_000)).unwrap();
    let e = engine.query(&q(1)).unwrap_err();
    assert_eq!(e.fault(), Some(Fault::Status));
    assert_eq!(
        e.to_string(),
        "status: answered with an error: no such thing (request 1)"
    );
    assert_eq!(engine.query(&q(2)).unwrap().count, 0);
    assert!(engine.query(&q(3)).is_err());
    assert_eq!(engine.query(&q(4)).unwrap().count, 0);
}

#[test]
fn answers_in_any_order_reach_the_thread_that_asked() {
    let spec = engine_spec(
        vec!["sh".into(), fixture(), "echo".into()],
        1,
        5_000,
        &[("MAX_IN_FLIGHT", "2")],
    );
    let engine = open("echo", &spec).unwrap();
    assert_eq!(engine.concurrency(), Some(2));
    std::thread::scope(|s| {
        for t in 0..2i64 {
            let engine = &engine;
            s.spawn(move || {
                for i in 0..25 {
                    let from = t * 1000 + i;
                    let e = engine.query(&q(from)).unwrap_err().to_string();
                    assert_eq!(e, format!("status: answered with an error: from_ts {from}"));
                }
            });
        }
    });
}

#[test]
fn many_threads_share_several_null_processes_and_drop_reaps_them() {
    let exe = env!("CARGO_BIN_EXE_audit-harness");
    let spec = engine_spec(
        vec![exe.into(), "protocol-null".into(), "--max-in-flight".into(), "3".into()],
        3,
        5_000,
        &[],
    );
    let engine = open("null", &spec).unwrap();
    assert_eq!(engine.concurrency(), Some(9));
    assert!(engine.declared().iter().all(|r| r.name.as_deref() == Some("null")));
    let pids = engine.pids();
    assert_eq!(pids.len(), 3);
    std::thread::scope(|s| {
        for t in 0..16 {
            let engine = &engine;
            s.spawn(move || {
                for i in 0..200 {
                    let page = engine.query(&q(t * 1000 + i)).unwrap();
                    assert_eq!(page.count, 0);
                }
            });
        }
    });
    let start = Instant::now();
    drop(engine);
    assert!(start.elapsed() < Duration::from_millis(1000), "{:?}", start.elapsed());
    for pid in pids {
        assert!(reaped(pid), "pid {pid} left behind");
    }
}

#[test]
fn dropping_an_engine_that_ignores_end_of_input_kills_it() {
    let engine = open("stubborn", &misbehave("ignore-eof", 5_000)).unwrap();
    assert_eq!(engine.query(&q(1)).unwrap().count, 0);
    let pid = engine.pids()[0];
    let start = Instant::now();
    drop(engine);
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(200) && took < Duration::from_secs(2),
        "{took:?}"
    );
    assert!(reaped(pid), "pid {pid} left behind");
}

#[test]
fn process_engines_are_listed_and_run_where_their_paths_are_relative_to() {
    // --engine-command: relative to the current directory.
    let o = common::harness(&[
        "--data",
        &data(),
        "--engine-command",
        "rel=sh tests/fixtures/process/misbehave.sh empty",
        "query",
        "--engine",
        "rel",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "{\"count\":0,\"events\":[]}");
    // [engines.NAME] in a spec: relative to the spec file's directory.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("bin")).unwrap();
    std::fs::copy(fixture(), tmp.path().join("bin/engine.sh")).unwrap();
    let spec = tmp.path().join("spec.toml");
    let text = std::fs::read_to_string(common::root().join("harness.toml")).unwrap()
        + "\n[engines.local]\ncommand = [\"sh\", \"bin/engine.sh\", \"empty\"]\n";
    std::fs::write(&spec, text).unwrap();
    let spec = spec.display().to_string();
    let o = common::harness(&["--spec", &spec, "--data", &data(), "engines"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("local      [process] sh bin/engine.sh empty"),
        "{}",
        stdout(&o)
    );
    let o = common::harness(&["--spec", &spec, "--data", &data(), "query", "--engine", "local"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "{\"count\":0,\"events\":[]}");
}

#[test]
fn the_process_gets_the_dataset_directory_and_the_specs_environment() {
    let mut spec = misbehave("env", 5_000);
    spec.env.insert("EXTRA".into(), "x y".into());
    let dir = common::default_dataset();
    let e = ProcessEngine::open("envy", &spec, &common::root(), &dir, &Cancel::new())
        .err()
        .unwrap()
        .to_string();
    let canonical = dir.canonicalize().unwrap();
    assert!(
        e.contains(&format!("AUDIT_DATA_DIR={} EXTRA=x y", canonical.display())),
        "{e}"
    );
    assert!(e.contains(&format!("hello data_dir {}", canonical.display())), "{e}");
}

#[test]
fn spec_process_engines_are_checked() {
    let shipped = std::fs::read_to_string(common::root().join("harness.toml")).unwrap();
    let parse = |extra: &str| Spec::parse(&format!("{shipped}\n{extra}"), &common::root().join("harness.toml"));
    let ok = parse("[engines.py]\ncommand = [\"python3\", \"e.py\"]\nprocesses = 3\n").unwrap();
    assert_eq!(ok.engines["py"].processes(), 3);
    assert_eq!(ok.engines["py"].cwd, None, "runs in the spec file's directory");
    for (extra, needle) in [
        (
            "[engines.memindex]\ncommand = [\"x\"]\n",
            "engines.memindex: is a built-in engine's name",
        ),
        ("[engines.\"a,b\"]\ncommand = [\"x\"]\n", "expected a name of letters"),
        (
            "[engines.py]\ncommand = []\n",
            "engines.py.command: expected a non-empty list",
        ),
        (
            "[engines.py]\ncommand = [\"x\"]\nprocesses = 0\n",
            "engines.py.processes: 0 is not allowed",
        ),
        (
            "[engines.py]\ncommand = [\"x\"]\ntimeout_ms = 0\n",
            "engines.py.timeout_ms: 0 is not allowed",
        ),
        ("[engines.py]\ncommand = [\"x\"]\nshell = true\n", "shell"),
    ] {
        let e = parse(extra).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains(needle), "{extra}: {e}");
    }
}

#[test]
fn protocol_cost_measures_the_null_engine() {
    let o = common::harness(&["protocol-cost", "--requests", "300", "--warmup", "30"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("protocol-cost: engine null"), "{out}");
    assert!(
        out.contains("300 round trips after 30 warm-up, one in flight\n  mean"),
        "{out}"
    );
    let help = stdout(&common::harness(&["--help"]));
    assert!(
        help.contains("protocol-cost") && !help.contains("protocol-null"),
        "{help}"
    );
}

/// The token an engine is opened with reaches its process: a cancelled
/// token ends the wait for `ready` at once (not after `timeout_ms`), and
/// the error says why.
#[test]
fn a_cancelled_token_ends_the_wait_for_a_process() {
    let cancel = Cancel::new();
    cancel.cancel();
    let t0 = std::time::Instant::now();
    let e = ProcessEngine::open(
        "mute",
        &misbehave("silent", 20_000),
        &common::root(),
        &common::root(),
        &cancel,
    )
    .err()
    .expect("a silent engine does not start");
    assert!(t0.elapsed() < std::time::Duration::from_secs(10), "{:?}", t0.elapsed());
    assert!(e.to_string().contains("interrupted by a cancellation"), "{e}");
}

/// An engine that cannot start keeps its error's type and cause through the
/// equivalence opener: the suite ends with the setup error itself (exit 2),
/// the operating system's NotFound reachable as its source.
#[test]
fn an_engine_that_cannot_start_keeps_its_cause_through_equivalence() {
    use std::error::Error;
    let mut spec = common::spec();
    spec.engines.insert(
        "nx".into(),
        engine_spec(vec!["/nonexistent/audit-engine".into()], 1, 5_000, &[]),
    );
    let opts = Options::from_spec(&spec, &common::default_dataset(), &Cancel::new()).unwrap();
    let candidates = vec![registry::opener(&spec, "nx", &Cancel::new()).unwrap()];
    let e = equivalence::run(&opts, &candidates, |_| {}).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(matches!(e, audit_harness::HarnessError::Setup(_)), "{e:?}");
    assert!(e.to_string().starts_with("engine nx"), "{e}");
    let mut cause: Option<&(dyn Error + 'static)> = e.source();
    let mut found = false;
    while let Some(c) = cause {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            found = io.kind() == std::io::ErrorKind::NotFound;
        }
        cause = c.source();
    }
    assert!(found, "no NotFound in the chain of {e:?}");
}
