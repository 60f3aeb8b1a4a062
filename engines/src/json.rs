//! When two answers' JSON values are the same: the same JSON value, numbers
//! compared by their exact decimal value at any size (`802.0` is `802`,
//! `1e2` is `100`, `10^20 + 1` is not `10^20`), never through a float. The
//! workspace builds serde_json with `arbitrary_precision`, so a number keeps
//! the digits it was written with, and the harness prints it as the payload
//! file (or the engine) wrote it (an exponent is written `e+N` or `e-N`).

use serde_json::{Number, Value};

/// Whether `a` and `b` are the same JSON value: objects with the same keys
/// (in any order) holding the same values, arrays element by element,
/// numbers by exact decimal value.
pub fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => same_number(x, y),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(v, w)| same(v, w)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// Whether two numbers have the same exact decimal value.
pub fn same_number(a: &Number, b: &Number) -> bool {
    let (x, y) = (a.to_string(), b.to_string());
    x == y || matches!((Decimal::parse(&x), Decimal::parse(&y)), (Some(p), Some(q)) if p == q)
}

/// A JSON number's exact value: sign, significant digits without leading or
/// trailing zeros, and the power of ten of the last digit (zero is no digits).
#[derive(Debug, PartialEq, Eq)]
struct Decimal {
    negative: bool,
    digits: String,
    exponent: i128,
}

impl Decimal {
    /// Parses JSON's number grammar (`-?int(.frac)?([eE][+-]?exp)?`); `None`
    /// for anything else, or an exponent beyond 38 digits.
    fn parse(text: &str) -> Option<Decimal> {
        let (negative, rest) = match text.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, text),
        };
        let (mantissa, exp) = match rest.find(['e', 'E']) {
            Some(i) => (&rest[..i], rest[i + 1..].parse::<i128>().ok()?),
            None => (rest, 0),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        if int.is_empty() || !int.bytes().chain(frac.bytes()).all(|c| c.is_ascii_digit()) {
            return None;
        }
        let all = format!("{int}{frac}");
        let significant = all.trim_start_matches('0');
        let digits = significant.trim_end_matches('0');
        if digits.is_empty() {
            // Zero, whatever its sign or exponent.
            return Some(Decimal {
                negative: false,
                digits: String::new(),
                exponent: 0,
            });
        }
        let trailing = (significant.len() - digits.len()) as i128;
        Some(Decimal {
            negative,
            digits: digits.to_string(),
            exponent: exp - frac.len() as i128 + trailing,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn numbers_are_compared_by_exact_decimal_value_at_any_size() {
        for (a, b) in [
            ("802", "802.0"),
            ("100", "1e2"),
            ("100", "1.00E+2"),
            ("0.5", "5e-1"),
            ("0", "-0.0"),
            ("0", "0e99"),
            ("-12.50", "-1.25e1"),
            ("18446744073709551617", "18446744073709551617.000"),
            ("1e400", "10e399"),
        ] {
            assert!(same(&v(a), &v(b)), "{a} = {b}");
        }
        for (a, b) in [
            ("18446744073709551617", "18446744073709551616"),
            ("100000000000000000001", "100000000000000000000"),
            ("0.1", "0.10000000000000001"),
            ("-1", "1"),
            ("1e400", "1e401"),
            ("802", "\"802\""),
        ] {
            assert!(!same(&v(a), &v(b)), "{a} != {b}");
        }
    }

    #[test]
    fn objects_and_arrays_compare_their_members() {
        assert!(same(
            &v(r#"{"a": 1, "b": [1.0, {"c": 2}]}"#),
            &v(r#"{"b": [1, {"c": 2.0}], "a": 1e0}"#)
        ));
        assert!(!same(&v(r#"{"a": 1}"#), &v(r#"{"a": 1, "b": null}"#)));
        assert!(!same(&v("[1, 2]"), &v("[2, 1]")));
        assert!(!same(&v("[1]"), &v("[1, 1]")));
    }

    #[test]
    fn numbers_keep_the_digits_they_were_written_with() {
        // Without arbitrary_precision these went through f64: 1.8446744073709552e19.
        for text in ["18446744073709551617", "802.0", "1e+400", "-0.10", "2.5e-3"] {
            assert_eq!(v(text).to_string(), text);
        }
        // The one change: an exponent is written `e` with its sign (serde_json's reader writes it).
        assert_eq!(v("1e400").to_string(), "1e+400");
        assert_eq!(v("2.5E-3").to_string(), "2.5e-3");
    }
}
