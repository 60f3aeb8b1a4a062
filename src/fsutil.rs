//! Crash-safe file writes: write to a temporary sibling, then rename.

use std::io::Write;
use std::path::Path;

use crate::error::HarnessError;

/// Writes `bytes` to `path` so that readers see either the old file or the whole new one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), HarnessError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(dir)
        .map_err(|e| HarnessError::io(dir, e))?;
    tmp.write_all(bytes).map_err(|e| HarnessError::io(tmp.path(), e))?;
    tmp.as_file().sync_all().map_err(|e| HarnessError::io(tmp.path(), e))?;
    tmp.persist(path).map_err(|e| HarnessError::io(path, e.error))?;
    Ok(())
}

/// Moves the complete directory `new` to `dest`, replacing whatever was there.
/// The old directory is first moved aside, so `dest` never holds a mix of both.
pub fn replace_dir(new: &Path, dest: &Path) -> Result<(), HarnessError> {
    if dest.exists() {
        let aside = dest.with_file_name(format!(
            ".old-{}-{}",
            dest.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            std::process::id()
        ));
        std::fs::rename(dest, &aside).map_err(|e| HarnessError::io(dest, e))?;
        std::fs::rename(new, dest).map_err(|e| HarnessError::io(dest, e))?;
        std::fs::remove_dir_all(&aside).map_err(|e| HarnessError::io(&aside, e))?;
    } else {
        std::fs::rename(new, dest).map_err(|e| HarnessError::io(dest, e))?;
    }
    Ok(())
}
