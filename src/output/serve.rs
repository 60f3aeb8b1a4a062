//! `serve`'s lines: where the engine is served, and what it answered.

use crate::http::ServeCounts;

/// The engine is being served at `url`.
pub fn print_listening(engine: &str, url: &str) {
    say_always!("serving {engine} at {url} (GET; SIGINT or SIGTERM stops it)");
}

/// What the server answered before it stopped, on the signal named.
pub fn print_stopped(signal: &str, c: &ServeCounts) {
    say_always!(
        "stopped on {signal}: {} requests answered, {} engine errors (500), {} rejected (400/404)",
        c.served,
        c.errors,
        c.rejected
    );
}
