//! From records to report files: [`analyze`] summarises, judges and renders a
//! run's figures into files in memory, and does no I/O; the run writes them
//! into its directory, and `audit-harness report DIR` recomputes them from the
//! run's `latencies.csv` (the measurements) and `run.json` (settings and
//! thresholds) through the same function, so both give the same bytes. Every
//! file goes through the run directory's one writer, [`RunDir`].

use std::collections::BTreeMap;
use std::path::Path;

use crate::analysis::{self, Settings, Summary, Timing};
use crate::bench::{Series, Trial};
use crate::error::HarnessError;
use crate::spec::{GateSpec, Spec};
use crate::verdict::{self, Judgement};

use super::run_json::{BenchInfo, RunInfo};
use super::{html, latencies, plots, strata, summary, summary_json, Files, RunDir};

/// What the analysis produced.
pub struct Analysis {
    pub summaries: Vec<Summary>,
    pub judgements: Vec<Judgement>,
    /// The looks the intervals are adjusted for.
    pub looks: crate::stats::sequential::Looks,
}

/// Computes the summaries, strata, verdicts and plots of `series`, and renders
/// `summary.csv`, `strata.csv`, `summary.json`, the SVG plots and
/// `report.html` (rendered whole before any is written: a failure leaves no
/// half set).
pub fn analyze(
    series: &[Series],
    settings: &Settings,
    gate: &GateSpec,
    info: &RunInfo,
) -> Result<(Analysis, Files), HarnessError> {
    let summaries = analysis::summarize(series, settings);
    let judgements = verdict::judge_all(&summaries, gate);
    let verdicts: Vec<verdict::Cell> = summaries
        .iter()
        .map(|s| verdict::column(s, &judgements, gate))
        .collect();
    let strata_rows = analysis::strata(series, settings.mode);
    let mut files: Files = vec![
        ("summary.csv".into(), summary::to_csv(&summaries, &verdicts)?),
        ("strata.csv".into(), strata::to_csv(&strata_rows)?),
        (
            "summary.json".into(),
            summary_json::to_json(info, &summaries, &verdicts, &judgements, &strata_rows, &settings.looks)?,
        ),
    ];
    let mut mixes: Vec<&str> = Vec::new();
    let mut engines: Vec<(String, audit_engines::Role)> = Vec::new();
    for s in series {
        if !mixes.contains(&s.mix.as_str()) {
            mixes.push(&s.mix);
        }
        if !engines.iter().any(|e| e.0 == s.engine) {
            engines.push((s.engine.clone(), s.role));
        }
    }
    // One colour per engine for the whole run, from its role and place in the run's order.
    let colours = plots::Colours::new(&engines);
    let ctx = plots::Context {
        run_id: &info.run_id,
        colours: &colours,
        timing: Timing::for_mode(settings.mode)[0],
    };
    let mut mix_plots = Vec::new();
    for mix in mixes {
        let limits = plots::limits(&summaries, &judgements, mix, ctx.timing);
        let m = html::MixPlots {
            mix: mix.to_string(),
            tail: plots::tail(series, &summaries, mix, &ctx, &limits)?,
            cdf: plots::cdf(series, mix, &ctx, &limits)?,
            depth: plots::p99_by_depth(&strata_rows, mix, &ctx)?,
        };
        files.push((format!("tail-{mix}.svg"), m.tail.clone().into_bytes()));
        files.push((format!("cdf-{mix}.svg"), m.cdf.clone().into_bytes()));
        files.push((format!("p99-by-depth-{mix}.svg"), m.depth.clone().into_bytes()));
        mix_plots.push(m);
    }
    let page = html::Page {
        info,
        summaries: &summaries,
        verdicts: &verdicts,
        judgements: &judgements,
        strata: &strata_rows,
        looks: &settings.looks,
        colours: &colours,
        plots: &mix_plots,
    };
    files.push(("report.html".into(), html::to_html(&page).into_bytes()));
    let analysis = Analysis {
        summaries,
        judgements,
        looks: settings.looks,
    };
    Ok((analysis, files))
}

/// Recomputes a run's `summary.csv`, `strata.csv` and plots into `out` from its
/// `latencies.csv` and `run.json`; returns the analysis and the run's record.
pub fn reanalyze(dir: &Path, out: &Path) -> Result<(Analysis, RunInfo), HarnessError> {
    let (info, series, settings, spec) = load(dir)?;
    let (analysis, files) = analyze(&series, &settings, &spec.gate, &info)?;
    RunDir::open(out)?.write_all(&files)?;
    Ok((analysis, info))
}

/// A run's record, measurements, analysis settings and spec, from its directory.
pub fn load(dir: &Path) -> Result<(RunInfo, Vec<Series>, Settings, Spec), HarnessError> {
    let run_path = dir.join("run.json");
    let text = std::fs::read_to_string(&run_path).map_err(|e| HarnessError::io(&run_path, e))?;
    let info: RunInfo = serde_json::from_str(&text)
        .map_err(|e| HarnessError::input(format!("{}: not a run.json of this harness: {e}", run_path.display())))?;
    let bench = info.bench.as_ref().ok_or_else(|| {
        HarnessError::input(format!(
            "{}: the run has no benchmark to re-analyse",
            run_path.display()
        ))
    })?;
    if info.schema_version != super::SCHEMA_VERSION {
        return Err(HarnessError::input(format!(
            "{}: schema_version {} is not allowed: expected {} (this harness's run.json)",
            run_path.display(),
            info.schema_version,
            super::SCHEMA_VERSION
        )));
    }
    let spec = Spec::parse(&info.spec.text, Path::new(&info.spec.path))?;
    let lat_path = dir.join("latencies.csv");
    let f = std::fs::File::open(&lat_path).map_err(|e| HarnessError::io(&lat_path, e))?;
    let whole: Box<dyn std::io::Read> = match bench.checkpoint {
        Some(c) => Box::new(c.whole(f)),
        None => Box::new(f),
    };
    let read = latencies::read(std::io::BufReader::new(whole), &lat_path.display().to_string())?;
    check_design(&read, bench).map_err(|m| {
        HarnessError::input(format!(
            "{} and {} disagree: {m}; the files do not belong to one run, or one is damaged (nothing was written)",
            lat_path.display(),
            run_path.display()
        ))
    })?;
    let series = restore_empty_trials(read, bench);
    let settings = settings(bench).map_err(|e| HarnessError::input(format!("{}: {e}", run_path.display())))?;
    let mut info = info;
    // A running benchmark's record leaves its variance components to be
    // computed from the rounds it counts.
    if let Some(b) = info.bench.as_mut().filter(|b| b.checkpoint.is_some()) {
        b.variance = crate::analysis::variance_components(&series, b.mode, b.concurrency);
    }
    Ok((info, series, settings, spec))
}

/// Whether the measurements are the ones run.json records the run's design
/// held: the engines and mixes it names, and in each round, mix and slice
/// exactly the requests its record says each engine ran, each once.
fn check_design(series: &[Series], bench: &BenchInfo) -> Result<(), String> {
    use std::collections::{BTreeMap, HashSet};
    let mut held: BTreeMap<(u32, &str, &str, u32), u64> = BTreeMap::new();
    for s in series {
        if !bench.engines.contains(&s.engine) {
            return Err(format!(
                "engine {:?} is not one of the run's ({})",
                s.engine,
                bench.engines.join(", ")
            ));
        }
        if !bench.mixes.contains(&s.mix) {
            return Err(format!(
                "mix {:?} is not one of the run's ({})",
                s.mix,
                bench.mixes.join(", ")
            ));
        }
        for t in &s.trials {
            if t.index == 0 || t.index > bench.rounds {
                return Err(format!(
                    "{} on {} has a round {}; the run has rounds 1 to {}",
                    s.engine, s.mix, t.index, bench.rounds
                ));
            }
            let mut seen = HashSet::new();
            for r in &t.requests {
                if !seen.insert(r.seq) {
                    return Err(format!(
                        "{} on {} round {} has request seq {} twice",
                        s.engine, s.mix, t.index, r.seq
                    ));
                }
                *held
                    .entry((t.index, s.mix.as_str(), s.engine.as_str(), r.slice))
                    .or_default() += 1;
            }
        }
    }
    let mut recorded: BTreeMap<(u32, &str, &str, u32), u64> = BTreeMap::new();
    for rr in &bench.round_records {
        for sl in &rr.slices {
            *recorded
                .entry((rr.round, rr.mix.as_str(), sl.engine.as_str(), sl.slice))
                .or_default() += u64::from(sl.requests);
        }
    }
    recorded.retain(|_, n| *n > 0);
    for (k, n) in &recorded {
        let got = held.get(k).copied().unwrap_or(0);
        if got != *n {
            return Err(format!(
                "{} requests of {} on {} in round {} slice {} where the record says {n}",
                got, k.2, k.1, k.0, k.3
            ));
        }
    }
    if let Some((k, n)) = held.iter().find(|(k, _)| !recorded.contains_key(*k)) {
        return Err(format!(
            "{n} requests of {} on {} in round {} slice {} that the record does not know",
            k.2, k.1, k.0, k.3
        ));
    }
    Ok(())
}

/// The series in the run's order (mix by mix, engines in plan order), with
/// the trials latencies.csv cannot show: an engine that hung or died in its
/// warm-up ran a trial without a measured request (run.json's engine_errors
/// names it), which still counts as a round with its errors.
fn restore_empty_trials(mut read: Vec<Series>, bench: &BenchInfo) -> Vec<Series> {
    let mut out = Vec::new();
    for mix in &bench.mixes {
        for engine in &bench.engines {
            let at = read.iter().position(|s| &s.engine == engine && &s.mix == mix);
            let mut s = match at {
                Some(i) => read.remove(i),
                None => Series {
                    engine: engine.clone(),
                    role: bench
                        .engines
                        .iter()
                        .position(|e| e == engine)
                        .and_then(|i| bench.roles.get(i))
                        .and_then(|r| audit_engines::Role::from_label(r))
                        .unwrap_or_else(|| crate::registry::role(engine)),
                    mix: mix.clone(),
                    trials: Vec::new(),
                },
            };
            for e in bench
                .engine_errors
                .iter()
                .filter(|e| &e.engine == engine && &e.mix == mix)
            {
                if !s.trials.iter().any(|t| t.index == e.trial) {
                    s.trials.push(Trial {
                        index: e.trial,
                        first_error: Some(e.first_error.clone()),
                        warmup_errors: e.warmup_errors,
                        gave_up: true,
                        ..Trial::default()
                    });
                }
            }
            s.trials.sort_by_key(|t| t.index);
            if !s.trials.is_empty() {
                out.push(s);
            }
        }
    }
    // Anything latencies.csv holds that the plan does not name stays, after the rest.
    out.extend(read);
    out
}

/// The analysis settings a run records in run.json: the run computes its own
/// figures from these too, so a re-analysis cannot drift from the run.
pub fn settings(bench: &BenchInfo) -> Result<Settings, String> {
    let mode = bench.mode;
    let mut warmup_errors = BTreeMap::new();
    for e in &bench.engine_errors {
        *warmup_errors.entry((e.engine.clone(), e.mix.clone())).or_insert(0) += e.warmup_errors;
    }
    Ok(Settings {
        mode,
        concurrency: bench.concurrency,
        looks: bench.looks(),
        looked_rounds: bench.looked_rounds(),
        index_bytes: bench.index_bytes.clone(),
        warmup_errors,
    })
}
