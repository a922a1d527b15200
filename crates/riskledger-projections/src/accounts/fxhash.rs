//! Keys for the account and device indexes, hashed with rustc's Fx hash (`rustc-hash`). The indexes are looked up twice per login, and
//! SipHash is a visible share of the fold's time. Ids come from the marketplace's own services,
//! which are trusted not to craft collisions; nothing about the output depends on the hash.

use std::hash::Hasher;

pub(crate) use rustc_hash::FxBuildHasher;

/// An id as a hash-map key, stored inline when it fits (every valid id does: at most 64
/// bytes), so that a lookup compares bytes in the table itself instead of following a pointer
/// to the heap: one cache miss less per lookup on a cold account or device.
#[derive(Clone, Debug)]
pub(crate) enum IdKey {
    Inline {
        len: u8,
        bytes: [u8; IdKey::INLINE_BYTES],
    },
    Heap(Box<[u8]>),
}

impl IdKey {
    const INLINE_BYTES: usize = 64;

    pub fn new(id: &str) -> Self {
        let source = id.as_bytes();
        match u8::try_from(source.len()) {
            Ok(len) if source.len() <= Self::INLINE_BYTES => {
                let mut bytes = [0u8; Self::INLINE_BYTES];
                bytes[..source.len()].copy_from_slice(source);
                IdKey::Inline { len, bytes }
            }
            _ => IdKey::Heap(source.into()),
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        match self {
            IdKey::Inline { len, bytes } => &bytes[..usize::from(*len)],
            IdKey::Heap(bytes) => bytes,
        }
    }
}

impl std::borrow::Borrow<[u8]> for IdKey {
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl std::hash::Hash for IdKey {
    // Must hash exactly as `[u8]` does, for lookups by `&[u8]`.
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl PartialEq for IdKey {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for IdKey {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn keys_are_found_by_their_bytes_inline_or_not() {
        let long = "x".repeat(300);
        let mut map: HashMap<IdKey, usize, FxBuildHasher> = HashMap::default();
        for (i, id) in ["", "a", &"y".repeat(64), &long].into_iter().enumerate() {
            map.insert(IdKey::new(id), i);
        }
        assert_eq!(map.get("a".as_bytes()), Some(&1));
        assert_eq!(map.get("y".repeat(64).as_bytes()), Some(&2));
        assert_eq!(map.get(long.as_bytes()), Some(&3));
        assert_eq!(map.get("b".as_bytes()), None);
        assert!(matches!(IdKey::new(&long), IdKey::Heap(_)));
    }
}
