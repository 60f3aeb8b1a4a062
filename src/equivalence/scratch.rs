//! Properties that change files, each on a scratch copy of the contract dataset:
//! - payloads_from_disk: a payload rewritten in place (same length, other
//!   content) between two identical requests shows up in the second answer, and
//!   a truncated payload file makes the engine fail instead of answering;
//! - appends: rows appended as the service appends them show up in the next
//!   answers exactly as the baseline shows them.

use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::Instant;

use audit_engines::{Query, SharedEngine};
use serde_json::json;

use super::contract::Context;
use super::outcome::{self, diff, Failure};
use super::results::{cannot_open, finish};
use super::{replay, Counterexample, Opener, Options, Property, PropertyResult, Tally};
use crate::dataset::live::Scratch;
use crate::dataset::write::{append_rows, NewRow};
use crate::error::HarnessError;

/// A JSON line of exactly `len` bytes (newline included) that differs from any payload here.
fn same_length_line(len: usize, tag: i64) -> Option<Vec<u8>> {
    let head = serde_json::to_string(&json!({"rewritten": tag, "pad": ""})).ok()?;
    let pad = len.checked_sub(head.len() + 1)?;
    let mut line = serde_json::to_vec(&json!({"rewritten": tag, "pad": "z".repeat(pad)})).ok()?;
    line.push(b'\n');
    (line.len() == len).then_some(line)
}

/// Runs one file-changing property for one candidate.
pub fn run(
    opts: &Options,
    ctx: &Context,
    baseline: &Opener,
    c: &Opener,
    prop: Property,
) -> Result<PropertyResult, HarnessError> {
    let start = Instant::now();
    let seed = prop.seed(opts.seed);
    let dir = Scratch::copy_of(&opts.dataset)?;
    let engine = match (c.open)(dir.path()) {
        Ok(e) => e,
        Err(e) => return Ok(cannot_open(opts, c, prop, seed, &e.to_string())),
    };
    let base = (baseline.open)(dir.path())
        .map_err(|e| HarnessError::input(format!("the reference {}: {e}", baseline.name)))?;
    let mut tally = Tally::new();
    // After a hang or a breakdown the engine is not asked again.
    let gave_up = std::cell::Cell::new(false);
    let check = |step: &str, q: &Query, tally: &mut Tally| {
        if gave_up.get() || opts.cancel.is_cancelled() {
            return;
        }
        let expected = outcome::call_here(&base, q);
        let failure = diff(&expected, &outcome::call(&engine, q, opts.call_timeout, &opts.cancel));
        gave_up.set(failure.as_ref().is_some_and(Failure::stops));
        tally.record(failure.map(|why| {
            move || Counterexample {
                query: q.clone(),
                dataset: None,
                detail: format!("{step}: {why}"),
                kind: why.kind(),
                shrink_steps: 0,
                replay: replay(opts, &c.name, prop),
            }
        }));
    };
    match prop {
        Property::PayloadsFromDisk => {
            payloads_from_disk(ctx, dir.path(), &engine, &mut |s, q| check(s, q, &mut tally))?
        }
        _ => appends(ctx, opts, dir.path(), &mut |s, q| check(s, q, &mut tally))?,
    }
    Ok(finish(c, prop, seed, tally, start))
}

fn payloads_from_disk(
    ctx: &Context,
    dir: &Path,
    engine: &SharedEngine,
    check: &mut dyn FnMut(&str, &Query),
) -> Result<(), HarnessError> {
    let f = &ctx.facts;
    let q = Query {
        from_ts: f.min_ts,
        to_ts: f.max_ts,
        actor_id: None,
        action: None,
        page: 1,
        page_size: 10,
    };
    check("before any change", &q);
    // Warm whatever the engine might cache, then rewrite two returned payloads in place.
    let _ = outcome::call_here(engine, &q);
    let pl = dir.join(audit_engines::PAYLOADS_FILE);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&pl)
        .map_err(|e| HarnessError::io(&pl, e))?;
    let mut rewritten = 0;
    let mut top: Vec<_> = f
        .rows
        .iter()
        .filter(|r| q.matches(r.created_at, r.actor_id, &r.action))
        .collect();
    top.sort_by_key(|r| std::cmp::Reverse((r.created_at, r.id)));
    for (i, r) in top.iter().take(3).enumerate() {
        if let Some(line) = same_length_line(r.payload_len as usize, i as i64) {
            file.write_all_at(&line, r.payload_offset)
                .map_err(|e| HarnessError::io(&pl, e))?;
            rewritten += 1;
        }
    }
    file.sync_data().map_err(|e| HarnessError::io(&pl, e))?;
    if rewritten > 0 {
        check(
            "after rewriting returned payloads in place (same length, new content)",
            &q,
        );
        check("the same request again", &q);
    }
    // Truncate inside the newest row's payload: every engine must now fail on it.
    if let Some(r) = top.first() {
        file.set_len(r.payload_offset + r.payload_len / 2)
            .map_err(|e| HarnessError::io(&pl, e))?;
        check("after truncating payloads.jsonl inside a returned payload", &q);
        let deep = Query { page: 2, ..q.clone() };
        check("after truncating payloads.jsonl, another page", &deep);
    }
    Ok(())
}

fn appends(ctx: &Context, opts: &Options, dir: &Path, check: &mut dyn FnMut(&str, &Query)) -> Result<(), HarnessError> {
    let f = &ctx.facts;
    let now = opts.generator.now;
    let tie = f.tied_seconds.last().copied().unwrap_or(f.max_ts);
    // Spec values and the data's own bounds may sit near i64's ends: saturate.
    let before = |t: i64, d: i64| t.saturating_sub(d);
    let after = |t: i64, d: i64| t.saturating_add(d);
    let actor = 424_242;
    let action = f.actions.first().cloned().unwrap_or_else(|| "LOGIN".into());
    let q = |from_ts, to_ts, actor_id, action: Option<String>, page, page_size| Query {
        from_ts,
        to_ts,
        actor_id,
        action,
        page,
        page_size,
    };
    let queries = vec![
        q(i64::MIN, i64::MAX, None, None, 1, 10),
        q(i64::MIN, i64::MAX, None, None, 2, 50),
        q(before(now, 3600), after(now, 3600), None, None, 1, 20),
        q(tie, tie, None, None, 1, 10),
        q(i64::MIN, i64::MAX, Some(actor), None, 1, 10),
        q(i64::MIN, i64::MAX, Some(actor), None, 2, 10),
        q(
            before(f.min_ts, 10),
            after(f.min_ts, 10),
            None,
            Some(action.clone()),
            1,
            10,
        ),
        q(before(now, 604_800), now, None, Some(action.clone()), 1, 50),
    ];
    for query in &queries {
        check("before appending", query);
    }
    let row = |created_at, actor_id, n: i64| NewRow {
        created_at,
        actor_id,
        action: action.clone(),
        resource_type: "ORDER".into(),
        resource_id: format!("ORDER-appended-{n}"),
        payload: json!({"appended": n, "note": "y".repeat(n as usize % 50)}),
    };
    // Round 1: a newest row, a row tied with existing ones, an oldest row, a new actor.
    let first = vec![
        row(after(f.max_ts, 5), actor, 1),
        row(tie, actor, 2),
        row(before(f.min_ts, 1), 7, 3),
    ];
    append_rows(dir, &first)?;
    for query in &queries {
        check("after appending 3 rows", query);
    }
    // Round 2: enough rows to move page boundaries.
    let second: Vec<NewRow> = (0..40)
        .map(|i| {
            row(
                if i % 2 == 0 { before(now, i) } else { tie },
                if i % 3 == 0 { actor } else { 9 },
                10 + i,
            )
        })
        .collect();
    append_rows(dir, &second)?;
    for query in &queries {
        check("after appending 40 more rows", query);
    }
    Ok(())
}
