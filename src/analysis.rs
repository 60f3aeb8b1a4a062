//! From measured requests to the figures reviewers read: throughput, mean and
//! quantiles with intervals, ratios to the baseline and the floor, strata,
//! and the variance components that size a run.
//!
//! Every figure is computed from all rounds' requests pooled (the
//! reference's own figures on a deciding mix from the deciding rounds, the
//! rounds the run stopped on: [`looked_rounds_of`]), and
//! post-stratified (`stats::poststrat`): within each stratum (an empty page,
//! a page with rows) from the engine's own requests, the strata weighted by
//! their share of the mix, which is counted once over every query of the mix
//! the run answered and is the same for every engine. Quantiles invert the
//! weighted distribution; mean latency and throughput weight the strata's
//! means (closed-loop throughput is `workers / mean time per request`, where
//! a request's time is its latency plus its worker's step to the next one).
//! Means and throughput (and their ratios) spread by the delete-one-round
//! jackknife (a ratio leaves the same round out of both engines, and out of
//! the weights); quantiles after Woodruff, from the jackknife of the share
//! of requests below them ([`quantile_spread`], [`quantile_ratio_spread`]).
//! docs/statistics.md explains each method. Strata keep pooled, within-run
//! order-statistic intervals: they describe, they do not decide. The run and
//! `audit-harness report` both call [`summarize`] and [`strata`] on the same
//! records, so a re-analysis equals the run's own figures.

use std::collections::{BTreeMap, HashMap};

use audit_engines::{Query, Role};
use serde::{Deserialize, Serialize};

use crate::bench::{open, Series, Trial};
use crate::measured::Request;
use crate::spec::LoadMode;
use crate::stats::poststrat::{self, Sample, STRATA};
use crate::stats::sequential::Looks;
use crate::stats::{self, Estimate, Spread, ALPHA_SIDE, CONFIDENCE};

/// How latency is counted in a summary row; serialised as its [`Timing::label`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
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
    /// The looks the run made at its data (its deciding phase): the intervals
    /// of every series that ran in those rounds are adjusted for them.
    pub looks: Looks,
    /// The rounds the looks were made on (1-based, inclusive); a series with
    /// no round among them ran after the looks, and its intervals are a
    /// fixed design's over its own rounds. `None`: every round.
    pub looked_rounds: Option<(u32, u32)>,
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
            looked_rounds: None,
            index_bytes: BTreeMap::new(),
            warmup_errors: warmup_errors(series),
        }
    }

    /// The looks a series' intervals are adjusted for.
    pub fn looks_for(&self, s: &Series) -> Looks {
        match self.looked_rounds {
            Some((a, b)) if !s.trials.iter().any(|t| (a..=b).contains(&t.index)) => {
                Looks::fixed(s.trials.len().max(1) as u32)
            }
            _ => self.looks,
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
    /// Answered requests per second (closed loop: workers over the mean time
    /// per request; open loop: the rate achieved).
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
    /// The looks this row's intervals are adjusted for.
    pub looks: Looks,
}

/// The quantiles every summary reports.
const QUANTILES: [f64; 4] = [0.50, 0.90, 0.95, 0.99];

/// One round of one series: its answered latencies (µs) by stratum, sorted,
/// and the sums the means and throughput are made of.
#[derive(Debug, Clone)]
struct RoundData {
    round: u32,
    strata: [Vec<f64>; STRATA],
    sums: [f64; STRATA],
    counts: [f64; STRATA],
    /// Closed loop: the steps workers took between one answer and their next
    /// request (within a slice), µs, and how many.
    gaps_us: f64,
    gaps: f64,
    /// The time requests answered with an error took, µs.
    error_us: f64,
    /// Open loop: the slices' spans (start to last answer), µs.
    span_us: f64,
    /// All answered latencies, sorted.
    all: Vec<f64>,
}

impl RoundData {
    fn answered(&self) -> f64 {
        self.counts.iter().sum()
    }

    /// The round's own throughput (its requests unweighted), answered per second.
    fn rps(&self, mode: LoadMode, concurrency: u32) -> f64 {
        let n = self.answered();
        match mode {
            LoadMode::Closed => {
                let step = if self.gaps > 0.0 { self.gaps_us / self.gaps } else { 0.0 };
                let busy = self.sums.iter().sum::<f64>() + self.error_us + n * step;
                if busy > 0.0 {
                    f64::from(concurrency) * n / busy * 1e6
                } else {
                    0.0
                }
            }
            LoadMode::Open => {
                if self.span_us > 0.0 {
                    n / self.span_us * 1e6
                } else {
                    0.0
                }
            }
        }
    }
}

/// One trial (an engine's round on a mix) as the analysis reads it.
fn round_data(t: &Trial, timing: Timing) -> Option<RoundData> {
    let mut strata: [Vec<f64>; STRATA] = Default::default();
    let mut sums = [0.0; STRATA];
    let mut counts = [0.0; STRATA];
    for r in &t.requests {
        if let Some(rows) = r.rows {
            let h = poststrat::stratum(rows);
            let x = timing.latency_us(r);
            strata[h].push(x);
            sums[h] += x;
            counts[h] += 1.0;
        }
    }
    if counts.iter().sum::<f64>() == 0.0 {
        return None;
    }
    for v in &mut strata {
        v.sort_by(f64::total_cmp);
    }
    // Per slice and worker, in start order: each step from an answer to the
    // worker's next request (none after its last request of the slice).
    let mut by_worker: HashMap<(u32, u32), Vec<(u64, u64)>> = HashMap::new();
    let mut spans: HashMap<u32, u64> = HashMap::new();
    let mut error_ns = 0u64;
    for r in &t.requests {
        by_worker
            .entry((r.slice, r.worker))
            .or_default()
            .push((r.start_ns, r.end_ns()));
        let sp = spans.entry(r.slice).or_insert(0);
        *sp = (*sp).max(r.end_ns());
        if r.rows.is_none() {
            error_ns += r.latency_ns;
        }
    }
    let (mut gaps_ns, mut gaps) = (0u64, 0u64);
    for v in by_worker.values_mut() {
        v.sort_unstable();
        for w in v.windows(2) {
            gaps_ns += w[1].0.saturating_sub(w[0].1);
            gaps += 1;
        }
    }
    let mut all: Vec<f64> = strata.iter().flatten().copied().collect();
    all.sort_by(f64::total_cmp);
    Some(RoundData {
        round: t.index,
        strata,
        sums,
        counts,
        gaps_us: gaps_ns as f64 / 1000.0,
        gaps: gaps as f64,
        error_us: error_ns as f64 / 1000.0,
        span_us: spans.values().sum::<u64>() as f64 / 1000.0,
        all,
    })
}

/// The throughput of one trial as the round lines show it (its requests unweighted).
pub fn trial_rps(t: &Trial, mode: LoadMode, concurrency: u32) -> f64 {
    round_data(t, Timing::for_mode(mode)[0]).map_or(0.0, |d| d.rps(mode, concurrency))
}

/// One series' rounds, and all of them pooled per stratum: computed once per
/// analysis and shared by every figure and ratio.
struct SeriesFigures {
    rounds: Vec<RoundData>,
    pooled: [Vec<f64>; STRATA],
    pooled_all: Vec<f64>,
}

impl SeriesFigures {
    fn of(s: &Series, timing: Timing) -> SeriesFigures {
        SeriesFigures::from_rounds(s.trials.iter().filter_map(|t| round_data(t, timing)).collect())
    }

    /// Adds rounds: each stratum's pooled latencies merged with theirs.
    fn extend(&mut self, new: Vec<RoundData>) {
        for h in 0..STRATA {
            let mut add: Vec<f64> = new.iter().flat_map(|r| r.strata[h].iter().copied()).collect();
            add.sort_by(f64::total_cmp);
            self.pooled[h] = merge(&self.pooled[h], &add);
        }
        let mut add: Vec<f64> = new.iter().flat_map(|r| r.all.iter().copied()).collect();
        add.sort_by(f64::total_cmp);
        self.pooled_all = merge(&self.pooled_all, &add);
        self.rounds.extend(new);
    }

    fn from_rounds(rounds: Vec<RoundData>) -> SeriesFigures {
        let pooled: [Vec<f64>; STRATA] = std::array::from_fn(|h| {
            let mut xs: Vec<f64> = rounds.iter().flat_map(|r| r.strata[h].iter().copied()).collect();
            xs.sort_by(f64::total_cmp);
            xs
        });
        let mut pooled_all: Vec<f64> = pooled.iter().flatten().copied().collect();
        pooled_all.sort_by(f64::total_cmp);
        SeriesFigures {
            rounds,
            pooled,
            pooled_all,
        }
    }

    /// The same figures over the rounds in `keep` only.
    fn restricted(&self, keep: &[u32]) -> SeriesFigures {
        SeriesFigures::from_rounds(
            self.rounds
                .iter()
                .filter(|r| keep.contains(&r.round))
                .cloned()
                .collect(),
        )
    }

    fn round(&self, i: Option<usize>) -> Option<&RoundData> {
        i.map(|i| &self.rounds[i])
    }

    /// The log of the post-stratified `p` quantile, without round number `skip` (an index into `rounds`).
    fn log_quantile(&self, w: &[f64; STRATA], p: f64, skip: Option<usize>) -> Option<f64> {
        let q = poststrat::quantile(&self.pooled_all, &self.samples(skip), w, p)?;
        (q > 0.0).then(|| q.ln())
    }

    /// `G(x)` without round number `skip`: the share of the mix's requests at most `x`.
    fn cdf_at(&self, w: &[f64; STRATA], x: f64, skip: Option<usize>) -> Option<f64> {
        poststrat::cdf(&self.samples(skip), w, x)
    }

    /// Each stratum's pooled latencies, without round number `skip`.
    fn samples(&self, skip: Option<usize>) -> [Sample<'_>; STRATA] {
        let removed = self.round(skip);
        std::array::from_fn(|h| Sample {
            all: &self.pooled[h],
            removed: removed.map_or(&[][..], |r| &r.strata[h][..]),
        })
    }

    /// A quantile's linearisation on all rounds: its log, the change of
    /// `G(q)` when each round is left out (with the weights without it), and
    /// the quantile's reach below and above on the log scale (see [`quantile_spread`]).
    fn quantile_influence(&self, weights: &MixWeights, p: f64) -> Option<QuantileInfluence> {
        let w = weights.without(None);
        let log_q = self.log_quantile(&w, p, None)?;
        let q = log_q.exp();
        let at = self.cdf_at(&w, q, None)?;
        let k = self.rounds.len();
        let changes: Vec<f64> = (0..k)
            .map(|i| {
                let wi = weights.without(Some(self.rounds[i].round));
                Some(self.cdf_at(&wi, q, Some(i))? - at)
            })
            .collect::<Option<Vec<f64>>>()?;
        // Never narrower than if the requests were independent: with few
        // rounds every round can hold the same count below the quantile
        // (a jackknife of exactly 0, seen with 3 rounds of 200 requests).
        let floor_g = poststrat::independent_var(&self.samples(None), &w, q)?.sqrt();
        let se_g = jackknife_se(&changes).max(floor_g);
        // Woodruff's band: the quantiles two standard errors of G below and above.
        let n = self.pooled_all.len().max(1) as f64;
        let delta = (WOODRUFF_T * se_g).max(5.0 / n);
        let (p_lo, p_hi) = ((p - delta).max(p / 2.0), (p + delta).min((1.0 + p) / 2.0));
        let (lo, hi) = (self.log_quantile(&w, p_lo, None)?, self.log_quantile(&w, p_hi, None)?);
        // Each side's reach on the log scale per unit of G over the band.
        let slope = |reach: f64, dp: f64| if dp > 0.0 { reach / dp } else { 0.0 };
        Some(QuantileInfluence {
            log_q,
            changes,
            se_g,
            floor_g,
            slope_below: slope(log_q - lo, p - p_lo),
            slope_above: slope(hi - log_q, p_hi - p),
        })
    }

    /// Sums over the rounds without `skip`.
    fn totals(&self, skip: Option<usize>) -> Totals {
        let mut t = Totals::default();
        for (i, r) in self.rounds.iter().enumerate() {
            if Some(i) == skip {
                continue;
            }
            for h in 0..STRATA {
                t.sums[h] += r.sums[h];
                t.counts[h] += r.counts[h];
            }
            t.gaps_us += r.gaps_us;
            t.gaps += r.gaps;
            t.error_us += r.error_us;
            t.span_us += r.span_us;
        }
        t
    }

    /// The log of the post-stratified mean latency (µs).
    fn log_mean(&self, w: &[f64; STRATA], skip: Option<usize>) -> Option<f64> {
        let t = self.totals(skip);
        poststrat::mean(&t.sums, &t.counts, w).filter(|m| *m > 0.0).map(f64::ln)
    }

    /// The log of the throughput: closed loop, workers over the mean time a
    /// request takes a worker (its post-stratified latency, the mean step to
    /// the next request where a worker made one, and the errors' time shared
    /// out over the answers); open loop, answered requests over the slices' spans.
    fn log_rps(&self, w: &[f64; STRATA], skip: Option<usize>, mode: LoadMode, concurrency: u32) -> Option<f64> {
        let t = self.totals(skip);
        let n: f64 = t.counts.iter().sum();
        if n <= 0.0 {
            return None;
        }
        let per_second = match mode {
            LoadMode::Closed => {
                let step = if t.gaps > 0.0 { t.gaps_us / t.gaps } else { 0.0 };
                let cycle = poststrat::mean(&t.sums, &t.counts, w)? + step + t.error_us / n;
                f64::from(concurrency) / cycle * 1e6
            }
            LoadMode::Open => n / t.span_us * 1e6,
        };
        (per_second > 0.0 && per_second.is_finite()).then(|| per_second.ln())
    }
}

/// Two sorted runs merged into one.
fn merge(a: &[f64], b: &[f64]) -> Vec<f64> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i].total_cmp(&b[j]).is_le() {
            out.push(a[i]);
            i += 1;
        } else {
            out.push(b[j]);
            j += 1;
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

/// Sums over rounds.
#[derive(Debug, Clone, Copy, Default)]
struct Totals {
    sums: [f64; STRATA],
    counts: [f64; STRATA],
    gaps_us: f64,
    gaps: f64,
    error_us: f64,
    span_us: f64,
}

/// Each stratum's share of a mix: every query of the mix the run answered,
/// counted once (by the first series in order that answered it: the
/// reference's answer where it ran), in all and per round.
#[derive(Debug, Clone, Default)]
struct MixWeights {
    total: [f64; STRATA],
    per_round: BTreeMap<u32, [f64; STRATA]>,
}

impl MixWeights {
    /// Counted over the rounds `keep` accepts.
    fn of(series: &[&Series], keep: impl Fn(&crate::bench::Trial) -> bool) -> MixWeights {
        let mut seen: HashMap<(u32, u64), usize> = HashMap::new();
        for s in series {
            for t in s.trials.iter().filter(|t| keep(t)) {
                for r in &t.requests {
                    if let Some(rows) = r.rows {
                        seen.entry((t.index, r.seq)).or_insert(poststrat::stratum(rows));
                    }
                }
            }
        }
        let mut w = MixWeights::default();
        for ((round, _), h) in seen {
            w.total[h] += 1.0;
            w.per_round.entry(round).or_default()[h] += 1.0;
        }
        w
    }

    /// The shares without round `skip` (1-based).
    fn without(&self, skip: Option<u32>) -> [f64; STRATA] {
        let mut w = self.total;
        if let Some(r) = skip.and_then(|r| self.per_round.get(&r)) {
            for h in 0..STRATA {
                w[h] -= r[h];
            }
        }
        let total: f64 = w.iter().sum();
        if total > 0.0 {
            w.map(|v| v / total)
        } else {
            w
        }
    }
}

/// A quantile's linearisation: see [`quantile_spread`].
struct QuantileInfluence {
    log_q: f64,
    /// Per round (in the series' order): `G` at the quantile without it, less `G` with it.
    changes: Vec<f64>,
    /// The standard error of `G` at the quantile: the jackknife of `changes`,
    /// at least `floor_g`.
    se_g: f64,
    /// `G`'s standard error were every request independent (post-stratified).
    floor_g: f64,
    /// How far the log quantile moves per unit of `G` below and above it.
    slope_below: f64,
    slope_above: f64,
}

impl QuantileInfluence {
    /// Whether the independent-request floor, not the rounds, set `se_g`.
    fn floored(&self) -> bool {
        self.se_g <= self.floor_g
    }
}

/// The `t` of Woodruff's band: the quantiles this many standard errors of
/// `G` away measure how far the quantile reaches on each side.
const WOODRUFF_T: f64 = 2.0;

/// The delete-one jackknife standard error from each round's leave-out change.
fn jackknife_se(changes: &[f64]) -> f64 {
    let k = changes.len();
    if k < 2 {
        return 0.0;
    }
    let mean = changes.iter().sum::<f64>() / k as f64;
    ((k - 1) as f64 / k as f64 * changes.iter().map(|d| (d - mean).powi(2)).sum::<f64>()).sqrt()
}

/// A quantile's spread over rounds, after Woodruff (as survey statisticians
/// treat quantiles of clustered samples): the uncertainty of the share of
/// requests below the quantile, `G(q)`, is a mean over rounds whose
/// delete-one-round jackknife is reliable (a tail quantile itself hinges on
/// the few rounds holding its few tail requests, and its own jackknife is
/// too narrow there); it is carried to the latency scale through the
/// quantiles `2 · se(G)` below and above `p`, each side on its own, so that
/// a quantile beside a gap between clusters gets the wide side the gap
/// gives it (a cliff is not judged as if the distribution were smooth).
fn quantile_spread(f: &SeriesFigures, weights: &MixWeights, p: f64) -> Option<Spread> {
    let inf = f.quantile_influence(weights, p)?;
    // Leaving a round out moves the quantile against its change of G, so a
    // round's pseudo-value moves with it: their skewness is the changes'.
    // Where the independent-request floor sets the error, the rounds say
    // nothing of its shape either.
    let skew = if inf.floored() {
        0.0
    } else {
        stats::rounds::skewness(&inf.changes)
    };
    finite(
        inf.log_q,
        inf.slope_below * inf.se_g,
        inf.slope_above * inf.se_g,
        f.rounds.len(),
        stats::rounds::effective_df(&inf.changes),
    )
    .map(|s| s.with_skew(skew, skew))
}

/// A ratio of quantiles' spread over the rounds both engines ran: leaving
/// a round out (of both engines, and of the weights) moves each engine's
/// log quantile by its change of `G` times that engine's reach per unit of
/// `G` on the side it moves to; the ratio moves by the difference, and the
/// jackknife of those moves is its spread (the same round cancels in both:
/// pairing).
fn quantile_ratio_spread(cand: &SeriesFigures, base: &SeriesFigures, weights: &MixWeights, p: f64) -> Option<Spread> {
    let common: Vec<u32> = cand
        .rounds
        .iter()
        .map(|r| r.round)
        .filter(|r| base.rounds.iter().any(|b| b.round == *r))
        .collect();
    let (own_c, own_b);
    let (c, b) = if common.len() == cand.rounds.len() && common.len() == base.rounds.len() {
        (cand, base)
    } else {
        (own_c, own_b) = (cand.restricted(&common), base.restricted(&common));
        (&own_c, &own_b)
    };
    let (ic, ib) = (c.quantile_influence(weights, p)?, b.quantile_influence(weights, p)?);
    // The ratio is high when the candidate's quantile is high and the
    // baseline's low: its upper side takes the candidate's reach upward and
    // the baseline's downward, round by round (so a round that moves both
    // alike cancels), and its lower side the other two.
    // A round that raises G lowers the quantile. Neither side is narrower
    // than the two engines' independent-request errors combined.
    let side = |c_slope: f64, b_slope: f64| -> (f64, f64, f64) {
        let moves: Vec<f64> = ic
            .changes
            .iter()
            .zip(&ib.changes)
            .map(|(dc, db)| -dc * c_slope + db * b_slope)
            .collect();
        let floor = (c_slope * ic.floor_g).hypot(b_slope * ib.floor_g);
        let se = jackknife_se(&moves);
        // A round's pseudo-value moves opposite to the ratio without it.
        let skew = if se > floor {
            -stats::rounds::skewness(&moves)
        } else {
            0.0
        };
        (se.max(floor), stats::rounds::effective_df(&moves), skew)
    };
    let (up, up_df, up_skew) = side(ic.slope_above, ib.slope_below);
    let (down, down_df, down_skew) = side(ic.slope_below, ib.slope_above);
    finite(ic.log_q - ib.log_q, down, up, common.len(), up_df.min(down_df)).map(|s| s.with_skew(down_skew, up_skew))
}

/// A spread from a log center and its two sides' standard errors (`None` when not finite).
fn finite(log_center: f64, se_below: f64, se_above: f64, rounds: usize, df: f64) -> Option<Spread> {
    if !(log_center.is_finite() && se_below.is_finite() && se_above.is_finite()) {
        return None;
    }
    let df = if df.is_finite() {
        df
    } else {
        rounds.saturating_sub(1) as f64
    };
    Some(Spread::asymmetric(log_center, se_below, se_above, rounds, df))
}

/// A figure of one series by the delete-one-round jackknife: `theta(w, skip)`
/// is its log on the rounds without `skip` (an index), with the mix's weights
/// without that round.
fn jackknife_one(
    f: &SeriesFigures,
    weights: &MixWeights,
    theta: impl Fn(&SeriesFigures, &[f64; STRATA], Option<usize>) -> Option<f64>,
) -> Option<Spread> {
    stats::rounds::jackknife(f.rounds.len(), |skip| {
        let w = weights.without(skip.map(|i| f.rounds[i].round));
        theta(f, &w, skip)
    })
}

/// A ratio's spread over the rounds both engines ran: the same round left out
/// of both, and of the weights.
fn jackknife_ratio(
    cand: &SeriesFigures,
    base: &SeriesFigures,
    weights: &MixWeights,
    theta: impl Fn(&SeriesFigures, &[f64; STRATA], Option<usize>) -> Option<f64>,
) -> Option<Spread> {
    let common: Vec<u32> = cand
        .rounds
        .iter()
        .map(|r| r.round)
        .filter(|r| base.rounds.iter().any(|b| b.round == *r))
        .collect();
    // Pooled again only when a round is missing on one side (an engine that erred throughout it).
    let (own_c, own_b);
    let (c, b) = if common.len() == cand.rounds.len() && common.len() == base.rounds.len() {
        (cand, base)
    } else {
        (own_c, own_b) = (cand.restricted(&common), base.restricted(&common));
        (&own_c, &own_b)
    };
    stats::rounds::jackknife(common.len(), |skip| {
        let w = weights.without(skip.map(|i| c.rounds[i].round));
        Some(theta(c, &w, skip)? - theta(b, &w, skip)?)
    })
}

/// The estimate of a figure with its 95 % interval at the given looks.
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

/// Each mix's stratum weights.
/// Each mix's weights. A mix the looks were made on (`looked`: its rounds)
/// keeps the weights of those rounds only, for every engine on it: the
/// figures that decided the run's stop are the figures it reports, however
/// many rounds the informational phase added on that mix afterwards.
fn weights_by_mix(series: &[Series], looked: Option<(u32, u32)>) -> BTreeMap<String, MixWeights> {
    let mut mixes: Vec<&str> = series.iter().map(|s| s.mix.as_str()).collect();
    mixes.sort_unstable();
    mixes.dedup();
    mixes
        .into_iter()
        .map(|m| {
            let of_mix: Vec<&Series> = series.iter().filter(|s| s.mix == m).collect();
            let in_looks = |t: &crate::bench::Trial| looked.is_some_and(|(a, b)| (a..=b).contains(&t.index));
            let looked_mix = of_mix.iter().any(|s| s.trials.iter().any(in_looks));
            let weights = if looked_mix {
                MixWeights::of(&of_mix, in_looks)
            } else {
                MixWeights::of(&of_mix, |_| true)
            };
            (m.to_string(), weights)
        })
        .collect()
}

/// One summary row per series and timing, in series order.
pub fn summarize(series: &[Series], settings: &Settings) -> Vec<Summary> {
    summarize_cached(series, settings, &mut Cache::default())
}

/// What one analysis read of each series, kept for the next: a run looks at
/// its data many times, and each look only has to read the rounds since the
/// last (the pooled latencies grow by a merge, not a sort).
#[derive(Default)]
pub struct Cache {
    /// Per timing and series: the trials read, and their figures.
    figs: Vec<(Timing, usize, usize, SeriesFigures)>,
}

impl Cache {
    fn figures(&mut self, i: usize, s: &Series, timing: Timing) -> &SeriesFigures {
        let at = self.figs.iter().position(|(t, j, _, _)| *t == timing && *j == i);
        let at = match at {
            Some(at) if self.figs[at].2 <= s.trials.len() => at,
            Some(at) => {
                self.figs[at] = (timing, i, 0, SeriesFigures::from_rounds(Vec::new()));
                at
            }
            None => {
                self.figs.push((timing, i, 0, SeriesFigures::from_rounds(Vec::new())));
                self.figs.len() - 1
            }
        };
        let (_, _, read, f) = &mut self.figs[at];
        if *read < s.trials.len() {
            let new: Vec<RoundData> = s.trials[*read..].iter().filter_map(|t| round_data(t, timing)).collect();
            f.extend(new);
            *read = s.trials.len();
        }
        &self.figs[at].3
    }
}

/// The summaries, reading only what `cache` has not read yet.
pub fn summarize_cached(series: &[Series], settings: &Settings, cache: &mut Cache) -> Vec<Summary> {
    let mut out = Vec::new();
    let reference = reference_of(series);
    let weights = weights_by_mix(series, settings.looked_rounds);
    for &timing in Timing::for_mode(settings.mode) {
        for (i, s) in series.iter().enumerate() {
            cache.figures(i, s, timing);
        }
        let figs: Vec<&SeriesFigures> = (0..series.len())
            .map(|i| {
                &cache
                    .figs
                    .iter()
                    .find(|(t, j, _, _)| *t == timing && *j == i)
                    .expect("read just above")
                    .3
            })
            .collect();
        for (i, s) in series.iter().enumerate() {
            out.push(summarize_one(
                s,
                looked_rounds_of(s, settings.looked_rounds).as_deref(),
                figs[i],
                reference[i].map(|b| figs[b]),
                &weights[&s.mix],
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

/// The rounds a series' own figures come from when it ran both in the looks
/// and after them (the reference on a deciding mix, run again beside the
/// informational engines): the looks' rounds, so that the figures a run
/// stopped on are the figures it reports. `None`: all its rounds.
fn looked_rounds_of(s: &Series, looked: Option<(u32, u32)>) -> Option<Vec<u32>> {
    let (a, b) = looked?;
    let inside = |t: &&crate::bench::Trial| (a..=b).contains(&t.index);
    let kept: Vec<u32> = s.trials.iter().filter(inside).map(|t| t.index).collect();
    (!kept.is_empty() && kept.len() < s.trials.len()).then_some(kept)
}

/// One row: the series' own figures over the rounds `keep` (all when
/// `None`); its ratios over the rounds both it and the baseline ran.
fn summarize_one(
    s: &Series,
    keep: Option<&[u32]>,
    figs: &SeriesFigures,
    base: Option<&SeriesFigures>,
    weights: &MixWeights,
    settings: &Settings,
    timing: Timing,
) -> Summary {
    let looks = settings.looks_for(s);
    let (mode, c) = (settings.mode, settings.concurrency);
    let restricted = keep.map(|k| figs.restricted(k));
    let own = restricted.as_ref().unwrap_or(figs);
    let trials: Vec<&crate::bench::Trial> = s
        .trials
        .iter()
        .filter(|t| keep.is_none_or(|k| k.contains(&t.index)))
        .collect();
    let requests: Vec<&Request> = trials.iter().flat_map(|t| &t.requests).collect();
    let late: u64 = trials.iter().map(|t| open::late(&t.requests)).sum();
    // Errors count over every round: an engine's error is never left out.
    let errors = s
        .trials
        .iter()
        .flat_map(|t| &t.requests)
        .filter(|r| r.rows.is_none())
        .count();
    let quantile = |p: f64| estimate(quantile_spread(own, weights, p), &looks).map(ms);
    let (mut rps_ratio, mut p95_ratio, mut p99_ratio) = (None, None, None);
    if let Some(base) = base {
        let q_ratio = |p: f64| estimate(quantile_ratio_spread(figs, base, weights, p), &looks);
        p95_ratio = q_ratio(0.95);
        p99_ratio = q_ratio(0.99);
        if timing == Timing::Closed {
            rps_ratio = estimate(
                jackknife_ratio(figs, base, weights, |f, w, skip| f.log_rps(w, skip, mode, c)),
                &looks,
            );
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
        rounds: trials.len(),
        requests: requests.len(),
        errors: errors + warmup_errors,
        late,
        saturated: !requests.is_empty() && late as f64 > open::SATURATED_FRACTION * requests.len() as f64,
        rps: estimate(
            jackknife_one(own, weights, |f, w, skip| f.log_rps(w, skip, mode, c)),
            &looks,
        ),
        mean_ms: estimate(jackknife_one(own, weights, |f, w, skip| f.log_mean(w, skip)), &looks).map(ms),
        p50: quantile(QUANTILES[0]),
        p90: quantile(QUANTILES[1]),
        p95: quantile(QUANTILES[2]),
        p99: quantile(QUANTILES[3]),
        rps_ratio,
        p95_ratio,
        p99_ratio,
        floor_p95_ratio: None,
        index_bytes: settings.index_bytes.get(&s.engine).copied(),
        looks,
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

/// Variance components of p95, p99 and throughput per series (the timing
/// verdicts use): the per-round figures are each round's own (its requests
/// unweighted); `paired_sd` is the post-stratified ratio's jackknife spread.
pub fn variance_components(series: &[Series], mode: LoadMode, concurrency: u32) -> Vec<Variance> {
    let timing = Timing::for_mode(mode)[0];
    let figs: Vec<SeriesFigures> = series.iter().map(|s| SeriesFigures::of(s, timing)).collect();
    let reference = reference_of(series);
    let weights = weights_by_mix(series, None);
    let mut out = Vec::new();
    for (i, s) in series.iter().enumerate() {
        let f = &figs[i];
        if f.rounds.is_empty() {
            continue;
        }
        let w = &weights[&s.mix];
        let base = reference[i].map(|b| &figs[b]);
        let within_of = |p: f64| {
            let v: Vec<f64> = f
                .rounds
                .iter()
                .filter_map(|t| {
                    let xs = &t.all;
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
        let per_round_q = |p: f64| -> Vec<f64> {
            f.rounds
                .iter()
                .filter_map(|t| stats::quantile(&t.all, p))
                .map(|q| q.max(1e-3).ln())
                .collect()
        };
        let q_paired = |p: f64| base.and_then(|b| quantile_ratio_spread(f, b, w, p)).map(|s| s.sd);
        let figures_of: [(&str, Vec<f64>, f64, Option<f64>); 3] = [
            ("p95", per_round_q(0.95), within_of(0.95), q_paired(0.95)),
            ("p99", per_round_q(0.99), within_of(0.99), q_paired(0.99)),
            (
                "rps",
                f.rounds
                    .iter()
                    .map(|t| t.rps(mode, concurrency).max(1e-3).ln())
                    .collect(),
                0.0,
                base.and_then(|b| jackknife_ratio(f, b, w, |g, w, skip| g.log_rps(w, skip, mode, concurrency)))
                    .map(|s| s.sd),
            ),
        ];
        for (name, logs, within, paired_sd) in figures_of {
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

    /// run.json and appends.csv write a timing as the same word: serde's
    /// name for it is its label, and reads back.
    #[test]
    fn a_timing_serialises_as_its_label() {
        for t in [Timing::Closed, Timing::Open, Timing::OpenService] {
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(json, format!("\"{}\"", t.label()));
            assert_eq!(serde_json::from_str::<Timing>(&json).unwrap(), t);
        }
    }

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
                                    slice: 0,
                                    worker: 0,
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
            looked_rounds: None,
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
        // Paired rounds: the drift cancels (what is left is the distribution's
        // own asymmetry around p95, which the two sides carry).
        let (lo, hi) = p95.ci.unwrap();
        let (own_lo, own_hi) = f.p95.unwrap().ci.unwrap();
        assert!(hi / lo < 1.0 + (own_hi / own_lo - 1.0) / 5.0, "{p95:?} vs {:?}", f.p95);
        assert!((f.rps_ratio.unwrap().value - 2.0).abs() < 0.01);
        // Unpaired, the drift shows: the engine's own p95 interval is wide.
        let (lo, hi) = f.p95.unwrap().ci.unwrap();
        assert!(hi / lo > 1.5, "{:?}", f.p95);
    }

    #[test]
    fn rounds_with_equal_counts_below_a_quantile_still_have_its_interval() {
        // Three rounds of the same 200 latencies in different orders: each
        // holds exactly as many below p95 as the others, so the jackknife of
        // G is exactly 0; the interval is then the independent requests' one.
        let lats: Vec<u64> = (0..200).map(|i| 100 + i).collect();
        let rev: Vec<u64> = lats.iter().rev().copied().collect();
        let rows = summarize(&[series("baseline", &[&lats, &rev, &lats])], &settings());
        let p95 = rows[0].p95.unwrap();
        let (lo, hi) = p95.ci.expect("an interval");
        // Binomial se of G at 600 requests is 0.0089, 1.8 µs of latency at
        // p95 (289 µs): ±0.6 % on the log scale, times t on 2 df (4.3).
        assert!(lo < p95.value * 0.985 && hi > p95.value * 1.015, "{p95:?}");
    }

    #[test]
    fn the_figures_a_run_stopped_on_are_the_figures_it_reports() {
        // The deciding phase: rounds 1-3 of the baseline and a candidate, 5 %
        // of pages with rows. Afterwards the baseline runs rounds 4-5 more on
        // the same mix (the informational phase) with 50 % pages with rows.
        let with_rows = |s: &mut Series, every: u64| {
            for t in &mut s.trials {
                for r in &mut t.requests {
                    r.rows = Some(if r.seq % every == 0 { 10 } else { 0 });
                    if r.rows == Some(10) {
                        r.latency_ns *= 50;
                    }
                }
            }
        };
        let lats: Vec<u64> = (0..400).map(|i| 100 + (i * 37) % 100).collect();
        let mut base = series("baseline", &[&lats, &lats, &lats, &lats, &lats]);
        let mut cand = series("fast", &[&lats, &lats, &lats]);
        with_rows(&mut base, 20);
        with_rows(&mut cand, 20);
        for t in base.trials.iter_mut().skip(3) {
            for r in &mut t.requests {
                r.rows = Some(if r.seq % 2 == 0 { 10 } else { 0 });
            }
        }
        let mut settings = settings();
        settings.looked_rounds = Some((1, 3));
        let after = summarize(&[base.clone(), cand.clone()], &settings);
        base.trials.truncate(3);
        let at_the_stop = summarize(
            &[base, cand],
            &Settings {
                looked_rounds: None,
                ..settings
            },
        );
        assert_eq!(after[1].p95_ratio, at_the_stop[1].p95_ratio);
        assert_eq!(after[1].p95, at_the_stop[1].p95);
        // The baseline's own figures too: its rounds after the looks are left out of them.
        for (a, b) in after.iter().zip(&at_the_stop) {
            assert_eq!(
                (a.p50, a.p95, a.p99, a.rps, a.mean_ms),
                (b.p50, b.p95, b.p99, b.rps, b.mean_ms)
            );
            assert_eq!((a.rounds, a.requests), (b.rounds, b.requests));
        }
    }

    #[test]
    fn rounds_that_met_a_slow_episode_widen_the_side_they_pull_the_ratio_to() {
        // 30 rounds; in 3 of them the baseline met a slow episode (every
        // request 3x slower) and the candidate did not. Those rounds pull
        // the p99 ratio down, so its lower side is widened for their skew
        // and its upper side stays the t interval's.
        let lats = |k: u64| -> Vec<u64> { (0..200).map(|i| (100 + (i * 7919) % 200) * k).collect() };
        let (calm, slow, cand) = (lats(1), lats(3), lats(1).iter().map(|l| l / 2).collect::<Vec<_>>());
        let base_rounds: Vec<&[u64]> = (0..30)
            .map(|r| if r % 10 == 4 { &slow[..] } else { &calm[..] })
            .collect();
        let cand_rounds: Vec<&[u64]> = (0..30).map(|_| &cand[..]).collect();
        let rows = summarize(
            &[series("baseline", &base_rounds), series("fast", &cand_rounds)],
            &settings(),
        );
        let spread = rows[1].p99_ratio.unwrap().spread.unwrap();
        assert!(spread.skew_below < -1.5, "{spread:?}");
        let ((lo, hi), (t_lo, t_hi)) = (spread.interval(2.0, 2.0), spread.symmetric().interval(2.0, 2.0));
        assert!(lo < t_lo * 0.99, "lower side {lo} vs {t_lo}");
        assert_eq!(hi, t_hi, "the upper side keeps the t interval");
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
