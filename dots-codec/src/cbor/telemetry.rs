//! CBOR of the RFC 9244 telemetry bodies (`telemetry-setup` = 203, `telemetry` = 208) and of the
//! values they share with the telemetry of mitigation scopes (keys 204–207, see
//! [`super::telemetry_attack`]). Keys come from [`crate::keys`] (RFC 9244 Table 3); maps are
//! written in ascending key order, `decimal64` as tag 4, `uint64`/`gauge64` as unsigned
//! integers.

use minicbor::encode::Write;
use minicbor::{Decoder, Encoder};

use super::read::{self, Result};
use super::scope::{full, target_count, target_member, target_members, EResult};
use super::signal::top_level;
use super::telemetry_attack::{attack_details, encode_attack_details};
use super::write::{count, decimal, key};
use super::DecodeError;
use crate::keys as k;
use crate::model::telemetry::{
    Baseline, ConnectionCapacity, ConnectionGauges, ConnectionLimit, ConnectionLimits, Gauge,
    Gauges, LinkId, PipeCapacity, PortConnection, PortConnectionCapacity, PortTraffic,
    PreOrOngoingMitigation, ProtocolConnection, ProtocolTraffic, QueryType, SetupData, Telemetry,
    TelemetryConfig, TelemetrySetup, TelemetrySetupEntry, TelemetryTarget, Unit, UnitClass,
    UnitConfig, UnitTraffic, MAX_LINK_ID_LEN,
};
use crate::model::CapacityError;

// ---------------------------------------------------------------------------------------------
// Generic helpers

/// A list whose entries are decoded by value.
pub(super) fn list<T, const N: usize>(
    dec: &mut Decoder<'_>,
    key: u64,
    depth: usize,
    out: &mut heapless::Vec<T, N, u8>,
    mut f: impl FnMut(&mut Decoder<'_>, usize) -> Result<T>,
) -> Result<()> {
    read::array(dec, key, depth, |dec, _, depth| {
        let v = f(dec, depth)?;
        out.push(v).map_err(|_| full(key, N))
    })
}

/// A list of large entries, each decoded in place into a default entry.
pub(super) fn list_in_place<T: Default, const N: usize>(
    dec: &mut Decoder<'_>,
    key: u64,
    depth: usize,
    out: &mut heapless::Vec<T, N, u8>,
    mut f: impl FnMut(&mut Decoder<'_>, usize, &mut T) -> Result<()>,
) -> Result<()> {
    read::array(dec, key, depth, |dec, _, depth| {
        out.push(T::default()).map_err(|_| full(key, N))?;
        match out.last_mut() {
            Some(v) => f(dec, depth, v),
            None => Ok(()),
        }
    })
}

pub(super) fn need<T>(v: Option<T>, key: u64) -> Result<T> {
    v.ok_or(DecodeError::MissingMember { key })
}

pub(super) fn text_into<const N: usize>(
    dec: &mut Decoder<'_>,
    key: u64,
) -> Result<heapless::String<N, u8>> {
    read::text(dec, key, |s| {
        heapless::String::try_from(s).map_err(|_| DecodeError::Capacity {
            key,
            error: CapacityError::TextTooLong { limit: N },
        })
    })
}

// ---------------------------------------------------------------------------------------------
// Gauges and traffic entries

const GAUGES: &[u64] = &[
    k::LOW_PERCENTILE_G,
    k::MID_PERCENTILE_G,
    k::HIGH_PERCENTILE_G,
    k::PEAK_G,
    k::CURRENT_G,
];

fn gauge_of(key: u64) -> Option<Gauge> {
    Gauge::ALL.iter().copied().find(|g| g.key() == key)
}

/// A gauges container (`source-count`, `connection-c` ...), always with `current-g`.
pub(super) fn gauges(dec: &mut Decoder<'_>, within: u64, depth: usize) -> Result<Gauges> {
    let mut g = Gauges::new();
    read::map(dec, within, depth, GAUGES, |dec, kk, _| {
        if let Some(w) = gauge_of(kk) {
            g.set(w, Some(read::uint(dec, kk)?));
        }
        Ok(())
    })?;
    Ok(g)
}

/// The members of a traffic list entry.
#[derive(Default)]
struct Fields {
    unit: Option<Unit>,
    protocol: Option<u8>,
    port: Option<u16>,
    gauges: Gauges,
}

/// Which key set a traffic entry has: its list keys, and whether `current-g` exists
/// (`traffic-unit-all` groupings) or not (baselines).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum TrafficKind {
    Unit,
    Protocol,
    Port,
}

const fn traffic_keys(kind: TrafficKind, current: bool) -> &'static [u64] {
    const U: u64 = k::UNIT;
    const L: u64 = k::LOW_PERCENTILE_G;
    const M: u64 = k::MID_PERCENTILE_G;
    const H: u64 = k::HIGH_PERCENTILE_G;
    const P: u64 = k::PEAK_G;
    const C: u64 = k::CURRENT_G;
    match (kind, current) {
        (TrafficKind::Unit, true) => &[U, L, M, H, P, C],
        (TrafficKind::Unit, false) => &[U, L, M, H, P],
        (TrafficKind::Protocol, true) => &[U, k::PROTOCOL, L, M, H, P, C],
        (TrafficKind::Protocol, false) => &[U, k::PROTOCOL, L, M, H, P],
        (TrafficKind::Port, true) => &[U, k::PORT, L, M, H, P, C],
        (TrafficKind::Port, false) => &[U, k::PORT, L, M, H, P],
    }
}

fn fields(
    dec: &mut Decoder<'_>,
    within: u64,
    depth: usize,
    kind: TrafficKind,
    current: bool,
) -> Result<Fields> {
    let mut f = Fields::default();
    read::map(
        dec,
        within,
        depth,
        traffic_keys(kind, current),
        |dec, kk, _| {
            match kk {
                k::UNIT => f.unit = Some(read::enumeration(dec, kk, Unit::from_value)?),
                k::PROTOCOL => f.protocol = Some(read::uint(dec, kk)?),
                k::PORT => f.port = Some(read::uint(dec, kk)?),
                _ => {
                    if let Some(w) = gauge_of(kk) {
                        f.gauges.set(w, Some(read::uint(dec, kk)?));
                    }
                }
            }
            Ok(())
        },
    )?;
    Ok(f)
}

/// A list keyed by `unit`.
pub(super) fn unit_traffic<const N: usize>(
    dec: &mut Decoder<'_>,
    key: u64,
    depth: usize,
    current: bool,
    out: &mut heapless::Vec<UnitTraffic, N, u8>,
) -> Result<()> {
    list(dec, key, depth, out, |dec, depth| {
        let f = fields(dec, key, depth, TrafficKind::Unit, current)?;
        Ok(UnitTraffic {
            unit: need(f.unit, k::UNIT)?,
            gauges: f.gauges,
        })
    })
}

fn protocol_traffic<const N: usize>(
    dec: &mut Decoder<'_>,
    key: u64,
    depth: usize,
    current: bool,
    out: &mut heapless::Vec<ProtocolTraffic, N, u8>,
) -> Result<()> {
    list(dec, key, depth, out, |dec, depth| {
        let f = fields(dec, key, depth, TrafficKind::Protocol, current)?;
        Ok(ProtocolTraffic {
            protocol: need(f.protocol, k::PROTOCOL)?,
            unit: need(f.unit, k::UNIT)?,
            gauges: f.gauges,
        })
    })
}

fn port_traffic<const N: usize>(
    dec: &mut Decoder<'_>,
    key: u64,
    depth: usize,
    current: bool,
    out: &mut heapless::Vec<PortTraffic, N, u8>,
) -> Result<()> {
    list(dec, key, depth, out, |dec, depth| {
        let f = fields(dec, key, depth, TrafficKind::Port, current)?;
        Ok(PortTraffic {
            port: need(f.port, k::PORT)?,
            unit: need(f.unit, k::UNIT)?,
            gauges: f.gauges,
        })
    })
}

const CONNECTION_GAUGES: &[u64] = &[
    k::CONNECTION_C,
    k::EMBRYONIC_C,
    k::CONNECTION_PS_C,
    k::REQUEST_PS_C,
    k::PARTIAL_REQUEST_C,
];
const CONNECTION_PROTOCOL: &[u64] = &[
    k::CONNECTION_C,
    k::EMBRYONIC_C,
    k::CONNECTION_PS_C,
    k::REQUEST_PS_C,
    k::PARTIAL_REQUEST_C,
    k::PROTOCOL,
];
const CONNECTION_PORT: &[u64] = &[
    k::CONNECTION_C,
    k::EMBRYONIC_C,
    k::CONNECTION_PS_C,
    k::REQUEST_PS_C,
    k::PARTIAL_REQUEST_C,
    k::PROTOCOL,
    k::PORT,
];

/// A `connection-all` map (optionally with `protocol` / `port` list keys).
fn connection_fields(
    dec: &mut Decoder<'_>,
    within: u64,
    depth: usize,
    keys: &[u64],
) -> Result<(ConnectionGauges, Option<u8>, Option<u16>)> {
    let mut c = ConnectionGauges::new();
    let mut protocol = None;
    let mut port = None;
    read::map(dec, within, depth, keys, |dec, kk, depth| {
        match kk {
            k::PROTOCOL => protocol = Some(read::uint(dec, kk)?),
            k::PORT => port = Some(read::uint(dec, kk)?),
            _ => {
                let g = gauges(dec, kk, depth)?;
                if let Some(slot) = c.member_mut(kk) {
                    *slot = g;
                }
            }
        }
        Ok(())
    })?;
    Ok((c, protocol, port))
}

/// A `total-attack-connection` container.
pub(super) fn connection_gauges(
    dec: &mut Decoder<'_>,
    within: u64,
    depth: usize,
) -> Result<ConnectionGauges> {
    connection_fields(dec, within, depth, CONNECTION_GAUGES).map(|(c, _, _)| c)
}

/// A `total-attack-connection-protocol` list.
pub(super) fn protocol_connections<const N: usize>(
    dec: &mut Decoder<'_>,
    key: u64,
    depth: usize,
    out: &mut heapless::Vec<ProtocolConnection, N, u8>,
) -> Result<()> {
    list(dec, key, depth, out, |dec, depth| {
        let (gauges, protocol, _) = connection_fields(dec, key, depth, CONNECTION_PROTOCOL)?;
        Ok(ProtocolConnection {
            protocol: need(protocol, k::PROTOCOL)?,
            gauges,
        })
    })
}

fn port_connections<const N: usize>(
    dec: &mut Decoder<'_>,
    key: u64,
    depth: usize,
    out: &mut heapless::Vec<PortConnection, N, u8>,
) -> Result<()> {
    list(dec, key, depth, out, |dec, depth| {
        let (gauges, protocol, port) = connection_fields(dec, key, depth, CONNECTION_PORT)?;
        Ok(PortConnection {
            protocol: need(protocol, k::PROTOCOL)?,
            port: need(port, k::PORT)?,
            gauges,
        })
    })
}

const CAPACITY_KEYS: &[u64] = &[
    k::CONNECTION,
    k::CONNECTION_CLIENT,
    k::EMBRYONIC,
    k::EMBRYONIC_CLIENT,
    k::CONNECTION_PS,
    k::CONNECTION_CLIENT_PS,
    k::REQUEST_PS,
    k::REQUEST_CLIENT_PS,
    k::PARTIAL_REQUEST_MAX,
    k::PARTIAL_REQUEST_CLIENT_MAX,
    k::PROTOCOL,
    k::PORT,
];

fn capacity_fields(
    dec: &mut Decoder<'_>,
    within: u64,
    depth: usize,
    with_port: bool,
) -> Result<(ConnectionLimits, Option<u8>, Option<u16>)> {
    let keys = if with_port {
        CAPACITY_KEYS
    } else {
        CAPACITY_KEYS.split_at(CAPACITY_KEYS.len() - 1).0
    };
    let mut l = ConnectionLimits::new();
    let mut protocol = None;
    let mut port = None;
    read::map(dec, within, depth, keys, |dec, kk, _| {
        match kk {
            k::PROTOCOL => protocol = Some(read::uint(dec, kk)?),
            k::PORT => port = Some(read::uint(dec, kk)?),
            _ => {
                if let Some(w) = ConnectionLimit::ALL.iter().find(|w| w.key() == kk) {
                    l.set(*w, Some(read::uint(dec, kk)?));
                }
            }
        }
        Ok(())
    })?;
    Ok((l, protocol, port))
}

// ---------------------------------------------------------------------------------------------
// Encoding of the shared values

fn gauge_count(g: &Gauges, current: bool) -> u64 {
    g.iter()
        .filter(|(w, _)| current || *w != Gauge::Current)
        .count() as u64
}

/// A gauges container as a map (with `current-g`).
pub(super) fn encode_gauges<W: Write>(e: &mut Encoder<W>, g: &Gauges) -> EResult<W> {
    e.map(g.len() as u64)?;
    for (w, v) in g.iter() {
        e.u64(w.key())?.u64(v)?;
    }
    Ok(())
}

/// A traffic entry: `unit` (134), the percentiles and peak (140–143), the list key `protocol`
/// (191) or `port` (200), then `current-g` (209) where the grouping has it.
fn encode_traffic<W: Write>(
    e: &mut Encoder<W>,
    unit: Unit,
    extra: Option<(u64, u64)>,
    g: &Gauges,
    current: bool,
) -> EResult<W> {
    e.map(1 + u64::from(extra.is_some()) + gauge_count(g, current))?;
    e.u64(k::UNIT)?.u8(unit.value())?;
    for (w, v) in g.iter() {
        if w != Gauge::Current {
            e.u64(w.key())?.u64(v)?;
        }
    }
    if let Some((kk, v)) = extra {
        e.u64(kk)?.u64(v)?;
    }
    if current {
        if let Some(v) = g.current_g() {
            e.u64(k::CURRENT_G)?.u64(v)?;
        }
    }
    Ok(())
}

pub(super) fn encode_unit_traffic<W: Write>(
    e: &mut Encoder<W>,
    kk: u64,
    list: &[UnitTraffic],
    current: bool,
) -> EResult<W> {
    key(e, kk)?;
    e.array(list.len() as u64)?;
    for t in list {
        encode_traffic(e, t.unit, None, &t.gauges, current)?;
    }
    Ok(())
}

fn encode_protocol_traffic<W: Write>(
    e: &mut Encoder<W>,
    kk: u64,
    list: &[ProtocolTraffic],
    current: bool,
) -> EResult<W> {
    key(e, kk)?;
    e.array(list.len() as u64)?;
    for t in list {
        encode_traffic(
            e,
            t.unit,
            Some((k::PROTOCOL, t.protocol.into())),
            &t.gauges,
            current,
        )?;
    }
    Ok(())
}

fn encode_port_traffic<W: Write>(
    e: &mut Encoder<W>,
    kk: u64,
    list: &[PortTraffic],
    current: bool,
) -> EResult<W> {
    key(e, kk)?;
    e.array(list.len() as u64)?;
    for t in list {
        encode_traffic(
            e,
            t.unit,
            Some((k::PORT, t.port.into())),
            &t.gauges,
            current,
        )?;
    }
    Ok(())
}

fn connection_count(c: &ConnectionGauges) -> u64 {
    c.members().iter().filter(|(_, _, g)| !g.is_empty()).count() as u64
}

/// The members of a `connection-all` map (158–161, 172), without the map header.
fn encode_connection_members<W: Write>(e: &mut Encoder<W>, c: &ConnectionGauges) -> EResult<W> {
    for (kk, _, g) in c.members() {
        if !g.is_empty() {
            key(e, kk)?;
            encode_gauges(e, g)?;
        }
    }
    Ok(())
}

/// A `total-attack-connection` container.
pub(super) fn encode_connection_gauges<W: Write>(
    e: &mut Encoder<W>,
    c: &ConnectionGauges,
) -> EResult<W> {
    e.map(connection_count(c))?;
    encode_connection_members(e, c)
}

pub(super) fn encode_protocol_connections<W: Write>(
    e: &mut Encoder<W>,
    kk: u64,
    list: &[ProtocolConnection],
) -> EResult<W> {
    key(e, kk)?;
    e.array(list.len() as u64)?;
    for c in list {
        e.map(connection_count(&c.gauges) + 1)?;
        encode_connection_members(e, &c.gauges)?;
        e.u64(k::PROTOCOL)?.u8(c.protocol)?;
    }
    Ok(())
}

fn encode_port_connections<W: Write>(
    e: &mut Encoder<W>,
    kk: u64,
    list: &[PortConnection],
) -> EResult<W> {
    key(e, kk)?;
    e.array(list.len() as u64)?;
    for c in list {
        e.map(connection_count(&c.gauges) + 2)?;
        encode_connection_members(e, &c.gauges)?;
        e.u64(k::PROTOCOL)?.u8(c.protocol)?;
        e.u64(k::PORT)?.u16(c.port)?;
    }
    Ok(())
}

fn encode_capacity<W: Write>(
    e: &mut Encoder<W>,
    l: &ConnectionLimits,
    protocol: u8,
    port: Option<u16>,
) -> EResult<W> {
    e.map(l.len() as u64 + 1 + u64::from(port.is_some()))?;
    for (w, v) in l.iter() {
        e.u64(w.key())?.u64(v)?;
    }
    e.u64(k::PROTOCOL)?.u8(protocol)?;
    if let Some(p) = port {
        e.u64(k::PORT)?.u16(p)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// telemetry-setup

/// Which configuration container is decoded or encoded (their member sets differ).
#[derive(Clone, Copy, PartialEq, Eq)]
enum ConfigKind {
    Current,
    Max,
    Min,
}

const CURRENT_CONFIG_KEYS: &[u64] = &[
    k::LOW_PERCENTILE,
    k::MID_PERCENTILE,
    k::HIGH_PERCENTILE,
    k::UNIT_CONFIG,
    k::SERVER_ORIGINATED_TELEMETRY,
    k::TELEMETRY_NOTIFY_INTERVAL,
    k::MEASUREMENT_INTERVAL,
    k::MEASUREMENT_SAMPLE,
];
const MAX_CONFIG_KEYS: &[u64] = &[
    k::LOW_PERCENTILE,
    k::MID_PERCENTILE,
    k::HIGH_PERCENTILE,
    k::SERVER_ORIGINATED_TELEMETRY,
    k::TELEMETRY_NOTIFY_INTERVAL,
    k::MEASUREMENT_INTERVAL,
    k::MEASUREMENT_SAMPLE,
];
const MIN_CONFIG_KEYS: &[u64] = &[
    k::LOW_PERCENTILE,
    k::MID_PERCENTILE,
    k::HIGH_PERCENTILE,
    k::TELEMETRY_NOTIFY_INTERVAL,
    k::MEASUREMENT_INTERVAL,
    k::MEASUREMENT_SAMPLE,
];

fn unit_configs<const N: usize>(
    dec: &mut Decoder<'_>,
    key: u64,
    depth: usize,
    out: &mut heapless::Vec<UnitConfig, N, u8>,
) -> Result<()> {
    list(dec, key, depth, out, |dec, depth| {
        let mut unit = None;
        let mut status = None;
        read::map(dec, key, depth, &[k::UNIT, k::UNIT_STATUS], |dec, kk, _| {
            if kk == k::UNIT {
                unit = Some(read::enumeration(dec, kk, UnitClass::from_value)?);
            } else {
                status = Some(read::boolean(dec, kk)?);
            }
            Ok(())
        })?;
        Ok(UnitConfig {
            unit: need(unit, k::UNIT)?,
            unit_status: need(status, k::UNIT_STATUS)?,
        })
    })
}

fn config(
    dec: &mut Decoder<'_>,
    within: u64,
    depth: usize,
    kind: ConfigKind,
) -> Result<TelemetryConfig> {
    let keys = match kind {
        ConfigKind::Current => CURRENT_CONFIG_KEYS,
        ConfigKind::Max => MAX_CONFIG_KEYS,
        ConfigKind::Min => MIN_CONFIG_KEYS,
    };
    let mut c = TelemetryConfig::default();
    read::map(dec, within, depth, keys, |dec, kk, depth| {
        match kk {
            k::LOW_PERCENTILE => c.low_percentile = Some(read::decimal(dec, kk, depth)?),
            k::MID_PERCENTILE => c.mid_percentile = Some(read::decimal(dec, kk, depth)?),
            k::HIGH_PERCENTILE => c.high_percentile = Some(read::decimal(dec, kk, depth)?),
            k::UNIT_CONFIG => unit_configs(dec, kk, depth, &mut c.unit_config)?,
            k::SERVER_ORIGINATED_TELEMETRY => {
                c.server_originated_telemetry = Some(read::boolean(dec, kk)?)
            }
            k::TELEMETRY_NOTIFY_INTERVAL => {
                c.telemetry_notify_interval = Some(read::uint(dec, kk)?)
            }
            k::MEASUREMENT_INTERVAL => {
                c.measurement_interval = Some(read::enumeration(
                    dec,
                    kk,
                    crate::model::telemetry::Interval::from_value,
                )?)
            }
            _ => {
                c.measurement_sample = Some(read::enumeration(
                    dec,
                    kk,
                    crate::model::telemetry::Sample::from_value,
                )?)
            }
        }
        Ok(())
    })?;
    Ok(c)
}

fn pipes<const N: usize>(
    dec: &mut Decoder<'_>,
    key: u64,
    depth: usize,
    out: &mut heapless::Vec<PipeCapacity, N, u8>,
) -> Result<()> {
    list(dec, key, depth, out, |dec, depth| {
        let mut link_id = None;
        let mut capacity = None;
        let mut unit = None;
        read::map(
            dec,
            key,
            depth,
            &[k::UNIT, k::LINK_ID, k::CAPACITY],
            |dec, kk, _| {
                match kk {
                    k::UNIT => unit = Some(read::enumeration(dec, kk, Unit::from_value)?),
                    k::LINK_ID => link_id = Some(text_into::<MAX_LINK_ID_LEN>(dec, kk)?),
                    _ => capacity = Some(read::uint(dec, kk)?),
                }
                Ok(())
            },
        )?;
        Ok(PipeCapacity {
            link_id: need::<LinkId>(link_id, k::LINK_ID)?,
            capacity: need(capacity, k::CAPACITY)?,
            unit: need(unit, k::UNIT)?,
        })
    })
}

const BASELINE_KEYS: &[u64] = &[
    k::TARGET_PREFIX,
    k::TARGET_PORT_RANGE,
    k::TARGET_PROTOCOL,
    k::TARGET_FQDN,
    k::TARGET_URI,
    k::ALIAS_NAME,
    k::TOTAL_TRAFFIC_NORMAL,
    k::TOTAL_CONNECTION_CAPACITY,
    k::ID,
    k::TOTAL_TRAFFIC_NORMAL_PER_PROTOCOL,
    k::TOTAL_TRAFFIC_NORMAL_PER_PORT,
    k::TOTAL_CONNECTION_CAPACITY_PER_PORT,
];

fn baseline(dec: &mut Decoder<'_>, depth: usize, b: &mut Baseline) -> Result<()> {
    let mut id = None;
    read::map(dec, k::BASELINE, depth, BASELINE_KEYS, |dec, kk, depth| {
        if target_member(dec, kk, depth, &mut b.targets)? {
            return Ok(());
        }
        match kk {
            k::ID => id = Some(read::uint(dec, kk)?),
            k::TOTAL_TRAFFIC_NORMAL => {
                unit_traffic(dec, kk, depth, false, &mut b.total_traffic_normal)?
            }
            k::TOTAL_TRAFFIC_NORMAL_PER_PROTOCOL => protocol_traffic(
                dec,
                kk,
                depth,
                false,
                &mut b.total_traffic_normal_per_protocol,
            )?,
            k::TOTAL_TRAFFIC_NORMAL_PER_PORT => {
                port_traffic(dec, kk, depth, false, &mut b.total_traffic_normal_per_port)?
            }
            k::TOTAL_CONNECTION_CAPACITY => list(
                dec,
                kk,
                depth,
                &mut b.total_connection_capacity,
                |dec, depth| {
                    let (limits, protocol, _) = capacity_fields(dec, kk, depth, false)?;
                    Ok(ConnectionCapacity {
                        protocol: need(protocol, k::PROTOCOL)?,
                        limits,
                    })
                },
            )?,
            _ => list(
                dec,
                kk,
                depth,
                &mut b.total_connection_capacity_per_port,
                |dec, depth| {
                    let (limits, protocol, port) = capacity_fields(dec, kk, depth, true)?;
                    Ok(PortConnectionCapacity {
                        protocol: need(protocol, k::PROTOCOL)?,
                        port: need(port, k::PORT)?,
                        limits,
                    })
                },
            )?,
        }
        Ok(())
    })?;
    b.id = need(id, k::ID)?;
    Ok(())
}

const SETUP_ENTRY_KEYS: &[u64] = &[
    k::CDID,
    k::CUID,
    k::TSID,
    k::TOTAL_PIPE_CAPACITY,
    k::BASELINE,
    k::CURRENT_CONFIG,
];

fn setup_key(d: &SetupData) -> u64 {
    match d {
        SetupData::CurrentConfig(_) => k::CURRENT_CONFIG,
        SetupData::TotalPipeCapacity(_) => k::TOTAL_PIPE_CAPACITY,
        SetupData::Baseline(_) => k::BASELINE,
    }
}

fn setup_entry(dec: &mut Decoder<'_>, depth: usize, en: &mut TelemetrySetupEntry) -> Result<()> {
    read::map(
        dec,
        k::TELEMETRY,
        depth,
        SETUP_ENTRY_KEYS,
        |dec, kk, depth| {
            if let Some(other) = &en.setup {
                if kk != k::TSID && kk != k::CDID && kk != k::CUID {
                    return Err(DecodeError::MixedChoice {
                        key: kk,
                        other: setup_key(other),
                    });
                }
            }
            match kk {
                k::CDID | k::CUID => return Err(DecodeError::NotAllowed { key: kk }),
                k::TSID => en.tsid = Some(read::uint(dec, kk)?),
                k::CURRENT_CONFIG => {
                    en.setup = Some(SetupData::CurrentConfig(config(
                        dec,
                        kk,
                        depth,
                        ConfigKind::Current,
                    )?))
                }
                k::TOTAL_PIPE_CAPACITY => {
                    en.setup = Some(SetupData::TotalPipeCapacity(heapless::Vec::new()));
                    if let Some(SetupData::TotalPipeCapacity(p)) = &mut en.setup {
                        pipes(dec, kk, depth, p)?;
                    }
                }
                _ => {
                    en.setup = Some(SetupData::Baseline(heapless::Vec::new()));
                    if let Some(SetupData::Baseline(b)) = &mut en.setup {
                        list_in_place(dec, kk, depth, b, baseline)?;
                    }
                }
            }
            Ok(())
        },
    )
}

pub(super) fn telemetry_setup_body(
    dec: &mut Decoder<'_>,
    depth: usize,
    s: &mut TelemetrySetup,
) -> Result<()> {
    read::map(
        dec,
        k::TELEMETRY_SETUP,
        depth,
        &[
            k::TELEMETRY,
            k::MAX_CONFIG_VALUES,
            k::MIN_CONFIG_VALUES,
            k::SUPPORTED_UNIT_CLASSES,
            k::SUPPORTED_QUERY_TYPE,
        ],
        |dec, kk, depth| {
            match kk {
                k::TELEMETRY => list_in_place(dec, kk, depth, &mut s.telemetry, setup_entry)?,
                k::MAX_CONFIG_VALUES => {
                    s.max_config_values = Some(config(dec, kk, depth, ConfigKind::Max)?)
                }
                k::MIN_CONFIG_VALUES => {
                    s.min_config_values = Some(config(dec, kk, depth, ConfigKind::Min)?)
                }
                k::SUPPORTED_UNIT_CLASSES => {
                    read::map(dec, kk, depth, &[k::UNIT_CONFIG], |dec, kk, depth| {
                        unit_configs(dec, kk, depth, &mut s.supported_unit_classes)
                    })?
                }
                _ => list(dec, kk, depth, &mut s.supported_query_type, |dec, _| {
                    read::enumeration(dec, kk, QueryType::from_value)
                })?,
            }
            Ok(())
        },
    )
}

pub(super) fn decode_telemetry_setup(dec: &mut Decoder<'_>, s: &mut TelemetrySetup) -> Result<()> {
    top_level(dec, k::TELEMETRY_SETUP, |dec, depth| {
        telemetry_setup_body(dec, depth, s)
    })
}

fn encode_unit_configs<W: Write>(e: &mut Encoder<W>, list: &[UnitConfig]) -> EResult<W> {
    key(e, k::UNIT_CONFIG)?;
    e.array(list.len() as u64)?;
    for u in list {
        e.map(2)?;
        e.u64(k::UNIT)?.u8(u.unit.value())?;
        e.u64(k::UNIT_STATUS)?.bool(u.unit_status)?;
    }
    Ok(())
}

/// A configuration container with the members of `kind` only, in key order 130–133, 179, 180,
/// 182, 183.
fn encode_config<W: Write>(
    e: &mut Encoder<W>,
    kk: u64,
    c: &TelemetryConfig,
    kind: ConfigKind,
) -> EResult<W> {
    let units = kind == ConfigKind::Current && !c.unit_config.is_empty();
    let sot = c
        .server_originated_telemetry
        .filter(|_| kind != ConfigKind::Min);
    key(e, kk)?;
    e.map(count(&[
        c.low_percentile.is_some(),
        c.mid_percentile.is_some(),
        c.high_percentile.is_some(),
        units,
        sot.is_some(),
        c.telemetry_notify_interval.is_some(),
        c.measurement_interval.is_some(),
        c.measurement_sample.is_some(),
    ]))?;
    for (kk, v) in [
        (k::LOW_PERCENTILE, c.low_percentile),
        (k::MID_PERCENTILE, c.mid_percentile),
        (k::HIGH_PERCENTILE, c.high_percentile),
    ] {
        if let Some(v) = v {
            key(e, kk)?;
            decimal(e, v)?;
        }
    }
    if units {
        encode_unit_configs(e, &c.unit_config)?;
    }
    if let Some(v) = sot {
        e.u64(k::SERVER_ORIGINATED_TELEMETRY)?.bool(v)?;
    }
    if let Some(v) = c.telemetry_notify_interval {
        e.u64(k::TELEMETRY_NOTIFY_INTERVAL)?.u16(v)?;
    }
    if let Some(v) = c.measurement_interval {
        e.u64(k::MEASUREMENT_INTERVAL)?.u8(v.value())?;
    }
    if let Some(v) = c.measurement_sample {
        e.u64(k::MEASUREMENT_SAMPLE)?.u8(v.value())?;
    }
    Ok(())
}

fn encode_baseline<W: Write>(e: &mut Encoder<W>, b: &Baseline) -> EResult<W> {
    e.map(
        target_count(&b.targets)
            + 1
            + count(&[
                !b.total_traffic_normal.is_empty(),
                !b.total_connection_capacity.is_empty(),
                !b.total_traffic_normal_per_protocol.is_empty(),
                !b.total_traffic_normal_per_port.is_empty(),
                !b.total_connection_capacity_per_port.is_empty(),
            ]),
    )?;
    // 6–13, 139, 146, 163, 192, 193, 194.
    target_members(e, &b.targets)?;
    if !b.total_traffic_normal.is_empty() {
        encode_unit_traffic(e, k::TOTAL_TRAFFIC_NORMAL, &b.total_traffic_normal, false)?;
    }
    if !b.total_connection_capacity.is_empty() {
        key(e, k::TOTAL_CONNECTION_CAPACITY)?;
        e.array(b.total_connection_capacity.len() as u64)?;
        for c in &b.total_connection_capacity {
            encode_capacity(e, &c.limits, c.protocol, None)?;
        }
    }
    e.u64(k::ID)?.u32(b.id)?;
    if !b.total_traffic_normal_per_protocol.is_empty() {
        encode_protocol_traffic(
            e,
            k::TOTAL_TRAFFIC_NORMAL_PER_PROTOCOL,
            &b.total_traffic_normal_per_protocol,
            false,
        )?;
    }
    if !b.total_traffic_normal_per_port.is_empty() {
        encode_port_traffic(
            e,
            k::TOTAL_TRAFFIC_NORMAL_PER_PORT,
            &b.total_traffic_normal_per_port,
            false,
        )?;
    }
    if !b.total_connection_capacity_per_port.is_empty() {
        key(e, k::TOTAL_CONNECTION_CAPACITY_PER_PORT)?;
        e.array(b.total_connection_capacity_per_port.len() as u64)?;
        for c in &b.total_connection_capacity_per_port {
            encode_capacity(e, &c.limits, c.protocol, Some(c.port))?;
        }
    }
    Ok(())
}

fn encode_setup_entry<W: Write>(e: &mut Encoder<W>, en: &TelemetrySetupEntry) -> EResult<W> {
    e.map(count(&[en.tsid.is_some(), en.setup.is_some()]))?;
    if let Some(v) = en.tsid {
        e.u64(k::TSID)?.u32(v)?;
    }
    match &en.setup {
        None => {}
        Some(SetupData::CurrentConfig(c)) => {
            encode_config(e, k::CURRENT_CONFIG, c, ConfigKind::Current)?
        }
        Some(SetupData::TotalPipeCapacity(p)) => {
            key(e, k::TOTAL_PIPE_CAPACITY)?;
            e.array(p.len() as u64)?;
            for l in p {
                e.map(3)?;
                e.u64(k::UNIT)?.u8(l.unit.value())?;
                e.u64(k::LINK_ID)?.str(&l.link_id)?;
                e.u64(k::CAPACITY)?.u64(l.capacity)?;
            }
        }
        Some(SetupData::Baseline(b)) => {
            key(e, k::BASELINE)?;
            e.array(b.len() as u64)?;
            for b in b {
                encode_baseline(e, b)?;
            }
        }
    }
    Ok(())
}

pub(super) fn encode_telemetry_setup<W: Write>(
    e: &mut Encoder<W>,
    s: &TelemetrySetup,
) -> EResult<W> {
    e.map(1)?.u64(k::TELEMETRY_SETUP)?;
    e.map(count(&[
        !s.telemetry.is_empty(),
        s.max_config_values.is_some(),
        s.min_config_values.is_some(),
        !s.supported_unit_classes.is_empty(),
        !s.supported_query_type.is_empty(),
    ]))?;
    // 129, 176, 177, 178, 201.
    if !s.telemetry.is_empty() {
        key(e, k::TELEMETRY)?;
        e.array(s.telemetry.len() as u64)?;
        for en in &s.telemetry {
            encode_setup_entry(e, en)?;
        }
    }
    if let Some(c) = &s.max_config_values {
        encode_config(e, k::MAX_CONFIG_VALUES, c, ConfigKind::Max)?;
    }
    if let Some(c) = &s.min_config_values {
        encode_config(e, k::MIN_CONFIG_VALUES, c, ConfigKind::Min)?;
    }
    if !s.supported_unit_classes.is_empty() {
        key(e, k::SUPPORTED_UNIT_CLASSES)?;
        e.map(1)?;
        encode_unit_configs(e, &s.supported_unit_classes)?;
    }
    if !s.supported_query_type.is_empty() {
        key(e, k::SUPPORTED_QUERY_TYPE)?;
        e.array(s.supported_query_type.len() as u64)?;
        for q in &s.supported_query_type {
            e.u8(q.value())?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// telemetry (pre-or-ongoing-mitigation)

fn target(dec: &mut Decoder<'_>, depth: usize, t: &mut TelemetryTarget) -> Result<()> {
    read::map(
        dec,
        k::TARGET,
        depth,
        &[
            k::TARGET_PREFIX,
            k::TARGET_PORT_RANGE,
            k::TARGET_PROTOCOL,
            k::TARGET_FQDN,
            k::TARGET_URI,
            k::ALIAS_NAME,
            k::MID_LIST,
        ],
        |dec, kk, depth| {
            if !target_member(dec, kk, depth, &mut t.targets)? {
                list(dec, kk, depth, &mut t.mid_list, |dec, _| {
                    read::uint(dec, kk)
                })?;
            }
            Ok(())
        },
    )
}

const ENTRY_KEYS: &[u64] = &[
    k::CDID,
    k::CUID,
    k::TOTAL_ATTACK_TRAFFIC,
    k::TOTAL_TRAFFIC,
    k::ATTACK_DETAIL,
    k::TOTAL_ATTACK_CONNECTION_PROTOCOL,
    k::TMID,
    k::TARGET,
    k::TOTAL_TRAFFIC_PROTOCOL,
    k::TOTAL_TRAFFIC_PORT,
    k::TOTAL_ATTACK_TRAFFIC_PROTOCOL,
    k::TOTAL_ATTACK_TRAFFIC_PORT,
    k::TOTAL_ATTACK_CONNECTION_PORT,
];

fn pre_or_ongoing(
    dec: &mut Decoder<'_>,
    depth: usize,
    m: &mut PreOrOngoingMitigation,
) -> Result<()> {
    read::map(
        dec,
        k::PRE_OR_ONGOING_MITIGATION,
        depth,
        ENTRY_KEYS,
        |dec, kk, depth| {
            match kk {
                k::CDID | k::CUID => return Err(DecodeError::NotAllowed { key: kk }),
                k::TMID => m.tmid = Some(read::uint(dec, kk)?),
                k::TARGET => target(dec, depth, &mut m.target)?,
                k::TOTAL_TRAFFIC => unit_traffic(dec, kk, depth, true, &mut m.total_traffic)?,
                k::TOTAL_TRAFFIC_PROTOCOL => {
                    protocol_traffic(dec, kk, depth, true, &mut m.total_traffic_protocol)?
                }
                k::TOTAL_TRAFFIC_PORT => {
                    port_traffic(dec, kk, depth, true, &mut m.total_traffic_port)?
                }
                k::TOTAL_ATTACK_TRAFFIC => {
                    unit_traffic(dec, kk, depth, true, &mut m.total_attack_traffic)?
                }
                k::TOTAL_ATTACK_TRAFFIC_PROTOCOL => {
                    protocol_traffic(dec, kk, depth, true, &mut m.total_attack_traffic_protocol)?
                }
                k::TOTAL_ATTACK_TRAFFIC_PORT => {
                    port_traffic(dec, kk, depth, true, &mut m.total_attack_traffic_port)?
                }
                k::TOTAL_ATTACK_CONNECTION_PROTOCOL => {
                    protocol_connections(dec, kk, depth, &mut m.total_attack_connection_protocol)?
                }
                k::TOTAL_ATTACK_CONNECTION_PORT => {
                    port_connections(dec, kk, depth, &mut m.total_attack_connection_port)?
                }
                _ => attack_details(dec, kk, depth, &mut m.attack_detail)?,
            }
            Ok(())
        },
    )
}

pub(super) fn telemetry_body(dec: &mut Decoder<'_>, depth: usize, t: &mut Telemetry) -> Result<()> {
    read::map(
        dec,
        k::TELEMETRY_MESSAGE,
        depth,
        &[k::PRE_OR_ONGOING_MITIGATION],
        |dec, kk, depth| {
            list_in_place(
                dec,
                kk,
                depth,
                &mut t.pre_or_ongoing_mitigation,
                pre_or_ongoing,
            )
        },
    )
}

pub(super) fn decode_telemetry(dec: &mut Decoder<'_>, t: &mut Telemetry) -> Result<()> {
    top_level(dec, k::TELEMETRY_MESSAGE, |dec, depth| {
        telemetry_body(dec, depth, t)
    })
}

fn encode_target<W: Write>(e: &mut Encoder<W>, t: &TelemetryTarget) -> EResult<W> {
    key(e, k::TARGET)?;
    e.map(target_count(&t.targets) + u64::from(!t.mid_list.is_empty()))?;
    target_members(e, &t.targets)?;
    if !t.mid_list.is_empty() {
        key(e, k::MID_LIST)?;
        e.array(t.mid_list.len() as u64)?;
        for m in &t.mid_list {
            e.u32(*m)?;
        }
    }
    Ok(())
}

fn encode_pre_or_ongoing<W: Write>(e: &mut Encoder<W>, m: &PreOrOngoingMitigation) -> EResult<W> {
    e.map(count(&[
        !m.total_attack_traffic.is_empty(),
        !m.total_traffic.is_empty(),
        !m.attack_detail.is_empty(),
        !m.total_attack_connection_protocol.is_empty(),
        m.tmid.is_some(),
        !m.target.is_empty(),
        !m.total_traffic_protocol.is_empty(),
        !m.total_traffic_port.is_empty(),
        !m.total_attack_traffic_protocol.is_empty(),
        !m.total_attack_traffic_port.is_empty(),
        !m.total_attack_connection_port.is_empty(),
    ]))?;
    // 144, 145, 162, 173, 181, 189, 195–199.
    if !m.total_attack_traffic.is_empty() {
        encode_unit_traffic(e, k::TOTAL_ATTACK_TRAFFIC, &m.total_attack_traffic, true)?;
    }
    if !m.total_traffic.is_empty() {
        encode_unit_traffic(e, k::TOTAL_TRAFFIC, &m.total_traffic, true)?;
    }
    if !m.attack_detail.is_empty() {
        encode_attack_details(e, k::ATTACK_DETAIL, &m.attack_detail)?;
    }
    if !m.total_attack_connection_protocol.is_empty() {
        encode_protocol_connections(
            e,
            k::TOTAL_ATTACK_CONNECTION_PROTOCOL,
            &m.total_attack_connection_protocol,
        )?;
    }
    if let Some(v) = m.tmid {
        e.u64(k::TMID)?.u32(v)?;
    }
    if !m.target.is_empty() {
        encode_target(e, &m.target)?;
    }
    if !m.total_traffic_protocol.is_empty() {
        encode_protocol_traffic(
            e,
            k::TOTAL_TRAFFIC_PROTOCOL,
            &m.total_traffic_protocol,
            true,
        )?;
    }
    if !m.total_traffic_port.is_empty() {
        encode_port_traffic(e, k::TOTAL_TRAFFIC_PORT, &m.total_traffic_port, true)?;
    }
    if !m.total_attack_traffic_protocol.is_empty() {
        encode_protocol_traffic(
            e,
            k::TOTAL_ATTACK_TRAFFIC_PROTOCOL,
            &m.total_attack_traffic_protocol,
            true,
        )?;
    }
    if !m.total_attack_traffic_port.is_empty() {
        encode_port_traffic(
            e,
            k::TOTAL_ATTACK_TRAFFIC_PORT,
            &m.total_attack_traffic_port,
            true,
        )?;
    }
    if !m.total_attack_connection_port.is_empty() {
        encode_port_connections(
            e,
            k::TOTAL_ATTACK_CONNECTION_PORT,
            &m.total_attack_connection_port,
        )?;
    }
    Ok(())
}

pub(super) fn encode_telemetry<W: Write>(e: &mut Encoder<W>, t: &Telemetry) -> EResult<W> {
    e.map(1)?.u64(k::TELEMETRY_MESSAGE)?;
    e.map(u64::from(!t.pre_or_ongoing_mitigation.is_empty()))?;
    if !t.pre_or_ongoing_mitigation.is_empty() {
        key(e, k::PRE_OR_ONGOING_MITIGATION)?;
        e.array(t.pre_or_ongoing_mitigation.len() as u64)?;
        for m in &t.pre_or_ongoing_mitigation {
            encode_pre_or_ongoing(e, m)?;
        }
    }
    Ok(())
}
