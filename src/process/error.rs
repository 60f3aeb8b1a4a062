//! Why an engine outside the harness (a process engine, an HTTP service)
//! could not be opened, as data: which engine, at which step it failed, and
//! the operating system's error kept as the source where there is one. It
//! becomes one line (and exit 2) only at the command's boundary.

use audit_engines::Fault;

/// An engine that could not be opened: `engine NAME: ...`.
#[derive(Debug, thiserror::Error)]
#[error("engine {engine}: {step}")]
pub struct SetupError {
    pub engine: String,
    #[source]
    pub step: StartError,
}

impl SetupError {
    pub fn new(engine: &str, step: StartError) -> SetupError {
        SetupError {
            engine: engine.to_string(),
            step,
        }
    }

    /// The kind of failure every report names: `connect` for a deployed
    /// service that does not answer, `start` for anything else.
    pub fn fault(&self) -> Fault {
        match self.step {
            StartError::Connect(_) => Fault::Connect,
            _ => Fault::Start,
        }
    }
}

/// The step an engine failed at.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// What the spec or the command line gives cannot be used: an empty
    /// command, a URL, a dataset directory the protocol cannot carry.
    #[error("{0}")]
    Config(String),
    /// The operating system refused: a directory, spawning the program, a
    /// port, a thread.
    #[error("{what}: {source}")]
    Os {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// It started but did not become ready: its pipes, no `ready` line in
    /// time, an end before it, a `ready` line the protocol refuses, a
    /// launched server that never answered.
    #[error("{0}")]
    NotReady(String),
    /// One of a process engine's processes did not become ready: which,
    /// its command line and the last lines of its stderr.
    #[error("worker {index}: {step}; command: {command}; {stderr}")]
    Worker {
        index: usize,
        command: String,
        stderr: String,
        #[source]
        step: Box<StartError>,
    },
    /// A deployed service could not be reached.
    #[error("the service does not answer: {0}")]
    Connect(String),
}

impl StartError {
    /// The operating system's `source`, refusing `what`.
    pub fn os(what: impl Into<String>, source: std::io::Error) -> StartError {
        StartError::Os {
            what: what.into(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error;

    /// The line is the one the harness always printed; the OS error stays
    /// reachable as the source, and the kind follows the step.
    #[test]
    fn a_setup_error_prints_one_line_and_keeps_its_cause() {
        let spawn = SetupError::new(
            "py",
            StartError::Worker {
                index: 2,
                command: "python3 e.py".into(),
                stderr: "stderr: (nothing)".into(),
                step: Box::new(StartError::os(
                    "cannot start `python3 e.py` in /w",
                    std::io::Error::from_raw_os_error(libc::ENOENT),
                )),
            },
        );
        assert!(
            spawn
                .to_string()
                .starts_with("engine py: worker 2: cannot start `python3 e.py` in /w: No such file or directory"),
            "{spawn}"
        );
        assert!(spawn
            .to_string()
            .ends_with("; command: python3 e.py; stderr: (nothing)"));
        assert_eq!(spawn.fault(), Fault::Start);
        let worker = spawn.source().expect("the step");
        let os = worker.source().and_then(|s| s.source()).expect("the OS error");
        assert_eq!(
            os.downcast_ref::<std::io::Error>().and_then(|e| e.raw_os_error()),
            Some(libc::ENOENT)
        );
        let down = SetupError::new("svc", StartError::Connect("http://h/: refused".into()));
        assert_eq!(
            down.to_string(),
            "engine svc: the service does not answer: http://h/: refused"
        );
        assert_eq!(down.fault(), Fault::Connect);
    }
}
