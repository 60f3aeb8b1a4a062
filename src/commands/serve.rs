//! `audit-harness serve`: one engine served over HTTP until SIGINT or
//! SIGTERM, then a graceful stop and its counts (exit 0).

use std::path::Path;
use std::time::Duration;

use crate::cancel::Cancel;
use crate::cli::ServeArgs;
use crate::error::HarnessError;
use crate::http::Server;
use crate::spec::Spec;
use crate::{output, registry};

pub fn run(spec: &Spec, data_dir: &Path, args: &ServeArgs, cancel: &Cancel) -> Result<(), HarnessError> {
    let engine = registry::open(spec, &args.engine, data_dir, cancel)?;
    let server = Server::start(engine, &args.listen)
        .map_err(|e| HarnessError::input(format!("serve --listen {}: {e}", args.listen)))?;
    output::serve::print_listening(&args.engine, &server.url());
    while !cancel.is_cancelled() {
        std::thread::sleep(Duration::from_millis(50));
    }
    let counts = server.stop().map_err(HarnessError::input)?;
    output::serve::print_stopped(cancel.cause(), &counts);
    Ok(())
}
