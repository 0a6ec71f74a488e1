//! CBOR of RFC 9244 attack details and top talkers (Section 8.1.5), and of the telemetry
//! members of a mitigation scope (keys 204–207, Section 9).

use minicbor::encode::Write;
use minicbor::{Decoder, Encoder};

use super::read::{self, Result};
use super::scope::{icmp_list, icmp_ranges, port_ranges, prefix, ranges, EResult};
use super::telemetry::{
    connection_gauges, encode_connection_gauges, encode_gauges, encode_protocol_connections,
    encode_unit_traffic, gauges, list_in_place, need, protocol_connections, text_into,
    unit_traffic,
};
use super::write::{count, key};
use crate::keys as k;
use crate::model::telemetry::{
    AttackDetail, AttackSeverity, ConnectionGauges, ScopeTelemetry, Talker, TalkerConnections,
    MAX_LANG_TAG_LEN,
};
use crate::model::MAX_TEXT_LEN;

/// The two shapes of a talker's attack connections.
pub(super) trait TalkerConnection: Default {
    /// The member's key: `total-attack-connection` (157) or `total-attack-connection-protocol`
    /// (173).
    const KEY: u64;
    fn decode(&mut self, dec: &mut Decoder<'_>, depth: usize) -> Result<()>;
    fn present(&self) -> bool;
    fn encode<W: Write>(&self, e: &mut Encoder<W>) -> EResult<W>;
}

impl TalkerConnection for ConnectionGauges {
    const KEY: u64 = k::TOTAL_ATTACK_CONNECTION;
    fn decode(&mut self, dec: &mut Decoder<'_>, depth: usize) -> Result<()> {
        *self = connection_gauges(dec, Self::KEY, depth)?;
        Ok(())
    }
    fn present(&self) -> bool {
        !self.is_empty()
    }
    fn encode<W: Write>(&self, e: &mut Encoder<W>) -> EResult<W> {
        key(e, Self::KEY)?;
        encode_connection_gauges(e, self)
    }
}

impl TalkerConnection for TalkerConnections {
    const KEY: u64 = k::TOTAL_ATTACK_CONNECTION_PROTOCOL;
    fn decode(&mut self, dec: &mut Decoder<'_>, depth: usize) -> Result<()> {
        protocol_connections(dec, Self::KEY, depth, self)
    }
    fn present(&self) -> bool {
        !self.is_empty()
    }
    fn encode<W: Write>(&self, e: &mut Encoder<W>) -> EResult<W> {
        encode_protocol_connections(e, Self::KEY, self)
    }
}

fn talker<C: TalkerConnection>(
    dec: &mut Decoder<'_>,
    depth: usize,
    t: &mut Talker<C>,
) -> Result<()> {
    let mut prefix_seen = false;
    read::map(
        dec,
        k::TALKER,
        depth,
        &[
            k::TOTAL_ATTACK_TRAFFIC,
            C::KEY,
            k::SPOOFED_STATUS,
            k::TM_SOURCE_PREFIX,
            k::TM_SOURCE_PORT_RANGE,
            k::TM_SOURCE_ICMP_TYPE_RANGE,
        ],
        |dec, kk, depth| {
            match kk {
                k::TOTAL_ATTACK_TRAFFIC => {
                    unit_traffic(dec, kk, depth, true, &mut t.total_attack_traffic)?
                }
                k::SPOOFED_STATUS => t.spoofed_status = Some(read::boolean(dec, kk)?),
                k::TM_SOURCE_PREFIX => {
                    t.source_prefix = prefix(dec, kk)?;
                    prefix_seen = true;
                }
                k::TM_SOURCE_PORT_RANGE => port_ranges(dec, kk, depth, &mut t.source_port_range)?,
                k::TM_SOURCE_ICMP_TYPE_RANGE => {
                    icmp_ranges(dec, kk, depth, &mut t.source_icmp_type_range)?
                }
                _ => t.total_attack_connection.decode(dec, depth)?,
            }
            Ok(())
        },
    )?;
    need(prefix_seen.then_some(()), k::TM_SOURCE_PREFIX)
}

fn attack_detail<C: TalkerConnection>(
    dec: &mut Decoder<'_>,
    within: u64,
    depth: usize,
    d: &mut AttackDetail<C>,
) -> Result<()> {
    let mut vendor = None;
    let mut attack = None;
    read::map(
        dec,
        within,
        depth,
        &[
            k::ATTACK_ID,
            k::ATTACK_DESCRIPTION,
            k::ATTACK_SEVERITY,
            k::START_TIME,
            k::END_TIME,
            k::SOURCE_COUNT,
            k::TOP_TALKER,
            k::VENDOR_ID,
            k::DESCRIPTION_LANG,
        ],
        |dec, kk, depth| {
            match kk {
                k::ATTACK_ID => attack = Some(read::uint(dec, kk)?),
                k::VENDOR_ID => vendor = Some(read::uint(dec, kk)?),
                k::ATTACK_DESCRIPTION => {
                    d.attack_description = Some(text_into::<MAX_TEXT_LEN>(dec, kk)?)
                }
                k::DESCRIPTION_LANG => {
                    d.description_lang = Some(text_into::<MAX_LANG_TAG_LEN>(dec, kk)?)
                }
                k::ATTACK_SEVERITY => {
                    d.attack_severity =
                        Some(read::enumeration(dec, kk, AttackSeverity::from_value)?)
                }
                k::START_TIME => d.start_time = Some(read::uint(dec, kk)?),
                k::END_TIME => d.end_time = Some(read::uint(dec, kk)?),
                k::SOURCE_COUNT => d.source_count = gauges(dec, kk, depth)?,
                _ => read::map(dec, kk, depth, &[k::TALKER], |dec, kk, depth| {
                    list_in_place(dec, kk, depth, &mut d.top_talker, talker)
                })?,
            }
            Ok(())
        },
    )?;
    d.vendor_id = need(vendor, k::VENDOR_ID)?;
    d.attack_id = need(attack, k::ATTACK_ID)?;
    Ok(())
}

/// An `attack-detail` list (key 162 in `telemetry`, 207 in a scope).
pub(super) fn attack_details<C: TalkerConnection, const N: usize>(
    dec: &mut Decoder<'_>,
    key: u64,
    depth: usize,
    out: &mut heapless::Vec<AttackDetail<C>, N, u8>,
) -> Result<()> {
    list_in_place(dec, key, depth, out, |dec, depth, d| {
        attack_detail(dec, key, depth, d)
    })
}

fn encode_talker<W: Write, C: TalkerConnection>(e: &mut Encoder<W>, t: &Talker<C>) -> EResult<W> {
    e.map(
        1 + count(&[
            !t.total_attack_traffic.is_empty(),
            t.total_attack_connection.present(),
            t.spoofed_status.is_some(),
            !t.source_port_range.is_empty(),
            !t.source_icmp_type_range.is_empty(),
        ]),
    )?;
    // 144, 157 | 171, 173 | 185, 187, 188.
    if !t.total_attack_traffic.is_empty() {
        encode_unit_traffic(e, k::TOTAL_ATTACK_TRAFFIC, &t.total_attack_traffic, true)?;
    }
    let connection_first = C::KEY < k::SPOOFED_STATUS;
    if connection_first && t.total_attack_connection.present() {
        t.total_attack_connection.encode(e)?;
    }
    if let Some(v) = t.spoofed_status {
        e.u64(k::SPOOFED_STATUS)?.bool(v)?;
    }
    if !connection_first && t.total_attack_connection.present() {
        t.total_attack_connection.encode(e)?;
    }
    e.u64(k::TM_SOURCE_PREFIX)?
        .str(super::write::AddrText::net(&t.source_prefix).as_str())?;
    if !t.source_port_range.is_empty() {
        ranges(e, k::TM_SOURCE_PORT_RANGE, &t.source_port_range)?;
    }
    if !t.source_icmp_type_range.is_empty() {
        icmp_list(e, k::TM_SOURCE_ICMP_TYPE_RANGE, &t.source_icmp_type_range)?;
    }
    Ok(())
}

fn encode_attack_detail<W: Write, C: TalkerConnection>(
    e: &mut Encoder<W>,
    d: &AttackDetail<C>,
) -> EResult<W> {
    e.map(
        2 + count(&[
            d.attack_description.is_some(),
            d.attack_severity.is_some(),
            d.start_time.is_some(),
            d.end_time.is_some(),
            !d.source_count.is_empty(),
            !d.top_talker.is_empty(),
            d.description_lang.is_some(),
        ]),
    )?;
    // 164–170, 202, 210.
    e.u64(k::ATTACK_ID)?.u32(d.attack_id)?;
    if let Some(s) = &d.attack_description {
        e.u64(k::ATTACK_DESCRIPTION)?.str(s)?;
    }
    if let Some(v) = d.attack_severity {
        e.u64(k::ATTACK_SEVERITY)?.u8(v.value())?;
    }
    if let Some(v) = d.start_time {
        e.u64(k::START_TIME)?.u64(v)?;
    }
    if let Some(v) = d.end_time {
        e.u64(k::END_TIME)?.u64(v)?;
    }
    if !d.source_count.is_empty() {
        key(e, k::SOURCE_COUNT)?;
        encode_gauges(e, &d.source_count)?;
    }
    if !d.top_talker.is_empty() {
        key(e, k::TOP_TALKER)?;
        e.map(1)?.u64(k::TALKER)?.array(d.top_talker.len() as u64)?;
        for t in &d.top_talker {
            encode_talker(e, t)?;
        }
    }
    e.u64(k::VENDOR_ID)?.u32(d.vendor_id)?;
    if let Some(s) = &d.description_lang {
        e.u64(k::DESCRIPTION_LANG)?.str(s)?;
    }
    Ok(())
}

pub(super) fn encode_attack_details<W: Write, C: TalkerConnection>(
    e: &mut Encoder<W>,
    kk: u64,
    list: &[AttackDetail<C>],
) -> EResult<W> {
    key(e, kk)?;
    e.array(list.len() as u64)?;
    for d in list {
        encode_attack_detail(e, d)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Mitigation scope members (keys 204–207)

/// The RFC 9244 keys of a scope.
pub(super) const SCOPE_MEMBER_KEYS: [u64; 4] = [
    k::SCOPE_TOTAL_TRAFFIC,
    k::SCOPE_TOTAL_ATTACK_TRAFFIC,
    k::SCOPE_TOTAL_ATTACK_CONNECTION,
    k::SCOPE_ATTACK_DETAIL,
];

/// Decodes the value of scope member `kk` (one of [`SCOPE_MEMBER_KEYS`]) into `t`.
pub(super) fn scope_member(
    dec: &mut Decoder<'_>,
    kk: u64,
    depth: usize,
    t: &mut ScopeTelemetry,
) -> Result<()> {
    match kk {
        k::SCOPE_TOTAL_TRAFFIC => unit_traffic(dec, kk, depth, true, &mut t.total_traffic),
        k::SCOPE_TOTAL_ATTACK_TRAFFIC => {
            unit_traffic(dec, kk, depth, true, &mut t.total_attack_traffic)
        }
        k::SCOPE_TOTAL_ATTACK_CONNECTION => {
            t.total_attack_connection = connection_gauges(dec, kk, depth)?;
            Ok(())
        }
        _ => attack_details(dec, kk, depth, &mut t.attack_detail),
    }
}

/// Number of scope map members `t` adds.
pub(super) fn scope_member_count(t: &ScopeTelemetry) -> u64 {
    count(&[
        !t.total_traffic.is_empty(),
        !t.total_attack_traffic.is_empty(),
        !t.total_attack_connection.is_empty(),
        !t.attack_detail.is_empty(),
    ])
}

/// Writes the scope members 204–207.
pub(super) fn encode_scope_members<W: Write>(e: &mut Encoder<W>, t: &ScopeTelemetry) -> EResult<W> {
    if !t.total_traffic.is_empty() {
        encode_unit_traffic(e, k::SCOPE_TOTAL_TRAFFIC, &t.total_traffic, true)?;
    }
    if !t.total_attack_traffic.is_empty() {
        encode_unit_traffic(
            e,
            k::SCOPE_TOTAL_ATTACK_TRAFFIC,
            &t.total_attack_traffic,
            true,
        )?;
    }
    if !t.total_attack_connection.is_empty() {
        key(e, k::SCOPE_TOTAL_ATTACK_CONNECTION)?;
        encode_connection_gauges(e, &t.total_attack_connection)?;
    }
    if !t.attack_detail.is_empty() {
        encode_attack_details(e, k::SCOPE_ATTACK_DETAIL, &t.attack_detail)?;
    }
    Ok(())
}
