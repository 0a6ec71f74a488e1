//! A DOTS client and a composed DOTS server (CoAP `ServerEndpoint` + `SignalServer` core) as
//! nodes of the lossy virtual-clock harness of `tests/common`.
#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use dots_codec::cbor::CborBody;
use dots_codec::coap::{Code, ContentFormat, Message, OptionList, OptionNumber, Options};
use dots_codec::model::{
    ConflictInformation, Heartbeat, Lifetime, MitigationStatus, Scope, SignalConfig,
};
use dots_proto::coap::{
    Config, Event as CoapEvent, ObserveRequest, ObserverId, Request as CoapRequest,
    Response as CoapResponse, ServerEndpoint, Transport,
};
use dots_proto::data::PeerIdentity;
use dots_proto::signal::client::{
    ClientConfig, Counters, Event, LostReason, Operation, Phase, RedirectTtl, SessionParameters,
    SignalClient,
};
use dots_proto::signal::server::{
    Handled, ObserveAction, ObserveTarget, Request as SrvRequest, ServerConfig, SignalServer,
};
use dots_proto::time::Instant;

use crate::common::{Ev, Node};

pub const CUID: &str = "dz6pHjaADkaFTbjr0JGBpw";

/// RFC 9132 Figure 8 (the CBOR of Figure 7's body).
pub const FIG8: &str = "a101a10281a4068274323030313a6462383a363430313a3a312f31323874323030313a6462383a363430313a3a322f3132380783a1081850a1081901bba108191f900a81060e190e10";

pub fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

pub fn secs(s: u64) -> Instant {
    Instant::from_secs(s)
}

pub fn ms(m: u64) -> Instant {
    Instant::from_millis(m)
}

/// RFC 9132 Figure 7's scope: two /128 targets, TCP ports 80, 443, 8080, an hour.
pub fn fig7_scope() -> Scope {
    use dots_codec::model::PortRange;
    let mut s = Scope::new();
    s.targets
        .push_prefix("2001:db8:6401::1/128".parse().unwrap())
        .unwrap();
    s.targets
        .push_prefix("2001:db8:6401::2/128".parse().unwrap())
        .unwrap();
    for p in [80, 443, 8080] {
        s.targets.port_ranges.push(PortRange::single(p)).unwrap();
    }
    s.targets.protocols.push(6).unwrap();
    s.lifetime = Some(Lifetime::Seconds(3600));
    s
}

/// A scope for one prefix.
pub fn scope(prefix: &str, lifetime: u32) -> Scope {
    let mut s = Scope::new();
    s.targets.push_prefix(prefix.parse().unwrap()).unwrap();
    s.lifetime = Some(Lifetime::Seconds(lifetime));
    s
}

/// An owned copy of a client [`Event`].
#[derive(Clone, Debug, PartialEq)]
pub enum CEv {
    Accepted {
        mid: u32,
        code: Code,
        lifetime: Option<Lifetime>,
        conflict: Option<ConflictInformation>,
    },
    Status {
        mid: u32,
        status: Option<MitigationStatus>,
        lifetime: Option<Lifetime>,
        counters: Counters,
        notification: bool,
        conflict: Option<ConflictInformation>,
    },
    ScopeTelemetry {
        mid: u32,
        body: Vec<u8>,
    },
    Conflict {
        mid: u32,
        information: ConflictInformation,
    },
    CuidCollision(u32),
    Rejected {
        mid: u32,
        code: Code,
        retry_after: Option<Duration>,
        acl_failure: bool,
        diagnostic: String,
    },
    EfficacyUpdated(u32),
    Withdrawn(u32),
    Ended(u32),
    MidRollover(usize),
    PhaseChanged(Phase, SessionParameters),
    ConfigApplied(Option<u32>, Code),
    ConfigRejected(Option<u32>, Code),
    Degraded(u16),
    Recovered,
    Lost(LostReason),
    ReconnectAllowed,
    Redirected {
        alt_server: String,
        records: Vec<std::net::IpAddr>,
        ttl: RedirectTtl,
    },
    RedirectIgnored,
    RedirectExpired,
    TelemetrySetup(Operation, Code, Vec<u8>),
    Telemetry(Operation, Code, Vec<u8>, bool),
    Response(Operation, Code, String),
    Failed(Operation),
    ObservationEnded(Operation),
    Other(String),
}

impl CEv {
    pub fn of(e: &Event<'_>) -> CEv {
        match *e {
            Event::MitigationAccepted {
                mid,
                code,
                lifetime,
                conflict,
            } => CEv::Accepted {
                mid,
                code,
                lifetime,
                conflict: conflict.cloned(),
            },
            Event::MitigationStatus {
                mid,
                status,
                lifetime,
                counters,
                notification,
                conflict,
                ..
            } => CEv::Status {
                mid,
                status,
                lifetime,
                counters,
                notification,
                conflict: conflict.cloned(),
            },
            Event::ScopeTelemetry { mid, body } => CEv::ScopeTelemetry {
                mid,
                body: body.to_vec(),
            },
            Event::Conflict { mid, information } => CEv::Conflict {
                mid,
                information: information.clone(),
            },
            Event::CuidCollision { mid } => CEv::CuidCollision(mid),
            Event::MitigationRejected {
                mid,
                code,
                retry_after,
                acl_failure,
                diagnostic,
            } => CEv::Rejected {
                mid,
                code,
                retry_after,
                acl_failure,
                diagnostic: diagnostic.to_string(),
            },
            Event::EfficacyUpdated { mid } => CEv::EfficacyUpdated(mid),
            Event::MitigationWithdrawn { mid } => CEv::Withdrawn(mid),
            Event::MitigationEnded { mid } => CEv::Ended(mid),
            Event::MidRollover { recreated } => CEv::MidRollover(recreated),
            Event::PhaseChanged { phase, parameters } => CEv::PhaseChanged(phase, parameters),
            Event::ConfigApplied { sid, code } => CEv::ConfigApplied(sid, code),
            Event::ConfigRejected { sid, code, .. } => CEv::ConfigRejected(sid, code),
            Event::SessionDegraded { missed_heartbeats } => CEv::Degraded(missed_heartbeats),
            Event::SessionRecovered => CEv::Recovered,
            Event::SessionLost { reason } => CEv::Lost(reason),
            Event::ReconnectAllowed => CEv::ReconnectAllowed,
            Event::Redirected {
                alt_server,
                alt_server_record,
                ttl,
            } => CEv::Redirected {
                alt_server: alt_server.to_string(),
                records: alt_server_record.to_vec(),
                ttl,
            },
            Event::RedirectIgnored => CEv::RedirectIgnored,
            Event::RedirectExpired => CEv::RedirectExpired,
            Event::TelemetrySetup {
                operation,
                code,
                body,
            } => CEv::TelemetrySetup(operation, code, body.to_vec()),
            Event::Telemetry {
                operation,
                code,
                body,
                notification,
            } => CEv::Telemetry(operation, code, body.to_vec(), notification),
            Event::Response {
                operation,
                code,
                diagnostic,
            } => CEv::Response(operation, code, diagnostic.to_string()),
            Event::RequestFailed { operation, .. } => CEv::Failed(operation),
            Event::ObservationEnded { operation } => CEv::ObservationEnded(operation),
            ref other => CEv::Other(format!("{other:?}")),
        }
    }
}

/// The client as a harness node, with its events logged.
pub struct ClientNode {
    pub c: Box<SignalClient>,
    pub log: Vec<(Instant, CEv)>,
    pub timeouts: Vec<Instant>,
    /// Reads the allocation counter of a counting global allocator, when the test has one:
    /// every call into the client is then measured.
    pub meter: Option<fn() -> u64>,
    /// Allocations made inside client calls.
    pub client_allocations: u64,
}

impl ClientNode {
    pub fn new(now: Instant, config: ClientConfig, seed: u64) -> ClientNode {
        ClientNode {
            c: Box::new(SignalClient::new(now, CUID, "dots.example", config, seed).unwrap()),
            log: Vec::new(),
            timeouts: Vec::new(),
            meter: None,
            client_allocations: 0,
        }
    }

    fn read(&self) -> u64 {
        self.meter.map_or(0, |m| m())
    }

    /// Runs a command on the client, counting its allocations.
    pub fn cmd<R>(&mut self, f: impl FnOnce(&mut SignalClient) -> R) -> R {
        let before = self.read();
        let r = f(&mut self.c);
        self.client_allocations += self.read() - before;
        self.collect();
        r
    }

    /// Moves the client's events into the log.
    pub fn collect(&mut self) {
        let now = self.c.now();
        loop {
            let before = self.meter.map_or(0, |m| m());
            let e = self.c.poll_event();
            self.client_allocations += self.meter.map_or(0, |m| m()) - before;
            let Some(e) = e else { break };
            let ce = CEv::of(&e);
            self.log.push((now, ce));
        }
    }

    pub fn events(&self) -> impl Iterator<Item = &CEv> {
        self.log.iter().map(|(_, e)| e)
    }

    pub fn find(&self, f: impl Fn(&CEv) -> bool) -> Option<(Instant, CEv)> {
        self.log.iter().find(|(_, e)| f(e)).cloned()
    }

    pub fn count(&self, f: impl Fn(&CEv) -> bool) -> usize {
        self.log.iter().filter(|(_, e)| f(e)).count()
    }
}

impl Node for ClientNode {
    fn handle_bytes(&mut self, now: Instant, bytes: &[u8]) {
        self.cmd(|c| match c.transport() {
            Transport::Udp => c.handle_datagram(now, bytes),
            Transport::Tcp => c.handle_stream_bytes(now, bytes),
        });
    }

    fn transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize> {
        self.cmd(|c| c.poll_transmit(now, buf).unwrap().map(|t| t.len))
    }

    fn next_timeout(&self) -> Option<Instant> {
        let t = self.c.poll_timeout();
        if let Some(t) = t {
            assert!(
                t >= self.c.now(),
                "timer in the past: {t:?} < {:?}",
                self.c.now()
            );
        }
        t
    }

    fn on_timeout(&mut self, now: Instant) {
        self.timeouts.push(now);
        self.cmd(|c| c.handle_timeout(now));
    }

    fn drain_events(&mut self, _out: &mut Vec<Ev>) {
        self.collect();
    }
}

/// A request the server saw.
#[derive(Clone, Debug)]
pub struct Seen {
    pub at: Instant,
    pub code: Code,
    pub path: Vec<String>,
    pub query: Vec<String>,
    pub payload: Vec<u8>,
    pub observe: Option<u32>,
    pub if_match: bool,
    pub confirmable: Option<bool>,
}

impl Seen {
    pub fn path_str(&self) -> String {
        format!("/{}", self.path.join("/"))
    }
}

/// What a script answers instead of the core.
#[derive(Clone, Debug)]
pub struct Scripted {
    pub code: Code,
    pub payload: Vec<u8>,
    pub cbor: bool,
    pub max_age: Option<u32>,
}

pub type Script = Box<dyn FnMut(&Seen) -> Option<Scripted>>;

/// A DOTS server composed of a `ServerEndpoint` and the `SignalServer` core for one peer.
pub struct TestServer {
    pub ep: ServerEndpoint,
    pub core: SignalServer,
    pub peer: String,
    pub observers: Vec<(ObserverId, ObserveTarget)>,
    /// Observers registered by scripted 2.05 answers, with the Uri-Path.
    pub scripted_observers: Vec<(ObserverId, Vec<String>)>,
    pub seen: Vec<Seen>,
    pub script: Option<Script>,
    /// Scripted 2.05 answers refuse Observe registrations.
    pub refuse_observe: bool,
    /// Drops every byte both ways (a dead server or a saturated link).
    pub down: bool,
    /// Server-initiated heartbeats.
    pub hb_every: Option<Duration>,
    pub next_hb: Option<Instant>,
    pub hb_answers: usize,
    pub buf: Vec<u8>,
    pub now: Instant,
}

impl TestServer {
    pub fn new(config: ServerConfig, transport: Transport) -> TestServer {
        let c = match transport {
            Transport::Udp => Config::udp(),
            Transport::Tcp => Config::tcp(),
        };
        TestServer {
            ep: ServerEndpoint::new(c, 99),
            core: SignalServer::new(config),
            peer: CUID.to_string(),
            observers: Vec::new(),
            scripted_observers: Vec::new(),
            seen: Vec::new(),
            script: None,
            refuse_observe: false,
            down: false,
            hb_every: None,
            next_hb: None,
            hb_answers: 0,
            buf: vec![0u8; 16 * 1024],
            now: Instant::ZERO,
        }
    }

    pub fn udp() -> TestServer {
        TestServer::new(ServerConfig::default(), Transport::Udp)
    }

    /// A fresh endpoint (a new (D)TLS session); the core keeps its state.
    pub fn new_session(&mut self) {
        let c = *self.ep.config();
        self.ep = ServerEndpoint::new(c, 1234);
        self.observers.clear();
        self.scripted_observers.clear();
        self.core.session_closed(self.now, CUID);
    }

    pub fn requests(&self, path_prefix: &str) -> Vec<&Seen> {
        self.seen
            .iter()
            .filter(|s| s.path_str().starts_with(path_prefix))
            .collect()
    }

    fn handle(&mut self, now: Instant) {
        loop {
            let ev = match self.ep.poll_event() {
                None => break,
                Some(CoapEvent::Request {
                    id,
                    request,
                    observe,
                    ..
                }) => {
                    let o = request.options;
                    let seen = Seen {
                        at: now,
                        code: request.code,
                        path: o.uri_path().map(|s| s.unwrap().to_string()).collect(),
                        query: o.uri_query().map(|s| s.unwrap().to_string()).collect(),
                        payload: request.payload.to_vec(),
                        observe: o.observe().ok().flatten(),
                        if_match: o.contains(OptionNumber::IF_MATCH),
                        confirmable: request
                            .ty
                            .map(|t| t == dots_codec::coap::MessageType::Confirmable),
                    };
                    Some((id, seen, observe, o.content_format().ok().flatten()))
                }
                Some(_) => None,
            };
            let Some((id, seen, observe, cf)) = ev else {
                continue;
            };
            self.seen.push(seen.clone());
            if let Some(s) = self.script.as_mut().and_then(|f| f(&seen)) {
                let mut o = OptionList::<32>::new();
                if s.cbor {
                    o.set_content_format(ContentFormat::DOTS_CBOR).unwrap();
                }
                if let Some(m) = s.max_age {
                    o.set_max_age(m).unwrap();
                }
                let mut r = CoapResponse::new(s.code)
                    .options(o.as_options())
                    .payload(&s.payload);
                if s.code != Code::CONTENT || self.refuse_observe {
                    r = r.without_observe();
                }
                if let Ok(Some(obs)) = self.ep.respond(now, id, r) {
                    self.scripted_observers.push((obs, seen.path.clone()));
                }
                continue;
            }
            let path: Vec<&str> = seen.path.iter().map(String::as_str).collect();
            let query: Vec<&str> = seen.query.iter().map(String::as_str).collect();
            let mut req = SrvRequest::new(seen.code, &path).with_query(&query);
            req.payload = &seen.payload;
            req.content_format = cf;
            req.observe = seen.observe;
            req.if_match = seen.if_match;
            let peer = PeerIdentity::client(&self.peer);
            let handled = self
                .core
                .handle_request(now, &peer, &req, &mut self.buf)
                .unwrap();
            match handled {
                Handled::Respond(r) => {
                    let mut o = OptionList::<32>::new();
                    if let Some(cf) = r.content_format {
                        o.set_content_format(cf).unwrap();
                    }
                    if let Some(m) = r.max_age {
                        o.set_max_age(m).unwrap();
                    }
                    let mut resp = CoapResponse::new(r.code)
                        .options(o.as_options())
                        .payload(&self.buf[..r.payload_len]);
                    let registered = match &r.observe {
                        Some(ObserveAction::Registered { target, .. }) => Some(*target),
                        Some(ObserveAction::Deregister { target, .. }) => {
                            let t = *target;
                            self.observers.retain(|(_, x)| *x != t);
                            None
                        }
                        _ => None,
                    };
                    if registered.is_none() {
                        resp = resp.without_observe();
                    }
                    let _ = observe;
                    if let Ok(Some(obs)) = self.ep.respond(now, id, resp) {
                        if let Some(t) = registered {
                            self.observers.push((obs, t));
                        }
                    }
                }
                Handled::Ignore => {}
                _ => {}
            }
        }
        self.notify(now);
    }

    fn notify(&mut self, now: Instant) {
        while let Some(n) = self.core.poll_notification(now, &mut self.buf).unwrap() {
            let mut o = OptionList::<16>::new();
            o.set_content_format(ContentFormat::DOTS_CBOR).unwrap();
            let targets: Vec<(ObserverId, ObserveTarget)> = self
                .observers
                .iter()
                .copied()
                .filter(|(_, t)| match (t, n.mid) {
                    (ObserveTarget::Mitigation(m), Some(mid)) => {
                        n.observers.mitigation && *m == mid
                    }
                    (ObserveTarget::AllMitigations, Some(_)) => n.observers.all,
                    (ObserveTarget::Config, None) => n.observers.config,
                    _ => false,
                })
                .collect();
            for (obs, _) in &targets {
                let _ = self.ep.notify(
                    now,
                    *obs,
                    CoapResponse::new(n.code)
                        .options(o.as_options())
                        .payload(&self.buf[..n.payload_len]),
                );
            }
            if n.last {
                if let Some(mid) = n.mid {
                    self.observers
                        .retain(|(_, t)| *t != ObserveTarget::Mitigation(mid));
                }
            }
        }
    }

    fn send_heartbeat(&mut self, now: Instant) {
        let body = {
            let mut b = [0u8; 16];
            let n = Heartbeat {
                peer_hb_status: true,
            }
            .encode_cbor(&mut b)
            .unwrap();
            b[..n].to_vec()
        };
        let mut o = OptionList::<64>::new();
        o.set_uri_path("/.well-known/dots/hb").unwrap();
        o.set_content_format(ContentFormat::DOTS_CBOR).unwrap();
        let _ = self.ep.request(
            now,
            CoapRequest::non(Code::PUT)
                .options(o.as_options())
                .payload(&body)
                .non_retransmit(0)
                .response_timeout(Duration::from_secs(5)),
        );
    }
}

impl Node for TestServer {
    fn handle_bytes(&mut self, now: Instant, bytes: &[u8]) {
        self.now = now;
        if self.down {
            return;
        }
        match self.ep.config().transport {
            Transport::Udp => self.ep.handle_datagram(now, bytes),
            Transport::Tcp => self.ep.handle_stream_bytes(now, bytes),
        }
        self.handle(now);
    }

    fn transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize> {
        loop {
            let t = self.ep.poll_transmit(now, buf).unwrap()?;
            if !self.down {
                return Some(t.len);
            }
        }
    }

    fn next_timeout(&self) -> Option<Instant> {
        [
            self.ep.poll_timeout(),
            self.core.poll_timeout(),
            self.next_hb.filter(|_| self.hb_every.is_some()),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn on_timeout(&mut self, now: Instant) {
        self.now = now;
        self.ep.handle_timeout(now);
        self.core.handle_timeout(now);
        if let Some(every) = self.hb_every {
            match self.next_hb {
                Some(t) if t <= now => {
                    if !self.down {
                        self.send_heartbeat(now);
                    }
                    self.next_hb = Some(now + every);
                }
                None => self.next_hb = Some(now + every),
                _ => {}
            }
        }
        self.handle(now);
    }

    fn drain_events(&mut self, _out: &mut Vec<Ev>) {
        let now = self.now;
        self.handle(now);
    }
}

/// The datagrams the client sent, parsed (UDP).
pub fn client_messages(
    pair: &crate::common::Pair<ClientNode, TestServer>,
) -> Vec<(Instant, Vec<u8>)> {
    pair.sent_by(crate::common::Side::A)
        .map(|s| (s.at, s.bytes.clone()))
        .collect()
}

/// A parsed datagram: code, Uri-Path, payload, NON, option bytes.
pub type Parsed = (Code, Vec<String>, Vec<u8>, bool, Vec<u8>);

/// Parses a UDP datagram: code, Uri-Path, payload, NON.
pub fn parse(bytes: &[u8]) -> Parsed {
    let m = Message::parse(bytes).unwrap();
    let o: Options<'_> = m.options();
    (
        m.code(),
        o.uri_path().map(|s| s.unwrap().to_string()).collect(),
        m.payload().to_vec(),
        m.ty() == dots_codec::coap::MessageType::NonConfirmable,
        o.as_bytes().to_vec(),
    )
}

/// The client's session parameters for a set, for assertions.
pub fn hb_interval(c: &SignalClient, phase: Phase) -> Duration {
    c.parameters_of(phase).heartbeat_interval
}

/// A configuration body the host wants (current values only).
pub fn desired(hb_idle: u16, hb_mit: u16, missing: u16) -> SignalConfig {
    use dots_codec::model::{ConfigParams, IntParam};
    SignalConfig {
        sid: None,
        mitigating_config: Some(ConfigParams {
            heartbeat_interval: Some(IntParam::current(hb_mit)),
            missing_hb_allowed: Some(IntParam::current(missing)),
            ..ConfigParams::default()
        }),
        idle_config: Some(ConfigParams {
            heartbeat_interval: Some(IntParam::current(hb_idle)),
            missing_hb_allowed: Some(IntParam::current(missing)),
            ..ConfigParams::default()
        }),
    }
}

pub type ObserveReq = ObserveRequest;
