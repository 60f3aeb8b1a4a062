//! The process protocol's own cost, measured as the round trip of one request
//! to an engine (the do-nothing `protocol-null` by default), one in flight at a
//! time, each timed individually; and the machine's floor under any such
//! protocol, one line through `cat`. The command is `commands/protocol_cost.rs`.

use std::time::Instant;

use audit_engines::{Engine, EngineError, Query};

use crate::error::HarnessError;
use crate::spec::ProcessEngineSpec;

/// Round-trip statistics, in microseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Cost {
    pub requests: usize,
    pub mean_us: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
}

/// The `p` quantile of sorted `xs` (the harness's one quantile), NaN without data.
fn quantile(xs: &[f64], p: f64) -> f64 {
    crate::stats::quantile(xs, p).unwrap_or(f64::NAN)
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
/// timing each call on its own; one call at a time. The first error ends it.
pub fn measure(engine: &dyn Engine, q: &Query, warmup: usize, requests: usize) -> Result<Cost, EngineError> {
    for _ in 0..warmup {
        engine.query(q)?;
    }
    let mut us = Vec::with_capacity(requests);
    for _ in 0..requests {
        let t = Instant::now();
        engine.query(q)?;
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
        url: None,
        events_key: None,
        processes_key: Some(1),
        workers_key: None,
        timeout_ms: crate::spec::DEFAULT_PROCESS_TIMEOUT_MS,
        env: Default::default(),
        cwd: None,
    })
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
