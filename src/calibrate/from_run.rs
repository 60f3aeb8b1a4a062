//! `calibrate --from RUN_DIR`: the gate's error rates on a recorded run's own
//! workload and machine.
//!
//! The scenario is the recorded run itself. A replicate is a new benchmark
//! whose rounds are drawn from the recorded ones (the deciding phase's rounds
//! of the deciding mix, each with every engine's requests as they ran in it):
//! a moving-block bootstrap, blocks of consecutive rounds at random places of
//! the record, so a slow episode that lasted several rounds comes back as it
//! occurred, within a round the engines meet the same moment of the machine
//! as they did, and each round keeps its requests' strata, slices, workers and
//! every within-round dependence. Requests are never resampled one by one as
//! if independent. The replicate runs the gate's own round loop (its budget,
//! looks, precision and stop rule, each round taking the time it took), and
//! its own analysis and verdict.
//!
//! The truth is the recorded run's: its figures on all its rounds. Each
//! candidate's latencies are moved to a truth (at the thresholds, 10 %
//! better, 10 % worse) by `L' = k · L^a` (one power and one scale, solved so
//! that its p95 and p99 ratios to the baseline are the truth's: its shape is
//! kept) and its workers' steps between requests stretched so that its
//! throughput ratio is the truth's.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::{replicate_all, Row, Truth};
use crate::analysis::{self, Settings, Variance};
use crate::bench::stopping::{Budget, Round, RoundSource};
use crate::bench::{Series, Trial};
use crate::error::HarnessError;
use crate::measured::Request;
use crate::spec::{GateSpec, LoadMode};
use crate::stats::sequential::Looks;

/// The recorded run as a scenario.
pub struct Recorded {
    pub run_id: String,
    pub mix: String,
    /// The reference first, then the candidates.
    pub engines: Vec<String>,
    /// Per recorded round (in order): each engine's trial on the mix.
    pub rounds: Vec<Vec<Trial>>,
    /// Each recorded round's seconds on the mix.
    pub seconds: Vec<f64>,
    pub gate: GateSpec,
    pub concurrency: u32,
    pub budget: Budget,
    pub precision: crate::spec::Precision,
    pub thresholds: super::SimThresholds,
}

/// Rounds in a block of the bootstrap: slow episodes up to this many rounds long come back whole.
pub const BLOCK_ROUNDS: usize = 3;

impl Recorded {
    /// The gate the recorded run was judged by, for the bounds its rows are held to.
    pub fn lines(&self) -> super::bounds::Lines {
        let candidates = self.engines.len().saturating_sub(1);
        let t = self
            .engines
            .get(1)
            .map_or_else(|| self.gate.thresholds.clone(), |c| self.gate.thresholds_for(c));
        super::bounds::Lines::recorded(&t, candidates)
    }

    /// Reads `dir`, refusing anything that is not a whole, closed-loop run
    /// with a deciding candidate and at least two rounds.
    pub fn load(dir: &std::path::Path) -> Result<Recorded, HarnessError> {
        let what = |m: String| HarnessError::input(format!("calibrate --from {}: {m}", dir.display()));
        if !dir.join("run.json").is_file() {
            return Err(what(
                "no run.json: expected a run directory written by bench or gate".into(),
            ));
        }
        if !dir.join("latencies.csv").is_file() {
            return Err(what(
                "no latencies.csv: the run has no benchmark (an equiv run, or a gate stopped before it)".into(),
            ));
        }
        let (info, series, settings, spec) = crate::report::reanalyze::load(dir)?;
        let bench = info
            .bench
            .as_ref()
            .ok_or_else(|| what("the run has no benchmark".into()))?;
        if !info.complete || bench.interrupted() {
            return Err(what(
                "the run did not finish (interrupted or stopped early: run.json says complete: false); expected a complete run".into(),
            ));
        }
        if settings.mode != LoadMode::Closed {
            return Err(what(
                "an open-loop run: expected a closed-loop run (the gate's throughput check needs one)".into(),
            ));
        }
        let gate = spec.gate.clone();
        let mix = gate
            .mixes
            .iter()
            .find(|m| {
                series
                    .iter()
                    .any(|s| &s.mix == *m && gate.candidates.contains(&s.engine))
            })
            .cloned()
            .ok_or_else(|| {
                what("no engine of [gate] candidates ran on a mix of [gate] mixes: nothing decides".into())
            })?;
        let reference = series
            .iter()
            .find(|s| s.role == audit_engines::Role::Reference && s.mix == mix)
            .ok_or_else(|| what(format!("no reference series on mix {mix}")))?;
        let cands: Vec<&Series> = series
            .iter()
            .filter(|s| s.mix == mix && gate.candidates.contains(&s.engine))
            .collect();
        let rounds_of = |s: &Series| s.trials.iter().map(|t| t.index).collect::<Vec<u32>>();
        let mut common = rounds_of(reference);
        for c in &cands {
            let theirs = rounds_of(c);
            common.retain(|r| theirs.contains(r));
        }
        if let Some((a, b)) = settings.looked_rounds {
            common.retain(|r| (a..=b).contains(r));
        }
        if common.len() < 2 {
            return Err(what(format!(
                "{} round(s) with the reference and every candidate on mix {mix}: expected at least 2",
                common.len()
            )));
        }
        let mut engines = vec![reference.engine.clone()];
        engines.extend(cands.iter().map(|c| c.engine.clone()));
        let all: Vec<&Series> = std::iter::once(reference).chain(cands.iter().copied()).collect();
        let rounds: Vec<Vec<Trial>> = common
            .iter()
            .map(|r| {
                all.iter()
                    .map(|s| s.trials.iter().find(|t| t.index == *r).cloned().unwrap_or_default())
                    .collect()
            })
            .collect();
        let seconds: Vec<f64> = common
            .iter()
            .map(|r| {
                bench
                    .round_records
                    .iter()
                    .filter(|rr| rr.round == *r && rr.mix == mix)
                    .map(|rr| rr.seconds)
                    .sum::<f64>()
            })
            .collect();
        let phase_budget = bench.looked_phase().map_or(bench.max_seconds, |p| p.budget_seconds);
        let t = gate.thresholds_for(&engines[1]);
        let thresholds = super::SimThresholds {
            latency: t.p99_ratio_max.or(t.p95_ratio_max).unwrap_or(0.8),
            rps: t.rps_ratio_min.unwrap_or(1.2),
        };
        Ok(Recorded {
            run_id: info.run_id.clone(),
            mix,
            engines,
            rounds,
            seconds,
            gate,
            concurrency: settings.concurrency,
            budget: Budget {
                min_rounds: bench.min_rounds,
                max_rounds: bench.max_rounds,
                max_seconds: phase_budget,
            },
            precision: bench.precision,
            thresholds,
        })
    }

    /// The recorded rounds as series (the reference first), optionally with
    /// each candidate moved by `moves[i]` (for candidate `i`).
    fn series(&self, rounds: &[usize], moves: &[Move]) -> Vec<Series> {
        self.engines
            .iter()
            .enumerate()
            .map(|(e, name)| Series {
                engine: name.clone(),
                role: if e == 0 {
                    audit_engines::Role::Reference
                } else {
                    audit_engines::Role::Candidate
                },
                mix: self.mix.clone(),
                trials: rounds
                    .iter()
                    .enumerate()
                    .map(|(k, &r)| {
                        let t = &self.rounds[r][e];
                        let moved = if e == 0 { t.clone() } else { moves[e - 1].apply(t) };
                        Trial {
                            index: k as u32 + 1,
                            ..moved
                        }
                    })
                    .collect(),
            })
            .collect()
    }

    fn settings(&self, looks: Looks, series: &[Series]) -> Settings {
        Settings::from_records(LoadMode::Closed, self.concurrency, looks, series)
    }

    /// The true p95, p99 and throughput ratios of each candidate (moved) on every recorded round.
    fn true_ratios(&self, moves: &[Move]) -> Vec<[f64; 3]> {
        let all: Vec<usize> = (0..self.rounds.len()).collect();
        let series = self.series(&all, moves);
        let rows = analysis::summarize(&series, &self.settings(Looks::fixed(all.len() as u32), &series));
        rows.iter()
            .skip(1)
            .map(|s| {
                let v = |e: Option<crate::stats::Estimate>| e.map_or(f64::NAN, |e| e.value);
                [v(s.p95_ratio), v(s.p99_ratio), v(s.rps_ratio)]
            })
            .collect()
    }

    /// The moves that put every candidate at `truth`'s ratios (their truths as measured on all rounds).
    pub fn place(&self, truth: Truth) -> Result<(Vec<Move>, Vec<[f64; 3]>), HarnessError> {
        let (latency, rps) = truth.ratios(&self.thresholds);
        let n = self.engines.len() - 1;
        let all: Vec<usize> = (0..self.rounds.len()).collect();
        let mut moves = vec![Move::IDENTITY; n];
        let quantiles = |moves: &[Move]| -> Vec<(f64, f64)> {
            let series = self.series(&all, moves);
            analysis::summarize(&series, &self.settings(Looks::fixed(all.len() as u32), &series))
                .iter()
                .map(|s| (s.p95.map_or(f64::NAN, |e| e.value), s.p99.map_or(f64::NAN, |e| e.value)))
                .collect()
        };
        // A few passes: the power makes the candidate's log spread from p95
        // to p99 the baseline's (so both ratios can be equal), the scale puts
        // p99 at the truth, the steps put throughput there; each figure is
        // monotone in its own lever, so the passes settle all three.
        for _ in 0..6 {
            let q = quantiles(&moves);
            let (b95, b99) = q[0];
            for i in 0..n {
                let (c95, c99) = q[i + 1];
                if !(c95 > 0.0 && c99 > 0.0 && b95 > 0.0 && b99 > 0.0) {
                    return Err(HarnessError::input(format!(
                        "calibrate --from: candidate {} has no p95 or p99 on the recorded rounds",
                        self.engines[i + 1]
                    )));
                }
                let (cs, bs) = ((c99 / c95).ln(), (b99 / b95).ln());
                if cs > 1e-9 && bs > 1e-9 {
                    moves[i].a = (moves[i].a * bs / cs).clamp(0.2, 5.0);
                }
            }
            let now = self.true_ratios(&moves);
            for i in 0..n {
                moves[i].k *= latency / now[i][1];
            }
            for i in 0..n {
                let mut ms = moves.clone();
                let mut f = |g: f64| {
                    ms[i].gap = g;
                    self.true_ratios(&ms)[i][2]
                };
                let (mut lo, mut hi) = (0.0f64, 1.0f64);
                while f(hi) > rps && hi < 1e9 {
                    lo = hi;
                    hi *= 4.0;
                }
                if f(lo) < rps {
                    return Err(HarnessError::input(format!(
                        "calibrate --from: candidate {} cannot reach a throughput ratio of {rps:.3} ({}): its latencies alone are too long",
                        self.engines[i + 1],
                        truth.name()
                    )));
                }
                for _ in 0..40 {
                    let mid = 0.5 * (lo + hi);
                    if f(mid) > rps {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                }
                moves[i].gap = 0.5 * (lo + hi);
            }
        }
        let truths = self.true_ratios(&moves);
        Ok((moves, truths))
    }

    /// The per-round variance components of the recorded rounds and, with
    /// `replicates` bootstrap runs of as many rounds, their mean.
    pub fn variance_check(&self, replicates: u32, seed: u64) -> (Vec<Variance>, Vec<Variance>) {
        let k = self.rounds.len();
        let all: Vec<usize> = (0..k).collect();
        let identity = vec![Move::IDENTITY; self.engines.len() - 1];
        let recorded = analysis::variance_components(&self.series(&all, &identity), LoadMode::Closed, self.concurrency);
        let mut sum: Vec<Variance> = recorded.clone();
        for v in &mut sum {
            v.total = 0.0;
            v.within = 0.0;
            v.between = 0.0;
        }
        let mut rng = StdRng::seed_from_u64(seed ^ 0x7661_7269);
        for _ in 0..replicates {
            let picks = blocks(&mut rng, k, k);
            let v = analysis::variance_components(&self.series(&picks, &identity), LoadMode::Closed, self.concurrency);
            for (acc, x) in sum.iter_mut().zip(&v) {
                acc.total += x.total / f64::from(replicates);
                acc.within += x.within / f64::from(replicates);
                acc.between += x.between / f64::from(replicates);
            }
        }
        (recorded, sum)
    }
}

/// `k` round indices from `0..n`: blocks of [`BLOCK_ROUNDS`] consecutive
/// rounds starting at random places (wrapping around the record's end).
fn blocks(rng: &mut StdRng, n: usize, k: usize) -> Vec<usize> {
    let mut out = Vec::with_capacity(k);
    while out.len() < k {
        let start = rng.random_range(0..n);
        for j in 0..BLOCK_ROUNDS.min(n) {
            if out.len() < k {
                out.push((start + j) % n);
            }
        }
    }
    out
}

/// How a candidate's recorded requests are moved to a truth: latencies
/// `L' = k · L^a` (in seconds), the worker's steps between requests times `gap`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Move {
    pub k: f64,
    pub a: f64,
    pub gap: f64,
}

impl Move {
    pub const IDENTITY: Move = Move {
        k: 1.0,
        a: 1.0,
        gap: 1.0,
    };

    /// The trial with its latencies moved and each worker's timeline rebuilt:
    /// in each slice a worker starts where it started, and each next request
    /// follows the previous answer after the recorded step times `gap`.
    pub fn apply(&self, t: &Trial) -> Trial {
        if *self == Move::IDENTITY {
            return t.clone();
        }
        let mut reqs: Vec<Request> = t.requests.clone();
        let moved = |ns: u64| -> u64 {
            let s = ns as f64 / 1e9;
            ((self.k * s.powf(self.a)) * 1e9).round().max(1.0) as u64
        };
        // By slice and worker, in start order.
        let mut order: Vec<usize> = (0..reqs.len()).collect();
        order.sort_by_key(|&i| (reqs[i].slice, reqs[i].worker, reqs[i].start_ns));
        let mut prev: Option<(u32, u32, u64, u64)> = None; // slice, worker, old end, new end
        for i in order {
            let r = &t.requests[i];
            let new_start = match prev {
                Some((s, w, old_end, new_end)) if s == r.slice && w == r.worker => {
                    let step = r.start_ns.saturating_sub(old_end) as f64;
                    new_end + (step * self.gap).round() as u64
                }
                _ => r.start_ns,
            };
            let lat = moved(r.latency_ns);
            reqs[i].start_ns = new_start;
            reqs[i].latency_ns = lat;
            prev = Some((r.slice, r.worker, r.end_ns(), new_start + lat));
        }
        Trial {
            requests: reqs,
            ..t.clone()
        }
    }
}

/// A source of rounds drawn from the record, block by block.
struct Replay<'a> {
    rec: &'a Recorded,
    moves: &'a [Move],
    rng: StdRng,
    queue: Vec<usize>,
}

impl RoundSource for Replay<'_> {
    fn run_round(&mut self, r: u32) -> Result<Option<Round>, HarnessError> {
        if self.queue.is_empty() {
            self.queue = blocks(&mut self.rng, self.rec.rounds.len(), BLOCK_ROUNDS);
            self.queue.reverse();
        }
        let pick = self.queue.pop().unwrap_or(0);
        let series = self.rec.series(&[pick], self.moves);
        Ok(Some(Round {
            trials: series
                .into_iter()
                .enumerate()
                .filter_map(|(i, mut s)| {
                    let mut t = s.trials.pop()?;
                    t.index = r + 1;
                    Some((i, t))
                })
                .collect(),
            seconds: self.rec.seconds[pick],
        }))
    }
}

/// How many replays of a recorded run, at which truths, from which seed.
#[derive(Debug, Clone)]
pub struct Replays {
    pub truths: Vec<Truth>,
    pub replicates: u32,
    pub seed: u64,
}

/// Runs `cfg.replicates` replicates of the recorded run at each truth of
/// `cfg.truths`. Everything else (the gate, its thresholds, the budget, the
/// precision) is the recorded run's own.
pub fn run(rec: &Recorded, cfg: &Replays, mut progress: impl FnMut(&Row)) -> Result<Vec<Row>, HarnessError> {
    let mut out = Vec::new();
    for &truth in &cfg.truths {
        let (moves, truths) = rec.place(truth)?;
        // Every candidate of the record is placed at the same truth; the
        // first's ratios name the row (the others agree to the solver's tolerance).
        let true_ratios = truths[0];
        let reps = replicate_all(cfg.replicates, |rep| {
            let mut src = Replay {
                rec,
                moves: &moves,
                rng: StdRng::seed_from_u64(super::replicate_seed(cfg.seed, "from-run", truth, rep)),
                queue: Vec::new(),
            };
            let mut series = rec.series(&[], &moves);
            let judge = super::Judge {
                gate: &rec.gate,
                concurrency: rec.concurrency,
                budget: rec.budget,
                precision: &rec.precision,
            };
            judge.replicate(&mut src, &mut series, &truths)
        })?;
        let row = super::tally(
            &format!("from {}", rec.run_id),
            None,
            truth,
            true_ratios,
            rec.engines.len() - 1,
            &reps,
        );
        progress(&row);
        out.push(row);
    }
    Ok(out)
}
