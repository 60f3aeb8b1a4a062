//! `--engine-url NAME=URL`: a deployed HTTP service given on the command
//! line instead of in `harness.toml` (as `--engine-command` gives a process
//! engine). It gets the default timeout and answers a JSON array of events;
//! an `[engines.NAME]` table of the same name is replaced.

use std::collections::BTreeMap;

use crate::error::HarnessError;
use crate::process::command::name_problem;
use crate::spec::endpoint::Endpoint;
use crate::spec::{ProcessEngineSpec, Spec};

const FORM: &str = "expected NAME=URL, e.g. --engine-url 'prod=http://10.0.0.5:8080/audit-events' \
     (NAME: letters, digits, '_', '-' or '.'; URL: http://HOST:PORT/PATH of a running service)";

/// Splits one `--engine-url` value into the engine's name and its URL.
pub fn parse(value: &str) -> Result<(String, String), String> {
    let bad = |why: &str| Err(format!("--engine-url {value:?}: {why}; {FORM}"));
    let Some((name, url)) = value.split_once('=') else {
        return bad("no '='");
    };
    let name = name.trim();
    if let Some(why) = name_problem(name) {
        return bad(&why);
    }
    let url = url.trim();
    if let Err(why) = Endpoint::parse(url, false) {
        return bad(&why);
    }
    Ok((name.to_string(), url.to_string()))
}

/// Adds every `--engine-url` value to `spec.engines` as a deployed service.
pub fn add_to_spec(spec: &mut Spec, values: &[String]) -> Result<(), HarnessError> {
    for v in values {
        let (name, url) = parse(v).map_err(HarnessError::input)?;
        spec.engines.insert(
            name,
            ProcessEngineSpec {
                command: Vec::new(),
                url: Some(url),
                events_key: None,
                processes_key: Some(1),
                workers_key: None,
                timeout_ms: crate::spec::DEFAULT_PROCESS_TIMEOUT_MS,
                env: BTreeMap::new(),
                cwd: Some(std::path::PathBuf::from(".")),
            },
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_and_url_are_split_at_the_first_equals_sign() {
        assert_eq!(
            parse("prod=http://h:8080/audit-events").unwrap(),
            ("prod".to_string(), "http://h:8080/audit-events".to_string())
        );
    }

    #[test]
    fn bad_forms_name_the_allowed_form() {
        for (value, why) in [
            ("http://h/x", "no '='"),
            ("=http://h/x", "the name is empty"),
            ("memindex=http://h/x", "built-in engine's name"),
            ("p=h:8080/x", "expected http://HOST"),
            ("p=https://h/x", "https is not supported"),
            ("p=http://h:{port}/x", "needs `command`"),
        ] {
            let e = parse(value).unwrap_err();
            assert!(e.contains(why), "{value}: {e}");
            assert!(e.contains("expected NAME=URL"), "{e}");
        }
    }
}
