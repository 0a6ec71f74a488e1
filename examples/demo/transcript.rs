//! The transcript: one timestamped line per step, per message and per event, and CoAP messages
//! told for people (method or code, path, message type, Observe, body).
//!
//! ```text
//! [ 0.412s] client → server  PUT /mitigate/cuid=Xq3v…/mid=123  (NON, 73 B CBOR)
//! ```

use std::collections::HashMap;
use std::fmt::{self, Display};
use std::io::Write;
use std::time::{Duration, Instant};

use dots::codec::cbor::CborBody as _;
use dots::codec::coap::{Code, ContentFormat, Message};
use dots::codec::model::Heartbeat;

/// Who a line is about: its second column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Actor {
    /// A CoAP message from the client to the server.
    ClientToServer,
    /// A CoAP message from the server to the client.
    ServerToClient,
    /// The client host or its session's events.
    Client,
    /// The server host or its session's events.
    Server,
    /// The server's (toy) mitigator.
    Mitigator,
    /// The lossy link between the client and its sockets.
    Link,
    /// The demo itself.
    Demo,
}

impl Actor {
    fn label(self) -> &'static str {
        match self {
            Actor::ClientToServer => "client → server",
            Actor::ServerToClient => "server → client",
            Actor::Client => "client",
            Actor::Server => "server",
            Actor::Mitigator => "mitigator",
            Actor::Link => "link",
            Actor::Demo => "demo",
        }
    }
}

/// Where the lines go, and the clock their timestamps are read from.
pub(crate) struct Transcript {
    t0: Instant,
    out: Box<dyn Write>,
}

impl Transcript {
    /// A transcript whose timestamps count from `t0`.
    pub(crate) fn new(t0: Instant, out: Box<dyn Write>) -> Transcript {
        Transcript { t0, out }
    }

    /// Time since the start.
    pub(crate) fn elapsed(&self) -> Duration {
        self.t0.elapsed()
    }

    /// `[ 1.234s] ACTOR  TEXT`.
    pub(crate) fn line(&mut self, actor: Actor, text: impl Display) {
        let t = self.elapsed().as_secs_f64();
        let _ = writeln!(self.out, "[{t:6.3}s] {:<16} {text}", actor.label());
        let _ = self.out.flush();
    }

    /// The heading of a step of the story.
    pub(crate) fn step(&mut self, n: u8, title: &str) {
        let t = self.elapsed().as_secs_f64();
        let _ = writeln!(self.out, "[{t:6.3}s] ── step {n}: {title} ──");
        let _ = self.out.flush();
    }
}

/// What a CoAP message was, for the story's checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A request: its method and the path as printed (`/hb`, `/mitigate/cuid=…/mid=123`).
    Request {
        /// The method.
        method: Code,
        /// The path.
        path: String,
    },
    /// A response (or a notification) to a request of the other side.
    Response {
        /// Its code.
        code: Code,
        /// What it answers (`PUT /hb`), when the request was seen.
        to: Option<String>,
    },
    /// An empty message (ACK, RST, ping) or one that does not parse.
    Other,
}

/// A CoAP message told for people.
#[derive(Clone, Debug)]
pub(crate) struct Told {
    /// The text of its line.
    pub(crate) text: String,
    /// What it was.
    pub(crate) kind: Kind,
}

/// Tells CoAP messages and pairs responses with the requests they answer (by token).
#[derive(Debug, Default)]
pub(crate) struct Wire {
    /// `(the requester is the client, token)` → `METHOD path`, and whether a response came.
    requests: HashMap<(bool, Vec<u8>), (String, bool)>,
}

impl Wire {
    /// Tells `bytes`, a CoAP message sent by the client (`from_client`) or the server.
    pub(crate) fn tell(&mut self, from_client: bool, bytes: &[u8]) -> Told {
        let Ok(m) = Message::parse(bytes) else {
            return Told {
                text: format!("{} B that are not CoAP", bytes.len()),
                kind: Kind::Other,
            };
        };
        let ty = m.ty().abbreviation();
        let token = m.token_bytes().to_vec();
        if m.code() == Code::EMPTY {
            return Told {
                text: format!("{ty} (empty)"),
                kind: Kind::Other,
            };
        }
        let opts = m.options();
        let observe = opts.observe().ok().flatten();
        let cbor = opts.content_format().ok().flatten() == Some(ContentFormat::DOTS_CBOR);
        let body = Body {
            payload: m.payload(),
            cbor,
        };
        if m.is_request() {
            let path = path_of(&m);
            let request = format!("{} {path}", name(m.code()));
            if self.requests.len() > 4096 {
                self.requests.clear();
            }
            self.requests
                .insert((from_client, token), (request.clone(), false));
            let mut text = format!("{request}  ({ty}");
            match observe {
                Some(0) => text.push_str(", Observe: register"),
                Some(1) => text.push_str(", Observe: deregister"),
                Some(n) => text.push_str(&format!(", Observe {n}")),
                None => {}
            }
            if path == "/hb" {
                if let Ok(hb) = Heartbeat::decode_cbor(m.payload()) {
                    text.push_str(&format!(", peer-hb-status {}", hb.peer_hb_status));
                }
            } else if !m.payload().is_empty() {
                text.push_str(&format!(", {body}"));
            }
            text.push(')');
            return Told {
                text,
                kind: Kind::Request {
                    method: m.code(),
                    path,
                },
            };
        }
        let seen = self.requests.get_mut(&(!from_client, token));
        let (to, notification) = match seen {
            Some((request, answered)) => {
                let again = *answered;
                *answered = true;
                (Some(request.clone()), again && observe.is_some())
            }
            None => (None, false),
        };
        let mut text = format!("{} {}  ({ty}", m.code(), name(m.code()));
        if let Some(n) = observe {
            text.push_str(&format!(", Observe {n}"));
        }
        if !m.payload().is_empty() {
            text.push_str(&format!(", {body}"));
        }
        text.push(')');
        match (&to, notification) {
            (Some(r), true) => text.push_str(&format!("  notification ← {r}")),
            (Some(r), false) => text.push_str(&format!("  ← {r}")),
            (None, _) => {}
        }
        Told {
            text,
            kind: Kind::Response { code: m.code(), to },
        }
    }
}

/// A payload's size and format.
struct Body<'a> {
    payload: &'a [u8],
    cbor: bool,
}

impl Display for Body<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.cbor {
            write!(f, "{} B CBOR", self.payload.len())
        } else {
            match std::str::from_utf8(self.payload) {
                Ok(s) if s.len() <= 60 => write!(f, "\"{s}\""),
                _ => write!(f, "{} B", self.payload.len()),
            }
        }
    }
}

/// A code's name (`PUT`, `Created`), or its number.
fn name(code: Code) -> String {
    code.name()
        .map_or_else(|| code.to_string(), ToOwned::to_owned)
}

/// The Uri-Path without `/.well-known/dots`, the `cuid` cut short, and the Uri-Query.
fn path_of(m: &Message<'_>) -> String {
    let opts = m.options();
    let mut path = String::new();
    for (i, seg) in opts.uri_path().flatten().enumerate() {
        if (i == 0 && seg == ".well-known") || (i == 1 && seg == "dots") {
            continue;
        }
        path.push('/');
        match seg.strip_prefix("cuid=") {
            Some(cuid) => {
                let short: String = cuid.chars().take(4).collect();
                path.push_str(&format!("cuid={short}…"));
            }
            None => path.push_str(seg),
        }
    }
    let query: Vec<&str> = opts.uri_query().flatten().collect();
    if !query.is_empty() {
        path.push('?');
        path.push_str(&query.join("&"));
    }
    if path.is_empty() {
        path.push('/');
    }
    path
}
