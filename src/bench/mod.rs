//! The benchmark (DESIGN §5): every engine on the same seeded request stream,
//! engines interleaved trial by trial, every request's latency recorded on its
//! own. This module only measures; `analysis` turns the records into figures.

pub mod cache;
pub mod closed;
pub mod driver;
pub mod open;
pub mod overhead;
pub mod plan;

use audit_engines::{Query, SharedEngine};

pub use plan::Plan;

use crate::error::HarnessError;
use crate::spec::{CacheMode, LoadMode, RateSpec};

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
}

/// Every trial of one engine on one mix.
#[derive(Debug, Clone)]
pub struct Series {
    pub engine: String,
    pub mix: String,
    pub trials: Vec<Trial>,
}

/// What a whole benchmark produced.
#[derive(Debug, Clone)]
pub struct BenchRun {
    pub series: Vec<Series>,
    /// Index size per engine, in bench order.
    pub index_bytes: Vec<(String, u64)>,
    /// Open loop: the arrival rate used per mix (requests per second).
    pub rates: Vec<(String, f64)>,
    /// Whether every planned trial ran (false after Ctrl-C).
    pub complete: bool,
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
    /// A trial of `engine` finished; `done` of `total` trials are done.
    Trial {
        mix: &'a str,
        engine: &'a str,
        trial: &'a Trial,
        done: usize,
        total: usize,
    },
    /// Open loop: the rate chosen for a mix.
    Rate { mix: &'a str, rps: f64 },
}

/// Runs the plan: for each mix, trials 1..T, and in each trial every engine in
/// turn (A B C A B C ...), on the same streams.
pub fn run(
    plan: &Plan,
    engines: &[(String, SharedEngine)],
    mut progress: impl FnMut(Progress),
) -> Result<BenchRun, HarnessError> {
    install_interrupt_handler();
    let mut series: Vec<Series> = Vec::new();
    let mut rates = Vec::new();
    let total = plan.mixes.len() * plan.trials as usize * engines.len();
    let mut done = 0;
    let mut complete = true;
    'mixes: for (mix_name, mix) in &plan.mixes {
        let warmup = plan.warmup_stream(mix);
        let streams: Vec<Vec<Query>> = (0..plan.trials).map(|t| plan.trial_stream(mix, t)).collect();
        let mut all: Vec<Query> = warmup.clone();
        streams.iter().for_each(|s| all.extend_from_slice(s));
        for (name, engine) in engines {
            engine
                .prepare(&all)
                .map_err(|e| HarnessError::failed(format!("engine {name}: prepare failed: {e}")))?;
        }
        let rate = match plan.mode {
            LoadMode::Closed => None,
            LoadMode::Open => {
                let rps = match plan.rate {
                    Some(RateSpec::PerSecond(r)) => r,
                    Some(RateSpec::OfBaseline(f)) => {
                        let (_, base) = engines.iter().find(|(n, _)| n == "baseline").ok_or_else(|| {
                            HarnessError::input("a rate relative to the baseline needs the baseline among the engines")
                        })?;
                        closed::warm_up(base.as_ref(), &warmup);
                        let t = closed::run(base.as_ref(), &streams[0], plan);
                        let secs = t.requests.iter().map(Request::end_ns).max().unwrap_or(0) as f64 / 1e9;
                        f * t.requests.len() as f64 / secs.max(1e-9)
                    }
                    None => return Err(HarnessError::input("open loop needs a rate: --rate R or [bench] rate")),
                };
                progress(Progress::Rate { mix: mix_name, rps });
                rates.push((mix_name.clone(), rps));
                Some(rps)
            }
        };
        let first = series.len();
        for (name, _) in engines {
            series.push(Series {
                engine: name.clone(),
                mix: mix_name.clone(),
                trials: Vec::new(),
            });
        }
        for (t, stream) in streams.iter().enumerate() {
            for (i, (name, engine)) in engines.iter().enumerate() {
                if interrupted() {
                    complete = false;
                    break 'mixes;
                }
                let (warmup_errors, warmup_error) = closed::warm_up(engine.as_ref(), &warmup);
                if plan.cache == CacheMode::Cold {
                    cache::evict(&plan.payloads)?;
                }
                let mut trial = match rate {
                    None => closed::run(engine.as_ref(), stream, plan),
                    Some(rps) => open::run(engine.as_ref(), stream, plan, rps),
                };
                trial.warmup_errors = warmup_errors;
                trial.first_error = warmup_error.or(trial.first_error);
                if interrupted() {
                    complete = false;
                    break 'mixes;
                }
                trial.index = t as u32 + 1;
                done += 1;
                progress(Progress::Trial {
                    mix: mix_name,
                    engine: name,
                    trial: &trial,
                    done,
                    total,
                });
                series[first + i].trials.push(trial);
            }
        }
    }
    let index_bytes = engines.iter().map(|(n, e)| (n.clone(), e.index_bytes())).collect();
    Ok(BenchRun {
        series,
        index_bytes,
        rates,
        complete,
    })
}

/// Calls the engine, turning a panic into an error so one bad engine cannot stop the run.
pub(crate) fn call(engine: &dyn audit_engines::Engine, q: &Query) -> Result<u32, String> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| engine.query(q))) {
        Ok(Ok(page)) => Ok(page.count as u32),
        Ok(Err(e)) => Err(e.to_string()),
        Err(p) => Err(format!(
            "panicked: {}",
            p.downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_default()
        )),
    }
}
