//! Properties on the contract dataset: the request mix, the edge mix, probes
//! outside the domain, concurrency and saved regressions. The baseline's
//! answers are computed once per query and shared by every candidate.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use audit_engines::{Query, SharedEngine};
use quickcheck::Gen;

use super::cases::{Facts, QueryCase};
use super::outcome::{self, diff, Failure, FailureKind, Outcome};
use super::regressions::Saved;
use super::results::{cannot_open, finish, mismatch_only, stopped};
use super::shrink::shrink;
use super::{replay, small, spawn_scoped, Counterexample, Opener, Options, Property, PropertyResult, Status, Tally};
use crate::cancel::Cancel;
use crate::dataset::{open_db, read_rows};
use crate::error::HarnessError;

/// Shrinking tries at most this many candidates per failure.
pub const SHRINK_BUDGET: usize = 2_000;

/// The contract dataset, its facts, the baseline on it and the baseline's answers so far.
pub struct Context {
    pub facts: Facts,
    baseline: SharedEngine,
    answers: Mutex<HashMap<Query, Outcome>>,
    /// Stops [`Context::precompute`].
    cancel: Cancel,
}

impl Context {
    pub fn new(opts: &Options, baseline: &Opener) -> Result<Context, HarnessError> {
        let conn = open_db(&opts.dataset)?;
        let rows = read_rows(&conn).map_err(|e| HarnessError::sql(opts.dataset.join(audit_engines::DB_FILE), e))?;
        let engine = (baseline.open)(&opts.dataset).map_err(|e| {
            HarnessError::input(format!(
                "the reference {}: cannot open {}: {e}",
                baseline.name,
                opts.dataset.display()
            ))
        })?;
        Ok(Context {
            facts: Facts::new(rows, opts.domain.clone()),
            baseline: engine,
            answers: Mutex::new(HashMap::new()),
            cancel: opts.cancel.clone(),
        })
    }

    /// The baseline's answer to `q`, computed once.
    pub fn expected(&self, q: &Query) -> Outcome {
        if let Some(o) = crate::sync::lock(&self.answers).get(q) {
            return o.clone();
        }
        let o = outcome::call_here(&self.baseline, q);
        crate::sync::lock(&self.answers).insert(q.clone(), o.clone());
        o
    }

    /// Computes the baseline's answers to `queries` on all cores.
    /// (Without threads, the answers are computed when first needed instead.)
    pub fn precompute(&self, queries: &[Query]) {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let chunk = queries.len().div_ceil(threads).max(1);
        std::thread::scope(|s| {
            for part in queries.chunks(chunk) {
                let spawned = std::thread::Builder::new().spawn_scoped(s, move || {
                    part.iter()
                        .take_while(|_| !self.cancel.is_cancelled())
                        .for_each(|q| drop(self.expected(q)))
                });
                if spawned.is_err() {
                    break;
                }
            }
        });
    }

    /// The seeded cases of the mix or edge property: the same for every candidate.
    pub fn suite(&self, opts: &Options, prop: Property) -> Vec<Query> {
        let mix_cases = (opts.cases.saturating_mul(2) / 5).max(1) as usize;
        let seed = prop.seed(opts.seed);
        let queries = match prop {
            Property::Mix => crate::mix::stream(&opts.mix, &opts.generator, seed, mix_cases),
            _ => {
                let mut g = Gen::from_size_and_seed(100, seed);
                let n = (opts.cases as usize).saturating_sub(mix_cases).max(1);
                (0..n).map(|_| self.facts.edge_query(&mut g)).collect()
            }
        };
        self.precompute(&queries);
        queries
    }

    /// Queries for the concurrency property: a slice of both suites, answers known.
    pub fn concurrency_suite(&self, opts: &Options) -> Vec<Query> {
        let mut g = Gen::from_size_and_seed(100, Property::Concurrency.seed(opts.seed));
        let mut qs: Vec<Query> = (0..192).map(|_| self.facts.edge_query(&mut g)).collect();
        qs.extend(crate::mix::stream(
            &opts.mix,
            &opts.generator,
            Property::Concurrency.seed(opts.seed),
            64,
        ));
        self.precompute(&qs);
        qs
    }

    /// Probes outside the domain: pages <= 0 and past max_page, and page sizes
    /// outside the allowed set, on windows that hold rows. Negative sizes (no
    /// limit) are probed on narrow filters only, so the answers stay small.
    pub fn outside_domain_suite(&self, opts: &Options) -> Vec<Query> {
        let f = &self.facts;
        let now = opts.generator.now;
        let actor = f.actors.first().copied().unwrap_or(1);
        let action = f.actions.first().cloned();
        let windows = [
            (now.saturating_sub(3_600), now, None, None, true),
            (i64::MIN, i64::MAX, Some(actor), None, true),
            (now.saturating_sub(86_400), now, Some(actor), action.clone(), true),
            (i64::MIN, i64::MAX, None, action, false),
            (f.min_ts, f.max_ts, None, None, false),
        ];
        let max = opts.domain.max_page;
        let mut qs = Vec::new();
        for (from_ts, to_ts, actor_id, action, narrow) in windows {
            let q = |page, page_size| Query {
                from_ts,
                to_ts,
                actor_id,
                action: action.clone(),
                page,
                page_size,
            };
            for page in [0, -1, -7, max.saturating_add(1), max.saturating_add(500)] {
                qs.push(q(page, opts.domain.page_sizes[0]));
            }
            let sizes: &[i64] = if narrow {
                &[1, 7, 100, 0, -1, -10]
            } else {
                &[1, 7, 100, 0]
            };
            for &size in sizes {
                for page in [1, 2, 3] {
                    qs.push(q(page, size));
                }
            }
        }
        self.precompute(&qs);
        qs
    }

    /// Compares a candidate with the baseline on `suite`, shrinking the first
    /// mismatch. An engine that hangs or breaks down is not asked again: its
    /// failing call is the counterexample, unshrunk.
    pub fn compare(
        &self,
        opts: &Options,
        c: &Opener,
        suite: &[Query],
        prop: Property,
    ) -> Result<PropertyResult, HarnessError> {
        let start = Instant::now();
        let seed = prop.seed(opts.seed);
        let engine = match (c.open)(&opts.dataset) {
            Ok(e) => e,
            Err(e) => return Ok(cannot_open(opts, c, prop, seed, &e.to_string())),
        };
        let in_domain = prop != Property::OutsideDomain;
        // Check the suite on every core (each query independently, in order per
        // core), then tally in suite order and shrink the first failure.
        let stop = std::sync::atomic::AtomicBool::new(false);
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let chunk = suite.len().div_ceil(threads).max(1);
        let verdicts: Vec<Option<Failure>> = std::thread::scope(|s| {
            let mut handles = Vec::new();
            for part in suite.chunks(chunk) {
                let (engine, stop) = (&engine, &stop);
                handles.push(spawn_scoped(s, move || {
                    part.iter()
                        .map(|q| {
                            if stop.load(std::sync::atomic::Ordering::Relaxed) || opts.cancel.is_cancelled() {
                                return None;
                            }
                            let why = diff(
                                &self.expected(q),
                                &outcome::call(engine, q, opts.call_timeout, &opts.cancel),
                            );
                            if why.as_ref().is_some_and(Failure::stops) {
                                stop.store(true, std::sync::atomic::Ordering::Relaxed);
                            }
                            why
                        })
                        .collect::<Vec<_>>()
                })?);
            }
            Ok::<_, HarnessError>(handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect())
        })?;
        // Calls run in parallel: after one hangs, the others fail at once as
        // "not asked again". The hang is the cause, so it is the counterexample.
        let hang = suite
            .iter()
            .zip(&verdicts)
            .find(|(_, f)| f.as_ref().is_some_and(Failure::is_hang))
            .map(|(q, f)| (q.clone(), f.clone()));
        let mut tally = Tally::new();
        for (q, failure) in suite.iter().zip(verdicts) {
            if let Some(f) = failure.as_ref().filter(|f| f.stops()) {
                let ce = match &hang {
                    Some((hq, Some(hf))) => stopped(opts, c, prop, hq, hf),
                    _ => stopped(opts, c, prop, q, f),
                };
                tally.record(Some(move || ce));
                break;
            }
            tally.record(failure.map(|f| f.to_string()).map(|why| {
                || {
                    let gave_up = std::cell::Cell::new(false);
                    let s = shrink(
                        QueryCase(q.clone()),
                        why,
                        |cand| {
                            if in_domain && !opts.domain.contains(&cand.0) {
                                return None;
                            }
                            mismatch_only(&gave_up, || {
                                diff(
                                    &self.expected(&cand.0),
                                    &outcome::call(&engine, &cand.0, opts.call_timeout, &opts.cancel),
                                )
                            })
                        },
                        SHRINK_BUDGET,
                    );
                    Counterexample {
                        query: s.value.0,
                        dataset: None,
                        detail: s.why,
                        kind: FailureKind::Mismatch,
                        shrink_steps: s.steps,
                        replay: replay(opts, &c.name, prop),
                    }
                }
            }));
        }
        Ok(finish(c, prop, seed, tally, start))
    }

    /// Many threads share one instance; each checks its answers against the baseline's.
    pub fn concurrency(&self, opts: &Options, c: &Opener, suite: &[Query]) -> Result<PropertyResult, HarnessError> {
        let start = Instant::now();
        let prop = Property::Concurrency;
        let seed = prop.seed(opts.seed);
        let engine = match (c.open)(&opts.dataset) {
            Ok(e) => e,
            Err(e) => return Ok(cannot_open(opts, c, prop, seed, &e.to_string())),
        };
        let per_thread = 64usize;
        // At least the engine's full declared concurrency, so that every slot is exercised.
        let threads = opts.threads.max(engine.concurrency().unwrap_or(0));
        let first: Mutex<Option<(Query, Failure)>> = Mutex::new(None);
        let failures = std::sync::atomic::AtomicU64::new(0);
        // Every thread starts when the gate's write lock is released (a barrier
        // would wait forever for a thread that could not be started).
        let gate = std::sync::RwLock::new(());
        let stop = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|s| {
            let open_gate = gate.write().unwrap_or_else(|p| p.into_inner());
            for t in 0..threads {
                let (engine, first, failures, gate, stop) = (&engine, &first, &failures, &gate, &stop);
                let spawned = spawn_scoped(s, move || {
                    drop(gate.read().unwrap_or_else(|p| p.into_inner()));
                    for i in 0..per_thread {
                        if stop.load(std::sync::atomic::Ordering::Relaxed) || opts.cancel.is_cancelled() {
                            break;
                        }
                        let q = &suite[(t * 37 + i * 5) % suite.len()];
                        if let Some(why) = diff(
                            &self.expected(q),
                            &outcome::call(engine, q, opts.call_timeout, &opts.cancel),
                        ) {
                            stop.fetch_or(why.stops(), std::sync::atomic::Ordering::Relaxed);
                            failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            // The first failure, unless a hang (the cause of
                            // the others' "not asked again") comes later.
                            let mut first = crate::sync::lock(first);
                            if first.as_ref().is_none_or(|(_, f)| !f.is_hang() && why.is_hang()) {
                                *first = Some((q.clone(), why));
                            }
                        }
                    }
                });
                if let Err(e) = spawned {
                    stop.store(true, std::sync::atomic::Ordering::Relaxed);
                    drop(open_gate);
                    return Err(e);
                }
            }
            drop(open_gate);
            Ok(())
        })?;
        let failures = failures.into_inner();
        let counterexample = first
            .into_inner()
            .unwrap_or_else(|p| p.into_inner())
            .map(|(query, why)| {
                if why.stops() {
                    return stopped(opts, c, prop, &query, &why);
                }
                let alone = diff(&self.expected(&query), &outcome::call_here(&engine, &query)).is_none();
                Counterexample {
                    detail: format!(
                        "{why} (under {} threads; {})",
                        threads,
                        if alone {
                            "the same query alone answers correctly: a race"
                        } else {
                            "also wrong alone"
                        }
                    ),
                    query,
                    dataset: None,
                    kind: FailureKind::Mismatch,
                    shrink_steps: 0,
                    replay: replay(opts, &c.name, prop),
                }
            });
        Ok(PropertyResult {
            engine: c.name.clone(),
            property: prop,
            status: if failures == 0 { Status::Pass } else { Status::Fail },
            cases: (threads * per_thread) as u64,
            failures,
            seed,
            counterexample,
            seconds: start.elapsed().as_secs_f64(),
            note: None,
        })
    }

    /// Replays saved counterexamples (contract-dataset queries and small datasets).
    pub fn replay_regressions(&self, opts: &Options, c: &Opener, saved: &[Saved]) -> PropertyResult {
        let start = Instant::now();
        let prop = Property::Regressions;
        let engine = match (c.open)(&opts.dataset) {
            Ok(e) => e,
            Err(e) => return cannot_open(opts, c, prop, opts.seed, &e.to_string()),
        };
        let mut tally = Tally::new();
        for s in saved {
            if opts.cancel.is_cancelled() {
                break;
            }
            if !opts.strict_domain && !opts.domain.contains(&s.query) {
                continue;
            }
            let failure = match &s.dataset {
                None => diff(
                    &self.expected(&s.query),
                    &outcome::call(&engine, &s.query, opts.call_timeout, &opts.cancel),
                ),
                Some(rows) => small::check_case(opts, c, rows, &s.query).err(),
            };
            if let Some(f) = failure.as_ref().filter(|f| f.stops()) {
                let ce = Counterexample {
                    dataset: s.dataset.clone(),
                    ..stopped(opts, c, prop, &s.query, f)
                };
                tally.record(Some(move || ce));
                break;
            }
            tally.record(failure.map(|why| {
                move || Counterexample {
                    query: s.query.clone(),
                    dataset: s.dataset.clone(),
                    detail: format!("{why} (saved from {} {})", s.engine, s.property),
                    kind: FailureKind::Mismatch,
                    shrink_steps: 0,
                    replay: replay(opts, &c.name, prop),
                }
            }));
        }
        finish(c, prop, opts.seed, tally, start)
    }
}
