//! The signal channel (RFC 9132) over plain CoAP/UDP, for the lab: `--udp ADDR --insecure`.
//!
//! **Insecure.** Without DTLS nothing authenticates the client: the cuid is taken from the
//! request's Uri-Path as sent (`cuid=...`), for requests without one (`/hb`, `/config`) the
//! last cuid that address used, or else one derived from the address. Anyone who can send a
//! datagram can act as any client. Use `--dtls` (mutual authentication) in production.
//!
//! One task owns the socket: datagrams in go to the shared session (through [`Signal`]), the
//! session's datagrams for [`PeerKey::Udp`] peers come back on the task's route.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use dots::codec::coap::Message;
use dots::proto::cuid::Cuid;
use dots::proto::data::PeerIdentity;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use crate::signal::{Outgoing, PeerKey, Route, Signal};

/// Addresses whose cuid is remembered (a lab bound, not a security one).
const MAX_REMEMBERED: usize = 65_536;

/// Serves the signal channel on `socket` until `shutdown` completes.
pub(crate) async fn serve(
    socket: UdpSocket,
    signal: Arc<Signal>,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let (tx, mut rx) = mpsc::unbounded_channel();
    signal.add_route(Route::Udp, tx);
    let mut buf = vec![0u8; 65_536];
    let mut known: HashMap<SocketAddr, String> = HashMap::new();
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            received = socket.recv_from(&mut buf) => {
                // ICMP errors (a client gone) surface here on some systems: nothing to do.
                if let Ok((n, from)) = received {
                    let datagram = buf.get(..n).unwrap_or_default();
                    let cuid = insecure_cuid(&mut known, from, datagram);
                    signal.input(|s, now| {
                        s.handle_datagram(now, PeerKey::Udp(from), &PeerIdentity::client(&cuid), datagram);
                    });
                }
            }
            Some(out) = rx.recv() => {
                if let Outgoing::Send(to, datagram) = out {
                    // UDP is lossy anyway: a failed send is a lost datagram.
                    let _ = socket.send_to(&datagram, to).await;
                }
            }
        }
    }
    signal.remove_route(Route::Udp);
}

/// The cuid of an unauthenticated datagram (see the module documentation).
fn insecure_cuid(
    known: &mut HashMap<SocketAddr, String>,
    from: SocketAddr,
    datagram: &[u8],
) -> String {
    let in_path = Message::parse(datagram)
        .ok()
        .and_then(|m| path_cuid(m.options()));
    if let Some(c) = in_path {
        if known.len() >= MAX_REMEMBERED {
            known.clear();
        }
        known.insert(from, c.clone());
        return c;
    }
    known
        .get(&from)
        .cloned()
        .unwrap_or_else(|| address_cuid(from))
}

/// The `cuid=` segment of a Uri-Path, if any.
pub(crate) fn path_cuid(options: dots::codec::coap::Options<'_>) -> Option<String> {
    options
        .uri_path()
        .flatten()
        .find_map(|s| s.strip_prefix("cuid=").map(str::to_owned))
}

/// The cuid given to an unauthenticated peer that never named one: derived from its address.
pub(crate) fn address_cuid(from: SocketAddr) -> String {
    Cuid::from_psk_identity(from.to_string().as_bytes())
        .as_str()
        .to_owned()
}
