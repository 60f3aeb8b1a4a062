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
use crate::stats::splitmix::SplitMix64;

/// Command-line overrides of `[bench]`; `None` keeps the spec's value.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub engines: Option<Vec<String>>,
    pub mixes: Option<Vec<String>>,
    pub requests: Option<u64>,
    pub slices: Option<u32>,
    pub slice_ms: Option<f64>,
    /// Per figure (`p95`, `p99`, `throughput`): a precision replacing the spec's.
    pub precision: Vec<(String, f64)>,
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
    pub driver: Option<crate::spec::DriverKind>,
    /// Locust workers to start (and expect), replacing `[driver] workers`.
    pub locust_workers: Option<u32>,
}

/// A settled benchmark plan.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The spec's `[bench]` with the command line's overrides applied and
    /// checked: every setting the run uses (requests, slices, precision,
    /// rounds, budget, load model, cache, seed, ...), `engines` as the run
    /// orders them (the reference first; each round runs them in a seeded
    /// random order) and `mixes` the names of the mixes below.
    pub bench: BenchSpec,
    /// What each engine of `bench.engines` is for, decided once (from its
    /// registration, or as an A/A run sets it).
    pub roles: Vec<audit_engines::Role>,
    /// `bench.mixes`, each with its spec.
    pub mixes: Vec<(String, MixSpec)>,
    pub generator: GenParams,
    /// The dataset's payload file (evicted before each trial with a cold cache).
    pub payloads: PathBuf,
    /// Who sends the requests (`[driver]` with the command line's overrides).
    pub driver: crate::spec::DriverSpec,
    /// The spec's directory (where a relative `[driver] venv` lives).
    pub spec_dir: PathBuf,
}

impl Plan {
    /// The spec's plan with `o` applied; every value is checked here, before anything runs.
    pub fn new(spec: &Spec, data_dir: &std::path::Path, o: Overrides) -> Result<Plan, HarnessError> {
        let b = &spec.bench;
        let mut engines = o.engines.unwrap_or_else(|| b.engines.clone());
        let reference = b.reference.as_str();
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
            slices: o.slices.unwrap_or(b.slices),
            slice_ms: o.slice_ms.unwrap_or(b.slice_ms),
            precision: {
                let mut p = b.precision;
                for (k, v) in &o.precision {
                    match k.as_str() {
                        "p95" => p.p95 = *v,
                        "p99" => p.p99 = *v,
                        _ => p.throughput = *v,
                    }
                }
                p
            },
            concurrency: o.concurrency.unwrap_or(b.concurrency),
            min_rounds: o.min_rounds.unwrap_or(b.min_rounds),
            max_rounds: o.max_rounds.unwrap_or(b.max_rounds.max(o.min_rounds.unwrap_or(0))),
            max_seconds: o.max_seconds.unwrap_or(b.max_seconds),
            rate: o.rate.or(b.rate),
            append_rate: o.append_rate.unwrap_or(b.append_rate),
            seed: o.seed.unwrap_or(b.seed),
            warmup: o.warmup.unwrap_or(b.warmup),
            mode: o.mode.unwrap_or(b.mode),
            arrivals: o.arrivals.unwrap_or(b.arrivals),
            cache: o.cache.unwrap_or(b.cache),
            ..b.clone()
        };
        settled
            .check()
            .map_err(|(k, m)| HarnessError::input(format!("--{}: {m}", k.replace('_', "-"))))?;
        if settled.mode == LoadMode::Open && settled.rate.is_none() {
            return Err(HarnessError::input(
                "open loop needs an arrival rate: --rate R (requests per second) or --rate 0.5x (of the baseline's throughput), or [bench] rate",
            ));
        }
        let plan = Plan {
            roles: engines
                .iter()
                .map(|e| crate::registry::bench_role(e, reference))
                .collect(),
            bench: BenchSpec {
                engines,
                mixes: names,
                ..settled
            },
            mixes,
            generator: spec.dataset.generator.clone(),
            payloads: data_dir.join(audit_engines::PAYLOADS_FILE),
            driver: crate::spec::DriverSpec {
                kind: o.driver.unwrap_or(spec.driver.kind),
                workers: o.locust_workers.unwrap_or(spec.driver.workers),
                ..spec.driver.clone()
            },
            spec_dir: spec.path.parent().map(PathBuf::from).unwrap_or_default(),
        };
        if o.locust_workers.is_some() && plan.driver.kind != crate::spec::DriverKind::Locust {
            return Err(HarnessError::input(
                "--locust-workers sets the Locust driver's workers: add --driver locust (or set [driver] kind = \"locust\")",
            ));
        }
        if plan.driver.kind == crate::spec::DriverKind::Locust {
            plan.driver.check().map_err(HarnessError::input)?;
            if plan.bench.cache == CacheMode::Cold {
                return Err(HarnessError::input(
                    "--driver locust hands each round to the cluster whole, so it cannot evict the payload file before each slice: use --cache warm, or the built-in driver for a cold cache",
                ));
            }
            if plan.bench.concurrency < plan.driver.workers {
                return Err(HarnessError::input(format!(
                    "--driver locust: concurrency {} is split across {} workers, and each needs at least one user: raise --concurrency or lower --locust-workers",
                    plan.bench.concurrency, plan.driver.workers
                )));
            }
        }
        if plan.bench.append_rate > 0.0 {
            crate::registry::require_chosen_dataset(
                spec,
                &plan.bench.engines,
                "the benchmark under appends (--append-rate, [bench] append_rate)",
            )?;
        }
        if plan.bench.cache == CacheMode::Cold {
            // Evicting the harness's copy of the payloads does nothing to a
            // service reading its own: its figures would be labelled cold
            // while they are warm.
            crate::registry::require_chosen_dataset(
                spec,
                &plan.bench.engines,
                "a cold-cache benchmark (--cache cold, [bench] cache, which evicts the payload file of the dataset the harness chose)",
            )?;
        }
        if plan.bench.mode == LoadMode::Closed && plan.slice_cap() < plan.bench.concurrency as usize {
            return Err(HarnessError::input(format!(
                "--requests: {} requests per round over {} slices leave {} per slice, fewer than the {} workers (every worker runs at least one request a slice): raise requests or lower slices or concurrency",
                plan.bench.requests,
                plan.bench.slices,
                plan.slice_cap(),
                plan.bench.concurrency
            )));
        }
        plan.check_budget(&spec.gate)?;
        Ok(plan)
    }

    /// The warm-up requests before each engine's first slice on a mix (the same for every engine).
    pub fn warmup_stream(&self, mix: &MixSpec) -> Vec<Query> {
        mix::stream(mix, &self.generator, self.warmup_seed(), self.bench.warmup as usize)
    }

    /// Round `r`'s stream (0-based): every engine of the round draws its
    /// slices' requests from it, each going on where its previous slice stopped.
    pub fn round_stream(&self, mix: &MixSpec, r: u32) -> Vec<Query> {
        mix::stream(mix, &self.generator, self.round_seed(r), self.bench.requests as usize)
    }

    /// The seed of the warm-up stream, recorded in run.json.
    pub fn warmup_seed(&self) -> u64 {
        self.bench.seed.wrapping_mul(1_000_003)
    }

    /// The seed of round `r`'s stream (0-based), recorded in run.json.
    pub fn round_seed(&self, r: u32) -> u64 {
        self.warmup_seed().wrapping_add(u64::from(r) + 1)
    }

    /// The plan of an A/A run: `engine` (the reference) against `twin`, a
    /// second, separately opened instance of it (a candidate).
    pub fn twin(self, engine: &str, twin: &str) -> Plan {
        Plan {
            bench: BenchSpec {
                reference: engine.to_string(),
                engines: vec![engine.to_string(), twin.to_string()],
                ..self.bench
            },
            roles: vec![audit_engines::Role::Reference, audit_engines::Role::Candidate],
            ..self
        }
    }

    /// Leaves out the engines `drop` names, with their roles (which are by
    /// position), so that every engine left keeps its own role.
    pub fn drop_engines(&mut self, drop: impl Fn(&str) -> bool) {
        let keep: Vec<bool> = self.bench.engines.iter().map(|n| !drop(n)).collect();
        let mut at = keep.iter();
        self.bench.engines.retain(|_| at.next() == Some(&true));
        let mut at = keep.iter();
        self.roles.retain(|_| at.next() == Some(&true));
    }

    /// Requests a slice may run at most: the round's stream shared out over its slices.
    pub fn slice_cap(&self) -> usize {
        (self.bench.requests as usize).div_ceil(self.bench.slices.max(1) as usize)
    }

    /// How long a slice should last (open loop: how long its schedule runs).
    pub fn slice_time(&self) -> std::time::Duration {
        std::time::Duration::from_secs_f64(self.bench.slice_ms / 1000.0)
    }

    /// The order in which slice `slice` of round `r` (both 0-based) runs the
    /// `n` engines of mix number `mix`: a seeded random permutation of `0..n`,
    /// so that no engine always runs first (after a cache-cold pause) or last.
    pub fn slice_order(&self, mix: usize, r: u32, slice: u32, n: usize) -> Vec<usize> {
        let mut rng = SplitMix64(
            self.bench.seed ^ 0x6f72_6465_7200_0000 ^ ((mix as u64) << 32) ^ u64::from(r) ^ (u64::from(slice) << 48),
        );
        let mut order: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            order.swap(i, rng.below(i as u64 + 1) as usize);
        }
        order
    }

    /// Open loop: when each of `n` requests of slice `slice` of round `r` is
    /// due, in ns from the slice's start, at `rps` arrivals per second; the
    /// same for every engine of that slice.
    pub fn arrival_schedule(&self, rps: f64, n: usize, r: u32, slice: u32) -> Vec<u64> {
        let gap_ns = 1e9 / rps;
        match self.bench.arrivals {
            Arrivals::Uniform => (0..n).map(|i| (i as f64 * gap_ns) as u64).collect(),
            Arrivals::Poisson => {
                let mut rng = SplitMix64(self.round_seed(r) ^ 0x706f_6973_736f_6e00 ^ (u64::from(slice) << 40));
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

    /// The benchmark's phases for `gate`: first the pairs of engine and mix
    /// that decide the exit code (each deciding mix with the reference and the
    /// candidates on it), then every other pair (each mix with the reference
    /// and the engines that inform). A phase without pairs is left out.
    pub fn phases(&self, gate: &crate::spec::GateSpec) -> Vec<Phase> {
        let reference = 0usize;
        let mut deciding = Vec::new();
        let mut informing = Vec::new();
        for (mi, (name, _)) in self.mixes.iter().enumerate() {
            let judged = gate.mixes.contains(name);
            let (dec, inf): (Vec<usize>, Vec<usize>) = (1..self.bench.engines.len())
                .partition(|&e| judged && gate.candidates.contains(&self.bench.engines[e]));
            let decides = !dec.is_empty();
            if decides {
                deciding.push((mi, std::iter::once(reference).chain(dec).collect()));
            }
            if !inf.is_empty() || (!decides && self.bench.engines.len() == 1) {
                informing.push((mi, std::iter::once(reference).chain(inf).collect()));
            }
        }
        let mut out = Vec::new();
        if !deciding.is_empty() {
            out.push(Phase {
                kind: PhaseKind::Deciding,
                pairs: deciding,
            });
        }
        if !informing.is_empty() {
            out.push(Phase {
                kind: PhaseKind::Informational,
                pairs: informing,
            });
        }
        out
    }

    /// One phase holding every engine on every mix (for runs that decide
    /// nothing, such as the rounds under appends or a sweep's sizes).
    pub fn single_phase(&self) -> Phase {
        Phase {
            kind: PhaseKind::Informational,
            pairs: (0..self.mixes.len())
                .map(|m| (m, (0..self.bench.engines.len()).collect()))
                .collect(),
        }
    }

    /// How long a round of `phase` takes when every slice lasts `slice_ms`
    /// (a slice of an engine slower than that lasts two of its requests per
    /// worker): what the budget must hold `min_rounds` times.
    pub fn longest_round_seconds(&self, phase: &Phase) -> f64 {
        let slices: usize = phase.pairs.iter().map(|(_, e)| e.len()).sum();
        slices as f64 * f64::from(self.bench.slices) * self.bench.slice_ms / 1000.0
    }

    /// The budget must hold the rounds always run.
    pub fn check_budget(&self, gate: &crate::spec::GateSpec) -> Result<(), HarnessError> {
        let plan = self;
        if let Some(first) = plan.phases(gate).first() {
            let longest = plan.longest_round_seconds(first);
            let need = f64::from(plan.bench.min_rounds) * longest;
            if need > plan.bench.max_seconds {
                return Err(HarnessError::input(format!(
                    "--max-seconds: {} s cannot hold the {} rounds always run (min_rounds): a round of the {} phase runs {} slices of about {} ms for each of its {} engine and mix pairs, up to {:.1} s; expected max_seconds >= {:.1}, or fewer min_rounds, slices or slice_ms",
                    plan.bench.max_seconds,
                    plan.bench.min_rounds,
                    first.kind.label(),
                    plan.bench.slices,
                    plan.bench.slice_ms,
                    first.pairs.iter().map(|(_, e)| e.len()).sum::<usize>(),
                    longest,
                    need
                )));
            }
        }
        Ok(())
    }
}

/// What a phase of the benchmark is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseKind {
    /// The pairs whose checks decide the exit code: they get the budget first.
    Deciding,
    /// Every other pair: what is left of the budget.
    Informational,
}

impl PhaseKind {
    pub fn label(self) -> &'static str {
        match self {
            PhaseKind::Deciding => "deciding",
            PhaseKind::Informational => "informational",
        }
    }
}

/// One phase: per mix (its index in the plan), the engines (indices into the
/// plan's engines, the reference first) that run in its rounds.
#[derive(Debug, Clone, PartialEq)]
pub struct Phase {
    pub kind: PhaseKind,
    pub pairs: Vec<(usize, Vec<usize>)>,
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
        p.bench.arrivals = arrivals;
        p
    }

    /// An engine the sweep cuts takes its role with it: the others keep theirs.
    #[test]
    fn dropped_engines_take_their_roles_with_them() {
        let mut p = plan(Arrivals::Uniform);
        let role_of = |p: &Plan, n: &str| p.roles[p.bench.engines.iter().position(|e| e == n).unwrap()];
        assert_eq!(role_of(&p, "floor"), audit_engines::Role::Yardstick);
        p.drop_engines(|n| n == "baseline" || n == "memindex");
        assert_eq!(p.bench.engines, ["keyset", "prefetch", "floor"]);
        assert_eq!(p.roles.len(), 3);
        assert_eq!(role_of(&p, "floor"), audit_engines::Role::Yardstick);
        assert_eq!(role_of(&p, "keyset"), audit_engines::Role::Candidate);
    }

    /// `[bench] reference` moves the yardstick: that engine goes first as
    /// the reference, the built-in baseline beside it is measured like a
    /// candidate, and a reference that is also a gate candidate is refused.
    #[test]
    fn the_bench_reference_is_the_yardstick_and_the_baseline_a_candidate_beside_it() {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/harness.toml")).unwrap();
        let moved = text.replace(
            "reference = \"baseline\"\n# Engines benchmarked",
            "reference = \"keyset\"\n# Engines benchmarked",
        );
        assert_ne!(moved, text, "the shipped spec names [bench] reference");
        let spec = Spec::parse(&moved, std::path::Path::new("harness.toml")).unwrap();
        let p = Plan::new(&spec, std::path::Path::new("data"), Overrides::default()).unwrap();
        assert_eq!(p.bench.engines[0], "keyset");
        assert_eq!(p.roles[0], audit_engines::Role::Reference);
        let at = |n: &str| p.bench.engines.iter().position(|e| e == n).unwrap();
        assert_eq!(p.roles[at("baseline")], audit_engines::Role::Candidate);
        assert_eq!(p.roles[at("floor")], audit_engines::Role::Yardstick);
        assert_eq!(
            p.roles.iter().filter(|r| **r == audit_engines::Role::Reference).count(),
            1
        );
        crate::registry::validate(&spec).unwrap();
        let candidate = moved.replace("reference = \"keyset\"", "reference = \"memindex\"");
        let spec = Spec::parse(&candidate, std::path::Path::new("harness.toml")).unwrap();
        let e = crate::registry::validate(&spec).unwrap_err().to_string();
        assert!(e.contains("gate.candidates") && e.contains("[bench] reference"), "{e}");
        let unknown = moved.replace("reference = \"keyset\"", "reference = \"prdo\"");
        let spec = Spec::parse(&unknown, std::path::Path::new("harness.toml")).unwrap();
        let e = crate::registry::validate(&spec).unwrap_err().to_string();
        assert!(
            e.contains("bench.reference") && e.contains("\"prdo\" is not an engine"),
            "{e}"
        );
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
        let orders: Vec<Vec<usize>> = (0..20).map(|r| p.slice_order(0, r, 0, 5)).collect();
        for o in &orders {
            let mut s = o.clone();
            s.sort();
            assert_eq!(s, vec![0, 1, 2, 3, 4]);
        }
        // Every engine is first in some round, and the orders repeat for the same seed.
        for e in 0..5 {
            assert!(orders.iter().any(|o| o[0] == e), "engine {e} never first: {orders:?}");
        }
        assert_eq!(orders[3], p.slice_order(0, 3, 0, 5));
        assert_ne!(p.slice_order(0, 3, 0, 5), p.slice_order(1, 3, 0, 5));
    }

    #[test]
    fn poisson_arrivals_have_the_asked_mean_rate() {
        let p = plan(Arrivals::Poisson);
        let s = p.arrival_schedule(1000.0, 20_000, 0, 0);
        let span_s = *s.last().unwrap() as f64 / 1e9;
        assert!((span_s - 20.0).abs() < 0.5, "{span_s}");
        assert!(s.windows(2).all(|w| w[0] <= w[1]));
        // Coefficient of variation of the gaps is 1 for exponential gaps, 0 for uniform ones.
        let gaps: Vec<f64> = s.windows(2).map(|w| (w[1] - w[0]) as f64).collect();
        let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
        let sd = (gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / gaps.len() as f64).sqrt();
        assert!((sd / mean - 1.0).abs() < 0.05, "cv {}", sd / mean);
        let u = plan(Arrivals::Uniform).arrival_schedule(1000.0, 3, 0, 0);
        assert_eq!(u, vec![0, 1_000_000, 2_000_000]);
    }
}
