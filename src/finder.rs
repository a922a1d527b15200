//! Finding one subject's records without reading the rest of the log.
//!
//! For every range of [`RANGE_SEQS`] seqs the finder keeps a Bloom filter of the names (account,
//! device, contract and flag ids, [`Body::names`]) its records carry: a split-block filter of
//! 4 KiB, the layout Parquet uses (each name sets eight bits in one 32-byte block). A lookup
//! tests one block per range and yields the ranges that may hold the name; every range that
//! holds it is among them (a Bloom filter has no false negatives), and a few that do not are
//! (about 0.1–0.2% of ranges at the ~2,000 names a range of logins carries). The caller
//! reads those ranges and keeps the records that do name it.
//!
//! Cost: 4 bytes per seq in memory (4 KiB per 1,024), about 40 MB at 10 million events; noting
//! a record hashes its one to four names. Ranges follow seqs, so the finder depends on arrival
//! order: it is saved in the projection snapshot, never in the state digest.
//!
//! The hash is defined here rather than taken from a hashing crate: snapshots store the
//! filters, and a hash that changed with a dependency upgrade would make a loaded filter miss
//! records. `golden_hashes` pins it.

use riskledger_events::{Event, Name, NameKind};
use serde::{Deserialize, Serialize};

/// Seqs per filter: about one block of the store at batches of 1,000.
pub(crate) const RANGE_SEQS: u64 = 1024;
/// Filter size: 128 blocks of eight 32-bit words (4 KiB), kept as little-endian bytes so that
/// a snapshot writes and reads each filter as one run of bytes, not 1,024 numbers.
const FILTER_BLOCKS: usize = 128;
const BLOCK_WORDS: usize = 8;
const FILTER_BYTES: usize = FILTER_BLOCKS * BLOCK_WORDS * 4;

/// The split-block Bloom filter's salts (Parquet's, `parquet-format` BloomFilter.md): one odd
/// multiplier per word of a block, each picking that word's bit from the key's low 32 bits.
const SALT: [u32; BLOCK_WORDS] = [
    0x47b6_137b,
    0x4497_4d91,
    0x8824_ad5b,
    0xa2b7_289d,
    0x7054_95c7,
    0x2df1_424b,
    0x9efc_4947,
    0x5c6b_fb31,
];

/// Name filters over the log, one per range of [`RANGE_SEQS`] seqs, the last one filling.
///
/// Invariant (checked by [`Finder::is_whole`] on a loaded snapshot): `filters.len()` is the
/// number of ranges `1..=seq` touches, and every filter is [`FILTER_BYTES`] long.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Finder {
    filters: Vec<Filter>,
    /// The last seq noted.
    seq: u64,
}

impl Finder {
    /// Notes the names of the record at `seq`, the seq after the last one noted.
    pub(crate) fn note(&mut self, seq: u64, event: &Event) {
        assert_eq!(
            seq,
            self.seq + 1,
            "the finder notes every record once, in order"
        );
        let range = range_of(seq);
        if range == self.filters.len() {
            self.filters
                .push(Filter(vec![0; FILTER_BYTES].into_boxed_slice()));
        }
        let filter = &mut self.filters[range].0;
        for name in event.body.names() {
            insert(filter, name_hash(name));
        }
        self.seq = seq;
    }

    /// The last seq noted: the finder covers `1..=seq`.
    pub(crate) fn seq(&self) -> u64 {
        self.seq
    }

    /// Whether a loaded finder keeps its invariant. Lengths only: the bits cannot be checked
    /// without the log. Damage is caught by the snapshot's checks before anything is decoded;
    /// a forged snapshot (the checks hold no secret) could make the finder miss records, which
    /// is why re-deriving is a consistency check and `verify` and `replay` are the audit.
    pub(crate) fn is_whole(&self) -> bool {
        let ranges = self.seq.div_ceil(RANGE_SEQS);
        self.filters.len() as u64 == ranges
            && self.filters.iter().all(|f| f.0.len() == FILTER_BYTES)
    }

    /// Every range `(first, last)` of seqs, in order, that may hold a record naming `name`.
    pub(crate) fn ranges<'a>(&'a self, name: Name<'_>) -> impl Iterator<Item = (u64, u64)> + 'a {
        let hash = name_hash(name);
        let last_seq = self.seq;
        self.filters
            .iter()
            .enumerate()
            .filter(move |(_, filter)| contains(&filter.0, hash))
            .map(move |(range, _)| {
                let first = range as u64 * RANGE_SEQS + 1;
                (first, (first + RANGE_SEQS - 1).min(last_seq))
            })
    }
}

fn range_of(seq: u64) -> usize {
    ((seq - 1) / RANGE_SEQS) as usize
}

/// The bit each word of a block gets for this key.
fn bits(hash: u64) -> [u32; BLOCK_WORDS] {
    let key = hash as u32;
    SALT.map(|salt| 1u32 << (key.wrapping_mul(salt) >> 27))
}

/// The bytes of the block a key falls in: its high 32 bits scaled to the block count.
fn block_bytes(hash: u64) -> std::ops::Range<usize> {
    let start = (((hash >> 32) * FILTER_BLOCKS as u64) >> 32) as usize * BLOCK_WORDS * 4;
    start..start + BLOCK_WORDS * 4
}

fn insert(filter: &mut [u8], hash: u64) {
    let block = &mut filter[block_bytes(hash)];
    for (word, bit) in block.chunks_exact_mut(4).zip(bits(hash)) {
        let set = u32::from_le_bytes(word.try_into().expect("4 bytes")) | bit;
        word.copy_from_slice(&set.to_le_bytes());
    }
}

fn contains(filter: &[u8], hash: u64) -> bool {
    filter[block_bytes(hash)]
        .chunks_exact(4)
        .zip(bits(hash))
        .all(|(word, bit)| u32::from_le_bytes(word.try_into().expect("4 bytes")) & bit != 0)
}

/// One range's filter: [`FILTER_BYTES`] bytes, encoded as one byte string.
#[derive(Clone, Debug, PartialEq)]
struct Filter(Box<[u8]>);

impl Serialize for Filter {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Filter {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Bytes;
        impl serde::de::Visitor<'_> for Bytes {
            type Value = Filter;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a filter's bytes")
            }
            fn visit_bytes<E: serde::de::Error>(self, bytes: &[u8]) -> Result<Filter, E> {
                Ok(Filter(bytes.into()))
            }
            fn visit_byte_buf<E: serde::de::Error>(self, bytes: Vec<u8>) -> Result<Filter, E> {
                Ok(Filter(bytes.into_boxed_slice()))
            }
        }
        deserializer.deserialize_byte_buf(Bytes)
    }
}

/// A 64-bit hash of a name: its kind, its length and its bytes eight at a time, multiplied
/// and folded, then MurmurHash3's finaliser so that both halves are well mixed (the high half
/// picks the block, the low half the bits).
fn name_hash(name: Name<'_>) -> u64 {
    const MULTIPLIER: u64 = 0x9e37_79b9_7f4a_7c15;
    let kind: u64 = match name.kind {
        NameKind::Account => 1,
        NameKind::Device => 2,
        NameKind::Contract => 3,
        NameKind::Flag => 4,
    };
    let bytes = name.id.as_bytes();
    let mut hash = kind.wrapping_mul(MULTIPLIER) ^ bytes.len() as u64;
    for chunk in bytes.chunks(8) {
        let mut word = [0u8; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        hash = (hash ^ u64::from_le_bytes(word)).wrapping_mul(MULTIPLIER);
        hash ^= hash >> 32;
    }
    finalise(hash)
}

fn finalise(mut hash: u64) -> u64 {
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    hash ^ (hash >> 33)
}

#[cfg(test)]
mod tests {
    use super::*;
    use riskledger_events::json::parse_line;

    fn login(n: u64, account: &str, device: &str) -> Event {
        let line = format!(
            r#"{{"id":"l{n}","type":"login","at":"2025-01-01T00:00:00Z","account":"{account}","device":"{device}","ip":"10.0.0.1","lat":1.0,"lon":2.0,"country":"PH"}}"#
        );
        parse_line(n, &line).unwrap()
    }

    /// The hash is part of the snapshot format: these values must never change.
    #[test]
    fn golden_hashes() {
        let hashes = [
            name_hash(Name::account("")),
            name_hash(Name::account("c-1")),
            name_hash(Name {
                kind: NameKind::Device,
                id: "c-1",
            }),
            name_hash(Name {
                kind: NameKind::Flag,
                id: "fl-0123456789abcdef",
            }),
        ];
        assert_eq!(
            hashes,
            [
                0x9ca0_66f1_a4ab_2eea,
                0xa79b_81f7_2f26_d796,
                0x8815_1c9b_b884_3ff8,
                0xbe48_e5f3_b404_3f5f,
            ]
        );
    }

    #[test]
    fn ranges_hold_every_record_that_names_a_subject() {
        let mut finder = Finder::default();
        let total = 3 * RANGE_SEQS + 5;
        for seq in 1..=total {
            finder.note(
                seq,
                &login(seq, &format!("a-{}", seq % 997), &format!("d-{seq}")),
            );
        }
        assert!(finder.is_whole());
        assert_eq!(finder.filters.len(), 4);
        for seq in [1, RANGE_SEQS, RANGE_SEQS + 1, total] {
            let device = format!("d-{seq}");
            let name = Name {
                kind: NameKind::Device,
                id: &device,
            };
            let first = range_of(seq) as u64 * RANGE_SEQS + 1;
            assert!(
                finder
                    .ranges(name)
                    .any(|(f, l)| f == first && (f..=l).contains(&seq)),
                "seq {seq} not found"
            );
        }
        // The last range ends at the last seq noted.
        let last = finder.ranges(Name {
            kind: NameKind::Device,
            id: &format!("d-{total}"),
        });
        assert_eq!(last.last(), Some((3 * RANGE_SEQS + 1, total)));
    }

    /// Names are told apart by kind, and a range without a name is rarely a candidate:
    /// 2,048 names per range (two per record, as logins carry), 4,000 names looked up.
    #[test]
    fn false_candidates_are_rare() {
        let mut finder = Finder::default();
        for seq in 1..=RANGE_SEQS {
            finder.note(seq, &login(seq, &format!("a-{seq}"), &format!("d-{seq}")));
        }
        let absent = (0..4000)
            .filter(|n| {
                let id = format!("x-{n}");
                finder.ranges(Name::account(&id)).next().is_some()
            })
            .count();
        println!("{absent} of 4000 absent names were candidates");
        assert!(
            absent <= 12, // measured 7 (0.18%); the documented rate is 0.1–0.2%
            "{absent} of 4000 absent names were candidates"
        );
        // The same texts as another kind: as absent as any other name.
        let other_kind = (1..=4000)
            .filter(|n| {
                let id = format!("a-{n}");
                let name = Name {
                    kind: NameKind::Contract,
                    id: &id,
                };
                finder.ranges(name).next().is_some()
            })
            .count();
        println!("{other_kind} of 4000 contracts were candidates");
        assert!(
            other_kind <= 12, // measured 4
            "{other_kind} of 4000 contracts were candidates"
        );
    }

    /// The snapshot form (`docs/format.md`, "The finder"): count, then each filter as a byte
    /// string of 4,096, then the seq; the bits of one login pinned by a digest.
    #[test]
    fn golden_encoding() {
        let mut finder = Finder::default();
        finder.note(1, &login(1, "f-1", "d-1"));
        let bytes = bincode::serde::encode_to_vec(&finder, bincode::config::legacy()).unwrap();
        assert_eq!(bytes.len(), 8 + 8 + FILTER_BYTES + 8);
        assert_eq!(
            &bytes[..16],
            &[1, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(&bytes[bytes.len() - 8..], &1u64.to_le_bytes());
        let set_bits: u32 = bytes[16..16 + FILTER_BYTES]
            .iter()
            .map(|b| b.count_ones())
            .sum();
        assert!(set_bits <= 16, "two names, eight bits each");
        assert_eq!(
            blake3::hash(&bytes).to_hex().as_str(),
            "16e6a55ae4870612d3698688c1debe77b5362a5fcf2f24cbe64794201094c728"
        );
        let (back, _): (Finder, usize) =
            bincode::serde::decode_from_slice(&bytes, bincode::config::legacy()).unwrap();
        assert_eq!(back, finder);
    }

    #[test]
    #[should_panic(expected = "once, in order")]
    fn a_seq_out_of_order_is_a_bug() {
        let mut finder = Finder::default();
        finder.note(2, &login(2, "a", "d"));
    }

    #[test]
    fn a_loaded_finder_with_a_wrong_shape_is_refused() {
        let mut finder = Finder::default();
        finder.note(1, &login(1, "a", "d"));
        assert!(finder.is_whole());
        let mut short = finder.clone();
        short.filters[0] = Filter(vec![0; FILTER_BYTES - 1].into_boxed_slice());
        assert!(!short.is_whole());
        let mut missing = finder.clone();
        missing.filters.clear();
        assert!(!missing.is_whole());
        let mut extra = finder;
        extra.seq = RANGE_SEQS + 1;
        assert!(!extra.is_whole());
    }
}
