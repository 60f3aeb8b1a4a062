//! The baseline answers exactly what the reference SQL, evaluated directly,
//! plus payload reads answers; and what a plain in-memory model of the
//! contract answers, on the default dataset and on hand-made tie-heavy ones.

mod common;

use std::path::Path;

use audit_engines::baseline::{Baseline, REFERENCE_SQL};
use audit_engines::{Engine, Event, Page, Query, RowMeta};
use audit_harness::dataset::write::{write_dataset, NewRow};
use audit_harness::dataset::{open_db, read_rows};
use serde_json::json;

/// The reference SQL on one connection, payloads sliced from the whole file.
fn reference(dir: &Path, q: &Query) -> Page {
    let conn = open_db(dir).unwrap();
    let payloads = std::fs::read(dir.join("payloads.jsonl")).unwrap();
    let (limit, offset) = q.limit_offset();
    let mut stmt = conn.prepare(REFERENCE_SQL).unwrap();
    let events = stmt
        .query_map(
            rusqlite::params![q.from_ts, q.to_ts, q.actor_id, q.actor_id, q.action, q.action, limit, offset],
            |r| {
                let off: i64 = r.get(6)?;
                let len: i64 = r.get(7)?;
                let line = &payloads[off as usize..(off + len) as usize];
                Ok(Event {
                    id: r.get(0)?,
                    created_at: r.get(1)?,
                    actor_id: r.get(2)?,
                    action: r.get(3)?,
                    resource_type: r.get(4)?,
                    resource_id: r.get(5)?,
                    payload: serde_json::from_slice(line).unwrap(),
                })
            },
        )
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    Page::new(events)
}

/// The contract written as plain Rust over all rows: filter, sort, skip, take.
fn model(rows: &[RowMeta], payloads: &[u8], q: &Query) -> Page {
    let mut hits: Vec<&RowMeta> = rows
        .iter()
        .filter(|r| q.matches(r.created_at, r.actor_id, &r.action))
        .collect();
    hits.sort_by_key(|r| std::cmp::Reverse((r.created_at, r.id)));
    let (skip, take) = q.skip_take();
    let events = hits
        .into_iter()
        .skip(skip)
        .take(take.unwrap_or(usize::MAX))
        .map(|r| {
            let line = &payloads[r.payload_offset as usize..(r.payload_offset + r.payload_len) as usize];
            r.to_event(serde_json::from_slice(line).unwrap())
        })
        .collect();
    Page::new(events)
}

fn q(from_ts: i64, to_ts: i64, actor_id: Option<i64>, action: Option<&str>, page: i64, page_size: i64) -> Query {
    Query {
        from_ts,
        to_ts,
        actor_id,
        action: action.map(str::to_string),
        page,
        page_size,
    }
}

fn edge_queries(now: i64) -> Vec<Query> {
    vec![
        q(now - 604_800, now, None, None, 1, 50),
        q(now - 604_800, now, None, Some("UPDATE"), 3, 20),
        q(i64::MIN, i64::MAX, None, None, 1, 10),
        q(i64::MIN, i64::MAX, Some(306), None, 1, 50),
        q(i64::MIN, i64::MAX, Some(1896), Some("CREATE"), 1, 10),
        q(now, now - 10, None, None, 1, 10),
        q(1_764_634_557, 1_764_634_557, None, None, 1, 10),
        q(i64::MIN, i64::MAX, None, Some("'; DROP TABLE audit_events; --"), 1, 10),
        q(i64::MIN, i64::MAX, None, Some("%"), 1, 10),
        q(i64::MIN, i64::MAX, None, Some("ÜPDATE"), 1, 10),
        q(i64::MIN, i64::MAX, Some(0), None, 1, 10),
        q(i64::MIN, i64::MAX, Some(-5), None, 1, 10),
        // outside the domain: SQLite's LIMIT/OFFSET rules
        q(now - 604_800, now, Some(7), None, 0, 10),
        q(now - 604_800, now, Some(7), None, -3, 10),
        q(now - 86_400, now, None, Some("DELETE"), 1, -1),
        q(now - 86_400, now, None, Some("DELETE"), 2, 0),
        q(now - 86_400, now, None, Some("DELETE"), 2, 7),
        q(i64::MIN, i64::MAX, None, None, 2001, 20),
    ]
}

#[test]
fn baseline_equals_reference_sql_on_the_default_dataset() {
    let dir = common::default_dataset();
    let spec = common::spec();
    let engine = Baseline::open(&dir).unwrap();
    let rows = read_rows(&open_db(&dir).unwrap()).unwrap();
    let payloads = std::fs::read(dir.join("payloads.jsonl")).unwrap();
    let mut queries = edge_queries(spec.dataset.generator.now);
    for mix in ["default", "shallow"] {
        queries.extend(audit_harness::mix::stream(
            spec.mix(mix).unwrap(),
            &spec.dataset.generator,
            11,
            60,
        ));
    }
    let mut nonempty = 0;
    for query in &queries {
        let got = engine.query(query).unwrap();
        assert_eq!(got, reference(&dir, query), "{query:?}");
        assert_eq!(got, model(&rows, &payloads, query), "{query:?}");
        assert_eq!(got.count, got.events.len());
        nonempty += usize::from(got.count > 0);
    }
    assert!(nonempty > 40, "too few non-empty answers ({nonempty}) to mean anything");
}

fn row(created_at: i64, actor_id: i64, action: &str, n: i64) -> NewRow {
    NewRow {
        created_at,
        actor_id,
        action: action.to_string(),
        resource_type: "ORDER".into(),
        resource_id: format!("ORDER-{n}"),
        payload: json!({"n": n, "s": "é\"\\\n", "nested": {"a": [1, 2.5, null, true]}}),
    }
}

#[test]
fn baseline_orders_ties_by_id_descending_on_hand_made_datasets() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ties");
    // 25 rows on three timestamps, two actors, two actions.
    let rows: Vec<NewRow> = (0..25)
        .map(|i| row(100 + i % 3, 1 + i % 2, if i % 4 == 0 { "LOGIN" } else { "UPDATE" }, i))
        .collect();
    write_dataset(&dir, &rows).unwrap();
    let engine = Baseline::open(&dir).unwrap();
    let meta = read_rows(&open_db(&dir).unwrap()).unwrap();
    let payloads = std::fs::read(dir.join("payloads.jsonl")).unwrap();

    let all = engine.query(&q(0, 1000, None, None, 1, 50)).unwrap();
    let order: Vec<(i64, i64)> = all.events.iter().map(|e| (e.created_at, e.id)).collect();
    let mut want = order.clone();
    want.sort_by(|a, b| b.cmp(a));
    assert_eq!(order, want, "not created_at DESC, id DESC");
    assert_eq!(all.events[0].id, 24); // created_at 102 holds ids 3, 6, ..., 24 (i = 2, 5, ..., 23)
    assert_eq!(
        all.events[0].payload,
        json!({"n": 23, "s": "é\"\\\n", "nested": {"a": [1, 2.5, null, true]}})
    );

    for page_size in [-1, 0, 1, 2, 3, 7, 10, 20, 50] {
        for page in -1..=10 {
            for (actor, action) in [
                (None, None),
                (Some(1), None),
                (None, Some("LOGIN")),
                (Some(2), Some("UPDATE")),
            ] {
                for (from, to) in [(0, 1000), (101, 101), (101, 102), (102, 100)] {
                    let query = q(from, to, actor, action, page, page_size);
                    let got = engine.query(&query).unwrap();
                    assert_eq!(got, reference(&dir, &query), "{query:?}");
                    assert_eq!(got, model(&meta, &payloads, &query), "{query:?}");
                }
            }
        }
    }
}

#[test]
fn baseline_reports_damaged_files_as_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    write_dataset(&dir, &(0..5).map(|i| row(10 + i, 1, "LOGIN", i)).collect::<Vec<_>>()).unwrap();
    let engine = Baseline::open(&dir).unwrap();
    let all = q(0, 100, None, None, 1, 10);
    assert_eq!(engine.query(&all).unwrap().count, 5);
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.join("payloads.jsonl"))
        .unwrap();
    let len = f.metadata().unwrap().len();
    f.set_len(len - 10).unwrap();
    let e = engine.query(&all).unwrap_err().to_string();
    assert!(e.contains("row 5"), "{e}");
    std::fs::remove_file(dir.join("payloads.jsonl")).unwrap();
    assert!(engine.query(&all).is_err());
    assert!(Baseline::open(&tmp.path().join("missing")).is_err());
}
