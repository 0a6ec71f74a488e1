//! Model ⇄ JSON shapes.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::net::IpAddr;
use core::str::FromStr;

use ipnet::IpNet;

use super::dto;
use super::dto::{DecStr, U64Str};
use super::telemetry;
use super::JsonError;
use crate::cbor::DecodeError;
use crate::keys as k;
use crate::model::{
    ActivationType, AttackStatus, CapacityError, ConfigParams, ConflictCause, ConflictInformation,
    ConflictScope, ConflictStatus, DecimalParam, DomainName, Heartbeat, IcmpTypeRange, IntParam,
    Lifetime, MitigationScope, MitigationStatus, PortRange, RedirectedSignal, ScopeEntry,
    SignalConfig, SignalMessage, Targets, MAX_ALT_SERVER_RECORDS, MAX_PROTOCOLS, MAX_SCOPES,
    MAX_TEXT_LEN,
};

pub(super) type Result<T> = core::result::Result<T, JsonError>;

pub(super) fn full(key: u64, limit: usize) -> JsonError {
    DecodeError::Capacity {
        key,
        error: CapacityError::TooManyItems { limit },
    }
    .into()
}

pub(super) fn cap(key: u64) -> impl Fn(CapacityError) -> JsonError {
    move |error| DecodeError::Capacity { key, error }.into()
}

pub(super) fn enum_by_name<T>(
    key: u64,
    name: &str,
    f: impl FnOnce(&str) -> Option<T>,
) -> Result<T> {
    f(name).ok_or(JsonError::Value(DecodeError::InvalidValue { key }))
}

pub(super) fn prefixes<const N: usize>(
    key: u64,
    src: Option<Vec<String>>,
    out: &mut heapless::Vec<IpNet, N, u8>,
) -> Result<()> {
    for s in src.unwrap_or_default() {
        let p = crate::cbor::parse_prefix(&s).ok_or(DecodeError::InvalidValue { key })?;
        out.push(p).map_err(|_| full(key, N))?;
    }
    Ok(())
}

pub(super) fn ports<const N: usize>(
    key: u64,
    src: Option<Vec<dto::PortRange>>,
    out: &mut heapless::Vec<PortRange, N, u8>,
) -> Result<()> {
    for r in src.unwrap_or_default() {
        out.push(PortRange {
            lower: r.lower_port,
            upper: r.upper_port,
        })
        .map_err(|_| full(key, N))?;
    }
    Ok(())
}

pub(super) fn targets(
    t: &mut Targets,
    prefix: Option<Vec<String>>,
    port: Option<Vec<dto::PortRange>>,
    protocol: Option<Vec<u8>>,
    fqdn: Option<Vec<String>>,
    uri: Option<Vec<String>>,
    alias: Option<Vec<String>>,
) -> Result<()> {
    prefixes(k::TARGET_PREFIX, prefix, &mut t.prefixes)?;
    ports(k::TARGET_PORT_RANGE, port, &mut t.port_ranges)?;
    for p in protocol.unwrap_or_default() {
        t.protocols
            .push(p)
            .map_err(|_| full(k::TARGET_PROTOCOL, MAX_PROTOCOLS))?;
    }
    for s in fqdn.unwrap_or_default() {
        t.push_fqdn(&s).map_err(cap(k::TARGET_FQDN))?;
    }
    for s in uri.unwrap_or_default() {
        t.push_uri(&s).map_err(cap(k::TARGET_URI))?;
    }
    for s in alias.unwrap_or_default() {
        t.push_alias_name(&s).map_err(cap(k::ALIAS_NAME))?;
    }
    Ok(())
}

fn entry(s: dto::Scope) -> Result<ScopeEntry> {
    if s.cdid.is_some() {
        return Err(DecodeError::NotAllowed { key: k::CDID }.into());
    }
    if s.cuid.is_some() {
        return Err(DecodeError::NotAllowed { key: k::CUID }.into());
    }
    let mut e = ScopeEntry {
        mid: s.mid,
        mitigation_start: s.mitigation_start.map(|v| v.0),
        bytes_dropped: s.bytes_dropped.map(|v| v.0),
        bps_dropped: s.bps_dropped.map(|v| v.0),
        pkts_dropped: s.pkts_dropped.map(|v| v.0),
        pps_dropped: s.pps_dropped.map(|v| v.0),
        ..ScopeEntry::default()
    };
    let sc = &mut e.scope;
    targets(
        &mut sc.targets,
        s.target_prefix,
        s.target_port_range,
        s.target_protocol,
        s.target_fqdn,
        s.target_uri,
        s.alias_name,
    )?;
    if let Some(l) = s.lifetime {
        sc.lifetime =
            Some(Lifetime::from_i64(l).ok_or(DecodeError::OutOfRange { key: k::LIFETIME })?);
    }
    sc.trigger_mitigation = s.trigger_mitigation;
    if let Some(v) = s.attack_status {
        sc.attack_status = Some(enum_by_name(k::ATTACK_STATUS, &v, AttackStatus::from_name)?);
    }
    if let Some(v) = s.status {
        e.status = Some(enum_by_name(k::STATUS, &v, MitigationStatus::from_name)?);
    }
    for a in s.acl_list.unwrap_or_default() {
        let act = match a.activation_type {
            Some(n) => Some(enum_by_name(
                k::ACTIVATION_TYPE,
                &n,
                ActivationType::from_name,
            )?),
            None => None,
        };
        sc.push_acl(&a.acl_name, act)
            .map_err(cap(k::CONTROL_ACL_LIST))?;
    }
    let ch = &mut sc.call_home;
    prefixes(k::SOURCE_PREFIX, s.source_prefix, &mut ch.source_prefixes)?;
    ports(
        k::SOURCE_PORT_RANGE,
        s.source_port_range,
        &mut ch.source_port_ranges,
    )?;
    for r in s.source_icmp_type_range.unwrap_or_default() {
        ch.source_icmp_type_ranges
            .push(IcmpTypeRange {
                lower: r.lower_type,
                upper: r.upper_type,
            })
            .map_err(|_| {
                full(
                    k::SOURCE_ICMP_TYPE_RANGE,
                    crate::model::MAX_SOURCE_ICMP_TYPE_RANGES,
                )
            })?;
    }
    if let Some(c) = s.conflict_information {
        e.conflict_information = Some(conflict(c)?);
    }
    Ok(e)
}

fn conflict(c: dto::ConflictInformation) -> Result<ConflictInformation> {
    let mut out = ConflictInformation {
        retry_timer: c.retry_timer,
        ..ConflictInformation::default()
    };
    if let Some(v) = c.conflict_status {
        out.conflict_status = Some(enum_by_name(
            k::CONFLICT_STATUS,
            &v,
            ConflictStatus::from_name,
        )?);
    }
    if let Some(v) = c.conflict_cause {
        out.conflict_cause = Some(enum_by_name(
            k::CONFLICT_CAUSE,
            &v,
            ConflictCause::from_name,
        )?);
    }
    if let Some(cs) = c.conflict_scope {
        let mut scope = ConflictScope {
            mid: cs.mid,
            ..ConflictScope::default()
        };
        targets(
            &mut scope.targets,
            cs.target_prefix,
            cs.target_port_range,
            cs.target_protocol,
            cs.target_fqdn,
            cs.target_uri,
            cs.alias_name,
        )?;
        for a in cs.acl_list.unwrap_or_default() {
            scope
                .push_acl(&a.acl_name, a.acl_type.as_deref())
                .map_err(cap(k::ACL_LIST))?;
        }
        out.conflict_scope = Some(scope);
    }
    Ok(out)
}

fn int_param(p: Option<dto::IntParam>) -> Option<IntParam> {
    p.map(|p| IntParam {
        max_value: p.max_value,
        min_value: p.min_value,
        current_value: p.current_value,
    })
}

fn dec_param(p: Option<dto::DecimalParam>) -> Option<DecimalParam> {
    p.map(|p| DecimalParam {
        max_value: p.max_value_decimal.map(|d| d.0),
        min_value: p.min_value_decimal.map(|d| d.0),
        current_value: p.current_value_decimal.map(|d| d.0),
    })
}

fn params(p: Option<dto::ConfigParams>) -> Option<ConfigParams> {
    p.map(|p| ConfigParams {
        heartbeat_interval: int_param(p.heartbeat_interval),
        missing_hb_allowed: int_param(p.missing_hb_allowed),
        probing_rate: int_param(p.probing_rate),
        max_retransmit: int_param(p.max_retransmit),
        ack_timeout: dec_param(p.ack_timeout),
        ack_random_factor: dec_param(p.ack_random_factor),
        max_payloads: int_param(p.max_payloads),
        non_max_retransmit: int_param(p.non_max_retransmit),
        non_timeout: dec_param(p.non_timeout),
        non_receive_timeout: dec_param(p.non_receive_timeout),
        non_probing_wait: dec_param(p.non_probing_wait),
        non_partial_timeout: dec_param(p.non_partial_timeout),
    })
}

fn domain(key: u64, s: Option<String>) -> Result<Option<DomainName>> {
    s.map(|s| {
        DomainName::try_from(s.as_str()).map_err(|_| {
            JsonError::Value(DecodeError::Capacity {
                key,
                error: CapacityError::TextTooLong {
                    limit: MAX_TEXT_LEN,
                },
            })
        })
    })
    .transpose()
}

fn addresses(
    key: u64,
    src: Option<Vec<String>>,
    out: &mut heapless::Vec<IpAddr, MAX_ALT_SERVER_RECORDS, u8>,
) -> Result<()> {
    for s in src.unwrap_or_default() {
        let a = IpAddr::from_str(&s).map_err(|_| DecodeError::InvalidValue { key })?;
        out.push(a).map_err(|_| full(key, MAX_ALT_SERVER_RECORDS))?;
    }
    Ok(())
}

pub(super) fn from_body(b: dto::Body) -> Result<SignalMessage> {
    let count = u64::from(b.mitigation_scope.is_some())
        + u64::from(b.signal_config.is_some())
        + u64::from(b.redirected_signal.is_some())
        + u64::from(b.heartbeat.is_some())
        + u64::from(b.telemetry_setup.is_some())
        + u64::from(b.telemetry.is_some());
    if count != 1 {
        return Err(DecodeError::MessageCount { count }.into());
    }
    if let Some(ms) = b.mitigation_scope {
        let mut out = MitigationScope::default();
        for (i, mut s) in ms.scope.into_iter().enumerate() {
            let tm = telemetry::scope_telemetry(&mut s)?;
            let e = entry(s)?;
            out.scopes.push(e).map_err(|_| full(k::SCOPE, MAX_SCOPES))?;
            if let Some((key, tm)) = tm {
                out.telemetry.set(i, tm).map_err(cap(key))?;
            }
        }
        return Ok(SignalMessage::MitigationScope(out));
    }
    if let Some(s) = b.telemetry_setup {
        return Ok(SignalMessage::TelemetrySetup(telemetry::setup_from_dto(s)?));
    }
    if let Some(t) = b.telemetry {
        return Ok(SignalMessage::Telemetry(telemetry::telemetry_from_dto(t)?));
    }
    if let Some(c) = b.signal_config {
        return Ok(SignalMessage::SignalConfig(SignalConfig {
            sid: c.sid,
            mitigating_config: params(c.mitigating_config),
            idle_config: params(c.idle_config),
        }));
    }
    if let Some(r) = b.redirected_signal {
        let mut out = RedirectedSignal {
            alt_server: domain(k::ALT_SERVER, r.alt_server)?,
            alt_ch_client: domain(k::ALT_CH_CLIENT, r.alt_ch_client)?,
            ttl: r.ttl,
            ..RedirectedSignal::default()
        };
        addresses(
            k::ALT_SERVER_RECORD,
            r.alt_server_record,
            &mut out.alt_server_record,
        )?;
        addresses(
            k::ALT_CH_CLIENT_RECORD,
            r.alt_ch_client_record,
            &mut out.alt_ch_client_record,
        )?;
        return Ok(SignalMessage::RedirectedSignal(out));
    }
    match b.heartbeat {
        Some(h) => Ok(SignalMessage::Heartbeat(Heartbeat {
            peer_hb_status: h.peer_hb_status,
        })),
        None => Err(DecodeError::MessageCount { count: 0 }.into()),
    }
}

// ---------------------------------------------------------------------------------------------

pub(super) fn strings<'a>(it: impl Iterator<Item = &'a str>) -> Option<Vec<String>> {
    let v: Vec<String> = it.map(String::from).collect();
    (!v.is_empty()).then_some(v)
}

pub(super) fn nets(list: &[IpNet]) -> Option<Vec<String>> {
    (!list.is_empty()).then(|| list.iter().map(ToString::to_string).collect())
}

pub(super) fn port_dtos(list: &[PortRange]) -> Option<Vec<dto::PortRange>> {
    (!list.is_empty()).then(|| {
        list.iter()
            .map(|r| dto::PortRange {
                lower_port: r.lower,
                upper_port: r.upper,
            })
            .collect()
    })
}

fn scope_dto(e: &ScopeEntry) -> dto::Scope {
    let s = &e.scope;
    let t = &s.targets;
    let ch = &s.call_home;
    let acl: Vec<dto::AclControl> = s
        .acl_list()
        .map(|a| dto::AclControl {
            acl_name: a.name.into(),
            activation_type: a.activation_type.map(|v| v.name().into()),
        })
        .collect();
    dto::Scope {
        cdid: None,
        cuid: None,
        mid: e.mid,
        mitigation_start: e.mitigation_start.map(U64Str),
        target_prefix: nets(&t.prefixes),
        target_port_range: port_dtos(&t.port_ranges),
        target_protocol: (!t.protocols.is_empty()).then(|| t.protocols.to_vec()),
        target_fqdn: strings(t.fqdns()),
        target_uri: strings(t.uris()),
        alias_name: strings(t.alias_names()),
        source_prefix: nets(&ch.source_prefixes),
        source_port_range: port_dtos(&ch.source_port_ranges),
        source_icmp_type_range: (!ch.source_icmp_type_ranges.is_empty()).then(|| {
            ch.source_icmp_type_ranges
                .iter()
                .map(|r| dto::IcmpTypeRange {
                    lower_type: r.lower,
                    upper_type: r.upper,
                })
                .collect()
        }),
        acl_list: (!acl.is_empty()).then_some(acl),
        lifetime: s.lifetime.map(Lifetime::as_i64),
        trigger_mitigation: s.trigger_mitigation,
        status: e.status.map(|v| v.name().into()),
        conflict_information: e.conflict_information.as_ref().map(conflict_dto),
        bytes_dropped: e.bytes_dropped.map(U64Str),
        bps_dropped: e.bps_dropped.map(U64Str),
        pkts_dropped: e.pkts_dropped.map(U64Str),
        pps_dropped: e.pps_dropped.map(U64Str),
        attack_status: s.attack_status.map(|v| v.name().into()),
        ..dto::Scope::default()
    }
}

fn conflict_dto(c: &ConflictInformation) -> dto::ConflictInformation {
    dto::ConflictInformation {
        conflict_status: c.conflict_status.map(|v| v.name().into()),
        conflict_cause: c.conflict_cause.map(|v| v.name().into()),
        retry_timer: c.retry_timer,
        conflict_scope: c.conflict_scope.as_ref().map(|cs| {
            let t = &cs.targets;
            let acl: Vec<dto::ConflictAcl> = cs
                .acl_list()
                .map(|a| dto::ConflictAcl {
                    acl_name: a.name.into(),
                    acl_type: a.acl_type.map(String::from),
                })
                .collect();
            dto::ConflictScope {
                target_prefix: nets(&t.prefixes),
                target_port_range: port_dtos(&t.port_ranges),
                target_protocol: (!t.protocols.is_empty()).then(|| t.protocols.to_vec()),
                target_fqdn: strings(t.fqdns()),
                target_uri: strings(t.uris()),
                alias_name: strings(t.alias_names()),
                acl_list: (!acl.is_empty()).then_some(acl),
                mid: cs.mid,
            }
        }),
    }
}

fn int_dto(p: &Option<IntParam>) -> Option<dto::IntParam> {
    p.map(|p| dto::IntParam {
        max_value: p.max_value,
        min_value: p.min_value,
        current_value: p.current_value,
    })
}

fn dec_dto(p: &Option<DecimalParam>) -> Option<dto::DecimalParam> {
    p.map(|p| dto::DecimalParam {
        max_value_decimal: p.max_value.map(DecStr),
        min_value_decimal: p.min_value.map(DecStr),
        current_value_decimal: p.current_value.map(DecStr),
    })
}

fn params_dto(p: &Option<ConfigParams>) -> Option<dto::ConfigParams> {
    p.as_ref().map(|p| dto::ConfigParams {
        heartbeat_interval: int_dto(&p.heartbeat_interval),
        missing_hb_allowed: int_dto(&p.missing_hb_allowed),
        probing_rate: int_dto(&p.probing_rate),
        max_retransmit: int_dto(&p.max_retransmit),
        ack_timeout: dec_dto(&p.ack_timeout),
        ack_random_factor: dec_dto(&p.ack_random_factor),
        max_payloads: int_dto(&p.max_payloads),
        non_max_retransmit: int_dto(&p.non_max_retransmit),
        non_timeout: dec_dto(&p.non_timeout),
        non_receive_timeout: dec_dto(&p.non_receive_timeout),
        non_probing_wait: dec_dto(&p.non_probing_wait),
        non_partial_timeout: dec_dto(&p.non_partial_timeout),
    })
}

fn addr_dtos(a: &[IpAddr]) -> Option<Vec<String>> {
    (!a.is_empty()).then(|| a.iter().map(ToString::to_string).collect())
}

pub(super) fn to_body(m: &SignalMessage) -> dto::Body {
    let mut b = dto::Body::default();
    match m {
        SignalMessage::MitigationScope(ms) => {
            b.mitigation_scope = Some(dto::MitigationScope {
                scope: ms
                    .scopes
                    .iter()
                    .enumerate()
                    .map(|(i, e)| {
                        let mut d = scope_dto(e);
                        if let Some(tm) = ms.telemetry.get(i) {
                            telemetry::scope_telemetry_dto(&mut d, tm);
                        }
                        d
                    })
                    .collect(),
            });
        }
        SignalMessage::SignalConfig(c) => {
            b.signal_config = Some(dto::SignalConfig {
                sid: c.sid,
                mitigating_config: params_dto(&c.mitigating_config),
                idle_config: params_dto(&c.idle_config),
            });
        }
        SignalMessage::RedirectedSignal(r) => {
            b.redirected_signal = Some(dto::RedirectedSignal {
                alt_server: r.alt_server.as_deref().map(String::from),
                alt_server_record: addr_dtos(&r.alt_server_record),
                alt_ch_client: r.alt_ch_client.as_deref().map(String::from),
                alt_ch_client_record: addr_dtos(&r.alt_ch_client_record),
                ttl: r.ttl,
            });
        }
        SignalMessage::Heartbeat(h) => {
            b.heartbeat = Some(dto::Heartbeat {
                peer_hb_status: h.peer_hb_status,
            });
        }
        SignalMessage::TelemetrySetup(s) => b.telemetry_setup = Some(telemetry::setup_dto(s)),
        SignalMessage::Telemetry(t) => b.telemetry = Some(telemetry::telemetry_dto(t)),
    }
    b
}
