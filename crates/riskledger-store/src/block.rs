//! The block: the unit of group commit. One append is one or more blocks, written together
//! with one flush. Layout (`docs/format.md`), all integers little-endian:
//!
//! ```text
//! offset  size  field
//! 0       1     BLOCK_VERSION (1)
//! 1       8     first_seq        seq of the first event in the block
//! 9       4     count            events in the block, 1..=MAX_BLOCK_EVENTS
//! 13      8     recorded_at_us   append time (µs since the epoch), one per block
//! 21      ...   count entries:   hash [32] | len u32 | stored event bytes [len]
//! end-32  32    check            BLAKE3-keyed(BLOCK_CHECK_KEY, bytes[0..21] || last entry's hash)
//! ```
//!
//! Event hashes follow the chain rule of `riskledger_events::chain`; `recorded_at` is outside
//! the event chain on purpose (the same events hash the same on any machine, whenever they are
//! appended) and the `check` covers it and the header against damage.

use riskledger_events::limits::MAX_RECORD_BYTES;
use riskledger_events::{ChainHash, ChainHasher, Timestamp};

pub const BLOCK_VERSION: u8 = 1;
/// Most events in one block.
pub const MAX_BLOCK_EVENTS: usize = 1024;
/// A block is closed once it holds this many bytes. With the largest record (4 KiB) a block
/// stays under 260 KiB, about sled's inline-value threshold (a quarter of the 1 MiB segment
/// the store configures), so a block is written inline, not as a separate blob file.
pub const BLOCK_CLOSE_BYTES: usize = 256 * 1024;
const HEADER_BYTES: usize = 21;
const ENTRY_HEADER_BYTES: usize = 32 + 4;
const CHECK_BYTES: usize = 32;
const BLOCK_CHECK_CONTEXT: &str = "riskledger 2026-11-22 block check v1";

/// Why block bytes are not a well-formed block.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    #[error("block is {0} bytes, too short for a header")]
    Short(usize),
    #[error("unknown block version {0}")]
    Version(u8),
    #[error("block holds {0} events; allowed 1..={MAX_BLOCK_EVENTS}")]
    Count(u32),
    #[error("entry {index} is cut short or overruns the block")]
    Truncated { index: u32 },
    #[error("entry {index} is {len} bytes; the limit is {MAX_RECORD_BYTES}")]
    EntryTooLong { index: u32, len: u32 },
    #[error("{0} stray bytes after the last entry")]
    Trailing(usize),
    #[error("block check does not match: header or recorded_at damaged")]
    Check,
    #[error("block says it starts at seq {0}, which no block can")]
    Seq(u64),
}

fn check_key() -> [u8; 32] {
    blake3::derive_key(BLOCK_CHECK_CONTEXT, b"")
}

/// Builds one block in place: entries are encoded straight into the block's buffer.
pub struct BlockBuilder {
    buf: Vec<u8>,
    count: u32,
    first_seq: u64,
    last_hash: ChainHash,
}

impl BlockBuilder {
    pub fn new(first_seq: u64, recorded_at: Timestamp, prev_hash: ChainHash) -> Self {
        Self::with_buffer(
            first_seq,
            recorded_at,
            prev_hash,
            Vec::with_capacity(160 * 1024),
        )
    }

    /// Like [`BlockBuilder::new`], reusing `buf`'s allocation (a fresh 160 KiB buffer per
    /// block costs page faults on every append).
    pub fn with_buffer(
        first_seq: u64,
        recorded_at: Timestamp,
        prev_hash: ChainHash,
        mut buf: Vec<u8>,
    ) -> Self {
        buf.clear();
        buf.push(BLOCK_VERSION);
        buf.extend_from_slice(&first_seq.to_le_bytes());
        buf.extend_from_slice(&0u32.to_le_bytes());
        buf.extend_from_slice(&recorded_at.as_micros().to_le_bytes());
        BlockBuilder {
            buf,
            count: 0,
            first_seq,
            last_hash: prev_hash,
        }
    }

    pub fn len(&self) -> usize {
        self.count as usize
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn is_full(&self) -> bool {
        self.len() >= MAX_BLOCK_EVENTS || self.buf.len() >= BLOCK_CLOSE_BYTES
    }

    pub fn next_seq(&self) -> u64 {
        self.first_seq + u64::from(self.count)
    }

    pub fn last_hash(&self) -> ChainHash {
        self.last_hash
    }

    /// Reserves an entry and lets `encode` write the stored bytes into the buffer. Returns the
    /// entry's start so that [`BlockBuilder::abandon`] or [`BlockBuilder::seal_entry`] can follow.
    pub fn begin_entry(&mut self) -> usize {
        let start = self.buf.len();
        self.buf.extend_from_slice(&[0u8; ENTRY_HEADER_BYTES]);
        start
    }

    /// The buffer to encode the entry into (append only).
    pub fn buffer(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// Everything written so far.
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// The stored bytes written since `begin_entry`.
    pub fn entry_bytes(&self, start: usize) -> &[u8] {
        &self.buf[start + ENTRY_HEADER_BYTES..]
    }

    /// Drops an entry begun with `begin_entry`.
    pub fn abandon(&mut self, start: usize) {
        self.buf.truncate(start);
    }

    /// Chains the entry begun at `start` and returns its seq and hash.
    pub fn seal_entry(&mut self, start: usize, hasher: &ChainHasher) -> (u64, ChainHash) {
        let seq = self.next_seq();
        let len = self.buf.len() - start - ENTRY_HEADER_BYTES;
        let hash = hasher.link(
            seq,
            &self.last_hash,
            &self.buf[start + ENTRY_HEADER_BYTES..],
        );
        self.buf[start..start + 32].copy_from_slice(&hash);
        let len = u32::try_from(len).expect("entries are bounded by MAX_RECORD_BYTES");
        self.buf[start + 32..start + ENTRY_HEADER_BYTES].copy_from_slice(&len.to_le_bytes());
        self.count += 1;
        self.last_hash = hash;
        (seq, hash)
    }

    /// Gives the buffer back, for reuse, without finishing a block.
    pub fn into_buffer(self) -> Vec<u8> {
        self.buf
    }

    /// Finishes the block: writes the count and the check. Returns `(first_seq, bytes)`.
    pub fn finish(mut self) -> (u64, Vec<u8>) {
        debug_assert!(self.count > 0, "an empty block is never written");
        self.buf[9..13].copy_from_slice(&self.count.to_le_bytes());
        let check = block_check(&self.buf[..HEADER_BYTES], &self.last_hash);
        self.buf.extend_from_slice(&check);
        (self.first_seq, self.buf)
    }
}

fn block_check(header: &[u8], last_hash: &ChainHash) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new_keyed(&check_key());
    hasher.update(header);
    hasher.update(last_hash);
    *hasher.finalize().as_bytes()
}

/// One entry of a parsed block.
#[derive(Clone, Copy, Debug)]
pub struct Entry<'a> {
    pub seq: u64,
    pub hash: &'a ChainHash,
    pub stored: &'a [u8],
}

/// A block whose structure has been checked (not yet its chain: the log walks it).
#[derive(Debug)]
pub struct Block<'a> {
    pub first_seq: u64,
    pub recorded_at: Timestamp,
    entries: Vec<Entry<'a>>,
}

impl<'a> Block<'a> {
    /// Parses block bytes, checking lengths, bounds and the block check.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, BlockError> {
        if bytes.len() < HEADER_BYTES + CHECK_BYTES {
            return Err(BlockError::Short(bytes.len()));
        }
        if bytes[0] != BLOCK_VERSION {
            return Err(BlockError::Version(bytes[0]));
        }
        let first_seq = u64::from_le_bytes(bytes[1..9].try_into().expect("8 bytes"));
        let count = u32::from_le_bytes(bytes[9..13].try_into().expect("4 bytes"));
        let recorded_at = Timestamp(i64::from_le_bytes(
            bytes[13..21].try_into().expect("8 bytes"),
        ));
        if count == 0 || count as usize > MAX_BLOCK_EVENTS {
            return Err(BlockError::Count(count));
        }
        if first_seq == 0 || first_seq.checked_add(u64::from(count)).is_none() {
            return Err(BlockError::Seq(first_seq));
        }
        let body_end = bytes.len() - CHECK_BYTES;
        let mut entries = Vec::with_capacity(count as usize);
        let mut at = HEADER_BYTES;
        for index in 0..count {
            let header = bytes
                .get(at..at + ENTRY_HEADER_BYTES)
                .filter(|_| at + ENTRY_HEADER_BYTES <= body_end)
                .ok_or(BlockError::Truncated { index })?;
            let hash: &ChainHash = header[..32].try_into().expect("32 bytes");
            let len = u32::from_le_bytes(header[32..36].try_into().expect("4 bytes"));
            if len as usize > MAX_RECORD_BYTES {
                return Err(BlockError::EntryTooLong { index, len });
            }
            let start = at + ENTRY_HEADER_BYTES;
            let end = start + len as usize;
            if end > body_end {
                return Err(BlockError::Truncated { index });
            }
            entries.push(Entry {
                seq: first_seq + u64::from(index),
                hash,
                stored: &bytes[start..end],
            });
            at = end;
        }
        if at != body_end {
            return Err(BlockError::Trailing(body_end - at));
        }
        let last_hash = entries.last().map(|e| *e.hash).expect("count >= 1");
        if block_check(&bytes[..HEADER_BYTES], &last_hash)[..] != bytes[body_end..] {
            return Err(BlockError::Check);
        }
        Ok(Block {
            first_seq,
            recorded_at,
            entries,
        })
    }

    pub fn entries(&self) -> &[Entry<'a>] {
        &self.entries
    }

    pub fn last_seq(&self) -> u64 {
        self.first_seq + self.entries.len() as u64 - 1
    }
}
