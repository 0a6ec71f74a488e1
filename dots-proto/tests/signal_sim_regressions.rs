//! Regressions found by the `signal_sim` simulation, each pinned on a small virtual-clock
//! scenario: one `SignalClient` and one `ServerSession`, datagrams passed by hand.

use std::time::Duration;

use dots_codec::model::{Lifetime, MitigationStatus, Scope};
use dots_proto::data::PeerIdentity;
use dots_proto::signal::client::{ClientConfig, Event, SignalClient};
use dots_proto::signal::server::{MitigationStats, ServerConfig, SignalServer};
use dots_proto::signal::session::{ServerSession, SessionConfig};
use dots_proto::time::Instant;

const CUID: &str = "sim-regression";

struct Pair {
    client: SignalClient,
    server: ServerSession<u32>,
    now: Instant,
    /// Datagrams of the server dropped while true.
    drop_down: bool,
    /// Datagrams of the client dropped while true.
    drop_up: bool,
    /// Notifications (and other messages with Observe) of the server dropped while true.
    drop_notifications: bool,
    peers_lost: usize,
    /// When the client sent its heartbeats.
    hb_sent: Vec<Instant>,
    degraded: usize,
    recovered: usize,
    /// Status events the client reported: (mid, status).
    statuses: Vec<(u32, MitigationStatus)>,
    accepted: Vec<u32>,
    buf: Vec<u8>,
}

impl Pair {
    fn new() -> Pair {
        let now = Instant::from_secs(100);
        let mut config = ServerConfig::default();
        config.quotas.rate = None;
        Pair {
            client: SignalClient::new(now, CUID, "dots.example", ClientConfig::udp(), 5).unwrap(),
            server: ServerSession::new(SessionConfig::default(), SignalServer::new(config), 6),
            now,
            drop_down: false,
            drop_up: false,
            drop_notifications: false,
            peers_lost: 0,
            hb_sent: Vec::new(),
            degraded: 0,
            recovered: 0,
            statuses: Vec::new(),
            accepted: Vec::new(),
            buf: vec![0; 4096],
        }
    }

    /// Moves every datagram both ways at `now` (no delay), until nothing moves.
    fn flush(&mut self) {
        let id = PeerIdentity {
            cuid: CUID,
            trusted_gateway: false,
        };
        loop {
            let mut moved = false;
            while let Some(t) = self.client.poll_transmit(self.now, &mut self.buf).unwrap() {
                let bytes = self.buf[..t.len].to_vec();
                if dots_codec::coap::Message::parse(&bytes)
                    .is_ok_and(|m| m.options().uri_path_is(&[".well-known", "dots", "hb"]))
                {
                    self.hb_sent.push(self.now);
                }
                if !self.drop_up {
                    self.server.handle_datagram(self.now, 1, &id, &bytes);
                }
                moved = true;
            }
            while let Some(t) = self.server.poll_transmit(self.now, &mut self.buf).unwrap() {
                let bytes = self.buf[..t.len].to_vec();
                let notification = dots_codec::coap::Message::parse(&bytes)
                    .is_ok_and(|m| m.options().observe().ok().flatten().is_some());
                let dropped = self.drop_down || self.drop_notifications && notification;
                if !dropped {
                    self.client.handle_datagram(self.now, &bytes);
                }
                moved = true;
            }
            while let Some(e) = self.server.poll_event() {
                if matches!(
                    e,
                    dots_proto::signal::session::SessionEvent::PeerLost { .. }
                ) {
                    self.peers_lost += 1;
                }
            }
            while let Some(e) = self.client.poll_event() {
                match e {
                    Event::MitigationStatus {
                        mid,
                        status: Some(s),
                        ..
                    } => self.statuses.push((mid, s)),
                    Event::MitigationAccepted { mid, .. } => self.accepted.push(mid),
                    Event::SessionDegraded { .. } => self.degraded += 1,
                    Event::SessionRecovered => self.recovered += 1,
                    _ => {}
                }
            }
            if !moved {
                break;
            }
        }
    }

    /// Runs the clock to `until`, jumping from deadline to deadline.
    fn run_until(&mut self, until: Instant) {
        loop {
            self.flush();
            let next = [self.server.poll_timeout(), self.client.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(t) if t <= until => {
                    assert!(t >= self.now, "a timer in the past");
                    self.now = t;
                    self.server.handle_timeout(t);
                    self.client.handle_timeout(t);
                }
                _ => break,
            }
        }
        self.now = until;
        self.server.handle_timeout(until);
        self.client.handle_timeout(until);
        self.flush();
    }

    fn run_for(&mut self, d: Duration) {
        let t = self.now + d;
        self.run_until(t);
    }

    fn request(&mut self, prefix: &str) -> u32 {
        let mut s = Scope::new();
        s.targets.push_prefix(prefix.parse().unwrap()).unwrap();
        s.lifetime = Some(Lifetime::Seconds(3600));
        let mid = self.client.request_mitigation(self.now, &s).unwrap();
        self.run_for(Duration::from_secs(5));
        assert!(self.accepted.contains(&mid), "{mid} not accepted");
        mid
    }

    fn set(&mut self, mid: u32, status: MitigationStatus) {
        self.server
            .set_mitigation_status(
                self.now,
                CUID,
                mid,
                Some(status),
                MitigationStats::default(),
            )
            .unwrap();
    }

    fn last_status(&self, mid: u32) -> Option<MitigationStatus> {
        self.statuses
            .iter()
            .rev()
            .find(|(m, _)| *m == mid)
            .map(|(_, s)| *s)
    }
}

/// Two status changes of different mitigations while a notification waits for its pacing slot
/// (RFC 9132 Section 4.4.2.1) on one observation of all mitigations: both reach the client.
/// The simulation found the second replacing the first (one waiting notification per token),
/// so the client never learned the first change.
#[test]
fn observe_all_keeps_one_waiting_notification_per_mitigation() {
    let mut p = Pair::new();
    let a = p.request("2001:db8:1::/48");
    let b = p.request("2001:db8:2::/48");
    p.run_for(Duration::from_secs(5));
    assert!(p
        .server
        .server()
        .observations(CUID)
        .any(|o| o == dots_proto::signal::server::ObserveTarget::AllMitigations));
    // A first change goes at once and closes the pacing window; the next two wait.
    p.set(a, MitigationStatus::SuccessfullyMitigated);
    p.flush();
    p.set(a, MitigationStatus::AttackStopped);
    p.set(b, MitigationStatus::SuccessfullyMitigated);
    // Well within the periodic status (one heartbeat interval, 30 s).
    p.run_for(Duration::from_secs(10));
    assert_eq!(p.last_status(a), Some(MitigationStatus::AttackStopped));
    assert_eq!(
        p.last_status(b),
        Some(MitigationStatus::SuccessfullyMitigated)
    );
}

/// The host withdraws a mitigation (status 7; the record stays until its lifetime ends) and
/// the Non-confirmable notification is lost: the periodic status carries it. The simulation
/// found the client still believing the mitigation in progress after ten quiet minutes.
#[test]
fn lost_withdrawal_notification_is_sent_again() {
    let mut p = Pair::new();
    let a = p.request("2001:db8:1::/48");
    p.run_for(Duration::from_secs(5));
    p.drop_down = true;
    p.set(a, MitigationStatus::Withdrawn);
    p.flush();
    p.drop_down = false;
    assert_ne!(p.last_status(a), Some(MitigationStatus::Withdrawn));
    assert!(p.server.server().mitigation(CUID, a).is_some());
    // The periodic status: one heartbeat interval (30 s) of the parameters in force.
    p.run_for(Duration::from_secs(65));
    assert_eq!(p.last_status(a), Some(MitigationStatus::Withdrawn));
    assert!(p.client.is_connected());
}

/// A client under attack keeps its session through a long outage (degraded, RFC 9132 Section
/// 4.7) while the server's deadman ends the session on its side and drops the client's
/// observations. When traffic flows again the client registers its observation of all
/// mitigations again, so a later status change reaches it. The simulation found clients
/// that were never told of changes after such an outage.
#[test]
fn observation_renewed_after_degraded_session_recovers() {
    let mut p = Pair::new();
    let a = p.request("2001:db8:1::/48");
    p.run_for(Duration::from_secs(5));
    let all = dots_proto::signal::server::ObserveTarget::AllMitigations;
    assert!(p.server.server().observations(CUID).any(|o| o == all));
    p.drop_up = true;
    p.drop_down = true;
    // 15 heartbeats of 30 s missed: the server's deadman fires, the client degrades.
    p.run_for(Duration::from_secs(600));
    assert_eq!(p.peers_lost, 1);
    assert_eq!(p.degraded, 1);
    assert!(p.client.is_connected());
    assert!(!p.server.server().observations(CUID).any(|o| o == all));
    p.drop_up = false;
    p.drop_down = false;
    // The next heartbeat (server's or client's) brings the client back.
    p.run_for(Duration::from_secs(40));
    assert_eq!(p.recovered, 1);
    assert!(p.server.server().observations(CUID).any(|o| o == all));
    p.set(a, MitigationStatus::AttackStopped);
    p.run_for(Duration::from_secs(5));
    assert_eq!(p.last_status(a), Some(MitigationStatus::AttackStopped));
}

/// The same outage, ended after the server's deadman fired (15 × 30 s without traffic) but
/// before the client counted its fifteenth missed heartbeat: the client never degraded, yet
/// the server dropped its observations. The silence alone makes the client register again.
#[test]
fn observation_renewed_after_silence_without_degradation() {
    let mut p = Pair::new();
    let a = p.request("2001:db8:1::/48");
    p.run_for(Duration::from_secs(5));
    let all = dots_proto::signal::server::ObserveTarget::AllMitigations;
    p.drop_up = true;
    p.drop_down = true;
    p.run_for(Duration::from_secs(455));
    assert_eq!(p.peers_lost, 1);
    assert_eq!(p.degraded, 0);
    p.drop_up = false;
    p.drop_down = false;
    // A request before the next heartbeat: its answer is the first traffic heard.
    p.client
        .get_mitigations(p.now, Some(a), false, &[])
        .unwrap();
    p.run_for(Duration::from_secs(2));
    assert_eq!(p.degraded, 0);
    assert!(p.server.server().observations(CUID).any(|o| o == all));
    p.set(a, MitigationStatus::SuccessfullyMitigated);
    p.run_for(Duration::from_secs(5));
    assert_eq!(
        p.last_status(a),
        Some(MitigationStatus::SuccessfullyMitigated)
    );
}

/// Soak seed 1800: during an outage of the client's uplink only, the server's notifications
/// still reached the client. A notification answers a GET sent long before, so it says
/// nothing of whether the server hears the client; the client counted it as an answer,
/// measured too short a silence, and never registered its observation again after the
/// server's deadman dropped it.
#[test]
fn observation_renewed_when_only_notifications_came_through_the_silence() {
    let mut p = Pair::new();
    let a = p.request("2001:db8:1::/48");
    p.run_for(Duration::from_secs(5));
    let all = dots_proto::signal::server::ObserveTarget::AllMitigations;
    p.drop_up = true;
    p.run_for(Duration::from_secs(300));
    // A status change late in the silence reaches the client.
    p.set(a, MitigationStatus::SuccessfullyMitigated);
    p.flush();
    assert_eq!(
        p.last_status(a),
        Some(MitigationStatus::SuccessfullyMitigated)
    );
    p.run_for(Duration::from_secs(155));
    assert_eq!(p.peers_lost, 1);
    assert_eq!(p.degraded, 0);
    assert!(!p.server.server().observations(CUID).any(|o| o == all));
    p.drop_up = false;
    p.client
        .get_mitigations(p.now, Some(a), false, &[])
        .unwrap();
    p.run_for(Duration::from_secs(2));
    assert!(p.server.server().observations(CUID).any(|o| o == all));
    p.set(a, MitigationStatus::AttackStopped);
    p.run_for(Duration::from_secs(5));
    assert_eq!(p.last_status(a), Some(MitigationStatus::AttackStopped));
}

/// RFC 9132 Section 4.7 heartbeats are NON requests; with NSTART = 1 (RFC 7252 Section 4.7) a
/// heartbeat queued behind a mitigation request whose response does not come (it is sent
/// again at NON intervals for about a minute) would wait, and the server would miss
/// heartbeats exactly when the link is bad. Heartbeats go at their time whatever is
/// outstanding.
#[test]
fn heartbeat_not_held_behind_outstanding_mitigation_request() {
    let mut p = Pair::new();
    p.run_for(Duration::from_secs(5));
    let due = p.client.next_heartbeat_at().unwrap();
    // The server's answers are lost: the PUT stays outstanding.
    p.drop_down = true;
    let mut s = Scope::new();
    s.targets
        .push_prefix("2001:db8:1::/48".parse().unwrap())
        .unwrap();
    s.lifetime = Some(Lifetime::Seconds(3600));
    p.client.request_mitigation(p.now, &s).unwrap();
    p.run_for(Duration::from_secs(1));
    assert!(p.client.endpoint().outstanding() >= 1);
    p.run_until(due + Duration::from_secs(29));
    assert_eq!(
        p.hb_sent.last(),
        Some(&due),
        "heartbeats sent at {:?}",
        p.hb_sent
    );
    // And the next one, one interval later (now in the mitigating set).
    let next = p.client.next_heartbeat_at().unwrap();
    p.run_until(next);
    assert_eq!(p.hb_sent.last(), Some(&next));
}

/// The other way round: a heartbeat whose answer is lost does not hold a mitigation request
/// back for the heartbeat's response timeout (one heartbeat interval).
#[test]
fn mitigation_request_not_held_behind_unanswered_heartbeat() {
    let mut p = Pair::new();
    p.run_for(Duration::from_secs(5));
    let due = p.client.next_heartbeat_at().unwrap();
    p.drop_down = true;
    p.run_until(due);
    assert_eq!(p.hb_sent.last(), Some(&due));
    p.drop_down = false;
    // The heartbeat's answer was lost; its response timeout is one interval.
    p.run_for(Duration::from_millis(100));
    let mut s = Scope::new();
    s.targets
        .push_prefix("2001:db8:1::/48".parse().unwrap())
        .unwrap();
    s.lifetime = Some(Lifetime::Seconds(3600));
    let mid = p.client.request_mitigation(p.now, &s).unwrap();
    p.run_for(Duration::from_secs(1));
    assert!(
        p.accepted.contains(&mid),
        "the PUT waited for the heartbeat"
    );
}

/// RFC 9132 Section 4.4: "Mitigation requests MUST NOT be delayed because of checks on probing
/// rate". With every answer lost the server counts as not responding (RFC 7252 Section 4.7),
/// yet the PUT is repeated at its NON intervals (RFC 9362 defaults: NON_TIMEOUT = ack-timeout
/// 2 s, NON_MAX_RETRANSMIT = max-retransmit 3, so after 2, 6 and 14 s, then the client's next
/// attempt), not one per PROBING_RATE slot (a 100-byte PUT at 5 bytes/s: one per 20 s, at most
/// 2 repetitions in 46 s).
#[test]
fn mitigation_request_not_paced_by_probing_rate() {
    let mut p = Pair::new();
    p.run_for(Duration::from_secs(5));
    p.drop_down = true;
    let before = p.client.endpoint().stats().retransmissions;
    let mut s = Scope::new();
    s.targets
        .push_prefix("2001:db8:1::/48".parse().unwrap())
        .unwrap();
    s.lifetime = Some(Lifetime::Seconds(3600));
    p.client.request_mitigation(p.now, &s).unwrap();
    p.run_for(Duration::from_secs(46));
    assert!(p.client.endpoint().peer_unresponsive());
    let repeated = p.client.endpoint().stats().retransmissions - before;
    assert!(repeated >= 3, "{repeated} repetitions in 46 s: paced");
}

/// RFC 9132 Section 4.4.1.3: a new request overlapping an older one of the same client makes
/// the server delete the older one. The client forgets it too; it used to keep it and refresh
/// it later, which created it again at the server (found by the simulation: a replaced
/// request back an hour later).
#[test]
fn overridden_request_is_forgotten_not_refreshed_back() {
    let mut p = Pair::new();
    let mut old = Scope::new();
    old.targets
        .push_prefix("2001:db8:1::/48".parse().unwrap())
        .unwrap();
    old.lifetime = Some(Lifetime::Seconds(300));
    let a = p.client.request_mitigation(p.now, &old).unwrap();
    p.run_for(Duration::from_secs(5));
    assert!(p.accepted.contains(&a));
    // The notification of the old request's end (status 6) is lost.
    p.run_for(Duration::from_secs(5));
    p.drop_notifications = true;
    let b = p.request("2001:db8:1:100::/56");
    p.drop_notifications = false;
    assert!(p.server.server().mitigation(CUID, a).is_none());
    assert!(
        p.client.mitigation(a).is_none(),
        "the client still holds {a}"
    );
    assert!(p.client.mitigation(b).is_some());
    // Past the old request's refresh time (60 s before its 300 s).
    p.run_for(Duration::from_secs(400));
    assert!(p.server.server().mitigation(CUID, a).is_none());
    assert_eq!(p.server.server().mids(CUID).collect::<Vec<_>>(), vec![b]);
}
