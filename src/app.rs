//! Runs a parsed command line: loads the spec, resolves the dataset, and hands
//! each subcommand to its module in `commands/`.

use crate::cancel::Cancel;
use crate::cli::{Cli, Command};
use crate::error::HarnessError;
use crate::spec::Spec;
use crate::{commands, process, registry};

/// Runs the command; `Ok` means exit 0.
pub fn run(mut cli: Cli) -> Result<(), HarnessError> {
    crate::output::set_color(cli.color);
    crate::output::set_verbosity(match (cli.quiet, cli.verbose) {
        (true, _) => crate::output::Verbosity::Quiet,
        (false, true) => crate::output::Verbosity::Verbose,
        (false, false) => crate::output::Verbosity::Normal,
    });
    if let Command::ProtocolNull(a) = &cli.command {
        // A child of the harness: it needs no spec.
        return process::null::run(a.max_in_flight as usize);
    }
    cli.settle().map_err(HarnessError::input)?;
    check_applies(&cli)?;
    // Completions and manual pages describe the command line; report,
    // compare and calibrate --from read the spec a run recorded in its
    // run.json; adopt and http-cost use none: none of them needs a
    // harness.toml here.
    match &cli.command {
        Command::Completions(a) => return commands::completions::run(a),
        Command::Man(a) => return commands::man::run(a),
        Command::Report(a) => return commands::report::run(a),
        Command::Compare(a) => return commands::compare::run(a),
        Command::Adopt { dir } => return commands::adopt::run(dir),
        Command::Calibrate(a) => {
            if let Some(dir) = &a.from {
                return commands::calibrate::run_from(dir, a);
            }
        }
        Command::HttpCost(a) => return commands::http_cost::run(a, &Cancel::on_signals()),
        _ => {}
    }
    // The commands that run long stop at SIGINT/SIGTERM (at the next row,
    // case or request, cleaning up, exit 3); the others end by the signal.
    let cancel = if matches!(
        cli.command,
        Command::Gen(_)
            | Command::Equiv(_)
            | Command::Bench(_)
            | Command::Gate(_)
            | Command::Sweep(_)
            | Command::Aa(_)
            | Command::Serve(_)
    ) {
        Cancel::on_signals()
    } else {
        Cancel::new()
    };
    let mut spec = Spec::load(&cli.spec)?;
    process::command::add_to_spec(&mut spec, &cli.engine_command)?;
    crate::http::flag::add_to_spec(&mut spec, &cli.engine_url)?;
    if matches!(
        cli.command,
        Command::Equiv(_) | Command::Bench(_) | Command::Gate(_) | Command::Sweep(_) | Command::Aa(_)
    ) {
        registry::validate(&spec)?;
    }
    let data_dir = cli.data.clone().unwrap_or_else(|| spec.dataset.dir.clone());
    match cli.command {
        Command::Gen(args) => commands::gen::run(&spec, args, cli.data, &cancel),
        Command::Verify(_) => commands::verify::run(&spec, &data_dir),
        Command::Query(args) => commands::query::run(&spec, &data_dir, args, &cancel),
        Command::Engines(args) => commands::engines::run(&spec, &data_dir, &args, &cancel),
        Command::Equiv(args) => commands::equiv::run(&spec, &data_dir, args, &cancel),
        Command::Bench(args) => commands::bench::run(&spec, &data_dir, args, &cancel),
        Command::Gate(args) => commands::gate::run(&spec, &data_dir, args.append_rate, &args.export.exports(), &cancel),
        Command::Calibrate(args) => commands::calibrate::run(&spec, args),
        Command::Aa(args) => commands::aa::run(&spec, &data_dir, args, &cancel),
        Command::ProtocolCost(args) => commands::protocol_cost::run(&spec, &data_dir, &args, &cancel),
        Command::Serve(args) => commands::serve::run(&spec, &data_dir, &args, &cancel),
        Command::Sweep(args) => commands::sweep::run(&spec, args, &cancel),
        Command::ProtocolNull(a) => process::null::run(a.max_in_flight as usize),
        Command::Completions(_)
        | Command::Man(_)
        | Command::Report(_)
        | Command::Compare(_)
        | Command::Adopt { .. }
        | Command::HttpCost(_) => Ok(()),
    }
}

/// `--data`, `--engine-command` and `--engine-url` apply to the commands
/// `cli::PLACED` names (given before or after the command); elsewhere they
/// are refused, not ignored.
fn check_applies(cli: &Cli) -> Result<(), HarnessError> {
    let command = cli.command.name();
    let given = [
        ("--data", cli.data.is_some()),
        ("--engine-command", !cli.engine_command.is_empty()),
        ("--engine-url", !cli.engine_url.is_empty()),
    ];
    for (flag, is_given) in given {
        let applies = crate::cli::PLACED
            .iter()
            .any(|(f, commands)| *f == flag && commands.contains(&command));
        if is_given && !applies {
            let instead = match (flag, command) {
                ("--data", "sweep") => " (sweep makes a dataset per size: use `sweep --data-dir DIR`)",
                ("--data", "report" | "compare" | "adopt") => " (it takes its directory as an argument)",
                _ => "",
            };
            return Err(HarnessError::input(format!(
                "{flag} does not apply to `{command}`{instead}; it applies to {}",
                crate::cli::applies_to(flag)
            )));
        }
    }
    Ok(())
}
