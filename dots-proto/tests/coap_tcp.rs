//! CoAP over TCP/TLS (RFC 8323): CSM, requests over a stream in pieces, Max-Message-Size,
//! Ping/Pong, Release, Abort, Observe, keep-alive.

mod common;

use std::time::Duration;

use common::{Ev, Link, Pair, Side};
use dots_codec::coap::{Code, Frame, FrameRepr, StreamDecoder, Token};
use dots_proto::coap::{
    CommandError, Config, Endpoint, FailReason, ObserveRequest, Request, Response,
};
use dots_proto::time::Instant;

type Ep = Endpoint<8, 8, 4, 1152, 8192, 4096>;
type Small = Endpoint<4, 4, 2, 256, 1024, 1024>;

fn t(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

fn frames(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut d = StreamDecoder::<4096>::new();
    let mut out = Vec::new();
    d.feed(bytes, |f| out.push(f.as_bytes().to_vec())).unwrap();
    out
}

#[test]
fn csm_first_then_requests_matched_by_token() {
    let mut pair = Pair::new(
        Ep::new(Config::tcp(), 1),
        Ep::new(Config::tcp(), 2),
        Link::perfect(),
        Link::perfect(),
    );
    let id = pair.a.request(t(0), Request::con(Code::GET)).unwrap();
    let seen = pair.run_until(t(10_000), |side, eps, now, ev| {
        if let (Side::B, Ev::Request { id, .. }) = (side, ev) {
            eps.b()
                .respond(now, *id, Response::new(Code::CONTENT).payload(b"hello"))
                .unwrap();
        }
    });
    // Each side's first frame is its CSM with Max-Message-Size and Block-Wise-Transfer.
    for side in [Side::A, Side::B] {
        let first = &pair.sent_by(side).next().unwrap().bytes;
        let f = Frame::parse(first).unwrap();
        assert_eq!(f.code(), Code::CSM);
        assert!(matches!(
            f.signal().unwrap(),
            Some(dots_codec::coap::Signal::Csm {
                max_message_size: Some(1152),
                block_wise_transfer: true
            })
        ));
    }
    assert!(seen.iter().any(|(s, _, e)| *s == Side::A
        && *e
            == Ev::Csm {
                max_message_size: 1152,
                block_wise_transfer: true
            }));
    assert!(seen.iter().any(|(s, _, e)| *s == Side::A && matches!(e, Ev::Response { request, payload, .. } if *request == id && payload == b"hello")));
    // No retransmissions, no message IDs, no ACKs over TCP.
    assert_eq!(pair.sent_by(Side::A).count(), 2);
    assert_eq!(pair.sent_by(Side::B).count(), 2);
}

#[test]
fn stream_bytes_in_arbitrary_pieces() {
    let mut client = Ep::new(Config::tcp(), 1);
    let mut server = Ep::new(Config::tcp(), 2);
    let mut wire = Vec::new();
    let mut buf = [0u8; 2048];
    for k in 0..3u8 {
        client
            .request(t(0), Request::con(Code::PUT).payload(&[k; 100]))
            .unwrap();
    }
    while let Some(tx) = client.poll_transmit(t(0), &mut buf).unwrap() {
        wire.extend_from_slice(&buf[..tx.len]);
    }
    // One byte at a time.
    for b in &wire {
        server.handle_stream_bytes(t(1), std::slice::from_ref(b));
    }
    let mut payloads = Vec::new();
    while let Some(ev) = server.poll_event() {
        if let dots_proto::coap::Event::Request { request, .. } = ev {
            payloads.push(request.payload.to_vec());
        }
    }
    assert_eq!(payloads, (0..3u8).map(|k| vec![k; 100]).collect::<Vec<_>>());
}

#[test]
fn peer_max_message_size_is_honoured() {
    let mut pair = Pair::new(
        Ep::new(Config::tcp(), 1),
        Small::new(Config::tcp(), 2),
        Link::perfect(),
        Link::perfect(),
    );
    pair.run_until(t(1_000), |_, _, _, _| {});
    assert_eq!(pair.a.peer_max_message_size(), 256);
    // A request larger than the peer's Max-Message-Size goes with Block1 in blocks that fit.
    let big: Vec<u8> = (0..400u32).map(|i| i as u8).collect();
    let put = pair
        .a
        .request(t(1_000), Request::con(Code::PUT).payload(&big))
        .unwrap();
    let seen = pair.run_until(t(30_000), |side, eps, now, ev| {
        if let (Side::B, Ev::Request { id, payload, .. }) = (side, ev) {
            assert_eq!(payload.len(), 400);
            eps.b()
                .respond(now, *id, Response::new(Code::CHANGED))
                .unwrap();
        }
    });
    assert!(seen.iter().any(|(s, _, e)| *s == Side::A
        && matches!(e, Ev::Response { request, code: Code::CHANGED, .. } if *request == put)));
    for s in pair.sent_by(Side::A) {
        assert!(
            s.bytes.len() <= 256,
            "every frame within the peer's Max-Message-Size"
        );
    }
    // Without block-wise transfer at the peer, it is refused.
    let mut no_bw = Ep::new(Config::tcp(), 5);
    let mut csm = [0u8; 16];
    let n = FrameRepr::<16, 0>::csm(Some(256), false)
        .unwrap()
        .emit(&mut csm)
        .unwrap();
    no_bw.handle_stream_bytes(t(0), &csm[..n]);
    assert!(matches!(
        no_bw.request(t(0), Request::con(Code::PUT).payload(&big)),
        Err(CommandError::MessageTooLarge { limit: 256, .. })
    ));
    // A large response to the small peer goes block-wise (it announced Block-Wise-Transfer).
    pair.b.request(t(1_000), Request::con(Code::GET)).unwrap();
    let body: Vec<u8> = (0..3000u32).map(|i| i as u8).collect();
    let seen = pair.run_until(t(60_000), |side, eps, now, ev| {
        if let (Side::A, Ev::Request { id, .. }) = (side, ev) {
            eps.a()
                .respond(now, *id, Response::new(Code::CONTENT).payload(&body))
                .unwrap();
        }
    });
    let got = seen.iter().find_map(|(s, _, e)| match e {
        Ev::Response { payload, .. } if *s == Side::B => Some(payload.clone()),
        _ => None,
    });
    assert_eq!(
        got, None,
        "3000 bytes exceed the small peer's 1 KiB body buffer"
    );
    assert!(seen.iter().any(|(s, _, e)| *s == Side::B
        && matches!(
            e,
            Ev::Failed {
                reason: FailReason::BodyTooLarge,
                ..
            }
        )));
    for s in pair.sent_by(Side::A) {
        assert!(
            s.bytes.len() <= 256,
            "every frame within the peer's Max-Message-Size"
        );
    }
}

#[test]
fn ping_pong_release_and_requests_after_release() {
    let mut pair = Pair::new(
        Ep::new(Config::tcp(), 1),
        Ep::new(Config::tcp(), 2),
        Link::perfect(),
        Link::perfect(),
    );
    let token = pair.a.ping(t(0)).unwrap();
    let seen = pair.run_until(t(1_000), |_, _, _, _| {});
    assert!(seen
        .iter()
        .any(|(s, _, e)| *s == Side::A && *e == Ev::Pong(token)));
    pair.b.release(pair.now, Some(30)).unwrap();
    let seen = pair.run_until(t(2_000), |_, _, _, _| {});
    assert!(seen
        .iter()
        .any(|(s, _, e)| *s == Side::A && *e == Ev::Released(Some(30), None)));
    assert_eq!(
        pair.a.request(pair.now, Request::con(Code::GET)),
        Err(CommandError::Closed)
    );
    assert_eq!(
        pair.b.request(pair.now, Request::con(Code::GET)),
        Err(CommandError::Closed)
    );
    // UDP endpoints have no signalling.
    let mut udp = Ep::new(Config::udp(), 3);
    assert_eq!(udp.ping(t(0)), Err(CommandError::WrongTransport));
    assert_eq!(udp.release(t(0), None), Err(CommandError::WrongTransport));
}

#[test]
fn protocol_violation_aborts_the_connection() {
    let mut ep = Ep::new(Config::tcp(), 1);
    let mut buf = [0u8; 256];
    let id = ep.request(t(0), Request::con(Code::GET)).unwrap();
    // The first frame must be a CSM (RFC 8323 §5.3).
    let mut ping = [0u8; 16];
    let n = FrameRepr::<4, 0>::ping(Token::EMPTY, false)
        .unwrap()
        .emit(&mut ping)
        .unwrap();
    ep.handle_stream_bytes(t(1), &ping[..n]);
    let evs: Vec<_> = std::iter::from_fn(|| ep.poll_event().map(|e| Ev::from_event(&e))).collect();
    assert!(evs.contains(&Ev::Aborted {
        by_peer: false,
        diagnostic: "CSM expected first".into()
    }));
    assert!(evs.contains(&Ev::Failed {
        request: id,
        reason: FailReason::ConnectionClosed
    }));
    assert!(ep.is_closed());
    // The Abort is the last thing sent.
    let mut out = Vec::new();
    while let Some(tx) = ep.poll_transmit(t(2), &mut buf).unwrap() {
        out.extend_from_slice(&buf[..tx.len]);
    }
    let fs = frames(&out);
    assert_eq!(
        Frame::parse(fs.last().unwrap()).unwrap().code(),
        Code::ABORT
    );
    assert!(ep.poll_transmit(t(3), &mut buf).unwrap().is_none());
    assert_eq!(
        ep.request(t(3), Request::con(Code::GET)),
        Err(CommandError::Closed)
    );

    // Garbage after the CSM: abort too; the peer reports it with the diagnostic.
    let mut pair = Pair::new(
        Ep::new(Config::tcp(), 1),
        Ep::new(Config::tcp(), 2),
        Link::perfect(),
        Link::perfect(),
    );
    pair.run_until(t(100), |_, _, _, _| {});
    pair.b.handle_stream_bytes(pair.now, &[0x0f, 0xff, 0xff]); // TKL 15 is reserved
    let seen = pair.run_until(t(1_000), |_, _, _, _| {});
    assert!(seen
        .iter()
        .any(|(s, _, e)| *s == Side::B && matches!(e, Ev::Aborted { by_peer: false, .. })));
    assert!(seen.iter().any(|(s, _, e)| *s == Side::A
        && *e
            == Ev::Aborted {
                by_peer: true,
                diagnostic: "malformed frame".into()
            }));
    assert!(pair.a.is_closed());
}

#[test]
fn bad_csm_option_is_named_in_the_abort() {
    let mut ep = Ep::new(Config::tcp(), 1);
    // A CSM with an unknown critical option 9.
    let mut csm = FrameRepr::<16, 0>::new(Code::CSM, Token::EMPTY);
    csm.options
        .push(dots_codec::coap::OptionNumber(9), &[])
        .unwrap();
    let mut m = [0u8; 32];
    let n = csm.emit(&mut m).unwrap();
    ep.handle_stream_bytes(t(0), &m[..n]);
    let mut out = Vec::new();
    let mut buf = [0u8; 256];
    while let Some(tx) = ep.poll_transmit(t(0), &mut buf).unwrap() {
        out.extend_from_slice(&buf[..tx.len]);
    }
    let fs = frames(&out);
    let abort = Frame::parse(fs.last().unwrap()).unwrap();
    assert!(matches!(
        abort.signal().unwrap(),
        Some(dots_codec::coap::Signal::Abort {
            bad_csm_option: Some(dots_codec::coap::OptionNumber(9))
        })
    ));
}

#[test]
fn observe_over_tcp() {
    let mut pair = Pair::new(
        Ep::new(Config::tcp(), 1),
        Ep::new(Config::tcp(), 2),
        Link::perfect(),
        Link::perfect(),
    );
    let id = pair
        .a
        .request(t(0), Request::con(Code::GET).observe())
        .unwrap();
    let mut observer = None;
    pair.run_until(t(1_000), |side, eps, now, ev| {
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
                .respond(now, *id, Response::new(Code::CONTENT))
                .unwrap();
        }
    });
    let observer = observer.unwrap();
    for k in 0..3u8 {
        let now = pair.now;
        pair.b
            .notify(now, observer, Response::new(Code::CONTENT).payload(&[k]))
            .unwrap();
        pair.flush();
    }
    let seen = pair.run_until(t(2_000), |_, _, _, _| {});
    let got: Vec<_> = pair
        .pending
        .iter()
        .map(|(_, _, e)| e.clone())
        .chain(seen.into_iter().map(|(_, _, e)| e))
        .filter_map(|e| match e {
            Ev::Notification {
                request, payload, ..
            } if request == id => Some(payload[0]),
            _ => None,
        })
        .collect();
    assert_eq!(got, vec![0, 1, 2]);
}

#[test]
fn keepalive_ping_and_timeout() {
    let mut config = Config::tcp();
    config.keepalive = Some(Duration::from_secs(5));
    let mut pair = Pair::new(
        Ep::new(config, 1),
        Ep::new(Config::tcp(), 2),
        Link::perfect(),
        Link::perfect(),
    );
    pair.run_until(t(100), |_, _, _, _| {});
    // The peer answers: Pongs keep coming, no timeout.
    let seen = pair.run_until(t(20_000), |_, _, _, _| {});
    let pongs = seen
        .iter()
        .filter(|(s, _, e)| *s == Side::A && matches!(e, Ev::Pong(_)))
        .count();
    assert!(pongs >= 3, "{pongs}");
    assert!(!seen.iter().any(|(_, _, e)| *e == Ev::PingTimedOut));
    // A silent peer: the Ping times out.
    let mut a = Ep::new(config, 3);
    let mut buf = [0u8; 256];
    let mut csm = [0u8; 16];
    let n = FrameRepr::<16, 0>::csm(None, false)
        .unwrap()
        .emit(&mut csm)
        .unwrap();
    a.handle_stream_bytes(t(0), &csm[..n]);
    while a.poll_transmit(t(0), &mut buf).unwrap().is_some() {}
    a.handle_timeout(t(5_000));
    let n = a.poll_transmit(t(5_000), &mut buf).unwrap().unwrap().len;
    assert_eq!(Frame::parse(&buf[..n]).unwrap().code(), Code::PING);
    a.handle_timeout(t(10_000));
    let evs: Vec<_> = std::iter::from_fn(|| a.poll_event().map(|e| Ev::from_event(&e))).collect();
    assert!(evs.contains(&Ev::PingTimedOut), "{evs:?}");
}

#[test]
fn abort_ends_observations_on_both_sides() {
    let mut pair = Pair::new(
        Ep::new(Config::tcp(), 1),
        Ep::new(Config::tcp(), 2),
        Link::perfect(),
        Link::perfect(),
    );
    let id = pair
        .a
        .request(t(0), Request::con(Code::GET).observe())
        .unwrap();
    let mut observer = None;
    pair.run_until(t(1_000), |side, eps, now, ev| {
        if let (Side::B, Ev::Request { id, .. }) = (side, ev) {
            observer = eps
                .b()
                .respond(now, *id, Response::new(Code::CONTENT))
                .unwrap();
        }
    });
    let observer = observer.unwrap();
    pair.b.abort(pair.now, "shutting down").unwrap();
    let seen = pair.run_until(t(2_000), |_, _, _, _| {});
    assert!(seen.iter().any(|(s, _, e)| *s == Side::B
        && *e
            == Ev::ObserverRemoved {
                observer,
                reason: dots_proto::coap::ObserveEnd::ConnectionClosed
            }));
    assert!(seen.iter().any(|(s, _, e)| *s == Side::A
        && *e
            == Ev::ObserveCancelled {
                request: id,
                reason: dots_proto::coap::ObserveEnd::ConnectionClosed
            }));
    assert!(seen.iter().any(|(s, _, e)| *s == Side::A
        && *e
            == Ev::Aborted {
                by_peer: true,
                diagnostic: "shutting down".into()
            }));
}

#[test]
fn release_with_an_alternative_address() {
    let mut ep = Ep::new(Config::tcp(), 1);
    let mut wire = [0u8; 128];
    let mut n = FrameRepr::<16, 0>::csm(None, true)
        .unwrap()
        .emit(&mut wire)
        .unwrap();
    n += FrameRepr::<64, 16>::release(Some("[2001:db8::1]:4646"), Some(60), "bye")
        .unwrap()
        .emit(&mut wire[n..])
        .unwrap();
    ep.handle_stream_bytes(t(0), &wire[..n]);
    let evs: Vec<_> = std::iter::from_fn(|| ep.poll_event().map(|e| Ev::from_event(&e))).collect();
    assert!(
        evs.contains(&Ev::Released(Some(60), Some("[2001:db8::1]:4646".into()))),
        "{evs:?}"
    );
    assert_eq!(
        ep.request(t(1), Request::con(Code::GET)),
        Err(CommandError::Closed)
    );
}
