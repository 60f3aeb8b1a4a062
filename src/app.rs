//! Runs a parsed command line: loads the spec, resolves the dataset, and hands
//! each subcommand to its module.

use std::io::{BufReader, Write};
use std::path::PathBuf;

use audit_engines::Query;

use crate::cli::{BenchArgs, CalibrateArgs, Cli, Command, EquivArgs, GenArgs, QueryArgs};
use crate::error::HarnessError;
use crate::spec::Spec;
use crate::{bench as load, dataset, equivalence, gate, integrity, output, process, query, registry, report};

/// Runs the command; `Ok` means exit 0.
pub fn run(cli: Cli) -> Result<(), HarnessError> {
    if let Command::ProtocolNull(a) = &cli.command {
        // A child of the harness: it needs no spec.
        return process::null::run(a.max_in_flight as usize);
    }
    check_applies(&cli)?;
    if matches!(
        cli.command,
        Command::Gen(_) | Command::Equiv(_) | Command::Bench(_) | Command::Gate
    ) {
        // SIGINT/SIGTERM: stop at the next row, case or request, clean up, exit 3.
        crate::interrupt::install();
    }
    let mut spec = Spec::load(&cli.spec)?;
    process::command::add_to_spec(&mut spec, &cli.engine_command)?;
    if matches!(cli.command, Command::Equiv(_) | Command::Bench(_) | Command::Gate) {
        registry::validate(&spec)?;
    }
    let data_dir = cli.data.clone().unwrap_or_else(|| spec.dataset.dir.clone());
    match cli.command {
        Command::Gen(args) => gen(&spec, args, cli.data),
        Command::Adopt { dir } => {
            let m = dataset::adopt::adopt(&dir)?;
            println!(
                "adopted {}: {} rows, payloads.jsonl {} bytes sha256 {}; manifest written",
                dir.display(),
                m.rows,
                m.payloads_bytes,
                m.payloads_sha256
            );
            Ok(())
        }
        Command::Verify => {
            let checks = integrity::verify(&spec, &data_dir)?;
            gate::print_checks(&checks);
            integrity::judge(&checks)
        }
        Command::Query(args) => run_query(&spec, &data_dir, args),
        Command::Engines => {
            for (name, about) in registry::list(&spec) {
                println!("{name:<10} {about}");
            }
            Ok(())
        }
        Command::Equiv(args) => equiv(&spec, &data_dir, args),
        Command::Bench(args) => bench(&spec, &data_dir, args),
        Command::Report(args) => {
            let out = args.out.unwrap_or_else(|| args.dir.clone());
            let analysis = report::reanalyze::reanalyze(&args.dir, &out)?;
            output::print_summaries(&analysis.summaries);
            println!("== recomputed summary.csv, strata.csv and plots in {}", out.display());
            Ok(())
        }
        Command::Gate => gate::run(&spec, &data_dir),
        Command::Calibrate(args) => calibrate(&spec, args),
        Command::ProtocolCost(args) => process::cost::run(&spec, &data_dir, &args),
        Command::ProtocolNull(a) => process::null::run(a.max_in_flight as usize),
    }
}

/// `--data` and `--engine-command` are options of the commands they apply to
/// (given before the command); elsewhere they are refused, not ignored.
fn check_applies(cli: &Cli) -> Result<(), HarnessError> {
    let command = match &cli.command {
        Command::Gen(_) => "gen",
        Command::Adopt { .. } => "adopt",
        Command::Report(_) => "report",
        _ => return Ok(()),
    };
    if cli.data.is_some() && command != "gen" {
        return Err(HarnessError::input(format!(
            "--data does not apply to `{command}`, which takes its directory as an argument; --data applies to gen, verify, query, equiv, bench, gate and protocol-cost"
        )));
    }
    if !cli.engine_command.is_empty() {
        return Err(HarnessError::input(format!(
            "--engine-command does not apply to `{command}`; it applies to engines, query, equiv, bench, gate and protocol-cost"
        )));
    }
    Ok(())
}

fn gen(spec: &Spec, args: GenArgs, data: Option<PathBuf>) -> Result<(), HarnessError> {
    let mut p = spec.dataset.generator.clone();
    if let Some(now) = args.now {
        p.now = now;
    }
    if let Some(rows) = args.rows {
        p.rows = rows;
    }
    if let Some(seed) = args.seed {
        p.seed = seed;
    }
    let out = args.out.or(data).unwrap_or_else(|| spec.dataset.dir.clone());
    if args.if_missing && out.exists() {
        println!("== dataset: {} exists; not regenerating", out.display());
        return Ok(());
    }
    let r = dataset::generate(&p, &out, args.force)?;
    println!(
        "generated {}: {} rows (seed {}, now {}), payloads.jsonl {} bytes sha256 {} in {:.3} s",
        out.display(),
        r.manifest.rows,
        p.seed,
        p.now,
        r.manifest.payloads_bytes,
        r.manifest.payloads_sha256,
        r.seconds
    );
    Ok(())
}

fn run_query(spec: &Spec, dir: &std::path::Path, args: QueryArgs) -> Result<(), HarnessError> {
    registry::check_name(spec, &args.engine)?;
    let domain = spec.domain();
    let engine = registry::open(spec, &args.engine, dir)?;
    let stdout = std::io::stdout();
    if let Some(path) = args.batch {
        let failed = if path.as_os_str() == "-" {
            query::batch(engine.as_ref(), &domain, std::io::stdin().lock(), stdout.lock())?
        } else {
            let f = std::fs::File::open(&path).map_err(|e| HarnessError::io(&path, e))?;
            query::batch(engine.as_ref(), &domain, BufReader::new(f), stdout.lock())?
        };
        return if failed == 0 {
            Ok(())
        } else {
            Err(HarnessError::failed(format!(
                "{failed} line(s) of the batch failed; see their {{\"error\"}} answers"
            )))
        };
    }
    let q = Query {
        from_ts: args.from.unwrap_or(i64::MIN),
        to_ts: args.to.unwrap_or(i64::MAX),
        actor_id: args.actor,
        action: args.action,
        page: args.page,
        page_size: args.page_size.unwrap_or(domain.page_sizes[0]),
    };
    let line = query::answer_line(engine.as_ref(), &domain, &q)?;
    writeln!(stdout.lock(), "{line}").map_err(|e| HarnessError::input(format!("writing the answer: {e}")))
}

fn equiv(spec: &Spec, dir: &std::path::Path, args: EquivArgs) -> Result<(), HarnessError> {
    let names = args.engines.unwrap_or_else(|| spec.equivalence.engines.clone());
    let candidates = names
        .iter()
        .map(|n| registry::opener(spec, n))
        .collect::<Result<Vec<_>, _>>()?;
    let mut opts = equivalence::Options::from_spec(spec, dir)?;
    if let Some(n) = args.cases {
        opts.cases = n;
    }
    if let Some(n) = args.small_dataset_cases {
        opts.small_dataset_cases = n;
    }
    if let Some(s) = args.seed {
        opts.seed = s;
    }
    if let Some(r) = args.regressions {
        opts.regressions = Some(r);
    }
    opts.strict_domain |= args.strict_domain;
    opts.only = args.property;
    // A damaged dataset is bad input before anything runs.
    dataset::preflight(dir)?;
    let mut run = report::run::Run::start(spec, dir)?;
    let result = gate::equivalence_stage(&opts, &candidates, Some(&mut run)).and_then(|r| r.judge());
    run.finish(result)
}

fn bench(spec: &Spec, dir: &std::path::Path, args: BenchArgs) -> Result<(), HarnessError> {
    let plan = load::Plan::new(
        spec,
        dir,
        load::plan::Overrides {
            engines: args.engines,
            mixes: args.mix,
            requests: args.requests,
            warmup: args.warmup,
            concurrency: args.concurrency,
            min_rounds: args.min_rounds,
            max_rounds: args.max_rounds,
            max_seconds: args.max_seconds,
            mode: args.mode,
            rate: args.rate,
            arrivals: args.arrivals,
            cache: args.cache,
            seed: args.seed,
        },
    )?;
    let mut run = report::run::Run::start(spec, dir)?;
    let result = gate::bench_stage(spec, dir, &plan, &mut run).and_then(|a| gate::verdict_stage(spec, &a, &mut run));
    run.finish(result)
}

fn calibrate(spec: &Spec, args: CalibrateArgs) -> Result<(), HarnessError> {
    use crate::calibrate::{self, Config, Scenario, SimThresholds, Truth, DEFAULT_SCENARIOS};
    let scenarios = if args.scenario.is_empty() {
        DEFAULT_SCENARIOS
            .iter()
            .map(|s| s.parse::<Scenario>().map_err(HarnessError::input))
            .collect::<Result<Vec<_>, _>>()?
    } else {
        args.scenario
    };
    let t = &spec.gate.thresholds;
    let (Some(latency), Some(rps)) = (t.p95_ratio_max.or(t.p99_ratio_max), t.rps_ratio_min) else {
        return Err(HarnessError::input(
            "calibrate simulates the ratio thresholds: set [gate] p95_ratio_max (or p99_ratio_max) and rps_ratio_min",
        ));
    };
    let b = &spec.bench;
    let cfg = Config {
        scenarios,
        truths: if args.truth.is_empty() {
            Truth::ALL.to_vec()
        } else {
            args.truth
        },
        replicates: args.replicates,
        seed: args.seed,
        candidates: spec.gate.candidates.len().max(1),
        thresholds: SimThresholds { latency, rps },
        median_ms: args.median_ms,
        sigma: args.sigma,
        requests: b.requests as usize,
        concurrency: b.concurrency as usize,
        budget: crate::bench::Budget {
            min_rounds: b.min_rounds,
            max_rounds: b.max_rounds,
            max_seconds: b.max_seconds,
        },
    };
    output::print_calibration_header(&cfg);
    let started = std::time::Instant::now();
    calibrate::run(&cfg, output::print_calibration_row)?;
    if args.compare {
        let rows = calibrate::compare::run(&cfg, &[5, 10], 2000)?;
        output::print_method_comparison(&rows);
    }
    println!("== calibrated in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
