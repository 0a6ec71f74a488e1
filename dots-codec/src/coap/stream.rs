//! Incremental decoding of a CoAP-over-TCP/TLS byte stream (RFC 8323 §3.2) that arrives in
//! pieces of any size, in bounded memory.

use super::error::FormatError;
use super::tcp::{read_frame_header, Frame, FrameLayout};

/// Default largest frame of [`StreamDecoder`]: 1152 bytes, the base Max-Message-Size of
/// RFC 8323 §5.3.1. A receiver that announces a larger Max-Message-Size in its CSM needs a
/// decoder at least that large.
pub const DEFAULT_MAX_FRAME_SIZE: usize = 1152;

/// The result of one [`StreamDecoder::decode`] call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decoded<'a> {
    /// How many bytes of the input were taken.
    pub consumed: usize,
    /// The next complete frame, if there is one. `None` means the whole input was taken and the
    /// decoder waits for more bytes.
    pub frame: Option<Frame<'a>>,
}

/// Splits a TCP/TLS byte stream into CoAP frames (RFC 8323 §3.2), fed in pieces of any size.
///
/// It holds at most one incomplete frame, in an inline buffer of `N` bytes (default
/// [`DEFAULT_MAX_FRAME_SIZE`]); a frame is returned straight from the input when it arrives whole,
/// without copying. A frame longer than the maximum is [`FormatError::FrameTooLarge`] as soon
/// as its length field is read, before any of it is buffered.
///
/// After any error the stream cannot be trusted to be in step: the decoder keeps returning that
/// error until [`StreamDecoder::reset`]. RFC 8323 §5.6: send an Abort and close the connection.
///
/// ```
/// use dots_codec::coap::{Code, StreamDecoder};
///
/// // RFC 8323 Figure 11 (Ping, token 0x42) then Figure 12 (Pong), split mid-frame.
/// let mut decoder = StreamDecoder::<64>::new();
/// let mut codes = Vec::new();
/// for piece in [&[0x01, 0xe2][..], &[0x42, 0x01], &[0xe3, 0x42]] {
///     decoder.feed(piece, |frame| codes.push(frame.code()))?;
/// }
/// assert_eq!(codes, [Code::PING, Code::PONG]);
/// # Ok::<(), dots_codec::coap::FormatError>(())
/// ```
#[derive(Clone, Debug)]
pub struct StreamDecoder<const N: usize = DEFAULT_MAX_FRAME_SIZE> {
    buf: heapless::Vec<u8, N>,
    /// Length of the frame returned from `buf` by the last call, dropped by the next one.
    returned: usize,
    max_frame: usize,
    error: Option<FormatError>,
}

impl<const N: usize> Default for StreamDecoder<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> StreamDecoder<N> {
    /// A decoder for frames of up to `N` bytes.
    #[must_use]
    pub const fn new() -> Self {
        StreamDecoder {
            buf: heapless::Vec::new(),
            returned: 0,
            max_frame: N,
            error: None,
        }
    }

    /// A decoder for frames of up to `max` bytes (at most `N`), e.g. the Max-Message-Size this
    /// side announced.
    #[must_use]
    pub fn with_max_frame_size(max: usize) -> Self {
        StreamDecoder {
            max_frame: max.min(N),
            ..Self::new()
        }
    }

    /// The largest frame accepted.
    #[must_use]
    pub const fn max_frame_size(&self) -> usize {
        self.max_frame
    }

    /// Bytes of an incomplete frame held.
    #[must_use]
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.returned
    }

    /// The error that stopped the decoder, if any.
    #[must_use]
    pub const fn error(&self) -> Option<FormatError> {
        self.error
    }

    /// Forgets buffered bytes and any error, as for a new connection.
    pub fn reset(&mut self) {
        self.buf.clear();
        self.returned = 0;
        self.error = None;
    }

    fn fail(&mut self, error: FormatError) -> FormatError {
        self.error = Some(error);
        self.buf.clear();
        error
    }

    fn check_size(&mut self, total: u64) -> Result<usize, FormatError> {
        match usize::try_from(total) {
            Ok(t) if t <= self.max_frame => Ok(t),
            _ => Err(self.fail(FormatError::FrameTooLarge {
                len: total,
                max: self.max_frame,
            })),
        }
    }

    /// Takes bytes from `input` until a frame is complete and returns it, or takes all of
    /// `input` and returns no frame. Call again with the rest of the input while frames come out.
    ///
    /// ```
    /// # use dots_codec::coap::StreamDecoder;
    /// # fn handle(_: dots_codec::coap::Frame<'_>) {}
    /// # let mut decoder = StreamDecoder::<64>::new();
    /// # let chunk = [0x01, 0xe2, 0x42];
    /// let mut rest = &chunk[..];
    /// loop {
    ///     let decoded = decoder.decode(rest)?;
    ///     rest = &rest[decoded.consumed..];
    ///     match decoded.frame {
    ///         Some(frame) => handle(frame),
    ///         None => break, // all of `chunk` taken: wait for the next one
    ///     }
    /// }
    /// # Ok::<(), dots_codec::coap::FormatError>(())
    /// ```
    ///
    /// # Errors
    /// The first format error of the stream, then the same error on every call.
    pub fn decode<'s>(&'s mut self, input: &'s [u8]) -> Result<Decoded<'s>, FormatError> {
        if self.returned > 0 {
            let returned = self.returned.min(self.buf.len());
            let len = self.buf.len();
            self.buf.copy_within(returned..len, 0);
            self.buf.truncate(len - returned);
            self.returned = 0;
        }
        if let Some(e) = self.error {
            return Err(e);
        }
        if self.buf.is_empty() {
            // A whole frame in the input: hand it out without copying.
            match read_frame_header(input) {
                Err(e) => return Err(self.fail(e)),
                Ok(Some(h)) => {
                    let total = self.check_size(h.total)?;
                    if let Some(bytes) = input.get(..total) {
                        return match FrameLayout::parse(bytes) {
                            Ok(layout) => Ok(Decoded {
                                consumed: total,
                                frame: Some(layout.frame(bytes)),
                            }),
                            Err(e) => Err(self.fail(e)),
                        };
                    }
                }
                Ok(None) => {}
            }
        }
        let mut used = 0;
        loop {
            let want = match read_frame_header(&self.buf) {
                Err(e) => return Err(self.fail(e)),
                Ok(Some(h)) => {
                    let total = self.check_size(h.total)?;
                    if self.buf.len() >= total {
                        return match self.buf.get(..total).map(FrameLayout::parse) {
                            Some(Ok(layout)) => {
                                self.returned = total;
                                Ok(Decoded {
                                    consumed: used,
                                    frame: self.buf.get(..total).map(|b| layout.frame(b)),
                                })
                            }
                            Some(Err(e)) => Err(self.fail(e)),
                            None => Err(self.fail(FormatError::Truncated)),
                        };
                    }
                    total
                }
                // Incomplete header: the Len/TKL byte, then the extended length it announces.
                Ok(None) => match self.buf.first() {
                    None => 1,
                    Some(&b) => {
                        1 + match b >> 4 {
                            13 => 1,
                            14 => 2,
                            15 => 4,
                            _ => 0,
                        }
                    }
                },
            };
            let rest = input.get(used..).unwrap_or(&[]);
            let take = want.saturating_sub(self.buf.len()).min(rest.len());
            if take == 0 {
                return Ok(Decoded {
                    consumed: used,
                    frame: None,
                });
            }
            let chunk = rest.get(..take).unwrap_or(&[]);
            if self.buf.extend_from_slice(chunk).is_err() {
                let max = self.max_frame;
                return Err(self.fail(FormatError::FrameTooLarge {
                    len: want as u64,
                    max,
                }));
            }
            used += take;
        }
    }

    /// Decodes all of `input`, calling `on_frame` for each complete frame; an incomplete frame at
    /// the end stays buffered for the next call.
    ///
    /// # Errors
    /// As [`StreamDecoder::decode`]; frames before the error have been handed out.
    pub fn feed(
        &mut self,
        input: &[u8],
        mut on_frame: impl FnMut(Frame<'_>),
    ) -> Result<(), FormatError> {
        let mut rest = input;
        loop {
            let decoded = self.decode(rest)?;
            rest = rest.get(decoded.consumed..).unwrap_or(&[]);
            match decoded.frame {
                Some(frame) => on_frame(frame),
                None => return Ok(()),
            }
        }
    }
}
