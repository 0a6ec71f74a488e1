//! A DOTS server session and several DOTS clients (CoAP client endpoints) on one virtual clock,
//! each client behind its own pair of lossy links (str0m-netem, as in `common::Pair`).
//!
//! The clients answer the server's heartbeats with 2.04 and can send their own heartbeats
//! every `hb_every`; each direction of a client's link can be cut (a saturated inbound link:
//! `down_cut`). Everything the server sends is recorded with its time, so that tests can
//! check heartbeat and deadman instants exactly.
#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use dots_codec::cbor::CborBody;
use dots_codec::coap::{Code, ContentFormat, Message, OptionList};
use dots_codec::model::Heartbeat;
use dots_proto::coap::{ClientEndpoint, Config, Event, FailReason, RequestId, Response, Transport};
use dots_proto::data::PeerIdentity;
use dots_proto::signal::server::{ServerConfig, SignalServer};
use dots_proto::signal::session::{ServerSession, SessionConfig, SessionEvent};
use dots_proto::time::Instant;
use str0m_netem::{Input, Netem, Output};

pub use crate::common::Link;

/// A response a client received.
#[derive(Debug, Clone)]
pub struct Resp {
    pub at: Instant,
    pub request: RequestId,
    pub code: Code,
    pub payload: Vec<u8>,
    pub observe: Option<u32>,
    pub content_format: Option<ContentFormat>,
    pub max_age: Option<u32>,
}

/// A notification a client received.
#[derive(Debug, Clone)]
pub struct Notif {
    pub at: Instant,
    pub request: RequestId,
    pub sequence: u32,
    pub payload: Vec<u8>,
}

/// A DOTS client: a CoAP client endpoint and what it saw.
pub struct Client {
    pub ep: ClientEndpoint,
    pub key: u32,
    pub cuid: String,
    pub gateway: bool,
    pub transport: Transport,
    up: Netem<Vec<u8>>,
    down: Netem<Vec<u8>>,
    pub hb_every: Option<Duration>,
    pub next_hb: Option<Instant>,
    /// `peer-hb-status` of the client's heartbeats.
    pub hb_status: bool,
    /// Answer the server's heartbeats (2.04).
    pub answer_server_hb: bool,
    /// Drop what the client sends.
    pub up_cut: bool,
    /// Drop what the server sends to the client.
    pub down_cut: bool,
    pub responses: Vec<Resp>,
    pub notifications: Vec<Notif>,
    pub failed: Vec<(RequestId, FailReason)>,
    /// Server heartbeats received: time and `peer-hb-status`.
    pub server_hbs: Vec<(Instant, bool)>,
    pub heartbeats: Vec<RequestId>,
    pub closed: bool,
}

impl Client {
    pub fn identity(&self) -> PeerIdentity<'_> {
        PeerIdentity {
            cuid: &self.cuid,
            trusted_gateway: self.gateway,
        }
    }

    pub fn response(&self, id: RequestId) -> Option<&Resp> {
        self.responses.iter().find(|r| r.request == id)
    }

    pub fn code(&self, id: RequestId) -> Option<Code> {
        self.response(id).map(|r| r.code)
    }
}

/// How a request is sent.
#[derive(Debug, Clone, Copy)]
pub struct Opts {
    pub con: bool,
    pub observe: Option<u32>,
    pub if_match: bool,
    pub cf: Option<ContentFormat>,
    pub q_block: bool,
}

impl Default for Opts {
    fn default() -> Opts {
        Opts {
            con: true,
            observe: None,
            if_match: false,
            cf: None,
            q_block: false,
        }
    }
}

impl Opts {
    pub fn non() -> Opts {
        Opts {
            con: false,
            ..Opts::default()
        }
    }

    pub fn observe() -> Opts {
        Opts {
            observe: Some(0),
            ..Opts::default()
        }
    }
}

/// The server session and its clients.
pub struct Net {
    pub server: ServerSession<u32>,
    pub clients: Vec<Client>,
    pub now: Instant,
    /// Server events with their time.
    pub events: Vec<(Instant, SessionEvent<u32>)>,
    /// What the server sent: time, peer, bytes.
    pub sent: Vec<(Instant, u32, Vec<u8>)>,
    /// Every `handle_timeout` instant and the server's `poll_timeout` seen before it.
    pub checks: bool,
    base: std::time::Instant,
    buf: Vec<u8>,
}

pub const HB_PATH: &str = "/.well-known/dots/hb";

impl Net {
    pub fn new(config: SessionConfig, server: ServerConfig) -> Net {
        Net {
            server: ServerSession::new(config, SignalServer::new(server), 99),
            clients: Vec::new(),
            now: Instant::from_secs(1_000),
            events: Vec::new(),
            sent: Vec::new(),
            checks: true,
            base: std::time::Instant::now(),
            buf: vec![0; 65_536],
        }
    }

    pub fn default_net() -> Net {
        let mut server = ServerConfig::default();
        server.quotas.rate = None;
        Net::new(SessionConfig::default(), server)
    }

    /// Adds a client over UDP; returns its index.
    pub fn add_client(&mut self, cuid: &str, up: Link, down: Link) -> usize {
        self.add(cuid, up, down, Transport::Udp, false)
    }

    pub fn add(
        &mut self,
        cuid: &str,
        up: Link,
        down: Link,
        transport: Transport,
        gateway: bool,
    ) -> usize {
        let i = self.clients.len();
        let config = match transport {
            Transport::Udp => Config::udp(),
            Transport::Tcp => Config::tcp(),
        };
        self.clients.push(Client {
            ep: ClientEndpoint::new(config, 1000 + i as u64),
            key: 10 + i as u32,
            cuid: cuid.to_string(),
            gateway,
            transport,
            up: Netem::new(up.netem()),
            down: Netem::new(down.netem()),
            hb_every: None,
            next_hb: None,
            hb_status: true,
            answer_server_hb: true,
            up_cut: false,
            down_cut: false,
            responses: Vec::new(),
            notifications: Vec::new(),
            failed: Vec::new(),
            server_hbs: Vec::new(),
            heartbeats: Vec::new(),
            closed: false,
        });
        i
    }

    /// The client sends its heartbeats every `every`, the first now.
    pub fn client_heartbeats(&mut self, c: usize, every: Duration) {
        self.clients[c].hb_every = Some(every);
        self.clients[c].next_hb = Some(self.now);
    }

    fn std(&self, t: Instant) -> std::time::Instant {
        self.base + Duration::from_millis(t.as_millis())
    }

    fn ours(&self, t: std::time::Instant) -> Instant {
        let d = t.saturating_duration_since(self.base);
        let ms = d.as_millis() + u128::from(!d.subsec_nanos().is_multiple_of(1_000_000));
        Instant::from_millis(u64::try_from(ms).unwrap_or(u64::MAX))
    }

    /// Sends a request from client `c`.
    pub fn request(&mut self, c: usize, code: Code, uri: &str, body: &[u8], o: Opts) -> RequestId {
        let mut opts = OptionList::<512>::new();
        opts.set_uri_path(uri).unwrap();
        let cf =
            o.cf.or((!body.is_empty()).then_some(ContentFormat::DOTS_CBOR));
        if let Some(cf) = cf {
            opts.set_content_format(cf).unwrap();
        }
        if o.if_match {
            opts.push_if_match(&[]).unwrap();
        }
        let mut req = if o.con {
            dots_proto::coap::Request::con(code)
        } else {
            dots_proto::coap::Request::non(code)
        }
        .options(opts.as_options())
        .payload(body);
        if o.observe == Some(0) {
            req = req.observe();
        } else if let Some(v) = o.observe {
            // Observe=1 goes as an option (the endpoint's `deregister` is for its own relations).
            let _ = v;
        }
        if o.q_block {
            req = req.q_block();
        }
        let now = self.now;
        let id = self.clients[c].ep.request(now, req).unwrap();
        self.flush();
        id
    }

    /// A client heartbeat (skipped when the client's request queue is full).
    pub fn heartbeat(&mut self, c: usize, status: bool) -> Option<RequestId> {
        let body = hb_body(status);
        let mut opts = OptionList::<64>::new();
        opts.set_uri_path(HB_PATH).unwrap();
        opts.set_content_format(ContentFormat::DOTS_CBOR).unwrap();
        let req = dots_proto::coap::Request::non(Code::PUT)
            .options(opts.as_options())
            .payload(&body)
            .non_retransmit(0);
        let now = self.now;
        let id = self.clients[c].ep.request(now, req).ok()?;
        self.clients[c].heartbeats.push(id);
        Some(id)
    }

    /// Moves every datagram/frame due now, until nothing more happens.
    pub fn flush(&mut self) {
        loop {
            let mut progress = false;
            let now = self.now;
            let std_now = self.std(now);
            for c in &mut self.clients {
                while let Some(t) = c.ep.poll_transmit(now, &mut self.buf).unwrap() {
                    if !c.up_cut && !c.closed {
                        c.up.handle_input(Input::Packet(std_now, self.buf[..t.len].to_vec()));
                    }
                    progress = true;
                }
            }
            while let Some(t) = self.server.poll_transmit(now, &mut self.buf).unwrap() {
                let bytes = self.buf[..t.len].to_vec();
                self.sent.push((now, t.peer, bytes.clone()));
                if let Some(c) = self.clients.iter_mut().find(|c| c.key == t.peer) {
                    if !c.down_cut && !c.closed {
                        c.down.handle_input(Input::Packet(std_now, bytes));
                    }
                }
                progress = true;
            }
            for i in 0..self.clients.len() {
                let c = &mut self.clients[i];
                c.up.handle_input(Input::Timeout(std_now));
                let mut ups = Vec::new();
                while let Some(o) = c.up.poll_output() {
                    if let Output::Packet(p) = o {
                        ups.push(p);
                    }
                }
                c.down.handle_input(Input::Timeout(std_now));
                let mut downs = Vec::new();
                while let Some(o) = c.down.poll_output() {
                    if let Output::Packet(p) = o {
                        downs.push(p);
                    }
                }
                let (key, transport) = (c.key, c.transport);
                let cuid = c.cuid.clone();
                let gateway = c.gateway;
                let identity = PeerIdentity {
                    cuid: &cuid,
                    trusted_gateway: gateway,
                };
                for p in ups {
                    progress = true;
                    match transport {
                        Transport::Udp => self.server.handle_datagram(now, key, &identity, &p),
                        Transport::Tcp => self.server.handle_stream_bytes(now, key, &identity, &p),
                    }
                }
                let c = &mut self.clients[i];
                for p in downs {
                    progress = true;
                    match transport {
                        Transport::Udp => c.ep.handle_datagram(now, &p),
                        Transport::Tcp => c.ep.handle_stream_bytes(now, &p),
                    }
                }
                Self::client_events(c, now);
            }
            while let Some(e) = self.server.poll_event() {
                self.events.push((now, e));
            }
            if !progress {
                break;
            }
        }
        if self.checks {
            self.server.check_invariants().unwrap();
        }
    }

    fn client_events(c: &mut Client, now: Instant) {
        let mut answer = Vec::new();
        while let Some(ev) = c.ep.poll_event() {
            match ev {
                Event::Response {
                    request,
                    response,
                    observe,
                } => c.responses.push(Resp {
                    at: now,
                    request,
                    code: response.code,
                    payload: response.payload.to_vec(),
                    observe,
                    content_format: response.options.content_format().ok().flatten(),
                    max_age: response.options.max_age().ok().flatten(),
                }),
                Event::Notification {
                    request,
                    response,
                    sequence,
                } => c.notifications.push(Notif {
                    at: now,
                    request,
                    sequence,
                    payload: response.payload.to_vec(),
                }),
                Event::RequestFailed { request, reason } => c.failed.push((request, reason)),
                Event::Request { id, request, .. } => {
                    let is_hb = request.options.uri_path_is(&[".well-known", "dots", "hb"]);
                    if is_hb {
                        let st = Heartbeat::decode_cbor(request.payload)
                            .map(|h| h.peer_hb_status)
                            .unwrap_or(false);
                        c.server_hbs.push((now, st));
                        if c.answer_server_hb {
                            answer.push(id);
                        }
                    }
                }
                _ => {}
            }
        }
        for id in answer {
            let _ = c.ep.respond(now, id, Response::new(Code::CHANGED));
        }
    }

    /// The next instant anything happens.
    pub fn next_deadline(&self) -> Option<Instant> {
        let mut ts: Vec<Instant> = Vec::new();
        ts.extend(self.server.poll_timeout());
        for c in &self.clients {
            ts.extend(c.ep.poll_timeout());
            ts.extend(c.next_hb);
            for l in [&c.up, &c.down] {
                if !l.is_empty() {
                    ts.push(self.ours(l.poll_timeout()));
                }
            }
        }
        ts.into_iter().min()
    }

    /// Advances to the next deadline not after `limit`; `false` when there is none.
    pub fn step(&mut self, limit: Instant) -> bool {
        self.flush();
        let Some(next) = self.next_deadline() else {
            return false;
        };
        if next > limit {
            return false;
        }
        let next = next.max(self.now);
        if let Some(t) = self.server.poll_timeout() {
            assert!(t >= self.now, "poll_timeout {t} before now {}", self.now);
        }
        self.now = next;
        self.server.handle_timeout(next);
        for i in 0..self.clients.len() {
            self.clients[i].ep.handle_timeout(next);
            if self.clients[i].next_hb.is_some_and(|t| t <= next) {
                let every = self.clients[i].hb_every.unwrap();
                self.clients[i].next_hb = Some(next + every);
                if !self.clients[i].closed {
                    let st = self.clients[i].hb_status;
                    self.heartbeat(i, st);
                }
            }
        }
        self.flush();
        true
    }

    /// Runs until `limit` (the clock ends at `limit`).
    pub fn run_until(&mut self, limit: Instant) {
        while self.step(limit) {}
        if self.now < limit {
            self.now = limit;
            self.server.handle_timeout(limit);
            for c in &mut self.clients {
                c.ep.handle_timeout(limit);
            }
            self.flush();
        }
    }

    pub fn run_for(&mut self, d: Duration) {
        let t = self.now + d;
        self.run_until(t);
    }

    /// Server heartbeats sent to `c`'s peer: times.
    pub fn server_heartbeats_to(&self, c: usize) -> Vec<Instant> {
        let key = self.clients[c].key;
        let tcp = self.clients[c].transport == Transport::Tcp;
        let is_hb = |code: Code, o: dots_codec::coap::Options<'_>| {
            code == Code::PUT && o.uri_path_is(&[".well-known", "dots", "hb"])
        };
        self.sent
            .iter()
            .filter(|(_, p, b)| {
                *p == key
                    && if tcp {
                        dots_codec::coap::Frame::parse(b)
                            .is_ok_and(|f| is_hb(f.code(), f.options()))
                    } else {
                        Message::parse(b).is_ok_and(|m| is_hb(m.code(), m.options()))
                    }
            })
            .map(|(t, _, _)| *t)
            .collect()
    }

    /// Notifications (NON 2.05 with Observe) sent to `c`'s peer.
    pub fn notifications_to(&self, c: usize) -> Vec<(Instant, Vec<u8>)> {
        let key = self.clients[c].key;
        self.sent
            .iter()
            .filter(|(_, p, _)| *p == key)
            .filter_map(|(t, _, b)| {
                let m = Message::parse(b).ok()?;
                (m.code() == Code::CONTENT
                    && m.ty() == dots_codec::coap::MessageType::NonConfirmable
                    && m.options().observe().ok().flatten().is_some()
                    && m.options().block2().ok().flatten().is_none())
                .then(|| (*t, b.clone()))
            })
            .collect()
    }

    pub fn lost_events(&self) -> Vec<(Instant, u32)> {
        self.events
            .iter()
            .filter_map(|(t, e)| match e {
                SessionEvent::PeerLost { peer, .. } => Some((*t, *peer)),
                _ => None,
            })
            .collect()
    }

    pub fn server_events(&self) -> Vec<&dots_proto::signal::server::ServerEvent> {
        self.events
            .iter()
            .filter_map(|(_, e)| match e {
                SessionEvent::Server(s) => Some(s),
                _ => None,
            })
            .collect()
    }
}

pub fn hb_body(status: bool) -> Vec<u8> {
    let mut b = [0u8; 16];
    let n = Heartbeat {
        peer_hb_status: status,
    }
    .encode_cbor(&mut b)
    .unwrap();
    b[..n].to_vec()
}

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

pub fn ms(m: u64) -> Duration {
    Duration::from_millis(m)
}
