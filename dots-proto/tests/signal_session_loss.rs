//! The server session through lossy links (str0m-netem: 30 % loss each way, jitter,
//! duplication, reordering): no mitigation a client saw acknowledged is missing at the server,
//! no session is declared lost while clients keep talking, and status notifications reach
//! every observing client (the periodic status carries them through loss).

mod common;
mod signal_server_support;
mod signal_session_support;

use dots_codec::cbor::CborBody;
use dots_codec::coap::Code;
use dots_codec::model::{MitigationScope, MitigationStatus};
use dots_proto::coap::RequestId;
use dots_proto::signal::server::MitigationStats;
use signal_server_support::{cbor, scope_json};
use signal_session_support::*;

fn cuid(i: usize) -> String {
    format!("lossy-client-{i:04}")
}

fn link(loss: f32, seed: u64) -> Link {
    Link {
        duplicate: 0.05,
        reorder_gap: Some(7),
        ..Link::lossy(loss, seed)
    }
}

fn body(client: usize, mid: u32) -> Vec<u8> {
    cbor(&scope_json(
        &[&format!("2001:db8:{client:x}:{mid:x}::/64")],
        3600,
        r#""target-protocol": [6]"#,
    ))
}

fn uri(client: &str, mid: Option<u32>) -> String {
    match mid {
        Some(m) => format!("/.well-known/dots/mitigate/cuid={client}/mid={m}"),
        None => format!("/.well-known/dots/mitigate/cuid={client}"),
    }
}

/// A lossy network of `clients` clients heartbeating every 30 s.
fn lossy(clients: usize, loss: f32) -> Net {
    let mut n = Net::default_net();
    n.checks = false;
    for i in 0..clients {
        let c = n.add_client(
            &cuid(i),
            link(loss, 2 * i as u64 + 1),
            link(loss, 2 * i as u64 + 2),
        );
        n.client_heartbeats(c, secs(30));
    }
    n
}

/// Requests `mid` from every client, repeating a request that failed (as a DOTS client does),
/// until each is acknowledged or `limit` passes. Returns the requests answered with success.
fn request_all(n: &mut Net, mids: &[u32], limit: dots_proto::time::Instant) {
    let mut pending: Vec<(usize, u32, RequestId)> = Vec::new();
    for c in 0..n.clients.len() {
        for &m in mids {
            let id = n.request(
                c,
                Code::PUT,
                &uri(&cuid(c), Some(m)),
                &body(c, m),
                Opts::non(),
            );
            pending.push((c, m, id));
        }
    }
    while n.now < limit && !pending.is_empty() {
        n.run_for(secs(1));
        n.server.check_invariants().unwrap();
        let mut still = Vec::new();
        for (c, m, id) in pending {
            let cl = &n.clients[c];
            if cl.response(id).is_some_and(|r| r.code.is_success()) {
                continue;
            }
            if cl.failed.iter().any(|f| f.0 == id) {
                let id = n.request(
                    c,
                    Code::PUT,
                    &uri(&cuid(c), Some(m)),
                    &body(c, m),
                    Opts::non(),
                );
                still.push((c, m, id));
            } else {
                still.push((c, m, id));
            }
        }
        pending = still;
    }
    assert!(
        pending.is_empty(),
        "{} requests never acknowledged",
        pending.len()
    );
}

#[test]
fn no_acknowledged_mitigation_is_lost_at_30_percent_loss() {
    let mut n = lossy(20, 0.3);
    let mids = [1, 2, 3, 4, 5];
    let limit = n.now + secs(600);
    request_all(&mut n, &mids, limit);
    n.run_for(secs(120));
    n.server.check_invariants().unwrap();
    let mut acked = 0;
    for c in 0..n.clients.len() {
        for r in &n.clients[c].responses {
            if r.code == Code::CREATED || r.code == Code::CHANGED {
                if let Ok(s) = MitigationScope::decode_cbor(&r.payload) {
                    for e in s.scopes {
                        let mid = e.mid.unwrap();
                        acked += 1;
                        let m = n.server.server().mitigation(&cuid(c), mid);
                        assert!(m.is_some(), "client {c}: acknowledged mid {mid} missing");
                    }
                }
            }
        }
    }
    assert!(acked >= 100, "{acked}");
    assert_eq!(n.server.server().mitigation_count(), 100);
    // Clients kept talking: no session was declared lost, whatever the loss.
    assert!(n.lost_events().is_empty());
    // Loss did happen, and duplicates were dropped.
    let s = n.server.stats();
    assert!(s.datagrams > 0 && s.heartbeats_sent > 0);
    let answered = s.heartbeats_answered as f64 / s.heartbeats_sent as f64;
    assert!(
        answered < 0.7,
        "{answered}: about half the heartbeats and answers are lost"
    );
    // Nothing is held once the exchanges are over.
    n.run_for(secs(300));
    assert_eq!(n.server.endpoints_held(), 0);
}

#[test]
fn notifications_reach_observing_clients_through_loss() {
    let mut n = lossy(10, 0.3);
    let limit = n.now + secs(300);
    request_all(&mut n, &[1], limit);
    // Every client observes its mitigations (repeating the GET until registered).
    let mut regs: Vec<RequestId> = (0..n.clients.len())
        .map(|c| n.request(c, Code::GET, &uri(&cuid(c), None), &[], Opts::observe()))
        .collect();
    for _ in 0..120 {
        n.run_for(secs(1));
        for (c, reg) in regs.iter_mut().enumerate() {
            let done = n.clients[c]
                .response(*reg)
                .is_some_and(|r| r.observe.is_some());
            if !done && n.clients[c].failed.iter().any(|f| f.0 == *reg) {
                *reg = n.request(c, Code::GET, &uri(&cuid(c), None), &[], Opts::observe());
            }
        }
    }
    for (c, reg) in regs.iter().enumerate() {
        assert!(
            n.clients[c]
                .response(*reg)
                .is_some_and(|r| r.observe.is_some()),
            "client {c}"
        );
    }
    // The mitigator reports success for every mitigation.
    let changed_at = n.now;
    for c in 0..n.clients.len() {
        let now = n.now;
        n.server
            .set_mitigation_status(
                now,
                &cuid(c),
                1,
                Some(MitigationStatus::SuccessfullyMitigated),
                MitigationStats::default(),
            )
            .unwrap();
    }
    n.run_for(secs(300));
    for c in 0..n.clients.len() {
        let seen = n.clients[c].notifications.iter().any(|x| {
            x.at >= changed_at
                && MitigationScope::decode_cbor(&x.payload).is_ok_and(|s| {
                    s.scopes[0].status == Some(MitigationStatus::SuccessfullyMitigated)
                })
        });
        assert!(seen, "client {c} never heard of the new status");
    }
    assert!(n.lost_events().is_empty());
    n.server.check_invariants().unwrap();
}
