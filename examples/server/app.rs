//! The server as a whole: binds the sockets of a [`Config`], reports each once it accepts
//! traffic, serves them on one [`Shared`] state until told to stop.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use dots::proto::data::DataServerConfig;
use tokio::sync::watch;

use crate::signal::{Signal, MITIGATED_AFTER};
use crate::state::{Log, Shared};
use crate::support::creds::{Identity, Trust};
use crate::support::dtls::{DtlsError, DtlsServer, ServerConfig as DtlsConfig};
use crate::support::tls::{self, TlsError, TlsServer, ALPN_COAP, ALPN_HTTP11};
use crate::{dtls, https, stream, udp};

/// The data channel's listener.
#[derive(Debug, Clone)]
pub(crate) struct HttpsConfig {
    /// Where to listen (port 0: any free port).
    pub(crate) addr: SocketAddr,
    /// The server's certificate chain and key.
    pub(crate) identity: Identity,
    /// The CAs client certificates must chain to.
    pub(crate) client_trust: Trust,
}

/// The signal channel's DTLS listener.
#[derive(Debug, Clone)]
pub(crate) struct DtlsListen {
    /// Where to listen (port 0: any free port).
    pub(crate) addr: SocketAddr,
    /// The credentials: X.509 (certificate, key, client CAs) and/or PSKs.
    pub(crate) config: DtlsConfig,
}

/// What to serve.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// The data channel (RFC 8783), if any.
    pub(crate) https: Option<HttpsConfig>,
    /// The signal channel over plain CoAP/UDP (no security), if any.
    pub(crate) udp: Option<SocketAddr>,
    /// The signal channel over plain CoAP/TCP (RFC 8323, no security), if any.
    pub(crate) tcp: Option<SocketAddr>,
    /// The signal channel over CoAP/DTLS, if any.
    pub(crate) dtls: Option<DtlsListen>,
    /// The signal channel over CoAP/TLS (RFC 8323; the credentials are those of an
    /// [`HttpsConfig`]), if any.
    pub(crate) tls: Option<HttpsConfig>,
    /// How long the in-memory mitigator takes to report a new mitigation as mitigated.
    pub(crate) mitigated_after: Duration,
    /// The data server's configuration (RESTCONF root, lifetimes, limits, capabilities).
    pub(crate) data: DataServerConfig,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            https: None,
            udp: None,
            tcp: None,
            dtls: None,
            tls: None,
            mitigated_after: MITIGATED_AFTER,
            data: DataServerConfig::default(),
        }
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum StartError {
    /// A TLS configuration or socket problem.
    #[error("https {addr}: {source}")]
    Https {
        /// The address asked for.
        addr: SocketAddr,
        /// What went wrong.
        source: TlsError,
    },
    /// The UDP socket could not be bound.
    #[error("udp {addr}: {source}")]
    Udp {
        /// The address asked for.
        addr: SocketAddr,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The TCP socket could not be bound.
    #[error("tcp {addr}: {source}")]
    Tcp {
        /// The address asked for.
        addr: SocketAddr,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The DTLS configuration or its socket.
    #[error("dtls {addr}: {source}")]
    Dtls {
        /// The address asked for.
        addr: SocketAddr,
        /// What went wrong.
        source: DtlsError,
    },
    /// The TLS configuration or its socket.
    #[error("tls {addr}: {source}")]
    Tls {
        /// The address asked for.
        addr: SocketAddr,
        /// What went wrong.
        source: TlsError,
    },
}

/// Binds every socket of `config`, calls `ready(proto, addr)` for each once it accepts
/// traffic, then serves until `shutdown` completes. Events and connection problems go to
/// `log`, one line each.
pub(crate) async fn run(
    config: Config,
    log: Log,
    mut ready: impl FnMut(&str, SocketAddr),
    shutdown: impl Future<Output = ()>,
) -> Result<(), StartError> {
    let shared = Shared::new(config.data, log);
    let signal = Signal::new(Arc::clone(&shared), config.mitigated_after);
    let (stop, stopped) = watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    if let Some(h) = config.https {
        let err = |source| StartError::Https {
            addr: h.addr,
            source,
        };
        let tls = tls::server_config(&h.identity, &h.client_trust, &[ALPN_HTTP11]).map_err(err)?;
        let listener = TlsServer::bind(h.addr, tls).await.map_err(err)?;
        let addr = listener.local_addr().map_err(|e| err(e.into()))?;
        ready("https", addr);
        tasks.spawn(https::serve(
            listener,
            Arc::clone(&shared),
            stopping(stopped.clone()),
        ));
    }
    if let Some(addr) = config.udp {
        let err = |source| StartError::Udp { addr, source };
        let socket = tokio::net::UdpSocket::bind(addr).await.map_err(err)?;
        let bound = socket.local_addr().map_err(err)?;
        ready("udp", bound);
        tasks.spawn(udp::serve(
            socket,
            Arc::clone(&signal),
            stopping(stopped.clone()),
        ));
    }
    if let Some(d) = config.dtls {
        let err = |source| StartError::Dtls {
            addr: d.addr,
            source,
        };
        let endpoint = DtlsServer::new(d.config).map_err(err)?;
        let socket = tokio::net::UdpSocket::bind(d.addr)
            .await
            .map_err(|e| err(e.into()))?;
        let bound = socket.local_addr().map_err(|e| err(e.into()))?;
        ready("dtls", bound);
        tasks.spawn(dtls::serve(
            socket,
            endpoint,
            Arc::clone(&signal),
            stopping(stopped.clone()),
        ));
    }
    if let Some(addr) = config.tcp {
        let err = |source| StartError::Tcp { addr, source };
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(err)?;
        let bound = listener.local_addr().map_err(err)?;
        ready("tcp", bound);
        tasks.spawn(stream::serve_tcp(
            listener,
            Arc::clone(&signal),
            stopping(stopped.clone()),
        ));
    }
    if let Some(t) = config.tls {
        let err = |source| StartError::Tls {
            addr: t.addr,
            source,
        };
        let tls = tls::server_config(&t.identity, &t.client_trust, &[ALPN_COAP]).map_err(err)?;
        let listener = TlsServer::bind(t.addr, tls).await.map_err(err)?;
        let bound = listener.local_addr().map_err(|e| err(e.into()))?;
        ready("tls", bound);
        tasks.spawn(stream::serve_tls(
            listener,
            Arc::clone(&signal),
            stopping(stopped.clone()),
        ));
    }
    let timer = tokio::spawn(Arc::clone(&shared).run_timer());
    let signal_timer = tokio::spawn(Arc::clone(&signal).run_timer());
    shutdown.await;
    let _ = stop.send(true);
    while tasks.join_next().await.is_some() {}
    timer.abort();
    signal_timer.abort();
    Ok(())
}

/// Completes when the server is told to stop.
async fn stopping(mut stopped: watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}
