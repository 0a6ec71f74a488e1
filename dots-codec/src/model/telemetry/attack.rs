//! Attack details and top talkers (RFC 9244 Section 8.1.5).

use ipnet::IpNet;

use super::{
    AttackSeverity, ConnectionGauges, Gauges, ProtocolConnection, UnitTraffic, MAX_LANG_TAG_LEN,
    MAX_TALKER_CONNECTIONS, MAX_TOP_TALKERS, MAX_UNIT_TRAFFIC,
};
use crate::model::{
    IcmpTypeRange, PortRange, MAX_SOURCE_ICMP_TYPE_RANGES, MAX_SOURCE_PORT_RANGES, MAX_TEXT_LEN,
};

/// A `description-lang` language tag (RFC 5646), at most [`MAX_LANG_TAG_LEN`] bytes.
pub type LangTag = heapless::String<MAX_LANG_TAG_LEN, u8>;

/// An `attack-description`, at most [`MAX_TEXT_LEN`] bytes.
pub type AttackDescription = heapless::String<MAX_TEXT_LEN, u8>;

/// The per-protocol attack connections of a top talker in a `telemetry` message
/// (`total-attack-connection-protocol`).
pub type TalkerConnections = heapless::Vec<ProtocolConnection, MAX_TALKER_CONNECTIONS, u8>;

/// A `talker` entry (keyed by `source-prefix`): one attack source and its share of the attack.
///
/// `C` is the shape of its attack connections, which differs between the two places RFC 9244
/// puts talkers: a list per protocol ([`TalkerConnections`], `total-attack-connection-protocol`)
/// in `telemetry` messages, one container ([`ConnectionGauges`], `total-attack-connection`) in
/// mitigation scopes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Talker<C> {
    /// `spoofed-status`: whether the source address is spoofed (absent: unknown).
    pub spoofed_status: Option<bool>,
    /// `source-prefix` (the list key).
    pub source_prefix: IpNet,
    /// `source-port-range`.
    pub source_port_range: heapless::Vec<PortRange, MAX_SOURCE_PORT_RANGES, u8>,
    /// `source-icmp-type-range`.
    pub source_icmp_type_range: heapless::Vec<IcmpTypeRange, MAX_SOURCE_ICMP_TYPE_RANGES, u8>,
    /// `total-attack-traffic` from this source.
    pub total_attack_traffic: heapless::Vec<UnitTraffic, MAX_UNIT_TRAFFIC, u8>,
    /// `total-attack-connection-protocol` (in `telemetry`) or `total-attack-connection` (in a
    /// mitigation scope) from this source.
    pub total_attack_connection: C,
}

impl<C: Default> Talker<C> {
    /// A talker with only its `source-prefix`.
    pub fn new(source_prefix: IpNet) -> Talker<C> {
        Talker {
            spoofed_status: None,
            source_prefix,
            source_port_range: heapless::Vec::new(),
            source_icmp_type_range: heapless::Vec::new(),
            total_attack_traffic: heapless::Vec::new(),
            total_attack_connection: C::default(),
        }
    }
}

/// A top talker of a `telemetry` message (RFC 9244 grouping `top-talker`).
pub type TopTalker = Talker<TalkerConnections>;

/// A top talker of a mitigation scope (RFC 9244 grouping `top-talker-aggregate`).
pub type AggregateTalker = Talker<ConnectionGauges>;

/// An `attack-detail` entry (keyed by `vendor-id` and `attack-id`). `C` selects the talker
/// shape (see [`Talker`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct AttackDetail<C> {
    /// `vendor-id`: the vendor's IANA Private Enterprise Number.
    pub vendor_id: u32,
    /// `attack-id`: the vendor's attack identifier (mandatory).
    pub attack_id: u32,
    /// `description-lang` (YANG default `en-US`).
    pub description_lang: Option<LangTag>,
    /// `attack-description`.
    pub attack_description: Option<AttackDescription>,
    /// `attack-severity`.
    pub attack_severity: Option<AttackSeverity>,
    /// `start-time`, seconds since the epoch (no CBOR tag 1).
    pub start_time: Option<u64>,
    /// `end-time`, seconds since the epoch (no CBOR tag 1).
    pub end_time: Option<u64>,
    /// `source-count`: unique sources.
    pub source_count: Gauges,
    /// `top-talker` / `talker`.
    pub top_talker: heapless::Vec<Talker<C>, MAX_TOP_TALKERS, u8>,
}

impl<C> AttackDetail<C> {
    /// An attack detail with only its keys.
    pub fn new(vendor_id: u32, attack_id: u32) -> AttackDetail<C> {
        AttackDetail {
            vendor_id,
            attack_id,
            description_lang: None,
            attack_description: None,
            attack_severity: None,
            start_time: None,
            end_time: None,
            source_count: Gauges::new(),
            top_talker: heapless::Vec::new(),
        }
    }
}

/// The attack details of a `telemetry` message.
pub type TelemetryAttackDetail = AttackDetail<TalkerConnections>;

/// The attack details of a mitigation scope.
pub type ScopeAttackDetail = AttackDetail<ConnectionGauges>;
