//! `/mitigate`: mitigation requests, refreshes, efficacy updates, withdrawals and retrieval
//! (RFC 9132 Sections 4.4.1–4.4.4), with conflict detection (Section 4.4.1.3).

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::ops::ControlFlow;

use dots_codec::cbor::{CborBody, DecodeError};
use dots_codec::coap::Code;
use dots_codec::ipnet::IpNet;
use dots_codec::model::{
    ActivationType, ConflictCause, ConflictInformation, ConflictScope, ConflictStatus, Lifetime,
    MitigationRequest, MitigationStatus, Scope, Targets, ValidationError,
};
use dots_codec::path::PathError;
use dots_codec::query::TargetQuery;

use super::event::{ServerEvent, TerminationReason};
use super::hooks::{AclFailure, AliasTargets, SignalHooks};
use super::index::{NameKind, Net};
use super::request::{Handled, ObserveAction, ObserveTarget, Request, Response};
use super::state::{is_active, Counters, Mitigation, Owner};
use super::{encode, ClientRef, PeerIdentity, SignalServer, MID_ROLLOVER};
use crate::time::Instant;

/// Why a request fails (becomes an error response, or nothing).
#[derive(Debug)]
pub(crate) enum Fail {
    Path(PathError),
    Decode(DecodeError),
    Invalid(ValidationError),
    Diag(Code, &'static str),
    Text(Code, String),
    CuidCollision,
    Conflict(Box<ConflictInformation>),
    Unavailable(u32),
    RateLimited(u32),
    AclFailed {
        mid: u32,
        failed: Vec<(String, Option<ActivationType>)>,
        retry_after: u32,
    },
    Ignore,
    TooSmall(usize),
    Internal,
}

impl Fail {
    pub(crate) fn diag(code: Code, text: &'static str) -> Fail {
        Fail::Diag(code, text)
    }

    pub(crate) fn code(&self) -> Code {
        match self {
            Fail::Path(e) => e.response_code(),
            Fail::Decode(e) => e.response_code(),
            Fail::Invalid(e) => e.response_code(),
            Fail::Diag(c, _) | Fail::Text(c, _) => *c,
            Fail::CuidCollision | Fail::Conflict(_) => Code::CONFLICT,
            Fail::Unavailable(_) | Fail::AclFailed { .. } => Code::SERVICE_UNAVAILABLE,
            Fail::RateLimited(_) => Code::TOO_MANY_REQUESTS,
            Fail::Ignore | Fail::TooSmall(_) | Fail::Internal => Code::INTERNAL_SERVER_ERROR,
        }
    }
}

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fail::Path(e) => write!(f, "{e}"),
            Fail::Decode(e) => write!(f, "{e}"),
            Fail::Invalid(e) => write!(f, "{e}"),
            Fail::Diag(_, t) => f.write_str(t),
            Fail::Text(_, t) => f.write_str(t),
            _ => Ok(()),
        }
    }
}

/// The client a `/mitigate` request is about.
pub(crate) struct Ctx<'a, 'p> {
    pub(crate) peer: &'a PeerIdentity<'p>,
    pub(crate) cuid: &'a str,
    pub(crate) cdid: Option<&'a str>,
    /// The client's slot, if it has state.
    pub(crate) slot: Option<u32>,
}

impl Ctx<'_, '_> {
    fn client_ref(&self) -> ClientRef<'_> {
        ClientRef {
            cuid: self.cuid,
            cdid: self.cdid,
        }
    }
}

/// Whether `new` overrides `old` (RFC 9132 Section 4.4.1.3: "the mitigation request with the
/// highest numeric 'mid' value will override the other"), counting a client's rollover from at
/// least [`MID_ROLLOVER`] back to low values (Section 4.4.1.1).
pub(crate) fn newer(new: u32, old: u32) -> bool {
    new > old || (old >= MID_ROLLOVER && new < MID_ROLLOVER)
}

/// The same scope without its `acl-list` (efficacy updates do not repeat it, RFC 9133 Section
/// 3.2.1).
fn without_acls(s: &Scope) -> Scope {
    let mut t = Targets::new();
    t.prefixes = s.targets.prefixes.clone();
    t.port_ranges = s.targets.port_ranges.clone();
    t.protocols = s.targets.protocols.clone();
    for f in s.targets.fqdns() {
        let _ = t.push_fqdn(f);
    }
    for u in s.targets.uris() {
        let _ = t.push_uri(u);
    }
    for a in s.targets.alias_names() {
        let _ = t.push_alias_name(a);
    }
    Scope {
        targets: t,
        lifetime: None,
        attack_status: None,
        trigger_mitigation: s.trigger_mitigation.filter(|t| !t),
        call_home: s.call_home.clone(),
    }
}

/// The prefixes of a request and of its aliases.
pub(crate) fn all_prefixes<'s>(
    scope: &'s Scope,
    aliases: &'s [AliasTargets],
) -> impl Iterator<Item = &'s IpNet> + 's {
    scope.targets.prefixes.iter().chain(alias_prefixes(aliases))
}

/// The prefixes of a request's aliases.
pub(crate) fn alias_prefixes(aliases: &[AliasTargets]) -> impl Iterator<Item = &IpNet> {
    aliases.iter().flat_map(|a| a.prefixes.iter())
}

/// The names (FQDN, URI, alias) of a request and of its aliases.
pub(crate) fn all_names<'s>(
    scope: &'s Scope,
    aliases: &'s [AliasTargets],
) -> impl Iterator<Item = (NameKind, &'s str)> + 's {
    let t = &scope.targets;
    t.fqdns()
        .map(|f| (NameKind::Fqdn, f))
        .chain(t.uris().map(|u| (NameKind::Uri, u)))
        .chain(t.alias_names().map(|a| (NameKind::Alias, a)))
        .chain(alias_names(aliases))
}

/// The names (FQDN, URI) of a request's aliases.
pub(crate) fn alias_names(aliases: &[AliasTargets]) -> impl Iterator<Item = (NameKind, &str)> {
    aliases.iter().flat_map(|a| {
        a.fqdns
            .iter()
            .map(|f| (NameKind::Fqdn, f.as_str()))
            .chain(a.uris.iter().map(|u| (NameKind::Uri, u.as_str())))
    })
}

fn all_ports(scope: &Scope, aliases: &[AliasTargets]) -> Vec<(u16, u16)> {
    scope
        .targets
        .port_ranges
        .iter()
        .map(|r| (r.lower, r.last()))
        .chain(aliases.iter().flat_map(|a| a.port_ranges.iter().copied()))
        .collect()
}

fn all_protocols(scope: &Scope, aliases: &[AliasTargets]) -> Vec<u8> {
    scope
        .targets
        .protocols
        .iter()
        .copied()
        .chain(aliases.iter().flat_map(|a| a.protocols.iter().copied()))
        .collect()
}

/// Whether port ranges and protocols intersect (an empty list means "any").
pub(crate) fn ports_protocols_overlap(
    a: (&Scope, &[AliasTargets]),
    b: (&Scope, &[AliasTargets]),
) -> bool {
    let (pa, pb) = (all_ports(a.0, a.1), all_ports(b.0, b.1));
    let ports = pa.is_empty()
        || pb.is_empty()
        || pa
            .iter()
            .any(|&(l1, u1)| pb.iter().any(|&(l2, u2)| l1 <= u2 && l2 <= u1));
    let (qa, qb) = (all_protocols(a.0, a.1), all_protocols(b.0, b.1));
    let protocols = qa.is_empty() || qb.is_empty() || qa.iter().any(|p| qb.contains(p));
    ports && protocols
}

/// The common targets of two requests, for `conflict-scope` (bounded by the model's limits;
/// what does not fit is left out).
fn common_targets(a: (&Scope, &[AliasTargets]), b: (&Scope, &[AliasTargets])) -> Targets {
    let mut t = Targets::new();
    for pa in all_prefixes(a.0, a.1) {
        for pb in all_prefixes(b.0, b.1) {
            let (na, nb) = (Net::from_ipnet(pa), Net::from_ipnet(pb));
            if na.overlaps(&nb) {
                let p = if na.len() >= nb.len() { *pa } else { *pb };
                if !t.prefixes.contains(&p) {
                    let _ = t.push_prefix(p);
                }
            }
        }
    }
    let (pa, pb) = (all_ports(a.0, a.1), all_ports(b.0, b.1));
    for &(l1, u1) in &pa {
        for &(l2, u2) in &pb {
            if l1 <= u2 && l2 <= u1 {
                let (l, u) = (l1.max(l2), u1.min(u2));
                let r = if l == u {
                    dots_codec::model::PortRange::single(l)
                } else {
                    dots_codec::model::PortRange::new(l, u)
                };
                if !t.port_ranges.contains(&r) {
                    let _ = t.port_ranges.push(r);
                }
            }
        }
    }
    let (qa, qb) = (all_protocols(a.0, a.1), all_protocols(b.0, b.1));
    for p in qa.iter().filter(|p| qb.contains(p)) {
        if !t.protocols.contains(p) {
            let _ = t.protocols.push(*p);
        }
    }
    let mut buf_a = [0u8; 256];
    let mut buf_b = [0u8; 256];
    for (ka, na) in all_names(a.0, a.1) {
        let la = super::index::normalize(ka, na, &mut buf_a);
        let hit = all_names(b.0, b.1).any(|(kb, nb)| {
            let lb = super::index::normalize(kb, nb, &mut buf_b);
            ka == kb && buf_a.get(..la) == buf_b.get(..lb)
        });
        if hit {
            let _ = match ka {
                NameKind::Fqdn => t.push_fqdn(na),
                NameKind::Uri => t.push_uri(na),
                NameKind::Alias => t.push_alias_name(na),
            };
        }
    }
    t
}

/// A list of `mid`s, inline up to 8 (the usual case: no allocation per request).
#[derive(Debug, Clone)]
enum Mids {
    Inline(heapless::Vec<u32, 8, u8>),
    Heap(Vec<u32>),
}

impl Default for Mids {
    fn default() -> Mids {
        Mids::Inline(heapless::Vec::new())
    }
}

impl Mids {
    fn push(&mut self, m: u32) {
        match self {
            Mids::Inline(v) => {
                if let Err(m) = v.push(m) {
                    let mut h = Vec::with_capacity(v.len() * 2);
                    h.extend_from_slice(v);
                    h.push(m);
                    *self = Mids::Heap(h);
                }
            }
            Mids::Heap(v) => v.push(m),
        }
    }

    fn as_mut_slice(&mut self) -> &mut [u32] {
        match self {
            Mids::Inline(v) => v,
            Mids::Heap(v) => v,
        }
    }

    fn as_slice(&self) -> &[u32] {
        match self {
            Mids::Inline(v) => v,
            Mids::Heap(v) => v,
        }
    }

    fn len(&self) -> usize {
        self.as_slice().len()
    }

    /// Sorted, without repetitions.
    fn sort_dedup(&mut self) {
        self.as_mut_slice().sort_unstable();
        match self {
            Mids::Inline(v) => {
                let mut out: heapless::Vec<u32, 8, u8> = heapless::Vec::new();
                for &m in v.iter() {
                    if out.last() != Some(&m) {
                        let _ = out.push(m);
                    }
                }
                *v = out;
            }
            Mids::Heap(v) => v.dedup(),
        }
    }
}

/// A PUT that creates a request (not a refresh).
struct NewPut<'s> {
    mid: u32,
    /// A withdrawn request with the same `mid` is stored (the new one replaces it).
    withdrawn: bool,
    /// The packed request (see `encode::pack`).
    stored: &'s [u8],
}

/// Same-client requests a new one overrides.
#[derive(Debug, Default)]
struct Overlaps {
    /// Same `trigger-mitigation`, lower `mid`: deleted.
    replace: Mids,
    /// Preconfigured requests active since a signal loss, overridden by an immediate one.
    deactivate: Mids,
}

impl<H: SignalHooks> SignalServer<H> {
    /// Grants a lifetime under the server's policy (RFC 9132 Section 4.4.1.1: "MAY refuse an
    /// indefinite lifetime ... the granted lifetime value is returned in the response").
    pub(crate) fn grant(&self, asked: Lifetime) -> Lifetime {
        match asked {
            Lifetime::Indefinite if self.config.allow_indefinite_lifetime => Lifetime::Indefinite,
            Lifetime::Indefinite => Lifetime::Seconds(self.config.max_lifetime.unwrap_or(3600)),
            Lifetime::Seconds(s) => {
                Lifetime::Seconds(self.config.max_lifetime.map_or(s, |m| s.min(m).max(1)))
            }
        }
    }

    pub(crate) fn expiry(now: Instant, granted: Lifetime) -> Instant {
        match granted {
            Lifetime::Indefinite => Instant::MAX,
            Lifetime::Seconds(s) => now + core::time::Duration::from_secs(u64::from(s)),
        }
    }

    /// PUT `/mitigate/cuid=C/mid=M` without If-Match.
    pub(crate) fn put_mitigation(
        &mut self,
        now: Instant,
        ctx: &Ctx<'_, '_>,
        mid: Option<u32>,
        req: &Request<'_>,
        out: &mut [u8],
    ) -> Result<Handled, Fail> {
        let mid = mid.ok_or(Fail::diag(
            Code::BAD_REQUEST,
            "the 'mid' Uri-Path parameter is missing",
        ))?;
        let mut body = MitigationRequest::default();
        MitigationRequest::decode_cbor_into(req.payload, &mut body).map_err(Fail::Decode)?;
        body.validate().map_err(Fail::Invalid)?;
        let scope = &body.entry.scope;
        // The canonical stored form (see `encode::pack`).
        let mut scratch = encode::Packed::new();
        encode::pack(scope, &mut scratch).ok_or(Fail::Internal)?;
        let stored = &scratch[..];
        let existing = ctx
            .slot
            .and_then(|s| self.client(s))
            .and_then(|c| c.get(mid));
        if let Some(m) = existing {
            if m.status != MitigationStatus::ClientWithdrawn {
                // RFC 9132 Section 4.4.1.3: a refresh repeats every parameter but 'lifetime'.
                if *m.request != *stored {
                    return Err(Fail::diag(
                        Code::BAD_REQUEST,
                        "a refresh must repeat the parameters of the request; only 'lifetime' may change",
                    ));
                }
                let asked = scope.lifetime.unwrap_or(Lifetime::Seconds(3600));
                let slot = ctx.slot.ok_or(Fail::Internal)?;
                let granted = self.refresh(now, slot, mid, asked);
                self.push_event(ServerEvent::MitigationUpdated {
                    cuid: self.cuid_arc(slot),
                    mid,
                    lifetime: granted,
                });
                return Ok(encode::lifetime_response(
                    Code::CHANGED,
                    mid,
                    granted,
                    None,
                    out,
                ));
            }
        }
        // A record with this mid is left only when it is withdrawn (it is replaced).
        let withdrawn = existing.is_some();
        let put = NewPut {
            mid,
            withdrawn,
            stored,
        };
        self.new_request(now, ctx, put, &mut body, out)
    }

    pub(crate) fn cuid_arc(&self, slot: u32) -> alloc::sync::Arc<str> {
        self.client(slot)
            .map(|c| c.cuid.clone())
            .unwrap_or_else(|| alloc::sync::Arc::from(""))
    }

    /// Resets the lifetime of a stored request; returns the granted lifetime.
    pub(crate) fn refresh(
        &mut self,
        now: Instant,
        slot: u32,
        mid: u32,
        asked: Lifetime,
    ) -> Lifetime {
        let granted = self.grant(asked);
        let expires = Self::expiry(now, granted);
        if let Some(m) = self.client_mut(slot).and_then(|c| c.get_mut(mid)) {
            m.granted = granted;
        }
        self.set_deadlines(slot, mid, Some(expires), None);
        granted
    }

    fn new_request(
        &mut self,
        now: Instant,
        ctx: &Ctx<'_, '_>,
        put: NewPut<'_>,
        body: &mut MitigationRequest,
        out: &mut [u8],
    ) -> Result<Handled, Fail> {
        let NewPut {
            mid,
            withdrawn,
            stored,
        } = put;
        let scope = &body.entry.scope;
        let trigger = scope.triggers_mitigation();
        let client = ctx.slot.and_then(|s| self.client(s));
        // RFC 9133 Section 3.2.1: filter control "in 'idle' time ... MUST be discarded ...
        // with 4.00". A request that triggers a mitigation signals the attack itself and may
        // carry the `acl-list` (Section 4.2, Figure 8: the first mitigation request activates
        // "my-accept-list" and gets 2.01); idle time is a pre-configured
        // (`trigger-mitigation` false) request while the client has no active mitigation.
        if scope.has_acl_list() && !trigger && client.is_none_or(|c| c.active == 0) {
            return Err(Fail::diag(
                Code::BAD_REQUEST,
                "'acl-list' is not allowed in idle time (RFC 9133 Section 3.2.1)",
            ));
        }
        let cref = ctx.client_ref();
        let mut aliases = Vec::new();
        for name in scope.targets.alias_names() {
            match self.hooks.resolve_alias(cref, name) {
                Some(a) => aliases.push(a),
                None => {
                    return Err(Fail::Text(
                        Code::BAD_REQUEST,
                        alloc::format!("alias '{name}' was not created by this DOTS client"),
                    ))
                }
            }
        }
        if !self.hooks.targets_allowed(cref, &scope.targets, &aliases) {
            return Err(Fail::diag(
                Code::BAD_REQUEST,
                "a target is outside the DOTS client's domain",
            ));
        }
        self.check_call_home(ctx, scope)?;
        let (hits, holder) = self.scan_overlaps(ctx.slot, mid, trigger, scope, &aliases);
        let ov = self.same_client_overlaps(ctx.slot, mid, trigger, scope, &aliases, hits)?;
        let cross = match holder {
            Some(h) => self.cross_client(now, ctx, mid, scope, &aliases, h)?,
            None => None,
        };
        // Quotas: the requests the client holds once this one is in.
        let held = ctx.slot.and_then(|s| self.client(s)).map_or(0, |c| {
            c.mitigations.len() - ov.replace.len() - usize::from(withdrawn)
        });
        if held + 1 > self.config.quotas.max_mitigations {
            return Err(Fail::Unavailable(self.config.retry_after));
        }
        if ctx.slot.is_none() {
            self.room_for_client()?;
        }
        self.hooks
            .admit(cref, mid, scope)
            .map_err(|u| Fail::Unavailable(u.retry_after))?;
        if scope.has_acl_list() {
            self.hooks
                .apply_acl_list(now, cref, scope)
                .map_err(|e| match e {
                    AclFailure::UnknownAcl { name } => Fail::Text(
                        Code::NOT_FOUND,
                        alloc::format!("no ACL '{name}' for this DOTS client"),
                    ),
                    AclFailure::Failed {
                        failed,
                        retry_after,
                    } => Fail::AclFailed {
                        mid,
                        failed,
                        retry_after,
                    },
                })?;
        }
        // ---- commit ----
        let granted = self.grant(scope.lifetime.unwrap_or(Lifetime::Seconds(3600)));
        let slot = match ctx.slot {
            Some(s) => s,
            None => {
                let owner = if ctx.peer.trusted_gateway {
                    Owner::Gateway
                } else {
                    Owner::Peer(alloc::sync::Arc::from(ctx.peer.cuid))
                };
                self.insert_client(now, ctx.cuid, owner)
            }
        };
        if let (Some(cdid), Some(c)) = (ctx.cdid, self.client_mut(slot)) {
            if c.cdid.as_deref() != Some(cdid) {
                c.cdid = Some(Box::from(cdid));
            }
        }
        let snap = self.snap(slot);
        let cuid = self.cuid_arc(slot);
        let base = self.config.terminating_period.as_secs();
        let mut period = u16::try_from(base).unwrap_or(u16::MAX);
        // A re-request during the active-but-terminating period of the same mid or of an
        // overlapped one doubles the next period, up to the maximum (RFC 9132 Section 4.4.4).
        let inherit = |m: &Mitigation, max: u64| -> u16 {
            if m.status == MitigationStatus::ClientWithdrawn {
                u16::try_from((u64::from(m.period) * 2).min(max)).unwrap_or(u16::MAX)
            } else {
                0
            }
        };
        let max = self.config.max_terminating_period.as_secs();
        if let Some(old) = self
            .client(slot)
            .and_then(|c| c.get(mid))
            .filter(|_| withdrawn)
        {
            period = period.max(inherit(old, max));
        }
        for r in ov.replace.as_slice() {
            if let Some(old) = self.client(slot).and_then(|c| c.get(*r)) {
                period = period.max(inherit(old, max));
            }
        }
        // The same mid, withdrawn and now requested again: the new request takes its place.
        if withdrawn {
            self.remove_mitigation(
                now,
                slot,
                mid,
                Removal::Terminated(TerminationReason::Replaced { by: mid }),
            );
        }
        let started = if trigger { now } else { Instant::MAX };
        let m = Mitigation {
            mid,
            status: if trigger {
                MitigationStatus::InProgress
            } else {
                MitigationStatus::SignalLoss
            },
            trigger,
            observed: false,
            notify_pending: false,
            countdown: 0,
            conflict: cross.map(|_| ConflictStatus::RequestActive),
            attack_status: None,
            granted,
            expires: Self::expiry(now, granted),
            terminate_at: Instant::MAX,
            period,
            started,
            counters: Counters::default(),
            request: Box::from(stored),
            aliases: (!aliases.is_empty()).then(|| aliases.clone().into_boxed_slice()),
        };
        self.insert_mitigation(slot, m, scope);
        if trigger {
            self.count_active(slot, true);
        }
        for &r in ov.replace.as_slice() {
            self.remove_mitigation(
                now,
                slot,
                r,
                Removal::Terminated(TerminationReason::Replaced { by: mid }),
            );
        }
        for &d in ov.deactivate.as_slice() {
            self.server_withdraw(now, slot, d, TerminationReason::ImmediatePrecedence);
        }
        if let Some((hs, hm)) = cross {
            let holder = self.cuid_arc(hs);
            if let Some(h) = self.client_mut(hs).and_then(|c| c.get_mut(hm)) {
                h.conflict = Some(ConflictStatus::RequestActive);
            }
            self.queue_notify(hs, hm);
            self.push_event(ServerEvent::CrossClientConflict {
                cuid: cuid.clone(),
                mid,
                other_cuid: holder,
                other_mid: hm,
                accepted: true,
            });
        }
        let conflict =
            cross.map(|(hs, hm)| self.cross_conflict_info(scope, &aliases, hs, hm, true));
        // The request is not used past this point: its scope moves into the event.
        let mut event_scope = Box::new(core::mem::take(&mut body.entry.scope));
        event_scope.lifetime = Some(granted);
        event_scope.attack_status = None;
        self.push_event(ServerEvent::MitigationRequested {
            cuid,
            mid,
            scope: event_scope,
            aliases,
            lifetime: granted,
            trigger_mitigation: trigger,
        });
        self.settle(now, slot, snap);
        Ok(encode::lifetime_response(
            Code::CREATED,
            mid,
            granted,
            conflict,
            out,
        ))
    }

    /// One walk of the index for a request: the client's own requests it overlaps (other
    /// than `mid`), and — when it triggers a mitigation — the first active mitigation of
    /// another client it overlaps (RFC 9132 Section 4.4.1.3), in the order of the request's
    /// prefixes (ancestors by length, then descendants) and then its names. Alias names belong
    /// to their client and are not compared across clients.
    fn scan_overlaps(
        &self,
        slot: Option<u32>,
        mid: u32,
        trigger: bool,
        scope: &Scope,
        aliases: &[AliasTargets],
    ) -> (Mids, Option<(u32, u32)>) {
        let refine = self.config.refine_overlap_by_ports_and_protocols;
        let mut hits = Mids::default();
        let mut holder = None;
        let mut visit = |s: u32, m: u32, name_kind: Option<NameKind>| {
            if Some(s) == slot {
                if m != mid {
                    hits.push(m);
                }
                return;
            }
            if !trigger || holder.is_some() || name_kind == Some(NameKind::Alias) {
                return;
            }
            let Some(rec) = self.client(s).and_then(|c| c.get(m)) else {
                return;
            };
            if !is_active(rec.status) {
                return;
            }
            if refine {
                let other = encode::stored_request(rec).entry.scope;
                if !ports_protocols_overlap((scope, aliases), (&other, rec.aliases())) {
                    return;
                }
            }
            holder = Some((s, m));
        };
        for p in all_prefixes(scope, aliases) {
            let _ = self.index.overlapping(Net::from_ipnet(p), |s, m, _| {
                visit(s, m, None);
                ControlFlow::Continue(())
            });
        }
        for (kind, name) in all_names(scope, aliases) {
            let _ = self.index.same_name(kind, name, |s, m| {
                visit(s, m, Some(kind));
                ControlFlow::Continue(())
            });
        }
        (hits, holder)
    }

    /// Same-client overlaps (`hits`, from [`scan_overlaps`](Self::scan_overlaps)): 4.09 if a
    /// request with a higher `mid` and the same `trigger-mitigation` overlaps; otherwise what
    /// the new one overrides.
    fn same_client_overlaps(
        &self,
        slot: Option<u32>,
        mid: u32,
        trigger: bool,
        scope: &Scope,
        aliases: &[AliasTargets],
        mut hits: Mids,
    ) -> Result<Overlaps, Fail> {
        let mut out = Overlaps::default();
        let Some(c) = slot.and_then(|s| self.client(s)) else {
            return Ok(out);
        };
        hits.sort_dedup();
        let refine = self.config.refine_overlap_by_ports_and_protocols;
        for &m in hits.as_slice() {
            let Some(rec) = c.get(m) else { continue };
            if refine {
                let other = encode::stored_request(rec).entry.scope;
                if !ports_protocols_overlap((scope, aliases), (&other, rec.aliases())) {
                    continue;
                }
            }
            if rec.trigger == trigger {
                if newer(mid, m) {
                    out.replace.push(m);
                } else {
                    // RFC 9132 Section 4.4.1.3: "rejects the request by returning 4.09".
                    let other = encode::stored_request(rec).entry.scope;
                    let mut cs = ConflictScope {
                        targets: common_targets((scope, aliases), (&other, rec.aliases())),
                        mid: Some(m),
                    };
                    if !refine {
                        // Ports and protocols do not decide the overlap here; report only
                        // the common addresses and names.
                        cs.targets.port_ranges.clear();
                        cs.targets.protocols.clear();
                    }
                    return Err(Fail::Conflict(Box::new(ConflictInformation {
                        conflict_status: None,
                        conflict_cause: Some(ConflictCause::OverlappingTargets),
                        retry_timer: None,
                        conflict_scope: Some(cs),
                    })));
                }
            } else if trigger && !rec.trigger && is_active(rec.status) {
                out.deactivate.push(m);
            }
        }
        Ok(out)
    }

    /// The decision about `holder`, the first active mitigation of another client overlapping
    /// the request: `Ok(Some(holder))` to keep both, `Err(4.09)` to reject.
    fn cross_client(
        &mut self,
        now: Instant,
        ctx: &Ctx<'_, '_>,
        mid: u32,
        scope: &Scope,
        aliases: &[AliasTargets],
        (hs, hm): (u32, u32),
    ) -> Result<Option<(u32, u32)>, Fail> {
        let holder_cuid = self.cuid_arc(hs);
        let holder_cdid = self
            .client(hs)
            .and_then(|c| c.cdid.clone())
            .map(alloc::string::String::from);
        let decision = self.hooks.cross_client_conflict(
            ctx.client_ref(),
            ClientRef {
                cuid: &holder_cuid,
                cdid: holder_cdid.as_deref(),
            },
            self.config.cross_client_conflict,
        );
        match decision {
            super::ConflictDecision::AcceptAndFlag => Ok(Some((hs, hm))),
            super::ConflictDecision::Reject => {
                let info = self.cross_conflict_info(scope, aliases, hs, hm, false);
                let _ = now;
                self.push_event(ServerEvent::CrossClientConflict {
                    cuid: alloc::sync::Arc::from(ctx.cuid),
                    mid,
                    other_cuid: holder_cuid,
                    other_mid: hm,
                    accepted: false,
                });
                Err(Fail::Conflict(Box::new(info)))
            }
        }
    }

    /// `conflict-information` for a conflict with another client's mitigation (RFC 9132 Section
    /// 4.4.1.3). The other client's `mid` is not disclosed (`conflict-scope` `mid` refers to the
    /// same client).
    fn cross_conflict_info(
        &self,
        scope: &Scope,
        aliases: &[AliasTargets],
        hs: u32,
        hm: u32,
        accepted: bool,
    ) -> ConflictInformation {
        let rec = self.client(hs).and_then(|c| c.get(hm));
        let targets = rec.map_or_else(Targets::new, |r| {
            let other = encode::stored_request(r).entry.scope;
            common_targets((scope, aliases), (&other, r.aliases()))
        });
        let retry = rec.map(|r| match r.remaining(self.last_now) {
            Lifetime::Seconds(s) => s,
            Lifetime::Indefinite => u32::MAX,
        });
        ConflictInformation {
            conflict_status: Some(if accepted {
                ConflictStatus::RequestActive
            } else {
                ConflictStatus::RequestInactiveOtherActive
            }),
            conflict_cause: Some(ConflictCause::OverlappingTargets),
            // "The DOTS server returns 'retry-timer' only to DOTS client(s) for which a
            // mitigation request is deactivated."
            retry_timer: if accepted { None } else { retry },
            conflict_scope: Some(ConflictScope { targets, mid: None }),
        }
    }

    /// PUT with If-Match: an efficacy update (RFC 9132 Section 4.4.3).
    pub(crate) fn efficacy_update(
        &mut self,
        now: Instant,
        ctx: &Ctx<'_, '_>,
        mid: Option<u32>,
        req: &Request<'_>,
        out: &mut [u8],
    ) -> Result<Handled, Fail> {
        let mid = mid.ok_or(Fail::diag(
            Code::BAD_REQUEST,
            "the 'mid' Uri-Path parameter is missing",
        ))?;
        // "If no match is found, the PUT request is silently ignored by the DOTS server." A
        // withdrawn request no longer matches (the Section 4.4.3 reordering example).
        let Some(slot) = ctx.slot else {
            return Err(Fail::Ignore);
        };
        let Some(m) = self.client(slot).and_then(|c| c.get(mid)) else {
            return Err(Fail::Ignore);
        };
        if m.status == MitigationStatus::ClientWithdrawn {
            return Err(Fail::Ignore);
        }
        // RFC 9244 Section 9.1: the efficacy update may carry telemetry.
        let update =
            dots_codec::model::EfficacyUpdate::decode_cbor(req.payload).map_err(Fail::Decode)?;
        update.validate().map_err(Fail::Invalid)?;
        let body = &update.request;
        let scope = &body.entry.scope;
        let mut scratch = encode::Packed::new();
        encode::pack(scope, &mut scratch).ok_or(Fail::Internal)?;
        let same = scratch[..] == *m.request || {
            let stored = encode::stored_request(m).entry.scope;
            without_acls(&stored) == without_acls(scope)
        };
        if !same {
            return Err(Fail::diag(
                Code::BAD_REQUEST,
                "an efficacy update must repeat the parameters of the request; only 'lifetime' may change",
            ));
        }
        let granted_before = m.granted;
        self.hooks
            .admit(ctx.client_ref(), mid, scope)
            .map_err(|u| Fail::Unavailable(u.retry_after))?;
        let attack_status = scope.attack_status.ok_or(Fail::Internal)?;
        let granted = self.refresh(now, slot, mid, scope.lifetime.unwrap_or(granted_before));
        if let Some(m) = self.client_mut(slot).and_then(|c| c.get_mut(mid)) {
            m.attack_status = Some(attack_status);
        }
        self.push_event(ServerEvent::EfficacyUpdate {
            cuid: self.cuid_arc(slot),
            mid,
            attack_status,
            lifetime: granted,
        });
        if !update.telemetry.is_empty() {
            self.push_event(ServerEvent::EfficacyTelemetry {
                cuid: self.cuid_arc(slot),
                mid,
                telemetry: Box::new(update.telemetry),
            });
        }
        Ok(encode::lifetime_response(
            Code::CHANGED,
            mid,
            granted,
            None,
            out,
        ))
    }

    /// DELETE `/mitigate/cuid=C/mid=M` (RFC 9132 Section 4.4.4): always 2.02.
    pub(crate) fn delete_mitigation(
        &mut self,
        now: Instant,
        ctx: &Ctx<'_, '_>,
        mid: Option<u32>,
    ) -> Result<Handled, Fail> {
        let mid = mid.ok_or(Fail::diag(
            Code::BAD_REQUEST,
            "the 'mid' Uri-Path parameter is missing",
        ))?;
        if let Some(slot) = ctx.slot {
            if let Some(m) = self.client(slot).and_then(|c| c.get(mid)) {
                let (status, period) = (m.status, m.period);
                if status == MitigationStatus::ClientWithdrawn {
                    // Already withdrawn.
                } else if is_active(status) {
                    let until = now + core::time::Duration::from_secs(u64::from(period));
                    self.set_status(now, slot, mid, MitigationStatus::ClientWithdrawn);
                    // The whole period applies, even past the lifetime: it dampens flapping.
                    self.set_deadlines(slot, mid, Some(Instant::MAX), Some(until));
                    self.push_event(ServerEvent::MitigationWithdrawn {
                        cuid: self.cuid_arc(slot),
                        mid,
                        until,
                    });
                } else {
                    let snap = self.snap(slot);
                    self.remove_mitigation(
                        now,
                        slot,
                        mid,
                        Removal::Terminated(TerminationReason::Deleted),
                    );
                    self.settle(now, slot, snap);
                    self.drop_if_empty(slot);
                }
            }
        }
        Ok(Handled::Respond(Response::new(Code::DELETED)))
    }

    /// GET `/mitigate/cuid=C[/mid=M]` (RFC 9132 Section 4.4.2), with Observe and the RFC 9244
    /// Section 9.2 Uri-Query filters: with `mid`, a query not matching it is 4.04 ("If the
    /// target query does not match the target of the enclosed 'mid' as maintained by the DOTS
    /// server, the latter MUST respond with a 4.04"); without, the mitigations it selects (4.04
    /// when none). A filtered Observe=0 overlapping an existing observation is 4.09.
    pub(crate) fn get_mitigations(
        &mut self,
        now: Instant,
        ctx: &Ctx<'_, '_>,
        mid: Option<u32>,
        query: &TargetQuery<'_>,
        observe: Option<u32>,
        out: &mut [u8],
    ) -> Result<Handled, Fail> {
        let content = query.content();
        let not_found = || {
            Fail::diag(
                Code::NOT_FOUND,
                "no such mitigation request for this DOTS client",
            )
        };
        let slot = ctx.slot.ok_or_else(not_found)?;
        let c = self.client(slot).ok_or_else(not_found)?;
        let selected = |m: &&Mitigation| self.mitigation_matches(slot, m.mid, query);
        let len = match mid {
            Some(mid) => {
                let m = c.get(mid).ok_or_else(not_found)?;
                if !selected(&m) {
                    return Err(Fail::diag(
                        Code::NOT_FOUND,
                        "the query does not match the target of this mitigation",
                    ));
                }
                encode::write_entries(self, now, core::iter::once(m), Some(slot), content, out)
            }
            None => {
                if !c.mitigations.iter().any(|m| selected(&m)) {
                    return Err(not_found());
                }
                encode::write_entries(
                    self,
                    now,
                    c.mitigations.iter().filter(selected),
                    Some(slot),
                    content,
                    out,
                )
            }
        }
        .map_err(Fail::TooSmall)?;
        let mut r = Response::cbor(Code::CONTENT, len);
        let target = mid.map_or(ObserveTarget::AllMitigations, ObserveTarget::Mitigation);
        let filtered = !query.is_empty();
        let resource = super::telemetry_query::Resource::Mitigation(mid);
        r.observe = match observe {
            Some(0) if filtered => Some(self.register_query_observer(slot, resource, query)?),
            Some(0) => Some(self.register_observer(slot, target)),
            Some(1) if filtered => {
                self.find_query_observer(Some(slot), resource, query)
                    .map(|target| ObserveAction::Deregister {
                        cuid: self.cuid_arc(slot),
                        target,
                    })
            }
            Some(1) => Some(ObserveAction::Deregister {
                cuid: self.cuid_arc(slot),
                target,
            }),
            _ => None,
        };
        Ok(Handled::Respond(r))
    }
}

/// How a request leaves the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Removal {
    /// Stopped early.
    Terminated(TerminationReason),
    /// Lifetime ran out.
    Expired,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mid_lists_spill_to_the_heap() {
        let mut m = Mids::default();
        for x in [5, 3, 5, 9, 1, 3, 7, 7] {
            m.push(x);
        }
        assert!(matches!(m, Mids::Inline(_)));
        m.sort_dedup();
        assert_eq!(m.as_slice(), [1, 3, 5, 7, 9]);
        for x in (0..20).rev() {
            m.push(x);
        }
        assert!(matches!(m, Mids::Heap(_)));
        m.sort_dedup();
        assert_eq!(m.as_slice(), (0..20).collect::<Vec<_>>());
        assert_eq!(m.len(), 20);
    }

    #[test]
    fn mid_order_with_rollover() {
        assert!(newer(2, 1));
        assert!(!newer(1, 2));
        assert!(!newer(5, 5));
        assert!(newer(0, MID_ROLLOVER));
        assert!(newer(7, u32::MAX));
        assert!(newer(MID_ROLLOVER - 1, MID_ROLLOVER - 2));
        assert!(!newer(0, MID_ROLLOVER - 1));
    }
}
