//! For the `client_*` tests: the `client` example run in this process, and a DOTS server
//! composed in this process from the library's pieces (a CoAP `ServerEndpoint` per peer and
//! one `SignalServer` core) over real sockets on 127.0.0.1: plain UDP, DTLS (dimpl) or TLS
//! (rustls), with a mitigator the test drives.
#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

use dots::codec::coap::{Code, ContentFormat, OptionList, OptionNumber};
use dots::codec::model::MitigationStatus;
use dots::proto::coap::{
    Config, Event as CoapEvent, ObserverId, Response as CoapResponse, ServerEndpoint, Transport,
};
use dots::proto::signal::server::{
    Handled, MitigationStats, ObserveAction, ObserveTarget, PeerIdentity, Request, ServerConfig,
    ServerEvent, SignalServer,
};
use dots::proto::time::{Instant, StdClock};

use crate::support::dtls::{DtlsServer, ServerConfig as DtlsConfig, ServerEvent as DtlsEvent};
use crate::support::transport::{Link, TlsLink};

/// Runs the `client` example's code with `args` (no program name); returns the exit status,
/// stdout and stderr.
pub fn client(args: &[&str]) -> (u8, String, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let argv = std::iter::once("client").chain(args.iter().copied());
    let code = crate::app::run(argv, &mut out, &mut err);
    (
        code,
        String::from_utf8_lossy(&out).into_owned(),
        String::from_utf8_lossy(&err).into_owned(),
    )
}

/// How the server is reached.
pub enum Mode {
    /// Plain CoAP over UDP; the cuid is the one in the Uri-Path.
    Udp,
    /// CoAP over DTLS.
    Dtls(DtlsConfig),
    /// CoAP over TLS.
    Tls(Arc<rustls::ServerConfig>),
}

/// One request the server received, for assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// Who (the cuid of its credentials, or of its Uri-Path over plain UDP).
    pub cuid: String,
    /// Method.
    pub code: Code,
    /// `/`-joined Uri-Path.
    pub path: String,
    /// NON (else CON, or TCP).
    pub non: bool,
    /// If-Match present.
    pub if_match: bool,
    /// Observe option.
    pub observe: Option<u32>,
    /// The payload.
    pub payload: Vec<u8>,
    /// The response code.
    pub answer: Option<Code>,
}

/// What the test can look at and change.
pub struct Shared {
    /// The signal server core.
    pub core: SignalServer,
    /// Every request, in order.
    pub received: Vec<Received>,
    /// The mitigator: new mitigations are reported with this status (`None`: left as is).
    pub auto_status: Option<MitigationStatus>,
    clock: StdClock,
}

impl Shared {
    /// Reports a mitigation's status, as the host's mitigator does.
    pub fn set_status(&mut self, cuid: &str, mid: u32, status: MitigationStatus) {
        let now = self.clock.now();
        let stats = MitigationStats {
            bytes_dropped: Some(12_345),
            pkts_dropped: Some(67),
            ..MitigationStats::default()
        };
        self.core
            .set_mitigation_status(now, cuid, mid, Some(status), stats)
            .expect("set_mitigation_status");
    }
}

enum Conn {
    Udp(SocketAddr),
    Dtls(SocketAddr),
    Tls(Box<TlsLink>),
}

struct Peer {
    ep: ServerEndpoint,
    conn: Conn,
    /// The authenticated cuid (DTLS, TLS), or the last one of a Uri-Path (plain UDP).
    cuid: Option<String>,
    observers: Vec<(ObserverId, ObserveTarget)>,
}

/// The server, running on its thread until dropped.
pub struct DotsServer {
    /// UDP (plain or DTLS) or TCP (TLS) address on 127.0.0.1.
    pub addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl DotsServer {
    /// Starts a server with the RFC 9132 defaults of the core.
    pub fn start(mode: Mode) -> DotsServer {
        DotsServer::start_with(mode, ServerConfig::default())
    }

    /// Starts a server with `config` for the core.
    pub fn start_with(mode: Mode, config: ServerConfig) -> DotsServer {
        let clock = StdClock::new();
        let shared = Arc::new(Mutex::new(Shared {
            core: SignalServer::new(config),
            received: Vec::new(),
            auto_status: None,
            clock,
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let mut io = match mode {
            Mode::Udp => Io::Udp(UdpSocket::bind("127.0.0.1:0").expect("bind UDP")),
            Mode::Dtls(c) => Io::Dtls(
                UdpSocket::bind("127.0.0.1:0").expect("bind UDP"),
                Box::new(DtlsServer::new(c).expect("DTLS server")),
            ),
            Mode::Tls(c) => {
                let l = TcpListener::bind("127.0.0.1:0").expect("bind TCP");
                l.set_nonblocking(true).expect("nonblocking");
                Io::Tls(l, c)
            }
        };
        let addr = io.local_addr();
        let (sh, st) = (shared.clone(), stop.clone());
        let thread = thread::spawn(move || {
            let mut run = Run {
                shared: sh,
                peers: HashMap::new(),
                clock,
                buf: vec![0u8; 16 * 1024],
                pending_status: Vec::new(),
            };
            while !st.load(Ordering::Relaxed) {
                run.turn(&mut io);
            }
        });
        DotsServer {
            addr,
            shared,
            stop,
            thread: Some(thread),
        }
    }

    /// The shared state (locks it).
    pub fn state(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().expect("server state")
    }

    /// The requests received so far.
    pub fn received(&self) -> Vec<Received> {
        self.state().received.clone()
    }
}

impl Drop for DotsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

enum Io {
    Udp(UdpSocket),
    Dtls(UdpSocket, Box<DtlsServer>),
    Tls(TcpListener, Arc<rustls::ServerConfig>),
}

impl Io {
    fn local_addr(&self) -> SocketAddr {
        match self {
            Io::Udp(s) | Io::Dtls(s, _) => s.local_addr().expect("addr"),
            Io::Tls(l, _) => l.local_addr().expect("addr"),
        }
    }
}

struct Run {
    shared: Arc<Mutex<Shared>>,
    peers: HashMap<String, Peer>,
    clock: StdClock,
    buf: Vec<u8>,
    /// (when, cuid, mid): the mitigator's report due.
    pending_status: Vec<(Instant, String, u32)>,
}

fn peer_entry(
    peers: &mut HashMap<String, Peer>,
    key: String,
    conn: impl FnOnce() -> Conn,
    transport: Transport,
) -> &mut Peer {
    peers.entry(key).or_insert_with(|| Peer {
        ep: ServerEndpoint::new(
            match transport {
                Transport::Udp => Config::udp(),
                Transport::Tcp => Config::tcp(),
            },
            7,
        ),
        conn: conn(),
        cuid: None,
        observers: Vec::new(),
    })
}

impl Run {
    fn turn(&mut self, io: &mut Io) {
        let mut datagram = vec![0u8; 65_535];
        let now = self.clock.now();
        match io {
            Io::Udp(socket) => {
                socket
                    .set_read_timeout(Some(Duration::from_millis(5)))
                    .expect("timeout");
                if let Ok((n, from)) = socket.recv_from(&mut datagram) {
                    let p = peer_entry(
                        &mut self.peers,
                        from.to_string(),
                        || Conn::Udp(from),
                        Transport::Udp,
                    );
                    p.ep.handle_datagram(now, &datagram[..n]);
                }
            }
            Io::Dtls(socket, dtls) => {
                socket
                    .set_read_timeout(Some(Duration::from_millis(5)))
                    .expect("timeout");
                if let Ok((n, from)) = socket.recv_from(&mut datagram) {
                    dtls.handle_datagram(std::time::Instant::now(), from, &datagram[..n]);
                }
                dtls.handle_timeout(std::time::Instant::now());
                while let Some(e) = dtls.poll_event() {
                    match e {
                        DtlsEvent::Datagram {
                            peer,
                            identity,
                            payload,
                        } => {
                            let p = peer_entry(
                                &mut self.peers,
                                peer.to_string(),
                                || Conn::Dtls(peer),
                                Transport::Udp,
                            );
                            p.cuid = Some(identity.cuid.to_string());
                            p.ep.handle_datagram(now, &payload);
                        }
                        DtlsEvent::Closed { peer, .. } => {
                            self.peers.remove(&peer.to_string());
                        }
                        _ => {}
                    }
                }
            }
            Io::Tls(listener, config) => {
                if let Ok((stream, from)) = listener.accept() {
                    let _ = stream.set_nonblocking(false);
                    if let Ok(link) =
                        TlsLink::accept(stream, config.clone(), Duration::from_secs(5))
                    {
                        let cuid = link
                            .peer_certificates()
                            .and_then(|c| c.first())
                            .and_then(|leaf| crate::support::creds::spki_of(leaf).ok())
                            .map(|spki| dots::proto::cuid::Cuid::from_spki(&spki).to_string());
                        let p = peer_entry(
                            &mut self.peers,
                            from.to_string(),
                            || Conn::Tls(Box::new(link)),
                            Transport::Tcp,
                        );
                        p.cuid = cuid;
                    }
                }
                let mut closed = Vec::new();
                for (key, p) in &mut self.peers {
                    if let Conn::Tls(link) = &mut p.conn {
                        match link.recv(Duration::from_millis(2)) {
                            Ok(Some(bytes)) => p.ep.handle_stream_bytes(now, &bytes),
                            Ok(None) => {}
                            Err(_) => closed.push(key.clone()),
                        }
                    }
                }
                for key in closed {
                    if let Some(p) = self.peers.remove(&key) {
                        if let Some(c) = p.cuid {
                            self.lock().core.session_closed(now, &c);
                        }
                    }
                }
            }
        }
        self.process(now);
        self.flush(io, now);
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().expect("server state")
    }

    fn process(&mut self, now: Instant) {
        let shared = self.shared.clone();
        let mut sh = shared.lock().expect("server state");
        for p in self.peers.values_mut() {
            p.ep.handle_timeout(now);
            while let Some(ev) = p.ep.poll_event() {
                let (id, request) = match ev {
                    CoapEvent::Request { id, request, .. } => (id, request),
                    CoapEvent::ObserverRemoved { observer, .. } => {
                        p.observers.retain(|(o, _)| *o != observer);
                        continue;
                    }
                    _ => continue,
                };
                let o = request.options;
                let path: Vec<String> = o
                    .uri_path()
                    .filter_map(|s| s.ok().map(str::to_owned))
                    .collect();
                let query: Vec<String> = o
                    .uri_query()
                    .filter_map(|s| s.ok().map(str::to_owned))
                    .collect();
                if let Some(c) = path.iter().find_map(|s| s.strip_prefix("cuid=")) {
                    if matches!(p.conn, Conn::Udp(_)) {
                        p.cuid = Some(c.to_owned());
                    }
                }
                let cuid = p.cuid.clone().unwrap_or_else(|| "anonymous".to_owned());
                let path_refs: Vec<&str> = path.iter().map(String::as_str).collect();
                let query_refs: Vec<&str> = query.iter().map(String::as_str).collect();
                let mut req = Request::new(request.code, &path_refs).with_query(&query_refs);
                req.payload = request.payload;
                req.content_format = o.content_format().ok().flatten();
                req.observe = o.observe().ok().flatten();
                req.if_match = o.contains(OptionNumber::IF_MATCH);
                let mut seen = Received {
                    cuid: cuid.clone(),
                    code: request.code,
                    path: format!("/{}", path.join("/")),
                    non: request.ty == Some(dots::codec::coap::MessageType::NonConfirmable),
                    if_match: req.if_match,
                    observe: req.observe,
                    payload: request.payload.to_vec(),
                    answer: None,
                };
                let peer = PeerIdentity::client(&cuid);
                let handled = sh.core.handle_request(now, &peer, &req, &mut self.buf);
                if let Ok(Handled::Respond(r)) = handled {
                    seen.answer = Some(r.code);
                    let mut opts = OptionList::<32>::new();
                    if let Some(cf) = r.content_format {
                        let _ = opts.set_content_format(cf);
                    }
                    if let Some(m) = r.max_age {
                        let _ = opts.set_max_age(m);
                    }
                    let registered = match &r.observe {
                        Some(ObserveAction::Registered { target, .. }) => Some(*target),
                        Some(ObserveAction::Deregister { target, .. }) => {
                            let t = *target;
                            p.observers.retain(|(_, x)| *x != t);
                            sh.core.cancel_observation(&cuid, t);
                            None
                        }
                        _ => None,
                    };
                    let mut resp = CoapResponse::new(r.code)
                        .options(opts.as_options())
                        .payload(&self.buf[..r.payload_len]);
                    if registered.is_none() {
                        resp = resp.without_observe();
                    }
                    if let Ok(Some(obs)) = p.ep.respond(now, id, resp) {
                        if let Some(t) = registered {
                            p.observers.push((obs, t));
                        }
                    }
                }
                sh.received.push(seen);
            }
        }
        // The mitigator: reports the status of new mitigations a moment later.
        while let Some(ev) = sh.core.poll_event() {
            if let ServerEvent::MitigationRequested { cuid, mid, .. } = ev {
                self.pending_status
                    .push((now + Duration::from_millis(300), cuid.to_string(), mid));
            }
        }
        let due: Vec<(Instant, String, u32)> = self
            .pending_status
            .iter()
            .filter(|(t, ..)| *t <= now)
            .cloned()
            .collect();
        self.pending_status.retain(|(t, ..)| *t > now);
        if let Some(status) = sh.auto_status {
            for (_, cuid, mid) in due {
                let _ = sh.core.set_mitigation_status(
                    now,
                    &cuid,
                    mid,
                    Some(status),
                    MitigationStats::default(),
                );
            }
        }
        sh.core.handle_timeout(now);
        // Notifications to the observers of the client.
        while let Ok(Some(n)) = sh.core.poll_notification(now, &mut self.buf) {
            let mut opts = OptionList::<8>::new();
            let _ = opts.set_content_format(ContentFormat::DOTS_CBOR);
            for p in self.peers.values_mut() {
                if p.cuid.as_deref() != Some(&*n.cuid) {
                    continue;
                }
                let targets: Vec<ObserverId> = p
                    .observers
                    .iter()
                    .filter(|(_, t)| match (t, n.mid) {
                        (ObserveTarget::Mitigation(m), Some(mid)) => {
                            n.observers.mitigation && *m == mid
                        }
                        (ObserveTarget::AllMitigations, Some(_)) => n.observers.all,
                        (ObserveTarget::Config, None) => n.observers.config,
                        _ => false,
                    })
                    .map(|(o, _)| *o)
                    .collect();
                for obs in targets {
                    let _ = p.ep.notify(
                        now,
                        obs,
                        CoapResponse::new(n.code)
                            .options(opts.as_options())
                            .payload(&self.buf[..n.payload_len]),
                    );
                }
            }
        }
    }

    fn flush(&mut self, io: &mut Io, now: Instant) {
        let mut out = vec![0u8; 4096];
        for p in self.peers.values_mut() {
            while let Ok(Some(t)) = p.ep.poll_transmit(now, &mut out) {
                let bytes = &out[..t.len];
                match (&mut p.conn, &mut *io) {
                    (Conn::Udp(to), Io::Udp(socket)) => {
                        let _ = socket.send_to(bytes, *to);
                    }
                    (Conn::Dtls(to), Io::Dtls(_, dtls)) => {
                        let _ = dtls.send(*to, bytes);
                    }
                    (Conn::Tls(link), _) => {
                        let _ = link.send(bytes);
                    }
                    _ => {}
                }
            }
        }
        if let Io::Dtls(socket, dtls) = io {
            while let Some((to, d)) = dtls.poll_transmit() {
                let _ = socket.send_to(&d, to);
            }
        }
    }
}
