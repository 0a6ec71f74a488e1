//! Heartbeats and the deadman of the server session (RFC 9132 Section 4.7) on a virtual clock,
//! with exact instants: the server's own heartbeats, answers to the client's, loss only when
//! no traffic at all arrived for `missing-hb-allowed` × `heartbeat-interval`, the TCP rule,
//! disabled heartbeats, and the parameters switching between idle and mitigating.
//!
//! Links have 10 ms of latency: a datagram the client sends at `t` reaches the server at
//! `t + 10 ms`.

mod common;
mod signal_server_support;
mod signal_session_support;

use dots_codec::coap::Code;
use dots_proto::coap::Transport;
use dots_proto::signal::server::{ConfigPhase, ServerEvent};
use dots_proto::signal::session::SessionEvent;
use dots_proto::time::Instant;
use signal_server_support::{cbor, scope_json, CUID, FIG23, FIG7};
use signal_session_support::*;

fn t(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

fn mit(mid: u32) -> String {
    format!("/.well-known/dots/mitigate/cuid={CUID}/mid={mid}")
}

/// One client that sent one request at 1000 s (at the server: 1000.010 s).
fn started() -> Net {
    let mut n = Net::default_net();
    n.add_client(CUID, Link::perfect(), Link::perfect());
    let id = n.request(
        0,
        Code::GET,
        "/.well-known/dots/config",
        &[],
        Opts::default(),
    );
    n.run_for(ms(100));
    assert_eq!(n.clients[0].code(id), Some(Code::CONTENT));
    n
}

#[test]
fn server_heartbeats_every_interval_from_the_start() {
    let mut n = started();
    n.run_until(t(1_200_000));
    // Every 30 s from the first datagram (1000.010 s), whatever the traffic.
    let expected: Vec<Instant> = (1..=6).map(|k| t(1_000_010 + k * 30_000)).collect();
    assert_eq!(n.server_heartbeats_to(0), expected);
    // The client answered each (2.04): an RTT estimate of 20 ms.
    let info = n.server.peer_info(&10).unwrap();
    assert_eq!(info.rtt, Some(ms(20)));
    assert_eq!(n.server.stats().heartbeats_answered, 6);
    // No client heartbeat yet: peer-hb-status false in every server heartbeat.
    assert!(n.clients[0].server_hbs.iter().all(|(_, s)| !s));
    // The server's heartbeats are the session's own: no endpoint is held between exchanges.
    assert!(!info.endpoint_held);
    assert_eq!(n.server.endpoints_held(), 0);
}

#[test]
fn client_heartbeats_are_answered_and_reported_in_ours() {
    let mut n = started();
    n.client_heartbeats(0, secs(30));
    n.run_until(t(1_100_000));
    let hbs = n.clients[0].heartbeats.clone();
    assert!(hbs.len() >= 3);
    for id in &hbs {
        let r = n.clients[0]
            .response(*id)
            .expect("2.04 for every heartbeat");
        assert_eq!(r.code, Code::CHANGED);
        assert!(r.payload.is_empty(), "Figure 28");
    }
    // The server heartbeat at 1030.010 follows the client's at 1000.100 (arrived 1000.110):
    // peer-hb-status true.
    assert_eq!(n.clients[0].server_hbs[0], (t(1_030_020), true));
    // The client stops: 2 x heartbeat-interval after its last heartbeat (arrived at
    // 1090.110) the server reports false.
    n.clients[0].hb_every = None;
    n.clients[0].next_hb = None;
    n.run_until(t(1_300_000));
    let st: Vec<(Instant, bool)> = n.clients[0].server_hbs.clone();
    let last_true = st.iter().rev().find(|(_, s)| *s).unwrap().0;
    let first_false = st.iter().find(|(at, s)| *at > last_true && !s).unwrap().0;
    assert_eq!(last_true, t(1_150_020), "1150.010 - 1090.110 <= 60 s");
    assert_eq!(first_false, t(1_180_020));
}

#[test]
fn deadman_fires_exactly_without_any_traffic() {
    let mut n = started();
    // A preconfigured request (trigger-mitigation false) waits for a signal loss.
    let body = cbor(&scope_json(
        &["2001:db8::1/128"],
        3600,
        "\"trigger-mitigation\": false",
    ));
    let id = n.request(0, Code::PUT, &mit(7), &body, Opts::default());
    n.run_for(ms(100));
    assert_eq!(n.clients[0].code(id), Some(Code::CREATED));
    // Last datagram from the client at the server: the request at 1000.110 s. Then silence.
    n.clients[0].up_cut = true;
    let lost_at = t(1_000_110 + 15 * 30_000);
    assert_eq!(n.server.peer_info(&10).unwrap().lost_at, Some(lost_at));
    n.run_until(t(1_450_109));
    assert!(n.lost_events().is_empty(), "not a millisecond early");
    n.run_until(t(1_460_000));
    assert_eq!(n.lost_events(), vec![(lost_at, 10)]);
    assert!(n.events.iter().any(|(at, e)| *at == lost_at
        && matches!(
            e,
            SessionEvent::PeerLost {
                session_lost: true,
                ..
            }
        )));
    // The deadman activated the preconfigured request.
    assert!(n.events.iter().any(|(at, e)| *at == lost_at
        && matches!(
            e,
            SessionEvent::Server(ServerEvent::TriggeredBySignalLoss { mid: 7, .. })
        )));
    assert_eq!(n.server.peer_count(), 0);
    assert_eq!(n.server.stats().peers_lost, 1);
    // No heartbeat after the loss.
    let after = n
        .server_heartbeats_to(0)
        .into_iter()
        .filter(|x| *x >= lost_at)
        .count();
    assert_eq!(after, 0);
}

#[test]
fn any_traffic_keeps_the_session_under_attack() {
    // The client's inbound link is saturated: the server's heartbeats never arrive, but the
    // client keeps sending its own. The server must not consider the session lost.
    let mut n = started();
    n.clients[0].down_cut = true;
    n.client_heartbeats(0, secs(30));
    n.run_until(t(3_000_000));
    assert!(n.lost_events().is_empty());
    // It kept sending its heartbeats all along.
    assert_eq!(n.server_heartbeats_to(0).len(), 66);
    // Then the client's heartbeats stop too (the last one left at 2980.100 s): lost 450 s
    // after it arrived.
    let last_hb_arrival = t(2_980_110);
    n.clients[0].up_cut = true;
    n.run_until(t(3_500_000));
    assert_eq!(n.lost_events(), vec![(last_hb_arrival + secs(450), 10)]);
}

#[test]
fn requests_and_even_malformed_datagrams_count_as_traffic() {
    let mut n = started();
    // No heartbeats at all, a GET every 400 s: never lost.
    for _ in 0..5 {
        n.run_for(secs(400));
        n.request(0, Code::GET, "/.well-known/dots/config", &[], Opts::non());
    }
    assert!(n.lost_events().is_empty());
    // A malformed datagram also moves the deadman.
    let now = n.now;
    n.server
        .handle_datagram(now, 10, &n.clients[0].identity(), &[0xff, 0x00]);
    assert_eq!(n.server.peer_info(&10).unwrap().last_received, now);
    assert_eq!(
        n.server.peer_info(&10).unwrap().lost_at,
        Some(now + secs(450))
    );
}

#[test]
fn heartbeat_interval_zero_disables_heartbeats_and_the_deadman() {
    let mut n = started();
    // Figure 23: idle-config heartbeat-interval 0.
    let id = n.request(
        0,
        Code::PUT,
        "/.well-known/dots/config/sid=1",
        &cbor(FIG23),
        Opts::default(),
    );
    n.run_for(ms(100));
    assert_eq!(n.clients[0].code(id), Some(Code::CREATED));
    let info = n.server.peer_info(&10).unwrap();
    assert_eq!(info.heartbeat_interval, None);
    assert_eq!(info.next_heartbeat, None);
    assert_eq!(info.lost_at, None);
    let before = n.server_heartbeats_to(0).len();
    n.clients[0].up_cut = true;
    n.run_until(t(20_000_000));
    assert!(n.lost_events().is_empty());
    assert_eq!(n.server_heartbeats_to(0).len(), before);
    assert_eq!(n.server.poll_timeout(), None);
}

#[test]
fn parameters_switch_between_idle_and_mitigating() {
    let mut n = started();
    let cfg = r#"{"ietf-dots-signal-channel:signal-config": {
      "mitigating-config": {"heartbeat-interval": {"current-value": 15},
                            "missing-hb-allowed": {"current-value": 5},
                            "max-retransmit": {"current-value": 4},
                            "ack-timeout": {"current-value-decimal": "3.00"}},
      "idle-config": {"heartbeat-interval": {"current-value": 60},
                      "missing-hb-allowed": {"current-value": 3}}}}"#;
    let id = n.request(
        0,
        Code::PUT,
        "/.well-known/dots/config/sid=1",
        &cbor(cfg),
        Opts::default(),
    );
    n.run_for(ms(100));
    assert_eq!(n.clients[0].code(id), Some(Code::CREATED));
    // Idle: 60 s heartbeats counted from the previous one (the session start, 1000.010 s),
    // deadman 3 x 60 s after the last arrival (1000.110 s).
    let info = n.server.peer_info(&10).unwrap();
    assert_eq!(info.phase, ConfigPhase::Idle);
    assert_eq!(info.heartbeat_interval, Some(secs(60)));
    assert_eq!(info.next_heartbeat, Some(t(1_060_010)));
    assert_eq!(info.lost_at, Some(t(1_000_110 + 180_000)));
    // A mitigation starts at 1010 s (arrives 1010.010): mitigating parameters at once.
    n.run_until(t(1_010_000));
    let id = n.request(0, Code::PUT, &mit(1), &cbor(FIG7), Opts::non());
    n.run_for(ms(100));
    assert_eq!(n.clients[0].code(id), Some(Code::CREATED));
    let info = n.server.peer_info(&10).unwrap();
    assert_eq!(info.phase, ConfigPhase::Mitigating);
    assert_eq!(info.heartbeat_interval, Some(secs(15)));
    assert_eq!(info.parameters.max_retransmit, 4);
    assert_eq!(info.parameters.ack_timeout, secs(3));
    assert_eq!(
        info.next_heartbeat,
        Some(t(1_015_010)),
        "15 s after the previous anchor"
    );
    assert_eq!(info.lost_at, Some(t(1_010_010 + 75_000)));
    assert!(n.events.iter().any(|(at, e)| *at == t(1_010_010)
        && matches!(
            e,
            SessionEvent::ParametersChanged {
                phase: ConfigPhase::Mitigating,
                ..
            }
        )));
    n.run_until(t(1_050_000));
    let hbs: Vec<Instant> = n.server_heartbeats_to(0);
    assert_eq!(hbs, vec![t(1_015_010), t(1_030_010), t(1_045_010)]);
    // The client withdraws it: active-but-terminating for 120 s, then idle again.
    let id = n.request(0, Code::DELETE, &mit(1), &[], Opts::non());
    n.run_for(ms(100));
    assert_eq!(n.clients[0].code(id), Some(Code::DELETED));
    assert_eq!(
        n.server.peer_info(&10).unwrap().phase,
        ConfigPhase::Mitigating
    );
    n.run_until(t(1_170_009));
    assert_eq!(
        n.server.peer_info(&10).unwrap().phase,
        ConfigPhase::Mitigating
    );
    n.run_until(t(1_170_011));
    let info = n.server.peer_info(&10).unwrap();
    assert_eq!(info.phase, ConfigPhase::Idle);
    assert_eq!(info.heartbeat_interval, Some(secs(60)));
    // The server's heartbeat at 1165.010 was the last mitigating one; the next is 60 s later.
    assert_eq!(info.next_heartbeat, Some(t(1_225_010)));
}

#[test]
fn a_client_that_misses_our_heartbeats_gets_one_at_once() {
    let mut n = started();
    n.run_until(t(1_040_000));
    let now = n.now;
    let id = n.heartbeat(0, false).unwrap();
    n.run_for(ms(100));
    assert_eq!(n.clients[0].code(id), Some(Code::CHANGED));
    let status: Vec<_> = n
        .events
        .iter()
        .filter(|(_, e)| {
            matches!(
                e,
                SessionEvent::PeerHeartbeatStatus {
                    receiving: false,
                    ..
                }
            )
        })
        .collect();
    assert_eq!(status.len(), 1);
    // Our heartbeat left with the 2.04 (at 1040.010 s), and the period restarted from it.
    let hbs = n.server_heartbeats_to(0);
    assert_eq!(hbs, vec![t(1_030_010), now + ms(10)]);
    assert_eq!(
        n.server.peer_info(&10).unwrap().next_heartbeat,
        Some(now + ms(10) + secs(30))
    );
    // A second 'false' within a second gets no extra one; true again is reported.
    n.run_until(now + ms(500));
    n.heartbeat(0, false);
    n.run_for(ms(100));
    assert_eq!(n.server_heartbeats_to(0).len(), 2);
    n.heartbeat(0, true);
    n.run_for(ms(100));
    assert!(n.events.iter().any(|(_, e)| matches!(
        e,
        SessionEvent::PeerHeartbeatStatus {
            receiving: true,
            ..
        }
    )));
}

#[test]
fn tcp_session_lost_after_one_unanswered_heartbeat() {
    let mut n = Net::default_net();
    n.add(
        CUID,
        Link::perfect(),
        Link::perfect(),
        Transport::Tcp,
        false,
    );
    let id = n.request(
        0,
        Code::GET,
        "/.well-known/dots/config",
        &[],
        Opts::default(),
    );
    n.run_for(ms(100));
    assert_eq!(n.clients[0].code(id), Some(Code::CONTENT));
    let info = n.server.peer_info(&10).unwrap();
    assert_eq!(info.transport, Transport::Tcp);
    assert!(info.endpoint_held, "a TCP peer holds its endpoint");
    assert_eq!(info.lost_at, None, "no heartbeat waiting");
    // Answered heartbeats keep it (the first CSM and request arrived at 1000.010).
    n.run_until(t(1_100_000));
    assert_eq!(n.server_heartbeats_to(0).len(), 3);
    assert!(n.lost_events().is_empty());
    // The client goes silent: the heartbeat of 1120.010 s is unanswered for 30 s.
    n.clients[0].up_cut = true;
    n.run_until(t(1_200_000));
    assert_eq!(n.lost_events(), vec![(t(1_150_010), 10)]);
}

#[test]
fn failed_transport_recovered_on_another_and_nat_rebinding() {
    let mut n = started();
    // The transport breaks at 1100 s; the deadman keeps running from 1000.010 s.
    n.run_until(t(1_100_000));
    let now = n.now;
    n.server.peer_failed(now, &10);
    assert_eq!(n.server.peer_count(), 1);
    assert!(n.server.peer_info(&10).is_none(), "the key is free");
    // The client is back on a new transport (key 11) at 1200 s: the session continues.
    let c2 = n.add_client(CUID, Link::perfect(), Link::perfect());
    n.run_until(t(1_200_000));
    let id = n.request(
        c2,
        Code::GET,
        "/.well-known/dots/config",
        &[],
        Opts::default(),
    );
    n.run_for(ms(100));
    assert_eq!(n.clients[c2].code(id), Some(Code::CONTENT));
    assert_eq!(n.server.peer_count(), 1);
    n.run_until(t(1_500_000));
    assert!(n.lost_events().is_empty());
    // A NAT rebinding: the client now talks from key 12; key 11 falls silent. Its deadman
    // ends it without losing the client's session.
    n.client_heartbeats(c2, secs(30));
    n.run_for(secs(1));
    n.clients[c2].up_cut = true;
    let c3 = n.add_client(CUID, Link::perfect(), Link::perfect());
    n.client_heartbeats(c3, secs(30));
    n.run_until(t(2_200_000));
    let lost: Vec<_> = n
        .events
        .iter()
        .filter_map(|(at, e)| match e {
            SessionEvent::PeerLost {
                peer, session_lost, ..
            } => Some((*at, *peer, *session_lost)),
            _ => None,
        })
        .collect();
    // Key 11's last datagram: the answer to the server heartbeat of 1500.010 s.
    assert_eq!(lost, vec![(t(1_500_030) + secs(450), 11, false)]);
    assert!(!n
        .server_events()
        .iter()
        .any(|e| matches!(e, ServerEvent::ClientLost { .. })));
}

#[test]
fn failed_transport_not_recovered_is_lost_exactly() {
    let mut n = started();
    n.run_until(t(1_100_000));
    let now = n.now;
    n.server.peer_failed(now, &10);
    n.run_until(t(1_540_029));
    assert!(n.lost_events().is_empty());
    n.run_until(t(1_600_000));
    // The last datagram (the answer to the heartbeat of 1090.010 s) arrived at 1090.030 s.
    assert_eq!(n.lost_events(), vec![(t(1_090_030) + secs(450), 10)]);
    assert_eq!(n.server.peer_count(), 0);
}

#[test]
fn closed_peer_ends_without_a_deadman() {
    let mut n = started();
    let body = cbor(&scope_json(
        &["2001:db8::1/128"],
        3600,
        "\"trigger-mitigation\": false",
    ));
    n.request(0, Code::PUT, &mit(7), &body, Opts::default());
    let id = n.request(
        0,
        Code::GET,
        &format!("/.well-known/dots/mitigate/cuid={CUID}"),
        &[],
        Opts::observe(),
    );
    n.run_for(ms(100));
    assert_eq!(n.clients[0].code(id), Some(Code::CONTENT));
    assert_eq!(n.server.server().observations(CUID).count(), 1);
    let now = n.now;
    n.server.peer_closed(now, &10);
    assert_eq!(n.server.peer_count(), 0);
    assert_eq!(n.server.server().observations(CUID).count(), 0);
    n.run_until(t(3_000_000));
    assert!(n.lost_events().is_empty());
    assert!(!n
        .server_events()
        .iter()
        .any(|e| matches!(e, ServerEvent::TriggeredBySignalLoss { .. })));
}
