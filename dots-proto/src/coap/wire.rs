//! Encoding helpers shared by the endpoint: messages into bounded storage, UDP/TCP framing
//! conversion, the resource key of a request, and block bitmaps.

use dots_codec::coap::{
    decode_uint, Block, BufferTooSmall, Code, Frame, HopLimit, MessageType, OptionList,
    OptionNumber, Options, Token, HEADER_LEN, VERSION,
};

use super::event::CommandError;
use super::MAX_BLOCKS;

/// Option storage for messages the endpoint rewrites (session options plus its own).
pub(crate) const SCRATCH_OPTIONS: usize = 512;

/// Scratch option list.
pub(crate) type Scratch = OptionList<SCRATCH_OPTIONS>;

/// Writes a UDP-format message into `out` (cleared first).
pub(crate) fn encode<const N: usize>(
    out: &mut heapless::Vec<u8, N>,
    ty: MessageType,
    code: Code,
    message_id: u16,
    token: Token,
    options: &[u8],
    payload: &[u8],
) -> Result<(), CommandError> {
    out.clear();
    let needed = HEADER_LEN
        + token.len()
        + options.len()
        + if payload.is_empty() {
            0
        } else {
            1 + payload.len()
        };
    if needed > N {
        return Err(CommandError::MessageTooLarge { needed, limit: N });
    }
    let mid = message_id.to_be_bytes();
    let header = [
        (VERSION << 6) | (ty.bits() << 4) | token.len() as u8,
        code.raw(),
        mid[0],
        mid[1],
    ];
    let marker: &[u8] = if payload.is_empty() { &[] } else { &[0xff] };
    for part in [&header[..], token.as_bytes(), options, marker, payload] {
        out.extend_from_slice(part)
            .map_err(|_| CommandError::MessageTooLarge { needed, limit: N })?;
    }
    Ok(())
}

/// The session's options with the endpoint's own added by `add`.
pub(crate) fn merged(
    user: Options<'_>,
    add: impl FnOnce(&mut Scratch) -> Result<(), dots_codec::coap::BuildError>,
) -> Result<Scratch, CommandError> {
    let mut list = Scratch::from_options(user)?;
    add(&mut list)?;
    Ok(list)
}

/// Replaces the message ID of a stored UDP-format message.
pub(crate) fn set_message_id(bytes: &mut [u8], mid: u16) {
    if let Some(dst) = bytes.get_mut(2..4) {
        dst.copy_from_slice(&mid.to_be_bytes());
    }
}

/// Length of the TCP frame carrying the UDP-format message `msg` (RFC 8323 §3.2).
pub(crate) fn tcp_len(msg: &[u8]) -> usize {
    let tkl = usize::from(msg.first().copied().unwrap_or(0) & 0x0f);
    let body = msg.len().saturating_sub(HEADER_LEN + tkl);
    let ext = match body {
        0..=12 => 0,
        13..=268 => 1,
        269..=65804 => 2,
        _ => 4,
    };
    1 + ext + 1 + tkl + body
}

/// Writes the UDP-format message `msg` as a TCP frame (RFC 8323 §3.2).
pub(crate) fn udp_to_tcp(msg: &[u8], buf: &mut [u8]) -> Result<usize, BufferTooSmall> {
    let needed = tcp_len(msg);
    let out = buf.get_mut(..needed).ok_or(BufferTooSmall { needed })?;
    let tkl = msg.first().copied().unwrap_or(0) & 0x0f;
    let code = msg.get(1).copied().unwrap_or(0);
    let rest = msg.get(HEADER_LEN..).unwrap_or(&[]);
    let body = rest.len().saturating_sub(usize::from(tkl));
    let mut prefix = [0u8; 6];
    let plen = match body {
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
            let v = u32::try_from(body - 65805).unwrap_or(u32::MAX);
            prefix[1..5].copy_from_slice(&v.to_be_bytes());
            5
        }
    };
    prefix[plen] = code;
    let (head, tail) = out.split_at_mut(plen + 1);
    head.copy_from_slice(prefix.get(..=plen).unwrap_or(&[]));
    if let Some(dst) = tail.get_mut(..rest.len()) {
        dst.copy_from_slice(rest);
    }
    Ok(needed)
}

/// Writes a TCP frame in UDP format (type NON, message ID 0) so that one parser serves both.
pub(crate) fn tcp_to_udp<const N: usize>(
    frame: &Frame<'_>,
    out: &mut heapless::Vec<u8, N>,
) -> Result<(), ()> {
    let token = frame.token();
    let opts = frame.options().as_bytes();
    let payload = frame.payload();
    encode(
        out,
        MessageType::NonConfirmable,
        frame.code(),
        0,
        token,
        opts,
        payload,
    )
    .map_err(|_| ())
}

/// Folds one option into a resource key (8 bytes at a time; not cryptographic: the key only
/// tells follow-up requests of a block-wise transfer from other requests of the same peer).
fn hash_option(h: u64, number: u16, value: &[u8]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h = (h.rotate_left(5) ^ (u64::from(number) << 32 | value.len() as u64)).wrapping_mul(K);
    let mut chunks = value.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        if let Some(dst) = w.get_mut(..rest.len()) {
            dst.copy_from_slice(rest);
        }
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    h
}

const RESOURCE_SEED: u64 = 0xcbf2_9ce4_8422_2325;

fn is_resource_option(n: OptionNumber) -> bool {
    matches!(
        n,
        OptionNumber::URI_HOST
            | OptionNumber::URI_PORT
            | OptionNumber::URI_PATH
            | OptionNumber::URI_QUERY
    )
}

/// A key of the resource a request addresses (a hash of Uri-Host, Uri-Port, Uri-Path and
/// Uri-Query), to recognise the follow-up requests of a block-wise transfer.
pub(crate) fn resource_key(options: Options<'_>) -> u64 {
    options
        .iter()
        .filter(|o| is_resource_option(o.number))
        .fold(RESOURCE_SEED, |h, o| hash_option(h, o.number.0, o.value))
}

/// What the endpoint reads from a request's options, in one pass (first occurrence of each
/// non-repeatable option, as the codec's typed accessors do).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RequestScan {
    pub(crate) hop_limit: Option<HopLimit>,
    pub(crate) block2: Option<Block>,
    pub(crate) block1: Option<Block>,
    pub(crate) q_block1: Option<Block>,
    pub(crate) q_block2: bool,
    pub(crate) observe: Option<u32>,
    /// Hop-Limit 0 or of the wrong length (RFC 8768 §3: 4.00).
    pub(crate) bad_hop_limit: bool,
    /// A block option too long or with SZX 7 (RFC 7959 §2.2: 4.00).
    pub(crate) bad_block: bool,
    pub(crate) resource: u64,
}

fn block_value(value: &[u8]) -> Option<Block> {
    if value.len() > 3 {
        return None;
    }
    decode_uint(value)
        .and_then(Block::from_uint)
        .filter(|b| !b.is_bert())
}

/// Reads the options a request's handling depends on in one pass.
pub(crate) fn scan_request(options: Options<'_>) -> RequestScan {
    let mut s = RequestScan {
        resource: RESOURCE_SEED,
        ..RequestScan::default()
    };
    let mut prev = None;
    for o in options.iter() {
        let first = prev != Some(o.number);
        prev = Some(o.number);
        match o.number {
            n if is_resource_option(n) => s.resource = hash_option(s.resource, n.0, o.value),
            OptionNumber::HOP_LIMIT if first => match o.value {
                [v] => match HopLimit::new(*v) {
                    Some(h) => s.hop_limit = Some(h),
                    None => s.bad_hop_limit = true,
                },
                _ => s.bad_hop_limit = true,
            },
            OptionNumber::OBSERVE if first && o.value.len() <= 3 => {
                s.observe = decode_uint(o.value);
            }
            OptionNumber::BLOCK2 | OptionNumber::BLOCK1 | OptionNumber::Q_BLOCK1 if first => {
                match block_value(o.value) {
                    None => s.bad_block = true,
                    Some(b) => match o.number {
                        OptionNumber::BLOCK2 => s.block2 = Some(b),
                        OptionNumber::BLOCK1 => s.block1 = Some(b),
                        _ => s.q_block1 = Some(b),
                    },
                }
            }
            OptionNumber::Q_BLOCK2 => {
                s.q_block2 = true;
                if block_value(o.value).is_none() {
                    s.bad_block = true;
                }
            }
            _ => {}
        }
    }
    s
}

/// A fixed bitmap of [`MAX_BLOCKS`] block numbers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Bitmap([u64; MAX_BLOCKS / 64]);

impl Bitmap {
    pub(crate) const fn new() -> Bitmap {
        Bitmap([0; MAX_BLOCKS / 64])
    }

    pub(crate) fn clear(&mut self) {
        self.0 = [0; MAX_BLOCKS / 64];
    }

    pub(crate) fn get(&self, n: u32) -> bool {
        let n = n as usize;
        self.0.get(n / 64).is_some_and(|w| w & (1 << (n % 64)) != 0)
    }

    pub(crate) fn set(&mut self, n: u32, v: bool) {
        let n = n as usize;
        if let Some(w) = self.0.get_mut(n / 64) {
            if v {
                *w |= 1 << (n % 64);
            } else {
                *w &= !(1 << (n % 64));
            }
        }
    }

    /// The smallest set bit at or after `from` and below `end`.
    pub(crate) fn next_set(&self, from: u32, end: u32) -> Option<u32> {
        (from..end.min(MAX_BLOCKS as u32)).find(|&n| self.get(n))
    }

    /// Whether every bit in `from..end` is set.
    pub(crate) fn all_set(&self, from: u32, end: u32) -> bool {
        (from..end).all(|n| self.get(n))
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.0.iter().all(|w| *w == 0)
    }
}

/// Encodes block numbers as a CBOR Sequence of unsigned integers
/// (application/missing-blocks+cbor-seq, RFC 9177 §5).
pub(crate) fn encode_missing_blocks(blocks: impl Iterator<Item = u32>, out: &mut [u8]) -> usize {
    let mut at = 0;
    for n in blocks {
        let mut item = [0u8; 5];
        let len = match n {
            0..=23 => {
                item[0] = n as u8;
                1
            }
            24..=0xff => {
                item[0] = 0x18;
                item[1] = n as u8;
                2
            }
            0x100..=0xffff => {
                item[0] = 0x19;
                item[1..3].copy_from_slice(&(n as u16).to_be_bytes());
                3
            }
            _ => {
                item[0] = 0x1a;
                item[1..5].copy_from_slice(&n.to_be_bytes());
                5
            }
        };
        match out.get_mut(at..at + len) {
            Some(dst) => dst.copy_from_slice(item.get(..len).unwrap_or(&[])),
            None => break,
        }
        at += len;
    }
    at
}

/// Decodes a CBOR Sequence of unsigned integers (RFC 9177 §5); `None` when it is anything else.
pub(crate) fn decode_missing_blocks(mut bytes: &[u8], mut each: impl FnMut(u32)) -> Option<()> {
    while let Some((&first, rest)) = bytes.split_first() {
        if first >> 5 != 0 {
            return None;
        }
        let (value, used) = match first & 0x1f {
            v @ 0..=23 => (u64::from(v), 0),
            24 => (u64::from(*rest.first()?), 1),
            25 => (
                u64::from(u16::from_be_bytes(rest.get(..2)?.try_into().ok()?)),
                2,
            ),
            26 => (
                u64::from(u32::from_be_bytes(rest.get(..4)?.try_into().ok()?)),
                4,
            ),
            27 => (u64::from_be_bytes(rest.get(..8)?.try_into().ok()?), 8),
            _ => return None,
        };
        each(u32::try_from(value).ok()?);
        bytes = rest.get(used..)?;
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use dots_codec::coap::{Frame, Message, MessageRepr};

    #[test]
    fn tcp_conversion_round_trip() {
        let mut repr: MessageRepr<64, 64> = MessageRepr::new(
            MessageType::Confirmable,
            Code::GET,
            0x1234,
            Token::new(&[1, 2]).unwrap(),
        );
        repr.options.set_uri_path("/a/b").unwrap();
        repr.set_payload(&[9; 20]).unwrap();
        let mut udp = [0u8; 128];
        let n = repr.emit(&mut udp).unwrap();
        let mut tcp = [0u8; 128];
        let m = udp_to_tcp(&udp[..n], &mut tcp).unwrap();
        assert_eq!(m, tcp_len(&udp[..n]));
        let frame = Frame::parse(&tcp[..m]).unwrap();
        assert_eq!(frame.code(), Code::GET);
        assert_eq!(frame.payload(), &[9; 20]);
        let mut back = heapless::Vec::<u8, 128>::new();
        tcp_to_udp(&frame, &mut back).unwrap();
        let msg = Message::parse(&back).unwrap();
        assert_eq!(msg.token(), repr.token);
        assert_eq!(msg.options(), repr.as_options());
        assert_eq!(
            udp_to_tcp(&udp[..n], &mut tcp[..3]),
            Err(BufferTooSmall { needed: m })
        );
    }

    #[test]
    fn missing_blocks_cbor_sequence() {
        // RFC 9177 §5: a CBOR Sequence of uints, no array wrapper.
        let mut buf = [0u8; 16];
        let n = encode_missing_blocks([1, 23, 24, 300, 70000].into_iter(), &mut buf);
        assert_eq!(
            &buf[..n],
            &[0x01, 0x17, 0x18, 0x18, 0x19, 0x01, 0x2c, 0x1a, 0x00, 0x01, 0x11, 0x70]
        );
        let mut got = heapless::Vec::<u32, 8>::new();
        decode_missing_blocks(&buf[..n], |v| {
            let _ = got.push(v);
        })
        .unwrap();
        assert_eq!(&got[..], &[1, 23, 24, 300, 70000]);
        assert!(
            decode_missing_blocks(&[0x81, 0x01], |_| {}).is_none(),
            "an array is rejected"
        );
        assert!(
            decode_missing_blocks(&[0x19, 0x01], |_| {}).is_none(),
            "truncated"
        );
    }

    #[test]
    fn bitmap() {
        let mut b = Bitmap::new();
        assert!(b.is_empty());
        b.set(3, true);
        b.set(100, true);
        assert!(b.get(3) && b.get(100) && !b.get(4));
        assert_eq!(b.next_set(4, 200), Some(100));
        assert!(!b.all_set(3, 5));
        b.set(4, true);
        assert!(b.all_set(3, 5));
        b.set(5000, true); // out of range: ignored
        assert!(!b.get(5000));
        b.clear();
        assert!(b.is_empty());
    }

    #[test]
    fn one_pass_scan_agrees_with_the_typed_accessors() {
        let mut o = OptionList::<128>::new();
        o.set_uri_path("/.well-known/dots/mitigate/cuid=abc/mid=123")
            .unwrap();
        o.set_observe(0).unwrap();
        o.set_hop_limit(HopLimit::new(3).unwrap()).unwrap();
        o.set_block2(Block::new(2, false, 5).unwrap()).unwrap();
        o.push_q_block2(Block::new(4, false, 5).unwrap()).unwrap();
        o.push_uri_query("c=a").unwrap();
        let opts = o.as_options();
        let s = scan_request(opts);
        assert_eq!(s.observe, opts.observe().unwrap());
        assert_eq!(s.hop_limit, opts.hop_limit().unwrap());
        assert_eq!(s.block2, opts.block2().unwrap());
        assert_eq!(s.block1, None);
        assert!(s.q_block2 && !s.bad_block && !s.bad_hop_limit);
        assert_eq!(s.resource, resource_key(opts));
        let mut bad = OptionList::<32>::new();
        bad.push(OptionNumber::HOP_LIMIT, &[0]).unwrap();
        bad.push(OptionNumber::BLOCK2, &[0x0f]).unwrap(); // SZX 7 over UDP
        let s = scan_request(bad.as_options());
        assert!(s.bad_hop_limit && s.bad_block);
        assert!(bad.as_options().hop_limit().is_err() && bad.as_options().block2().is_err());
    }

    #[test]
    fn resource_key_ignores_other_options() {
        let mut a = OptionList::<64>::new();
        a.set_uri_path("/x/y").unwrap();
        let mut b = a.clone();
        b.set_observe(0).unwrap();
        let mut c = OptionList::<64>::new();
        c.set_uri_path("/x/z").unwrap();
        assert_eq!(resource_key(a.as_options()), resource_key(b.as_options()));
        assert_ne!(resource_key(a.as_options()), resource_key(c.as_options()));
    }
}
