//! From measured requests to the figures reviewers read: throughput, mean and
//! quantiles with intervals, ratios to the baseline and the floor, strata,
//! and the variance components that size a run.
//!
//! Every engine ran the same requests in each round. Quantiles come from all
//! rounds' requests pooled (the service runner's interpolation at rank
//! p(n-1)), their spread from the delete-one-round jackknife (a quantile ratio
//! leaves the same round out of both engines); throughput and mean latency
//! are computed per round, the estimate is their geometric mean, the spread
//! that of the per-round (paired) log values (`stats::rounds`). Strata keep pooled,
//! within-run order-statistic intervals: they describe, they do not decide. The run and `audit-harness
//! report` both call [`summarize`] and [`strata`] on the same records, so a
//! re-analysis equals the run's own figures.

use std::collections::BTreeMap;

use audit_engines::{Query, Role};
use serde::{Deserialize, Serialize};

use crate::bench::{open, Request, Series, Trial};
use crate::spec::LoadMode;
use crate::stats::sequential::Looks;
use crate::stats::{self, Estimate, Spread, ALPHA_SIDE, CONFIDENCE};

/// How latency is counted in a summary row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    /// Closed loop: service time.
    Closed,
    /// Open loop, from each request's intended start (coordinated omission corrected).
    Open,
    /// Open loop, service time only.
    OpenService,
}

impl Timing {
    pub fn label(self) -> &'static str {
        match self {
            Timing::Closed => "closed",
            Timing::Open => "open",
            Timing::OpenService => "open-service",
        }
    }

    /// The timings a run in `mode` reports; the first is the one verdicts use.
    pub fn for_mode(mode: LoadMode) -> &'static [Timing] {
        match mode {
            LoadMode::Closed => &[Timing::Closed],
            LoadMode::Open => &[Timing::Open, Timing::OpenService],
        }
    }

    /// A request's latency under this timing, in microseconds.
    pub fn latency_us(self, r: &Request) -> f64 {
        let ns = match self {
            Timing::Open => r.response_ns(),
            Timing::Closed | Timing::OpenService => r.latency_ns,
        };
        ns as f64 / 1000.0
    }
}

/// Settings the figures depend on besides the records (from the run, or its run.json).
#[derive(Debug, Clone)]
pub struct Settings {
    pub mode: LoadMode,
    pub concurrency: u32,
    /// The looks the run made at its data: intervals are adjusted for them.
    pub looks: Looks,
    pub index_bytes: BTreeMap<String, u64>,
    /// Errors in warm-ups (not in the measured records), per (engine, mix).
    pub warmup_errors: BTreeMap<(String, String), u64>,
}

impl Settings {
    /// The settings of an analysis made from the records alone (a look while
    /// the run goes on, or a simulation): warm-up errors from the trials, no index sizes.
    pub fn from_records(mode: LoadMode, concurrency: u32, looks: Looks, series: &[Series]) -> Settings {
        Settings {
            mode,
            concurrency,
            looks,
            index_bytes: BTreeMap::new(),
            warmup_errors: warmup_errors(series),
        }
    }
}

/// One row of `summary.csv` before its verdict is known. Latencies in milliseconds.
#[derive(Debug, Clone)]
pub struct Summary {
    pub engine: String,
    pub role: Role,
    pub mix: String,
    pub timing: Timing,
    pub concurrency: u32,
    /// Rounds this engine ran on this mix.
    pub rounds: usize,
    /// Measured requests, errors included.
    pub requests: usize,
    /// Requests the engine answered with an error or a panic, warm-ups included
    /// (measured ones are left out of every latency and throughput figure).
    pub errors: usize,
    /// Open loop: requests that started late ([`open::LATE_AFTER_NS`]).
    pub late: u64,
    pub saturated: bool,
    /// Answered requests per second, all rounds pooled (open loop: the rate achieved).
    pub rps: Option<Estimate>,
    pub mean_ms: Option<Estimate>,
    pub p50: Option<Estimate>,
    pub p90: Option<Estimate>,
    pub p95: Option<Estimate>,
    pub p99: Option<Estimate>,
    /// Against the baseline's row of the same mix and timing (`None` for the
    /// baseline; no throughput ratio in open loop, where both run at the offered rate).
    pub rps_ratio: Option<Estimate>,
    pub p95_ratio: Option<Estimate>,
    pub p99_ratio: Option<Estimate>,
    /// p95 over the floor's p95 on the same mix and timing (point estimate).
    pub floor_p95_ratio: Option<f64>,
    pub index_bytes: Option<u64>,
}

/// The quantiles every summary reports.
const QUANTILES: [f64; 4] = [0.50, 0.90, 0.95, 0.99];

/// One trial's figures: latencies in µs.
#[derive(Debug, Clone)]
struct TrialFigures {
    round: u32,
    quantiles: [f64; 4],
    mean_us: f64,
    rps: f64,
    /// The answered requests' latencies, sorted (for pooled quantiles).
    sorted: Vec<f64>,
}

/// The answered requests' latencies of a trial, sorted (µs).
fn sorted_latencies(t: &Trial, timing: Timing) -> Vec<f64> {
    let mut xs: Vec<f64> = t
        .requests
        .iter()
        .filter(|r| r.rows.is_some())
        .map(|r| timing.latency_us(r))
        .collect();
    xs.sort_by(f64::total_cmp);
    xs
}

fn trial_figures(t: &Trial, timing: Timing) -> Option<TrialFigures> {
    let xs = sorted_latencies(t, timing);
    let rps = crate::bench::served_per_second(&t.requests);
    if xs.is_empty() || rps <= 0.0 {
        return None;
    }
    let q = |p| stats::quantile(&xs, p).unwrap_or(0.0);
    Some(TrialFigures {
        round: t.index,
        quantiles: QUANTILES.map(q),
        mean_us: xs.iter().sum::<f64>() / xs.len() as f64,
        rps,
        sorted: xs,
    })
}

/// One series' per-round figures and all its rounds' latencies pooled and
/// sorted: computed once per analysis and shared by every figure and ratio.
struct SeriesFigures {
    rounds: Vec<TrialFigures>,
    pooled: Vec<f64>,
}

impl SeriesFigures {
    fn of(s: &Series, timing: Timing) -> SeriesFigures {
        let rounds: Vec<TrialFigures> = s.trials.iter().filter_map(|t| trial_figures(t, timing)).collect();
        let pooled = pooled(&rounds.iter().collect::<Vec<_>>());
        SeriesFigures { rounds, pooled }
    }
}

/// All the rounds' latencies, sorted.
fn pooled(rounds: &[&TrialFigures]) -> Vec<f64> {
    let mut all: Vec<f64> = rounds.iter().flat_map(|t| t.sorted.iter().copied()).collect();
    all.sort_by(f64::total_cmp);
    all
}

/// The log of the `p` quantile of all rounds' latencies pooled (without round `skip`).
fn log_pooled_quantile(all: &[f64], rounds: &[&TrialFigures], p: f64, skip: Option<usize>) -> Option<f64> {
    let q = match skip {
        None => stats::quantile(all, p)?,
        Some(r) => stats::rounds::quantile_without(all, &rounds[r].sorted, p)?,
    };
    (q > 0.0).then(|| q.ln())
}

/// A quantile from all rounds' requests pooled, its spread by the
/// delete-one-round jackknife.
fn quantile_spread(f: &SeriesFigures, p: f64) -> Option<Spread> {
    let rounds: Vec<&TrialFigures> = f.rounds.iter().collect();
    stats::rounds::jackknife(rounds.len(), |skip| log_pooled_quantile(&f.pooled, &rounds, p, skip))
}

/// A ratio of pooled quantiles over the rounds both engines ran, its spread by
/// the delete-one-round jackknife (a round is left out of both sides at once).
fn quantile_ratio_spread(cand: &SeriesFigures, base: &SeriesFigures, p: f64) -> Option<Spread> {
    let (c, b): (Vec<&TrialFigures>, Vec<&TrialFigures>) = cand
        .rounds
        .iter()
        .filter_map(|c| Some((c, base.rounds.iter().find(|b| b.round == c.round)?)))
        .unzip();
    // Pooled again only when a round is missing on one side (an engine that erred throughout it).
    let whole = c.len() == cand.rounds.len() && b.len() == base.rounds.len();
    let (own_c, own_b);
    let (all_c, all_b) = if whole {
        (&cand.pooled, &base.pooled)
    } else {
        (own_c, own_b) = (pooled(&c), pooled(&b));
        (&own_c, &own_b)
    };
    stats::rounds::jackknife(c.len(), |skip| {
        Some(log_pooled_quantile(all_c, &c, p, skip)? - log_pooled_quantile(all_b, &b, p, skip)?)
    })
}

/// The spread of the per-round paired log ratios of figure `pick`.
fn paired_spread(cand: &[TrialFigures], base: &[TrialFigures], pick: impl Fn(&TrialFigures) -> f64) -> Option<Spread> {
    let paired: Vec<f64> = cand
        .iter()
        .filter_map(|c| {
            let b = base.iter().find(|b| b.round == c.round)?;
            Some(pick(c).ln() - pick(b).ln())
        })
        .collect();
    Spread::of_logs(&paired)
}

/// The estimate of a figure measured round by round, with its 95 % interval at the run's looks.
pub fn estimate(spread: Option<Spread>, looks: &Looks) -> Option<Estimate> {
    let s = spread?;
    let ci = looks
        .t_critical(ALPHA_SIDE, s.df())
        .filter(|c| c.is_finite() && s.has_interval())
        .map(|c| s.interval(c, c));
    Some(Estimate {
        value: s.value(),
        ci,
        spread: Some(s),
    })
}

fn ms(e: Estimate) -> Estimate {
    Estimate {
        value: e.value / 1000.0,
        ci: e.ci.map(|(a, b)| (a / 1000.0, b / 1000.0)),
        spread: e.spread.map(|s| Spread {
            log_center: s.log_center - 1000f64.ln(),
            ..s
        }),
    }
}

/// Errors in each series' warm-ups, per (engine, mix), as `Settings` holds them.
pub fn warmup_errors(series: &[Series]) -> BTreeMap<(String, String), u64> {
    let mut out = BTreeMap::new();
    for s in series {
        let n: u64 = s.trials.iter().map(|t| t.warmup_errors).sum();
        if n > 0 {
            out.insert((s.engine.clone(), s.mix.clone()), n);
        }
    }
    out
}

/// The index of the reference series of each series' mix (`None` for the reference itself).
fn reference_of(series: &[Series]) -> Vec<Option<usize>> {
    series
        .iter()
        .map(|s| {
            (s.role != Role::Reference)
                .then(|| series.iter().position(|o| o.role == Role::Reference && o.mix == s.mix))
                .flatten()
        })
        .collect()
}

/// One summary row per series and timing, in series order.
pub fn summarize(series: &[Series], settings: &Settings) -> Vec<Summary> {
    let mut out = Vec::new();
    let reference = reference_of(series);
    for &timing in Timing::for_mode(settings.mode) {
        let figs: Vec<SeriesFigures> = series.iter().map(|s| SeriesFigures::of(s, timing)).collect();
        for (i, s) in series.iter().enumerate() {
            out.push(summarize_one(
                s,
                &figs[i],
                reference[i].map(|b| &figs[b]),
                settings,
                timing,
            ));
        }
    }
    // Against the floor's row of the same mix and timing, once every row has its p95.
    let floor_p95: Vec<(String, Timing, f64)> = out
        .iter()
        .filter(|r| r.role == Role::Yardstick)
        .filter_map(|r| Some((r.mix.clone(), r.timing, r.p95?.value)))
        .collect();
    for r in &mut out {
        let floor = floor_p95.iter().find(|(m, t, _)| *m == r.mix && *t == r.timing);
        r.floor_p95_ratio = floor.and_then(|(_, _, f)| Some(r.p95?.value / f));
    }
    out
}

fn summarize_one(
    s: &Series,
    figs: &SeriesFigures,
    base: Option<&SeriesFigures>,
    settings: &Settings,
    timing: Timing,
) -> Summary {
    let looks = &settings.looks;
    let requests: Vec<&Request> = s.trials.iter().flat_map(|t| &t.requests).collect();
    let late: u64 = s.trials.iter().map(|t| open::late(&t.requests)).sum();
    let per_engine = |pick: &dyn Fn(&TrialFigures) -> f64| {
        estimate(Spread::new(&figs.rounds.iter().map(pick).collect::<Vec<_>>()), looks)
    };
    let quantile = |i: usize| estimate(quantile_spread(figs, QUANTILES[i]), looks).map(ms);
    let (mut rps_ratio, mut p95_ratio, mut p99_ratio) = (None, None, None);
    if let Some(base) = base {
        p95_ratio = estimate(quantile_ratio_spread(figs, base, 0.95), looks);
        p99_ratio = estimate(quantile_ratio_spread(figs, base, 0.99), looks);
        if timing == Timing::Closed {
            rps_ratio = estimate(paired_spread(&figs.rounds, &base.rounds, |t| t.rps), looks);
        }
    }
    let warmup_errors = settings
        .warmup_errors
        .get(&(s.engine.clone(), s.mix.clone()))
        .copied()
        .unwrap_or(0) as usize;
    Summary {
        engine: s.engine.clone(),
        role: s.role,
        mix: s.mix.clone(),
        timing,
        concurrency: settings.concurrency,
        rounds: s.trials.len(),
        requests: requests.len(),
        errors: requests.iter().filter(|r| r.rows.is_none()).count() + warmup_errors,
        late,
        saturated: !requests.is_empty() && late as f64 > open::SATURATED_FRACTION * requests.len() as f64,
        rps: per_engine(&|t| t.rps),
        mean_ms: per_engine(&|t| t.mean_us).map(ms),
        p50: quantile(0),
        p90: quantile(1),
        p95: quantile(2),
        p99: quantile(3),
        rps_ratio,
        p95_ratio,
        p99_ratio,
        floor_p95_ratio: None,
        index_bytes: settings.index_bytes.get(&s.engine).copied(),
    }
}

/// How much of a figure's round-to-round variance is the machine's (between
/// rounds) and how much is sampling (within a round, as if requests were
/// independent): what a user needs to size a run (the standard error of a
/// ratio falls with the square root of the rounds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Variance {
    pub engine: String,
    pub mix: String,
    /// `p95`, `p99` (log of the per-round quantile) or `rps` (log throughput).
    pub figure: String,
    pub rounds: usize,
    /// Variance of the per-round log values.
    pub total: f64,
    /// Mean sampling variance within a round (order-statistic interval width; 0 for rps).
    pub within: f64,
    /// `max(0, total − within)`: drift between rounds.
    pub between: f64,
    /// The ratio to the baseline's spread `sd` (a jackknife standard error
    /// times √rounds for p95 and p99, the sd of the per-round paired log
    /// ratios for rps): its interval's half-width is about t · sd / √rounds.
    pub paired_sd: Option<f64>,
}

/// Variance components of p95, p99 and throughput per series (the timing verdicts use).
pub fn variance_components(series: &[Series], mode: LoadMode) -> Vec<Variance> {
    let timing = Timing::for_mode(mode)[0];
    let figs: Vec<SeriesFigures> = series.iter().map(|s| SeriesFigures::of(s, timing)).collect();
    let reference = reference_of(series);
    let mut out = Vec::new();
    for (i, s) in series.iter().enumerate() {
        let f = &figs[i];
        if f.rounds.is_empty() {
            continue;
        }
        let base = reference[i].map(|b| &figs[b]);
        let within_of = |p: f64| {
            let v: Vec<f64> = f
                .rounds
                .iter()
                .filter_map(|t| {
                    let xs = &t.sorted;
                    let (l, u) = stats::order_statistic_ranks(xs.len(), p, CONFIDENCE)?;
                    let w = (xs[u - 1].max(1e-3).ln() - xs[l - 1].max(1e-3).ln()) / (2.0 * 1.959964);
                    Some(w * w)
                })
                .collect();
            if v.is_empty() {
                0.0
            } else {
                v.iter().sum::<f64>() / v.len() as f64
            }
        };
        type Pick = fn(&TrialFigures) -> f64;
        let figures_of: [(&str, Pick, f64, Option<f64>); 3] = [
            (
                "p95",
                |t| t.quantiles[2],
                within_of(0.95),
                base.and_then(|b| quantile_ratio_spread(f, b, 0.95)).map(|s| s.sd),
            ),
            (
                "p99",
                |t| t.quantiles[3],
                within_of(0.99),
                base.and_then(|b| quantile_ratio_spread(f, b, 0.99)).map(|s| s.sd),
            ),
            (
                "rps",
                |t| t.rps,
                0.0,
                base.and_then(|b| paired_spread(&f.rounds, &b.rounds, |t| t.rps))
                    .map(|s| s.sd),
            ),
        ];
        for (name, pick, within, paired_sd) in figures_of {
            let logs: Vec<f64> = f.rounds.iter().map(|t| pick(t).max(1e-3).ln()).collect();
            let total = stats::rounds::sd(&logs).powi(2);
            out.push(Variance {
                engine: s.engine.clone(),
                mix: s.mix.clone(),
                figure: name.to_string(),
                rounds: logs.len(),
                total,
                within,
                between: (total - within).max(0.0),
                paired_sd,
            });
        }
    }
    out
}

/// Which filters a query carries.
pub fn filter_kind(q: &Query) -> &'static str {
    match (q.actor_id.is_some(), q.action.is_some()) {
        (false, false) => "none",
        (true, false) => "actor",
        (false, true) => "action",
        (true, true) => "both",
    }
}

/// Page-depth buckets, shallow to deep.
pub const DEPTH_BUCKETS: &[(&str, i64, i64)] = &[
    ("1", 1, 1),
    ("2-5", 2, 5),
    ("6-20", 6, 20),
    ("21-100", 21, 100),
    ("101-500", 101, 500),
    ("501-2000", 501, 2000),
];

/// The depth bucket of a page number.
pub fn depth_bucket(page: i64) -> &'static str {
    DEPTH_BUCKETS
        .iter()
        .find(|(_, lo, hi)| (*lo..=*hi).contains(&page))
        .map_or(if page < 1 { "<1" } else { ">2000" }, |b| b.0)
}

/// One row of `strata.csv`: the quantiles of one engine, mix and stratum.
#[derive(Debug, Clone)]
pub struct Stratum {
    pub engine: String,
    pub mix: String,
    pub timing: Timing,
    /// `page`, `filter` or `depth`.
    pub dimension: &'static str,
    pub value: String,
    pub requests: usize,
    pub mean_ms: f64,
    pub p50: Option<Estimate>,
    pub p90: Option<Estimate>,
    pub p95: Option<Estimate>,
    pub p99: Option<Estimate>,
}

/// Quantiles per stratum (empty or non-empty page, filter kind, page depth) for
/// each series, with the timing verdicts use. Strata with no requests are left out.
pub fn strata(series: &[Series], mode: LoadMode) -> Vec<Stratum> {
    let timing = Timing::for_mode(mode)[0];
    type Key = fn(&Request) -> String;
    let dims: [(&'static str, Key, Vec<String>); 3] = [
        (
            "page",
            |r| if r.rows == Some(0) { "empty" } else { "non-empty" }.to_string(),
            vec!["empty".into(), "non-empty".into()],
        ),
        (
            "filter",
            |r| filter_kind(&r.query).to_string(),
            ["none", "actor", "action", "both"].map(String::from).to_vec(),
        ),
        (
            "depth",
            |r| depth_bucket(r.query.page).to_string(),
            ["<1"]
                .into_iter()
                .chain(DEPTH_BUCKETS.iter().map(|b| b.0))
                .chain([">2000"])
                .map(String::from)
                .collect(),
        ),
    ];
    let mut out = Vec::new();
    for s in series {
        for (dimension, key, values) in &dims {
            let mut groups: BTreeMap<String, Vec<f64>> = BTreeMap::new();
            for r in s.trials.iter().flat_map(|t| &t.requests).filter(|r| r.rows.is_some()) {
                groups.entry(key(r)).or_default().push(timing.latency_us(r));
            }
            for v in values {
                let Some(mut xs) = groups.remove(v) else { continue };
                xs.sort_by(f64::total_cmp);
                let q = |p: f64| stats::quantile_with_ci(&xs, p, CONFIDENCE).map(ms);
                out.push(Stratum {
                    engine: s.engine.clone(),
                    mix: s.mix.clone(),
                    timing,
                    dimension,
                    value: v.clone(),
                    requests: xs.len(),
                    mean_ms: xs.iter().sum::<f64>() / xs.len() as f64 / 1000.0,
                    p50: q(0.5),
                    p90: q(0.9),
                    p95: q(0.95),
                    p99: q(0.99),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::Trial;

    fn series(engine: &str, latencies_us: &[&[u64]]) -> Series {
        Series {
            engine: engine.into(),
            role: crate::registry::role(engine),
            mix: "m".into(),
            trials: latencies_us
                .iter()
                .enumerate()
                .map(|(t, lats)| {
                    let mut at = 0;
                    Trial {
                        index: t as u32 + 1,
                        requests: lats
                            .iter()
                            .enumerate()
                            .map(|(i, l)| {
                                let r = Request {
                                    seq: i as u64,
                                    query: Query {
                                        page: i as i64 % 7 + 1,
                                        page_size: 10,
                                        ..Query::default()
                                    },
                                    rows: Some(10),
                                    start_ns: at,
                                    latency_ns: l * 1000,
                                    intended_ns: None,
                                };
                                at += l * 1000;
                                r
                            })
                            .collect(),
                        ..Trial::default()
                    }
                })
                .collect(),
        }
    }

    fn settings() -> Settings {
        Settings {
            mode: LoadMode::Closed,
            concurrency: 1,
            looks: Looks::fixed(3),
            index_bytes: BTreeMap::new(),
            warmup_errors: BTreeMap::new(),
        }
    }

    #[test]
    fn a_sequential_trial_has_throughput_one_over_mean_latency() {
        let lats: Vec<u64> = (0..1000).map(|i| 100 + i % 50).collect();
        let s = series("baseline", &[&lats, &lats]);
        let rows = summarize(&[s], &settings());
        let mean_us = lats.iter().sum::<u64>() as f64 / 1000.0;
        let Estimate { value: rps, ci, .. } = rows[0].rps.unwrap();
        assert!((rps - 1e6 / mean_us).abs() < 1e-6, "{rps}");
        // Identical rounds have no spread, and no spread says nothing about
        // the next round: no interval (a zero-width one would decide at once).
        assert_eq!(ci, None, "identical rounds");
        assert!((rows[0].mean_ms.unwrap().value - mean_us / 1000.0).abs() < 1e-12);
        assert!(rows[0].rps_ratio.is_none() && rows[0].p95_ratio.is_none());
    }

    #[test]
    fn an_engine_twice_as_fast_has_ratios_near_half_and_two() {
        // Rounds drift (x1.0, x1.3, x0.8) for both engines alike: pairing cancels it.
        let base = |k: u64| -> Vec<u64> { (0..2000).map(|i| (200 + (i * 7919) % 400) * k / 10).collect() };
        let fast = |k: u64| -> Vec<u64> { base(k).iter().map(|l| l / 2).collect() };
        let all = [
            series("baseline", &[&base(10), &base(13), &base(8)]),
            series("fast", &[&fast(10), &fast(13), &fast(8)]),
        ];
        let rows = summarize(&all, &settings());
        let f = &rows[1];
        let p95 = f.p95_ratio.unwrap();
        assert!((p95.value - 0.5).abs() < 0.01, "{p95:?}");
        let (lo, hi) = p95.ci.unwrap();
        assert!(hi - lo < 0.01, "paired rounds: the drift cancels: {p95:?}");
        assert!((f.rps_ratio.unwrap().value - 2.0).abs() < 0.01);
        // Unpaired, the drift shows: the engine's own p95 interval is wide.
        let (lo, hi) = f.p95.unwrap().ci.unwrap();
        assert!(hi / lo > 1.5, "{:?}", f.p95);
    }

    #[test]
    fn strata_split_by_depth_and_leave_out_empty_ones() {
        let lats: Vec<u64> = (0..700).map(|i| 100 + i).collect();
        let st = strata(&[series("baseline", &[&lats])], LoadMode::Closed);
        let depth: Vec<_> = st.iter().filter(|s| s.dimension == "depth").collect();
        assert_eq!(depth.len(), 3); // pages 1..7: "1", "2-5" and "6-20"
        assert_eq!(depth.iter().map(|s| s.requests).sum::<usize>(), 700);
        assert_eq!(depth_bucket(1), "1");
        assert_eq!(depth_bucket(2000), "501-2000");
        assert_eq!(depth_bucket(0), "<1");
        let page: Vec<_> = st.iter().filter(|s| s.dimension == "page").collect();
        assert_eq!(page.len(), 1);
        assert_eq!(page[0].value, "non-empty");
    }
}
