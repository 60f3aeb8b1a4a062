//! What the terminal shows of a benchmark: its plan, one line per mix and
//! round as rounds finish, then per engine throughput and the four quantiles
//! with their intervals and the ratios to the baseline.

use super::est;
use crate::analysis::{Summary, Timing};
use crate::bench::overhead::Overhead;
use crate::bench::{Outcome, Plan, Progress, Stop};
use crate::spec::LoadMode;
use crate::stats::Estimate;

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

/// The benchmark's plan in one line.
pub fn print_header(plan: &Plan) {
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
pub fn print_end(o: &Outcome) {
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

/// The first error of each engine, mix and round that had one.
pub fn print_engine_errors(errors: &[crate::report::run_json::EngineErrors]) {
    for e in errors {
        println!("  ERROR {} {} round {}: {}", e.engine, e.mix, e.trial, e.first_error);
    }
}

/// The second pass of the benchmark: the same rounds while a writer appends.
pub fn print_appends_header(plan: &Plan, rounds: u32) {
    println!(
        "== bench under appends: the same {rounds} round(s) again on a scratch copy while a writer appends {} rows/s (as the service appends: payload line, then the row)",
        plan.append_rate
    );
}

/// Per engine and mix: p50/p95/p99 and throughput quiet → appending, with the
/// ratio appending / quiet, then the writer's achieved rate.
pub fn print_appends(info: &crate::bench::appends::AppendsInfo) {
    let ms = |v: Option<f64>| v.map(|x| format!("{x:.3}")).unwrap_or_else(|| "-".into());
    let ratio = |v: Option<f64>| v.map(|x| format!("×{x:.2}")).unwrap_or_else(|| "×-".into());
    let mut last: Option<(&str, &str)> = None;
    for f in &info.figures {
        if last != Some((f.mix.as_str(), f.timing.as_str())) {
            println!(
                "  -- mix {}, {} ({} rounds); quiet → appending, ×: appending / quiet; latencies in ms",
                f.mix, f.timing, f.rounds
            );
            last = Some((f.mix.as_str(), f.timing.as_str()));
        }
        let errors = if f.errors > 0 {
            format!("  ERRORS {}", f.errors)
        } else {
            String::new()
        };
        println!(
            "  {:<10} rps {:.0} → {:.0} {}  p50 {} → {} {}  p95 {} → {} {}  p99 {} → {} {}{errors}",
            f.engine,
            f.quiet.rps.unwrap_or(0.0),
            f.appending.rps.unwrap_or(0.0),
            ratio(f.rps_ratio),
            ms(f.quiet.p50_ms),
            ms(f.appending.p50_ms),
            ratio(f.p50_ratio),
            ms(f.quiet.p95_ms),
            ms(f.appending.p95_ms),
            ratio(f.p95_ratio),
            ms(f.quiet.p99_ms),
            ms(f.appending.p99_ms),
            ratio(f.p99_ratio),
        );
    }
    let w = &info.writer;
    println!(
        "  writer: {} rows in {:.1} s, {:.1} rows/s achieved of {} asked (seed {})",
        w.rows, w.seconds, w.achieved_rate, w.target_rate, w.seed
    );
}
