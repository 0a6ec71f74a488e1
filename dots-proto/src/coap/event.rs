//! What an endpoint reports: events, the received-message view they carry, identifiers, errors
//! and statistics.

use dots_codec::coap::{BuildError, Code, HopLimit, MessageType, Options, Token};
use thiserror::Error;

use super::params::ParameterError;

/// A request this endpoint sent (or queued), from [`Endpoint::request`](super::Endpoint::request).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub(crate) u32);

/// A request received from the peer, to answer with
/// [`Endpoint::respond`](super::Endpoint::respond).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InboundId(pub(crate) u32);

/// A peer registered as an observer of a resource here (RFC 7641), to send notifications to with
/// [`Endpoint::notify`](super::Endpoint::notify).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObserverId(pub(crate) u32);

/// A received request or response, borrowed from the endpoint until the next
/// [`poll_event`](super::Endpoint::poll_event).
#[derive(Clone, Copy, Debug)]
pub struct Incoming<'a> {
    /// Method or response code.
    pub code: Code,
    /// The token.
    pub token: Token,
    /// CON or NON over UDP (ACK for a piggybacked response); `None` over TCP/TLS.
    pub ty: Option<MessageType>,
    /// The options of the message (for a body received block-wise, of its last block).
    pub options: Options<'a>,
    /// The payload; for a body received block-wise (Block2, Q-Block2), the whole body.
    pub payload: &'a [u8],
}

/// What an Observe option in a request asks for (RFC 7641 §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ObserveRequest {
    /// Observe = 0: add the client to the observers when the response is a success.
    Register,
    /// Observe = 1: remove it. The endpoint has already removed the observer, if it had one.
    Deregister,
}

/// Why a request this endpoint sent ended without a (complete) response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailReason {
    /// A CON was not acknowledged after MAX_RETRANSMIT retransmissions (RFC 7252 §4.2), or no
    /// response arrived before the response timeout (NON requests, separate responses, TCP).
    TimedOut,
    /// The peer answered with a Reset (RFC 7252 §4.2, §4.3).
    Reset,
    /// The response body exceeds the reassembly buffer or the configured cap (Size2 or the
    /// blocks received, RFC 7959 §4).
    BodyTooLarge,
    /// Missing blocks of a block-wise body were asked for NON_MAX_RETRANSMIT times without
    /// arriving, or the partial body outlived NON_PARTIAL_TIMEOUT (RFC 9177 §7.2).
    BodyIncomplete,
    /// Another block-wise body is being received; an endpoint reassembles one at a time.
    BodyBusy,
    /// The connection was aborted or released (TCP/TLS).
    ConnectionClosed,
}

/// Why an observation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ObserveEnd {
    /// The server sent a notification without Observe or with an error code (RFC 7641 §3.2).
    ByServer,
    /// The peer rejected a notification with a Reset (RFC 7641 §3.6, §4.2).
    Reset,
    /// A notification was sent with an error code, which ends the observation (RFC 7641 §4.2).
    ErrorNotification,
    /// A CON notification was not acknowledged (RFC 7641 §4.5).
    TimedOut,
    /// The peer deregistered (GET with Observe = 1).
    Deregistered,
    /// The connection was closed.
    ConnectionClosed,
}

/// Something the session has to know about. Borrowed from the endpoint until the next
/// [`poll_event`](super::Endpoint::poll_event) call.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// The peer sent a request: answer it with [`Endpoint::respond`](super::Endpoint::respond)
    /// now (piggybacked) or later (the endpoint acknowledges a CON in time and the response
    /// goes separately).
    Request {
        /// Handle for the answer.
        id: InboundId,
        /// The request.
        request: Incoming<'a>,
        /// The Observe option, if any.
        observe: Option<ObserveRequest>,
        /// The Hop-Limit option, if any (RFC 8768); see [`hop`](super::hop) for gateways.
        hop_limit: Option<HopLimit>,
    },
    /// The response to a request (for an Observe registration, the first one).
    Response {
        /// The request.
        request: RequestId,
        /// The response; `payload` is the whole body when it came block-wise.
        response: Incoming<'a>,
        /// The Observe sequence number when the response established an observation.
        observe: Option<u32>,
    },
    /// A fresh notification of an observation (RFC 7641 §3.2, §3.4). Stale and duplicate
    /// notifications are dropped and counted in [`Stats::stale_notifications`].
    Notification {
        /// The registration request.
        request: RequestId,
        /// The notification.
        response: Incoming<'a>,
        /// Its Observe sequence number.
        sequence: u32,
    },
    /// An observation this endpoint held ended (the client side).
    ObserveCancelled {
        /// The registration request.
        request: RequestId,
        /// Why.
        reason: ObserveEnd,
    },
    /// A request ended without a response; the endpoint forgot it.
    RequestFailed {
        /// The request.
        request: RequestId,
        /// Why.
        reason: FailReason,
    },
    /// An observer of a resource here was removed (the server side).
    ObserverRemoved {
        /// The observer.
        observer: ObserverId,
        /// Why.
        reason: ObserveEnd,
    },
    /// The peer sent a Reset for message `message_id` (RFC 7252 §4.2, §4.3).
    PeerReset {
        /// The rejected message's ID.
        message_id: u16,
    },
    /// TCP/TLS: the peer's Capabilities and Settings Message (RFC 8323 §5.3).
    CsmReceived {
        /// The peer's Max-Message-Size (its previous value, or 1152, when absent).
        max_message_size: u32,
        /// The peer supports block-wise transfer.
        block_wise_transfer: bool,
    },
    /// TCP/TLS: the Pong answering our Ping arrived (RFC 8323 §5.4).
    Pong {
        /// The Ping's token.
        token: Token,
    },
    /// TCP/TLS: no Pong arrived in time for our Ping.
    PingTimedOut,
    /// TCP/TLS: the peer sent a Release (RFC 8323 §5.5); no new requests may be sent.
    Released {
        /// Hold-Off in seconds, if given.
        hold_off: Option<u32>,
        /// The first Alternative-Address (an RFC 3986 authority to reconnect to), if given.
        alternative_address: Option<&'a str>,
    },
    /// TCP/TLS: the connection is aborted (RFC 8323 §5.6): the caller closes it.
    Aborted {
        /// The peer sent the Abort (else this endpoint did, for a protocol violation).
        by_peer: bool,
        /// The diagnostic payload.
        diagnostic: &'a str,
    },
}

/// Misuse of a command; the endpoint is unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Error)]
#[non_exhaustive]
pub enum CommandError {
    /// Every outgoing slot is in use (in flight, queued or observing): the `OUT` capacity.
    #[error("outgoing request queue is full")]
    QueueFull,
    /// The message does not fit the endpoint's message storage (`MSG`) or the peer's
    /// Max-Message-Size, and cannot go block-wise.
    #[error("message of {needed} bytes exceeds the limit of {limit}")]
    MessageTooLarge {
        /// Encoded size.
        needed: usize,
        /// The limit.
        limit: usize,
    },
    /// A body exceeds the body buffer (`BODY`) or the block-wise limits.
    #[error("body of {needed} bytes exceeds the limit of {limit}")]
    BodyTooLarge {
        /// Body size.
        needed: usize,
        /// The limit.
        limit: usize,
    },
    /// Another block-wise body is being sent.
    #[error("another block-wise body is being sent")]
    BodyBusy,
    /// The request, inbound request or observer is unknown or already answered.
    #[error("unknown or finished exchange")]
    UnknownId,
    /// The options could not be built.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// The code is not a method (for a request) or not a response code (for a response).
    #[error("code {0} is not valid here")]
    InvalidCode(Code),
    /// Invalid transmission parameters.
    #[error(transparent)]
    Parameters(#[from] ParameterError),
    /// TCP/TLS: the connection was released or aborted; nothing more can be sent.
    #[error("connection closed")]
    Closed,
    /// The command needs the other transport (UDP-only or TCP-only).
    #[error("not available on this transport")]
    WrongTransport,
}

/// Counters of what the endpoint did and dropped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Stats {
    /// Datagrams or frames handed to the caller.
    pub transmitted: u64,
    /// Bytes handed to the caller.
    pub transmitted_bytes: u64,
    /// Datagrams or frames received.
    pub received: u64,
    /// CON retransmissions, NON request repetitions and re-sent blocks.
    pub retransmissions: u64,
    /// Duplicate messages detected (RFC 7252 §4.5).
    pub duplicates: u64,
    /// Malformed messages dropped or rejected.
    pub malformed: u64,
    /// Resets sent.
    pub resets_sent: u64,
    /// Resets received.
    pub resets_received: u64,
    /// Empty ACKs sent for requests answered later.
    pub empty_acks_sent: u64,
    /// Requests that failed (all reasons).
    pub requests_failed: u64,
    /// Notifications dropped as stale by the RFC 7641 §3.4 check.
    pub stale_notifications: u64,
    /// Messages dropped because a bounded table or queue was full.
    pub dropped_no_capacity: u64,
    /// Messages ignored because nothing matched them (unknown ACK, Reset, Pong, ...).
    pub unmatched: u64,
    /// Requests for missing blocks sent (RFC 9177).
    pub missing_block_requests: u64,
    /// Responses answered from the response cache (duplicates of CON requests).
    pub cached_responses: u64,
}
