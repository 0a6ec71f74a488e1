//! The DOTS signal-channel client session (RFC 9132), sans-IO, without allocation, with bounded
//! memory: everything an appliance needs besides a (D)TLS socket and a clock.
//!
//! [`SignalClient`] sits on a CoAP [`Endpoint`] and the typed message
//! model of [`dots_codec::model`]. It keeps the client's mitigation requests alive, follows
//! their status, negotiates the session configuration and switches between its idle and
//! mitigating sets, runs the heartbeats, and tells the host when the session is lost, when it
//! may reconnect and where a redirection points.
//!
//! | RFC | what the client does |
//! |---|---|
//! | RFC 9132 §4.4.1 | PUT `/mitigate/cuid=C/mid=M` (NON, not delayed by PROBING_RATE, §4.4), `mid`s that only increase with the rollover at 3221225471, 2.01 with the granted lifetime, refresh before expiry, 4.09 with `conflict-information`, `cuid` collisions, pre-configured requests (`trigger-mitigation` false) kept alive; never a `cdid` |
//! | RFC 9132 §4.4.2 | GET one or all with Observe (register, deregister), status events per scope, `c=` and RFC 9244 filters as Uri-Query |
//! | RFC 9132 §4.4.3, RFC 9244 §9.1 | efficacy updates: PUT with If-Match and `attack-status`, optional telemetry |
//! | RFC 9132 §4.4.4 | DELETE, active-but-terminating |
//! | RFC 9132 §4.5, RFC 9362 | GET/PUT/DELETE `/config` (CON), `sid`s that increase, values picked within the server's ranges, idle ↔ mitigating applied to the endpoint, Max-Age freshness (60 s without Max-Age, none during an attack) |
//! | RFC 9132 §4.6 | 5.03 `redirected-signal`: [`Event::Redirected`], ping-pong within five minutes ignored, TTL honoured |
//! | RFC 9132 §4.7 | NON PUT `/hb` with `peer-hb-status` at its time whatever else is outstanding (exempt from NSTART), server heartbeats answered 2.04, the observation of all mitigations registered again after a silence as long as the server's deadman, session lost after `missing-hb-allowed` misses outside attack time, degraded (open a parallel session) during one, reconnection pacing; over TCP one heartbeat interval |
//! | RFC 9133 | `acl-list` carried through; 5.03 with the failed ACLs: the request is sent again without them |
//! | RFC 9244 | `/tm-setup` PUT/GET/DELETE with increasing `tsid`, `/tm` PUT (NON)/GET with filters and Observe/DELETE with increasing `tmid`, notifications as events |
//! | RFC 9066 | Call Home: the session does not care who dialled; redirections discarded; the client's `/redirect` PUT |
//!
//! # Driving the client
//!
//! The same loop as the endpoint's ([`Endpoint`] documents the time
//! rule): feed what arrives ([`handle_datagram`](SignalClient::handle_datagram) or
//! [`handle_stream_bytes`](SignalClient::handle_stream_bytes)), drain
//! [`poll_event`](SignalClient::poll_event), drain
//! [`poll_transmit`](SignalClient::poll_transmit) into the socket, sleep until
//! [`poll_timeout`](SignalClient::poll_timeout) or the next input and call
//! [`handle_timeout`](SignalClient::handle_timeout). Commands can be issued at any point.
//!
//! A client against a scripted server, both driven by hand on a virtual clock:
//!
//! ```
//! use dots_codec::coap::{Code, ContentFormat, OptionList};
//! use dots_codec::model::{Lifetime, Scope};
//! use dots_proto::coap::{Config, Event as CoapEvent, Response, ServerEndpoint};
//! use dots_proto::signal::client::{ClientConfig, Event, SignalClient};
//! use dots_proto::time::Instant;
//!
//! let mut now = Instant::ZERO;
//! let mut config = ClientConfig::udp();
//! config.fetch_config = false; // keep the example short
//! let mut client: SignalClient = SignalClient::new(now, "dz6pHjaADkaFTbjr0JGBpw", "dots.example", config, 7)?;
//! let mut server = ServerEndpoint::new(Config::udp(), 8);
//!
//! // Ask for mitigation of 2001:db8:6401::/64 for an hour.
//! let mut scope = Scope::new();
//! scope.targets.push_prefix("2001:db8:6401::/64".parse()?)?;
//! scope.lifetime = Some(Lifetime::Seconds(3600));
//! let mid = client.request_mitigation(now, &scope)?;
//!
//! let mut buf = [0u8; 1500];
//! let mut accepted = false;
//! for _ in 0..10 {
//!     while let Some(t) = client.poll_transmit(now, &mut buf)? {
//!         server.handle_datagram(now, &buf[..t.len]);
//!     }
//!     // The server grants the request: 2.01 with {mid, lifetime} (RFC 9132 Figure 10). It
//!     // has nothing for the GET with which the client then observes its mitigations.
//!     while let Some(ev) = server.poll_event() {
//!         if let CoapEvent::Request { id, request, .. } = ev {
//!             if request.code == Code::PUT {
//!                 let body = [0xa1, 0x01, 0xa1, 0x02, 0x81, 0xa2, 0x05, mid as u8, 0x0e, 0x19, 0x0e, 0x10];
//!                 let mut o = OptionList::<8>::new();
//!                 o.set_content_format(ContentFormat::DOTS_CBOR)?;
//!                 server.respond(now, id, Response::new(Code::CREATED).options(o.as_options()).payload(&body))?;
//!             } else {
//!                 server.respond(now, id, Response::new(Code::NOT_FOUND))?;
//!             }
//!         }
//!     }
//!     while let Some(t) = server.poll_transmit(now, &mut buf)? {
//!         client.handle_datagram(now, &buf[..t.len]);
//!     }
//!     while let Some(event) = client.poll_event() {
//!         if let Event::MitigationAccepted { mid: m, lifetime, .. } = event {
//!             assert_eq!((m, lifetime), (mid, Some(Lifetime::Seconds(3600))));
//!             accepted = true;
//!         }
//!     }
//!     // Sleep until the next deadline, then fire the timers.
//!     now = client.poll_timeout().unwrap_or(now).min(Instant::from_secs(1));
//!     client.handle_timeout(now);
//! }
//! assert!(accepted);
//! // The client refreshes the request 60 s before the hour is over.
//! assert_eq!(client.mitigation(mid).unwrap().refresh_at(), Some(Instant::from_secs(3540)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Memory
//!
//! Nothing allocates. [`SignalClient`] with its default capacities ([`DefaultSignalClient`])
//! is 62,880 bytes (61.4 KiB, x86_64): the [`ClientEndpoint`](crate::coap::ClientEndpoint)
//! (38 KiB), a `BODY` buffer for received and encoded bodies (8 KiB), the mitigation table (8
//! requests of 1,080 bytes: the scope as sent, status and `conflict-information`), the event
//! queue (32 events of 64 bytes) and its storage (`INBOX`, 2.5 KiB), the configuration (ranges
//! and wishes, 1.5 KiB) and the redirection (0.6 KiB). `SignalClient<4, 4, 2, 576, 2048,
//! 1024>` is 25,152 bytes. A test pins both figures. Decoding a response never builds a 26 KB
//! [`MitigationScope`](dots_codec::model::MitigationScope): each scope is decoded on its own.
//!
//! # Call Home (RFC 9066)
//!
//! In Call Home the DOTS server dials: it opens the (D)TLS connection to the client, which is
//! the (D)TLS server. After the handshake nothing differs for the signal channel, so the host
//! accepts the connection, creates the client (or calls
//! [`reconnected`](SignalClient::reconnected)) with
//! [`ClientConfig::call_home`] set, and drives it as usual. Call Home only changes two things
//! here: 5.03 redirections are discarded (RFC 9066 Section 5.2.2), and the client can send its
//! own [`redirect_call_home`](SignalClient::redirect_call_home). The attack-source attributes
//! (`source-prefix`, `source-port-range`, `source-icmp-type-range`) are members of
//! [`Scope::call_home`](dots_codec::model::Scope).

mod config;
mod event;
mod inbound;
mod mitigation;
mod redirect;
mod sconfig;
mod session;
mod telemetry;
mod wire;

use core::time::Duration;

use dots_codec::coap::BufferTooSmall;
use dots_codec::model::{ConflictInformation, SignalConfig};

pub use config::{
    pick, pick_config, ClientConfig, Phase, SessionParameters, DEFAULT_CONFIG_REFRESH,
    DEFAULT_LIFETIME, DEFAULT_RECONNECT_INTERVAL, MID_ROLLOVER, MIN_RECONNECT_INTERVAL,
    REDIRECT_MEMORY, RETRY_DELAY, TERMINATING_PERIOD,
};
pub use event::{ClientStats, CommandError, Counters, Event, LostReason, Operation, RedirectTtl};
pub use mitigation::{Mitigation, MitigationState};
pub use wire::{MAX_CUID_LEN, MAX_QUERY_ARGS};

use event::{EvRec, Span};
use mitigation::Op;
use redirect::RedirectState;
use sconfig::ConfigState;
use session::Liveness;

use crate::coap::{Endpoint, RequestId, Transmit, Transport};
use crate::rng::Rng;
use crate::time::Instant;

/// Events waiting for [`SignalClient::poll_event`]; more are dropped and counted in
/// [`ClientStats::events_dropped`].
pub const EVENT_QUEUE_CAPACITY: usize = 32;

/// The client with its default capacities: 8 mitigation requests and a
/// [`ClientEndpoint`](crate::coap::ClientEndpoint).
pub type DefaultSignalClient = SignalClient;

/// A request the client has in the endpoint, and what it is for.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pending {
    pub(crate) id: RequestId,
    pub(crate) op: Op,
    /// An Observe relation is established for it.
    pub(crate) observing: bool,
}

/// Whether the session can send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Link {
    Connected,
    Lost,
}

/// The auto-observation of all mitigations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ObserveAll {
    Off,
    Wanted,
    Requested,
    On,
}

/// A sans-IO DOTS signal-channel client session.
///
/// # Capacities
///
/// | parameter | what | default |
/// |---|---|---|
/// | `MITIGATIONS` | mitigation requests held (pending, active, withdrawn and terminating) | 8 |
/// | `OUT`, `IN`, `MSG`, `BODY`, `INBOX` | the [`Endpoint`]'s (its `OBS` is 2); `BODY` also sizes the client's body buffer and `INBOX` its event storage | 8, 4, 1152, 8192, 2560 |
///
/// `size_of::<SignalClient>()` with the defaults is 61.4 KiB (see the
/// [module documentation](self)); `SignalClient<4, 4, 2, 576, 2048, 1024>` is 24.6 KiB.
///
/// # Driving it
///
/// See the [module documentation](self) for the loop and a runnable example. After every call
/// that takes `now`, [`poll_timeout`](Self::poll_timeout) is `None` or not earlier than the
/// latest `now` seen; time never goes backwards (an earlier `now` counts as the latest one).
///
/// # Errors
///
/// Peer noise is dropped (counted in [`stats`](Self::stats) and the endpoint's stats); misuse
/// of a command is a [`CommandError`] and changes nothing; the session's death is
/// [`Event::SessionLost`].
pub struct SignalClient<
    const MITIGATIONS: usize = 8,
    const OUT: usize = 8,
    const IN: usize = 4,
    const MSG: usize = 1152,
    const BODY: usize = 8192,
    const INBOX: usize = 2560,
> {
    pub(crate) config: ClientConfig,
    pub(crate) ep: Endpoint<OUT, IN, 2, MSG, BODY, INBOX>,
    pub(crate) rng: Rng,
    pub(crate) now: Instant,
    pub(crate) cuid: heapless::String<MAX_CUID_LEN>,
    /// Waiting for a new `cuid` after a collision.
    pub(crate) cuid_refused: bool,
    pub(crate) server: u64,
    pub(crate) link: Link,
    pub(crate) table: heapless::Vec<Mitigation, MITIGATIONS>,
    pub(crate) pending: heapless::Vec<Pending, OUT>,
    /// `mid`s of pre-configured requests re-created after a rollover, to withdraw first.
    pub(crate) next_mid: u64,
    pub(crate) next_tsid: u64,
    pub(crate) next_tmid: u64,
    pub(crate) attack: bool,
    pub(crate) phase: Phase,
    pub(crate) idle: SessionParameters,
    pub(crate) mitigating: SessionParameters,
    pub(crate) cfg: ConfigState,
    pub(crate) live: Liveness,
    pub(crate) reconnect_at: Option<Instant>,
    pub(crate) redirect: RedirectState,
    pub(crate) observe_all: ObserveAll,
    pub(crate) buf: [u8; BODY],
    pub(crate) inbox: heapless::Vec<u8, INBOX>,
    pub(crate) events: heapless::Deque<EvRec, EVENT_QUEUE_CAPACITY>,
    pub(crate) stats: ClientStats,
}

impl<
        const MITIGATIONS: usize,
        const OUT: usize,
        const IN: usize,
        const MSG: usize,
        const BODY: usize,
        const INBOX: usize,
    > core::fmt::Debug for SignalClient<MITIGATIONS, OUT, IN, MSG, BODY, INBOX>
{
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SignalClient")
            .field("cuid", &self.cuid)
            .field("now", &self.now)
            .field("link", &self.link)
            .field("phase", &self.phase)
            .field("mitigations", &self.table.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// A short, stable hash of a server name (case-insensitive), for redirection memory.
pub(crate) fn name_hash(name: &str) -> u64 {
    // FNV-1a over the lower-cased bytes.
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b.to_ascii_lowercase())).wrapping_mul(0x0100_0000_01b3)
    })
}

pub(crate) fn valid_cuid(cuid: &str) -> bool {
    !cuid.is_empty() && cuid.len() <= MAX_CUID_LEN && !cuid.chars().any(char::is_control)
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
    /// A client session that starts now, over a (D)TLS session the host just established with
    /// `server` (its name, used to recognise redirection loops).
    ///
    /// `cuid` is the client's identifier (derive it with [`Cuid`](crate::cuid::Cuid)); `seed`
    /// seeds message IDs, tokens and jitter (from a real entropy source in production). When
    /// [`ClientConfig::fetch_config`] is set, the first thing sent is GET `/config`.
    ///
    /// # Errors
    /// [`CommandError::InvalidCuid`].
    pub fn new(
        now: Instant,
        cuid: &str,
        server: &str,
        config: ClientConfig,
        seed: u64,
    ) -> Result<Self, CommandError> {
        if !valid_cuid(cuid) {
            return Err(CommandError::InvalidCuid);
        }
        let mut rng = Rng::from_seed(seed);
        let ep = Endpoint::new(config.endpoint, rng.next_u64());
        let mut c = SignalClient {
            config,
            ep,
            rng,
            now,
            cuid: heapless::String::new(),
            cuid_refused: false,
            server: name_hash(server),
            link: Link::Connected,
            table: heapless::Vec::new(),
            pending: heapless::Vec::new(),
            next_mid: u64::from(config.first_mid),
            next_tsid: u64::from(config.first_tsid),
            next_tmid: u64::from(config.first_tmid),
            attack: false,
            phase: Phase::Idle,
            idle: SessionParameters::DEFAULT,
            mitigating: SessionParameters::DEFAULT,
            cfg: ConfigState::new(config.first_sid),
            live: Liveness::new(now),
            reconnect_at: None,
            redirect: RedirectState::new(),
            observe_all: ObserveAll::Off,
            buf: [0u8; BODY],
            inbox: heapless::Vec::new(),
            events: heapless::Deque::new(),
            stats: ClientStats::default(),
        };
        let _ = c.cuid.push_str(cuid);
        let params = config.endpoint.params;
        c.idle.transmission = params;
        c.mitigating.transmission = params;
        c.start_session(now);
        c.after_command(now);
        Ok(c)
    }

    // ---- getters --------------------------------------------------------------------------

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The `cuid` in use.
    #[must_use]
    pub fn cuid(&self) -> &str {
        &self.cuid
    }

    /// The CoAP endpoint under the session (for its statistics and state).
    #[must_use]
    pub fn endpoint(&self) -> &Endpoint<OUT, IN, 2, MSG, BODY, INBOX> {
        &self.ep
    }

    /// Counters.
    #[must_use]
    pub fn stats(&self) -> &ClientStats {
        &self.stats
    }

    /// The latest `now` seen.
    #[must_use]
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Whether the session is up (not lost).
    #[must_use]
    pub fn is_connected(&self) -> bool {
        self.link == Link::Connected
    }

    /// The mitigation request with this `mid`.
    #[must_use]
    pub fn mitigation(&self, mid: u32) -> Option<&Mitigation> {
        self.table.iter().find(|m| m.mid == mid)
    }

    /// Every mitigation request held.
    pub fn mitigations(&self) -> impl Iterator<Item = &Mitigation> + '_ {
        self.table.iter()
    }

    /// The next `mid` the client will use (persist it: `mid`s must increase across restarts).
    #[must_use]
    pub fn next_mid(&self) -> u64 {
        self.next_mid
    }

    /// The next `sid`.
    #[must_use]
    pub fn next_sid(&self) -> u64 {
        self.cfg.next_sid
    }

    /// The next `tsid`.
    #[must_use]
    pub fn next_tsid(&self) -> u64 {
        self.next_tsid
    }

    /// The next `tmid`.
    #[must_use]
    pub fn next_tmid(&self) -> u64 {
        self.next_tmid
    }

    /// The configuration set in force.
    #[must_use]
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The parameters of the set in force.
    #[must_use]
    pub fn parameters(&self) -> &SessionParameters {
        match self.phase {
            Phase::Idle => &self.idle,
            Phase::Mitigating => &self.mitigating,
        }
    }

    /// The parameters of one set.
    #[must_use]
    pub fn parameters_of(&self, phase: Phase) -> &SessionParameters {
        match phase {
            Phase::Idle => &self.idle,
            Phase::Mitigating => &self.mitigating,
        }
    }

    /// The `sid` of the configuration the client installed, if any.
    #[must_use]
    pub fn sid(&self) -> Option<u32> {
        self.cfg.sid
    }

    /// The server's configuration with its acceptable ranges, from the last GET `/config`.
    #[must_use]
    pub fn server_config(&self) -> Option<&SignalConfig> {
        self.cfg.server.as_ref()
    }

    /// When the configuration is fetched again (RFC 9132 Section 4.5.3), if scheduled.
    #[must_use]
    pub fn config_refresh_at(&self) -> Option<Instant> {
        self.cfg.refresh_at
    }

    /// When the next heartbeat goes, if heartbeats are on.
    #[must_use]
    pub fn next_heartbeat_at(&self) -> Option<Instant> {
        self.live.next_hb.filter(|_| self.link == Link::Connected)
    }

    /// Consecutive heartbeats unanswered so far.
    #[must_use]
    pub fn missed_heartbeats(&self) -> u16 {
        self.live.missed
    }

    /// Whether an attack is active: the host said so ([`set_attack`](Self::set_attack)) or a
    /// mitigation is requested or active.
    #[must_use]
    pub fn attack_active(&self) -> bool {
        self.attack || self.phase == Phase::Mitigating
    }

    /// When the host may try to reconnect after a failed attempt (`None`: now, or the session
    /// is up).
    #[must_use]
    pub fn reconnect_allowed_at(&self) -> Option<Instant> {
        self.reconnect_at
    }

    /// The `conflict-information` last received for a mitigation.
    #[must_use]
    pub fn conflict(&self, mid: u32) -> Option<&ConflictInformation> {
        self.mitigation(mid)?.conflict()
    }

    // ---- the sans-IO contract -------------------------------------------------------------

    pub(crate) fn clock(&mut self, now: Instant) -> Instant {
        self.now = self.now.max(now);
        self.now
    }

    /// Reads one datagram from the server (UDP/DTLS).
    pub fn handle_datagram(&mut self, now: Instant, datagram: &[u8]) {
        let now = self.clock(now);
        if self.link != Link::Connected {
            return;
        }
        let (received, malformed) = (self.ep.stats().received, self.ep.stats().malformed);
        self.ep.handle_datagram(now, datagram);
        let s = self.ep.stats();
        if s.received.saturating_sub(received) > s.malformed.saturating_sub(malformed) {
            self.heard_from_server(now);
        }
        self.after_input(now);
    }

    /// Reads bytes of the TCP/TLS stream (pieces of any size).
    pub fn handle_stream_bytes(&mut self, now: Instant, bytes: &[u8]) {
        let now = self.clock(now);
        if self.link != Link::Connected {
            return;
        }
        let before = self.ep.stats().received;
        self.ep.handle_stream_bytes(now, bytes);
        if self.ep.stats().received > before {
            self.heard_from_server(now);
        }
        self.after_input(now);
    }

    /// Fires the timers due at `now`. Calling it early, late or twice is harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.clock(now);
        if self.link == Link::Connected {
            self.ep.handle_timeout(now);
        }
        self.drain(now);
        self.fire(now);
        self.after_input(now);
    }

    fn after_input(&mut self, now: Instant) {
        self.drain(now);
        self.pump(now);
        self.drain(now);
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
        let now = self.clock(now);
        if self.link != Link::Connected {
            return Ok(None);
        }
        let t = self.ep.poll_transmit(now, buf)?;
        // Sending may fire endpoint timers and produce events.
        self.drain(now);
        Ok(t)
    }

    /// The next deadline: call [`handle_timeout`](Self::handle_timeout) then. Never earlier
    /// than the latest `now` seen.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let ep = if self.link == Link::Connected {
            self.ep.poll_timeout()
        } else {
            None
        };
        min_opt(ep, self.own_deadline()).map(|t| t.max(self.now))
    }

    /// The next event. It borrows the client until the next call.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event<'_>> {
        loop {
            let Some(rec) = self.events.pop_front() else {
                self.inbox.clear();
                return None;
            };
            if self.event_of(rec).is_some() {
                return self.event_of(rec);
            }
        }
    }

    fn span_bytes(&self, s: Span) -> &[u8] {
        let start = s.start as usize;
        self.inbox
            .get(start..start + s.len as usize)
            .unwrap_or_default()
    }

    fn span_str(&self, s: Span) -> &str {
        core::str::from_utf8(self.span_bytes(s)).unwrap_or_default()
    }

    fn event_of(&self, rec: EvRec) -> Option<Event<'_>> {
        let conflict = |mid: u32| self.mitigation(mid).and_then(Mitigation::conflict);
        Some(match rec {
            EvRec::Accepted {
                mid,
                code,
                lifetime,
                conflict: c,
            } => Event::MitigationAccepted {
                mid,
                code,
                lifetime,
                conflict: if c { conflict(mid) } else { None },
            },
            EvRec::Status {
                mid,
                status,
                lifetime,
                counters,
                conflict: c,
                notification,
            } => Event::MitigationStatus {
                mid,
                status,
                lifetime,
                counters: counters.counters(),
                mitigation_start: counters.mitigation_start(),
                conflict: if c { conflict(mid) } else { None },
                notification,
            },
            EvRec::ScopeTelemetry { mid, body } => Event::ScopeTelemetry {
                mid,
                body: self.span_bytes(body),
            },
            EvRec::Conflict { mid } => Event::Conflict {
                mid,
                information: conflict(mid)?,
            },
            EvRec::CuidCollision { mid } => Event::CuidCollision { mid },
            EvRec::Rejected {
                mid,
                code,
                retry_after,
                acl_failure,
                diag,
            } => Event::MitigationRejected {
                mid,
                code,
                retry_after,
                acl_failure,
                diagnostic: self.span_str(diag),
            },
            EvRec::EfficacyUpdated { mid } => Event::EfficacyUpdated { mid },
            EvRec::Withdrawn { mid } => Event::MitigationWithdrawn { mid },
            EvRec::Ended { mid } => Event::MitigationEnded { mid },
            EvRec::MidRollover { recreated } => Event::MidRollover { recreated },
            EvRec::PhaseChanged { phase } => Event::PhaseChanged {
                phase,
                parameters: *self.parameters_of(phase),
            },
            EvRec::ConfigApplied { sid, code } => Event::ConfigApplied { sid, code },
            EvRec::ConfigRejected { sid, code, diag } => Event::ConfigRejected {
                sid,
                code,
                diagnostic: self.span_str(diag),
            },
            EvRec::Degraded { missed } => Event::SessionDegraded {
                missed_heartbeats: missed,
            },
            EvRec::Recovered => Event::SessionRecovered,
            EvRec::Lost { reason } => Event::SessionLost { reason },
            EvRec::ReconnectAllowed => Event::ReconnectAllowed,
            EvRec::Redirected { ttl } => {
                let r = self.redirect.last.as_ref()?;
                Event::Redirected {
                    alt_server: &r.alt_server,
                    alt_server_record: &r.alt_server_record,
                    ttl,
                }
            }
            EvRec::RedirectIgnored => Event::RedirectIgnored,
            EvRec::RedirectExpired => Event::RedirectExpired,
            EvRec::TelemetrySetup {
                operation,
                code,
                body,
            } => Event::TelemetrySetup {
                operation,
                code,
                body: self.span_bytes(body),
            },
            EvRec::Telemetry {
                operation,
                code,
                body,
                notification,
            } => Event::Telemetry {
                operation,
                code,
                body: self.span_bytes(body),
                notification,
            },
            EvRec::Response {
                operation,
                code,
                diag,
            } => Event::Response {
                operation,
                code,
                diagnostic: self.span_str(diag),
            },
            EvRec::Failed { operation, reason } => Event::RequestFailed { operation, reason },
            EvRec::ObservationEnded { operation } => Event::ObservationEnded { operation },
        })
    }

    pub(crate) fn push_event(&mut self, rec: EvRec) {
        if self.events.push_back(rec).is_err() {
            self.stats.events_dropped += 1;
        }
    }

    /// The own timers' next deadline.
    fn own_deadline(&self) -> Option<Instant> {
        let connected = self.link == Link::Connected;
        let mut t = None;
        if connected {
            t = min_opt(t, self.live.next_hb);
            if !self.attack_active() {
                t = min_opt(t, self.cfg.refresh_at);
            }
            t = min_opt(t, self.cfg.retry_at);
        }
        for m in &self.table {
            t = min_opt(t, m.deadline(connected));
        }
        if self.reconnect_at.is_some() && self.link == Link::Lost {
            t = min_opt(t, self.reconnect_at);
        }
        if !self.attack_active() {
            t = min_opt(t, self.redirect.expires_at);
        }
        t
    }

    /// Fires the client's own timers due at `now`.
    fn fire(&mut self, now: Instant) {
        self.fire_mitigations(now);
        if self.link == Link::Connected {
            self.fire_heartbeat(now);
            self.fire_config(now);
        } else if self.reconnect_at.is_some_and(|t| t <= now) {
            self.reconnect_at = None;
            self.push_event(EvRec::ReconnectAllowed);
        }
        self.fire_redirect(now);
    }

    /// Sends what is wanted and can go now.
    fn pump(&mut self, now: Instant) {
        if self.link != Link::Connected {
            return;
        }
        self.pump_config(now);
        self.pump_mitigations(now);
        self.pump_observe_all(now);
    }

    /// Hands the endpoint a request and records what it is for.
    pub(crate) fn send(
        &mut self,
        now: Instant,
        op: Op,
        req: crate::coap::Request<'_>,
    ) -> Result<RequestId, CommandError> {
        if self.link != Link::Connected {
            return Err(CommandError::SessionLost);
        }
        if self.pending.is_full() {
            self.stats.queue_full += 1;
            return Err(CommandError::Endpoint(crate::coap::CommandError::QueueFull));
        }
        let id = self.ep.request(now, req).inspect_err(|e| {
            if *e == crate::coap::CommandError::QueueFull {
                self.stats.queue_full += 1;
            }
        })?;
        let _ = self.pending.push(Pending {
            id,
            op,
            observing: false,
        });
        Ok(id)
    }

    /// The transport in use.
    #[must_use]
    pub fn transport(&self) -> Transport {
        self.ep.config().transport
    }

    pub(crate) fn is_tcp(&self) -> bool {
        self.transport() == Transport::Tcp
    }

    /// A request with the client's Q-Block choice.
    pub(crate) fn q_block<'a>(&self, r: crate::coap::Request<'a>) -> crate::coap::Request<'a> {
        if self.config.q_block {
            r.q_block()
        } else {
            r
        }
    }
}

/// Stores bytes in the event storage (cleared when no event is waiting).
pub(crate) fn stash_into<const INBOX: usize>(
    inbox: &mut heapless::Vec<u8, INBOX>,
    events: &heapless::Deque<EvRec, EVENT_QUEUE_CAPACITY>,
    stats: &mut ClientStats,
    bytes: &[u8],
) -> Span {
    if bytes.is_empty() {
        return Span::default();
    }
    if events.is_empty() {
        inbox.clear();
    }
    let start = inbox.len();
    if events.is_full() || inbox.extend_from_slice(bytes).is_err() {
        stats.bodies_dropped += 1;
        return Span::default();
    }
    Span {
        start: u32::try_from(start).unwrap_or(0),
        len: u32::try_from(bytes.len()).unwrap_or(0),
    }
}

/// The earlier of two optional deadlines.
pub(crate) fn min_opt(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// `now + d`, for durations given in seconds by the peer.
pub(crate) fn after_secs(now: Instant, secs: u32) -> Instant {
    now + Duration::from_secs(u64::from(secs))
}
