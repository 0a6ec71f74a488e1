//! The client's memory: its size with the default and with small capacities, and not one
//! allocation in a complete session (mitigations, notifications, configuration, heartbeats,
//! telemetry, a reconnection), measured by a counting global allocator around every call.
//!
//! One test per binary would keep other threads out of the counters; the size test does not
//! allocate inside measured regions either.

mod common;
mod signal_client_support;

use std::alloc::System;
use std::time::Duration;

use common::{Link, Pair};
use dots_codec::model::{AttackStatus, MitigationStatus as S};
use dots_proto::coap::{ClientEndpoint, Transport};
use dots_proto::signal::client::{ClientConfig, DefaultSignalClient, SignalClient};
use dots_proto::signal::server::MitigationStats;
use signal_client_support::*;
use stats_alloc::{StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn allocations() -> u64 {
    let s = GLOBAL.stats();
    (s.allocations + s.reallocations) as u64
}

#[test]
fn size_and_no_allocation() {
    let default = core::mem::size_of::<DefaultSignalClient>();
    let small = core::mem::size_of::<SignalClient<4, 4, 2, 576, 2048, 1024>>();
    let endpoint = core::mem::size_of::<ClientEndpoint>();
    println!("SignalClient (defaults): {default} bytes; endpoint {endpoint} bytes; SignalClient<4, 4, 2, 576, 2048, 1024>: {small} bytes");
    // The figures the documentation and README state.
    assert!(default <= 62 * 1024, "{default}");
    assert!(default >= endpoint + 8192 + 8 * 900);
    assert!(small <= 25 * 1024, "{small}");

    // A whole session, every client call measured.
    let mut node = ClientNode::new(secs(0), ClientConfig::udp(), 11);
    node.meter = Some(allocations);
    let mut p = Pair::new(
        node,
        TestServer::udp(),
        Link::lossy(0.1, 3),
        Link::lossy(0.1, 4),
    );
    p.b.hb_every = Some(Duration::from_secs(30));
    p.run_until(secs(1), |_, _, _, _| {});
    let now = p.now;
    p.a.cmd(|c| c.negotiate_config(now, &desired(60, 30, 5)))
        .unwrap();
    let mid =
        p.a.cmd(|c| c.request_mitigation(now, &fig7_scope()))
            .unwrap();
    p.run_until(secs(10), |_, _, _, _| {});
    for round in 0..10u64 {
        p.b.core
            .set_mitigation_status(
                p.now,
                CUID,
                mid,
                Some(if round % 2 == 0 {
                    S::SuccessfullyMitigated
                } else {
                    S::InProgress
                }),
                MitigationStats {
                    bytes_dropped: Some(round),
                    ..MitigationStats::default()
                },
            )
            .ok();
        let t = p.now + Duration::from_secs(20);
        p.run_until(t, |_, _, _, _| {});
    }
    let now = p.now;
    let _ =
        p.a.cmd(|c| c.efficacy_update(now, mid, AttackStatus::UnderAttack, None));
    let _ = p.a.cmd(|c| c.get_mitigations(now, Some(mid), true, &[]));
    p.run_until(p.now + Duration::from_secs(10), |_, _, _, _| {});
    // Loss and reconnection.
    p.b.down = true;
    p.run_until(p.now + Duration::from_secs(300), |_, _, _, _| {});
    p.b.down = false;
    p.b.new_session();
    let now = p.now;
    p.a.cmd(|c| c.reconnected(now, "dots.example", Transport::Udp));
    p.run_until(p.now + Duration::from_secs(30), |_, _, _, _| {});
    let now = p.now;
    p.a.cmd(|c| c.withdraw_mitigation(now, mid)).unwrap();
    p.run_until(p.now + Duration::from_secs(400), |_, _, _, _| {});
    p.a.collect();
    assert!(p.a.events().any(|e| *e == CEv::Withdrawn(mid)));
    assert!(p.a.count(|e| matches!(e, CEv::Status { .. })) > 3);
    assert_eq!(p.a.client_allocations, 0, "the client allocated");
}
