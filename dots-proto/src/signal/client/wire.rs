//! What the client puts on the wire and reads back: Uri-Path/Uri-Query options of each request
//! (RFC 9132 Sections 4.2, 4.4, 4.5, 4.7; RFC 9244 Sections 7, 8) and an allocation-free walk
//! over the `scope` entries of a `mitigation-scope` body.
//!
//! A `mitigation-scope` body of [`MAX_SCOPES`] entries is 26 KB as a
//! [`MitigationScope`](dots_codec::model::MitigationScope); the client never builds one.
//! It finds each entry's bytes, writes a one-scope body header in the five bytes just before
//! them (saving and restoring what was there), and decodes that entry alone as a
//! [`MitigationRequest`] (1 KB), which reads every RFC 9132 member of a scope.

use core::fmt::Write as _;

use dots_codec::cbor::CborBody;
use dots_codec::coap::{BuildError, ContentFormat, OptionList, OptionNumber};
use dots_codec::model::{MitigationRequest, MAX_SCOPES};

/// Bytes of the options of one request (Uri-Path, Uri-Query, Content-Format, If-Match).
pub(crate) const OPTIONS_CAPACITY: usize = 640;

/// The options of a request.
pub(crate) type Options = OptionList<OPTIONS_CAPACITY>;

/// The longest `cuid` accepted, in bytes (RFC 9132 Section 4.4.1.1: it "SHOULD be 22
/// characters").
pub const MAX_CUID_LEN: usize = 128;

/// Uri-Query arguments accepted in one GET.
pub const MAX_QUERY_ARGS: usize = 8;

/// The Uri-Path of every DOTS resource: `/.well-known/dots/{operation}`.
pub(crate) fn base(operation: &str) -> Result<Options, BuildError> {
    let mut o = Options::new();
    o.push_uri_path(dots_codec::path::WELL_KNOWN)?
        .push_uri_path(dots_codec::path::DOTS)?
        .push_uri_path(operation)?;
    Ok(o)
}

/// Appends a `name=value` Uri-Path segment.
pub(crate) fn param(o: &mut Options, name: &str, value: &str) -> Result<(), BuildError> {
    let mut s = heapless::String::<{ MAX_CUID_LEN + 8 }>::new();
    let _ = s.push_str(name);
    let _ = s.push('=');
    if s.push_str(value).is_err() {
        return Err(BuildError::OptionsFull {
            needed: name.len() + value.len() + 1,
            capacity: MAX_CUID_LEN + 8,
        });
    }
    o.push_uri_path(&s)?;
    Ok(())
}

/// Appends a numeric `name=N` Uri-Path segment.
pub(crate) fn id(o: &mut Options, name: &str, value: u32) -> Result<(), BuildError> {
    let mut s = heapless::String::<24>::new();
    let _ = write!(s, "{name}={value}");
    o.push_uri_path(&s)?;
    Ok(())
}

/// `/.well-known/dots/{operation}/cuid=C[/{id_name}=N]`: `mitigate`, `tm-setup`, `tm`. The
/// client never sends `cdid` (RFC 9132 Section 4.4.1.2: "MUST NOT be generated and included
/// by DOTS clients"); `cuid` comes first, the identifier after it ("'mid' MUST follow
/// 'cuid'").
pub(crate) fn client_path(
    operation: &str,
    cuid: &str,
    id_name: &str,
    value: Option<u32>,
) -> Result<Options, BuildError> {
    let mut o = base(operation)?;
    param(&mut o, "cuid", cuid)?;
    if let Some(v) = value {
        id(&mut o, id_name, v)?;
    }
    Ok(o)
}

/// `/.well-known/dots/config[/sid=N]` (no `cuid`: RFC 9132 Section 4.5.2).
pub(crate) fn config_path(sid: Option<u32>) -> Result<Options, BuildError> {
    let mut o = base("config")?;
    if let Some(s) = sid {
        id(&mut o, "sid", s)?;
    }
    Ok(o)
}

/// Adds Content-Format `application/dots+cbor`.
pub(crate) fn cbor(o: &mut Options) -> Result<(), BuildError> {
    o.set_content_format(ContentFormat::DOTS_CBOR)?;
    Ok(())
}

/// Adds an empty If-Match (RFC 9132 Section 4.4.3).
pub(crate) fn if_match(o: &mut Options) -> Result<(), BuildError> {
    o.push(OptionNumber::IF_MATCH, &[])?;
    Ok(())
}

/// Adds Uri-Query arguments.
pub(crate) fn query(o: &mut Options, args: &[&str]) -> Result<(), BuildError> {
    for a in args {
        o.push_uri_query(a)?;
    }
    Ok(())
}

/// The deepest nesting walked.
const MAX_DEPTH: usize = 16;

/// A CBOR reader that only finds item boundaries.
struct Cur<'a> {
    b: &'a [u8],
    pos: usize,
}

/// A data item head: major type, and the argument (`None` for an indefinite length).
#[derive(Clone, Copy)]
struct Head {
    major: u8,
    arg: Option<u64>,
    /// Major type 7 with additional information 31: a break.
    brk: bool,
}

impl Cur<'_> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.b.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    fn head(&mut self) -> Option<Head> {
        let ib = self.byte()?;
        let major = ib >> 5;
        let ai = ib & 0x1f;
        let arg = match ai {
            0..=23 => Some(u64::from(ai)),
            24..=27 => {
                let n = 1usize << (ai - 24);
                let bytes = self.b.get(self.pos..self.pos + n)?;
                self.pos += n;
                Some(bytes.iter().fold(0u64, |a, b| (a << 8) | u64::from(*b)))
            }
            31 if matches!(major, 2..=5 | 7) => None,
            _ => return None,
        };
        Some(Head {
            major,
            arg,
            brk: major == 7 && ai == 31,
        })
    }

    /// Skips one data item (a break is not an item).
    fn skip(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        let h = self.head()?;
        if h.brk {
            return None;
        }
        match (h.major, h.arg) {
            (0 | 1 | 7, _) => Some(()),
            (2 | 3, Some(n)) => {
                let end = self.pos.checked_add(usize::try_from(n).ok()?)?;
                if end > self.b.len() {
                    return None;
                }
                self.pos = end;
                Some(())
            }
            (2 | 3, None) => loop {
                let p = self.pos;
                let c = self.head()?;
                if c.brk {
                    return Some(());
                }
                if c.major != h.major {
                    return None;
                }
                self.pos = p;
                self.skip(depth + 1)?;
            },
            (4 | 5, Some(n)) => {
                let items = if h.major == 5 { n.checked_mul(2)? } else { n };
                // Every item takes at least one byte: a count beyond the input is malformed.
                if items > (self.b.len() - self.pos) as u64 {
                    return None;
                }
                for _ in 0..items {
                    self.skip(depth + 1)?;
                }
                Some(())
            }
            (4 | 5, None) => loop {
                if *self.b.get(self.pos)? == 0xff {
                    self.pos += 1;
                    return Some(());
                }
                self.skip(depth + 1)?;
                if h.major == 5 {
                    self.skip(depth + 1)?;
                }
            },
            (6, _) => self.skip(depth + 1),
            _ => None,
        }
    }

    /// Iterates the entries of the map whose head was just read: for each, `f` gets the key
    /// (when an unsigned integer) with the reader at the value, and must consume the value.
    fn map_entries(
        &mut self,
        h: Head,
        depth: usize,
        mut f: impl FnMut(&mut Self, Option<u64>) -> Option<()>,
    ) -> Option<()> {
        let mut left = h.arg;
        loop {
            match left {
                Some(0) => return Some(()),
                Some(ref mut n) => *n -= 1,
                None => {
                    if *self.b.get(self.pos)? == 0xff {
                        self.pos += 1;
                        return Some(());
                    }
                }
            }
            let p = self.pos;
            let k = self.head()?;
            let key = if k.major == 0 {
                k.arg
            } else {
                self.pos = p;
                self.skip(depth + 1)?;
                None
            };
            f(self, key)?;
        }
    }
}

/// One `scope` entry of a body: its bytes, and whether it carries RFC 9244 telemetry members
/// (CBOR keys 204–207).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ScopeSpan {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) telemetry: bool,
}

/// The `scope` entries of a `mitigation-scope` body (`{1: {2: [entries]}}`), at most
/// [`MAX_SCOPES`]; `None` when the body is not one.
pub(crate) fn scope_spans(body: &[u8]) -> Option<heapless::Vec<ScopeSpan, MAX_SCOPES>> {
    let mut c = Cur { b: body, pos: 0 };
    let mut out = heapless::Vec::new();
    let top = c.head()?;
    if top.major != 5 {
        return None;
    }
    let mut found = false;
    c.map_entries(top, 0, |c, key| {
        if key != Some(dots_codec::keys::MITIGATION_SCOPE) || found {
            return c.skip(1);
        }
        found = true;
        let ms = c.head()?;
        if ms.major != 5 {
            return None;
        }
        c.map_entries(ms, 1, |c, key| {
            if key != Some(dots_codec::keys::SCOPE) {
                return c.skip(2);
            }
            let arr = c.head()?;
            if arr.major != 4 {
                return None;
            }
            let mut left = arr.arg;
            loop {
                match left {
                    Some(0) => return Some(()),
                    Some(ref mut n) => *n -= 1,
                    None => {
                        if *c.b.get(c.pos)? == 0xff {
                            c.pos += 1;
                            return Some(());
                        }
                    }
                }
                let start = c.pos;
                let eh = c.head()?;
                let mut telemetry = false;
                if eh.major == 5 {
                    c.map_entries(eh, 3, |c, key| {
                        telemetry |= key.is_some_and(|k| {
                            (dots_codec::keys::SCOPE_TOTAL_TRAFFIC
                                ..=dots_codec::keys::SCOPE_ATTACK_DETAIL)
                                .contains(&k)
                        });
                        c.skip(4)
                    })?;
                } else {
                    c.pos = start;
                    c.skip(3)?;
                }
                // More entries than the model holds are not read.
                let _ = out.push(ScopeSpan {
                    start,
                    end: c.pos,
                    telemetry,
                });
            }
        })
    })?;
    if c.pos != body.len() || !found {
        return None;
    }
    Some(out)
}

/// The one-scope body header written before an entry.
const HEADER: [u8; 5] = [0xa1, 0x01, 0xa1, 0x02, 0x81];

/// Runs `f` on the entry at `span` as a complete one-scope `mitigation-scope` body, written in
/// place in `buf` (the five bytes before it are restored afterwards).
pub(crate) fn with_scope_body<R>(
    buf: &mut [u8],
    span: ScopeSpan,
    f: impl FnOnce(&[u8]) -> R,
) -> Option<R> {
    let at = span.start.checked_sub(HEADER.len())?;
    let mut saved = [0u8; 5];
    saved.copy_from_slice(buf.get(at..span.start)?);
    buf.get_mut(at..span.start)?.copy_from_slice(&HEADER);
    let r = buf.get(at..span.end).map(f);
    if let Some(dst) = buf.get_mut(at..span.start) {
        dst.copy_from_slice(&saved);
    }
    r
}

/// Decodes the entry at `span` (all RFC 9132 members of a scope, in either direction).
pub(crate) fn decode_scope(buf: &mut [u8], span: ScopeSpan) -> Option<MitigationRequest> {
    with_scope_body(buf, span, MitigationRequest::decode_cbor)?.ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use dots_codec::model::{Lifetime, MitigationStatus};

    // RFC 9132 Figure 8 (one scope).
    const FIG8: &str = "a101a10281a4068274323030313a6462383a363430313a3a312f31323874323030313a6462383a363430313a3a322f3132380783a1081850a1081901bba108191f900a81060e190e10";

    fn hex(s: &str) -> heapless::Vec<u8, 512> {
        (0..s.len() / 2)
            .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn figure_8_has_one_scope_decoded_in_place() {
        let mut b = hex(FIG8);
        let before = b.clone();
        let spans = scope_spans(&b).unwrap();
        assert_eq!(spans.len(), 1);
        assert_eq!(spans[0].start, 5);
        assert!(!spans[0].telemetry);
        let r = decode_scope(&mut b, spans[0]).unwrap();
        assert_eq!(r.entry.scope.lifetime, Some(Lifetime::Seconds(3600)));
        assert_eq!(b, before, "the buffer is restored");
    }

    #[test]
    fn two_scopes_with_status_and_telemetry_key() {
        // {1: {2: [{5: 1, 16: 2, 14: 60}, {5: 2, 204: [], 16: 6}]}}
        let mut b: heapless::Vec<u8, 64> = heapless::Vec::new();
        b.extend_from_slice(&[0xa1, 0x01, 0xa1, 0x02, 0x82])
            .unwrap();
        b.extend_from_slice(&[0xa3, 0x05, 0x01, 0x10, 0x02, 0x0e, 0x18, 0x3c])
            .unwrap();
        b.extend_from_slice(&[0xa3, 0x05, 0x02, 0x18, 0xcc, 0x80, 0x10, 0x06])
            .unwrap();
        let spans = scope_spans(&b).unwrap();
        assert_eq!(spans.len(), 2);
        assert!(!spans[0].telemetry && spans[1].telemetry);
        let a = decode_scope(&mut b, spans[0]).unwrap();
        assert_eq!(a.entry.mid, Some(1));
        assert_eq!(
            a.entry.status,
            Some(MitigationStatus::SuccessfullyMitigated)
        );
        assert_eq!(a.entry.scope.lifetime, Some(Lifetime::Seconds(60)));
        let c = decode_scope(&mut b, spans[1]);
        // Key 204 with a wrong shape is still skipped by the request decoder or rejected; the
        // walk itself found both entries either way.
        if let Some(c) = c {
            assert_eq!(c.entry.mid, Some(2));
        }
    }

    #[test]
    fn malformed_bodies_are_refused() {
        for bad in [
            &[][..],
            &[0xa1],
            &[0xa1, 0x01],
            &[
                0xa1, 0x01, 0xa1, 0x02, 0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            ],
            &[0xa1, 0x01, 0xa1, 0x02, 0x81, 0xa1],
            &[0xa1, 0x1e, 0xa0],
            &[0xa1, 0x01, 0xa1, 0x02, 0x80, 0x00],
        ] {
            assert!(scope_spans(bad).is_none(), "{bad:02x?}");
        }
        // Deep nesting stops at the limit.
        let mut deep: heapless::Vec<u8, 128> = heapless::Vec::new();
        deep.extend_from_slice(&[0xa1, 0x01, 0xa1, 0x02, 0x81, 0xa1, 0x05])
            .unwrap();
        for _ in 0..40 {
            deep.push(0x81).unwrap();
        }
        deep.push(0x00).unwrap();
        assert!(scope_spans(&deep).is_none());
    }

    #[test]
    fn paths_follow_the_required_order() {
        let o = client_path("mitigate", "dz6pHjaADkaFTbjr0JGBpw", "mid", Some(123)).unwrap();
        let segs: heapless::Vec<&str, 8> = o.as_options().uri_path().map(|s| s.unwrap()).collect();
        assert_eq!(
            &segs[..],
            [
                ".well-known",
                "dots",
                "mitigate",
                "cuid=dz6pHjaADkaFTbjr0JGBpw",
                "mid=123"
            ]
        );
        let o = config_path(Some(7)).unwrap();
        let segs: heapless::Vec<&str, 8> = o.as_options().uri_path().map(|s| s.unwrap()).collect();
        assert_eq!(&segs[..], [".well-known", "dots", "config", "sid=7"]);
    }
}
