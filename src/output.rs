//! What the terminal shows of a benchmark: its plan, one line per mix and
//! round as rounds finish, then per engine throughput and the four quantiles
//! with their intervals and the ratios to the baseline; then one line per verdict.

use crate::analysis::{Summary, Timing};
use crate::bench::overhead::Overhead;
use crate::bench::{Outcome, Plan, Progress, Stop};
use crate::spec::{GateSpec, LoadMode};
use crate::stats::sequential::Looks;
use crate::stats::{Estimate, ALPHA_SIDE};
use crate::verdict::{self, Judgement};

fn est(e: Option<Estimate>, digits: usize) -> String {
    match e {
        Some(Estimate {
            value,
            ci: Some((lo, hi)),
            ..
        }) => format!("{value:.digits$} [{lo:.digits$}, {hi:.digits$}]"),
        Some(Estimate { value, ci: None, .. }) => format!("{value:.digits$} [no interval]"),
        None => "-".into(),
    }
}

/// Two lines per summary row: throughput with its ratio, then the quantiles (ms) with p95/p99 ratios.
pub fn print_summaries(rows: &[Summary]) {
    let mut last: Option<(&str, Timing)> = None;
    for s in rows {
        if last != Some((s.mix.as_str(), s.timing)) {
            println!(
                "  -- mix {}, {} ({} workers, {} rounds); latencies in ms, [95 % intervals from the round-to-round spread], ×: ratio to the baseline",
                s.mix,
                match s.timing {
                    Timing::Closed => "closed loop, service time",
                    Timing::Open => "open loop, from intended start",
                    Timing::OpenService => "open loop, service time",
                },
                s.concurrency,
                s.rounds
            );
            last = Some((s.mix.as_str(), s.timing));
        }
        let ratio = |r: Option<Estimate>, d| {
            if s.role == audit_engines::Role::Reference {
                String::new()
            } else {
                format!(" ×{}", est(r, d))
            }
        };
        let mut extra = String::new();
        if let Some(b) = s.index_bytes.filter(|b| *b > 0) {
            extra.push_str(&format!("  index {:.1} MB", b as f64 / 1e6));
        }
        if let Some(f) = s.floor_p95_ratio {
            extra.push_str(&format!("  p95/floor {f:.2}"));
        }
        if s.errors > 0 {
            extra.push_str(&format!("  ERRORS {}", s.errors));
        }
        if s.timing == Timing::Open {
            extra.push_str(&format!(
                "  late {}{}",
                s.late,
                if s.saturated { " SATURATED" } else { "" }
            ));
        }
        println!(
            "  {:<10} n={:<6} rps {}{}{extra}",
            s.engine,
            s.requests,
            est(s.rps, 0),
            ratio(s.rps_ratio, 1)
        );
        println!(
            "  {:<10} p50 {}  p90 {}  p95 {}{}  p99 {}{}",
            "",
            est(s.p50, 3),
            est(s.p90, 3),
            est(s.p95, 3),
            ratio(s.p95_ratio, 4),
            est(s.p99, 3),
            ratio(s.p99_ratio, 4)
        );
    }
}

/// One line per judgement, candidates first.
pub fn print_judgements(judgements: &[Judgement]) {
    let mut sorted: Vec<&Judgement> = judgements.iter().collect();
    sorted.sort_by_key(|j| j.informational);
    for j in sorted {
        println!("  {}", verdict::describe(j));
    }
}

/// The benchmark's plan in one line.
pub fn print_bench_header(plan: &Plan) {
    let open = if plan.mode == LoadMode::Open {
        format!(", {} arrivals", plan.arrivals.label())
    } else {
        String::new()
    };
    println!(
        "== bench: {} on {}; {} loop{open}, {} workers, {} requests per engine per round, {}..{} rounds within {} s (engines in a seeded random order each round), {} warm-up, {} cache, seed {}",
        plan.engines.join(", "),
        plan.mixes.iter().map(|m| m.0.as_str()).collect::<Vec<_>>().join(", "),
        plan.mode.label(),
        plan.concurrency,
        plan.requests,
        plan.min_rounds,
        plan.max_rounds,
        plan.max_seconds,
        plan.warmup,
        plan.cache.label(),
        plan.seed
    );
}

/// The harness's own cost per request.
pub fn print_overhead(oh: &Overhead) {
    println!(
        "  harness overhead: {:.0} ns per request (closed loop around a do-nothing engine, {} requests; target < 1000 ns); {:.0} ns recorded as its latency",
        oh.per_request_ns, oh.requests, oh.recorded_latency_ns
    );
}

/// Why and when the rounds ended.
pub fn print_bench_end(o: &Outcome) {
    println!(
        "  stopped after {} round(s) in {:.1} s: {} ({} planned after round 1)",
        o.rounds,
        o.seconds,
        match o.stop {
            Stop::Decided => "every deciding threshold decided".to_string(),
            Stop::Budget => "the time budget ([bench] max_seconds) is spent".to_string(),
            Stop::Planned => "the planned rounds are done".to_string(),
            Stop::Interrupted => "interrupted; the finished rounds are analysed".to_string(),
        },
        o.planned
    );
}

/// The verdict's method in one line.
pub fn print_verdict_header(spec: &GateSpec, judgements: &[Judgement], looks: &Looks) {
    let m = judgements
        .iter()
        .filter(|j| !j.informational && j.check.is_statistical())
        .count();
    let fail = judgements
        .iter()
        .find(|j| !j.informational && j.check.is_statistical())
        .map_or(ALPHA_SIDE, |j| j.fail_alpha);
    println!(
        "== verdict: candidates {} on {}; {m} deciding check(s); a check passes when its interval is wholly on the right side: pass side {:.1} %, fail side {:.2} % ({:.0} % familywise), adjusted for looks at rounds {}..{} of {} planned",
        spec.candidates.join(", "),
        spec.mixes.join(", "),
        100.0 * (1.0 - ALPHA_SIDE),
        100.0 * (1.0 - fail),
        100.0 * verdict::FAMILY_ALPHA,
        looks.first,
        looks.last,
        looks.planned
    );
}

/// Reports benchmark progress: one line per mix per finished round (the rate
/// each engine served), so a log keeps every round.
pub struct BenchProgress {
    lines: Vec<(String, String)>,
}

impl BenchProgress {
    pub fn new() -> BenchProgress {
        BenchProgress { lines: Vec::new() }
    }

    pub fn update(&mut self, p: Progress) {
        match p {
            Progress::Rate { mix, rps, pacing } => println!(
                "  mix {mix}: open-loop arrival rate {rps:.0} rps; harness pacing with a do-nothing engine: late p50 {:.1} us, p99 {:.1} us, max {:.1} us, {} of {} requests over 1 ms late",
                pacing.p50_us, pacing.p99_us, pacing.max_us, pacing.late, pacing.requests
            ),
            Progress::Trial { mix, engine, trial } => {
                let rps = crate::bench::served_per_second(&trial.requests);
                let errors = trial.requests.iter().filter(|r| r.rows.is_none()).count() as u64 + trial.warmup_errors;
                let item = if trial.gave_up {
                    format!("{engine} GAVE UP (hung or died; skipped from now on)")
                } else if errors > 0 {
                    format!("{engine} {rps:.0} ({errors} ERRORS)")
                } else {
                    format!("{engine} {rps:.0}")
                };
                match self.lines.iter_mut().find(|(m, _)| m == mix) {
                    Some((_, line)) => {
                        line.push_str(", ");
                        line.push_str(&item);
                    }
                    None => self.lines.push((mix.to_string(), item)),
                }
            }
            Progress::Round {
                done,
                planned,
                seconds,
            } => {
                for (i, (mix, line)) in self.lines.drain(..).enumerate() {
                    let head = if i == 0 {
                        format!("round {done}/{planned} {seconds:>5.1} s")
                    } else {
                        String::new()
                    };
                    println!("  {head:<17} {mix}: {line} rps");
                }
            }
        }
    }
}

impl Default for BenchProgress {
    fn default() -> Self {
        Self::new()
    }
}

/// What a calibration simulates, in a few lines.
pub fn print_calibration_header(cfg: &crate::calibrate::Config) {
    println!(
        "== calibrate: {} replicates per scenario and truth, seed {}; {} candidate(s) vs a baseline, lognormal latency (median {} ms, sd of log {}), {} requests per engine per round, {} workers, {}..{} rounds within {} s (simulated clock)",
        cfg.replicates,
        cfg.seed,
        cfg.candidates,
        cfg.median_ms,
        cfg.sigma,
        cfg.requests,
        cfg.concurrency,
        cfg.budget.min_rounds,
        cfg.budget.max_rounds,
        cfg.budget.max_seconds
    );
    println!(
        "  truths: at-threshold = p95/p99 ratio {:.3}, throughput ratio {:.3}; better = latency ratio {:.3}; worse = latency ratio {:.3}, throughput ratio {:.3}",
        cfg.thresholds.latency,
        cfg.thresholds.rps,
        0.9 * cfg.thresholds.latency,
        cfg.thresholds.latency / 0.9,
        0.9 * cfg.thresholds.rps
    );
    println!("  coverage: reported 95 % intervals containing the truth; fail/pass: per candidate and check; gate: the exit decision");
    println!(
        "  {:<12} {:<12} {:>5}  {:>18}  {:>18}  {:>18}  {:>17}  {:>6}",
        "scenario",
        "truth",
        "reps",
        "cover p95/p99/rps",
        "fail p95/p99/rps",
        "pass p95/p99/rps",
        "gate fail/pass",
        "rounds"
    );
}

fn pct3(x: [f64; 3]) -> String {
    format!("{:>5.1} {:>5.1} {:>5.1}", 100.0 * x[0], 100.0 * x[1], 100.0 * x[2])
}

/// One row of the calibration table (percentages).
pub fn print_calibration_row(r: &crate::calibrate::Row) {
    println!(
        "  {:<12} {:<12} {:>5}  {:>18}  {:>18}  {:>18}  {:>8.1} {:>8.1}  {:>6.1}",
        r.scenario,
        r.truth.name(),
        r.replicates,
        pct3(r.coverage),
        pct3(r.check_fail),
        pct3(r.check_pass),
        100.0 * r.gate_fail,
        100.0 * r.gate_pass,
        r.mean_rounds
    );
}

/// The interval methods compared at fixed numbers of rounds.
pub fn print_method_comparison(rows: &[crate::calibrate::compare::MethodRow]) {
    println!(
        "== interval methods at a fixed number of rounds (at-threshold truth, no looks): coverage of 95 % intervals"
    );
    println!(
        "  {:<12} {:>6}  {:<30} {:>18}",
        "scenario", "rounds", "method", "cover p95/p99/rps"
    );
    for r in rows {
        println!(
            "  {:<12} {:>6}  {:<30} {:>18}",
            r.scenario,
            r.rounds,
            r.method,
            pct3(r.coverage)
        );
    }
}
