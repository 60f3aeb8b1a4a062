//! `live_appends`: reads under a live append stream. While the live writer
//! appends seeded rows to a scratch copy (as the service does, see
//! [`crate::dataset::live`]), reader threads query the candidate on that copy.
//! Each request records the rows committed before it was sent and the rows
//! begun after its answer came back; its answer must equal the reference's
//! answer on the log truncated to some row count in that range (appends only
//! add rows, with increasing ids, so those are the states the log passed
//! through). An engine that serves a stale index, a row before its payload is
//! whole, or a torn payload fails here.
//!
//! The reference is evaluated afterwards, on a second scratch copy grown row
//! by row with the very same rows (same ids, same payload bytes and offsets):
//! at each count, every request whose range holds it and that has not matched
//! yet is compared.
//!
//! A failure is shrunk by re-running with half the appended rows, then half
//! the requests, while it still fails (concurrency makes a run's
//! interleaving vary; the seed fixes the rows, the queries and the pacing).
//! The counterexample names the smallest history that failed and a replay
//! command that runs exactly that history.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use audit_engines::{Query, SharedEngine};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::outcome::{self, diff, Failure, Outcome};
use super::results::cannot_open;
use super::{replay, Counterexample, Opener, Options, Property, PropertyResult, Status};
use crate::dataset::live::{LiveRows, Scratch, Writer};
use crate::dataset::write::{Appender, NewRow};
use crate::error::HarnessError;
use crate::shell::shell_words;

/// Reader threads querying the candidate while the writer appends.
pub const READERS: usize = 4;
/// Rows per second the writer appends at.
pub const RATE: f64 = 300.0;
/// Reshaped histories tried while shrinking a failure, at most.
const SHRINK_RUNS: usize = 6;

/// The size of one history: rows appended and requests sent meanwhile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct History {
    pub rows: u64,
    pub requests: u64,
}

/// One request as it happened.
struct Record {
    index: usize,
    query: Query,
    /// Rows committed when it was sent (the engine must see at least these).
    before: u64,
    /// Rows begun when its answer came back (it cannot see more).
    after: u64,
    outcome: Outcome,
}

/// The first request no state of the log explains.
struct Found {
    record: Record,
    why: Failure,
    /// The count the answer was last compared at.
    at: u64,
}

/// What one history came to.
enum Ran {
    /// The candidate could not open the scratch copy: why.
    CannotOpen(String),
    /// Every answer checked: how many, and the first that no state of the
    /// log explains.
    Checked { cases: u64, found: Option<Found> },
}

/// Runs `live_appends` for one candidate.
pub fn run(opts: &Options, reference: &Opener, c: &Opener) -> Result<PropertyResult, HarnessError> {
    let start = Instant::now();
    let prop = Property::LiveAppends;
    let seed = prop.seed(opts.seed);
    let full = History {
        rows: opts.live_rows,
        requests: opts.live_requests,
    };
    let (cases, found) = match once(opts, reference, c, seed, full)? {
        Ran::Checked { cases, found } => (cases, found),
        Ran::CannotOpen(why) => return Ok(cannot_open(opts, c, prop, seed, &why)),
    };
    let Some(mut found) = found else {
        return Ok(result(c, prop, seed, cases, None, start));
    };
    let mut smallest = full;
    let mut steps = 0;
    if !found.why.stops() {
        let mut tries = 0;
        let mut shrink_rows = true;
        while tries < SHRINK_RUNS && !opts.cancel.is_cancelled() {
            let next = if shrink_rows {
                History {
                    rows: smallest.rows / 2,
                    ..smallest
                }
            } else {
                History {
                    requests: smallest.requests / 2,
                    ..smallest
                }
            };
            if next.rows == 0 || next.requests == 0 {
                if !shrink_rows {
                    break;
                }
                shrink_rows = false;
                continue;
            }
            tries += 1;
            match once(opts, reference, c, seed, next)? {
                Ran::Checked { found: Some(f), .. } if !f.why.stops() => {
                    (smallest, found) = (next, f);
                    steps += 1;
                }
                _ if shrink_rows => shrink_rows = false,
                _ => break,
            }
        }
    }
    let detail = format!(
        "{} rows appended at {RATE} rows/s while {READERS} readers sent {} requests: request {} was sent with {} rows committed and answered with {} begun, and matches the reference's answer on no log of {}..={} rows; against {} rows: {}",
        smallest.rows,
        smallest.requests,
        found.record.index,
        found.record.before,
        found.record.after,
        found.record.before,
        found.record.after,
        found.at,
        found.why
    );
    let ce = Counterexample {
        query: found.record.query.clone(),
        dataset: None,
        detail,
        kind: found.why.kind(),
        shrink_steps: steps,
        replay: replay_history(opts, &c.name, smallest),
    };
    Ok(result(c, prop, seed, cases, Some(ce), start))
}

fn result(
    c: &Opener,
    prop: Property,
    seed: u64,
    cases: u64,
    ce: Option<Counterexample>,
    start: Instant,
) -> PropertyResult {
    PropertyResult {
        engine: c.name.clone(),
        property: prop,
        status: if ce.is_some() { Status::Fail } else { Status::Pass },
        cases,
        failures: u64::from(ce.is_some()),
        seed,
        counterexample: ce,
        seconds: start.elapsed().as_secs_f64(),
        note: None,
    }
}

/// The replay command for one history.
fn replay_history(opts: &Options, engine: &str, h: History) -> String {
    let mut line = replay(opts, engine, Property::LiveAppends);
    line.push(' ');
    line.push_str(&shell_words(&[
        "--live-rows".into(),
        h.rows.to_string(),
        "--live-requests".into(),
        h.requests.to_string(),
    ]));
    line
}

/// The seeded queries of one history: where appended rows land (the newest
/// pages of the whole range, recent windows, the writer's actors, each
/// action) and, for rows appended out of time order, older windows.
fn queries(opts: &Options, rows: &LiveRows, seed: u64, n: u64) -> Vec<Query> {
    let mut rng = StdRng::seed_from_u64(seed);
    let g = &opts.generator;
    let sizes: Vec<i64> = opts.domain.page_sizes.clone();
    let recent_end = g.now.saturating_add((opts.live_rows as f64 / RATE) as i64 + 60);
    (0..n)
        .map(|_| {
            let page_size = sizes[rng.random_range(0..sizes.len().max(1))];
            let action = (rng.random_range(0..3) == 0 && !g.actions.is_empty())
                .then(|| g.actions[rng.random_range(0..g.actions.len())].clone());
            let actor_id = (rng.random_range(0..3) == 0).then(|| rows.actors[rng.random_range(0..rows.actors.len())]);
            let (from_ts, to_ts) = match rng.random_range(0..3) {
                0 => (i64::MIN, i64::MAX),
                1 => (g.now.saturating_sub(3600), recent_end),
                _ => {
                    let a = g.now.saturating_sub(rng.random_range(0..=g.span_seconds.max(0)));
                    (a, a.saturating_add(86_400))
                }
            };
            Query {
                from_ts,
                to_ts,
                actor_id,
                action,
                page: rng.random_range(1..=3),
                page_size,
            }
        })
        .collect()
}

/// One history: the writer appends `h.rows` rows while the readers send
/// `h.requests` requests spread over the writer's run; then every answer is
/// checked.
fn once(opts: &Options, reference: &Opener, c: &Opener, seed: u64, h: History) -> Result<Ran, HarnessError> {
    let live = LiveRows::new(&opts.generator, seed, RATE);
    let qs = queries(opts, &live, seed ^ 0x0051_u64, h.requests);
    let rows: Vec<NewRow> = live.take(h.rows as usize).collect();
    let scratch = Scratch::copy_of(&opts.dataset)?;
    let engine = match (c.open)(scratch.path()) {
        Ok(e) => e,
        Err(e) => return Ok(Ran::CannotOpen(e.to_string())),
    };
    let writer = Writer::start(&scratch, RATE, seed, rows.clone().into_iter(), &opts.cancel)?;
    let records = read_while_appending(opts, &engine, &writer, &qs, h);
    let report = writer.finish()?;
    if report.rows != h.rows && !opts.cancel.is_cancelled() {
        return Err(HarnessError::input(format!(
            "the live writer committed {} of {} rows",
            report.rows, h.rows
        )));
    }
    drop(engine);
    let cases = records.len() as u64;
    let found = check(opts, reference, &rows, records)?;
    Ok(Ran::Checked { cases, found })
}

/// The readers: request *i* is due at *i / requests* of the writer's run,
/// taken by whichever reader is free. A call that hangs or breaks ends the
/// reading (the engine is not asked again).
fn read_while_appending(
    opts: &Options,
    engine: &SharedEngine,
    writer: &Writer,
    qs: &[Query],
    h: History,
) -> Vec<Record> {
    let span = Duration::from_secs_f64(h.rows as f64 / RATE);
    let next = AtomicUsize::new(0);
    let records = Mutex::new(Vec::with_capacity(qs.len()));
    let start = Instant::now();
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        for _ in 0..READERS {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= qs.len() || stop.load(Ordering::Relaxed) || opts.cancel.is_cancelled() {
                    break;
                }
                let due = start + span.mul_f64(i as f64 / qs.len() as f64);
                std::thread::sleep(due.saturating_duration_since(Instant::now()));
                let before = writer.committed();
                let outcome = outcome::call(engine, &qs[i], opts.call_timeout, &opts.cancel);
                let after = writer.begun();
                if outcome.as_ref().is_err_and(|e| e.stops()) {
                    stop.store(true, Ordering::Relaxed);
                }
                if let Ok(mut r) = records.lock() {
                    r.push(Record {
                        index: i,
                        query: qs[i].clone(),
                        before,
                        after,
                        outcome,
                    });
                }
            });
        }
    });
    let mut records = records.into_inner().unwrap_or_default();
    records.sort_by_key(|r| r.index);
    records
}

/// The first request (in send order) whose answer matches the reference at
/// no count in its range, growing a second scratch copy row by row.
fn check(
    opts: &Options,
    reference: &Opener,
    rows: &[NewRow],
    records: Vec<Record>,
) -> Result<Option<Found>, HarnessError> {
    // A call that could not be judged fails at once.
    let mut records = records;
    if let Some(i) = records
        .iter()
        .position(|r| r.outcome.as_ref().is_err_and(|e| e.stops()))
    {
        let record = records.swap_remove(i);
        if let Err(e) = &record.outcome {
            let why = Failure::Call(e.clone());
            return Ok(Some(Found {
                at: record.after,
                record,
                why,
            }));
        }
    }
    let copy = Scratch::copy_of(&opts.dataset)?;
    let base = (reference.open)(copy.path()).map_err(|e| HarnessError::input(format!("{}: {e}", reference.name)))?;
    let mut appender = Appender::open(copy.path(), false)?;
    #[allow(clippy::type_complexity)]
    let mut pending: Vec<Option<(Record, Option<(Failure, u64, bool)>)>> =
        records.into_iter().map(|r| Some((r, None))).collect();
    let last = pending
        .iter()
        .flatten()
        .map(|(r, _)| r.after)
        .max()
        .unwrap_or(0)
        .min(rows.len() as u64);
    for count in 0..=last {
        if count > 0 {
            appender.append(&rows[count as usize - 1..count as usize], None)?;
        }
        for slot in pending.iter_mut() {
            let Some((r, why)) = slot else { continue };
            if r.before > count || count > r.after {
                continue;
            }
            let expected = outcome::call_here(&base, &r.query);
            match diff(&expected, &r.outcome) {
                None => *slot = None,
                // Name the difference at the count whose rows the answer holds, if any
                // (a torn payload, say), else at the last count compared.
                Some(f) => {
                    let same_rows = ids(&expected).is_some_and(|e| ids(&r.outcome) == Some(e));
                    if same_rows || why.as_ref().is_none_or(|(_, _, held)| !held) {
                        *why = Some((f, count, same_rows));
                    }
                }
            }
        }
        if opts.cancel.is_cancelled() {
            return Ok(None);
        }
    }
    let first = pending
        .into_iter()
        .flatten()
        .find_map(|(record, why)| why.map(|(why, at, _)| Found { at, record, why }));
    Ok(first)
}

/// The ids of an answer's events.
fn ids(o: &Outcome) -> Option<Vec<i64>> {
    o.as_ref().ok().map(|p| p.events.iter().map(|e| e.id).collect())
}
