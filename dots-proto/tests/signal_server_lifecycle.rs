//! The mitigation lifecycle on a virtual clock: lifetimes, refresh, active-but-terminating
//! periods and their doubling, the deadman (signal loss), preconfigured requests, host status
//! reports, notifications and the idle/mitigating switch.

mod signal_server_support;

use core::time::Duration;

use dots_codec::coap::Code;
use dots_codec::model::{Lifetime, MitigationStatus as S};
use dots_proto::signal::server::{
    ConfigPhase, MitigationStats, ServerConfig, ServerEvent, TerminationReason,
};
use dots_proto::time::Instant;
use signal_server_support::*;

const P: &[&str] = &["2001:db8:6401::1/128"];

fn preconfigured(h: &mut Harness, mid: u32, prefixes: &[&str]) {
    let r = h.put_json(
        CUID,
        mid,
        &scope_json(prefixes, 3600, r#""trigger-mitigation": false"#),
    );
    assert_eq!(r.code(), Code::CREATED);
}

#[test]
fn expiry_exactly_at_lifetime() {
    let mut h = Harness::new();
    let t0 = h.now;
    assert_eq!(h.put(CUID, 1, P, 60).code(), Code::CREATED);
    assert_eq!(h.s.poll_timeout(), Some(t0 + Duration::from_secs(60)));
    h.events();
    h.advance_secs(10);
    let e = h.get(CUID, Some(1)).scopes().scopes[0].clone();
    assert_eq!(
        e.scope.lifetime,
        Some(Lifetime::Seconds(50)),
        "remaining lifetime"
    );
    h.advance_ms(49_999);
    assert_eq!(h.status(CUID, 1), Some(S::InProgress));
    assert!(h.events().is_empty());
    h.advance_ms(1);
    assert_eq!(h.now, t0 + Duration::from_secs(60));
    assert_eq!(h.status(CUID, 1), None);
    assert_eq!(
        h.events(),
        vec![
            ServerEvent::MitigationExpired {
                cuid: CUID.into(),
                mid: 1,
                was_active: true
            },
            ServerEvent::SessionConfigChanged {
                cuid: CUID.into(),
                phase: ConfigPhase::Idle
            },
        ]
    );
    assert_eq!(h.get(CUID, None).code(), Code::NOT_FOUND);
    assert_eq!(h.s.poll_timeout(), None);
    assert_eq!(h.s.stats().expired, 1);
    assert_eq!(h.s.client_count(), 0, "an empty client is dropped");
    h.check();
}

#[test]
fn refresh_resets_the_lifetime() {
    let mut h = Harness::new();
    h.put(CUID, 1, P, 60);
    h.advance_secs(50);
    let r = h.put(CUID, 1, P, 60);
    assert_eq!(r.code(), Code::CHANGED);
    h.advance_secs(59);
    assert_eq!(h.status(CUID, 1), Some(S::InProgress));
    h.advance_secs(1);
    assert_eq!(h.status(CUID, 1), None);
}

#[test]
fn lifetime_policy() {
    let mut config = ServerConfig::default();
    config.max_lifetime = Some(600);
    config.allow_indefinite_lifetime = false;
    let mut h = Harness::with_config(config);
    let r = h.put(CUID, 1, P, 3600);
    assert_eq!(
        r.scopes().scopes[0].scope.lifetime,
        Some(Lifetime::Seconds(600))
    );
    let r = h.put(CUID, 2, &["2001:db8::/64"], -1);
    assert_eq!(
        r.scopes().scopes[0].scope.lifetime,
        Some(Lifetime::Seconds(600))
    );
    // Indefinite allowed (the default): no timer at all.
    let mut h = Harness::new();
    let r = h.put(CUID, 1, P, -1);
    assert_eq!(
        r.scopes().scopes[0].scope.lifetime,
        Some(Lifetime::Indefinite)
    );
    assert_eq!(h.s.poll_timeout(), None);
    h.advance_secs(1_000_000);
    assert_eq!(
        h.get(CUID, Some(1)).scopes().scopes[0].scope.lifetime,
        Some(Lifetime::Indefinite)
    );
}

#[test]
fn withdrawal_is_active_but_terminating_for_120_seconds() {
    let mut h = Harness::new();
    h.put(CUID, 1, P, 3600);
    h.events();
    let t = h.now;
    assert_eq!(h.delete(CUID, 1).code(), Code::DELETED);
    assert_eq!(
        h.events(),
        vec![ServerEvent::MitigationWithdrawn {
            cuid: CUID.into(),
            mid: 1,
            until: t + Duration::from_secs(120)
        }]
    );
    assert_eq!(h.status(CUID, 1), Some(S::ClientWithdrawn));
    let e = h.get(CUID, Some(1)).scopes().scopes[0].clone();
    assert_eq!(e.status, Some(S::ClientWithdrawn));
    assert_eq!(e.scope.lifetime, Some(Lifetime::Seconds(120)));
    assert!(h.s.is_mitigating(CUID), "active but terminating");
    // A second DELETE changes nothing.
    assert_eq!(h.delete(CUID, 1).code(), Code::DELETED);
    assert!(h.events().is_empty());
    h.advance_ms(119_999);
    assert_eq!(h.status(CUID, 1), Some(S::ClientWithdrawn));
    h.advance_ms(1);
    assert_eq!(h.status(CUID, 1), None);
    assert_eq!(
        h.events()[0],
        ServerEvent::MitigationTerminated {
            cuid: CUID.into(),
            mid: 1,
            reason: TerminationReason::WithdrawalElapsed,
            was_active: true
        }
    );
    assert!(!h.s.is_mitigating(CUID));
}

fn withdrawn_until(h: &mut Harness, mid: u32) -> Duration {
    let t = h.now;
    h.events();
    assert_eq!(h.delete(CUID, mid).code(), Code::DELETED);
    let ev = h.events();
    match ev.as_slice() {
        [ServerEvent::MitigationWithdrawn { until, .. }] => until.saturating_duration_since(t),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_terminating_period_outlives_the_lifetime() {
    let mut h = Harness::new();
    h.put(CUID, 1, P, 60);
    h.advance_secs(30);
    assert_eq!(withdrawn_until(&mut h, 1), Duration::from_secs(120));
    h.advance_secs(119);
    assert_eq!(h.status(CUID, 1), Some(S::ClientWithdrawn));
    h.advance_secs(1);
    assert_eq!(h.status(CUID, 1), None);
    assert!(matches!(
        h.events()[0],
        ServerEvent::MitigationTerminated {
            reason: TerminationReason::WithdrawalElapsed,
            ..
        }
    ));
}

#[test]
fn re_requests_double_the_terminating_period_up_to_300_seconds() {
    let mut h = Harness::new();
    h.put(CUID, 1, P, 3600);
    assert_eq!(withdrawn_until(&mut h, 1), Duration::from_secs(120));
    h.advance_secs(30);
    // Re-request (a new mid, same scope) during the period: replaces the withdrawn one.
    assert_eq!(h.put(CUID, 2, P, 3600).code(), Code::CREATED);
    assert_eq!(h.status(CUID, 1), None);
    assert_eq!(withdrawn_until(&mut h, 2), Duration::from_secs(240));
    h.advance_secs(100);
    assert_eq!(h.put(CUID, 3, P, 3600).code(), Code::CREATED);
    assert_eq!(withdrawn_until(&mut h, 3), Duration::from_secs(300));
    // Re-requesting the same mid also counts.
    h.advance_secs(10);
    assert_eq!(h.put(CUID, 3, P, 3600).code(), Code::CREATED);
    assert_eq!(h.status(CUID, 3), Some(S::InProgress));
    assert_eq!(withdrawn_until(&mut h, 3), Duration::from_secs(300));
    // Once the period elapsed, a new request starts from 120 s again.
    h.advance_secs(300);
    assert_eq!(h.status(CUID, 3), None);
    h.put(CUID, 4, P, 3600);
    assert_eq!(withdrawn_until(&mut h, 4), Duration::from_secs(120));
    h.check();
}

#[test]
fn deadman_triggers_preconfigured_requests_and_recovery_does_not_stop_them() {
    let mut h = Harness::new();
    preconfigured(&mut h, 1, &["2001:db8::/48"]);
    assert_eq!(h.status(CUID, 1), Some(S::SignalLoss));
    let e = h.get(CUID, Some(1)).scopes().scopes[0].clone();
    assert_eq!(e.status, Some(S::SignalLoss));
    assert_eq!(e.mitigation_start, None, "not returned for status 8");
    assert!(!h.s.is_mitigating(CUID));
    // An immediate request inside the preconfigured scope.
    assert_eq!(
        h.put(CUID, 2, &["2001:db8::1/128"], 3600).code(),
        Code::CREATED
    );
    // An unrelated immediate request.
    assert_eq!(
        h.put(CUID, 3, &["198.51.100.0/24"], 3600).code(),
        Code::CREATED
    );
    h.events();
    h.s.hooks_mut().log.clear();
    h.advance_secs(5);
    h.s.session_lost(h.now, CUID);
    assert_eq!(h.status(CUID, 1), Some(S::InProgress));
    assert_eq!(
        h.status(CUID, 2),
        Some(S::Withdrawn),
        "the preconfigured one takes precedence"
    );
    assert_eq!(h.status(CUID, 3), Some(S::InProgress));
    let ev = h.events();
    assert!(
        matches!(&ev[0], ServerEvent::TriggeredBySignalLoss { mid: 1, scope, .. } if scope.targets.prefixes.len() == 1)
    );
    assert!(ev.contains(&ServerEvent::MitigationTerminated {
        cuid: CUID.into(),
        mid: 2,
        reason: TerminationReason::PreconfiguredPrecedence,
        was_active: true
    }));
    assert!(ev.contains(&ServerEvent::ClientLost { cuid: CUID.into() }));
    // Session recovery: requests again; nothing stops the triggered mitigation.
    h.advance_secs(60);
    let r = h.send(
        CUID,
        Code::PUT,
        "/.well-known/dots/hb",
        &cbor(FIG27),
        &Opts::default(),
    );
    assert_eq!(r.code(), Code::CHANGED);
    let e = h.get(CUID, Some(1)).scopes().scopes[0].clone();
    assert_eq!(e.status, Some(S::InProgress));
    assert!(h.s.is_mitigating(CUID));
    h.check();
}

#[test]
fn preconfigured_attack_stopped_is_sent_four_times_then_8() {
    let mut h = Harness::new();
    preconfigured(&mut h, 1, &["2001:db8::/48"]);
    h.s.session_lost(h.now, CUID);
    assert_eq!(h.observe(CUID, Some(1)).code(), Code::CONTENT);
    h.events();
    h.s.set_mitigation_status(
        h.now,
        CUID,
        1,
        Some(S::AttackStopped),
        MitigationStats::default(),
    )
    .unwrap();
    let notes = h.notifications();
    let statuses: Vec<_> = notes
        .iter()
        .map(|(_, b)| b.scopes[0].status.unwrap())
        .collect();
    assert_eq!(
        statuses,
        vec![
            S::AttackStopped,
            S::AttackStopped,
            S::AttackStopped,
            S::AttackStopped,
            S::SignalLoss
        ]
    );
    assert_eq!(h.status(CUID, 1), Some(S::SignalLoss));
    assert!(h.events().contains(&ServerEvent::MitigationTerminated {
        cuid: CUID.into(),
        mid: 1,
        reason: TerminationReason::ReturnedToPreconfigured,
        was_active: true
    }));
    assert!(!h.s.is_mitigating(CUID));
    // Without observers there is nobody to transmit to: straight to 8.
    let mut h = Harness::new();
    preconfigured(&mut h, 1, &["2001:db8::/48"]);
    h.s.session_lost(h.now, CUID);
    h.s.set_mitigation_status(
        h.now,
        CUID,
        1,
        Some(S::AttackStopped),
        MitigationStats::default(),
    )
    .unwrap();
    assert_eq!(h.status(CUID, 1), Some(S::SignalLoss));
    h.check();
}

#[test]
fn immediate_request_withdraws_an_active_preconfigured_one_7_then_8() {
    let mut h = Harness::new();
    preconfigured(&mut h, 1, &["2001:db8::/48"]);
    h.s.session_lost(h.now, CUID);
    assert_eq!(h.observe(CUID, None).code(), Code::CONTENT);
    h.events();
    assert_eq!(
        h.put(CUID, 2, &["2001:db8::5/128"], 3600).code(),
        Code::CREATED
    );
    assert_eq!(h.status(CUID, 1), Some(S::Withdrawn));
    assert!(h.events().contains(&ServerEvent::MitigationTerminated {
        cuid: CUID.into(),
        mid: 1,
        reason: TerminationReason::ImmediatePrecedence,
        was_active: true
    }));
    let seven = h
        .notifications()
        .iter()
        .filter(|(n, b)| n.mid == Some(1) && b.scopes[0].status == Some(S::Withdrawn))
        .count();
    assert_eq!(seven, 4);
    assert_eq!(h.status(CUID, 1), Some(S::SignalLoss));
    assert_eq!(h.status(CUID, 2), Some(S::InProgress));
    h.check();
}

#[test]
fn host_reports_drive_notifications_for_both_kinds_of_observers() {
    let mut config = ServerConfig::default();
    config.unix_time_at_epoch = Some(1_600_000_000);
    let mut h = Harness::with_config(config);
    h.put(CUID, 1, P, 3600);
    h.put(CUID, 2, &["2001:db8:6401::2/128"], 3600);
    assert!(h.observe(CUID, Some(1)).observe.is_some());
    assert!(h.observe(CUID, None).observe.is_some());
    assert!(h.notifications().is_empty());
    h.advance_secs(3);
    h.s.set_mitigation_status(
        h.now,
        CUID,
        1,
        Some(S::SuccessfullyMitigated),
        MitigationStats::default(),
    )
    .unwrap();
    let n = h.notifications();
    assert_eq!(n.len(), 1);
    assert!(n[0].0.observers.mitigation && n[0].0.observers.all);
    let e = &n[0].1.scopes[0];
    assert_eq!(e.mid, Some(1));
    assert_eq!(e.status, Some(S::SuccessfullyMitigated));
    assert_eq!(e.mitigation_start, Some(1_600_000_000 + 1_000));
    // Counters only: a notification too; mid 2 is seen by the all-mitigations observer only.
    let stats = MitigationStats {
        bytes_dropped: Some(134_334_555),
        pps_dropped: Some(432_432),
        ..MitigationStats::default()
    };
    h.s.set_mitigation_status(h.now, CUID, 2, None, stats)
        .unwrap();
    let n = h.notifications();
    assert_eq!(n.len(), 1);
    assert!(!n[0].0.observers.mitigation && n[0].0.observers.all);
    assert_eq!(n[0].1.scopes[0].bytes_dropped, Some(134_334_555));
    assert_eq!(n[0].1.scopes[0].pps_dropped, Some(432_432));
    // The same report again changes nothing and notifies nobody.
    h.s.set_mitigation_status(h.now, CUID, 2, None, stats)
        .unwrap();
    assert!(h.notifications().is_empty());
    // Two changes before a poll coalesce into one notification with the latest state.
    h.s.set_mitigation_status(
        h.now,
        CUID,
        1,
        Some(S::ExceededCapability),
        MitigationStats::default(),
    )
    .unwrap();
    h.s.set_mitigation_status(
        h.now,
        CUID,
        1,
        Some(S::AttackStopped),
        MitigationStats::default(),
    )
    .unwrap();
    let n = h.notifications();
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].1.scopes[0].status, Some(S::AttackStopped));
    // Expiry: a last notification with status 6 that ends the mid observation.
    h.advance_secs(3600);
    let n = h.notifications();
    assert_eq!(n.len(), 2);
    let one = n.iter().find(|(x, _)| x.mid == Some(1)).unwrap();
    assert!(one.0.last);
    assert_eq!(one.1.scopes[0].status, Some(S::Terminated));
    h.check();
}

#[test]
fn host_status_rules() {
    let mut h = Harness::new();
    h.put(CUID, 1, P, 3600);
    preconfigured(&mut h, 2, &["192.0.2.0/24"]);
    let st = MitigationStats::default();
    use dots_proto::signal::server::CommandError as E;
    assert_eq!(
        h.s.set_mitigation_status(h.now, CUID, 1, Some(S::ClientWithdrawn), st),
        Err(E::InvalidStatus {
            status: S::ClientWithdrawn
        })
    );
    assert_eq!(
        h.s.set_mitigation_status(h.now, CUID, 1, Some(S::SignalLoss), st),
        Err(E::InvalidStatus {
            status: S::SignalLoss
        })
    );
    assert_eq!(
        h.s.set_mitigation_status(h.now, CUID, 2, Some(S::SuccessfullyMitigated), st),
        Err(E::NotActive { mid: 2 })
    );
    assert_eq!(
        h.s.set_mitigation_status(h.now, CUID, 9, None, st),
        Err(E::UnknownMitigation { mid: 9 })
    );
    assert_eq!(
        h.s.set_mitigation_status(h.now, "nobody", 1, None, st),
        Err(E::UnknownClient)
    );
    // While terminating, the status stays 5 (counters are taken).
    h.delete(CUID, 1);
    h.s.set_mitigation_status(
        h.now,
        CUID,
        1,
        Some(S::SuccessfullyMitigated),
        MitigationStats {
            pkts_dropped: Some(7),
            ..st
        },
    )
    .unwrap();
    let m = h.s.mitigation(CUID, 1).unwrap();
    assert_eq!(m.status, S::ClientWithdrawn);
    assert_eq!(m.stats.pkts_dropped, Some(7));
    // The host withdraws a running mitigation: status 7, inactive.
    h.put(CUID, 3, &["203.0.113.0/24"], 3600);
    h.events();
    h.s.set_mitigation_status(h.now, CUID, 3, Some(S::Withdrawn), st)
        .unwrap();
    assert_eq!(h.status(CUID, 3), Some(S::Withdrawn));
    assert!(h.events().contains(&ServerEvent::MitigationTerminated {
        cuid: CUID.into(),
        mid: 3,
        reason: TerminationReason::ServerWithdrawn,
        was_active: true
    }));
    h.check();
}

#[test]
fn efficacy_update_after_delete_is_ignored() {
    // RFC 9132 Section 4.4.3: the DELETE overtook the efficacy update.
    let mut h = Harness::new();
    h.put_json(CUID, 123, FIG7);
    h.delete(CUID, 123);
    let r = h.send(
        CUID,
        Code::PUT,
        &mitigate_uri(CUID, Some(123)),
        &cbor(FIG16),
        &Opts {
            if_match: true,
            ..Opts::default()
        },
    );
    assert_eq!(r.code, None);
    assert_eq!(h.status(CUID, 123), Some(S::ClientWithdrawn));
}

#[test]
fn efficacy_update_refreshes_the_lifetime() {
    let mut h = Harness::new();
    h.put_json(CUID, 123, FIG7);
    h.advance_secs(3000);
    let r = h.send(
        CUID,
        Code::PUT,
        &mitigate_uri(CUID, Some(123)),
        &cbor(FIG16),
        &Opts {
            if_match: true,
            ..Opts::default()
        },
    );
    assert_eq!(r.code(), Code::CHANGED);
    h.advance_secs(3599);
    assert_eq!(h.status(CUID, 123), Some(S::InProgress));
    assert_eq!(
        h.s.mitigation(CUID, 123).unwrap().attack_status,
        Some(dots_codec::model::AttackStatus::UnderAttack)
    );
    // Efficacy updates must repeat the parameters.
    let changed = FIG16.replace("[6]", "[17]");
    let r = h.send(
        CUID,
        Code::PUT,
        &mitigate_uri(CUID, Some(123)),
        &cbor(&changed),
        &Opts {
            if_match: true,
            ..Opts::default()
        },
    );
    assert_eq!(r.code(), Code::BAD_REQUEST);
    // attack-status is mandatory.
    let r = h.send(
        CUID,
        Code::PUT,
        &mitigate_uri(CUID, Some(123)),
        &cbor(FIG7),
        &Opts {
            if_match: true,
            ..Opts::default()
        },
    );
    assert_eq!(r.code(), Code::BAD_REQUEST);
}

#[test]
fn idle_mitigating_switch_and_acl_hooks() {
    let mut h = Harness::new();
    let peer = dots_proto::data::PeerIdentity::client(CUID);
    assert_eq!(h.s.session_params(&peer).phase, ConfigPhase::Idle);
    h.send(
        CUID,
        Code::PUT,
        "/.well-known/dots/config/sid=1",
        &cbor(FIG23),
        &Opts::default(),
    );
    let p = h.s.session_params(&peer);
    assert_eq!(p.sid, Some(1));
    assert_eq!(
        p.current().heartbeat_interval.unwrap().current_value,
        Some(0),
        "idle-config"
    );
    h.events();
    h.put(CUID, 1, P, 3600);
    h.put(CUID, 2, &["2001:db8::/64"], 3600);
    let ev = h.events();
    let switches: Vec<_> = ev
        .iter()
        .filter_map(|e| match e {
            ServerEvent::SessionConfigChanged { phase, .. } => Some(*phase),
            _ => None,
        })
        .collect();
    assert_eq!(switches, vec![ConfigPhase::Mitigating]);
    let p = h.s.session_params(&peer);
    assert_eq!(p.phase, ConfigPhase::Mitigating);
    assert_eq!(
        p.current().heartbeat_interval.unwrap().current_value,
        Some(30)
    );
    assert_eq!(
        p.current()
            .ack_timeout
            .unwrap()
            .current_value
            .unwrap()
            .hundredths(),
        200
    );
    // A replacement does not flap the ACLs or the phase.
    h.put(CUID, 3, P, 3600);
    assert!(!h
        .events()
        .iter()
        .any(|e| matches!(e, ServerEvent::SessionConfigChanged { .. })));
    h.delete(CUID, 2);
    h.delete(CUID, 3);
    h.advance_secs(120);
    assert_eq!(h.s.session_params(&peer).phase, ConfigPhase::Idle);
    assert_eq!(
        h.s.hooks()
            .log
            .iter()
            .filter(|l| l.starts_with("started") || l.starts_with("ended"))
            .collect::<Vec<_>>(),
        vec![&format!("started {CUID}"), &format!("ended {CUID}")]
    );
    assert!(h.events().contains(&ServerEvent::SessionConfigChanged {
        cuid: CUID.into(),
        phase: ConfigPhase::Idle
    }));
}

#[test]
fn timeouts_are_exact_and_spurious_calls_are_noops() {
    let mut h = Harness::new();
    h.put(CUID, 1, P, 10);
    h.put(CUID, 2, &["2001:db8::/64"], 20);
    let first = h.s.poll_timeout().unwrap();
    h.s.handle_timeout(Instant::from_millis(first.as_millis() - 1));
    assert_eq!(h.s.mitigation_count(), 2);
    h.s.handle_timeout(first);
    assert_eq!(h.s.mitigation_count(), 1);
    // Time going backwards counts as the latest instant.
    h.s.handle_timeout(Instant::ZERO);
    assert_eq!(h.s.mitigation_count(), 1);
    h.now = first;
    h.check();
}
