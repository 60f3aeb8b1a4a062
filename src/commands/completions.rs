//! `audit-harness completions SHELL`: the shell's completion script on
//! standard output, generated from the same clap definition that parses.

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};
use crate::error::HarnessError;

pub fn run(args: &CompletionsArgs) -> Result<(), HarnessError> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "audit-harness", &mut out);
    super::man::write_stdout(&out)
}
