//! Observations (RFC 7641) held by the session for its peers, the core's events and
//! notifications fanned out to them, their pacing (RFC 9132 Section 4.4.2.1), the periodic
//! status, and the messages the session writes itself.

use alloc::sync::Arc;
use alloc::vec::Vec;

use dots_codec::coap::{BufferTooSmall, Token};

use super::config::{MAX_BODY_SIZE, MAX_MESSAGE_SIZE};
use super::event::SessionEvent;
use super::peer::{Note, Observation, Outgoing};
use super::{wire, ServerSession};
use crate::coap::Transport;
use crate::signal::server::{Notification, ObserveTarget, ServerEvent, SignalHooks};
use crate::time::Instant;

impl<P: Ord + Clone, H: SignalHooks> ServerSession<P, H> {
    // ---- the core's output -----------------------------------------------------------------

    /// Takes the core's events (applying session-configuration changes to the peers) and its
    /// notifications (to the observations they concern).
    pub(crate) fn drain_core(&mut self, now: Instant) {
        let mut activity = false;
        while let Some(e) = self.core.poll_event() {
            match &e {
                ServerEvent::SessionConfigChanged { cuid, .. } => {
                    let cuid = cuid.clone();
                    self.refresh_cuid(&cuid, now);
                }
                ServerEvent::MitigationRequested { .. }
                | ServerEvent::MitigationWithdrawn { .. }
                | ServerEvent::MitigationTerminated { .. }
                | ServerEvent::MitigationExpired { .. }
                | ServerEvent::TriggeredBySignalLoss { .. } => activity = true,
                _ => {}
            }
            self.push_event(SessionEvent::Server(e));
        }
        if activity && !self.gateways.is_empty() {
            self.refresh_gateways(now);
        }
        loop {
            match self.core.poll_notification(now, &mut self.buf) {
                Ok(Some(n)) => self.fan_out(now, &n),
                Ok(None) => break,
                Err(e) if e.needed > self.buf.len() && e.needed <= MAX_BODY_SIZE => {
                    self.buf.resize(e.needed, 0);
                }
                Err(_) => break,
            }
        }
    }

    /// Queues a notification (payload in `buf`) for every observation it concerns.
    fn fan_out(&mut self, now: Instant, n: &Notification) {
        let Some(list) = self.by_cuid.get(&*n.cuid) else {
            return;
        };
        let peers: heapless::Vec<u32, 8> = list.as_slice().iter().copied().take(8).collect();
        let more: Vec<u32> = list.as_slice().iter().copied().skip(8).collect();
        let mut payload: Option<Arc<[u8]>> = None;
        for idx in peers.into_iter().chain(more) {
            let cap = self.config.max_queued_per_peer;
            let Some(p) = self.peers.get_mut(idx as usize).and_then(Option::as_mut) else {
                continue;
            };
            let mut ended = false;
            for o in &p.observations {
                if *o.cuid != *n.cuid || !concerns(o.target, n) {
                    continue;
                }
                ended |= ends(o.target, n);
                let body = payload
                    .get_or_insert_with(|| Arc::from(self.buf.get(..n.payload_len).unwrap_or(&[])))
                    .clone();
                if wire::notification_len(body.len()) > MAX_MESSAGE_SIZE {
                    self.stats.notifications_dropped += 1;
                    continue;
                }
                // A newer notification replaces one still waiting (RFC 7641 Section 4.5.2), of
                // the same mitigation: an observation of all mitigations gets one per `mid`
                // (each notification carries one mitigation's state).
                if let Some(w) = p
                    .notes
                    .iter_mut()
                    .find(|w| w.token == o.token && w.mid == n.mid)
                {
                    w.code = n.code;
                    w.payload = body;
                } else if p.notes.len() + p.out.len() < cap {
                    p.notes.push_back(Note {
                        token: o.token,
                        mid: n.mid,
                        code: n.code,
                        payload: body,
                    });
                } else {
                    self.stats.notifications_dropped += 1;
                }
            }
            if ended {
                // The mitigation is gone: its observations end with this notification (the
                // core already stopped tracking them).
                p.observations
                    .retain(|o| !(*o.cuid == *n.cuid && ends(o.target, n)));
                let cuid = n.cuid.clone();
                self.reindex_observed(idx, &cuid);
                self.update_status_timer(idx, now);
            }
            if self.peer(idx).is_some_and(|p| p.has_crafted(now)) {
                self.mark_ready(idx);
            }
            self.rearm(idx, now);
        }
    }

    // ---- observations ----------------------------------------------------------------------

    /// Whether the peer may add an observation with this token (a re-registration replaces).
    pub(crate) fn may_observe(&self, idx: u32, token: Token) -> bool {
        self.peer(idx).is_some_and(|p| {
            !p.detached
                && (p.observation(token).is_some()
                    || p.observations.len() < self.config.max_observations_per_peer)
        })
    }

    /// A registration answered with Observe: the session keeps its token.
    pub(crate) fn add_observation(
        &mut self,
        idx: u32,
        now: Instant,
        cuid: Arc<str>,
        target: ObserveTarget,
        token: Token,
    ) {
        let cuid = self.shared_cuid(&cuid).unwrap_or(cuid);
        let Some(p) = self.peer_mut(idx) else { return };
        let previous = match p.observation(token) {
            Some(i) => {
                let old = p.observations.remove(i);
                Some((old.cuid, old.target))
            }
            None => None,
        };
        // Exact growth: observations are long-lived and counted per active mitigation.
        p.observations.reserve_exact(1);
        p.observations.push(Observation {
            cuid: cuid.clone(),
            target,
            token,
            recent: [None; super::config::RECENT_NOTIFICATIONS],
        });
        self.index(&cuid, idx);
        if let Some((c, t)) = previous {
            if *c != *cuid || t != target {
                self.reindex_observed(idx, &c);
                self.release_observation(&c, t);
            }
        }
        self.update_status_timer(idx, now);
    }

    /// Observe = 1 with this token.
    pub(crate) fn remove_observation_by_token(&mut self, idx: u32, token: Token) {
        let Some(p) = self.peer_mut(idx) else { return };
        let Some(i) = p.observation(token) else {
            return;
        };
        let o = p.observations.remove(i);
        self.reindex_observed(idx, &o.cuid);
        self.release_observation(&o.cuid, o.target);
        let now = self.now;
        self.update_status_timer(idx, now);
    }

    /// Tells the core that a target lost its last observation, if it did.
    pub(crate) fn release_observation(&mut self, cuid: &str, target: ObserveTarget) {
        let held = self.by_cuid.get(cuid).is_some_and(|l| {
            l.as_slice().iter().any(|&i| {
                self.peer(i).is_some_and(|p| {
                    p.observations
                        .iter()
                        .any(|o| *o.cuid == *cuid && o.target == target)
                })
            })
        });
        if !held {
            self.core.cancel_observation(cuid, target);
        }
    }

    /// Drops every observation of the peer (its transport is gone).
    pub(crate) fn drop_observations(&mut self, idx: u32) {
        let Some(p) = self.peer_mut(idx) else { return };
        let obs = core::mem::take(&mut p.observations);
        p.notes.clear();
        p.status_at = None;
        for o in &obs {
            self.reindex_observed(idx, &o.cuid);
        }
        for o in obs {
            self.release_observation(&o.cuid, o.target);
        }
    }

    /// After `session_lost(cuid)` the core holds no observation of the client: neither do the
    /// peers.
    pub(crate) fn forget_observations_of(&mut self, cuid: &str) {
        let peers: Vec<u32> = self
            .by_cuid
            .get(cuid)
            .map(|l| l.as_slice().to_vec())
            .unwrap_or_default();
        for idx in peers {
            if let Some(p) = self.peer_mut(idx) {
                p.observations.retain(|o| *o.cuid != *cuid);
            }
            self.reindex_observed(idx, cuid);
            let now = self.now;
            self.update_status_timer(idx, now);
        }
    }

    /// Keeps the peer in the index of `cuid` only while it has a reason to be there.
    pub(crate) fn reindex_observed(&mut self, idx: u32, cuid: &str) {
        let keep = self
            .peer(idx)
            .is_some_and(|p| *p.cuid == *cuid || p.observations.iter().any(|o| *o.cuid == *cuid));
        if !keep {
            self.unindex(cuid, idx);
        }
    }

    /// A Reset from the peer: of the server's heartbeat, or of a notification (the observation
    /// ends, RFC 7641 Section 3.6). `false` when it matches nothing of the session's.
    pub(crate) fn on_reset(&mut self, idx: u32, mid: u16) -> bool {
        let Some(p) = self.peer_mut(idx) else {
            return false;
        };
        if p.hb.mid == Some(mid) {
            // The client does not take server heartbeats; its traffic still counts.
            p.hb.mid = None;
            return true;
        }
        let Some(i) = p
            .observations
            .iter()
            .position(|o| o.recent.contains(&Some(mid)))
        else {
            if p.endpoint.is_none() {
                self.stats.unmatched += 1;
            }
            return false;
        };
        let o = p.observations.remove(i);
        p.notes.retain(|n| n.token != o.token);
        self.stats.observations_reset += 1;
        self.reindex_observed(idx, &o.cuid);
        self.release_observation(&o.cuid, o.target);
        let now = self.now;
        self.update_status_timer(idx, now);
        true
    }

    // ---- periodic status -------------------------------------------------------------------

    /// Arms or clears the periodic status: while the peer observes mitigations.
    pub(crate) fn update_status_timer(&mut self, idx: u32, now: Instant) {
        let period = self.status_period_of(idx);
        let Some(p) = self.peer_mut(idx) else { return };
        let wanted = !p.detached
            && p.observations
                .iter()
                .any(|o| o.target != ObserveTarget::Config);
        p.status_at = match (wanted, p.status_at, period) {
            (true, Some(t), Some(_)) => Some(t),
            (true, None, Some(d)) => Some(now + d),
            _ => None,
        };
        self.rearm(idx, now);
    }

    /// The status of the observed running mitigations again, for each client observed.
    pub(crate) fn periodic_status(&mut self, idx: u32, now: Instant) {
        let period = self.status_period_of(idx);
        let Some(p) = self.peer_mut(idx) else { return };
        p.status_at = period.map(|d| now + d);
        let mut cuids: Vec<Arc<str>> = Vec::new();
        for o in &p.observations {
            if o.target != ObserveTarget::Config && !cuids.contains(&o.cuid) {
                cuids.push(o.cuid.clone());
            }
        }
        for c in cuids {
            self.core.queue_status_notifications(&c);
        }
    }

    // ---- messages the session writes -------------------------------------------------------

    /// The peer's next message of the session's own (heartbeat, empty ACK, or a notification
    /// its pacing allows), written to `buf`.
    pub(crate) fn write_crafted(
        &mut self,
        idx: u32,
        now: Instant,
        buf: &mut [u8],
    ) -> Result<Option<usize>, BufferTooSmall> {
        let spacing = self.config.notification_spacing;
        let token = Token::from_u64(self.rng.next_u64());
        let Some(p) = self.peers.get_mut(idx as usize).and_then(Option::as_mut) else {
            return Ok(None);
        };
        let mut peer_limit = MAX_MESSAGE_SIZE;
        if p.transport == Transport::Tcp {
            match p.endpoint.as_ref() {
                Some(ep) if !ep.is_closed() => {
                    peer_limit = peer_limit.min(ep.peer_max_message_size() as usize);
                }
                _ => {
                    p.out.clear();
                    p.notes.clear();
                    return Ok(None);
                }
            }
        }
        if let Some(o) = p.out.front().cloned() {
            let len = match o {
                Outgoing::Heartbeat => {
                    let status = p.peer_hb_status(now);
                    let mid = p.take_mid();
                    let len = wire::heartbeat(p.transport, mid, token, status, buf)?;
                    p.hb.token = Some(token);
                    p.hb.mid = Some(mid);
                    p.hb.sent_at = Some(now);
                    self.stats.heartbeats_sent += 1;
                    len
                }
                Outgoing::EmptyAck(mid) => wire::empty_ack(mid, buf)?,
            };
            let _ = p.out.pop_front();
            return Ok(Some(len));
        }
        while p.note_allowed(now) {
            let Some(n) = p.notes.front() else { break };
            if wire::notification_len(n.payload.len()) > peer_limit {
                self.stats.notifications_dropped += 1;
                let _ = p.notes.pop_front();
                continue;
            }
            let (token, code, payload) = (n.token, n.code, n.payload.clone());
            let mid = p.take_mid();
            let seq = p.take_observe_sequence();
            let len = wire::notification(p.transport, mid, token, seq, code, &payload, buf)?;
            if let Some(i) = p.observation(token) {
                if let Some(o) = p.observations.get_mut(i) {
                    o.remember(mid);
                }
            }
            let _ = p.notes.pop_front();
            p.next_note_at = now + p.hb.srtt().unwrap_or(spacing);
            self.stats.notifications_sent += 1;
            return Ok(Some(len));
        }
        Ok(None)
    }
}

/// Whether a notification concerns an observation's target.
fn concerns(target: ObserveTarget, n: &Notification) -> bool {
    match target {
        ObserveTarget::Mitigation(m) => n.observers.mitigation && n.mid == Some(m),
        ObserveTarget::AllMitigations => n.observers.all && n.mid.is_some(),
        ObserveTarget::Config => n.observers.config && n.mid.is_none(),
        // RFC 9244 filtered status (Section 9.2) and `/tm` (Section 8.3) observations: the core
        // names the ones a notification is for.
        ObserveTarget::FilteredMitigations(_) | ObserveTarget::Telemetry(_) => {
            n.queries.contains(&target)
        }
    }
}

/// Whether an observation ends with this notification: the observation of a mitigation that is
/// gone, filtered observations the core ended, and `/tm` observations answered 4.04.
fn ends(target: ObserveTarget, n: &Notification) -> bool {
    match target {
        ObserveTarget::Mitigation(m) => n.last && n.mid == Some(m),
        ObserveTarget::FilteredMitigations(_) => n.ended.contains(&target),
        ObserveTarget::Telemetry(_) => {
            n.ended.contains(&target) || (n.last && n.queries.contains(&target))
        }
        ObserveTarget::AllMitigations | ObserveTarget::Config => false,
    }
}
