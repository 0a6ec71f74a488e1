//! Property tests: random sequences of requests, host reports, signal losses and clock steps
//! keep the server's invariants — no two overlapping requests of one trigger type (and no two
//! running overlapping requests) per client, quotas held, index consistent with the table,
//! every status change of an observed mitigation notified — and a snapshot restores the same
//! state.

mod signal_server_support;

use std::collections::BTreeMap;

use dots_codec::coap::Code;
use dots_codec::model::MitigationStatus;
use dots_proto::signal::server::{
    ConflictDecision, MitigationStats, ObserveTarget, ServerConfig, SignalServer,
};
use proptest::prelude::*;
use signal_server_support::*;

const CLIENTS: [&str; 3] = [CUID, CUID2, CUID3];
const PREFIXES: [&str; 8] = [
    "2001:db8::/32",
    "2001:db8::1/128",
    "2001:db8:1::/48",
    "10.0.0.0/8",
    "10.1.0.0/16",
    "10.1.2.3/32",
    "192.0.2.0/24",
    "198.51.100.7/32",
];

#[derive(Debug, Clone)]
enum Op {
    Put {
        client: usize,
        mid: u32,
        prefixes: Vec<usize>,
        lifetime: i64,
        trigger: bool,
    },
    Refresh {
        client: usize,
        mid: u32,
    },
    Efficacy {
        client: usize,
        mid: u32,
    },
    Delete {
        client: usize,
        mid: u32,
    },
    Observe {
        client: usize,
        mid: Option<u32>,
    },
    Cancel {
        client: usize,
        mid: Option<u32>,
    },
    Host {
        client: usize,
        mid: u32,
        status: u8,
        bytes: Option<u64>,
    },
    Lost {
        client: usize,
    },
    Config {
        client: usize,
        sid: u32,
        delete: bool,
    },
    Advance {
        ms: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let client = 0..CLIENTS.len();
    let mid = 0u32..6;
    prop_oneof![
        4 => (client.clone(), mid.clone(), prop::collection::vec(0..PREFIXES.len(), 1..3),
              prop_oneof![Just(-1i64), 1i64..200, Just(3600)], prop::bool::weighted(0.8))
            .prop_map(|(client, mid, prefixes, lifetime, trigger)| Op::Put { client, mid, prefixes, lifetime, trigger }),
        1 => (client.clone(), mid.clone()).prop_map(|(client, mid)| Op::Refresh { client, mid }),
        1 => (client.clone(), mid.clone()).prop_map(|(client, mid)| Op::Efficacy { client, mid }),
        2 => (client.clone(), mid.clone()).prop_map(|(client, mid)| Op::Delete { client, mid }),
        2 => (client.clone(), prop::option::of(mid.clone())).prop_map(|(client, mid)| Op::Observe { client, mid }),
        1 => (client.clone(), prop::option::of(mid.clone())).prop_map(|(client, mid)| Op::Cancel { client, mid }),
        3 => (client.clone(), mid.clone(), 0u8..9, prop::option::of(any::<u64>()))
            .prop_map(|(client, mid, status, bytes)| Op::Host { client, mid, status, bytes }),
        1 => client.clone().prop_map(|client| Op::Lost { client }),
        1 => (client.clone(), 0u32..4, any::<bool>()).prop_map(|(client, sid, delete)| Op::Config { client, sid, delete }),
        3 => (0u64..150_000).prop_map(|ms| Op::Advance { ms }),
    ]
}

/// The observed mitigations of every client and their statuses.
fn observed(h: &Harness) -> BTreeMap<(String, u32), MitigationStatus> {
    let mut m = BTreeMap::new();
    for c in CLIENTS {
        let obs: Vec<_> = h.s.observations(c).collect();
        let all = obs.contains(&ObserveTarget::AllMitigations);
        for mid in h.s.mids(c).collect::<Vec<_>>() {
            if all || obs.contains(&ObserveTarget::Mitigation(mid)) {
                m.insert((c.to_string(), mid), h.status(c, mid).unwrap());
            }
        }
    }
    m
}

fn apply(h: &mut Harness, op: &Op) {
    match op {
        Op::Put {
            client,
            mid,
            prefixes,
            lifetime,
            trigger,
        } => {
            let p: Vec<&str> = prefixes.iter().map(|&i| PREFIXES[i]).collect();
            let extra = if *trigger {
                ""
            } else {
                r#""trigger-mitigation": false"#
            };
            let r = h.put_json(CLIENTS[*client], *mid, &scope_json(&p, *lifetime, extra));
            assert!(r.code.is_some());
        }
        Op::Refresh { client, mid } => {
            let c = CLIENTS[*client];
            if let Some(info) = h.s.mitigation(c, *mid) {
                let mut scope = info.scope.clone();
                scope.lifetime = Some(dots_codec::model::Lifetime::Seconds(100));
                let body = dots_codec::model::MitigationRequest::new(scope);
                let mut buf = vec![0u8; 4096];
                use dots_codec::cbor::CborBody;
                let n = body.encode_cbor(&mut buf).unwrap();
                let r = h.send(
                    c,
                    Code::PUT,
                    &mitigate_uri(c, Some(*mid)),
                    &buf[..n],
                    &Opts::default(),
                );
                if info.status != MitigationStatus::ClientWithdrawn {
                    assert_eq!(r.code(), Code::CHANGED);
                }
            }
        }
        Op::Efficacy { client, mid } => {
            let c = CLIENTS[*client];
            let known = h.s.mitigation(c, *mid);
            let body = match &known {
                Some(info) => {
                    let mut scope = info.scope.clone();
                    scope.attack_status = Some(dots_codec::model::AttackStatus::UnderAttack);
                    let body = dots_codec::model::MitigationRequest::new(scope);
                    let mut buf = vec![0u8; 4096];
                    use dots_codec::cbor::CborBody;
                    let n = body.encode_cbor(&mut buf).unwrap();
                    buf.truncate(n);
                    buf
                }
                None => cbor(FIG16),
            };
            let r = h.send(
                c,
                Code::PUT,
                &mitigate_uri(c, Some(*mid)),
                &body,
                &Opts {
                    if_match: true,
                    ..Opts::default()
                },
            );
            match known {
                None => assert_eq!(r.code, None),
                Some(i) if i.status == MitigationStatus::ClientWithdrawn => {
                    assert_eq!(r.code, None)
                }
                Some(_) => assert_eq!(r.code(), Code::CHANGED),
            }
        }
        Op::Delete { client, mid } => {
            assert_eq!(h.delete(CLIENTS[*client], *mid).code(), Code::DELETED);
        }
        Op::Observe { client, mid } => {
            let r = h.observe(CLIENTS[*client], *mid);
            assert!(r.code.is_some());
        }
        Op::Cancel { client, mid } => {
            let t = mid.map_or(ObserveTarget::AllMitigations, ObserveTarget::Mitigation);
            h.s.cancel_observation(CLIENTS[*client], t);
        }
        Op::Host {
            client,
            mid,
            status,
            bytes,
        } => {
            let st = MitigationStatus::from_value(u64::from(*status));
            let stats = MitigationStats {
                bytes_dropped: *bytes,
                ..MitigationStats::default()
            };
            let _ =
                h.s.set_mitigation_status(h.now, CLIENTS[*client], *mid, st, stats);
        }
        Op::Lost { client } => h.s.session_lost(h.now, CLIENTS[*client]),
        Op::Config {
            client,
            sid,
            delete,
        } => {
            let c = CLIENTS[*client];
            let uri = format!("/.well-known/dots/config/sid={sid}");
            if *delete {
                h.send(c, Code::DELETE, &uri, &[], &Opts::default());
            } else {
                h.send(c, Code::PUT, &uri, &cbor(FIG23), &Opts::default());
            }
        }
        Op::Advance { ms } => h.advance_ms(*ms),
    }
}

fn config(reject: bool) -> ServerConfig {
    let mut c = ServerConfig::default();
    c.quotas.max_mitigations = 5;
    c.quotas.max_observers = 3;
    c.quotas.rate = None;
    if reject {
        c.cross_client_conflict = ConflictDecision::Reject;
    }
    c
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold(ops in prop::collection::vec(op(), 1..60), reject in any::<bool>(), refine in any::<bool>()) {
        let mut c = config(reject);
        c.refine_overlap_by_ports_and_protocols = refine;
        let mut h = Harness::with_config(c);
        for op in &ops {
            let before = observed(&h);
            apply(&mut h, op);
            // Status changes of observed mitigations are notified (removals with a last one).
            let mut after = BTreeMap::new();
            for ((c, mid), st) in &before {
                after.insert((c.clone(), *mid), h.status(c, *mid));
                let _ = st;
            }
            let notes = h.notifications();
            for ((c, mid), st) in &before {
                let now = after[&(c.clone(), *mid)];
                if now != Some(*st) {
                    let still = h.s.observations(c).any(|t| t == ObserveTarget::AllMitigations || t == ObserveTarget::Mitigation(*mid));
                    let dropped = matches!(op, Op::Lost { .. } | Op::Cancel { .. });
                    let required = !dropped && (now.is_none() || still);
                    prop_assert!(
                        !required || notes.iter().any(|(n, _)| &*n.cuid == c && n.mid == Some(*mid)),
                        "no notification for {c}/{mid}: {st:?} -> {now:?} after {op:?}"
                    );
                }
            }
            for (n, body) in &notes {
                if let Some(mid) = n.mid {
                    prop_assert_eq!(body.scopes[0].mid, Some(mid));
                }
            }
            if let Err(e) = h.s.check_invariants() {
                prop_assert!(false, "{} after {:?}", e, op);
            }
        }
        // Snapshot → JSON → restore on another clock: the same state.
        let snap = h.s.snapshot(h.now);
        let json = serde_json::to_string(&snap).unwrap();
        let back: dots_proto::signal::server::ServerSnapshot = serde_json::from_str(&json).unwrap();
        let later = dots_proto::time::Instant::from_secs(1_000_000_000);
        let r = SignalServer::restore(h.s.config().clone(), TestHooks::default(), &back, later).unwrap();
        prop_assert_eq!(r.snapshot(later), snap);
        prop_assert_eq!(r.mitigation_count(), h.s.mitigation_count());
        for c in CLIENTS {
            prop_assert_eq!(r.is_mitigating(c), h.s.is_mitigating(c));
        }
    }
}
