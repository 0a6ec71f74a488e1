//! Encoding into caller buffers: a counting writer gives exact lengths without allocating.

use core::convert::Infallible;

use minicbor::encode::write::Cursor;
use minicbor::encode::{Error, Write};
use minicbor::Encoder;

/// Why encoding failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The buffer is too small; `needed` is the exact size required.
    #[error("buffer too small: {needed} bytes needed")]
    BufferTooSmall {
        /// Bytes needed for the whole encoding.
        needed: usize,
    },
}

/// Something that writes itself as CBOR with any writer.
pub(crate) trait Emit {
    fn emit<W: Write>(&self, e: &mut Encoder<W>) -> Result<(), Error<W::Error>>;
}

/// A writer that only counts.
#[derive(Default)]
pub(crate) struct Counter(pub(crate) usize);

impl Write for Counter {
    type Error = Infallible;
    fn write_all(&mut self, buf: &[u8]) -> Result<(), Infallible> {
        self.0 = self.0.saturating_add(buf.len());
        Ok(())
    }
}

pub(crate) fn measure<T: Emit + ?Sized>(v: &T) -> usize {
    let mut e = Encoder::new(Counter::default());
    // The counter never fails, and the model never produces an encoding error.
    let _ = v.emit(&mut e);
    e.into_writer().0
}

pub(crate) fn encode_into<T: Emit + ?Sized>(buf: &mut [u8], v: &T) -> Result<usize, EncodeError> {
    let mut e = Encoder::new(Cursor::new(buf));
    match v.emit(&mut e) {
        Ok(()) => Ok(e.into_writer().position()),
        Err(_) => Err(EncodeError::BufferTooSmall { needed: measure(v) }),
    }
}

/// Writes a map key.
pub(crate) fn key<W: Write>(e: &mut Encoder<W>, k: u64) -> Result<(), Error<W::Error>> {
    e.u64(k).map(|_| ())
}

/// `decimal64` with fraction-digits 2 as tag 4 `[-2, mantissa]`.
pub(crate) fn decimal<W: Write>(
    e: &mut Encoder<W>,
    d: crate::model::Decimal2,
) -> Result<(), Error<W::Error>> {
    e.tag(minicbor::data::Tag::new(4))?
        .array(2)?
        .i8(-2)?
        .i64(d.hundredths())?;
    Ok(())
}

/// Number of `Some`/`true` flags, as a map length.
pub(crate) fn count(flags: &[bool]) -> u64 {
    flags.iter().filter(|f| **f).count() as u64
}

/// Text of an address or prefix, formatted without `core::fmt` (the hot part of encoding a
/// response), identical to `Display` (RFC 5952 for IPv6; a test compares them).
pub(crate) struct AddrText {
    buf: [u8; 48],
    len: usize,
}

impl AddrText {
    pub(crate) fn as_str(&self) -> &str {
        // Only ASCII is ever written.
        core::str::from_utf8(self.buf.get(..self.len).unwrap_or_default()).unwrap_or_default()
    }

    fn push(&mut self, b: u8) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    fn push_dec(&mut self, v: u8) {
        if v >= 100 {
            self.push(b'0' + v / 100);
        }
        if v >= 10 {
            self.push(b'0' + (v / 10) % 10);
        }
        self.push(b'0' + v % 10);
    }

    fn push_hex(&mut self, v: u16) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut started = false;
        for shift in [12u16, 8, 4, 0] {
            let d = usize::from((v >> shift) & 0xf);
            if d != 0 || started || shift == 0 {
                started = true;
                self.push(HEX[d]);
            }
        }
    }

    fn push_v4(&mut self, a: core::net::Ipv4Addr) {
        for (i, o) in a.octets().into_iter().enumerate() {
            if i > 0 {
                self.push(b'.');
            }
            self.push_dec(o);
        }
    }

    fn push_v6(&mut self, a: core::net::Ipv6Addr) {
        if let Some(v4) = a.to_ipv4_mapped() {
            for b in *b"::ffff:" {
                self.push(b);
            }
            self.push_v4(v4);
            return;
        }
        let seg = a.segments();
        // Longest run of zero segments (first one on ties), compressed when at least 2 long.
        let (mut best, mut best_len, mut cur, mut cur_len) = (0usize, 0usize, 0usize, 0usize);
        for (i, s) in seg.iter().enumerate() {
            if *s == 0 {
                if cur_len == 0 {
                    cur = i;
                }
                cur_len += 1;
                if cur_len > best_len {
                    best = cur;
                    best_len = cur_len;
                }
            } else {
                cur_len = 0;
            }
        }
        if best_len < 2 {
            best_len = 0;
            best = usize::MAX;
        }
        let mut i = 0;
        while i < 8 {
            if i == best {
                self.push(b':');
                if i == 0 {
                    self.push(b':');
                }
                i += best_len;
                continue;
            }
            self.push_hex(seg[i]);
            if i < 7 {
                self.push(b':');
            }
            i += 1;
        }
    }

    pub(crate) fn ip(a: core::net::IpAddr) -> AddrText {
        let mut t = AddrText {
            buf: [0; 48],
            len: 0,
        };
        match a {
            core::net::IpAddr::V4(a) => t.push_v4(a),
            core::net::IpAddr::V6(a) => t.push_v6(a),
        }
        t
    }

    pub(crate) fn net(n: &ipnet::IpNet) -> AddrText {
        let mut t = AddrText::ip(n.addr());
        t.push(b'/');
        t.push_dec(n.prefix_len());
        t
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::AddrText;
    use core::net::{IpAddr, Ipv6Addr};
    use std::string::ToString;

    #[test]
    fn matches_display() {
        let samples = [
            "::",
            "::1",
            "1::",
            "2001:db8::1",
            "2001:db8:0:0:1:0:0:1",
            "2001:0:0:1:0:0:0:1",
            "::ffff:1.2.3.4",
            "::1.2.3.4",
            "fe80::1:0:0:0",
            "1:2:3:4:5:6:7:8",
            "0:1:0:1:0:1:0:1",
            "1:0:2:0:0:3:0:0",
            "ff02::1",
            "0.0.0.0",
            "255.255.255.255",
            "10.0.0.1",
            "1.20.100.7",
        ];
        for s in samples {
            let a: IpAddr = s.parse().unwrap();
            assert_eq!(AddrText::ip(a).as_str(), a.to_string(), "{s}");
        }
        // Every pattern of zero/non-zero segments.
        for mask in 0u16..256 {
            let mut seg = [0u16; 8];
            for (i, s) in seg.iter_mut().enumerate() {
                if mask & (1 << i) != 0 {
                    *s = 0x1a0 + i as u16;
                }
            }
            let a = IpAddr::V6(Ipv6Addr::from(seg));
            assert_eq!(AddrText::ip(a).as_str(), a.to_string(), "{seg:?}");
        }
        let n: ipnet::IpNet = "2001:db8:6401::1/128".parse().unwrap();
        assert_eq!(AddrText::net(&n).as_str(), "2001:db8:6401::1/128");
    }
}
