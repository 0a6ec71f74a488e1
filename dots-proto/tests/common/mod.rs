//! A reusable two-endpoint test harness on a virtual clock.
//!
//! [`Pair`] connects two CoAP endpoints (or any [`Node`], e.g. a DOTS session built on one)
//! through two [`str0m_netem::Netem`] links, one per direction, with seeded loss,
//! duplication, reordering and delay. [`Pair::step`] jumps the clock to the next deadline (an
//! endpoint timer or a packet leaving a link), delivers what is due, and hands every event
//! to the test's callback as an owned [`Ev`] together with the endpoint, so that the test can
//! answer requests. `Netem` uses `std::time::Instant`; the harness maps our millisecond
//! [`Instant`] onto a fixed base instant.
//!
//! Use it from another test file with `mod common;` (the sessions' tests can do the same and
//! implement [`Node`] for their session type).
#![allow(dead_code, unreachable_pub)]

use std::collections::VecDeque;
use std::time::Duration;

use dots_codec::coap::{Code, OptionNumber, Options, Token};
use dots_proto::coap::{
    Endpoint, Event, FailReason, InboundId, ObserveEnd, ObserveRequest, ObserverId, RequestId,
};
use dots_proto::time::Instant;
use str0m_netem::{Input, LossModel, Netem, NetemConfig, Output, Probability, RandomLoss};

/// What the harness needs from an endpoint (or a session wrapping one).
pub trait Node {
    /// Datagram (UDP) or stream bytes (TCP) from the peer.
    fn handle_bytes(&mut self, now: Instant, bytes: &[u8]);
    /// The next datagram or frame.
    fn transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize>;
    /// The next deadline.
    fn next_timeout(&self) -> Option<Instant>;
    /// Fires due timers.
    fn on_timeout(&mut self, now: Instant);
    /// Drains the events as owned values.
    fn drain_events(&mut self, out: &mut Vec<Ev>);
}

/// An owned copy of an [`Event`].
#[derive(Clone, Debug, PartialEq)]
pub enum Ev {
    Request {
        id: InboundId,
        code: Code,
        token: Token,
        options: Vec<u8>,
        payload: Vec<u8>,
        observe: Option<ObserveRequest>,
        hop_limit: Option<u8>,
    },
    Response {
        request: RequestId,
        code: Code,
        payload: Vec<u8>,
        observe: Option<u32>,
        options: Vec<u8>,
    },
    Notification {
        request: RequestId,
        sequence: u32,
        payload: Vec<u8>,
    },
    ObserveCancelled {
        request: RequestId,
        reason: ObserveEnd,
    },
    Failed {
        request: RequestId,
        reason: FailReason,
    },
    ObserverRemoved {
        observer: ObserverId,
        reason: ObserveEnd,
    },
    PeerReset(u16),
    Csm {
        max_message_size: u32,
        block_wise_transfer: bool,
    },
    Pong(Token),
    PingTimedOut,
    Released(Option<u32>, Option<String>),
    Aborted {
        by_peer: bool,
        diagnostic: String,
    },
    Other,
}

impl Ev {
    /// The owned copy of `event`.
    pub fn from_event(event: &Event<'_>) -> Ev {
        match *event {
            Event::Request {
                id,
                request,
                observe,
                hop_limit,
            } => Ev::Request {
                id,
                code: request.code,
                token: request.token,
                options: request.options.as_bytes().to_vec(),
                payload: request.payload.to_vec(),
                observe,
                hop_limit: hop_limit.map(|h| h.get()),
            },
            Event::Response {
                request,
                response,
                observe,
            } => Ev::Response {
                request,
                code: response.code,
                payload: response.payload.to_vec(),
                observe,
                options: response.options.as_bytes().to_vec(),
            },
            Event::Notification {
                request,
                response,
                sequence,
            } => Ev::Notification {
                request,
                sequence,
                payload: response.payload.to_vec(),
            },
            Event::ObserveCancelled { request, reason } => Ev::ObserveCancelled { request, reason },
            Event::RequestFailed { request, reason } => Ev::Failed { request, reason },
            Event::ObserverRemoved { observer, reason } => Ev::ObserverRemoved { observer, reason },
            Event::PeerReset { message_id } => Ev::PeerReset(message_id),
            Event::CsmReceived {
                max_message_size,
                block_wise_transfer,
            } => Ev::Csm {
                max_message_size,
                block_wise_transfer,
            },
            Event::Pong { token } => Ev::Pong(token),
            Event::PingTimedOut => Ev::PingTimedOut,
            Event::Released {
                hold_off,
                alternative_address,
            } => Ev::Released(hold_off, alternative_address.map(str::to_string)),
            Event::Aborted {
                by_peer,
                diagnostic,
            } => Ev::Aborted {
                by_peer,
                diagnostic: diagnostic.to_string(),
            },
            _ => Ev::Other,
        }
    }

    /// Reads the options of a request or response event.
    pub fn options(&self) -> Options<'_> {
        match self {
            Ev::Request { options, .. } | Ev::Response { options, .. } => {
                Options::parse(options).expect("options from a parsed message")
            }
            _ => Options::EMPTY,
        }
    }

    /// The Uri-Path of a request event, joined with `/`.
    pub fn path(&self) -> String {
        let opts = self.options();
        opts.values(OptionNumber::URI_PATH)
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect::<Vec<_>>()
            .join("/")
    }
}

impl<
        const OUT: usize,
        const IN: usize,
        const OBS: usize,
        const MSG: usize,
        const BODY: usize,
        const INBOX: usize,
    > Node for Endpoint<OUT, IN, OBS, MSG, BODY, INBOX>
{
    fn handle_bytes(&mut self, now: Instant, bytes: &[u8]) {
        match self.config().transport {
            dots_proto::coap::Transport::Udp => self.handle_datagram(now, bytes),
            dots_proto::coap::Transport::Tcp => self.handle_stream_bytes(now, bytes),
        }
    }

    fn transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize> {
        self.poll_transmit(now, buf)
            .expect("a 64 KiB buffer is enough")
            .map(|t| t.len)
    }

    fn next_timeout(&self) -> Option<Instant> {
        self.poll_timeout()
    }

    fn on_timeout(&mut self, now: Instant) {
        self.handle_timeout(now);
    }

    fn drain_events(&mut self, out: &mut Vec<Ev>) {
        while let Some(ev) = self.poll_event() {
            out.push(Ev::from_event(&ev));
        }
    }
}

/// Which endpoint of a [`Pair`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// The first endpoint (usually the client).
    A,
    /// The second endpoint (usually the server).
    B,
}

/// A link configuration in the harness's terms.
#[derive(Clone, Copy, Debug)]
pub struct Link {
    /// One-way delay.
    pub latency: Duration,
    /// Random extra delay, 0..jitter.
    pub jitter: Duration,
    /// Loss probability (0..=1).
    pub loss: f32,
    /// Duplication probability.
    pub duplicate: f32,
    /// Every Nth packet skips the delay queue (reordering), if set.
    pub reorder_gap: Option<u32>,
    /// Seed of the link's randomness.
    pub seed: u64,
}

impl Link {
    /// A perfect link with 10 ms of latency.
    pub const fn perfect() -> Link {
        Link {
            latency: Duration::from_millis(10),
            jitter: Duration::ZERO,
            loss: 0.0,
            duplicate: 0.0,
            reorder_gap: None,
            seed: 1,
        }
    }

    /// A lossy link.
    pub fn lossy(loss: f32, seed: u64) -> Link {
        Link {
            loss,
            seed,
            jitter: Duration::from_millis(5),
            ..Link::perfect()
        }
    }

    /// The netem configuration of this link.
    pub fn netem(&self) -> NetemConfig {
        let mut c = NetemConfig::new()
            .latency(self.latency)
            .jitter(self.jitter)
            .seed(self.seed);
        if self.loss > 0.0 {
            c = c.loss(LossModel::from(RandomLoss::new(Probability::new(
                self.loss,
            ))));
        }
        if self.duplicate > 0.0 {
            c = c.duplicate(Probability::new(self.duplicate));
        }
        if let Some(g) = self.reorder_gap {
            c = c.reorder_gap(g);
        }
        c
    }
}

/// A datagram or frame seen on the wire.
#[derive(Clone, Debug)]
pub struct Sent {
    /// When it left its endpoint.
    pub at: Instant,
    /// Who sent it.
    pub from: Side,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// Two nodes, two lossy links, one virtual clock.
pub struct Pair<A: Node, B: Node> {
    /// The first endpoint.
    pub a: A,
    /// The second endpoint.
    pub b: B,
    ab: Netem<Vec<u8>>,
    ba: Netem<Vec<u8>>,
    base: std::time::Instant,
    /// The current virtual time.
    pub now: Instant,
    /// Everything each side sent, in order.
    pub sent: Vec<Sent>,
    /// Events not yet handed to a callback.
    pub pending: VecDeque<(Side, Instant, Ev)>,
    /// Every instant handed to `handle_timeout`, to check none is in the past.
    pub timeouts_fired: Vec<Instant>,
    /// Datagrams delivered: (time, receiver, length).
    pub delivered: Vec<(Instant, Side, usize)>,
    buf: Vec<u8>,
}

impl<A: Node, B: Node> Pair<A, B> {
    /// Connects `a` and `b` with a link per direction.
    pub fn new(a: A, b: B, a_to_b: Link, b_to_a: Link) -> Pair<A, B> {
        Pair {
            a,
            b,
            ab: Netem::new(a_to_b.netem()),
            ba: Netem::new(b_to_a.netem()),
            base: std::time::Instant::now(),
            now: Instant::ZERO,
            sent: Vec::new(),
            pending: VecDeque::new(),
            timeouts_fired: Vec::new(),
            delivered: Vec::new(),
            buf: vec![0; 65_536],
        }
    }

    fn std(&self, t: Instant) -> std::time::Instant {
        self.base + Duration::from_millis(t.as_millis())
    }

    fn ours(&self, t: std::time::Instant) -> Instant {
        let d = t.saturating_duration_since(self.base);
        let ms = d.as_millis() + u128::from(!d.subsec_nanos().is_multiple_of(1_000_000));
        Instant::from_millis(u64::try_from(ms).unwrap_or(u64::MAX))
    }

    /// Moves every pending transmission into the links and every due packet to its peer, until
    /// nothing more happens at the current time; events go to `pending`.
    pub fn flush(&mut self) {
        loop {
            let mut progress = false;
            let now = self.now;
            let std_now = self.std(now);
            while let Some(n) = self.a.transmit(now, &mut self.buf) {
                let bytes = self.buf[..n].to_vec();
                self.sent.push(Sent {
                    at: now,
                    from: Side::A,
                    bytes: bytes.clone(),
                });
                self.ab.handle_input(Input::Packet(std_now, bytes));
                progress = true;
            }
            while let Some(n) = self.b.transmit(now, &mut self.buf) {
                let bytes = self.buf[..n].to_vec();
                self.sent.push(Sent {
                    at: now,
                    from: Side::B,
                    bytes: bytes.clone(),
                });
                self.ba.handle_input(Input::Packet(std_now, bytes));
                progress = true;
            }
            self.ab.handle_input(Input::Timeout(std_now));
            while let Some(out) = self.ab.poll_output() {
                if let Output::Packet(p) = out {
                    self.delivered.push((now, Side::B, p.len()));
                    self.b.handle_bytes(now, &p);
                    progress = true;
                }
            }
            self.ba.handle_input(Input::Timeout(std_now));
            while let Some(out) = self.ba.poll_output() {
                if let Output::Packet(p) = out {
                    self.delivered.push((now, Side::A, p.len()));
                    self.a.handle_bytes(now, &p);
                    progress = true;
                }
            }
            let mut evs = Vec::new();
            self.a.drain_events(&mut evs);
            for e in evs.drain(..) {
                self.pending.push_back((Side::A, now, e));
            }
            self.b.drain_events(&mut evs);
            for e in evs.drain(..) {
                self.pending.push_back((Side::B, now, e));
            }
            if !progress {
                return;
            }
        }
    }

    /// The next instant anything happens.
    pub fn next_deadline(&self) -> Option<Instant> {
        let links = [&self.ab, &self.ba]
            .into_iter()
            .filter(|l| !l.is_empty())
            .map(|l| self.ours(l.poll_timeout()));
        [self.a.next_timeout(), self.b.next_timeout()]
            .into_iter()
            .flatten()
            .chain(links)
            .min()
    }

    /// Advances to the next deadline (no later than `limit`) and processes it. Returns `false`
    /// when nothing is scheduled before `limit`.
    pub fn step(&mut self, limit: Instant) -> bool {
        self.flush();
        let Some(next) = self.next_deadline() else {
            return false;
        };
        if next > limit {
            return false;
        }
        let next = next.max(self.now);
        self.now = next;
        self.timeouts_fired.push(next);
        self.a.on_timeout(next);
        self.b.on_timeout(next);
        self.flush();
        true
    }

    /// Runs until `limit` or until nothing is scheduled, handing each event to `on_event`
    /// with its endpoint. Returns the events it handled, with their side and time.
    pub fn run_until(
        &mut self,
        limit: Instant,
        mut on_event: impl FnMut(Side, &mut dyn AnyNode<A, B>, Instant, &Ev),
    ) -> Vec<(Side, Instant, Ev)> {
        let mut seen = Vec::new();
        loop {
            self.flush();
            while let Some((side, at, ev)) = self.pending.pop_front() {
                on_event(
                    side,
                    &mut Both {
                        a: &mut self.a,
                        b: &mut self.b,
                    },
                    self.now,
                    &ev,
                );
                seen.push((side, at, ev));
                self.flush();
            }
            if !self.step(limit) {
                break;
            }
            if self.pending.is_empty() && self.next_deadline().is_none() {
                break;
            }
        }
        self.now = self.now.max(limit.min(self.now));
        seen
    }

    /// Datagrams sent by `side`.
    pub fn sent_by(&self, side: Side) -> impl Iterator<Item = &Sent> {
        self.sent.iter().filter(move |s| s.from == side)
    }
}

/// Access to both endpoints from an event callback.
pub trait AnyNode<A, B> {
    /// The first endpoint.
    fn a(&mut self) -> &mut A;
    /// The second endpoint.
    fn b(&mut self) -> &mut B;
}

struct Both<'x, A, B> {
    a: &'x mut A,
    b: &'x mut B,
}

impl<A, B> AnyNode<A, B> for Both<'_, A, B> {
    fn a(&mut self) -> &mut A {
        self.a
    }
    fn b(&mut self) -> &mut B {
        self.b
    }
}
