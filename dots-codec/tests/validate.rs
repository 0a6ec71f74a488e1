//! One test per validation error.

use dots_codec::coap::Code;
use dots_codec::model::{
    check_prefix, ActivationType, AttackStatus, ConfigParams, ConflictInformation, Decimal2,
    DecimalParam, DomainName, IcmpTypeRange, IntParam, Lifetime, MitigationRequest,
    MitigationScope, MitigationStatus, PortRange, PrefixProblem, RedirectedSignal, Scope,
    ScopeEntry, SignalConfig, ValidationError,
};

fn scope(prefix: &str) -> Scope {
    let mut s = Scope::new();
    s.targets.push_prefix(prefix.parse().unwrap()).unwrap();
    s.lifetime = Some(Lifetime::Seconds(3600));
    s
}

fn req(s: Scope) -> MitigationRequest {
    MitigationRequest::new(s)
}

fn err(r: &MitigationRequest) -> ValidationError {
    let e = r.validate().unwrap_err();
    assert_eq!(e.response_code(), Code::BAD_REQUEST, "{e}");
    e
}

#[test]
fn a_plain_request_is_valid() {
    req(scope("2001:db8::/32")).validate().unwrap();
    let mut s = Scope::new();
    s.targets.push_fqdn("www.example.com").unwrap();
    s.lifetime = Some(Lifetime::Indefinite);
    req(s).validate().unwrap();
    let mut s = Scope::new();
    s.targets.push_uri("https://example.com/x").unwrap();
    s.targets.push_alias_name("https1").unwrap();
    s.lifetime = Some(Lifetime::Seconds(1));
    req(s).validate().unwrap();
}

#[test]
fn missing_target() {
    let mut s = scope("1.2.3.0/24");
    s.targets.prefixes.clear();
    s.targets.port_ranges.push(PortRange::single(80)).unwrap();
    assert_eq!(err(&req(s)), ValidationError::MissingTarget);
}

#[test]
fn lifetime_rules() {
    let mut s = scope("1.2.3.0/24");
    s.lifetime = None;
    assert_eq!(err(&req(s.clone())), ValidationError::MissingLifetime);
    s.lifetime = Some(Lifetime::Seconds(0));
    assert_eq!(err(&req(s)), ValidationError::ZeroLifetime);
}

#[test]
fn server_only_members_in_a_request() {
    let s = scope("1.2.3.0/24");
    type Set = fn(&mut ScopeEntry);
    let cases: [(Set, &str); 8] = [
        (|e| e.mid = Some(1), "mid"),
        (|e| e.mitigation_start = Some(1), "mitigation-start"),
        (|e| e.status = Some(MitigationStatus::InProgress), "status"),
        (
            |e| e.conflict_information = Some(ConflictInformation::default()),
            "conflict-information",
        ),
        (|e| e.bytes_dropped = Some(0), "bytes-dropped"),
        (|e| e.bps_dropped = Some(0), "bps-dropped"),
        (|e| e.pkts_dropped = Some(0), "pkts-dropped"),
        (|e| e.pps_dropped = Some(0), "pps-dropped"),
    ];
    for (set, field) in cases {
        let mut r = req(s.clone());
        set(&mut r.entry);
        assert_eq!(err(&r), ValidationError::ServerOnlyMember { field });
        assert_eq!(err(&r).field(), field);
    }
}

#[test]
fn reversed_port_ranges() {
    let mut s = scope("1.2.3.0/24");
    s.targets.port_ranges.push(PortRange::new(443, 80)).unwrap();
    assert_eq!(
        err(&req(s)),
        ValidationError::ReversedRange {
            field: "target-port-range",
            lower: 443,
            upper: 80
        }
    );
    let mut s = scope("1.2.3.0/24");
    s.targets.port_ranges.push(PortRange::new(80, 80)).unwrap();
    req(s).validate().unwrap();
}

#[test]
fn invalid_target_prefixes() {
    for (p, problem) in [
        ("127.0.0.1/32", PrefixProblem::Loopback),
        ("127.0.0.0/8", PrefixProblem::Loopback),
        ("0.0.0.0/0", PrefixProblem::Loopback),
        ("224.0.0.0/4", PrefixProblem::Multicast),
        ("239.1.2.3/32", PrefixProblem::Multicast),
        ("255.255.255.255/32", PrefixProblem::Broadcast),
        ("::1/128", PrefixProblem::Loopback),
        ("ff02::1/128", PrefixProblem::Multicast),
        ("ff00::/8", PrefixProblem::Multicast),
    ] {
        let e = err(&req(scope(p)));
        assert!(
            matches!(e, ValidationError::InvalidPrefix { field: "target-prefix", problem: q, .. } if q == problem),
            "{p}: {e}"
        );
    }
    for ok in [
        "126.255.255.255/32",
        "128.0.0.0/8",
        "223.0.0.0/8",
        "fe80::/10",
        "2001:db8::/32",
        "2000::/3",
    ] {
        assert_eq!(check_prefix(&ok.parse().unwrap()), Ok(()), "{ok}");
    }
}

#[test]
fn invalid_text_members() {
    let mut s = scope("1.2.3.0/24");
    s.targets.push_fqdn("bad name.example").unwrap();
    assert_eq!(
        err(&req(s)),
        ValidationError::InvalidText {
            field: "target-fqdn"
        }
    );
    let mut s = scope("1.2.3.0/24");
    s.targets.push_uri("no-scheme").unwrap();
    assert_eq!(
        err(&req(s)),
        ValidationError::InvalidText {
            field: "target-uri"
        }
    );
    let mut s = scope("1.2.3.0/24");
    s.targets.push_alias_name("").unwrap();
    assert_eq!(
        err(&req(s)),
        ValidationError::InvalidText {
            field: "alias-name"
        }
    );
    let mut s = scope("1.2.3.0/24");
    s.push_acl("", Some(ActivationType::Immediate)).unwrap();
    assert_eq!(
        err(&req(s)),
        ValidationError::InvalidText { field: "acl-name" }
    );
}

#[test]
fn efficacy_updates_need_attack_status() {
    let mut s = scope("1.2.3.0/24");
    s.lifetime = None;
    let r = req(s.clone());
    assert_eq!(
        r.validate_efficacy_update(),
        Err(ValidationError::MissingAttackStatus)
    );
    s.attack_status = Some(AttackStatus::UnderAttack);
    req(s.clone()).validate_efficacy_update().unwrap();
    s.lifetime = Some(Lifetime::Seconds(0));
    assert_eq!(
        req(s).validate_efficacy_update(),
        Err(ValidationError::ZeroLifetime)
    );
}

#[test]
fn call_home_rules() {
    let base = || {
        let mut s = scope("2001:db8:c000::/48");
        s.call_home
            .source_prefixes
            .push("2001:db8:123::1/128".parse().unwrap())
            .unwrap();
        s
    };
    req(base()).validate().unwrap();

    let mut s = base();
    s.trigger_mitigation = Some(false);
    assert_eq!(err(&req(s)), ValidationError::CallHomeTriggerFalse);
    let mut s = base();
    s.trigger_mitigation = Some(true);
    req(s).validate().unwrap();

    let mut s = base();
    s.targets.prefixes.clear();
    s.targets.push_fqdn("example.com").unwrap();
    assert_eq!(err(&req(s)), ValidationError::CallHomeWithoutTargetPrefix);

    let mut s = base();
    s.call_home
        .source_prefixes
        .push("198.51.100.0/24".parse().unwrap())
        .unwrap();
    assert_eq!(
        err(&req(s)),
        ValidationError::AddressFamilyMismatch {
            field: "source-prefix"
        }
    );

    let mut s = base();
    s.call_home
        .source_prefixes
        .push("ff02::1/128".parse().unwrap())
        .unwrap();
    assert!(matches!(
        err(&req(s)),
        ValidationError::InvalidPrefix {
            field: "source-prefix",
            problem: PrefixProblem::Multicast,
            ..
        }
    ));

    let mut s = base();
    s.call_home
        .source_port_ranges
        .push(PortRange::new(2000, 1000))
        .unwrap();
    assert_eq!(
        err(&req(s)),
        ValidationError::ReversedRange {
            field: "source-port-range",
            lower: 2000,
            upper: 1000
        }
    );

    let mut s = base();
    s.call_home
        .source_icmp_type_ranges
        .push(IcmpTypeRange {
            lower: 8,
            upper: Some(3),
        })
        .unwrap();
    assert_eq!(
        err(&req(s)),
        ValidationError::ReversedRange {
            field: "source-icmp-type-range",
            lower: 8,
            upper: 3
        }
    );

    let mut s = base();
    s.targets
        .push_prefix("192.0.2.0/24".parse().unwrap())
        .unwrap();
    s.call_home
        .source_icmp_type_ranges
        .push(IcmpTypeRange {
            lower: 8,
            upper: None,
        })
        .unwrap();
    assert_eq!(
        err(&req(s)),
        ValidationError::AddressFamilyMismatch {
            field: "source-icmp-type-range"
        }
    );
}

#[test]
fn responses_carry_no_attack_status() {
    let mut e = ScopeEntry::request(scope("1.2.3.0/24"));
    e.mid = Some(1);
    let mut m = MitigationScope::default();
    m.scopes.push(e.clone()).unwrap();
    m.validate_response().unwrap();
    m.scopes[0].scope.attack_status = Some(AttackStatus::UnderAttack);
    assert_eq!(
        m.validate_response(),
        Err(ValidationError::ClientOnlyMember {
            field: "attack-status"
        })
    );
}

fn client_config() -> SignalConfig {
    SignalConfig {
        sid: None,
        mitigating_config: Some(ConfigParams {
            heartbeat_interval: Some(IntParam::current(30)),
            ack_timeout: Some(DecimalParam::current(Decimal2::from_hundredths(200))),
            max_payloads: Some(IntParam::current(10)),
            ..ConfigParams::default()
        }),
        idle_config: Some(ConfigParams {
            heartbeat_interval: Some(IntParam::current(0)),
            max_payloads: Some(IntParam::current(10)),
            ..ConfigParams::default()
        }),
    }
}

#[test]
fn config_requests() {
    client_config().validate_request().unwrap();
    assert_eq!(
        SignalConfig::default().validate_request(),
        Err(ValidationError::MissingConfig)
    );

    let mut c = client_config();
    c.mitigating_config.as_mut().unwrap().missing_hb_allowed = Some(IntParam::default());
    let e = c.validate_request().unwrap_err();
    assert_eq!(
        e,
        ValidationError::MissingCurrentValue {
            config: "mitigating-config",
            parameter: "missing-hb-allowed"
        }
    );
    assert_eq!(e.response_code(), Code::BAD_REQUEST);

    let mut c = client_config();
    c.idle_config.as_mut().unwrap().ack_random_factor = Some(DecimalParam::default());
    assert_eq!(
        c.validate_request(),
        Err(ValidationError::MissingCurrentValue {
            config: "idle-config",
            parameter: "ack-random-factor"
        })
    );

    let mut c = client_config();
    c.idle_config.as_mut().unwrap().ack_timeout = Some(DecimalParam {
        min_value: Some(Decimal2::from_hundredths(100)),
        ..DecimalParam::current(Decimal2::from_hundredths(200))
    });
    assert_eq!(
        c.validate_request(),
        Err(ValidationError::ServerOnlyMember {
            field: "min-value-decimal"
        })
    );

    let mut c = client_config();
    c.idle_config.as_mut().unwrap().max_payloads = Some(IntParam::current(11));
    assert_eq!(
        c.validate_request(),
        Err(ValidationError::InconsistentMaxPayloads)
    );
}

#[test]
fn config_values_outside_the_servers_range_are_4_22() {
    let limits = SignalConfig {
        sid: None,
        mitigating_config: Some(ConfigParams {
            heartbeat_interval: Some(IntParam::range(15, 240, 30)),
            ack_timeout: Some(DecimalParam::range(
                Decimal2::from_hundredths(100),
                Decimal2::from_hundredths(3000),
                Decimal2::from_hundredths(200),
            )),
            ..ConfigParams::default()
        }),
        idle_config: Some(ConfigParams {
            heartbeat_interval: Some(IntParam::range(15, 240, 30)),
            ..ConfigParams::default()
        }),
    };
    client_config().check_against(&limits).unwrap();
    let mut c = client_config();
    c.mitigating_config.as_mut().unwrap().ack_timeout =
        Some(DecimalParam::current(Decimal2::from_hundredths(50)));
    let e = c.check_against(&limits).unwrap_err();
    assert_eq!(
        e,
        ValidationError::UnacceptableValue {
            config: "mitigating-config",
            parameter: "ack-timeout"
        }
    );
    assert_eq!(e.response_code(), Code::UNPROCESSABLE_ENTITY);
    let mut c = client_config();
    c.idle_config.as_mut().unwrap().heartbeat_interval = Some(IntParam::current(241));
    assert_eq!(
        c.check_against(&limits),
        Err(ValidationError::UnacceptableValue {
            config: "idle-config",
            parameter: "heartbeat-interval"
        })
    );
}

#[test]
fn redirects() {
    let name = |s: &str| Some(DomainName::try_from(s).unwrap());
    let mut r = RedirectedSignal {
        alt_server: name("alt-server.example"),
        ..Default::default()
    };
    r.alt_server_record
        .push("2001:db8:6401::1".parse().unwrap())
        .unwrap();
    r.validate().unwrap();
    assert_eq!(r.records().len(), 1);

    assert_eq!(
        RedirectedSignal::default().validate(),
        Err(ValidationError::InvalidRedirect)
    );
    let both = RedirectedSignal {
        alt_ch_client: name("c.example"),
        ..r.clone()
    };
    assert_eq!(both.validate(), Err(ValidationError::InvalidRedirect));

    let ttl = RedirectedSignal {
        ttl: Some(600),
        ..r.clone()
    };
    assert_eq!(
        ttl.validate(),
        Err(ValidationError::CallHomeOnlyMember { field: "ttl" })
    );
    let mut rec = r.clone();
    rec.alt_ch_client_record
        .push("2001:db8::1".parse().unwrap())
        .unwrap();
    assert_eq!(
        rec.validate(),
        Err(ValidationError::CallHomeOnlyMember {
            field: "alt-ch-client-record"
        })
    );

    let bad = RedirectedSignal {
        alt_server: name("not a name"),
        ..Default::default()
    };
    assert_eq!(
        bad.validate(),
        Err(ValidationError::InvalidText {
            field: "alt-server"
        })
    );

    let ch = RedirectedSignal {
        alt_ch_client: name("c.example"),
        ttl: Some(600),
        ..Default::default()
    };
    ch.validate().unwrap();
    let ch_bad = RedirectedSignal {
        alt_ch_client: name("a..b"),
        ..Default::default()
    };
    assert_eq!(
        ch_bad.validate(),
        Err(ValidationError::InvalidText {
            field: "alt-ch-client"
        })
    );
    let ch_mixed = RedirectedSignal {
        alt_server_record: r.alt_server_record.clone(),
        ..ch
    };
    assert_eq!(ch_mixed.validate(), Err(ValidationError::InvalidRedirect));
}
