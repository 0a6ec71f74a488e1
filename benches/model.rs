//! Signal channel model codec throughput against a generic CBOR baseline, measured in the same
//! run: `cargo bench --bench model`.
//!
//! - `decode_validate_fig8`: RFC 9132 Figure 8 (a mitigation request) decoded and validated by
//!   `dots-codec`, vs `ciborium` decoding it into a generic `ciborium::Value` and walking it to
//!   extract and check the same fields (what a map-of-interface{} implementation does).
//! - `encode_get_16_scopes`: a GET response with 16 scopes (Figure 14-like) encoded into a
//!   caller buffer, vs building the `ciborium::Value` tree and serializing it with serde.
//!
//! Before measuring, the bench counts heap allocations of our paths (allocation-counter) and
//! fails if there is any.

use std::hint::black_box;
use std::str::FromStr;

use ciborium::Value;
use criterion::{criterion_group, criterion_main, Criterion};
use dots::codec::cbor::{encode_scopes, CborBody};
use dots::codec::ipnet::IpNet;
use dots::codec::model::{
    Lifetime, MitigationRequest, MitigationStatus, Scope, ScopeEntry, MAX_SCOPES,
};

const FIG8: [u8; 73] = [
    0xa1, 0x01, 0xa1, 0x02, 0x81, 0xa4, 0x06, 0x82, 0x74, b'2', b'0', b'0', b'1', b':', b'd', b'b',
    b'8', b':', b'6', b'4', b'0', b'1', b':', b':', b'1', b'/', b'1', b'2', b'8', 0x74, b'2', b'0',
    b'0', b'1', b':', b'd', b'b', b'8', b':', b'6', b'4', b'0', b'1', b':', b':', b'2', b'/', b'1',
    b'2', b'8', 0x07, 0x83, 0xa1, 0x08, 0x18, 0x50, 0xa1, 0x08, 0x19, 0x01, 0xbb, 0xa1, 0x08, 0x19,
    0x1f, 0x90, 0x0a, 0x81, 0x06, 0x0e, 0x19, 0x0e, 0x10,
];

fn ours_decode(bytes: &[u8]) -> usize {
    let r = MitigationRequest::decode_cbor(bytes).expect("Figure 8 decodes");
    r.validate().expect("Figure 8 is valid");
    r.entry.scope.targets.prefixes.len()
}

fn get(v: &Value, key: u64) -> Option<&Value> {
    v.as_map()?
        .iter()
        .find(|(k, _)| k.as_integer().map(u64::try_from) == Some(Ok(key)))
        .map(|(_, v)| v)
}

fn baseline_decode(bytes: &[u8]) -> usize {
    let v: Value = ciborium::from_reader(bytes).expect("Figure 8 decodes");
    let scopes = get(&v, 1)
        .and_then(|m| get(m, 2))
        .and_then(Value::as_array)
        .expect("scope");
    assert_eq!(scopes.len(), 1);
    let s = &scopes[0];
    let prefixes: Vec<IpNet> = get(s, 6)
        .and_then(Value::as_array)
        .expect("target-prefix")
        .iter()
        .map(|p| IpNet::from_str(p.as_text().expect("text")).expect("prefix"))
        .collect();
    for r in get(s, 7).and_then(Value::as_array).expect("ports") {
        let lower = get(r, 8).and_then(Value::as_integer).expect("lower-port");
        assert!(u16::try_from(lower).is_ok());
    }
    let lifetime = get(s, 14).and_then(Value::as_integer).expect("lifetime");
    assert!(i128::from(lifetime) != 0);
    prefixes.len()
}

fn entries() -> Vec<ScopeEntry> {
    (0..MAX_SCOPES as u32)
        .map(|i| {
            let mut s = Scope::new();
            s.targets
                .push_prefix("2001:db8:6401::1/128".parse().unwrap())
                .unwrap();
            s.targets
                .push_prefix("2001:db8:6401::2/128".parse().unwrap())
                .unwrap();
            s.targets.protocols.push(17).unwrap();
            s.lifetime = Some(Lifetime::Seconds(1756));
            ScopeEntry {
                mid: Some(12332 + i),
                mitigation_start: Some(1_507_818_434),
                status: Some(MitigationStatus::SuccessfullyMitigated),
                bytes_dropped: Some(134_334_555),
                bps_dropped: Some(43_344),
                pkts_dropped: Some(333_334_444),
                pps_dropped: Some(432_432),
                ..ScopeEntry::request(s)
            }
        })
        .collect()
}

fn int(k: u64) -> Value {
    Value::Integer(k.into())
}

fn baseline_encode(entries: &[ScopeEntry], out: &mut Vec<u8>) -> usize {
    let scopes = entries
        .iter()
        .map(|e| {
            let s = &e.scope;
            Value::Map(vec![
                (int(5), int(e.mid.unwrap().into())),
                (
                    int(6),
                    Value::Array(
                        s.targets
                            .prefixes
                            .iter()
                            .map(|p| Value::Text(p.to_string()))
                            .collect(),
                    ),
                ),
                (
                    int(10),
                    Value::Array(
                        s.targets
                            .protocols
                            .iter()
                            .map(|p| int((*p).into()))
                            .collect(),
                    ),
                ),
                (int(14), int(s.lifetime.unwrap().as_i64() as u64)),
                (int(15), int(e.mitigation_start.unwrap())),
                (int(16), int(e.status.unwrap().value().into())),
                (int(25), int(e.bytes_dropped.unwrap())),
                (int(26), int(e.bps_dropped.unwrap())),
                (int(27), int(e.pkts_dropped.unwrap())),
                (int(28), int(e.pps_dropped.unwrap())),
            ])
        })
        .collect();
    let body = Value::Map(vec![(
        int(1),
        Value::Map(vec![(int(2), Value::Array(scopes))]),
    )]);
    out.clear();
    ciborium::into_writer(&body, &mut *out).expect("encodes");
    out.len()
}

fn no_allocations() {
    let entries = entries();
    let mut buf = vec![0u8; 8192];
    let decode = allocation_counter::measure(|| {
        black_box(ours_decode(black_box(&FIG8)));
    });
    let encode = allocation_counter::measure(|| {
        black_box(encode_scopes(black_box(&entries), &mut buf).unwrap());
    });
    let base = allocation_counter::measure(|| {
        black_box(baseline_decode(black_box(&FIG8)));
    });
    let mut out = Vec::with_capacity(8192);
    let base_enc = allocation_counter::measure(|| {
        black_box(baseline_encode(black_box(&entries), &mut out));
    });
    println!(
        "heap allocations: dots decode+validate {}, dots encode {}; ciborium decode {}, ciborium encode {}",
        decode.count_total, encode.count_total, base.count_total, base_enc.count_total
    );
    assert_eq!(decode.count_total, 0, "decode + validate must not allocate");
    assert_eq!(encode.count_total, 0, "encode must not allocate");
}

fn bench(c: &mut Criterion) {
    no_allocations();
    assert_eq!(ours_decode(&FIG8), baseline_decode(&FIG8));

    let mut g = c.benchmark_group("decode_validate_fig8");
    g.bench_function("dots-codec", |b| b.iter(|| ours_decode(black_box(&FIG8))));
    g.bench_function("ciborium-value", |b| {
        b.iter(|| baseline_decode(black_box(&FIG8)))
    });
    g.finish();

    let entries = entries();
    let mut buf = vec![0u8; 8192];
    let mut out = Vec::with_capacity(8192);
    let n = encode_scopes(&entries, &mut buf).unwrap();
    let m = baseline_encode(&entries, &mut out);
    assert_eq!(n, m, "both encodings have the same size");
    let mut g = c.benchmark_group("encode_get_16_scopes");
    g.bench_function("dots-codec", |b| {
        b.iter(|| encode_scopes(black_box(&entries), &mut buf).unwrap())
    });
    g.bench_function("ciborium-value", |b| {
        b.iter(|| baseline_encode(black_box(&entries), &mut out))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
