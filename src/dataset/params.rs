//! The parameters of the service's seeding: what decides a generated dataset
//! (the contract's defaults), and which values CPython's draws can take.

use serde::{Deserialize, Serialize};

/// Everything that decides a generated dataset. The defaults are the service's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenParams {
    pub rows: u64,
    pub seed: u64,
    /// The pinned clock: `created_at = now - randint(0, span_seconds)`.
    pub now: i64,
    pub span_seconds: i64,
    /// Actors are drawn from `1..=actors`.
    pub actors: i64,
    pub actions: Vec<String>,
    pub resource_types: Vec<String>,
    /// Resource numbers are drawn from `1..=resource_id_max`.
    pub resource_id_max: i64,
    /// The payload's `note` is `"x"` repeated `randint(note_min, note_max)` times.
    pub note_min: i64,
    pub note_max: i64,
}

impl Default for GenParams {
    fn default() -> Self {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect();
        GenParams {
            rows: 50_000,
            seed: 1337,
            now: 1_767_225_600,
            span_seconds: 2_592_000,
            actors: 2000,
            actions: s(&["LOGIN", "LOGOUT", "UPDATE", "DELETE", "CREATE", "EXPORT"]),
            resource_types: s(&["ORDER", "USER", "PRODUCT", "INVOICE", "WAREHOUSE"]),
            resource_id_max: 5_000_000,
            note_min: 256,
            note_max: 1024,
        }
    }
}

impl GenParams {
    /// Checks that every draw is one CPython's seeding could make.
    pub fn validate(&self) -> Result<(), String> {
        let range = |name: &str, lo: i64, hi: i64| {
            if lo > hi || hi - lo >= (1 << 32) - 1 {
                Err(format!(
                    "{name}: range {lo}..={hi} must be non-empty and hold fewer than 2^32 values"
                ))
            } else {
                Ok(())
            }
        };
        if self.rows == 0 {
            return Err("rows: must be at least 1".into());
        }
        range("span_seconds", 0, self.span_seconds)?;
        range("actors", 1, self.actors)?;
        range("resource_id_max", 1, self.resource_id_max)?;
        range("note_min..note_max", self.note_min, self.note_max)?;
        if self.note_min < 0 {
            return Err("note_min: must be >= 0".into());
        }
        if self.actions.is_empty() || self.resource_types.is_empty() {
            return Err("actions and resource_types: each needs at least one entry".into());
        }
        self.now
            .checked_sub(self.span_seconds)
            .ok_or_else(|| "now - span_seconds overflows i64".to_string())?;
        Ok(())
    }
}
