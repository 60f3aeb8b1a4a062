//! `audit-harness protocol-cost`: the process protocol's round trip per
//! request, against the do-nothing engine or any engine named.

use std::path::Path;
use std::sync::Arc;

use audit_engines::{Query, SharedEngine};

use crate::cancel::Cancel;
use crate::cli::ProtocolCostArgs;
use crate::error::HarnessError;
use crate::process::{cost, ProcessEngine};
use crate::spec::Spec;
use crate::{output, registry};

/// Runs `protocol-cost` and prints one line of figures.
pub fn run(spec: &Spec, data_dir: &Path, args: &ProtocolCostArgs, cancel: &Cancel) -> Result<(), HarnessError> {
    let (engine, about): (SharedEngine, String) = match &args.engine {
        None => {
            let null = cost::null_spec()?;
            let about = format!("null (`{}`)", null.command.join(" "));
            let e = ProcessEngine::open("null", &null, Path::new("."), Path::new("."), cancel)
                .map_err(|e| HarnessError::Setup(Box::new(e)))?;
            (Arc::new(e), about)
        }
        Some(name) => {
            let about = match spec.engines.get(name) {
                Some(p) if p.command.is_empty() => format!("{name} ({})", p.url.as_deref().unwrap_or("")),
                Some(p) => format!("{name} (`{}`)", p.command.join(" ")),
                None => format!("{name} (built in, no process)"),
            };
            (registry::open(spec, name, data_dir, cancel)?, about)
        }
    };
    // A deep page of the default window: empty on the contract dataset, so a
    // real engine's figure is mostly its fixed per-request cost too.
    let now = spec.dataset.generator.now;
    let q = Query {
        from_ts: now - 604_800,
        to_ts: now,
        actor_id: None,
        action: None,
        page: spec.domain.max_page,
        page_size: spec.domain.page_sizes.first().copied().unwrap_or(10),
    };
    let c = cost::measure(engine.as_ref(), &q, args.warmup as usize, args.requests as usize)
        .map_err(|e| HarnessError::failed(format!("protocol-cost: {e}")))?;
    output::process::print_cost(&about, args.warmup, &c);
    output::process::print_pipe_floor(&cost::pipe_floor(args.warmup as usize, args.requests as usize));
    Ok(())
}
