//! DTLS over UDP for the DOTS signal channel, with `dimpl`.
//!
//! `dimpl` is a sans-IO DTLS 1.2/1.3 stack in pure Rust (its `rust-crypto` provider); it speaks
//! the cipher suites libcoap needs here: `TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256` for X.509 and
//! `TLS_PSK_WITH_AES_128_CCM_8` (RFC 7252's mandatory PSK suite) for PSK. It does not validate
//! certificate chains: [`DtlsServer`] validates the client's leaf against the trust anchors with
//! `rustls-webpki` as soon as the leaf arrives, before the server sends its `Finished`, so a
//! client from another CA never completes the handshake. The client's `cuid` is derived from its
//! SubjectPublicKeyInfo or its PSK identity (RFC 9132 §4.4.1).
//!
//! Two layers:
//! - [`DtlsServer`] and [`DtlsClient`]: sans-IO wrappers (datagrams and `std::time::Instant` in,
//!   datagrams, timers and events out), for callers that own their sockets (e.g. tokio);
//! - [`UdpDtlsServer`] and [`UdpDtlsClient`]: the same driven over a blocking
//!   `std::net::UdpSocket`.
//!
//! Why dimpl rather than OpenSSL: it completes DTLS 1.2 handshakes with libcoap 4.3.1 (OpenSSL
//! and GnuTLS builds) for both X.509 and PSK (see `tests/transport_dtls_interop.rs`), builds
//! without C code, and is sans-IO like the rest of the project. Known gaps against RFC 9132
//! §7.1, all in dimpl: no session resumption, no raw public keys (RFC 7250), PSK only as plain
//! `TLS_PSK_WITH_AES_128_CCM_8` (no (EC)DHE-PSK), no SNI from the client. The client's chain is
//! validated from its leaf alone (dimpl surfaces only the leaf), so client certificates must be
//! issued directly by a trust anchor.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use dimpl::{Config, Dtls, DtlsCertificate, Output, PskResolver};
use dots::proto::cuid::Cuid;
use rustls_pki_types::CertificateDer;

use super::creds::{CredError, Identity, PeerIdentity, Psk, Trust};

/// Largest datagram read from the socket.
const MAX_DATAGRAM: usize = 65_535;

/// Why a DTLS endpoint failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DtlsError {
    /// The configuration is unusable.
    #[error("DTLS configuration: {0}")]
    Config(String),
    /// A socket error.
    #[error("socket: {0}")]
    Io(#[from] io::Error),
    /// A credential problem (unreadable file, untrusted peer certificate, ...).
    #[error(transparent)]
    Creds(#[from] CredError),
    /// The DTLS engine gave up on the connection (every `dimpl` error is fatal).
    #[error("DTLS: {0}")]
    Dtls(String),
    /// No established session with that peer.
    #[error("no DTLS session with {0}")]
    NoSession(SocketAddr),
    /// The handshake did not complete in time.
    #[error("DTLS handshake timed out")]
    Timeout,
    /// The peer closed the session.
    #[error("the peer closed the DTLS session")]
    Closed,
}

fn dimpl_err(e: dimpl::Error) -> DtlsError {
    DtlsError::Dtls(format!("{e:?}"))
}

/// Resolves PSK identities and remembers the last one it resolved: the endpoint is driven from
/// one thread, so an identity resolved during a call into one peer's engine is that peer's.
struct PskTable {
    keys: Vec<Psk>,
    last: Mutex<Option<Vec<u8>>>,
}

impl PskResolver for PskTable {
    fn resolve(&self, identity: &[u8]) -> Option<Vec<u8>> {
        let psk = self.keys.iter().find(|p| p.identity == identity)?;
        if let Ok(mut last) = self.last.lock() {
            *last = Some(identity.to_vec());
        }
        Some(psk.key.clone())
    }
}

impl PskTable {
    fn take_last(&self) -> Option<Vec<u8>> {
        self.last.lock().ok().and_then(|mut l| l.take())
    }
}

fn dtls_cert(identity: &Identity) -> Result<DtlsCertificate, DtlsError> {
    let leaf = identity
        .leaf()
        .ok_or_else(|| DtlsError::Config("empty certificate chain".to_owned()))?;
    Ok(DtlsCertificate {
        certificate: leaf.as_ref().to_vec(),
        private_key: identity.key.secret_der().to_vec(),
    })
}

// ----------------------------------------------------------------------------------------------
// Server
// ----------------------------------------------------------------------------------------------

/// What a DOTS server accepts.
#[derive(Debug, Clone, Default)]
pub struct ServerConfig {
    /// The server's certificate and key, and the CA its clients' certificates must chain to:
    /// X.509 mutual authentication (clients without a valid certificate are refused).
    pub x509: Option<(Identity, Trust)>,
    /// Pre-shared keys accepted from clients (`--psk IDENTITY:HEXKEY`).
    pub psks: Vec<Psk>,
    /// At most this many peers (handshaking or established) at once; 0 means 1024.
    pub max_peers: usize,
}

/// Something that happened on a [`DtlsServer`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerEvent {
    /// A client completed its handshake and is authenticated.
    Connected {
        /// Its address.
        peer: SocketAddr,
        /// Who it is.
        identity: PeerIdentity,
    },
    /// A datagram of plaintext (one CoAP message) from an authenticated client.
    Datagram {
        /// Its address.
        peer: SocketAddr,
        /// Who it is.
        identity: PeerIdentity,
        /// The plaintext.
        payload: Vec<u8>,
    },
    /// A session or handshake ended: closed by the peer, failed, or refused (e.g. a client
    /// certificate from another CA).
    Closed {
        /// The peer's address.
        peer: SocketAddr,
        /// Why.
        reason: String,
    },
}

struct Peer {
    dtls: Dtls,
    timeout: Option<Instant>,
    identity: Option<PeerIdentity>,
    psk_identity: Option<Vec<u8>>,
    established: bool,
}

/// A sans-IO DTLS server endpoint: many peers, demultiplexed by address, over one socket that
/// the caller owns.
///
/// After every `handle_*` or [`send`](Self::send) call, drain
/// [`poll_transmit`](Self::poll_transmit) onto the socket and [`poll_event`](Self::poll_event),
/// and call [`handle_timeout`](Self::handle_timeout) at [`poll_timeout`](Self::poll_timeout).
pub struct DtlsServer {
    config: Arc<Config>,
    cert: Option<DtlsCertificate>,
    trust: Option<Trust>,
    psk: Arc<PskTable>,
    max_peers: usize,
    peers: HashMap<SocketAddr, Peer>,
    transmits: VecDeque<(SocketAddr, Vec<u8>)>,
    events: VecDeque<ServerEvent>,
    buf: Vec<u8>,
}

impl std::fmt::Debug for DtlsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DtlsServer")
            .field("peers", &self.peers.len())
            .finish_non_exhaustive()
    }
}

/// Whether `datagram` starts with a DTLS handshake record carrying a ClientHello: only those
/// create state for a new address.
fn looks_like_client_hello(datagram: &[u8]) -> bool {
    datagram.first() == Some(&22) && datagram.get(13) == Some(&1)
}

impl DtlsServer {
    /// A server for `config` (X.509, PSK, or both on the same port).
    pub fn new(config: ServerConfig) -> Result<DtlsServer, DtlsError> {
        if config.x509.is_none() && config.psks.is_empty() {
            return Err(DtlsError::Config(
                "a DTLS server needs a certificate or a PSK".to_owned(),
            ));
        }
        let psk = Arc::new(PskTable {
            keys: config.psks.clone(),
            last: Mutex::new(None),
        });
        let mut builder = Config::builder().require_client_certificate(true);
        if !config.psks.is_empty() {
            builder = builder.with_psk_server(None, psk.clone());
        }
        let dimpl_config = builder.build().map_err(dimpl_err)?;
        let (cert, trust) = match &config.x509 {
            Some((identity, trust)) => (Some(dtls_cert(identity)?), Some(trust.clone())),
            None => (None, None),
        };
        Ok(DtlsServer {
            config: Arc::new(dimpl_config),
            cert,
            trust,
            psk,
            max_peers: if config.max_peers == 0 {
                1024
            } else {
                config.max_peers
            },
            peers: HashMap::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            buf: vec![0; 16 * 1024],
        })
    }

    /// A datagram arrived from `from`.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) {
        if !self.peers.contains_key(&from) {
            if !looks_like_client_hello(datagram) || self.peers.len() >= self.max_peers {
                return;
            }
            let dtls = match &self.cert {
                Some(cert) => Dtls::new_auto(self.config.clone(), cert.clone(), now),
                None => Dtls::new_12_psk(self.config.clone(), now),
            };
            self.peers.insert(
                from,
                Peer {
                    dtls,
                    timeout: None,
                    identity: None,
                    psk_identity: None,
                    established: false,
                },
            );
        }
        let result = self.peers.get_mut(&from).map(|peer| {
            // dimpl wants its clock refreshed before a packet (and a server must see a
            // timeout before its first packet).
            peer.dtls
                .handle_timeout(now)
                .and_then(|()| peer.dtls.handle_packet(datagram))
        });
        self.after_engine_call(from, result);
    }

    /// Drives retransmissions and handshake deadlines of every peer.
    pub fn handle_timeout(&mut self, now: Instant) {
        let due: Vec<SocketAddr> = self
            .peers
            .iter()
            .filter(|(_, p)| p.timeout.is_none_or(|t| t <= now))
            .map(|(a, _)| *a)
            .collect();
        for addr in due {
            let result = self
                .peers
                .get_mut(&addr)
                .map(|peer| peer.dtls.handle_timeout(now));
            self.after_engine_call(addr, result);
        }
    }

    /// Encrypts `plaintext` (one CoAP message) for the established session with `to`.
    pub fn send(&mut self, to: SocketAddr, plaintext: &[u8]) -> Result<(), DtlsError> {
        let peer = self
            .peers
            .get_mut(&to)
            .filter(|p| p.established)
            .ok_or(DtlsError::NoSession(to))?;
        let result = peer.dtls.send_application_data(plaintext).map(|_| ());
        let failed = result.as_ref().err().map(|e| format!("{e:?}"));
        self.after_engine_call(to, Some(result));
        match failed {
            Some(e) => Err(DtlsError::Dtls(e)),
            None => Ok(()),
        }
    }

    /// Closes the session with `peer` (sends `close_notify` if established).
    pub fn close(&mut self, peer: SocketAddr) {
        if let Some(p) = self.peers.get_mut(&peer) {
            let _ = p.dtls.close();
            self.drain(peer);
        }
        self.peers.remove(&peer);
    }

    /// The next datagram to send, with its destination.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<(SocketAddr, Vec<u8>)> {
        self.transmits.pop_front()
    }

    /// The next event.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) is due next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.peers.values().filter_map(|p| p.timeout).min()
    }

    /// The authenticated identity of an established peer.
    #[must_use]
    pub fn identity(&self, peer: SocketAddr) -> Option<&PeerIdentity> {
        self.peers
            .get(&peer)
            .filter(|p| p.established)
            .and_then(|p| p.identity.as_ref())
    }

    /// Number of peers (handshaking or established).
    #[must_use]
    pub fn peer_count(&self) -> usize {
        self.peers.len()
    }

    fn after_engine_call(&mut self, addr: SocketAddr, result: Option<Result<(), dimpl::Error>>) {
        let captured = self.psk.take_last();
        let Some(result) = result else {
            return;
        };
        if let (Some(id), Some(peer)) = (captured, self.peers.get_mut(&addr)) {
            peer.psk_identity = Some(id);
        }
        match result {
            Ok(()) => self.drain(addr),
            Err(e) => self.drop_peer(addr, format!("DTLS error: {e:?}")),
        }
    }

    fn drop_peer(&mut self, addr: SocketAddr, reason: String) {
        if self.peers.remove(&addr).is_some() {
            self.events
                .push_back(ServerEvent::Closed { peer: addr, reason });
        }
    }

    /// Moves a peer's pending output into the queues; refuses the peer when its certificate
    /// does not validate (before its handshake completes).
    fn drain(&mut self, addr: SocketAddr) {
        let Self {
            peers,
            transmits,
            events,
            buf,
            trust,
            ..
        } = self;
        let Some(peer) = peers.get_mut(&addr) else {
            return;
        };
        let verdict: Result<(), String> = loop {
            match peer.dtls.poll_output(buf) {
                Output::Packet(p) => transmits.push_back((addr, p.to_vec())),
                Output::Timeout(t) => {
                    peer.timeout = Some(t);
                    break Ok(());
                }
                Output::BufferTooSmall { needed } => buf.resize(needed, 0),
                Output::PeerCert(der) => {
                    let leaf = CertificateDer::from(der.to_vec());
                    let checked = match trust {
                        Some(trust) => trust
                            .verify_client(&leaf, &[], SystemTime::now())
                            .map_err(|e| format!("client certificate refused: {e}")),
                        None => Err("client certificates are not accepted".to_owned()),
                    };
                    match checked {
                        Ok(identity) => peer.identity = Some(identity),
                        Err(e) => break Err(e),
                    }
                }
                Output::Connected => {
                    if peer.identity.is_none() {
                        match peer.psk_identity.take() {
                            Some(id) => peer.identity = Some(PeerIdentity::psk(&id)),
                            None => break Err("handshake ended without a client identity".into()),
                        }
                    }
                    peer.established = true;
                    if let Some(identity) = &peer.identity {
                        events.push_back(ServerEvent::Connected {
                            peer: addr,
                            identity: identity.clone(),
                        });
                    }
                }
                Output::ApplicationData(data) => {
                    if let (true, Some(identity)) = (peer.established, &peer.identity) {
                        events.push_back(ServerEvent::Datagram {
                            peer: addr,
                            identity: identity.clone(),
                            payload: data.to_vec(),
                        });
                    }
                }
                Output::CloseNotify => break Err("peer sent close_notify".to_owned()),
                _ => {}
            }
        };
        if let Err(reason) = verdict {
            // Dropped without polling further: nothing more (no Finished) goes to this peer.
            self.drop_peer(addr, reason);
        }
    }
}

/// A [`DtlsServer`] on a blocking `std::net::UdpSocket`.
#[derive(Debug)]
pub struct UdpDtlsServer {
    socket: UdpSocket,
    core: DtlsServer,
    buf: Vec<u8>,
}

impl UdpDtlsServer {
    /// Binds `addr` (port 0 for any free port).
    pub fn bind(addr: SocketAddr, config: ServerConfig) -> Result<UdpDtlsServer, DtlsError> {
        Ok(UdpDtlsServer {
            socket: UdpSocket::bind(addr)?,
            core: DtlsServer::new(config)?,
            buf: vec![0; MAX_DATAGRAM],
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// The sans-IO endpoint underneath.
    pub fn endpoint(&mut self) -> &mut DtlsServer {
        &mut self.core
    }

    /// Runs the endpoint (reads, timers, writes) until an event happens or `wait` has passed.
    pub fn next_event(&mut self, wait: Duration) -> Result<Option<ServerEvent>, DtlsError> {
        let deadline = Instant::now() + wait;
        loop {
            self.flush()?;
            if let Some(e) = self.core.poll_event() {
                return Ok(Some(e));
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            let until = self
                .core
                .poll_timeout()
                .map_or(deadline, |t| t.min(deadline));
            let dur = until
                .saturating_duration_since(now)
                .max(Duration::from_millis(1));
            self.socket.set_read_timeout(Some(dur))?;
            match self.socket.recv_from(&mut self.buf) {
                Ok((n, from)) => {
                    let data = self.buf.get(..n).unwrap_or_default();
                    self.core.handle_datagram(Instant::now(), from, data);
                }
                Err(e) if is_transient(&e) => {}
                Err(e) => return Err(e.into()),
            }
            self.core.handle_timeout(Instant::now());
        }
    }

    /// Runs until a plaintext datagram arrives (other events are skipped) or `wait` passes.
    pub fn recv(
        &mut self,
        wait: Duration,
    ) -> Result<Option<(SocketAddr, PeerIdentity, Vec<u8>)>, DtlsError> {
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next_event(left)? {
                Some(ServerEvent::Datagram {
                    peer,
                    identity,
                    payload,
                }) => return Ok(Some((peer, identity, payload))),
                Some(_) => {}
                None => return Ok(None),
            }
        }
    }

    /// Sends `plaintext` to the established peer `to`.
    pub fn send_to(&mut self, to: SocketAddr, plaintext: &[u8]) -> Result<(), DtlsError> {
        self.core.send(to, plaintext)?;
        self.flush()
    }

    fn flush(&mut self) -> Result<(), DtlsError> {
        while let Some((to, datagram)) = self.core.poll_transmit() {
            match self.socket.send_to(&datagram, to) {
                Ok(_) => {}
                Err(e) if is_transient(&e) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}

fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock
            | io::ErrorKind::TimedOut
            | io::ErrorKind::Interrupted
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
    )
}

// ----------------------------------------------------------------------------------------------
// Client
// ----------------------------------------------------------------------------------------------

/// How a DOTS client authenticates, and how it authenticates the server.
#[derive(Debug, Clone)]
pub enum ClientAuth {
    /// X.509 mutual authentication: present `identity`, accept a server whose chain leads to
    /// `trust` and is valid for `server_name` (a DNS name or IP address).
    Certificate {
        /// The client's certificate and key.
        identity: Identity,
        /// The CA the server's certificate must chain to.
        trust: Trust,
        /// The name the server's certificate must be valid for.
        server_name: String,
    },
    /// A pre-shared key (DTLS 1.2, `TLS_PSK_WITH_AES_128_CCM_8`).
    Psk(Psk),
}

impl ClientAuth {
    /// The client's own `cuid` (RFC 9132 §4.4.1).
    pub fn cuid(&self) -> Result<Cuid, CredError> {
        match self {
            ClientAuth::Certificate { identity, .. } => identity.cuid(),
            ClientAuth::Psk(psk) => Ok(psk.cuid()),
        }
    }
}

/// Which DTLS versions a client with X.509 credentials offers (PSK is always DTLS 1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DtlsVersion {
    /// DTLS 1.3 or 1.2, as the server prefers.
    #[default]
    Auto,
    /// DTLS 1.2 only (what libcoap 4.3 speaks).
    Dtls12,
}

/// Something that happened on a [`DtlsClient`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// The handshake completed and the server is authenticated.
    Connected,
    /// A datagram of plaintext from the server.
    Datagram(Vec<u8>),
}

/// A sans-IO DTLS client connection (one server).
pub struct DtlsClient {
    dtls: Dtls,
    auth: ClientAuth,
    server_verified: bool,
    connected: bool,
    timeout: Option<Instant>,
    transmits: VecDeque<Vec<u8>>,
    events: VecDeque<ClientEvent>,
    buf: Vec<u8>,
}

impl std::fmt::Debug for DtlsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DtlsClient")
            .field("connected", &self.connected)
            .finish_non_exhaustive()
    }
}

impl DtlsClient {
    /// Starts a handshake (the ClientHello is ready in [`poll_transmit`](Self::poll_transmit)).
    /// X.509 offers the versions `version` allows; PSK is DTLS 1.2.
    pub fn new(
        auth: ClientAuth,
        version: DtlsVersion,
        now: Instant,
    ) -> Result<DtlsClient, DtlsError> {
        let mut dtls = match &auth {
            ClientAuth::Certificate { identity, .. } => {
                let config = Arc::new(Config::builder().build().map_err(dimpl_err)?);
                let cert = dtls_cert(identity)?;
                match version {
                    DtlsVersion::Auto => Dtls::new_auto(config, cert, now),
                    DtlsVersion::Dtls12 => Dtls::new_12(config, cert, now),
                }
            }
            ClientAuth::Psk(psk) => {
                let table = Arc::new(PskTable {
                    keys: vec![psk.clone()],
                    last: Mutex::new(None),
                });
                let config = Config::builder()
                    .with_psk_client(psk.identity.clone(), table)
                    .build()
                    .map_err(dimpl_err)?;
                Dtls::new_12_psk(Arc::new(config), now)
            }
        };
        dtls.set_active(true);
        let mut client = DtlsClient {
            dtls,
            auth,
            server_verified: false,
            connected: false,
            timeout: None,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            buf: vec![0; 16 * 1024],
        };
        client.dtls.handle_timeout(now).map_err(dimpl_err)?;
        client.drain()?;
        Ok(client)
    }

    /// A datagram arrived from the server. An error is fatal for the connection.
    pub fn handle_datagram(&mut self, now: Instant, datagram: &[u8]) -> Result<(), DtlsError> {
        self.dtls.handle_timeout(now).map_err(dimpl_err)?;
        self.dtls.handle_packet(datagram).map_err(dimpl_err)?;
        self.drain()
    }

    /// Drives retransmissions; an error (e.g. the handshake timed out) is fatal.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), DtlsError> {
        self.dtls.handle_timeout(now).map_err(dimpl_err)?;
        self.drain()
    }

    /// Encrypts `plaintext` (one CoAP message); queued until the handshake completes.
    pub fn send(&mut self, plaintext: &[u8]) -> Result<(), DtlsError> {
        self.dtls
            .send_application_data(plaintext)
            .map_err(dimpl_err)?;
        self.drain()
    }

    /// The next datagram to send to the server.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmits.pop_front()
    }

    /// The next event.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) is due next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timeout
    }

    /// Whether the handshake completed.
    #[must_use]
    pub fn is_connected(&self) -> bool {
        self.connected
    }

    /// The credentials this client uses.
    #[must_use]
    pub fn auth(&self) -> &ClientAuth {
        &self.auth
    }

    fn drain(&mut self) -> Result<(), DtlsError> {
        loop {
            match self.dtls.poll_output(&mut self.buf) {
                Output::Packet(p) => self.transmits.push_back(p.to_vec()),
                Output::Timeout(t) => {
                    self.timeout = Some(t);
                    return Ok(());
                }
                Output::BufferTooSmall { needed } => self.buf.resize(needed, 0),
                Output::PeerCert(der) => {
                    let ClientAuth::Certificate {
                        trust, server_name, ..
                    } = &self.auth
                    else {
                        return Err(DtlsError::Dtls("unexpected server certificate".into()));
                    };
                    let leaf = CertificateDer::from(der.to_vec());
                    trust.verify_server(&leaf, &[], server_name, SystemTime::now())?;
                    self.server_verified = true;
                }
                Output::Connected => {
                    if matches!(self.auth, ClientAuth::Certificate { .. }) && !self.server_verified
                    {
                        return Err(DtlsError::Dtls("server sent no certificate".into()));
                    }
                    self.connected = true;
                    self.events.push_back(ClientEvent::Connected);
                }
                Output::ApplicationData(d) => {
                    self.events.push_back(ClientEvent::Datagram(d.to_vec()));
                }
                Output::CloseNotify => return Err(DtlsError::Closed),
                _ => {}
            }
        }
    }
}

/// A [`DtlsClient`] on a blocking, connected `std::net::UdpSocket`.
#[derive(Debug)]
pub struct UdpDtlsClient {
    socket: UdpSocket,
    server: SocketAddr,
    core: DtlsClient,
    inbox: VecDeque<Vec<u8>>,
    buf: Vec<u8>,
}

impl UdpDtlsClient {
    /// Connects to `server` and completes the handshake within `timeout` (DTLS 1.3 or 1.2).
    pub fn connect(
        server: SocketAddr,
        auth: ClientAuth,
        timeout: Duration,
    ) -> Result<UdpDtlsClient, DtlsError> {
        UdpDtlsClient::connect_with(server, auth, DtlsVersion::Auto, timeout)
    }

    /// [`connect`](Self::connect) with a choice of DTLS versions.
    pub fn connect_with(
        server: SocketAddr,
        auth: ClientAuth,
        version: DtlsVersion,
        timeout: Duration,
    ) -> Result<UdpDtlsClient, DtlsError> {
        let bind: SocketAddr = if server.is_ipv6() {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        } else {
            (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
        };
        let socket = UdpSocket::bind(bind)?;
        socket.connect(server)?;
        let mut client = UdpDtlsClient {
            socket,
            server,
            core: DtlsClient::new(auth, version, Instant::now())?,
            inbox: VecDeque::new(),
            buf: vec![0; MAX_DATAGRAM],
        };
        let deadline = Instant::now() + timeout;
        while !client.core.is_connected() {
            if Instant::now() >= deadline {
                return Err(DtlsError::Timeout);
            }
            client.step(deadline)?;
        }
        Ok(client)
    }

    /// The client's own `cuid`.
    pub fn cuid(&self) -> Result<Cuid, CredError> {
        self.core.auth().cuid()
    }

    /// The local address of the socket.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// The server's address.
    #[must_use]
    pub fn peer(&self) -> SocketAddr {
        self.server
    }

    /// Sends one plaintext datagram.
    pub fn send(&mut self, plaintext: &[u8]) -> Result<(), DtlsError> {
        self.core.send(plaintext)?;
        self.flush()
    }

    /// Waits up to `wait` for a plaintext datagram from the server.
    pub fn recv(&mut self, wait: Duration) -> Result<Option<Vec<u8>>, DtlsError> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(d) = self.inbox.pop_front() {
                return Ok(Some(d));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            self.step(deadline)?;
        }
    }

    /// One round: flush, wait for a datagram or a timer (not past `deadline`), process it.
    fn step(&mut self, deadline: Instant) -> Result<(), DtlsError> {
        self.flush()?;
        let now = Instant::now();
        let until = self
            .core
            .poll_timeout()
            .map_or(deadline, |t| t.min(deadline));
        let dur = until
            .saturating_duration_since(now)
            .max(Duration::from_millis(1));
        self.socket.set_read_timeout(Some(dur))?;
        match self.socket.recv(&mut self.buf) {
            Ok(n) => {
                let data = self.buf.get(..n).unwrap_or_default();
                self.core.handle_datagram(Instant::now(), data)?;
            }
            Err(e) if is_transient(&e) => {}
            Err(e) => return Err(e.into()),
        }
        self.core.handle_timeout(Instant::now())?;
        while let Some(e) = self.core.poll_event() {
            if let ClientEvent::Datagram(d) = e {
                self.inbox.push_back(d);
            }
        }
        self.flush()
    }

    fn flush(&mut self) -> Result<(), DtlsError> {
        while let Some(d) = self.core.poll_transmit() {
            match self.socket.send(&d) {
                Ok(_) => {}
                Err(e) if is_transient(&e) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}
