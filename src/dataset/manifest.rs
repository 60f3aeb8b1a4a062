//! `manifest.json`: what a dataset directory must contain, so that `verify` can
//! tell a complete, untouched dataset from a damaged one.

use std::path::Path;

use audit_engines::RowMeta;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::params::GenParams;
use crate::error::HarnessError;

/// The manifest's file name inside a dataset directory.
pub const MANIFEST_FILE: &str = "manifest.json";
const FORMAT: u32 = 1;

/// Where a dataset came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "params")]
pub enum Source {
    /// Made by `audit-harness gen` with these parameters.
    Generated(GenParams),
    /// Made elsewhere (the live service) and checked by `audit-harness adopt`.
    Adopted,
}

/// A dataset's identity: row count and digests of both files' contents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: u32,
    pub source: Source,
    pub rows: u64,
    pub payloads_bytes: u64,
    pub payloads_sha256: String,
    /// sha256 of every row, in id order, each as a JSON array line (see [`RowDigest`]).
    pub rows_sha256: String,
}

impl Manifest {
    pub fn new(
        source: Source,
        rows: u64,
        payloads_bytes: u64,
        payloads_sha256: String,
        rows_sha256: String,
    ) -> Manifest {
        Manifest {
            format: FORMAT,
            source,
            rows,
            payloads_bytes,
            payloads_sha256,
            rows_sha256,
        }
    }

    /// Reads `dir/manifest.json`.
    pub fn read(dir: &Path) -> Result<Manifest, HarnessError> {
        let path = dir.join(MANIFEST_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| HarnessError::io(&path, e))?;
        let m: Manifest = serde_json::from_str(&text)
            .map_err(|e| HarnessError::input(format!("{}: not a dataset manifest: {e}", path.display())))?;
        if m.format != FORMAT {
            return Err(HarnessError::input(format!(
                "{}: manifest format {} is not supported (this harness reads format {FORMAT})",
                path.display(),
                m.format
            )));
        }
        Ok(m)
    }

    /// Writes `dir/manifest.json` atomically.
    pub fn write(&self, dir: &Path) -> Result<(), HarnessError> {
        let text = serde_json::to_string_pretty(self).expect("a manifest always serialises") + "\n";
        crate::fsutil::write_atomic(&dir.join(MANIFEST_FILE), text.as_bytes())
    }
}

/// sha256 over the table's rows in id order, each row as the JSON array
/// `[id, created_at, actor_id, action, resource_type, resource_id, payload_offset, payload_len]`
/// plus `"\n"`: unambiguous whatever the strings hold.
pub struct RowDigest {
    sha: Sha256,
    buf: Vec<u8>,
}

impl Default for RowDigest {
    fn default() -> Self {
        Self::new()
    }
}

impl RowDigest {
    pub fn new() -> RowDigest {
        RowDigest {
            sha: Sha256::new(),
            buf: Vec::with_capacity(256),
        }
    }

    pub fn add(&mut self, m: &RowMeta) {
        self.buf.clear();
        serde_json::to_writer(
            &mut self.buf,
            &(
                m.id,
                m.created_at,
                m.actor_id,
                &m.action,
                &m.resource_type,
                &m.resource_id,
                m.payload_offset,
                m.payload_len,
            ),
        )
        .expect("writing to a Vec cannot fail");
        self.buf.push(b'\n');
        self.sha.update(&self.buf);
    }

    pub fn finish(self) -> String {
        crate::digest::hex(&self.sha.finalize())
    }
}
