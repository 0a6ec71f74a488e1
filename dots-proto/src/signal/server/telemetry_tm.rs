//! `/tm` (RFC 9244 Section 8): pre-or-ongoing-mitigation telemetry from the client, requests
//! for the server's telemetry, the server's own telemetry ([`SignalServer::set_attack_telemetry`])
//! and its paced notifications, and the telemetry of mitigation status (Section 9.2,
//! [`SignalServer::set_scope_telemetry`]).
//!
//! | request | answer |
//! |---|---|
//! | PUT `/tm/cuid=C/tmid=T` | 2.04 (Section 8.2); 4.00 without `tmid`, target, or with an invalid body; 4.09 (`conflict-cause` 1) when a higher `tmid` of the client has an overlapping target; 5.03 + Max-Age over [`TelemetryPolicy::max_telemetry`](super::TelemetryPolicy) or refused by the host ([`SignalHooks::admit_telemetry`]) |
//! | GET `/tm/cuid=C[/tmid=T]` | 2.05 with the entries (`tmid`, target, telemetry), filtered by the Uri-Query; 4.04 for an unknown `tmid`; 4.00 for an invalid query. Observe=0 registers |
//! | DELETE `/tm/cuid=C[/tmid=T]` | 2.02 (without `tmid`: every `tmid`, Section 8.2) |
//!
//! A PUT with a target and other attributes is the client's telemetry
//! ([`ServerEvent::PreMitigationTelemetry`]); with a target only, it asks for the server's
//! telemetry on that target (Section 8.3, [`ServerEvent::TelemetryRequested`]). A higher `tmid`
//! with an overlapping target deletes the lower one.
//!
//! # Notifications and pacing
//!
//! The host reports its telemetry on a client's `tmid` with
//! [`SignalServer::set_attack_telemetry`] (only to clients whose `current-config` has
//! `server-originated-telemetry` true, Section 7.1.2). Every `/tm` observation whose `tmid`
//! and query select it is marked, and the client's notifications are paced: "DOTS agents MUST
//! NOT send pre-or-ongoing-mitigation telemetry notifications to the same peer more frequently
//! than once every 'telemetry-notify-interval'" (Section 8). At most one `/tm` notification per
//! client leaves [`SignalServer::poll_notification`] per interval; the next one is due at
//! [`SignalServer::poll_timeout`]. A notification carries the entries its observation selects
//! that hold server telemetry.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;

use dots_codec::cbor::CborBody;
use dots_codec::coap::{Code, ContentFormat};
use dots_codec::model::telemetry::{PreOrOngoingMitigation, Telemetry};
use dots_codec::model::{
    ConflictCause, ConflictInformation, ConflictScope, EfficacyUpdate, MitigationRequest,
    ScopeTelemetry, Targets,
};
use dots_codec::path::Content;
use dots_codec::query::{QuerySet, QueryType, TargetQuery};

use super::event::ServerEvent;
use super::hooks::{AliasTargets, SignalHooks};
use super::mitigate::{newer, Ctx, Fail};
use super::request::{
    BufferTooSmall, Handled, Notification, ObserveAction, Observers, Request, Response,
};
use super::telemetry::{targets_overlap, ScopeRec, TmRec};
use super::telemetry_query::{matches, Resource, Subject};
use super::{ClientRef, CommandError, SignalServer};
use crate::time::Instant;

/// The client's entry of a record (no `tmid`).
pub(crate) fn client_entry(r: &TmRec) -> PreOrOngoingMitigation {
    decode_entry(&r.body).unwrap_or_default()
}

fn decode_entry(b: &[u8]) -> Option<PreOrOngoingMitigation> {
    Telemetry::decode_cbor(b)
        .ok()?
        .pre_or_ongoing_mitigation
        .into_iter()
        .next()
}

fn encode_entry(e: &PreOrOngoingMitigation) -> Result<Box<[u8]>, Fail> {
    let t = Telemetry::new(e.clone());
    let mut buf = alloc::vec![0u8; t.encoded_len()];
    let n = t.encode_cbor(&mut buf).map_err(|_| Fail::Internal)?;
    buf.truncate(n);
    Ok(buf.into_boxed_slice())
}

/// Whether two telemetry targets overlap: their target clauses (RFC 9132 Section 4.4.1.3) or
/// a common `mid` in `mid-list`.
fn tm_targets_overlap(
    a: (&PreOrOngoingMitigation, &[AliasTargets]),
    b: (&PreOrOngoingMitigation, &[AliasTargets]),
) -> bool {
    targets_overlap((&a.0.target.targets, a.1), (&b.0.target.targets, b.1))
        || a.0
            .target
            .mid_list
            .iter()
            .any(|m| b.0.target.mid_list.contains(m))
}

/// Keeps the per-protocol / per-port lists of an entry to the filtered protocols / ports
/// (Section 8.3: "'total-attack-traffic-protocol' (or 'total-attack-traffic-port') conveys the
/// data with the port (or protocol) filter applied").
fn apply_filters(e: &mut PreOrOngoingMitigation, q: &TargetQuery<'_>) {
    if q.raw(QueryType::TargetProtocol).is_some() {
        let keep = |p: u8| q.target_protocols().any(|r| r.contains(p));
        e.total_traffic_protocol.retain(|t| keep(t.protocol));
        e.total_attack_traffic_protocol.retain(|t| keep(t.protocol));
        e.total_attack_connection_protocol
            .retain(|t| keep(t.protocol));
        e.total_attack_connection_port.retain(|t| keep(t.protocol));
    }
    if q.raw(QueryType::TargetPort).is_some() {
        let keep = |p: u16| q.target_ports().any(|r| r.contains(p));
        e.total_traffic_port.retain(|t| keep(t.port));
        e.total_attack_traffic_port.retain(|t| keep(t.port));
        e.total_attack_connection_port.retain(|t| keep(t.port));
    }
}

/// The `c` selection of an entry: configuration (`target`), non-configuration (the telemetry
/// attributes) or both; `tmid` always.
fn select(e: &mut PreOrOngoingMitigation, content: Content) {
    match content {
        Content::All => {}
        Content::Config => {
            let keep = core::mem::take(&mut e.target);
            *e = PreOrOngoingMitigation {
                tmid: e.tmid,
                target: keep,
                ..PreOrOngoingMitigation::default()
            };
        }
        Content::NonConfig => e.target = Default::default(),
    }
}

impl<H: SignalHooks> SignalServer<H> {
    /// PUT `/tm/cuid=C/tmid=T` (Sections 8.2 and 8.3).
    pub(crate) fn put_tm(
        &mut self,
        now: Instant,
        ctx: &Ctx<'_, '_>,
        tmid: Option<u32>,
        req: &Request<'_>,
    ) -> Result<Handled, Fail> {
        let tmid = tmid.ok_or(Fail::diag(
            Code::BAD_REQUEST,
            "the 'tmid' Uri-Path parameter is missing",
        ))?;
        let body = Telemetry::decode_cbor(req.payload).map_err(Fail::Decode)?;
        body.validate_request().map_err(Fail::Invalid)?;
        let max = self.tm_policy()?.max_telemetry;
        let entry = body
            .pre_or_ongoing_mitigation
            .into_iter()
            .next()
            .ok_or(Fail::Internal)?;
        let cref = ClientRef {
            cuid: ctx.cuid,
            cdid: ctx.cdid,
        };
        let aliases = self.resolve_aliases(cref, &entry.target.targets)?;
        // Overlaps with the client's other tmids (Section 8.2).
        let mut replace = Vec::new();
        let mut exists = false;
        if let Some(t) = self.tm_state(ctx.slot) {
            for r in &t.tms {
                if r.tmid == tmid {
                    exists = true;
                    continue;
                }
                let old = client_entry(r);
                if !tm_targets_overlap((&entry, &aliases), (&old, &r.aliases)) {
                    continue;
                }
                if newer(tmid, r.tmid) {
                    replace.push(r.tmid);
                } else {
                    return Err(Fail::Conflict(Box::new(tm_conflict(&entry, &old))));
                }
            }
        }
        let held = self
            .tm_state(ctx.slot)
            .map_or(0, |t| t.tms.len() - replace.len() - usize::from(exists));
        if held + 1 > max {
            return Err(Fail::Unavailable(self.config.retry_after));
        }
        if ctx.slot.is_none() {
            self.room_for_client()?;
        }
        self.hooks
            .admit_telemetry(cref, tmid, &entry)
            .map_err(|u| Fail::Unavailable(u.retry_after))?;
        let stored = encode_entry(&entry)?;
        // ---- commit ----
        let slot = self.tm_client(now, ctx)?;
        let cuid = self.cuid_arc(slot);
        let mut ended = Vec::new();
        if let Some(t) = self.tm_state_mut(slot) {
            t.tms.retain(|r| !replace.contains(&r.tmid));
            let rec = TmRec {
                tmid,
                body: stored,
                aliases: aliases.clone(),
                server: None,
            };
            match t.tm_index(tmid) {
                Ok(i) => {
                    if let Some(r) = t.tms.get_mut(i) {
                        // The host's telemetry stays with the tmid until it reports again.
                        let server = r.server.take();
                        *r = TmRec { server, ..rec };
                    }
                }
                Err(i) => {
                    t.tms.reserve_exact(1);
                    t.tms.insert(i, rec);
                }
            }
            t.observers.retain(|o| {
                let gone =
                    matches!(o.resource, Resource::Telemetry(Some(x)) if replace.contains(&x));
                if gone {
                    ended.push(o.id);
                }
                !gone
            });
        }
        self.end_tm_observers(slot, &ended);
        for old in replace {
            self.push_event(ServerEvent::TelemetryRemoved {
                cuid: cuid.clone(),
                tmid: old,
                replaced_by: Some(tmid),
            });
        }
        if entry.has_telemetry() {
            self.push_event(ServerEvent::PreMitigationTelemetry {
                cuid,
                tmid,
                telemetry: Box::new(entry),
                aliases,
            });
        } else {
            self.push_event(ServerEvent::TelemetryRequested {
                cuid,
                tmid,
                target: Box::new(entry.target),
                aliases,
            });
        }
        Ok(Handled::Respond(Response::new(Code::CHANGED)))
    }

    /// Removes ended `/tm` observations and queues their final 4.04 notifications.
    fn end_tm_observers(&mut self, slot: u32, ids: &[u32]) {
        if ids.is_empty() {
            return;
        }
        let cuid = self.cuid_arc(slot);
        if let Some(c) = self.client_mut(slot) {
            c.observers = c
                .observers
                .saturating_sub(u32::try_from(ids.len()).unwrap_or(u32::MAX));
        }
        for id in ids {
            self.tm.ended.push_back((cuid.clone(), *id));
        }
        if !self
            .tm_state(Some(slot))
            .is_some_and(|t| t.observers.iter().any(|o| o.dirty))
        {
            self.tm_unschedule(slot);
        }
    }

    /// DELETE `/tm/cuid=C[/tmid=T]` (Section 8.2): 2.02.
    pub(crate) fn delete_tm(
        &mut self,
        ctx: &Ctx<'_, '_>,
        tmid: Option<u32>,
    ) -> Result<Handled, Fail> {
        if let Some(slot) = ctx.slot {
            let cuid = self.cuid_arc(slot);
            let mut removed = Vec::new();
            let mut ended = Vec::new();
            if let Some(t) = self
                .client_mut(slot)
                .and_then(|c| c.telemetry.as_deref_mut())
            {
                t.tms.retain(|r| {
                    let gone = tmid.is_none_or(|x| x == r.tmid);
                    if gone {
                        removed.push(r.tmid);
                    }
                    !gone
                });
                t.observers.retain(|o| {
                    let gone =
                        matches!(o.resource, Resource::Telemetry(Some(x)) if removed.contains(&x));
                    if gone {
                        ended.push(o.id);
                    }
                    !gone
                });
            }
            self.end_tm_observers(slot, &ended);
            for tmid in removed {
                self.push_event(ServerEvent::TelemetryRemoved {
                    cuid: cuid.clone(),
                    tmid,
                    replaced_by: None,
                });
            }
            self.tm_tidy(slot);
        }
        Ok(Handled::Respond(Response::new(Code::DELETED)))
    }

    /// The entry a record shows: the host's telemetry when it reported some and the client
    /// asked for it, the client's own otherwise; with its `tmid`.
    fn shown_entry(
        &self,
        slot: u32,
        r: &TmRec,
        server_only: bool,
    ) -> Option<PreOrOngoingMitigation> {
        let server = r
            .server
            .as_deref()
            .filter(|_| self.tm_server_originated(slot))
            .and_then(decode_entry);
        let mut e = match server {
            Some(s) => s,
            None if server_only => return None,
            None => client_entry(r),
        };
        e.tmid = Some(r.tmid);
        Some(e)
    }

    /// The entries a `/tm` resource and query select, filtered.
    fn tm_entries(
        &self,
        slot: u32,
        tmid: Option<u32>,
        q: &TargetQuery<'_>,
        server_only: bool,
    ) -> Vec<PreOrOngoingMitigation> {
        let Some(t) = self.tm_state(Some(slot)) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for r in t.tms.iter().filter(|r| tmid.is_none_or(|x| x == r.tmid)) {
            let Some(mut e) = self.shown_entry(slot, r, server_only) else {
                continue;
            };
            let client = client_entry(r);
            // The request's target (its aliases resolved) and, for source filters, the
            // attack details shown.
            let hit = matches(
                q,
                &Subject {
                    targets: &client.target.targets,
                    aliases: &r.aliases,
                    mids: &client.target.mid_list,
                    details: &e.attack_detail,
                },
            ) || (!q.has_source_filter()
                && matches(
                    q,
                    &Subject {
                        targets: &e.target.targets,
                        aliases: &[],
                        mids: &e.target.mid_list,
                        details: &e.attack_detail,
                    },
                ));
            if !hit {
                continue;
            }
            apply_filters(&mut e, q);
            select(&mut e, q.content());
            out.push(e);
        }
        out
    }

    /// GET `/tm/cuid=C[/tmid=T]` (Section 8.3), with Observe.
    pub(crate) fn get_tm(
        &mut self,
        now: Instant,
        ctx: &Ctx<'_, '_>,
        tmid: Option<u32>,
        req: &Request<'_>,
        out: &mut [u8],
    ) -> Result<Handled, Fail> {
        self.tm_policy()?;
        let q = self.parse_filters(req.uri_query, QuerySet::TELEMETRY)?;
        if let Some(tmid) = tmid {
            // Section 10: "4.04 ... requesting a 'tsid' or 'tmid' that is not valid".
            if self
                .tm_state(ctx.slot)
                .is_none_or(|t| t.tm_index(tmid).is_err())
            {
                return Err(Fail::diag(Code::NOT_FOUND, "no telemetry with this 'tmid'"));
            }
        }
        let entries = match ctx.slot {
            Some(slot) => self.tm_entries(slot, tmid, &q, false),
            None => Vec::new(),
        };
        let len =
            super::telemetry_encode::write_telemetry(&entries, out).map_err(Fail::TooSmall)?;
        let mut r = Response::cbor(Code::CONTENT, len);
        let resource = Resource::Telemetry(tmid);
        r.observe = match req.observe {
            Some(0) => {
                let slot = match ctx.slot {
                    Some(s) => Some(s),
                    None if self.room_for_client().is_ok() => Some(self.tm_client(now, ctx)?),
                    None => None,
                };
                match slot {
                    Some(s) => {
                        let action = self.register_query_observer(s, resource, &q)?;
                        // A refused registration leaves no record behind.
                        self.drop_if_empty(s);
                        Some(action)
                    }
                    None => Some(ObserveAction::Refused {
                        cuid: Arc::from(ctx.cuid),
                        target: super::ObserveTarget::Telemetry(u32::MAX),
                    }),
                }
            }
            Some(1) => self
                .find_query_observer(ctx.slot, resource, &q)
                .map(|target| ObserveAction::Deregister {
                    cuid: self.cuid_arc(ctx.slot.unwrap_or(u32::MAX)),
                    target,
                }),
            _ => None,
        };
        Ok(Handled::Respond(r))
    }

    // ---- the host's telemetry --------------------------------------------------------------

    /// The host's pre-or-ongoing-mitigation telemetry for a client's `tmid` (RFC 9244 Section
    /// 8.3): attack details, traffic and top talkers on (part of) the target the client asked
    /// about. `None` withdraws it. The `/tm` observers it concerns are notified, paced by the
    /// client's `telemetry-notify-interval`.
    ///
    /// Only for clients whose `current-config` has `server-originated-telemetry` true
    /// ([`CommandError::TelemetryNotRequested`]); the entry must validate as a server's
    /// (a target and another attribute, [`CommandError::InvalidTelemetry`]); its `tmid` is
    /// set by the server.
    pub fn set_attack_telemetry(
        &mut self,
        now: Instant,
        cuid: &str,
        tmid: u32,
        telemetry: Option<&PreOrOngoingMitigation>,
    ) -> Result<(), CommandError> {
        let now = self.clock(now);
        self.expire(now);
        let slot = self.slot_of(cuid).ok_or(CommandError::UnknownClient)?;
        if self
            .tm_state(Some(slot))
            .is_none_or(|t| t.tm_index(tmid).is_err())
        {
            return Err(CommandError::UnknownTelemetry { tmid });
        }
        if !self.tm_server_originated(slot) {
            return Err(CommandError::TelemetryNotRequested);
        }
        let stored = match telemetry {
            Some(e) => {
                let mut e = e.clone();
                e.tmid = None;
                let body = Telemetry::new(e.clone());
                body.validate_response()
                    .map_err(|_| CommandError::InvalidTelemetry)?;
                Some(encode_entry(&e).map_err(|_| CommandError::InvalidTelemetry)?)
            }
            None => None,
        };
        let Some(t) = self.tm_state_mut(slot) else {
            return Err(CommandError::UnknownClient);
        };
        if let Some(r) = t.tm_index(tmid).ok().and_then(|i| t.tms.get_mut(i)) {
            r.server = stored;
        }
        self.tm_touch(now, slot, tmid);
        Ok(())
    }

    /// Marks the `/tm` observations that select `tmid` and schedules a notification.
    fn tm_touch(&mut self, now: Instant, slot: u32, tmid: u32) {
        let hits: Vec<u32> = {
            let Some(t) = self.tm_state(Some(slot)) else {
                return;
            };
            t.observers
                .iter()
                .filter(
                    |o| matches!(o.resource, Resource::Telemetry(x) if x.is_none_or(|x| x == tmid)),
                )
                .filter(|o| {
                    o.query().is_empty()
                        || !self.tm_entries(slot, Some(tmid), &o.query(), true).is_empty()
                        // A withdrawal concerns whoever saw the entry.
                        || t.tms.iter().any(|r| r.tmid == tmid && r.server.is_none())
                })
                .map(|o| o.id)
                .collect()
        };
        if hits.is_empty() {
            return;
        }
        if let Some(t) = self.tm_state_mut(slot) {
            for o in &mut t.observers {
                if hits.contains(&o.id) && !o.dirty {
                    o.dirty = true;
                    o.since = now;
                }
            }
        }
        self.tm_schedule(now, slot);
    }

    /// Puts the client in the pacing queue at its next allowed instant.
    pub(crate) fn tm_schedule(&mut self, now: Instant, slot: u32) {
        let Some(t) = self.tm_state(Some(slot)) else {
            return;
        };
        if t.scheduled.is_some() {
            return;
        }
        let at = t.next_notify.max(now);
        self.tm.due.insert((at, slot));
        if let Some(t) = self.tm_state_mut(slot) {
            t.scheduled = Some(at);
        }
    }

    /// Takes the client out of the pacing queue.
    pub(crate) fn tm_unschedule(&mut self, slot: u32) {
        let at = self
            .client_mut(slot)
            .and_then(|c| c.telemetry.as_deref_mut())
            .and_then(|t| t.scheduled.take());
        if let Some(at) = at {
            self.tm.due.remove(&(at, slot));
        }
    }

    /// When the next paced `/tm` notification is due.
    pub(crate) fn tm_next_due(&self) -> Option<Instant> {
        self.tm.due.first().map(|d| d.0)
    }

    /// The next `/tm` notification due at `now`, if any: an ended observation (4.04), or the
    /// current telemetry of one marked observation of a client whose interval has elapsed.
    pub(crate) fn poll_tm_notification(
        &mut self,
        now: Instant,
        out: &mut [u8],
    ) -> Result<Option<Notification>, BufferTooSmall> {
        if let Some((cuid, id)) = self.tm.ended.pop_front() {
            return Ok(Some(Notification {
                cuid,
                mid: None,
                observers: Observers::default(),
                code: Code::NOT_FOUND,
                content_format: None,
                payload_len: 0,
                last: true,
                queries: alloc::vec![super::ObserveTarget::Telemetry(id)],
                ended: alloc::vec![super::ObserveTarget::Telemetry(id)],
            }));
        }
        while let Some(&(at, slot)) = self.tm.due.first() {
            if at > now {
                break;
            }
            let Some(o) = self.tm_state(Some(slot)).and_then(|t| {
                t.observers
                    .iter()
                    .filter(|o| o.dirty)
                    .min_by_key(|o| (o.since, o.id))
                    .map(|o| (o.id, o.resource, o.options.clone()))
            }) else {
                self.tm_unschedule(slot);
                continue;
            };
            let (id, resource, options) = o;
            let q = TargetQuery::parse(options.iter().map(|s| &**s), QuerySet::TELEMETRY)
                .unwrap_or_default();
            let tmid = match resource {
                Resource::Telemetry(t) => t,
                Resource::Mitigation(_) => None,
            };
            let entries = self.tm_entries(slot, tmid, &q, true);
            let len = super::telemetry_encode::write_telemetry(&entries, out)
                .map_err(|needed| BufferTooSmall { needed })?;
            let interval = u64::from(self.tm_interval(slot));
            self.tm_unschedule(slot);
            let cuid = self.cuid_arc(slot);
            let more = match self.tm_state_mut(slot) {
                Some(t) => {
                    for o in &mut t.observers {
                        if o.id == id {
                            o.dirty = false;
                        }
                    }
                    t.next_notify = now + core::time::Duration::from_secs(interval);
                    t.observers.iter().any(|o| o.dirty)
                }
                None => false,
            };
            if more {
                self.tm_schedule(now, slot);
            }
            self.stats.notifications = self.stats.notifications.saturating_add(1);
            return Ok(Some(Notification {
                cuid,
                mid: None,
                observers: Observers::default(),
                code: Code::CONTENT,
                content_format: Some(ContentFormat::DOTS_CBOR),
                payload_len: len,
                last: false,
                queries: alloc::vec![super::ObserveTarget::Telemetry(id)],
                ended: Vec::new(),
            }));
        }
        Ok(None)
    }

    // ---- mitigation status telemetry (Section 9) -------------------------------------------

    /// The host's telemetry for a mitigation of a client (RFC 9244 Section 9.2): traffic,
    /// attack traffic, connections and attack details, shown in the mitigation's status (GET
    /// responses and notifications) to clients whose `current-config` has
    /// `server-originated-telemetry` true ("DOTS servers MUST NOT include telemetry
    /// attributes in mitigation status updates sent to DOTS clients for telemetry sessions in
    /// which the 'server-originated-telemetry' attribute is set to 'false'"). `None` removes
    /// it. The mitigation's observers are notified.
    pub fn set_scope_telemetry(
        &mut self,
        now: Instant,
        cuid: &str,
        mid: u32,
        telemetry: Option<&ScopeTelemetry>,
    ) -> Result<(), CommandError> {
        let now = self.clock(now);
        self.expire(now);
        let slot = self.slot_of(cuid).ok_or(CommandError::UnknownClient)?;
        if self.client(slot).and_then(|c| c.get(mid)).is_none() {
            return Err(CommandError::UnknownMitigation { mid });
        }
        let body = match telemetry.filter(|t| !t.is_empty()) {
            Some(t) => {
                t.validate().map_err(|_| CommandError::InvalidTelemetry)?;
                let u = EfficacyUpdate {
                    request: MitigationRequest::default(),
                    telemetry: t.clone(),
                };
                let mut buf = alloc::vec![0u8; u.encoded_len()];
                let n = u
                    .encode_cbor(&mut buf)
                    .map_err(|_| CommandError::InvalidTelemetry)?;
                buf.truncate(n);
                Some(buf.into_boxed_slice())
            }
            None => None,
        };
        let Some(t) = self.tm_state_mut(slot) else {
            return Err(CommandError::UnknownClient);
        };
        let at = t.scope.binary_search_by_key(&mid, |s| s.mid);
        match (at, body) {
            (Ok(i), Some(b)) => {
                if let Some(s) = t.scope.get_mut(i) {
                    s.body = b;
                }
            }
            (Err(i), Some(b)) => t.scope.insert(i, ScopeRec { mid, body: b }),
            (Ok(i), None) => {
                t.scope.remove(i);
            }
            (Err(_), None) => {}
        }
        self.queue_notify(slot, mid);
        self.tm_tidy(slot);
        Ok(())
    }

    /// The telemetry shown with a mitigation's status, if any.
    pub(crate) fn scope_telemetry_of(&self, slot: u32, mid: u32) -> Option<ScopeTelemetry> {
        if !self.tm_server_originated(slot) {
            return None;
        }
        self.tm_state(Some(slot))?.scope_telemetry(mid)?.telemetry()
    }

    /// Forgets the host's telemetry of a removed mitigation.
    pub(crate) fn forget_scope_telemetry(&mut self, slot: u32, mid: u32) {
        if let Some(t) = self
            .client_mut(slot)
            .and_then(|c| c.telemetry.as_deref_mut())
        {
            if let Ok(i) = t.scope.binary_search_by_key(&mid, |s| s.mid) {
                t.scope.remove(i);
            }
        }
    }
}

/// 4.09 for a lower `tmid` overlapping a higher one: `conflict-cause` 1 with the common
/// targets.
fn tm_conflict(a: &PreOrOngoingMitigation, b: &PreOrOngoingMitigation) -> ConflictInformation {
    let mut t = Targets::new();
    for p in &a.target.targets.prefixes {
        for q in &b.target.targets.prefixes {
            if super::telemetry::prefixes_overlap(p, q) {
                let more = if p.prefix_len() >= q.prefix_len() {
                    *p
                } else {
                    *q
                };
                if !t.prefixes.contains(&more) {
                    let _ = t.push_prefix(more);
                }
            }
        }
    }
    for f in a.target.targets.fqdns() {
        if b.target.targets.fqdns().any(|g| g.eq_ignore_ascii_case(f)) {
            let _ = t.push_fqdn(f);
        }
    }
    for u in a.target.targets.uris() {
        if b.target.targets.uris().any(|v| v == u) {
            let _ = t.push_uri(u);
        }
    }
    for n in a.target.targets.alias_names() {
        if b.target.targets.alias_names().any(|m| m == n) {
            let _ = t.push_alias_name(n);
        }
    }
    ConflictInformation {
        conflict_cause: Some(ConflictCause::OverlappingTargets),
        conflict_scope: Some(ConflictScope {
            targets: t,
            mid: None,
        }),
        ..ConflictInformation::default()
    }
}
