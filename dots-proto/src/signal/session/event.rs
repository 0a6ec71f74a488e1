//! What a [`ServerSession`](super::ServerSession) reports: datagrams to send, events, counters
//! and a view of one peer.

use alloc::sync::Arc;
use core::time::Duration;

use crate::coap::{TransmissionParameters, Transport};
use crate::signal::server::{ConfigPhase, ServerEvent};
use crate::time::Instant;

/// One datagram (or TCP/TLS frame) written by
/// [`ServerSession::poll_transmit`](super::ServerSession::poll_transmit) at the start of the
/// caller's buffer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Transmit<P> {
    /// The peer to send it to (the key the host passed in).
    pub peer: P,
    /// Bytes written.
    pub len: usize,
}

/// Something the host acts on, from
/// [`ServerSession::poll_event`](super::ServerSession::poll_event).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionEvent<P> {
    /// An event of the server core for the host's mitigator (start, update, stop a mitigation;
    /// session configuration changes; conflicts). The session has already applied what
    /// concerns it (the parameters of the peer's transaction layer and heartbeats).
    Server(ServerEvent),
    /// No traffic at all arrived from the peer for `missing-hb-allowed` × `heartbeat-interval`
    /// (over TCP: a heartbeat of the server stayed unanswered for `heartbeat-interval`): the
    /// peer's session is dead (RFC 9132 Section 4.7). Its state is dropped; the host may close
    /// its transport.
    PeerLost {
        /// The peer.
        peer: P,
        /// Its cuid.
        cuid: Arc<str>,
        /// The signal session of the client is lost: the session called
        /// [`SignalServer::session_lost`](crate::signal::server::SignalServer::session_lost),
        /// the client's preconfigured requests are triggered (their
        /// [`ServerEvent::TriggeredBySignalLoss`] events follow) and its observations are gone.
        /// `false` when another peer with the same cuid is alive (the client moved to another
        /// transport): only this peer's state ended.
        session_lost: bool,
    },
    /// The client's `peer-hb-status` changed: `false` when it reports that it does not receive
    /// the server's heartbeats (RFC 9132 Section 4.7; the session already sends its
    /// heartbeats right after the client's ones), `true` when it receives them again.
    PeerHeartbeatStatus {
        /// The peer.
        peer: P,
        /// Its cuid.
        cuid: Arc<str>,
        /// What the client reported.
        receiving: bool,
    },
    /// The session parameters in force for the peer changed (idle ↔ mitigating, or a new
    /// configuration); the session applied them to its transaction layer and heartbeats.
    ParametersChanged {
        /// The peer.
        peer: P,
        /// The set now in force.
        phase: ConfigPhase,
    },
    /// TCP/TLS: the CoAP connection ended (Abort or Release, RFC 8323 Sections 5.5, 5.6): the
    /// host closes the transport and then calls
    /// [`peer_closed`](super::ServerSession::peer_closed).
    CloseTransport {
        /// The peer.
        peer: P,
    },
}

/// Counters of a [`ServerSession`](super::ServerSession).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionStats {
    /// Datagrams received.
    pub datagrams: u64,
    /// Stream bytes received (TCP/TLS).
    pub stream_bytes: u64,
    /// Datagrams and frames handed to the host.
    pub transmitted: u64,
    /// Requests handed to the server core.
    pub requests: u64,
    /// Non-confirmable requests dropped as duplicates (RFC 7252 Section 4.5).
    pub duplicates: u64,
    /// Datagrams dropped because [`SessionConfig::max_endpoints`](super::SessionConfig) were in use.
    pub dropped_busy: u64,
    /// Datagrams from new peers refused at [`SessionConfig::max_peers`](super::SessionConfig).
    pub refused_peers: u64,
    /// Resets and acknowledgements that matched nothing the session sent.
    pub unmatched: u64,
    /// Heartbeats the server sent.
    pub heartbeats_sent: u64,
    /// Responses to them.
    pub heartbeats_answered: u64,
    /// Heartbeats received from clients.
    pub client_heartbeats: u64,
    /// Notifications sent.
    pub notifications_sent: u64,
    /// Notifications dropped (queue full, or larger than a message).
    pub notifications_dropped: u64,
    /// Observations removed because the client rejected a notification (RST).
    pub observations_reset: u64,
    /// Responses replaced by 5.00 because they fit neither a message nor a block-wise body.
    pub oversized_responses: u64,
    /// Peers whose session was lost (deadman).
    pub peers_lost: u64,
    /// Endpoints allocated (the rest came from the pool).
    pub endpoint_allocations: u64,
    /// Endpoints lent to peers (allocated or from the pool).
    pub endpoint_loans: u64,
    /// Events dropped because the queue was full.
    pub events_dropped: u64,
}

/// A view of one peer's session, for the host (and tests).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PeerInfo {
    /// The authenticated cuid.
    pub cuid: Arc<str>,
    /// Whether the peer is a trusted gateway.
    pub trusted_gateway: bool,
    /// UDP/DTLS or TCP/TLS.
    pub transport: Transport,
    /// The session-configuration set in force.
    pub phase: ConfigPhase,
    /// The transmission parameters in force.
    pub parameters: TransmissionParameters,
    /// `heartbeat-interval` in force (`None`: heartbeats disabled).
    pub heartbeat_interval: Option<Duration>,
    /// `missing-hb-allowed` in force.
    pub missing_hb_allowed: u16,
    /// When anything last arrived from the peer.
    pub last_received: Instant,
    /// When the server's next heartbeat goes.
    pub next_heartbeat: Option<Instant>,
    /// When the session counts as lost if nothing arrives before.
    pub lost_at: Option<Instant>,
    /// Smoothed round-trip time from the server's heartbeats.
    pub rtt: Option<Duration>,
    /// Observations held (CoAP Observe registrations).
    pub observations: usize,
    /// Whether an endpoint is lent to the peer now.
    pub endpoint_held: bool,
    /// The transport failed ([`peer_failed`](super::ServerSession::peer_failed)); the deadman
    /// still runs.
    pub detached: bool,
}
