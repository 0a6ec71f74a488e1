//! Mitigation requests and responses (RFC 9132 Section 4.4), with RFC 9133's `acl-list` and
//! RFC 9066's call-home attack-source attributes.

use ipnet::IpNet;

use super::telemetry::ScopeTelemetryList;
use super::text::{TextKind, TextPool};
use super::{
    ActivationType, AttackStatus, CapacityError, ConflictCause, ConflictStatus, MitigationStatus,
    MAX_PORT_RANGES, MAX_PROTOCOLS, MAX_SCOPES, MAX_SOURCE_ICMP_TYPE_RANGES,
    MAX_SOURCE_PORT_RANGES, MAX_SOURCE_PREFIXES, MAX_TARGET_PREFIXES, TEXT_CAPACITY,
};

/// A `target-port-range` / `source-port-range` entry: `lower-port` and optional `upper-port`
/// (only `lower-port` means a single port).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortRange {
    /// `lower-port`.
    pub lower: u16,
    /// `upper-port`; must be `>= lower` (checked by validation, not by the codec).
    pub upper: Option<u16>,
}

impl PortRange {
    /// A single port.
    pub const fn single(port: u16) -> PortRange {
        PortRange {
            lower: port,
            upper: None,
        }
    }

    /// `lower..=upper`.
    pub const fn new(lower: u16, upper: u16) -> PortRange {
        PortRange {
            lower,
            upper: Some(upper),
        }
    }

    /// The last port of the range.
    pub fn last(&self) -> u16 {
        self.upper.unwrap_or(self.lower)
    }
}

/// An RFC 9066 `source-icmp-type-range` entry (`lower-type`, optional `upper-type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IcmpTypeRange {
    /// `lower-type`.
    pub lower: u8,
    /// `upper-type`; must be `>= lower` (checked by validation).
    pub upper: Option<u8>,
}

/// `lifetime` (RFC 9132 Section 4.4.1.1): seconds, or `-1` for indefinite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lifetime {
    /// A lifetime in seconds. `0` is representable so that validation can reject it (4.00).
    Seconds(u32),
    /// `-1`: an indefinite lifetime.
    Indefinite,
}

impl Lifetime {
    /// The wire value: seconds, or -1.
    pub const fn as_i64(self) -> i64 {
        match self {
            Lifetime::Seconds(s) => s as i64,
            Lifetime::Indefinite => -1,
        }
    }

    /// From the wire value; `None` for negatives other than -1 and values above `u32::MAX`.
    pub fn from_i64(v: i64) -> Option<Lifetime> {
        match v {
            -1 => Some(Lifetime::Indefinite),
            _ => u32::try_from(v).ok().map(Lifetime::Seconds),
        }
    }
}

/// One RFC 9133 `ietf-dots-signal-control:acl-list` entry of a scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AclControl<'a> {
    /// `acl-name`.
    pub name: &'a str,
    /// `activation-type` (absent means `activate-when-mitigating`, the YANG default).
    pub activation_type: Option<ActivationType>,
}

/// One `acl-list` entry of a `conflict-scope` (RFC 9132): `acl-name` and `acl-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConflictAcl<'a> {
    /// `acl-name`.
    pub name: &'a str,
    /// `acl-type` (an ACL type identity such as `ipv6-acl-type`), if given.
    pub acl_type: Option<&'a str>,
}

const ACL_HAS_TYPE: u8 = 0x80;

/// The target clauses of a scope or conflict scope: `target-prefix`, `target-port-range`,
/// `target-protocol`, `target-fqdn`, `target-uri`, `alias-name`, and the ACL names.
///
/// Lists are bounded by [`MAX_TARGET_PREFIXES`], [`MAX_PORT_RANGES`] and [`MAX_PROTOCOLS`]; all
/// text (FQDNs, URIs, alias names, ACL names) shares one buffer of [`TEXT_CAPACITY`] bytes, each
/// item costing its length plus 4 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Targets {
    /// `target-prefix`.
    pub prefixes: heapless::Vec<IpNet, MAX_TARGET_PREFIXES, u8>,
    /// `target-port-range`.
    pub port_ranges: heapless::Vec<PortRange, MAX_PORT_RANGES, u8>,
    /// `target-protocol` (IANA protocol numbers).
    pub protocols: heapless::Vec<u8, MAX_PROTOCOLS, u8>,
    pub(crate) text: TextPool<TEXT_CAPACITY>,
}

impl Targets {
    /// No targets.
    pub const fn new() -> Targets {
        Targets {
            prefixes: heapless::Vec::new(),
            port_ranges: heapless::Vec::new(),
            protocols: heapless::Vec::new(),
            text: TextPool::new(),
        }
    }

    /// `target-fqdn` values.
    pub fn fqdns(&self) -> impl Iterator<Item = &str> + Clone + '_ {
        self.text.iter(TextKind::Fqdn).map(|e| e.a)
    }

    /// `target-uri` values.
    pub fn uris(&self) -> impl Iterator<Item = &str> + Clone + '_ {
        self.text.iter(TextKind::Uri).map(|e| e.a)
    }

    /// `alias-name` values.
    pub fn alias_names(&self) -> impl Iterator<Item = &str> + Clone + '_ {
        self.text.iter(TextKind::Alias).map(|e| e.a)
    }

    /// Adds a `target-fqdn`.
    pub fn push_fqdn(&mut self, fqdn: &str) -> Result<(), CapacityError> {
        self.text.push(TextKind::Fqdn, 0, fqdn, "")
    }

    /// Adds a `target-uri`.
    pub fn push_uri(&mut self, uri: &str) -> Result<(), CapacityError> {
        self.text.push(TextKind::Uri, 0, uri, "")
    }

    /// Adds an `alias-name`.
    pub fn push_alias_name(&mut self, alias: &str) -> Result<(), CapacityError> {
        self.text.push(TextKind::Alias, 0, alias, "")
    }

    /// Adds a `target-prefix`.
    pub fn push_prefix(&mut self, prefix: IpNet) -> Result<(), CapacityError> {
        self.prefixes
            .push(prefix)
            .map_err(|_| CapacityError::TooManyItems {
                limit: MAX_TARGET_PREFIXES,
            })
    }

    /// Bytes of the shared text buffer in use.
    pub fn text_bytes_used(&self) -> usize {
        self.text.used()
    }

    /// Whether at least one of `target-prefix`, `target-fqdn`, `target-uri` or `alias-name` is
    /// present (RFC 9132 Section 4.4.1.1 requires one in a PUT).
    pub fn has_target(&self) -> bool {
        !self.prefixes.is_empty()
            || self.text.count(TextKind::Fqdn) > 0
            || self.text.count(TextKind::Uri) > 0
            || self.text.count(TextKind::Alias) > 0
    }

    /// Whether nothing at all is set.
    pub fn is_empty(&self) -> bool {
        self.prefixes.is_empty()
            && self.port_ranges.is_empty()
            && self.protocols.is_empty()
            && self.text.is_empty()
    }

    pub(crate) fn acl_count(&self) -> usize {
        self.text.count(TextKind::Acl)
    }
}

/// RFC 9066 call-home attack-source attributes of a scope (`ietf-dots-call-home:source-*`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct CallHome {
    /// `source-prefix`: attacker prefixes.
    pub source_prefixes: heapless::Vec<IpNet, MAX_SOURCE_PREFIXES, u8>,
    /// `source-port-range`.
    pub source_port_ranges: heapless::Vec<PortRange, MAX_SOURCE_PORT_RANGES, u8>,
    /// `source-icmp-type-range`.
    pub source_icmp_type_ranges: heapless::Vec<IcmpTypeRange, MAX_SOURCE_ICMP_TYPE_RANGES, u8>,
}

impl CallHome {
    /// Whether no call-home attribute is present.
    pub fn is_empty(&self) -> bool {
        self.source_prefixes.is_empty()
            && self.source_port_ranges.is_empty()
            && self.source_icmp_type_ranges.is_empty()
    }
}

/// What a DOTS client asks for in one `scope`: the part of a scope a server keeps for an active
/// mitigation. Compact by design (at most 512 bytes; see the crate README).
///
/// Server-to-client members (`mid`, `status`, counters, conflicts) live in [`ScopeEntry`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Scope {
    /// Targets, alias names and the RFC 9133 `acl-list`.
    pub targets: Targets,
    /// `lifetime`; mandatory in a mitigation request (RFC 9132 Section 4.4.1.1).
    pub lifetime: Option<Lifetime>,
    /// `trigger-mitigation` (absent means true).
    pub trigger_mitigation: Option<bool>,
    /// `attack-status` (efficacy updates, RFC 9132 Section 4.4.3).
    pub attack_status: Option<AttackStatus>,
    /// RFC 9066 call-home attributes.
    pub call_home: CallHome,
}

impl Scope {
    /// An empty scope.
    pub const fn new() -> Scope {
        Scope {
            targets: Targets::new(),
            lifetime: None,
            trigger_mitigation: None,
            attack_status: None,
            call_home: CallHome {
                source_prefixes: heapless::Vec::new(),
                source_port_ranges: heapless::Vec::new(),
                source_icmp_type_ranges: heapless::Vec::new(),
            },
        }
    }

    /// The RFC 9133 `ietf-dots-signal-control:acl-list` entries.
    pub fn acl_list(&self) -> impl Iterator<Item = AclControl<'_>> + Clone + '_ {
        self.targets.text.iter(TextKind::Acl).map(|e| AclControl {
            name: e.a,
            activation_type: ActivationType::from_value(u64::from(e.aux & !ACL_HAS_TYPE)),
        })
    }

    /// Adds an RFC 9133 `acl-list` entry.
    pub fn push_acl(
        &mut self,
        name: &str,
        activation_type: Option<ActivationType>,
    ) -> Result<(), CapacityError> {
        let aux = activation_type.map_or(0, ActivationType::value);
        self.targets.text.push(TextKind::Acl, aux, name, "")
    }

    /// Whether the scope carries an RFC 9133 `acl-list`.
    pub fn has_acl_list(&self) -> bool {
        self.targets.acl_count() > 0
    }

    /// The effective `trigger-mitigation` (YANG default: true).
    pub fn triggers_mitigation(&self) -> bool {
        self.trigger_mitigation.unwrap_or(true)
    }
}

/// `conflict-scope` (RFC 9132 Section 4.4.1.3): the conflicting target clauses, alias names,
/// `acl-list` (`acl-name`, `acl-type`) and `mid`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ConflictScope {
    /// Conflicting targets and alias names.
    pub targets: Targets,
    /// `mid` of the conflicting request.
    pub mid: Option<u32>,
}

impl ConflictScope {
    /// The `acl-list` entries.
    pub fn acl_list(&self) -> impl Iterator<Item = ConflictAcl<'_>> + Clone + '_ {
        self.targets.text.iter(TextKind::Acl).map(|e| ConflictAcl {
            name: e.a,
            acl_type: (e.aux & ACL_HAS_TYPE != 0).then_some(e.b),
        })
    }

    /// Adds an `acl-list` entry.
    pub fn push_acl(&mut self, name: &str, acl_type: Option<&str>) -> Result<(), CapacityError> {
        let aux = if acl_type.is_some() { ACL_HAS_TYPE } else { 0 };
        self.targets
            .text
            .push(TextKind::Acl, aux, name, acl_type.unwrap_or(""))
    }
}

/// `conflict-information` (RFC 9132 Section 4.4.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ConflictInformation {
    /// `conflict-status`.
    pub conflict_status: Option<ConflictStatus>,
    /// `conflict-cause`.
    pub conflict_cause: Option<ConflictCause>,
    /// `retry-timer` in seconds.
    pub retry_timer: Option<u32>,
    /// `conflict-scope`.
    pub conflict_scope: Option<ConflictScope>,
}

/// One `scope` list entry as it appears on the wire, in either direction: the client's
/// [`Scope`] plus the server-to-client-only members of RFC 9132 Section 4.4.2.
///
/// RFC 9244 telemetry members of a scope (`ietf-dots-telemetry:total-traffic`,
/// `total-attack-traffic`, `total-attack-connection`, `attack-detail`; CBOR keys 204–207) are
/// not stored here but in a [`ScopeTelemetry`](super::ScopeTelemetry) the body carries beside its entries
/// ([`MitigationScope::telemetry`], [`EfficacyUpdate`](super::EfficacyUpdate)).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ScopeEntry {
    /// `mid` (server-to-client only; the request carries it in the Uri-Path).
    pub mid: Option<u32>,
    /// The client-settable part.
    pub scope: Scope,
    /// `mitigation-start`, seconds since the epoch (no CBOR tag 1).
    pub mitigation_start: Option<u64>,
    /// `status`.
    pub status: Option<MitigationStatus>,
    /// `conflict-information`.
    pub conflict_information: Option<ConflictInformation>,
    /// `bytes-dropped`.
    pub bytes_dropped: Option<u64>,
    /// `bps-dropped`.
    pub bps_dropped: Option<u64>,
    /// `pkts-dropped`.
    pub pkts_dropped: Option<u64>,
    /// `pps-dropped`.
    pub pps_dropped: Option<u64>,
}

impl ScopeEntry {
    /// An entry carrying only `scope` (what a client PUTs).
    pub fn request(scope: Scope) -> ScopeEntry {
        ScopeEntry {
            scope,
            ..ScopeEntry::default()
        }
    }

    /// The name of the first server-to-client-only member present, if any.
    pub fn first_server_only_member(&self) -> Option<&'static str> {
        // In this order; checked one by one (no table of every member built per request).
        if self.mid.is_some() {
            Some("mid")
        } else if self.mitigation_start.is_some() {
            Some("mitigation-start")
        } else if self.status.is_some() {
            Some("status")
        } else if self.conflict_information.is_some() {
            Some("conflict-information")
        } else if self.bytes_dropped.is_some() {
            Some("bytes-dropped")
        } else if self.bps_dropped.is_some() {
            Some("bps-dropped")
        } else if self.pkts_dropped.is_some() {
            Some("pkts-dropped")
        } else if self.pps_dropped.is_some() {
            Some("pps-dropped")
        } else {
            None
        }
    }
}

/// The `ietf-dots-signal-channel:mitigation-scope` body with any number of scopes (up to
/// [`MAX_SCOPES`]): GET responses, notifications, 4.09 bodies. Servers decoding a PUT use
/// [`MitigationRequest`] instead.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct MitigationScope {
    /// The `scope` list.
    pub scopes: heapless::Vec<ScopeEntry, MAX_SCOPES>,
    /// RFC 9244 telemetry of some of the scopes, by index (`ietf-dots-telemetry:total-traffic`,
    /// `total-attack-traffic`, `total-attack-connection`, `attack-detail`; Section 9).
    pub telemetry: ScopeTelemetryList,
}

/// A mitigation request or efficacy update body (PUT): a `mitigation-scope` with exactly one
/// `scope` (RFC 9132 Section 4.4.1.1; more than one is 4.00).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct MitigationRequest {
    /// The single scope entry.
    pub entry: ScopeEntry,
}

impl MitigationRequest {
    /// A request for `scope`.
    pub fn new(scope: Scope) -> MitigationRequest {
        MitigationRequest {
            entry: ScopeEntry::request(scope),
        }
    }
}
