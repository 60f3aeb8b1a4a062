//! Greedy shrinking, as quickcheck does it: keep taking the first smaller
//! candidate (from `Arbitrary::shrink`) that still fails, until none does.

use quickcheck::Arbitrary;

/// A failing value shrunk as far as it goes, with why it fails and how many steps it took.
#[derive(Debug, Clone)]
pub struct Shrunk<T> {
    pub value: T,
    pub why: String,
    pub steps: usize,
}

/// Shrinks `value` (which fails with `why`) while `fails` keeps failing, trying
/// at most `budget` candidates so a slow property cannot stall the run.
pub fn shrink<T: Arbitrary>(
    value: T,
    why: String,
    mut fails: impl FnMut(&T) -> Option<String>,
    budget: usize,
) -> Shrunk<T> {
    let mut cur = Shrunk { value, why, steps: 0 };
    let mut tried = 0;
    'outer: loop {
        for cand in cur.value.shrink() {
            if tried >= budget {
                break 'outer;
            }
            tried += 1;
            if let Some(why) = fails(&cand) {
                cur = Shrunk {
                    value: cand,
                    why,
                    steps: cur.steps + 1,
                };
                continue 'outer;
            }
        }
        break;
    }
    cur
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shrinks_to_a_local_minimum() {
        // Fails for any vector holding a number >= 10: the minimum is [10].
        let fails = |v: &Vec<u32>| v.iter().any(|&x| x >= 10).then(|| "has a big one".to_string());
        let s = shrink(vec![3, 99, 4, 17, 0], "start".into(), fails, 10_000);
        assert_eq!(s.value, vec![10]);
        assert!(s.steps > 0);
        assert_eq!(s.why, "has a big one");
    }

    #[test]
    fn respects_the_budget() {
        // Fails for anything >= 1000: shrinking 10^9 needs many tries; allow 5.
        let mut calls = 0;
        let s = shrink(
            1_000_000_000u64,
            "x".into(),
            |&v| {
                calls += 1;
                (v >= 1000).then(|| "big".to_string())
            },
            5,
        );
        assert_eq!(calls, 5);
        assert!(s.value >= 1000 && s.value < 1_000_000_000);
    }
}
