//! The key of the contract index, the one map every payment goes through: an id of up to 23
//! bytes is packed with its length into three words, so that building the key, hashing it
//! and comparing it (three word compares) call no `memcpy` or `memcmp`, and an entry is 32
//! bytes. Longer ids go to a second map. Nothing but lookups depends on the packing.

use std::hash::{Hash, Hasher};

use serde::{Deserialize, Serialize};

const SHORT: usize = 23;
const MIX_1: u64 = 0x9e37_79b9_7f4a_7c15;
const MIX_2: u64 = 0xbf58_476d_1ce4_e5b9;

/// An id of up to [`SHORT`] bytes, little-endian in `[0]`, `[1]`, `[2]`, the rest zero, its
/// length in the top byte of `[2]`. Longer ids have no `WordKey` (the book keeps them in a
/// second map).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct WordKey([u64; 3]);

impl WordKey {
    #[inline]
    pub(crate) fn new(id: &str) -> Option<Self> {
        let bytes = id.as_bytes();
        if bytes.len() > SHORT {
            return None;
        }
        let mut words = [0u64; 3];
        let mut chunks = bytes.chunks_exact(8);
        let mut word = 0;
        for chunk in &mut chunks {
            let mut eight = [0u8; 8];
            eight.copy_from_slice(chunk);
            words[word] = u64::from_le_bytes(eight);
            word += 1;
        }
        let mut last = 0u64;
        for (i, &byte) in chunks.remainder().iter().enumerate() {
            last |= u64::from(byte) << (8 * i);
        }
        if let Some(slot) = words.get_mut(word) {
            *slot = last;
        }
        words[2] |= (bytes.len() as u64) << 56;
        Some(WordKey(words))
    }
}

impl Hash for WordKey {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Fx alone keeps the low bits of the last words out of the bucket index; mix the
        // three words first (multiplies and xor-shifts).
        let [a, b, c] = self.0;
        let mut h = (a.wrapping_mul(MIX_1) ^ b).wrapping_mul(MIX_2) ^ c;
        h ^= h >> 29;
        h = h.wrapping_mul(MIX_1);
        h ^= h >> 32;
        state.write_u64(h);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_equal_exactly_when_ids_are() {
        let ids = [
            "",
            "a",
            "a\0",
            "ct-0000001",
            "ct-0000002",
            "12345678",
            "123456781",
            &"x".repeat(23),
            &"x".repeat(24),
            &"x".repeat(25),
        ];
        for (i, a) in ids.iter().enumerate() {
            for (j, b) in ids.iter().enumerate() {
                if let (Some(x), Some(y)) = (WordKey::new(a), WordKey::new(b)) {
                    assert_eq!(x == y, i == j, "{a:?} {b:?}");
                }
            }
        }
        assert!(WordKey::new(&"x".repeat(23)).is_some());
        assert!(WordKey::new(&"x".repeat(24)).is_none());
        assert_eq!(size_of::<WordKey>(), 24);
    }

    #[test]
    fn sequential_ids_spread_over_buckets() {
        use std::hash::BuildHasher;
        let build = rustc_hash::FxBuildHasher;
        let buckets: std::collections::HashSet<u64> = (0..4096)
            .map(|n| build.hash_one(WordKey::new(&format!("ct-{n:07}"))) & 4095)
            .collect();
        assert!(
            buckets.len() > 2000,
            "only {} of 4096 buckets used",
            buckets.len()
        );
    }
}
