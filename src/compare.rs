//! `audit-harness compare RUN_A RUN_B`: how each engine's figures moved from
//! one run to another. Runs are not paired round by round, so the ratio B/A
//! of a figure has the standard error sqrt(se_A² + se_B²) of the two runs'
//! own round-based estimates (the jackknife for quantiles, the per-round
//! spread for throughput), with Welch–Satterthwaite degrees of freedom; a
//! regression is one whose whole 95 % interval lies beyond the noise
//! threshold. Differences of machine, spec, dataset or revision are named,
//! since they can explain a change on their own.

use statrs::distribution::{ContinuousCDF, StudentsT};

use crate::analysis::Summary;
use crate::report::run_json::RunInfo;
use crate::spec::Spec;
use crate::stats::{Estimate, Spread};

/// Which way a figure gets worse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Worse {
    /// Latency: a higher B/A is worse.
    Higher,
    /// Throughput: a lower B/A is worse.
    Lower,
}

/// One figure of one engine and mix in both runs.
#[derive(Debug, Clone)]
pub struct Row {
    pub engine: String,
    pub mix: String,
    pub figure: &'static str,
    pub a: f64,
    pub b: f64,
    /// B / A with its 95 % interval.
    pub ratio: Estimate,
    pub worse: Worse,
    /// The whole interval is beyond the noise threshold on the worse side.
    pub regression: bool,
    /// The whole interval is beyond the noise threshold on the better side.
    pub improvement: bool,
}

/// Why two runs cannot be compared at all, if they cannot: they measured
/// different data or different request mixes, so their figures would differ
/// by what was asked, not by how fast it was answered.
pub fn incomparable(a: &RunInfo, spec_a: &Spec, b: &RunInfo, spec_b: &Spec) -> Option<String> {
    if let (Some(da), Some(db)) = (&a.dataset, &b.dataset) {
        if da != db {
            let id = |d: &crate::report::run_json::DatasetInfo| {
                format!("{} rows, rows sha256 {:.12}", d.rows, d.rows_sha256)
            };
            return Some(format!(
                "the runs measured different datasets (A: {}; B: {}): expected two runs on the same dataset (run.json's dataset)",
                id(da),
                id(db)
            ));
        }
    }
    let mixes = |i: &RunInfo| i.bench.as_ref().map_or(Vec::new(), |b| b.mixes.clone());
    mixes_differ(&mixes(a), spec_a, &mixes(b), spec_b)
}

/// Why two runs' mixes (the names each measured, defined by each run's
/// spec) are not the same, if they are not.
fn mixes_differ(a: &[String], spec_a: &Spec, b: &[String], spec_b: &Spec) -> Option<String> {
    let sorted = |m: &[String]| {
        let mut m = m.to_vec();
        m.sort();
        m
    };
    let (ma, mb) = (sorted(a), sorted(b));
    if ma != mb {
        return Some(format!(
            "the runs measured different mixes (A: {}; B: {}): expected the same mixes",
            ma.join(", "),
            mb.join(", ")
        ));
    }
    ma.iter()
        .find(|m| spec_a.mixes.get(*m) != spec_b.mixes.get(*m))
        .map(|m| {
            format!(
                "mix {m} is defined differently in the two runs' specs (window, actor_probability, actions, pages or page_sizes): expected the same mixes"
            )
        })
}

/// What the reader must know about the runs themselves: the same run twice,
/// a run that did not finish, engines measured in one run only.
pub fn notes(a: &RunInfo, b: &RunInfo, rows_a: &[Summary], rows_b: &[Summary]) -> Vec<String> {
    let mut out = Vec::new();
    if a.run_id == b.run_id {
        out.push(format!(
            "A and B are the same run ({}): every ratio is 1 by construction",
            a.run_id
        ));
    }
    for (side, i) in [("A", a), ("B", b)] {
        let interrupted = i.bench.as_ref().is_some_and(|b| b.interrupted());
        if !i.complete || interrupted {
            let rounds = i.bench.as_ref().map_or(0, |b| b.rounds);
            out.push(format!(
                "{side} ({}) is incomplete (run.json complete: false{}): its figures cover its {rounds} finished round(s) only",
                i.run_id,
                if interrupted { ", interrupted" } else { "" }
            ));
        }
    }
    let engines = |rows: &[Summary]| {
        let mut e: Vec<String> = rows.iter().map(|r| r.engine.clone()).collect();
        e.sort();
        e.dedup();
        e
    };
    let (ea, eb) = (engines(rows_a), engines(rows_b));
    for (side, mine, theirs) in [("A", &ea, &eb), ("B", &eb, &ea)] {
        for e in mine.iter().filter(|e| !theirs.contains(e)) {
            out.push(format!("engine {e} ran in {side} only: not compared"));
        }
    }
    out
}

/// What differs between the two runs besides the engines.
pub fn differences(a: &RunInfo, b: &RunInfo) -> Vec<String> {
    let mut out = Vec::new();
    let mut differ = |what: &str, x: String, y: String| {
        if x != y {
            out.push(format!("{what} differs: {x} vs {y}"));
        }
    };
    differ(
        "machine",
        format!("{} ({} cores)", a.machine.cpu_model, a.machine.cores),
        format!("{} ({} cores)", b.machine.cpu_model, b.machine.cores),
    );
    differ("kernel", a.machine.kernel.clone(), b.machine.kernel.clone());
    differ("spec", a.spec.sha256.clone(), b.spec.sha256.clone());
    // The same data under another directory is the same dataset; runs from
    // before run.json recorded the identity fall back on the directory.
    let dataset = |i: &RunInfo| match &i.dataset {
        Some(d) => format!(
            "{} rows, rows sha256 {:.12}, payloads sha256 {:.12}",
            d.rows, d.rows_sha256, d.payloads_sha256
        ),
        None => i.dataset_dir.clone(),
    };
    differ("dataset", dataset(a), dataset(b));
    let rev = |i: &RunInfo| {
        i.git.as_ref().map_or("unknown".to_string(), |g| {
            format!("{}{}", g.revision, if g.dirty { " (dirty)" } else { "" })
        })
    };
    differ("git revision", rev(a), rev(b));
    let mode = |i: &RunInfo| {
        i.bench.as_ref().map_or(String::new(), |b| {
            format!(
                "{} loop, {} workers, {} requests per round",
                b.mode.label(),
                b.concurrency,
                b.requests
            )
        })
    };
    differ("benchmark settings", mode(a), mode(b));
    let driver = |i: &RunInfo| {
        i.bench
            .as_ref()
            .and_then(|b| b.driver.as_ref())
            .map_or("the harness's own threads".to_string(), |d| {
                format!("Locust {} ({} workers)", d.locust, d.workers)
            })
    };
    differ("request driver", driver(a), driver(b));
    out
}

/// The B/A ratio of two estimates from independent runs, with its 95 % interval.
fn ratio(a: &Estimate, b: &Estimate) -> Option<Estimate> {
    let (sa, sb): (Spread, Spread) = (a.spread?, b.spread?);
    let log = sb.log_center - sa.log_center;
    let value = log.exp();
    let (va, vb) = (sa.se().powi(2), sb.se().powi(2));
    let se = (va + vb).sqrt();
    let ci = if sa.has_interval() && sb.has_interval() {
        // Welch–Satterthwaite degrees of freedom.
        let df = (va + vb).powi(2) / (va.powi(2) / sa.df() + vb.powi(2) / sb.df());
        let t = StudentsT::new(0.0, 1.0, df).ok()?.inverse_cdf(0.975);
        Some(((log - t * se).exp(), (log + t * se).exp()))
    } else {
        None
    };
    Some(Estimate {
        value,
        ci,
        spread: None,
    })
}

/// Every figure of every engine and mix (and timing) present in both runs.
pub fn compare(a: &[Summary], b: &[Summary], noise: f64) -> Vec<Row> {
    let mut out = Vec::new();
    for sa in a {
        let Some(sb) = b
            .iter()
            .find(|s| s.engine == sa.engine && s.mix == sa.mix && s.timing == sa.timing)
        else {
            continue;
        };
        let figures: [(&'static str, Option<Estimate>, Option<Estimate>, Worse); 4] = [
            ("p50_ms", sa.p50, sb.p50, Worse::Higher),
            ("p95_ms", sa.p95, sb.p95, Worse::Higher),
            ("p99_ms", sa.p99, sb.p99, Worse::Higher),
            ("rps", sa.rps, sb.rps, Worse::Lower),
        ];
        for (figure, ea, eb, worse) in figures {
            let (Some(ea), Some(eb)) = (ea, eb) else { continue };
            let Some(r) = ratio(&ea, &eb) else { continue };
            let (regression, improvement) = match (r.ci, worse) {
                (Some((lo, _)), Worse::Higher) if lo > 1.0 + noise => (true, false),
                (Some((_, hi)), Worse::Higher) if hi < 1.0 - noise => (false, true),
                (Some((_, hi)), Worse::Lower) if hi < 1.0 - noise => (true, false),
                (Some((lo, _)), Worse::Lower) if lo > 1.0 + noise => (false, true),
                _ => (false, false),
            };
            out.push(Row {
                engine: sa.engine.clone(),
                mix: sa.mix.clone(),
                figure,
                a: ea.value,
                b: eb.value,
                ratio: r,
                worse,
                regression,
                improvement,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn est(log_center: f64, sd: f64, rounds: usize) -> Estimate {
        Estimate {
            value: log_center.exp(),
            ci: None,
            spread: Some(Spread {
                log_center,
                sd,
                rounds,
                below: 1.0,
                above: 1.0,
                df: rounds.saturating_sub(1) as f64,
                skew_below: 0.0,
                skew_above: 0.0,
            }),
        }
    }

    fn info(json: serde_json::Value) -> RunInfo {
        serde_json::from_value(json).unwrap()
    }

    fn run_json(cpu: &str, spec: &str, rows: u64, revision: &str) -> serde_json::Value {
        serde_json::json!({
            "schema_version": 2, "run_id": "r", "complete": true, "started_at": "t", "ended_at": null,
            "command": [], "spec": {"path": "harness.toml", "sha256": spec, "text": ""},
            "dataset_dir": "/data/x",
            "dataset": {"rows": rows, "rows_sha256": "aa", "payloads_sha256": "bb"},
            "git": {"revision": revision, "dirty": false},
            "machine": {"cpu_model": cpu, "cores": 2, "os": "linux", "kernel": "6.1"},
            "versions": {}, "stages": [], "equivalence": null, "bench": null, "exit_code": 0
        })
    }

    #[test]
    fn differences_name_the_machine_spec_dataset_and_revision() {
        let a = info(run_json("EPYC", "sha256:1", 50_000, "abc"));
        assert!(differences(&a, &a).is_empty());
        let b = info(run_json("Xeon", "sha256:2", 500_000, "def"));
        let d = differences(&a, &b);
        for what in [
            "machine differs",
            "spec differs",
            "dataset differs: 50000 rows",
            "git revision differs",
        ] {
            assert!(d.iter().any(|x| x.starts_with(what)), "{what}: {d:?}");
        }
        // The same dataset under another directory is not a difference.
        let mut moved = run_json("EPYC", "sha256:1", 50_000, "abc");
        moved["dataset_dir"] = "/elsewhere".into();
        assert!(differences(&a, &info(moved)).is_empty());
        // An older run.json without the identity compares directories.
        let mut old = run_json("EPYC", "sha256:1", 50_000, "abc");
        old.as_object_mut().unwrap().remove("dataset");
        old["dataset_dir"] = "/elsewhere".into();
        assert_eq!(differences(&a, &info(old)).len(), 1);
    }

    fn spec(mixes: &str) -> Spec {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/harness.toml"))
            .unwrap()
            .replace("actor_probability = 0.5", mixes);
        Spec::parse(&text, std::path::Path::new("harness.toml")).unwrap()
    }

    #[test]
    fn runs_on_other_data_or_other_mixes_are_not_compared() {
        let a = info(run_json("EPYC", "sha256:1", 50_000, "abc"));
        let same = spec("actor_probability = 0.5");
        assert_eq!(incomparable(&a, &same, &a, &same), None);
        let small = info(run_json("EPYC", "sha256:1", 3_000, "abc"));
        let why = incomparable(&a, &same, &small, &same).unwrap();
        assert!(
            why.contains("different datasets (A: 50000 rows") && why.contains("B: 3000 rows"),
            "{why}"
        );
        // Runs from before the identity was recorded: a NOTE of the directory, not a refusal.
        let mut old = run_json("EPYC", "sha256:1", 3_000, "abc");
        old.as_object_mut().unwrap().remove("dataset");
        assert_eq!(incomparable(&a, &same, &info(old), &same), None);
        // Other mixes, or a mix of the same name asking for other requests.
        let names = |m: &[&str]| m.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let both = names(&["default", "shallow"]);
        assert_eq!(mixes_differ(&both, &same, &names(&["shallow", "default"]), &same), None);
        let why = mixes_differ(&both, &same, &names(&["default"]), &same).unwrap();
        assert!(
            why.contains("different mixes (A: default, shallow; B: default)"),
            "{why}"
        );
        let other = spec("actor_probability = 0.9");
        assert_ne!(same.mixes, other.mixes, "the replacement must change a mix");
        let why = mixes_differ(&both, &same, &both, &other).unwrap();
        assert!(
            why.starts_with("mix default ") && why.contains("defined differently"),
            "{why}"
        );
    }

    #[test]
    fn notes_name_the_same_run_an_incomplete_run_and_engines_in_one_run_only() {
        let a = info(run_json("EPYC", "sha256:1", 50_000, "abc"));
        let notes = notes(&a, &a, &[], &[]);
        assert!(
            notes.iter().any(|n| n.starts_with("A and B are the same run (r)")),
            "{notes:?}"
        );
        let mut b = run_json("EPYC", "sha256:1", 50_000, "abc");
        b["run_id"] = "r2".into();
        b["complete"] = false.into();
        let notes = super::notes(&a, &info(b.clone()), &[], &[]);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].starts_with("B (r2) is incomplete (run.json complete: false)"),
            "{notes:?}"
        );
        b["complete"] = true.into();
        let row = |engine: &str| Summary {
            engine: engine.into(),
            role: audit_engines::Role::Candidate,
            mix: "default".into(),
            timing: crate::analysis::Timing::Closed,
            concurrency: 4,
            rounds: 2,
            requests: 10,
            errors: 0,
            late: 0,
            saturated: false,
            rps: None,
            mean_ms: None,
            p50: None,
            p90: None,
            p95: None,
            p99: None,
            rps_ratio: None,
            p95_ratio: None,
            p99_ratio: None,
            floor_p95_ratio: None,
            index_bytes: None,
            looks: crate::stats::sequential::Looks::fixed(2),
        };
        let notes = super::notes(
            &a,
            &info(b),
            &[row("memindex"), row("keyset")],
            &[row("memindex"), row("prefetch")],
        );
        assert_eq!(
            notes,
            vec![
                "engine keyset ran in A only: not compared".to_string(),
                "engine prefetch ran in B only: not compared".to_string()
            ]
        );
    }

    #[test]
    fn the_ratio_of_two_runs_has_the_welch_interval() {
        // Equal spreads and rounds: df = 2(k-1) = 18, se = sqrt(2) * sd / sqrt(k).
        let r = ratio(&est(0.0, 0.1, 10), &est(0.2, 0.1, 10)).unwrap();
        assert!((r.value - 0.2f64.exp()).abs() < 1e-12);
        let (lo, hi) = r.ci.unwrap();
        let half = 2.100922 * (2.0f64).sqrt() * 0.1 / 10f64.sqrt();
        assert!(
            (lo.ln() - (0.2 - half)).abs() < 1e-4 && (hi.ln() - (0.2 + half)).abs() < 1e-4,
            "{lo} {hi}"
        );
        assert!(ratio(&est(0.0, 0.0, 10), &est(0.2, 0.1, 10)).unwrap().ci.is_none());
    }
}
