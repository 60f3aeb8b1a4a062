//! The harness's layering, stated once and checked against the source: which
//! module may import which, where clap, terminal text and `process::exit`
//! may appear. A module imports only modules on lower layers, so a request
//! can be followed from the command line down to an engine and back up to
//! a report without an arrow that runs the other way, and a module can be
//! read without the ones above it.
//!
//! The check reads `crate::` paths (and `super::` paths that climb to the
//! crate root) in every file under `src/`, skipping comments and the
//! `#[cfg(test)] mod` at a file's end. A new module must be given a layer
//! here before the suite passes.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// The layers, from the ground up. A module may import the modules of every
/// layer below its own, and none of its own layer or above.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "foundations: errors, statistics and small helpers that know no harness concept",
        &["error", "sync", "shell", "digest", "stats", "measured"],
    ),
    ("files, signals and the query type", &["fsutil", "cancel", "query"]),
    ("the dataset", &["dataset"]),
    ("the spec (harness.toml)", &["spec"]),
    (
        "what the spec names: mixes, process engines, integrity",
        &["mix", "process", "integrity"],
    ),
    (
        "HTTP engines and the equivalence stage's machinery",
        &["http", "equivalence"],
    ),
    ("opening engines by name; the Locust driver", &["registry", "locust"]),
    ("the benchmark: rounds, drivers, the stopping rule", &["bench"]),
    ("figures from the benchmark's records", &["analysis"]),
    ("judging figures against the gate; appends", &["verdict", "appends"]),
    ("the run directory and its report files", &["report"]),
    ("what reads or simulates whole runs", &["aa", "calibrate", "compare"]),
    ("terminal text", &["output"]),
    ("the gate's stages, in order", &["stages"]),
    ("the command line's definition (clap)", &["cli"]),
    ("one file per command", &["commands"]),
    ("dispatch from the parsed command line", &["app"]),
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// A file under `src/`: its module path (`bench::plan` for `bench/plan.rs`,
/// `bench` for `bench/mod.rs`) and its code without comments or a trailing
/// test module.
struct Source {
    rel: String,
    module: Vec<String>,
    code: String,
}

fn sources() -> Vec<Source> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    files.sort();
    files
        .into_iter()
        .filter_map(|path| {
            let rel = path.strip_prefix(src()).unwrap().to_string_lossy().replace('\\', "/");
            // A test module kept in a file of its own.
            if rel.ends_with("/tests.rs") {
                return None;
            }
            let mut module: Vec<String> = rel.trim_end_matches(".rs").split('/').map(String::from).collect();
            if module.last().is_some_and(|m| m == "mod") {
                module.pop();
            }
            let text = fs::read_to_string(&path).unwrap();
            Some(Source {
                rel,
                module,
                code: code_of(&text),
            })
        })
        .collect()
}

/// The code without comments, string and character literals (each blanked
/// to spaces, so braces inside them do not count) and without every
/// `#[cfg(test)] mod`, inline or not, wherever it stands in the file.
fn code_of(text: &str) -> String {
    let code = blank_comments_and_literals(text);
    let mut out = String::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = &rest[at + "#[cfg(test)]".len()..];
        let item = after.trim_start();
        let item = item.strip_prefix("pub ").unwrap_or(item);
        if let Some(m) = item.strip_prefix("mod ") {
            let skipped = after.len() - item.len() + "mod ".len();
            let name_end = m.find(|c: char| !is_ident(c)).unwrap_or(m.len());
            let tail = &m[name_end..];
            let t = tail.trim_start();
            if t.starts_with(';') {
                // `mod tests;`: the file is skipped on its own.
                rest = &after[skipped + name_end + (tail.len() - t.len()) + 1..];
                continue;
            }
            if t.starts_with('{') {
                let open = skipped + name_end + (tail.len() - t.len());
                let close = matching_brace(&after[open..]).map_or(after.len(), |i| open + i + 1);
                rest = &after[close..];
                continue;
            }
        }
        // A test-only item that is no module: kept (it is rare and small).
        out.push_str("#[cfg(test)]");
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Where the brace that `text` opens with closes.
fn matching_brace(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Comments, strings (plain, byte, raw) and character literals replaced by
/// spaces, line breaks kept; a lifetime (`'a`) is left as it is.
fn blank_comments_and_literals(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let blank = |out: &mut String, c: char| out.push(if c == '\n' { '\n' } else { ' ' });
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                blank(&mut out, chars[i]);
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    blank(&mut out, chars[i]);
                    i += 1;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    blank(&mut out, chars[i]);
                    i += 1;
                    if depth == 0 {
                        blank(&mut out, chars[i]);
                        i += 1;
                        break;
                    }
                }
                blank(&mut out, chars[i]);
                i += 1;
            }
        } else if c == 'r'
            && (next == Some('#') || next == Some('"'))
            && !chars[..i].last().is_some_and(|&p| is_ident(p))
        {
            // r"..." or r#"..."#
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            let end: String = std::iter::once('"').chain(std::iter::repeat_n('#', hashes)).collect();
            let body_start = j + 1;
            let rest: String = chars[body_start..].iter().collect();
            let len = rest
                .find(&end)
                .map_or(rest.chars().count(), |b| rest[..b].chars().count() + end.len());
            for &ch in &chars[i..(body_start + len).min(chars.len())] {
                blank(&mut out, ch);
            }
            i = body_start + len;
        } else if c == '"' {
            blank(&mut out, c);
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    blank(&mut out, chars[i]);
                    i += 1;
                }
                if i < chars.len() {
                    blank(&mut out, chars[i]);
                    i += 1;
                }
            }
            if i < chars.len() {
                blank(&mut out, chars[i]);
                i += 1;
            }
        } else if c == '\'' {
            // '{', '\n', '\u{7f}' are characters; 'a (no closing quote next) a lifetime.
            let close = if next == Some('\\') {
                chars[i + 2..].iter().position(|&x| x == '\'').map(|p| i + 2 + p)
            } else if chars.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match close {
                Some(end) => {
                    for &ch in &chars[i..=end] {
                        blank(&mut out, ch);
                    }
                    i = end + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The first path segment of each item of a `{...}` group (`{a, b::{c, d}, e as f}`
/// gives `a`, `b`, `e`), the group given without its braces.
fn group_heads(group: &str) -> Vec<String> {
    let mut heads = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    let mut push = |item: &str| {
        let name: String = item.trim().chars().take_while(|&c| is_ident(c)).collect();
        if !name.is_empty() && name != "self" {
            heads.push(name);
        }
    };
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                push(&group[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    push(&group[start..]);
    heads
}

/// The crate-level modules a file names: `crate::x`, `crate::{x, y::{z}}`,
/// `$crate::x`, and `super::...::x` where the `super`s climb to the crate root.
fn crate_modules(s: &Source) -> BTreeSet<String> {
    let code = &s.code;
    let mut out = BTreeSet::new();
    let mut at = 0;
    while let Some(i) = code[at..].find("crate::") {
        let start = at + i;
        at = start + "crate::".len();
        if code[..start].chars().next_back().is_some_and(is_ident) {
            continue; // `audit_harness_crate::`, not ours
        }
        let rest = &code[at..];
        if rest.starts_with('{') {
            let close = matching_brace(rest).unwrap_or(rest.len() - 1);
            out.extend(group_heads(&rest[1..close]));
        } else {
            let name: String = rest.chars().take_while(|&c| is_ident(c)).collect();
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    // `super::super::x` from `a/b.rs` (module depth 2) names the crate's `x`.
    let depth = s.module.len();
    let mut at = 0;
    while let Some(i) = code[at..].find("super::") {
        let start = at + i;
        if code[..start]
            .chars()
            .next_back()
            .is_some_and(|c| is_ident(c) || c == ':')
        {
            at = start + 1;
            continue;
        }
        let mut rest = &code[start..];
        let mut climbs = 0;
        while let Some(r) = rest.strip_prefix("super::") {
            climbs += 1;
            rest = r;
        }
        at = start + 1;
        if climbs >= depth {
            if rest.starts_with('{') {
                let close = matching_brace(rest).unwrap_or(rest.len() - 1);
                out.extend(group_heads(&rest[1..close]));
            } else {
                let name: String = rest.chars().take_while(|&c| is_ident(c)).collect();
                if !name.is_empty() {
                    out.insert(name);
                }
            }
        }
    }
    out
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, ms)| ms.contains(&module))
}

/// Every crate-level module `lib.rs` declares.
fn declared_modules() -> Vec<String> {
    fs::read_to_string(src().join("lib.rs"))
        .unwrap()
        .lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix("pub mod ")
                .or_else(|| l.trim().strip_prefix("mod "))
        })
        .map(|l| l.trim_end_matches(';').to_string())
        .collect()
}

#[test]
fn every_module_has_a_layer_and_each_module_once() {
    let declared = declared_modules();
    assert!(declared.len() > 20, "lib.rs read wrongly: {declared:?}");
    let unplaced: Vec<&String> = declared.iter().filter(|m| layer_of(m).is_none()).collect();
    assert!(
        unplaced.is_empty(),
        "module(s) {unplaced:?} have no layer: add each to LAYERS in tests/architecture.rs"
    );
    let listed: Vec<&str> = LAYERS.iter().flat_map(|(_, ms)| ms.iter().copied()).collect();
    let unique: BTreeSet<&str> = listed.iter().copied().collect();
    assert_eq!(unique.len(), listed.len(), "a module is listed on two layers");
    let stale: Vec<&&str> = listed.iter().filter(|m| !declared.iter().any(|d| d == *m)).collect();
    assert!(
        stale.is_empty(),
        "LAYERS names module(s) lib.rs does not declare: {stale:?}"
    );
}

#[test]
fn every_import_runs_down_the_layers() {
    let mut climbing = Vec::new();
    let mut seen = 0;
    for s in sources() {
        let Some(own) = s.module.first() else { continue };
        if own == "main" || own == "lib" {
            continue; // the binary uses the library as a crate; lib.rs declares
        }
        let own_layer = layer_of(own).unwrap_or_else(|| panic!("{}: module {own} has no layer", s.rel));
        for used in crate_modules(&s) {
            if &used == own {
                continue;
            }
            seen += 1;
            let Some(layer) = layer_of(&used) else { continue };
            if layer >= own_layer {
                climbing.push(format!(
                    "src/{} ({own}, layer {}: {}) imports {used} (layer {}: {})",
                    s.rel, own_layer, LAYERS[own_layer].0, layer, LAYERS[layer].0
                ));
            }
        }
    }
    assert!(seen > 100, "the sources were read wrongly: only {seen} imports found");
    assert!(
        climbing.is_empty(),
        "imports that run sideways or up the layers:\n{}",
        climbing.join("\n")
    );
}

/// The checker itself: it sees each form of import it must see, and none in
/// a comment, a string or a test module, wherever the test module stands.
#[test]
fn the_import_reader_sees_every_form_and_skips_comments_and_tests() {
    let s = Source {
        rel: "bench/quota.rs".into(),
        module: vec!["bench".into(), "quota".into()],
        code: code_of(concat!(
            "use crate::error::HarnessError;\n",
            "use crate::{mix, spec::{Spec, GateSpec}, query as q};\n",
            "fn f() { crate::stats::x(); super::super::report::y(); super::plan::z(); }\n",
            "// crate::verdict in a comment\n",
            "/* crate::aa in a block comment */\n",
            "const S: &str = \"crate::compare in a string {\";\n",
            "const R: &str = r#\"crate::output in a raw string }\"#;\n",
            "const C: char = '{';\n",
            "#[cfg(test)]\n",
            "mod tests { use crate::calibrate; const T: &str = \"{ unbalanced\"; }\n",
            "fn after_the_tests<'a>(x: &'a str) -> Option<crate::sync::Lock> { None }\n",
            "macro_rules! m { () => { $crate::digest::x() } }\n",
        )),
    };
    let found: Vec<String> = crate_modules(&s).into_iter().collect();
    assert_eq!(
        found,
        ["digest", "error", "mix", "query", "report", "spec", "stats", "sync"]
    );
}

/// Each file whose code holds one of `needles` outside the `allowed` places
/// (a file, or a folder ending in `/`; each with its reason), with the needle.
/// The sources are read once, whatever the number of needles.
fn files_outside(needles: &[&str], allowed: &[(&str, &str)]) -> BTreeSet<String> {
    let placed = |f: &str| {
        allowed
            .iter()
            .any(|(place, _)| f == *place || (place.ends_with('/') && f.starts_with(place)))
    };
    let sources = sources();
    needles
        .iter()
        .flat_map(|n| {
            sources
                .iter()
                .filter(move |s| s.code.contains(n))
                .map(move |s| (s.rel.as_str(), *n))
        })
        .filter(|(f, _)| !placed(f))
        .map(|(f, n)| format!("src/{f} ({n})"))
        .collect()
}

/// clap stays at the edge: the command line's definition, the binary, and
/// the commands that print clap's own output (completions, man page).
#[test]
fn clap_is_used_only_at_the_edge() {
    let allowed: &[(&str, &str)] = &[
        ("cli.rs", "the command line's definition"),
        ("main.rs", "parsing it"),
        ("commands/completions.rs", "clap's completion scripts"),
        ("commands/man.rs", "clap's manual pages"),
    ];
    let stray = files_outside(&["clap::"], allowed);
    assert!(stray.is_empty(), "clap used outside the edge: {stray:?}");
}

/// Terminal text is written in `src/output/` alone (and the binary's last
/// line); a few commands write data, not text, to standard output.
#[test]
fn terminal_text_is_written_only_by_output() {
    let allowed: &[(&str, &str)] = &[
        ("output/", "terminal text"),
        ("main.rs", "the command's last line"),
        ("commands/query.rs", "data: answers, one JSON line each"),
        ("commands/man.rs", "data: a manual page"),
        ("process/null.rs", "data: the do-nothing engine's protocol lines"),
    ];
    let stray = files_outside(
        &[
            "println!",
            "eprintln!",
            "print!(",
            "eprint!(",
            "io::stdout",
            "io::stderr",
        ],
        allowed,
    );
    assert!(stray.is_empty(), "terminal text written outside src/output/: {stray:?}");
}

/// A cancellation is noticed in one place: signal handlers are installed
/// only by `cancel.rs`, a token that signals cancel is made only by `app.rs`
/// (once per command), and everything else asks the token it was given.
#[test]
fn cancellation_has_one_source() {
    let handlers = files_outside(
        &["libc::signal(", "libc::sigaction", "signal_hook", "ctrlc::"],
        &[("cancel.rs", "the only signal handlers")],
    );
    assert!(
        handlers.is_empty(),
        "signal handlers installed outside cancel.rs: {handlers:?}"
    );
    // A token made anywhere else (outside tests; its fields are private, so
    // only these make one) is one that no signal cancels: the work given it
    // would not stop at Ctrl-C.
    let tokens = files_outside(
        &["Cancel::on_signals", "Cancel::new", "Cancel::default"],
        &[("app.rs", "one token per command"), ("cancel.rs", "its definition")],
    );
    assert!(tokens.is_empty(), "a token made outside app.rs: {tokens:?}");
    let polled = files_outside(
        &["SIGNAL.load", "static SIGNAL"],
        &[("cancel.rs", "the token reads it")],
    );
    assert!(polled.is_empty(), "the signal flag read outside cancel.rs: {polled:?}");
}

/// The exit code is decided by the error or decision a command returns, and
/// the process ends in one place: the binary's `main`.
#[test]
fn only_main_ends_the_process() {
    let mut stray = Vec::new();
    for s in sources() {
        let calls: usize = ["process::exit", "process::abort", "libc::exit", "libc::_exit"]
            .iter()
            .map(|m| s.code.matches(m).count())
            .sum();
        // `use std::process::{self, exit}` and the like.
        let imported = s.code.match_indices("process::{").any(|(i, m)| {
            let rest = &s.code[i + m.len() - 1..];
            let close = matching_brace(rest).unwrap_or(rest.len() - 1);
            group_heads(&rest[1..close]).iter().any(|h| h == "exit" || h == "abort")
        });
        let allowed = match s.rel.as_str() {
            "main.rs" => usize::MAX,
            // The child between fork and exec, which must not run on into
            // the harness's code when its parent is gone.
            "process/child.rs" => 1,
            _ => 0,
        };
        if calls > allowed || (imported && s.rel != "main.rs") {
            stray.push(s.rel);
        }
    }
    assert!(stray.is_empty(), "the process ended outside main.rs: {stray:?}");
}

/// Where files are written. Every file of a run (its report directory, an
/// A/A series' directory, `report --out`) goes through `report::RunDir`;
/// the other writers each own files that are no run's.
#[test]
fn files_are_written_only_where_they_belong() {
    let allowed: &[(&str, &str)] = &[
        ("fsutil.rs", "the primitives: whole files by temporary name and rename"),
        ("report/run_dir.rs", "RunDir, the one writer of every file of a run"),
        (
            "stages.rs",
            "the export copies (--export-json, --export-markdown), outside the run",
        ),
        ("dataset/", "the dataset's own files"),
        ("locust/", "Locust's virtual environment, locustfile and logs"),
        ("commands/man.rs", "man pages"),
        (
            "equivalence/regressions.rs",
            "counterexamples appended to the regressions file",
        ),
        (
            "equivalence/scratch.rs",
            "a scratch copy of the dataset, changed under an engine",
        ),
        (
            "report/baselines.rs",
            "a saved baseline: a copy of a finished run's files",
        ),
    ];
    let writers = [
        "write_atomic(",
        "fs::write(",
        "File::create(",
        "replace_unsynced(",
        "OpenOptions",
        "fs::copy(",
        "fs::rename(",
        "replace_dir(",
        "symlink(",
    ];
    let stray = files_outside(&writers, allowed);
    assert!(
        stray.is_empty(),
        "files written outside their places (a run's files go through report::RunDir): {stray:?}"
    );
}
