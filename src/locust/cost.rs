//! The Locust driver's own cost, measured as `http-cost` measures the
//! harness's client: a cluster of N local workers loads the same pinned
//! do-nothing server in a closed loop, in the same rounds as wrk, its master
//! and workers pinned to the load CPU. A round is one job of empty-page
//! queries sized to last about the round's seconds at the rate the previous
//! round reached; its throughput is the requests over the time from the
//! job's start to its last answer.

use std::time::Duration;

use crate::cancel::Cancel;

use super::{Cluster, Job, RoundEnd, Settings};
use crate::http::cost::Load;

/// A Locust cluster of `workers` local workers as an `http-cost` side.
pub struct LocustLoad {
    python: std::path::PathBuf,
    workers: u32,
    cluster: Option<Cluster>,
    rounds: u32,
    /// Requests per second in the round before, to size the next.
    pace: f64,
    cancel: Cancel,
}

impl LocustLoad {
    pub fn new(python: std::path::PathBuf, workers: u32, cancel: &Cancel) -> LocustLoad {
        LocustLoad {
            python,
            workers,
            cluster: None,
            rounds: 0,
            pace: 500.0,
            cancel: cancel.clone(),
        }
    }
}

impl Load for LocustLoad {
    fn label(&self) -> String {
        format!("Locust {} ({} workers)", super::venv::pinned_version(), self.workers)
    }

    fn round(
        &mut self,
        url: &str,
        connections: usize,
        seconds: f64,
        cpu: usize,
    ) -> Result<(f64, f64, f64, f64), String> {
        if self.cluster.is_none() {
            if connections < self.workers as usize {
                return Err(format!(
                    "--locust-workers {}: each worker needs at least one of the {connections} connections",
                    self.workers
                ));
            }
            let settings = Settings {
                python: self.python.clone(),
                master: "127.0.0.1:0".into(),
                workers: self.workers,
                start_workers: true,
                connect_timeout: Duration::from_secs(60),
                round_timeout: Duration::from_secs_f64(60.0 + 10.0 * seconds),
                request_timeout: Duration::from_secs(10),
                concurrency: connections as u32,
                cpu: Some(cpu),
            };
            self.cluster =
                Some(Cluster::start(settings, &std::env::temp_dir(), &self.cancel).map_err(|e| e.to_string())?);
        }
        let Some(cluster) = self.cluster.as_mut() else {
            return Err("the Locust cluster did not start".into());
        };
        let base = url.split('?').next().unwrap_or(url);
        let n = ((self.pace * seconds) as usize).clamp(100, 1_000_000);
        let queries = vec![crate::http::cost::empty_query(); n];
        let job = Job {
            engine: "nothing",
            url: base,
            events_key: None,
            queries: &queries,
            schedule: None,
        };
        self.rounds += 1;
        let result = match cluster.run_round(self.rounds, &[job]).map_err(|e| e.to_string())? {
            RoundEnd::Done(mut r) => r.pop().unwrap_or_default(),
            RoundEnd::Interrupted => return Err("http-cost stopped: interrupted".into()),
            RoundEnd::Lost(why) => return Err(why),
        };
        if let Some(e) = result.first_error {
            return Err(format!("the do-nothing server answered Locust with an error: {e}"));
        }
        let end_s = result.requests.iter().map(|r| r.end_ns()).max().unwrap_or(0) as f64 / 1e9;
        let us: Vec<f64> = result.requests.iter().map(|r| r.latency_ns as f64 / 1e3).collect();
        let figures = crate::http::cost::figures(us, end_s);
        self.pace = figures.0.max(1.0);
        Ok(figures)
    }
}

impl Drop for LocustLoad {
    fn drop(&mut self) {
        if let Some(c) = self.cluster.as_mut() {
            c.stop();
        }
    }
}
