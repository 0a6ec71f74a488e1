//! Configuration of a [`ServerSession`](super::ServerSession), its limits, and the CoAP endpoint
//! it lends to a peer while an exchange is in progress.

use core::time::Duration;

use crate::coap::Endpoint;

/// Largest CoAP message the session sends or keeps: RFC 7252 Section 4.6's 1152 bytes, which
/// fit the 1280-byte PMTU RFC 9132 Section 7.3 tells DOTS agents to assume, DTLS included. Notifications
/// (never block-wise, RFC 9132 Section 4.4.2.1) and responses larger than this go block-wise
/// or are dropped and counted.
pub const MAX_MESSAGE_SIZE: usize = 1152;

/// Largest response body the session serves block-wise (Block2, Q-Block2): a GET of all of a
/// client's mitigations at the default quota (64 scopes) fits. A larger representation is
/// answered 5.00 with a diagnostic.
pub const MAX_BODY_SIZE: usize = 8192;

/// The endpoint a peer uses while an exchange is in progress: one outgoing slot (the session
/// sends its heartbeats and notifications itself), two inbound records, one observer slot
/// (released as soon as a registration is answered: the session keeps the observers), messages
/// of [`MAX_MESSAGE_SIZE`], bodies of [`MAX_BODY_SIZE`]. About 25 KiB, held only while a
/// UDP peer has an exchange in progress (and for the life of a TCP connection).
pub type SessionEndpoint = Endpoint<1, 2, 1, MAX_MESSAGE_SIZE, MAX_BODY_SIZE, 1280>;

/// RFC 9132 Section 4.4.2.1: without an RTT estimate, "MUST NOT send more than one asynchronous
/// notification every 3 seconds".
pub const NOTIFICATION_SPACING: Duration = Duration::from_secs(3);

/// The shortest time between two heartbeats the server sends to one peer when it answers a
/// client heartbeat reporting `peer-hb-status` false at once (RFC 9132 Section 4.7 suggests
/// "send a server-initiated heartbeat immediately after receiving a client-initiated heartbeat
/// message"): a client cannot make the server send more than one extra heartbeat per second.
pub const MIN_HEARTBEAT_SPACING: Duration = Duration::from_secs(1);

/// Recent non-confirmable request message IDs remembered per peer while no endpoint is held,
/// to drop duplicates (RFC 7252 Section 4.5).
pub const DEDUP_RECORDS: usize = 4;

/// Message IDs of recent notifications remembered per observation, to recognise a Reset of
/// one (RFC 7641 Section 3.6).
pub const RECENT_NOTIFICATIONS: usize = 2;

/// The largest number of Uri-Path or Uri-Query options of a request the session hands to the
/// core; a request with more is answered 4.04 (no DOTS resource is that deep).
pub const MAX_PATH_SEGMENTS: usize = 16;

/// Limits and policy of a [`ServerSession`](super::ServerSession).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionConfig {
    /// Peers (transport sessions) with state; datagrams from further peers are dropped and
    /// counted in [`SessionStats::refused_peers`](super::SessionStats).
    pub max_peers: usize,
    /// Endpoints lent to peers at once (each about 25 KiB); a datagram that needs one when
    /// none is left is dropped (the client retransmits) and counted in
    /// [`SessionStats::dropped_busy`](super::SessionStats). TCP peers hold one each.
    pub max_endpoints: usize,
    /// Released endpoints kept for reuse rather than freed.
    pub endpoint_pool: usize,
    /// Messages the session itself queues for one peer (heartbeats, empty ACKs and
    /// notifications waiting for their pacing); more notifications are dropped and counted.
    pub max_queued_per_peer: usize,
    /// Observations one peer may hold (a direct client holds at most the core's
    /// `max_observers`; a gateway holds those of every client it relays).
    pub max_observations_per_peer: usize,
    /// Spacing of notifications to a peer without an RTT estimate (from the server's heartbeats)
    /// ([`NOTIFICATION_SPACING`]); with one, a notification per smoothed RTT.
    pub notification_spacing: Duration,
    /// How often the status of observed running mitigations is sent again (RFC 9132 Section
    /// 4.4.2.1: "the DOTS server periodically sends attack mitigation status"). `None`: every
    /// `heartbeat-interval` of the parameters in force (none when heartbeats are disabled).
    pub status_period: Option<Duration>,
    /// Events kept for [`poll_event`](super::ServerSession::poll_event); beyond, the oldest are
    /// dropped and counted.
    pub max_events: usize,
}

impl Default for SessionConfig {
    /// 200,000 peers, 4,096 endpoints at once (about 100 MiB at most), 64 pooled, 64 queued
    /// messages and 1,024 observations per peer, RFC 9132 pacing, periodic status every
    /// heartbeat interval, 65,536 events.
    fn default() -> SessionConfig {
        SessionConfig {
            max_peers: 200_000,
            max_endpoints: 4096,
            endpoint_pool: 64,
            max_queued_per_peer: 64,
            max_observations_per_peer: 1024,
            notification_spacing: NOTIFICATION_SPACING,
            status_period: None,
            max_events: 65_536,
        }
    }
}
