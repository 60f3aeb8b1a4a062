//! `audit-harness http-cost`: the HTTP driver's own cost against wrk.

use crate::cli::HttpCostArgs;
use crate::error::HarnessError;
use crate::http::cost::{self, CostOptions};
use crate::output;

pub fn run(args: &HttpCostArgs) -> Result<(), HarnessError> {
    let opts = CostOptions {
        connections: args.connections as usize,
        seconds: args.seconds,
        rounds: args.rounds as usize,
    };
    output::http_cost::print_header(&opts);
    let c = cost::run(opts).map_err(|e| HarnessError::input(format!("http-cost: {e}")))?;
    output::http_cost::print_cost(&c);
    Ok(())
}
