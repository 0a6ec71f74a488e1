//! CoAP over UDP: requests and responses, retransmission, deduplication, Resets, NSTART,
//! PROBING_RATE and Hop-Limit, on the virtual-clock harness.

mod common;

use std::time::Duration;

use common::{Ev, Link, Pair, Side};
use dots_codec::coap::{
    Code, HopLimit, Message, MessageRepr, MessageType, OptionList, OptionNumber, Token,
};
use dots_proto::coap::{
    CommandError, Config, Endpoint, FailReason, RandomFactor, Request, Response,
    TransmissionParameters,
};
use dots_proto::time::Instant;

type Ep = Endpoint<8, 8, 4, 1152, 32768, 4096>;

fn t(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

fn path(p: &str) -> OptionList<64> {
    let mut o = OptionList::new();
    o.set_uri_path(p).unwrap();
    o
}

/// A server callback answering every request with 2.04 at once.
fn answer_all(side: Side, eps: &mut dyn common::AnyNode<Ep, Ep>, now: Instant, ev: &Ev) {
    if let (Side::B, Ev::Request { id, .. }) = (side, ev) {
        eps.b()
            .respond(now, *id, Response::new(Code::CHANGED))
            .unwrap();
    }
}

fn parse(bytes: &[u8]) -> Message<'_> {
    Message::parse(bytes).unwrap()
}

#[test]
fn con_request_gets_piggybacked_response() {
    let mut pair = Pair::new(
        Ep::new(Config::udp(), 1),
        Ep::new(Config::udp(), 2),
        Link::perfect(),
        Link::perfect(),
    );
    let opts = path("/.well-known/dots/config");
    let id = pair
        .a
        .request(t(0), Request::con(Code::GET).options(opts.as_options()))
        .unwrap();
    let seen = pair.run_until(t(60_000), answer_all);
    let responses: Vec<_> = seen
        .iter()
        .filter_map(|(s, at, e)| match e {
            Ev::Response { request, code, .. } if *s == Side::A => Some((*at, *request, *code)),
            _ => None,
        })
        .collect();
    assert_eq!(responses, vec![(t(20), id, Code::CHANGED)]);
    // One CON out, one ACK back carrying the response with the request's message ID.
    let a: Vec<_> = pair.sent_by(Side::A).collect();
    let b: Vec<_> = pair.sent_by(Side::B).collect();
    assert_eq!((a.len(), b.len()), (1, 1));
    let (req, resp) = (parse(&a[0].bytes), parse(&b[0].bytes));
    assert_eq!(resp.ty(), MessageType::Acknowledgement);
    assert_eq!(resp.message_id(), req.message_id());
    assert_eq!(resp.token(), req.token());
    assert_eq!(req.token().len(), 8);
    assert_eq!(pair.a.stats().retransmissions, 0);
}

#[test]
fn retransmission_schedule_follows_the_parameters() {
    // With ACK_RANDOM_FACTOR 1 the schedule is exact: ack-timeout 3 s, max-retransmit 3 →
    // transmissions at 0, 3, 9, 21 s, failure at 45 s (RFC 7252 §4.2).
    let params = TransmissionParameters {
        ack_timeout: Duration::from_secs(3),
        ack_random_factor: RandomFactor::ONE,
        max_retransmit: 3,
        ..TransmissionParameters::DOTS
    };
    let dead = Link {
        loss: 1.0,
        ..Link::perfect()
    };
    let mut pair = Pair::new(
        Ep::new(Config::udp().with_params(params), 7),
        Ep::new(Config::udp(), 8),
        dead,
        dead,
    );
    let id = pair.a.request(t(0), Request::con(Code::PUT)).unwrap();
    let seen = pair.run_until(t(1_000_000), answer_all);
    let times: Vec<u64> = pair.sent_by(Side::A).map(|s| s.at.as_millis()).collect();
    assert_eq!(times, [0, 3_000, 9_000, 21_000]);
    let mids: Vec<u16> = pair
        .sent_by(Side::A)
        .map(|s| parse(&s.bytes).message_id())
        .collect();
    assert!(
        mids.windows(2).all(|w| w[0] == w[1]),
        "a CON is retransmitted with its message ID"
    );
    let failed: Vec<_> = seen
        .iter()
        .filter(|(_, _, e)| matches!(e, Ev::Failed { .. }))
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].1, t(45_000));
    assert_eq!(
        failed[0].2,
        Ev::Failed {
            request: id,
            reason: FailReason::TimedOut
        }
    );
    assert_eq!(pair.a.stats().retransmissions, 3);
    assert!(pair.a.peer_unresponsive());
}

#[test]
fn retransmission_schedule_with_random_factor_and_renegotiation() {
    // DOTS defaults: the first timeout is random in [2, 3] s, then doubles.
    for seed in 0..20 {
        let dead = Link {
            loss: 1.0,
            ..Link::perfect()
        };
        let mut pair = Pair::new(
            Ep::new(Config::udp(), seed),
            Ep::new(Config::udp(), 99),
            dead,
            dead,
        );
        pair.a.request(t(0), Request::con(Code::PUT)).unwrap();
        let seen = pair.run_until(t(1_000_000), answer_all);
        let times: Vec<u64> = pair.sent_by(Side::A).map(|s| s.at.as_millis()).collect();
        assert_eq!(times.len(), 4);
        let t0 = times[1];
        assert!(
            (2_000..=3_000).contains(&t0),
            "seed {seed}: initial timeout {t0}"
        );
        assert_eq!(times[2] - times[1], 2 * t0);
        assert_eq!(times[3] - times[2], 4 * t0);
        let fail_at = seen
            .iter()
            .find(|(_, _, e)| matches!(e, Ev::Failed { .. }))
            .unwrap()
            .1;
        assert_eq!(fail_at.as_millis() - times[3], 8 * t0);
        // Never more than MAX_TRANSMIT_WAIT (45 s with max-retransmit 3).
        assert!(fail_at.as_millis() <= 45_000);
    }
    // The same seed always draws the same schedule.
    let run = |seed| {
        let dead = Link {
            loss: 1.0,
            ..Link::perfect()
        };
        let mut pair = Pair::new(
            Ep::new(Config::udp(), seed),
            Ep::new(Config::udp(), 99),
            dead,
            dead,
        );
        pair.a.request(t(0), Request::con(Code::PUT)).unwrap();
        pair.run_until(t(1_000_000), answer_all);
        pair.sent_by(Side::A).map(|s| s.at).collect::<Vec<_>>()
    };
    assert_eq!(run(5), run(5));

    // The session switches to a mitigating set: max-retransmit 1, ack-timeout 1 s.
    let dead = Link {
        loss: 1.0,
        ..Link::perfect()
    };
    let mut pair = Pair::new(
        Ep::new(Config::udp(), 3),
        Ep::new(Config::udp(), 4),
        dead,
        dead,
    );
    pair.a
        .set_parameters(TransmissionParameters {
            ack_timeout: Duration::from_secs(1),
            ack_random_factor: RandomFactor::ONE,
            max_retransmit: 1,
            ..TransmissionParameters::DOTS
        })
        .unwrap();
    pair.a.request(t(0), Request::con(Code::PUT)).unwrap();
    let seen = pair.run_until(t(1_000_000), answer_all);
    let times: Vec<u64> = pair.sent_by(Side::A).map(|s| s.at.as_millis()).collect();
    assert_eq!(times, [0, 1_000]);
    assert_eq!(
        seen.iter()
            .find(|(_, _, e)| matches!(e, Ev::Failed { .. }))
            .unwrap()
            .1,
        t(3_000)
    );
    let bad = TransmissionParameters {
        ack_timeout: Duration::ZERO,
        ..TransmissionParameters::DOTS
    };
    assert!(matches!(
        pair.a.set_parameters(bad),
        Err(CommandError::Parameters(_))
    ));
    assert_eq!(
        pair.a.parameters().max_retransmit,
        1,
        "a rejected set leaves the old one"
    );
}

#[test]
fn non_request_repeats_with_fresh_message_ids_then_fails() {
    let params = TransmissionParameters {
        non_timeout: Duration::from_secs(2),
        ack_random_factor: RandomFactor::ONE,
        probing_rate: 1_000_000,
        ..TransmissionParameters::DOTS
    };
    let dead = Link {
        loss: 1.0,
        ..Link::perfect()
    };
    let mut pair = Pair::new(
        Ep::new(Config::udp().with_params(params), 11),
        Ep::new(Config::udp(), 12),
        dead,
        dead,
    );
    let id = pair
        .a
        .request(t(0), Request::non(Code::PUT).non_retransmit(2))
        .unwrap();
    let seen = pair.run_until(t(1_000_000), answer_all);
    let sent: Vec<_> = pair.sent_by(Side::A).collect();
    let times: Vec<u64> = sent.iter().map(|s| s.at.as_millis()).collect();
    assert_eq!(times, [0, 2_000, 6_000]);
    let msgs: Vec<_> = sent.iter().map(|s| parse(&s.bytes)).collect();
    assert!(msgs.iter().all(|m| m.ty() == MessageType::NonConfirmable));
    assert!(msgs.windows(2).all(|w| w[0].token() == w[1].token()));
    assert!(msgs
        .windows(2)
        .all(|w| w[0].message_id() != w[1].message_id()));
    let failed = seen
        .iter()
        .find(|(_, _, e)| matches!(e, Ev::Failed { .. }))
        .unwrap();
    assert_eq!(failed.1, t(14_000));
    assert_eq!(
        failed.2,
        Ev::Failed {
            request: id,
            reason: FailReason::TimedOut
        }
    );

    // A heartbeat: one NON, its own timeout.
    let mut pair = Pair::new(
        Ep::new(Config::udp(), 13),
        Ep::new(Config::udp(), 14),
        dead,
        dead,
    );
    let hb = pair
        .a
        .request(
            t(0),
            Request::non(Code::PUT)
                .non_retransmit(0)
                .response_timeout(Duration::from_secs(5)),
        )
        .unwrap();
    let seen = pair.run_until(t(1_000_000), answer_all);
    assert_eq!(pair.sent_by(Side::A).count(), 1);
    let failed = seen
        .iter()
        .find(|(_, _, e)| matches!(e, Ev::Failed { .. }))
        .unwrap();
    assert!(failed.1 <= t(5_000));
    assert_eq!(
        failed.2,
        Ev::Failed {
            request: hb,
            reason: FailReason::TimedOut
        }
    );
}

#[test]
fn non_request_gets_non_response_and_fire_and_forget_is_forgotten() {
    let mut pair = Pair::new(
        Ep::new(Config::udp(), 1),
        Ep::new(Config::udp(), 2),
        Link::perfect(),
        Link::perfect(),
    );
    let id = pair.a.request(t(0), Request::non(Code::PUT)).unwrap();
    let other = pair
        .a
        .request(t(0), Request::non(Code::POST).no_response())
        .unwrap();
    let seen = pair.run_until(t(60_000), answer_all);
    assert!(seen
        .iter()
        .any(|(s, _, e)| *s == Side::A
            && matches!(e, Ev::Response { request, .. } if *request == id)));
    assert!(!seen.iter().any(|(_, _, e)| matches!(e, Ev::Response { request, .. } | Ev::Failed { request, .. } if *request == other)));
    for s in pair.sent_by(Side::B) {
        assert_eq!(parse(&s.bytes).ty(), MessageType::NonConfirmable);
    }
    assert_eq!(pair.a.slots_in_use(), 0);
    assert_eq!(pair.a.poll_timeout(), None);
}

#[test]
fn late_answer_goes_as_separate_response_after_an_empty_ack() {
    let mut pair = Pair::new(
        Ep::new(Config::udp(), 1),
        Ep::new(Config::udp(), 2),
        Link::perfect(),
        Link::perfect(),
    );
    let id = pair.a.request(t(0), Request::con(Code::PUT)).unwrap();
    let mut pending = None;
    pair.run_until(t(1_000), |side, _, _, ev| {
        if let (Side::B, Ev::Request { id, .. }) = (side, ev) {
            pending = Some(*id);
        }
    });
    let inbound = pending.expect("request delivered");
    // The endpoint acknowledged by itself after ack_delay (500 ms).
    let b: Vec<_> = pair.sent_by(Side::B).cloned().collect();
    assert_eq!(b.len(), 1);
    let ack = parse(&b[0].bytes);
    assert!(ack.is_empty() && ack.ty() == MessageType::Acknowledgement);
    assert_eq!(b[0].at, t(510));
    assert_eq!(
        pair.a.outstanding(),
        0,
        "an acknowledged CON is no longer outstanding"
    );
    // The answer, 4 s later, goes as a CON with a new message ID; the client ACKs it.
    pair.now = t(4_000);
    pair.b
        .respond(
            t(4_000),
            inbound,
            Response::new(Code::CREATED).payload(b"ok"),
        )
        .unwrap();
    let seen = pair.run_until(t(60_000), |_, _, _, _| {});
    assert!(seen.iter().any(|(s, at, e)| *s == Side::A
        && *at == t(4_010)
        && matches!(e, Ev::Response { request, code: Code::CREATED, .. } if *request == id)));
    let b: Vec<_> = pair.sent_by(Side::B).collect();
    let sep = parse(&b[1].bytes);
    assert_eq!(sep.ty(), MessageType::Confirmable);
    assert_ne!(sep.message_id(), ack.message_id());
    let a: Vec<_> = pair.sent_by(Side::A).collect();
    let client_ack = parse(&a.last().unwrap().bytes);
    assert!(client_ack.is_empty() && client_ack.ty() == MessageType::Acknowledgement);
    assert_eq!(client_ack.message_id(), sep.message_id());
    assert_eq!(
        pair.b.stats().retransmissions,
        0,
        "the ACK stopped the retransmissions"
    );
    assert_eq!(
        pair.b
            .respond(t(60_000), inbound, Response::new(Code::CREATED)),
        Err(CommandError::UnknownId)
    );
}

#[test]
fn defer_acknowledges_at_once() {
    let mut client = Ep::new(Config::udp(), 1);
    let mut server = Ep::new(Config::udp(), 2);
    let mut buf = [0u8; 1500];
    client.request(t(0), Request::con(Code::GET)).unwrap();
    let n = client.poll_transmit(t(0), &mut buf).unwrap().unwrap().len;
    server.handle_datagram(t(0), &buf[..n]);
    let id = match server.poll_event() {
        Some(dots_proto::coap::Event::Request { id, .. }) => id,
        other => panic!("{other:?}"),
    };
    server.defer(t(1), id).unwrap();
    let n = server.poll_transmit(t(1), &mut buf).unwrap().unwrap().len;
    assert!(parse(&buf[..n]).is_empty());
    assert_eq!(server.defer(t(2), id), Err(CommandError::UnknownId));
}

#[test]
fn duplicate_con_is_answered_from_the_cache() {
    let mut client = Ep::new(Config::udp(), 1);
    let mut server = Ep::new(Config::udp(), 2);
    let mut buf = [0u8; 1500];
    client
        .request(t(0), Request::con(Code::PUT).payload(b"body"))
        .unwrap();
    let n = client.poll_transmit(t(0), &mut buf).unwrap().unwrap().len;
    let request = buf[..n].to_vec();
    server.handle_datagram(t(0), &request);
    let id = match server.poll_event() {
        Some(dots_proto::coap::Event::Request { id, .. }) => id,
        other => panic!("{other:?}"),
    };
    server
        .respond(t(0), id, Response::new(Code::CHANGED).payload(b"first"))
        .unwrap();
    let n = server.poll_transmit(t(0), &mut buf).unwrap().unwrap().len;
    let first = buf[..n].to_vec();
    // The ACK was lost; the client retransmits; the server must not process it again.
    server.handle_datagram(t(2_500), &request);
    assert!(
        server.poll_event().is_none(),
        "a duplicate is not delivered again"
    );
    let n = server
        .poll_transmit(t(2_500), &mut buf)
        .unwrap()
        .unwrap()
        .len;
    assert_eq!(&buf[..n], &first[..], "the cached response, byte for byte");
    assert_eq!(server.stats().duplicates, 1);
    assert_eq!(server.stats().cached_responses, 1);
    // After EXCHANGE_LIFETIME (223 s with the DOTS parameters) the message ID is forgotten.
    server.handle_timeout(t(222_000));
    assert_eq!(server.records_in_use(), 1);
    server.handle_timeout(t(223_000));
    assert_eq!(server.records_in_use(), 0);
    // A NON duplicate is ignored silently.
    let mut c2 = Ep::new(Config::udp(), 3);
    c2.request(t(0), Request::non(Code::PUT)).unwrap();
    let n = c2.poll_transmit(t(0), &mut buf).unwrap().unwrap().len;
    let non = buf[..n].to_vec();
    server.handle_datagram(t(300_000), &non);
    assert!(matches!(
        server.poll_event(),
        Some(dots_proto::coap::Event::Request { .. })
    ));
    server.handle_datagram(t(300_001), &non);
    assert!(server.poll_event().is_none());
    assert!(server
        .poll_transmit(t(300_001), &mut buf)
        .unwrap()
        .is_none());
}

#[test]
fn resets_for_what_cannot_be_matched() {
    let mut ep = Ep::new(Config::udp(), 1);
    let mut buf = [0u8; 1500];
    // A CON response with a token nobody asked for gets a Reset (RFC 7252 §5.3.2, §4.2).
    let stray: MessageRepr<16, 16> = MessageRepr::new(
        MessageType::Confirmable,
        Code::CONTENT,
        0x4242,
        Token::new(&[9, 9]).unwrap(),
    );
    let mut m = [0u8; 64];
    let n = stray.emit(&mut m).unwrap();
    ep.handle_datagram(t(0), &m[..n]);
    let k = ep.poll_transmit(t(0), &mut buf).unwrap().unwrap().len;
    let rst = parse(&buf[..k]);
    assert_eq!((rst.ty(), rst.message_id()), (MessageType::Reset, 0x4242));
    // A CoAP ping (Empty CON) gets a Reset (RFC 7252 §4.3).
    let n = MessageRepr::<0, 0>::ping(0x77).emit(&mut m).unwrap();
    ep.handle_datagram(t(1), &m[..n]);
    let k = ep.poll_transmit(t(1), &mut buf).unwrap().unwrap().len;
    assert_eq!(parse(&buf[..k]).message_id(), 0x77);
    // A malformed CON (reserved option delta 15) is Reset; garbage is ignored.
    ep.handle_datagram(t(2), &[0x40, 0x01, 0x12, 0x34, 0xf1, 0x00]);
    let k = ep.poll_transmit(t(2), &mut buf).unwrap().unwrap().len;
    assert_eq!(parse(&buf[..k]).message_id(), 0x1234);
    ep.handle_datagram(t(3), &[0xff]);
    assert!(ep.poll_transmit(t(3), &mut buf).unwrap().is_none());
    // An ACK nobody waits for is ignored.
    let n = MessageRepr::<0, 0>::empty_ack(5).emit(&mut m).unwrap();
    ep.handle_datagram(t(4), &m[..n]);
    assert!(ep.poll_transmit(t(4), &mut buf).unwrap().is_none());
    assert_eq!(ep.stats().resets_sent, 3);
    assert_eq!(ep.stats().malformed, 2);
}

#[test]
fn reset_fails_the_request() {
    let mut client = Ep::new(Config::udp(), 1);
    let mut buf = [0u8; 1500];
    let id = client.request(t(0), Request::con(Code::GET)).unwrap();
    let n = client.poll_transmit(t(0), &mut buf).unwrap().unwrap().len;
    let mid = parse(&buf[..n]).message_id();
    let mut m = [0u8; 8];
    let k = MessageRepr::<0, 0>::reset(mid).emit(&mut m).unwrap();
    client.handle_datagram(t(5), &m[..k]);
    let evs: Vec<_> =
        std::iter::from_fn(|| client.poll_event().map(|e| Ev::from_event(&e))).collect();
    assert_eq!(
        evs,
        vec![
            Ev::PeerReset(mid),
            Ev::Failed {
                request: id,
                reason: FailReason::Reset
            }
        ]
    );
}

#[test]
fn unrecognised_critical_option_gets_4_02() {
    let mut server = Ep::new(Config::udp(), 2);
    let mut req: MessageRepr<32, 16> = MessageRepr::new(
        MessageType::Confirmable,
        Code::GET,
        0x1111,
        Token::new(&[1]).unwrap(),
    );
    req.options.push(OptionNumber(2049), b"x").unwrap();
    let mut m = [0u8; 64];
    let n = req.emit(&mut m).unwrap();
    server.handle_datagram(t(0), &m[..n]);
    assert!(server.poll_event().is_none());
    let mut buf = [0u8; 256];
    let k = server.poll_transmit(t(0), &mut buf).unwrap().unwrap().len;
    let resp = parse(&buf[..k]);
    assert_eq!(
        (resp.ty(), resp.code(), resp.message_id()),
        (MessageType::Acknowledgement, Code::BAD_OPTION, 0x1111)
    );
}

#[test]
fn nstart_keeps_one_interaction_outstanding_and_queues_the_rest() {
    let mut client = Ep::new(Config::udp(), 1);
    let mut pair_ids = Vec::new();
    for _ in 0..5 {
        pair_ids.push(client.request(t(0), Request::con(Code::PUT)).unwrap());
    }
    assert_eq!(client.outstanding(), 1);
    assert_eq!(client.queued(), 4);
    let mut pair = Pair::new(
        client,
        Ep::new(Config::udp(), 2),
        Link::lossy(0.2, 5),
        Link::lossy(0.2, 6),
    );
    let mut order = Vec::new();
    let mut max_outstanding = 0;
    while pair.step(t(10_000_000)) || !pair.pending.is_empty() {
        max_outstanding = max_outstanding.max(pair.a.outstanding());
        while let Some((side, _, ev)) = pair.pending.pop_front() {
            match (side, ev) {
                (Side::B, Ev::Request { id, .. }) => {
                    let now = pair.now;
                    pair.b
                        .respond(now, id, Response::new(Code::CHANGED))
                        .unwrap();
                }
                (Side::A, Ev::Response { request, .. }) => order.push(request),
                (Side::A, Ev::Failed { request, .. }) => order.push(request),
                _ => {}
            }
        }
    }
    assert_eq!(max_outstanding, 1);
    assert_eq!(order, pair_ids, "one at a time, in order");
    // Requests from the first side never overlap on the wire: each CON's first transmission
    // comes after the previous one ended.
    let mut client = Ep::new(
        Config::udp().with_params(TransmissionParameters {
            nstart: 3,
            ..TransmissionParameters::DOTS
        }),
        1,
    );
    for _ in 0..5 {
        client.request(t(0), Request::con(Code::PUT)).unwrap();
    }
    assert_eq!((client.outstanding(), client.queued()), (3, 2));
}

#[test]
fn queue_full_is_a_typed_error() {
    let mut client: Endpoint<2, 2, 1, 256, 256, 512> = Endpoint::new(Config::udp(), 1);
    client.request(t(0), Request::con(Code::GET)).unwrap();
    client.request(t(0), Request::con(Code::GET)).unwrap();
    assert_eq!(
        client.request(t(0), Request::con(Code::GET)),
        Err(CommandError::QueueFull)
    );
    assert_eq!(
        client.request(t(0), Request::con(Code::CONTENT)),
        Err(CommandError::InvalidCode(Code::CONTENT))
    );
    // A body over the body buffer (it would go with Block1).
    let big = [0u8; 300];
    let mut c2: Endpoint<2, 2, 1, 256, 256, 512> = Endpoint::new(Config::udp(), 1);
    assert!(matches!(
        c2.request(t(0), Request::con(Code::PUT).payload(&big)),
        Err(CommandError::BodyTooLarge {
            needed: 300,
            limit: 256
        })
    ));
    // Options over the message storage.
    let mut opts = OptionList::<600>::new();
    let long = "q".repeat(200);
    opts.push_uri_query(&long)
        .unwrap()
        .push_uri_query(&long)
        .unwrap();
    assert!(matches!(
        c2.request(t(0), Request::con(Code::GET).options(opts.as_options())),
        Err(CommandError::MessageTooLarge { .. })
    ));
    assert_eq!(
        c2.slots_in_use(),
        0,
        "a refused request leaves nothing behind"
    );
}

#[test]
fn probing_rate_limits_traffic_to_a_silent_peer() {
    // 5 bytes/s (the DOTS default): towards a dead peer, new requests are spaced so that the
    // average rate stays at or below PROBING_RATE once the peer counts as unresponsive.
    let params = TransmissionParameters {
        probing_rate: 5,
        ..TransmissionParameters::DOTS
    };
    let dead = Link {
        loss: 1.0,
        ..Link::perfect()
    };
    let mut client = Ep::new(Config::udp().with_params(params), 21);
    let body = [0x55u8; 40];
    for _ in 0..6 {
        client
            .request(
                t(0),
                Request::non(Code::PUT).payload(&body).non_retransmit(0),
            )
            .unwrap();
    }
    let mut pair = Pair::new(client, Ep::new(Config::udp(), 22), dead, dead);
    let seen = pair.run_until(t(10_000_000), |_, _, _, _| {});
    assert_eq!(
        seen.iter()
            .filter(|(_, _, e)| matches!(e, Ev::Failed { .. }))
            .count(),
        6
    );
    let sent: Vec<_> = pair.sent_by(Side::A).collect();
    assert_eq!(sent.len(), 6);
    // The first request goes at once; its timeout makes the peer unresponsive.
    let unresponsive_from = sent[1].at;
    let mut bytes = 0u64;
    for s in &sent[1..] {
        let elapsed_ms = s.at.as_millis() - unresponsive_from.as_millis();
        // Everything sent before this one fits the rate.
        assert!(
            bytes * 1000 <= 5 * elapsed_ms,
            "{bytes} bytes in {elapsed_ms} ms"
        );
        bytes += s.bytes.len() as u64;
    }
    for w in sent[1..].windows(2) {
        let gap = w[1].at.as_millis() - w[0].at.as_millis();
        assert!(
            gap * 5 >= w[0].bytes.len() as u64 * 1000,
            "gap {gap} ms after {} bytes",
            w[0].bytes.len()
        );
    }
    // A message from the peer ends the limit.
    let mut m = [0u8; 8];
    let n = MessageRepr::<0, 0>::empty_ack(1).emit(&mut m).unwrap();
    pair.a.handle_datagram(pair.now, &m[..n]);
    assert!(!pair.a.peer_unresponsive());
}

#[test]
fn hop_limit_reached_gets_5_08_with_the_gateway_identity() {
    let mut pair = Pair::new(
        Ep::new(Config::udp(), 1),
        Ep::new(Config::udp(), 2),
        Link::perfect(),
        Link::perfect(),
    );
    let mut opts = path("/.well-known/dots/mitigate");
    opts.set_hop_limit(HopLimit::new(1).unwrap()).unwrap();
    let id = pair
        .a
        .request(t(0), Request::non(Code::PUT).options(opts.as_options()))
        .unwrap();
    let seen = pair.run_until(t(60_000), |side, eps, now, ev| {
        if let (
            Side::B,
            Ev::Request {
                id,
                hop_limit,
                options,
                ..
            },
        ) = (side, ev)
        {
            let o = dots_codec::coap::Options::parse(options).unwrap();
            assert_eq!(*hop_limit, Some(1));
            assert_eq!(
                dots_proto::coap::hop::forward(&o, None),
                Ok(dots_proto::coap::hop::Forward::Exhausted)
            );
            eps.b()
                .respond_hop_limit_reached(now, *id, "gw1.example.net")
                .unwrap();
        }
    });
    let resp = seen.iter().find_map(|(_, _, e)| match e {
        Ev::Response {
            request,
            code,
            payload,
            ..
        } if *request == id => Some((*code, payload.clone())),
        _ => None,
    });
    assert_eq!(
        resp,
        Some((Code::HOP_LIMIT_REACHED, b"gw1.example.net".to_vec()))
    );
    // Hop-Limit 0 is invalid: 4.00 (RFC 8768 §3).
    let mut server = Ep::new(Config::udp(), 3);
    let mut req: MessageRepr<16, 16> = MessageRepr::new(
        MessageType::Confirmable,
        Code::PUT,
        9,
        Token::new(&[1]).unwrap(),
    );
    req.options.push(OptionNumber::HOP_LIMIT, &[0]).unwrap();
    let mut m = [0u8; 32];
    let n = req.emit(&mut m).unwrap();
    server.handle_datagram(t(0), &m[..n]);
    let mut buf = [0u8; 64];
    let k = server.poll_transmit(t(0), &mut buf).unwrap().unwrap().len;
    assert_eq!(parse(&buf[..k]).code(), Code::BAD_REQUEST);
}

#[test]
fn time_never_goes_backwards() {
    let mut client = Ep::new(Config::udp(), 1);
    client.request(t(10_000), Request::con(Code::GET)).unwrap();
    let mut buf = [0u8; 1500];
    client.poll_transmit(t(10_000), &mut buf).unwrap().unwrap();
    let deadline = client.poll_timeout().unwrap();
    assert!(deadline > t(10_000));
    // An earlier `now` counts as the latest one: nothing fires, nothing moves.
    client.handle_timeout(t(5));
    assert_eq!(client.now(), t(10_000));
    assert_eq!(client.poll_timeout(), Some(deadline));
    // Spurious and repeated timeouts are no-ops.
    client.handle_timeout(t(10_001));
    client.handle_timeout(t(10_001));
    assert!(client.poll_transmit(t(10_001), &mut buf).unwrap().is_none());
    assert_eq!(client.stats().retransmissions, 0);
    client.handle_timeout(deadline);
    assert_eq!(client.stats().retransmissions, 1);
    // A too-small buffer leaves the message queued.
    let err = client.poll_transmit(deadline, &mut buf[..3]).unwrap_err();
    assert!(err.needed > 3);
    assert!(client.poll_transmit(deadline, &mut buf).unwrap().is_some());
    assert!(client.poll_timeout().unwrap() > deadline);
}

#[test]
fn footprint_of_the_default_endpoints() {
    // The sizes stated in the `ClientEndpoint` / `ServerEndpoint` docs.
    let client = std::mem::size_of::<dots_proto::coap::ClientEndpoint>();
    let server = std::mem::size_of::<dots_proto::coap::ServerEndpoint>();
    eprintln!("ClientEndpoint {client} bytes, ServerEndpoint {server} bytes");
    assert!(client <= 40 * 1024, "{client}");
    assert!(server <= 22 * 1024, "{server}");
}

#[test]
fn small_server_footprint() {
    let small = std::mem::size_of::<Endpoint<2, 2, 2, 512, 1024, 512>>();
    assert!(small <= 9 * 1024, "{small}");
}
