//! Observe through the server session (RFC 7641, RFC 9132 Section 4.4.2.1): registrations held
//! by the session with their tokens, NON notifications with increasing sequence numbers, their
//! pacing, the periodic status, deregistration, Reset, the end of a mitigation, routing between
//! clients, and large representations served block-wise.

mod common;
mod signal_server_support;
mod signal_session_support;

use dots_codec::cbor::CborBody;
use dots_codec::coap::{Code, Message};
use dots_codec::model::{MitigationScope, MitigationStatus, SignalConfig};
use dots_proto::signal::server::{MitigationStats, ObserveTarget};
use dots_proto::time::Instant;
use signal_server_support::{cbor, scope_json, CUID, CUID2, FIG7};
use signal_session_support::*;

fn mit(cuid: &str, mid: Option<u32>) -> String {
    match mid {
        Some(m) => format!("/.well-known/dots/mitigate/cuid={cuid}/mid={m}"),
        None => format!("/.well-known/dots/mitigate/cuid={cuid}"),
    }
}

fn status_of(payload: &[u8]) -> Option<MitigationStatus> {
    MitigationScope::decode_cbor(payload)
        .ok()?
        .scopes
        .first()?
        .status
}

/// A client with mitigation 1 (Figure 7) observed at /mitigate/cuid=C (all its mitigations).
fn observing() -> (Net, dots_proto::coap::RequestId) {
    let mut n = Net::default_net();
    n.add_client(CUID, Link::perfect(), Link::perfect());
    let put = n.request(0, Code::PUT, &mit(CUID, Some(1)), &cbor(FIG7), Opts::non());
    n.run_for(ms(100));
    assert_eq!(n.clients[0].code(put), Some(Code::CREATED));
    let obs = n.request(0, Code::GET, &mit(CUID, None), &[], Opts::observe());
    n.run_for(ms(100));
    let r = n.clients[0].response(obs).unwrap();
    assert_eq!(r.code, Code::CONTENT);
    assert!(r.observe.is_some());
    assert_eq!(
        n.server.server().observations(CUID).collect::<Vec<_>>(),
        vec![ObserveTarget::AllMitigations]
    );
    assert_eq!(n.server.peer_info(&10).unwrap().observations, 1);
    assert_eq!(
        n.server.endpoints_held(),
        0,
        "the observer lives in the session"
    );
    (n, obs)
}

fn set_status(n: &mut Net, cuid: &str, mid: u32, s: MitigationStatus) {
    let now = n.now;
    n.server
        .set_mitigation_status(now, cuid, mid, Some(s), MitigationStats::default())
        .unwrap();
    n.flush();
}

#[test]
fn status_changes_are_notified_with_fresh_sequence_numbers() {
    let (mut n, obs) = observing();
    set_status(&mut n, CUID, 1, MitigationStatus::SuccessfullyMitigated);
    n.run_for(ms(100));
    let notes = &n.clients[0].notifications;
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].request, obs);
    assert_eq!(
        status_of(&notes[0].payload),
        Some(MitigationStatus::SuccessfullyMitigated)
    );
    let first_seq = notes[0].sequence;
    let reg_seq = n.clients[0].response(obs).unwrap().observe.unwrap();
    assert!(
        first_seq > reg_seq,
        "fresher than the registration (RFC 7641 Section 3.4)"
    );
    // The next one waits for the pacing (no RTT estimate yet: 3 s).
    let t1 = n.now;
    set_status(&mut n, CUID, 1, MitigationStatus::AttackStopped);
    n.run_for(secs(5));
    let notes = &n.clients[0].notifications;
    assert_eq!(notes.len(), 2);
    assert!(notes[1].sequence > first_seq);
    assert_eq!(
        status_of(&notes[1].payload),
        Some(MitigationStatus::AttackStopped)
    );
    let sent = n.notifications_to(0);
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].0, sent[0].0 + secs(3), "3 s after the previous one");
    assert!(sent[1].0 > t1);
    // Every notification is NON 2.05 with Content-Format 271.
    for (_, b) in &sent {
        let m = Message::parse(b).unwrap();
        assert_eq!(
            m.options().content_format().unwrap(),
            Some(dots_codec::coap::ContentFormat::DOTS_CBOR)
        );
    }
}

#[test]
fn pacing_follows_the_rtt_once_measured_and_newer_replaces_waiting() {
    let (mut n, _) = observing();
    // The server's heartbeat at 1030.010 s is answered: RTT 20 ms.
    n.run_until(Instant::from_millis(1_031_000));
    assert_eq!(n.server.peer_info(&10).unwrap().rtt, Some(ms(20)));
    // (The periodic status went at 1030.110 s.)
    let before = n.notifications_to(0).len();
    let t0 = n.now;
    set_status(&mut n, CUID, 1, MitigationStatus::SuccessfullyMitigated);
    set_status(&mut n, CUID, 1, MitigationStatus::ExceededCapability);
    set_status(&mut n, CUID, 1, MitigationStatus::SuccessfullyMitigated);
    n.run_for(ms(5));
    set_status(&mut n, CUID, 1, MitigationStatus::AttackStopped);
    n.run_for(ms(100));
    let sent: Vec<Instant> = n.notifications_to(0)[before..]
        .iter()
        .map(|x| x.0)
        .collect();
    // The first at once; the changes meanwhile replace each other while waiting, and the
    // latest leaves one RTT (20 ms) after the first.
    assert_eq!(sent, vec![t0, t0 + ms(20)]);
    let last = n.clients[0].notifications.last().unwrap();
    assert_eq!(
        status_of(&last.payload),
        Some(MitigationStatus::AttackStopped)
    );
}

#[test]
fn periodic_status_of_observed_running_mitigations() {
    let (mut n, _) = observing();
    n.run_until(Instant::from_millis(1_100_000));
    // Status sent again every heartbeat-interval (30 s) from the registration (1000.110 s).
    let times: Vec<Instant> = n.notifications_to(0).iter().map(|x| x.0).collect();
    assert_eq!(
        times,
        vec![
            Instant::from_millis(1_030_110),
            Instant::from_millis(1_060_110),
            Instant::from_millis(1_090_110)
        ]
    );
    assert!(n.clients[0]
        .notifications
        .iter()
        .all(|x| status_of(&x.payload) == Some(MitigationStatus::InProgress)));
}

#[test]
fn deregistration_and_reset_end_observations() {
    let (mut n, obs) = observing();
    // Observe = 1 with the registration's token (RFC 7641 Section 3.6).
    let now = n.now;
    n.clients[0].ep.deregister(now, obs).unwrap();
    n.run_for(ms(100));
    assert_eq!(n.server.server().observations(CUID).count(), 0);
    assert_eq!(n.server.peer_info(&10).unwrap().observations, 0);
    set_status(&mut n, CUID, 1, MitigationStatus::SuccessfullyMitigated);
    n.run_for(secs(100));
    assert!(n.notifications_to(0).is_empty());

    // A client that forgot its observation rejects the next notification with a Reset.
    let (mut n, obs) = observing();
    let now = n.now;
    n.clients[0].ep.cancel(now, obs).unwrap();
    set_status(&mut n, CUID, 1, MitigationStatus::SuccessfullyMitigated);
    n.run_for(secs(1));
    assert_eq!(n.notifications_to(0).len(), 1);
    assert_eq!(n.server.stats().observations_reset, 1);
    assert_eq!(n.server.server().observations(CUID).count(), 0);
    set_status(&mut n, CUID, 1, MitigationStatus::AttackStopped);
    n.run_for(secs(100));
    assert_eq!(n.notifications_to(0).len(), 1);
}

#[test]
fn the_end_of_a_mitigation_ends_its_observation() {
    let mut n = Net::default_net();
    n.add_client(CUID, Link::perfect(), Link::perfect());
    n.request(0, Code::PUT, &mit(CUID, Some(1)), &cbor(FIG7), Opts::non());
    n.run_for(ms(100));
    let obs = n.request(0, Code::GET, &mit(CUID, Some(1)), &[], Opts::observe());
    n.run_for(ms(100));
    assert!(n.clients[0].response(obs).unwrap().observe.is_some());
    n.request(0, Code::DELETE, &mit(CUID, Some(1)), &[], Opts::non());
    n.run_for(secs(130));
    // Status 5 at once, then 6 when the active-but-terminating period ends.
    let statuses: Vec<_> = n.clients[0]
        .notifications
        .iter()
        .map(|x| status_of(&x.payload))
        .collect();
    assert_eq!(
        statuses.first(),
        Some(&Some(MitigationStatus::ClientWithdrawn))
    );
    assert_eq!(statuses.last(), Some(&Some(MitigationStatus::Terminated)));
    assert_eq!(n.server.peer_info(&10).unwrap().observations, 0);
    assert_eq!(n.server.server().observations(CUID).count(), 0);
}

#[test]
fn notifications_go_to_the_observing_client_only() {
    let mut n = Net::default_net();
    for c in [CUID, CUID2] {
        let i = n.add_client(c, Link::perfect(), Link::perfect());
        let body = scope_json(&[&format!("2001:db8:{i}::1/128")], 3600, "");
        n.request(i, Code::PUT, &mit(c, Some(1)), &cbor(&body), Opts::non());
        n.run_for(ms(100));
        n.request(i, Code::GET, &mit(c, Some(1)), &[], Opts::observe());
        n.run_for(ms(100));
    }
    set_status(&mut n, CUID2, 1, MitigationStatus::SuccessfullyMitigated);
    n.run_for(ms(100));
    assert!(n.clients[0].notifications.is_empty());
    assert_eq!(n.clients[1].notifications.len(), 1);
}

#[test]
fn configuration_observers_hear_of_changes() {
    let mut n = Net::default_net();
    n.add_client(CUID, Link::perfect(), Link::perfect());
    let obs = n.request(
        0,
        Code::GET,
        "/.well-known/dots/config",
        &[],
        Opts::observe(),
    );
    n.run_for(ms(100));
    assert!(n.clients[0].response(obs).unwrap().observe.is_some());
    let cfg = r#"{"ietf-dots-signal-channel:signal-config": {
      "mitigating-config": {"heartbeat-interval": {"current-value": 20}},
      "idle-config": {"heartbeat-interval": {"current-value": 20}}}}"#;
    n.request(
        0,
        Code::PUT,
        "/.well-known/dots/config/sid=5",
        &cbor(cfg),
        Opts::default(),
    );
    n.run_for(ms(100));
    let notes = &n.clients[0].notifications;
    assert_eq!(notes.len(), 1);
    let c = SignalConfig::decode_cbor(&notes[0].payload).unwrap();
    assert_eq!(
        c.idle_config
            .unwrap()
            .heartbeat_interval
            .unwrap()
            .current_value,
        Some(20)
    );
    // Configuration observations get no periodic status.
    n.run_for(secs(100));
    assert_eq!(n.clients[0].notifications.len(), 1);
}

#[test]
fn large_representations_go_block_wise() {
    let mut n = Net::default_net();
    n.add_client(CUID, Link::perfect(), Link::perfect());
    for mid in 1..=16u32 {
        let body = scope_json(
            &[
                &format!("2001:db8:{mid:x}::1/128"),
                &format!("2001:db8:{mid:x}::2/128"),
                &format!("2001:db8:{mid:x}::3/128"),
                &format!("2001:db8:{mid:x}::4/128"),
            ],
            3600,
            r#""target-port-range": [{"lower-port": 80}, {"lower-port": 443}], "target-protocol": [6]"#,
        );
        let id = n.request(
            0,
            Code::PUT,
            &mit(CUID, Some(mid)),
            &cbor(&body),
            Opts::non(),
        );
        n.run_for(ms(50));
        assert_eq!(n.clients[0].code(id), Some(Code::CREATED));
    }
    let get = n.request(0, Code::GET, &mit(CUID, None), &[], Opts::default());
    n.run_for(secs(2));
    let r = n.clients[0].response(get).expect("the whole body");
    assert_eq!(r.code, Code::CONTENT);
    assert!(
        r.payload.len() > 1024,
        "{} bytes: more than one block",
        r.payload.len()
    );
    let s = MitigationScope::decode_cbor(&r.payload).unwrap();
    assert_eq!(s.scopes.len(), 16);
    // Blocks were served from the endpoint lent for the transfer.
    let blocks = n
        .sent
        .iter()
        .filter(|(_, _, b)| {
            Message::parse(b).is_ok_and(|m| m.options().block2().ok().flatten().is_some())
        })
        .count();
    assert!(blocks >= 2);
    // It is returned once the body expires (EXCHANGE_LIFETIME).
    n.run_for(secs(300));
    assert_eq!(n.server.endpoints_held(), 0);
}

#[test]
fn notifications_over_tcp_frames() {
    let mut n = Net::default_net();
    n.add(
        CUID,
        Link::perfect(),
        Link::perfect(),
        dots_proto::coap::Transport::Tcp,
        false,
    );
    let put = n.request(
        0,
        Code::PUT,
        &mit(CUID, Some(1)),
        &cbor(FIG7),
        Opts::default(),
    );
    n.run_for(ms(100));
    assert_eq!(n.clients[0].code(put), Some(Code::CREATED));
    let obs = n.request(0, Code::GET, &mit(CUID, Some(1)), &[], Opts::observe());
    n.run_for(ms(100));
    assert!(n.clients[0].response(obs).unwrap().observe.is_some());
    // No pacing over TCP (its congestion control applies): both changes go at once.
    set_status(&mut n, CUID, 1, MitigationStatus::SuccessfullyMitigated);
    n.run_for(ms(50));
    set_status(&mut n, CUID, 1, MitigationStatus::AttackStopped);
    n.run_for(ms(50));
    let notes = &n.clients[0].notifications;
    assert_eq!(notes.len(), 2);
    assert_eq!(
        status_of(&notes[1].payload),
        Some(MitigationStatus::AttackStopped)
    );
    assert!(notes[1].sequence > notes[0].sequence);
}

#[test]
fn a_gateway_observes_the_clients_it_relays() {
    // A trusted server-domain gateway (RFC 9132 Section 4.4.1.2) relays the requests of two
    // clients: the notifications of each go to the gateway's session.
    let mut n = Net::default_net();
    n.add(
        "gateway-1",
        Link::perfect(),
        Link::perfect(),
        dots_proto::coap::Transport::Udp,
        true,
    );
    let mut regs = Vec::new();
    for (i, c) in [CUID, CUID2].into_iter().enumerate() {
        let body = scope_json(&[&format!("2001:db8:{i}::1/128")], 3600, "");
        let put = n.request(0, Code::PUT, &mit(c, Some(7)), &cbor(&body), Opts::non());
        n.run_for(ms(100));
        assert_eq!(n.clients[0].code(put), Some(Code::CREATED));
        regs.push(n.request(0, Code::GET, &mit(c, None), &[], Opts::observe()));
        n.run_for(ms(100));
    }
    assert_eq!(n.server.peer_info(&10).unwrap().observations, 2);
    set_status(&mut n, CUID2, 7, MitigationStatus::SuccessfullyMitigated);
    n.run_for(ms(100));
    let notes = &n.clients[0].notifications;
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].request, regs[1]);
    // The gateway's parameters follow the relayed mitigations (mitigating while one runs).
    assert_eq!(
        n.server.peer_info(&10).unwrap().phase,
        dots_proto::signal::server::ConfigPhase::Mitigating
    );
    // Its session closes: the relayed clients' observations end in the core too.
    let now = n.now;
    n.server.peer_closed(now, &10);
    assert_eq!(n.server.server().observations(CUID).count(), 0);
    assert_eq!(n.server.server().observations(CUID2).count(), 0);
    n.server.check_invariants().unwrap();
}
