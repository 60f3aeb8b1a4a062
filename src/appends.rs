//! The benchmark under appends (`[bench] append_rate`, `--append-rate R`):
//! after the quiet rounds, the same rounds run again (the same plan, seeds
//! and request streams, as many rounds as the quiet run did) on a scratch copy
//! of the dataset while the live writer appends R rows per second to it.
//! Every engine gets a second series per mix, analysed exactly as the quiet
//! ones, and each figure is set beside its quiet figure as a ratio
//! (appending / quiet): an engine whose index rebuilds itself on every
//! append shows it here. The writer's achieved rate is reported with them.
//! The verdict is the quiet run's: these figures inform, they do not decide.
//! It stands above `bench` and `analysis`: it measures with the one and
//! summarises with the other.

use serde::{Deserialize, Serialize};

use crate::analysis::{self, Settings, Summary};
use crate::bench::{Plan, Progress};
use crate::cancel::Cancel;
use crate::dataset::live::{LiveRows, Scratch, Writer, WriterReport};
use crate::error::HarnessError;
use crate::spec::{BenchSpec, Spec};
use crate::stats::sequential::Looks;

/// One engine on one mix (one timing): its quiet and appending figures.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AppendFigure {
    pub engine: String,
    pub role: audit_engines::Role,
    pub mix: String,
    pub timing: crate::analysis::Timing,
    pub rounds: usize,
    pub errors: usize,
    pub quiet: Figures,
    pub appending: Figures,
    /// appending / quiet, per figure (`None` when either is missing or zero).
    pub p50_ratio: Option<f64>,
    pub p95_ratio: Option<f64>,
    pub p99_ratio: Option<f64>,
    pub rps_ratio: Option<f64>,
}

/// Point estimates: latencies in ms, throughput in answered requests per second.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Figures {
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub rps: Option<f64>,
}

impl Figures {
    fn of(s: &Summary) -> Figures {
        Figures {
            p50_ms: s.p50.map(|e| e.value),
            p95_ms: s.p95.map(|e| e.value),
            p99_ms: s.p99.map(|e| e.value),
            rps: s.rps.map(|e| e.value),
        }
    }
}

/// What run.json records of the benchmark under appends.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AppendsInfo {
    /// Rows per second asked for.
    pub append_rate: f64,
    pub writer: WriterReport,
    /// Whole rounds run under appends (the quiet run's count, unless interrupted).
    pub rounds: u32,
    pub seconds: f64,
    pub figures: Vec<AppendFigure>,
}

/// Runs the plan's rounds again under appends (`rounds` of them) and sets
/// each series' figures beside `quiet`'s, until `cancel` is cancelled.
pub fn run(
    spec: &Spec,
    dir: &std::path::Path,
    plan: &Plan,
    rounds: u32,
    quiet: &[Summary],
    progress: impl FnMut(Progress),
    cancel: &Cancel,
) -> Result<AppendsInfo, HarnessError> {
    let scratch = Scratch::copy_of(dir)?;
    let engines = plan
        .bench
        .engines
        .iter()
        .map(|n| crate::registry::open(spec, n, scratch.path(), cancel).map(|e| (n.clone(), e)))
        .collect::<Result<Vec<_>, _>>()?;
    let rounds = rounds.max(1);
    // Exactly the quiet run's rounds, whatever they take.
    let p = Plan {
        bench: BenchSpec {
            min_rounds: rounds,
            max_rounds: rounds,
            max_seconds: 1e9,
            ..plan.bench.clone()
        },
        payloads: scratch.path().join(audit_engines::PAYLOADS_FILE),
        ..plan.clone()
    };
    let seed = plan.bench.seed ^ 0x0A99_E7D5;
    let rows = LiveRows::new(&plan.generator, seed, plan.bench.append_rate);
    let writer = Writer::start(&scratch, plan.bench.append_rate, seed, rows, cancel)?;
    let result = crate::bench::run(
        &p,
        &engines,
        &[p.single_phase()],
        progress,
        |_, _| false,
        |_| Ok(()),
        cancel,
    );
    let writer = writer.stop()?;
    let result = result?;
    drop(engines);
    let rounds = result.rounds_done();
    let settings = Settings::from_records(
        p.bench.mode,
        p.bench.concurrency,
        Looks::fixed(rounds.max(1)),
        &result.series,
    );
    let appending = analysis::summarize(&result.series, &settings);
    Ok(AppendsInfo {
        append_rate: plan.bench.append_rate,
        writer,
        rounds,
        seconds: result.phases.iter().map(|ph| ph.outcome.seconds).sum(),
        figures: pair(quiet, &appending),
    })
}

/// Each appending summary beside the quiet one of the same engine, mix and timing.
fn pair(quiet: &[Summary], appending: &[Summary]) -> Vec<AppendFigure> {
    let ratio = |a: Option<f64>, q: Option<f64>| match (a, q) {
        (Some(a), Some(q)) if q > 0.0 => Some(a / q),
        _ => None,
    };
    appending
        .iter()
        .filter_map(|a| {
            let q = quiet
                .iter()
                .find(|q| q.engine == a.engine && q.mix == a.mix && q.timing == a.timing)?;
            let (fq, fa) = (Figures::of(q), Figures::of(a));
            Some(AppendFigure {
                engine: a.engine.clone(),
                role: a.role,
                mix: a.mix.clone(),
                timing: a.timing,
                rounds: a.rounds,
                errors: a.errors,
                p50_ratio: ratio(fa.p50_ms, fq.p50_ms),
                p95_ratio: ratio(fa.p95_ms, fq.p95_ms),
                p99_ratio: ratio(fa.p99_ms, fq.p99_ms),
                rps_ratio: ratio(fa.rps, fq.rps),
                quiet: fq,
                appending: fa,
            })
        })
        .collect()
}
