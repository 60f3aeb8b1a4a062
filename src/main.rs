//! The `audit-harness` binary: parse, run, and exit with the documented code.

use clap::Parser;

fn main() {
    let cli = match audit_harness::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => {
            // clap's error as one line (its hints joined), exit 2 as for any bad input.
            eprintln!("audit-harness: {}", audit_harness::cli::one_line_error(&e));
            std::process::exit(2);
        }
    };
    // Orphans of the engines (a setsid daemon) come to the harness, and die
    // with the command's end (process::reaper).
    audit_harness::process::reaper::adopt_orphans();
    let result = audit_harness::app::run(cli);
    audit_harness::process::reaper::kill_orphans();
    if let Err(e) = result {
        eprintln!("audit-harness: {e}");
        std::process::exit(e.exit_code());
    }
}
