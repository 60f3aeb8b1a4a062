//! Noise in deployed answers, learned the way Twitter's Diffy learns it.
//!
//! A deployed service may add fields of its own to its answers (a request
//! id, a served-at time) that differ on every call. With `[equivalence]
//! noise_reference`, a second instance of the reference is asked every query
//! the reference is asked on the contract dataset; a field beyond the
//! contract in which the two known-good answers differ is *noise*, left out
//! of every later comparison and listed in the reports. `ignore_fields`
//! states noise by hand. The contract's fields are never noise: they are not
//! extras, so neither list can reach them, and the two references differing
//! in one is bad input (they are not two instances of one service).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use audit_engines::{covers, Engine, EngineError, Page, Query, SharedEngine};
use serde::{Deserialize, Serialize};

use super::outcome::{self, Outcome};
use super::{OpenError, Opener};

/// What was ignored and why, as every report lists it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NoiseSummary {
    /// The second instance of the reference, when noise was learned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise_reference: Option<String>,
    /// Queries both references answered.
    #[serde(default)]
    pub pairs: u64,
    /// Each learned field with the number of pairs whose answers differed in it.
    #[serde(default)]
    pub learned: Vec<LearnedField>,
    /// `ignore_fields` as the spec states them.
    #[serde(default)]
    pub stated: Vec<String>,
}

/// One field learned as noise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LearnedField {
    pub field: String,
    /// Pairs of reference answers that differed in it.
    pub differed: u64,
}

impl NoiseSummary {
    /// Every field left out of the comparisons, learned then stated.
    pub fn ignored(&self) -> Vec<String> {
        self.learned
            .iter()
            .map(|l| l.field.clone())
            .chain(self.stated.iter().cloned())
            .collect()
    }
}

/// One sentence for the reports: what was not compared, and why.
pub fn describe(n: &NoiseSummary) -> String {
    let mut parts = Vec::new();
    if let Some(twin) = &n.noise_reference {
        let learned = if n.learned.is_empty() {
            "no field beyond the contract differed".to_string()
        } else {
            n.learned
                .iter()
                .map(|l| format!("{} (differed in {} of {})", l.field, l.differed, n.pairs))
                .collect::<Vec<_>>()
                .join(", ")
        };
        parts.push(format!(
            "learned from {} pairs of answers of the reference and its second instance {twin}: {learned}",
            n.pairs
        ));
    }
    if !n.stated.is_empty() {
        parts.push(format!("stated in ignore_fields: {}", n.stated.join(", ")));
    }
    format!(
        "Noise, left out of every comparison (the contract's fields are always compared): {}",
        parts.join("; ")
    )
}

#[derive(Default)]
struct Learned {
    pairs: u64,
    fields: BTreeMap<String, u64>,
    /// The first sign that the two references are not two instances of one service.
    disagreement: Option<String>,
}

/// The fields ignored in this run: stated, and learned so far.
pub struct Noise {
    reference: String,
    twin: Option<String>,
    stated: Vec<String>,
    learned: Mutex<Learned>,
}

impl Noise {
    pub fn new(reference: &str, twin: Option<&str>, stated: &[String]) -> Arc<Noise> {
        Arc::new(Noise {
            reference: reference.to_string(),
            twin: twin.map(str::to_string),
            stated: stated.to_vec(),
            learned: Mutex::new(Learned::default()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Learned> {
        crate::sync::lock(&self.learned)
    }

    /// Whether the extra field `name` is left out of comparisons.
    pub fn ignores(&self, name: &str) -> bool {
        self.stated.iter().any(|f| covers(f, name)) || self.lock().fields.contains_key(name)
    }

    /// Removes the ignored extra fields from `page`.
    pub fn strip(&self, page: &mut Page) {
        if !page.extras.is_empty() {
            page.extras.retain(|name| !self.ignores(name));
        }
    }

    /// Learns from the reference's answer to `q` and its twin's outcome.
    fn learn(&self, q: &Query, mine: &Result<Page, EngineError>, twins: &Outcome) {
        let twin = self.twin.as_deref().unwrap_or("?");
        let mut learned = self.lock();
        let disagreement = match (mine, twins) {
            (_, Err(e)) if e.stops() => Some(format!("the noise reference {twin} could not be asked ({e})")),
            (Ok(x), Ok(y)) => {
                learned.pairs += 1;
                match outcome::diff_contract(x, y) {
                    Some(d) => Some(format!("they differ in a contract field: {d}")),
                    None => {
                        let mut differed: Vec<String> =
                            x.extras.differing(&y.extras).into_iter().map(|(_, n)| n).collect();
                        differed.sort();
                        differed.dedup();
                        for n in differed {
                            *learned.fields.entry(n).or_default() += 1;
                        }
                        None
                    }
                }
            }
            (Ok(_), Err(e)) => Some(format!("{} answers but {twin} fails: {e}", self.reference)),
            (Err(e), Ok(_)) => Some(format!("{} fails ({e}) but {twin} answers", self.reference)),
            (Err(_), Err(_)) => None,
        };
        if let Some(d) = disagreement {
            learned.disagreement.get_or_insert_with(|| {
                format!(
                    "[equivalence] noise_reference {twin} is not a second instance of the reference {}: on query {}, {d}",
                    self.reference,
                    serde_json::to_string(q).unwrap_or_default()
                )
            });
        }
    }

    /// Why the two references cannot be two instances of one service, if they are not.
    pub fn disagreement(&self) -> Option<String> {
        self.lock().disagreement.clone()
    }

    /// What was ignored, for the reports.
    pub fn summary(&self) -> NoiseSummary {
        let learned = self.lock();
        NoiseSummary {
            noise_reference: self.twin.clone(),
            pairs: learned.pairs,
            learned: learned
                .fields
                .iter()
                .map(|(field, n)| LearnedField {
                    field: field.clone(),
                    differed: *n,
                })
                .collect(),
            stated: self.stated.clone(),
        }
    }
}

/// An engine whose answers lose the ignored fields.
struct Stripped {
    inner: SharedEngine,
    noise: Arc<Noise>,
}

impl Engine for Stripped {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn query(&self, q: &Query) -> Result<Page, EngineError> {
        let mut page = self.inner.query(q)?;
        self.noise.strip(&mut page);
        Ok(page)
    }

    fn prepare(&self, queries: &[Query]) -> Result<(), EngineError> {
        self.inner.prepare(queries)
    }

    fn index_bytes(&self) -> u64 {
        self.inner.index_bytes()
    }

    fn concurrency(&self) -> Option<usize> {
        self.inner.concurrency()
    }

    fn peak_rss_bytes(&self) -> Option<u64> {
        self.inner.peak_rss_bytes()
    }
}

/// The reference with its twin: every query goes to both, the noise is
/// learned from the two answers, and the reference's answer (stripped) is
/// returned.
struct Pair {
    reference: SharedEngine,
    twin: SharedEngine,
    noise: Arc<Noise>,
}

impl Engine for Pair {
    fn name(&self) -> &str {
        self.reference.name()
    }

    fn query(&self, q: &Query) -> Result<Page, EngineError> {
        let answer = self.reference.query(q);
        let twins = outcome::call_here(&self.twin, q);
        self.noise.learn(q, &answer, &twins);
        let mut page = answer?;
        self.noise.strip(&mut page);
        Ok(page)
    }

    fn concurrency(&self) -> Option<usize> {
        match (self.reference.concurrency(), self.twin.concurrency()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// `opener`'s engine with the ignored fields stripped from its answers.
pub fn stripped(opener: &Opener, noise: &Arc<Noise>) -> Opener {
    let open = opener.open.clone();
    let noise = noise.clone();
    Opener {
        open: Arc::new(move |dir| {
            Ok(Arc::new(Stripped {
                inner: open(dir)?,
                noise: noise.clone(),
            }) as SharedEngine)
        }),
        ..opener.clone()
    }
}

/// The reference and its twin, both opened on the same directory, learning as they answer.
pub fn pair(reference: &Opener, twin: &Opener, noise: &Arc<Noise>) -> Opener {
    let (open, open_twin) = (reference.open.clone(), twin.open.clone());
    let twin_name = twin.name.clone();
    let noise = noise.clone();
    Opener {
        open: Arc::new(move |dir| {
            let reference = open(dir)?;
            let twin = open_twin(dir).map_err(|e| {
                OpenError::Engine(EngineError::Other(format!(
                    "the noise reference {twin_name}: cannot open {}: {e}",
                    dir.display()
                )))
            })?;
            Ok(Arc::new(Pair {
                reference,
                twin,
                noise: noise.clone(),
            }) as SharedEngine)
        }),
        ..reference.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::equivalence::outcome::CallError;
    use audit_engines::{contract_field, Event};
    use serde_json::json;

    fn page(request_id: &str, served_at: i64, id: i64) -> Page {
        let mut p = Page::new(vec![Event {
            id,
            created_at: 10,
            actor_id: 1,
            action: "LOGIN".into(),
            resource_type: "USER".into(),
            resource_id: "USER-1".into(),
            payload: json!({}),
        }]);
        p.extras.answer.insert("request_id".into(), json!(request_id));
        p.extras.answer.insert("region".into(), json!("eu"));
        p.extras
            .events
            .insert(0, BTreeMap::from([("served_at".to_string(), json!(served_at))]));
        p
    }

    #[test]
    fn names_cover_themselves_and_what_lies_inside() {
        assert!(covers("meta", "meta"));
        assert!(covers("meta", "meta.trace"));
        assert!(!covers("meta", "metadata"));
        assert!(!covers("meta.trace", "meta"));
        assert_eq!(contract_field("count").as_deref(), Some("count"));
        assert_eq!(contract_field("events[].id").as_deref(), Some("events[].id"));
        assert_eq!(
            contract_field("events[].payload.x").as_deref(),
            Some("events[].payload")
        );
        assert_eq!(contract_field("events[].served_at"), None);
        assert_eq!(contract_field("request_id"), None);
        assert_eq!(contract_field("id"), None, "a top-level id is the service's own");
    }

    #[test]
    fn fields_that_differ_between_two_good_answers_are_learned_and_stripped() {
        let noise = Noise::new("prod", Some("prod2"), &["region".to_string()]);
        let q = Query::default();
        noise.learn(&q, &Ok(page("a", 5, 3)), &Ok(page("b", 6, 3)));
        assert_eq!(noise.disagreement(), None);
        let s = noise.summary();
        assert_eq!(s.pairs, 1);
        assert_eq!(
            s.ignored(),
            ["events[].served_at", "request_id", "region"]
                .map(String::from)
                .to_vec()
        );
        let mut p = page("c", 7, 3);
        p.extras.answer.insert("next".into(), json!(2));
        noise.strip(&mut p);
        assert_eq!(
            p.extras.answer.keys().collect::<Vec<_>>(),
            ["next"],
            "an unlearned field stays"
        );
        assert!(p.extras.events.is_empty());
    }

    #[test]
    fn references_differing_in_a_contract_field_are_not_a_pair() {
        let noise = Noise::new("prod", Some("prod2"), &[]);
        let q = Query::default();
        noise.learn(&q, &Ok(page("a", 5, 3)), &Ok(page("b", 5, 4)));
        let d = noise.disagreement().unwrap();
        assert!(d.contains("not a second instance") && d.contains("field id"), "{d}");
        assert!(
            noise.summary().learned.is_empty(),
            "nothing is learned from a disagreement"
        );
        let noise = Noise::new("prod", Some("prod2"), &[]);
        noise.learn(&q, &Ok(page("a", 5, 3)), &Err(CallError::Error("500".into())));
        assert!(noise.disagreement().unwrap().contains("prod2 fails"));
        let noise = Noise::new("prod", Some("prod2"), &[]);
        noise.learn(
            &q,
            &Err(EngineError::Other("x".into())),
            &Err(CallError::Error("y".into())),
        );
        assert_eq!(noise.disagreement(), None, "both failing agree");
    }
}
