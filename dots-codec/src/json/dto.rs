//! The RFC 7951 JSON shapes of the signal channel bodies, as serde types. Member names are the
//! YANG names; members augmenting another module's node carry their module prefix
//! (`ietf-dots-call-home:source-prefix`, `ietf-dots-signal-control:acl-list`,
//! `ietf-dots-robust-trans:max-payloads`), as RFC 7951 Section 4 requires and the RFC figures
//! print. Unknown members are errors (`deny_unknown_fields`); serde rejects duplicates.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::telemetry;
use crate::model::Decimal2;

/// A YANG uint64: a JSON string of decimal digits (RFC 7951 Section 6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct U64Str(pub(super) u64);

impl Serialize for U64Str {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for U64Str {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = U64Str;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a uint64 as a string of decimal digits")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<U64Str, E> {
                if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(E::invalid_value(de::Unexpected::Str(v), &self));
                }
                v.parse()
                    .map(U64Str)
                    .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
            }
        }
        d.deserialize_str(V)
    }
}

/// A YANG decimal64 (fraction-digits 2): a JSON string (RFC 7951 Section 6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct DecStr(pub(super) Decimal2);

impl Serialize for DecStr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for DecStr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = DecStr;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a decimal64 with at most 2 fraction digits, as a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<DecStr, E> {
                Decimal2::parse(v)
                    .map(DecStr)
                    .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
            }
        }
        d.deserialize_str(V)
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Body {
    #[serde(
        rename = "ietf-dots-signal-channel:mitigation-scope",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub(super) mitigation_scope: Option<MitigationScope>,
    #[serde(
        rename = "ietf-dots-signal-channel:signal-config",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub(super) signal_config: Option<SignalConfig>,
    #[serde(
        rename = "ietf-dots-signal-channel:redirected-signal",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub(super) redirected_signal: Option<RedirectedSignal>,
    #[serde(
        rename = "ietf-dots-signal-channel:heartbeat",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub(super) heartbeat: Option<Heartbeat>,
    #[serde(
        rename = "ietf-dots-telemetry:telemetry-setup",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub(super) telemetry_setup: Option<telemetry::TelemetrySetup>,
    #[serde(
        rename = "ietf-dots-telemetry:telemetry",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub(super) telemetry: Option<telemetry::Telemetry>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MitigationScope {
    pub(super) scope: Vec<Scope>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct PortRange {
    pub(super) lower_port: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) upper_port: Option<u16>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct IcmpTypeRange {
    pub(super) lower_type: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) upper_type: Option<u8>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct AclControl {
    pub(super) acl_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) activation_type: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct ConflictAcl {
    pub(super) acl_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) acl_type: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct Scope {
    // Never valid in a body; parsed so the error names them (RFC 9132 Section 4.4.1.1).
    #[serde(default, skip_serializing)]
    pub(super) cdid: Option<de::IgnoredAny>,
    #[serde(default, skip_serializing)]
    pub(super) cuid: Option<de::IgnoredAny>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) mid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) mitigation_start: Option<U64Str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) target_prefix: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) target_port_range: Option<Vec<PortRange>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) target_protocol: Option<Vec<u8>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) target_fqdn: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) target_uri: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) alias_name: Option<Vec<String>>,
    #[serde(
        rename = "ietf-dots-call-home:source-prefix",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub(super) source_prefix: Option<Vec<String>>,
    #[serde(
        rename = "ietf-dots-call-home:source-port-range",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub(super) source_port_range: Option<Vec<PortRange>>,
    #[serde(
        rename = "ietf-dots-call-home:source-icmp-type-range",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub(super) source_icmp_type_range: Option<Vec<IcmpTypeRange>>,
    #[serde(
        rename = "ietf-dots-signal-control:acl-list",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub(super) acl_list: Option<Vec<AclControl>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) lifetime: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) trigger_mitigation: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) conflict_information: Option<ConflictInformation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) bytes_dropped: Option<U64Str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) bps_dropped: Option<U64Str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) pkts_dropped: Option<U64Str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) pps_dropped: Option<U64Str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) attack_status: Option<String>,
    #[serde(
        rename = "ietf-dots-telemetry:total-traffic",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub(super) total_traffic: Option<Vec<telemetry::Traffic>>,
    #[serde(
        rename = "ietf-dots-telemetry:total-attack-traffic",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub(super) total_attack_traffic: Option<Vec<telemetry::Traffic>>,
    #[serde(
        rename = "ietf-dots-telemetry:total-attack-connection",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub(super) total_attack_connection: Option<telemetry::Connection>,
    #[serde(
        rename = "ietf-dots-telemetry:attack-detail",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub(super) attack_detail: Option<Vec<telemetry::AttackDetail>>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct ConflictInformation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) conflict_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) conflict_cause: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) retry_timer: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) conflict_scope: Option<ConflictScope>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct ConflictScope {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) target_prefix: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) target_port_range: Option<Vec<PortRange>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) target_protocol: Option<Vec<u8>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) target_fqdn: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) target_uri: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) alias_name: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) acl_list: Option<Vec<ConflictAcl>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) mid: Option<u32>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct IntParam {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) max_value: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) min_value: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) current_value: Option<u16>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct DecimalParam {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) max_value_decimal: Option<DecStr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) min_value_decimal: Option<DecStr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) current_value_decimal: Option<DecStr>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct ConfigParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) heartbeat_interval: Option<IntParam>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) missing_hb_allowed: Option<IntParam>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) probing_rate: Option<IntParam>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) max_retransmit: Option<IntParam>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) ack_timeout: Option<DecimalParam>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) ack_random_factor: Option<DecimalParam>,
    #[serde(
        rename = "ietf-dots-robust-trans:max-payloads",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub(super) max_payloads: Option<IntParam>,
    #[serde(
        rename = "ietf-dots-robust-trans:non-max-retransmit",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub(super) non_max_retransmit: Option<IntParam>,
    #[serde(
        rename = "ietf-dots-robust-trans:non-timeout",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub(super) non_timeout: Option<DecimalParam>,
    #[serde(
        rename = "ietf-dots-robust-trans:non-receive-timeout",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub(super) non_receive_timeout: Option<DecimalParam>,
    #[serde(
        rename = "ietf-dots-robust-trans:non-probing-wait",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub(super) non_probing_wait: Option<DecimalParam>,
    #[serde(
        rename = "ietf-dots-robust-trans:non-partial-timeout",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub(super) non_partial_timeout: Option<DecimalParam>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct SignalConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) sid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) mitigating_config: Option<ConfigParams>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) idle_config: Option<ConfigParams>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RedirectedSignal {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) alt_server: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) alt_server_record: Option<Vec<String>>,
    #[serde(
        rename = "ietf-dots-call-home:alt-ch-client",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub(super) alt_ch_client: Option<String>,
    #[serde(
        rename = "ietf-dots-call-home:alt-ch-client-record",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub(super) alt_ch_client_record: Option<Vec<String>>,
    #[serde(
        rename = "ietf-dots-call-home:ttl",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub(super) ttl: Option<u32>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct Heartbeat {
    pub(super) peer_hb_status: bool,
}
