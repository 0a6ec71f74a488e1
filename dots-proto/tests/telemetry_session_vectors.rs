//! Every RFC 9244 `tm-*` signal-channel vector end to end: a DOTS client
//! ([`SignalClient`](dots_proto::signal::client::SignalClient)) and the multi-peer DOTS server
//! session ([`ServerSession`](dots_proto::signal::session::ServerSession)) on the virtual clock,
//! over the harness links. Each vector goes through the client API where the API can express
//! it; the requests it refuses to build (invalid bodies, a missing `tsid`, an unknown key) go
//! as raw CoAP messages through an auxiliary client endpoint of the same client (see
//! `telemetry_support`), and the test says so. Responses are decoded and compared with the
//! RFC's bodies; the vectors without a code are checked by the state they describe.
//!
//! The `tm-vendor-mapping-*` vectors are data-channel (RESTCONF) requests, covered by the
//! data-channel tests; the server core's own answers to every vector are pinned in
//! `signal_server_telemetry_vectors`.

mod common;
mod rfc9244_figures;
mod signal_client_support;
mod signal_server_support;
mod telemetry_support;

use std::time::Duration;

use dots_codec::cbor::CborBody;
use dots_codec::coap::Code;
use dots_codec::model::telemetry::{
    AttackSeverity, Gauge, Gauges, PreOrOngoingMitigation, SetupData, Telemetry,
    TelemetryAttackDetail, TelemetrySetup, Unit, UnitTraffic,
};
use dots_codec::model::{
    AttackStatus, Decimal2, EfficacyUpdate, MitigationScope, MitigationStatus, Scope, SignalMessage,
};
use dots_proto::signal::client::{CommandError, Operation};
use dots_proto::signal::server::{AliasTargets, MitigationStats, ServerEvent, TelemetryPolicy};
use dots_proto::signal::session::SessionEvent;
use rfc9244_figures::*;
use signal_client_support::{CEv, CUID};
use signal_server_support::cbor;
use telemetry_support::*;

// ---- the vectors' bodies (RFC 9244, as printed) ---------------------------------------------

/// RFC 9132 Figure 7 (the setup of tm-neg-query-target-mismatch-01).
const FIG7: &str = r#"{"ietf-dots-signal-channel:mitigation-scope": {"scope": [{
    "target-prefix": ["2001:db8:6401::1/128", "2001:db8:6401::2/128"],
    "target-port-range": [{"lower-port": 80}, {"lower-port": 443}, {"lower-port": 8080}],
    "target-protocol": [6], "lifetime": 3600}]}}"#;
/// Figure 47 (tm-mitigation-status-notification-01).
const FIG47: &str = r#"{"ietf-dots-signal-channel:mitigation-scope": {"scope": [{"mid": 12332,
    "mitigation-start": "1507818434", "alias-name": ["https1", "https2"], "lifetime": 1600,
    "status": "attack-successfully-mitigated", "bytes-dropped": "134334555",
    "bps-dropped": "43344", "pkts-dropped": "333334444", "pps-dropped": "432432",
    "ietf-dots-telemetry:total-attack-traffic": [{"unit": "megabit-ps", "mid-percentile-g": "752"}],
    "ietf-dots-telemetry:attack-detail": [{"vendor-id": 32473, "attack-id": 77,
        "source-count": {"peak-g": "12683"}}]}]}}"#;

// ---- helpers --------------------------------------------------------------------------------

fn json(s: &str) -> SignalMessage {
    dots_codec::json::from_str(s).unwrap_or_else(|e| panic!("{e}: {s}"))
}

fn setup(s: &str) -> TelemetrySetup {
    match json(s) {
        SignalMessage::TelemetrySetup(t) => t,
        other => panic!("{other:?}"),
    }
}

fn telemetry(s: &str) -> Telemetry {
    match json(s) {
        SignalMessage::Telemetry(t) => t,
        other => panic!("{other:?}"),
    }
}

fn scope(s: &str) -> Scope {
    MitigationScope::decode_cbor(&cbor(s)).unwrap().scopes[0]
        .scope
        .clone()
}

fn setup_uri(tsid: Option<u32>) -> String {
    match tsid {
        Some(t) => format!("/.well-known/dots/tm-setup/cuid={CUID}/tsid={t}"),
        None => format!("/.well-known/dots/tm-setup/cuid={CUID}"),
    }
}

fn tm_uri(tmid: Option<u32>) -> String {
    match tmid {
        Some(t) => format!("/.well-known/dots/tm/cuid={CUID}/tmid={t}"),
        None => format!("/.well-known/dots/tm/cuid={CUID}"),
    }
}

/// Runs until the client logs an event `f` accepts after `from` (at most 10 s).
fn wait_for(p: &mut Net, from: usize, f: impl Fn(&CEv) -> bool) -> CEv {
    let until = p.now + Duration::from_secs(10);
    loop {
        p.a.collect();
        if let Some((_, e)) = p.a.log[from..].iter().find(|(_, e)| f(e)) {
            return e.clone();
        }
        if !p.step(until) {
            panic!("no such event; log: {:#?}", &p.a.log[from..]);
        }
    }
}

/// The answer to a `/tm-setup` operation: code and body.
fn setup_reply(p: &mut Net, from: usize, op: Operation) -> (Code, Vec<u8>) {
    match wait_for(
        p,
        from,
        |e| matches!(e, CEv::TelemetrySetup(o, ..) if *o == op),
    ) {
        CEv::TelemetrySetup(_, code, body) => (code, body),
        _ => unreachable!(),
    }
}

/// The answer to a `/tm` operation (not a notification): code and body.
fn tm_reply(p: &mut Net, from: usize, op: Operation) -> (Code, Vec<u8>) {
    match wait_for(
        p,
        from,
        |e| matches!(e, CEv::Telemetry(o, _, _, false) if *o == op),
    ) {
        CEv::Telemetry(_, code, body, _) => (code, body),
        _ => unreachable!(),
    }
}

fn put_setup(p: &mut Net, body: &str) -> (u32, Code) {
    let from = p.a.log.len();
    let now = p.now;
    let tsid =
        p.a.cmd(|c| c.put_telemetry_setup(now, &setup(body)))
            .unwrap();
    let (code, _) = setup_reply(p, from, Operation::PutTelemetrySetup { tsid });
    (tsid, code)
}

fn get_setup(p: &mut Net, tsid: Option<u32>) -> (Code, Vec<u8>) {
    let from = p.a.log.len();
    let now = p.now;
    p.a.cmd(|c| c.get_telemetry_setup(now, tsid)).unwrap();
    setup_reply(p, from, Operation::GetTelemetrySetup { tsid })
}

fn delete_setup(p: &mut Net, tsid: Option<u32>) -> Code {
    let from = p.a.log.len();
    let now = p.now;
    p.a.cmd(|c| c.delete_telemetry_setup(now, tsid)).unwrap();
    setup_reply(p, from, Operation::DeleteTelemetrySetup { tsid }).0
}

fn tsids(s: &TelemetrySetup) -> Vec<Option<u32>> {
    s.telemetry.iter().map(|e| e.tsid).collect()
}

fn put_tm(p: &mut Net, body: &str) -> (u32, Code) {
    let from = p.a.log.len();
    let now = p.now;
    let tmid = p.a.cmd(|c| c.put_telemetry(now, &telemetry(body))).unwrap();
    let (code, _) = tm_reply(p, from, Operation::PutTelemetry { tmid });
    (tmid, code)
}

fn get_tm(p: &mut Net, tmid: Option<u32>, observe: bool, query: &[&str]) -> (Code, Vec<u8>) {
    let from = p.a.log.len();
    let now = p.now;
    p.a.cmd(|c| c.get_telemetry(now, tmid, observe, query))
        .unwrap();
    tm_reply(p, from, Operation::GetTelemetry { tmid })
}

fn delete_tm(p: &mut Net, tmid: Option<u32>) -> Code {
    let from = p.a.log.len();
    let now = p.now;
    p.a.cmd(|c| c.delete_telemetry(now, tmid)).unwrap();
    tm_reply(p, from, Operation::DeleteTelemetry { tmid }).0
}

fn server_events(p: &mut Net) -> Vec<ServerEvent> {
    let e = p.b.server_events();
    p.b.events.clear();
    e
}

/// Aliases https1 and https2 of the client, from the data channel (RFC 9244 Figures 45, 47,
/// 48), through the server hooks.
fn with_aliases(p: &mut Net) {
    for (name, prefix) in [
        ("https1", "2001:db8:6401::1/128"),
        ("https2", "2001:db8:6401::2/128"),
    ] {
        p.b.hooks().aliases.insert(
            (CUID.into(), name.into()),
            AliasTargets {
                prefixes: vec![prefix.parse().unwrap()],
                port_ranges: vec![(443, 443)],
                protocols: vec![6],
                ..AliasTargets::default()
            },
        );
    }
}

/// Requests a mitigation through the client and waits for its 2.01.
fn mitigate(p: &mut Net, body: &str) -> u32 {
    let from = p.a.log.len();
    let now = p.now;
    let s = scope(body);
    let mid = p.a.cmd(|c| c.request_mitigation(now, &s)).unwrap();
    let e = wait_for(
        p,
        from,
        |e| matches!(e, CEv::Accepted { mid: m, .. } | CEv::Rejected { mid: m, .. } if *m == mid),
    );
    assert!(
        matches!(
            e,
            CEv::Accepted {
                code: Code::CREATED,
                ..
            }
        ),
        "{e:?}"
    );
    mid
}

// ---- /tm-setup ------------------------------------------------------------------------------

#[test]
fn tm_neg_setup_unacceptable_01() {
    let mut s = server_config();
    let mut policy = TelemetryPolicy::default();
    // The precondition: the server announces a high-percentile of at most 95.00.
    policy.max_config_values.high_percentile = Some(Decimal2::from_hundredths(9500));
    s.telemetry = Some(policy);
    let mut p = net(client_config(123, 1), s);
    let (code, body) = get_setup(&mut p, None);
    assert_eq!(code, Code::CONTENT);
    let s = TelemetrySetup::decode_cbor(&body).unwrap();
    assert_eq!(
        s.max_config_values.unwrap().high_percentile,
        Some(Decimal2::from_hundredths(9500))
    );
    // high-percentile 99.00 > 95.00: 4.22, nothing installed.
    let bad = r#"{"ietf-dots-telemetry:telemetry-setup": {"telemetry": [{"current-config": {
        "high-percentile": "99.00"}}]}}"#;
    assert_eq!(put_setup(&mut p, bad), (123, Code::UNPROCESSABLE_ENTITY));
    assert!(server_events(&mut p).is_empty());
    // 95.00 is acceptable.
    assert_eq!(put_setup(&mut p, FIG4), (124, Code::CREATED));
}

#[test]
fn tm_setup_get_put_and_pipe_and_baseline_vectors() {
    // The tsids of the vectors increase: 123, 124, ... 130.
    let mut p = net(client_config(123, 1), server_config());

    // tm-setup-get-01 (Figure 2): 2.05 with the server's limits; nothing installed yet.
    let (code, body) = get_setup(&mut p, None);
    assert_eq!(code, Code::CONTENT);
    let s = TelemetrySetup::decode_cbor(&body).unwrap();
    s.validate_response().unwrap();
    let p0 = TelemetryPolicy::default();
    assert_eq!(s.max_config_values, Some(p0.max_config_values.clone()));
    assert_eq!(s.min_config_values, Some(p0.min_config_values.clone()));
    assert_eq!(
        s.max_config_values
            .as_ref()
            .unwrap()
            .server_originated_telemetry,
        Some(true)
    );
    assert!(!s.supported_unit_classes.is_empty());
    assert!(!s.supported_query_type.is_empty());
    assert_eq!(tsids(&s), [None], "the defaults, without tsid");

    // tm-setup-put-01 (Figure 4): 2.01 and the setup installed.
    assert_eq!(put_setup(&mut p, FIG4), (123, Code::CREATED));
    assert!(server_events(&mut p)
        .iter()
        .any(|e| matches!(e, ServerEvent::TelemetrySetupInstalled { tsid: 123, .. })));
    // tm-setup-get-02 (Figure 7): 2.05 with that entry (mid-percentile 65.00).
    let (code, body) = get_setup(&mut p, Some(123));
    assert_eq!(code, Code::CONTENT);
    let s = TelemetrySetup::decode_cbor(&body).unwrap();
    assert_eq!(tsids(&s), [Some(123)]);
    let Some(SetupData::CurrentConfig(c)) = &s.telemetry[0].setup else {
        panic!("{s:?}")
    };
    assert_eq!(c.low_percentile, Some(Decimal2::from_hundredths(500)));
    assert_eq!(c.mid_percentile, Some(Decimal2::from_hundredths(6500)));
    assert_eq!(c.high_percentile, Some(Decimal2::from_hundredths(9500)));
    // tm-neg-setup-get-unknown-tsid-01: 4.04.
    assert_eq!(get_setup(&mut p, Some(999)).0, Code::NOT_FOUND);

    // tm-setup-put-02 (Figure 5): 2.01; the higher tsid replaces 123.
    assert_eq!(put_setup(&mut p, FIG5), (124, Code::CREATED));
    assert!(
        server_events(&mut p).contains(&ServerEvent::TelemetrySetupRemoved {
            cuid: CUID.into(),
            tsid: 123,
            replaced_by: Some(124),
        })
    );
    assert_eq!(get_setup(&mut p, Some(123)).0, Code::NOT_FOUND);
    // tm-setup-put-03 (Figure 6): 2.01, server-originated telemetry.
    assert_eq!(put_setup(&mut p, FIG6), (125, Code::CREATED));
    let s = TelemetrySetup::decode_cbor(&get_setup(&mut p, None).1).unwrap();
    assert_eq!(tsids(&s), [Some(125)]);
    let Some(SetupData::CurrentConfig(c)) = &s.telemetry[0].setup else {
        panic!("{s:?}")
    };
    assert_eq!(c.server_originated_telemetry, Some(true));

    // tm-pipe-put-01 (Figure 11), -03 (Figure 15: replaces 126), -04 (Figure 17: link1 at 0
    // is removed).
    assert_eq!(put_setup(&mut p, FIG11), (126, Code::CREATED));
    assert_eq!(put_setup(&mut p, FIG15), (127, Code::CREATED));
    assert_eq!(get_setup(&mut p, Some(126)).0, Code::NOT_FOUND);
    let s = TelemetrySetup::decode_cbor(&get_setup(&mut p, Some(127)).1).unwrap();
    let Some(SetupData::TotalPipeCapacity(l)) = &s.telemetry[0].setup else {
        panic!("{s:?}")
    };
    assert_eq!(l.len(), 2);
    assert_eq!(put_setup(&mut p, FIG17), (128, Code::CREATED));
    let s = TelemetrySetup::decode_cbor(&get_setup(&mut p, Some(128)).1).unwrap();
    let Some(SetupData::TotalPipeCapacity(l)) = &s.telemetry[0].setup else {
        panic!("{s:?}")
    };
    assert_eq!(l.len(), 1);
    assert_eq!(l[0].link_id.as_str(), "link2");
    assert_eq!(l[0].capacity, 500);
    assert_eq!(get_setup(&mut p, Some(127)).0, Code::NOT_FOUND);

    // tm-baseline-put-01 (Figure 19) and -02 (Figure 20: same id and targets, replaces 129).
    assert_eq!(put_setup(&mut p, FIG19), (129, Code::CREATED));
    assert_eq!(put_setup(&mut p, FIG20), (130, Code::CREATED));
    let s = TelemetrySetup::decode_cbor(&get_setup(&mut p, None).1).unwrap();
    let baseline = s
        .telemetry
        .iter()
        .find_map(|e| match &e.setup {
            Some(SetupData::Baseline(b)) => Some((e.tsid, b.clone())),
            _ => None,
        })
        .unwrap();
    assert_eq!(baseline.0, Some(130));
    assert_eq!(baseline.1[0].total_traffic_normal_per_protocol.len(), 2);
    assert!(!tsids(&s).contains(&Some(129)));

    // tm-setup-delete-02 (Figure 21): 2.02, everything reset.
    assert_eq!(delete_setup(&mut p, None), Code::DELETED);
    let s = TelemetrySetup::decode_cbor(&get_setup(&mut p, None).1).unwrap();
    assert_eq!(tsids(&s), [None], "only the defaults");
    p.b.s.check_invariants().unwrap();
}

#[test]
fn tm_setup_delete_01() {
    let mut p = net(client_config(123, 1), server_config());
    assert_eq!(put_setup(&mut p, FIG4), (123, Code::CREATED));
    server_events(&mut p);
    // Figure 8: DELETE tsid=123 → 2.02, the defaults back.
    assert_eq!(delete_setup(&mut p, Some(123)), Code::DELETED);
    assert_eq!(
        server_events(&mut p),
        [ServerEvent::TelemetrySetupRemoved {
            cuid: CUID.into(),
            tsid: 123,
            replaced_by: None
        }]
    );
    assert_eq!(get_setup(&mut p, Some(123)).0, Code::NOT_FOUND);
    // "A 2.02 (Deleted) Response Code is returned even if the 'tsid' ... does not exist."
    assert_eq!(delete_setup(&mut p, Some(123)), Code::DELETED);
}

#[test]
fn tm_pipe_put_02_of_another_client() {
    // Figure 13 comes from the client hmcpH87lmPGsSTjkhXCbin with tsid 896.
    let cuid = "hmcpH87lmPGsSTjkhXCbin";
    let mut p = net(client_config(896, 1), server_config());
    *p.a.c = dots_proto::signal::client::SignalClient::new(
        p.now,
        cuid,
        "dots.example",
        client_config(896, 1),
        9,
    )
    .unwrap();
    p.b.cuid = cuid;
    assert_eq!(put_setup(&mut p, FIG13), (896, Code::CREATED));
    assert!(server_events(&mut p).iter().any(|e| matches!(
        e,
        ServerEvent::TelemetrySetupInstalled { cuid: c, tsid: 896, .. } if &**c == cuid
    )));
}

#[test]
fn tm_setup_requests_the_client_api_refuses_go_raw() {
    let mut p = net(client_config(128, 1), server_config());
    // tm-neg-pipe-all-zero-01: the client does not send it ...
    let now = p.now;
    let r =
        p.a.cmd(|c| c.put_telemetry_setup(now, &setup(PIPES_ALL_ZERO)));
    assert!(matches!(r, Err(CommandError::Invalid(_))), "{r:?}");
    // ... sent raw (auxiliary endpoint): 4.00.
    let r = raw(
        &mut p,
        Code::PUT,
        &setup_uri(Some(128)),
        &[],
        &cbor(PIPES_ALL_ZERO),
        false,
        false,
    )
    .unwrap();
    assert_eq!(r.code, Code::BAD_REQUEST);
    // tm-neg-setup-missing-tsid-01: the client always sends a tsid; raw PUT without: 4.00.
    let r = raw(
        &mut p,
        Code::PUT,
        &setup_uri(None),
        &[],
        &cbor(FIG4),
        false,
        false,
    )
    .unwrap();
    assert_eq!(r.code, Code::BAD_REQUEST);
    // tm-neg-setup-unknown-param-01: Figure 4 plus an unassigned comprehension-required key
    // (127) in current-config (the typed model cannot carry it): raw, 4.00.
    let mut body = cbor(FIG4);
    let at = body
        .windows(3)
        .position(|w| w == [0x18, 0xaf, 0xa3])
        .unwrap();
    body[at + 2] = 0xa4;
    body.extend_from_slice(&[0x18, 0x7f, 0x61, b'1']);
    let r = raw(
        &mut p,
        Code::PUT,
        &setup_uri(Some(123)),
        &[],
        &body,
        false,
        false,
    )
    .unwrap();
    assert_eq!(r.code, Code::BAD_REQUEST);
    // Nothing installed by any of them.
    let s = TelemetrySetup::decode_cbor(&get_setup(&mut p, None).1).unwrap();
    assert_eq!(tsids(&s), [None]);
    assert!(!server_events(&mut p)
        .iter()
        .any(|e| matches!(e, ServerEvent::TelemetrySetupInstalled { .. })));
}

// ---- /tm ------------------------------------------------------------------------------------

#[test]
fn tm_premitigation_put_01_delete_01_and_02() {
    let mut p = net(client_config(1, 123), server_config());
    // tm-premitigation-put-01 (Figure 36): 2.04, and the telemetry for the host.
    assert_eq!(put_tm(&mut p, FIG36), (123, Code::CHANGED));
    let e = server_events(&mut p);
    let Some(ServerEvent::PreMitigationTelemetry { telemetry, .. }) = e
        .iter()
        .find(|e| matches!(e, ServerEvent::PreMitigationTelemetry { tmid: 123, .. }))
    else {
        panic!("{e:?}")
    };
    assert_eq!(**telemetry, telemetry_entry(FIG36));
    // The client lists it (Section 8.2).
    let (code, body) = get_tm(&mut p, None, false, &[]);
    assert_eq!(code, Code::CONTENT);
    let t = Telemetry::decode_cbor(&body).unwrap();
    assert_eq!(t.pre_or_ongoing_mitigation.len(), 1);
    assert_eq!(t.pre_or_ongoing_mitigation[0].tmid, Some(123));
    // tm-premitigation-delete-01 (Figure 37; no code in the RFC): the entry is gone.
    let code = delete_tm(&mut p, Some(123));
    assert!(code.is_success(), "{code}");
    assert!(
        server_events(&mut p).contains(&ServerEvent::TelemetryRemoved {
            cuid: CUID.into(),
            tmid: 123,
            replaced_by: None
        })
    );
    assert_eq!(get_tm(&mut p, Some(123), false, &[]).0, Code::NOT_FOUND);
    // tm-premitigation-delete-02 (Figure 38; no code): every tmid gone.
    assert_eq!(put_tm(&mut p, FIG36).1, Code::CHANGED);
    assert_eq!(
        put_tm(&mut p, &FIG39.replace("2001:db8::/32", "2001:db9::/32")).1,
        Code::CHANGED
    );
    server_events(&mut p);
    assert!(delete_tm(&mut p, None).is_success());
    let removed = server_events(&mut p)
        .iter()
        .filter(|e| matches!(e, ServerEvent::TelemetryRemoved { .. }))
        .count();
    assert_eq!(removed, 2);
    let (code, body) = get_tm(&mut p, None, false, &[]);
    let empty = code == Code::NOT_FOUND
        || Telemetry::decode_cbor(&body).is_ok_and(|t| t.pre_or_ongoing_mitigation.is_empty());
    assert!(empty, "{code} {body:02x?}");
    assert_eq!(p.b.s.server().client_count(), 0, "nothing kept");
}

fn telemetry_entry(s: &str) -> PreOrOngoingMitigation {
    telemetry(s).pre_or_ongoing_mitigation[0].clone()
}

#[test]
fn tm_premitigation_put_02_get_01_to_03_and_notification_01() {
    let mut c = client_config(125, 567);
    c.auto_observe = false;
    let mut p = net(c, server_config());
    // Server-originated telemetry (Figure 6), then tm-premitigation-put-02 (Figure 39): a
    // target alone asks for the server's telemetry (no code in the RFC: the request is
    // recorded and the host told).
    assert_eq!(put_setup(&mut p, FIG6).1, Code::CREATED);
    let (tmid, code) = put_tm(&mut p, FIG39);
    assert_eq!(tmid, 567);
    assert!(code.is_success(), "{code}");
    assert!(server_events(&mut p).iter().any(|e| matches!(
        e,
        ServerEvent::TelemetryRequested { tmid: 567, target, .. } if target.targets.prefixes.len() == 1
    )));
    // tm-premitigation-get-01 (Figure 40): GET tmid=567 with Observe. Before the server has
    // telemetry: the entry with its target.
    let (code, body) = get_tm(&mut p, Some(567), true, &[]);
    assert_eq!(code, Code::CONTENT);
    let t = Telemetry::decode_cbor(&body).unwrap();
    assert_eq!(t.pre_or_ongoing_mitigation[0].tmid, Some(567));
    // tm-premitigation-get-03 (Figure 42): GET all with target-protocol=17 and Observe.
    let (code, body) = get_tm(&mut p, None, true, &["target-protocol=17"]);
    assert_eq!(code, Code::CONTENT);
    Telemetry::decode_cbor(&body).unwrap();
    assert_eq!(p.b.s.server().observations(CUID).count(), 2);
    // tm-premitigation-get-02 (Figure 41): GET all with Observe (the client endpoint holds
    // two observations: this one after ending the filtered one).
    let now = p.now;
    p.a.cmd(|c| c.stop_observing_telemetry(now, None)).unwrap();
    run_for(&mut p, Duration::from_secs(1));
    let (code, body) = get_tm(&mut p, None, true, &[]);
    assert_eq!(code, Code::CONTENT);
    assert_eq!(
        Telemetry::decode_cbor(&body)
            .unwrap()
            .pre_or_ongoing_mitigation[0]
            .tmid,
        Some(567)
    );
    // tm-premitigation-notification-01 (Figure 43): the host's telemetry on 2001:db8::1
    // (target-protocol in the target: Figure 43 puts it beside the target, where the module
    // has no such node) reaches the observers as a 2.05 notification.
    let mut e = PreOrOngoingMitigation::default();
    e.target
        .targets
        .push_prefix("2001:db8::1/128".parse().unwrap())
        .unwrap();
    e.target.targets.protocols.push(17).unwrap();
    e.total_attack_traffic
        .push(UnitTraffic {
            unit: Unit::MegabitPs,
            gauges: Gauges::new().with(Gauge::MidPercentile, 900),
        })
        .unwrap();
    let mut d = TelemetryAttackDetail::new(32473, 77);
    d.start_time = Some(1_618_339_785);
    d.attack_severity = Some(AttackSeverity::High);
    e.attack_detail.push(d).unwrap();
    let from = p.a.log.len();
    let now = p.now;
    p.b.s
        .server_mut()
        .set_attack_telemetry(now, CUID, 567, Some(&e))
        .unwrap();
    let n = wait_for(&mut p, from, |e| {
        matches!(
            e,
            CEv::Telemetry(Operation::GetTelemetry { tmid: Some(567) }, _, _, true)
        )
    });
    let CEv::Telemetry(_, code, body, _) = n else {
        unreachable!()
    };
    assert_eq!(code, Code::CONTENT);
    let t = Telemetry::decode_cbor(&body).unwrap();
    t.validate_response().unwrap();
    let mut want = e.clone();
    want.tmid = Some(567);
    assert_eq!(t.pre_or_ongoing_mitigation[..], [want.clone()], "Figure 43");
    // The observation of all entries gets it too (paced by telemetry-notify-interval).
    run_for(&mut p, Duration::from_secs(30));
    let all = p.a.find(|e| {
        matches!(
            e,
            CEv::Telemetry(
                Operation::GetTelemetry { tmid: None },
                Code::CONTENT,
                _,
                true
            )
        )
    });
    let Some((_, CEv::Telemetry(_, _, body, _))) = all else {
        panic!("{:#?}", p.a.log)
    };
    assert_eq!(
        Telemetry::decode_cbor(&body)
            .unwrap()
            .pre_or_ongoing_mitigation[..],
        [want]
    );
    p.b.s.check_invariants().unwrap();
}

#[test]
fn tm_neg_tm_no_target_01_and_invalid_query_01() {
    let mut p = net(client_config(1, 123), server_config());
    // tm-neg-tm-no-target-01: the client refuses to build it; raw: 4.00.
    let now = p.now;
    let r = p.a.cmd(|c| c.put_telemetry(now, &telemetry(NO_TARGET)));
    assert!(matches!(r, Err(CommandError::Invalid(_))), "{r:?}");
    let r = raw(
        &mut p,
        Code::PUT,
        &tm_uri(Some(123)),
        &[],
        &cbor(NO_TARGET),
        false,
        false,
    )
    .unwrap();
    assert_eq!(r.code, Code::BAD_REQUEST);
    assert_eq!(p.b.s.server().client_count(), 0);
    // tm-neg-invalid-query-01: through the client, 4.00.
    assert_eq!(put_tm(&mut p, FIG36).1, Code::CHANGED);
    let (code, _) = get_tm(&mut p, None, true, &["example-unknown-query=1"]);
    assert_eq!(code, Code::BAD_REQUEST);
    assert_eq!(p.b.s.server().observations(CUID).count(), 0);
}

// ---- mitigation status and efficacy with telemetry (Section 9) -------------------------------

#[test]
fn tm_efficacy_put_01() {
    let mut c = client_config(1, 1);
    c.first_mid = 123;
    let mut p = net(c, server_config());
    with_aliases(&mut p);
    assert_eq!(mitigate(&mut p, ALIAS_SCOPE), 123);
    server_events(&mut p);
    // Figure 45: attack-status under-attack with total-attack-traffic, If-Match: 2.04.
    let fig45 = MitigationScope::decode_cbor(&cbor(FIG45)).unwrap();
    let tm = fig45.telemetry.get(0).cloned();
    let from = p.a.log.len();
    let now = p.now;
    p.a.cmd(|c| c.efficacy_update(now, 123, AttackStatus::UnderAttack, tm.as_ref()))
        .unwrap();
    wait_for(&mut p, from, |e| *e == CEv::EfficacyUpdated(123));
    // The request on the wire: PUT mid=123 with If-Match and Figure 45's body.
    let put = p
        .sent_by(common::Side::A)
        .filter_map(|s| {
            let m = dots_codec::coap::Message::parse(&s.bytes).ok()?;
            (m.code() == Code::PUT && m.options().if_match().next().is_some()).then(|| {
                (
                    m.options()
                        .uri_path()
                        .map(Result::unwrap)
                        .collect::<Vec<_>>()
                        .join("/"),
                    m.payload().to_vec(),
                )
            })
        })
        .last()
        .unwrap();
    assert_eq!(
        put.0,
        format!(".well-known/dots/mitigate/cuid={CUID}/mid=123")
    );
    assert_eq!(
        MitigationScope::decode_cbor(&put.1).unwrap(),
        fig45,
        "Figure 45"
    );
    let e = server_events(&mut p);
    assert!(e
        .iter()
        .any(|e| matches!(e, ServerEvent::EfficacyUpdate { mid: 123, .. })));
    let Some(ServerEvent::EfficacyTelemetry { telemetry, .. }) = e
        .iter()
        .find(|e| matches!(e, ServerEvent::EfficacyTelemetry { mid: 123, .. }))
    else {
        panic!("{e:?}")
    };
    assert_eq!(Some(&**telemetry), tm.as_ref());
    assert_eq!(
        telemetry.total_attack_traffic[0]
            .gauges
            .get(Gauge::MidPercentile),
        Some(900)
    );
}

#[test]
fn tm_mitigation_get_01_neg_observe_overlap_01_and_query_target_mismatch_01() {
    let mut c = client_config(1, 1);
    c.first_mid = 12332;
    c.auto_observe = false;
    let mut p = net(c, server_config());
    with_aliases(&mut p);
    assert_eq!(mitigate(&mut p, ALIAS_SCOPE), 12332);
    // tm-mitigation-get-01 (Figure 48): GET mid=12332 ?target-alias=https1 with Observe: 2.05.
    let from = p.a.log.len();
    let now = p.now;
    p.a.cmd(|c| c.get_mitigations(now, Some(12332), true, &["target-alias=https1"]))
        .unwrap();
    let e = wait_for(&mut p, from, |e| {
        matches!(e, CEv::Status { mid: 12332, .. })
    });
    assert!(
        matches!(
            e,
            CEv::Status {
                notification: false,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(p.b.s.server().observations(CUID).count(), 1);
    // tm-neg-observe-overlap-01: the same query again (another token): 4.09, no new entry.
    let from = p.a.log.len();
    let now = p.now;
    p.a.cmd(|c| c.get_mitigations(now, Some(12332), true, &["target-alias=https1"]))
        .unwrap();
    let e = wait_for(&mut p, from, |e| {
        matches!(e, CEv::Response(Operation::GetMitigations { .. }, ..))
            || matches!(e, CEv::Rejected { .. } | CEv::Conflict { .. })
    });
    let code = match &e {
        CEv::Response(_, code, _) | CEv::Rejected { code, .. } => *code,
        CEv::Conflict { .. } => Code::CONFLICT,
        _ => unreachable!(),
    };
    assert_eq!(code, Code::CONFLICT, "{e:?}");
    assert_eq!(p.b.s.server().observations(CUID).count(), 1);

    // tm-neg-query-target-mismatch-01: Figure 7 at mid=12332, a prefix outside it: 4.04.
    let mut c = client_config(1, 1);
    c.first_mid = 12332;
    c.auto_observe = false;
    let mut p = net(c, server_config());
    assert_eq!(mitigate(&mut p, FIG7), 12332);
    let from = p.a.log.len();
    let now = p.now;
    p.a.cmd(|c| {
        c.get_mitigations(
            now,
            Some(12332),
            true,
            &["target-prefix=2001:db8:ffff::/48"],
        )
    })
    .unwrap();
    let e = wait_for(&mut p, from, |e| {
        matches!(
            e,
            CEv::Response(..) | CEv::Status { .. } | CEv::Rejected { .. } | CEv::Ended(_)
        )
    });
    assert!(matches!(e, CEv::Response(_, Code::NOT_FOUND, _)), "{e:?}");
    assert_eq!(p.b.s.server().observations(CUID).count(), 0);
    // The mitigation itself is untouched.
    assert!(p.b.s.server().mitigation(CUID, 12332).is_some());
}

#[test]
fn tm_mitigation_status_notification_01() {
    // Figure 47: the status of 12332 with the host's telemetry, to a client that asked for
    // server-originated telemetry (no code in the RFC: the client receives it).
    let mut s = server_config();
    // The virtual clock starts at 0: the mitigation starts at 1507818434 (Figure 47).
    s.unix_time_at_epoch = Some(1_507_818_434);
    let mut c = client_config(1, 1);
    c.first_mid = 12332;
    let mut p = net(c, s);
    with_aliases(&mut p);
    assert_eq!(put_setup(&mut p, FIG6).1, Code::CREATED);
    assert_eq!(mitigate(&mut p, ALIAS_SCOPE), 12332);
    // The client observes all its mitigations (auto-observe).
    run_for(&mut p, Duration::from_secs(2));
    assert_eq!(p.b.s.server().observations(CUID).count(), 1);
    let fig47 = MitigationScope::decode_cbor(&cbor(FIG47)).unwrap();
    let tm = fig47.telemetry.get(0).unwrap().clone();
    let from = p.a.log.len();
    let now = p.now;
    p.b.s
        .server_mut()
        .set_scope_telemetry(now, CUID, 12332, Some(&tm))
        .unwrap();
    p.b.s
        .set_mitigation_status(
            now,
            CUID,
            12332,
            Some(MitigationStatus::SuccessfullyMitigated),
            MitigationStats {
                bytes_dropped: Some(134_334_555),
                bps_dropped: Some(43_344),
                pkts_dropped: Some(333_334_444),
                pps_dropped: Some(432_432),
                mitigation_start: None,
            },
        )
        .unwrap();
    let e = wait_for(&mut p, from, |e| {
        matches!(
            e,
            CEv::Status {
                mid: 12332,
                notification: true,
                status: Some(MitigationStatus::SuccessfullyMitigated),
                ..
            }
        )
    });
    let CEv::Status { counters, .. } = e else {
        unreachable!()
    };
    let want = &fig47.scopes[0];
    assert_eq!(counters.bytes_dropped, want.bytes_dropped);
    assert_eq!(counters.bps_dropped, want.bps_dropped);
    assert_eq!(counters.pkts_dropped, want.pkts_dropped);
    assert_eq!(counters.pps_dropped, want.pps_dropped);
    assert_eq!(
        p.a.c.mitigation(12332).unwrap().mitigation_start(),
        want.mitigation_start
    );
    // The telemetry attributes of the notification, as the client hands them over.
    let t = wait_for(&mut p, from, |e| {
        matches!(e, CEv::ScopeTelemetry { mid: 12332, .. })
    });
    let CEv::ScopeTelemetry { body, .. } = t else {
        unreachable!()
    };
    let got = EfficacyUpdate::decode_cbor(&body).unwrap();
    assert_eq!(got.telemetry, tm, "Figure 47's telemetry");
    assert!(p
        .b
        .events
        .iter()
        .all(|(_, e)| !matches!(e, SessionEvent::PeerLost { .. })));
}
