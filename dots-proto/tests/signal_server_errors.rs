//! One test per error answer the RFC requires, each asserting that nothing changed (the
//! snapshot of the state, and no event), and the quotas with their answers.

mod signal_server_support;

use dots_codec::coap::{Code, ContentFormat};
use dots_codec::model::{ActivationType, MitigationStatus as S};
use dots_proto::signal::server::{ObserveAction, ServerConfig, MIN_RESPONSE_BUFFER};
use signal_server_support::*;

/// A server with some state: two clients, a configuration, an active and a preconfigured
/// request, an observer.
fn populated() -> Harness {
    let mut config = ServerConfig::default();
    config.quotas.max_mitigations = 3;
    config.quotas.max_clients = 3;
    config.quotas.max_observers = 1;
    let mut h = Harness::with_config(config);
    h.s.hooks_mut()
        .acls
        .insert((CUID.into(), "an-accept-list".into()));
    assert_eq!(h.put_json(CUID, 123, FIG7).code(), Code::CREATED);
    let pre = scope_json(&["192.0.2.0/24"], 3600, r#""trigger-mitigation": false"#);
    assert_eq!(h.put_json(CUID, 200, &pre).code(), Code::CREATED);
    assert_eq!(
        h.put(CUID2, 5, &["198.51.100.0/24"], 3600).code(),
        Code::CREATED
    );
    h.send(
        CUID,
        Code::PUT,
        "/.well-known/dots/config/sid=10",
        &cbor(FIG23),
        &Opts::default(),
    );
    assert!(matches!(
        h.observe(CUID, Some(123)).observe,
        Some(ObserveAction::Registered { .. })
    ));
    h.events();
    h.check();
    h
}

/// Sends and checks the code and that nothing changed.
fn unchanged(h: &mut Harness, code: Code, send: impl FnOnce(&mut Harness) -> Reply) -> Reply {
    h.events();
    h.notifications();
    let before = h.s.snapshot(h.now);
    let observers: Vec<_> = h.s.observations(CUID).collect();
    let r = send(h);
    assert_eq!(r.code, Some(code), "{:?}", String::from_utf8_lossy(&r.body));
    assert_eq!(h.s.snapshot(h.now), before, "state changed");
    assert_eq!(h.s.observations(CUID).collect::<Vec<_>>(), observers);
    assert!(h.events().is_empty(), "no event");
    assert!(h.notifications().is_empty(), "no notification");
    h.check();
    r
}

fn put_raw(h: &mut Harness, uri: &str, body: &[u8]) -> Reply {
    h.send(CUID, Code::PUT, uri, body, &Opts::default())
}

#[test]
fn bad_request_path_errors() {
    let mut h = populated();
    for uri in [
        "/.well-known/dots/mitigate/mid=1/cuid=dz6pHjaADkaFTbjr0JGBpw",
        "/.well-known/dots/mitigate/cuid=",
        "/.well-known/dots/mitigate/cuid=dz6pHjaADkaFTbjr0JGBpw/mid=",
        "/.well-known/dots/mitigate/cuid=dz6pHjaADkaFTbjr0JGBpw/mid=x",
        "/.well-known/dots/mitigate/cuid=dz6pHjaADkaFTbjr0JGBpw/mid=1/extra=1",
        "/.well-known/dots/config/cuid=dz6pHjaADkaFTbjr0JGBpw/sid=1",
    ] {
        let body = cbor(FIG7);
        let r = unchanged(&mut h, Code::BAD_REQUEST, |h| put_raw(h, uri, &body));
        assert!(
            r.content_format.is_none() && !r.body.is_empty(),
            "{uri}: diagnostic"
        );
    }
    // PUT and DELETE need a mid.
    let uri = mitigate_uri(CUID, None);
    unchanged(&mut h, Code::BAD_REQUEST, |h| put_raw(h, &uri, &cbor(FIG7)));
    unchanged(&mut h, Code::BAD_REQUEST, |h| {
        h.send(CUID, Code::DELETE, &uri, &[], &Opts::default())
    });
    // A bad Uri-Query.
    unchanged(&mut h, Code::BAD_REQUEST, |h| {
        h.send(
            CUID,
            Code::GET,
            &uri,
            &[],
            &Opts {
                query: &["c=x"],
                ..Opts::default()
            },
        )
    });
}

#[test]
fn bad_request_body_errors() {
    let mut h = populated();
    let uri = mitigate_uri(CUID, Some(300));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("not CBOR", vec![0xff, 0x00]),
        ("trailing bytes", [hex(FIG8_HEX), vec![0]].concat()),
        ("a heartbeat on /mitigate", cbor(FIG27)),
        ("lifetime 0", cbor(&scope_json(&["203.0.113.0/24"], 0, ""))),
        ("loopback", cbor(&scope_json(&["127.0.0.1/32"], 3600, ""))),
        (
            "status in a request",
            cbor(&scope_json(
                &["203.0.113.0/24"],
                3600,
                r#""status": "attack-stopped""#,
            )),
        ),
        (
            "two scopes",
            cbor(
                r#"{"ietf-dots-signal-channel:mitigation-scope": {"scope": [
            {"target-prefix": ["203.0.113.0/24"], "lifetime": 3600},
            {"target-prefix": ["203.0.113.0/24"], "lifetime": 3600}]}}"#,
            ),
        ),
    ];
    for (what, body) in cases {
        let r = unchanged(&mut h, Code::BAD_REQUEST, |h| put_raw(h, &uri, &body));
        assert!(!r.body.is_empty(), "{what}: diagnostic");
    }
}

#[test]
fn bad_request_state_errors() {
    let mut h = populated();
    // Refresh with changed parameters.
    let changed = FIG7.replace("[6]", "[17]");
    unchanged(&mut h, Code::BAD_REQUEST, |h| {
        h.put_json(CUID, 123, &changed)
    });
    // An alias the client did not create.
    let alias = r#"{"ietf-dots-signal-channel:mitigation-scope": {"scope": [{"alias-name": ["nope"], "lifetime": 3600}]}}"#;
    unchanged(&mut h, Code::BAD_REQUEST, |h| h.put_json(CUID, 300, alias));
    // A target outside the client's domain.
    h.s.hooks_mut().forbidden_prefix = Some("203.0.113.0/24".parse().unwrap());
    unchanged(&mut h, Code::BAD_REQUEST, |h| {
        h.put(CUID, 300, &["203.0.113.1/32"], 3600)
    });
    h.s.hooks_mut().forbidden_prefix = None;
    // A lower sid.
    unchanged(&mut h, Code::BAD_REQUEST, |h| {
        h.send(
            CUID,
            Code::PUT,
            "/.well-known/dots/config/sid=9",
            &cbor(FIG23),
            &Opts::default(),
        )
    });
    // A config PUT without sid, or with an empty body, or with a server-only member.
    unchanged(&mut h, Code::BAD_REQUEST, |h| {
        h.send(
            CUID,
            Code::PUT,
            "/.well-known/dots/config",
            &cbor(FIG23),
            &Opts::default(),
        )
    });
    let empty = r#"{"ietf-dots-signal-channel:signal-config": {}}"#;
    unchanged(&mut h, Code::BAD_REQUEST, |h| {
        h.send(
            CUID,
            Code::PUT,
            "/.well-known/dots/config/sid=11",
            &cbor(empty),
            &Opts::default(),
        )
    });
    let minmax = r#"{"ietf-dots-signal-channel:signal-config": {"idle-config": {"heartbeat-interval": {"max-value": 10, "current-value": 5}}}}"#;
    unchanged(&mut h, Code::BAD_REQUEST, |h| {
        h.send(
            CUID,
            Code::PUT,
            "/.well-known/dots/config/sid=11",
            &cbor(minmax),
            &Opts::default(),
        )
    });
}

#[test]
fn acl_list_errors() {
    // RFC 9133 Section 3.2.1: idle time → 4.00; unknown ACL → 4.04; failure → 5.03 with the
    // failed entries in the body.
    let acl = |name: &str| {
        scope_json(
            &["2001:db8:6401::2/127"],
            3600,
            &format!(
                r#""ietf-dots-signal-control:acl-list": [{{"acl-name": "{name}", "activation-type": "deactivate"}}]"#
            ),
        )
    };
    let idle = |name: &str| {
        scope_json(
            &["2001:db8:6401::2/127"],
            3600,
            &format!(
                r#""trigger-mitigation": false, "ietf-dots-signal-control:acl-list": [{{"acl-name": "{name}", "activation-type": "deactivate"}}]"#
            ),
        )
    };
    let mut h = populated();
    // A pre-configured request while the client mitigates nothing is idle time: 4.00.
    unchanged(&mut h, Code::BAD_REQUEST, |h| {
        h.put_json(CUID3, 6, &idle("an-accept-list"))
    });
    // A request that triggers a mitigation is attack time by itself (RFC 9133 Section 4.2,
    // Figure 8), so the ACL is looked up: unknown, 4.04.
    unchanged(&mut h, Code::NOT_FOUND, |h| h.put_json(CUID3, 6, &acl("x")));
    // CUID2 is mitigating, so its unknown ACL is 4.04.
    unchanged(&mut h, Code::NOT_FOUND, |h| h.put_json(CUID2, 6, &acl("x")));
    unchanged(&mut h, Code::NOT_FOUND, |h| {
        h.put_json(CUID, 124, &acl("unknown-acl"))
    });
    h.s.hooks_mut().acl_failure = true;
    let r = unchanged(&mut h, Code::SERVICE_UNAVAILABLE, |h| {
        h.put_json(CUID, 124, &acl("an-accept-list"))
    });
    assert_eq!(r.content_format, Some(ContentFormat::DOTS_CBOR));
    assert_eq!(r.max_age, Some(60));
    let e = r.scopes().scopes[0].clone();
    assert_eq!(e.mid, Some(124));
    let acls: Vec<_> = e
        .scope
        .acl_list()
        .map(|a| (a.name.to_string(), a.activation_type))
        .collect();
    assert_eq!(
        acls,
        vec![(
            "an-accept-list".to_string(),
            Some(ActivationType::Deactivate)
        )]
    );
    // Applied while mitigating: 2.01, and the host applied it.
    h.s.hooks_mut().acl_failure = false;
    assert_eq!(
        h.put_json(CUID, 124, &acl("an-accept-list")).code(),
        Code::CREATED
    );
    assert!(h
        .s
        .hooks()
        .log
        .contains(&format!("acl {CUID} an-accept-list")));
}

#[test]
fn not_found_errors() {
    let mut h = populated();
    unchanged(&mut h, Code::NOT_FOUND, |h| h.get(CUID, Some(999)));
    unchanged(&mut h, Code::NOT_FOUND, |h| h.get(CUID3, None));
    unchanged(&mut h, Code::NOT_FOUND, |h| {
        h.send(
            CUID,
            Code::GET,
            "/.well-known/dots/config/sid=11",
            &[],
            &Opts::default(),
        )
    });
    unchanged(&mut h, Code::NOT_FOUND, |h| {
        h.send(
            CUID,
            Code::GET,
            "/.well-known/dots/other",
            &[],
            &Opts::default(),
        )
    });
    unchanged(&mut h, Code::NOT_FOUND, |h| {
        h.send(
            CUID,
            Code::GET,
            "/dots/mitigate/cuid=x",
            &[],
            &Opts::default(),
        )
    });
    unchanged(&mut h, Code::NOT_FOUND, |h| {
        // RFC 9066 redirection: a resource of Call Home DOTS servers only.
        h.send(
            CUID,
            Code::PUT,
            "/.well-known/dots/redirect/cuid=x/mid=1",
            &[],
            &Opts::default(),
        )
    });
    // Observe on an unknown mid registers nothing.
    unchanged(&mut h, Code::NOT_FOUND, |h| h.observe(CUID, Some(999)));
}

#[test]
fn method_and_format_errors() {
    let mut h = populated();
    unchanged(&mut h, Code::METHOD_NOT_ALLOWED, |h| {
        h.send(
            CUID,
            Code::POST,
            &mitigate_uri(CUID, Some(1)),
            &cbor(FIG7),
            &Opts::default(),
        )
    });
    unchanged(&mut h, Code::METHOD_NOT_ALLOWED, |h| {
        h.send(
            CUID,
            Code::GET,
            "/.well-known/dots/hb",
            &[],
            &Opts::default(),
        )
    });
    unchanged(&mut h, Code::UNSUPPORTED_CONTENT_FORMAT, |h| {
        h.send(
            CUID,
            Code::PUT,
            &mitigate_uri(CUID, Some(300)),
            &cbor(FIG7),
            &Opts {
                cf: Some(ContentFormat::CBOR),
                ..Opts::default()
            },
        )
    });
    unchanged(&mut h, Code::UNSUPPORTED_CONTENT_FORMAT, |h| {
        h.send(
            CUID,
            Code::PUT,
            "/.well-known/dots/config/sid=11",
            FIG23.as_bytes(),
            &Opts {
                cf: Some(ContentFormat::JSON),
                ..Opts::default()
            },
        )
    });
    unchanged(&mut h, Code::UNSUPPORTED_CONTENT_FORMAT, |h| {
        h.send(
            CUID,
            Code::PUT,
            "/.well-known/dots/hb",
            &cbor(FIG27),
            &Opts {
                cf: Some(ContentFormat::TEXT_PLAIN),
                ..Opts::default()
            },
        )
    });
    // Accept other than dots+cbor.
    let segs = ["\x2ewell-known", "dots", "config"];
    let mut req = dots_proto::signal::server::Request::new(Code::GET, &segs);
    req.accept = Some(ContentFormat::JSON);
    let before = h.s.snapshot(h.now);
    let mut buf = vec![0u8; MIN_RESPONSE_BUFFER];
    let r =
        h.s.handle_request(
            h.now,
            &dots_proto::data::PeerIdentity::client(CUID),
            &req,
            &mut buf,
        )
        .unwrap();
    assert_eq!(r.response().unwrap().code, Code::NOT_ACCEPTABLE);
    assert_eq!(h.s.snapshot(h.now), before);
}

#[test]
fn conflict_errors() {
    let mut h = populated();
    // Overlap with a higher mid.
    let r = unchanged(&mut h, Code::CONFLICT, |h| h.put_json(CUID, 100, FIG7));
    assert_eq!(r.content_format, Some(ContentFormat::DOTS_CBOR));
    // cuid collision, on /mitigate and on GET.
    unchanged(&mut h, Code::CONFLICT, |h| {
        h.send(
            "someone-else",
            Code::PUT,
            &mitigate_uri(CUID, Some(400)),
            &cbor(FIG7),
            &Opts::default(),
        )
    });
    unchanged(&mut h, Code::CONFLICT, |h| {
        h.send(
            "someone-else",
            Code::GET,
            &mitigate_uri(CUID, None),
            &[],
            &Opts::default(),
        )
    });
    // A gateway may not act on a cuid a client owns directly, and vice versa.
    unchanged(&mut h, Code::CONFLICT, |h| {
        h.send(
            "gw",
            Code::GET,
            &mitigate_uri(CUID, None),
            &[],
            &Opts {
                gateway: true,
                ..Opts::default()
            },
        )
    });
}

#[test]
fn entity_too_large() {
    let mut h = populated();
    let many: Vec<String> = (0..9).map(|i| format!("203.0.113.{i}/32")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    // Nine prefixes exceed the model's limit of eight per scope: 4.13, the client can split.
    let json = scope_json(&many, 3600, "");
    let body = {
        let mut b = cbor(&scope_json(&many[..8], 3600, ""));
        // Patch the prefix array: append a ninth item (array(8) -> array(9)).
        let at = b.iter().position(|&x| x == 0x88).unwrap();
        b[at] = 0x89;
        let item = cbor_text("203.0.113.9/32");
        let end = at + 1 + (0..8).map(|i| cbor_text(many[i]).len()).sum::<usize>();
        b.splice(end..end, item);
        b
    };
    let _ = json;
    unchanged(&mut h, Code::REQUEST_ENTITY_TOO_LARGE, |h| {
        put_raw(h, &mitigate_uri(CUID, Some(300)), &body)
    });
}

fn cbor_text(s: &str) -> Vec<u8> {
    let mut v = vec![0x60 | s.len() as u8];
    v.extend_from_slice(s.as_bytes());
    v
}

#[test]
fn unprocessable_configuration() {
    let mut h = populated();
    let body = FIG23.replacen(
        r#""missing-hb-allowed": {"current-value": 15}"#,
        r#""missing-hb-allowed": {"current-value": 99}"#,
        1,
    );
    unchanged(&mut h, Code::UNPROCESSABLE_ENTITY, |h| {
        h.send(
            CUID,
            Code::PUT,
            "/.well-known/dots/config/sid=11",
            &cbor(&body),
            &Opts::default(),
        )
    });
}

#[test]
fn quota_mitigations_503_with_max_age() {
    let mut h = populated();
    // CUID holds 2 of 3: one more fits, the fourth does not.
    assert_eq!(
        h.put(CUID, 300, &["203.0.113.0/24"], 3600).code(),
        Code::CREATED
    );
    let r = unchanged(&mut h, Code::SERVICE_UNAVAILABLE, |h| {
        h.put(CUID, 301, &["203.0.114.0/24"], 3600)
    });
    assert_eq!(r.max_age, Some(60));
    // A replacement does not need room.
    assert_eq!(
        h.put(CUID, 302, &["203.0.113.0/24"], 3600).code(),
        Code::CREATED
    );
    // Nor does a refresh.
    assert_eq!(
        h.put(CUID, 302, &["203.0.113.0/24"], 3600).code(),
        Code::CHANGED
    );
}

#[test]
fn quota_clients_503() {
    let mut h = populated();
    // Two clients plus... the third client slot is free; the fourth is not.
    assert_eq!(
        h.put(CUID3, 1, &["203.0.113.0/24"], 3600).code(),
        Code::CREATED
    );
    unchanged(&mut h, Code::SERVICE_UNAVAILABLE, |h| {
        h.put("fourth", 1, &["203.0.114.0/24"], 3600)
    });
}

#[test]
fn quota_observers_refused_without_observe() {
    let mut h = populated();
    // RFC 7641 Section 4.1: the GET is answered, without registering an observer.
    let r = unchanged(&mut h, Code::CONTENT, |h| h.observe(CUID, None));
    assert!(matches!(r.observe, Some(ObserveAction::Refused { .. })));
    // Re-registering an existing observation is fine.
    let r = h.observe(CUID, Some(123));
    assert!(matches!(r.observe, Some(ObserveAction::Registered { .. })));
    // Cancelling frees the slot.
    h.s.cancel_observation(
        CUID,
        dots_proto::signal::server::ObserveTarget::Mitigation(123),
    );
    let r = h.observe(CUID, None);
    assert!(matches!(r.observe, Some(ObserveAction::Registered { .. })));
    h.check();
}

#[test]
fn rate_limit_429_with_max_age() {
    let mut config = ServerConfig::default();
    config.quotas.rate = Some(dots_proto::signal::server::RateLimit {
        burst: 3,
        per_second: 1,
    });
    let mut h = Harness::with_config(config);
    assert_eq!(
        h.put(CUID, 1, &["203.0.113.0/24"], 3600).code(),
        Code::CREATED
    );
    for _ in 0..3 {
        assert_eq!(h.get(CUID, None).code(), Code::CONTENT);
    }
    let r = unchanged(&mut h, Code::TOO_MANY_REQUESTS, |h| h.get(CUID, None));
    assert_eq!(r.max_age, Some(1));
    // Heartbeats are never limited.
    assert_eq!(
        h.send(
            CUID,
            Code::PUT,
            "/.well-known/dots/hb",
            &cbor(FIG27),
            &Opts::default()
        )
        .code(),
        Code::CHANGED
    );
    h.advance_ms(1000);
    assert_eq!(h.get(CUID, None).code(), Code::CONTENT);
    assert_eq!(h.s.stats().rate_limited, 1);
}

#[test]
fn host_refusal_503() {
    let mut h = populated();
    h.s.hooks_mut().refuse = true;
    let r = unchanged(&mut h, Code::SERVICE_UNAVAILABLE, |h| {
        h.put(CUID3, 1, &["203.0.113.0/24"], 3600)
    });
    assert_eq!(r.max_age, Some(30));
    // An efficacy update too (RFC 9132 Section 4.4.3: 5.03 with Max-Age).
    unchanged(&mut h, Code::SERVICE_UNAVAILABLE, |h| {
        h.send(
            CUID,
            Code::PUT,
            &mitigate_uri(CUID, Some(123)),
            &cbor(FIG16),
            &Opts {
                if_match: true,
                ..Opts::default()
            },
        )
    });
    assert_eq!(h.status(CUID, 123), Some(S::InProgress));
}

#[test]
fn small_buffers_are_refused_before_processing() {
    let mut h = populated();
    let segs = path(&mitigate_uri(CUID, None));
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let req = dots_proto::signal::server::Request::new(Code::GET, &segs);
    let mut small = vec![0u8; 100];
    let e =
        h.s.handle_request(
            h.now,
            &dots_proto::data::PeerIdentity::client(CUID),
            &req,
            &mut small,
        )
        .unwrap_err();
    assert_eq!(e.needed, MIN_RESPONSE_BUFFER);
}

#[test]
fn acl_list_in_the_request_that_starts_the_attack_time() {
    // RFC 9133 Section 4.2, Figure 8: a client with no mitigation asks for one with its
    // accept-list ACL; "The DOTS server activates the "my-accept-list" ACL and replies with a
    // 2.01 (Created)".
    let mut h = Harness::with_config(ServerConfig::default());
    h.s.hooks_mut()
        .acls
        .insert((CUID3.into(), "my-accept-list".into()));
    let body = scope_json(
        &["2001:db8:6401::2/127"],
        3600,
        r#""target-protocol": [17], "ietf-dots-signal-control:acl-list": [{"acl-name": "my-accept-list", "activation-type": "immediate"}]"#,
    );
    assert_eq!(h.put_json(CUID3, 4879, &body).code(), Code::CREATED);
    assert!(h
        .s
        .hooks_mut()
        .log
        .iter()
        .any(|l| *l == format!("acl {CUID3} my-accept-list")));
}
