//! The signal channel (RFC 9132) over CoAP/DTLS: `--dtls ADDR` with `--cert/--key/--ca`
//! (X.509 mutual authentication) and/or `--psk IDENTITY:HEXKEY`.
//!
//! One task owns the UDP socket and the sans-IO DTLS endpoint of `support::dtls` (dimpl; the
//! client's certificate is verified against `--ca` before the handshake completes, so a client
//! from another CA gets no session). The plaintext of each record goes to the shared session
//! with the identity the handshake authenticated: the cuid is derived from the client's
//! certificate (SPKI) or PSK identity (RFC 9132 Section 4.4.1), never taken from the
//! Uri-Path. A request naming another client's cuid in its Uri-Path is that client's record:
//! the core answers 4.09 with `conflict-cause` cuid-collision (RFC 9132 Section 4.4.1.1,
//! Figure 11); a cuid nobody holds yet becomes one more record of this client.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant as StdInstant;

use dots::proto::data::PeerIdentity;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use crate::signal::{Outgoing, PeerKey, Route, Signal};
use crate::support::dtls::{DtlsServer, ServerEvent};

/// The close reason `support::dtls` gives for a `close_notify` (an orderly end).
const CLOSE_NOTIFY: &str = "peer sent close_notify";

/// Serves the signal channel over DTLS on `socket` until `shutdown` completes.
pub(crate) async fn serve(
    socket: UdpSocket,
    mut endpoint: DtlsServer,
    signal: Arc<Signal>,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let (tx, mut rx) = mpsc::unbounded_channel();
    signal.add_route(Route::Dtls, tx);
    let mut buf = vec![0u8; 65_536];
    loop {
        let deadline = endpoint.poll_timeout();
        let sleep = async {
            match deadline {
                Some(t) => tokio::time::sleep_until(tokio::time::Instant::from_std(t)).await,
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            () = &mut shutdown => break,
            received = socket.recv_from(&mut buf) => {
                if let Ok((n, from)) = received {
                    let datagram = buf.get(..n).unwrap_or_default();
                    endpoint.handle_datagram(StdInstant::now(), from, datagram);
                }
            }
            Some(out) = rx.recv() => match out {
                Outgoing::Send(to, plaintext) => {
                    // No session any more (closed meanwhile): the message is lost with it.
                    let _ = endpoint.send(to, &plaintext);
                }
                Outgoing::Close(peer) => {
                    endpoint.close(peer);
                    signal.shared().log(&format!("dtls {peer}: session closed by the server"));
                    signal.input(|s, now| s.peer_closed(now, &PeerKey::Dtls(peer)));
                }
            },
            () = sleep => endpoint.handle_timeout(StdInstant::now()),
        }
        while let Some(event) = endpoint.poll_event() {
            deliver(&signal, event);
        }
        while let Some((to, datagram)) = endpoint.poll_transmit() {
            // UDP is lossy anyway (DTLS and CoAP retransmit): a failed send is a lost datagram.
            let _ = socket.send_to(&datagram, to).await;
        }
    }
    signal.remove_route(Route::Dtls);
}

/// Hands one event of the DTLS endpoint to the session.
fn deliver(signal: &Signal, event: ServerEvent) {
    match event {
        ServerEvent::Connected { peer, identity } => {
            signal
                .shared()
                .log(&format!("dtls {peer}: connected {identity}"));
        }
        ServerEvent::Datagram {
            peer,
            identity,
            payload,
        } => {
            let cuid = identity.cuid.as_str();
            signal.input(|s, now| {
                s.handle_datagram(
                    now,
                    PeerKey::Dtls(peer),
                    &PeerIdentity::client(cuid),
                    &payload,
                );
            });
        }
        ServerEvent::Closed { peer, reason } => {
            signal.shared().log(&format!("dtls {peer}: {reason}"));
            let key = PeerKey::Dtls(peer);
            if reason == CLOSE_NOTIFY {
                signal.input(|s, now| s.peer_closed(now, &key));
            } else {
                signal.input(|s, now| s.peer_failed(now, &key));
            }
        }
    }
}
