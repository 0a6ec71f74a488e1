//! Inputs of a peer: the datagram triage that keeps the session's own exchanges (heartbeats,
//! notifications) away from endpoints, requests through the endpoint to the core and back,
//! the server's heartbeats, the peer's timers and its parameters.

use alloc::sync::Arc;
use core::time::Duration;

use dots_codec::coap::{Code, Message, MessageType, OptionList, Options, Token};

use super::config::{MAX_BODY_SIZE, MAX_PATH_SEGMENTS, MIN_HEARTBEAT_SPACING};
use super::event::SessionEvent;
use super::peer::Outgoing;
use super::{params, Removal, ServerSession};
use crate::coap::{Event, InboundId, Response, Transport};
use crate::data::PeerIdentity;
use crate::signal::server::{Handled, ObserveAction, Request, SignalHooks};
use crate::time::Instant;

/// An endpoint event, copied out of the endpoint (its data in `scratch`).
enum Item {
    Request {
        id: InboundId,
        code: Code,
        token: Token,
        /// Options are `scratch[..split]`, the payload the rest.
        split: usize,
    },
    Close,
    Other,
}

/// A request the core cannot be handed: answered here.
struct Refusal {
    code: Code,
    diagnostic: &'static str,
}

impl<P: Ord + Clone, H: SignalHooks> ServerSession<P, H> {
    /// Anything from the peer is traffic: it resets the deadman (RFC 9132 Section 4.7).
    pub(crate) fn heard(&mut self, idx: u32, now: Instant) {
        if let Some(p) = self.peer_mut(idx) {
            p.hb.last_rx = now;
            p.hb.awaiting = None;
        }
    }

    /// Triage of a UDP datagram: what answers the session's own messages stays here, the rest
    /// goes to the peer's endpoint (lent if needed).
    pub(crate) fn on_datagram(&mut self, idx: u32, now: Instant, datagram: &[u8]) {
        let Some(peer) = self.peer(idx) else {
            return;
        };
        let held = peer.endpoint.is_some();
        let hb_token = peer.hb.token;
        if let Ok(msg) = Message::parse(datagram) {
            let (ty, code, mid) = (msg.ty(), msg.code(), msg.message_id());
            match ty {
                MessageType::Reset if self.on_reset(idx, mid) || !held => return,
                MessageType::Acknowledgement if !held => {
                    // The session sends nothing confirmable; an endpoint would have.
                    self.stats.unmatched += 1;
                    return;
                }
                _ if code.is_response() && hb_token.is_some_and(|t| t == msg.token()) => {
                    self.on_heartbeat_response(idx, now, ty == MessageType::Confirmable, mid);
                    return;
                }
                MessageType::NonConfirmable if code.is_request() => {
                    let Some(peer) = self.peer_mut(idx) else {
                        return;
                    };
                    let lifetime = peer.settings.params.non_lifetime();
                    if peer.is_duplicate(mid, now, lifetime) {
                        self.stats.duplicates += 1;
                        return;
                    }
                }
                _ => {}
            }
        }
        if !self.lend(idx) {
            return;
        }
        if let Some(ep) = self.peer_mut(idx).and_then(|p| p.endpoint.as_mut()) {
            ep.handle_datagram(now, datagram);
        }
        self.drain_endpoint(idx, now);
    }

    /// A response to the server's latest heartbeat: an RTT sample.
    fn on_heartbeat_response(&mut self, idx: u32, now: Instant, con: bool, mid: u16) {
        let Some(p) = self.peers.get_mut(idx as usize).and_then(Option::as_mut) else {
            return;
        };
        if let Some(sent) = p.hb.sent_at.take() {
            p.hb.rtt_sample(now.saturating_duration_since(sent));
            self.stats.heartbeats_answered += 1;
        }
        if con {
            // Acknowledge a Confirmable response (RFC 7252 Section 5.2.2); a full queue drops
            // the ACK (the peer retransmits its response and gets one then).
            let ack = Outgoing::EmptyAck(mid);
            let queued = p
                .out
                .iter()
                .any(|o| matches!(o, Outgoing::EmptyAck(m) if *m == mid));
            if !queued && p.out.len() + p.notes.len() < self.config.max_queued_per_peer {
                p.out.push_back(ack);
            }
            self.mark_ready(idx);
        }
    }

    /// Hands the events of the peer's endpoint on: requests to the core, connection ends to
    /// the host.
    pub(crate) fn drain_endpoint(&mut self, idx: u32, now: Instant) {
        loop {
            let item = {
                let scratch = &mut self.scratch;
                let Some(ep) = self
                    .peers
                    .get_mut(idx as usize)
                    .and_then(Option::as_mut)
                    .and_then(|p| p.endpoint.as_mut())
                else {
                    return;
                };
                match ep.poll_event() {
                    None => return,
                    Some(Event::Request { id, request, .. }) => {
                        scratch.clear();
                        scratch.extend_from_slice(request.options.as_bytes());
                        let split = scratch.len();
                        scratch.extend_from_slice(request.payload);
                        Item::Request {
                            id,
                            code: request.code,
                            token: request.token,
                            split,
                        }
                    }
                    Some(Event::Aborted { .. } | Event::Released { .. }) => Item::Close,
                    Some(_) => Item::Other,
                }
            };
            match item {
                Item::Request {
                    id,
                    code,
                    token,
                    split,
                } => self.answer(idx, now, id, code, token, split),
                Item::Close => {
                    if let Some(key) = self.peer(idx).map(|p| p.key.clone()) {
                        self.push_event(SessionEvent::CloseTransport { peer: key });
                    }
                }
                Item::Other => {}
            }
        }
    }

    /// Answers one request (in `scratch`) through the core.
    fn answer(
        &mut self,
        idx: u32,
        now: Instant,
        id: InboundId,
        code: Code,
        token: Token,
        split: usize,
    ) {
        let Some((cuid, gateway)) = self.peer(idx).map(|p| (p.cuid.clone(), p.gateway)) else {
            return;
        };
        let identity = PeerIdentity {
            cuid: &cuid,
            trusted_gateway: gateway,
        };
        self.stats.requests += 1;
        let handled = {
            let (scratch, core, buf) = (&self.scratch, &mut self.core, &mut self.buf);
            let options = scratch
                .get(..split)
                .and_then(|o| Options::parse(o).ok())
                .unwrap_or(Options::EMPTY);
            let payload = scratch.get(split..).unwrap_or(&[]);
            let mut path = heapless::Vec::<&str, MAX_PATH_SEGMENTS>::new();
            let mut query = heapless::Vec::<&str, MAX_PATH_SEGMENTS>::new();
            match core_request(code, options, payload, &mut path, &mut query) {
                Err(refusal) => Err(refusal),
                Ok(req) => loop {
                    match core.handle_request(now, &identity, &req, buf) {
                        Ok(h) => break Ok(h),
                        Err(e) if e.needed > buf.len() && e.needed <= MAX_BODY_SIZE => {
                            buf.resize(e.needed, 0);
                        }
                        Err(_) => {
                            break Err(Refusal {
                                code: Code::INTERNAL_SERVER_ERROR,
                                diagnostic: "the representation is too large to send",
                            });
                        }
                    }
                },
            }
        };
        let r = match handled {
            Err(refusal) => {
                if refusal.code == Code::INTERNAL_SERVER_ERROR {
                    self.stats.oversized_responses += 1;
                }
                self.respond_plain(idx, now, id, refusal.code, refusal.diagnostic.as_bytes());
                return;
            }
            Ok(Handled::Ignore) => {
                // No response: a Confirmable request gets its empty ACK now.
                if let Some(ep) = self.peer_mut(idx).and_then(|p| p.endpoint.as_mut()) {
                    let _ = ep.defer(now, id);
                }
                return;
            }
            Ok(Handled::Respond(r)) => r,
        };
        let mut opts = OptionList::<16>::new();
        if let Some(cf) = r.content_format {
            let _ = opts.set_content_format(cf);
        }
        if let Some(age) = r.max_age {
            let _ = opts.set_max_age(age);
        }
        let (register, deregister) = match &r.observe {
            Some(ObserveAction::Registered { cuid, target }) => {
                if self.may_observe(idx, token) {
                    (Some((cuid.clone(), *target)), None)
                } else {
                    self.release_observation(cuid, *target);
                    (None, None)
                }
            }
            Some(ObserveAction::Deregister { .. }) => (None, Some(token)),
            _ => (None, None),
        };
        let payload = self.buf.get(..r.payload_len).unwrap_or(&[]);
        let mut response = Response::new(r.code)
            .options(opts.as_options())
            .payload(payload);
        if register.is_none() {
            response = response.without_observe();
        }
        let Some(ep) = self
            .peers
            .get_mut(idx as usize)
            .and_then(Option::as_mut)
            .and_then(|p| p.endpoint.as_mut())
        else {
            return;
        };
        let sent = ep.respond(now, id, response);
        let observer = match sent {
            Ok(o) => o,
            Err(_) => {
                self.stats.oversized_responses += 1;
                let _ = ep.respond(
                    now,
                    id,
                    Response::new(Code::INTERNAL_SERVER_ERROR)
                        .payload(b"the response does not fit a message or a block-wise body")
                        .without_observe(),
                );
                None
            }
        };
        if let Some(o) = observer {
            // The session keeps the observer; the endpoint goes back to the pool soon.
            let _ = ep.forget_observer(o);
        }
        match (register, observer) {
            (Some((c, target)), Some(_)) => self.add_observation(idx, now, c, target, token),
            (Some((c, target)), None) => self.release_observation(&c, target),
            _ => {}
        }
        if let Some(token) = deregister {
            self.remove_observation_by_token(idx, token);
        }
        if let Some(hb) = r.heartbeat {
            self.on_client_heartbeat(idx, now, hb.peer_hb_status);
        }
    }

    /// An answer the session makes itself (a diagnostic without Content-Format).
    fn respond_plain(&mut self, idx: u32, now: Instant, id: InboundId, code: Code, diag: &[u8]) {
        if let Some(ep) = self.peer_mut(idx).and_then(|p| p.endpoint.as_mut()) {
            let _ = ep.respond(now, id, Response::new(code).payload(diag).without_observe());
        }
    }

    /// A client heartbeat (RFC 9132 Section 4.7).
    fn on_client_heartbeat(&mut self, idx: u32, now: Instant, receiving: bool) {
        self.stats.client_heartbeats += 1;
        let Some(p) = self.peer_mut(idx) else { return };
        p.hb.last_client_hb = Some(now);
        let changed = p.hb.client_receiving != receiving;
        p.hb.client_receiving = receiving;
        // "send a server-initiated heartbeat immediately after receiving a client-initiated
        // heartbeat message" when the client misses ours.
        let answer_now = !receiving
            && p.settings.interval.is_some()
            && now >= p.hb.last_sent + MIN_HEARTBEAT_SPACING;
        let event = changed.then(|| SessionEvent::PeerHeartbeatStatus {
            peer: p.key.clone(),
            cuid: p.cuid.clone(),
            receiving,
        });
        if let Some(e) = event {
            self.push_event(e);
        }
        if answer_now {
            self.queue_heartbeat(idx, now);
        }
    }

    /// Queues the server's heartbeat; the next one is due `heartbeat-interval` later.
    pub(crate) fn queue_heartbeat(&mut self, idx: u32, now: Instant) {
        let Some(p) = self.peer_mut(idx) else { return };
        if p.detached || p.settings.interval.is_none() {
            return;
        }
        p.hb.last_sent = now;
        if p.transport == Transport::Tcp && p.hb.awaiting.is_none() {
            p.hb.awaiting = Some(now);
        }
        if !p.out.iter().any(|o| matches!(o, Outgoing::Heartbeat)) {
            p.out.push_back(Outgoing::Heartbeat);
        }
        self.mark_ready(idx);
    }

    /// The peer's deadline came: its endpoint's timers, the deadman, its heartbeat, its
    /// periodic status, its paced notifications.
    pub(crate) fn on_peer_timer(&mut self, idx: u32, now: Instant) {
        let Some(p) = self.peer_mut(idx) else { return };
        if let Some(ep) = p.endpoint.as_mut() {
            ep.handle_timeout(now);
            self.drain_endpoint(idx, now);
            self.mark_ready(idx);
        }
        let Some(p) = self.peer(idx) else { return };
        if p.lost_at().is_some_and(|t| t <= now) {
            self.remove_peer(idx, now, Removal::Lost);
            return;
        }
        if p.next_heartbeat().is_some_and(|t| t <= now) {
            self.queue_heartbeat(idx, now);
        }
        if self
            .peer(idx)
            .and_then(|p| p.status_at)
            .is_some_and(|t| t <= now)
        {
            self.periodic_status(idx, now);
        }
        if self.peer(idx).is_some_and(|p| p.has_crafted(now)) {
            self.mark_ready(idx);
        }
        self.maybe_release(idx);
        self.rearm(idx, now);
    }

    /// Re-reads the parameters in force for the peer from the core and applies them.
    pub(crate) fn refresh_settings(&mut self, idx: u32, now: Instant) {
        let Some(p) = self.peer(idx) else { return };
        let identity = PeerIdentity {
            cuid: &p.cuid,
            trusted_gateway: p.gateway,
        };
        let sp = self.core.session_params(&identity);
        let settings = params::settings(sp.current());
        let Some(p) = self.peer_mut(idx) else { return };
        if settings == p.settings && sp.phase == p.phase {
            return;
        }
        p.settings = settings;
        p.phase = sp.phase;
        if let Some(ep) = p.endpoint.as_mut() {
            let _ = ep.set_parameters(settings.params);
        }
        let rearm_status = p.status_at.is_some();
        if rearm_status {
            let period = self.status_period_of(idx);
            if let Some(p) = self.peer_mut(idx) {
                p.status_at = period.map(|d| now + d);
            }
        }
        if let Some(p) = self.peer(idx) {
            if !p.detached {
                let e = SessionEvent::ParametersChanged {
                    peer: p.key.clone(),
                    phase: sp.phase,
                };
                self.push_event(e);
            }
        }
        self.rearm(idx, now);
    }

    /// Every peer whose session is `cuid`'s (the core's `SessionConfigChanged`).
    pub(crate) fn refresh_cuid(&mut self, cuid: &str, now: Instant) {
        let peers: alloc::vec::Vec<u32> = self
            .by_cuid
            .get(cuid)
            .map(|l| {
                l.as_slice()
                    .iter()
                    .copied()
                    .filter(|&i| self.peer(i).is_some_and(|p| *p.cuid == *cuid))
                    .collect()
            })
            .unwrap_or_default();
        for idx in peers {
            self.refresh_settings(idx, now);
        }
    }

    /// Every gateway peer (their phase follows the gateway-relayed mitigations).
    pub(crate) fn refresh_gateways(&mut self, now: Instant) {
        let peers: alloc::vec::Vec<u32> = self.gateways.iter().copied().collect();
        for idx in peers {
            self.refresh_settings(idx, now);
        }
    }

    /// The period of the status notifications for a peer.
    pub(crate) fn status_period_of(&self, idx: u32) -> Option<Duration> {
        self.config
            .status_period
            .or_else(|| self.peer(idx).and_then(|p| p.settings.interval))
            .filter(|d| !d.is_zero())
    }

    /// The session's identity of a cuid, shared with its index.
    pub(crate) fn shared_cuid(&self, cuid: &str) -> Option<Arc<str>> {
        self.by_cuid.get_key_value(cuid).map(|(k, _)| k.clone())
    }
}

/// The core's view of a request, or the answer when its options are unusable.
fn core_request<'a: 'b, 'b>(
    code: Code,
    options: Options<'a>,
    payload: &'a [u8],
    path: &'b mut heapless::Vec<&'a str, MAX_PATH_SEGMENTS>,
    query: &'b mut heapless::Vec<&'a str, MAX_PATH_SEGMENTS>,
) -> Result<Request<'b>, Refusal> {
    let bad = |diagnostic| Refusal {
        code: Code::BAD_REQUEST,
        diagnostic,
    };
    for seg in options.uri_path() {
        let seg = seg.map_err(|_| bad("invalid Uri-Path"))?;
        path.push(seg).map_err(|_| Refusal {
            code: Code::NOT_FOUND,
            diagnostic: "no such resource",
        })?;
    }
    for arg in options.uri_query() {
        let arg = arg.map_err(|_| bad("invalid Uri-Query"))?;
        query
            .push(arg)
            .map_err(|_| bad("too many Uri-Query options"))?;
    }
    let content_format = options
        .content_format()
        .map_err(|_| bad("invalid Content-Format"))?;
    let accept = options.accept().map_err(|_| bad("invalid Accept"))?;
    let observe = options.observe().map_err(|_| bad("invalid Observe"))?;
    Ok(Request {
        code,
        uri_path: path,
        uri_query: query,
        content_format,
        accept,
        observe,
        if_match: options.if_match().next().is_some(),
        payload,
    })
}
