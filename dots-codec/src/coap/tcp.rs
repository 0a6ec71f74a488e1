//! CoAP over TCP and TLS (RFC 8323 §3.2): the zero-copy [`Frame`] view and the owned
//! [`FrameRepr`]. Frames have a Len/TKL byte with an extended length instead of the UDP
//! version/type/message ID; signalling codes 7.xx are in [`signal`](super::signal).

use core::fmt;

use super::error::{
    BadOptionAction, BufferTooSmall, BuildError, FormatError, Rejection, UnrecognizedOption,
};
use super::options::{split_options, OptionList, Options, PAYLOAD_MARKER};
use super::udp::{write_parts, write_summary, DEFAULT_OPTIONS_CAPACITY, DEFAULT_PAYLOAD_CAPACITY};
use super::{signal, Code, MessageRepr, MessageType, OptionNumber, Token};

/// The length fields of a frame header (RFC 8323 §3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FrameHeader {
    /// Bytes before the token: the Len/TKL byte, the extended length, the code.
    pub(crate) prefix_len: usize,
    /// Token length (0–8).
    pub(crate) tkl: usize,
    /// Length of the whole frame, saturated at `u64::MAX`.
    pub(crate) total: u64,
}

/// How many extended-length bytes a Len nibble calls for.
const fn ext_len_bytes(len_nibble: u8) -> usize {
    match len_nibble {
        13 => 1,
        14 => 2,
        15 => 4,
        _ => 0,
    }
}

/// Reads the Len/TKL byte and extended length at the start of `bytes`. `Ok(None)` while they are
/// incomplete.
pub(crate) fn read_frame_header(bytes: &[u8]) -> Result<Option<FrameHeader>, FormatError> {
    let Some(&first) = bytes.first() else {
        return Ok(None);
    };
    let len_nibble = first >> 4;
    let tkl = first & 0x0f;
    if usize::from(tkl) > Token::MAX_LEN {
        return Err(FormatError::ReservedTokenLength(tkl));
    }
    let ext = ext_len_bytes(len_nibble);
    let Some(ext_bytes) = bytes.get(1..1 + ext) else {
        return Ok(None);
    };
    let ext_value = ext_bytes
        .iter()
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    let body_len = match len_nibble {
        13 => ext_value + 13,
        14 => ext_value + 269,
        15 => ext_value + 65805,
        n => u64::from(n),
    };
    let prefix_len = 1 + ext + 1;
    Ok(Some(FrameHeader {
        prefix_len,
        tkl: usize::from(tkl),
        total: body_len.saturating_add((prefix_len + usize::from(tkl)) as u64),
    }))
}

/// The length of the frame at the start of `bytes` once its Len/TKL byte and extended length are
/// there (`Ok(None)` before), so a reader knows how many bytes to wait for.
///
/// # Errors
/// [`FormatError::ReservedTokenLength`]; [`FormatError::FrameTooLarge`] when the length does not
/// fit `usize`.
pub fn frame_len(bytes: &[u8]) -> Result<Option<usize>, FormatError> {
    match read_frame_header(bytes)? {
        None => Ok(None),
        Some(h) => usize::try_from(h.total)
            .map(Some)
            .map_err(|_| FormatError::FrameTooLarge {
                len: h.total,
                max: usize::MAX,
            }),
    }
}

/// Where the parts of a checked frame are, without borrowing it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FrameLayout {
    code_at: usize,
    options_end: usize,
    payload_start: usize,
}

impl FrameLayout {
    pub(crate) fn parse(bytes: &[u8]) -> Result<FrameLayout, FormatError> {
        let header = read_frame_header(bytes)?.ok_or(FormatError::Truncated)?;
        let total = usize::try_from(header.total).map_err(|_| FormatError::Truncated)?;
        if bytes.len() < total {
            return Err(FormatError::Truncated);
        }
        if bytes.len() > total {
            return Err(FormatError::TrailingBytes);
        }
        let token_end = header.prefix_len + header.tkl;
        let rest = bytes.get(token_end..).ok_or(FormatError::Truncated)?;
        let (options_end, payload_start) = split_options(rest)?;
        Ok(FrameLayout {
            code_at: header.prefix_len - 1,
            options_end: token_end + options_end,
            payload_start: token_end + payload_start,
        })
    }

    /// The frame in `bytes`, which must be the bytes this layout was parsed from.
    pub(crate) fn frame(self, bytes: &[u8]) -> Frame<'_> {
        Frame {
            bytes,
            code_at: self.code_at,
            options_end: self.options_end,
            payload_start: self.payload_start,
        }
    }
}

/// A well-formed CoAP-over-TCP/TLS frame, borrowed (zero-copy).
///
/// Unlike over UDP, code 0.00 may carry a token, options and payload: RFC 8323 §3.4 makes Empty
/// messages a keepalive that the receiver ignores, so their content is not checked beyond the
/// framing. Block options with SZX 7 are BERT blocks (RFC 8323 §6).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Frame<'a> {
    bytes: &'a [u8],
    code_at: usize,
    options_end: usize,
    payload_start: usize,
}

impl<'a> Frame<'a> {
    /// Parses exactly one frame.
    ///
    /// # Errors
    /// [`FormatError::Truncated`] when `bytes` end early, [`FormatError::TrailingBytes`] when
    /// they go on past the frame, or the first format error of the frame (RFC 8323 §3.2,
    /// RFC 7252 §3.1). RFC 8323 §5.6: answer with an Abort and close the connection.
    pub fn parse(bytes: &'a [u8]) -> Result<Frame<'a>, FormatError> {
        FrameLayout::parse(bytes).map(|layout| layout.frame(bytes))
    }

    /// The frame's bytes.
    #[must_use]
    #[inline]
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Code.
    #[must_use]
    #[inline]
    pub fn code(&self) -> Code {
        Code::from_raw(self.bytes.get(self.code_at).copied().unwrap_or(0))
    }

    /// The token bytes.
    #[must_use]
    #[inline]
    pub fn token_bytes(&self) -> &'a [u8] {
        let tkl = usize::from(self.bytes.first().copied().unwrap_or(0) & 0x0f);
        let start = self.code_at + 1;
        self.bytes.get(start..start + tkl).unwrap_or(&[])
    }

    /// The token.
    #[must_use]
    #[inline]
    pub fn token(&self) -> Token {
        Token::new(self.token_bytes()).unwrap_or_default()
    }

    /// The options (for a signalling code, numbered per code: see [`Frame::signal`]).
    #[must_use]
    #[inline]
    pub fn options(&self) -> Options<'a> {
        let start = self.code_at + 1 + self.token_bytes().len();
        Options::new_checked(self.bytes.get(start..self.options_end).unwrap_or(&[]), true)
    }

    /// The payload (empty when there is none).
    #[must_use]
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        self.bytes.get(self.payload_start..).unwrap_or(&[])
    }

    /// What to do about an unrecognised critical option: 4.02 for a request, Abort for a
    /// signalling message (RFC 8323 §5.2), ignore a response (there is no Reset over TCP).
    #[must_use]
    pub fn bad_option_action(&self) -> BadOptionAction {
        let code = self.code();
        if code.is_request() {
            BadOptionAction::RespondBadOption
        } else if code.is_signaling() {
            BadOptionAction::Abort
        } else {
            BadOptionAction::Reject(Rejection::Ignore)
        }
    }

    /// Checks the critical options (RFC 7252 §5.4.1, §5.4.3, §5.4.5), against the per-code
    /// signalling options of RFC 8323 §5 for a 7.xx code.
    ///
    /// # Errors
    /// The first unrecognised critical option and what to do about it.
    pub fn check_critical_options(&self) -> Result<(), UnrecognizedOption> {
        let code = self.code();
        let found = if code.is_signaling() {
            self.options().first_unrecognized_critical(
                |n| signal::option_spec(code, n).is_some(),
                |n| signal::option_spec(code, n),
            )
        } else {
            self.options().unrecognized_critical_option()
        };
        match found {
            None => Ok(()),
            Some(number) => Err(UnrecognizedOption {
                number,
                action: self.bad_option_action(),
            }),
        }
    }

    /// As [`Frame::check_critical_options`] for a request or response, with the caller's set of
    /// recognised options.
    ///
    /// # Errors
    /// The first unrecognised critical option and what to do about it.
    pub fn check_critical_options_with(
        &self,
        recognizes: impl FnMut(OptionNumber) -> bool,
    ) -> Result<(), UnrecognizedOption> {
        match self.options().unrecognized_critical_option_with(recognizes) {
            None => Ok(()),
            Some(number) => Err(UnrecognizedOption {
                number,
                action: self.bad_option_action(),
            }),
        }
    }
}

impl fmt::Debug for Frame<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Frame")
            .field("code", &self.code())
            .field("token", &self.token())
            .field("options", &self.options())
            .field("payload_len", &self.payload().len())
            .finish()
    }
}

/// One line: `7.01 CSM token=(empty), Option 2: …`.
impl fmt::Display for Frame<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_summary(
            f,
            None,
            self.code(),
            self.token(),
            self.options(),
            self.payload(),
        )
    }
}

/// An owned CoAP-over-TCP/TLS frame in bounded storage (see [`MessageRepr`] for the
/// capacities). `FrameRepr::parse(&Frame::parse(&bytes)?)` gives back an equal value; `emit`
/// writes exactly [`FrameRepr::encoded_len`] bytes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FrameRepr<
    const OPTS: usize = DEFAULT_OPTIONS_CAPACITY,
    const PAYLOAD: usize = DEFAULT_PAYLOAD_CAPACITY,
> {
    /// Code.
    pub code: Code,
    /// Token.
    pub token: Token,
    /// Options, sorted, in wire encoding.
    pub options: OptionList<OPTS>,
    /// Payload; empty means no payload marker.
    pub payload: heapless::Vec<u8, PAYLOAD>,
}

impl<const OPTS: usize, const PAYLOAD: usize> FrameRepr<OPTS, PAYLOAD> {
    // The Len field carries at most 2^32 - 1 + 65805 bytes (RFC 8323 §3.2); the capacities must
    // stay below that for every frame to be encodable.
    const FITS_LEN_FIELD: () = assert!(
        (OPTS as u64) + (PAYLOAD as u64) < u32::MAX as u64,
        "FrameRepr capacities exceed what the RFC 8323 Len field can describe"
    );

    /// A frame without options or payload.
    #[must_use]
    pub const fn new(code: Code, token: Token) -> Self {
        FrameRepr {
            code,
            token,
            options: OptionList::new(),
            payload: heapless::Vec::new(),
        }
    }

    /// The response to `request` with `code` and the request's token (RFC 8323 §3.3).
    #[must_use]
    pub fn response_to(request: &Frame<'_>, code: Code) -> Self {
        Self::new(code, request.token())
    }

    /// Copies a parsed frame.
    ///
    /// # Errors
    /// [`BuildError::OptionsFull`] or [`BuildError::PayloadFull`].
    pub fn parse(frame: &Frame<'_>) -> Result<Self, BuildError> {
        let mut repr = Self::new(frame.code(), frame.token());
        repr.options.copy_from(frame.options())?;
        repr.set_payload(frame.payload())?;
        Ok(repr)
    }

    /// The same content as a UDP message of type `ty` with `message_id`.
    #[must_use]
    pub fn into_message(self, ty: MessageType, message_id: u16) -> MessageRepr<OPTS, PAYLOAD> {
        MessageRepr {
            ty,
            code: self.code,
            message_id,
            token: self.token,
            options: self.options,
            payload: self.payload,
        }
    }

    /// The content of a UDP message, without its type and message ID.
    #[must_use]
    pub fn from_message(message: MessageRepr<OPTS, PAYLOAD>) -> Self {
        FrameRepr {
            code: message.code,
            token: message.token,
            options: message.options,
            payload: message.payload,
        }
    }

    /// Replaces the payload.
    ///
    /// # Errors
    /// [`BuildError::PayloadFull`] beyond `PAYLOAD` bytes (the payload is then empty).
    pub fn set_payload(&mut self, payload: &[u8]) -> Result<&mut Self, BuildError> {
        self.payload.clear();
        self.payload
            .extend_from_slice(payload)
            .map_err(|_| BuildError::PayloadFull {
                needed: payload.len(),
                capacity: PAYLOAD,
            })?;
        Ok(self)
    }

    /// Reads the options with the typed accessors (SZX 7 is BERT).
    #[must_use]
    pub fn as_options(&self) -> Options<'_> {
        self.options.as_options_bert()
    }

    /// Length of options, payload marker and payload: the value of the Len field.
    fn body_len(&self) -> usize {
        let payload = if self.payload.is_empty() {
            0
        } else {
            1 + self.payload.len()
        };
        self.options.encoded_len() + payload
    }

    /// Exact number of bytes [`FrameRepr::emit`] writes.
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        let body = self.body_len();
        let ext = match body {
            0..=12 => 0,
            13..=268 => 1,
            269..=65804 => 2,
            _ => 4,
        };
        1 + ext + 1 + self.token.len() + body
    }

    /// Writes the frame at the start of `buf`; returns the number of bytes written.
    ///
    /// # Errors
    /// [`BufferTooSmall`] with the length needed; `buf` is then untouched.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, BufferTooSmall> {
        let () = Self::FITS_LEN_FIELD;
        let needed = self.encoded_len();
        let out = buf.get_mut(..needed).ok_or(BufferTooSmall { needed })?;
        let body = self.body_len();
        let tkl = self.token.len() as u8;
        let mut prefix = [0u8; 6];
        let prefix_len = match body {
            0..=12 => {
                prefix[0] = ((body as u8) << 4) | tkl;
                1
            }
            13..=268 => {
                prefix[0] = (13 << 4) | tkl;
                prefix[1] = (body - 13) as u8;
                2
            }
            269..=65804 => {
                prefix[0] = (14 << 4) | tkl;
                prefix[1..3].copy_from_slice(&((body - 269) as u16).to_be_bytes());
                3
            }
            _ => {
                prefix[0] = (15 << 4) | tkl;
                prefix[1..5].copy_from_slice(&((body - 65805) as u32).to_be_bytes());
                5
            }
        };
        prefix[prefix_len] = self.code.raw();
        let marker: &[u8] = if self.payload.is_empty() {
            &[]
        } else {
            &[PAYLOAD_MARKER]
        };
        write_parts(
            out,
            &[
                prefix.get(..=prefix_len).unwrap_or(&[]),
                self.token.as_bytes(),
                self.options.as_bytes(),
                marker,
                &self.payload,
            ],
        );
        Ok(needed)
    }
}

impl<const OPTS: usize, const PAYLOAD: usize> TryFrom<&Frame<'_>> for FrameRepr<OPTS, PAYLOAD> {
    type Error = BuildError;

    fn try_from(frame: &Frame<'_>) -> Result<Self, BuildError> {
        Self::parse(frame)
    }
}

impl<const OPTS: usize, const PAYLOAD: usize> fmt::Display for FrameRepr<OPTS, PAYLOAD> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_summary(
            f,
            None,
            self.code,
            self.token,
            self.as_options(),
            &self.payload,
        )
    }
}
