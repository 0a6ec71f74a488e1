//! CoAP (RFC 7252) and CoAP over TCP/TLS (RFC 8323) wire formats, with the options DOTS uses.
//!
//! Modelled on smoltcp's `wire`: a zero-copy view checks received bytes once and reads fields
//! from them; an owned `Repr` in bounded (heapless) storage is built and emitted into a caller's
//! buffer. No allocation, no I/O, no panics on any input.
//!
//! | framing | view | owned | notes |
//! |---|---|---|---|
//! | UDP / DTLS (RFC 7252 §3) | [`Message`] | [`MessageRepr`] | type, message ID; [`ParseError`] keeps the header for a Reset |
//! | TCP / TLS (RFC 8323 §3.2) | [`Frame`] | [`FrameRepr`] | length-prefixed; [`StreamDecoder`] splits a byte stream; [`signal`] codes 7.xx |
//!
//! Options (RFC 7252 §3.1) are read through [`Options`], which has typed accessors
//! ([`Options::uri_path`], [`Options::content_format`], [`Options::observe`],
//! [`Options::block2`], [`Options::hop_limit`], …), and built in an [`OptionList`] with typed
//! builders. Option numbers are [`OptionNumber`] constants; RFC 7252 §5.4's rules for critical,
//! repeated and wrong-length options are applied by [`Message::check_critical_options`].
//!
//! # Example: a DOTS mitigation request and its response
//!
//! ```
//! use dots_codec::coap::{
//!     Code, ContentFormat, Message, MessageRepr, MessageType, Token,
//! };
//!
//! // The client builds a NON PUT to /.well-known/dots/mitigate/cuid=.../mid=123 (RFC 9132).
//! let mut request: MessageRepr =
//!     MessageRepr::new(MessageType::NonConfirmable, Code::PUT, 0x1234, Token::new(&[7, 1])?);
//! request
//!     .options
//!     .set_uri_path("/.well-known/dots/mitigate/cuid=dz6pHjaADkaFTbjr0JGBpw/mid=123")?
//!     .set_content_format(ContentFormat::DOTS_CBOR)?;
//! request.set_payload(&[0xa1, 0x01, 0xa0])?;
//! let mut buf = [0u8; 256];
//! let len = request.emit(&mut buf)?;
//! assert_eq!(len, request.encoded_len());
//!
//! // The server parses it without copying and reads the options it needs.
//! let received = Message::parse(&buf[..len])?;
//! received.check_critical_options()?; // else answer 4.02 or reject, as the error says
//! let options = received.options();
//! assert!(options.uri_path().take(3).eq([".well-known", "dots", "mitigate"].map(Ok)));
//! assert_eq!(options.content_format()?, Some(ContentFormat::DOTS_CBOR));
//! assert_eq!(received.payload(), &[0xa1, 0x01, 0xa0]);
//!
//! // The response carries the request's token; a NON request gets a NON response.
//! let response: MessageRepr<16, 64> = MessageRepr::response_to(&received, Code::CREATED, 0x5678);
//! assert_eq!(response.ty, MessageType::NonConfirmable);
//! assert_eq!(response.token, received.token());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod code;
mod error;
mod option;
mod options;
pub mod signal;
mod stream;
mod tcp;
mod token;
mod udp;

#[cfg(test)]
mod tests;

pub use code::Code;
pub use error::{
    BadOptionAction, BufferTooSmall, BuildError, FormatError, Header, OptionError, OptionErrorKind,
    ParseError, Rejection, UnrecognizedOption,
};
pub use option::{
    decode_uint, Block, ContentFormat, HopLimit, OptionFormat, OptionNumber, OptionSpec, UintBytes,
};
pub use options::{
    CoapOption, OptionIter, OptionList, Options, StrValues, Values, MAX_OPTION_VALUE_LEN,
};
pub use signal::Signal;
pub use stream::{Decoded, StreamDecoder, DEFAULT_MAX_FRAME_SIZE};
pub use tcp::{frame_len, Frame, FrameRepr};
pub use token::Token;
pub use udp::{
    Message, MessageRepr, MessageType, DEFAULT_OPTIONS_CAPACITY, DEFAULT_PAYLOAD_CAPACITY,
    HEADER_LEN, VERSION,
};
