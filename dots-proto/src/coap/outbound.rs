//! The requesting side: sending requests, retransmission, NSTART and PROBING_RATE, matching
//! ACKs, Resets and responses, and the Observe client (RFC 7641 §3).

use core::time::Duration;

use dots_codec::coap::{Block, BufferTooSmall, BuildError, Message, MessageType};

use super::endpoint::{Control, EvKind, InKind, InState, InTx, OutKind, OutState};
use super::event::{CommandError, FailReason, ObserveEnd, RequestId};
use super::params::{mul_div, shl};
use super::timer::Global;
use super::wire::{self, Scratch};
use super::Request;
use crate::time::Instant;

/// Half of the Observe sequence space (RFC 7641 §3.4).
const SEQ_HALF: u32 = 1 << 23;
/// The time after which any notification counts as fresh (RFC 7641 §3.4: 128 s).
const OBSERVE_FRESHNESS: Duration = Duration::from_secs(128);

/// Whether notification `v2` received at `t2` is newer than `v1` received at `t1`
/// (RFC 7641 §3.4).
#[must_use]
pub(crate) fn is_fresh(v1: u32, t1: Instant, v2: u32, t2: Instant) -> bool {
    (v1 < v2 && v2 - v1 < SEQ_HALF)
        || (v1 > v2 && v1 - v2 > SEQ_HALF)
        || t2 > t1 + OBSERVE_FRESHNESS
}

impl<
        const OUT: usize,
        const IN: usize,
        const OBS: usize,
        const MSG: usize,
        const BODY: usize,
        const INBOX: usize,
    > super::Endpoint<OUT, IN, OBS, MSG, BODY, INBOX>
{
    /// Sends a request (or queues it behind NSTART / PROBING_RATE, RFC 7252 §4.7).
    ///
    /// The outcome is an [`Event::Response`](super::Event::Response) (then, for an Observe
    /// registration, [`Event::Notification`](super::Event::Notification)s), or an
    /// [`Event::RequestFailed`](super::Event::RequestFailed).
    ///
    /// # Errors
    /// [`CommandError::InvalidCode`] for a code that is not a method;
    /// [`CommandError::QueueFull`] when all `OUT` slots are in use;
    /// [`CommandError::MessageTooLarge`] when the request does not fit `MSG` (or the peer's
    /// Max-Message-Size over TCP); [`CommandError::Closed`] after a TCP Release or Abort.
    pub fn request(&mut self, now: Instant, req: Request<'_>) -> Result<RequestId, CommandError> {
        let now = self.advance(now);
        if !req.code.is_request() {
            return Err(CommandError::InvalidCode(req.code));
        }
        let tcp = self.is_tcp();
        if tcp && (self.tcp.closed || self.tcp.released) {
            return Err(CommandError::Closed);
        }
        let i = self
            .out
            .iter()
            .position(|s| s.state == OutState::Free)
            .ok_or(CommandError::QueueFull)?;
        let token = self.new_token();
        let con = req.confirmable && !tcp;
        let szx = self.block_szx(None, 0);
        let options = wire::merged(req.options, |list| {
            if req.observe {
                list.set_observe(0)?;
            }
            if req.q_block && !tcp {
                if let Some(b) = Block::new(0, true, szx) {
                    list.remove(dots_codec::coap::OptionNumber::Q_BLOCK2);
                    list.push_q_block2(b)?;
                }
            }
            Ok(())
        })?;
        let ty = if con {
            MessageType::Confirmable
        } else {
            MessageType::NonConfirmable
        };
        let block_limit = usize::from(self.block_size(None, options.as_bytes().len()));
        let large = req.payload.len() > block_limit;
        let q_block1 = large && req.q_block && !tcp && !con;
        let block1 = large && !q_block1 && (!tcp || self.tcp.peer_block_wise);
        let mut bytes = heapless::Vec::new();
        if q_block1 || block1 {
            self.start_request_body(
                now,
                ty,
                q_block1,
                req.code,
                token,
                options.as_bytes(),
                req.payload,
                &mut bytes,
            )?;
        } else {
            wire::encode(
                &mut bytes,
                ty,
                req.code,
                0,
                token,
                options.as_bytes(),
                req.payload,
            )?;
        }
        if tcp {
            let limit = self.tcp.peer_max_message_size as usize;
            let needed = wire::tcp_len(&bytes);
            if needed > limit {
                return Err(CommandError::MessageTooLarge { needed, limit });
            }
        }
        let id = self.new_id();
        if q_block1 || block1 {
            self.tx.owner = id;
        }
        let order = self.new_order();
        let retransmit_limit = if con {
            self.params.max_retransmit
        } else {
            req.non_retransmit
                .unwrap_or(self.params.non_max_retransmit)
                .min(super::MAX_RETRANSMIT_LIMIT)
        };
        let slot = &mut self.out[i];
        slot.reset();
        slot.id = id;
        slot.kind = OutKind::Request;
        slot.state = OutState::Queued;
        slot.con = con;
        slot.expect_response = req.expect_response || req.observe;
        slot.token = token;
        slot.bytes = bytes;
        slot.queue_order = order;
        slot.retransmit_limit = retransmit_limit;
        slot.response_timeout = req.response_timeout;
        slot.observe = req.observe;
        slot.q_block2 = req.q_block && !tcp;
        slot.nstart_exempt = req.nstart_exempt;
        slot.probing_exempt = req.probing_exempt;
        self.pump_queue(now);
        Ok(RequestId(id))
    }

    /// Forgets a request: no more retransmissions, and a later response or notification for
    /// it is rejected (with a Reset for CON, RFC 7641 §3.6). No event follows.
    ///
    /// # Errors
    /// [`CommandError::UnknownId`] when the request already ended.
    pub fn cancel(&mut self, now: Instant, id: RequestId) -> Result<(), CommandError> {
        let now = self.advance(now);
        let i = self.slot_of(id).ok_or(CommandError::UnknownId)?;
        self.free_slot(i);
        self.pump_queue(now);
        Ok(())
    }

    /// Deregisters an observation by sending the registration request again with Observe = 1
    /// and the same token (RFC 7641 §3.6, the way RFC 9132 §4.4.2.1 recommends). Its response
    /// arrives as [`Event::Response`](super::Event::Response) and ends the observation.
    ///
    /// # Errors
    /// [`CommandError::UnknownId`] when `id` is not an established observation.
    pub fn deregister(&mut self, now: Instant, id: RequestId) -> Result<(), CommandError> {
        let now = self.advance(now);
        let i = self.slot_of(id).ok_or(CommandError::UnknownId)?;
        if self.out[i].state != OutState::Observing {
            return Err(CommandError::UnknownId);
        }
        self.rewrite_slot(i, |list| {
            list.set_observe(1)?;
            list.remove(dots_codec::coap::OptionNumber::Q_BLOCK2);
            Ok(())
        })?;
        let order = self.new_order();
        let slot = &mut self.out[i];
        slot.deregistering = true;
        slot.expect_response = true;
        slot.state = OutState::Queued;
        slot.queue_order = order;
        slot.retransmits = 0;
        slot.first_sent = None;
        slot.give_up_at = None;
        slot.next_retransmit = None;
        self.timers.set_out(i, None);
        self.pump_queue(now);
        Ok(())
    }

    pub(crate) fn slot_of(&self, id: RequestId) -> Option<usize> {
        if id.0 == 0 {
            return None;
        }
        self.out
            .iter()
            .position(|s| s.state != OutState::Free && s.id == id.0 && s.kind == OutKind::Request)
    }

    /// Re-encodes a slot's stored message with changed options.
    pub(crate) fn rewrite_slot(
        &mut self,
        i: usize,
        f: impl FnOnce(&mut Scratch) -> Result<(), BuildError>,
    ) -> Result<(), CommandError> {
        let old = self.out[i].bytes.clone();
        let msg = Message::parse(&old).map_err(|_| CommandError::UnknownId)?;
        let mut opts = Scratch::from_options(msg.options())?;
        f(&mut opts)?;
        let mut new = heapless::Vec::new();
        wire::encode(
            &mut new,
            msg.ty(),
            msg.code(),
            msg.message_id(),
            msg.token(),
            opts.as_bytes(),
            msg.payload(),
        )?;
        self.out[i].bytes = new;
        Ok(())
    }

    pub(crate) fn free_slot(&mut self, i: usize) {
        if let Some(slot) = self.out.get_mut(i) {
            if self.rx.owner == slot.id && slot.id != 0 {
                self.rx.reset();
                self.timers.set_global(Global::RxBody, None);
            }
            if self.tx.active && self.tx.request && self.tx.owner == slot.id {
                self.tx.active = false;
                self.timers.set_global(Global::TxBody, None);
            }
            slot.reset();
        }
        self.timers.set_out(i, None);
    }

    pub(crate) fn fail_slot(&mut self, i: usize, reason: FailReason) {
        let Some(slot) = self.out.get(i) else { return };
        match slot.kind {
            OutKind::Request => {
                let id = slot.id;
                let observing = slot.state == OutState::Observing;
                self.stats.requests_failed += 1;
                if observing {
                    let why = match reason {
                        FailReason::Reset => ObserveEnd::Reset,
                        FailReason::ConnectionClosed => ObserveEnd::ConnectionClosed,
                        _ => ObserveEnd::TimedOut,
                    };
                    self.push_event(EvKind::ObserveCancelled {
                        request: id,
                        reason: why,
                    });
                } else {
                    self.push_event(EvKind::RequestFailed {
                        request: id,
                        reason,
                    });
                }
            }
            OutKind::Notification(observer) => {
                let why = match reason {
                    FailReason::Reset => ObserveEnd::Reset,
                    FailReason::ConnectionClosed => ObserveEnd::ConnectionClosed,
                    _ => ObserveEnd::TimedOut,
                };
                self.remove_observer(observer, why);
            }
        }
        self.free_slot(i);
    }

    /// Starts queued requests as NSTART and PROBING_RATE allow.
    pub(crate) fn pump_queue(&mut self, now: Instant) {
        if self.is_tcp() && self.tcp.closed {
            return;
        }
        loop {
            // While NSTART interactions are outstanding only exempt requests start.
            let full = !self.is_tcp() && self.outstanding() >= self.params.nstart();
            let next = self
                .out
                .iter()
                .enumerate()
                .filter(|(_, s)| s.state == OutState::Queued && (!full || s.nstart_exempt))
                .min_by_key(|(_, s)| s.queue_order)
                .map(|(i, _)| i);
            let Some(i) = next else { return };
            let counts = {
                let s = &self.out[i];
                (s.con || s.expect_response) && !s.nstart_exempt
            };
            if full && counts {
                return;
            }
            if self.unresponsive && !self.is_tcp() && !self.out[i].probing_exempt {
                if now < self.pacing_next {
                    self.timers
                        .set_global(Global::Pacing, Some(self.pacing_next));
                    return;
                }
                let len = self.out[i].bytes.len();
                self.pace(now, len);
            }
            self.start_slot(i, now);
        }
    }

    /// Moves the PROBING_RATE gate past a message of `len` bytes sent at `now`.
    pub(crate) fn pace(&mut self, now: Instant, len: usize) {
        let rate = u128::from(self.params.probing_rate.max(1));
        let wait =
            mul_div(Duration::from_secs(1), len as u128, rate).min(self.params.non_probing_wait());
        self.pacing_next = now + wait;
    }

    fn start_slot(&mut self, i: usize, now: Instant) {
        let mid = self.new_mid();
        let order = self.new_order();
        let base = if self.out[i].con {
            self.params.ack_timeout
        } else {
            self.params.non_timeout
        };
        let timeout = self.jitter(base);
        let slot = &mut self.out[i];
        slot.mid = mid;
        wire::set_message_id(&mut slot.bytes, mid);
        slot.state = OutState::Sent;
        slot.tx_pending = true;
        slot.tx_order = order;
        slot.timeout = timeout;
        let _ = now;
    }

    /// Writes slot `i` and arms its timers.
    pub(crate) fn transmit_out(
        &mut self,
        i: usize,
        now: Instant,
        buf: &mut [u8],
    ) -> Result<usize, BufferTooSmall> {
        let len = self.write_out(&self.out[i].bytes, buf)?;
        let tcp = self.is_tcp();
        let exchange_lifetime = self.exchange_lifetime;
        let slot = &mut self.out[i];
        slot.tx_pending = false;
        if slot.first_sent.is_none() {
            slot.first_sent = Some(now);
            slot.give_up_at = slot.response_timeout.map(|d| now + d);
        }
        match slot.kind {
            OutKind::Request if tcp && !slot.expect_response => {
                self.free_slot(i);
                return Ok(len);
            }
            OutKind::Request if tcp => {
                slot.next_retransmit = None;
                if slot.give_up_at.is_none() {
                    slot.give_up_at = Some(now + exchange_lifetime);
                }
            }
            OutKind::Request if slot.con || slot.expect_response => {
                slot.next_retransmit = Some(now + slot.timeout);
            }
            OutKind::Request => {
                // A NON request without a response expected is forgotten once sent.
                self.free_slot(i);
                return Ok(len);
            }
            OutKind::Notification(observer) => {
                if slot.con && !tcp {
                    slot.next_retransmit = Some(now + slot.timeout);
                } else {
                    let mid = slot.mid;
                    self.free_slot(i);
                    if let Some(o) = self.observers.iter_mut().find(|o| o.id == observer) {
                        o.recent_mids[o.next_recent % 4] = Some(mid);
                        o.next_recent = o.next_recent.wrapping_add(1);
                    }
                    return Ok(len);
                }
            }
        }
        self.arm_out(i);
        Ok(len)
    }

    pub(crate) fn arm_out(&mut self, i: usize) {
        let s = &self.out[i];
        let retransmit = if s.state == OutState::Sent && !s.tx_pending {
            s.next_retransmit
        } else {
            None
        };
        let at = match (retransmit, s.give_up_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.timers.set_out(i, at);
    }

    pub(crate) fn on_out_timer(&mut self, i: usize, now: Instant) {
        let s = &self.out[i];
        if matches!(s.state, OutState::Free | OutState::Queued) {
            return;
        }
        if s.give_up_at.is_some_and(|t| t <= now) {
            self.fail_slot(i, FailReason::TimedOut);
            return;
        }
        if s.next_retransmit.is_none_or(|t| t > now) || s.state != OutState::Sent {
            self.arm_out(i);
            return;
        }
        // A timeout without anything heard from the peer since the message left: the peer
        // does not respond, and PROBING_RATE applies (RFC 7252 §4.7).
        if s.first_sent
            .is_some_and(|f| self.last_rx.is_none_or(|r| r < f))
        {
            if !self.unresponsive {
                self.pacing_next = now;
            }
            self.unresponsive = true;
        }
        if self.tx.request && self.tx.q && self.tx.owner == self.out[i].id && self.tx.sending() {
            // Q-Block1 payloads are still going out: the response is not due yet.
            let timeout = self.out[i].timeout;
            self.out[i].next_retransmit = Some(now + timeout);
            self.arm_out(i);
            return;
        }
        let s = &self.out[i];
        let limit = if s.con {
            self.params.max_retransmit
        } else {
            s.retransmit_limit
        };
        if s.retransmits >= limit {
            self.fail_slot(i, FailReason::TimedOut);
            return;
        }
        let con = s.con;
        let len = s.bytes.len();
        if !con && self.unresponsive && !s.probing_exempt {
            if now < self.pacing_next {
                let at = self.pacing_next;
                self.out[i].next_retransmit = Some(at);
                self.arm_out(i);
                return;
            }
            self.pace(now, len);
        }
        let new_mid = if con { None } else { Some(self.new_mid()) };
        let order = self.new_order();
        let slot = &mut self.out[i];
        slot.retransmits += 1;
        slot.timeout = shl(slot.timeout, 1);
        if let Some(mid) = new_mid {
            // A NON is repeated as a new message, so that the peer's deduplication does not
            // swallow it (the token stays the same).
            slot.mid = mid;
            wire::set_message_id(&mut slot.bytes, mid);
        }
        slot.tx_pending = true;
        slot.tx_order = order;
        slot.next_retransmit = None;
        self.stats.retransmissions += 1;
        self.arm_out(i);
    }

    /// A Reset from the peer (RFC 7252 §4.2, §4.3).
    pub(crate) fn on_reset(&mut self, now: Instant, mid: u16) {
        self.stats.resets_received += 1;
        let _ = now;
        if let Some(i) = self.out.iter().position(|s| {
            matches!(
                s.state,
                OutState::Sent | OutState::Acked | OutState::Observing
            ) && s.mid == mid
                && s.first_sent.is_some()
        }) {
            self.push_event(EvKind::PeerReset { message_id: mid });
            self.fail_slot(i, FailReason::Reset);
            return;
        }
        if let Some(o) = self
            .observers
            .iter()
            .find(|o| o.id != 0 && o.recent_mids.contains(&Some(mid)))
        {
            let id = o.id;
            self.push_event(EvKind::PeerReset { message_id: mid });
            self.remove_observer(id, ObserveEnd::Reset);
            return;
        }
        if let Some(r) = self.inb.iter().position(|r| {
            r.state == InState::SeparateSent && r.response.get(2..4) == Some(&mid.to_be_bytes()[..])
        }) {
            self.push_event(EvKind::PeerReset { message_id: mid });
            let observer = self.inb[r].observer;
            self.inb[r].state = InState::Answered;
            self.inb[r].retransmit_at = None;
            self.arm_in(r);
            if observer != 0 {
                self.remove_observer(observer, ObserveEnd::Reset);
            }
            return;
        }
        self.stats.unmatched += 1;
    }

    /// An ACK: empty (the response follows separately) or with a piggybacked response.
    pub(crate) fn on_ack(&mut self, now: Instant, msg: &Message<'_>) {
        let mid = msg.message_id();
        if let Some(i) = self.out.iter().position(|s| {
            s.state == OutState::Sent && s.con && s.mid == mid && s.first_sent.is_some()
        }) {
            if msg.is_empty() {
                match self.out[i].kind {
                    OutKind::Notification(_) => self.free_slot(i),
                    OutKind::Request => {
                        let lifetime = self.exchange_lifetime;
                        let slot = &mut self.out[i];
                        slot.state = OutState::Acked;
                        slot.next_retransmit = None;
                        if slot.give_up_at.is_none() {
                            slot.give_up_at = Some(now + lifetime);
                        }
                        self.arm_out(i);
                    }
                }
            } else if msg.token() == self.out[i].token {
                self.on_response_for(i, now, msg);
            } else {
                self.stats.unmatched += 1;
            }
            return;
        }
        if let Some(r) = self.inb.iter().position(|r| {
            r.state == InState::SeparateSent && r.response.get(2..4) == Some(&mid.to_be_bytes()[..])
        }) {
            self.inb[r].state = InState::Answered;
            self.inb[r].retransmit_at = None;
            self.arm_in(r);
            return;
        }
        self.stats.unmatched += 1;
    }

    /// A response or notification outside an ACK (separate, NON, or over TCP).
    pub(crate) fn on_response(&mut self, now: Instant, msg: &Message<'_>) {
        let tcp = self.is_tcp();
        let con = !tcp && msg.ty() == MessageType::Confirmable;
        let mid = msg.message_id();
        if con {
            if let Some(r) = self.inb.iter().position(|r| {
                r.state != InState::Free && r.kind == InKind::Response && r.mid == mid
            }) {
                // A retransmission of a CON response whose ACK was lost: acknowledge again.
                self.stats.duplicates += 1;
                let _ = r;
                self.queue_control(Control::EmptyAck(mid));
                return;
            }
        }
        let token = msg.token();
        let Some(i) = self.out.iter().position(|s| {
            s.kind == OutKind::Request
                && s.token == token
                && s.first_sent.is_some()
                && matches!(
                    s.state,
                    OutState::Sent | OutState::Acked | OutState::Observing | OutState::Receiving
                )
        }) else {
            self.stats.unmatched += 1;
            if con || (!tcp && self.config.reset_unknown_non) {
                self.queue_control(Control::Reset(mid));
            }
            return;
        };
        if !self.can_stash(msg.as_bytes().len()) {
            // No room to report it: drop it unacknowledged, the peer will repeat a CON.
            self.stats.dropped_no_capacity += 1;
            return;
        }
        if con {
            self.remember_acked_response(now, mid);
            self.queue_control(Control::EmptyAck(mid));
        }
        self.on_response_for(i, now, msg);
    }

    fn remember_acked_response(&mut self, now: Instant, mid: u16) {
        let Some(r) = self.alloc_record() else { return };
        let id = self.new_id();
        let lifetime = self.exchange_lifetime;
        let rec = &mut self.inb[r];
        rec.reset();
        rec.id = id;
        rec.kind = InKind::Response;
        rec.state = InState::Answered;
        rec.con = true;
        rec.mid = mid;
        rec.tx = InTx::None;
        rec.expires = now + lifetime;
        self.arm_in(r);
    }

    /// A response (or notification) matched to slot `i`.
    pub(crate) fn on_response_for(&mut self, i: usize, now: Instant, msg: &Message<'_>) {
        let code = msg.code();
        let options = msg.options();
        if self.tx.active && self.tx.request && self.tx.owner == self.out[i].id {
            if self.on_request_body_response(i, now, msg) {
                return;
            }
            self.tx.active = false;
            self.timers.set_global(Global::TxBody, None);
        }
        if code.is_success() && !self.is_tcp() {
            if let Ok(Some(b)) = options.q_block2() {
                if b.more() || b.num() > 0 {
                    self.rx_q_block2(i, now, msg, b);
                    return;
                }
            }
        }
        if code.is_success() {
            if let Ok(Some(b)) = options.block2() {
                if b.more() || b.num() > 0 {
                    self.rx_block2(i, now, msg, b);
                    return;
                }
            }
        }
        let observe = options.observe().ok().flatten();
        let slot = &self.out[i];
        let id = slot.id;
        if slot.state == OutState::Observing {
            match observe {
                Some(seq) if code.is_success() => {
                    let fresh = slot
                        .obs_last
                        .is_none_or(|(v1, t1)| is_fresh(v1, t1, seq, now));
                    if !fresh {
                        self.stats.stale_notifications += 1;
                        return;
                    }
                    self.out[i].obs_last = Some((seq, now));
                    self.push_event_with(
                        EvKind::Notification {
                            request: id,
                            sequence: seq,
                        },
                        msg.as_bytes(),
                    );
                }
                _ => {
                    // A final response without Observe, or an error: the observation is over
                    // (RFC 7641 §3.2).
                    self.push_event_with(
                        EvKind::Response {
                            request: id,
                            observe: None,
                            body: false,
                        },
                        msg.as_bytes(),
                    );
                    self.push_event(EvKind::ObserveCancelled {
                        request: id,
                        reason: ObserveEnd::ByServer,
                    });
                    self.free_slot(i);
                }
            }
            return;
        }
        if slot.observe && !slot.deregistering && code.is_success() {
            if let Some(seq) = observe {
                let s = &mut self.out[i];
                s.state = OutState::Observing;
                s.obs_last = Some((seq, now));
                s.next_retransmit = None;
                s.give_up_at = None;
                self.timers.set_out(i, None);
                self.push_event_with(
                    EvKind::Response {
                        request: id,
                        observe: Some(seq),
                        body: false,
                    },
                    msg.as_bytes(),
                );
                self.pump_queue(now);
                return;
            }
        }
        self.push_event_with(
            EvKind::Response {
                request: id,
                observe: None,
                body: false,
            },
            msg.as_bytes(),
        );
        self.free_slot(i);
        self.pump_queue(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freshness_rule_of_rfc7641() {
        let t = Instant::from_secs(10);
        assert!(is_fresh(5, t, 6, t));
        assert!(!is_fresh(6, t, 5, t));
        assert!(!is_fresh(6, t, 6, t));
        // Wrap-around: 2^24 - 1 then 3.
        assert!(is_fresh(0x00ff_ffff, t, 3, t));
        assert!(!is_fresh(3, t, 0x00ff_ffff, t));
        // After 128 s anything is fresh.
        assert!(is_fresh(6, t, 5, t + Duration::from_secs(129)));
        assert!(!is_fresh(6, t, 5, t + Duration::from_secs(128)));
    }
}
