//! `audit-harness protocol-cost`: the process protocol's own cost, measured
//! as the round trip of one request to the do-nothing engine
//! (`protocol-null`), one in flight at a time, each timed individually.
//! With `--engine NAME` it times any engine the same way instead (a process
//! engine such as a Python null engine, or a built-in one for comparison).

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use audit_engines::{Engine, Query, SharedEngine};

use super::ProcessEngine;
use crate::cli::ProtocolCostArgs;
use crate::error::HarnessError;
use crate::spec::{ProcessEngineSpec, Spec};

/// Round-trip statistics, in microseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Cost {
    pub requests: usize,
    pub mean_us: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
}

/// The `p` quantile of sorted `xs`, interpolated linearly at rank p(n-1).
fn quantile(xs: &[f64], p: f64) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    let rank = p * (xs.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    xs[lo] + (xs[hi] - xs[lo]) * (rank - lo as f64)
}

/// Summarises individual round trips (microseconds).
pub fn summarise(mut us: Vec<f64>) -> Cost {
    us.sort_by(f64::total_cmp);
    Cost {
        requests: us.len(),
        mean_us: us.iter().sum::<f64>() / us.len().max(1) as f64,
        p50_us: quantile(&us, 0.5),
        p99_us: quantile(&us, 0.99),
        max_us: us.last().copied().unwrap_or(f64::NAN),
    }
}

/// Asks `q` of `engine` `warmup` times unrecorded, then `requests` times,
/// timing each call on its own; one call at a time.
pub fn measure(engine: &dyn Engine, q: &Query, warmup: usize, requests: usize) -> Result<Cost, String> {
    for _ in 0..warmup {
        engine.query(q).map_err(|e| e.to_string())?;
    }
    let mut us = Vec::with_capacity(requests);
    for _ in 0..requests {
        let t = Instant::now();
        engine.query(q).map_err(|e| e.to_string())?;
        us.push(t.elapsed().as_secs_f64() * 1e6);
    }
    Ok(summarise(us))
}

/// The floor under any process protocol on this machine: the round trip of
/// one line through `cat` (two pipes, two context switches, no JSON).
pub fn pipe_floor(warmup: usize, requests: usize) -> Result<Cost, String> {
    use std::io::{BufRead, BufReader, Write};
    let mut child = std::process::Command::new("cat")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start cat: {e}"))?;
    let result = (|| {
        let mut input = child.stdin.take().ok_or("no stdin")?;
        let mut output = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        let mut line = String::new();
        let mut us = Vec::with_capacity(requests);
        for i in 0..warmup + requests {
            let t = Instant::now();
            input.write_all(b"x\n").map_err(|e| e.to_string())?;
            line.clear();
            if output.read_line(&mut line).map_err(|e| e.to_string())? == 0 {
                return Err("cat ended".to_string());
            }
            if i >= warmup {
                us.push(t.elapsed().as_secs_f64() * 1e6);
            }
        }
        Ok(summarise(us))
    })();
    let _ = child.kill();
    let _ = child.wait();
    result
}

/// The null engine: this very binary's `protocol-null`.
pub fn null_spec() -> Result<ProcessEngineSpec, HarnessError> {
    let exe = std::env::current_exe()
        .map_err(|e| HarnessError::input(format!("cannot find the harness's own executable: {e}")))?;
    Ok(ProcessEngineSpec {
        command: vec![exe.display().to_string(), "protocol-null".into()],
        workers: 1,
        timeout_ms: crate::spec::DEFAULT_PROCESS_TIMEOUT_MS,
        env: Default::default(),
        cwd: None,
    })
}

/// Runs `protocol-cost` and prints one line of figures.
pub fn run(spec: &Spec, data_dir: &Path, args: &ProtocolCostArgs) -> Result<(), HarnessError> {
    let (engine, about): (SharedEngine, String) = match &args.engine {
        None => {
            let null = null_spec()?;
            let about = format!("null (`{}`)", null.command.join(" "));
            let e = ProcessEngine::open("null", &null, Path::new("."), Path::new("."))
                .map_err(|e| HarnessError::input(e.to_string()))?;
            (Arc::new(e), about)
        }
        Some(name) => {
            let about = match spec.engines.get(name) {
                Some(p) => format!("{name} (`{}`)", p.command.join(" ")),
                None => format!("{name} (built in, no process)"),
            };
            (crate::registry::open(spec, name, data_dir)?, about)
        }
    };
    // A deep page of the default window: empty on the contract dataset, so a
    // real engine's figure is mostly its fixed per-request cost too.
    let now = spec.dataset.generator.now;
    let q = Query {
        from_ts: now - 604_800,
        to_ts: now,
        actor_id: None,
        action: None,
        page: spec.domain.max_page,
        page_size: spec.domain.page_sizes.first().copied().unwrap_or(10),
    };
    let c = measure(engine.as_ref(), &q, args.warmup as usize, args.requests as usize)
        .map_err(|e| HarnessError::failed(format!("protocol-cost: {e}")))?;
    println!(
        "protocol-cost: engine {about}: {} round trips after {} warm-up, one in flight: \
         mean {:.1} us, p50 {:.1} us, p99 {:.1} us, max {:.1} us",
        c.requests, args.warmup, c.mean_us, c.p50_us, c.p99_us, c.max_us
    );
    match pipe_floor(args.warmup as usize, args.requests as usize) {
        Ok(f) => println!(
            "pipe floor: one line through `cat`, same count: mean {:.1} us, p50 {:.1} us, p99 {:.1} us \
             (the machine's own process round trip; the protocol's cost is the difference)",
            f.mean_us, f.p50_us, f.p99_us
        ),
        Err(e) => println!("pipe floor: not measured ({e})"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_at_rank_p_n_minus_1() {
        let c = summarise(vec![4.0, 1.0, 3.0, 2.0, 10.0]);
        assert_eq!(c.requests, 5);
        assert_eq!(c.mean_us, 4.0);
        assert_eq!(c.p50_us, 3.0);
        assert!((c.p99_us - (4.0 + 6.0 * 0.96)).abs() < 1e-9, "{}", c.p99_us);
        assert_eq!(c.max_us, 10.0);
        assert_eq!(quantile(&[1.0, 2.0], 0.5), 1.5);
    }
}
