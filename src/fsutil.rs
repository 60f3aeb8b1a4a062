//! Crash-safe file writes: write to a temporary sibling, then rename.

use std::io::Write;
use std::path::Path;

use crate::error::HarnessError;

/// Writes `bytes` to `path` so that readers see either the old file or the
/// whole new one, even after a power cut (the new file is synced first).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), HarnessError> {
    write_whole(path, bytes, true)
}

/// As [`write_atomic`], without syncing: readers and a killed writer still
/// see one whole file, a power cut may leave the old one. For a record
/// rewritten often (a running benchmark's run.json after every round), where
/// a sync per round would cost the benchmark's time.
pub fn replace_unsynced(path: &Path, bytes: &[u8]) -> Result<(), HarnessError> {
    write_whole(path, bytes, false)
}

fn write_whole(path: &Path, bytes: &[u8], sync: bool) -> Result<(), HarnessError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(dir)
        .map_err(|e| HarnessError::io(dir, e))?;
    // Errors name the file being written, not the temporary one (which is
    // removed when `tmp` drops).
    let failed = |e: std::io::Error| HarnessError::input(format!("{}: cannot write: {e}", path.display()));
    tmp.write_all(bytes).map_err(failed)?;
    // A temporary file is created 0600; a report is for colleagues and CI
    // uploaders too: the mode any new file gets under the user's umask.
    use std::os::unix::fs::PermissionsExt;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o666 & !umask()))
        .map_err(failed)?;
    if sync {
        tmp.as_file().sync_all().map_err(failed)?;
    }
    tmp.persist(path).map_err(|e| failed(e.error))?;
    Ok(())
}

/// The process's file-creation mask, read once (umask can only be read by
/// setting it, so it is set back at once, before any file is written).
fn umask() -> u32 {
    static MASK: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *MASK.get_or_init(|| {
        // SAFETY: umask has no preconditions; the old mask is restored immediately.
        let old = unsafe { libc::umask(0o022) };
        // SAFETY: as above.
        unsafe { libc::umask(old) };
        old
    })
}

/// Moves the complete directory `new` to `dest`, replacing whatever was there
/// (a directory or a file). The old one is first moved aside, so `dest` never
/// holds a mix of both; it is moved back if `new` cannot take its place, and
/// removed once it has.
pub fn replace_dir(new: &Path, dest: &Path) -> Result<(), HarnessError> {
    let Ok(old) = std::fs::symlink_metadata(dest) else {
        return std::fs::rename(new, dest).map_err(|e| HarnessError::io(dest, e));
    };
    let aside = dest.with_file_name(format!(
        ".old-{}-{}",
        dest.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        std::process::id()
    ));
    std::fs::rename(dest, &aside).map_err(|e| HarnessError::io(dest, e))?;
    if let Err(e) = std::fs::rename(new, dest) {
        let _ = std::fs::rename(&aside, dest);
        return Err(HarnessError::io(dest, e));
    }
    let removed = if old.is_dir() {
        std::fs::remove_dir_all(&aside)
    } else {
        std::fs::remove_file(&aside)
    };
    removed.map_err(|e| HarnessError::io(&aside, e))
}

/// A temporary directory in `parent` named `{prefix}{pid}-XXXXXX`, removed
/// when dropped. A run ended by SIGKILL (or a second Ctrl-C) cannot remove
/// its own, so this first removes every `{prefix}{pid}-*` whose process is
/// no longer running: the next run cleans up after the one that died. (A pid
/// reused by another process keeps its directory until a later run.)
pub fn temp_dir_in(parent: &Path, prefix: &str) -> std::io::Result<tempfile::TempDir> {
    // Once per directory and prefix in a process: the equivalence suite makes
    // hundreds of small datasets, and a busy TMPDIR is long to list.
    static TIDIED: std::sync::Mutex<Vec<(std::path::PathBuf, String)>> = std::sync::Mutex::new(Vec::new());
    let key = (parent.to_path_buf(), prefix.to_string());
    let mut tidied = crate::sync::lock(&TIDIED);
    if !tidied.contains(&key) {
        remove_stale(parent, prefix);
        tidied.push(key);
    }
    drop(tidied);
    tempfile::Builder::new()
        .prefix(&format!("{prefix}{}-", std::process::id()))
        .tempdir_in(parent)
}

/// Removes the entries `{prefix}{pid}-*` of `parent` whose process has
/// ended; returns how many. Errors are ignored: this is tidying only.
pub fn remove_stale(parent: &Path, prefix: &str) -> usize {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return 0;
    };
    let mut removed = 0;
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(prefix))
            .and_then(|rest| rest.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<libc::pid_t>().ok())
        else {
            continue;
        };
        if pid <= 0 || running(pid) {
            continue;
        }
        let path = e.path();
        let gone = match e.file_type() {
            Ok(t) if t.is_dir() => std::fs::remove_dir_all(&path),
            _ => std::fs::remove_file(&path),
        };
        removed += usize::from(gone.is_ok());
    }
    removed
}

/// Whether process `pid` exists (another user's counts too).
fn running(pid: libc::pid_t) -> bool {
    // SAFETY: signal 0 only checks that the process exists and may be signalled.
    unsafe { libc::kill(pid, 0) == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM) }
}

/// Bytes free for an unprivileged writer on the file system holding `path` (statvfs).
pub fn free_bytes(path: &Path) -> Result<u64, HarnessError> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| HarnessError::input(format!("{}: a path with a NUL byte", path.display())))?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a NUL-terminated path and `st` a valid statvfs to fill.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return Err(HarnessError::io(path, std::io::Error::last_os_error()));
    }
    // The field types differ between platforms (u64 here, u32 on some).
    #[allow(clippy::useless_conversion)]
    Ok(u64::from(st.f_bavail).saturating_mul(u64::from(st.f_frsize)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn temporary_directories_of_ended_processes_are_removed_by_the_next() {
        let dir = tempfile::tempdir().unwrap();
        // A pid beyond any pid_max (2^22) never runs; this process does.
        let dead = dir.path().join(".gen-2147483000-abc");
        let dead_file = dir.path().join(".gen-2147483001-x");
        let live = dir.path().join(format!(".gen-{}-abc", std::process::id()));
        let other = dir.path().join(".gen-notapid-abc");
        for d in [&dead, &live, &other] {
            std::fs::create_dir(d).unwrap();
            std::fs::write(d.join("audit.db"), b"x").unwrap();
        }
        std::fs::write(&dead_file, b"x").unwrap();
        let fresh = temp_dir_in(dir.path(), ".gen-").unwrap();
        assert!(!dead.exists() && !dead_file.exists());
        assert!(live.exists() && other.exists());
        let name = fresh.path().file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with(&format!(".gen-{}-", std::process::id())), "{name}");
    }

    #[test]
    fn written_files_get_the_umask_mode_not_the_temporary_files_0600() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("summary.csv");
        write_atomic(&p, b"x\n").unwrap();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o666 & !umask(), "{mode:o}");
    }
}
