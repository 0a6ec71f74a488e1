//! The signal channel (RFC 9132) over plain CoAP/UDP, for the lab: `--udp ADDR --insecure`.
//!
//! **Insecure.** Without DTLS nothing authenticates the client: the cuid is taken from the
//! request's Uri-Path as sent (`cuid=...`), for requests without one (`/hb`, `/config`) the
//! last cuid that address used, or else one derived from the address. Anyone who can send a
//! datagram can act as any client. Use `--dtls` (mutual authentication) in production.
//!
//! One task owns the socket and drives the sans-IO [`ServerSession`] held in the [`Shared`]
//! state (the same state the data channel uses): datagrams in, the session's deadline
//! (heartbeats, deadman, lifetimes), datagrams out, one log line per event. A toy mitigator
//! "mitigates" every accepted request: [`MITIGATED_AFTER`] later it reports
//! attack-successfully-mitigated (status 2) through
//! [`set_mitigation_status`](dots::proto::signal::session::ServerSession::set_mitigation_status).

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use dots::codec::coap::Message;
use dots::codec::model::MitigationStatus;
use dots::proto::cuid::Cuid;
use dots::proto::data::PeerIdentity;
use dots::proto::signal::server::{MitigationStats, ServerEvent};
use dots::proto::signal::session::SessionEvent;
use dots::proto::time::Instant;
use tokio::net::UdpSocket;

use crate::state::{Field, Session, Shared};

/// How long the in-memory mitigator takes to "mitigate" an attack.
pub(crate) const MITIGATED_AFTER: Duration = Duration::from_secs(1);

/// Addresses whose cuid is remembered (a lab bound, not a security one).
const MAX_REMEMBERED: usize = 65_536;

/// A mitigation the mitigator will report as mitigated.
struct Pending {
    at: Instant,
    cuid: Arc<str>,
    mid: u32,
}

/// Serves the signal channel on `socket` until `shutdown` completes.
pub(crate) async fn serve(
    socket: UdpSocket,
    shared: Arc<Shared>,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let mut buf = vec![0u8; 65_536];
    let mut known: HashMap<SocketAddr, String> = HashMap::new();
    let mut mitigator: Vec<Pending> = Vec::new();
    loop {
        let session_deadline = shared.with_signal(|s, _| s.poll_timeout());
        let deadline = mitigator.iter().map(|p| p.at).chain(session_deadline).min();
        let sleep = async {
            match deadline {
                Some(t) => {
                    let at = tokio::time::Instant::from_std(shared.clock().to_std(t));
                    tokio::time::sleep_until(at).await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            () = &mut shutdown => break,
            received = socket.recv_from(&mut buf) => {
                // ICMP errors (a client gone) surface here on some systems: nothing to do.
                if let Ok((n, from)) = received {
                    let datagram = &buf[..n];
                    let cuid = insecure_cuid(&mut known, from, datagram);
                    shared.with_signal(|s, now| {
                        s.handle_datagram(now, from, &PeerIdentity::client(&cuid), datagram);
                    });
                }
            }
            () = sleep => {
                shared.with_signal(|s, now| {
                    s.handle_timeout(now);
                    mitigate(s, now, &mut mitigator, &shared);
                });
            }
        }
        let out = shared.with_signal(|s, now| {
            events(s, now, &mut mitigator, &shared);
            transmissions(s, now)
        });
        for (to, datagram) in out {
            // UDP is lossy anyway: a failed send is a lost datagram.
            let _ = socket.send_to(&datagram, to).await;
        }
    }
}

/// The cuid of an unauthenticated datagram (see the module documentation).
fn insecure_cuid(
    known: &mut HashMap<SocketAddr, String>,
    from: SocketAddr,
    datagram: &[u8],
) -> String {
    let in_path = Message::parse(datagram).ok().and_then(|m| {
        m.options()
            .uri_path()
            .flatten()
            .find_map(|s| s.strip_prefix("cuid=").map(str::to_owned))
    });
    if let Some(c) = in_path {
        if known.len() >= MAX_REMEMBERED {
            known.clear();
        }
        known.insert(from, c.clone());
        return c;
    }
    known.get(&from).cloned().unwrap_or_else(|| {
        Cuid::from_psk_identity(from.to_string().as_bytes())
            .as_str()
            .to_owned()
    })
}

/// Reports the mitigations due as mitigated (status 2).
fn mitigate(s: &mut Session, now: Instant, mitigator: &mut Vec<Pending>, shared: &Shared) {
    let (due, later): (Vec<Pending>, Vec<Pending>) = mitigator.drain(..).partition(|p| p.at <= now);
    *mitigator = later;
    for p in due {
        let ok = MitigationStatus::SuccessfullyMitigated;
        // The request may be gone or no longer active: nothing to report then.
        if s.set_mitigation_status(now, &p.cuid, p.mid, Some(ok), MitigationStats::default())
            .is_ok()
        {
            shared.log(&format!(
                "mitigator cuid={} mid={} status={}",
                Field(&p.cuid),
                p.mid,
                ok.name()
            ));
        }
    }
}

/// Logs the session's events; the mitigator takes the new mitigations.
fn events(s: &mut Session, now: Instant, mitigator: &mut Vec<Pending>, shared: &Shared) {
    while let Some(e) = s.poll_event() {
        if let SessionEvent::Server(
            ServerEvent::MitigationRequested {
                cuid,
                mid,
                trigger_mitigation: true,
                ..
            }
            | ServerEvent::TriggeredBySignalLoss { cuid, mid, .. },
        ) = &e
        {
            mitigator.push(Pending {
                at: now + MITIGATED_AFTER,
                cuid: cuid.clone(),
                mid: *mid,
            });
        }
        shared.log(&describe(&e));
    }
}

/// Everything the session has to send.
fn transmissions(s: &mut Session, now: Instant) -> Vec<(SocketAddr, Vec<u8>)> {
    let mut out = Vec::new();
    let mut buf = [0u8; 2048];
    while let Ok(Some(t)) = s.poll_transmit(now, &mut buf) {
        out.push((t.peer, buf[..t.len].to_vec()));
    }
    out
}

/// One log line for a signal-channel event: `event NAME key=value ...`.
pub(crate) fn describe(e: &SessionEvent<SocketAddr>) -> String {
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
