//! Calling an engine safely and comparing its answer with the baseline's.
//!
//! A call's failure is typed ([`CallError`]) and only turned into text when
//! displayed; a comparison's failure ([`Failure`]) says whether it is a
//! genuine divergence (a [`Failure::Mismatch`], worth saving as a regression)
//! or a call that could not be judged (a hang, a broken process, an engine
//! that cannot open the dataset), which stops the property instead.

use std::fmt;
use std::sync::mpsc;
use std::time::Duration;

use audit_engines::{json, EngineError, Page, Query, SharedEngine};
use serde::Serialize;
use serde_json::Value;

use crate::cancel::Cancel;

/// Why an engine call produced no page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// The engine answered this query with an error.
    Error(String),
    /// The engine panicked on this query.
    Panic(String),
    /// No answer within the time limit (the harness's, or a process engine's `timeout_ms`).
    Hang { ms: u64, detail: Option<String> },
    /// The engine could not be opened on the dataset.
    CannotOpen(String),
    /// The engine can answer nothing any more: a process that died or broke
    /// the protocol (on this call or an earlier one).
    Broken(String),
    /// The harness itself could not make the call (no thread could be started).
    Harness(String),
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Error(e) => write!(f, "error: {e}"),
            CallError::Panic(p) => write!(f, "panic: {p}"),
            CallError::Hang { ms, detail: None } => write!(f, "hang: no answer within {ms} ms"),
            CallError::Hang { ms, detail: Some(d) } => write!(f, "hang: no answer within {ms} ms: {d}"),
            CallError::CannotOpen(e) => write!(f, "cannot open the dataset: {e}"),
            CallError::Broken(e) => write!(f, "broken: {e}"),
            CallError::Harness(e) => write!(f, "harness: {e}"),
        }
    }
}

impl CallError {
    /// An engine's error, typed by what it means for further calls.
    pub fn from_engine(e: EngineError) -> CallError {
        match e {
            EngineError::Hang { ms, detail } => CallError::Hang {
                ms,
                detail: Some(detail),
            },
            broken @ EngineError::Broken { .. } => CallError::Broken(broken.to_string()),
            other => CallError::Error(other.to_string()),
        }
    }

    /// Whether the engine must not be asked again (in this property): every
    /// further call would wait out the time limit or fail the same way.
    pub fn stops(&self) -> bool {
        matches!(
            self,
            CallError::Hang { .. } | CallError::Broken(_) | CallError::CannotOpen(_) | CallError::Harness(_)
        )
    }
}

/// What one call produced: a page, or why not.
pub type Outcome = Result<Page, CallError>;

/// The kind of a failed comparison, as saved and reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The engine answered (or failed, or panicked) where the baseline's
    /// answer says otherwise: a genuine divergence, saved as a regression.
    Mismatch,
    /// No answer within the time limit: the engine is not asked again.
    Hang,
    /// The engine could not be opened on the dataset.
    CannotOpen,
    /// The engine broke down (a process that died or broke the protocol).
    Broken,
    /// The harness could not make the call.
    Harness,
}

/// Why a candidate's outcome is not the baseline's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// A genuine divergence: what differs.
    Mismatch(String),
    /// The call could not be judged: the engine hung, broke or cannot open.
    Call(CallError),
}

impl Failure {
    pub fn kind(&self) -> FailureKind {
        match self {
            Failure::Mismatch(_) => FailureKind::Mismatch,
            Failure::Call(CallError::Hang { .. }) => FailureKind::Hang,
            Failure::Call(CallError::CannotOpen(_)) => FailureKind::CannotOpen,
            Failure::Call(CallError::Harness(_)) => FailureKind::Harness,
            Failure::Call(_) => FailureKind::Broken,
        }
    }

    /// Whether the engine must not be asked again in this property (and its
    /// failing case must not be shrunk).
    pub fn stops(&self) -> bool {
        matches!(self, Failure::Call(_))
    }

    /// Whether this is a hang.
    pub fn is_hang(&self) -> bool {
        matches!(self, Failure::Call(CallError::Hang { .. }))
    }

    /// The failure as one line of text.
    pub fn text(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Mismatch(m) => f.write_str(m),
            Failure::Call(e) => write!(f, "{e}"),
        }
    }
}

/// Calls `engine` on `q` on a fresh thread, so that a panic becomes an error
/// and a hang becomes a time-out instead of stopping the harness. A
/// cancellation ends the wait early (the call then counts as broken: the run
/// is being abandoned anyway).
pub fn call(engine: &SharedEngine, q: &Query, timeout: Duration, cancel: &Cancel) -> Outcome {
    let (tx, rx) = mpsc::channel();
    let e = engine.clone();
    let query = q.clone();
    let spawned = std::thread::Builder::new().name("engine-call".into()).spawn(move || {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| e.query(&query)));
        let _ = tx.send(match r {
            Ok(Ok(page)) => Ok(page),
            Ok(Err(err)) => Err(CallError::from_engine(err)),
            Err(p) => Err(CallError::Panic(panic_text(&p))),
        });
    });
    if let Err(e) = spawned {
        return Err(CallError::Harness(format!("cannot start a thread: {e}")));
    }
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Err(CallError::Hang {
                ms: timeout.as_millis() as u64,
                detail: None,
            });
        }
        match rx.recv_timeout(left.min(Duration::from_millis(100))) {
            Ok(o) => return o,
            Err(mpsc::RecvTimeoutError::Timeout) if cancel.is_cancelled() => {
                return Err(CallError::Broken(format!(
                    "interrupted by {} while waiting for an answer",
                    cancel.cause()
                )))
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(CallError::Harness("the calling thread ended without an answer".into()))
            }
        }
    }
}

/// Calls `engine` on the current thread, turning a panic into an error.
pub fn call_here(engine: &SharedEngine, q: &Query) -> Outcome {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| engine.query(q))) {
        Ok(Ok(page)) => Ok(page),
        Ok(Err(err)) => Err(CallError::from_engine(err)),
        Err(p) => Err(CallError::Panic(panic_text(&p))),
    }
}

/// A panic's message, as `panic!` gave it.
pub fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}

/// `None` when `actual` is the answer `expected` requires, else why not: a
/// [`Failure::Mismatch`] naming the first differing event and field with
/// expected and actual values, or a [`Failure::Call`] when the engine hung,
/// broke down or could not open the dataset.
///
/// Both sides answering with an error counts as agreement: a damaged dataset
/// must make every engine fail, not answer. A panic never agrees.
pub fn diff(expected: &Outcome, actual: &Outcome) -> Option<Failure> {
    match (expected, actual) {
        (_, Err(e)) if e.stops() => Some(Failure::Call(e.clone())),
        (Err(_), Err(CallError::Error(_))) => None,
        (_, Err(e @ CallError::Panic(_))) => Some(Failure::Mismatch(format!("the engine panicked: {e}"))),
        (Ok(_), Err(e)) => Some(Failure::Mismatch(format!(
            "the reference answers but the engine failed: {e}"
        ))),
        (Err(e), Ok(p)) => Some(Failure::Mismatch(format!(
            "the reference fails ({e}) but the engine answered {} event(s): stale or invented data",
            p.count
        ))),
        (Ok(a), Ok(b)) => diff_pages(a, b).map(Failure::Mismatch),
        (Err(_), Err(_)) => None,
    }
}

fn diff_pages(a: &Page, b: &Page) -> Option<String> {
    diff_contract(a, b).or_else(|| diff_extras(a, b))
}

/// The first difference between two pages in the contract's fields (events,
/// their fields, `count`), leaving the fields beyond the contract aside.
pub fn diff_contract(a: &Page, b: &Page) -> Option<String> {
    for (i, (x, y)) in a.events.iter().zip(&b.events).enumerate() {
        let at = |field: &str, ex: String, ac: String| {
            Some(format!(
                "event {i} (id {}) field {field}: expected {ex}, actual {ac}",
                x.id
            ))
        };
        if x.id != y.id {
            return at("id", x.id.to_string(), y.id.to_string());
        }
        if x.created_at != y.created_at {
            return at("created_at", x.created_at.to_string(), y.created_at.to_string());
        }
        if x.actor_id != y.actor_id {
            return at("actor_id", x.actor_id.to_string(), y.actor_id.to_string());
        }
        if x.action != y.action {
            return at("action", format!("{:?}", x.action), format!("{:?}", y.action));
        }
        if x.resource_type != y.resource_type {
            return at(
                "resource_type",
                format!("{:?}", x.resource_type),
                format!("{:?}", y.resource_type),
            );
        }
        if x.resource_id != y.resource_id {
            return at(
                "resource_id",
                format!("{:?}", x.resource_id),
                format!("{:?}", y.resource_id),
            );
        }
        if !json::same(&x.payload, &y.payload) {
            let (path, ex, ac) = first_json_diff("payload", &x.payload, &y.payload);
            return at(&path, ex, ac);
        }
    }
    if a.events.len() != b.events.len() {
        let (n, m) = (a.events.len(), b.events.len());
        let detail = if n > m {
            format!("first missing: id {}", a.events[m].id)
        } else {
            format!("first extra: id {}", b.events[n].id)
        };
        return Some(format!("events: expected {n}, actual {m} ({detail})"));
    }
    if a.count != b.count {
        return Some(format!("count: expected {}, actual {}", a.count, b.count));
    }
    None
}

/// The first field beyond the contract in which two answers differ (fields
/// ignored as noise were stripped from both before).
fn diff_extras(a: &Page, b: &Page) -> Option<String> {
    let (at, name) = a.extras.differing(&b.extras).into_iter().next()?;
    let show = |v: Option<&Value>| v.map_or("(absent)".to_string(), Value::to_string);
    let place = match at {
        Some(i) => format!("event {i} (id {}) ", a.events.get(i).map_or(0, |e| e.id)),
        None => String::new(),
    };
    Some(format!(
        "{place}field {name} (not in the contract): expected {}, actual {}; if it is the service's own noise, learn it with [equivalence] noise_reference or list it in ignore_fields",
        show(a.extras.get(at, &name)),
        show(b.extras.get(at, &name))
    ))
}

/// The path and values of the first difference between two JSON values.
fn first_json_diff(path: &str, a: &Value, b: &Value) -> (String, String, String) {
    let short = |v: &Value| {
        let s = v.to_string();
        if s.chars().count() > 60 {
            format!("{}...", s.chars().take(60).collect::<String>())
        } else {
            s
        }
    };
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                match y.get(k) {
                    Some(w) if json::same(v, w) => {}
                    Some(w) => return first_json_diff(&format!("{path}.{k}"), v, w),
                    None => return (format!("{path}.{k}"), short(v), "(missing)".into()),
                }
            }
            if let Some(k) = y.keys().find(|k| !x.contains_key(*k)) {
                return (format!("{path}.{k}"), "(missing)".into(), short(&y[k]));
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            if let Some(i) = (0..x.len()).find(|&i| !json::same(&x[i], &y[i])) {
                return first_json_diff(&format!("{path}[{i}]"), &x[i], &y[i]);
            }
        }
        _ => {}
    }
    (path.to_string(), short(a), short(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use audit_engines::Event;
    use serde_json::json;

    fn ev(id: i64, payload: Value) -> Event {
        Event {
            id,
            created_at: 10,
            actor_id: 1,
            action: "LOGIN".into(),
            resource_type: "USER".into(),
            resource_id: "USER-1".into(),
            payload,
        }
    }

    #[test]
    fn payload_numbers_differ_by_exact_value_not_through_a_float() {
        let page = |payload: &str| Page::new(vec![ev(1, serde_json::from_str(payload).unwrap())]);
        let diff = |a: &str, b: &str| super::diff(&Ok(page(a)), &Ok(page(b))).map(|f| f.to_string());
        assert_eq!(
            diff(r#"{"n": 18446744073709551617}"#, r#"{"n": 18446744073709551616}"#).unwrap(),
            "event 0 (id 1) field payload.n: expected 18446744073709551617, actual 18446744073709551616"
        );
        assert!(diff(r#"{"n": [100000000000000000001]}"#, r#"{"n": [100000000000000000000]}"#).is_some());
        assert_eq!(diff(r#"{"n": 802, "m": 1}"#, r#"{"m": 1.0, "n": 802.0}"#), None);
        // Fields beyond the contract too.
        let extra = |n: &str| {
            let mut p = page("{}");
            p.extras.answer.insert("n".into(), serde_json::from_str(n).unwrap());
            Ok(p)
        };
        assert!(super::diff(&extra("9007199254740993"), &extra("9007199254740992")).is_some());
        assert!(super::diff(&extra("2"), &extra("2.00")).is_none());
    }

    #[test]
    fn diff_names_the_first_differing_event_and_field() {
        let a = Page::new(vec![ev(3, json!({"a": 1})), ev(2, json!({"a": [1, {"b": "x"}]}))]);
        let diff = |a: &Outcome, b: &Outcome| super::diff(a, b).map(|f| f.to_string());
        assert_eq!(diff(&Ok(a.clone()), &Ok(a.clone())), None);
        let mut b = a.clone();
        b.events[1].payload = json!({"a": [1, {"b": "y"}]});
        assert_eq!(
            diff(&Ok(a.clone()), &Ok(b)).unwrap(),
            "event 1 (id 2) field payload.a[1].b: expected \"x\", actual \"y\""
        );
        let mut c = a.clone();
        c.events[0].id = 4;
        assert!(diff(&Ok(a.clone()), &Ok(c))
            .unwrap()
            .contains("field id: expected 3, actual 4"));
        let d = Page::new(vec![a.events[0].clone()]);
        assert_eq!(
            diff(&Ok(a.clone()), &Ok(d)).unwrap(),
            "events: expected 2, actual 1 (first missing: id 2)"
        );
        let mut e = a.clone();
        e.count = 3;
        assert_eq!(diff(&Ok(a.clone()), &Ok(e)).unwrap(), "count: expected 2, actual 3");
        let err = || CallError::Error("x".into());
        assert!(diff(&Ok(a.clone()), &Err(err())).unwrap().contains("engine failed"));
        assert!(diff(&Err(err()), &Ok(a.clone())).unwrap().contains("stale"));
        assert_eq!(diff(&Err(err()), &Err(CallError::Error("y".into()))), None);
    }

    #[test]
    fn fields_beyond_the_contract_are_compared_after_the_contract() {
        let a = Page::new(vec![ev(3, json!({}))]);
        let mut b = a.clone();
        b.extras.answer.insert("request_id".into(), json!("r1"));
        let d = super::diff(&Ok(a.clone()), &Ok(b.clone())).unwrap().to_string();
        assert!(
            d.starts_with("field request_id (not in the contract): expected (absent), actual \"r1\""),
            "{d}"
        );
        let mut c = b.clone();
        c.extras.events.insert(
            0,
            std::collections::BTreeMap::from([("served_at".to_string(), json!(5))]),
        );
        let d = super::diff(&Ok(b.clone()), &Ok(c.clone())).unwrap().to_string();
        assert!(d.starts_with("event 0 (id 3) field events[].served_at"), "{d}");
        assert_eq!(super::diff(&Ok(c.clone()), &Ok(c.clone())), None);
        // A contract field is reported first.
        c.events[0].id = 4;
        let d = super::diff(&Ok(a), &Ok(c)).unwrap().to_string();
        assert!(d.contains("field id: expected 3, actual 4"), "{d}");
    }

    #[test]
    fn only_answers_are_mismatches_and_calls_that_cannot_be_judged_stop() {
        let a = Page::new(vec![ev(3, json!({}))]);
        let hang = CallError::Hang { ms: 300, detail: None };
        for (expected, actual, kind) in [
            (Ok(a.clone()), Err(hang.clone()), FailureKind::Hang),
            (Err(CallError::Error("x".into())), Err(hang), FailureKind::Hang),
            (
                Ok(a.clone()),
                Err(CallError::Broken("died".into())),
                FailureKind::Broken,
            ),
            (
                Ok(a.clone()),
                Err(CallError::CannotOpen("no".into())),
                FailureKind::CannotOpen,
            ),
            (Ok(a.clone()), Err(CallError::Error("x".into())), FailureKind::Mismatch),
            (
                Err(CallError::Error("x".into())),
                Err(CallError::Panic("p".into())),
                FailureKind::Mismatch,
            ),
            (Ok(a.clone()), Ok(Page::new(vec![])), FailureKind::Mismatch),
        ] {
            let f = super::diff(&expected, &actual).unwrap();
            assert_eq!(f.kind(), kind, "{f}");
            assert_eq!(f.stops(), kind != FailureKind::Mismatch, "{f}");
        }
        assert_eq!(
            CallError::Hang { ms: 300, detail: None }.to_string(),
            "hang: no answer within 300 ms"
        );
    }
}
