//! Conflicts (4.09 with `conflict-information`), `cuid` collisions, the RFC 9133 ACL failure,
//! the `mid` rollover and request updates, against the composed server.

mod common;
mod signal_client_support;

use std::time::Duration;

use common::{Link, Pair};
use dots_codec::cbor::{encode_scopes, CborBody};
use dots_codec::coap::Code;
use dots_codec::model::{
    ActivationType, ConflictCause, ConflictStatus, MitigationStatus as S, ScopeEntry,
};
use dots_proto::coap::Transport;
use dots_proto::data::PeerIdentity;
use dots_proto::signal::client::{ClientConfig, MitigationState, Phase, MID_ROLLOVER};
use dots_proto::signal::server::{ConflictDecision, Handled, Request as SrvRequest, ServerConfig};
use dots_proto::time::Instant;
use signal_client_support::*;

const OTHER: &str = "f30d281ce6b64fc5a0b91e";

fn pair_with(config: ClientConfig, server: TestServer) -> Pair<ClientNode, TestServer> {
    Pair::new(
        ClientNode::new(secs(0), config, 5),
        server,
        Link::perfect(),
        Link::perfect(),
    )
}

fn quiet() -> ClientConfig {
    let mut c = ClientConfig::udp();
    c.fetch_config = false;
    c
}

fn run(p: &mut Pair<ClientNode, TestServer>, until: Instant) {
    p.run_until(until, |_, _, _, _| {});
    p.a.collect();
}

fn puts(p: &Pair<ClientNode, TestServer>) -> Vec<(Instant, Code, String)> {
    client_messages(p)
        .into_iter()
        .filter_map(|(at, b)| {
            let (code, segs, ..) = parse(&b);
            (segs.get(2).map(String::as_str) == Some("mitigate") && segs.len() == 5)
                .then(|| (at, code, segs[4].clone()))
        })
        .collect()
}

/// Another client's request, straight into the core.
fn other_put(
    p: &mut Pair<ClientNode, TestServer>,
    peer: &str,
    cuid: &str,
    mid: u32,
    body: &[u8],
) -> Code {
    let path = [".well-known", "dots", "mitigate"]
        .into_iter()
        .map(String::from)
        .chain([format!("cuid={cuid}"), format!("mid={mid}")])
        .collect::<Vec<_>>();
    let path: Vec<&str> = path.iter().map(String::as_str).collect();
    let req = SrvRequest::new(Code::PUT, &path).with_cbor(body);
    let mut buf = vec![0u8; 4096];
    match p
        .b
        .core
        .handle_request(p.now, &PeerIdentity::client(peer), &req, &mut buf)
        .unwrap()
    {
        Handled::Respond(r) => r.code,
        _ => unreachable!(),
    }
}

fn body(s: &dots_codec::model::Scope) -> Vec<u8> {
    let e = ScopeEntry::request(s.clone());
    let mut b = vec![0u8; 1024];
    let n = encode_scopes([&e], &mut b).unwrap();
    b.truncate(n);
    b
}

#[test]
fn conflict_with_another_client_is_surfaced_and_retried_after_retry_timer() {
    let mut server = {
        let mut c = ServerConfig::default();
        c.cross_client_conflict = ConflictDecision::Reject;
        TestServer::new(c, Transport::Udp)
    };
    server.peer = CUID.to_string();
    let mut p = pair_with(quiet(), server);
    // Another client mitigates 2001:db8::/64 for 60 s.
    assert_eq!(
        other_put(&mut p, OTHER, OTHER, 1, &body(&scope("2001:db8::/64", 60))),
        Code::CREATED
    );
    let mid =
        p.a.c
            .request_mitigation(secs(0), &scope("2001:db8::/64", 3600))
            .unwrap();
    run(&mut p, secs(1));
    let (at, e) = p.a.find(|e| matches!(e, CEv::Conflict { .. })).unwrap();
    let CEv::Conflict {
        mid: m,
        information,
    } = e
    else {
        unreachable!()
    };
    assert_eq!(m, mid);
    assert_eq!(
        information.conflict_status,
        Some(ConflictStatus::RequestInactiveOtherActive)
    );
    assert_eq!(
        information.conflict_cause,
        Some(ConflictCause::OverlappingTargets)
    );
    let retry = information.retry_timer.unwrap();
    assert!((59..=60).contains(&retry), "{retry}");
    assert!(information.conflict_scope.is_some());
    let m = p.a.c.mitigation(mid).unwrap();
    assert_eq!(m.state(), MitigationState::Conflicted);
    assert_eq!(m.conflict(), Some(&information));
    assert_eq!(p.a.c.phase(), Phase::Idle);
    // "MUST NOT resend the same mitigation request before the expiry of 'retry-timer'": the
    // second PUT goes exactly then, and the other client's request has expired by then.
    run(&mut p, secs(120));
    let ps: Vec<_> = puts(&p).into_iter().filter(|x| x.1 == Code::PUT).collect();
    assert_eq!(ps.len(), 2);
    assert_eq!(ps[1].0, at + Duration::from_secs(u64::from(retry)));
    assert_eq!(
        p.a.c.mitigation(mid).unwrap().state(),
        MitigationState::Active
    );
}

#[test]
fn conflict_flagged_on_2_01_carries_the_information() {
    let mut p = pair_with(quiet(), TestServer::udp());
    assert_eq!(
        other_put(&mut p, OTHER, OTHER, 1, &body(&scope("2001:db8::/64", 600))),
        Code::CREATED
    );
    let mid =
        p.a.c
            .request_mitigation(secs(0), &scope("2001:db8::/64", 3600))
            .unwrap();
    run(&mut p, secs(1));
    let (_, e) = p.a.find(|e| matches!(e, CEv::Accepted { .. })).unwrap();
    let CEv::Accepted {
        code,
        conflict: Some(c),
        ..
    } = e
    else {
        panic!("{e:?}")
    };
    assert_eq!(code, Code::CREATED);
    assert_eq!(c.conflict_status, Some(ConflictStatus::RequestActive));
    assert!(c.conflict_scope.is_some());
    // Kept with the request (the latest received: notifications repeat it).
    let kept = p.a.c.conflict(mid).unwrap();
    assert_eq!(kept.conflict_status, Some(ConflictStatus::RequestActive));
    assert_eq!(kept.conflict_cause, Some(ConflictCause::OverlappingTargets));
}

#[test]
fn cuid_collision_waits_for_a_new_cuid() {
    let mut p = pair_with(quiet(), TestServer::udp());
    // Someone else took our cuid first (Figure 11).
    assert_eq!(
        other_put(
            &mut p,
            "someone-else",
            CUID,
            1,
            &body(&scope("2001:db8:9::/48", 600))
        ),
        Code::CREATED
    );
    let mid =
        p.a.c
            .request_mitigation(secs(0), &scope("2001:db8::/64", 3600))
            .unwrap();
    run(&mut p, secs(1));
    assert!(p.a.events().any(|e| *e == CEv::CuidCollision(mid)));
    // Nothing more goes under the old cuid.
    run(&mut p, secs(30));
    assert_eq!(puts(&p).len(), 1);
    // Figure 11 (3): the request again with a new cuid.
    p.a.c.set_cuid(p.now, OTHER).unwrap();
    run(&mut p, secs(31));
    let last = client_messages(&p)
        .into_iter()
        .map(|(_, b)| parse(&b))
        .rfind(|m| m.0 == Code::PUT && m.1.get(2).map(String::as_str) == Some("mitigate"))
        .unwrap();
    assert_eq!(last.1[3], format!("cuid={OTHER}"));
    assert_eq!(last.1[4], format!("mid={mid}"));
    assert_eq!(
        p.a.c.mitigation(mid).unwrap().state(),
        MitigationState::Active
    );
    assert_eq!(p.a.c.cuid(), OTHER);
}

#[test]
fn acl_failure_sends_the_request_again_without_the_acls() {
    let mut s = scope("2001:db8::/64", 3600);
    s.push_acl("an-accept-list", Some(ActivationType::Deactivate))
        .unwrap();
    // RFC 9133 Figure 1: 5.03 with the failed ACL update as a CBOR diagnostic payload.
    let failure = {
        let mut e = ScopeEntry {
            mid: Some(1),
            ..ScopeEntry::default()
        };
        e.scope
            .push_acl("an-accept-list", Some(ActivationType::Deactivate))
            .unwrap();
        let mut b = vec![0u8; 256];
        let n = encode_scopes([&e], &mut b).unwrap();
        b.truncate(n);
        b
    };
    let mut server = TestServer::udp();
    let mut first = true;
    server.script = Some(Box::new(move |seen| {
        if seen.code == Code::PUT && seen.path.len() == 5 && std::mem::take(&mut first) {
            Some(Scripted {
                code: Code::SERVICE_UNAVAILABLE,
                payload: failure.clone(),
                cbor: true,
                max_age: Some(60),
            })
        } else {
            None
        }
    }));
    let mut p = pair_with(quiet(), server);
    let mid = p.a.c.request_mitigation(secs(0), &s).unwrap();
    run(&mut p, secs(1));
    let (at, e) = p.a.find(|e| matches!(e, CEv::Rejected { .. })).unwrap();
    assert_eq!(
        e,
        CEv::Rejected {
            mid,
            code: Code::SERVICE_UNAVAILABLE,
            retry_after: Some(Duration::from_secs(60)),
            acl_failure: true,
            diagnostic: String::new()
        }
    );
    // "MUST immediately send a new request ... without including the ACL attributes".
    let seen: Vec<_> = p.b.requests("/.well-known/dots/mitigate");
    let puts: Vec<_> = seen.iter().filter(|s| s.code == Code::PUT).collect();
    assert_eq!(puts.len(), 2);
    assert_eq!(puts[1].at, at + Duration::from_millis(10));
    let again = dots_codec::model::MitigationRequest::decode_cbor(&puts[1].payload).unwrap();
    assert!(!again.entry.scope.has_acl_list());
    assert_eq!(again.entry.scope.targets.prefixes, s.targets.prefixes);
    assert_eq!(
        p.a.c.mitigation(mid).unwrap().state(),
        MitigationState::Active
    );
}

#[test]
fn refused_requests_are_surfaced() {
    let mut p = pair_with(quiet(), TestServer::udp());
    // An alias the server does not know: 4.00 with a diagnostic; the request is dropped.
    let mut s = scope("2001:db8::/64", 3600);
    s.targets.push_alias_name("https1").unwrap();
    let mid = p.a.c.request_mitigation(secs(0), &s).unwrap();
    run(&mut p, secs(1));
    let (_, e) = p.a.find(|e| matches!(e, CEv::Rejected { .. })).unwrap();
    let CEv::Rejected {
        code, diagnostic, ..
    } = e
    else {
        unreachable!()
    };
    assert_eq!(code, Code::BAD_REQUEST);
    assert!(!diagnostic.is_empty());
    assert!(p.a.c.mitigation(mid).is_none());
    // An acl-list in idle time (a pre-configured request, nothing active): 4.00 (RFC 9133
    // Section 3.2.1: "MUST be discarded by DOTS servers with 4.00").
    let mut s = scope("2001:db8::/64", 3600);
    s.trigger_mitigation = Some(false);
    s.push_acl("nope", None).unwrap();
    let idle = p.a.c.request_mitigation(p.now, &s).unwrap();
    run(&mut p, secs(2));
    assert!(p.a.events().any(|e| matches!(
        e,
        CEv::Rejected { mid: m, code: Code::BAD_REQUEST, .. } if *m == idle
    )));
    // During an attack, an unknown ACL: 4.04.
    p.a.c
        .request_mitigation(p.now, &scope("2001:db8:5::/64", 3600))
        .unwrap();
    run(&mut p, secs(3));
    let mut s = scope("2001:db8::/64", 3600);
    s.push_acl("nope", None).unwrap();
    let mid = p.a.c.request_mitigation(p.now, &s).unwrap();
    run(&mut p, secs(4));
    assert!(p.a.events().any(|e| matches!(
        e,
        CEv::Rejected { mid: m, code: Code::NOT_FOUND, .. } if *m == mid
    )));
    assert!(p.a.c.mitigation(mid).is_none());
}

#[test]
fn mid_rolls_over_when_no_attack_and_preconfigured_requests_are_recreated() {
    let config = quiet().with_identifiers(MID_ROLLOVER - 1, 1, 1, 1);
    let mut p = pair_with(config, TestServer::udp());
    let mut pre = scope("2001:db8:1::/48", 3600);
    pre.trigger_mitigation = Some(false);
    let pre_mid = p.a.c.request_mitigation(secs(0), &pre).unwrap();
    assert_eq!(pre_mid, MID_ROLLOVER - 1);
    let attack =
        p.a.c
            .request_mitigation(secs(0), &scope("2001:db8:2::/48", 3600))
            .unwrap();
    assert_eq!(attack, MID_ROLLOVER);
    run(&mut p, secs(1));
    // Under attack: no rollover, mids go on increasing.
    let third =
        p.a.c
            .request_mitigation(p.now, &scope("2001:db8:3::/48", 3600))
            .unwrap();
    assert_eq!(third, MID_ROLLOVER + 1);
    run(&mut p, secs(2));
    p.a.c.withdraw_mitigation(p.now, attack).unwrap();
    p.a.c.withdraw_mitigation(p.now, third).unwrap();
    run(&mut p, secs(300));
    assert_eq!(p.a.c.phase(), Phase::Idle);
    // The attack is over: reset to 0, the pre-configured request re-created from 0.
    let (at, e) = p.a.find(|e| matches!(e, CEv::MidRollover(_))).unwrap();
    assert_eq!(e, CEv::MidRollover(1));
    let m = p.a.c.mitigation(0).expect("re-created with mid 0");
    assert!(m.is_preconfigured());
    assert_eq!(m.state(), MitigationState::Active);
    assert!(p.a.c.mitigation(pre_mid).is_none());
    // Its old mid was withdrawn first, then the new one created.
    let after: Vec<_> = puts(&p).into_iter().filter(|x| x.0 >= at).collect();
    assert_eq!(after[0].1, Code::DELETE);
    assert_eq!(after[0].2, format!("mid={pre_mid}"));
    assert_eq!(after[1].1, Code::PUT);
    assert_eq!(after[1].2, "mid=0");
    assert!(after[1].0 > after[0].0);
    assert_eq!(p.b.core.mids(CUID).collect::<Vec<_>>(), vec![0]);
    assert_eq!(p.b.core.mitigation(CUID, 0).unwrap().status, S::SignalLoss);
    // The next request continues from 1.
    assert_eq!(
        p.a.c
            .request_mitigation(p.now, &scope("2001:db8:4::/48", 60))
            .unwrap(),
        1
    );
    assert_eq!(p.a.c.next_mid(), 2);
}

#[test]
fn update_replaces_the_request_under_a_new_mid() {
    let mut p = pair_with(quiet(), TestServer::udp());
    let old =
        p.a.c
            .request_mitigation(secs(0), &scope("2001:db8::/64", 3600))
            .unwrap();
    run(&mut p, secs(1));
    // The attack grows: a wider scope, a new mid, which overrides the old one.
    let new =
        p.a.c
            .update_mitigation(p.now, old, &scope("2001:db8::/48", 3600))
            .unwrap();
    assert!(new > old);
    run(&mut p, secs(2));
    assert_eq!(
        p.a.c.mitigation(new).unwrap().state(),
        MitigationState::Active
    );
    assert_eq!(p.b.core.mids(CUID).collect::<Vec<_>>(), vec![new]);
    // The old mid is withdrawn by the client as well (2.02 whatever the server had).
    assert!(p.a.events().any(|e| *e == CEv::Withdrawn(old)));
}

#[test]
fn preconfigured_requests_are_kept_alive() {
    let server = {
        let mut c = ServerConfig::default();
        c.max_lifetime = Some(120);
        TestServer::new(c, Transport::Udp)
    };
    let mut p = pair_with(quiet(), server);
    let mut pre = scope("2001:db8:1::/48", 3600);
    pre.trigger_mitigation = Some(false);
    let mid = p.a.c.request_mitigation(secs(0), &pre).unwrap();
    run(&mut p, secs(1000));
    // Refreshed every 60 s (120 s granted, refreshed half-way), never lost.
    let m = p.a.c.mitigation(mid).unwrap();
    assert_eq!(m.state(), MitigationState::Active);
    assert!(p.a.c.stats().refreshes >= 15, "{}", p.a.c.stats().refreshes);
    assert_eq!(
        p.b.core.mitigation(CUID, mid).unwrap().status,
        S::SignalLoss
    );
    assert_eq!(p.a.c.phase(), Phase::Idle);
}
