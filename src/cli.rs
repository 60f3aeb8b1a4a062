//! Command-line arguments (clap). Parsing only: `app.rs` runs the commands.

use std::path::PathBuf;

use clap::builder::TypedValueParser;
use clap::{Args, Parser, Subcommand};

use crate::equivalence::Property;
use crate::output::ColorWhen;
use crate::spec::{Arrivals, CacheMode, LoadMode};

/// The version with the git revision and the compiler the binary was built from.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (git ",
    env!("AUDIT_HARNESS_GIT"),
    ", built with ",
    env!("AUDIT_HARNESS_RUSTC"),
    ")"
);

/// Conformance and performance gate for audit-log listing engines.
#[derive(Debug, Parser)]
#[command(name = "audit-harness", version = VERSION, about, long_about = None)]
pub struct Cli {
    /// The spec file.
    #[arg(long, global = true, value_name = "FILE", default_value = crate::spec::DEFAULT_SPEC)]
    pub spec: PathBuf,
    /// Dataset directory, overriding the spec's `[dataset] dir` (gen: the
    /// output directory); before or after the command, for gen, verify, query,
    /// engines, equiv, bench, gate, aa, protocol-cost and serve.
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// An engine run as a separate program (repeatable): NAME=COMMAND, the
    /// command split at whitespace and run in the current directory; before
    /// or after the command, for query, engines, equiv, bench, gate, aa,
    /// protocol-cost and serve. See docs/protocol.md.
    #[arg(long, value_name = "NAME=COMMAND")]
    pub engine_command: Vec<String>,
    /// A deployed HTTP service (repeatable): NAME=URL, e.g.
    /// prod=http://10.0.0.5:8080/audit-events, answering GET with the query's
    /// fields as parameters; before or after the command, wherever
    /// --engine-command applies. See docs/http.md.
    #[arg(long, value_name = "NAME=URL")]
    pub engine_url: Vec<String>,
    /// Colour PASS, FAIL and INCONCLUSIVE: auto (on a terminal, unless NO_COLOR is set), always or never.
    #[arg(long, global = true, value_name = "WHEN", default_value = "auto", value_parser = one_of(&ColorWhen::ALL, ColorWhen::label))]
    pub color: ColorWhen,
    /// Print only what failed or was inconclusive, the last line's verdict and where the reports are; no progress bar.
    #[arg(long, short, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Also print each engine's figures per round and the variance components behind every interval.
    #[arg(long, short, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate a dataset exactly as the service's seeding does.
    Gen(GenArgs),
    /// Check a dataset made elsewhere (audit.db + payloads.jsonl) and write its manifest.
    Adopt {
        /// The dataset directory.
        dir: PathBuf,
    },
    /// Check the dataset against its manifest and the baseline against its pinned digest.
    Verify(VerifyArgs),
    /// Answer one query, or a batch of queries, with one engine.
    Query(QueryArgs),
    /// List the engines, one line each; with --check, start each one and ask it one query.
    Engines(EnginesArgs),
    /// Differential testing of candidates against the baseline, with shrunk counterexamples.
    Equiv(EquivArgs),
    /// Benchmark engines on seeded request streams and judge them against the thresholds.
    Bench(BenchArgs),
    /// Recompute a run's summary.csv, summary.json, strata.csv, report.html and plots from its latencies.csv (and run.json).
    Report(ReportArgs),
    /// How each engine's p50/p95/p99 and throughput moved from run A to run B, with intervals.
    Compare(CompareArgs),
    /// The acceptance gate: integrity, equivalence, benchmark, verdict.
    Gate(GateArgs),
    /// Check the gate's statistics by simulation with known truth: interval coverage, false-fail rate and power per noise scenario.
    Calibrate(CalibrateArgs),
    /// A/A runs: an engine against a second instance of itself, as bench runs it, many times: the judge's false-alarm rate on this machine.
    Aa(AaArgs),
    /// Measure the process protocol's round trip per request (docs/protocol.md).
    ProtocolCost(ProtocolCostArgs),
    /// Serve one engine (built-in, process or Python module) over HTTP until SIGINT or SIGTERM (docs/http.md).
    Serve(ServeArgs),
    /// The harness's HTTP driver against wrk on the same pinned do-nothing server: throughput ratio and added latency (docs/http.md).
    HttpCost(HttpCostArgs),
    /// Benchmark at several dataset sizes: scaling.csv, scaling-fit.csv and scaling.svg with growth exponents.
    Sweep(SweepArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) on standard output.
    Completions(CompletionsArgs),
    /// Write the manual pages (roff): the main page on standard output, or every page into --out DIR.
    Man(ManArgs),
    /// Serve the process protocol as a do-nothing engine (used by protocol-cost).
    #[command(hide = true)]
    ProtocolNull(ProtocolNullArgs),
}

/// The options of the harness itself that the commands they apply to also
/// take after their name (`bench --data X`): one table decides where each
/// applies, for the parser, the refusal elsewhere and the hint.
pub const PLACED: [(&str, &[&str]); 3] = [
    ("--data", DATA_COMMANDS),
    ("--engine-command", ENGINE_COMMANDS),
    ("--engine-url", ENGINE_COMMANDS),
];

/// The commands that read a dataset (gen: the one it writes).
const DATA_COMMANDS: &[&str] = &[
    "gen",
    "verify",
    "query",
    "engines",
    "equiv",
    "bench",
    "gate",
    "aa",
    "protocol-cost",
    "serve",
];

/// The commands that open engines of the spec.
const ENGINE_COMMANDS: &[&str] = &[
    "query",
    "engines",
    "equiv",
    "bench",
    "gate",
    "aa",
    "protocol-cost",
    "serve",
];

/// Where `flag` applies, as a sentence's end ("gen, verify and serve").
pub fn applies_to(flag: &str) -> String {
    let list = PLACED.iter().find(|(f, _)| *f == flag).map_or(&[][..], |(_, c)| *c);
    match list.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        Some((last, _)) => last.to_string(),
        None => String::new(),
    }
}

/// `--data` after a command that reads a dataset.
#[derive(Debug, Args, Default)]
pub struct DataOpt {
    /// Dataset directory, overriding the spec's `[dataset] dir` (also accepted before the command).
    #[arg(long = "data", value_name = "DIR")]
    pub data: Option<PathBuf>,
}

/// `--data`, `--engine-command` and `--engine-url` after a command that opens engines.
#[derive(Debug, Args, Default)]
pub struct EngineOpts {
    #[command(flatten)]
    pub data: DataOpt,
    /// An engine run as a separate program (repeatable): NAME=COMMAND (also accepted before the command; docs/protocol.md).
    #[arg(long = "engine-command", value_name = "NAME=COMMAND")]
    pub engine_command: Vec<String>,
    /// A deployed HTTP service (repeatable): NAME=URL (also accepted before the command; docs/http.md).
    #[arg(long = "engine-url", value_name = "NAME=URL")]
    pub engine_url: Vec<String>,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub placed: DataOpt,
}

impl Command {
    /// The command's name on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Gen(_) => "gen",
            Command::Adopt { .. } => "adopt",
            Command::Verify(_) => "verify",
            Command::Query(_) => "query",
            Command::Engines(_) => "engines",
            Command::Equiv(_) => "equiv",
            Command::Bench(_) => "bench",
            Command::Report(_) => "report",
            Command::Compare(_) => "compare",
            Command::Gate(_) => "gate",
            Command::Calibrate(_) => "calibrate",
            Command::Aa(_) => "aa",
            Command::ProtocolCost(_) => "protocol-cost",
            Command::Serve(_) => "serve",
            Command::HttpCost(_) => "http-cost",
            Command::Sweep(_) => "sweep",
            Command::Completions(_) => "completions",
            Command::Man(_) => "man",
            Command::ProtocolNull(_) => "protocol-null",
        }
    }

    /// The placed options given after the command, where it takes them.
    fn placed_mut(&mut self) -> (Option<&mut DataOpt>, Option<&mut EngineOpts>) {
        match self {
            Command::Gen(a) => (Some(&mut a.placed), None),
            Command::Verify(a) => (Some(&mut a.placed), None),
            Command::Query(a) => (None, Some(&mut a.placed)),
            Command::Engines(a) => (None, Some(&mut a.placed)),
            Command::Equiv(a) => (None, Some(&mut a.placed)),
            Command::Bench(a) => (None, Some(&mut a.placed)),
            Command::Gate(a) => (None, Some(&mut a.placed)),
            Command::Aa(a) => (None, Some(&mut a.placed)),
            Command::ProtocolCost(a) => (None, Some(&mut a.placed)),
            Command::Serve(a) => (None, Some(&mut a.placed)),
            _ => (None, None),
        }
    }
}

impl Cli {
    /// Moves the options given after the command (`bench --data X`) to
    /// where those given before it are, so the rest of the harness reads one
    /// place. `--data` given on both sides with two values is refused.
    pub fn settle(&mut self) -> Result<(), String> {
        let (data, mut commands, mut urls) = match self.command.placed_mut() {
            (Some(d), _) => (d.data.take(), Vec::new(), Vec::new()),
            (None, Some(e)) => (
                e.data.data.take(),
                std::mem::take(&mut e.engine_command),
                std::mem::take(&mut e.engine_url),
            ),
            (None, None) => return Ok(()),
        };
        if let Some(d) = data {
            match &self.data {
                Some(before) if *before != d => {
                    return Err(format!(
                        "--data is given twice, {} before the command and {} after it: give it once",
                        before.display(),
                        d.display()
                    ))
                }
                _ => self.data = Some(d),
            }
        }
        self.engine_command.append(&mut commands);
        self.engine_url.append(&mut urls);
        Ok(())
    }
}

#[derive(Debug, Args)]
pub struct ProtocolCostArgs {
    #[command(flatten)]
    pub placed: EngineOpts,
    /// Round trips measured, one in flight at a time.
    #[arg(long, value_name = "N", default_value_t = 20_000, allow_hyphen_values = true, value_parser = positive)]
    pub requests: u64,
    /// Round trips before measuring, not recorded.
    #[arg(long, value_name = "N", default_value_t = 2_000, allow_hyphen_values = true, value_parser = non_negative)]
    pub warmup: u64,
    /// Time this engine instead of the built-in null process engine.
    #[arg(long, value_name = "NAME")]
    pub engine: Option<String>,
}

#[derive(Debug, Args)]
pub struct HttpCostArgs {
    /// Connections (wrk -c) and harness threads, one connection each.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub connections: u64,
    /// Whole seconds each side runs per round.
    #[arg(long, value_name = "S", default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub seconds: u64,
    /// Rounds, each running both sides in alternating order (at least 2: the intervals come from them).
    #[arg(long, value_name = "N", default_value_t = 6, value_parser = clap::value_parser!(u64).range(2..=1000))]
    pub rounds: u64,
    /// Also measure the Locust driver with this many local workers, comma-separated (e.g. 1,2); its environment is installed on first use (docs/locust.md).
    #[arg(long, value_name = "N,M", value_delimiter = ',', value_parser = clap::value_parser!(u32).range(1..=64))]
    pub locust_workers: Vec<u32>,
}

#[derive(Debug, Args)]
pub struct EnginesArgs {
    #[command(flatten)]
    pub placed: EngineOpts,
    /// Start every engine on the dataset (--data, or the spec's) and ask each one query; exit 2 naming those that failed.
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub placed: EngineOpts,
    /// The engine to serve.
    #[arg(long, value_name = "NAME")]
    pub engine: String,
    /// The address to listen on, HOST:PORT (port 0: one the OS picks, printed).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: String,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write audit-harness.1 and one page per subcommand (audit-harness-bench.1, ...) into this existing directory.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ProtocolNullArgs {
    /// The max_in_flight to declare.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub max_in_flight: u64,
}

#[derive(Debug, Args)]
pub struct EquivArgs {
    #[command(flatten)]
    pub placed: EngineOpts,
    /// Candidates, comma-separated [default: the spec's `[equivalence] engines`].
    #[arg(long, value_delimiter = ',', value_name = "A,B")]
    pub engines: Option<Vec<String>>,
    /// Seeded cases per candidate on the contract dataset [default: from the spec].
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = positive)]
    pub cases: Option<u64>,
    /// Generated small datasets per candidate [default: from the spec].
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = non_negative)]
    pub small_dataset_cases: Option<u64>,
    /// Seed of every random choice, decimal or 0x hex as equivalence.csv writes it [default: from the spec].
    #[arg(long, value_name = "S", allow_hyphen_values = true, value_parser = seed)]
    pub seed: Option<u64>,
    /// Only these properties (repeatable) [default: all]; the names printed
    /// by equiv (small_datasets, ...) or with hyphens (small-datasets).
    #[arg(long, value_name = "NAME", value_parser = one_of(&Property::ALL, Property::name))]
    pub property: Vec<Property>,
    /// Fail (not warn) on divergence outside the input domain.
    #[arg(long)]
    pub strict_domain: bool,
    /// The regressions file [default: from the spec].
    #[arg(long, value_name = "FILE")]
    pub regressions: Option<PathBuf>,
    /// live_appends: rows the writer appends (at 300 rows/s) [default: 300].
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = positive)]
    pub live_rows: Option<u64>,
    /// live_appends: requests the readers send meanwhile [default: 400].
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = positive)]
    pub live_requests: Option<u64>,
}

/// What `bench` and `sweep` both run, and for how long.
#[derive(Debug, Args)]
pub struct RunScope {
    /// Engines, comma-separated; the baseline is always included [default: the spec's `[bench] engines`].
    #[arg(long, value_delimiter = ',', value_name = "A,B")]
    pub engines: Option<Vec<String>>,
    /// Request mixes, comma-separated [default: the spec's `[bench] mixes`].
    #[arg(long, value_delimiter = ',', value_name = "NAME")]
    pub mix: Option<Vec<String>>,
    /// Measured requests per engine per round at most (every engine draws from the same stream) [default: from the spec].
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = positive)]
    pub requests: Option<u64>,
    /// Rounds always run before the first look at the data, at least 2 [default: from the spec].
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = rounds)]
    pub min_rounds: Option<u32>,
    /// Time budget: no round starts that would end later than this many seconds (`sweep`: per size) [default: from the spec].
    #[arg(long, value_name = "S", allow_hyphen_values = true, value_parser = positive_seconds)]
    pub max_seconds: Option<f64>,
    /// Seed of the request streams and round orders, decimal or 0x hex [default: from the spec].
    #[arg(long, value_name = "S", allow_hyphen_values = true, value_parser = seed)]
    pub seed: Option<u64>,
}

impl RunScope {
    /// The `[bench]` overrides these options make; the command adds its own.
    pub fn overrides(self) -> crate::bench::plan::Overrides {
        crate::bench::plan::Overrides {
            engines: self.engines,
            mixes: self.mix,
            requests: self.requests,
            min_rounds: self.min_rounds,
            max_seconds: self.max_seconds,
            seed: self.seed,
            ..Default::default()
        }
    }
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(flatten)]
    pub placed: EngineOpts,
    #[command(flatten)]
    pub scope: RunScope,
    /// Slices per engine per round: the engines take turns this many times a round [default: from the spec].
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = slices)]
    pub slices: Option<u32>,
    /// How long a slice should last, in milliseconds (its count of requests is sized to it) [default: from the spec].
    #[arg(long, value_name = "MS", allow_hyphen_values = true, value_parser = positive_seconds)]
    pub slice_ms: Option<f64>,
    /// The relative half-width a deciding interval must reach before the run stops, per figure, e.g. p99=0.2 (repeatable; p95, p99, throughput) [default: the spec's `[bench.precision]`].
    #[arg(long, value_name = "FIGURE=X", value_parser = precision)]
    pub precision: Vec<(String, f64)>,
    /// Unmeasured warm-up requests per engine and mix before its first slice [default: from the spec].
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = non_negative)]
    pub warmup: Option<u64>,
    /// Closed-loop workers, or open-loop servers, 1 to 1024 [default: from the spec].
    #[arg(long, value_name = "C", allow_hyphen_values = true, value_parser = workers)]
    pub concurrency: Option<u32>,
    /// Rounds at most [default: from the spec].
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = rounds)]
    pub max_rounds: Option<u32>,
    /// Closed loop (fixed workers) or open loop (fixed arrival rate) [default: from the spec].
    #[arg(long, value_name = "MODE", value_parser = one_of(&LoadMode::ALL, LoadMode::label))]
    pub mode: Option<LoadMode>,
    /// Open-loop arrival rate (with --mode open): requests per second, or e.g. 0.5x of the baseline's closed-loop throughput [default: the spec's `[bench] rate`].
    #[arg(long, value_name = "R", value_parser = crate::spec::RateSpec::parse)]
    pub rate: Option<crate::spec::RateSpec>,
    /// Open-loop arrivals: evenly spaced or a Poisson process [default: from the spec, uniform].
    #[arg(long, value_name = "KIND", value_parser = one_of(&Arrivals::ALL, Arrivals::label))]
    pub arrivals: Option<Arrivals>,
    /// Evict the payload file from the page cache before each slice (cold) or not (warm) [default: from the spec, warm].
    #[arg(long, value_name = "CACHE", value_parser = one_of(&CacheMode::ALL, CacheMode::label))]
    pub cache: Option<CacheMode>,
    /// Keep this run as the saved baseline NAME (in `<reports_dir>/baselines/NAME`), replacing an older one of that name.
    #[arg(long, value_name = "NAME", value_parser = baseline_name, conflicts_with = "baseline")]
    pub save_baseline: Option<String>,
    /// Compare this run with the saved baseline NAME as `compare` does; exit 1 on a clear regression.
    #[arg(long, value_name = "NAME", value_parser = baseline_name)]
    pub baseline: Option<String>,
    /// With --baseline: a change is a regression when its whole 95 % interval is beyond this fraction.
    #[arg(long, value_name = "F", default_value_t = 0.05, value_parser = noise, requires = "baseline")]
    pub noise: f64,
    /// Rows per second appended by a live writer while the rounds run again on a scratch copy, reported beside the quiet figures; 0 = off [default: the spec's `[bench] append_rate`].
    #[arg(long, value_name = "R", allow_hyphen_values = true, value_parser = append_rate)]
    pub append_rate: Option<f64>,
    /// Who sends the requests: the harness's own threads (builtin) or a Locust cluster (locust; HTTP engines only, see docs/locust.md) [default: the spec's `[driver] kind`, builtin].
    #[arg(long, value_name = "KIND", value_parser = one_of(&crate::spec::DriverKind::ALL, crate::spec::DriverKind::label))]
    pub driver: Option<crate::spec::DriverKind>,
    /// Locust workers the harness starts and the master waits for, 1 to 64 (with --driver locust) [default: the spec's `[driver] workers`, 2].
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub locust_workers: Option<u32>,
    #[command(flatten)]
    pub export: ExportArgs,
}

/// A saved baseline's name: letters, digits, `-`, `_` and `.`, not starting with `.`
/// (it names a directory under the reports directory).
fn baseline_name(s: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && !s.starts_with('.')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(s.to_string())
    } else {
        Err(format!(
            "{s:?} is not allowed: expected 1 to 64 letters, digits, '-', '_' or '.', not starting with '.'"
        ))
    }
}

/// A parser for one of a domain type's values by its label (listed in
/// `--help` and in errors; a label with `_` also accepts `-`), so the domain
/// types themselves know nothing of clap.
fn one_of<T: Copy + Send + Sync + 'static>(
    all: &'static [T],
    label: fn(T) -> &'static str,
) -> impl clap::builder::TypedValueParser<Value = T> {
    let values = all.iter().map(move |v| {
        let l = label(*v);
        let p = clap::builder::PossibleValue::new(l);
        if l.contains('_') {
            // Built once per process for a handful of names: leaking gives clap the 'static alias it takes.
            let kebab: &'static str = Box::leak(l.replace('_', "-").into_boxed_str());
            p.alias(kebab)
        } else {
            p
        }
    });
    clap::builder::PossibleValuesParser::new(values).try_map(move |s| {
        all.iter()
            .copied()
            .find(|v| label(*v) == s || label(*v).replace('_', "-") == s)
            .ok_or_else(|| format!("{s:?} is not one of the possible values"))
    })
}

/// A number of rounds: an integer >= 2 (intervals come from the variation between rounds).
fn rounds(s: &str) -> Result<u32, String> {
    match s.trim().parse::<u32>() {
        Ok(n) if n >= 2 => Ok(n),
        _ => Err(format!(
            "{s} is not allowed: expected an integer >= 2 (intervals come from the variation between rounds)"
        )),
    }
}

/// Slices per round: an integer >= 1.
fn slices(s: &str) -> Result<u32, String> {
    match s.trim().parse::<u32>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("{s} is not allowed: expected an integer >= 1")),
    }
}

/// A precision: `p95=X`, `p99=X` or `throughput=X`, X a relative half-width in (0, 1).
fn precision(s: &str) -> Result<(String, f64), String> {
    let bad = || {
        format!("{s:?} is not allowed: expected FIGURE=X with FIGURE p95, p99 or throughput and X a relative half-width between 0 and 1 (e.g. p99=0.25)")
    };
    let (k, v) = s.split_once('=').ok_or_else(bad)?;
    let v: f64 = v.trim().parse().map_err(|_| bad())?;
    if !(["p95", "p99", "throughput"].contains(&k.trim()) && v > 0.0 && v < 1.0) {
        return Err(bad());
    }
    Ok((k.trim().to_string(), v))
}

/// Workers: an integer from 1 to `MAX_THREADS`.
fn workers(s: &str) -> Result<u32, String> {
    match s.trim().parse::<u32>() {
        Ok(n) if n >= 1 && u64::from(n) <= crate::spec::MAX_THREADS => Ok(n),
        _ => Err(format!(
            "{s} is not allowed: expected an integer from 1 to {}",
            crate::spec::MAX_THREADS
        )),
    }
}

/// A number above 0 (seconds, milliseconds).
fn positive_seconds(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() => Ok(v),
        _ => Err(format!("{s:?}: expected a number above 0, e.g. 30 or 2.5")),
    }
}

/// Copies of the verdict for CI bots and pull requests.
#[derive(Debug, Args, Default, Clone)]
pub struct ExportArgs {
    /// Also write summary.json (every figure, judgement and the decision) to FILE.
    #[arg(long, value_name = "FILE")]
    pub export_json: Option<PathBuf>,
    /// Also write the verdict and figures as Markdown (a table fit for a PR comment) to FILE.
    #[arg(long, value_name = "FILE")]
    pub export_markdown: Option<PathBuf>,
}

impl ExportArgs {
    /// The export copies these flags ask for.
    pub fn exports(&self) -> crate::stages::Exports {
        crate::stages::Exports {
            json: self.export_json.clone(),
            markdown: self.export_markdown.clone(),
        }
    }
}

#[derive(Debug, Args)]
pub struct GateArgs {
    #[command(flatten)]
    pub placed: EngineOpts,
    /// Rows per second appended by a live writer while the benchmark's rounds run again on a scratch copy; 0 = off [default: the spec's `[bench] append_rate`].
    #[arg(long, value_name = "R", allow_hyphen_values = true, value_parser = append_rate)]
    pub append_rate: Option<f64>,
    #[command(flatten)]
    pub export: ExportArgs,
}

#[derive(Debug, Args)]
pub struct CalibrateArgs {
    /// Machine noise (repeatable): independent, drift-SD, bursts, bursts-short, bursts-rare, bursts-F-S-MS, ar1-PHI, several joined with + [default: independent, drift-0.05, drift-0.10, bursts, bursts-short, bursts-rare, ar1-0.5, drift-0.05+bursts].
    #[arg(long, value_name = "NAME", value_parser = |s: &str| s.parse::<crate::calibrate::Noise>())]
    pub scenario: Vec<crate::calibrate::Noise>,
    /// The candidate's shape against the lognormal baseline (repeatable): scaled, tail, bimodal, bimodal-split [default: all four].
    #[arg(long, value_name = "SHAPE", value_parser = |s: &str| s.parse::<crate::calibrate::Shape>())]
    pub shape: Vec<crate::calibrate::Shape>,
    /// Where the candidates truly stand (repeatable): at-threshold, better, worse [default: all three].
    #[arg(long, value_name = "TRUTH", value_parser = |s: &str| s.parse::<crate::calibrate::Truth>())]
    pub truth: Vec<crate::calibrate::Truth>,
    /// Simulated benchmarks per scenario and truth.
    #[arg(long, value_name = "N", default_value_t = 400, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub replicates: u32,
    /// Seed of the simulation, decimal or 0x hex (printed; the same seed gives the same table).
    #[arg(long, value_name = "S", default_value_t = 1, allow_hyphen_values = true, value_parser = seed)]
    pub seed: u64,
    /// Standard deviation of the simulated baseline's log latency.
    #[arg(long, value_name = "X", default_value_t = 0.3, value_parser = sigma)]
    pub sigma: f64,
    /// Median latency of the simulated baseline, in ms (it sets how many rounds fit the budget).
    #[arg(long, value_name = "MS", default_value_t = 14.0, value_parser = positive_seconds)]
    pub median_ms: f64,
    /// The measurement design simulated: interleaved (the benchmark's) or trials (one trial per engine per round, the earlier design).
    #[arg(long, value_name = "DESIGN", default_value = "interleaved", value_parser = |s: &str| s.parse::<crate::calibrate::Design>())]
    pub design: crate::calibrate::Design,
    /// Build the scenario from a recorded run's directory instead: its engines' requests, rounds and slow episodes as they occurred (a block bootstrap of its rounds).
    #[arg(long, value_name = "RUN_DIR", conflicts_with_all = ["scenario", "shape", "design"])]
    pub from: Option<PathBuf>,
}

/// A standard deviation of log latency in (0, 3].
fn sigma(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 3.0 => Ok(v),
        _ => Err(format!(
            "{s:?}: expected a standard deviation of log latency in (0, 3], e.g. 0.3"
        )),
    }
}

#[derive(Debug, Args)]
pub struct AaArgs {
    #[command(flatten)]
    pub placed: EngineOpts,
    /// The engine run against a second instance of itself (any registered engine) [default: the baseline].
    #[arg(long, value_name = "NAME")]
    pub engine: Option<String>,
    /// The request mix [default: the first of the spec's `[gate] mixes`].
    #[arg(long, value_name = "NAME")]
    pub mix: Option<String>,
    /// A/A runs, each a whole benchmark.
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub runs: u32,
    /// Each run's time budget [default: the spec's `[bench] max_seconds`].
    #[arg(long, value_name = "S", allow_hyphen_values = true, value_parser = positive_seconds)]
    pub max_seconds: Option<f64>,
    /// `compare`'s noise margin: an alarm when the whole 95 % interval is beyond it either way.
    #[arg(long, value_name = "F", default_value_t = 0.05, value_parser = noise)]
    pub noise: f64,
    /// Seed of the runs' request streams (run i uses seed + i), decimal or 0x hex [default: the spec's `[bench] seed`].
    #[arg(long, value_name = "S", allow_hyphen_values = true, value_parser = seed)]
    pub seed: Option<u64>,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The earlier run's report directory (holding latencies.csv and run.json).
    pub run_a: PathBuf,
    /// The later run's report directory.
    pub run_b: PathBuf,
    /// A change is a regression when its whole 95 % interval is beyond this fraction (0.05 = 5 %).
    #[arg(long, value_name = "F", default_value_t = 0.05, value_parser = noise)]
    pub noise: f64,
}

/// A noise threshold: a fraction in [0, 1).
fn noise(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if (0.0..1.0).contains(&v) => Ok(v),
        _ => Err(format!(
            "{s:?}: expected a fraction from 0 to below 1, e.g. 0.05 for 5 %"
        )),
    }
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A run's report directory (holding latencies.csv and run.json).
    pub dir: PathBuf,
    /// Where to write the recomputed files [default: DIR itself].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SweepArgs {
    #[command(flatten)]
    pub scope: RunScope,
    /// Dataset sizes in rows, comma-separated [default: the spec's `[sweep] rows`].
    #[arg(long, value_delimiter = ',', value_name = "N,M", allow_hyphen_values = true, value_parser = positive)]
    pub rows: Option<Vec<u64>>,
    /// Where each size's dataset is generated or reused (`rows-N/`) [default: the spec's `[sweep] data_dir`].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct GenArgs {
    #[command(flatten)]
    pub placed: DataOpt,
    /// Output directory [default: the spec's dataset dir, or --data].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// The pinned clock (unix seconds, may be negative) [default: from the spec].
    #[arg(long, value_name = "TS", allow_hyphen_values = true)]
    pub now: Option<i64>,
    /// Rows to generate [default: from the spec].
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = positive)]
    pub rows: Option<u64>,
    /// Seed of CPython's random.Random, decimal or 0x hex [default: from the spec].
    #[arg(long, value_name = "S", allow_hyphen_values = true, value_parser = seed)]
    pub seed: Option<u64>,
    /// Replace an existing dataset directory.
    #[arg(long, conflicts_with = "if_missing")]
    pub force: bool,
    /// Do nothing if the output directory already exists (used by ./run_tests).
    #[arg(long)]
    pub if_missing: bool,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    #[command(flatten)]
    pub placed: EngineOpts,
    /// Engine name (see `audit-harness engines`).
    #[arg(long, value_name = "NAME")]
    pub engine: String,
    /// Window start, inclusive (unix seconds) [default: no lower bound].
    #[arg(long, value_name = "TS", allow_hyphen_values = true)]
    pub from: Option<i64>,
    /// Window end, inclusive (unix seconds) [default: no upper bound].
    #[arg(long, value_name = "TS", allow_hyphen_values = true)]
    pub to: Option<i64>,
    /// Only this actor.
    #[arg(long, value_name = "ID", allow_hyphen_values = true)]
    pub actor: Option<i64>,
    /// Only this action.
    #[arg(long, value_name = "ACTION", allow_hyphen_values = true)]
    pub action: Option<String>,
    /// Page number: 1 to the spec's `[domain] max_page` (2000 in the shipped
    /// harness.toml); others are rejected before the engine sees them.
    #[arg(long, default_value_t = 1, allow_hyphen_values = true)]
    pub page: i64,
    /// Page size: one of the spec's `[domain] page_sizes` (10, 20 or 50 in the
    /// shipped harness.toml) [default: the first of them].
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub page_size: Option<i64>,
    /// Read one query JSON per line from FILE (`-` for stdin); print one answer per line.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["from", "to", "actor", "action", "page", "page_size"])]
    pub batch: Option<PathBuf>,
}

/// A seed: a 64-bit integer, decimal or `0x` hex (the form equivalence.csv
/// writes, which a spreadsheet keeps whole).
pub fn seed(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => t.parse::<u64>().ok(),
    };
    parsed.ok_or_else(|| format!("{s} is not allowed: expected a non-negative integer below 2^64, decimal or 0x hex"))
}

/// A count or seed flag's value: an integer >= 0 (one line saying so otherwise,
/// also for `-1`, which clap would otherwise take for an unknown flag).
fn non_negative(s: &str) -> Result<u64, String> {
    s.trim()
        .parse::<u64>()
        .map_err(|_| format!("{s} is not allowed: expected a non-negative integer (0, 1, 2, ...)"))
}

/// A count flag's value: an integer >= 1.
/// A rate of appends: a finite number of rows per second, 0 or more.
fn append_rate(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(r) if r >= 0.0 && r.is_finite() => Ok(r),
        _ => Err(crate::spec::append_rate_allowed(s)),
    }
}

fn positive(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("{s} is not allowed: expected an integer >= 1")),
    }
}

/// A clap error as one line: its message and hints (the allowed values, a
/// similar flag), without the usage block and the pointer to `--help`.
pub fn one_line_error(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let mut line = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .map(|l| l.strip_prefix("error: ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("; ");
    if let Some(hint) = misplaced_hint(e) {
        line.push_str("; ");
        line.push_str(&hint);
    }
    line
}

/// Where an option of the harness itself belongs when it was given after
/// the command (`bench --data X`), which clap reports as unexpected.
fn misplaced_hint(e: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if e.kind() != ErrorKind::UnknownArgument {
        return None;
    }
    let Some(ContextValue::String(arg)) = e.get(ContextKind::InvalidArg) else {
        return None;
    };
    let flag = arg.split('=').next()?;
    PLACED.iter().any(|(f, _)| *f == flag).then(|| {
        format!(
            "{flag} applies to {} (before or after the command), not to this command",
            applies_to(flag)
        )
    })
}
