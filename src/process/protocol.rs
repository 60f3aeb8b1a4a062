//! The process protocol, version 1: the JSON lines exchanged with an engine
//! that runs as a separate program (see `docs/protocol.md`).
//!
//! Harness to engine: one `hello` line, then one request line per query.
//! Engine to harness: one `ready` line, then one answer line per request, in
//! any order, matched by `id`. This file only builds and checks lines; the
//! pipes and processes are `child.rs`'s.

use audit_engines::{Event, Page, Query};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The protocol version this harness speaks.
pub const PROTOCOL: u64 = 1;

/// The most requests one process may ask to have outstanding at once.
pub const MAX_IN_FLIGHT: u64 = 1024;

/// Keys allowed in the `ready` line.
const READY_KEYS: [&str; 6] = ["ready", "protocol", "name", "version", "max_in_flight", "error"];

/// A line the engine sent that breaks the protocol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// The line is not JSON at all.
    #[error("wrote a line that is not JSON ({reason}): {excerpt}")]
    NotJson { reason: String, excerpt: String },
    /// The line is JSON but not the shape the protocol requires here.
    #[error("wrote a line of the wrong shape ({reason}): {excerpt}")]
    WrongShape { reason: String, excerpt: String },
}

impl ProtocolError {
    fn from_serde(e: &serde_json::Error, line: &[u8]) -> ProtocolError {
        let reason = e.to_string();
        let excerpt = excerpt(line);
        match e.classify() {
            serde_json::error::Category::Data => ProtocolError::WrongShape { reason, excerpt },
            _ => ProtocolError::NotJson { reason, excerpt },
        }
    }

    fn shape(reason: impl Into<String>, line: &[u8]) -> ProtocolError {
        ProtocolError::WrongShape {
            reason: reason.into(),
            excerpt: excerpt(line),
        }
    }
}

/// The start of a line, for error messages: at most 160 characters, quoted.
pub fn excerpt(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line);
    let text = text.trim_end_matches(['\n', '\r']);
    let mut short: String = text.chars().take(160).collect();
    if short.len() < text.len() {
        short.push_str("...");
    }
    format!("{short:?}")
}

/// Text an engine chose (an error message, a stderr line) made safe for a
/// one-line message: control characters become spaces, and it is cut to
/// `max` characters.
pub fn one_line(text: &str, max: usize) -> String {
    let mut out: String = text
        .trim_end()
        .chars()
        .take(max)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.trim_end().chars().nth(max).is_some() {
        out.push_str("...");
    }
    out
}

#[derive(Serialize)]
struct HelloLine<'a> {
    hello: HelloBody<'a>,
}

#[derive(Serialize)]
struct HelloBody<'a> {
    protocol: u64,
    data_dir: &'a str,
}

/// The first line the harness writes: `{"hello":{"protocol":1,"data_dir":"..."}}` and a newline.
pub fn hello_line(data_dir: &str) -> Vec<u8> {
    let mut line = serde_json::to_vec(&HelloLine {
        hello: HelloBody {
            protocol: PROTOCOL,
            data_dir,
        },
    })
    .unwrap_or_default();
    line.push(b'\n');
    line
}

/// What an engine declared in its `ready` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ready {
    pub name: Option<String>,
    pub version: Option<String>,
    /// Requests this process accepts outstanding at once (1 unless declared).
    pub max_in_flight: usize,
}

/// Why an engine's answer to `hello` was refused, as data; its text names
/// what came back and what is allowed.
#[derive(Debug, thiserror::Error)]
pub enum ReadyError {
    #[error("answered hello with a line that is not JSON ({source}): {line}; expected {{\"ready\": true}}")]
    NotJson {
        line: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("answered hello with {line}; expected an object {{\"ready\": true, ...}}")]
    NotObject { line: String },
    #[error("answered hello with an unexpected key {key:?} in {line}; allowed keys: {}", READY_KEYS.join(", "))]
    UnexpectedKey { key: String, line: String },
    /// `{"ready": false, "error": "why"}`: the engine declined to start.
    #[error("declined to start (ready: false): {0}")]
    Declined(String),
    #[error("answered hello with {line}; expected {{\"ready\": true}}")]
    NotReady { line: String },
    #[error("answered hello with both ready: true and an error: {line}")]
    ReadyAndError { line: String },
    #[error("speaks protocol {0}, but this harness speaks protocol {PROTOCOL} only")]
    OtherProtocol(Value),
    #[error("ready line: {key} is {value}; expected {expected}")]
    BadValue {
        key: &'static str,
        value: Value,
        expected: String,
    },
}

/// Checks the engine's answer to `hello`: `{"ready": true}` with optional
/// `name`, `version`, `max_in_flight` (1..=1024) and `protocol` (must be 1).
/// `{"ready": false, "error": "why"}` is an engine declining to start.
/// Anything else (other keys, other types, another protocol) is refused, so
/// that an engine written for a later protocol fails loudly instead of subtly.
pub fn parse_ready(line: &[u8]) -> Result<Ready, ReadyError> {
    let v: Value = serde_json::from_slice(line).map_err(|source| ReadyError::NotJson {
        line: excerpt(line),
        source,
    })?;
    let Some(obj) = v.as_object() else {
        return Err(ReadyError::NotObject { line: excerpt(line) });
    };
    if let Some(k) = obj.keys().find(|k| !READY_KEYS.contains(&k.as_str())) {
        return Err(ReadyError::UnexpectedKey {
            key: k.clone(),
            line: excerpt(line),
        });
    }
    match obj.get("ready") {
        Some(Value::Bool(true)) => {}
        Some(Value::Bool(false)) => {
            let why = obj.get("error").and_then(Value::as_str).unwrap_or("no reason given");
            return Err(ReadyError::Declined(one_line(why, 500)));
        }
        _ => return Err(ReadyError::NotReady { line: excerpt(line) }),
    }
    if obj.contains_key("error") {
        return Err(ReadyError::ReadyAndError { line: excerpt(line) });
    }
    if let Some(p) = obj.get("protocol") {
        if p.as_u64() != Some(PROTOCOL) {
            return Err(ReadyError::OtherProtocol(p.clone()));
        }
    }
    let text = |key: &'static str| -> Result<Option<String>, ReadyError> {
        match obj.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(ReadyError::BadValue {
                key,
                value: other.clone(),
                expected: "a string".into(),
            }),
        }
    };
    let max_in_flight = match obj.get("max_in_flight") {
        None => 1,
        Some(m) => match m.as_u64() {
            Some(n) if (1..=MAX_IN_FLIGHT).contains(&n) => n as usize,
            _ => {
                return Err(ReadyError::BadValue {
                    key: "max_in_flight",
                    value: m.clone(),
                    expected: format!("an integer in 1..={MAX_IN_FLIGHT}"),
                })
            }
        },
    };
    Ok(Ready {
        name: text("name")?,
        version: text("version")?,
        max_in_flight,
    })
}

/// One request line: the request's `id`, then the query's fields (docs/contract.md, "A query and its answer");
/// `actor_id` and `action` are `null` when there is no such filter.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    pub id: u64,
    pub from_ts: i64,
    pub to_ts: i64,
    #[serde(default)]
    pub actor_id: Option<i64>,
    #[serde(default)]
    pub action: Option<String>,
    pub page: i64,
    pub page_size: i64,
}

impl Request {
    /// The query this request asks.
    pub fn query(self) -> Query {
        Query {
            from_ts: self.from_ts,
            to_ts: self.to_ts,
            actor_id: self.actor_id,
            action: self.action,
            page: self.page,
            page_size: self.page_size,
        }
    }
}

#[derive(Serialize)]
struct RequestRef<'a> {
    id: u64,
    from_ts: i64,
    to_ts: i64,
    actor_id: Option<i64>,
    action: Option<&'a str>,
    page: i64,
    page_size: i64,
}

/// Writes the request line for `q` under `id`, newline included, into `out`.
pub fn request_line(id: u64, q: &Query, out: &mut Vec<u8>) {
    out.clear();
    let r = RequestRef {
        id,
        from_ts: q.from_ts,
        to_ts: q.to_ts,
        actor_id: q.actor_id,
        action: q.action.as_deref(),
        page: q.page,
        page_size: q.page_size,
    };
    // Serialising plain integers and strings into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, &r);
    out.push(b'\n');
}

#[derive(Deserialize)]
struct IdOnly {
    id: u64,
}

/// The `id` of an answer line, found without decoding the rest (the reader
/// thread routes lines; the waiting thread decodes them in parallel).
pub fn answer_id(line: &[u8]) -> Result<u64, ProtocolError> {
    serde_json::from_slice::<IdOnly>(line)
        .map(|a| a.id)
        .map_err(|e| ProtocolError::from_serde(&e, line))
}

/// An engine's answer to one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Page(Page),
    /// `{"id": k, "error": "message"}`: the engine could not answer this query.
    Error(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAnswer {
    id: u64,
    #[serde(default)]
    count: Option<usize>,
    #[serde(default)]
    events: Option<Vec<Event>>,
    #[serde(default)]
    error: Option<String>,
}

/// Decodes and checks one answer line: `{"id", "count", "events"}` with
/// `count == events.len()` and every event exactly the contract's fields, or
/// `{"id", "error"}`. Returns the id and the reply.
pub fn parse_answer(line: &[u8]) -> Result<(u64, Reply), ProtocolError> {
    let raw: RawAnswer = serde_json::from_slice(line).map_err(|e| ProtocolError::from_serde(&e, line))?;
    let reply = match (raw.count, raw.events, raw.error) {
        (Some(count), Some(events), None) => {
            if count != events.len() {
                return Err(ProtocolError::shape(
                    format!("count is {count} but events holds {}", events.len()),
                    line,
                ));
            }
            Reply::Page(Page::new(events))
        }
        (None, None, Some(e)) => Reply::Error(e),
        (_, _, Some(_)) => {
            return Err(ProtocolError::shape(
                "an answer has either an error or count and events, not both",
                line,
            ))
        }
        _ => {
            return Err(ProtocolError::shape(
                "expected {\"id\", \"count\", \"events\"} or {\"id\", \"error\"}",
                line,
            ))
        }
    };
    Ok((raw.id, reply))
}

/// The answer line for a page (what an engine writes).
pub fn page_line(id: u64, page: &Page) -> Vec<u8> {
    #[derive(Serialize)]
    struct Out<'a> {
        id: u64,
        count: usize,
        events: &'a [Event],
    }
    let mut line = serde_json::to_vec(&Out {
        id,
        count: page.count,
        events: &page.events,
    })
    .unwrap_or_default();
    line.push(b'\n');
    line
}

/// The answer line for an error (what an engine writes).
pub fn error_line(id: u64, message: &str) -> Vec<u8> {
    let mut line = serde_json::to_vec(&serde_json::json!({"id": id, "error": message})).unwrap_or_default();
    line.push(b'\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q() -> Query {
        Query {
            from_ts: -5,
            to_ts: i64::MAX,
            actor_id: None,
            action: Some("UP\"DATE\n".into()),
            page: 2,
            page_size: 10,
        }
    }

    #[test]
    fn hello_and_request_lines_are_one_json_line_each() {
        let h = hello_line("/data/d \"x\"");
        assert_eq!(
            String::from_utf8(h).unwrap(),
            "{\"hello\":{\"protocol\":1,\"data_dir\":\"/data/d \\\"x\\\"\"}}\n"
        );
        let mut line = Vec::new();
        request_line(7, &q(), &mut line);
        let text = String::from_utf8(line.clone()).unwrap();
        assert_eq!(text.matches('\n').count(), 1, "{text}");
        assert!(text.ends_with('\n'));
        assert_eq!(
            text,
            "{\"id\":7,\"from_ts\":-5,\"to_ts\":9223372036854775807,\"actor_id\":null,\"action\":\"UP\\\"DATE\\n\",\"page\":2,\"page_size\":10}\n"
        );
        let back: Request = serde_json::from_slice(&line).unwrap();
        assert_eq!(back.id, 7);
        assert_eq!(back.query(), q());
        // Absent filters mean no filter, like null.
        let r: Request = serde_json::from_str(r#"{"id":1,"from_ts":0,"to_ts":1,"page":1,"page_size":10}"#).unwrap();
        assert_eq!((r.actor_id, r.action), (None, None));
    }

    #[test]
    fn ready_lines_are_checked() {
        assert_eq!(
            parse_ready(b"{\"ready\": true}\n").unwrap(),
            Ready {
                name: None,
                version: None,
                max_in_flight: 1
            }
        );
        let r = parse_ready(br#"{"ready":true,"name":"py","version":"1.0","max_in_flight":4,"protocol":1}"#).unwrap();
        assert_eq!(r.max_in_flight, 4);
        assert_eq!(r.name.as_deref(), Some("py"));
        for (line, needle) in [
            (&b"garbage\n"[..], "not JSON"),
            (b"[1]", "expected an object"),
            (b"{}", "expected {\"ready\": true}"),
            (b"{\"ready\": 1}", "expected {\"ready\": true}"),
            (
                b"{\"ready\": false, \"error\": \"no db\"}",
                "declined to start (ready: false): no db",
            ),
            (b"{\"ready\": true, \"protocol\": 2}", "speaks protocol 2"),
            (b"{\"ready\": true, \"protocol\": \"1\"}", "speaks protocol \"1\""),
            (
                b"{\"ready\": true, \"max_in_flight\": 0}",
                "expected an integer in 1..=1024",
            ),
            (
                b"{\"ready\": true, \"max_in_flight\": 2.5}",
                "expected an integer in 1..=1024",
            ),
            (
                b"{\"ready\": true, \"max_in_flight\": 5000}",
                "expected an integer in 1..=1024",
            ),
            (b"{\"ready\": true, \"name\": 3}", "name is 3; expected a string"),
            (b"{\"ready\": true, \"extra\": 3}", "unexpected key \"extra\""),
            (b"{\"ready\": true, \"error\": \"x\"}", "both ready: true and an error"),
        ] {
            let e = parse_ready(line).unwrap_err().to_string();
            assert!(e.contains(needle), "{}: {e}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn answers_are_decoded_and_their_shape_checked() {
        let ev = r#"{"id":3,"created_at":10,"actor_id":1,"action":"LOGIN","resource_type":"USER","resource_id":"USER-1","payload":{"a":[1,2]}}"#;
        let (id, reply) = parse_answer(format!(r#"{{"id":9,"count":1,"events":[{ev}]}}"#).as_bytes()).unwrap();
        assert_eq!(id, 9);
        match reply {
            Reply::Page(p) => {
                assert_eq!(p.count, 1);
                assert_eq!(p.events[0].id, 3);
                assert_eq!(p.events[0].payload, serde_json::json!({"a": [1, 2]}));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            parse_answer(br#"{"id":2,"error":"disk on fire"}"#).unwrap(),
            (2, Reply::Error("disk on fire".into()))
        );
        assert_eq!(
            answer_id(format!(r#"{{"id":9,"count":1,"events":[{ev}]}}"#).as_bytes()),
            Ok(9)
        );

        let not_json = |line: &[u8]| matches!(parse_answer(line), Err(ProtocolError::NotJson { .. }));
        let shape = |line: &[u8], needle: &str| match parse_answer(line) {
            Err(e @ ProtocolError::WrongShape { .. }) => e.to_string().contains(needle),
            _ => false,
        };
        assert!(not_json(b"hello there"));
        assert!(not_json(b"{\"id\": 1, \"count\": 0, \"events\": [}"));
        assert!(matches!(answer_id(b"oops"), Err(ProtocolError::NotJson { .. })));
        assert!(shape(b"{\"count\":0,\"events\":[]}", "missing field `id`"));
        assert!(matches!(
            answer_id(b"{\"count\":0}"),
            Err(ProtocolError::WrongShape { .. })
        ));
        assert!(shape(b"{\"id\":-1,\"count\":0,\"events\":[]}", "invalid value"));
        assert!(shape(
            b"{\"id\":1,\"count\":1,\"events\":[]}",
            "count is 1 but events holds 0"
        ));
        assert!(shape(b"{\"id\":1,\"count\":\"0\",\"events\":[]}", "invalid type"));
        assert!(shape(
            b"{\"id\":1,\"count\":0}",
            "expected {\"id\", \"count\", \"events\"}"
        ));
        assert!(shape(b"{\"id\":1}", "expected {\"id\", \"count\", \"events\"}"));
        assert!(shape(
            b"{\"id\":1,\"count\":0,\"events\":[],\"error\":\"x\"}",
            "not both"
        ));
        assert!(shape(
            b"{\"id\":1,\"count\":0,\"events\":[],\"extra\":1}",
            "unknown field `extra`"
        ));
        assert!(shape(
            b"{\"id\":1,\"count\":1,\"events\":[{\"id\":1}]}",
            "missing field"
        ));
        let extra = ev.replace("\"payload\"", "\"secret\":1,\"payload\"");
        assert!(shape(
            format!(r#"{{"id":1,"count":1,"events":[{extra}]}}"#).as_bytes(),
            "unknown field `secret`"
        ));
    }

    #[test]
    fn engine_side_lines_round_trip() {
        let page = Page::new(vec![]);
        assert_eq!(page_line(4, &page), b"{\"id\":4,\"count\":0,\"events\":[]}\n");
        assert_eq!(parse_answer(&page_line(4, &page)).unwrap(), (4, Reply::Page(page)));
        assert_eq!(
            parse_answer(&error_line(5, "bad \"x\"")).unwrap(),
            (5, Reply::Error("bad \"x\"".into()))
        );
    }

    #[test]
    fn engine_text_becomes_one_short_line() {
        assert_eq!(one_line("a\nb\r\tc\n", 100), "a b  c");
        assert_eq!(one_line("abcdef", 3), "abc...");
        assert_eq!(one_line("abc", 3), "abc");
        let e = parse_ready(b"{\"ready\": false, \"error\": \"line 1\\nline 2\"}").unwrap_err();
        assert!(matches!(&e, ReadyError::Declined(why) if why == "line 1 line 2"), "{e}");
    }

    #[test]
    fn excerpts_are_short_and_quoted() {
        assert_eq!(excerpt(b"abc\n"), "\"abc\"");
        let long = vec![b'x'; 1000];
        let e = excerpt(&long);
        assert!(e.len() < 200 && e.ends_with("...\""), "{e}");
    }
}
