//! Timers of the client session on the virtual clock: heartbeats and loss at the instants the
//! negotiated parameters imply, degraded sessions during attacks, reconnection pacing, the
//! configuration's Max-Age refresh, lifetime refreshes, the idle/mitigating switch applied to
//! the endpoint.

mod common;
mod signal_client_support;

use std::time::Duration;

use common::{Link, Pair};
use dots_codec::coap::Code;
use dots_codec::model::{ConfigParams, Decimal2, DecimalParam, IntParam, Lifetime, SignalConfig};
use dots_proto::coap::Transport;
use dots_proto::signal::client::{
    ClientConfig, LostReason, MitigationState, Phase, MIN_RECONNECT_INTERVAL,
};
use dots_proto::signal::server::ServerConfig;
use dots_proto::time::Instant;
use signal_client_support::*;

fn pair_with(config: ClientConfig, server: TestServer) -> Pair<ClientNode, TestServer> {
    Pair::new(
        ClientNode::new(secs(0), config, 5),
        server,
        Link::perfect(),
        Link::perfect(),
    )
}

fn run(p: &mut Pair<ClientNode, TestServer>, until: Instant) {
    p.run_until(until, |_, _, _, _| {});
    p.a.collect();
}

fn sent_paths(p: &Pair<ClientNode, TestServer>, path: &str) -> Vec<(Instant, Code)> {
    client_messages(p)
        .into_iter()
        .filter_map(|(at, b)| {
            let (code, segs, ..) = parse(&b);
            (format!("/{}", segs.join("/")) == path).then_some((at, code))
        })
        .collect()
}

/// Heartbeats every 20 s, 3 missing allowed, in both phases.
fn negotiated(p: &mut Pair<ClientNode, TestServer>) {
    run(p, secs(1));
    p.a.c.negotiate_config(p.now, &desired(20, 20, 3)).unwrap();
    run(p, secs(2));
    assert_eq!(p.a.c.sid(), Some(1));
    assert_eq!(
        p.a.c.parameters().heartbeat_interval,
        Duration::from_secs(20)
    );
    assert_eq!(p.a.c.parameters().missing_hb_allowed, 3);
}

#[test]
fn session_lost_after_missing_hb_allowed_heartbeats() {
    let mut p = pair_with(ClientConfig::udp(), TestServer::udp());
    negotiated(&mut p);
    // The first heartbeat is one (new) interval after the session start.
    assert_eq!(p.a.c.next_heartbeat_at(), Some(secs(20)));
    p.b.down = true;
    run(&mut p, secs(200));
    let hbs: Vec<Instant> = sent_paths(&p, "/.well-known/dots/hb")
        .into_iter()
        .map(|x| x.0)
        .collect();
    // Heartbeats at 20, 40, 60 go unanswered; when the fourth is due (80 s) three are
    // missing: the session is lost then, and no fourth heartbeat goes.
    assert_eq!(hbs, vec![secs(20), secs(40), secs(60)]);
    let (at, e) = p.a.find(|e| matches!(e, CEv::Lost(_))).unwrap();
    assert_eq!(e, CEv::Lost(LostReason::Heartbeat));
    assert_eq!(at, secs(80));
    assert!(!p.a.c.is_connected());
    assert_eq!(p.a.c.stats().heartbeats_missed, 3);
    // Nothing is scheduled any more (no busy loop): the host reconnects.
    assert_eq!(p.a.c.poll_timeout(), None);
}

#[test]
fn default_parameters_lose_the_session_at_480_s() {
    // RFC 9132 Section 4.5.2 defaults: 30 s, 15 missing.
    let mut config = ClientConfig::udp();
    config.fetch_config = false;
    let mut p = pair_with(config, TestServer::udp());
    p.b.down = true;
    run(&mut p, secs(1000));
    let (at, _) = p.a.find(|e| matches!(e, CEv::Lost(_))).unwrap();
    assert_eq!(at, secs(16 * 30));
    assert_eq!(p.a.c.stats().heartbeats_sent, 15);
}

#[test]
fn during_an_attack_the_session_is_kept_and_degraded() {
    let mut p = pair_with(ClientConfig::udp(), TestServer::udp());
    negotiated(&mut p);
    let mid =
        p.a.c
            .request_mitigation(p.now, &scope("2001:db8::/64", 3600))
            .unwrap();
    run(&mut p, secs(3));
    assert_eq!(p.a.c.phase(), Phase::Mitigating);
    // The link saturates: nothing from the server arrives.
    p.b.down = true;
    run(&mut p, secs(130));
    // No loss: at 80 s three heartbeats were missing, the host is told to open a parallel
    // session, and heartbeats go on.
    assert!(p.a.find(|e| matches!(e, CEv::Lost(_))).is_none());
    let (at, e) = p.a.find(|e| matches!(e, CEv::Degraded(_))).unwrap();
    assert_eq!((at, e), (secs(80), CEv::Degraded(3)));
    let hbs: Vec<Instant> = sent_paths(&p, "/.well-known/dots/hb")
        .into_iter()
        .map(|x| x.0)
        .collect();
    assert_eq!(
        hbs,
        vec![secs(20), secs(40), secs(60), secs(80), secs(100), secs(120)]
    );
    // A parallel session mirrors the mitigation with its mid.
    let mut other = ClientNode::new(p.now, ClientConfig::udp(), 77);
    assert_eq!(other.c.mirror_mitigations(p.now, &p.a.c), 1);
    assert_eq!(
        other.c.mitigation(mid).unwrap().scope(),
        p.a.c.mitigation(mid).unwrap().scope()
    );
    assert!(other.c.next_mid() >= p.a.c.next_mid());
    // The link recovers: traffic from the server ends the degradation.
    p.b.down = false;
    run(&mut p, secs(150));
    let (at, _) = p.a.find(|e| *e == CEv::Recovered).unwrap();
    assert!(at > secs(130) && at <= secs(141), "{at:?}");
    assert!(p.a.c.is_connected());
}

#[test]
fn reconnection_is_paced_and_the_state_survives() {
    let mut config = ClientConfig::udp();
    config.reconnect_interval = Duration::from_secs(10); // clamped to 60 s
    let mut p = pair_with(config, TestServer::udp());
    negotiated(&mut p);
    // A pre-configured request: it survives the reconnection.
    let mut pre = scope("2001:db8:1::/48", 3600);
    pre.trigger_mitigation = Some(false);
    let pre_mid = p.a.c.request_mitigation(p.now, &pre).unwrap();
    run(&mut p, secs(3));
    assert_eq!(
        p.a.c.mitigation(pre_mid).unwrap().state(),
        MitigationState::Active
    );
    assert_eq!(p.a.c.phase(), Phase::Idle);
    p.b.down = true;
    run(&mut p, secs(100));
    let (lost_at, _) = p.a.find(|e| matches!(e, CEv::Lost(_))).unwrap();
    assert_eq!(lost_at, secs(80));
    // A request while the session is lost is held, and sent after the reconnection.
    let mid =
        p.a.c
            .request_mitigation(p.now, &scope("2001:db8:2::/48", 3600))
            .unwrap();
    // The first attempt fails at 100 s: the next is allowed 60 s later (the floor), not 10 s.
    p.a.c.connection_failed(secs(100));
    assert_eq!(
        p.a.c.reconnect_allowed_at(),
        Some(secs(100) + MIN_RECONNECT_INTERVAL)
    );
    run(&mut p, secs(200));
    let (at, _) = p.a.find(|e| *e == CEv::ReconnectAllowed).unwrap();
    assert_eq!(at, secs(160));
    // The second attempt succeeds: a new (D)TLS session with the same server.
    p.b.down = false;
    p.b.new_session();
    p.a.c.reconnected(secs(200), "dots.example", Transport::Udp);
    p.a.collect();
    run(&mut p, secs(205));
    assert!(p.a.c.is_connected());
    // The held request went; the configuration was installed again with a higher sid; the
    // pre-configured request is still there, and the mid counter went on.
    assert_eq!(
        p.a.c.mitigation(mid).unwrap().state(),
        MitigationState::Active
    );
    assert_eq!(mid, pre_mid + 1);
    assert_eq!(p.a.c.sid(), Some(2));
    assert!(p.a.c.mitigation(pre_mid).is_some());
    assert_eq!(p.b.core.mids(CUID).collect::<Vec<_>>(), vec![pre_mid, mid]);
    // Heartbeats restart one interval after the reconnection.
    assert_eq!(p.a.c.next_heartbeat_at(), Some(secs(220)));
    assert_eq!(p.a.c.missed_heartbeats(), 0);
}

#[test]
fn configuration_is_refreshed_before_max_age_but_not_during_an_attack() {
    let server = TestServer::new(
        {
            let mut c = ServerConfig::default();
            c.config_max_age = Some(100);
            c
        },
        Transport::Udp,
    );
    let mut p = pair_with(ClientConfig::udp(), server);
    run(&mut p, secs(1));
    // GET /config answered at 20 ms with Max-Age 100: fetched again 10 s (the lead) before.
    let first = secs(0) + Duration::from_millis(20);
    assert_eq!(
        p.a.c.config_refresh_at(),
        Some(first + Duration::from_secs(90))
    );
    run(&mut p, secs(95));
    let gets = sent_paths(&p, "/.well-known/dots/config");
    assert_eq!(gets.len(), 2);
    assert_eq!(gets[1].0, first + Duration::from_secs(90));
    // During an attack, no refresh.
    let mid =
        p.a.c
            .request_mitigation(p.now, &scope("2001:db8::/64", 3600))
            .unwrap();
    run(&mut p, secs(400));
    assert_eq!(sent_paths(&p, "/.well-known/dots/config").len(), 2);
    // The attack ends (withdrawn, then terminated): the overdue refresh goes at once.
    p.a.c.withdraw_mitigation(p.now, mid).unwrap();
    run(&mut p, secs(600));
    let idle_at =
        p.a.find(|e| matches!(e, CEv::PhaseChanged(Phase::Idle, _)))
            .unwrap()
            .0;
    let gets = sent_paths(&p, "/.well-known/dots/config");
    assert_eq!(gets.len(), 3, "{gets:?}");
    assert_eq!(gets[2].0, idle_at);
    assert!(idle_at > secs(500));
}

#[test]
fn lifetime_is_refreshed_before_it_ends() {
    let server = TestServer::new(
        {
            let mut c = ServerConfig::default();
            c.max_lifetime = Some(300);
            c
        },
        Transport::Udp,
    );
    let mut config = ClientConfig::udp();
    config.fetch_config = false;
    let mut p = pair_with(config, server);
    let mid =
        p.a.c
            .request_mitigation(secs(0), &scope("2001:db8::/64", 3600))
            .unwrap();
    run(&mut p, secs(1));
    // 2.01 at 20 ms grants 300 s (the server's cap), not the 3600 s asked for.
    let (at, e) = p.a.find(|e| matches!(e, CEv::Accepted { .. })).unwrap();
    assert_eq!(at, ms(20));
    assert!(matches!(
        e,
        CEv::Accepted {
            lifetime: Some(Lifetime::Seconds(300)),
            ..
        }
    ));
    assert_eq!(
        p.a.c.mitigation(mid).unwrap().expires_at(),
        Some(ms(300_020))
    );
    assert_eq!(
        p.a.c.mitigation(mid).unwrap().refresh_at(),
        Some(ms(240_020))
    );
    run(&mut p, secs(250));
    let puts = sent_paths(
        &p,
        &format!("/.well-known/dots/mitigate/cuid={CUID}/mid={mid}"),
    );
    let puts: Vec<_> = puts.into_iter().filter(|x| x.1 == Code::PUT).collect();
    assert_eq!(puts.len(), 2);
    assert_eq!(puts[1].0, ms(240_020));
    // 2.04 with the lifetime granted again.
    assert!(p.a.events().any(|e| matches!(
        e,
        CEv::Accepted {
            code: Code::CHANGED,
            lifetime: Some(Lifetime::Seconds(300)),
            ..
        }
    )));
    assert_eq!(p.a.c.stats().refreshes, 1);
    // It stays alive for an hour.
    run(&mut p, secs(3600));
    assert_eq!(
        p.a.c.mitigation(mid).unwrap().state(),
        MitigationState::Active
    );
    assert!(p.a.find(|e| matches!(e, CEv::Ended(_))).is_none());
    assert!(p.b.core.mitigation(CUID, mid).is_some());
    // A server that stopped answering: the lifetime runs out and the client says so.
    p.b.down = true;
    run(&mut p, secs(4000));
    assert!(p.a.find(|e| *e == CEv::Ended(mid)).is_some());
    assert!(p.a.c.mitigation(mid).is_none());
}

#[test]
fn idle_and_mitigating_sets_are_applied_to_the_endpoint() {
    let mut p = pair_with(ClientConfig::udp(), TestServer::udp());
    run(&mut p, secs(1));
    let d = Decimal2::from_hundredths;
    let want = SignalConfig {
        sid: None,
        idle_config: Some(ConfigParams {
            heartbeat_interval: Some(IntParam::current(60)),
            max_retransmit: Some(IntParam::current(2)),
            ack_timeout: Some(DecimalParam::current(d(200))),
            ..ConfigParams::default()
        }),
        mitigating_config: Some(ConfigParams {
            heartbeat_interval: Some(IntParam::current(15)),
            max_retransmit: Some(IntParam::current(5)),
            ack_timeout: Some(DecimalParam::current(d(350))),
            ..ConfigParams::default()
        }),
    };
    p.a.c.negotiate_config(p.now, &want).unwrap();
    run(&mut p, secs(2));
    let ep = p.a.c.endpoint().parameters();
    assert_eq!(
        (ep.ack_timeout, ep.max_retransmit),
        (Duration::from_secs(2), 2)
    );
    assert_eq!(p.a.c.next_heartbeat_at(), Some(secs(60)));
    // A mitigation request: the mitigating set at once.
    let at = p.now;
    let mid =
        p.a.c
            .request_mitigation(at, &scope("2001:db8::/64", 3600))
            .unwrap();
    p.a.collect();
    let (t, e) =
        p.a.find(|e| matches!(e, CEv::PhaseChanged(Phase::Mitigating, _)))
            .unwrap();
    assert_eq!(t, at);
    match e {
        CEv::PhaseChanged(_, params) => {
            assert_eq!(params.heartbeat_interval, Duration::from_secs(15))
        }
        _ => unreachable!(),
    }
    let ep = p.a.c.endpoint().parameters();
    assert_eq!(
        (ep.ack_timeout, ep.max_retransmit),
        (Duration::from_millis(3500), 5)
    );
    // Heartbeats follow the mitigating interval, counted from the session start.
    assert_eq!(p.a.c.next_heartbeat_at(), Some(secs(15)));
    // Withdrawn and terminated: back to idle.
    run(&mut p, secs(5));
    p.a.c.withdraw_mitigation(p.now, mid).unwrap();
    run(&mut p, secs(200));
    assert_eq!(p.a.c.phase(), Phase::Idle);
    let ep = p.a.c.endpoint().parameters();
    assert_eq!(
        (ep.ack_timeout, ep.max_retransmit),
        (Duration::from_secs(2), 2)
    );
    assert_eq!(
        p.a.c.parameters().heartbeat_interval,
        Duration::from_secs(60)
    );
}

#[test]
fn tcp_heartbeat_reply_waits_one_interval() {
    let mut config = ClientConfig::tcp();
    config.fetch_config = false;
    let mut p = Pair::new(
        ClientNode::new(secs(0), config, 5),
        TestServer::new(ServerConfig::default(), Transport::Tcp),
        Link::perfect(),
        Link::perfect(),
    );
    run(&mut p, secs(65));
    assert!(p.a.c.is_connected());
    assert_eq!(p.a.c.stats().heartbeats_sent, 2);
    p.b.down = true;
    run(&mut p, secs(200));
    // The heartbeat at 90 s is not answered by 120 s: over TCP that is a failure.
    let (at, e) = p.a.find(|e| matches!(e, CEv::Lost(_))).unwrap();
    assert_eq!((at, e), (secs(120), CEv::Lost(LostReason::Heartbeat)));
}

#[test]
fn robust_block_parameters_reach_the_endpoint() {
    let mut p = pair_with(ClientConfig::udp(), TestServer::udp());
    run(&mut p, secs(1));
    let d = Decimal2::from_hundredths;
    // RFC 9362: one max-payloads for both phases; NON_RECEIVE_TIMEOUT one second above the
    // largest NON_TIMEOUT_RANDOM.
    let params = ConfigParams {
        heartbeat_interval: Some(IntParam::current(30)),
        max_payloads: Some(IntParam::current(5)),
        non_max_retransmit: Some(IntParam::current(3)),
        non_timeout: Some(DecimalParam::current(d(100))),
        non_receive_timeout: Some(DecimalParam::current(d(300))),
        non_partial_timeout: Some(DecimalParam::current(d(12000))),
        ..ConfigParams::default()
    };
    let want = SignalConfig {
        sid: None,
        idle_config: Some(params),
        mitigating_config: Some(params),
    };
    p.a.c.negotiate_config(p.now, &want).unwrap();
    run(&mut p, secs(2));
    assert_eq!(p.a.c.sid(), Some(1));
    let ep = p.a.c.endpoint().parameters();
    assert_eq!(ep.max_payloads, 5);
    assert_eq!(ep.non_max_retransmit, 3);
    assert_eq!(ep.non_timeout, Duration::from_secs(1));
    assert_eq!(ep.non_receive_timeout, Duration::from_secs(3));
    assert_eq!(ep.non_partial_timeout, Some(Duration::from_secs(120)));
    assert_eq!(p.a.c.stats().parameters_refused, 0);
}

#[test]
fn peer_hb_status_turns_false_without_server_heartbeats() {
    let mut config = ClientConfig::udp();
    config.fetch_config = false;
    let mut p = pair_with(config, TestServer::udp());
    run(&mut p, secs(125));
    let bodies: Vec<(Instant, Vec<u8>)> = client_messages(&p)
        .into_iter()
        .filter_map(|(at, b)| {
            let (_, segs, payload, ..) = parse(&b);
            (segs.last().map(String::as_str) == Some("hb")).then_some((at, payload))
        })
        .collect();
    let status: Vec<(Instant, bool)> = bodies
        .iter()
        .map(|(at, b)| {
            let hb = <dots_codec::model::Heartbeat as dots_codec::cbor::CborBody>::decode_cbor(b)
                .unwrap();
            (*at, hb.peer_hb_status)
        })
        .collect();
    // Nothing can be missing during the first two intervals; after that, no heartbeat from
    // the server in the last 2 * heartbeat-interval: false (RFC 9132 Section 4.7).
    assert_eq!(
        status,
        vec![
            (secs(30), true),
            (secs(60), true),
            (secs(90), false),
            (secs(120), false)
        ]
    );
    // Server heartbeats start: true again.
    p.b.hb_every = Some(Duration::from_secs(25));
    run(&mut p, secs(185));
    let last = client_messages(&p)
        .into_iter()
        .rev()
        .find_map(|(_, b)| {
            let (_, segs, payload, ..) = parse(&b);
            (segs.last().map(String::as_str) == Some("hb")).then_some(payload)
        })
        .unwrap();
    assert_eq!(last, vec![0xa1, 0x18, 0x31, 0xa1, 0x18, 0x33, 0xf5]);
}
