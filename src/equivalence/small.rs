//! Generated small datasets: quickcheck draws a whole dataset (1 to 60 rows,
//! heavy ties, few actors and actions) with a query; it is written as a real
//! `audit.db` + `payloads.jsonl` and opened by every engine. A failure shrinks
//! the dataset and the query together.

use std::path::Path;
use std::time::Instant;

use audit_engines::{Query, SharedEngine};
use quickcheck::{Arbitrary, Gen};

use super::cases::{SmallCase, SmallRow};
use super::results::{finish, mismatch_only};

/// Shrinking a small dataset writes a dataset per try: fewer tries than for queries.
const SHRINK_BUDGET: usize = 400;
use super::outcome::{self, diff, CallError, Failure, FailureKind};
use super::shrink::shrink;
use super::{replay, Counterexample, Opener, Options, Property, PropertyResult, Tally};
use crate::dataset::write::{write_dataset, NewRow};
use crate::error::HarnessError;

/// Writes `rows` as a dataset in a new temporary directory.
fn materialise(rows: &[SmallRow]) -> Result<tempfile::TempDir, HarnessError> {
    let dir = crate::fsutil::temp_dir_in(&std::env::temp_dir(), "audit-equiv-")
        .map_err(|e| HarnessError::input(format!("cannot create a temporary directory: {e}")))?;
    let new: Vec<NewRow> = rows.iter().enumerate().map(|(i, r)| r.to_new_row(i)).collect();
    write_dataset(dir.path(), &new)?;
    Ok(dir)
}

fn open(c: &Opener, dir: &Path) -> Result<SharedEngine, Failure> {
    (c.open)(dir).map_err(|e| Failure::Call(CallError::CannotOpen(format!("{}: {e}", c.name))))
}

/// `Err(why)` when candidate `c` answers `q` on the dataset `rows` differently from the baseline.
pub fn check_case(opts: &Options, c: &Opener, rows: &[SmallRow], q: &Query) -> Result<(), Failure> {
    let dir = materialise(rows).map_err(|e| Failure::Call(CallError::Harness(e.to_string())))?;
    let expected = outcome::call_here(&open(&opts.reference, dir.path())?, q);
    let engine = open(c, dir.path())?;
    match diff(&expected, &outcome::call(&engine, q, opts.call_timeout, &opts.cancel)) {
        None => Ok(()),
        Some(why) => Err(why),
    }
}

/// Runs `small_dataset_cases` generated datasets through every candidate. A
/// candidate that hangs or breaks down is not given further datasets.
pub fn run(opts: &Options, baseline: &Opener, candidates: &[Opener]) -> Result<Vec<PropertyResult>, HarnessError> {
    let prop = Property::SmallDatasets;
    let seed = prop.seed(opts.seed);
    let start = Instant::now();
    let mut g = Gen::from_size_and_seed(60, seed);
    let mut tallies: Vec<Tally> = candidates.iter().map(|_| Tally::new()).collect();
    let mut stopped = vec![false; candidates.len()];
    for _ in 0..opts.small_dataset_cases {
        if opts.cancel.is_cancelled() || stopped.iter().all(|s| *s) {
            break;
        }
        let case = SmallCase::arbitrary(&mut g);
        let dir = materialise(&case.rows)?;
        let expected = match (baseline.open)(dir.path()) {
            Ok(b) => outcome::call_here(&b, &case.query),
            Err(e) => {
                return Err(HarnessError::input(format!(
                    "the reference {} cannot open a generated dataset: {e}",
                    baseline.name
                )))
            }
        };
        for ((c, tally), stopped) in candidates.iter().zip(tallies.iter_mut()).zip(stopped.iter_mut()) {
            if *stopped {
                continue;
            }
            let failure = match open(c, dir.path()) {
                Ok(engine) => diff(
                    &expected,
                    &outcome::call(&engine, &case.query, opts.call_timeout, &opts.cancel),
                ),
                Err(e) => Some(e),
            };
            if let Some(why) = failure.as_ref().filter(|w| w.stops()) {
                *stopped = true;
                let ce = Counterexample {
                    dataset: Some(case.rows.clone()),
                    ..super::results::stopped(opts, c, prop, &case.query, why)
                };
                tally.record(Some(move || ce));
                continue;
            }
            tally.record(failure.map(|f| f.to_string()).map(|why| {
                || {
                    let gave_up = std::cell::Cell::new(false);
                    let s = shrink(
                        case.clone(),
                        why,
                        |cand| mismatch_only(&gave_up, || check_case(opts, c, &cand.rows, &cand.query).err()),
                        SHRINK_BUDGET,
                    );
                    Counterexample {
                        query: s.value.query,
                        dataset: Some(s.value.rows),
                        detail: s.why,
                        kind: FailureKind::Mismatch,
                        shrink_steps: s.steps,
                        replay: replay(opts, &c.name, prop),
                    }
                }
            }));
        }
    }
    Ok(candidates
        .iter()
        .zip(tallies)
        .map(|(c, t)| finish(c, prop, seed, t, start))
        .collect())
}
