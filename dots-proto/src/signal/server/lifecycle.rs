//! The mitigation lifecycle: status changes and what they trigger (host hooks, events, the
//! idle/mitigating switch, notifications), timers, the host's status reports and signal loss.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use dots_codec::coap::{Code, ContentFormat};
use dots_codec::model::{MitigationStatus, Scope};

use super::config::PRECONFIGURED_REPEATS;
use super::encode;
use super::event::{ConfigPhase, ServerEvent, TerminationReason};
use super::hooks::SignalHooks;
use super::index::Net;
use super::mitigate::Removal;
use super::request::{BufferTooSmall, Notification, ObserveAction, ObserveTarget, Observers};
use super::state::{is_active, Mitigation, MitigationStats, Owner};
use super::{ClientRef, CommandError, SignalServer, MIN_RESPONSE_BUFFER};
use crate::time::Instant;

/// A queued notification.
#[derive(Debug)]
pub(crate) enum Pending {
    /// The current state of a stored mitigation.
    Live { slot: u32, mid: u32 },
    /// The last state of a removed mitigation.
    Final(Box<FinalNote>),
    /// A client's configuration.
    Config { slot: u32 },
}

#[derive(Debug)]
pub(crate) struct FinalNote {
    cuid: Arc<str>,
    rec: Mitigation,
    observers: Observers,
    /// Filtered observations selecting it, and those that end with it.
    queries: Vec<ObserveTarget>,
    ended: Vec<ObserveTarget>,
}

/// The activity seen before an operation, to detect transitions after it.
#[derive(Debug)]
pub(crate) struct Snap {
    client_active: bool,
    session: Option<(Arc<str>, bool)>,
}

impl<H: SignalHooks> SignalServer<H> {
    // ---- activity --------------------------------------------------------------------------

    fn session_phase(&self, owner: &Owner) -> bool {
        match owner {
            Owner::Peer(p) => self
                .slot_of(p)
                .and_then(|s| self.client(s))
                .is_some_and(|c| c.session_active > 0),
            Owner::Gateway => self.gateway_active > 0,
        }
    }

    pub(crate) fn snap(&self, slot: u32) -> Snap {
        match self.client(slot) {
            Some(c) => Snap {
                client_active: c.active > 0,
                session: match &c.owner {
                    // The usual case: the client is its own session.
                    Owner::Peer(p) if Arc::ptr_eq(p, &c.cuid) => {
                        Some((p.clone(), c.session_active > 0))
                    }
                    Owner::Peer(p) => Some((p.clone(), self.session_phase(&c.owner))),
                    Owner::Gateway => None,
                },
            },
            None => Snap {
                client_active: false,
                session: None,
            },
        }
    }

    /// Fires what changed since `snap`: the ACL hooks when the client starts or stops
    /// mitigating, and the session-configuration switch.
    pub(crate) fn settle(&mut self, now: Instant, slot: u32, snap: Snap) {
        if let Some(c) = self.client(slot) {
            let active = c.active > 0;
            if active != snap.client_active {
                let cuid = c.cuid.clone();
                let cdid = c.cdid.clone();
                let r = ClientRef {
                    cuid: &cuid,
                    cdid: cdid.as_deref(),
                };
                if active {
                    self.hooks.mitigation_started(now, r);
                } else {
                    self.hooks.mitigation_ended(now, r);
                }
            }
        }
        if let Some((p, before)) = snap.session {
            let after = match self.client(slot) {
                Some(c) if Arc::ptr_eq(&p, &c.cuid) => c.session_active > 0,
                _ => self.session_phase(&Owner::Peer(p.clone())),
            };
            if after != before {
                self.push_event(ServerEvent::SessionConfigChanged {
                    cuid: p,
                    phase: if after {
                        ConfigPhase::Mitigating
                    } else {
                        ConfigPhase::Idle
                    },
                });
            }
        }
    }

    /// Adjusts the running-mitigation counts of a client and of its session.
    pub(crate) fn count_active(&mut self, slot: u32, up: bool) {
        let now = self.last_now;
        let Some(c) = self.client_mut(slot) else {
            return;
        };
        c.active = if up {
            c.active.saturating_add(1)
        } else {
            c.active.saturating_sub(1)
        };
        if matches!(&c.owner, Owner::Peer(p) if Arc::ptr_eq(p, &c.cuid)) {
            c.session_active = if up {
                c.session_active.saturating_add(1)
            } else {
                c.session_active.saturating_sub(1)
            };
            return;
        }
        let owner = c.owner.clone();
        let session = match owner {
            Owner::Gateway => {
                self.gateway_active = if up {
                    self.gateway_active.saturating_add(1)
                } else {
                    self.gateway_active.saturating_sub(1)
                };
                return;
            }
            Owner::Peer(p) => match self.slot_of(&p) {
                Some(s) => s,
                None => self.insert_client(now, &p, Owner::Peer(p.clone())),
            },
        };
        if let Some(s) = self.client_mut(session) {
            s.session_active = if up {
                s.session_active.saturating_add(1)
            } else {
                s.session_active.saturating_sub(1)
            };
        }
    }

    /// Sets a status; counts, and queues a notification when it changed.
    pub(crate) fn set_status(&mut self, now: Instant, slot: u32, mid: u32, new: MitigationStatus) {
        let Some(m) = self.client_mut(slot).and_then(|c| c.get_mut(mid)) else {
            return;
        };
        let old = m.status;
        if old == new {
            return;
        }
        m.status = new;
        if new != MitigationStatus::AttackStopped && new != MitigationStatus::Withdrawn {
            m.countdown = 0;
        }
        if is_active(new) && m.started == Instant::MAX {
            m.started = now;
        }
        if !is_active(new) {
            m.started = Instant::MAX;
        }
        match (is_active(old), is_active(new)) {
            (false, true) => self.count_active(slot, true),
            (true, false) => self.count_active(slot, false),
            _ => {}
        }
        self.queue_notify(slot, mid);
    }

    fn observed(&self, slot: u32, mid: u32) -> bool {
        self.client(slot)
            .is_some_and(|c| c.observe_all || c.get(mid).is_some_and(|m| m.observed))
            || !self.mitigation_queries(slot, mid).is_empty()
    }

    /// A preconfigured request in status 3 or 7: transmitted [`PRECONFIGURED_REPEATS`] times,
    /// then status 8 (RFC 9132 Table 3). Without observers there is nobody to transmit to,
    /// and it turns to 8 at once.
    fn start_countdown(&mut self, now: Instant, slot: u32, mid: u32) {
        if self.observed(slot, mid) {
            if let Some(m) = self.client_mut(slot).and_then(|c| c.get_mut(mid)) {
                m.countdown = PRECONFIGURED_REPEATS;
            }
            self.queue_notify(slot, mid);
        } else {
            self.back_to_preconfigured(now, slot, mid);
        }
    }

    fn back_to_preconfigured(&mut self, now: Instant, slot: u32, mid: u32) {
        let Some(m) = self.client(slot).and_then(|c| c.get(mid)) else {
            return;
        };
        let was_active = is_active(m.status);
        self.set_status(now, slot, mid, MitigationStatus::SignalLoss);
        if was_active {
            self.push_event(ServerEvent::MitigationTerminated {
                cuid: self.cuid_arc(slot),
                mid,
                reason: TerminationReason::ReturnedToPreconfigured,
                was_active,
            });
        }
    }

    /// The server withdraws a running request (status 7; RFC 9132 Sections 4.4.1.3 and
    /// Table 3). No active-but-terminating period.
    pub(crate) fn server_withdraw(
        &mut self,
        now: Instant,
        slot: u32,
        mid: u32,
        reason: TerminationReason,
    ) {
        let Some(m) = self.client(slot).and_then(|c| c.get(mid)) else {
            return;
        };
        let (was_active, trigger) = (is_active(m.status), m.trigger);
        self.set_status(now, slot, mid, MitigationStatus::Withdrawn);
        self.push_event(ServerEvent::MitigationTerminated {
            cuid: self.cuid_arc(slot),
            mid,
            reason,
            was_active,
        });
        if !trigger {
            self.start_countdown(now, slot, mid);
        }
    }

    // ---- records ---------------------------------------------------------------------------

    /// Inserts a new record with its index entries and timer; `scope` is its request.
    pub(crate) fn insert_mitigation(&mut self, slot: u32, m: Mitigation, scope: &Scope) {
        let mid = m.mid;
        let deadline = m.deadline();
        let Some(c) = self.clients.get_mut(slot as usize).and_then(Option::as_mut) else {
            return;
        };
        for p in super::mitigate::all_prefixes(scope, m.aliases()) {
            self.index.insert_prefix(Net::from_ipnet(p), slot, mid);
        }
        for (kind, name) in super::mitigate::all_names(scope, m.aliases()) {
            self.index.insert_name(kind, name, slot, mid);
        }
        match c.mids.binary_search(&mid) {
            Ok(i) => {
                if let Some(x) = c.mitigations.get_mut(i) {
                    *x = m;
                }
            }
            Err(i) => {
                // Exact growth: per-client tables are bounded and long-lived.
                c.mitigations.reserve_exact(1);
                c.mitigations.insert(i, m);
                c.mids.reserve_exact(1);
                c.mids.insert(i, mid);
            }
        }
        if deadline != Instant::MAX {
            self.timers.insert((deadline, slot, mid));
        }
    }

    /// Removes a record: index, timer, counts, events, and a last notification for its
    /// observers (status 6).
    pub(crate) fn remove_mitigation(&mut self, _now: Instant, slot: u32, mid: u32, how: Removal) {
        let queries = self.mitigation_queries(slot, mid);
        let ended = self.end_mitigation_queries(slot, mid);
        self.forget_scope_telemetry(slot, mid);
        let Some(c) = self.clients.get_mut(slot as usize).and_then(Option::as_mut) else {
            return;
        };
        let Some(i) = c.find(mid) else { return };
        let mut m = c.mitigations.remove(i);
        c.mids.remove(i);
        // The same entries as `all_prefixes` / `all_names` of the stored request and its
        // aliases, read from the packed bytes.
        let index = &mut self.index;
        encode::packed_targets(&m.request, |t| match t {
            encode::PackedTarget::Prefix(p) => index.remove_prefix(p, slot, mid),
            encode::PackedTarget::Name(kind, name) => index.remove_name(kind, name, slot, mid),
        });
        for p in super::mitigate::alias_prefixes(m.aliases()) {
            index.remove_prefix(Net::from_ipnet(p), slot, mid);
        }
        for (kind, name) in super::mitigate::alias_names(m.aliases()) {
            index.remove_name(kind, name, slot, mid);
        }
        let Some(c) = self.clients.get_mut(slot as usize).and_then(Option::as_mut) else {
            return;
        };
        if m.observed {
            c.observers = c.observers.saturating_sub(1);
        }
        let observers = Observers {
            mitigation: m.observed,
            all: c.observe_all,
            config: false,
        };
        let cuid = c.cuid.clone();
        self.timers.remove(&(m.deadline(), slot, mid));
        let was_active = is_active(m.status);
        if was_active {
            self.count_active(slot, false);
        }
        self.push_event(match how {
            Removal::Terminated(reason) => ServerEvent::MitigationTerminated {
                cuid: cuid.clone(),
                mid,
                reason,
                was_active,
            },
            Removal::Expired => ServerEvent::MitigationExpired {
                cuid: cuid.clone(),
                mid,
                was_active,
            },
        });
        if observers.mitigation || observers.all || !queries.is_empty() {
            m.status = MitigationStatus::Terminated;
            m.notify_pending = false;
            self.notify.push_back(Pending::Final(Box::new(FinalNote {
                cuid,
                rec: m,
                observers,
                queries,
                ended,
            })));
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

    /// Changes the lifetime end and/or the terminating end of a record, keeping its timer.
    pub(crate) fn set_deadlines(
        &mut self,
        slot: u32,
        mid: u32,
        expires: Option<Instant>,
        terminate_at: Option<Instant>,
    ) {
        let Some(m) = self.client_mut(slot).and_then(|c| c.get_mut(mid)) else {
            return;
        };
        let old = m.deadline();
        if let Some(e) = expires {
            m.expires = e;
        }
        if let Some(t) = terminate_at {
            m.terminate_at = t;
        }
        let new = m.deadline();
        if new != old {
            self.timers.remove(&(old, slot, mid));
            if new != Instant::MAX {
                self.timers.insert((new, slot, mid));
            }
        }
    }

    // ---- time ------------------------------------------------------------------------------

    /// When [`handle_timeout`](Self::handle_timeout) should next be called (a lifetime or an
    /// active-but-terminating period ends), or `None`.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let lifetimes = self.timers.first().map(|t| t.0);
        match (lifetimes, self.tm_next_due()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Expires lifetimes and ends active-but-terminating periods due at `now` ("Upon the expiry
    /// of the negotiated lifetime ... the mitigation request is removed", RFC 9132 Section
    /// 4.4.1.1; "Once the active-but-terminating period elapses, the DOTS server MUST treat the
    /// mitigation as terminated", Section 4.4.4). Spurious calls are no-ops.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.clock(now);
        self.expire(now);
    }

    pub(crate) fn expire(&mut self, now: Instant) {
        while let Some(&(t, slot, mid)) = self.timers.first() {
            if t > now {
                break;
            }
            self.timers.remove(&(t, slot, mid));
            let Some(m) = self.client(slot).and_then(|c| c.get(mid)) else {
                continue;
            };
            if m.deadline() != t {
                continue;
            }
            let how = if m.terminate_at <= now {
                Removal::Terminated(TerminationReason::WithdrawalElapsed)
            } else {
                self.stats.expired = self.stats.expired.saturating_add(1);
                Removal::Expired
            };
            let snap = self.snap(slot);
            self.remove_mitigation(now, slot, mid, how);
            self.settle(now, slot, snap);
            self.drop_if_empty(slot);
        }
    }

    // ---- events and notifications ----------------------------------------------------------

    /// The next event for the host, oldest first.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        self.events.pop_front()
    }

    /// Queues a notification of a mitigation's state for its observers (if any).
    pub(crate) fn queue_notify(&mut self, slot: u32, mid: u32) {
        let filtered = self.has_mitigation_queries(slot, mid);
        let Some(c) = self.client_mut(slot) else {
            return;
        };
        let all = c.observe_all;
        let Some(m) = c.get_mut(mid) else { return };
        if m.notify_pending || !(m.observed || all || filtered) {
            return;
        }
        m.notify_pending = true;
        self.notify.push_back(Pending::Live { slot, mid });
    }

    /// Queues a configuration notification for the client's observers (if any).
    pub(crate) fn queue_config_notify(&mut self, slot: u32) {
        let Some(c) = self.client_mut(slot) else {
            return;
        };
        if c.observe_config && !c.config_notify_pending {
            c.config_notify_pending = true;
            self.notify.push_back(Pending::Config { slot });
        }
    }

    /// The next notification, its payload written to `out` (at least [`MIN_RESPONSE_BUFFER`]
    /// bytes). Notifications of one mitigation coalesce: the payload is its state when polled.
    /// Send them Non-confirmable (RFC 9132 Section 4.4.2.1), paced as that section asks.
    pub fn poll_notification(
        &mut self,
        now: Instant,
        out: &mut [u8],
    ) -> Result<Option<Notification>, BufferTooSmall> {
        if out.len() < MIN_RESPONSE_BUFFER {
            return Err(BufferTooSmall {
                needed: MIN_RESPONSE_BUFFER,
            });
        }
        let now = self.clock(now);
        while let Some(p) = self.notify.pop_front() {
            let n = match p {
                Pending::Live { slot, mid } => self.live_notification(now, slot, mid, out),
                Pending::Final(f) => {
                    let len = encode::write_entries(
                        self,
                        now,
                        core::iter::once(&f.rec),
                        None,
                        dots_codec::path::Content::All,
                        out,
                    )
                    .unwrap_or(0);
                    Some(Notification {
                        cuid: f.cuid,
                        mid: Some(f.rec.mid),
                        observers: f.observers,
                        code: Code::CONTENT,
                        content_format: Some(ContentFormat::DOTS_CBOR),
                        payload_len: len,
                        last: f.observers.mitigation,
                        queries: f.queries,
                        ended: f.ended,
                    })
                }
                Pending::Config { slot } => {
                    let Some(c) = self.client_mut(slot) else {
                        continue;
                    };
                    c.config_notify_pending = false;
                    if !c.observe_config {
                        continue;
                    }
                    let cuid = c.cuid.clone();
                    let len = self.write_config(slot, out);
                    Some(Notification {
                        cuid,
                        mid: None,
                        observers: Observers {
                            config: true,
                            ..Observers::default()
                        },
                        code: Code::CONTENT,
                        content_format: Some(ContentFormat::DOTS_CBOR),
                        payload_len: len,
                        last: false,
                        queries: Vec::new(),
                        ended: Vec::new(),
                    })
                }
            };
            if let Some(n) = n {
                self.stats.notifications = self.stats.notifications.saturating_add(1);
                return Ok(Some(n));
            }
        }
        // RFC 9244 `/tm` notifications, paced per client.
        self.poll_tm_notification(now, out)
    }

    fn live_notification(
        &mut self,
        now: Instant,
        slot: u32,
        mid: u32,
        out: &mut [u8],
    ) -> Option<Notification> {
        let c = self.client(slot)?;
        let m = c.get(mid)?;
        if !m.notify_pending {
            return None;
        }
        let observers = Observers {
            mitigation: m.observed,
            all: c.observe_all,
            config: false,
        };
        let countdown = m.countdown;
        let cuid = c.cuid.clone();
        let queries = self.mitigation_queries(slot, mid);
        if !(observers.mitigation || observers.all || !queries.is_empty()) {
            if let Some(m) = self.client_mut(slot).and_then(|c| c.get_mut(mid)) {
                m.notify_pending = false;
            }
            if countdown > 0 {
                let snap = self.snap(slot);
                self.back_to_preconfigured(now, slot, mid);
                self.settle(now, slot, snap);
            }
            return None;
        }
        let len = encode::write_entries(
            self,
            now,
            core::iter::once(m),
            Some(slot),
            dots_codec::path::Content::All,
            out,
        )
        .unwrap_or(0);
        if let Some(m) = self.client_mut(slot).and_then(|c| c.get_mut(mid)) {
            m.notify_pending = false;
            if m.countdown > 0 {
                m.countdown -= 1;
                if m.countdown > 0 {
                    // Transmit it again (the session paces notifications).
                    m.notify_pending = true;
                    self.notify
                        .push_back(super::lifecycle::Pending::Live { slot, mid });
                } else {
                    let snap = self.snap(slot);
                    self.back_to_preconfigured(now, slot, mid);
                    self.settle(now, slot, snap);
                }
            }
        }
        Some(Notification {
            cuid,
            mid: Some(mid),
            observers,
            code: Code::CONTENT,
            content_format: Some(ContentFormat::DOTS_CBOR),
            payload_len: len,
            last: false,
            queries,
            ended: Vec::new(),
        })
    }

    /// Registers an observation (Observe=0), within the client's quota.
    pub(crate) fn register_observer(&mut self, slot: u32, target: ObserveTarget) -> ObserveAction {
        let max = self.config.quotas.max_observers;
        let Some(c) = self.client_mut(slot) else {
            return ObserveAction::Refused {
                cuid: Arc::from(""),
                target,
            };
        };
        let cuid = c.cuid.clone();
        let full = c.observers as usize >= max;
        let flag: Option<&mut bool> = match target {
            ObserveTarget::AllMitigations => Some(&mut c.observe_all),
            ObserveTarget::Config => Some(&mut c.observe_config),
            ObserveTarget::Mitigation(mid) => c.get_mut(mid).map(|m| &mut m.observed),
            // Registered with their query (`register_query_observer`).
            ObserveTarget::FilteredMitigations(_) | ObserveTarget::Telemetry(_) => None,
        };
        match flag {
            Some(f) if *f => ObserveAction::Registered { cuid, target },
            Some(f) if !full => {
                *f = true;
                c.observers += 1;
                ObserveAction::Registered { cuid, target }
            }
            _ => ObserveAction::Refused { cuid, target },
        }
    }

    /// The session removed the last CoAP observer (token) of `target` for the client (an
    /// Observe=1 GET, a Reset, or its own decision): the core stops tracking it.
    pub fn cancel_observation(&mut self, cuid: &str, target: ObserveTarget) {
        let Some(slot) = self.slot_of(cuid) else {
            return;
        };
        if let ObserveTarget::FilteredMitigations(id) | ObserveTarget::Telemetry(id) = target {
            self.cancel_query_observer(slot, id);
            return;
        }
        let Some(c) = self.client_mut(slot) else {
            return;
        };
        let flag: Option<&mut bool> = match target {
            ObserveTarget::AllMitigations => Some(&mut c.observe_all),
            ObserveTarget::Config => Some(&mut c.observe_config),
            ObserveTarget::Mitigation(mid) => c.get_mut(mid).map(|m| &mut m.observed),
            ObserveTarget::FilteredMitigations(_) | ObserveTarget::Telemetry(_) => None,
        };
        if let Some(f) = flag {
            if *f {
                *f = false;
                c.observers = c.observers.saturating_sub(1);
            }
        }
        self.drop_if_empty(slot);
    }

    /// Queues a notification of the current state of every running (status 1–5) or
    /// server-withdrawn (status 7, kept until its lifetime ends), observed mitigation of the
    /// client: the periodic status of RFC 9132 Section 4.4.2.1 ("the DOTS server periodically
    /// sends attack mitigation status to the DOTS client"), which the session layer schedules.
    /// It carries a status change whose (Non-confirmable) notification was lost, the withdrawal
    /// included. Notifications already queued are not repeated.
    pub fn queue_status_notifications(&mut self, cuid: &str) {
        let Some(slot) = self.slot_of(cuid) else {
            return;
        };
        let mids: Vec<u32> = self
            .client(slot)
            .map(|c| {
                c.mitigations
                    .iter()
                    .filter(|m| {
                        (is_active(m.status) || m.status == MitigationStatus::Withdrawn)
                            && (m.observed || c.observe_all)
                    })
                    .map(|m| m.mid)
                    .collect()
            })
            .unwrap_or_default();
        for mid in mids {
            self.queue_notify(slot, mid);
        }
    }

    fn clear_observers(&mut self, slot: u32) {
        self.clear_query_observers(slot);
        if let Some(c) = self.client_mut(slot) {
            c.observe_all = false;
            c.observe_config = false;
            c.observers = 0;
            for m in &mut c.mitigations {
                m.observed = false;
            }
        }
    }

    // ---- host reports ----------------------------------------------------------------------

    /// The host's mitigator reports a mitigation's status and counters (RFC 9132 Section
    /// 4.4.2). `status` may be 1–4, or 7 to withdraw it (the server's own decision); `None`
    /// keeps the status. A change of either queues a notification for the observers.
    ///
    /// While the request is active-but-terminating (status 5) only the counters are taken.
    /// `attack-stopped` (3) for a preconfigured request turns to 8 after four transmissions.
    pub fn set_mitigation_status(
        &mut self,
        now: Instant,
        cuid: &str,
        mid: u32,
        status: Option<MitigationStatus>,
        stats: MitigationStats,
    ) -> Result<(), CommandError> {
        let now = self.clock(now);
        self.expire(now);
        let slot = self.slot_of(cuid).ok_or(CommandError::UnknownClient)?;
        let m = self
            .client(slot)
            .and_then(|c| c.get(mid))
            .ok_or(CommandError::UnknownMitigation { mid })?;
        let (current, trigger) = (m.status, m.trigger);
        if let Some(s) = status {
            use MitigationStatus as S;
            if !matches!(
                s,
                S::InProgress
                    | S::SuccessfullyMitigated
                    | S::AttackStopped
                    | S::ExceededCapability
                    | S::Withdrawn
            ) {
                return Err(CommandError::InvalidStatus { status: s });
            }
            if current != S::ClientWithdrawn && !is_active(current) {
                return Err(CommandError::NotActive { mid });
            }
        }
        let snap = self.snap(slot);
        match status {
            Some(s) if current == MitigationStatus::ClientWithdrawn || s == current => {}
            Some(MitigationStatus::Withdrawn) => {
                self.server_withdraw(now, slot, mid, TerminationReason::ServerWithdrawn);
            }
            Some(s) => {
                self.set_status(now, slot, mid, s);
                if s == MitigationStatus::AttackStopped && !trigger {
                    self.start_countdown(now, slot, mid);
                }
            }
            None => {}
        }
        let changed = self
            .client_mut(slot)
            .and_then(|c| c.get_mut(mid))
            .is_some_and(|m| m.counters.merge(&stats));
        if changed {
            self.queue_notify(slot, mid);
        }
        self.settle(now, slot, snap);
        Ok(())
    }

    // ---- sessions --------------------------------------------------------------------------

    /// The clients a peer's session covers: its own cuid and those it created under another
    /// cuid.
    fn session_clients(&self, cuid: &str) -> Vec<u32> {
        let mut v: Vec<u32> = self.slot_of(cuid).into_iter().collect();
        for (i, c) in self.clients.iter().enumerate() {
            if let Some(c) = c {
                if matches!(&c.owner, Owner::Peer(p) if **p == *cuid) && *c.cuid != *cuid {
                    v.push(u32::try_from(i).unwrap_or(u32::MAX));
                }
            }
        }
        v
    }

    /// The signal session of `cuid` (the peer's cuid) is lost: the heartbeat layer saw no
    /// traffic from the client for `missing-hb-allowed` heartbeats (the deadman, RFC 9132
    /// Section 4.7).
    ///
    /// Its observations are dropped, its preconfigured requests (`trigger-mitigation` false)
    /// start (status 8 → 1, [`ServerEvent::TriggeredBySignalLoss`]), and its running immediate
    /// requests overlapping one of them are withdrawn (status 7; Section 4.4.1.3: the
    /// preconfigured requests "take precedence"). A later session recovery stops nothing
    /// (Section 4.4.4).
    pub fn session_lost(&mut self, now: Instant, cuid: &str) {
        let now = self.clock(now);
        self.expire(now);
        for slot in self.session_clients(cuid) {
            let snap = self.snap(slot);
            self.clear_observers(slot);
            let pre: Vec<u32> = self
                .client(slot)
                .map(|c| {
                    c.mitigations
                        .iter()
                        .filter(|m| !m.trigger && m.status == MitigationStatus::SignalLoss)
                        .map(|m| m.mid)
                        .collect()
                })
                .unwrap_or_default();
            for &mid in &pre {
                self.set_status(now, slot, mid, MitigationStatus::InProgress);
                if let Some(m) = self.client(slot).and_then(|c| c.get(mid)) {
                    let req = encode::stored_request(m);
                    let aliases = m.aliases().to_vec();
                    self.push_event(ServerEvent::TriggeredBySignalLoss {
                        cuid: self.cuid_arc(slot),
                        mid,
                        scope: Box::new(req.entry.scope),
                        aliases,
                    });
                }
            }
            let losers = self.overlapping_immediate(slot, &pre);
            for mid in losers {
                self.server_withdraw(now, slot, mid, TerminationReason::PreconfiguredPrecedence);
            }
            self.push_event(ServerEvent::ClientLost {
                cuid: self.cuid_arc(slot),
            });
            self.settle(now, slot, snap);
            self.drop_if_empty(slot);
        }
    }

    /// Running immediate requests of a client overlapping any of `pre`.
    fn overlapping_immediate(&self, slot: u32, pre: &[u32]) -> Vec<u32> {
        let Some(c) = self.client(slot) else {
            return Vec::new();
        };
        let mut hits = Vec::new();
        for &p in pre {
            let Some(m) = c.get(p) else { continue };
            let scope = encode::stored_request(m).entry.scope;
            for net in super::mitigate::all_prefixes(&scope, m.aliases()) {
                self.index
                    .overlapping_in(Net::from_ipnet(net), slot, |m, _| hits.push(m));
            }
            for (kind, name) in super::mitigate::all_names(&scope, m.aliases()) {
                self.index.same_name_in(kind, name, slot, |m| hits.push(m));
            }
        }
        hits.sort_unstable();
        hits.dedup();
        hits.retain(|m| c.get(*m).is_some_and(|r| r.trigger && is_active(r.status)));
        hits
    }

    /// The signal session of `cuid` ended without a signal loss (closed by either side): its
    /// observations are dropped and nothing else changes.
    pub fn session_closed(&mut self, now: Instant, cuid: &str) {
        let _ = self.clock(now);
        for slot in self.session_clients(cuid) {
            self.clear_observers(slot);
            self.drop_if_empty(slot);
        }
    }
}

/// See [`SignalServer::check_invariants`].
pub(crate) fn check_invariants<H: SignalHooks>(s: &SignalServer<H>) -> Result<(), String> {
    let mut prefix_entries = 0usize;
    let mut name_entries = 0usize;
    let mut gateway_active = 0u32;
    let mut session: alloc::collections::BTreeMap<Arc<str>, u32> = Default::default();
    if s.by_cuid.len() != s.clients.iter().flatten().count() {
        return Err(format!(
            "{} cuids for {} client records",
            s.by_cuid.len(),
            s.clients.iter().flatten().count()
        ));
    }
    for (slot, c) in s.clients.iter().enumerate() {
        let Some(c) = c else { continue };
        let slot = u32::try_from(slot).map_err(|_| String::from("slot overflow"))?;
        if s.slot_of(&c.cuid) != Some(slot) {
            return Err(format!("cuid {} not mapped to its slot", c.cuid));
        }
        if !c
            .mitigations
            .iter()
            .map(|m| m.mid)
            .eq(c.mids.iter().copied())
        {
            return Err(format!("{}: mid list out of step", c.cuid));
        }
        if c.mitigations.windows(2).any(|w| w[0].mid >= w[1].mid) {
            return Err(format!("{}: mitigations not sorted", c.cuid));
        }
        let active = c.mitigations.iter().filter(|m| is_active(m.status)).count();
        if active != c.active as usize {
            return Err(format!(
                "{}: active {} counted {}",
                c.cuid, active, c.active
            ));
        }
        match &c.owner {
            Owner::Gateway => gateway_active += c.active,
            Owner::Peer(p) => *session.entry(p.clone()).or_default() += c.active,
        }
        let observers = c.mitigations.iter().filter(|m| m.observed).count()
            + usize::from(c.observe_all)
            + usize::from(c.observe_config)
            + c.telemetry.as_deref().map_or(0, |t| t.observers.len());
        if observers != c.observers as usize {
            return Err(format!(
                "{}: observers {} counted {}",
                c.cuid, observers, c.observers
            ));
        }
        if observers > s.config.quotas.max_observers {
            return Err(format!("{}: observer quota exceeded", c.cuid));
        }
        if c.mitigations.len() > s.config.quotas.max_mitigations {
            return Err(format!("{}: mitigation quota exceeded", c.cuid));
        }
        for m in &c.mitigations {
            let d = m.deadline();
            if (d != Instant::MAX) != s.timers.contains(&(d, slot, m.mid)) {
                return Err(format!("{}/{}: timer out of step", c.cuid, m.mid));
            }
            if m.status == MitigationStatus::Terminated {
                return Err(format!("{}/{}: terminated record kept", c.cuid, m.mid));
            }
            let scope = encode::stored_request(m).entry.scope;
            let mut nets: Vec<Net> = super::mitigate::all_prefixes(&scope, m.aliases())
                .map(Net::from_ipnet)
                .collect();
            nets.sort_unstable();
            nets.dedup();
            prefix_entries += nets.len();
            let mut names: Vec<(super::index::NameKind, String)> =
                super::mitigate::all_names(&scope, m.aliases())
                    .map(|(k, n)| {
                        let mut buf = [0u8; 256];
                        let len = super::index::normalize(k, n, &mut buf);
                        (k, String::from_utf8_lossy(&buf[..len]).into_owned())
                    })
                    .collect();
            names.sort_unstable();
            names.dedup();
            name_entries += names.len();
            for p in super::mitigate::all_prefixes(&scope, m.aliases()) {
                let net = Net::from_ipnet(p);
                if !s.index.contains_prefix(net, slot, m.mid) {
                    return Err(format!(
                        "{}/{}: prefix {p} not in global index",
                        c.cuid, m.mid
                    ));
                }
            }
            for (kind, name) in super::mitigate::all_names(&scope, m.aliases()) {
                let mut found = false;
                s.index
                    .same_name_in(kind, name, slot, |x| found |= x == m.mid);
                if !found {
                    return Err(format!("{}/{}: name {name} not indexed", c.cuid, m.mid));
                }
            }
            // No two overlapping requests of the same trigger type; no two running ones.
            let mut clash = None;
            let refine = s.config.refine_overlap_by_ports_and_protocols;
            for p in super::mitigate::all_prefixes(&scope, m.aliases()) {
                s.index.overlapping_in(Net::from_ipnet(p), slot, |x, _| {
                    if x == m.mid {
                        return;
                    }
                    if let Some(o) = c.get(x) {
                        let both_active = is_active(o.status) && is_active(m.status);
                        if o.trigger == m.trigger || both_active {
                            let overlap = !refine || {
                                let os = encode::stored_request(o).entry.scope;
                                super::mitigate::ports_protocols_overlap(
                                    (&scope, m.aliases()),
                                    (&os, o.aliases()),
                                )
                            };
                            if overlap {
                                clash = Some(x);
                            }
                        }
                    }
                });
            }
            if let Some(x) = clash {
                return Err(format!("{}: requests {} and {x} overlap", c.cuid, m.mid));
            }
        }
    }
    if prefix_entries != s.index.prefix_entries().count() {
        return Err(format!(
            "global index has {} prefixes, clients {}",
            s.index.prefix_entries().count(),
            prefix_entries
        ));
    }
    if name_entries != s.index.name_entries().count() {
        return Err(String::from("global name index out of step"));
    }
    for (slot, mid, _) in s.index.prefix_entries() {
        if s.client(slot).and_then(|c| c.get(mid)).is_none() {
            return Err(format!("global index entry for unknown {slot}/{mid}"));
        }
    }
    for (_, name, slot, mid) in s.index.name_entries() {
        if s.client(slot).and_then(|c| c.get(mid)).is_none() {
            return Err(format!("name {name} indexed for unknown {slot}/{mid}"));
        }
    }
    if gateway_active != s.gateway_active {
        return Err(String::from("gateway activity out of step"));
    }
    for c in s.clients.iter().flatten() {
        let want = session.get(&c.cuid).copied().unwrap_or(0);
        if want != c.session_active {
            return Err(format!(
                "{}: session activity {} counted {}",
                c.cuid, want, c.session_active
            ));
        }
    }
    super::telemetry::check_invariants(s)?;
    for &(t, slot, mid) in &s.timers {
        if s.client(slot)
            .and_then(|c| c.get(mid))
            .map(Mitigation::deadline)
            != Some(t)
        {
            return Err(format!("stale timer {slot}/{mid}"));
        }
    }
    Ok(())
}
