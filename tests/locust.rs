//! The Locust driver end to end: a real Locust master and workers (installed
//! into the project-local environment on first use, never skipped) send the
//! rounds to launched HTTP servers, and every end leaves no process behind.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The environment every test shares with the checkout (`.venv-locust`, git-ignored).
fn venv() -> PathBuf {
    common::root().join(".venv-locust")
}

/// A spec in `dir` whose reference and candidate are launched `serve`
/// servers (memindex and keyset, fast enough for a short run), with `driver`
/// as its `[driver]` section.
fn http_spec(dir: &Path, driver: &str) -> PathBuf {
    let spec = common::spec_in(
        dir,
        &[(
            "reference = \"baseline\"\n# Engines benchmarked",
            "reference = \"ref-http\"\n# Engines benchmarked",
        )],
    );
    let bin = env!("CARGO_BIN_EXE_audit-harness");
    let root = common::root();
    let serve = |engine: &str| {
        format!(
            "command = [{bin:?}, \"--spec\", {:?}, \"--data\", \"{{data_dir}}\", \"serve\", \"--engine\", {engine:?}, \"--listen\", \"127.0.0.1:{{port}}\"]\nurl = \"http://127.0.0.1:{{port}}/audit-events\"\n",
            root.join("harness.toml").display().to_string()
        )
    };
    let mut text = std::fs::read_to_string(&spec).unwrap();
    text.push_str(&format!(
        "\n[engines.ref-http]\n{}\n[engines.cand-http]\n{}\n{driver}\n",
        serve("memindex"),
        serve("keyset")
    ));
    std::fs::write(&spec, text).unwrap();
    spec
}

/// The harness with `args`, its TMPDIR in `tmp` (where the cluster's files go).
fn harness(tmp: &Path, spec: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_audit-harness"));
    c.current_dir(common::root())
        .env("AUDIT_LOCUST_VENV", venv())
        .env("TMPDIR", tmp)
        .arg("--spec")
        .arg(spec)
        .args(args);
    c
}

const SHORT: &[&str] = &[
    "bench",
    "--engines",
    "cand-http",
    "--mix",
    "shallow",
    "--requests",
    "96",
    "--slices",
    "4",
    "--min-rounds",
    "3",
    "--max-rounds",
    "3",
];

/// Processes whose command line mentions `needle` (the test's own directory).
fn processes_mentioning(needle: &Path) -> Vec<String> {
    let needle = needle.to_string_lossy().to_string();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if pid == std::process::id() {
            continue;
        }
        let Ok(cmd) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        let zombie = std::fs::read_to_string(entry.path().join("stat"))
            .map(|s| s.rsplit(')').next().unwrap_or("").trim_start().starts_with('Z'))
            .unwrap_or(true);
        if cmd.contains(&needle) && !zombie {
            found.push(format!("{pid}: {cmd}"));
        }
    }
    found
}

/// The one run directory under the spec's reports.
fn run_dir(dir: &Path) -> PathBuf {
    let reports = dir.join("reports");
    let mut runs: Vec<PathBuf> = std::fs::read_dir(&reports)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("run.json").exists())
        .collect();
    runs.sort();
    runs.pop().expect("a run directory")
}

#[test]
fn locust_workers_send_the_rounds_and_the_records_become_the_same_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = http_spec(tmp.path(), "");
    let mut args = SHORT.to_vec();
    // Two mixes: a round is two hand-overs to the cluster.
    args[4] = "shallow,default";
    args.extend(["--driver", "locust", "--locust-workers", "2"]);
    let out = harness(tmp.path(), &spec, &args).output().unwrap();
    let text = common::text(&out);
    assert!(matches!(out.status.code(), Some(0 | 1 | 3)), "{text}");
    assert!(text.contains("4 Locust users on 2 Locust workers"), "{text}");
    let dir = run_dir(tmp.path());
    let run: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("run.json")).unwrap()).unwrap();
    let driver = &run["bench"]["driver"];
    assert_eq!(driver["kind"], "locust", "{driver}");
    assert_eq!(driver["workers"], 2, "{driver}");
    assert_eq!(run["bench"]["rounds"], 3);
    // Every request of every slice came back, from both workers' users.
    let csv = std::fs::read_to_string(dir.join("latencies.csv")).unwrap();
    let mut header = csv.lines().next().unwrap().split(',');
    let worker_col = header.position(|c| c == "worker").expect("a worker column");
    let rows: Vec<Vec<&str>> = csv.lines().skip(1).map(|l| l.split(',').collect()).collect();
    for engine in ["ref-http", "cand-http"] {
        for mix in ["shallow", "default"] {
            let n = rows.iter().filter(|r| r.contains(&engine) && r.contains(&mix)).count();
            assert!(n >= 3 * 8, "{engine} on {mix}: {n} rows; {csv:.400}");
        }
    }
    let mut workers: Vec<&str> = rows.iter().map(|r| r[worker_col]).collect();
    workers.sort_unstable();
    workers.dedup();
    assert_eq!(workers, ["0", "1", "2", "3"], "every Locust user sent requests");
    let recorded: u64 = run["bench"]["round_records"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["slices"].as_array().unwrap())
        .map(|s| s["requests"].as_u64().unwrap())
        .sum();
    assert_eq!(recorded as usize, rows.len());
    // `report` recomputes the run from its files, driver and all.
    let before = std::fs::read(dir.join("summary.json")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_audit-harness"))
        .arg("report")
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code().map(|c| c != 2), Some(true), "{}", common::text(&out));
    assert_eq!(std::fs::read(dir.join("summary.json")).unwrap(), before);
    assert_eq!(processes_mentioning(tmp.path()), Vec::<String>::new());
}

#[test]
fn a_worker_started_by_hand_joins_a_master_the_harness_started() {
    let tmp = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let driver = format!(
        "[driver]\nkind = \"locust\"\nmaster = \"127.0.0.1:{port}\"\nworkers = 1\nstart_workers = false\nconnect_timeout_s = 120\n"
    );
    let spec = http_spec(tmp.path(), &driver);
    let mut run = harness(tmp.path(), &spec, SHORT)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The environment exists once the harness says it waits for workers
    // (it may install it first).
    let python = venv().join("bin").join("python");
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut worker = loop {
        let listening = std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
        if listening && python.exists() {
            break Command::new(&python)
                .args(["-m", "locust", "-f"])
                .arg(common::root().join("locust").join("audit_locustfile.py"))
                .args([
                    "--worker",
                    "--master-host",
                    "127.0.0.1",
                    "--master-port",
                    &port.to_string(),
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
        }
        assert!(Instant::now() < deadline, "the master never listened on {port}");
        assert!(
            run.try_wait().unwrap().is_none(),
            "{}",
            common::text(&run.wait_with_output().unwrap())
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let out = run.wait_with_output().unwrap();
    let text = common::text(&out);
    // The master told the worker to quit; it must not linger.
    let gone = Instant::now() + Duration::from_secs(20);
    while worker.try_wait().unwrap().is_none() && Instant::now() < gone {
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = worker.kill();
    assert!(matches!(out.status.code(), Some(0 | 1 | 3)), "{text}");
    assert!(text.contains("waiting for 1 Locust workers"), "{text}");
    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run_dir(tmp.path()).join("run.json")).unwrap()).unwrap();
    assert_eq!(run["bench"]["driver"]["started_workers"], false);
    assert_eq!(processes_mentioning(tmp.path()), Vec::<String>::new());
}

#[test]
fn locust_set_up_faults_are_one_line_with_exit_2_and_leave_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = http_spec(tmp.path(), "");
    let expect = |args: &[&str], spec: &Path, needle: &str| {
        let out = harness(tmp.path(), spec, args).output().unwrap();
        let text = common::text(&out);
        assert_eq!(out.status.code(), Some(2), "{text}");
        assert!(text.contains(needle), "{needle:?} not in {text}");
        assert_eq!(processes_mentioning(tmp.path()), Vec::<String>::new(), "{text}");
    };
    let mut args = SHORT.to_vec();
    args.extend(["--locust-workers", "2"]);
    expect(
        &args,
        &spec,
        "--locust-workers sets the Locust driver's workers: add --driver locust",
    );
    let mut args = SHORT.to_vec();
    args.extend(["--driver", "locust", "--engines", "memindex"]);
    expect(&args, &spec, "engine memindex is not served over HTTP");
    let mut args = SHORT.to_vec();
    args.extend(["--driver", "locust", "--locust-workers", "8"]);
    expect(&args, &spec, "concurrency 4 is split across 8 workers");
    // A master port in use.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let dir = tmp.path().join("busy");
    let spec = http_spec(
        &dir,
        &format!("[driver]\nkind = \"locust\"\nmaster = \"127.0.0.1:{port}\"\n"),
    );
    expect(SHORT, &spec, &format!("cannot listen for workers on 127.0.0.1:{port}"));
    drop(busy);
    // Workers that never connect.
    let dir = tmp.path().join("alone");
    let spec = http_spec(
        &dir,
        &format!("[driver]\nkind = \"locust\"\nmaster = \"127.0.0.1:{port}\"\nworkers = 1\nstart_workers = false\nconnect_timeout_s = 3\n"),
    );
    expect(SHORT, &spec, "0 of 1 Locust workers connected to the master");
    // Locust that cannot be installed: no Python to make the environment with.
    let mut args = SHORT.to_vec();
    args.extend(["--driver", "locust"]);
    let out = harness(tmp.path(), &spec, &args)
        .env("AUDIT_LOCUST_VENV", tmp.path().join("no-venv"))
        .env("AUDIT_PYTHON", "/nonexistent/python3")
        .output()
        .unwrap();
    let text = common::text(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("--driver locust: cannot run `/nonexistent/python3 -m venv"),
        "{text}"
    );
    assert_eq!(processes_mentioning(tmp.path()), Vec::<String>::new(), "{text}");
    // A spec value out of its domain.
    let dir = tmp.path().join("zero");
    let spec = http_spec(&dir, "[driver]\nkind = \"locust\"\nworkers = 0\n");
    expect(SHORT, &spec, "[driver] workers = 0: must be 1 to 64");
}

/// A long Locust run in `tmp`, returned once a round has finished (its
/// output so far, and the rest as it comes) with its two local workers' pids.
fn long_run(tmp: &Path) -> (std::process::Child, std::sync::mpsc::Receiver<String>, String, Vec<i32>) {
    use std::io::BufRead;
    let spec = http_spec(tmp, "");
    let args = [
        "bench",
        "--engines",
        "cand-http",
        "--mix",
        "shallow",
        "--driver",
        "locust",
        "--locust-workers",
        "2",
        "--min-rounds",
        "200",
        "--max-rounds",
        "200",
        "--max-seconds",
        "120",
    ];
    let mut run = harness(tmp, &spec, &args)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(tmp.join("stderr.txt")).unwrap())
        .spawn()
        .unwrap();
    let (tx, lines) = std::sync::mpsc::channel();
    let stdout = run.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(300);
    // The first round line: the cluster runs and a round is whole.
    while !seen.contains("round 1/") {
        match lines.recv_timeout(Duration::from_millis(100)) {
            Ok(line) => {
                seen.push_str(&line);
                seen.push('\n');
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => panic!("the run ended early: {seen}"),
            Err(_) => {}
        }
        assert!(Instant::now() < deadline, "no round finished: {seen}");
    }
    let workers: Vec<i32> = processes_mentioning(tmp)
        .into_iter()
        .filter(|p| p.contains("--worker"))
        .filter_map(|p| p.split(':').next()?.parse().ok())
        .collect();
    assert_eq!(workers.len(), 2, "{seen}");
    (run, lines, seen, workers)
}

/// A long run's exit code, and its whole output: standard output, then standard error.
fn rest(
    tmp: &Path,
    mut run: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    mut seen: String,
) -> (Option<i32>, String) {
    let status = run.wait().unwrap();
    while let Ok(line) = lines.recv_timeout(Duration::from_secs(5)) {
        seen.push_str(&line);
        seen.push('\n');
    }
    seen.push_str(&std::fs::read_to_string(tmp.join("stderr.txt")).unwrap_or_default());
    (status.code(), seen)
}

#[test]
fn a_worker_killed_mid_run_discards_its_round_and_leaves_no_process() {
    let tmp = tempfile::tempdir().unwrap();
    let (run, lines, seen, workers) = long_run(tmp.path());
    // SAFETY: kill(2) has no memory effects.
    unsafe {
        libc::kill(workers[1], libc::SIGKILL);
    }
    let (code, text) = rest(tmp.path(), run, lines, seen);
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("the round is discarded for every engine, and the run stops")
            && text.contains("finished round(s) before it are analysed above and in latencies.csv"),
        "{text}"
    );
    // The rounds before it are kept, analysed and recorded as such.
    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run_dir(tmp.path()).join("run.json")).unwrap()).unwrap();
    assert_eq!(run["bench"]["stop"], "driver_lost", "{}", run["bench"]);
    assert!(run["bench"]["rounds"].as_u64().unwrap() >= 1, "{}", run["bench"]);
    assert_eq!(processes_mentioning(tmp.path()), Vec::<String>::new());
}

#[test]
fn ctrl_c_ends_a_locust_run_with_its_rounds_reported_and_no_process_left() {
    let tmp = tempfile::tempdir().unwrap();
    let (run, lines, seen, _) = long_run(tmp.path());
    // SAFETY: kill(2) has no memory effects.
    unsafe {
        libc::kill(run.id() as i32, libc::SIGINT);
    }
    let (code, text) = rest(tmp.path(), run, lines, seen);
    assert_eq!(code, Some(3), "{text}");
    assert!(text.contains("(incomplete)") && text.contains("INCONCLUSIVE"), "{text}");
    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run_dir(tmp.path()).join("run.json")).unwrap()).unwrap();
    assert_eq!(run["complete"], false);
    assert_eq!(run["bench"]["driver"]["kind"], "locust");
    assert_eq!(processes_mentioning(tmp.path()), Vec::<String>::new());
}
