//! An answer's fields beyond the contract (a deployed service's request
//! id, an event's served-at time): how they are kept, named and compared.
//! Which names the contract keeps for itself, so that they can never be
//! ignored as noise, is `contract::contract_field`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An answer's fields beyond the contract, flattened to their leaves: a
/// name is a dotted path (`request_id`, `meta.trace`) at the top level of
/// the answer object, and `events[].` followed by one inside an event
/// (`events[].served_at`), the event's index kept beside it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Extras {
    /// Top-level fields of the answer object other than the events and `count`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub answer: BTreeMap<String, Value>,
    /// Per event index, that event's fields beyond the contract's (names
    /// without the `events[].` prefix); only events that had any.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub events: BTreeMap<usize, BTreeMap<String, Value>>,
}

/// The prefix of an extra field's name inside an event.
pub const EVENT_FIELD_PREFIX: &str = "events[].";

impl Extras {
    pub fn is_empty(&self) -> bool {
        self.answer.is_empty() && self.events.is_empty()
    }

    /// Every extra field as `(event index, full name, value)`, top-level ones first.
    pub fn fields(&self) -> impl Iterator<Item = (Option<usize>, String, &Value)> {
        self.answer
            .iter()
            .map(|(k, v)| (None, k.clone(), v))
            .chain(self.events.iter().flat_map(|(i, m)| {
                m.iter()
                    .map(move |(k, v)| (Some(*i), format!("{EVENT_FIELD_PREFIX}{k}"), v))
            }))
    }

    /// Keeps only the fields `keep` accepts (by full name); drops events left with none.
    pub fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.answer.retain(|k, _| keep(k));
        for m in self.events.values_mut() {
            m.retain(|k, _| keep(&format!("{EVENT_FIELD_PREFIX}{k}")));
        }
        self.events.retain(|_, m| !m.is_empty());
    }

    /// Where this answer's extra fields and `other`'s differ, as `(event
    /// index, full name)`, in order (top-level ones first); a field one has
    /// and the other lacks differs.
    pub fn differing(&self, other: &Extras) -> Vec<(Option<usize>, String)> {
        if self == other {
            return Vec::new();
        }
        let index = |e: &Extras| -> BTreeMap<(Option<usize>, String), Value> {
            e.fields().map(|(i, n, v)| ((i, n), v.clone())).collect()
        };
        let (x, y) = (index(self), index(other));
        let mut keys: Vec<(Option<usize>, String)> = x
            .keys()
            .chain(y.keys())
            .filter(|k| match (x.get(*k), y.get(*k)) {
                (Some(v), Some(w)) => !crate::json::same(v, w),
                (v, w) => v != w,
            })
            .cloned()
            .collect();
        keys.sort();
        keys.dedup();
        keys
    }

    /// The value of the extra field `name` (a full name) of event `at`, or of the answer.
    pub fn get(&self, at: Option<usize>, name: &str) -> Option<&Value> {
        match at {
            None => self.answer.get(name),
            Some(i) => self.events.get(&i)?.get(name.strip_prefix(EVENT_FIELD_PREFIX)?),
        }
    }
}

/// Adds `value`'s leaves to `out` under `prefix`: an object with fields is
/// descended (`meta.trace`), anything else (arrays included) is one leaf.
pub fn flatten_into(prefix: &str, value: Value, out: &mut BTreeMap<String, Value>) {
    match value {
        Value::Object(m) if !m.is_empty() => {
            for (k, v) in m {
                flatten_into(&format!("{prefix}.{k}"), v, out);
            }
        }
        v => {
            out.insert(prefix.to_string(), v);
        }
    }
}

/// Whether `field` (a name of an extra field, as `ignore_fields` gives it)
/// covers the extra field `name`: the same name, or an object above it
/// (`meta` covers `meta.trace`).
pub fn covers(field: &str, name: &str) -> bool {
    name.strip_prefix(field)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}
