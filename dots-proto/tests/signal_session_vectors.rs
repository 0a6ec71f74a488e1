//! Every RFC 9132 `sig-*` request vector that states a code, end to end: a CoAP client
//! endpoint sends it (Confirmable, as a DOTS client sends requests in idle time; the heartbeat
//! Non-confirmable) through a link to the server session, after the setup requests the vector
//! presupposes, and gets the code the RFC requires. The vectors are restated here (method,
//! Uri-Path, options, body as RFC 7951 JSON sent as CBOR).

mod common;
mod signal_server_support;
mod signal_session_support;

use dots_codec::cbor::CborBody;
use dots_codec::coap::{Code, ContentFormat};
use dots_codec::model::{ConflictCause, MitigationScope};
use dots_proto::coap::RequestId;
use signal_server_support::{cbor, hex, scope_json, CUID, FIG16, FIG23, FIG27, FIG7, FIG8_HEX};
use signal_session_support::*;

const MIT: &str = "/.well-known/dots/mitigate/cuid=dz6pHjaADkaFTbjr0JGBpw";
const MIT_CDID: &str =
    "/.well-known/dots/mitigate/cdid=7eeaf349529eb55ed50113/cuid=dz6pHjaADkaFTbjr0JGBpw/mid=123";

fn mit(mid: u32) -> String {
    format!("{MIT}/mid={mid}")
}

fn net() -> Net {
    let mut n = Net::default_net();
    n.add_client(CUID, Link::perfect(), Link::perfect());
    n
}

/// Sends and runs until the answer (or 10 s).
fn send(n: &mut Net, code: Code, uri: &str, body: &[u8], o: Opts) -> (RequestId, Option<Resp>) {
    let id = n.request(0, code, uri, body, o);
    let until = n.now + secs(10);
    while n.clients[0].response(id).is_none() && n.step(until) {}
    (id, n.clients[0].response(id).cloned())
}

fn expect(n: &mut Net, code: Code, uri: &str, body: &[u8], o: Opts, want: Code) -> Resp {
    let (_, r) = send(n, code, uri, body, o);
    let r = r.unwrap_or_else(|| panic!("no answer to {code} {uri}"));
    assert_eq!(
        r.code,
        want,
        "{code} {uri}: {}",
        String::from_utf8_lossy(&r.payload)
    );
    r
}

fn setup_fig7(n: &mut Net, mid: u32) {
    expect(
        n,
        Code::PUT,
        &mit(mid),
        &cbor(FIG7),
        Opts::default(),
        Code::CREATED,
    );
}

#[test]
fn sig_cbor_mitigation_put_01() {
    let mut n = net();
    let r = expect(
        &mut n,
        Code::PUT,
        MIT_CDID,
        &hex(FIG8_HEX),
        Opts::default(),
        Code::CREATED,
    );
    // Figure 10: {mid: 123, lifetime: 3600}, application/dots+cbor.
    assert_eq!(r.payload, hex("a101a10281a205187b0e190e10"));
    assert_eq!(r.content_format, Some(ContentFormat::DOTS_CBOR));
}

#[test]
fn sig_cdid_from_client_01_and_mitigation_put_01() {
    let mut n = net();
    expect(
        &mut n,
        Code::PUT,
        MIT_CDID,
        &cbor(FIG7),
        Opts::default(),
        Code::CREATED,
    );
    // Non-confirmable (how RFC 9132 Section 4.4.1 sends it): a NON 2.04 refresh.
    let (_, r) = send(&mut n, Code::PUT, MIT_CDID, &cbor(FIG7), Opts::non());
    assert_eq!(r.unwrap().code, Code::CHANGED);
    assert_eq!(n.server.server().mitigation_count(), 1);
}

#[test]
fn sig_config_put_get_delete_01() {
    let mut n = net();
    let r = expect(
        &mut n,
        Code::GET,
        "/.well-known/dots/config",
        &[],
        Opts::default(),
        Code::CONTENT,
    );
    assert!(r.max_age.is_some(), "RFC 9132 Section 4.5.3: Max-Age");
    let uri = "/.well-known/dots/config/sid=123";
    expect(
        &mut n,
        Code::PUT,
        uri,
        &cbor(FIG23),
        Opts::default(),
        Code::CREATED,
    );
    expect(
        &mut n,
        Code::DELETE,
        uri,
        &[],
        Opts::default(),
        Code::DELETED,
    );
}

#[test]
fn sig_cuid_conflict_01a() {
    // Another DOTS client (another credential) uses a cuid held by a client: 4.09, cause 3.
    let mut n = net();
    n.add_client(
        "another-client-credential",
        Link::perfect(),
        Link::perfect(),
    );
    setup_fig7(&mut n, 10);
    let id = n.request(1, Code::PUT, &mit(12), &cbor(FIG7), Opts::default());
    n.run_for(secs(2));
    let r = n.clients[1].response(id).unwrap();
    assert_eq!(r.code, Code::CONFLICT);
    let s = MitigationScope::decode_cbor(&r.payload).unwrap();
    let ci = s.scopes[0].conflict_information.clone().unwrap();
    assert_eq!(ci.conflict_cause, Some(ConflictCause::CuidCollision));
}

#[test]
fn sig_delete_unknown_mid_01() {
    let mut n = net();
    expect(
        &mut n,
        Code::DELETE,
        &mit(99999),
        &[],
        Opts::default(),
        Code::DELETED,
    );
}

#[test]
fn sig_efficacy_no_match_and_put_01() {
    let mut n = net();
    setup_fig7(&mut n, 123);
    let o = Opts {
        if_match: true,
        ..Opts::default()
    };
    // No match: silently ignored (RFC 9132 Section 4.4.3); the CON gets its empty ACK only.
    let (id, r) = send(&mut n, Code::PUT, &mit(999), &cbor(FIG16), o);
    assert!(
        r.is_none(),
        "no response to an efficacy update for an unknown mid"
    );
    assert!(!n.clients[0]
        .failed
        .iter()
        .any(|f| f.0 == id && f.1 == dots_proto::coap::FailReason::Reset));
    assert_eq!(n.server.server().mitigation_count(), 1);
    expect(&mut n, Code::PUT, &mit(123), &cbor(FIG16), o, Code::CHANGED);
}

#[test]
fn sig_heartbeat_put_01() {
    let mut n = net();
    let r = expect(
        &mut n,
        Code::PUT,
        HB_PATH,
        &cbor(FIG27),
        Opts::non(),
        Code::CHANGED,
    );
    assert!(r.payload.is_empty(), "Figure 28: empty body");
}

#[test]
fn sig_mitigation_delete_01() {
    let mut n = net();
    setup_fig7(&mut n, 123);
    let r = expect(
        &mut n,
        Code::DELETE,
        &mit(123),
        &[],
        Opts::default(),
        Code::DELETED,
    );
    assert!(r.payload.is_empty());
}

#[test]
fn sig_mitigation_get_01_02() {
    let mut n = net();
    setup_fig7(&mut n, 123);
    let r = expect(&mut n, Code::GET, MIT, &[], Opts::observe(), Code::CONTENT);
    assert!(
        r.observe.is_some(),
        "registered: the response carries Observe"
    );
    let s = MitigationScope::decode_cbor(&r.payload).unwrap();
    assert_eq!(s.scopes[0].mid, Some(123));
    let mut n = net();
    setup_fig7(&mut n, 12332);
    expect(
        &mut n,
        Code::GET,
        &mit(12332),
        &[],
        Opts::observe(),
        Code::CONTENT,
    );
    // on_unknown_mid: 4.04.
    expect(
        &mut n,
        Code::GET,
        &mit(12333),
        &[],
        Opts::observe(),
        Code::NOT_FOUND,
    );
}

#[test]
fn negative_vectors() {
    let fig23_bad = FIG23.replacen(r#""current-value": 30"#, r#""current-value": 1000"#, 1);
    let alias = r#"{"ietf-dots-signal-channel:mitigation-scope": {"scope": [{
        "alias-name": ["alias-not-created-by-this-client"], "lifetime": 3600}]}}"#;
    let mut cuid_in_body = hex(FIG8_HEX);
    let at = cuid_in_body.iter().position(|&b| b == 0xa4).unwrap();
    cuid_in_body[at] = 0xa6;
    let mut extra = vec![0x04, 0x76];
    extra.extend_from_slice(CUID.as_bytes());
    extra.extend_from_slice(&[0x05, 0x18, 0x7b]);
    cuid_in_body.splice(at + 1..at + 1, extra);
    // Figure 23 with an unassigned comprehension-required key (127) in mitigating-config.
    let mut unknown_param = cbor(FIG23);
    let at = unknown_param
        .windows(2)
        .position(|w| w == [0x18, 0x20])
        .unwrap()
        + 2;
    unknown_param[at] += 1;
    unknown_param.splice(at + 1..at + 1, [0x18, 0x7f, 0xa1, 0x18, 0x24, 0x01]);
    let unknown_key = hex("a101a10281a5068274323030313a6462383a363430313a3a312f31323874323030313a6462383a363430313a3a322f3132380783a1081850a1081901bba108191f900a81060e190e10186401");
    let json = Opts {
        cf: Some(ContentFormat::JSON),
        ..Opts::default()
    };
    type Case = (&'static str, Code, String, Vec<u8>, Opts, Code);
    let cases: Vec<Case> = vec![
        (
            "sig-neg-alias-not-owned-01",
            Code::PUT,
            mit(123),
            cbor(alias),
            Opts::default(),
            Code::BAD_REQUEST,
        ),
        (
            "sig-neg-config-get-unknown-sid-01",
            Code::GET,
            "/.well-known/dots/config/sid=999".into(),
            vec![],
            Opts::default(),
            Code::NOT_FOUND,
        ),
        (
            "sig-neg-config-unacceptable-01",
            Code::PUT,
            "/.well-known/dots/config/sid=123".into(),
            cbor(&fig23_bad),
            Opts::default(),
            Code::UNPROCESSABLE_ENTITY,
        ),
        (
            "sig-neg-config-unknown-param-01",
            Code::PUT,
            "/.well-known/dots/config/sid=123".into(),
            unknown_param,
            Opts::default(),
            Code::BAD_REQUEST,
        ),
        (
            "sig-neg-content-format-01",
            Code::PUT,
            mit(123),
            FIG7.as_bytes().to_vec(),
            json,
            Code::UNSUPPORTED_CONTENT_FORMAT,
        ),
        (
            "sig-neg-cuid-in-body-01",
            Code::PUT,
            mit(123),
            cuid_in_body,
            Opts::default(),
            Code::BAD_REQUEST,
        ),
        (
            "sig-neg-get-all-none-01",
            Code::GET,
            MIT.into(),
            vec![],
            Opts::observe(),
            Code::NOT_FOUND,
        ),
        (
            "sig-neg-heartbeat-cuid-01",
            Code::PUT,
            format!("{HB_PATH}/cuid={CUID}"),
            cbor(FIG27),
            Opts::default(),
            Code::BAD_REQUEST,
        ),
        (
            "sig-neg-heartbeat-empty-01",
            Code::PUT,
            HB_PATH.into(),
            hex("a11831a0"),
            Opts::default(),
            Code::BAD_REQUEST,
        ),
        (
            "sig-neg-lifetime-zero-01",
            Code::PUT,
            mit(123),
            cbor(&FIG7.replace("3600", "0")),
            Opts::default(),
            Code::BAD_REQUEST,
        ),
        (
            "sig-neg-missing-lifetime-01",
            Code::PUT,
            mit(123),
            cbor(&FIG7.replace(", \"lifetime\": 3600", "")),
            Opts::default(),
            Code::BAD_REQUEST,
        ),
        (
            "sig-neg-no-target-01",
            Code::PUT,
            mit(123),
            cbor(&FIG7.replace(
                r#""target-prefix": ["2001:db8:6401::1/128", "2001:db8:6401::2/128"],"#,
                "",
            )),
            Opts::default(),
            Code::BAD_REQUEST,
        ),
        (
            "sig-neg-target-broadcast-01",
            Code::PUT,
            mit(123),
            cbor(&scope_json(&["255.255.255.255/32"], 3600, "")),
            Opts::default(),
            Code::BAD_REQUEST,
        ),
        (
            "sig-neg-target-loopback-01",
            Code::PUT,
            mit(123),
            cbor(&scope_json(&["::1/128"], 3600, "")),
            Opts::default(),
            Code::BAD_REQUEST,
        ),
        (
            "sig-neg-target-multicast-01",
            Code::PUT,
            mit(123),
            cbor(&scope_json(&["ff02::1/128"], 3600, "")),
            Opts::default(),
            Code::BAD_REQUEST,
        ),
        (
            "sig-neg-unknown-cbor-key-required-01",
            Code::PUT,
            MIT_CDID.into(),
            unknown_key,
            Opts::default(),
            Code::BAD_REQUEST,
        ),
    ];
    for (id, code, uri, body, o, want) in cases {
        let mut n = net();
        let (_, r) = send(&mut n, code, &uri, &body, o);
        let r = r.unwrap_or_else(|| panic!("{id}: no answer"));
        assert_eq!(
            r.code,
            want,
            "{id}: {}",
            String::from_utf8_lossy(&r.payload)
        );
        assert_eq!(n.server.server().mitigation_count(), 0, "{id}");
        n.server.check_invariants().unwrap();
    }
}

#[test]
fn sig_neg_overlap_lower_mid_and_refresh_changed_01() {
    let mut n = net();
    setup_fig7(&mut n, 124);
    let r = expect(
        &mut n,
        Code::PUT,
        &mit(123),
        &cbor(FIG7),
        Opts::default(),
        Code::CONFLICT,
    );
    let ci = MitigationScope::decode_cbor(&r.payload).unwrap().scopes[0]
        .conflict_information
        .clone()
        .unwrap();
    // response_must_contain: conflict-cause overlapping-targets.
    assert_eq!(ci.conflict_cause, Some(ConflictCause::OverlappingTargets));
    let mut n = net();
    setup_fig7(&mut n, 123);
    expect(
        &mut n,
        Code::PUT,
        &mit(123),
        &cbor(&FIG7.replace("[6]", "[17]")),
        Opts::default(),
        Code::BAD_REQUEST,
    );
}

#[test]
fn requests_the_session_refuses_itself() {
    let mut n = net();
    // More Uri-Path segments than any DOTS resource has: 4.04.
    let deep = format!("{MIT}{}", "/x".repeat(20));
    expect(
        &mut n,
        Code::PUT,
        &deep,
        &cbor(FIG7),
        Opts::default(),
        Code::NOT_FOUND,
    );
    // An unknown resource and a method the resource does not have.
    expect(
        &mut n,
        Code::GET,
        "/.well-known/dots/nothing",
        &[],
        Opts::default(),
        Code::NOT_FOUND,
    );
    expect(
        &mut n,
        Code::GET,
        HB_PATH,
        &[],
        Opts::default(),
        Code::METHOD_NOT_ALLOWED,
    );
    expect(
        &mut n,
        Code::POST,
        &mit(1),
        &cbor(FIG7),
        Opts::default(),
        Code::METHOD_NOT_ALLOWED,
    );
}
