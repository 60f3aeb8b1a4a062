//! Request streams: a mix from the spec plus a seed gives the same sequence of
//! queries every time, for every engine.

use audit_engines::Query;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::dataset::GenParams;
use crate::spec::{MixSpec, WindowKind};

/// The action entry that stands for "no action filter".
pub const NO_ACTION: &str = "*";

/// Draws queries from one mix, anchored on the dataset's generator parameters
/// (`now`, `span_seconds`, `actors`).
pub struct MixSampler<'a> {
    mix: &'a MixSpec,
    from_ts: i64,
    to_ts: i64,
    actors: i64,
    rng: StdRng,
}

impl<'a> MixSampler<'a> {
    pub fn new(mix: &'a MixSpec, data: &GenParams, seed: u64) -> MixSampler<'a> {
        // The spec check keeps these in range; saturate all the same, since a
        // caller may pair a mix with other generator parameters.
        let from_ts = match mix.window {
            WindowKind::Recent => data.now.saturating_sub(mix.window_seconds.unwrap_or(0)),
            WindowKind::All => data.now.saturating_sub(data.span_seconds),
        };
        MixSampler {
            mix,
            from_ts,
            to_ts: data.now,
            actors: data.actors,
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// The next query of the stream.
    pub fn next_query(&mut self) -> Query {
        let actor_id = if self.rng.random_bool(self.mix.actor_probability) {
            Some(self.rng.random_range(1..=self.actors))
        } else {
            None
        };
        let action = &self.mix.actions[self.rng.random_range(0..self.mix.actions.len())];
        let action = (action != NO_ACTION).then(|| action.clone());
        let page = self.rng.random_range(self.mix.pages[0]..=self.mix.pages[1]);
        let page_size = self.mix.page_sizes[self.rng.random_range(0..self.mix.page_sizes.len())];
        Query {
            from_ts: self.from_ts,
            to_ts: self.to_ts,
            actor_id,
            action,
            page,
            page_size,
        }
    }
}

/// The first `n` queries of the stream for `(mix, seed)`.
pub fn stream(mix: &MixSpec, data: &GenParams, seed: u64, n: usize) -> Vec<Query> {
    let mut s = MixSampler::new(mix, data, seed);
    (0..n).map(|_| s.next_query()).collect()
}
