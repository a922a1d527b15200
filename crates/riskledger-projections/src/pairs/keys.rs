//! Hash-map keys for identifiers, and the hasher the pair fold's maps use.
//!
//! Ids of up to 22 bytes (nearly all: the ledger's ids are short) are stored inline in the
//! key, so a lookup compares bytes already in the table's cache line instead of following a
//! pointer to a separate allocation; and the key costs 24 bytes instead of a 16-byte `Box<str>`
//! plus a 32-byte heap chunk. The hasher is rustc's Fx hash (`rustc-hash`):
//! several times faster than SipHash on short keys. It is not keyed, so it is not resistant to
//! deliberately colliding ids; the ids come from the marketplace's own services.

use std::hash::{Hash, Hasher};

use serde::{Deserialize, Serialize};

/// The maps of the fold: deterministic, fast on short keys.
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
}

impl Hash for IdKey {
    /// The id's bytes only: one pass over three words for an inline id, and equal to what a
    /// boxed id of the same text would give (the two forms never hold the same id anyway).
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            IdKey::Inline { len, bytes } => state.write(&bytes[..usize::from(*len)]),
            IdKey::Boxed(text) => state.write(text.as_bytes()),
        }
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

    /// Ids that differ only in their last bytes must spread over the low bits hashbrown
    /// indexes by (a plain multiply-rotate hash leaves them clustered).
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
