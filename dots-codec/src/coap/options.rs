//! The option sequence (RFC 7252 §3.1): the zero-copy [`Options`] view with typed accessors, and
//! the owned, encoded [`OptionList`] with typed builders.
//!
//! Both hold options in their wire encoding (delta/length headers, sorted by number), which is
//! canonical: one sequence of options has exactly one encoding. Reading an owned list therefore
//! uses the same view, and emitting it is a copy.

use core::fmt;
use core::ops::Range;

use super::error::{BuildError, FormatError, OptionError, OptionErrorKind};
use super::option::{
    decode_uint, Block, ContentFormat, HopLimit, OptionFormat, OptionNumber, OptionSpec, UintBytes,
};

/// The payload marker (RFC 7252 §3).
pub(crate) const PAYLOAD_MARKER: u8 = 0xff;

/// The longest option value the wire format can describe: length nibble 14, 16-bit extension,
/// plus 269 (RFC 7252 §3.1).
pub const MAX_OPTION_VALUE_LEN: usize = 65535 + 269;

/// One option as it sits in the bytes.
#[derive(Clone, Copy)]
struct RawOption {
    number: u16,
    header_start: usize,
    value_start: usize,
    value_end: usize,
}

/// Reads an extended delta or length (RFC 7252 §3.1).
#[inline]
fn read_ext(
    bytes: &[u8],
    pos: &mut usize,
    nibble: u8,
    reserved: FormatError,
) -> Result<usize, FormatError> {
    match nibble {
        0..=12 => Ok(usize::from(nibble)),
        13 => {
            let b = *bytes.get(*pos).ok_or(FormatError::Truncated)?;
            *pos += 1;
            Ok(usize::from(b) + 13)
        }
        14 => match bytes.get(*pos..*pos + 2) {
            Some(&[hi, lo]) => {
                *pos += 2;
                Ok(usize::from(u16::from_be_bytes([hi, lo])) + 269)
            }
            _ => Err(FormatError::Truncated),
        },
        _ => Err(reserved),
    }
}

/// Reads the option whose header starts at `pos` (not a payload marker) after option `prev`.
#[inline]
fn read_option(bytes: &[u8], pos: usize, prev: u16) -> Result<RawOption, FormatError> {
    let first = *bytes.get(pos).ok_or(FormatError::Truncated)?;
    let mut p = pos + 1;
    let delta = read_ext(bytes, &mut p, first >> 4, FormatError::ReservedOptionDelta)?;
    let len = read_ext(
        bytes,
        &mut p,
        first & 0x0f,
        FormatError::ReservedOptionLength,
    )?;
    let number =
        u16::try_from(usize::from(prev) + delta).map_err(|_| FormatError::OptionNumberOverflow)?;
    let value_end = p.checked_add(len).ok_or(FormatError::Truncated)?;
    if value_end > bytes.len() {
        return Err(FormatError::Truncated);
    }
    Ok(RawOption {
        number,
        header_start: pos,
        value_start: p,
        value_end,
    })
}

/// Walks the options after the token: returns where they end and where the payload starts
/// (equal when there is no payload). Every option is checked (RFC 7252 §3, §3.1).
#[inline]
pub(crate) fn split_options(bytes: &[u8]) -> Result<(usize, usize), FormatError> {
    let mut pos = 0;
    let mut prev = 0;
    loop {
        match bytes.get(pos) {
            None => return Ok((pos, pos)),
            Some(&PAYLOAD_MARKER) => {
                return if pos + 1 < bytes.len() {
                    Ok((pos, pos + 1))
                } else {
                    Err(FormatError::EmptyPayload)
                };
            }
            Some(_) => {
                let opt = read_option(bytes, pos, prev)?;
                prev = opt.number;
                pos = opt.value_end;
            }
        }
    }
}

/// An option header: 1 byte plus up to 2 extension bytes each for delta and length.
struct EncodedHeader {
    buf: [u8; 5],
    len: usize,
}

impl EncodedHeader {
    #[inline]
    fn new(delta: u16, value_len: usize) -> EncodedHeader {
        let mut buf = [0u8; 5];
        let mut len = 1;
        let d = Self::nibble(usize::from(delta), &mut buf, &mut len);
        let l = Self::nibble(value_len, &mut buf, &mut len);
        buf[0] = (d << 4) | l;
        EncodedHeader { buf, len }
    }

    /// The nibble for `v`, writing its extension bytes at `buf[*len..]` (RFC 7252 §3.1).
    fn nibble(v: usize, buf: &mut [u8; 5], len: &mut usize) -> u8 {
        if v < 13 {
            v as u8
        } else if v < 269 {
            if let Some(b) = buf.get_mut(*len) {
                *b = (v - 13) as u8;
            }
            *len += 1;
            13
        } else {
            let ext = ((v - 269) as u16).to_be_bytes();
            if let Some(b) = buf.get_mut(*len..*len + 2) {
                b.copy_from_slice(&ext);
            }
            *len += 2;
            14
        }
    }

    #[inline]
    fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }
}

/// One option: its number and value, borrowed from the message.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CoapOption<'a> {
    /// The option number.
    pub number: OptionNumber,
    /// The raw value.
    pub value: &'a [u8],
}

impl<'a> CoapOption<'a> {
    /// The value as a uint (RFC 7252 §3.2), `None` when longer than 4 bytes.
    #[must_use]
    #[inline]
    pub fn as_uint(&self) -> Option<u32> {
        decode_uint(self.value)
    }

    /// The value as UTF-8 text.
    #[must_use]
    #[inline]
    pub fn as_str(&self) -> Option<&'a str> {
        core::str::from_utf8(self.value).ok()
    }
}

impl fmt::Debug for CoapOption<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

/// `Name: value`, the value shown by the option's format: text quoted, uints as numbers (with the
/// media type for Content-Format/Accept and `NUM/M/size` for block options), opaque as hex.
impl fmt::Display for CoapOption<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let spec = self.number.spec();
        match spec {
            Some(s) => write!(f, "{}: ", s.name)?,
            None => write!(f, "Option {}: ", self.number.0)?,
        }
        let format = spec.map(|s| s.format);
        match (format, self.as_uint(), self.as_str()) {
            (Some(OptionFormat::Uint), Some(v), _) => match self.number {
                OptionNumber::CONTENT_FORMAT | OptionNumber::ACCEPT => {
                    write!(f, "{}", ContentFormat(v as u16))
                }
                OptionNumber::BLOCK1
                | OptionNumber::BLOCK2
                | OptionNumber::Q_BLOCK1
                | OptionNumber::Q_BLOCK2 => match Block::from_uint(v) {
                    Some(b) => write!(f, "{b}"),
                    None => write!(f, "{v}"),
                },
                _ => write!(f, "{v}"),
            },
            (Some(OptionFormat::String), _, Some(s)) => write!(f, "{s:?}"),
            _ => {
                if self.value.is_empty() {
                    return write!(f, "(empty)");
                }
                write!(f, "0x")?;
                for b in self.value {
                    write!(f, "{b:02x}")?;
                }
                Ok(())
            }
        }
    }
}

/// Iterator over the options of a message, in order.
#[derive(Clone, Debug)]
pub struct OptionIter<'a> {
    bytes: &'a [u8],
    pos: usize,
    prev: u16,
}

impl<'a> OptionIter<'a> {
    #[inline]
    fn next_raw(&mut self) -> Option<RawOption> {
        if self.pos >= self.bytes.len() {
            return None;
        }
        match read_option(self.bytes, self.pos, self.prev) {
            Ok(opt) => {
                self.pos = opt.value_end;
                self.prev = opt.number;
                Some(opt)
            }
            // Unreachable for validated bytes; end the iteration rather than panic.
            Err(_) => {
                self.pos = self.bytes.len();
                None
            }
        }
    }
}

impl<'a> Iterator for OptionIter<'a> {
    type Item = CoapOption<'a>;

    #[inline]
    fn next(&mut self) -> Option<CoapOption<'a>> {
        let raw = self.next_raw()?;
        Some(CoapOption {
            number: OptionNumber(raw.number),
            value: self
                .bytes
                .get(raw.value_start..raw.value_end)
                .unwrap_or(&[]),
        })
    }
}

impl core::iter::FusedIterator for OptionIter<'_> {}

/// The values of every occurrence of one option, in order. Stops at the first larger option
/// number, since options are sorted.
#[derive(Clone, Debug)]
pub struct Values<'a> {
    inner: OptionIter<'a>,
    number: OptionNumber,
}

impl<'a> Iterator for Values<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        loop {
            let opt = self.inner.next()?;
            if opt.number == self.number {
                return Some(opt.value);
            }
            if opt.number > self.number {
                self.inner.pos = self.inner.bytes.len();
                return None;
            }
        }
    }
}

impl core::iter::FusedIterator for Values<'_> {}

/// The values of a repeatable string option (Uri-Path, Uri-Query, Location-Path, …) as text,
/// each checked for UTF-8 and the option's length limit.
#[derive(Clone, Debug)]
pub struct StrValues<'a> {
    inner: Values<'a>,
    max_len: usize,
}

impl<'a> StrValues<'a> {
    #[inline]
    pub(crate) fn new(inner: Values<'a>, max_len: usize) -> StrValues<'a> {
        StrValues { inner, max_len }
    }
}

impl<'a> Iterator for StrValues<'a> {
    type Item = Result<&'a str, OptionError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let value = self.inner.next()?;
        let number = self.inner.number;
        Some(if value.len() > self.max_len {
            Err(OptionError::new(
                number,
                OptionErrorKind::Length { len: value.len() },
            ))
        } else {
            core::str::from_utf8(value).map_err(|_| OptionError::new(number, OptionErrorKind::Utf8))
        })
    }
}

impl core::iter::FusedIterator for StrValues<'_> {}

/// A zero-copy view of a well-formed option sequence, with typed accessors.
///
/// Typed accessors return the first occurrence of an option, `Ok(None)` when absent, and an
/// [`OptionError`] when its value does not fit the option's definition (length per RFC 7252
/// §5.10 Table 4 and the defining RFCs, UTF-8, forbidden values). Supernumerary occurrences of
/// non-repeatable options are not looked at; [`Options::unrecognized_critical_option`] reports
/// them (RFC 7252 §5.4.5).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Options<'a> {
    bytes: &'a [u8],
    bert: bool,
}

impl<'a> Options<'a> {
    /// No options (e.g. for a message built without any).
    pub const EMPTY: Options<'static> = Options {
        bytes: &[],
        bert: false,
    };

    /// A view of bytes already checked by [`split_options`].
    #[inline]
    pub(crate) const fn new_checked(bytes: &'a [u8], bert: bool) -> Options<'a> {
        Options { bytes, bert }
    }

    /// Checks an encoded option sequence (no payload marker) and views it. Block options with
    /// SZX 7 are reported as invalid, as over UDP.
    ///
    /// # Errors
    /// The [`FormatError`] of the first malformed option; a payload marker is
    /// [`FormatError::ReservedOptionDelta`].
    pub fn parse(bytes: &'a [u8]) -> Result<Options<'a>, FormatError> {
        match split_options(bytes)? {
            (end, _) if end == bytes.len() => Ok(Options::new_checked(bytes, false)),
            _ => Err(FormatError::ReservedOptionDelta),
        }
    }

    /// The encoded options.
    #[must_use]
    #[inline]
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// No options.
    #[must_use]
    #[inline]
    pub const fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// All options, in order.
    #[must_use]
    #[inline]
    pub fn iter(&self) -> OptionIter<'a> {
        OptionIter {
            bytes: self.bytes,
            pos: 0,
            prev: 0,
        }
    }

    /// The values of every occurrence of `number`.
    #[must_use]
    #[inline]
    pub fn values(&self, number: OptionNumber) -> Values<'a> {
        Values {
            inner: self.iter(),
            number,
        }
    }

    /// The value of the first occurrence of `number`.
    #[must_use]
    #[inline]
    pub fn first(&self, number: OptionNumber) -> Option<&'a [u8]> {
        self.values(number).next()
    }

    /// Whether `number` occurs.
    #[must_use]
    pub fn contains(&self, number: OptionNumber) -> bool {
        self.first(number).is_some()
    }

    /// The first value of `number`, checked against the registered length range when the option
    /// is known.
    ///
    /// # Errors
    /// [`OptionErrorKind::Length`] when outside the range.
    #[inline]
    pub fn first_checked(&self, number: OptionNumber) -> Result<Option<&'a [u8]>, OptionError> {
        let Some(value) = self.first(number) else {
            return Ok(None);
        };
        match number.spec() {
            Some(spec) if !spec.len_ok(value.len()) => Err(OptionError::new(
                number,
                OptionErrorKind::Length { len: value.len() },
            )),
            _ => Ok(Some(value)),
        }
    }

    /// The first value of `number` as a uint (RFC 7252 §3.2), with the registered length limit
    /// when the option is known, else at most 4 bytes.
    ///
    /// # Errors
    /// [`OptionErrorKind::Length`] when too long.
    #[inline]
    pub fn uint(&self, number: OptionNumber) -> Result<Option<u32>, OptionError> {
        match self.first_checked(number)? {
            None => Ok(None),
            Some(value) => decode_uint(value).map(Some).ok_or(OptionError::new(
                number,
                OptionErrorKind::Length { len: value.len() },
            )),
        }
    }

    /// The first value of a string option as text.
    ///
    /// # Errors
    /// Wrong length, or not UTF-8.
    #[inline]
    pub fn str(&self, number: OptionNumber) -> Result<Option<&'a str>, OptionError> {
        match self.first_checked(number)? {
            None => Ok(None),
            Some(value) => core::str::from_utf8(value)
                .map(Some)
                .map_err(|_| OptionError::new(number, OptionErrorKind::Utf8)),
        }
    }

    /// Every value of a string option as text, each checked for UTF-8 and the option's length
    /// limit (255 for unknown options).
    #[must_use]
    #[inline]
    pub fn strs(&self, number: OptionNumber) -> StrValues<'a> {
        StrValues {
            inner: self.values(number),
            max_len: number.spec().map_or(255, |s| usize::from(s.max_len)),
        }
    }

    /// Uri-Host (3).
    ///
    /// # Errors
    /// Empty or longer than 255 bytes, or not UTF-8.
    #[inline]
    pub fn uri_host(&self) -> Result<Option<&'a str>, OptionError> {
        self.str(OptionNumber::URI_HOST)
    }

    /// Uri-Port (7).
    ///
    /// # Errors
    /// Longer than 2 bytes.
    #[inline]
    pub fn uri_port(&self) -> Result<Option<u16>, OptionError> {
        Ok(self.uint(OptionNumber::URI_PORT)?.map(|v| v as u16))
    }

    /// Uri-Path (11) segments, in order: `/.well-known/dots/mitigate` is `".well-known"`,
    /// `"dots"`, `"mitigate"`.
    #[must_use]
    #[inline]
    pub fn uri_path(&self) -> StrValues<'a> {
        self.strs(OptionNumber::URI_PATH)
    }

    /// Uri-Query (15) arguments, in order (e.g. `"c=a"`).
    #[must_use]
    #[inline]
    pub fn uri_query(&self) -> StrValues<'a> {
        self.strs(OptionNumber::URI_QUERY)
    }

    /// Location-Path (8) segments.
    #[must_use]
    #[inline]
    pub fn location_path(&self) -> StrValues<'a> {
        self.strs(OptionNumber::LOCATION_PATH)
    }

    /// Location-Query (20) arguments.
    #[must_use]
    #[inline]
    pub fn location_query(&self) -> StrValues<'a> {
        self.strs(OptionNumber::LOCATION_QUERY)
    }

    /// Whether the Uri-Path segments are exactly `path`. Cheap: no allocation, stops at the
    /// first difference; invalid segments never match.
    #[must_use]
    #[inline]
    pub fn uri_path_is(&self, path: &[&str]) -> bool {
        let mut segments = self.values(OptionNumber::URI_PATH);
        for want in path {
            match segments.next() {
                Some(seg) if seg == want.as_bytes() => {}
                _ => return false,
            }
        }
        segments.next().is_none()
    }

    /// Content-Format (12).
    ///
    /// # Errors
    /// Longer than 2 bytes.
    #[inline]
    pub fn content_format(&self) -> Result<Option<ContentFormat>, OptionError> {
        Ok(self
            .uint(OptionNumber::CONTENT_FORMAT)?
            .map(|v| ContentFormat(v as u16)))
    }

    /// Accept (17).
    ///
    /// # Errors
    /// Longer than 2 bytes.
    #[inline]
    pub fn accept(&self) -> Result<Option<ContentFormat>, OptionError> {
        Ok(self
            .uint(OptionNumber::ACCEPT)?
            .map(|v| ContentFormat(v as u16)))
    }

    /// Observe (6, RFC 7641): 0 registers, 1 deregisters in a request; a 24-bit sequence number
    /// in a notification.
    ///
    /// # Errors
    /// Longer than 3 bytes.
    #[inline]
    pub fn observe(&self) -> Result<Option<u32>, OptionError> {
        self.uint(OptionNumber::OBSERVE)
    }

    /// Max-Age (14) in seconds; absent means 60 (RFC 7252 §5.10.5).
    ///
    /// # Errors
    /// Longer than 4 bytes.
    #[inline]
    pub fn max_age(&self) -> Result<Option<u32>, OptionError> {
        self.uint(OptionNumber::MAX_AGE)
    }

    /// Size1 (60): size of the request body (RFC 7959 §4).
    ///
    /// # Errors
    /// Longer than 4 bytes.
    #[inline]
    pub fn size1(&self) -> Result<Option<u32>, OptionError> {
        self.uint(OptionNumber::SIZE1)
    }

    /// Size2 (28): size of the response body (RFC 7959 §4).
    ///
    /// # Errors
    /// Longer than 4 bytes.
    #[inline]
    pub fn size2(&self) -> Result<Option<u32>, OptionError> {
        self.uint(OptionNumber::SIZE2)
    }

    #[inline]
    fn block(&self, number: OptionNumber) -> Result<Option<Block>, OptionError> {
        match self.uint(number)? {
            None => Ok(None),
            Some(v) => match Block::from_uint(v) {
                Some(b) if self.bert || !b.is_bert() => Ok(Some(b)),
                _ => Err(OptionError::new(number, OptionErrorKind::Value)),
            },
        }
    }

    /// Block1 (27, RFC 7959). SZX 7 is BERT over TCP/TLS and an invalid value over UDP.
    ///
    /// # Errors
    /// Longer than 3 bytes; SZX 7 over UDP (RFC 7959 §2.2: answer a request with 4.00).
    #[inline]
    pub fn block1(&self) -> Result<Option<Block>, OptionError> {
        self.block(OptionNumber::BLOCK1)
    }

    /// Block2 (23, RFC 7959). SZX 7 is BERT over TCP/TLS and an invalid value over UDP.
    ///
    /// # Errors
    /// Longer than 3 bytes; SZX 7 over UDP.
    #[inline]
    pub fn block2(&self) -> Result<Option<Block>, OptionError> {
        self.block(OptionNumber::BLOCK2)
    }

    /// Q-Block1 (19, RFC 9177).
    ///
    /// # Errors
    /// Longer than 3 bytes; SZX 7 over UDP.
    #[inline]
    pub fn q_block1(&self) -> Result<Option<Block>, OptionError> {
        self.block(OptionNumber::Q_BLOCK1)
    }

    /// The first Q-Block2 (31, RFC 9177).
    ///
    /// # Errors
    /// Longer than 3 bytes; SZX 7 over UDP.
    #[inline]
    pub fn q_block2(&self) -> Result<Option<Block>, OptionError> {
        self.block(OptionNumber::Q_BLOCK2)
    }

    /// Every Q-Block2 (31): a request for missing blocks repeats it (RFC 9177 §4.1).
    pub fn q_block2_all(&self) -> impl Iterator<Item = Result<Block, OptionError>> + 'a {
        let bert = self.bert;
        let number = OptionNumber::Q_BLOCK2;
        self.values(number).map(move |value| {
            if value.len() > 3 {
                return Err(OptionError::new(
                    number,
                    OptionErrorKind::Length { len: value.len() },
                ));
            }
            match decode_uint(value).and_then(Block::from_uint) {
                Some(b) if bert || !b.is_bert() => Ok(b),
                _ => Err(OptionError::new(number, OptionErrorKind::Value)),
            }
        })
    }

    /// Hop-Limit (16, RFC 8768).
    ///
    /// # Errors
    /// A length other than 1, or 0 (RFC 8768 §3: a request with it gets 4.00).
    #[inline]
    pub fn hop_limit(&self) -> Result<Option<HopLimit>, OptionError> {
        match self.uint(OptionNumber::HOP_LIMIT)? {
            None => Ok(None),
            Some(v) => HopLimit::new(v as u8).map(Some).ok_or(OptionError::new(
                OptionNumber::HOP_LIMIT,
                OptionErrorKind::Value,
            )),
        }
    }

    /// ETag (4) values: one in a response, any number in a request (RFC 7252 §5.10.6).
    #[must_use]
    #[inline]
    pub fn etags(&self) -> Values<'a> {
        self.values(OptionNumber::ETAG)
    }

    /// If-Match (1) values; an empty value matches any existing representation
    /// (RFC 7252 §5.10.8.1).
    #[must_use]
    #[inline]
    pub fn if_match(&self) -> Values<'a> {
        self.values(OptionNumber::IF_MATCH)
    }

    /// Whether If-None-Match (5) is present.
    #[must_use]
    #[inline]
    pub fn if_none_match(&self) -> bool {
        self.contains(OptionNumber::IF_NONE_MATCH)
    }

    /// The first critical option this crate does not recognise (RFC 7252 §5.4.1), counting as
    /// unrecognised a known option with a value of the wrong length (§5.4.3) and each
    /// supernumerary occurrence of a non-repeatable option (§5.4.5). Elective options are never
    /// reported: RFC 7252 says to ignore them.
    #[must_use]
    pub fn unrecognized_critical_option(&self) -> Option<OptionNumber> {
        self.first_unrecognized_critical(OptionNumber::is_known, OptionNumber::spec)
    }

    /// As [`Options::unrecognized_critical_option`], with the caller's set of recognised
    /// options (e.g. without Proxy-Uri for an endpoint that is no proxy). Length and repetition
    /// are checked for the options this crate knows.
    #[must_use]
    pub fn unrecognized_critical_option_with(
        &self,
        recognizes: impl FnMut(OptionNumber) -> bool,
    ) -> Option<OptionNumber> {
        self.first_unrecognized_critical(recognizes, OptionNumber::spec)
    }

    pub(crate) fn first_unrecognized_critical(
        &self,
        mut recognizes: impl FnMut(OptionNumber) -> bool,
        spec_of: impl Fn(OptionNumber) -> Option<OptionSpec>,
    ) -> Option<OptionNumber> {
        let mut prev = None;
        for opt in self.iter() {
            let n = opt.number;
            let repeated = prev == Some(n);
            prev = Some(n);
            if !n.is_critical() {
                continue;
            }
            if !recognizes(n) {
                return Some(n);
            }
            if let Some(spec) = spec_of(n) {
                if !spec.len_ok(opt.value.len()) || (repeated && !spec.repeatable) {
                    return Some(n);
                }
            }
        }
        None
    }
}

impl<'a> IntoIterator for Options<'a> {
    type Item = CoapOption<'a>;
    type IntoIter = OptionIter<'a>;

    #[inline]
    fn into_iter(self) -> OptionIter<'a> {
        self.iter()
    }
}

impl fmt::Debug for Options<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// An owned option sequence of at most `N` encoded bytes, kept sorted by option number
/// (insertion order among equal numbers), with typed builders.
///
/// Options can be added in any order; adding re-encodes the neighbouring delta. Values are
/// stored in their wire encoding, so [`OptionList::as_options`] reads them with the same typed
/// accessors as a received message.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct OptionList<const N: usize> {
    buf: heapless::Vec<u8, N>,
}

impl<const N: usize> OptionList<N> {
    /// No options.
    #[must_use]
    #[inline]
    pub const fn new() -> Self {
        OptionList {
            buf: heapless::Vec::new(),
        }
    }

    /// Copies a checked option sequence.
    ///
    /// # Errors
    /// [`BuildError::OptionsFull`] when it exceeds `N` bytes.
    pub fn from_options(options: Options<'_>) -> Result<Self, BuildError> {
        let mut list = OptionList::new();
        list.copy_from(options)?;
        Ok(list)
    }

    /// Replaces the options by a copy of a checked option sequence, in place.
    ///
    /// # Errors
    /// [`BuildError::OptionsFull`] when it exceeds `N` bytes (the list is then empty).
    pub fn copy_from(&mut self, options: Options<'_>) -> Result<&mut Self, BuildError> {
        let bytes = options.as_bytes();
        self.buf.clear();
        self.buf
            .extend_from_slice(bytes)
            .map_err(|_| BuildError::OptionsFull {
                needed: bytes.len(),
                capacity: N,
            })?;
        Ok(self)
    }

    /// Reads the options with the typed accessors; block options with SZX 7 are reported as
    /// invalid (the UDP rule). See [`OptionList::as_options_bert`] for TCP/TLS.
    #[must_use]
    #[inline]
    pub fn as_options(&self) -> Options<'_> {
        Options::new_checked(&self.buf, false)
    }

    /// Reads the options, with SZX 7 meaning BERT (RFC 8323 §6).
    #[must_use]
    #[inline]
    pub fn as_options_bert(&self) -> Options<'_> {
        Options::new_checked(&self.buf, true)
    }

    /// All options, in order.
    #[must_use]
    #[inline]
    pub fn iter(&self) -> OptionIter<'_> {
        self.as_options().iter()
    }

    /// The encoded options.
    #[must_use]
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Encoded length in bytes.
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        self.buf.len()
    }

    /// No options.
    #[must_use]
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Removes every option.
    pub fn clear(&mut self) {
        self.buf.clear();
    }

    /// Replaces `range` of the encoding by the concatenation of `parts`.
    fn splice(&mut self, range: Range<usize>, parts: &[&[u8]]) -> Result<(), BuildError> {
        let old_len = self.buf.len();
        let insert: usize = parts.iter().map(|p| p.len()).sum();
        let removed = range.end.saturating_sub(range.start);
        let new_len = (old_len - removed).saturating_add(insert);
        if new_len > N {
            return Err(BuildError::OptionsFull {
                needed: new_len,
                capacity: N,
            });
        }
        let tail_to = range.start + insert;
        if insert > removed {
            self.buf
                .resize(new_len, 0)
                .map_err(|_| BuildError::OptionsFull {
                    needed: new_len,
                    capacity: N,
                })?;
            self.buf.copy_within(range.end..old_len, tail_to);
        } else {
            self.buf.copy_within(range.end..old_len, tail_to);
            self.buf.truncate(new_len);
        }
        let mut at = range.start;
        for part in parts {
            if let Some(dst) = self.buf.get_mut(at..at + part.len()) {
                dst.copy_from_slice(part);
            }
            at += part.len();
        }
        Ok(())
    }

    fn raw_iter(&self) -> OptionIter<'_> {
        self.as_options().iter()
    }

    /// Adds an option after any existing options with the same or a lower number. The value is
    /// not checked against the option's definition (the typed builders do that); signalling
    /// options (RFC 8323 §5.2) are added with this.
    ///
    /// # Errors
    /// [`BuildError::InvalidLength`] beyond [`MAX_OPTION_VALUE_LEN`];
    /// [`BuildError::OptionsFull`] when the encoding would exceed `N` bytes.
    pub fn push(&mut self, number: OptionNumber, value: &[u8]) -> Result<&mut Self, BuildError> {
        if value.len() > MAX_OPTION_VALUE_LEN {
            return Err(BuildError::InvalidLength {
                number,
                len: value.len(),
            });
        }
        let mut iter = self.raw_iter();
        let mut prev = 0u16;
        let mut insert_at = 0;
        let mut next = None;
        while let Some(raw) = iter.next_raw() {
            if raw.number <= number.0 {
                prev = raw.number;
                insert_at = raw.value_end;
            } else {
                next = Some(raw);
                break;
            }
        }
        let header = EncodedHeader::new(number.0 - prev, value.len());
        match next {
            None => self.splice(insert_at..insert_at, &[header.as_bytes(), value])?,
            Some(raw) => {
                let next_header =
                    EncodedHeader::new(raw.number - number.0, raw.value_end - raw.value_start);
                self.splice(
                    raw.header_start..raw.value_start,
                    &[header.as_bytes(), value, next_header.as_bytes()],
                )?;
            }
        }
        Ok(self)
    }

    /// Removes every occurrence of `number`; returns whether there was one.
    pub fn remove(&mut self, number: OptionNumber) -> bool {
        let mut iter = self.raw_iter();
        let mut prev = 0u16;
        let mut found: Option<(usize, usize)> = None;
        let mut next = None;
        while let Some(raw) = iter.next_raw() {
            if raw.number < number.0 {
                prev = raw.number;
            } else if raw.number == number.0 {
                found = Some((found.map_or(raw.header_start, |f| f.0), raw.value_end));
            } else {
                next = Some(raw);
                break;
            }
        }
        let Some((start, end)) = found else {
            return false;
        };
        // Shrinking never exceeds the capacity, so the splices below cannot fail.
        let _ = match next {
            None => self.splice(start..end, &[]),
            Some(raw) => {
                let next_header =
                    EncodedHeader::new(raw.number - prev, raw.value_end - raw.value_start);
                self.splice(start..raw.value_start, &[next_header.as_bytes()])
            }
        };
        true
    }

    /// Replaces every occurrence of `number` by one with `value`.
    ///
    /// # Errors
    /// As [`OptionList::push`]; on error the option is gone.
    pub fn set(&mut self, number: OptionNumber, value: &[u8]) -> Result<&mut Self, BuildError> {
        self.remove(number);
        self.push(number, value)
    }

    /// Adds a uint option in its shortest form (RFC 7252 §3.2).
    ///
    /// # Errors
    /// As [`OptionList::push`].
    pub fn push_uint(&mut self, number: OptionNumber, value: u32) -> Result<&mut Self, BuildError> {
        self.push(number, UintBytes::new(value).as_bytes())
    }

    /// Replaces `number` by a uint option in its shortest form.
    ///
    /// # Errors
    /// As [`OptionList::push`].
    pub fn set_uint(&mut self, number: OptionNumber, value: u32) -> Result<&mut Self, BuildError> {
        self.set(number, UintBytes::new(value).as_bytes())
    }

    /// Adds a value, checked against the registered length range of a known option.
    fn push_checked(
        &mut self,
        number: OptionNumber,
        value: &[u8],
    ) -> Result<&mut Self, BuildError> {
        match number.spec() {
            Some(spec) if !spec.len_ok(value.len()) => Err(BuildError::InvalidLength {
                number,
                len: value.len(),
            }),
            _ => self.push(number, value),
        }
    }

    /// Adds a string option (Uri-Path, Uri-Query, …), checked against its length range.
    ///
    /// # Errors
    /// [`BuildError::InvalidLength`], [`BuildError::OptionsFull`].
    pub fn push_str(&mut self, number: OptionNumber, value: &str) -> Result<&mut Self, BuildError> {
        self.push_checked(number, value.as_bytes())
    }

    /// Adds one Uri-Path segment (at most 255 bytes).
    ///
    /// # Errors
    /// [`BuildError::InvalidLength`], [`BuildError::OptionsFull`].
    pub fn push_uri_path(&mut self, segment: &str) -> Result<&mut Self, BuildError> {
        self.push_str(OptionNumber::URI_PATH, segment)
    }

    /// Replaces the Uri-Path by the segments of `path`, split at `/`; a leading `/` is skipped
    /// and `"/"` or `""` is the empty path (RFC 7252 §6.4).
    ///
    /// # Errors
    /// [`BuildError::InvalidLength`], [`BuildError::OptionsFull`].
    pub fn set_uri_path(&mut self, path: &str) -> Result<&mut Self, BuildError> {
        self.remove(OptionNumber::URI_PATH);
        let path = path.strip_prefix('/').unwrap_or(path);
        if !path.is_empty() {
            for segment in path.split('/') {
                self.push_uri_path(segment)?;
            }
        }
        Ok(self)
    }

    /// Adds one Uri-Query argument (at most 255 bytes), e.g. `"c=a"`.
    ///
    /// # Errors
    /// [`BuildError::InvalidLength`], [`BuildError::OptionsFull`].
    pub fn push_uri_query(&mut self, argument: &str) -> Result<&mut Self, BuildError> {
        self.push_str(OptionNumber::URI_QUERY, argument)
    }

    /// Adds one Location-Path segment.
    ///
    /// # Errors
    /// [`BuildError::InvalidLength`], [`BuildError::OptionsFull`].
    pub fn push_location_path(&mut self, segment: &str) -> Result<&mut Self, BuildError> {
        self.push_str(OptionNumber::LOCATION_PATH, segment)
    }

    /// Adds one Location-Query argument.
    ///
    /// # Errors
    /// [`BuildError::InvalidLength`], [`BuildError::OptionsFull`].
    pub fn push_location_query(&mut self, argument: &str) -> Result<&mut Self, BuildError> {
        self.push_str(OptionNumber::LOCATION_QUERY, argument)
    }

    /// Sets Uri-Host (1–255 bytes).
    ///
    /// # Errors
    /// [`BuildError::InvalidLength`], [`BuildError::OptionsFull`].
    pub fn set_uri_host(&mut self, host: &str) -> Result<&mut Self, BuildError> {
        self.remove(OptionNumber::URI_HOST);
        self.push_str(OptionNumber::URI_HOST, host)
    }

    /// Sets Uri-Port.
    ///
    /// # Errors
    /// [`BuildError::OptionsFull`].
    pub fn set_uri_port(&mut self, port: u16) -> Result<&mut Self, BuildError> {
        self.set_uint(OptionNumber::URI_PORT, u32::from(port))
    }

    /// Sets Content-Format.
    ///
    /// # Errors
    /// [`BuildError::OptionsFull`].
    pub fn set_content_format(&mut self, format: ContentFormat) -> Result<&mut Self, BuildError> {
        self.set_uint(OptionNumber::CONTENT_FORMAT, u32::from(format.0))
    }

    /// Sets Accept.
    ///
    /// # Errors
    /// [`BuildError::OptionsFull`].
    pub fn set_accept(&mut self, format: ContentFormat) -> Result<&mut Self, BuildError> {
        self.set_uint(OptionNumber::ACCEPT, u32::from(format.0))
    }

    /// Sets Observe; the value is taken modulo 2^24 (RFC 7641 §4.4 sequence numbers wrap there).
    ///
    /// # Errors
    /// [`BuildError::OptionsFull`].
    pub fn set_observe(&mut self, value: u32) -> Result<&mut Self, BuildError> {
        self.set_uint(OptionNumber::OBSERVE, value & 0x00ff_ffff)
    }

    /// Sets Max-Age in seconds.
    ///
    /// # Errors
    /// [`BuildError::OptionsFull`].
    pub fn set_max_age(&mut self, seconds: u32) -> Result<&mut Self, BuildError> {
        self.set_uint(OptionNumber::MAX_AGE, seconds)
    }

    /// Sets Block1.
    ///
    /// # Errors
    /// [`BuildError::OptionsFull`].
    pub fn set_block1(&mut self, block: Block) -> Result<&mut Self, BuildError> {
        self.set_uint(OptionNumber::BLOCK1, block.to_uint())
    }

    /// Sets Block2.
    ///
    /// # Errors
    /// [`BuildError::OptionsFull`].
    pub fn set_block2(&mut self, block: Block) -> Result<&mut Self, BuildError> {
        self.set_uint(OptionNumber::BLOCK2, block.to_uint())
    }

    /// Sets Q-Block1.
    ///
    /// # Errors
    /// [`BuildError::OptionsFull`].
    pub fn set_q_block1(&mut self, block: Block) -> Result<&mut Self, BuildError> {
        self.set_uint(OptionNumber::Q_BLOCK1, block.to_uint())
    }

    /// Adds a Q-Block2 (repeatable when asking for missing blocks, RFC 9177 §4.1).
    ///
    /// # Errors
    /// [`BuildError::OptionsFull`].
    pub fn push_q_block2(&mut self, block: Block) -> Result<&mut Self, BuildError> {
        self.push_uint(OptionNumber::Q_BLOCK2, block.to_uint())
    }

    /// Sets Size1.
    ///
    /// # Errors
    /// [`BuildError::OptionsFull`].
    pub fn set_size1(&mut self, size: u32) -> Result<&mut Self, BuildError> {
        self.set_uint(OptionNumber::SIZE1, size)
    }

    /// Sets Size2.
    ///
    /// # Errors
    /// [`BuildError::OptionsFull`].
    pub fn set_size2(&mut self, size: u32) -> Result<&mut Self, BuildError> {
        self.set_uint(OptionNumber::SIZE2, size)
    }

    /// Sets Hop-Limit (RFC 8768).
    ///
    /// # Errors
    /// [`BuildError::OptionsFull`].
    pub fn set_hop_limit(&mut self, limit: HopLimit) -> Result<&mut Self, BuildError> {
        // Exactly one byte (RFC 8768 §3), which the shortest uint form is for 1–255.
        self.set(OptionNumber::HOP_LIMIT, &[limit.get()])
    }

    /// Adds an ETag (1–8 bytes).
    ///
    /// # Errors
    /// [`BuildError::InvalidLength`], [`BuildError::OptionsFull`].
    pub fn push_etag(&mut self, etag: &[u8]) -> Result<&mut Self, BuildError> {
        self.push_checked(OptionNumber::ETAG, etag)
    }

    /// Adds an If-Match (0–8 bytes; empty matches any representation).
    ///
    /// # Errors
    /// [`BuildError::InvalidLength`], [`BuildError::OptionsFull`].
    pub fn push_if_match(&mut self, etag: &[u8]) -> Result<&mut Self, BuildError> {
        self.push_checked(OptionNumber::IF_MATCH, etag)
    }

    /// Sets If-None-Match.
    ///
    /// # Errors
    /// [`BuildError::OptionsFull`].
    pub fn set_if_none_match(&mut self) -> Result<&mut Self, BuildError> {
        self.set(OptionNumber::IF_NONE_MATCH, &[])
    }
}

impl<const N: usize> fmt::Debug for OptionList<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a, const N: usize> IntoIterator for &'a OptionList<N> {
    type Item = CoapOption<'a>;
    type IntoIter = OptionIter<'a>;

    #[inline]
    fn into_iter(self) -> OptionIter<'a> {
        self.iter()
    }
}
