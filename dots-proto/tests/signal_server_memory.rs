//! Memory per active mitigation and per idle client, measured with a counting global
//! allocator (heap bytes live after the operations; allocator bookkeeping excluded, reported
//! separately as a live-allocation count).

mod signal_server_support;

use std::alloc::System;

use dots_codec::cbor::CborBody;
use dots_codec::coap::Code;
use dots_proto::signal::server::{ServerConfig, SignalServer};
use dots_proto::time::Instant;
use signal_server_support::*;
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn live(r: &Region<'_, System>) -> (isize, isize) {
    let c = r.change();
    (
        c.bytes_allocated as isize - c.bytes_deallocated as isize,
        c.allocations as isize - c.deallocations as isize,
    )
}

const CLIENTS: usize = 2_000;
const PER_CLIENT: u32 = 10;

#[test]
fn bytes_per_active_mitigation_and_per_idle_client() {
    let mut config = ServerConfig::default();
    config.quotas.rate = None;
    // No test hooks here: their log would be counted.
    let mut server = SignalServer::new(config);
    let now = Instant::from_secs(1000);
    let cuids: Vec<String> = (0..CLIENTS).map(|i| format!("client-{i:016}")).collect();
    // Bodies prepared outside the measured region.
    let bodies: Vec<Vec<u8>> = (0..CLIENTS as u32 * PER_CLIENT)
        .map(|i| {
            let a = format!("2001:db8:{:x}:{:x}::1/128", i >> 16, i & 0xffff);
            let b = format!("2001:db8:{:x}:{:x}::2/128", i >> 16, i & 0xffff);
            cbor(
                &FIG7
                    .replace("2001:db8:6401::1/128", &a)
                    .replace("2001:db8:6401::2/128", &b),
            )
        })
        .collect();
    let uris: Vec<String> = (0..CLIENTS)
        .flat_map(|c| (0..PER_CLIENT).map(move |m| (c, m)))
        .map(|(c, m)| mitigate_uri(&cuids[c], Some(m)))
        .collect();
    let segs: Vec<Vec<String>> = uris.iter().map(|u| path(u)).collect();
    let segs: Vec<Vec<&str>> = segs
        .iter()
        .map(|s| s.iter().map(String::as_str).collect())
        .collect();
    let mut out = vec![0u8; 4096];

    let region = Region::new(GLOBAL);
    for (i, body) in bodies.iter().enumerate() {
        let c = i / PER_CLIENT as usize;
        let req = dots_proto::signal::server::Request::new(Code::PUT, &segs[i]).with_cbor(body);
        let r = server
            .handle_request(
                now,
                &dots_proto::data::PeerIdentity::client(&cuids[c]),
                &req,
                &mut out,
            )
            .unwrap();
        assert_eq!(r.response().unwrap().code, Code::CREATED);
        while server.poll_event().is_some() {}
    }
    let (bytes, allocs) = live(&region);
    let n = CLIENTS as isize * PER_CLIENT as isize;
    let per_mitigation = bytes / n;
    println!(
        "{n} active mitigations over {CLIENTS} clients: {bytes} heap bytes, {per_mitigation} B per mitigation (client records included), {:.1} live allocations per mitigation",
        allocs as f64 / n as f64
    );
    assert!(
        per_mitigation <= 512,
        "{per_mitigation} B per active mitigation"
    );
    server.check_invariants().unwrap();

    // GET of all a client's mitigations (10 scopes) allocates nothing.
    let get = path(&mitigate_uri(&cuids[7], None));
    let get: Vec<&str> = get.iter().map(String::as_str).collect();
    let req = dots_proto::signal::server::Request::new(Code::GET, &get);
    let peer = dots_proto::data::PeerIdentity::client(&cuids[7]);
    let region_get = Region::new(GLOBAL);
    let r = server.handle_request(now, &peer, &req, &mut out).unwrap();
    assert_eq!(region_get.change().allocations, 0, "GET allocates nothing");
    let r = r.response().unwrap();
    assert_eq!(r.code, Code::CONTENT);
    let all = dots_codec::model::MitigationScope::decode_cbor(&out[..r.payload_len]).unwrap();
    assert_eq!(all.scopes.len(), PER_CLIENT as usize);

    // Idle clients: a negotiated configuration each, no mitigation.
    let mut server = SignalServer::new(ServerConfig::default());
    let body = cbor(FIG23);
    let seg = path("/.well-known/dots/config/sid=1");
    let seg: Vec<&str> = seg.iter().map(String::as_str).collect();
    let region2 = Region::new(GLOBAL);
    for c in &cuids {
        let req = dots_proto::signal::server::Request::new(Code::PUT, &seg).with_cbor(&body);
        let r = server
            .handle_request(
                now,
                &dots_proto::data::PeerIdentity::client(c),
                &req,
                &mut out,
            )
            .unwrap();
        assert_eq!(r.response().unwrap().code, Code::CREATED);
        while server.poll_event().is_some() {}
    }
    let (bytes, allocs) = live(&region2);
    let per_client = bytes / CLIENTS as isize;
    println!(
        "{CLIENTS} idle clients with a session configuration: {per_client} B per client, {:.1} live allocations per client",
        allocs as f64 / CLIENTS as f64
    );
    assert!(per_client <= 4096, "{per_client} B per idle client");
}
