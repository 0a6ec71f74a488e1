//! The demo's world: a DOTS server and a DOTS client in one process, each on its own UDP socket
//! on 127.0.0.1, DTLS (dimpl) in front of the sans-IO DOTS state machines, one event loop, real
//! time, and a lossy link between the client and its sockets.
//!
//! - server: one socket, [`DtlsServer`] (X.509 mutual authentication; the `cuid` comes from the
//!   client certificate's SPKI), [`ServerSession`] in front of the core
//!   [`SignalServer`](dots::proto::signal::server::SignalServer), and a toy mitigator that
//!   reports success one second after it starts a mitigation;
//! - client: [`DtlsClient`] on a connected socket, [`SignalClient`] on top; a reconnection is a
//!   new socket and a new handshake (dimpl does not resume sessions);
//! - link: while it is cut, every datagram the client sends or receives is dropped.
//!
//! The loop is the sans-IO one: feed what arrives, drain events and datagrams, sleep until the
//! earliest deadline of any state machine. Retransmissions, heartbeats, the deadman and the
//! lifetimes all come from the library's timers.

use std::collections::hash_map::RandomState;
use std::collections::HashSet;
use std::future::pending;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant as StdInstant};

use dots::codec::model::{ConfigParams, IntParam, MitigationStatus, SignalConfig};
use dots::proto::coap::Transport;
use dots::proto::data::PeerIdentity;
use dots::proto::signal::client::{ClientConfig, SignalClient};
use dots::proto::signal::server::{
    default_session_config, MitigationStats, ServerConfig, ServerEvent, SignalServer,
    TerminationReason,
};
use dots::proto::signal::session::{ServerSession, SessionConfig, SessionEvent};
use dots::proto::time::{Instant, StdClock};
use tokio::net::UdpSocket;

use crate::notes::{lifetime_text, note, phase_name, Fact, Side};
use crate::support::creds::Trust;
use crate::support::dtls::{
    ClientAuth, ClientEvent, DtlsClient, DtlsServer, DtlsVersion, ServerConfig as DtlsConfig,
    ServerEvent as DtlsEvent,
};
use crate::support::pki::TestPki;
use crate::transcript::{Actor, Kind, Transcript, Wire};

/// The name the client expects in the server's certificate.
pub(crate) const SERVER_NAME: &str = "localhost";

/// The server's active-but-terminating period after a DELETE (RFC 9132 Section 4.4.4 says
/// 120 s by default; the demo server's policy is shorter).
pub(crate) const TERMINATING: Duration = Duration::from_secs(3);

/// How long the toy mitigator takes to scrub an attack.
const MITIGATED_AFTER: Duration = Duration::from_secs(1);

/// Largest datagram read.
const MAX_DATAGRAM: usize = 4096;

/// Why the demo stopped.
#[derive(Debug)]
pub(crate) struct Failure(pub(crate) String);

impl Failure {
    /// A failure for this reason.
    pub(crate) fn new(reason: impl Into<String>) -> Failure {
        Failure(reason.into())
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Failure {
        Failure(format!("socket: {e}"))
    }
}

/// A status report the mitigator will make.
struct Job {
    /// When.
    at: Instant,
    /// Whose mitigation.
    cuid: String,
    /// Which.
    mid: u32,
}

/// The server host.
struct Server {
    /// Its UDP socket.
    socket: Socket,
    /// The socket's address.
    addr: SocketAddr,
    /// DTLS for every peer (keyed by address).
    dtls: DtlsServer,
    /// The DOTS signal-channel server session, its peers keyed by address.
    session: ServerSession<SocketAddr>,
    /// The mitigator's pending status reports.
    mitigator: Vec<Job>,
    /// Peers whose DTLS handshake completed.
    established: HashSet<SocketAddr>,
    /// The deadman window last put in force: `missing-hb-allowed`, `heartbeat-interval` (s).
    window: Option<(u16, u64)>,
}

/// One DTLS connection of the client.
struct Conn {
    /// A UDP socket connected to the server.
    socket: Socket,
    /// DTLS over it.
    dtls: DtlsClient,
}

/// The client host.
struct Client {
    /// Its certificate and the trust in the server's.
    auth: ClientAuth,
    /// Its cuid, from its certificate.
    cuid: String,
    /// The first `mid` it allocates.
    first_mid: u32,
    /// The connection the session uses.
    conn: Option<Conn>,
    /// A handshake in progress (the first one, or a reconnection).
    next: Option<Conn>,
    /// The DOTS signal-channel client session (from the first handshake on).
    signal: Option<Box<SignalClient>>,
}

/// Everything in the demo.
pub(crate) struct World {
    /// The transcript.
    pub(crate) t: Transcript,
    /// Tells the CoAP messages (both sides' plaintext).
    wire: Wire,
    /// The clock of both DOTS state machines.
    clock: StdClock,
    /// What happened so far.
    facts: Vec<Fact>,
    /// Something that ends the demo (a DTLS failure, a refused request).
    fatal: Option<String>,
    /// Whether the link between the client and its sockets carries datagrams.
    link_up: bool,
    /// Datagrams the cut link dropped.
    pub(crate) dropped: u64,
    /// The server host.
    server: Server,
    /// The client host.
    client: Client,
    /// Room for one CoAP message.
    buf: Vec<u8>,
}

/// A seed for message IDs, tokens and jitter (the standard library's per-process random keys).
fn seed() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

/// The demo server's policy: RFC 9132's defaults, except short heartbeats allowed (the
/// ranges), short defaults (heartbeat every 5 s, 3 missing allowed), and a short
/// active-but-terminating period.
fn server_policy() -> ServerConfig {
    let mut config = ServerConfig::default();
    config.terminating_period = TERMINATING;
    config.unix_time_at_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .map(|d| d.as_secs());
    let base = default_session_config();
    let short = |p: Option<ConfigParams>| {
        p.map(|p| ConfigParams {
            heartbeat_interval: Some(IntParam::range(1, 240, 5)),
            missing_hb_allowed: Some(IntParam::range(1, 20, 3)),
            ..p
        })
    };
    config.session = SignalConfig {
        sid: None,
        idle_config: short(base.idle_config),
        mitigating_config: short(base.mitigating_config),
    };
    config
}

impl World {
    /// Makes the PKI, binds the server and prepares the client (nothing sent yet).
    pub(crate) async fn new(mut t: Transcript, first_mid: u32) -> Result<World, Failure> {
        let pki = TestPki::generate().map_err(|e| Failure::new(format!("rcgen: {e}")))?;
        t.line(
            Actor::Demo,
            "throwaway PKI made with rcgen: a CA, a server certificate for localhost, a client \
             certificate (ECDSA P-256, in memory only)",
        );
        let trust: Trust = pki.trust();
        let dtls = DtlsServer::new(DtlsConfig {
            x509: Some((pki.server.identity(), trust.clone())),
            psks: Vec::new(),
            max_peers: 16,
        })
        .map_err(|e| Failure::new(e.to_string()))?;
        let socket = Socket::bind(None)?;
        let addr = socket.local_addr()?;
        let mut session_config = SessionConfig::default();
        // The periodic status of observed mitigations every 30 s rather than every heartbeat
        // interval: the notifications in the transcript are then the changes.
        session_config.status_period = Some(Duration::from_secs(30));
        let core = SignalServer::new(server_policy());
        let session = ServerSession::new(session_config, core, seed());
        t.line(
            Actor::Server,
            format!(
                "listening on udp {addr} (DTLS, clients must present a certificate of the demo CA); \
                 policy: heartbeat-interval 5 s (1–240), missing-hb-allowed 3 (1–20), \
                 active-but-terminating {} s",
                TERMINATING.as_secs()
            ),
        );
        let auth = ClientAuth::Certificate {
            identity: pki.client.identity(),
            trust,
            server_name: SERVER_NAME.to_owned(),
        };
        let cuid = auth
            .cuid()
            .map_err(|e| Failure::new(e.to_string()))?
            .to_string();
        Ok(World {
            t,
            wire: Wire::default(),
            clock: StdClock::new(),
            facts: Vec::new(),
            fatal: None,
            link_up: true,
            dropped: 0,
            server: Server {
                socket,
                addr,
                dtls,
                session,
                mitigator: Vec::new(),
                established: HashSet::new(),
                window: None,
            },
            client: Client {
                auth,
                cuid,
                first_mid,
                conn: None,
                next: None,
                signal: None,
            },
            buf: vec![0; 2048],
        })
    }

    // ---- what the story uses -----------------------------------------------------------------

    /// The client's cuid, derived from its own certificate.
    pub(crate) fn client_cuid(&self) -> &str {
        &self.client.cuid
    }

    /// A position in the list of facts: [`World::since`] looks after it.
    pub(crate) fn mark(&self) -> usize {
        self.facts.len()
    }

    /// The facts recorded since `mark`.
    pub(crate) fn since(&self, mark: usize) -> &[Fact] {
        self.facts.get(mark..).unwrap_or_default()
    }

    /// Whether `fact` happened since `mark`.
    pub(crate) fn saw(&self, mark: usize, fact: &Fact) -> bool {
        self.since(mark).contains(fact)
    }

    /// Cuts or restores the link between the client and its sockets.
    pub(crate) fn set_link(&mut self, up: bool) {
        self.link_up = up;
    }

    /// The server core's view of a mitigation: its status.
    pub(crate) fn server_status(&self, mid: u32) -> Option<MitigationStatus> {
        self.server
            .session
            .server()
            .mitigation(&self.client.cuid, mid)
            .map(|m| m.status)
    }

    /// The client session (once the first handshake completed).
    pub(crate) fn signal(&self) -> Option<&SignalClient> {
        self.client.signal.as_deref()
    }

    /// Runs a command on the client session, then sends what it queued.
    pub(crate) fn command<R, E: std::fmt::Display>(
        &mut self,
        what: &str,
        f: impl FnOnce(&mut SignalClient, Instant) -> Result<R, E>,
    ) -> Result<R, Failure> {
        let now = self.clock.now();
        let signal = self
            .client
            .signal
            .as_deref_mut()
            .ok_or_else(|| Failure::new(format!("{what}: no client session")))?;
        let r = f(signal, now).map_err(|e| Failure::new(format!("{what}: {e}")))?;
        self.flush();
        Ok(r)
    }

    /// Starts a DTLS handshake from a new socket (the first connection, or a reconnection).
    pub(crate) async fn connect(&mut self) -> Result<(), Failure> {
        let socket = Socket::bind(Some(self.server.addr))?;
        let local = socket.local_addr()?;
        let dtls = DtlsClient::new(
            self.client.auth.clone(),
            DtlsVersion::Auto,
            StdInstant::now(),
        )
        .map_err(|e| Failure::new(format!("DTLS client: {e}")))?;
        self.t.line(
            Actor::Client,
            format!(
                "DTLS handshake from {local} to {} (X.509: the client certificate, and the \
                 server's checked against the demo CA for \"{SERVER_NAME}\")",
                self.server.addr
            ),
        );
        self.client.next = Some(Conn { socket, dtls });
        self.flush();
        Ok(())
    }

    /// Runs the world until `done` holds, or fails after `timeout` (or at once on a fatal
    /// event: a DTLS failure, a refused request).
    pub(crate) async fn until(
        &mut self,
        what: &str,
        timeout: Duration,
        done: impl Fn(&World) -> bool,
    ) -> Result<(), Failure> {
        let deadline = StdInstant::now() + timeout;
        loop {
            self.flush();
            if let Some(reason) = self.fatal.take() {
                return Err(Failure::new(format!("while waiting for {what}: {reason}")));
            }
            if done(self) {
                return Ok(());
            }
            if StdInstant::now() >= deadline {
                return Err(Failure::new(format!(
                    "{what} did not happen within {} s",
                    timeout.as_secs()
                )));
            }
            self.turn(deadline).await?;
        }
    }

    // ---- the loop ----------------------------------------------------------------------------

    /// The earliest deadline of every state machine.
    fn next_deadline(&self) -> Option<StdInstant> {
        let to_std = |t: Instant| self.clock.to_std(t);
        let s = &self.server;
        let c = &self.client;
        [
            s.dtls.poll_timeout(),
            s.session.poll_timeout().map(to_std),
            s.mitigator.iter().map(|j| to_std(j.at)).min(),
            c.conn.as_ref().and_then(|c| c.dtls.poll_timeout()),
            c.next.as_ref().and_then(|c| c.dtls.poll_timeout()),
            c.signal
                .as_deref()
                .and_then(SignalClient::poll_timeout)
                .map(to_std),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Waits for one datagram or the next deadline (not past `until`), handles it, fires the
    /// timers due and sends what that produced.
    async fn turn(&mut self, until: StdInstant) -> Result<(), Failure> {
        let now = StdInstant::now();
        let wake = self
            .next_deadline()
            .map_or(until, |d| d.min(until))
            .max(now + Duration::from_millis(1));
        let mut sbuf = [0u8; MAX_DATAGRAM];
        let mut cbuf = [0u8; MAX_DATAGRAM];
        let mut nbuf = [0u8; MAX_DATAGRAM];
        enum Input {
            Server(io::Result<(usize, SocketAddr)>),
            Conn(io::Result<usize>),
            Next(io::Result<usize>),
            Timer,
        }
        let input = {
            let conn = self.client.conn.as_ref().map(|c| &c.socket.rx);
            let next = self.client.next.as_ref().map(|c| &c.socket.rx);
            tokio::select! {
                r = self.server.socket.rx.recv_from(&mut sbuf) => Input::Server(r),
                r = recv_on(conn, &mut cbuf) => Input::Conn(r),
                r = recv_on(next, &mut nbuf) => Input::Next(r),
                () = tokio::time::sleep_until(wake.into()) => Input::Timer,
            }
        };
        let now = StdInstant::now();
        match input {
            Input::Server(Ok((n, from))) => {
                let datagram = sbuf.get(..n).unwrap_or_default();
                self.server.dtls.handle_datagram(now, from, datagram);
            }
            Input::Conn(Ok(n)) => {
                if self.let_in(n) {
                    let datagram = cbuf.get(..n).unwrap_or_default();
                    if let Some(c) = self.client.conn.as_mut() {
                        if let Err(e) = c.dtls.handle_datagram(now, datagram) {
                            self.fatal = Some(format!("client DTLS: {e}"));
                        }
                    }
                }
            }
            Input::Next(Ok(n)) => {
                if self.let_in(n) {
                    let datagram = nbuf.get(..n).unwrap_or_default();
                    if let Some(c) = self.client.next.as_mut() {
                        if let Err(e) = c.dtls.handle_datagram(now, datagram) {
                            self.fatal = Some(format!("client DTLS handshake: {e}"));
                        }
                    }
                }
            }
            // ICMP port unreachable and the like: UDP is lossy anyway.
            Input::Server(Err(_)) | Input::Conn(Err(_)) | Input::Next(Err(_)) | Input::Timer => {}
        }
        self.fire();
        self.flush();
        Ok(())
    }

    /// The link's verdict on a datagram of `n` bytes arriving at the client.
    fn let_in(&mut self, n: usize) -> bool {
        if !self.link_up {
            self.dropped += 1;
            self.t.line(
                Actor::Link,
                format!("✗ dropped a datagram server → client ({n} B of DTLS)"),
            );
        }
        self.link_up
    }

    /// Fires every timer due (calling the state machines early is harmless).
    fn fire(&mut self) {
        let std_now = StdInstant::now();
        let now = self.clock.now();
        self.server.dtls.handle_timeout(std_now);
        self.server.session.handle_timeout(now);
        let (due, later): (Vec<Job>, Vec<Job>) = std::mem::take(&mut self.server.mitigator)
            .into_iter()
            .partition(|j| j.at <= now);
        self.server.mitigator = later;
        for job in due {
            self.mitigate(now, &job);
        }
        if let Some(c) = self.client.conn.as_mut() {
            if c.dtls.poll_timeout().is_some_and(|t| t <= std_now) {
                if let Err(e) = c.dtls.handle_timeout(std_now) {
                    self.fatal = Some(format!("client DTLS: {e}"));
                }
            }
        }
        if let Some(c) = self.client.next.as_mut() {
            if c.dtls.poll_timeout().is_some_and(|t| t <= std_now) {
                if let Err(e) = c.dtls.handle_timeout(std_now) {
                    self.fatal = Some(format!("client DTLS handshake: {e}"));
                }
            }
        }
        if let Some(s) = self.client.signal.as_deref_mut() {
            s.handle_timeout(now);
        }
    }

    /// The mitigator reports a mitigation as scrubbing the attack (status 2, counters).
    fn mitigate(&mut self, now: Instant, job: &Job) {
        let stats = MitigationStats {
            bytes_dropped: Some(48_300_000),
            bps_dropped: Some(9_660_000),
            pkts_dropped: Some(402_500),
            pps_dropped: Some(80_500),
            mitigation_start: None,
        };
        let ok = MitigationStatus::SuccessfullyMitigated;
        let r = self
            .server
            .session
            .set_mitigation_status(now, &job.cuid, job.mid, Some(ok), stats);
        if r.is_ok() {
            self.t.line(
                Actor::Mitigator,
                format!(
                    "mid={}: attack traffic scrubbed → status {} {} (bytes-dropped 48300000, \
                     pkts-dropped 402500)",
                    job.mid,
                    ok.value(),
                    ok.name()
                ),
            );
        }
    }

    /// Moves everything the state machines have queued until nothing moves.
    pub(crate) fn flush(&mut self) {
        loop {
            let moved = self.flush_client() | self.flush_server();
            if !moved {
                return;
            }
        }
    }

    fn record(&mut self, fact: Fact) {
        self.facts.push(fact);
    }

    // ---- the client host ---------------------------------------------------------------------

    fn flush_client(&mut self) -> bool {
        let mut moved = false;
        let now = self.clock.now();
        // A handshake in progress: its flights, and its completion.
        if let Some(mut next) = self.client.next.take() {
            moved |= self.send_records(&mut next, true);
            let mut connected = false;
            while let Some(e) = next.dtls.poll_event() {
                moved = true;
                if e == ClientEvent::Connected {
                    connected = true;
                }
            }
            if connected {
                self.connected(now, next);
            } else {
                self.client.next = Some(next);
            }
        }
        // The session's messages into the connection in use.
        if let Some(signal) = self.client.signal.as_deref_mut() {
            let mut out = Vec::new();
            loop {
                match signal.poll_transmit(now, &mut self.buf) {
                    Ok(Some(t)) => out.push(self.buf.get(..t.len).unwrap_or_default().to_vec()),
                    Ok(None) => break,
                    Err(e) => {
                        let len = e.needed.max(self.buf.len() * 2);
                        self.buf.resize(len, 0);
                    }
                }
            }
            for bytes in out {
                moved = true;
                let told = self.wire.tell(true, &bytes);
                if let Kind::Response { to: Some(to), .. } = &told.kind {
                    if to == "PUT /hb" && self.link_up {
                        self.record(Fact::Heartbeat(Side::Client));
                    }
                }
                let cut = if self.link_up {
                    ""
                } else {
                    "  ✗ dropped (link cut)"
                };
                self.t
                    .line(Actor::ClientToServer, format!("{}{cut}", told.text));
                if !self.link_up {
                    self.dropped += 1;
                }
                if let Some(c) = self.client.conn.as_mut() {
                    if let Err(e) = c.dtls.send(&bytes) {
                        self.fatal = Some(format!("client DTLS: {e}"));
                    }
                }
            }
        }
        // What the connection in use decrypted, and its records to send.
        if let Some(mut conn) = self.client.conn.take() {
            while let Some(e) = conn.dtls.poll_event() {
                moved = true;
                if let (ClientEvent::Datagram(d), Some(s)) = (e, self.client.signal.as_deref_mut())
                {
                    s.handle_datagram(now, &d);
                }
            }
            moved |= self.send_records(&mut conn, false);
            self.client.conn = Some(conn);
        }
        // The session's events.
        let mut notes = Vec::new();
        if let Some(signal) = self.client.signal.as_deref_mut() {
            while let Some(e) = signal.poll_event() {
                notes.push(note(&e));
            }
        }
        for (text, fact, fatal) in notes {
            moved = true;
            self.t.line(Actor::Client, &text);
            if let Some(f) = fact {
                self.record(f);
            }
            if fatal {
                self.fatal = Some(text);
            }
        }
        moved
    }

    /// Sends a connection's DTLS records through the link (handshake flights are shown).
    fn send_records(&mut self, conn: &mut Conn, handshake: bool) -> bool {
        let mut moved = false;
        while let Some(d) = conn.dtls.poll_transmit() {
            moved = true;
            if handshake {
                let cut = if self.link_up {
                    ""
                } else {
                    "  ✗ dropped (link cut)"
                };
                self.t.line(
                    Actor::ClientToServer,
                    format!("DTLS handshake flight ({} B){cut}", d.len()),
                );
            }
            if self.link_up {
                // UDP is lossy: a full socket buffer is a lost datagram.
                let _ = conn.socket.tx.send(&d);
            } else if handshake {
                self.dropped += 1;
            }
        }
        moved
    }

    /// A handshake completed: the first session starts, or the session moves to the new
    /// connection.
    fn connected(&mut self, now: Instant, next: Conn) {
        self.record(Fact::ClientHandshake);
        self.t.line(
            Actor::Client,
            format!(
                "DTLS handshake complete: the server's certificate is valid for \"{SERVER_NAME}\" \
                 and chains to the demo CA; own cuid {} (from its certificate)",
                self.client.cuid
            ),
        );
        match self.client.signal.as_deref_mut() {
            None => {
                let mut config = ClientConfig::udp();
                config.fetch_config = false;
                config.auto_observe = false;
                config.first_mid = self.client.first_mid;
                match SignalClient::new(now, &self.client.cuid, SERVER_NAME, config, seed()) {
                    Ok(c) => self.client.signal = Some(Box::new(c)),
                    Err(e) => self.fatal = Some(format!("client session: {e}")),
                }
                self.t.line(
                    Actor::Client,
                    "signal session started (SignalClient over the DTLS connection)",
                );
            }
            Some(signal) => {
                signal.reconnected(now, SERVER_NAME, Transport::Udp);
                self.t.line(
                    Actor::Client,
                    "session moved to the new DTLS connection (SignalClient::reconnected: same \
                     mids and requests, new CoAP endpoint); the old connection is dropped",
                );
            }
        }
        self.client.conn = Some(next);
    }

    // ---- the server host ---------------------------------------------------------------------

    fn flush_server(&mut self) -> bool {
        let now = self.clock.now();
        // Records first: a handshake's last flight goes out before its completion is seen.
        let mut moved = self.send_server_records();
        while let Some(e) = self.server.dtls.poll_event() {
            moved = true;
            match e {
                DtlsEvent::Connected { peer, identity } => {
                    let cuid = identity.cuid.to_string();
                    self.t.line(
                        Actor::Server,
                        format!(
                            "DTLS handshake with {peer} complete: client certificate chains to \
                             the demo CA; cuid {cuid} = SHA-256 of its SubjectPublicKeyInfo, \
                             first 16 bytes, base64url (RFC 9132 §4.4.1)"
                        ),
                    );
                    self.record(Fact::ServerHandshake(cuid));
                    self.server.established.insert(peer);
                }
                DtlsEvent::Datagram {
                    peer,
                    identity,
                    payload,
                } => {
                    let id = PeerIdentity::client(identity.cuid.as_str());
                    self.server
                        .session
                        .handle_datagram(now, peer, &id, &payload);
                }
                DtlsEvent::Closed { peer, reason } => {
                    self.t.line(
                        Actor::Server,
                        format!("DTLS session with {peer} ended: {reason}"),
                    );
                    self.server.session.peer_failed(now, &peer);
                }
            }
        }
        while let Some(e) = self.server.session.poll_event() {
            moved = true;
            self.server_event(now, e);
        }
        loop {
            let t = match self.server.session.poll_transmit(now, &mut self.buf) {
                Ok(Some(t)) => t,
                Ok(None) => break,
                Err(e) => {
                    let len = e.needed.max(self.buf.len() * 2);
                    self.buf.resize(len, 0);
                    continue;
                }
            };
            moved = true;
            let bytes = self.buf.get(..t.len).unwrap_or_default().to_vec();
            let told = self.wire.tell(false, &bytes);
            if let Kind::Response { to: Some(to), .. } = &told.kind {
                if to == "PUT /hb" {
                    self.record(Fact::Heartbeat(Side::Server));
                }
            }
            self.t.line(Actor::ServerToClient, told.text);
            if let Err(e) = self.server.dtls.send(t.peer, &bytes) {
                self.t.line(Actor::Server, format!("not sent: {e}"));
            }
        }
        moved | self.send_server_records()
    }

    /// Sends the server's DTLS records (handshake flights are shown).
    fn send_server_records(&mut self) -> bool {
        let mut moved = false;
        while let Some((to, datagram)) = self.server.dtls.poll_transmit() {
            moved = true;
            if !self.server.established.contains(&to) {
                self.t.line(
                    Actor::ServerToClient,
                    format!("DTLS handshake flight ({} B)", datagram.len()),
                );
            }
            // UDP is lossy: a full socket buffer is a lost datagram.
            let _ = self.server.socket.tx.send_to(&datagram, to);
        }
        moved
    }

    fn server_event(&mut self, now: Instant, e: SessionEvent<SocketAddr>) {
        let line = match e {
            SessionEvent::Server(e) => return self.core_event(now, e),
            SessionEvent::PeerLost {
                peer, session_lost, ..
            } => {
                self.record(Fact::PeerLost);
                // The DTLS session goes too (its close_notify is lost on a cut link).
                self.server.dtls.close(peer);
                let _ = self.send_server_records();
                self.server.established.remove(&peer);
                let window = self.server.window.map_or_else(
                    || "missing-hb-allowed × heartbeat-interval".to_owned(),
                    |(missing, hb)| format!("{missing} × {hb} s"),
                );
                format!(
                    "deadman: nothing from {peer} for {window} (missing-hb-allowed × \
                     heartbeat-interval) → {}",
                    if session_lost {
                        "the client's signal session is lost"
                    } else {
                        "this transport is gone (the client has another)"
                    }
                )
            }
            SessionEvent::PeerHeartbeatStatus {
                peer, receiving, ..
            } => format!("{peer} reports peer-hb-status {receiving}"),
            SessionEvent::ParametersChanged { peer, phase } => {
                let info = self.server.session.peer_info(&peer);
                let hb = info
                    .as_ref()
                    .and_then(|i| i.heartbeat_interval)
                    .map_or(0, |d| d.as_secs());
                let missing = info.map_or(0, |i| i.missing_hb_allowed);
                self.server.window = Some((missing, hb));
                format!(
                    "{peer}: {} parameters in force (heartbeat-interval {hb} s, missing-hb-allowed \
                     {missing})",
                    phase_name(phase)
                )
            }
            other => format!("{other:?}"),
        };
        self.t.line(Actor::Server, line);
    }

    fn core_event(&mut self, now: Instant, e: ServerEvent) {
        let line = match e {
            ServerEvent::MitigationRequested {
                cuid,
                mid,
                lifetime,
                trigger_mitigation,
                ..
            } => {
                self.record(Fact::Accepted(mid));
                if trigger_mitigation {
                    self.server.mitigator.push(Job {
                        at: now + MITIGATED_AFTER,
                        cuid: cuid.to_string(),
                        mid,
                    });
                    format!(
                        "mitigation request mid={mid} accepted (lifetime {}): the mitigator \
                         starts (status 1 attack-mitigation-in-progress)",
                        lifetime_text(lifetime)
                    )
                } else {
                    format!(
                        "pre-configured request mid={mid} stored (trigger-mitigation false, \
                         lifetime {}): status 8, it starts only if the signal channel is lost",
                        lifetime_text(lifetime)
                    )
                }
            }
            ServerEvent::EfficacyUpdate {
                mid, attack_status, ..
            } => format!(
                "efficacy update for mid={mid}: the client sees attack-status {} {}",
                attack_status.value(),
                attack_status.name()
            ),
            ServerEvent::MitigationWithdrawn { mid, until, .. } => format!(
                "mid={mid} withdrawn by the client: active-but-terminating (status 5) for {:.1} s",
                until.saturating_duration_since(now).as_secs_f64()
            ),
            ServerEvent::MitigationTerminated {
                mid,
                reason,
                was_active,
                ..
            } => {
                self.record(Fact::Terminated(mid));
                let why = match reason {
                    TerminationReason::WithdrawalElapsed => {
                        "the active-but-terminating period elapsed".to_owned()
                    }
                    other => format!("{other:?}"),
                };
                format!(
                    "mid={mid} terminated ({why}; was active: {was_active}): status 6 \
                     attack-mitigation-terminated"
                )
            }
            ServerEvent::MitigationExpired { mid, .. } => format!("mid={mid} expired"),
            ServerEvent::TriggeredBySignalLoss { cuid, mid, .. } => {
                self.record(Fact::Triggered(mid));
                self.server.mitigator.push(Job {
                    at: now + MITIGATED_AFTER,
                    cuid: cuid.to_string(),
                    mid,
                });
                format!(
                    "signal lost: pre-configured mid={mid} activated (status 1 \
                     attack-mitigation-in-progress), the mitigator starts"
                )
            }
            ServerEvent::ClientLost { .. } => "the client's observations are dropped".to_owned(),
            ServerEvent::SessionConfigChanged { phase, .. } => {
                format!(
                    "session configuration of the client: {} set in force",
                    phase_name(phase)
                )
            }
            other => format!("{other:?}"),
        };
        self.t.line(Actor::Server, line);
    }
}

/// A UDP socket on 127.0.0.1: read through tokio, written synchronously (non-blocking) from
/// the sans-IO flushes. tokio's own `try_send` reports `WouldBlock` until the reactor has seen
/// the new socket writable, which would silently lose a connection's first datagram.
struct Socket {
    rx: UdpSocket,
    tx: std::net::UdpSocket,
}

impl Socket {
    /// Binds any free port on 127.0.0.1, connected to `peer` if given.
    fn bind(peer: Option<SocketAddr>) -> io::Result<Socket> {
        let tx = std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
        if let Some(peer) = peer {
            tx.connect(peer)?;
        }
        tx.set_nonblocking(true)?;
        let rx = UdpSocket::from_std(tx.try_clone()?)?;
        Ok(Socket { rx, tx })
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.tx.local_addr()
    }
}

/// Reads from a socket, or never when there is none.
async fn recv_on(socket: Option<&UdpSocket>, buf: &mut [u8]) -> io::Result<usize> {
    match socket {
        Some(s) => s.recv(buf).await,
        None => pending().await,
    }
}
