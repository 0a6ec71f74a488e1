//! CoAP over UDP and DTLS (RFC 7252 §3): the zero-copy [`Message`] view of a datagram and the
//! owned [`MessageRepr`].

use core::fmt;

use super::error::{
    BadOptionAction, BufferTooSmall, BuildError, FormatError, Header, ParseError, Rejection,
    UnrecognizedOption,
};
use super::options::{split_options, OptionList, Options, PAYLOAD_MARKER};
use super::{Code, OptionNumber, Token};

/// The protocol version (RFC 7252 §3).
pub const VERSION: u8 = 1;

/// Length of the fixed header (RFC 7252 §3).
pub const HEADER_LEN: usize = 4;

/// Default option storage of [`MessageRepr`] and [`FrameRepr`](super::FrameRepr), in encoded
/// bytes. A DOTS mitigation request's Uri-Path (`.well-known/dots/mitigate/cdid=…/cuid=…/mid=…`)
/// takes about 100 bytes; 512 leaves room for a full-length Uri-Host, a Uri-Port, telemetry
/// Uri-Query filters, ETags, block options and Hop-Limit.
pub const DEFAULT_OPTIONS_CAPACITY: usize = 512;

/// Default payload storage of [`MessageRepr`] and [`FrameRepr`](super::FrameRepr): 1152 bytes,
/// the message size RFC 7252 §4.6 assumes when nothing is known about the path (and the base
/// Max-Message-Size of RFC 8323 §5.3.1), so any payload of a message of that size fits. Larger
/// DOTS bodies travel block-wise (RFC 7959, RFC 9177).
pub const DEFAULT_PAYLOAD_CAPACITY: usize = 1152;

/// The message type (RFC 7252 §3, §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MessageType {
    /// CON: needs an Acknowledgement (RFC 7252 §4.2).
    Confirmable = 0,
    /// NON: no Acknowledgement (RFC 7252 §4.3). DOTS mitigation requests and heartbeats are NON.
    NonConfirmable = 1,
    /// ACK: acknowledges a CON, may carry a piggybacked response.
    Acknowledgement = 2,
    /// RST: rejects a message; always Empty.
    Reset = 3,
}

impl MessageType {
    /// The type from its 2 header bits (higher bits ignored).
    #[must_use]
    #[inline]
    pub const fn from_bits(bits: u8) -> MessageType {
        match bits & 0x3 {
            0 => MessageType::Confirmable,
            1 => MessageType::NonConfirmable,
            2 => MessageType::Acknowledgement,
            _ => MessageType::Reset,
        }
    }

    /// The 2 header bits.
    #[must_use]
    #[inline]
    pub const fn bits(self) -> u8 {
        self as u8
    }

    /// `CON`, `NON`, `ACK` or `RST`.
    #[must_use]
    pub const fn abbreviation(self) -> &'static str {
        match self {
            MessageType::Confirmable => "CON",
            MessageType::NonConfirmable => "NON",
            MessageType::Acknowledgement => "ACK",
            MessageType::Reset => "RST",
        }
    }
}

impl fmt::Display for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.abbreviation())
    }
}

/// A well-formed CoAP message borrowed from a UDP datagram (zero-copy).
///
/// [`Message::parse`] checks the whole message once: header, token, every option header and the
/// payload marker (RFC 7252 §3, §3.1), the Empty message rule (§4.1), reserved code classes and
/// the type/code combinations of §4.2, §4.3 Table 1. Reading it afterwards never fails on framing;
/// typed option accessors (on [`Message::options`]) check values.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Message<'a> {
    bytes: &'a [u8],
    token_end: usize,
    options_end: usize,
    payload_start: usize,
}

impl<'a> Message<'a> {
    /// Parses one datagram.
    ///
    /// # Errors
    /// A [`ParseError`] naming the problem and, when the 4-byte header was readable with version
    /// 1, the header, so that the receiver can Reset a Confirmable message
    /// ([`ParseError::rejection`]).
    pub fn parse(bytes: &'a [u8]) -> Result<Message<'a>, ParseError> {
        let Some(&[b0, code, m0, m1]) = bytes.get(..HEADER_LEN) else {
            return Err(ParseError {
                error: FormatError::Truncated,
                header: None,
            });
        };
        let version = b0 >> 6;
        if version != VERSION {
            return Err(ParseError {
                error: FormatError::UnknownVersion(version),
                header: None,
            });
        }
        let header = Header {
            ty: MessageType::from_bits(b0 >> 4),
            code: Code::from_raw(code),
            message_id: u16::from_be_bytes([m0, m1]),
        };
        let fail = |error| ParseError {
            error,
            header: Some(header),
        };
        let tkl = b0 & 0x0f;
        if usize::from(tkl) > Token::MAX_LEN {
            return Err(fail(FormatError::ReservedTokenLength(tkl)));
        }
        let code = header.code;
        if matches!(code.class(), 1 | 3 | 6 | 7) {
            return Err(fail(FormatError::ReservedClass(code)));
        }
        if code.is_empty() {
            if bytes.len() != HEADER_LEN {
                return Err(fail(FormatError::NonEmptyEmptyMessage));
            }
            if header.ty == MessageType::NonConfirmable {
                return Err(fail(FormatError::TypeCodeMismatch {
                    ty: header.ty,
                    code,
                }));
            }
        } else if header.ty == MessageType::Reset
            || (header.ty == MessageType::Acknowledgement && code.is_request())
        {
            return Err(fail(FormatError::TypeCodeMismatch {
                ty: header.ty,
                code,
            }));
        }
        let token_end = HEADER_LEN + usize::from(tkl);
        let rest = bytes.get(token_end..).ok_or(fail(FormatError::Truncated))?;
        let (options_end, payload_start) = split_options(rest).map_err(fail)?;
        Ok(Message {
            bytes,
            token_end,
            options_end: token_end + options_end,
            payload_start: token_end + payload_start,
        })
    }

    /// The datagram.
    #[must_use]
    #[inline]
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    #[inline]
    fn byte(&self, i: usize) -> u8 {
        self.bytes.get(i).copied().unwrap_or(0)
    }

    /// Message type.
    #[must_use]
    #[inline]
    pub fn ty(&self) -> MessageType {
        MessageType::from_bits(self.byte(0) >> 4)
    }

    /// Code.
    #[must_use]
    #[inline]
    pub fn code(&self) -> Code {
        Code::from_raw(self.byte(1))
    }

    /// Message ID.
    #[must_use]
    #[inline]
    pub fn message_id(&self) -> u16 {
        u16::from_be_bytes([self.byte(2), self.byte(3)])
    }

    /// Type, code and message ID.
    #[must_use]
    #[inline]
    pub fn header(&self) -> Header {
        Header {
            ty: self.ty(),
            code: self.code(),
            message_id: self.message_id(),
        }
    }

    /// The token bytes.
    #[must_use]
    #[inline]
    pub fn token_bytes(&self) -> &'a [u8] {
        self.bytes.get(HEADER_LEN..self.token_end).unwrap_or(&[])
    }

    /// The token.
    #[must_use]
    #[inline]
    pub fn token(&self) -> Token {
        Token::new(self.token_bytes()).unwrap_or_default()
    }

    /// The options, with typed accessors. Block options with SZX 7 are invalid over UDP.
    #[must_use]
    #[inline]
    pub fn options(&self) -> Options<'a> {
        Options::new_checked(
            self.bytes
                .get(self.token_end..self.options_end)
                .unwrap_or(&[]),
            false,
        )
    }

    /// The payload (empty when there is none).
    #[must_use]
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        self.bytes.get(self.payload_start..).unwrap_or(&[])
    }

    /// An Empty message (code 0.00): an empty ACK, a Reset, or a CON "CoAP ping".
    #[must_use]
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.code().is_empty()
    }

    /// A request (code 0.01–0.31).
    #[must_use]
    #[inline]
    pub fn is_request(&self) -> bool {
        self.code().is_request()
    }

    /// A response (classes 2, 4, 5).
    #[must_use]
    #[inline]
    pub fn is_response(&self) -> bool {
        self.code().is_response()
    }

    /// How to reject this message when the receiver lacks the context to process it
    /// (RFC 7252 §4.2, §4.3): Reset a CON, optionally Reset a NON, ignore an ACK or RST.
    #[must_use]
    pub fn rejection(&self) -> Rejection {
        Rejection::for_header(&self.header())
    }

    /// What to do about a critical option the receiver does not recognise: 4.02 for a CON
    /// request, reject a NON request or any response (RFC 7252 §5.4.1).
    #[must_use]
    pub fn bad_option_action(&self) -> BadOptionAction {
        if self.is_request() && self.ty() == MessageType::Confirmable {
            BadOptionAction::RespondBadOption
        } else {
            BadOptionAction::Reject(self.rejection())
        }
    }

    /// Checks the critical options against the options this crate knows (RFC 7252 §5.4.1,
    /// §5.4.3, §5.4.5); see [`Options::unrecognized_critical_option`].
    ///
    /// # Errors
    /// The first unrecognised critical option and what to do about it.
    pub fn check_critical_options(&self) -> Result<(), UnrecognizedOption> {
        self.check_critical_options_with(OptionNumber::is_known)
    }

    /// As [`Message::check_critical_options`], with the caller's set of recognised options.
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

impl fmt::Debug for Message<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("ty", &self.ty())
            .field("code", &self.code())
            .field("message_id", &self.message_id())
            .field("token", &self.token())
            .field("options", &self.options())
            .field("payload_len", &self.payload().len())
            .finish()
    }
}

/// One line: `CON 0.03 PUT mid=0x1234 token=0x0102`, then the options and the payload size.
impl fmt::Display for Message<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_summary(
            f,
            Some(self.header()),
            self.code(),
            self.token(),
            self.options(),
            self.payload(),
        )
    }
}

pub(crate) fn write_summary(
    f: &mut fmt::Formatter<'_>,
    header: Option<Header>,
    code: Code,
    token: Token,
    options: Options<'_>,
    payload: &[u8],
) -> fmt::Result {
    if let Some(h) = header {
        write!(f, "{} ", h.ty)?;
    }
    write!(f, "{code}")?;
    if let Some(name) = code.name() {
        write!(f, " {name}")?;
    }
    if let Some(h) = header {
        write!(f, " mid=0x{:04x}", h.message_id)?;
    }
    write!(f, " token={token}")?;
    for opt in options {
        if code.is_signaling() {
            f.write_str(", ")?;
            super::signal::write_signal_option(f, code, opt.number, opt.value)?;
        } else {
            write!(f, ", {opt}")?;
        }
    }
    if !payload.is_empty() {
        write!(f, ", payload {} bytes", payload.len())?;
    }
    Ok(())
}

/// Copies `parts` one after the other into `out`, which the caller sized to fit them.
pub(crate) fn write_parts(out: &mut [u8], parts: &[&[u8]]) {
    let mut at = 0;
    for part in parts {
        if let Some(dst) = out.get_mut(at..at + part.len()) {
            dst.copy_from_slice(part);
        }
        at += part.len();
    }
}

/// An owned CoAP message for UDP/DTLS, in bounded storage: at most `OPTS` bytes of encoded
/// options and `PAYLOAD` bytes of payload (defaults [`DEFAULT_OPTIONS_CAPACITY`],
/// [`DEFAULT_PAYLOAD_CAPACITY`]).
///
/// Build it with [`MessageRepr::new`] (or a response helper) and the typed builders on
/// [`MessageRepr::options`], write it with [`MessageRepr::emit`]. For a well-formed message,
/// `MessageRepr::parse(&Message::parse(&bytes)?)` gives back an equal value; `emit` writes
/// exactly [`MessageRepr::encoded_len`] bytes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MessageRepr<
    const OPTS: usize = DEFAULT_OPTIONS_CAPACITY,
    const PAYLOAD: usize = DEFAULT_PAYLOAD_CAPACITY,
> {
    /// Message type.
    pub ty: MessageType,
    /// Code.
    pub code: Code,
    /// Message ID.
    pub message_id: u16,
    /// Token.
    pub token: Token,
    /// Options, sorted, in wire encoding.
    pub options: OptionList<OPTS>,
    /// Payload; empty means no payload marker.
    pub payload: heapless::Vec<u8, PAYLOAD>,
}

impl<const OPTS: usize, const PAYLOAD: usize> MessageRepr<OPTS, PAYLOAD> {
    /// A message without options or payload.
    #[must_use]
    pub const fn new(ty: MessageType, code: Code, message_id: u16, token: Token) -> Self {
        MessageRepr {
            ty,
            code,
            message_id,
            token,
            options: OptionList::new(),
            payload: heapless::Vec::new(),
        }
    }

    /// An empty ACK: acknowledges a CON now, the response follows separately
    /// (RFC 7252 §5.2.2).
    #[must_use]
    pub const fn empty_ack(message_id: u16) -> Self {
        Self::new(
            MessageType::Acknowledgement,
            Code::EMPTY,
            message_id,
            Token::EMPTY,
        )
    }

    /// A Reset rejecting the message with this ID (RFC 7252 §4.2, §4.3).
    #[must_use]
    pub const fn reset(message_id: u16) -> Self {
        Self::new(MessageType::Reset, Code::EMPTY, message_id, Token::EMPTY)
    }

    /// An Empty CON, which the peer answers with a Reset: "CoAP ping" (RFC 7252 §4.3).
    #[must_use]
    pub const fn ping(message_id: u16) -> Self {
        Self::new(
            MessageType::Confirmable,
            Code::EMPTY,
            message_id,
            Token::EMPTY,
        )
    }

    /// The response to `request` with `code` and the request's token (RFC 7252 §5.2): a CON
    /// request gets it piggybacked in an ACK echoing the request's message ID (`message_id` is
    /// not used); a NON request gets a NON with `message_id` (a fresh ID from the caller).
    #[must_use]
    pub fn response_to(request: &Message<'_>, code: Code, message_id: u16) -> Self {
        match request.ty() {
            MessageType::Confirmable => Self::new(
                MessageType::Acknowledgement,
                code,
                request.message_id(),
                request.token(),
            ),
            _ => Self::new(
                MessageType::NonConfirmable,
                code,
                message_id,
                request.token(),
            ),
        }
    }

    /// A separate response to `request` (RFC 7252 §5.2.2): sent after an empty ACK (or for a
    /// NON request), as a CON (`confirmable`) or NON with a fresh `message_id`, carrying the
    /// request's token. DOTS sends its Observe notifications this way, as NON.
    #[must_use]
    pub fn separate_response_to(
        request: &Message<'_>,
        code: Code,
        confirmable: bool,
        message_id: u16,
    ) -> Self {
        let ty = if confirmable {
            MessageType::Confirmable
        } else {
            MessageType::NonConfirmable
        };
        Self::new(ty, code, message_id, request.token())
    }

    /// Copies a parsed message.
    ///
    /// # Errors
    /// [`BuildError::OptionsFull`] or [`BuildError::PayloadFull`] when it exceeds the
    /// capacities.
    pub fn parse(message: &Message<'_>) -> Result<Self, BuildError> {
        let mut repr = Self::new(
            message.ty(),
            message.code(),
            message.message_id(),
            message.token(),
        );
        repr.options.copy_from(message.options())?;
        repr.set_payload(message.payload())?;
        Ok(repr)
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

    /// Reads the options with the typed accessors.
    #[must_use]
    pub fn as_options(&self) -> Options<'_> {
        self.options.as_options()
    }

    /// Type, code and message ID.
    #[must_use]
    #[inline]
    pub fn header(&self) -> Header {
        Header {
            ty: self.ty,
            code: self.code,
            message_id: self.message_id,
        }
    }

    /// Exact number of bytes [`MessageRepr::emit`] writes.
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        let payload = if self.payload.is_empty() {
            0
        } else {
            1 + self.payload.len()
        };
        HEADER_LEN + self.token.len() + self.options.encoded_len() + payload
    }

    /// Writes the message at the start of `buf`; returns the number of bytes written.
    ///
    /// The fields are written as they are: a message that breaks RFC 7252's rules (say, an
    /// Empty message with a token) is written, and [`Message::parse`] will reject it.
    ///
    /// # Errors
    /// [`BufferTooSmall`] with the length needed; `buf` is then untouched.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, BufferTooSmall> {
        let needed = self.encoded_len();
        let out = buf.get_mut(..needed).ok_or(BufferTooSmall { needed })?;
        let mid = self.message_id.to_be_bytes();
        let header = [
            (VERSION << 6) | (self.ty.bits() << 4) | self.token.len() as u8,
            self.code.raw(),
            mid[0],
            mid[1],
        ];
        let marker: &[u8] = if self.payload.is_empty() {
            &[]
        } else {
            &[PAYLOAD_MARKER]
        };
        write_parts(
            out,
            &[
                &header,
                self.token.as_bytes(),
                self.options.as_bytes(),
                marker,
                &self.payload,
            ],
        );
        Ok(needed)
    }
}

impl<const OPTS: usize, const PAYLOAD: usize> TryFrom<&Message<'_>> for MessageRepr<OPTS, PAYLOAD> {
    type Error = BuildError;

    fn try_from(message: &Message<'_>) -> Result<Self, BuildError> {
        Self::parse(message)
    }
}

impl<const OPTS: usize, const PAYLOAD: usize> fmt::Display for MessageRepr<OPTS, PAYLOAD> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_summary(
            f,
            Some(self.header()),
            self.code,
            self.token,
            self.as_options(),
            &self.payload,
        )
    }
}
