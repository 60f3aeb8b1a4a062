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
        let answer = serde_json::from_str::<Query>(&line)
            .map_err(|e| HarnessError::input(format!("line {}: not a query: {e}", i + 1)))
            .and_then(|q| answer_line(engine, domain, &q));
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
