//! Calling an engine safely and comparing its answer with the baseline's.

use std::sync::mpsc;
use std::time::Duration;

use audit_engines::{Page, Query, SharedEngine};
use serde_json::Value;

/// What one call produced: a page, or the engine's error (or panic, or hang) as text.
pub type Outcome = Result<Page, String>;

/// Calls `engine` on `q` on a fresh thread, so that a panic becomes an error
/// and a hang becomes a time-out instead of stopping the harness.
pub fn call(engine: &SharedEngine, q: &Query, timeout: Duration) -> Outcome {
    let (tx, rx) = mpsc::channel();
    let e = engine.clone();
    let query = q.clone();
    let spawned = std::thread::Builder::new().name("engine-call".into()).spawn(move || {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| e.query(&query)));
        let _ = tx.send(match r {
            Ok(Ok(page)) => Ok(page),
            Ok(Err(err)) => Err(format!("error: {err}")),
            Err(p) => Err(format!("panic: {}", panic_text(&p))),
        });
    });
    if let Err(e) = spawned {
        return Err(format!("cannot start a thread: {e}"));
    }
    match rx.recv_timeout(timeout) {
        Ok(o) => o,
        Err(_) => Err(format!("hang: no answer within {:.1} s", timeout.as_secs_f64())),
    }
}

/// Whether a failure is a time-out: the engine is then not asked again in this property.
pub fn is_hang(why: &str) -> bool {
    why.contains(HANG)
}

const HANG: &str = "hang: no answer within";

/// Calls `engine` on the current thread, turning a panic into an error.
pub fn call_here(engine: &SharedEngine, q: &Query) -> Outcome {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| engine.query(q))) {
        Ok(Ok(page)) => Ok(page),
        Ok(Err(err)) => Err(format!("error: {err}")),
        Err(p) => Err(format!("panic: {}", panic_text(&p))),
    }
}

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}

/// `None` when `actual` is the answer `expected` requires, else what differs:
/// the first differing event and field with expected and actual values.
///
/// Both sides failing counts as agreement: a damaged dataset must make every
/// engine fail, not answer.
pub fn diff(expected: &Outcome, actual: &Outcome) -> Option<String> {
    match (expected, actual) {
        (Err(_), Err(_)) => None,
        (Ok(_), Err(e)) => Some(format!("the baseline answers but the engine failed: {e}")),
        (Err(e), Ok(p)) => Some(format!(
            "the baseline fails ({e}) but the engine answered {} event(s): stale or invented data",
            p.count
        )),
        (Ok(a), Ok(b)) => diff_pages(a, b),
    }
}

fn diff_pages(a: &Page, b: &Page) -> Option<String> {
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
        if x.payload != y.payload {
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
                    Some(w) if w == v => {}
                    Some(w) => return first_json_diff(&format!("{path}.{k}"), v, w),
                    None => return (format!("{path}.{k}"), short(v), "(missing)".into()),
                }
            }
            if let Some(k) = y.keys().find(|k| !x.contains_key(*k)) {
                return (format!("{path}.{k}"), "(missing)".into(), short(&y[k]));
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            if let Some(i) = (0..x.len()).find(|&i| x[i] != y[i]) {
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
    fn diff_names_the_first_differing_event_and_field() {
        let a = Page::new(vec![ev(3, json!({"a": 1})), ev(2, json!({"a": [1, {"b": "x"}]}))]);
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
        assert!(diff(&Ok(a.clone()), &Err("error: x".into()))
            .unwrap()
            .contains("engine failed"));
        assert!(diff(&Err("error: x".into()), &Ok(a)).unwrap().contains("stale"));
        assert_eq!(diff(&Err("x".into()), &Err("y".into())), None);
    }
}
