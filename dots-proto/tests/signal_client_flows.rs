//! The RFC 9132 signal-channel flows end to end: the client against a composed server
//! (`ServerEndpoint` + `SignalServer`), checking the exact Uri-Path and body bytes the client
//! sends for the printed examples.

mod common;
mod signal_client_support;

use std::time::Duration;

use common::{Link, Pair};
use dots_codec::cbor::CborBody;
use dots_codec::coap::Code;
use dots_codec::model::{AttackStatus, Lifetime, MitigationStatus as S, SignalMessage};
use dots_proto::coap::Transport;
use dots_proto::signal::client::{ClientConfig, MitigationState, Operation, Phase};
use dots_proto::signal::server::MitigationStats;
use signal_client_support::*;

fn json_cbor(json: &str) -> Vec<u8> {
    let m: SignalMessage = dots_codec::json::from_str(json).unwrap();
    let mut b = vec![0u8; m.encoded_len()];
    let n = m.encode_cbor(&mut b).unwrap();
    b.truncate(n);
    b
}

const FIG16: &str = r#"{"ietf-dots-signal-channel:mitigation-scope": {"scope": [{
    "target-prefix": ["2001:db8:6401::1/128", "2001:db8:6401::2/128"],
    "target-port-range": [{"lower-port": 80}, {"lower-port": 443}, {"lower-port": 8080}],
    "target-protocol": [6], "attack-status": "under-attack"}]}}"#;

const FIG23: &str = r#"{"ietf-dots-signal-channel:signal-config": {
  "mitigating-config": {
    "heartbeat-interval": {"current-value": 30}, "missing-hb-allowed": {"current-value": 15},
    "probing-rate": {"current-value": 15}, "max-retransmit": {"current-value": 3},
    "ack-timeout": {"current-value-decimal": "2.00"},
    "ack-random-factor": {"current-value-decimal": "1.50"}},
  "idle-config": {
    "heartbeat-interval": {"current-value": 0}, "max-retransmit": {"current-value": 3},
    "ack-timeout": {"current-value-decimal": "2.00"},
    "ack-random-factor": {"current-value-decimal": "1.50"}}}}"#;

fn pair(config: ClientConfig) -> Pair<ClientNode, TestServer> {
    Pair::new(
        ClientNode::new(secs(0), config, 5),
        TestServer::udp(),
        Link::perfect(),
        Link::perfect(),
    )
}

fn run(p: &mut Pair<ClientNode, TestServer>, until: Instant) {
    p.run_until(until, |_, _, _, _| {});
    p.a.collect();
}

use dots_proto::time::Instant;

/// A datagram of the client: when, code, payload, NON, option bytes.
type SentMsg = (Instant, Code, Vec<u8>, bool, Vec<u8>);

/// The client's datagrams with this Uri-Path (joined), parsed.
fn sent_to(p: &Pair<ClientNode, TestServer>, path: &str) -> Vec<SentMsg> {
    client_messages(p)
        .into_iter()
        .filter_map(|(at, b)| {
            let (code, segs, payload, non, opts) = parse(&b);
            (format!("/{}", segs.join("/")) == path).then_some((at, code, payload, non, opts))
        })
        .collect()
}

#[test]
fn mitigation_lifecycle_with_the_printed_bytes() {
    let mut p = pair(ClientConfig::udp());
    // The first thing is GET /config (Figure 18), Confirmable.
    run(&mut p, secs(1));
    let gets = sent_to(&p, "/.well-known/dots/config");
    assert_eq!(gets.len(), 1);
    assert_eq!(gets[0].1, Code::GET);
    assert!(!gets[0].3, "configuration requests are Confirmable");
    assert!(p
        .a
        .events()
        .any(|e| matches!(e, CEv::ConfigApplied(None, Code::CONTENT))));
    // The server's Max-Age (3600 s) schedules the refresh before it expires.
    assert_eq!(
        p.a.c.config_refresh_at(),
        Some(ms(20) + Duration::from_secs(3590))
    );

    // Figure 7 / Figure 8: PUT with the Uri-Path in order and the body byte for byte.
    let mid = p.a.c.request_mitigation(p.now, &fig7_scope()).unwrap();
    assert_eq!(mid, 1);
    run(&mut p, secs(2));
    let puts = sent_to(&p, &format!("/.well-known/dots/mitigate/cuid={CUID}/mid=1"));
    assert_eq!(puts.len(), 1);
    let (_, code, payload, non, opts) = &puts[0];
    assert_eq!(*code, Code::PUT);
    assert!(*non, "mitigation requests are Non-confirmable");
    assert_eq!(payload, &hex(FIG8));
    let o = dots_codec::coap::Options::parse(opts).unwrap();
    assert_eq!(
        o.content_format().unwrap(),
        Some(dots_codec::coap::ContentFormat::DOTS_CBOR)
    );
    assert!(!o.contains(dots_codec::coap::OptionNumber::IF_MATCH));
    // 2.01 with the granted lifetime (Figure 10).
    let (_, acc) =
        p.a.find(|e| matches!(e, CEv::Accepted { .. }))
            .expect("accepted");
    assert_eq!(
        acc,
        CEv::Accepted {
            mid: 1,
            code: Code::CREATED,
            lifetime: Some(Lifetime::Seconds(3600)),
            conflict: None
        }
    );
    let m = p.a.c.mitigation(1).unwrap();
    assert_eq!(m.state(), MitigationState::Active);
    assert_eq!(p.a.c.phase(), Phase::Mitigating);

    // GET all with Observe: 0 (Figure 12), registered automatically.
    let obs = sent_to(&p, &format!("/.well-known/dots/mitigate/cuid={CUID}"));
    assert_eq!(obs.len(), 1);
    let o = dots_codec::coap::Options::parse(&obs[0].4).unwrap();
    assert_eq!(o.observe().unwrap(), Some(0));
    assert!(p.a.events().any(|e| matches!(
        e,
        CEv::Status {
            mid: 1,
            status: Some(S::InProgress),
            notification: false,
            ..
        }
    )));

    // The mitigator reports progress: notifications (Figure 15) with the counters.
    p.b.core
        .set_mitigation_status(
            p.now,
            CUID,
            1,
            Some(S::SuccessfullyMitigated),
            MitigationStats {
                bytes_dropped: Some(134_334_555),
                pkts_dropped: Some(333_334_444),
                ..MitigationStats::default()
            },
        )
        .unwrap();
    run(&mut p, secs(3));
    let (_, st) =
        p.a.find(|e| {
            matches!(
                e,
                CEv::Status {
                    status: Some(S::SuccessfullyMitigated),
                    ..
                }
            )
        })
        .expect("notification");
    match st {
        CEv::Status {
            mid,
            counters,
            notification,
            ..
        } => {
            assert_eq!(mid, 1);
            assert!(notification);
            assert_eq!(counters.bytes_dropped, Some(134_334_555));
            assert_eq!(counters.pkts_dropped, Some(333_334_444));
        }
        _ => unreachable!(),
    }
    assert_eq!(
        p.a.c.mitigation(1).unwrap().status(),
        Some(S::SuccessfullyMitigated)
    );

    // Figure 16: the efficacy update, If-Match empty, no lifetime, attack-status.
    p.a.c
        .efficacy_update(p.now, 1, AttackStatus::UnderAttack, None)
        .unwrap();
    run(&mut p, secs(4));
    let puts = sent_to(&p, &format!("/.well-known/dots/mitigate/cuid={CUID}/mid=1"));
    let (_, code, payload, non, opts) = puts.last().unwrap();
    assert_eq!(*code, Code::PUT);
    assert!(*non);
    assert_eq!(payload, &json_cbor(FIG16));
    let o = dots_codec::coap::Options::parse(opts).unwrap();
    assert_eq!(
        o.if_match().collect::<Vec<_>>(),
        vec![&[0u8; 0][..]],
        "one empty If-Match"
    );
    assert!(p.a.events().any(|e| *e == CEv::EfficacyUpdated(1)));

    // Figure 17: DELETE, 2.02, then active but terminating.
    p.a.c.withdraw_mitigation(p.now, 1).unwrap();
    run(&mut p, secs(5));
    let dels: Vec<_> = sent_to(&p, &format!("/.well-known/dots/mitigate/cuid={CUID}/mid=1"))
        .into_iter()
        .filter(|x| x.1 == Code::DELETE)
        .collect();
    assert_eq!(dels.len(), 1);
    assert!(dels[0].2.is_empty() && dels[0].3);
    assert!(p.a.events().any(|e| *e == CEv::Withdrawn(1)));
    assert_eq!(
        p.a.c.mitigation(1).unwrap().state(),
        MitigationState::Terminating
    );
    assert!(p.a.events().any(|e| matches!(
        e,
        CEv::Status {
            mid: 1,
            status: Some(S::ClientWithdrawn),
            notification: true,
            ..
        }
    )));
    // The server terminates it after its active-but-terminating period (120 s): the client
    // learns it from the notification and goes idle.
    run(&mut p, secs(200));
    assert!(p.a.events().any(|e| matches!(
        e,
        CEv::Status {
            mid: 1,
            status: Some(S::Terminated),
            ..
        }
    )));
    assert!(p.a.c.mitigation(1).is_none());
    assert_eq!(p.a.c.phase(), Phase::Idle);
    assert!(p
        .a
        .events()
        .any(|e| matches!(e, CEv::PhaseChanged(Phase::Idle, _))));
}

#[test]
fn configuration_get_put_delete() {
    let mut p = pair(ClientConfig::udp());
    run(&mut p, secs(1));
    // The server's ranges are known: Figure 20's.
    let server = p.a.c.server_config().copied().unwrap();
    assert_eq!(
        server
            .idle_config
            .unwrap()
            .heartbeat_interval
            .unwrap()
            .max_value,
        Some(240)
    );
    // Figure 23: the values the host wants, inside the ranges, go as they are.
    let want = match dots_codec::json::from_str(FIG23).unwrap() {
        SignalMessage::SignalConfig(c) => c,
        _ => unreachable!(),
    };
    p.a.c.negotiate_config(p.now, &want).unwrap();
    run(&mut p, secs(2));
    let puts = sent_to(&p, "/.well-known/dots/config/sid=1");
    assert_eq!(puts.len(), 1, "Figure 21's Uri-Path");
    let (_, code, payload, non, _) = &puts[0];
    assert_eq!(*code, Code::PUT);
    assert!(!non);
    assert_eq!(payload, &json_cbor(FIG23));
    assert!(p
        .a
        .events()
        .any(|e| *e == CEv::ConfigApplied(Some(1), Code::CREATED)));
    assert_eq!(p.a.c.sid(), Some(1));
    // Idle: heartbeats off (idle heartbeat-interval 0); mitigating: every 30 s.
    assert_eq!(hb_interval(&p.a.c, Phase::Idle), Duration::ZERO);
    assert_eq!(p.a.c.next_heartbeat_at(), None);
    assert_eq!(
        hb_interval(&p.a.c, Phase::Mitigating),
        Duration::from_secs(30)
    );
    // No Max-Age on the PUT's 2.01: refreshed every 60 s, with the sid (Section 4.5.3).
    let put_done =
        p.a.find(|e| *e == CEv::ConfigApplied(Some(1), Code::CREATED))
            .unwrap()
            .0;
    assert_eq!(
        p.a.c.config_refresh_at(),
        Some(put_done + Duration::from_secs(60))
    );
    run(&mut p, put_done + Duration::from_secs(61));
    let refresh = sent_to(&p, "/.well-known/dots/config/sid=1");
    assert_eq!(refresh.len(), 2);
    assert_eq!(refresh[1].1, Code::GET);
    assert_eq!(refresh[1].0, put_done + Duration::from_secs(60));

    // A value outside the ranges: clamped into them (heartbeat-interval 5 → 15).
    p.a.c.negotiate_config(p.now, &desired(5, 500, 50)).unwrap();
    let t = p.now + Duration::from_secs(2);
    run(&mut p, t);
    let put = sent_to(&p, "/.well-known/dots/config/sid=2");
    let body = dots_codec::model::SignalConfig::decode_cbor(&put[0].2).unwrap();
    let idle = body.idle_config.unwrap();
    assert_eq!(idle.heartbeat_interval.unwrap().current_value, Some(15));
    assert_eq!(idle.missing_hb_allowed.unwrap().current_value, Some(20));
    assert_eq!(
        body.mitigating_config
            .unwrap()
            .heartbeat_interval
            .unwrap()
            .current_value,
        Some(240)
    );
    assert_eq!(hb_interval(&p.a.c, Phase::Idle), Duration::from_secs(15));
    assert_eq!(p.a.c.parameters().missing_hb_allowed, 20);

    // DELETE /config/sid=2 (Figure 24): back to the server's defaults.
    p.a.c.delete_config(p.now).unwrap();
    let t = p.now + Duration::from_secs(2);
    run(&mut p, t);
    let del = sent_to(&p, "/.well-known/dots/config/sid=2");
    assert!(del.iter().any(|x| x.1 == Code::DELETE));
    assert!(p
        .a
        .events()
        .any(|e| *e == CEv::ConfigApplied(None, Code::DELETED)));
    assert_eq!(p.a.c.sid(), None);
    assert_eq!(hb_interval(&p.a.c, Phase::Idle), Duration::from_secs(30));
}

#[test]
fn heartbeats_carry_figure_27_and_server_heartbeats_are_answered() {
    let mut p = pair(ClientConfig::udp());
    p.b.hb_every = Some(Duration::from_secs(30));
    run(&mut p, secs(95));
    let hbs = sent_to(&p, "/.well-known/dots/hb");
    assert_eq!(
        hbs.iter().map(|h| h.0).collect::<Vec<_>>(),
        vec![secs(30), secs(60), secs(90)]
    );
    for (_, code, payload, non, opts) in &hbs {
        assert_eq!(*code, Code::PUT);
        assert!(*non);
        // Figure 27: {"heartbeat": {"peer-hb-status": true}}.
        assert_eq!(payload, &[0xa1, 0x18, 0x31, 0xa1, 0x18, 0x33, 0xf5]);
        let o = dots_codec::coap::Options::parse(opts).unwrap();
        assert_eq!(
            o.content_format().unwrap(),
            Some(dots_codec::coap::ContentFormat::DOTS_CBOR)
        );
    }
    assert_eq!(p.a.c.stats().heartbeats_sent, 3);
    assert_eq!(p.a.c.missed_heartbeats(), 0);
    // The server's heartbeats got 2.04 (Figure 28).
    assert!(p.a.c.stats().server_heartbeats >= 2);
    assert_eq!(p.a.c.stats().unexpected_requests, 0);
}

#[test]
fn mitigation_get_one_and_deregister() {
    let mut config = ClientConfig::udp();
    config.auto_observe = false;
    let mut p = pair(config);
    let mid =
        p.a.c
            .request_mitigation(secs(0), &scope("2001:db8::/64", 3600))
            .unwrap();
    run(&mut p, secs(1));
    // Figure 13: GET one with Observe.
    p.a.c.get_mitigations(p.now, Some(mid), true, &[]).unwrap();
    run(&mut p, secs(2));
    let gets = sent_to(
        &p,
        &format!("/.well-known/dots/mitigate/cuid={CUID}/mid={mid}"),
    );
    let g = gets.iter().find(|g| g.1 == Code::GET).unwrap();
    let o = dots_codec::coap::Options::parse(&g.4).unwrap();
    assert_eq!(o.observe().unwrap(), Some(0));
    assert!(p
        .b
        .observers
        .iter()
        .any(|(_, t)| *t == dots_proto::signal::server::ObserveTarget::Mitigation(mid)));
    // Deregistration: the same GET with Observe: 1.
    p.a.c.stop_observing(p.now, Some(mid)).unwrap();
    run(&mut p, secs(3));
    let gets = sent_to(
        &p,
        &format!("/.well-known/dots/mitigate/cuid={CUID}/mid={mid}"),
    );
    let last = gets.iter().rev().find(|g| g.1 == Code::GET).unwrap();
    let o = dots_codec::coap::Options::parse(&last.4).unwrap();
    assert_eq!(o.observe().unwrap(), Some(1));
    assert!(p.b.observers.is_empty());
    assert!(p
        .a
        .events()
        .any(|e| *e == CEv::ObservationEnded(Operation::GetMitigations { mid: Some(mid) })));
    // A GET for a mid the server does not know: 4.04 surfaced.
    p.a.c.get_mitigations(p.now, Some(77), false, &[]).unwrap();
    run(&mut p, secs(4));
    assert!(p.a.events().any(|e| matches!(
        e,
        CEv::Response(
            Operation::GetMitigations { mid: Some(77) },
            Code::NOT_FOUND,
            _
        )
    )));
    let _ = Transport::Udp;
}

#[test]
fn a_refused_observation_is_not_taken_for_one() {
    let mut config = ClientConfig::udp();
    config.fetch_config = false;
    let mut p = pair(config);
    // The server refuses observers (RFC 7641 Section 4.1: 2.05 without Observe).
    p.b.refuse_observe = true;
    p.b.script = Some(Box::new(|seen| {
        (seen.code == Code::GET && seen.observe == Some(0)).then(|| Scripted {
            code: Code::CONTENT,
            payload: vec![0xa1, 0x01, 0xa1, 0x02, 0x80],
            cbor: true,
            max_age: None,
        })
    }));
    p.a.c
        .request_mitigation(secs(0), &scope("2001:db8::/64", 3600))
        .unwrap();
    run(&mut p, secs(1));
    p.a.c.get_mitigations(p.now, None, true, &[]).unwrap();
    run(&mut p, secs(2));
    // Asked twice (the automatic registration, then the host's): neither was taken as an
    // observation, so the second was not skipped.
    let gets = sent_to(&p, &format!("/.well-known/dots/mitigate/cuid={CUID}"));
    assert_eq!(gets.len(), 2);
    assert_eq!(
        p.a.c.stop_observing(p.now, None),
        Err(dots_proto::signal::client::CommandError::NotFound)
    );
}

#[test]
fn over_tcp_the_same_flows_and_a_release_loses_the_session() {
    let mut config = ClientConfig::tcp();
    config.fetch_config = true;
    let mut p = Pair::new(
        ClientNode::new(secs(0), config, 5),
        TestServer::new(
            dots_proto::signal::server::ServerConfig::default(),
            Transport::Tcp,
        ),
        Link::perfect(),
        Link::perfect(),
    );
    let mid = p.a.c.request_mitigation(secs(0), &fig7_scope()).unwrap();
    run(&mut p, secs(1));
    assert!(p
        .a
        .events()
        .any(|e| matches!(e, CEv::ConfigApplied(None, Code::CONTENT))));
    assert!(p.a.events().any(|e| matches!(
        e,
        CEv::Accepted { mid: m, code: Code::CREATED, .. } if *m == mid
    )));
    let seen = p.b.requests("/.well-known/dots/mitigate");
    assert_eq!(seen[0].payload, hex(FIG8));
    assert_eq!(seen[0].confirmable, None, "no message types over TCP");
    // Negotiation over TCP carries no loss-related parameters (RFC 9132 Section 4.5).
    p.a.c.negotiate_config(p.now, &desired(60, 30, 5)).unwrap();
    run(&mut p, secs(2));
    let put = p.b.requests("/.well-known/dots/config/sid=1")[0].clone();
    let body = dots_codec::model::SignalConfig::decode_cbor(&put.payload).unwrap();
    let idle = body.idle_config.unwrap();
    assert_eq!(idle.heartbeat_interval.unwrap().current_value, Some(60));
    assert_eq!(idle.missing_hb_allowed, None);
    // The server releases the connection (RFC 8323 Section 5.5).
    let now = p.now;
    p.b.ep.release(now, None).unwrap();
    run(&mut p, secs(3));
    assert!(p
        .a
        .events()
        .any(|e| *e == CEv::Lost(dots_proto::signal::client::LostReason::ConnectionClosed)));
    assert!(!p.a.c.is_connected());
    // The mitigation is still held, for the next session.
    assert!(p.a.c.mitigation(mid).is_some());
}
