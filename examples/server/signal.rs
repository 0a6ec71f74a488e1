//! The signal channel's driver, common to every transport (`--udp`, `--dtls`, `--tcp`,
//! `--tls`): the session's timers, the in-memory mitigator, the session's events (one log line
//! each) and the routing of what the session sends to the transport of each peer.
//!
//! Each transport task feeds what arrives into the one [`ServerSession`] of the [`Shared`]
//! state with its own [`PeerKey`] (the transport and the peer's address, so that a UDP and a
//! TCP peer with the same address stay apart) and the peer's identity, then calls
//! [`Signal::pump`]: the events are handled and every message the session wants to send goes to
//! the route of its peer's transport ([`Signal::add_route`]). [`Signal::run_timer`] fires the
//! session's deadlines (heartbeats, deadman, lifetimes) and the mitigator's.
//!
//! The mitigator "mitigates" every accepted request: a delay later ([`MITIGATED_AFTER`] by
//! default, `--mitigated-after`) it reports
//! attack-successfully-mitigated (status 2) through
//! [`set_mitigation_status`](dots::proto::signal::session::ServerSession::set_mitigation_status),
//! which notifies the observers.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use dots::codec::model::MitigationStatus;
use dots::proto::signal::server::{MitigationStats, ServerEvent};
use dots::proto::signal::session::{SessionEvent, MAX_MESSAGE_SIZE};
use dots::proto::time::Instant;
use tokio::sync::{mpsc, Notify};

use crate::state::{Field, Session, Shared};

/// How long the in-memory mitigator takes to "mitigate" an attack, by default.
pub(crate) const MITIGATED_AFTER: Duration = Duration::from_secs(1);

/// A signal-channel peer: its transport and address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum PeerKey {
    /// Plain CoAP over UDP (`--udp --insecure`).
    Udp(SocketAddr),
    /// CoAP over DTLS (`--dtls`).
    Dtls(SocketAddr),
    /// Plain CoAP over TCP (`--tcp --insecure`).
    Tcp(SocketAddr),
    /// CoAP over TLS (`--tls`).
    Tls(SocketAddr),
}

impl PeerKey {
    /// The transport's name as in the `listening` lines.
    pub(crate) fn proto(self) -> &'static str {
        match self {
            PeerKey::Udp(_) => "udp",
            PeerKey::Dtls(_) => "dtls",
            PeerKey::Tcp(_) => "tcp",
            PeerKey::Tls(_) => "tls",
        }
    }

    /// The peer's address.
    pub(crate) fn addr(self) -> SocketAddr {
        match self {
            PeerKey::Udp(a) | PeerKey::Dtls(a) | PeerKey::Tcp(a) | PeerKey::Tls(a) => a,
        }
    }
}

impl fmt::Display for PeerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.proto(), self.addr())
    }
}

/// What a transport task is told to do with one of its peers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outgoing {
    /// Send this CoAP message (a datagram, or a frame of the stream).
    Send(SocketAddr, Vec<u8>),
    /// End the transport of this peer (RFC 8323 Abort/Release done, or a session lost).
    Close(SocketAddr),
}

/// Where the messages of a peer go: one task serves every peer of a datagram transport, one
/// task each stream connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Route {
    /// The plain UDP socket.
    Udp,
    /// The DTLS endpoint.
    Dtls,
    /// One TCP or TLS connection.
    Stream(PeerKey),
}

impl Route {
    /// The route of `peer`.
    pub(crate) fn of(peer: PeerKey) -> Route {
        match peer {
            PeerKey::Udp(_) => Route::Udp,
            PeerKey::Dtls(_) => Route::Dtls,
            PeerKey::Tcp(_) | PeerKey::Tls(_) => Route::Stream(peer),
        }
    }
}

/// A mitigation the mitigator will report as mitigated.
struct Pending {
    at: Instant,
    cuid: Arc<str>,
    mid: u32,
}

/// The signal channel's driver over the [`Shared`] state.
pub(crate) struct Signal {
    shared: Arc<Shared>,
    routes: Mutex<HashMap<Route, mpsc::UnboundedSender<Outgoing>>>,
    mitigator: Mutex<Vec<Pending>>,
    mitigated_after: Duration,
    wake: Notify,
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signal").finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing here can be left half-changed by a panic: a poisoned lock is still usable.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Signal {
    /// A driver for the session of `shared`, whose mitigator takes `mitigated_after`.
    pub(crate) fn new(shared: Arc<Shared>, mitigated_after: Duration) -> Arc<Signal> {
        Arc::new(Signal {
            shared,
            routes: Mutex::new(HashMap::new()),
            mitigator: Mutex::new(Vec::new()),
            mitigated_after,
            wake: Notify::new(),
        })
    }

    /// The state the channels share.
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Sends what the session has for the peers of `route` to `tx` from now on.
    pub(crate) fn add_route(&self, route: Route, tx: mpsc::UnboundedSender<Outgoing>) {
        lock(&self.routes).insert(route, tx);
    }

    /// Stops routing to `route` (its transport ended).
    pub(crate) fn remove_route(&self, route: Route) {
        lock(&self.routes).remove(&route);
    }

    /// Runs `f` on the session (an input from a transport), then [`pump`](Self::pump)s.
    pub(crate) fn input(&self, f: impl FnOnce(&mut Session, Instant)) {
        self.shared.with_signal(f);
        self.pump();
        // The session's next deadline may have moved earlier.
        self.wake.notify_one();
    }

    /// Handles the session's events and routes what it has to send.
    pub(crate) fn pump(&self) {
        let out = self.shared.with_signal(|s, now| {
            self.events(s, now);
            transmissions(s, now)
        });
        if out.is_empty() {
            return;
        }
        let routes = lock(&self.routes);
        for (peer, message) in out {
            // No route: the transport has just ended; the message is lost with it.
            if let Some(tx) = routes.get(&Route::of(peer)) {
                let _ = tx.send(message);
            }
        }
    }

    /// Fires the session's and the mitigator's deadlines until the process ends.
    pub(crate) async fn run_timer(self: Arc<Self>) {
        loop {
            let session = self.shared.with_signal(|s, _| s.poll_timeout());
            let mitigator = lock(&self.mitigator).iter().map(|p| p.at).min();
            match [session, mitigator].into_iter().flatten().min() {
                Some(t) => {
                    let at = tokio::time::Instant::from_std(self.shared.clock().to_std(t));
                    tokio::select! {
                        () = tokio::time::sleep_until(at) => {
                            self.shared.with_signal(|s, now| {
                                s.handle_timeout(now);
                                self.mitigate(s, now);
                            });
                            self.pump();
                        }
                        () = self.wake.notified() => {}
                    }
                }
                None => self.wake.notified().await,
            }
        }
    }

    /// Reports the mitigations due as mitigated (status 2).
    fn mitigate(&self, s: &mut Session, now: Instant) {
        let due: Vec<Pending> = {
            let mut pending = lock(&self.mitigator);
            let (due, later) = pending.drain(..).partition(|p| p.at <= now);
            *pending = later;
            due
        };
        for p in due {
            let ok = MitigationStatus::SuccessfullyMitigated;
            // The request may be gone or no longer active: nothing to report then.
            if s.set_mitigation_status(now, &p.cuid, p.mid, Some(ok), MitigationStats::default())
                .is_ok()
            {
                self.shared.log(&format!(
                    "mitigator cuid={} mid={} status={}",
                    Field(&p.cuid),
                    p.mid,
                    ok.name()
                ));
            }
        }
    }

    /// Logs the session's events; the mitigator takes the new mitigations; transports the
    /// session is done with are closed.
    fn events(&self, s: &mut Session, now: Instant) {
        while let Some(e) = s.poll_event() {
            match &e {
                SessionEvent::Server(
                    ServerEvent::MitigationRequested {
                        cuid,
                        mid,
                        trigger_mitigation: true,
                        ..
                    }
                    | ServerEvent::TriggeredBySignalLoss { cuid, mid, .. },
                ) => lock(&self.mitigator).push(Pending {
                    at: now + self.mitigated_after,
                    cuid: cuid.clone(),
                    mid: *mid,
                }),
                SessionEvent::CloseTransport { peer } | SessionEvent::PeerLost { peer, .. } => {
                    if let Some(tx) = lock(&self.routes).get(&Route::of(*peer)) {
                        let _ = tx.send(Outgoing::Close(peer.addr()));
                    }
                }
                _ => {}
            }
            self.shared.log(&describe(&e));
        }
    }
}

/// Everything the session has to send, each message with its peer.
fn transmissions(s: &mut Session, now: Instant) -> Vec<(PeerKey, Outgoing)> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; MAX_MESSAGE_SIZE + 8];
    while let Ok(Some(t)) = s.poll_transmit(now, &mut buf) {
        let message = buf.get(..t.len).unwrap_or_default().to_vec();
        out.push((t.peer, Outgoing::Send(t.peer.addr(), message)));
    }
    out
}

/// One log line for a signal-channel event: `event NAME key=value ...`.
pub(crate) fn describe(e: &SessionEvent<PeerKey>) -> String {
    match e {
        SessionEvent::Server(e) => describe_server(e),
        SessionEvent::PeerLost {
            peer,
            cuid,
            session_lost,
        } => format!(
            "event peer-lost peer={peer} cuid={} session-lost={session_lost}",
            Field(cuid)
        ),
        SessionEvent::PeerHeartbeatStatus {
            peer,
            cuid,
            receiving,
        } => format!(
            "event peer-hb-status peer={peer} cuid={} receiving={receiving}",
            Field(cuid)
        ),
        SessionEvent::ParametersChanged { peer, phase } => {
            format!("event parameters peer={peer} phase={phase:?}")
        }
        SessionEvent::CloseTransport { peer } => format!("event close-transport peer={peer}"),
        other => format!("event {other:?}"),
    }
}

fn describe_server(e: &ServerEvent) -> String {
    match e {
        ServerEvent::MitigationRequested {
            cuid,
            mid,
            lifetime,
            trigger_mitigation,
            ..
        } => format!(
            "event mitigation-requested cuid={} mid={mid} lifetime={lifetime:?} trigger-mitigation={trigger_mitigation}",
            Field(cuid)
        ),
        ServerEvent::MitigationUpdated { cuid, mid, .. } => {
            format!("event mitigation-refreshed cuid={} mid={mid}", Field(cuid))
        }
        ServerEvent::EfficacyUpdate {
            cuid,
            mid,
            attack_status,
            ..
        } => format!(
            "event efficacy-update cuid={} mid={mid} attack-status={}",
            Field(cuid),
            attack_status.name()
        ),
        ServerEvent::MitigationWithdrawn { cuid, mid, .. } => {
            format!("event mitigation-withdrawn cuid={} mid={mid}", Field(cuid))
        }
        ServerEvent::MitigationTerminated {
            cuid,
            mid,
            reason,
            was_active,
        } => format!(
            "event mitigation-terminated cuid={} mid={mid} reason={reason:?} was-active={was_active}",
            Field(cuid)
        ),
        ServerEvent::MitigationExpired {
            cuid,
            mid,
            was_active,
        } => format!(
            "event mitigation-expired cuid={} mid={mid} was-active={was_active}",
            Field(cuid)
        ),
        ServerEvent::TriggeredBySignalLoss { cuid, mid, .. } => format!(
            "event triggered-by-signal-loss cuid={} mid={mid}",
            Field(cuid)
        ),
        ServerEvent::CrossClientConflict {
            cuid,
            mid,
            other_cuid,
            other_mid,
            accepted,
        } => format!(
            "event cross-client-conflict cuid={} mid={mid} other-cuid={} other-mid={other_mid} accepted={accepted}",
            Field(cuid),
            Field(other_cuid)
        ),
        ServerEvent::SessionConfigChanged { cuid, phase } => format!(
            "event session-config cuid={} phase={phase:?}",
            Field(cuid)
        ),
        ServerEvent::ClientLost { cuid } => format!("event client-lost cuid={}", Field(cuid)),
        other => format!("event {other:?}"),
    }
}
