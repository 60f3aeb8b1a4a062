//! What the terminal shows of a benchmark: per engine, throughput and the four
//! quantiles with their intervals and the ratios to the baseline; then one line
//! per verdict. Progress bars go to stderr only when it is a terminal.

use std::io::IsTerminal;

use crate::analysis::{Summary, Timing};
use crate::bench::Progress;
use crate::stats::Estimate;
use crate::verdict::{self, Judgement};

fn est(e: Option<Estimate>, digits: usize) -> String {
    match e {
        Some(Estimate {
            value,
            ci: Some((lo, hi)),
        }) => format!("{value:.digits$} [{lo:.digits$}, {hi:.digits$}]"),
        Some(Estimate { value, ci: None }) => format!("{value:.digits$} [n too small]"),
        None => "-".into(),
    }
}

/// Two lines per summary row: throughput with its ratio, then the quantiles (ms) with p95/p99 ratios.
pub fn print_summaries(rows: &[Summary]) {
    let mut last: Option<(&str, Timing)> = None;
    for s in rows {
        if last != Some((s.mix.as_str(), s.timing)) {
            println!(
                "  -- mix {}, {} ({} workers, {} trials); latencies in ms, [95 % intervals], ×: ratio to the baseline",
                s.mix,
                match s.timing {
                    Timing::Closed => "closed loop, service time",
                    Timing::Open => "open loop, from intended start",
                    Timing::OpenService => "open loop, service time",
                },
                s.concurrency,
                s.trials
            );
            last = Some((s.mix.as_str(), s.timing));
        }
        let ratio = |r: Option<Estimate>, d| {
            if s.engine == "baseline" {
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

/// Reports benchmark progress: a bar on a terminal, one plain line per mix and trial otherwise.
pub struct BenchProgress {
    bar: Option<indicatif::ProgressBar>,
    line: String,
}

impl BenchProgress {
    pub fn new() -> BenchProgress {
        BenchProgress {
            bar: None,
            line: String::new(),
        }
    }

    pub fn update(&mut self, p: Progress, engines: usize) {
        match p {
            Progress::Rate { mix, rps } => println!("  mix {mix}: open-loop arrival rate {rps:.0} rps"),
            Progress::Trial {
                mix,
                engine,
                trial,
                done,
                total,
            } => {
                let rps = crate::analysis::trial_rps(&trial.requests).unwrap_or(0.0);
                if std::io::stderr().is_terminal() {
                    let bar = self.bar.get_or_insert_with(|| {
                        let b = indicatif::ProgressBar::new(total as u64);
                        if let Ok(style) =
                            indicatif::ProgressStyle::with_template("  bench [{bar:30}] {pos}/{len} trials {msg}")
                        {
                            b.set_style(style.progress_chars("=> "));
                        }
                        b
                    });
                    bar.set_position(done as u64);
                    bar.set_message(format!("{mix} trial {} {engine}", trial.index));
                    if done == total {
                        bar.finish_and_clear();
                    }
                } else {
                    if self.line.is_empty() {
                        self.line = format!("  {mix} trial {}:", trial.index);
                    }
                    self.line.push_str(&format!(" {engine} {rps:.0} rps;"));
                    if done % engines == 0 {
                        println!("{}", self.line.trim_end_matches(';'));
                        self.line.clear();
                    }
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
