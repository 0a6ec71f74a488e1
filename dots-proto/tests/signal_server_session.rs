//! Session configuration (RFC 9132 Section 4.5) with its observers and server defaults, the
//! `c` filter of GET (Section 4.4.2), session close, and snapshot/restore.

mod signal_server_support;

use dots_codec::coap::Code;
use dots_codec::model::{IntParam, MitigationStatus as S};
use dots_proto::data::PeerIdentity;
use dots_proto::signal::server::{
    default_session_config, CommandError, ConfigPhase, ObserveAction, ObserveTarget, RestoreError,
    ServerConfig, ServerEvent, ServerSnapshot, SignalServer,
};
use dots_proto::time::Instant;
use signal_server_support::*;

#[test]
fn config_observers_are_notified_of_changes() {
    let mut h = Harness::new();
    let r = h.send(
        CUID,
        Code::GET,
        "/.well-known/dots/config",
        &[],
        &Opts {
            observe: Some(0),
            ..Opts::default()
        },
    );
    assert!(matches!(
        r.observe,
        Some(ObserveAction::Registered {
            target: ObserveTarget::Config,
            ..
        })
    ));
    h.send(
        CUID,
        Code::PUT,
        "/.well-known/dots/config/sid=5",
        &cbor(FIG23),
        &Opts::default(),
    );
    let mut buf = vec![0u8; 4096];
    let n = h.s.poll_notification(h.now, &mut buf).unwrap().unwrap();
    assert!(n.observers.config && n.mid.is_none());
    let c = dots_codec::model::SignalConfig::decode_cbor_for_test(&buf[..n.payload_len]);
    assert_eq!(
        c.idle_config.unwrap().heartbeat_interval,
        Some(IntParam::range(15, 240, 0))
    );
    // DELETE: back to the defaults, notified too.
    h.send(
        CUID,
        Code::DELETE,
        "/.well-known/dots/config",
        &[],
        &Opts::default(),
    );
    let n = h.s.poll_notification(h.now, &mut buf).unwrap().unwrap();
    let c = dots_codec::model::SignalConfig::decode_cbor_for_test(&buf[..n.payload_len]);
    assert_eq!(
        c.idle_config.unwrap().heartbeat_interval,
        Some(IntParam::range(15, 240, 30))
    );
    // Session closed: observations gone, nothing else.
    h.put(CUID, 1, &["2001:db8::/64"], 3600);
    h.s.session_closed(h.now, CUID);
    assert_eq!(h.s.observations(CUID).count(), 0);
    assert_eq!(h.status(CUID, 1), Some(S::InProgress));
    h.check();
}

trait DecodeForTest {
    fn decode_cbor_for_test(b: &[u8]) -> Self;
}

impl DecodeForTest for dots_codec::model::SignalConfig {
    fn decode_cbor_for_test(b: &[u8]) -> Self {
        use dots_codec::cbor::CborBody;
        Self::decode_cbor(b).unwrap()
    }
}

#[test]
fn a_gateway_has_its_own_configuration_and_relays_clients() {
    let mut h = Harness::new();
    let gw = Opts {
        gateway: true,
        ..Opts::default()
    };
    let r = h.send(
        "gateway-1",
        Code::PUT,
        "/.well-known/dots/config/sid=1",
        &cbor(FIG23),
        &gw,
    );
    assert_eq!(r.code(), Code::CREATED);
    let r = h.send(
        "gateway-1",
        Code::GET,
        "/.well-known/dots/config/sid=1",
        &[],
        &gw,
    );
    assert_eq!(r.code(), Code::CONTENT);
    // Relayed clients: any trusted gateway may act on them; the client itself may not.
    let uri = "/.well-known/dots/mitigate/cdid=abc/cuid=relayed-client/mid=1";
    assert_eq!(
        h.send("gateway-1", Code::PUT, uri, &cbor(FIG7), &gw).code(),
        Code::CREATED
    );
    let get = "/.well-known/dots/mitigate/cuid=relayed-client";
    assert_eq!(
        h.send("gateway-2", Code::GET, get, &[], &gw).code(),
        Code::CONTENT
    );
    assert_eq!(
        h.send("relayed-client", Code::GET, get, &[], &Opts::default())
            .code(),
        Code::CONFLICT
    );
    // The gateway session is mitigating while a relayed client is.
    let p = h.s.session_params(&PeerIdentity::gateway("gateway-1"));
    assert_eq!(p.phase, ConfigPhase::Mitigating);
    assert_eq!(p.sid, Some(1));
    h.check();
}

#[test]
fn server_defaults_can_change() {
    let mut h = Harness::new();
    h.send(
        CUID,
        Code::PUT,
        "/.well-known/dots/config/sid=1",
        &cbor(FIG23),
        &Opts::default(),
    );
    h.put(CUID2, 1, &["2001:db8::/64"], 3600);
    h.events();
    let mut d = default_session_config();
    if let Some(m) = d.mitigating_config.as_mut() {
        m.heartbeat_interval = Some(IntParam::range(10, 60, 20));
    }
    h.s.set_session_defaults(d).unwrap();
    let ev = h.events();
    assert!(ev.contains(&ServerEvent::SessionConfigChanged {
        cuid: CUID.into(),
        phase: ConfigPhase::Idle
    }));
    assert!(ev.contains(&ServerEvent::SessionConfigChanged {
        cuid: CUID2.into(),
        phase: ConfigPhase::Mitigating
    }));
    let p = h.s.session_params(&PeerIdentity::client(CUID2));
    assert_eq!(p.current().heartbeat_interval, Some(IntParam::current(20)));
    // The client's own value stays; the new range applies to later PUTs.
    let p = h.s.session_params(&PeerIdentity::client(CUID));
    assert_eq!(p.mitigating.heartbeat_interval, Some(IntParam::current(30)));
    let r = h.send(
        CUID,
        Code::PUT,
        "/.well-known/dots/config/sid=2",
        &cbor(FIG23),
        &Opts::default(),
    );
    assert_eq!(r.code(), Code::CREATED, "30 is within 10..=60");
    let mut bad = default_session_config();
    if let Some(m) = bad.idle_config.as_mut() {
        m.missing_hb_allowed = Some(IntParam::range(5, 3, 4));
    }
    assert_eq!(
        h.s.set_session_defaults(bad),
        Err(CommandError::InvalidDefaults)
    );
}

#[test]
fn content_filter() {
    let mut h = Harness::new();
    h.put_json(CUID, 123, FIG7);
    let get = |h: &mut Harness, q: &'static [&'static str]| {
        let r = h.send(
            CUID,
            Code::GET,
            &mitigate_uri(CUID, Some(123)),
            &[],
            &Opts {
                query: q,
                ..Opts::default()
            },
        );
        assert_eq!(r.code(), Code::CONTENT);
        r.scopes().scopes[0].clone()
    };
    let all = get(&mut h, &[]);
    assert!(all.status.is_some() && !all.scope.targets.prefixes.is_empty());
    assert_eq!(get(&mut h, &["c=a"]), all);
    let n = get(&mut h, &["c=n"]);
    assert_eq!(n.status, Some(S::InProgress));
    assert!(n.scope.targets.prefixes.is_empty(), "no configuration data");
    assert!(n.scope.lifetime.is_some());
    let c = get(&mut h, &["c=c"]);
    assert_eq!(c.status, None, "no non-configuration data");
    assert_eq!(c.scope.targets.prefixes.len(), 2);
    assert_eq!(c.mid, Some(123));
}

#[test]
fn snapshot_restores_on_a_standby() {
    let mut h = Harness::new();
    h.put_json(CUID, 123, FIG7);
    let pre = scope_json(&["192.0.2.0/24"], 600, r#""trigger-mitigation": false"#);
    h.put_json(CUID, 200, &pre);
    h.send(
        CUID,
        Code::PUT,
        "/.well-known/dots/config/sid=7",
        &cbor(FIG23),
        &Opts::default(),
    );
    h.put(CUID2, 1, &["198.51.100.0/24"], 100);
    h.delete(CUID2, 1);
    h.advance_secs(50);
    let snap = h.s.snapshot(h.now);
    assert_eq!(snap.client_count(), 2);
    assert_eq!(snap.mitigation_count(), 3);
    let json = serde_json::to_string(&snap).unwrap();
    let back: ServerSnapshot = serde_json::from_str(&json).unwrap();
    // The standby's clock has another epoch.
    let t = Instant::from_secs(5);
    let mut s = SignalServer::restore(
        ServerConfig::default(),
        dots_proto::signal::server::NoHooks,
        &back,
        t,
    )
    .unwrap();
    assert_eq!(s.mitigation(CUID, 123).unwrap().status, S::InProgress);
    assert_eq!(s.mitigation(CUID, 200).unwrap().status, S::SignalLoss);
    assert_eq!(s.mitigation(CUID2, 1).unwrap().status, S::ClientWithdrawn);
    assert_eq!(s.session_params(&PeerIdentity::client(CUID)).sid, Some(7));
    assert!(s.is_mitigating(CUID));
    // The withdrawn one still ends 120 s after its DELETE: 70 s from now.
    assert_eq!(
        s.poll_timeout(),
        Some(t + core::time::Duration::from_secs(70))
    );
    s.handle_timeout(t + core::time::Duration::from_secs(70));
    assert!(s.mitigation(CUID2, 1).is_none());
    // The deadman still works after failover.
    s.session_lost(t, CUID);
    assert_eq!(s.mitigation(CUID, 200).unwrap().status, S::InProgress);
    s.check_invariants().unwrap();
    // Another version is refused.
    let other = json.replacen("\"version\":1", "\"version\":2", 1);
    let other: ServerSnapshot = serde_json::from_str(&other).unwrap();
    assert_eq!(
        SignalServer::restore(
            ServerConfig::default(),
            dots_proto::signal::server::NoHooks,
            &other,
            t
        )
        .err(),
        Some(RestoreError::Version(2))
    );
}
