//! Turning an engine name into an opened engine: the built-ins of
//! `audit-engines` and the spec's engines outside the harness
//! (`[engines.NAME]`, `--engine-command`, `--engine-url`): process engines,
//! launched HTTP servers and deployed HTTP services, by name, with a helpful
//! error for anything else.

use std::path::Path;

use audit_engines::{Role, SharedEngine};

use crate::cancel::Cancel;
use crate::error::HarnessError;
use crate::spec::{ProcessEngineSpec, Spec};

/// Every engine name the spec and the built-ins offer, with one line about each.
pub fn list(spec: &Spec) -> Vec<(String, String)> {
    audit_engines::builtin()
        .iter()
        .map(|e| (e.name.to_string(), format!("[{}] {}", e.role.label(), e.about)))
        .chain(spec.engines.iter().map(|(n, e)| (n.clone(), describe(e))))
        .collect()
}

/// One line about an engine of the spec: its kind and how it is reached.
fn describe(e: &ProcessEngineSpec) -> String {
    match &e.url {
        None => format!("[process] {}", e.command.join(" ")),
        Some(url) if e.command.is_empty() => format!("[http, deployed] {url}"),
        Some(url) => format!("[http, launched] {} -> {url}", e.command.join(" ")),
    }
}

/// Whether engine `name` serves its own data (a deployed HTTP service): it
/// cannot be opened on a dataset the harness chooses.
pub fn own_data(spec: &Spec, name: &str) -> bool {
    spec.engines
        .get(name)
        .is_some_and(|e| e.url.is_some() && e.command.is_empty())
}

/// Refuses engines serving their own data for work that runs engines on
/// datasets the harness makes (`what` names it): a deployed URL cannot be
/// pointed at them, and measuring it on its own data there would be mislabelled.
pub fn require_chosen_dataset(spec: &Spec, names: &[String], what: &str) -> Result<(), HarnessError> {
    match names.iter().find(|n| own_data(spec, n)) {
        None => Ok(()),
        Some(n) => Err(HarnessError::input(format!(
            "engine {n} is a deployed URL serving its own data, and {what} runs engines on datasets the harness makes (n/a for a deployed URL): leave {n} out, or give it a `command` so the harness launches it"
        ))),
    }
}

/// The role of engine `name`: a built-in's own; every engine run as a
/// separate program is a candidate. The one place a role is decided.
pub fn role(name: &str) -> Role {
    audit_engines::find(name).map_or(Role::Candidate, |e| e.role)
}

/// The role of engine `name` in a benchmark whose yardstick is `reference`
/// (`[bench] reference`): that engine is the reference; the built-in
/// reference, benchmarked beside another (the baseline in-process beside the
/// baseline served over HTTP), is measured against it like a candidate, and
/// judged for information unless `[gate] candidates` names it. (Not a
/// yardstick: the yardstick's p95 is the floor every p95 is divided by.)
pub fn bench_role(name: &str, reference: &str) -> Role {
    match role(name) {
        _ if name == reference => Role::Reference,
        Role::Reference => Role::Candidate,
        r => r,
    }
}

/// The name of the reference engine every candidate is compared with.
pub fn reference_name() -> &'static str {
    audit_engines::reference().name
}

/// Checks that `name` is an engine, naming the known ones if not.
pub fn check_name(spec: &Spec, name: &str) -> Result<(), HarnessError> {
    if list(spec).iter().any(|(n, _)| n == name) {
        Ok(())
    } else {
        Err(HarnessError::input(format!(
            "unknown engine {name:?}: known engines are {}",
            list(spec).into_iter().map(|(n, _)| n).collect::<Vec<_>>().join(", ")
        )))
    }
}

/// Checks that every engine the spec names (`[equivalence] reference`, `[equivalence] engines`,
/// `[bench] engines`, `[gate] candidates`, `[gate.engine.NAME]`) is registered:
/// built in, `[engines.NAME]` or `--engine-command` (so call it after those
/// are added). A typo is bad input naming the key, not an empty verdict.
pub fn validate(spec: &Spec) -> Result<(), HarnessError> {
    let known: Vec<String> = list(spec).into_iter().map(|(n, _)| n).collect();
    let mut named: Vec<(String, &str)> = vec![
        ("equivalence.reference".to_string(), spec.equivalence.reference.as_str()),
        ("bench.reference".to_string(), spec.bench.reference.as_str()),
    ];
    if let Some(n) = &spec.equivalence.noise_reference {
        named.push(("equivalence.noise_reference".to_string(), n.as_str()));
    }
    named.extend(
        spec.equivalence
            .engines
            .iter()
            .map(|n| ("equivalence.engines".to_string(), n.as_str())),
    );
    named.extend(
        spec.bench
            .engines
            .iter()
            .map(|n| ("bench.engines".to_string(), n.as_str())),
    );
    named.extend(
        spec.gate
            .candidates
            .iter()
            .map(|n| ("gate.candidates".to_string(), n.as_str())),
    );
    named.extend(
        spec.gate
            .engine
            .keys()
            .map(|n| (format!("gate.engine.{n}"), n.as_str())),
    );
    if spec.gate.candidates.contains(&spec.bench.reference) {
        return Err(spec.key_error(
            "gate.candidates",
            &format!(
                "{:?} is [bench] reference, the yardstick the candidates are measured against; it cannot be one of them",
                spec.bench.reference
            ),
        ));
    }
    for (key, name) in named {
        if !known.iter().any(|k| k == name) {
            return Err(spec.key_error(
                &key,
                &format!(
                    "{name:?} is not an engine; the engines are {} (built in, [engines.NAME], --engine-command or --engine-url)",
                    known.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// Opens engine `name` on the dataset in `dir`, after checking the dataset
/// is one (`dataset::preflight`). `cancel` stops the waits of an engine
/// that runs outside the harness: a process engine's start and every answer,
/// a launched HTTP server's start.
pub fn open(spec: &Spec, name: &str, dir: &Path, cancel: &Cancel) -> Result<SharedEngine, HarnessError> {
    check_name(spec, name)?;
    crate::dataset::preflight(dir)?;
    if let Some(opened) = open_external(spec, name, dir, cancel) {
        return opened.map_err(|e| HarnessError::Setup(Box::new(e)));
    }
    let info = audit_engines::find(name).expect("check_name accepted it");
    (info.open)(dir).map_err(|e| HarnessError::input(format!("engine {name}: cannot open {}: {e}", dir.display())))
}

/// Opens a spec's engine that runs outside the harness (an HTTP service, a
/// process engine), keeping the kind of a failure; `None` for a built-in.
fn open_external(
    spec: &Spec,
    name: &str,
    dir: &Path,
    cancel: &Cancel,
) -> Option<Result<SharedEngine, crate::process::SetupError>> {
    let p = spec.engines.get(name)?;
    Some(if p.url.is_some() {
        crate::http::HttpEngine::open(name, p, &spec.base_dir(), dir, cancel)
            .map(|e| std::sync::Arc::new(e) as SharedEngine)
    } else {
        crate::process::ProcessEngine::open(name, p, &spec.base_dir(), dir, cancel)
            .map(|e| std::sync::Arc::new(e) as SharedEngine)
    })
}

/// The opener of the equivalence reference the spec names (`[equivalence]
/// reference`, the frozen baseline by default): any registered engine.
pub fn reference_opener(spec: &Spec, cancel: &Cancel) -> Result<crate::equivalence::Opener, HarnessError> {
    let name = &spec.equivalence.reference;
    if audit_engines::find(name).is_some_and(|e| e.role == Role::Reference) {
        return Ok(crate::equivalence::Opener::baseline());
    }
    check_name(spec, name)
        .map_err(|_| spec.key_error("equivalence.reference", &format!("{name:?} is not a registered engine")))?;
    opener(spec, name, cancel)
}

/// The opener of `[equivalence] noise_reference`, a second instance of the
/// reference the noise is learned from, when the spec names one.
pub fn noise_reference_opener(
    spec: &Spec,
    cancel: &Cancel,
) -> Result<Option<crate::equivalence::Opener>, HarnessError> {
    spec.equivalence
        .noise_reference
        .as_deref()
        .map(|name| {
            check_name(spec, name).map_err(|_| {
                spec.key_error(
                    "equivalence.noise_reference",
                    &format!("{name:?} is not a registered engine"),
                )
            })?;
            opener(spec, name, cancel)
        })
        .transpose()
}

/// An opener for engine `name` that the equivalence runner can call on any dataset directory.
pub fn opener(spec: &Spec, name: &str, cancel: &Cancel) -> Result<crate::equivalence::Opener, HarnessError> {
    check_name(spec, name)?;
    let own_data = own_data(spec, name);
    let spec = spec.clone();
    let owned = name.to_string();
    let cancel = cancel.clone();
    let opener = crate::equivalence::Opener::new(name, move |dir| open(&spec, &owned, dir, &cancel));
    Ok(if own_data { opener.with_own_data() } else { opener })
}

/// Whether one engine starts on a dataset and answers a query.
#[derive(Debug, Clone)]
pub struct StartCheck {
    pub name: String,
    /// What it did (opened in, answered with), or why it failed.
    pub outcome: Result<String, String>,
}

/// Opens engine `name` on `dir` and asks it page 1 of the whole dataset's
/// window (the spec's first page size), then closes it (stopping anything
/// it started); `cancel` stops the waits.
pub fn check_starts(spec: &Spec, name: &str, dir: &Path, cancel: &Cancel) -> StartCheck {
    let t0 = std::time::Instant::now();
    // An engine outside the harness says which kind of failure stopped it
    // (`start`, `connect`), as every report does.
    let opened = match open_external(spec, name, dir, cancel) {
        Some(r) => r.map_err(|e| format!("{}: {e}", e.fault())),
        None => open(spec, name, dir, cancel).map_err(|e| e.to_string()),
    };
    let outcome = match opened {
        Err(e) => Err(e),
        Ok(engine) => {
            let opened = t0.elapsed();
            let g = &spec.dataset.generator;
            let q = audit_engines::Query {
                from_ts: g.now - g.span_seconds,
                to_ts: g.now,
                actor_id: None,
                action: None,
                page: 1,
                page_size: spec.domain().page_sizes[0],
            };
            let t1 = std::time::Instant::now();
            let answer = engine.query(&q);
            let asked = t1.elapsed();
            match answer {
                Ok(page) => Ok(format!(
                    "started in {:.0} ms; page 1 of the whole window: {} events in {:.1} ms",
                    opened.as_secs_f64() * 1e3,
                    page.count,
                    asked.as_secs_f64() * 1e3
                )),
                Err(e) => Err(format!("engine {name}: started, but the query failed: {e}")),
            }
        }
    };
    StartCheck {
        name: name.to_string(),
        outcome,
    }
}
