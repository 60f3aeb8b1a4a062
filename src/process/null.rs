//! `audit-harness protocol-null` (hidden): a process engine that does nothing.
//! It speaks protocol v1 and answers every request with an empty page at
//! once, so that `protocol-cost` measures the protocol's own round trip
//! (pipes, JSON, scheduling) and nothing else. It also checks every request
//! line strictly, answering `{"id", "error"}` to one it cannot decode.

use std::io::{BufRead, Write};

use audit_engines::Page;
use serde_json::Value;

use super::protocol::{self, Request, PROTOCOL};
use crate::error::HarnessError;

/// Why the null engine stopped serving before the end of its input.
#[derive(Debug, thiserror::Error)]
pub enum NullError {
    #[error("protocol-null: {0}")]
    Io(#[from] std::io::Error),
    #[error("protocol-null: the first line is not JSON ({source}): {excerpt}")]
    NotJson {
        #[source]
        source: serde_json::Error,
        excerpt: String,
    },
    #[error("protocol-null: expected {{\"hello\": {{\"protocol\": 1, ...}}}}, got {0}")]
    NotHello(String),
    #[error("protocol-null: a line without an id: {0}")]
    NoId(String),
}

/// Serves the protocol on `input`/`output` until end of input.
pub fn serve(mut input: impl BufRead, mut output: impl Write, max_in_flight: usize) -> Result<(), NullError> {
    let mut line = Vec::new();
    if input.read_until(b'\n', &mut line)? == 0 {
        return Ok(());
    }
    let hello: Value = serde_json::from_slice(&line).map_err(|source| NullError::NotJson {
        source,
        excerpt: protocol::excerpt(&line),
    })?;
    let Some(version) = hello.pointer("/hello/protocol").and_then(Value::as_u64) else {
        return Err(NullError::NotHello(protocol::excerpt(&line)));
    };
    if version != PROTOCOL {
        let refusal = serde_json::json!({
            "ready": false,
            "error": format!("protocol {version} is not spoken here; this engine speaks {PROTOCOL}"),
        });
        writeln!(output, "{refusal}").and_then(|_| output.flush())?;
        return Ok(());
    }
    let ready = serde_json::json!({
        "ready": true,
        "name": "null",
        "version": env!("CARGO_PKG_VERSION"),
        "max_in_flight": max_in_flight,
    });
    writeln!(output, "{ready}").and_then(|_| output.flush())?;
    let empty = Page::new(Vec::new());
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        let answer = match serde_json::from_slice::<Request>(&line) {
            Ok(r) => protocol::page_line(r.id, &empty),
            Err(e) => match protocol::answer_id(&line) {
                Ok(id) => protocol::error_line(id, &format!("not a request: {e}")),
                Err(_) => return Err(NullError::NoId(protocol::excerpt(&line))),
            },
        };
        output.write_all(&answer).and_then(|_| output.flush())?;
    }
}

/// The `protocol-null` command on stdin/stdout.
pub fn run(max_in_flight: usize) -> Result<(), HarnessError> {
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    serve(stdin.lock(), std::io::BufWriter::new(stdout.lock()), max_in_flight)
        .map_err(|e| HarnessError::failed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(input: &str) -> (Result<(), String>, String) {
        let mut out = Vec::new();
        let r = serve(input.as_bytes(), &mut out, 2).map_err(|e| e.to_string());
        (r, String::from_utf8(out).unwrap())
    }

    #[test]
    fn answers_every_request_with_an_empty_page() {
        let (r, out) = session(concat!(
            "{\"hello\":{\"protocol\":1,\"data_dir\":\"/d\"}}\n",
            "{\"id\":1,\"from_ts\":0,\"to_ts\":9,\"actor_id\":null,\"action\":null,\"page\":1,\"page_size\":10}\n",
            "{\"id\":2,\"from_ts\":0,\"to_ts\":9,\"page\":1,\"page_size\":10,\"bogus\":1}\n",
        ));
        assert_eq!(r, Ok(()));
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3, "{out}");
        let ready = protocol::parse_ready(lines[0].as_bytes()).unwrap();
        assert_eq!(ready.max_in_flight, 2);
        assert_eq!(lines[1], "{\"id\":1,\"count\":0,\"events\":[]}");
        assert!(
            lines[2].starts_with("{\"id\":2,\"error\":\"not a request: unknown field `bogus`"),
            "{}",
            lines[2]
        );
    }

    #[test]
    fn declines_other_protocols_and_garbage() {
        let (r, out) = session("{\"hello\":{\"protocol\":2,\"data_dir\":\"/d\"}}\n");
        assert_eq!(r, Ok(()));
        let e = protocol::parse_ready(out.trim().as_bytes()).unwrap_err().to_string();
        assert!(e.contains("declined to start") && e.contains("protocol 2"), "{e}");
        assert!(session("nonsense\n").0.unwrap_err().contains("not JSON"));
        assert!(session("{\"hi\":1}\n").0.unwrap_err().contains("expected {\"hello\""));
    }
}
