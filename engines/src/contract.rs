//! The listing contract shared by every engine: the query, the answer and the
//! errors an engine may return (docs/contract.md).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::extras::{covers, Extras, EVENT_FIELD_PREFIX};

/// One listing request: the window, optional filters and the page to return.
///
/// Every field is a plain integer or string so that queries outside the input
/// domain (page 0, odd page sizes) can still be expressed and sent to engines
/// by the equivalence suite; the front door rejects them with [`crate::validate`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Query {
    pub from_ts: i64,
    pub to_ts: i64,
    pub actor_id: Option<i64>,
    pub action: Option<String>,
    pub page: i64,
    pub page_size: i64,
}

impl Query {
    /// SQLite's `LIMIT ? OFFSET ?` values the service computes for this query:
    /// `LIMIT page_size OFFSET (page-1)*page_size`, saturating instead of overflowing.
    pub fn limit_offset(&self) -> (i64, i64) {
        let offset = self.page.saturating_sub(1).saturating_mul(self.page_size);
        (self.page_size, offset)
    }

    /// The rows to skip and the maximum number to take, as SQLite interprets
    /// LIMIT/OFFSET: a negative OFFSET counts as 0, a negative LIMIT means no limit.
    pub fn skip_take(&self) -> (usize, Option<usize>) {
        let (limit, offset) = self.limit_offset();
        let skip = usize::try_from(offset.max(0)).unwrap_or(usize::MAX);
        let take = if limit < 0 {
            None
        } else {
            Some(usize::try_from(limit).unwrap_or(usize::MAX))
        };
        (skip, take)
    }

    /// Whether a row's metadata matches the window and filters (not the page).
    pub fn matches(&self, created_at: i64, actor_id: i64, action: &str) -> bool {
        self.from_ts <= created_at
            && created_at <= self.to_ts
            && self.actor_id.is_none_or(|a| a == actor_id)
            && self.action.as_deref().is_none_or(|a| a == action)
    }
}

/// One returned audit event; `payload` is the decoded JSON line of the row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    pub id: i64,
    pub created_at: i64,
    pub actor_id: i64,
    pub action: String,
    pub resource_type: String,
    pub resource_id: String,
    pub payload: Value,
}

/// The fields of an event, as the contract names them.
pub const EVENT_FIELDS: [&str; 7] = [
    "id",
    "created_at",
    "actor_id",
    "action",
    "resource_type",
    "resource_id",
    "payload",
];

/// Why `field` cannot be ignored, if it names (or lies inside) a contract
/// field: `count`, or an event's `id`, ..., `payload`.
pub fn contract_field(field: &str) -> Option<String> {
    if field == "count" {
        return Some("count".into());
    }
    let inner = field.strip_prefix(EVENT_FIELD_PREFIX)?;
    EVENT_FIELDS
        .iter()
        .find(|f| covers(f, inner))
        .map(|f| format!("{EVENT_FIELD_PREFIX}{f}"))
}

/// The answer to a query: `count` is the number of events on this page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Page {
    pub count: usize,
    pub events: Vec<Event>,
    /// Fields the answer carried beyond the contract's (a deployed service's
    /// request id, an event's served-at time): compared like the contract's
    /// unless ignored as noise. Empty for every engine that answers with
    /// exactly the contract's fields.
    #[serde(default, skip_serializing_if = "Extras::is_empty")]
    pub extras: Extras,
}

impl Page {
    /// A page holding these events, with `count` set to match.
    pub fn new(events: Vec<Event>) -> Page {
        Page {
            count: events.len(),
            events,
            extras: Extras::default(),
        }
    }
}

/// The metadata columns of one `audit_events` row, without its payload.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RowMeta {
    pub id: i64,
    pub created_at: i64,
    pub actor_id: i64,
    pub action: String,
    pub resource_type: String,
    pub resource_id: String,
    pub payload_offset: u64,
    pub payload_len: u64,
}

impl RowMeta {
    /// A row of `audit_events` selected with its columns in this struct's
    /// order (`id, created_at, actor_id, action, resource_type, resource_id,
    /// payload_offset, payload_len`): the one mapping from SQL to `RowMeta`.
    pub fn from_sql(r: &rusqlite::Row<'_>) -> rusqlite::Result<RowMeta> {
        Ok(RowMeta {
            id: r.get(0)?,
            created_at: r.get(1)?,
            actor_id: r.get(2)?,
            action: r.get(3)?,
            resource_type: r.get(4)?,
            resource_id: r.get(5)?,
            payload_offset: r.get::<_, i64>(6)? as u64,
            payload_len: r.get::<_, i64>(7)? as u64,
        })
    }

    /// The event this row answers with, given its decoded payload.
    pub fn to_event(&self, payload: Value) -> Event {
        Event {
            id: self.id,
            created_at: self.created_at,
            actor_id: self.actor_id,
            action: self.action.clone(),
            resource_type: self.resource_type.clone(),
            resource_id: self.resource_id.clone(),
            payload,
        }
    }
}

/// What went wrong with an engine outside the harness, the same kinds for a
/// process engine and an HTTP service, so that every report names them alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// It could not be started, or never became ready (a process's
    /// handshake, a launched server's first answer).
    Start,
    /// No exchange with it: a refused or reset connection, a deployed
    /// service that does not answer.
    Connect,
    /// It answered, but not in the protocol's or the contract's shape.
    Protocol,
    /// No answer within `timeout_ms`.
    Timeout,
    /// It answered with an error of its own: an HTTP status other than 2xx,
    /// a process engine's `{"error": ...}` reply.
    Status,
    /// It exited: a process engine, or a launched server.
    Exit,
}

impl Fault {
    /// The word every report shows.
    pub fn label(self) -> &'static str {
        match self {
            Fault::Start => "start",
            Fault::Connect => "connect",
            Fault::Protocol => "protocol",
            Fault::Timeout => "timeout",
            Fault::Status => "status",
            Fault::Exit => "exit",
        }
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// Why an engine could not answer. Engines return these instead of panicking.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The dataset directory or one of its files could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// SQLite refused a statement or the schema is not the contract's.
    #[error("sqlite: {0}")]
    Sql(#[from] rusqlite::Error),
    /// A payload range or line is not what the contract says it is.
    #[error("corrupt payload for row {id}: {reason}")]
    CorruptPayload { id: i64, reason: String },
    /// Anything else an engine in the harness wants to report (mutants).
    #[error("{0}")]
    Other(String),
    /// An engine outside the harness (a process, an HTTP service) failed on
    /// this request and may answer the next: an error answer, a body not of
    /// the contract's shape, a connection that failed.
    #[error("{fault}: {detail}")]
    Failed { fault: Fault, detail: String },
    /// No answer within the engine's time limit (`timeout_ms`); the engine
    /// answers nothing from now on.
    #[error("timeout: {detail}")]
    Hang { ms: u64, detail: String },
    /// The engine can answer nothing any more (a process that exited or
    /// broke the protocol, a launched server that exited); every later
    /// request fails the same way.
    #[error("{fault}: {detail}")]
    Broken { fault: Fault, detail: String },
}

impl EngineError {
    /// The kind of failure, for an engine outside the harness.
    pub fn fault(&self) -> Option<Fault> {
        match self {
            EngineError::Failed { fault, .. } | EngineError::Broken { fault, .. } => Some(*fault),
            EngineError::Hang { .. } => Some(Fault::Timeout),
            _ => None,
        }
    }
}

impl EngineError {
    /// An I/O error tagged with the path it happened on.
    pub fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> EngineError {
        EngineError::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_of_engines_outside_the_harness_show_their_kind_first() {
        let e = EngineError::Failed {
            fault: Fault::Status,
            detail: "answered HTTP 500: db down".into(),
        };
        assert_eq!(e.to_string(), "status: answered HTTP 500: db down");
        assert_eq!(e.fault(), Some(Fault::Status));
        let e = EngineError::Broken {
            fault: Fault::Exit,
            detail: "engine p: ended".into(),
        };
        assert_eq!(e.to_string(), "exit: engine p: ended");
        let e = EngineError::Hang {
            ms: 300,
            detail: "engine p: no answer within 300 ms".into(),
        };
        assert_eq!(e.to_string(), "timeout: engine p: no answer within 300 ms");
        assert_eq!(e.fault(), Some(Fault::Timeout));
        assert_eq!(EngineError::Other("x".into()).fault(), None);
        let labels: Vec<&str> = [
            Fault::Start,
            Fault::Connect,
            Fault::Protocol,
            Fault::Timeout,
            Fault::Status,
            Fault::Exit,
        ]
        .map(Fault::label)
        .to_vec();
        assert_eq!(labels, ["start", "connect", "protocol", "timeout", "status", "exit"]);
    }
}
