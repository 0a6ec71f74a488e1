//! A read-only tap on the CoAP messages the session sends and receives, for printing: which
//! request a response answers, its code, and its body decoded as a DOTS message (RFC 7951
//! JSON), with Block2 bodies put together. The session does its own parsing; nothing here
//! feeds back into it.

use std::collections::HashMap;
use std::fmt::Write as _;

use dots::codec::cbor::CborBody;
use dots::codec::coap::{
    frame_len, Code, ContentFormat, Frame, Message, MessageType, OptionNumber, Options,
};
use dots::codec::model::SignalMessage;

/// Requests remembered by token (older ones are forgotten beyond this).
const MAX_REQUESTS: usize = 256;

/// A Block2 body larger than this is not put together for printing.
const MAX_BODY: usize = 64 * 1024;

/// What a body is.
#[derive(Debug, Clone)]
pub(crate) enum Body {
    /// No payload.
    None,
    /// A DOTS body (Content-Format 271), decoded.
    Dots(Box<SignalMessage>),
    /// A payload without Content-Format: a diagnostic text (RFC 7252 Section 5.5.2).
    Text(String),
    /// A payload that could not be decoded: why, and the bytes in hex.
    Raw(String, String),
}

impl Body {
    /// The body as indented RFC 7951 JSON, or a line saying what it is.
    pub(crate) fn render(&self) -> Option<String> {
        match self {
            Body::None => None,
            Body::Dots(m) => Some(dots::codec::json::to_string_pretty(m)),
            Body::Text(t) => Some(format!("diagnostic: {t:?}")),
            Body::Raw(why, hex) => Some(format!("undecodable body ({why}): {hex}")),
        }
    }
}

/// A complete message the tap saw.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    /// A request from the peer (else a response to one of ours).
    pub(crate) request: bool,
    /// The method of the request (ours, for a response).
    pub(crate) method: Code,
    /// The Uri-Path of the request, `/`-joined.
    pub(crate) path: String,
    /// The response code (the method for a request).
    pub(crate) code: Code,
    /// A notification (a later response of an Observe relation).
    pub(crate) notification: bool,
    /// The (whole) body.
    pub(crate) body: Body,
}

impl Seen {
    /// Whether it is heartbeat traffic (`/hb`).
    pub(crate) fn is_heartbeat(&self) -> bool {
        self.path.ends_with("/hb")
    }
}

/// A request we sent.
#[derive(Debug, Clone)]
pub(crate) struct Sent {
    /// Its method.
    pub(crate) method: Code,
    /// Its Uri-Path.
    pub(crate) path: String,
}

#[derive(Debug, Clone)]
struct Req {
    method: Code,
    path: String,
    answered: bool,
}

/// One CoAP message of either framing.
struct Msg<'a> {
    ty: Option<MessageType>,
    message_id: Option<u16>,
    code: Code,
    token: &'a [u8],
    options: Options<'a>,
    payload: &'a [u8],
}

impl<'a> Msg<'a> {
    fn udp(bytes: &'a [u8]) -> Option<Msg<'a>> {
        let m = Message::parse(bytes).ok()?;
        Some(Msg {
            ty: Some(m.ty()),
            message_id: Some(m.message_id()),
            code: m.code(),
            token: m.token_bytes(),
            options: m.options(),
            payload: m.payload(),
        })
    }

    fn tcp(bytes: &'a [u8]) -> Option<Msg<'a>> {
        let f = Frame::parse(bytes).ok()?;
        Some(Msg {
            ty: None,
            message_id: None,
            code: f.code(),
            token: f.token_bytes(),
            options: f.options(),
            payload: f.payload(),
        })
    }

    fn path(&self) -> String {
        let segments: Vec<&str> = self.options.uri_path().filter_map(Result::ok).collect();
        format!("/{}", segments.join("/"))
    }

    /// One line: type, code, path or token, options, payload size.
    fn describe(&self) -> String {
        let mut s = String::new();
        if let Some(t) = self.ty {
            let _ = write!(s, "{} ", t.abbreviation());
        }
        let _ = write!(s, "{}", self.code);
        if let Some(name) = self.code.name() {
            let _ = write!(s, " {name}");
        }
        if let Some(id) = self.message_id {
            let _ = write!(s, " mid=0x{id:04x}");
        }
        if !self.token.is_empty() {
            let _ = write!(s, " token={}", hex::encode(self.token));
        }
        if self.code.is_request() {
            let _ = write!(s, " {}", self.path());
            let query: Vec<&str> = self.options.uri_query().filter_map(Result::ok).collect();
            if !query.is_empty() {
                let _ = write!(s, "?{}", query.join("&"));
            }
        }
        if let Ok(Some(o)) = self.options.observe() {
            let _ = write!(s, " Observe:{o}");
        }
        for (name, b) in [
            ("Block1", self.options.block1()),
            ("Block2", self.options.block2()),
        ] {
            if let Ok(Some(b)) = b {
                let more = if b.more() { "M" } else { "_" };
                let _ = write!(s, " {name}:{}/{more}/{}", b.num(), b.size());
            }
        }
        if self.options.contains(OptionNumber::IF_MATCH) {
            let _ = write!(s, " If-Match");
        }
        if let Ok(Some(a)) = self.options.max_age() {
            let _ = write!(s, " Max-Age:{a}");
        }
        if !self.payload.is_empty() {
            let _ = write!(s, " ({} bytes)", self.payload.len());
        }
        s
    }

    fn body(&self, payload: &[u8]) -> Body {
        if payload.is_empty() {
            return Body::None;
        }
        match self.options.content_format() {
            Ok(Some(ContentFormat::DOTS_CBOR)) => match SignalMessage::decode_cbor(payload) {
                Ok(m) => Body::Dots(Box::new(m)),
                Err(e) => Body::Raw(e.to_string(), hex::encode(payload)),
            },
            Ok(None) => match std::str::from_utf8(payload) {
                Ok(t) => Body::Text(t.to_owned()),
                Err(_) => Body::Raw("not UTF-8".to_owned(), hex::encode(payload)),
            },
            Ok(Some(cf)) => Body::Raw(
                format!("Content-Format {}", cf.value()),
                hex::encode(payload),
            ),
            Err(e) => Body::Raw(format!("{e}"), hex::encode(payload)),
        }
    }
}

/// The tap.
#[derive(Debug, Default)]
pub(crate) struct Tap {
    tcp: bool,
    requests: HashMap<Vec<u8>, Req>,
    partial: HashMap<String, (Vec<u8>, bool)>,
    rx: Vec<u8>,
    tx: Vec<u8>,
}

/// Splits complete RFC 8323 frames off the front of a stream buffer.
fn frames(buf: &mut Vec<u8>) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while let Ok(Some(n)) = frame_len(buf) {
        if n == 0 || n > buf.len() {
            break;
        }
        out.push(buf.drain(..n).collect());
    }
    if buf.len() > MAX_BODY * 2 {
        buf.clear();
    }
    out
}

impl Tap {
    /// A tap for UDP/DTLS datagrams or (with `tcp`) an RFC 8323 stream.
    pub(crate) fn new(tcp: bool) -> Tap {
        Tap {
            tcp,
            ..Tap::default()
        }
    }

    fn messages(&mut self, bytes: &[u8], outgoing: bool) -> Vec<Vec<u8>> {
        if self.tcp {
            let buf = if outgoing { &mut self.tx } else { &mut self.rx };
            buf.extend_from_slice(bytes);
            frames(buf)
        } else {
            vec![bytes.to_vec()]
        }
    }

    fn parse<'a>(&self, bytes: &'a [u8]) -> Option<Msg<'a>> {
        if self.tcp {
            Msg::tcp(bytes)
        } else {
            Msg::udp(bytes)
        }
    }

    /// Bytes we send: requests are remembered by token. Returns one line per message (for
    /// `--verbose`) and the requests.
    pub(crate) fn outgoing(&mut self, bytes: &[u8]) -> (Vec<String>, Vec<Sent>) {
        let (mut lines, mut sent) = (Vec::new(), Vec::new());
        for raw in self.messages(bytes, true) {
            let Some(m) = self.parse(&raw) else {
                lines.push(format!("-> {} bytes (not CoAP)", raw.len()));
                continue;
            };
            lines.push(format!("-> {}", m.describe()));
            if m.code.is_request() {
                let path = m.path();
                if self.requests.len() >= MAX_REQUESTS {
                    self.requests.clear();
                }
                let answered = false;
                self.requests.insert(
                    m.token.to_vec(),
                    Req {
                        method: m.code,
                        path: path.clone(),
                        answered,
                    },
                );
                sent.push(Sent {
                    method: m.code,
                    path,
                });
            }
        }
        (lines, sent)
    }

    /// Bytes we received: one line per message (for `--verbose`) and the complete messages
    /// (block-wise bodies put together).
    pub(crate) fn incoming(&mut self, bytes: &[u8]) -> (Vec<String>, Vec<Seen>) {
        let (mut lines, mut seen) = (Vec::new(), Vec::new());
        for raw in self.messages(bytes, false) {
            let Some(m) = self.parse(&raw) else {
                lines.push(format!("<- {} bytes (not CoAP)", raw.len()));
                continue;
            };
            lines.push(format!("<- {}", m.describe()));
            if m.code.is_request() {
                seen.push(Seen {
                    request: true,
                    method: m.code,
                    path: m.path(),
                    code: m.code,
                    notification: false,
                    body: m.body(m.payload),
                });
                continue;
            }
            if !m.code.is_response() {
                continue;
            }
            let Some(req) = self.requests.get_mut(m.token) else {
                continue;
            };
            let (method, path) = (req.method, req.path.clone());
            let mut notification = req.answered;
            req.answered = true;
            let body = match m.options.block2() {
                Ok(Some(b)) => {
                    // The rest of a block-wise body may come in answer to other tokens: the
                    // body is put together by path, the first block says what it is.
                    let part = self.partial.entry(path.clone()).or_default();
                    if b.num() == 0 {
                        *part = (Vec::new(), notification);
                    }
                    notification = part.1;
                    let offset = usize::try_from(u64::from(b.num()) * u64::from(b.size()))
                        .unwrap_or(usize::MAX);
                    if offset == part.0.len() && part.0.len() + m.payload.len() <= MAX_BODY {
                        part.0.extend_from_slice(m.payload);
                    }
                    if b.more() {
                        continue;
                    }
                    let whole = self.partial.remove(&path).unwrap_or_default().0;
                    m.body(&whole)
                }
                _ => m.body(m.payload),
            };
            seen.push(Seen {
                request: false,
                method,
                path,
                code: m.code,
                notification,
                body,
            });
        }
        (lines, seen)
    }
}
