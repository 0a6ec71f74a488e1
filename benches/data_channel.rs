//! Data channel (RFC 8783) request handling, against a baseline measured in the same run: the
//! JSON decoding of the same body alone.

use criterion::{criterion_group, criterion_main, Criterion};
use dots::codec::data::DataBody;
use dots::proto::data::{DataServer, DataServerConfig, Method, PeerIdentity, Request};
use dots::proto::time::Instant;
use std::hint::black_box;

const CUID: &str = "dz6pHjaADkaFTbjr0JGBpw";
const DATA: &str = "/restconf/data/ietf-dots-data-channel:dots-data";

/// RFC 8783 Figure 25 (an IPv6/UDP ACL).
const ACL: &[u8] = br#"{"ietf-dots-data-channel:acls": {"acl": [{
    "name": "test-acl-ipv6-udp", "type": "ipv6-acl-type", "activation-type": "immediate",
    "aces": {"ace": [{"name": "my-test-ace",
        "matches": {"ipv6": {"destination-ipv6-network": "2001:db8:6401::2/127",
                             "source-ipv6-network": "2001:db8:1234::/96",
                             "protocol": 17, "flow-label": 10000},
                    "udp": {"source-port-range-or-operator": {"operator": "lte", "port": 80},
                            "destination-port-range-or-operator": {"operator": "neq", "port": 1010}}},
        "actions": {"forwarding": "accept"}}]}}]}}"#;

fn server() -> DataServer {
    let mut s = DataServer::new(DataServerConfig::default());
    let reg = format!(r#"{{"ietf-dots-data-channel:dots-client": [{{"cuid": "{CUID}"}}]}}"#);
    let r = s.handle_request(
        Instant::ZERO,
        &PeerIdentity::client(CUID),
        &Request::new(Method::Post, DATA).with_json(reg.as_bytes()),
    );
    assert_eq!(r.status, 201);
    s
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("data_channel");
    g.bench_function("baseline: decode the ACL body", |b| {
        b.iter(|| DataBody::from_json(black_box(ACL)).unwrap())
    });
    let uri = format!("{DATA}/dots-client={CUID}/acls/acl=test-acl-ipv6-udp");
    let peer = PeerIdentity::client(CUID);
    let mut s = server();
    let mut now = 0u64;
    g.bench_function("PUT the ACL (refresh)", |b| {
        b.iter(|| {
            now += 1;
            let req = Request::new(Method::Put, &uri).with_json(ACL);
            let r = s.handle_request(Instant::from_millis(now), &peer, black_box(&req));
            while s.poll_event().is_some() {}
            r.status
        })
    });
    g.bench_function("GET the ACL", |b| {
        b.iter(|| {
            let req = Request::new(Method::Get, &uri);
            s.handle_request(Instant::from_millis(now), &peer, black_box(&req))
                .body
                .len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
