//! The typed DOTS signal channel model: every body the signal channel carries.
//!
//! Everything is bounded and allocation-free. The limits below are message-shape limits sized for
//! real deployments; a body exceeding one is rejected with a typed error
//! ([`CapacityError`], surfaced as [`crate::cbor::DecodeError::Capacity`]) that a server answers
//! with 4.13 (Request Entity Too Large): the request is valid DOTS, just larger than this
//! implementation stores, and the client can split it over several mitigation requests
//! (RFC 7252 Section 5.9.2.9). Nothing is ever truncated.
//!
//! | limit | value | applies to |
//! |---|---|---|
//! | [`MAX_SCOPES`] | 16 | `scope` entries in one `mitigation-scope` body (GET responses) |
//! | [`MAX_TARGET_PREFIXES`] | 8 | `target-prefix` per scope / conflict-scope |
//! | [`MAX_PORT_RANGES`] | 8 | `target-port-range` per scope |
//! | [`MAX_PROTOCOLS`] | 8 | `target-protocol` per scope |
//! | [`TEXT_CAPACITY`] | 176 B | all `target-fqdn`, `target-uri`, `alias-name` and ACL names of a scope, 4 B overhead each |
//! | [`MAX_TEXT_LEN`] | 255 B | one FQDN, URI, alias or ACL name; `alt-server` |
//! | [`MAX_SOURCE_PREFIXES`] | 4 | RFC 9066 `source-prefix` per scope |
//! | [`MAX_SOURCE_PORT_RANGES`] | 4 | RFC 9066 `source-port-range` per scope |
//! | [`MAX_SOURCE_ICMP_TYPE_RANGES`] | 4 | RFC 9066 `source-icmp-type-range` per scope |
//! | [`MAX_ALT_SERVER_RECORDS`] | 8 | `alt-server-record` / `alt-ch-client-record` |
//!
//! With these limits a [`Scope`] (what a server stores per active mitigation) is at most 512
//! bytes; a test pins it. RFC 9244 telemetry has its own limits, in [`telemetry`], and lives
//! beside scopes ([`ScopeTelemetry`]), not in them.

mod config;
mod decimal;
pub(crate) mod enums;
mod scope;
mod signal;
pub mod telemetry;
pub(crate) mod text;
pub(crate) mod validate;

pub use config::{ConfigParams, DecimalParam, IntParam, SignalConfig};
pub use decimal::{Decimal2, ParseDecimalError};
pub use enums::{ActivationType, AttackStatus, ConflictCause, ConflictStatus, MitigationStatus};
pub use scope::{
    AclControl, CallHome, ConflictAcl, ConflictInformation, ConflictScope, IcmpTypeRange, Lifetime,
    MitigationRequest, MitigationScope, PortRange, Scope, ScopeEntry, Targets,
};
pub use signal::{DomainName, Heartbeat, RedirectedSignal};
pub use telemetry::{EfficacyUpdate, ScopeTelemetry, Telemetry, TelemetrySetup};
pub use validate::{check_prefix, PrefixProblem, ValidationError};

/// Maximum `scope` entries in one `mitigation-scope` body.
pub const MAX_SCOPES: usize = 16;
/// Maximum `target-prefix` entries per scope.
pub const MAX_TARGET_PREFIXES: usize = 8;
/// Maximum `target-port-range` entries per scope.
pub const MAX_PORT_RANGES: usize = 8;
/// Maximum `target-protocol` entries per scope.
pub const MAX_PROTOCOLS: usize = 8;
/// Bytes shared by all text members of one scope (FQDNs, URIs, alias names, ACL names), each
/// item taking its length plus 4 bytes.
pub const TEXT_CAPACITY: usize = 176;
/// Maximum length in bytes of one text member.
pub const MAX_TEXT_LEN: usize = 255;
/// Maximum RFC 9066 `source-prefix` entries per scope.
pub const MAX_SOURCE_PREFIXES: usize = 4;
/// Maximum RFC 9066 `source-port-range` entries per scope.
pub const MAX_SOURCE_PORT_RANGES: usize = 4;
/// Maximum RFC 9066 `source-icmp-type-range` entries per scope.
pub const MAX_SOURCE_ICMP_TYPE_RANGES: usize = 4;
/// Maximum `alt-server-record` (and `alt-ch-client-record`) addresses.
pub const MAX_ALT_SERVER_RECORDS: usize = 8;

/// A bounded container is full. Answered with 4.13 (Request Entity Too Large).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum CapacityError {
    /// More list items than the limit.
    #[error("more than {limit} items")]
    TooManyItems {
        /// The limit.
        limit: usize,
    },
    /// The shared text buffer of a scope is full.
    #[error("text members exceed {limit} bytes")]
    TextFull {
        /// The buffer size.
        limit: usize,
    },
    /// One string is longer than [`MAX_TEXT_LEN`].
    #[error("a string is longer than {limit} bytes")]
    TextTooLong {
        /// The limit.
        limit: usize,
    },
}

/// Any signal channel body (the RFC 9132 `message-type` choice).
///
/// This is 26 KB (a `MitigationScope` of [`MAX_SCOPES`] entries and the RFC 9244 telemetry of
/// up to [`telemetry::MAX_TELEMETRY_SCOPES`] of them, inline: there is no heap to box into).
/// Endpoints that know what they expect decode the specific type instead, e.g.
/// [`MitigationRequest`] for a PUT (1 KB), [`EfficacyUpdate`] (6 KB), [`TelemetrySetup`]
/// (15 KB) or [`Telemetry`] (19 KB).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant)]
pub enum SignalMessage {
    /// `ietf-dots-signal-channel:mitigation-scope`.
    MitigationScope(MitigationScope),
    /// `ietf-dots-signal-channel:signal-config`.
    SignalConfig(SignalConfig),
    /// `ietf-dots-signal-channel:redirected-signal`.
    RedirectedSignal(RedirectedSignal),
    /// `ietf-dots-signal-channel:heartbeat`.
    Heartbeat(Heartbeat),
    /// `ietf-dots-telemetry:telemetry-setup` (RFC 9244).
    TelemetrySetup(TelemetrySetup),
    /// `ietf-dots-telemetry:telemetry` (RFC 9244).
    Telemetry(Telemetry),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_server_only_member_is_named_in_order() {
        let mut e = ScopeEntry::default();
        assert_eq!(e.first_server_only_member(), None);
        // Set from the last to the first: each one set becomes the first present.
        e.pps_dropped = Some(1);
        assert_eq!(e.first_server_only_member(), Some("pps-dropped"));
        e.pkts_dropped = Some(1);
        assert_eq!(e.first_server_only_member(), Some("pkts-dropped"));
        e.bps_dropped = Some(1);
        assert_eq!(e.first_server_only_member(), Some("bps-dropped"));
        e.bytes_dropped = Some(1);
        assert_eq!(e.first_server_only_member(), Some("bytes-dropped"));
        e.conflict_information = Some(ConflictInformation::default());
        assert_eq!(e.first_server_only_member(), Some("conflict-information"));
        e.status = Some(MitigationStatus::InProgress);
        assert_eq!(e.first_server_only_member(), Some("status"));
        e.mitigation_start = Some(1);
        assert_eq!(e.first_server_only_member(), Some("mitigation-start"));
        e.mid = Some(1);
        assert_eq!(e.first_server_only_member(), Some("mid"));
        // Alone, each is found.
        let alone = ScopeEntry {
            bps_dropped: Some(7),
            ..ScopeEntry::default()
        };
        assert_eq!(alone.first_server_only_member(), Some("bps-dropped"));
    }

    #[test]
    fn a_stored_scope_is_at_most_512_bytes() {
        let size = core::mem::size_of::<Scope>();
        assert!(size <= 512, "Scope is {size} bytes");
    }
}
