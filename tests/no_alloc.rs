//! The signal channel hot paths do not touch the heap: decoding and validating a mitigation
//! request, and encoding a response with many scopes into a caller buffer.

use dots::codec::cbor::{encode_scopes, CborBody};
use dots::codec::model::{Lifetime, MitigationRequest, MitigationStatus, Scope, ScopeEntry};

const FIG8: &str = "a101a10281a4068274323030313a6462383a363430313a3a312f31323874323030313a6462383a363430313a3a322f3132380783a1081850a1081901bba108191f900a81060e190e10";

#[test]
fn decode_validate_and_encode_do_not_allocate() {
    let fig8 = hex::decode(FIG8).unwrap();
    let mut scope = Scope::new();
    scope
        .targets
        .push_prefix("2001:db8::/32".parse().unwrap())
        .unwrap();
    scope.targets.push_fqdn("www.example.com").unwrap();
    scope.lifetime = Some(Lifetime::Seconds(3600));
    let entries: Vec<ScopeEntry> = (0..16)
        .map(|mid| ScopeEntry {
            mid: Some(mid),
            status: Some(MitigationStatus::InProgress),
            bytes_dropped: Some(1 << 40),
            ..ScopeEntry::request(scope.clone())
        })
        .collect();
    let mut buf = vec![0u8; 4096];

    let decode = allocation_counter::measure(|| {
        let r = MitigationRequest::decode_cbor(std::hint::black_box(&fig8)).unwrap();
        r.validate().unwrap();
        std::hint::black_box(r);
    });
    assert_eq!(decode.count_total, 0);

    let encode = allocation_counter::measure(|| {
        let n = encode_scopes(&entries, &mut buf).unwrap();
        std::hint::black_box(n);
    });
    assert_eq!(encode.count_total, 0);

    // The counter does see allocations (the measurement is not vacuous).
    let control = allocation_counter::measure(|| {
        std::hint::black_box(vec![1u8; 10]);
    });
    assert_eq!(control.count_total, 1);
}
