//! The process protocol's measured cost (`protocol-cost`).

use crate::process::cost::Cost;

/// The engine's round trips.
pub fn print_cost(about: &str, warmup: u64, c: &Cost) {
    say_always!(
        "protocol-cost: engine {about}: {} round trips after {warmup} warm-up, one in flight",
        c.requests
    );
    say_always!(
        "  mean {:.1} us, p50 {:.1} us, p99 {:.1} us, max {:.1} us",
        c.mean_us,
        c.p50_us,
        c.p99_us,
        c.max_us
    );
}

/// The machine's floor under any process protocol.
pub fn print_pipe_floor(floor: &Result<Cost, String>) {
    match floor {
        Ok(f) => {
            say_always!("pipe floor: one line through `cat`, the same count (the machine's own process round trip;");
            say_always!(
                "  the protocol's cost is the difference): mean {:.1} us, p50 {:.1} us, p99 {:.1} us",
                f.mean_us,
                f.p50_us,
                f.p99_us
            );
        }
        Err(e) => say_always!("pipe floor: not measured ({e})"),
    }
}
