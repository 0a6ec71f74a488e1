//! One test per command error of the client session, and its behaviour on bad input.

mod common;
mod signal_client_support;

use dots_codec::model::{Lifetime, Scope, SignalConfig, ValidationError};
use dots_proto::signal::client::{
    ClientConfig, CommandError, LostReason, SignalClient, MAX_CUID_LEN,
};
use dots_proto::time::Instant;
use signal_client_support::*;

fn client() -> SignalClient {
    SignalClient::new(secs(0), CUID, "dots.example", ClientConfig::udp(), 3).unwrap()
}

#[test]
fn invalid_cuids_are_refused() {
    for bad in ["", "with\ncontrol", &"x".repeat(MAX_CUID_LEN + 1)] {
        assert_eq!(
            SignalClient::<8>::new(secs(0), bad, "s", ClientConfig::udp(), 1).unwrap_err(),
            CommandError::InvalidCuid
        );
    }
    let mut c = client();
    assert_eq!(c.set_cuid(secs(0), ""), Err(CommandError::InvalidCuid));
}

#[test]
fn invalid_scopes_are_refused_and_change_nothing() {
    let mut c = client();
    // No target (RFC 9132 Section 4.4.1.1: at least one of prefix, fqdn, uri, alias).
    let mut s = Scope::new();
    s.lifetime = Some(Lifetime::Seconds(60));
    assert_eq!(
        c.request_mitigation(secs(0), &s),
        Err(CommandError::Invalid(ValidationError::MissingTarget))
    );
    // Lifetime 0 is invalid.
    let z = scope("2001:db8::/64", 0);
    assert_eq!(
        c.request_mitigation(secs(0), &z),
        Err(CommandError::Invalid(ValidationError::ZeroLifetime))
    );
    // A loopback target.
    assert!(matches!(
        c.request_mitigation(secs(0), &scope("::1/128", 60)),
        Err(CommandError::Invalid(_))
    ));
    assert_eq!(c.mitigations().count(), 0);
    assert_eq!(c.next_mid(), 1);
    // No lifetime: the RECOMMENDED 3600 s is asked for.
    let mut s = scope("2001:db8::/64", 60);
    s.lifetime = None;
    let mid = c.request_mitigation(secs(0), &s).unwrap();
    assert_eq!(
        c.mitigation(mid).unwrap().scope().lifetime,
        Some(Lifetime::Seconds(3600))
    );
}

#[test]
fn unknown_mitigations_and_wrong_states() {
    let mut c = client();
    assert_eq!(
        c.withdraw_mitigation(secs(0), 9),
        Err(CommandError::UnknownMitigation { mid: 9 })
    );
    assert_eq!(
        c.refresh_mitigation(secs(0), 9, None),
        Err(CommandError::UnknownMitigation { mid: 9 })
    );
    assert_eq!(
        c.forget_mitigation(secs(0), 9),
        Err(CommandError::UnknownMitigation { mid: 9 })
    );
    assert_eq!(
        c.update_mitigation(secs(0), 9, &scope("2001:db8::/64", 60)),
        Err(CommandError::UnknownMitigation { mid: 9 })
    );
    let mid = c
        .request_mitigation(secs(0), &scope("2001:db8::/64", 60))
        .unwrap();
    // Not accepted yet: no efficacy update.
    assert_eq!(
        c.efficacy_update(
            secs(0),
            mid,
            dots_codec::model::AttackStatus::UnderAttack,
            None
        ),
        Err(CommandError::WrongState { mid })
    );
    assert!(matches!(
        c.refresh_mitigation(secs(0), mid, Some(Lifetime::Seconds(0))),
        Err(CommandError::Invalid(_))
    ));
    c.withdraw_mitigation(secs(0), mid).unwrap();
    assert_eq!(
        c.refresh_mitigation(secs(0), mid, None),
        Err(CommandError::WrongState { mid })
    );
    // A pending request can be forgotten.
    let m2 = c
        .request_mitigation(secs(0), &scope("2001:db8:1::/64", 60))
        .unwrap();
    c.forget_mitigation(secs(0), m2).unwrap();
    assert!(c.mitigation(m2).is_none());
}

#[test]
fn the_table_is_bounded() {
    let mut c: SignalClient<2> =
        SignalClient::new(secs(0), CUID, "dots.example", ClientConfig::udp(), 3).unwrap();
    c.request_mitigation(secs(0), &scope("2001:db8:1::/64", 60))
        .unwrap();
    c.request_mitigation(secs(0), &scope("2001:db8:2::/64", 60))
        .unwrap();
    assert_eq!(
        c.request_mitigation(secs(0), &scope("2001:db8:3::/64", 60)),
        Err(CommandError::TableFull)
    );
    assert_eq!(c.next_mid(), 3, "no mid is used by a refused request");
}

#[test]
fn identifiers_run_out_only_during_an_attack() {
    let config = ClientConfig::udp().with_identifiers(u32::MAX, 1, 1, 1);
    let mut c = SignalClient::<8>::new(secs(0), CUID, "s", config, 1).unwrap();
    c.set_attack(secs(0), true);
    assert_eq!(
        c.request_mitigation(secs(0), &scope("2001:db8:1::/64", 60))
            .unwrap(),
        u32::MAX
    );
    assert_eq!(
        c.request_mitigation(secs(0), &scope("2001:db8:2::/64", 60)),
        Err(CommandError::IdentifiersExhausted)
    );
}

#[test]
fn commands_while_the_session_is_lost() {
    let mut c = client();
    c.close(secs(1));
    let mut seen = Vec::new();
    while let Some(e) = c.poll_event() {
        seen.push(CEv::of(&e));
    }
    assert!(seen.contains(&CEv::Lost(LostReason::Closed)));
    assert!(!c.is_connected());
    assert_eq!(c.get_config(secs(1), false), Err(CommandError::SessionLost));
    assert_eq!(c.delete_config(secs(1)), Err(CommandError::SessionLost));
    assert_eq!(
        c.get_mitigations(secs(1), None, false, &[]),
        Err(CommandError::SessionLost)
    );
    // Mitigation requests are held for the next session.
    let mid = c
        .request_mitigation(secs(1), &scope("2001:db8::/64", 60))
        .unwrap();
    assert!(c.mitigation(mid).is_some());
    // Nothing is sent, and no timer is armed (no busy loop).
    let mut buf = [0u8; 1500];
    assert!(c.poll_transmit(secs(2), &mut buf).unwrap().is_none());
    assert_eq!(c.poll_timeout(), None);
    // Input is ignored.
    c.handle_datagram(secs(2), &[0x50, 0x01, 0x00, 0x01]);
    assert_eq!(c.endpoint().stats().received, 0);
}

#[test]
fn cuid_cannot_change_under_active_mitigations() {
    let mut p = common::Pair::new(
        ClientNode::new(secs(0), ClientConfig::udp(), 5),
        TestServer::udp(),
        common::Link::perfect(),
        common::Link::perfect(),
    );
    p.a.c
        .request_mitigation(secs(0), &scope("2001:db8::/64", 60))
        .unwrap();
    p.run_until(secs(1), |_, _, _, _| {});
    assert_eq!(
        p.a.c.set_cuid(secs(1), "f30d281ce6b64fc5a0b91e"),
        Err(CommandError::MitigationsActive)
    );
}

#[test]
fn configuration_and_observation_errors() {
    let mut c = client();
    assert!(matches!(
        c.negotiate_config(secs(0), &SignalConfig::default()),
        Err(CommandError::Invalid(_))
    ));
    assert_eq!(c.stop_observing(secs(0), None), Err(CommandError::NotFound));
    assert_eq!(
        c.stop_observing_telemetry(secs(0), Some(3)),
        Err(CommandError::NotFound)
    );
    assert!(matches!(
        c.get_mitigations(secs(0), None, false, &["c=n"; 9]),
        Err(CommandError::TooLarge { .. })
    ));
}

#[test]
fn garbage_from_the_server_changes_nothing() {
    let mut c = client();
    let before = c.mitigations().count();
    for junk in [
        &[][..],
        &[0xff; 40],
        // A NON 2.05 with an unknown token.
        &[0x58, 0x45, 0x12, 0x34, 1, 2, 3, 4, 5, 6, 7, 8, 0xff, 0xa0],
        // A CON PUT /hb with a broken body: answered 4.00, nothing else.
        &[
            0x40, 0x03, 0x00, 0x07, 0xbb, b'.', b'w', b'e', b'l', b'l', b'-', b'k', b'n', b'o',
            b'w', b'n', 0x04, b'd', b'o', b't', b's', 0x02, b'h', b'b', 0xff, 0x01,
        ],
    ] {
        c.handle_datagram(secs(1), junk);
    }
    assert_eq!(c.mitigations().count(), before);
    assert!(c.is_connected());
    let t = c.poll_timeout().unwrap();
    assert!(t >= c.now());
    let _: Instant = t;
}
