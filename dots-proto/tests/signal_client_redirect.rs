//! Redirected signaling (RFC 9132 Section 4.6): the event, the TTL, ping-pong suppression,
//! requests carried over to the alternate server, and Call Home (RFC 9066 Section 5.2.2).

mod common;
mod signal_client_support;

use std::time::Duration;

use common::{Link, Pair};
use dots_codec::cbor::CborBody;
use dots_codec::coap::Code;
use dots_codec::model::RedirectedSignal;
use dots_proto::coap::Transport;
use dots_proto::signal::client::{ClientConfig, MitigationState, RedirectTtl};
use dots_proto::time::Instant;
use signal_client_support::*;

fn run(p: &mut Pair<ClientNode, TestServer>, until: Instant) {
    p.run_until(until, |_, _, _, _| {});
    p.a.collect();
}

/// RFC 9132 Figure 26.
fn fig26(server: &str) -> Vec<u8> {
    let mut r = RedirectedSignal {
        alt_server: Some(server.try_into().unwrap()),
        ..RedirectedSignal::default()
    };
    r.alt_server_record
        .push("2001:db8:6401::1".parse().unwrap())
        .unwrap();
    r.alt_server_record
        .push("2001:db8:6401::2".parse().unwrap())
        .unwrap();
    let mut b = vec![0u8; 256];
    let n = r.encode_cbor(&mut b).unwrap();
    b.truncate(n);
    b
}

/// A server that redirects every request on `path_prefix` to `to`, with this Max-Age.
fn redirecting(path_prefix: &'static str, to: &'static str, max_age: Option<u32>) -> TestServer {
    let mut s = TestServer::udp();
    let body = fig26(to);
    s.script = Some(Box::new(move |seen| {
        seen.path_str().starts_with(path_prefix).then(|| Scripted {
            code: Code::SERVICE_UNAVAILABLE,
            payload: body.clone(),
            cbor: true,
            max_age,
        })
    }));
    s
}

fn pair(config: ClientConfig, server: TestServer) -> Pair<ClientNode, TestServer> {
    Pair::new(
        ClientNode::new(secs(0), config, 5),
        server,
        Link::perfect(),
        Link::perfect(),
    )
}

#[test]
fn redirection_is_surfaced_and_its_ttl_honoured() {
    let mut p = pair(
        ClientConfig::udp(),
        redirecting("/.well-known/dots/config", "alt-server.example", Some(600)),
    );
    run(&mut p, secs(1));
    let (at, e) = p.a.find(|e| matches!(e, CEv::Redirected { .. })).unwrap();
    assert_eq!(
        e,
        CEv::Redirected {
            alt_server: "alt-server.example".into(),
            records: vec![
                "2001:db8:6401::1".parse().unwrap(),
                "2001:db8:6401::2".parse().unwrap()
            ],
            ttl: RedirectTtl::For(Duration::from_secs(600)),
        }
    );
    // The host connects to the alternate server; the configuration is fetched there.
    p.b = TestServer::udp();
    p.a.c
        .reconnected(secs(2), "alt-server.example", Transport::Udp);
    run(&mut p, secs(3));
    assert_eq!(p.b.requests("/.well-known/dots/config").len(), 1);
    assert!(p.a.c.server_config().is_some());
    // "If the alternate DOTS server TTL has expired, the DOTS client MUST use the DOTS
    // server(s) that was provisioned": told exactly when.
    run(&mut p, secs(700));
    let (exp, _) = p.a.find(|e| *e == CEv::RedirectExpired).unwrap();
    assert_eq!(exp, at + Duration::from_secs(600));
}

#[test]
fn ping_pong_redirections_are_ignored() {
    let mut p = pair(
        ClientConfig::udp(),
        redirecting("/.well-known/dots/config", "alt-server.example", Some(3600)),
    );
    run(&mut p, secs(1));
    assert!(p.a.find(|e| matches!(e, CEv::Redirected { .. })).is_some());
    // On the alternate server, which redirects straight back: ignored, the client used
    // dots.example less than five minutes ago.
    p.b = redirecting("/.well-known/dots/config", "DOTS.example", Some(3600));
    p.a.c
        .reconnected(secs(60), "alt-server.example", Transport::Udp);
    run(&mut p, secs(61));
    assert_eq!(p.a.count(|e| matches!(e, CEv::Redirected { .. })), 1);
    assert_eq!(p.a.count(|e| *e == CEv::RedirectIgnored), 1);
    assert_eq!(p.a.c.stats().redirects_ignored, 1);
    // A redirection to the server in use is ignored too.
    p.b = redirecting("/.well-known/dots/config", "alt-server.example", Some(3600));
    p.a.c
        .reconnected(secs(62), "alt-server.example", Transport::Udp);
    run(&mut p, secs(63));
    assert_eq!(p.a.count(|e| *e == CEv::RedirectIgnored), 2);
    // More than five minutes later, the old server is acceptable again.
    p.b = redirecting("/.well-known/dots/config", "dots.example", Some(3600));
    p.a.c
        .reconnected(secs(400), "alt-server.example", Transport::Udp);
    run(&mut p, secs(401));
    assert_eq!(p.a.count(|e| matches!(e, CEv::Redirected { .. })), 2);
}

#[test]
fn a_redirected_mitigation_request_goes_to_the_alternate_server() {
    let mut config = ClientConfig::udp();
    config.fetch_config = false;
    let mut p = pair(
        config,
        redirecting(
            "/.well-known/dots/mitigate",
            "alt-server.example",
            Some(120),
        ),
    );
    let mid =
        p.a.c
            .request_mitigation(secs(0), &scope("2001:db8::/64", 3600))
            .unwrap();
    run(&mut p, secs(1));
    let (at, _) = p.a.find(|e| matches!(e, CEv::Redirected { .. })).unwrap();
    // "it considers the current request to have failed, but it SHOULD try resending the
    // request to the alternate DOTS server".
    assert_eq!(
        p.a.c.mitigation(mid).unwrap().state(),
        MitigationState::Requested
    );
    p.b = TestServer::udp();
    p.a.c
        .reconnected(secs(1), "alt-server.example", Transport::Udp);
    run(&mut p, secs(2));
    assert_eq!(
        p.a.c.mitigation(mid).unwrap().state(),
        MitigationState::Active
    );
    assert_eq!(p.b.core.mids(CUID).collect::<Vec<_>>(), vec![mid]);
    // The TTL (120 s) expires during the attack: no fallback until it is over.
    run(&mut p, secs(300));
    assert!(p.a.find(|e| *e == CEv::RedirectExpired).is_none());
    p.a.c.withdraw_mitigation(p.now, mid).unwrap();
    run(&mut p, secs(600));
    let (exp, _) = p.a.find(|e| *e == CEv::RedirectExpired).unwrap();
    assert!(exp > at + Duration::from_secs(300));
}

#[test]
fn redirection_lifetimes_of_max_age_0_and_infinite() {
    let mut p = pair(
        ClientConfig::udp(),
        redirecting("/.well-known/dots/config", "alt-server.example", Some(0)),
    );
    run(&mut p, secs(1));
    assert!(p.a.events().any(|e| matches!(
        e,
        CEv::Redirected {
            ttl: RedirectTtl::ThisRequest,
            ..
        }
    )));
    let mut p = pair(
        ClientConfig::udp(),
        redirecting(
            "/.well-known/dots/config",
            "alt-server.example",
            Some(u32::MAX),
        ),
    );
    run(&mut p, secs(1));
    assert!(p.a.events().any(|e| matches!(
        e,
        CEv::Redirected {
            ttl: RedirectTtl::Infinite,
            ..
        }
    )));
    p.b = TestServer::udp();
    p.a.c
        .reconnected(secs(1), "alt-server.example", Transport::Udp);
    run(&mut p, secs(100_000));
    assert!(p.a.find(|e| *e == CEv::RedirectExpired).is_none());
    // Without Max-Age: RFC 7252's 60 s.
    let mut p = pair(
        ClientConfig::udp(),
        redirecting("/.well-known/dots/config", "alt-server.example", None),
    );
    run(&mut p, secs(1));
    assert!(p.a.events().any(|e| matches!(
        e,
        CEv::Redirected { ttl: RedirectTtl::For(d), .. } if *d == Duration::from_secs(60)
    )));
}

#[test]
fn call_home_clients_discard_redirections() {
    let mut config = ClientConfig::udp();
    config.call_home = true;
    let mut p = pair(
        config,
        redirecting("/.well-known/dots/config", "alt-server.example", Some(600)),
    );
    run(&mut p, secs(1));
    assert!(p.a.find(|e| matches!(e, CEv::Redirected { .. })).is_none());
    assert!(p.a.c.stats().redirects_ignored >= 1);
    // The Call Home client's own redirection of its server (RFC 9066 Figure 9).
    p.b = TestServer::udp();
    p.b.script = Some(Box::new(|seen| {
        (seen.path_str().starts_with("/.well-known/dots/redirect/")).then(|| Scripted {
            code: Code::CREATED,
            payload: Vec::new(),
            cbor: false,
            max_age: None,
        })
    }));
    p.a.c
        .reconnected(secs(2), "home-router.example", Transport::Udp);
    let mut r = RedirectedSignal {
        alt_ch_client: Some("alt-call-home-client.example".try_into().unwrap()),
        ttl: Some(600),
        ..RedirectedSignal::default()
    };
    r.alt_ch_client_record
        .push("2001:db8:6401::1".parse().unwrap())
        .unwrap();
    p.a.c.redirect_call_home(secs(2), &r).unwrap();
    run(&mut p, secs(3));
    let seen = p.b.requests("/.well-known/dots/redirect");
    assert_eq!(seen.len(), 1);
    // RFC 9066 Figure 9: the cuid in the Uri-Path.
    assert_eq!(
        seen[0].path_str(),
        format!("/.well-known/dots/redirect/cuid={CUID}")
    );
    assert_eq!(seen[0].confirmable, Some(false));
    assert_eq!(RedirectedSignal::decode_cbor(&seen[0].payload).unwrap(), r);
    assert!(p.a.events().any(|e| matches!(
        e,
        CEv::Response(
            dots_proto::signal::client::Operation::CallHomeRedirect,
            Code::CREATED,
            _
        )
    )));
    // The base-channel form is refused for Call Home.
    let base = RedirectedSignal {
        alt_server: Some("x.example".try_into().unwrap()),
        ..RedirectedSignal::default()
    };
    assert!(p.a.c.redirect_call_home(secs(3), &base).is_err());
}
