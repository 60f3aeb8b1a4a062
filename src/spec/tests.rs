use std::path::Path;

use super::*;

fn shipped() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("harness.toml")).unwrap()
}

fn parse(text: &str) -> Result<Spec, String> {
    Spec::parse(text, Path::new("/x/spec.toml")).map_err(|e| {
        assert_eq!(e.exit_code(), 2);
        e.to_string()
    })
}

#[test]
fn the_shipped_spec_loads_with_the_contract_defaults() {
    let s = parse(&shipped()).unwrap();
    assert_eq!(s.dataset.generator, GenParams::default());
    assert_eq!(s.domain(), Domain::default());
    assert_eq!(s.dataset.dir, Path::new("/x/data/default"));
    let d = s.mix("default").unwrap();
    assert_eq!(
        (d.window, d.window_seconds, d.actor_probability),
        (WindowKind::Recent, Some(604_800), 0.5)
    );
    assert_eq!(d.pages, [1, 2000]);
    let sh = s.mix("shallow").unwrap();
    assert_eq!((sh.window, sh.pages), (WindowKind::All, [1, 5]));
    assert!(s.mix("nope").unwrap_err().to_string().contains("default, shallow"));
}

#[test]
fn every_shipped_key_has_a_comment() {
    // Each `key = value` line is preceded by a comment line (or another commented key).
    let text = shipped();
    let lines: Vec<&str> = text.lines().collect();
    for (i, l) in lines.iter().enumerate() {
        let t = l.trim();
        if t.is_empty() || t.starts_with('#') || t.starts_with('[') {
            continue;
        }
        let prev = lines[..i]
            .iter()
            .rev()
            .find(|p| !p.trim().is_empty())
            .map(|p| p.trim())
            .unwrap_or("");
        assert!(
            prev.starts_with('#') || (t.contains('=') && prev.contains('=') && !prev.starts_with('[')),
            "line {}: `{t}` has no comment",
            i + 1
        );
    }
}

#[test]
fn unknown_keys_name_file_line_column_and_the_allowed_keys() {
    let text = shipped().replace("[bench]\n", "[bench]\nrequets = 5\n");
    let e = parse(&text).unwrap_err();
    let line = text.lines().position(|l| l.starts_with("requets")).unwrap() + 1;
    assert!(e.starts_with(&format!("/x/spec.toml:{line}:1: ")), "{e}");
    assert!(e.contains("requets") && e.contains("requests"), "{e}");
    assert!(!e.contains('\n'));
}

#[test]
fn bad_values_name_the_key_and_what_is_allowed() {
    let cases = [
        (
            "actor_probability = 0.5",
            "actor_probability = 1.5",
            "mixes.default.actor_probability",
            "[0, 1]",
        ),
        (
            "pages = [1, 2000]",
            "pages = [0, 2000]",
            "mixes.default.pages",
            "1 <= first",
        ),
        ("cases = 2000", "cases = 0", "equivalence.cases", ">= 1"),
        (
            "concurrency = 4",
            "concurrency = 0",
            "bench.concurrency",
            "from 1 to 1024",
        ),
        (
            "concurrency = 4",
            "concurrency = 100000",
            "bench.concurrency",
            "from 1 to 1024",
        ),
        ("min_rounds = 5", "min_rounds = 1", "bench.min_rounds", ">= 2"),
        (
            "max_rounds = 300",
            "max_rounds = 3",
            "bench.max_rounds",
            ">= min_rounds",
        ),
        ("slices = 16", "slices = 0", "bench.slices", ">= 1"),
        ("slice_ms = 10", "slice_ms = 0", "bench.slice_ms", "from 0.1 to 60000"),
        (
            "slice_ms = 10",
            "slice_ms = 1e300",
            "bench.slice_ms",
            "from 0.1 to 60000",
        ),
        ("p99 = 0.25", "p99 = 1.5", "bench.precision.p99", "between 0 and 1"),
        ("p95 = 0.10", "p95 = 0", "bench.precision.p95", "between 0 and 1"),
        (
            "throughput = 0.10",
            "throughput = -0.1",
            "bench.precision.throughput",
            "between 0 and 1",
        ),
        ("max_seconds = 60", "max_seconds = 0", "bench.max_seconds", "> 0"),
        ("max_seconds = 60", "max_seconds = -5", "bench.max_seconds", "> 0"),
        (
            "p95_ratio_max = 0.8",
            "p95_ratio_max = -1.0",
            "gate.p95_ratio_max",
            "> 0",
        ),
        (
            "p95_ratio_max = 0.8",
            "p95_ratio_max = \"fast\"",
            "gate.p95_ratio_max",
            "expected a number",
        ),
        (
            "page_sizes = [10, 20, 50]\n\n#",
            "page_sizes = [10, 0]\n\n#",
            "domain.page_sizes",
            ">= 1",
        ),
        ("mode = \"closed\"", "mode = \"sideways\"", "sideways", "closed"),
    ];
    for (from, to, key, allowed) in cases {
        let text = shipped().replacen(from, to, 1);
        assert_ne!(text, shipped(), "{from} not in the shipped spec");
        let e = parse(&text).unwrap_err();
        assert!(e.contains(key) && e.contains(allowed), "{to}: {e}");
        let (line, _) = locate::line_col(&text, text.find(to).unwrap());
        assert!(e.starts_with(&format!("/x/spec.toml:{line}:")), "{to}: {e}");
    }
}

#[test]
fn process_engines_and_overrides_load() {
    let text = shipped()
        + "\n[engines.py]\ncommand = [\"python3\", \"e.py\"]\nprocesses = 2\n\n[gate.engine.keyset]\np99_ratio_max = 0.9\n";
    let s = parse(&text).unwrap();
    assert_eq!(s.engines["py"].processes(), 2);
    // The key's earlier name still reads (specs and run.json files written before).
    let old = parse(&(shipped() + "\n[engines.py]\ncommand = [\"x\"]\nworkers = 3\n")).unwrap();
    assert_eq!(old.engines["py"].processes(), 3);
    let both = parse(&(shipped() + "\n[engines.py]\ncommand = [\"x\"]\nworkers = 3\nprocesses = 2\n")).unwrap_err();
    assert!(
        both.contains("engines.py.workers: is the earlier name of `processes`: keep one of the two"),
        "{both}"
    );
    // An error about the old key names the key the user wrote, where it stands.
    let zero = parse(&(shipped() + "\n[engines.py]\ncommand = [\"x\"]\nworkers = 0\n")).unwrap_err();
    assert!(zero.contains("engines.py.workers: 0 is not allowed"), "{zero}");
    let line = shipped().lines().count() + 4;
    assert!(zero.starts_with(&format!("/x/spec.toml:{line}:")), "{zero}");
    assert_eq!(s.engines["py"].timeout_ms, 10_000);
    let t = s.gate.thresholds_for("keyset");
    assert_eq!((t.p95_ratio_max, t.p99_ratio_max), (Some(0.8), Some(0.9)));
    let e = parse(&(shipped() + "\n[engines.baseline]\ncommand = [\"x\"]\n")).unwrap_err();
    assert!(e.contains("built-in"), "{e}");
}

#[test]
fn missing_spec_is_an_input_error() {
    let e = Spec::load(Path::new("/nonexistent/harness.toml")).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(e.to_string().contains("/nonexistent/harness.toml"));
}
