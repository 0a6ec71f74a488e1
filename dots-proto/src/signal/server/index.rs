//! Overlap detection without scanning the table (RFC 9132 Section 4.4.1.3: requests overlap
//! when they share an IP address, prefix, FQDN, URI or alias).
//!
//! Prefixes live in one 128-bit space (IPv4 mapped into `::ffff:0:0/96`). Two prefixes overlap
//! exactly when one contains the other, so the prefixes overlapping `p` are
//!
//! - its *ancestors*: for each prefix length `l <= len(p)` in use, the entries equal to `p`
//!   truncated to `l` — one ordered lookup per length in use (at most 129, typically a handful);
//! - its *descendants*: the entries whose network lies in `p`'s range with a longer length — one
//!   ordered range, which yields nothing else (a shorter prefix starting inside `p` would not be
//!   aligned).
//!
//! So a lookup costs `O(L log n + k)` for `L` lengths in use and `k` results, whatever the number
//! `n` of stored prefixes. One index holds every client's targets, keyed by prefix, then client
//! slot, then `mid`: cross-client questions walk it with an early exit, and same-client
//! questions read only the client's own run of keys for each ancestor (the entries of one
//! prefix are sorted by slot), so neither walks other clients' entries of an exact match. The
//! keys sit in sorted blocks ([`SortedSet`]). FQDNs (case-insensitive), URIs and alias names
//! (scoped to their client) have exact-match maps.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::ops::ControlFlow;

use dots_codec::ipnet::IpNet;

use super::sorted::SortedSet;

/// A prefix in the 128-bit space: network address and length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Net {
    hi: u64,
    lo: u64,
    len: u8,
}

fn mask(len: u8) -> u128 {
    match len {
        0 => 0,
        l if l >= 128 => u128::MAX,
        l => !(u128::MAX >> l),
    }
}

impl Net {
    pub(crate) fn new(addr: u128, len: u8) -> Net {
        let len = len.min(128);
        let a = addr & mask(len);
        Net {
            hi: (a >> 64) as u64,
            lo: a as u64,
            len,
        }
    }

    pub(crate) fn from_ipnet(n: &IpNet) -> Net {
        match n {
            IpNet::V4(v4) => Net::new(
                (0xffffu128 << 32) | u128::from(u32::from(v4.network())),
                96 + v4.prefix_len(),
            ),
            IpNet::V6(v6) => Net::new(u128::from(v6.network()), v6.prefix_len()),
        }
    }

    pub(crate) fn addr(&self) -> u128 {
        (u128::from(self.hi) << 64) | u128::from(self.lo)
    }

    pub(crate) fn len(&self) -> u8 {
        self.len
    }

    pub(crate) fn last(&self) -> u128 {
        self.addr() | !mask(self.len)
    }

    pub(crate) fn truncate(&self, len: u8) -> Net {
        Net::new(self.addr(), len.min(self.len))
    }

    pub(crate) fn overlaps(&self, other: &Net) -> bool {
        let l = self.len.min(other.len);
        (self.addr() & mask(l)) == (other.addr() & mask(l))
    }
}

/// Prefix lengths in use, 0..=128.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct LenSet([u64; 3]);

impl LenSet {
    pub(crate) fn insert(&mut self, len: u8) {
        let l = usize::from(len.min(128));
        if let Some(w) = self.0.get_mut(l / 64) {
            *w |= 1 << (l % 64);
        }
    }

    /// Whether a length above `len` is in use.
    pub(crate) fn any_above(&self, len: u8) -> bool {
        let from = usize::from(len) + 1;
        self.0.iter().enumerate().any(|(i, &w)| {
            let base = i * 64;
            let keep = match from.checked_sub(base) {
                None => u64::MAX,
                Some(d) if d >= 64 => 0,
                Some(d) => u64::MAX << d,
            };
            w & keep != 0
        })
    }

    /// The lengths in use that are `<= max`, ascending.
    pub(crate) fn up_to(&self, max: u8) -> impl Iterator<Item = u8> + '_ {
        let max = u32::from(max.min(128));
        self.0.iter().enumerate().flat_map(move |(i, &w)| {
            let base = (i as u32) * 64;
            // Keep the bits for lengths base..=max.
            let keep = match max.checked_sub(base) {
                None => 0,
                Some(d) if d >= 63 => u64::MAX,
                Some(d) => (1u64 << (d + 1)) - 1,
            };
            let mut bits = w & keep;
            core::iter::from_fn(move || {
                if bits == 0 {
                    return None;
                }
                let b = bits.trailing_zeros();
                bits &= bits - 1;
                Some((base + b) as u8)
            })
        })
    }
}

/// The kind of a name target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum NameKind {
    Fqdn = 0,
    Uri = 1,
    Alias = 2,
}

/// Normalizes a name for comparison: FQDNs are case-insensitive and a trailing dot is
/// insignificant; URIs and aliases compare exactly.
pub(crate) fn normalize(kind: NameKind, s: &str, buf: &mut [u8; 256]) -> usize {
    let s = match kind {
        NameKind::Fqdn => s.strip_suffix('.').unwrap_or(s),
        _ => s,
    };
    let n = s.len().min(buf.len());
    for (d, c) in buf.iter_mut().zip(s.bytes().take(n)) {
        *d = if kind == NameKind::Fqdn {
            c.to_ascii_lowercase()
        } else {
            c
        };
    }
    n
}

fn norm_str(buf: &[u8; 256], n: usize) -> &str {
    core::str::from_utf8(buf.get(..n).unwrap_or(&[])).unwrap_or("")
}

/// Largest client slot the global index can hold (24 bits, packed with the prefix length).
pub(crate) const MAX_SLOTS: usize = 1 << 24;

/// A global index key, 24 bytes: network, then length, slot and `mid` packed in one word
/// (`len << 56 | slot << 32 | mid`, which orders as `(len, slot, mid)`). Keys order as
/// `(network, len, slot, mid)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct GKey {
    hi: u64,
    lo: u64,
    rest: u64,
}

impl GKey {
    fn new(net: Net, slot: u32, mid: u32) -> GKey {
        GKey {
            hi: net.hi,
            lo: net.lo,
            rest: (u64::from(net.len) << 56)
                | (u64::from(slot & 0x00ff_ffff) << 32)
                | u64::from(mid),
        }
    }

    fn len(&self) -> u8 {
        (self.rest >> 56) as u8
    }

    fn net(&self) -> Net {
        Net {
            hi: self.hi,
            lo: self.lo,
            len: self.len(),
        }
    }

    fn slot(&self) -> u32 {
        (self.rest >> 32) as u32 & 0x00ff_ffff
    }

    fn mid(&self) -> u32 {
        self.rest as u32
    }
}

/// Exact-match name map: normalized name → `(slot, mid)`s.
type NameMap = BTreeMap<Box<str>, Vec<(u32, u32)>>;

/// Every client's targets.
#[derive(Debug, Default)]
pub(crate) struct GlobalIndex {
    prefixes: SortedSet<GKey>,
    counts: Vec<u32>,
    lens: LenSet,
    /// FQDNs, URIs, alias names.
    names: [NameMap; 3],
}

impl GlobalIndex {
    pub(crate) fn insert_prefix(&mut self, net: Net, slot: u32, mid: u32) {
        if self.prefixes.insert(GKey::new(net, slot, mid)) {
            if self.counts.is_empty() {
                self.counts = alloc::vec![0; 129];
            }
            if let Some(c) = self.counts.get_mut(usize::from(net.len)) {
                *c += 1;
            }
            self.lens.insert(net.len);
        }
    }

    pub(crate) fn remove_prefix(&mut self, net: Net, slot: u32, mid: u32) {
        if self.prefixes.remove(&GKey::new(net, slot, mid)) {
            if let Some(c) = self.counts.get_mut(usize::from(net.len)) {
                *c = c.saturating_sub(1);
                if *c == 0 {
                    self.lens = LenSet::default();
                    for (l, &n) in self.counts.iter().enumerate() {
                        if n > 0 {
                            self.lens.insert(l as u8);
                        }
                    }
                }
            }
        }
    }

    /// Calls `f(slot, mid, stored prefix)` for every stored prefix overlapping `net`, until `f`
    /// breaks.
    pub(crate) fn overlapping(
        &self,
        net: Net,
        mut f: impl FnMut(u32, u32, Net) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        for l in self.lens.up_to(net.len) {
            let a = net.truncate(l);
            let lo = GKey::new(a, 0, 0);
            let hi = GKey::new(a, u32::MAX, u32::MAX);
            self.prefixes
                .visit_range(&lo, &hi, |k| f(k.slot(), k.mid(), k.net()))?;
        }
        self.descendants(net, |k| f(k.slot(), k.mid(), k.net()))?;
        ControlFlow::Continue(())
    }

    fn map(&self, kind: NameKind) -> Option<&NameMap> {
        self.names.get(kind as usize)
    }

    fn map_mut(&mut self, kind: NameKind) -> Option<&mut NameMap> {
        self.names.get_mut(kind as usize)
    }

    pub(crate) fn insert_name(&mut self, kind: NameKind, name: &str, slot: u32, mid: u32) {
        let mut buf = [0; 256];
        let n = normalize(kind, name, &mut buf);
        let key = norm_str(&buf, n);
        let Some(map) = self.map_mut(kind) else {
            return;
        };
        let v = match map.get_mut(key) {
            Some(v) => v,
            None => map.entry(Box::from(key)).or_default(),
        };
        if !v.contains(&(slot, mid)) {
            v.push((slot, mid));
        }
    }

    pub(crate) fn remove_name(&mut self, kind: NameKind, name: &str, slot: u32, mid: u32) {
        let mut buf = [0; 256];
        let n = normalize(kind, name, &mut buf);
        let key = norm_str(&buf, n);
        let Some(map) = self.map_mut(kind) else {
            return;
        };
        if let Some(v) = map.get_mut(key) {
            v.retain(|&e| e != (slot, mid));
            if v.is_empty() {
                map.remove(key);
            }
        }
    }

    /// Calls `f(slot, mid)` for every entry with the same name, until `f` breaks. Alias names
    /// belong to their client: callers asking across clients skip them.
    pub(crate) fn same_name(
        &self,
        kind: NameKind,
        name: &str,
        mut f: impl FnMut(u32, u32) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        let mut buf = [0; 256];
        let n = normalize(kind, name, &mut buf);
        if let Some(v) = self.map(kind).and_then(|m| m.get(norm_str(&buf, n))) {
            for &(s, m) in v {
                f(s, m)?;
            }
        }
        ControlFlow::Continue(())
    }

    /// Calls `f(mid)` for every request of client `slot` with the same name.
    pub(crate) fn same_name_in(
        &self,
        kind: NameKind,
        name: &str,
        slot: u32,
        mut f: impl FnMut(u32),
    ) {
        let mut buf = [0; 256];
        let n = normalize(kind, name, &mut buf);
        if let Some(v) = self.map(kind).and_then(|m| m.get(norm_str(&buf, n))) {
            for &(_, m) in v.iter().filter(|&&(s, _)| s == slot) {
                f(m);
            }
        }
    }

    /// Calls `f(mid, stored prefix)` for every prefix of client `slot` overlapping `net`.
    pub(crate) fn overlapping_in(&self, net: Net, slot: u32, mut f: impl FnMut(u32, Net)) {
        for l in self.lens.up_to(net.len) {
            let a = net.truncate(l);
            let _ = self.prefixes.visit_range(
                &GKey::new(a, slot, 0),
                &GKey::new(a, slot, u32::MAX),
                |k| {
                    f(k.mid(), a);
                    ControlFlow::Continue(())
                },
            );
        }
        let _ = self.descendants(net, |k| {
            if k.slot() == slot {
                f(k.mid(), k.net());
            }
            ControlFlow::Continue(())
        });
    }

    /// Entries strictly inside `net` (longer prefixes within its range).
    fn descendants(
        &self,
        net: Net,
        mut f: impl FnMut(&GKey) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        if net.len < 128 && self.lens.any_above(net.len) {
            let first = Net {
                len: net.len + 1,
                ..net
            };
            let end = Net::new(net.last(), 128);
            let lo = GKey::new(first, 0, 0);
            let hi = GKey::new(end, u32::MAX, u32::MAX);
            self.prefixes.visit_range(&lo, &hi, |k| {
                if k.len() > net.len {
                    f(k)?;
                }
                ControlFlow::Continue(())
            })?;
        }
        ControlFlow::Continue(())
    }

    /// Whether an entry exists (for consistency checks).
    pub(crate) fn contains_prefix(&self, net: Net, slot: u32, mid: u32) -> bool {
        self.prefixes.contains(&GKey::new(net, slot, mid))
    }

    /// Number of prefix entries (for consistency checks).
    pub(crate) fn prefix_entries(&self) -> impl Iterator<Item = (u32, u32, Net)> + '_ {
        self.prefixes.iter().map(|k| (k.slot(), k.mid(), k.net()))
    }

    /// Name entries (for consistency checks).
    pub(crate) fn name_entries(&self) -> impl Iterator<Item = (NameKind, &str, u32, u32)> + '_ {
        let kinds = [NameKind::Fqdn, NameKind::Uri, NameKind::Alias];
        self.names.iter().zip(kinds).flat_map(|(m, k)| {
            m.iter()
                .flat_map(move |(n, v)| v.iter().map(move |&(s, mid)| (k, &**n, s, mid)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use core::str::FromStr;

    fn n(s: &str) -> Net {
        Net::from_ipnet(&IpNet::from_str(s).unwrap())
    }

    fn global_hits(g: &GlobalIndex, q: &str) -> Vec<u32> {
        let mut v = Vec::new();
        let _ = g.overlapping(n(q), |_, mid, _| {
            v.push(mid);
            ControlFlow::Continue(())
        });
        v.sort_unstable();
        v
    }

    fn client_hits(g: &GlobalIndex, slot: u32, q: &str) -> Vec<u32> {
        let mut v = Vec::new();
        g.overlapping_in(n(q), slot, |mid, _| v.push(mid));
        v.sort_unstable();
        v
    }

    proptest::proptest! {
        /// Keys order as `(network, length, slot, mid)`, by every comparison operator.
        #[test]
        fn keys_order_as_their_fields(
            a in (0u128..4, 0u128..4, 0u8..=128, 0u32..3, 0u32..3),
            b in (0u128..4, 0u128..4, 0u8..=128, 0u32..3, 0u32..3),
            ahi in proptest::prelude::any::<bool>(),
        ) {
            let key = |(h, l, len, slot, mid): (u128, u128, u8, u32, u32)| {
                let hi = if ahi { h << 120 } else { h << 64 };
                let addr = hi | l | if len == 0 { 0 } else { u128::MAX >> len.min(127) };
                let net = Net::new(addr, len);
                let mut slot = slot;
                if slot == 2 {
                    slot = 0x00ff_ffff;
                }
                let mid = [0, 1, u32::MAX][mid as usize];
                (GKey::new(net, slot, mid), (net.addr(), net.len(), slot, mid))
            };
            let ((ka, ta), (kb, tb)) = (key(a), key(b));
            proptest::prop_assert_eq!(ka.cmp(&kb), ta.cmp(&tb));
            proptest::prop_assert_eq!(ka.partial_cmp(&kb), ta.partial_cmp(&tb));
            proptest::prop_assert_eq!(ka < kb, ta < tb);
            proptest::prop_assert_eq!(ka <= kb, ta <= tb);
            proptest::prop_assert_eq!(ka > kb, ta > tb);
            proptest::prop_assert_eq!(ka >= kb, ta >= tb);
            proptest::prop_assert_eq!(ka == kb, ta == tb);
            proptest::prop_assert_eq!((ka.net(), ka.slot(), ka.mid()), (Net::new(ta.0, ta.1), ta.2, ta.3));
        }
    }

    #[test]
    fn length_sets() {
        let mut l = LenSet::default();
        for x in [0u8, 8, 63, 64, 96, 127, 128] {
            l.insert(x);
        }
        let v: Vec<u8> = l.up_to(128).collect();
        assert_eq!(v, vec![0, 8, 63, 64, 96, 127, 128]);
        assert_eq!(l.up_to(64).collect::<Vec<_>>(), vec![0, 8, 63, 64]);
        assert_eq!(l.up_to(63).collect::<Vec<_>>(), vec![0, 8, 63]);
        assert_eq!(l.up_to(7).collect::<Vec<_>>(), vec![0]);
        assert_eq!(l.up_to(127).count(), 6);
    }

    #[test]
    fn nets() {
        assert!(n("10.0.0.0/8").overlaps(&n("10.1.2.3/32")));
        assert!(!n("10.0.0.0/8").overlaps(&n("11.0.0.0/8")));
        assert!(!n("10.0.0.0/8").overlaps(&n("2001:db8::/32")));
        assert!(n("::ffff:10.0.0.0/104").overlaps(&n("10.0.0.1/32")));
        assert_eq!(n("10.1.2.3/8"), n("10.0.0.0/8"));
        assert_eq!(n("::/0").last(), u128::MAX);
    }

    #[test]
    fn ancestors_descendants_and_disjoint() {
        let mut g = GlobalIndex::default();
        let entries = [
            ("10.0.0.0/8", 1),
            ("10.1.0.0/16", 2),
            ("10.1.2.3/32", 3),
            ("10.2.0.0/16", 4),
            ("11.0.0.0/8", 5),
            ("2001:db8::/32", 6),
            ("2001:db8:6401::1/128", 7),
            ("10.1.2.0/24", 8),
        ];
        for (p, mid) in entries {
            g.insert_prefix(n(p), 0, mid);
            // Another client's copy of each, which same-client questions never see.
            g.insert_prefix(n(p), 1, mid + 100);
        }
        for (q, want) in [
            ("10.1.2.0/24", vec![1, 2, 3, 8]),
            ("10.1.0.0/16", vec![1, 2, 3, 8]),
            ("10.0.0.0/7", vec![1, 2, 3, 4, 5, 8]),
            ("10.3.0.0/16", vec![1]),
            ("12.0.0.0/8", vec![]),
            ("2001:db8:6401::/48", vec![6, 7]),
            ("2001:db9::/32", vec![]),
            ("0.0.0.0/1", vec![1, 2, 3, 4, 5, 8]),
            ("::/0", vec![1, 2, 3, 4, 5, 6, 7, 8]),
        ] {
            let mut all = want.clone();
            all.extend(want.iter().map(|m| m + 100));
            assert_eq!(global_hits(&g, q), all, "global {q}");
            assert_eq!(client_hits(&g, 0, q), want, "client {q}");
        }
        g.remove_prefix(n("10.0.0.0/8"), 0, 1);
        g.remove_prefix(n("10.0.0.0/8"), 1, 101);
        assert_eq!(global_hits(&g, "10.3.0.0/16"), Vec::<u32>::new());
        assert_eq!(client_hits(&g, 0, "10.3.0.0/16"), Vec::<u32>::new());
        assert_eq!(client_hits(&g, 0, "10.1.2.3/32"), vec![2, 3, 8]);
    }

    #[test]
    fn early_exit() {
        let mut g = GlobalIndex::default();
        for i in 0..100u32 {
            g.insert_prefix(Net::new(u128::from(i) << 8, 120), 0, i);
        }
        let mut seen = 0;
        let flow = g.overlapping(Net::new(0, 64), |_, _, _| {
            seen += 1;
            if seen == 3 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        assert_eq!(flow, ControlFlow::Break(()));
        assert_eq!(seen, 3);
    }

    #[test]
    fn names() {
        let mut g = GlobalIndex::default();
        g.insert_name(NameKind::Fqdn, "WWW.Example.com.", 1, 10);
        g.insert_name(NameKind::Alias, "web", 1, 11);
        g.insert_name(NameKind::Alias, "web", 2, 11);
        let mut hits = Vec::new();
        let _ = g.same_name(NameKind::Fqdn, "www.example.com", |s, m| {
            hits.push((s, m));
            ControlFlow::Continue(())
        });
        assert_eq!(hits, vec![(1, 10)]);
        let mut mids = Vec::new();
        g.same_name_in(NameKind::Fqdn, "www.EXAMPLE.com", 1, |m| mids.push(m));
        g.same_name_in(NameKind::Fqdn, "www.EXAMPLE.com", 2, |m| mids.push(m));
        g.same_name_in(NameKind::Alias, "web", 1, |m| mids.push(m));
        g.same_name_in(NameKind::Alias, "Web", 1, |m| mids.push(m));
        assert_eq!(mids, vec![10, 11]);
        g.remove_name(NameKind::Fqdn, "www.example.com", 1, 10);
        assert_eq!(g.name_entries().count(), 2);
    }
}
