//! The harness's errors as data, each carrying the exit code it maps to (README, "Exit codes").

use std::path::Path;

/// Why a command did not end with exit 0. `Display` is the one line printed on stderr.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// Bad input (spec, flags, query, dataset files) or environment: exit 2.
    #[error("{0}")]
    Input(String),
    /// A check failed (integrity, equivalence, threshold): exit 1.
    #[error("{0}")]
    Failed(String),
    /// Not enough evidence either way: exit 3.
    #[error("{0}")]
    Inconclusive(String),
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
        HarnessError::Input(format!("{}: {e}", path.as_ref().display()))
    }

    /// SQLite refused to open or read a database.
    pub fn sql(path: impl AsRef<Path>, e: rusqlite::Error) -> HarnessError {
        if sql_locked(&e) {
            return HarnessError::locked(path);
        }
        HarnessError::Input(format!("{}: sqlite: {e}", path.as_ref().display()))
    }

    /// Another connection holds the database locked (a writer's exclusive
    /// transaction) beyond SQLite's busy timeout: nothing is wrong with the file.
    pub fn locked(path: impl AsRef<Path>) -> HarnessError {
        HarnessError::Input(format!(
            "{}: locked by another connection (a writer holds it, e.g. in an exclusive transaction; waited 5 s): stop the writer or let its transaction end, then run again",
            path.as_ref().display()
        ))
    }

    /// The same error, its message prefixed with `at: ` (where it happened).
    pub fn prefixed(self, at: &str) -> HarnessError {
        match self {
            HarnessError::Input(m) => HarnessError::Input(format!("{at}: {m}")),
            HarnessError::Failed(m) => HarnessError::Failed(format!("{at}: {m}")),
            HarnessError::Inconclusive(m) => HarnessError::Inconclusive(format!("{at}: {m}")),
        }
    }

    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            HarnessError::Failed(_) => 1,
            HarnessError::Input(_) => 2,
            HarnessError::Inconclusive(_) => 3,
        }
    }
}

/// Whether SQLite gave up because another connection holds a lock.
pub fn sql_locked(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}
