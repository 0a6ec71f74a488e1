//! The RFC 9066 (`ch-*`) and RFC 9133 (`ctl-*`) signal-channel request vectors through the
//! server core, the call-home source checks (accept-list conflict, legitimate traffic, domain),
//! the Call Home DOTS server role, and RFC 9362's Q-Block parameters in `/config`. The
//! `ctl-data-*` vectors are data-channel (HTTP) requests, covered by the data-channel tests.

mod signal_server_support;

use std::time::Duration;

use dots_codec::coap::Code;
use dots_codec::model::{
    ActivationType, ConflictCause, DecimalParam, IntParam, Lifetime, MitigationStatus,
};
use dots_proto::data::PeerIdentity;
use dots_proto::signal::server::{CommandError, ServerConfig, ServerEvent, SourceVerdict};
use signal_server_support::*;

/// RFC 9066 Figure 10 (ch-mitigation-put-01).
const FIG10: &str = r#"{"ietf-dots-signal-channel:mitigation-scope": {"scope": [{
    "target-prefix": ["2001:db8:c000::/128"],
    "ietf-dots-call-home:source-prefix": ["2001:db8:123::1/128"], "lifetime": 3600}]}}"#;

/// ch-neg-trigger-false-01.
const TRIGGER_FALSE: &str = r#"{"ietf-dots-signal-channel:mitigation-scope": {"scope": [{
    "target-prefix": ["2001:db8:c000::/128"],
    "ietf-dots-call-home:source-prefix": ["2001:db8:123::1/128"], "lifetime": 3600,
    "trigger-mitigation": false}]}}"#;

/// RFC 9066 Figure 9 (ch-redirect-put-01) with its missing closing brace restored.
const FIG9: &str = r#"{"ietf-dots-signal-channel:redirected-signal": {
    "ietf-dots-call-home:alt-ch-client": "alt-call-home-client.example",
    "ietf-dots-call-home:alt-ch-client-record": ["2001:db8:6401::1", "2001:db8:6401::2"],
    "ietf-dots-call-home:ttl": 600}}"#;

fn conflict(r: &Reply) -> dots_codec::model::ConflictInformation {
    r.scopes().scopes[0].conflict_information.clone().unwrap()
}

fn call_home_server() -> Harness {
    let mut c = ServerConfig::default();
    c.call_home = true;
    Harness::with_config(c)
}

// ---- RFC 9066 ---------------------------------------------------------------------------------

#[test]
fn ch_mitigation_put_01_stores_and_returns_the_sources() {
    for mut h in [Harness::new(), call_home_server()] {
        // A new mid: 2.01 (RFC 9132 Section 4.4.1.3).
        let r = h.put_json(CUID, 56, FIG10);
        assert_eq!(r.code(), Code::CREATED);
        assert_eq!(h.s.hooks().log[0], format!("sources {CUID}"));
        let e = h.events();
        let ServerEvent::MitigationRequested { scope, .. } = &e[0] else {
            panic!("{e:?}")
        };
        assert_eq!(
            scope.call_home.source_prefixes.as_slice(),
            &["2001:db8:123::1/128".parse().unwrap()]
        );
        // GET returns them; a refresh must repeat them.
        let s = h.get(CUID, Some(56)).scopes();
        assert_eq!(s.scopes[0].scope.call_home.source_prefixes.len(), 1);
        let info = h.s.mitigation(CUID, 56).unwrap();
        assert_eq!(info.scope.call_home.source_prefixes.len(), 1);
        assert_eq!(h.put_json(CUID, 56, FIG10).code(), Code::CHANGED);
        let no_source = scope_json(&["2001:db8:c000::/128"], 3600, "");
        h.unchanged_for(CUID, Code::BAD_REQUEST, |h| {
            h.put_json(CUID, 56, &no_source)
        });
        h.check();
    }
}

#[test]
fn ch_neg_trigger_false_01() {
    for mut h in [Harness::new(), call_home_server()] {
        h.unchanged_for(CUID, Code::BAD_REQUEST, |h| {
            h.put_json(CUID, 56, TRIGGER_FALSE)
        });
    }
}

#[test]
fn call_home_sources_of_the_wrong_family_are_4_00() {
    let mut h = Harness::new();
    let body = FIG10.replace("2001:db8:123::1/128", "192.0.2.1/32");
    h.unchanged_for(CUID, Code::BAD_REQUEST, |h| h.put_json(CUID, 56, &body));
}

#[test]
fn accept_listed_sources_are_4_09_conflict_with_acceptlist() {
    let mut h = Harness::new();
    h.s.hooks_mut().sources = SourceVerdict::AcceptListed {
        acls: vec![("partners".into(), Some("ipv6-acl-type".into()))],
    };
    let r = h.unchanged_for(CUID, Code::CONFLICT, |h| h.put_json(CUID, 56, FIG10));
    let c = conflict(&r);
    assert_eq!(
        c.conflict_cause,
        Some(ConflictCause::ConflictWithAcceptlist)
    );
    let acls: Vec<_> = c
        .conflict_scope
        .as_ref()
        .unwrap()
        .acl_list()
        .map(|a| (a.name.to_string(), a.acl_type.map(String::from)))
        .collect();
    assert_eq!(
        acls,
        [("partners".to_string(), Some("ipv6-acl-type".to_string()))]
    );
    assert!(c.conflict_status.is_none() && c.retry_timer.is_none());
    // A request without sources never asks the host.
    h.s.hooks_mut().log.clear();
    assert_eq!(
        h.put(CUID, 57, &["2001:db8:c000::/128"], 60).code(),
        Code::CREATED
    );
    assert!(!h.s.hooks().log.iter().any(|l| l.starts_with("sources")));
}

#[test]
fn legitimate_traffic_is_4_09_cause_4() {
    let mut h = Harness::new();
    h.s.hooks_mut().sources = SourceVerdict::Legitimate;
    let r = h.unchanged_for(CUID, Code::CONFLICT, |h| h.put_json(CUID, 56, FIG10));
    assert_eq!(
        conflict(&r).conflict_cause,
        Some(ConflictCause::RequestRejectedLegitimateTraffic)
    );
}

#[test]
fn sources_outside_the_domain_are_4_00() {
    let mut h = Harness::new();
    h.s.hooks_mut().sources = SourceVerdict::OutsideDomain;
    let r = h.unchanged_for(CUID, Code::BAD_REQUEST, |h| h.put_json(CUID, 56, FIG10));
    assert!(r.text().contains("source-prefix"));
}

#[test]
fn call_home_server_requires_immediate_requests_with_sources() {
    let mut h = call_home_server();
    // "Only immediate mitigation requests ... are allowed": 4.00 even without sources.
    let pre = scope_json(
        &["2001:db8:c000::/128"],
        3600,
        r#""trigger-mitigation": false"#,
    );
    h.unchanged_for(CUID, Code::BAD_REQUEST, |h| h.put_json(CUID, 1, &pre));
    // "The 'source-prefix' parameter is a mandatory attribute".
    h.unchanged_for(CUID, Code::BAD_REQUEST, |h| {
        h.put(CUID, 1, &["2001:db8:c000::/128"], 3600)
    });
    // A base server takes both.
    let mut b = Harness::new();
    assert_eq!(b.put_json(CUID, 1, &pre).code(), Code::CREATED);
    assert_eq!(
        b.put(CUID, 2, &["192.0.2.0/24"], 3600).code(),
        Code::CREATED
    );
}

#[test]
fn ch_redirect_put_01() {
    // A Call Home DOTS server: 2.01 and the redirection for the transport (RFC 9066 Section
    // 5.2.2).
    let mut h = call_home_server();
    let uri = "/.well-known/dots/redirect/cuid=dz6pHjaADkaFTbjr0JGBpw/mid=123";
    let r = h.send(CUID, Code::PUT, uri, &cbor(FIG9), &Opts::default());
    assert_eq!(r.code(), Code::CREATED);
    let e = h.events();
    let [ServerEvent::CallHomeRedirect { cuid, redirect }] = &e[..] else {
        panic!("{e:?}")
    };
    assert_eq!(&**cuid, CUID);
    assert_eq!(
        redirect.alt_ch_client.as_deref(),
        Some("alt-call-home-client.example")
    );
    assert_eq!(redirect.alt_ch_client_record.len(), 2);
    assert_eq!(redirect.ttl, Some(600));
    assert_eq!(h.s.client_count(), 0, "no state");
    // "If the Call Home DOTS server cannot service the PUT request, the response is rejected
    // with a 4.00": a base-channel alt-server instead of alt-ch-client.
    let base = r#"{"ietf-dots-signal-channel:redirected-signal": {"alt-server": "x.example"}}"#;
    h.unchanged_for(CUID, Code::BAD_REQUEST, |h| {
        h.send(CUID, Code::PUT, uri, &cbor(base), &Opts::default())
    });
    h.unchanged_for(CUID, Code::BAD_REQUEST, |h| {
        h.send(CUID, Code::PUT, uri, &[], &Opts::default())
    });
    h.unchanged_for(CUID, Code::METHOD_NOT_ALLOWED, |h| {
        h.send(CUID, Code::GET, uri, &[], &Opts::default())
    });
    // A base DOTS server has no such resource.
    let mut b = Harness::new();
    b.unchanged_for(CUID, Code::NOT_FOUND, |h| {
        h.send(CUID, Code::PUT, uri, &cbor(FIG9), &Opts::default())
    });
}

// ---- RFC 9133 -----------------------------------------------------------------------------------

const CTL_CUID: &str = "paL8p4Zqo4SLv64TLPXrxA";
const CTL_CUID2: &str = "ioiuLoZqo4SLv64TLPXrxA";
const CTL_CUID3: &str = "OopPisZqo4SLv64TLPXrxA";

/// Figure 3's scope with an acl-list entry.
fn acl_scope(prefix: &str, proto: bool, acl: &str, t: &str) -> String {
    let p = if proto {
        r#""target-protocol": [17],"#
    } else {
        ""
    };
    format!(
        r#"{{"ietf-dots-signal-channel:mitigation-scope": {{"scope": [{{
        "target-prefix": ["{prefix}"], {p}
        "ietf-dots-signal-control:acl-list": [{{"acl-name": "{acl}", "activation-type": "{t}"}}],
        "lifetime": 3600}}]}}}}"#
    )
}

fn ctl_hooks(h: &mut Harness) {
    for (c, a) in [
        (CTL_CUID, "an-accept-list"),
        (CTL_CUID2, "my-accept-list"),
        (CTL_CUID3, "my-ratelimit-list"),
    ] {
        h.s.hooks_mut().acls.insert((c.into(), a.into()));
    }
}

#[test]
fn ctl_mitigation_put_01_02_and_response_01() {
    let mut h = Harness::new();
    ctl_hooks(&mut h);
    // Figure 3 → 2.01 with Figure 4's body {mid: 123, lifetime: 3600}.
    let fig3 = r#"{"ietf-dots-signal-channel:mitigation-scope": {"scope": [{
        "target-prefix": ["2001:db8:6401::2/127"], "target-protocol": [17], "lifetime": 3600}]}}"#;
    let r = h.put_json(CTL_CUID, 123, fig3);
    assert_eq!(r.code(), Code::CREATED);
    let s = r.scopes();
    assert_eq!(s.scopes[0].mid, Some(123));
    assert_eq!(s.scopes[0].scope.lifetime, Some(Lifetime::Seconds(3600)));
    // Figure 5 (mid 124, acl-list deactivate) while mitigating: RFC 9133 prints 2.04; a new
    // mid is 2.01 in RFC 9132 Section 4.4.1.3 (the conformance kit accepts both). It
    // overrides 123 (same target, higher mid).
    let fig5 = acl_scope("2001:db8:6401::2/127", true, "an-accept-list", "deactivate");
    let r = h.put_json(CTL_CUID, 124, &fig5);
    assert_eq!(r.code(), Code::CREATED);
    assert!(h
        .s
        .hooks()
        .log
        .contains(&format!("acl {CTL_CUID} an-accept-list")));
    assert_eq!(h.s.mids(CTL_CUID).collect::<Vec<_>>(), [124]);
    h.check();
}

#[test]
fn ctl_mitigation_put_03_starts_the_attack_time() {
    // RFC 9133 Section 4.2: the client detects an attack and sends Figure 8, its first
    // mitigation request, with an accept-list; "The DOTS server activates the
    // "my-accept-list" ACL and replies with a 2.01 (Created)". A request that triggers a
    // mitigation is attack time by itself, so Section 3.2.1's 'idle' time rule does not apply.
    let mut h = Harness::new();
    ctl_hooks(&mut h);
    let fig8 = acl_scope("2001:db8:6401::2/127", true, "my-accept-list", "immediate");
    assert_eq!(h.put_json(CTL_CUID2, 4879, &fig8).code(), Code::CREATED);
    assert!(h
        .s
        .hooks()
        .log
        .contains(&format!("acl {CTL_CUID2} my-accept-list")));
}

#[test]
fn ctl_mitigation_put_04_05_06() {
    let mut h = Harness::new();
    ctl_hooks(&mut h);
    // Figure 10: a new mid, 2.01.
    let fig10 = scope_json(&["2001:db8:123::/48"], 3600, "");
    assert_eq!(h.put_json(CTL_CUID3, 85, &fig10).code(), Code::CREATED);
    // Figure 11 (acl immediate, mid 86): 2.01 for a new mid (RFC 9133 prints 2.04).
    let fig11 = acl_scope("2001:db8:123::/48", false, "my-ratelimit-list", "immediate");
    assert_eq!(h.put_json(CTL_CUID3, 86, &fig11).code(), Code::CREATED);
    // Figure 12 (acl deactivate, mid 87).
    let fig12 = acl_scope(
        "2001:db8:123::/48",
        false,
        "my-ratelimit-list",
        "deactivate",
    );
    assert_eq!(h.put_json(CTL_CUID3, 87, &fig12).code(), Code::CREATED);
    assert_eq!(
        h.s.hooks()
            .log
            .iter()
            .filter(|l| **l == format!("acl {CTL_CUID3} my-ratelimit-list"))
            .count(),
        2
    );
    assert_eq!(h.status(CTL_CUID3, 87), Some(MitigationStatus::InProgress));
    h.check();
}

#[test]
fn ctl_neg_acl_apply_failure_01_and_diagnostic_01() {
    let mut h = Harness::new();
    ctl_hooks(&mut h);
    assert_eq!(
        h.put(CTL_CUID, 123, &["2001:db8:6401::2/127"], 3600).code(),
        Code::CREATED
    );
    h.s.hooks_mut().acl_failure = true;
    let body = acl_scope("2001:db8:6401::2/127", true, "an-accept-list", "deactivate");
    let r = h.unchanged_for(CTL_CUID, Code::SERVICE_UNAVAILABLE, |h| {
        h.put_json(CTL_CUID, 124, &body)
    });
    // Figure 1: {mid: 124, acl-list: [{an-accept-list, deactivate}]}.
    let s = r.scopes();
    assert_eq!(s.scopes[0].mid, Some(124));
    let acls: Vec<_> = s.scopes[0].scope.acl_list().collect();
    assert_eq!(acls.len(), 1);
    assert_eq!(acls[0].name, "an-accept-list");
    assert_eq!(acls[0].activation_type, Some(ActivationType::Deactivate));
    assert!(r.max_age.is_some());
}

#[test]
fn ctl_neg_acl_idle_01() {
    // RFC 9133 Section 3.2.1: filter control in 'idle' time MUST be discarded with 4.00. Idle
    // time is a pre-configured request (`trigger-mitigation` false: nothing is being
    // mitigated) while the client has no active mitigation. (The vector's body triggers a
    // mitigation, which RFC 9133 Figure 8 shows accepted with 2.01; see
    // `ctl_mitigation_put_03_starts_the_attack_time`.)
    let mut h = Harness::new();
    ctl_hooks(&mut h);
    let body = acl_scope("2001:db8:6401::2/127", true, "an-accept-list", "deactivate").replace(
        r#""lifetime": 3600"#,
        r#""lifetime": 3600, "trigger-mitigation": false"#,
    );
    h.unchanged_for(CTL_CUID, Code::BAD_REQUEST, |h| {
        h.put_json(CTL_CUID, 124, &body)
    });
    // While the client mitigates, the same pre-configured request is accepted.
    assert_eq!(
        h.put(CTL_CUID, 1, &["198.51.100.0/24"], 3600).code(),
        Code::CREATED
    );
    assert_eq!(h.put_json(CTL_CUID, 124, &body).code(), Code::CREATED);
}

// ---- RFC 9362 -------------------------------------------------------------------------------

fn put_config(h: &mut Harness, sid: u32, json: &str) -> Reply {
    h.send(
        CUID,
        Code::PUT,
        &format!("/.well-known/dots/config/sid={sid}"),
        &cbor(json),
        &Opts::default(),
    )
}

#[test]
fn qblock_parameters_are_announced_with_ranges() {
    let mut h = Harness::new();
    let r = h.send(
        CUID,
        Code::GET,
        "/.well-known/dots/config",
        &[],
        &Opts::default(),
    );
    let c = r.config();
    for p in [c.mitigating_config.unwrap(), c.idle_config.unwrap()] {
        assert_eq!(p.max_payloads, Some(IntParam::range(1, 64, 10)));
        let n = p.non_max_retransmit.unwrap();
        assert_eq!(
            (n.min_value, n.max_value, n.current_value),
            (Some(2), Some(15), None)
        );
        let d = dots_codec::model::Decimal2::from_hundredths;
        for (x, min, max) in [
            (p.non_timeout, 100, 3000),
            (p.non_receive_timeout, 200, 6000),
            (p.non_probing_wait, 100, 100_000),
            (p.non_partial_timeout, 100, 100_000),
        ] {
            // A range, and no current value: the default is computed.
            assert_eq!(
                x,
                Some(DecimalParam {
                    max_value: Some(d(max)),
                    min_value: Some(d(min)),
                    current_value: None
                })
            );
        }
    }
    // The defaults for the transaction layer (RFC 9362 Section 3: non-max-retransmit is
    // max-retransmit (3 in DOTS), non-timeout is ack-timeout, non-receive-timeout twice
    // non-timeout; RFC 9177 Section 7.2's formula: 2 * (2^3 - 1) * 1.5 + 2 * 100 + 2 = 223 s).
    let q = h.s.session_params(&PeerIdentity::client(CUID)).qblock();
    assert_eq!(q.max_payloads, 10);
    assert_eq!(q.non_max_retransmit, 3);
    assert_eq!(q.non_timeout, Duration::from_secs(2));
    assert_eq!(q.non_receive_timeout, Duration::from_secs(4));
    assert_eq!(q.non_probing_wait, Duration::from_secs(223));
    assert_eq!(q.non_partial_timeout, Duration::from_secs(223));
    assert_eq!(q.ack_random_factor_hundredths, 150);
}

#[test]
fn rfc9362_figure2_and_max_payloads_mirroring() {
    let mut h = Harness::new();
    // RFC 9362 Figure 2 (with idle heartbeats disabled): accepted.
    let fig2 = r#"{"ietf-dots-signal-channel:signal-config": {
      "mitigating-config": {
        "heartbeat-interval": {"current-value": 30}, "missing-hb-allowed": {"current-value": 15},
        "probing-rate": {"current-value": 15}, "max-retransmit": {"current-value": 3},
        "ack-timeout": {"current-value-decimal": "2.00"},
        "ack-random-factor": {"current-value-decimal": "1.50"},
        "ietf-dots-robust-trans:max-payloads": {"current-value": 15},
        "ietf-dots-robust-trans:non-max-retransmit": {"current-value": 3},
        "ietf-dots-robust-trans:non-timeout": {"current-value-decimal": "2.00"},
        "ietf-dots-robust-trans:non-receive-timeout": {"current-value-decimal": "4.00"}},
      "idle-config": {
        "heartbeat-interval": {"current-value": 0}, "max-retransmit": {"current-value": 3},
        "ack-timeout": {"current-value-decimal": "2.00"},
        "ack-random-factor": {"current-value-decimal": "1.50"},
        "ietf-dots-robust-trans:max-payloads": {"current-value": 15},
        "ietf-dots-robust-trans:non-max-retransmit": {"current-value": 3},
        "ietf-dots-robust-trans:non-timeout": {"current-value-decimal": "2.00"},
        "ietf-dots-robust-trans:non-receive-timeout": {"current-value-decimal": "4.00"}}}}"#;
    assert_eq!(put_config(&mut h, 123, fig2).code(), Code::CREATED);
    let p = h.s.session_params(&PeerIdentity::client(CUID));
    assert_eq!(p.idle.max_payloads.unwrap().current_value, Some(15));
    assert_eq!(p.qblock().max_payloads, 15);
    // "If the attribute is only provided as part of 'idle-config' ... the other definition
    // ... MUST be updated to the same value."
    let idle_only = r#"{"ietf-dots-signal-channel:signal-config": {"idle-config": {
        "ietf-dots-robust-trans:max-payloads": {"current-value": 20},
        "ietf-dots-robust-trans:non-timeout": {"current-value-decimal": "3.00"},
        "ack-timeout": {"current-value-decimal": "2.50"}}}}"#;
    assert_eq!(put_config(&mut h, 124, idle_only).code(), Code::CREATED);
    let p = h.s.session_params(&PeerIdentity::client(CUID));
    assert_eq!(p.mitigating.max_payloads.unwrap().current_value, Some(20));
    assert_eq!(p.idle.max_payloads.unwrap().current_value, Some(20));
    let c = h
        .send(
            CUID,
            Code::GET,
            "/.well-known/dots/config/sid=124",
            &[],
            &Opts::default(),
        )
        .config();
    assert_eq!(
        c.mitigating_config.unwrap().max_payloads,
        Some(IntParam::range(1, 64, 20))
    );
    // Idle: NON_TIMEOUT as set, NON_RECEIVE_TIMEOUT twice it.
    let q = h.s.session_params(&PeerIdentity::client(CUID)).qblock();
    assert_eq!(q.non_timeout, Duration::from_millis(3000));
    assert_eq!(
        q.non_receive_timeout,
        Duration::from_secs(6),
        "twice non-timeout"
    );
    // 3 * 7 * 1.5 + 200 + 3 = 234.5 s.
    assert_eq!(q.non_partial_timeout, Duration::from_millis(234_500));
    // During a mitigation: the mitigating set, whose NON_TIMEOUT is its ack-timeout (2.00).
    assert_eq!(h.put(CUID, 1, &["192.0.2.0/24"], 60).code(), Code::CREATED);
    let q = h.s.session_params(&PeerIdentity::client(CUID)).qblock();
    assert_eq!(q.max_payloads, 20);
    assert_eq!(q.non_timeout, Duration::from_secs(2));
}

#[test]
fn qblock_values_outside_the_ranges_are_4_22() {
    let mut h = Harness::new();
    for (param, value) in [
        ("max-payloads", r#"{"current-value": 65}"#),
        ("non-max-retransmit", r#"{"current-value": 1}"#),
        ("non-timeout", r#"{"current-value-decimal": "30.01"}"#),
        (
            "non-receive-timeout",
            r#"{"current-value-decimal": "1.00"}"#,
        ),
        ("non-probing-wait", r#"{"current-value-decimal": "0.50"}"#),
        (
            "non-partial-timeout",
            r#"{"current-value-decimal": "1000.01"}"#,
        ),
    ] {
        let body = format!(
            r#"{{"ietf-dots-signal-channel:signal-config": {{"mitigating-config": {{
            "ietf-dots-robust-trans:{param}": {value}}}}}}}"#
        );
        let r = h.unchanged_for(CUID, Code::UNPROCESSABLE_ENTITY, |h| {
            put_config(h, 1, &body)
        });
        assert!(r.text().contains(param), "{}", r.text());
    }
}

#[test]
fn different_max_payloads_per_phase_are_4_00() {
    let mut h = Harness::new();
    let body = r#"{"ietf-dots-signal-channel:signal-config": {
        "mitigating-config": {"ietf-dots-robust-trans:max-payloads": {"current-value": 10}},
        "idle-config": {"ietf-dots-robust-trans:max-payloads": {"current-value": 11}}}}"#;
    h.unchanged_for(CUID, Code::BAD_REQUEST, |h| put_config(h, 1, body));
}

#[test]
fn server_defaults_need_one_max_payloads() {
    let mut h = Harness::new();
    let mut d = dots_proto::signal::server::default_session_config();
    d.idle_config.as_mut().unwrap().max_payloads = Some(IntParam::range(1, 64, 12));
    assert_eq!(
        h.s.set_session_defaults(d),
        Err(CommandError::InvalidDefaults)
    );
    // A computed (absent) current value is fine for the RFC 9362 parameters only.
    let mut d = dots_proto::signal::server::default_session_config();
    d.idle_config.as_mut().unwrap().non_timeout = Some(DecimalParam {
        current_value: None,
        ..DecimalParam::range(
            dots_codec::model::Decimal2::from_hundredths(100),
            dots_codec::model::Decimal2::from_hundredths(200),
            dots_codec::model::Decimal2::from_hundredths(100),
        )
    });
    assert_eq!(h.s.set_session_defaults(d), Ok(()));
    let mut d = dots_proto::signal::server::default_session_config();
    d.idle_config.as_mut().unwrap().ack_timeout = Some(DecimalParam {
        current_value: None,
        ..DecimalParam::default()
    });
    assert_eq!(
        h.s.set_session_defaults(d),
        Err(CommandError::InvalidDefaults)
    );
}
