//! The log: append (group commit, idempotent by id, optional expected head), read from a seq,
//! verify. Generic over the [`Backend`] it stores blocks in.

use std::collections::VecDeque;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;

use riskledger_events::codec::{self, DecodeError};
use riskledger_events::limits::MAX_BATCH_EVENTS;
use riskledger_events::refs::References;
use riskledger_events::{ChainHash, ChainHasher, Event, EventError, Timestamp, GENESIS_HASH};

use crate::backend::{Backend, BackendError, BlockIter, Head};
use crate::block::{Block, BlockBuilder, BlockError};
use crate::checkpoint::{self, Checkpoint, Unusable};
use crate::ids::{fingerprint, IdIndex, Undo};

/// What an append does with an event that is invalid or conflicts with an earlier one.
///
/// ```
/// use riskledger_store::OnInvalid;
///
/// # use riskledger_events::json::parse_line;
/// # use riskledger_store::{open_sled, AppendOptions, SledOptions};
/// # let dir = tempfile::tempdir()?;
/// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
/// # let started = line(1, r#"{"id":"k","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"fixed"}"#);
/// # let paid = line(2, r#"{"id":"p","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":400000,"currency":"USD"}"#);
/// # let mut log = open_sled(dir.path(), &SledOptions::default())?;
/// let bad = line(3, r#"{"id":"x","type":"payment","at":"2024-02-02T08:00:00Z","contract":"k-9","amount_minor":5,"currency":"USD"}"#);
/// let options = AppendOptions { on_invalid: OnInvalid::Skip, ..AppendOptions::default() };
/// let receipt = log.append(&[started, bad, paid], &options)?;
/// assert_eq!((receipt.appended, receipt.rejected.len()), (2, 1)); // k-9 does not exist
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnInvalid {
    /// Append nothing; return [`AppendError::Rejected`]. The library default: a batch is whole.
    #[default]
    RejectBatch,
    /// Append the events before the first invalid one and stop there (`ingest --strict`).
    KeepPrefix,
    /// Append every valid event and report the invalid ones (`ingest --skip-invalid`).
    Skip,
}

/// How to append. The default rejects a batch with any invalid event, expects no particular
/// head, and records the system clock's time.
///
/// ```
/// use riskledger_store::AppendError;
///
/// # use riskledger_events::json::parse_line;
/// # use riskledger_store::{open_sled, AppendOptions, SledOptions};
/// # let dir = tempfile::tempdir()?;
/// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
/// # let started = line(1, r#"{"id":"k","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"fixed"}"#);
/// # let paid = line(2, r#"{"id":"p","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":400000,"currency":"USD"}"#);
/// # let mut log = open_sled(dir.path(), &SledOptions::default())?;
/// let seen = log.head().seq;
/// log.append(&[started], &AppendOptions::default())?; // another writer, say
/// let options = AppendOptions { expected_head: Some(seen), ..AppendOptions::default() };
/// let err = log.append(&[paid], &options).unwrap_err();
/// assert!(matches!(err, AppendError::HeadMoved { expected: 0, actual: 1 }));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct AppendOptions {
    /// Append only if the log's head seq is this (optimistic concurrency).
    pub expected_head: Option<u64>,
    /// What to do with invalid or conflicting events.
    pub on_invalid: OnInvalid,
    /// The append time to record; `None` reads the system clock (the store is an edge).
    pub recorded_at: Option<Timestamp>,
}

/// Why an event of a batch was not appended.
///
/// ```
/// use riskledger_store::{AppendError, RejectReason};
///
/// # use riskledger_events::json::parse_line;
/// # use riskledger_store::{open_sled, AppendOptions, SledOptions};
/// # let dir = tempfile::tempdir()?;
/// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
/// # let started = line(1, r#"{"id":"k","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"fixed"}"#);
/// # let paid = line(2, r#"{"id":"p","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":400000,"currency":"USD"}"#);
/// # let mut log = open_sled(dir.path(), &SledOptions::default())?;
/// log.append(&[started], &AppendOptions::default())?;
/// let mut reused = paid.clone();
/// reused.id = "k".into(); // the contract's id, for a different event
/// let Err(AppendError::Rejected(rejection)) = log.append(&[reused], &AppendOptions::default()) else { unreachable!() };
/// assert_eq!(rejection.reason, RejectReason::Conflict { seq: 1 });
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum RejectReason {
    /// The event breaks a rule of its own or names something the log does not know (the
    /// error names the field). Fix the event, or send what it depends on first.
    #[error("{0}")]
    Invalid(#[from] EventError),
    /// The id is taken by the event at `seq`, whose content differs. Give a different event
    /// its own id; if it is a corrected version of that event, the original stands.
    #[error("field `id`: already used by the event at seq {seq} with different content")]
    Conflict {
        /// The seq of the event that holds the id.
        seq: u64,
    },
}

/// An event that was not appended: its position in the batch, its id, and why.
///
/// ```
/// use riskledger_store::OnInvalid;
///
/// # use riskledger_events::json::parse_line;
/// # use riskledger_store::{open_sled, AppendOptions, SledOptions};
/// # let dir = tempfile::tempdir()?;
/// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
/// # let started = line(1, r#"{"id":"k","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"fixed"}"#);
/// # let paid = line(2, r#"{"id":"p","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":400000,"currency":"USD"}"#);
/// # let mut log = open_sled(dir.path(), &SledOptions::default())?;
/// let options = AppendOptions { on_invalid: OnInvalid::Skip, ..AppendOptions::default() };
/// let receipt = log.append(&[paid, started], &options)?; // the payment comes too early
/// let rejection = &receipt.rejected[0];
/// assert_eq!((rejection.index, rejection.id.as_str()), (0, "p"));
/// assert_eq!(rejection.to_string(), r#"event 0 (id "p"): field `contract`: contract "k-1" does not exist"#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("event {index} (id {id:?}): {reason}")]
pub struct Rejection {
    /// The event's position in the batch, from 0.
    pub index: usize,
    /// The event's id.
    pub id: String,
    /// Why it was not appended.
    pub reason: RejectReason,
}

/// What happened to one event of a batch.
///
/// ```
/// use riskledger_store::Outcome;
///
/// # use riskledger_events::json::parse_line;
/// # use riskledger_store::{open_sled, AppendOptions, SledOptions};
/// # let dir = tempfile::tempdir()?;
/// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
/// # let started = line(1, r#"{"id":"k","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"fixed"}"#);
/// # let paid = line(2, r#"{"id":"p","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":400000,"currency":"USD"}"#);
/// # let mut log = open_sled(dir.path(), &SledOptions::default())?;
/// log.append(&[started.clone()], &AppendOptions::default())?;
/// let receipt = log.append(&[started, paid], &AppendOptions::default())?; // a retry, with one more
/// assert_eq!(receipt.outcomes, [Outcome::Duplicate(1), Outcome::Appended(2)]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Stored at this seq.
    Appended(u64),
    /// Already stored, with the same content, at this seq.
    Duplicate(u64),
    /// Rejected (see the receipt's `rejected`).
    Rejected,
    /// Not looked at: an earlier event was rejected under [`OnInvalid::KeepPrefix`].
    NotTried,
}

/// The result of an append that did not fail as a whole.
///
/// ```
/// # use riskledger_events::json::parse_line;
/// # use riskledger_store::{open_sled, AppendOptions, SledOptions};
/// # let dir = tempfile::tempdir()?;
/// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
/// # let started = line(1, r#"{"id":"k","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"fixed"}"#);
/// # let paid = line(2, r#"{"id":"p","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":400000,"currency":"USD"}"#);
/// # let mut log = open_sled(dir.path(), &SledOptions::default())?;
/// log.append(&[started.clone()], &AppendOptions::default())?;
/// let receipt = log.append(&[started, paid], &AppendOptions::default())?;
/// assert_eq!((receipt.appended, receipt.duplicates, receipt.rejected.len()), (1, 1, 0));
/// assert_eq!(receipt.head, log.head());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Receipt {
    /// Events stored by this append.
    pub appended: u64,
    /// Events already stored with the same content (counted, not stored again).
    pub duplicates: u64,
    /// Events not appended, in batch order (only under [`OnInvalid::KeepPrefix`] and
    /// [`OnInvalid::Skip`]; under [`OnInvalid::RejectBatch`] the append fails instead).
    pub rejected: Vec<Rejection>,
    /// One per event of the batch, in order.
    pub outcomes: Vec<Outcome>,
    /// The head after the append.
    pub head: Head,
}

/// Why an append stored nothing.
///
/// ```
/// use riskledger_store::AppendError;
///
/// # use riskledger_events::json::parse_line;
/// # use riskledger_store::{open_sled, AppendOptions, SledOptions};
/// # let dir = tempfile::tempdir()?;
/// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
/// # let started = line(1, r#"{"id":"k","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"fixed"}"#);
/// # let paid = line(2, r#"{"id":"p","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":400000,"currency":"USD"}"#);
/// # let mut log = open_sled(dir.path(), &SledOptions::default())?;
/// let err = log.append(&[paid], &AppendOptions::default()).unwrap_err();
/// let AppendError::Rejected(rejection) = &err else { unreachable!() };
/// assert_eq!(rejection.id, "p"); // the whole batch was refused: fix or drop that event
/// assert_eq!(log.head().seq, 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// Another writer appended first. Re-read the head, re-decide, retry.
    #[error("head moved: expected seq {expected}, the log is at {actual}")]
    HeadMoved {
        /// The head seq the append expected.
        expected: u64,
        /// The log's head seq.
        actual: u64,
    },
    /// The batch has more than [`MAX_BATCH_EVENTS`] events. Split the batch.
    #[error("batch of {events} events; the limit is {MAX_BATCH_EVENTS}")]
    TooLarge {
        /// The batch's length.
        events: usize,
    },
    /// An event was invalid under [`OnInvalid::RejectBatch`]. Fix or drop it and retry.
    #[error("{0}")]
    Rejected(Rejection),
    /// The storage failed. The batch may or may not be stored (it was not acknowledged):
    /// reopen the log, then retry; the retry is idempotent.
    #[error("{0}")]
    Storage(#[from] BackendError),
    /// An earlier commit failed; reopen the log before appending again.
    #[error("an earlier append failed in storage; reopen the ledger before appending again")]
    NeedsReopen,
}

/// Why a checkpoint was not written. The log is unaffected: the next open reads more blocks.
///
/// ```
/// use riskledger_store::CheckpointError;
///
/// # use riskledger_events::json::parse_line;
/// # use riskledger_store::{open_sled, AppendOptions, SledOptions};
/// # let dir = tempfile::tempdir()?;
/// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
/// # let started = line(1, r#"{"id":"k","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"fixed"}"#);
/// # let paid = line(2, r#"{"id":"p","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":400000,"currency":"USD"}"#);
/// # let mut log = open_sled(dir.path(), &SledOptions::default())?;
/// std::fs::create_dir_all(dir.path().join("log.checkpoint").join("in-the-way"))?;
/// assert!(matches!(log.checkpoint(), Err(CheckpointError::Io(_))));
/// assert_eq!(log.checkpoint_seq(), 0); // no checkpoint; the log itself is fine
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// Writing or syncing the checkpoint file failed (disk full, permissions). Fix the cause
    /// and try again later; the previous checkpoint, if any, is still in place.
    #[error("writing the store checkpoint: {0}")]
    Io(#[from] std::io::Error),
    /// An earlier commit failed, so memory may not describe the store: reopen first.
    #[error("an earlier append failed in storage; reopen the ledger before checkpointing")]
    NeedsReopen,
}

/// Why the log cannot be read as a valid log.
///
/// ```
/// use riskledger_store::{open_sled, BackendError, SledOptions, StoreError};
///
/// # let dir = tempfile::tempdir()?;
/// let _log = open_sled(dir.path(), &SledOptions::default())?;
/// let err = open_sled(dir.path(), &SledOptions::default()).err().unwrap();
/// assert!(matches!(err, StoreError::Storage(BackendError::Busy(_))));
/// assert!(!err.is_damage()); // wait for the other holder, or stop it
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The storage below the log failed. See [`BackendError`] for each cause;
    /// [`StoreError::is_damage`] says whether to treat it as damage.
    #[error("{0}")]
    Storage(#[from] BackendError),
    /// The first record that is not what it should be. The log is damaged from `seq` on: do
    /// not append; run `verify` and restore from a copy.
    #[error("seq {seq}: {reason}")]
    Damaged {
        /// The first bad seq.
        seq: u64,
        /// What is wrong with it.
        reason: String,
    },
}

impl StoreError {
    /// Whether the error says the stored data is damaged (rather than that the machine failed).
    ///
    /// ```
    /// use riskledger_store::{BackendError, StoreError};
    ///
    /// assert!(StoreError::Damaged { seq: 7, reason: "hash does not match".into() }.is_damage());
    /// assert!(!StoreError::Storage(BackendError::Busy("/data/ledger".into())).is_damage());
    /// ```
    pub fn is_damage(&self) -> bool {
        match self {
            StoreError::Damaged { .. } => true,
            StoreError::Storage(err) => err.is_damage(),
        }
    }

    /// The first bad seq, when the error is about a record.
    ///
    /// ```
    /// use riskledger_store::{BackendError, StoreError};
    ///
    /// assert_eq!(StoreError::Damaged { seq: 7, reason: "cut short".into() }.first_bad_seq(), Some(7));
    /// assert_eq!(StoreError::Storage(BackendError::Engine("closed".into())).first_bad_seq(), None);
    /// ```
    pub fn first_bad_seq(&self) -> Option<u64> {
        match self {
            StoreError::Damaged { seq, .. } => Some(*seq),
            StoreError::Storage(_) => None,
        }
    }
}

fn damaged(seq: u64, reason: impl Into<String>) -> StoreError {
    StoreError::Damaged {
        seq,
        reason: reason.into(),
    }
}

/// One event read back: where it sits and what it says.
///
/// ```
/// use riskledger_events::Timestamp;
///
/// # use riskledger_events::json::parse_line;
/// # use riskledger_store::{open_sled, AppendOptions, SledOptions};
/// # let dir = tempfile::tempdir()?;
/// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
/// # let started = line(1, r#"{"id":"k","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"fixed"}"#);
/// # let paid = line(2, r#"{"id":"p","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":400000,"currency":"USD"}"#);
/// # let mut log = open_sled(dir.path(), &SledOptions::default())?;
/// let options = AppendOptions { recorded_at: Some(Timestamp(1_800_000_000_000_000)), ..AppendOptions::default() };
/// log.append(&[started.clone()], &options)?;
/// let record = log.records(1).next().unwrap()?;
/// assert_eq!((record.seq, record.hash, record.recorded_at), (1, log.head().hash, Timestamp(1_800_000_000_000_000)));
/// assert_eq!(record.event, started);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// The event's seq (from 1, dense, in append order).
    pub seq: u64,
    /// The event's chain hash.
    pub hash: ChainHash,
    /// When the event was appended (the same for every event of a block).
    pub recorded_at: Timestamp,
    /// The event, decoded and validated.
    pub event: Event,
}

/// A stored block with the offsets of its entries, parsed once.
struct Loaded<Bytes> {
    first_seq: u64,
    recorded_at: Timestamp,
    bytes: Bytes,
    /// (start, end) of each entry's stored bytes, and its hash's start.
    entries: Vec<(usize, usize, usize)>,
}

impl<Bytes: AsRef<[u8]>> Loaded<Bytes> {
    fn parse(key: u64, bytes: Bytes) -> Result<Self, StoreError> {
        let raw = bytes.as_ref();
        let block = Block::parse(raw).map_err(|e: BlockError| damaged(key, e.to_string()))?;
        if block.first_seq != key {
            return Err(damaged(
                key,
                format!(
                    "block stored under seq {key} says it starts at {}",
                    block.first_seq
                ),
            ));
        }
        let base = raw.as_ptr() as usize;
        let entries = block
            .entries()
            .iter()
            .map(|e| {
                let start = e.stored.as_ptr() as usize - base;
                (
                    start,
                    start + e.stored.len(),
                    e.hash.as_ptr() as usize - base,
                )
            })
            .collect();
        let recorded_at = block.recorded_at;
        Ok(Loaded {
            first_seq: key,
            recorded_at,
            bytes,
            entries,
        })
    }

    fn last_seq(&self) -> u64 {
        self.first_seq + self.entries.len() as u64 - 1
    }

    /// Walks the chain through this block from `prev`, the hash before seq `from` (left at the
    /// block's last stored hash): the first seq from `from` on whose stored hash is not the
    /// link of its bytes to the one before.
    fn first_break(&self, chain: &ChainHasher, prev: &mut ChainHash, from: u64) -> Option<u64> {
        (self.first_seq.max(from)..=self.last_seq()).find(|&seq| {
            let hash = self.hash(seq);
            let follows = chain.link(seq, prev, self.stored(seq)) == hash;
            *prev = hash;
            !follows
        })
    }

    fn contains(&self, seq: u64) -> bool {
        (self.first_seq..=self.last_seq()).contains(&seq)
    }

    fn stored(&self, seq: u64) -> &[u8] {
        let (start, end, _) = self.entries[(seq - self.first_seq) as usize];
        &self.bytes.as_ref()[start..end]
    }

    fn hash(&self, seq: u64) -> ChainHash {
        let (_, _, at) = self.entries[(seq - self.first_seq) as usize];
        self.bytes.as_ref()[at..at + 32]
            .try_into()
            .expect("32 bytes")
    }
}

/// Reads one block by seq, keeping the last one (duplicate checks read neighbouring seqs).
struct BlockReader<Bytes> {
    cached: Option<Loaded<Bytes>>,
}

impl<Bytes: AsRef<[u8]>> BlockReader<Bytes> {
    fn new() -> Self {
        BlockReader { cached: None }
    }

    fn stored<'s, B: Backend<Bytes = Bytes>>(
        &'s mut self,
        backend: &B,
        seq: u64,
    ) -> Result<&'s [u8], StoreError> {
        if !self.cached.as_ref().is_some_and(|c| c.contains(seq)) {
            let (key, bytes) = backend
                .block_at_or_before(seq)?
                .ok_or_else(|| damaged(seq, "no block holds this seq"))?;
            let loaded = Loaded::parse(key, bytes)?;
            if !loaded.contains(seq) {
                return Err(damaged(seq, "no block holds this seq"));
            }
            self.cached = Some(loaded);
        }
        Ok(self.cached.as_ref().expect("just loaded").stored(seq))
    }
}

/// The append-only, hash-chained event log, on any [`Backend`]. One open log per store: it
/// keeps the id index and the references in memory.
///
/// ```
/// use riskledger_store::{AppendOptions, Log, SledBackend, SledOptions};
///
/// # use riskledger_events::json::parse_line;
/// # let dir = tempfile::tempdir()?;
/// # let started = parse_line(1, r#"{"id":"k","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"fixed"}"#)?;
/// let mut log = Log::open(SledBackend::open(dir.path(), &SledOptions::default())?)?;
/// log.append(&[started], &AppendOptions::default())?;
/// assert_eq!(log.records(1).count(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Log<B: Backend> {
    backend: B,
    chain: ChainHasher,
    head: Head,
    ids: IdIndex,
    refs: References,
    /// Block buffers of earlier appends, for reuse.
    spare_buffers: Vec<Vec<u8>>,
    /// A commit failed after the backend may have stored some of it: memory no longer
    /// describes the store, so appends are refused until the log is reopened.
    needs_reopen: bool,
    /// The seq the last checkpoint loaded or written covers (0: none).
    checkpoint_seq: u64,
}

/// Most block buffers kept for reuse (one full append's worth).
const MAX_SPARE_BUFFERS: usize = 16;

fn now() -> Timestamp {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp(i64::try_from(since_epoch.as_micros()).unwrap_or(i64::MAX))
}

/// Types whose references other events make (contracts, flags): the only ones an open decodes.
fn carries_references(stored: &[u8]) -> bool {
    matches!(codec::peek_type_index(stored), Some(1 | 2 | 4 | 5) | None)
}

impl<B: Backend> Log<B> {
    /// Opens a log on `backend`. When the backend holds a checkpoint that is intact and belongs
    /// to this log (its seq is in the log and the log's hash at that seq is the checkpoint's),
    /// loads the id index and the references from it and reads only the blocks after it;
    /// otherwise (absent, damaged, another version, another log: logged as a warning) rebuilds
    /// both from every block. Either way, the blocks it reads are checked (structure, dense
    /// seqs, the hash chain, on a second thread, from the checkpoint's hash; unique ids), and
    /// every acknowledged event must still be there. A log that fails these checks does not
    /// open; `verify` names the problem. The blocks a checkpoint covers are not re-read:
    /// checking them is `verify`'s job.
    ///
    /// ```
    /// use riskledger_store::{Log, SledBackend};
    ///
    /// # use riskledger_events::json::parse_line;
    /// # use riskledger_store::{open_sled, AppendOptions, SledOptions};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let started = line(1, r#"{"id":"k","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"fixed"}"#);
    /// # let paid = line(2, r#"{"id":"p","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":400000,"currency":"USD"}"#);
    /// # let mut log = open_sled(dir.path(), &SledOptions::default())?;
    /// # log.append(&[started.clone(), paid.clone()], &AppendOptions::default())?;
    /// log.checkpoint()?;
    /// drop(log);
    /// let log = Log::open(SledBackend::open(dir.path(), &SledOptions::default())?)?;
    /// assert_eq!((log.head().seq, log.checkpoint_seq()), (2, 2)); // read nothing but the checkpoint
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(backend: B) -> Result<Self, StoreError> {
        let start = load_checkpoint(&backend);
        Self::open_from(backend, start)
    }

    /// Opens a log ignoring any checkpoint: reads and checks every block, rebuilding the id
    /// index and references from seq 1.
    ///
    /// ```
    /// use riskledger_store::{Log, SledBackend};
    ///
    /// # use riskledger_events::json::parse_line;
    /// # use riskledger_store::{open_sled, AppendOptions, SledOptions};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let started = line(1, r#"{"id":"k","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"fixed"}"#);
    /// # let paid = line(2, r#"{"id":"p","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":400000,"currency":"USD"}"#);
    /// # let mut log = open_sled(dir.path(), &SledOptions::default())?;
    /// # log.append(&[started.clone(), paid.clone()], &AppendOptions::default())?;
    /// log.checkpoint()?;
    /// drop(log);
    /// let log = Log::open_rebuilding(SledBackend::open(dir.path(), &SledOptions::default())?)?;
    /// assert_eq!((log.head().seq, log.checkpoint_seq()), (2, 0)); // every block read
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open_rebuilding(backend: B) -> Result<Self, StoreError> {
        Self::open_from(backend, None)
    }

    /// Opens from a checkpoint and the first block key to read after it, or from nothing.
    fn open_from(backend: B, start: Option<(Checkpoint, u64)>) -> Result<Self, StoreError> {
        let (mut ids, mut refs, covered, start_key) = match start {
            Some((checkpoint, key)) => (checkpoint.ids, checkpoint.refs, checkpoint.head, key),
            None => (IdIndex::default(), References::new(), Head::EMPTY, 1),
        };
        let mut head = covered;
        let mut reader = BlockReader::new();
        let verifier = ChainVerifier::start(covered.hash, covered.seq + 1)?;
        let mut unanswered = 0usize;
        let take_verdict = |unanswered: &mut usize| -> Result<(), StoreError> {
            *unanswered -= 1;
            match verifier.verdicts.recv() {
                Ok(None) => Ok(()),
                Ok(Some(seq)) => Err(damaged(seq, CHAIN_BROKEN)),
                Err(_) => Err(StoreError::Storage(BackendError::Engine(
                    "the chain verifier stopped".into(),
                ))),
            }
        };
        let mut expected_key = start_key;
        for item in backend.blocks_from(if covered.seq == 0 { 0 } else { start_key }) {
            let (key, bytes) = item?;
            let block = Arc::new(Loaded::parse(key, bytes)?);
            if block.first_seq != expected_key {
                return Err(damaged(
                    head.seq + 1,
                    format!(
                        "expected a block starting at seq {expected_key}, found one at {}",
                        block.first_seq
                    ),
                ));
            }
            expected_key = block.last_seq() + 1;
            if verifier.blocks.send(Arc::clone(&block)).is_err() {
                return Err(damaged(block.first_seq, "the chain verifier stopped"));
            }
            unanswered += 1;
            if unanswered >= READ_AHEAD_BLOCKS {
                take_verdict(&mut unanswered)?;
            }
            for seq in block.first_seq.max(covered.seq + 1)..=block.last_seq() {
                let stored = block.stored(seq);
                let id = codec::peek_id(stored)
                    .ok_or_else(|| damaged(seq, "record has no readable id"))?;
                let fp = fingerprint(id);
                if find(&ids, &backend, &mut reader, None, id, fp)?.is_some() {
                    return Err(damaged(seq, "id already used by an earlier event"));
                }
                ids.insert(fp, id, seq);
                if carries_references(stored) {
                    let event = codec::decode(stored)
                        .map_err(|e: DecodeError| damaged(seq, e.to_string()))?;
                    refs.replay(&event);
                }
            }
            head = Head {
                seq: block.last_seq(),
                hash: block.hash(block.last_seq()),
            };
        }
        while unanswered > 0 {
            take_verdict(&mut unanswered)?;
        }
        check_acknowledged(&backend, &head)?;
        tracing::debug!(
            events = head.seq,
            ids = ids.len(),
            checkpoint = covered.seq,
            "log opened"
        );
        Ok(Log {
            backend,
            chain: ChainHasher::new(),
            head,
            ids,
            refs,
            spare_buffers: Vec::new(),
            needs_reopen: false,
            checkpoint_seq: covered.seq,
        })
    }

    /// Writes the store checkpoint now: the id index and the references as of the head, with
    /// the head's seq and hash (`docs/format.md`), atomically replacing the previous one. The
    /// next open loads it and reads only the blocks after it. Returns the seq it covers, or
    /// `None` when the backend keeps no checkpoint. Costs a write of about 16 bytes per event
    /// and one fsync; a failure leaves the previous checkpoint (or none) and the log intact.
    ///
    /// ```
    /// # use riskledger_events::json::parse_line;
    /// # use riskledger_store::{open_sled, AppendOptions, SledOptions};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let started = line(1, r#"{"id":"k","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"fixed"}"#);
    /// # let paid = line(2, r#"{"id":"p","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":400000,"currency":"USD"}"#);
    /// # let mut log = open_sled(dir.path(), &SledOptions::default())?;
    /// # log.append(&[started.clone(), paid.clone()], &AppendOptions::default())?;
    /// assert_eq!(log.checkpoint()?, Some(2));
    /// assert_eq!(log.checkpoint_seq(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn checkpoint(&mut self) -> Result<Option<u64>, CheckpointError> {
        if self.needs_reopen {
            return Err(CheckpointError::NeedsReopen);
        }
        let Some(path) = self.backend.checkpoint_path() else {
            return Ok(None);
        };
        checkpoint::write(&path, &self.head, &self.ids, &self.refs)?;
        self.checkpoint_seq = self.head.seq;
        Ok(Some(self.head.seq))
    }

    /// The seq the last checkpoint covers: the one this open loaded, or the last one
    /// [`Log::checkpoint`] wrote since. 0 when there is none (the open read every block).
    ///
    /// ```
    /// # use riskledger_events::json::parse_line;
    /// # use riskledger_store::{open_sled, AppendOptions, SledOptions};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let started = line(1, r#"{"id":"k","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"fixed"}"#);
    /// # let paid = line(2, r#"{"id":"p","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":400000,"currency":"USD"}"#);
    /// # let mut log = open_sled(dir.path(), &SledOptions::default())?;
    /// assert_eq!(log.checkpoint_seq(), 0);
    /// log.append(&[started], &AppendOptions::default())?;
    /// log.checkpoint()?;
    /// log.append(&[paid], &AppendOptions::default())?;
    /// assert_eq!((log.checkpoint_seq(), log.head().seq), (1, 2)); // the next open reads seq 2
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn checkpoint_seq(&self) -> u64 {
        self.checkpoint_seq
    }

    /// The log's last event: its seq and chain hash ([`Head::EMPTY`] for an empty log).
    ///
    /// ```
    /// # use riskledger_events::json::parse_line;
    /// # use riskledger_store::{open_sled, AppendOptions, SledOptions};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let started = line(1, r#"{"id":"k","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"fixed"}"#);
    /// # let paid = line(2, r#"{"id":"p","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":400000,"currency":"USD"}"#);
    /// # let mut log = open_sled(dir.path(), &SledOptions::default())?;
    /// let receipt = log.append(&[started, paid], &AppendOptions::default())?;
    /// assert_eq!(log.head(), receipt.head);
    /// assert_eq!(log.head().seq, 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn head(&self) -> Head {
        self.head
    }

    /// The stored chain hash of the record at `seq` (the genesis hash for 0). An error for a
    /// seq past the head.
    ///
    /// ```
    /// use riskledger_events::GENESIS_HASH;
    ///
    /// # use riskledger_events::json::parse_line;
    /// # use riskledger_store::{open_sled, AppendOptions, SledOptions};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let started = line(1, r#"{"id":"k","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"fixed"}"#);
    /// # let paid = line(2, r#"{"id":"p","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":400000,"currency":"USD"}"#);
    /// # let mut log = open_sled(dir.path(), &SledOptions::default())?;
    /// # log.append(&[started.clone(), paid.clone()], &AppendOptions::default())?;
    /// assert_eq!(log.hash_at(0)?, GENESIS_HASH);
    /// assert_eq!(log.hash_at(2)?, log.head().hash);
    /// assert!(log.hash_at(3).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn hash_at(&self, seq: u64) -> Result<ChainHash, StoreError> {
        if seq == 0 {
            return Ok(GENESIS_HASH);
        }
        hash_at(&self.backend, seq)
    }

    /// The backend the log stores its blocks in, for reads below the log.
    ///
    /// ```
    /// use riskledger_store::Backend;
    ///
    /// # use riskledger_events::json::parse_line;
    /// # use riskledger_store::{open_sled, AppendOptions, SledOptions};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let started = line(1, r#"{"id":"k","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"fixed"}"#);
    /// # let paid = line(2, r#"{"id":"p","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":400000,"currency":"USD"}"#);
    /// # let mut log = open_sled(dir.path(), &SledOptions::default())?;
    /// # log.append(&[started.clone(), paid.clone()], &AppendOptions::default())?;
    /// assert_eq!(log.backend().acknowledged_head()?, Some(log.head()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// Appends a batch: validated, deduplicated by id against the whole history, chained, and
    /// durable (one flush) before it returns. Either every accepted event is stored or none.
    ///
    /// ```
    /// # use riskledger_events::json::parse_line;
    /// # use riskledger_store::{open_sled, AppendOptions, SledOptions};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let started = line(1, r#"{"id":"k","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"fixed"}"#);
    /// # let paid = line(2, r#"{"id":"p","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":400000,"currency":"USD"}"#);
    /// # let mut log = open_sled(dir.path(), &SledOptions::default())?;
    /// let receipt = log.append(&[started.clone(), paid.clone()], &AppendOptions::default())?;
    /// assert_eq!(receipt.appended, 2);
    /// let retry = log.append(&[started, paid], &AppendOptions::default())?; // idempotent by id
    /// assert_eq!((retry.appended, retry.duplicates, log.head().seq), (0, 2, 2));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn append(
        &mut self,
        events: &[Event],
        options: &AppendOptions,
    ) -> Result<Receipt, AppendError> {
        if self.needs_reopen {
            return Err(AppendError::NeedsReopen);
        }
        if let Some(expected) = options.expected_head {
            if expected != self.head.seq {
                return Err(AppendError::HeadMoved {
                    expected,
                    actual: self.head.seq,
                });
            }
        }
        if events.len() > MAX_BATCH_EVENTS {
            return Err(AppendError::TooLarge {
                events: events.len(),
            });
        }
        let recorded_at = options.recorded_at.unwrap_or_else(now);
        let mut batch = Batch::new(
            self.head,
            recorded_at,
            std::mem::take(&mut self.spare_buffers),
            events.len(),
        );
        // Grow the id index once, before the batch, not in the middle of it.
        self.ids.reserve(events.len());
        let mut staged = self.refs.stage();
        let mut undo: Vec<Undo> = Vec::with_capacity(events.len());
        let mut reader = BlockReader::new();
        let mut receipt = Receipt {
            appended: 0,
            duplicates: 0,
            rejected: Vec::new(),
            outcomes: Vec::with_capacity(events.len()),
            head: self.head,
        };
        for (index, event) in events.iter().enumerate() {
            let verdict = admit(
                event,
                &self.backend,
                &mut self.ids,
                &mut reader,
                &mut batch,
                &mut staged,
                &self.chain,
            );
            match verdict {
                Ok(Admitted::New(seq, token)) => {
                    undo.push(token);
                    receipt.appended += 1;
                    receipt.outcomes.push(Outcome::Appended(seq));
                }
                Ok(Admitted::Duplicate(seq)) => {
                    receipt.duplicates += 1;
                    receipt.outcomes.push(Outcome::Duplicate(seq));
                }
                Err(Refused::Reason(reason)) => {
                    let rejection = Rejection {
                        index,
                        id: event.id.clone(),
                        reason,
                    };
                    match options.on_invalid {
                        OnInvalid::RejectBatch => {
                            undo_all(&mut self.ids, undo);
                            return Err(AppendError::Rejected(rejection));
                        }
                        OnInvalid::KeepPrefix => {
                            receipt.rejected.push(rejection);
                            receipt.outcomes.push(Outcome::Rejected);
                            receipt.outcomes.resize(events.len(), Outcome::NotTried);
                            break;
                        }
                        OnInvalid::Skip => {
                            receipt.rejected.push(rejection);
                            receipt.outcomes.push(Outcome::Rejected);
                        }
                    }
                }
                Err(Refused::Store(err)) => {
                    undo_all(&mut self.ids, undo);
                    return Err(match err {
                        StoreError::Storage(e) => AppendError::Storage(e),
                        damage => AppendError::Storage(BackendError::Engine(damage.to_string())),
                    });
                }
            }
        }
        let changes = staged.into_changes();
        let Finished {
            blocks,
            head: new_head,
            spare,
        } = batch.finish();
        self.spare_buffers = spare;
        if blocks.is_empty() {
            return Ok(receipt);
        }
        let committed = self.backend.commit(&blocks, &new_head);
        self.keep_buffers(blocks);
        if let Err(err) = committed {
            undo_all(&mut self.ids, undo);
            self.needs_reopen = true;
            return Err(err.into());
        }
        self.refs.commit(changes);
        self.head = new_head;
        receipt.head = new_head;
        Ok(receipt)
    }

    fn keep_buffers(&mut self, blocks: Vec<(u64, Vec<u8>)>) {
        let room = MAX_SPARE_BUFFERS.saturating_sub(self.spare_buffers.len());
        self.spare_buffers
            .extend(blocks.into_iter().take(room).map(|(_, buf)| buf));
    }

    /// Every record from `seq` on, in order. Checks each block's structure and continuity and
    /// decodes each event; use [`Log::records_verified`] to recompute hashes too.
    ///
    /// ```
    /// # use riskledger_events::json::parse_line;
    /// # use riskledger_store::{open_sled, AppendOptions, SledOptions};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let started = line(1, r#"{"id":"k","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"fixed"}"#);
    /// # let paid = line(2, r#"{"id":"p","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":400000,"currency":"USD"}"#);
    /// # let mut log = open_sled(dir.path(), &SledOptions::default())?;
    /// # log.append(&[started.clone(), paid.clone()], &AppendOptions::default())?;
    /// let ids: Vec<String> = log.records(2).map(|r| r.map(|r| r.event.id)).collect::<Result<_, _>>()?;
    /// assert_eq!(ids, ["p"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn records(&self, from_seq: u64) -> Records<'_, B> {
        Records::new(&self.backend, from_seq, false)
    }

    /// The records with seqs in `first..=last` whose stored bytes `keep` accepts, in order.
    /// Reads only the blocks that hold those seqs and decodes only the records kept, so that
    /// a filter on the bytes (does the record contain an id's text?) costs a scan, not a
    /// decode, per record. Blocks are checked as [`Log::records`] checks them.
    ///
    /// ```
    /// # use riskledger_events::json::parse_line;
    /// # use riskledger_store::{open_sled, AppendOptions, SledOptions};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let started = line(1, r#"{"id":"k","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"fixed"}"#);
    /// # let paid = line(2, r#"{"id":"p","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":400000,"currency":"USD"}"#);
    /// # let mut log = open_sled(dir.path(), &SledOptions::default())?;
    /// # log.append(&[started.clone(), paid.clone()], &AppendOptions::default())?;
    /// let with_f1 = log.records_in(1, 2, |stored| stored.windows(3).any(|w| w == b"f-1"))?;
    /// assert_eq!(with_f1.iter().map(|r| r.seq).collect::<Vec<_>>(), [1]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn records_in(
        &self,
        first: u64,
        last: u64,
        mut keep: impl FnMut(&[u8]) -> bool,
    ) -> Result<Vec<Record>, StoreError> {
        let last = last.min(self.head.seq);
        let mut kept = Vec::new();
        let mut next = first.max(1);
        if next > last {
            return Ok(kept);
        }
        let mut blocks =
            DenseBlocks::starting_with(&self.backend, self.backend.block_at_or_before(next)?);
        while next <= last {
            let block = match blocks.next() {
                Some(block) => block?,
                None => return Err(damaged(next, "no block holds this acknowledged seq")),
            };
            if !block.contains(next) {
                return Err(damaged(next, "no block holds this acknowledged seq"));
            }
            for seq in next..=last.min(block.last_seq()) {
                let stored = block.stored(seq);
                if keep(stored) {
                    let event = codec::decode(stored).map_err(|e| damaged(seq, e.to_string()))?;
                    kept.push(Record {
                        seq,
                        hash: block.hash(seq),
                        recorded_at: block.recorded_at,
                        event,
                    });
                }
            }
            next = block.last_seq() + 1;
        }
        Ok(kept)
    }

    /// Every record from seq 1 on, recomputing the hash chain as it goes: the first record
    /// whose hash does not follow is an error naming its seq.
    ///
    /// ```
    /// # use riskledger_events::json::parse_line;
    /// # use riskledger_store::{open_sled, AppendOptions, SledOptions};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let started = line(1, r#"{"id":"k","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"fixed"}"#);
    /// # let paid = line(2, r#"{"id":"p","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":400000,"currency":"USD"}"#);
    /// # let mut log = open_sled(dir.path(), &SledOptions::default())?;
    /// # log.append(&[started.clone(), paid.clone()], &AppendOptions::default())?;
    /// let last = log.records_verified().last().unwrap()?;
    /// assert_eq!((last.seq, last.hash), (2, log.head().hash));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn records_verified(&self) -> Records<'_, B> {
        Records::new(&self.backend, 1, true)
    }

    /// Re-reads the whole log and checks everything (see [`verify()`]).
    ///
    /// ```
    /// # use riskledger_events::json::parse_line;
    /// # use riskledger_store::{open_sled, AppendOptions, SledOptions};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let started = line(1, r#"{"id":"k","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"fixed"}"#);
    /// # let paid = line(2, r#"{"id":"p","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":400000,"currency":"USD"}"#);
    /// # let mut log = open_sled(dir.path(), &SledOptions::default())?;
    /// # log.append(&[started.clone(), paid.clone()], &AppendOptions::default())?;
    /// let verification = log.verify();
    /// assert!(verification.ok());
    /// assert_eq!(verification.head, log.head());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify(&self) -> Verification {
        verify(&self.backend)
    }
}

fn undo_all(ids: &mut IdIndex, undo: Vec<Undo>) {
    for token in undo.into_iter().rev() {
        ids.undo(token);
    }
}

/// The blocks of one append being built.
struct Batch {
    finished: Vec<(u64, Vec<u8>)>,
    spare: Vec<Vec<u8>>,
    builder: BlockBuilder,
    recorded_at: Timestamp,
    first_seq: u64,
    /// Per pending seq: (block index, start, end) of its stored bytes; block index ==
    /// finished.len() means the builder.
    locations: Vec<(usize, usize, usize)>,
}

impl Batch {
    fn new(head: Head, recorded_at: Timestamp, mut spare: Vec<Vec<u8>>, events: usize) -> Self {
        let first = spare.pop().unwrap_or_default();
        Batch {
            finished: Vec::new(),
            builder: BlockBuilder::with_buffer(head.seq + 1, recorded_at, head.hash, first),
            spare,
            recorded_at,
            first_seq: head.seq + 1,
            locations: Vec::with_capacity(events),
        }
    }

    fn stored(&self, seq: u64) -> Option<&[u8]> {
        let (block, start, end) = *self
            .locations
            .get(usize::try_from(seq.checked_sub(self.first_seq)?).ok()?)?;
        let buf = match self.finished.get(block) {
            Some((_, bytes)) => bytes.as_slice(),
            None => self.builder_bytes(),
        };
        Some(&buf[start..end])
    }

    fn builder_bytes(&self) -> &[u8] {
        self.builder.bytes()
    }

    fn seal_full_block(&mut self) {
        if self.builder.is_full() {
            let next = BlockBuilder::with_buffer(
                self.builder.next_seq(),
                self.recorded_at,
                self.builder.last_hash(),
                self.spare.pop().unwrap_or_default(),
            );
            let full = std::mem::replace(&mut self.builder, next);
            self.finished.push(full.finish());
        }
    }

    /// The finished blocks, the head after them, and the buffers left unused.
    fn finish(mut self) -> Finished {
        let head = Head {
            seq: self.builder.next_seq() - 1,
            hash: self.builder.last_hash(),
        };
        if self.builder.is_empty() {
            self.spare.push(self.builder.into_buffer());
        } else {
            self.finished.push(self.builder.finish());
        }
        Finished {
            blocks: self.finished,
            head,
            spare: self.spare,
        }
    }
}

/// What a batch leaves once built.
struct Finished {
    /// Each block's first seq and bytes, in order.
    blocks: Vec<(u64, Vec<u8>)>,
    head: Head,
    spare: Vec<Vec<u8>>,
}

enum Admitted {
    New(u64, Undo),
    Duplicate(u64),
}

enum Refused {
    Reason(RejectReason),
    Store(StoreError),
}

impl From<StoreError> for Refused {
    fn from(err: StoreError) -> Self {
        Refused::Store(err)
    }
}

/// The seq that holds `id`, looking at the committed log and the batch being built.
fn find<B: Backend>(
    ids: &IdIndex,
    backend: &B,
    reader: &mut BlockReader<B::Bytes>,
    batch: Option<&Batch>,
    id: &[u8],
    fp: u64,
) -> Result<Option<u64>, StoreError> {
    let Some(seq) = ids.candidate(fp) else {
        return Ok(None);
    };
    let stored = match batch.and_then(|b| b.stored(seq)) {
        Some(stored) => stored,
        None => reader.stored(backend, seq)?,
    };
    if codec::peek_id(stored) == Some(id) {
        return Ok(Some(seq));
    }
    Ok(ids.exact(id))
}

/// Decides one event of a batch and, when it is new, adds it to the batch.
fn admit<B: Backend>(
    event: &Event,
    backend: &B,
    ids: &mut IdIndex,
    reader: &mut BlockReader<B::Bytes>,
    batch: &mut Batch,
    staged: &mut riskledger_events::refs::Staged<'_>,
    chain: &ChainHasher,
) -> Result<Admitted, Refused> {
    event.validate().map_err(|e| Refused::Reason(e.into()))?;
    let id = event.id.as_bytes();
    let fp = fingerprint(id);
    let existing = find(ids, backend, reader, Some(batch), id, fp)?;
    let start = batch.builder.begin_entry();
    if let Err(err) = codec::encode(event, batch.builder.buffer()) {
        batch.builder.abandon(start);
        return Err(Refused::Reason(RejectReason::Invalid(
            EventError::Invalid {
                field: "id",
                reason: err.to_string(),
            },
        )));
    }
    if let Some(seq) = existing {
        let earlier = match batch.stored(seq) {
            Some(stored) => stored,
            None => reader.stored(backend, seq)?,
        };
        let same = earlier == batch.builder.entry_bytes(start);
        batch.builder.abandon(start);
        return if same {
            Ok(Admitted::Duplicate(seq))
        } else {
            Err(Refused::Reason(RejectReason::Conflict { seq }))
        };
    }
    if let Err(err) = staged.check(event) {
        batch.builder.abandon(start);
        return Err(Refused::Reason(err.into()));
    }
    let len = batch.builder.entry_bytes(start).len();
    let (seq, _) = batch.builder.seal_entry(start, chain);
    let stored_start = start + 36;
    batch
        .locations
        .push((batch.finished.len(), stored_start, stored_start + len));
    let token = ids.insert(fp, id, seq);
    batch.seal_full_block();
    Ok(Admitted::New(seq, token))
}

/// The backend's checkpoint and the first block key to read after it, when the checkpoint is
/// intact and belongs to this log; `None` (after a warning when there was one) otherwise.
fn load_checkpoint<B: Backend>(backend: &B) -> Option<(Checkpoint, u64)> {
    let path = backend.checkpoint_path()?;
    let checkpoint = match checkpoint::read(&path) {
        Ok(checkpoint) => checkpoint,
        Err(Unusable::Absent) => return None,
        Err(why) => {
            tracing::warn!(%why, path = %path.display(), "store checkpoint unusable; rebuilding the id index and references from every block");
            return None;
        }
    };
    let seq = checkpoint.head.seq;
    match start_after(backend, &checkpoint.head) {
        Ok(Some(key)) => Some((checkpoint, key)),
        Ok(None) => {
            tracing::warn!(seq, path = %path.display(), "store checkpoint is not of this log; rebuilding from every block");
            None
        }
        Err(err) => {
            tracing::warn!(seq, %err, "store checkpoint could not be checked against the log; rebuilding from every block");
            None
        }
    }
}

/// Whether the log holds `covered` (its hash at that seq): then the key of the first block to
/// read after it (the block holding `covered.seq` when it does not end there).
fn start_after<B: Backend>(backend: &B, covered: &Head) -> Result<Option<u64>, StoreError> {
    if covered.seq == 0 {
        return Ok((covered.hash == GENESIS_HASH).then_some(1));
    }
    let Some((key, bytes)) = backend.block_at_or_before(covered.seq)? else {
        return Ok(None);
    };
    let block = Loaded::parse(key, bytes)?;
    if !block.contains(covered.seq) || block.hash(covered.seq) != covered.hash {
        return Ok(None);
    }
    Ok(Some(if block.last_seq() == covered.seq {
        covered.seq + 1
    } else {
        key
    }))
}

/// Checks that the blocks reach the head the backend last acknowledged, with the same hash.
fn check_acknowledged<B: Backend>(backend: &B, head: &Head) -> Result<(), StoreError> {
    let Some(acked) = backend.acknowledged_head()? else {
        return Ok(());
    };
    if acked.seq > head.seq {
        return Err(damaged(
            head.seq + 1,
            format!("acknowledged events are missing: the log ends at seq {}, but seq {} was acknowledged", head.seq, acked.seq),
        ));
    }
    if acked.seq > 0 && hash_at(backend, acked.seq)? != acked.hash {
        return Err(damaged(
            acked.seq,
            "hash differs from the one acknowledged for this seq",
        ));
    }
    Ok(())
}

/// The stored chain hash of the record at `seq`.
fn hash_at<B: Backend>(backend: &B, seq: u64) -> Result<ChainHash, StoreError> {
    let mut reader = BlockReader::new();
    reader.stored(backend, seq)?;
    Ok(reader.cached.as_ref().expect("just loaded").hash(seq))
}

/// Recomputes the chain on its own thread, a block ahead of the reader that decodes: for each
/// block it is sent, it answers the first seq whose hash does not follow, if any.
struct ChainVerifier<Bytes> {
    blocks: SyncSender<Arc<Loaded<Bytes>>>,
    verdicts: Receiver<Option<u64>>,
}

impl<Bytes: AsRef<[u8]> + Send + Sync + 'static> ChainVerifier<Bytes> {
    /// Starts checking from seq `from`, whose predecessor's hash is `prev`.
    fn start(prev: ChainHash, from: u64) -> Result<Self, StoreError> {
        let (blocks, inbox) = sync_channel::<Arc<Loaded<Bytes>>>(READ_AHEAD_BLOCKS);
        let (outbox, verdicts) = sync_channel(READ_AHEAD_BLOCKS);
        std::thread::Builder::new()
            .name("riskledger-chain".into())
            .spawn(move || {
                let chain = ChainHasher::new();
                let mut prev = prev;
                for block in inbox {
                    let bad = block.first_break(&chain, &mut prev, from);
                    if outbox.send(bad).is_err() || bad.is_some() {
                        return;
                    }
                }
            })
            .map_err(BackendError::Io)?;
        Ok(ChainVerifier { blocks, verdicts })
    }
}

const CHAIN_BROKEN: &str = "hash does not match the chain (record altered, removed or reordered)";

/// Blocks read ahead of the one being decoded (and, when verifying, hashed meanwhile): enough
/// that the reader seldom waits on the chain thread when the two share a core with a third
/// (a full rebuild's fold); a block is at most 1024 events, so 8 hold at most 8,192 (about
/// 1.6 MB at the 191 bytes an event of history A's store: 1.91 GB of sled for 10M events).
const READ_AHEAD_BLOCKS: usize = 8;

/// Blocks in seq order, each checked to start right after the one before it and parsed: the
/// walk [`Records`] and [`Log::records_in`] share. Starts with the block found by
/// `block_at_or_before` (so it is not read twice), then reads on from the seq after it.
struct DenseBlocks<'a, B: Backend> {
    backend: &'a B,
    first: Option<(u64, B::Bytes)>,
    rest: Option<BlockIter<'a, B::Bytes>>,
    /// Where the backend's walk begins: just after the first block's key, so that a block
    /// stored under a key inside the first block is read, and refused.
    rest_from: u64,
    /// The first seq of the next block to read.
    next_key: u64,
    done: bool,
}

impl<'a, B: Backend> DenseBlocks<'a, B> {
    /// From `found` on; from seq 1 when there is none (an empty log reads nothing).
    fn starting_with(backend: &'a B, found: Option<(u64, B::Bytes)>) -> Self {
        let next_key = found.as_ref().map_or(1, |(key, _)| *key);
        let rest_from = found.as_ref().map_or(1, |(key, _)| key.saturating_add(1));
        DenseBlocks {
            backend,
            first: found,
            rest: None,
            rest_from,
            next_key,
            done: false,
        }
    }

    /// A walk that yields nothing (after a failure).
    fn finished(backend: &'a B) -> Self {
        DenseBlocks {
            done: true,
            ..Self::starting_with(backend, None)
        }
    }
}

impl<B: Backend> Iterator for DenseBlocks<'_, B> {
    type Item = Result<Loaded<B::Bytes>, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = match self.first.take() {
            Some(found) => Ok(found),
            None => {
                let (backend, from) = (self.backend, self.rest_from);
                self.rest
                    .get_or_insert_with(|| backend.blocks_from(from))
                    .next()?
            }
        };
        let loaded = item.map_err(StoreError::from).and_then(|(key, bytes)| {
            if key != self.next_key {
                return Err(damaged(
                    self.next_key,
                    format!(
                        "expected a block starting at seq {}, found one at {key}",
                        self.next_key
                    ),
                ));
            }
            Loaded::parse(key, bytes)
        });
        match &loaded {
            Ok(block) => self.next_key = block.last_seq() + 1,
            Err(_) => self.done = true,
        }
        Some(loaded)
    }
}

/// A block read ahead, or the error reading stopped at (returned after the blocks before it).
enum Slot<Bytes> {
    Block {
        block: Arc<Loaded<Bytes>>,
        verdict: Option<Option<u64>>,
    },
    Failed(StoreError),
}

/// Reads records in order, checking structure and continuity, and the chain when asked.
/// Made by [`Log::records`], [`Log::records_verified`] and [`records_verified()`]. An error
/// ends the iteration.
///
/// ```
/// # use riskledger_events::json::parse_line;
/// # use riskledger_store::{open_sled, AppendOptions, SledOptions};
/// # let dir = tempfile::tempdir()?;
/// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
/// # let started = line(1, r#"{"id":"k","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"fixed"}"#);
/// # let paid = line(2, r#"{"id":"p","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":400000,"currency":"USD"}"#);
/// # let mut log = open_sled(dir.path(), &SledOptions::default())?;
/// # log.append(&[started.clone(), paid.clone()], &AppendOptions::default())?;
/// let seqs: Vec<u64> = log.records(1).map(|r| r.map(|r| r.seq)).collect::<Result<_, _>>()?;
/// assert_eq!(seqs, [1, 2]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Records<'a, B: Backend> {
    backend: &'a B,
    blocks: Option<DenseBlocks<'a, B>>,
    queue: VecDeque<Slot<B::Bytes>>,
    verifier: Option<ChainVerifier<B::Bytes>>,
    /// The seq of the next record to return (or skip, below `from_seq`).
    next_seq: u64,
    from_seq: u64,
    verify_chain: bool,
    last_hash: ChainHash,
    done: bool,
}

impl<'a, B: Backend> Records<'a, B> {
    fn new(backend: &'a B, from_seq: u64, verify_chain: bool) -> Self {
        Records {
            backend,
            blocks: None,
            queue: VecDeque::new(),
            verifier: None,
            next_seq: 0,
            from_seq: if verify_chain { 1 } else { from_seq.max(1) },
            verify_chain,
            last_hash: GENESIS_HASH,
            done: false,
        }
    }

    fn start(&mut self) -> Result<(), StoreError> {
        let found = self.backend.block_at_or_before(self.from_seq)?;
        let start_key = found.as_ref().map_or(1, |(key, _)| *key);
        if self.verify_chain && start_key != 1 {
            return Err(damaged(1, "the first block is missing"));
        }
        self.next_seq = start_key;
        self.blocks = Some(DenseBlocks::starting_with(self.backend, found));
        if self.verify_chain {
            self.verifier = Some(ChainVerifier::start(GENESIS_HASH, 1)?);
        }
        Ok(())
    }

    /// Reads the next block into the queue (and hands it to the verifier). `false` at the end.
    fn read_block(&mut self) -> bool {
        let Some(loaded) = self.blocks.as_mut().and_then(Iterator::next) else {
            return false;
        };
        match loaded {
            Ok(block) => {
                let block = Arc::new(block);
                let mut verdict = Some(None);
                if let Some(verifier) = &self.verifier {
                    verdict = None;
                    if verifier.blocks.send(Arc::clone(&block)).is_err() {
                        verdict = Some(Some(block.first_seq));
                    }
                }
                self.queue.push_back(Slot::Block { block, verdict });
                true
            }
            Err(err) => {
                self.queue.push_back(Slot::Failed(err));
                false
            }
        }
    }

    fn next_record(&mut self) -> Result<Option<Record>, StoreError> {
        if self.blocks.is_none() {
            self.start()?;
        }
        loop {
            while !self.done && self.queue.len() < READ_AHEAD_BLOCKS {
                self.done = !self.read_block();
            }
            let Some(front) = self.queue.front_mut() else {
                return Ok(None);
            };
            let (block, verdict) = match front {
                Slot::Failed(_) => match self.queue.pop_front() {
                    Some(Slot::Failed(err)) => return Err(err),
                    _ => unreachable!("the front was a failure"),
                },
                Slot::Block { block, verdict } => (block, verdict),
            };
            if verdict.is_none() {
                let answer = self.verifier.as_ref().and_then(|v| v.verdicts.recv().ok());
                *verdict = Some(answer.unwrap_or(Some(block.first_seq)));
            }
            if !block.contains(self.next_seq) {
                self.queue.pop_front();
                continue;
            }
            let seq = self.next_seq;
            if *verdict == Some(Some(seq)) {
                return Err(damaged(seq, CHAIN_BROKEN));
            }
            self.next_seq += 1;
            let hash = block.hash(seq);
            self.last_hash = hash;
            if seq < self.from_seq {
                continue;
            }
            let event =
                codec::decode(block.stored(seq)).map_err(|e| damaged(seq, e.to_string()))?;
            return Ok(Some(Record {
                seq,
                hash,
                recorded_at: block.recorded_at,
                event,
            }));
        }
    }
}

impl<B: Backend> Iterator for Records<'_, B> {
    type Item = Result<Record, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done && self.queue.is_empty() && self.blocks.is_some() {
            return None;
        }
        let item = self.next_record().transpose();
        if matches!(item, Some(Err(_))) {
            // Also after a failed start: an error ends the reading, it is not retried.
            self.done = true;
            self.queue.clear();
            if self.blocks.is_none() {
                self.blocks = Some(DenseBlocks::finished(self.backend));
            }
        }
        item
    }
}

/// Every record of the log on `backend` from seq 1, recomputing the hash chain (on a second
/// thread, a block ahead) as it reads. Needs no open [`Log`]: the auditor's path.
///
/// ```
/// use riskledger_store::{records_verified, SledBackend};
///
/// # use riskledger_events::json::parse_line;
/// # use riskledger_store::{open_sled, AppendOptions, SledOptions};
/// # let dir = tempfile::tempdir()?;
/// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
/// # let started = line(1, r#"{"id":"k","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"fixed"}"#);
/// # let paid = line(2, r#"{"id":"p","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":400000,"currency":"USD"}"#);
/// # let mut log = open_sled(dir.path(), &SledOptions::default())?;
/// # log.append(&[started.clone(), paid.clone()], &AppendOptions::default())?;
/// drop(log);
/// let backend = SledBackend::open(dir.path(), &SledOptions::default())?;
/// let events: Vec<_> = records_verified(&backend).map(|r| r.map(|r| r.event)).collect::<Result<_, _>>()?;
/// assert_eq!(events, [started, paid]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn records_verified<B: Backend>(backend: &B) -> Records<'_, B> {
    Records::new(backend, 1, true)
}

/// What `verify` found.
///
/// ```
/// # use riskledger_events::json::parse_line;
/// # use riskledger_store::{open_sled, AppendOptions, SledOptions};
/// # let dir = tempfile::tempdir()?;
/// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
/// # let started = line(1, r#"{"id":"k","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"fixed"}"#);
/// # let paid = line(2, r#"{"id":"p","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":400000,"currency":"USD"}"#);
/// # let mut log = open_sled(dir.path(), &SledOptions::default())?;
/// # log.append(&[started.clone(), paid.clone()], &AppendOptions::default())?;
/// let verification = log.verify();
/// assert_eq!((verification.events, verification.first_bad_seq, verification.error), (2, None, None));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verification {
    /// Events that verified, in order from seq 1.
    pub events: u64,
    /// The head of the verified prefix.
    pub head: Head,
    /// The first seq that is not what it should be, when the damage is in a record.
    pub first_bad_seq: Option<u64>,
    /// What is wrong, or `None` when everything verified.
    pub error: Option<String>,
}

impl Verification {
    /// Whether everything verified.
    ///
    /// ```
    /// # use riskledger_events::json::parse_line;
    /// # use riskledger_store::{open_sled, AppendOptions, SledOptions};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let started = line(1, r#"{"id":"k","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"fixed"}"#);
    /// # let paid = line(2, r#"{"id":"p","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":400000,"currency":"USD"}"#);
    /// # let mut log = open_sled(dir.path(), &SledOptions::default())?;
    /// # log.append(&[started.clone(), paid.clone()], &AppendOptions::default())?;
    /// assert!(log.verify().ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ok(&self) -> bool {
        self.error.is_none()
    }
}

/// Re-reads every block from seq 1 and checks: block structure and checks, dense seqs, the hash
/// chain, that every record decodes to a valid event, that ids are unique, that references
/// hold (as at append), and that every acknowledged event is still there. Needs no open
/// [`Log`].
///
/// ```
/// use riskledger_store::{verify, SledBackend};
///
/// # use riskledger_events::json::parse_line;
/// # use riskledger_store::{open_sled, AppendOptions, SledOptions};
/// # let dir = tempfile::tempdir()?;
/// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
/// # let started = line(1, r#"{"id":"k","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"fixed"}"#);
/// # let paid = line(2, r#"{"id":"p","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":400000,"currency":"USD"}"#);
/// # let mut log = open_sled(dir.path(), &SledOptions::default())?;
/// # log.append(&[started.clone(), paid.clone()], &AppendOptions::default())?;
/// drop(log);
/// let verification = verify(&SledBackend::open(dir.path(), &SledOptions::default())?);
/// assert!(verification.ok());
/// assert_eq!(verification.events, 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn verify<B: Backend>(backend: &B) -> Verification {
    let records = Records::new(backend, 1, true);
    let mut ids = IdIndex::default();
    let mut refs = References::new();
    let mut reader = BlockReader::new();
    let mut head = Head::EMPTY;
    let fail = |head: Head, err: StoreError| Verification {
        events: head.seq,
        head,
        first_bad_seq: err.first_bad_seq(),
        error: Some(err.to_string()),
    };
    for item in records {
        let record = match item {
            Ok(record) => record,
            Err(err) => return fail(head, err),
        };
        let id = record.event.id.as_bytes();
        let fp = fingerprint(id);
        match find(&ids, backend, &mut reader, None, id, fp) {
            Ok(None) => {
                ids.insert(fp, id, record.seq);
            }
            Ok(Some(earlier)) => {
                return fail(
                    head,
                    damaged(
                        record.seq,
                        format!("id {:?} was already used at seq {earlier}", record.event.id),
                    ),
                );
            }
            Err(err) => return fail(head, err),
        }
        let mut staged = refs.stage();
        if let Err(err) = staged.check(&record.event) {
            return fail(head, damaged(record.seq, err.to_string()));
        }
        let changes = staged.into_changes();
        refs.commit(changes);
        head = Head {
            seq: record.seq,
            hash: record.hash,
        };
    }
    if let Err(err) = check_acknowledged(backend, &head) {
        return fail(head, err);
    }
    Verification {
        events: head.seq,
        head,
        first_bad_seq: None,
        error: None,
    }
}
