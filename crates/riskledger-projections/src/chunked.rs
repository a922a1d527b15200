//! A list kept in chunks of [`CHUNK_ITEMS`]: how the account book holds its accounts and
//! devices, a million of each.
//!
//! A `Vec` that grows doubles: it allocates twice its size and copies itself over, so while it
//! grows it holds itself twice, and the new half is memory the kernel must clear. For a list
//! of 100 MB that is 100 MB more resident at the first push after a reopen (the snapshot's
//! list is read at its exact length), and a copy at every doubling of a rebuild. A chunked
//! list grows by one chunk at a time and never moves an item. Joining two of them (the
//! snapshot's halves, decoded on two threads) takes the second one's chunks over as they are
//! when the first is whole chunks (as a snapshot's head is cut); otherwise it moves them a
//! chunk at a time, holding at most one more chunk than the lists themselves.
//!
//! An item's place is `index / CHUNK_ITEMS`, `index % CHUNK_ITEMS`: every chunk but the last
//! is full, and every chunk is allocated with room for exactly `CHUNK_ITEMS` items.

use std::fmt;
use std::marker::PhantomData;
use std::ops::{Index, IndexMut};

use serde::de::{SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// Items per chunk: a few hundred KB of account records, few enough chunks that their list
/// stays in cache.
pub(crate) const CHUNK_ITEMS: usize = 1 << 12;

pub(crate) struct Chunked<T> {
    /// Every chunk but the last holds `CHUNK_ITEMS`; none is empty.
    chunks: Vec<Vec<T>>,
    len: usize,
}

/// Each chunk copied into a chunk's allocation (a derived clone would allocate the last one
/// at its length, and a push would then grow it by doubling past `CHUNK_ITEMS`).
impl<T: Clone> Clone for Chunked<T> {
    fn clone(&self) -> Self {
        let chunks = self
            .chunks
            .iter()
            .map(|chunk| {
                let mut copy = Vec::with_capacity(CHUNK_ITEMS);
                copy.extend_from_slice(chunk);
                copy
            })
            .collect();
        Chunked {
            chunks,
            len: self.len,
        }
    }
}

impl<T> Default for Chunked<T> {
    fn default() -> Self {
        Chunked {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Chunked<T> {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(crate) fn push(&mut self, item: T) {
        match self.chunks.last_mut() {
            Some(last) if last.len() < CHUNK_ITEMS => last.push(item),
            _ => {
                let mut chunk = Vec::with_capacity(CHUNK_ITEMS);
                chunk.push(item);
                self.chunks.push(chunk);
            }
        }
        self.len += 1;
    }

    #[inline]
    pub(crate) fn get(&self, index: usize) -> Option<&T> {
        self.chunks
            .get(index / CHUNK_ITEMS)?
            .get(index % CHUNK_ITEMS)
    }

    pub(crate) fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + '_ {
        self.chunks.iter().flatten()
    }

    pub(crate) fn iter_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut T> + '_ {
        self.chunks.iter_mut().flatten()
    }

    /// The chunks, each a slice of items, in order: for work split over threads. Slices, so
    /// that no caller can change a chunk's length.
    pub(crate) fn chunks_mut(&mut self) -> Vec<&mut [T]> {
        self.chunks.iter_mut().map(Vec::as_mut_slice).collect()
    }

    /// Moves every item of `other` to the end: its chunks are taken over as they are while
    /// this list is whole chunks; otherwise their items are moved a chunk at a time, each of
    /// `other`'s chunks freed once its items are moved (see the module docs).
    pub(crate) fn append(&mut self, other: Chunked<T>) {
        for chunk in other.chunks {
            if self
                .chunks
                .last()
                .is_none_or(|last| last.len() == CHUNK_ITEMS)
                && chunk.capacity() == CHUNK_ITEMS
            {
                // Already a whole chunk's allocation, and this list's chunks are all full:
                // taken over as it is.
                self.len += chunk.len();
                self.chunks.push(chunk);
            } else {
                chunk.into_iter().for_each(|item| self.push(item));
            }
        }
    }
}

impl<T> Index<usize> for Chunked<T> {
    type Output = T;

    #[inline]
    fn index(&self, index: usize) -> &T {
        &self.chunks[index / CHUNK_ITEMS][index % CHUNK_ITEMS]
    }
}

impl<T> IndexMut<usize> for Chunked<T> {
    #[inline]
    fn index_mut(&mut self, index: usize) -> &mut T {
        &mut self.chunks[index / CHUNK_ITEMS][index % CHUNK_ITEMS]
    }
}

impl<T> FromIterator<T> for Chunked<T> {
    fn from_iter<I: IntoIterator<Item = T>>(items: I) -> Self {
        let mut list = Chunked::default();
        items.into_iter().for_each(|item| list.push(item));
        list
    }
}

impl<T: fmt::Debug> fmt::Debug for Chunked<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Read as a sequence, as a `Vec` is (the same bytes), into chunks as it is read: no list of
/// the stated length is reserved up front, so a forged length costs nothing.
impl<'de, T: Deserialize<'de>> Deserialize<'de> for Chunked<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ChunkedVisitor<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for ChunkedVisitor<T> {
            type Value = Chunked<T>;

            fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                formatter.write_str("a sequence")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Chunked<T>, A::Error> {
                let mut list = Chunked::default();
                while let Some(item) = seq.next_element()? {
                    list.push(item);
                }
                Ok(list)
            }
        }

        deserializer.deserialize_seq(ChunkedVisitor(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pushes, indexes and appends across chunk boundaries, whole chunks taken over or not,
    /// against a `Vec`.
    #[test]
    fn a_chunked_list_is_the_list_of_its_pushes() {
        for (first, second) in [
            (0, 0),
            (1, CHUNK_ITEMS),
            (CHUNK_ITEMS, CHUNK_ITEMS + 1),
            (CHUNK_ITEMS - 1, 2 * CHUNK_ITEMS + 5),
            (2 * CHUNK_ITEMS, 3),
        ] {
            let mut list: Chunked<usize> = (0..first).collect();
            let other: Chunked<usize> = (first..first + second).collect();
            list.append(other);
            let expected: Vec<usize> = (0..first + second).collect();
            assert_eq!(list.len(), expected.len());
            assert!(list.iter().eq(expected.iter()), "{first} + {second}");
            assert!((0..list.len()).all(|i| list[i] == i && list.get(i) == Some(&i)));
            assert_eq!(list.get(list.len()), None);
            let chunks: Vec<&[usize]> = list.chunks.iter().map(Vec::as_slice).collect();
            let (last, full) = chunks
                .split_last()
                .map_or((0, &[][..]), |(l, f)| (l.len(), f));
            assert!(full.iter().all(|chunk| chunk.len() == CHUNK_ITEMS));
            assert!(last > 0 || list.is_empty());
        }
    }

    /// Read back from a `Vec`'s bytes, and from a sequence whose stated length is forged.
    #[test]
    fn a_chunked_list_reads_a_vecs_bytes() {
        let config = bincode::config::legacy();
        let items: Vec<u32> = (0..(2 * CHUNK_ITEMS + 7) as u32).collect();
        let bytes = bincode::serde::encode_to_vec(&items, config).unwrap();
        let (list, _): (Chunked<u32>, usize) =
            bincode::serde::decode_from_slice(&bytes, config).unwrap();
        assert!(list.iter().eq(items.iter()));
        let forged = u64::MAX.to_le_bytes();
        assert!(bincode::serde::decode_from_slice::<Chunked<u32>, _>(&forged, config).is_err());
    }

    /// Whole chunks are taken over, not moved; a partial last chunk taken over is filled by
    /// later pushes and appends as any last chunk is.
    #[test]
    fn whole_chunks_are_taken_over_and_a_partial_one_stays_last() {
        let mut list: Chunked<usize> = (0..CHUNK_ITEMS).collect();
        let other: Chunked<usize> = (CHUNK_ITEMS..3 * CHUNK_ITEMS + 5).collect();
        let addresses: Vec<*const usize> = other.chunks.iter().map(|c| c.as_ptr()).collect();
        list.append(other);
        let taken: Vec<*const usize> = list.chunks[1..].iter().map(|c| c.as_ptr()).collect();
        assert_eq!(taken, addresses);
        list.append((3 * CHUNK_ITEMS + 5..5 * CHUNK_ITEMS).collect());
        (5 * CHUNK_ITEMS..5 * CHUNK_ITEMS + 3).for_each(|i| list.push(i));
        assert_eq!(list.len(), 5 * CHUNK_ITEMS + 3);
        assert!((0..list.len()).all(|i| list[i] == i));
        let lengths: Vec<usize> = list.chunks.iter().map(Vec::len).collect();
        assert_eq!(
            lengths,
            [
                CHUNK_ITEMS,
                CHUNK_ITEMS,
                CHUNK_ITEMS,
                CHUNK_ITEMS,
                CHUNK_ITEMS,
                3
            ]
        );
        assert!(list.chunks.iter().all(|c| c.capacity() == CHUNK_ITEMS));
    }

    /// A clone keeps every chunk at a chunk's allocation, so it grows as the original does.
    #[test]
    fn a_clone_keeps_whole_chunk_allocations() {
        let list: Chunked<usize> = (0..CHUNK_ITEMS + 3).collect();
        let mut copy = list.clone();
        (0..CHUNK_ITEMS).for_each(|i| copy.push(i));
        assert!(copy.chunks.iter().all(|c| c.capacity() == CHUNK_ITEMS));
    }
}
