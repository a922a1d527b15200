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

const BLOCK_VERSION: u8 = 1;
/// Most events in one block.
const MAX_BLOCK_EVENTS: usize = 1024;
/// A block is closed once it holds this many bytes. With the largest record (4 KiB) a block
/// stays under 260 KiB, about sled's inline-value threshold (a quarter of the 1 MiB segment
/// the store configures), so a block is written inline, not as a separate blob file.
const BLOCK_CLOSE_BYTES: usize = 256 * 1024;
const HEADER_BYTES: usize = 21;
const ENTRY_HEADER_BYTES: usize = 32 + 4;
const CHECK_BYTES: usize = 32;
const BLOCK_CHECK_CONTEXT: &str = "riskledger 2026-11-22 block check v1";

/// Why block bytes are not a well-formed block. Every variant except
/// [`BlockError::Version`] means the stored block is damaged: report the block's first seq
/// as the first bad one (the log does) and do not append until the store is restored.
///
/// ```
/// use riskledger_store::block::{Block, BlockError};
///
/// # use riskledger_events::{codec, json::parse_line, ChainHasher, Timestamp, GENESIS_HASH};
/// # use riskledger_store::block::BlockBuilder;
/// # let event = parse_line(1, r#"{"id":"g1","type":"account_opened","at":"2024-01-02T10:00:00Z","account":"c-1","role":"client","country":"US"}"#)?;
/// # let mut builder = BlockBuilder::new(1, Timestamp(1_800_000_000_000_000), GENESIS_HASH);
/// # let start = builder.begin_entry();
/// # codec::encode(&event, builder.buffer())?;
/// # let (_, hash) = builder.seal_entry(start, &ChainHasher::new());
/// # let (_, bytes) = builder.finish();
/// let mut damaged = bytes.clone();
/// damaged[13] ^= 1; // one bit of recorded_at
/// assert_eq!(Block::parse(&damaged).unwrap_err(), BlockError::Check);
/// assert_eq!(Block::parse(&bytes[..20]).unwrap_err(), BlockError::Short(20));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    /// Fewer bytes than a header and a check: a cut-short block. Damage.
    #[error("block is {0} bytes, too short for a header")]
    Short(usize),
    /// The first byte is not a block version this build reads: written by another (newer)
    /// build. Read it with that build; do not rewrite it.
    #[error("unknown block version {0}")]
    Version(u8),
    /// The header's event count is 0 or over the per-block limit. Damage.
    #[error("block holds {0} events; allowed 1..={MAX_BLOCK_EVENTS}")]
    Count(u32),
    /// Entry `index` (0-based) runs past the end of the block. Damage.
    #[error("entry {index} is cut short or overruns the block")]
    Truncated {
        /// The entry's position in the block, from 0.
        index: u32,
    },
    /// Entry `index` says it is longer than any stored record can be. Damage.
    #[error("entry {index} is {len} bytes; the limit is {MAX_RECORD_BYTES}")]
    EntryTooLong {
        /// The entry's position in the block, from 0.
        index: u32,
        /// The length it states.
        len: u32,
    },
    /// Bytes are left between the last entry and the check. Damage.
    #[error("{0} stray bytes after the last entry")]
    Trailing(usize),
    /// The block check does not match the header and the last hash. Damage.
    #[error("block check does not match: header or recorded_at damaged")]
    Check,
    /// The header's first seq is 0, or the block's seqs would overflow. Damage.
    #[error("block says it starts at seq {0}, which no block can")]
    Seq(u64),
}

fn check_key() -> [u8; 32] {
    blake3::derive_key(BLOCK_CHECK_CONTEXT, b"")
}

/// Builds one block in place: entries are encoded straight into the block's buffer. Per
/// entry: [`begin_entry`](Self::begin_entry), encode into [`buffer`](Self::buffer), then
/// [`seal_entry`](Self::seal_entry) (or [`abandon`](Self::abandon)); close the block with
/// [`finish`](Self::finish) once it [`is_full`](Self::is_full). [`Log`](crate::Log) builds
/// every block it stores this way.
///
/// ```
/// use riskledger_events::{codec, json::parse_line, ChainHasher, Timestamp, GENESIS_HASH};
/// use riskledger_store::block::{Block, BlockBuilder};
///
/// # let event = parse_line(1, r#"{"id":"g1","type":"account_opened","at":"2024-01-02T10:00:00Z","account":"c-1","role":"client","country":"US"}"#)?;
/// let mut builder = BlockBuilder::new(1, Timestamp(1_800_000_000_000_000), GENESIS_HASH);
/// let start = builder.begin_entry();
/// codec::encode(&event, builder.buffer())?;
/// let (seq, hash) = builder.seal_entry(start, &ChainHasher::new());
/// let (first_seq, bytes) = builder.finish();
/// assert_eq!((seq, first_seq, bytes.len()), (1, 1, 21 + 32 + 4 + 40 + 32));
/// assert_eq!(*Block::parse(&bytes)?.entries()[0].hash, hash);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct BlockBuilder {
    buf: Vec<u8>,
    count: u32,
    first_seq: u64,
    last_hash: ChainHash,
}

impl BlockBuilder {
    /// Starts the block whose first event will be seq `first_seq`, appended at `recorded_at`,
    /// chaining from `prev_hash` (the hash of seq `first_seq - 1`).
    ///
    /// ```
    /// use riskledger_events::{Timestamp, GENESIS_HASH};
    /// use riskledger_store::block::BlockBuilder;
    ///
    /// let builder = BlockBuilder::new(1, Timestamp(0), GENESIS_HASH);
    /// assert!(!builder.is_full());
    /// ```
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
    pub(crate) fn with_buffer(
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

    /// Entries sealed so far.
    fn len(&self) -> usize {
        self.count as usize
    }

    /// Whether no entry was sealed yet (an empty block is never written).
    pub(crate) fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Whether the block is closed: 1,024 entries, or 256 KiB. Seal no more entries into it;
    /// [`finish`](Self::finish) it and start the next one.
    ///
    /// ```
    /// use riskledger_events::{ChainHasher, Timestamp, GENESIS_HASH};
    /// use riskledger_store::block::BlockBuilder;
    ///
    /// let mut builder = BlockBuilder::new(1, Timestamp(0), GENESIS_HASH);
    /// for _ in 0..1_024 {
    ///     assert!(!builder.is_full());
    ///     let start = builder.begin_entry();
    ///     builder.buffer().extend_from_slice(b"stored event bytes");
    ///     builder.seal_entry(start, &ChainHasher::new());
    /// }
    /// assert!(builder.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        self.len() >= MAX_BLOCK_EVENTS || self.buf.len() >= BLOCK_CLOSE_BYTES
    }

    /// The seq the next sealed entry gets.
    pub(crate) fn next_seq(&self) -> u64 {
        self.first_seq + u64::from(self.count)
    }

    /// The hash of the last sealed entry (the previous hash before the first).
    pub(crate) fn last_hash(&self) -> ChainHash {
        self.last_hash
    }

    /// Reserves an entry and lets `encode` write the stored bytes into the buffer. Returns the
    /// entry's start so that [`BlockBuilder::abandon`] or [`BlockBuilder::seal_entry`] can follow.
    ///
    /// ```
    /// use riskledger_events::{ChainHasher, Timestamp, GENESIS_HASH};
    /// use riskledger_store::block::BlockBuilder;
    ///
    /// let mut builder = BlockBuilder::new(7, Timestamp(0), GENESIS_HASH);
    /// let start = builder.begin_entry();
    /// builder.buffer().extend_from_slice(b"stored event bytes");
    /// assert_eq!(builder.seal_entry(start, &ChainHasher::new()).0, 7);
    /// ```
    pub fn begin_entry(&mut self) -> usize {
        let start = self.buf.len();
        self.buf.extend_from_slice(&[0u8; ENTRY_HEADER_BYTES]);
        start
    }

    /// The buffer to encode the entry into (append only: never change what is already there).
    ///
    /// ```
    /// use riskledger_events::{codec, json::parse_line, Timestamp, GENESIS_HASH};
    /// use riskledger_store::block::BlockBuilder;
    ///
    /// # let event = parse_line(1, r#"{"id":"g1","type":"account_opened","at":"2024-01-02T10:00:00Z","account":"c-1","role":"client","country":"US"}"#)?;
    /// let mut builder = BlockBuilder::new(1, Timestamp(0), GENESIS_HASH);
    /// builder.begin_entry();
    /// assert_eq!(codec::encode(&event, builder.buffer())?, 40);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn buffer(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// Everything written so far.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// The stored bytes written since `begin_entry`.
    pub(crate) fn entry_bytes(&self, start: usize) -> &[u8] {
        &self.buf[start + ENTRY_HEADER_BYTES..]
    }

    /// Drops an entry begun with `begin_entry`: call it when encoding the entry failed.
    ///
    /// ```
    /// use riskledger_events::{ChainHasher, Timestamp, GENESIS_HASH};
    /// use riskledger_store::block::BlockBuilder;
    ///
    /// let mut builder = BlockBuilder::new(1, Timestamp(0), GENESIS_HASH);
    /// let start = builder.begin_entry();
    /// builder.buffer().extend_from_slice(b"half an entry");
    /// builder.abandon(start);
    /// let start = builder.begin_entry();
    /// builder.buffer().extend_from_slice(b"stored event bytes");
    /// assert_eq!(builder.seal_entry(start, &ChainHasher::new()).0, 1, "the abandoned one took no seq");
    /// ```
    pub fn abandon(&mut self, start: usize) {
        self.buf.truncate(start);
    }

    /// Chains the entry begun at `start` and returns its seq and hash.
    ///
    /// ```
    /// use riskledger_events::{ChainHasher, Timestamp, GENESIS_HASH};
    /// use riskledger_store::block::BlockBuilder;
    ///
    /// let chain = ChainHasher::new();
    /// let mut builder = BlockBuilder::new(1, Timestamp(0), GENESIS_HASH);
    /// let start = builder.begin_entry();
    /// builder.buffer().extend_from_slice(b"stored event bytes");
    /// let (seq, hash) = builder.seal_entry(start, &chain);
    /// assert_eq!((seq, hash), (1, chain.link(1, &GENESIS_HASH, b"stored event bytes")));
    /// ```
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
    pub(crate) fn into_buffer(self) -> Vec<u8> {
        self.buf
    }

    /// Finishes the block: writes the count and the check. Returns `(first_seq, bytes)`, as
    /// [`Backend::commit`](crate::Backend::commit) takes them. Seal at least one entry first.
    ///
    /// ```
    /// use riskledger_store::block::Block;
    ///
    /// # use riskledger_events::{codec, json::parse_line, ChainHasher, Timestamp, GENESIS_HASH};
    /// # use riskledger_store::block::BlockBuilder;
    /// # let event = parse_line(1, r#"{"id":"g1","type":"account_opened","at":"2024-01-02T10:00:00Z","account":"c-1","role":"client","country":"US"}"#)?;
    /// # let mut builder = BlockBuilder::new(1, Timestamp(1_800_000_000_000_000), GENESIS_HASH);
    /// # let start = builder.begin_entry();
    /// # codec::encode(&event, builder.buffer())?;
    /// # let (_, hash) = builder.seal_entry(start, &ChainHasher::new());
    /// # let (_, bytes) = builder.finish();
    /// assert_eq!(bytes.len(), 21 + (32 + 4 + 40) + 32); // header, one entry, check
    /// assert_eq!(Block::parse(&bytes)?.last_seq(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
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

/// One entry of a parsed block: an event's seq, chain hash and stored bytes.
///
/// ```
/// use riskledger_store::block::Block;
///
/// # use riskledger_events::{codec, json::parse_line, ChainHasher, Timestamp, GENESIS_HASH};
/// # use riskledger_store::block::BlockBuilder;
/// # let event = parse_line(1, r#"{"id":"g1","type":"account_opened","at":"2024-01-02T10:00:00Z","account":"c-1","role":"client","country":"US"}"#)?;
/// # let mut builder = BlockBuilder::new(1, Timestamp(1_800_000_000_000_000), GENESIS_HASH);
/// # let start = builder.begin_entry();
/// # codec::encode(&event, builder.buffer())?;
/// # let (_, hash) = builder.seal_entry(start, &ChainHasher::new());
/// # let (_, bytes) = builder.finish();
/// let entry = Block::parse(&bytes)?.entries()[0];
/// assert_eq!((entry.seq, *entry.hash), (1, hash));
/// assert_eq!(codec::decode(entry.stored)?, event);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Entry<'a> {
    /// The event's seq.
    pub seq: u64,
    /// The event's chain hash, as stored (the block check covers only the last one: walk the
    /// chain to check the others).
    pub hash: &'a ChainHash,
    /// The event's stored bytes ([`riskledger_events::codec::decode`] reads them).
    pub stored: &'a [u8],
}

/// A block whose structure has been checked (not yet its chain: the log walks it).
///
/// ```
/// use riskledger_store::block::Block;
///
/// # use riskledger_events::{codec, json::parse_line, ChainHasher, Timestamp, GENESIS_HASH};
/// # use riskledger_store::block::BlockBuilder;
/// # let event = parse_line(1, r#"{"id":"g1","type":"account_opened","at":"2024-01-02T10:00:00Z","account":"c-1","role":"client","country":"US"}"#)?;
/// # let mut builder = BlockBuilder::new(1, Timestamp(1_800_000_000_000_000), GENESIS_HASH);
/// # let start = builder.begin_entry();
/// # codec::encode(&event, builder.buffer())?;
/// # let (_, hash) = builder.seal_entry(start, &ChainHasher::new());
/// # let (_, bytes) = builder.finish();
/// let block = Block::parse(&bytes)?;
/// assert_eq!((block.first_seq, block.last_seq()), (1, 1));
/// assert_eq!(block.recorded_at, Timestamp(1_800_000_000_000_000));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Block<'a> {
    /// The seq of the block's first event.
    pub first_seq: u64,
    /// When the block was appended (one time per block, outside the event chain).
    pub recorded_at: Timestamp,
    entries: Vec<Entry<'a>>,
}

impl<'a> Block<'a> {
    /// Parses block bytes, checking lengths, bounds and the block check.
    ///
    /// ```
    /// use riskledger_store::block::{Block, BlockError};
    ///
    /// # use riskledger_events::{codec, json::parse_line, ChainHasher, Timestamp, GENESIS_HASH};
    /// # use riskledger_store::block::BlockBuilder;
    /// # let event = parse_line(1, r#"{"id":"g1","type":"account_opened","at":"2024-01-02T10:00:00Z","account":"c-1","role":"client","country":"US"}"#)?;
    /// # let mut builder = BlockBuilder::new(1, Timestamp(1_800_000_000_000_000), GENESIS_HASH);
    /// # let start = builder.begin_entry();
    /// # codec::encode(&event, builder.buffer())?;
    /// # let (_, hash) = builder.seal_entry(start, &ChainHasher::new());
    /// # let (_, bytes) = builder.finish();
    /// assert_eq!(Block::parse(&bytes)?.entries().len(), 1);
    /// let mut longer = bytes.clone();
    /// longer.insert(21 + 36 + 40, 0); // a stray byte after the entry
    /// assert!(matches!(Block::parse(&longer), Err(BlockError::Trailing(1))));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
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

    /// The block's entries, in seq order (at least one).
    ///
    /// ```
    /// use riskledger_store::block::Block;
    ///
    /// # use riskledger_events::{codec, json::parse_line, ChainHasher, Timestamp, GENESIS_HASH};
    /// # use riskledger_store::block::BlockBuilder;
    /// # let event = parse_line(1, r#"{"id":"g1","type":"account_opened","at":"2024-01-02T10:00:00Z","account":"c-1","role":"client","country":"US"}"#)?;
    /// # let mut builder = BlockBuilder::new(1, Timestamp(1_800_000_000_000_000), GENESIS_HASH);
    /// # let start = builder.begin_entry();
    /// # codec::encode(&event, builder.buffer())?;
    /// # let (_, hash) = builder.seal_entry(start, &ChainHasher::new());
    /// # let (_, bytes) = builder.finish();
    /// let block = Block::parse(&bytes)?;
    /// assert_eq!(codec::peek_id(block.entries()[0].stored), Some(&b"g1"[..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn entries(&self) -> &[Entry<'a>] {
        &self.entries
    }

    /// The seq of the block's last event.
    ///
    /// ```
    /// use riskledger_store::block::Block;
    ///
    /// # use riskledger_events::{codec, json::parse_line, ChainHasher, Timestamp, GENESIS_HASH};
    /// # use riskledger_store::block::BlockBuilder;
    /// # let event = parse_line(1, r#"{"id":"g1","type":"account_opened","at":"2024-01-02T10:00:00Z","account":"c-1","role":"client","country":"US"}"#)?;
    /// # let mut builder = BlockBuilder::new(1, Timestamp(1_800_000_000_000_000), GENESIS_HASH);
    /// # let start = builder.begin_entry();
    /// # codec::encode(&event, builder.buffer())?;
    /// # let (_, hash) = builder.seal_entry(start, &ChainHasher::new());
    /// # let (_, bytes) = builder.finish();
    /// let block = Block::parse(&bytes)?;
    /// assert_eq!(block.last_seq(), block.first_seq + block.entries().len() as u64 - 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn last_seq(&self) -> u64 {
        self.first_seq + self.entries.len() as u64 - 1
    }
}
