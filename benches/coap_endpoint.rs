//! The CoAP transaction layer on a DOTS server's hot path: a mitigation PUT arrives, the
//! session answers 2.01, the response leaves. Measured against a baseline in the same run: the
//! codec alone (parse, read, build and emit the response) without any transaction state; the
//! difference is what deduplication, the response cache, events and timers cost. Also checks
//! that the endpoint allocates nothing.
//!
//! ```sh
//! cargo bench --bench coap_endpoint
//! ```

use std::alloc::System;
use std::hint::black_box;

use criterion::{criterion_group, Criterion, Throughput};
use dots::codec::coap::{
    Code, ContentFormat, Message, MessageRepr, MessageType, OptionList, Token,
};
use dots::proto::coap::{Config, Event, Response, ServerEndpoint};
use dots::proto::time::Instant;
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// RFC 9132 Figure 8 (a mitigation request body).
const FIGURE_8: [u8; 73] = [
    0xa1, 0x01, 0xa1, 0x02, 0x81, 0xa4, 0x06, 0x82, 0x74, 0x32, 0x30, 0x30, 0x31, 0x3a, 0x64, 0x62,
    0x38, 0x3a, 0x36, 0x34, 0x30, 0x31, 0x3a, 0x3a, 0x31, 0x2f, 0x31, 0x32, 0x38, 0x74, 0x32, 0x30,
    0x30, 0x31, 0x3a, 0x64, 0x62, 0x38, 0x3a, 0x36, 0x34, 0x30, 0x31, 0x3a, 0x3a, 0x32, 0x2f, 0x31,
    0x32, 0x38, 0x07, 0x83, 0xa1, 0x08, 0x18, 0x50, 0xa1, 0x08, 0x19, 0x01, 0xbb, 0xa1, 0x08, 0x19,
    0x1f, 0x90, 0x0a, 0x81, 0x06, 0x0e, 0x19, 0x0e, 0x10,
];

/// The 2.01 body: {"mid": 123, "lifetime": 3600} in the RFC 9132 key map.
const CREATED_BODY: [u8; 11] = [
    0xa1, 0x01, 0xa2, 0x05, 0x18, 0x7b, 0x0e, 0x19, 0x0e, 0x10, 0x00,
];

/// Mitigation PUTs with distinct message IDs and tokens (so that none is a duplicate).
fn requests(ty: MessageType, n: u16) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let mut put: MessageRepr = MessageRepr::new(
                ty,
                Code::PUT,
                i,
                Token::new(&u32::from(i).to_be_bytes()).expect("4 bytes"),
            );
            put.options
                .set_uri_path(".well-known/dots/mitigate/cuid=dz6pHjaADkaFTbjr0JGBpw/mid=123")
                .and_then(|o| o.set_content_format(ContentFormat::DOTS_CBOR))
                .expect("fits");
            put.set_payload(&FIGURE_8).expect("fits");
            let mut buf = vec![0u8; put.encoded_len()];
            put.emit(&mut buf).expect("sized");
            buf
        })
        .collect()
}

fn response_options() -> OptionList<16> {
    let mut o = OptionList::new();
    o.set_content_format(ContentFormat::DOTS_CBOR)
        .expect("fits");
    o
}

/// One exchange through the endpoint; returns the response size.
fn endpoint_exchange(
    ep: &mut ServerEndpoint,
    now: Instant,
    request: &[u8],
    options: &OptionList<16>,
    out: &mut [u8],
) -> usize {
    ep.handle_datagram(now, request);
    let mut sum = 0;
    while let Some(ev) = ep.poll_event() {
        if let Event::Request { id, request, .. } = ev {
            sum += request.payload.len() + request.options.uri_path().count();
            ep.respond(
                now,
                id,
                Response::new(Code::CREATED)
                    .options(options.as_options())
                    .payload(&CREATED_BODY),
            )
            .expect("answered");
        }
    }
    while let Ok(Some(t)) = ep.poll_transmit(now, out) {
        sum += t.len;
    }
    sum
}

/// The same with the codec alone: no deduplication, cache, events or timers.
fn codec_exchange(request: &[u8], mid: u16, out: &mut [u8]) -> usize {
    let m = Message::parse(request).expect("valid");
    let sum = m.payload().len() + m.options().uri_path().count();
    let mut resp: MessageRepr<16, 64> = MessageRepr::response_to(&m, Code::CREATED, mid);
    resp.options
        .set_content_format(ContentFormat::DOTS_CBOR)
        .expect("fits");
    resp.set_payload(&CREATED_BODY).expect("fits");
    sum + resp.emit(out).expect("fits")
}

fn exchange(c: &mut Criterion) {
    for (name, ty) in [
        ("NON PUT -> NON 2.01", MessageType::NonConfirmable),
        ("CON PUT -> ACK 2.01", MessageType::Confirmable),
    ] {
        let reqs = requests(ty, 4096);
        let options = response_options();
        let mut out = [0u8; 1500];
        let mut ep = ServerEndpoint::new(Config::udp(), 1);
        let now = Instant::from_secs(1);
        let via_ep = endpoint_exchange(&mut ep, now, &reqs[0], &options, &mut out);
        assert_eq!(
            via_ep,
            codec_exchange(&reqs[0], 0, &mut out),
            "same work both ways"
        );
        let mut g = c.benchmark_group(format!("coap endpoint/{name}"));
        g.throughput(Throughput::Elements(1));
        let mut i = 1usize;
        g.bench_function("endpoint", |b| {
            b.iter(|| {
                i = (i + 1) % reqs.len();
                endpoint_exchange(&mut ep, now, black_box(&reqs[i]), &options, &mut out)
            })
        });
        let mut j = 0usize;
        g.bench_function("codec only (baseline)", |b| {
            b.iter(|| {
                j = (j + 1) % reqs.len();
                codec_exchange(black_box(&reqs[j]), j as u16, &mut out)
            })
        });
        g.finish();
    }
}

/// The server's hot path allocates nothing.
fn assert_no_allocations() {
    let reqs = requests(MessageType::NonConfirmable, 2000);
    let options = response_options();
    let mut out = [0u8; 1500];
    let mut ep = ServerEndpoint::new(Config::udp(), 1);
    let region = Region::new(GLOBAL);
    let mut total = 0;
    for (k, r) in reqs.iter().enumerate() {
        total += endpoint_exchange(
            &mut ep,
            Instant::from_millis(k as u64),
            black_box(r),
            &options,
            &mut out,
        );
    }
    let stats = region.change();
    black_box(total);
    println!(
        "allocations over 2000 endpoint exchanges: {} ({} bytes)",
        stats.allocations, stats.bytes_allocated
    );
    assert_eq!(stats.allocations, 0, "the CoAP endpoint must not allocate");
    assert_eq!(stats.reallocations, 0);
}

criterion_group!(benches, exchange);

fn main() {
    assert_no_allocations();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
