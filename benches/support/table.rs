//! The mitigation table both server benches fill: 10,000 clients with 10 target sets each.

use dots::codec::cbor::CborBody;
use dots::codec::model::{Lifetime, MitigationRequest, PortRange, Scope};

/// Clients in the table.
pub(crate) const CLIENTS: usize = 10_000;
/// Target sets per client, each an active mitigation: 100,000 in all.
pub(crate) const PER_CLIENT: usize = 10;

/// The CBOR body of the mitigation request for `set` of `client`: two /128 prefixes of their
/// own, ports 80, 443 and 8080, TCP, lifetime 3600.
pub(crate) fn body(client: usize, set: usize) -> Vec<u8> {
    let mut s = Scope::new();
    let i = client * PER_CLIENT + set;
    for host in [1, 2] {
        let p = format!("2001:db8:{:x}:{:x}::{host}/128", i >> 16, i & 0xffff);
        s.targets.push_prefix(p.parse().unwrap()).unwrap();
    }
    for port in [80, 443, 8080] {
        s.targets.port_ranges.push(PortRange::single(port)).unwrap();
    }
    s.targets.protocols.push(6).unwrap();
    s.lifetime = Some(Lifetime::Seconds(3600));
    let r = MitigationRequest::new(s);
    let mut buf = vec![0u8; r.encoded_len()];
    r.encode_cbor(&mut buf).unwrap();
    buf
}
