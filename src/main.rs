//! The `audit-harness` binary: parse, run, and exit with the documented code.

use clap::Parser;

fn main() {
    let cli = audit_harness::cli::Cli::parse();
    if let Err(e) = audit_harness::app::run(cli) {
        eprintln!("audit-harness: {e}");
        std::process::exit(e.exit_code());
    }
}
