//! RFC 9244 telemetry during an attack over a lossy path, end to end (a
//! [`SignalClient`](dots_proto::signal::client::SignalClient) and a
//! [`ServerSession`](dots_proto::signal::session::ServerSession) on the virtual clock, links
//! from str0m-netem):
//!
//! - the RFC 9362 parameters negotiated in `/config` (`max-payloads`, `non-max-retransmit`,
//!   `non-timeout`, and `non-receive-timeout` by its default, twice `non-timeout`) are what
//!   both transaction layers run on;
//! - pre-or-ongoing-mitigation telemetry too large for one block reaches the client as Q-Block2
//!   (RFC 9177) at 30 % loss: every body is complete in the end, the sets of a body are
//!   spaced by NON_TIMEOUT_RANDOM (between `non-timeout` and `non-timeout` ×
//!   `ack-random-factor`), and the client asks for missing blocks only after
//!   `non-receive-timeout`;
//! - the Observe notifications of `/tm` are paced by `telemetry-notify-interval` (Section 8):
//!   never two closer than the interval.

mod common;
mod signal_client_support;
mod signal_server_support;
mod telemetry_support;

use std::time::Duration;

use dots_codec::cbor::CborBody;
use dots_codec::coap::{Code, Message, MessageType};
use dots_codec::model::telemetry::{
    AttackSeverity, Gauge, Gauges, PortTraffic, PreOrOngoingMitigation, ProtocolTraffic, SetupData,
    Telemetry, TelemetryAttackDetail, TelemetryConfig, TelemetrySetup, Unit, UnitTraffic,
};
use dots_codec::model::{ConfigParams, Decimal2, DecimalParam, IntParam, SignalConfig};
use dots_proto::signal::client::{ClientConfig, Operation};
use dots_proto::signal::session::SessionConfig;
use dots_proto::time::Instant;
use signal_client_support::{CEv, CUID};
use telemetry_support::*;

const NON_TIMEOUT_MS: u64 = 3000;
const NOTIFY_INTERVAL: u16 = 5;

fn wait_for(p: &mut Net, from: usize, limit: Duration, f: impl Fn(&CEv) -> bool) -> CEv {
    let until = p.now + limit;
    loop {
        p.a.collect();
        if let Some((_, e)) = p.a.log[from..].iter().find(|(_, e)| f(e)) {
            return e.clone();
        }
        assert!(p.step(until), "no such event; log: {:#?}", &p.a.log[from..]);
    }
}

/// The RFC 9362 values asked for (both sets).
fn robust() -> ConfigParams {
    ConfigParams {
        max_payloads: Some(IntParam::current(1)),
        non_max_retransmit: Some(IntParam::current(4)),
        non_timeout: Some(DecimalParam::current(Decimal2::from_hundredths(
            NON_TIMEOUT_MS as i64 / 10,
        ))),
        ..ConfigParams::default()
    }
}

/// The host's telemetry on the attack, `i` its version: large enough for two blocks of 1024
/// bytes, small enough for the client's event storage.
fn attack_telemetry(i: u64) -> PreOrOngoingMitigation {
    let mut e = PreOrOngoingMitigation::default();
    e.target
        .targets
        .push_prefix("2001:db8::1/128".parse().unwrap())
        .unwrap();
    let g = |base: u64| {
        let mut g = Gauges::new();
        for (k, gauge) in [
            Gauge::LowPercentile,
            Gauge::MidPercentile,
            Gauge::HighPercentile,
            Gauge::Peak,
            Gauge::Current,
        ]
        .into_iter()
        .enumerate()
        {
            g = g.with(gauge, 1_000_000_000_000 + base * 1000 + k as u64 + i);
        }
        g
    };
    for (n, unit) in [Unit::MegabitPs, Unit::PacketPs, Unit::KilobytePs]
        .into_iter()
        .enumerate()
    {
        e.total_attack_traffic
            .push(UnitTraffic {
                unit,
                gauges: g(n as u64),
            })
            .unwrap();
        e.total_traffic
            .push(UnitTraffic {
                unit,
                gauges: g(10 + n as u64),
            })
            .unwrap();
    }
    for (n, proto) in [6u8, 17, 1, 50].into_iter().enumerate() {
        e.total_attack_traffic_protocol
            .push(ProtocolTraffic {
                protocol: proto,
                unit: Unit::MegabitPs,
                gauges: g(20 + n as u64),
            })
            .unwrap();
        e.total_attack_traffic_port
            .push(PortTraffic {
                port: 443 + n as u16,
                unit: Unit::MegabitPs,
                gauges: g(30 + n as u64),
            })
            .unwrap();
        e.total_traffic_protocol
            .push(ProtocolTraffic {
                protocol: proto,
                unit: Unit::MegabitPs,
                gauges: g(40 + n as u64),
            })
            .unwrap();
        e.total_traffic_port
            .push(PortTraffic {
                port: 8080 + n as u16,
                unit: Unit::MegabitPs,
                gauges: g(50 + n as u64),
            })
            .unwrap();
    }
    let mut d = TelemetryAttackDetail::new(32473, 77);
    d.start_time = Some(1_618_339_785);
    d.attack_severity = Some(AttackSeverity::High);
    e.attack_detail.push(d).unwrap();
    e
}

/// A message the server sent to the client.
#[derive(Debug, Clone)]
struct Out {
    at: Instant,
    token: Vec<u8>,
    observe: Option<u32>,
    block: Option<(u32, bool)>,
}

fn server_out(p: &Net) -> Vec<Out> {
    p.b.sent
        .iter()
        .filter_map(|(at, b)| {
            let m = Message::parse(b).ok()?;
            if m.code() != Code::CONTENT || m.ty() != MessageType::NonConfirmable {
                return None;
            }
            let o = m.options();
            Some(Out {
                at: *at,
                token: m.token_bytes().to_vec(),
                observe: o.observe().ok().flatten(),
                block: o.q_block2().ok().flatten().map(|b| (b.num(), b.more())),
            })
        })
        .collect()
}

#[test]
fn telemetry_over_q_block2_at_30_percent_loss_with_negotiated_rfc9362_parameters() {
    let mut client = ClientConfig::udp();
    client.q_block = true;
    let mut p = net_with(
        client,
        server_config(),
        SessionConfig::default(),
        common::Link::lossy(0.3, 11),
        common::Link::lossy(0.3, 12),
    );

    // ---- /config: the RFC 9362 values, in force on both sides -------------------------------
    let now = p.now;
    let want = SignalConfig {
        sid: None,
        mitigating_config: Some(robust()),
        idle_config: Some(robust()),
    };
    p.a.cmd(|c| c.negotiate_config(now, &want)).unwrap();
    wait_for(&mut p, 0, Duration::from_secs(120), |e| {
        // 2.01, or 2.04 when the 2.01 was lost and the Confirmable PUT went again.
        matches!(
            e,
            CEv::ConfigApplied(Some(_), Code::CREATED | Code::CHANGED)
        )
    });
    let nt = Duration::from_millis(NON_TIMEOUT_MS);
    let c = p.a.c.parameters().transmission;
    let s = p.b.s.peer_info(&CLIENT_KEY).unwrap().parameters;
    for (side, t) in [("client", c), ("server", s)] {
        assert_eq!(t.max_payloads, 1, "{side}");
        assert_eq!(t.non_max_retransmit, 4, "{side}");
        assert_eq!(t.non_timeout, nt, "{side}");
        assert_eq!(
            t.non_receive_timeout,
            2 * nt,
            "{side}: RFC 9362 Section 3, twice non-timeout by default"
        );
    }
    let arf = s.ack_random_factor;

    // ---- telemetry setup: server-originated telemetry, notifications every 5 s -------------
    let setup = TelemetrySetup::request(SetupData::CurrentConfig(TelemetryConfig {
        server_originated_telemetry: Some(true),
        telemetry_notify_interval: Some(NOTIFY_INTERVAL),
        ..TelemetryConfig::default()
    }));
    let from = p.a.log.len();
    let now = p.now;
    let tsid = p.a.cmd(|c| c.put_telemetry_setup(now, &setup)).unwrap();
    let e = wait_for(&mut p, from, Duration::from_secs(120), |e| {
        matches!(
            e,
            CEv::TelemetrySetup(Operation::PutTelemetrySetup { .. }, ..)
        )
    });
    assert_eq!(
        e,
        CEv::TelemetrySetup(Operation::PutTelemetrySetup { tsid }, Code::CREATED, vec![])
    );

    // ---- the attack: the client asks for the server's telemetry on its target and observes
    let now = p.now;
    p.a.cmd(|c| c.set_attack(now, true));
    let mut ask = PreOrOngoingMitigation::default();
    ask.target
        .targets
        .push_prefix("2001:db8::/32".parse().unwrap())
        .unwrap();
    let from = p.a.log.len();
    p.a.cmd(|c| c.put_telemetry(now, &Telemetry::new(ask.clone())))
        .unwrap();
    // A NON request: the transaction layer repeats it (NON_MAX_RETRANSMIT) until answered.
    let e = wait_for(&mut p, from, Duration::from_secs(60), |e| {
        matches!(e, CEv::Telemetry(Operation::PutTelemetry { .. }, ..))
    });
    let CEv::Telemetry(Operation::PutTelemetry { tmid }, Code::CHANGED, ..) = e else {
        panic!("{e:?}")
    };
    // One observation of the tmid; the transaction layer repeats the NON GET until answered.
    let from = p.a.log.len();
    let now = p.now;
    p.a.cmd(|c| c.get_telemetry(now, Some(tmid), true, &[]))
        .unwrap();
    wait_for(&mut p, from, Duration::from_secs(200), |e| {
        matches!(
            e,
            CEv::Telemetry(Operation::GetTelemetry { .. }, Code::CONTENT, ..)
        )
    });
    assert_eq!(p.b.s.server().observations(CUID).count(), 1);

    // ---- Observe of /tm paced by telemetry-notify-interval --------------------------------
    // The host's telemetry changes every second for 40 s (small entries: one message each).
    let token =
        p.b.sent_messages()
            .iter()
            .rev()
            .find_map(|(_, b)| {
                let m = Message::parse(b).ok()?;
                (m.code() == Code::CONTENT && m.options().observe().ok().flatten().is_some())
                    .then(|| m.token_bytes().to_vec())
            })
            .unwrap();
    let start = p.now;
    for i in 0..40u64 {
        let now = p.now;
        p.b.s
            .server_mut()
            .set_attack_telemetry(now, CUID, tmid, Some(&small_telemetry(i)))
            .unwrap();
        run_until(&mut p, start + Duration::from_secs(i + 1));
    }
    run_for(&mut p, Duration::from_secs(10));
    let notes: Vec<Instant> = server_out(&p)
        .into_iter()
        .filter(|o| o.at >= start && o.token == token && o.observe.is_some())
        .map(|o| o.at)
        .collect();
    // "DOTS agents MUST NOT send pre-or-ongoing-mitigation telemetry notifications to the same
    // peer more frequently than once every 'telemetry-notify-interval'" (Section 8): the
    // first at once, then one per interval while the telemetry keeps changing.
    let interval = Duration::from_secs(u64::from(NOTIFY_INTERVAL));
    assert_eq!(notes.first(), Some(&start), "{notes:?}");
    for w in notes.windows(2) {
        assert!(
            w[1].saturating_duration_since(w[0]) >= interval,
            "{notes:?}"
        );
        assert!(
            w[1].saturating_duration_since(w[0]) < interval + Duration::from_secs(1),
            "{notes:?}"
        );
    }
    assert!(notes.len() >= 8, "{notes:?}");
    // What got through the loss is the telemetry of its instant (the pacing tick and the
    // host's update of that second coincide: the one or the other).
    let got: Vec<(Instant, PreOrOngoingMitigation)> =
        p.a.log
            .iter()
            .filter(|(at, _)| *at >= start)
            .filter_map(|(at, e)| match e {
                CEv::Telemetry(Operation::GetTelemetry { .. }, Code::CONTENT, b, true) => Some((
                    *at,
                    Telemetry::decode_cbor(b).unwrap().pre_or_ongoing_mitigation[0].clone(),
                )),
                _ => None,
            })
            .collect();
    assert!(got.len() >= 3, "{got:?}");
    for (at, e) in &got {
        let i = at.saturating_duration_since(start).as_secs();
        let fits = [i.saturating_sub(1), i].into_iter().any(|i| {
            let mut want = small_telemetry(i);
            want.tmid = Some(tmid);
            *e == want
        });
        assert!(fits, "at {at}: {e:?}");
    }
    let now = p.now;
    p.a.cmd(|c| c.stop_observing_telemetry(now, Some(tmid)))
        .unwrap();
    run_for(&mut p, Duration::from_secs(20));

    // ---- a body too large for one message: Q-Block2 with the negotiated parameters --------
    let big = attack_telemetry(7);
    let now = p.now;
    p.b.s
        .server_mut()
        .set_attack_telemetry(now, CUID, tmid, Some(&big))
        .unwrap();
    let mut want = big.clone();
    want.tmid = Some(tmid);
    let body_len = Telemetry::new(want.clone()).encoded_len();
    assert!(
        (1025..=2048).contains(&body_len),
        "two blocks of 1024: {body_len}"
    );
    let tail = body_len - 1024;
    assert!(tail > 200, "{body_len}");
    let mut done = 0;
    let mut transfers = 0;
    let mut gaps = 0;
    let mut continued = 0;
    let mut rerequests = 0;
    let nrt = 2 * nt;
    let max_gap = Duration::from_millis(NON_TIMEOUT_MS * u64::from(arf.thousandths()) / 1000);
    for _ in 0..6 {
        let t0 = p.now;
        let from = p.a.log.len();
        let now = p.now;
        let before = p.sent.len();
        p.a.cmd(|c| c.get_telemetry(now, Some(tmid), false, &[]))
            .unwrap();
        run_for(&mut p, Duration::from_secs(90));
        transfers += 1;
        // The client's GET and the server's blocks for this token.
        let sent = &p.sent[before..];
        let token = sent
            .iter()
            .filter(|s| s.from == common::Side::A)
            .find_map(|s| {
                let m = Message::parse(&s.bytes).ok()?;
                (m.code() == Code::GET).then(|| m.token_bytes().to_vec())
            })
            .unwrap();
        let blocks: Vec<(Instant, u32)> = server_out(&p)
            .into_iter()
            .filter(|o| o.at >= t0 && o.token == token)
            .filter_map(|o| o.block.map(|b| (o.at, b.0)))
            .collect();
        let asks: Vec<(Instant, Vec<u32>)> = sent
            .iter()
            .filter(|s| s.from == common::Side::A)
            .filter_map(|s| {
                let m = Message::parse(&s.bytes).ok()?;
                (m.code() == Code::GET && m.token_bytes() == token.as_slice()).then(|| {
                    (
                        s.at,
                        m.options()
                            .q_block2_all()
                            .filter_map(Result::ok)
                            .map(|b| b.num())
                            .collect(),
                    )
                })
            })
            .collect();
        // MAX_PAYLOADS 1: block 1 follows block 0 after NON_TIMEOUT_RANDOM, between
        // non-timeout and non-timeout * ack-random-factor (RFC 9177 Section 7.2), unless the
        // client asked for it first (a request for the next block, RFC 9177 Section 4.4).
        if let Some(b0) = blocks.iter().find(|b| b.1 == 0) {
            if let Some(b1) = blocks.iter().find(|b| b.1 == 1 && b.0 > b0.0) {
                let gap = b1.0.saturating_duration_since(b0.0);
                let asked = asks
                    .iter()
                    .any(|(at, nums)| *at > b0.0 && *at < b1.0 && nums.contains(&1));
                if asked {
                    continued += 1;
                } else {
                    assert!(
                        gap >= nt && gap <= max_gap,
                        "{gap:?} {blocks:?} asks {asks:?}"
                    );
                    gaps += 1;
                }
            }
        }
        // The client asks for missing blocks only NON_RECEIVE_TIMEOUT (twice non-timeout,
        // doubling with each request) after the last block it received or its last request
        // (RFC 9177 Section 4.4). Blocks are the only datagrams to the client larger than
        // the last block's payload.
        let receipts: Vec<Instant> = p
            .delivered
            .iter()
            .filter(|(at, side, len)| *at >= t0 && *side == common::Side::A && *len > tail)
            .map(|(at, _, _)| *at)
            .collect();
        let mut last: Option<Instant> = None;
        for (at, _) in &asks {
            let heard = receipts.iter().filter(|r| *r <= at).max().copied();
            if let Some(h) = heard {
                let since = last.map_or(h, |l| l.max(h));
                // Several asks of one request leave together (a few ms apart); the 'Continue'
                // for the next set leaves as soon as a set is complete.
                if at.saturating_duration_since(since) > Duration::from_millis(100) {
                    assert!(
                        at.saturating_duration_since(since) >= nrt,
                        "ask at {at}, last heard {since}: {asks:?} {receipts:?}"
                    );
                    rerequests += 1;
                    last = Some(*at);
                }
            }
        }
        let e = p.a.log[from..].iter().find_map(|(at, e)| match e {
            CEv::Telemetry(Operation::GetTelemetry { .. }, code, b, false) => {
                Some((*at, *code, b.clone()))
            }
            _ => None,
        });
        if let Some((_, code, b)) = e {
            assert_eq!(code, Code::CONTENT);
            let t = Telemetry::decode_cbor(&b).unwrap();
            assert_eq!(t.pre_or_ongoing_mitigation[..], [want.clone()]);
            done += 1;
        }
    }
    assert!(done >= 4, "{done} of {transfers} transfers completed");
    // The seeds give both cases several times.
    assert!(
        gaps + continued >= 4 && gaps >= 2 && rerequests >= 2,
        "{gaps} {continued} {rerequests}"
    );
}

/// Small telemetry (one message): version `i`.
fn small_telemetry(i: u64) -> PreOrOngoingMitigation {
    let mut e = PreOrOngoingMitigation::default();
    e.target
        .targets
        .push_prefix("2001:db8::1/128".parse().unwrap())
        .unwrap();
    e.total_attack_traffic
        .push(UnitTraffic {
            unit: Unit::MegabitPs,
            gauges: Gauges::new().with(Gauge::MidPercentile, 900 + i),
        })
        .unwrap();
    e
}
