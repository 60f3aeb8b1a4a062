//! `audit-harness http-cost`: the HTTP driver's own cost against wrk.

use std::path::Path;

use crate::cancel::Cancel;
use crate::cli::HttpCostArgs;
use crate::error::HarnessError;
use crate::http::cost::{self, CostOptions};
use crate::output;

pub fn run(args: &HttpCostArgs, cancel: &Cancel) -> Result<(), HarnessError> {
    let opts = CostOptions {
        connections: args.connections as usize,
        seconds: args.seconds,
        rounds: args.rounds as usize,
    };
    let mut others: Vec<Box<dyn cost::Load>> = Vec::new();
    if !args.locust_workers.is_empty() {
        let dir = crate::locust::venv::location(Path::new("."), None);
        let python = crate::locust::venv::ensure(&dir, &mut |line| output::http_cost::print_note(line))?;
        for &n in &args.locust_workers {
            others.push(Box::new(crate::locust::cost::LocustLoad::new(
                python.clone(),
                n,
                cancel,
            )));
        }
    }
    output::http_cost::print_header(&opts, &others);
    let c = cost::run(opts, &mut others, cancel).map_err(|e| match cancel.is_cancelled() {
        // Stopped by a signal: an incomplete measurement (exit 3), not bad
        // input; whatever failed with it (wrk, which a Ctrl-C in a terminal
        // signals too) failed because of it.
        true => cancel.error("http-cost stopped; nothing was measured"),
        false => HarnessError::input(format!("http-cost: {e}")),
    })?;
    output::http_cost::print_cost(&c);
    Ok(())
}
