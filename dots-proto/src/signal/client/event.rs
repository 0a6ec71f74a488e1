//! What the client session reports: events, the operations they concern, errors and counters.

use core::net::IpAddr;
use core::time::Duration;

use dots_codec::coap::Code;
use dots_codec::model::{ConflictInformation, Lifetime, MitigationStatus, ValidationError};
use thiserror::Error;

use super::config::{Phase, SessionParameters};
use crate::coap::FailReason;

/// A DOTS request the session sent: what an [`Event::Response`], [`Event::RequestFailed`] or
/// [`Event::ObservationEnded`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// PUT `/mitigate/cuid=C/mid=M`: a new request or a refresh (RFC 9132 Section 4.4.1).
    PutMitigation {
        /// `mid`.
        mid: u32,
    },
    /// PUT `/mitigate/cuid=C/mid=M` with If-Match: an efficacy update (Section 4.4.3).
    EfficacyUpdate {
        /// `mid`.
        mid: u32,
    },
    /// GET `/mitigate/cuid=C[/mid=M]` (Section 4.4.2), with or without Observe.
    GetMitigations {
        /// `mid`; `None` for all the client's mitigations.
        mid: Option<u32>,
    },
    /// DELETE `/mitigate/cuid=C/mid=M` (Section 4.4.4).
    DeleteMitigation {
        /// `mid`.
        mid: u32,
    },
    /// GET `/config[/sid=S]` (Sections 4.5.1, 4.5.3).
    GetConfig {
        /// `sid`.
        sid: Option<u32>,
    },
    /// PUT `/config/sid=S` (Section 4.5.2).
    PutConfig {
        /// `sid`.
        sid: u32,
    },
    /// DELETE `/config[/sid=S]` (Section 4.5.4).
    DeleteConfig {
        /// `sid`.
        sid: Option<u32>,
    },
    /// PUT `/hb` (Section 4.7).
    Heartbeat,
    /// PUT `/tm-setup/cuid=C/tsid=T` (RFC 9244 Section 7).
    PutTelemetrySetup {
        /// `tsid`.
        tsid: u32,
    },
    /// GET `/tm-setup/cuid=C[/tsid=T]` (RFC 9244 Sections 7.1.1, 7.1.3).
    GetTelemetrySetup {
        /// `tsid`.
        tsid: Option<u32>,
    },
    /// DELETE `/tm-setup/cuid=C[/tsid=T]` (RFC 9244 Sections 7.1.4, 7.4).
    DeleteTelemetrySetup {
        /// `tsid`.
        tsid: Option<u32>,
    },
    /// PUT `/tm/cuid=C/tmid=T` (RFC 9244 Section 8.2).
    PutTelemetry {
        /// `tmid`.
        tmid: u32,
    },
    /// GET `/tm/cuid=C[/tmid=T]` (RFC 9244 Section 8.3), with or without Observe.
    GetTelemetry {
        /// `tmid`.
        tmid: Option<u32>,
    },
    /// DELETE `/tm/cuid=C[/tmid=T]` (RFC 9244 Section 8.2).
    DeleteTelemetry {
        /// `tmid`.
        tmid: Option<u32>,
    },
    /// PUT `/redirect` of a Call Home DOTS client (RFC 9066 Section 5.2.2).
    CallHomeRedirect,
}

/// The RFC 9132 Section 4.4.2 counters of a mitigation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Counters {
    /// `bytes-dropped`.
    pub bytes_dropped: Option<u64>,
    /// `bps-dropped`.
    pub bps_dropped: Option<u64>,
    /// `pkts-dropped`.
    pub pkts_dropped: Option<u64>,
    /// `pps-dropped`.
    pub pps_dropped: Option<u64>,
}

/// Why the session was declared lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LostReason {
    /// `missing-hb-allowed` consecutive heartbeats went unanswered outside attack time (RFC
    /// 9132 Section 4.7); over TCP, one heartbeat unanswered within `heartbeat-interval`.
    Heartbeat,
    /// TCP/TLS: the peer aborted or released the connection (RFC 8323 Sections 5.5, 5.6).
    ConnectionClosed,
    /// The host called [`SignalClient::close`](super::SignalClient::close).
    Closed,
}

/// How long a redirection holds (RFC 9132 Section 4.6: the Max-Age of the 5.03).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RedirectTtl {
    /// Max-Age 0: only the request in progress goes to the alternate server.
    ThisRequest,
    /// The alternate server may be used this long, then the client falls back to the
    /// provisioned server ([`Event::RedirectExpired`]).
    For(Duration),
    /// Max-Age 2^32-1: until the alternate server redirects again.
    Infinite,
}

/// Something the host has to know about. Borrowed from the client until the next
/// [`poll_event`](super::SignalClient::poll_event).
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// The server accepted a mitigation request: 2.01 (created) or 2.04 (a refresh, or a
    /// repeated request it already had), with the granted lifetime.
    MitigationAccepted {
        /// `mid`.
        mid: u32,
        /// 2.01 or 2.04.
        code: Code,
        /// The granted lifetime (RFC 9132 Section 4.4.1.1: "MUST always indicate the actual
        /// lifetime in the response").
        lifetime: Option<Lifetime>,
        /// `conflict-information` of a 2.01 for a request that conflicts with another
        /// client's (Section 4.4.1.3).
        conflict: Option<&'a ConflictInformation>,
    },
    /// A mitigation's status, from a GET response or an Observe notification (RFC 9132
    /// Section 4.4.2), one event per scope.
    MitigationStatus {
        /// `mid`.
        mid: u32,
        /// `status`.
        status: Option<MitigationStatus>,
        /// The remaining lifetime.
        lifetime: Option<Lifetime>,
        /// The counters.
        counters: Counters,
        /// `mitigation-start` (seconds since the Unix epoch).
        mitigation_start: Option<u64>,
        /// `conflict-information` (a conflict notification, Section 4.4.2.1); also kept in
        /// [`Mitigation::conflict`](super::Mitigation::conflict).
        conflict: Option<&'a ConflictInformation>,
        /// From an Observe notification (else from a GET response).
        notification: bool,
    },
    /// RFC 9244 Section 9.2 telemetry the server attached to a scope's status: the scope as a
    /// one-scope `mitigation-scope` body; decode it with
    /// [`EfficacyUpdate::decode_cbor`](dots_codec::model::EfficacyUpdate) (`telemetry`).
    /// Empty when it did not fit the event storage ([`ClientStats::bodies_dropped`]).
    ScopeTelemetry {
        /// `mid`.
        mid: u32,
        /// The CBOR body.
        body: &'a [u8],
    },
    /// 4.09 (Conflict) to a mitigation request (RFC 9132 Section 4.4.1.3). The request stays
    /// in the table in the [`Conflicted`](super::MitigationState::Conflicted) state: with a
    /// `retry-timer`, the client sends it again once the timer expires; without one, the host
    /// decides ([`withdraw`](super::SignalClient::withdraw_mitigation) or
    /// [`forget_mitigation`](super::SignalClient::forget_mitigation)).
    Conflict {
        /// `mid`.
        mid: u32,
        /// The `conflict-information`.
        information: &'a ConflictInformation,
    },
    /// 4.09 with `conflict-cause` 3: the `cuid` is in use by another client. The host MUST
    /// derive a new one (RFC 9132 Section 4.4.1.1) and call
    /// [`set_cuid`](super::SignalClient::set_cuid); the request is sent again with it.
    CuidCollision {
        /// The `mid` that was refused.
        mid: u32,
    },
    /// A mitigation request was refused (4.00, 4.04, 4.13, 4.22, 5.xx ...). After a 4.xx the
    /// request is dropped; after a 5.03 it is sent again after `retry_after`.
    MitigationRejected {
        /// `mid`.
        mid: u32,
        /// The response code.
        code: Code,
        /// Max-Age of a 5.03: when the client tries again.
        retry_after: Option<Duration>,
        /// RFC 9133 Section 3.2.1: the server failed to apply the `acl-list`. The client
        /// already sent the request again without it; the host may retry with the ACLs (a new
        /// request, hence a new `mid`) after `retry_after`.
        acl_failure: bool,
        /// The diagnostic payload (UTF-8), if any.
        diagnostic: &'a str,
    },
    /// 2.04 to an efficacy update (RFC 9132 Section 4.4.3).
    EfficacyUpdated {
        /// `mid`.
        mid: u32,
    },
    /// 2.02 to a withdrawal (RFC 9132 Section 4.4.4). The mitigation may stay active but
    /// terminating for a while (status 5).
    MitigationWithdrawn {
        /// `mid`.
        mid: u32,
    },
    /// A mitigation's lifetime ran out without a confirmed refresh, the server reported it
    /// terminated (status 6), or a newer overlapping request of the client was created (the
    /// server deletes the older one, RFC 9132 Section 4.4.1.3): it is gone from the table. (A
    /// pre-configured request is sent again instead.)
    MitigationEnded {
        /// `mid`.
        mid: u32,
    },
    /// The `mid` counter reached 3221225471 with no attack detected and restarted at 0 (RFC
    /// 9132 Section 4.4.1.1); the pre-configured requests are re-created with new `mid`s from
    /// 0 (their old `mid`s are withdrawn first). The host should persist
    /// [`next_mid`](super::SignalClient::next_mid).
    MidRollover {
        /// Pre-configured requests re-created.
        recreated: usize,
    },
    /// The mitigation activity changed and the other configuration set now applies (RFC 9132
    /// Section 4.5: "MUST automatically switch"); its transmission parameters are applied to
    /// the endpoint and its heartbeat interval to the heartbeats.
    PhaseChanged {
        /// The phase now in force.
        phase: Phase,
        /// Its parameters.
        parameters: SessionParameters,
    },
    /// New session parameters are in force (a configuration response, PUT, DELETE or
    /// notification).
    ConfigApplied {
        /// The `sid` of the client's configuration, if one is installed.
        sid: Option<u32>,
        /// The response code (2.01, 2.04, 2.05, 2.02).
        code: Code,
    },
    /// A configuration request failed (4.22 for unacceptable values, 4.00, 4.04 ...). After
    /// a 4.22 the client fetches the acceptable ranges and tries once more with values clamped
    /// into them.
    ConfigRejected {
        /// The `sid` concerned.
        sid: Option<u32>,
        /// The response code.
        code: Code,
        /// The diagnostic payload.
        diagnostic: &'a str,
    },
    /// During an attack, `missing-hb-allowed` heartbeats went unanswered (RFC 9132 Section
    /// 4.7): the session is kept and still sends heartbeats, and the host SHOULD open a new
    /// session in parallel (see [`SignalClient::mirror_mitigations`](super::SignalClient::mirror_mitigations))
    /// and send the mitigation requests over both.
    SessionDegraded {
        /// Consecutive heartbeats unanswered.
        missed_heartbeats: u16,
    },
    /// Traffic from the server arrived again on a degraded session: the parallel session
    /// attempt can stop (or the older session close, whichever the host prefers).
    SessionRecovered,
    /// The session is lost. The host re-establishes it (preferably by resuming the (D)TLS
    /// session) and calls [`reconnected`](super::SignalClient::reconnected); if an attempt
    /// fails, it calls [`connection_failed`](super::SignalClient::connection_failed) and waits
    /// for [`Event::ReconnectAllowed`].
    SessionLost {
        /// Why.
        reason: LostReason,
    },
    /// The reconnection pacing interval after a failed attempt elapsed (RFC 9132 Section 4.7:
    /// not more often than every 60 s, by default every 300 s): the host may try again.
    ReconnectAllowed,
    /// The server redirected the client (5.03 with `redirected-signal`, RFC 9132 Section
    /// 4.6). The host connects to the alternate server (Happy Eyeballs, Section 4.3) and calls
    /// [`reconnected`](super::SignalClient::reconnected) with its name; unacknowledged requests
    /// are then sent there.
    Redirected {
        /// `alt-server`.
        alt_server: &'a str,
        /// `alt-server-record`.
        alt_server_record: &'a [IpAddr],
        /// How long the redirection holds.
        ttl: RedirectTtl,
    },
    /// A redirection to a server used within the last five minutes was ignored (RFC 9132
    /// Section 4.6: "MUST ignore the redirection"): the host should try the other servers it
    /// knows of, and alert the administrator of a redirect loop.
    RedirectIgnored,
    /// The redirection's TTL expired (outside attack time): the host falls back to the
    /// provisioned server (RFC 9132 Section 4.6) and calls
    /// [`reconnected`](super::SignalClient::reconnected).
    RedirectExpired,
    /// A `/tm-setup` response or notification (RFC 9244 Section 7). `body` is a
    /// `telemetry-setup` body for [`TelemetrySetup::decode_cbor`](dots_codec::model::TelemetrySetup)
    /// (2.05), a diagnostic otherwise; empty when it did not fit the event storage.
    TelemetrySetup {
        /// The operation.
        operation: Operation,
        /// The response code.
        code: Code,
        /// The payload.
        body: &'a [u8],
    },
    /// A `/tm` response or notification (RFC 9244 Section 8): a `telemetry` body for
    /// [`Telemetry::decode_cbor`](dots_codec::model::Telemetry) (2.05), a diagnostic otherwise.
    Telemetry {
        /// The operation.
        operation: Operation,
        /// The response code.
        code: Code,
        /// The payload.
        body: &'a [u8],
        /// From an Observe notification.
        notification: bool,
    },
    /// Any other response (a GET that found nothing, a Call Home redirect answer ...).
    Response {
        /// The operation.
        operation: Operation,
        /// The response code.
        code: Code,
        /// The diagnostic payload (UTF-8), if any.
        diagnostic: &'a str,
    },
    /// A request got no response in time (after its retransmissions). Mitigation requests,
    /// refreshes and withdrawals are sent again by the client; heartbeats are counted.
    RequestFailed {
        /// The operation.
        operation: Operation,
        /// Why.
        reason: FailReason,
    },
    /// An observation ended (deregistered, ended by the server, or by the session).
    ObservationEnded {
        /// The registration.
        operation: Operation,
    },
}

/// Misuse of a command; nothing changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CommandError {
    /// The `cuid` is empty, longer than [`MAX_CUID_LEN`](super::MAX_CUID_LEN) or has
    /// characters that cannot go in a Uri-Path `name=value` segment.
    #[error("invalid cuid")]
    InvalidCuid,
    /// The request body is not a valid DOTS request (RFC 9132 Section 4.4.1).
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The mitigation table (`MITIGATIONS`) is full.
    #[error("mitigation table is full")]
    TableFull,
    /// No mitigation with this `mid` in the table.
    #[error("unknown mitigation {mid}")]
    UnknownMitigation {
        /// The `mid`.
        mid: u32,
    },
    /// The mitigation is not in a state that allows this (an efficacy update for a request
    /// the server has not accepted, a change while it is withdrawn ...).
    #[error("mitigation {mid} cannot do this in its current state")]
    WrongState {
        /// The `mid`.
        mid: u32,
    },
    /// `mid`, `tsid`, `tmid` or `sid` cannot increase any more (an attack holds off the
    /// RFC 9132 Section 4.4.1.1 rollover until 2^32-1 is used).
    #[error("identifier space exhausted")]
    IdentifiersExhausted,
    /// The body does not fit the encoding buffer (`BODY`) or a message.
    #[error("body of {needed} bytes does not fit {limit}")]
    TooLarge {
        /// Bytes needed.
        needed: usize,
        /// The limit.
        limit: usize,
    },
    /// The session is lost: only mitigation commands are accepted (they are sent after
    /// [`reconnected`](super::SignalClient::reconnected)).
    #[error("the session is lost")]
    SessionLost,
    /// The CoAP endpoint refused the request (queue full, connection closed ...).
    #[error(transparent)]
    Endpoint(#[from] crate::coap::CommandError),
    /// The `cuid` cannot change while mitigations are active (RFC 9132 Section 4.4.1.1).
    #[error("cuid cannot change while mitigations are active")]
    MitigationsActive,
    /// Nothing to do: no such observation, no configuration negotiated ...
    #[error("nothing to act on")]
    NotFound,
}

/// Counters of what the client did and dropped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ClientStats {
    /// Heartbeats sent.
    pub heartbeats_sent: u64,
    /// Heartbeats that got no response before the next one was due.
    pub heartbeats_missed: u64,
    /// Heartbeats received from the server (and answered).
    pub server_heartbeats: u64,
    /// Observe notifications received.
    pub notifications: u64,
    /// Mitigation PUTs sent (new requests and refreshes).
    pub mitigation_puts: u64,
    /// Lifetime refreshes sent.
    pub refreshes: u64,
    /// Events dropped because the event queue was full.
    pub events_dropped: u64,
    /// Event bodies (telemetry, diagnostics) dropped because the event storage was full.
    pub bodies_dropped: u64,
    /// Response bodies that could not be decoded.
    pub malformed_bodies: u64,
    /// Redirections ignored (ping-pong, or Call Home where they are not allowed).
    pub redirects_ignored: u64,
    /// Requests from the server other than heartbeats (answered 4.04/4.05).
    pub unexpected_requests: u64,
    /// Internal sends that found the endpoint's queue full (retried later).
    pub queue_full: u64,
    /// Negotiated transmission parameters the endpoint refused (kept the previous ones).
    pub parameters_refused: u64,
}

/// An event as queued: small and owned; the borrowed parts live in the client.
#[derive(Clone, Copy, Debug)]
pub(crate) enum EvRec {
    Accepted {
        mid: u32,
        code: Code,
        lifetime: Option<Lifetime>,
        conflict: bool,
    },
    Status {
        mid: u32,
        status: Option<MitigationStatus>,
        lifetime: Option<Lifetime>,
        counters: Packed,
        conflict: bool,
        notification: bool,
    },
    ScopeTelemetry {
        mid: u32,
        body: Span,
    },
    Conflict {
        mid: u32,
    },
    CuidCollision {
        mid: u32,
    },
    Rejected {
        mid: u32,
        code: Code,
        retry_after: Option<Duration>,
        acl_failure: bool,
        diag: Span,
    },
    EfficacyUpdated {
        mid: u32,
    },
    Withdrawn {
        mid: u32,
    },
    Ended {
        mid: u32,
    },
    MidRollover {
        recreated: usize,
    },
    PhaseChanged {
        phase: Phase,
    },
    ConfigApplied {
        sid: Option<u32>,
        code: Code,
    },
    ConfigRejected {
        sid: Option<u32>,
        code: Code,
        diag: Span,
    },
    Degraded {
        missed: u16,
    },
    Recovered,
    Lost {
        reason: LostReason,
    },
    ReconnectAllowed,
    Redirected {
        ttl: RedirectTtl,
    },
    RedirectIgnored,
    RedirectExpired,
    TelemetrySetup {
        operation: Operation,
        code: Code,
        body: Span,
    },
    Telemetry {
        operation: Operation,
        code: Code,
        body: Span,
        notification: bool,
    },
    Response {
        operation: Operation,
        code: Code,
        diag: Span,
    },
    Failed {
        operation: Operation,
        reason: FailReason,
    },
    ObservationEnded {
        operation: Operation,
    },
}

/// Bytes of an event in the client's event storage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: u32,
    pub(crate) len: u32,
}

/// The counters and `mitigation-start` of a status event, packed (a presence mask and the
/// values) to keep queued events small.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Packed {
    mask: u8,
    values: [u64; 5],
}

impl Packed {
    pub(crate) fn new(c: Counters, mitigation_start: Option<u64>) -> Packed {
        let mut p = Packed::default();
        for (i, v) in [
            c.bytes_dropped,
            c.bps_dropped,
            c.pkts_dropped,
            c.pps_dropped,
            mitigation_start,
        ]
        .into_iter()
        .enumerate()
        {
            if let Some(v) = v {
                p.mask |= 1 << i;
                p.values[i] = v;
            }
        }
        p
    }

    fn get(&self, i: usize) -> Option<u64> {
        (self.mask & (1 << i) != 0).then(|| self.values[i])
    }

    pub(crate) fn counters(&self) -> Counters {
        Counters {
            bytes_dropped: self.get(0),
            bps_dropped: self.get(1),
            pkts_dropped: self.get(2),
            pps_dropped: self.get(3),
        }
    }

    pub(crate) fn mitigation_start(&self) -> Option<u64> {
        self.get(4)
    }
}
