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
                b.mode, b.concurrency, b.requests
            )
        })
    };
    differ("benchmark settings", mode(a), mode(b));
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
