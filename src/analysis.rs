//! From measured requests to the figures reviewers read: throughput, mean and
//! quantiles with intervals, ratios to the baseline and the floor, and strata.
//! The run and `audit-harness report` both call [`summarize`] and [`strata`] on
//! the same records, so a re-analysis equals the run's own figures.

use std::collections::BTreeMap;

use audit_engines::Query;

use crate::bench::{open, Request, Series};
use crate::spec::LoadMode;
use crate::stats::{self, Estimate, Measured, CONFIDENCE};

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
    pub bootstrap_resamples: u32,
    /// Seed of the bootstrap (each row derives its own from it).
    pub seed: u64,
    pub index_bytes: BTreeMap<String, u64>,
    /// Errors in warm-ups (not in the measured records), per (engine, mix).
    pub warmup_errors: BTreeMap<(String, String), u64>,
}

/// One row of `summary.csv` before its verdict is known. Latencies in milliseconds.
#[derive(Debug, Clone)]
pub struct Summary {
    pub engine: String,
    pub mix: String,
    pub timing: Timing,
    pub concurrency: u32,
    pub trials: usize,
    /// Measured requests, errors included.
    pub requests: usize,
    /// Requests the engine answered with an error or a panic, warm-ups included
    /// (measured ones are excluded from the latencies).
    pub errors: usize,
    /// Open loop: requests that started late ([`open::LATE_AFTER_NS`]).
    pub late: u64,
    pub saturated: bool,
    /// Mean throughput over trials, t interval.
    pub rps: Option<Estimate>,
    /// Mean over trials of each trial's mean latency, t interval.
    pub mean_ms: Option<Estimate>,
    pub p50: Option<Estimate>,
    pub p90: Option<Estimate>,
    pub p95: Option<Estimate>,
    pub p99: Option<Estimate>,
    /// Against the baseline's row of the same mix and timing (`None` for the baseline).
    pub rps_ratio: Option<Estimate>,
    pub p95_ratio: Option<Estimate>,
    pub p99_ratio: Option<Estimate>,
    /// p95 over the floor's p95 on the same mix and timing (point estimate).
    pub floor_p95_ratio: Option<f64>,
    pub index_bytes: Option<u64>,
}

/// The measurements of one series in the form the statistics take: latencies
/// (µs) per trial in request order, and throughput per trial.
pub fn measured(s: &Series, timing: Timing) -> Measured {
    Measured {
        trials: s
            .trials
            .iter()
            .map(|t| {
                t.requests
                    .iter()
                    .filter(|r| r.rows.is_some())
                    .map(|r| timing.latency_us(r))
                    .collect()
            })
            .collect(),
        rps: s.trials.iter().filter_map(|t| trial_rps(&t.requests)).collect(),
    }
}

/// Requests per second of one trial: requests over the time until the last answer.
pub fn trial_rps(requests: &[Request]) -> Option<f64> {
    let end = requests.iter().map(Request::end_ns).max()?;
    (end > 0).then(|| requests.len() as f64 / (end as f64 / 1e9))
}

fn ms(e: Estimate) -> Estimate {
    Estimate {
        value: e.value / 1000.0,
        ci: e.ci.map(|(a, b)| (a / 1000.0, b / 1000.0)),
    }
}

/// A seed for one row's bootstrap, stable across runs and re-analyses.
fn row_seed(seed: u64, engine: &str, mix: &str, timing: Timing) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for b in engine
        .bytes()
        .chain([0])
        .chain(mix.bytes())
        .chain([0])
        .chain(timing.label().bytes())
    {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// One summary row per series and timing, in series order.
pub fn summarize(series: &[Series], settings: &Settings) -> Vec<Summary> {
    let mut out = Vec::new();
    for &timing in Timing::for_mode(settings.mode) {
        for s in series {
            out.push(summarize_one(s, series, settings, timing));
        }
    }
    // Against the floor's row of the same mix and timing, once every row has its p95.
    let floor_p95: Vec<(String, Timing, f64)> = out
        .iter()
        .filter(|r| r.engine == "floor")
        .filter_map(|r| Some((r.mix.clone(), r.timing, r.p95?.value)))
        .collect();
    for r in &mut out {
        let floor = floor_p95.iter().find(|(m, t, _)| *m == r.mix && *t == r.timing);
        r.floor_p95_ratio = floor.and_then(|(_, _, f)| Some(r.p95?.value / f));
    }
    out
}

fn summarize_one(s: &Series, all: &[Series], settings: &Settings, timing: Timing) -> Summary {
    let m = measured(s, timing);
    let mut pooled: Vec<f64> = m.trials.iter().flatten().copied().collect();
    pooled.sort_by(f64::total_cmp);
    let q = |p: f64| stats::quantile_with_ci(&pooled, p, CONFIDENCE).map(ms);
    let trial_means: Vec<f64> = m
        .trials
        .iter()
        .filter(|t| !t.is_empty())
        .map(|t| t.iter().sum::<f64>() / t.len() as f64 / 1000.0)
        .collect();
    let requests: Vec<&Request> = s.trials.iter().flat_map(|t| &t.requests).collect();
    let late: u64 = s.trials.iter().map(|t| open::late(&t.requests)).sum();
    let (mut rps_ratio, mut p95_ratio, mut p99_ratio) = (None, None, None);
    if s.engine != "baseline" {
        if let Some(base) = all.iter().find(|o| o.engine == "baseline" && o.mix == s.mix) {
            let r = stats::ratio_intervals(
                &m,
                &measured(base, timing),
                settings.bootstrap_resamples,
                row_seed(settings.seed, &s.engine, &s.mix, timing),
                CONFIDENCE,
            );
            (rps_ratio, p95_ratio, p99_ratio) = (r.rps, r.p95, r.p99);
        }
    }
    let p95 = q(0.95);
    Summary {
        engine: s.engine.clone(),
        mix: s.mix.clone(),
        timing,
        concurrency: settings.concurrency,
        trials: s.trials.len(),
        requests: requests.len(),
        errors: requests.iter().filter(|r| r.rows.is_none()).count()
            + settings
                .warmup_errors
                .get(&(s.engine.clone(), s.mix.clone()))
                .copied()
                .unwrap_or(0) as usize,
        late,
        saturated: !requests.is_empty() && late as f64 > open::SATURATED_FRACTION * requests.len() as f64,
        rps: mean_over_trials(&m.rps),
        mean_ms: mean_over_trials(&trial_means),
        p50: q(0.50),
        p90: q(0.90),
        p95,
        p99: q(0.99),
        rps_ratio,
        p95_ratio,
        p99_ratio,
        floor_p95_ratio: None,
        index_bytes: settings.index_bytes.get(&s.engine).copied(),
    }
}

/// The t interval over trials of a quantity that cannot be negative, its lower
/// end clipped at 0 (with two or three trials the t interval can reach below it).
fn mean_over_trials(xs: &[f64]) -> Option<Estimate> {
    stats::mean_ci(xs, CONFIDENCE).map(|(value, ci)| Estimate {
        value,
        ci: ci.map(|(lo, hi)| (lo.max(0.0), hi)),
    })
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
            bootstrap_resamples: 500,
            seed: 1,
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
        let Estimate { value: rps, ci } = rows[0].rps.unwrap();
        assert!((rps - 1e6 / mean_us).abs() < 1e-6, "{rps}");
        assert_eq!(ci, Some((rps, rps)));
        assert!((rows[0].mean_ms.unwrap().value - mean_us / 1000.0).abs() < 1e-12);
        assert!(rows[0].rps_ratio.is_none() && rows[0].p95_ratio.is_none());
    }

    #[test]
    fn an_engine_twice_as_fast_has_ratios_near_half_and_two() {
        let base: Vec<u64> = (0..2000).map(|i| 200 + (i * 7919) % 400).collect();
        let fast: Vec<u64> = base.iter().map(|l| l / 2).collect();
        let all = [
            series("baseline", &[&base, &base, &base]),
            series("fast", &[&fast, &fast, &fast]),
        ];
        let rows = summarize(&all, &settings());
        let f = &rows[1];
        let p95 = f.p95_ratio.unwrap();
        assert!((p95.value - 0.5).abs() < 0.01, "{p95:?}");
        let (lo, hi) = p95.ci.unwrap();
        assert!(lo <= 0.5 && 0.5 <= hi + 1e-9, "{p95:?}");
        assert!((f.rps_ratio.unwrap().value - 2.0).abs() < 0.01);
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
