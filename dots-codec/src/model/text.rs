//! Compact bounded storage for the text members of a scope (`target-fqdn`, `target-uri`,
//! `alias-name`, ACL names): one byte buffer per scope instead of one fixed string per item, so a
//! stored mitigation stays small (see [`TEXT_CAPACITY`](super::TEXT_CAPACITY)).

use super::{CapacityError, MAX_TEXT_LEN};

/// What a text entry is. The numeric order is the canonical storage order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum TextKind {
    Fqdn = 1,
    Uri = 2,
    Alias = 3,
    Acl = 4,
}

/// One entry: `aux` is a kind-specific byte, `a` and `b` are strings (`b` is often empty).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry<'a> {
    pub(crate) aux: u8,
    pub(crate) a: &'a str,
    pub(crate) b: &'a str,
}

const HEADER: usize = 4;

/// Entries laid out as `[kind][aux][len a][len b][a bytes][b bytes]`, grouped by kind in
/// [`TextKind`] order and in insertion order within a kind, so equal contents compare equal.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub(crate) struct TextPool<const CAP: usize> {
    buf: heapless::Vec<u8, CAP, u16>,
}

impl<const CAP: usize> core::fmt::Debug for TextPool<CAP> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut l = f.debug_list();
        for kind in [
            TextKind::Fqdn,
            TextKind::Uri,
            TextKind::Alias,
            TextKind::Acl,
        ] {
            for e in self.iter(kind) {
                l.entry(&(kind, e.aux, e.a, e.b));
            }
        }
        l.finish()
    }
}

impl<const CAP: usize> TextPool<CAP> {
    pub(crate) const fn new() -> Self {
        TextPool {
            buf: heapless::Vec::new(),
        }
    }

    /// Bytes in use (headers included).
    pub(crate) fn used(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Appends an entry after the last entry of the same kind.
    pub(crate) fn push(
        &mut self,
        kind: TextKind,
        aux: u8,
        a: &str,
        b: &str,
    ) -> Result<(), CapacityError> {
        let (Ok(la), Ok(lb)) = (u8::try_from(a.len()), u8::try_from(b.len())) else {
            return Err(CapacityError::TextTooLong {
                limit: MAX_TEXT_LEN,
            });
        };
        let need = HEADER + a.len() + b.len();
        if self.buf.len() + need > CAP {
            return Err(CapacityError::TextFull { limit: CAP });
        }
        // Insertion point: the end of the last entry whose kind is <= `kind`.
        let mut at = 0;
        let mut pos = 0;
        while let Some((k, next)) = self.entry_at(pos) {
            if k > kind as u8 {
                break;
            }
            pos = next;
            at = next;
        }
        let old_len = self.buf.len();
        let header = [kind as u8, aux, la, lb];
        // Capacity was checked above, so these cannot fail; map defensively anyway.
        self.buf
            .extend_from_slice(&header)
            .and_then(|()| self.buf.extend_from_slice(a.as_bytes()))
            .and_then(|()| self.buf.extend_from_slice(b.as_bytes()))
            .map_err(|_| CapacityError::TextFull { limit: CAP })?;
        if at < old_len {
            if let Some(tail) = self.buf.get_mut(at..) {
                tail.rotate_right(need);
            }
        }
        Ok(())
    }

    /// `(kind, start of next entry)` for the entry at `pos`.
    fn entry_at(&self, pos: usize) -> Option<(u8, usize)> {
        let h = self.buf.get(pos..pos + HEADER)?;
        Some((h[0], pos + HEADER + usize::from(h[2]) + usize::from(h[3])))
    }

    fn decode_at(&self, pos: usize) -> Option<(u8, Entry<'_>, usize)> {
        let h = self.buf.get(pos..pos + HEADER)?;
        let (kind, aux, la, lb) = (h[0], h[1], usize::from(h[2]), usize::from(h[3]));
        let a_start = pos + HEADER;
        let b_start = a_start + la;
        let end = b_start + lb;
        let a = core::str::from_utf8(self.buf.get(a_start..b_start)?).ok()?;
        let b = core::str::from_utf8(self.buf.get(b_start..end)?).ok()?;
        Some((kind, Entry { aux, a, b }, end))
    }

    /// The entries of one kind, in insertion order.
    pub(crate) fn iter(&self, kind: TextKind) -> TextIter<'_, CAP> {
        TextIter {
            pool: self,
            pos: 0,
            kind: kind as u8,
        }
    }

    /// Number of entries of one kind.
    pub(crate) fn count(&self, kind: TextKind) -> usize {
        self.iter(kind).count()
    }
}

/// Iterator over the entries of one kind.
#[derive(Clone)]
pub(crate) struct TextIter<'a, const CAP: usize> {
    pool: &'a TextPool<CAP>,
    pos: usize,
    kind: u8,
}

impl<'a, const CAP: usize> Iterator for TextIter<'a, CAP> {
    type Item = Entry<'a>;
    fn next(&mut self) -> Option<Entry<'a>> {
        loop {
            let (kind, entry, next) = self.pool.decode_at(self.pos)?;
            self.pos = next;
            if kind == self.kind {
                return Some(entry);
            }
            if kind > self.kind {
                self.pos = usize::MAX;
                return None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::vec::Vec;

    #[test]
    fn grouped_by_kind_in_insertion_order() {
        let mut p = TextPool::<64>::new();
        p.push(TextKind::Alias, 0, "a1", "").unwrap();
        p.push(TextKind::Fqdn, 0, "f1", "").unwrap();
        p.push(TextKind::Alias, 0, "a2", "").unwrap();
        p.push(TextKind::Acl, 3, "n", "t").unwrap();
        p.push(TextKind::Fqdn, 0, "f2", "").unwrap();
        let f: Vec<_> = p.iter(TextKind::Fqdn).map(|e| e.a).collect();
        let a: Vec<_> = p.iter(TextKind::Alias).map(|e| e.a).collect();
        assert_eq!(f, ["f1", "f2"]);
        assert_eq!(a, ["a1", "a2"]);
        let acl: Vec<_> = p.iter(TextKind::Acl).collect();
        assert_eq!(
            acl,
            [Entry {
                aux: 3,
                a: "n",
                b: "t"
            }]
        );
        assert_eq!(p.count(TextKind::Uri), 0);

        let mut q = TextPool::<64>::new();
        q.push(TextKind::Fqdn, 0, "f1", "").unwrap();
        q.push(TextKind::Fqdn, 0, "f2", "").unwrap();
        q.push(TextKind::Alias, 0, "a1", "").unwrap();
        q.push(TextKind::Alias, 0, "a2", "").unwrap();
        q.push(TextKind::Acl, 3, "n", "t").unwrap();
        assert_eq!(p, q);
    }

    #[test]
    fn capacity_is_a_typed_error() {
        let mut p = TextPool::<10>::new();
        p.push(TextKind::Fqdn, 0, "abcdef", "").unwrap();
        assert_eq!(
            p.push(TextKind::Fqdn, 0, "x", ""),
            Err(CapacityError::TextFull { limit: 10 })
        );
        let long = "x".repeat(256);
        let mut p = TextPool::<600>::new();
        assert_eq!(
            p.push(TextKind::Uri, 0, &long, ""),
            Err(CapacityError::TextTooLong { limit: 255 })
        );
        assert_eq!(p.used(), 0);
    }
}
