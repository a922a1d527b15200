//! The id index: every event id in the log → the seq that holds it, for idempotency over the
//! whole history. Kept in memory, loaded from the store checkpoint and completed from the blocks
//! after it on open (`checkpoint.rs`). It stores a 64-bit fingerprint per id, not the id: a
//! fingerprint hit is confirmed by reading the stored record, and ids whose fingerprints collide
//! with another id's go to an exact side map, so a collision costs a read, never a wrong answer.
//! 16 bytes per slot, at most 7/8 of the slots used: 16 to 32 bytes per event.

use std::collections::HashMap;
use std::hash::Hasher;

/// The fingerprint of an id. Checkpoints hold fingerprints, so this function is part of the
/// checkpoint format: a checkpoint records [`fingerprint_probe`] and is not used by a build
/// whose fingerprints differ.
pub(crate) fn fingerprint(id: &[u8]) -> u64 {
    // rustc's Fx hash, then the murmur3 finaliser so that every bit depends on every byte (the
    // table indexes by the top bits, and a collision must be rare, not impossible: it costs one
    // read).
    let mut hasher = rustc_hash::FxHasher::default();
    hasher.write(id);
    hasher.write_usize(id.len());
    let mut hash = hasher.finish();
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    hash ^ (hash >> 33)
}

/// The fingerprint of a fixed id, which a checkpoint records: a build whose [`fingerprint`]
/// differs (another hasher version, another word size) sees another value and rebuilds.
pub(crate) fn fingerprint_probe() -> u64 {
    fingerprint(b"riskledger fingerprint probe v1")
}

/// A slot: [fingerprint, seq]. An array, not a tuple, so that a table of empty slots is
/// allocated zeroed (no fill).
type Slot = [u64; 2];

/// An empty slot (seqs start at 1, so no entry has seq 0).
const EMPTY: Slot = [0, 0];

/// Fingerprint → seq, an ordered linear-probing table: a fingerprint's home slot is its top
/// `bits` bits, every entry sits at or after its home with no empty slot in between, and the
/// entries, read in slot order, are sorted by fingerprint (insertion shifts the rest of a run
/// right; there is no wrap-around, the last run spills into overflow slots past the end). So
/// the table lists its entries sorted without sorting them, and is rebuilt from such a list in
/// one sequential pass ([`FpTable::from_sorted`]): that is how growth and the checkpoint work.
pub(crate) struct FpTable {
    /// (fingerprint, seq); [`EMPTY`] where free. `1 << bits` home slots, then overflow.
    slots: Vec<Slot>,
    bits: u32,
    len: usize,
}

/// Fewest home slots, as a power of two.
const MIN_BITS: u32 = 4;

impl Default for FpTable {
    fn default() -> Self {
        FpTable {
            slots: vec![EMPTY; 1 << MIN_BITS],
            bits: MIN_BITS,
            len: 0,
        }
    }
}

/// The number of home-slot bits for `len` entries: at most 7/8 of the home slots used.
fn bits_for(len: usize) -> u32 {
    let mut bits = MIN_BITS;
    while len > (7usize << bits) / 8 {
        bits += 1;
    }
    bits
}

impl FpTable {
    fn home(&self, fingerprint: u64) -> usize {
        (fingerprint >> (64 - self.bits)) as usize
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn get(&self, fingerprint: u64) -> Option<u64> {
        for &[fp, seq] in &self.slots[self.home(fingerprint)..] {
            if seq == 0 || fp > fingerprint {
                return None;
            }
            if fp == fingerprint {
                return Some(seq);
            }
        }
        None
    }

    /// Adds `fingerprint → seq` unless the fingerprint is already there; whether it added it.
    pub(crate) fn insert(&mut self, fingerprint: u64, seq: u64) -> bool {
        debug_assert!(seq > 0, "seqs start at 1");
        if self.len >= (7usize << self.bits) / 8 {
            self.grow_to(bits_for(self.len + 1));
        }
        let mut at = self.home(fingerprint);
        while let Some(&[fp, s]) = self.slots.get(at) {
            if s == 0 || fp > fingerprint {
                break;
            }
            if fp == fingerprint {
                return false;
            }
            at += 1;
        }
        // Shift the rest of the run one slot right, into the first free slot after it.
        let mut carry = [fingerprint, seq];
        loop {
            match self.slots.get_mut(at) {
                None => {
                    self.slots.push(carry);
                    break;
                }
                Some(slot) => {
                    let was = std::mem::replace(slot, carry);
                    if was[1] == 0 {
                        break;
                    }
                    carry = was;
                    at += 1;
                }
            }
        }
        self.len += 1;
        true
    }

    /// Takes `fingerprint` out (backward shift: later entries of the run that are not at their
    /// home move one slot back).
    pub(crate) fn remove(&mut self, fingerprint: u64) {
        let mut at = self.home(fingerprint);
        loop {
            match self.slots.get(at) {
                Some(&[fp, seq]) if seq != 0 && fp < fingerprint => at += 1,
                Some(&[fp, seq]) if seq != 0 && fp == fingerprint => break,
                _ => return,
            }
        }
        loop {
            let next = match self.slots.get(at + 1) {
                Some(&entry) if entry[1] != 0 && self.home(entry[0]) <= at => entry,
                _ => break,
            };
            self.slots[at] = next;
            at += 1;
        }
        self.slots[at] = EMPTY;
        self.len -= 1;
    }

    /// Every entry, sorted by fingerprint.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.slots
            .iter()
            .filter(|&&[_, seq]| seq != 0)
            .map(|&[fp, seq]| (fp, seq))
    }

    /// An empty table sized for `len` entries (every home slot allocated, zeroed), to be
    /// filled in fingerprint order by [`FpTable::place_sorted`].
    pub(crate) fn sized_for(len: usize) -> Self {
        let bits = bits_for(len);
        FpTable {
            slots: vec![EMPTY; 1 << bits],
            bits,
            len: 0,
        }
    }

    /// Builds a table from entries sorted by strictly increasing fingerprint, with seqs > 0
    /// (the caller checks both), in one pass.
    #[cfg(test)]
    pub(crate) fn from_sorted(len: usize, entries: impl IntoIterator<Item = (u64, u64)>) -> Self {
        let mut table = Self::sized_for(len);
        let mut next = 0;
        for (fp, seq) in entries {
            next = table.place_sorted(next, fp, seq);
        }
        table
    }

    /// Places an entry whose fingerprint sorts after every entry placed so far, the last of
    /// which sits just before `next`: at its home or at `next`, whichever is later. Returns
    /// the `next` of the following entry.
    #[inline]
    pub(crate) fn place_sorted(&mut self, next: usize, fingerprint: u64, seq: u64) -> usize {
        let at = self.home(fingerprint).max(next);
        match self.slots.get_mut(at) {
            Some(slot) => *slot = [fingerprint, seq],
            None => self.slots.push([fingerprint, seq]),
        }
        self.len += 1;
        at + 1
    }

    fn grow_to(&mut self, bits: u32) {
        let old = std::mem::take(&mut self.slots);
        let len = self.len;
        *self = FpTable {
            slots: vec![EMPTY; 1 << bits],
            bits,
            len: 0,
        };
        let mut next = 0;
        for [fp, seq] in old.into_iter().filter(|&[_, seq]| seq != 0) {
            next = self.place_sorted(next, fp, seq);
        }
        debug_assert_eq!(self.len, len);
    }

    /// Makes room for `additional` more entries without growing on the way.
    pub(crate) fn reserve(&mut self, additional: usize) {
        let bits = bits_for(self.len + additional);
        if bits > self.bits {
            self.grow_to(bits);
        }
    }
}

#[derive(Default)]
pub(crate) struct IdIndex {
    pub(crate) by_fingerprint: FpTable,
    pub(crate) exact: HashMap<Box<[u8]>, u64>,
}

impl IdIndex {
    /// The seq that a lookup of `id` should read to confirm, if any.
    pub(crate) fn candidate(&self, fingerprint: u64) -> Option<u64> {
        self.by_fingerprint.get(fingerprint)
    }

    /// The seq of `id` among ids whose fingerprint collided.
    pub(crate) fn exact(&self, id: &[u8]) -> Option<u64> {
        if self.exact.is_empty() {
            return None;
        }
        self.exact.get(id).copied()
    }

    /// Records a new id; the caller has established that `id` is not in the index. Returns
    /// what [`IdIndex::undo`] needs to take it out again.
    pub(crate) fn insert(&mut self, fingerprint: u64, id: &[u8], seq: u64) -> Undo {
        if self.by_fingerprint.insert(fingerprint, seq) {
            Undo::Fingerprint(fingerprint)
        } else {
            self.exact.insert(id.into(), seq);
            Undo::Exact(id.into())
        }
    }

    /// Takes out an id inserted by a batch that did not become durable.
    pub(crate) fn undo(&mut self, undo: Undo) {
        match undo {
            Undo::Fingerprint(fp) => self.by_fingerprint.remove(fp),
            Undo::Exact(id) => {
                self.exact.remove(&id);
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.by_fingerprint.len() + self.exact.len()
    }

    /// Makes room for `additional` more ids.
    pub(crate) fn reserve(&mut self, additional: usize) {
        self.by_fingerprint.reserve(additional);
    }
}

/// How to take one insertion back out.
pub(crate) enum Undo {
    Fingerprint(u64),
    Exact(Box<[u8]>),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two ids with the same fingerprint both stay findable: the second goes to the exact map.
    #[test]
    fn colliding_fingerprints_keep_both_ids() {
        let mut index = IdIndex::default();
        let fp = 42;
        let first = index.insert(fp, b"alpha", 1);
        assert!(matches!(first, Undo::Fingerprint(42)));
        assert_eq!(index.candidate(fp), Some(1));
        assert_eq!(index.exact(b"beta"), None);
        let second = index.insert(fp, b"beta", 2);
        assert!(matches!(second, Undo::Exact(_)));
        assert_eq!(
            index.candidate(fp),
            Some(1),
            "the candidate still names the first id"
        );
        assert_eq!(index.exact(b"beta"), Some(2));
        assert_eq!(index.len(), 2);
        index.undo(second);
        index.undo(first);
        assert_eq!(
            (index.candidate(fp), index.exact(b"beta"), index.len()),
            (None, None, 0)
        );
    }

    /// The table against a plain map, through random inserts, duplicate inserts and removals,
    /// with fingerprints crowded into few home slots (long runs, overflow past the end) or
    /// spread out; entries always come out sorted and a sorted rebuild is the same table.
    #[test]
    fn the_table_agrees_with_a_map() {
        use proptest::prelude::*;
        let op = (
            0u8..4,
            any::<u64>(),
            prop_oneof![Just(0u32), Just(58), Just(62)],
        );
        proptest!(|(ops in proptest::collection::vec(op, 1..400))| {
            let mut table = FpTable::default();
            let mut map = std::collections::BTreeMap::new();
            for (n, (kind, raw, shift)) in ops.into_iter().enumerate() {
                let fp = raw >> shift; // shifted: small values, all homed in the first slots
                let seq = n as u64 + 1;
                match kind {
                    0 | 1 => {
                        let added = table.insert(fp, seq);
                        prop_assert_eq!(added, !map.contains_key(&fp));
                        map.entry(fp).or_insert(seq);
                    }
                    2 => {
                        if map.remove(&fp).is_some() {
                            table.remove(fp);
                        }
                    }
                    _ => {
                        if let Some((&fp, _)) = map.iter().nth(raw as usize % map.len().max(1)) {
                            map.remove(&fp);
                            table.remove(fp);
                        }
                    }
                }
                prop_assert_eq!(table.len(), map.len());
            }
            for (&fp, &seq) in &map {
                prop_assert_eq!(table.get(fp), Some(seq));
                prop_assert_eq!(table.get(fp.wrapping_add(1)), map.get(&fp.wrapping_add(1)).copied());
            }
            let listed: Vec<_> = table.entries().collect();
            let expected: Vec<_> = map.iter().map(|(&fp, &seq)| (fp, seq)).collect();
            prop_assert_eq!(&listed, &expected);
            let rebuilt = FpTable::from_sorted(listed.len(), listed.iter().copied());
            prop_assert_eq!(rebuilt.slots.len() >= 1 << rebuilt.bits, true);
            for (fp, seq) in listed {
                prop_assert_eq!(rebuilt.get(fp), Some(seq));
            }
        });
    }

    #[test]
    fn the_table_grows_and_keeps_every_entry() {
        let mut table = FpTable::default();
        for n in 1..=100_000u64 {
            assert!(table.insert(fingerprint(&n.to_le_bytes()), n));
        }
        assert_eq!(table.bits, bits_for(100_000));
        for n in 1..=100_000u64 {
            assert_eq!(table.get(fingerprint(&n.to_le_bytes())), Some(n));
        }
        assert!(table
            .entries()
            .zip(table.entries().skip(1))
            .all(|(a, b)| a.0 < b.0));
    }

    #[test]
    fn fingerprints_differ_for_ids_that_differ_in_one_byte_or_in_length() {
        assert_ne!(fingerprint(b"ev-1000"), fingerprint(b"ev-1001"));
        assert_ne!(fingerprint(b"a"), fingerprint(b"a\0"));
        let spread: std::collections::HashSet<u64> = (0..4096)
            .map(|n| fingerprint(format!("ev-{n}").as_bytes()) & 4095)
            .collect();
        assert!(
            spread.len() > 2000,
            "low bits spread over {} of 4096",
            spread.len()
        );
    }
}
