//! DOTS signal-channel server core (RFC 9132): mitigation PUTs with 100,000 active
//! mitigations in the table, against a baseline measured in the same run (decoding and
//! validating the same body alone, what any server must do), plus the memory per active
//! mitigation.
//!
//! ```sh
//! cargo bench --bench server
//! # instruction counts of each case, reproducible on a noisy machine:
//! DOTS_PROFILE=20000 valgrind --tool=callgrind --collect-atstart=no \
//!     --toggle-collect='*profile_*' target/release/deps/server-HASH
//! ```
//!
//! With `DOTS_PROFILE=N` the bench builds the table, runs `N` PUTs of each case in a function
//! of its own (`profile_new`, `profile_busy`, `profile_refresh`, `profile_decode`) and exits,
//! without criterion: callgrind then counts each case separately (divide by `N`).
//!
//! Each PUT goes through the whole core: Uri-Path parsing, body decode, validation, cuid
//! ownership, same-client and cross-client overlap checks in the prefix index, replacement of
//! the overlapped lower `mid`, insertion (index, timer), the 2.01 body and the host events
//! (drained each time, as a host would). Bodies carry two /128 targets and three ports like
//! RFC 9132 Figure 7, each client with its own addresses.

use std::alloc::System;
use std::hint::black_box;

#[path = "support/table.rs"]
mod table;

use table::{body, CLIENTS, PER_CLIENT};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dots::codec::cbor::CborBody;
use dots::codec::coap::Code;
use dots::codec::model::MitigationRequest;
use dots::proto::data::PeerIdentity;
use dots::proto::signal::server::{Request, ServerConfig, SignalServer, MIN_RESPONSE_BUFFER};
use dots::proto::time::Instant;
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// `mid=N` without allocating.
fn mid_segment(mid: u32, buf: &mut [u8; 16]) -> &str {
    buf[..4].copy_from_slice(b"mid=");
    let mut digits = [0u8; 10];
    let mut n = mid;
    let mut len = 0;
    loop {
        digits[len] = b'0' + (n % 10) as u8;
        len += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for i in 0..len {
        buf[4 + i] = digits[len - 1 - i];
    }
    std::str::from_utf8(&buf[..4 + len]).unwrap()
}

struct Table {
    server: SignalServer,
    cuids: Vec<String>,
    cuid_segments: Vec<String>,
    bodies: Vec<Vec<u8>>,
    next_mid: Vec<u32>,
    /// The last request of each client: `(mid, target set)`.
    last: Vec<(u32, usize)>,
    out: Vec<u8>,
    now: Instant,
}

impl Table {
    fn put(&mut self, client: usize, set: usize, mid: u32) -> Code {
        let mut mb = [0u8; 16];
        let segs = [
            ".well-known",
            "dots",
            "mitigate",
            &self.cuid_segments[client],
            mid_segment(mid, &mut mb),
        ];
        let req = Request::new(Code::PUT, &segs).with_cbor(&self.bodies[client * PER_CLIENT + set]);
        let peer = PeerIdentity::client(&self.cuids[client]);
        let r = self
            .server
            .handle_request(self.now, &peer, &req, &mut self.out)
            .unwrap();
        while self.server.poll_event().is_some() {}
        r.response().unwrap().code
    }
}

fn table() -> (Table, isize) {
    let mut config = ServerConfig::default();
    config.quotas.rate = None;
    config.quotas.max_clients = CLIENTS * 2;
    let cuids: Vec<String> = (0..CLIENTS).map(|i| format!("c{i:021}")).collect();
    let bodies: Vec<Vec<u8>> = (0..CLIENTS)
        .flat_map(|c| (0..PER_CLIENT).map(move |s| body(c, s)))
        .collect();
    let mut t = Table {
        server: SignalServer::new(config),
        cuid_segments: cuids.iter().map(|c| format!("cuid={c}")).collect(),
        cuids,
        bodies,
        next_mid: vec![PER_CLIENT as u32; CLIENTS],
        last: vec![(PER_CLIENT as u32 - 1, PER_CLIENT - 1); CLIENTS],
        out: vec![0u8; MIN_RESPONSE_BUFFER],
        now: Instant::from_secs(1),
    };
    let region = Region::new(GLOBAL);
    for c in 0..CLIENTS {
        for s in 0..PER_CLIENT {
            assert_eq!(t.put(c, s, s as u32), Code::CREATED);
        }
    }
    let ch = region.change();
    let bytes = ch.bytes_allocated as isize - ch.bytes_deallocated as isize;
    assert_eq!(t.server.mitigation_count(), CLIENTS * PER_CLIENT);
    (t, bytes)
}

/// A new mid for one target set of a client, overlapping (and replacing) its previous request
/// for that set: the table stays at 100,000 active mitigations. `clients` clients take turns.
fn put_new(t: &mut Table, k: usize, clients: usize) -> Code {
    let client = k % clients;
    let set = (k / clients) % PER_CLIENT;
    let mid = t.next_mid[client];
    t.next_mid[client] += 1;
    t.last[client] = (mid, set);
    t.put(client, set, mid)
}

/// A refresh: the same mid and parameters as the client's last request (2.04).
fn put_refresh(t: &mut Table, k: usize) -> Code {
    let client = k % CLIENTS;
    let (mid, set) = t.last[client];
    t.put(client, set, mid)
}

#[inline(never)]
fn profile_decode(body: &[u8], n: usize) {
    for _ in 0..n {
        let r = MitigationRequest::decode_cbor(black_box(body)).unwrap();
        r.validate().unwrap();
        black_box(r);
    }
}

#[inline(never)]
fn profile_new(t: &mut Table, n: usize) {
    for k in 0..n {
        assert_eq!(put_new(t, k, CLIENTS), Code::CREATED);
    }
}

#[inline(never)]
fn profile_busy(t: &mut Table, n: usize) {
    for k in 0..n {
        assert_eq!(put_new(t, k, 16), Code::CREATED);
    }
}

#[inline(never)]
fn profile_refresh(t: &mut Table, n: usize) {
    for k in 0..n {
        assert_eq!(put_refresh(t, k), Code::CHANGED);
    }
}

/// `DOTS_PROFILE=N`: each case `N` times in its own function, for callgrind.
fn profile(n: usize) {
    let (mut t, bytes) = table();
    println!(
        "table: {} active mitigations, {} heap bytes per active mitigation",
        t.server.mitigation_count(),
        bytes / (CLIENTS * PER_CLIENT) as isize
    );
    // One round over every client first, so that per-client vectors have their steady size.
    for k in 0..CLIENTS {
        put_new(&mut t, k, CLIENTS);
    }
    let fig8 = t.bodies[0].clone();
    profile_decode(&fig8, n);
    profile_new(&mut t, n);
    profile_busy(&mut t, n);
    profile_refresh(&mut t, n);
    assert_eq!(t.server.mitigation_count(), CLIENTS * PER_CLIENT);
    t.server.check_invariants().unwrap();
}

fn bench(c: &mut Criterion) {
    if let Some(n) = std::env::var("DOTS_PROFILE")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        profile(n);
        return;
    }
    let (mut t, bytes) = table();
    let n = (CLIENTS * PER_CLIENT) as isize;
    println!(
        "table: {n} active mitigations of {CLIENTS} clients, {} heap bytes per active mitigation",
        bytes / n
    );

    let mut g = c.benchmark_group("signal_server");
    g.throughput(Throughput::Elements(1));
    let fig8 = t.bodies[0].clone();
    g.bench_function("baseline: decode + validate the PUT body", |b| {
        b.iter(|| {
            let r = MitigationRequest::decode_cbor(black_box(&fig8)).unwrap();
            r.validate().unwrap();
            r
        })
    });

    let mut k = 0usize;
    g.bench_function(
        "PUT new mid replacing the overlapped one (100k active)",
        |b| {
            b.iter(|| {
                let code = put_new(&mut t, k, CLIENTS);
                k += 1;
                debug_assert_eq!(code, Code::CREATED);
                black_box(code)
            })
        },
    );
    assert_eq!(t.server.mitigation_count(), CLIENTS * PER_CLIENT);

    // The same, from 16 clients only (their state stays in cache): an attack-time burst.
    let mut k = 0usize;
    g.bench_function(
        "PUT new mid replacing the overlapped one, 16 busy clients (100k active)",
        |b| {
            b.iter(|| {
                let code = put_new(&mut t, k, 16);
                k += 1;
                debug_assert_eq!(code, Code::CREATED);
                black_box(code)
            })
        },
    );
    assert_eq!(t.server.mitigation_count(), CLIENTS * PER_CLIENT);

    // A refresh: the same mid and parameters (2.04).
    let mut k = 0usize;
    g.bench_function("PUT refresh of an active mitigation (100k active)", |b| {
        b.iter(|| {
            let code = put_refresh(&mut t, k);
            k += 1;
            debug_assert_eq!(code, Code::CHANGED);
            black_box(code)
        })
    });
    g.finish();
    t.server.check_invariants().unwrap();
}

criterion_group!(benches, bench);
criterion_main!(benches);
