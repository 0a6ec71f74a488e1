//! One small trait for a connected signal-channel link, and its four kinds: plain UDP and TCP
//! (RFC 7252 / RFC 8323 without security, for tests and labs only), DTLS
//! ([`UdpDtlsClient`](super::dtls::UdpDtlsClient)) and TLS ([`TlsLink`], blocking `rustls`).
//!
//! A [`Link`] moves whole CoAP messages over datagram transports (one datagram each, already
//! decrypted for DTLS) and pieces of the byte stream over stream transports (the CoAP framing
//! of RFC 8323 is the session's business), so a sans-IO session is driven the same way over all
//! four:
//!
//! ```ignore
//! match link.recv(wait)? {
//!     Some(bytes) if link.transport() == Transport::Udp => session.handle_datagram(now, &bytes),
//!     Some(bytes) => session.handle_stream_bytes(now, &bytes),
//!     None => {} // timed out: fire the session's timers
//! }
//! while let Some(t) = session.poll_transmit(now, &mut buf)? {
//!     link.send(&buf[..t.len])?;
//! }
//! ```
//!
//! The links are blocking (`std::net` sockets with read timeouts): a client drives one link
//! from one thread, and a server can wrap each accepted TCP/TLS connection in one
//! ([`TcpLink::from_stream`], [`TlsLink::accept`]). A lost datagram is not an error here: the
//! CoAP layer above retransmits. ICMP errors on a connected UDP socket (port unreachable) are
//! ignored for the same reason.

use std::fmt;
use std::io::{self, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dots::proto::coap::Transport;
use rustls_pki_types::ServerName;

use super::creds::CredError;
use super::dtls::{DtlsError, UdpDtlsClient};

/// Largest datagram or stream chunk read at once.
const MAX_READ: usize = 65_535;

/// The shortest socket read timeout (a zero timeout means "block forever" to `std`).
const MIN_WAIT: Duration = Duration::from_millis(1);

/// The security under a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Security {
    /// None: plain CoAP (RFC 7252 over UDP, RFC 8323 over TCP).
    Plain,
    /// DTLS over UDP.
    Dtls,
    /// TLS over TCP.
    Tls,
}

/// Why a link failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// A socket error.
    #[error("socket: {0}")]
    Io(#[from] io::Error),
    /// The DTLS layer failed.
    #[error(transparent)]
    Dtls(#[from] DtlsError),
    /// The TLS layer failed (handshake, certificate, record).
    #[error("TLS: {0}")]
    Tls(String),
    /// A credential problem (server name, files).
    #[error(transparent)]
    Creds(#[from] CredError),
    /// The peer closed the connection (stream transports, DTLS `close_notify`).
    #[error("the peer closed the connection")]
    Closed,
    /// The connection or handshake did not complete in time.
    #[error("connection timed out")]
    Timeout,
}

/// A connected link to one peer carrying CoAP messages (datagrams) or a CoAP stream.
pub trait Link: Send {
    /// [`Transport::Udp`] (one message per datagram) or [`Transport::Tcp`] (a byte stream).
    fn transport(&self) -> Transport;

    /// Plain, DTLS or TLS.
    fn security(&self) -> Security;

    /// The peer's address.
    fn peer(&self) -> SocketAddr;

    /// Sends one datagram, or bytes of the stream.
    fn send(&mut self, bytes: &[u8]) -> Result<(), LinkError>;

    /// Waits up to `wait` for the next datagram or stream chunk; `None` when nothing arrived.
    fn recv(&mut self, wait: Duration) -> Result<Option<Vec<u8>>, LinkError>;

    /// A short name for logs: `DTLS 192.0.2.1:4646`.
    fn describe(&self) -> String {
        let name = match (self.security(), self.transport()) {
            (Security::Plain, Transport::Udp) => "UDP",
            (Security::Plain, Transport::Tcp) => "TCP",
            (Security::Dtls, _) => "DTLS",
            (Security::Tls, _) => "TLS",
        };
        format!("{name} {}", self.peer())
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

/// Datagram errors that say nothing about the link: the CoAP layer retransmits.
fn is_transient_datagram_error(e: &io::Error) -> bool {
    is_timeout(e)
        || matches!(
            e.kind(),
            io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionReset
        )
}

fn unspecified_for(peer: SocketAddr) -> SocketAddr {
    if peer.is_ipv6() {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    }
}

// ----------------------------------------------------------------------------------------------
// Plain UDP
// ----------------------------------------------------------------------------------------------

/// Plain CoAP over UDP: a connected `std::net::UdpSocket`.
#[derive(Debug)]
pub struct UdpLink {
    socket: UdpSocket,
    peer: SocketAddr,
    buf: Vec<u8>,
}

impl UdpLink {
    /// A socket on an ephemeral port, connected to `peer` (nothing is sent).
    pub fn connect(peer: SocketAddr) -> Result<UdpLink, LinkError> {
        let socket = UdpSocket::bind(unspecified_for(peer))?;
        socket.connect(peer)?;
        Ok(UdpLink {
            socket,
            peer,
            buf: vec![0; MAX_READ],
        })
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }
}

impl Link for UdpLink {
    fn transport(&self) -> Transport {
        Transport::Udp
    }

    fn security(&self) -> Security {
        Security::Plain
    }

    fn peer(&self) -> SocketAddr {
        self.peer
    }

    fn send(&mut self, bytes: &[u8]) -> Result<(), LinkError> {
        match self.socket.send(bytes) {
            Ok(_) => Ok(()),
            Err(e) if is_transient_datagram_error(&e) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    fn recv(&mut self, wait: Duration) -> Result<Option<Vec<u8>>, LinkError> {
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            self.socket.set_read_timeout(Some(left.max(MIN_WAIT)))?;
            match self.socket.recv(&mut self.buf) {
                Ok(n) => return Ok(Some(self.buf.get(..n).unwrap_or_default().to_vec())),
                // An ICMP error for an earlier datagram: keep waiting for the rest of `wait`.
                Err(e) if is_transient_datagram_error(&e) && !is_timeout(&e) => {
                    if Instant::now() >= deadline {
                        return Ok(None);
                    }
                }
                Err(e) if is_timeout(&e) => return Ok(None),
                Err(e) => return Err(e.into()),
            }
        }
    }
}

// ----------------------------------------------------------------------------------------------
// Plain TCP
// ----------------------------------------------------------------------------------------------

/// Plain CoAP over TCP (RFC 8323): a `std::net::TcpStream`.
#[derive(Debug)]
pub struct TcpLink {
    stream: TcpStream,
    peer: SocketAddr,
    buf: Vec<u8>,
}

impl TcpLink {
    /// Connects to `peer` within `timeout`.
    pub fn connect(peer: SocketAddr, timeout: Duration) -> Result<TcpLink, LinkError> {
        let stream = TcpStream::connect_timeout(&peer, timeout.max(MIN_WAIT)).map_err(|e| {
            if is_timeout(&e) {
                LinkError::Timeout
            } else {
                LinkError::Io(e)
            }
        })?;
        TcpLink::from_stream(stream)
    }

    /// Wraps an accepted (or otherwise connected) stream.
    pub fn from_stream(stream: TcpStream) -> Result<TcpLink, LinkError> {
        let _ = stream.set_nodelay(true);
        let peer = stream.peer_addr()?;
        Ok(TcpLink {
            stream,
            peer,
            buf: vec![0; MAX_READ],
        })
    }
}

impl Link for TcpLink {
    fn transport(&self) -> Transport {
        Transport::Tcp
    }

    fn security(&self) -> Security {
        Security::Plain
    }

    fn peer(&self) -> SocketAddr {
        self.peer
    }

    fn send(&mut self, bytes: &[u8]) -> Result<(), LinkError> {
        self.stream.write_all(bytes)?;
        Ok(())
    }

    fn recv(&mut self, wait: Duration) -> Result<Option<Vec<u8>>, LinkError> {
        self.stream.set_read_timeout(Some(wait.max(MIN_WAIT)))?;
        match self.stream.read(&mut self.buf) {
            Ok(0) => Err(LinkError::Closed),
            Ok(n) => Ok(Some(self.buf.get(..n).unwrap_or_default().to_vec())),
            Err(e) if is_timeout(&e) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

// ----------------------------------------------------------------------------------------------
// TLS
// ----------------------------------------------------------------------------------------------

/// CoAP over TLS (RFC 8323) with blocking `rustls` over a `std::net::TcpStream`, as a client
/// ([`TlsLink::connect`]) or the server side of an accepted connection ([`TlsLink::accept`]).
/// Configurations come from [`tls::client_config`](super::tls::client_config) and
/// [`tls::server_config`](super::tls::server_config) (with [`ALPN_COAP`](super::tls::ALPN_COAP)).
pub struct TlsLink {
    conn: rustls::Connection,
    stream: TcpStream,
    peer: SocketAddr,
    buf: Vec<u8>,
}

impl fmt::Debug for TlsLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsLink")
            .field("peer", &self.peer)
            .finish_non_exhaustive()
    }
}

fn tls_err(e: impl fmt::Display) -> LinkError {
    LinkError::Tls(e.to_string())
}

impl TlsLink {
    /// Connects to `peer` and completes the handshake within `timeout`, checking the server's
    /// certificate against `server_name` (a DNS name or an IP address).
    pub fn connect(
        peer: SocketAddr,
        server_name: &str,
        config: Arc<rustls::ClientConfig>,
        timeout: Duration,
    ) -> Result<TlsLink, LinkError> {
        let deadline = Instant::now() + timeout;
        let name = ServerName::try_from(server_name.to_owned())
            .map_err(|_| CredError::BadServerName(server_name.to_owned()))?;
        let conn = rustls::ClientConnection::new(config, name).map_err(tls_err)?;
        let tcp = TcpLink::connect(peer, timeout)?;
        TlsLink::handshake(conn.into(), tcp.stream, deadline)
    }

    /// Completes the server side of the handshake on an accepted connection within `timeout`.
    /// The client's certificate chain is verified by the configuration's verifier; read it with
    /// [`peer_certificates`](Self::peer_certificates).
    pub fn accept(
        stream: TcpStream,
        config: Arc<rustls::ServerConfig>,
        timeout: Duration,
    ) -> Result<TlsLink, LinkError> {
        let deadline = Instant::now() + timeout;
        let _ = stream.set_nodelay(true);
        let conn = rustls::ServerConnection::new(config).map_err(tls_err)?;
        TlsLink::handshake(conn.into(), stream, deadline)
    }

    fn handshake(
        mut conn: rustls::Connection,
        mut stream: TcpStream,
        deadline: Instant,
    ) -> Result<TlsLink, LinkError> {
        let peer = stream.peer_addr()?;
        while conn.is_handshaking() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(LinkError::Timeout);
            }
            stream.set_read_timeout(Some(left.max(MIN_WAIT)))?;
            match conn.complete_io(&mut stream) {
                Ok((0, 0)) if conn.is_handshaking() => return Err(LinkError::Closed),
                Ok(_) => {}
                Err(e) if is_timeout(&e) => return Err(LinkError::Timeout),
                Err(e) => return Err(tls_err(e)),
            }
        }
        let mut link = TlsLink {
            conn,
            stream,
            peer,
            buf: vec![0; MAX_READ],
        };
        link.flush()?;
        Ok(link)
    }

    /// The peer's certificate chain (leaf first), once the handshake is done.
    #[must_use]
    pub fn peer_certificates(&self) -> Option<&[rustls_pki_types::CertificateDer<'static>]> {
        self.conn.peer_certificates()
    }

    /// The ALPN protocol the peers agreed on.
    #[must_use]
    pub fn alpn_protocol(&self) -> Option<&[u8]> {
        self.conn.alpn_protocol()
    }

    fn flush(&mut self) -> Result<(), LinkError> {
        while self.conn.wants_write() {
            self.conn.write_tls(&mut self.stream)?;
        }
        Ok(())
    }

    /// The plaintext rustls holds, if any.
    fn plaintext(&mut self) -> Result<Option<Vec<u8>>, LinkError> {
        let mut out = Vec::new();
        loop {
            match self.conn.reader().read(&mut self.buf) {
                Ok(0) => {
                    // close_notify received: what was read before it still counts.
                    return if out.is_empty() {
                        Err(LinkError::Closed)
                    } else {
                        Ok(Some(out))
                    };
                }
                Ok(n) => out.extend_from_slice(self.buf.get(..n).unwrap_or_default()),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    return Err(LinkError::Closed)
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok((!out.is_empty()).then_some(out))
    }
}

impl Link for TlsLink {
    fn transport(&self) -> Transport {
        Transport::Tcp
    }

    fn security(&self) -> Security {
        Security::Tls
    }

    fn peer(&self) -> SocketAddr {
        self.peer
    }

    fn send(&mut self, bytes: &[u8]) -> Result<(), LinkError> {
        self.conn.writer().write_all(bytes)?;
        self.flush()
    }

    fn recv(&mut self, wait: Duration) -> Result<Option<Vec<u8>>, LinkError> {
        if let Some(data) = self.plaintext()? {
            return Ok(Some(data));
        }
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            self.stream.set_read_timeout(Some(left.max(MIN_WAIT)))?;
            match self.conn.read_tls(&mut self.stream) {
                Ok(0) => return Err(LinkError::Closed),
                Ok(_) => {
                    self.conn.process_new_packets().map_err(tls_err)?;
                    self.flush()?;
                    if let Some(data) = self.plaintext()? {
                        return Ok(Some(data));
                    }
                    // A record without application data (a ticket, a key update): go on.
                    if Instant::now() >= deadline {
                        return Ok(None);
                    }
                }
                Err(e) if is_timeout(&e) => return Ok(None),
                Err(e) => return Err(e.into()),
            }
        }
    }
}

// ----------------------------------------------------------------------------------------------
// DTLS
// ----------------------------------------------------------------------------------------------

impl Link for UdpDtlsClient {
    fn transport(&self) -> Transport {
        Transport::Udp
    }

    fn security(&self) -> Security {
        Security::Dtls
    }

    fn peer(&self) -> SocketAddr {
        UdpDtlsClient::peer(self)
    }

    fn send(&mut self, bytes: &[u8]) -> Result<(), LinkError> {
        Ok(UdpDtlsClient::send(self, bytes)?)
    }

    fn recv(&mut self, wait: Duration) -> Result<Option<Vec<u8>>, LinkError> {
        match UdpDtlsClient::recv(self, wait) {
            Ok(d) => Ok(d),
            Err(DtlsError::Closed) => Err(LinkError::Closed),
            Err(e) => Err(e.into()),
        }
    }
}
