//! RFC 9244 telemetry in the server core beyond the printed examples: `tsid`/`tmid` override
//! and conflict rules, one test per error answer (each asserting that nothing changed), the
//! Uri-Query filters of mitigation status and telemetry GETs, filtered observations,
//! `telemetry-notify-interval` pacing on a virtual clock, the host's telemetry, and snapshots.

mod signal_server_support;

use std::time::Duration;

use dots_codec::cbor::CborBody;
use dots_codec::coap::Code;
use dots_codec::model::telemetry::{
    Gauge, Gauges, PortTraffic, PreOrOngoingMitigation, ScopeAttackDetail, Telemetry,
    TelemetryAttackDetail, TelemetrySetup, TopTalker, Unit, UnitClass, UnitTraffic,
};
use dots_codec::model::{ConflictCause, MitigationScope, ScopeTelemetry};
use dots_codec::query::QuerySet;
use dots_proto::signal::server::{
    AliasTargets, CommandError, ObserveAction, ObserveTarget, ServerConfig, ServerEvent,
    TelemetryPolicy,
};
use dots_proto::time::Instant;
use signal_server_support::telemetry::*;
use signal_server_support::*;

fn config(json_members: &str) -> String {
    format!(
        r#"{{"ietf-dots-telemetry:telemetry-setup": {{"telemetry": [{{"current-config": {{{json_members}}}}}]}}}}"#
    )
}

fn pipes(links: &[(&str, u64)]) -> String {
    let l: Vec<String> = links
        .iter()
        .map(|(id, c)| format!(r#"{{"link-id": "{id}", "capacity": "{c}", "unit": "megabit-ps"}}"#))
        .collect();
    format!(
        r#"{{"ietf-dots-telemetry:telemetry-setup": {{"telemetry": [{{"total-pipe-capacity": [{}]}}]}}}}"#,
        l.join(",")
    )
}

fn baseline(id: u32, targets: &str) -> String {
    format!(
        r#"{{"ietf-dots-telemetry:telemetry-setup": {{"telemetry": [{{"baseline": [{{"id": {id}, {targets}
        "total-traffic-normal": [{{"unit": "megabit-ps", "peak-g": "60"}}]}}]}}]}}}}"#
    )
}

fn tm_target(members: &str) -> String {
    format!(
        r#"{{"ietf-dots-telemetry:telemetry": {{"pre-or-ongoing-mitigation": [{{"target": {{{members}}}}}]}}}}"#
    )
}

fn tm_data(members: &str) -> String {
    format!(
        r#"{{"ietf-dots-telemetry:telemetry": {{"pre-or-ongoing-mitigation": [{{"target": {{{members}}},
        "total-attack-traffic": [{{"unit": "megabit-ps", "mid-percentile-g": "900"}}]}}]}}}}"#
    )
}

fn conflict_cause(r: &Reply) -> Option<ConflictCause> {
    r.scopes().scopes[0]
        .conflict_information
        .as_ref()
        .and_then(|c| c.conflict_cause)
}

fn tm_body(bytes: &[u8]) -> Telemetry {
    Telemetry::decode_cbor(bytes).unwrap_or_else(|e| panic!("{e}: {bytes:02x?}"))
}

/// A server entry for a tmid: the target and a mid-percentile of attack traffic.
fn attack(prefix: &str, mid_g: u64) -> PreOrOngoingMitigation {
    let mut e = PreOrOngoingMitigation::default();
    e.target
        .targets
        .push_prefix(prefix.parse().unwrap())
        .unwrap();
    e.total_attack_traffic
        .push(UnitTraffic {
            unit: Unit::MegabitPs,
            gauges: Gauges::new().with(Gauge::MidPercentile, mid_g),
        })
        .unwrap();
    e
}

fn registered(r: &Reply) -> ObserveTarget {
    match &r.observe {
        Some(ObserveAction::Registered { target, .. }) => *target,
        other => panic!("{other:?}"),
    }
}

// ---- tsid rules ---------------------------------------------------------------------------

#[test]
fn pipes_lower_tsid_overlapping_a_higher_one_is_4_09_overlapping_pipes() {
    let mut h = Harness::new();
    assert_eq!(
        put_setup(&mut h, CUID, 10, &pipes(&[("link1", 500)])).code(),
        Code::CREATED
    );
    let r = h.unchanged_for(CUID, Code::CONFLICT, |h| {
        put_setup(h, CUID, 5, &pipes(&[("link1", 100), ("link9", 1)]))
    });
    assert_eq!(conflict_cause(&r), Some(ConflictCause::OverlappingPipes));
    // Without overlap both live.
    assert_eq!(
        put_setup(&mut h, CUID, 5, &pipes(&[("link3", 100)])).code(),
        Code::CREATED
    );
    let s =
        TelemetrySetup::decode_cbor(&get(&mut h, &setup_uri(CUID, None), &[], None).body).unwrap();
    let tsids: Vec<_> = s.telemetry.iter().map(|e| e.tsid).collect();
    assert_eq!(tsids, [Some(5), Some(10), None]);
    // The same link in another unit does not overlap (the key is link-id and unit).
    let kbit = pipes(&[("link1", 5)]).replace("megabit-ps", "kilobit-ps");
    assert_eq!(put_setup(&mut h, CUID, 3, &kbit).code(), Code::CREATED);
    h.check();
}

#[test]
fn baselines_lower_tsid_overlapping_is_4_09_overlapping_targets_with_the_scope() {
    let mut h = Harness::new();
    let a = baseline(1, r#""target-prefix": ["2001:db8::/32"],"#);
    assert_eq!(put_setup(&mut h, CUID, 20, &a).code(), Code::CREATED);
    let b = baseline(2, r#""target-prefix": ["2001:db8:1::/48"],"#);
    let r = h.unchanged_for(CUID, Code::CONFLICT, |h| put_setup(h, CUID, 15, &b));
    assert_eq!(conflict_cause(&r), Some(ConflictCause::OverlappingTargets));
    let scope = r.scopes().scopes[0]
        .conflict_information
        .clone()
        .unwrap()
        .conflict_scope
        .unwrap();
    assert_eq!(
        scope.targets.prefixes.as_slice(),
        &["2001:db8:1::/48".parse().unwrap()]
    );
    // The same id overlaps whatever the targets (Section 7.3: "uniquely identified").
    let c = baseline(1, r#""target-fqdn": ["www.example.com"],"#);
    assert_eq!(
        h.unchanged_for(CUID, Code::CONFLICT, |h| put_setup(h, CUID, 16, &c))
            .code(),
        Code::CONFLICT
    );
    // A domain-wide baseline (no target) overlaps only domain-wide ones.
    let wide = baseline(3, "");
    assert_eq!(put_setup(&mut h, CUID, 17, &wide).code(), Code::CREATED);
    let wide2 = baseline(4, "");
    assert_eq!(put_setup(&mut h, CUID, 18, &wide2).code(), Code::CREATED);
    assert_eq!(
        get(&mut h, &setup_uri(CUID, Some(17)), &[], None).code(),
        Code::NOT_FOUND,
        "overridden by 18"
    );
    // A higher tsid overlapping 20 deletes it.
    assert_eq!(put_setup(&mut h, CUID, 21, &b).code(), Code::CREATED);
    assert_eq!(
        get(&mut h, &setup_uri(CUID, Some(20)), &[], None).code(),
        Code::NOT_FOUND
    );
    h.check();
}

#[test]
fn baselines_overlap_through_alias_targets() {
    let mut h = Harness::new();
    h.s.hooks_mut().aliases.insert(
        (CUID.into(), "web".into()),
        AliasTargets {
            prefixes: vec!["2001:db8:5::/48".parse().unwrap()],
            ..AliasTargets::default()
        },
    );
    let a = baseline(1, r#""alias-name": ["web"],"#);
    assert_eq!(put_setup(&mut h, CUID, 30, &a).code(), Code::CREATED);
    let b = baseline(2, r#""target-prefix": ["2001:db8:5::1/128"],"#);
    assert_eq!(
        h.unchanged_for(CUID, Code::CONFLICT, |h| put_setup(h, CUID, 29, &b))
            .code(),
        Code::CONFLICT
    );
}

#[test]
fn same_domain_clients_conflict_on_pipes_and_baselines() {
    // RFC 9244 Section 7.5: two clients of one DOTS client domain (same cdid through a
    // trusted gateway).
    let mut h = Harness::new();
    let gw = Opts {
        gateway: true,
        ..Opts::default()
    };
    let uri = |cdid: &str, cuid: &str, tsid: u32| {
        format!("/.well-known/dots/tm-setup/cdid={cdid}/cuid={cuid}/tsid={tsid}")
    };
    let r = h.send(
        "gw",
        Code::PUT,
        &uri("dom-a", "client-x", 1),
        &cbor(&pipes(&[("l1", 9)])),
        &gw,
    );
    assert_eq!(r.code(), Code::CREATED);
    let r = h.unchanged_for("client-y", Code::CONFLICT, |h| {
        h.send(
            "gw",
            Code::PUT,
            &uri("dom-a", "client-y", 7),
            &cbor(&pipes(&[("l1", 5)])),
            &gw,
        )
    });
    assert_eq!(conflict_cause(&r), Some(ConflictCause::OverlappingPipes));
    // Another domain: no conflict.
    let r = h.send(
        "gw",
        Code::PUT,
        &uri("dom-b", "client-z", 7),
        &cbor(&pipes(&[("l1", 5)])),
        &gw,
    );
    assert_eq!(r.code(), Code::CREATED);
    // Baselines of the same domain with overlapping targets.
    let b = baseline(1, r#""target-prefix": ["192.0.2.0/24"],"#);
    assert_eq!(
        h.send(
            "gw",
            Code::PUT,
            &uri("dom-a", "client-x", 2),
            &cbor(&b),
            &gw
        )
        .code(),
        Code::CREATED
    );
    let b2 = baseline(5, r#""target-prefix": ["192.0.2.128/25"],"#);
    let r = h.unchanged_for("client-y", Code::CONFLICT, |h| {
        h.send(
            "gw",
            Code::PUT,
            &uri("dom-a", "client-y", 3),
            &cbor(&b2),
            &gw,
        )
    });
    assert_eq!(conflict_cause(&r), Some(ConflictCause::OverlappingTargets));
    // Direct clients have no cdid: no domain, no conflict (the host may say otherwise).
    assert_eq!(
        put_setup(&mut h, CUID, 1, &pipes(&[("l1", 1)])).code(),
        Code::CREATED
    );
    h.check();
}

// ---- /tm-setup errors ----------------------------------------------------------------------

#[test]
fn setup_mixing_kinds_is_4_00() {
    // Section 7: "requests that include a mix of telemetry configuration, pipe capacity, and
    // traffic baseline information MUST be rejected ... with a 4.00".
    let mut body = cbor(&config(r#""low-percentile": "5.00""#));
    let pipe = cbor(&pipes(&[("l", 1)]));
    // The entry of `body` is the last item: `81 a1 ...`; make it a two-member map and append
    // the pipe member of the other body.
    let at = body.windows(2).position(|w| w == [0x81, 0xa1]).unwrap();
    body[at + 1] = 0xa2;
    let p = pipe.windows(2).position(|w| w == [0x81, 0xa1]).unwrap();
    body.extend_from_slice(&pipe[p + 2..]);
    let mut h = Harness::new();
    let r = h.unchanged_for(CUID, Code::BAD_REQUEST, |h| {
        h.send(
            CUID,
            Code::PUT,
            &setup_uri(CUID, Some(1)),
            &body,
            &Opts::default(),
        )
    });
    assert!(r.text().contains("cannot appear with"), "{}", r.text());
}

#[test]
fn setup_with_tsid_in_the_body_is_4_00() {
    let mut h = Harness::new();
    let body = r#"{"ietf-dots-telemetry:telemetry-setup": {"telemetry": [{"tsid": 1,
        "current-config": {"low-percentile": "5.00"}}]}}"#;
    h.unchanged_for(CUID, Code::BAD_REQUEST, |h| put_setup(h, CUID, 1, body));
}

#[test]
fn setup_with_server_only_members_is_4_00() {
    let mut h = Harness::new();
    let body = r#"{"ietf-dots-telemetry:telemetry-setup": {"max-config-values": {
        "low-percentile": "5.00"}, "telemetry": [{"current-config": {"low-percentile": "5.00"}}]}}"#;
    h.unchanged_for(CUID, Code::BAD_REQUEST, |h| put_setup(h, CUID, 1, body));
}

#[test]
fn setup_percentiles_out_of_order_are_4_00() {
    let mut h = Harness::new();
    let body = config(r#""low-percentile": "50.00", "mid-percentile": "10.00""#);
    h.unchanged_for(CUID, Code::BAD_REQUEST, |h| put_setup(h, CUID, 1, &body));
}

#[test]
fn setup_values_outside_the_announced_ranges_are_4_22() {
    let mut config_ = ServerConfig::default();
    let mut p = TelemetryPolicy::default();
    p.max_config_values.telemetry_notify_interval = Some(60);
    p.min_config_values.telemetry_notify_interval = Some(10);
    p.max_config_values.server_originated_telemetry = Some(false);
    p.max_config_values.measurement_interval = Some(dots_codec::model::telemetry::Interval::Hour);
    p.supported_unit_classes
        .retain(|u| u.unit == UnitClass::PacketPs);
    config_.telemetry = Some(p);
    let mut h = Harness::with_config(config_);
    for members in [
        r#""telemetry-notify-interval": 61"#,
        r#""telemetry-notify-interval": 9"#,
        r#""server-originated-telemetry": true"#,
        r#""measurement-interval": "day""#,
        r#""unit-config": [{"unit": "bit-ps", "unit-status": true}]"#,
    ] {
        let body = config(members);
        h.unchanged_for(CUID, Code::UNPROCESSABLE_ENTITY, |h| {
            put_setup(h, CUID, 1, &body)
        });
    }
    // Within them: accepted.
    let ok = config(
        r#""telemetry-notify-interval": 60, "unit-config": [{"unit": "packet-ps", "unit-status": true}]"#,
    );
    assert_eq!(put_setup(&mut h, CUID, 1, &ok).code(), Code::CREATED);
}

#[test]
fn setup_baseline_with_an_unknown_alias_is_4_00() {
    let mut h = Harness::new();
    let b = baseline(1, r#""alias-name": ["not-mine"],"#);
    h.unchanged_for(CUID, Code::BAD_REQUEST, |h| put_setup(h, CUID, 1, &b));
}

#[test]
fn setup_baseline_outside_the_domain_is_4_00() {
    let mut h = Harness::new();
    h.s.hooks_mut().forbidden_prefix = Some("2001:db8::/32".parse().unwrap());
    let b = baseline(1, r#""target-prefix": ["2001:db8:1::/48"],"#);
    h.unchanged_for(CUID, Code::BAD_REQUEST, |h| put_setup(h, CUID, 1, &b));
}

#[test]
fn setup_quota_is_5_03_with_max_age() {
    let mut c = ServerConfig::default();
    let mut p = TelemetryPolicy::default();
    p.max_setups = 2;
    c.telemetry = Some(p);
    let mut h = Harness::with_config(c);
    assert_eq!(
        put_setup(&mut h, CUID, 1, &pipes(&[("a", 1)])).code(),
        Code::CREATED
    );
    assert_eq!(
        put_setup(&mut h, CUID, 2, &pipes(&[("b", 1)])).code(),
        Code::CREATED
    );
    let r = h.unchanged_for(CUID, Code::SERVICE_UNAVAILABLE, |h| {
        put_setup(h, CUID, 3, &pipes(&[("c", 1)]))
    });
    assert_eq!(r.max_age, Some(60));
    // Replacing one is fine.
    assert_eq!(
        put_setup(&mut h, CUID, 3, &pipes(&[("a", 2)])).code(),
        Code::CREATED
    );
}

#[test]
fn setup_of_a_cuid_held_by_another_peer_is_4_09_cuid_collision() {
    let mut h = Harness::new();
    assert_eq!(
        put_setup(&mut h, CUID, 1, &pipes(&[("a", 1)])).code(),
        Code::CREATED
    );
    let r = h.unchanged_for(CUID, Code::CONFLICT, |h| {
        h.send(
            CUID2,
            Code::PUT,
            &setup_uri(CUID, Some(2)),
            &cbor(&pipes(&[("b", 1)])),
            &Opts::default(),
        )
    });
    assert_eq!(conflict_cause(&r), Some(ConflictCause::CuidCollision));
}

#[test]
fn telemetry_not_supported_is_4_04_and_filters_are_4_00() {
    let mut c = ServerConfig::default();
    c.telemetry = None;
    let mut h = Harness::with_config(c);
    h.unchanged_for(CUID, Code::NOT_FOUND, |h| {
        put_setup(h, CUID, 1, &pipes(&[("a", 1)]))
    });
    h.unchanged_for(CUID, Code::NOT_FOUND, |h| {
        get(h, &setup_uri(CUID, None), &[], None)
    });
    h.unchanged_for(CUID, Code::NOT_FOUND, |h| {
        put_tm(
            h,
            CUID,
            1,
            &tm_target(r#""target-prefix": ["2001:db8::/32"]"#),
        )
    });
    assert_eq!(h.put_json(CUID, 1, FIG7).code(), Code::CREATED);
    h.unchanged_for(CUID, Code::BAD_REQUEST, |h| {
        get(h, &mitigate_uri(CUID, Some(1)), &["target-port=80"], None)
    });
    // 'c' still works.
    assert_eq!(
        get(&mut h, &mitigate_uri(CUID, Some(1)), &["c=n"], None).code(),
        Code::CONTENT
    );
}

// ---- /tm ---------------------------------------------------------------------------------

#[test]
fn tm_higher_tmid_overrides_and_ends_the_observations_of_the_lower_one() {
    let mut h = Harness::new();
    assert_eq!(
        put_tm(
            &mut h,
            CUID,
            10,
            &tm_target(r#""target-prefix": ["2001:db8::/32"]"#)
        )
        .code(),
        Code::CHANGED
    );
    let t = registered(&get(&mut h, &tm_uri(CUID, Some(10)), &[], Some(0)));
    h.events();
    assert_eq!(
        put_tm(
            &mut h,
            CUID,
            11,
            &tm_data(r#""target-prefix": ["2001:db8:1::/48"]"#)
        )
        .code(),
        Code::CHANGED
    );
    let e = h.events();
    assert!(e.contains(&ServerEvent::TelemetryRemoved {
        cuid: CUID.into(),
        tmid: 10,
        replaced_by: Some(11)
    }));
    assert!(e
        .iter()
        .any(|e| matches!(e, ServerEvent::PreMitigationTelemetry { tmid: 11, .. })));
    // The observation of tmid 10 ends with a 4.04 (RFC 7641 Section 3.2).
    let n = raw_notifications(&mut h);
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].0.code, Code::NOT_FOUND);
    assert!(n[0].0.last);
    assert_eq!(n[0].0.ended, [t]);
    assert_eq!(h.s.observations(CUID).count(), 0);
    // The lower tmid again, overlapping 11: 4.09 overlapping targets.
    let r = h.unchanged_for(CUID, Code::CONFLICT, |h| {
        put_tm(
            h,
            CUID,
            10,
            &tm_target(r#""target-prefix": ["2001:db8:1:2::/64"]"#),
        )
    });
    assert_eq!(conflict_cause(&r), Some(ConflictCause::OverlappingTargets));
    // mid-list overlaps too.
    assert_eq!(
        put_tm(&mut h, CUID, 20, &tm_target(r#""mid-list": [7]"#)).code(),
        Code::CHANGED
    );
    assert_eq!(
        h.unchanged_for(CUID, Code::CONFLICT, |h| put_tm(
            h,
            CUID,
            19,
            &tm_target(r#""mid-list": [7, 8]"#)
        ))
        .code(),
        Code::CONFLICT
    );
    h.check();
}

#[test]
fn tm_quota_and_host_refusal_are_5_03_with_max_age() {
    let mut c = ServerConfig::default();
    let mut p = TelemetryPolicy::default();
    p.max_telemetry = 1;
    c.telemetry = Some(p);
    let mut h = Harness::with_config(c);
    assert_eq!(
        put_tm(
            &mut h,
            CUID,
            1,
            &tm_target(r#""target-prefix": ["192.0.2.0/24"]"#)
        )
        .code(),
        Code::CHANGED
    );
    let r = h.unchanged_for(CUID, Code::SERVICE_UNAVAILABLE, |h| {
        put_tm(
            h,
            CUID,
            2,
            &tm_target(r#""target-prefix": ["198.51.100.0/24"]"#),
        )
    });
    assert_eq!(r.max_age, Some(60));
    h.s.hooks_mut().tm_refuse = true;
    let r = h.unchanged_for(CUID, Code::SERVICE_UNAVAILABLE, |h| {
        put_tm(
            h,
            CUID,
            1,
            &tm_target(r#""target-prefix": ["192.0.2.0/24"]"#),
        )
    });
    assert_eq!(r.max_age, Some(30), "Section 8.2: 5.03 with Max-Age");
}

#[test]
fn tm_request_errors_are_4_00() {
    let mut h = Harness::new();
    // No tmid.
    h.unchanged_for(CUID, Code::BAD_REQUEST, |h| {
        h.send(
            CUID,
            Code::PUT,
            &tm_uri(CUID, None),
            &cbor(&tm_target(r#""target-prefix": ["192.0.2.0/24"]"#)),
            &Opts::default(),
        )
    });
    // tmid in the body ("'cuid' and 'tmid' MUST NOT appear in the PUT request message body").
    let body = r#"{"ietf-dots-telemetry:telemetry": {"pre-or-ongoing-mitigation": [{"tmid": 4,
        "target": {"target-prefix": ["192.0.2.0/24"]}}]}}"#;
    h.unchanged_for(CUID, Code::BAD_REQUEST, |h| put_tm(h, CUID, 4, body));
    // Two entries.
    let two = r#"{"ietf-dots-telemetry:telemetry": {"pre-or-ongoing-mitigation": [
        {"target": {"target-prefix": ["192.0.2.0/24"]}},
        {"target": {"target-prefix": ["198.51.100.0/24"]}}]}}"#;
    h.unchanged_for(CUID, Code::BAD_REQUEST, |h| put_tm(h, CUID, 4, two));
    // An alias the client did not create.
    h.unchanged_for(CUID, Code::BAD_REQUEST, |h| {
        put_tm(h, CUID, 4, &tm_target(r#""alias-name": ["nope"]"#))
    });
    // A loopback target.
    h.unchanged_for(CUID, Code::BAD_REQUEST, |h| {
        put_tm(
            h,
            CUID,
            4,
            &tm_target(r#""target-prefix": ["127.0.0.1/32"]"#),
        )
    });
    // Not CBOR.
    h.unchanged_for(CUID, Code::BAD_REQUEST, |h| {
        h.send(
            CUID,
            Code::PUT,
            &tm_uri(CUID, Some(4)),
            &[0xff],
            &Opts::default(),
        )
    });
    // Unknown tmid on GET: 4.04.
    h.unchanged_for(CUID, Code::NOT_FOUND, |h| {
        get(h, &tm_uri(CUID, Some(4)), &[], Some(0))
    });
}

#[test]
fn invalid_or_unsupported_queries_are_4_00() {
    let mut c = ServerConfig::default();
    let mut p = TelemetryPolicy::default();
    p.supported_query_types = QuerySet::MITIGATION;
    c.telemetry = Some(p);
    let mut h = Harness::with_config(c);
    assert_eq!(h.put_json(CUID, 1, FIG7).code(), Code::CREATED);
    assert_eq!(
        put_tm(
            &mut h,
            CUID,
            1,
            &tm_target(r#""target-prefix": ["2001:db8::/32"]"#)
        )
        .code(),
        Code::CHANGED
    );
    let m = mitigate_uri(CUID, Some(1));
    let t = tm_uri(CUID, None);
    for (uri, q) in [
        (&m, "mid=1"),                         // not a Section 9.2 filter
        (&m, "source-prefix=192.0.2.0/24"),    // idem
        (&m, "target-port=80-"),               // malformed range
        (&m, "target-port=90-80"),             // reversed
        (&m, "target-fqdn=www.*.example.com"), // wildcard not leftmost
        (&m, "target-prefix=2001:db8::1"),     // no length
        (&m, "x=1"),                           // unknown
        (&t, "source-port=53"),                // not supported by this server
        (&t, "target-protocol=6,,17"),         // empty item
        (&t, "c=z"),                           // not c/n/a
    ] {
        h.unchanged_for(CUID, Code::BAD_REQUEST, |h| get(h, uri, &[q], Some(0)));
    }
    // Repeated names are rejected before (path parser): 4.00 as well.
    h.unchanged_for(CUID, Code::BAD_REQUEST, |h| {
        get(h, &m, &["target-port=80", "target-port=443"], None)
    });
}

// ---- /mitigate filters -----------------------------------------------------------------------

fn filtered_mids(h: &mut Harness, query: &[&str]) -> Result<Vec<u32>, Code> {
    let r = get(h, &mitigate_uri(CUID, None), query, None);
    if r.code() != Code::CONTENT {
        return Err(r.code());
    }
    Ok(r.scopes().scopes.iter().filter_map(|s| s.mid).collect())
}

#[test]
fn mitigation_status_filters_select_and_404_on_mismatch() {
    let mut h = Harness::new();
    h.s.hooks_mut().aliases.insert(
        (CUID.into(), "https1".into()),
        AliasTargets {
            prefixes: vec!["198.51.100.1/32".parse().unwrap()],
            port_ranges: vec![(443, 443)],
            protocols: vec![6],
            ..AliasTargets::default()
        },
    );
    // 1: Figure 7 (two prefixes, ports 80/443/8080, TCP).
    assert_eq!(h.put_json(CUID, 1, FIG7).code(), Code::CREATED);
    // 2: an FQDN, UDP 53.
    let f = r#"{"ietf-dots-signal-channel:mitigation-scope": {"scope": [{
        "target-fqdn": ["www.example.com"], "target-protocol": [17],
        "target-port-range": [{"lower-port": 53}], "lifetime": 3600}]}}"#;
    assert_eq!(h.put_json(CUID, 2, f).code(), Code::CREATED);
    // 3: a URI.
    let u = r#"{"ietf-dots-signal-channel:mitigation-scope": {"scope": [{
        "target-uri": ["https://api.example.org/v1"], "lifetime": 3600}]}}"#;
    assert_eq!(h.put_json(CUID, 3, u).code(), Code::CREATED);
    // 4: an alias.
    let a = r#"{"ietf-dots-signal-channel:mitigation-scope": {"scope": [{
        "alias-name": ["https1"], "lifetime": 3600}]}}"#;
    assert_eq!(h.put_json(CUID, 4, a).code(), Code::CREATED);
    type Case<'a> = (&'a [&'a str], Result<Vec<u32>, Code>);
    let cases: &[Case<'_>] = &[
        (&[], Ok(vec![1, 2, 3, 4])),
        (&["target-prefix=2001:db8:6401::/48"], Ok(vec![1])),
        (&["target-prefix=198.51.100.0/24"], Ok(vec![4])),
        (&["target-port=443"], Ok(vec![1, 3, 4])),
        (&["target-port=50-60"], Ok(vec![2, 3])),
        (&["target-port=9000-9100"], Ok(vec![3])),
        (&["target-protocol=17"], Ok(vec![2, 3])),
        (&["target-protocol=1-10"], Ok(vec![1, 3, 4])),
        (&["target-fqdn=*.example.com"], Ok(vec![2])),
        (&["target-fqdn=www.example.com."], Ok(vec![2])),
        (&["target-uri=https://*.example.org/v1"], Ok(vec![3])),
        (&["alias-name=https1"], Ok(vec![4])),
        (&["target-alias=https1,zzz"], Ok(vec![4])),
        (
            &["target-prefix=2001:db8:6401::/48", "target-port=8080"],
            Ok(vec![1]),
        ),
        (
            &["target-prefix=2001:db8:6401::/48", "target-port=53"],
            Err(Code::NOT_FOUND),
        ),
        (&["target-fqdn=*.example.net"], Err(Code::NOT_FOUND)),
        (&["target-port=443", "c=c"], Ok(vec![1, 3, 4])),
    ];
    for (q, want) in cases {
        assert_eq!(&filtered_mids(&mut h, q), want, "{q:?}");
    }
    // With a mid: 2.05 or 4.04.
    let r = get(
        &mut h,
        &mitigate_uri(CUID, Some(2)),
        &["target-protocol=17"],
        None,
    );
    assert_eq!(r.code(), Code::CONTENT);
    h.unchanged_for(CUID, Code::NOT_FOUND, |h| {
        get(
            h,
            &mitigate_uri(CUID, Some(2)),
            &["target-protocol=6"],
            None,
        )
    });
    h.check();
}

#[test]
fn filtered_observations_get_the_notifications_of_what_they_select() {
    let mut h = Harness::new();
    assert_eq!(h.put_json(CUID, 1, FIG7).code(), Code::CREATED);
    assert_eq!(
        h.put(CUID, 2, &["192.0.2.0/24"], 3600).code(),
        Code::CREATED
    );
    // A filtered observation of all mitigations, and one of mid 2.
    let all = registered(&get(
        &mut h,
        &mitigate_uri(CUID, None),
        &["target-prefix=2001:db8::/32"],
        Some(0),
    ));
    let two = registered(&get(
        &mut h,
        &mitigate_uri(CUID, Some(2)),
        &["target-prefix=192.0.2.0/25"],
        Some(0),
    ));
    assert!(matches!(all, ObserveTarget::FilteredMitigations(_)));
    assert_ne!(all, two);
    // An unfiltered observation of 1 overlaps the filtered one of all: 4.09 the other way
    // round only (an unfiltered Observe is a plain RFC 9132 registration).
    h.unchanged_for(CUID, Code::CONFLICT, |h| {
        get(h, &mitigate_uri(CUID, None), &["target-port=80"], Some(0))
    });
    h.notifications();
    h.s.set_mitigation_status(
        h.now,
        CUID,
        1,
        Some(dots_codec::model::MitigationStatus::SuccessfullyMitigated),
        Default::default(),
    )
    .unwrap();
    h.s.set_mitigation_status(
        h.now,
        CUID,
        2,
        Some(dots_codec::model::MitigationStatus::SuccessfullyMitigated),
        Default::default(),
    )
    .unwrap();
    let n = raw_notifications(&mut h);
    let got: Vec<(Option<u32>, Vec<ObserveTarget>)> =
        n.iter().map(|(n, _)| (n.mid, n.queries.clone())).collect();
    assert_eq!(got, [(Some(1), vec![all]), (Some(2), vec![two])]);
    // Observe=1 with the same query: the session is told which observation ends.
    let r = get(
        &mut h,
        &mitigate_uri(CUID, Some(2)),
        &["target-prefix=192.0.2.0/25"],
        Some(1),
    );
    assert!(matches!(r.observe, Some(ObserveAction::Deregister { target, .. }) if target == two));
    h.s.cancel_observation(CUID, two);
    assert_eq!(h.s.observations(CUID).collect::<Vec<_>>(), [all]);
    // A DELETE of 1: its last notification reaches the filtered observer.
    h.delete(CUID, 1);
    h.advance_secs(200);
    let n = raw_notifications(&mut h);
    assert!(
        n.iter()
            .any(|(n, _)| n.mid == Some(1) && n.queries == [all]),
        "{n:?}"
    );
    // Session loss drops it.
    h.s.session_lost(h.now, CUID);
    assert_eq!(h.s.observations(CUID).count(), 0);
    h.check();
}

#[test]
fn a_removed_mitigation_ends_the_filtered_observations_bound_to_it() {
    let mut h = Harness::new();
    assert_eq!(h.put(CUID, 2, &["192.0.2.0/24"], 60).code(), Code::CREATED);
    let two = registered(&get(
        &mut h,
        &mitigate_uri(CUID, Some(2)),
        &["target-protocol=6"],
        Some(0),
    ));
    h.notifications();
    h.advance_secs(61);
    let n = raw_notifications(&mut h);
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].0.queries, [two]);
    assert_eq!(n[0].0.ended, [two]);
    assert_eq!(h.s.observations(CUID).count(), 0);
    h.check();
}

// ---- /tm GET filters and content ------------------------------------------------------------

#[test]
fn tm_get_filters_entries_and_applies_port_and_protocol_filters() {
    let mut h = Harness::new();
    assert_eq!(
        put_setup(
            &mut h,
            CUID,
            1,
            &config(r#""server-originated-telemetry": true"#)
        )
        .code(),
        Code::CREATED
    );
    assert_eq!(
        put_tm(
            &mut h,
            CUID,
            1,
            &tm_target(r#""target-prefix": ["2001:db8::/32"]"#)
        )
        .code(),
        Code::CHANGED
    );
    assert_eq!(
        put_tm(
            &mut h,
            CUID,
            2,
            &tm_data(r#""target-fqdn": ["www.example.com"]"#)
        )
        .code(),
        Code::CHANGED
    );
    // The host's telemetry for tmid 1 with per-port data and a top talker.
    let mut e = attack("2001:db8::1/128", 900);
    for port in [53u16, 443] {
        e.total_attack_traffic_port
            .push(PortTraffic {
                port,
                unit: Unit::MegabitPs,
                gauges: Gauges::new().with(Gauge::Peak, 1),
            })
            .unwrap();
    }
    let mut d = TelemetryAttackDetail::new(32473, 77);
    let mut tk = TopTalker::new("203.0.113.0/24".parse().unwrap());
    tk.source_port_range
        .push(dots_codec::model::PortRange::single(123))
        .unwrap();
    d.top_talker.push(tk).unwrap();
    e.attack_detail.push(d).unwrap();
    h.s.set_attack_telemetry(h.now, CUID, 1, Some(&e)).unwrap();
    let tmids = |h: &mut Harness, q: &[&str]| -> Vec<u32> {
        let r = get(h, &tm_uri(CUID, None), q, None);
        assert_eq!(r.code(), Code::CONTENT);
        tm_body(&r.body)
            .pre_or_ongoing_mitigation
            .iter()
            .filter_map(|e| e.tmid)
            .collect()
    };
    assert_eq!(tmids(&mut h, &[]), [1, 2]);
    assert_eq!(tmids(&mut h, &["target-prefix=2001:db8::1/128"]), [1]);
    assert_eq!(tmids(&mut h, &["target-fqdn=*.example.com"]), [2]);
    assert_eq!(tmids(&mut h, &["source-prefix=203.0.113.7/32"]), [1]);
    assert_eq!(
        tmids(
            &mut h,
            &["source-prefix=203.0.113.0/24", "source-port=100-200"]
        ),
        [1]
    );
    assert_eq!(tmids(&mut h, &["source-port=1-100"]), Vec::<u32>::new());
    assert_eq!(tmids(&mut h, &["mid=1-9"]), Vec::<u32>::new());
    // "If a port filter ... is included in a request, 'total-attack-traffic-port' conveys the
    // data with the port ... filter applied."
    let r = get(&mut h, &tm_uri(CUID, Some(1)), &["target-port=443"], None);
    let t = tm_body(&r.body);
    let ports: Vec<u16> = t.pre_or_ongoing_mitigation[0]
        .total_attack_traffic_port
        .iter()
        .map(|p| p.port)
        .collect();
    assert_eq!(ports, [443]);
    // c=c: tmid and target only; c=n: no target.
    let r = get(&mut h, &tm_uri(CUID, Some(1)), &["c=c"], None);
    let e = &tm_body(&r.body).pre_or_ongoing_mitigation[0];
    assert!(!e.target.is_empty() && !e.has_telemetry());
    let r = get(&mut h, &tm_uri(CUID, Some(1)), &["c=n"], None);
    let e = &tm_body(&r.body).pre_or_ongoing_mitigation[0];
    assert!(e.target.is_empty() && e.has_telemetry());
    h.check();
}

// ---- the host's telemetry and pacing --------------------------------------------------------

#[test]
fn set_attack_telemetry_errors() {
    let mut h = Harness::new();
    let e = attack("2001:db8::1/128", 1);
    assert_eq!(
        h.s.set_attack_telemetry(h.now, CUID, 1, Some(&e)),
        Err(CommandError::UnknownClient)
    );
    assert_eq!(
        put_tm(
            &mut h,
            CUID,
            1,
            &tm_target(r#""target-prefix": ["2001:db8::/32"]"#)
        )
        .code(),
        Code::CHANGED
    );
    assert_eq!(
        h.s.set_attack_telemetry(h.now, CUID, 9, Some(&e)),
        Err(CommandError::UnknownTelemetry { tmid: 9 })
    );
    // Section 7.1.2: only to clients that set server-originated-telemetry.
    assert_eq!(
        h.s.set_attack_telemetry(h.now, CUID, 1, Some(&e)),
        Err(CommandError::TelemetryNotRequested)
    );
    assert_eq!(
        put_setup(
            &mut h,
            CUID,
            1,
            &config(r#""server-originated-telemetry": true"#)
        )
        .code(),
        Code::CREATED
    );
    // A target without telemetry (Section 8.1.1: "At least the 'target' attribute and one
    // other pre-or-ongoing-mitigation attribute MUST be present").
    let mut bare = PreOrOngoingMitigation::default();
    bare.target
        .targets
        .push_prefix("2001:db8::1/128".parse().unwrap())
        .unwrap();
    assert_eq!(
        h.s.set_attack_telemetry(h.now, CUID, 1, Some(&bare)),
        Err(CommandError::InvalidTelemetry)
    );
    assert_eq!(h.s.set_attack_telemetry(h.now, CUID, 1, Some(&e)), Ok(()));
    h.check();
}

#[test]
fn notifications_are_paced_by_telemetry_notify_interval() {
    let mut h = Harness::new();
    let t0 = h.now;
    let at = |s: u64| Instant::from_millis(t0.as_millis() + s * 1000);
    assert_eq!(
        put_setup(
            &mut h,
            CUID,
            1,
            &config(r#""server-originated-telemetry": true, "telemetry-notify-interval": 10"#)
        )
        .code(),
        Code::CREATED
    );
    assert_eq!(
        put_tm(
            &mut h,
            CUID,
            5,
            &tm_target(r#""target-prefix": ["2001:db8::/32"]"#)
        )
        .code(),
        Code::CHANGED
    );
    let one = registered(&get(&mut h, &tm_uri(CUID, Some(5)), &[], Some(0)));
    let all = registered(&get(&mut h, &tm_uri(CUID, None), &[], Some(0)));
    // An equal registration is the same observation (RFC 7641 re-registration).
    assert_eq!(
        registered(&get(&mut h, &tm_uri(CUID, None), &[], Some(0))),
        all
    );
    assert_eq!(h.s.poll_timeout(), None);
    h.s.set_attack_telemetry(h.now, CUID, 5, Some(&attack("2001:db8::1/128", 100)))
        .unwrap();
    assert_eq!(h.s.poll_timeout(), Some(t0), "due now");
    // At t0: one notification (the lowest observation), the next one paced.
    let n = raw_notifications(&mut h);
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].0.queries, [one]);
    assert_eq!(h.s.poll_timeout(), Some(at(10)));
    // A new report at t0+1 coalesces.
    h.advance_secs(1);
    h.s.set_attack_telemetry(h.now, CUID, 5, Some(&attack("2001:db8::1/128", 200)))
        .unwrap();
    assert!(raw_notifications(&mut h).is_empty());
    h.advance_secs(8);
    assert!(raw_notifications(&mut h).is_empty(), "t0+9: not yet");
    assert_eq!(h.s.poll_timeout(), Some(at(10)));
    h.advance_secs(1);
    let n = raw_notifications(&mut h);
    assert_eq!(n.len(), 1, "t0+10");
    assert_eq!(n[0].0.queries, [all]);
    let t = tm_body(&n[0].1);
    assert_eq!(
        t.pre_or_ongoing_mitigation[0].total_attack_traffic[0]
            .gauges
            .get(Gauge::MidPercentile),
        Some(200),
        "the latest report"
    );
    // tmid 5's observer still has the second report pending: at t0+20.
    assert_eq!(h.s.poll_timeout(), Some(at(20)));
    h.advance_secs(10);
    let n = raw_notifications(&mut h);
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].0.queries, [one]);
    assert_eq!(h.s.poll_timeout(), None);
    // Withdrawn by the host: the observers are told (the entry is gone from the body).
    h.advance_secs(10);
    h.s.set_attack_telemetry(h.now, CUID, 5, None).unwrap();
    let n = raw_notifications(&mut h);
    assert_eq!(n.len(), 1);
    assert!(tm_body(&n[0].1).pre_or_ongoing_mitigation.is_empty());
    h.check();
}

#[test]
fn pacing_defaults_to_the_policy_interval_and_stops_with_the_configuration() {
    let mut h = Harness::new();
    let t0 = h.now;
    assert_eq!(
        put_setup(
            &mut h,
            CUID,
            1,
            &config(r#""server-originated-telemetry": true"#)
        )
        .code(),
        Code::CREATED
    );
    assert_eq!(
        put_tm(
            &mut h,
            CUID,
            5,
            &tm_target(r#""target-prefix": ["2001:db8::/32"]"#)
        )
        .code(),
        Code::CHANGED
    );
    let _ = registered(&get(&mut h, &tm_uri(CUID, Some(5)), &[], Some(0)));
    h.s.set_attack_telemetry(h.now, CUID, 5, Some(&attack("2001:db8::1/128", 1)))
        .unwrap();
    assert_eq!(raw_notifications(&mut h).len(), 1);
    h.s.set_attack_telemetry(h.now, CUID, 5, Some(&attack("2001:db8::1/128", 2)))
        .unwrap();
    // The policy's default interval: 5 s.
    assert_eq!(h.s.poll_timeout(), Some(t0 + Duration::from_secs(5)));
    // The client turns server-originated telemetry off: nothing more is sent.
    h.send(
        CUID,
        Code::DELETE,
        &setup_uri(CUID, Some(1)),
        &[],
        &Opts::default(),
    );
    assert_eq!(h.s.poll_timeout(), None);
    h.advance_secs(5);
    assert!(raw_notifications(&mut h).is_empty());
    // GET shows the client's own entry again (no server telemetry shown).
    let r = get(&mut h, &tm_uri(CUID, Some(5)), &[], None);
    assert!(!tm_body(&r.body).pre_or_ongoing_mitigation[0].has_telemetry());
    h.check();
}

// ---- mitigation status telemetry ------------------------------------------------------------

#[test]
fn scope_telemetry_errors_and_lifetime() {
    let mut h = Harness::new();
    let mut t = ScopeTelemetry::default();
    t.total_attack_traffic
        .push(UnitTraffic {
            unit: Unit::MegabitPs,
            gauges: Gauges::new().with(Gauge::Peak, 5),
        })
        .unwrap();
    assert_eq!(
        h.s.set_scope_telemetry(h.now, CUID, 1, Some(&t)),
        Err(CommandError::UnknownClient)
    );
    assert_eq!(h.put(CUID, 1, &["192.0.2.0/24"], 30).code(), Code::CREATED);
    assert_eq!(
        h.s.set_scope_telemetry(h.now, CUID, 2, Some(&t)),
        Err(CommandError::UnknownMitigation { mid: 2 })
    );
    // Two attack details with the same keys: invalid.
    let mut bad = t.clone();
    bad.attack_detail
        .push(ScopeAttackDetail::new(1, 1))
        .unwrap();
    bad.attack_detail
        .push(ScopeAttackDetail::new(1, 1))
        .unwrap();
    assert_eq!(
        h.s.set_scope_telemetry(h.now, CUID, 1, Some(&bad)),
        Err(CommandError::InvalidTelemetry)
    );
    assert_eq!(h.s.set_scope_telemetry(h.now, CUID, 1, Some(&t)), Ok(()));
    // Gone with the mitigation.
    h.advance_secs(31);
    assert_eq!(h.s.client_count(), 0);
    h.check();
}

#[test]
fn efficacy_update_with_server_only_telemetry_is_4_00() {
    let mut h = Harness::new();
    assert_eq!(h.put_json(CUID, 123, FIG7).code(), Code::CREATED);
    let body = FIG16.replace(
        r#""attack-status": "under-attack""#,
        r#""attack-status": "under-attack",
           "ietf-dots-telemetry:total-traffic": [{"unit": "megabit-ps", "peak-g": "1"}]"#,
    );
    h.unchanged_for(CUID, Code::BAD_REQUEST, |h| {
        h.send(
            CUID,
            Code::PUT,
            &mitigate_uri(CUID, Some(123)),
            &cbor(&body),
            &Opts {
                if_match: true,
                ..Opts::default()
            },
        )
    });
}

// ---- snapshot -------------------------------------------------------------------------------

#[test]
fn snapshot_and_restore_keep_the_telemetry_state() {
    let mut h = Harness::new();
    assert_eq!(
        put_setup(
            &mut h,
            CUID,
            1,
            &config(r#""server-originated-telemetry": true, "telemetry-notify-interval": 7"#)
        )
        .code(),
        Code::CREATED
    );
    assert_eq!(
        put_setup(&mut h, CUID, 2, &pipes(&[("l1", 5)])).code(),
        Code::CREATED
    );
    assert_eq!(
        put_setup(
            &mut h,
            CUID,
            3,
            &baseline(1, r#""target-prefix": ["192.0.2.0/24"],"#)
        )
        .code(),
        Code::CREATED
    );
    assert_eq!(
        put_tm(
            &mut h,
            CUID,
            5,
            &tm_target(r#""target-prefix": ["2001:db8::/32"]"#)
        )
        .code(),
        Code::CHANGED
    );
    assert_eq!(
        put_tm(
            &mut h,
            CUID,
            6,
            &tm_data(r#""target-prefix": ["198.51.100.0/24"]"#)
        )
        .code(),
        Code::CHANGED
    );
    h.s.set_attack_telemetry(h.now, CUID, 5, Some(&attack("2001:db8::1/128", 3)))
        .unwrap();
    assert_eq!(
        h.put(CUID, 9, &["203.0.113.0/24"], 3600).code(),
        Code::CREATED
    );
    let mut t = ScopeTelemetry::default();
    t.total_attack_traffic
        .push(UnitTraffic {
            unit: Unit::MegabitPs,
            gauges: Gauges::new().with(Gauge::Peak, 5),
        })
        .unwrap();
    h.s.set_scope_telemetry(h.now, CUID, 9, Some(&t)).unwrap();
    let _ = get(&mut h, &tm_uri(CUID, None), &[], Some(0));
    let snap = h.s.snapshot(h.now);
    let json = serde_json::to_string(&snap).unwrap();
    let back: dots_proto::signal::server::ServerSnapshot = serde_json::from_str(&json).unwrap();
    let restored = dots_proto::signal::server::SignalServer::restore(
        ServerConfig::default(),
        TestHooks::default(),
        &back,
        h.now,
    )
    .unwrap();
    assert_eq!(restored.snapshot(h.now), snap);
    let mut r = Harness::new();
    r.s = restored;
    r.now = h.now;
    for uri in [
        setup_uri(CUID, None),
        tm_uri(CUID, None),
        mitigate_uri(CUID, Some(9)),
    ] {
        assert_eq!(
            get(&mut r, &uri, &[], None).body,
            get(&mut h, &uri, &[], None).body,
            "{uri}"
        );
    }
    // Observations are not part of a snapshot.
    assert_eq!(r.s.observations(CUID).count(), 0);
    let scopes =
        MitigationScope::decode_cbor(&get(&mut r, &mitigate_uri(CUID, Some(9)), &[], None).body)
            .unwrap();
    assert_eq!(scopes.telemetry.get(0), Some(&t));
    r.check();
    // A snapshot from before telemetry existed (no 'telemetry' member) still restores.
    let mut old: serde_json::Value = serde_json::from_str(&json).unwrap();
    for c in old["clients"].as_array_mut().unwrap() {
        c.as_object_mut().unwrap().remove("telemetry");
    }
    let old: dots_proto::signal::server::ServerSnapshot = serde_json::from_value(old).unwrap();
    assert!(dots_proto::signal::server::SignalServer::restore(
        ServerConfig::default(),
        TestHooks::default(),
        &old,
        h.now
    )
    .is_ok());
}

#[test]
fn tm_observe_beyond_the_observer_quota_is_refused_and_leaves_nothing() {
    let mut c = ServerConfig::default();
    c.quotas.max_observers = 0;
    let mut h = Harness::with_config(c);
    let r = get(&mut h, &tm_uri(CUID, None), &[], Some(0));
    // RFC 7641 Section 4.1: 2.05 without registering.
    assert_eq!(r.code(), Code::CONTENT);
    assert!(matches!(r.observe, Some(ObserveAction::Refused { .. })));
    assert_eq!(h.s.client_count(), 0);
    assert_eq!(h.s.observations(CUID).count(), 0);
    h.check();
}
