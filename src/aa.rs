//! A/A runs: the judge's false-alarm rate on this machine (`audit-harness aa`).
//!
//! Automated canary analysis checks its judge by comparing two deployments of
//! the same version, which must not be told apart; simulation says how the
//! gate behaves under modelled noise, an A/A run how it behaves under this
//! machine's. Each A/A run is a whole benchmark, as `bench` runs it (its own
//! report directory, seeds, looks, stop rule and budget), of an engine
//! against a second, separately opened instance of itself (its own engine
//! object: connections, caches, and for a process engine its own processes),
//! judged by the gate's analysis with every ratio limit at 1.0.
//!
//! Three kinds of alarm are counted, per check (p95 and p99 ratios,
//! throughput ratio) and for the family (any check of the run):
//! - `fail`: the check fails at a limit of 1.0, at the gate's own fail-side
//!   level (5 % over the deciding checks): what the gate would do with a
//!   candidate exactly at its threshold;
//! - `apart`: the twin is told apart from the original in either direction,
//!   each direction at half the family's 5 % over the checks;
//! - `noise`: `compare`'s rule, the whole 95 % interval beyond the noise margin either way.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::HarnessError;
use crate::report::reanalyze::Analysis;
use crate::report::Files;
use crate::spec::Spec;
use crate::stats::Estimate;
use crate::verdict::{Check, Judgement, FAMILY_ALPHA};

/// What an A/A series of runs is asked for.
#[derive(Debug, Clone)]
pub struct Options {
    pub engine: String,
    pub mix: String,
    pub runs: u32,
    /// `compare`'s noise margin.
    pub noise: f64,
    /// Run `i` (1-based) uses seed `seed + i`.
    pub seed: u64,
    pub max_seconds: Option<f64>,
}

/// The checks an A/A run judges, in report order.
pub const CHECKS: [Check; 3] = [Check::P95RatioMax, Check::P99RatioMax, Check::RpsRatioMin];

/// One check of one A/A run.
#[derive(Debug, Clone, Serialize)]
pub struct AaCheck {
    pub check: &'static str,
    pub estimate: Option<f64>,
    /// The reported 95 % interval of the twin / original ratio.
    pub ci: Option<(f64, f64)>,
    pub fail: bool,
    pub apart: bool,
    pub noise: bool,
}

/// One A/A run.
#[derive(Debug, Clone, Serialize)]
pub struct AaRun {
    pub index: u32,
    pub run_id: String,
    pub seed: u64,
    pub rounds: u32,
    pub seconds: f64,
    pub checks: Vec<AaCheck>,
}

impl AaRun {
    fn any(&self, pick: impl Fn(&AaCheck) -> bool) -> bool {
        self.checks.iter().any(pick)
    }
}

/// A rate with its exact (Clopper–Pearson) 95 % interval.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Rate {
    pub alarms: u32,
    pub runs: u32,
    pub rate: f64,
    pub ci: (f64, f64),
}

impl Rate {
    pub fn of(alarms: u32, runs: u32) -> Rate {
        Rate {
            alarms,
            runs,
            rate: if runs == 0 {
                0.0
            } else {
                f64::from(alarms) / f64::from(runs)
            },
            ci: clopper_pearson(alarms, runs),
        }
    }
}

/// The exact binomial 95 % interval for `k` of `n`.
pub fn clopper_pearson(k: u32, n: u32) -> (f64, f64) {
    use statrs::distribution::{Beta, ContinuousCDF};
    if n == 0 {
        return (0.0, 1.0);
    }
    let (k, n) = (f64::from(k), f64::from(n));
    let lo = if k == 0.0 {
        0.0
    } else {
        Beta::new(k, n - k + 1.0).map_or(0.0, |b| b.inverse_cdf(0.025))
    };
    let hi = if k == n {
        1.0
    } else {
        Beta::new(k + 1.0, n - k).map_or(1.0, |b| b.inverse_cdf(0.975))
    };
    (lo, hi)
}

/// The alarm rates of a series of A/A runs.
#[derive(Debug, Clone, Serialize)]
pub struct Tally {
    pub engine: String,
    pub mix: String,
    pub runs: u32,
    pub seconds: f64,
    pub noise: f64,
    /// Per check (in [`CHECKS`] order): `fail`, `apart`, `noise`.
    pub per_check: Vec<(&'static str, Rate, Rate, Rate)>,
    pub family_fail: Rate,
    pub family_apart: Rate,
    pub family_noise: Rate,
}

/// Tallies `runs`.
pub fn tally(opts: &Options, runs: &[AaRun]) -> Tally {
    let n = runs.len() as u32;
    let count = |f: &dyn Fn(&AaRun) -> bool| runs.iter().filter(|r| f(r)).count() as u32;
    Tally {
        engine: opts.engine.clone(),
        mix: opts.mix.clone(),
        runs: n,
        seconds: runs.iter().map(|r| r.seconds).sum(),
        noise: opts.noise,
        per_check: CHECKS
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let at = |f: fn(&AaCheck) -> bool| Rate::of(count(&|r: &AaRun| r.checks.get(i).is_some_and(f)), n);
                (c.key(), at(|c| c.fail), at(|c| c.apart), at(|c| c.noise))
            })
            .collect(),
        family_fail: Rate::of(count(&|r| r.any(|c| c.fail)), n),
        family_apart: Rate::of(count(&|r| r.any(|c| c.apart)), n),
        family_noise: Rate::of(count(&|r| r.any(|c| c.noise)), n),
    }
}

/// The name of the second instance of `engine`.
pub fn twin_name(engine: &str) -> String {
    format!("{engine}~twin")
}

/// The spec of an A/A run: `spec` with the gate judging the twin on `mix`
/// against limits of 1.0, and reports written under `reports_dir`. Its text
/// (recorded in each run's run.json) says so, so `report` recomputes the run
/// as it was judged.
pub fn aa_spec(spec: &Spec, engine: &str, mix: &str, reports_dir: &Path) -> Result<Spec, HarnessError> {
    let mut doc: toml_edit::DocumentMut = spec
        .text
        .parse()
        .map_err(|e| HarnessError::input(format!("{}: {e}", spec.path.display())))?;
    let mut gate = toml_edit::Table::new();
    let mut candidates = toml_edit::Array::new();
    candidates.push(twin_name(engine));
    let mut mixes = toml_edit::Array::new();
    mixes.push(mix);
    gate["candidates"] = toml_edit::value(candidates);
    gate["mixes"] = toml_edit::value(mixes);
    for key in ["p95_ratio_max", "p99_ratio_max", "rps_ratio_min"] {
        gate[key] = toml_edit::value(1.0);
    }
    gate.decor_mut()
        .set_prefix("\n# An A/A run (audit-harness aa): the engine against a second instance of itself, every ratio limit at 1.0.\n");
    doc["gate"] = toml_edit::Item::Table(gate);
    // Absolute: the spec's relative paths are resolved against its own directory again.
    let reports_dir =
        std::path::absolute(reports_dir).map_err(|e| HarnessError::input(format!("{}: {e}", reports_dir.display())))?;
    doc["bench"]["reports_dir"] = toml_edit::value(reports_dir.display().to_string());
    doc["bench"]["append_rate"] = toml_edit::value(0);
    let text = doc.to_string();
    Spec::parse(&text, &spec.path)
}

/// A finished A/A run's alarms, one per deciding check, from its analysis.
pub fn checks(analysis: &Analysis, noise: f64) -> Vec<AaCheck> {
    CHECKS
        .iter()
        .filter_map(|c| analysis.judgements.iter().find(|j| j.check == *c && !j.informational))
        .map(|j| {
            let looks = analysis
                .summaries
                .iter()
                .find(|s| s.engine == j.engine && s.mix == j.mix)
                .map_or(analysis.looks, |s| s.looks);
            judge(j, &looks, noise)
        })
        .collect()
}

/// One check's three alarms.
fn judge(j: &Judgement, looks: &crate::stats::sequential::Looks, noise: f64) -> AaCheck {
    let e: Option<Estimate> = j.estimate;
    let ci = e.and_then(|e| e.ci);
    // Either direction at half the family's rate over the checks.
    let side = FAMILY_ALPHA / (2.0 * CHECKS.len() as f64);
    let apart = e
        .and_then(|e| {
            let s = e.spread.filter(|s| s.has_interval())?;
            let t = looks.t_critical(side, s.df())?;
            t.is_finite().then(|| s.interval(t, t))
        })
        .is_some_and(|(lo, hi)| lo > 1.0 || hi < 1.0);
    AaCheck {
        check: j.check.key(),
        estimate: e.map(|e| e.value),
        ci,
        fail: j.outcome == crate::verdict::Outcome::Fail,
        apart,
        noise: ci.is_some_and(|(lo, hi)| lo > 1.0 + noise || hi < 1.0 - noise),
    }
}

/// Where a series of A/A runs writes: `<reports_dir>/aa-<engine>-<UTC time>/`.
pub fn out_dir(spec: &Spec, engine: &str) -> PathBuf {
    let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now())
        .to_string()
        .replace(['-', ':'], "");
    spec.bench.reports_dir.join(format!("aa-{engine}-{stamp}"))
}

/// `aa.json` (every run and the tally) and `aa.csv` (one row per run and
/// check), rendered; the series directory's writer writes them.
pub fn files(t: &Tally, runs: &[AaRun]) -> Result<Files, HarnessError> {
    #[derive(Serialize)]
    struct Doc<'a> {
        schema_version: u32,
        tally: &'a Tally,
        runs: &'a [AaRun],
    }
    let mut json = serde_json::to_vec_pretty(&Doc {
        schema_version: 1,
        tally: t,
        runs,
    })
    .map_err(|e| HarnessError::input(format!("aa.json: {e}")))?;
    json.push(b'\n');
    let mut w = csv::Writer::from_writer(Vec::new());
    let bad = |e: csv::Error| HarnessError::input(format!("aa.csv: {e}"));
    w.write_record([
        "schema_version",
        "run",
        "run_id",
        "seed",
        "rounds",
        "seconds",
        "check",
        "estimate",
        "ci_low",
        "ci_high",
        "fail",
        "apart",
        "noise",
    ])
    .map_err(bad)?;
    let f = |v: Option<f64>| v.map(|x| format!("{x:.6}")).unwrap_or_default();
    for r in runs {
        for c in &r.checks {
            w.write_record([
                "1".to_string(),
                r.index.to_string(),
                r.run_id.clone(),
                format!("{:#x}", r.seed),
                r.rounds.to_string(),
                format!("{:.3}", r.seconds),
                c.check.to_string(),
                f(c.estimate),
                f(c.ci.map(|x| x.0)),
                f(c.ci.map(|x| x.1)),
                c.fail.to_string(),
                c.apart.to_string(),
                c.noise.to_string(),
            ])
            .map_err(bad)?;
        }
    }
    let bytes = w
        .into_inner()
        .map_err(|e| HarnessError::input(format!("aa.csv: {e}")))?;
    Ok(vec![("aa.json".into(), json), ("aa.csv".into(), bytes)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clopper_pearson_matches_the_tables() {
        // 0 of 20: [0, 0.168]; 1 of 20: [0.0013, 0.249] (exact binomial).
        let (lo, hi) = clopper_pearson(0, 20);
        assert_eq!(lo, 0.0);
        assert!((hi - 0.1684).abs() < 1e-3, "{hi}");
        let (lo, hi) = clopper_pearson(1, 20);
        assert!((lo - 0.00127).abs() < 1e-4 && (hi - 0.2487).abs() < 1e-3, "{lo} {hi}");
        assert_eq!(clopper_pearson(5, 5).1, 1.0);
    }
}
