//! The CBOR encoding of the signal channel (RFC 9132 Section 6, content-format 271
//! `application/dots+cbor`): integer keys from [`crate::keys`], hand-written strict decoding and
//! allocation-free encoding into a caller buffer.
//!
//! Decoding rules (each violation is a [`DecodeError`] carrying the CoAP code a server answers
//! with, see [`DecodeError::response_code`]):
//!
//! - unknown comprehension-required keys → [`DecodeError::UnknownKey`] (4.00, with the key in
//!   the diagnostic); unknown comprehension-optional keys are skipped;
//! - duplicate keys, wrong major types, integers out of range, undefined enumeration values,
//!   malformed or truncated CBOR, trailing bytes, nesting deeper than 16: typed errors;
//! - `decimal64` must be tag 4 `[-2, mantissa]`; `mitigation-start` and the 64-bit counters are
//!   plain unsigned integers; booleans are simple values 20/21;
//! - a model limit exceeded → [`DecodeError::Capacity`] (4.13).
//!
//! Work is linear in the input: every step consumes input bytes, and no container is allocated.
//!
//! Encoding writes definite-length maps with keys in ascending numeric order (the RFC 8949
//! Section 4.2.1 deterministic order, which is also the order of RFC 9132 Figure 8) and the
//! shortest integer forms.

mod config;
mod ip;
mod read;
mod scope;
mod signal;
mod telemetry;
mod telemetry_attack;
mod write;

use crate::coap::Code;
use crate::keys;
use crate::model::{
    CapacityError, EfficacyUpdate, Heartbeat, MitigationRequest, MitigationScope, RedirectedSignal,
    ScopeEntry, ScopeTelemetry, SignalConfig, SignalMessage, Telemetry, TelemetrySetup,
};

pub(crate) use ip::parse_prefix;
pub use write::EncodeError;

/// Why a CBOR body was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended inside a data item (or is empty).
    #[error("truncated CBOR")]
    Truncated,
    /// Not well-formed CBOR (reserved values, invalid UTF-8, stray break ...).
    #[error("malformed CBOR at byte {offset}")]
    Malformed {
        /// Byte offset of the problem.
        offset: usize,
    },
    /// Bytes follow the body's single data item.
    #[error("trailing bytes after the body at byte {offset}")]
    TrailingBytes {
        /// Offset of the first trailing byte.
        offset: usize,
    },
    /// Arrays, maps and tags nested deeper than the limit.
    #[error("nesting deeper than {limit} levels")]
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// A member has the wrong CBOR major type (or a map key is where a value belongs).
    #[error("'{}' (key {key}) has the wrong CBOR type at byte {offset}", keys::name(*key))]
    WrongType {
        /// The key of the member (0 for the body itself).
        key: u64,
        /// Byte offset of the value.
        offset: usize,
    },
    /// A map key that is not an unsigned integer.
    #[error("map key at byte {offset} is not an unsigned integer")]
    InvalidKey {
        /// Byte offset of the key.
        offset: usize,
    },
    /// An unknown comprehension-required key (RFC 9132 Section 6).
    #[error("unknown comprehension-required key {key} in '{}'", keys::name(*within))]
    UnknownKey {
        /// The unknown key.
        key: u64,
        /// The key of the enclosing member (0 for the body itself).
        within: u64,
    },
    /// A key appears twice in one map.
    #[error("duplicate key '{}' ({key})", keys::name(*key))]
    DuplicateKey {
        /// The key.
        key: u64,
    },
    /// A mandatory member is missing.
    #[error("missing mandatory '{}' (key {key})", keys::name(*key))]
    MissingMember {
        /// The key of the missing member.
        key: u64,
    },
    /// An integer does not fit the member's type (e.g. a port above 65535).
    #[error("'{}' (key {key}) is out of range", keys::name(*key))]
    OutOfRange {
        /// The key.
        key: u64,
    },
    /// An enumeration value that is not defined.
    #[error("'{}' (key {key}) has undefined value {value}", keys::name(*key))]
    UnknownEnumValue {
        /// The key.
        key: u64,
        /// The value.
        value: u64,
    },
    /// A value of the right type that does not parse (prefix, address, decimal exponent ...).
    #[error("'{}' (key {key}) has an invalid value", keys::name(*key))]
    InvalidValue {
        /// The key.
        key: u64,
    },
    /// A member that must never appear in a body (`cuid`, `cdid`: RFC 9132 Section 4.4.1.1).
    #[error("'{}' (key {key}) must not appear in a message body", keys::name(*key))]
    NotAllowed {
        /// The key.
        key: u64,
    },
    /// A model limit is exceeded (answered 4.13).
    #[error("'{}' (key {key}): {error}", keys::name(*key))]
    Capacity {
        /// The key of the member.
        key: u64,
        /// Which limit.
        error: CapacityError,
    },
    /// The body is not the expected message type (e.g. a heartbeat on `/mitigate`), or is
    /// a message type this crate does not model.
    #[error("unexpected message '{}' (key {key})", keys::name(*key))]
    UnexpectedMessage {
        /// The top-level key found.
        key: u64,
    },
    /// The top-level map does not have exactly one member (RFC 9132 `message-type` choice).
    #[error("the body has {count} top-level members; exactly one is expected")]
    MessageCount {
        /// Number of top-level members.
        count: u64,
    },
    /// Members of two cases of one YANG `choice` (RFC 9244 Section 7: `current-config`,
    /// `total-pipe-capacity` and `baseline` cannot be mixed).
    #[error("'{}' (key {key}) cannot appear with '{}' (key {other}): they are alternatives", keys::name(*key), keys::name(*other))]
    MixedChoice {
        /// The member found second.
        key: u64,
        /// The member found first.
        other: u64,
    },
    /// A mitigation request (PUT) without exactly one `scope` (RFC 9132 Section 4.4.1.3).
    #[error("a mitigation request carries {count} scopes; exactly one is expected")]
    ScopeCount {
        /// Number of scopes found.
        count: usize,
    },
}

impl DecodeError {
    /// The CoAP response code a DOTS server answers with: 4.13 for an exceeded limit, 4.00 for
    /// everything else (RFC 9132 Sections 6 and 9).
    pub fn response_code(&self) -> Code {
        match self {
            DecodeError::Capacity { .. } => Code::REQUEST_ENTITY_TOO_LARGE,
            _ => Code::BAD_REQUEST,
        }
    }
}

mod sealed {
    pub trait Sealed {}
}

/// A signal channel body with a CBOR encoding. Implemented by every top-level message type.
pub trait CborBody: sealed::Sealed + Sized {
    /// Decodes a complete body (no trailing bytes).
    fn decode_cbor(bytes: &[u8]) -> Result<Self, DecodeError>;

    /// Decodes a complete body into `out`, replacing its content: the same as
    /// `*out = Self::decode_cbor(bytes)?`, but large bodies are decoded where they are to
    /// live instead of being moved there (a `MitigationRequest` is 1 KB, a `MitigationScope`
    /// 26 KB). On error `out` holds an unspecified but valid value.
    fn decode_cbor_into(bytes: &[u8], out: &mut Self) -> Result<(), DecodeError>;

    /// Encodes into `buf`, returning the number of bytes written. Too small a buffer is
    /// [`EncodeError::BufferTooSmall`] with the exact size needed; `buf` content is then
    /// unspecified.
    fn encode_cbor(&self, buf: &mut [u8]) -> Result<usize, EncodeError>;

    /// The exact number of bytes [`encode_cbor`](CborBody::encode_cbor) writes.
    fn encoded_len(&self) -> usize;
}

macro_rules! body {
    ($ty:ty, in_place $decode:path, $encode:path) => {
        body!(@impl $ty, |dec| {
            // Large bodies are decoded in place and moved once.
            let mut v = <$ty>::default();
            $decode(dec, &mut v).map(|()| v)
        }, |dec, out| {
            *out = <$ty>::default();
            $decode(dec, out)
        }, $encode);
    };
    ($ty:ty, $decode:path, $encode:path) => {
        body!(@impl $ty, |dec| $decode(dec), |dec, out| {
            *out = $decode(dec)?;
            Ok(())
        }, $encode);
    };
    (@impl $ty:ty, |$dec:ident| $decode:expr, |$d:ident, $out:ident| $decode_into:expr, $encode:path) => {
        impl sealed::Sealed for $ty {}
        impl CborBody for $ty {
            fn decode_cbor(bytes: &[u8]) -> Result<Self, DecodeError> {
                let mut dec = minicbor::Decoder::new(bytes);
                let $dec = &mut dec;
                let v = $decode?;
                finish(&dec, bytes)?;
                Ok(v)
            }
            fn decode_cbor_into(bytes: &[u8], $out: &mut Self) -> Result<(), DecodeError> {
                let mut dec = minicbor::Decoder::new(bytes);
                let $d = &mut dec;
                $decode_into?;
                finish(&dec, bytes)
            }
            fn encode_cbor(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
                write::encode_into(buf, self)
            }
            fn encoded_len(&self) -> usize {
                write::measure(self)
            }
        }
        impl write::Emit for $ty {
            fn emit<W: minicbor::encode::Write>(
                &self,
                e: &mut minicbor::Encoder<W>,
            ) -> Result<(), minicbor::encode::Error<W::Error>> {
                $encode(e, self)
            }
        }
    };
}

body!(
    SignalMessage,
    signal::decode_message,
    signal::encode_message
);
body!(
    MitigationScope,
    in_place scope::decode_mitigation_scope,
    scope::encode_mitigation_scope
);
body!(
    MitigationRequest,
    in_place scope::decode_mitigation_request,
    scope::encode_mitigation_request
);
body!(
    EfficacyUpdate,
    in_place scope::decode_efficacy_update,
    scope::encode_efficacy_update
);
body!(
    TelemetrySetup,
    in_place telemetry::decode_telemetry_setup,
    telemetry::encode_telemetry_setup
);
body!(
    Telemetry,
    in_place telemetry::decode_telemetry,
    telemetry::encode_telemetry
);
body!(
    SignalConfig,
    config::decode_signal_config,
    config::encode_signal_config
);
body!(
    Heartbeat,
    signal::decode_heartbeat,
    signal::encode_heartbeat
);
body!(
    RedirectedSignal,
    signal::decode_redirected_signal,
    signal::encode_redirected_signal
);

fn finish(dec: &minicbor::Decoder<'_>, bytes: &[u8]) -> Result<(), DecodeError> {
    if dec.position() < bytes.len() {
        Err(DecodeError::TrailingBytes {
            offset: dec.position(),
        })
    } else {
        Ok(())
    }
}

/// Encodes a `mitigation-scope` body from borrowed entries (e.g. a server's table, any number of
/// them), into `buf`. Returns the bytes written.
pub fn encode_scopes<'a, I>(entries: I, buf: &mut [u8]) -> Result<usize, EncodeError>
where
    I: IntoIterator<Item = &'a ScopeEntry>,
    I::IntoIter: ExactSizeIterator + Clone,
{
    write::encode_into(buf, &scope::Entries(entries.into_iter()))
}

/// The exact size [`encode_scopes`] needs for `entries`.
pub fn encoded_scopes_len<'a, I>(entries: I) -> usize
where
    I: IntoIterator<Item = &'a ScopeEntry>,
    I::IntoIter: ExactSizeIterator + Clone,
{
    write::measure(&scope::Entries(entries.into_iter()))
}

/// Encodes a `mitigation-scope` body from borrowed entries, each with its RFC 9244 telemetry if
/// any (a server's table and its latest telemetry), into `buf`. Returns the bytes written.
pub fn encode_scopes_with_telemetry<'a, I>(entries: I, buf: &mut [u8]) -> Result<usize, EncodeError>
where
    I: IntoIterator<Item = (&'a ScopeEntry, Option<&'a ScopeTelemetry>)>,
    I::IntoIter: ExactSizeIterator + Clone,
{
    write::encode_into(buf, &scope::TelemetryEntries(entries.into_iter()))
}

/// The exact size [`encode_scopes_with_telemetry`] needs for `entries`.
pub fn encoded_scopes_with_telemetry_len<'a, I>(entries: I) -> usize
where
    I: IntoIterator<Item = (&'a ScopeEntry, Option<&'a ScopeTelemetry>)>,
    I::IntoIter: ExactSizeIterator + Clone,
{
    write::measure(&scope::TelemetryEntries(entries.into_iter()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Lifetime, Scope};

    #[test]
    fn decode_into_replaces_the_content() {
        let mut s = Scope::new();
        s.targets
            .push_prefix("2001:db8:6401::1/128".parse().unwrap())
            .unwrap();
        s.lifetime = Some(Lifetime::Seconds(3600));
        let r = MitigationRequest::new(s);
        let mut buf = [0u8; 128];
        let n = r.encode_cbor(&mut buf).unwrap();
        let mut out = MitigationRequest::default();
        out.entry.mid = Some(7);
        out.entry.scope.targets.push_fqdn("stale.example").unwrap();
        MitigationRequest::decode_cbor_into(&buf[..n], &mut out).unwrap();
        assert_eq!(out, r);
        assert_eq!(
            MitigationRequest::decode_cbor_into(&buf[..n - 1], &mut out),
            MitigationRequest::decode_cbor(&buf[..n - 1]).map(|_| ())
        );
        let mut c = SignalConfig::default();
        assert!(SignalConfig::decode_cbor_into(&buf[..n], &mut c).is_err());
    }
}
