//! Test cases and how they shrink: queries on the contract dataset (from the
//! spec's mix and from an edge mix built on facts about the dataset), and
//! whole small datasets with a query. Generation draws from quickcheck's `Gen`;
//! shrinking is quickcheck's `Arbitrary::shrink`.

use std::collections::{BTreeMap, HashMap};

use audit_engines::{Domain, Query, RowMeta};
use quickcheck::{Arbitrary, Gen};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::dataset::write::NewRow;

/// A query as a quickcheck value. `shrink` moves toward page 1, no filters and
/// narrower windows, one step at a time.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QueryCase(pub Query);

/// Uniform in `lo..=hi` from quickcheck's generator.
pub fn range(g: &mut Gen, lo: i64, hi: i64) -> i64 {
    debug_assert!(lo <= hi);
    let span = (hi as i128 - lo as i128 + 1) as u128;
    let r = (u64::arbitrary(g) as u128) % span;
    (lo as i128 + r as i128) as i64
}

/// One of `items`.
pub fn pick<T: Clone>(g: &mut Gen, items: &[T]) -> T {
    g.choose(items).expect("pick from a non-empty list").clone()
}

/// Actions beyond the mix: real ones, unknown ones, SQL text, quotes, LIKE
/// wildcards, case variants and unicode. All are plain strings to a correct engine.
pub const ODD_ACTIONS: &[&str] = &[
    "LOGIN",
    "EXPORT",
    "LOGOUT",
    "",
    "update",
    "UPDATE ",
    "UNKNOWN",
    "'; DROP TABLE audit_events; --",
    "' OR '1'='1",
    "O'Reilly",
    "\"quoted\"",
    "%",
    "UPD%",
    "_PDATE",
    "ÜPDATE",
    "更新",
    "🔥",
    "\\",
    "NULL",
];

impl Arbitrary for QueryCase {
    /// A query anywhere: any window (including extreme and reversed), any
    /// filters, pages and sizes in the default domain.
    fn arbitrary(g: &mut Gen) -> QueryCase {
        let a = range(g, i64::MIN, i64::MAX);
        let b = range(g, i64::MIN, i64::MAX);
        QueryCase(Query {
            from_ts: a.min(b),
            to_ts: a.max(b),
            actor_id: Option::<i64>::arbitrary(g),
            action: if bool::arbitrary(g) {
                Some(pick(g, ODD_ACTIONS).to_string())
            } else {
                None
            },
            page: range(g, 1, 2000),
            page_size: pick(g, &[10, 20, 50]),
        })
    }

    fn shrink(&self) -> Box<dyn Iterator<Item = QueryCase>> {
        let q = self.0.clone();
        let mut out: Vec<Query> = Vec::new();
        let with = |f: &dyn Fn(&mut Query)| {
            let mut c = q.clone();
            f(&mut c);
            c
        };
        if q.page != 1 {
            out.push(with(&|c| c.page = 1));
            if q.page > 2 {
                out.push(with(&|c| c.page = q.page / 2 + 1));
            }
            out.push(with(&|c| c.page = q.page - q.page.signum()));
        }
        if q.actor_id.is_some() {
            out.push(with(&|c| c.actor_id = None));
        }
        if q.action.is_some() {
            out.push(with(&|c| c.action = None));
        }
        // Narrower windows: move either end toward the other by half the
        // width, a quarter, ... down to one second (as quickcheck shrinks integers).
        let (f, t) = (q.from_ts as i128, q.to_ts as i128);
        let mut d = (t - f) / 2;
        while f < t && d > 0 {
            let (from, to) = ((f + d) as i64, (t - d) as i64);
            out.push(with(&|c| c.from_ts = from));
            out.push(with(&|c| c.to_ts = to));
            d /= 2;
        }
        if f < t {
            out.push(with(&|c| c.from_ts = q.from_ts + 1));
            out.push(with(&|c| c.to_ts = q.to_ts - 1));
        }
        for size in [10, 20] {
            if q.page_size > size {
                out.push(with(&|c| c.page_size = size));
            }
        }
        out.retain(|c| *c != q);
        Box::new(out.into_iter().map(QueryCase))
    }
}

/// What the edge mix needs to know about the contract dataset.
pub struct Facts {
    pub rows: Vec<RowMeta>,
    pub min_ts: i64,
    pub max_ts: i64,
    /// Seconds that hold two or more rows.
    pub tied_seconds: Vec<i64>,
    pub actors: Vec<i64>,
    pub actions: Vec<String>,
    pub domain: Domain,
}

impl Facts {
    pub fn new(rows: Vec<RowMeta>, domain: Domain) -> Facts {
        let mut per_second: HashMap<i64, u32> = HashMap::new();
        let mut actions = BTreeMap::new();
        let mut actors = std::collections::BTreeSet::new();
        for r in &rows {
            *per_second.entry(r.created_at).or_default() += 1;
            actions.insert(r.action.clone(), ());
            actors.insert(r.actor_id);
        }
        let mut tied_seconds: Vec<i64> = per_second
            .into_iter()
            .filter(|&(_, n)| n >= 2)
            .map(|(t, _)| t)
            .collect();
        tied_seconds.sort_unstable();
        Facts {
            min_ts: rows.iter().map(|r| r.created_at).min().unwrap_or(0),
            max_ts: rows.iter().map(|r| r.created_at).max().unwrap_or(0),
            tied_seconds,
            actors: actors.into_iter().collect(),
            actions: actions.into_keys().collect(),
            rows,
            domain,
        }
    }

    /// Rows matching the query's window and filters (ignoring the page).
    pub fn matching(&self, q: &Query) -> usize {
        self.rows
            .iter()
            .filter(|r| q.matches(r.created_at, r.actor_id, &r.action))
            .count()
    }

    /// A query from the edge mix: the places where engines go wrong.
    pub fn edge_query(&self, g: &mut Gen) -> Query {
        let sizes = self.domain.page_sizes.clone();
        let size = pick(g, &sizes);
        let actor = if self.actors.is_empty() {
            1
        } else {
            pick(g, &self.actors)
        };
        let action = if self.actions.is_empty() {
            None
        } else {
            Some(pick(g, &self.actions))
        };
        let maybe = |g: &mut Gen, a: Option<String>| if bool::arbitrary(g) { a } else { None };
        let q = |from_ts, to_ts, actor_id, action, page| Query {
            from_ts,
            to_ts,
            actor_id,
            action,
            page,
            page_size: size,
        };
        match range(g, 0, 9) {
            // Shallow pages of the whole range: every answer a full page.
            0 => {
                let act = maybe(g, action);
                q(self.min_ts, self.max_ts, None, act, range(g, 1, 5))
            }
            // Whole-range windows with one actor: a few dozen rows, many pages empty.
            1 => {
                let act = maybe(g, action);
                q(i64::MIN, i64::MAX, Some(actor), act, range(g, 1, 3))
            }
            // One-second windows on tied timestamps: the order of ties.
            2 => {
                let t = if self.tied_seconds.is_empty() {
                    self.max_ts
                } else {
                    pick(g, &self.tied_seconds)
                };
                let act = if bool::arbitrary(g) { None } else { maybe(g, action) };
                q(t, t.saturating_add(range(g, 0, 1)), None, act, 1)
            }
            // Reversed windows answer nothing.
            3 => {
                let t = range(g, self.min_ts, self.max_ts);
                q(t, t.saturating_sub(range(g, 1, 1000)), None, None, 1)
            }
            // The last non-empty page of a filter, and the one after it.
            4 => {
                let (from, to) = self.window(g);
                let mut query = q(from, to, Some(actor), None, 1);
                if bool::arbitrary(g) {
                    query.actor_id = None;
                    query.action = action;
                }
                let n = self.matching(&query) as i64;
                let last = (n.saturating_add(size - 1) / size).clamp(1, self.domain.max_page);
                query.page = last.saturating_add(range(g, 0, 1)).min(self.domain.max_page);
                query
            }
            // Extreme bounds.
            5 => {
                let from = pick(g, &[i64::MIN, i64::MIN + 1, -1, 0, self.min_ts]);
                let to = pick(g, &[i64::MAX, i64::MAX - 1, self.max_ts, self.max_ts.saturating_add(1)]);
                let act = maybe(g, action);
                q(from, to, None, act, range(g, 1, 3))
            }
            // Actions outside the mix.
            6 => {
                let (from, to) = self.window(g);
                let act = Some(pick(g, ODD_ACTIONS).to_string());
                q(from, to, None, act, range(g, 1, 2))
            }
            // Actors at and beyond the edges.
            7 => {
                let (from, to) = self.window(g);
                let a = pick(g, &[0, -1, 2001, 2000, 1, i64::MIN, i64::MAX, -2000]);
                q(from, to, Some(a), None, 1)
            }
            // Deep pages of the whole range, near the end of the data.
            8 => {
                let n = self.rows.len() as i64;
                let last = (n.saturating_add(size - 1) / size).clamp(1, self.domain.max_page);
                q(i64::MIN, i64::MAX, None, None, (last - range(g, 0, 2)).max(1))
            }
            // Windows of random width anywhere in the data.
            _ => {
                let (from, to) = self.window(g);
                let act = maybe(g, action);
                let filter = if bool::arbitrary(g) { Some(actor) } else { None };
                q(from, to, filter, act, range(g, 1, 20))
            }
        }
    }

    /// A window inside the data's range, anywhere from one second to all of it.
    fn window(&self, g: &mut Gen) -> (i64, i64) {
        let a = range(g, self.min_ts.saturating_sub(10), self.max_ts.saturating_add(10));
        let width = pick(
            g,
            &[0, 1, 60, 3600, 86_400, 604_800, self.max_ts.saturating_sub(self.min_ts)],
        );
        (a, a.saturating_add(width))
    }
}

/// A whole small dataset and one query on it: few timestamps, actors and
/// actions, so ties and filters collide often.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SmallCase {
    pub rows: Vec<SmallRow>,
    pub query: Query,
}

/// One row of a small dataset; ids are positions, payloads are small JSON values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SmallRow {
    pub created_at: i64,
    pub actor_id: i64,
    pub action: String,
    pub payload: Value,
}

const SMALL_ACTIONS: [&str; 3] = ["LOGIN", "UPDATE", "DELETE"];
const SMALL_BASE: i64 = 1_000;

impl SmallRow {
    pub fn to_new_row(&self, i: usize) -> NewRow {
        NewRow {
            created_at: self.created_at,
            actor_id: self.actor_id,
            action: self.action.clone(),
            resource_type: "ORDER".into(),
            resource_id: format!("ORDER-{i}"),
            payload: self.payload.clone(),
        }
    }
}

impl Arbitrary for SmallRow {
    fn arbitrary(g: &mut Gen) -> SmallRow {
        let n = range(g, 0, 1000);
        let payload = match range(g, 0, 3) {
            0 => json!({"n": n}),
            1 => {
                json!({"n": n, "s": pick(g, &["é", "\"q\"", "a\\b", "line\nbreak", "🔥", ""]), "f": 0.5})
            }
            2 => json!({"n": n, "list": [n, null, true, {"deep": [n]}]}),
            _ => json!({"n": n, "note": "x".repeat(range(g, 0, 40) as usize)}),
        };
        SmallRow {
            created_at: SMALL_BASE + range(g, 0, 4),
            actor_id: range(g, 1, 3),
            action: pick(g, &SMALL_ACTIONS).to_string(),
            payload,
        }
    }

    fn shrink(&self) -> Box<dyn Iterator<Item = SmallRow>> {
        let mut out = Vec::new();
        if self.payload != json!({}) {
            out.push(SmallRow {
                payload: json!({}),
                ..self.clone()
            });
        }
        if self.actor_id != 1 {
            out.push(SmallRow {
                actor_id: 1,
                ..self.clone()
            });
        }
        if self.action != SMALL_ACTIONS[0] {
            out.push(SmallRow {
                action: SMALL_ACTIONS[0].into(),
                ..self.clone()
            });
        }
        if self.created_at != SMALL_BASE {
            out.push(SmallRow {
                created_at: SMALL_BASE,
                ..self.clone()
            });
        }
        Box::new(out.into_iter())
    }
}

impl Arbitrary for SmallCase {
    fn arbitrary(g: &mut Gen) -> SmallCase {
        let n = range(g, 1, g.size().clamp(1, 60) as i64) as usize;
        let rows: Vec<SmallRow> = (0..n).map(|_| SmallRow::arbitrary(g)).collect();
        let a = SMALL_BASE + range(g, -1, 5);
        let b = SMALL_BASE + range(g, -1, 5);
        let size = pick(g, &[10, 20, 50]);
        let pages = (n as i64 / size) + 2;
        SmallCase {
            query: Query {
                from_ts: a.min(b),
                to_ts: if range(g, 0, 9) == 0 { a.min(b) - 1 } else { a.max(b) },
                actor_id: if bool::arbitrary(g) { Some(range(g, 0, 4)) } else { None },
                action: if bool::arbitrary(g) {
                    Some(pick(g, &["LOGIN", "UPDATE", "DELETE", "NOPE"]).to_string())
                } else {
                    None
                },
                page: range(g, 1, pages),
                page_size: size,
            },
            rows,
        }
    }

    /// Big steps first (drop the rows the query cannot see, simplify every row
    /// at once), then a simpler query (a lower page needs fewer rows), then
    /// quickcheck's vector shrinking (fewer rows, simpler rows).
    fn shrink(&self) -> Box<dyn Iterator<Item = SmallCase>> {
        let mut bulk = Vec::new();
        let q = &self.query;
        let seen: Vec<SmallRow> = self
            .rows
            .iter()
            .filter(|r| q.matches(r.created_at, r.actor_id, &r.action))
            .cloned()
            .collect();
        if !seen.is_empty() && seen.len() < self.rows.len() {
            bulk.push(seen);
        }
        let simplified: [fn(&SmallRow) -> SmallRow; 3] = [
            |r| SmallRow {
                payload: json!({}),
                ..r.clone()
            },
            |r| SmallRow {
                actor_id: 1,
                ..r.clone()
            },
            |r| SmallRow {
                action: SMALL_ACTIONS[0].into(),
                ..r.clone()
            },
        ];
        for f in simplified {
            let rows: Vec<SmallRow> = self.rows.iter().map(f).collect();
            if rows != self.rows {
                bulk.push(rows);
            }
        }
        let query = self.query.clone();
        let mut bulk: Vec<SmallCase> = bulk
            .into_iter()
            .map(|rows| SmallCase {
                rows,
                query: query.clone(),
            })
            .collect();
        // The same page one page earlier: drop the newest page_size rows the query sees.
        if q.page > 1 && q.page_size > 0 {
            let mut seen: Vec<usize> = (0..self.rows.len())
                .filter(|&i| q.matches(self.rows[i].created_at, self.rows[i].actor_id, &self.rows[i].action))
                .collect();
            seen.sort_by_key(|&i| std::cmp::Reverse((self.rows[i].created_at, i)));
            let drop: Vec<usize> = seen.into_iter().take(q.page_size as usize).collect();
            let rows: Vec<SmallRow> = self
                .rows
                .iter()
                .enumerate()
                .filter(|(i, _)| !drop.contains(i))
                .map(|(_, r)| r.clone())
                .collect();
            if !rows.is_empty() {
                bulk.insert(
                    0,
                    SmallCase {
                        rows,
                        query: Query {
                            page: q.page - 1,
                            ..q.clone()
                        },
                    },
                );
            }
        }
        let query = self.query.clone();
        let fewer = self.rows.shrink().filter(|r| !r.is_empty()).map(move |rows| SmallCase {
            rows,
            query: query.clone(),
        });
        let rows = self.rows.clone();
        let simpler_query = QueryCase(self.query.clone()).shrink().map(move |q| SmallCase {
            rows: rows.clone(),
            query: q.0,
        });
        Box::new(bulk.into_iter().chain(simpler_query).chain(fewer))
    }
}
