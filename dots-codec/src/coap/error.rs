//! Errors of the CoAP codec, and what RFC 7252 tells a receiver to do about them.

use super::{Code, MessageType, OptionNumber};

/// A malformed message or frame (RFC 7252 §3, §3.1, §4.1, §4.2; RFC 8323 §3.2).
///
/// Over UDP a format error is answered as [`ParseError::rejection`] says (RFC 7252 §4.2/§4.3);
/// over TCP/TLS by an Abort signal and closing the connection (RFC 8323 §5.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// The bytes end before the header, token, an extended option delta/length or an option value
    /// does.
    #[error("truncated CoAP message")]
    Truncated,
    /// Version other than 1: RFC 7252 §3 says such messages MUST be silently ignored.
    #[error("unknown CoAP version {0}")]
    UnknownVersion(u8),
    /// Token length 9–15 (RFC 7252 §3; RFC 8323 §3.2).
    #[error("reserved token length {0}")]
    ReservedTokenLength(u8),
    /// Option delta nibble 15 in a byte that is not the payload marker (RFC 7252 §3.1).
    #[error("reserved option delta 15")]
    ReservedOptionDelta,
    /// Option length nibble 15 (RFC 7252 §3.1).
    #[error("reserved option length 15")]
    ReservedOptionLength,
    /// An option number beyond 65535 after adding the deltas.
    #[error("option number beyond 65535")]
    OptionNumberOverflow,
    /// A payload marker followed by no payload (RFC 7252 §3).
    #[error("payload marker with an empty payload")]
    EmptyPayload,
    /// Code 0.00 with a token, options or a payload (RFC 7252 §4.1).
    #[error("empty message (0.00) carries a token, options or payload")]
    NonEmptyEmptyMessage,
    /// A code of reserved class 1, 3 or 6, or class 7 (signalling, only over TCP/TLS), over UDP
    /// (RFC 7252 §3, §4.2: such messages are rejected).
    #[error("code {0} has a reserved class")]
    ReservedClass(Code),
    /// A message type the code does not allow (RFC 7252 §4.2, §4.3, Table 1): an Empty NON, a
    /// request in an ACK, or a Reset that is not Empty.
    #[error("message type {ty:?} cannot carry code {code}")]
    TypeCodeMismatch {
        /// The message type.
        ty: MessageType,
        /// The code.
        code: Code,
    },
    /// Bytes after the end of the frame its Len field announces (RFC 8323 §3.2), given to
    /// a function that parses exactly one frame.
    #[error("bytes after the end of the frame")]
    TrailingBytes,
    /// A frame longer than the decoder's maximum (the Max-Message-Size the receiver announced,
    /// RFC 8323 §5.3.1). The connection cannot be resynchronised: abort it.
    #[error("frame of {len} bytes exceeds the maximum of {max}")]
    FrameTooLarge {
        /// Length of the whole frame (header included), saturated at `u64::MAX`.
        len: u64,
        /// The decoder's maximum.
        max: usize,
    },
}

/// The fixed header of a UDP message whose first 4 bytes were readable (RFC 7252 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Header {
    /// Message type.
    pub ty: MessageType,
    /// Code.
    pub code: Code,
    /// Message ID.
    pub message_id: u16,
}

/// What a receiver does with a message it rejects (RFC 7252 §4.2, §4.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rejection {
    /// Drop it silently: unreadable header, unknown version, or an ACK or RST (which are never
    /// answered).
    Ignore,
    /// A Confirmable message: send a Reset with this message ID ([`MessageRepr::reset`]), and
    /// otherwise ignore it.
    ///
    /// [`MessageRepr::reset`]: super::MessageRepr::reset
    Reset {
        /// The rejected message's ID, echoed by the Reset.
        message_id: u16,
    },
    /// A Non-confirmable message: MAY send a Reset with this message ID, else ignore it.
    MayReset {
        /// The rejected message's ID, echoed by a Reset if one is sent.
        message_id: u16,
    },
}

impl Rejection {
    /// The rejection for a message with this header: Reset for CON, optional Reset for NON,
    /// nothing for ACK and RST.
    #[must_use]
    pub const fn for_header(header: &Header) -> Rejection {
        match header.ty {
            MessageType::Confirmable => Rejection::Reset {
                message_id: header.message_id,
            },
            MessageType::NonConfirmable => Rejection::MayReset {
                message_id: header.message_id,
            },
            MessageType::Acknowledgement | MessageType::Reset => Rejection::Ignore,
        }
    }
}

/// A UDP datagram that is not a well-formed CoAP message, with what RFC 7252 §4.2/§4.3 allow the
/// receiver to answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[error("{error}")]
pub struct ParseError {
    /// What is wrong.
    pub error: FormatError,
    /// The fixed header, when the first 4 bytes were there and the version was 1.
    pub header: Option<Header>,
}

impl ParseError {
    /// What to do: Reset a CON, optionally Reset a NON, ignore the rest (RFC 7252 §4.2, §4.3).
    /// A message with an unknown version is always ignored (RFC 7252 §3).
    #[must_use]
    pub const fn rejection(&self) -> Rejection {
        match &self.header {
            Some(h) => Rejection::for_header(h),
            None => Rejection::Ignore,
        }
    }
}

/// An option value that does not fit its definition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[error("option {number}: {kind}")]
pub struct OptionError {
    /// The option.
    pub number: OptionNumber,
    /// What is wrong.
    pub kind: OptionErrorKind,
}

impl OptionError {
    pub(crate) const fn new(number: OptionNumber, kind: OptionErrorKind) -> OptionError {
        OptionError { number, kind }
    }

    /// Whether RFC 7252 §5.4.3 lets a receiver ignore the option: a value of the wrong length is
    /// treated like an unrecognised option, which is silently ignored when elective.
    #[must_use]
    pub const fn is_ignorable(&self) -> bool {
        matches!(self.kind, OptionErrorKind::Length { .. }) && !self.number.is_critical()
    }

    /// The response code for a request with this option: 4.02 (Bad Option) for a critical
    /// option of the wrong length (treated as unrecognised, RFC 7252 §5.4.1, §5.4.3), 4.00 (Bad
    /// Request) for an invalid value (e.g. Hop-Limit 0, RFC 8768 §3; SZX 7 over UDP,
    /// RFC 7959 §2.2; text that is not UTF-8).
    #[must_use]
    pub const fn response_code(&self) -> Code {
        match self.kind {
            OptionErrorKind::Length { .. } if self.number.is_critical() => Code::BAD_OPTION,
            _ => Code::BAD_REQUEST,
        }
    }
}

/// The ways an option value can be wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum OptionErrorKind {
    /// Length outside the option's registered range (RFC 7252 §5.10 Table 4 and the defining
    /// RFCs), including uint values longer than 4 bytes.
    #[error("value length {len} outside the allowed range")]
    Length {
        /// The value's length in bytes.
        len: usize,
    },
    /// A string option that is not UTF-8 (RFC 7252 §3.2).
    #[error("value is not UTF-8")]
    Utf8,
    /// A value the option's definition forbids (Hop-Limit 0; Block SZX 7 over UDP).
    #[error("invalid value")]
    Value,
}

/// The caller's output buffer is too small; nothing useful was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[error("buffer too small: {needed} bytes needed")]
pub struct BufferTooSmall {
    /// Bytes the encoding needs.
    pub needed: usize,
}

/// Building an owned message failed: a fixed capacity was exceeded or a value is invalid for its
/// option.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The options do not fit the option storage (the `OPTS` capacity, in encoded bytes).
    #[error("options need {needed} bytes, capacity is {capacity}")]
    OptionsFull {
        /// Encoded option bytes needed.
        needed: usize,
        /// The capacity.
        capacity: usize,
    },
    /// The payload does not fit the payload storage (the `PAYLOAD` capacity).
    #[error("payload of {needed} bytes, capacity is {capacity}")]
    PayloadFull {
        /// Payload bytes needed.
        needed: usize,
        /// The capacity.
        capacity: usize,
    },
    /// A token longer than 8 bytes (RFC 7252 §3).
    #[error("token of {0} bytes (at most 8)")]
    TokenTooLong(usize),
    /// An option value whose length the option does not allow (RFC 7252 §5.10 and the defining
    /// RFCs), or longer than any option can be on the wire (65804 bytes, RFC 7252 §3.1).
    #[error("option {number}: value of {len} bytes has a length the option does not allow")]
    InvalidLength {
        /// The option.
        number: OptionNumber,
        /// The value's length.
        len: usize,
    },
}

/// What a receiver does with a message carrying a critical option it does not recognise
/// (RFC 7252 §5.4.1; RFC 8323 §5.2 for signalling messages).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BadOptionAction {
    /// A Confirmable request (over UDP) or a request over TCP/TLS: answer 4.02 (Bad Option),
    /// piggybacked in the ACK over UDP, with a diagnostic payload naming the option
    /// (RFC 7252 §5.4.1).
    RespondBadOption,
    /// A Non-confirmable request, or any response: reject the message (RFC 7252 §4.2, §4.3).
    Reject(Rejection),
    /// A signalling message over TCP/TLS: abort the connection (RFC 8323 §5.2, §5.6).
    Abort,
}

/// A message carries a critical option the receiver does not recognise, a critical option of the
/// wrong length, or a second occurrence of a non-repeatable critical option (RFC 7252 §5.4.1,
/// §5.4.3, §5.4.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[error("unrecognised critical option {number}")]
pub struct UnrecognizedOption {
    /// The first such option.
    pub number: OptionNumber,
    /// What RFC 7252 (or RFC 8323) tells the receiver to do.
    pub action: BadOptionAction,
}
