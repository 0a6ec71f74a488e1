//! Round trips for every message type: `decode(encode(x)) == x` in CBOR and in JSON.

use core::net::IpAddr;

use dots_codec::cbor::CborBody;
use dots_codec::model::{
    ActivationType, AttackStatus, ConfigParams, ConflictCause, ConflictInformation, ConflictScope,
    ConflictStatus, Decimal2, DecimalParam, DomainName, Heartbeat, IcmpTypeRange, IntParam,
    Lifetime, MitigationRequest, MitigationScope, MitigationStatus, PortRange, RedirectedSignal,
    Scope, ScopeEntry, SignalConfig, SignalMessage, Targets,
};
use ipnet::IpNet;
use proptest::prelude::*;

fn net() -> impl Strategy<Value = IpNet> {
    prop_oneof![
        (any::<[u8; 4]>(), 0u8..=32).prop_map(|(a, l)| IpNet::new(a.into(), l).unwrap()),
        (any::<[u8; 16]>(), 0u8..=128).prop_map(|(a, l)| IpNet::new(a.into(), l).unwrap()),
    ]
}

fn addr() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(IpAddr::from),
        any::<[u8; 16]>().prop_map(IpAddr::from)
    ]
}

fn port_range() -> impl Strategy<Value = PortRange> {
    (any::<u16>(), proptest::option::of(any::<u16>()))
        .prop_map(|(lower, upper)| PortRange { lower, upper })
}

fn text() -> impl Strategy<Value = String> {
    "\\PC{0,12}".prop_filter("at most 12 bytes", |s| s.len() <= 12)
}

fn pick<T: Clone + core::fmt::Debug>(all: &'static [T]) -> impl Strategy<Value = T> {
    proptest::sample::select(all)
}

fn targets(acl_types: bool) -> impl Strategy<Value = Targets> {
    (
        proptest::collection::vec(net(), 0..=8),
        proptest::collection::vec(port_range(), 0..=8),
        proptest::collection::vec(any::<u8>(), 0..=8),
        proptest::collection::vec(text(), 0..=2),
        proptest::collection::vec(text(), 0..=2),
        proptest::collection::vec(text(), 0..=2),
        proptest::collection::vec(
            (
                text(),
                proptest::option::of(text()),
                proptest::option::of(pick(ActivationType::ALL)),
            ),
            0..=2,
        ),
    )
        .prop_map(move |(p, r, proto, f, u, a, acls)| {
            let mut t = Targets::new();
            t.prefixes.extend(p);
            t.port_ranges.extend(r);
            t.protocols.extend(proto);
            for s in &f {
                t.push_fqdn(s).unwrap();
            }
            for s in &u {
                t.push_uri(s).unwrap();
            }
            for s in &a {
                t.push_alias_name(s).unwrap();
            }
            // ACLs are added through Scope / ConflictScope below.
            let _ = (acl_types, acls);
            t
        })
}

fn scope() -> impl Strategy<Value = Scope> {
    (
        targets(false),
        proptest::option::of(prop_oneof![
            any::<u32>().prop_map(Lifetime::Seconds),
            Just(Lifetime::Indefinite)
        ]),
        proptest::option::of(any::<bool>()),
        proptest::option::of(pick(AttackStatus::ALL)),
        proptest::collection::vec(
            (text(), proptest::option::of(pick(ActivationType::ALL))),
            0..=2,
        ),
        proptest::collection::vec(net(), 0..=4),
        proptest::collection::vec(port_range(), 0..=4),
        proptest::collection::vec(
            (any::<u8>(), proptest::option::of(any::<u8>()))
                .prop_map(|(lower, upper)| IcmpTypeRange { lower, upper }),
            0..=4,
        ),
    )
        .prop_map(
            |(targets, lifetime, trigger, attack, acls, sp, spr, icmp)| {
                let mut s = Scope {
                    targets,
                    lifetime,
                    trigger_mitigation: trigger,
                    attack_status: attack,
                    ..Scope::new()
                };
                for (name, act) in &acls {
                    s.push_acl(name, *act).unwrap();
                }
                s.call_home.source_prefixes.extend(sp);
                s.call_home.source_port_ranges.extend(spr);
                s.call_home.source_icmp_type_ranges.extend(icmp);
                s
            },
        )
}

fn conflict() -> impl Strategy<Value = ConflictInformation> {
    (
        proptest::option::of(pick(ConflictStatus::ALL)),
        proptest::option::of(pick(ConflictCause::ALL)),
        proptest::option::of(any::<u32>()),
        proptest::option::of((
            targets(true),
            proptest::option::of(any::<u32>()),
            proptest::collection::vec((text(), proptest::option::of(text())), 0..=2),
        )),
    )
        .prop_map(
            |(conflict_status, conflict_cause, retry_timer, cs)| ConflictInformation {
                conflict_status,
                conflict_cause,
                retry_timer,
                conflict_scope: cs.map(|(targets, mid, acls)| {
                    let mut c = ConflictScope { targets, mid };
                    for (n, t) in &acls {
                        c.push_acl(n, t.as_deref()).unwrap();
                    }
                    c
                }),
            },
        )
}

fn entry() -> impl Strategy<Value = ScopeEntry> {
    (
        scope(),
        proptest::option::of(any::<u32>()),
        proptest::option::of(any::<u64>()),
        proptest::option::of(pick(MitigationStatus::ALL)),
        proptest::option::of(conflict()),
        proptest::array::uniform4(proptest::option::of(any::<u64>())),
    )
        .prop_map(|(scope, mid, start, status, conflict, c)| ScopeEntry {
            mid,
            scope,
            mitigation_start: start,
            status,
            conflict_information: conflict,
            bytes_dropped: c[0],
            bps_dropped: c[1],
            pkts_dropped: c[2],
            pps_dropped: c[3],
        })
}

fn decimal() -> impl Strategy<Value = Decimal2> {
    (i64::MIN + 1..=i64::MAX).prop_map(Decimal2::from_hundredths)
}

fn int_param() -> impl Strategy<Value = IntParam> {
    proptest::array::uniform3(proptest::option::of(any::<u16>())).prop_map(|v| IntParam {
        max_value: v[0],
        min_value: v[1],
        current_value: v[2],
    })
}

fn dec_param() -> impl Strategy<Value = DecimalParam> {
    proptest::array::uniform3(proptest::option::of(decimal())).prop_map(|v| DecimalParam {
        max_value: v[0],
        min_value: v[1],
        current_value: v[2],
    })
}

fn params() -> impl Strategy<Value = ConfigParams> {
    (
        proptest::array::uniform6(proptest::option::of(int_param())),
        proptest::array::uniform6(proptest::option::of(dec_param())),
    )
        .prop_map(|(i, d)| ConfigParams {
            heartbeat_interval: i[0],
            missing_hb_allowed: i[1],
            probing_rate: i[2],
            max_retransmit: i[3],
            max_payloads: i[4],
            non_max_retransmit: i[5],
            ack_timeout: d[0],
            ack_random_factor: d[1],
            non_timeout: d[2],
            non_receive_timeout: d[3],
            non_probing_wait: d[4],
            non_partial_timeout: d[5],
        })
}

fn config() -> impl Strategy<Value = SignalConfig> {
    (
        proptest::option::of(any::<u32>()),
        proptest::option::of(params()),
        proptest::option::of(params()),
    )
        .prop_map(|(sid, m, i)| SignalConfig {
            sid,
            mitigating_config: m,
            idle_config: i,
        })
}

fn domain() -> impl Strategy<Value = DomainName> {
    "[a-z0-9.-]{1,40}".prop_map(|s| DomainName::try_from(s.as_str()).unwrap())
}

fn redirect() -> impl Strategy<Value = RedirectedSignal> {
    (
        proptest::option::of(domain()),
        proptest::collection::vec(addr(), 0..=8),
        proptest::option::of(domain()),
        proptest::collection::vec(addr(), 0..=8),
        proptest::option::of(any::<u32>()),
    )
        .prop_map(|(s, sr, c, cr, ttl)| {
            let mut r = RedirectedSignal {
                alt_server: s,
                alt_ch_client: c,
                ttl,
                ..RedirectedSignal::default()
            };
            r.alt_server_record.extend(sr);
            r.alt_ch_client_record.extend(cr);
            r
        })
}

fn message() -> impl Strategy<Value = SignalMessage> {
    prop_oneof![
        proptest::collection::vec(entry(), 0..=3).prop_map(|v| {
            let mut m = MitigationScope::default();
            m.scopes.extend(v);
            SignalMessage::MitigationScope(m)
        }),
        config().prop_map(SignalMessage::SignalConfig),
        redirect().prop_map(SignalMessage::RedirectedSignal),
        any::<bool>().prop_map(|b| SignalMessage::Heartbeat(Heartbeat { peer_hb_status: b })),
    ]
}

fn cbor_round_trip<T: CborBody + PartialEq + core::fmt::Debug>(v: &T) {
    let len = v.encoded_len();
    let mut buf = vec![0u8; len];
    assert_eq!(v.encode_cbor(&mut buf), Ok(len));
    assert_eq!(&T::decode_cbor(&buf).unwrap(), v);
}

/// Runs a property in a thread with a large stack: a `MitigationScope` is 16 KB by value and
/// unoptimised proptest shrinking keeps many copies on the stack.
fn check<S>(strategy: S, f: impl Fn(S::Value) -> Result<(), TestCaseError> + Send + 'static)
where
    S: Strategy + Send + 'static,
    S::Value: core::fmt::Debug,
{
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || {
            let mut runner =
                proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(256));
            if let Err(e) = runner.run(&strategy, f) {
                panic!("{e}");
            }
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn mitigation_request_cbor() {
    check(entry(), |e| {
        cbor_round_trip(&MitigationRequest { entry: e });
        Ok(())
    });
}

#[test]
fn signal_message_cbor() {
    check(message(), |m| {
        cbor_round_trip(&m);
        match &m {
            SignalMessage::MitigationScope(v) => cbor_round_trip(v),
            SignalMessage::SignalConfig(v) => cbor_round_trip(v),
            SignalMessage::RedirectedSignal(v) => cbor_round_trip(v),
            SignalMessage::Heartbeat(v) => cbor_round_trip(v),
            _ => unreachable!(),
        }
        Ok(())
    });
}

#[cfg(feature = "json")]
#[test]
fn signal_message_json() {
    check(message(), |m| {
        let text = dots_codec::json::to_string(&m);
        prop_assert_eq!(dots_codec::json::from_str(&text).unwrap(), m.clone());
        let pretty = dots_codec::json::to_string_pretty(&m);
        prop_assert_eq!(dots_codec::json::from_str(&pretty).unwrap(), m);
        Ok(())
    });
}

#[test]
fn decimal_text() {
    check(decimal(), |d| {
        prop_assert_eq!(Decimal2::parse(&d.to_string()), Ok(d));
        Ok(())
    });
}

#[test]
fn arbitrary_bytes_never_panic() {
    check(proptest::collection::vec(any::<u8>(), 0..256), |bytes| {
        let _ = SignalMessage::decode_cbor(&bytes);
        let _ = MitigationRequest::decode_cbor(&bytes);
        Ok(())
    });
}

#[test]
fn figure_8_mutations_never_panic_and_reencode() {
    let fig8 = hex::decode("a101a10281a4068274323030313a6462383a363430313a3a312f31323874323030313a6462383a363430313a3a322f3132380783a1081850a1081901bba108191f900a81060e190e10").unwrap();
    check((0..fig8.len(), any::<u8>()), move |(i, b)| {
        let mut m = fig8.clone();
        m[i] = b;
        if let Ok(v) = SignalMessage::decode_cbor(&m) {
            cbor_round_trip(&v);
        }
        Ok(())
    });
}
