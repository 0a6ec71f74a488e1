//! Reusing an endpoint for one peer after another, and continuing a peer's CoAP state across
//! endpoints: what a server with many clients needs to keep an endpoint only while an exchange
//! is in progress (see `signal::session`).
//!
//! - [`Endpoint::reset`] returns an endpoint to the state of [`Endpoint::new`] in place, without
//!   moving its (large, inline) message storage: a pool of endpoints costs a few stores per reuse
//!   instead of a copy of the whole structure.
//! - [`Endpoint::next_message_id`] / [`Endpoint::set_next_message_id`] and
//!   [`Endpoint::observe_sequence`] / [`Endpoint::set_observe_sequence`] carry the message-ID
//!   sequence (RFC 7252 §4.4) and the Observe sequence (RFC 7641 §4.4) of a peer from one
//!   endpoint to the next, so that the peer's deduplication and freshness checks see one
//!   continuous sender.
//! - [`Endpoint::is_quiescent`] tells when dropping the endpoint loses nothing but its
//!   deduplication records.

use super::block::{RxBody, TxBody};
use super::endpoint::{Control, InState, InTx, Observer, OutState};
use super::params::TransmissionParameters;
use super::tcp::TcpState;
use super::timer::{Global, TimerTable};
use super::{Config, Endpoint};
use crate::rng::Rng;
use crate::time::Instant;

impl<
        const OUT: usize,
        const IN: usize,
        const OBS: usize,
        const MSG: usize,
        const BODY: usize,
        const INBOX: usize,
    > Endpoint<OUT, IN, OBS, MSG, BODY, INBOX>
{
    /// Returns the endpoint to the state [`Endpoint::new`]`(config, seed)` creates, in place:
    /// every exchange, record, observer, body, event and counter is forgotten. It writes the
    /// bookkeeping fields only (message storage is truncated, not copied), so reusing a pooled
    /// endpoint costs far less than building one.
    pub fn reset(&mut self, config: Config, seed: u64) {
        // Every field is named: a field added to `Endpoint` must be reset here too.
        let Endpoint {
            config: cfg,
            params,
            rng,
            now,
            next_mid,
            next_id,
            order,
            obs_seq,
            etag,
            timers,
            out,
            inb,
            observers,
            control,
            events,
            inbox,
            inbox_start,
            returned_body,
            rx,
            tx,
            unresponsive,
            pacing_next,
            last_rx,
            exchange_lifetime,
            non_lifetime,
            tcp,
            stats,
        } = self;
        // The same draws, in the same order, as `Endpoint::new`.
        let mut r = Rng::from_seed(seed);
        *next_mid = r.next_u16();
        *obs_seq = r.next_u32() & 0xffff;
        *etag = r.next_u64();
        *rng = r;
        let p = if config.params.validate().is_ok() {
            config.params
        } else {
            TransmissionParameters::DOTS
        };
        *cfg = config;
        *params = p;
        *now = Instant::ZERO;
        *next_id = 1;
        *order = 0;
        *timers = TimerTable::new();
        out.iter_mut().for_each(super::endpoint::OutSlot::reset);
        inb.iter_mut().for_each(super::endpoint::InRecord::reset);
        *observers = [Observer::new(); OBS];
        control.clear();
        events.clear();
        inbox.clear();
        *inbox_start = 0;
        *returned_body = false;
        clear_rx(rx);
        clear_tx(tx);
        *unresponsive = false;
        *pacing_next = Instant::ZERO;
        *last_rx = None;
        *exchange_lifetime = p.exchange_lifetime();
        *non_lifetime = p.non_lifetime();
        clear_tcp(tcp);
        *stats = super::Stats::default();
        if config.transport == super::Transport::Tcp {
            let _ = control.push_back(Control::Csm);
        }
    }

    /// The message ID the next message this endpoint originates will carry (RFC 7252 §4.4).
    #[must_use]
    pub fn next_message_id(&self) -> u16 {
        self.next_mid
    }

    /// Continues a message-ID sequence, e.g. the one a previous endpoint for the same peer
    /// reached ([`next_message_id`](Self::next_message_id)), so that the peer's deduplication
    /// (RFC 7252 §4.5) never sees an ID it still remembers.
    pub fn set_next_message_id(&mut self, message_id: u16) {
        self.next_mid = message_id;
    }

    /// The latest Observe sequence number used (RFC 7641 §4.4); the next notification or
    /// registration response carries a larger one.
    #[must_use]
    pub fn observe_sequence(&self) -> u32 {
        self.obs_seq
    }

    /// Continues an Observe sequence (24 bits; higher bits are ignored), so that notifications
    /// the peer receives from this endpoint are fresher than those it already has
    /// (RFC 7641 §3.4).
    pub fn set_observe_sequence(&mut self, sequence: u32) {
        self.obs_seq = sequence & 0x00ff_ffff;
    }

    /// Whether nothing is in progress: nothing queued for [`poll_transmit`](Self::poll_transmit)
    /// or [`poll_event`](Self::poll_event), no request of ours outstanding or queued, no
    /// observer, no block-wise body being sent or received, no CON answer waiting for its ACK or
    /// due for an empty ACK, and no timer armed but the expiry of answered (or deliberately
    /// unanswered) requests. Dropping a quiescent endpoint loses only its deduplication records
    /// (RFC 7252 §4.5 lets a server process a duplicate of an idempotent request again) and
    /// requests the session chose not to answer. Always `false` over TCP while the connection
    /// is open (the stream and the CSM are connection state).
    #[must_use]
    pub fn is_quiescent(&self) -> bool {
        if self.is_tcp() && !(self.tcp.closed && self.control.is_empty()) {
            return false;
        }
        self.control.is_empty()
            && self.events.is_empty()
            && !self.returned_body
            && self.out.iter().all(|s| s.state == OutState::Free)
            && self.observers.iter().all(|o| o.id == 0)
            && !self.tx.active
            && self.rx.owner == 0
            && !self.rx.locked
            && Global::ALL.iter().all(|&g| self.timers.global(g).is_none())
            && self.inb.iter().all(|r| {
                r.tx == InTx::None
                    && r.state != InState::SeparateSent
                    && !(r.state == InState::Awaiting && r.ack_at.is_some())
            })
    }
}

fn clear_rx<const BODY: usize>(rx: &mut RxBody<BODY>) {
    let RxBody {
        owner,
        q,
        locked,
        body,
        total,
        received,
        szx,
        etag,
        next_num,
        highest,
        started,
        last_rx,
        rerequests,
        continued,
        observe,
        inbound,
        tag,
        resource,
        last_token,
        done_tag,
        done_resource,
        done_record,
    } = rx;
    *owner = 0;
    *q = false;
    *locked = false;
    body.clear();
    *total = None;
    received.clear();
    *szx = 0;
    etag.clear();
    *next_num = 0;
    *highest = 0;
    *started = Instant::ZERO;
    *last_rx = Instant::ZERO;
    *rerequests = 0;
    *continued = 0;
    *observe = None;
    *inbound = false;
    tag.clear();
    *resource = 0;
    *last_token = dots_codec::coap::Token::EMPTY;
    done_tag.clear();
    *done_resource = 0;
    *done_record = 0;
}

fn clear_tx<const BODY: usize>(tx: &mut TxBody<BODY>) {
    let TxBody {
        active,
        q,
        body,
        etag,
        szx,
        token,
        resource,
        code,
        options,
        observe,
        next_seq,
        resend,
        sent_in_window,
        window_until,
        set_delay,
        expires,
        request,
        owner,
        request_tag,
    } = tx;
    *active = false;
    *q = false;
    body.clear();
    *etag = [0; 8];
    *szx = 6;
    *token = dots_codec::coap::Token::EMPTY;
    *resource = 0;
    *code = dots_codec::coap::Code::CONTENT;
    options.clear();
    *observe = None;
    *next_seq = 0;
    resend.clear();
    *sent_in_window = 0;
    *window_until = None;
    *set_delay = core::time::Duration::ZERO;
    *expires = Instant::ZERO;
    *request = false;
    *owner = 0;
    *request_tag = [0; 4];
}

fn clear_tcp<const MSG: usize>(tcp: &mut TcpState<MSG>) {
    let fresh = TcpState::<0>::new();
    let TcpState {
        decoder,
        csm_sent,
        peer_csm,
        peer_max_message_size,
        peer_block_wise,
        released,
        closed,
        closed_by_us_sent,
        ping,
        ping_counter,
    } = tcp;
    decoder.reset();
    *csm_sent = fresh.csm_sent;
    *peer_csm = fresh.peer_csm;
    *peer_max_message_size = fresh.peer_max_message_size;
    *peer_block_wise = fresh.peer_block_wise;
    *released = fresh.released;
    *closed = fresh.closed;
    *closed_by_us_sent = fresh.closed_by_us_sent;
    *ping = fresh.ping;
    *ping_counter = fresh.ping_counter;
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec::Vec;

    use dots_codec::coap::{Code, ContentFormat, OptionList};

    use super::super::{ClientEndpoint, Event, Request, Response};
    use super::*;

    type Server = Endpoint<1, 2, 1, 512, 2048, 1024>;

    /// A client exchange with `server`: a CON GET answered with a 1500-byte body (Block2),
    /// an Observe registration, a NON PUT. Returns every datagram both sides sent and every
    /// deadline seen, to compare two servers byte for byte.
    fn script(server: &mut Server, seed: u64) -> Vec<Vec<u8>> {
        let mut client = ClientEndpoint::new(Config::udp(), seed);
        let mut trace = Vec::new();
        let mut buf = [0u8; 1500];
        let body: Vec<u8> = (0..1500u32).map(|i| i as u8).collect();
        let mut now = Instant::from_millis(1_000);
        let mut opts = OptionList::<32>::new();
        opts.set_uri_path("/.well-known/dots/mitigate").unwrap();
        opts.set_content_format(ContentFormat::DOTS_CBOR).unwrap();
        let _ = client
            .request(now, Request::con(Code::GET).options(opts.as_options()))
            .unwrap();
        let _ = client
            .request(
                now,
                Request::non(Code::GET).options(opts.as_options()).observe(),
            )
            .unwrap();
        for _ in 0..40 {
            while let Some(t) = client.poll_transmit(now, &mut buf).unwrap() {
                trace.push(buf[..t.len].to_vec());
                server.handle_datagram(now, &buf[..t.len]);
            }
            let mut ids = Vec::new();
            while let Some(ev) = server.poll_event() {
                if let Event::Request { id, .. } = ev {
                    ids.push(id);
                }
            }
            for id in ids {
                let _ = server.respond(now, id, Response::new(Code::CONTENT).payload(&body));
            }
            while let Some(t) = server.poll_transmit(now, &mut buf).unwrap() {
                trace.push(buf[..t.len].to_vec());
                client.handle_datagram(now, &buf[..t.len]);
            }
            while client.poll_event().is_some() {}
            let next = [client.poll_timeout(), server.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            trace.push(
                next.map_or(u64::MAX, Instant::as_millis)
                    .to_be_bytes()
                    .to_vec(),
            );
            match next {
                Some(t) => now = t,
                None => break,
            }
            client.handle_timeout(now);
            server.handle_timeout(now);
        }
        trace.push(std::format!("{:?}", server.stats()).into_bytes());
        trace
    }

    #[test]
    fn reset_equals_new() {
        let mut fresh = Server::new(Config::udp(), 42);
        let expected = script(&mut fresh, 7);
        assert!(expected.len() > 10);
        // A used endpoint (another peer, other seeds, TCP config), reset, behaves the same.
        let mut used = Server::new(Config::tcp(), 9);
        let _ = script(&mut used, 3);
        let mut used2 = Server::new(Config::udp(), 5);
        let _ = script(&mut used2, 11);
        used2.reset(Config::udp(), 42);
        assert_eq!(script(&mut used2, 7), expected);
        used.reset(Config::udp(), 42);
        assert_eq!(script(&mut used, 7), expected);
    }

    #[test]
    fn reset_over_tcp_sends_the_csm_first() {
        let mut ep = Server::new(Config::udp(), 1);
        ep.reset(Config::tcp(), 1);
        let mut buf = [0u8; 64];
        let t = ep.poll_transmit(Instant::ZERO, &mut buf).unwrap().unwrap();
        let f = dots_codec::coap::Frame::parse(&buf[..t.len]).unwrap();
        assert_eq!(f.code(), Code::CSM);
        assert!(!ep.is_quiescent());
    }

    #[test]
    fn sequences_carry_over_and_quiescence() {
        let mut server = Server::new(Config::udp(), 1);
        assert!(server.is_quiescent());
        server.set_next_message_id(0xfffe);
        server.set_observe_sequence(0x0100_0005);
        assert_eq!(server.observe_sequence(), 5);
        let mut client = ClientEndpoint::new(Config::udp(), 2);
        let now = Instant::from_millis(10);
        let mut opts = OptionList::<32>::new();
        opts.set_uri_path("/a").unwrap();
        let _ = client
            .request(
                now,
                Request::non(Code::GET).options(opts.as_options()).observe(),
            )
            .unwrap();
        let mut buf = [0u8; 256];
        let t = client.poll_transmit(now, &mut buf).unwrap().unwrap();
        server.handle_datagram(now, &buf[..t.len]);
        assert!(!server.is_quiescent(), "an event is waiting");
        let Some(Event::Request { id, .. }) = server.poll_event() else {
            panic!("request");
        };
        assert!(server.poll_event().is_none());
        let obs = server
            .respond(now, id, Response::new(Code::CONTENT))
            .unwrap();
        assert!(!server.is_quiescent(), "a response and an observer");
        server.forget_observer(obs.unwrap()).unwrap();
        assert_eq!(server.observe_sequence(), 6);
        let t = server.poll_transmit(now, &mut buf).unwrap().unwrap();
        let m = dots_codec::coap::Message::parse(&buf[..t.len]).unwrap();
        assert_eq!(m.message_id(), 0xfffe, "NON response takes the next ID");
        assert_eq!(m.options().observe().unwrap(), Some(6));
        assert_eq!(server.next_message_id(), 0xffff);
        assert!(
            server.is_quiescent(),
            "only the deduplication record is left"
        );
        assert!(server.poll_timeout().is_some());
    }
}
