//! The device index's map: device names to what a login needs to know about the device,
//! looked up once per login. (The account index holds slots only: `crate::keys::SlotIndex`.)
//!
//! A name of up to 24 bytes (nearly all) is a key of four machine words (its bytes and its
//! length), so a lookup hashes and compares words, with no call to `memcmp` or a byte loop.
//! Longer names go to a second map.
//!
//! The value is a small record of what a login needs to know about the device (see
//! `super::device_index`): it sits in the bucket the lookup has just read, so reading it
//! costs no further cache miss.

use std::hash::{Hash, Hasher};

use crate::keys::FastMap;

const SHORT_BYTES: usize = 24;

/// A short name as four words: the name's bytes read as up to three words (the last one may
/// overlap the one before), and its length. Given the length the words give back every byte,
/// so two names have the same key exactly when they are the same name. Built with fixed-size
/// loads only (no copy of a variable length).
#[derive(Clone, Copy, Debug, Eq)]
struct Short([u64; 4]);

impl PartialEq for Short {
    /// Word by word on values in registers. The derived comparison reloaded the freshly built
    /// key from the stack as 16-byte vectors, which the CPU cannot forward from the 8-byte
    /// stores that wrote it: the profile put most of a lookup's time on that reload.
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        let [a0, a1, a2, a3] = self.0;
        let [b0, b1, b2, b3] = other.0;
        ((a0 ^ b0) | (a1 ^ b1) | (a2 ^ b2) | (a3 ^ b3)) == 0
    }
}

impl Short {
    #[inline]
    fn new(name: &str) -> Option<Short> {
        let bytes = name.as_bytes();
        let len = bytes.len();
        let word = |at: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&bytes[at..at + 8]);
            u64::from_le_bytes(w)
        };
        let words = match len {
            0..=7 => {
                let mut w = 0u64;
                for (i, &b) in bytes.iter().enumerate() {
                    w |= u64::from(b) << (8 * i);
                }
                [w, 0, 0]
            }
            8..=16 => [word(0), word(len - 8), 0],
            17..=SHORT_BYTES => [word(0), word(8), word(len - 8)],
            _ => return None,
        };
        Some(Short([words[0], words[1], words[2], len as u64]))
    }
}

impl Hash for Short {
    /// One word for the hasher, mixed so that a difference in any byte of the name reaches
    /// the low bits that pick a bucket and the high bits of the tag.
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        const M1: u64 = 0x9e37_79b9_7f4a_7c15;
        const M2: u64 = 0xbf58_476d_1ce4_e5b9;
        let [a, b, c, len] = self.0;
        let x = ((a ^ len).wrapping_mul(M1) ^ b).wrapping_mul(M2) ^ c;
        state.write_u64(x ^ (x >> 32));
    }
}

/// Names to slot numbers (or to what a slot needs beside it).
#[derive(Clone, Debug)]
pub(crate) struct NameIndex<V = usize> {
    short: FastMap<Short, V>,
    long: FastMap<Box<str>, V>,
}

impl<V> Default for NameIndex<V> {
    fn default() -> Self {
        NameIndex {
            short: FastMap::default(),
            long: FastMap::default(),
        }
    }
}

impl<V: Copy> NameIndex<V> {
    #[inline]
    pub fn get(&self, name: &str) -> Option<V> {
        match Short::new(name) {
            Some(key) => self.short.get(&key).copied(),
            None => self.long.get(name).copied(),
        }
    }

    /// Adds the name, or replaces its value.
    pub fn insert(&mut self, name: &str, value: V) {
        match Short::new(name) {
            Some(key) => self.short.insert(key, value),
            None => self.long.insert(name.into(), value),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_short_and_long_are_found_and_distinct() {
        let names = [
            "".to_string(),
            "a".to_string(),
            "a\0".to_string(),
            "x".repeat(SHORT_BYTES),
            "x".repeat(SHORT_BYTES + 1),
            "x".repeat(300),
            "acct-000001".to_string(),
        ];
        let mut index = NameIndex::default();
        for (slot, name) in names.iter().enumerate() {
            assert_eq!(index.get(name), None);
            index.insert(name, slot);
        }
        for (slot, name) in names.iter().enumerate() {
            assert_eq!(index.get(name), Some(slot), "{name:?}");
        }
        assert_eq!(index.get("b"), None);
        assert_eq!(index.get(&"x".repeat(SHORT_BYTES - 1)), None);
        assert_eq!(index.get("acct-000002"), None);
    }

    /// Names that differ in any one byte position spread over the low bits hashbrown indexes
    /// by, whatever their length.
    #[test]
    fn sequential_names_spread_over_buckets() {
        use std::hash::BuildHasher;
        let build = rustc_hash::FxBuildHasher;
        for width in [4, 8, 12, 16, 20] {
            for prefix in ["", "acct-", "dev-0000000-", "abcdefghijklmnopqrs"] {
                let name = |n: usize| format!("{prefix}{n:0width$}");
                if name(0).len() > SHORT_BYTES {
                    continue;
                }
                let buckets: std::collections::HashSet<u64> = (0..4096)
                    .map(|n| build.hash_one(Short::new(&name(n)).unwrap()) & 4095)
                    .collect();
                assert!(
                    buckets.len() > 2000,
                    "{prefix:?} width {width}: only {} of 4096 buckets used",
                    buckets.len()
                );
            }
        }
    }
}
