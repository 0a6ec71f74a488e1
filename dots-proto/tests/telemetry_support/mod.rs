//! A DOTS client ([`SignalClient`](dots_proto::signal::client::SignalClient), the
//! `ClientNode` of `signal_client_support`) and a multi-peer DOTS server session
//! ([`ServerSession`] over a [`SignalServer`] with the test hooks of `signal_server_support`)
//! as the two nodes of the lossy virtual-clock harness of `tests/common` (`Pair`, links from
//! str0m-netem).
//!
//! The server node also holds an auxiliary CoAP client endpoint, a second transport of the
//! same authenticated client over a perfect link: requests the `SignalClient` API cannot
//! express (a malformed or deliberately invalid RFC example) go through it as raw CoAP
//! messages, and their answers come back to it.
#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use dots_codec::cbor::CborBody;
use dots_codec::coap::{Code, ContentFormat, Message, OptionList};
use dots_proto::coap::{
    ClientEndpoint, Config, Event as CoapEvent, Request, RequestId, Response, Transport,
};
use dots_proto::data::PeerIdentity;
use dots_proto::signal::client::ClientConfig;
use dots_proto::signal::server::{ServerConfig, SignalServer};
use dots_proto::signal::session::{ServerSession, SessionConfig, SessionEvent};
use dots_proto::time::Instant;

use crate::common::{Ev, Link, Node, Pair};
use crate::signal_client_support::{ClientNode, CUID};
use crate::signal_server_support::TestHooks;

/// The client's peer key at the server.
pub const CLIENT_KEY: u32 = 1;
/// The auxiliary endpoint's peer key (same identity).
pub const AUX_KEY: u32 = 2;

/// A response the auxiliary endpoint received.
#[derive(Debug, Clone)]
pub struct AuxResp {
    pub at: Instant,
    pub request: RequestId,
    pub code: Code,
    pub payload: Vec<u8>,
    pub content_format: Option<ContentFormat>,
}

/// The server session as a harness node.
pub struct SessionNode {
    /// The client's authenticated identity (cuid).
    pub cuid: &'static str,
    pub s: ServerSession<u32, TestHooks>,
    pub transport: Transport,
    /// Session events with their time.
    pub events: Vec<(Instant, SessionEvent<u32>)>,
    /// What the server sent to the client: time and bytes.
    pub sent: Vec<(Instant, Vec<u8>)>,
    pub aux: ClientEndpoint,
    pub aux_responses: Vec<AuxResp>,
    /// The latest `now` seen.
    pub now: Instant,
    buf: Vec<u8>,
}

impl SessionNode {
    pub fn new(server: ServerConfig, session: SessionConfig, transport: Transport) -> SessionNode {
        let core = SignalServer::with_hooks(server, TestHooks::default());
        SessionNode {
            cuid: CUID,
            s: ServerSession::new(session, core, 77),
            transport,
            events: Vec::new(),
            sent: Vec::new(),
            aux: ClientEndpoint::new(Config::udp(), 4242),
            aux_responses: Vec::new(),
            now: Instant::ZERO,
            buf: vec![0; 65_536],
        }
    }

    pub fn hooks(&mut self) -> &mut TestHooks {
        self.s.server_mut().hooks_mut()
    }

    fn identity(&self) -> PeerIdentity<'static> {
        PeerIdentity {
            cuid: self.cuid,
            trusted_gateway: false,
        }
    }

    /// Moves datagrams between the auxiliary endpoint and the server (perfect link).
    fn pump_aux(&mut self, now: Instant) {
        loop {
            let mut progress = false;
            while let Some(t) = self.aux.poll_transmit(now, &mut self.buf).unwrap() {
                let bytes = self.buf[..t.len].to_vec();
                self.s
                    .handle_datagram(now, AUX_KEY, &self.identity(), &bytes);
                progress = true;
            }
            let mut answer = Vec::new();
            while let Some(e) = self.aux.poll_event() {
                match e {
                    CoapEvent::Response {
                        request, response, ..
                    } => self.aux_responses.push(AuxResp {
                        at: now,
                        request,
                        code: response.code,
                        payload: response.payload.to_vec(),
                        content_format: response.options.content_format().ok().flatten(),
                    }),
                    CoapEvent::Request { id, .. } => answer.push(id),
                    _ => {}
                }
            }
            for id in answer {
                // The server's heartbeats on that transport.
                let _ = self.aux.respond(now, id, Response::new(Code::CHANGED));
                progress = true;
            }
            if !progress {
                break;
            }
        }
    }

    /// Sends a raw Confirmable request through the auxiliary endpoint.
    #[allow(clippy::too_many_arguments)]
    pub fn raw_request(
        &mut self,
        now: Instant,
        code: Code,
        uri: &str,
        query: &[&str],
        body: &[u8],
        observe: bool,
        if_match: bool,
    ) -> RequestId {
        let mut o = OptionList::<512>::new();
        o.set_uri_path(uri).unwrap();
        if !body.is_empty() {
            o.set_content_format(ContentFormat::DOTS_CBOR).unwrap();
        }
        for q in query {
            o.push_uri_query(q).unwrap();
        }
        if if_match {
            o.push_if_match(&[]).unwrap();
        }
        let mut r = Request::con(code).options(o.as_options()).payload(body);
        if observe {
            r = r.observe();
        }
        let id = self.aux.request(now, r).unwrap();
        self.pump_aux(now);
        id
    }

    pub fn aux_response(&self, id: RequestId) -> Option<&AuxResp> {
        self.aux_responses.iter().find(|r| r.request == id)
    }

    /// The server events (core events).
    pub fn server_events(&self) -> Vec<dots_proto::signal::server::ServerEvent> {
        self.events
            .iter()
            .filter_map(|(_, e)| match e {
                SessionEvent::Server(s) => Some(s.clone()),
                _ => None,
            })
            .collect()
    }

    /// Datagrams sent to the client that parse as CoAP-over-UDP messages.
    pub fn sent_messages(&self) -> Vec<(Instant, Vec<u8>)> {
        self.sent
            .iter()
            .filter(|(_, b)| Message::parse(b).is_ok())
            .cloned()
            .collect()
    }
}

impl Node for SessionNode {
    fn handle_bytes(&mut self, now: Instant, bytes: &[u8]) {
        self.now = now;
        let id = self.identity();
        match self.transport {
            Transport::Udp => self.s.handle_datagram(now, CLIENT_KEY, &id, bytes),
            Transport::Tcp => self.s.handle_stream_bytes(now, CLIENT_KEY, &id, bytes),
        }
        self.pump_aux(now);
    }

    fn transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize> {
        self.now = now;
        loop {
            let t = self.s.poll_transmit(now, buf).unwrap()?;
            if t.peer == CLIENT_KEY {
                self.sent.push((now, buf[..t.len].to_vec()));
                return Some(t.len);
            }
            let bytes = buf[..t.len].to_vec();
            self.aux.handle_datagram(now, &bytes);
            self.pump_aux(now);
        }
    }

    fn next_timeout(&self) -> Option<Instant> {
        [self.s.poll_timeout(), self.aux.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
    }

    fn on_timeout(&mut self, now: Instant) {
        self.now = now;
        self.s.handle_timeout(now);
        self.aux.handle_timeout(now);
        self.pump_aux(now);
    }

    fn drain_events(&mut self, _out: &mut Vec<Ev>) {
        while let Some(e) = self.s.poll_event() {
            self.events.push((self.now, e));
        }
    }
}

/// The client and the server session on one virtual clock.
pub type Net = Pair<ClientNode, SessionNode>;

/// A client configuration without the initial GET `/config`, identifiers from `first`.
pub fn client_config(first_tsid: u32, first_tmid: u32) -> ClientConfig {
    let mut c = ClientConfig::udp().with_identifiers(1, 1, first_tsid, first_tmid);
    c.fetch_config = false;
    c
}

/// A server configuration without the request rate quota (the vectors come in bursts).
pub fn server_config() -> ServerConfig {
    let mut s = ServerConfig::default();
    s.quotas.rate = None;
    s
}

pub fn net_with(
    client: ClientConfig,
    server: ServerConfig,
    session: SessionConfig,
    up: Link,
    down: Link,
) -> Net {
    let transport = client.transport();
    Pair::new(
        ClientNode::new(Instant::ZERO, client, 5),
        SessionNode::new(server, session, transport),
        up,
        down,
    )
}

pub fn net(client: ClientConfig, server: ServerConfig) -> Net {
    net_with(
        client,
        server,
        SessionConfig::default(),
        Link::perfect(),
        Link::perfect(),
    )
}

/// Runs for `d`, with the session events timed.
pub fn run_for(p: &mut Net, d: Duration) {
    let until = p.now + d;
    run_until(p, until);
}

pub fn run_until(p: &mut Net, until: Instant) {
    loop {
        p.flush();
        stamp(p);
        if !p.step(until) {
            break;
        }
    }
    // Nothing due before `until`: the clock moves there all the same.
    if p.now < until {
        p.now = until;
        p.flush();
    }
    stamp(p);
    p.a.collect();
}

/// Drains the session events, timed now.
fn stamp(p: &mut Net) {
    let now = p.now;
    while let Some(e) = p.b.s.poll_event() {
        p.b.events.push((now, e));
    }
}

/// Runs a raw request through the auxiliary endpoint until its answer (or 10 s).
#[allow(clippy::too_many_arguments)]
pub fn raw(
    p: &mut Net,
    code: Code,
    uri: &str,
    query: &[&str],
    body: &[u8],
    observe: bool,
    if_match: bool,
) -> Option<AuxResp> {
    let now = p.now;
    let id =
        p.b.raw_request(now, code, uri, query, body, observe, if_match);
    let until = p.now + Duration::from_secs(10);
    while p.b.aux_response(id).is_none() && p.step(until) {
        stamp(p);
    }
    p.a.collect();
    p.b.aux_response(id).cloned()
}

/// CBOR of a typed body.
pub fn encode<B: CborBody>(b: &B) -> Vec<u8> {
    let mut v = vec![0u8; b.encoded_len()];
    let n = b.encode_cbor(&mut v).unwrap();
    v.truncate(n);
    v
}
