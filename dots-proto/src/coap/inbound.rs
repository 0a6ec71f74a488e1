//! The answering side: deduplication and the response cache (RFC 7252 §4.5), piggybacked and
//! separate responses (§5.2), and the observer registry (RFC 7641 §4).

use dots_codec::coap::{
    BadOptionAction, BufferTooSmall, Code, Message, MessageType, Rejection, Token,
};

use super::endpoint::{Control, EvKind, InKind, InRecord, InState, InTx, OutKind, OutState};
use super::event::{CommandError, InboundId, ObserveEnd, ObserveRequest, ObserverId};
use super::params::shl;
use super::wire;
use super::Response;
use crate::time::Instant;

impl<
        const OUT: usize,
        const IN: usize,
        const OBS: usize,
        const MSG: usize,
        const BODY: usize,
        const INBOX: usize,
    > super::Endpoint<OUT, IN, OBS, MSG, BODY, INBOX>
{
    /// A request from the peer.
    pub(crate) fn on_request(&mut self, now: Instant, msg: &Message<'_>) {
        let tcp = self.is_tcp();
        let con = !tcp && msg.ty() == MessageType::Confirmable;
        let mid = msg.message_id();
        if !tcp {
            if let Some(r) = self.inb.iter().position(|r| {
                r.state != InState::Free
                    && r.kind == InKind::Request
                    && r.mid == mid
                    && r.con == con
            }) {
                self.stats.duplicates += 1;
                if con {
                    self.answer_duplicate(r);
                }
                return;
            }
        }
        if let Err(e) = msg.check_critical_options() {
            self.stats.malformed += 1;
            match e.action {
                BadOptionAction::RespondBadOption => {
                    self.auto_respond(now, msg, Code::BAD_OPTION, b"unrecognised critical option");
                }
                BadOptionAction::Reject(Rejection::Reset { message_id })
                | BadOptionAction::Reject(Rejection::MayReset { message_id })
                    if !tcp =>
                {
                    self.queue_control(Control::Reset(message_id));
                }
                _ => {}
            }
            return;
        }
        let scan = wire::scan_request(msg.options());
        if scan.bad_hop_limit {
            self.stats.malformed += 1;
            self.auto_respond(now, msg, Code::BAD_REQUEST, b"invalid Hop-Limit");
            return;
        }
        if scan.bad_block {
            self.stats.malformed += 1;
            self.auto_respond(now, msg, Code::BAD_REQUEST, b"invalid block option");
            return;
        }
        if let Some(b) = scan.q_block1 {
            if !tcp {
                self.rx_q_block1(now, msg, b);
                return;
            }
        }
        if let Some(b) = scan.block1 {
            if b.more() || b.num() > 0 {
                self.rx_block1(now, msg, b, &scan);
                return;
            }
        }
        if self.tx.active && self.serve_block_request(now, msg) {
            return;
        }
        let _ = self.deliver_request(now, msg, &scan, false);
    }

    /// Opens the record of a request and hands it to the session; `body`: the payload is the
    /// body reassembled in the receive buffer.
    pub(crate) fn deliver_request(
        &mut self,
        now: Instant,
        msg: &Message<'_>,
        scan: &wire::RequestScan,
        body: bool,
    ) -> Option<u32> {
        let tcp = self.is_tcp();
        let con = !tcp && msg.ty() == MessageType::Confirmable;
        let mid = msg.message_id();
        let observe = match scan.observe {
            Some(0) => Some(ObserveRequest::Register),
            Some(1) => Some(ObserveRequest::Deregister),
            _ => None,
        };
        let hop_limit = scan.hop_limit;
        let len = msg.as_bytes().len();
        if !self.can_stash(len) {
            self.stats.dropped_no_capacity += 1;
            return None;
        }
        let Some(r) = self.alloc_record() else {
            self.stats.dropped_no_capacity += 1;
            return None;
        };
        if observe == Some(ObserveRequest::Deregister) {
            let token = msg.token();
            if let Some(o) = self
                .observers
                .iter()
                .find(|o| o.id != 0 && o.token == token)
            {
                let id = o.id;
                self.remove_observer(id, ObserveEnd::Deregistered);
            }
        }
        let id = self.new_id();
        let lifetime = if con || tcp {
            self.exchange_lifetime
        } else {
            self.non_lifetime
        };
        let ack_delay = self.config.ack_delay;
        let rec = &mut self.inb[r];
        rec.reset();
        rec.id = id;
        rec.kind = InKind::Request;
        rec.state = InState::Awaiting;
        rec.con = con;
        rec.mid = mid;
        rec.token = msg.token();
        rec.expires = now + lifetime;
        rec.ack_at = if con { Some(now + ack_delay) } else { None };
        rec.observe = observe;
        rec.req_block2 = scan.block2;
        rec.req_q_block2 = scan.q_block2;
        rec.resource = scan.resource;
        self.arm_in(r);
        self.push_event_with(
            EvKind::Request {
                id,
                observe,
                hop_limit,
                body,
            },
            msg.as_bytes(),
        )
        .then_some(id)
    }

    /// A duplicate of a CON request (RFC 7252 §4.5): repeat the piggybacked response, or the
    /// empty ACK when the answer goes (or went) separately.
    fn answer_duplicate(&mut self, r: usize) {
        let rec = &self.inb[r];
        let piggybacked = rec.response.first().is_some_and(|b| (b >> 4) & 0x3 == 2);
        match rec.state {
            InState::Answered if piggybacked => {
                let order = self.new_order();
                self.inb[r].tx = InTx::Response;
                self.inb[r].tx_order = order;
                self.stats.cached_responses += 1;
            }
            InState::Answered | InState::Deferred | InState::SeparateSent => {
                let mid = rec.mid;
                self.queue_control(Control::EmptyAck(mid));
            }
            _ => {}
        }
    }

    /// A record for a new message: a free one, else the answered one expiring first.
    pub(crate) fn alloc_record(&mut self) -> Option<usize> {
        if let Some(r) = self.inb.iter().position(|r| r.state == InState::Free) {
            return Some(r);
        }
        let r = self
            .inb
            .iter()
            .enumerate()
            .filter(|(_, r)| r.state == InState::Answered && r.tx == InTx::None)
            .min_by_key(|(_, r)| r.expires)
            .map(|(i, _)| i)?;
        self.free_record(r);
        Some(r)
    }

    pub(crate) fn free_record(&mut self, r: usize) {
        if let Some(rec) = self.inb.get_mut(r) {
            rec.reset();
        }
        self.timers.set_inbound(r, None);
    }

    pub(crate) fn arm_in(&mut self, r: usize) {
        let at = self.inb.get(r).and_then(InRecord::deadline);
        self.timers.set_inbound(r, at);
    }

    pub(crate) fn on_in_timer(&mut self, r: usize, now: Instant) {
        let rec = &self.inb[r];
        if rec.state == InState::Free {
            return;
        }
        if rec.ack_at.is_some_and(|t| t <= now) {
            let mid = rec.mid;
            let rec = &mut self.inb[r];
            rec.ack_at = None;
            if rec.state == InState::Awaiting && rec.con {
                // The session takes its time: acknowledge now, answer separately
                // (RFC 7252 §5.2.2).
                rec.state = InState::Deferred;
                self.queue_control(Control::EmptyAck(mid));
            }
        }
        let rec = &self.inb[r];
        if rec.state == InState::SeparateSent && rec.retransmit_at.is_some_and(|t| t <= now) {
            if rec.retransmits >= self.params.max_retransmit {
                let observer = rec.observer;
                let rec = &mut self.inb[r];
                rec.state = InState::Answered;
                rec.retransmit_at = None;
                self.stats.requests_failed += 1;
                if observer != 0 {
                    self.remove_observer(observer, ObserveEnd::TimedOut);
                }
            } else {
                let order = self.new_order();
                let rec = &mut self.inb[r];
                rec.retransmits += 1;
                rec.timeout = shl(rec.timeout, 1);
                rec.retransmit_at = None;
                rec.tx = InTx::Response;
                rec.tx_order = order;
                self.stats.retransmissions += 1;
            }
        }
        let rec = &self.inb[r];
        if rec.expires <= now
            && matches!(
                rec.state,
                InState::Answered | InState::Awaiting | InState::Deferred
            )
            && rec.tx == InTx::None
        {
            self.free_record(r);
            return;
        }
        self.arm_in(r);
    }

    pub(crate) fn transmit_inbound(
        &mut self,
        r: usize,
        now: Instant,
        buf: &mut [u8],
    ) -> Result<usize, BufferTooSmall> {
        let len = self.write_out(&self.inb[r].response, buf)?;
        let tcp = self.is_tcp();
        let rec = &mut self.inb[r];
        rec.tx = InTx::None;
        if rec.state == InState::SeparateSent {
            rec.retransmit_at = Some(now + rec.timeout);
        }
        if tcp {
            self.free_record(r);
        } else {
            self.arm_in(r);
        }
        Ok(len)
    }

    /// Answers a request the endpoint handles itself (errors, served blocks).
    pub(crate) fn auto_respond(
        &mut self,
        now: Instant,
        msg: &Message<'_>,
        code: Code,
        diag: &[u8],
    ) {
        let con = !self.is_tcp() && msg.ty() == MessageType::Confirmable;
        self.auto_answer(now, con, msg.message_id(), msg.token(), code, &[], diag);
    }

    /// Queues an answer the endpoint makes itself, cached for duplicates of the request.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn auto_answer(
        &mut self,
        now: Instant,
        con: bool,
        request_mid: u16,
        token: Token,
        code: Code,
        options: &[u8],
        payload: &[u8],
    ) {
        let Some(r) = self.alloc_record() else {
            self.stats.dropped_no_capacity += 1;
            return;
        };
        let (ty, mid) = if con {
            (MessageType::Acknowledgement, request_mid)
        } else {
            (MessageType::NonConfirmable, self.new_mid())
        };
        let id = self.new_id();
        let order = self.new_order();
        let lifetime = self.exchange_lifetime;
        let rec = &mut self.inb[r];
        rec.reset();
        rec.id = id;
        rec.kind = InKind::Request;
        rec.state = InState::Answered;
        rec.con = con;
        rec.mid = request_mid;
        rec.token = token;
        rec.expires = now + lifetime;
        if wire::encode(&mut rec.response, ty, code, mid, token, options, payload).is_err() {
            self.free_record(r);
            return;
        }
        rec.tx = InTx::Response;
        rec.tx_order = order;
        self.arm_in(r);
    }

    /// Answers a request received in [`Event::Request`](super::Event::Request): piggybacked in
    /// the ACK of a CON when the empty ACK has not gone yet, else as a separate response (CON
    /// or NON as [`Config::confirmable_separate_responses`](super::Config) says); a NON request
    /// gets a NON response. A body larger than the block size goes block-wise: Q-Block2 bursts
    /// when a NON request announced Q-Block2 (RFC 9177), Block2 otherwise (RFC 7959).
    ///
    /// A success response to a request with Observe = 0 registers the peer as an observer
    /// (unless [`Response::without_observe`] or the registry is full): its
    /// [`ObserverId`] is returned, for [`notify`](Self::notify).
    ///
    /// # Errors
    /// [`CommandError::UnknownId`] for a request already answered or forgotten;
    /// [`CommandError::InvalidCode`]; [`CommandError::MessageTooLarge`] /
    /// [`CommandError::BodyTooLarge`] when it fits neither a message nor the body buffer.
    pub fn respond(
        &mut self,
        now: Instant,
        id: InboundId,
        response: Response<'_>,
    ) -> Result<Option<ObserverId>, CommandError> {
        let now = self.advance(now);
        if !response.code.is_response() {
            return Err(CommandError::InvalidCode(response.code));
        }
        let r = self
            .inb
            .iter()
            .position(|r| {
                r.id == id.0
                    && r.kind == InKind::Request
                    && matches!(r.state, InState::Awaiting | InState::Deferred)
            })
            .ok_or(CommandError::UnknownId)?;
        let tcp = self.is_tcp();
        let rec = &self.inb[r];
        let (ty, mid) = if tcp {
            (MessageType::NonConfirmable, 0)
        } else if rec.con && rec.state == InState::Awaiting {
            (MessageType::Acknowledgement, rec.mid)
        } else if rec.con && self.config.confirmable_separate_responses {
            (MessageType::Confirmable, self.new_mid())
        } else {
            (MessageType::NonConfirmable, self.new_mid())
        };
        let rec = &self.inb[r];
        let token = rec.token;
        let resource = rec.resource;
        let register = rec.observe == Some(ObserveRequest::Register)
            && response.accept_observe
            && response.code.is_success();
        let observer = if register {
            self.add_observer(token, resource)
        } else {
            None
        };
        let seq = observer.map(|_| self.next_observe_seq());
        let blockwise = response.payload.len()
            > usize::from(self.block_size(None, response.options.as_bytes().len()))
            || self.inb[r].req_block2.is_some_and(|b| b.num() > 0);
        let result = if blockwise {
            self.answer_blockwise(r, now, &response, ty, mid, seq)
        } else {
            let options = wire::merged(response.options, |list| {
                if let Some(seq) = seq {
                    list.set_observe(seq)?;
                }
                Ok(())
            });
            match options {
                Ok(options) => wire::encode(
                    &mut self.inb[r].response,
                    ty,
                    response.code,
                    mid,
                    token,
                    options.as_bytes(),
                    response.payload,
                )
                .and_then(|()| self.check_peer_size(&self.inb[r].response)),
                Err(e) => Err(e),
            }
        };
        if let Err(e) = result {
            if let Some(o) = observer {
                self.drop_observer(o);
            }
            self.inb[r].response.clear();
            return Err(e);
        }
        let order = self.new_order();
        let timeout = self.jitter(self.params.ack_timeout);
        let rec = &mut self.inb[r];
        rec.state = if ty == MessageType::Confirmable {
            InState::SeparateSent
        } else {
            InState::Answered
        };
        rec.timeout = timeout;
        rec.retransmits = 0;
        rec.tx = InTx::Response;
        rec.tx_order = order;
        rec.ack_at = None;
        rec.observer = observer.unwrap_or(0);
        self.arm_in(r);
        Ok(observer.map(ObserverId))
    }

    /// Acknowledges a CON request now (empty ACK), so that the answer goes as a separate
    /// response whenever the session calls [`respond`](Self::respond). Without this, the
    /// endpoint does it by itself after [`Config::ack_delay`](super::Config).
    ///
    /// # Errors
    /// [`CommandError::UnknownId`] for a request already answered or acknowledged.
    pub fn defer(&mut self, now: Instant, id: InboundId) -> Result<(), CommandError> {
        let _ = self.advance(now);
        let r = self
            .inb
            .iter()
            .position(|r| r.id == id.0 && r.kind == InKind::Request && r.state == InState::Awaiting)
            .ok_or(CommandError::UnknownId)?;
        if self.inb[r].con {
            let mid = self.inb[r].mid;
            self.inb[r].state = InState::Deferred;
            self.inb[r].ack_at = None;
            self.queue_control(Control::EmptyAck(mid));
            self.arm_in(r);
        }
        Ok(())
    }

    pub(crate) fn check_peer_size(&self, msg: &[u8]) -> Result<(), CommandError> {
        if self.is_tcp() {
            let needed = wire::tcp_len(msg);
            let limit = self.tcp.peer_max_message_size as usize;
            if needed > limit {
                return Err(CommandError::MessageTooLarge { needed, limit });
            }
        }
        Ok(())
    }

    pub(crate) fn next_observe_seq(&mut self) -> u32 {
        self.obs_seq = (self.obs_seq + 1) & 0x00ff_ffff;
        self.obs_seq
    }

    fn add_observer(&mut self, token: Token, resource: u64) -> Option<u32> {
        if let Some(o) = self
            .observers
            .iter_mut()
            .find(|o| o.id != 0 && o.token == token)
        {
            o.resource = resource;
            return Some(o.id);
        }
        let free = self.observers.iter().position(|o| o.id == 0)?;
        let id = self.new_id();
        let o = &mut self.observers[free];
        *o = super::endpoint::Observer::new();
        o.id = id;
        o.token = token;
        o.resource = resource;
        Some(id)
    }

    fn drop_observer(&mut self, id: u32) {
        if let Some(o) = self.observers.iter_mut().find(|o| o.id == id) {
            *o = super::endpoint::Observer::new();
        }
    }

    pub(crate) fn remove_observer(&mut self, id: u32, reason: ObserveEnd) {
        if id == 0 || !self.observers.iter().any(|o| o.id == id) {
            return;
        }
        self.drop_observer(id);
        self.push_event(EvKind::ObserverRemoved {
            observer: id,
            reason,
        });
    }

    /// Forgets an observer without telling the peer (its next notification would be
    /// rejected; RFC 7641 §3.6 lets clients forget too).
    ///
    /// # Errors
    /// [`CommandError::UnknownId`].
    pub fn forget_observer(&mut self, observer: ObserverId) -> Result<(), CommandError> {
        if observer.0 == 0 || !self.observers.iter().any(|o| o.id == observer.0) {
            return Err(CommandError::UnknownId);
        }
        self.drop_observer(observer.0);
        Ok(())
    }

    /// Sends a notification to an observer (RFC 7641 §4.2): NON by default (RFC 9132
    /// §4.4.2.1), CON when [`Config::confirmable_notifications`](super::Config) is set, with
    /// an Observe sequence number larger than every previous one. A notification not yet
    /// transmitted (or a CON one not yet acknowledged) is replaced by the new one, as
    /// RFC 7641 §4.5.2 allows. An error code ends the observation.
    ///
    /// # Errors
    /// [`CommandError::UnknownId`] for an unknown observer; [`CommandError::QueueFull`] when no
    /// outgoing slot is free; [`CommandError::MessageTooLarge`] when it does not fit one
    /// message (notifications do not go block-wise).
    pub fn notify(
        &mut self,
        now: Instant,
        observer: ObserverId,
        response: Response<'_>,
    ) -> Result<(), CommandError> {
        let _ = self.advance(now);
        if !response.code.is_response() {
            return Err(CommandError::InvalidCode(response.code));
        }
        let o = *self
            .observers
            .iter()
            .find(|o| o.id == observer.0 && o.id != 0)
            .ok_or(CommandError::UnknownId)?;
        let tcp = self.is_tcp();
        let con = self.config.confirmable_notifications && !tcp;
        let replace = self.out.iter().position(|s| {
            s.kind == OutKind::Notification(o.id)
                && (s.tx_pending || (s.con && s.state == OutState::Sent))
        });
        let i = match replace {
            Some(i) => i,
            None => self
                .out
                .iter()
                .position(|s| s.state == OutState::Free)
                .ok_or(CommandError::QueueFull)?,
        };
        let success = response.code.is_success();
        let seq = if success {
            Some(self.next_observe_seq())
        } else {
            None
        };
        let options = wire::merged(response.options, |list| {
            if let Some(seq) = seq {
                list.set_observe(seq)?;
            }
            Ok(())
        })?;
        let ty = if con {
            MessageType::Confirmable
        } else {
            MessageType::NonConfirmable
        };
        let mid = self.new_mid();
        let mut bytes = heapless::Vec::new();
        wire::encode(
            &mut bytes,
            ty,
            response.code,
            mid,
            o.token,
            options.as_bytes(),
            response.payload,
        )?;
        self.check_peer_size(&bytes)?;
        let order = self.new_order();
        let fresh_timeout = self.jitter(self.params.ack_timeout);
        let id = self.new_id();
        let slot = &mut self.out[i];
        if replace.is_none() {
            slot.reset();
            slot.id = id;
            slot.timeout = fresh_timeout;
        }
        slot.kind = OutKind::Notification(o.id);
        slot.state = OutState::Sent;
        slot.con = con;
        slot.expect_response = false;
        slot.token = o.token;
        slot.mid = mid;
        slot.bytes = bytes;
        slot.tx_pending = true;
        slot.tx_order = order;
        slot.next_retransmit = None;
        self.timers.set_out(i, None);
        if !success {
            self.remove_observer(o.id, ObserveEnd::ErrorNotification);
        }
        Ok(())
    }
}
