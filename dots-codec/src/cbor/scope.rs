//! CBOR of `mitigation-scope` bodies (RFC 9132 Section 4.4, RFC 9133, RFC 9066).

use ipnet::IpNet;
use minicbor::encode::{Error, Write};
use minicbor::{Decoder, Encoder};

use super::ip::parse_prefix;
use super::read::{self, Result};
use super::signal::top_level;
use super::telemetry_attack::{
    encode_scope_members, scope_member, scope_member_count, SCOPE_MEMBER_KEYS,
};
use super::write::{count, key, Emit};
use super::DecodeError;
use crate::keys as k;
use crate::model::telemetry::ScopeTelemetryList;
use crate::model::{
    ActivationType, AttackStatus, CapacityError, ConflictCause, ConflictInformation, ConflictScope,
    ConflictStatus, EfficacyUpdate, IcmpTypeRange, Lifetime, MitigationRequest, MitigationScope,
    MitigationStatus, PortRange, ScopeEntry, ScopeTelemetry, Targets,
};

pub(super) fn full(key: u64, limit: usize) -> DecodeError {
    DecodeError::Capacity {
        key,
        error: CapacityError::TooManyItems { limit },
    }
}

pub(super) fn capacity(key: u64) -> impl Fn(CapacityError) -> DecodeError {
    move |error| DecodeError::Capacity { key, error }
}

pub(super) fn prefix(dec: &mut Decoder<'_>, key: u64) -> Result<IpNet> {
    // A definite text string that parses needs no UTF-8 check (a prefix is ASCII); anything
    // else takes the general path and its errors.
    if let Some((3, len, n)) = read::head(dec) {
        let start = dec.position() + n;
        let bytes = usize::try_from(len)
            .ok()
            .and_then(|len| dec.input().get(start..start.checked_add(len)?));
        if let Some(p) = bytes.and_then(super::ip::parse_prefix_bytes) {
            dec.set_position(start + bytes.map_or(0, <[u8]>::len));
            return Ok(p);
        }
    }
    read::text(dec, key, |s| {
        parse_prefix(s).ok_or(DecodeError::InvalidValue { key })
    })
}

pub(super) fn prefixes<const N: usize>(
    dec: &mut Decoder<'_>,
    key: u64,
    depth: usize,
    out: &mut heapless::Vec<IpNet, N, u8>,
) -> Result<()> {
    read::array(dec, key, depth, |dec, _, _| {
        let p = prefix(dec, key)?;
        out.push(p).map_err(|_| full(key, N))
    })
}

pub(super) fn port_ranges<const N: usize>(
    dec: &mut Decoder<'_>,
    key: u64,
    depth: usize,
    out: &mut heapless::Vec<PortRange, N, u8>,
) -> Result<()> {
    read::array(dec, key, depth, |dec, _, depth| {
        let mut lower = None;
        let mut upper = None;
        read::map(
            dec,
            key,
            depth,
            &[k::LOWER_PORT, k::UPPER_PORT],
            |dec, kk, _| {
                let v = read::uint::<u16>(dec, kk)?;
                if kk == k::LOWER_PORT {
                    lower = Some(v);
                } else {
                    upper = Some(v);
                }
                Ok(())
            },
        )?;
        let lower = lower.ok_or(DecodeError::MissingMember { key: k::LOWER_PORT })?;
        out.push(PortRange { lower, upper })
            .map_err(|_| full(key, N))
    })
}

pub(super) fn icmp_ranges<const N: usize>(
    dec: &mut Decoder<'_>,
    key: u64,
    depth: usize,
    out: &mut heapless::Vec<IcmpTypeRange, N, u8>,
) -> Result<()> {
    read::array(dec, key, depth, |dec, _, depth| {
        let mut lower = None;
        let mut upper = None;
        read::map(
            dec,
            key,
            depth,
            &[k::LOWER_TYPE, k::UPPER_TYPE],
            |dec, kk, _| {
                let v = read::uint::<u8>(dec, kk)?;
                if kk == k::LOWER_TYPE {
                    lower = Some(v);
                } else {
                    upper = Some(v);
                }
                Ok(())
            },
        )?;
        let lower = lower.ok_or(DecodeError::MissingMember { key: k::LOWER_TYPE })?;
        out.push(IcmpTypeRange { lower, upper })
            .map_err(|_| full(key, N))
    })
}

fn text_list(dec: &mut Decoder<'_>, key: u64, depth: usize, targets: &mut Targets) -> Result<()> {
    read::array(dec, key, depth, |dec, _, _| {
        read::text(dec, key, |s| {
            match key {
                k::TARGET_FQDN => targets.push_fqdn(s),
                k::TARGET_URI => targets.push_uri(s),
                _ => targets.push_alias_name(s),
            }
            .map_err(capacity(key))
        })
    })
}

/// Decodes the target members shared by `scope` and `conflict-scope`; false if `key` is not one.
pub(super) fn target_member(
    dec: &mut Decoder<'_>,
    key: u64,
    depth: usize,
    t: &mut Targets,
) -> Result<bool> {
    match key {
        k::TARGET_PREFIX => prefixes(dec, key, depth, &mut t.prefixes)?,
        k::TARGET_PORT_RANGE => port_ranges(dec, key, depth, &mut t.port_ranges)?,
        k::TARGET_PROTOCOL => read::array(dec, key, depth, |dec, _, _| {
            let p = read::uint::<u8>(dec, key)?;
            t.protocols
                .push(p)
                .map_err(|_| full(key, crate::model::MAX_PROTOCOLS))
        })?,
        k::TARGET_FQDN | k::TARGET_URI | k::ALIAS_NAME => text_list(dec, key, depth, t)?,
        _ => return Ok(false),
    }
    Ok(true)
}

const SCOPE_KEYS: &[u64] = &[
    k::CDID,
    k::CUID,
    k::MID,
    k::TARGET_PREFIX,
    k::TARGET_PORT_RANGE,
    k::TARGET_PROTOCOL,
    k::TARGET_FQDN,
    k::TARGET_URI,
    k::ALIAS_NAME,
    k::LIFETIME,
    k::MITIGATION_START,
    k::STATUS,
    k::CONFLICT_INFORMATION,
    k::BYTES_DROPPED,
    k::BPS_DROPPED,
    k::PKTS_DROPPED,
    k::PPS_DROPPED,
    k::ATTACK_STATUS,
    k::TRIGGER_MITIGATION,
    k::CONTROL_ACL_LIST,
    k::SOURCE_PREFIX,
    k::SOURCE_PORT_RANGE,
    k::SOURCE_ICMP_TYPE_RANGE,
];

/// [`SCOPE_KEYS`] and RFC 9244's scope members 204–207, for the decoders that read telemetry.
/// The others skip 204–207 as comprehension-optional keys they do not understand (RFC 9132
/// Section 6), which is what a telemetry-unaware DOTS agent does.
const SCOPE_KEYS_TELEMETRY: &[u64] = &[
    k::CDID,
    k::CUID,
    k::MID,
    k::TARGET_PREFIX,
    k::TARGET_PORT_RANGE,
    k::TARGET_PROTOCOL,
    k::TARGET_FQDN,
    k::TARGET_URI,
    k::ALIAS_NAME,
    k::LIFETIME,
    k::MITIGATION_START,
    k::STATUS,
    k::CONFLICT_INFORMATION,
    k::BYTES_DROPPED,
    k::BPS_DROPPED,
    k::PKTS_DROPPED,
    k::PPS_DROPPED,
    k::ATTACK_STATUS,
    k::TRIGGER_MITIGATION,
    k::CONTROL_ACL_LIST,
    k::SOURCE_PREFIX,
    k::SOURCE_PORT_RANGE,
    k::SOURCE_ICMP_TYPE_RANGE,
    k::SCOPE_TOTAL_TRAFFIC,
    k::SCOPE_TOTAL_ATTACK_TRAFFIC,
    k::SCOPE_TOTAL_ATTACK_CONNECTION,
    k::SCOPE_ATTACK_DETAIL,
];

/// Where the telemetry members of a scope being decoded go.
pub(super) trait TelemetrySlot {
    /// The telemetry of the scope, created on first use.
    fn slot(&mut self, key: u64) -> Result<&mut ScopeTelemetry>;
}

impl TelemetrySlot for ScopeTelemetry {
    fn slot(&mut self, _: u64) -> Result<&mut ScopeTelemetry> {
        Ok(self)
    }
}

/// The telemetry of scope `index` of a [`MitigationScope`] body.
struct Attach<'a> {
    list: &'a mut ScopeTelemetryList,
    index: u8,
}

impl TelemetrySlot for Attach<'_> {
    fn slot(&mut self, key: u64) -> Result<&mut ScopeTelemetry> {
        self.list.open(self.index).map_err(capacity(key))
    }
}

/// One `scope` entry, decoded in place into `e` (which must be empty): entries are large, so
/// they are never moved while decoding. With `tm`, RFC 9244 members go there; without, they
/// are skipped.
pub(super) fn entry(
    dec: &mut Decoder<'_>,
    depth: usize,
    e: &mut ScopeEntry,
    mut tm: Option<&mut dyn TelemetrySlot>,
) -> Result<()> {
    let keys = if tm.is_some() {
        SCOPE_KEYS_TELEMETRY
    } else {
        SCOPE_KEYS
    };
    read::map(dec, k::SCOPE, depth, keys, |dec, key, depth| {
        if target_member(dec, key, depth, &mut e.scope.targets)? {
            return Ok(());
        }
        if SCOPE_MEMBER_KEYS.contains(&key) {
            if let Some(tm) = tm.as_mut() {
                return scope_member(dec, key, depth, tm.slot(key)?);
            }
        }
        let s = &mut e.scope;
        match key {
            k::CDID | k::CUID => return Err(DecodeError::NotAllowed { key }),
            k::MID => e.mid = Some(read::uint(dec, key)?),
            k::LIFETIME => {
                let v = read::int(dec, key)?;
                s.lifetime = Some(Lifetime::from_i64(v).ok_or(DecodeError::OutOfRange { key })?);
            }
            k::MITIGATION_START => e.mitigation_start = Some(read::uint(dec, key)?),
            k::STATUS => {
                e.status = Some(read::enumeration(dec, key, MitigationStatus::from_value)?)
            }
            k::CONFLICT_INFORMATION => e.conflict_information = Some(conflict(dec, depth)?),
            k::BYTES_DROPPED => e.bytes_dropped = Some(read::uint(dec, key)?),
            k::BPS_DROPPED => e.bps_dropped = Some(read::uint(dec, key)?),
            k::PKTS_DROPPED => e.pkts_dropped = Some(read::uint(dec, key)?),
            k::PPS_DROPPED => e.pps_dropped = Some(read::uint(dec, key)?),
            k::ATTACK_STATUS => {
                s.attack_status = Some(read::enumeration(dec, key, AttackStatus::from_value)?)
            }
            k::TRIGGER_MITIGATION => s.trigger_mitigation = Some(read::boolean(dec, key)?),
            k::CONTROL_ACL_LIST => read::array(dec, key, depth, |dec, _, depth| {
                let mut name = None::<heapless::String<{ crate::model::MAX_TEXT_LEN }>>;
                let mut act = None;
                read::map(
                    dec,
                    key,
                    depth,
                    &[k::ACL_NAME, k::ACTIVATION_TYPE],
                    |dec, kk, _| {
                        if kk == k::ACL_NAME {
                            name = Some(read::text(dec, kk, |t| {
                                heapless::String::try_from(t).map_err(|_| {
                                    capacity(kk)(CapacityError::TextTooLong {
                                        limit: crate::model::MAX_TEXT_LEN,
                                    })
                                })
                            })?);
                        } else {
                            act = Some(read::enumeration(dec, kk, ActivationType::from_value)?);
                        }
                        Ok(())
                    },
                )?;
                let name = name.ok_or(DecodeError::MissingMember { key: k::ACL_NAME })?;
                s.push_acl(&name, act).map_err(capacity(key))
            })?,
            k::SOURCE_PREFIX => prefixes(dec, key, depth, &mut s.call_home.source_prefixes)?,
            k::SOURCE_PORT_RANGE => {
                port_ranges(dec, key, depth, &mut s.call_home.source_port_ranges)?
            }
            k::SOURCE_ICMP_TYPE_RANGE => {
                icmp_ranges(dec, key, depth, &mut s.call_home.source_icmp_type_ranges)?
            }
            _ => {
                return Err(DecodeError::UnknownKey {
                    key,
                    within: k::SCOPE,
                })
            }
        }
        Ok(())
    })
}

fn conflict(dec: &mut Decoder<'_>, depth: usize) -> Result<ConflictInformation> {
    let mut c = ConflictInformation::default();
    read::map(
        dec,
        k::CONFLICT_INFORMATION,
        depth,
        &[
            k::CONFLICT_STATUS,
            k::CONFLICT_CAUSE,
            k::RETRY_TIMER,
            k::CONFLICT_SCOPE,
        ],
        |dec, key, depth| {
            match key {
                k::CONFLICT_STATUS => {
                    c.conflict_status =
                        Some(read::enumeration(dec, key, ConflictStatus::from_value)?)
                }
                k::CONFLICT_CAUSE => {
                    c.conflict_cause = Some(read::enumeration(dec, key, ConflictCause::from_value)?)
                }
                k::RETRY_TIMER => c.retry_timer = Some(read::uint(dec, key)?),
                _ => c.conflict_scope = Some(conflict_scope(dec, depth)?),
            }
            Ok(())
        },
    )?;
    Ok(c)
}

fn conflict_scope(dec: &mut Decoder<'_>, depth: usize) -> Result<ConflictScope> {
    let mut cs = ConflictScope::default();
    read::map(
        dec,
        k::CONFLICT_SCOPE,
        depth,
        &[
            k::MID,
            k::TARGET_PREFIX,
            k::TARGET_PORT_RANGE,
            k::TARGET_PROTOCOL,
            k::TARGET_FQDN,
            k::TARGET_URI,
            k::ALIAS_NAME,
            k::ACL_LIST,
        ],
        |dec, key, depth| {
            if target_member(dec, key, depth, &mut cs.targets)? {
                return Ok(());
            }
            if key == k::MID {
                cs.mid = Some(read::uint(dec, key)?);
                return Ok(());
            }
            read::array(dec, key, depth, |dec, _, depth| {
                let mut name = None::<heapless::String<{ crate::model::MAX_TEXT_LEN }>>;
                let mut acl_type = None::<heapless::String<{ crate::model::MAX_TEXT_LEN }>>;
                read::map(
                    dec,
                    key,
                    depth,
                    &[k::ACL_NAME, k::ACL_TYPE],
                    |dec, kk, _| {
                        let s = read::text(dec, kk, |t| {
                            heapless::String::try_from(t).map_err(|_| {
                                capacity(kk)(CapacityError::TextTooLong {
                                    limit: crate::model::MAX_TEXT_LEN,
                                })
                            })
                        })?;
                        if kk == k::ACL_NAME {
                            name = Some(s);
                        } else {
                            acl_type = Some(s);
                        }
                        Ok(())
                    },
                )?;
                let name = name.ok_or(DecodeError::MissingMember { key: k::ACL_NAME })?;
                cs.push_acl(&name, acl_type.as_deref())
                    .map_err(capacity(key))
            })
        },
    )?;
    Ok(cs)
}

fn scope_list(
    dec: &mut Decoder<'_>,
    depth: usize,
    mut f: impl FnMut(&mut Decoder<'_>, usize, usize) -> Result<()>,
) -> Result<()> {
    let mut found = false;
    read::map(
        dec,
        k::MITIGATION_SCOPE,
        depth,
        &[k::SCOPE],
        |dec, _, depth| {
            found = true;
            read::array(dec, k::SCOPE, depth, &mut f)
        },
    )?;
    if found {
        Ok(())
    } else {
        Err(DecodeError::MissingMember { key: k::SCOPE })
    }
}

pub(super) fn mitigation_scope_body(
    dec: &mut Decoder<'_>,
    depth: usize,
    m: &mut MitigationScope,
) -> Result<()> {
    scope_list(dec, depth, |dec, i, depth| {
        m.scopes
            .push(ScopeEntry::default())
            .map_err(|_| full(k::SCOPE, crate::model::MAX_SCOPES))?;
        let mut attach = Attach {
            list: &mut m.telemetry,
            // At most MAX_SCOPES (16) entries reach here.
            index: u8::try_from(i).unwrap_or(u8::MAX),
        };
        let r = match m.scopes.last_mut() {
            Some(e) => entry(dec, depth, e, Some(&mut attach)),
            None => Ok(()),
        };
        m.telemetry.close_if_empty();
        r
    })
}

pub(super) fn decode_mitigation_scope(
    dec: &mut Decoder<'_>,
    m: &mut MitigationScope,
) -> Result<()> {
    top_level(dec, k::MITIGATION_SCOPE, |dec, depth| {
        mitigation_scope_body(dec, depth, m)
    })
}

pub(super) fn decode_mitigation_request(
    dec: &mut Decoder<'_>,
    req: &mut MitigationRequest,
) -> Result<()> {
    single_scope(dec, req, None)
}

pub(super) fn decode_efficacy_update(dec: &mut Decoder<'_>, u: &mut EfficacyUpdate) -> Result<()> {
    single_scope(dec, &mut u.request, Some(&mut u.telemetry))
}

fn single_scope(
    dec: &mut Decoder<'_>,
    req: &mut MitigationRequest,
    mut tm: Option<&mut ScopeTelemetry>,
) -> Result<()> {
    let mut n = 0usize;
    top_level(dec, k::MITIGATION_SCOPE, |dec, depth| {
        scope_list(dec, depth, |dec, _, depth| {
            n = n.saturating_add(1);
            if n == 1 {
                let slot = tm.as_deref_mut().map(|t| t as &mut dyn TelemetrySlot);
                entry(dec, depth, &mut req.entry, slot)
            } else {
                read::skip(dec, depth)
            }
        })
    })?;
    if n == 1 {
        Ok(())
    } else {
        Err(DecodeError::ScopeCount { count: n })
    }
}

// ---------------------------------------------------------------------------------------------
// Encoding

pub(super) type EResult<W> = core::result::Result<(), Error<<W as Write>::Error>>;

pub(super) fn ranges<W: Write>(e: &mut Encoder<W>, kk: u64, r: &[PortRange]) -> EResult<W> {
    key(e, kk)?;
    e.array(r.len() as u64)?;
    for p in r {
        e.map(1 + u64::from(p.upper.is_some()))?;
        e.u64(k::LOWER_PORT)?.u16(p.lower)?;
        if let Some(u) = p.upper {
            e.u64(k::UPPER_PORT)?.u16(u)?;
        }
    }
    Ok(())
}

pub(super) fn prefix_list<W: Write>(e: &mut Encoder<W>, kk: u64, p: &[IpNet]) -> EResult<W> {
    key(e, kk)?;
    e.array(p.len() as u64)?;
    for net in p {
        e.str(super::write::AddrText::net(net).as_str())?;
    }
    Ok(())
}

fn str_list<'a, W: Write>(
    e: &mut Encoder<W>,
    kk: u64,
    items: impl Iterator<Item = &'a str> + Clone,
) -> EResult<W> {
    let n = items.clone().count();
    if n == 0 {
        return Ok(());
    }
    key(e, kk)?;
    e.array(n as u64)?;
    for s in items {
        e.str(s)?;
    }
    Ok(())
}

/// The target members shared by scope and conflict-scope, in key order: 6, 7, 10, 11, 12, 13.
pub(super) fn target_members<W: Write>(e: &mut Encoder<W>, t: &Targets) -> EResult<W> {
    if !t.prefixes.is_empty() {
        prefix_list(e, k::TARGET_PREFIX, &t.prefixes)?;
    }
    if !t.port_ranges.is_empty() {
        ranges(e, k::TARGET_PORT_RANGE, &t.port_ranges)?;
    }
    if !t.protocols.is_empty() {
        key(e, k::TARGET_PROTOCOL)?;
        e.array(t.protocols.len() as u64)?;
        for p in &t.protocols {
            e.u8(*p)?;
        }
    }
    str_list(e, k::TARGET_FQDN, t.fqdns())?;
    str_list(e, k::TARGET_URI, t.uris())?;
    str_list(e, k::ALIAS_NAME, t.alias_names())
}

pub(super) fn target_count(t: &Targets) -> u64 {
    count(&[
        !t.prefixes.is_empty(),
        !t.port_ranges.is_empty(),
        !t.protocols.is_empty(),
        t.fqdns().next().is_some(),
        t.uris().next().is_some(),
        t.alias_names().next().is_some(),
    ])
}

pub(super) fn encode_entry<W: Write>(
    e: &mut Encoder<W>,
    en: &ScopeEntry,
    tm: Option<&ScopeTelemetry>,
) -> EResult<W> {
    let s = &en.scope;
    let ch = &s.call_home;
    let n = target_count(&s.targets)
        + tm.map_or(0, scope_member_count)
        + count(&[
            en.mid.is_some(),
            s.lifetime.is_some(),
            en.mitigation_start.is_some(),
            en.status.is_some(),
            en.conflict_information.is_some(),
            en.bytes_dropped.is_some(),
            en.bps_dropped.is_some(),
            en.pkts_dropped.is_some(),
            en.pps_dropped.is_some(),
            s.attack_status.is_some(),
            s.trigger_mitigation.is_some(),
            s.has_acl_list(),
            !ch.source_prefixes.is_empty(),
            !ch.source_port_ranges.is_empty(),
            !ch.source_icmp_type_ranges.is_empty(),
        ]);
    e.map(n)?;
    if let Some(mid) = en.mid {
        e.u64(k::MID)?.u32(mid)?;
    }
    target_members(e, &s.targets)?;
    if let Some(l) = s.lifetime {
        e.u64(k::LIFETIME)?.i64(l.as_i64())?;
    }
    if let Some(v) = en.mitigation_start {
        e.u64(k::MITIGATION_START)?.u64(v)?;
    }
    if let Some(v) = en.status {
        e.u64(k::STATUS)?.u8(v.value())?;
    }
    if let Some(c) = &en.conflict_information {
        key(e, k::CONFLICT_INFORMATION)?;
        encode_conflict(e, c)?;
    }
    for (kk, v) in [
        (k::BYTES_DROPPED, en.bytes_dropped),
        (k::BPS_DROPPED, en.bps_dropped),
        (k::PKTS_DROPPED, en.pkts_dropped),
        (k::PPS_DROPPED, en.pps_dropped),
    ] {
        if let Some(v) = v {
            e.u64(kk)?.u64(v)?;
        }
    }
    if let Some(v) = s.attack_status {
        e.u64(k::ATTACK_STATUS)?.u8(v.value())?;
    }
    if let Some(v) = s.trigger_mitigation {
        e.u64(k::TRIGGER_MITIGATION)?.bool(v)?;
    }
    if s.has_acl_list() {
        key(e, k::CONTROL_ACL_LIST)?;
        e.array(s.acl_list().count() as u64)?;
        for acl in s.acl_list() {
            e.map(1 + u64::from(acl.activation_type.is_some()))?;
            e.u64(k::ACL_NAME)?.str(acl.name)?;
            if let Some(a) = acl.activation_type {
                e.u64(k::ACTIVATION_TYPE)?.u8(a.value())?;
            }
        }
    }
    // RFC 9244 members 204–207 sit between RFC 9133's 53 and RFC 9066's 32768.
    if let Some(tm) = tm {
        encode_scope_members(e, tm)?;
    }
    if !ch.source_prefixes.is_empty() {
        prefix_list(e, k::SOURCE_PREFIX, &ch.source_prefixes)?;
    }
    if !ch.source_port_ranges.is_empty() {
        ranges(e, k::SOURCE_PORT_RANGE, &ch.source_port_ranges)?;
    }
    if !ch.source_icmp_type_ranges.is_empty() {
        icmp_list(e, k::SOURCE_ICMP_TYPE_RANGE, &ch.source_icmp_type_ranges)?;
    }
    Ok(())
}

pub(super) fn icmp_list<W: Write>(e: &mut Encoder<W>, kk: u64, r: &[IcmpTypeRange]) -> EResult<W> {
    key(e, kk)?;
    e.array(r.len() as u64)?;
    for r in r {
        e.map(1 + u64::from(r.upper.is_some()))?;
        e.u64(k::LOWER_TYPE)?.u8(r.lower)?;
        if let Some(u) = r.upper {
            e.u64(k::UPPER_TYPE)?.u8(u)?;
        }
    }
    Ok(())
}

fn encode_conflict<W: Write>(e: &mut Encoder<W>, c: &ConflictInformation) -> EResult<W> {
    e.map(count(&[
        c.conflict_status.is_some(),
        c.conflict_cause.is_some(),
        c.retry_timer.is_some(),
        c.conflict_scope.is_some(),
    ]))?;
    if let Some(v) = c.conflict_status {
        e.u64(k::CONFLICT_STATUS)?.u8(v.value())?;
    }
    if let Some(v) = c.conflict_cause {
        e.u64(k::CONFLICT_CAUSE)?.u8(v.value())?;
    }
    if let Some(v) = c.retry_timer {
        e.u64(k::RETRY_TIMER)?.u32(v)?;
    }
    if let Some(cs) = &c.conflict_scope {
        key(e, k::CONFLICT_SCOPE)?;
        let acls = cs.acl_list().count();
        e.map(target_count(&cs.targets) + count(&[acls > 0, cs.mid.is_some()]))?;
        if let Some(mid) = cs.mid {
            e.u64(k::MID)?.u32(mid)?;
        }
        target_members(e, &cs.targets)?;
        if acls > 0 {
            key(e, k::ACL_LIST)?;
            e.array(acls as u64)?;
            for acl in cs.acl_list() {
                e.map(1 + u64::from(acl.acl_type.is_some()))?;
                e.u64(k::ACL_NAME)?.str(acl.name)?;
                if let Some(t) = acl.acl_type {
                    e.u64(k::ACL_TYPE)?.str(t)?;
                }
            }
        }
    }
    Ok(())
}

/// `{1: {2: [entries...]}}`.
pub(super) fn encode_entries<'a, W: Write>(
    e: &mut Encoder<W>,
    entries: impl ExactSizeIterator<Item = (&'a ScopeEntry, Option<&'a ScopeTelemetry>)>,
) -> EResult<W> {
    e.map(1)?.u64(k::MITIGATION_SCOPE)?.map(1)?.u64(k::SCOPE)?;
    e.array(entries.len() as u64)?;
    for (en, tm) in entries {
        encode_entry(e, en, tm)?;
    }
    Ok(())
}

pub(super) fn encode_mitigation_scope<W: Write>(
    e: &mut Encoder<W>,
    m: &MitigationScope,
) -> EResult<W> {
    encode_entries(
        e,
        m.scopes
            .iter()
            .enumerate()
            .map(|(i, en)| (en, m.telemetry.get(i))),
    )
}

pub(super) fn encode_mitigation_request<W: Write>(
    e: &mut Encoder<W>,
    m: &MitigationRequest,
) -> EResult<W> {
    encode_entries(e, core::iter::once((&m.entry, None)))
}

pub(super) fn encode_efficacy_update<W: Write>(
    e: &mut Encoder<W>,
    u: &EfficacyUpdate,
) -> EResult<W> {
    encode_entries(e, core::iter::once((&u.request.entry, Some(&u.telemetry))))
}

/// Borrowed entries for [`super::encode_scopes`].
pub(super) struct Entries<I>(pub(super) I);

impl<'a, I> Emit for Entries<I>
where
    I: ExactSizeIterator<Item = &'a ScopeEntry> + Clone,
{
    fn emit<W: Write>(&self, e: &mut Encoder<W>) -> EResult<W> {
        encode_entries(e, self.0.clone().map(|en| (en, None)))
    }
}

/// Borrowed entries with telemetry for [`super::encode_scopes_with_telemetry`].
pub(super) struct TelemetryEntries<I>(pub(super) I);

impl<'a, I> Emit for TelemetryEntries<I>
where
    I: ExactSizeIterator<Item = (&'a ScopeEntry, Option<&'a ScopeTelemetry>)> + Clone,
{
    fn emit<W: Write>(&self, e: &mut Encoder<W>) -> EResult<W> {
        encode_entries(e, self.0.clone())
    }
}
