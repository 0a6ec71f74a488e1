//! Observe (RFC 7641) on both sides, over a reordering, duplicating link.

mod common;

use std::time::Duration;

use common::{Ev, Link, Pair, Side};
use dots_codec::coap::{Code, Message, MessageType};
use dots_proto::coap::{
    Config, Endpoint, ObserveEnd, ObserveRequest, ObserverId, Request, Response,
};
use dots_proto::time::Instant;

type Ep = Endpoint<8, 8, 4, 1152, 8192, 4096>;

fn t(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

/// Registers an observation from A on B; returns the request id and the observer id.
fn register(pair: &mut Pair<Ep, Ep>) -> (dots_proto::coap::RequestId, ObserverId) {
    let id = pair
        .a
        .request(pair.now, Request::non(Code::GET).observe())
        .unwrap();
    let mut observer = None;
    let now = pair.now;
    let seen = pair.run_until(now + Duration::from_secs(60), |side, eps, now, ev| {
        if let (
            Side::B,
            Ev::Request {
                id,
                observe: Some(ObserveRequest::Register),
                ..
            },
        ) = (side, ev)
        {
            observer = eps
                .b()
                .respond(now, *id, Response::new(Code::CONTENT).payload(b"0"))
                .unwrap();
        }
    });
    assert!(seen.iter().any(|(s, _, e)| *s == Side::A
        && matches!(e, Ev::Response { request, observe: Some(_), .. } if *request == id)));
    (id, observer.expect("registered"))
}

#[test]
fn notifications_arrive_in_order_despite_reordering() {
    let reorder = Link {
        latency: Duration::from_millis(50),
        jitter: Duration::from_millis(40),
        duplicate: 0.2,
        reorder_gap: Some(3),
        seed: 17,
        ..Link::perfect()
    };
    let mut pair = Pair::new(
        Ep::new(Config::udp(), 1),
        Ep::new(Config::udp(), 2),
        Link::perfect(),
        reorder,
    );
    let (id, observer) = register(&mut pair);
    assert_eq!(pair.b.observers(), 1);
    // 40 notifications, 5 ms apart: the link delivers them out of order and duplicated.
    let mut received = Vec::new();
    for k in 1..=40u32 {
        let now = pair.now + Duration::from_millis(5);
        pair.now = now;
        let body = k.to_string();
        pair.b
            .notify(
                now,
                observer,
                Response::new(Code::CONTENT).payload(body.as_bytes()),
            )
            .unwrap();
        pair.flush();
        while let Some((_, _, ev)) = pair.pending.pop_front() {
            received.push(ev);
        }
    }
    let limit = pair.now + Duration::from_secs(10);
    for (_, _, ev) in pair.run_until(limit, |_, _, _, _| {}) {
        received.push(ev);
    }
    let mut seqs = Vec::new();
    let mut bodies = Vec::new();
    for ev in received {
        if let Ev::Notification {
            request,
            sequence,
            payload,
        } = ev
        {
            assert_eq!(request, id);
            seqs.push(sequence);
            bodies.push(String::from_utf8(payload).unwrap().parse::<u32>().unwrap());
        }
    }
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "sequence numbers only go up: {seqs:?}"
    );
    assert!(
        bodies.windows(2).all(|w| w[0] < w[1]),
        "bodies in order: {bodies:?}"
    );
    assert_eq!(*bodies.last().unwrap(), 40, "the latest state arrives");
    assert!(
        pair.a.stats().stale_notifications > 0,
        "reordered and duplicated ones were dropped"
    );
    // Every notification went NON (RFC 9132 §4.4.2.1).
    for s in pair.sent_by(Side::B).skip(1) {
        assert_eq!(
            Message::parse(&s.bytes).unwrap().ty(),
            MessageType::NonConfirmable
        );
    }
}

#[test]
fn deregistration_with_observe_1() {
    let mut pair = Pair::new(
        Ep::new(Config::udp(), 1),
        Ep::new(Config::udp(), 2),
        Link::perfect(),
        Link::perfect(),
    );
    let (id, observer) = register(&mut pair);
    let now = pair.now;
    pair.a.deregister(now, id).unwrap();
    let seen = pair.run_until(now + Duration::from_secs(60), |side, eps, now, ev| {
        if let (Side::B, Ev::Request { id, observe, .. }) = (side, ev) {
            assert_eq!(*observe, Some(ObserveRequest::Deregister));
            assert_eq!(
                eps.b()
                    .respond(now, *id, Response::new(Code::CONTENT))
                    .unwrap(),
                None
            );
        }
    });
    assert!(seen.iter().any(|(s, _, e)| *s == Side::B
        && *e
            == Ev::ObserverRemoved {
                observer,
                reason: ObserveEnd::Deregistered
            }));
    assert!(seen.iter().any(|(s, _, e)| *s == Side::A
        && matches!(e, Ev::Response { request, observe: None, .. } if *request == id)));
    assert_eq!(pair.a.slots_in_use(), 0);
    assert_eq!(pair.b.observers(), 0);
    // The request carried the registration's token.
    let tokens: Vec<_> = pair
        .sent_by(Side::A)
        .map(|s| Message::parse(&s.bytes).unwrap().token())
        .collect();
    assert!(tokens.windows(2).all(|w| w[0] == w[1]));
}

#[test]
fn forgetting_leads_to_a_reset_and_the_observer_is_removed() {
    let mut pair = Pair::new(
        Ep::new(Config::udp(), 1),
        Ep::new(Config::udp(), 2),
        Link::perfect(),
        Link::perfect(),
    );
    let (id, observer) = register(&mut pair);
    let now = pair.now;
    pair.a.cancel(now, id).unwrap();
    pair.b
        .notify(now, observer, Response::new(Code::CONTENT).payload(b"x"))
        .unwrap();
    let seen = pair.run_until(now + Duration::from_secs(60), |_, _, _, _| {});
    assert!(seen.iter().any(|(s, _, e)| *s == Side::B
        && *e
            == Ev::ObserverRemoved {
                observer,
                reason: ObserveEnd::Reset
            }));
    assert_eq!(pair.b.observers(), 0);
    assert_eq!(pair.a.stats().resets_sent, 1);
    assert_eq!(
        pair.b
            .notify(pair.now, observer, Response::new(Code::CONTENT)),
        Err(dots_proto::coap::CommandError::UnknownId)
    );
}

#[test]
fn an_error_notification_ends_the_observation() {
    let mut pair = Pair::new(
        Ep::new(Config::udp(), 1),
        Ep::new(Config::udp(), 2),
        Link::perfect(),
        Link::perfect(),
    );
    let (id, observer) = register(&mut pair);
    let now = pair.now;
    pair.b
        .notify(now, observer, Response::new(Code::NOT_FOUND))
        .unwrap();
    let seen = pair.run_until(now + Duration::from_secs(60), |_, _, _, _| {});
    assert!(seen.iter().any(|(s, _, e)| *s == Side::B
        && *e
            == Ev::ObserverRemoved {
                observer,
                reason: ObserveEnd::ErrorNotification
            }));
    assert!(seen.iter().any(|(s, _, e)| *s == Side::A
        && matches!(
            e,
            Ev::Response {
                code: Code::NOT_FOUND,
                ..
            }
        )));
    assert!(seen.iter().any(|(s, _, e)| *s == Side::A
        && *e
            == Ev::ObserveCancelled {
                request: id,
                reason: ObserveEnd::ByServer
            }));
    assert_eq!(pair.a.slots_in_use(), 0);
}

#[test]
fn confirmable_notifications_when_configured() {
    let mut config = Config::udp();
    config.confirmable_notifications = true;
    let lossy = Link::lossy(0.3, 4);
    let mut pair = Pair::new(
        Ep::new(Config::udp(), 1),
        Ep::new(config, 2),
        Link::perfect(),
        Link::perfect(),
    );
    let (_, observer) = register(&mut pair);
    let now = pair.now;
    pair.b
        .notify(now, observer, Response::new(Code::CONTENT).payload(b"1"))
        .unwrap();
    let seen = pair.run_until(now + Duration::from_secs(60), |_, _, _, _| {});
    assert!(seen
        .iter()
        .any(|(s, _, e)| *s == Side::A && matches!(e, Ev::Notification { .. })));
    let last = pair.sent_by(Side::B).last().unwrap();
    assert_eq!(
        Message::parse(&last.bytes).unwrap().ty(),
        MessageType::Confirmable
    );
    let ack = pair.sent_by(Side::A).last().unwrap();
    let ack = Message::parse(&ack.bytes).unwrap();
    assert!(ack.is_empty() && ack.ty() == MessageType::Acknowledgement);
    let _ = lossy;
    assert_eq!(pair.b.slots_in_use(), 0, "the ACK completed it");
}

#[test]
fn refused_registration_and_full_registry() {
    let mut server: Endpoint<2, 4, 1, 512, 512, 1024> = Endpoint::new(Config::udp(), 2);
    let mut clients = [Ep::new(Config::udp(), 10), Ep::new(Config::udp(), 11)];
    let mut buf = [0u8; 1500];
    let mut results = Vec::new();
    for (k, c) in clients.iter_mut().enumerate() {
        c.request(t(0), Request::non(Code::GET).observe()).unwrap();
        let n = c.poll_transmit(t(0), &mut buf).unwrap().unwrap().len;
        server.handle_datagram(t(k as u64), &buf[..n]);
        let id = match server.poll_event() {
            Some(dots_proto::coap::Event::Request {
                id,
                observe: Some(ObserveRequest::Register),
                ..
            }) => id,
            other => panic!("{other:?}"),
        };
        results.push(
            server
                .respond(t(k as u64), id, Response::new(Code::CONTENT))
                .unwrap(),
        );
    }
    assert!(results[0].is_some());
    assert_eq!(results[1], None, "a full registry answers without Observe");
    let n = server.poll_transmit(t(2), &mut buf).unwrap().unwrap().len;
    let first = Message::parse(&buf[..n])
        .unwrap()
        .options()
        .observe()
        .unwrap();
    assert!(first.is_some());
    let n = server.poll_transmit(t(2), &mut buf).unwrap().unwrap().len;
    assert_eq!(
        Message::parse(&buf[..n])
            .unwrap()
            .options()
            .observe()
            .unwrap(),
        None
    );
    // Observe values increase notification after notification.
    let o = results[0].unwrap();
    let mut last = first.unwrap();
    for k in 0..5 {
        server
            .notify(t(10 + k), o, Response::new(Code::CONTENT))
            .unwrap();
        let n = server
            .poll_transmit(t(10 + k), &mut buf)
            .unwrap()
            .unwrap()
            .len;
        let v = Message::parse(&buf[..n])
            .unwrap()
            .options()
            .observe()
            .unwrap()
            .unwrap();
        assert!(v > last);
        last = v;
    }
}

#[test]
fn unacknowledged_con_notification_removes_the_observer() {
    let mut config = Config::udp();
    config.confirmable_notifications = true;
    let mut server = Ep::new(config, 2);
    let mut client = Ep::new(Config::udp(), 1);
    let mut buf = [0u8; 1500];
    client
        .request(t(0), Request::non(Code::GET).observe())
        .unwrap();
    let n = client.poll_transmit(t(0), &mut buf).unwrap().unwrap().len;
    server.handle_datagram(t(0), &buf[..n]);
    let Some(dots_proto::coap::Event::Request { id, .. }) = server.poll_event() else {
        panic!()
    };
    let observer = server
        .respond(t(0), id, Response::new(Code::CONTENT))
        .unwrap()
        .unwrap();
    while server.poll_transmit(t(0), &mut buf).unwrap().is_some() {}
    server
        .notify(t(1), observer, Response::new(Code::CONTENT))
        .unwrap();
    let mut sent = 0;
    let mut removed = None;
    let mut now = t(1);
    for _ in 0..50 {
        while server.poll_transmit(now, &mut buf).unwrap().is_some() {
            sent += 1;
        }
        while let Some(ev) = server.poll_event() {
            if let dots_proto::coap::Event::ObserverRemoved {
                observer: o,
                reason,
            } = ev
            {
                removed = Some((o, reason));
            }
        }
        match server.poll_timeout() {
            Some(next) => {
                now = next;
                server.handle_timeout(now);
            }
            None => break,
        }
    }
    // The first transmission and MAX_RETRANSMIT (3) retransmissions, then it gives up
    // (RFC 7641 §4.5).
    assert_eq!(sent, 4);
    assert_eq!(removed, Some((observer, ObserveEnd::TimedOut)));
    assert_eq!(server.observers(), 0);
}
