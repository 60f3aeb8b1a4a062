//! The spec (`harness.toml`): dataset, request mixes, engines, equivalence,
//! benchmark and gate settings. Loading validates everything; errors name the
//! file, line and column, the key and what is allowed.

pub mod endpoint;
mod locate;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use audit_engines::Domain;
use serde::Deserialize;

use crate::dataset::GenParams;
use crate::error::HarnessError;

/// The default spec's file name, looked up in the current directory.
pub const DEFAULT_SPEC: &str = "harness.toml";

/// A loaded, validated spec. Relative paths in it are resolved against the
/// spec file's directory.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub dataset: DatasetSpec,
    #[serde(default)]
    pub domain: DomainSpec,
    pub mixes: BTreeMap<String, MixSpec>,
    /// Engines that run as separate programs (`[engines.NAME]`).
    #[serde(default)]
    pub engines: BTreeMap<String, ProcessEngineSpec>,
    pub integrity: IntegritySpec,
    #[serde(default)]
    pub equivalence: EquivalenceSpec,
    #[serde(default)]
    pub bench: BenchSpec,
    #[serde(default)]
    pub gate: GateSpec,
    #[serde(default)]
    pub sweep: SweepSpec,
    /// Who sends the benchmark's requests: the harness's own threads, or a Locust cluster.
    #[serde(default)]
    pub driver: DriverSpec,
    /// The file this spec was read from.
    #[serde(skip)]
    pub path: PathBuf,
    /// sha256 of the spec file's bytes, for report directory names.
    #[serde(skip)]
    pub digest: String,
    /// The spec file's text, recorded in run.json.
    #[serde(skip)]
    pub text: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetSpec {
    /// The dataset directory (`audit.db`, `payloads.jsonl`, `manifest.json`).
    pub dir: PathBuf,
    /// The contract's payload digest; `verify` checks the manifest against it when set.
    #[serde(default)]
    pub payloads_sha256: Option<String>,
    #[serde(default)]
    pub generator: GenParams,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainSpec {
    pub max_page: i64,
    pub page_sizes: Vec<i64>,
}

impl Default for DomainSpec {
    fn default() -> Self {
        let d = Domain::default();
        DomainSpec {
            max_page: d.max_page,
            page_sizes: d.page_sizes,
        }
    }
}

/// Which time window a mix's requests ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowKind {
    /// `[now - window_seconds, now]`.
    Recent,
    /// The whole generated range `[now - span_seconds, now]`.
    All,
}

/// A request mix: how the benchmark's and equivalence's request streams are drawn.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MixSpec {
    pub window: WindowKind,
    #[serde(default)]
    pub window_seconds: Option<i64>,
    /// Probability that a request filters by one actor, drawn uniformly from the dataset's actors.
    pub actor_probability: f64,
    /// Action filters, drawn uniformly; `"*"` stands for no action filter.
    pub actions: Vec<String>,
    /// Pages drawn uniformly from `pages[0]..=pages[1]`.
    #[serde(deserialize_with = "first_last")]
    pub pages: [i64; 2],
    /// Page sizes, drawn uniformly.
    pub page_sizes: Vec<i64>,
}

/// `[first, last]`: exactly two integers (serde's array impl would ignore a third).
fn first_last<'de, D: serde::Deserializer<'de>>(d: D) -> Result<[i64; 2], D::Error> {
    let v = Vec::<i64>::deserialize(d)?;
    match v[..] {
        [first, last] => Ok([first, last]),
        _ => Err(serde::de::Error::custom(format!(
            "{v:?} is not allowed: expected [first, last], two integers, not {}",
            v.len()
        ))),
    }
}

/// The most threads (equivalence), workers (benchmark) or processes (a
/// process engine) a spec may ask for.
pub const MAX_THREADS: u64 = 1024;

/// An engine outside the harness (`[engines.NAME]`): a program speaking the
/// process protocol (`command`), an HTTP server the harness launches
/// (`command` and `url`), or a deployed HTTP service (`url` alone).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessEngineSpec {
    #[serde(default)]
    pub command: Vec<String>,
    /// The HTTP endpoint, `http://HOST:PORT/PATH`; `{port}` stands for the
    /// port the harness chooses for a launched server.
    #[serde(default)]
    pub url: Option<String>,
    /// When an HTTP answer is a JSON object, the key holding the events.
    #[serde(default)]
    pub events_key: Option<String>,
    /// How many processes of a process engine's command run side by side
    /// (default 1); read it through [`ProcessEngineSpec::processes`].
    #[serde(default, rename = "processes")]
    pub processes_key: Option<u32>,
    /// `processes` under its earlier name, from before "worker" was kept for
    /// what sends load: still read, so that earlier specs and the spec text
    /// kept in earlier run.json files load as they did.
    #[serde(default, rename = "workers")]
    pub workers_key: Option<u32>,
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Where the command runs: `None` for `[engines.NAME]` (the spec file's
    /// directory), the current directory for `--engine-command`.
    #[serde(skip)]
    pub cwd: Option<PathBuf>,
}

impl ProcessEngineSpec {
    /// The processes to start: `processes`, else `workers`, else 1.
    pub fn processes(&self) -> u32 {
        self.processes_key.or(self.workers_key).unwrap_or(1)
    }

    /// The key that set [`ProcessEngineSpec::processes`], for errors that
    /// name what the user wrote.
    fn processes_key_name(&self) -> &'static str {
        if self.processes_key.is_none() && self.workers_key.is_some() {
            "workers"
        } else {
            "processes"
        }
    }
}

/// A process engine's default `timeout_ms`.
pub const DEFAULT_PROCESS_TIMEOUT_MS: u64 = 10_000;

fn default_timeout_ms() -> u64 {
    DEFAULT_PROCESS_TIMEOUT_MS
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntegritySpec {
    /// `sha256:<hex>` of `engines/src/baseline.rs`.
    pub baseline_sha256: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EquivalenceSpec {
    /// The engine every candidate's answers are compared with: the frozen
    /// baseline unless the spec names another registered engine (a process
    /// engine serving the production Python code, say).
    #[serde(default = "default_reference")]
    pub reference: String,
    pub engines: Vec<String>,
    pub cases: u64,
    pub seed: u64,
    pub mix: String,
    pub small_dataset_cases: u64,
    pub threads: u32,
    pub strict_domain: bool,
    pub regressions: PathBuf,
    /// A second instance of the reference: the fields beyond the contract in
    /// which the two answers differ are learned as noise (Diffy's way).
    #[serde(default)]
    pub noise_reference: Option<String>,
    /// Fields beyond the contract that are never compared (a request id, a
    /// served-at time): `request_id`, `meta.trace`, `events[].served_at`.
    #[serde(default)]
    pub ignore_fields: Vec<String>,
}

fn default_reference() -> String {
    audit_engines::reference().name.to_string()
}

impl Default for EquivalenceSpec {
    fn default() -> Self {
        EquivalenceSpec {
            reference: default_reference(),
            engines: vec!["keyset".into(), "memindex".into(), "prefetch".into()],
            cases: 2000,
            seed: 20261123,
            mix: "default".into(),
            small_dataset_cases: 300,
            threads: 32,
            strict_domain: false,
            regressions: PathBuf::from("tests/regressions/equivalence.jsonl"),
            noise_reference: None,
            ignore_fields: Vec::new(),
        }
    }
}

/// `audit-harness sweep`: the sizes benchmarked, and where their datasets live.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    /// Row counts, each generated with `[dataset.generator]`'s other parameters.
    #[serde(default = "default_sweep_rows")]
    pub rows: Vec<u64>,
    /// Where each size's dataset is generated (`rows-N/`) or reused.
    #[serde(default = "default_sweep_dir")]
    pub data_dir: PathBuf,
}

fn default_sweep_rows() -> Vec<u64> {
    vec![50_000, 500_000, 5_000_000]
}

fn default_sweep_dir() -> PathBuf {
    PathBuf::from("data/sweep")
}

impl Default for SweepSpec {
    fn default() -> Self {
        SweepSpec {
            rows: default_sweep_rows(),
            data_dir: default_sweep_dir(),
        }
    }
}

/// Closed loop (fixed workers) or open loop (fixed arrival rate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadMode {
    Closed,
    Open,
}

/// Whether the payload file is evicted from the page cache before each trial.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CacheMode {
    Warm,
    Cold,
}

/// Who sends the benchmark's requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriverKind {
    /// The harness's own worker threads (`bench::driver`).
    #[default]
    Builtin,
    /// A Locust master and its workers (`crate::locust`), HTTP engines only.
    Locust,
}

impl DriverKind {
    pub const ALL: [DriverKind; 2] = [DriverKind::Builtin, DriverKind::Locust];

    /// The name the spec, the command line and run.json use.
    pub fn label(self) -> &'static str {
        match self {
            DriverKind::Builtin => "builtin",
            DriverKind::Locust => "locust",
        }
    }
}

/// `[driver]`: who sends the benchmark's requests (see `docs/locust.md`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DriverSpec {
    pub kind: DriverKind,
    /// Where the Locust master listens for workers, `HOST:PORT`; port 0 takes
    /// a free one (local workers only: workers on other hosts need a known port).
    pub master: String,
    /// Locust workers the master waits for before the first round.
    pub workers: u32,
    /// Whether the harness starts the workers on this machine (false: they
    /// are started by hand, on this or other hosts, and connect to `master`).
    pub start_workers: bool,
    /// Seconds the master and its workers have to start and connect.
    pub connect_timeout_s: f64,
    /// Seconds one round may take before its records count as late.
    pub round_timeout_s: f64,
    /// The Python environment Locust is installed into (relative to the
    /// spec's directory) [default: .venv-locust; AUDIT_LOCUST_VENV overrides].
    pub venv: Option<PathBuf>,
}

impl Default for DriverSpec {
    fn default() -> Self {
        DriverSpec {
            kind: DriverKind::Builtin,
            master: "127.0.0.1:0".into(),
            workers: 2,
            start_workers: true,
            connect_timeout_s: 60.0,
            round_timeout_s: 300.0,
            venv: None,
        }
    }
}

impl DriverSpec {
    /// Every value in its domain, or one line saying which is not.
    pub fn check(&self) -> Result<(), String> {
        if !(1..=64).contains(&self.workers) {
            return Err(format!("[driver] workers = {}: must be 1 to 64", self.workers));
        }
        for (name, v) in [
            ("connect_timeout_s", self.connect_timeout_s),
            ("round_timeout_s", self.round_timeout_s),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(format!("[driver] {name} = {v}: must be a positive number of seconds"));
            }
        }
        if !self.start_workers && self.master.ends_with(":0") {
            return Err(format!(
                "[driver] master = {:?}: workers started by hand need a known port (port 0 picks a free one)",
                self.master
            ));
        }
        Ok(())
    }
}

impl LoadMode {
    pub const ALL: [LoadMode; 2] = [LoadMode::Closed, LoadMode::Open];

    /// The name the spec, the command line and run.json use.
    pub fn label(self) -> &'static str {
        match self {
            LoadMode::Closed => "closed",
            LoadMode::Open => "open",
        }
    }
}

impl CacheMode {
    pub const ALL: [CacheMode; 2] = [CacheMode::Warm, CacheMode::Cold];

    /// The name the spec, the command line and run.json use.
    pub fn label(self) -> &'static str {
        match self {
            CacheMode::Warm => "warm",
            CacheMode::Cold => "cold",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BenchSpec {
    /// The engine every other is measured against (ratios, verdicts): the
    /// frozen baseline, or e.g. the baseline served over HTTP, so that a
    /// deployed candidate is judged against the deployed service.
    pub reference: String,
    pub engines: Vec<String>,
    pub mixes: Vec<String>,
    pub seed: u64,
    /// Measured requests per engine per round at most: every engine of a
    /// round draws from the same stream of this length, slice by slice.
    pub requests: u64,
    /// Slices per engine per round: a round interleaves the engines, each
    /// running `slices` times for about `slice_ms` (at most `requests /
    /// slices` requests), so that every engine meets the machine's state at
    /// many moments spread over the run.
    pub slices: u32,
    /// How long a slice should last, in milliseconds: closed loop, the count
    /// that fills it at the engine's pace (`bench::quota`); open loop, no
    /// request scheduled later starts.
    pub slice_ms: f64,
    /// How narrow the intervals that decide must be before the run stops.
    pub precision: Precision,
    /// Unmeasured warm-up requests per engine and mix, one after another,
    /// before its first slice of the run.
    pub warmup: u64,
    pub concurrency: u32,
    /// Rounds always run (the first look at the data is after these).
    pub min_rounds: u32,
    /// Rounds at most.
    pub max_rounds: u32,
    /// No new round starts when it would end after this many seconds of benchmark.
    pub max_seconds: f64,
    pub mode: LoadMode,
    /// Open loop arrival rate: requests per second, or a fraction of the
    /// baseline's closed-loop throughput written as `"0.5x"`.
    #[serde(default)]
    pub rate: Option<RateSpec>,
    /// Open loop: evenly spaced or Poisson arrivals.
    #[serde(default)]
    pub arrivals: Arrivals,
    pub cache: CacheMode,
    pub reports_dir: PathBuf,
    /// Rows per second a live writer appends while the benchmark runs a
    /// second time, on a scratch copy (0 = off).
    #[serde(default)]
    pub append_rate: f64,
}

impl Default for BenchSpec {
    fn default() -> Self {
        BenchSpec {
            engines: vec![
                "baseline".into(),
                "keyset".into(),
                "memindex".into(),
                "prefetch".into(),
                "floor".into(),
            ],
            mixes: vec!["default".into(), "shallow".into()],
            seed: 7,
            requests: 400,
            slices: 4,
            slice_ms: 40.0,
            precision: Precision::default(),
            warmup: 20,
            concurrency: 4,
            min_rounds: 5,
            max_rounds: 40,
            max_seconds: 60.0,
            mode: LoadMode::Closed,
            rate: None,
            arrivals: Arrivals::Uniform,
            cache: CacheMode::Warm,
            reports_dir: PathBuf::from("reports"),
            append_rate: 0.0,
            reference: audit_engines::reference().name.to_string(),
        }
    }
}

/// The relative half-width, `max(high / estimate, estimate / low) − 1`, an
/// interval that decides must reach before a run stops early (an SLA
/// document quotes these intervals), per figure.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Precision {
    pub p95: f64,
    pub p99: f64,
    pub throughput: f64,
}

impl Default for Precision {
    fn default() -> Self {
        Precision {
            p95: 0.10,
            p99: 0.25,
            throughput: 0.10,
        }
    }
}

impl Precision {
    /// `(key, value)` for each figure, in spec order.
    pub fn figures(&self) -> [(&'static str, f64); 3] {
        [("p95", self.p95), ("p99", self.p99), ("throughput", self.throughput)]
    }
}

/// The relative half-width of an interval around `estimate`: `max(high /
/// estimate, estimate / low) − 1` (on the log scale, the larger side).
pub fn half_width(estimate: f64, (low, high): (f64, f64)) -> f64 {
    if !(estimate > 0.0 && low > 0.0 && high > 0.0) {
        return f64::INFINITY;
    }
    (high / estimate).max(estimate / low) - 1.0
}

/// How open-loop arrivals are spaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Arrivals {
    /// Request i is due at i / rate.
    #[default]
    Uniform,
    /// Exponential gaps with mean 1 / rate (a Poisson process), seeded per round.
    Poisson,
}

impl Arrivals {
    pub const ALL: [Arrivals; 2] = [Arrivals::Uniform, Arrivals::Poisson];

    /// The name the spec, the command line and run.json use.
    pub fn label(self) -> &'static str {
        match self {
            Arrivals::Uniform => "uniform",
            Arrivals::Poisson => "poisson",
        }
    }
}

/// The slice lengths allowed, in milliseconds.
pub const SLICE_MS: std::ops::RangeInclusive<f64> = 0.1..=60_000.0;

impl BenchSpec {
    /// The checks of `[bench]` values; errors are `(key, what is allowed)`.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        let int_at_least = |k: &'static str, v: u64, min: u64| {
            if v < min {
                Err((k, format!("{v} is not allowed: expected an integer >= {min}")))
            } else {
                Ok(())
            }
        };
        int_at_least("requests", self.requests, 1)?;
        int_at_least("slices", u64::from(self.slices), 1)?;
        if self.requests < u64::from(self.slices) {
            return Err((
                "requests",
                format!(
                    "{} is not allowed: expected at least one request per slice (slices = {})",
                    self.requests, self.slices
                ),
            ));
        }
        if !(SLICE_MS.contains(&self.slice_ms)) {
            return Err((
                "slice_ms",
                format!(
                    "{} is not allowed: expected a number of milliseconds from {} to {} (a slice must have time to run a request, and a round to interleave)",
                    self.slice_ms,
                    SLICE_MS.start(),
                    SLICE_MS.end()
                ),
            ));
        }
        for (k, v) in self.precision.figures() {
            if !(v > 0.0 && v < 1.0) {
                return Err((
                    match k {
                        "p95" => "precision.p95",
                        "p99" => "precision.p99",
                        _ => "precision.throughput",
                    },
                    format!("{v} is not allowed: expected a relative half-width between 0 and 1 (0.10 = ±10 %)"),
                ));
            }
        }
        if !(1..=MAX_THREADS).contains(&u64::from(self.concurrency)) {
            return Err((
                "concurrency",
                format!(
                    "{} is not allowed: expected an integer from 1 to {MAX_THREADS}",
                    self.concurrency
                ),
            ));
        }
        int_at_least("min_rounds", u64::from(self.min_rounds), 2)
            .map_err(|(k, m)| (k, format!("{m}: intervals come from the variation between rounds")))?;
        if self.max_rounds < self.min_rounds {
            return Err((
                "max_rounds",
                format!(
                    "{} is not allowed: expected an integer >= min_rounds ({})",
                    self.max_rounds, self.min_rounds
                ),
            ));
        }
        if !(self.max_seconds > 0.0 && self.max_seconds.is_finite()) {
            return Err((
                "max_seconds",
                format!("{} is not allowed: expected a number of seconds > 0", self.max_seconds),
            ));
        }
        if !(self.append_rate >= 0.0 && self.append_rate.is_finite()) {
            return Err(("append_rate", append_rate_allowed(self.append_rate)));
        }
        match self.rate {
            Some(RateSpec::PerSecond(r) | RateSpec::OfBaseline(r)) if !(r > 0.0 && r.is_finite()) => {
                Err(("rate", format!("{r} is not allowed: expected a rate > 0")))
            }
            _ => Ok(()),
        }
    }
}

/// What `append_rate` allows, for a value that is not it.
pub fn append_rate_allowed(v: impl std::fmt::Display) -> String {
    format!("{v} is not allowed: expected a number of rows per second >= 0 (0 = no appends)")
}

/// An open-loop rate: absolute (requests per second) or relative to the baseline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RateSpec {
    PerSecond(f64),
    OfBaseline(f64),
}

const RATE_ALLOWED: &str =
    "expected requests per second, a number > 0 (e.g. 2000), or a fraction of the baseline's closed-loop throughput, a string like \"0.5x\"";

impl<'de> Deserialize<'de> for RateSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<RateSpec, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = RateSpec;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(RATE_ALLOWED)
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<RateSpec, E> {
                Ok(RateSpec::PerSecond(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<RateSpec, E> {
                Ok(RateSpec::PerSecond(v as f64))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<RateSpec, E> {
                Ok(RateSpec::PerSecond(v as f64))
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<RateSpec, E> {
                parse_relative_rate(s.trim())
                    .map(RateSpec::OfBaseline)
                    .ok_or_else(|| E::custom(format!("{s:?} is not allowed: {RATE_ALLOWED}")))
            }
        }
        d.deserialize_any(V)
    }
}

/// Parses `"0.5x"` as 0.5.
pub fn parse_relative_rate(s: &str) -> Option<f64> {
    s.strip_suffix('x').and_then(|f| f.trim().parse::<f64>().ok())
}

impl RateSpec {
    /// Parses a command-line rate: `250` (requests per second) or `0.5x` (of the
    /// baseline's closed-loop throughput), above 0.
    pub fn parse(s: &str) -> Result<RateSpec, String> {
        let t = s.trim();
        let rate = match parse_relative_rate(t) {
            Some(x) => RateSpec::OfBaseline(x),
            None => RateSpec::PerSecond(t.parse().unwrap_or(f64::NAN)),
        };
        match rate {
            RateSpec::PerSecond(v) | RateSpec::OfBaseline(v) if v.is_finite() && v > 0.0 => Ok(rate),
            _ => Err(format!(
                "rate {s:?}: expected requests per second (e.g. 2000) or a fraction of the baseline's throughput (e.g. 0.5x), above 0"
            )),
        }
    }
}

impl std::fmt::Display for RateSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RateSpec::PerSecond(r) => write!(f, "{r} rps"),
            RateSpec::OfBaseline(x) => write!(f, "{x}x the baseline's closed-loop throughput"),
        }
    }
}

/// The thresholds a candidate is judged on; `None` means not judged.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    pub p95_ratio_max: Option<f64>,
    pub p99_ratio_max: Option<f64>,
    pub rps_ratio_min: Option<f64>,
    pub p95_ms_max: Option<f64>,
    pub p99_ms_max: Option<f64>,
}

impl Thresholds {
    /// `self` with every threshold `over` sets replaced by `over`'s.
    pub fn overridden_by(&self, over: &Thresholds) -> Thresholds {
        Thresholds {
            p95_ratio_max: over.p95_ratio_max.or(self.p95_ratio_max),
            p99_ratio_max: over.p99_ratio_max.or(self.p99_ratio_max),
            rps_ratio_min: over.rps_ratio_min.or(self.rps_ratio_min),
            p95_ms_max: over.p95_ms_max.or(self.p95_ms_max),
            p99_ms_max: over.p99_ms_max.or(self.p99_ms_max),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, from = "RawGateSpec")]
pub struct GateSpec {
    /// The engines up for acceptance: their verdicts decide the exit code.
    pub candidates: Vec<String>,
    /// The thresholds every engine is judged on unless overridden.
    pub thresholds: Thresholds,
    /// Per-engine threshold overrides (`[gate.engine.NAME]`).
    #[serde(default)]
    pub engine: BTreeMap<String, Thresholds>,
    /// The mixes whose verdicts decide the exit code; other mixes are judged for information.
    pub mixes: Vec<String>,
}

/// `[gate]` as written: the default thresholds sit beside `candidates`.
/// (Not `#[serde(flatten)]`, which would lose the key names in errors.)
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGateSpec {
    candidates: Vec<String>,
    #[serde(default = "default_mixes")]
    mixes: Vec<String>,
    #[serde(default = "ratio_max")]
    p95_ratio_max: Option<f64>,
    #[serde(default = "ratio_max")]
    p99_ratio_max: Option<f64>,
    #[serde(default = "rps_ratio_min")]
    rps_ratio_min: Option<f64>,
    p95_ms_max: Option<f64>,
    p99_ms_max: Option<f64>,
    #[serde(default)]
    engine: BTreeMap<String, Thresholds>,
}

fn default_mixes() -> Vec<String> {
    vec!["default".into()]
}

fn ratio_max() -> Option<f64> {
    Some(0.8)
}

fn rps_ratio_min() -> Option<f64> {
    Some(1.2)
}

impl From<RawGateSpec> for GateSpec {
    fn from(r: RawGateSpec) -> GateSpec {
        GateSpec {
            candidates: r.candidates,
            thresholds: Thresholds {
                p95_ratio_max: r.p95_ratio_max,
                p99_ratio_max: r.p99_ratio_max,
                rps_ratio_min: r.rps_ratio_min,
                p95_ms_max: r.p95_ms_max,
                p99_ms_max: r.p99_ms_max,
            },
            engine: r.engine,
            mixes: r.mixes,
        }
    }
}

impl Default for GateSpec {
    fn default() -> Self {
        GateSpec {
            candidates: vec!["memindex".into(), "prefetch".into()],
            thresholds: Thresholds {
                p95_ratio_max: Some(0.8),
                p99_ratio_max: Some(0.8),
                rps_ratio_min: Some(1.2),
                p95_ms_max: None,
                p99_ms_max: None,
            },
            engine: BTreeMap::new(),
            mixes: default_mixes(),
        }
    }
}

impl GateSpec {
    /// The thresholds that apply to `engine`.
    pub fn thresholds_for(&self, engine: &str) -> Thresholds {
        match self.engine.get(engine) {
            Some(o) => self.thresholds.overridden_by(o),
            None => self.thresholds.clone(),
        }
    }
}

impl Spec {
    /// Reads and validates a spec file.
    pub fn load(path: &Path) -> Result<Spec, HarnessError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| HarnessError::input(format!("{}: cannot read the spec: {e}", path.display())))?;
        Spec::parse(&text, path)
    }

    /// Parses and validates spec text; `path` names it in errors and anchors relative paths.
    pub fn parse(text: &str, path: &Path) -> Result<Spec, HarnessError> {
        let mut spec: Spec = toml::from_str(text).map_err(|e| {
            let at = e.span().map(|s| locate::line_col(text, s.start));
            let plain = locate::plain_types(e.message().trim());
            let msg = match e.span().and_then(|s| locate::key_at(text, s.start)) {
                Some(key) => format!("{key}: {plain}"),
                None => plain,
            };
            HarnessError::input(locate::format_error(path, at, &msg))
        })?;
        if let Err((key, msg)) = spec.check() {
            let at = locate::find_key(text, &key);
            return Err(HarnessError::input(locate::format_error(
                path,
                at,
                &format!("{key}: {msg}"),
            )));
        }
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        spec.dataset.dir = base.join(&spec.dataset.dir);
        spec.equivalence.regressions = base.join(&spec.equivalence.regressions);
        spec.bench.reports_dir = base.join(&spec.bench.reports_dir);
        spec.sweep.data_dir = base.join(&spec.sweep.data_dir);
        spec.path = path.to_path_buf();
        spec.digest = crate::digest::sha256_tagged(text.as_bytes());
        spec.text = text.to_string();
        Ok(spec)
    }

    /// The input domain the front door enforces.
    pub fn domain(&self) -> Domain {
        Domain {
            max_page: self.domain.max_page,
            page_sizes: self.domain.page_sizes.clone(),
        }
    }

    /// The directory the spec file lives in (the repository root for the default spec).
    pub fn base_dir(&self) -> PathBuf {
        self.path.parent().map(Path::to_path_buf).unwrap_or_default()
    }

    /// An input error about the value of dotted `key`, located in the spec
    /// file (`file:line:col: key: msg`).
    pub fn key_error(&self, key: &str, msg: &str) -> HarnessError {
        let at = locate::find_key(&self.text, key);
        HarnessError::input(locate::format_error(&self.path, at, &format!("{key}: {msg}")))
    }

    /// The named mix, or an input error listing the defined ones.
    pub fn mix(&self, name: &str) -> Result<&MixSpec, HarnessError> {
        self.mixes.get(name).ok_or_else(|| {
            HarnessError::input(format!(
                "unknown mix {name:?}: the spec defines {}",
                self.mixes.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
        })
    }

    /// Semantic checks serde cannot express; errors are `(dotted key, what is allowed)`.
    fn check(&self) -> Result<(), (String, String)> {
        let err = |k: &str, m: String| Err((k.to_string(), m));
        if let Err(m) = self.dataset.generator.validate() {
            return err("dataset.generator", m);
        }
        if let Some(d) = &self.dataset.payloads_sha256 {
            if d.len() != 64 || !d.bytes().all(|b| b.is_ascii_hexdigit()) {
                return err("dataset.payloads_sha256", "expected 64 hex digits".into());
            }
        }
        if self.domain.max_page < 1 {
            return err(
                "domain.max_page",
                format!("{} is not allowed: expected an integer >= 1", self.domain.max_page),
            );
        }
        if self.domain.page_sizes.is_empty() || self.domain.page_sizes.iter().any(|&s| s < 1) {
            return err("domain.page_sizes", "expected a non-empty list of integers >= 1".into());
        }
        for (name, m) in &self.mixes {
            let k = |f: &str| format!("mixes.{name}.{f}");
            if !(0.0..=1.0).contains(&m.actor_probability) {
                return err(
                    &k("actor_probability"),
                    format!(
                        "{} is not allowed: expected a probability in [0, 1]",
                        m.actor_probability
                    ),
                );
            }
            let now = self.dataset.generator.now;
            match (m.window, m.window_seconds) {
                (WindowKind::Recent, None) => {
                    return err(&k("window_seconds"), "required when window = \"recent\"".into())
                }
                (WindowKind::Recent, Some(s)) if s < 0 => {
                    return err(
                        &k("window_seconds"),
                        format!("{s} is not allowed: expected seconds >= 0"),
                    )
                }
                (WindowKind::Recent, Some(s)) if now.checked_sub(s).is_none() => {
                    return err(
                        &k("window_seconds"),
                        format!(
                            "{s} is not allowed: the window would start before the earliest time there is (now = {now}); expected seconds <= {}",
                            now.saturating_sub(i64::MIN)
                        ),
                    )
                }
                (WindowKind::All, Some(_)) => {
                    return err(&k("window_seconds"), "only allowed with window = \"recent\"".into())
                }
                _ => {}
            }
            if m.actions.is_empty() {
                return err(
                    &k("actions"),
                    "expected at least one entry (\"*\" = no action filter)".into(),
                );
            }
            let [lo, hi] = m.pages;
            if lo < 1 || hi < lo || hi > self.domain.max_page {
                return err(
                    &k("pages"),
                    format!(
                        "[{lo}, {hi}] is not allowed: expected [first, last] with 1 <= first <= last <= {}",
                        self.domain.max_page
                    ),
                );
            }
            if m.page_sizes.is_empty() || m.page_sizes.iter().any(|s| !self.domain.page_sizes.contains(s)) {
                return err(
                    &k("page_sizes"),
                    format!(
                        "{:?} is not allowed: expected a non-empty subset of {:?}",
                        m.page_sizes, self.domain.page_sizes
                    ),
                );
            }
        }
        for (name, e) in &self.engines {
            let k = |f: &str| format!("engines.{name}.{f}");
            if audit_engines::find(name).is_some() {
                return err(
                    &format!("engines.{name}"),
                    "is a built-in engine's name; choose another".into(),
                );
            }
            if !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            {
                return err(
                    &format!("engines.{name}"),
                    "expected a name of letters, digits, '_', '-' and '.' (names are listed with commas)".into(),
                );
            }
            if e.url.is_none() && (e.command.is_empty() || e.command[0].is_empty()) {
                return err(
                    &k("command"),
                    "expected a non-empty list: program then arguments (or `url` for an HTTP engine)".into(),
                );
            }
            if e.url.is_some() && e.command.first().is_some_and(|c| c.is_empty()) {
                return err(
                    &k("command"),
                    "the program is empty: expected program then arguments".into(),
                );
            }
            if let Some(url) = &e.url {
                if let Err(why) = endpoint::Endpoint::parse(url, !e.command.is_empty()) {
                    return err(&k("url"), why);
                }
                if e.processes() != 1 {
                    return err(
                        &k(e.processes_key_name()),
                        "applies to process engines only: an HTTP engine is one server, reached over a pool of connections".into(),
                    );
                }
            } else if e.events_key.is_some() {
                return err(&k("events_key"), "applies to HTTP engines only (set `url`)".into());
            }
            if e.processes_key.is_some() && e.workers_key.is_some() {
                return err(
                    &k("workers"),
                    "is the earlier name of `processes`: keep one of the two".into(),
                );
            }
            if e.processes() == 0 || u64::from(e.processes()) > MAX_THREADS {
                return err(
                    &k(e.processes_key_name()),
                    format!(
                        "{} is not allowed: expected an integer from 1 to {MAX_THREADS}",
                        e.processes()
                    ),
                );
            }
            if e.timeout_ms == 0 {
                return err(&k("timeout_ms"), "0 is not allowed: expected milliseconds >= 1".into());
            }
        }
        let b = &self.integrity.baseline_sha256;
        if !(b.len() == 71 && b.starts_with("sha256:") && b[7..].bytes().all(|c| c.is_ascii_hexdigit())) {
            return err(
                "integrity.baseline_sha256",
                "expected \"sha256:\" followed by 64 hex digits".into(),
            );
        }
        let eq = &self.equivalence;
        if eq.cases == 0 {
            return err("equivalence.cases", "0 is not allowed: expected an integer >= 1".into());
        }
        if eq.threads == 0 || u64::from(eq.threads) > MAX_THREADS {
            return err(
                "equivalence.threads",
                format!(
                    "{} is not allowed: expected an integer from 1 to {MAX_THREADS}",
                    eq.threads
                ),
            );
        }
        for f in &eq.ignore_fields {
            let name = f.strip_prefix(audit_engines::EVENT_FIELD_PREFIX).unwrap_or(f);
            if name.is_empty() || name.split('.').any(str::is_empty) {
                return err(
                    "equivalence.ignore_fields",
                    format!("{f:?} is not a field name: expected a dotted path such as \"request_id\", \"meta.trace\" or \"events[].served_at\""),
                );
            }
            if let Some(c) = audit_engines::contract_field(f) {
                return err(
                    "equivalence.ignore_fields",
                    format!("{f:?} is the contract's field {c}, which is always compared: only fields beyond the contract (a request id, a served-at time) can be ignored"),
                );
            }
        }
        if !self.mixes.contains_key(&eq.mix) {
            return err(
                "equivalence.mix",
                format!("{:?} is not a mix defined under [mixes]", eq.mix),
            );
        }
        if self.sweep.rows.is_empty() || self.sweep.rows.contains(&0) {
            return err("sweep.rows", "expected a non-empty list of row counts >= 1".into());
        }
        let bench = &self.bench;
        for m in &bench.mixes {
            if !self.mixes.contains_key(m) {
                return err("bench.mixes", format!("{m:?} is not a mix defined under [mixes]"));
            }
        }
        if let Err((k, m)) = bench.check() {
            return err(&format!("bench.{k}"), m);
        }
        for m in &self.gate.mixes {
            if !self.mixes.contains_key(m) {
                return err("gate.mixes", format!("{m:?} is not a mix defined under [mixes]"));
            }
        }
        let mut all = vec![("gate".to_string(), &self.gate.thresholds)];
        all.extend(self.gate.engine.iter().map(|(n, t)| (format!("gate.engine.{n}"), t)));
        for (prefix, t) in all {
            for (f, v) in [
                ("p95_ratio_max", t.p95_ratio_max),
                ("p99_ratio_max", t.p99_ratio_max),
                ("rps_ratio_min", t.rps_ratio_min),
                ("p95_ms_max", t.p95_ms_max),
                ("p99_ms_max", t.p99_ms_max),
            ] {
                if let Some(v) = v {
                    if !(v > 0.0 && v.is_finite()) {
                        return err(
                            &format!("{prefix}.{f}"),
                            format!("{v} is not allowed: expected a number > 0"),
                        );
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
