//! One test per CBOR decoding error case, and the encoder's buffer contract.

use dots_codec::cbor::{encode_scopes, encoded_scopes_len, CborBody, DecodeError, EncodeError};
use dots_codec::coap::Code;
use dots_codec::keys;
use dots_codec::model::{
    CapacityError, Decimal2, Heartbeat, Lifetime, MitigationRequest, MitigationScope,
    RedirectedSignal, Scope, ScopeEntry, SignalConfig, SignalMessage, MAX_SCOPES,
};

fn hex(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).unwrap()
}

const FIG8: &str = "a101a10281a4068274323030313a6462383a363430313a3a312f31323874323030313a6462383a363430313a3a322f3132380783a1081850a1081901bba108191f900a81060e190e10";

/// `{1: {2: [ {6: ["1.2.3.0/24"], 14: <lifetime>, ...extra} ]}}`, built from an entry body.
fn one_scope(entry_members: &str, members: u8) -> Vec<u8> {
    let mut b = hex("a101a10281");
    b.push(0xa0 + members);
    b.extend(hex(entry_members));
    b
}

const PREFIX: &str = "06 81 6a 312e322e332e302f3234"; // 6: ["1.2.3.0/24"]
const LIFETIME: &str = "0e 190e10"; // 14: 3600

fn decode(b: &[u8]) -> Result<MitigationRequest, DecodeError> {
    MitigationRequest::decode_cbor(b)
}

#[test]
fn baseline_decodes() {
    let r = decode(&one_scope(&format!("{PREFIX} {LIFETIME}"), 2)).unwrap();
    assert_eq!(r.entry.scope.lifetime, Some(Lifetime::Seconds(3600)));
    r.validate().unwrap();
}

#[test]
fn empty_and_truncated_input() {
    assert_eq!(decode(&[]), Err(DecodeError::Truncated));
    let fig8 = hex(FIG8);
    for n in 0..fig8.len() {
        assert_eq!(
            decode(&fig8[..n]),
            Err(DecodeError::Truncated),
            "cut at {n}"
        );
    }
}

#[test]
fn trailing_bytes() {
    let mut b = hex(FIG8);
    b.push(0x00);
    assert_eq!(
        decode(&b),
        Err(DecodeError::TrailingBytes {
            offset: b.len() - 1
        })
    );
}

#[test]
fn malformed_cbor() {
    // Reserved additional information 28 where the scope map should be.
    let b = hex("a101a102811c");
    assert!(matches!(
        decode(&b),
        Err(DecodeError::Malformed { offset: 5 })
    ));
    // Invalid UTF-8 in a prefix.
    let b = one_scope(&format!("06 81 62 c328 {LIFETIME}"), 2);
    assert!(matches!(decode(&b), Err(DecodeError::Malformed { .. })));
    // A stray break.
    assert!(matches!(
        decode(&hex("a1 01 ff")),
        Err(DecodeError::Malformed { .. })
    ));
}

#[test]
fn duplicate_keys() {
    let b = one_scope(&format!("{PREFIX} {LIFETIME} {LIFETIME}"), 3);
    assert_eq!(
        decode(&b),
        Err(DecodeError::DuplicateKey {
            key: keys::LIFETIME
        })
    );
    let b = hex("a2 01a10280 01a10280");
    assert_eq!(
        MitigationScope::decode_cbor(&b),
        Err(DecodeError::DuplicateKey {
            key: keys::MITIGATION_SCOPE
        })
    );
}

#[test]
fn wrong_major_types() {
    // lifetime as text
    let b = one_scope(&format!("{PREFIX} 0e 6133"), 2);
    assert!(matches!(
        decode(&b),
        Err(DecodeError::WrongType {
            key: keys::LIFETIME,
            ..
        })
    ));
    // target-prefix not an array
    let b = one_scope(&format!("06 6a 312e322e332e302f3234 {LIFETIME}"), 2);
    assert!(matches!(
        decode(&b),
        Err(DecodeError::WrongType {
            key: keys::TARGET_PREFIX,
            ..
        })
    ));
    // trigger-mitigation as integer 1
    let b = one_scope(&format!("{PREFIX} {LIFETIME} 182d 01"), 3);
    assert!(matches!(
        decode(&b),
        Err(DecodeError::WrongType {
            key: keys::TRIGGER_MITIGATION,
            ..
        })
    ));
    // the body is not a map
    assert!(matches!(
        decode(&hex("80")),
        Err(DecodeError::WrongType { key: 0, .. })
    ));
    // mitigation-start with tag 1 (RFC 9132: no tag)
    let b = one_scope(&format!("{PREFIX} {LIFETIME} 0f c1 1a59e0a0c2"), 3);
    assert!(matches!(
        decode(&b),
        Err(DecodeError::WrongType {
            key: keys::MITIGATION_START,
            ..
        })
    ));
}

#[test]
fn map_keys_must_be_unsigned() {
    let b = one_scope(&format!("{PREFIX} 20 01"), 2);
    assert!(matches!(decode(&b), Err(DecodeError::InvalidKey { .. })));
    let b = one_scope(&format!("{PREFIX} 616b 01"), 2);
    assert!(matches!(decode(&b), Err(DecodeError::InvalidKey { .. })));
}

#[test]
fn integer_overflow_and_ranges() {
    // lower-port 65536
    let b = one_scope(&format!("{PREFIX} 07 81 a1 08 1a00010000 {LIFETIME}"), 3);
    assert_eq!(
        decode(&b),
        Err(DecodeError::OutOfRange {
            key: keys::LOWER_PORT
        })
    );
    // target-protocol 256
    let b = one_scope(&format!("{PREFIX} 0a 81 190100 {LIFETIME}"), 3);
    assert_eq!(
        decode(&b),
        Err(DecodeError::OutOfRange {
            key: keys::TARGET_PROTOCOL
        })
    );
    // lifetime -2 and 2^32
    for l in ["21", "1b0000000100000000", "3bffffffffffffffff"] {
        let b = one_scope(&format!("{PREFIX} 0e {l}"), 2);
        assert_eq!(
            decode(&b),
            Err(DecodeError::OutOfRange {
                key: keys::LIFETIME
            }),
            "{l}"
        );
    }
    // lifetime -1 is indefinite
    let r = decode(&one_scope(&format!("{PREFIX} 0e 20"), 2)).unwrap();
    assert_eq!(r.entry.scope.lifetime, Some(Lifetime::Indefinite));
    // mid 2^32
    let b = one_scope(&format!("05 1b0000000100000000 {PREFIX}"), 2);
    assert_eq!(decode(&b), Err(DecodeError::OutOfRange { key: keys::MID }));
    // uint64 counters take the full range
    let b = one_scope(&format!("{PREFIX} 1819 1bffffffffffffffff"), 2);
    assert_eq!(decode(&b).unwrap().entry.bytes_dropped, Some(u64::MAX));
}

#[test]
fn undefined_enumeration_values() {
    for (k, v, key) in [
        ("10", "09", keys::STATUS),
        ("10", "00", keys::STATUS),
        ("181d", "03", keys::ATTACK_STATUS),
    ] {
        let b = one_scope(&format!("{PREFIX} {k} {v}"), 2);
        let value = u64::from_str_radix(v, 16).unwrap();
        assert_eq!(
            decode(&b),
            Err(DecodeError::UnknownEnumValue { key, value })
        );
    }
    // activation-type 4 in an RFC 9133 acl-list
    let b = one_scope(&format!("{PREFIX} 1835 81 a2 17 6161 1834 04"), 2);
    assert_eq!(
        decode(&b),
        Err(DecodeError::UnknownEnumValue {
            key: keys::ACTIVATION_TYPE,
            value: 4
        })
    );
}

#[test]
fn invalid_values() {
    // "1.2.3.0/33", "1.2", "1.2.3.4" (no prefix length)
    for p in ["6a 312e322e332e302f3333", "63 312e32", "67 312e322e332e34"] {
        let b = one_scope(&format!("06 81 {p} {LIFETIME}"), 2);
        let r = decode(&b);
        assert_eq!(
            r,
            Err(DecodeError::InvalidValue {
                key: keys::TARGET_PREFIX
            }),
            "{p}"
        );
    }
    // "1.2.3.4/24": host bits set are accepted and kept as written (inet:ip-prefix lexical form).
    let r = decode(&one_scope(
        &format!("06 81 6a 312e322e332e342f3234 {LIFETIME}"),
        2,
    ))
    .unwrap();
    assert_eq!(r.entry.scope.targets.prefixes[0].to_string(), "1.2.3.4/24");
    // decimal with exponent -1, with tag 5, with three elements
    for d in ["c4 82 20 14", "c5 82 21 1896", "c4 83 21 1896 00"] {
        let b = hex(&format!("a1 181e a1 1820 a1 1827 a1 182b {d}"));
        assert_eq!(
            SignalConfig::decode_cbor(&b),
            Err(DecodeError::InvalidValue {
                key: keys::CURRENT_VALUE_DECIMAL
            }),
            "{d}"
        );
    }
    let b = hex("a1 181e a1 1820 a1 1827 a1 182b c4 82 21 1896");
    let c = SignalConfig::decode_cbor(&b).unwrap();
    let ack = c.mitigating_config.unwrap().ack_timeout.unwrap();
    assert_eq!(ack.current_value, Some(Decimal2::from_hundredths(150)));
    // alt-server-record not an address
    let b = hex("a1 182e a2 182f 61 61 1830 81 63 312e32");
    assert_eq!(
        RedirectedSignal::decode_cbor(&b),
        Err(DecodeError::InvalidValue {
            key: keys::ALT_SERVER_RECORD
        })
    );
}

#[test]
fn unknown_keys_by_comprehension_range() {
    for (key, required) in [
        ("1864", true),       // 100
        ("187f", true),       // 127
        ("1880", false),      // 128
        ("18ff", false),      // 255
        ("190100", true),     // 256
        ("193fff", true),     // 16383
        ("194000", false),    // 16384
        ("19c000", false),    // 49152
        ("19ffff", false),    // 65535
        ("1a00010000", true), // 65536
        ("00", true),         // 0
    ] {
        // The unknown member's value is a nested structure, skipped whole when optional.
        let b = one_scope(
            &format!("{PREFIX} {LIFETIME} {key} a1 01 9f 01 c4 82 21 02 ff"),
            3,
        );
        let r = decode(&b);
        if required {
            assert!(
                matches!(
                    r,
                    Err(DecodeError::UnknownKey {
                        within: keys::SCOPE,
                        ..
                    })
                ),
                "{key}"
            );
            assert_eq!(r.unwrap_err().response_code(), Code::BAD_REQUEST);
        } else {
            assert!(r.is_ok(), "{key}: {r:?}");
        }
    }
    // A registered key where it does not belong (max-value inside a scope) is not understood.
    let b = one_scope(&format!("{PREFIX} {LIFETIME} 1822 01"), 3);
    assert_eq!(
        decode(&b),
        Err(DecodeError::UnknownKey {
            key: 34,
            within: keys::SCOPE
        })
    );
    // Telemetry members (RFC 9244, comprehension-optional) are skipped by a mitigation request
    // (EfficacyUpdate and MitigationScope read them).
    let b = one_scope(&format!("{PREFIX} {LIFETIME} 18cc 80"), 3);
    assert!(decode(&b).is_ok());
}

#[test]
fn nesting_bombs() {
    // An optional unknown member holding 64 nested indefinite arrays.
    let mut s = format!("{PREFIX} {LIFETIME} 18c8 ");
    s.push_str(&"9f".repeat(64));
    let b = one_scope(&s, 3);
    assert_eq!(decode(&b), Err(DecodeError::TooDeep { limit: 16 }));
    let mut s = format!("{PREFIX} {LIFETIME} 18c8 ");
    s.push_str(&"81".repeat(10_000));
    s.push_str("00");
    let b = one_scope(&s, 3);
    assert_eq!(decode(&b), Err(DecodeError::TooDeep { limit: 16 }));
}

#[test]
fn indefinite_lengths_are_accepted() {
    // {_ 1: {_ 2: [_ {_ 6: [_ (_ "1.2.3", ".0/24")], 14: 3600}]}}
    let b =
        hex("bf 01 bf 02 9f bf 06 9f 7f 65 312e322e33 65 2e302f3234 ff ff 0e 190e10 ff ff ff ff");
    let r = decode(&b).unwrap();
    assert_eq!(r.entry.scope.targets.prefixes[0].to_string(), "1.2.3.0/24");
}

#[test]
fn capacity_limits_are_4_13() {
    // 9 prefixes (limit 8)
    let mut s = String::from("06 89");
    for _ in 0..9 {
        s.push_str(" 6a 312e322e332e302f3234");
    }
    let b = one_scope(&format!("{s} {LIFETIME}"), 2);
    let err = decode(&b).unwrap_err();
    assert_eq!(
        err,
        DecodeError::Capacity {
            key: keys::TARGET_PREFIX,
            error: CapacityError::TooManyItems { limit: 8 }
        }
    );
    assert_eq!(err.response_code(), Code::REQUEST_ENTITY_TOO_LARGE);
    // An alias name longer than 255 bytes.
    let name = "61".repeat(300);
    let b = one_scope(&format!("0d 81 79012c {name} {LIFETIME}"), 2);
    assert_eq!(
        decode(&b),
        Err(DecodeError::Capacity {
            key: keys::ALIAS_NAME,
            error: CapacityError::TextTooLong { limit: 255 }
        })
    );
    // Text members exceeding the shared buffer.
    let mut s = String::from("0b 84");
    for _ in 0..4 {
        s.push_str(&format!(" 7830 {}", "61".repeat(48)));
    }
    let b = one_scope(&format!("{s} {LIFETIME}"), 2);
    assert!(matches!(
        decode(&b),
        Err(DecodeError::Capacity {
            key: keys::TARGET_FQDN,
            error: CapacityError::TextFull { .. }
        })
    ));
    // More scopes than MAX_SCOPES in a response body.
    let mut b = hex("a101a102");
    b.push(0x98);
    b.push((MAX_SCOPES + 1) as u8);
    for _ in 0..=MAX_SCOPES {
        b.extend(hex("a1 05 01"));
    }
    assert_eq!(
        MitigationScope::decode_cbor(&b),
        Err(DecodeError::Capacity {
            key: keys::SCOPE,
            error: CapacityError::TooManyItems { limit: MAX_SCOPES }
        })
    );
}

#[test]
fn scope_and_message_counts() {
    // Two scopes in a PUT.
    let b = hex(&format!(
        "a101a10282 a2 {PREFIX} {LIFETIME} a2 {PREFIX} {LIFETIME}"
    ));
    assert_eq!(decode(&b), Err(DecodeError::ScopeCount { count: 2 }));
    assert_eq!(
        decode(&hex("a101a10280")),
        Err(DecodeError::ScopeCount { count: 0 })
    );
    assert_eq!(
        decode(&hex("a101a0")),
        Err(DecodeError::MissingMember { key: keys::SCOPE })
    );
    // Two message types.
    let b = hex("a2 1831 a11833f5 1831 a11833f5");
    assert_eq!(
        SignalMessage::decode_cbor(&b),
        Err(DecodeError::DuplicateKey {
            key: keys::HEARTBEAT
        })
    );
    let b = hex("a2 01 a10280 1831 a11833f5");
    assert_eq!(
        SignalMessage::decode_cbor(&b),
        Err(DecodeError::MessageCount { count: 2 })
    );
    assert_eq!(
        SignalMessage::decode_cbor(&hex("a0")),
        Err(DecodeError::MessageCount { count: 0 })
    );
    // A heartbeat where a mitigation request is expected.
    assert_eq!(
        decode(&hex("a1 1831 a11833f5")),
        Err(DecodeError::UnexpectedMessage {
            key: keys::HEARTBEAT
        })
    );
    // A telemetry-setup body (RFC 9244) where a mitigation request is expected.
    assert_eq!(
        decode(&hex("a1 18cb a0")),
        Err(DecodeError::UnexpectedMessage {
            key: keys::TELEMETRY_SETUP
        })
    );
    // A missing mandatory lower-port.
    let b = one_scope(&format!("{PREFIX} 07 81 a1 09 01 {LIFETIME}"), 3);
    assert_eq!(
        decode(&b),
        Err(DecodeError::MissingMember {
            key: keys::LOWER_PORT
        })
    );
}

#[test]
fn every_error_has_a_4xx_code_and_a_one_line_message() {
    let errors = [
        DecodeError::Truncated,
        DecodeError::Malformed { offset: 1 },
        DecodeError::TrailingBytes { offset: 1 },
        DecodeError::TooDeep { limit: 16 },
        DecodeError::WrongType { key: 14, offset: 3 },
        DecodeError::InvalidKey { offset: 2 },
        DecodeError::UnknownKey {
            key: 100,
            within: 2,
        },
        DecodeError::DuplicateKey { key: 14 },
        DecodeError::MissingMember { key: 51 },
        DecodeError::OutOfRange { key: 8 },
        DecodeError::UnknownEnumValue { key: 16, value: 9 },
        DecodeError::InvalidValue { key: 6 },
        DecodeError::NotAllowed { key: 4 },
        DecodeError::Capacity {
            key: 6,
            error: CapacityError::TooManyItems { limit: 8 },
        },
        DecodeError::UnexpectedMessage { key: 49 },
        DecodeError::MessageCount { count: 2 },
        DecodeError::ScopeCount { count: 2 },
    ];
    for e in errors {
        let msg = e.to_string();
        assert!(!msg.contains('\n') && !msg.is_empty());
        assert_eq!(e.response_code().class(), 4, "{msg}");
    }
}

#[test]
fn encode_reports_the_exact_size_needed() {
    let r = decode(&hex(FIG8)).unwrap();
    let len = r.encoded_len();
    assert_eq!(len, hex(FIG8).len());
    let mut small = vec![0u8; len - 1];
    assert_eq!(
        r.encode_cbor(&mut small),
        Err(EncodeError::BufferTooSmall { needed: len })
    );
    let mut empty = [0u8; 0];
    assert_eq!(
        r.encode_cbor(&mut empty),
        Err(EncodeError::BufferTooSmall { needed: len })
    );
    let mut exact = vec![0u8; len];
    assert_eq!(r.encode_cbor(&mut exact), Ok(len));

    let h = Heartbeat {
        peer_hb_status: false,
    };
    assert_eq!(h.encoded_len(), 7);
}

#[test]
fn encode_scopes_from_borrowed_entries_beyond_max_scopes() {
    let mut scope = Scope::new();
    scope
        .targets
        .push_prefix("2001:db8::/32".parse().unwrap())
        .unwrap();
    scope.lifetime = Some(Lifetime::Seconds(60));
    let entries: Vec<ScopeEntry> = (0..40)
        .map(|mid| ScopeEntry {
            mid: Some(mid),
            ..ScopeEntry::request(scope.clone())
        })
        .collect();
    let len = encoded_scopes_len(&entries);
    let mut buf = vec![0u8; len];
    assert_eq!(encode_scopes(&entries, &mut buf), Ok(len));
    // More than MAX_SCOPES do not fit the decoded type, but the first 16 round-trip.
    let some = &entries[..MAX_SCOPES];
    let n = encode_scopes(some, &mut buf).unwrap();
    let back = MitigationScope::decode_cbor(&buf[..n]).unwrap();
    assert_eq!(back.scopes.as_slice(), some);
}
