//! The input domain (docs/contract.md, "The input domain"): what the front door accepts before any engine
//! sees a query.

use crate::contract::Query;

/// The bounds of valid queries: `page` in `1..=max_page`, `page_size` in `page_sizes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    pub max_page: i64,
    pub page_sizes: Vec<i64>,
}

impl Default for Domain {
    fn default() -> Self {
        Domain {
            max_page: 2000,
            page_sizes: vec![10, 20, 50],
        }
    }
}

/// A query outside the domain; the message names the field and what is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} = {value} is outside the domain: allowed {allowed}")]
pub struct DomainError {
    pub field: &'static str,
    pub value: String,
    pub allowed: String,
}

impl Domain {
    /// Accepts a query inside the domain; any window, actor and action string are valid.
    pub fn validate(&self, q: &Query) -> Result<(), DomainError> {
        if q.page < 1 || q.page > self.max_page {
            return Err(DomainError {
                field: "page",
                value: q.page.to_string(),
                allowed: format!("an integer in 1..={}", self.max_page),
            });
        }
        if !self.page_sizes.contains(&q.page_size) {
            return Err(DomainError {
                field: "page_size",
                value: q.page_size.to_string(),
                allowed: format!("one of {:?}", self.page_sizes),
            });
        }
        Ok(())
    }

    /// Whether the query is inside the domain.
    pub fn contains(&self, q: &Query) -> bool {
        self.validate(q).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(page: i64, page_size: i64) -> Query {
        Query {
            from_ts: 5,
            to_ts: 1,
            actor_id: Some(-3),
            action: Some("'; DROP TABLE x; --".into()),
            page,
            page_size,
        }
    }

    #[test]
    fn accepts_the_domain_edges() {
        let d = Domain::default();
        for page in [1, 2, 1999, 2000] {
            for size in [10, 20, 50] {
                assert_eq!(d.validate(&q(page, size)), Ok(()));
            }
        }
    }

    #[test]
    fn rejects_pages_and_sizes_outside() {
        let d = Domain::default();
        for page in [i64::MIN, -1, 0, 2001, i64::MAX] {
            let e = d.validate(&q(page, 10)).unwrap_err();
            assert_eq!(e.field, "page");
            assert!(e.to_string().contains("1..=2000"), "{e}");
        }
        for size in [0, 1, 7, 100, -10] {
            let e = d.validate(&q(1, size)).unwrap_err();
            assert_eq!(e.field, "page_size");
            assert!(e.to_string().contains("[10, 20, 50]"), "{e}");
        }
    }

    #[test]
    fn skip_take_follows_sqlite_rules() {
        assert_eq!(q(1, 10).skip_take(), (0, Some(10)));
        assert_eq!(q(3, 20).skip_take(), (40, Some(20)));
        // page 0: OFFSET -10 counts as 0.
        assert_eq!(q(0, 10).skip_take(), (0, Some(10)));
        // negative LIMIT means no limit; OFFSET (2-1)*-5 = -5 counts as 0.
        assert_eq!(q(2, -5).skip_take(), (0, None));
        assert_eq!(q(3, 0).skip_take(), (0, Some(0)));
        assert_eq!(q(i64::MAX, 50).skip_take().0, i64::MAX as usize);
    }
}
