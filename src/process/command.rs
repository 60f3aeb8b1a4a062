//! `--engine-command NAME=COMMAND`: a process engine given on the command
//! line instead of in `harness.toml`.
//!
//! The command is split at whitespace (no quoting, no escapes, no shell): a
//! program and its arguments. It runs in the current directory, so relative
//! paths in it mean what they mean in the shell that typed them. It gets one
//! process and the default timeout; an `[engines.NAME]` table of the same name
//! is replaced.

use std::collections::BTreeMap;

use crate::error::HarnessError;
use crate::spec::{ProcessEngineSpec, Spec};

const FORM: &str = "expected NAME=COMMAND, e.g. --engine-command 'py=python3 examples/python-engine/engine.py' \
     (NAME: letters, digits, '_', '-' or '.'; COMMAND: a program and its arguments, split at whitespace, no quoting)";

/// Splits one `--engine-command` value into the engine's name and its command.
pub fn parse(value: &str) -> Result<(String, Vec<String>), String> {
    let bad = |why: &str| Err(format!("--engine-command {value:?}: {why}; {FORM}"));
    let Some((name, command)) = value.split_once('=') else {
        return bad("no '='");
    };
    let name = name.trim();
    if let Some(why) = name_problem(name) {
        return bad(&why);
    }
    let command: Vec<String> = command.split_whitespace().map(str::to_string).collect();
    if command.is_empty() {
        return bad("the command is empty");
    }
    Ok((name.to_string(), command))
}

/// What is wrong with an engine name given on the command line, if anything:
/// empty, a character a list or a file name cannot hold, a built-in's name.
pub fn name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("the name is empty".into());
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
    {
        return Some(format!("the name has {c:?}"));
    }
    if audit_engines::find(name).is_some() {
        return Some(format!("{name:?} is a built-in engine's name; choose another"));
    }
    None
}

/// Adds every `--engine-command` value to `spec.engines` (one process, the
/// default timeout, run in the current directory).
pub fn add_to_spec(spec: &mut Spec, values: &[String]) -> Result<(), HarnessError> {
    if values.is_empty() {
        return Ok(());
    }
    let cwd = std::env::current_dir()
        .map_err(|e| HarnessError::input(format!("--engine-command: the current directory: {e}")))?;
    for v in values {
        let (name, command) = parse(v).map_err(HarnessError::input)?;
        spec.engines.insert(
            name,
            ProcessEngineSpec {
                command,
                url: None,
                events_key: None,
                processes_key: Some(1),
                workers_key: None,
                timeout_ms: crate::spec::DEFAULT_PROCESS_TIMEOUT_MS,
                env: BTreeMap::new(),
                cwd: Some(cwd.clone()),
            },
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_and_command_are_split_at_the_first_equals_sign() {
        assert_eq!(
            parse("py=python3  examples/e.py --x=1").unwrap(),
            (
                "py".to_string(),
                vec!["python3".into(), "examples/e.py".into(), "--x=1".into()]
            )
        );
        assert_eq!(parse(" v2.a-b_c =./eng").unwrap().0, "v2.a-b_c");
    }

    #[test]
    fn bad_forms_name_the_allowed_form() {
        for (value, why) in [
            ("python3 e.py", "no '='"),
            ("=python3 e.py", "the name is empty"),
            ("a,b=python3", "the name has ','"),
            ("py=", "the command is empty"),
            ("py=   ", "the command is empty"),
            ("keyset=python3 e.py", "built-in engine's name"),
        ] {
            let e = parse(value).unwrap_err();
            assert!(e.contains(why), "{value}: {e}");
            assert!(e.contains("expected NAME=COMMAND"), "{e}");
        }
    }
}
