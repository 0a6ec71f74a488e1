//! The request the session layer hands to the core, and what the core answers.

use alloc::sync::Arc;
use core::fmt::{self, Write as _};

use dots_codec::coap::{Code, ContentFormat};
use dots_codec::model::Heartbeat;

/// A CoAP request as the session layer parsed it: the method, the options the DOTS signal
/// channel uses, and the payload (reassembled when block-wise).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<'a> {
    /// The method code (`Code::GET`, `Code::PUT`, `Code::DELETE`, ...).
    pub code: Code,
    /// The Uri-Path options, in order.
    pub uri_path: &'a [&'a str],
    /// The Uri-Query options, in order.
    pub uri_query: &'a [&'a str],
    /// Content-Format, when present.
    pub content_format: Option<ContentFormat>,
    /// Accept, when present.
    pub accept: Option<ContentFormat>,
    /// Observe, when present (0 register, 1 deregister; RFC 7641).
    pub observe: Option<u32>,
    /// Whether an If-Match option is present (RFC 9132 Section 4.4.3 uses an empty one).
    pub if_match: bool,
    /// The payload.
    pub payload: &'a [u8],
}

impl<'a> Request<'a> {
    /// A request without options or payload.
    #[must_use]
    pub const fn new(code: Code, uri_path: &'a [&'a str]) -> Request<'a> {
        Request {
            code,
            uri_path,
            uri_query: &[],
            content_format: None,
            accept: None,
            observe: None,
            if_match: false,
            payload: &[],
        }
    }

    /// With a CBOR payload (`application/dots+cbor`).
    #[must_use]
    pub const fn with_cbor(mut self, payload: &'a [u8]) -> Request<'a> {
        self.payload = payload;
        self.content_format = Some(ContentFormat::DOTS_CBOR);
        self
    }

    /// With Uri-Query options.
    #[must_use]
    pub const fn with_query(mut self, uri_query: &'a [&'a str]) -> Request<'a> {
        self.uri_query = uri_query;
        self
    }

    /// With an Observe option.
    #[must_use]
    pub const fn with_observe(mut self, observe: u32) -> Request<'a> {
        self.observe = Some(observe);
        self
    }

    /// With an (empty) If-Match option.
    #[must_use]
    pub const fn with_if_match(mut self) -> Request<'a> {
        self.if_match = true;
        self
    }
}

/// What an observation registration is about, for one client (RFC 9132 Section 4.4.2.1; the
/// session layer maps it to CoAP tokens).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ObserveTarget {
    /// `/mitigate/cuid=C/mid=M`.
    Mitigation(u32),
    /// `/mitigate/cuid=C`: every mitigation of the client.
    AllMitigations,
    /// `/config`.
    Config,
    /// `/mitigate/cuid=C[/mid=M]` with RFC 9244 Uri-Query filters (Section 9.2), by the id the
    /// core gave it: it receives the notifications of the mitigations its query selects
    /// ([`Notification::queries`]).
    FilteredMitigations(u32),
    /// `/tm/cuid=C[/tmid=T][?filters]` (RFC 9244 Section 8.3), by the id the core gave it.
    Telemetry(u32),
}

/// What happened to an observation (RFC 7641) with this request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ObserveAction {
    /// Observe=0 and the registration is in place: the session adds the token and puts an
    /// Observe option in the response.
    Registered {
        /// Client.
        cuid: Arc<str>,
        /// Target.
        target: ObserveTarget,
    },
    /// Observe=0 but the client's observer quota is full: the response carries no Observe
    /// option (RFC 7641 Section 4.1).
    Refused {
        /// Client.
        cuid: Arc<str>,
        /// Target.
        target: ObserveTarget,
    },
    /// Observe=1: the session removes the token; when it was the last token for `target`, it
    /// calls [`SignalServer::cancel_observation`](super::SignalServer::cancel_observation).
    Deregister {
        /// Client.
        cuid: Arc<str>,
        /// Target.
        target: ObserveTarget,
    },
}

/// The response to send. The payload is in the caller's buffer, `payload_len` bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Response {
    /// The response code.
    pub code: Code,
    /// Content-Format of the payload: `application/dots+cbor` for DOTS bodies; `None` for an
    /// empty payload or a diagnostic payload (UTF-8 text, RFC 7252 Section 5.5.2).
    pub content_format: Option<ContentFormat>,
    /// Max-Age option (5.03, 4.29, configuration responses).
    pub max_age: Option<u32>,
    /// Bytes of payload written at the start of the output buffer.
    pub payload_len: usize,
    /// The observation outcome (GET with Observe).
    pub observe: Option<ObserveAction>,
    /// A heartbeat's body (PUT `/hb`): what the peer says about our heartbeats. The session
    /// decides what to do with it and what it sends itself.
    pub heartbeat: Option<Heartbeat>,
}

impl Response {
    pub(crate) fn new(code: Code) -> Response {
        Response {
            code,
            content_format: None,
            max_age: None,
            payload_len: 0,
            observe: None,
            heartbeat: None,
        }
    }

    pub(crate) fn cbor(code: Code, payload_len: usize) -> Response {
        Response {
            content_format: Some(ContentFormat::DOTS_CBOR),
            payload_len,
            ..Response::new(code)
        }
    }
}

/// The outcome of [`SignalServer::handle_request`](super::SignalServer::handle_request).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Handled {
    /// Send this response.
    Respond(Response),
    /// Send nothing (an efficacy update for an unknown `mid`: "silently ignored", RFC 9132
    /// Section 4.4.3). A Confirmable request still gets its empty ACK from the transaction
    /// layer.
    Ignore,
}

impl Handled {
    /// The response, when there is one.
    #[must_use]
    pub fn response(&self) -> Option<&Response> {
        match self {
            Handled::Respond(r) => Some(r),
            Handled::Ignore => None,
        }
    }
}

/// The output buffer is too small; nothing changed. Retry with at least `needed` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[error("output buffer too small: {needed} bytes needed")]
pub struct BufferTooSmall {
    /// Bytes needed.
    pub needed: usize,
}

/// Which observations a notification is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Observers {
    /// Observers of the mitigation itself (`ObserveTarget::Mitigation(mid)`).
    pub mitigation: bool,
    /// Observers of all the client's mitigations.
    pub all: bool,
    /// Observers of the configuration.
    pub config: bool,
}

/// A notification to send to the observers of one client (RFC 7641), NON (RFC 9132 Section
/// 4.4.2.1); the payload is in the caller's buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Notification {
    /// Client.
    pub cuid: Arc<str>,
    /// The mitigation concerned (`None` for a configuration notification).
    pub mid: Option<u32>,
    /// Which of the client's observations receive it.
    pub observers: Observers,
    /// Response code (2.05).
    pub code: Code,
    /// Content-Format (`application/dots+cbor`).
    pub content_format: Option<ContentFormat>,
    /// Payload bytes written at the start of the buffer: one `scope` entry, the changed
    /// mitigation, or the configuration.
    pub payload_len: usize,
    /// The mitigation is gone (status 6 or removed): the observation of
    /// `ObserveTarget::Mitigation(mid)` ends with this notification. For a `/tm` notification
    /// (4.04): the observations in `queries` end.
    pub last: bool,
    /// The client's observations with a query that receive it
    /// ([`ObserveTarget::FilteredMitigations`], [`ObserveTarget::Telemetry`]). A `/tm`
    /// notification (RFC 9244 Section 8.3: `mid` is `None`, `observers` all false) names its
    /// one observation here.
    pub queries: alloc::vec::Vec<ObserveTarget>,
    /// Observations in `queries` that end with this notification (filtered observations of a
    /// removed mitigation).
    pub ended: alloc::vec::Vec<ObserveTarget>,
}

/// A diagnostic payload writer: UTF-8, truncated to the buffer at a character boundary.
pub(crate) struct Diag<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl<'b> Diag<'b> {
    pub(crate) fn write(buf: &'b mut [u8], args: fmt::Arguments<'_>) -> usize {
        let mut d = Diag { buf, len: 0 };
        let _ = d.write_fmt(args);
        d.len
    }
}

impl fmt::Write for Diag<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.buf.len().saturating_sub(self.len);
        let mut n = s.len().min(room);
        while n > 0 && !s.is_char_boundary(n) {
            n -= 1;
        }
        if let (Some(dst), Some(src)) = (
            self.buf.get_mut(self.len..self.len + n),
            s.as_bytes().get(..n),
        ) {
            dst.copy_from_slice(src);
            self.len += n;
        }
        if n < s.len() {
            Err(fmt::Error)
        } else {
            Ok(())
        }
    }
}
