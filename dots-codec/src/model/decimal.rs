//! YANG `decimal64 { fraction-digits 2; }` as a fixed-point integer of hundredths.

use core::fmt;

/// A YANG `decimal64` with `fraction-digits 2` (RFC 9132 `ack-timeout`, `ack-random-factor`,
/// RFC 9362 `non-timeout` ...), stored as an integer count of hundredths.
///
/// On the wire it is CBOR tag 4 `[-2, mantissa]` (RFC 8949 Section 3.4.4, RFC 9132 Table 5); in
/// RFC 7951 JSON it is a string, printed with exactly two fraction digits (`"2.00"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Decimal2(i64);

/// A string that is not a `decimal64` with at most two fraction digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a decimal64 with at most 2 fraction digits")]
pub struct ParseDecimalError;

impl Decimal2 {
    /// Zero.
    pub const ZERO: Decimal2 = Decimal2(0);

    /// The value `hundredths / 100` (e.g. `from_hundredths(150)` is 1.50).
    pub const fn from_hundredths(hundredths: i64) -> Decimal2 {
        Decimal2(hundredths)
    }

    /// The value in hundredths: the CBOR tag 4 mantissa with exponent -2.
    pub const fn hundredths(self) -> i64 {
        self.0
    }

    /// The value in milliseconds when it denotes seconds (`ack-timeout` 2.00 → 2000), saturating.
    pub const fn as_millis(self) -> i64 {
        self.0.saturating_mul(10)
    }

    /// Parses the RFC 7951 / YANG lexical form: an optional `-`, digits, and an optional `.` with
    /// one or two digits (`"2"`, `"2.0"`, `"2.00"`, `"-0.50"`).
    pub fn parse(s: &str) -> Result<Decimal2, ParseDecimalError> {
        let (neg, body) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s.strip_prefix('+').unwrap_or(s)),
        };
        let (int, frac) = match body.split_once('.') {
            Some((i, f)) => (i, f),
            None => (body, ""),
        };
        if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseDecimalError);
        }
        if body.contains('.') && (frac.is_empty() || frac.len() > 2) {
            return Err(ParseDecimalError);
        }
        if !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseDecimalError);
        }
        let mut value: i64 = 0;
        for b in int.bytes() {
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(i64::from(b - b'0')))
                .ok_or(ParseDecimalError)?;
        }
        let mut cents: i64 = 0;
        for (i, b) in frac.bytes().enumerate() {
            let digit = i64::from(b - b'0');
            cents += if i == 0 { digit * 10 } else { digit };
        }
        let total = value
            .checked_mul(100)
            .and_then(|v| v.checked_add(cents))
            .ok_or(ParseDecimalError)?;
        Ok(Decimal2(if neg { -total } else { total }))
    }
}

impl fmt::Display for Decimal2 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl core::str::FromStr for Decimal2 {
    type Err = ParseDecimalError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Decimal2::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::string::ToString;

    #[test]
    fn parse_and_print() {
        for (s, v, p) in [
            ("2.00", 200, "2.00"),
            ("2", 200, "2.00"),
            ("1.5", 150, "1.50"),
            ("0.05", 5, "0.05"),
            ("-0.50", -50, "-0.50"),
            ("247.00", 24700, "247.00"),
        ] {
            let d = Decimal2::parse(s).unwrap();
            assert_eq!(d.hundredths(), v, "{s}");
            assert_eq!(d.to_string(), p);
        }
        assert_eq!(
            Decimal2::from_hundredths(i64::MIN).to_string(),
            "-92233720368547758.08"
        );
        assert_eq!(
            Decimal2::parse("-92233720368547758.08").map(|d| d.hundredths()),
            Err(ParseDecimalError),
            "the magnitude overflows before the sign is applied: refused, not wrapped"
        );
        for bad in [
            "",
            ".5",
            "1.",
            "1.234",
            "a",
            "1e2",
            "--1",
            "1.2.3",
            "99999999999999999999",
        ] {
            assert_eq!(Decimal2::parse(bad), Err(ParseDecimalError), "{bad}");
        }
    }
}
