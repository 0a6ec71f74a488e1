//! The server as a whole: binds the sockets of a [`Config`], reports each once it accepts
//! traffic, serves them on one [`Shared`] state until told to stop.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use dots::proto::data::DataServerConfig;
use tokio::sync::watch;

use crate::https;
use crate::state::{Log, Shared};
use crate::support::creds::{Identity, Trust};
use crate::support::tls::{self, TlsError, TlsServer, ALPN_HTTP11};
use crate::udp;

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

/// What to serve.
#[derive(Debug, Clone, Default)]
pub(crate) struct Config {
    /// The data channel (RFC 8783), if any.
    pub(crate) https: Option<HttpsConfig>,
    /// The signal channel over plain CoAP/UDP (no security), if any.
    pub(crate) udp: Option<SocketAddr>,
    /// The data server's configuration (RESTCONF root, lifetimes, limits, capabilities).
    pub(crate) data: DataServerConfig,
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
            Arc::clone(&shared),
            stopping(stopped.clone()),
        ));
    }
    let timer = tokio::spawn(Arc::clone(&shared).run_timer());
    shutdown.await;
    let _ = stop.send(true);
    while tasks.join_next().await.is_some() {}
    timer.abort();
    Ok(())
}

/// Completes when the server is told to stop.
async fn stopping(mut stopped: watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}
