//! What a benchmark run does, settled before it starts: the spec's `[bench]`
//! section with the command line's overrides applied and checked, and every
//! seeded choice the run makes (request streams, engine order per round,
//! open-loop arrival times) derived from its one seed.

use std::path::PathBuf;

use audit_engines::Query;

use crate::dataset::GenParams;
use crate::error::HarnessError;
use crate::mix;
use crate::spec::{Arrivals, BenchSpec, CacheMode, LoadMode, MixSpec, RateSpec, Spec};

/// Command-line overrides of `[bench]`; `None` keeps the spec's value.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub engines: Option<Vec<String>>,
    pub mixes: Option<Vec<String>>,
    pub requests: Option<u64>,
    pub warmup: Option<u64>,
    pub concurrency: Option<u32>,
    pub min_rounds: Option<u32>,
    pub max_rounds: Option<u32>,
    pub max_seconds: Option<f64>,
    pub mode: Option<LoadMode>,
    pub rate: Option<RateSpec>,
    pub arrivals: Option<Arrivals>,
    pub cache: Option<CacheMode>,
    pub seed: Option<u64>,
    pub append_rate: Option<f64>,
}

/// A settled benchmark plan.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Engines, the reference first (the order of the series; each round runs them in a seeded random order).
    pub engines: Vec<String>,
    pub mixes: Vec<(String, MixSpec)>,
    pub generator: GenParams,
    pub seed: u64,
    /// Measured requests per engine per round.
    pub requests: u64,
    pub warmup: u64,
    pub concurrency: u32,
    pub min_rounds: u32,
    pub max_rounds: u32,
    pub max_seconds: f64,
    pub mode: LoadMode,
    pub rate: Option<RateSpec>,
    pub arrivals: Arrivals,
    pub cache: CacheMode,
    /// The dataset's payload file (evicted before each trial with a cold cache).
    pub payloads: PathBuf,
    /// Rows per second appended while the rounds run again on a scratch copy (0 = off).
    pub append_rate: f64,
}

impl Plan {
    /// The spec's plan with `o` applied; every value is checked here, before anything runs.
    pub fn new(spec: &Spec, data_dir: &std::path::Path, o: Overrides) -> Result<Plan, HarnessError> {
        let b = &spec.bench;
        let mut engines = o.engines.unwrap_or_else(|| b.engines.clone());
        let reference = crate::registry::reference_name();
        engines.retain(|e| e != reference);
        engines.insert(0, reference.to_string());
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
        if o.rate.is_some() && o.mode.is_none() && b.mode == LoadMode::Closed {
            return Err(HarnessError::input(
                "--rate is an open-loop setting: add --mode open (or set [bench] mode = \"open\")",
            ));
        }
        // The command line's values are checked by the spec's own rules.
        let settled = BenchSpec {
            requests: o.requests.unwrap_or(b.requests),
            concurrency: o.concurrency.unwrap_or(b.concurrency),
            min_rounds: o.min_rounds.unwrap_or(b.min_rounds),
            max_rounds: o.max_rounds.unwrap_or(b.max_rounds.max(o.min_rounds.unwrap_or(0))),
            max_seconds: o.max_seconds.unwrap_or(b.max_seconds),
            rate: o.rate.or(b.rate),
            append_rate: o.append_rate.unwrap_or(b.append_rate),
            ..b.clone()
        };
        settled
            .check()
            .map_err(|(k, m)| HarnessError::input(format!("--{}: {m}", k.replace('_', "-"))))?;
        let mode = o.mode.unwrap_or(b.mode);
        if mode == LoadMode::Open && settled.rate.is_none() {
            return Err(HarnessError::input(
                "open loop needs an arrival rate: --rate R (requests per second) or --rate 0.5x (of the baseline's throughput), or [bench] rate",
            ));
        }
        Ok(Plan {
            engines,
            mixes,
            generator: spec.dataset.generator.clone(),
            seed: o.seed.unwrap_or(b.seed),
            requests: settled.requests,
            warmup: o.warmup.unwrap_or(b.warmup),
            concurrency: settled.concurrency,
            min_rounds: settled.min_rounds,
            max_rounds: settled.max_rounds,
            max_seconds: settled.max_seconds,
            mode,
            rate: settled.rate,
            arrivals: o.arrivals.unwrap_or(b.arrivals),
            cache: o.cache.unwrap_or(b.cache),
            payloads: data_dir.join(audit_engines::PAYLOADS_FILE),
            append_rate: settled.append_rate,
        })
    }

    /// The warm-up requests before every trial (the same for every engine).
    pub fn warmup_stream(&self, mix: &MixSpec) -> Vec<Query> {
        mix::stream(mix, &self.generator, self.warmup_seed(), self.warmup as usize)
    }

    /// Round `r`'s stream (0-based): every engine runs exactly these requests in that round.
    pub fn round_stream(&self, mix: &MixSpec, r: u32) -> Vec<Query> {
        mix::stream(mix, &self.generator, self.round_seed(r), self.requests as usize)
    }

    /// The seed of the warm-up stream, recorded in run.json.
    pub fn warmup_seed(&self) -> u64 {
        self.seed.wrapping_mul(1_000_003)
    }

    /// The seed of round `r`'s stream (0-based), recorded in run.json.
    pub fn round_seed(&self, r: u32) -> u64 {
        self.warmup_seed().wrapping_add(u64::from(r) + 1)
    }

    /// The order in which round `r` (0-based) runs the engines on mix number
    /// `mix`: a seeded random permutation of `0..n`, so that no engine always
    /// runs first (after a cache-cold pause) or last.
    pub fn round_order(&self, mix: usize, r: u32, n: usize) -> Vec<usize> {
        let mut rng = SplitMix64(self.seed ^ 0x6f72_6465_7200_0000 ^ ((mix as u64) << 32) ^ u64::from(r));
        let mut order: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            order.swap(i, rng.below(i as u64 + 1) as usize);
        }
        order
    }

    /// Open loop: when each of `n` requests is due, in ns from the trial's
    /// start, at `rps` arrivals per second; the same for every engine of round `r`.
    pub fn arrival_schedule(&self, rps: f64, n: usize, r: u32) -> Vec<u64> {
        let gap_ns = 1e9 / rps;
        match self.arrivals {
            Arrivals::Uniform => (0..n).map(|i| (i as f64 * gap_ns) as u64).collect(),
            Arrivals::Poisson => {
                let mut rng = SplitMix64(self.round_seed(r) ^ 0x706f_6973_736f_6e00);
                let mut at = 0.0;
                (0..n)
                    .map(|_| {
                        let due = at as u64;
                        at += -rng.unit_open().ln() * gap_ns;
                        due
                    })
                    .collect()
            }
        }
    }
}

/// A tiny, fully specified generator (Steele et al.'s SplitMix64), so that the
/// engine orders and arrival times recorded for a seed never change with a
/// dependency's version.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n >= 1), without modulo bias.
    fn below(&mut self, n: u64) -> u64 {
        let zone = u64::MAX - u64::MAX % n;
        loop {
            let x = self.next();
            if x < zone {
                return x % n;
            }
        }
    }

    /// Uniform in (0, 1].
    fn unit_open(&mut self) -> f64 {
        ((self.next() >> 11) + 1) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(arrivals: Arrivals) -> Plan {
        let spec = Spec::parse(
            &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/harness.toml")).unwrap(),
            std::path::Path::new("harness.toml"),
        )
        .unwrap();
        let mut p = Plan::new(&spec, std::path::Path::new("data"), Overrides::default()).unwrap();
        p.arrivals = arrivals;
        p
    }

    #[test]
    fn rates_parse_or_say_what_is_allowed() {
        assert_eq!(RateSpec::parse("250"), Ok(RateSpec::PerSecond(250.0)));
        assert_eq!(RateSpec::parse("0.5x"), Ok(RateSpec::OfBaseline(0.5)));
        for bad in ["0", "-3", "0x", "fast", "", "nanx", "inf"] {
            let e = RateSpec::parse(bad).unwrap_err();
            assert!(e.contains("expected requests per second"), "{bad}: {e}");
        }
    }

    #[test]
    fn round_orders_are_seeded_permutations_that_vary() {
        let p = plan(Arrivals::Uniform);
        let orders: Vec<Vec<usize>> = (0..20).map(|r| p.round_order(0, r, 5)).collect();
        for o in &orders {
            let mut s = o.clone();
            s.sort();
            assert_eq!(s, vec![0, 1, 2, 3, 4]);
        }
        // Every engine is first in some round, and the orders repeat for the same seed.
        for e in 0..5 {
            assert!(orders.iter().any(|o| o[0] == e), "engine {e} never first: {orders:?}");
        }
        assert_eq!(orders[3], p.round_order(0, 3, 5));
        assert_ne!(p.round_order(0, 3, 5), p.round_order(1, 3, 5));
    }

    #[test]
    fn poisson_arrivals_have_the_asked_mean_rate() {
        let p = plan(Arrivals::Poisson);
        let s = p.arrival_schedule(1000.0, 20_000, 0);
        let span_s = *s.last().unwrap() as f64 / 1e9;
        assert!((span_s - 20.0).abs() < 0.5, "{span_s}");
        assert!(s.windows(2).all(|w| w[0] <= w[1]));
        // Coefficient of variation of the gaps is 1 for exponential gaps, 0 for uniform ones.
        let gaps: Vec<f64> = s.windows(2).map(|w| (w[1] - w[0]) as f64).collect();
        let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
        let sd = (gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / gaps.len() as f64).sqrt();
        assert!((sd / mean - 1.0).abs() < 0.05, "cv {}", sd / mean);
        let u = plan(Arrivals::Uniform).arrival_schedule(1000.0, 3, 0);
        assert_eq!(u, vec![0, 1_000_000, 2_000_000]);
    }
}
