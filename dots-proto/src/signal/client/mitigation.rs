//! Mitigation requests (RFC 9132 Section 4.4): the table, the commands, refreshes, and what the
//! server answers and notifies.

use core::time::Duration;

use dots_codec::cbor::{encode_scopes, encode_scopes_with_telemetry};
use dots_codec::coap::Code;
use dots_codec::model::{
    AttackStatus, ConflictCause, ConflictInformation, ConflictStatus, Lifetime, MitigationRequest,
    MitigationStatus, Scope, ScopeEntry, ScopeTelemetry, Targets,
};

use super::config::{DEFAULT_LIFETIME, MID_ROLLOVER, RETRY_DELAY, TERMINATING_PERIOD};
use super::event::{CommandError, Counters, EvRec, Operation};
use super::inbound::Reply;
use super::{after_secs, min_opt, wire, Link, ObserveAll, SignalClient};
use crate::coap::{FailReason, Request, RequestId};
use crate::time::Instant;

/// What a request the client sent is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Put {
        mid: u32,
        refresh: bool,
    },
    Efficacy {
        mid: u32,
    },
    Get {
        mid: Option<u32>,
        observe: bool,
    },
    Delete {
        mid: u32,
    },
    /// DELETE of a pre-configured request's old `mid` before it is re-created as `new`.
    Retire {
        mid: u32,
        new: u32,
    },
    GetConfig {
        sid: Option<u32>,
    },
    PutConfig {
        sid: u32,
    },
    DeleteConfig {
        sid: Option<u32>,
    },
    Heartbeat,
    TmSetup {
        code: Code,
        tsid: Option<u32>,
    },
    Tm {
        code: Code,
        tmid: Option<u32>,
    },
    CallHome,
}

impl Op {
    pub(crate) fn operation(self) -> Operation {
        match self {
            Op::Put { mid, .. } => Operation::PutMitigation { mid },
            Op::Efficacy { mid } => Operation::EfficacyUpdate { mid },
            Op::Get { mid, .. } => Operation::GetMitigations { mid },
            Op::Delete { mid } | Op::Retire { mid, .. } => Operation::DeleteMitigation { mid },
            Op::GetConfig { sid } => Operation::GetConfig { sid },
            Op::PutConfig { sid } => Operation::PutConfig { sid },
            Op::DeleteConfig { sid } => Operation::DeleteConfig { sid },
            Op::Heartbeat => Operation::Heartbeat,
            Op::TmSetup { code, tsid } => match (code, tsid) {
                (Code::PUT, Some(tsid)) => Operation::PutTelemetrySetup { tsid },
                (Code::DELETE, tsid) => Operation::DeleteTelemetrySetup { tsid },
                (_, tsid) => Operation::GetTelemetrySetup { tsid },
            },
            Op::Tm { code, tmid } => match (code, tmid) {
                (Code::PUT, Some(tmid)) => Operation::PutTelemetry { tmid },
                (Code::DELETE, tmid) => Operation::DeleteTelemetry { tmid },
                (_, tmid) => Operation::GetTelemetry { tmid },
            },
            Op::CallHome => Operation::CallHomeRedirect,
        }
    }
}

/// Where a mitigation request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MitigationState {
    /// Sent (or waiting to be sent), not acknowledged yet.
    Requested,
    /// Accepted by the server (2.01/2.04); refreshed before its lifetime ends.
    Active,
    /// Refused with 4.09: see [`Mitigation::conflict`].
    Conflicted,
    /// A withdrawal (DELETE) is on its way.
    Withdrawing,
    /// Withdrawn (2.02): active but terminating, for [`TERMINATING_PERIOD`] or until the
    /// server says it terminated.
    Terminating,
}

/// What the client still has to send for a mitigation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Want {
    Nothing,
    Put { refresh: bool },
    Delete,
}

/// A mitigation request the client holds.
#[derive(Clone, Debug)]
pub struct Mitigation {
    pub(crate) mid: u32,
    pub(crate) scope: Scope,
    pub(crate) state: MitigationState,
    pub(crate) status: Option<MitigationStatus>,
    pub(crate) granted: Option<Lifetime>,
    pub(crate) expires: Option<Instant>,
    pub(crate) refresh_at: Option<Instant>,
    pub(crate) counters: Counters,
    pub(crate) mitigation_start: Option<u64>,
    pub(crate) conflict: Option<ConflictInformation>,
    pub(crate) want: Want,
    pub(crate) in_flight: Option<RequestId>,
    /// Nothing is sent for it before then (retry delay, 5.03 Max-Age, `retry-timer`).
    pub(crate) not_before: Option<Instant>,
    /// The `mid` it replaces: withdrawn once this one is accepted.
    pub(crate) supersedes: Option<u32>,
    /// Its old `mid`, to withdraw before it is re-created (rollover).
    pub(crate) retire: Option<u32>,
}

impl Mitigation {
    fn new(mid: u32, scope: Scope) -> Mitigation {
        Mitigation {
            mid,
            scope,
            state: MitigationState::Requested,
            status: None,
            granted: None,
            expires: None,
            refresh_at: None,
            counters: Counters::default(),
            mitigation_start: None,
            conflict: None,
            want: Want::Put { refresh: false },
            in_flight: None,
            not_before: None,
            supersedes: None,
            retire: None,
        }
    }

    /// `mid`.
    #[must_use]
    pub fn mid(&self) -> u32 {
        self.mid
    }

    /// The scope as sent (with the requested `lifetime`).
    #[must_use]
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// Where it stands.
    #[must_use]
    pub fn state(&self) -> MitigationState {
        self.state
    }

    /// The last `status` the server reported.
    #[must_use]
    pub fn status(&self) -> Option<MitigationStatus> {
        self.status
    }

    /// The lifetime the server granted.
    #[must_use]
    pub fn granted_lifetime(&self) -> Option<Lifetime> {
        self.granted
    }

    /// When the lifetime ends (`None`: indefinite or not granted yet).
    #[must_use]
    pub fn expires_at(&self) -> Option<Instant> {
        self.expires
    }

    /// When the client refreshes it.
    #[must_use]
    pub fn refresh_at(&self) -> Option<Instant> {
        self.refresh_at
    }

    /// The counters last reported.
    #[must_use]
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// `mitigation-start` last reported.
    #[must_use]
    pub fn mitigation_start(&self) -> Option<u64> {
        self.mitigation_start
    }

    /// The `conflict-information` last received (4.09, a 2.01 with a conflict, or a conflict
    /// notification).
    #[must_use]
    pub fn conflict(&self) -> Option<&ConflictInformation> {
        self.conflict.as_ref()
    }

    /// A pre-configured request (`trigger-mitigation` false).
    #[must_use]
    pub fn is_preconfigured(&self) -> bool {
        !self.scope.triggers_mitigation()
    }

    /// Whether it counts as mitigation activity (RFC 9132 Section 4.5: the mitigating set
    /// applies while one is active).
    pub(crate) fn is_activity(&self) -> bool {
        self.scope.triggers_mitigation()
            && match self.state {
                MitigationState::Requested
                | MitigationState::Withdrawing
                | MitigationState::Terminating => true,
                MitigationState::Active => !matches!(
                    self.status,
                    Some(
                        MitigationStatus::Terminated
                            | MitigationStatus::Withdrawn
                            | MitigationStatus::SignalLoss
                    )
                ),
                MitigationState::Conflicted => false,
            }
    }

    /// The next instant something is due for it.
    pub(crate) fn deadline(&self, connected: bool) -> Option<Instant> {
        let mut t = None;
        if connected && self.in_flight.is_none() {
            if self.want != Want::Nothing {
                // Wants without a delay go out at once (`pump`).
                t = min_opt(t, self.not_before);
            } else if self.state == MitigationState::Active {
                t = min_opt(t, self.refresh_at);
            } else if self.state == MitigationState::Conflicted {
                t = min_opt(t, self.not_before);
            }
        }
        if matches!(
            self.state,
            MitigationState::Active | MitigationState::Terminating
        ) {
            t = min_opt(t, self.expires);
        }
        t
    }

    fn refresh_lead(granted: Duration, lead: Duration) -> Duration {
        lead.min(granted / 2)
    }

    /// Sets the lifetime the server reported at `now`, and the refresh instant.
    fn set_lifetime(&mut self, now: Instant, lifetime: Option<Lifetime>, lead: Duration) {
        match lifetime {
            Some(Lifetime::Seconds(s)) => {
                let granted = Duration::from_secs(u64::from(s));
                let expires = now + granted;
                self.expires = Some(expires);
                let at = expires
                    .checked_sub(Self::refresh_lead(granted, lead))
                    .unwrap_or(now);
                self.refresh_at = Some(match self.not_before {
                    Some(nb) => at.max(nb),
                    None => at,
                });
            }
            Some(Lifetime::Indefinite) => {
                self.expires = None;
                self.refresh_at = None;
            }
            None => {}
        }
    }
}

/// The scope without its RFC 9133 `acl-list` (efficacy updates do not repeat it, and a
/// request whose ACLs failed goes again without them).
pub(crate) fn without_acls(s: &Scope) -> Scope {
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
        ..s.clone()
    }
}

impl<
        const MITIGATIONS: usize,
        const OUT: usize,
        const IN: usize,
        const MSG: usize,
        const BODY: usize,
        const INBOX: usize,
    > SignalClient<MITIGATIONS, OUT, IN, MSG, BODY, INBOX>
{
    pub(crate) fn index_of(&self, mid: u32) -> Option<usize> {
        self.table.iter().position(|m| m.mid == mid)
    }

    /// Allocates the next `mid`: increasing, restarting at 0 after 3221225471 when no attack
    /// is detected (RFC 9132 Section 4.4.1.1).
    fn alloc_mid(&mut self, now: Instant) -> Result<u32, CommandError> {
        if self.next_mid > u64::from(MID_ROLLOVER) && !self.attack_active() {
            self.rollover(now);
        }
        let mid = u32::try_from(self.next_mid).map_err(|_| CommandError::IdentifiersExhausted)?;
        self.next_mid += 1;
        Ok(mid)
    }

    /// The `mid` rollover: restart at 0 and re-create the pre-configured requests with new
    /// `mid`s, each after withdrawing its old one.
    pub(crate) fn rollover(&mut self, now: Instant) {
        self.next_mid = 0;
        let mut recreated = 0;
        for i in 0..self.table.len() {
            let m = &self.table[i];
            if !m.is_preconfigured()
                || matches!(
                    m.state,
                    MitigationState::Withdrawing | MitigationState::Terminating
                )
            {
                continue;
            }
            let new = u32::try_from(self.next_mid).unwrap_or(0);
            self.next_mid += 1;
            let m = &mut self.table[i];
            m.retire = Some(m.mid);
            m.mid = new;
            m.state = MitigationState::Requested;
            m.want = Want::Put { refresh: false };
            m.expires = None;
            m.refresh_at = None;
            m.not_before = None;
            m.status = None;
            recreated += 1;
        }
        let _ = now;
        self.push_event(EvRec::MidRollover { recreated });
    }

    fn check_scope(scope: &Scope) -> Result<Scope, CommandError> {
        let mut s = scope.clone();
        if s.lifetime.is_none() {
            s.lifetime = Some(Lifetime::Seconds(DEFAULT_LIFETIME));
        }
        s.attack_status = None;
        MitigationRequest::new(s.clone()).validate()?;
        Ok(s)
    }

    /// Room in the table: a terminating entry makes room when it is full.
    fn make_room(&mut self) -> Result<(), CommandError> {
        if !self.table.is_full() {
            return Ok(());
        }
        let i = self
            .table
            .iter()
            .position(|m| m.state == MitigationState::Terminating)
            .ok_or(CommandError::TableFull)?;
        self.table.swap_remove(i);
        Ok(())
    }

    /// Requests mitigation (PUT `/mitigate/cuid=C/mid=M`, NON, RFC 9132 Section 4.4.1) for a
    /// scope with a new `mid`, which is returned. Without a `lifetime` the scope asks for
    /// [`DEFAULT_LIFETIME`]; `trigger-mitigation` false makes it a pre-configured request,
    /// kept alive by refreshes. The request is sent until the server answers (or at once
    /// after a reconnection when the session is lost).
    ///
    /// # Errors
    /// [`CommandError::Invalid`] (missing target, zero lifetime, server-only members ...),
    /// [`CommandError::TableFull`], [`CommandError::IdentifiersExhausted`].
    pub fn request_mitigation(&mut self, now: Instant, scope: &Scope) -> Result<u32, CommandError> {
        let now = self.clock(now);
        let s = Self::check_scope(scope)?;
        self.make_room()?;
        let mid = self.alloc_mid(now)?;
        let _ = self.table.push(Mitigation::new(mid, s));
        self.update_phase(now);
        self.after_command(now);
        Ok(mid)
    }

    /// Replaces a request with a new scope under a new `mid` (RFC 9132 Section 4.4.1.3: "a
    /// PUT request with a new 'mid' value that will override the existing one"); once the
    /// server accepts it, the old `mid` is withdrawn (if the scopes overlapped, the server
    /// already dropped it). Returns the new `mid`.
    ///
    /// # Errors
    /// As [`request_mitigation`](Self::request_mitigation), and
    /// [`CommandError::UnknownMitigation`].
    pub fn update_mitigation(
        &mut self,
        now: Instant,
        mid: u32,
        scope: &Scope,
    ) -> Result<u32, CommandError> {
        let now = self.clock(now);
        if self.index_of(mid).is_none() {
            return Err(CommandError::UnknownMitigation { mid });
        }
        let s = Self::check_scope(scope)?;
        self.make_room()?;
        let new = self.alloc_mid(now)?;
        let mut m = Mitigation::new(new, s);
        m.supersedes = Some(mid);
        let _ = self.table.push(m);
        self.update_phase(now);
        self.after_command(now);
        Ok(new)
    }

    /// Refreshes a request now (PUT with the same `mid` and parameters, RFC 9132 Section
    /// 4.4.1.3), optionally asking for a new lifetime. The client also refreshes by itself
    /// [`ClientConfig::refresh_lead`](super::ClientConfig) before the lifetime ends.
    ///
    /// # Errors
    /// [`CommandError::UnknownMitigation`]; [`CommandError::WrongState`] for a request being
    /// withdrawn; [`CommandError::Invalid`] for a zero lifetime.
    pub fn refresh_mitigation(
        &mut self,
        now: Instant,
        mid: u32,
        lifetime: Option<Lifetime>,
    ) -> Result<(), CommandError> {
        let now = self.clock(now);
        let i = self
            .index_of(mid)
            .ok_or(CommandError::UnknownMitigation { mid })?;
        if lifetime == Some(Lifetime::Seconds(0)) {
            return Err(CommandError::Invalid(
                dots_codec::model::ValidationError::ZeroLifetime,
            ));
        }
        let m = &mut self.table[i];
        if matches!(
            m.state,
            MitigationState::Withdrawing | MitigationState::Terminating
        ) {
            return Err(CommandError::WrongState { mid });
        }
        if let Some(l) = lifetime {
            m.scope.lifetime = Some(l);
        }
        let refresh = m.state == MitigationState::Active;
        m.want = Want::Put { refresh };
        m.not_before = None;
        self.after_command(now);
        Ok(())
    }

    /// Withdraws a request (DELETE, RFC 9132 Section 4.4.4), sent until the server answers.
    ///
    /// # Errors
    /// [`CommandError::UnknownMitigation`].
    pub fn withdraw_mitigation(&mut self, now: Instant, mid: u32) -> Result<(), CommandError> {
        let now = self.clock(now);
        let i = self
            .index_of(mid)
            .ok_or(CommandError::UnknownMitigation { mid })?;
        let m = &mut self.table[i];
        if m.state == MitigationState::Terminating {
            return Ok(());
        }
        m.state = MitigationState::Withdrawing;
        m.want = Want::Delete;
        m.not_before = None;
        m.refresh_at = None;
        self.after_command(now);
        Ok(())
    }

    /// Forgets a request without telling the server (e.g. after a 4.09 the host gives up on).
    ///
    /// # Errors
    /// [`CommandError::UnknownMitigation`].
    pub fn forget_mitigation(&mut self, now: Instant, mid: u32) -> Result<(), CommandError> {
        let now = self.clock(now);
        let i = self
            .index_of(mid)
            .ok_or(CommandError::UnknownMitigation { mid })?;
        let m = self.table.swap_remove(i);
        if let Some(id) = m.in_flight {
            let _ = self.ep.cancel(now, id);
            self.pending.retain(|p| p.id != id);
        }
        self.update_phase(now);
        Ok(())
    }

    /// Sends an efficacy update (PUT with an empty If-Match, RFC 9132 Section 4.4.3): the
    /// request's parameters unchanged (without `lifetime` and `acl-list`), `attack-status`,
    /// and optionally RFC 9244 Section 9.1 telemetry (`total-attack-traffic`,
    /// `attack-detail`).
    ///
    /// # Errors
    /// [`CommandError::UnknownMitigation`]; [`CommandError::WrongState`] unless the server
    /// accepted the request; [`CommandError::Invalid`] for telemetry with server-only members
    /// (`total-traffic`, `total-attack-connection`) or duplicate list keys;
    /// [`CommandError::TooLarge`]; [`CommandError::SessionLost`]; [`CommandError::Endpoint`].
    pub fn efficacy_update(
        &mut self,
        now: Instant,
        mid: u32,
        attack_status: AttackStatus,
        telemetry: Option<&ScopeTelemetry>,
    ) -> Result<(), CommandError> {
        let now = self.clock(now);
        let i = self
            .index_of(mid)
            .ok_or(CommandError::UnknownMitigation { mid })?;
        if self.table[i].state != MitigationState::Active {
            return Err(CommandError::WrongState { mid });
        }
        if let Some(t) = telemetry {
            t.validate_efficacy_update()?;
        }
        let mut scope = without_acls(&self.table[i].scope);
        scope.lifetime = None;
        scope.attack_status = Some(attack_status);
        let entry = ScopeEntry::request(scope);
        let n = encode_scopes_with_telemetry(
            core::iter::once((&entry, telemetry.filter(|t| !t.is_empty()))),
            &mut self.buf,
        )
        .map_err(|_| CommandError::TooLarge {
            needed: dots_codec::cbor::encoded_scopes_with_telemetry_len(core::iter::once((
                &entry, telemetry,
            ))),
            limit: BODY,
        })?;
        let mut o = wire::client_path("mitigate", &self.cuid, "mid", Some(mid))
            .map_err(crate::coap::CommandError::from)?;
        wire::if_match(&mut o).map_err(crate::coap::CommandError::from)?;
        wire::cbor(&mut o).map_err(crate::coap::CommandError::from)?;
        if self.link != Link::Connected {
            return Err(CommandError::SessionLost);
        }
        if self.pending.is_full() {
            return Err(CommandError::Endpoint(crate::coap::CommandError::QueueFull));
        }
        let req = Request::non(Code::PUT)
            .options(o.as_options())
            .payload(&self.buf[..n]);
        let req = if self.config.q_block {
            req.q_block()
        } else {
            req
        };
        let id = self.ep.request(now, req)?;
        let _ = self.pending.push(super::Pending {
            id,
            op: Op::Efficacy { mid },
            observing: false,
        });
        self.after_command(now);
        Ok(())
    }

    /// Retrieves mitigation status (GET `/mitigate/cuid=C[/mid=M]`, RFC 9132 Section 4.4.2):
    /// one request (`mid`) or all, with Observe (register) to follow it, and Uri-Query
    /// arguments (the `c=` content filter, RFC 9244 Section 9.2 target filters such as
    /// `target-prefix=2001:db8::/32`). Each scope of the answer and of later notifications
    /// comes as an [`Event::MitigationStatus`](super::Event::MitigationStatus).
    ///
    /// # Errors
    /// [`CommandError::SessionLost`]; [`CommandError::Endpoint`] (queue full, options too
    /// large); [`CommandError::TooLarge`] beyond [`MAX_QUERY_ARGS`](super::MAX_QUERY_ARGS)
    /// arguments.
    pub fn get_mitigations(
        &mut self,
        now: Instant,
        mid: Option<u32>,
        observe: bool,
        query: &[&str],
    ) -> Result<(), CommandError> {
        let now = self.clock(now);
        if query.len() > super::MAX_QUERY_ARGS {
            return Err(CommandError::TooLarge {
                needed: query.len(),
                limit: super::MAX_QUERY_ARGS,
            });
        }
        if observe && mid.is_none() && self.observe_all == ObserveAll::On && query.is_empty() {
            return Ok(());
        }
        self.send_get(now, mid, observe, query)?;
        if observe && mid.is_none() && query.is_empty() {
            self.observe_all = ObserveAll::Requested;
        }
        self.after_command(now);
        Ok(())
    }

    fn send_get(
        &mut self,
        now: Instant,
        mid: Option<u32>,
        observe: bool,
        query: &[&str],
    ) -> Result<RequestId, CommandError> {
        let mut o = wire::client_path("mitigate", &self.cuid, "mid", mid)
            .map_err(crate::coap::CommandError::from)?;
        wire::query(&mut o, query).map_err(crate::coap::CommandError::from)?;
        let mut r = Request::non(Code::GET).options(o.as_options());
        if observe {
            r = r.observe();
        }
        let r = self.q_block(r);
        self.send(now, Op::Get { mid, observe }, r)
    }

    /// Ends an observation of one mitigation (`mid`) or of all (GET with Observe = 1 and the
    /// same token, RFC 9132 Section 4.4.2.1 "RECOMMENDED"). Automatic observation of all
    /// mitigations stops too when `mid` is `None`.
    ///
    /// # Errors
    /// [`CommandError::NotFound`] when there is no such observation.
    pub fn stop_observing(&mut self, now: Instant, mid: Option<u32>) -> Result<(), CommandError> {
        let now = self.clock(now);
        let p = self
            .pending
            .iter()
            .find(|p| p.observing && matches!(p.op, Op::Get { mid: m, observe: true } if m == mid))
            .copied()
            .ok_or(CommandError::NotFound)?;
        self.ep.deregister(now, p.id)?;
        if mid.is_none() {
            self.observe_all = ObserveAll::Off;
            self.config.auto_observe = false;
        }
        self.after_command(now);
        Ok(())
    }

    pub(crate) fn after_command(&mut self, now: Instant) {
        self.pump(now);
        self.drain(now);
    }

    // ---- sending ----------------------------------------------------------------------------

    fn encode_put(&mut self, i: usize) -> Result<usize, CommandError> {
        let entry = ScopeEntry::request(self.table[i].scope.clone());
        encode_scopes(core::iter::once(&entry), &mut self.buf).map_err(|_| CommandError::TooLarge {
            needed: dots_codec::cbor::encoded_scopes_len(core::iter::once(&entry)),
            limit: BODY,
        })
    }

    fn send_put(
        &mut self,
        now: Instant,
        i: usize,
        refresh: bool,
    ) -> Result<RequestId, CommandError> {
        let mid = self.table[i].mid;
        let n = self.encode_put(i)?;
        let mut o = wire::client_path("mitigate", &self.cuid, "mid", Some(mid))
            .map_err(crate::coap::CommandError::from)?;
        wire::cbor(&mut o).map_err(crate::coap::CommandError::from)?;
        if self.link != Link::Connected {
            return Err(CommandError::SessionLost);
        }
        if self.pending.is_full() {
            return Err(CommandError::Endpoint(crate::coap::CommandError::QueueFull));
        }
        // RFC 9132 Section 4.4: "Mitigation requests MUST NOT be delayed because of checks on
        // probing rate".
        let req = Request::non(Code::PUT)
            .options(o.as_options())
            .payload(&self.buf[..n])
            .probing_exempt();
        let req = if self.config.q_block {
            req.q_block()
        } else {
            req
        };
        let id = self.ep.request(now, req)?;
        let _ = self.pending.push(super::Pending {
            id,
            op: Op::Put { mid, refresh },
            observing: false,
        });
        self.stats.mitigation_puts += 1;
        if refresh {
            self.stats.refreshes += 1;
        }
        Ok(id)
    }

    fn send_delete(&mut self, now: Instant, mid: u32, op: Op) -> Result<RequestId, CommandError> {
        let o = wire::client_path("mitigate", &self.cuid, "mid", Some(mid))
            .map_err(crate::coap::CommandError::from)?;
        self.send(now, op, Request::non(Code::DELETE).options(o.as_options()))
    }

    /// Sends every wanted PUT and DELETE that may go now.
    pub(crate) fn pump_mitigations(&mut self, now: Instant) {
        if self.cuid_refused {
            return;
        }
        for i in 0..self.table.len() {
            let m = &self.table[i];
            if m.in_flight.is_some()
                || m.want == Want::Nothing
                || m.not_before.is_some_and(|t| t > now)
            {
                continue;
            }
            let result = if let Some(old) = m.retire {
                let new = m.mid;
                self.send_delete(now, old, Op::Retire { mid: old, new })
            } else {
                match m.want {
                    Want::Put { refresh } => self.send_put(now, i, refresh),
                    Want::Delete => {
                        let mid = m.mid;
                        self.send_delete(now, mid, Op::Delete { mid })
                    }
                    Want::Nothing => continue,
                }
            };
            let m = &mut self.table[i];
            match result {
                Ok(id) => {
                    m.in_flight = Some(id);
                    m.not_before = None;
                }
                Err(CommandError::TooLarge { .. }) => {
                    // Cannot ever go: drop the wish (the host learns it from the state).
                    m.want = Want::Nothing;
                }
                Err(_) => m.not_before = Some(now + RETRY_DELAY),
            }
        }
    }

    /// Refreshes and expiries due at `now`.
    pub(crate) fn fire_mitigations(&mut self, now: Instant) {
        let connected = self.link == Link::Connected;
        let mut i = 0;
        let mut changed = false;
        while i < self.table.len() {
            let m = &mut self.table[i];
            if m.expires.is_some_and(|e| e <= now)
                && matches!(
                    m.state,
                    MitigationState::Active | MitigationState::Terminating
                )
            {
                let mid = m.mid;
                if m.state == MitigationState::Active && m.is_preconfigured() {
                    // Kept alive: created again.
                    m.state = MitigationState::Requested;
                    m.want = Want::Put { refresh: false };
                    m.expires = None;
                    m.refresh_at = None;
                    m.status = None;
                    i += 1;
                    continue;
                }
                let terminating = m.state == MitigationState::Terminating;
                if let Some(id) = m.in_flight {
                    let _ = self.ep.cancel(now, id);
                    self.pending.retain(|p| p.id != id);
                }
                self.table.swap_remove(i);
                changed = true;
                if !terminating {
                    self.push_event(EvRec::Ended { mid });
                }
                continue;
            }
            if connected && m.in_flight.is_none() {
                if m.state == MitigationState::Active
                    && m.want == Want::Nothing
                    && m.refresh_at.is_some_and(|t| t <= now)
                {
                    m.want = Want::Put { refresh: true };
                    m.refresh_at = None;
                    m.not_before = None;
                }
                if m.state == MitigationState::Conflicted && m.not_before.is_some_and(|t| t <= now)
                {
                    // The retry-timer expired: try again.
                    m.state = MitigationState::Requested;
                    m.want = Want::Put { refresh: false };
                    m.not_before = None;
                    changed = true;
                }
            }
            i += 1;
        }
        if changed {
            self.update_phase(now);
        }
    }

    // ---- answers ----------------------------------------------------------------------------

    pub(crate) fn on_mitigation_reply(&mut self, now: Instant, op: Op, reply: Reply) {
        match op {
            Op::Put { mid, refresh } => self.on_put_reply(now, mid, refresh, reply),
            Op::Efficacy { mid } => {
                if reply.code == Code::CHANGED {
                    self.push_event(EvRec::EfficacyUpdated { mid });
                } else {
                    let retry_after = (reply.code == Code::SERVICE_UNAVAILABLE)
                        .then(|| Duration::from_secs(u64::from(reply.max_age.unwrap_or(60))));
                    let diag = self.stash_diag(&reply);
                    self.push_event(EvRec::Rejected {
                        mid,
                        code: reply.code,
                        retry_after,
                        acl_failure: false,
                        diag,
                    });
                }
            }
            Op::Get { mid, .. } => self.on_get_reply(now, mid, reply),
            Op::Delete { mid } => {
                if let Some(i) = self.index_of(mid) {
                    let m = &mut self.table[i];
                    m.in_flight = None;
                    if m.state == MitigationState::Withdrawing {
                        m.want = Want::Nothing;
                        if reply.code == Code::DELETED {
                            m.state = MitigationState::Terminating;
                            m.expires = Some(now + TERMINATING_PERIOD);
                            m.refresh_at = None;
                        } else {
                            self.table.swap_remove(i);
                        }
                        self.update_phase(now);
                    }
                }
                if reply.code == Code::DELETED {
                    self.push_event(EvRec::Withdrawn { mid });
                } else {
                    let diag = self.stash_diag(&reply);
                    self.push_event(EvRec::Response {
                        operation: op.operation(),
                        code: reply.code,
                        diag,
                    });
                }
            }
            Op::Retire { new, .. } => {
                // Whatever the answer, the re-created request may go now.
                if let Some(i) = self.index_of(new) {
                    self.table[i].retire = None;
                    self.table[i].in_flight = None;
                }
            }
            _ => {}
        }
    }

    pub(crate) fn on_mitigation_failed(&mut self, now: Instant, op: Op, reason: FailReason) {
        match op {
            Op::Put { mid, .. } | Op::Delete { mid } => {
                if let Some(i) = self.index_of(mid) {
                    let m = &mut self.table[i];
                    m.in_flight = None;
                    // Sent again (RFC 9132 Section 4.4: NON requests "are sent at regular
                    // intervals until a response is received").
                    m.not_before = Some(now + RETRY_DELAY);
                }
            }
            Op::Retire { new, .. } => {
                if let Some(i) = self.index_of(new) {
                    self.table[i].retire = None;
                    self.table[i].in_flight = None;
                }
                return;
            }
            Op::Get {
                mid: None,
                observe: true,
            } if self.observe_all == ObserveAll::Requested => {
                self.observe_all = ObserveAll::Off;
                self.want_observe_all(now);
            }
            _ => {}
        }
        self.push_event(EvRec::Failed {
            operation: op.operation(),
            reason,
        });
    }

    fn on_put_reply(&mut self, now: Instant, mid: u32, refresh: bool, reply: Reply) {
        let Some(i) = self.index_of(mid) else {
            let diag = self.stash_diag(&reply);
            self.push_event(EvRec::Response {
                operation: Operation::PutMitigation { mid },
                code: reply.code,
                diag,
            });
            return;
        };
        self.table[i].in_flight = None;
        let code = reply.code;
        if code == Code::CREATED || code == Code::CHANGED {
            self.on_put_accepted(now, i, reply);
            return;
        }
        if code == Code::CONFLICT {
            self.on_put_conflict(now, i, reply);
            return;
        }
        let retry = (code == Code::SERVICE_UNAVAILABLE)
            .then(|| Duration::from_secs(u64::from(reply.max_age.unwrap_or(60))));
        let acl_failure = code == Code::SERVICE_UNAVAILABLE
            && reply.cbor
            && self.table[i].scope.has_acl_list()
            && wire::scope_spans(&self.buf[..reply.len]).is_some();
        let diag = self.stash_diag(&reply);
        let m = &mut self.table[i];
        if acl_failure {
            // RFC 9133 Section 3.2.1: "MUST immediately send a new request that repeats all
            // the parameters as sent in the failed mitigation request but without including
            // the ACL attributes".
            m.scope = without_acls(&m.scope);
            m.want = Want::Put { refresh: false };
            m.not_before = None;
        } else if let Some(after) = retry {
            m.want = Want::Put { refresh };
            m.not_before = Some(now + after.max(RETRY_DELAY));
        } else if refresh && m.state == MitigationState::Active && code == Code::NOT_FOUND {
            // The server lost it: create it again.
            m.state = MitigationState::Requested;
            m.want = Want::Put { refresh: false };
        } else {
            self.table.swap_remove(i);
            self.update_phase(now);
        }
        self.push_event(EvRec::Rejected {
            mid,
            code,
            retry_after: retry,
            acl_failure,
            diag,
        });
    }

    /// The first scope entry of a reply body, decoded.
    fn first_scope(&mut self, reply: &Reply) -> Option<MitigationRequest> {
        if reply.len == 0 {
            return None;
        }
        let Some(spans) = wire::scope_spans(&self.buf[..reply.len]) else {
            self.stats.malformed_bodies += 1;
            return None;
        };
        let span = *spans.first()?;
        let r = wire::decode_scope(&mut self.buf[..reply.len], span);
        if r.is_none() {
            self.stats.malformed_bodies += 1;
        }
        r
    }

    fn on_put_accepted(&mut self, now: Instant, i: usize, reply: Reply) {
        let body = self.first_scope(&reply);
        let lead = self.config.refresh_lead;
        let m = &mut self.table[i];
        let mid = m.mid;
        let (lifetime, conflict) = match body {
            Some(b) => (b.entry.scope.lifetime, b.entry.conflict_information),
            None => (None, None),
        };
        let granted = lifetime.or(m.scope.lifetime);
        if m.state != MitigationState::Withdrawing {
            m.state = MitigationState::Active;
            if matches!(m.want, Want::Put { .. }) {
                m.want = Want::Nothing;
            }
        }
        m.granted = granted;
        if let Some(c) = &conflict {
            if c.conflict_status == Some(ConflictStatus::RequestInactiveOtherActive) {
                if let Some(r) = c.retry_timer {
                    m.not_before = Some(after_secs(now, r));
                }
            }
        }
        let has_conflict = conflict.is_some();
        if conflict.is_some() {
            m.conflict = conflict;
        }
        m.set_lifetime(now, granted, lead);
        let supersedes = m.supersedes.take();
        self.push_event(EvRec::Accepted {
            mid,
            code: reply.code,
            lifetime: granted,
            conflict: has_conflict,
        });
        // Also on 2.04: a repeated PUT whose 2.01 was lost is answered 2.04. The request it
        // supersedes (an update) is withdrawn below instead.
        self.drop_overridden(now, mid, supersedes);
        if let Some(old) = supersedes {
            if let Some(j) = self.index_of(old) {
                let o = &mut self.table[j];
                if !matches!(
                    o.state,
                    MitigationState::Withdrawing | MitigationState::Terminating
                ) {
                    o.state = MitigationState::Withdrawing;
                    o.want = Want::Delete;
                    o.not_before = None;
                }
            }
        }
        self.update_phase(now);
        self.want_observe_all(now);
    }

    /// RFC 9132 Section 4.4.1.3: once a request is created, "the overlapped lower numeric
    /// 'mid' MUST be automatically deleted and no longer available at the DOTS server" (same
    /// `trigger-mitigation` type, a common prefix, FQDN, URI or alias). The client forgets
    /// those requests too ([`Event::MitigationEnded`](super::Event::MitigationEnded)):
    /// refreshing one later would create it again at the server.
    fn drop_overridden(&mut self, now: Instant, mid: u32, except: Option<u32>) {
        let Some(i) = self.index_of(mid) else { return };
        let new = self.table[i].scope.clone();
        loop {
            let old = self.table.iter().position(|m| {
                m.mid < mid
                    && Some(m.mid) != except
                    && matches!(
                        m.state,
                        MitigationState::Active
                            | MitigationState::Requested
                            | MitigationState::Conflicted
                    )
                    && m.retire.is_none()
                    && m.scope.triggers_mitigation() == new.triggers_mitigation()
                    && scopes_overlap(&m.scope, &new)
            });
            let Some(j) = old else { break };
            let m = self.table.swap_remove(j);
            if let Some(id) = m.in_flight {
                let _ = self.ep.cancel(now, id);
                self.pending.retain(|p| p.id != id);
            }
            self.push_event(EvRec::Ended { mid: m.mid });
        }
    }

    fn on_put_conflict(&mut self, now: Instant, i: usize, reply: Reply) {
        let body = self.first_scope(&reply);
        let info = body.and_then(|b| b.entry.conflict_information);
        let mid = self.table[i].mid;
        if info
            .as_ref()
            .is_some_and(|c| c.conflict_cause == Some(ConflictCause::CuidCollision))
        {
            // RFC 9132 Section 4.4.1.1: "a new 'cuid' MUST be generated"; everything waits for
            // it.
            self.cuid_refused = true;
            let m = &mut self.table[i];
            m.want = Want::Put { refresh: false };
            m.state = MitigationState::Requested;
            self.push_event(EvRec::CuidCollision { mid });
            return;
        }
        let m = &mut self.table[i];
        m.state = MitigationState::Conflicted;
        m.want = Want::Nothing;
        m.not_before = info
            .as_ref()
            .and_then(|c| c.retry_timer)
            .map(|r| after_secs(now, r));
        m.conflict = Some(info.unwrap_or_default());
        self.push_event(EvRec::Conflict { mid });
        self.update_phase(now);
    }

    fn on_get_reply(&mut self, now: Instant, mid: Option<u32>, reply: Reply) {
        if reply.code != Code::CONTENT {
            if reply.code == Code::NOT_FOUND {
                if let Some(i) = mid.and_then(|m| self.index_of(m)) {
                    let m = &mut self.table[i];
                    if m.state == MitigationState::Active && m.in_flight.is_none() {
                        // The server does not have it (any more): create it again.
                        m.state = MitigationState::Requested;
                        m.want = Want::Put { refresh: false };
                        m.not_before = None;
                    }
                }
            }
            if mid.is_none() && self.observe_all == ObserveAll::Requested {
                self.observe_all = ObserveAll::Off;
            }
            let diag = self.stash_diag(&reply);
            self.push_event(EvRec::Response {
                operation: Operation::GetMitigations { mid },
                code: reply.code,
                diag,
            });
            return;
        }
        if mid.is_none() && self.observe_all == ObserveAll::Requested && !reply.notification {
            // On only if the server accepted the registration (RFC 7641 Section 4.1: a 2.05
            // without Observe refuses it).
            let on = self.pending.iter().any(|p| {
                p.observing
                    && matches!(
                        p.op,
                        Op::Get {
                            mid: None,
                            observe: true
                        }
                    )
            });
            self.observe_all = if on { ObserveAll::On } else { ObserveAll::Off };
        }
        self.on_status_body(now, reply);
    }

    /// A `mitigation-scope` body with status (GET response, notification): one event per
    /// scope, and the table updated.
    fn on_status_body(&mut self, now: Instant, reply: Reply) {
        let len = reply.len;
        let Some(spans) = wire::scope_spans(&self.buf[..len]) else {
            self.stats.malformed_bodies += 1;
            return;
        };
        let lead = self.config.refresh_lead;
        let mut changed = false;
        for span in spans {
            let Some(req) = wire::decode_scope(&mut self.buf[..len], span) else {
                self.stats.malformed_bodies += 1;
                continue;
            };
            let e = req.entry;
            let Some(mid) = e.mid else {
                self.stats.malformed_bodies += 1;
                continue;
            };
            let counters = Counters {
                bytes_dropped: e.bytes_dropped,
                bps_dropped: e.bps_dropped,
                pkts_dropped: e.pkts_dropped,
                pps_dropped: e.pps_dropped,
            };
            let has_conflict = e.conflict_information.is_some();
            if let Some(i) = self.index_of(mid) {
                let m = &mut self.table[i];
                m.status = e.status.or(m.status);
                m.counters = counters;
                m.mitigation_start = e.mitigation_start.or(m.mitigation_start);
                if let Some(c) = e.conflict_information {
                    if c.conflict_status == Some(ConflictStatus::RequestInactiveOtherActive) {
                        // RFC 9132 Section 4.4.2.1: "MUST NOT resend the same mitigation
                        // request before the expiry of 'retry-timer'".
                        if let Some(r) = c.retry_timer {
                            m.not_before = Some(after_secs(now, r));
                        }
                    }
                    m.conflict = Some(c);
                }
                if m.state == MitigationState::Active && m.in_flight.is_none() {
                    // The remaining lifetime, in whole seconds: it may shorten what the client
                    // knows, never lengthen it (only an accepted refresh does).
                    let (expires, refresh) = (m.expires, m.refresh_at);
                    m.set_lifetime(now, e.scope.lifetime, lead);
                    if expires.is_some_and(|b| m.expires.is_some_and(|a| a > b)) {
                        m.expires = expires;
                        m.refresh_at = match (refresh, m.not_before) {
                            (Some(r), Some(nb)) => Some(r.max(nb)),
                            (r, _) => r,
                        };
                    }
                }
                if e.status == Some(MitigationStatus::Terminated)
                    && matches!(
                        m.state,
                        MitigationState::Active | MitigationState::Terminating
                    )
                {
                    let pre = m.is_preconfigured() && m.state == MitigationState::Active;
                    if pre {
                        m.state = MitigationState::Requested;
                        m.want = Want::Put { refresh: false };
                        m.expires = None;
                        m.refresh_at = None;
                    } else {
                        let terminating = m.state == MitigationState::Terminating;
                        self.table.swap_remove(i);
                        if !terminating {
                            self.push_event(EvRec::Ended { mid });
                        }
                    }
                }
                changed = true;
            }
            self.push_event(EvRec::Status {
                mid,
                status: e.status,
                lifetime: e.scope.lifetime,
                counters: super::event::Packed::new(counters, e.mitigation_start),
                conflict: has_conflict,
                notification: reply.notification,
            });
            if span.telemetry {
                let body = {
                    let inbox = &mut self.inbox;
                    let events = &self.events;
                    let stats = &mut self.stats;
                    wire::with_scope_body(&mut self.buf[..len], span, |b| {
                        super::stash_into(inbox, events, stats, b)
                    })
                    .unwrap_or_default()
                };
                self.push_event(EvRec::ScopeTelemetry { mid, body });
            }
        }
        if changed {
            self.update_phase(now);
        }
    }

    /// Registers the observation of all mitigations when it is wanted and possible.
    pub(crate) fn want_observe_all(&mut self, _now: Instant) {
        if self.config.auto_observe
            && self.observe_all == ObserveAll::Off
            && self
                .table
                .iter()
                .any(|m| m.state == MitigationState::Active)
        {
            self.observe_all = ObserveAll::Wanted;
        }
    }

    /// After a degraded period the server may have declared the session lost on its side (its
    /// deadman, RFC 9132 Section 4.7) and dropped the client's observations while the client,
    /// under attack, kept the session: the automatic observation of all mitigations is
    /// registered again (the old relation is forgotten; a notification still coming on it is
    /// rejected).
    pub(crate) fn renew_observe_all(&mut self, now: Instant) {
        if self.observe_all != ObserveAll::On {
            return;
        }
        let old = self.pending.iter().position(|p| {
            p.observing
                && matches!(
                    p.op,
                    Op::Get {
                        mid: None,
                        observe: true
                    }
                )
        });
        if let Some(i) = old {
            let p = self.pending.swap_remove(i);
            let _ = self.ep.cancel(now, p.id);
        }
        self.observe_all = ObserveAll::Off;
        self.want_observe_all(now);
    }

    pub(crate) fn pump_observe_all(&mut self, now: Instant) {
        if self.observe_all != ObserveAll::Wanted {
            return;
        }
        if self.send_get(now, None, true, &[]).is_ok() {
            self.observe_all = ObserveAll::Requested;
        }
    }

    /// Copies the mitigation requests of another session of the same client (the one an
    /// [`Event::SessionDegraded`](super::Event::SessionDegraded) told the host to duplicate),
    /// and sends them here with their `mid`s: for the server they are refreshes of the same
    /// requests (RFC 9132 Section 4.7: "send the mitigation requests over the current DOTS
    /// signal channel session and, in parallel, ... over the new DOTS signal channel
    /// session"). Requests being withdrawn are withdrawn here too. Returns how many were
    /// copied; the `mid` counter follows the other session's.
    pub fn mirror_mitigations(&mut self, now: Instant, other: &Self) -> usize {
        let now = self.clock(now);
        let mut n = 0;
        for o in &other.table {
            if self.index_of(o.mid).is_some() {
                continue;
            }
            let mut m = Mitigation::new(o.mid, o.scope.clone());
            match o.state {
                MitigationState::Terminating => continue,
                MitigationState::Withdrawing => {
                    m.state = MitigationState::Withdrawing;
                    m.want = Want::Delete;
                }
                _ => {}
            }
            if self.make_room().is_err() || self.table.push(m).is_err() {
                break;
            }
            n += 1;
        }
        self.next_mid = self.next_mid.max(other.next_mid);
        self.update_phase(now);
        self.after_command(now);
        n
    }
}

/// Two scopes overlap (RFC 9132 Section 4.4.1.3): "a common IP address, IP prefix, FQDN, URI,
/// or alias".
fn scopes_overlap(a: &Scope, b: &Scope) -> bool {
    let (a, b) = (&a.targets, &b.targets);
    a.prefixes
        .iter()
        .any(|x| b.prefixes.iter().any(|y| nets_overlap(x, y)))
        || a.fqdns()
            .any(|x| b.fqdns().any(|y| x.eq_ignore_ascii_case(y)))
        || a.uris().any(|x| b.uris().any(|y| x == y))
        || a.alias_names().any(|x| b.alias_names().any(|y| x == y))
}

fn nets_overlap(a: &dots_codec::ipnet::IpNet, b: &dots_codec::ipnet::IpNet) -> bool {
    use core::net::IpAddr;
    let len = u32::from(a.prefix_len().min(b.prefix_len()));
    match (a.network(), b.network()) {
        (IpAddr::V4(x), IpAddr::V4(y)) => {
            let m = u32::MAX.checked_shl(32 - len).unwrap_or(0);
            u32::from(x) & m == u32::from(y) & m
        }
        (IpAddr::V6(x), IpAddr::V6(y)) => {
            let m = u128::MAX.checked_shl(128 - len).unwrap_or(0);
            u128::from(x) & m == u128::from(y) & m
        }
        _ => false,
    }
}
