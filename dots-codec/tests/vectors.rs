//! Golden tests: every signal channel example body printed in RFC 9132, RFC 9133, RFC 9066 and
//! RFC 9362 (restated in `tests/vectors/`), and the error cases derived from their text.
#![cfg(feature = "json")]

use dots_codec::cbor::{CborBody, DecodeError};
use dots_codec::coap::Code;
use dots_codec::json::{self, JsonError};
use dots_codec::keys;
use dots_codec::model::{
    MitigationRequest, MitigationScope, PrefixProblem, SignalConfig, SignalMessage, ValidationError,
};
use serde_json::Value;

struct Vector {
    id: String,
    kind: String,
    body: Option<Value>,
    cbor_hex: Option<String>,
    code: Option<String>,
}

fn load(group: &str) -> Vec<Vector> {
    let text = match group {
        "sig" => include_str!("vectors/sig.json"),
        "ctl" => include_str!("vectors/ctl.json"),
        "ch" => include_str!("vectors/ch.json"),
        "rt" => include_str!("vectors/rt.json"),
        _ => unreachable!(),
    };
    let v: Value = serde_json::from_str(text).unwrap();
    v["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| Vector {
            id: v["id"].as_str().unwrap().into(),
            kind: v["kind"].as_str().unwrap().into(),
            body: v.get("body").cloned(),
            cbor_hex: v.get("cbor_hex").and_then(Value::as_str).map(String::from),
            code: v.get("code").and_then(Value::as_str).map(String::from),
        })
        .collect()
}

fn all() -> Vec<Vector> {
    ["sig", "ctl", "ch", "rt"]
        .iter()
        .flat_map(|g| load(g))
        .collect()
}

fn vector(id: &str) -> Vector {
    all().into_iter().find(|v| v.id == id).unwrap()
}

/// Bodies our decoders refuse on purpose, with the exact error.
fn refused(id: &str) -> Option<fn(&JsonError) -> bool> {
    Some(match id {
        // RFC 9132 Section 4.4.1.1: 'cuid' MUST NOT appear in the PUT body.
        "sig-neg-cuid-in-body-01" => {
            |e| *e == JsonError::Value(DecodeError::NotAllowed { key: keys::CUID })
        }
        // 'peer-hb-status' is mandatory.
        "sig-neg-heartbeat-empty-01" => {
            |e| matches!(e, JsonError::Syntax(m) if m.contains("missing field `peer-hb-status`"))
        }
        // Unknown member (no CBOR key): YANG/RFC 7951 strictness.
        "sig-neg-config-unknown-param-01" => {
            |e| matches!(e, JsonError::Syntax(m) if m.contains("unknown field `example-unknown-parameter`"))
        }
        _ => return None,
    })
}

fn cbor_of(m: &SignalMessage) -> Vec<u8> {
    let mut buf = vec![0u8; m.encoded_len()];
    let n = m.encode_cbor(&mut buf).unwrap();
    assert_eq!(n, buf.len(), "encoded_len is exact");
    buf
}

#[test]
fn every_printed_body_round_trips_json_model_cbor_model_json() {
    let mut checked = 0;
    for v in all() {
        let Some(body) = &v.body else { continue };
        let text = body.to_string();
        let parsed = json::from_str(&text);
        if let Some(expect) = refused(&v.id) {
            let err = parsed.expect_err(&v.id);
            assert!(expect(&err), "{}: unexpected error {err}", v.id);
            assert_eq!(err.response_code(), Code::BAD_REQUEST, "{}", v.id);
            continue;
        }
        let model = parsed.unwrap_or_else(|e| panic!("{}: {e}", v.id));
        let cbor = cbor_of(&model);
        let back = SignalMessage::decode_cbor(&cbor).unwrap_or_else(|e| panic!("{}: {e}", v.id));
        assert_eq!(back, model, "{}: CBOR round trip", v.id);
        let out: Value = serde_json::from_str(&json::to_string(&back)).unwrap();
        assert_eq!(&out, body, "{}: JSON round trip", v.id);
        checked += 1;
    }
    assert_eq!(checked, 38, "bodies checked");
}

const FIG8: &str = "a101a10281a4068274323030313a6462383a363430313a3a312f31323874323030313a6462383a363430313a3a322f3132380783a1081850a1081901bba108191f900a81060e190e10";

#[test]
fn figure_7_encodes_to_figure_8_byte_for_byte() {
    let fig7 = vector("sig-mitigation-put-01").body.unwrap();
    assert_eq!(
        vector("sig-cbor-mitigation-put-01").cbor_hex.as_deref(),
        Some(FIG8)
    );
    let m = json::from_str(&fig7.to_string()).unwrap();
    assert_eq!(hex::encode(cbor_of(&m)), FIG8);
    // The same through the PUT-specific type.
    let SignalMessage::MitigationScope(ms) = m else {
        panic!()
    };
    let req = MitigationRequest {
        entry: ms.scopes[0].clone(),
    };
    let mut buf = [0u8; 80];
    let n = req.encode_cbor(&mut buf).unwrap();
    assert_eq!(hex::encode(&buf[..n]), FIG8);
}

#[test]
fn figure_8_decodes_to_figure_7() {
    let fig7 = vector("sig-mitigation-put-01").body.unwrap();
    let bytes = hex::decode(FIG8).unwrap();
    let m = SignalMessage::decode_cbor(&bytes).unwrap();
    let out: Value = serde_json::from_str(&json::to_string_pretty(&m)).unwrap();
    assert_eq!(out, fig7);
    let req = MitigationRequest::decode_cbor(&bytes).unwrap();
    req.validate().unwrap();
    assert_eq!(
        MitigationScope::decode_cbor(&bytes).unwrap().scopes.len(),
        1
    );
}

fn request(id: &str) -> MitigationRequest {
    let v = vector(id);
    let m = json::from_str(&v.body.unwrap().to_string()).unwrap();
    let SignalMessage::MitigationScope(ms) = m else {
        panic!("{id}")
    };
    // Through CBOR, as a server receives it.
    let mut buf = [0u8; 512];
    let n = ms.encode_cbor(&mut buf).unwrap();
    MitigationRequest::decode_cbor(&buf[..n]).unwrap()
}

fn code_of(v: &Vector) -> Code {
    let (c, d) = v.code.as_deref().unwrap().split_once('.').unwrap();
    Code::new(c.parse().unwrap(), d.parse().unwrap())
}

#[test]
fn negative_vectors_get_our_precise_error_and_code() {
    let cases: &[(&str, ValidationError)] = &[
        ("sig-neg-lifetime-zero-01", ValidationError::ZeroLifetime),
        (
            "sig-neg-missing-lifetime-01",
            ValidationError::MissingLifetime,
        ),
        ("sig-neg-no-target-01", ValidationError::MissingTarget),
        (
            "ch-neg-trigger-false-01",
            ValidationError::CallHomeTriggerFalse,
        ),
    ];
    for (id, want) in cases {
        let err = request(id).validate().unwrap_err();
        assert_eq!(&err, want, "{id}");
        assert_eq!(err.response_code(), code_of(&vector(id)), "{id}");
    }
    for (id, problem) in [
        ("sig-neg-target-broadcast-01", PrefixProblem::Broadcast),
        ("sig-neg-target-loopback-01", PrefixProblem::Loopback),
        ("sig-neg-target-multicast-01", PrefixProblem::Multicast),
    ] {
        let err = request(id).validate().unwrap_err();
        assert!(
            matches!(err, ValidationError::InvalidPrefix { field: "target-prefix", problem: p, .. } if p == problem),
            "{id}: {err}"
        );
        assert_eq!(err.field(), "target-prefix");
        assert_eq!(err.response_code(), code_of(&vector(id)), "{id}");
    }
}

#[test]
fn unknown_comprehension_required_key_is_4_00_with_the_key_named() {
    let v = vector("sig-neg-unknown-cbor-key-required-01");
    let bytes = hex::decode(v.cbor_hex.unwrap()).unwrap();
    let err = MitigationRequest::decode_cbor(&bytes).unwrap_err();
    assert_eq!(
        err,
        DecodeError::UnknownKey {
            key: 100,
            within: keys::SCOPE
        }
    );
    assert_eq!(
        err.response_code(),
        code_of(&vector("sig-neg-unknown-cbor-key-required-01"))
    );
    assert_eq!(
        err.to_string(),
        "unknown comprehension-required key 100 in 'scope'"
    );
    // The same extra entry with a comprehension-optional key (200) is ignored.
    let mut optional = bytes.clone();
    let n = optional.len();
    optional[n - 3..].copy_from_slice(&[0x18, 0xc8, 0x01]);
    let req = MitigationRequest::decode_cbor(&optional).unwrap();
    assert_eq!(
        req,
        MitigationRequest::decode_cbor(&hex::decode(FIG8).unwrap()).unwrap()
    );
}

#[test]
fn cuid_in_the_body_is_refused_in_cbor_too() {
    // Figure 8 with "cuid": "x" (key 4) added to the scope map: a4 -> a5.
    let mut bytes = hex::decode(FIG8).unwrap();
    bytes[5] = 0xa5;
    bytes.extend_from_slice(&[0x04, 0x61, b'x']);
    let err = MitigationRequest::decode_cbor(&bytes).unwrap_err();
    assert_eq!(err, DecodeError::NotAllowed { key: keys::CUID });
    assert_eq!(err.response_code(), Code::BAD_REQUEST);
}

#[test]
fn mid_in_a_request_body_is_a_server_only_member() {
    // sig-neg-cuid-in-body-01 without its cuid still carries "mid".
    let mut body = vector("sig-neg-cuid-in-body-01").body.unwrap();
    body["ietf-dots-signal-channel:mitigation-scope"]["scope"][0]
        .as_object_mut()
        .unwrap()
        .remove("cuid");
    let SignalMessage::MitigationScope(ms) = json::from_str(&body.to_string()).unwrap() else {
        panic!()
    };
    let req = MitigationRequest {
        entry: ms.scopes[0].clone(),
    };
    let err = req.validate().unwrap_err();
    assert_eq!(err, ValidationError::ServerOnlyMember { field: "mid" });
    assert_eq!(err.response_code(), Code::BAD_REQUEST);
}

#[test]
fn config_vectors() {
    let get = |id: &str| match json::from_str(&vector(id).body.unwrap().to_string()).unwrap() {
        SignalMessage::SignalConfig(c) => c,
        _ => panic!("{id}"),
    };
    let server = get("sig-config-get-response-01");
    for id in ["sig-config-put-01", "rt-config-put-01"] {
        let c = get(id);
        c.validate_request().unwrap();
        c.check_against(&server).unwrap();
    }
    // Figure 20 as a client request: max/min are server-to-client only.
    assert_eq!(
        server.validate_request(),
        Err(ValidationError::ServerOnlyMember { field: "max-value" })
    );
    let bad = get("sig-neg-config-unacceptable-01");
    bad.validate_request().unwrap();
    let err = bad.check_against(&server).unwrap_err();
    assert_eq!(
        err,
        ValidationError::UnacceptableValue {
            config: "mitigating-config",
            parameter: "heartbeat-interval"
        }
    );
    assert_eq!(
        err.response_code(),
        code_of(&vector("sig-neg-config-unacceptable-01"))
    );

    // The unknown parameter as the kit puts it on the wire (key 127, comprehension-required).
    let put = get("sig-config-put-01");
    let mut buf = [0u8; 256];
    let n = put.encode_cbor(&mut buf).unwrap();
    let mut bytes = buf[..n].to_vec();
    // a1 181e a2 1820 a6 ... : the mitigating-config map header is at offset 6.
    assert_eq!(bytes[6], 0xa6);
    bytes[6] = 0xa7;
    bytes.splice(7..7, [0x18, 0x7f, 0xa1, 0x18, 0x24, 0x01]);
    let err = SignalConfig::decode_cbor(&bytes).unwrap_err();
    assert_eq!(
        err,
        DecodeError::UnknownKey {
            key: 127,
            within: keys::MITIGATING_CONFIG
        }
    );
    assert_eq!(
        err.response_code(),
        code_of(&vector("sig-neg-config-unknown-param-01"))
    );
}

#[test]
fn heartbeat_vectors() {
    let m = json::from_str(&vector("sig-heartbeat-put-01").body.unwrap().to_string()).unwrap();
    assert_eq!(hex::encode(cbor_of(&m)), "a11831a11833f5");
    // The empty heartbeat on the wire.
    let err = dots_codec::model::Heartbeat::decode_cbor(&[0xa1, 0x18, 0x31, 0xa0]).unwrap_err();
    assert_eq!(
        err,
        DecodeError::MissingMember {
            key: keys::PEER_HB_STATUS
        }
    );
    assert_eq!(
        err.response_code(),
        code_of(&vector("sig-neg-heartbeat-empty-01"))
    );
}

#[test]
fn a_json_body_sent_as_cbor_is_refused() {
    // sig-neg-content-format-01: the transport answers 4.15 on the Content-Format; should the
    // bytes reach the CBOR decoder anyway, they are malformed, not misread.
    let text = vector("sig-neg-content-format-01")
        .body
        .unwrap()
        .to_string();
    let err = SignalMessage::decode_cbor(text.as_bytes()).unwrap_err();
    assert_eq!(err.response_code(), Code::BAD_REQUEST);
}

#[test]
fn stateful_negative_and_behaviour_vectors_are_valid_bodies() {
    // These need session state (alias ownership, refresh, overlap, idle-time ACLs, cdid from a
    // client, efficacy update for an unknown mid): the body itself is valid and the session
    // layer decides. The codec must not reject them.
    for id in [
        "sig-neg-alias-not-owned-01",
        "sig-neg-overlap-lower-mid-01",
        "sig-neg-refresh-changed-01",
        "ctl-neg-acl-idle-01",
        "ctl-neg-acl-apply-failure-01",
        "sig-cdid-from-client-01",
    ] {
        request(id)
            .validate()
            .unwrap_or_else(|e| panic!("{id}: {e}"));
    }
    for id in ["sig-efficacy-put-01", "sig-efficacy-no-match-01"] {
        let r = request(id);
        r.validate_efficacy_update().unwrap();
        assert_eq!(r.validate(), Err(ValidationError::MissingLifetime), "{id}");
    }
}

#[test]
fn every_request_example_validates() {
    for v in all() {
        if v.kind != "example" || v.body.is_none() {
            continue;
        }
        match json::from_str(&v.body.unwrap().to_string()).unwrap() {
            SignalMessage::MitigationScope(ms)
                if v.id.contains("put") && !v.id.contains("response") =>
            {
                let r = MitigationRequest {
                    entry: ms.scopes[0].clone(),
                };
                if v.id.starts_with("sig-efficacy") {
                    r.validate_efficacy_update()
                } else {
                    r.validate()
                }
                .unwrap_or_else(|e| panic!("{}: {e}", v.id));
            }
            SignalMessage::MitigationScope(ms) => ms.validate_response().unwrap(),
            SignalMessage::RedirectedSignal(r) => r.validate().unwrap(),
            SignalMessage::SignalConfig(_) | SignalMessage::Heartbeat(_) => {}
            _ => unreachable!(),
        }
    }
}

#[test]
fn rfc_9066_figure_9_restated_with_its_missing_brace() {
    // RFC 9066 Figure 9 as printed lacks one closing brace (not JSON); the vector restates it
    // with the brace added. The body is a call-home redirect: alt-ch-client, records and ttl.
    let v = vector("ch-redirect-put-01");
    let SignalMessage::RedirectedSignal(r) = json::from_str(&v.body.unwrap().to_string()).unwrap()
    else {
        panic!()
    };
    r.validate().unwrap();
    assert_eq!(
        r.alt_ch_client.as_deref(),
        Some("alt-call-home-client.example")
    );
    assert_eq!(r.ttl, Some(600));
    assert_eq!(r.records().len(), 2);
    let mut buf = [0u8; 128];
    let n = r.encode_cbor(&mut buf).unwrap();
    // Keys 32773, 32774, 32775 (comprehension-optional range) as 3-byte integers.
    assert_eq!(&buf[..6], &[0xa1, 0x18, 0x2e, 0xa3, 0x19, 0x80]);
    assert_eq!(
        dots_codec::model::RedirectedSignal::decode_cbor(&buf[..n]).unwrap(),
        r
    );
}
