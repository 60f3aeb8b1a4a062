//! The harness's errors as data, each carrying the exit code it maps to (README, "Exit codes").

use std::path::{Path, PathBuf};

/// Why a command did not end with exit 0. `Display` is the one line printed on stderr.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// Bad input (spec, flags, query, dataset files) or environment: exit 2.
    #[error("{0}")]
    Input(String),
    /// A file that could not be read or written (exit 2, as bad input or
    /// environment): the I/O error is kept as the source, so a caller can
    /// still ask its kind (a full disk, a missing file).
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// SQLite refused to open or read a database (exit 2); its error kept as the source.
    #[error("{}: sqlite: {source}", path.display())]
    Sql {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    /// An engine outside the harness could not be opened (exit 2, as bad
    /// input or environment): its error (`process::SetupError`: the engine,
    /// the step it failed at, the operating system's cause) kept as the source.
    #[error("{0}")]
    Setup(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A check failed (integrity, equivalence, threshold): exit 1.
    #[error("{0}")]
    Failed(String),
    /// Not enough evidence either way: exit 3.
    #[error("{0}")]
    Inconclusive(String),
    /// An error and where it happened (`at: error`): its exit code and its
    /// cause are the error's own (the source is the boxed error: ask
    /// `error`, not `source()`, for the `HarnessError` itself). Decide by
    /// [`HarnessError::exit_code`], never by matching a variant.
    #[error("{at}: {error}")]
    At {
        at: String,
        #[source]
        error: Box<HarnessError>,
    },
}

impl HarnessError {
    pub fn input(msg: impl Into<String>) -> HarnessError {
        HarnessError::Input(msg.into())
    }

    pub fn failed(msg: impl Into<String>) -> HarnessError {
        HarnessError::Failed(msg.into())
    }

    /// An I/O problem with a file the user pointed us at.
    pub fn io(path: impl AsRef<Path>, e: std::io::Error) -> HarnessError {
        HarnessError::Io {
            path: path.as_ref().to_path_buf(),
            source: e,
        }
    }

    /// SQLite refused to open or read a database.
    pub fn sql(path: impl AsRef<Path>, e: rusqlite::Error) -> HarnessError {
        if sql_locked(&e) {
            return HarnessError::locked(path);
        }
        HarnessError::Sql {
            path: path.as_ref().to_path_buf(),
            source: e,
        }
    }

    /// Another connection holds the database locked (a writer's exclusive
    /// transaction) beyond SQLite's busy timeout: nothing is wrong with the file.
    pub fn locked(path: impl AsRef<Path>) -> HarnessError {
        HarnessError::Input(format!(
            "{}: locked by another connection (a writer holds it, e.g. in an exclusive transaction; waited 5 s): stop the writer or let its transaction end, then run again",
            path.as_ref().display()
        ))
    }

    /// The same error, its line prefixed with `at: ` (where it happened),
    /// its exit code and cause kept.
    pub fn prefixed(self, at: &str) -> HarnessError {
        HarnessError::At {
            at: at.to_string(),
            error: Box::new(self),
        }
    }

    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            HarnessError::Failed(_) => 1,
            HarnessError::Input(_) | HarnessError::Io { .. } | HarnessError::Sql { .. } | HarnessError::Setup(_) => 2,
            HarnessError::Inconclusive(_) => 3,
            HarnessError::At { error, .. } => error.exit_code(),
        }
    }

    /// Bad input or environment (exit 2), whatever its variant: the run it
    /// ends is not complete, and one that never started leaves nothing behind.
    pub fn is_input(&self) -> bool {
        self.exit_code() == 2
    }
}

/// Whether SQLite gave up because another connection holds a lock.
pub fn sql_locked(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error;

    /// A file's error prints as it always did and keeps its cause, whose
    /// kind a caller can still ask (a full disk is not a missing file).
    #[test]
    fn a_files_error_keeps_its_cause_and_its_line() {
        let full = HarnessError::io("/r/latencies.csv", std::io::Error::from_raw_os_error(libc::ENOSPC));
        assert!(
            full.to_string()
                .starts_with("/r/latencies.csv: No space left on device"),
            "{full}"
        );
        assert_eq!(full.exit_code(), 2);
        assert!(full.is_input());
        let cause = full.source().and_then(|s| s.downcast_ref::<std::io::Error>()).unwrap();
        assert_eq!(cause.raw_os_error(), Some(libc::ENOSPC));
        let sql = HarnessError::sql("/d/audit.db", rusqlite::Error::InvalidQuery);
        assert_eq!(
            sql.to_string(),
            format!("/d/audit.db: sqlite: {}", rusqlite::Error::InvalidQuery)
        );
        assert!(sql.source().is_some_and(|s| s.is::<rusqlite::Error>()));
        let at = full.prefixed("stage bench");
        assert_eq!(
            at.to_string(),
            "stage bench: /r/latencies.csv: No space left on device (os error 28)"
        );
        assert_eq!(at.exit_code(), 2);
        let cause = at
            .source()
            .and_then(|s| s.source())
            .and_then(|s| s.downcast_ref::<std::io::Error>());
        assert_eq!(cause.and_then(std::io::Error::raw_os_error), Some(libc::ENOSPC));
        assert_eq!(HarnessError::failed("x").prefixed("line 3").exit_code(), 1);
        assert_eq!(HarnessError::Inconclusive("x".into()).prefixed("line 3").exit_code(), 3);
        assert!(!HarnessError::failed("x").is_input());
    }
}
