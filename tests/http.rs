//! HTTP engines and `serve`: a launched server runs every property and is
//! stopped; a deployed URL is `n/a` where the harness must choose the
//! dataset, and says so; servers that misbehave (HTML, 500, 429, redirects,
//! huge bodies, endless headers, resets, silence) are error answers naming
//! what came back; `serve` stops gracefully on SIGTERM with its counts, and
//! leaves nothing listening. Every server here listens on a port the OS picks.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use audit_engines::{Engine, Fault, Query};
use audit_harness::cancel::Cancel;
use audit_harness::dataset::{self, GenParams};
use audit_harness::equivalence::{self, Options, Property, Status};
use audit_harness::http::{HttpEngine, Server};
use audit_harness::spec::{ProcessEngineSpec, Spec};

const ROWS: u64 = 2000;

/// A 2,000-row dataset from the contract's generator.
fn dataset_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep().join("d");
        dataset::generate(
            &GenParams {
                rows: ROWS,
                ..GenParams::default()
            },
            &dir,
            false,
            &Cancel::new(),
        )
        .unwrap();
        dir
    })
}

fn options() -> Options {
    let mut o = Options::from_spec(&common::spec(), dataset_dir(), &Cancel::new()).unwrap();
    o.generator = GenParams {
        rows: ROWS,
        ..GenParams::default()
    };
    o.cases = 200;
    o.small_dataset_cases = 12;
    o.regressions = None;
    o.live_rows = 40;
    o.live_requests = 60;
    o
}

/// The shipped spec with engine `name` added.
fn spec_with(name: &str, engine: ProcessEngineSpec) -> Spec {
    let mut spec = common::spec();
    spec.engines.insert(name.into(), engine);
    spec
}

fn http_spec(command: Vec<String>, url: &str, timeout_ms: u64) -> ProcessEngineSpec {
    ProcessEngineSpec {
        command,
        url: Some(url.into()),
        events_key: None,
        processes_key: Some(1),
        workers_key: None,
        timeout_ms,
        env: Default::default(),
        cwd: Some(common::root()),
    }
}

/// `audit-harness serve` of a built-in, as a launched server's command.
fn serve_command(engine: &str) -> Vec<String> {
    [
        env!("CARGO_BIN_EXE_audit-harness"),
        "--data",
        "{data_dir}",
        "serve",
        "--engine",
        engine,
        "--listen",
        "127.0.0.1:{port}",
    ]
    .map(String::from)
    .to_vec()
}

const LAUNCHED_URL: &str = "http://127.0.0.1:{port}/audit-events";

fn alive(pid: u32) -> bool {
    // A zombie is not alive: /proc/PID/stat's state is Z.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.rsplit(')').next().unwrap_or("").trim_start().starts_with('Z'))
        .unwrap_or(false)
}

fn query() -> Query {
    Query {
        from_ts: 0,
        to_ts: i64::MAX,
        actor_id: None,
        action: None,
        page: 1,
        page_size: 10,
    }
}

#[test]
fn a_launched_server_runs_every_property_and_is_stopped_with_its_engine() {
    let spec = spec_with("h", http_spec(serve_command("memindex"), LAUNCHED_URL, 20_000));
    let engine = HttpEngine::open("h", &spec.engines["h"], &common::root(), dataset_dir(), &Cancel::new()).unwrap();
    let pid = engine.server_pid().expect("a launched engine has a server");
    assert!(alive(pid));
    assert!(engine.url().starts_with("http://127.0.0.1:") && !engine.url().contains("{port}"));
    assert_eq!(engine.query(&query()).unwrap().count, 10);
    drop(engine);
    assert!(!alive(pid), "the server outlived its engine");

    // A launched server that exits mid-run fails with the kind a process engine that exits has.
    let engine = HttpEngine::open("h", &spec.engines["h"], &common::root(), dataset_dir(), &Cancel::new()).unwrap();
    let pid = engine.server_pid().expect("a launched engine has a server");
    // SAFETY: kill(2) on the server this test launched.
    unsafe {
        libc::kill(pid as i32, libc::SIGKILL);
    }
    std::thread::sleep(Duration::from_millis(200));
    let e = engine.query(&query()).unwrap_err();
    assert_eq!(e.fault(), Some(Fault::Exit), "{e}");
    assert!(e.to_string().starts_with("exit: engine h: "), "{e}");
    drop(engine);

    let opener = audit_harness::registry::opener(&spec, "h", &Cancel::new()).unwrap();
    assert!(!opener.own_data);
    let report = equivalence::run(&options(), &[opener], |r| {
        eprintln!("{}", audit_harness::output::equivalence::describe(r))
    })
    .unwrap();
    assert!(report.judge().is_ok(), "{:?}", report.failed());
    assert_eq!(report.not_applicable(), 0);
    for p in [Property::SmallDatasets, Property::Appends, Property::LiveAppends] {
        assert!(
            report
                .results
                .iter()
                .any(|r| r.property == p && r.engine == "h" && r.status == Status::Pass && r.cases > 0),
            "{p} did not run on the launched server"
        );
    }
}

#[test]
fn a_deployed_url_is_not_applicable_where_the_harness_chooses_the_dataset() {
    let base = audit_harness::registry::open(&common::spec(), "memindex", dataset_dir(), &Cancel::new()).unwrap();
    let server = Server::start(base, "127.0.0.1:0").unwrap();
    let mut spec = spec_with("prod", http_spec(Vec::new(), &server.url(), 10_000));
    spec.engines.get_mut("prod").unwrap().cwd = None;
    let opener = audit_harness::registry::opener(&spec, "prod", &Cancel::new()).unwrap();
    assert!(opener.own_data);
    let report = equivalence::run(&options(), &[opener], |_| {}).unwrap();
    assert!(report.judge().is_ok(), "{:?}", report.failed());
    for r in report.results.iter().filter(|r| r.engine == "prod") {
        if r.property.needs_chosen_dataset() {
            assert_eq!(r.status, Status::NotApplicable, "{}", r.property);
            let note = r.note.as_deref().unwrap_or("");
            assert!(note.contains("n/a for a deployed URL"), "{note}");
        } else {
            assert_eq!(r.status, Status::Pass, "{}", r.property);
        }
    }
    assert_eq!(report.not_applicable(), 4);
    // The CSV and run.json carry the reason too.
    let csv = String::from_utf8(audit_harness::report::equivalence::to_csv(&report).unwrap()).unwrap();
    assert!(
        csv.contains("n/a,0,0") && csv.contains("n/a for a deployed URL"),
        "{csv}"
    );
    let counts = server.stop().unwrap();
    assert!(counts.served > 0 && counts.errors == 0, "{counts:?}");
}

/// `--engine-url` on the command line: the n/a lines, the PASS line that
/// says how many did not apply, and a benchmark of the deployed service.
#[test]
fn the_command_line_gates_a_deployed_url() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = common::spec_in(tmp.path(), &[]);
    let base =
        audit_harness::registry::open(&common::spec(), "memindex", &common::default_dataset(), &Cancel::new()).unwrap();
    let server = Server::start(base, "127.0.0.1:0").unwrap();
    let flag = format!("prod={}", server.url());
    let out = common::run_with_spec(
        &spec,
        &[
            "--engine-url",
            &flag,
            "equiv",
            "--engines",
            "prod",
            "--cases",
            "100",
            "--small-dataset-cases",
            "3",
            "--property",
            "mix",
            "--property",
            "small_datasets",
        ],
    );
    let text = common::text(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("small_datasets      n/a"), "{text}");
    assert!(
        text.contains("equiv: PASS (every applicable property of every engine; 1 n/a for deployed URLs"),
        "{text}"
    );
    let out = common::run_with_spec(
        &spec,
        &[
            "--engine-url",
            &flag,
            "bench",
            "--engines",
            "prod",
            "--mix",
            "shallow",
            "--requests",
            "64",
            "--slices",
            "4",
            "--min-rounds",
            "2",
            "--max-rounds",
            "2",
        ],
    );
    let text = common::text(&out);
    assert!(matches!(out.status.code(), Some(0 | 1 | 3)), "{text}");
    assert!(text.contains("prod"), "{text}");
    assert!(server.counts().served >= 128, "{:?}", server.counts());
    assert_eq!(server.counts().errors, 0);
    // Open loop: requests sent at a fixed rate, latency from the intended start.
    let served = server.counts().served;
    let out = common::run_with_spec(
        &spec,
        &[
            "--engine-url",
            &flag,
            "bench",
            "--engines",
            "prod",
            "--mix",
            "shallow",
            "--mode",
            "open",
            "--rate",
            "2000",
            "--requests",
            "64",
            "--slices",
            "4",
            "--min-rounds",
            "2",
            "--max-rounds",
            "2",
        ],
    );
    let text = common::text(&out);
    assert!(matches!(out.status.code(), Some(0 | 1 | 3)), "{text}");
    assert!(text.contains("open loop"), "{text}");
    assert!(server.counts().served >= served + 128, "{:?}", server.counts());
    assert_eq!(server.counts().errors, 0);
    // A cold cache evicts the harness's dataset, not the service's: refused.
    let out = common::run_with_spec(
        &spec,
        &["--engine-url", &flag, "bench", "--engines", "prod", "--cache", "cold"],
    );
    let text = common::text(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("engine prod is a deployed URL") && text.contains("a cold-cache benchmark"),
        "{text}"
    );
    // Appends run on a scratch copy the harness makes: refused for a deployed URL.
    let out = common::run_with_spec(
        &spec,
        &[
            "--engine-url",
            &flag,
            "bench",
            "--engines",
            "prod",
            "--append-rate",
            "100",
        ],
    );
    let text = common::text(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("engine prod is a deployed URL serving its own data"),
        "{text}"
    );
}

/// A server that answers every request with `response` (after reading the
/// request's headers), or with what `mode` writes; one thread per connection.
fn fake_server(respond: fn(&mut TcpStream)) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/audit-events", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut stream = stream;
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                loop {
                    // Read one request's head.
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" {
                            break;
                        }
                    }
                    respond(&mut stream);
                }
            });
        }
    });
    url
}

fn canned(stream: &mut TcpStream, status: &str, headers: &str, body: &str) {
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
}

/// Connects (the probe takes any HTTP answer) and asks one query: the
/// error of whichever step failed.
fn ask(url: &str) -> (Fault, String) {
    match HttpEngine::connect("bad", url, None, Duration::from_millis(1500)) {
        Ok(engine) => {
            let e = engine.query(&query()).unwrap_err();
            (e.fault().expect("an HTTP engine's failure has a kind"), e.to_string())
        }
        Err(e) => (e.fault(), e.to_string()),
    }
}

#[test]
fn misbehaving_servers_are_error_answers_that_say_what_came_back() {
    let html = fake_server(|s| canned(s, "200 OK", "Content-Type: text/html\r\n", "<html>maintenance</html>"));
    let (fault, e) = ask(&html);
    assert_eq!(fault, Fault::Protocol, "{e}");
    assert!(
        e.contains("not of the contract's shape") && e.contains("<html>maintenance"),
        "{e}"
    );

    let (fault, e) = ask(&fake_server(|s| {
        canned(s, "500 Internal Server Error", "", "{\"error\":\"db down\"}")
    }));
    assert_eq!(fault, Fault::Status, "{e}");
    assert!(
        e.starts_with("status: answered HTTP 500") && e.contains("db down"),
        "{e}"
    );

    let (fault, e) = ask(&fake_server(|s| {
        canned(s, "429 Too Many Requests", "Retry-After: 1\r\n", "slow down")
    }));
    assert_eq!(fault, Fault::Status, "{e}");
    assert!(e.contains("answered HTTP 429") && e.contains("slow down"), "{e}");

    let (fault, e) = ask(&fake_server(|s| {
        canned(s, "302 Found", "Location: http://elsewhere/x\r\n", "")
    }));
    assert_eq!(fault, Fault::Status, "{e}");
    assert!(
        e.contains("HTTP 302 to http://elsewhere/x (redirects are not followed)"),
        "{e}"
    );

    // A contract field missing is not the contract's shape (a field of the
    // service's own is kept for the comparison instead: see the noise test).
    let (fault, e) = ask(&fake_server(|s| {
        canned(
            s,
            "200 OK",
            "",
            r#"[{"id":1,"created_at":1,"actor_id":1,"action":"LOGIN","resource_type":"USER","payload":{},"served_at":5}]"#,
        )
    }));
    assert_eq!(fault, Fault::Protocol, "{e}");
    assert!(
        e.contains("not of the contract's shape") && e.contains("missing field `resource_id`"),
        "{e}"
    );

    // A body of several hundred MB: refused past 64 MiB, not read into memory.
    let (fault, e) = ask(&fake_server(|s| {
        let _ = write!(s, "HTTP/1.1 200 OK\r\nContent-Length: 400000000\r\n\r\n");
        let chunk = vec![b' '; 1 << 20];
        while s.write_all(&chunk).is_ok() {}
    }));
    assert_eq!(fault, Fault::Protocol, "{e}");
    assert!(e.contains("over 64 MiB"), "{e}");

    // Headers that never end.
    let (fault, e) = ask(&fake_server(|s| {
        let _ = write!(s, "HTTP/1.1 200 OK\r\n");
        while write!(s, "X-Filler: {}\r\n", "y".repeat(100)).is_ok() {}
    }));
    assert_eq!(fault, Fault::Connect, "{e}");
    assert!(
        e.contains("engine bad: the service does not answer") && e.contains("too many headers"),
        "{e}"
    );

    // A reset in the middle of the body: the probe gets an answer, the query a reset.
    let (fault, e) = ask(&fake_server(|s| {
        let _ = write!(s, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n[{{\"id\":1");
        let _ = s.flush();
        let _ = s.shutdown(std::net::Shutdown::Both);
    }));
    assert_eq!(fault, Fault::Connect, "{e}");
    assert!(e.contains("request to") && e.contains("failed"), "{e}");

    // Silence: no answer within the timeout is a hang, and connect says so.
    let silent = fake_server(|_| std::thread::sleep(Duration::from_secs(30)));
    let t0 = Instant::now();
    let e = HttpEngine::connect("quiet", &silent, None, Duration::from_millis(500))
        .err()
        .expect("a silent server does not connect");
    assert_eq!(e.fault(), Fault::Connect);
    let e = e.to_string();
    assert!(e.contains("engine quiet: the service does not answer"), "{e}");
    assert!(t0.elapsed() < Duration::from_secs(5));
}

#[test]
fn bad_urls_and_servers_that_never_answer_are_one_line_with_exit_2() {
    // A refused connection.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let flag = format!("p=http://127.0.0.1:{port}/audit-events");
    // On a dataset that exists (a fresh clone has no data/default before ./run_tests).
    let data = dataset_dir().to_str().unwrap().to_string();
    let out = common::harness(&[
        "--data",
        &data,
        "--engine-url",
        &flag,
        "query",
        "--engine",
        "p",
        "--from",
        "0",
        "--to",
        "1",
    ]);
    let text = common::text(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("engine p: the service does not answer") && text.contains("refused"),
        "{text}"
    );

    // A URL that does not parse.
    let out = common::harness(&["--engine-url", "p=localhost:80/x", "engines"]);
    let text = common::text(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("expected NAME=URL"), "{text}");

    // A launched server that never answers: stopped after timeout_ms, not left running.
    let tmp = tempfile::tempdir().unwrap();
    let marker = tmp.path().join("pid");
    let script = format!("echo $$ > {}; exec sleep 60", marker.display());
    let spec = spec_with(
        "sleepy",
        http_spec(vec!["sh".into(), "-c".into(), script], LAUNCHED_URL, 600),
    );
    let e = HttpEngine::open(
        "sleepy",
        &spec.engines["sleepy"],
        &common::root(),
        dataset_dir(),
        &Cancel::new(),
    )
    .err()
    .expect("a server that never answers does not open")
    .to_string();
    assert!(
        e.contains("engine sleepy: server `sh -c") && e.contains("did not answer within timeout_ms"),
        "{e}"
    );
    let pid: u32 = std::fs::read_to_string(&marker).unwrap().trim().parse().unwrap();
    assert!(!alive(pid), "the silent server was left running");

    // Interrupted while it waits for one: stopped at once, and the line says why.
    std::fs::remove_file(&marker).unwrap();
    let spec = spec_with(
        "sleepy",
        http_spec(
            vec![
                "sh".into(),
                "-c".into(),
                format!("echo $$ > {}; exec sleep 60", marker.display()),
            ],
            LAUNCHED_URL,
            60_000,
        ),
    );
    let cancel = Cancel::new();
    let later = cancel.clone();
    let t0 = Instant::now();
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(500));
        later.cancel();
    });
    let e = HttpEngine::open(
        "sleepy",
        &spec.engines["sleepy"],
        &common::root(),
        dataset_dir(),
        &cancel,
    )
    .err()
    .expect("an interrupted start does not open")
    .to_string();
    stopper.join().unwrap();
    assert!(t0.elapsed() < Duration::from_secs(10), "{:?}: {e}", t0.elapsed());
    assert!(
        e.contains("the harness stopped server `sh -c") && e.contains("interrupted by a cancellation"),
        "{e}"
    );
    assert!(!e.contains("timeout_ms"), "{e}");
    let pid: u32 = std::fs::read_to_string(&marker).unwrap().trim().parse().unwrap();
    assert!(!alive(pid), "the interrupted server was left running");

    // A launched server that exits at once: its status and its last words.
    let spec = spec_with(
        "dies",
        http_spec(
            vec!["sh".into(), "-c".into(), "echo no such port >&2; exit 7".into()],
            LAUNCHED_URL,
            5_000,
        ),
    );
    let e = HttpEngine::open(
        "dies",
        &spec.engines["dies"],
        &common::root(),
        dataset_dir(),
        &Cancel::new(),
    )
    .err()
    .expect("a server that exits does not open")
    .to_string();
    assert!(
        e.contains("exit status: 7") && e.contains("no such port") && e.contains("before answering"),
        "{e}"
    );
}

#[test]
fn serve_stops_gracefully_on_sigterm_with_its_counts_and_leaves_nothing_listening() {
    let data = dataset_dir().to_str().unwrap().to_string();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_audit-harness"))
        .current_dir(common::root())
        .args([
            "--data",
            &data,
            "serve",
            "--engine",
            "keyset",
            "--listen",
            "127.0.0.1:0",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(first.starts_with("serving keyset at http://127.0.0.1:"), "{first}");
    let url = first.split_whitespace().nth(3).unwrap().to_string();
    let engine = HttpEngine::connect("keyset-http", &url, None, Duration::from_secs(10)).unwrap();
    assert_eq!(engine.query(&query()).unwrap().count, 10);
    let bad = Query {
        page_size: -1,
        ..query()
    };
    // Outside the domain: answered by SQLite's rules, like the in-process engine.
    let _ = engine.query(&bad);
    drop(engine);
    // A query string that does not parse is rejected (400), and counted so.
    let rejected = ureq::get(&format!("{url}?from_ts=x"))
        .config()
        .http_status_as_error(false)
        .build()
        .call()
        .unwrap();
    assert_eq!(rejected.status().as_u16(), 400);
    // SAFETY: kill(2) on our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let status = child.wait().unwrap();
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert_eq!(status.code(), Some(0), "{rest}");
    assert!(rest.contains("stopped on SIGTERM: 3 requests answered"), "{rest}");
    assert!(rest.contains("1 rejected"), "{rest}");
    let addr = url.trim_start_matches("http://").split('/').next().unwrap().to_string();
    assert!(TcpStream::connect(&addr).is_err(), "something still listens on {addr}");

    // A port in use: one line, exit 2.
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = taken.local_addr().unwrap().to_string();
    let out = common::harness(&["--data", &data, "serve", "--engine", "keyset", "--listen", &listen]);
    let text = common::text(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains(&format!("serve --listen {listen}: cannot listen on {listen}")),
        "{text}"
    );
}

/// wrk is on this machine, or the test says so; under `.ci/run`
/// (`AUDIT_REQUIRE_TOOLS=1`) a missing wrk fails the test instead.
fn wrk_available(test: &str) -> bool {
    let ok = std::process::Command::new("wrk").arg("--version").output().is_ok();
    if !ok {
        assert!(
            std::env::var_os("AUDIT_REQUIRE_TOOLS").is_none(),
            "{test}: wrk is not installed (.ci/install-tools installs it)"
        );
        eprintln!("SKIPPED {test}: wrk is not installed (run .ci/install-tools)");
    }
    ok
}

#[test]
fn http_cost_measures_the_driver_against_wrk_on_a_pinned_server() {
    if !wrk_available("http_cost_measures_the_driver_against_wrk_on_a_pinned_server") {
        return;
    }
    // The Locust driver's cost beside it (docs/locust.md), from the environment the Locust tests share.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_audit-harness"))
        .current_dir(common::root())
        .env("AUDIT_LOCUST_VENV", common::root().join(".venv-locust"))
        .args([
            "http-cost",
            "--seconds",
            "1",
            "--rounds",
            "2",
            "--connections",
            "2",
            "--locust-workers",
            "1",
        ])
        .output()
        .unwrap();
    let text = common::text(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("harness (2 threads)") && text.contains("wrk"), "{text}");
    assert!(text.contains("Locust 2.47.0 (1 workers) / wrk: rps x"), "{text}");
    let ratio: f64 = text
        .split("rps x")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| panic!("no ratio in {text}"));
    // Not the target (this machine is shared and noisy): a measurement that happened.
    assert!(ratio > 0.0 && ratio.is_finite(), "{text}");
    let out = common::harness(&["http-cost", "--rounds", "1"]);
    assert_eq!(out.status.code(), Some(2), "{}", common::text(&out));
}

/// SIGINT during `http-cost` ends it as an interrupted measurement (exit 3,
/// one line), not as bad input, and at the next side's turn.
#[test]
fn http_cost_stops_at_sigint_as_an_interruption() {
    if !wrk_available("http_cost_stops_at_sigint_as_an_interruption") {
        return;
    }
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_audit-harness"))
        .current_dir(common::root())
        .args(["http-cost", "--seconds", "1", "--rounds", "20", "--connections", "1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    // SAFETY: sending a signal to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let t0 = Instant::now();
    let out = child.wait_with_output().unwrap();
    let text = common::text(&out);
    assert!(t0.elapsed() < Duration::from_secs(10), "{:?}: {text}", t0.elapsed());
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(
        text.contains("interrupted by SIGINT: http-cost stopped; nothing was measured"),
        "{text}"
    );
}

/// `engines --check` starts every engine (built in, process, launched,
/// deployed), asks each one query, and names the ones that fail (exit 2).
#[test]
fn engines_check_starts_every_engine_and_names_those_that_fail() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = common::spec_in(tmp.path(), &[]);
    let clean = common::run_with_spec(&spec, &["engines", "--check"]);
    let text = common::text(&clean);
    assert_eq!(clean.status.code(), Some(0), "{text}");
    for name in ["baseline", "keyset", "memindex", "prefetch", "floor"] {
        assert!(text.contains(&format!("  ok   {name:<10} started in")), "{text}");
    }
    let mut broken = std::fs::read_to_string(&spec).unwrap();
    broken.push_str(&format!(
        "\n[engines.sleepy]\ncommand = [\"sh\", \"-c\", \"exec sleep 60\"]\nurl = \"{LAUNCHED_URL}\"\ntimeout_ms = 400\n\
         \n[engines.typo]\ncommand = [\"python3\", \"no/such/engine.py\"]\ntimeout_ms = 3000\n"
    ));
    std::fs::write(&spec, broken).unwrap();
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let flag = format!("gone=http://127.0.0.1:{port}/audit-events");
    let o = common::run_with_spec(&spec, &["--engine-url", &flag, "engines", "--check"]);
    let text = common::text(&o);
    assert_eq!(o.status.code(), Some(2), "{text}");
    assert!(text.contains("  ok   memindex"), "{text}");
    assert!(
        text.contains("  FAIL sleepy") && text.contains("did not answer within timeout_ms"),
        "{text}"
    );
    assert!(text.contains("  FAIL typo") && text.contains("engine typo"), "{text}");
    assert!(text.contains("  FAIL gone") && text.contains("refused"), "{text}");
    // Each failure says its kind first, as every report does.
    let line = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("  FAIL {name} ")))
            .unwrap_or("")
    };
    assert!(line("sleepy").contains(" start: "), "{text}");
    assert!(line("typo").contains(" start: "), "{text}");
    assert!(line("gone").contains("connect: "), "{text}");
    assert!(
        text.contains("3 of 8 engines did not start or answer: gone, sleepy, typo"),
        "{text}"
    );
}

/// `examples/python-service/noisy_service.py` as a launched HTTP engine: the
/// production module behind a server that adds a random `request_id` and a
/// `served_at` to every answer and a `served_at` inside every event.
fn noisy(flags: &[&str]) -> ProcessEngineSpec {
    let mut command: Vec<String> = [
        "python3",
        "examples/python-service/noisy_service.py",
        "--port",
        "{port}",
    ]
    .map(String::from)
    .to_vec();
    command.extend(flags.iter().map(|f| f.to_string()));
    ProcessEngineSpec {
        events_key: Some("events".into()),
        ..http_spec(command, LAUNCHED_URL, 20_000)
    }
}

#[test]
fn noise_is_learned_from_two_references_and_contract_fields_are_still_compared() {
    if !common::python3_available("noise_is_learned_from_two_references_and_contract_fields_are_still_compared") {
        assert!(std::env::var_os("AUDIT_REQUIRE_TOOLS").is_none(), "python3 is missing");
        return;
    }
    let mut spec = spec_with("svc", noisy(&[]));
    spec.engines.insert("svc_corrupt".into(), noisy(&["--corrupt"]));
    spec.engines.insert("svc_shard".into(), noisy(&["--field", "shard=b"]));
    let open = |name: &str| audit_harness::registry::opener(&spec, name, &Cancel::new()).unwrap();
    let mut opts = options();
    opts.cases = 60;
    opts.only = vec![Property::Mix, Property::Edge];
    opts.reference = open("svc");
    opts.noise_reference = Some(open("svc"));
    let memindex = audit_harness::registry::opener(&common::spec(), "memindex", &Cancel::new()).unwrap();
    let report = equivalence::run(&opts, &[memindex, open("svc_corrupt"), open("svc_shard")], |_| {}).unwrap();
    let noise = report.noise.clone().expect("the report lists the noise");
    let learned: Vec<&str> = noise.learned.iter().map(|l| l.field.as_str()).collect();
    assert_eq!(learned, ["events[].served_at", "request_id", "served_at"], "{noise:?}");
    assert!(noise.pairs >= 24, "{noise:?}");
    let result = |engine: &str, prop: Property| {
        report
            .results
            .iter()
            .find(|r| r.engine == engine && r.property == prop)
            .unwrap_or_else(|| panic!("no result for {engine} {prop}"))
    };
    for prop in [Property::Mix, Property::Edge] {
        assert_eq!(
            result("memindex", prop).status,
            Status::Pass,
            "{:?}",
            result("memindex", prop)
        );
    }
    // A wrong value in a contract field fails, whatever the noise says.
    let corrupt = result("svc_corrupt", Property::Edge);
    assert_eq!(corrupt.status, Status::Fail);
    let detail = &corrupt.counterexample.as_ref().unwrap().detail;
    assert!(detail.contains("field resource_id"), "{detail}");
    // A field of the candidate's own that the references do not vary is compared.
    let shard = result("svc_shard", Property::Mix);
    assert_eq!(shard.status, Status::Fail);
    let detail = &shard.counterexample.as_ref().unwrap().detail;
    assert!(
        detail.contains("field shard (not in the contract): expected (absent), actual \"b\""),
        "{detail}"
    );

    // A noise reference that differs in a contract field is not a second instance: bad input.
    opts.noise_reference = Some(open("svc_corrupt"));
    let e = equivalence::run(&opts, &[open("svc_shard")], |_| {}).unwrap_err();
    assert_eq!(e.exit_code(), 2, "{e}");
    let e = e.to_string();
    assert!(
        e.contains("noise_reference svc_corrupt is not a second instance of the reference svc")
            && e.contains("field resource_id"),
        "{e}"
    );
}

#[test]
fn ignore_fields_names_only_fields_beyond_the_contract() {
    let tmp = tempfile::tempdir().unwrap();
    for (fields, why) in [
        ("[\"events[].id\"]", "is the contract's field events[].id"),
        (
            "[\"events[].payload.note\"]",
            "is the contract's field events[].payload",
        ),
        ("[\"count\"]", "is the contract's field count"),
        ("[\"meta..x\"]", "is not a field name"),
    ] {
        let spec = common::spec_in(
            tmp.path(),
            &[("[equivalence]\n", &format!("[equivalence]\nignore_fields = {fields}\n"))],
        );
        let o = common::run_with_spec(&spec, &["engines"]);
        let text = common::text(&o);
        assert_eq!(o.status.code(), Some(2), "{text}");
        assert!(
            text.contains("equivalence.ignore_fields") && text.contains(why),
            "{text}"
        );
        assert_eq!(text.lines().filter(|l| !l.trim().is_empty()).count(), 1, "{text}");
    }
    let spec = common::spec_in(
        tmp.path(),
        &[("[equivalence]\n", "[equivalence]\nnoise_reference = \"prdo\"\n")],
    );
    let o = common::run_with_spec(&spec, &["engines", "--check"]);
    let text = common::text(&o);
    assert_eq!(o.status.code(), Some(2), "{text}");
    assert!(
        text.contains("equivalence.noise_reference") && text.contains("\"prdo\""),
        "{text}"
    );
}
