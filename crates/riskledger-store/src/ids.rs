//! The id index: every event id in the log → the seq that holds it, for idempotency over the
//! whole history. Kept in memory and rebuilt on open. It stores a 64-bit fingerprint per id, not
//! the id: a fingerprint hit is confirmed by reading the stored record, and ids whose
//! fingerprints collide with another id's go to an exact side map, so a collision costs a read,
//! never a wrong answer. About 20 bytes per event (16 for the entry, hash-table slack on top).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// The fingerprint is already a hash: the table uses it as is.
#[derive(Default)]
pub(crate) struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, _: &[u8]) {
        unreachable!("only u64 keys are hashed")
    }
    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

pub(crate) fn fingerprint(id: &[u8]) -> u64 {
    // rustc's Fx hash, then the murmur3 finaliser so that every bit depends on every byte (the
    // table indexes by low bits, and a collision must be rare, not impossible: it costs one
    // read). The index is never persisted, so the algorithm may change between builds.
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

#[derive(Default)]
pub(crate) struct IdIndex {
    by_fingerprint: HashMap<u64, u64, BuildHasherDefault<PassThrough>>,
    exact: HashMap<Box<[u8]>, u64>,
}

impl IdIndex {
    /// The seq that a lookup of `id` should read to confirm, if any.
    pub(crate) fn candidate(&self, fingerprint: u64) -> Option<u64> {
        self.by_fingerprint.get(&fingerprint).copied()
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
        use std::collections::hash_map::Entry;
        match self.by_fingerprint.entry(fingerprint) {
            Entry::Vacant(slot) => {
                slot.insert(seq);
                Undo::Fingerprint(fingerprint)
            }
            Entry::Occupied(_) => {
                self.exact.insert(id.into(), seq);
                Undo::Exact(id.into())
            }
        }
    }

    /// Takes out an id inserted by a batch that did not become durable.
    pub(crate) fn undo(&mut self, undo: Undo) {
        match undo {
            Undo::Fingerprint(fp) => {
                self.by_fingerprint.remove(&fp);
            }
            Undo::Exact(id) => {
                self.exact.remove(&id);
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.by_fingerprint.len() + self.exact.len()
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
