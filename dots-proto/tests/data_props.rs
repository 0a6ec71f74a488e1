//! Property tests: random sequences of data-channel operations keep the server's invariants —
//! quotas hold, every error is a RESTCONF errors body that changed nothing, and a filtering
//! engine that follows only the events always agrees with the server on which ACLs are active.

mod data_common;

use std::collections::BTreeSet;

use data_common::*;
use dots_codec::data::{ActivationType, RestconfErrors};
use dots_proto::data::{
    AclControl, DataEvent, DataServer, DataServerConfig, Limits, Method, PeerIdentity, StaticPolicy,
};
use dots_proto::time::Instant;
use proptest::prelude::*;
use serde_json::{json, Value};

const CUIDS: [&str; 2] = [CUID, CUID2];
const NAMES: [&str; 4] = ["a", "b", "c", "d"];
const ACTIVATION: [&str; 3] = ["activate-when-mitigating", "immediate", "deactivate"];

#[derive(Debug, Clone)]
enum Op {
    Register(usize),
    Deregister(usize),
    PutAlias(usize, usize, bool),
    DeleteAlias(usize, usize),
    PostAcl(usize, usize, usize, usize),
    PutAcl(usize, usize, usize, usize),
    DeleteAcl(usize, usize),
    PostAce(usize, usize, usize),
    PatchActivation(usize, usize, usize),
    Mitigation(usize, bool),
    AclList(usize, usize, usize),
    Advance(u64),
}

fn op() -> impl Strategy<Value = Op> {
    let c = 0..CUIDS.len();
    let n = 0..NAMES.len();
    prop_oneof![
        c.clone().prop_map(Op::Register),
        c.clone().prop_map(Op::Deregister),
        (c.clone(), n.clone(), any::<bool>()).prop_map(|(a, b, d)| Op::PutAlias(a, b, d)),
        (c.clone(), n.clone()).prop_map(|(a, b)| Op::DeleteAlias(a, b)),
        (c.clone(), n.clone(), 0..3usize, 1..3usize)
            .prop_map(|(a, b, t, k)| Op::PostAcl(a, b, t, k)),
        (c.clone(), n.clone(), 0..3usize, 1..3usize)
            .prop_map(|(a, b, t, k)| Op::PutAcl(a, b, t, k)),
        (c.clone(), n.clone()).prop_map(|(a, b)| Op::DeleteAcl(a, b)),
        (c.clone(), n.clone(), 0..9usize).prop_map(|(a, b, e)| Op::PostAce(a, b, e)),
        (c.clone(), n.clone(), 0..3usize).prop_map(|(a, b, t)| Op::PatchActivation(a, b, t)),
        (c.clone(), any::<bool>()).prop_map(|(a, on)| Op::Mitigation(a, on)),
        (c.clone(), n, 0..3usize).prop_map(|(a, b, t)| Op::AclList(a, b, t)),
        (0u64..12_000).prop_map(Op::Advance),
    ]
}

fn ace(i: usize, action: &str) -> Value {
    json!({"name": format!("r{i}"),
        "matches": {"ipv4": {"destination-ipv4-network": format!("198.51.100.{i}/32")}},
        "actions": {"forwarding": action}})
}

fn acl(name: &str, activation: usize, aces: usize) -> Value {
    let list: Vec<Value> = (0..aces).map(|i| ace(i, "drop")).collect();
    json!({"name": name, "type": "ipv4-acl-type", "activation-type": ACTIVATION[activation],
        "aces": {"ace": list}})
}

fn alias(name: &str, bad: bool) -> Value {
    let prefix = if bad {
        "127.0.0.1/32"
    } else {
        "203.0.113.0/24"
    };
    json!({"ietf-dots-data-channel:alias": [{"name": name, "target-prefix": [prefix]}]})
}

/// The host's filtering engine, driven by events only.
#[derive(Default)]
struct Engine {
    installed: BTreeSet<(String, String)>,
}

impl Engine {
    fn apply(&mut self, e: DataEvent) {
        match e {
            DataEvent::AclActivated { cuid, acl } => {
                assert!(self.installed.insert((cuid, acl)), "activated twice");
            }
            DataEvent::AclUpdated { cuid, acl } => {
                assert!(
                    self.installed.contains(&(cuid, acl)),
                    "update of an uninstalled ACL"
                );
            }
            DataEvent::AclDeactivated { cuid, acl } => {
                assert!(
                    self.installed.remove(&(cuid, acl)),
                    "deactivated while not installed"
                );
            }
            DataEvent::AclDeleted {
                cuid,
                acl,
                was_active,
            }
            | DataEvent::AclExpired {
                cuid,
                acl,
                was_active,
            } => {
                assert_eq!(self.installed.remove(&(cuid, acl)), was_active);
            }
            _ => {}
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, .. ProptestConfig::default() })]

    #[test]
    fn random_operations_keep_invariants(ops in proptest::collection::vec(op(), 1..60)) {
        let limits = Limits { max_aliases: 2, max_acls: 3, max_aces: 5, ..Limits::default() };
        let mut policy = StaticPolicy { limits, allow_unknown_clients: true, ..StaticPolicy::default() };
        for c in CUIDS {
            policy.prefixes.insert(c.into(), vec!["0.0.0.0/0".parse().unwrap()]);
        }
        let mut h = H::with_policy(DataServerConfig::default(), policy);
        let mut engine = Engine::default();
        for op in ops {
            h.server.handle_timeout(h.now);
            for e in h.drain() {
                engine.apply(e);
            }
            let before = h.server.snapshot(h.now);
            let r = match op {
                Op::Register(c) => Some(h.send(CUIDS[c], Method::Post, DATA,
                    Some(&json!({"ietf-dots-data-channel:dots-client": [{"cuid": CUIDS[c]}]})))),
                Op::Deregister(c) => Some(h.send(CUIDS[c], Method::Delete, &client_uri(CUIDS[c]), None)),
                Op::PutAlias(c, n, bad) => Some(h.send(CUIDS[c], Method::Put,
                    &format!("{}/aliases/alias={}", client_uri(CUIDS[c]), NAMES[n]), Some(&alias(NAMES[n], bad)))),
                Op::DeleteAlias(c, n) => Some(h.send(CUIDS[c], Method::Delete,
                    &format!("{}/aliases/alias={}", client_uri(CUIDS[c]), NAMES[n]), None)),
                Op::PostAcl(c, n, t, k) => Some(h.send(CUIDS[c], Method::Post, &client_uri(CUIDS[c]),
                    Some(&json!({"ietf-dots-data-channel:acls": {"acl": [acl(NAMES[n], t, k)]}})))),
                Op::PutAcl(c, n, t, k) => Some(h.send(CUIDS[c], Method::Put,
                    &format!("{}/acls/acl={}", client_uri(CUIDS[c]), NAMES[n]),
                    Some(&json!({"ietf-dots-data-channel:acl": [acl(NAMES[n], t, k)]})))),
                Op::DeleteAcl(c, n) => Some(h.send(CUIDS[c], Method::Delete,
                    &format!("{}/acls/acl={}", client_uri(CUIDS[c]), NAMES[n]), None)),
                Op::PostAce(c, n, e) => Some(h.send(CUIDS[c], Method::Post,
                    &format!("{}/acls/acl={}/aces", client_uri(CUIDS[c]), NAMES[n]),
                    Some(&json!({"ietf-dots-data-channel:ace": [ace(e, "accept")]})))),
                Op::PatchActivation(c, n, t) => Some(h.send(CUIDS[c], Method::Patch,
                    &format!("{}/acls/acl={}", client_uri(CUIDS[c]), NAMES[n]),
                    Some(&json!({"ietf-dots-data-channel:acl": [{"name": NAMES[n], "activation-type": ACTIVATION[t]}]})))),
                Op::Mitigation(c, on) => {
                    let r = if on { h.server.mitigation_started(h.now, CUIDS[c]) } else { h.server.mitigation_ended(h.now, CUIDS[c]) };
                    prop_assert_eq!(r.is_ok(), h.server.is_registered(CUIDS[c]));
                    None
                }
                Op::AclList(c, n, t) => {
                    let t = [ActivationType::ActivateWhenMitigating, ActivationType::Immediate, ActivationType::Deactivate][t];
                    let list = [AclControl { acl_name: NAMES[n], activation_type: Some(t) }];
                    let r = h.server.set_activation_types(h.now, CUIDS[c], &list);
                    if r.is_err() {
                        prop_assert_eq!(h.server.snapshot(h.now), before.clone());
                    }
                    None
                }
                Op::Advance(m) => {
                    h.advance(minutes(m));
                    h.server.handle_timeout(h.now);
                    None
                }
            };
            if let Some(r) = r {
                if r.status >= 400 {
                    prop_assert!(RestconfErrors::from_json(&r.body).is_ok(), "errors body");
                    prop_assert_eq!(h.server.snapshot(h.now), before, "state changed on error");
                    prop_assert_eq!(h.drain(), vec![], "events on error");
                } else {
                    prop_assert!(r.status == 200 || r.status == 201 || r.status == 204, "status {}", r.status);
                }
            }
            for e in h.drain() {
                engine.apply(e);
            }
            // quotas
            for c in CUIDS {
                if let Some(n) = h.server.client_counts(c) {
                    prop_assert!(n.aliases <= limits.max_aliases);
                    prop_assert!(n.acls <= limits.max_acls);
                    prop_assert!(n.aces <= limits.max_aces);
                }
            }
            // the engine agrees with the server
            let mut active = BTreeSet::new();
            for c in h.server.clients() {
                for a in h.server.acls(c) {
                    if h.server.is_acl_active(c, &a.name) == Some(true) {
                        active.insert((c.to_string(), a.name.clone()));
                    }
                }
            }
            prop_assert_eq!(&engine.installed, &active);
        }
    }

    #[test]
    fn snapshot_round_trips(ops in proptest::collection::vec(op(), 1..30)) {
        let mut h = H::new();
        for c in CUIDS { h.register(c); }
        for op in ops {
            match op {
                Op::PutAcl(c, n, t, k) => {
                    h.send(CUIDS[c], Method::Put, &format!("{}/acls/acl={}", client_uri(CUIDS[c]), NAMES[n]),
                        Some(&json!({"ietf-dots-data-channel:acl": [acl(NAMES[n], t, k)]})));
                }
                Op::PutAlias(c, n, bad) => {
                    h.send(CUIDS[c], Method::Put, &format!("{}/aliases/alias={}", client_uri(CUIDS[c]), NAMES[n]),
                        Some(&alias(NAMES[n], bad)));
                }
                Op::Mitigation(c, on) => {
                    let _ = if on { h.server.mitigation_started(h.now, CUIDS[c]) } else { h.server.mitigation_ended(h.now, CUIDS[c]) };
                }
                Op::Advance(m) => h.advance(minutes(m)),
                _ => {}
            }
        }
        let snap = h.server.snapshot(h.now);
        let text = serde_json::to_vec(&snap).unwrap();
        let restored = DataServer::restore(DataServerConfig::default(), dots_proto::data::AllowAll,
            Instant::from_secs(7), serde_json::from_slice(&text).unwrap()).unwrap();
        prop_assert_eq!(restored.snapshot(Instant::from_secs(7)), snap);
        for c in CUIDS {
            let peer = PeerIdentity::client(c);
            let uri = client_uri(c);
            let req = dots_proto::data::Request::new(Method::Get, &uri);
            let mut r2 = H { server: restored.clone(), now: Instant::from_secs(7) };
            let a = h.server.handle_request(h.now, &peer, &req);
            let b = r2.server.handle_request(r2.now, &peer, &req);
            prop_assert_eq!(a, b);
        }
    }
}
