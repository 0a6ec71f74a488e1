//! Round trips for every RFC 9244 type: `decode(encode(x)) == x` in CBOR (with the exact
//! announced length) and in RFC 7951 JSON, for the bodies that carry them: `telemetry-setup`,
//! `telemetry`, mitigation scopes with telemetry, efficacy updates, and the vendor mapping.
#![cfg(feature = "json")]

use dots_codec::cbor::{encode_scopes_with_telemetry, encoded_scopes_with_telemetry_len, CborBody};
use dots_codec::data::{AttackMapping, DataBody, Vendor, VendorMapping};
use dots_codec::json;
use dots_codec::model::telemetry::{
    AttackDetail, AttackSeverity, Baseline, ConnectionCapacity, ConnectionGauges, ConnectionLimit,
    ConnectionLimits, Gauge, Gauges, Interval, PipeCapacity, PortConnection,
    PortConnectionCapacity, PortTraffic, PreOrOngoingMitigation, ProtocolConnection,
    ProtocolTraffic, QueryType, Sample, SetupData, Talker, TelemetryConfig, TelemetrySetupEntry,
    TelemetryTarget, Unit, UnitClass, UnitConfig, UnitTraffic,
};
use dots_codec::model::{
    Decimal2, EfficacyUpdate, IcmpTypeRange, Lifetime, MitigationRequest, MitigationScope,
    PortRange, Scope, ScopeEntry, ScopeTelemetry, SignalMessage, Targets, Telemetry,
    TelemetrySetup,
};
use ipnet::IpNet;
use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;

fn pick<T: Clone + core::fmt::Debug>(all: &'static [T]) -> impl Strategy<Value = T> {
    proptest::sample::select(all)
}

fn net() -> impl Strategy<Value = IpNet> {
    prop_oneof![
        (any::<[u8; 4]>(), 0u8..=32).prop_map(|(a, l)| IpNet::new(a.into(), l).unwrap()),
        (any::<[u8; 16]>(), 0u8..=128).prop_map(|(a, l)| IpNet::new(a.into(), l).unwrap()),
    ]
}

fn text(max: usize) -> impl Strategy<Value = String> {
    "\\PC{0,12}".prop_filter("fits", move |s| s.len() <= max)
}

fn hv<T: core::fmt::Debug, const N: usize>(
    s: impl Strategy<Value = T>,
) -> impl Strategy<Value = heapless::Vec<T, N, u8>> {
    vec(s, 0..=N).prop_map(|v| v.into_iter().collect())
}

fn gauges(current: bool) -> impl Strategy<Value = Gauges> {
    vec(of(any::<u64>()), 5).prop_map(move |v| {
        let mut g = Gauges::new();
        for (w, v) in Gauge::ALL.iter().zip(v) {
            if current || *w != Gauge::Current {
                g.set(*w, v);
            }
        }
        g
    })
}

fn unit_traffic(current: bool) -> impl Strategy<Value = UnitTraffic> {
    (pick(Unit::ALL), gauges(current)).prop_map(|(unit, gauges)| UnitTraffic { unit, gauges })
}

fn protocol_traffic(current: bool) -> impl Strategy<Value = ProtocolTraffic> {
    (any::<u8>(), pick(Unit::ALL), gauges(current)).prop_map(|(protocol, unit, gauges)| {
        ProtocolTraffic {
            protocol,
            unit,
            gauges,
        }
    })
}

fn port_traffic(current: bool) -> impl Strategy<Value = PortTraffic> {
    (any::<u16>(), pick(Unit::ALL), gauges(current)).prop_map(|(port, unit, gauges)| PortTraffic {
        port,
        unit,
        gauges,
    })
}

fn connection_gauges() -> impl Strategy<Value = ConnectionGauges> {
    vec(gauges(true), 5).prop_map(|g| ConnectionGauges {
        connection_c: g[0],
        embryonic_c: g[1],
        connection_ps_c: g[2],
        request_ps_c: g[3],
        partial_request_c: g[4],
    })
}

fn limits() -> impl Strategy<Value = ConnectionLimits> {
    vec(of(any::<u64>()), 10).prop_map(|v| {
        let mut l = ConnectionLimits::new();
        for (w, v) in ConnectionLimit::ALL.iter().zip(v) {
            l.set(*w, v);
        }
        l
    })
}

fn port_range() -> impl Strategy<Value = PortRange> {
    (any::<u16>(), of(any::<u16>())).prop_map(|(lower, upper)| PortRange { lower, upper })
}

fn icmp_range() -> impl Strategy<Value = IcmpTypeRange> {
    (any::<u8>(), of(any::<u8>())).prop_map(|(lower, upper)| IcmpTypeRange { lower, upper })
}

fn targets() -> impl Strategy<Value = Targets> {
    (
        vec(net(), 0..=3),
        vec(port_range(), 0..=3),
        vec(any::<u8>(), 0..=3),
        vec(text(12), 0..=2),
        vec(text(12), 0..=2),
        vec(text(12), 0..=2),
    )
        .prop_map(|(p, r, proto, f, u, a)| {
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
            t
        })
}

fn decimal() -> impl Strategy<Value = Decimal2> {
    any::<i64>().prop_map(Decimal2::from_hundredths)
}

/// `current`: `unit-config` allowed; `sot`: `server-originated-telemetry` allowed.
fn config(current: bool, sot: bool) -> impl Strategy<Value = TelemetryConfig> {
    (
        of(pick(Interval::ALL)),
        of(pick(Sample::ALL)),
        of(decimal()),
        of(decimal()),
        of(decimal()),
        hv::<_, 3>(
            (pick(UnitClass::ALL), any::<bool>())
                .prop_map(|(unit, unit_status)| UnitConfig { unit, unit_status }),
        ),
        of(any::<bool>()),
        of(any::<u16>()),
    )
        .prop_map(move |(i, s, l, m, h, u, o, n)| TelemetryConfig {
            measurement_interval: i,
            measurement_sample: s,
            low_percentile: l,
            mid_percentile: m,
            high_percentile: h,
            unit_config: if current { u } else { heapless::Vec::new() },
            server_originated_telemetry: o.filter(|_| sot),
            telemetry_notify_interval: n,
        })
}

fn baseline() -> impl Strategy<Value = Baseline> {
    (
        any::<u32>(),
        targets(),
        hv::<_, 3>(unit_traffic(false)),
        hv::<_, 4>(protocol_traffic(false)),
        hv::<_, 4>(port_traffic(false)),
        hv::<_, 4>(
            (any::<u8>(), limits())
                .prop_map(|(protocol, limits)| ConnectionCapacity { protocol, limits }),
        ),
        hv::<_, 4>(
            (any::<u8>(), any::<u16>(), limits()).prop_map(|(protocol, port, limits)| {
                PortConnectionCapacity {
                    protocol,
                    port,
                    limits,
                }
            }),
        ),
    )
        .prop_map(|(id, targets, n, np, nport, c, cp)| Baseline {
            id,
            targets,
            total_traffic_normal: n,
            total_traffic_normal_per_protocol: np,
            total_traffic_normal_per_port: nport,
            total_connection_capacity: c,
            total_connection_capacity_per_port: cp,
        })
}

fn setup_data() -> impl Strategy<Value = SetupData> {
    prop_oneof![
        config(true, true).prop_map(SetupData::CurrentConfig),
        hv::<_, 8>(
            (text(12), any::<u64>(), pick(Unit::ALL)).prop_map(|(l, capacity, unit)| {
                PipeCapacity {
                    link_id: l.as_str().try_into().unwrap(),
                    capacity,
                    unit,
                }
            })
        )
        .prop_map(SetupData::TotalPipeCapacity),
        hv::<_, 2>(baseline()).prop_map(SetupData::Baseline),
    ]
}

fn telemetry_setup() -> impl Strategy<Value = TelemetrySetup> {
    (
        of(config(false, true)),
        of(config(false, false)),
        hv::<_, 3>(
            (pick(UnitClass::ALL), any::<bool>())
                .prop_map(|(unit, unit_status)| UnitConfig { unit, unit_status }),
        ),
        hv::<_, 11>(pick(QueryType::ALL)),
        hv::<_, 4>(
            (of(any::<u32>()), of(setup_data()))
                .prop_map(|(tsid, setup)| TelemetrySetupEntry { tsid, setup }),
        ),
    )
        .prop_map(|(max, min, units, queries, telemetry)| TelemetrySetup {
            max_config_values: max,
            min_config_values: min,
            supported_unit_classes: units,
            supported_query_type: queries,
            telemetry,
        })
}

fn talker<C: core::fmt::Debug>(
    connections: impl Strategy<Value = C>,
) -> impl Strategy<Value = Talker<C>> {
    (
        of(any::<bool>()),
        net(),
        hv::<_, 4>(port_range()),
        hv::<_, 4>(icmp_range()),
        hv::<_, 3>(unit_traffic(true)),
        connections,
    )
        .prop_map(|(s, p, r, i, t, c)| Talker {
            spoofed_status: s,
            source_prefix: p,
            source_port_range: r,
            source_icmp_type_range: i,
            total_attack_traffic: t,
            total_attack_connection: c,
        })
}

fn attack_detail<C: core::fmt::Debug + Clone>(
    connections: impl Strategy<Value = C>,
) -> impl Strategy<Value = AttackDetail<C>> {
    (
        any::<u32>(),
        any::<u32>(),
        of(text(35)),
        of(text(255)),
        of(pick(AttackSeverity::ALL)),
        of(any::<u64>()),
        of(any::<u64>()),
        gauges(true),
        hv::<_, 4>(talker(connections)),
    )
        .prop_map(|(v, a, lang, desc, sev, start, end, sc, talkers)| {
            let mut d = AttackDetail::new(v, a);
            d.description_lang = lang.map(|s| s.as_str().try_into().unwrap());
            d.attack_description = desc.map(|s| s.as_str().try_into().unwrap());
            d.attack_severity = sev;
            d.start_time = start;
            d.end_time = end;
            d.source_count = sc;
            d.top_talker = talkers;
            d
        })
}

fn protocol_connection() -> impl Strategy<Value = ProtocolConnection> {
    (any::<u8>(), connection_gauges())
        .prop_map(|(protocol, gauges)| ProtocolConnection { protocol, gauges })
}

fn pre_or_ongoing() -> impl Strategy<Value = PreOrOngoingMitigation> {
    (
        (
            of(any::<u32>()),
            targets(),
            hv::<_, 8>(any::<u32>()),
            hv::<_, 3>(unit_traffic(true)),
            hv::<_, 4>(protocol_traffic(true)),
            hv::<_, 4>(port_traffic(true)),
        ),
        (
            hv::<_, 3>(unit_traffic(true)),
            hv::<_, 4>(protocol_traffic(true)),
            hv::<_, 4>(port_traffic(true)),
            hv::<_, 2>(protocol_connection()),
            hv::<_, 2>((any::<u8>(), any::<u16>(), connection_gauges()).prop_map(
                |(protocol, port, gauges)| PortConnection {
                    protocol,
                    port,
                    gauges,
                },
            )),
            hv::<_, 2>(attack_detail(hv::<_, 2>(protocol_connection()))),
        ),
    )
        .prop_map(
            |((tmid, targets, mids, tt, ttp, ttport), (at, atp, atport, acp, acport, ad))| {
                PreOrOngoingMitigation {
                    tmid,
                    target: TelemetryTarget {
                        targets,
                        mid_list: mids,
                    },
                    total_traffic: tt,
                    total_traffic_protocol: ttp,
                    total_traffic_port: ttport,
                    total_attack_traffic: at,
                    total_attack_traffic_protocol: atp,
                    total_attack_traffic_port: atport,
                    total_attack_connection_protocol: acp,
                    total_attack_connection_port: acport,
                    attack_detail: ad,
                }
            },
        )
}

fn telemetry() -> impl Strategy<Value = Telemetry> {
    hv::<_, 2>(pre_or_ongoing()).prop_map(|p| Telemetry {
        pre_or_ongoing_mitigation: p,
    })
}

fn scope_telemetry() -> impl Strategy<Value = ScopeTelemetry> {
    (
        hv::<_, 3>(unit_traffic(true)),
        hv::<_, 3>(unit_traffic(true)),
        connection_gauges(),
        hv::<_, 2>(attack_detail(connection_gauges())),
    )
        .prop_map(|(t, a, c, d)| ScopeTelemetry {
            total_traffic: t,
            total_attack_traffic: a,
            total_attack_connection: c,
            attack_detail: d,
        })
}

fn scope_entry() -> impl Strategy<Value = ScopeEntry> {
    (targets(), 1u32..100_000, of(any::<u32>())).prop_map(|(targets, lifetime, mid)| {
        let mut s = Scope::new();
        s.targets = targets;
        s.lifetime = Some(Lifetime::Seconds(lifetime));
        ScopeEntry {
            mid,
            ..ScopeEntry::request(s)
        }
    })
}

fn mitigation_scope() -> impl Strategy<Value = MitigationScope> {
    (
        vec(scope_entry(), 1..=4),
        vec((0usize..4, scope_telemetry()), 0..=2),
    )
        .prop_map(|(scopes, telemetry)| {
            let mut m = MitigationScope::default();
            let n = scopes.len();
            m.scopes.extend(scopes);
            for (i, t) in telemetry {
                m.telemetry.set(i % n, t).unwrap();
            }
            m
        })
}

fn cbor_round_trip<T: CborBody + PartialEq + core::fmt::Debug>(v: &T) {
    let len = v.encoded_len();
    let mut buf = vec![0u8; len];
    assert_eq!(v.encode_cbor(&mut buf), Ok(len));
    assert_eq!(&T::decode_cbor(&buf).expect("decodes"), v);
    if len > 0 {
        assert!(v.encode_cbor(&mut buf[..len - 1]).is_err());
    }
}

fn json_round_trip(m: &SignalMessage) {
    let text = json::to_string(m);
    assert_eq!(&json::from_str(&text).expect("JSON decodes"), m, "{text}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn telemetry_setup_round_trips(s in telemetry_setup()) {
        cbor_round_trip(&s);
        let m = SignalMessage::TelemetrySetup(s);
        cbor_round_trip(&m);
        json_round_trip(&m);
    }

    #[test]
    fn telemetry_round_trips(t in telemetry()) {
        cbor_round_trip(&t);
        let m = SignalMessage::Telemetry(t);
        cbor_round_trip(&m);
        json_round_trip(&m);
    }

    #[test]
    fn mitigation_scope_with_telemetry_round_trips(m in mitigation_scope()) {
        cbor_round_trip(&m);
        // The borrowed-entries encoder writes the same bytes.
        let pairs: Vec<_> = m.scopes.iter().enumerate().map(|(i, e)| (e, m.telemetry.get(i))).collect();
        let len = encoded_scopes_with_telemetry_len(pairs.iter().copied());
        let mut buf = vec![0u8; len];
        assert_eq!(encode_scopes_with_telemetry(pairs.iter().copied(), &mut buf), Ok(len));
        let mut own = vec![0u8; m.encoded_len()];
        m.encode_cbor(&mut own).unwrap();
        assert_eq!(buf, own);
        let m = SignalMessage::MitigationScope(m);
        cbor_round_trip(&m);
        json_round_trip(&m);
    }

    #[test]
    fn efficacy_update_round_trips(e in scope_entry(), t in scope_telemetry()) {
        let u = EfficacyUpdate { request: MitigationRequest { entry: e }, telemetry: t };
        cbor_round_trip(&u);
        // As a mitigation-scope body, with the telemetry attached to its single scope.
        let mut buf = vec![0u8; u.encoded_len()];
        u.encode_cbor(&mut buf).unwrap();
        let m = MitigationScope::decode_cbor(&buf).unwrap();
        prop_assert_eq!(&m.scopes[0], &u.request.entry);
        prop_assert_eq!(m.telemetry.get(0), (!u.telemetry.is_empty()).then_some(&u.telemetry));
        // A telemetry-unaware decoder reads the request and skips the rest.
        prop_assert_eq!(MitigationRequest::decode_cbor(&buf).unwrap(), u.request);
    }

    #[test]
    fn vendor_mapping_round_trips(
        vendors in vec((any::<u32>(), of(text(12)), of(text(12)), any::<u64>(),
            vec((any::<u32>(), text(12)), 0..3)), 0..3)
    ) {
        let body = DataBody::VendorMapping(VendorMapping {
                vendor: vendors.into_iter().map(|(vendor_id, name, lang, last_updated, m)| Vendor {
                    vendor_id,
                    vendor_name: name,
                    description_lang: lang,
                    last_updated,
                    attack_mapping: m.into_iter().map(|(attack_id, attack_description)| {
                        AttackMapping { attack_id, attack_description }
                    }).collect(),
                }).collect(),
        });
        prop_assert_eq!(DataBody::from_json(&body.to_json()).unwrap(), body);
    }
}
