//! The sans-IO CoAP transaction layer under the DOTS signal channel: message IDs and tokens,
//! CON retransmission, deduplication, NON requests with their own timeouts, congestion control,
//! Observe, block-wise and Q-Block transfers, Hop-Limit, and CoAP over TCP/TLS.
//!
//! | RFC | what [`Endpoint`] does |
//! |---|---|
//! | RFC 7252 §4 | message IDs and tokens from a seeded PRNG; CON retransmission with exponential back-off from the [`TransmissionParameters`] in force; deduplication for EXCHANGE_LIFETIME / NON_LIFETIME answering duplicate CONs from a bounded response cache; RST for what cannot be matched; empty ACK then separate response when the session answers late |
//! | RFC 7252 §4.7 | NSTART outstanding interactions, further requests queued (bounded); PROBING_RATE towards a peer that does not respond; per request, exemptions for DOTS: heartbeats from NSTART ([`Request::nstart_exempt`]), mitigation requests from PROBING_RATE ([`Request::probing_exempt`], RFC 9132 §4.4) |
//! | RFC 7641 | client: registration, deregistration, forgetting, the §3.4 freshness check; server: a bounded observer registry, NON notifications by default (RFC 9132 §4.4.2.1), increasing sequence numbers, removal on RST or error notification |
//! | RFC 7959 | Block2 served from a bounded body buffer with ETag and Size2, reassembled with a size cap and restarted on ETag change; Block1 request bodies, one block per exchange acknowledged by 2.31 |
//! | RFC 9177 | Q-Block2: bursts of MAX_PAYLOADS, NON_TIMEOUT_RANDOM between them, 'Continue', missing-block requests after NON_RECEIVE_TIMEOUT, NON_PARTIAL_TIMEOUT; Q-Block1: bursts with Request-Tag and Size1, 2.31 Continue, 4.08 with the missing blocks (application/missing-blocks+cbor-seq) |
//! | RFC 8768 | [`hop`]: Hop-Limit decrement for gateways, 5.08 with the gateway's identity |
//! | RFC 8323 | CSM first, the peer's Max-Message-Size honoured, Ping/Pong, Release, Abort on protocol violation, no message IDs or retransmission |
//!
//! # Driving an endpoint
//!
//! See [`Endpoint`] for the poll order and the time rule. A client and a server on one virtual
//! clock, with the datagrams passed by hand:
//!
//! ```
//! use dots_codec::coap::{Code, ContentFormat, OptionList};
//! use dots_proto::coap::{ClientEndpoint, Config, Event, Request, Response, ServerEndpoint};
//! use dots_proto::time::Instant;
//!
//! let mut client = ClientEndpoint::new(Config::udp(), 1);
//! let mut server = ServerEndpoint::new(Config::udp(), 2);
//! let now = Instant::from_millis(0);
//!
//! // The DOTS client sends a NON PUT (RFC 9132 §4.4.1) and expects a response.
//! let mut options = OptionList::<64>::new();
//! options.set_uri_path("/.well-known/dots/hb")?.set_content_format(ContentFormat::DOTS_CBOR)?;
//! // {"ietf-dots-signal-channel:heartbeat" (49): {"peer-hb-status" (51): true}}
//! let body = [0xa1, 0x18, 0x31, 0xa1, 0x18, 0x33, 0xf5];
//! # use dots_codec::cbor::CborBody;
//! # assert!(dots_codec::model::Heartbeat::decode_cbor(&body)?.peer_hb_status);
//! let id = client.request(now, Request::non(Code::PUT).options(options.as_options()).payload(&body))?;
//!
//! let mut buf = [0u8; 1500];
//! while let Some(t) = client.poll_transmit(now, &mut buf)? {
//!     server.handle_datagram(now, &buf[..t.len]);
//! }
//! // The server session answers from the event, piggybacked or as a NON response.
//! while let Some(event) = server.poll_event() {
//!     if let Event::Request { id, request, .. } = event {
//!         assert_eq!(request.code, Code::PUT);
//!         server.respond(now, id, Response::new(Code::CHANGED))?;
//!     }
//! }
//! while let Some(t) = server.poll_transmit(now, &mut buf)? {
//!     client.handle_datagram(now, &buf[..t.len]);
//! }
//! match client.poll_event() {
//!     Some(Event::Response { request, response, .. }) => {
//!         assert_eq!(request, id);
//!         assert_eq!(response.code, Code::CHANGED);
//!     }
//!     other => panic!("{other:?}"),
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod block;
mod endpoint;
mod event;
pub mod hop;
mod inbound;
mod outbound;
mod params;
mod qblock1;
mod reuse;
mod tcp;
mod timer;
mod wire;

use core::time::Duration;

use dots_codec::coap::{Code, OptionNumber, Options};

/// Request-Tag (RFC 9175 §3.2): opaque 0–8 bytes, elective, safe to forward, repeatable; sent
/// with every Q-Block1 payload of a body (RFC 9177 §4.3).
pub const REQUEST_TAG: OptionNumber = OptionNumber(292);

pub use endpoint::{Endpoint, Transmit};
pub use event::{
    CommandError, Event, FailReason, InboundId, Incoming, ObserveEnd, ObserveRequest, ObserverId,
    RequestId, Stats,
};
pub use params::{ParameterError, RandomFactor, TransmissionParameters, MAX_RETRANSMIT_LIMIT};

/// The largest block-wise body in blocks (any block size): the received/missing bitmaps are
/// this many bits.
pub const MAX_BLOCKS: usize = 1024;

/// Bytes of the session's options kept with a body sent block-wise, repeated in every block
/// (Content-Format, Max-Age, ...; for a request sent with Q-Block1, also its Uri-Path).
pub const BODY_OPTIONS_CAPACITY: usize = 256;

/// Events waiting for [`Endpoint::poll_event`]; more are dropped (and the message behind them,
/// which the peer retransmits if it matters) and counted in [`Stats::dropped_no_capacity`].
pub const EVENT_QUEUE_CAPACITY: usize = 16;

/// A DOTS client endpoint: 8 outgoing requests (in flight, queued or observing), 4 inbound
/// records, 2 observers, 1152-byte messages, 8 KiB block-wise bodies. About 38 KiB, no
/// allocation (checked by a test).
pub type ClientEndpoint = Endpoint<8, 4, 2, 1152, 8192, 2560>;

/// A DOTS server's endpoint for one client: 2 outgoing requests (heartbeats, notifications),
/// 4 inbound records, 4 observers, 1152-byte messages, 4 KiB block-wise bodies. About 21 KiB
/// (checked by a test); a server with many clients and small bodies can pick smaller
/// capacities, e.g. `Endpoint<2, 2, 2, 512, 1024, 512>` at about 8 KiB.
pub type ServerEndpoint = Endpoint<2, 4, 4, 1152, 4096, 1280>;

/// The transport under the endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    /// CoAP over UDP or DTLS (RFC 7252): datagrams through
    /// [`handle_datagram`](Endpoint::handle_datagram).
    Udp,
    /// CoAP over TCP or TLS (RFC 8323): a byte stream through
    /// [`handle_stream_bytes`](Endpoint::handle_stream_bytes).
    Tcp,
}

/// Endpoint configuration fixed at creation; the transmission parameters can change later
/// ([`Endpoint::set_parameters`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Config {
    /// UDP/DTLS or TCP/TLS.
    pub transport: Transport,
    /// The transmission parameters initially in force.
    pub params: TransmissionParameters,
    /// Send Observe notifications as CON. DOTS sends them NON (RFC 9132 §4.4.2.1): `false`.
    pub confirmable_notifications: bool,
    /// Send a separate response to a CON request as CON (else NON). Default `true`.
    pub confirmable_separate_responses: bool,
    /// How long the session may take to answer a CON request before the endpoint sends an
    /// empty ACK and the answer goes as a separate response (RFC 7252 §5.2.2). Default 500 ms,
    /// well below ACK_TIMEOUT so the peer does not retransmit.
    pub ack_delay: Duration,
    /// Largest block size for block-wise bodies (16..=1024; default 1024), lowered to fit the
    /// message storage and the peer's Max-Message-Size.
    pub block_size: u16,
    /// Largest body received block-wise (default: the `BODY` capacity); larger ones fail with
    /// [`FailReason::BodyTooLarge`].
    pub max_body: usize,
    /// Token length (1..=8 bytes; default 8, RFC 7252 §5.3.1).
    pub token_len: u8,
    /// Reset a NON response whose token matches nothing (RFC 7252 §4.3 "MAY"); default `true`,
    /// which lets a server forget observers this endpoint no longer has.
    pub reset_unknown_non: bool,
    /// TCP/TLS: send a Ping after this long without receiving anything, and report
    /// [`Event::PingTimedOut`] when no Pong follows within the same time. Default `None`.
    pub keepalive: Option<Duration>,
}

impl Config {
    /// CoAP over UDP/DTLS with the DOTS defaults.
    #[must_use]
    pub const fn udp() -> Config {
        Config {
            transport: Transport::Udp,
            params: TransmissionParameters::DOTS,
            confirmable_notifications: false,
            confirmable_separate_responses: true,
            ack_delay: Duration::from_millis(500),
            block_size: 1024,
            max_body: usize::MAX,
            token_len: 8,
            reset_unknown_non: true,
            keepalive: None,
        }
    }

    /// CoAP over TCP/TLS with the DOTS defaults.
    #[must_use]
    pub const fn tcp() -> Config {
        Config {
            transport: Transport::Tcp,
            ..Config::udp()
        }
    }

    /// With these transmission parameters.
    #[must_use]
    pub const fn with_params(mut self, params: TransmissionParameters) -> Config {
        self.params = params;
        self
    }
}

impl Default for Config {
    fn default() -> Config {
        Config::udp()
    }
}

/// A request to send with [`Endpoint::request`]: code, options, payload and how to send it.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// The method (0.01–0.31).
    pub code: Code,
    /// The session's options (Uri-Path, Content-Format, ...). The endpoint adds Observe and
    /// block options itself.
    pub options: Options<'a>,
    /// The payload.
    pub payload: &'a [u8],
    /// CON (else NON). Ignored over TCP.
    pub confirmable: bool,
    /// Whether a response is expected: a NON request without one is sent once and forgotten.
    pub expect_response: bool,
    /// Register an Observe relation (Observe = 0, RFC 7641 §3.1).
    pub observe: bool,
    /// Use Q-Block (RFC 9177) both ways: announce Q-Block2 support (§4.1) so that a large
    /// response comes in bursts, and send a payload larger than a block with Q-Block1 (a NON
    /// request only). Otherwise a payload larger than a block goes with Block1 (RFC 7959 §2.5;
    /// over TCP only to a peer that announced Block-Wise-Transfer, else it is
    /// [`CommandError::MessageTooLarge`]).
    pub q_block: bool,
    /// Give up when no response arrived this long after the first transmission. `None`: after
    /// the retransmissions (CON: MAX_RETRANSMIT; NON: `non_retransmit`) and their last timeout,
    /// or EXCHANGE_LIFETIME after an empty ACK (and over TCP).
    pub response_timeout: Option<Duration>,
    /// Repetitions of a NON request expecting a response (fresh message ID, same token), with
    /// timeouts starting at NON_TIMEOUT..NON_TIMEOUT_RANDOM and doubling. `None`:
    /// NON_MAX_RETRANSMIT. DOTS heartbeats use `Some(0)`. A repetition is a new message for
    /// the peer's deduplication, so the peer processes it again when only the response was
    /// lost: fine for DOTS's idempotent PUT, GET and DELETE.
    pub non_retransmit: Option<u8>,
    /// Sent at once, neither waiting for nor counting towards NSTART (RFC 7252 §4.7); still
    /// paced by PROBING_RATE towards a peer that does not respond. For DOTS heartbeats (RFC
    /// 9132 §4.7): paced by their own `heartbeat-interval`, they must neither wait behind a
    /// mitigation request being repeated while its response does not come, nor hold one back
    /// while their own response is outstanding. One such request at a time keeps the
    /// outstanding interactions at NSTART + 1.
    pub nstart_exempt: bool,
    /// Not delayed by PROBING_RATE towards a peer that does not respond, and not counted in
    /// it (RFC 9132 §4.4: "Mitigation requests MUST NOT be delayed because of checks on
    /// probing rate"). NSTART still applies.
    pub probing_exempt: bool,
}

impl<'a> Request<'a> {
    /// A CON request expecting a response.
    #[must_use]
    pub const fn con(code: Code) -> Request<'a> {
        Request {
            code,
            options: Options::EMPTY,
            payload: &[],
            confirmable: true,
            expect_response: true,
            observe: false,
            q_block: false,
            response_timeout: None,
            non_retransmit: None,
            nstart_exempt: false,
            probing_exempt: false,
        }
    }

    /// A NON request expecting a response (how DOTS sends mitigation requests and heartbeats,
    /// RFC 9132 §4.4, §4.7).
    #[must_use]
    pub const fn non(code: Code) -> Request<'a> {
        Request {
            confirmable: false,
            ..Request::con(code)
        }
    }

    /// With these options.
    #[must_use]
    pub const fn options(mut self, options: Options<'a>) -> Request<'a> {
        self.options = options;
        self
    }

    /// With this payload.
    #[must_use]
    pub const fn payload(mut self, payload: &'a [u8]) -> Request<'a> {
        self.payload = payload;
        self
    }

    /// Registering an observation (Observe = 0).
    #[must_use]
    pub const fn observe(mut self) -> Request<'a> {
        self.observe = true;
        self
    }

    /// Using Q-Block1 and Q-Block2 (RFC 9177).
    #[must_use]
    pub const fn q_block(mut self) -> Request<'a> {
        self.q_block = true;
        self
    }

    /// Not expecting a response (a NON is forgotten once sent).
    #[must_use]
    pub const fn no_response(mut self) -> Request<'a> {
        self.expect_response = false;
        self
    }

    /// With an overall response timeout.
    #[must_use]
    pub const fn response_timeout(mut self, timeout: Duration) -> Request<'a> {
        self.response_timeout = Some(timeout);
        self
    }

    /// Exempt from NSTART (see [`Request::nstart_exempt`]): how DOTS heartbeats go.
    #[must_use]
    pub const fn nstart_exempt(mut self) -> Request<'a> {
        self.nstart_exempt = true;
        self
    }

    /// Exempt from PROBING_RATE (see [`Request::probing_exempt`]): how DOTS mitigation
    /// requests go.
    #[must_use]
    pub const fn probing_exempt(mut self) -> Request<'a> {
        self.probing_exempt = true;
        self
    }

    /// With this many NON repetitions.
    #[must_use]
    pub const fn non_retransmit(mut self, count: u8) -> Request<'a> {
        self.non_retransmit = Some(count);
        self
    }
}

/// A response or notification to send with [`Endpoint::respond`] or [`Endpoint::notify`].
#[derive(Clone, Copy, Debug)]
pub struct Response<'a> {
    /// The response code (classes 2, 4, 5).
    pub code: Code,
    /// The session's options (Content-Format, Max-Age, ...). The endpoint adds Observe, ETag,
    /// Size2 and block options itself.
    pub options: Options<'a>,
    /// The payload or body; a body larger than a block goes block-wise.
    pub payload: &'a [u8],
    /// Accept an Observe registration the request asked for (default `true`; only success
    /// responses register).
    pub accept_observe: bool,
}

impl<'a> Response<'a> {
    /// A response without options or payload.
    #[must_use]
    pub const fn new(code: Code) -> Response<'a> {
        Response {
            code,
            options: Options::EMPTY,
            payload: &[],
            accept_observe: true,
        }
    }

    /// With these options.
    #[must_use]
    pub const fn options(mut self, options: Options<'a>) -> Response<'a> {
        self.options = options;
        self
    }

    /// With this payload.
    #[must_use]
    pub const fn payload(mut self, payload: &'a [u8]) -> Response<'a> {
        self.payload = payload;
        self
    }

    /// Refusing an Observe registration: the response goes without Observe (RFC 7641 §4.1).
    #[must_use]
    pub const fn without_observe(mut self) -> Response<'a> {
        self.accept_observe = false;
        self
    }
}
