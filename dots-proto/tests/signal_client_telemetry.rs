//! RFC 9244 telemetry from the client: `/tm-setup` PUT/GET/DELETE with increasing `tsid`,
//! `/tm` PUT (NON)/GET with filters and Observe/DELETE with increasing `tmid`, efficacy updates
//! with telemetry, and the server's telemetry as events.

mod common;
mod signal_client_support;

use common::{Link, Pair};
use dots_codec::cbor::{encode_scopes_with_telemetry, CborBody};
use dots_codec::coap::{Code, ContentFormat, OptionList};
use dots_codec::model::{
    AttackStatus, EfficacyUpdate, ScopeEntry, ScopeTelemetry, SignalMessage, Telemetry,
    TelemetrySetup,
};
use dots_proto::coap::Response;
use dots_proto::signal::client::{ClientConfig, Operation};
use dots_proto::time::Instant;
use signal_client_support::*;

fn run(p: &mut Pair<ClientNode, TestServer>, until: Instant) {
    p.run_until(until, |_, _, _, _| {});
    p.a.collect();
}

fn json(s: &str) -> SignalMessage {
    dots_codec::json::from_str(s).unwrap_or_else(|e| panic!("{e}"))
}

fn cbor(m: &SignalMessage) -> Vec<u8> {
    let mut b = vec![0u8; m.encoded_len()];
    let n = m.encode_cbor(&mut b).unwrap();
    b.truncate(n);
    b
}

/// RFC 9244 Figure 4.
const FIG4: &str = r#"{"ietf-dots-telemetry:telemetry-setup": {"telemetry": [{"current-config": {
    "low-percentile": "5.00", "mid-percentile": "65.00", "high-percentile": "95.00"}}]}}"#;

/// RFC 9244 Figure 36.
const FIG36: &str = r#"{"ietf-dots-telemetry:telemetry": {"pre-or-ongoing-mitigation": [{
    "target": {"target-prefix": ["2001:db8::1/128"]},
    "total-attack-traffic-protocol": [{"protocol": 17, "unit": "megabit-ps", "mid-percentile-g": "900"}],
    "attack-detail": [{"vendor-id": 32473, "attack-id": 77, "start-time": "1608336568", "attack-severity": "high"}]}]}}"#;

/// A telemetry-capable server: scripted answers on `/tm-setup` and `/tm`, the core for the
/// rest.
fn telemetry_server(notification: Vec<u8>) -> TestServer {
    let mut s = TestServer::udp();
    s.script = Some(Box::new(move |seen| {
        let op = seen.path.get(2).map(String::as_str);
        let (code, payload) = match (op, seen.code) {
            (Some("tm-setup"), Code::PUT) => (Code::CREATED, Vec::new()),
            (Some("tm-setup"), Code::DELETE) | (Some("tm"), Code::DELETE) => {
                (Code::DELETED, Vec::new())
            }
            (Some("tm-setup"), Code::GET) => (Code::CONTENT, cbor(&json(FIG4))),
            (Some("tm"), Code::PUT) => (Code::CHANGED, Vec::new()),
            (Some("tm"), Code::GET) => (Code::CONTENT, notification.clone()),
            _ => return None,
        };
        Some(Scripted {
            code,
            cbor: !payload.is_empty(),
            payload,
            max_age: None,
        })
    }));
    s
}

#[test]
fn telemetry_setup_and_pre_or_ongoing_mitigation() {
    let mut config = ClientConfig::udp();
    config.fetch_config = false;
    let notification = cbor(&json(FIG36).clone());
    let mut p = Pair::new(
        ClientNode::new(secs(0), config, 5),
        telemetry_server(notification.clone()),
        Link::perfect(),
        Link::perfect(),
    );
    // Figure 4: PUT /tm-setup/cuid=C/tsid=1, Confirmable.
    let SignalMessage::TelemetrySetup(setup) = json(FIG4) else {
        unreachable!()
    };
    let tsid = p.a.c.put_telemetry_setup(secs(0), &setup).unwrap();
    assert_eq!(tsid, 1);
    run(&mut p, secs(1));
    let seen = p.b.requests("/.well-known/dots/tm-setup");
    assert_eq!(
        seen[0].path_str(),
        format!("/.well-known/dots/tm-setup/cuid={CUID}/tsid=1")
    );
    assert_eq!(seen[0].confirmable, Some(true));
    assert_eq!(seen[0].payload, cbor(&json(FIG4)));
    assert!(p.a.events().any(|e| *e
        == CEv::TelemetrySetup(
            Operation::PutTelemetrySetup { tsid: 1 },
            Code::CREATED,
            vec![]
        )));
    // tsid increases.
    assert_eq!(p.a.c.put_telemetry_setup(p.now, &setup).unwrap(), 2);
    // GET all setup: the body comes with the event.
    p.a.c.get_telemetry_setup(p.now, None).unwrap();
    run(&mut p, secs(2));
    let (_, e) =
        p.a.find(|e| {
            matches!(
                e,
                CEv::TelemetrySetup(Operation::GetTelemetrySetup { tsid: None }, ..)
            )
        })
        .unwrap();
    let CEv::TelemetrySetup(_, code, body) = e else {
        unreachable!()
    };
    assert_eq!(code, Code::CONTENT);
    assert_eq!(TelemetrySetup::decode_cbor(&body).unwrap(), setup);
    // Reset all (Figure 21): DELETE without tsid.
    p.a.c.delete_telemetry_setup(p.now, None).unwrap();
    run(&mut p, secs(3));
    let last =
        p.b.requests("/.well-known/dots/tm-setup")
            .pop()
            .unwrap()
            .clone();
    assert_eq!(last.code, Code::DELETE);
    assert_eq!(
        last.path_str(),
        format!("/.well-known/dots/tm-setup/cuid={CUID}")
    );

    // Figure 36: PUT /tm/cuid=C/tmid=1, Non-confirmable.
    let SignalMessage::Telemetry(t) = json(FIG36) else {
        unreachable!()
    };
    assert_eq!(p.a.c.put_telemetry(p.now, &t).unwrap(), 1);
    run(&mut p, secs(4));
    let tm = p.b.requests("/.well-known/dots/tm/");
    assert_eq!(
        tm[0].path_str(),
        format!("/.well-known/dots/tm/cuid={CUID}/tmid=1")
    );
    assert_eq!(tm[0].confirmable, Some(false));
    assert_eq!(tm[0].payload, cbor(&json(FIG36)));
    assert!(p.a.events().any(|e| *e
        == CEv::Telemetry(
            Operation::PutTelemetry { tmid: 1 },
            Code::CHANGED,
            vec![],
            false
        )));

    // Figure 42: GET /tm with a filter and Observe.
    p.a.c
        .get_telemetry(p.now, None, true, &["target-protocol=17"])
        .unwrap();
    run(&mut p, secs(5));
    let get = p.b.requests("/.well-known/dots/tm/").pop().unwrap().clone();
    assert_eq!(get.code, Code::GET);
    assert_eq!(get.query, vec!["target-protocol=17".to_string()]);
    assert_eq!(get.observe, Some(0));
    assert!(p.a.events().any(|e| matches!(
        e,
        CEv::Telemetry(Operation::GetTelemetry { tmid: None }, Code::CONTENT, b, false) if *b == notification
    )));
    // A notification from the server (Figure 43-like).
    let (obs, _) = p.b.scripted_observers[0].clone();
    let mut o = OptionList::<8>::new();
    o.set_content_format(ContentFormat::DOTS_CBOR).unwrap();
    p.b.ep
        .notify(
            p.now,
            obs,
            Response::new(Code::CONTENT)
                .options(o.as_options())
                .payload(&notification),
        )
        .unwrap();
    run(&mut p, secs(6));
    let (_, e) =
        p.a.find(|e| matches!(e, CEv::Telemetry(_, _, _, true)))
            .unwrap();
    let CEv::Telemetry(_, _, body, _) = e else {
        unreachable!()
    };
    assert_eq!(Telemetry::decode_cbor(&body).unwrap(), t);
    // Deregistration, then DELETE of one tmid (Figure 37).
    p.a.c.stop_observing_telemetry(p.now, None).unwrap();
    p.a.c.delete_telemetry(p.now, Some(1)).unwrap();
    run(&mut p, secs(7));
    let reqs = p.b.requests("/.well-known/dots/tm/");
    assert!(reqs
        .iter()
        .any(|r| r.code == Code::GET && r.observe == Some(1)));
    let del = reqs.iter().find(|r| r.code == Code::DELETE).unwrap();
    assert_eq!(
        del.path_str(),
        format!("/.well-known/dots/tm/cuid={CUID}/tmid=1")
    );
    assert_eq!(p.a.c.next_tmid(), 2);
}

#[test]
fn efficacy_update_with_telemetry_and_status_telemetry() {
    let mut config = ClientConfig::udp();
    config.fetch_config = false;
    let mut p = Pair::new(
        ClientNode::new(secs(0), config, 5),
        TestServer::udp(),
        Link::perfect(),
        Link::perfect(),
    );
    let s = scope("2001:db8::/64", 3600);
    let mid = p.a.c.request_mitigation(secs(0), &s).unwrap();
    run(&mut p, secs(1));
    // Figure 45: attack-status with total-attack-traffic.
    let mut tm = ScopeTelemetry::default();
    tm.total_attack_traffic
        .push(dots_codec::model::telemetry::UnitTraffic {
            unit: dots_codec::model::telemetry::Unit::MegabitPs,
            gauges: dots_codec::model::telemetry::Gauges::new()
                .with(dots_codec::model::telemetry::Gauge::MidPercentile, 900),
        })
        .unwrap();
    p.a.c
        .efficacy_update(p.now, mid, AttackStatus::UnderAttack, Some(&tm))
        .unwrap();
    run(&mut p, secs(2));
    let put =
        p.b.requests("/.well-known/dots/mitigate")
            .into_iter()
            .rfind(|r| r.if_match)
            .unwrap()
            .clone();
    let upd = EfficacyUpdate::decode_cbor(&put.payload).unwrap();
    assert_eq!(
        upd.request.entry.scope.attack_status,
        Some(AttackStatus::UnderAttack)
    );
    assert_eq!(upd.request.entry.scope.lifetime, None);
    assert_eq!(upd.telemetry, tm);
    assert!(p.a.events().any(|e| *e == CEv::EfficacyUpdated(mid)));

    // A status notification carrying telemetry (Figure 47): a status event, then the scope
    // as a body to decode.
    let mut entry = ScopeEntry::request(s.clone());
    entry.mid = Some(mid);
    entry.status = Some(dots_codec::model::MitigationStatus::SuccessfullyMitigated);
    entry.scope.lifetime = Some(dots_codec::model::Lifetime::Seconds(1600));
    let mut b = vec![0u8; 4096];
    let n = encode_scopes_with_telemetry([(&entry, Some(&tm))], &mut b).unwrap();
    b.truncate(n);
    let (obs, _) = p.b.observers[0];
    let mut o = OptionList::<8>::new();
    o.set_content_format(ContentFormat::DOTS_CBOR).unwrap();
    p.b.ep
        .notify(
            p.now,
            obs,
            Response::new(Code::CONTENT)
                .options(o.as_options())
                .payload(&b),
        )
        .unwrap();
    run(&mut p, secs(3));
    let (_, e) =
        p.a.find(|e| matches!(e, CEv::ScopeTelemetry { .. }))
            .unwrap();
    let CEv::ScopeTelemetry { mid: m, body } = e else {
        unreachable!()
    };
    assert_eq!(m, mid);
    let u = EfficacyUpdate::decode_cbor(&body).unwrap();
    assert_eq!(u.telemetry, tm);
    assert_eq!(u.request.entry.mid, Some(mid));
}

#[test]
fn telemetry_commands_check_their_bodies() {
    let mut c = ClientNode::new(secs(0), ClientConfig::udp(), 1);
    // Two setup kinds, or none: refused before anything is sent.
    assert!(c
        .c
        .put_telemetry_setup(secs(0), &TelemetrySetup::default())
        .is_err());
    assert!(c.c.put_telemetry(secs(0), &Telemetry::default()).is_err());
    assert_eq!(c.c.next_tsid(), 1);
    assert_eq!(c.c.next_tmid(), 1);
    assert!(c
        .c
        .get_telemetry(secs(0), None, false, &["a=1"; 9])
        .is_err());
}
