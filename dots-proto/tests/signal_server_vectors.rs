//! Every RFC 9132 `sig-*` request vector through the server core, after the setups it
//! presupposes, with the response code and details the RFC requires. The vectors are restated
//! here: method, Uri-Path, options and body (RFC 7951 JSON as printed, sent as CBOR).

mod signal_server_support;

use dots_codec::coap::{Code, ContentFormat};
use dots_codec::model::{ConflictCause, IntParam, Lifetime, MitigationStatus};
use dots_proto::signal::server::{ObserveAction, ObserveTarget, ServerEvent};
use signal_server_support::*;

fn fig8() -> Vec<u8> {
    hex(FIG8_HEX)
}

/// Setup the kit adds for several vectors: PUT Figure 7 at `mid`.
fn setup_fig7(h: &mut Harness, mid: u32) {
    assert_eq!(h.put_json(CUID, mid, FIG7).code(), Code::CREATED);
}

#[test]
fn sig_cbor_mitigation_put_01_and_put_response() {
    // RFC 9132 Figure 8 via a server-domain URI with cdid, from a direct client.
    let mut h = Harness::new();
    let r = h.send(
        CUID,
        Code::PUT,
        "/.well-known/dots/mitigate/cdid=7eeaf349529eb55ed50113/cuid=dz6pHjaADkaFTbjr0JGBpw/mid=123",
        &fig8(),
        &Opts::default(),
    );
    assert_eq!(r.code(), Code::CREATED);
    assert_eq!(r.content_format, Some(ContentFormat::DOTS_CBOR));
    // sig-mitigation-put-response-01 (Figure 10): {mid: 123, lifetime: 3600}, no cuid/cdid.
    let s = r.scopes();
    assert_eq!(s.scopes.len(), 1);
    assert_eq!(s.scopes[0].mid, Some(123));
    assert_eq!(s.scopes[0].scope.lifetime, Some(Lifetime::Seconds(3600)));
    assert_eq!(
        r.body,
        hex("a101a10281a20518 7b0e190e10".replace(' ', "").as_str())
    );
    h.check();
}

#[test]
fn sig_cdid_from_client_01_cdid_ignored() {
    // "DOTS servers MUST ignore 'cdid' attributes that are directly supplied by source DOTS
    // clients": processed as if no cdid were present.
    let mut h = Harness::new();
    let uri = "/.well-known/dots/mitigate/cdid=7eeaf349529eb55ed50113/cuid=dz6pHjaADkaFTbjr0JGBpw/mid=123";
    let r = h.send(CUID, Code::PUT, uri, &cbor(FIG7), &Opts::default());
    assert_eq!(r.code(), Code::CREATED);
    assert_eq!(
        h.s.hooks().log,
        vec![
            format!("admit {CUID} 123 cdid=None"),
            format!("started {CUID}")
        ]
    );
    // From a trusted gateway the cdid is kept.
    let mut g = Harness::new();
    let r = g.send(
        "gateway-1",
        Code::PUT,
        uri,
        &cbor(FIG7),
        &Opts {
            gateway: true,
            ..Opts::default()
        },
    );
    assert_eq!(r.code(), Code::CREATED);
    assert_eq!(
        g.s.hooks().log[0],
        format!("admit {CUID} 123 cdid=Some(\"7eeaf349529eb55ed50113\")")
    );
}

#[test]
fn sig_mitigation_put_01() {
    let mut h = Harness::new();
    let r = h.send(
        CUID,
        Code::PUT,
        "/.well-known/dots/mitigate/cdid=7eeaf349529eb55ed50113/cuid=dz6pHjaADkaFTbjr0JGBpw/mid=123",
        &cbor(FIG7),
        &Opts::default(),
    );
    assert_eq!(r.code(), Code::CREATED);
    assert_eq!(h.status(CUID, 123), Some(MitigationStatus::InProgress));
    let ev = h.events();
    assert!(matches!(
        &ev[0],
        ServerEvent::MitigationRequested { mid: 123, trigger_mitigation: true, lifetime: Lifetime::Seconds(3600), scope, .. }
            if scope.targets.prefixes.len() == 2
    ));
}

#[test]
fn sig_config_get_01_and_response() {
    let mut h = Harness::new();
    let r = h.send(
        CUID,
        Code::GET,
        "/.well-known/dots/config",
        &[],
        &Opts::default(),
    );
    assert_eq!(r.code(), Code::CONTENT);
    assert!(
        r.max_age.is_some(),
        "RFC 9132 Section 4.5.3: Max-Age SHOULD be returned"
    );
    // sig-config-get-response-01 (Figure 20): current, min and max values.
    let c = r.config();
    let m = c.mitigating_config.unwrap();
    assert_eq!(m.heartbeat_interval, Some(IntParam::range(15, 240, 30)));
    assert_eq!(m.missing_hb_allowed, Some(IntParam::range(3, 20, 15)));
    assert_eq!(m.max_retransmit, Some(IntParam::range(2, 15, 3)));
    assert!(c.idle_config.is_some());
}

#[test]
fn sig_config_put_01_then_same_sid() {
    let mut h = Harness::new();
    let uri = "/.well-known/dots/config/sid=123";
    let r = h.send(CUID, Code::PUT, uri, &cbor(FIG23), &Opts::default());
    assert_eq!(r.code(), Code::CREATED);
    // on_existing_sid: 2.04.
    let r = h.send(CUID, Code::PUT, uri, &cbor(FIG23), &Opts::default());
    assert_eq!(r.code(), Code::CHANGED);
    // GET with the sid shows the negotiated values.
    let r = h.send(CUID, Code::GET, uri, &[], &Opts::default());
    assert_eq!(r.code(), Code::CONTENT);
    let idle = r.config().idle_config.unwrap();
    assert_eq!(idle.heartbeat_interval.unwrap().current_value, Some(0));
}

#[test]
fn sig_config_delete_01() {
    let mut h = Harness::new();
    let uri = "/.well-known/dots/config/sid=123";
    assert_eq!(
        h.send(CUID, Code::PUT, uri, &cbor(FIG23), &Opts::default())
            .code(),
        Code::CREATED
    );
    let r = h.send(CUID, Code::DELETE, uri, &[], &Opts::default());
    assert_eq!(r.code(), Code::DELETED);
    // Back to the defaults: the sid is gone.
    assert_eq!(
        h.send(CUID, Code::GET, uri, &[], &Opts::default()).code(),
        Code::NOT_FOUND
    );
}

#[test]
fn sig_cuid_conflict_01() {
    let mut h = Harness::new();
    setup_fig7(&mut h, 10);
    // (1) another DOTS client (another credential) uses the same cuid.
    let r = h.send(
        "another-client-credential",
        Code::PUT,
        "/.well-known/dots/mitigate/cuid=dz6pHjaADkaFTbjr0JGBpw/mid=12",
        &cbor(FIG7),
        &Opts::default(),
    );
    assert_eq!(r.code(), Code::CONFLICT);
    // (2) the body: conflict-cause 3 only (no conflict-status, conflict-scope, retry-timer).
    let s = r.scopes();
    let ci = s.scopes[0].conflict_information.clone().unwrap();
    assert_eq!(ci.conflict_cause, Some(ConflictCause::CuidCollision));
    assert_eq!(ci.conflict_status, None);
    assert_eq!(ci.conflict_scope, None);
    assert_eq!(ci.retry_timer, None);
    assert_eq!(r.body, hex("a101a10281a111a11303"));
    // (3) with a new cuid it goes through.
    let r = h.send(
        "another-client-credential",
        Code::PUT,
        "/.well-known/dots/mitigate/cuid=f30d281ce6b64fc5a0b91e/mid=12",
        &cbor(FIG7),
        &Opts::default(),
    );
    assert_eq!(r.code(), Code::CREATED);
    h.check();
}

#[test]
fn sig_delete_unknown_mid_01() {
    let mut h = Harness::new();
    let r = h.delete(CUID, 99999);
    assert_eq!(r.code(), Code::DELETED);
    assert!(r.body.is_empty());
    assert_eq!(h.s.client_count(), 0);
}

#[test]
fn sig_efficacy_no_match_01() {
    let mut h = Harness::new();
    setup_fig7(&mut h, 123);
    let r = h.send(
        CUID,
        Code::PUT,
        &mitigate_uri(CUID, Some(999)),
        &cbor(FIG16),
        &Opts {
            if_match: true,
            ..Opts::default()
        },
    );
    assert_eq!(r.code, None, "silently ignored");
    assert!(h.s.mitigation(CUID, 999).is_none());
    assert_eq!(h.s.mitigation_count(), 1);
}

#[test]
fn sig_efficacy_put_01() {
    let mut h = Harness::new();
    setup_fig7(&mut h, 123);
    h.events();
    let r = h.send(
        CUID,
        Code::PUT,
        &mitigate_uri(CUID, Some(123)),
        &cbor(FIG16),
        &Opts {
            if_match: true,
            ..Opts::default()
        },
    );
    assert_eq!(r.code(), Code::CHANGED);
    assert!(matches!(
        h.events()[..],
        [ServerEvent::EfficacyUpdate {
            mid: 123,
            attack_status: dots_codec::model::AttackStatus::UnderAttack,
            ..
        }]
    ));
}

#[test]
fn sig_heartbeat_put_01() {
    let mut h = Harness::new();
    let r = h.send(
        CUID,
        Code::PUT,
        "/.well-known/dots/hb",
        &cbor(FIG27),
        &Opts::default(),
    );
    assert_eq!(r.code(), Code::CHANGED);
    assert!(r.body.is_empty(), "Figure 28: empty body");
    assert_eq!(r.heartbeat, Some(true));
}

#[test]
fn sig_mitigation_delete_01() {
    let mut h = Harness::new();
    setup_fig7(&mut h, 123);
    let r = h.delete(CUID, 123);
    assert_eq!(r.code(), Code::DELETED);
    assert!(r.body.is_empty(), "no response payload");
    assert_eq!(h.status(CUID, 123), Some(MitigationStatus::ClientWithdrawn));
}

#[test]
fn sig_mitigation_get_01() {
    let mut h = Harness::new();
    setup_fig7(&mut h, 123);
    let r = h.observe(CUID, None);
    assert_eq!(r.code(), Code::CONTENT);
    let s = r.scopes();
    assert_eq!(s.scopes.len(), 1);
    let e = &s.scopes[0];
    assert_eq!(e.mid, Some(123));
    assert_eq!(e.status, Some(MitigationStatus::InProgress));
    assert_eq!(e.scope.lifetime, Some(Lifetime::Seconds(3600)));
    assert_eq!(e.scope.targets.prefixes.len(), 2);
    assert!(matches!(
        r.observe,
        Some(ObserveAction::Registered {
            target: ObserveTarget::AllMitigations,
            ..
        })
    ));
}

#[test]
fn sig_mitigation_get_02() {
    let mut h = Harness::new();
    setup_fig7(&mut h, 12332);
    let r = h.observe(CUID, Some(12332));
    assert_eq!(r.code(), Code::CONTENT);
    assert_eq!(r.scopes().scopes[0].mid, Some(12332));
    // on_unknown_mid: 4.04.
    assert_eq!(h.get(CUID, Some(12333)).code(), Code::NOT_FOUND);
}

#[test]
fn sig_neg_alias_not_owned_01() {
    let mut h = Harness::new();
    let body = r#"{"ietf-dots-signal-channel:mitigation-scope": {"scope": [{
        "alias-name": ["alias-not-created-by-this-client"], "lifetime": 3600}]}}"#;
    let r = h.put_json(CUID, 123, body);
    assert_eq!(r.code(), Code::BAD_REQUEST);
    assert!(r.text().contains("alias-not-created-by-this-client"));
    assert_eq!(h.s.mitigation_count(), 0);
}

#[test]
fn sig_neg_config_get_unknown_sid_01() {
    let mut h = Harness::new();
    let r = h.send(
        CUID,
        Code::GET,
        "/.well-known/dots/config/sid=999",
        &[],
        &Opts::default(),
    );
    assert_eq!(r.code(), Code::NOT_FOUND);
}

#[test]
fn sig_neg_config_unacceptable_01() {
    let mut h = Harness::new();
    let body = FIG23.replacen(r#""current-value": 30"#, r#""current-value": 1000"#, 1);
    let r = h.send(
        CUID,
        Code::PUT,
        "/.well-known/dots/config/sid=123",
        &cbor(&body),
        &Opts::default(),
    );
    assert_eq!(r.code(), Code::UNPROCESSABLE_ENTITY);
    assert_eq!(h.s.client_count(), 0);
}

#[test]
fn sig_neg_config_unknown_param_01() {
    // 'example-unknown-parameter' has no CBOR key; on the wire it is an unassigned
    // comprehension-required key (127) inside mitigating-config.
    let mut body = cbor(FIG23);
    // {1e: {20: {..6 params..}, 2c: ...}}: bump the mitigating-config map and append 127: {36: 1}.
    let at = body.windows(2).position(|w| w == [0x18, 0x20]).unwrap() + 2;
    assert_eq!(body[at] & 0xe0, 0xa0);
    let n = body[at] & 0x1f;
    body[at] = 0xa0 | (n + 1);
    body.insert(at + 1, 0x18);
    body.insert(at + 2, 0x7f);
    body.insert(at + 3, 0xa1);
    body.insert(at + 4, 0x18);
    body.insert(at + 5, 0x24);
    body.insert(at + 6, 0x01);
    let r = h_put_config(&body);
    assert_eq!(r.code(), Code::BAD_REQUEST);
    assert!(r.text().contains("127"), "{}", r.text());
}

fn h_put_config(body: &[u8]) -> Reply {
    let mut h = Harness::new();
    h.send(
        CUID,
        Code::PUT,
        "/.well-known/dots/config/sid=123",
        body,
        &Opts::default(),
    )
}

#[test]
fn sig_neg_content_format_01() {
    let mut h = Harness::new();
    let json = FIG7.as_bytes();
    let r = h.send(
        CUID,
        Code::PUT,
        &mitigate_uri(CUID, Some(123)),
        json,
        &Opts {
            cf: Some(ContentFormat::JSON),
            ..Opts::default()
        },
    );
    assert_eq!(r.code(), Code::UNSUPPORTED_CONTENT_FORMAT);
    assert_eq!(h.s.mitigation_count(), 0);
}

#[test]
fn sig_neg_cuid_in_body_01() {
    // Figure 8 with 'cuid' (key 4) and 'mid' (key 5) added to the scope entry.
    let mut body = fig8();
    let at = body.iter().position(|&b| b == 0xa4).unwrap();
    body[at] = 0xa6;
    let mut extra = vec![0x04, 0x76];
    extra.extend_from_slice(CUID.as_bytes());
    extra.extend_from_slice(&[0x05, 0x18, 0x7b]);
    body.splice(at + 1..at + 1, extra);
    let mut h = Harness::new();
    let r = h.send(
        CUID,
        Code::PUT,
        &mitigate_uri(CUID, Some(123)),
        &body,
        &Opts::default(),
    );
    assert_eq!(r.code(), Code::BAD_REQUEST);
    assert_eq!(h.s.mitigation_count(), 0);
}

#[test]
fn sig_neg_get_all_none_01() {
    let mut h = Harness::new();
    assert_eq!(h.observe(CUID, None).code(), Code::NOT_FOUND);
    // Also with state but no mitigation (a configuration only).
    h.send(
        CUID,
        Code::PUT,
        "/.well-known/dots/config/sid=1",
        &cbor(FIG23),
        &Opts::default(),
    );
    assert_eq!(h.get(CUID, None).code(), Code::NOT_FOUND);
}

#[test]
fn sig_neg_heartbeat_cuid_01() {
    let mut h = Harness::new();
    let r = h.send(
        CUID,
        Code::PUT,
        "/.well-known/dots/hb/cuid=dz6pHjaADkaFTbjr0JGBpw",
        &cbor(FIG27),
        &Opts::default(),
    );
    assert_eq!(r.code(), Code::BAD_REQUEST);
}

#[test]
fn sig_neg_heartbeat_empty_01() {
    let mut h = Harness::new();
    // {49: {}}: 'peer-hb-status' missing.
    let r = h.send(
        CUID,
        Code::PUT,
        "/.well-known/dots/hb",
        &hex("a11831a0"),
        &Opts::default(),
    );
    assert_eq!(r.code(), Code::BAD_REQUEST);
}

#[test]
fn sig_neg_lifetime_missing_zero_no_target_and_special_prefixes() {
    let cases = [
        ("sig-neg-lifetime-zero-01", FIG7.replace("3600", "0")),
        (
            "sig-neg-missing-lifetime-01",
            FIG7.replace(", \"lifetime\": 3600", ""),
        ),
        (
            "sig-neg-no-target-01",
            FIG7.replace(
                r#""target-prefix": ["2001:db8:6401::1/128", "2001:db8:6401::2/128"],"#,
                "",
            ),
        ),
        (
            "sig-neg-target-broadcast-01",
            scope_json(&["255.255.255.255/32"], 3600, ""),
        ),
        (
            "sig-neg-target-loopback-01",
            scope_json(&["::1/128"], 3600, ""),
        ),
        (
            "sig-neg-target-multicast-01",
            scope_json(&["ff02::1/128"], 3600, ""),
        ),
    ];
    for (id, body) in cases {
        assert_ne!(body, FIG7, "{id}: modification applied");
        let mut h = Harness::new();
        let r = h.put_json(CUID, 123, &body);
        assert_eq!(r.code(), Code::BAD_REQUEST, "{id}");
        assert!(r.content_format.is_none(), "{id}: diagnostic payload");
        assert!(!r.body.is_empty(), "{id}: diagnostic payload");
        assert_eq!(h.s.mitigation_count(), 0, "{id}");
    }
}

#[test]
fn sig_neg_overlap_lower_mid_01() {
    let mut h = Harness::new();
    setup_fig7(&mut h, 124);
    let r = h.put_json(CUID, 123, FIG7);
    assert_eq!(r.code(), Code::CONFLICT);
    let ci = r.scopes().scopes[0].conflict_information.clone().unwrap();
    assert_eq!(ci.conflict_cause, Some(ConflictCause::OverlappingTargets));
    let cs = ci.conflict_scope.unwrap();
    assert_eq!(cs.mid, Some(124));
    assert_eq!(cs.targets.prefixes.len(), 2);
    assert_eq!(h.s.mids(CUID).collect::<Vec<_>>(), vec![124]);
}

#[test]
fn sig_neg_refresh_changed_01() {
    let mut h = Harness::new();
    setup_fig7(&mut h, 123);
    let r = h.put_json(CUID, 123, &FIG7.replace("[6]", "[17]"));
    assert_eq!(r.code(), Code::BAD_REQUEST);
    // Only the lifetime may change: that is a refresh (2.04).
    let r = h.put_json(CUID, 123, &FIG7.replace("3600", "7200"));
    assert_eq!(r.code(), Code::CHANGED);
    assert_eq!(
        r.scopes().scopes[0].scope.lifetime,
        Some(Lifetime::Seconds(7200))
    );
}

#[test]
fn sig_neg_unknown_cbor_key_required_01() {
    let mut h = Harness::new();
    let body = hex("a101a10281a5068274323030313a6462383a363430313a3a312f31323874323030313a6462383a363430313a3a322f3132380783a1081850a1081901bba108191f900a81060e190e10186401");
    let r = h.send(
        CUID,
        Code::PUT,
        "/.well-known/dots/mitigate/cdid=7eeaf349529eb55ed50113/cuid=dz6pHjaADkaFTbjr0JGBpw/mid=123",
        &body,
        &Opts::default(),
    );
    assert_eq!(r.code(), Code::BAD_REQUEST);
    // "The 4.00 response SHOULD include a diagnostic payload describing the unknown
    // comprehension-required CBOR key values."
    assert!(r.text().contains("100"), "{}", r.text());
}
