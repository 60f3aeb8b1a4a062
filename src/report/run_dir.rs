//! Where a run's files are written: `RunDir`, the one writer of every file
//! of a run's report directory (`reports/<run-id>/`), of an A/A series'
//! directory and of `report --out`. Each file is written whole (a temporary
//! name, then a rename), and `reports/latest` points at the newest run.

use std::path::{Path, PathBuf};

use crate::error::HarnessError;
use crate::fsutil::write_atomic;

/// Report files rendered in memory, by name, to be written together.
pub type Files = Vec<(String, Vec<u8>)>;

/// One run's report directory: the one writer of every file in it.
#[derive(Debug, Clone)]
pub struct RunDir {
    pub path: PathBuf,
    pub id: String,
    /// Where `latest` pointed before this run (restored if the run is discarded).
    previous_latest: Option<PathBuf>,
}

impl RunDir {
    /// Creates `reports_dir/<UTC timestamp>-<spec digest prefix>/` and points
    /// `reports_dir/latest` at it. Fails with exit 2, before anything runs, when
    /// the directory cannot be created or written.
    pub fn create(
        reports_dir: &Path,
        started: std::time::SystemTime,
        spec_digest: &str,
    ) -> Result<RunDir, HarnessError> {
        let stamp = humantime::format_rfc3339_seconds(started)
            .to_string()
            .replace(['-', ':'], "");
        let short: String = spec_digest.trim_start_matches("sha256:").chars().take(8).collect();
        let not_writable = |e: std::io::Error| {
            HarnessError::input(format!(
                "report directory {}: {e}; set [bench] reports_dir to a writable directory",
                reports_dir.display()
            ))
        };
        std::fs::create_dir_all(reports_dir).map_err(not_writable)?;
        // Two runs may start in the same second (tests, parallel CI jobs): the
        // first to create a name owns it, the other takes the next suffix.
        let mut n = 1;
        let (path, id) = loop {
            let id = if n == 1 {
                format!("{stamp}-{short}")
            } else {
                format!("{stamp}-{short}-{n}")
            };
            let path = reports_dir.join(&id);
            match std::fs::create_dir(&path) {
                Ok(()) => break (path, id),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 1000 => n += 1,
                Err(e) => return Err(not_writable(e)),
            }
        };
        let previous_latest = std::fs::read_link(reports_dir.join("latest")).ok();
        let dir = RunDir {
            path,
            id,
            previous_latest,
        };
        if let Err(e) = dir.point_latest() {
            // Nothing of the run is written yet: no empty directory is left.
            let _ = std::fs::remove_dir(&dir.path);
            return Err(e);
        }
        Ok(dir)
    }

    /// The directory of a run that exists (or one `report --out` names,
    /// created if missing), to write recomputed files into; `latest` is left
    /// as it is.
    pub fn open(path: &Path) -> Result<RunDir, HarnessError> {
        std::fs::create_dir_all(path).map_err(|e| HarnessError::io(path, e))?;
        Ok(RunDir {
            path: path.to_path_buf(),
            id: path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            previous_latest: None,
        })
    }

    /// A directory inside the run (`sweep`'s `rows-N/`), created if missing.
    pub fn child(&self, name: &str) -> Result<RunDir, HarnessError> {
        RunDir::open(&self.path.join(name))
    }

    /// Writes one file of the run whole.
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<(), HarnessError> {
        write_atomic(&self.path.join(name), bytes)
    }

    /// Writes every file of `files`, each whole, in order.
    pub fn write_all(&self, files: &Files) -> Result<(), HarnessError> {
        files.iter().try_for_each(|(name, bytes)| self.write(name, bytes))
    }

    /// As [`RunDir::write`], without syncing the file to disk first: for a
    /// record rewritten after every round of a benchmark (see [`super::journal`]),
    /// where a sync per round would cost the benchmark's time. A killed
    /// harness still leaves one whole file; a power cut may leave the old one.
    pub fn rewrite(&self, name: &str, bytes: &[u8]) -> Result<(), HarnessError> {
        crate::fsutil::replace_unsynced(&self.path.join(name), bytes)
    }

    /// Creates (or empties) one file of the run to append to as the run goes
    /// (the journal's latencies.csv, see [`super::journal`]); the run's end replaces
    /// it whole.
    pub fn create_appendable(&self, name: &str) -> Result<std::fs::File, HarnessError> {
        let path = self.path.join(name);
        std::fs::File::create(&path).map_err(|e| HarnessError::io(&path, e))
    }

    /// Removes a run that never got past its setup, and points `latest` back
    /// where it was: a refused run leaves nothing behind.
    pub fn discard(self) {
        let _ = std::fs::remove_dir_all(&self.path);
        let Some(parent) = self.path.parent() else { return };
        let latest = parent.join("latest");
        if std::fs::read_link(&latest).is_ok_and(|t| t == Path::new(&self.id)) {
            let _ = std::fs::remove_file(&latest);
            if let Some(prev) = &self.previous_latest {
                let _ = std::os::unix::fs::symlink(prev, &latest);
            }
        }
    }

    /// Points `<reports_dir>/latest` at this run (a relative symlink, swapped atomically).
    fn point_latest(&self) -> Result<(), HarnessError> {
        let Some(parent) = self.path.parent() else {
            return Ok(());
        };
        let tmp = parent.join(format!(".latest-{}", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        std::os::unix::fs::symlink(&self.id, &tmp).map_err(|e| HarnessError::io(&tmp, e))?;
        std::fs::rename(&tmp, parent.join("latest")).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            HarnessError::io(parent.join("latest"), e)
        })
    }
}
