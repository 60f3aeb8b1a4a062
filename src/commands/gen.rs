//! `audit-harness gen`: a dataset generated exactly as the service's seeding does.

use std::path::PathBuf;

use crate::cancel::Cancel;
use crate::cli::GenArgs;
use crate::error::HarnessError;
use crate::spec::Spec;
use crate::{dataset, output};

pub fn run(spec: &Spec, args: GenArgs, data: Option<PathBuf>, cancel: &Cancel) -> Result<(), HarnessError> {
    let mut p = spec.dataset.generator.clone();
    if let Some(now) = args.now {
        p.now = now;
    }
    if let Some(rows) = args.rows {
        p.rows = rows;
    }
    if let Some(seed) = args.seed {
        p.seed = seed;
    }
    let out = args.out.or(data).unwrap_or_else(|| spec.dataset.dir.clone());
    if args.if_missing && out.exists() {
        output::dataset::print_exists(&out);
        return Ok(());
    }
    let task = output::progress::start(&format!("generating {} rows", p.rows), None, "");
    let r = dataset::generate(&p, &out, args.force, cancel);
    drop(task);
    let r = r?;
    output::dataset::print_generated(&out, &p, &r);
    Ok(())
}
