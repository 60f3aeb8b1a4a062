//! `audit-harness sweep` at test sizes: the scaling files, reuse of a
//! dataset by its manifest, and bad input refused before anything is written.

mod common;

use std::path::Path;

use common::{harness, root};

/// A copy of the shipped spec in `dir`, so that reports and datasets land there.
fn spec_in(dir: &Path) -> String {
    let spec = dir.join("harness.toml");
    std::fs::copy(root().join("harness.toml"), &spec).expect("copy the spec");
    spec.display().to_string()
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const FAST: [&str; 8] = [
    "--engines",
    "memindex,floor",
    "--mix",
    "shallow",
    "--max-seconds",
    "1",
    "--requests",
    "50",
];

#[test]
fn a_sweep_writes_the_scaling_files_and_reuses_its_datasets() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = spec_in(tmp.path());
    let mut args = vec![
        "--spec",
        spec.as_str(),
        "sweep",
        "--rows",
        "2000,200",
        "--min-rounds",
        "2",
    ];
    args.extend(FAST);
    let o = harness(&args);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("generated") && out.contains("rows-200"), "{out}");
    assert!(out.contains("growth exponents"), "{out}");

    let run = std::fs::read_link(tmp.path().join("reports/latest")).unwrap();
    let run = tmp.path().join("reports").join(run);
    let csv = std::fs::read_to_string(run.join("scaling.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("schema_version,engine,role,mix,rows,"), "{csv}");
    // baseline (always included), memindex, floor on one mix at two sizes.
    assert_eq!(lines.len(), 1 + 3 * 2, "{csv}");
    for engine in ["baseline", "memindex", "floor"] {
        for rows in ["200", "2000"] {
            assert!(
                lines
                    .iter()
                    .any(|l| l.starts_with(&format!("1,{engine},")) && l.contains(&format!(",shallow,{rows},"))),
                "{engine} {rows}: {csv}"
            );
        }
    }
    let fit = std::fs::read_to_string(run.join("scaling-fit.csv")).unwrap();
    assert!(fit.contains("memindex,shallow,p99_ms,2,"), "{fit}");
    assert!(fit.contains("memindex,shallow,index_bytes,2,"), "{fit}");
    let svg = std::fs::read_to_string(run.join("scaling.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("p99_ms, mix shallow"));
    for rows in ["200", "2000"] {
        assert!(run.join(format!("rows-{rows}/summary.csv")).exists());
        assert!(run.join(format!("rows-{rows}/latencies.csv")).exists());
    }
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(run.join("run.json")).unwrap()).unwrap();
    assert_eq!(json["complete"], true);
    assert_eq!(json["sweep"].as_array().unwrap().len(), 2);
    assert_eq!(json["sweep"][0]["rows"], 200);
    assert_eq!(json["sweep"][0]["dataset"], "generated");

    // The same sizes again: both datasets are reused, as their manifests say.
    let o = harness(&args);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert_eq!(out.matches("reusing").count(), 2, "{out}");
    assert!(!out.contains("generated "), "{out}");
}

/// One line on stderr, exit 2, and neither a dataset nor a report written.
fn refused(dir: &Path, args: &[&str], expect: &str) {
    let o = harness(args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {}\n{err}", stdout(&o));
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains(expect), "{args:?}: {err}");
    assert!(!dir.join("reports").exists(), "{args:?} left a report");
    assert!(!dir.join("data/sweep/rows-200").exists(), "{args:?} left a dataset");
}

#[test]
fn bad_sizes_and_too_little_disk_are_refused_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = spec_in(tmp.path());
    let s = spec.as_str();
    refused(
        tmp.path(),
        &["--spec", s, "sweep", "--rows", "200,0"],
        "expected an integer >= 1",
    );
    refused(
        tmp.path(),
        &["--spec", s, "sweep", "--rows", "200,lots"],
        "expected an integer >= 1",
    );
    refused(
        tmp.path(),
        &["--spec", s, "sweep", "--rows", "-5"],
        "expected an integer >= 1",
    );
    // About 1.3 kB per row: 10^14 rows need about 130 PB.
    refused(
        tmp.path(),
        &["--spec", s, "sweep", "--rows", "200,100000000000000"],
        "free under",
    );
    refused(
        tmp.path(),
        &["--spec", s, "sweep", "--rows", "200", "--engines", "nope"],
        "nope",
    );
    refused(
        tmp.path(),
        &["--spec", s, "--data", "x", "sweep", "--rows", "200"],
        "--data-dir",
    );
    // A directory that holds another dataset is not overwritten.
    let other = tmp.path().join("data/sweep/rows-300");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("manifest.json"), "{}").unwrap();
    refused(
        tmp.path(),
        &["--spec", s, "sweep", "--rows", "200,300"],
        "rows-300: exists",
    );
    assert!(other.join("manifest.json").exists());
}

#[test]
fn spec_sweep_rows_must_be_sizes() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = spec_in(tmp.path());
    let text = std::fs::read_to_string(&spec).unwrap();
    assert!(text.contains("rows = [50000, 500000, 5000000]"));
    let text = text.replace("rows = [50000, 500000, 5000000]", "rows = [200, 0]");
    std::fs::write(&spec, text).unwrap();
    refused(tmp.path(), &["--spec", &spec, "sweep"], "sweep.rows");
}
