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
    #[error("process {index}: {step}; command: {command}; {stderr}")]
    Process {
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

    fn open(command: &[&str], processes: u32) -> SetupError {
        let spec: crate::spec::ProcessEngineSpec = toml::from_str(&format!(
            "command = {command:?}\nprocesses = {processes}\ntimeout_ms = 5000"
        ))
        .expect("a spec entry");
        let dir = std::env::temp_dir();
        match crate::process::ProcessEngine::open("nx", &spec, &dir, &dir, &crate::cancel::Cancel::new()) {
            Ok(_) => panic!("{command:?} started"),
            Err(e) => e,
        }
    }

    /// A program that cannot be spawned: the line names the engine and the
    /// command, and the operating system's error stays reachable as the
    /// source, its kind intact.
    #[test]
    fn a_program_that_cannot_start_keeps_its_os_error() {
        let e = open(&["/nonexistent/prog", "--x"], 1);
        let line = e.to_string();
        assert!(
            line.starts_with("engine nx: cannot start `/nonexistent/prog --x` in "),
            "{line}"
        );
        assert!(line.ends_with(": No such file or directory (os error 2)"), "{line}");
        assert_eq!(e.fault(), Fault::Start);
        assert!(matches!(e.step, StartError::Os { .. }), "{:?}", e.step);
        let os = e.source().and_then(|s| s.source()).expect("the OS error");
        assert_eq!(
            os.downcast_ref::<std::io::Error>().map(std::io::Error::kind),
            Some(std::io::ErrorKind::NotFound)
        );
    }

    /// A process that ends before its `ready` line: which one, why, the
    /// command and its stderr, in the one line the harness always printed.
    #[test]
    fn a_process_that_ends_before_ready_is_named_by_its_number() {
        let e = open(&["sh", "-c", "echo gone >&2; exit 3"], 2);
        let line = e.to_string();
        assert!(
            line.starts_with("engine nx: process 1: ended before answering hello ("),
            "{line}"
        );
        assert!(
            line.contains("; command: sh -c echo gone >&2; exit 3; stderr"),
            "{line}"
        );
        assert!(line.ends_with("gone"), "{line}");
        match &e.step {
            StartError::Process { index: 1, step, .. } => assert!(matches!(**step, StartError::NotReady(_))),
            other => panic!("{other:?}"),
        }
        let down = SetupError::new("svc", StartError::Connect("http://h/: refused".into()));
        assert_eq!(
            down.to_string(),
            "engine svc: the service does not answer: http://h/: refused"
        );
        assert_eq!(down.fault(), Fault::Connect);
    }
}
