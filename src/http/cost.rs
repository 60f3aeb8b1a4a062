//! `audit-harness http-cost`: the harness's own HTTP driver measured against
//! wrk, the load generator people trust, on the same do-nothing server.
//!
//! The server is `serve`'s, on one runtime thread pinned to the first CPU,
//! answering every query with an empty page (a do-nothing engine), so what is
//! measured is HTTP and the two clients, not an engine. The load runs pinned
//! to the second CPU: the harness's side is `HttpEngine` (the client the
//! benchmark uses, ureq with a keep-alive pool) on `connections` threads in a
//! closed loop, each answer decoded as a page; wrk's side is `wrk -t1
//! -c<connections>`. Each round runs both for `seconds`, in alternating order
//! (harness first in even rounds), so drift meets both alike. The throughput
//! ratio harness / wrk gets a 95 % t interval from the rounds' log ratios,
//! and the latency the harness adds per request (its mean minus wrk's) one
//! from the rounds' differences. Assumption: rounds are independent and the
//! per-round log ratios roughly normal; with few rounds the interval is wide,
//! not wrong.

use std::process::Command;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use audit_engines::{Engine, EngineError, Page, Query};

use crate::cancel::Cancel;

use super::affinity::{allowed_cpus, pin_to, set_affinity};
use super::serve::{ServeOptions, Server};
use super::HttpEngine;

/// What to measure.
#[derive(Debug, Clone, Copy)]
pub struct CostOptions {
    /// Connections (wrk `-c`) and harness threads, one connection each.
    pub connections: usize,
    /// Seconds each side runs per round (wrk takes whole seconds).
    pub seconds: u64,
    pub rounds: usize,
}

/// One side's figures, one entry per round.
#[derive(Debug, Clone, Default)]
pub struct Side {
    pub rps: Vec<f64>,
    pub mean_us: Vec<f64>,
    pub p50_us: Vec<f64>,
    pub p99_us: Vec<f64>,
}

/// A 95 % interval around an estimate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub estimate: f64,
    pub low: f64,
    pub high: f64,
}

/// Both sides and their comparison.
#[derive(Debug, Clone)]
pub struct HttpCost {
    pub options: CostOptions,
    pub wrk_version: String,
    pub harness: Side,
    pub wrk: Side,
    /// Harness requests per second over wrk's.
    pub rps_ratio: Interval,
    /// The harness's mean latency minus wrk's, microseconds.
    pub added_us: Interval,
    /// Other load generators measured in the same rounds (the Locust driver per worker count).
    pub others: Vec<OtherCost>,
}

/// Another load generator's figures beside wrk's.
#[derive(Debug, Clone)]
pub struct OtherCost {
    pub label: String,
    pub side: Side,
    /// Its requests per second over wrk's, and the latency it adds (us).
    pub rps_ratio: Interval,
    pub added_us: Interval,
}

/// A load generator measured against wrk in the same rounds: it loads `url`
/// (a do-nothing server's query URL) in a closed loop on `connections`
/// connections for about `seconds`, its processes on `cpu`, and returns
/// (rps, mean, p50, p99 in microseconds).
pub trait Load {
    fn label(&self) -> String;
    fn round(
        &mut self,
        url: &str,
        connections: usize,
        seconds: f64,
        cpu: usize,
    ) -> Result<(f64, f64, f64, f64), String>;
}

/// Answers every query with an empty page, at once.
struct Nothing;

impl Engine for Nothing {
    fn name(&self) -> &str {
        "nothing"
    }

    fn query(&self, _q: &Query) -> Result<Page, EngineError> {
        Ok(Page::new(Vec::new()))
    }
}

/// wrk's version line, or why it cannot be run.
fn wrk_version() -> Result<String, String> {
    let out = Command::new("wrk").arg("--version").output().map_err(|e| {
        format!("wrk cannot be run ({e}): install it (Debian: apt-get install wrk; .ci/install-tools does)")
    })?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    Ok(text
        .lines()
        .next()
        .unwrap_or("wrk")
        .split(" [")
        .next()
        .unwrap_or("wrk")
        .trim()
        .to_string())
}

/// Runs the comparison, until `cancel` is cancelled. Errors are one line:
/// fewer than two CPUs, wrk missing or failing, a request that fails.
pub fn run(opts: CostOptions, others: &mut [Box<dyn Load>], cancel: &Cancel) -> Result<HttpCost, String> {
    if opts.rounds < 2 {
        return Err(format!(
            "--rounds {}: expected at least 2 (the intervals come from the rounds)",
            opts.rounds
        ));
    }
    let cpus = allowed_cpus();
    let (server_cpu, load_cpu) = match cpus.as_slice() {
        [a, b, ..] => (*a, *b),
        _ => {
            return Err(format!(
                "needs two CPUs (server on one, load on the other); this process may use {cpus:?}"
            ))
        }
    };
    let wrk_version = wrk_version()?;
    let server = Server::start_with(
        Arc::new(Nothing),
        "127.0.0.1:0",
        ServeOptions {
            threads: Some(1),
            cpu: Some(server_cpu),
        },
    )?;
    let client =
        HttpEngine::connect("http-cost", &server.url(), None, Duration::from_secs(10)).map_err(|e| e.to_string())?;
    let url = format!("{}?from_ts=0&to_ts=0&page=1&page_size=10", server.url());
    // Warm-up: connections opened, caches and the CPU clock settled.
    harness_round(&client, opts.connections, Duration::from_millis(500), load_cpu)?;
    wrk_round(&url, opts.connections, 1, load_cpu)?;
    for other in others.iter_mut() {
        other.round(&url, opts.connections, 0.5, load_cpu)?;
    }
    let (mut harness, mut wrk) = (Side::default(), Side::default());
    let mut other_sides = vec![Side::default(); others.len()];
    // Sides in turn: 0 the harness, 1 wrk, then the others; each round starts one later.
    let sides = 2 + others.len();
    for r in 0..opts.rounds {
        for turn in 0..sides {
            if cancel.is_cancelled() {
                return Err("http-cost stopped: interrupted".into());
            }
            let who = (turn + r) % sides;
            let figures = match who {
                0 => harness_round(&client, opts.connections, Duration::from_secs(opts.seconds), load_cpu)?,
                1 => wrk_round(&url, opts.connections, opts.seconds, load_cpu)?,
                k => others[k - 2].round(&url, opts.connections, opts.seconds as f64, load_cpu)?,
            };
            let into = match who {
                0 => &mut harness,
                1 => &mut wrk,
                k => &mut other_sides[k - 2],
            };
            into.rps.push(figures.0);
            into.mean_us.push(figures.1);
            into.p50_us.push(figures.2);
            into.p99_us.push(figures.3);
        }
    }
    drop(client);
    let counts = server.stop()?;
    if counts.errors > 0 || counts.rejected > 0 {
        return Err(format!(
            "the do-nothing server counted {counts:?}: not a clean measurement"
        ));
    }
    let (rps_ratio, added_us) = against(&harness, &wrk);
    let others = others
        .iter()
        .zip(other_sides)
        .map(|(o, side)| {
            let (rps_ratio, added_us) = against(&side, &wrk);
            OtherCost {
                label: o.label(),
                side,
                rps_ratio,
                added_us,
            }
        })
        .collect();
    Ok(HttpCost {
        options: opts,
        wrk_version,
        rps_ratio,
        added_us,
        harness,
        wrk,
        others,
    })
}

/// A side's throughput over wrk's (log-scale t interval over the rounds) and
/// the mean latency it adds (t interval of the rounds' differences).
fn against(side: &Side, wrk: &Side) -> (Interval, Interval) {
    let log_ratios: Vec<f64> = side.rps.iter().zip(&wrk.rps).map(|(h, w)| (h / w).ln()).collect();
    let r = t_interval(&log_ratios);
    let diffs: Vec<f64> = side.mean_us.iter().zip(&wrk.mean_us).map(|(h, w)| h - w).collect();
    (
        Interval {
            estimate: r.estimate.exp(),
            low: r.low.exp(),
            high: r.high.exp(),
        },
        t_interval(&diffs),
    )
}

/// Mean and 95 % t interval of `xs` (at least two values).
pub fn t_interval(xs: &[f64]) -> Interval {
    use statrs::distribution::{ContinuousCDF, StudentsT};
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let t = StudentsT::new(0.0, 1.0, n - 1.0).map_or(f64::NAN, |d| d.inverse_cdf(0.975));
    let half = t * (var / n).sqrt();
    Interval {
        estimate: mean,
        low: mean - half,
        high: mean + half,
    }
}

/// (rps, mean, p50, p99 in microseconds) of the harness's client on
/// `connections` threads pinned to `cpu`, each in a closed loop for `length`.
fn harness_round(
    client: &HttpEngine,
    connections: usize,
    length: Duration,
    cpu: usize,
) -> Result<(f64, f64, f64, f64), String> {
    let q = empty_query();
    let start = Barrier::new(connections + 1);
    let (latencies, elapsed) = std::thread::scope(|s| {
        let workers: Vec<_> = (0..connections)
            .map(|_| {
                s.spawn(|| -> Result<Vec<f64>, String> {
                    pin_to(cpu)?;
                    start.wait();
                    let end = Instant::now() + length;
                    let mut us = Vec::new();
                    while Instant::now() < end {
                        let t = Instant::now();
                        client.query(&q).map_err(|e| e.to_string())?;
                        us.push(t.elapsed().as_secs_f64() * 1e6);
                    }
                    Ok(us)
                })
            })
            .collect();
        start.wait();
        let t0 = Instant::now();
        let all: Result<Vec<Vec<f64>>, String> = workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|_| Err("a load thread panicked".into())))
            .collect();
        (all, t0.elapsed())
    });
    let us: Vec<f64> = latencies?.into_iter().flatten().collect();
    Ok(figures(us, elapsed.as_secs_f64()))
}

/// The query every side asks the do-nothing server (its answer is an empty page).
pub fn empty_query() -> Query {
    Query {
        from_ts: 0,
        to_ts: 0,
        actor_id: None,
        action: None,
        page: 1,
        page_size: 10,
    }
}

/// (rps, mean, p50, p99 in microseconds) of a side's latencies (us) over `seconds`.
pub fn figures(mut us: Vec<f64>, seconds: f64) -> (f64, f64, f64, f64) {
    us.sort_by(f64::total_cmp);
    let q = |p: f64| crate::stats::quantile(&us, p).unwrap_or(f64::NAN);
    let mean = us.iter().sum::<f64>() / us.len().max(1) as f64;
    let rps = if seconds > 0.0 { us.len() as f64 / seconds } else { 0.0 };
    (rps, mean, q(0.5), q(0.99))
}

/// The same from `wrk -t1 -c<connections> -d<seconds>s --latency`, pinned to `cpu`.
fn wrk_round(url: &str, connections: usize, seconds: u64, cpu: usize) -> Result<(f64, f64, f64, f64), String> {
    use std::os::unix::process::CommandExt;
    let mut command = Command::new("wrk");
    command.args([
        "-t1",
        &format!("-c{connections}"),
        &format!("-d{seconds}s"),
        "--latency",
        url,
    ]);
    // SAFETY: set_affinity is one system call and allocates nothing, so it
    // is safe between fork and exec.
    unsafe {
        command.pre_exec(move || set_affinity(cpu));
    }
    let out = command.output().map_err(|e| format!("wrk cannot be run: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(format!(
            "wrk failed ({}): {}",
            out.status,
            crate::process::protocol::one_line(&(text + &String::from_utf8_lossy(&out.stderr)), 300)
        ));
    }
    parse_wrk(&text)
}

/// (rps, mean, p50, p99 in microseconds) from wrk's `--latency` output; an
/// error when wrk saw socket errors or non-2xx answers.
pub fn parse_wrk(text: &str) -> Result<(f64, f64, f64, f64), String> {
    let bad = |what: &str| {
        format!(
            "wrk's output has no {what}: {}",
            crate::process::protocol::one_line(text, 300)
        )
    };
    for marker in ["Socket errors", "Non-2xx or 3xx responses"] {
        if let Some(line) = text.lines().find(|l| l.trim_start().starts_with(marker)) {
            return Err(format!("wrk saw errors: {}", line.trim()));
        }
    }
    let rps = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .ok_or_else(|| bad("Requests/sec"))?;
    let mean = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Latency "))
        .and_then(|v| v.split_whitespace().next())
        .and_then(duration_us)
        .ok_or_else(|| bad("mean latency"))?;
    let percentile = |p: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(p))
            .and_then(|v| duration_us(v.trim()))
            .ok_or_else(|| bad(&format!("{p} latency")))
    };
    Ok((rps, mean, percentile("50%")?, percentile("99%")?))
}

/// A wrk duration (`123.45us`, `1.20ms`, `2.00s`, `1.00m`) in microseconds.
fn duration_us(text: &str) -> Option<f64> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let n: f64 = number.parse().ok()?;
    let scale = match unit {
        "us" => 1.0,
        "ms" => 1e3,
        "s" => 1e6,
        "m" => 60e6,
        "h" => 3600e6,
        _ => return None,
    };
    Some(n * scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUT: &str = "Running 1s test @ http://127.0.0.1:4000/audit-events?from_ts=0
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   212.40us  101.33us   3.51ms   93.10%
    Req/Sec    18.52k     1.02k   19.90k    80.00%
  Latency Distribution
     50%  195.00us
     75%  220.00us
     90%  260.00us
     99%    1.02ms
  18433 requests in 1.00s, 2.22MB read
Requests/sec:  18421.55
Transfer/sec:      2.22MB
";

    #[test]
    fn wrk_output_is_read_with_its_units() {
        let (rps, mean, p50, p99) = parse_wrk(OUT).unwrap();
        assert_eq!(rps, 18421.55);
        assert!((mean - 212.40).abs() < 1e-9);
        assert!((p50 - 195.0).abs() < 1e-9);
        assert!((p99 - 1020.0).abs() < 1e-9);
    }

    #[test]
    fn wrk_errors_and_missing_figures_are_refused() {
        let errors = OUT.replace(
            "Requests/sec",
            "  Socket errors: connect 0, read 3, write 0, timeout 0\nRequests/sec",
        );
        assert!(parse_wrk(&errors).unwrap_err().contains("read 3"));
        let non2xx = OUT.replace("Requests/sec", "  Non-2xx or 3xx responses: 17\nRequests/sec");
        assert!(parse_wrk(&non2xx).unwrap_err().contains("17"));
        assert!(parse_wrk("unable to connect").unwrap_err().contains("Requests/sec"));
    }

    #[test]
    fn intervals_cover_their_mean() {
        let i = t_interval(&[1.0, 2.0, 3.0]);
        assert_eq!(i.estimate, 2.0);
        // t(0.975, 2) = 4.303, sd 1, n 3: half-width 2.484.
        assert!((i.high - i.estimate - 2.4843).abs() < 1e-3, "{i:?}");
    }
}
