//! RFC 9244 DOTS telemetry: the `telemetry-setup` and `telemetry` messages and the telemetry of
//! mitigation scopes, bounded and allocation-free like the rest of [`crate::model`].
//!
//! - [`TelemetrySetup`] (`ietf-dots-telemetry:telemetry-setup`, CBOR key 203, `/tm-setup`):
//!   telemetry configuration ([`TelemetryConfig`]), pipe capacity ([`PipeCapacity`]) and
//!   baselines ([`Baseline`]); the server's ranges in GET responses.
//! - [`Telemetry`] (`ietf-dots-telemetry:telemetry`, CBOR key 208, `/tm`):
//!   pre-or-ongoing-mitigation telemetry ([`PreOrOngoingMitigation`]).
//! - [`ScopeTelemetry`]: the RFC 9244 members of a mitigation `scope` (CBOR keys 204–207),
//!   attached to [`EfficacyUpdate`] (client) and
//!   [`MitigationScope::telemetry`](crate::model::MitigationScope::telemetry) (server), never
//!   stored in [`Scope`](crate::model::Scope).
//!
//! Every RFC 9244 CBOR key is comprehension-optional (RFC 9244 Section 13.1; RFC 9132 Table 8:
//! 128–255). Decoders of these types understand them; [`MitigationRequest`](crate::model::MitigationRequest)
//! does not and skips keys 204–207, as a telemetry-unaware DOTS agent does.
//!
//! # Limits
//!
//! As everywhere in the model, a body exceeding a limit is rejected with
//! [`CapacityError`](crate::model::CapacityError) (4.13), never truncated.
//!
//! | limit | value | applies to |
//! |---|---|---|
//! | [`MAX_TELEMETRY_SETUPS`] | 4 | `telemetry` entries of a `telemetry-setup` body |
//! | [`MAX_PRE_OR_ONGOING`] | 2 | `pre-or-ongoing-mitigation` entries of a `telemetry` body |
//! | [`MAX_TELEMETRY_SCOPES`] | 2 | scopes carrying telemetry in one `mitigation-scope` body |
//! | [`MAX_UNIT_TRAFFIC`] | 3 | entries of a list keyed by `unit` (one unit per unit class) |
//! | [`MAX_KEYED_TRAFFIC`] | 4 | per-protocol / per-port traffic lists, connection capacities |
//! | [`MAX_CONNECTION_ENTRIES`] | 2 | `total-attack-connection-protocol` / `-port` entries |
//! | [`MAX_PIPES`] | 8 | `total-pipe-capacity` entries |
//! | [`MAX_BASELINES`] | 2 | `baseline` entries of one `telemetry` entry |
//! | [`MAX_MID_LIST`] | 8 | `mid-list` values of a target |
//! | [`MAX_ATTACK_DETAILS`] | 2 | `attack-detail` entries |
//! | [`MAX_TOP_TALKERS`] | 4 | `talker` entries of one attack detail |
//! | [`MAX_TALKER_CONNECTIONS`] | 2 | a talker's `total-attack-connection-protocol` entries |
//! | [`MAX_UNIT_CONFIGS`] | 3 | `unit-config` entries (one per unit class) |
//! | [`MAX_QUERY_TYPES`] | 11 | `supported-query-type` values (all defined) |
//! | [`MAX_LINK_ID_LEN`] | 64 B | one `link-id` |
//! | [`MAX_LANG_TAG_LEN`] | 35 B | one `description-lang` (RFC 5646 Section 4.4.1) |
//! | [`MAX_TEXT_LEN`](crate::model::MAX_TEXT_LEN) | 255 B | one `attack-description` |
//!
//! Talker port and ICMP type ranges use the RFC 9066 limits
//! ([`MAX_SOURCE_PORT_RANGES`](crate::model::MAX_SOURCE_PORT_RANGES),
//! [`MAX_SOURCE_ICMP_TYPE_RANGES`](crate::model::MAX_SOURCE_ICMP_TYPE_RANGES)); targets the
//! limits of [`Targets`](crate::model::Targets).
//!
//! With these limits a [`PreOrOngoingMitigation`] is under 10 KB (a [`Telemetry`] body under
//! 20 KB), a [`ScopeTelemetry`] under 6 KB and a [`TelemetrySetup`] under 16 KB; tests pin
//! them. A stored [`Scope`](crate::model::Scope) does not grow.

mod attack;
mod enums;
mod message;
mod setup;
mod validate;
mod values;

pub use attack::{
    AggregateTalker, AttackDescription, AttackDetail, LangTag, ScopeAttackDetail, Talker,
    TalkerConnections, TelemetryAttackDetail, TopTalker,
};
pub use enums::{AttackSeverity, Interval, QueryType, Sample, Unit, UnitClass};
pub use message::{
    EfficacyUpdate, PreOrOngoingMitigation, ScopeTelemetry, ScopeTelemetryList, Telemetry,
    TelemetryTarget,
};
pub use setup::{
    Baseline, LinkId, PipeCapacity, SetupData, TelemetryConfig, TelemetrySetup,
    TelemetrySetupEntry, UnitConfig,
};
pub use validate::is_language_tag;
pub use values::{
    ConnectionCapacity, ConnectionGauges, ConnectionLimit, ConnectionLimits, Gauge, Gauges,
    PortConnection, PortConnectionCapacity, PortTraffic, ProtocolConnection, ProtocolTraffic,
    UnitTraffic,
};

/// Maximum `telemetry` entries in a `telemetry-setup` body (a GET response lists every `tsid`).
pub const MAX_TELEMETRY_SETUPS: usize = 4;
/// Maximum `pre-or-ongoing-mitigation` entries in a `telemetry` body.
pub const MAX_PRE_OR_ONGOING: usize = 2;
/// Maximum scopes of one `mitigation-scope` body that carry telemetry.
pub const MAX_TELEMETRY_SCOPES: usize = 2;
/// Maximum entries of a traffic list keyed by `unit` (auto-scaling leaves one unit per class).
pub const MAX_UNIT_TRAFFIC: usize = 3;
/// Maximum entries of a per-protocol or per-port traffic list and of a baseline's connection
/// capacity lists.
pub const MAX_KEYED_TRAFFIC: usize = 4;
/// Maximum `total-attack-connection-protocol` / `total-attack-connection-port` entries.
pub const MAX_CONNECTION_ENTRIES: usize = 2;
/// Maximum `total-pipe-capacity` entries (links × unit classes).
pub const MAX_PIPES: usize = 8;
/// Maximum `baseline` entries of one `telemetry` entry.
pub const MAX_BASELINES: usize = 2;
/// Maximum `mid-list` values.
pub const MAX_MID_LIST: usize = 8;
/// Maximum `attack-detail` entries.
pub const MAX_ATTACK_DETAILS: usize = 2;
/// Maximum `talker` entries of one `top-talker`.
pub const MAX_TOP_TALKERS: usize = 4;
/// Maximum `total-attack-connection-protocol` entries of one talker.
pub const MAX_TALKER_CONNECTIONS: usize = 2;
/// Maximum `unit-config` entries (there are three unit classes).
pub const MAX_UNIT_CONFIGS: usize = 3;
/// Maximum `supported-query-type` values (there are eleven query types).
pub const MAX_QUERY_TYPES: usize = 11;
/// Maximum length in bytes of a `link-id`.
pub const MAX_LINK_ID_LEN: usize = 64;
/// Maximum length in bytes of a `description-lang` tag (RFC 5646 Section 4.4.1 asks for at
/// least 35).
pub const MAX_LANG_TAG_LEN: usize = 35;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_sizes_are_bounded() {
        use core::mem::size_of;
        let sizes = [
            (
                "PreOrOngoingMitigation",
                size_of::<PreOrOngoingMitigation>(),
                10 * 1024,
            ),
            ("Telemetry", size_of::<Telemetry>(), 20 * 1024),
            ("ScopeTelemetry", size_of::<ScopeTelemetry>(), 6 * 1024),
            ("TelemetrySetup", size_of::<TelemetrySetup>(), 16 * 1024),
            ("EfficacyUpdate", size_of::<EfficacyUpdate>(), 7 * 1024),
        ];
        for (name, size, limit) in sizes {
            assert!(size <= limit, "{name} is {size} bytes (limit {limit})");
        }
    }
}
