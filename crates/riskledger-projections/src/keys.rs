//! Hash-map keys for identifiers, and the maps the folds use.
//!
//! Ids of up to 22 bytes (nearly all: the ledger's ids are short) are stored inline in the key,
//! so a lookup compares bytes already in the table's cache line instead of following a pointer
//! to a separate allocation, and the key costs 24 bytes instead of a 16-byte `Box<str>` plus a
//! heap chunk. A key hashes exactly as its bytes (`[u8]`) do, so maps can be searched by
//! `&[u8]` without building a key. The hasher is rustc's Fx hash (`rustc-hash`): several times
//! faster than SipHash on short keys, not keyed, so not resistant to deliberately colliding ids;
//! the ids come from the marketplace's own services, and nothing in any output depends on it.

use std::hash::{Hash, Hasher};

use serde::{Deserialize, Serialize};

/// The maps of the folds: deterministic, fast on short keys.
pub(crate) type FastMap<K, V> = rustc_hash::FxHashMap<K, V>;

const INLINE_BYTES: usize = 22;

/// An identifier as a map key: inline when it is short, boxed otherwise.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum IdKey {
    /// `len` bytes of `bytes`, the rest zero.
    Inline { len: u8, bytes: [u8; INLINE_BYTES] },
    /// Longer than `INLINE_BYTES` (never shorter, so the two forms never hold the same id).
    Boxed(Box<str>),
}

impl IdKey {
    pub(crate) fn new(id: &str) -> Self {
        if id.len() <= INLINE_BYTES {
            let mut bytes = [0u8; INLINE_BYTES];
            bytes[..id.len()].copy_from_slice(id.as_bytes());
            IdKey::Inline {
                len: id.len() as u8,
                bytes,
            }
        } else {
            IdKey::Boxed(id.into())
        }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            IdKey::Inline { len, bytes } => &bytes[..usize::from(*len)],
            IdKey::Boxed(text) => text.as_bytes(),
        }
    }
}

impl Hash for IdKey {
    // Exactly as `[u8]` hashes, for lookups by `&[u8]` through `Borrow`.
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl std::borrow::Borrow<[u8]> for IdKey {
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_ids_are_distinct_keys() {
        let short = "k".repeat(INLINE_BYTES);
        let long = "k".repeat(INLINE_BYTES + 1);
        assert!(matches!(IdKey::new(&short), IdKey::Inline { .. }));
        assert!(matches!(IdKey::new(&long), IdKey::Boxed(_)));
        assert_ne!(IdKey::new("a"), IdKey::new("a\0"));
        assert_eq!(IdKey::new("ct-0000001"), IdKey::new("ct-0000001"));
        assert_eq!(std::mem::size_of::<IdKey>(), 24);
    }

    #[test]
    fn keys_are_found_by_their_bytes_inline_or_not() {
        let long = "x".repeat(300);
        let mut map: FastMap<IdKey, usize> = FastMap::default();
        for (i, id) in ["", "a", &"y".repeat(INLINE_BYTES), &long]
            .into_iter()
            .enumerate()
        {
            map.insert(IdKey::new(id), i);
        }
        assert_eq!(map.get("a".as_bytes()), Some(&1));
        assert_eq!(map.get("y".repeat(INLINE_BYTES).as_bytes()), Some(&2));
        assert_eq!(map.get(long.as_bytes()), Some(&3));
        assert_eq!(map.get("b".as_bytes()), None);
    }

    /// Ids that differ only in their last bytes must spread over the low bits hashbrown
    /// indexes by.
    #[test]
    fn sequential_ids_spread_over_buckets() {
        use std::hash::BuildHasher;
        let build = rustc_hash::FxBuildHasher;
        let buckets: std::collections::HashSet<u64> = (0..4096)
            .map(|n| build.hash_one(IdKey::new(&format!("ct-{n:07}"))) & 4095)
            .collect();
        assert!(
            buckets.len() > 2000,
            "only {} of 4096 buckets used",
            buckets.len()
        );
    }
}
