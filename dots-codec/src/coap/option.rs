//! Option numbers, their registered properties, and the typed option values DOTS uses:
//! Content-Format, Block1/Block2/Q-Block1/Q-Block2 (RFC 7959, RFC 9177) and Hop-Limit (RFC 8768).

use core::fmt;
use core::num::NonZeroU8;

/// A CoAP option number (RFC 7252 §3.1, §5.4.6, registry of §12.2).
///
/// The number itself says how an endpoint that does not know the option treats it: odd numbers
/// are critical, even numbers elective ([`OptionNumber::is_critical`]).
///
/// The constants are the request/response options. Signalling messages of CoAP over TCP
/// (RFC 8323 §5.2) number their options per signalling code; those numbers are in
/// [`signal`](super::signal).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OptionNumber(pub u16);

impl OptionNumber {
    /// 1 If-Match (RFC 7252 §5.10.8.1): opaque 0–8 bytes, repeatable, critical.
    pub const IF_MATCH: OptionNumber = OptionNumber(1);
    /// 3 Uri-Host (RFC 7252 §5.10.1): string 1–255 bytes, critical.
    pub const URI_HOST: OptionNumber = OptionNumber(3);
    /// 4 ETag (RFC 7252 §5.10.6): opaque 1–8 bytes, repeatable (in requests), elective.
    pub const ETAG: OptionNumber = OptionNumber(4);
    /// 5 If-None-Match (RFC 7252 §5.10.8.2): empty, critical.
    pub const IF_NONE_MATCH: OptionNumber = OptionNumber(5);
    /// 6 Observe (RFC 7641 §2): uint 0–3 bytes, elective.
    pub const OBSERVE: OptionNumber = OptionNumber(6);
    /// 7 Uri-Port (RFC 7252 §5.10.1): uint 0–2 bytes, critical. libcoap sends it for
    /// non-default ports.
    pub const URI_PORT: OptionNumber = OptionNumber(7);
    /// 8 Location-Path (RFC 7252 §5.10.7): string 0–255 bytes, repeatable, elective.
    pub const LOCATION_PATH: OptionNumber = OptionNumber(8);
    /// 11 Uri-Path (RFC 7252 §5.10.1): string 0–255 bytes, repeatable, critical.
    pub const URI_PATH: OptionNumber = OptionNumber(11);
    /// 12 Content-Format (RFC 7252 §5.10.3): uint 0–2 bytes, elective.
    pub const CONTENT_FORMAT: OptionNumber = OptionNumber(12);
    /// 14 Max-Age (RFC 7252 §5.10.5): uint 0–4 bytes, elective, default 60 s.
    pub const MAX_AGE: OptionNumber = OptionNumber(14);
    /// 15 Uri-Query (RFC 7252 §5.10.1): string 0–255 bytes, repeatable, critical.
    pub const URI_QUERY: OptionNumber = OptionNumber(15);
    /// 16 Hop-Limit (RFC 8768 §3): uint of exactly 1 byte, 1–255, elective, default 16.
    pub const HOP_LIMIT: OptionNumber = OptionNumber(16);
    /// 17 Accept (RFC 7252 §5.10.4): uint 0–2 bytes, critical.
    pub const ACCEPT: OptionNumber = OptionNumber(17);
    /// 19 Q-Block1 (RFC 9177 §4.1): uint 0–3 bytes, critical.
    pub const Q_BLOCK1: OptionNumber = OptionNumber(19);
    /// 20 Location-Query (RFC 7252 §5.10.7): string 0–255 bytes, repeatable, elective.
    pub const LOCATION_QUERY: OptionNumber = OptionNumber(20);
    /// 23 Block2 (RFC 7959 §2.1): uint 0–3 bytes, critical.
    pub const BLOCK2: OptionNumber = OptionNumber(23);
    /// 27 Block1 (RFC 7959 §2.1): uint 0–3 bytes, critical.
    pub const BLOCK1: OptionNumber = OptionNumber(27);
    /// 28 Size2 (RFC 7959 §4): uint 0–4 bytes, elective.
    pub const SIZE2: OptionNumber = OptionNumber(28);
    /// 31 Q-Block2 (RFC 9177 §4.1): uint 0–3 bytes, repeatable (when asking for missing
    /// blocks), critical.
    pub const Q_BLOCK2: OptionNumber = OptionNumber(31);
    /// 35 Proxy-Uri (RFC 7252 §5.10.2): string 1–1034 bytes, critical.
    pub const PROXY_URI: OptionNumber = OptionNumber(35);
    /// 39 Proxy-Scheme (RFC 7252 §5.10.2): string 1–255 bytes, critical.
    pub const PROXY_SCHEME: OptionNumber = OptionNumber(39);
    /// 60 Size1 (RFC 7252 §5.10.9, RFC 7959 §4): uint 0–4 bytes, elective.
    pub const SIZE1: OptionNumber = OptionNumber(60);

    /// The number as an integer.
    #[must_use]
    #[inline]
    pub const fn value(self) -> u16 {
        self.0
    }

    /// Critical (odd) rather than elective (RFC 7252 §5.4.6).
    #[must_use]
    #[inline]
    pub const fn is_critical(self) -> bool {
        self.0 & 1 == 1
    }

    /// Unsafe to forward (RFC 7252 §5.4.6).
    #[must_use]
    pub const fn is_unsafe(self) -> bool {
        self.0 & 2 == 2
    }

    /// Safe-to-forward and not part of the cache key (RFC 7252 §5.4.6).
    #[must_use]
    pub const fn is_no_cache_key(self) -> bool {
        self.0 & 0x1e == 0x1c
    }

    /// The registered properties of a request/response option this crate knows, `None` for
    /// any other number.
    #[must_use]
    #[inline]
    pub const fn spec(self) -> Option<OptionSpec> {
        use OptionFormat::{Empty, Opaque, String, Uint};
        let (name, format, min, max, repeatable) = match self.0 {
            1 => ("If-Match", Opaque, 0, 8, true),
            3 => ("Uri-Host", String, 1, 255, false),
            4 => ("ETag", Opaque, 1, 8, true),
            5 => ("If-None-Match", Empty, 0, 0, false),
            6 => ("Observe", Uint, 0, 3, false),
            7 => ("Uri-Port", Uint, 0, 2, false),
            8 => ("Location-Path", String, 0, 255, true),
            11 => ("Uri-Path", String, 0, 255, true),
            12 => ("Content-Format", Uint, 0, 2, false),
            14 => ("Max-Age", Uint, 0, 4, false),
            15 => ("Uri-Query", String, 0, 255, true),
            16 => ("Hop-Limit", Uint, 1, 1, false),
            17 => ("Accept", Uint, 0, 2, false),
            19 => ("Q-Block1", Uint, 0, 3, false),
            20 => ("Location-Query", String, 0, 255, true),
            23 => ("Block2", Uint, 0, 3, false),
            27 => ("Block1", Uint, 0, 3, false),
            28 => ("Size2", Uint, 0, 4, false),
            31 => ("Q-Block2", Uint, 0, 3, true),
            35 => ("Proxy-Uri", String, 1, 1034, false),
            39 => ("Proxy-Scheme", String, 1, 255, false),
            60 => ("Size1", Uint, 0, 4, false),
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

    /// Whether this crate knows the option ([`OptionNumber::spec`] is `Some`).
    #[must_use]
    #[inline]
    pub const fn is_known(self) -> bool {
        self.spec().is_some()
    }
}

impl fmt::Display for OptionNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.spec() {
            Some(spec) => write!(f, "{} ({})", self.0, spec.name),
            None => write!(f, "{}", self.0),
        }
    }
}

impl fmt::Debug for OptionNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OptionNumber({self})")
    }
}

impl From<u16> for OptionNumber {
    fn from(n: u16) -> OptionNumber {
        OptionNumber(n)
    }
}

impl From<OptionNumber> for u16 {
    fn from(n: OptionNumber) -> u16 {
        n.0
    }
}

/// The value format of an option (RFC 7252 §3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OptionFormat {
    /// A zero-length value.
    Empty,
    /// Opaque bytes.
    Opaque,
    /// A non-negative integer in network byte order, leading zero bytes allowed on receipt.
    Uint,
    /// UTF-8 text.
    String,
}

/// The registered properties of an option (the columns of RFC 7252 Table 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OptionSpec {
    /// Registered name, e.g. `"Uri-Path"`.
    pub name: &'static str,
    /// Value format.
    pub format: OptionFormat,
    /// Smallest allowed value length in bytes.
    pub min_len: u16,
    /// Largest allowed value length in bytes (RFC 7252 §5.4.3: outside the range, the option is
    /// treated like an unrecognised one).
    pub max_len: u16,
    /// May occur more than once (RFC 7252 §5.4.5).
    pub repeatable: bool,
}

impl OptionSpec {
    /// Whether a value of `len` bytes is within the registered length range.
    #[must_use]
    #[inline]
    pub const fn len_ok(&self, len: usize) -> bool {
        len >= self.min_len as usize && len <= self.max_len as usize
    }
}

/// A Content-Format identifier (RFC 7252 §12.3), as carried by Content-Format and Accept.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContentFormat(pub u16);

impl ContentFormat {
    /// 0 `text/plain; charset=utf-8` (RFC 7252 §12.3), used for diagnostic payloads.
    pub const TEXT_PLAIN: ContentFormat = ContentFormat(0);
    /// 40 `application/link-format` (RFC 6690).
    pub const LINK_FORMAT: ContentFormat = ContentFormat(40);
    /// 42 `application/octet-stream` (RFC 7252 §12.3).
    pub const OCTET_STREAM: ContentFormat = ContentFormat(42);
    /// 50 `application/json` (RFC 7252 §12.3).
    pub const JSON: ContentFormat = ContentFormat(50);
    /// 60 `application/cbor` (RFC 7049 §7.4, RFC 8949).
    pub const CBOR: ContentFormat = ContentFormat(60);
    /// 271 `application/dots+cbor` (RFC 9132 §10.3): the DOTS signal channel bodies.
    pub const DOTS_CBOR: ContentFormat = ContentFormat(271);
    /// 272 `application/missing-blocks+cbor-seq` (RFC 9177 §12.3).
    pub const MISSING_BLOCKS_CBOR_SEQ: ContentFormat = ContentFormat(272);

    /// The identifier as an integer.
    #[must_use]
    #[inline]
    pub const fn value(self) -> u16 {
        self.0
    }

    /// The media type of the identifiers above, `None` for others.
    #[must_use]
    pub const fn media_type(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "text/plain; charset=utf-8",
            40 => "application/link-format",
            42 => "application/octet-stream",
            50 => "application/json",
            60 => "application/cbor",
            271 => "application/dots+cbor",
            272 => "application/missing-blocks+cbor-seq",
            _ => return None,
        })
    }
}

impl fmt::Display for ContentFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.media_type() {
            Some(media) => write!(f, "{} ({media})", self.0),
            None => write!(f, "{}", self.0),
        }
    }
}

impl fmt::Debug for ContentFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContentFormat({self})")
    }
}

impl From<u16> for ContentFormat {
    fn from(v: u16) -> ContentFormat {
        ContentFormat(v)
    }
}

/// The value of a Block1/Block2 option (RFC 7959 §2.2) or a Q-Block1/Q-Block2 option
/// (RFC 9177 §4, same layout): block number NUM, more flag M and size exponent SZX.
///
/// SZX 7 is reserved over UDP (RFC 7959 §2.2: a request carrying it gets 4.00) and means BERT
/// over TCP/TLS (RFC 8323 §6): blocks of 1024 bytes, several per message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Block {
    num: u32,
    more: bool,
    szx: u8,
}

impl Block {
    /// Largest block number: NUM has 20 bits in a 3-byte value.
    pub const MAX_NUM: u32 = (1 << 20) - 1;
    /// The SZX of BERT blocks (RFC 8323 §6).
    pub const BERT_SZX: u8 = 7;

    /// A block value; `None` when `num` exceeds [`Block::MAX_NUM`] or `szx` exceeds 7.
    #[must_use]
    #[inline]
    pub const fn new(num: u32, more: bool, szx: u8) -> Option<Block> {
        if num > Block::MAX_NUM || szx > 7 {
            return None;
        }
        Some(Block { num, more, szx })
    }

    /// The block of `size` bytes (16, 32, …, 1024) numbered `num`; `None` for other sizes or a
    /// `num` beyond [`Block::MAX_NUM`].
    #[must_use]
    pub const fn with_size(num: u32, more: bool, size: u16) -> Option<Block> {
        let szx = match size {
            16 => 0,
            32 => 1,
            64 => 2,
            128 => 3,
            256 => 4,
            512 => 5,
            1024 => 6,
            _ => return None,
        };
        Block::new(num, more, szx)
    }

    /// Decodes the option's uint value; `None` beyond 24 bits (the option is 0–3 bytes).
    #[must_use]
    #[inline]
    pub const fn from_uint(value: u32) -> Option<Block> {
        if value > 0x00ff_ffff {
            return None;
        }
        Some(Block {
            num: value >> 4,
            more: value & 0x8 != 0,
            szx: (value & 0x7) as u8,
        })
    }

    /// The option's uint value.
    #[must_use]
    pub const fn to_uint(self) -> u32 {
        (self.num << 4) | ((self.more as u32) << 3) | self.szx as u32
    }

    /// Block number NUM.
    #[must_use]
    #[inline]
    pub const fn num(self) -> u32 {
        self.num
    }

    /// More flag M: more blocks follow (descriptive usage).
    #[must_use]
    #[inline]
    pub const fn more(self) -> bool {
        self.more
    }

    /// Size exponent SZX (0–7).
    #[must_use]
    #[inline]
    pub const fn szx(self) -> u8 {
        self.szx
    }

    /// SZX 7: a BERT block (RFC 8323 §6), valid only over TCP/TLS.
    #[must_use]
    #[inline]
    pub const fn is_bert(self) -> bool {
        self.szx == Block::BERT_SZX
    }

    /// Block size in bytes, `2^(SZX+4)`; 1024 for BERT (whose payload holds one or more such
    /// blocks).
    #[must_use]
    #[inline]
    pub const fn size(self) -> u32 {
        if self.is_bert() {
            1024
        } else {
            1 << (self.szx + 4)
        }
    }

    /// Byte offset of the block in the body, `NUM * size`.
    #[must_use]
    pub const fn offset(self) -> u32 {
        self.num * self.size()
    }
}

impl fmt::Display for Block {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The notation of RFC 7959 §2.2 figures: NUM/M/size.
        if self.is_bert() {
            write!(f, "{}/{}/BERT", self.num, u8::from(self.more))
        } else {
            write!(f, "{}/{}/{}", self.num, u8::from(self.more), self.size())
        }
    }
}

/// A Hop-Limit value (RFC 8768 §3): 1–255, one byte on the wire. 0 is invalid (a request
/// carrying it gets 4.00).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HopLimit(NonZeroU8);

impl HopLimit {
    /// The initial value a proxy inserts when none is configured (RFC 8768 §3).
    pub const DEFAULT: HopLimit = HopLimit(NonZeroU8::MIN.saturating_add(15));

    /// A hop limit; `None` for 0.
    #[must_use]
    #[inline]
    pub const fn new(value: u8) -> Option<HopLimit> {
        match NonZeroU8::new(value) {
            Some(v) => Some(HopLimit(v)),
            None => None,
        }
    }

    /// The value.
    #[must_use]
    #[inline]
    pub const fn get(self) -> u8 {
        self.0.get()
    }

    /// The value a proxy forwards (RFC 8768 §3: decrement by one); `None` when it reaches 0: the
    /// request must not be forwarded and gets 5.08 (Hop Limit Reached).
    #[must_use]
    pub const fn decremented(self) -> Option<HopLimit> {
        HopLimit::new(self.0.get() - 1)
    }
}

impl Default for HopLimit {
    fn default() -> HopLimit {
        HopLimit::DEFAULT
    }
}

/// Decodes a uint option value (RFC 7252 §3.2): big-endian, leading zeros allowed, up to 4 bytes.
/// `None` when longer than 4 bytes.
#[must_use]
#[inline]
pub const fn decode_uint(value: &[u8]) -> Option<u32> {
    if value.len() > 4 {
        return None;
    }
    let mut v: u32 = 0;
    let mut i = 0;
    while i < value.len() {
        v = (v << 8) | value[i] as u32;
        i += 1;
    }
    Some(v)
}

/// A uint option value in its shortest form (RFC 7252 §3.2: 0 is the empty value).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct UintBytes {
    buf: [u8; 4],
    start: u8,
}

impl UintBytes {
    /// Encodes `v`.
    #[must_use]
    #[inline]
    pub const fn new(v: u32) -> UintBytes {
        let buf = v.to_be_bytes();
        let start = (v.leading_zeros() / 8) as u8;
        UintBytes { buf, start }
    }

    /// The encoded bytes (0–4).
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(usize::from(self.start)..).unwrap_or(&[])
    }
}

impl fmt::Debug for UintBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("UintBytes").field(&self.as_bytes()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_number_properties() {
        // RFC 7252 §5.4.6 Figure 11 applied to Table 4.
        assert!(OptionNumber::URI_PATH.is_critical() && OptionNumber::URI_PATH.is_unsafe());
        assert!(!OptionNumber::CONTENT_FORMAT.is_critical());
        assert!(OptionNumber::SIZE1.is_no_cache_key());
        assert!(!OptionNumber::ETAG.is_no_cache_key());
        assert!(!OptionNumber::HOP_LIMIT.is_critical() && !OptionNumber::HOP_LIMIT.is_unsafe());
        assert!(OptionNumber::Q_BLOCK2.spec().is_some_and(|s| s.repeatable));
        assert!(OptionNumber::Q_BLOCK1.spec().is_some_and(|s| !s.repeatable));
        assert_eq!(OptionNumber(2).spec(), None);
    }

    #[test]
    fn block_fields() {
        // RFC 7959 §2.2: NUM/M/SZX.
        let b = Block::from_uint(0x1a).unwrap();
        assert_eq!((b.num(), b.more(), b.szx(), b.size()), (1, true, 2, 64));
        assert_eq!(b.to_uint(), 0x1a);
        assert_eq!(b.offset(), 64);
        assert_eq!(
            Block::with_size(2, false, 128).map(Block::to_uint),
            Some(0x23)
        );
        assert!(Block::from_uint(0x0100_0000).is_none());
        assert!(Block::new(Block::MAX_NUM + 1, false, 0).is_none());
        assert!(Block::new(0, false, 8).is_none());
        let bert = Block::new(3, true, 7).unwrap();
        assert!(bert.is_bert());
        assert_eq!(bert.size(), 1024);
        extern crate std;
        use std::string::ToString;
        assert_eq!(
            Block::with_size(0, true, 128).unwrap().to_string(),
            "0/1/128"
        );
    }

    #[test]
    fn hop_limit() {
        assert_eq!(HopLimit::DEFAULT.get(), 16);
        assert_eq!(HopLimit::new(0), None);
        assert_eq!(HopLimit::new(1).unwrap().decremented(), None);
        assert_eq!(HopLimit::new(2).unwrap().decremented(), HopLimit::new(1));
    }

    #[test]
    fn uints() {
        assert_eq!(UintBytes::new(0).as_bytes(), &[] as &[u8]);
        assert_eq!(UintBytes::new(1).as_bytes(), &[1]);
        assert_eq!(UintBytes::new(271).as_bytes(), &[1, 15]);
        assert_eq!(UintBytes::new(u32::MAX).as_bytes(), &[0xff; 4]);
        assert_eq!(decode_uint(&[0, 0, 1, 15]), Some(271));
        assert_eq!(decode_uint(&[]), Some(0));
        assert_eq!(decode_uint(&[1, 2, 3, 4, 5]), None);
    }
}
