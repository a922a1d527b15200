//! The maps the folds use.
//!
//! The hasher is rustc's Fx hash (`rustc-hash`): several times faster than SipHash on short
//! keys, not keyed, so not resistant to deliberately colliding ids; the ids come from the
//! marketplace's own services, and nothing in any output depends on it.

/// The maps of the folds: deterministic, fast on short keys.
pub(crate) type FastMap<K, V> = rustc_hash::FxHashMap<K, V>;

use std::hash::BuildHasher;

use hashbrown::HashTable;

/// A name index that holds slots only: 4 bytes a bucket, where a map from the name would hold
/// the name too. A lookup compares the name where the slot points (`name_of`), which the
/// caller reads next anyway; the table is not saved, and is rebuilt from the slots on load
/// ([`name_index`]).
pub(crate) type SlotIndex = HashTable<u32>;

/// The hash of a name in the indexes: Fx over its bytes.
#[inline]
pub(crate) fn name_hash(name: &[u8]) -> u64 {
    rustc_hash::FxBuildHasher.hash_one(name)
}

/// The slot of `index` that holds `name`.
#[inline]
pub(crate) fn find<'a>(
    index: &SlotIndex,
    name: &[u8],
    name_of: impl Fn(u32) -> &'a [u8],
) -> Option<u32> {
    index
        .find(name_hash(name), |&slot| name_of(slot) == name)
        .copied()
}

/// The slot of `index` that holds `name`, or `None` after adding `new_slot` for it. `name_of`
/// gives a slot's name (and is what hashes a slot again when the table grows).
#[inline]
pub(crate) fn find_or_add<'a>(
    index: &mut SlotIndex,
    name: &[u8],
    name_of: impl Fn(u32) -> &'a [u8],
    new_slot: u32,
) -> Option<u32> {
    let hash = name_hash(name);
    match index.entry(
        hash,
        |&slot| name_of(slot) == name,
        |&slot| name_hash(name_of(slot)),
    ) {
        hashbrown::hash_table::Entry::Occupied(found) => Some(*found.get()),
        hashbrown::hash_table::Entry::Vacant(vacant) => {
            vacant.insert(new_slot);
            None
        }
    }
}

/// An index of the names of slots `0..slots`, each found by `name_of`.
pub(crate) fn name_index<'a>(slots: usize, name_of: impl Fn(u32) -> &'a [u8]) -> SlotIndex {
    let mut index = HashTable::with_capacity(slots);
    for slot in 0..slots as u32 {
        let _ = find_or_add(&mut index, name_of(slot), &name_of, slot);
    }
    index
}
