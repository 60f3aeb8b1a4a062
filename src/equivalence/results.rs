//! Building a property's result: its tally finished, and the counterexamples
//! of engines that hung, broke down or could not open the dataset (not
//! shrunk: every further call could hang too). Shared by every property.

use std::time::Instant;

use audit_engines::Query;

use super::outcome::{CallError, Failure, FailureKind};
use super::{replay, Counterexample, Opener, Options, Property, PropertyResult, Status, Tally};

/// The counterexample for an engine that hung, broke down or could not open
/// the dataset: not shrunk, since every further call could hang (or fail) too.
pub fn stopped(opts: &Options, c: &Opener, prop: Property, q: &Query, why: &Failure) -> Counterexample {
    Counterexample {
        query: q.clone(),
        dataset: None,
        detail: format!("{why}; {} was not asked again in this property", c.name),
        kind: why.kind(),
        shrink_steps: 0,
        replay: replay(opts, &c.name, prop),
    }
}

/// For shrinking: the mismatch text of a comparison, `None` when it passes or
/// could not be judged. After a hang or a breakdown, `gave_up` is set and no
/// further candidate is tried (`check` is not called again).
pub fn mismatch_only(gave_up: &std::cell::Cell<bool>, check: impl FnOnce() -> Option<Failure>) -> Option<String> {
    if gave_up.get() {
        return None;
    }
    match check() {
        Some(Failure::Mismatch(m)) => Some(m),
        Some(f) => {
            gave_up.set(f.stops());
            None
        }
        None => None,
    }
}

/// A result for a property whose tally is complete.
pub fn finish(c: &Opener, prop: Property, seed: u64, t: Tally, start: Instant) -> PropertyResult {
    PropertyResult {
        engine: c.name.clone(),
        property: prop,
        status: if t.failures == 0 { Status::Pass } else { Status::Fail },
        cases: t.cases,
        failures: t.failures,
        seed,
        counterexample: t.first,
        seconds: start.elapsed().as_secs_f64(),
        note: None,
    }
}

/// A candidate that cannot even open the dataset fails the property.
pub fn cannot_open(opts: &Options, c: &Opener, prop: Property, seed: u64, err: &str) -> PropertyResult {
    PropertyResult {
        engine: c.name.clone(),
        property: prop,
        status: Status::Fail,
        cases: 0,
        failures: 1,
        seed,
        counterexample: Some(Counterexample {
            query: Query::default(),
            dataset: None,
            detail: Failure::Call(CallError::CannotOpen(err.to_string())).to_string(),
            kind: FailureKind::CannotOpen,
            shrink_steps: 0,
            replay: replay(opts, &c.name, prop),
        }),
        seconds: 0.0,
        note: None,
    }
}
