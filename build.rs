//! Records, at build time, the compiler that builds the harness and the git
//! revision it is built from, for `--version` and run.json (the `rustc` on
//! PATH at run time may be another compiler than the one that built it).
//!
//! The script reruns only when what it reports can have changed: a commit or
//! checkout (HEAD and the refs) or a file the binary is built from. It does
//! not watch `.git/index`, so `git add` or `git status` rebuilds nothing; the
//! dirty flag is taken over the binary's own sources (`SOURCES`), the files
//! whose change recompiles the harness anyway.

use std::path::Path;
use std::process::Command;

/// What the binary is built from: a change here rebuilds it (and reruns this script).
const SOURCES: &[&str] = &[
    "src",
    "engines/src",
    "engines/Cargo.toml",
    "build.rs",
    "Cargo.toml",
    "Cargo.lock",
];

fn output(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
}

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = output(&rustc, &["--version"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=AUDIT_HARNESS_RUSTC={version}");
    let revision = output("git", &["rev-parse", "--short=12", "HEAD"])
        .map(|r| {
            let mut args = vec!["status", "--porcelain", "--untracked-files=no", "--"];
            args.extend(SOURCES);
            if output("git", &args).is_some() {
                format!("{r}-dirty")
            } else {
                r
            }
        })
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=AUDIT_HARNESS_GIT={revision}");
    for s in SOURCES {
        if Path::new(s).exists() {
            println!("cargo:rerun-if-changed={s}");
        }
    }
    // A new commit or checkout changes HEAD or the ref it names (asked of
    // git, so a linked work tree's own HEAD is found too); a work tree
    // without git has none.
    let mut watch: Vec<String> = ["HEAD", "packed-refs"]
        .iter()
        .filter_map(|f| output("git", &["rev-parse", "--git-path", f]))
        .collect();
    if let Some(r) = output("git", &["symbolic-ref", "-q", "HEAD"]) {
        watch.extend(output("git", &["rev-parse", "--git-path", &r]));
    }
    for f in watch {
        if Path::new(&f).exists() {
            println!("cargo:rerun-if-changed={f}");
        }
    }
}
