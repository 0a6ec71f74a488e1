//! Block-wise transfers: Block2 (RFC 7959) and Q-Block2 (RFC 9177) of a 20 KiB body over a
//! lossy link, bursts and their pacing, the size cap, and ETag changes.

mod common;

use std::time::Duration;

use common::{Ev, Link, Pair, Side};
use dots_codec::coap::{Block, Code, Message, MessageRepr, MessageType, OptionList};
use dots_proto::coap::{
    Config, Endpoint, Event, FailReason, Request, Response, TransmissionParameters,
};
use dots_proto::time::Instant;

type Ep = Endpoint<8, 8, 4, 1152, 32768, 4096>;

fn t(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

fn body() -> Vec<u8> {
    (0..20 * 1024u32).map(|i| (i * 7 + i / 251) as u8).collect()
}

fn mitigate_path() -> OptionList<64> {
    let mut o = OptionList::new();
    o.set_uri_path("/.well-known/dots/mitigate/cuid=dz6pHjaADkaFTbjr0JGBpw").unwrap();
    o
}

fn serve_body(big: &[u8]) -> impl FnMut(Side, &mut dyn common::AnyNode<Ep, Ep>, Instant, &Ev) + '_ {
    move |side, eps, now, ev| {
        if let (Side::B, Ev::Request { id, .. }) = (side, ev) {
            eps.b().respond(now, *id, Response::new(Code::CONTENT).payload(big)).unwrap();
        }
    }
}

fn received_body(seen: &[(Side, Instant, Ev)]) -> Option<Vec<u8>> {
    seen.iter().find_map(|(s, _, e)| match e {
        Ev::Response { payload, code: Code::CONTENT, .. } if *s == Side::A => Some(payload.clone()),
        _ => None,
    })
}

#[test]
fn block2_transfer_of_20_kib_over_30_percent_loss() {
    let params = TransmissionParameters { max_retransmit: 10, ..TransmissionParameters::DOTS };
    for seed in [1, 2, 3] {
        let big = body();
        let mut pair = Pair::new(
            Ep::new(Config::udp().with_params(params), seed),
            Ep::new(Config::udp().with_params(params), seed + 100),
            Link::lossy(0.3, seed),
            Link::lossy(0.3, seed + 50),
        );
        let opts = mitigate_path();
        pair.a.request(t(0), Request::con(Code::GET).options(opts.as_options())).unwrap();
        let seen = pair.run_until(t(3_600_000), serve_body(&big));
        let got = received_body(&seen).unwrap_or_else(|| panic!("seed {seed}: {:?}", seen.iter().filter(|(s, _, _)| *s == Side::A).collect::<Vec<_>>()));
        assert_eq!(got, big, "seed {seed}");
        let requests = seen.iter().filter(|(s, _, e)| *s == Side::B && matches!(e, Ev::Request { .. })).count();
        assert_eq!(requests, 1, "the session answered once; the endpoint served the other blocks");
        assert!(pair.a.stats().retransmissions > 0, "the loss was real");
        // Every block carried the same ETag.
        let etags: std::collections::HashSet<Vec<u8>> = pair
            .sent_by(Side::B)
            .filter_map(|s| Message::parse(&s.bytes).ok())
            .filter_map(|m| m.options().etags().next().map(<[u8]>::to_vec))
            .collect();
        assert_eq!(etags.len(), 1);
    }
}

#[test]
fn q_block2_transfer_of_20_kib_over_30_percent_loss() {
    for seed in [1, 2, 3, 4] {
        let big = body();
        let mut pair = Pair::new(Ep::new(Config::udp(), seed), Ep::new(Config::udp(), seed + 100), Link::lossy(0.3, seed), Link::lossy(0.3, seed + 50));
        let opts = mitigate_path();
        let id = pair.a.request(t(0), Request::non(Code::GET).options(opts.as_options()).q_block2()).unwrap();
        let seen = pair.run_until(t(3_600_000), serve_body(&big));
        let got = received_body(&seen).unwrap_or_else(|| panic!("seed {seed}: {:?}", seen.iter().filter(|(s, _, _)| *s == Side::A).collect::<Vec<_>>()));
        assert_eq!(got, big, "seed {seed}");
        assert!(seen.iter().all(|(_, _, e)| !matches!(e, Ev::Failed { request, .. } if *request == id)));
        // Everything went NON; payloads carried Q-Block2, Size2 and one ETag.
        for s in pair.sent_by(Side::B) {
            let m = Message::parse(&s.bytes).unwrap();
            assert_eq!(m.ty(), MessageType::NonConfirmable);
            let o = m.options();
            assert!(o.q_block2().unwrap().is_some());
            assert_eq!(o.size2().unwrap(), Some(20 * 1024));
        }
        assert!(pair.b.stats().retransmissions > 0, "missing blocks were sent again");
        assert!(pair.a.stats().missing_block_requests > 0, "the client asked for missing blocks");
        assert_eq!(pair.a.slots_in_use(), 0);
    }
}

#[test]
fn q_block2_sends_max_payloads_then_waits_non_timeout_random() {
    let mut client = Ep::new(Config::udp(), 1);
    let mut server = Ep::new(Config::udp(), 2);
    let big = body();
    let opts = mitigate_path();
    client.request(t(0), Request::non(Code::GET).options(opts.as_options()).q_block2()).unwrap();
    let mut buf = [0u8; 1500];
    let n = client.poll_transmit(t(0), &mut buf).unwrap().unwrap().len;
    let req = Message::parse(&buf[..n]).unwrap();
    assert_eq!(req.options().q_block2().unwrap(), Block::new(0, true, 6), "Q-Block2 0/1/1024 announces support");
    server.handle_datagram(t(0), &buf[..n]);
    let id = match server.poll_event() {
        Some(Event::Request { id, .. }) => id,
        other => panic!("{other:?}"),
    };
    server.respond(t(0), id, Response::new(Code::CONTENT).payload(&big)).unwrap();
    let mut burst = Vec::new();
    while let Some(tx) = server.poll_transmit(t(0), &mut buf).unwrap() {
        burst.push(Message::parse(&buf[..tx.len]).unwrap().options().q_block2().unwrap().unwrap().num());
    }
    assert_eq!(burst, (0..10).collect::<Vec<_>>(), "MAX_PAYLOADS (10) at once");
    let next = server.poll_timeout().unwrap();
    assert!((t(2_000)..=t(3_000)).contains(&next), "NON_TIMEOUT_RANDOM: {next:?}");
    assert!(server.poll_transmit(next.checked_sub(Duration::from_millis(1)).unwrap(), &mut buf).unwrap().is_none());
    let mut second = Vec::new();
    while let Some(tx) = server.poll_transmit(next, &mut buf).unwrap() {
        second.push(Message::parse(&buf[..tx.len]).unwrap().options().q_block2().unwrap().unwrap().num());
    }
    assert_eq!(second, (10..20).collect::<Vec<_>>());
}

#[test]
fn response_body_over_the_cap_fails() {
    let big = body();
    let mut config = Config::udp();
    config.max_body = 4096;
    for q in [false, true] {
        let mut pair = Pair::new(Ep::new(config, 1), Ep::new(Config::udp(), 2), Link::perfect(), Link::perfect());
        let opts = mitigate_path();
        let mut req = Request::non(Code::GET).options(opts.as_options());
        if q {
            req = req.q_block2();
        }
        let id = pair.a.request(t(0), req).unwrap();
        let seen = pair.run_until(t(600_000), serve_body(&big));
        assert!(seen.iter().any(|(_, _, e)| *e == Ev::Failed { request: id, reason: FailReason::BodyTooLarge }), "q={q}");
        assert!(received_body(&seen).is_none());
    }
    // The sender's buffer has a cap too.
    let mut server: Endpoint<2, 2, 1, 1152, 4096, 2048> = Endpoint::new(Config::udp(), 3);
    let mut client = Ep::new(Config::udp(), 4);
    client.request(t(0), Request::non(Code::GET)).unwrap();
    let mut buf = [0u8; 1500];
    let n = client.poll_transmit(t(0), &mut buf).unwrap().unwrap().len;
    server.handle_datagram(t(0), &buf[..n]);
    let Some(Event::Request { id, .. }) = server.poll_event() else { panic!() };
    assert!(matches!(
        server.respond(t(0), id, Response::new(Code::CONTENT).payload(&big)),
        Err(dots_proto::coap::CommandError::BodyTooLarge { .. })
    ));
}

#[test]
fn etag_change_restarts_the_block2_transfer() {
    let mut client = Ep::new(Config::udp(), 1);
    let mut buf = [0u8; 1500];
    let id = client.request(t(0), Request::con(Code::GET)).unwrap();
    let answer = |client: &mut Ep, buf: &mut [u8], etag: u8, block: Block, payload: &[u8]| -> Option<Block> {
        let n = client.poll_transmit(client.now(), buf).unwrap()?.len;
        let req = Message::parse(&buf[..n]).unwrap();
        let asked = req.options().block2().unwrap();
        let mut resp: MessageRepr<64, 256> = MessageRepr::response_to(&req, Code::CONTENT, 0);
        resp.options.push_etag(&[etag]).unwrap();
        resp.options.set_block2(block).unwrap();
        resp.set_payload(payload).unwrap();
        let mut m = [0u8; 512];
        let k = resp.emit(&mut m).unwrap();
        client.handle_datagram(client.now(), &m[..k]);
        asked
    };
    assert_eq!(answer(&mut client, &mut buf, 1, Block::new(0, true, 2).unwrap(), &[1; 64]), None);
    // The client asks for block 1; the representation changed meanwhile (ETag 2).
    assert_eq!(answer(&mut client, &mut buf, 2, Block::new(1, true, 2).unwrap(), &[2; 64]), Block::new(1, false, 2));
    // It starts again from block 0.
    assert_eq!(answer(&mut client, &mut buf, 2, Block::new(0, false, 2).unwrap(), &[3; 10]), Block::new(0, false, 2));
    match client.poll_event() {
        Some(Event::Response { request, response, .. }) => {
            assert_eq!(request, id);
            assert_eq!(response.payload, &[3; 10]);
        }
        other => panic!("{other:?}"),
    }
}

