//! Equivalence (`audit-harness equiv`, the gate's second stage): randomised
//! differential testing of candidates against the baseline, with shrunk
//! counterexamples, metamorphic properties, concurrency, payloads-from-disk,
//! appends and probes outside the input domain.
//!
//! The runner knows engines only as [`Opener`]s, so the tests can hand it
//! deliberately wrong engines (mutants) exactly as the CLI hands it real ones.

pub mod cases;
mod contract;
mod live;
mod metamorphic;
pub mod noise;
pub mod outcome;
pub mod regressions;
mod results;
mod scratch;
pub mod shrink;
pub mod small;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use audit_engines::{Domain, EngineError, Query, SharedEngine};
use serde::Serialize;

use crate::cancel::Cancel;
use crate::dataset::GenParams;
use crate::error::HarnessError;
use crate::shell::shell_words;
use crate::spec::MixSpec;
use cases::SmallRow;

/// How to open an engine on any dataset directory.
#[derive(Clone)]
pub struct Opener {
    pub name: String,
    #[allow(clippy::type_complexity)]
    pub open: Arc<dyn Fn(&Path) -> Result<SharedEngine, OpenError> + Send + Sync>,
    /// The engine serves its own data (a deployed HTTP service): `open`
    /// ignores the directory, so the properties that need the harness to
    /// choose the dataset do not apply to it.
    pub own_data: bool,
}

/// Why an engine could not be opened on a dataset, its cause kept.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The engine's own error (a built-in that could not read the dataset).
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The harness could not open it, its exit class kept: a process or HTTP
    /// engine that did not start or whose start was cancelled, a built-in the
    /// registry could not open (these name the engine), or a dataset that is
    /// not one (which [`run`] checks before any engine is opened).
    #[error(transparent)]
    Harness(#[from] HarnessError),
}

impl Opener {
    pub fn new<E: Into<OpenError>>(
        name: &str,
        open: impl Fn(&Path) -> Result<SharedEngine, E> + Send + Sync + 'static,
    ) -> Opener {
        Opener {
            name: name.to_string(),
            open: Arc::new(move |dir| open(dir).map_err(Into::into)),
            own_data: false,
        }
    }

    /// The same engine, marked as serving its own data.
    pub fn with_own_data(mut self) -> Opener {
        self.own_data = true;
        self
    }

    /// The frozen baseline, the default reference every candidate is compared with.
    pub fn baseline() -> Opener {
        Opener::new(audit_engines::reference().name, |dir| {
            Ok::<_, EngineError>(Arc::new(audit_engines::baseline::Baseline::open(dir)?) as SharedEngine)
        })
    }
}

/// The properties, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Property {
    /// Saved counterexamples of earlier runs, replayed first.
    Regressions,
    /// Seeded queries from the spec's request mix, on the contract dataset.
    Mix,
    /// Seeded queries from the edge mix, on the contract dataset.
    Edge,
    /// Generated small datasets with heavy ties, each with a query.
    SmallDatasets,
    /// Walking pages until an empty one gives the full ordered answer.
    Pagination,
    /// The answers per action partition the answer without an action filter.
    Partition,
    /// Many threads share one engine instance.
    Concurrency,
    /// A payload rewritten in place shows up; a truncated file is an error.
    PayloadsFromDisk,
    /// Rows appended between requests show up as the baseline shows them.
    Appends,
    /// Pages and sizes outside the domain answer by SQLite's rules.
    OutsideDomain,
    /// While a writer appends, every answer is the reference's on some state
    /// of the log between the request's sending and its answer.
    LiveAppends,
}

impl Property {
    /// Every property; `seed` derives each one's seed from its place here, so
    /// new properties go last.
    pub const ALL: [Property; 11] = [
        Property::Regressions,
        Property::Mix,
        Property::Edge,
        Property::SmallDatasets,
        Property::Pagination,
        Property::Partition,
        Property::Concurrency,
        Property::PayloadsFromDisk,
        Property::Appends,
        Property::OutsideDomain,
        Property::LiveAppends,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Property::Regressions => "regressions",
            Property::Mix => "mix",
            Property::Edge => "edge",
            Property::SmallDatasets => "small_datasets",
            Property::Pagination => "pagination",
            Property::Partition => "partition",
            Property::Concurrency => "concurrency",
            Property::PayloadsFromDisk => "payloads_from_disk",
            Property::Appends => "appends",
            Property::OutsideDomain => "outside_domain",
            Property::LiveAppends => "live_appends",
        }
    }

    /// The seed this property draws from, derived from the run's seed so that
    /// every candidate sees the same cases (and shares the baseline's answers).
    pub fn seed(self, run_seed: u64) -> u64 {
        let k = Property::ALL.iter().position(|p| *p == self).unwrap_or(0) as u64;
        run_seed ^ (k + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }
}

impl fmt::Display for Property {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Everything a run needs.
#[derive(Clone)]
pub struct Options {
    /// The engine every candidate is compared with (`[equivalence] reference`;
    /// [`Options::from_spec`] gives the frozen baseline, the commands the
    /// spec's choice through `registry::reference_opener`).
    pub reference: Opener,
    /// The contract dataset (never modified; scratch copies are made).
    pub dataset: PathBuf,
    /// Its generator parameters: the mix's window is anchored on `now`.
    pub generator: GenParams,
    pub mix: MixSpec,
    pub domain: Domain,
    /// Seeded cases per candidate on the contract dataset (mix and edge together).
    pub cases: u64,
    pub small_dataset_cases: u64,
    pub seed: u64,
    pub threads: usize,
    pub strict_domain: bool,
    /// Saved counterexamples: replayed first, new ones appended.
    pub regressions: Option<PathBuf>,
    /// Only these properties (all when empty).
    pub only: Vec<Property>,
    /// An engine call that takes longer is a failure ("hang").
    pub call_timeout: Duration,
    /// The command line (program and arguments) that replays a failure,
    /// before `--engines ... --seed ...`: `audit-harness --spec S --data D
    /// [--engine-command ...] equiv`.
    pub replay_prefix: Vec<String>,
    /// `live_appends`: rows the writer appends, and requests sent meanwhile.
    pub live_rows: u64,
    pub live_requests: u64,
    /// A second instance of the reference (`[equivalence] noise_reference`):
    /// the fields beyond the contract in which the two differ are noise.
    pub noise_reference: Option<Opener>,
    /// Fields beyond the contract left out of every comparison (`[equivalence] ignore_fields`).
    pub ignore_fields: Vec<String>,
    /// Once cancelled, no case starts and no answer is waited for.
    pub cancel: Cancel,
}

/// `live_appends`' history by default: one second of appends at 300 rows/s.
pub const LIVE_ROWS: u64 = 300;
pub const LIVE_REQUESTS: u64 = 400;

impl Options {
    /// The spec's settings for the dataset in `dataset`, stopped by `cancel`.
    pub fn from_spec(spec: &crate::spec::Spec, dataset: &Path, cancel: &Cancel) -> Result<Options, HarnessError> {
        let eq = &spec.equivalence;
        Ok(Options {
            reference: Opener::baseline(),
            dataset: dataset.to_path_buf(),
            generator: spec.dataset.generator.clone(),
            mix: spec.mix(&eq.mix)?.clone(),
            domain: spec.domain(),
            cases: eq.cases,
            small_dataset_cases: eq.small_dataset_cases,
            seed: eq.seed,
            threads: eq.threads as usize,
            strict_domain: eq.strict_domain,
            regressions: Some(eq.regressions.clone()),
            only: Vec::new(),
            call_timeout: Duration::from_secs(30),
            replay_prefix: replay_prefix(spec, dataset),
            live_rows: LIVE_ROWS,
            live_requests: LIVE_REQUESTS,
            noise_reference: None,
            ignore_fields: eq.ignore_fields.clone(),
            cancel: cancel.clone(),
        })
    }

    fn wants(&self, p: Property) -> bool {
        self.only.is_empty() || self.only.contains(&p)
    }
}

/// The program as the user ran it (when it is this binary), else `audit-harness`.
fn program_name() -> String {
    std::env::args_os()
        .next()
        .filter(|a| Path::new(a).file_name().is_some_and(|n| n == "audit-harness"))
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_else(|| "audit-harness".into())
}

/// `audit-harness --spec S --data D [--engine-command NAME=COMMAND ...] equiv`:
/// every engine given on the command line is given again.
fn replay_prefix(spec: &crate::spec::Spec, dataset: &Path) -> Vec<String> {
    let mut words = vec![
        program_name(),
        "--spec".into(),
        spec.path.display().to_string(),
        "--data".into(),
        dataset.display().to_string(),
    ];
    for (name, e) in spec.engines.iter().filter(|(_, e)| e.cwd.is_some()) {
        match &e.url {
            Some(url) => {
                words.push("--engine-url".into());
                words.push(format!("{name}={url}"));
            }
            None => {
                words.push("--engine-command".into());
                words.push(format!("{name}={}", e.command.join(" ")));
            }
        }
    }
    words.push("equiv".into());
    words
}

/// Spawns a scoped thread, or says why not (an input error: exit 2).
pub(crate) fn spawn_scoped<'scope, 'env, T: Send + 'scope>(
    s: &'scope std::thread::Scope<'scope, 'env>,
    f: impl FnOnce() -> T + Send + 'scope,
) -> Result<std::thread::ScopedJoinHandle<'scope, T>, HarnessError> {
    std::thread::Builder::new().spawn_scoped(s, f).map_err(|e| {
        HarnessError::input(format!(
            "cannot start a thread ({e}); lower [equivalence] threads or the engine's declared concurrency"
        ))
    })
}

/// Whether a property held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    /// A divergence outside the domain when not in strict mode.
    Warn,
    Fail,
    /// Not run, and why is in the result's note: the property needs the
    /// harness to choose the dataset, and the engine serves its own data.
    #[serde(rename = "n/a")]
    NotApplicable,
}

/// The smallest failing case found, and how to replay it.
#[derive(Debug, Clone, Serialize)]
pub struct Counterexample {
    pub query: Query,
    /// The whole dataset, when the failure is on a generated small one.
    pub dataset: Option<Vec<SmallRow>>,
    /// The first differing event and field, with expected and actual values
    /// (or why the engine could not be asked).
    pub detail: String,
    /// A genuine divergence (`mismatch`, saved as a regression) or a call that
    /// could not be judged (`hang`, `broken`, `cannot_open`, `harness`).
    pub kind: outcome::FailureKind,
    pub shrink_steps: usize,
    pub replay: String,
}

/// One engine on one property.
#[derive(Debug, Clone, Serialize)]
pub struct PropertyResult {
    pub engine: String,
    pub property: Property,
    pub status: Status,
    pub cases: u64,
    pub failures: u64,
    pub seed: u64,
    pub counterexample: Option<Counterexample>,
    pub seconds: f64,
    /// Why the property did not apply (status `n/a`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Property {
    /// Whether the property opens engines on datasets the harness makes
    /// (small datasets, scratch copies it rewrites or appends to), which an
    /// engine serving its own data cannot be.
    pub fn needs_chosen_dataset(self) -> bool {
        matches!(
            self,
            Property::SmallDatasets | Property::PayloadsFromDisk | Property::Appends | Property::LiveAppends
        )
    }
}

/// Everything a run found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// The engine the candidates were compared with.
    pub reference: String,
    pub results: Vec<PropertyResult>,
    pub seconds: f64,
    /// The fields beyond the contract left out of the comparisons, when any
    /// were stated or a noise reference was asked.
    pub noise: Option<noise::NoiseSummary>,
}

impl Report {
    pub fn failed(&self) -> Vec<&PropertyResult> {
        self.results.iter().filter(|r| r.status == Status::Fail).collect()
    }

    /// How many results did not apply (deployed URLs).
    pub fn not_applicable(&self) -> usize {
        self.results
            .iter()
            .filter(|r| r.status == Status::NotApplicable)
            .count()
    }

    /// The exit verdict: a failed property fails the run.
    pub fn judge(&self) -> Result<(), HarnessError> {
        let failed = self.failed();
        if failed.is_empty() {
            return Ok(());
        }
        let names: Vec<String> = failed.iter().map(|r| format!("{} {}", r.engine, r.property)).collect();
        Err(HarnessError::failed(format!("not equivalent: {}", names.join(", "))))
    }
}

/// Builds a result from a property's tally and first (shrunk) counterexample.
struct Tally {
    cases: u64,
    failures: u64,
    first: Option<Counterexample>,
}

impl Tally {
    fn new() -> Tally {
        Tally {
            cases: 0,
            failures: 0,
            first: None,
        }
    }

    fn record(&mut self, failure: Option<impl FnOnce() -> Counterexample>) {
        self.cases += 1;
        if let Some(make) = failure {
            self.failures += 1;
            if self.first.is_none() {
                self.first = Some(make());
            }
        }
    }
}

/// Runs every wanted property for every candidate, printing one line per
/// result as it lands (via `progress`), and returns the report.
pub fn run(
    opts: &Options,
    candidates: &[Opener],
    mut progress: impl FnMut(&PropertyResult),
) -> Result<Report, HarnessError> {
    if opts.cases == 0 {
        return Err(HarnessError::input(
            "--cases 0 is not allowed: expected an integer >= 1",
        ));
    }
    crate::dataset::preflight(&opts.dataset)?;
    let start = Instant::now();
    // Every answer loses the fields ignored as noise (stated, or learned from
    // the reference and its twin on the contract dataset) before it is compared.
    let twin = opts.noise_reference.as_ref();
    let noise = noise::Noise::new(&opts.reference.name, twin.map(|t| t.name.as_str()), &opts.ignore_fields);
    let pair = twin.map(|twin| noise::pair(&opts.reference, twin, &noise));
    let baseline = noise::stripped(&opts.reference, &noise);
    // Every property (and every shrink and replay) asks the stripped reference.
    let opts = &Options {
        reference: baseline.clone(),
        ..opts.clone()
    };
    // The reference compared with itself proves nothing: it is not a candidate.
    let candidates: Vec<Opener> = candidates
        .iter()
        .filter(|c| c.name != baseline.name)
        .map(|c| noise::stripped(c, &noise))
        .collect();
    let candidates = candidates.as_slice();
    // An engine that cannot start on the contract dataset is a setup error
    // (exit 2, as for the benchmark), not a failed check.
    for c in candidates {
        let opened = (c.open)(&opts.dataset).map_err(|e| match e {
            OpenError::Harness(e) => e,
            OpenError::Engine(e) => HarnessError::input(format!(
                "engine {}: cannot open {}: {e}",
                c.name,
                opts.dataset.display()
            )),
        })?;
        drop(opened);
        opts.cancel.check("equivalence stopped before the first property")?;
    }
    let mut out = Collector {
        report: Report::default(),
        hung: Vec::new(),
        seed: opts.seed,
        progress: &mut progress,
    };
    let saved = match &opts.regressions {
        Some(p) => regressions::load(p)?,
        None => Vec::new(),
    };

    let ctx = contract::Context::new(opts, pair.as_ref().unwrap_or(&baseline))?;
    // Once cancelled (SIGINT or SIGTERM): no further property starts, and a property cut
    // short is not reported (its tally is incomplete). Two references that
    // are not two instances of one service stop the run as bad input.
    let stop = || {
        opts.cancel
            .check("equivalence stopped; the results so far are not a verdict")?;
        noise.disagreement().map_or(Ok(()), |d| Err(HarnessError::input(d)))
    };
    if twin.is_some() {
        // Learn the noise from the mix's queries before any candidate is compared.
        ctx.suite(opts, Property::Mix);
        stop()?;
    }
    if opts.wants(Property::Regressions) && !saved.is_empty() {
        for c in candidates {
            let r = ctx.replay_regressions(opts, c, &saved);
            stop()?;
            out.push(r);
        }
    }
    for prop in [Property::Mix, Property::Edge] {
        if opts.wants(prop) {
            let suite = ctx.suite(opts, prop);
            stop()?;
            for c in out.live(candidates, prop) {
                let r = ctx.compare(opts, &c, &suite, prop)?;
                stop()?;
                out.push(r);
            }
        }
    }
    if opts.wants(Property::SmallDatasets) {
        let results = small::run(
            opts,
            &baseline,
            &out.runnable(candidates, &baseline, Property::SmallDatasets),
        )?;
        stop()?;
        for r in results {
            out.push(r);
        }
    }
    for prop in [Property::Pagination, Property::Partition] {
        if opts.wants(prop) {
            for c in std::iter::once(baseline.clone()).chain(out.live(candidates, prop)) {
                let r = metamorphic::run(opts, &ctx, &c, prop);
                stop()?;
                out.push(r);
            }
        }
    }
    if opts.wants(Property::Concurrency) {
        let suite = ctx.concurrency_suite(opts);
        stop()?;
        for c in out.live(candidates, Property::Concurrency) {
            let r = ctx.concurrency(opts, &c, &suite)?;
            stop()?;
            out.push(r);
        }
    }
    for prop in [Property::PayloadsFromDisk, Property::Appends] {
        if opts.wants(prop) {
            for c in out.runnable(candidates, &baseline, prop) {
                let r = scratch::run(opts, &ctx, &baseline, &c, prop)?;
                stop()?;
                out.push(r);
            }
        }
    }
    if opts.wants(Property::OutsideDomain) {
        let suite = ctx.outside_domain_suite(opts);
        stop()?;
        for c in out.live(candidates, Property::OutsideDomain) {
            let mut r = ctx.compare(opts, &c, &suite, Property::OutsideDomain)?;
            stop()?;
            if r.status == Status::Fail && !opts.strict_domain {
                r.status = Status::Warn;
            }
            out.push(r);
        }
    }
    if opts.wants(Property::LiveAppends) {
        for c in out.runnable(candidates, &baseline, Property::LiveAppends) {
            let r = live::run(opts, &baseline, &c)?;
            stop()?;
            out.push(r);
        }
    }
    let mut report = out.report;
    report.reference = baseline.name.clone();
    if twin.is_some() || !opts.ignore_fields.is_empty() {
        report.noise = Some(noise.summary());
    }
    if let Some(path) = &opts.regressions {
        regressions::save_new(path, &report)?;
    }
    report.seconds = start.elapsed().as_secs_f64();
    Ok(report)
}

/// Collects results as they land, and remembers engines that hung so that
/// later properties do not wait on them again.
struct Collector<'a> {
    report: Report,
    hung: Vec<(String, Counterexample)>,
    seed: u64,
    progress: &'a mut dyn FnMut(&PropertyResult),
}

impl Collector<'_> {
    fn push(&mut self, r: PropertyResult) {
        if let Some(c) = r
            .counterexample
            .as_ref()
            .filter(|c| c.kind == outcome::FailureKind::Hang)
        {
            if !self.hung.iter().any(|(n, _)| *n == r.engine) {
                self.hung.push((r.engine.clone(), c.clone()));
            }
        }
        (self.progress)(&r);
        self.report.results.push(r);
    }

    /// The candidates `prop` can run on and that still answer: a property
    /// that needs the harness to choose the dataset is `n/a`, with the reason,
    /// for an engine (or against a reference) serving its own data.
    fn runnable(&mut self, candidates: &[Opener], reference: &Opener, prop: Property) -> Vec<Opener> {
        if !prop.needs_chosen_dataset() {
            return self.live(candidates, prop);
        }
        let mut chosen = Vec::new();
        for c in candidates {
            let who = if c.own_data {
                Some(&c.name)
            } else if reference.own_data {
                Some(&reference.name)
            } else {
                None
            };
            match who {
                None => chosen.push(c.clone()),
                Some(who) => self.push(PropertyResult {
                    engine: c.name.clone(),
                    property: prop,
                    status: Status::NotApplicable,
                    cases: 0,
                    failures: 0,
                    seed: prop.seed(self.seed),
                    counterexample: None,
                    seconds: 0.0,
                    note: Some(format!(
                        "n/a for a deployed URL: {who} serves its own data, and {prop} needs datasets the harness makes"
                    )),
                }),
            }
        }
        self.live(&chosen, prop)
    }

    /// The candidates still answering; each hung one gets a failed result for `prop` instead.
    fn live(&mut self, candidates: &[Opener], prop: Property) -> Vec<Opener> {
        let mut live = Vec::new();
        for c in candidates {
            match self.hung.iter().find(|(n, _)| *n == c.name).map(|(_, ce)| ce.clone()) {
                None => live.push(c.clone()),
                Some(ce) => self.push(PropertyResult {
                    engine: c.name.clone(),
                    property: prop,
                    status: Status::Fail,
                    cases: 0,
                    failures: 1,
                    seed: prop.seed(self.seed),
                    counterexample: Some(Counterexample {
                        detail: format!("not run: the engine hung earlier ({})", ce.detail),
                        ..ce
                    }),
                    seconds: 0.0,
                    note: None,
                }),
            }
        }
        live
    }
}

/// The replay command for one engine and property: every setting that
/// decides the cases, shell-quoted, so that it can be pasted into a shell.
fn replay(opts: &Options, engine: &str, prop: Property) -> String {
    let mut words = opts.replay_prefix.clone();
    words.extend([
        "--engines".to_string(),
        engine.to_string(),
        "--property".into(),
        prop.name().into(),
        "--seed".into(),
        opts.seed.to_string(),
        "--cases".into(),
        opts.cases.to_string(),
        "--small-dataset-cases".into(),
        opts.small_dataset_cases.to_string(),
    ]);
    if opts.strict_domain {
        words.push("--strict-domain".into());
    }
    if let Some(r) = &opts.regressions {
        words.push("--regressions".into());
        words.push(r.display().to_string());
    }
    shell_words(&words)
}
