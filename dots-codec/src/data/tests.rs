//! Golden vectors from RFC 8783, decode error classes, and proptest round trips.

extern crate std;

use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;

fn parse(v: &Value) -> DataBody {
    DataBody::from_json(v.to_string().as_bytes()).expect("vector parses")
}

/// Re-encoding gives the same JSON, once identities are compared without their module prefix
/// (RFC 8783 prints them unqualified; RFC 7951 Section 6.8 wants them qualified).
fn assert_round_trip(v: &Value) {
    let body = parse(v);
    let out: Value = serde_json::from_slice(&body.to_json()).unwrap();
    assert_eq!(
        strip_acl_prefix(out),
        strip_acl_prefix(v.clone()),
        "round trip of {v}"
    );
    assert_eq!(DataBody::from_json(&body.to_json()).unwrap(), body);
}

fn strip_acl_prefix(v: Value) -> Value {
    match v {
        Value::String(s) => Value::String(
            s.strip_prefix("ietf-access-control-list:")
                .map_or(s.clone(), ToString::to_string),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(strip_acl_prefix).collect()),
        Value::Object(o) => Value::Object(
            o.into_iter()
                .map(|(k, v)| (k, strip_acl_prefix(v)))
                .collect(),
        ),
        other => other,
    }
}

/// RFC 8783 Figure 17 (POST to create an alias).
fn figure17() -> Value {
    json!({"ietf-dots-data-channel:aliases": {"alias": [{
        "name": "https1", "target-protocol": [6],
        "target-prefix": ["2001:db8:6401::1/128", "2001:db8:6401::2/128"],
        "target-port-range": [{"lower-port": 443}]}]}})
}

/// RFC 8783 Figure 25 / 29 (an immediate IPv6 ACL with UDP port operators).
fn figure25() -> Value {
    json!({"ietf-dots-data-channel:acls": {"acl": [{
        "name": "test-acl-ipv6-udp", "type": "ipv6-acl-type", "activation-type": "immediate",
        "aces": {"ace": [{"name": "my-test-ace",
            "matches": {
                "ipv6": {"destination-ipv6-network": "2001:db8:6401::2/127",
                         "source-ipv6-network": "2001:db8:1234::/96",
                         "protocol": 17, "flow-label": 10000},
                "udp": {"source-port-range-or-operator": {"operator": "lte", "port": 80},
                        "destination-port-range-or-operator": {"operator": "neq", "port": 1010}}},
            "actions": {"forwarding": "accept"}}]}}]}})
}

#[test]
fn rfc8783_alias_figures() {
    let v = figure17();
    assert_round_trip(&v);
    let DataBody::Aliases(a) = parse(&v) else {
        panic!()
    };
    let alias = &a.alias[0];
    assert_eq!(alias.name, "https1");
    assert_eq!(alias.target_protocol, vec![6]);
    assert_eq!(alias.target_port_range, vec![PortRange::single(443)]);
    assert!(alias.has_target());
    alias.validate().unwrap();
    // Figure 19: a GET response with pending-lifetime.
    let fig19 = json!({"ietf-dots-data-channel:aliases": {"alias": [
        {"name": "Server1", "target-protocol": [6],
         "target-prefix": ["2001:db8:6401::1/128", "2001:db8:6401::2/128"],
         "target-port-range": [{"lower-port": 443}], "pending-lifetime": 3596},
        {"name": "Server2", "target-protocol": [6],
         "target-prefix": ["2001:db8:6401::10/128", "2001:db8:6401::20/128"],
         "target-port-range": [{"lower-port": 80}], "pending-lifetime": 9869}]}});
    assert_round_trip(&fig19);
    let DataBody::Aliases(a) = parse(&fig19) else {
        panic!()
    };
    assert_eq!(a.alias[1].pending_lifetime, Some(9869));
}

#[test]
fn rfc8783_registration_figures() {
    // Figures 13 and 14.
    let fig13 = json!({"ietf-dots-data-channel:dots-client": [
        {"cuid": "dz6pHjaADkaFTbjr0JGBpw", "cdid": "7eeaf349529eb55ed50113"}]});
    assert_round_trip(&fig13);
    let DataBody::DotsClient(c) = parse(&fig13) else {
        panic!()
    };
    assert_eq!(c[0].cdid.as_deref(), Some("7eeaf349529eb55ed50113"));
    let fig14 = json!({"ietf-dots-data-channel:dots-client": [{"cuid": "dz6pHjaADkaFTbjr0JGBpw"}]});
    assert_eq!(
        parse(&fig14),
        DataBody::DotsClient(vec![DotsClient::new("dz6pHjaADkaFTbjr0JGBpw")])
    );
}

#[test]
fn rfc8783_acl_figures() {
    let v = figure25();
    assert_round_trip(&v);
    let DataBody::Acls(acls) = parse(&v) else {
        panic!()
    };
    let acl = &acls.acl[0];
    acl.validate().unwrap();
    assert_eq!(acl.acl_type, Some(AclType::Ipv6));
    assert_eq!(acl.effective_activation_type(), ActivationType::Immediate);
    let m = acl.ace_list()[0].matches.as_ref().unwrap();
    let v6 = m.ipv6().unwrap();
    assert_eq!(v6.flow_label, Some(10000));
    assert_eq!(v6.protocol, Some(17));
    let Some(L4Match::Udp(udp)) = &m.l4 else {
        panic!()
    };
    let src = udp.source_port_range_or_operator.unwrap();
    assert!(src.matches(80) && !src.matches(81));
    let dst = udp.destination_port_range_or_operator.unwrap();
    assert!(!dst.matches(1010) && dst.matches(1011));

    // Figure 24 (default activation type absent), Figure 35 (fragments).
    let fig24 = json!({"ietf-dots-data-channel:acls": {"acl": [{
        "name": "sample-ipv4-acl", "type": "ipv4-acl-type",
        "activation-type": "activate-when-mitigating",
        "aces": {"ace": [{"name": "rule1",
            "matches": {"ipv4": {"destination-ipv4-network": "198.51.100.0/24",
                                  "source-ipv4-network": "192.0.2.0/24"}},
            "actions": {"forwarding": "drop"}}]}}]}});
    assert_round_trip(&fig24);
    let fig35 = json!({"ietf-dots-data-channel:acls": {"acl": [{
        "name": "dns-fragments", "type": "ipv6-acl-type",
        "aces": {"ace": [
            {"name": "drop-all-fragments",
             "matches": {"ipv6": {"fragment": {"operator": "match", "type": "isf"}}},
             "actions": {"forwarding": "drop"}},
            {"name": "allow-dns-packets",
             "matches": {"ipv6": {"destination-ipv6-network": "2001:db8::/32"},
                         "udp": {"destination-port-range-or-operator": {"operator": "eq", "port": 53}}},
             "actions": {"forwarding": "accept"}}]}}]}});
    assert_round_trip(&fig35);
    let DataBody::Acls(acls) = parse(&fig35) else {
        panic!()
    };
    acls.acl[0].validate().unwrap();
    assert_eq!(
        acls.acl[0].effective_activation_type(),
        ActivationType::ActivateWhenMitigating
    );
    let frag = acls.acl[0].ace_list()[0]
        .matches
        .as_ref()
        .unwrap()
        .ipv6()
        .unwrap()
        .fragment
        .unwrap();
    assert_eq!(frag.fragment_type, FragmentType::ISF);
    assert_eq!(frag.operator, Some(BitmaskOperator::MATCH));
}

#[test]
fn rfc8783_tcp_flag_figures() {
    // Figure 36: "not any" over 4095; Figure 37: rate-limit "20.00".
    let fig36 = json!({"ietf-dots-data-channel:acls": {"acl": [{
        "name": "tcp-flags-example", "activation-type": "immediate",
        "aces": {"ace": [{"name": "null-attack",
            "matches": {"tcp": {"flags-bitmask": {"operator": "not any", "bitmask": 4095}}},
            "actions": {"forwarding": "drop"}}]}}]}});
    assert_round_trip(&fig36);
    let DataBody::Acls(a) = parse(&fig36) else {
        panic!()
    };
    let Some(L4Match::Tcp(tcp)) = &a.acl[0].ace_list()[0].matches.as_ref().unwrap().l4 else {
        panic!()
    };
    let fb = tcp.flags_bitmask.unwrap();
    let op = fb.operator.unwrap();
    assert_eq!(op, BitmaskOperator::NOT | BitmaskOperator::ANY);
    assert!(op.matches(0, fb.bitmask), "no flag set: a null attack");
    assert!(!op.matches(0x002, fb.bitmask), "SYN set");
    let fig37 = json!({"ietf-dots-data-channel:acls": {"acl": [{
        "name": "tcp-flags-example", "activation-type": "activate-when-mitigating",
        "aces": {"ace": [{"name": "rate-limit-syn",
            "matches": {"tcp": {"flags-bitmask": {"operator": "match", "bitmask": 2}}},
            "actions": {"forwarding": "accept", "rate-limit": "20.00"}}]}}]}});
    assert_round_trip(&fig37);
    let DataBody::Acls(a) = parse(&fig37) else {
        panic!()
    };
    assert_eq!(
        a.acl[0].ace_list()[0].actions.unwrap().rate_limit,
        Some(Decimal2(2000))
    );
}

#[test]
fn rfc8783_capabilities_figure23() {
    let fig23 = json!({"ietf-dots-data-channel:capabilities": {
        "address-family": ["ipv4", "ipv6"], "forwarding-actions": ["drop", "accept"],
        "rate-limit": true, "transport-protocols": [1, 6, 17, 58],
        "ipv4": {"length": true, "protocol": true, "destination-prefix": true,
                 "source-prefix": true, "fragment": true},
        "ipv6": {"length": true, "protocol": true, "destination-prefix": true,
                 "source-prefix": true, "fragment": true},
        "tcp": {"flags-bitmask": true, "source-port": true, "destination-port": true,
                "port-range": true},
        "udp": {"length": true, "source-port": true, "destination-port": true,
                "port-range": true},
        "icmp": {"type": true, "code": true}}});
    assert_round_trip(&fig23);
    assert_eq!(
        parse(&fig23),
        DataBody::Capabilities(Capabilities::rfc8783_mandatory())
    );
}

#[test]
fn rfc8783_figure34_actions_inside_matches_is_rejected() {
    // RFC 8783 Appendix A, Figure 34 nests "actions" inside "matches" (compare Figure 35); the
    // module has no such node, so strict parsing reports an unknown member.
    let fig34 = json!({"ietf-dots-data-channel:acls": {"acl": [{
        "name": "dns-fragments", "type": "ipv4-acl-type",
        "aces": {"ace": [{"name": "allow-dns-packets",
            "matches": {"ipv4": {"destination-ipv4-network": "198.51.100.0/24"},
                        "udp": {"destination-port-range-or-operator": {"operator": "eq", "port": 53}},
                        "actions": {"forwarding": "accept"}}}]}}]}});
    let e = DataBody::from_json(fig34.to_string().as_bytes()).unwrap_err();
    assert_eq!(e.kind, DecodeErrorKind::UnknownMember, "{e}");
}

#[test]
fn identities_are_written_qualified_and_read_both_ways() {
    assert_eq!(AclType::from_name("ipv4-acl-type"), Some(AclType::Ipv4));
    assert_eq!(
        AclType::from_name("ietf-access-control-list:ipv4-acl-type"),
        Some(AclType::Ipv4)
    );
    assert_eq!(AclType::from_name("other-module:ipv4-acl-type"), None);
    assert_eq!(
        serde_json::to_string(&ForwardingAction::Drop).unwrap(),
        "\"ietf-access-control-list:drop\""
    );
    // enumerations of the DOTS module itself are never prefixed
    assert_eq!(
        ActivationType::from_name("ietf-dots-data-channel:immediate"),
        None
    );
}

fn kind_of(v: &Value) -> DecodeErrorKind {
    DataBody::from_json(v.to_string().as_bytes())
        .unwrap_err()
        .kind
}

#[test]
fn decode_error_classes() {
    use DecodeErrorKind::*;
    assert_eq!(DataBody::from_json(b"{").unwrap_err().kind, Malformed);
    assert_eq!(DataBody::from_json(b"").unwrap_err().kind, Malformed);
    assert_eq!(
        DataBody::from_json(
            br#"{"ietf-dots-data-channel:aliases": {}, "ietf-dots-data-channel:aliases": {}}"#
        )
        .unwrap_err()
        .kind,
        Malformed
    );
    assert_eq!(kind_of(&json!({})), MissingMember);
    assert_eq!(
        kind_of(&json!({"aliases": {}})),
        UnknownMember,
        "unqualified top level"
    );
    assert_eq!(
        kind_of(&json!({"ietf-dots-data-channel:aliases": {}, "ietf-dots-data-channel:acls": {}})),
        InvalidValue
    );
    assert_eq!(
        kind_of(&json!({"ietf-dots-data-channel:aliases": {"alias": [{}]}})),
        MissingMember
    );
    assert_eq!(
        kind_of(&json!({"ietf-dots-data-channel:aliases": {"alias": [{"name": "a", "foo": 1}]}})),
        UnknownMember
    );
    assert_eq!(
        kind_of(
            &json!({"ietf-dots-data-channel:aliases": {"alias": [{"name": "a", "target-protocol": [256]}]}})
        ),
        InvalidValue
    );
    assert_eq!(
        kind_of(
            &json!({"ietf-dots-data-channel:aliases": {"alias": [{"name": "a", "target-prefix": ["10.0.0.1"]}]}})
        ),
        InvalidValue,
        "a prefix needs its length"
    );
    assert_eq!(
        kind_of(
            &json!({"ietf-dots-data-channel:aliases": {"alias": [{"name": "a", "target-port-range": [{"upper-port": 3}]}]}})
        ),
        MissingMember
    );
    let ace = |m: Value, a: Value| json!({"ietf-dots-data-channel:ace": [{"name": "x", "matches": m, "actions": a}]});
    let drop = json!({"forwarding": "drop"});
    assert_eq!(
        kind_of(&ace(json!({"ipv4": {}, "ipv6": {}}), drop.clone())),
        InvalidValue
    );
    assert_eq!(
        kind_of(&ace(json!({"tcp": {}, "udp": {}}), drop.clone())),
        InvalidValue
    );
    assert_eq!(
        kind_of(&ace(
            json!({"ipv4": {"fragment": {"operator": "match"}}}),
            drop.clone()
        )),
        MissingMember
    );
    assert_eq!(
        kind_of(&ace(json!({"ipv4": {"flags": "more more"}}), drop.clone())),
        InvalidValue
    );
    assert_eq!(
        kind_of(&ace(json!({"ipv4": {"flags": "bogus"}}), drop.clone())),
        InvalidValue
    );
    assert_eq!(
        kind_of(&ace(
            json!({"udp": {"source-port-range-or-operator": {"operator": "eq"}}}),
            drop.clone()
        )),
        MissingMember
    );
    assert_eq!(
        kind_of(&ace(
            json!({"udp": {"source-port-range-or-operator": {"lower-port": 9, "upper-port": 8}}}),
            drop.clone()
        )),
        InvalidValue
    );
    assert_eq!(
        kind_of(&ace(
            json!({"udp": {"source-port-range-or-operator": {"lower-port": 1, "upper-port": 8, "port": 3}}}),
            drop.clone()
        )),
        InvalidValue
    );
    assert_eq!(
        kind_of(&ace(json!({}), json!({"forwarding": "forward"}))),
        InvalidValue
    );
    assert_eq!(
        kind_of(&ace(json!({}), json!({"rate-limit": "1.00"}))),
        MissingMember
    );
    assert_eq!(
        kind_of(&ace(
            json!({}),
            json!({"forwarding": "accept", "rate-limit": 20})
        )),
        InvalidValue,
        "decimal64 is a string"
    );
    assert_eq!(
        kind_of(&ace(
            json!({}),
            json!({"forwarding": "accept", "rate-limit": "1.234"})
        )),
        InvalidValue
    );
    assert_eq!(
        kind_of(
            &json!({"ietf-dots-data-channel:ace": [{"name": "x", "statistics": {"matched-packets": 5}}]})
        ),
        InvalidValue,
        "counter64 is a string"
    );
    assert_eq!(
        kind_of(&ace(json!({"tcp": {"options": "not base64!"}}), drop)),
        InvalidValue
    );
}

#[test]
fn schema_constraints() {
    let acl = |ace: Ace, t: Option<AclType>| Acl {
        acl_type: t,
        ..Acl::new("a", vec![ace])
    };
    let drop = Actions::forwarding(ForwardingAction::Drop);
    let m4 = |m: Ipv4Match| Matches {
        l3: Some(L3Match::Ipv4(m)),
        l4: None,
    };
    let ok = acl(
        Ace::new(
            "x",
            m4(Ipv4Match {
                dscp: Some(63),
                ..Default::default()
            }),
            drop,
        ),
        Some(AclType::Ipv4),
    );
    ok.validate().unwrap();
    let e = acl(
        Ace::new(
            "x",
            m4(Ipv4Match {
                dscp: Some(64),
                ..Default::default()
            }),
            drop,
        ),
        None,
    )
    .validate()
    .unwrap_err();
    assert_eq!(e.path, "acl=a/aces/ace=x/matches/ipv4/dscp");
    assert_eq!(e.kind, SchemaErrorKind::Invalid);
    // `when` on ipv4 against the ACL type
    assert!(acl(
        Ace::new("x", m4(Ipv4Match::default()), drop),
        Some(AclType::Ipv6)
    )
    .validate()
    .is_err());
    assert!(acl(
        Ace::new("x", m4(Ipv4Match::default()), drop),
        Some(AclType::MixedEthIpv4Ipv6)
    )
    .validate()
    .is_ok());
    // rate-limit only with accept
    let rl = Actions {
        forwarding: ForwardingAction::Drop,
        rate_limit: Some(Decimal2(100)),
    };
    assert!(acl(Ace::new("x", Matches::default(), rl), None)
        .validate()
        .is_err());
    // df is IPv4-only
    let v6 = Matches {
        l3: Some(L3Match::Ipv6(Ipv6Match {
            fragment: Some(Fragment {
                operator: None,
                fragment_type: FragmentType::DF,
            }),
            ..Default::default()
        })),
        l4: None,
    };
    assert!(acl(Ace::new("x", v6, drop), None).validate().is_err());
    // 'match' and 'any' together
    let tcp = Matches {
        l3: None,
        l4: Some(L4Match::Tcp(TcpMatch {
            flags_bitmask: Some(FlagsBitmask {
                operator: Some(BitmaskOperator::MATCH | BitmaskOperator::ANY),
                bitmask: 2,
            }),
            ..Default::default()
        })),
    };
    assert!(acl(Ace::new("x", tcp, drop), None).validate().is_err());
    // names
    assert!(Acl::new("", vec![]).validate().is_err());
    assert!(Acl::new("a".repeat(65), vec![]).validate().is_err());
    assert!(
        Acl::new("é".repeat(64), vec![]).validate().is_ok(),
        "length counts characters"
    );
    assert!(Acl::new(
        "a",
        vec![
            Ace::new("x", Matches::default(), drop),
            Ace::new("x", Matches::default(), drop)
        ]
    )
    .validate()
    .is_err());
    // alias constraints
    let mut a = Alias::new("a");
    a.target_port_range = vec![PortRange::range(10, 9)];
    assert!(a.validate().is_err());
    a.target_port_range = vec![PortRange::single(10), PortRange::range(10, 12)];
    assert!(a.validate().is_err(), "duplicate list key");
    a.target_port_range = vec![];
    a.target_fqdn = vec!["bad..name".into()];
    assert!(a.validate().is_err());
    a.target_fqdn = vec!["www.example.com".into()];
    a.target_uri = vec!["no scheme".into()];
    assert!(a.validate().is_err());
    a.target_uri = vec!["https://example.com/x".into()];
    a.validate().unwrap();
}

#[test]
fn restconf_errors_body() {
    let e = RestconfError::new(ErrorType::Application, ErrorTag::InvalidValue)
        .with_path("/ietf-dots-data-channel:dots-data")
        .with_message("bad");
    let body = RestconfErrors::single(e.clone()).to_json();
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        v,
        json!({"ietf-restconf:errors": {"error": [{"error-type": "application",
            "error-tag": "invalid-value", "error-path": "/ietf-dots-data-channel:dots-data",
            "error-message": "bad"}]}})
    );
    assert_eq!(RestconfErrors::from_json(&body).unwrap().errors, vec![e]);
    assert!(RestconfErrors::from_json(br#"{"ietf-restconf:errors": {"error": []}}"#).is_err());
    assert!(RestconfErrors::from_json(
        br#"{"ietf-restconf:errors": {"error": [{"error-type": "application"}]}}"#
    )
    .is_err());
}

#[test]
fn decimal2_text() {
    for (s, v) in [
        ("20.00", 2000),
        ("20", 2000),
        ("20.5", 2050),
        ("-0.01", -1),
        ("0", 0),
    ] {
        assert_eq!(Decimal2::parse(s), Some(Decimal2(v)), "{s}");
    }
    for s in [
        "",
        "-",
        "1.",
        ".5",
        "1.234",
        "1e3",
        "+1",
        "1 ",
        "99999999999999999999",
    ] {
        assert_eq!(Decimal2::parse(s), None, "{s}");
    }
    assert_eq!(Decimal2(i64::MIN).to_string(), "-92233720368547758.08");
    assert_eq!(
        Decimal2::parse("-92233720368547758.08"),
        Some(Decimal2(i64::MIN))
    );
    assert_eq!(
        Decimal2::parse("92233720368547758.07"),
        Some(Decimal2(i64::MAX))
    );
    assert_eq!(Decimal2::parse("92233720368547758.08"), None);
}

#[test]
fn domain_names() {
    for ok in [
        "example.com",
        "example.com.",
        "a",
        "x_y.example",
        "1.2.3",
        ".",
    ] {
        assert!(is_domain_name(ok), "{ok}");
    }
    let long = "a".repeat(64);
    for bad in ["", "..", "-a.com", "a-.com", "a b", &long] {
        assert!(!is_domain_name(bad), "{bad}");
    }
}

// ---- proptest round trips -------------------------------------------------------------------

fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_.-]{1,20}"
}

fn ipv4net() -> impl Strategy<Value = Ipv4Net> {
    (any::<u32>(), 0u8..=32).prop_map(|(a, l)| Ipv4Net::new(a.into(), l).unwrap())
}

fn ipv6net() -> impl Strategy<Value = Ipv6Net> {
    (any::<u128>(), 0u8..=128).prop_map(|(a, l)| Ipv6Net::new(a.into(), l).unwrap())
}

fn ipnet_s() -> impl Strategy<Value = IpNet> {
    prop_oneof![ipv4net().prop_map(IpNet::V4), ipv6net().prop_map(IpNet::V6)]
}

fn port_range() -> impl Strategy<Value = PortRange> {
    (any::<u16>(), proptest::option::of(any::<u16>())).prop_map(|(l, u)| PortRange {
        lower_port: l,
        upper_port: u,
    })
}

prop_compose! {
    fn alias()(
        name in name(),
        target_prefix in proptest::collection::vec(ipnet_s(), 0..4),
        target_port_range in proptest::collection::vec(port_range(), 0..3),
        target_protocol in proptest::collection::vec(any::<u8>(), 0..3),
        target_fqdn in proptest::collection::vec("[a-z]{1,10}\\.example", 0..3),
        target_uri in proptest::collection::vec("https://[a-z]{1,10}/", 0..3),
        pending_lifetime in proptest::option::of(any::<i32>()),
    ) -> Alias {
        Alias { name, target_prefix, target_port_range, target_protocol, target_fqdn, target_uri, pending_lifetime }
    }
}

fn bitmask_op() -> impl Strategy<Value = BitmaskOperator> {
    (0u8..16).prop_map(|b| BitmaskOperator(b & BitmaskOperator::ALL.0))
}

fn fragment() -> impl Strategy<Value = Fragment> {
    (proptest::option::of(bitmask_op()), 0u8..16).prop_map(|(operator, t)| Fragment {
        operator,
        fragment_type: FragmentType(t),
    })
}

fn port_match() -> impl Strategy<Value = PortMatch> {
    prop_oneof![
        (any::<u16>(), any::<u16>()).prop_map(|(a, b)| PortMatch::Range {
            lower_port: a.min(b),
            upper_port: a.max(b)
        }),
        (
            proptest::option::of(proptest::sample::select(PortOperator::ALL)),
            any::<u16>()
        )
            .prop_map(|(operator, port)| PortMatch::Operator { operator, port }),
    ]
}

fn binary() -> impl Strategy<Value = Binary> {
    proptest::collection::vec(any::<u8>(), 0..12).prop_map(Binary)
}

prop_compose! {
    fn ipv4_match()(
        a in proptest::array::uniform9(proptest::option::of(any::<u8>())),
        length in proptest::option::of(any::<u16>()),
        offset in proptest::option::of(any::<u16>()),
        identification in proptest::option::of(any::<u16>()),
        dst in proptest::option::of(ipv4net()),
        src in proptest::option::of(ipv4net()),
        fragment in proptest::option::of(fragment()),
    ) -> Ipv4Match {
        Ipv4Match {
            dscp: a[0], ecn: a[1], length, ttl: a[2], protocol: a[3], ihl: a[4],
            flags: a[5].map(|f| Ipv4Flags(f & Ipv4Flags::ALL.0)), offset, identification,
            destination_ipv4_network: dst, source_ipv4_network: src, fragment,
        }
    }
}

prop_compose! {
    fn ipv6_match()(
        a in proptest::array::uniform4(proptest::option::of(any::<u8>())),
        length in proptest::option::of(any::<u16>()),
        dst in proptest::option::of(ipv6net()),
        src in proptest::option::of(ipv6net()),
        flow_label in proptest::option::of(any::<u32>()),
        fragment in proptest::option::of(fragment()),
    ) -> Ipv6Match {
        Ipv6Match {
            dscp: a[0], ecn: a[1], length, ttl: a[2], protocol: a[3],
            destination_ipv6_network: dst, source_ipv6_network: src, flow_label, fragment,
        }
    }
}

prop_compose! {
    fn tcp_match()(
        seq in proptest::option::of(any::<u32>()),
        ack in proptest::option::of(any::<u32>()),
        small in proptest::array::uniform2(proptest::option::of(any::<u8>())),
        flags in proptest::option::of(any::<u16>()),
        w in proptest::array::uniform2(proptest::option::of(any::<u16>())),
        options in proptest::option::of(binary()),
        fb in proptest::option::of((proptest::option::of(bitmask_op()), any::<u16>())),
        sp in proptest::option::of(port_match()),
        dp in proptest::option::of(port_match()),
    ) -> TcpMatch {
        TcpMatch {
            sequence_number: seq, acknowledgement_number: ack, data_offset: small[0],
            reserved: small[1], flags: flags.map(|f| TcpFlags(f & TcpFlags::ALL.0)),
            window_size: w[0], urgent_pointer: w[1], options,
            flags_bitmask: fb.map(|(operator, bitmask)| FlagsBitmask { operator, bitmask }),
            source_port_range_or_operator: sp, destination_port_range_or_operator: dp,
        }
    }
}

fn matches_s() -> BoxedStrategy<Matches> {
    let l3 = proptest::option::of(prop_oneof![
        ipv4_match().prop_map(L3Match::Ipv4).boxed(),
        ipv6_match().prop_map(L3Match::Ipv6).boxed(),
    ]);
    let l4 = proptest::option::of(prop_oneof![
        tcp_match().prop_map(L4Match::Tcp).boxed(),
        (
            proptest::option::of(any::<u16>()),
            proptest::option::of(port_match()),
            proptest::option::of(port_match())
        )
            .prop_map(|(length, s, d)| L4Match::Udp(UdpMatch {
                length,
                source_port_range_or_operator: s,
                destination_port_range_or_operator: d
            })),
        (
            proptest::option::of(any::<u8>()),
            proptest::option::of(any::<u8>()),
            proptest::option::of(binary())
        )
            .prop_map(|(t, c, r)| L4Match::Icmp(IcmpMatch {
                icmp_type: t,
                code: c,
                rest_of_header: r
            })),
    ]);
    (l3.boxed(), l4.boxed())
        .prop_map(|(l3, l4)| Matches { l3, l4 })
        .boxed()
}

fn actions_s() -> impl Strategy<Value = Actions> {
    (
        proptest::sample::select(ForwardingAction::ALL),
        proptest::option::of(any::<i64>()),
    )
        .prop_map(|(forwarding, r)| Actions {
            forwarding,
            rate_limit: r.map(Decimal2),
        })
}

prop_compose! {
    fn ace()(
        name in name(),
        matches in proptest::option::of(matches_s()),
        actions in proptest::option::of(actions_s()),
        statistics in proptest::option::of((proptest::option::of(any::<u64>()), proptest::option::of(any::<u64>()))),
    ) -> Ace {
        Ace {
            name, matches, actions,
            statistics: statistics.map(|(p, o)| Statistics { matched_packets: p, matched_octets: o }),
        }
    }
}

prop_compose! {
    fn acl()(
        name in name(),
        acl_type in proptest::option::of(proptest::sample::select(AclType::ALL)),
        activation_type in proptest::option::of(proptest::sample::select(ActivationType::ALL)),
        pending_lifetime in proptest::option::of(any::<i32>()),
        aces in proptest::option::of(proptest::collection::vec(ace(), 0..4)),
    ) -> Acl {
        Acl { name, acl_type, activation_type, pending_lifetime, aces: aces.map(|ace| Aces { ace }) }
    }
}

prop_compose! {
    fn vendor()(
        vendor_id in any::<u32>(),
        vendor_name in proptest::option::of(name()),
        description_lang in proptest::option::of(proptest::sample::select(vec!["en-US", "fr", "zh-Hant-TW"])),
        last_updated in any::<u64>(),
        attacks in proptest::collection::vec((any::<u32>(), "\\PC{1,30}"), 0..4),
    ) -> Vendor {
        Vendor {
            vendor_id,
            vendor_name,
            description_lang: description_lang.map(String::from),
            last_updated,
            attack_mapping: attacks
                .into_iter()
                .map(|(attack_id, attack_description)| AttackMapping { attack_id, attack_description })
                .collect(),
        }
    }
}

fn vendor_mapping() -> impl Strategy<Value = VendorMapping> {
    proptest::collection::vec(vendor(), 0..3).prop_map(|vendor| VendorMapping { vendor })
}

fn body() -> impl Strategy<Value = DataBody> {
    prop_oneof![
        vendor_mapping().prop_map(DataBody::VendorMapping),
        proptest::collection::vec(vendor(), 1..3).prop_map(DataBody::Vendor),
        proptest::collection::vec(alias(), 0..3)
            .prop_map(|alias| DataBody::Aliases(Aliases { alias })),
        proptest::collection::vec(alias(), 1..3).prop_map(DataBody::Alias),
        proptest::collection::vec(acl(), 0..3).prop_map(|acl| DataBody::Acls(Acls { acl })),
        proptest::collection::vec(acl(), 1..3).prop_map(DataBody::Acl),
        proptest::collection::vec(ace(), 1..3).prop_map(DataBody::Ace),
        (
            name(),
            proptest::option::of(name()),
            proptest::option::of(proptest::collection::vec(alias(), 0..2)),
            proptest::option::of(proptest::collection::vec(acl(), 0..2)),
            proptest::option::of(vendor_mapping()),
        )
            .prop_map(
                |(cuid, cdid, al, ac, vendor_mapping)| DataBody::DotsClient(vec![DotsClient {
                    cuid,
                    cdid,
                    aliases: al.map(|alias| Aliases { alias }),
                    acls: ac.map(|acl| Acls { acl }),
                    vendor_mapping,
                }])
            ),
    ]
}

proptest! {
    #[test]
    fn data_body_round_trips(b in body()) {
        let text = b.to_json();
        prop_assert_eq!(DataBody::from_json(&text).unwrap(), b);
    }

    #[test]
    fn capabilities_round_trip(bits in any::<u64>(), protos in proptest::collection::vec(any::<u8>(), 0..5)) {
        let bit = |i: u32| if bits >> i & 1 == 1 { Some(bits >> (i + 32) & 1 == 1) } else { None };
        let caps = Capabilities {
            address_family: if bit(0).is_some() { vec![AddressFamily::Ipv4] } else { Vec::new() },
            forwarding_actions: vec![ForwardingAction::Accept],
            rate_limit: bit(1),
            transport_protocols: protos,
            ipv4: Some(Ipv4Capabilities { dscp: bit(2), fragment: bit(3), ..Default::default() }),
            ipv6: bit(4).map(|_| Ipv6Capabilities { hoplimit: bit(5), ..Default::default() }),
            tcp: Some(TcpCapabilities { flags_bitmask: bit(6), port_range: bit(7), ..Default::default() }),
            udp: None,
            icmp: Some(IcmpCapabilities { icmp_type: bit(8), ..Default::default() }),
            vendor_mapping_enabled: bit(9),
        };
        let b = DataBody::Capabilities(caps);
        prop_assert_eq!(DataBody::from_json(&b.to_json()).unwrap(), b);
    }

    #[test]
    fn decimal2_round_trips(v in any::<i64>()) {
        prop_assert_eq!(Decimal2::parse(&Decimal2(v).to_string()), Some(Decimal2(v)));
    }

    #[test]
    fn bits_round_trip(v in 0u16..512) {
        let f = TcpFlags(v & TcpFlags::ALL.0);
        prop_assert_eq!(TcpFlags::parse(&f.to_string()), Some(f));
    }

    #[test]
    fn restconf_errors_round_trip(
        t in proptest::sample::select(ErrorType::ALL),
        g in proptest::sample::select(ErrorTag::ALL),
        m in proptest::option::of("[ -~]{0,30}"),
    ) {
        let mut e = RestconfError::new(t, g);
        e.error_message = m;
        let body = RestconfErrors::single(e);
        prop_assert_eq!(RestconfErrors::from_json(&body.to_json()).unwrap(), body);
    }

    #[test]
    fn arbitrary_json_never_panics(s in "\\PC{0,200}") {
        let _ = DataBody::from_json(s.as_bytes());
    }
}
