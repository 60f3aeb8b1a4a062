//! The benchmark: every engine on the same seeded request streams,
//! in rounds: each round runs every engine once, in a seeded random order, on
//! the same requests (equal work, so quantiles are compared at equal n), and
//! every request's latency is recorded on its own. How many rounds run is
//! `rounds`' business; this module only measures, and `analysis` turns the
//! records into figures.

pub mod cache;
pub mod closed;
pub mod driver;
pub mod fit;
pub mod open;
pub mod overhead;
pub mod plan;
pub mod quota;
pub mod stopping;

use std::time::Instant;

use audit_engines::{Query, Role, SharedEngine};

pub use plan::{Phase, PhaseKind, Plan};
pub use stopping::{Budget, Outcome, Stop};

use crate::cancel::Cancel;
use crate::error::HarnessError;
use crate::measured::Request;
use crate::spec::{CacheMode, DriverKind, LoadMode, RateSpec};
use crate::stats::sequential::Looks;

/// A warm-up's outcome: errors, the first error's text, and whether the engine hung.
type Warmup = (u64, Option<String>, bool);

/// One engine's trial on one mix.
#[derive(Debug, Clone, Default)]
pub struct Trial {
    pub index: u32,
    /// Measured requests in stream order.
    pub requests: Vec<Request>,
    /// The first error the engine returned in this trial (warm-up included).
    pub first_error: Option<String>,
    /// Errors in the warm-up (not measured, but a failed check all the same).
    pub warmup_errors: u64,
    /// The engine hung or died in this trial (see `CallError::GaveUp`); the
    /// rest of its requests were not sent, and later rounds skip it.
    pub gave_up: bool,
}

/// Every trial of one engine on one mix.
#[derive(Debug, Clone)]
pub struct Series {
    pub engine: String,
    /// What the engine is for (reference, candidate, yardstick), from its registration.
    pub role: Role,
    pub mix: String,
    pub trials: Vec<Trial>,
}

/// One engine's slice of a round, as it ran.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SliceInfo {
    /// 0-based, as `Request::slice`.
    pub slice: u32,
    pub engine: String,
    /// Measured requests the slice sent.
    pub requests: u32,
    /// When it started, in seconds from the benchmark's start (the machine's
    /// timeline: `calibrate --from` replays its slow episodes from it).
    pub start_s: f64,
    /// From its start to its last answer.
    pub seconds: f64,
}

/// One mix of one round: its slices in the order they ran, and how long it took.
#[derive(Debug, Clone, PartialEq)]
pub struct RoundInfo {
    /// 1-based, as `Trial::index`.
    pub round: u32,
    pub phase: PhaseKind,
    pub mix: String,
    pub slices: Vec<SliceInfo>,
    pub seconds: f64,
}

/// How one phase of the benchmark ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PhaseOutcome {
    pub kind: PhaseKind,
    /// Its rounds are `first_round..first_round + outcome.rounds` (1-based).
    pub first_round: u32,
    /// The seconds it was allowed.
    pub budget_seconds: f64,
    pub outcome: Outcome,
}

/// What a whole benchmark produced.
#[derive(Debug, Clone)]
pub struct BenchRun {
    /// One series per mix and engine (mix-major, engines in plan order), whole rounds only.
    pub series: Vec<Series>,
    /// Index size per engine, in bench order.
    pub index_bytes: Vec<(String, u64)>,
    /// Peak resident memory of each engine served outside the harness's
    /// process (process engines, launched servers), read at the run's end.
    pub peak_rss: Vec<(String, u64)>,
    /// Open loop: the arrival rate used per mix (requests per second).
    pub rates: Vec<(String, f64)>,
    /// Open loop: the harness's own pacing lateness per mix, with a do-nothing engine.
    pub pacing: Vec<(String, overhead::Pacing)>,
    pub rounds: Vec<RoundInfo>,
    /// Each phase that ran, in order.
    pub phases: Vec<PhaseOutcome>,
    /// Seconds the warm-ups took (before the first round).
    pub warmup_seconds: f64,
    /// Who sent the requests, when not the harness's own threads.
    pub driver: Option<crate::locust::DriverRecord>,
    /// Why the driver lost a round's records, when it did ([`Stop::DriverLost`]).
    pub driver_lost: Option<String>,
}

impl BenchRun {
    /// Whole rounds done, every phase together.
    pub fn rounds_done(&self) -> u32 {
        self.phases.iter().map(|p| p.outcome.rounds).sum()
    }

    /// The phase whose looks the intervals are adjusted for: the deciding one,
    /// else the only one.
    pub fn looked(&self) -> Option<&PhaseOutcome> {
        self.phases
            .iter()
            .find(|p| p.kind == PhaseKind::Deciding)
            .or(self.phases.first())
    }

    /// Whether the run was interrupted before every phase ended.
    pub fn interrupted(&self) -> bool {
        self.phases.iter().any(|p| p.outcome.stop == Stop::Interrupted)
    }
}

/// Where a benchmark stands after each finished round and when a phase
/// ends, for whoever saves it
/// (`stages` appends the round to latencies.csv and records the run in
/// run.json), so that a run killed at any moment, by SIGKILL or a second
/// Ctrl-C, keeps its finished rounds for `report`.
pub struct Checkpoint<'a> {
    /// Every series so far, whole rounds only.
    pub series: &'a [Series],
    /// The series the round just finished added a trial to (indexes into
    /// `series`; the new trial is each one's last); none when a phase ended.
    pub fresh: &'a [usize],
    /// The run as if it had been interrupted after this round: its phases,
    /// the one under way stopping here (or, once a phase has ended, as it
    /// ended), every round's record and the driver's. Its `series` is empty
    /// (they are in `series`), and so are the index sizes and peak memory,
    /// which are read only at the end.
    pub run: BenchRun,
}

/// Saves a checkpoint of the phase under way: every series, the fresh ones,
/// the phase's outcome so far and every round's record (see [`Checkpoint`]).
type Record<'a> = dyn FnMut(&[Series], &[usize], Outcome, &[RoundInfo]) -> Result<(), HarnessError> + 'a;

/// Progress events, for a progress bar or plain lines.
pub enum Progress<'a> {
    /// A phase starts: its kind and the seconds it may take.
    Phase { kind: PhaseKind, budget_seconds: f64 },
    /// Round `round` (1-based) of `engine` on `mix` finished (all its slices).
    Trial {
        mix: &'a str,
        engine: &'a str,
        trial: &'a Trial,
    },
    /// A round finished: rounds done in its phase, rounds planned, seconds so far.
    Round { done: u32, planned: u32, seconds: f64 },
    /// A line about the run's set-up (installing Locust, waiting for workers).
    Note(&'a str),
    /// Open loop: the rate chosen for a mix, and the harness's own pacing at it.
    Rate {
        mix: &'a str,
        rps: f64,
        pacing: &'a overhead::Pacing,
    },
}

/// The share of the budget kept for the informational phase when there is
/// one: the deciding phase may use the rest, and leaves what it does not need.
pub const INFORMATIONAL_SHARE: f64 = 0.25;

/// Runs `phases` in order (see [`Plan::phases`]): the deciding phase round by
/// round until `settled(series, looks)` says every deciding check is decided
/// and precise or its budget is spent, then the informational phase with
/// what is left of the budget. `checkpoint` hears of every finished round
/// (an error from it ends the run). Once `cancel` is cancelled no request
/// starts, and the finished rounds are returned (`Stop::Interrupted`).
pub fn run(
    plan: &Plan,
    engines: &[(String, SharedEngine)],
    phases: &[Phase],
    mut progress: impl FnMut(Progress),
    mut settled: impl FnMut(&[Series], Looks) -> bool,
    mut checkpoint: impl FnMut(&Checkpoint) -> Result<(), HarnessError>,
    cancel: &Cancel,
) -> Result<BenchRun, HarnessError> {
    let targets: Vec<Option<audit_engines::engine::HttpTarget>> =
        engines.iter().map(|(_, e)| e.http_target()).collect();
    if plan.driver.kind == DriverKind::Locust {
        if let Some((name, _)) = engines.iter().zip(&targets).find(|(_, t)| t.is_none()).map(|(e, _)| e) {
            return Err(HarnessError::input(format!(
                "--driver locust sends HTTP requests, and engine {name} is not served over HTTP: register it with a url (a deployed service, or a launched `audit-harness serve --engine {name}`; docs/locust.md)"
            )));
        }
    }
    let mut rates = Vec::new();
    let mut pacing = Vec::new();
    let mut mix_rates = Vec::new();
    let warmups: Vec<Vec<Query>> = plan.mixes.iter().map(|(_, m)| plan.warmup_stream(m)).collect();
    for ((mix_name, mix), warmup) in plan.mixes.iter().zip(&warmups) {
        let rate = match plan.bench.mode {
            LoadMode::Closed => None,
            LoadMode::Open => {
                let rps = match plan.bench.rate {
                    Some(RateSpec::PerSecond(r)) => r,
                    Some(RateSpec::OfBaseline(f)) => {
                        let (_, base) = engines.first().ok_or_else(|| {
                            HarnessError::input("a rate relative to the baseline needs the baseline among the engines")
                        })?;
                        let _ = closed::warm_up(base.as_ref(), warmup);
                        let t = closed::run(base, &plan.round_stream(mix, 0), plan.bench.concurrency, cancel);
                        f * served_per_second(&t.requests)
                    }
                    None => return Err(HarnessError::input("open loop needs a rate: --rate R or [bench] rate")),
                };
                // The harness's own pacing at this rate: about a second, at
                // least 100 requests (so longer below 100 rps).
                let n = (plan.bench.requests as usize).min((rps as usize).max(100));
                let p = overhead::pacing(
                    warmup,
                    &plan.arrival_schedule(rps, n, 0, 0),
                    plan.bench.concurrency,
                    rps,
                    cancel,
                );
                progress(Progress::Rate {
                    mix: mix_name,
                    rps,
                    pacing: &p,
                });
                rates.push((mix_name.clone(), rps));
                pacing.push((mix_name.clone(), p));
                Some(rps)
            }
        };
        mix_rates.push(rate);
    }
    let mut series: Vec<Series> = Vec::new();
    for (mix_name, _) in &plan.mixes {
        for (i, (name, _)) in engines.iter().enumerate() {
            series.push(Series {
                engine: name.clone(),
                role: plan
                    .roles
                    .get(i)
                    .copied()
                    .unwrap_or_else(|| crate::registry::role(name)),
                mix: mix_name.clone(),
                trials: Vec::new(),
            });
        }
    }
    // Warm-ups: every engine on every mix it runs, before the first round.
    let t0 = Instant::now();
    let mut warmed = vec![vec![None; engines.len()]; plan.mixes.len()];
    let mut paces = vec![vec![quota::Pace::default(); engines.len()]; plan.mixes.len()];
    for phase in phases {
        for (mi, es) in &phase.pairs {
            for &e in es {
                if warmed[*mi][e].is_none() && !cancel.is_cancelled() {
                    let w0 = Instant::now();
                    warmed[*mi][e] = Some(closed::warm_up(engines[e].1.as_ref(), &warmups[*mi]));
                    paces[*mi][e] = quota::Pace::from_warmup(warmups[*mi].len(), w0.elapsed().as_secs_f64());
                }
            }
        }
    }
    let warmup_seconds = t0.elapsed().as_secs_f64();
    let mut cluster = match plan.driver.kind {
        DriverKind::Locust if !cancel.is_cancelled() => Some(start_locust(plan, &targets, &mut progress, cancel)?),
        _ => None,
    };
    let pool = driver::Pool::new(if cluster.is_some() { 0 } else { plan.bench.concurrency }, cancel);
    let driver_record = cluster.as_ref().map(|c| c.record());
    // The run as it stands, for a checkpoint: `phases` so far and every round's record.
    let snapshot = |phases: Vec<PhaseOutcome>, rounds: &[RoundInfo]| BenchRun {
        series: Vec::new(),
        index_bytes: Vec::new(),
        peak_rss: Vec::new(),
        rates: rates.clone(),
        pacing: pacing.clone(),
        rounds: rounds.to_vec(),
        phases,
        warmup_seconds,
        driver: driver_record.clone(),
        driver_lost: None,
    };
    let mut driver_lost: Option<String> = None;
    let mut infos = Vec::new();
    let mut outcomes: Vec<PhaseOutcome> = Vec::new();
    let mut gave_up: Vec<String> = Vec::new();
    let mut spent = warmup_seconds;
    for (pi, phase) in phases.iter().enumerate() {
        if cancel.is_cancelled() {
            break;
        }
        let last = pi + 1 == phases.len();
        let left = plan.bench.max_seconds - spent;
        let budget_seconds = if last { left } else { left * (1.0 - INFORMATIONAL_SHARE) };
        let first_round = outcomes.iter().map(|o| o.outcome.rounds).sum::<u32>() + 1;
        let budget = Budget {
            // Only the deciding phase looks at its data; another needs two rounds for an interval.
            min_rounds: if phase.kind == PhaseKind::Deciding {
                plan.bench.min_rounds
            } else {
                plan.bench.min_rounds.min(2)
            },
            max_rounds: plan.bench.max_rounds,
            max_seconds: budget_seconds,
        };
        if phase.kind == PhaseKind::Informational
            && outcomes.iter().any(|o| o.kind == PhaseKind::Deciding)
            && budget_seconds < f64::from(budget.min_rounds) * plan.longest_round_seconds(phase).min(budget_seconds)
        {
            break;
        }
        progress(Progress::Phase {
            kind: phase.kind,
            budget_seconds,
        });
        let outcome = {
            let mut record = |series: &[Series], fresh: &[usize], so_far: Outcome, rounds: &[RoundInfo]| {
                let mut phases = outcomes.clone();
                phases.push(PhaseOutcome {
                    kind: phase.kind,
                    first_round,
                    budget_seconds,
                    outcome: so_far,
                });
                checkpoint(&Checkpoint {
                    series,
                    fresh,
                    run: snapshot(phases, rounds),
                })
            };
            let mut machine = Machine {
                plan,
                pool: &pool,
                cancel,
                engines,
                phase,
                first_round,
                run_start: t0,
                warmups: &warmed,
                paces: &mut paces,
                rates: &mix_rates,
                infos: &mut infos,
                progress: &mut progress,
                record: &mut record,
                gave_up: &mut gave_up,
                reference_lost: false,
                cluster: cluster.as_mut(),
                targets: &targets,
                driver_lost: &mut driver_lost,
            };
            if phase.kind == PhaseKind::Deciding {
                stopping::run(&mut machine, budget, &mut series, &mut settled)?
            } else {
                stopping::run(&mut machine, budget, &mut series, |_, _| false)?
            }
        };
        spent += outcome.seconds;
        outcomes.push(PhaseOutcome {
            kind: phase.kind,
            first_round,
            budget_seconds,
            outcome,
        });
        // The phase's own stop replaces the `interrupted` of its last round's
        // checkpoint, so that a run killed from here on is analysed with the
        // looks it really made.
        if outcomes.iter().any(|o| o.outcome.rounds > 0) {
            checkpoint(&Checkpoint {
                series: &series,
                fresh: &[],
                run: snapshot(outcomes.clone(), &infos),
            })?;
        }
        if matches!(outcome.stop, Stop::Interrupted | Stop::NoReference | Stop::DriverLost) {
            break;
        }
    }
    let driver = cluster.as_mut().map(|c| {
        c.stop();
        c.record()
    });
    let index_bytes = engines.iter().map(|(n, e)| (n.clone(), e.index_bytes())).collect();
    let peak_rss = engines
        .iter()
        .filter_map(|(n, e)| Some((n.clone(), e.peak_rss_bytes()?)))
        .collect();
    Ok(BenchRun {
        series,
        index_bytes,
        peak_rss,
        rates,
        pacing,
        rounds: infos,
        phases: outcomes,
        warmup_seconds,
        driver,
        driver_lost,
    })
}

/// Starts the Locust cluster of `plan.driver` (installing Locust on first use).
fn start_locust(
    plan: &Plan,
    targets: &[Option<audit_engines::engine::HttpTarget>],
    progress: &mut impl FnMut(Progress),
    cancel: &Cancel,
) -> Result<crate::locust::Cluster, HarnessError> {
    let d = &plan.driver;
    let dir = crate::locust::venv::location(&plan.spec_dir, d.venv.as_deref());
    let python = crate::locust::venv::ensure(&dir, &mut |line| progress(Progress::Note(line)))?;
    let request_timeout = targets
        .iter()
        .flatten()
        .map(|t| t.timeout)
        .max()
        .unwrap_or(std::time::Duration::from_secs(10));
    let settings = crate::locust::Settings {
        python,
        master: d.master.clone(),
        workers: d.workers,
        start_workers: d.start_workers,
        connect_timeout: std::time::Duration::from_secs_f64(d.connect_timeout_s),
        round_timeout: std::time::Duration::from_secs_f64(d.round_timeout_s),
        request_timeout,
        concurrency: plan.bench.concurrency,
        cpu: None,
    };
    if !d.start_workers {
        progress(Progress::Note(&format!(
            "waiting for {} Locust workers at {} (start them with: locust -f locust/audit_locustfile.py --worker --master-host HOST --master-port PORT)",
            d.workers, d.master
        )));
    }
    crate::locust::Cluster::start(settings, &std::env::temp_dir(), cancel)
}

/// Answered requests per second of a trial: errors are not served requests.
pub fn served_per_second(requests: &[Request]) -> f64 {
    let end = requests.iter().map(Request::end_ns).max().unwrap_or(0);
    let served = requests.iter().filter(|r| r.rows.is_some()).count();
    if end == 0 {
        0.0
    } else {
        served as f64 / (end as f64 / 1e9)
    }
}

/// One mix of one round, as the Locust driver plans its slices.
struct Slices<'a> {
    mi: usize,
    /// 0-based, run-wide.
    r: u32,
    /// The engines of the mix that run this round (indexes into the engines).
    es: &'a [usize],
    /// Closed loop: each engine's count per slice; open loop: the most.
    counts: &'a [usize],
    stream: &'a [Query],
    /// Open loop: no request scheduled at or after this starts.
    until: Option<std::time::Duration>,
}

/// One slice of one engine as the Locust driver plans it, before the round runs.
struct Planned {
    slice: u32,
    /// The engine's position in the mix's `es`.
    k: usize,
    /// Its first request's position in the round's stream, and how many it sends.
    from: usize,
    n: usize,
    /// Open loop: each request's intended start.
    schedule: Option<Vec<u64>>,
}

/// The real machine as a source of rounds: each round runs, per mix of its
/// phase, `slices` slices; in each slice every engine of the mix runs once,
/// in a seeded order, for at most `slice_ms` and its share of the round's
/// stream (each engine goes on where its previous slice stopped).
struct Machine<'a, P: FnMut(Progress)> {
    plan: &'a Plan,
    pool: &'a driver::Pool,
    /// Once cancelled, no slice starts.
    cancel: &'a Cancel,
    engines: &'a [(String, SharedEngine)],
    phase: &'a Phase,
    /// The phase's first round, 1-based.
    first_round: u32,
    run_start: Instant,
    /// Per mix and engine: the warm-up's outcome, when it ran.
    warmups: &'a [Vec<Option<Warmup>>],
    /// Closed loop, per mix and engine: the time per request so far, which
    /// sizes each round's slices ([`quota`]).
    paces: &'a mut [Vec<quota::Pace>],
    /// Open loop: the arrival rate per mix.
    rates: &'a [Option<f64>],
    infos: &'a mut Vec<RoundInfo>,
    progress: &'a mut P,
    /// Saves each finished round's checkpoint.
    record: &'a mut Record<'a>,
    /// Engines that hung or died: later slices skip them.
    gave_up: &'a mut Vec<String>,
    /// The reference answered no request of the last round on some mix.
    reference_lost: bool,
    /// The Locust cluster that sends the requests, when `[driver]` says so.
    cluster: Option<&'a mut crate::locust::Cluster>,
    /// Why the driver lost a round, once it has (the run stops there).
    driver_lost: &'a mut Option<String>,
    /// Each engine's HTTP endpoint (the Locust driver's requests go there).
    targets: &'a [Option<audit_engines::engine::HttpTarget>],
}

impl<P: FnMut(Progress)> stopping::RoundSource for Machine<'_, P> {
    fn run_round(&mut self, done: u32) -> Result<Option<stopping::Round>, HarnessError> {
        let plan = self.plan;
        let r = self.first_round - 1 + done; // 0-based, run-wide
        let t0 = Instant::now();
        let mut trials = Vec::new();
        let mut infos = Vec::new();
        for (mi, es) in &self.phase.pairs {
            let mi = *mi;
            let (mix_name, mix) = &plan.mixes[mi];
            let stream = plan.round_stream(mix, r);
            let all: Vec<Query> = self
                .warmups_stream(mi)
                .iter()
                .cloned()
                .chain(stream.iter().cloned())
                .collect();
            for &e in es {
                let (name, engine) = &self.engines[e];
                engine
                    .prepare(&all)
                    .map_err(|err| HarnessError::failed(format!("engine {name}: prepare failed: {err}")))?;
            }
            // Engines that hung or died earlier sit the round out; a warm-up
            // that hung ends the engine's run in its first round.
            let es: Vec<usize> = es
                .iter()
                .copied()
                .filter(|&e| !self.gave_up.contains(&self.engines[e].0))
                .collect();
            let mut round_trials: Vec<Trial> = es
                .iter()
                .map(|&e| {
                    let mut t = Trial {
                        index: r + 1,
                        ..Trial::default()
                    };
                    // A warm-up's errors count once, with the engine's first round on the mix.
                    if !self.warmup_reported(mi, e) {
                        if let Some((errors, first, hung)) = self.warmups[mi][e].clone() {
                            t.warmup_errors = errors;
                            t.first_error = first;
                            t.gave_up = hung;
                        }
                    }
                    t
                })
                .collect();
            for (k, &e) in es.iter().enumerate() {
                if round_trials[k].gave_up {
                    self.gave_up.push(self.engines[e].0.clone());
                }
            }
            let cap = plan.slice_cap();
            // Closed loop: each engine's count per slice, fixed for the round
            // before it starts. Open loop: the schedule's share up to the slice's end.
            let counts: Vec<usize> = es
                .iter()
                .map(|&e| match plan.bench.mode {
                    LoadMode::Closed => quota::per_slice(
                        self.paces[mi][e].cycle_s(),
                        plan.bench.slice_ms / 1000.0,
                        plan.bench.concurrency,
                        cap,
                    ),
                    LoadMode::Open => cap,
                })
                .collect();
            let until = (plan.bench.mode == LoadMode::Open).then(|| plan.slice_time());
            let m0 = Instant::now();
            let mut slices = Vec::new();
            if self.cluster.is_some() {
                let round = Slices {
                    mi,
                    r,
                    es: &es,
                    counts: &counts,
                    stream: &stream,
                    until,
                };
                if !self.locust_slices(&round, &mut round_trials, &mut slices)? {
                    return Ok(None);
                }
            } else {
                let mut cursor = vec![0usize; es.len()];
                for slice in 0..plan.bench.slices {
                    let order = plan.slice_order(mi, r, slice, es.len());
                    for &k in &order {
                        let e = es[k];
                        let (name, engine) = &self.engines[e];
                        if self.cancel.is_cancelled() {
                            return Ok(None);
                        }
                        if self.gave_up.contains(name) {
                            continue;
                        }
                        let from = cursor[k];
                        let to = (from + counts[k]).min(stream.len());
                        if from >= to {
                            continue;
                        }
                        if plan.bench.cache == CacheMode::Cold {
                            cache::evict(&plan.payloads)?;
                        }
                        let part = &stream[from..to];
                        let start_s = self.run_start.elapsed().as_secs_f64();
                        let schedule = self.rates[mi].map(|rps| plan.arrival_schedule(rps, part.len(), r, slice));
                        let t = self.pool.drive(engine, part, schedule.as_deref(), until);
                        if self.cancel.is_cancelled() {
                            return Ok(None);
                        }
                        let sent = t.requests.iter().map(|q| q.seq as usize + 1).max().unwrap_or(0);
                        cursor[k] = from + sent;
                        slices.push(self.absorb(mi, e, slice, from, start_s, t, &mut round_trials[k]));
                    }
                }
            }
            infos.push(RoundInfo {
                round: r + 1,
                phase: self.phase.kind,
                mix: mix_name.clone(),
                slices,
                seconds: m0.elapsed().as_secs_f64(),
            });
            // A reference without one answer in the round (errors only, or
            // it hung or died) leaves every ratio without its yardstick.
            let reference = |e: usize| {
                plan.roles
                    .get(e)
                    .copied()
                    .unwrap_or_else(|| crate::registry::role(&self.engines[e].0))
                    == Role::Reference
            };
            let reference_answered = es
                .iter()
                .zip(&round_trials)
                .filter(|(&e, _)| reference(e))
                .all(|(_, t)| !t.gave_up && t.requests.iter().any(|r| r.rows.is_some()));
            let reference_ran = self
                .engines
                .iter()
                .enumerate()
                .any(|(e, _)| reference(e) && self.phase.pairs.iter().any(|(m, es)| *m == mi && es.contains(&e)));
            if reference_ran && (!reference_answered || !es.iter().any(|&e| reference(e))) {
                self.reference_lost = true;
            }
            for (k, trial) in round_trials.into_iter().enumerate() {
                let e = es[k];
                (self.progress)(Progress::Trial {
                    mix: mix_name,
                    engine: &self.engines[e].0,
                    trial: &trial,
                });
                trials.push((mi * self.engines.len() + e, trial));
            }
        }
        self.infos.extend(infos);
        Ok(Some(stopping::Round {
            trials,
            seconds: t0.elapsed().as_secs_f64(),
        }))
    }

    fn round_finished(&mut self, done: u32, planned: u32, seconds: f64) {
        (self.progress)(Progress::Round { done, planned, seconds });
    }

    fn checkpoint(&mut self, series: &[Series], fresh: &[usize], so_far: Outcome) -> Result<(), HarnessError> {
        (self.record)(series, fresh, so_far, self.infos)
    }

    fn on_the_clock(&self) -> bool {
        true
    }

    fn reference_lost(&self) -> bool {
        self.reference_lost
    }

    fn driver_lost(&self) -> bool {
        self.driver_lost.is_some()
    }
}

impl<P: FnMut(Progress)> Machine<'_, P> {
    /// Adds one slice's requests to its trial (their `seq` made round-wide
    /// from the slice's first position `from`) and returns what the slice was.
    #[allow(clippy::too_many_arguments)]
    fn absorb(
        &mut self,
        mi: usize,
        e: usize,
        slice: u32,
        from: usize,
        start_s: f64,
        t: Trial,
        trial: &mut Trial,
    ) -> SliceInfo {
        let name = &self.engines[e].0;
        self.paces[mi][e].add(&t.requests);
        let info = SliceInfo {
            slice,
            engine: name.clone(),
            requests: t.requests.len() as u32,
            start_s,
            seconds: t.requests.iter().map(Request::end_ns).max().unwrap_or(0) as f64 / 1e9,
        };
        trial.requests.extend(t.requests.into_iter().map(|mut q| {
            q.seq += from as u64;
            q.slice = slice;
            q
        }));
        if trial.first_error.is_none() {
            trial.first_error = t.first_error;
        }
        if t.gave_up {
            trial.gave_up = true;
            self.gave_up.push(name.clone());
        }
        info
    }

    /// The Locust driver's round of one mix: every slice planned first (a
    /// closed-loop slice's count is fixed before the round, an open-loop
    /// slice holds the requests scheduled before its end), the whole round
    /// handed to the cluster, its records absorbed slice by slice as the
    /// built-in loop does. `false` when the run was interrupted.
    fn locust_slices(
        &mut self,
        round: &Slices,
        trials: &mut [Trial],
        slices: &mut Vec<SliceInfo>,
    ) -> Result<bool, HarnessError> {
        let plan = self.plan;
        let mut cursor = vec![0usize; round.es.len()];
        let mut planned: Vec<Planned> = Vec::new();
        for slice in 0..plan.bench.slices {
            for k in plan.slice_order(round.mi, round.r, slice, round.es.len()) {
                if self.gave_up.contains(&self.engines[round.es[k]].0) {
                    continue;
                }
                let from = cursor[k];
                let to = (from + round.counts[k]).min(round.stream.len());
                if from >= to {
                    continue;
                }
                let mut schedule =
                    self.rates[round.mi].map(|rps| plan.arrival_schedule(rps, to - from, round.r, slice));
                let mut n = to - from;
                if let (Some(s), Some(until)) = (schedule.as_mut(), round.until) {
                    n = s.iter().take_while(|&&t| u128::from(t) < until.as_nanos()).count();
                    s.truncate(n);
                }
                if n == 0 {
                    continue;
                }
                cursor[k] = from + n;
                planned.push(Planned {
                    slice,
                    k,
                    from,
                    n,
                    schedule,
                });
            }
        }
        let targets = &self.targets;
        let jobs: Vec<crate::locust::Job> = planned
            .iter()
            .map(
                |Planned {
                     k, from, n, schedule, ..
                 }| {
                    let e = round.es[*k];
                    let target = targets[e].as_ref();
                    crate::locust::Job {
                        engine: &self.engines[e].0,
                        url: target.map_or("", |t| t.url.as_str()),
                        events_key: target.and_then(|t| t.events_key.as_deref()),
                        queries: &round.stream[*from..*from + *n],
                        schedule: schedule.as_deref(),
                    }
                },
            )
            .collect();
        let start_s = self.run_start.elapsed().as_secs_f64();
        let Some(cluster) = self.cluster.as_deref_mut() else {
            return Ok(true);
        };
        let results = match cluster.run_round(round.r + 1, &jobs)? {
            crate::locust::RoundEnd::Done(results) => results,
            crate::locust::RoundEnd::Interrupted => return Ok(false),
            crate::locust::RoundEnd::Lost(why) => {
                *self.driver_lost = Some(why);
                return Ok(false);
            }
        };
        drop(jobs);
        for (Planned { slice, k, from, .. }, result) in planned.into_iter().zip(results) {
            let t = Trial {
                requests: result.requests,
                first_error: result.first_error,
                gave_up: result.gave_up,
                ..Trial::default()
            };
            let info = self.absorb(
                round.mi,
                round.es[k],
                slice,
                from,
                start_s + result.offset_s,
                t,
                &mut trials[k],
            );
            slices.push(info);
        }
        Ok(!self.cancel.is_cancelled())
    }

    /// The warm-up stream of mix `mi` (what `prepare` is shown besides the round's stream).
    fn warmups_stream(&self, mi: usize) -> Vec<Query> {
        self.plan.warmup_stream(&self.plan.mixes[mi].1)
    }

    /// Whether an earlier phase already reported engine `e`'s warm-up on mix `mi`.
    fn warmup_reported(&self, mi: usize, e: usize) -> bool {
        let (mix, engine) = (&self.plan.mixes[mi].0, &self.engines[e].0);
        self.infos
            .iter()
            .any(|i| &i.mix == mix && i.slices.iter().any(|s| &s.engine == engine))
    }
}

/// Calls the engine, turning a panic into an error so one bad engine cannot stop the run.
pub(crate) fn call(engine: &dyn audit_engines::Engine, q: &Query) -> Result<u32, CallError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| engine.query(q))) {
        Ok(Ok(page)) => Ok(page.count as u32),
        Ok(Err(e @ (audit_engines::EngineError::Hang { .. } | audit_engines::EngineError::Broken { .. }))) => {
            Err(CallError::GaveUp(e.to_string()))
        }
        Ok(Err(e)) => Err(CallError::Answer(e.to_string())),
        Err(p) => Err(CallError::Answer(format!(
            "panicked: {}",
            p.downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_default()
        ))),
    }
}

/// Why a request got no answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CallError {
    /// The engine answered with an error (or panicked): counted, and the run goes on.
    Answer(String),
    /// The engine hung past its timeout or its process died: asking it again
    /// would only wait again, so its trial stops and later rounds skip it.
    GaveUp(String),
}

impl CallError {
    pub(crate) fn message(self) -> String {
        match self {
            CallError::Answer(m) | CallError::GaveUp(m) => m,
        }
    }
}

/// A built-in engine that answers nothing for this long in a slice hangs:
/// its calls cannot be cancelled, so the slice ends as given up (the engine
/// is skipped from then on, as a process engine that timed out), its stuck
/// worker threads are left to it, and the run goes on and ends as any other.
pub const HANG_AFTER: std::time::Duration = std::time::Duration::from_secs(60);
