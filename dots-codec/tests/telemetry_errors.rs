//! One test per error case of the RFC 9244 telemetry bodies: decoding (CBOR and JSON) and
//! stateless validation, each with the CoAP code a DOTS server answers.
#![cfg(feature = "json")]

use dots_codec::cbor::{CborBody, DecodeError};
use dots_codec::coap::Code;
use dots_codec::json::{self, JsonError};
use dots_codec::keys as k;
use dots_codec::model::telemetry::{
    AggregateTalker, AttackDetail, Gauge, Gauges, Interval, PipeCapacity, Sample, SetupData,
    TelemetryConfig, Unit, UnitClass, UnitConfig, UnitTraffic, MAX_ATTACK_DETAILS, MAX_BASELINES,
    MAX_CONNECTION_ENTRIES, MAX_KEYED_TRAFFIC, MAX_LANG_TAG_LEN, MAX_LINK_ID_LEN, MAX_MID_LIST,
    MAX_PIPES, MAX_PRE_OR_ONGOING, MAX_TALKER_CONNECTIONS, MAX_TELEMETRY_SCOPES,
    MAX_TELEMETRY_SETUPS, MAX_TOP_TALKERS, MAX_UNIT_TRAFFIC,
};
use dots_codec::model::{
    CapacityError, Decimal2, EfficacyUpdate, MitigationRequest, MitigationScope, PrefixProblem,
    ScopeTelemetry, SignalMessage, Telemetry, TelemetrySetup, ValidationError, MAX_TEXT_LEN,
};
use serde_json::{json, Value};

fn hex(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).unwrap()
}

fn parse(v: Value) -> Result<SignalMessage, JsonError> {
    json::from_str(&v.to_string())
}

fn setup_json(entry: Value) -> Value {
    json!({"ietf-dots-telemetry:telemetry-setup": {"telemetry": [entry]}})
}

fn tm_json(entry: Value) -> Value {
    json!({"ietf-dots-telemetry:telemetry": {"pre-or-ongoing-mitigation": [entry]}})
}

fn setup(v: Value) -> TelemetrySetup {
    match parse(v).unwrap() {
        SignalMessage::TelemetrySetup(s) => s,
        m => panic!("{m:?}"),
    }
}

fn telemetry(v: Value) -> Telemetry {
    match parse(v).unwrap() {
        SignalMessage::Telemetry(t) => t,
        m => panic!("{m:?}"),
    }
}

fn config(c: Value) -> TelemetrySetup {
    setup(setup_json(json!({ "current-config": c })))
}

fn value_err(r: Result<SignalMessage, JsonError>) -> DecodeError {
    match r {
        Err(JsonError::Value(e)) => e,
        other => panic!("{other:?}"),
    }
}

fn syntax_err(r: Result<SignalMessage, JsonError>, needle: &str) {
    match r {
        Err(e @ JsonError::Syntax(_)) => {
            assert!(e.to_string().contains(needle), "{e}");
            assert_eq!(e.response_code(), Code::BAD_REQUEST);
        }
        other => panic!("{other:?}"),
    }
}

fn full(key: u64, limit: usize) -> DecodeError {
    DecodeError::Capacity {
        key,
        error: CapacityError::TooManyItems { limit },
    }
}

fn bad(e: ValidationError) -> ValidationError {
    assert_eq!(e.response_code(), Code::BAD_REQUEST, "{e}");
    e
}

fn pipe(link: &str, capacity: &str, unit: &str) -> Value {
    json!({"link-id": link, "capacity": capacity, "unit": unit})
}

// ---------------------------------------------------------------------------------------------
// Decoding

#[test]
fn mixed_setup_types_are_4_00() {
    // RFC 9244 Section 7: configuration, pipe and baseline cannot be mixed.
    let e = value_err(parse(setup_json(json!({
        "current-config": {"low-percentile": "5.00"},
        "total-pipe-capacity": [pipe("l", "1", "bit-ps")]
    }))));
    assert_eq!(
        e,
        DecodeError::MixedChoice {
            key: k::TOTAL_PIPE_CAPACITY,
            other: k::CURRENT_CONFIG
        }
    );
    assert_eq!(e.response_code(), Code::BAD_REQUEST);
    // CBOR: {203: {129: [{175: {}, 174: []}]}}.
    let e = TelemetrySetup::decode_cbor(&hex("a1 18cb a1 1881 81 a2 18af a0 18ae 80")).unwrap_err();
    assert_eq!(
        e,
        DecodeError::MixedChoice {
            key: k::BASELINE,
            other: k::CURRENT_CONFIG
        }
    );
    assert!(e.to_string().contains("'baseline'"), "{e}");
}

#[test]
fn cuid_in_a_telemetry_body_is_4_00() {
    // RFC 9244 Sections 7.1.2 and 8.2: 'cuid' (and 'tsid' / 'tmid') MUST NOT be in the body.
    let e = value_err(parse(setup_json(
        json!({"cuid": "x", "current-config": {}}),
    )));
    assert_eq!(e, DecodeError::NotAllowed { key: k::CUID });
    let e = value_err(parse(tm_json(json!({"cdid": "x"}))));
    assert_eq!(e, DecodeError::NotAllowed { key: k::CDID });
    let e = Telemetry::decode_cbor(&hex("a1 18d0 a1 188a 81 a1 04 61 78")).unwrap_err();
    assert_eq!(e, DecodeError::NotAllowed { key: k::CUID });
    assert_eq!(e.response_code(), Code::BAD_REQUEST);
}

#[test]
fn missing_list_keys_and_mandatory_members_are_4_00() {
    let cases = [
        // pipe without capacity / link-id / unit
        (
            "a1 18cb a1 1881 81 a1 1888 81 a2 1886 08 1889 61 6c",
            k::CAPACITY,
        ),
        (
            "a1 18cb a1 1881 81 a1 1888 81 a2 1886 08 18be 01",
            k::LINK_ID,
        ),
        (
            "a1 18cb a1 1881 81 a1 1888 81 a2 1889 61 6c 18be 01",
            k::UNIT,
        ),
        // baseline without id
        ("a1 18cb a1 1881 81 a1 18ae 81 a0", k::ID),
        // unit-config without unit-status
        (
            "a1 18cb a1 1881 81 a1 18af a1 1885 81 a1 1886 01",
            k::UNIT_STATUS,
        ),
        // total-traffic entry without unit
        ("a1 18d0 a1 188a 81 a1 1891 81 a1 188f 01", k::UNIT),
        // total-traffic-protocol entry without protocol
        ("a1 18d0 a1 188a 81 a1 18c3 81 a1 1886 01", k::PROTOCOL),
        // attack-detail without vendor-id / attack-id
        ("a1 18d0 a1 188a 81 a1 18a2 81 a1 18a4 01", k::VENDOR_ID),
        ("a1 18d0 a1 188a 81 a1 18a2 81 a1 18ca 01", k::ATTACK_ID),
        // talker without source-prefix
        (
            "a1 18d0 a1 188a 81 a1 18a2 81 a3 18a4 01 18ca 01 18aa a1 18b8 81 a1 18ab f5",
            k::TM_SOURCE_PREFIX,
        ),
    ];
    for (bytes, key) in cases {
        let e = SignalMessage::decode_cbor(&hex(bytes)).unwrap_err();
        assert_eq!(e, DecodeError::MissingMember { key }, "{bytes}");
        assert_eq!(e.response_code(), Code::BAD_REQUEST);
    }
    // JSON: the same members, through the shared traffic shape and serde.
    let e = value_err(parse(tm_json(json!({"total-traffic": [{"peak-g": "1"}]}))));
    assert_eq!(e, DecodeError::MissingMember { key: k::UNIT });
    syntax_err(
        parse(setup_json(
            json!({"total-pipe-capacity": [{"link-id": "l", "unit": "bit-ps"}]}),
        )),
        "missing field `capacity`",
    );
    syntax_err(
        parse(tm_json(json!({"attack-detail": [{"vendor-id": 1}]}))),
        "missing field `attack-id`",
    );
}

#[test]
fn undefined_enumeration_values_are_4_00() {
    let cases = [
        // unit 25 in a pipe
        (
            "a1 18cb a1 1881 81 a1 1888 81 a3 1886 18 19 1889 61 6c 18be 01",
            k::UNIT,
            25,
        ),
        // measurement-interval 8, measurement-sample 9
        (
            "a1 18cb a1 1881 81 a1 18af a1 18b6 08",
            k::MEASUREMENT_INTERVAL,
            8,
        ),
        (
            "a1 18cb a1 1881 81 a1 18af a1 18b7 09",
            k::MEASUREMENT_SAMPLE,
            9,
        ),
        // unit-class 4
        (
            "a1 18cb a1 1881 81 a1 18af a1 1885 81 a2 1886 04 1887 f5",
            k::UNIT,
            4,
        ),
        // attack-severity 6
        (
            "a1 18d0 a1 188a 81 a1 18a2 81 a3 18a4 01 18ca 01 18a6 06",
            k::ATTACK_SEVERITY,
            6,
        ),
        // supported-query-type 12
        ("a1 18cb a1 18c9 81 0c", k::SUPPORTED_QUERY_TYPE, 12),
    ];
    for (bytes, key, value) in cases {
        let e = SignalMessage::decode_cbor(&hex(bytes)).unwrap_err();
        assert_eq!(e, DecodeError::UnknownEnumValue { key, value }, "{bytes}");
    }
    let e = value_err(parse(setup_json(
        json!({"total-pipe-capacity": [pipe("l", "1", "bit-per-day")]}),
    )));
    assert_eq!(e, DecodeError::InvalidValue { key: k::UNIT });
    let e = value_err(parse(tm_json(json!({"attack-detail": [
        {"vendor-id": 1, "attack-id": 1, "attack-severity": "critical"}]}))));
    assert_eq!(
        e,
        DecodeError::InvalidValue {
            key: k::ATTACK_SEVERITY
        }
    );
}

#[test]
fn wrong_types_and_values_are_4_00() {
    // peak-g as text
    let e = Telemetry::decode_cbor(&hex("a1 18d0 a1 188a 81 a1 1891 81 a2 1886 01 188f 61 31"))
        .unwrap_err();
    assert!(
        matches!(e, DecodeError::WrongType { key: k::PEAK_G, .. }),
        "{e:?}"
    );
    // low-percentile as decimal with exponent -1
    let e = TelemetrySetup::decode_cbor(&hex("a1 18cb a1 1881 81 a1 18af a1 1882 c4 82 20 05"))
        .unwrap_err();
    assert_eq!(
        e,
        DecodeError::InvalidValue {
            key: k::LOW_PERCENTILE
        }
    );
    // talker source-prefix that is not a prefix
    let e = Telemetry::decode_cbor(&hex(
        "a1 18d0 a1 188a 81 a1 18a2 81 a3 18a4 01 18ca 01 18aa a1 18b8 81 a1 18b9 63 31 2e 32",
    ))
    .unwrap_err();
    assert_eq!(
        e,
        DecodeError::InvalidValue {
            key: k::TM_SOURCE_PREFIX
        }
    );
    // JSON: a gauge as a number instead of a string (RFC 7951 Section 6.1)
    syntax_err(
        parse(tm_json(
            json!({"total-traffic": [{"unit": "bit-ps", "peak-g": 5}]}),
        )),
        "uint64",
    );
    // JSON: a percentile with three fraction digits
    syntax_err(
        parse(setup_json(
            json!({"current-config": {"low-percentile": "5.001"}}),
        )),
        "decimal64",
    );
}

#[test]
fn unknown_keys_follow_the_comprehension_ranges() {
    // A comprehension-required unknown key (100) in a pre-or-ongoing entry: 4.00.
    let e = Telemetry::decode_cbor(&hex("a1 18d0 a1 188a 81 a1 1864 00")).unwrap_err();
    assert_eq!(
        e,
        DecodeError::UnknownKey {
            key: 100,
            within: k::PRE_OR_ONGOING_MITIGATION
        }
    );
    // A comprehension-optional unknown key (250) is skipped (RFC 9132 Section 6).
    let t = Telemetry::decode_cbor(&hex("a1 18d0 a1 188a 81 a1 18fa 81 a0")).unwrap();
    assert_eq!(t.pre_or_ongoing_mitigation.len(), 1);
    // So is an RFC 9244 key where the module does not define it (current-g in a baseline's
    // total-traffic-normal): a comprehension-optional key not understood there.
    let s = TelemetrySetup::decode_cbor(&hex(
        "a1 18cb a1 1881 81 a1 18ae 81 a2 18a3 01 188b 81 a2 1886 08 18d1 05",
    ))
    .unwrap();
    let Some(SetupData::Baseline(b)) = &s.telemetry[0].setup else {
        panic!()
    };
    assert_eq!(b[0].total_traffic_normal[0].gauges, Gauges::new());
    // JSON is strict: the member is refused, as each grouping defines its members.
    syntax_err(
        parse(setup_json(
            json!({"baseline": [{"id": 1, "total-traffic-normal": [
            {"unit": "bit-ps", "current-g": "5"}]}]}),
        )),
        "unknown field `current-g`",
    );
    syntax_err(
        parse(tm_json(
            json!({"total-traffic": [{"unit": "bit-ps", "protocol": 6}]}),
        )),
        "unknown field `protocol`",
    );
    syntax_err(
        parse(tm_json(
            json!({"total-traffic-protocol": [{"unit": "bit-ps", "protocol": 6, "port": 1}]}),
        )),
        "unknown field `port`",
    );
    syntax_err(
        parse(
            json!({"ietf-dots-telemetry:telemetry-setup": {"max-config-values": {
            "unit-config": [{"unit": "bit-ps", "unit-status": true}]}}}),
        ),
        "unknown field `unit-config`",
    );
    syntax_err(
        parse(
            json!({"ietf-dots-telemetry:telemetry-setup": {"min-config-values": {
            "server-originated-telemetry": true}}}),
        ),
        "unknown field `server-originated-telemetry`",
    );
    // A pre-or-ongoing talker has per-protocol connections, a scope talker one container.
    syntax_err(
        parse(
            json!({"ietf-dots-signal-channel:mitigation-scope": {"scope": [{
            "alias-name": ["a"], "ietf-dots-telemetry:attack-detail": [{"vendor-id": 1,
            "attack-id": 1, "top-talker": {"talker": [{"source-prefix": "192.0.2.0/24",
            "total-attack-connection-protocol": []}]}}]}]}}),
        ),
        "unknown field `total-attack-connection-protocol`",
    );
    syntax_err(
        parse(tm_json(
            json!({"attack-detail": [{"vendor-id": 1, "attack-id": 1,
            "top-talker": {"talker": [{"source-prefix": "192.0.2.0/24",
            "total-attack-connection": {}}]}}]}),
        )),
        "unknown field `total-attack-connection`",
    );
}

#[test]
fn every_limit_is_4_13() {
    let many = |n: usize, f: &dyn Fn(usize) -> Value| Value::Array((0..n).map(f).collect());
    let cases: Vec<(Value, DecodeError)> = vec![
        (
            json!({"ietf-dots-telemetry:telemetry-setup": {"telemetry":
                many(MAX_TELEMETRY_SETUPS + 1, &|_| json!({}))}}),
            full(k::TELEMETRY, MAX_TELEMETRY_SETUPS),
        ),
        (
            json!({"ietf-dots-telemetry:telemetry": {"pre-or-ongoing-mitigation":
                many(MAX_PRE_OR_ONGOING + 1, &|_| json!({}))}}),
            full(k::PRE_OR_ONGOING_MITIGATION, MAX_PRE_OR_ONGOING),
        ),
        (
            setup_json(json!({"total-pipe-capacity":
                many(MAX_PIPES + 1, &|i| pipe(&format!("l{i}"), "1", "bit-ps"))})),
            full(k::TOTAL_PIPE_CAPACITY, MAX_PIPES),
        ),
        (
            setup_json(json!({"baseline": many(MAX_BASELINES + 1, &|i| json!({"id": i + 1}))})),
            full(k::BASELINE, MAX_BASELINES),
        ),
        (
            tm_json(json!({"total-traffic":
                many(MAX_UNIT_TRAFFIC + 1, &|_| json!({"unit": "bit-ps"}))})),
            full(k::TOTAL_TRAFFIC, MAX_UNIT_TRAFFIC),
        ),
        (
            tm_json(json!({"total-attack-traffic-port":
                many(MAX_KEYED_TRAFFIC + 1, &|i| json!({"unit": "bit-ps", "port": i}))})),
            full(k::TOTAL_ATTACK_TRAFFIC_PORT, MAX_KEYED_TRAFFIC),
        ),
        (
            tm_json(json!({"total-attack-connection-port":
                many(MAX_CONNECTION_ENTRIES + 1, &|i| json!({"protocol": 6, "port": i}))})),
            full(k::TOTAL_ATTACK_CONNECTION_PORT, MAX_CONNECTION_ENTRIES),
        ),
        (
            tm_json(json!({"target": {"mid-list": many(MAX_MID_LIST + 1, &|i| json!(i))}})),
            full(k::MID_LIST, MAX_MID_LIST),
        ),
        (
            tm_json(json!({"attack-detail":
                many(MAX_ATTACK_DETAILS + 1, &|i| json!({"vendor-id": 1, "attack-id": i}))})),
            full(k::ATTACK_DETAIL, MAX_ATTACK_DETAILS),
        ),
        (
            tm_json(
                json!({"attack-detail": [{"vendor-id": 1, "attack-id": 1, "top-talker":
                {"talker": many(MAX_TOP_TALKERS + 1, &|i| json!({"source-prefix":
                    format!("192.0.2.{i}/32")}))}}]}),
            ),
            full(k::TALKER, MAX_TOP_TALKERS),
        ),
        (
            tm_json(
                json!({"attack-detail": [{"vendor-id": 1, "attack-id": 1, "top-talker":
                {"talker": [{"source-prefix": "192.0.2.1/32", "total-attack-connection-protocol":
                    many(MAX_TALKER_CONNECTIONS + 1, &|i| json!({"protocol": i}))}]}}]}),
            ),
            full(k::TOTAL_ATTACK_CONNECTION_PROTOCOL, MAX_TALKER_CONNECTIONS),
        ),
        (
            json!({"ietf-dots-signal-channel:mitigation-scope": {"scope":
                many(MAX_TELEMETRY_SCOPES + 1, &|_| json!({"alias-name": ["a"],
                    "ietf-dots-telemetry:total-attack-traffic": [{"unit": "bit-ps"}]}))}}),
            full(k::SCOPE_TOTAL_ATTACK_TRAFFIC, MAX_TELEMETRY_SCOPES),
        ),
        (
            setup_json(json!({"total-pipe-capacity":
                [pipe(&"x".repeat(MAX_LINK_ID_LEN + 1), "1", "bit-ps")]})),
            DecodeError::Capacity {
                key: k::LINK_ID,
                error: CapacityError::TextTooLong {
                    limit: MAX_LINK_ID_LEN,
                },
            },
        ),
        (
            tm_json(json!({"attack-detail": [{"vendor-id": 1, "attack-id": 1,
                "description-lang": "x".repeat(MAX_LANG_TAG_LEN + 1)}]})),
            DecodeError::Capacity {
                key: k::DESCRIPTION_LANG,
                error: CapacityError::TextTooLong {
                    limit: MAX_LANG_TAG_LEN,
                },
            },
        ),
        (
            tm_json(json!({"attack-detail": [{"vendor-id": 1, "attack-id": 1,
                "attack-description": "x".repeat(MAX_TEXT_LEN + 1)}]})),
            DecodeError::Capacity {
                key: k::ATTACK_DESCRIPTION,
                error: CapacityError::TextTooLong {
                    limit: MAX_TEXT_LEN,
                },
            },
        ),
    ];
    for (body, expect) in cases {
        let e = value_err(parse(body.clone()));
        assert_eq!(e, expect, "{body}");
        assert_eq!(e.response_code(), Code::REQUEST_ENTITY_TOO_LARGE);
    }
    // CBOR: the same limits through the same bounded containers (mid-list of 9; 3 scopes with
    // telemetry).
    let mut b = hex("a1 18d0 a1 188a 81 a1 18bd a1 18ba 89");
    b.extend(1..=9u8);
    assert_eq!(
        Telemetry::decode_cbor(&b),
        Err(full(k::MID_LIST, MAX_MID_LIST))
    );
    let scope = "a2 0d 81 61 61 18cd 81 a1 1886 02";
    let b = hex(&format!("a1 01 a1 02 83 {scope} {scope} {scope}"));
    assert_eq!(
        MitigationScope::decode_cbor(&b),
        Err(full(k::SCOPE_TOTAL_ATTACK_TRAFFIC, MAX_TELEMETRY_SCOPES))
    );
    // Scopes without telemetry do not count.
    let plain = "a1 0d 81 61 61";
    let b = hex(&format!("a1 01 a1 02 84 {scope} {plain} {plain} {scope}"));
    let m = MitigationScope::decode_cbor(&b).unwrap();
    assert_eq!(
        m.telemetry.iter().map(|(i, _)| i).collect::<Vec<_>>(),
        [0, 3]
    );
}

// ---------------------------------------------------------------------------------------------
// Validation

#[test]
fn a_request_carries_exactly_one_entry() {
    let two = json!({"current-config": {}});
    let s =
        setup(json!({"ietf-dots-telemetry:telemetry-setup": {"telemetry": [two.clone(), two]}}));
    assert_eq!(
        bad(s.validate_request().unwrap_err()),
        ValidationError::EntryCount {
            field: "telemetry",
            count: 2
        }
    );
    let s = setup(json!({"ietf-dots-telemetry:telemetry-setup": {}}));
    assert_eq!(
        s.validate_request(),
        Err(ValidationError::EntryCount {
            field: "telemetry",
            count: 0
        })
    );
    let e = json!({"target": {"alias-name": ["a"]}});
    let t = telemetry(
        json!({"ietf-dots-telemetry:telemetry": {"pre-or-ongoing-mitigation": [e.clone(), e]}}),
    );
    assert_eq!(
        bad(t.validate_request().unwrap_err()),
        ValidationError::EntryCount {
            field: "pre-or-ongoing-mitigation",
            count: 2
        }
    );
}

#[test]
fn server_only_members_in_requests_are_4_00() {
    let s = setup(setup_json(
        json!({"tsid": 7, "current-config": {"low-percentile": "1.00"}}),
    ));
    assert_eq!(
        bad(s.validate_request().unwrap_err()),
        ValidationError::ServerOnlyMember { field: "tsid" }
    );
    let mut s = config(json!({"low-percentile": "1.00"}));
    s.max_config_values = Some(TelemetryConfig::default());
    assert_eq!(
        s.validate_request(),
        Err(ValidationError::ServerOnlyMember {
            field: "max-config-values"
        })
    );
    let t = telemetry(tm_json(json!({"tmid": 5, "target": {"alias-name": ["a"]}})));
    assert_eq!(
        bad(t.validate_request().unwrap_err()),
        ValidationError::ServerOnlyMember { field: "tmid" }
    );
    // RFC 9244 Section 9.1: total-traffic and total-attack-connection are server-to-client.
    let mut u = efficacy();
    u.telemetry
        .total_traffic
        .push(traffic(Unit::BitPs))
        .unwrap();
    assert_eq!(
        bad(u.validate().unwrap_err()),
        ValidationError::ServerOnlyMember {
            field: "total-traffic"
        }
    );
    let mut u = efficacy();
    u.telemetry
        .total_attack_connection
        .connection_c
        .set(Gauge::Peak, Some(1));
    assert_eq!(
        u.validate(),
        Err(ValidationError::ServerOnlyMember {
            field: "total-attack-connection"
        })
    );
}

fn traffic(unit: Unit) -> UnitTraffic {
    UnitTraffic {
        unit,
        gauges: Gauges::new().with(Gauge::MidPercentile, 900),
    }
}

fn efficacy() -> EfficacyUpdate {
    let SignalMessage::MitigationScope(m) =
        parse(json!({"ietf-dots-signal-channel:mitigation-scope":
        {"scope": [{"alias-name": ["https1"], "attack-status": "under-attack"}]}}))
        .unwrap()
    else {
        panic!()
    };
    let u = EfficacyUpdate {
        request: MitigationRequest {
            entry: m.scopes[0].clone(),
        },
        telemetry: ScopeTelemetry::default(),
    };
    u.validate().unwrap();
    u
}

#[test]
fn empty_setup_data_is_4_00() {
    // "At least one configurable attribute MUST be present in the PUT request."
    assert_eq!(
        bad(config(json!({})).validate_request().unwrap_err()),
        ValidationError::EmptyMember {
            field: "current-config"
        }
    );
    let s = setup(setup_json(json!({"total-pipe-capacity": []})));
    assert_eq!(
        s.validate_request(),
        Err(ValidationError::EmptyMember {
            field: "total-pipe-capacity"
        })
    );
    let s = setup(setup_json(json!({})));
    assert_eq!(
        s.validate_request(),
        Err(ValidationError::EmptyMember { field: "telemetry" })
    );
}

#[test]
fn values_out_of_range_are_4_00() {
    for (c, field) in [
        (json!({"high-percentile": "100.01"}), "high-percentile"),
        (json!({"low-percentile": "-1.00"}), "low-percentile"),
        (
            json!({"telemetry-notify-interval": 0}),
            "telemetry-notify-interval",
        ),
        (
            json!({"telemetry-notify-interval": 3601}),
            "telemetry-notify-interval",
        ),
    ] {
        assert_eq!(
            bad(config(c.clone()).validate_request().unwrap_err()),
            ValidationError::OutOfRange { field },
            "{c}"
        );
    }
    // YANG `must '. >= 1'` on the baseline id.
    let s = setup(setup_json(json!({"baseline": [{"id": 0}]})));
    assert_eq!(
        s.validate_request(),
        Err(ValidationError::OutOfRange { field: "id" })
    );
    config(json!({"high-percentile": "100.00", "telemetry-notify-interval": 3600}))
        .validate_request()
        .unwrap();
}

#[test]
fn percentiles_must_be_ordered() {
    let e = config(json!({"low-percentile": "20.00", "mid-percentile": "10.00"}))
        .validate_request()
        .unwrap_err();
    assert_eq!(
        bad(e),
        ValidationError::ValueBelow {
            field: "mid-percentile",
            other: "low-percentile"
        }
    );
    // Absent leaves take their YANG defaults (low 10, mid 50, high 90): high 40 < mid 50.
    assert_eq!(
        config(json!({"high-percentile": "40.00"})).validate_request(),
        Err(ValidationError::ValueBelow {
            field: "high-percentile",
            other: "mid-percentile"
        })
    );
    // Equal values disable a percentile (Figure 5): valid.
    config(json!({"low-percentile": "0.00", "mid-percentile": "0.00", "high-percentile": "95.00"}))
        .validate_request()
        .unwrap();
    // A server's maximum below its minimum.
    let mut s = TelemetrySetup {
        max_config_values: Some(TelemetryConfig {
            telemetry_notify_interval: Some(10),
            ..TelemetryConfig::default()
        }),
        min_config_values: Some(TelemetryConfig {
            telemetry_notify_interval: Some(20),
            ..TelemetryConfig::default()
        }),
        ..TelemetrySetup::default()
    };
    assert_eq!(
        s.validate_response(),
        Err(ValidationError::ValueBelow {
            field: "max-config-values",
            other: "min-config-values"
        })
    );
    s.min_config_values = Some(TelemetryConfig {
        telemetry_notify_interval: Some(5),
        ..TelemetryConfig::default()
    });
    s.validate_response().unwrap();
}

#[test]
fn attack_end_before_start_is_4_00() {
    let t = telemetry(tm_json(
        json!({"target": {"alias-name": ["a"]}, "attack-detail": [
        {"vendor-id": 1, "attack-id": 1, "start-time": "200", "end-time": "100"}]}),
    ));
    assert_eq!(
        bad(t.validate_request().unwrap_err()),
        ValidationError::ValueBelow {
            field: "end-time",
            other: "start-time"
        }
    );
}

#[test]
fn sample_must_be_shorter_than_interval() {
    let s = config(json!({"measurement-interval": "5-minutes", "measurement-sample": "5-minutes"}));
    assert_eq!(
        bad(s.validate_request().unwrap_err()),
        ValidationError::SampleNotBelowInterval
    );
    config(json!({"measurement-interval": "hour", "measurement-sample": "minute"}))
        .validate_request()
        .unwrap();
    assert!(Sample::Hour.seconds() < Interval::Day.seconds());
}

#[test]
fn duplicate_list_keys_are_4_00() {
    let u = json!({"unit": "bit-ps", "unit-status": true});
    assert_eq!(
        bad(config(json!({"unit-config": [u.clone(), u]}))
            .validate_request()
            .unwrap_err()),
        ValidationError::DuplicateListKey {
            field: "unit-config"
        }
    );
    let s = setup(setup_json(json!({"total-pipe-capacity":
        [pipe("l", "1", "bit-ps"), pipe("l", "2", "bit-ps")]})));
    assert_eq!(
        s.validate_request(),
        Err(ValidationError::DuplicateListKey {
            field: "total-pipe-capacity"
        })
    );
    let s = setup(setup_json(json!({"baseline": [{"id": 1}, {"id": 1}]})));
    assert_eq!(
        s.validate_request(),
        Err(ValidationError::DuplicateListKey { field: "baseline" })
    );
    let t = telemetry(tm_json(
        json!({"target": {"alias-name": ["a"]}, "total-attack-traffic":
        [{"unit": "bit-ps"}, {"unit": "bit-ps"}]}),
    ));
    assert_eq!(
        t.validate_request(),
        Err(ValidationError::DuplicateListKey {
            field: "total-attack-traffic"
        })
    );
    let d = json!({"vendor-id": 1, "attack-id": 1});
    let t = telemetry(tm_json(
        json!({"target": {"alias-name": ["a"]}, "attack-detail": [d.clone(), d]}),
    ));
    assert_eq!(
        t.validate_request(),
        Err(ValidationError::DuplicateListKey {
            field: "attack-detail"
        })
    );
    let p = json!({"source-prefix": "192.0.2.0/24"});
    let t = telemetry(tm_json(
        json!({"target": {"alias-name": ["a"]}, "attack-detail": [
        {"vendor-id": 1, "attack-id": 1, "top-talker": {"talker": [p.clone(), p]}}]}),
    ));
    assert_eq!(
        t.validate_request(),
        Err(ValidationError::DuplicateListKey { field: "talker" })
    );
}

#[test]
fn all_zero_pipe_is_4_00() {
    // RFC 9244 Section 7.2.1; one zero link among others is a removal and valid (Figure 17).
    let s = setup(setup_json(
        json!({"total-pipe-capacity": [pipe("l", "0", "bit-ps")]}),
    ));
    assert_eq!(
        bad(s.validate_request().unwrap_err()),
        ValidationError::PipeAllZero
    );
    setup(setup_json(json!({"total-pipe-capacity":
        [pipe("l", "0", "bit-ps"), pipe("m", "5", "bit-ps")]})))
    .validate_request()
    .unwrap();
}

#[test]
fn one_unit_per_class_per_link() {
    // RFC 9244 Section 7.2: auto-scaling, "only one unit per unit class is allowed".
    let s = setup(setup_json(json!({"total-pipe-capacity":
        [pipe("l", "1", "bit-ps"), pipe("l", "1", "megabit-ps")]})));
    assert_eq!(
        bad(s.validate_request().unwrap_err()),
        ValidationError::UnitClassRepeated {
            field: "total-pipe-capacity"
        }
    );
    // Bits and bytes per second together are allowed (Section 7.1.2).
    setup(setup_json(json!({"total-pipe-capacity":
        [pipe("l", "1", "bit-ps"), pipe("l", "1", "megabyte-ps")]})))
    .validate_request()
    .unwrap();
}

#[test]
fn telemetry_without_target_is_4_00() {
    // A target with only a port range or protocol identifies nothing (Section 8.1.1).
    let t = telemetry(tm_json(json!({"target": {"target-protocol": [17]},
        "total-attack-traffic": [{"unit": "bit-ps"}]})));
    assert_eq!(
        bad(t.validate_request().unwrap_err()),
        ValidationError::MissingTelemetryTarget
    );
    // mid-list alone is a target.
    telemetry(tm_json(
        json!({"target": {"mid-list": [123]}, "total-attack-traffic": [{"unit": "bit-ps"}]}),
    ))
    .validate_request()
    .unwrap();
}

#[test]
fn server_telemetry_needs_data_besides_the_target() {
    let t = telemetry(tm_json(
        json!({"tmid": 567, "target": {"alias-name": ["a"]}}),
    ));
    assert_eq!(
        bad(t.validate_response().unwrap_err()),
        ValidationError::MissingTelemetryData
    );
}

#[test]
fn members_outside_their_container_are_4_00() {
    // Built by hand (the decoders cannot produce them): unit-config in max-config-values,
    // server-originated-telemetry in min-config-values, current-g in a baseline.
    let mut c = TelemetryConfig::default();
    c.unit_config
        .push(UnitConfig {
            unit: UnitClass::BitPs,
            unit_status: true,
        })
        .unwrap();
    let s = TelemetrySetup {
        max_config_values: Some(c),
        ..TelemetrySetup::default()
    };
    assert_eq!(
        bad(s.validate_response().unwrap_err()),
        ValidationError::NotAllowedHere {
            field: "unit-config",
            within: "max-config-values"
        }
    );
    let s = TelemetrySetup {
        min_config_values: Some(TelemetryConfig {
            server_originated_telemetry: Some(true),
            ..TelemetryConfig::default()
        }),
        ..TelemetrySetup::default()
    };
    assert_eq!(
        s.validate_response(),
        Err(ValidationError::NotAllowedHere {
            field: "server-originated-telemetry",
            within: "min-config-values"
        })
    );
    let mut s = setup(setup_json(
        json!({"baseline": [{"id": 1, "total-traffic-normal":
        [{"unit": "bit-ps", "peak-g": "5"}]}]}),
    ));
    s.validate_request().unwrap();
    let Some(SetupData::Baseline(b)) = &mut s.telemetry[0].setup else {
        panic!()
    };
    b[0].total_traffic_normal[0]
        .gauges
        .set(Gauge::Current, Some(1));
    assert_eq!(
        s.validate_request(),
        Err(ValidationError::NotAllowedHere {
            field: "current-g",
            within: "total-traffic-normal"
        })
    );
    // The encoders never write it there.
    let m = SignalMessage::TelemetrySetup(s);
    assert!(!json::to_string(&m).contains("current-g"));
}

#[test]
fn dangling_scope_telemetry_is_reported() {
    let SignalMessage::MitigationScope(mut m) =
        parse(json!({"ietf-dots-signal-channel:mitigation-scope":
        {"scope": [{"mid": 1, "alias-name": ["a"]}]}}))
        .unwrap()
    else {
        panic!()
    };
    let mut t = ScopeTelemetry::default();
    t.total_traffic.push(traffic(Unit::BitPs)).unwrap();
    m.telemetry.set(3, t.clone()).unwrap();
    assert_eq!(
        bad(m.validate_response().unwrap_err()),
        ValidationError::DanglingTelemetry { scope: 3 }
    );
    m.telemetry.set(3, ScopeTelemetry::default()).unwrap();
    m.telemetry.set(0, t).unwrap();
    m.validate_response().unwrap();
    assert_eq!(
        m.telemetry.set(300, ScopeTelemetry::default()),
        Err(CapacityError::TooManyItems {
            limit: MAX_TELEMETRY_SCOPES
        })
    );
}

#[test]
fn invalid_text_is_4_00() {
    let s = setup(setup_json(
        json!({"total-pipe-capacity": [pipe("", "1", "bit-ps")]}),
    ));
    assert_eq!(
        bad(s.validate_request().unwrap_err()),
        ValidationError::InvalidText { field: "link-id" }
    );
    let t = |d: Value| {
        telemetry(tm_json(
            json!({"target": {"alias-name": ["a"]}, "attack-detail": [d]}),
        ))
    };
    assert_eq!(
        t(json!({"vendor-id": 1, "attack-id": 1, "description-lang": "en_US"})).validate_request(),
        Err(ValidationError::InvalidText {
            field: "description-lang"
        })
    );
    assert_eq!(
        t(json!({"vendor-id": 1, "attack-id": 1, "attack-description": ""})).validate_request(),
        Err(ValidationError::InvalidText {
            field: "attack-description"
        })
    );
    t(json!({"vendor-id": 1, "attack-id": 1, "description-lang": "en-US", "attack-description": "SYN flood"}))
        .validate_request()
        .unwrap();
    let t = telemetry(tm_json(json!({"target": {"target-fqdn": ["not a name"]}})));
    assert_eq!(
        t.validate_request(),
        Err(ValidationError::InvalidText {
            field: "target-fqdn"
        })
    );
}

#[test]
fn reversed_ranges_and_bad_prefixes_are_4_00() {
    let talker = |t: Value| {
        telemetry(tm_json(
            json!({"target": {"alias-name": ["a"]}, "attack-detail": [
            {"vendor-id": 1, "attack-id": 1, "top-talker": {"talker": [t]}}]}),
        ))
    };
    assert_eq!(
        bad(talker(json!({"source-prefix": "192.0.2.0/24",
            "source-port-range": [{"lower-port": 9, "upper-port": 8}]}))
        .validate_request()
        .unwrap_err()),
        ValidationError::ReversedRange {
            field: "source-port-range",
            lower: 9,
            upper: 8
        }
    );
    assert_eq!(
        talker(json!({"source-prefix": "192.0.2.0/24",
            "source-icmp-type-range": [{"lower-type": 9, "upper-type": 8}]}))
        .validate_request(),
        Err(ValidationError::ReversedRange {
            field: "source-icmp-type-range",
            lower: 9,
            upper: 8
        })
    );
    let t = telemetry(tm_json(
        json!({"target": {"target-prefix": ["127.0.0.1/32"]}}),
    ));
    assert_eq!(
        t.validate_request(),
        Err(ValidationError::InvalidPrefix {
            field: "target-prefix",
            prefix: "127.0.0.1/32".parse().unwrap(),
            problem: PrefixProblem::Loopback
        })
    );
    let s = setup(setup_json(
        json!({"baseline": [{"id": 1, "target-prefix": ["ff02::1/128"]}]}),
    ));
    assert!(matches!(
        s.validate_request(),
        Err(ValidationError::InvalidPrefix {
            problem: PrefixProblem::Multicast,
            ..
        })
    ));
}

#[test]
fn values_the_server_does_not_accept_are_4_22() {
    let server = TelemetrySetup {
        max_config_values: Some(TelemetryConfig {
            measurement_interval: Some(Interval::Day),
            measurement_sample: Some(Sample::Minute),
            low_percentile: Some(Decimal2::from_hundredths(2000)),
            mid_percentile: Some(Decimal2::from_hundredths(6000)),
            high_percentile: Some(Decimal2::from_hundredths(9500)),
            server_originated_telemetry: Some(false),
            telemetry_notify_interval: Some(600),
            ..TelemetryConfig::default()
        }),
        min_config_values: Some(TelemetryConfig {
            measurement_interval: Some(Interval::Minutes10),
            measurement_sample: Some(Sample::Seconds5),
            low_percentile: Some(Decimal2::from_hundredths(100)),
            telemetry_notify_interval: Some(60),
            ..TelemetryConfig::default()
        }),
        supported_unit_classes: [UnitConfig {
            unit: UnitClass::BitPs,
            unit_status: true,
        }]
        .into_iter()
        .collect(),
        ..TelemetrySetup::default()
    };
    server.validate_response().unwrap();
    let cases = [
        (json!({"low-percentile": "0.50"}), "low-percentile"),
        (json!({"mid-percentile": "70.00"}), "mid-percentile"),
        (
            json!({"measurement-interval": "week"}),
            "measurement-interval",
        ),
        (
            json!({"measurement-interval": "5-minutes"}),
            "measurement-interval",
        ),
        (
            json!({"measurement-sample": "second"}),
            "measurement-sample",
        ),
        (
            json!({"telemetry-notify-interval": 30}),
            "telemetry-notify-interval",
        ),
        (
            json!({"server-originated-telemetry": true}),
            "server-originated-telemetry",
        ),
        (
            json!({"unit-config": [{"unit": "packet-ps", "unit-status": true}]}),
            "unit-config",
        ),
    ];
    for (c, parameter) in cases {
        let s = config(c.clone());
        let e = s.check_against(&server).unwrap_err();
        assert_eq!(
            e,
            ValidationError::UnacceptableValue {
                config: "current-config",
                parameter
            },
            "{c}"
        );
        assert_eq!(e.response_code(), Code::UNPROCESSABLE_ENTITY);
    }
    config(
        json!({"low-percentile": "5.00", "measurement-interval": "hour",
        "unit-config": [{"unit": "bit-ps", "unit-status": true},
                        {"unit": "packet-ps", "unit-status": false}]}),
    )
    .check_against(&server)
    .unwrap();
}

#[test]
fn a_plain_request_type_ignores_scope_telemetry() {
    // RFC 9132 Section 6: comprehension-optional members a receiver does not understand are
    // ignored; MitigationRequest is such a receiver for keys 204-207, EfficacyUpdate is not.
    let b = hex("a1 01 a1 02 81 a3 0d 81 61 61 181d 01 18cd 81 a1 1886 02");
    assert!(MitigationRequest::decode_cbor(&b).is_ok());
    let u = EfficacyUpdate::decode_cbor(&b).unwrap();
    assert_eq!(u.telemetry.total_attack_traffic[0].unit, Unit::BitPs);
    // A telemetry key that is not a scope member (145, the pre-or-ongoing total-traffic) is
    // not understood in a scope: skipped as comprehension-optional.
    let b = hex("a1 01 a1 02 81 a3 0d 81 61 61 181d 01 1891 81 a1 1886 02");
    assert!(EfficacyUpdate::decode_cbor(&b)
        .unwrap()
        .telemetry
        .is_empty());
}

#[test]
fn talker_shapes_are_distinct_types() {
    // Compile-time: a scope's attack detail takes aggregate talkers.
    let mut d: AttackDetail<_> = AttackDetail::new(1, 2);
    let t: AggregateTalker = AggregateTalker::new("192.0.2.0/24".parse().unwrap());
    d.top_talker.push(t).unwrap();
    let mut s = ScopeTelemetry::default();
    s.attack_detail.push(d).unwrap();
    s.validate().unwrap();
    let _ = PipeCapacity {
        link_id: "l".try_into().unwrap(),
        capacity: 1,
        unit: Unit::BitPs,
    };
}

#[test]
fn overlapping_pipes_is_conflict_cause_5() {
    // RFC 9244 Section 13.2 registers code 5; RFC 9066 Section 7.2 registered 4.
    use dots_codec::model::ConflictCause;
    assert_eq!(ConflictCause::OverlappingPipes.value(), 5);
    assert_eq!(
        ConflictCause::from_name("overlapping-pipes"),
        Some(ConflictCause::OverlappingPipes)
    );
    assert_eq!(
        ConflictCause::from_value(4),
        Some(ConflictCause::RequestRejectedLegitimateTraffic)
    );
    assert_eq!(
        ConflictCause::RequestRejectedLegitimateTraffic.name(),
        "request-rejected-legitimate-traffic"
    );
    assert_eq!(ConflictCause::from_value(6), None);
    // In a 4.09 body: {1: {2: [{17: {19: 5}}]}}.
    let m = MitigationScope::decode_cbor(&hex("a1 01 a1 02 81 a1 11 a1 13 05")).unwrap();
    let c = m.scopes[0].conflict_information.as_ref().unwrap();
    assert_eq!(c.conflict_cause, Some(ConflictCause::OverlappingPipes));
}
