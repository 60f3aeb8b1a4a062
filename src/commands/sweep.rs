//! `audit-harness sweep`: the benchmark at several dataset sizes, to see how
//! each engine grows. Each size's dataset is generated into the sweep's data
//! directory (or reused when its manifest says it was generated with the same
//! parameters); every check (sizes, engines, mixes, existing directories,
//! free disk space for what must be generated) is made before anything is
//! written. Each size's benchmark gets the whole `max_seconds` budget, with
//! its rounds fitted into it (`bench::fit`); the run directory gets each
//! size's reports in `rows-N/` and `scaling.csv`, `scaling-fit.csv` and
//! `scaling.svg` across sizes.

use std::path::{Path, PathBuf};
use std::time::Instant;

use audit_engines::SharedEngine;

use crate::bench::{self, fit, overhead, Plan};
use crate::cancel::Cancel;
use crate::cli::SweepArgs;
use crate::dataset::manifest::{Manifest, Source};
use crate::dataset::{self, GenParams};
use crate::error::HarnessError;
use crate::report::reanalyze;
use crate::report::run::Run;
use crate::report::run_json::SweepSize;
use crate::report::run_json::{BenchInfo, Stage, StageOutcome};
use crate::report::scaling::{self, ScalingRow};
use crate::spec::Spec;
use crate::{mix, output, registry, stages};

/// An upper estimate of a generated dataset's bytes per row: the payload line
/// (about 580 bytes besides its note, then the note's mean length) and the
/// database's row and index entry (about 70 bytes here; 100 allowed).
pub fn bytes_per_row(p: &GenParams) -> u64 {
    600 + ((p.note_min + p.note_max) / 2).max(0) as u64 + 100
}

/// What the sweep does with one size's dataset directory.
#[derive(Debug, Clone, PartialEq)]
enum Dataset {
    /// Its manifest says it was generated with these parameters.
    Reuse,
    Generate,
}

/// One size, settled before anything runs.
struct Size {
    rows: u64,
    dir: PathBuf,
    params: GenParams,
    dataset: Dataset,
}

pub fn run(spec: &Spec, args: SweepArgs, cancel: &Cancel) -> Result<(), HarnessError> {
    let mut rows = args.rows.clone().unwrap_or_else(|| spec.sweep.rows.clone());
    if let Some(bad) = rows.iter().find(|&&n| n == 0) {
        return Err(HarnessError::input(format!(
            "--rows {bad} is not allowed: expected row counts >= 1"
        )));
    }
    rows.sort_unstable();
    rows.dedup();
    if rows.is_empty() {
        return Err(HarnessError::input(
            "--rows: name at least one size, e.g. --rows 50000,500000",
        ));
    }
    let root = args.data_dir.clone().unwrap_or_else(|| spec.sweep.data_dir.clone());
    let sizes = rows
        .iter()
        .map(|&n| settle_size(spec, &root, n))
        .collect::<Result<Vec<_>, _>>()?;
    // The plan's engines, mixes and settings are checked before any dataset is written.
    let overrides = args.scope.overrides();
    let first = Plan::new(spec, &sizes[0].dir, overrides.clone())?;
    crate::registry::require_chosen_dataset(spec, &first.bench.engines, "sweep (a dataset per size)")?;
    check_disk(&root, &sizes)?;

    output::sweep::print_header(&sizes.iter().map(|s| s.rows).collect::<Vec<_>>(), &root, &first);
    let mut run = Run::start(spec, &root, cancel)?;
    let result = sweep(spec, &sizes, &overrides, &mut run);
    crate::stages::finish(run, result)
}

/// A size's directory and what to do with it: reuse it when its manifest says
/// it was generated with the same parameters; refuse a directory that holds
/// something else (the sweep never deletes what it did not make).
fn settle_size(spec: &Spec, root: &Path, rows: u64) -> Result<Size, HarnessError> {
    let params = GenParams {
        rows,
        ..spec.dataset.generator.clone()
    };
    params
        .validate()
        .map_err(|e| HarnessError::input(format!("--rows {rows}: {e}")))?;
    let dir = root.join(format!("rows-{rows}"));
    let dataset = if dir.exists() {
        match Manifest::read(&dir) {
            Ok(m) if m.rows == rows && m.source == Source::Generated(params.clone()) => Dataset::Reuse,
            _ => {
                return Err(HarnessError::input(format!(
                    "{}: exists but its manifest is not that of {rows} rows generated with the spec's [dataset.generator]; remove it or choose another --data-dir",
                    dir.display()
                )))
            }
        }
    } else {
        Dataset::Generate
    };
    Ok(Size {
        rows,
        dir,
        params,
        dataset,
    })
}

/// Refuses the sweep, before anything is written, when the datasets still to
/// generate would not fit in the free space where they go.
fn check_disk(root: &Path, sizes: &[Size]) -> Result<(), HarnessError> {
    let to_make: Vec<&Size> = sizes.iter().filter(|s| s.dataset == Dataset::Generate).collect();
    if to_make.is_empty() {
        return Ok(());
    }
    let need: u128 = to_make
        .iter()
        .map(|s| u128::from(s.rows) * u128::from(bytes_per_row(&s.params)))
        .sum();
    let existing = root.ancestors().find(|a| a.exists()).unwrap_or(Path::new("."));
    let free = u128::from(crate::fsutil::free_bytes(existing)?);
    if need > free {
        return Err(HarnessError::input(format!(
            "sweep: generating {} rows needs about {} free under {} (about {} bytes per row); {} are free",
            to_make
                .iter()
                .map(|s| s.rows.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            output::sweep::bytes(need),
            existing.display(),
            bytes_per_row(&to_make[0].params),
            output::sweep::bytes(free)
        )));
    }
    output::sweep::print_disk(need, free, existing);
    Ok(())
}

fn sweep(spec: &Spec, sizes: &[Size], overrides: &bench::plan::Overrides, run: &mut Run) -> Result<(), HarnessError> {
    let mut all: Vec<ScalingRow> = Vec::new();
    let mut outcome = Ok(());
    for size in sizes {
        match one_size(spec, size, overrides, run) {
            Ok(rows) => all.extend(rows),
            Err(e) => {
                outcome = Err(e);
                break;
            }
        }
        if run.cancel.is_cancelled() {
            break;
        }
    }
    if !all.is_empty() {
        let fits = scaling::fits(&all);
        run.dir.write_all(&vec![
            ("scaling.csv".into(), scaling::to_csv(&all)?),
            ("scaling-fit.csv".into(), scaling::fits_to_csv(&fits)?),
            ("scaling.svg".into(), scaling::plot(&all, &fits)?.into_bytes()),
        ])?;
        output::sweep::print_fits(&fits);
    }
    outcome?;
    if run.cancel.is_cancelled() {
        return Err(run.cancel.error("sweep stopped; the sizes finished are in scaling.csv"));
    }
    run.stage(Stage::Sweep, StageOutcome::Done)
}

/// One size: its dataset, its engines opened (timed), its rounds fitted into
/// the budget, the benchmark, and its rows of scaling.csv.
fn one_size(
    spec: &Spec,
    size: &Size,
    overrides: &bench::plan::Overrides,
    run: &mut Run,
) -> Result<Vec<ScalingRow>, HarnessError> {
    let generate_seconds = match size.dataset {
        Dataset::Reuse => {
            output::sweep::print_reused(size.rows, &size.dir);
            None
        }
        Dataset::Generate => {
            let r = dataset::generate(&size.params, &size.dir, false, &run.cancel)?;
            output::dataset::print_generated(&size.dir, &size.params, &r);
            Some(r.seconds)
        }
    };
    dataset::preflight(&size.dir)?;
    let mut plan = Plan::new(spec, &size.dir, overrides.clone())?;
    let (asked_requests, asked_warmup) = (plan.bench.requests, plan.bench.warmup);
    let mut engines: Vec<(String, SharedEngine)> = Vec::new();
    let mut opens: Vec<(String, f64)> = Vec::new();
    for name in &plan.bench.engines {
        let t0 = Instant::now();
        let e = registry::open(spec, name, &size.dir, &run.cancel)?;
        opens.push((name.clone(), t0.elapsed().as_secs_f64()));
        engines.push((name.clone(), e));
    }
    output::sweep::print_opens(size.rows, &opens, &engines);

    let probe_streams: Vec<_> = plan
        .mixes
        .iter()
        .map(|(_, m)| mix::stream(m, &plan.generator, plan.warmup_seed(), fit::PROBE_REQUESTS))
        .collect();
    let costs = fit::probe(&engines, &probe_streams, plan.bench.concurrency, &run.cancel);
    let shape = fit::RoundShape {
        requests: plan.bench.requests,
        slices: plan.bench.slices,
        slice_seconds: plan.bench.slice_ms / 1000.0,
        workers: plan.bench.concurrency,
    };
    let f = fit::fit(
        &costs,
        shape,
        plan.bench.warmup,
        plan.bench.max_seconds,
        plan.bench.min_rounds,
    );
    output::sweep::print_fit(size.rows, &f, asked_requests, asked_warmup, &plan, &costs);
    plan.bench.requests = f.requests;
    plan.bench.warmup = f.warmup;
    let cut: Vec<(String, String)> = f
        .cut
        .iter()
        .map(|c| (c.engine.clone(), scaling::cut_reason(c, f.round_budget)))
        .collect();
    plan.drop_engines(|n| cut.iter().any(|(c, _)| c == n));
    engines.retain(|(n, _)| !cut.iter().any(|(c, _)| c == n));

    let mut record = SweepSize {
        rows: size.rows,
        dataset_dir: size.dir.display().to_string(),
        dataset: if generate_seconds.is_some() {
            "generated"
        } else {
            "reused"
        }
        .into(),
        generate_seconds,
        requests_asked: asked_requests,
        warmup_asked: asked_warmup,
        requests: f.requests,
        warmup: f.warmup,
        round_budget_seconds: f.round_budget,
        round_estimate_seconds: f.round_seconds,
        probe_seconds_per_request: costs
            .iter()
            .map(|c| (c.engine.clone(), c.seconds_per_request))
            .collect(),
        cut: cut.clone(),
        open_seconds: opens.clone(),
        bench: None,
    };
    let index: Vec<(String, u64)> = engines.iter().map(|(n, e)| (n.clone(), e.index_bytes())).collect();
    let mut rows: Vec<ScalingRow> = Vec::new();
    if !engines.is_empty() {
        let oh = overhead::measure(&plan.round_stream(&plan.mixes[0].1, 0), 200_000, &run.cancel);
        let phases = [plan.single_phase()];
        let result = stages::run_rounds(&plan, &engines, &phases, |_, _| false, |_| Ok(()), &run.cancel)?;
        let info = BenchInfo::new(&plan, &result, &oh);
        let settings = reanalyze::settings(&info).map_err(HarnessError::input)?;
        record.bench = Some(info);
        if result.rounds_done() > 0 {
            let sub = run.dir.child(&format!("rows-{}", size.rows))?;
            let analysis = stages::write_measured(&sub, &result.series, &settings, &spec.gate, &run.info)?;
            output::sweep::print_size(size.rows, &analysis.summaries);
            for s in &analysis.summaries {
                rows.push(ScalingRow::measured(
                    s,
                    size.rows,
                    plan.bench.requests,
                    opens.iter().find(|o| o.0 == s.engine).map(|o| o.1),
                    index.iter().find(|o| o.0 == s.engine).map(|o| o.1),
                ));
            }
        }
    }
    for (engine, why) in &cut {
        for (mix, _) in &plan.mixes {
            rows.push(ScalingRow::cut(
                engine,
                registry::role(engine),
                mix,
                size.rows,
                opens.iter().find(|o| &o.0 == engine).map(|o| o.1),
                why,
            ));
        }
    }
    drop(engines);
    run.info.sweep.push(record);
    run.save()?;
    Ok(rows)
}
