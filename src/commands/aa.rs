//! `audit-harness aa`: an engine against a second instance of itself, as
//! `bench` runs it, many times; how often the gate's judge raised a false alarm.

use crate::cli::AaArgs;
use crate::error::HarnessError;
use crate::spec::Spec;
use crate::{aa, output};

pub fn run(spec: &Spec, data_dir: &std::path::Path, args: AaArgs) -> Result<(), HarnessError> {
    let engine = args
        .engine
        .unwrap_or_else(|| crate::registry::reference_name().to_string());
    crate::registry::check_name(spec, &engine)?;
    let mix = match args.mix {
        Some(m) => m,
        None => spec
            .gate
            .mixes
            .first()
            .cloned()
            .ok_or_else(|| HarnessError::input("--mix: name a mix ([gate] mixes is empty)"))?,
    };
    spec.mix(&mix)?;
    let opts = aa::Options {
        engine,
        mix,
        runs: args.runs,
        noise: args.noise,
        seed: args.seed.unwrap_or(spec.bench.seed),
        max_seconds: args.max_seconds,
    };
    let dir = aa::out_dir(spec, &opts.engine);
    output::aa::print_header(&opts, &dir);
    let started = std::time::Instant::now();
    let aa::Series { runs, error } = output::quietly(|| aa::run(spec, data_dir, &opts, &dir, output::aa::print_run));
    if runs.is_empty() {
        return Err(error.unwrap_or_else(|| HarnessError::Inconclusive("no A/A run finished".into())));
    }
    let tally = aa::tally(&opts, &runs);
    aa::write(&dir, &tally, &runs)?;
    output::aa::print_tally(&tally, started.elapsed().as_secs_f64(), &dir);
    // A run that went wrong ends the series: the finished runs are tallied above.
    if let Some(e) = error {
        return Err(e);
    }
    if (runs.len() as u32) < opts.runs {
        return Err(HarnessError::Inconclusive(format!(
            "interrupted after {} of {} A/A runs: the rates above cover those",
            runs.len(),
            opts.runs
        )));
    }
    Ok(())
}
