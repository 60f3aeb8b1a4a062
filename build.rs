//! Records, at build time, the compiler that builds the harness and the git
//! revision it is built from, for `--version` and run.json (the `rustc` on
//! PATH at run time may be another compiler than the one that built it).

use std::path::Path;
use std::process::Command;

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
            let dirty = output("git", &["status", "--porcelain", "--untracked-files=no"]).is_some();
            if dirty {
                format!("{r}-dirty")
            } else {
                r
            }
        })
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=AUDIT_HARNESS_GIT={revision}");
    println!("cargo:rerun-if-changed=build.rs");
    // A new commit or checkout changes these; a work tree without .git has none.
    for f in [".git/HEAD", ".git/index", ".git/packed-refs"] {
        if Path::new(f).exists() {
            println!("cargo:rerun-if-changed={f}");
        }
    }
    if let Some(head) = std::fs::read_to_string(".git/HEAD")
        .ok()
        .and_then(|h| h.strip_prefix("ref: ").map(|r| format!(".git/{}", r.trim())))
    {
        if Path::new(&head).exists() {
            println!("cargo:rerun-if-changed={head}");
        }
    }
}
