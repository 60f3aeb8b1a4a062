//! `latencies.csv`: one row per measured request, enough to recompute every
//! figure of the run (`audit-harness report`). Times are microseconds with
//! three decimals, so the nanoseconds round-trip exactly.

use std::collections::HashMap;
use std::io::Read;

use audit_engines::Query;

use crate::bench::{Series, Trial};
use crate::error::HarnessError;
use crate::measured::Request;

use super::{csv_err, finish_csv, SCHEMA_VERSION};

/// The columns, then `start_us` (the request's actual start from its
/// slice's start, which gives each slice's elapsed time and, in open loop, its
/// lateness), the slice of the round it ran in and the worker that sent it.
pub const COLUMNS: &[&str] = &[
    "schema_version",
    "engine",
    "role",
    "mix",
    "round",
    "seq",
    "from_ts",
    "to_ts",
    "actor_id",
    "action",
    "page",
    "page_size",
    "rows",
    "latency_us",
    "intended_start_us",
    "start_us",
    "slice",
    "worker",
];

fn us(ns: u64) -> String {
    format!("{}.{:03}", ns / 1000, ns % 1000)
}

/// Parses `123.456` (microseconds, up to three decimals) back to nanoseconds exactly.
fn parse_us(s: &str) -> Option<u64> {
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac_ns: u64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<3}").parse().ok()?
    };
    whole.parse::<u64>().ok()?.checked_mul(1000)?.checked_add(frac_ns)
}

/// The CSV bytes for every request of every series.
pub fn to_csv(series: &[Series]) -> Result<Vec<u8>, HarnessError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(COLUMNS).map_err(csv_err(NAME))?;
    for s in series {
        for t in &s.trials {
            write_trial(&mut w, s, t)?;
        }
    }
    finish_csv(w, NAME)
}

/// The rows (no header unless `header`) of the last trial of each series in
/// `fresh`: one finished round, appended to a running benchmark's file (see
/// [`super::journal`]).
pub fn round_rows(series: &[Series], fresh: &[usize], header: bool) -> Result<Vec<u8>, HarnessError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    if header {
        w.write_record(COLUMNS).map_err(csv_err(NAME))?;
    }
    for &i in fresh {
        let Some((s, t)) = series.get(i).and_then(|s| Some((s, s.trials.last()?))) else {
            return Err(HarnessError::input(format!(
                "{NAME}: a round's series {i} has no trial (of {} series)",
                series.len()
            )));
        };
        write_trial(&mut w, s, t)?;
    }
    finish_csv(w, NAME)
}

const NAME: &str = "latencies.csv";

/// One row per request of trial `t` of series `s`.
fn write_trial(w: &mut csv::Writer<Vec<u8>>, s: &Series, t: &Trial) -> Result<(), HarnessError> {
    let v = SCHEMA_VERSION.to_string();
    let trial = t.index.to_string();
    for r in &t.requests {
        let q = &r.query;
        w.write_record([
            v.as_str(),
            &s.engine,
            s.role.label(),
            &s.mix,
            &trial,
            &r.seq.to_string(),
            &q.from_ts.to_string(),
            &q.to_ts.to_string(),
            &q.actor_id.map(|a| a.to_string()).unwrap_or_default(),
            q.action.as_deref().unwrap_or(""),
            &q.page.to_string(),
            &q.page_size.to_string(),
            &r.rows.map(|n| n.to_string()).unwrap_or_default(),
            &us(r.latency_ns),
            &r.intended_ns.map(us).unwrap_or_default(),
            &us(r.start_ns),
            &r.slice.to_string(),
            &r.worker.to_string(),
        ])
        .map_err(csv_err(NAME))?;
    }
    Ok(())
}

/// Reads the series back, in the order they first appear. Every problem is an
/// input error naming the line and column and what is allowed.
pub fn read(input: impl Read, name: &str) -> Result<Vec<Series>, HarnessError> {
    let mut rd = csv::Reader::from_reader(input);
    let headers = rd
        .headers()
        .map_err(|e| HarnessError::input(format!("{name}: {e}")))?
        .clone();
    let mut idx = HashMap::new();
    for c in COLUMNS {
        let i = headers.iter().position(|h| h == *c).ok_or_else(|| {
            HarnessError::input(format!(
                "{name}: missing column {c:?}; a latencies.csv has the columns {}",
                COLUMNS.join(", ")
            ))
        })?;
        idx.insert(*c, i);
    }
    let mut series: Vec<Series> = Vec::new();
    for (n, rec) in rd.records().enumerate() {
        let line = n + 2;
        let rec = rec.map_err(|e| HarnessError::input(format!("{name}: line {line}: {e}")))?;
        let get = |c: &str| rec.get(idx[c]).unwrap_or("");
        let bad = |c: &str, allowed: &str| {
            HarnessError::input(format!(
                "{name}: line {line}: column {c} is {:?}; expected {allowed}",
                get(c)
            ))
        };
        let int = |c: &str| get(c).parse::<i64>().map_err(|_| bad(c, "an integer"));
        let opt_int = |c: &str| match get(c) {
            "" => Ok(None),
            s => s.parse::<i64>().map(Some).map_err(|_| bad(c, "an integer or empty")),
        };
        let time = |c: &str| parse_us(get(c)).ok_or_else(|| bad(c, "microseconds with up to 3 decimals"));
        if get("schema_version") != SCHEMA_VERSION.to_string() {
            return Err(bad(
                "schema_version",
                &format!("{SCHEMA_VERSION} (this harness's version)"),
            ));
        }
        let (engine, mix) = (get("engine"), get("mix"));
        let role = audit_engines::Role::from_label(get("role"))
            .ok_or_else(|| bad("role", "reference, candidate or yardstick"))?;
        let trial: u32 = get("round")
            .parse()
            .ok()
            .filter(|t| *t >= 1)
            .ok_or_else(|| bad("round", "1, 2, ..."))?;
        let request = Request {
            seq: get("seq").parse().map_err(|_| bad("seq", "a non-negative integer"))?,
            query: Query {
                from_ts: int("from_ts")?,
                to_ts: int("to_ts")?,
                actor_id: opt_int("actor_id")?,
                action: Some(get("action")).filter(|a| !a.is_empty()).map(String::from),
                page: int("page")?,
                page_size: int("page_size")?,
            },
            rows: match get("rows") {
                "" => None,
                s => Some(s.parse().map_err(|_| bad("rows", "a count or empty (an error)"))?),
            },
            latency_ns: time("latency_us")?,
            intended_ns: match get("intended_start_us") {
                "" => None,
                _ => Some(time("intended_start_us")?),
            },
            start_ns: time("start_us")?,
            slice: get("slice")
                .parse()
                .map_err(|_| bad("slice", "0, 1, ... (the slice of the round)"))?,
            worker: get("worker")
                .parse()
                .map_err(|_| bad("worker", "0, 1, ... (the load worker)"))?,
        };
        let s = match series.iter().position(|s| s.engine == engine && s.mix == mix) {
            Some(i) => &mut series[i],
            None => {
                series.push(Series {
                    engine: engine.to_string(),
                    role,
                    mix: mix.to_string(),
                    trials: Vec::new(),
                });
                series.last_mut().expect("just pushed")
            }
        };
        let t = match s.trials.iter().position(|t| t.index == trial) {
            Some(i) => &mut s.trials[i],
            None => {
                s.trials.push(Trial {
                    index: trial,
                    ..Trial::default()
                });
                s.trials.last_mut().expect("just pushed")
            }
        };
        t.requests.push(request);
    }
    if series.is_empty() {
        return Err(HarnessError::input(format!("{name}: no requests recorded")));
    }
    Ok(series)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn microseconds_round_trip_to_the_nanosecond() {
        for ns in [0u64, 1, 999, 1000, 123_456_789, u32::MAX as u64 * 7] {
            assert_eq!(parse_us(&us(ns)), Some(ns));
        }
        assert_eq!(parse_us("1.5"), Some(1500));
        assert_eq!(parse_us("2"), Some(2000));
        assert_eq!(parse_us("1.2345"), None);
        assert_eq!(parse_us("-1"), None);
        assert_eq!(parse_us("x"), None);
    }

    #[test]
    fn a_missing_column_is_named() {
        let csv = "schema_version,engine,role,mix\n2,a,candidate,b\n";
        let e = read(csv.as_bytes(), "latencies.csv").unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("missing column \"round\""), "{e}");
    }

    #[test]
    fn written_series_read_back_equal() {
        let s = Series {
            engine: "memindex".into(),
            role: audit_engines::Role::Candidate,
            mix: "default".into(),
            trials: vec![Trial {
                index: 1,
                requests: vec![
                    Request {
                        seq: 0,
                        query: Query {
                            from_ts: -5,
                            to_ts: 9,
                            actor_id: Some(3),
                            action: Some("a,\"b\"".into()),
                            page: 2,
                            page_size: 10,
                        },
                        rows: Some(10),
                        start_ns: 17,
                        latency_ns: 123_456,
                        intended_ns: Some(5),
                        slice: 2,
                        worker: 3,
                    },
                    Request {
                        seq: 1,
                        query: Query::default(),
                        rows: None,
                        start_ns: 200_000,
                        latency_ns: 1,
                        intended_ns: None,
                        slice: 0,
                        worker: 1,
                    },
                ],
                ..Trial::default()
            }],
        };
        let bytes = to_csv(std::slice::from_ref(&s)).unwrap();
        let back = read(bytes.as_slice(), "latencies.csv").unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].trials[0].requests, s.trials[0].requests);
    }

    /// A running benchmark's file, written round by round (each round's
    /// trial of every series), reads back as the whole run's file does.
    #[test]
    fn rows_appended_round_by_round_read_back_as_the_whole_file() {
        let request = |seq: u64, latency_ns: u64| Request {
            seq,
            query: Query::default(),
            rows: Some(0),
            start_ns: seq * 10,
            latency_ns,
            intended_ns: None,
            slice: 0,
            worker: 0,
        };
        let mut series: Vec<Series> = ["baseline", "memindex"]
            .iter()
            .map(|e| Series {
                engine: e.to_string(),
                role: audit_engines::Role::Candidate,
                mix: "default".into(),
                trials: Vec::new(),
            })
            .collect();
        let mut journal = Vec::new();
        for round in 1..=3u32 {
            for (i, s) in series.iter_mut().enumerate() {
                s.trials.push(Trial {
                    index: round,
                    requests: (0..4).map(|q| request(q, u64::from(round) * 1000 + i as u64)).collect(),
                    ..Trial::default()
                });
            }
            journal.extend(round_rows(&series, &[0, 1], round == 1).unwrap());
        }
        let whole = to_csv(&series).unwrap();
        assert_ne!(journal, whole, "round-major, not series-major");
        let back = read(journal.as_slice(), "latencies.csv").unwrap();
        assert_eq!(to_csv(&back).unwrap(), whole);
    }
}
