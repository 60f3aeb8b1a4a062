//! The project-local Python environment Locust runs in: created on first use
//! from `locust/requirements.txt` (every package pinned), and reused while
//! its Locust is the pinned version. Creating it needs `python3` with its
//! `venv` module and PyPI; a failure says which step failed and how to
//! redo it by hand.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::HarnessError;

/// The pinned requirements, compiled in so an installed binary needs no checkout.
pub const REQUIREMENTS: &str = include_str!("../../locust/requirements.txt");

/// The Locust version the requirements pin (what a reused environment must have).
pub fn pinned_version() -> &'static str {
    REQUIREMENTS
        .lines()
        .find_map(|l| l.trim().strip_prefix("locust=="))
        .unwrap_or("unknown")
}

/// Where the environment lives: `AUDIT_LOCUST_VENV`, else the spec's
/// `[driver] venv` (relative to the spec's directory), else
/// `.venv-locust` beside the spec.
pub fn location(spec_dir: &Path, configured: Option<&Path>) -> PathBuf {
    if let Some(dir) = std::env::var_os("AUDIT_LOCUST_VENV").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    spec_dir.join(configured.unwrap_or(Path::new(".venv-locust")))
}

/// The environment's python, with the pinned Locust importable; creates or
/// repairs the environment first when it is missing or holds another version.
/// `say` gets one line when an install starts (it takes half a minute).
pub fn ensure(dir: &Path, say: &mut dyn FnMut(&str)) -> Result<PathBuf, HarnessError> {
    let python = dir.join("bin").join("python");
    let want = pinned_version();
    if installed_version(&python).as_deref() == Some(want) {
        return Ok(python);
    }
    // One installer at a time (parallel tests share one environment).
    let parent = dir.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| HarnessError::io(parent, e))?;
    let lock_path = parent.join(format!(
        "{}.lock",
        dir.file_name().and_then(|n| n.to_str()).unwrap_or("venv")
    ));
    let lock = std::fs::File::create(&lock_path).map_err(|e| HarnessError::io(&lock_path, e))?;
    lock.lock().map_err(|e| HarnessError::io(&lock_path, e))?;
    if installed_version(&python).as_deref() == Some(want) {
        return Ok(python);
    }
    say(&format!(
        "installing Locust {want} into {} (first use; pinned in locust/requirements.txt)",
        dir.display()
    ));
    let base = std::env::var("AUDIT_PYTHON").unwrap_or_else(|_| "python3".into());
    run(
        Command::new(&base).args(["-m", "venv", "--clear"]).arg(dir),
        &format!("{base} -m venv {}", dir.display()),
    )?;
    let requirements = dir.join("requirements.txt");
    std::fs::write(&requirements, REQUIREMENTS).map_err(|e| HarnessError::io(&requirements, e))?;
    run(
        Command::new(&python)
            .args(["-m", "pip", "install", "--disable-pip-version-check", "-q", "-r"])
            .arg(&requirements),
        &format!("{} -m pip install -r {}", python.display(), requirements.display()),
    )?;
    match installed_version(&python) {
        Some(v) if v == want => Ok(python),
        other => Err(HarnessError::input(format!(
            "--driver locust: {} has Locust {} after installing, not the pinned {want}",
            dir.display(),
            other.as_deref().unwrap_or("(none)")
        ))),
    }
}

/// The Locust version importable by `python`, if any.
fn installed_version(python: &Path) -> Option<String> {
    let out = Command::new(python)
        .args(["-c", "import locust; print(locust.__version__)"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Runs one set-up step; its failure is one line with the step's last words.
fn run(command: &mut Command, shown: &str) -> Result<(), HarnessError> {
    let out = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| HarnessError::input(format!("--driver locust: cannot run `{shown}`: {e}")))?;
    if out.status.success() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&out.stderr);
    let last = text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
    Err(HarnessError::input(format!(
        "--driver locust: `{shown}` failed ({}): {last}",
        out.status
    )))
}
