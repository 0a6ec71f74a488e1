//! RFC 7951 strictness of the JSON encoding, one test per error case.
#![cfg(feature = "json")]

use dots_codec::cbor::DecodeError;
use dots_codec::coap::Code;
use dots_codec::json::{self, JsonError};
use dots_codec::keys;
use dots_codec::model::{CapacityError, SignalMessage};

fn scope(members: &str) -> String {
    format!(r#"{{"ietf-dots-signal-channel:mitigation-scope":{{"scope":[{{{members}}}]}}}}"#)
}

fn syntax(s: &str, needle: &str) {
    match json::from_str(s) {
        Err(JsonError::Syntax(m)) => assert!(m.contains(needle), "{m}"),
        other => panic!("{s}: {other:?}"),
    }
}

#[test]
fn unknown_and_duplicate_members() {
    syntax(
        &scope(r#""target-prefix":["1.2.3.0/24"],"colour":"red""#),
        "unknown field `colour`",
    );
    syntax(
        &scope(r#""lifetime":1,"lifetime":2"#),
        "duplicate field `lifetime`",
    );
    // RFC 7951: an augmenting member needs its module prefix, a same-module member must not have it.
    syntax(
        &scope(r#""source-prefix":["1.2.3.0/24"]"#),
        "unknown field `source-prefix`",
    );
    syntax(
        &scope(r#""ietf-dots-signal-channel:lifetime":3600"#),
        "unknown field `ietf-dots-signal-channel:lifetime`",
    );
    syntax(
        r#"{"mitigation-scope":{"scope":[]}}"#,
        "unknown field `mitigation-scope`",
    );
}

#[test]
fn yang_types_are_strict() {
    // uint64 and decimal64 are strings, uint32 a number, enumerations names.
    syntax(&scope(r#""bytes-dropped":5"#), "invalid type");
    syntax(&scope(r#""bytes-dropped":"-5""#), "invalid value");
    syntax(&scope(r#""mid":"5""#), "invalid type");
    syntax(&scope(r#""target-protocol":[256]"#), "invalid value");
    syntax(
        r#"{"ietf-dots-signal-channel:signal-config":{"idle-config":{"ack-timeout":{"current-value-decimal":2}}}}"#,
        "invalid type",
    );
    syntax(
        r#"{"ietf-dots-signal-channel:signal-config":{"idle-config":{"ack-timeout":{"current-value-decimal":"2.001"}}}}"#,
        "invalid value",
    );
    assert_eq!(
        json::from_str(&scope(r#""status":"attack-mitigated""#)),
        Err(JsonError::Value(DecodeError::InvalidValue {
            key: keys::STATUS
        }))
    );
    assert_eq!(
        json::from_str(&scope(r#""status":2"#)).map_err(|e| matches!(e, JsonError::Syntax(_))),
        Err(true)
    );
    assert_eq!(
        json::from_str(&scope(r#""lifetime":-2"#)),
        Err(JsonError::Value(DecodeError::OutOfRange {
            key: keys::LIFETIME
        }))
    );
    assert_eq!(
        json::from_str(&scope(r#""target-prefix":["1.2.3.0/33"]"#)),
        Err(JsonError::Value(DecodeError::InvalidValue {
            key: keys::TARGET_PREFIX
        }))
    );
}

#[test]
fn message_counts_and_limits() {
    assert_eq!(
        json::from_str("{}"),
        Err(JsonError::Value(DecodeError::MessageCount { count: 0 }))
    );
    let two = r#"{"ietf-dots-signal-channel:heartbeat":{"peer-hb-status":true},
                  "ietf-dots-signal-channel:mitigation-scope":{"scope":[]}}"#;
    assert_eq!(
        json::from_str(two),
        Err(JsonError::Value(DecodeError::MessageCount { count: 2 }))
    );
    let nine: Vec<String> = (0..9).map(|i| format!("\"10.0.{i}.0/24\"")).collect();
    let e =
        json::from_str(&scope(&format!(r#""target-prefix":[{}]"#, nine.join(",")))).unwrap_err();
    assert_eq!(
        e,
        JsonError::Value(DecodeError::Capacity {
            key: keys::TARGET_PREFIX,
            error: CapacityError::TooManyItems { limit: 8 }
        })
    );
    assert_eq!(e.response_code(), Code::REQUEST_ENTITY_TOO_LARGE);
    syntax("not json", "expected");
}

#[test]
fn output_follows_rfc_7951() {
    let m = json::from_str(&scope(
        r#""mid":7,"mitigation-start":"1507818434","bytes-dropped":"18446744073709551615",
           "ietf-dots-call-home:source-prefix":["2001:db8::/32"],
           "ietf-dots-signal-control:acl-list":[{"acl-name":"a","activation-type":"immediate"}]"#,
    ))
    .unwrap();
    let text = json::to_string(&m);
    for needle in [
        r#""mitigation-start":"1507818434""#,
        r#""bytes-dropped":"18446744073709551615""#,
        r#""ietf-dots-call-home:source-prefix":["2001:db8::/32"]"#,
        r#""ietf-dots-signal-control:acl-list":[{"acl-name":"a","activation-type":"immediate"}]"#,
    ] {
        assert!(text.contains(needle), "{text} lacks {needle}");
    }
    assert!(matches!(m, SignalMessage::MitigationScope(_)));
    let c = json::from_str(
        r#"{"ietf-dots-signal-channel:signal-config":{"idle-config":{"ack-timeout":{"current-value-decimal":"2"},"ietf-dots-robust-trans:non-partial-timeout":{"current-value-decimal":"247"}}}}"#,
    )
    .unwrap();
    let text = json::to_string(&c);
    assert!(
        text.contains(r#""ack-timeout":{"current-value-decimal":"2.00"}"#),
        "{text}"
    );
    assert!(
        text.contains(
            r#""ietf-dots-robust-trans:non-partial-timeout":{"current-value-decimal":"247.00"}"#
        ),
        "{text}"
    );
}
