//! Response and notification bodies, written into caller buffers without allocation.

use alloc::string::String;

use core::net::{Ipv4Addr, Ipv6Addr};

use dots_codec::cbor::CborBody;
use dots_codec::coap::Code;
use dots_codec::ipnet::{IpNet, Ipv4Net, Ipv6Net};
use dots_codec::model::{
    ActivationType, ConflictCause, ConflictInformation, IcmpTypeRange, Lifetime, MitigationRequest,
    PortRange, Scope, ScopeEntry,
};
use dots_codec::path::Content;

use super::hooks::SignalHooks;
use super::index::{NameKind, Net};
use super::request::{Handled, Response};
use super::state::{is_active, Mitigation};
use super::{SignalServer, MIN_RESPONSE_BUFFER};
use crate::time::Instant;

/// `{1: {2: [` — the `mitigation-scope` / `scope` wrapper of a one-entry body, as the codec
/// writes it (definite lengths, keys ascending): map(1), key 1, map(1), key 2, array(1).
const ONE_ENTRY_PREFIX: [u8; 5] = [0xa1, 0x01, 0xa1, 0x02, 0x81];

/// The stored request of a record. The bytes are the server's own packing, so unpacking does
/// not fail; should it ever, an empty request stands in.
pub(crate) fn stored_request(m: &Mitigation) -> MitigationRequest {
    let mut r = MitigationRequest::default();
    if unpack(&m.request, &mut r.entry.scope).is_none() {
        r = MitigationRequest::default();
    }
    r
}

// ---- the stored form of a request ---------------------------------------------------------
//
// A record keeps the canonical form of its request (the scope without `lifetime` and
// `attack-status`, `trigger-mitigation` only when false) packed as bytes: lists as a count and
// fixed-size items, prefixes as family, length and address bytes, texts as length and bytes.
// Equal canonical scopes pack to equal bytes and different ones to different bytes, so a
// refresh is recognized by comparing bytes; packing needs no text formatting and unpacking no
// parsing. The CBOR form exists only on the way out (GET, notifications, snapshots).

/// Largest packed scope: 8 + 4 prefixes of 18 bytes, 8 + 4 port ranges of 5, 8 protocols, 4
/// ICMP ranges of 3, the text members (at most `TEXT_CAPACITY` with their own length bytes,
/// plus one activation byte per ACL), and the counts.
pub(crate) const MAX_PACKED: usize = 1024;

/// A packed request being built (no zeroing of the unused capacity).
pub(crate) type Packed = heapless::Vec<u8, MAX_PACKED>;

/// A bounded byte writer; `None` once full (which the limits above rule out).
struct Packer<'b> {
    buf: &'b mut Packed,
}

impl Packer<'_> {
    fn put(&mut self, bytes: &[u8]) -> Option<()> {
        self.buf.extend_from_slice(bytes).ok()
    }

    fn byte(&mut self, b: u8) -> Option<()> {
        self.buf.push(b).ok()
    }

    fn count(&mut self, n: usize) -> Option<()> {
        self.byte(u8::try_from(n).ok()?)
    }

    fn prefixes(&mut self, list: &[IpNet]) -> Option<()> {
        self.count(list.len())?;
        for p in list {
            match p {
                IpNet::V4(n) => {
                    self.put(&[4, n.prefix_len()])?;
                    self.put(&n.addr().octets())?;
                }
                IpNet::V6(n) => {
                    self.put(&[6, n.prefix_len()])?;
                    self.put(&n.addr().octets())?;
                }
            }
        }
        Some(())
    }

    fn ports(&mut self, list: &[PortRange]) -> Option<()> {
        self.count(list.len())?;
        for r in list {
            let [l0, l1] = r.lower.to_be_bytes();
            let [u0, u1] = r.upper.unwrap_or(0).to_be_bytes();
            self.put(&[l0, l1, u8::from(r.upper.is_some()), u0, u1])?;
        }
        Some(())
    }

    fn texts<'a>(&mut self, items: impl Iterator<Item = &'a str> + Clone) -> Option<()> {
        self.count(items.clone().count())?;
        for t in items {
            self.count(t.len())?;
            self.put(t.as_bytes())?;
        }
        Some(())
    }
}

/// Packs the canonical form of `scope` into the empty `out`.
pub(crate) fn pack(scope: &Scope, out: &mut Packed) -> Option<()> {
    let mut p = Packer { buf: out };
    let t = &scope.targets;
    p.byte(u8::from(scope.trigger_mitigation == Some(false)))?;
    p.prefixes(&t.prefixes)?;
    p.ports(&t.port_ranges)?;
    p.count(t.protocols.len())?;
    p.put(&t.protocols)?;
    if t.text_bytes_used() == 0 {
        // No FQDN, URI, alias name or ACL name (the usual request): four empty counts.
        p.put(&[0; 4])?;
    } else {
        p.texts(t.fqdns())?;
        p.texts(t.uris())?;
        p.texts(t.alias_names())?;
        p.count(scope.acl_list().count())?;
        for acl in scope.acl_list() {
            p.count(acl.name.len())?;
            p.put(acl.name.as_bytes())?;
            p.byte(
                acl.activation_type
                    .map_or(0, |a| a.value().saturating_add(1)),
            )?;
        }
    }
    let ch = &scope.call_home;
    p.prefixes(&ch.source_prefixes)?;
    p.ports(&ch.source_port_ranges)?;
    p.count(ch.source_icmp_type_ranges.len())?;
    for r in &ch.source_icmp_type_ranges {
        p.put(&[r.lower, u8::from(r.upper.is_some()), r.upper.unwrap_or(0)])?;
    }
    Some(())
}

/// Reads packed bytes.
struct Unpacker<'b>(&'b [u8]);

impl<'b> Unpacker<'b> {
    fn take(&mut self, n: usize) -> Option<&'b [u8]> {
        let (a, b) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = b;
        Some(a)
    }

    fn byte(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }

    fn text(&mut self) -> Option<&'b str> {
        let n = self.byte()?;
        core::str::from_utf8(self.take(usize::from(n))?).ok()
    }

    fn prefixes<const N: usize>(&mut self, out: &mut heapless::Vec<IpNet, N, u8>) -> Option<()> {
        for _ in 0..self.byte()? {
            let (family, len) = (self.byte()?, self.byte()?);
            let net = if family == 4 {
                let a: [u8; 4] = self.take(4)?.try_into().ok()?;
                IpNet::V4(Ipv4Net::new(Ipv4Addr::from(a), len).ok()?)
            } else {
                let a: [u8; 16] = self.take(16)?.try_into().ok()?;
                IpNet::V6(Ipv6Net::new(Ipv6Addr::from(a), len).ok()?)
            };
            out.push(net).ok()?;
        }
        Some(())
    }

    fn ports<const N: usize>(&mut self, out: &mut heapless::Vec<PortRange, N, u8>) -> Option<()> {
        for _ in 0..self.byte()? {
            let b = self.take(5)?;
            let (l, has, u) = (
                u16::from_be_bytes([*b.first()?, *b.get(1)?]),
                *b.get(2)? != 0,
                u16::from_be_bytes([*b.get(3)?, *b.get(4)?]),
            );
            out.push(PortRange {
                lower: l,
                upper: has.then_some(u),
            })
            .ok()?;
        }
        Some(())
    }
}

/// Unpacks [`pack`]ed bytes into an empty `scope`.
pub(crate) fn unpack(bytes: &[u8], scope: &mut Scope) -> Option<()> {
    let mut u = Unpacker(bytes);
    if u.byte()? != 0 {
        scope.trigger_mitigation = Some(false);
    }
    let t = &mut scope.targets;
    u.prefixes(&mut t.prefixes)?;
    u.ports(&mut t.port_ranges)?;
    for _ in 0..u.byte()? {
        t.protocols.push(u.byte()?).ok()?;
    }
    for _ in 0..u.byte()? {
        t.push_fqdn(u.text()?).ok()?;
    }
    for _ in 0..u.byte()? {
        t.push_uri(u.text()?).ok()?;
    }
    for _ in 0..u.byte()? {
        t.push_alias_name(u.text()?).ok()?;
    }
    for _ in 0..u.byte()? {
        let name = u.text()?;
        let act = match u.byte()? {
            0 => None,
            v => Some(ActivationType::from_value(u64::from(v - 1))?),
        };
        scope.push_acl(name, act).ok()?;
    }
    let ch = &mut scope.call_home;
    u.prefixes(&mut ch.source_prefixes)?;
    u.ports(&mut ch.source_port_ranges)?;
    for _ in 0..u.byte()? {
        let b = u.take(3)?;
        ch.source_icmp_type_ranges
            .push(IcmpTypeRange {
                lower: *b.first()?,
                upper: (*b.get(1)? != 0).then_some(*b.get(2)?),
            })
            .ok()?;
    }
    u.0.is_empty().then_some(())
}

/// A target of a packed request (see [`packed_targets`]).
pub(crate) enum PackedTarget<'b> {
    /// A `target-prefix`, as the index keys it.
    Prefix(Net),
    /// A `target-fqdn`, `target-uri` or `alias-name`.
    Name(NameKind, &'b str),
}

/// The index entries of a packed request, read from the bytes without unpacking the scope:
/// each target prefix, then each FQDN, URI and alias name, in the order of [`unpack`]. Nothing
/// is reported unless the packing is well formed up to its last name, so a caller sees either
/// every target or none.
pub(crate) fn packed_targets<'b>(bytes: &'b [u8], mut f: impl FnMut(PackedTarget<'b>)) {
    if walk_targets(bytes, &mut |_| {}).is_some() {
        let _ = walk_targets(bytes, &mut f);
    }
}

#[inline(always)]
fn split_byte(b: &mut &[u8]) -> Option<u8> {
    let (&first, rest) = b.split_first()?;
    *b = rest;
    Some(first)
}

#[inline(always)]
fn split_n<'b>(b: &mut &'b [u8], n: usize) -> Option<&'b [u8]> {
    let (head, rest) = b.split_at_checked(n)?;
    *b = rest;
    Some(head)
}

#[inline(always)]
fn walk_targets<'b>(mut b: &'b [u8], f: &mut impl FnMut(PackedTarget<'b>)) -> Option<()> {
    let b = &mut b;
    split_byte(b)?;
    for _ in 0..split_byte(b)? {
        let (family, len) = (split_byte(b)?, split_byte(b)?);
        // The same `Net` as `Net::from_ipnet` of the unpacked prefix (which `unpack` would
        // refuse past the family's length).
        let net = if family == 4 {
            let a: [u8; 4] = split_n(b, 4)?.try_into().ok()?;
            if len > 32 {
                return None;
            }
            Net::new(
                (0xffffu128 << 32) | u128::from(u32::from_be_bytes(a)),
                96 + len,
            )
        } else {
            let a: [u8; 16] = split_n(b, 16)?.try_into().ok()?;
            if len > 128 {
                return None;
            }
            Net::new(u128::from_be_bytes(a), len)
        };
        f(PackedTarget::Prefix(net));
    }
    let ports = split_byte(b)?;
    split_n(b, usize::from(ports) * 5)?;
    let protocols = split_byte(b)?;
    split_n(b, usize::from(protocols))?;
    for kind in [NameKind::Fqdn, NameKind::Uri, NameKind::Alias] {
        for _ in 0..split_byte(b)? {
            let n = split_byte(b)?;
            let text = core::str::from_utf8(split_n(b, usize::from(n))?).ok()?;
            f(PackedTarget::Name(kind, text));
        }
    }
    Some(())
}

/// The canonical CBOR of a stored request (snapshots).
pub(crate) fn stored_cbor(m: &Mitigation) -> alloc::vec::Vec<u8> {
    let r = stored_request(m);
    let mut v = alloc::vec![0u8; r.encoded_len()];
    let n = r.encode_cbor(&mut v).unwrap_or(0);
    v.truncate(n);
    v
}

/// The `scope` entry of a record as a GET response or notification shows it.
fn entry_for<H: SignalHooks>(
    s: &SignalServer<H>,
    now: Instant,
    m: &Mitigation,
    content: Content,
) -> MitigationRequest {
    let mut r = stored_request(m);
    let e = &mut r.entry;
    e.mid = Some(m.mid);
    if content == Content::NonConfig {
        e.scope = Scope::new();
    }
    e.scope.lifetime = Some(m.remaining(now));
    if content != Content::Config {
        e.status = Some(m.status);
        let stats = m.counters.get();
        if is_active(m.status) && m.started != Instant::MAX {
            // RFC 9132 Section 4.4.2: mandatory while active, never with status 8.
            e.mitigation_start = stats.mitigation_start.or_else(|| {
                s.config
                    .unix_time_at_epoch
                    .map(|t| t.saturating_add(m.started.as_millis() / 1000))
            });
        }
        e.bytes_dropped = stats.bytes_dropped;
        e.bps_dropped = stats.bps_dropped;
        e.pkts_dropped = stats.pkts_dropped;
        e.pps_dropped = stats.pps_dropped;
        e.conflict_information = m.conflict.map(|st| ConflictInformation {
            conflict_status: Some(st),
            conflict_cause: Some(ConflictCause::OverlappingTargets),
            ..ConflictInformation::default()
        });
    }
    r
}

fn array_header(n: usize, out: &mut [u8]) -> usize {
    let mut h = [0u8; 9];
    let len = if n < 24 {
        h[0] = 0x80 | n as u8;
        1
    } else if let Ok(v) = u8::try_from(n) {
        h[0] = 0x98;
        h[1] = v;
        2
    } else if let Ok(v) = u16::try_from(n) {
        h[0] = 0x99;
        h[1..3].copy_from_slice(&v.to_be_bytes());
        3
    } else {
        let v = u32::try_from(n).unwrap_or(u32::MAX);
        h[0] = 0x9a;
        h[1..5].copy_from_slice(&v.to_be_bytes());
        5
    };
    if let Some(dst) = out.get_mut(..len) {
        dst.copy_from_slice(&h[..len]);
    }
    len
}

/// Writes `{1: {2: [entries]}}` for `records` into `out`; `Err(needed)` when it does not fit.
/// One entry at a time goes through a stack buffer: no allocation, whatever the count, unless
/// an entry carries RFC 9244 telemetry (the host's, for the records of client `slot`, shown
/// with non-configuration data).
pub(crate) fn write_entries<'m, H: SignalHooks>(
    s: &SignalServer<H>,
    now: Instant,
    records: impl Iterator<Item = &'m Mitigation> + Clone,
    slot: Option<u32>,
    content: Content,
    out: &mut [u8],
) -> Result<usize, usize> {
    let n = records.clone().count();
    let mut pos = 0usize;
    let mut fits = true;
    let mut head = [0u8; 9];
    head[..4].copy_from_slice(&[0xa1, 0x01, 0xa1, 0x02]);
    let hl = 4 + array_header(n, &mut head[4..]);
    match out.get_mut(..hl) {
        Some(dst) => dst.copy_from_slice(&head[..hl]),
        None => fits = false,
    }
    pos += hl;
    let mut scratch = [0u8; MIN_RESPONSE_BUFFER];
    let mut big = alloc::vec::Vec::new();
    for m in records {
        let req = entry_for(s, now, m, content);
        let tm = slot
            .filter(|_| content != Content::Config)
            .and_then(|slot| s.scope_telemetry_of(slot, m.mid));
        let bytes: &[u8] = match &tm {
            None => {
                let len = req.encode_cbor(&mut scratch).unwrap_or(0);
                scratch.get(..len).unwrap_or_default()
            }
            Some(t) => {
                let one = core::iter::once((&req.entry, Some(t)));
                big.resize(
                    dots_codec::cbor::encoded_scopes_with_telemetry_len(one.clone()),
                    0,
                );
                let len =
                    dots_codec::cbor::encode_scopes_with_telemetry(one, &mut big).unwrap_or(0);
                big.get(..len).unwrap_or_default()
            }
        };
        let body = match bytes {
            b if b.starts_with(&ONE_ENTRY_PREFIX) => &b[ONE_ENTRY_PREFIX.len()..],
            _ => &[][..],
        };
        if fits {
            match out.get_mut(pos..pos + body.len()) {
                Some(dst) => dst.copy_from_slice(body),
                None => fits = false,
            }
        }
        pos += body.len();
    }
    if fits {
        Ok(pos)
    } else {
        Err(pos)
    }
}

fn write_one(entry: ScopeEntry, out: &mut [u8]) -> usize {
    MitigationRequest { entry }.encode_cbor(out).unwrap_or(0)
}

/// A CBOR head (major type `major`, argument `v`, shortest form) into `out` at `at`; returns
/// the position after it.
fn cbor_head(out: &mut [u8], at: usize, major: u8, v: u64) -> Option<usize> {
    let m = major << 5;
    let mut h = [0u8; 9];
    let n = if v < 24 {
        h[0] = m | v as u8;
        1
    } else if let Ok(v) = u8::try_from(v) {
        h[..2].copy_from_slice(&[m | 24, v]);
        2
    } else if let Ok(v) = u16::try_from(v) {
        h[0] = m | 25;
        h[1..3].copy_from_slice(&v.to_be_bytes());
        3
    } else if let Ok(v) = u32::try_from(v) {
        h[0] = m | 26;
        h[1..5].copy_from_slice(&v.to_be_bytes());
        5
    } else {
        h[0] = m | 27;
        h[1..9].copy_from_slice(&v.to_be_bytes());
        9
    };
    out.get_mut(at..at + n)?.copy_from_slice(h.get(..n)?);
    Some(at + n)
}

/// `{1: {2: [{5: mid, 14: lifetime}]}}` written directly (what the codec writes for that
/// entry: definite lengths, keys ascending, shortest integers).
fn mid_lifetime(mid: u32, lifetime: Lifetime, out: &mut [u8]) -> Option<usize> {
    let at = ONE_ENTRY_PREFIX.len();
    out.get_mut(..at)?.copy_from_slice(&ONE_ENTRY_PREFIX);
    out.get_mut(at..at + 2)?
        .copy_from_slice(&[0xa2, dots_codec::keys::MID as u8]);
    let at = cbor_head(out, at + 2, 0, u64::from(mid))?;
    *out.get_mut(at)? = dots_codec::keys::LIFETIME as u8;
    match lifetime {
        Lifetime::Seconds(s) => cbor_head(out, at + 1, 0, u64::from(s)),
        Lifetime::Indefinite => cbor_head(out, at + 1, 1, 0),
    }
}

/// 2.01/2.04 to a PUT: `{mid, lifetime}` (RFC 9132 Figure 10), with `conflict-information`
/// when it conflicts with another client's mitigation.
pub(crate) fn lifetime_response(
    code: Code,
    mid: u32,
    lifetime: Lifetime,
    conflict: Option<ConflictInformation>,
    out: &mut [u8],
) -> Handled {
    if conflict.is_none() {
        if let Some(n) = mid_lifetime(mid, lifetime, out) {
            return Handled::Respond(Response::cbor(code, n));
        }
    }
    let mut e = ScopeEntry {
        mid: Some(mid),
        conflict_information: conflict,
        ..ScopeEntry::default()
    };
    e.scope.lifetime = Some(lifetime);
    Handled::Respond(Response::cbor(code, write_one(e, out)))
}

/// 4.09 with `conflict-information`.
pub(crate) fn conflict_response(
    code: Code,
    info: ConflictInformation,
    mid: Option<u32>,
    out: &mut [u8],
) -> Handled {
    let e = ScopeEntry {
        mid,
        conflict_information: Some(info),
        ..ScopeEntry::default()
    };
    Handled::Respond(Response::cbor(code, write_one(e, out)))
}

/// `conflict-cause` 3 only (RFC 9132 Figure 11: "'conflict-status', 'conflict-scope', and
/// 'retry-timer' MUST NOT be returned").
pub(crate) fn cuid_collision() -> ConflictInformation {
    ConflictInformation {
        conflict_cause: Some(ConflictCause::CuidCollision),
        ..ConflictInformation::default()
    }
}

/// 5.03 for a failed `acl-list` (RFC 9133 Section 3.2.1, Figure 1): `{mid, acl-list}`.
pub(crate) fn acl_failure(
    mid: u32,
    failed: &[(String, Option<ActivationType>)],
    retry_after: u32,
    out: &mut [u8],
) -> Handled {
    let mut e = ScopeEntry {
        mid: Some(mid),
        ..ScopeEntry::default()
    };
    for (name, t) in failed {
        if e.scope.push_acl(name, *t).is_err() {
            break;
        }
    }
    let mut r = Response::cbor(Code::SERVICE_UNAVAILABLE, write_one(e, out));
    r.max_age = Some(retry_after);
    Handled::Respond(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dots_codec::model::ScopeEntry;

    fn sample() -> Scope {
        let mut s = Scope::new();
        let t = &mut s.targets;
        t.push_prefix("2001:db8:6401::1/128".parse().unwrap())
            .unwrap();
        t.push_prefix("10.1.2.0/24".parse().unwrap()).unwrap();
        t.port_ranges.push(PortRange::single(443)).unwrap();
        t.port_ranges.push(PortRange::new(8000, 8080)).unwrap();
        t.protocols.push(6).unwrap();
        t.protocols.push(17).unwrap();
        t.push_fqdn("www.example.com").unwrap();
        t.push_uri("https://example.com/a").unwrap();
        t.push_alias_name("web").unwrap();
        s.push_acl("acl-1", Some(ActivationType::Immediate))
            .unwrap();
        s.push_acl("acl-2", None).unwrap();
        s.trigger_mitigation = Some(false);
        let ch = &mut s.call_home;
        ch.source_prefixes
            .push("192.0.2.0/24".parse().unwrap())
            .unwrap();
        ch.source_port_ranges.push(PortRange::new(1, 2)).unwrap();
        ch.source_icmp_type_ranges
            .push(IcmpTypeRange {
                lower: 3,
                upper: Some(4),
            })
            .unwrap();
        ch.source_icmp_type_ranges
            .push(IcmpTypeRange {
                lower: 8,
                upper: None,
            })
            .unwrap();
        s
    }

    fn packed(s: &Scope) -> alloc::vec::Vec<u8> {
        let mut p = Packed::new();
        pack(s, &mut p).unwrap();
        p.to_vec()
    }

    #[test]
    fn pack_round_trips_the_canonical_scope() {
        let s = sample();
        let mut back = Scope::new();
        unpack(&packed(&s), &mut back).unwrap();
        assert_eq!(back, s);
        // lifetime and attack-status are not part of it; trigger-mitigation true is the default.
        let mut t = s.clone();
        t.lifetime = Some(Lifetime::Seconds(60));
        t.attack_status = Some(dots_codec::model::AttackStatus::UnderAttack);
        assert_eq!(packed(&t), packed(&s));
        let mut a = Scope::new();
        a.targets.push_fqdn("a.example").unwrap();
        let mut b = a.clone();
        b.trigger_mitigation = Some(true);
        assert_eq!(packed(&a), packed(&b));
        // Truncated or extended bytes do not unpack.
        let p = packed(&s);
        assert!(unpack(&p[..p.len() - 1], &mut Scope::new()).is_none());
        let mut longer = p.clone();
        longer.push(0);
        assert!(unpack(&longer, &mut Scope::new()).is_none());
    }

    #[test]
    fn different_scopes_pack_differently() {
        let base = sample();
        let mut variants = alloc::vec::Vec::new();
        let mut v = base.clone();
        v.targets.port_ranges[0] = PortRange::new(443, 443);
        variants.push(v);
        let mut v = base.clone();
        v.targets.prefixes[1] = "10.1.2.0/25".parse().unwrap();
        variants.push(v);
        let mut v = base.clone();
        v.targets.prefixes[1] = "10.1.2.1/24".parse().unwrap();
        variants.push(v);
        let mut v = base.clone();
        v.trigger_mitigation = None;
        variants.push(v);
        let mut v = base.clone();
        v.call_home.source_icmp_type_ranges[1].upper = Some(8);
        variants.push(v);
        let mut v = base.clone();
        v.targets.protocols.pop();
        variants.push(v);
        for v in &variants {
            assert_ne!(packed(v), packed(&base), "{v:?}");
        }
    }

    /// What [`packed_targets`] reports, as the index sees it.
    fn walked(bytes: &[u8]) -> alloc::vec::Vec<alloc::string::String> {
        let mut v = alloc::vec::Vec::new();
        packed_targets(bytes, |t| match t {
            PackedTarget::Prefix(p) => v.push(alloc::format!("p {p:?}")),
            PackedTarget::Name(k, n) => v.push(alloc::format!("{k:?} {n}")),
        });
        v
    }

    /// The same from the unpacked scope (what the index is built from).
    fn expected(s: &Scope) -> alloc::vec::Vec<alloc::string::String> {
        let mut back = Scope::new();
        unpack(&packed(s), &mut back).unwrap();
        let mut v: alloc::vec::Vec<_> = super::super::mitigate::all_prefixes(&back, &[])
            .map(|p| alloc::format!("p {:?}", Net::from_ipnet(p)))
            .collect();
        v.extend(
            super::super::mitigate::all_names(&back, &[]).map(|(k, n)| alloc::format!("{k:?} {n}")),
        );
        v
    }

    #[test]
    fn packed_targets_are_the_unpacked_ones() {
        let s = sample();
        assert_eq!(walked(&packed(&s)), expected(&s));
        assert_eq!(walked(&packed(&s)).len(), 5);
        assert_eq!(walked(&packed(&Scope::new())), expected(&Scope::new()));
        // Bytes cut inside the names report nothing at all.
        let p = packed(&s);
        // The targets part: the packing of the same targets alone, less its four empty counts
        // (ACLs, source prefixes, source port ranges, ICMP ranges).
        let mut targets_only = Scope::new();
        targets_only.trigger_mitigation = s.trigger_mitigation;
        targets_only.targets.prefixes = s.targets.prefixes.clone();
        targets_only.targets.port_ranges = s.targets.port_ranges.clone();
        targets_only.targets.protocols = s.targets.protocols.clone();
        for f in s.targets.fqdns() {
            targets_only.targets.push_fqdn(f).unwrap();
        }
        for u in s.targets.uris() {
            targets_only.targets.push_uri(u).unwrap();
        }
        for a in s.targets.alias_names() {
            targets_only.targets.push_alias_name(a).unwrap();
        }
        let names_end = packed(&targets_only).len() - 4;
        assert_eq!(p[..names_end], packed(&targets_only)[..names_end]);
        for cut in 0..names_end {
            assert!(walked(&p[..cut]).is_empty(), "cut at {cut}");
        }
        assert_eq!(walked(&p[..names_end]).len(), 5);
    }

    proptest::proptest! {
        #[test]
        fn packed_targets_match_unpack(
            v4 in proptest::collection::vec((proptest::prelude::any::<u32>(), 0u8..=32), 0..3),
            v6 in proptest::collection::vec((proptest::prelude::any::<u128>(), 0u8..=128), 0..3),
            ports in proptest::collection::vec(proptest::prelude::any::<u16>(), 0..4),
            protocols in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..4),
            names in proptest::collection::vec((0u8..3, "[a-z]{1,8}(\\.[a-z]{1,5})?"), 0..5),
            trigger in proptest::prelude::any::<Option<bool>>(),
            acl in proptest::prelude::any::<bool>(),
        ) {
            let mut s = Scope::new();
            let t = &mut s.targets;
            for (a, l) in v4 {
                let _ = t.push_prefix(IpNet::V4(Ipv4Net::new(Ipv4Addr::from(a), l).unwrap().trunc()));
            }
            for (a, l) in v6 {
                let _ = t.push_prefix(IpNet::V6(Ipv6Net::new(Ipv6Addr::from(a), l).unwrap().trunc()));
            }
            for p in ports {
                let _ = t.port_ranges.push(PortRange::single(p));
            }
            for p in protocols {
                let _ = t.protocols.push(p);
            }
            for (k, n) in &names {
                let _ = match k {
                    0 => t.push_fqdn(n),
                    1 => t.push_uri(n),
                    _ => t.push_alias_name(n),
                };
            }
            s.trigger_mitigation = trigger;
            if acl {
                let _ = s.push_acl("acl", Some(ActivationType::Immediate));
            }
            proptest::prop_assert_eq!(walked(&packed(&s)), expected(&s));
            // The packing round-trips (with or without text members).
            let mut back = Scope::new();
            proptest::prop_assert!(unpack(&packed(&s), &mut back).is_some());
            s.trigger_mitigation = s.trigger_mitigation.filter(|t| !t);
            proptest::prop_assert_eq!(back, s);
        }
    }

    #[test]
    fn the_put_response_is_the_codec_encoding() {
        for mid in [0, 1, 23, 24, 255, 256, 65_535, 65_536, u32::MAX] {
            for lifetime in [
                Lifetime::Seconds(0),
                Lifetime::Seconds(3600),
                Lifetime::Seconds(u32::MAX),
                Lifetime::Indefinite,
            ] {
                let mut e = ScopeEntry {
                    mid: Some(mid),
                    ..ScopeEntry::default()
                };
                e.scope.lifetime = Some(lifetime);
                let mut want = [0u8; 64];
                let n = MitigationRequest { entry: e }
                    .encode_cbor(&mut want)
                    .unwrap();
                let mut got = [0u8; 64];
                let m = mid_lifetime(mid, lifetime, &mut got).unwrap();
                assert_eq!(got[..m], want[..n], "{mid} {lifetime:?}");
            }
        }
        assert_eq!(mid_lifetime(1, Lifetime::Indefinite, &mut [0u8; 8]), None);
    }
}
