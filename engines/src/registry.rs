//! The built-in engines, each with its role: the reference (the frozen
//! baseline), the candidates, and the yardstick (the floor).

use std::path::Path;
use std::sync::Arc;

use crate::contract::EngineError;
use crate::engine::SharedEngine;

/// What an engine is for in a comparison: said once, here, and carried with
/// the engine's figures wherever they go.
/// Serialised as its [`Role::label`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The production behaviour every other engine is compared with (the baseline).
    Reference,
    /// May replace the reference: judged against it.
    Candidate,
    /// A yardstick shown beside the others (the floor, the physical limit), never a replacement.
    Yardstick,
}

impl Role {
    pub fn label(self) -> &'static str {
        match self {
            Role::Reference => "reference",
            Role::Candidate => "candidate",
            Role::Yardstick => "yardstick",
        }
    }

    /// The role named by [`Role::label`].
    pub fn from_label(s: &str) -> Option<Role> {
        [Role::Reference, Role::Candidate, Role::Yardstick]
            .into_iter()
            .find(|r| r.label() == s)
    }
}

/// A built-in engine: its name, one line about it, its role, and how to open it.
pub struct EngineInfo {
    pub name: &'static str,
    pub about: &'static str,
    pub role: Role,
    pub open: fn(&Path) -> Result<SharedEngine, EngineError>,
}

/// Every built-in engine, baseline first.
pub fn builtin() -> &'static [EngineInfo] {
    &[
        EngineInfo {
            name: "baseline",
            about: "the production service ported verbatim: connection per request, LIMIT/OFFSET, a file open per payload (frozen)",
            role: Role::Reference,
            open: |dir| Ok(Arc::new(crate::baseline::Baseline::open(dir)?)),
        },
        EngineInfo {
            name: "keyset",
            about: "pooled connections, cached statements, (created_at, id) seeks from remembered page boundaries, shared pread",
            role: Role::Candidate,
            open: |dir| Ok(Arc::new(crate::keyset::KeysetEngine::open(dir)?)),
        },
        EngineInfo {
            name: "memindex",
            about: "metadata in memory (newest first, per-actor and per-action lists), binary search, one pread per payload",
            role: Role::Candidate,
            open: |dir| Ok(Arc::new(crate::memindex::MemIndexEngine::open(dir)?)),
        },
        EngineInfo {
            name: "prefetch",
            about: "memindex's lookup, then a page's payload reads sorted, coalesced and read-ahead hinted together",
            role: Role::Candidate,
            open: |dir| Ok(Arc::new(crate::prefetch::PrefetchEngine::open(dir)?)),
        },
        EngineInfo {
            name: "floor",
            about: "answers known in advance; only the mandatory payload reads and decodes (the physical limit)",
            role: Role::Yardstick,
            open: |dir| Ok(Arc::new(crate::floor::FloorEngine::open(dir)?)),
        },
    ]
}

/// The built-in engine registered under `name`.
pub fn find(name: &str) -> Option<&'static EngineInfo> {
    builtin().iter().find(|e| e.name == name)
}

/// The built-in reference engine (the frozen baseline).
pub fn reference() -> &'static EngineInfo {
    builtin()
        .iter()
        .find(|e| e.role == Role::Reference)
        .expect("the built-ins include the reference")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// run.json and summary.csv write a role as the same word: serde's name
    /// for it is its label, and reads back.
    #[test]
    fn a_role_serialises_as_its_label() {
        for r in [Role::Reference, Role::Candidate, Role::Yardstick] {
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(json, format!("\"{}\"", r.label()));
            assert_eq!(serde_json::from_str::<Role>(&json).unwrap(), r);
            assert_eq!(Role::from_label(r.label()), Some(r));
        }
    }
}
