//! One measured request: what every load driver (the built-in one in
//! `bench::driver`, the Locust cluster in `locust`) records of each request it
//! sends, and what `latencies.csv` holds a row of.

use audit_engines::Query;

/// One measured request. Times are nanoseconds from its slice's start on a
/// monotonic clock.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// Position in the round's stream (every engine of a round draws from the same stream).
    pub seq: u64,
    pub query: Query,
    /// Events returned; `None` when the engine returned an error or panicked.
    pub rows: Option<u32>,
    /// When the request was handed to the engine.
    pub start_ns: u64,
    /// Service time: from handing the request to the engine to its answer.
    pub latency_ns: u64,
    /// Open loop only: when the schedule said the request should start.
    pub intended_ns: Option<u64>,
    /// The slice of the round it ran in (0-based): each round interleaves the
    /// engines in slices (see `bench::plan`).
    pub slice: u32,
    /// The load worker that sent it (0-based), for each worker's busy time.
    pub worker: u32,
}

impl Request {
    /// Latency as the client sees it: from the intended start in open loop
    /// (coordinated omission corrected), the service time in closed loop.
    pub fn response_ns(&self) -> u64 {
        match self.intended_ns {
            Some(i) => (self.start_ns + self.latency_ns).saturating_sub(i),
            None => self.latency_ns,
        }
    }

    /// When the answer arrived.
    pub fn end_ns(&self) -> u64 {
        self.start_ns + self.latency_ns
    }
}
