//! Golden tests: every example body printed in RFC 9244 (restated in `tests/vectors/tm.json`),
//! the error cases derived from its text, and the printed mistakes, with the precise error each
//! gets and why.
#![cfg(feature = "json")]

use dots_codec::cbor::{CborBody, DecodeError};
use dots_codec::coap::Code;
use dots_codec::data::{DataBody, DecodeErrorKind, ErrorTag, VendorMapping};
use dots_codec::json::{self, JsonError};
use dots_codec::keys;
use dots_codec::model::telemetry::{
    AttackSeverity, Gauge, SetupData, TelemetryConfig, Unit, UnitClass, UnitConfig,
};
use dots_codec::model::{
    AttackStatus, Decimal2, EfficacyUpdate, MitigationRequest, MitigationScope, SignalMessage,
    Telemetry, TelemetrySetup, ValidationError,
};
use serde_json::Value;

struct Vector {
    id: String,
    kind: String,
    transport: String,
    code: Option<String>,
    body: Value,
    cbor_hex: Option<String>,
}

fn all() -> Vec<Vector> {
    let v: Value = serde_json::from_str(include_str!("vectors/tm.json")).unwrap();
    v["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| Vector {
            id: v["id"].as_str().unwrap().into(),
            kind: v["kind"].as_str().unwrap().into(),
            transport: v["transport"].as_str().unwrap().into(),
            code: v.get("code").and_then(Value::as_str).map(String::from),
            body: v["body"].clone(),
            cbor_hex: v.get("cbor_hex").and_then(Value::as_str).map(String::from),
        })
        .collect()
}

fn vector(id: &str) -> Vector {
    all().into_iter().find(|v| v.id == id).unwrap()
}

fn cbor_of(m: &SignalMessage) -> Vec<u8> {
    let mut buf = vec![0u8; m.encoded_len()];
    let n = m.encode_cbor(&mut buf).unwrap();
    assert_eq!(n, buf.len(), "encoded_len is exact");
    buf
}

fn model(id: &str) -> SignalMessage {
    json::from_str(&vector(id).body.to_string()).unwrap_or_else(|e| panic!("{id}: {e}"))
}

/// Printed bodies our decoders refuse on purpose, with the exact error and the reason.
fn refused(id: &str) -> Option<fn(&JsonError) -> bool> {
    Some(match id {
        // RFC 9244 Figure 43 puts 'target-protocol' beside 'target' in a
        // 'pre-or-ongoing-mitigation' entry; the module (Section 11.1) has it only inside
        // 'target' (grouping data-channel:target). Not a member there: RFC 7951 strictness.
        "tm-premitigation-notification-01" => {
            |e| matches!(e, JsonError::Syntax(m) if m.contains("unknown field `target-protocol`"))
        }
        // Derived from Figure 4 with a parameter no module defines (Section 7.1.2: 4.00).
        "tm-neg-setup-unknown-param-01" => {
            |e| matches!(e, JsonError::Syntax(m) if m.contains("unknown field `example-unknown-parameter`"))
        }
        _ => return None,
    })
}

#[test]
fn every_printed_signal_body_round_trips_json_model_cbor_model_json() {
    let mut checked = 0;
    for v in all().into_iter().filter(|v| v.transport == "coap") {
        let parsed = json::from_str(&v.body.to_string());
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
        assert_eq!(out, v.body, "{}: JSON round trip", v.id);
        checked += 1;
    }
    assert_eq!(checked, 17, "bodies checked");
}

#[test]
fn cbor_agrees_with_an_independent_mapping() {
    // `cbor_hex` comes from a YANG-to-CBOR mapping built only from RFC 9244 Table 3 and the
    // YANG modules. It writes members in YANG schema order (`id` before `target-prefix`, `link-id`
    // before `unit`), we write every map in ascending key order (RFC 8949 Section 4.2.1), so the
    // bytes agree where the two orders do and otherwise hold the same members: same length,
    // same model.
    let mut checked = 0;
    let mut identical = 0;
    for v in all() {
        let Some(hex) = &v.cbor_hex else { continue };
        if refused(&v.id).is_some() {
            continue;
        }
        let ours = cbor_of(&model(&v.id));
        let theirs = hex::decode(hex).unwrap();
        assert_eq!(ours.len(), theirs.len(), "{}", v.id);
        identical += usize::from(ours == theirs);
        let m = SignalMessage::decode_cbor(&theirs).unwrap();
        assert_eq!(m, model(&v.id), "{}", v.id);
        checked += 1;
    }
    assert_eq!(checked, 17);
    assert_eq!(identical, 7, "where schema order is ascending key order");
}

#[test]
fn figure_43_in_cbor_is_refused_with_the_misplaced_key() {
    // The same mistake on the wire: key 10 (target-protocol, comprehension-required) inside a
    // pre-or-ongoing-mitigation entry (key 138), where the module does not define it.
    let bytes = hex::decode(vector("tm-premitigation-notification-01").cbor_hex.unwrap()).unwrap();
    let err = SignalMessage::decode_cbor(&bytes).unwrap_err();
    assert_eq!(
        err,
        DecodeError::UnknownKey {
            key: keys::TARGET_PROTOCOL,
            within: keys::PRE_OR_ONGOING_MITIGATION
        }
    );
    assert_eq!(err.response_code(), Code::BAD_REQUEST);
    assert_eq!(
        Telemetry::decode_cbor(&bytes).unwrap_err(),
        err,
        "same through the specific type"
    );
    // With 'target-protocol' moved into 'target', where it belongs, the body is valid.
    let mut fixed = vector("tm-premitigation-notification-01").body;
    let entry = &mut fixed["ietf-dots-telemetry:telemetry"]["pre-or-ongoing-mitigation"][0];
    let proto = entry
        .as_object_mut()
        .unwrap()
        .remove("target-protocol")
        .unwrap();
    entry["target"]["target-protocol"] = proto;
    let SignalMessage::Telemetry(t) = json::from_str(&fixed.to_string()).unwrap() else {
        panic!()
    };
    t.validate_response().unwrap();
    let e = &t.pre_or_ongoing_mitigation[0];
    assert_eq!(e.tmid, Some(567));
    assert_eq!(e.target.targets.protocols.as_slice(), &[17]);
    assert_eq!(
        e.attack_detail[0].attack_severity,
        Some(AttackSeverity::High)
    );
    assert_eq!(e.attack_detail[0].start_time, Some(1_618_339_785));
}

#[test]
fn unknown_parameter_in_cbor_is_refused() {
    // Figure 4 with an unknown member; no key exists for it, so it travels as an unassigned
    // comprehension-required key (127): 4.00 (RFC 9244 Section 7.1.2, RFC 9132 Section 6).
    let fig4 = hex::decode(vector("tm-setup-put-01").cbor_hex.unwrap()).unwrap();
    // a1 18cb a1 1881 81 a1 18af a3 ... -> a4 with 187f 61 31 appended to current-config.
    let mut bytes = fig4.clone();
    let at = bytes.iter().position(|b| *b == 0xa3).unwrap();
    bytes[at] = 0xa4;
    bytes.extend_from_slice(&[0x18, 0x7f, 0x61, b'1']);
    let err = TelemetrySetup::decode_cbor(&bytes).unwrap_err();
    assert_eq!(
        err,
        DecodeError::UnknownKey {
            key: 127,
            within: keys::CURRENT_CONFIG
        }
    );
    assert_eq!(err.response_code(), Code::BAD_REQUEST);
    // An unknown comprehension-optional key (250) is ignored instead (RFC 9132 Section 6).
    let mut bytes = fig4;
    bytes[at] = 0xa4;
    bytes.extend_from_slice(&[0x18, 0xfa, 0xf5]);
    TelemetrySetup::decode_cbor(&bytes).unwrap();
}

fn setup(id: &str) -> TelemetrySetup {
    match model(id) {
        SignalMessage::TelemetrySetup(s) => s,
        other => panic!("{id}: {other:?}"),
    }
}

fn telemetry(id: &str) -> Telemetry {
    match model(id) {
        SignalMessage::Telemetry(t) => t,
        other => panic!("{id}: {other:?}"),
    }
}

#[test]
fn printed_requests_are_valid() {
    for id in [
        "tm-setup-put-01",
        "tm-setup-put-02",
        "tm-setup-put-03",
        "tm-pipe-put-01",
        "tm-pipe-put-02",
        "tm-pipe-put-03",
        "tm-pipe-put-04",
        "tm-baseline-put-01",
        "tm-baseline-put-02",
    ] {
        setup(id)
            .validate_request()
            .unwrap_or_else(|e| panic!("{id}: {e}"));
    }
    for id in ["tm-premitigation-put-01", "tm-premitigation-put-02"] {
        telemetry(id)
            .validate_request()
            .unwrap_or_else(|e| panic!("{id}: {e}"));
    }
}

#[test]
fn figure_4_is_typed() {
    let s = setup("tm-setup-put-01");
    let Some(SetupData::CurrentConfig(c)) = &s.telemetry[0].setup else {
        panic!()
    };
    assert_eq!(c.low_percentile, Some(Decimal2::from_hundredths(500)));
    assert_eq!(c.mid_percentile, Some(Decimal2::from_hundredths(6500)));
    assert_eq!(c.high_percentile, Some(Decimal2::from_hundredths(9500)));
    // Figure 5 disables low and mid percentiles with 0.00 / equal values: valid.
    let Some(SetupData::CurrentConfig(c)) = &setup("tm-setup-put-02").telemetry[0].setup else {
        panic!()
    };
    assert_eq!(c.mid_percentile, Some(Decimal2::ZERO));
    // Figure 6.
    let Some(SetupData::CurrentConfig(c)) = &setup("tm-setup-put-03").telemetry[0].setup else {
        panic!()
    };
    assert_eq!(c.server_originated_telemetry, Some(true));
}

#[test]
fn pipes_and_baselines_are_typed() {
    let Some(SetupData::TotalPipeCapacity(p)) = &setup("tm-pipe-put-04").telemetry[0].setup else {
        panic!()
    };
    assert_eq!(p.len(), 2);
    assert_eq!((p[0].link_id.as_str(), p[0].capacity), ("link1", 0));
    assert_eq!(p[1].unit, Unit::MegabitPs);
    let Some(SetupData::Baseline(b)) = &setup("tm-baseline-put-02").telemetry[0].setup else {
        panic!()
    };
    assert_eq!(b[0].id, 1);
    assert_eq!(b[0].targets.prefixes.len(), 2);
    let per_protocol = &b[0].total_traffic_normal_per_protocol;
    assert_eq!(per_protocol[1].protocol, 17);
    assert_eq!(per_protocol[1].gauges.get(Gauge::Peak), Some(10));
}

#[test]
fn derived_error_cases_get_the_rfc_answer() {
    for v in all()
        .into_iter()
        .filter(|v| v.kind == "negative" && v.transport == "coap")
    {
        let parsed = json::from_str(&v.body.to_string());
        let code = match (v.id.as_str(), parsed) {
            // RFC 9244 Section 7.2.1: capacity "0" for every link: 4.00.
            ("tm-neg-pipe-all-zero-01", Ok(SignalMessage::TelemetrySetup(s))) => {
                let e = s.validate_request().unwrap_err();
                assert_eq!(e, ValidationError::PipeAllZero);
                assert_eq!(e.field(), "capacity");
                e.response_code()
            }
            // RFC 9244 Section 8.2: 'target' and one other attribute; without 'target': 4.00.
            ("tm-neg-tm-no-target-01", Ok(SignalMessage::Telemetry(t))) => {
                let e = t.validate_request().unwrap_err();
                assert_eq!(e, ValidationError::MissingTelemetryTarget);
                assert_eq!(e.field(), "target");
                e.response_code()
            }
            // RFC 9244 Section 7.1.2: a value outside the server's range: 4.22. The vector's
            // precondition: the server announces a high-percentile maximum below 99.00.
            ("tm-neg-setup-unacceptable-01", Ok(SignalMessage::TelemetrySetup(s))) => {
                s.validate_request().unwrap();
                let server = TelemetrySetup {
                    max_config_values: Some(TelemetryConfig {
                        high_percentile: Some(Decimal2::from_hundredths(9500)),
                        ..TelemetryConfig::default()
                    }),
                    ..TelemetrySetup::default()
                };
                server.validate_response().unwrap();
                let e = s.check_against(&server).unwrap_err();
                assert_eq!(
                    e,
                    ValidationError::UnacceptableValue {
                        config: "current-config",
                        parameter: "high-percentile"
                    }
                );
                e.response_code()
            }
            // The 4.00 of this vector is for the Uri-Path without 'tsid' (Section 7.1.2), which
            // the session layer checks; the body itself is Figure 4 and valid.
            ("tm-neg-setup-missing-tsid-01", Ok(SignalMessage::TelemetrySetup(s))) => {
                s.validate_request().unwrap();
                Code::BAD_REQUEST
            }
            ("tm-neg-setup-unknown-param-01", Err(e)) => e.response_code(),
            (id, r) => panic!("{id}: unexpected {r:?}"),
        };
        assert_eq!(Some(code.to_string()), v.code, "{}", v.id);
    }
}

#[test]
fn efficacy_update_with_telemetry_figure_45() {
    let hex = vector("tm-efficacy-put-01").cbor_hex.unwrap();
    let bytes = hex::decode(&hex).unwrap();
    let u = EfficacyUpdate::decode_cbor(&bytes).unwrap();
    u.validate().unwrap();
    assert_eq!(
        u.request.entry.scope.attack_status,
        Some(AttackStatus::UnderAttack)
    );
    let t = &u.telemetry.total_attack_traffic[0];
    assert_eq!(
        (t.unit, t.gauges.mid_percentile_g()),
        (Unit::MegabitPs, Some(900))
    );
    let mut buf = [0u8; 64];
    let n = u.encode_cbor(&mut buf).unwrap();
    assert_eq!(hex::encode(&buf[..n]), hex);
    // A telemetry-unaware decoder skips keys 204-207 (comprehension-optional).
    let r = MitigationRequest::decode_cbor(&bytes).unwrap();
    assert_eq!(r, u.request);
    r.validate_efficacy_update().unwrap();
    // The same body as a mitigation-scope: the telemetry is attached to scope 0.
    let m = MitigationScope::decode_cbor(&bytes).unwrap();
    assert_eq!(m.telemetry.get(0), Some(&u.telemetry));
}

#[test]
fn mitigation_status_with_telemetry_figure_47() {
    let SignalMessage::MitigationScope(m) = model("tm-mitigation-status-notification-01") else {
        panic!()
    };
    m.validate_response().unwrap();
    assert_eq!(m.scopes[0].mid, Some(12332));
    let t = m.telemetry.get(0).unwrap();
    assert_eq!(t.attack_detail[0].vendor_id, 32473);
    assert_eq!(t.attack_detail[0].source_count.peak_g(), Some(12683));
    // The stored scope is unchanged by the telemetry next to it.
    assert!(core::mem::size_of_val(&m.scopes[0].scope) <= 512);
}

#[test]
fn figure_36_is_typed() {
    let t = telemetry("tm-premitigation-put-01");
    let e = &t.pre_or_ongoing_mitigation[0];
    assert_eq!(e.target.targets.prefixes[0].to_string(), "2001:db8::1/128");
    let p = &e.total_attack_traffic_protocol[0];
    assert_eq!((p.protocol, p.unit), (17, Unit::MegabitPs));
    assert_eq!(p.gauges.mid_percentile_g(), Some(900));
    assert_eq!(e.attack_detail[0].attack_id, 77);
    // Figure 39: a target only asks for telemetry from the server (Section 8.3).
    let t = telemetry("tm-premitigation-put-02");
    assert!(!t.pre_or_ongoing_mitigation[0].has_telemetry());
    t.validate_request().unwrap();
}

#[test]
fn vendor_mapping_bodies_round_trip_and_validate() {
    for id in [
        "tm-vendor-mapping-post-01",
        "tm-vendor-mapping-get-response-01",
    ] {
        let v = vector(id);
        let body = DataBody::from_json(v.body.to_string().as_bytes())
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        vendor_mapping(&body).validate().unwrap();
        let out: Value = serde_json::from_slice(&body.to_json()).unwrap();
        // RFC 9244 Figure 34 prints `"attack-mapping": []` (a `depth`-pruned GET); the model
        // writes an empty list by leaving the member out, which RFC 7951 reads the same way.
        assert_eq!(out, without_empty_lists(v.body.clone()), "{id}");
    }
    let post = DataBody::from_json(
        vector("tm-vendor-mapping-post-01")
            .body
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    assert_eq!(
        vendor_mapping(&post).description(345, 2),
        Some("Again, include a description of the attack")
    );
    assert_eq!(vendor_mapping(&post).description(345, 3), None);
}

fn without_empty_lists(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !matches!(v, Value::Array(a) if a.is_empty()))
                .map(|(k, v)| (k, without_empty_lists(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(without_empty_lists).collect()),
        other => other,
    }
}

fn vendor_mapping(body: &DataBody) -> &VendorMapping {
    match body {
        DataBody::VendorMapping(m) => m,
        other => panic!("not a vendor-mapping body: {other:?}"),
    }
}

#[test]
fn vendor_mapping_without_last_updated_is_missing_attribute() {
    // RFC 9244 Section 8.1.6: 400 with error-tag "missing-attribute".
    let v = vector("tm-neg-vendor-mapping-missing-01");
    let e = DataBody::from_json(v.body.to_string().as_bytes()).unwrap_err();
    assert_eq!(e.kind, DecodeErrorKind::MissingMember);
    assert_eq!(e.kind.error_tag(), ErrorTag::MissingAttribute);
    assert!(e.message.contains("last-updated"), "{}", e.message);
    assert_eq!(v.code.as_deref(), Some("400"));
}

#[test]
fn unit_config_round_trips() {
    // Not printed in RFC 9244; a unit-config PUT and a server's announcement built by hand.
    let mut c = TelemetryConfig::default();
    c.unit_config
        .push(UnitConfig {
            unit: UnitClass::BytePs,
            unit_status: true,
        })
        .unwrap();
    let s = TelemetrySetup::request(SetupData::CurrentConfig(c));
    s.validate_request().unwrap();
    let m = SignalMessage::TelemetrySetup(s);
    let text = json::to_string(&m);
    assert!(
        text.contains(r#""unit-config":[{"unit":"byte-ps","unit-status":true}]"#),
        "{text}"
    );
    assert_eq!(json::from_str(&text).unwrap(), m);
    assert_eq!(SignalMessage::decode_cbor(&cbor_of(&m)).unwrap(), m);
}
