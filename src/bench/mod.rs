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
pub mod rounds;

use std::time::Instant;

use audit_engines::{Query, Role, SharedEngine};

pub use plan::Plan;
pub use rounds::{Budget, Outcome, Stop};

use crate::error::HarnessError;
use crate::spec::{CacheMode, LoadMode, RateSpec};
use crate::stats::sequential::Looks;

/// One measured request. Times are nanoseconds from the trial's start on a
/// monotonic clock.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// Position in the trial's stream.
    pub seq: u64,
    pub query: Query,
    /// Events returned; `None` when the engine returned an error or panicked.
    pub rows: Option<u32>,
    /// When the request was handed to the engine.
    pub start_ns: u64,
    /// Service time: from handing the request to the engine to its answer.
    pub latency_ns: u64,
    /// Open loop only: when the schedule said the request should start.
    pub intended_ns: Option<u64>,
}

impl Request {
    /// Latency as the client sees it: from the intended start in open loop
    /// (coordinated omission corrected), the service time in closed loop.
    pub fn response_ns(&self) -> u64 {
        match self.intended_ns {
            Some(i) => (self.start_ns + self.latency_ns).saturating_sub(i),
            None => self.latency_ns,
        }
    }

    /// When the answer arrived.
    pub fn end_ns(&self) -> u64 {
        self.start_ns + self.latency_ns
    }
}

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

/// One mix of one round: the order the engines ran in, and how long it took.
#[derive(Debug, Clone, PartialEq)]
pub struct RoundInfo {
    /// 1-based, as `Trial::index`.
    pub round: u32,
    pub mix: String,
    pub order: Vec<String>,
    pub seconds: f64,
}

/// What a whole benchmark produced.
#[derive(Debug, Clone)]
pub struct BenchRun {
    /// One series per mix and engine (mix-major, engines in plan order), whole rounds only.
    pub series: Vec<Series>,
    /// Index size per engine, in bench order.
    pub index_bytes: Vec<(String, u64)>,
    /// Open loop: the arrival rate used per mix (requests per second).
    pub rates: Vec<(String, f64)>,
    /// Open loop: the harness's own pacing lateness per mix, with a do-nothing engine.
    pub pacing: Vec<(String, overhead::Pacing)>,
    pub rounds: Vec<RoundInfo>,
    pub outcome: Outcome,
}

/// Whether the run has been interrupted (SIGINT or SIGTERM; see `crate::interrupt`).
pub fn interrupted() -> bool {
    crate::interrupt::interrupted()
}

/// Installs the SIGINT/SIGTERM handlers of `crate::interrupt` (a second signal kills as usual).
pub fn install_interrupt_handler() {
    crate::interrupt::install()
}

/// Progress events, for a progress bar or plain lines.
pub enum Progress<'a> {
    /// A trial of `engine` finished.
    Trial {
        mix: &'a str,
        engine: &'a str,
        trial: &'a Trial,
    },
    /// A round finished: rounds done, rounds planned, seconds so far.
    Round { done: u32, planned: u32, seconds: f64 },
    /// Open loop: the rate chosen for a mix, and the harness's own pacing at it.
    Rate {
        mix: &'a str,
        rps: f64,
        pacing: &'a overhead::Pacing,
    },
}

/// Runs the plan in rounds until `settled(series, looks)` says every deciding
/// threshold is decided, or the budget is spent (see [`rounds`]).
pub fn run(
    plan: &Plan,
    engines: &[(String, SharedEngine)],
    mut progress: impl FnMut(Progress),
    settled: impl FnMut(&[Series], Looks) -> bool,
) -> Result<BenchRun, HarnessError> {
    install_interrupt_handler();
    let mut rates = Vec::new();
    let mut pacing = Vec::new();
    let mut mix_rates = Vec::new();
    let warmups: Vec<Vec<Query>> = plan.mixes.iter().map(|(_, m)| plan.warmup_stream(m)).collect();
    for ((mix_name, mix), warmup) in plan.mixes.iter().zip(&warmups) {
        let rate = match plan.mode {
            LoadMode::Closed => None,
            LoadMode::Open => {
                let rps = match plan.rate {
                    Some(RateSpec::PerSecond(r)) => r,
                    Some(RateSpec::OfBaseline(f)) => {
                        let (_, base) = engines
                            .iter()
                            .find(|(n, _)| crate::registry::role(n) == Role::Reference)
                            .ok_or_else(|| {
                                HarnessError::input(
                                    "a rate relative to the baseline needs the baseline among the engines",
                                )
                            })?;
                        let _ = closed::warm_up(base.as_ref(), warmup);
                        let t = closed::run(base.as_ref(), &plan.round_stream(mix, 0), plan.concurrency);
                        f * served_per_second(&t.requests)
                    }
                    None => return Err(HarnessError::input("open loop needs a rate: --rate R or [bench] rate")),
                };
                // The harness's own pacing at this rate, for about a second at most.
                let n = (plan.requests as usize).min((rps as usize).max(100));
                let p = overhead::pacing(warmup, &plan.arrival_schedule(rps, n, 0), plan.concurrency, rps);
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
        for (name, _) in engines {
            series.push(Series {
                engine: name.clone(),
                role: crate::registry::role(name),
                mix: mix_name.clone(),
                trials: Vec::new(),
            });
        }
    }
    let mut infos = Vec::new();
    let mut machine = Machine {
        plan,
        engines,
        warmups: &warmups,
        rates: &mix_rates,
        infos: &mut infos,
        progress: &mut progress,
        gave_up: Vec::new(),
    };
    let budget = Budget {
        min_rounds: plan.min_rounds,
        max_rounds: plan.max_rounds,
        max_seconds: plan.max_seconds,
    };
    let outcome = rounds::run(&mut machine, budget, &mut series, settled)?;
    let index_bytes = engines.iter().map(|(n, e)| (n.clone(), e.index_bytes())).collect();
    Ok(BenchRun {
        series,
        index_bytes,
        rates,
        pacing,
        rounds: infos,
        outcome,
    })
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

/// The real machine as a source of rounds: each round runs, per mix, every
/// engine once in the plan's seeded order, each after its warm-up (and a
/// cache eviction when the cache is cold).
struct Machine<'a, P: FnMut(Progress)> {
    plan: &'a Plan,
    engines: &'a [(String, SharedEngine)],
    warmups: &'a [Vec<Query>],
    /// Open loop: the arrival rate per mix.
    rates: &'a [Option<f64>],
    infos: &'a mut Vec<RoundInfo>,
    progress: &'a mut P,
    /// Engines that hung or died: later rounds skip them.
    gave_up: Vec<String>,
}

impl<P: FnMut(Progress)> rounds::RoundSource for Machine<'_, P> {
    fn run_round(&mut self, r: u32) -> Result<Option<rounds::Round>, HarnessError> {
        let plan = self.plan;
        let t0 = Instant::now();
        let mut trials = Vec::new();
        let mut infos = Vec::new();
        for (mi, (mix_name, mix)) in plan.mixes.iter().enumerate() {
            let stream = plan.round_stream(mix, r);
            let warmup = &self.warmups[mi];
            let mut all = warmup.clone();
            all.extend_from_slice(&stream);
            for (name, engine) in self.engines {
                engine
                    .prepare(&all)
                    .map_err(|e| HarnessError::failed(format!("engine {name}: prepare failed: {e}")))?;
            }
            let schedule = self.rates[mi].map(|rps| plan.arrival_schedule(rps, stream.len(), r));
            let order = plan.round_order(mi, r, self.engines.len());
            let m0 = Instant::now();
            for &i in &order {
                let (name, engine) = &self.engines[i];
                if interrupted() {
                    return Ok(None);
                }
                if self.gave_up.contains(name) {
                    continue;
                }
                let (warmup_errors, warmup_error, hung) = closed::warm_up(engine.as_ref(), warmup);
                if plan.cache == CacheMode::Cold {
                    cache::evict(&plan.payloads)?;
                }
                let mut trial = match (&schedule, hung) {
                    (_, true) => Trial {
                        gave_up: true,
                        ..Trial::default()
                    },
                    (None, false) => closed::run(engine.as_ref(), &stream, plan.concurrency),
                    (Some(s), false) => open::run(engine.as_ref(), &stream, plan.concurrency, s),
                };
                if trial.gave_up {
                    self.gave_up.push(name.clone());
                }
                if interrupted() {
                    return Ok(None);
                }
                trial.index = r + 1;
                trial.warmup_errors = warmup_errors;
                trial.first_error = warmup_error.or(trial.first_error);
                (self.progress)(Progress::Trial {
                    mix: mix_name,
                    engine: name,
                    trial: &trial,
                });
                trials.push((mi * self.engines.len() + i, trial));
            }
            infos.push(RoundInfo {
                round: r + 1,
                mix: mix_name.clone(),
                order: order.iter().map(|&i| self.engines[i].0.clone()).collect(),
                seconds: m0.elapsed().as_secs_f64(),
            });
        }
        self.infos.extend(infos);
        Ok(Some(rounds::Round {
            trials,
            seconds: t0.elapsed().as_secs_f64(),
        }))
    }

    fn round_finished(&mut self, done: u32, planned: u32, seconds: f64) {
        (self.progress)(Progress::Round { done, planned, seconds });
    }
}

/// Calls the engine, turning a panic into an error so one bad engine cannot stop the run.
pub(crate) fn call(engine: &dyn audit_engines::Engine, q: &Query) -> Result<u32, CallError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| engine.query(q))) {
        Ok(Ok(page)) => Ok(page.count as u32),
        Ok(Err(e @ (audit_engines::EngineError::Hang { .. } | audit_engines::EngineError::Broken(_)))) => {
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

/// A built-in engine that answers nothing for this long hangs: its threads
/// cannot be stopped, so the harness says so and exits (exit 1; the report
/// files written so far are whole, run.json says complete: false).
pub const HANG_AFTER: std::time::Duration = std::time::Duration::from_secs(60);
