//! `query`: one query, or a batch of JSON lines, answered by one engine.

use std::io::{BufRead, Write};

use audit_engines::{Domain, Engine, Query};

use crate::error::HarnessError;

/// Answers one query and returns the answer as one JSON line. Queries outside
/// the domain are rejected before the engine sees them.
pub fn answer_line(engine: &dyn Engine, domain: &Domain, q: &Query) -> Result<String, HarnessError> {
    domain.validate(q).map_err(|e| HarnessError::input(e.to_string()))?;
    let page = engine
        .query(q)
        .map_err(|e| HarnessError::failed(format!("engine {} failed: {e}", engine.name())))?;
    Ok(serde_json::to_string(&page).expect("a page always serialises"))
}

/// The query form a batch line must have.
pub const QUERY_FORM: &str =
    r#"{"from_ts": 0, "to_ts": 1767225600, "actor_id": null, "action": null, "page": 1, "page_size": 10}"#;

/// One batch line as a query: a JSON object with the query's fields (serde
/// would also take a positional array, which is too easy to get wrong).
fn parse_line(line: &str) -> Result<Query, String> {
    let expected = format!("expected one JSON object per line, like {QUERY_FORM}");
    if line.trim().is_empty() {
        return Err(format!("empty line; {expected}"));
    }
    let value: serde_json::Value = serde_json::from_str(line).map_err(|e| format!("not JSON ({e}); {expected}"))?;
    if !value.is_object() {
        let kind = match value {
            serde_json::Value::Array(_) => "an array",
            serde_json::Value::String(_) => "a string",
            serde_json::Value::Number(_) => "a number",
            serde_json::Value::Bool(_) => "a boolean",
            _ => "null",
        };
        return Err(format!("{kind}, not an object; {expected}"));
    }
    // Read from the text, not the value: a key given twice is refused (as
    // in an engine's answer), where a JSON value would keep the last one.
    serde_json::from_str(line).map_err(|e| format!("not a query: {e}; {expected}"))
}

/// Answers every query line of `input` in order, one output line each. A bad
/// line or a failed query yields `{"error": "..."}` on its line and the batch
/// goes on. Returns how many lines failed.
pub fn batch(
    engine: &dyn Engine,
    domain: &Domain,
    input: impl BufRead,
    mut out: impl Write,
) -> Result<usize, HarnessError> {
    let mut failed = 0;
    for (i, line) in input.lines().enumerate() {
        let line = line.map_err(|e| HarnessError::input(format!("reading the batch, line {}: {e}", i + 1)))?;
        let answer = parse_line(&line)
            .map_err(HarnessError::input)
            .and_then(|q| answer_line(engine, domain, &q))
            .map_err(|e| e.prefixed(&format!("line {}", i + 1)));
        let text = match answer {
            Ok(a) => a,
            Err(e) => {
                failed += 1;
                serde_json::json!({ "error": e.to_string() }).to_string()
            }
        };
        writeln!(out, "{text}").map_err(|e| HarnessError::input(format!("writing answers: {e}")))?;
    }
    out.flush()
        .map_err(|e| HarnessError::input(format!("writing answers: {e}")))?;
    Ok(failed)
}
