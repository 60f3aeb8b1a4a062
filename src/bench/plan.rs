//! What a benchmark run does, settled before it starts: the spec's `[bench]`
//! section with the command line's overrides applied and checked.

use std::path::PathBuf;

use audit_engines::Query;

use crate::dataset::GenParams;
use crate::error::HarnessError;
use crate::mix;
use crate::spec::{CacheMode, LoadMode, MixSpec, RateSpec, Spec};

/// Command-line overrides of `[bench]`; `None` keeps the spec's value.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub engines: Option<Vec<String>>,
    pub mixes: Option<Vec<String>>,
    pub requests: Option<u64>,
    pub warmup: Option<u64>,
    pub concurrency: Option<u32>,
    pub trials: Option<u32>,
    pub mode: Option<LoadMode>,
    pub rate: Option<RateSpec>,
    pub cache: Option<CacheMode>,
    pub seed: Option<u64>,
}

/// A settled benchmark plan.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Engines in run order, the baseline first.
    pub engines: Vec<String>,
    pub mixes: Vec<(String, MixSpec)>,
    pub generator: GenParams,
    pub seed: u64,
    pub requests: u64,
    pub warmup: u64,
    pub concurrency: u32,
    pub trials: u32,
    pub mode: LoadMode,
    pub rate: Option<RateSpec>,
    pub cache: CacheMode,
    pub min_requests: u64,
    pub min_seconds: f64,
    pub bootstrap_resamples: u32,
    /// The dataset's payload file (evicted before each trial with a cold cache).
    pub payloads: PathBuf,
}

impl Plan {
    /// The spec's plan with `o` applied; every value is checked here, before anything runs.
    pub fn new(spec: &Spec, data_dir: &std::path::Path, o: Overrides) -> Result<Plan, HarnessError> {
        let b = &spec.bench;
        let mut engines = o.engines.unwrap_or_else(|| b.engines.clone());
        engines.retain(|e| e != "baseline");
        engines.insert(0, "baseline".to_string());
        let mut seen = std::collections::HashSet::new();
        engines.retain(|e| seen.insert(e.clone()));
        for e in &engines {
            crate::registry::check_name(spec, e)?;
        }
        let names = o.mixes.unwrap_or_else(|| b.mixes.clone());
        if names.is_empty() {
            return Err(HarnessError::input("--mix: name at least one mix"));
        }
        let mixes = names
            .iter()
            .map(|n| spec.mix(n).map(|m| (n.clone(), m.clone())))
            .collect::<Result<Vec<_>, _>>()?;
        let concurrency = o.concurrency.unwrap_or(b.concurrency);
        if concurrency == 0 {
            return Err(HarnessError::input(
                "--concurrency 0: the number of workers must be at least 1",
            ));
        }
        let trials = o.trials.unwrap_or(b.trials);
        if trials == 0 {
            return Err(HarnessError::input("--trials 0: at least 1 trial is needed"));
        }
        let requests = o.requests.unwrap_or(b.requests);
        if requests == 0 {
            return Err(HarnessError::input(
                "--requests 0: at least 1 measured request per trial is needed",
            ));
        }
        let rate = o.rate.or(b.rate);
        let mode = o.mode.unwrap_or(if o.rate.is_some() { LoadMode::Open } else { b.mode });
        if mode == LoadMode::Open && rate.is_none() {
            return Err(HarnessError::input(
                "open loop needs an arrival rate: --rate R (requests per second) or --rate 0.5x (of the baseline's throughput), or [bench] rate",
            ));
        }
        Ok(Plan {
            engines,
            mixes,
            generator: spec.dataset.generator.clone(),
            seed: o.seed.unwrap_or(b.seed),
            requests,
            warmup: o.warmup.unwrap_or(b.warmup),
            concurrency,
            trials,
            mode,
            rate,
            cache: o.cache.unwrap_or(b.cache),
            min_requests: b.min_requests,
            min_seconds: b.min_seconds,
            bootstrap_resamples: b.bootstrap_resamples,
            payloads: data_dir.join("payloads.jsonl"),
        })
    }

    /// Requests a trial's stream holds: enough for the slowest stopping rule.
    pub fn stream_len(&self) -> usize {
        self.requests.max(self.min_requests) as usize
    }

    /// Whether a trial that has started `started` requests after `elapsed_s` seconds
    /// starts another: at least `requests`, then on until `min_requests` or `min_seconds`.
    pub fn wants_more(&self, started: u64, elapsed_s: f64) -> bool {
        started < self.requests || (started < self.min_requests && elapsed_s < self.min_seconds)
    }

    /// The warm-up requests before every trial (the same for every engine).
    pub fn warmup_stream(&self, mix: &MixSpec) -> Vec<Query> {
        mix::stream(
            mix,
            &self.generator,
            self.seed.wrapping_mul(1_000_003),
            self.warmup as usize,
        )
    }

    /// Trial `t`'s stream (0-based): the same for every engine, another for each trial.
    pub fn trial_stream(&self, mix: &MixSpec, t: u32) -> Vec<Query> {
        mix::stream(mix, &self.generator, self.trial_seed(t), self.stream_len())
    }

    /// The seed of the warm-up stream, recorded in run.json.
    pub fn warmup_seed(&self) -> u64 {
        self.seed.wrapping_mul(1_000_003)
    }

    /// The seed of trial `t`'s stream (0-based), recorded in run.json.
    pub fn trial_seed(&self, t: u32) -> u64 {
        self.warmup_seed().wrapping_add(u64::from(t) + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_or_say_what_is_allowed() {
        assert_eq!(RateSpec::parse("250"), Ok(RateSpec::PerSecond(250.0)));
        assert_eq!(RateSpec::parse("0.5x"), Ok(RateSpec::OfBaseline(0.5)));
        for bad in ["0", "-3", "0x", "fast", "", "nanx", "inf"] {
            let e = RateSpec::parse(bad).unwrap_err();
            assert!(e.contains("expected requests per second"), "{bad}: {e}");
        }
    }
}
