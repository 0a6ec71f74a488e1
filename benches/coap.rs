//! CoAP codec throughput against coap-lite, measured in the same run, and a check that parsing
//! and emitting allocate nothing.
//!
//! ```sh
//! cargo bench --bench coap
//! ```
//!
//! Two DOTS messages (RFC 9132): a mitigation PUT (Uri-Path `.well-known/dots/mitigate/cuid=…/
//! mid=123`, Content-Format 271, the Figure 8 CBOR body) and a GET with Observe. "parse" reads
//! what a DOTS server reads (Uri-Path segments, Content-Format or Observe, the payload);
//! "parse+emit" also re-encodes the message into a buffer.

use std::alloc::System;
use std::hint::black_box;

use coap_lite::{CoapOption, Packet};
use criterion::{criterion_group, Criterion};
use dots::codec::coap::{Code, ContentFormat, Message, MessageRepr, MessageType, Token};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// RFC 9132 Figure 8.
const FIGURE_8: [u8; 73] = [
    0xa1, 0x01, 0xa1, 0x02, 0x81, 0xa4, 0x06, 0x82, 0x74, 0x32, 0x30, 0x30, 0x31, 0x3a, 0x64, 0x62,
    0x38, 0x3a, 0x36, 0x34, 0x30, 0x31, 0x3a, 0x3a, 0x31, 0x2f, 0x31, 0x32, 0x38, 0x74, 0x32, 0x30,
    0x30, 0x31, 0x3a, 0x64, 0x62, 0x38, 0x3a, 0x36, 0x34, 0x30, 0x31, 0x3a, 0x3a, 0x32, 0x2f, 0x31,
    0x32, 0x38, 0x07, 0x83, 0xa1, 0x08, 0x18, 0x50, 0xa1, 0x08, 0x19, 0x01, 0xbb, 0xa1, 0x08, 0x19,
    0x1f, 0x90, 0x0a, 0x81, 0x06, 0x0e, 0x19, 0x0e, 0x10,
];

fn encode(repr: &MessageRepr) -> Vec<u8> {
    let mut buf = vec![0u8; repr.encoded_len()];
    repr.emit(&mut buf).expect("sized");
    buf
}

fn mitigation_put() -> Vec<u8> {
    let mut put: MessageRepr = MessageRepr::new(
        MessageType::NonConfirmable,
        Code::PUT,
        0x2a51,
        Token::new(&[0x4e, 0x1a, 0x9c, 0x33]).expect("4 bytes"),
    );
    put.options
        .set_uri_path(".well-known/dots/mitigate/cuid=dz6pHjaADkaFTbjr0JGBpw/mid=123")
        .and_then(|o| o.set_content_format(ContentFormat::DOTS_CBOR))
        .expect("fits");
    put.set_payload(&FIGURE_8).expect("fits");
    encode(&put)
}

fn observe_get() -> Vec<u8> {
    let mut get: MessageRepr = MessageRepr::new(
        MessageType::Confirmable,
        Code::GET,
        0x2a52,
        Token::new(&[0x4e, 0x1a, 0x9c, 0x34]).expect("4 bytes"),
    );
    get.options
        .set_observe(0)
        .and_then(|o| o.set_uri_path(".well-known/dots/mitigate/cuid=dz6pHjaADkaFTbjr0JGBpw"))
        .and_then(|o| o.set_accept(ContentFormat::DOTS_CBOR))
        .expect("fits");
    encode(&get)
}

/// What a DOTS server reads from a request, with this crate: a checksum of it.
fn dots_read(bytes: &[u8]) -> usize {
    let m = Message::parse(bytes).expect("valid");
    let o = m.options();
    let mut sum = usize::from(m.code().raw()) + m.token_bytes().len();
    for segment in o.uri_path() {
        sum += segment.expect("utf-8").len();
    }
    sum += o
        .content_format()
        .ok()
        .flatten()
        .map_or(0, |cf| usize::from(cf.0));
    sum += o.observe().ok().flatten().map_or(0, |v| v as usize + 1);
    sum + m.payload().len()
}

/// The same with coap-lite.
fn lite_read(bytes: &[u8]) -> usize {
    let p = Packet::from_bytes(bytes).expect("valid");
    let mut sum = usize::from(u8::from(p.header.code)) + p.get_token().len();
    if let Some(path) = p.get_option(CoapOption::UriPath) {
        for segment in path {
            sum += std::str::from_utf8(segment).expect("utf-8").len();
        }
    }
    if let Some(cf) = p.get_first_option(CoapOption::ContentFormat) {
        sum += cf
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
    }
    if let Some(Ok(v)) = p.get_observe_value() {
        sum += v as usize + 1;
    }
    sum + p.payload.len()
}

/// Parse, copy into the owned form, emit: the bytes written.
fn dots_reencode(bytes: &[u8], out: &mut [u8]) -> usize {
    let m = Message::parse(bytes).expect("valid");
    let repr: MessageRepr = MessageRepr::parse(&m).expect("fits");
    repr.emit(out).expect("fits")
}

fn lite_reencode(bytes: &[u8]) -> usize {
    let p = Packet::from_bytes(bytes).expect("valid");
    p.to_bytes().expect("encodes").len()
}

fn parse(c: &mut Criterion) {
    for (name, bytes) in [
        ("mitigation PUT", mitigation_put()),
        ("GET+Observe", observe_get()),
    ] {
        assert_eq!(dots_read(&bytes), lite_read(&bytes), "both read the same");
        let mut g = c.benchmark_group(format!("coap parse/{name}"));
        g.bench_function("dots", |b| b.iter(|| dots_read(black_box(&bytes))));
        g.bench_function("coap-lite", |b| b.iter(|| lite_read(black_box(&bytes))));
        g.finish();
    }
}

fn parse_emit(c: &mut Criterion) {
    for (name, bytes) in [
        ("mitigation PUT", mitigation_put()),
        ("GET+Observe", observe_get()),
    ] {
        let mut out = [0u8; 1280];
        assert_eq!(dots_reencode(&bytes, &mut out), bytes.len());
        assert_eq!(&out[..bytes.len()], &bytes[..]);
        assert_eq!(lite_reencode(&bytes), bytes.len());
        let mut g = c.benchmark_group(format!("coap parse+emit/{name}"));
        g.bench_function("dots", |b| {
            b.iter(|| dots_reencode(black_box(&bytes), black_box(&mut out)))
        });
        g.bench_function("coap-lite", |b| b.iter(|| lite_reencode(black_box(&bytes))));
        g.finish();
    }
}

/// Parsing, reading the options, copying into the owned form and emitting allocate nothing.
fn assert_no_allocations() {
    let messages = [mitigation_put(), observe_get()];
    let mut out = [0u8; 1280];
    let region = Region::new(GLOBAL);
    let mut total = 0;
    for _ in 0..1000 {
        for bytes in &messages {
            total += dots_read(black_box(bytes));
            total += dots_reencode(black_box(bytes), &mut out);
        }
    }
    let ours = region.change();
    let region = Region::new(GLOBAL);
    for bytes in &messages {
        total += lite_reencode(black_box(bytes));
    }
    let lite = region.change();
    black_box(total);
    println!(
        "allocations over 2000 parse+read+emit runs: dots {} ({} bytes); coap-lite, 2 runs: {}",
        ours.allocations, ours.bytes_allocated, lite.allocations
    );
    assert_eq!(ours.allocations, 0, "the dots CoAP codec must not allocate");
    assert_eq!(ours.reallocations, 0);
}

criterion_group!(benches, parse, parse_emit);

fn main() {
    assert_no_allocations();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
