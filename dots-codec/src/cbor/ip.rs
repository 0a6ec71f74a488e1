//! `inet:ip-prefix` / `inet:ip-address` text parsing in one pass over the bytes.
//!
//! It accepts exactly what `core::net`'s `FromStr` parsers accept (a test compares them on
//! generated strings), only faster: those try IPv4 at every IPv6 group and backtrack. The
//! accepted forms:
//!
//! - IPv4: four decimal octets `0`–`255`, one to three digits, no leading zero (RFC 6943
//!   Section 3.1.1: no octal ambiguity);
//! - IPv6: eight groups of one to four hex digits (either case), or fewer around one `::`
//!   standing for at least one zero group; the last two groups may be written as an IPv4
//!   address.

use core::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// `inet:ip-prefix` text to a prefix: an address, `/`, and a length of 1–3 digits without a
/// leading zero, at most 32 (IPv4) or 128 (IPv6).
pub(crate) fn parse_prefix(s: &str) -> Option<IpNet> {
    parse_prefix_bytes(s.as_bytes())
}

/// [`parse_prefix`] on bytes: whatever it accepts is ASCII (so valid UTF-8).
pub(crate) fn parse_prefix_bytes(b: &[u8]) -> Option<IpNet> {
    // The address ends at the first `/`. A valid IPv6 address has a colon before any dot, an
    // IPv4 address has no colon.
    let v6 = b.iter().find(|&&c| c == b':' || c == b'.' || c == b'/') == Some(&b':');
    if v6 {
        // One pass: the address up to the `/`, then the length.
        let (a, stop) = ipv6_head(b)?;
        let len = prefix_len(b.get(stop..)?.strip_prefix(b"/")?)?;
        return Ipv6Net::new(Ipv6Addr::from(a), len).ok().map(IpNet::V6);
    }
    let slash = b.iter().position(|&c| c == b'/')?;
    let (addr, len) = (b.get(..slash)?, b.get(slash + 1..)?);
    let len = prefix_len(len)?;
    Ipv4Net::new(Ipv4Addr::from(ipv4(addr)?), len)
        .ok()
        .map(IpNet::V4)
}

/// 1–3 decimal digits, no leading zero.
fn prefix_len(b: &[u8]) -> Option<u8> {
    match *b {
        [d] if d.is_ascii_digit() => Some(d - b'0'),
        [d1, d2] if d1 != b'0' && d1.is_ascii_digit() && d2.is_ascii_digit() => {
            Some((d1 - b'0') * 10 + (d2 - b'0'))
        }
        [d1, d2, d3]
            if d1 != b'0' && d1.is_ascii_digit() && d2.is_ascii_digit() && d3.is_ascii_digit() =>
        {
            let v = u16::from(d1 - b'0') * 100 + u16::from(d2 - b'0') * 10 + u16::from(d3 - b'0');
            u8::try_from(v).ok()
        }
        _ => None,
    }
}

/// A dotted-quad IPv4 address, as a big-endian `u32`.
pub(crate) fn ipv4(b: &[u8]) -> Option<u32> {
    let mut v = 0u32;
    let mut octets = 0;
    for part in b.split(|&c| c == b'.') {
        let o = match *part {
            [d] if d.is_ascii_digit() => u32::from(d - b'0'),
            [d1, d2] if d1 != b'0' && d1.is_ascii_digit() && d2.is_ascii_digit() => {
                u32::from(d1 - b'0') * 10 + u32::from(d2 - b'0')
            }
            [d1, d2, d3]
                if d1 != b'0'
                    && d1.is_ascii_digit()
                    && d2.is_ascii_digit()
                    && d3.is_ascii_digit() =>
            {
                u32::from(d1 - b'0') * 100 + u32::from(d2 - b'0') * 10 + u32::from(d3 - b'0')
            }
            _ => return None,
        };
        if o > 255 || octets == 4 {
            return None;
        }
        v = (v << 8) | o;
        octets += 1;
    }
    (octets == 4).then_some(v)
}

/// The value of each byte as a hex digit, or `0xff`.
const HEX: [u8; 256] = {
    let mut t = [0xff; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// An IPv6 address, as a big-endian `u128` (the tests compare it with `core::net`).
#[cfg(test)]
pub(crate) fn ipv6(b: &[u8]) -> Option<u128> {
    match ipv6_head(b)? {
        (a, stop) if stop == b.len() => Some(a),
        _ => None,
    }
}

/// Whether the address text ends here: at the end of the bytes or at a `/` (which
/// [`ipv6_head`] treats as the end).
#[inline(always)]
fn at_end(rest: &[u8]) -> bool {
    matches!(rest, [] | [b'/', ..])
}

/// An IPv6 address at the start of `b`, ending at the end of `b` or at its first `/`, and
/// where it ends. It reads exactly as [`ipv6`] would read the bytes before the first `/`.
fn ipv6_head(b: &[u8]) -> Option<(u128, usize)> {
    // Groups read (an IPv4 tail counts two), the value of those since `::` (or of all), and
    // the value and count of those before `::`.
    let mut n = 0u32;
    let mut acc = 0u128;
    let mut gap: Option<(u128, u32)> = None;
    let mut rest = b;
    if let [b':', b':', tail @ ..] = rest {
        gap = Some((0, 0));
        rest = tail;
    }
    while !at_end(rest) {
        // One group: 1–4 hex digits.
        let group = rest;
        let mut v = 0u32;
        let mut digits = 0u32;
        while let [c, tail @ ..] = rest {
            let d = HEX[usize::from(*c)];
            if d > 15 {
                break;
            }
            if digits == 4 {
                return None;
            }
            v = (v << 4) | u32::from(d);
            digits += 1;
            rest = tail;
        }
        match rest {
            _ if digits == 0 => return None,
            [b'.', ..] => {
                // The embedded IPv4 address ends the address (never before `::`).
                let len = group.iter().position(|&c| c == b'/').unwrap_or(group.len());
                acc = (acc << 32) | u128::from(ipv4(group.get(..len)?)?);
                rest = group.get(len..)?;
                n += 2;
                break;
            }
            _ => {}
        }
        acc = (acc << 16) | u128::from(v);
        n += 1;
        if n > 8 {
            return None;
        }
        match rest {
            [] | [b'/', ..] => break,
            [b':', b':', tail @ ..] => {
                if gap.is_some() {
                    return None;
                }
                gap = Some((acc, n));
                acc = 0;
                rest = tail;
            }
            // A trailing single colon is not an address.
            [b':'] | [b':', b'/', ..] => return None,
            [b':', tail @ ..] => rest = tail,
            _ => return None,
        }
    }
    let stop = b.len() - rest.len();
    match gap {
        None if n == 8 => Some((acc, stop)),
        // `::` stands for at least one zero group.
        Some((head, h)) if n <= 7 => {
            Some((head.checked_shl(16 * (8 - h)).unwrap_or(0) | acc, stop))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use core::str::FromStr;
    use proptest::prelude::*;
    use std::string::String;

    fn core_prefix(s: &str) -> Option<IpNet> {
        let (addr, len) = s.split_once('/')?;
        if len.is_empty()
            || len.len() > 3
            || (len.len() > 1 && len.starts_with('0'))
            || !len.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let len: u8 = len.parse().ok()?;
        if addr.contains(':') {
            Ipv6Net::new(Ipv6Addr::from_str(addr).ok()?, len)
                .ok()
                .map(IpNet::V6)
        } else {
            Ipv4Net::new(Ipv4Addr::from_str(addr).ok()?, len)
                .ok()
                .map(IpNet::V4)
        }
    }

    fn same_as_core(s: &str) {
        let v6 = Ipv6Addr::from_str(s).ok().map(u128::from);
        assert_eq!(ipv6(s.as_bytes()), v6, "ipv6 {s:?}");
        let v4 = Ipv4Addr::from_str(s).ok().map(u32::from);
        assert_eq!(ipv4(s.as_bytes()), v4, "ipv4 {s:?}");
        assert_eq!(parse_prefix(s), core_prefix(s), "prefix {s:?}");
    }

    #[test]
    fn edge_cases_agree_with_core() {
        for s in [
            "::",
            ":::",
            "::1",
            "1::",
            "1::2::3",
            ":1::",
            "::1:",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7:8:9",
            "1:2:3:4:5:6:7",
            "1:2:3:4:5:6:7::",
            "::2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7::8",
            "::1:2:3:4:5:6:7:8",
            "12345::",
            "0db8::",
            "ABCD:ef01::",
            "g::",
            "::1.2.3.4",
            "::ffff:1.2.3.4",
            "1:2:3:4:5:6:1.2.3.4",
            "1:2:3:4:5:6:7:1.2.3.4",
            "1:2:3:4:5::1.2.3.4",
            "1:2:3:4:5:6::1.2.3.4",
            "1.2.3.4::",
            "::1.2.3.4:5",
            "::1.2.3.4567",
            "::1.2.3.256",
            "::01.2.3.4",
            "::1:2.3.4.5",
            "::a.1.2.3",
            "1.2.3.4",
            "01.2.3.4",
            "0.0.0.0",
            "255.255.255.255",
            "256.1.1.1",
            "1.2.3",
            "1.2.3.4.5",
            "1..2.3",
            "",
            ".",
            ":",
            "::/0",
            "2001:db8::/32",
            "1.2.3.4/33",
            "1.2.3.4/024",
            "1.2.3.4/+4",
            "2001:db8::/129",
            "1.2.3.4/8/8",
            " 1.2.3.4/8",
            "::ffff:1.2.3.4/128",
            "2001:db8:6401::1/128",
            "1:/64",
            "1::/64",
            "::/",
            ":/8",
            "/8",
            "1:2:3:4:5:6:7:8/",
            "1:2:3:4:5:6:7:8//8",
            "1:2:3:4:5:6:7/8",
            "::1.2.3.4/96",
            "::1.2.3/96",
            "::1.2.3.4./96",
            "::ffff:1.2.3.4/1/2",
            "1::2:/64",
            "1:2:3:4:5:6:7:8:/64",
            "2001:db8:0:a::1/0128",
            "2001:db8:0:a::1/12a",
            "2001:DB8:0:A::1/64",
            "2001:db8::1.2/64",
            "::/128",
            ":::/128",
        ] {
            same_as_core(s);
        }
    }

    fn fragment() -> impl Strategy<Value = String> {
        prop_oneof![
            "[0-9a-fA-F]{0,5}",
            "[0-9]{1,4}",
            Just(String::from(":")),
            Just(String::from("::")),
            Just(String::from(".")),
            Just(String::from("/")),
            "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}",
            "[0-9g:./]",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]
        #[test]
        fn agrees_with_core(parts in proptest::collection::vec(fragment(), 0..12)) {
            same_as_core(&parts.concat());
        }

        #[test]
        fn agrees_with_core_on_addresses(a: u128, v4: u32, len in 0u8..=130) {
            for s in [
                std::format!("{}", Ipv6Addr::from(a)),
                std::format!("{:x}", a),
                std::format!("{}/{len}", Ipv6Addr::from(a)),
                std::format!("{}/{len}", Ipv4Addr::from(v4)),
                std::format!("::{}", Ipv4Addr::from(v4)),
            ] {
                same_as_core(&s);
            }
        }
    }
}
