//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use audit_harness::cancel::Cancel;
use audit_harness::dataset::GenParams;
use audit_harness::spec::Spec;

/// The repository root (where harness.toml lives).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shipped spec.
pub fn spec() -> Spec {
    Spec::load(&root().join("harness.toml")).expect("the shipped harness.toml loads")
}

/// The default (contract) dataset, generated once into `target/test-data/default`
/// and shared by every test binary; a file lock keeps parallel test binaries
/// from generating it twice.
pub fn default_dataset() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = root().join("target").join("test-data");
        std::fs::create_dir_all(&base).expect("create target/test-data");
        let lock = std::fs::File::create(base.join(".lock")).expect("create the lock file");
        lock.lock().expect("lock target/test-data");
        let dir = base.join("default");
        if !dir.join("manifest.json").exists() {
            audit_harness::dataset::generate(&GenParams::default(), &dir, true, &Cancel::new())
                .expect("generate the default dataset");
        }
        dir
    })
    .clone()
}

/// A copy of the shipped spec in `dir` on the default dataset, whose reports
/// and regressions go to `dir`, never into the checkout (relative paths in a
/// spec are resolved against its own directory), with `replace` applied
/// (pairs of exact text and its replacement, each of which must be there).
pub fn spec_in(dir: &Path, replace: &[(&str, &str)]) -> PathBuf {
    let data = default_dataset();
    let mut text = std::fs::read_to_string(root().join("harness.toml")).expect("read the shipped spec");
    let dataset = format!("dir = {:?}", data.display().to_string());
    let fixed = [
        ("dir = \"data/default\"", dataset.as_str()),
        (
            "regressions = \"tests/regressions/equivalence.jsonl\"",
            "regressions = \"regressions.jsonl\"",
        ),
    ];
    for (from, to) in fixed.iter().chain(replace) {
        assert!(text.contains(from), "the shipped spec has no {from:?}");
        text = text.replace(from, to);
    }
    std::fs::create_dir_all(dir).expect("create the spec's directory");
    let path = dir.join("harness.toml");
    std::fs::write(&path, text).expect("write the spec");
    path
}

/// Runs the `audit-harness` binary with `args` in the repository root.
pub fn harness(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_audit-harness"))
        .current_dir(root())
        .args(args)
        .output()
        .expect("run audit-harness")
}

/// Runs the binary with `args`, feeding `stdin`.
pub fn harness_stdin(args: &[&str], stdin: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_audit-harness"))
        .current_dir(root())
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run audit-harness");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait for audit-harness")
}

/// Copies a dataset directory (for tests that damage or append to it).
pub fn copy_dataset(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create the copy");
    for f in ["audit.db", "payloads.jsonl", "manifest.json"] {
        if from.join(f).exists() {
            std::fs::copy(from.join(f), to.join(f)).expect("copy a dataset file");
        }
    }
}

/// Whether python3 runs here; prints why a test is skipped when it does not.
pub fn python3_available(test: &str) -> bool {
    let ok = std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("SKIPPED {test}: python3 is not on PATH");
    }
    ok
}

/// Runs the binary with `--spec spec` and `args`, in the repository root.
pub fn run_with_spec(spec: &Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["--spec", spec.to_str().expect("a UTF-8 spec path")];
    all.extend_from_slice(args);
    harness(&all)
}

/// Standard output then standard error, as one text (for assertion messages).
pub fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// An engine served by `audit_harness::http::Server` and reached through an
/// `HttpEngine`, as a deployed service would be; the server stops when the
/// engine is dropped.
pub struct ServedOverHttp {
    client: audit_harness::http::HttpEngine,
    _server: audit_harness::http::Server,
}

impl audit_engines::Engine for ServedOverHttp {
    fn name(&self) -> &str {
        audit_engines::Engine::name(&self.client)
    }

    fn query(&self, q: &audit_engines::Query) -> Result<audit_engines::Page, audit_engines::EngineError> {
        self.client.query(q)
    }
}

/// `opener`'s engine, opened on each dataset as before but served over HTTP
/// on a port the OS picks: every property reaches it through HTTP.
pub fn over_http(opener: audit_harness::equivalence::Opener) -> audit_harness::equivalence::Opener {
    let inner = opener.clone();
    audit_harness::equivalence::Opener::new(&opener.name, move |dir| {
        let engine = (inner.open)(dir)?;
        let server =
            audit_harness::http::Server::start(engine, "127.0.0.1:0").map_err(audit_engines::EngineError::Other)?;
        let client = audit_harness::http::HttpEngine::connect(
            &inner.name,
            &server.url(),
            None,
            std::time::Duration::from_secs(10),
        )
        .map_err(|e| audit_engines::EngineError::Other(e.to_string()))?;
        Ok::<_, audit_harness::equivalence::OpenError>(std::sync::Arc::new(ServedOverHttp {
            client,
            _server: server,
        }) as audit_engines::SharedEngine)
    })
}
