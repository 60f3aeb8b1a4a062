//! `audit-harness query`: one query (or a batch) answered by one engine, as JSON lines.

use std::io::{BufReader, Write};

use audit_engines::Query;

use crate::cancel::Cancel;
use crate::cli::QueryArgs;
use crate::error::HarnessError;
use crate::spec::Spec;
use crate::{query, registry};

pub fn run(spec: &Spec, dir: &std::path::Path, args: QueryArgs, cancel: &Cancel) -> Result<(), HarnessError> {
    registry::check_name(spec, &args.engine)?;
    let domain = spec.domain();
    let engine = registry::open(spec, &args.engine, dir, cancel)?;
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
