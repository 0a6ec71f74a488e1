//! TLS over TCP for CoAP over TLS (RFC 8323, signal channel) and HTTPS (RFC 8783, data
//! channel), with `rustls` (ring provider) and `tokio-rustls`.
//!
//! The server requires a client certificate that chains to the trust anchors (rustls'
//! `WebPkiClientVerifier`), and [`TlsServer::accept`] returns the client's
//! [`PeerIdentity`] with its `cuid` (RFC 9132 §4.4.1). rustls has no external-PSK support, so
//! DOTS over TLS here is X.509 only.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, ServerConfig};
use rustls_pki_types::ServerName;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{client, server, TlsAcceptor, TlsConnector};

use super::creds::{spki_of, CredError, Credential, Identity, PeerIdentity, Trust};

/// ALPN protocol id of CoAP over TLS (RFC 8323 §4.3).
pub const ALPN_COAP: &[u8] = b"coap";
/// ALPN protocol id of HTTP/1.1 (for the RFC 8783 data channel).
pub const ALPN_HTTP11: &[u8] = b"http/1.1";

/// Why a TLS endpoint failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// The rustls configuration is unusable (bad key, ...).
    #[error("TLS configuration: {0}")]
    Config(String),
    /// Socket or handshake error (rustls errors surface as `io::Error`s in tokio-rustls).
    #[error("TLS: {0}")]
    Io(#[from] io::Error),
    /// A credential problem.
    #[error(transparent)]
    Creds(#[from] CredError),
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn config_err(e: impl std::fmt::Display) -> TlsError {
    TlsError::Config(e.to_string())
}

/// A server configuration: present `identity`, require client certificates chaining to
/// `client_trust`, offer the ALPN ids in `alpn` (e.g. [`ALPN_COAP`]).
pub fn server_config(
    identity: &Identity,
    client_trust: &Trust,
    alpn: &[&[u8]],
) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = provider();
    let verifier = WebPkiClientVerifier::builder_with_provider(
        Arc::new(client_trust.root_store()?),
        provider.clone(),
    )
    .build()
    .map_err(config_err)?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(config_err)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(identity.chain.clone(), identity.key.clone_key())
        .map_err(config_err)?;
    config.alpn_protocols = alpn.iter().map(|a| a.to_vec()).collect();
    Ok(Arc::new(config))
}

/// A client configuration: trust servers chaining to `server_trust`, present `identity` if
/// given, offer the ALPN ids in `alpn`.
pub fn client_config(
    identity: Option<&Identity>,
    server_trust: &Trust,
    alpn: &[&[u8]],
) -> Result<Arc<ClientConfig>, TlsError> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(config_err)?
        .with_root_certificates(server_trust.root_store()?);
    let mut config = match identity {
        Some(id) => builder
            .with_client_auth_cert(id.chain.clone(), id.key.clone_key())
            .map_err(config_err)?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = alpn.iter().map(|a| a.to_vec()).collect();
    Ok(Arc::new(config))
}

/// The identity of the client of an accepted connection (its certificate was already
/// verified by rustls).
pub fn client_identity(conn: &rustls::ServerConnection) -> Result<PeerIdentity, TlsError> {
    let leaf = conn
        .peer_certificates()
        .and_then(|c| c.first())
        .ok_or(CredError::NoCertificate)?;
    let spki = spki_of(leaf)?;
    Ok(PeerIdentity {
        cuid: dots::proto::cuid::Cuid::from_spki(&spki),
        credential: Credential::Certificate {
            leaf: leaf.clone().into_owned(),
            spki,
        },
    })
}

/// A TLS listener that authenticates its clients.
pub struct TlsServer {
    listener: TcpListener,
    acceptor: TlsAcceptor,
}

impl std::fmt::Debug for TlsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsServer")
            .field("listener", &self.listener)
            .finish_non_exhaustive()
    }
}

impl TlsServer {
    /// Binds `addr` (port 0 for any free port).
    pub async fn bind(addr: SocketAddr, config: Arc<ServerConfig>) -> Result<TlsServer, TlsError> {
        Ok(TlsServer {
            listener: TcpListener::bind(addr).await?,
            acceptor: TlsAcceptor::from(config),
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Accepts the next TCP connection and completes its TLS handshake. A handshake failure
    /// (e.g. a client certificate from another CA) is returned as an error; the listener stays
    /// usable.
    pub async fn accept(
        &self,
    ) -> Result<(server::TlsStream<TcpStream>, SocketAddr, PeerIdentity), TlsError> {
        let (tcp, peer) = self.accept_tcp().await?;
        let (stream, identity) = self.handshake(tcp).await?;
        Ok((stream, peer, identity))
    }

    /// Accepts the next TCP connection without its TLS handshake, for a server that completes
    /// handshakes concurrently (with [`TlsServer::handshake`] in a task of their own), so that a
    /// slow or silent peer does not hold up the listener.
    pub async fn accept_tcp(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (tcp, peer) = self.listener.accept().await?;
        let _ = tcp.set_nodelay(true);
        Ok((tcp, peer))
    }

    /// Completes the TLS handshake of a connection from [`TlsServer::accept_tcp`] and returns
    /// the stream with the client's identity. The future owns what it needs (it can be
    /// spawned); bound it with a timeout.
    pub fn handshake(
        &self,
        tcp: TcpStream,
    ) -> impl std::future::Future<
        Output = Result<(server::TlsStream<TcpStream>, PeerIdentity), TlsError>,
    > + Send
           + 'static {
        let accept = self.acceptor.accept(tcp);
        async move {
            let stream = accept.await?;
            let identity = client_identity(stream.get_ref().1)?;
            Ok((stream, identity))
        }
    }
}

/// Connects to `addr` and completes a TLS handshake, checking the server certificate against
/// `server_name` (a DNS name or IP address).
pub async fn connect(
    addr: SocketAddr,
    server_name: &str,
    config: Arc<ClientConfig>,
) -> Result<client::TlsStream<TcpStream>, TlsError> {
    let name = ServerName::try_from(server_name.to_owned())
        .map_err(|_| CredError::BadServerName(server_name.to_owned()))?;
    let tcp = TcpStream::connect(addr).await?;
    let _ = tcp.set_nodelay(true);
    Ok(TlsConnector::from(config).connect(name, tcp).await?)
}
