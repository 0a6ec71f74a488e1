//! The host-facing side: filtering-engine events, the hooks the signal channel calls
//! (alias resolution, activation on mitigation, RFC 9133 acl-list), lifetimes on the virtual
//! clock, statistics, and snapshot/restore.

mod data_common;

use data_common::*;
use dots_codec::data::{ActivationType, IpNet, PortRange, Statistics};
use dots_proto::data::{
    AclControl, AllowAll, ControlError, DataEvent, DataServer, DataServerConfig, Method,
};
use serde_json::json;

fn activated(acl: &str) -> DataEvent {
    DataEvent::AclActivated {
        cuid: CUID.into(),
        acl: acl.into(),
    }
}

fn deactivated(acl: &str) -> DataEvent {
    DataEvent::AclDeactivated {
        cuid: CUID.into(),
        acl: acl.into(),
    }
}

#[test]
fn alias_and_mitigation_activated_acl_through_the_hooks() {
    let mut h = H::new();
    h.register(CUID);
    let uri = client_uri(CUID);
    assert_eq!(h.send(CUID, Method::Post, &uri, Some(&fig17())).status, 201);
    assert_eq!(h.send(CUID, Method::Post, &uri, Some(&fig24())).status, 201);
    assert_eq!(
        h.drain(),
        vec![],
        "activate-when-mitigating: nothing to install while idle"
    );

    // The signal channel resolves the alias named in a mitigation request (RFC 9132 4.4.1.3).
    let alias = h.server.alias(CUID, "https1").expect("alias");
    assert_eq!(
        alias.target_prefix,
        vec![
            "2001:db8:6401::1/128".parse::<IpNet>().unwrap(),
            "2001:db8:6401::2/128".parse().unwrap()
        ]
    );
    assert_eq!(alias.target_port_range, vec![PortRange::single(443)]);
    assert_eq!(alias.target_protocol, vec![6]);
    assert!(h.server.alias(CUID, "nope").is_none());
    assert!(
        h.server.alias(CUID2, "https1").is_none(),
        "aliases are per client"
    );

    let names: Vec<&str> = h
        .server
        .acls_activated_when_mitigating(CUID)
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(names, ["sample-ipv4-acl"]);

    // A mitigation of this client starts: its activate-when-mitigating ACLs are installed.
    assert_eq!(h.server.mitigation_started(h.now, CUID), Ok(1));
    assert_eq!(h.drain(), vec![activated("sample-ipv4-acl")]);
    assert_eq!(h.server.is_acl_active(CUID, "sample-ipv4-acl"), Some(true));
    assert_eq!(
        h.server.mitigation_started(h.now, CUID),
        Ok(0),
        "idempotent"
    );
    assert_eq!(h.drain(), vec![]);

    // An ACL created during the mitigation is installed at once.
    let mut other = fig24();
    other["ietf-dots-data-channel:acls"]["acl"][0]["name"] = json!("during");
    assert_eq!(h.send(CUID, Method::Post, &uri, Some(&other)).status, 201);
    assert_eq!(h.drain(), vec![activated("during")]);

    // Changing an installed ACL asks for a reinstall.
    let mut changed = other.clone();
    changed["ietf-dots-data-channel:acls"]["acl"][0]["aces"]["ace"][0]["actions"]["forwarding"] =
        json!("accept");
    let put = format!("{uri}/acls/acl=during");
    assert_eq!(h.send(CUID, Method::Put, &put, Some(&changed)).status, 204);
    assert_eq!(
        h.drain(),
        vec![DataEvent::AclUpdated {
            cuid: CUID.into(),
            acl: "during".into()
        }]
    );

    // The mitigation ends: both are uninstalled, and stay configured.
    assert_eq!(h.server.mitigation_ended(h.now, CUID), Ok(2));
    assert_eq!(
        h.drain(),
        vec![deactivated("sample-ipv4-acl"), deactivated("during")]
    );
    assert_eq!(h.server.acls(CUID).count(), 2);

    // Another client's mitigation does not touch them (RFC 8783 Section 7.2).
    h.register(CUID2);
    assert_eq!(h.server.mitigation_started(h.now, CUID2), Ok(0));
    assert_eq!(h.drain(), vec![]);
    assert_eq!(
        h.server.mitigation_started(h.now, "unknown"),
        Err(ControlError::UnknownClient {
            cuid: "unknown".into()
        })
    );
}

#[test]
fn activation_types_immediate_and_deactivate() {
    let mut h = H::new();
    h.register(CUID);
    let uri = client_uri(CUID);
    let mut deact = fig24();
    deact["ietf-dots-data-channel:acls"]["acl"][0]["activation-type"] = json!("deactivate");
    assert_eq!(h.send(CUID, Method::Post, &uri, Some(&deact)).status, 201);
    h.server.mitigation_started(h.now, CUID).unwrap();
    assert_eq!(h.drain(), vec![], "deactivated ACLs are never installed");
    // switching it to immediate with a PATCH installs it
    let patch = json!({"ietf-dots-data-channel:acl": [{"name": "sample-ipv4-acl", "activation-type": "immediate"}]});
    assert_eq!(
        h.send(
            CUID,
            Method::Patch,
            &format!("{uri}/acls/acl=sample-ipv4-acl"),
            Some(&patch)
        )
        .status,
        204
    );
    assert_eq!(h.drain(), vec![activated("sample-ipv4-acl")]);
    h.server.mitigation_ended(h.now, CUID).unwrap();
    assert_eq!(h.drain(), vec![], "immediate ACLs stay");
}

#[test]
fn rfc9133_acl_list_changes_activation_types() {
    let mut h = H::new();
    h.register(CUID);
    let uri = client_uri(CUID);
    assert_eq!(h.send(CUID, Method::Post, &uri, Some(&fig24())).status, 201);
    h.server.mitigation_started(h.now, CUID).unwrap();
    h.drain();
    h.advance(minutes(60));
    // unknown ACL: typed error, nothing changes (the signal channel answers 4.04)
    let before = h.server.snapshot(h.now);
    let list = [
        AclControl {
            acl_name: "sample-ipv4-acl",
            activation_type: Some(ActivationType::Deactivate),
        },
        AclControl {
            acl_name: "nope",
            activation_type: Some(ActivationType::Immediate),
        },
    ];
    assert_eq!(
        h.server.set_activation_types(h.now, CUID, &list),
        Err(ControlError::UnknownAcl {
            name: "nope".into()
        })
    );
    assert_eq!(h.server.snapshot(h.now), before);
    assert_eq!(h.drain(), vec![]);
    // deactivate: uninstalled at once, kept after the mitigation, lifetime refreshed
    h.server
        .set_activation_types(h.now, CUID, &list[..1])
        .unwrap();
    assert_eq!(h.drain(), vec![deactivated("sample-ipv4-acl")]);
    let acl = h.get_json(CUID, &format!("{uri}/acls/acl=sample-ipv4-acl"));
    assert_eq!(
        acl["ietf-dots-data-channel:acls"]["acl"][0]["activation-type"],
        json!("deactivate")
    );
    assert_eq!(
        acl["ietf-dots-data-channel:acls"]["acl"][0]["pending-lifetime"],
        json!(10080)
    );
    h.server.mitigation_ended(h.now, CUID).unwrap();
    let imm = [AclControl {
        acl_name: "sample-ipv4-acl",
        activation_type: Some(ActivationType::Immediate),
    }];
    h.server.set_activation_types(h.now, CUID, &imm).unwrap();
    assert_eq!(h.drain(), vec![activated("sample-ipv4-acl")]);
    assert_eq!(
        h.server.set_activation_types(h.now, CUID2, &imm),
        Err(ControlError::UnknownClient { cuid: CUID2.into() })
    );
}

#[test]
fn entries_expire_on_the_callers_clock_unless_refreshed() {
    let mut h = H::new();
    h.register(CUID);
    let uri = client_uri(CUID);
    let t0 = h.now;
    assert_eq!(h.server.poll_timeout(), None);
    assert_eq!(h.send(CUID, Method::Post, &uri, Some(&fig17())).status, 201);
    let mut imm = fig24();
    imm["ietf-dots-data-channel:acls"]["acl"][0]["activation-type"] = json!("immediate");
    assert_eq!(h.send(CUID, Method::Post, &uri, Some(&imm)).status, 201);
    h.drain();
    // RFC 8783 Sections 6.1 and 7.2: at least 10080 minutes.
    assert_eq!(h.server.poll_timeout(), Some(t0 + minutes(10080)));

    h.advance(minutes(5000));
    let got = h.get_json(CUID, &format!("{uri}/aliases/alias=https1"));
    assert_eq!(
        got["ietf-dots-data-channel:aliases"]["alias"][0]["pending-lifetime"],
        json!(5080)
    );
    // refresh the alias (PUT echoing the configuration), not the ACL
    let put = format!("{uri}/aliases/alias=https1");
    assert_eq!(h.send(CUID, Method::Put, &put, Some(&fig17())).status, 204);

    h.advance(minutes(5080) - core::time::Duration::from_millis(1));
    h.server.handle_timeout(h.now);
    assert_eq!(h.drain(), vec![], "not yet");
    h.advance(core::time::Duration::from_millis(1));
    assert_eq!(h.server.poll_timeout(), Some(h.now));
    h.server.handle_timeout(h.now);
    assert_eq!(
        h.drain(),
        vec![DataEvent::AclExpired {
            cuid: CUID.into(),
            acl: "sample-ipv4-acl".into(),
            was_active: true
        }]
    );
    assert!(h.server.acl(CUID, "sample-ipv4-acl").is_none());
    assert!(h.server.alias(CUID, "https1").is_some());
    assert_eq!(h.server.poll_timeout(), Some(t0 + minutes(5000 + 10080)));

    // requests expire entries too (no handle_timeout call needed)
    h.advance(minutes(10080));
    assert_eq!(h.send(CUID, Method::Get, &put, None).status, 404);
    assert_eq!(
        h.drain(),
        vec![DataEvent::AliasExpired {
            cuid: CUID.into(),
            alias: "https1".into()
        }]
    );
    assert_eq!(h.server.stats().expired_aliases, 1);
    assert_eq!(h.server.stats().expired_acls, 1);
    // time going backwards is clamped
    h.server.handle_timeout(t0);
    assert!(
        h.server.is_registered(CUID),
        "clients themselves do not expire"
    );
}

#[test]
fn lifetime_below_a_week_is_raised() {
    let mut config = DataServerConfig::default();
    config.lifetime = minutes(5);
    let server = DataServer::new(config);
    assert_eq!(server.config().lifetime, minutes(10080));
}

#[test]
fn ace_statistics_are_shown_as_non_configuration_data() {
    let mut h = H::new();
    h.register(CUID2);
    let uri = format!("{}/acls/acl=test-acl-ipv6-udp", client_uri(CUID2));
    assert_eq!(h.send(CUID2, Method::Put, &uri, Some(&fig25())).status, 201);
    let stats = Statistics {
        matched_packets: Some(u64::MAX),
        matched_octets: Some(12),
    };
    h.server
        .set_ace_statistics(CUID2, "test-acl-ipv6-udp", "my-test-ace", stats)
        .unwrap();
    let all = h.get_json(CUID2, &uri);
    assert_eq!(
        all["ietf-dots-data-channel:acls"]["acl"][0]["aces"]["ace"][0]["statistics"],
        json!({"matched-packets": "18446744073709551615", "matched-octets": "12"})
    );
    let nonconfig = h.get_json(CUID2, &format!("{uri}?content=nonconfig"));
    assert_eq!(
        nonconfig["ietf-dots-data-channel:acls"]["acl"][0]["aces"]["ace"][0],
        json!({"name": "my-test-ace", "statistics": {"matched-packets": "18446744073709551615", "matched-octets": "12"}})
    );
    let config = h.get_json(CUID2, &format!("{uri}?content=config"));
    assert_eq!(unqualified(config), fig25());
    // a refresh with the same configuration keeps the counters; a GET echo is a valid refresh
    assert_eq!(h.send(CUID2, Method::Put, &uri, Some(&fig25())).status, 204);
    assert_eq!(
        h.server.acl(CUID2, "test-acl-ipv6-udp").unwrap().ace_list()[0].statistics,
        Some(stats)
    );
    assert_eq!(
        h.server
            .set_ace_statistics(CUID2, "test-acl-ipv6-udp", "nope", stats),
        Err(ControlError::UnknownAce {
            name: "nope".into()
        })
    );
    assert_eq!(
        h.server
            .set_ace_statistics(CUID2, "nope", "my-test-ace", stats),
        Err(ControlError::UnknownAcl {
            name: "nope".into()
        })
    );
}

#[test]
fn snapshot_and_restore() {
    let mut h = H::new();
    h.register(CUID);
    let uri = client_uri(CUID);
    assert_eq!(h.send(CUID, Method::Post, &uri, Some(&fig17())).status, 201);
    assert_eq!(h.send(CUID, Method::Post, &uri, Some(&fig24())).status, 201);
    assert_eq!(h.send(CUID, Method::Post, &uri, Some(&fig36())).status, 201);
    h.server.mitigation_started(h.now, CUID).unwrap();
    h.advance(minutes(100));
    let before = h.get_json(CUID, &uri);
    let text = serde_json::to_string(&h.server.snapshot(h.now)).unwrap();

    // a new process with another clock epoch
    let snap = serde_json::from_str(&text).unwrap();
    let mut r = H::new();
    r.now = dots_proto::time::Instant::from_secs(5);
    r.server =
        DataServer::restore(DataServerConfig::default(), Default::default(), r.now, snap).unwrap();
    assert_eq!(r.get_json(CUID, &uri), before);
    let mut events = r.drain();
    events.sort_by_key(|e| format!("{e:?}"));
    assert_eq!(
        events,
        vec![activated("sample-ipv4-acl"), activated("tcp-flags-example")]
    );
    assert_eq!(r.server.poll_timeout(), Some(r.now + minutes(10080 - 100)));

    // damaged snapshots are refused
    let bad: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut v = bad.clone();
    v["version"] = json!(99);
    let snap = serde_json::from_value(v).unwrap();
    assert!(DataServer::restore(DataServerConfig::default(), AllowAll, r.now, snap).is_err());
    let mut v = bad;
    let c = v["clients"][0].clone();
    v["clients"] = json!([c.clone(), c]);
    let snap = serde_json::from_value(v).unwrap();
    assert!(DataServer::restore(DataServerConfig::default(), AllowAll, r.now, snap).is_err());
}

#[test]
fn event_queue_is_bounded() {
    let mut config = DataServerConfig::default();
    config.max_events = 2;
    let mut h = H::with_config(config);
    h.register(CUID);
    for i in 0..5 {
        let mut b = fig36();
        b["ietf-dots-data-channel:acls"]["acl"][0]["name"] = json!(format!("a{i}"));
        assert_eq!(
            h.send(CUID, Method::Post, &client_uri(CUID), Some(&b))
                .status,
            201
        );
    }
    assert_eq!(h.drain(), vec![activated("a3"), activated("a4")]);
    assert_eq!(h.server.stats().events_dropped, 3);
}

#[test]
fn put_of_a_client_replaces_its_entries() {
    let mut h = H::new();
    h.register(CUID);
    let uri = client_uri(CUID);
    assert_eq!(h.send(CUID, Method::Post, &uri, Some(&fig17())).status, 201);
    assert_eq!(h.send(CUID, Method::Post, &uri, Some(&fig36())).status, 201);
    h.drain();
    // RFC 8040 Section 4.5: PUT replaces the target resource.
    assert_eq!(h.send(CUID, Method::Put, &uri, Some(&fig14())).status, 204);
    assert_eq!(
        h.drain(),
        vec![
            DataEvent::AliasDeleted {
                cuid: CUID.into(),
                alias: "https1".into()
            },
            DataEvent::AclDeleted {
                cuid: CUID.into(),
                acl: "tcp-flags-example".into(),
                was_active: true
            },
        ]
    );
    assert_eq!(
        h.server
            .client_counts(CUID)
            .map(|c| (c.aliases, c.acls, c.aces)),
        Some((0, 0, 0))
    );
    // a registration carrying entries installs them
    let body = json!({"ietf-dots-data-channel:dots-client": [{"cuid": CUID,
        "aliases": fig17()["ietf-dots-data-channel:aliases"].clone(),
        "acls": fig36()["ietf-dots-data-channel:acls"].clone()}]});
    assert_eq!(h.send(CUID, Method::Put, &uri, Some(&body)).status, 204);
    assert_eq!(h.drain(), vec![activated("tcp-flags-example")]);
    assert!(h.server.alias(CUID, "https1").is_some());
}
