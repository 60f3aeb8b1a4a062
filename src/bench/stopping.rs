//! The benchmark's length: rounds until every deciding threshold is decided
//! within its precision, within a budget. From `min_rounds` rounds on the
//! data is looked at (at most [`MAX_LOOKS`] times, spread over the rounds
//! planned, none before half of them for the data's sake), and the run stops
//! when the caller says it is settled, when the planned rounds are done, or
//! when another round would overrun the budget. The real benchmark (each
//! phase) and `audit-harness calibrate` (simulated rounds) share this loop.

use serde::{Deserialize, Serialize};

use super::{Series, Trial};
use crate::error::HarnessError;
use crate::stats::sequential::Looks;

/// Why the benchmark stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stop {
    /// Every deciding threshold was decided at a look.
    Decided,
    /// Another round would have run past `max_seconds`.
    Budget,
    /// The rounds planned after the first round (or `max_rounds`) are done.
    Planned,
    /// Ctrl-C (or SIGTERM): the finished rounds are analysed.
    Interrupted,
    /// The reference answered no request of a whole round (every answer an
    /// error, or it hung or died): no ratio has a yardstick, so the rounds
    /// left would measure nothing. The finished rounds are kept.
    NoReference,
    /// The load driver lost a round's records (a Locust worker died or
    /// left, records incomplete or late): that round is discarded for every
    /// engine, the finished rounds are kept, and the run ends with exit 2.
    DriverLost,
}

impl Stop {
    pub fn label(self) -> &'static str {
        match self {
            Stop::Decided => "decided",
            Stop::Budget => "budget",
            Stop::Planned => "planned rounds done",
            Stop::Interrupted => "interrupted",
            Stop::NoReference => "no reference",
            Stop::DriverLost => "driver lost records",
        }
    }

    /// Whether the last look was final for a reason that is not the data (it spends what is left).
    pub fn is_final(self) -> bool {
        self != Stop::Decided
    }
}

/// How long a benchmark may run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    pub min_rounds: u32,
    pub max_rounds: u32,
    pub max_seconds: f64,
}

impl Budget {
    /// Rounds planned when a round takes `round_s`: as many as fit in
    /// `max_seconds`, within `min_rounds..=max_rounds`.
    pub fn planned(&self, round_s: f64) -> u32 {
        let fit = (self.max_seconds / round_s.max(1e-9)).floor();
        (fit.min(f64::from(self.max_rounds)) as u32).clamp(self.min_rounds, self.max_rounds)
    }
}

/// One finished round: each trial with the index of its series, and how long the round took.
pub struct Round {
    pub trials: Vec<(usize, Trial)>,
    pub seconds: f64,
}

/// Something that runs rounds: engines on a machine, or a simulation.
pub trait RoundSource {
    /// Runs round `r` (0-based); `Ok(None)` when interrupted before it finished
    /// (its trials are dropped: only whole rounds are analysed).
    fn run_round(&mut self, r: u32) -> Result<Option<Round>, HarnessError>;

    /// Hears of each finished round: rounds done, rounds planned, seconds so far.
    fn round_finished(&mut self, _done: u32, _planned: u32, _seconds: f64) {}

    /// Whether the run must end after the round just finished, whatever its
    /// budget: the reference answered none of it ([`Stop::NoReference`]).
    fn reference_lost(&self) -> bool {
        false
    }

    /// After `run_round` returned `Ok(None)`: whether the round was lost by
    /// the load driver ([`Stop::DriverLost`]) rather than interrupted.
    fn driver_lost(&self) -> bool {
        false
    }

    /// Whether the time spent looking at the data counts against the budget
    /// (on a real machine it does; a simulation's clock only counts rounds).
    fn on_the_clock(&self) -> bool {
        false
    }

    /// Hears, after each finished round, where the run stands: every series
    /// so far, the ones the round added a trial to (`fresh`), and the
    /// outcome of a run that stopped here (interrupted). The real benchmark
    /// saves it, so that a run killed at any moment keeps its finished
    /// rounds; an error ends the run.
    fn checkpoint(&mut self, _series: &[Series], _fresh: &[usize], _so_far: Outcome) -> Result<(), HarnessError> {
        Ok(())
    }
}

/// The run may stop for its data (every deciding check decided within its
/// precision) only after this share of its planned rounds. A run that stops
/// the moment its intervals look narrow stops most often when it has met
/// the machine's rare slow episodes least, so its narrow interval is the one
/// that misses: `calibrate` measured 7-9 % false fails of a two-cluster
/// candidate under slow episodes without this floor.
pub const STOP_FRACTION: f64 = 0.5;

/// At most this many looks at the data in a run: more looks buy little
/// (the O'Brien–Fleming boundaries spend almost nothing early) and each costs an analysis.
pub const MAX_LOOKS: u32 = 10;

/// How a run of rounds ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    /// Whole rounds done.
    pub rounds: u32,
    /// Rounds planned after the first round.
    pub planned: u32,
    pub stop: Stop,
    /// Time the rounds (and, on a real machine, the looks) took.
    pub seconds: f64,
    /// Rounds between looks.
    pub every: u32,
}

impl Outcome {
    /// The looks of the analysis at the end.
    pub fn looks(&self, min_rounds: u32) -> Looks {
        Looks {
            first: min_rounds.min(self.rounds).max(1),
            last: self.rounds.max(1),
            planned: self.planned.max(self.rounds).max(1),
            last_is_final: self.stop.is_final(),
            every: self.every.max(1),
        }
    }
}

/// Rounds between looks for `planned` rounds from `min_rounds` on: every
/// round, or fewer looks spread evenly so that there are at most
/// [`MAX_LOOKS`] from `min_rounds` to `planned` (a run that ends between two
/// looks looks once more, at its last round).
pub fn look_every(min_rounds: u32, planned: u32) -> u32 {
    planned.saturating_sub(min_rounds).div_ceil(MAX_LOOKS - 1).max(1)
}

/// Runs rounds from `source` into `series` until `settled(series, looks)` says
/// every deciding threshold is decided or the budget is spent.
pub fn run(
    source: &mut dyn RoundSource,
    budget: Budget,
    series: &mut [Series],
    mut settled: impl FnMut(&[Series], Looks) -> bool,
) -> Result<Outcome, HarnessError> {
    let mut done = 0u32;
    let mut planned = budget.max_rounds;
    let mut every = 1;
    let mut elapsed = 0.0;
    let stop = loop {
        let Some(round) = source.run_round(done)? else {
            break if source.driver_lost() {
                Stop::DriverLost
            } else {
                Stop::Interrupted
            };
        };
        let fresh: Vec<usize> = round.trials.iter().map(|(i, _)| *i).collect();
        for (i, t) in round.trials {
            series[i].trials.push(t);
        }
        done += 1;
        elapsed += round.seconds;
        // Planned after the first round, and again from the mean round once
        // `min_rounds` are done, before the first look (no look has been
        // made, so no boundary moves): a slow first round (a cold cache, a
        // warm-up's pace) no longer ends the run with its budget unspent.
        if done == 1 || done == budget.min_rounds {
            planned = budget.planned(elapsed / f64::from(done));
            every = look_every(budget.min_rounds, planned);
        }
        source.round_finished(done, planned, elapsed);
        let so_far = Outcome {
            rounds: done,
            planned,
            stop: Stop::Interrupted,
            seconds: elapsed,
            every,
        };
        let t0 = std::time::Instant::now();
        source.checkpoint(series, &fresh, so_far)?;
        if source.on_the_clock() {
            elapsed += t0.elapsed().as_secs_f64();
        }
        if source.reference_lost() {
            break Stop::NoReference;
        }
        if done < budget.min_rounds {
            continue;
        }
        if (done - budget.min_rounds).is_multiple_of(every) {
            let looks = Looks {
                first: budget.min_rounds,
                last: done,
                planned,
                last_is_final: false,
                every,
            };
            let t0 = std::time::Instant::now();
            let decided = f64::from(done) >= STOP_FRACTION * f64::from(planned) && settled(series, looks);
            if source.on_the_clock() {
                elapsed += t0.elapsed().as_secs_f64();
            }
            if decided {
                break Stop::Decided;
            }
        }
        if done >= planned {
            break Stop::Planned;
        }
        if elapsed + elapsed / f64::from(done) > budget.max_seconds {
            break Stop::Budget;
        }
    };
    Ok(Outcome {
        rounds: done,
        planned,
        stop,
        seconds: elapsed,
        every,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rounds of fixed length, stopping (interrupted) after `stop_after` when set.
    struct Fixed {
        seconds: f64,
        stop_after: Option<u32>,
    }

    /// Rounds whose reference answers nothing from round `lost_at` (1-based) on.
    struct Silent {
        done: u32,
        lost_at: u32,
    }

    impl RoundSource for Silent {
        fn run_round(&mut self, _r: u32) -> Result<Option<Round>, HarnessError> {
            self.done += 1;
            Ok(Some(Round {
                trials: vec![(0, Trial::default())],
                seconds: 0.1,
            }))
        }

        fn reference_lost(&self) -> bool {
            self.done >= self.lost_at
        }
    }

    /// Rounds of `first` seconds, then of `rest`.
    struct SlowStart {
        first: f64,
        rest: f64,
    }

    impl RoundSource for SlowStart {
        fn run_round(&mut self, r: u32) -> Result<Option<Round>, HarnessError> {
            Ok(Some(Round {
                trials: vec![(0, Trial::default())],
                seconds: if r == 0 { self.first } else { self.rest },
            }))
        }
    }

    #[test]
    fn a_slow_first_round_is_replanned_before_the_first_look() {
        let mut s = series();
        let budget = Budget {
            min_rounds: 3,
            max_rounds: 100,
            max_seconds: 20.0,
        };
        // After round 1 (3 s): 6 rounds fit; after round 3 (5 s, 5/3 s a round): 12.
        let out = run(&mut SlowStart { first: 3.0, rest: 1.0 }, budget, &mut s, |_, _| false).unwrap();
        assert_eq!(out.planned, 12);
        assert_eq!((out.rounds, out.stop), (12, Stop::Planned));
    }

    #[test]
    fn a_round_without_the_reference_ends_the_run_and_keeps_it() {
        let mut s = series();
        let mut source = Silent { done: 0, lost_at: 2 };
        let out = run(&mut source, budget(), &mut s, |_, _| false).unwrap();
        assert_eq!((out.rounds, out.stop), (2, Stop::NoReference));
        assert_eq!(s[0].trials.len(), 2, "the finished rounds are kept");
        assert!(out.stop.is_final());
    }

    impl RoundSource for Fixed {
        fn run_round(&mut self, r: u32) -> Result<Option<Round>, HarnessError> {
            if self.stop_after.is_some_and(|n| r >= n) {
                return Ok(None);
            }
            Ok(Some(Round {
                trials: vec![(0, Trial::default())],
                seconds: self.seconds,
            }))
        }
    }

    fn series() -> Vec<Series> {
        vec![Series {
            engine: "e".into(),
            role: audit_engines::Role::Candidate,
            mix: "m".into(),
            trials: Vec::new(),
        }]
    }

    fn budget() -> Budget {
        Budget {
            min_rounds: 3,
            max_rounds: 10,
            max_seconds: 7.0,
        }
    }

    #[test]
    fn stops_at_the_first_look_that_settles() {
        let mut s = series();
        let mut looks_seen = Vec::new();
        let out = run(
            &mut Fixed {
                seconds: 0.1,
                stop_after: None,
            },
            budget(),
            &mut s,
            |_, l| {
                looks_seen.push(l.last);
                l.last == 6
            },
        )
        .unwrap();
        assert_eq!(
            looks_seen,
            [5, 6],
            "no look before min_rounds, nor before half the planned rounds"
        );
        assert_eq!((out.rounds, out.stop), (6, Stop::Decided));
        assert_eq!(out.planned, 10, "70 rounds fit, max_rounds caps");
        assert_eq!(s[0].trials.len(), 6);
        assert!(!out.looks(3).last_is_final);
    }

    #[test]
    fn the_budget_and_the_minimum_bound_the_length() {
        let mut s = series();
        // 2 s rounds in 7 s: 3 planned; never settled.
        let out = run(
            &mut Fixed {
                seconds: 2.0,
                stop_after: None,
            },
            budget(),
            &mut s,
            |_, _| false,
        )
        .unwrap();
        assert_eq!((out.rounds, out.planned, out.stop), (3, 3, Stop::Planned));
        // 5 s rounds: min_rounds still run, past the budget.
        let out = run(
            &mut Fixed {
                seconds: 5.0,
                stop_after: None,
            },
            budget(),
            &mut series(),
            |_, _| false,
        )
        .unwrap();
        assert_eq!(out.rounds, 3);
        assert!(out.looks(3).last_is_final);
    }

    #[test]
    fn an_interrupted_run_keeps_whole_rounds() {
        let mut s = series();
        let out = run(
            &mut Fixed {
                seconds: 0.1,
                stop_after: Some(2),
            },
            budget(),
            &mut s,
            |_, _| false,
        )
        .unwrap();
        assert_eq!((out.rounds, out.stop), (2, Stop::Interrupted));
        let l = out.looks(3);
        assert_eq!((l.first, l.last, l.last_is_final), (2, 2, true));
    }

    /// Rounds that record each checkpoint they hear of, and fail one when asked.
    struct Recorded {
        heard: Vec<(usize, Vec<usize>, Outcome)>,
        fail_at: Option<u32>,
    }

    impl RoundSource for Recorded {
        fn run_round(&mut self, _r: u32) -> Result<Option<Round>, HarnessError> {
            Ok(Some(Round {
                trials: vec![(0, Trial::default())],
                seconds: 0.1,
            }))
        }

        fn checkpoint(&mut self, series: &[Series], fresh: &[usize], so_far: Outcome) -> Result<(), HarnessError> {
            if self.fail_at == Some(so_far.rounds) {
                return Err(HarnessError::input("disk full"));
            }
            self.heard.push((series[0].trials.len(), fresh.to_vec(), so_far));
            Ok(())
        }
    }

    /// Every finished round is checkpointed, with its trial already in the
    /// series and the outcome of a run interrupted there; a checkpoint that
    /// cannot be saved ends the run with its error.
    #[test]
    fn every_finished_round_is_checkpointed_as_an_interrupted_run() {
        let mut s = series();
        let mut source = Recorded {
            heard: Vec::new(),
            fail_at: None,
        };
        let out = run(&mut source, budget(), &mut s, |_, _| false).unwrap();
        assert_eq!(source.heard.len() as u32, out.rounds);
        for (k, (trials, fresh, so_far)) in source.heard.iter().enumerate() {
            assert_eq!(*trials, k + 1);
            assert_eq!(fresh, &vec![0]);
            assert_eq!((so_far.rounds, so_far.stop), (k as u32 + 1, Stop::Interrupted));
            assert!(so_far.looks(3).last_is_final);
        }
        let mut source = Recorded {
            heard: Vec::new(),
            fail_at: Some(2),
        };
        let err = run(&mut source, budget(), &mut series(), |_, _| false).unwrap_err();
        assert!(err.to_string().contains("disk full"), "{err}");
        assert_eq!(source.heard.len(), 1);
    }
}
