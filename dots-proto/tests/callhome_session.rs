//! RFC 9066 Call Home end to end: a Call Home DOTS client
//! ([`SignalClient`](dots_proto::signal::client::SignalClient) with `call_home`) and a Call
//! Home DOTS server ([`ServerSession`](dots_proto::signal::session::ServerSession) over a core
//! with `call_home`) on the virtual clock.
//!
//! - The reversed transport: the Call Home DOTS server opens the TCP/TLS connection and speaks
//!   first (its CSM); the client, which accepted the connection, then runs the usual DOTS
//!   client role over it (requests from the client, answers and heartbeats from the server).
//! - The `ch-*` vectors: ch-mitigation-put-01 (Figure 10), ch-neg-trigger-false-01 and
//!   ch-redirect-put-01 (Figure 9), and the attribute checks: `source-prefix` of another
//!   address family (4.00), accept-listed sources (4.09, `conflict-cause` 2).

mod common;
mod signal_client_support;
mod signal_server_support;
mod telemetry_support;

use std::time::Duration;

use dots_codec::cbor::CborBody;
use dots_codec::coap::{Code, Frame};
use dots_codec::model::{
    ConflictCause, MitigationScope, RedirectedSignal, Scope, SignalMessage, ValidationError,
};
use dots_proto::coap::Transport;
use dots_proto::data::PeerIdentity;
use dots_proto::signal::client::{ClientConfig, CommandError, Operation};
use dots_proto::signal::server::{ServerConfig, ServerEvent, SourceVerdict};
use dots_proto::signal::session::SessionConfig;
use dots_proto::time::Instant;
use signal_client_support::{CEv, CUID};
use signal_server_support::cbor;
use telemetry_support::*;

/// RFC 9066 Figure 10 (ch-mitigation-put-01).
const FIG10: &str = r#"{"ietf-dots-signal-channel:mitigation-scope": {"scope": [{
    "target-prefix": ["2001:db8:c000::/128"],
    "ietf-dots-call-home:source-prefix": ["2001:db8:123::1/128"], "lifetime": 3600}]}}"#;

/// ch-neg-trigger-false-01: Figure 10 with `trigger-mitigation` false.
const TRIGGER_FALSE: &str = r#"{"ietf-dots-signal-channel:mitigation-scope": {"scope": [{
    "target-prefix": ["2001:db8:c000::/128"],
    "ietf-dots-call-home:source-prefix": ["2001:db8:123::1/128"], "lifetime": 3600,
    "trigger-mitigation": false}]}}"#;

/// RFC 9066 Figure 9 (ch-redirect-put-01), with the closing brace the printed figure lacks.
const FIG9: &str = r#"{"ietf-dots-signal-channel:redirected-signal": {
    "ietf-dots-call-home:alt-ch-client": "alt-call-home-client.example",
    "ietf-dots-call-home:alt-ch-client-record": ["2001:db8:6401::1", "2001:db8:6401::2"],
    "ietf-dots-call-home:ttl": 600}}"#;

fn mit_uri(mid: u32) -> String {
    format!("/.well-known/dots/mitigate/cuid={CUID}/mid={mid}")
}

fn scope(s: &str) -> Scope {
    MitigationScope::decode_cbor(&cbor(s)).unwrap().scopes[0]
        .scope
        .clone()
}

fn call_home_client(transport: Transport) -> ClientConfig {
    let mut c = match transport {
        Transport::Udp => ClientConfig::udp(),
        Transport::Tcp => ClientConfig::tcp(),
    }
    .with_identifiers(56, 1, 1, 1);
    c.call_home = true;
    c
}

fn call_home_server() -> ServerConfig {
    let mut s = server_config();
    s.call_home = true;
    s
}

/// Runs until the client logs an event `f` accepts after `from` (at most 10 s).
fn wait_for(p: &mut Net, from: usize, f: impl Fn(&CEv) -> bool) -> CEv {
    let until = p.now + Duration::from_secs(10);
    loop {
        p.a.collect();
        if let Some((_, e)) = p.a.log[from..].iter().find(|(_, e)| f(e)) {
            return e.clone();
        }
        assert!(p.step(until), "no such event; log: {:#?}", &p.a.log[from..]);
    }
}

/// The client requests a mitigation; its first answer.
fn request(p: &mut Net, s: &Scope) -> (u32, CEv) {
    let from = p.a.log.len();
    let now = p.now;
    let mid = p.a.cmd(|c| c.request_mitigation(now, s)).unwrap();
    let e = wait_for(p, from, |e| {
        matches!(e, CEv::Accepted { mid: m, .. } | CEv::Rejected { mid: m, .. }
            | CEv::Conflict { mid: m, .. } if *m == mid)
    });
    (mid, e)
}

fn server_events(p: &mut Net) -> Vec<ServerEvent> {
    let e = p.b.server_events();
    p.b.events.clear();
    e
}

#[test]
fn the_call_home_server_dials_then_the_usual_roles_run() {
    // TCP/TLS: the Call Home DOTS server connects (Section 5.1) and, the connection up, sends
    // its CSM first; the Call Home DOTS client accepted the connection.
    let mut p = net_with(
        call_home_client(Transport::Tcp),
        call_home_server(),
        SessionConfig::default(),
        common::Link::perfect(),
        common::Link::perfect(),
    );
    let identity = PeerIdentity {
        cuid: CUID,
        trusted_gateway: false,
    };
    let t0 = Instant::ZERO;
    // The host's connect completed: the server session learns of the peer before any byte
    // arrives from it.
    p.b.s.handle_stream_bytes(t0, CLIENT_KEY, &identity, &[]);
    assert_eq!(p.b.s.peer_count(), 1);
    let mut buf = vec![0u8; 4096];
    let mut first = Vec::new();
    while let Some(t) = p.b.s.poll_transmit(t0, &mut buf).unwrap() {
        first.push(buf[..t.len].to_vec());
    }
    assert!(!first.is_empty(), "the dialling side speaks first");
    let csm = Frame::parse(&first[0]).unwrap();
    assert_eq!(csm.code(), Code::CSM, "RFC 8323 Section 5.3: CSM first");
    // The bytes reach the client (the TLS server of this connection) before it sent anything.
    assert_eq!(p.sent_by(common::Side::A).count(), 0);
    for b in &first {
        common::Node::handle_bytes(&mut p.a, t0, b);
    }
    // From here on the DOTS roles of RFC 9132: the client requests (ch-mitigation-put-01).
    let (mid, e) = request(&mut p, &scope(FIG10));
    assert_eq!(mid, 56);
    assert!(
        matches!(
            e,
            CEv::Accepted {
                code: Code::CREATED,
                ..
            }
        ),
        "{e:?}"
    );
    let e = server_events(&mut p);
    let Some(ServerEvent::MitigationRequested { scope: s, .. }) = e
        .iter()
        .find(|e| matches!(e, ServerEvent::MitigationRequested { mid: 56, .. }))
    else {
        panic!("{e:?}")
    };
    assert_eq!(s.call_home, scope(FIG10).call_home, "the sources stored");
    // The server's heartbeats go to the client over the same connection (over TCP: every
    // heartbeat-interval), the client answers, and the session stays up.
    p.a.c.set_attack(p.now, false);
    run_for(&mut p, Duration::from_secs(95));
    let server_hbs =
        p.b.sent
            .iter()
            .filter(|(_, b)| {
                Frame::parse(b).is_ok_and(|f| {
                    f.code() == Code::PUT && f.options().uri_path_is(&[".well-known", "dots", "hb"])
                })
            })
            .count();
    assert!(server_hbs >= 3, "{server_hbs} server heartbeats");
    assert!(p.a.c.is_connected());
    assert!(p.b.events.iter().all(|(_, e)| !matches!(
        e,
        dots_proto::signal::session::SessionEvent::PeerLost { .. }
    )));
    // A GET of the mitigation returns the sources (RFC 9066 Section 5.3.1).
    assert_eq!(
        p.b.s
            .server()
            .mitigation(CUID, 56)
            .unwrap()
            .scope
            .call_home
            .source_prefixes
            .len(),
        1
    );
    p.b.s.check_invariants().unwrap();
}

#[test]
fn ch_mitigation_put_01_over_udp() {
    let mut p = net(call_home_client(Transport::Udp), call_home_server());
    let (mid, e) = request(&mut p, &scope(FIG10));
    assert_eq!(mid, 56);
    assert!(
        matches!(
            e,
            CEv::Accepted {
                code: Code::CREATED,
                ..
            }
        ),
        "{e:?}"
    );
    // The host was asked about the sources before admitting the request.
    assert_eq!(
        p.b.hooks().log[..2],
        [
            format!("sources {CUID}"),
            format!("admit {CUID} 56 cdid=None")
        ]
    );
    // The request on the wire is Figure 10.
    let put = p
        .sent_by(common::Side::A)
        .filter_map(|s| {
            let m = dots_codec::coap::Message::parse(&s.bytes).ok()?;
            (m.code() == Code::PUT).then(|| m.payload().to_vec())
        })
        .next()
        .unwrap();
    assert_eq!(
        MitigationScope::decode_cbor(&put).unwrap(),
        MitigationScope::decode_cbor(&cbor(FIG10)).unwrap()
    );
}

#[test]
fn ch_neg_trigger_false_01() {
    let mut p = net(call_home_client(Transport::Udp), call_home_server());
    // "Call Home DOTS clients MUST NOT send requests with 'trigger-mitigation' set to
    // 'false'": the client API refuses to build it, so the vector goes raw (auxiliary
    // endpoint of the same client): 4.00.
    let now = p.now;
    let s = scope(TRIGGER_FALSE);
    assert_eq!(
        p.a.cmd(|c| c.request_mitigation(now, &s)),
        Err(CommandError::Invalid(ValidationError::CallHomeTriggerFalse))
    );
    let r = raw(
        &mut p,
        Code::PUT,
        &mit_uri(56),
        &[],
        &cbor(TRIGGER_FALSE),
        false,
        false,
    )
    .unwrap();
    assert_eq!(r.code, Code::BAD_REQUEST);
    assert_eq!(p.b.s.server().mitigation_count(), 0);
}

#[test]
fn sources_of_another_address_family_are_4_00() {
    // RFC 9066 Section 5.3.1: a source-prefix whose family matches no target-prefix: 4.00.
    let body = FIG10.replace("2001:db8:123::1/128", "192.0.2.1/32");
    let mut p = net(call_home_client(Transport::Udp), call_home_server());
    // The client checks it itself; the request goes raw.
    let now = p.now;
    let s = scope(&body);
    assert_eq!(
        p.a.cmd(|c| c.request_mitigation(now, &s)),
        Err(CommandError::Invalid(
            ValidationError::AddressFamilyMismatch {
                field: "source-prefix"
            }
        ))
    );
    let r = raw(
        &mut p,
        Code::PUT,
        &mit_uri(56),
        &[],
        &cbor(&body),
        false,
        false,
    )
    .unwrap();
    assert_eq!(r.code, Code::BAD_REQUEST);
    assert_eq!(p.b.s.server().mitigation_count(), 0);
}

#[test]
fn accept_listed_sources_are_4_09_conflict_cause_2() {
    let mut p = net(call_home_client(Transport::Udp), call_home_server());
    // The data channel's accept-list (through the hooks) covers the attack source.
    p.b.hooks().sources = SourceVerdict::AcceptListed {
        acls: vec![("partners".into(), Some("ipv6-acl-type".into()))],
    };
    let (mid, e) = request(&mut p, &scope(FIG10));
    let CEv::Conflict { information, .. } = e else {
        panic!("{e:?}")
    };
    assert_eq!(
        information.conflict_cause,
        Some(ConflictCause::ConflictWithAcceptlist)
    );
    let acls: Vec<String> = information
        .conflict_scope
        .as_ref()
        .unwrap()
        .acl_list()
        .map(|a| a.name.to_string())
        .collect();
    assert_eq!(acls, ["partners"]);
    assert_eq!(p.b.s.server().mitigation_count(), 0);
    assert!(p.a.c.conflict(mid).is_some());
}

#[test]
fn ch_redirect_put_01() {
    let mut p = net(call_home_client(Transport::Udp), call_home_server());
    let SignalMessage::RedirectedSignal(r) = dots_codec::json::from_str(FIG9).unwrap() else {
        panic!()
    };
    // Through the client API: PUT /redirect, 2.01, and the redirection for the host.
    let from = p.a.log.len();
    let now = p.now;
    p.a.cmd(|c| c.redirect_call_home(now, &r)).unwrap();
    let e = wait_for(&mut p, from, |e| {
        matches!(e, CEv::Response(Operation::CallHomeRedirect, ..))
    });
    assert!(matches!(e, CEv::Response(_, Code::CREATED, _)), "{e:?}");
    let ev = server_events(&mut p);
    let Some(ServerEvent::CallHomeRedirect { cuid, redirect }) = ev
        .iter()
        .find(|e| matches!(e, ServerEvent::CallHomeRedirect { .. }))
    else {
        panic!("{ev:?}")
    };
    assert_eq!(&**cuid, CUID);
    assert_eq!(**redirect, r);
    // The vector's exact Uri-Path (with cuid and mid), raw: 2.01 as well.
    let r2 = raw(
        &mut p,
        Code::PUT,
        &format!("/.well-known/dots/redirect/cuid={CUID}/mid=123"),
        &[],
        &cbor(FIG9),
        false,
        false,
    )
    .unwrap();
    assert_eq!(r2.code, Code::CREATED);
    // A base-channel redirection (alt-server) cannot be serviced: 4.00 (Section 5.2.2).
    let now = p.now;
    let base = RedirectedSignal {
        alt_server: Some("x.example".try_into().unwrap()),
        ..RedirectedSignal::default()
    };
    assert!(p.a.cmd(|c| c.redirect_call_home(now, &base)).is_err());
    let r3 = raw(
        &mut p,
        Code::PUT,
        &format!("/.well-known/dots/redirect/cuid={CUID}/mid=123"),
        &[],
        &cbor(r#"{"ietf-dots-signal-channel:redirected-signal": {"alt-server": "x.example"}}"#),
        false,
        false,
    )
    .unwrap();
    assert_eq!(r3.code, Code::BAD_REQUEST);
}
