//! The life of the session: heartbeats (RFC 9132 Section 4.7), the configuration set in force
//! (Section 4.5), loss, degradation during attacks, reconnection and its pacing.

use core::time::Duration;

use dots_codec::cbor::CborBody;
use dots_codec::coap::Code;
use dots_codec::model::Heartbeat;

use super::config::Phase;
use super::event::{CommandError, EvRec, LostReason};
use super::inbound::Reply;
use super::mitigation::{MitigationState, Op, Want};
use super::{name_hash, valid_cuid, wire, Link, ObserveAll, SignalClient};
use crate::coap::{Endpoint, Request, RequestId, Transport};
use crate::time::Instant;

/// Heartbeat and liveness state of one session.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Liveness {
    /// When the session started.
    pub(crate) started: Instant,
    pub(crate) next_hb: Option<Instant>,
    pub(crate) last_hb: Option<Instant>,
    pub(crate) hb_request: Option<RequestId>,
    /// The last heartbeat sent has not been answered.
    pub(crate) outstanding: bool,
    /// Consecutive heartbeats unanswered.
    pub(crate) missed: u16,
    pub(crate) last_server_hb: Option<Instant>,
    /// The `peer-hb-status` of the server's last heartbeat.
    pub(crate) server_sees_us: Option<bool>,
    /// When the last answer to one of our requests arrived (not counting notifications).
    pub(crate) last_answer: Option<Instant>,
    /// The threshold was reached during an attack.
    pub(crate) degraded: bool,
}

impl Liveness {
    pub(crate) fn new(now: Instant) -> Liveness {
        Liveness {
            started: now,
            next_hb: None,
            last_hb: None,
            hb_request: None,
            outstanding: false,
            missed: 0,
            last_server_hb: None,
            server_sees_us: None,
            last_answer: None,
            degraded: false,
        }
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
    /// Sets up a fresh session on a fresh endpoint at `now`.
    pub(crate) fn start_session(&mut self, now: Instant) {
        self.link = Link::Connected;
        self.reconnect_at = None;
        self.live = Liveness::new(now);
        self.pending.clear();
        self.observe_all = ObserveAll::Off;
        self.cfg.observing = false;
        for m in &mut self.table {
            m.in_flight = None;
            if m.want != Want::Nothing {
                m.not_before = None;
            }
        }
        self.phase = self.activity_phase();
        let p = *self.parameters();
        if self.ep.set_parameters(p.transmission).is_err() {
            self.stats.parameters_refused += 1;
        }
        self.schedule_heartbeat(now, true);
        self.session_config_start(now);
        self.want_observe_all(now);
    }

    fn activity_phase(&self) -> Phase {
        if self.table.iter().any(super::Mitigation::is_activity) {
            Phase::Mitigating
        } else {
            Phase::Idle
        }
    }

    /// Re-evaluates the phase after the table changed: switching sets applies the new
    /// transmission parameters and heartbeat interval at once (RFC 9132 Section 4.5).
    pub(crate) fn update_phase(&mut self, now: Instant) {
        let phase = self.activity_phase();
        if phase == self.phase {
            return;
        }
        let old_interval = self.parameters().heartbeat_interval;
        self.phase = phase;
        self.apply_parameters(now, old_interval);
        self.push_event(EvRec::PhaseChanged { phase });
        if phase == Phase::Idle {
            self.attack_ended(now);
        }
    }

    /// Applies the parameters of the set in force.
    pub(crate) fn apply_parameters(&mut self, now: Instant, old_interval: Duration) {
        let p = *self.parameters();
        if self.ep.set_parameters(p.transmission).is_err() {
            self.stats.parameters_refused += 1;
        }
        if p.heartbeat_interval != old_interval || self.live.next_hb.is_none() {
            self.schedule_heartbeat(now, false);
        }
    }

    /// Schedules the next heartbeat one interval after the last one (or the session start).
    fn schedule_heartbeat(&mut self, now: Instant, fresh: bool) {
        let interval = self.parameters().heartbeat_interval;
        if interval.is_zero() {
            self.live.next_hb = None;
            self.live.outstanding = false;
            self.live.missed = 0;
            return;
        }
        let base = if fresh {
            now
        } else {
            self.live.last_hb.unwrap_or(self.live.started)
        };
        self.live.next_hb = Some((base + interval).max(now));
    }

    /// `peer-hb-status`: whether a heartbeat of the server arrived within the last two
    /// heartbeat intervals (RFC 9132 Section 4.7). During the first two intervals of a session
    /// nothing can be missing yet, and it is true.
    pub(crate) fn peer_hb_status(&self, now: Instant) -> bool {
        let window = self.parameters().heartbeat_interval.saturating_mul(2);
        let since = |t: Instant| now.saturating_duration_since(t) <= window;
        since(self.live.started) || self.live.last_server_hb.is_some_and(since)
    }

    /// The heartbeat timer: count the previous heartbeat if it went unanswered, decide about
    /// the session, send the next one.
    pub(crate) fn fire_heartbeat(&mut self, now: Instant) {
        let Some(due) = self.live.next_hb else {
            return;
        };
        if due > now {
            return;
        }
        let interval = self.parameters().heartbeat_interval;
        if interval.is_zero() {
            self.live.next_hb = None;
            return;
        }
        if self.live.outstanding {
            self.live.missed = self.live.missed.saturating_add(1);
            self.stats.heartbeats_missed += 1;
            if let Some(id) = self.live.hb_request.take() {
                // At most one heartbeat in the endpoint: the old one is given up.
                let _ = self.ep.cancel(now, id);
                self.pending.retain(|p| p.id != id);
            }
        }
        // Over TCP, "the sender of a DOTS heartbeat message has to allow up to
        // 'heartbeat-interval' seconds when waiting for a heartbeat reply" and missing-hb-allowed
        // is not negotiated (Section 4.5): one unanswered heartbeat is a failure.
        let threshold = if self.is_tcp() {
            1
        } else {
            self.parameters().missing_hb_allowed.max(1)
        };
        if self.live.missed >= threshold {
            if self.attack_active() {
                // "MUST NOT consider the DOTS signal channel session terminated ... SHOULD try
                // to establish a new DOTS signal channel session".
                if !self.live.degraded {
                    self.live.degraded = true;
                    let missed = self.live.missed;
                    self.push_event(EvRec::Degraded { missed });
                }
            } else {
                self.lose(now, LostReason::Heartbeat);
                return;
            }
        }
        let next = due + interval;
        self.live.next_hb = Some(if next > now { next } else { now + interval });
        self.live.last_hb = Some(now);
        self.live.outstanding = true;
        self.send_heartbeat(now, interval);
    }

    fn send_heartbeat(&mut self, now: Instant, interval: Duration) {
        let hb = Heartbeat {
            peer_hb_status: self.peer_hb_status(now),
        };
        let Ok(n) = hb.encode_cbor(&mut self.buf) else {
            return;
        };
        let Ok(mut o) = wire::base("hb") else {
            return;
        };
        if wire::cbor(&mut o).is_err() {
            return;
        }
        if self.pending.is_full() {
            self.stats.queue_full += 1;
            return;
        }
        let req = Request::non(Code::PUT)
            .options(o.as_options())
            .payload(&self.buf[..n])
            .non_retransmit(0)
            .response_timeout(interval)
            .nstart_exempt();
        match self.ep.request(now, req) {
            Ok(id) => {
                let _ = self.pending.push(super::Pending {
                    id,
                    op: Op::Heartbeat,
                    observing: false,
                });
                self.live.hb_request = Some(id);
                self.stats.heartbeats_sent += 1;
            }
            Err(_) => self.stats.queue_full += 1,
        }
    }

    pub(crate) fn on_heartbeat_reply(&mut self, _now: Instant, reply: Reply) {
        // Figure 28: 2.04. Any answer proves the server is there.
        let _ = reply;
        self.live.outstanding = false;
        self.live.missed = 0;
        self.live.hb_request = None;
    }

    /// Declares the session lost.
    pub(crate) fn lose(&mut self, now: Instant, reason: LostReason) {
        if self.link == Link::Lost {
            return;
        }
        self.link = Link::Lost;
        self.reconnect_at = None;
        self.pending.clear();
        self.observe_all = ObserveAll::Off;
        self.cfg.observing = false;
        self.live.next_hb = None;
        for m in &mut self.table {
            m.in_flight = None;
        }
        let _ = now;
        self.push_event(EvRec::Lost { reason });
    }

    /// Closes the session on the host's initiative (e.g. a parallel session took over):
    /// [`Event::SessionLost`](super::Event::SessionLost) with [`LostReason::Closed`]. Over TCP
    /// nothing more is sent (the host closes the connection).
    pub fn close(&mut self, now: Instant) {
        let now = self.clock(now);
        self.lose(now, LostReason::Closed);
    }

    /// The host's attempt to re-establish the session failed: the next attempt is allowed
    /// [`ClientConfig::reconnect_interval`](super::ClientConfig) from now (at least 60 s,
    /// RFC 9132 Section 4.7), announced by [`Event::ReconnectAllowed`](super::Event::ReconnectAllowed).
    /// Ignored while the session is up.
    pub fn connection_failed(&mut self, now: Instant) {
        let now = self.clock(now);
        if self.link == Link::Lost {
            self.reconnect_at = Some(now + self.config.reconnect_interval());
        }
    }

    /// A new (D)TLS session with `server` is up (after a loss, a redirection, the end of a
    /// redirection's TTL, or a Call Home server's new connection), over `transport`.
    ///
    /// What survives: the `mid`, `sid`, `tsid` and `tmid` counters, the mitigation table
    /// (pre-configured requests included), the negotiated configuration and the phase. What is
    /// reset: the CoAP endpoint (message IDs, tokens, observations, requests in flight),
    /// the heartbeat state, and the reconnection pacing. Then the client sends again what was
    /// not acknowledged, installs its configuration again under a new `sid`, and registers its
    /// observation of all mitigations again.
    pub fn reconnected(&mut self, now: Instant, server: &str, transport: Transport) {
        let now = self.clock(now);
        let hash = name_hash(server);
        if hash != self.server {
            self.redirect.remember(self.server, now);
        }
        self.redirect.connected_to(hash, now);
        self.server = hash;
        let endpoint = crate::coap::Config {
            transport,
            ..self.config.endpoint
        };
        self.config.endpoint = endpoint;
        self.ep = Endpoint::new(endpoint, self.rng.next_u64());
        self.start_session(now);
        self.after_command(now);
    }

    /// The host's view of the attack (its detector): while true, the client behaves as during
    /// an attack even without an active mitigation — no configuration refresh, no `mid`
    /// rollover, no loss declared on missing heartbeats, no fallback at a redirection's end.
    pub fn set_attack(&mut self, now: Instant, active: bool) {
        let now = self.clock(now);
        let was = self.attack_active();
        self.attack = active;
        if was && !self.attack_active() {
            self.attack_ended(now);
        }
        self.after_command(now);
    }

    /// No attack any more: what was held off may happen.
    fn attack_ended(&mut self, now: Instant) {
        if self.attack_active() {
            return;
        }
        if self.next_mid > u64::from(super::MID_ROLLOVER) {
            self.rollover(now);
        }
        if self.live.degraded {
            self.live.degraded = false;
        }
    }

    /// Replaces the `cuid` (after [`Event::CuidCollision`](super::Event::CuidCollision)): the
    /// requests waiting are sent with it.
    ///
    /// # Errors
    /// [`CommandError::InvalidCuid`]; [`CommandError::MitigationsActive`] while a mitigation
    /// is active under the old one (RFC 9132 Section 4.4.1.1).
    pub fn set_cuid(&mut self, now: Instant, cuid: &str) -> Result<(), CommandError> {
        let now = self.clock(now);
        if !valid_cuid(cuid) {
            return Err(CommandError::InvalidCuid);
        }
        if self.table.iter().any(|m| {
            matches!(
                m.state,
                MitigationState::Active
                    | MitigationState::Withdrawing
                    | MitigationState::Terminating
            )
        }) {
            return Err(CommandError::MitigationsActive);
        }
        self.cuid.clear();
        let _ = self.cuid.push_str(cuid);
        self.cuid_refused = false;
        for m in &mut self.table {
            m.not_before = None;
        }
        self.after_command(now);
        Ok(())
    }
}
