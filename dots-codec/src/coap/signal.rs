//! Signalling messages of CoAP over TCP/TLS (RFC 8323 §5): 7.01 CSM, 7.02 Ping, 7.03 Pong,
//! 7.04 Release, 7.05 Abort.
//!
//! Signalling option numbers are per code (RFC 8323 §5.2): option 2 is Max-Message-Size in a CSM,
//! Custody in a Ping or Pong, Alternative-Address in a Release and Bad-CSM-Option in an Abort.
//! A critical signalling option the receiver does not understand aborts the connection.

use core::fmt;

use super::error::{BuildError, OptionError, OptionErrorKind};
use super::option::{decode_uint, OptionFormat, OptionSpec, UintBytes};
use super::options::{Options, StrValues};
use super::tcp::{Frame, FrameRepr};
use super::{Code, OptionNumber, Token};

/// 7.01 CSM option 2, Max-Message-Size (RFC 8323 §5.3.1): uint 0–4 bytes, elective; the largest
/// message, header included, the sender can receive.
pub const MAX_MESSAGE_SIZE: OptionNumber = OptionNumber(2);
/// 7.01 CSM option 4, Block-Wise-Transfer (RFC 8323 §5.3.2): empty, elective; the sender
/// supports RFC 7959 block-wise transfer (and BERT when Max-Message-Size exceeds 1152).
pub const BLOCK_WISE_TRANSFER: OptionNumber = OptionNumber(4);
/// 7.02 Ping / 7.03 Pong option 2, Custody (RFC 8323 §5.4.1): empty, elective.
pub const CUSTODY: OptionNumber = OptionNumber(2);
/// 7.04 Release option 2, Alternative-Address (RFC 8323 §5.5): string 1–255 bytes, repeatable,
/// elective; an RFC 3986 authority to reconnect to.
pub const ALTERNATIVE_ADDRESS: OptionNumber = OptionNumber(2);
/// 7.04 Release option 4, Hold-Off (RFC 8323 §5.5): uint 0–3 bytes, elective; seconds before
/// reconnecting.
pub const HOLD_OFF: OptionNumber = OptionNumber(4);
/// 7.05 Abort option 2, Bad-CSM-Option (RFC 8323 §5.6): uint 0–2 bytes, elective; the CSM option
/// the sender could not process.
pub const BAD_CSM_OPTION: OptionNumber = OptionNumber(2);

/// Max-Message-Size before any CSM says otherwise (RFC 8323 §5.3.1, RFC 7252 §4.6).
pub const BASE_MAX_MESSAGE_SIZE: u32 = 1152;

/// The properties of signalling option `number` under signalling `code`, `None` when RFC 8323
/// defines no such option.
#[must_use]
pub const fn option_spec(code: Code, number: OptionNumber) -> Option<OptionSpec> {
    use OptionFormat::{Empty, String, Uint};
    let (name, format, min, max, repeatable) = match (code.raw(), number.0) {
        (0xe1, 2) => ("Max-Message-Size", Uint, 0, 4, false),
        (0xe1, 4) => ("Block-Wise-Transfer", Empty, 0, 0, false),
        (0xe2 | 0xe3, 2) => ("Custody", Empty, 0, 0, false),
        (0xe4, 2) => ("Alternative-Address", String, 1, 255, true),
        (0xe4, 4) => ("Hold-Off", Uint, 0, 3, false),
        (0xe5, 2) => ("Bad-CSM-Option", Uint, 0, 2, false),
        _ => return None,
    };
    Some(OptionSpec {
        name,
        format,
        min_len: min,
        max_len: max,
        repeatable,
    })
}

/// A signalling message that cannot be acted on; RFC 8323 §5.2 and §5.6 have the receiver abort
/// the connection (for a CSM option, naming it in Bad-CSM-Option).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum SignalError {
    /// A 7.xx code RFC 8323 does not define.
    #[error("unknown signalling code {0}")]
    UnknownCode(Code),
    /// A critical signalling option the code does not define (RFC 8323 §5.2).
    #[error("unrecognised critical signalling option {0}")]
    UnrecognizedCriticalOption(OptionNumber),
    /// A defined option with an invalid value (e.g. a 5-byte Max-Message-Size).
    #[error(transparent)]
    Option(#[from] OptionError),
}

/// The options of a Release message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Release<'a> {
    /// Hold-Off: seconds before reconnecting.
    pub hold_off: Option<u32>,
    options: Options<'a>,
}

impl<'a> Release<'a> {
    /// The Alternative-Address values (RFC 3986 authorities), each checked for UTF-8 and length.
    #[must_use]
    pub fn alternative_addresses(&self) -> StrValues<'a> {
        self.options.strs_with_max(ALTERNATIVE_ADDRESS, 255)
    }
}

/// A decoded signalling message (RFC 8323 §5). The payload, a diagnostic text for Release and
/// Abort, is [`Frame::payload`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Signal<'a> {
    /// 7.01 Capabilities and Settings Message.
    Csm {
        /// Max-Message-Size, if given (otherwise the previous value stands; initially
        /// [`BASE_MAX_MESSAGE_SIZE`]).
        max_message_size: Option<u32>,
        /// Block-Wise-Transfer is present.
        block_wise_transfer: bool,
    },
    /// 7.02 Ping: answer with a Pong carrying the same token ([`FrameRepr::pong`]).
    Ping {
        /// Custody: delay the Pong until earlier requests are processed.
        custody: bool,
    },
    /// 7.03 Pong.
    Pong {
        /// Custody: earlier requests are processed.
        custody: bool,
    },
    /// 7.04 Release: the peer wants the connection closed.
    Release(Release<'a>),
    /// 7.05 Abort: the peer is closing the connection now.
    Abort {
        /// Bad-CSM-Option: the CSM option the peer could not process.
        bad_csm_option: Option<OptionNumber>,
    },
}

impl<'a> Options<'a> {
    /// Every value of string option `number`, length-checked against `max_len`.
    pub(crate) fn strs_with_max(&self, number: OptionNumber, max_len: usize) -> StrValues<'a> {
        StrValues::new(self.values(number), max_len)
    }

    /// The first value of signalling option `number` as a uint, checked against `spec`.
    fn signal_uint(
        &self,
        number: OptionNumber,
        spec: OptionSpec,
    ) -> Result<Option<u32>, OptionError> {
        match self.first(number) {
            None => Ok(None),
            Some(v) if spec.len_ok(v.len()) => Ok(decode_uint(v)),
            Some(v) => Err(OptionError::new(
                number,
                OptionErrorKind::Length { len: v.len() },
            )),
        }
    }
}

impl<'a> Frame<'a> {
    /// The signalling message, `Ok(None)` for codes outside class 7.
    ///
    /// # Errors
    /// A [`SignalError`]: answer with an Abort (RFC 8323 §5.6).
    pub fn signal(&self) -> Result<Option<Signal<'a>>, SignalError> {
        let code = self.code();
        if !code.is_signaling() {
            return Ok(None);
        }
        let options = self.options();
        if let Some(n) = options.first_unrecognized_critical(
            |n| option_spec(code, n).is_some(),
            |n| option_spec(code, n),
        ) {
            return Err(SignalError::UnrecognizedCriticalOption(n));
        }
        let empty = |number: OptionNumber| match options.first(number) {
            None => Ok(false),
            Some([]) => Ok(true),
            Some(v) => Err(OptionError::new(
                number,
                OptionErrorKind::Length { len: v.len() },
            )),
        };
        let spec = |n| option_spec(code, n);
        let signal = match code {
            Code::CSM => Signal::Csm {
                max_message_size: match spec(MAX_MESSAGE_SIZE) {
                    Some(s) => options.signal_uint(MAX_MESSAGE_SIZE, s)?,
                    None => None,
                },
                block_wise_transfer: empty(BLOCK_WISE_TRANSFER)?,
            },
            Code::PING => Signal::Ping {
                custody: empty(CUSTODY)?,
            },
            Code::PONG => Signal::Pong {
                custody: empty(CUSTODY)?,
            },
            Code::RELEASE => {
                for address in options.strs_with_max(ALTERNATIVE_ADDRESS, 255) {
                    match address {
                        Ok("") => {
                            return Err(SignalError::Option(OptionError::new(
                                ALTERNATIVE_ADDRESS,
                                OptionErrorKind::Length { len: 0 },
                            )))
                        }
                        Ok(_) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
                Signal::Release(Release {
                    hold_off: match spec(HOLD_OFF) {
                        Some(s) => options.signal_uint(HOLD_OFF, s)?,
                        None => None,
                    },
                    options,
                })
            }
            Code::ABORT => Signal::Abort {
                bad_csm_option: match spec(BAD_CSM_OPTION) {
                    Some(s) => options
                        .signal_uint(BAD_CSM_OPTION, s)?
                        .map(|v| OptionNumber(v as u16)),
                    None => None,
                },
            },
            other => return Err(SignalError::UnknownCode(other)),
        };
        Ok(Some(signal))
    }
}

impl<const OPTS: usize, const PAYLOAD: usize> FrameRepr<OPTS, PAYLOAD> {
    /// A CSM (RFC 8323 §5.3), the first message each side sends on a connection.
    ///
    /// # Errors
    /// [`BuildError::OptionsFull`] when `OPTS` is below 7 bytes.
    pub fn csm(
        max_message_size: Option<u32>,
        block_wise_transfer: bool,
    ) -> Result<Self, BuildError> {
        let mut frame = Self::new(Code::CSM, Token::EMPTY);
        if let Some(size) = max_message_size {
            frame
                .options
                .push(MAX_MESSAGE_SIZE, UintBytes::new(size).as_bytes())?;
        }
        if block_wise_transfer {
            frame.options.push(BLOCK_WISE_TRANSFER, &[])?;
        }
        Ok(frame)
    }

    /// A Ping (RFC 8323 §5.4); `custody` asks the peer to answer once it has processed earlier
    /// requests.
    ///
    /// # Errors
    /// [`BuildError::OptionsFull`] when `OPTS` is 0 and `custody` is set.
    pub fn ping(token: Token, custody: bool) -> Result<Self, BuildError> {
        let mut frame = Self::new(Code::PING, token);
        if custody {
            frame.options.push(CUSTODY, &[])?;
        }
        Ok(frame)
    }

    /// The Pong answering `ping`, with its token (RFC 8323 §5.4).
    ///
    /// # Errors
    /// [`BuildError::OptionsFull`] when `OPTS` is 0 and `custody` is set.
    pub fn pong(ping: &Frame<'_>, custody: bool) -> Result<Self, BuildError> {
        let mut frame = Self::new(Code::PONG, ping.token());
        if custody {
            frame.options.push(CUSTODY, &[])?;
        }
        Ok(frame)
    }

    /// A Release (RFC 8323 §5.5).
    ///
    /// # Errors
    /// [`BuildError::InvalidLength`] for an empty address or one over 255 bytes;
    /// [`BuildError::OptionsFull`], [`BuildError::PayloadFull`].
    pub fn release(
        alternative_address: Option<&str>,
        hold_off: Option<u32>,
        diagnostic: &str,
    ) -> Result<Self, BuildError> {
        let mut frame = Self::new(Code::RELEASE, Token::EMPTY);
        if let Some(address) = alternative_address {
            if address.is_empty() || address.len() > 255 {
                return Err(BuildError::InvalidLength {
                    number: ALTERNATIVE_ADDRESS,
                    len: address.len(),
                });
            }
            frame
                .options
                .push(ALTERNATIVE_ADDRESS, address.as_bytes())?;
        }
        if let Some(seconds) = hold_off {
            let value = UintBytes::new(seconds);
            if value.as_bytes().len() > 3 {
                return Err(BuildError::InvalidLength {
                    number: HOLD_OFF,
                    len: value.as_bytes().len(),
                });
            }
            frame.options.push(HOLD_OFF, value.as_bytes())?;
        }
        frame.set_payload(diagnostic.as_bytes())?;
        Ok(frame)
    }

    /// An Abort (RFC 8323 §5.6) with a diagnostic payload; `bad_csm_option` names the CSM option
    /// that could not be processed.
    ///
    /// # Errors
    /// [`BuildError::OptionsFull`], [`BuildError::PayloadFull`].
    pub fn abort(
        bad_csm_option: Option<OptionNumber>,
        diagnostic: &str,
    ) -> Result<Self, BuildError> {
        let mut frame = Self::new(Code::ABORT, Token::EMPTY);
        if let Some(number) = bad_csm_option {
            frame.options.push(
                BAD_CSM_OPTION,
                UintBytes::new(u32::from(number.0)).as_bytes(),
            )?;
        }
        frame.set_payload(diagnostic.as_bytes())?;
        Ok(frame)
    }
}

/// Writes a signalling option as `Name: value`.
pub(crate) fn write_signal_option(
    f: &mut fmt::Formatter<'_>,
    code: Code,
    number: OptionNumber,
    value: &[u8],
) -> fmt::Result {
    match option_spec(code, number) {
        Some(spec) => {
            write!(f, "{}", spec.name)?;
            match spec.format {
                OptionFormat::Empty => Ok(()),
                OptionFormat::Uint => match decode_uint(value) {
                    Some(v) => write!(f, ": {v}"),
                    None => write!(f, ": {value:02x?}"),
                },
                OptionFormat::String => match core::str::from_utf8(value) {
                    Ok(s) => write!(f, ": {s:?}"),
                    Err(_) => write!(f, ": {value:02x?}"),
                },
                OptionFormat::Opaque => write!(f, ": {value:02x?}"),
            }
        }
        None => write!(f, "Option {}: {value:02x?}", number.0),
    }
}
