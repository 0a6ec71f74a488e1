//! Random command sequences against the composed server over lossy links: the client never
//! panics, never allocates (every call into it is measured by a counting global allocator),
//! never arms a timer in the past, and keeps its invariants.
//!
//! This binary holds a single test so that the allocator's counters see one thread.

mod common;
mod signal_client_support;

use std::alloc::System;
use std::time::Duration;

use common::{Link, Pair};
use dots_codec::model::{AttackStatus, Lifetime, Telemetry};
use dots_proto::coap::Transport;
use dots_proto::signal::client::{ClientConfig, MitigationState, EVENT_QUEUE_CAPACITY};
use dots_proto::signal::server::ServerConfig;
use proptest::prelude::*;
use signal_client_support::*;
use stats_alloc::{StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn allocations() -> u64 {
    let s = GLOBAL.stats();
    (s.allocations + s.reallocations) as u64
}

#[derive(Clone, Debug)]
enum Cmd {
    Request {
        prefix: u8,
        lifetime: u16,
        trigger: bool,
    },
    Update {
        pick: u8,
        prefix: u8,
    },
    Withdraw(u8),
    Refresh(u8),
    Forget(u8),
    Efficacy(u8),
    Get {
        pick: Option<u8>,
        observe: bool,
    },
    StopObserving(Option<u8>),
    GetConfig(bool),
    Negotiate {
        idle: u16,
        mitigating: u16,
        missing: u16,
    },
    DeleteConfig,
    Attack(bool),
    Advance(u16),
    ServerDown(bool),
    Close,
    ConnectionFailed,
    Reconnect,
    SetCuid,
    PutTelemetry(u8),
    GetTelemetry(bool),
    DeleteTelemetry,
    Junk(Vec<u8>),
}

fn cmd() -> impl Strategy<Value = Cmd> {
    prop_oneof![
        4 => (any::<u8>(), 0u16..700, any::<bool>())
            .prop_map(|(prefix, lifetime, trigger)| Cmd::Request { prefix, lifetime, trigger }),
        1 => (any::<u8>(), any::<u8>()).prop_map(|(pick, prefix)| Cmd::Update { pick, prefix }),
        2 => any::<u8>().prop_map(Cmd::Withdraw),
        1 => any::<u8>().prop_map(Cmd::Refresh),
        1 => any::<u8>().prop_map(Cmd::Forget),
        1 => any::<u8>().prop_map(Cmd::Efficacy),
        1 => (proptest::option::of(any::<u8>()), any::<bool>())
            .prop_map(|(pick, observe)| Cmd::Get { pick, observe }),
        1 => proptest::option::of(any::<u8>()).prop_map(Cmd::StopObserving),
        1 => any::<bool>().prop_map(Cmd::GetConfig),
        1 => (0u16..300, 0u16..300, 0u16..30)
            .prop_map(|(idle, mitigating, missing)| Cmd::Negotiate { idle, mitigating, missing }),
        1 => Just(Cmd::DeleteConfig),
        1 => any::<bool>().prop_map(Cmd::Attack),
        6 => (1u16..400).prop_map(Cmd::Advance),
        1 => any::<bool>().prop_map(Cmd::ServerDown),
        1 => Just(Cmd::Close),
        1 => Just(Cmd::ConnectionFailed),
        1 => Just(Cmd::Reconnect),
        1 => Just(Cmd::SetCuid),
        1 => any::<u8>().prop_map(Cmd::PutTelemetry),
        1 => any::<bool>().prop_map(Cmd::GetTelemetry),
        1 => Just(Cmd::DeleteTelemetry),
        1 => proptest::collection::vec(any::<u8>(), 0..40).prop_map(Cmd::Junk),
    ]
}

fn pick(c: &ClientNode, k: u8) -> u32 {
    let mids: Vec<u32> = c.c.mitigations().map(|m| m.mid()).collect();
    if mids.is_empty() {
        u32::from(k)
    } else {
        mids[usize::from(k) % mids.len()]
    }
}

fn run_case(cmds: Vec<Cmd>, seed: u64, loss: u8, tcp: bool) {
    let transport = if tcp { Transport::Tcp } else { Transport::Udp };
    let mut config = if tcp {
        ClientConfig::tcp()
    } else {
        ClientConfig::udp()
    };
    config.first_mid = if seed.is_multiple_of(3) {
        dots_proto::signal::client::MID_ROLLOVER - 2
    } else {
        1
    };
    let before = allocations();
    let mut node = ClientNode::new(secs(0), config, seed);
    // Creating the client allocates only the test's Box.
    assert!(allocations() - before <= 1);
    node.meter = Some(allocations);
    let link = |s: u64| {
        if tcp {
            Link::perfect()
        } else {
            Link::lossy(f32::from(loss) / 100.0, s)
        }
    };
    let mut p = Pair::new(
        node,
        TestServer::new(ServerConfig::default(), transport),
        link(seed),
        link(seed ^ 0xabcd),
    );
    p.b.hb_every = Some(Duration::from_secs(40));
    let mut last_mid = p.a.c.next_mid();
    for c in cmds {
        let now = p.now;
        match c {
            Cmd::Request {
                prefix,
                lifetime,
                trigger,
            } => {
                let mut s = scope(&format!("2001:db8:{prefix:x}::/48"), u32::from(lifetime));
                s.trigger_mitigation = (!trigger).then_some(false);
                let _ = p.a.cmd(|c| c.request_mitigation(now, &s));
            }
            Cmd::Update { pick: k, prefix } => {
                let mid = pick(&p.a, k);
                let s = scope(&format!("2001:db8:{prefix:x}::/48"), 600);
                let _ = p.a.cmd(|c| c.update_mitigation(now, mid, &s));
            }
            Cmd::Withdraw(k) => {
                let mid = pick(&p.a, k);
                let _ = p.a.cmd(|c| c.withdraw_mitigation(now, mid));
            }
            Cmd::Refresh(k) => {
                let mid = pick(&p.a, k);
                let _ =
                    p.a.cmd(|c| c.refresh_mitigation(now, mid, Some(Lifetime::Seconds(120))));
            }
            Cmd::Forget(k) => {
                let mid = pick(&p.a, k);
                let _ = p.a.cmd(|c| c.forget_mitigation(now, mid));
            }
            Cmd::Efficacy(k) => {
                let mid = pick(&p.a, k);
                let _ =
                    p.a.cmd(|c| c.efficacy_update(now, mid, AttackStatus::UnderAttack, None));
            }
            Cmd::Get { pick: k, observe } => {
                let mid = k.map(|k| pick(&p.a, k));
                let _ = p.a.cmd(|c| c.get_mitigations(now, mid, observe, &["c=n"]));
            }
            Cmd::StopObserving(k) => {
                let mid = k.map(|k| pick(&p.a, k));
                let _ = p.a.cmd(|c| c.stop_observing(now, mid));
            }
            Cmd::GetConfig(observe) => {
                let _ = p.a.cmd(|c| c.get_config(now, observe));
            }
            Cmd::Negotiate {
                idle,
                mitigating,
                missing,
            } => {
                let d = desired(idle, mitigating, missing);
                let _ = p.a.cmd(|c| c.negotiate_config(now, &d));
            }
            Cmd::DeleteConfig => {
                let _ = p.a.cmd(|c| c.delete_config(now));
            }
            Cmd::Attack(on) => p.a.cmd(|c| c.set_attack(now, on)),
            Cmd::Advance(s) => {
                p.run_until(now + Duration::from_secs(u64::from(s)), |_, _, _, _| {});
            }
            Cmd::ServerDown(down) => p.b.down = down,
            Cmd::Close => p.a.cmd(|c| c.close(now)),
            Cmd::ConnectionFailed => p.a.cmd(|c| c.connection_failed(now)),
            Cmd::Reconnect => {
                p.b.new_session();
                p.a.cmd(|c| c.reconnected(now, "dots.example", transport));
            }
            Cmd::SetCuid => {
                let _ = p.a.cmd(|c| c.set_cuid(now, CUID));
            }
            Cmd::PutTelemetry(k) => {
                let mut t = dots_codec::model::telemetry::PreOrOngoingMitigation::default();
                t.target
                    .targets
                    .push_prefix(format!("2001:db8:{k:x}::/48").parse().unwrap())
                    .unwrap();
                let t = Telemetry::new(t);
                let _ = p.a.cmd(|c| c.put_telemetry(now, &t));
            }
            Cmd::GetTelemetry(observe) => {
                let _ =
                    p.a.cmd(|c| c.get_telemetry(now, None, observe, &["target-protocol=17"]));
            }
            Cmd::DeleteTelemetry => {
                let _ = p.a.cmd(|c| c.delete_telemetry(now, None));
            }
            Cmd::Junk(bytes) => {
                if !tcp {
                    p.a.cmd(|c| c.handle_datagram(now, &bytes));
                }
            }
        }
        p.run_until(p.now + Duration::from_millis(500), |_, _, _, _| {});
        p.a.collect();
        // Invariants.
        assert_eq!(p.a.client_allocations, 0, "the client allocated");
        let c = &p.a.c;
        let mids: Vec<u32> = c.mitigations().map(|m| m.mid()).collect();
        let mut sorted = mids.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), mids.len(), "duplicate mids {mids:?}");
        assert!(mids.len() <= 8);
        let rolled = p.a.events().any(|e| matches!(e, CEv::MidRollover(_)));
        if !rolled {
            assert!(c.next_mid() >= last_mid, "mid went back without a rollover");
        }
        last_mid = c.next_mid();
        if let Some(t) = c.poll_timeout() {
            assert!(t >= c.now());
        }
        if c.is_connected() {
            assert!(c.endpoint().slots_in_use() <= 8);
            // Something is always scheduled on a live session (heartbeats, refreshes ...),
            // or nothing at all is pending.
        }
        for m in c.mitigations() {
            if m.state() == MitigationState::Active {
                assert!(m.granted_lifetime().is_some());
            }
        }
        assert!(c.stats().events_dropped == 0 || p.a.log.len() >= EVENT_QUEUE_CAPACITY);
    }
    // Drain: an hour of virtual time with the server up, without panics.
    p.b.down = false;
    let end = p.now + Duration::from_secs(3600);
    p.run_until(end, |_, _, _, _| {});
    p.a.collect();
    assert_eq!(p.a.client_allocations, 0);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn random_command_sequences(
        cmds in proptest::collection::vec(cmd(), 1..40),
        seed in any::<u64>(),
        loss in 0u8..40,
        tcp in proptest::bool::weighted(0.2),
    ) {
        run_case(cmds, seed, loss, tcp);
    }
}
