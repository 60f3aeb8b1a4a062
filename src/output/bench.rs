//! What the terminal shows of a benchmark: its plan, one line per mix and
//! round as rounds finish, then per engine throughput and the four quantiles
//! with their intervals and the ratios to the baseline.

use super::sig;
use crate::analysis::{Summary, Timing};
use crate::bench::overhead::Overhead;
use crate::bench::{Phase, PhaseKind, PhaseOutcome, Plan, Progress, Stop};
use crate::spec::LoadMode;
use crate::stats::Estimate;

/// Per engine: throughput with its ratio; the quantiles (ms); for a
/// candidate, its p95 and p99 ratios to the baseline. Each line fits 120 columns.
pub fn print_summaries(rows: &[Summary]) {
    let mut last: Option<(&str, Timing)> = None;
    for s in rows {
        if last != Some((s.mix.as_str(), s.timing)) {
            say!(
                "  -- mix {}: {}, {} workers, {} rounds; ms; [95 % interval]; ×: ratio to the baseline",
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
        for line in summary_lines(s) {
            say!("{line}");
        }
    }
}

/// One summary row's lines: throughput with its ratio and the index size; the
/// quantiles (p90 is in summary.csv, summary.json and report.html: four
/// quantiles with intervals would not fit 120 columns); then, for a
/// candidate, its ratios to the baseline; p95 against the floor's, errors
/// and lateness last.
fn summary_lines(s: &Summary) -> Vec<String> {
    let candidate = s.role != audit_engines::Role::Reference;
    let mut first = format!("  {:<10} n={:<6} rps {}", s.engine, s.requests, interval(s.rps));
    if candidate && s.rps_ratio.is_some() {
        first.push_str(&format!(" ×{}", interval(s.rps_ratio)));
    }
    if let Some(b) = s.index_bytes.filter(|b| *b > 0) {
        first.push_str(&format!("  index {:.1} MB", b as f64 / 1e6));
    }
    let mut lines = vec![
        first,
        format!(
            "  {:<10} p50 {}  p95 {}  p99 {}",
            "",
            interval(s.p50),
            interval(s.p95),
            interval(s.p99)
        ),
    ];
    let mut third = String::new();
    if candidate && (s.p95_ratio.is_some() || s.p99_ratio.is_some()) {
        third.push_str(&format!(
            "ratio to the baseline: p95 ×{}  p99 ×{}",
            interval(s.p95_ratio),
            interval(s.p99_ratio)
        ));
    }
    if !third.is_empty() {
        lines.push(format!("  {:<10} {third}", ""));
    }
    let mut last = Vec::new();
    if let Some(f) = s.floor_p95_ratio {
        last.push(format!("p95/floor {}", sig(f)));
    }
    if s.errors > 0 {
        last.push(format!("ERRORS {}", s.errors));
    }
    if s.timing == Timing::Open {
        last.push(format!(
            "late {}{}",
            s.late,
            if s.saturated { " SATURATED" } else { "" }
        ));
    }
    if !last.is_empty() {
        lines.push(format!("  {:<10} {}", "", last.join("  ")));
    }
    lines
}

/// An estimate with its interval in three significant figures (`-` without data).
fn interval(e: Option<Estimate>) -> String {
    match e {
        Some(Estimate {
            value,
            ci: Some((lo, hi)),
            ..
        }) => format!("{} [{}, {}]", sig(value), sig(lo), sig(hi)),
        Some(Estimate { value, ci: None, .. }) => format!("{} [no interval]", sig(value)),
        None => "-".into(),
    }
}

/// With `--verbose`: how each figure's spread splits between rounds (drift)
/// and within them (sampling), the figures every interval's width comes from.
pub fn print_variance(v: &[crate::analysis::Variance]) {
    if v.is_empty() {
        return;
    }
    say_verbose!(
        "  -- variance of the log figures: total = between rounds + within a round; paired sd vs the baseline"
    );
    for c in v {
        say_verbose!(
            "  {:<10} {:<8} {:<4} rounds {:>3}  total {:.2e}  between {:.2e}  within {:.2e}  paired sd {}",
            c.engine,
            c.mix,
            c.figure,
            c.rounds,
            c.total,
            c.between,
            c.within,
            c.paired_sd.map_or("-".to_string(), |x| format!("{x:.3}"))
        );
    }
}

/// Each engine served by processes of its own: their peak resident memory.
pub fn print_peak_rss(peak: &std::collections::BTreeMap<String, u64>) {
    for (engine, bytes) in peak {
        say!(
            "  {engine:<10} peak memory {:.1} MiB (resident, its processes summed)",
            *bytes as f64 / (1024.0 * 1024.0)
        );
    }
}

/// The benchmark's plan in three lines.
pub fn print_header(plan: &Plan) {
    let open = if plan.bench.mode == LoadMode::Open {
        format!(", {} arrivals", plan.bench.arrivals.label())
    } else {
        String::new()
    };
    let mixes: Vec<&str> = plan.mixes.iter().map(|m| m.0.as_str()).collect();
    say!(
        "{}",
        super::wrap_items(&format!("== bench on {}:", mixes.join(", ")), &plan.bench.engines, 4)
    );
    let size = match plan.bench.mode {
        LoadMode::Closed => format!(
            "{} ms at its pace, {}..{} requests",
            sig(plan.bench.slice_ms),
            (2 * plan.bench.concurrency.max(1) as usize).min(plan.slice_cap()),
            plan.slice_cap()
        ),
        LoadMode::Open => format!(
            "{} ms of the schedule, at most {} requests",
            sig(plan.bench.slice_ms),
            plan.slice_cap()
        ),
    };
    let senders = match plan.driver.kind {
        crate::spec::DriverKind::Builtin => format!("{} workers", plan.bench.concurrency),
        crate::spec::DriverKind::Locust => format!(
            "{} Locust users on {} Locust workers",
            plan.bench.concurrency, plan.driver.workers
        ),
    };
    say!(
        "   {} loop{open}, {senders}; a round interleaves the engines in {} slices each ({size});",
        plan.bench.mode.label(),
        plan.bench.slices,
    );
    say!(
        "   {}..{} rounds within {} s; stop when each deciding check is decided within ±{:.0} % (p95), ±{:.0} % (p99), ±{:.0} % (rps)",
        plan.bench.min_rounds,
        plan.bench.max_rounds,
        plan.bench.max_seconds,
        plan.bench.precision.p95 * 100.0,
        plan.bench.precision.p99 * 100.0,
        plan.bench.precision.throughput * 100.0,
    );
    say!(
        "   engines in a seeded random order each slice, {} warm-up, {} cache, seed {}",
        plan.bench.warmup,
        plan.bench.cache.label(),
        plan.bench.seed
    );
}

/// The harness's own cost per request.
pub fn print_overhead(oh: &Overhead) {
    say!(
        "  harness overhead: {:.0} ns per request (target < 1000 ns), {:.0} ns of it recorded; {} requests, do-nothing engine",
        oh.per_request_ns, oh.recorded_latency_ns, oh.requests
    );
}

/// Why and when each phase ended, and a phase that did not run (said only
/// when the run was not cancelled before it).
pub fn print_phases(ran: &[PhaseOutcome], planned: &[Phase], cancelled: bool) {
    for p in ran {
        let o = &p.outcome;
        say!(
            "  {} phase: {} rounds, {:.1} s of {:.1} s, {} planned; stopped: {}",
            p.kind.label(),
            o.rounds,
            o.seconds,
            p.budget_seconds,
            o.planned,
            match (o.stop, p.kind) {
                (Stop::Decided, _) => "all deciding checks decided and precise",
                (Stop::Budget, PhaseKind::Deciding) => "its budget is spent (see the lines below)",
                (Stop::Budget, PhaseKind::Informational) => "the budget is spent",
                (Stop::Planned, _) => "the planned rounds are done",
                (Stop::Interrupted, _) => "interrupted (the finished rounds are analysed)",
                (Stop::NoReference, _) =>
                    "the reference answered no request of the last round (the finished rounds are kept)",
                (Stop::DriverLost, _) =>
                    "the driver lost a round's records (that round is discarded, the finished rounds are kept)",
            },
        );
    }
    for p in planned.iter().skip(ran.len()) {
        if !cancelled {
            say_always!(
                "  {} phase not run: the deciding phase left too little of the budget; its engines and mixes have no figures",
                p.kind.label()
            );
        }
    }
}

/// The deciding figures whose interval is wider than the precision asked.
/// `looked`: the deciding phase's rounds and seconds and the run's
/// `max_rounds`, to say roughly how many rounds the precision asked needs.
pub fn print_imprecise(rows: &[crate::verdict::Imprecise], looked: Option<(u32, f64, u32)>) {
    for r in rows {
        let hw = if r.half_width.is_finite() {
            format!("±{:.0} %", r.half_width * 100.0)
        } else {
            "no interval".to_string()
        };
        let more = r.rounds_to_precise().map_or_else(
            || "more rounds give it one".to_string(),
            |k| format!("{} would narrow it to that", super::verdict::more_rounds(k, looked)),
        );
        say_always!(
            "  IMPRECISE {} {} {}: {hw}, asked ±{:.0} % ([bench.precision]; {more})",
            r.engine,
            r.mix,
            r.figure,
            r.asked * 100.0
        );
    }
}

/// Reports benchmark progress: lines per mix for a finished round (the rate
/// each engine served) printed above a bar of the round's trials; with many
/// rounds, only every few rounds (`--verbose`: every round, and a line per trial).
pub struct BenchProgress {
    lines: Vec<(String, Vec<String>)>,
    bar: super::progress::Task,
    mode: LoadMode,
    concurrency: u32,
    phase: &'static str,
}

impl BenchProgress {
    /// The bar counts the trials of a round: every engine on every mix.
    pub fn new(plan: &Plan) -> BenchProgress {
        let trials = (plan.bench.engines.len() * plan.mixes.len()) as u64;
        BenchProgress {
            lines: Vec::new(),
            bar: super::progress::start("bench round 1", Some(trials), "trials"),
            mode: plan.bench.mode,
            concurrency: plan.bench.concurrency,
            phase: "",
        }
    }

    pub fn update(&mut self, p: Progress) {
        match p {
            Progress::Phase { kind, budget_seconds } => {
                self.phase = kind.label();
                say!("  -- {} phase: up to {budget_seconds:.1} s", kind.label());
            }
            Progress::Note(line) => say!("  {line}"),
            Progress::Rate { mix, rps, pacing } => {
                say!("  mix {mix}: open-loop arrival rate {rps:.0} rps");
                say!(
                    "    harness pacing (do-nothing engine): late p50 {:.1} us, p99 {:.1} us, max {:.1} us; {} of {} over 1 ms late",
                    pacing.p50_us,
                    pacing.p99_us,
                    pacing.max_us,
                    pacing.late,
                    pacing.requests
                );
            }
            Progress::Trial { mix, engine, trial } => {
                self.bar.inc();
                let rps = crate::analysis::trial_rps(trial, self.mode, self.concurrency);
                let errors = trial.requests.iter().filter(|r| r.rows.is_none()).count() as u64 + trial.warmup_errors;
                let item = if trial.gave_up {
                    format!("{engine} GAVE UP (hung or died; skipped from now on)")
                } else if errors > 0 {
                    format!("{engine} {rps:.0} ({errors} ERRORS)")
                } else {
                    format!("{engine} {rps:.0}")
                };
                print_trial(mix, engine, trial, rps, errors);
                match self.lines.iter_mut().find(|(m, _)| m == mix) {
                    Some((_, items)) => items.push(item),
                    None => self.lines.push((mix.to_string(), vec![item])),
                }
            }
            Progress::Round { done, planned, seconds } => {
                // About ten round lines a phase, every one with --verbose.
                let step = planned.div_ceil(10).max(1);
                let show = done <= 2 || done % step == 0 || super::verbosity() >= super::Verbosity::Verbose;
                for (i, (mix, mut items)) in self.lines.drain(..).enumerate() {
                    if !show {
                        continue;
                    }
                    let head = if i == 0 {
                        format!("round {done}/{planned} {seconds:>5.1} s")
                    } else {
                        String::new()
                    };
                    if let Some(last) = items.last_mut() {
                        last.push_str(" rps");
                    }
                    say!("{}", super::wrap_items(&format!("  {head:<19} {mix}:"), &items, 24));
                }
                if done < planned {
                    self.bar
                        .restart(&format!("bench {} round {}/{planned}", self.phase, done + 1));
                }
            }
        }
    }
}

/// With `--verbose`: one trial's figures as it ends.
fn print_trial(mix: &str, engine: &str, trial: &crate::bench::Trial, rps: f64, errors: u64) {
    if super::verbosity() < super::Verbosity::Verbose {
        return;
    }
    let mut ms: Vec<f64> = trial
        .requests
        .iter()
        .filter(|r| r.rows.is_some())
        .map(|r| r.response_ns() as f64 / 1e6)
        .collect();
    ms.sort_by(f64::total_cmp);
    let q = |p| crate::stats::quantile::quantile(&ms, p).map_or("-".to_string(), sig);
    say_verbose!(
        "    trial {engine} on {mix}, round {}: {} answered, {rps:.0} rps, p50 {} ms, p95 {} ms, p99 {} ms, {errors} errors",
        trial.index,
        ms.len(),
        q(0.50),
        q(0.95),
        q(0.99)
    );
}

/// The first error of each engine, mix and round that had one.
pub fn print_engine_errors(errors: &[crate::report::run_json::EngineErrors]) {
    for e in errors {
        say_always!("  ERROR {} {} round {}: {}", e.engine, e.mix, e.trial, e.first_error);
    }
}

/// The second pass of the benchmark: the same rounds while a writer appends.
pub fn print_appends_header(plan: &Plan, rounds: u32) {
    say!(
        "== bench under appends: the same {rounds} round(s) again on a scratch copy while a writer appends {} rows/s",
        plan.bench.append_rate
    );
    say!("   (as the service appends: the payload line, then the row)");
}

/// The rounds under appends could not run: why, and that the quiet run's verdict follows.
pub fn print_appends_failed(e: &crate::error::HarnessError) {
    say_always!("   appends not measured: {e}");
    say_always!("   (the quiet run's figures and verdict follow; the run ends with this error unless a check fails)");
}

/// Per engine and mix: p50/p95/p99 and throughput quiet → appending, with the
/// ratio appending / quiet, then the writer's achieved rate.
pub fn print_appends(info: &crate::appends::AppendsInfo) {
    let ms = |v: Option<f64>| v.map(|x| format!("{x:.3}")).unwrap_or_else(|| "-".into());
    let ratio = |v: Option<f64>| v.map(|x| format!("×{x:.2}")).unwrap_or_else(|| "×-".into());
    let mut last: Option<(&str, Timing)> = None;
    for f in &info.figures {
        if last != Some((f.mix.as_str(), f.timing)) {
            say!(
                "  -- mix {}, {} ({} rounds); quiet → appending, ×: appending / quiet; latencies in ms",
                f.mix,
                f.timing.label(),
                f.rounds
            );
            last = Some((f.mix.as_str(), f.timing));
        }
        let errors = if f.errors > 0 {
            format!("  ERRORS {}", f.errors)
        } else {
            String::new()
        };
        say!(
            "  {:<10} rps {:.0} → {:.0} {}{errors}",
            f.engine,
            f.quiet.rps.unwrap_or(0.0),
            f.appending.rps.unwrap_or(0.0),
            ratio(f.rps_ratio),
        );
        say!(
            "  {:<10} p50 {} → {} {}  p95 {} → {} {}  p99 {} → {} {}",
            "",
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
    say!(
        "  writer: {} rows in {:.1} s, {:.1} rows/s achieved of {} asked (seed {})",
        w.rows,
        w.seconds,
        w.achieved_rate,
        w.target_rate,
        w.seed
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn est(value: f64, lo: f64, hi: f64) -> Option<Estimate> {
        Some(Estimate {
            value,
            ci: Some((lo, hi)),
            spread: None,
        })
    }

    /// The widest figures a run can print still fit 120 columns.
    #[test]
    fn summary_lines_fit_120_columns_at_extreme_figures() {
        for (tiny, huge) in [(0.00123, 1234567.0), (0.000012, 98765432.0)] {
            let s = Summary {
                engine: "engine-name".into(),
                role: audit_engines::Role::Candidate,
                mix: "default".into(),
                timing: Timing::Open,
                concurrency: 1024,
                rounds: 40,
                requests: 1_000_000,
                errors: 123_456,
                late: 654_321,
                saturated: true,
                rps: est(huge, tiny, huge * 10.0),
                mean_ms: est(tiny, tiny, huge),
                p50: est(tiny, tiny / 2.0, huge),
                p90: est(tiny, tiny, huge),
                p95: est(huge, tiny, huge * 10.0),
                p99: est(huge, tiny, huge * 10.0),
                rps_ratio: est(huge, tiny, huge),
                p95_ratio: est(tiny, tiny / 10.0, huge),
                p99_ratio: est(tiny, tiny / 10.0, huge),
                floor_p95_ratio: Some(huge),
                index_bytes: Some(123_456_789_012),
                looks: crate::stats::sequential::Looks::fixed(40),
            };
            for line in summary_lines(&s) {
                assert!(line.chars().count() <= 120, "{} columns: {line}", line.chars().count());
            }
        }
    }
}
