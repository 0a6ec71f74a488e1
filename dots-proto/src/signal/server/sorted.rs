//! An ordered set of small `Copy` keys kept in sorted blocks: the server's prefix index and
//! timer table.
//!
//! Keys sit in blocks of at most [`BLOCK`] sorted keys; a second sorted vector holds the
//! smallest key of each block. A lookup is two binary searches (one over the block minima, one
//! in a block); an insertion or removal moves at most a block's worth of keys (a few hundred
//! bytes). Compared with a B-tree of the same keys it touches fewer cache lines and compares
//! keys `O(log n)` times instead of scanning node after node, which is what the PUT path of
//! the server pays for with 100,000 mitigations in the table.
//!
//! Blocks split when they exceed [`BLOCK`] keys and merge with a neighbour when they fall
//! below a quarter of it, so the number of blocks stays proportional to the number of keys.

use alloc::vec::Vec;
use core::ops::ControlFlow;

/// Maximum keys per block.
const BLOCK: usize = 64;

/// A sorted set of `K` (see the module documentation).
#[derive(Debug, Clone)]
pub(crate) struct SortedSet<K> {
    /// The smallest key of each block; parallel to `blocks`, never empty blocks.
    mins: Vec<K>,
    blocks: Vec<Vec<K>>,
    len: usize,
    /// The block of the last insertion or removal, tried first by the next one (keys of one
    /// request, and a replaced request's keys, are usually neighbours). Only a guess: it is
    /// checked against the block minima before use.
    hint: usize,
}

impl<K> Default for SortedSet<K> {
    fn default() -> Self {
        SortedSet {
            mins: Vec::new(),
            blocks: Vec::new(),
            len: 0,
            hint: 0,
        }
    }
}

impl<K: Ord + Copy> SortedSet<K> {
    /// An empty set.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Number of keys.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The block that holds `k`, or would: the last block whose minimum is `<= k` (the first
    /// block for keys below every minimum).
    fn block_for(&self, k: &K) -> usize {
        self.mins.partition_point(|m| m <= k).saturating_sub(1)
    }

    /// [`block_for`](Self::block_for), trying the block of the last change first.
    fn block_for_near(&mut self, k: &K) -> usize {
        let h = self.hint;
        if let Some(m) = self.mins.get(h) {
            // Block `h` is the last one whose minimum is `<= k` exactly when the next one's
            // minimum (if any) is above `k`.
            if m <= k && self.mins.get(h + 1).is_none_or(|next| k < next) {
                return h;
            }
        }
        let i = self.block_for(k);
        self.hint = i;
        i
    }

    /// Inserts `k`; false if it was present.
    pub(crate) fn insert(&mut self, k: K) -> bool {
        if self.blocks.is_empty() {
            let mut b = Vec::with_capacity(BLOCK + 1);
            b.push(k);
            self.blocks.push(b);
            self.mins.push(k);
            self.len = 1;
            return true;
        }
        let i = self.block_for_near(&k);
        let Some(b) = self.blocks.get_mut(i) else {
            return false;
        };
        let Err(at) = b.binary_search(&k) else {
            return false;
        };
        b.insert(at, k);
        self.len += 1;
        if at == 0 {
            if let Some(m) = self.mins.get_mut(i) {
                *m = k;
            }
        }
        if b.len() > BLOCK {
            let mut tail = Vec::with_capacity(BLOCK + 1);
            tail.extend_from_slice(b.get(BLOCK / 2..).unwrap_or_default());
            b.truncate(BLOCK / 2);
            if let Some(&first) = tail.first() {
                self.mins.insert(i + 1, first);
                self.blocks.insert(i + 1, tail);
            }
        }
        true
    }

    /// Removes `k`; false if it was absent.
    pub(crate) fn remove(&mut self, k: &K) -> bool {
        let i = self.block_for_near(k);
        let Some(b) = self.blocks.get_mut(i) else {
            return false;
        };
        let Ok(at) = b.binary_search(k) else {
            return false;
        };
        b.remove(at);
        self.len -= 1;
        match b.first() {
            None => {
                self.blocks.remove(i);
                self.mins.remove(i);
                return true;
            }
            Some(&first) if at == 0 => {
                if let Some(m) = self.mins.get_mut(i) {
                    *m = first;
                }
            }
            Some(_) => {}
        }
        if b.len() < BLOCK / 4 {
            self.merge_small(i);
        }
        true
    }

    /// Merges block `i` into a neighbour when they fit one block together.
    fn merge_small(&mut self, i: usize) {
        let len = |s: &Self, j: usize| s.blocks.get(j).map_or(usize::MAX, Vec::len);
        let n = len(self, i);
        let (left, right) = if i + 1 < self.blocks.len() && n + len(self, i + 1) <= BLOCK {
            (i, i + 1)
        } else if i > 0 && n + len(self, i - 1) <= BLOCK {
            (i - 1, i)
        } else {
            return;
        };
        let moved = self.blocks.remove(right);
        self.mins.remove(right);
        if let Some(b) = self.blocks.get_mut(left) {
            b.extend_from_slice(&moved);
        }
    }

    /// Whether `k` is present.
    pub(crate) fn contains(&self, k: &K) -> bool {
        self.blocks
            .get(self.block_for(k))
            .is_some_and(|b| b.binary_search(k).is_ok())
    }

    /// The smallest key.
    pub(crate) fn first(&self) -> Option<&K> {
        self.blocks.first().and_then(|b| b.first())
    }

    /// Calls `f` on the keys in `lo..=hi`, ascending, until it breaks.
    pub(crate) fn visit_range(
        &self,
        lo: &K,
        hi: &K,
        mut f: impl FnMut(&K) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        let i = self.block_for(lo);
        let Some(blocks) = self.blocks.get(i..) else {
            return ControlFlow::Continue(());
        };
        let mut first = true;
        for b in blocks {
            let start = if first {
                b.partition_point(|k| k < lo)
            } else {
                0
            };
            first = false;
            for k in b.get(start..).unwrap_or_default() {
                if k > hi {
                    return ControlFlow::Continue(());
                }
                f(k)?;
            }
        }
        ControlFlow::Continue(())
    }

    /// Every key, ascending.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &K> + '_ {
        self.blocks.iter().flatten()
    }
}

impl<'a, K: Ord + Copy> IntoIterator for &'a SortedSet<K> {
    type Item = &'a K;
    type IntoIter = core::iter::Flatten<core::slice::Iter<'a, Vec<K>>>;

    fn into_iter(self) -> Self::IntoIter {
        self.blocks.iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeSet;
    use proptest::prelude::*;

    fn range(s: &SortedSet<u16>, lo: u16, hi: u16) -> alloc::vec::IntoIter<u16> {
        let mut v = Vec::new();
        let _ = s.visit_range(&lo, &hi, |k| {
            v.push(*k);
            ControlFlow::Continue(())
        });
        v.into_iter()
    }

    fn check(s: &SortedSet<u16>, model: &BTreeSet<u16>) {
        assert_eq!(s.len(), model.len());
        assert!(s.iter().copied().eq(model.iter().copied()));
        assert_eq!(s.first(), model.first());
        for (m, b) in s.mins.iter().zip(&s.blocks) {
            assert_eq!(Some(m), b.first());
            assert!(!b.is_empty() && b.len() <= BLOCK);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn behaves_like_a_btreeset(ops in proptest::collection::vec((any::<bool>(), 0u16..2000), 0..3000)) {
            let mut s = SortedSet::new();
            let mut model = BTreeSet::new();
            for (add, k) in ops {
                if add {
                    prop_assert_eq!(s.insert(k), model.insert(k));
                } else {
                    prop_assert_eq!(s.remove(&k), model.remove(&k));
                }
                prop_assert_eq!(s.contains(&k), model.contains(&k));
            }
            check(&s, &model);
            for (lo, hi) in [(0, 2000), (5, 5), (100, 900), (1999, 0), (700, 1500)] {
                prop_assert!(range(&s, lo, hi).eq(model.range(lo..=hi.max(lo)).copied().filter(|k| *k <= hi)));
                // An early exit stops at the first key.
                let mut seen = 0;
                let flow = s.visit_range(&lo, &hi, |_| {
                    seen += 1;
                    ControlFlow::Break(())
                });
                prop_assert_eq!(seen, usize::from(range(&s, lo, hi).next().is_some()));
                prop_assert_eq!(flow.is_break(), seen == 1);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Runs of neighbouring keys (the last block is usually the right one, and blocks
        /// split and merge under the remembered one).
        #[test]
        fn neighbouring_changes_behave_like_a_btreeset(
            runs in proptest::collection::vec((any::<bool>(), 0u16..4000, 1u16..100, 1u16..4), 0..200)
        ) {
            let mut s = SortedSet::new();
            let mut model = BTreeSet::new();
            for (add, start, len, step) in runs {
                for k in (0..len).map(|i| start.saturating_add(i * step)) {
                    if add {
                        prop_assert_eq!(s.insert(k), model.insert(k));
                    } else {
                        prop_assert_eq!(s.remove(&k), model.remove(&k));
                    }
                }
                // A far key between runs moves the remembered block.
                prop_assert_eq!(s.contains(&(start / 2)), model.contains(&(start / 2)));
            }
            check(&s, &model);
        }
    }

    #[test]
    fn blocks_split_and_merge() {
        let mut s = SortedSet::new();
        let mut model = BTreeSet::new();
        for k in (0..10_000u16).rev() {
            s.insert(k);
            model.insert(k);
        }
        check(&s, &model);
        assert!(s.blocks.len() >= 10_000 / BLOCK);
        for k in (0..10_000u16).filter(|k| k % 7 != 0) {
            s.remove(&k);
            model.remove(&k);
        }
        check(&s, &model);
        assert!(
            s.blocks.len() <= 4 * s.len() / BLOCK + 2,
            "{} blocks",
            s.blocks.len()
        );
        assert!(range(&s, 100, 140).eq([105, 112, 119, 126, 133, 140]));
    }
}
