//! Conflicts (RFC 9132 Section 4.4.1.3): same-client overrides by `mid`, overlap by prefix,
//! name and alias, the port/protocol refinement, other clients' mitigations (accept-and-flag or
//! reject), trigger-mitigation types and the `mid` rollover.

mod signal_server_support;

use dots_codec::coap::Code;
use dots_codec::model::{ConflictCause, ConflictStatus, MitigationStatus as S};
use dots_proto::signal::server::{
    AliasTargets, ConflictDecision, ServerConfig, ServerEvent, TerminationReason, MID_ROLLOVER,
};
use signal_server_support::*;

#[test]
fn a_higher_mid_replaces_overlapping_lower_ones() {
    let mut h = Harness::new();
    h.put(CUID, 1, &["2001:db8::1/128"], 3600);
    h.put(CUID, 2, &["2001:db8::2/128"], 3600);
    h.put(CUID, 3, &["198.51.100.7/32"], 3600);
    assert!(h.observe(CUID, Some(1)).observe.is_some());
    h.events();
    // A /64 covering mids 1 and 2 but not 3.
    assert_eq!(
        h.put(CUID, 10, &["2001:db8::/64"], 3600).code(),
        Code::CREATED
    );
    assert_eq!(h.s.mids(CUID).collect::<Vec<_>>(), vec![3, 10]);
    let ev = h.events();
    for old in [1, 2] {
        assert!(ev.contains(&ServerEvent::MitigationTerminated {
            cuid: CUID.into(),
            mid: old,
            reason: TerminationReason::Replaced { by: 10 },
            was_active: true
        }));
    }
    // The observer of mid 1 gets its last notification.
    let n = h.notifications();
    assert_eq!(n.len(), 1);
    assert!(n[0].0.last);
    assert_eq!(n[0].1.scopes[0].status, Some(S::Terminated));
    h.check();
}

#[test]
fn lower_mid_without_overlap_is_accepted() {
    let mut h = Harness::new();
    h.put(CUID, 100, &["2001:db8::1/128"], 3600);
    assert_eq!(
        h.put(CUID, 50, &["2001:db8::2/128"], 3600).code(),
        Code::CREATED
    );
    assert_eq!(
        h.put(CUID, 40, &["192.0.2.0/24"], 3600).code(),
        Code::CREATED
    );
    // IPv4 vs IPv6 never overlap.
    assert_eq!(
        h.put(CUID, 30, &["2001:db8::/32"], 3600).code(),
        Code::CONFLICT
    );
    h.check();
}

#[test]
fn containment_overlaps_in_both_directions() {
    let mut h = Harness::new();
    h.put(CUID, 5, &["10.0.0.0/8"], 3600);
    let r = h.put(CUID, 4, &["10.1.2.3/32"], 3600);
    assert_eq!(r.code(), Code::CONFLICT);
    let cs = r.scopes().scopes[0]
        .conflict_information
        .clone()
        .unwrap()
        .conflict_scope
        .unwrap();
    assert_eq!(cs.mid, Some(5));
    assert_eq!(
        cs.targets.prefixes.as_slice(),
        &["10.1.2.3/32".parse().unwrap()]
    );
    let mut h = Harness::new();
    h.put(CUID, 5, &["10.1.2.3/32"], 3600);
    assert_eq!(h.put(CUID, 4, &["10.0.0.0/8"], 3600).code(), Code::CONFLICT);
    assert_eq!(h.put(CUID, 6, &["10.0.0.0/8"], 3600).code(), Code::CREATED);
    assert_eq!(h.s.mids(CUID).collect::<Vec<_>>(), vec![6]);
}

#[test]
fn names_overlap_exactly_fqdn_case_insensitively() {
    let mut h = Harness::new();
    let fqdn = |f: &str| {
        format!(
            r#"{{"ietf-dots-signal-channel:mitigation-scope": {{"scope": [{{"target-fqdn": ["{f}"], "lifetime": 3600}}]}}}}"#
        )
    };
    let uri = |u: &str| {
        format!(
            r#"{{"ietf-dots-signal-channel:mitigation-scope": {{"scope": [{{"target-uri": ["{u}"], "lifetime": 3600}}]}}}}"#
        )
    };
    assert_eq!(
        h.put_json(CUID, 10, &fqdn("www.Example.com")).code(),
        Code::CREATED
    );
    let r = h.put_json(CUID, 9, &fqdn("WWW.example.COM."));
    assert_eq!(r.code(), Code::CONFLICT);
    let cs = r.scopes().scopes[0]
        .conflict_information
        .clone()
        .unwrap()
        .conflict_scope
        .unwrap();
    assert_eq!(
        cs.targets.fqdns().collect::<Vec<_>>(),
        vec!["WWW.example.COM."]
    );
    assert_eq!(
        h.put_json(CUID, 8, &fqdn("example.com")).code(),
        Code::CREATED
    );
    assert_eq!(
        h.put_json(CUID, 20, &uri("https://example.com/a")).code(),
        Code::CREATED
    );
    assert_eq!(
        h.put_json(CUID, 19, &uri("https://example.com/a")).code(),
        Code::CONFLICT
    );
    assert_eq!(
        h.put_json(CUID, 18, &uri("https://example.com/A")).code(),
        Code::CREATED
    );
    h.check();
}

#[test]
fn aliases_overlap_by_name_and_by_their_targets() {
    let mut h = Harness::new();
    h.s.hooks_mut().aliases.insert(
        (CUID.into(), "web".into()),
        AliasTargets {
            prefixes: vec!["2001:db8:6401::/48".parse().unwrap()],
            fqdns: vec!["www.example.net".into()],
            ..AliasTargets::default()
        },
    );
    let alias = r#"{"ietf-dots-signal-channel:mitigation-scope": {"scope": [{"alias-name": ["web"], "lifetime": 3600}]}}"#;
    assert_eq!(h.put_json(CUID, 10, alias).code(), Code::CREATED);
    let ev = h.events();
    assert!(
        matches!(&ev[0], ServerEvent::MitigationRequested { aliases, .. } if aliases.len() == 1)
    );
    // The same alias, lower mid.
    assert_eq!(h.put_json(CUID, 9, alias).code(), Code::CONFLICT);
    // A prefix inside the alias's targets, lower mid.
    let r = h.put(CUID, 8, &["2001:db8:6401::1/128"], 3600);
    assert_eq!(r.code(), Code::CONFLICT);
    // An FQDN of the alias.
    let f = r#"{"ietf-dots-signal-channel:mitigation-scope": {"scope": [{"target-fqdn": ["www.example.net"], "lifetime": 3600}]}}"#;
    assert_eq!(h.put_json(CUID, 7, f).code(), Code::CONFLICT);
    // Another client's alias namespace is its own.
    assert_eq!(h.put_json(CUID2, 1, alias).code(), Code::BAD_REQUEST);
    h.check();
}

#[test]
fn port_and_protocol_refinement_is_a_policy() {
    let body = |ports: &str, proto: u8| {
        format!(
            r#"{{"ietf-dots-signal-channel:mitigation-scope": {{"scope": [{{"target-prefix": ["2001:db8::1/128"], "target-port-range": [{ports}], "target-protocol": [{proto}], "lifetime": 3600}}]}}}}"#
        )
    };
    // RFC 9132 default: a common address is an overlap, whatever the ports.
    let mut h = Harness::new();
    h.put_json(CUID, 2, &body(r#"{"lower-port": 80}"#, 6));
    assert_eq!(
        h.put_json(CUID, 1, &body(r#"{"lower-port": 443}"#, 6))
            .code(),
        Code::CONFLICT
    );
    // With the refinement, disjoint ports or protocols do not overlap.
    let mut config = ServerConfig::default();
    config.refine_overlap_by_ports_and_protocols = true;
    let mut h = Harness::with_config(config);
    h.put_json(CUID, 2, &body(r#"{"lower-port": 80}"#, 6));
    assert_eq!(
        h.put_json(CUID, 1, &body(r#"{"lower-port": 443}"#, 6))
            .code(),
        Code::CREATED
    );
    assert_eq!(
        h.put_json(CUID, 0, &body(r#"{"lower-port": 80}"#, 17))
            .code(),
        Code::CREATED
    );
    let r = h.put_json(CUID, 3, &body(r#"{"lower-port": 70, "upper-port": 90}"#, 6));
    assert_eq!(r.code(), Code::CREATED);
    assert_eq!(
        h.s.mids(CUID).collect::<Vec<_>>(),
        vec![0, 1, 3],
        "mid 2 replaced"
    );
    let r = h.put_json(CUID, 2, &body(r#"{"lower-port": 85}"#, 6));
    assert_eq!(r.code(), Code::CONFLICT);
    let cs = r.scopes().scopes[0]
        .conflict_information
        .clone()
        .unwrap()
        .conflict_scope
        .unwrap();
    assert_eq!(cs.mid, Some(3));
    assert_eq!(cs.targets.port_ranges.len(), 1, "the common ports");
    assert_eq!(cs.targets.protocols.as_slice(), &[6]);
    h.check();
}

#[test]
fn other_clients_accept_and_flag() {
    let mut h = Harness::new();
    h.put(CUID, 1, &["2001:db8::/64"], 3600);
    assert!(h.observe(CUID, Some(1)).observe.is_some());
    h.events();
    let r = h.put(CUID2, 7, &["2001:db8::1/128"], 3600);
    assert_eq!(r.code(), Code::CREATED);
    let e = &r.scopes().scopes[0];
    let ci = e.conflict_information.clone().unwrap();
    assert_eq!(ci.conflict_status, Some(ConflictStatus::RequestActive));
    assert_eq!(ci.conflict_cause, Some(ConflictCause::OverlappingTargets));
    assert_eq!(ci.retry_timer, None);
    let cs = ci.conflict_scope.unwrap();
    assert_eq!(cs.mid, None, "the other client's mid is not disclosed");
    assert_eq!(cs.targets.prefixes.len(), 1);
    assert!(h.events().contains(&ServerEvent::CrossClientConflict {
        cuid: CUID2.into(),
        mid: 7,
        other_cuid: CUID.into(),
        other_mid: 1,
        accepted: true
    }));
    // The holder is notified of the conflict.
    let n = h.notifications();
    assert_eq!(n.len(), 1);
    let e = &n[0].1.scopes[0];
    assert_eq!(e.mid, Some(1));
    assert_eq!(
        e.conflict_information.as_ref().unwrap().conflict_status,
        Some(ConflictStatus::RequestActive)
    );
    // Both show it in GET.
    for (c, m) in [(CUID, 1), (CUID2, 7)] {
        let e = h.get(c, Some(m)).scopes().scopes[0].clone();
        assert!(e.conflict_information.is_some(), "{c}");
    }
    h.check();
}

#[test]
fn other_clients_reject_with_retry_timer() {
    let mut config = ServerConfig::default();
    config.cross_client_conflict = ConflictDecision::Reject;
    let mut h = Harness::with_config(config);
    h.put(CUID, 1, &["2001:db8::/64"], 3600);
    h.advance_secs(100);
    let before = h.s.snapshot(h.now);
    h.events();
    let r = h.put(CUID2, 7, &["2001:db8::1/128"], 3600);
    assert_eq!(r.code(), Code::CONFLICT);
    let ci = r.scopes().scopes[0].conflict_information.clone().unwrap();
    assert_eq!(
        ci.conflict_status,
        Some(ConflictStatus::RequestInactiveOtherActive)
    );
    assert_eq!(ci.conflict_cause, Some(ConflictCause::OverlappingTargets));
    assert_eq!(
        ci.retry_timer,
        Some(3500),
        "the remaining lifetime of the active request"
    );
    assert!(ci.conflict_scope.is_some());
    assert_eq!(h.s.snapshot(h.now), before, "no state change");
    // The hook may decide otherwise per request.
    h.s.hooks_mut().conflict = Some(ConflictDecision::AcceptAndFlag);
    assert_eq!(
        h.put(CUID2, 7, &["2001:db8::1/128"], 3600).code(),
        Code::CREATED
    );
}

#[test]
fn inactive_requests_of_other_clients_do_not_conflict() {
    let mut config = ServerConfig::default();
    config.cross_client_conflict = ConflictDecision::Reject;
    let mut h = Harness::with_config(config);
    let pre = scope_json(&["2001:db8::/64"], 3600, r#""trigger-mitigation": false"#);
    h.put_json(CUID, 1, &pre);
    assert_eq!(
        h.put(CUID2, 1, &["2001:db8::1/128"], 3600).code(),
        Code::CREATED
    );
}

#[test]
fn distinct_trigger_types_coexist() {
    let mut h = Harness::new();
    let pre = scope_json(&["2001:db8::/64"], 3600, r#""trigger-mitigation": false"#);
    h.put_json(CUID, 10, &pre);
    // An immediate request with a lower mid overlapping a preconfigured one: no override.
    assert_eq!(
        h.put(CUID, 5, &["2001:db8::1/128"], 3600).code(),
        Code::CREATED
    );
    assert_eq!(h.status(CUID, 10), Some(S::SignalLoss));
    assert_eq!(h.status(CUID, 5), Some(S::InProgress));
    // Two preconfigured: the higher mid overrides.
    let pre2 = scope_json(&["2001:db8::/56"], 3600, r#""trigger-mitigation": false"#);
    assert_eq!(h.put_json(CUID, 9, &pre2).code(), Code::CONFLICT);
    assert_eq!(h.put_json(CUID, 11, &pre2).code(), Code::CREATED);
    assert_eq!(h.s.mids(CUID).collect::<Vec<_>>(), vec![5, 11]);
    h.check();
}

#[test]
fn mid_rollover() {
    let mut h = Harness::new();
    h.put(CUID, MID_ROLLOVER, &["2001:db8::/64"], 3600);
    // The client reset to 0 (RFC 9132 Section 4.4.1.1): the new request overrides.
    assert_eq!(
        h.put(CUID, 0, &["2001:db8::/64"], 3600).code(),
        Code::CREATED
    );
    assert_eq!(h.s.mids(CUID).collect::<Vec<_>>(), vec![0]);
    // Below the rollover value the plain order holds.
    h.put(CUID, MID_ROLLOVER - 1, &["192.0.2.0/24"], 3600);
    assert_eq!(
        h.put(CUID, 1, &["192.0.2.0/24"], 3600).code(),
        Code::CONFLICT
    );
    h.check();
}

#[test]
fn many_clients_index_finds_exactly_the_overlaps() {
    let mut config = ServerConfig::default();
    config.cross_client_conflict = ConflictDecision::Reject;
    config.quotas.rate = None;
    let mut h = Harness::with_config(config);
    for i in 0..500u32 {
        let cuid = format!("client-{i}");
        let p = format!("10.{}.{}.0/24", i / 256, i % 256);
        assert_eq!(h.put(&cuid, 1, &[&p], 3600).code(), Code::CREATED);
    }
    h.check();
    // Disjoint: accepted; overlapping one specific client: rejected.
    assert_eq!(
        h.put("newcomer", 1, &["10.200.0.0/16"], 3600).code(),
        Code::CREATED
    );
    assert_eq!(
        h.put("newcomer2", 1, &["10.1.7.9/32"], 3600).code(),
        Code::CONFLICT
    );
    assert_eq!(
        h.put("newcomer3", 1, &["10.0.0.0/8"], 3600).code(),
        Code::CONFLICT
    );
}
