//! Metamorphic properties, checked on the baseline too: relations between an
//! engine's own answers that must hold whatever the data.
//! - pagination: walking pages 1, 2, ... until an empty page concatenates to
//!   the full ordered answer, with no duplicate and no gap, for every page size;
//! - partition (SQLancer's TLP): the answers for each action, merged, equal the
//!   answer without an action filter.

use std::time::Instant;

use audit_engines::{Event, Query, SharedEngine};
use quickcheck::Gen;

use super::cases::{pick, range, QueryCase};
use super::contract::{Context, SHRINK_BUDGET};
use super::outcome::{self, Failure, FailureKind};
use super::results::{cannot_open, finish, mismatch_only, stopped};
use super::shrink::shrink;
use super::{replay, Counterexample, Opener, Options, Property, PropertyResult, Tally};

/// Filters whose full answers stay small enough to walk page by page.
fn combos(ctx: &Context, opts: &Options, prop: Property) -> Vec<Query> {
    let f = &ctx.facts;
    let mut g = Gen::from_size_and_seed(100, prop.seed(opts.seed));
    let mut qs = Vec::new();
    let base = |from_ts, to_ts, actor_id, action| Query {
        from_ts,
        to_ts,
        actor_id,
        action,
        page: 1,
        page_size: 10,
    };
    for _ in 0..3 {
        let actor = if f.actors.is_empty() {
            1
        } else {
            pick(&mut g, &f.actors)
        };
        qs.push(base(i64::MIN, i64::MAX, Some(actor), None));
    }
    let day_start = range(&mut g, f.min_ts, f.max_ts.max(f.min_ts));
    qs.push(base(day_start, day_start + 21_600, None, None));
    if let Some(&t) = f.tied_seconds.first() {
        qs.push(base(t - 1, t + 1, None, None));
    }
    if prop == Property::Pagination {
        let action = f.actions.first().cloned();
        qs.push(base(day_start, day_start + 86_400, None, action));
        qs.push(base(f.max_ts, f.min_ts, None, None));
    }
    qs
}

/// All pages of `q` at `page_size`, until an empty page (or max_page).
fn walk(
    engine: &SharedEngine,
    opts: &Options,
    q: &Query,
    page_size: i64,
    fetched: &mut u64,
) -> Result<Vec<Vec<Event>>, Failure> {
    let mut pages = Vec::new();
    for page in 1..=opts.domain.max_page {
        let query = Query {
            page,
            page_size,
            ..q.clone()
        };
        *fetched += 1;
        let events = match outcome::call(engine, &query, opts.call_timeout, &opts.cancel) {
            Ok(p) => p.events,
            Err(e) if e.stops() => return Err(Failure::Call(e)),
            Err(e) => return Err(Failure::Mismatch(format!("page {page} at size {page_size}: {e}"))),
        };
        if events.is_empty() {
            break;
        }
        pages.push(events);
    }
    Ok(pages)
}

fn key(e: &Event) -> (i64, i64) {
    (e.created_at, e.id)
}

/// Why pagination does not hold for `q`, if it does not.
fn pagination(ctx: &Context, opts: &Options, engine: &SharedEngine, q: &Query, fetched: &mut u64) -> Option<Failure> {
    let mut want: Vec<(i64, i64)> = ctx
        .facts
        .rows
        .iter()
        .filter(|r| q.matches(r.created_at, r.actor_id, &r.action))
        .map(|r| (r.created_at, r.id))
        .collect();
    want.sort_by(|a, b| b.cmp(a));
    let mut first: Option<(i64, Vec<Event>)> = None;
    for &size in &opts.domain.page_sizes {
        let pages = match walk(engine, opts, q, size, fetched) {
            Ok(p) => p,
            Err(e) => return Some(e),
        };
        for (i, p) in pages.iter().enumerate() {
            if p.len() as i64 != size && i + 1 < pages.len() {
                return Some(Failure::Mismatch(format!(
                    "page {} at size {size} holds {} events but is not the last",
                    i + 1,
                    p.len()
                )));
            }
        }
        let all: Vec<Event> = pages.into_iter().flatten().collect();
        if let Some(w) = all.windows(2).find(|w| key(&w[0]) <= key(&w[1])) {
            return Some(Failure::Mismatch(format!(
                "at size {size}: (created_at, id) {:?} is followed by {:?}: a duplicate or out of order",
                key(&w[0]),
                key(&w[1])
            )));
        }
        if let Some(e) = all.iter().find(|e| !q.matches(e.created_at, e.actor_id, &e.action)) {
            return Some(Failure::Mismatch(format!(
                "at size {size}: event id {} does not match the filter",
                e.id
            )));
        }
        let got: Vec<(i64, i64)> = all.iter().map(key).collect();
        if got != want {
            let missing = want.iter().find(|k| !got.contains(k));
            return Some(Failure::Mismatch(format!(
                "at size {size}: the pages hold {} events, the data {} (first missing (created_at, id): {missing:?})",
                got.len(),
                want.len()
            )));
        }
        match &first {
            None => first = Some((size, all)),
            Some((s0, a0)) if *a0 != all => {
                return Some(Failure::Mismatch(format!(
                    "walking at size {size} gives other events than at size {s0}"
                )));
            }
            _ => {}
        }
    }
    None
}

/// Why the partition by action does not hold for `q`, if it does not.
fn partition(ctx: &Context, opts: &Options, engine: &SharedEngine, q: &Query, fetched: &mut u64) -> Option<Failure> {
    let size = *opts.domain.page_sizes.iter().max().unwrap_or(&50);
    let whole = match walk(
        engine,
        opts,
        &Query {
            action: None,
            ..q.clone()
        },
        size,
        fetched,
    ) {
        Ok(p) => p.into_iter().flatten().collect::<Vec<_>>(),
        Err(e) => return Some(e),
    };
    let mut merged = Vec::new();
    let mut actions = ctx.facts.actions.clone();
    actions.push("NO-SUCH-ACTION".into());
    for a in &actions {
        match walk(
            engine,
            opts,
            &Query {
                action: Some(a.clone()),
                ..q.clone()
            },
            size,
            fetched,
        ) {
            Ok(p) => {
                let part: Vec<Event> = p.into_iter().flatten().collect();
                if let Some(e) = part.iter().find(|e| e.action != *a) {
                    return Some(Failure::Mismatch(format!(
                        "the answer for action {a:?} holds event id {} with action {:?}",
                        e.id, e.action
                    )));
                }
                merged.extend(part);
            }
            Err(e) => return Some(e),
        }
    }
    merged.sort_by_key(|e| std::cmp::Reverse(key(e)));
    if merged != whole {
        return Some(Failure::Mismatch(format!(
            "the answers per action hold {} events, the answer without an action filter {}",
            merged.len(),
            whole.len()
        )));
    }
    None
}

/// Runs one metamorphic property for one engine (candidate or baseline).
pub fn run(opts: &Options, ctx: &Context, c: &Opener, prop: Property) -> PropertyResult {
    let start = Instant::now();
    let seed = prop.seed(opts.seed);
    let engine = match (c.open)(&opts.dataset) {
        Ok(e) => e,
        Err(e) => return cannot_open(opts, c, prop, seed, &e.to_string()),
    };
    let check = |q: &Query, fetched: &mut u64| match prop {
        Property::Pagination => pagination(ctx, opts, &engine, q, fetched),
        _ => partition(ctx, opts, &engine, q, fetched),
    };
    let mut tally = Tally::new();
    let mut fetched = 0u64;
    for q in combos(ctx, opts, prop) {
        if opts.cancel.is_cancelled() {
            break;
        }
        let failure = check(&q, &mut fetched);
        if let Some(f) = failure.as_ref().filter(|f| f.stops()) {
            let ce = stopped(opts, c, prop, &q, f);
            tally.record(Some(move || ce));
            break;
        }
        tally.record(failure.map(|f| f.to_string()).map(|why| {
            || {
                let mut scratch = 0;
                let gave_up = std::cell::Cell::new(false);
                let s = shrink(
                    QueryCase(q.clone()),
                    why,
                    |cand| mismatch_only(&gave_up, || check(&cand.0, &mut scratch)),
                    SHRINK_BUDGET / 20,
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
    finish(c, prop, seed, tally, start)
}
