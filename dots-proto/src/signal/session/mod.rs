//! The DOTS signal-channel server session (RFC 9132) for many peers: CoAP (RFC 7252, RFC 8323)
//! in front of the [`SignalServer`] core, heartbeats and the deadman, Observe notifications,
//! and the session parameters of each peer. Sans-IO: the host owns sockets, (D)TLS and time.
//!
//! # What the host does
//!
//! The host authenticates each peer ((D)TLS; the cuid is derived from the credential, see
//! [`cuid`](crate::cuid)) and feeds what arrives with an opaque peer key `P` (its transport
//! handle: a socket address, a DTLS session id, a connection number) and the
//! [`PeerIdentity`]:
//!
//! 1. Inputs: [`handle_datagram`](ServerSession::handle_datagram) (UDP/DTLS) or
//!    [`handle_stream_bytes`](ServerSession::handle_stream_bytes) (TCP/TLS, pieces of any
//!    size); [`peer_closed`](ServerSession::peer_closed) when a transport ends in order,
//!    [`peer_failed`](ServerSession::peer_failed) when it breaks.
//! 2. Drain [`poll_event`](ServerSession::poll_event): the core's events for the mitigator
//!    ([`SessionEvent::Server`]), and the session's own ([`SessionEvent::PeerLost`], ...).
//!    The mitigator reports back with [`set_mitigation_status`](ServerSession::set_mitigation_status).
//! 3. Drain [`poll_transmit`](ServerSession::poll_transmit) into the sockets: each
//!    [`Transmit`] names its peer.
//! 4. Sleep until [`poll_timeout`](ServerSession::poll_timeout) or the next input; at the
//!    deadline call [`handle_timeout`](ServerSession::handle_timeout); go to 2.
//!
//! `now` is the host's monotonic clock ([`Instant`]); an earlier `now` than one already seen
//! counts as that one. Every input first fires what is due at `now`, so
//! [`poll_timeout`](ServerSession::poll_timeout) is never earlier than the latest `now`.
//!
//! ```
//! use dots_codec::coap::{Code, ContentFormat, OptionList};
//! use dots_proto::coap::{ClientEndpoint, Config, Event, Request};
//! use dots_proto::data::PeerIdentity;
//! use dots_proto::signal::server::{ServerConfig, ServerEvent, SignalServer};
//! use dots_proto::signal::session::{ServerSession, SessionConfig, SessionEvent};
//! use dots_proto::time::Instant;
//!
//! let core = SignalServer::new(ServerConfig::default());
//! let mut server = ServerSession::<&str>::new(SessionConfig::default(), core, 1);
//! let mut client = ClientEndpoint::new(Config::udp(), 2);
//! let cuid = "dz6pHjaADkaFTbjr0JGBpw";
//! let identity = PeerIdentity::client(cuid);
//!
//! // The client asks for a mitigation (RFC 9132 Figure 8 body), Non-confirmable.
//! let mut now = Instant::from_secs(1);
//! let mut opts = OptionList::<128>::new();
//! opts.set_uri_path(&format!("/.well-known/dots/mitigate/cuid={cuid}/mid=123"))?
//!     .set_content_format(ContentFormat::DOTS_CBOR)?;
//! let hex = "a101a10281a4068274323030313a6462383a363430313a3a312f31323874323030313a646238\
//!     3a363430313a3a322f3132380783a1081850a1081901bba108191f900a81060e190e10";
//! let body: Vec<u8> = (0..hex.len() / 2)
//!     .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16))
//!     .collect::<Result<_, _>>()?;
//! let put = client.request(now, Request::non(Code::PUT).options(opts.as_options()).payload(&body))?;
//!
//! let mut buf = [0u8; 1500];
//! let mut created = false;
//! let mut requested = false;
//! while now < Instant::from_secs(120) {
//!     // 1. What the client sent arrives (here at once).
//!     while let Some(t) = client.poll_transmit(now, &mut buf)? {
//!         server.handle_datagram(now, "client-1", &identity, &buf[..t.len]);
//!     }
//!     // 2. Events for the mitigator.
//!     while let Some(event) = server.poll_event() {
//!         if let SessionEvent::Server(ServerEvent::MitigationRequested { cuid, mid, .. }) = event {
//!             requested = true;
//!             let ok = dots_codec::model::MitigationStatus::SuccessfullyMitigated;
//!             server.set_mitigation_status(now, &cuid, mid, Some(ok), Default::default())?;
//!         }
//!     }
//!     // 3. Datagrams to the peers (responses, heartbeats, notifications).
//!     while let Some(t) = server.poll_transmit(now, &mut buf)? {
//!         assert_eq!(t.peer, "client-1");
//!         client.handle_datagram(now, &buf[..t.len]);
//!     }
//!     while let Some(event) = client.poll_event() {
//!         if let Event::Response { request, response, .. } = event {
//!             created |= request == put && response.code == Code::CREATED;
//!         }
//!     }
//!     // 4. Sleep until the next deadline (the server's heartbeat every 30 s, ...).
//!     let next = [server.poll_timeout(), client.poll_timeout()].into_iter().flatten().min();
//!     now = next.unwrap_or(Instant::from_secs(120));
//!     server.handle_timeout(now);
//!     client.handle_timeout(now);
//! }
//! assert!(created && requested);
//! assert!(server.stats().heartbeats_sent >= 3);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Requests and responses
//!
//! Each request goes through the peer's CoAP endpoint (deduplication, critical options,
//! Block1/Q-Block1 bodies) to [`SignalServer::handle_request`]; the answer is piggybacked on
//! the ACK of a Confirmable request and sent Non-confirmable for a Non-confirmable request
//! (RFC 9132 Section 4.4.1, RFC 7252 Section 5.2.3). A representation larger than a block goes
//! block-wise (Block2, or Q-Block2 when the request announced it; the core's `BufferTooSmall`
//! is retried with a larger buffer up to [`MAX_BODY_SIZE`]). An efficacy update the core
//! ignores gets no response (its empty ACK if Confirmable).
//!
//! # Observations and notifications
//!
//! A GET with Observe = 0 that the core registers becomes an observation of the peer (its
//! token and target); Observe = 1, a Reset of a notification (RFC 7641 Section 3.6), the end
//! of the mitigation and the end of the peer remove it, and when the last observation of a
//! target goes, the core is told ([`SignalServer::cancel_observation`]). Notifications from
//! [`SignalServer::poll_notification`] go Non-confirmable (RFC 9132 Section 4.4.2.1) to every
//! observation they concern, with a fresh Observe sequence number, at most one per smoothed
//! RTT (measured on the server's heartbeats) or, without an RTT estimate, one every 3 seconds
//! (the same section's MUST); a newer notification for a token replaces one still waiting. The
//! status of observed running mitigations is sent again periodically
//! ([`SessionConfig::status_period`]), which carries it through loss.
//!
//! # Heartbeats and the deadman (RFC 9132 Section 4.7)
//!
//! - Client heartbeats (PUT `/hb`) are answered 2.04 with an empty body (Figure 28); the
//!   client's `peer-hb-status` is reported when it changes
//!   ([`SessionEvent::PeerHeartbeatStatus`]); when it is `false`, the server sends its own
//!   heartbeat at once (at most one extra per [`MIN_HEARTBEAT_SPACING`]).
//! - The server sends its own heartbeat (NON PUT `/hb` with `peer-hb-status`: whether a client
//!   heartbeat arrived in the last 2 × `heartbeat-interval`) every `heartbeat-interval` of the
//!   parameters in force, from the start of the session, whatever the traffic; under attack it
//!   keeps sending them ("the DOTS server MUST keep on using the current DOTS signal channel
//!   session").
//! - Over UDP/DTLS the session is lost at exactly `t + missing-hb-allowed ×
//!   heartbeat-interval`, `t` the arrival of the last datagram of any kind from the peer,
//!   unless something arrives before that instant: any traffic keeps the session ("If the DOTS
//!   server receives traffic from the peer DOTS client ... MUST NOT consider the DOTS signal
//!   channel session disconnected").
//! - Over TCP/TLS (`missing-hb-allowed` is not negotiated there, Section 4.5) the session is
//!   lost `heartbeat-interval` after a server heartbeat when nothing at all arrived since it
//!   was sent.
//! - A `heartbeat-interval` of 0 disables both heartbeats and the deadman.
//! - When the session is lost, the session calls [`SignalServer::session_lost`] (the client's
//!   `trigger-mitigation` = false requests start), reports [`SessionEvent::PeerLost`] and drops
//!   the peer, unless another peer with the same cuid is alive (the client moved to a new
//!   transport, e.g. after a NAT rebinding, or [`peer_failed`](ServerSession::peer_failed)
//!   followed by a reconnection).
//!
//! The parameters in force (idle or mitigating, the client's negotiated values) are re-read
//! from [`SignalServer::session_params`] whenever the core reports a change and applied to the
//! peer's endpoint ([`Endpoint::set_parameters`](crate::coap::Endpoint::set_parameters)) and
//! heartbeat clock: the next heartbeat is then due `heartbeat-interval` (new) after the previous
//! one, and the deadman at the last arrival plus the new window.
//!
//! # Memory: what one idle client costs
//!
//! A CoAP endpoint keeps its messages inline (its [`SessionEndpoint`] is about 25 KiB, and even
//! with no message storage at all an endpoint is 2.7 KiB of tables), far beyond a 4 KiB budget
//! per idle client. So a UDP peer holds an endpoint only while an exchange is in progress: one
//! is lent from a pool when a datagram needs it and returned as soon as it is
//! [quiescent](crate::coap::Endpoint::is_quiescent) (its answers sent, no block-wise transfer,
//! nothing to retransmit), with the peer's message-ID and Observe sequences carried over so
//! the client sees one continuous sender. What stays per peer is small: the identity, the
//! heartbeat clock, the parameters, the observations (token and target), four recent
//! Non-confirmable message IDs for deduplication, and the messages queued for it. The server's
//! heartbeats and notifications are written by the session itself (they need no state but a
//! token and a sequence number), and answers to its heartbeats and Resets of its notifications
//! are matched before any endpoint is involved. The trade-off: a duplicate of a Confirmable
//! request arriving after its exchange ended is processed again rather than answered from a
//! cache, which RFC 7252 Section 4.5 allows for idempotent requests, and every DOTS request is
//! idempotent (PUT, GET, DELETE). TCP/TLS peers hold their endpoint for the life of the
//! connection (the stream and the CSM are connection state). The figures measured are in the
//! crate's README and the `signal_session_memory` test.
//!
//! # Call Home (RFC 9066)
//!
//! In Call Home the DOTS server dials: it opens the (D)TLS connection to the Call Home DOTS
//! client as the (D)TLS client (Section 5.1, on a port the two agents agree on by configuration
//! or discovery, distinct from the base channel's 4646, Appendix B), and from then on the DOTS roles are those of RFC 9132: the client sends the requests and the
//! server answers them. The session does not care who dialled: the host creates the connection
//! (DTLS client handshake, or TCP connect and TLS client handshake), derives the peer's cuid from
//! its certificate, and feeds what arrives to [`handle_datagram`](ServerSession::handle_datagram)
//! / [`handle_stream_bytes`](ServerSession::handle_stream_bytes) like any other peer. Two
//! differences are the host's: a Call Home server must not redirect (RFC 9066 Section 5.2.2),
//! and after a [`SessionEvent::PeerLost`] "the Call Home DOTS server MUST try to establish a new
//! DOTS signal channel session" (Section 5.2.1) — the host dials again. Over TCP/TLS the
//! dialling host can announce the connection at once with empty
//! [`handle_stream_bytes`](ServerSession::handle_stream_bytes): the peer's session starts and
//! its CSM (RFC 8323 Section 5.3) is ready to send before the client has said anything (the
//! `callhome_session` test runs it so). The server core's
//! [`ServerConfig::call_home`](crate::signal::server::ServerConfig) adds the Call Home server's
//! request rules (immediate requests with `source-prefix` only, `/redirect`).
//!
//! # Identities
//!
//! The [`PeerIdentity`] given with each input is the authenticated one. A peer's identity is
//! fixed: input for a known peer key with another identity (or transport) closes the previous
//! session on that key and starts a new one. Plain CoAP without (D)TLS has no authenticated
//! identity; a lab host taking the cuid from the Uri-Path as sent (the `server` example's
//! `--insecure`) lets anyone act as any client.

mod config;
mod dispatch;
mod event;
mod notify;
mod params;
mod peer;
mod wire;

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, BTreeSet, VecDeque};
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::time::Duration;

use dots_codec::coap::BufferTooSmall;
use dots_codec::model::{MitigationStatus, SignalConfig};

pub use config::{
    SessionConfig, SessionEndpoint, DEDUP_RECORDS, MAX_BODY_SIZE, MAX_MESSAGE_SIZE,
    MAX_PATH_SEGMENTS, MIN_HEARTBEAT_SPACING, NOTIFICATION_SPACING, RECENT_NOTIFICATIONS,
};
pub use event::{PeerInfo, SessionEvent, SessionStats, Transmit};

use peer::{Peer, PeerList};

use crate::coap::{Config, Transport};
use crate::data::PeerIdentity;
use crate::rng::Rng;
use crate::signal::server::{
    CommandError, MitigationStats, NoHooks, SignalHooks, SignalServer, MIN_RESPONSE_BUFFER,
};
use crate::time::Instant;

/// How a peer's state ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Removal {
    /// The transport closed in order (or the key now belongs to another session).
    Closed,
    /// The deadman fired.
    Lost,
    /// A failed transport's client came back on another one.
    Superseded,
}

/// The sans-IO DOTS signal-channel server session for many peers. See the
/// [module documentation](self) for the driving loop, the heartbeat rules and the memory
/// design.
///
/// `P` is the host's peer key (e.g. `SocketAddr`, a DTLS session id); `H` the core's
/// [`SignalHooks`] (a [`DataServer`](crate::data::DataServer) ties the data channel in).
#[derive(Debug)]
pub struct ServerSession<P, H: SignalHooks = NoHooks> {
    core: SignalServer<H>,
    config: SessionConfig,
    rng: Rng,
    peers: Vec<Option<Peer<P>>>,
    free: Vec<u32>,
    by_key: BTreeMap<P, u32>,
    /// Peers by cuid: those with this identity and those observing this client.
    by_cuid: BTreeMap<Arc<str>, PeerList>,
    /// One entry per peer with a deadline: `(deadline, peer)`.
    timers: BTreeSet<(Instant, u32)>,
    /// Peers with something to send (each once, see `Peer::queued`).
    ready: VecDeque<u32>,
    pool: Vec<Box<SessionEndpoint>>,
    /// Endpoints lent to peers.
    held: usize,
    /// Peers of trusted gateways (their phase follows every gateway-relayed mitigation).
    gateways: BTreeSet<u32>,
    live: usize,
    events: VecDeque<SessionEvent<P>>,
    /// The core's output buffer (responses, notifications).
    buf: Vec<u8>,
    /// A copy of the request being handled (options, then payload).
    scratch: Vec<u8>,
    now: Instant,
    stats: SessionStats,
}

impl<P: Ord + Clone, H: SignalHooks> ServerSession<P, H> {
    /// A session in front of `core`. `seed` seeds the tokens of the server's heartbeats and
    /// the endpoints' message IDs, tokens and jitter: take it from an entropy source (RFC 7252
    /// Section 5.3.1), or fix it in tests.
    #[must_use]
    pub fn new(config: SessionConfig, core: SignalServer<H>, seed: u64) -> ServerSession<P, H> {
        ServerSession {
            core,
            config,
            rng: Rng::from_seed(seed),
            peers: Vec::new(),
            free: Vec::new(),
            by_key: BTreeMap::new(),
            by_cuid: BTreeMap::new(),
            timers: BTreeSet::new(),
            ready: VecDeque::new(),
            pool: Vec::new(),
            held: 0,
            gateways: BTreeSet::new(),
            live: 0,
            events: VecDeque::new(),
            buf: alloc::vec![0; MIN_RESPONSE_BUFFER],
            scratch: Vec::new(),
            now: Instant::ZERO,
            stats: SessionStats::default(),
        }
    }

    // ---- inputs ----------------------------------------------------------------------------

    /// A datagram from `peer` (CoAP over UDP or DTLS), authenticated as `identity`.
    ///
    /// A new peer key starts a session (unless [`SessionConfig::max_peers`] are in use);
    /// anything that arrives counts as traffic for the deadman, malformed or not.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        peer: P,
        identity: &PeerIdentity<'_>,
        datagram: &[u8],
    ) {
        let now = self.advance(now);
        self.stats.datagrams += 1;
        let Some(idx) = self.peer_index(now, peer, identity, Transport::Udp) else {
            return;
        };
        self.heard(idx, now);
        self.on_datagram(idx, now, datagram);
        self.drain_core(now);
        self.settle(idx, now);
    }

    /// Bytes of the TCP/TLS stream of `peer` (CoAP over TCP, RFC 8323), in pieces of any size.
    pub fn handle_stream_bytes(
        &mut self,
        now: Instant,
        peer: P,
        identity: &PeerIdentity<'_>,
        bytes: &[u8],
    ) {
        let now = self.advance(now);
        self.stats.stream_bytes = self
            .stats
            .stream_bytes
            .saturating_add(u64::try_from(bytes.len()).unwrap_or(u64::MAX));
        let Some(idx) = self.peer_index(now, peer, identity, Transport::Tcp) else {
            return;
        };
        self.heard(idx, now);
        if let Some(ep) = self.peer_mut(idx).and_then(|p| p.endpoint.as_mut()) {
            ep.handle_stream_bytes(now, bytes);
        }
        self.drain_endpoint(idx, now);
        self.drain_core(now);
        self.settle(idx, now);
    }

    /// The transport of `peer` ended in order (a DTLS/TLS close, the TCP connection closed
    /// after a CoAP Release or Abort, or the host's own decision): its observations end and,
    /// when it was the client's only session, the core forgets them too
    /// ([`SignalServer::session_closed`]). No deadman: preconfigured requests stay waiting.
    pub fn peer_closed(&mut self, now: Instant, peer: &P) {
        let now = self.advance(now);
        if let Some(&idx) = self.by_key.get(peer) {
            self.remove_peer(idx, now, Removal::Closed);
        }
        self.drain_core(now);
    }

    /// The transport of `peer` broke (an I/O error, a DTLS session the host gave up on)
    /// without the client ending the session. Its observations end and nothing more is sent,
    /// but the deadman keeps running from the last arrival: unless the client is back (any
    /// peer with the same cuid) before `missing-hb-allowed` × `heartbeat-interval` has passed,
    /// the session is lost ([`SessionEvent::PeerLost`]). With heartbeats disabled this is
    /// [`peer_closed`](Self::peer_closed).
    pub fn peer_failed(&mut self, now: Instant, peer: &P) {
        let now = self.advance(now);
        let Some(idx) = self.by_key.remove(peer) else {
            return;
        };
        let deadman = self
            .peer(idx)
            .is_some_and(|p| p.settings.interval.is_some());
        if !deadman {
            self.remove_peer(idx, now, Removal::Closed);
        } else {
            self.drop_observations(idx);
            if let Some(p) = self.peer_mut(idx) {
                p.detached = true;
                p.out.clear();
                p.notes.clear();
                p.status_at = None;
            }
            self.recycle(idx);
            self.live -= 1;
            self.rearm(idx, now);
        }
        self.drain_core(now);
    }

    // ---- outputs ---------------------------------------------------------------------------

    /// The next datagram (or frame) to send, written at the start of `buf`, with its peer.
    /// Peers take turns.
    ///
    /// # Errors
    /// [`BufferTooSmall`] with the size needed; the message stays queued. A buffer of
    /// [`MAX_MESSAGE_SIZE`] + 8 bytes is always enough.
    pub fn poll_transmit(
        &mut self,
        now: Instant,
        buf: &mut [u8],
    ) -> Result<Option<Transmit<P>>, BufferTooSmall> {
        let now = self.clock(now);
        while let Some(&idx) = self.ready.front() {
            let Some(peer) = self.peer_mut(idx).filter(|p| p.queued) else {
                let _ = self.ready.pop_front();
                continue;
            };
            let mut written = None;
            if !peer.detached {
                if let Some(ep) = peer.endpoint.as_mut() {
                    written = ep.poll_transmit(now, buf)?.map(|t| t.len);
                }
                if written.is_none() {
                    written = self.write_crafted(idx, now, buf)?;
                }
            }
            let _ = self.ready.pop_front();
            match (written, self.peer_mut(idx)) {
                (Some(len), Some(peer)) => {
                    // Its turn ends; it queues again behind the others.
                    let key = peer.key.clone();
                    self.ready.push_back(idx);
                    self.stats.transmitted += 1;
                    return Ok(Some(Transmit { peer: key, len }));
                }
                (_, Some(peer)) => {
                    peer.queued = false;
                    self.maybe_release(idx);
                    self.rearm(idx, now);
                }
                (_, None) => {}
            }
        }
        Ok(None)
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called: the earliest
    /// deadline of every peer (heartbeats, deadman, pacing, periodic status, its endpoint) and
    /// of the core (lifetimes), from one ordered set. Never earlier than the latest `now`.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let peers = self.timers.first().map(|t| t.0);
        [peers, self.core.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
            .map(|t| t.max(self.now))
    }

    /// Fires what is due at `now`: lifetimes in the core, the peers' heartbeats, deadmen,
    /// retransmissions, paced notifications and periodic status. Calling it early, late or
    /// twice is harmless. Also processes what the core queued after direct use of
    /// [`server_mut`](Self::server_mut).
    pub fn handle_timeout(&mut self, now: Instant) {
        let _ = self.advance(now);
    }

    /// The next event, oldest first.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<SessionEvent<P>> {
        self.events.pop_front()
    }

    // ---- host commands ---------------------------------------------------------------------

    /// The mitigator reports a mitigation's status and counters
    /// ([`SignalServer::set_mitigation_status`]); the resulting notifications go to the
    /// observers.
    ///
    /// # Errors
    /// The core's [`CommandError`].
    pub fn set_mitigation_status(
        &mut self,
        now: Instant,
        cuid: &str,
        mid: u32,
        status: Option<MitigationStatus>,
        stats: MitigationStats,
    ) -> Result<(), CommandError> {
        let now = self.advance(now);
        let r = self
            .core
            .set_mitigation_status(now, cuid, mid, status, stats);
        self.drain_core(now);
        r
    }

    /// Replaces the server's session-configuration defaults
    /// ([`SignalServer::set_session_defaults`]); every peer's parameters follow.
    ///
    /// # Errors
    /// [`CommandError::InvalidDefaults`].
    pub fn set_session_defaults(
        &mut self,
        now: Instant,
        session: SignalConfig,
    ) -> Result<(), CommandError> {
        let now = self.advance(now);
        let r = self.core.set_session_defaults(session);
        self.drain_core(now);
        // Peers without state in the core get no event: refresh every one.
        let all: Vec<u32> = self.by_key.values().copied().collect();
        for idx in all {
            self.refresh_settings(idx, now);
        }
        r
    }

    /// The server core (queries: mitigations, observations, statistics, snapshots).
    #[must_use]
    pub fn server(&self) -> &SignalServer<H> {
        &self.core
    }

    /// The server core, to change it directly (its hooks, e.g. the data-channel server).
    /// Events and notifications this queues in the core are processed at the next input or
    /// [`handle_timeout`](Self::handle_timeout).
    pub fn server_mut(&mut self) -> &mut SignalServer<H> {
        &mut self.core
    }

    // ---- queries ---------------------------------------------------------------------------

    /// Counters.
    #[must_use]
    pub fn stats(&self) -> SessionStats {
        self.stats
    }

    /// Peers with state (those whose transport failed and whose deadman still runs included).
    #[must_use]
    pub fn peer_count(&self) -> usize {
        self.peers.len() - self.free.len()
    }

    /// Endpoints lent to peers now.
    #[must_use]
    pub fn endpoints_held(&self) -> usize {
        self.held
    }

    /// A view of the session of `peer`.
    #[must_use]
    pub fn peer_info(&self, peer: &P) -> Option<PeerInfo> {
        let p = self.peer(*self.by_key.get(peer)?)?;
        Some(PeerInfo {
            cuid: p.cuid.clone(),
            trusted_gateway: p.gateway,
            transport: p.transport,
            phase: p.phase,
            parameters: p.settings.params,
            heartbeat_interval: p.settings.interval,
            missing_hb_allowed: p.settings.missing,
            last_received: p.hb.last_rx,
            next_heartbeat: p.next_heartbeat(),
            lost_at: p.lost_at(),
            rtt: p.hb.srtt(),
            observations: p.observations.len(),
            endpoint_held: p.endpoint.is_some(),
            detached: p.detached,
        })
    }

    /// Checks the session's invariants (indexes, timers, loans, observations matching the
    /// core's) and the core's ([`SignalServer::check_invariants`]). A debugging aid for tests
    /// and fuzzing; `Err` describes the first violation.
    pub fn check_invariants(&self) -> Result<(), String> {
        self.core.check_invariants()?;
        let mut held = 0;
        let mut live = 0;
        for (i, p) in self.peers.iter().enumerate() {
            let Some(p) = p else { continue };
            let idx = u32::try_from(i).map_err(|_| String::from("index overflow"))?;
            held += usize::from(p.endpoint.is_some());
            if p.detached {
                if self.by_key.get(&p.key) == Some(&idx) {
                    return Err(format!("detached peer {idx} still keyed"));
                }
                if p.endpoint.is_some() || !p.observations.is_empty() || !p.out.is_empty() {
                    return Err(format!("detached peer {idx} holds state"));
                }
            } else {
                live += 1;
                if self.by_key.get(&p.key) != Some(&idx) {
                    return Err(format!("peer {idx} not keyed"));
                }
            }
            if p.transport == Transport::Tcp && !p.detached && p.endpoint.is_none() {
                return Err(format!("TCP peer {idx} without endpoint"));
            }
            match p.deadline {
                Some(d) if !self.timers.contains(&(d, idx)) => {
                    return Err(format!("peer {idx}: deadline {d} not in the timer set"));
                }
                _ => {}
            }
            if p.deadline.is_some_and(|d| d < self.now) {
                return Err(format!("peer {idx}: deadline in the past"));
            }
            if p.observations.len() > self.config.max_observations_per_peer {
                return Err(format!("peer {idx}: too many observations"));
            }
            if p.out.len() + p.notes.len() > self.config.max_queued_per_peer + 2 {
                return Err(format!("peer {idx}: queue over its bound"));
            }
            let listed = |c: &str| {
                self.by_cuid
                    .get(c)
                    .is_some_and(|l| l.as_slice().contains(&idx))
            };
            if !listed(&p.cuid) {
                return Err(format!("peer {idx} not indexed by its cuid"));
            }
            for (n, o) in p.observations.iter().enumerate() {
                if !listed(&o.cuid) {
                    return Err(format!("peer {idx}: observation of {} not indexed", o.cuid));
                }
                if p.observations[..n].iter().any(|x| x.token == o.token) {
                    return Err(format!("peer {idx}: two observations with one token"));
                }
                if !self.core.observations(&o.cuid).any(|t| t == o.target) {
                    return Err(format!(
                        "peer {idx}: observation {:?} of {} unknown to the core",
                        o.target, o.cuid
                    ));
                }
            }
        }
        if held != self.held || live != self.live || self.by_key.len() != live {
            return Err(format!(
                "counts: held {held}/{} live {live}/{} keys {}",
                self.held,
                self.live,
                self.by_key.len()
            ));
        }
        if self.timers.len()
            != self
                .peers
                .iter()
                .flatten()
                .filter(|p| p.deadline.is_some())
                .count()
        {
            return Err(String::from("stale entries in the timer set"));
        }
        for (cuid, list) in &self.by_cuid {
            for &idx in list.as_slice() {
                let Some(p) = self.peer(idx) else {
                    return Err(format!("{cuid}: indexed peer {idx} is gone"));
                };
                if *p.cuid != **cuid && !p.observations.iter().any(|o| o.cuid == *cuid) {
                    return Err(format!("{cuid}: peer {idx} indexed without reason"));
                }
            }
        }
        for cuid in self.core.clients() {
            for target in self.core.observations(cuid) {
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
                    return Err(format!("{cuid}: core observation {target:?} has no token"));
                }
            }
        }
        Ok(())
    }

    // ---- internals: clock, peers, timers, endpoints ----------------------------------------

    fn clock(&mut self, now: Instant) -> Instant {
        self.now = self.now.max(now);
        self.now
    }

    /// Clamps `now` and fires everything due: the core's timers, then the peers'.
    fn advance(&mut self, now: Instant) -> Instant {
        let now = self.clock(now);
        self.core.handle_timeout(now);
        // Each peer fires at most a few times per call: a handler always moves its deadline
        // past `now` (or removes the peer), the budget only guards against a slip.
        let mut budget = self.timers.len().saturating_mul(2).saturating_add(16);
        while let Some(&(t, idx)) = self.timers.first() {
            if t > now || budget == 0 {
                break;
            }
            budget -= 1;
            let _ = self.timers.pop_first();
            if let Some(p) = self.peer_mut(idx) {
                p.deadline = None;
            }
            self.on_peer_timer(idx, now);
        }
        self.drain_core(now);
        now
    }

    pub(crate) fn peer(&self, idx: u32) -> Option<&Peer<P>> {
        self.peers.get(idx as usize).and_then(Option::as_ref)
    }

    pub(crate) fn peer_mut(&mut self, idx: u32) -> Option<&mut Peer<P>> {
        self.peers.get_mut(idx as usize).and_then(Option::as_mut)
    }

    /// The peer for an input, created (or replaced, when the identity or transport changed)
    /// as needed; `None` when it cannot be served.
    fn peer_index(
        &mut self,
        now: Instant,
        key: P,
        identity: &PeerIdentity<'_>,
        transport: Transport,
    ) -> Option<u32> {
        let mut carry = None;
        if let Some(&idx) = self.by_key.get(&key) {
            let p = self.peer(idx)?;
            if p.transport == transport
                && *p.cuid == *identity.cuid
                && p.gateway == identity.trusted_gateway
            {
                return Some(idx);
            }
            if p.transport == transport && transport == Transport::Udp {
                carry = Some(match p.endpoint.as_ref() {
                    Some(ep) => (ep.next_message_id(), ep.observe_sequence()),
                    None => (p.next_mid, p.obs_seq),
                });
            }
            self.remove_peer(idx, now, Removal::Closed);
        }
        if self.live >= self.config.max_peers {
            self.stats.refused_peers += 1;
            return None;
        }
        if transport == Transport::Tcp && self.held >= self.config.max_endpoints {
            self.stats.dropped_busy += 1;
            return None;
        }
        let cuid: Arc<str> = match self.by_cuid.get_key_value(identity.cuid) {
            Some((k, _)) => k.clone(),
            None => Arc::from(identity.cuid),
        };
        let sp = self.core.session_params(identity);
        let (mid, seq) = carry.unwrap_or_else(|| (self.rng.next_u16(), self.rng.next_u32()));
        let peer = Peer::new(
            key.clone(),
            cuid.clone(),
            identity.trusted_gateway,
            transport,
            now,
            mid,
            seq,
            sp.phase,
            params::settings(sp.current()),
        );
        let idx = match self.free.pop() {
            Some(i) => {
                if let Some(slot) = self.peers.get_mut(i as usize) {
                    *slot = Some(peer);
                }
                i
            }
            None => {
                self.peers.push(Some(peer));
                u32::try_from(self.peers.len() - 1).ok()?
            }
        };
        self.live += 1;
        self.by_key.insert(key, idx);
        self.index(&cuid, idx);
        if identity.trusted_gateway {
            self.gateways.insert(idx);
        }
        // A client back after its transport failed: the old session continues here.
        let stale: Vec<u32> = self
            .by_cuid
            .get(&cuid)
            .map(|l| {
                l.as_slice()
                    .iter()
                    .copied()
                    .filter(|&i| {
                        i != idx && self.peer(i).is_some_and(|p| p.detached && p.cuid == cuid)
                    })
                    .collect()
            })
            .unwrap_or_default();
        for i in stale {
            self.remove_peer(i, now, Removal::Superseded);
        }
        if transport == Transport::Tcp {
            let _ = self.lend(idx);
        }
        self.rearm(idx, now);
        Some(idx)
    }

    fn index(&mut self, cuid: &Arc<str>, idx: u32) {
        match self.by_cuid.get_mut(cuid) {
            Some(l) => l.insert(idx),
            None => {
                self.by_cuid.insert(cuid.clone(), PeerList::One(idx));
            }
        }
    }

    fn unindex(&mut self, cuid: &str, idx: u32) {
        if let Some(l) = self.by_cuid.get_mut(cuid) {
            if l.remove(idx) {
                self.by_cuid.remove(cuid);
            }
        }
    }

    /// Removes a peer and everything it holds; tells the core as `how` says.
    fn remove_peer(&mut self, idx: u32, now: Instant, how: Removal) {
        self.drop_observations(idx);
        self.recycle(idx);
        let Some(peer) = self.peers.get_mut(idx as usize).and_then(Option::take) else {
            return;
        };
        self.free.push(idx);
        if peer.queued {
            // No stale turn for whoever takes the slot next.
            self.ready.retain(|&i| i != idx);
        }
        if self.by_key.get(&peer.key) == Some(&idx) {
            let _ = self.by_key.remove(&peer.key);
        }
        if !peer.detached {
            self.live -= 1;
        }
        if let Some(d) = peer.deadline {
            let _ = self.timers.remove(&(d, idx));
        }
        if peer.gateway {
            self.gateways.remove(&idx);
        }
        self.unindex(&peer.cuid, idx);
        let others = self.by_cuid.get(&peer.cuid).is_some_and(|l| {
            l.as_slice()
                .iter()
                .any(|&i| self.peer(i).is_some_and(|p| p.cuid == peer.cuid))
        });
        match how {
            Removal::Closed if !others => {
                self.core.session_closed(now, &peer.cuid);
                // The core also drops the observations of the client record named like the
                // peer even when another identity created it: so do the peers holding them.
                self.forget_observations_of(&peer.cuid);
            }
            Removal::Lost => {
                if !others {
                    self.core.session_lost(now, &peer.cuid);
                    self.stats.peers_lost += 1;
                    self.forget_observations_of(&peer.cuid);
                }
                self.push_event(SessionEvent::PeerLost {
                    peer: peer.key,
                    cuid: peer.cuid,
                    session_lost: !others,
                });
            }
            _ => {}
        }
    }

    /// Re-registers the peer's deadline in the timer set.
    pub(crate) fn rearm(&mut self, idx: u32, now: Instant) {
        let Some(p) = self.peers.get_mut(idx as usize).and_then(Option::as_mut) else {
            return;
        };
        let next = p.next_deadline(now).map(|d| {
            // A handler always moves its deadline past `now`; should one slip, a millisecond
            // later keeps the host from spinning.
            if d <= now {
                now + Duration::from_millis(1)
            } else {
                d
            }
        });
        if next == p.deadline {
            return;
        }
        if let Some(d) = p.deadline {
            let _ = self.timers.remove(&(d, idx));
        }
        if let Some(d) = next {
            self.timers.insert((d, idx));
        }
        p.deadline = next;
    }

    /// Queues the peer for `poll_transmit` (once).
    pub(crate) fn mark_ready(&mut self, idx: u32) {
        if let Some(p) = self.peer_mut(idx) {
            if !p.queued && !p.detached {
                p.queued = true;
                self.ready.push_back(idx);
            }
        }
    }

    /// After an input: queue the peer for transmission, return its endpoint if it is idle,
    /// re-register its deadline.
    fn settle(&mut self, idx: u32, now: Instant) {
        let has = self
            .peer(idx)
            .is_some_and(|p| p.endpoint.is_some() || p.has_crafted(now));
        if has {
            self.mark_ready(idx);
        }
        self.maybe_release(idx);
        self.rearm(idx, now);
    }

    /// Lends an endpoint to the peer (from the pool, else a new one), continuing its
    /// message-ID and Observe sequences. `false` when [`SessionConfig::max_endpoints`] are out.
    pub(crate) fn lend(&mut self, idx: u32) -> bool {
        let Some(p) = self.peers.get_mut(idx as usize).and_then(Option::as_mut) else {
            return false;
        };
        if p.endpoint.is_some() {
            return true;
        }
        if self.held >= self.config.max_endpoints || p.detached {
            self.stats.dropped_busy += 1;
            return false;
        }
        let config = match p.transport {
            Transport::Udp => Config::udp(),
            Transport::Tcp => Config::tcp(),
        }
        .with_params(p.settings.params);
        let seed = self.rng.next_u64();
        let ep = match self.pool.pop() {
            Some(mut ep) => {
                ep.reset(config, seed);
                ep
            }
            None => {
                self.stats.endpoint_allocations += 1;
                Box::new(SessionEndpoint::new(config, seed))
            }
        };
        let mut ep = ep;
        ep.set_next_message_id(p.next_mid);
        ep.set_observe_sequence(p.obs_seq);
        p.endpoint = Some(ep);
        self.held += 1;
        self.stats.endpoint_loans += 1;
        true
    }

    /// Takes the peer's endpoint back (keeping its sequences) into the pool.
    fn recycle(&mut self, idx: u32) {
        let Some(p) = self.peers.get_mut(idx as usize).and_then(Option::as_mut) else {
            return;
        };
        let Some(ep) = p.endpoint.take() else { return };
        p.next_mid = ep.next_message_id();
        p.obs_seq = ep.observe_sequence();
        self.held -= 1;
        if self.pool.len() < self.config.endpoint_pool {
            self.pool.push(ep);
        }
    }

    /// Returns the endpoint of a UDP peer once nothing is in progress on it.
    pub(crate) fn maybe_release(&mut self, idx: u32) {
        let idle = self.peer(idx).is_some_and(|p| {
            p.transport == Transport::Udp && p.endpoint.as_ref().is_some_and(|e| e.is_quiescent())
        });
        if idle {
            self.recycle(idx);
        }
    }

    pub(crate) fn push_event(&mut self, e: SessionEvent<P>) {
        if self.events.len() >= self.config.max_events.max(1) {
            let _ = self.events.pop_front();
            self.stats.events_dropped += 1;
        }
        self.events.push_back(e);
    }
}
