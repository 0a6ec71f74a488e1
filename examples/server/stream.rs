//! The signal channel (RFC 9132) over CoAP over TCP and TLS (RFC 8323): `--tls ADDR` with
//! `--cert/--key/--ca` (a client certificate is required and verified against `--ca`; ALPN
//! `coap`), and `--tcp ADDR --insecure` for the lab.
//!
//! One task per connection moves the stream's bytes into the shared session
//! ([`handle_stream_bytes`](dots::proto::signal::session::ServerSession::handle_stream_bytes):
//! the CSM, the framing and the requests are the session's) and writes back the frames the
//! session routes to it. An orderly end of the stream is
//! [`peer_closed`](dots::proto::signal::session::ServerSession::peer_closed), an I/O error
//! [`peer_failed`](dots::proto::signal::session::ServerSession::peer_failed).
//!
//! Over TLS the cuid is the client certificate's (RFC 9132 Section 4.4.1). Over plain TCP
//! nothing authenticates the client: the connection's cuid is the one in the Uri-Path of its
//! first request (`cuid=...`), as sent, or one derived from its address when that request names
//! none (`/hb`, `/config`); anyone can act as any client.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use dots::codec::coap::{frame_len, Frame};
use dots::proto::data::PeerIdentity;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};

use crate::signal::{Outgoing, PeerKey, Route, Signal};
use crate::support::tls::TlsServer;
use crate::udp::{address_cuid, path_cuid};

/// How long a client has to complete the TLS handshake.
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once per listener; further clients wait in the listen queue.
pub(crate) const MAX_CONNECTIONS: usize = 1024;
/// Bytes a plain TCP connection may send before its first request names its cuid; past that,
/// the cuid is derived from its address.
const MAX_UNNAMED: usize = 64 * 1024;
/// A CSM without options (RFC 8323 Section 5.3): Len 0, TKL 0, code 7.01.
const EMPTY_CSM: [u8; 2] = [0x00, 0xe1];

/// Serves CoAP over TLS on `listener` until `shutdown` completes.
pub(crate) async fn serve_tls(
    listener: TlsServer,
    signal: Arc<Signal>,
    shutdown: impl Future<Output = ()>,
) {
    let listener = &listener;
    accept_loop(
        || listener.accept_tcp(),
        shutdown,
        |tcp, peer, slot, stopped| {
            let handshake = listener.handshake(tcp);
            let signal = Arc::clone(&signal);
            tokio::spawn(async move {
                let _slot = slot;
                let log = |line: String| signal.shared().log(&line);
                let (stream, identity) =
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
                        Ok(Ok(done)) => done,
                        Ok(Err(e)) => return log(format!("tls {peer}: handshake refused: {e}")),
                        Err(_) => return log(format!("tls {peer}: handshake timed out")),
                    };
                log(format!("tls {peer}: connected {identity}"));
                let cuid = identity.cuid.as_str().to_owned();
                connection(stream, PeerKey::Tls(peer), Some(cuid), signal, stopped).await;
            });
        },
    )
    .await;
}

/// Serves plain CoAP over TCP on `listener` until `shutdown` completes.
pub(crate) async fn serve_tcp(
    listener: TcpListener,
    signal: Arc<Signal>,
    shutdown: impl Future<Output = ()>,
) {
    let listener = &listener;
    accept_loop(
        || listener.accept(),
        shutdown,
        |tcp, peer, slot, stopped| {
            let _ = tcp.set_nodelay(true);
            let signal = Arc::clone(&signal);
            tokio::spawn(async move {
                let _slot = slot;
                signal.shared().log(&format!("tcp {peer}: connected"));
                connection(tcp, PeerKey::Tcp(peer), None, signal, stopped).await;
            });
        },
    )
    .await;
}

/// Accepts connections until `shutdown` completes, at most [`MAX_CONNECTIONS`] at once (a
/// connection holds its slot until it ends), and hands each to `serve` with its slot and a
/// receiver that turns `true` when the server stops.
async fn accept_loop<A, F>(
    mut accept: A,
    shutdown: impl Future<Output = ()>,
    mut serve: impl FnMut(TcpStream, SocketAddr, OwnedSemaphorePermit, watch::Receiver<bool>),
) where
    A: FnMut() -> F,
    F: Future<Output = std::io::Result<(TcpStream, SocketAddr)>>,
{
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let (stop, stopped) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = async {
                let slot = Arc::clone(&slots).acquire_owned().await.ok()?;
                Some((accept().await, slot))
            } => accepted,
        };
        let Some((accepted, slot)) = accepted else {
            continue;
        };
        let Ok((tcp, peer)) = accepted else {
            // E.g. out of file descriptors: back off instead of spinning.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        serve(tcp, peer, slot, stopped.clone());
    }
    let _ = stop.send(true);
}

/// How a connection ended.
enum End {
    /// The peer closed its side, or the server closed the connection.
    Closed,
    /// An I/O error.
    Failed(std::io::Error),
    /// The server stops.
    Shutdown,
}

/// Moves one connection's bytes to and from the session until it ends. `cuid`: the
/// authenticated one (TLS), or `None` to take it from the first request (plain TCP).
async fn connection<S: AsyncRead + AsyncWrite>(
    stream: S,
    key: PeerKey,
    cuid: Option<String>,
    signal: Arc<Signal>,
    mut stopped: watch::Receiver<bool>,
) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    signal.add_route(Route::Stream(key), tx);
    let (mut reader, mut writer) = tokio::io::split(stream);
    if cuid.is_none() {
        // The session meets the peer with its first request (which names the cuid), but a
        // client may wait for the server's CSM before it sends any (libcoap does): an empty
        // CSM (RFC 8323 Section 5.3, every option at its default) goes out at once; the
        // session's own CSM follows later, as RFC 8323 allows.
        if let Err(e) = writer.write_all(&EMPTY_CSM).await {
            signal
                .shared()
                .log(&format!("{} {}: {e}", key.proto(), key.addr()));
            signal.remove_route(Route::Stream(key));
            return;
        }
    }
    let mut naming = Naming::new(cuid, key.addr());
    let mut buf = vec![0u8; 16 * 1024];
    let end = loop {
        tokio::select! {
            () = async {
                let _ = stopped.wait_for(|stop| *stop).await;
            } => break End::Shutdown,
            read = reader.read(&mut buf) => match read {
                Ok(0) => break End::Closed,
                Ok(n) => {
                    let bytes = buf.get(..n).unwrap_or_default();
                    if let Some((cuid, bytes)) = naming.push(bytes) {
                        signal.input(|s, now| {
                            s.handle_stream_bytes(now, key, &PeerIdentity::client(&cuid), &bytes);
                        });
                    }
                }
                Err(e) => break End::Failed(e),
            },
            Some(out) = rx.recv() => match out {
                Outgoing::Send(_, frame) => {
                    if let Err(e) = writer.write_all(&frame).await {
                        break End::Failed(e);
                    }
                }
                Outgoing::Close(_) => break End::Closed,
            },
        }
    };
    signal.remove_route(Route::Stream(key));
    let _ = writer.shutdown().await;
    match end {
        End::Closed | End::Shutdown => {
            signal
                .shared()
                .log(&format!("{} {}: closed", key.proto(), key.addr()));
            signal.input(|s, now| s.peer_closed(now, &key));
        }
        End::Failed(e) => {
            signal
                .shared()
                .log(&format!("{} {}: {e}", key.proto(), key.addr()));
            signal.input(|s, now| s.peer_failed(now, &key));
        }
    }
}

/// The cuid of a connection: known from the start (TLS), or taken from the first request of a
/// plain TCP connection, the bytes before it held back until then.
struct Naming {
    cuid: Option<String>,
    from: SocketAddr,
    held: Vec<u8>,
}

impl Naming {
    fn new(cuid: Option<String>, from: SocketAddr) -> Naming {
        Naming {
            cuid,
            from,
            held: Vec::new(),
        }
    }

    /// Takes bytes of the stream; returns the cuid and the bytes to give to the session, once
    /// the cuid is known.
    fn push(&mut self, bytes: &[u8]) -> Option<(String, Vec<u8>)> {
        if let Some(cuid) = &self.cuid {
            return Some((cuid.clone(), bytes.to_vec()));
        }
        self.held.extend_from_slice(bytes);
        let cuid = self.first_request_cuid()?;
        self.cuid = Some(cuid.clone());
        Some((cuid, std::mem::take(&mut self.held)))
    }

    /// The cuid decided by the frames held so far, if they decide it.
    fn first_request_cuid(&self) -> Option<String> {
        let mut rest = self.held.as_slice();
        loop {
            let len = match frame_len(rest) {
                Ok(Some(len)) if len <= rest.len() => len,
                // Incomplete: wait for more, unless too much is held already.
                Ok(_) if self.held.len() <= MAX_UNNAMED => return None,
                // Not CoAP, or too long: the session answers it; the address names the peer.
                _ => return Some(address_cuid(self.from)),
            };
            let (frame, next) = rest.split_at(len);
            rest = next;
            let Ok(frame) = Frame::parse(frame) else {
                return Some(address_cuid(self.from));
            };
            if frame.code().is_request() {
                return Some(path_cuid(frame.options()).unwrap_or_else(|| address_cuid(self.from)));
            }
            // A signaling message (CSM, Ping, ...) or a response: look further.
        }
    }
}
