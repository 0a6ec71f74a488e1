//! The client over a lossy network (30% loss each way, jitter): no acknowledged mitigation is
//! lost, every request is eventually accepted, and status notifications arrive.

mod common;
mod signal_client_support;

use std::collections::BTreeMap;

use common::{Link, Pair};
use dots_codec::model::MitigationStatus as S;
use dots_proto::signal::client::{ClientConfig, MitigationState, Operation};
use dots_proto::signal::server::MitigationStats;
use signal_client_support::*;

fn lossy_run(seed: u64) {
    let mut p = Pair::new(
        ClientNode::new(secs(0), ClientConfig::udp(), seed),
        TestServer::udp(),
        Link::lossy(0.3, seed),
        Link::lossy(0.3, seed ^ 0x5555),
    );
    p.b.hb_every = Some(std::time::Duration::from_secs(30));
    let mut mids = Vec::new();
    let mut notified = 0u64;
    let mut statuses: BTreeMap<u32, S> = BTreeMap::new();
    for round in 0..60u64 {
        let t = secs(10 * round);
        p.run_until(t, |_, _, _, _| {});
        p.a.collect();
        if round < 5 {
            let prefix = format!("2001:db8:{round}::/48");
            mids.push(
                p.a.c
                    .request_mitigation(p.now, &scope(&prefix, 3600))
                    .unwrap(),
            );
        }
        // The mitigator reports new counters (and a status change) for each mitigation every
        // 10 s, one mitigation every 2 s (the endpoint sends one notification at a time per
        // observer, RFC 7641 Section 4.5.2 lets it replace one not yet sent).
        for (k, &mid) in mids.clone().iter().enumerate() {
            p.run_until(
                t + std::time::Duration::from_secs(2 * k as u64),
                |_, _, _, _| {},
            );
            if p.b.core.mitigation(CUID, mid).is_some() {
                let status = if round % 2 == 0 {
                    S::SuccessfullyMitigated
                } else {
                    S::InProgress
                };
                p.b.core
                    .set_mitigation_status(
                        p.now,
                        CUID,
                        mid,
                        Some(status),
                        MitigationStats {
                            bytes_dropped: Some(round * 1000),
                            ..MitigationStats::default()
                        },
                    )
                    .unwrap();
                statuses.insert(mid, status);
                notified += 1;
            }
        }
    }
    p.run_until(secs(620), |_, _, _, _| {});
    p.a.collect();
    assert!(
        p.a.c.is_connected(),
        "seed {seed}: {:?}",
        p.a.log.iter().find(|e| matches!(e.1, CEv::Lost(_)))
    );
    // Every request was accepted, and the server has every one (none lost).
    for &mid in &mids {
        let m = p.a.c.mitigation(mid).unwrap();
        assert_eq!(m.state(), MitigationState::Active, "seed {seed} mid {mid}");
        assert!(
            p.b.core.mitigation(CUID, mid).is_some(),
            "seed {seed} mid {mid}"
        );
    }
    let accepted: Vec<u32> =
        p.a.events()
            .filter_map(|e| match e {
                CEv::Accepted { mid, .. } => Some(*mid),
                _ => None,
            })
            .collect();
    for mid in &accepted {
        assert!(p.b.core.mitigation(CUID, *mid).is_some());
    }
    // Notifications arrive (NON, so some are lost): at least one per mitigation, and most.
    let got = p.a.count(|e| {
        matches!(
            e,
            CEv::Status {
                notification: true,
                ..
            }
        )
    });
    for &mid in &mids {
        assert!(
            p.a.count(|e| matches!(e, CEv::Status { mid: m, notification: true, .. } if *m == mid))
                > 0,
            "seed {seed} mid {mid}"
        );
    }
    assert!(
        got as u64 * 2 >= notified,
        "seed {seed}: {got} of {notified} notifications"
    );
    // Polling (RFC 9132 Section 4.4.2.2) brings every status up to date. A poll is a NON
    // GET: all its transmissions or answers can be lost (about 3.5 % at 30 % loss each way),
    // and then the host polls again.
    for k in 0..3u64 {
        let failed = |a: &ClientNode| {
            a.count(|e| matches!(e, CEv::Failed(Operation::GetMitigations { mid: None })))
        };
        let before = failed(&p.a);
        p.a.c.get_mitigations(p.now, None, false, &[]).unwrap();
        p.run_until(secs(720 + 100 * k), |_, _, _, _| {});
        p.a.collect();
        if failed(&p.a) == before {
            break;
        }
    }
    for (mid, status) in &statuses {
        assert_eq!(
            p.a.c.mitigation(*mid).unwrap().status(),
            Some(*status),
            "seed {seed}"
        );
        assert_eq!(p.b.core.mitigation(CUID, *mid).unwrap().status, *status);
    }
    // Retransmissions happened: the loss was real.
    assert!(p.a.c.endpoint().stats().retransmissions > 0 || p.a.c.stats().mitigation_puts > 5);
}

#[test]
fn thirty_percent_loss_keeps_every_mitigation() {
    for seed in [1, 7, 42, 1234] {
        lossy_run(seed);
    }
}
