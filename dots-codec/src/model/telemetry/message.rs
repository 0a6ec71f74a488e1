//! The `telemetry` message (RFC 9244 Section 8: pre-or-ongoing-mitigation telemetry) and the
//! telemetry of mitigation scopes (Section 9).

use super::{
    ConnectionGauges, PortConnection, PortTraffic, ProtocolConnection, ProtocolTraffic,
    ScopeAttackDetail, TelemetryAttackDetail, UnitTraffic, MAX_ATTACK_DETAILS,
    MAX_CONNECTION_ENTRIES, MAX_KEYED_TRAFFIC, MAX_MID_LIST, MAX_PRE_OR_ONGOING,
    MAX_TELEMETRY_SCOPES, MAX_UNIT_TRAFFIC,
};
use crate::model::{CapacityError, MitigationRequest, Targets};

/// The `target` of a `pre-or-ongoing-mitigation` entry: the target clauses and `mid-list`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct TelemetryTarget {
    /// `target-prefix`, `target-port-range`, `target-protocol`, `target-fqdn`, `target-uri`,
    /// `alias-name`.
    pub targets: Targets,
    /// `mid-list`: the mitigation requests this telemetry is about.
    pub mid_list: heapless::Vec<u32, MAX_MID_LIST, u8>,
}

impl TelemetryTarget {
    /// Whether one of `target-prefix`, `target-fqdn`, `target-uri`, `alias-name` or `mid-list`
    /// is present (RFC 9244 Section 8.1.1).
    pub fn has_target(&self) -> bool {
        self.targets.has_target() || !self.mid_list.is_empty()
    }

    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty() && self.mid_list.is_empty()
    }
}

/// One `pre-or-ongoing-mitigation` entry (RFC 9244 Section 8.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct PreOrOngoingMitigation {
    /// `tmid`: server-to-client only (a request carries it in the Uri-Path).
    pub tmid: Option<u32>,
    /// `target`.
    pub target: TelemetryTarget,
    /// `total-traffic`.
    pub total_traffic: heapless::Vec<UnitTraffic, MAX_UNIT_TRAFFIC, u8>,
    /// `total-traffic-protocol`.
    pub total_traffic_protocol: heapless::Vec<ProtocolTraffic, MAX_KEYED_TRAFFIC, u8>,
    /// `total-traffic-port`.
    pub total_traffic_port: heapless::Vec<PortTraffic, MAX_KEYED_TRAFFIC, u8>,
    /// `total-attack-traffic`.
    pub total_attack_traffic: heapless::Vec<UnitTraffic, MAX_UNIT_TRAFFIC, u8>,
    /// `total-attack-traffic-protocol`.
    pub total_attack_traffic_protocol: heapless::Vec<ProtocolTraffic, MAX_KEYED_TRAFFIC, u8>,
    /// `total-attack-traffic-port`.
    pub total_attack_traffic_port: heapless::Vec<PortTraffic, MAX_KEYED_TRAFFIC, u8>,
    /// `total-attack-connection-protocol`.
    pub total_attack_connection_protocol:
        heapless::Vec<ProtocolConnection, MAX_CONNECTION_ENTRIES, u8>,
    /// `total-attack-connection-port`.
    pub total_attack_connection_port: heapless::Vec<PortConnection, MAX_CONNECTION_ENTRIES, u8>,
    /// `attack-detail`.
    pub attack_detail: heapless::Vec<TelemetryAttackDetail, MAX_ATTACK_DETAILS, u8>,
}

impl PreOrOngoingMitigation {
    /// Whether any pre-or-ongoing-mitigation attribute other than `target` (and `tmid`) is
    /// present.
    pub fn has_telemetry(&self) -> bool {
        !(self.total_traffic.is_empty()
            && self.total_traffic_protocol.is_empty()
            && self.total_traffic_port.is_empty()
            && self.total_attack_traffic.is_empty()
            && self.total_attack_traffic_protocol.is_empty()
            && self.total_attack_traffic_port.is_empty()
            && self.total_attack_connection_protocol.is_empty()
            && self.total_attack_connection_port.is_empty()
            && self.attack_detail.is_empty())
    }
}

/// The `ietf-dots-telemetry:telemetry` body (CBOR key 208): a client's PUT to `/tm`, or a
/// server's GET response or notification.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Telemetry {
    /// `pre-or-ongoing-mitigation`.
    pub pre_or_ongoing_mitigation: heapless::Vec<PreOrOngoingMitigation, MAX_PRE_OR_ONGOING, u8>,
}

impl Telemetry {
    /// A body with one entry.
    pub fn new(entry: PreOrOngoingMitigation) -> Telemetry {
        let mut t = Telemetry::default();
        // One entry always fits.
        let _ = t.pre_or_ongoing_mitigation.push(entry);
        t
    }
}

/// The RFC 9244 members of one mitigation `scope` (CBOR keys 204–207; JSON
/// `ietf-dots-telemetry:*`): efficacy updates from the client (Section 9.1) and mitigation
/// status from the server (Section 9.2).
///
/// Kept apart from [`Scope`](crate::model::Scope) and
/// [`ScopeEntry`](crate::model::ScopeEntry) so that what a server stores per mitigation stays
/// small: bodies carry it as an attachment ([`EfficacyUpdate`],
/// [`MitigationScope::telemetry`](crate::model::MitigationScope::telemetry)).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ScopeTelemetry {
    /// `total-traffic` (server-to-client only).
    pub total_traffic: heapless::Vec<UnitTraffic, MAX_UNIT_TRAFFIC, u8>,
    /// `total-attack-traffic`.
    pub total_attack_traffic: heapless::Vec<UnitTraffic, MAX_UNIT_TRAFFIC, u8>,
    /// `total-attack-connection` (server-to-client only).
    pub total_attack_connection: ConnectionGauges,
    /// `attack-detail`.
    pub attack_detail: heapless::Vec<ScopeAttackDetail, MAX_ATTACK_DETAILS, u8>,
}

impl ScopeTelemetry {
    /// Whether no member is present.
    pub fn is_empty(&self) -> bool {
        self.total_traffic.is_empty()
            && self.total_attack_traffic.is_empty()
            && self.total_attack_connection.is_empty()
            && self.attack_detail.is_empty()
    }

    /// The name of the first server-to-client-only member present, if any.
    pub fn first_server_only_member(&self) -> Option<&'static str> {
        if !self.total_traffic.is_empty() {
            Some("total-traffic")
        } else if !self.total_attack_connection.is_empty() {
            Some("total-attack-connection")
        } else {
            None
        }
    }
}

/// Telemetry of the scope at index `scope` of a mitigation-scope body.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub(crate) struct Attached {
    pub(crate) scope: u8,
    pub(crate) telemetry: ScopeTelemetry,
}

/// The telemetry attached to the scopes of a [`MitigationScope`](crate::model::MitigationScope)
/// body, by scope index, at most [`MAX_TELEMETRY_SCOPES`] scopes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ScopeTelemetryList {
    items: heapless::Vec<Attached, MAX_TELEMETRY_SCOPES, u8>,
}

impl ScopeTelemetryList {
    /// No telemetry.
    pub const fn new() -> ScopeTelemetryList {
        ScopeTelemetryList {
            items: heapless::Vec::new(),
        }
    }

    /// The telemetry of scope `index`, if any.
    pub fn get(&self, index: usize) -> Option<&ScopeTelemetry> {
        self.items
            .iter()
            .find(|a| usize::from(a.scope) == index)
            .map(|a| &a.telemetry)
    }

    /// Sets the telemetry of scope `index` (an empty one removes it). Attaching to more than
    /// [`MAX_TELEMETRY_SCOPES`] scopes (or to an index beyond the scope limit) is a
    /// [`CapacityError`].
    pub fn set(&mut self, index: usize, telemetry: ScopeTelemetry) -> Result<(), CapacityError> {
        let full = CapacityError::TooManyItems {
            limit: MAX_TELEMETRY_SCOPES,
        };
        let Ok(scope) = u8::try_from(index) else {
            return Err(full);
        };
        let at = self.items.iter().position(|a| a.scope >= scope);
        match at {
            Some(i) if self.items.get(i).is_some_and(|a| a.scope == scope) => {
                if telemetry.is_empty() {
                    self.items.remove(i);
                } else if let Some(a) = self.items.get_mut(i) {
                    a.telemetry = telemetry;
                }
                Ok(())
            }
            _ if telemetry.is_empty() => Ok(()),
            Some(i) => self
                .items
                .insert(i, Attached { scope, telemetry })
                .map_err(|_| full),
            None => self
                .items
                .push(Attached { scope, telemetry })
                .map_err(|_| full),
        }
    }

    /// Attaches `telemetry` to scope `index` in place: the decoders' path (indices ascend).
    pub(crate) fn open(&mut self, index: u8) -> Result<&mut ScopeTelemetry, CapacityError> {
        if self.items.last().is_none_or(|a| a.scope != index) {
            self.items
                .push(Attached {
                    scope: index,
                    telemetry: ScopeTelemetry::default(),
                })
                .map_err(|_| CapacityError::TooManyItems {
                    limit: MAX_TELEMETRY_SCOPES,
                })?;
        }
        match self.items.last_mut() {
            Some(a) => Ok(&mut a.telemetry),
            None => Err(CapacityError::TooManyItems {
                limit: MAX_TELEMETRY_SCOPES,
            }),
        }
    }

    /// Removes a trailing entry left empty by a decoder.
    pub(crate) fn close_if_empty(&mut self) {
        if self.items.last().is_some_and(|a| a.telemetry.is_empty()) {
            self.items.pop();
        }
    }

    /// `(scope index, telemetry)` pairs, by ascending index.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &ScopeTelemetry)> + '_ {
        self.items
            .iter()
            .map(|a| (usize::from(a.scope), &a.telemetry))
    }

    /// Number of scopes with telemetry.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether no scope has telemetry.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// An efficacy update (PUT with If-Match, RFC 9132 Section 4.4.3) with the RFC 9244 telemetry
/// of its scope (Section 9.1): `total-attack-traffic` and `attack-detail`.
///
/// [`MitigationRequest`] decodes the same bodies but skips the telemetry members (they are
/// comprehension-optional); decode this type to read them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct EfficacyUpdate {
    /// The request.
    pub request: MitigationRequest,
    /// The telemetry of its scope.
    pub telemetry: ScopeTelemetry,
}
