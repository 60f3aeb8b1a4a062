//! CPython's `random.Random` draws, reproduced bit for bit on `rand_mt`'s MT19937.
//!
//! Only what the service's seeding uses: seeding from a non-negative integer
//! (`init_by_array` with its 32-bit words, least significant first), and
//! `randint`/`choice` through `_randbelow_with_getrandbits`.

use rand_mt::Mt;

/// A Mersenne Twister seeded and drawn from exactly as CPython does it.
pub struct PyRandom {
    mt: Mt,
}

impl PyRandom {
    /// `random.Random(seed)`: the key is the seed's 32-bit words, low word first
    /// (`[0]` for seed 0).
    pub fn new(seed: u64) -> PyRandom {
        let lo = seed as u32;
        let hi = (seed >> 32) as u32;
        let key: Vec<u32> = if hi == 0 { vec![lo] } else { vec![lo, hi] };
        PyRandom {
            mt: Mt::new_with_key(key),
        }
    }

    /// `getrandbits(k)` for `1 <= k <= 32`: the top `k` bits of one output.
    fn getrandbits(&mut self, k: u32) -> u32 {
        debug_assert!((1..=32).contains(&k));
        self.mt.next_u32() >> (32 - k)
    }

    /// `_randbelow(n)` for `1 <= n < 2^32`: rejection sampling on `bit_length(n)` bits.
    pub fn randbelow(&mut self, n: u64) -> u64 {
        assert!((1..1 << 32).contains(&n), "randbelow({n}) is outside 1..2^32");
        let k = (64 - n.leading_zeros()).min(32);
        loop {
            let r = u64::from(self.getrandbits(k));
            if r < n {
                return r;
            }
        }
    }

    /// `randint(a, b)`: uniform on the closed range `a..=b`.
    pub fn randint(&mut self, a: i64, b: i64) -> i64 {
        let n = (b - a + 1) as u64;
        a + self.randbelow(n) as i64
    }

    /// `choice(seq)`.
    pub fn choice<'a, T>(&mut self, seq: &'a [T]) -> &'a T {
        &seq[self.randbelow(seq.len() as u64) as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values printed by CPython 3.11:
    /// `r = random.Random(1337); [r.randint(0, 2592000) for _ in range(3)]` etc.
    /// The first created_at of the default dataset is now - 2591043 (reference file).
    #[test]
    fn first_draw_matches_the_reference_dataset() {
        let mut r = PyRandom::new(1337);
        assert_eq!(1_767_225_600 - r.randint(0, 2_592_000), 1_764_634_557);
        assert_eq!(r.randint(1, 2000), 1896);
    }

    /// `[r.randint(0, 2592000) for _ in range(3)]`, `Random(2**40 + 5)` and
    /// `Random(0).choice("abcde")` as CPython 3.11 prints them.
    #[test]
    fn matches_cpython_streams() {
        let mut r = PyRandom::new(1337);
        let v: Vec<i64> = (0..3).map(|_| r.randint(0, 2_592_000)).collect();
        assert_eq!(v, [2591043, 2236677, 1534479]);
        let mut r = PyRandom::new((1 << 40) + 5);
        let v: Vec<i64> = (0..5).map(|_| r.randint(0, 100)).collect();
        assert_eq!(v, [64, 66, 34, 84, 3]);
        let mut r = PyRandom::new(0);
        let v: String = (0..8).map(|_| *r.choice(&['a', 'b', 'c', 'd', 'e'])).collect();
        assert_eq!(v, "ddaceddc");
    }
}
