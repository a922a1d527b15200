//! Lists read back at the length their encoding states, not grown by doubling.
//!
//! serde's own `Vec` reader trusts a stated length only up to 1 MiB worth of items and doubles from
//! there, so a list of tens of MB is copied into ever larger buffers on the way, each one
//! first touched (and zeroed by the kernel) afresh. On this machine that touching, not the
//! decoding, was most of a reopen (a profile of the 10M-event ledger: 43% of its samples in
//! the kernel's page clearing, two thirds of it under the lists' growth). This reader reserves the
//! stated length at once, up to [`MAX_RESERVED_BYTES`]: a damaged length reserves address
//! space, never memory (nothing is touched before an item is read), and where even that is
//! refused, or past the cap, the list grows as any other would. (The change feed's deadlines
//! are read so; the account book's accounts and devices are chunked instead, `chunked.rs`.)

use std::marker::PhantomData;

use serde::de::{Deserializer, SeqAccess, Visitor};
use serde::Deserialize;

/// The most a stated length reserves at once. Reserving is not touching: a forged length costs
/// address space until the input runs out and the list is dropped.
///
/// ```
/// assert_eq!(riskledger_projections::exact::MAX_RESERVED_BYTES, 4 << 30);
/// ```
pub const MAX_RESERVED_BYTES: usize = 4 << 30;

/// `#[serde(deserialize_with = "riskledger_projections::exact::vec")]`: a `Vec` reserved at
/// its stated length.
///
/// ```
/// #[derive(serde::Deserialize)]
/// struct Held {
///     #[serde(deserialize_with = "riskledger_projections::exact::vec")]
///     items: Vec<u32>,
/// }
/// let config = bincode::config::legacy();
/// let bytes = bincode::serde::encode_to_vec((vec![7u32; 1_000_000],), config)?;
/// let (held, _): (Held, usize) = bincode::serde::decode_from_slice(&bytes, config)?;
/// assert_eq!(held.items.capacity(), 1_000_000); // serde's own reader would have doubled
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn vec<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    deserializer.deserialize_seq(Exact(PhantomData))
}

/// The reader of [`vec`].
struct Exact<T>(PhantomData<T>);

/// The items reserved for a list stated to hold `stated`.
fn reserved_items<T>(stated: usize) -> usize {
    let most = MAX_RESERVED_BYTES / std::mem::size_of::<T>().max(1);
    stated.min(most)
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for Exact<T> {
    type Value = Vec<T>;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("a sequence")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        let stated = seq.size_hint().unwrap_or(0);
        let mut list = Vec::new();
        // Where the system refuses even the address space, the list grows as any other would.
        let _ = list.try_reserve_exact(reserved_items::<T>(stated));
        while let Some(item) = seq.next_element()? {
            list.push(item);
        }
        Ok(list)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Holder {
        #[serde(deserialize_with = "vec")]
        items: Vec<u64>,
    }

    #[test]
    fn a_list_is_read_at_its_stated_length() {
        let config = bincode::config::legacy();
        let items: Vec<u64> = (0..100_000).collect();
        let bytes = bincode::serde::encode_to_vec((&items,), config).unwrap();
        let (holder, _): (Holder, usize) =
            bincode::serde::decode_from_slice(&bytes, config).unwrap();
        assert_eq!(holder.items, items);
        assert_eq!(holder.items.capacity(), items.len());
    }

    #[test]
    fn a_forged_length_reserves_at_most_the_cap_and_fails_cleanly() {
        let config = bincode::config::legacy();
        let mut bytes = (u64::MAX / 2).to_le_bytes().to_vec();
        bytes.extend_from_slice(&7u64.to_le_bytes());
        let read: Result<(Holder, usize), _> = bincode::serde::decode_from_slice(&bytes, config);
        assert!(read.is_err());
        assert_eq!(reserved_items::<u64>(usize::MAX), MAX_RESERVED_BYTES / 8);
        assert_eq!(reserved_items::<u64>(10), 10);
    }
}
