//! `audit-harness man`: the manual pages (roff), from the same clap
//! definition that parses: the main page on standard output, or with
//! `--out DIR` `audit-harness.1` and one page per visible subcommand
//! (`audit-harness-bench.1`, ...), each file written whole.

use std::io::Write;
use std::path::Path;

use clap::CommandFactory;

use crate::cli::{Cli, ManArgs};
use crate::error::HarnessError;

pub fn run(args: &ManArgs) -> Result<(), HarnessError> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    match &args.out {
        None => write_stdout(&render(&cmd)?),
        Some(dir) => {
            if !dir.is_dir() {
                return Err(HarnessError::input(format!(
                    "--out {}: expected an existing directory for the manual pages",
                    dir.display()
                )));
            }
            let written = write_pages(&cmd, dir)?;
            crate::output::run::print_man_pages(dir, written);
            Ok(())
        }
    }
}

/// One page in roff.
fn render(cmd: &clap::Command) -> Result<Vec<u8>, HarnessError> {
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .render(&mut out)
        .map_err(|e| HarnessError::input(format!("rendering the manual page: {e}")))?;
    Ok(out)
}

/// Writes the page of `cmd` and of each visible subcommand; returns how many.
fn write_pages(cmd: &clap::Command, dir: &Path) -> Result<usize, HarnessError> {
    let mut written = 0;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        written += write_pages(sub, dir)?;
    }
    let page = clap_mangen::Man::new(cmd.clone());
    crate::fsutil::write_atomic(&dir.join(page.get_filename()), &render(cmd)?)?;
    Ok(written + 1)
}

/// Writes generated text to standard output; a closed pipe is not an error.
pub(super) fn write_stdout(bytes: &[u8]) -> Result<(), HarnessError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(HarnessError::input(format!("writing to standard output: {e}"))),
    }
}
