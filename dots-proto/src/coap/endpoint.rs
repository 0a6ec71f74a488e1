//! The [`Endpoint`] type: its state, the poll functions and the dispatch of received messages.

use core::time::Duration;

use dots_codec::coap::{
    signal, BufferTooSmall, Code, HopLimit, Message, MessageType, OptionNumber, Rejection, Token,
};

use super::block::{RxBody, TxBody};
use super::event::{CommandError, Event, FailReason, Incoming, ObserveEnd, ObserveRequest, Stats};
use super::params::TransmissionParameters;
use super::tcp::TcpState;
use super::timer::{Global, TimerTable};
use super::{Config, Transport, EVENT_QUEUE_CAPACITY};
use crate::rng::Rng;
use crate::time::Instant;

/// One datagram (or frame) written by [`Endpoint::poll_transmit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Transmit {
    /// Bytes written at the start of the caller's buffer.
    pub len: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OutState {
    Free,
    /// Waiting for NSTART or PROBING_RATE.
    Queued,
    /// Sent; waiting for an ACK and/or a response.
    Sent,
    /// A CON acknowledged by an empty ACK: waiting for the separate response.
    Acked,
    /// An Observe relation in place: notifications arrive.
    Observing,
    /// Receiving a block-wise body for it (follow-ups driven by the body timers).
    Receiving,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OutKind {
    Request,
    /// A notification for the observer with this id.
    Notification(u32),
}

/// A message this endpoint originates: a request, or a notification.
#[derive(Clone, Debug)]
pub(crate) struct OutSlot<const MSG: usize> {
    pub(crate) id: u32,
    pub(crate) kind: OutKind,
    pub(crate) state: OutState,
    pub(crate) con: bool,
    pub(crate) expect_response: bool,
    pub(crate) token: Token,
    pub(crate) mid: u16,
    pub(crate) bytes: heapless::Vec<u8, MSG>,
    pub(crate) tx_pending: bool,
    pub(crate) tx_order: u32,
    pub(crate) queue_order: u32,
    pub(crate) retransmits: u8,
    pub(crate) retransmit_limit: u8,
    pub(crate) timeout: Duration,
    pub(crate) next_retransmit: Option<Instant>,
    pub(crate) give_up_at: Option<Instant>,
    pub(crate) response_timeout: Option<Duration>,
    pub(crate) first_sent: Option<Instant>,
    pub(crate) observe: bool,
    pub(crate) obs_last: Option<(u32, Instant)>,
    pub(crate) deregistering: bool,
    pub(crate) q_block2: bool,
    /// Neither waits for nor counts towards NSTART.
    pub(crate) nstart_exempt: bool,
    /// Not paced by PROBING_RATE.
    pub(crate) probing_exempt: bool,
}

impl<const MSG: usize> OutSlot<MSG> {
    const EMPTY_HEAD: OutSlot<0> = OutSlot::<0>::new();

    /// Back to free, field by field (the message storage is only truncated, not copied).
    pub(crate) fn reset(&mut self) {
        // Field by field: moving the inline message storage would copy `MSG` bytes.
        let e = Self::EMPTY_HEAD;
        self.id = e.id;
        self.kind = e.kind;
        self.state = e.state;
        self.con = e.con;
        self.expect_response = e.expect_response;
        self.token = e.token;
        self.mid = e.mid;
        self.bytes.clear();
        self.tx_pending = e.tx_pending;
        self.tx_order = e.tx_order;
        self.queue_order = e.queue_order;
        self.retransmits = e.retransmits;
        self.retransmit_limit = e.retransmit_limit;
        self.timeout = e.timeout;
        self.next_retransmit = e.next_retransmit;
        self.give_up_at = e.give_up_at;
        self.response_timeout = e.response_timeout;
        self.first_sent = e.first_sent;
        self.observe = e.observe;
        self.obs_last = e.obs_last;
        self.deregistering = e.deregistering;
        self.q_block2 = e.q_block2;
        self.nstart_exempt = e.nstart_exempt;
        self.probing_exempt = e.probing_exempt;
    }

    pub(crate) const fn new() -> Self {
        OutSlot {
            id: 0,
            kind: OutKind::Request,
            state: OutState::Free,
            con: false,
            expect_response: false,
            token: Token::EMPTY,
            mid: 0,
            bytes: heapless::Vec::new(),
            tx_pending: false,
            tx_order: 0,
            queue_order: 0,
            retransmits: 0,
            retransmit_limit: 0,
            timeout: Duration::ZERO,
            next_retransmit: None,
            give_up_at: None,
            response_timeout: None,
            first_sent: None,
            observe: false,
            obs_last: None,
            deregistering: false,
            q_block2: false,
            nstart_exempt: false,
            probing_exempt: false,
        }
    }

    /// Counts towards NSTART (RFC 7252 §4.7): a CON not yet acknowledged, or a request whose
    /// response is still expected and neither ACK nor response arrived (unless exempt).
    pub(crate) fn is_outstanding(&self) -> bool {
        self.kind == OutKind::Request
            && self.state == OutState::Sent
            && (self.con || self.expect_response)
            && !self.nstart_exempt
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum InState {
    Free,
    /// Delivered to the session, not answered yet.
    Awaiting,
    /// Acknowledged by an empty ACK; the answer will go separately.
    Deferred,
    /// Answered; the response is cached for duplicates.
    Answered,
    /// A separate CON response waits for its ACK.
    SeparateSent,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum InKind {
    Request,
    /// A CON response (or notification) this endpoint acknowledged.
    Response,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum InTx {
    None,
    Response,
}

/// A message received from the peer: for deduplication, the answer and its cache.
#[derive(Clone, Debug)]
pub(crate) struct InRecord<const MSG: usize> {
    pub(crate) id: u32,
    pub(crate) kind: InKind,
    pub(crate) state: InState,
    pub(crate) con: bool,
    pub(crate) mid: u16,
    pub(crate) token: Token,
    pub(crate) response: heapless::Vec<u8, MSG>,
    pub(crate) tx: InTx,
    pub(crate) tx_order: u32,
    pub(crate) expires: Instant,
    pub(crate) ack_at: Option<Instant>,
    pub(crate) retransmit_at: Option<Instant>,
    pub(crate) retransmits: u8,
    pub(crate) timeout: Duration,
    pub(crate) observe: Option<ObserveRequest>,
    pub(crate) req_block2: Option<dots_codec::coap::Block>,
    pub(crate) req_q_block2: bool,
    pub(crate) resource: u64,
    pub(crate) observer: u32,
}

impl<const MSG: usize> InRecord<MSG> {
    const EMPTY_HEAD: InRecord<0> = InRecord::<0>::new();

    pub(crate) const fn new() -> Self {
        InRecord {
            id: 0,
            kind: InKind::Request,
            state: InState::Free,
            con: false,
            mid: 0,
            token: Token::EMPTY,
            response: heapless::Vec::new(),
            tx: InTx::None,
            tx_order: 0,
            expires: Instant::ZERO,
            ack_at: None,
            retransmit_at: None,
            retransmits: 0,
            timeout: Duration::ZERO,
            observe: None,
            req_block2: None,
            req_q_block2: false,
            resource: 0,
            observer: 0,
        }
    }

    /// Back to free, field by field (the response storage is only truncated, not copied).
    pub(crate) fn reset(&mut self) {
        // Field by field: moving the inline response storage would copy `MSG` bytes.
        let e = Self::EMPTY_HEAD;
        self.id = e.id;
        self.kind = e.kind;
        self.state = e.state;
        self.con = e.con;
        self.mid = e.mid;
        self.token = e.token;
        self.response.clear();
        self.tx = e.tx;
        self.tx_order = e.tx_order;
        self.expires = e.expires;
        self.ack_at = e.ack_at;
        self.retransmit_at = e.retransmit_at;
        self.retransmits = e.retransmits;
        self.timeout = e.timeout;
        self.observe = e.observe;
        self.req_block2 = e.req_block2;
        self.req_q_block2 = e.req_q_block2;
        self.resource = e.resource;
        self.observer = e.observer;
    }

    pub(crate) fn deadline(&self) -> Option<Instant> {
        let expires = match self.state {
            InState::Free => return None,
            // Kept until acknowledged or given up, whatever the expiry.
            InState::SeparateSent => None,
            _ if self.tx != InTx::None => None,
            _ => Some(self.expires),
        };
        let retransmit = if self.state == InState::SeparateSent {
            self.retransmit_at
        } else {
            None
        };
        let ack = if self.state == InState::Awaiting {
            self.ack_at
        } else {
            None
        };
        min_opt(min_opt(expires, ack), retransmit)
    }
}

/// The earlier of two optional deadlines.
#[inline]
pub(crate) fn min_opt(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// An observer registered here (server side of RFC 7641).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Observer {
    pub(crate) id: u32,
    pub(crate) token: Token,
    pub(crate) resource: u64,
    /// Message IDs of the latest NON notifications, to recognise a Reset of one.
    pub(crate) recent_mids: [Option<u16>; 4],
    pub(crate) next_recent: usize,
}

impl Observer {
    pub(crate) const fn new() -> Observer {
        Observer {
            id: 0,
            token: Token::EMPTY,
            resource: 0,
            recent_mids: [None; 4],
            next_recent: 0,
        }
    }
}

/// Empty messages and signals waiting for transmission.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Control {
    Reset(u16),
    EmptyAck(u16),
    Csm,
    Ping(Token),
    Pong(Token),
    Release(Option<u32>),
    Abort(Option<OptionNumber>, &'static str),
}

pub(crate) const CONTROL_CAPACITY: usize = 8;

#[derive(Clone, Copy, Debug)]
pub(crate) enum EvKind {
    Request {
        id: u32,
        observe: Option<ObserveRequest>,
        hop_limit: Option<HopLimit>,
        body: bool,
    },
    Response {
        request: u32,
        observe: Option<u32>,
        body: bool,
    },
    Notification {
        request: u32,
        sequence: u32,
    },
    ObserveCancelled {
        request: u32,
        reason: ObserveEnd,
    },
    RequestFailed {
        request: u32,
        reason: FailReason,
    },
    ObserverRemoved {
        observer: u32,
        reason: ObserveEnd,
    },
    PeerReset {
        message_id: u16,
    },
    Csm {
        max_message_size: u32,
        block_wise_transfer: bool,
    },
    Pong {
        token: Token,
    },
    PingTimedOut,
    Released {
        hold_off: Option<u32>,
    },
    Aborted {
        by_peer: bool,
        diagnostic: &'static str,
    },
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct EvRec {
    pub(crate) kind: EvKind,
    /// Bytes of the message (UDP format) in the inbox.
    pub(crate) span: Option<(usize, usize)>,
}

/// A sans-IO CoAP endpoint talking to one peer, over UDP/DTLS or TCP/TLS.
///
/// It sends requests and answers the peer's, so it serves both DOTS roles: a client session
/// sends mitigation requests and heartbeats and receives the server's heartbeats and
/// notifications; a server session does the reverse.
///
/// # Capacities
///
/// Memory is fixed by the const parameters (no allocation anywhere):
///
/// | parameter | what | [`ClientEndpoint`](super::ClientEndpoint) | [`ServerEndpoint`](super::ServerEndpoint) |
/// |---|---|---|---|
/// | `OUT` | requests in flight, queued or observing, and CON/pending notifications | 8 | 2 |
/// | `IN` | received messages remembered for deduplication, with cached responses | 4 | 4 |
/// | `OBS` | observers of resources here | 2 | 4 |
/// | `MSG` | bytes of one stored message; also our Max-Message-Size over TCP | 1152 | 1152 |
/// | `BODY` | bytes of the one body sent and the one body received block-wise | 8192 | 4096 |
/// | `INBOX` | bytes of received messages held until [`poll_event`](Self::poll_event) hands them out | 2560 | 1280 |
///
/// `size_of::<ClientEndpoint>()` is about 38 KiB and `size_of::<ServerEndpoint>()` about
/// 21 KiB; most of it is `(OUT + IN + 1) * MSG + 2 * BODY + INBOX` (the extra `MSG` is the
/// TCP stream decoder). When a table is full, the
/// endpoint drops what would need a new entry (a retransmitting peer tries again), evicts the
/// oldest answered record, or returns [`CommandError::QueueFull`], and counts it in [`Stats`].
///
/// # Driving it
///
/// After creating it (and after every call that takes `now`):
///
/// 1. Feed what arrives: [`handle_datagram`](Self::handle_datagram) (UDP/DTLS) or
///    [`handle_stream_bytes`](Self::handle_stream_bytes) (TCP/TLS, pieces of any size).
/// 2. Drain [`poll_event`](Self::poll_event) and act on the events (answer requests with
///    [`respond`](Self::respond), now or later). Each event borrows the endpoint until the next
///    `poll_event`.
/// 3. Drain [`poll_transmit`](Self::poll_transmit) into the socket (a `BufferTooSmall` error
///    leaves the message queued).
/// 4. Sleep until [`poll_timeout`](Self::poll_timeout) or the next input, whichever is first;
///    at the deadline call [`handle_timeout`](Self::handle_timeout), and go to 2.
///
/// Commands ([`request`](Self::request), [`respond`](Self::respond), [`notify`](Self::notify),
/// [`set_parameters`](Self::set_parameters), ...) can be issued at any point; they queue
/// datagrams for `poll_transmit`.
///
/// The loop written out, with a client and a server and a "network" that delivers every
/// datagram 5 ms after it left:
///
/// ```
/// use std::collections::VecDeque;
/// use std::time::Duration;
/// use dots_codec::coap::Code;
/// use dots_proto::coap::{ClientEndpoint, Config, Event, Request, Response, ServerEndpoint};
/// use dots_proto::time::Instant;
///
/// let mut client = ClientEndpoint::new(Config::udp(), 7);
/// let mut server = ServerEndpoint::new(Config::udp(), 8);
/// let (mut to_server, mut to_client) = (VecDeque::new(), VecDeque::new());
/// let mut now = Instant::ZERO;
/// let heartbeat = client.request(now, Request::non(Code::PUT).non_retransmit(0))?;
/// let mut buf = [0u8; 1280];
/// let mut answered = false;
/// loop {
///     // 1. Feed what arrived by now.
///     while to_server.front().is_some_and(|(at, _): &(Instant, Vec<u8>)| *at <= now) {
///         let (_, d) = to_server.pop_front().expect("checked");
///         server.handle_datagram(now, &d);
///     }
///     while to_client.front().is_some_and(|(at, _): &(Instant, Vec<u8>)| *at <= now) {
///         let (_, d) = to_client.pop_front().expect("checked");
///         client.handle_datagram(now, &d);
///     }
///     // 2. Drain the events.
///     while let Some(event) = server.poll_event() {
///         if let Event::Request { id, .. } = event {
///             server.respond(now, id, Response::new(Code::CHANGED))?;
///         }
///     }
///     while let Some(event) = client.poll_event() {
///         if let Event::Response { request, response, .. } = event {
///             answered = request == heartbeat && response.code == Code::CHANGED;
///         }
///     }
///     // 3. Drain the datagrams.
///     let arrival = now + Duration::from_millis(5);
///     while let Some(t) = client.poll_transmit(now, &mut buf)? {
///         to_server.push_back((arrival, buf[..t.len].to_vec()));
///     }
///     while let Some(t) = server.poll_transmit(now, &mut buf)? {
///         to_client.push_back((arrival, buf[..t.len].to_vec()));
///     }
///     // 4. Sleep until the next deadline or arrival, then fire the timers.
///     let arrivals = [to_server.front(), to_client.front()].into_iter().flatten();
///     let next = [client.poll_timeout(), server.poll_timeout()]
///         .into_iter()
///         .flatten()
///         .chain(arrivals.map(|(at, _)| *at))
///         .min();
///     match next {
///         Some(t) => {
///             now = t;
///             client.handle_timeout(now);
///             server.handle_timeout(now);
///         }
///         None => break, // nothing left to do
///     }
/// }
/// assert!(answered);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Time
///
/// `now` is the caller's monotonic clock ([`Instant`]). Time never goes backwards: a `now`
/// earlier than one already seen is treated as that latest one. Every input first fires the
/// timers due at `now`, so after any call [`poll_timeout`](Self::poll_timeout) is `None` or not
/// earlier than the latest `now`. Calling [`handle_timeout`](Self::handle_timeout) early or
/// twice is harmless.
///
/// # Errors and failures
///
/// Peer noise (malformed, duplicate, unmatched messages) is dropped or answered as RFC 7252
/// says and counted in [`stats`](Self::stats); misuse of a command is a [`CommandError`];
/// a request that cannot complete ends with [`Event::RequestFailed`].
pub struct Endpoint<
    const OUT: usize = 8,
    const IN: usize = 4,
    const OBS: usize = 2,
    const MSG: usize = 1152,
    const BODY: usize = 8192,
    const INBOX: usize = 2560,
> {
    pub(crate) config: Config,
    pub(crate) params: TransmissionParameters,
    pub(crate) rng: Rng,
    pub(crate) now: Instant,
    pub(crate) next_mid: u16,
    pub(crate) next_id: u32,
    pub(crate) order: u32,
    pub(crate) obs_seq: u32,
    pub(crate) etag: u64,
    pub(crate) timers: TimerTable<OUT, IN>,
    pub(crate) out: [OutSlot<MSG>; OUT],
    pub(crate) inb: [InRecord<MSG>; IN],
    pub(crate) observers: [Observer; OBS],
    pub(crate) control: heapless::Deque<Control, CONTROL_CAPACITY>,
    pub(crate) events: heapless::Deque<EvRec, EVENT_QUEUE_CAPACITY>,
    pub(crate) inbox: heapless::Vec<u8, INBOX>,
    pub(crate) inbox_start: usize,
    pub(crate) returned_body: bool,
    pub(crate) rx: RxBody<BODY>,
    pub(crate) tx: TxBody<BODY>,
    /// No message arrived from the peer since a timeout fired: PROBING_RATE applies.
    pub(crate) unresponsive: bool,
    pub(crate) pacing_next: Instant,
    pub(crate) last_rx: Option<Instant>,
    /// EXCHANGE_LIFETIME and NON_LIFETIME of the parameters in force.
    pub(crate) exchange_lifetime: Duration,
    pub(crate) non_lifetime: Duration,
    pub(crate) tcp: TcpState<MSG>,
    pub(crate) stats: Stats,
}

impl<
        const OUT: usize,
        const IN: usize,
        const OBS: usize,
        const MSG: usize,
        const BODY: usize,
        const INBOX: usize,
    > core::fmt::Debug for Endpoint<OUT, IN, OBS, MSG, BODY, INBOX>
{
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Endpoint")
            .field("transport", &self.config.transport)
            .field("now", &self.now)
            .field("outstanding", &self.outstanding())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl<
        const OUT: usize,
        const IN: usize,
        const OBS: usize,
        const MSG: usize,
        const BODY: usize,
        const INBOX: usize,
    > Endpoint<OUT, IN, OBS, MSG, BODY, INBOX>
{
    /// A new endpoint. `seed` seeds the generator of message IDs, tokens, ETags and jitter:
    /// take it from a real entropy source (RFC 7252 §5.3.1 wants tokens that are not trivially
    /// guessable), or fix it in tests. Invalid transmission parameters in `config` are replaced
    /// by the DOTS defaults. Over TCP the CSM (RFC 8323 §5.3) is the first thing
    /// [`poll_transmit`](Self::poll_transmit) returns.
    #[must_use]
    pub fn new(config: Config, seed: u64) -> Self {
        let mut rng = Rng::from_seed(seed);
        let next_mid = rng.next_u16();
        let obs_seq = rng.next_u32() & 0xffff;
        let etag = rng.next_u64();
        let params = if config.params.validate().is_ok() {
            config.params
        } else {
            TransmissionParameters::DOTS
        };
        let mut ep = Endpoint {
            config,
            params,
            rng,
            now: Instant::ZERO,
            next_mid,
            next_id: 1,
            order: 0,
            obs_seq,
            etag,
            timers: TimerTable::new(),
            out: core::array::from_fn(|_| OutSlot::new()),
            inb: core::array::from_fn(|_| InRecord::new()),
            observers: [Observer::new(); OBS],
            control: heapless::Deque::new(),
            events: heapless::Deque::new(),
            inbox: heapless::Vec::new(),
            inbox_start: 0,
            returned_body: false,
            rx: RxBody::new(),
            tx: TxBody::new(),
            unresponsive: false,
            pacing_next: Instant::ZERO,
            last_rx: None,
            exchange_lifetime: params.exchange_lifetime(),
            non_lifetime: params.non_lifetime(),
            tcp: TcpState::new(),
            stats: Stats::default(),
        };
        if ep.is_tcp() {
            let _ = ep.control.push_back(Control::Csm);
        }
        ep
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The transmission parameters in force.
    #[must_use]
    pub fn parameters(&self) -> &TransmissionParameters {
        &self.params
    }

    /// Switches the transmission parameters (e.g. between the DOTS idle and mitigating sets,
    /// RFC 9132 §4.5). They apply to every transmission and timeout computed from now on;
    /// deadlines already armed stay as they are.
    ///
    /// # Errors
    /// [`CommandError::Parameters`]; the parameters in force are unchanged.
    pub fn set_parameters(&mut self, params: TransmissionParameters) -> Result<(), CommandError> {
        params.validate()?;
        self.params = params;
        self.exchange_lifetime = params.exchange_lifetime();
        self.non_lifetime = params.non_lifetime();
        Ok(())
    }

    /// The counters.
    #[must_use]
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The latest `now` seen.
    #[must_use]
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Interactions outstanding (counted against NSTART).
    #[must_use]
    pub fn outstanding(&self) -> usize {
        self.out.iter().filter(|s| s.is_outstanding()).count()
    }

    /// Requests waiting for NSTART or PROBING_RATE.
    #[must_use]
    pub fn queued(&self) -> usize {
        self.out
            .iter()
            .filter(|s| s.state == OutState::Queued)
            .count()
    }

    /// Outgoing slots in use (in flight, queued, observing, notifications), at most `OUT`.
    #[must_use]
    pub fn slots_in_use(&self) -> usize {
        self.out
            .iter()
            .filter(|s| s.state != OutState::Free)
            .count()
    }

    /// Inbound records in use, at most `IN`.
    #[must_use]
    pub fn records_in_use(&self) -> usize {
        self.inb.iter().filter(|r| r.state != InState::Free).count()
    }

    /// Observers registered here, at most `OBS`.
    #[must_use]
    pub fn observers(&self) -> usize {
        self.observers.iter().filter(|o| o.id != 0).count()
    }

    /// Events waiting for [`poll_event`](Self::poll_event).
    #[must_use]
    pub fn pending_events(&self) -> usize {
        self.events.len()
    }

    /// Whether the peer counts as not responding, so that PROBING_RATE limits new traffic.
    #[must_use]
    pub fn peer_unresponsive(&self) -> bool {
        self.unresponsive
    }

    pub(crate) fn is_tcp(&self) -> bool {
        self.config.transport == Transport::Tcp
    }

    pub(crate) fn new_id(&mut self) -> u32 {
        let id = self.next_id;
        self.next_id = self.next_id.checked_add(1).unwrap_or(1);
        id
    }

    pub(crate) fn new_order(&mut self) -> u32 {
        self.order = self.order.wrapping_add(1);
        self.order
    }

    /// The next message ID (RFC 7252 §4.4: sequential from a random start).
    pub(crate) fn new_mid(&mut self) -> u16 {
        let mid = self.next_mid;
        self.next_mid = self.next_mid.wrapping_add(1);
        mid
    }

    /// A fresh token, different from every token in use.
    pub(crate) fn new_token(&mut self) -> Token {
        let len = usize::from(self.config.token_len.clamp(1, 8));
        loop {
            let mut bytes = [0u8; 8];
            self.rng.fill_bytes(&mut bytes);
            let token = Token::new(bytes.get(..len).unwrap_or(&bytes)).unwrap_or_default();
            let in_use = self
                .out
                .iter()
                .any(|s| s.state != OutState::Free && s.token == token);
            if !in_use {
                return token;
            }
        }
    }

    /// A duration uniformly random in `[base, base * ACK_RANDOM_FACTOR]`, in milliseconds.
    pub(crate) fn jitter(&mut self, base: Duration) -> Duration {
        let low = u64::try_from(base.as_millis()).unwrap_or(u64::MAX);
        let high = u64::try_from(self.params.ack_random_factor.scale(base).as_millis())
            .unwrap_or(u64::MAX);
        Duration::from_millis(self.rng.in_range(low, high))
    }

    /// Clamps `now` to the latest time seen and fires the timers due.
    pub(crate) fn advance(&mut self, now: Instant) -> Instant {
        let now = now.max(self.now);
        self.now = now;
        // Handlers arm timers strictly after `now`; a few passes settle any cascade.
        for _ in 0..4 {
            if self.timers.next().is_none_or(|t| t > now) {
                break;
            }
            self.fire_timers(now);
        }
        now
    }

    fn fire_timers(&mut self, now: Instant) {
        // A handler never leaves its timer due (it would fire again at once); the checks after
        // each call keep it that way should a state combination slip through.
        for i in 0..OUT {
            if TimerTable::<OUT, IN>::due(self.timers.out(i), now) {
                self.timers.set_out(i, None);
                self.on_out_timer(i, now);
                if TimerTable::<OUT, IN>::due(self.timers.out(i), now) {
                    self.timers.set_out(i, None);
                }
            }
        }
        for i in 0..IN {
            if TimerTable::<OUT, IN>::due(self.timers.inbound(i), now) {
                self.timers.set_inbound(i, None);
                self.on_in_timer(i, now);
                if TimerTable::<OUT, IN>::due(self.timers.inbound(i), now) {
                    self.timers.set_inbound(i, None);
                }
            }
        }
        for g in Global::ALL {
            if TimerTable::<OUT, IN>::due(self.timers.global(g), now) {
                self.timers.set_global(g, None);
                match g {
                    Global::Pacing => self.pump_queue(now),
                    Global::TxBody => self.on_tx_body_timer(now),
                    Global::RxBody => self.on_rx_body_timer(now),
                    Global::Keepalive => self.on_keepalive_timer(now),
                }
                if TimerTable::<OUT, IN>::due(self.timers.global(g), now) {
                    self.timers.set_global(g, None);
                }
            }
        }
    }

    /// Fires the timers due at `now`. Calling it early, late or twice is harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.advance(now);
        self.pump_queue(now);
    }

    /// The next deadline: call [`handle_timeout`](Self::handle_timeout) then. Never earlier
    /// than the latest `now` seen.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next().map(|t| t.max(self.now))
    }

    pub(crate) fn push_event(&mut self, kind: EvKind) -> bool {
        let ok = self.events.push_back(EvRec { kind, span: None }).is_ok();
        if !ok {
            self.stats.dropped_no_capacity += 1;
        }
        ok
    }

    /// Stores `bytes` in the inbox for an event; `None` when it does not fit.
    pub(crate) fn stash(&mut self, bytes: &[u8]) -> Option<(usize, usize)> {
        if self.events.is_full() {
            return None;
        }
        if self.events.is_empty() {
            self.inbox.clear();
            self.inbox_start = 0;
        }
        if self.inbox.len() + bytes.len() > INBOX && self.inbox_start > 0 {
            let start = self.inbox_start;
            let len = self.inbox.len();
            self.inbox.copy_within(start..len, 0);
            self.inbox.truncate(len - start);
            self.inbox_start = 0;
            for ev in self.events.iter_mut() {
                if let Some((s, _)) = ev.span.as_mut() {
                    *s = s.saturating_sub(start);
                }
            }
        }
        let at = self.inbox.len();
        self.inbox.extend_from_slice(bytes).ok()?;
        Some((at, bytes.len()))
    }

    pub(crate) fn push_event_with(&mut self, kind: EvKind, bytes: &[u8]) -> bool {
        match self.stash(bytes) {
            Some(span) => {
                let ok = self
                    .events
                    .push_back(EvRec {
                        kind,
                        span: Some(span),
                    })
                    .is_ok();
                if !ok {
                    self.inbox.truncate(span.0);
                    self.stats.dropped_no_capacity += 1;
                }
                ok
            }
            None => {
                self.stats.dropped_no_capacity += 1;
                false
            }
        }
    }

    /// Whether an event with a message can be queued now.
    pub(crate) fn can_stash(&self, len: usize) -> bool {
        !self.events.is_full()
            && (self.events.is_empty() || self.inbox.len() - self.inbox_start + len <= INBOX)
            && len <= INBOX
    }

    /// The next event. It borrows the endpoint (received bytes stay in its inbox) until the
    /// next call.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event<'_>> {
        if self.returned_body {
            self.returned_body = false;
            self.rx.delivered();
        }
        let rec = self.events.pop_front()?;
        if let Some((start, len)) = rec.span {
            self.inbox_start = start + len;
        }
        if self.events.is_empty() && rec.span.is_none() {
            self.inbox.clear();
            self.inbox_start = 0;
        }
        let incoming = rec.span.and_then(|(start, len)| {
            let bytes = self.inbox.get(start..start + len)?;
            let msg = Message::parse(bytes).ok()?;
            Some(Incoming {
                code: msg.code(),
                token: msg.token(),
                ty: if self.config.transport == Transport::Tcp {
                    None
                } else {
                    Some(msg.ty())
                },
                options: msg.options(),
                payload: msg.payload(),
            })
        });
        let ev = match rec.kind {
            EvKind::Request {
                id,
                observe,
                hop_limit,
                body,
            } => {
                let mut request = incoming?;
                if body {
                    self.returned_body = true;
                    request.payload = self.rx.body();
                }
                Event::Request {
                    id: super::InboundId(id),
                    request,
                    observe,
                    hop_limit,
                }
            }
            EvKind::Response {
                request,
                observe,
                body,
            } => {
                let mut response = incoming?;
                if body {
                    self.returned_body = true;
                    response.payload = self.rx.body();
                }
                Event::Response {
                    request: super::RequestId(request),
                    response,
                    observe,
                }
            }
            EvKind::Notification { request, sequence } => Event::Notification {
                request: super::RequestId(request),
                response: incoming?,
                sequence,
            },
            EvKind::ObserveCancelled { request, reason } => Event::ObserveCancelled {
                request: super::RequestId(request),
                reason,
            },
            EvKind::RequestFailed { request, reason } => Event::RequestFailed {
                request: super::RequestId(request),
                reason,
            },
            EvKind::ObserverRemoved { observer, reason } => Event::ObserverRemoved {
                observer: super::ObserverId(observer),
                reason,
            },
            EvKind::PeerReset { message_id } => Event::PeerReset { message_id },
            EvKind::Csm {
                max_message_size,
                block_wise_transfer,
            } => Event::CsmReceived {
                max_message_size,
                block_wise_transfer,
            },
            EvKind::Pong { token } => Event::Pong { token },
            EvKind::PingTimedOut => Event::PingTimedOut,
            EvKind::Released { hold_off } => Event::Released {
                hold_off,
                alternative_address: rec
                    .span
                    .and_then(|(s, l)| self.inbox.get(s..s + l))
                    .and_then(|b| core::str::from_utf8(b).ok()),
            },
            EvKind::Aborted {
                by_peer,
                diagnostic,
            } => {
                let text = rec
                    .span
                    .and_then(|(s, l)| self.inbox.get(s..s + l))
                    .and_then(|b| core::str::from_utf8(b).ok());
                Event::Aborted {
                    by_peer,
                    diagnostic: text.unwrap_or(diagnostic),
                }
            }
        };
        Some(ev)
    }

    pub(crate) fn queue_control(&mut self, c: Control) {
        if self.control.iter().any(|x| *x == c) {
            return;
        }
        if self.control.push_back(c).is_err() {
            self.stats.dropped_no_capacity += 1;
        }
    }

    /// The next datagram (or frame) to send, written at the start of `buf`.
    ///
    /// # Errors
    /// [`BufferTooSmall`] with the size needed; the message stays queued. A buffer of `MSG`
    /// bytes (plus 2 over TCP) is always enough.
    pub fn poll_transmit(
        &mut self,
        now: Instant,
        buf: &mut [u8],
    ) -> Result<Option<Transmit>, BufferTooSmall> {
        let now = self.advance(now);
        let written = self.transmit_next(now, buf)?;
        if let Some(len) = written {
            self.stats.transmitted += 1;
            self.stats.transmitted_bytes += len as u64;
        }
        Ok(written.map(|len| Transmit { len }))
    }

    /// Writes a stored UDP-format message for the transport in use.
    pub(crate) fn write_out(&self, msg: &[u8], buf: &mut [u8]) -> Result<usize, BufferTooSmall> {
        if self.is_tcp() {
            super::wire::udp_to_tcp(msg, buf)
        } else {
            let out = buf
                .get_mut(..msg.len())
                .ok_or(BufferTooSmall { needed: msg.len() })?;
            out.copy_from_slice(msg);
            Ok(msg.len())
        }
    }

    fn transmit_next(
        &mut self,
        now: Instant,
        buf: &mut [u8],
    ) -> Result<Option<usize>, BufferTooSmall> {
        if self.is_tcp() && self.tcp.closed_by_us_sent {
            return Ok(None);
        }
        if let Some(&c) = self.control.front() {
            let len = self.write_control(c, buf)?;
            let _ = self.control.pop_front();
            self.after_control(c, now);
            return Ok(Some(len));
        }
        if self.is_tcp() && (self.tcp.closed || !self.tcp.csm_sent) {
            return Ok(None);
        }
        // Responses first (they complete the peer's exchanges), then our own messages in the
        // order they became ready, then block-wise bursts.
        let mut best: Option<(bool, usize, u32)> = None;
        for (i, r) in self.inb.iter().enumerate() {
            if r.tx != InTx::None && best.is_none_or(|b| r.tx_order < b.2) {
                best = Some((true, i, r.tx_order));
            }
        }
        if best.is_none() {
            for (i, s) in self.out.iter().enumerate() {
                if s.tx_pending && best.is_none_or(|b| s.tx_order < b.2) {
                    best = Some((false, i, s.tx_order));
                }
            }
        }
        match best {
            Some((true, i, _)) => self.transmit_inbound(i, now, buf).map(Some),
            Some((false, i, _)) => self.transmit_out(i, now, buf).map(Some),
            None => self.transmit_body_block(now, buf),
        }
    }

    fn write_control(&self, c: Control, buf: &mut [u8]) -> Result<usize, BufferTooSmall> {
        use dots_codec::coap::{FrameRepr, MessageRepr};
        match c {
            Control::Reset(mid) => MessageRepr::<0, 0>::reset(mid).emit(buf),
            Control::EmptyAck(mid) => MessageRepr::<0, 0>::empty_ack(mid).emit(buf),
            Control::Csm => {
                let block_wise = MSG <= signal::BASE_MAX_MESSAGE_SIZE as usize;
                let size = u32::try_from(MSG).unwrap_or(u32::MAX);
                match FrameRepr::<16, 0>::csm(Some(size), block_wise) {
                    Ok(f) => f.emit(buf),
                    Err(_) => Ok(0),
                }
            }
            Control::Ping(token) => match FrameRepr::<4, 0>::ping(token, false) {
                Ok(f) => f.emit(buf),
                Err(_) => Ok(0),
            },
            Control::Pong(token) => FrameRepr::<4, 0>::new(Code::PONG, token).emit(buf),
            Control::Release(hold_off) => match FrameRepr::<16, 64>::release(None, hold_off, "") {
                Ok(f) => f.emit(buf),
                Err(_) => Ok(0),
            },
            Control::Abort(bad, diag) => match FrameRepr::<16, 128>::abort(bad, diag) {
                Ok(f) => f.emit(buf),
                Err(_) => Ok(0),
            },
        }
    }

    fn after_control(&mut self, c: Control, _now: Instant) {
        match c {
            Control::Reset(_) => self.stats.resets_sent += 1,
            Control::EmptyAck(_) => self.stats.empty_acks_sent += 1,
            Control::Csm => self.tcp.csm_sent = true,
            Control::Abort(..) => self.tcp.closed_by_us_sent = true,
            _ => {}
        }
    }

    /// Reads one datagram from the peer (CoAP over UDP/DTLS).
    ///
    /// Malformed datagrams are dropped, or rejected with a Reset when they are CON
    /// (RFC 7252 §4.2); duplicates are answered from the cache (§4.5). On a TCP endpoint the
    /// datagram is ignored (counted as malformed).
    pub fn handle_datagram(&mut self, now: Instant, datagram: &[u8]) {
        let now = self.advance(now);
        self.stats.received += 1;
        if self.is_tcp() {
            self.stats.malformed += 1;
            return;
        }
        let msg = match Message::parse(datagram) {
            Ok(m) => m,
            Err(e) => {
                self.stats.malformed += 1;
                if let Rejection::Reset { message_id } = e.rejection() {
                    self.queue_control(Control::Reset(message_id));
                }
                return;
            }
        };
        self.heard_from_peer(now);
        self.dispatch(now, &msg);
        self.pump_queue(now);
    }

    pub(crate) fn heard_from_peer(&mut self, now: Instant) {
        self.last_rx = Some(now);
        if self.unresponsive {
            self.unresponsive = false;
            self.timers.set_global(Global::Pacing, None);
        }
    }

    /// Handles one well-formed message (UDP, or a TCP frame in UDP format).
    pub(crate) fn dispatch(&mut self, now: Instant, msg: &Message<'_>) {
        let code = msg.code();
        let tcp = self.is_tcp();
        match msg.ty() {
            MessageType::Reset if !tcp => self.on_reset(now, msg.message_id()),
            MessageType::Acknowledgement if !tcp => self.on_ack(now, msg),
            _ if code.is_empty() => {
                // A CON Empty message is a "CoAP ping": answer with a Reset (RFC 7252 §4.3).
                if !tcp && msg.ty() == MessageType::Confirmable {
                    self.queue_control(Control::Reset(msg.message_id()));
                }
            }
            _ if code.is_request() => self.on_request(now, msg),
            _ => self.on_response(now, msg),
        }
    }
}
