//! RFC 9244 Uri-Query filters applied by the server (Sections 8.3 and 9.2): which mitigations
//! and telemetry entries a query selects, whether two queries overlap, and the observations
//! registered with a query (filtered `/mitigate` observations and every `/tm` observation).
//!
//! Matching follows RFC 9244 Section 8.3: "If more than one Uri-Query option is included in a
//! request, these options are interpreted in the same way as when multiple target attributes
//! are included in a message body (Section 4.4.1 of [RFC9132])". A subject matches when
//!
//! - with address filters (`target-prefix`, `target-fqdn`, `target-uri`, `alias-name`): one of
//!   them designates one of its targets (a prefix overlapping one of its prefixes, its alias
//!   prefixes included; a name matching one of its names, `*` wildcards included);
//! - with `target-port` / `target-protocol`: one of its port ranges / protocols lies in the
//!   filter, or it has none (no list means every port / protocol);
//! - with `mid`: one of its `mid`s (a mitigation's own, a telemetry entry's `mid-list`) lies in
//!   the filter;
//! - with source filters: one of its attack details has a top talker matching all of them.
//!
//! Two queries overlap (Section 9.2: "MUST NOT add a new Observe entry if this query overlaps
//! with an existing Observe entry") when some subject could match both: every filter given by
//! both intersects; address filters of different kinds (a prefix and an alias) are taken to
//! intersect, as the server cannot tell without resolving them.

use alloc::boxed::Box;
use alloc::string::ToString;
use alloc::vec::Vec;

use dots_codec::coap::Code;
use dots_codec::ipnet::IpNet;
use dots_codec::model::telemetry::TelemetryAttackDetail;
use dots_codec::model::Targets;
use dots_codec::query::{fqdn_matches, uri_matches, QuerySet, TargetQuery, ValueRange};

use super::hooks::{AliasTargets, SignalHooks};
use super::mitigate::Fail;
use super::request::{ObserveAction, ObserveTarget};
use super::telemetry::prefixes_overlap;
use super::SignalServer;

/// What an observation with a query watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Resource {
    /// `/mitigate/cuid=C[/mid=M]?...`.
    Mitigation(Option<u32>),
    /// `/tm/cuid=C[/tmid=T][?...]`.
    Telemetry(Option<u32>),
}

impl Resource {
    /// Whether two resources can select the same item.
    fn intersects(self, other: Resource) -> bool {
        match (self, other) {
            (Resource::Mitigation(a), Resource::Mitigation(b))
            | (Resource::Telemetry(a), Resource::Telemetry(b)) => {
                a.is_none() || b.is_none() || a == b
            }
            _ => false,
        }
    }
}

/// An observation registered with a query.
#[derive(Debug, Clone)]
pub(crate) struct QueryObserver {
    pub(crate) id: u32,
    pub(crate) resource: Resource,
    /// The query, as canonical Uri-Query options.
    pub(crate) options: Box<[Box<str>]>,
    /// A `/tm` notification is pending.
    pub(crate) dirty: bool,
    /// Since when (the oldest pending goes first).
    pub(crate) since: crate::time::Instant,
}

impl QueryObserver {
    pub(crate) fn query(&self) -> TargetQuery<'_> {
        TargetQuery::parse(self.options.iter().map(|s| &**s), QuerySet::TELEMETRY)
            .unwrap_or_default()
    }

    pub(crate) fn target(&self) -> ObserveTarget {
        match self.resource {
            Resource::Mitigation(_) => ObserveTarget::FilteredMitigations(self.id),
            Resource::Telemetry(_) => ObserveTarget::Telemetry(self.id),
        }
    }
}

/// What a query is matched against.
pub(crate) struct Subject<'s> {
    pub(crate) targets: &'s Targets,
    pub(crate) aliases: &'s [AliasTargets],
    pub(crate) mids: &'s [u32],
    pub(crate) details: &'s [TelemetryAttackDetail],
}

fn ranges_hit<T: Copy + Ord>(
    filter: impl Iterator<Item = ValueRange<T>> + Clone,
    mut subject: impl Iterator<Item = (T, T)>,
) -> bool {
    subject.any(|(l, u)| filter.clone().any(|r| r.overlaps(l, u)))
}

/// Whether `s` matches `q` (see the module documentation).
pub(crate) fn matches(q: &TargetQuery<'_>, s: &Subject<'_>) -> bool {
    let t = s.targets;
    let a = s.aliases;
    if q.has_address_filter() {
        let prefixes = || {
            t.prefixes
                .iter()
                .chain(a.iter().flat_map(|x| x.prefixes.iter()))
        };
        let fqdns = || {
            t.fqdns()
                .chain(a.iter().flat_map(|x| x.fqdns.iter().map(|f| f.as_str())))
        };
        let uris = || {
            t.uris()
                .chain(a.iter().flat_map(|x| x.uris.iter().map(|u| u.as_str())))
        };
        let hit = q
            .target_prefixes()
            .any(|f| prefixes().any(|p| prefixes_overlap(&f, p)))
            || q.target_fqdns()
                .any(|f| fqdns().any(|n| fqdn_matches(f, n)))
            || q.target_uris().any(|f| uris().any(|u| uri_matches(f, u)))
            || q.alias_names().any(|f| t.alias_names().any(|n| n == f));
        if !hit {
            return false;
        }
    }
    if q.raw(dots_codec::query::QueryType::TargetPort).is_some() {
        let mut ports = t
            .port_ranges
            .iter()
            .map(|r| (r.lower, r.last()))
            .chain(a.iter().flat_map(|x| x.port_ranges.iter().copied()))
            .peekable();
        if ports.peek().is_some() && !ranges_hit(q.target_ports(), ports) {
            return false;
        }
    }
    if q.raw(dots_codec::query::QueryType::TargetProtocol)
        .is_some()
    {
        let mut protocols = t
            .protocols
            .iter()
            .copied()
            .chain(a.iter().flat_map(|x| x.protocols.iter().copied()))
            .map(|p| (p, p))
            .peekable();
        if protocols.peek().is_some() && !ranges_hit(q.target_protocols(), protocols) {
            return false;
        }
    }
    if q.raw(dots_codec::query::QueryType::Mid).is_some()
        && !ranges_hit(q.mids(), s.mids.iter().map(|m| (*m, *m)))
    {
        return false;
    }
    if q.has_source_filter() {
        let talker_hit = s
            .details
            .iter()
            .flat_map(|d| d.top_talker.iter())
            .any(|tk| {
                let prefix_ok = q.raw(dots_codec::query::QueryType::SourcePrefix).is_none()
                    || q.source_prefixes()
                        .any(|f| prefixes_overlap(&f, &tk.source_prefix));
                let port_ok = q.raw(dots_codec::query::QueryType::SourcePort).is_none()
                    || tk.source_port_range.is_empty()
                    || ranges_hit(
                        q.source_ports(),
                        tk.source_port_range.iter().map(|r| (r.lower, r.last())),
                    );
                let icmp_ok = q
                    .raw(dots_codec::query::QueryType::SourceIcmpType)
                    .is_none()
                    || tk.source_icmp_type_range.is_empty()
                    || ranges_hit(
                        q.source_icmp_types(),
                        tk.source_icmp_type_range
                            .iter()
                            .map(|r| (r.lower, r.upper.unwrap_or(r.lower))),
                    );
                prefix_ok && port_ok && icmp_ok
            });
        if !talker_hit {
            return false;
        }
    }
    true
}

fn lists_intersect<T: Copy + Ord>(
    a: impl Iterator<Item = ValueRange<T>>,
    b: impl Iterator<Item = ValueRange<T>> + Clone,
) -> bool {
    let mut a = a;
    a.any(|x| b.clone().any(|y| x.overlaps(y.lower, y.upper)))
}

fn prefix_lists_intersect(
    a: impl Iterator<Item = IpNet>,
    b: impl Iterator<Item = IpNet> + Clone,
) -> bool {
    let mut a = a;
    a.any(|x| b.clone().any(|y| prefixes_overlap(&x, &y)))
}

fn names_intersect<'x>(
    a: impl Iterator<Item = &'x str>,
    b: impl Iterator<Item = &'x str> + Clone,
    m: fn(&str, &str) -> bool,
) -> bool {
    let mut a = a;
    a.any(|x| {
        b.clone().any(|y| {
            m(x, y)
                || m(y, x)
                // Two wildcards: one's suffix inside the other's.
                || (x.contains('*') && y.contains('*') && {
                    let (sx, sy) = (x.replacen('*', "w", 1), y.replacen('*', "w", 1));
                    m(x, &sy) || m(y, &sx)
                })
        })
    })
}

/// Whether some subject could match both queries (see the module documentation).
pub(crate) fn overlap(a: &TargetQuery<'_>, b: &TargetQuery<'_>) -> bool {
    use dots_codec::query::QueryType as Q;
    let both = |q: Q| a.raw(q).is_some() && b.raw(q).is_some();
    if a.has_address_filter() && b.has_address_filter() {
        let kinds = [Q::TargetPrefix, Q::TargetFqdn, Q::TargetUri, Q::TargetAlias];
        let same_kinds = kinds
            .iter()
            .all(|k| a.raw(*k).is_some() == b.raw(*k).is_some());
        let hit = (both(Q::TargetPrefix)
            && prefix_lists_intersect(a.target_prefixes(), b.target_prefixes()))
            || (both(Q::TargetFqdn)
                && names_intersect(a.target_fqdns(), b.target_fqdns(), fqdn_matches))
            || (both(Q::TargetUri)
                && names_intersect(a.target_uris(), b.target_uris(), uri_matches))
            || (both(Q::TargetAlias) && a.alias_names().any(|x| b.alias_names().any(|y| x == y)));
        if !hit && same_kinds {
            return false;
        }
    }
    if both(Q::TargetPort) && !lists_intersect(a.target_ports(), b.target_ports()) {
        return false;
    }
    if both(Q::TargetProtocol) && !lists_intersect(a.target_protocols(), b.target_protocols()) {
        return false;
    }
    if both(Q::Mid) && !lists_intersect(a.mids(), b.mids()) {
        return false;
    }
    if both(Q::SourcePrefix) && !prefix_lists_intersect(a.source_prefixes(), b.source_prefixes()) {
        return false;
    }
    if both(Q::SourcePort) && !lists_intersect(a.source_ports(), b.source_ports()) {
        return false;
    }
    if both(Q::SourceIcmpType) && !lists_intersect(a.source_icmp_types(), b.source_icmp_types()) {
        return false;
    }
    true
}

/// The canonical options of a query (the `c` filter left out: it selects data nodes, not
/// targets).
pub(crate) fn canonical(q: &TargetQuery<'_>) -> Box<[Box<str>]> {
    q.options()
        .filter(|o| o.query() != dots_codec::query::QueryType::Content)
        .map(|o| o.to_string().into_boxed_str())
        .collect()
}

impl<H: SignalHooks> SignalServer<H> {
    /// The filters a resource accepts: those of `resource` the server supports (only `c`
    /// without telemetry support).
    pub(crate) fn query_set(&self, resource: QuerySet) -> QuerySet {
        let supported = self.config.telemetry.as_ref().map_or(
            QuerySet::EMPTY.with(dots_codec::query::QueryType::Content),
            |p| {
                p.supported_query_types
                    .with(dots_codec::query::QueryType::Content)
            },
        );
        resource.intersection(supported)
    }

    /// Parses the Uri-Query of a GET on a resource accepting `resource` filters: 4.00 for an
    /// invalid or unsupported query (RFC 9244 Section 8.3).
    pub(crate) fn parse_filters<'q>(
        &self,
        options: &'q [&'q str],
        resource: QuerySet,
    ) -> Result<TargetQuery<'q>, Fail> {
        TargetQuery::parse(options.iter().copied(), self.query_set(resource))
            .map_err(|e| Fail::Text(Code::BAD_REQUEST, alloc::format!("{e}")))
    }

    /// Registers an observation with a query (Observe=0). A filtered `/mitigate` observation
    /// that overlaps an existing observation of the client is 4.09 (RFC 9244 Section 9.2); a
    /// `/tm` observation equal to an existing one is that one.
    pub(crate) fn register_query_observer(
        &mut self,
        slot: u32,
        resource: Resource,
        query: &TargetQuery<'_>,
    ) -> Result<ObserveAction, Fail> {
        let max = self.config.quotas.max_observers;
        let options = canonical(query);
        let cuid = self.cuid_arc(slot);
        let c = self.client(slot).ok_or(Fail::Internal)?;
        if let Resource::Mitigation(mid) = resource {
            // An unfiltered observation selects everything it watches.
            let unfiltered = c.observe_all
                || mid.is_some_and(|m| c.get(m).is_some_and(|r| r.observed))
                || (mid.is_none()
                    && c.mitigations
                        .iter()
                        .any(|m| m.observed && self.mitigation_matches(slot, m.mid, query)));
            let clash = c.telemetry.as_deref().is_some_and(|t| {
                t.observers
                    .iter()
                    .any(|o| o.resource.intersects(resource) && overlap(&o.query(), query))
            });
            if unfiltered || clash {
                return Err(Fail::diag(
                    Code::CONFLICT,
                    "this query overlaps an existing observation (RFC 9244 Section 9.2)",
                ));
            }
        } else if let Some(o) = c.telemetry.as_deref().and_then(|t| {
            t.observers
                .iter()
                .find(|o| o.resource == resource && o.options == options)
        }) {
            return Ok(ObserveAction::Registered {
                cuid,
                target: o.target(),
            });
        }
        if c.observers as usize >= max {
            let target = match resource {
                Resource::Mitigation(_) => ObserveTarget::FilteredMitigations(u32::MAX),
                Resource::Telemetry(_) => ObserveTarget::Telemetry(u32::MAX),
            };
            return Ok(ObserveAction::Refused { cuid, target });
        }
        let t = self.tm_state_mut(slot).ok_or(Fail::Internal)?;
        let id = t.next_observer;
        t.next_observer = t.next_observer.wrapping_add(1);
        let o = QueryObserver {
            id,
            resource,
            options,
            dirty: false,
            since: crate::time::Instant::ZERO,
        };
        let target = o.target();
        t.observers.push(o);
        if let Some(c) = self.client_mut(slot) {
            c.observers += 1;
        }
        Ok(ObserveAction::Registered { cuid, target })
    }

    /// The observation with a query that `Observe=1` on this resource and query ends, if any.
    pub(crate) fn find_query_observer(
        &self,
        slot: Option<u32>,
        resource: Resource,
        query: &TargetQuery<'_>,
    ) -> Option<ObserveTarget> {
        let options = canonical(query);
        self.tm_state(slot)?
            .observers
            .iter()
            .find(|o| o.resource == resource && o.options == options)
            .map(QueryObserver::target)
    }

    /// Ends an observation with a query ([`SignalServer::cancel_observation`]).
    pub(crate) fn cancel_query_observer(&mut self, slot: u32, id: u32) {
        let removed = self.tm_state_mut(slot).is_some_and(|t| {
            let before = t.observers.len();
            t.observers.retain(|o| o.id != id);
            t.observers.len() != before
        });
        if removed {
            if let Some(c) = self.client_mut(slot) {
                c.observers = c.observers.saturating_sub(1);
            }
            if !self
                .tm_state(Some(slot))
                .is_some_and(|t| t.observers.iter().any(|o| o.dirty))
            {
                self.tm_unschedule(slot);
            }
        }
        self.tm_tidy(slot);
    }

    /// Drops every observation with a query of a client (session lost or closed).
    pub(crate) fn clear_query_observers(&mut self, slot: u32) {
        self.tm_unschedule(slot);
        if let Some(t) = self
            .client_mut(slot)
            .and_then(|c| c.telemetry.as_deref_mut())
        {
            t.observers.clear();
        }
        if let Some(c) = self.client_mut(slot) {
            if c.telemetry
                .as_deref()
                .is_some_and(super::telemetry::ClientTelemetry::is_empty)
            {
                c.telemetry = None;
            }
        }
    }

    /// Whether a mitigation matches a query (the stored request with its alias targets).
    pub(crate) fn mitigation_matches(&self, slot: u32, mid: u32, q: &TargetQuery<'_>) -> bool {
        if q.is_empty() {
            return true;
        }
        let Some(m) = self.client(slot).and_then(|c| c.get(mid)) else {
            return false;
        };
        let scope = super::encode::stored_request(m).entry.scope;
        matches(
            q,
            &Subject {
                targets: &scope.targets,
                aliases: m.aliases(),
                mids: &[mid],
                details: &[],
            },
        )
    }

    /// The filtered `/mitigate` observations of a client that a change of `mid` concerns.
    pub(crate) fn mitigation_queries(&self, slot: u32, mid: u32) -> Vec<ObserveTarget> {
        let Some(t) = self.tm_state(Some(slot)) else {
            return Vec::new();
        };
        t.observers
            .iter()
            .filter(|o| match o.resource {
                Resource::Mitigation(m) => m.is_none_or(|m| m == mid),
                Resource::Telemetry(_) => false,
            })
            .filter(|o| self.mitigation_matches(slot, mid, &o.query()))
            .map(QueryObserver::target)
            .collect()
    }

    /// Whether a client has filtered `/mitigate` observations that may concern `mid`.
    pub(crate) fn has_mitigation_queries(&self, slot: u32, mid: u32) -> bool {
        self.tm_state(Some(slot)).is_some_and(|t| {
            t.observers.iter().any(
                |o| matches!(o.resource, Resource::Mitigation(m) if m.is_none_or(|m| m == mid)),
            )
        })
    }

    /// Ends the filtered observations bound to a removed mitigation; returns them.
    pub(crate) fn end_mitigation_queries(&mut self, slot: u32, mid: u32) -> Vec<ObserveTarget> {
        let mut ended = Vec::new();
        if let Some(t) = self
            .client_mut(slot)
            .and_then(|c| c.telemetry.as_deref_mut())
        {
            t.observers.retain(|o| {
                let gone = o.resource == Resource::Mitigation(Some(mid));
                if gone {
                    ended.push(o.target());
                }
                !gone
            });
        }
        if let Some(c) = self.client_mut(slot) {
            c.observers = c
                .observers
                .saturating_sub(u32::try_from(ended.len()).unwrap_or(u32::MAX));
        }
        ended
    }
}
