//! Strict, bounded CBOR reading on top of `minicbor::Decoder`: explicit map-key dispatch with the
//! RFC 9132 comprehension rules, duplicate detection, a nesting limit, and an iterative skip.
//!
//! Each reader first tries a fast path on the raw input bytes for the usual well-formed item
//! (definite-length heads, see [`head`]) and otherwise falls back to `minicbor`'s typed
//! decoding, which then reports the precise error: both paths accept exactly the same inputs.

use minicbor::data::Type;
use minicbor::Decoder;

use super::DecodeError;
use crate::keys;
use crate::model::{CapacityError, Decimal2, MAX_TEXT_LEN};

/// Maximum nesting of arrays/maps/tags, counting from the top-level map. The deepest DOTS body
/// (scope → conflict-information → conflict-scope → target-port-range → entry) needs 8.
pub(crate) const MAX_DEPTH: usize = 16;

pub(crate) type Result<T> = core::result::Result<T, DecodeError>;

/// The head of the data item at the decoder's position when it has a definite argument
/// (additional information 0–27): `(major type, argument, head length)`. `None` for the rest
/// (indefinite lengths, reserved values, simple values, truncation), which the callers leave to
/// `minicbor` and its error reporting.
#[inline]
pub(crate) fn head(dec: &Decoder<'_>) -> Option<(u8, u64, usize)> {
    let input = dec.input();
    let pos = dec.position();
    let rest = input.get(pos..)?;
    let (&first, args) = rest.split_first()?;
    let major = first >> 5;
    match first & 0x1f {
        ai @ 0..=23 => Some((major, u64::from(ai), 1)),
        24 => Some((major, u64::from(*args.first()?), 2)),
        25 => {
            let b: [u8; 2] = args.get(..2)?.try_into().ok()?;
            Some((major, u64::from(u16::from_be_bytes(b)), 3))
        }
        26 => {
            let b: [u8; 4] = args.get(..4)?.try_into().ok()?;
            Some((major, u64::from(u32::from_be_bytes(b)), 5))
        }
        27 => {
            let b: [u8; 8] = args.get(..8)?.try_into().ok()?;
            Some((major, u64::from_be_bytes(b), 9))
        }
        _ => None,
    }
}

/// Skips `n` bytes (a head [`head`] returned, within the input).
#[inline]
fn advance(dec: &mut Decoder<'_>, n: usize) {
    dec.set_position(dec.position() + n);
}

/// An unsigned integer head (major type 0), consumed; `None` (nothing consumed) otherwise.
#[inline]
pub(crate) fn fast_uint(dec: &mut Decoder<'_>) -> Option<u64> {
    match head(dec) {
        Some((0, v, n)) => {
            advance(dec, n);
            Some(v)
        }
        _ => None,
    }
}

pub(crate) fn map_err(dec: &Decoder<'_>, e: minicbor::decode::Error) -> DecodeError {
    if e.is_end_of_input() {
        DecodeError::Truncated
    } else {
        DecodeError::Malformed {
            offset: e.position().unwrap_or_else(|| dec.position()),
        }
    }
}

pub(crate) fn datatype(dec: &Decoder<'_>) -> Result<Type> {
    match dec.datatype() {
        Ok(Type::Unknown(_)) => Err(DecodeError::Malformed {
            offset: dec.position(),
        }),
        Ok(t) => Ok(t),
        Err(e) => Err(map_err(dec, e)),
    }
}

fn wrong_type(dec: &Decoder<'_>, key: u64) -> DecodeError {
    if matches!(dec.datatype(), Ok(Type::Break)) {
        // A break outside an indefinite-length container is not well-formed CBOR.
        return DecodeError::Malformed {
            offset: dec.position(),
        };
    }
    DecodeError::WrongType {
        key,
        offset: dec.position(),
    }
}

fn is_unsigned(t: Type) -> bool {
    matches!(t, Type::U8 | Type::U16 | Type::U32 | Type::U64)
}

fn is_negative(t: Type) -> bool {
    matches!(t, Type::I8 | Type::I16 | Type::I32 | Type::I64 | Type::Int)
}

/// An unsigned integer (major type 0) that must fit `T`.
pub(crate) fn uint<T: TryFrom<u64>>(dec: &mut Decoder<'_>, key: u64) -> Result<T> {
    if let Some(v) = fast_uint(dec) {
        return T::try_from(v).map_err(|_| DecodeError::OutOfRange { key });
    }
    let t = datatype(dec)?;
    if !is_unsigned(t) {
        return Err(wrong_type(dec, key));
    }
    let v = dec.u64().map_err(|e| map_err(dec, e))?;
    T::try_from(v).map_err(|_| DecodeError::OutOfRange { key })
}

/// A signed integer (major type 0 or 1) that fits `i64`.
pub(crate) fn int(dec: &mut Decoder<'_>, key: u64) -> Result<i64> {
    match head(dec) {
        Some((0, v, n)) => {
            advance(dec, n);
            return i64::try_from(v).map_err(|_| DecodeError::OutOfRange { key });
        }
        Some((1, v, n)) => {
            advance(dec, n);
            // -1 - v, which fits i64 exactly when v does.
            return i64::try_from(v)
                .map(|v| -1 - v)
                .map_err(|_| DecodeError::OutOfRange { key });
        }
        _ => {}
    }
    let t = datatype(dec)?;
    if !is_unsigned(t) && !is_negative(t) {
        return Err(wrong_type(dec, key));
    }
    if t == Type::Int {
        return Err(DecodeError::OutOfRange { key });
    }
    if is_unsigned(t) {
        let v = dec.u64().map_err(|e| map_err(dec, e))?;
        return i64::try_from(v).map_err(|_| DecodeError::OutOfRange { key });
    }
    dec.i64().map_err(|e| map_err(dec, e))
}

/// A boolean (simple values 20/21).
pub(crate) fn boolean(dec: &mut Decoder<'_>, key: u64) -> Result<bool> {
    match dec.input().get(dec.position()) {
        Some(0xf4) => {
            advance(dec, 1);
            return Ok(false);
        }
        Some(0xf5) => {
            advance(dec, 1);
            return Ok(true);
        }
        _ => {}
    }
    if datatype(dec)? != Type::Bool {
        return Err(wrong_type(dec, key));
    }
    dec.bool().map_err(|e| map_err(dec, e))
}

/// An enumeration value.
pub(crate) fn enumeration<T>(
    dec: &mut Decoder<'_>,
    key: u64,
    from: impl FnOnce(u64) -> Option<T>,
) -> Result<T> {
    let v: u64 = uint(dec, key)?;
    from(v).ok_or(DecodeError::UnknownEnumValue { key, value: v })
}

/// A text string (definite or indefinite length), handed to `f` as one `&str`. Indefinite
/// strings are joined in a stack buffer of [`MAX_TEXT_LEN`] bytes.
pub(crate) fn text<R>(
    dec: &mut Decoder<'_>,
    key: u64,
    f: impl FnOnce(&str) -> Result<R>,
) -> Result<R> {
    if let Some((3, len, n)) = head(dec) {
        let start = dec.position() + n;
        let s = usize::try_from(len)
            .ok()
            .and_then(|len| dec.input().get(start..start.checked_add(len)?))
            .and_then(|b| core::str::from_utf8(b).ok());
        if let Some(s) = s {
            dec.set_position(start + s.len());
            return f(s);
        }
    }
    match datatype(dec)? {
        Type::String => {
            let s = dec.str().map_err(|e| map_err(dec, e))?;
            f(s)
        }
        Type::StringIndef => {
            let mut buf: heapless::String<MAX_TEXT_LEN> = heapless::String::new();
            let pos = dec.position();
            let iter = dec.str_iter().map_err(|e| map_err_at(pos, e))?;
            for chunk in iter {
                let chunk = chunk.map_err(|e| map_err_at(pos, e))?;
                buf.push_str(chunk).map_err(|_| DecodeError::Capacity {
                    key,
                    error: CapacityError::TextTooLong {
                        limit: MAX_TEXT_LEN,
                    },
                })?;
            }
            f(&buf)
        }
        _ => Err(wrong_type(dec, key)),
    }
}

fn map_err_at(pos: usize, e: minicbor::decode::Error) -> DecodeError {
    if e.is_end_of_input() {
        DecodeError::Truncated
    } else {
        DecodeError::Malformed {
            offset: e.position().unwrap_or(pos),
        }
    }
}

/// A `decimal64` with fraction-digits 2: tag 4 `[-2, mantissa]` (RFC 9132 Table 5).
pub(crate) fn decimal(dec: &mut Decoder<'_>, key: u64, depth: usize) -> Result<Decimal2> {
    if datatype(dec)? != Type::Tag {
        return Err(wrong_type(dec, key));
    }
    let tag = dec.tag().map_err(|e| map_err(dec, e))?;
    if tag.as_u64() != 4 {
        return Err(DecodeError::InvalidValue { key });
    }
    let mut exponent = None;
    let mut mantissa = None;
    array(dec, key, depth + 1, |dec, i, _| {
        match i {
            0 => exponent = Some(int(dec, key)?),
            1 => mantissa = Some(int(dec, key)?),
            _ => return Err(DecodeError::InvalidValue { key }),
        }
        Ok(())
    })?;
    match (exponent, mantissa) {
        (Some(-2), Some(m)) => Ok(Decimal2::from_hundredths(m)),
        _ => Err(DecodeError::InvalidValue { key }),
    }
}

/// Consumes a break byte if one is next.
fn take_break(dec: &mut Decoder<'_>) -> Result<bool> {
    if datatype(dec)? == Type::Break {
        dec.set_position(dec.position() + 1);
        Ok(true)
    } else {
        Ok(false)
    }
}

/// An array (definite or indefinite); `f(dec, index, depth)` decodes each element.
pub(crate) fn array(
    dec: &mut Decoder<'_>,
    key: u64,
    depth: usize,
    mut f: impl FnMut(&mut Decoder<'_>, usize, usize) -> Result<()>,
) -> Result<()> {
    if depth > MAX_DEPTH {
        return Err(DecodeError::TooDeep { limit: MAX_DEPTH });
    }
    let len = match head(dec) {
        Some((4, len, n)) => {
            advance(dec, n);
            Some(len)
        }
        _ => {
            match datatype(dec)? {
                Type::Array | Type::ArrayIndef => {}
                _ => return Err(wrong_type(dec, key)),
            }
            dec.array().map_err(|e| map_err(dec, e))?
        }
    };
    let mut i = 0usize;
    loop {
        match len {
            Some(n) if (i as u64) >= n => return Ok(()),
            None if take_break(dec)? => return Ok(()),
            _ => {}
        }
        f(dec, i, depth)?;
        i = i.saturating_add(1);
    }
}

/// A map whose keys must be unsigned integers. For each entry whose key is in `known`,
/// `f(dec, key, depth)` decodes the value; a known key seen twice is [`DecodeError::DuplicateKey`].
/// Unknown keys are skipped when comprehension-optional and rejected with
/// [`DecodeError::UnknownKey`] when comprehension-required (RFC 9132 Section 6).
pub(crate) fn map(
    dec: &mut Decoder<'_>,
    within: u64,
    depth: usize,
    known: &[u64],
    mut f: impl FnMut(&mut Decoder<'_>, u64, usize) -> Result<()>,
) -> Result<()> {
    debug_assert!(known.len() <= 64);
    if depth > MAX_DEPTH {
        return Err(DecodeError::TooDeep { limit: MAX_DEPTH });
    }
    let len = match head(dec) {
        Some((5, len, n)) => {
            advance(dec, n);
            Some(len)
        }
        _ => {
            match datatype(dec)? {
                Type::Map | Type::MapIndef => {}
                _ => return Err(wrong_type(dec, within)),
            }
            dec.map().map_err(|e| map_err(dec, e))?
        }
    };
    let mut seen: u64 = 0;
    let mut i: u64 = 0;
    loop {
        match len {
            Some(n) if i >= n => return Ok(()),
            None if take_break(dec)? => return Ok(()),
            _ => {}
        }
        i = i.saturating_add(1);
        let key_pos = dec.position();
        let key = match fast_uint(dec) {
            Some(key) => key,
            None => {
                if !is_unsigned(datatype(dec)?) {
                    return Err(DecodeError::InvalidKey { offset: key_pos });
                }
                dec.u64().map_err(|e| map_err(dec, e))?
            }
        };
        match known.iter().position(|k| *k == key) {
            Some(idx) => {
                let bit = 1u64 << (idx % 64);
                if seen & bit != 0 {
                    return Err(DecodeError::DuplicateKey { key });
                }
                seen |= bit;
                f(dec, key, depth + 1)?;
            }
            None if keys::is_comprehension_required(key) => {
                return Err(DecodeError::UnknownKey { key, within });
            }
            None => skip(dec, depth + 1)?,
        }
    }
}

/// Skips one data item of any shape without recursion, within the nesting limit.
pub(crate) fn skip(dec: &mut Decoder<'_>, depth: usize) -> Result<()> {
    let room = MAX_DEPTH.saturating_sub(depth);
    // Remaining items of each open container; `None` for indefinite length.
    let mut stack: heapless::Vec<Option<u64>, MAX_DEPTH> = heapless::Vec::new();
    loop {
        let pos = dec.position();
        let mut completed = match datatype(dec)? {
            Type::Tag => {
                dec.tag().map_err(|e| map_err(dec, e))?;
                false
            }
            t @ (Type::Array | Type::Map | Type::ArrayIndef | Type::MapIndef) => {
                let n = if matches!(t, Type::Array | Type::ArrayIndef) {
                    dec.array().map_err(|e| map_err(dec, e))?
                } else {
                    dec.map()
                        .map_err(|e| map_err(dec, e))?
                        .map(|n| n.saturating_mul(2))
                };
                if n == Some(0) {
                    true
                } else {
                    if stack.len() >= room {
                        return Err(DecodeError::TooDeep { limit: MAX_DEPTH });
                    }
                    stack
                        .push(n)
                        .map_err(|_| DecodeError::TooDeep { limit: MAX_DEPTH })?;
                    false
                }
            }
            Type::Break => {
                if stack.last() == Some(&None) {
                    dec.set_position(pos + 1);
                    stack.pop();
                    true
                } else {
                    return Err(DecodeError::Malformed { offset: pos });
                }
            }
            _ => {
                // Scalars, byte and text strings (definite or chunked): no nesting.
                dec.skip().map_err(|e| map_err(dec, e))?;
                true
            }
        };
        while completed {
            match stack.last_mut() {
                None => return Ok(()),
                Some(Some(n)) => {
                    *n -= 1;
                    if *n == 0 {
                        stack.pop();
                    } else {
                        completed = false;
                    }
                }
                Some(None) => completed = false,
            }
        }
        // A tag alone does not complete an item: the tagged item follows. Tags cost one byte
        // each, so a run of tags is bounded by the input.
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skip_all(bytes: &[u8]) -> Result<usize> {
        let mut dec = Decoder::new(bytes);
        skip(&mut dec, 0)?;
        Ok(dec.position())
    }

    #[test]
    fn skips_nested_and_indefinite_items() {
        // [1, {2: [3, 4]}, "ab"]
        assert_eq!(
            skip_all(&[0x83, 0x01, 0xa1, 0x02, 0x82, 0x03, 0x04, 0x62, b'a', b'b']),
            Ok(10)
        );
        // [_ 1, [_ ], {_ 1: 2}]  then trailing 0x00 not consumed
        assert_eq!(
            skip_all(&[0x9f, 0x01, 0x9f, 0xff, 0xbf, 0x01, 0x02, 0xff, 0xff, 0x00]),
            Ok(9)
        );
        // tag 4 [-2, 150]
        assert_eq!(skip_all(&[0xc4, 0x82, 0x21, 0x18, 0x96]), Ok(5));
        // empty containers and a lone scalar
        assert_eq!(skip_all(&[0x80]), Ok(1));
        assert_eq!(skip_all(&[0xa0]), Ok(1));
        assert_eq!(skip_all(&[0xf5]), Ok(1));
    }

    #[test]
    fn skip_rejects_bombs_and_garbage() {
        let bomb = [0x9f; 64];
        assert_eq!(
            skip_all(&bomb),
            Err(DecodeError::TooDeep { limit: MAX_DEPTH })
        );
        let nested = [0x81; 64];
        assert_eq!(
            skip_all(&nested),
            Err(DecodeError::TooDeep { limit: MAX_DEPTH })
        );
        assert_eq!(skip_all(&[0x82, 0x01]), Err(DecodeError::Truncated));
        assert_eq!(skip_all(&[0xff]), Err(DecodeError::Malformed { offset: 0 }));
        assert_eq!(skip_all(&[0x1c]), Err(DecodeError::Malformed { offset: 0 }));
        // A map claiming 2^64-1 entries ends at the end of input.
        assert_eq!(
            skip_all(&[0xbb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
            Err(DecodeError::Truncated)
        );
        // Tags only.
        assert_eq!(skip_all(&[0xc4; 32]), Err(DecodeError::Truncated));
    }
}
