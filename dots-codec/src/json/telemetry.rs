//! RFC 7951 JSON of the RFC 9244 telemetry bodies: serde shapes (YANG names; uint64 and
//! gauge64 as strings, decimal64 as strings, enumerations by name) and their conversion to and
//! from [`crate::model::telemetry`].
//!
//! A few shapes serve several YANG groupings (traffic entries with or without `protocol`,
//! `port` and `current-g`; talkers with either connection shape); the conversion rejects a
//! member the grouping at hand does not have exactly as `deny_unknown_fields` would.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

use super::convert::{enum_by_name, full, nets, port_dtos, ports, strings, targets, Result};
use super::dto::{self, DecStr, U64Str};
use super::JsonError;
use crate::cbor::DecodeError;
use crate::keys as k;
use crate::model::telemetry::{
    self as tm, AttackSeverity, ConnectionGauges, ConnectionLimit, ConnectionLimits, Gauge, Gauges,
    Interval, QueryType, Sample, SetupData, TalkerConnections, Unit, UnitClass, MAX_LANG_TAG_LEN,
};
use crate::model::{CapacityError, IcmpTypeRange, ScopeTelemetry, Targets, MAX_TEXT_LEN};

// ---------------------------------------------------------------------------------------------
// Shapes

/// Gauges of a container (`source-count`, `connection-c` ...).
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct GaugesDto {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    low_percentile_g: Option<U64Str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mid_percentile_g: Option<U64Str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    high_percentile_g: Option<U64Str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    peak_g: Option<U64Str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    current_g: Option<U64Str>,
}

/// A traffic list entry of any traffic grouping.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct Traffic {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    protocol: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    unit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    low_percentile_g: Option<U64Str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mid_percentile_g: Option<U64Str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    high_percentile_g: Option<U64Str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    peak_g: Option<U64Str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    current_g: Option<U64Str>,
}

/// A `connection-all` container, optionally with its list keys.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct Connection {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    protocol: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    connection_c: Option<GaugesDto>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    embryonic_c: Option<GaugesDto>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    connection_ps_c: Option<GaugesDto>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    request_ps_c: Option<GaugesDto>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    partial_request_c: Option<GaugesDto>,
}

/// A baseline connection capacity entry.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct Capacity {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    protocol: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    connection: Option<U64Str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    connection_client: Option<U64Str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    embryonic: Option<U64Str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    embryonic_client: Option<U64Str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    connection_ps: Option<U64Str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    connection_client_ps: Option<U64Str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    request_ps: Option<U64Str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    request_client_ps: Option<U64Str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    partial_request_max: Option<U64Str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    partial_request_client_max: Option<U64Str>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct UnitConfig {
    unit: String,
    unit_status: bool,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct Config {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    measurement_interval: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    measurement_sample: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    low_percentile: Option<DecStr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mid_percentile: Option<DecStr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    high_percentile: Option<DecStr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    unit_config: Option<Vec<UnitConfig>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    server_originated_telemetry: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    telemetry_notify_interval: Option<u16>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct Pipe {
    link_id: String,
    capacity: U64Str,
    unit: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct Baseline {
    id: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    target_prefix: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    target_port_range: Option<Vec<dto::PortRange>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    target_protocol: Option<Vec<u8>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    target_fqdn: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    target_uri: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    alias_name: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    total_traffic_normal: Option<Vec<Traffic>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    total_traffic_normal_per_protocol: Option<Vec<Traffic>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    total_traffic_normal_per_port: Option<Vec<Traffic>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    total_connection_capacity: Option<Vec<Capacity>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    total_connection_capacity_per_port: Option<Vec<Capacity>>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct SetupEntry {
    // Never valid in a body; parsed so the error names them (RFC 9244 Section 7.1.2).
    #[serde(default, skip_serializing)]
    cdid: Option<IgnoredAny>,
    #[serde(default, skip_serializing)]
    cuid: Option<IgnoredAny>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tsid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    current_config: Option<Config>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    total_pipe_capacity: Option<Vec<Pipe>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    baseline: Option<Vec<Baseline>>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct SupportedUnitClasses {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    unit_config: Option<Vec<UnitConfig>>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct TelemetrySetup {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_config_values: Option<Config>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    min_config_values: Option<Config>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    supported_unit_classes: Option<SupportedUnitClasses>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    supported_query_type: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    telemetry: Option<Vec<SetupEntry>>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct Target {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    target_prefix: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    target_port_range: Option<Vec<dto::PortRange>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    target_protocol: Option<Vec<u8>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    target_fqdn: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    target_uri: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    alias_name: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mid_list: Option<Vec<u32>>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct Talker {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    spoofed_status: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source_prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source_port_range: Option<Vec<dto::PortRange>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source_icmp_type_range: Option<Vec<dto::IcmpTypeRange>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    total_attack_traffic: Option<Vec<Traffic>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    total_attack_connection: Option<Connection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    total_attack_connection_protocol: Option<Vec<Connection>>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct TopTalker {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    talker: Option<Vec<Talker>>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct AttackDetail {
    vendor_id: u32,
    attack_id: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description_lang: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    attack_description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    attack_severity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    start_time: Option<U64Str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    end_time: Option<U64Str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source_count: Option<GaugesDto>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    top_talker: Option<TopTalker>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct PreOrOngoing {
    // Never valid in a body; parsed so the error names them (RFC 9244 Section 8.2).
    #[serde(default, skip_serializing)]
    cdid: Option<IgnoredAny>,
    #[serde(default, skip_serializing)]
    cuid: Option<IgnoredAny>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tmid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    target: Option<Target>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    total_traffic: Option<Vec<Traffic>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    total_traffic_protocol: Option<Vec<Traffic>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    total_traffic_port: Option<Vec<Traffic>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    total_attack_traffic: Option<Vec<Traffic>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    total_attack_traffic_protocol: Option<Vec<Traffic>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    total_attack_traffic_port: Option<Vec<Traffic>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    total_attack_connection_protocol: Option<Vec<Connection>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    total_attack_connection_port: Option<Vec<Connection>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    attack_detail: Option<Vec<AttackDetail>>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct Telemetry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pre_or_ongoing_mitigation: Option<Vec<PreOrOngoing>>,
}

// ---------------------------------------------------------------------------------------------
// JSON -> model

/// What serde's `deny_unknown_fields` says about `name`: a member the grouping at hand lacks.
fn unknown(name: &str) -> JsonError {
    JsonError::Syntax(format!("unknown field `{name}`"))
}

fn need<T>(v: Option<T>, key: u64) -> Result<T> {
    v.ok_or(JsonError::Value(DecodeError::MissingMember { key }))
}

fn push<T, const N: usize>(out: &mut heapless::Vec<T, N, u8>, key: u64, v: T) -> Result<()> {
    out.push(v).map_err(|_| full(key, N))
}

fn text<const N: usize>(key: u64, s: &str) -> Result<heapless::String<N, u8>> {
    heapless::String::try_from(s).map_err(|_| {
        JsonError::Value(DecodeError::Capacity {
            key,
            error: CapacityError::TextTooLong { limit: N },
        })
    })
}

fn gauges(d: GaugesDto) -> Gauges {
    let mut g = Gauges::new();
    for (w, v) in [
        (Gauge::LowPercentile, d.low_percentile_g),
        (Gauge::MidPercentile, d.mid_percentile_g),
        (Gauge::HighPercentile, d.high_percentile_g),
        (Gauge::Peak, d.peak_g),
        (Gauge::Current, d.current_g),
    ] {
        g.set(w, v.map(|v| v.0));
    }
    g
}

/// Which list keys and whether `current-g` a traffic grouping has.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Unit,
    Protocol,
    Port,
}

/// A traffic entry: its unit, its list key (protocol or port), its gauges.
fn traffic(t: Traffic, kind: Kind, current: bool) -> Result<(Unit, u16, Gauges)> {
    if kind != Kind::Protocol && t.protocol.is_some() {
        return Err(unknown("protocol"));
    }
    if kind != Kind::Port && t.port.is_some() {
        return Err(unknown("port"));
    }
    if !current && t.current_g.is_some() {
        return Err(unknown("current-g"));
    }
    let unit = enum_by_name(k::UNIT, &need(t.unit, k::UNIT)?, Unit::from_name)?;
    let key = match kind {
        Kind::Unit => 0,
        Kind::Protocol => need(t.protocol, k::PROTOCOL)?.into(),
        Kind::Port => need(t.port, k::PORT)?,
    };
    let g = gauges(GaugesDto {
        low_percentile_g: t.low_percentile_g,
        mid_percentile_g: t.mid_percentile_g,
        high_percentile_g: t.high_percentile_g,
        peak_g: t.peak_g,
        current_g: t.current_g,
    });
    Ok((unit, key, g))
}

fn unit_list<const N: usize>(
    key: u64,
    src: Option<Vec<Traffic>>,
    current: bool,
    out: &mut heapless::Vec<tm::UnitTraffic, N, u8>,
) -> Result<()> {
    for t in src.unwrap_or_default() {
        let (unit, _, gauges) = traffic(t, Kind::Unit, current)?;
        push(out, key, tm::UnitTraffic { unit, gauges })?;
    }
    Ok(())
}

fn protocol_list<const N: usize>(
    key: u64,
    src: Option<Vec<Traffic>>,
    current: bool,
    out: &mut heapless::Vec<tm::ProtocolTraffic, N, u8>,
) -> Result<()> {
    for t in src.unwrap_or_default() {
        let (unit, protocol, gauges) = traffic(t, Kind::Protocol, current)?;
        // `traffic` read a u8 for this kind.
        let protocol = u8::try_from(protocol).unwrap_or(u8::MAX);
        push(
            out,
            key,
            tm::ProtocolTraffic {
                protocol,
                unit,
                gauges,
            },
        )?;
    }
    Ok(())
}

fn port_list<const N: usize>(
    key: u64,
    src: Option<Vec<Traffic>>,
    current: bool,
    out: &mut heapless::Vec<tm::PortTraffic, N, u8>,
) -> Result<()> {
    for t in src.unwrap_or_default() {
        let (unit, port, gauges) = traffic(t, Kind::Port, current)?;
        push(out, key, tm::PortTraffic { port, unit, gauges })?;
    }
    Ok(())
}

fn connection(c: Connection, kind: Kind) -> Result<(ConnectionGauges, Option<u8>, Option<u16>)> {
    if kind == Kind::Unit && c.protocol.is_some() {
        return Err(unknown("protocol"));
    }
    if kind != Kind::Port && c.port.is_some() {
        return Err(unknown("port"));
    }
    let g = |d: Option<GaugesDto>| d.map(gauges).unwrap_or_default();
    Ok((
        ConnectionGauges {
            connection_c: g(c.connection_c),
            embryonic_c: g(c.embryonic_c),
            connection_ps_c: g(c.connection_ps_c),
            request_ps_c: g(c.request_ps_c),
            partial_request_c: g(c.partial_request_c),
        },
        c.protocol,
        c.port,
    ))
}

fn protocol_connections<const N: usize>(
    key: u64,
    src: Option<Vec<Connection>>,
    out: &mut heapless::Vec<tm::ProtocolConnection, N, u8>,
) -> Result<()> {
    for c in src.unwrap_or_default() {
        let (gauges, protocol, _) = connection(c, Kind::Protocol)?;
        let protocol = need(protocol, k::PROTOCOL)?;
        push(out, key, tm::ProtocolConnection { protocol, gauges })?;
    }
    Ok(())
}

fn capacity(c: Capacity, with_port: bool) -> Result<(ConnectionLimits, u8, Option<u16>)> {
    if !with_port && c.port.is_some() {
        return Err(unknown("port"));
    }
    let mut l = ConnectionLimits::new();
    for (w, v) in [
        (ConnectionLimit::Connection, c.connection),
        (ConnectionLimit::ConnectionClient, c.connection_client),
        (ConnectionLimit::Embryonic, c.embryonic),
        (ConnectionLimit::EmbryonicClient, c.embryonic_client),
        (ConnectionLimit::ConnectionPs, c.connection_ps),
        (ConnectionLimit::ConnectionClientPs, c.connection_client_ps),
        (ConnectionLimit::RequestPs, c.request_ps),
        (ConnectionLimit::RequestClientPs, c.request_client_ps),
        (ConnectionLimit::PartialRequestMax, c.partial_request_max),
        (
            ConnectionLimit::PartialRequestClientMax,
            c.partial_request_client_max,
        ),
    ] {
        l.set(w, v.map(|v| v.0));
    }
    Ok((l, need(c.protocol, k::PROTOCOL)?, c.port))
}

fn unit_configs<const N: usize>(
    key: u64,
    src: Option<Vec<UnitConfig>>,
    out: &mut heapless::Vec<tm::UnitConfig, N, u8>,
) -> Result<()> {
    for u in src.unwrap_or_default() {
        let unit = enum_by_name(k::UNIT, &u.unit, UnitClass::from_name)?;
        push(
            out,
            key,
            tm::UnitConfig {
                unit,
                unit_status: u.unit_status,
            },
        )?;
    }
    Ok(())
}

/// Which configuration container (their member sets differ).
#[derive(Clone, Copy, PartialEq, Eq)]
enum ConfigKind {
    Current,
    Max,
    Min,
}

fn config(c: Config, kind: ConfigKind) -> Result<tm::TelemetryConfig> {
    if kind != ConfigKind::Current && c.unit_config.is_some() {
        return Err(unknown("unit-config"));
    }
    if kind == ConfigKind::Min && c.server_originated_telemetry.is_some() {
        return Err(unknown("server-originated-telemetry"));
    }
    let mut out = tm::TelemetryConfig {
        low_percentile: c.low_percentile.map(|d| d.0),
        mid_percentile: c.mid_percentile.map(|d| d.0),
        high_percentile: c.high_percentile.map(|d| d.0),
        server_originated_telemetry: c.server_originated_telemetry,
        telemetry_notify_interval: c.telemetry_notify_interval,
        ..tm::TelemetryConfig::default()
    };
    if let Some(v) = c.measurement_interval {
        out.measurement_interval = Some(enum_by_name(
            k::MEASUREMENT_INTERVAL,
            &v,
            Interval::from_name,
        )?);
    }
    if let Some(v) = c.measurement_sample {
        out.measurement_sample = Some(enum_by_name(k::MEASUREMENT_SAMPLE, &v, Sample::from_name)?);
    }
    unit_configs(k::UNIT_CONFIG, c.unit_config, &mut out.unit_config)?;
    Ok(out)
}

fn baseline(b: Baseline) -> Result<tm::Baseline> {
    let mut out = tm::Baseline {
        id: b.id,
        ..tm::Baseline::default()
    };
    targets(
        &mut out.targets,
        b.target_prefix,
        b.target_port_range,
        b.target_protocol,
        b.target_fqdn,
        b.target_uri,
        b.alias_name,
    )?;
    unit_list(
        k::TOTAL_TRAFFIC_NORMAL,
        b.total_traffic_normal,
        false,
        &mut out.total_traffic_normal,
    )?;
    protocol_list(
        k::TOTAL_TRAFFIC_NORMAL_PER_PROTOCOL,
        b.total_traffic_normal_per_protocol,
        false,
        &mut out.total_traffic_normal_per_protocol,
    )?;
    port_list(
        k::TOTAL_TRAFFIC_NORMAL_PER_PORT,
        b.total_traffic_normal_per_port,
        false,
        &mut out.total_traffic_normal_per_port,
    )?;
    for c in b.total_connection_capacity.unwrap_or_default() {
        let (limits, protocol, _) = capacity(c, false)?;
        push(
            &mut out.total_connection_capacity,
            k::TOTAL_CONNECTION_CAPACITY,
            tm::ConnectionCapacity { protocol, limits },
        )?;
    }
    for c in b.total_connection_capacity_per_port.unwrap_or_default() {
        let (limits, protocol, port) = capacity(c, true)?;
        push(
            &mut out.total_connection_capacity_per_port,
            k::TOTAL_CONNECTION_CAPACITY_PER_PORT,
            tm::PortConnectionCapacity {
                protocol,
                port: need(port, k::PORT)?,
                limits,
            },
        )?;
    }
    Ok(out)
}

fn setup_entry(e: SetupEntry) -> Result<tm::TelemetrySetupEntry> {
    if e.cdid.is_some() {
        return Err(DecodeError::NotAllowed { key: k::CDID }.into());
    }
    if e.cuid.is_some() {
        return Err(DecodeError::NotAllowed { key: k::CUID }.into());
    }
    let present = [
        (e.current_config.is_some(), k::CURRENT_CONFIG),
        (e.total_pipe_capacity.is_some(), k::TOTAL_PIPE_CAPACITY),
        (e.baseline.is_some(), k::BASELINE),
    ];
    let mut keys = present.iter().filter(|(p, _)| *p).map(|(_, k)| *k);
    if let (Some(other), Some(key)) = (keys.next(), keys.next()) {
        return Err(DecodeError::MixedChoice { key, other }.into());
    }
    let setup = if let Some(c) = e.current_config {
        Some(SetupData::CurrentConfig(config(c, ConfigKind::Current)?))
    } else if let Some(p) = e.total_pipe_capacity {
        let mut v = heapless::Vec::new();
        for p in p {
            let pipe = tm::PipeCapacity {
                link_id: text::<{ tm::MAX_LINK_ID_LEN }>(k::LINK_ID, &p.link_id)?,
                capacity: p.capacity.0,
                unit: enum_by_name(k::UNIT, &p.unit, Unit::from_name)?,
            };
            push(&mut v, k::TOTAL_PIPE_CAPACITY, pipe)?;
        }
        Some(SetupData::TotalPipeCapacity(v))
    } else if let Some(b) = e.baseline {
        let mut v = heapless::Vec::new();
        for b in b {
            let b = baseline(b)?;
            push(&mut v, k::BASELINE, b)?;
        }
        Some(SetupData::Baseline(v))
    } else {
        None
    };
    Ok(tm::TelemetrySetupEntry {
        tsid: e.tsid,
        setup,
    })
}

pub(super) fn setup_from_dto(s: TelemetrySetup) -> Result<tm::TelemetrySetup> {
    let mut out = tm::TelemetrySetup::default();
    if let Some(c) = s.max_config_values {
        out.max_config_values = Some(config(c, ConfigKind::Max)?);
    }
    if let Some(c) = s.min_config_values {
        out.min_config_values = Some(config(c, ConfigKind::Min)?);
    }
    if let Some(u) = s.supported_unit_classes {
        unit_configs(
            k::UNIT_CONFIG,
            u.unit_config,
            &mut out.supported_unit_classes,
        )?;
    }
    for q in s.supported_query_type.unwrap_or_default() {
        let q = enum_by_name(k::SUPPORTED_QUERY_TYPE, &q, QueryType::from_name)?;
        push(&mut out.supported_query_type, k::SUPPORTED_QUERY_TYPE, q)?;
    }
    for e in s.telemetry.unwrap_or_default() {
        let e = setup_entry(e)?;
        push(&mut out.telemetry, k::TELEMETRY, e)?;
    }
    Ok(out)
}

/// The two talker shapes.
trait TalkerShape: Sized {
    /// Takes this shape's member out of `t`, rejecting the other shape's.
    fn from_dto(t: &mut Talker) -> Result<Self>;
    /// Puts this shape's member into `t`.
    fn to_dto(&self, t: &mut Talker);
}

impl TalkerShape for ConnectionGauges {
    fn from_dto(t: &mut Talker) -> Result<Self> {
        if t.total_attack_connection_protocol.is_some() {
            return Err(unknown("total-attack-connection-protocol"));
        }
        match t.total_attack_connection.take() {
            Some(c) => connection(c, Kind::Unit).map(|(g, _, _)| g),
            None => Ok(ConnectionGauges::new()),
        }
    }
    fn to_dto(&self, t: &mut Talker) {
        t.total_attack_connection = (!self.is_empty()).then(|| connection_dto(self, None, None));
    }
}

impl TalkerShape for TalkerConnections {
    fn from_dto(t: &mut Talker) -> Result<Self> {
        if t.total_attack_connection.is_some() {
            return Err(unknown("total-attack-connection"));
        }
        let mut out = heapless::Vec::new();
        protocol_connections(
            k::TOTAL_ATTACK_CONNECTION_PROTOCOL,
            t.total_attack_connection_protocol.take(),
            &mut out,
        )?;
        Ok(out)
    }
    fn to_dto(&self, t: &mut Talker) {
        t.total_attack_connection_protocol = (!self.is_empty()).then(|| {
            self.iter()
                .map(|c| connection_dto(&c.gauges, Some(c.protocol), None))
                .collect()
        });
    }
}

fn talker<C: TalkerShape>(mut t: Talker) -> Result<tm::Talker<C>> {
    let total_attack_connection = C::from_dto(&mut t)?;
    let source = need(t.source_prefix, k::TM_SOURCE_PREFIX)?;
    let source_prefix =
        crate::cbor::parse_prefix(&source).ok_or(JsonError::Value(DecodeError::InvalidValue {
            key: k::TM_SOURCE_PREFIX,
        }))?;
    let mut out = tm::Talker {
        spoofed_status: t.spoofed_status,
        source_prefix,
        source_port_range: heapless::Vec::new(),
        source_icmp_type_range: heapless::Vec::new(),
        total_attack_traffic: heapless::Vec::new(),
        total_attack_connection,
    };
    ports(
        k::TM_SOURCE_PORT_RANGE,
        t.source_port_range,
        &mut out.source_port_range,
    )?;
    for r in t.source_icmp_type_range.unwrap_or_default() {
        push(
            &mut out.source_icmp_type_range,
            k::TM_SOURCE_ICMP_TYPE_RANGE,
            IcmpTypeRange {
                lower: r.lower_type,
                upper: r.upper_type,
            },
        )?;
    }
    unit_list(
        k::TOTAL_ATTACK_TRAFFIC,
        t.total_attack_traffic,
        true,
        &mut out.total_attack_traffic,
    )?;
    Ok(out)
}

fn attack_details<C: TalkerShape, const N: usize>(
    key: u64,
    src: Option<Vec<AttackDetail>>,
    out: &mut heapless::Vec<tm::AttackDetail<C>, N, u8>,
) -> Result<()> {
    for d in src.unwrap_or_default() {
        let mut a = tm::AttackDetail::new(d.vendor_id, d.attack_id);
        if let Some(s) = d.description_lang {
            a.description_lang = Some(text::<MAX_LANG_TAG_LEN>(k::DESCRIPTION_LANG, &s)?);
        }
        if let Some(s) = d.attack_description {
            a.attack_description = Some(text::<MAX_TEXT_LEN>(k::ATTACK_DESCRIPTION, &s)?);
        }
        if let Some(s) = d.attack_severity {
            a.attack_severity = Some(enum_by_name(
                k::ATTACK_SEVERITY,
                &s,
                AttackSeverity::from_name,
            )?);
        }
        a.start_time = d.start_time.map(|v| v.0);
        a.end_time = d.end_time.map(|v| v.0);
        a.source_count = d.source_count.map(gauges).unwrap_or_default();
        for t in d.top_talker.and_then(|t| t.talker).unwrap_or_default() {
            let t = talker(t)?;
            push(&mut a.top_talker, k::TALKER, t)?;
        }
        push(out, key, a)?;
    }
    Ok(())
}

fn pre_or_ongoing(p: PreOrOngoing) -> Result<tm::PreOrOngoingMitigation> {
    if p.cdid.is_some() {
        return Err(DecodeError::NotAllowed { key: k::CDID }.into());
    }
    if p.cuid.is_some() {
        return Err(DecodeError::NotAllowed { key: k::CUID }.into());
    }
    let mut m = tm::PreOrOngoingMitigation {
        tmid: p.tmid,
        ..tm::PreOrOngoingMitigation::default()
    };
    if let Some(t) = p.target {
        targets(
            &mut m.target.targets,
            t.target_prefix,
            t.target_port_range,
            t.target_protocol,
            t.target_fqdn,
            t.target_uri,
            t.alias_name,
        )?;
        for mid in t.mid_list.unwrap_or_default() {
            push(&mut m.target.mid_list, k::MID_LIST, mid)?;
        }
    }
    unit_list(
        k::TOTAL_TRAFFIC,
        p.total_traffic,
        true,
        &mut m.total_traffic,
    )?;
    protocol_list(
        k::TOTAL_TRAFFIC_PROTOCOL,
        p.total_traffic_protocol,
        true,
        &mut m.total_traffic_protocol,
    )?;
    port_list(
        k::TOTAL_TRAFFIC_PORT,
        p.total_traffic_port,
        true,
        &mut m.total_traffic_port,
    )?;
    unit_list(
        k::TOTAL_ATTACK_TRAFFIC,
        p.total_attack_traffic,
        true,
        &mut m.total_attack_traffic,
    )?;
    protocol_list(
        k::TOTAL_ATTACK_TRAFFIC_PROTOCOL,
        p.total_attack_traffic_protocol,
        true,
        &mut m.total_attack_traffic_protocol,
    )?;
    port_list(
        k::TOTAL_ATTACK_TRAFFIC_PORT,
        p.total_attack_traffic_port,
        true,
        &mut m.total_attack_traffic_port,
    )?;
    protocol_connections(
        k::TOTAL_ATTACK_CONNECTION_PROTOCOL,
        p.total_attack_connection_protocol,
        &mut m.total_attack_connection_protocol,
    )?;
    for c in p.total_attack_connection_port.unwrap_or_default() {
        let (gauges, protocol, port) = connection(c, Kind::Port)?;
        push(
            &mut m.total_attack_connection_port,
            k::TOTAL_ATTACK_CONNECTION_PORT,
            tm::PortConnection {
                protocol: need(protocol, k::PROTOCOL)?,
                port: need(port, k::PORT)?,
                gauges,
            },
        )?;
    }
    attack_details(k::ATTACK_DETAIL, p.attack_detail, &mut m.attack_detail)?;
    Ok(m)
}

pub(super) fn telemetry_from_dto(t: Telemetry) -> Result<tm::Telemetry> {
    let mut out = tm::Telemetry::default();
    for p in t.pre_or_ongoing_mitigation.unwrap_or_default() {
        let p = pre_or_ongoing(p)?;
        push(
            &mut out.pre_or_ongoing_mitigation,
            k::PRE_OR_ONGOING_MITIGATION,
            p,
        )?;
    }
    Ok(out)
}

/// Takes the RFC 9244 members out of a scope: `None` when there are none, else the key of the
/// first (for a capacity error when attaching) and the telemetry.
pub(super) fn scope_telemetry(s: &mut dto::Scope) -> Result<Option<(u64, ScopeTelemetry)>> {
    let first = [
        (s.total_traffic.is_some(), k::SCOPE_TOTAL_TRAFFIC),
        (
            s.total_attack_traffic.is_some(),
            k::SCOPE_TOTAL_ATTACK_TRAFFIC,
        ),
        (
            s.total_attack_connection.is_some(),
            k::SCOPE_TOTAL_ATTACK_CONNECTION,
        ),
        (s.attack_detail.is_some(), k::SCOPE_ATTACK_DETAIL),
    ]
    .into_iter()
    .find_map(|(p, key)| p.then_some(key));
    let Some(first) = first else {
        return Ok(None);
    };
    let mut t = ScopeTelemetry::default();
    unit_list(
        k::SCOPE_TOTAL_TRAFFIC,
        s.total_traffic.take(),
        true,
        &mut t.total_traffic,
    )?;
    unit_list(
        k::SCOPE_TOTAL_ATTACK_TRAFFIC,
        s.total_attack_traffic.take(),
        true,
        &mut t.total_attack_traffic,
    )?;
    if let Some(c) = s.total_attack_connection.take() {
        t.total_attack_connection = connection(c, Kind::Unit)?.0;
    }
    attack_details(
        k::SCOPE_ATTACK_DETAIL,
        s.attack_detail.take(),
        &mut t.attack_detail,
    )?;
    Ok(Some((first, t)))
}

// ---------------------------------------------------------------------------------------------
// model -> JSON

fn gauges_dto(g: &Gauges) -> GaugesDto {
    GaugesDto {
        low_percentile_g: g.low_percentile_g().map(U64Str),
        mid_percentile_g: g.mid_percentile_g().map(U64Str),
        high_percentile_g: g.high_percentile_g().map(U64Str),
        peak_g: g.peak_g().map(U64Str),
        current_g: g.current_g().map(U64Str),
    }
}

fn opt_gauges(g: &Gauges) -> Option<GaugesDto> {
    (!g.is_empty()).then(|| gauges_dto(g))
}

fn traffic_dto(
    unit: Unit,
    protocol: Option<u8>,
    port: Option<u16>,
    g: &Gauges,
    current: bool,
) -> Traffic {
    Traffic {
        protocol,
        port,
        unit: Some(unit.name().into()),
        low_percentile_g: g.low_percentile_g().map(U64Str),
        mid_percentile_g: g.mid_percentile_g().map(U64Str),
        high_percentile_g: g.high_percentile_g().map(U64Str),
        peak_g: g.peak_g().map(U64Str),
        current_g: g.current_g().filter(|_| current).map(U64Str),
    }
}

fn unit_dtos(list: &[tm::UnitTraffic], current: bool) -> Option<Vec<Traffic>> {
    (!list.is_empty()).then(|| {
        list.iter()
            .map(|t| traffic_dto(t.unit, None, None, &t.gauges, current))
            .collect()
    })
}

fn protocol_dtos(list: &[tm::ProtocolTraffic], current: bool) -> Option<Vec<Traffic>> {
    (!list.is_empty()).then(|| {
        list.iter()
            .map(|t| traffic_dto(t.unit, Some(t.protocol), None, &t.gauges, current))
            .collect()
    })
}

fn port_dtos_traffic(list: &[tm::PortTraffic], current: bool) -> Option<Vec<Traffic>> {
    (!list.is_empty()).then(|| {
        list.iter()
            .map(|t| traffic_dto(t.unit, None, Some(t.port), &t.gauges, current))
            .collect()
    })
}

fn connection_dto(c: &ConnectionGauges, protocol: Option<u8>, port: Option<u16>) -> Connection {
    Connection {
        protocol,
        port,
        connection_c: opt_gauges(&c.connection_c),
        embryonic_c: opt_gauges(&c.embryonic_c),
        connection_ps_c: opt_gauges(&c.connection_ps_c),
        request_ps_c: opt_gauges(&c.request_ps_c),
        partial_request_c: opt_gauges(&c.partial_request_c),
    }
}

fn capacity_dto(l: &ConnectionLimits, protocol: u8, port: Option<u16>) -> Capacity {
    let u = |w| l.get(w).map(U64Str);
    Capacity {
        protocol: Some(protocol),
        port,
        connection: u(ConnectionLimit::Connection),
        connection_client: u(ConnectionLimit::ConnectionClient),
        embryonic: u(ConnectionLimit::Embryonic),
        embryonic_client: u(ConnectionLimit::EmbryonicClient),
        connection_ps: u(ConnectionLimit::ConnectionPs),
        connection_client_ps: u(ConnectionLimit::ConnectionClientPs),
        request_ps: u(ConnectionLimit::RequestPs),
        request_client_ps: u(ConnectionLimit::RequestClientPs),
        partial_request_max: u(ConnectionLimit::PartialRequestMax),
        partial_request_client_max: u(ConnectionLimit::PartialRequestClientMax),
    }
}

fn unit_config_dtos(list: &[tm::UnitConfig]) -> Option<Vec<UnitConfig>> {
    (!list.is_empty()).then(|| {
        list.iter()
            .map(|u| UnitConfig {
                unit: u.unit.name().into(),
                unit_status: u.unit_status,
            })
            .collect()
    })
}

fn config_dto(c: &tm::TelemetryConfig, kind: ConfigKind) -> Config {
    Config {
        measurement_interval: c.measurement_interval.map(|v| v.name().into()),
        measurement_sample: c.measurement_sample.map(|v| v.name().into()),
        low_percentile: c.low_percentile.map(DecStr),
        mid_percentile: c.mid_percentile.map(DecStr),
        high_percentile: c.high_percentile.map(DecStr),
        unit_config: if kind == ConfigKind::Current {
            unit_config_dtos(&c.unit_config)
        } else {
            None
        },
        server_originated_telemetry: c
            .server_originated_telemetry
            .filter(|_| kind != ConfigKind::Min),
        telemetry_notify_interval: c.telemetry_notify_interval,
    }
}

fn target_lists(t: &Targets) -> TargetLists {
    TargetLists {
        prefix: nets(&t.prefixes),
        port: port_dtos(&t.port_ranges),
        protocol: (!t.protocols.is_empty()).then(|| t.protocols.to_vec()),
        fqdn: strings(t.fqdns()),
        uri: strings(t.uris()),
        alias: strings(t.alias_names()),
    }
}

struct TargetLists {
    prefix: Option<Vec<String>>,
    port: Option<Vec<dto::PortRange>>,
    protocol: Option<Vec<u8>>,
    fqdn: Option<Vec<String>>,
    uri: Option<Vec<String>>,
    alias: Option<Vec<String>>,
}

fn baseline_dto(b: &tm::Baseline) -> Baseline {
    let t = target_lists(&b.targets);
    Baseline {
        id: b.id,
        target_prefix: t.prefix,
        target_port_range: t.port,
        target_protocol: t.protocol,
        target_fqdn: t.fqdn,
        target_uri: t.uri,
        alias_name: t.alias,
        total_traffic_normal: unit_dtos(&b.total_traffic_normal, false),
        total_traffic_normal_per_protocol: protocol_dtos(
            &b.total_traffic_normal_per_protocol,
            false,
        ),
        total_traffic_normal_per_port: port_dtos_traffic(&b.total_traffic_normal_per_port, false),
        total_connection_capacity: (!b.total_connection_capacity.is_empty()).then(|| {
            b.total_connection_capacity
                .iter()
                .map(|c| capacity_dto(&c.limits, c.protocol, None))
                .collect()
        }),
        total_connection_capacity_per_port: (!b.total_connection_capacity_per_port.is_empty())
            .then(|| {
                b.total_connection_capacity_per_port
                    .iter()
                    .map(|c| capacity_dto(&c.limits, c.protocol, Some(c.port)))
                    .collect()
            }),
    }
}

fn setup_entry_dto(e: &tm::TelemetrySetupEntry) -> SetupEntry {
    let mut out = SetupEntry {
        tsid: e.tsid,
        ..SetupEntry::default()
    };
    match &e.setup {
        None => {}
        Some(SetupData::CurrentConfig(c)) => {
            out.current_config = Some(config_dto(c, ConfigKind::Current))
        }
        Some(SetupData::TotalPipeCapacity(p)) => {
            out.total_pipe_capacity = Some(
                p.iter()
                    .map(|p| Pipe {
                        link_id: p.link_id.as_str().into(),
                        capacity: U64Str(p.capacity),
                        unit: p.unit.name().into(),
                    })
                    .collect(),
            )
        }
        Some(SetupData::Baseline(b)) => out.baseline = Some(b.iter().map(baseline_dto).collect()),
    }
    out
}

pub(super) fn setup_dto(s: &tm::TelemetrySetup) -> TelemetrySetup {
    TelemetrySetup {
        max_config_values: s
            .max_config_values
            .as_ref()
            .map(|c| config_dto(c, ConfigKind::Max)),
        min_config_values: s
            .min_config_values
            .as_ref()
            .map(|c| config_dto(c, ConfigKind::Min)),
        supported_unit_classes: (!s.supported_unit_classes.is_empty()).then(|| {
            SupportedUnitClasses {
                unit_config: unit_config_dtos(&s.supported_unit_classes),
            }
        }),
        supported_query_type: (!s.supported_query_type.is_empty()).then(|| {
            s.supported_query_type
                .iter()
                .map(|q| q.name().into())
                .collect()
        }),
        telemetry: (!s.telemetry.is_empty())
            .then(|| s.telemetry.iter().map(setup_entry_dto).collect()),
    }
}

fn talker_dto<C: TalkerShape>(t: &tm::Talker<C>) -> Talker {
    let mut out = Talker {
        spoofed_status: t.spoofed_status,
        source_prefix: Some(t.source_prefix.to_string()),
        source_port_range: port_dtos(&t.source_port_range),
        source_icmp_type_range: (!t.source_icmp_type_range.is_empty()).then(|| {
            t.source_icmp_type_range
                .iter()
                .map(|r| dto::IcmpTypeRange {
                    lower_type: r.lower,
                    upper_type: r.upper,
                })
                .collect()
        }),
        total_attack_traffic: unit_dtos(&t.total_attack_traffic, true),
        ..Talker::default()
    };
    t.total_attack_connection.to_dto(&mut out);
    out
}

fn attack_detail_dtos<C: TalkerShape>(list: &[tm::AttackDetail<C>]) -> Option<Vec<AttackDetail>> {
    (!list.is_empty()).then(|| {
        list.iter()
            .map(|d| AttackDetail {
                vendor_id: d.vendor_id,
                attack_id: d.attack_id,
                description_lang: d.description_lang.as_deref().map(String::from),
                attack_description: d.attack_description.as_deref().map(String::from),
                attack_severity: d.attack_severity.map(|v| v.name().into()),
                start_time: d.start_time.map(U64Str),
                end_time: d.end_time.map(U64Str),
                source_count: opt_gauges(&d.source_count),
                top_talker: (!d.top_talker.is_empty()).then(|| TopTalker {
                    talker: Some(d.top_talker.iter().map(talker_dto).collect()),
                }),
            })
            .collect()
    })
}

fn pre_or_ongoing_dto(m: &tm::PreOrOngoingMitigation) -> PreOrOngoing {
    let target = (!m.target.is_empty()).then(|| {
        let t = target_lists(&m.target.targets);
        Target {
            target_prefix: t.prefix,
            target_port_range: t.port,
            target_protocol: t.protocol,
            target_fqdn: t.fqdn,
            target_uri: t.uri,
            alias_name: t.alias,
            mid_list: (!m.target.mid_list.is_empty()).then(|| m.target.mid_list.to_vec()),
        }
    });
    PreOrOngoing {
        cdid: None,
        cuid: None,
        tmid: m.tmid,
        target,
        total_traffic: unit_dtos(&m.total_traffic, true),
        total_traffic_protocol: protocol_dtos(&m.total_traffic_protocol, true),
        total_traffic_port: port_dtos_traffic(&m.total_traffic_port, true),
        total_attack_traffic: unit_dtos(&m.total_attack_traffic, true),
        total_attack_traffic_protocol: protocol_dtos(&m.total_attack_traffic_protocol, true),
        total_attack_traffic_port: port_dtos_traffic(&m.total_attack_traffic_port, true),
        total_attack_connection_protocol: (!m.total_attack_connection_protocol.is_empty()).then(
            || {
                m.total_attack_connection_protocol
                    .iter()
                    .map(|c| connection_dto(&c.gauges, Some(c.protocol), None))
                    .collect()
            },
        ),
        total_attack_connection_port: (!m.total_attack_connection_port.is_empty()).then(|| {
            m.total_attack_connection_port
                .iter()
                .map(|c| connection_dto(&c.gauges, Some(c.protocol), Some(c.port)))
                .collect()
        }),
        attack_detail: attack_detail_dtos(&m.attack_detail),
    }
}

pub(super) fn telemetry_dto(t: &tm::Telemetry) -> Telemetry {
    Telemetry {
        pre_or_ongoing_mitigation: (!t.pre_or_ongoing_mitigation.is_empty()).then(|| {
            t.pre_or_ongoing_mitigation
                .iter()
                .map(pre_or_ongoing_dto)
                .collect()
        }),
    }
}

/// Puts the RFC 9244 members of a scope into its JSON shape.
pub(super) fn scope_telemetry_dto(s: &mut dto::Scope, t: &ScopeTelemetry) {
    s.total_traffic = unit_dtos(&t.total_traffic, true);
    s.total_attack_traffic = unit_dtos(&t.total_attack_traffic, true);
    s.total_attack_connection = (!t.total_attack_connection.is_empty())
        .then(|| connection_dto(&t.total_attack_connection, None, None));
    s.attack_detail = attack_detail_dtos(&t.attack_detail);
}
