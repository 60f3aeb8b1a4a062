//! [`HttpEngine`]: an engine reached over HTTP, one GET per query.
//!
//! The query's fields of the contract go in the query string (absent filters
//! omitted); the answer is a JSON array of events, or an object holding one
//! under `events_key`. Everything else is an error answer naming what came
//! back: a status other than 2xx (redirects are not followed), a body not of
//! the contract's shape, a body over [`MAX_BODY`] or headers over
//! [`MAX_HEADER`], a reset, a refused connection. A request that outlives
//! `timeout_ms` is a hang, as for process engines. Requests go through one
//! `ureq` agent: keep-alive connections in a pool that grows to the number
//! of threads asking at once.

use std::fmt;
use std::net::ToSocketAddrs;
use std::path::Path;
use std::time::{Duration, Instant};

use audit_engines::{flatten_into, Engine, EngineError, Event, Extras, Fault, Page, Query, EVENT_FIELDS};
use serde::de::{DeserializeSeed, MapAccess, Visitor};
use serde_json::Value;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

use super::launch::Launched;
use crate::cancel::Cancel;
use crate::process::protocol::excerpt;
use crate::process::{SetupError, StartError};
use crate::spec::endpoint::Endpoint;
use crate::spec::ProcessEngineSpec;

/// The largest answer body accepted (as the process protocol's longest line).
pub const MAX_BODY: u64 = 64 << 20;
/// The largest block of response headers accepted.
pub const MAX_HEADER: usize = 64 << 10;
/// Idle keep-alive connections kept per host: the most workers a spec may ask for.
const POOL: usize = crate::spec::MAX_THREADS as usize;

/// An engine behind an HTTP endpoint: a deployed service, or a server the
/// harness launched (and stops when the engine is dropped).
pub struct HttpEngine {
    name: String,
    url: String,
    events_key: Option<String>,
    agent: ureq::Agent,
    timeout: Duration,
    /// The launched server; `None` for a deployed service.
    server: Option<Launched>,
}

/// The addresses of an engine's one host, looked up once when it is opened.
/// ureq's default resolver looks the host up on every request, on a thread
/// of its own when a timeout is set (strace: a `clone3` per request), which
/// a benchmark would charge to the engine.
#[derive(Debug)]
struct Resolved(ResolvedSocketAddrs);

impl Resolver for Resolved {
    fn resolve(
        &self,
        _uri: &http::Uri,
        _config: &ureq::config::Config,
        _timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        Ok(self.0.clone())
    }
}

/// Looks up `url`'s host and port (once).
fn resolve(url: &str) -> Result<Resolved, String> {
    let uri: http::Uri = url.parse().map_err(|e| format!("{url:?} is not a URL: {e}"))?;
    let host = uri.host().ok_or_else(|| format!("{url:?} has no host"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = uri.port_u16().unwrap_or(80);
    let found = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?;
    let mut addrs = DefaultResolver::default().empty();
    for a in found.take(16) {
        addrs.push(a);
    }
    if addrs.is_empty() {
        return Err(format!("{host} resolves to no address"));
    }
    Ok(Resolved(addrs))
}

/// The client every HTTP engine uses: statuses are answers (not errors),
/// no redirects, bounded headers, `timeout` on the whole exchange, the
/// host of `url` looked up once.
fn agent(timeout: Duration, url: &str) -> Result<ureq::Agent, String> {
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(timeout))
        .max_response_header_size(MAX_HEADER)
        .max_idle_connections(POOL)
        .max_idle_connections_per_host(POOL)
        .user_agent(concat!("audit-harness/", env!("CARGO_PKG_VERSION")))
        .build();
    Ok(ureq::Agent::with_parts(config, DefaultConnector::new(), resolve(url)?))
}

impl HttpEngine {
    /// Opens HTTP engine `name` of the spec: launches its server on the
    /// dataset in `data_dir` (when it has a `command`) or checks that the
    /// deployed service answers, within `timeout_ms` either way; `cancel`
    /// stops the wait for a launched server.
    pub fn open(
        name: &str,
        spec: &ProcessEngineSpec,
        spec_dir: &Path,
        data_dir: &Path,
        cancel: &Cancel,
    ) -> Result<HttpEngine, SetupError> {
        let err = |step: StartError| SetupError::new(name, step);
        let url = spec
            .url
            .as_deref()
            .ok_or_else(|| err(StartError::Config("has no url".into())))?;
        let launched = !spec.command.is_empty();
        let endpoint = Endpoint::parse(url, launched).map_err(|e| err(StartError::Config(format!("url {e}"))))?;
        let timeout = Duration::from_millis(spec.timeout_ms.max(1));
        if launched {
            let deadline = Instant::now() + timeout;
            let (server, url) = Launched::start(name, spec, spec_dir, data_dir, &endpoint).map_err(err)?;
            let agent = agent(timeout, &url).map_err(|e| err(StartError::Config(e)))?;
            server.wait_ready(&agent, &url, deadline, cancel).map_err(err)?;
            let server = Some(server);
            Ok(HttpEngine {
                name: name.to_string(),
                url,
                events_key: spec.events_key.clone(),
                agent,
                timeout,
                server,
            })
        } else {
            HttpEngine::connect(name, endpoint.as_str(), spec.events_key.as_deref(), timeout)
        }
    }

    /// A service already running at `url` (checked like a deployed engine's,
    /// and asked once to see that it answers), answering arrays of events or
    /// objects holding them under `events_key`.
    pub fn connect(
        name: &str,
        url: &str,
        events_key: Option<&str>,
        timeout: Duration,
    ) -> Result<HttpEngine, SetupError> {
        let err = |step: StartError| SetupError::new(name, step);
        let endpoint = Endpoint::parse(url, false).map_err(|e| err(StartError::Config(format!("url {e}"))))?;
        let agent = agent(timeout, endpoint.as_str()).map_err(|e| err(StartError::Config(e)))?;
        super::probe::probe(&agent, endpoint.as_str(), Instant::now() + timeout, None)
            .map_err(|e| err(StartError::Connect(e)))?;
        Ok(HttpEngine {
            name: name.to_string(),
            url: endpoint.as_str().to_string(),
            events_key: events_key.map(str::to_string),
            agent,
            timeout,
            server: None,
        })
    }

    /// The URL queries are sent to (with the launched server's port).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The launched server's process id (for tests that check it is stopped).
    pub fn server_pid(&self) -> Option<u32> {
        self.server.as_ref().map(Launched::pid)
    }

    /// Why a request got no HTTP answer, as the engine error it is.
    fn transport_error(&self, e: ureq::Error, q: &Query) -> EngineError {
        let query = serde_json::to_string(q).unwrap_or_default();
        let ms = self.timeout.as_millis() as u64;
        if let Some(server) = &self.server {
            if let Some(died) = server.death() {
                return EngineError::Broken {
                    fault: Fault::Exit,
                    detail: format!("engine {}: {died}; query {query}", self.name),
                };
            }
        }
        match e {
            ureq::Error::Timeout(_) => EngineError::Hang {
                ms,
                detail: format!(
                    "engine {}: no answer from {} within timeout_ms = {ms}; query {query}",
                    self.name, self.url
                ),
            },
            ureq::Error::BodyExceedsLimit(_) => EngineError::Failed {
                fault: Fault::Protocol,
                detail: format!("answered a body over {} MiB (the most accepted)", MAX_BODY >> 20),
            },
            ureq::Error::LargeResponseHeader(..) => EngineError::Failed {
                fault: Fault::Protocol,
                detail: format!(
                    "answered headers over {} KiB (the most accepted), or headers that never end",
                    MAX_HEADER >> 10
                ),
            },
            e => EngineError::Failed {
                fault: Fault::Connect,
                detail: format!("engine {}: request to {} failed: {e}", self.name, self.url),
            },
        }
    }
}

impl Engine for HttpEngine {
    fn name(&self) -> &str {
        &self.name
    }

    /// A launched server's (its leading process's); a deployed service's is not ours to read.
    fn peak_rss_bytes(&self) -> Option<u64> {
        self.server_pid().and_then(audit_engines::engine::peak_rss_of)
    }

    fn http_target(&self) -> Option<audit_engines::engine::HttpTarget> {
        Some(audit_engines::engine::HttpTarget {
            url: self.url.clone(),
            events_key: self.events_key.clone(),
            timeout: self.timeout,
        })
    }

    fn query(&self, q: &Query) -> Result<Page, EngineError> {
        let mut request = self
            .agent
            .get(&self.url)
            .query("from_ts", q.from_ts.to_string())
            .query("to_ts", q.to_ts.to_string());
        if let Some(actor) = q.actor_id {
            request = request.query("actor_id", actor.to_string());
        }
        if let Some(action) = &q.action {
            request = request.query("action", action);
        }
        let request = request
            .query("page", q.page.to_string())
            .query("page_size", q.page_size.to_string());
        let mut answer = request.call().map_err(|e| self.transport_error(e, q))?;
        let status = answer.status().as_u16();
        let location = answer
            .headers()
            .get("location")
            .map(|l| String::from_utf8_lossy(l.as_bytes()).into_owned());
        let body = answer
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()
            .map_err(|e| self.transport_error(e, q))?;
        if !(200..300).contains(&status) {
            let redirect = location.map_or(String::new(), |l| format!(" to {l} (redirects are not followed)"));
            return Err(EngineError::Failed {
                fault: Fault::Status,
                detail: format!("answered HTTP {status}{redirect}: {}", excerpt(&body)),
            });
        }
        decode(&body, self.events_key.as_deref()).map_err(|why| EngineError::Failed {
            fault: Fault::Protocol,
            detail: format!(
                "answered HTTP {status} with a body not of the contract's shape: {why}; body: {}",
                excerpt(&body)
            ),
        })
    }
}

/// Decodes an answer body: a JSON array of events, or (with `key`) an object
/// holding one under `key` (and, if it has `count`, a count that matches).
/// Fields beyond the contract's, in the object or inside an event, are kept
/// in the page's [`Extras`] (compared, or ignored as noise, by the
/// equivalence suite); a contract field missing or of the wrong type is an
/// error.
pub fn decode(body: &[u8], key: Option<&str>) -> Result<Page, String> {
    // The contract's exact shape, decoded straight into events (what a
    // benchmark meets); only an answer with fields of its own inside an
    // event takes the slower way through JSON values.
    match decode_exact(body, key) {
        Err(e) if e.contains("unknown field") => decode_with_extras(body, key),
        other => other,
    }
}

fn decode_exact(body: &[u8], key: Option<&str>) -> Result<Page, String> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let page = match key {
        None => Page::new(serde::Deserialize::deserialize(&mut de).map_err(|e| {
            let hint = if body.trim_ascii_start().starts_with(b"{") {
                " (when the events are inside an object, set the engine's events_key)"
            } else {
                ""
            };
            format!("expected a JSON array of events: {e}{hint}")
        })?),
        Some(key) => {
            let (events, answer) = Keyed(key).deserialize(&mut de).map_err(|e| e.to_string())?;
            let mut page = Page::new(events);
            page.extras.answer = answer;
            page
        }
    };
    de.end()
        .map_err(|e| format!("trailing bytes after the JSON value: {e}"))?;
    Ok(page)
}

/// [`decode`] for an answer whose events carry fields beyond the contract's.
fn decode_with_extras(body: &[u8], key: Option<&str>) -> Result<Page, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let mut extras = Extras::default();
    let items = match (key, value) {
        (None, Value::Array(items)) => items,
        (Some(key), Value::Object(mut object)) => {
            // decode_exact checked the key, the count and that both appear once.
            object.remove("count");
            let events = object.remove(key);
            for (name, v) in object {
                flatten_into(&name, v, &mut extras.answer);
            }
            match events {
                Some(Value::Array(items)) => items,
                _ => return Err(format!("{key:?} does not hold an array of events")),
            }
        }
        _ => return Err("expected a JSON array of events".into()),
    };
    let mut events = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let Value::Object(mut fields) = item else {
            return Err(format!("event {i} is not a JSON object"));
        };
        let own: Vec<String> = fields
            .keys()
            .filter(|k| !EVENT_FIELDS.contains(&k.as_str()))
            .cloned()
            .collect();
        let mut extra = std::collections::BTreeMap::new();
        for name in own {
            if let Some(v) = fields.remove(&name) {
                flatten_into(&name, v, &mut extra);
            }
        }
        let event: Event = serde_json::from_value(Value::Object(fields)).map_err(|e| format!("event {i}: {e}"))?;
        if !extra.is_empty() {
            extras.events.insert(i, extra);
        }
        events.push(event);
    }
    let mut page = Page::new(events);
    page.extras = extras;
    Ok(page)
}

/// The fields of an answer object other than the events and `count`.
type AnswerExtras = std::collections::BTreeMap<String, Value>;

/// Finds the events under one key of a JSON object, keeping the other keys
/// (but `count`, which is checked) as the answer's extra fields.
struct Keyed<'a>(&'a str);

impl<'de> DeserializeSeed<'de> for Keyed<'_> {
    type Value = (Vec<Event>, AnswerExtras);

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Keyed<'_> {
    type Value = (Vec<Event>, AnswerExtras);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a JSON object with the events under {:?}", self.0)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        use serde::de::Error;
        let mut events: Option<Vec<Event>> = None;
        let mut count: Option<u64> = None;
        let mut extras = AnswerExtras::new();
        while let Some(k) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if k == self.0 {
                if events.is_some() {
                    return Err(A::Error::custom(format!("{:?} appears twice", self.0)));
                }
                events = Some(map.next_value()?);
            } else if k == "count" {
                count = Some(map.next_value()?);
            } else {
                flatten_into(&k, map.next_value::<Value>()?, &mut extras);
            }
        }
        let events = events.ok_or_else(|| A::Error::custom(format!("no key {:?} holding the events", self.0)))?;
        match count {
            Some(c) if c != events.len() as u64 => Err(A::Error::custom(format!(
                "count is {c} but {:?} holds {} events",
                self.0,
                events.len()
            ))),
            _ => Ok((events, extras)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENT: &str = r#"{"id":3,"created_at":10,"actor_id":7,"action":"LOGIN","resource_type":"USER","resource_id":"USER-1","payload":{"note":"x"}}"#;

    #[test]
    fn an_array_of_events_is_a_page() {
        let page = decode(format!("[{EVENT},{EVENT}]").as_bytes(), None).unwrap();
        assert_eq!(page.count, 2);
        assert_eq!(page.events[0].id, 3);
        assert_eq!(decode(b" [] ", None).unwrap().count, 0);
    }

    #[test]
    fn events_under_a_key_are_found_and_their_count_checked() {
        let body = format!(r#"{{"request_id":"ab","count":1,"items":[{EVENT}],"next":null}}"#);
        assert_eq!(decode(body.as_bytes(), Some("items")).unwrap().count, 1);
        let wrong = format!(r#"{{"count":2,"items":[{EVENT}]}}"#);
        assert!(decode(wrong.as_bytes(), Some("items"))
            .unwrap_err()
            .contains("count is 2"));
        let missing = decode(br#"{"events":[]}"#, Some("items")).unwrap_err();
        assert!(missing.contains("no key \"items\""), "{missing}");
    }

    #[test]
    fn fields_beyond_the_contract_are_kept_as_extras() {
        let extra = EVENT.replace(
            "\"id\":3",
            "\"id\":3,\"served_at\":1,\"trace\":{\"span\":\"a\",\"ok\":true}",
        );
        let page = decode(format!("[{EVENT},{extra}]").as_bytes(), None).unwrap();
        assert_eq!(page.count, 2);
        assert_eq!(page.events[1].id, 3);
        let names: Vec<(Option<usize>, String)> = page.extras.fields().map(|(i, n, _)| (i, n)).collect();
        assert_eq!(
            names,
            vec![
                (Some(1), "events[].served_at".to_string()),
                (Some(1), "events[].trace.ok".to_string()),
                (Some(1), "events[].trace.span".to_string()),
            ]
        );
        let body = format!(r#"{{"request_id":"ab","meta":{{"region":"eu"}},"count":1,"items":[{extra}]}}"#);
        let page = decode(body.as_bytes(), Some("items")).unwrap();
        assert_eq!(
            page.extras.answer.keys().collect::<Vec<_>>(),
            ["meta.region", "request_id"]
        );
        assert_eq!(page.extras.events.len(), 1);
        // The exact shape keeps the object's other keys too.
        let plain = decode(
            format!(r#"{{"request_id":"ab","items":[{EVENT}]}}"#).as_bytes(),
            Some("items"),
        )
        .unwrap();
        assert_eq!(plain.extras.answer["request_id"], "ab");
        assert!(decode(format!("[{EVENT}]").as_bytes(), None).unwrap().extras.is_empty());
    }

    #[test]
    fn bodies_not_of_the_contract_shape_are_refused() {
        // A contract field of the wrong type, met before or after a field of the service's own.
        let wrong = EVENT.replace("\"id\":3", "\"id\":\"3\",\"served_at\":1");
        let e = decode(format!("[{wrong}]").as_bytes(), None).unwrap_err();
        assert!(e.contains("invalid type: string \"3\""), "{e}");
        let wrong = EVENT.replace("{\"id\":3", "{\"served_at\":1,\"id\":\"3\"");
        let e = decode(format!("[{EVENT},{wrong}]").as_bytes(), None).unwrap_err();
        assert!(e.contains("event 1: invalid type: string \"3\""), "{e}");
        let twice = format!(r#"{{"items":[],"items":[{EVENT}]}}"#);
        assert!(decode(twice.as_bytes(), Some("items"))
            .unwrap_err()
            .contains("appears twice"));
        let object = decode(br#"{"events":[]}"#, None).unwrap_err();
        assert!(object.contains("set the engine's events_key"), "{object}");
        assert!(decode(b"<html>hi</html>", None).is_err());
        assert!(decode(b"[] []", None).unwrap_err().contains("trailing"));
        let missing = EVENT.replace(",\"payload\":{\"note\":\"x\"}", "");
        assert!(decode(format!("[{missing}]").as_bytes(), None)
            .unwrap_err()
            .contains("payload"));
    }
}
