//! What the state machines report, told for people (one line each) and kept as facts for the
//! story's checks.

use dots::codec::coap::Code;
use dots::codec::model::{Lifetime, MitigationStatus};
use dots::proto::signal::client::{Event, LostReason, Phase};
use dots::proto::signal::server::ConfigPhase;

/// Which side answered a heartbeat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    /// The client answered a heartbeat of the server.
    Client,
    /// The server answered a heartbeat of the client.
    Server,
}

/// Something that happened, for the story's checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Fact {
    /// The server completed a handshake and derived this cuid.
    ServerHandshake(String),
    /// The client completed a handshake.
    ClientHandshake,
    /// The client session applied a configuration.
    ConfigApplied(Option<u32>, Code),
    /// The server accepted a mitigation request.
    Accepted(u32),
    /// The client learnt a mitigation's status (from a notification or not).
    Status(u32, Option<MitigationStatus>, bool),
    /// 2.04 to an efficacy update.
    EfficacyUpdated(u32),
    /// 2.02 to a withdrawal.
    Withdrawn(u32),
    /// The client forgot an ended mitigation.
    Ended(u32),
    /// The client session is degraded (missed heartbeats during an attack).
    Degraded,
    /// The client session is lost.
    Lost,
    /// A heartbeat was answered.
    Heartbeat(Side),
    /// The server's deadman fired for a peer.
    PeerLost,
    /// The server triggered a pre-configured request on signal loss.
    Triggered(u32),
    /// The server ended a withdrawn mitigation.
    Terminated(u32),
}

/// `idle` or `mitigating`.
pub(crate) fn phase_name(phase: ConfigPhase) -> &'static str {
    match phase {
        ConfigPhase::Idle => "idle",
        ConfigPhase::Mitigating => "mitigating",
    }
}

/// `3600 s` or `indefinite`.
pub(crate) fn lifetime_text(l: Lifetime) -> String {
    match l {
        Lifetime::Seconds(s) => format!("{s} s"),
        Lifetime::Indefinite => "indefinite".to_owned(),
    }
}

/// `2 attack-successfully-mitigated`.
fn status_text(s: Option<MitigationStatus>) -> String {
    s.map_or_else(
        || "(none)".to_owned(),
        |s| format!("{} {}", s.value(), s.name()),
    )
}

/// A client event: its line, its fact, and whether it ends the demo.
pub(crate) fn note(e: &Event<'_>) -> (String, Option<Fact>, bool) {
    match *e {
        Event::MitigationAccepted {
            mid,
            code,
            lifetime,
            ..
        } => (
            format!(
                "mid={mid} accepted ({code} {}), lifetime {}",
                code.name().unwrap_or("?"),
                lifetime.map_or_else(|| "?".to_owned(), lifetime_text)
            ),
            None,
            false,
        ),
        Event::MitigationStatus {
            mid,
            status,
            counters,
            notification,
            ..
        } => {
            let mut text = format!("mid={mid} status {}", status_text(status));
            let c = [
                ("bytes-dropped", counters.bytes_dropped),
                ("pkts-dropped", counters.pkts_dropped),
                ("bps-dropped", counters.bps_dropped),
                ("pps-dropped", counters.pps_dropped),
            ];
            let shown: Vec<String> = c
                .iter()
                .filter_map(|(k, v)| v.map(|v| format!("{k} {v}")))
                .collect();
            if !shown.is_empty() {
                text.push_str(&format!(" — {}", shown.join(", ")));
            }
            if notification {
                text.push_str("  (notification)");
            }
            (text, Some(Fact::Status(mid, status, notification)), false)
        }
        Event::EfficacyUpdated { mid } => (
            format!("mid={mid}: efficacy update accepted (2.04 Changed)"),
            Some(Fact::EfficacyUpdated(mid)),
            false,
        ),
        Event::MitigationWithdrawn { mid } => (
            format!("mid={mid} withdrawn (2.02 Deleted)"),
            Some(Fact::Withdrawn(mid)),
            false,
        ),
        Event::MitigationEnded { mid } => (
            format!("mid={mid} ended: removed from the client's table"),
            Some(Fact::Ended(mid)),
            false,
        ),
        Event::PhaseChanged { phase, parameters } => (
            format!(
                "{} configuration in force: heartbeat-interval {} s, missing-hb-allowed {}",
                match phase {
                    Phase::Idle => "idle",
                    Phase::Mitigating => "mitigating",
                },
                parameters.heartbeat_interval.as_secs(),
                parameters.missing_hb_allowed
            ),
            None,
            false,
        ),
        Event::ConfigApplied { sid, code } => (
            format!(
                "session configuration in force ({code} {}{})",
                code.name().unwrap_or("?"),
                sid.map_or_else(String::new, |s| format!(", sid {s}"))
            ),
            Some(Fact::ConfigApplied(sid, code)),
            false,
        ),
        Event::ConfigRejected {
            code, diagnostic, ..
        } => (
            format!("configuration refused: {code} {diagnostic}"),
            None,
            true,
        ),
        Event::MitigationRejected {
            mid,
            code,
            diagnostic,
            ..
        } => (
            format!("mid={mid} refused: {code} {diagnostic}"),
            None,
            true,
        ),
        Event::Conflict { mid, .. } => (format!("mid={mid}: 4.09 Conflict"), None, true),
        Event::SessionDegraded { missed_heartbeats } => (
            format!(
                "{missed_heartbeats} heartbeats unanswered during an attack: session degraded \
                 (RFC 9132 §4.7: not declared lost while mitigating; open a new session)"
            ),
            Some(Fact::Degraded),
            false,
        ),
        Event::SessionRecovered => ("the server answers again".to_owned(), None, false),
        Event::SessionLost { reason } => (
            format!(
                "session lost ({})",
                match reason {
                    LostReason::Heartbeat => "heartbeats unanswered",
                    LostReason::Closed => "closed by the host",
                    _ => "connection closed",
                }
            ),
            Some(Fact::Lost),
            false,
        ),
        Event::Response {
            operation, code, ..
        } => (
            format!(
                "{operation:?} answered {code} {}",
                code.name().unwrap_or("?")
            ),
            None,
            false,
        ),
        Event::RequestFailed { operation, reason } => (
            format!("{operation:?} got no answer ({reason:?})"),
            None,
            false,
        ),
        Event::ObservationEnded { operation } => {
            (format!("observation ended: {operation:?}"), None, false)
        }
        ref other => (format!("{other:?}"), None, false),
    }
}
