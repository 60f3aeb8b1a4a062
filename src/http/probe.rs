//! Is an HTTP engine answering? One query, asked when a deployed engine is
//! opened and, with retries, while a launched server starts.

use std::time::{Duration, Instant};

use crate::cancel::Cancel;

/// The most of a probe's answer read off to keep its connection.
const DRAIN_LIMIT: u64 = 1 << 20;

/// Asks `url` one query until any HTTP answer comes (any status) or
/// `deadline` passes; a refused connection is retried when `retry` gives a
/// token (a launched server may not listen yet), until it is cancelled,
/// else it is the answer.
pub fn probe(agent: &ureq::Agent, url: &str, deadline: Instant, retry: Option<&Cancel>) -> Result<(), String> {
    let mut last = String::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!("no answer from {url} within timeout_ms ({last})"));
        }
        let answer = agent
            .get(url)
            .query("from_ts", "0")
            .query("to_ts", "0")
            .query("page", "1")
            .query("page_size", "10")
            .config()
            .timeout_global(Some(left))
            .build()
            .call();
        match answer {
            Ok(mut r) => {
                // Read it off so the connection goes back to the pool (an answer
                // over the limit only costs the connection).
                let _ = r.body_mut().with_config().limit(DRAIN_LIMIT).read_to_vec();
                return Ok(());
            }
            Err(e @ ureq::Error::Timeout(_)) => return Err(format!("{url}: {e}")),
            Err(e) => match retry {
                None => return Err(format!("{url}: {e}")),
                Some(_) => last = e.to_string(),
            },
        }
        if let Some(c) = retry.filter(|c| c.is_cancelled()) {
            return Err(format!(
                "stopped waiting for {url}: the harness was interrupted by {}",
                c.cause()
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
