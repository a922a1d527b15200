//! The storage a log sits on, behind a small trait: durable, ordered blocks keyed by their first
//! seq. sled is the default; a NATS JetStream backend fits the same trait.

use riskledger_events::ChainHash;

/// The last event of the log: its seq (0 for an empty log) and chain hash. Record it to
/// append with an expected head later, or to check that a log still holds what it held.
///
/// ```
/// use riskledger_store::Head;
///
/// # use riskledger_events::json::parse_line;
/// # use riskledger_store::{open_sled, AppendOptions, SledOptions};
/// # let dir = tempfile::tempdir()?;
/// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
/// # let started = line(1, r#"{"id":"k","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"fixed"}"#);
/// # let paid = line(2, r#"{"id":"p","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":400000,"currency":"USD"}"#);
/// # let mut log = open_sled(dir.path(), &SledOptions::default())?;
/// let receipt = log.append(&[started, paid], &AppendOptions::default())?;
/// let head: Head = log.head();
/// assert_eq!(head, receipt.head);
/// assert_eq!((head.seq, head.hash), (2, log.hash_at(2)?));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head {
    /// The seq of the last event (0 when there is none).
    pub seq: u64,
    /// The chain hash of the last event ([`riskledger_events::GENESIS_HASH`] when there is
    /// none).
    pub hash: ChainHash,
}

impl Head {
    /// The head of an empty log.
    ///
    /// ```
    /// use riskledger_store::{open_sled, Head, SledOptions};
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let log = open_sled(dir.path(), &SledOptions::default())?;
    /// assert_eq!(log.head(), Head::EMPTY);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const EMPTY: Head = Head {
        seq: 0,
        hash: riskledger_events::GENESIS_HASH,
    };

    /// The hash in lower-case hex, as the CLI prints it and `export` writes it.
    ///
    /// ```
    /// use riskledger_store::Head;
    ///
    /// assert_eq!(Head::EMPTY.hash_hex(), "0".repeat(64));
    /// ```
    pub fn hash_hex(&self) -> String {
        riskledger_events::chain::to_hex(&self.hash)
    }
}

/// A storage failure below the log (IO, the database engine). [`BackendError::is_damage`]
/// tells damage from a busy or forbidden store.
///
/// ```
/// use riskledger_store::{BackendError, SledBackend, SledOptions};
///
/// # let dir = tempfile::tempdir()?;
/// let _held = SledBackend::open(dir.path(), &SledOptions::default())?;
/// match SledBackend::open(dir.path(), &SledOptions::default()) {
///     Err(err @ BackendError::Busy(_)) => assert!(!err.is_damage()),
///     _ => unreachable!("one process (one open backend) per directory"),
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// Another process has this ledger open (only one may). Not damage: wait, or stop it.
    #[error("the ledger at {0} is open in another process")]
    Busy(std::path::PathBuf),
    /// The storage engine failed or could not be reopened. Counted as damage
    /// ([`BackendError::is_damage`]): do not append; reopen the log and run `verify`, which
    /// names what is wrong, before trusting it again.
    #[error("storage engine: {0}")]
    Engine(String),
    /// The engine's own checksums refused what it read: the store's files are damaged. Do
    /// not append; run `verify` and restore from a copy.
    #[error("storage engine: {0}")]
    Corrupt(String),
    /// An IO error (disk full, permissions, a failing disk). Fix the cause and reopen; a
    /// permission error is not damage, any other is treated as such.
    #[error("storage io: {0}")]
    Io(#[from] std::io::Error),
    /// The acknowledged-head marker beside the blocks is torn or altered, so lost blocks
    /// could not be detected. Treat it as damage: run `verify`.
    #[error("acknowledged-head marker is damaged: {0}")]
    Marker(String),
}

impl BackendError {
    /// Whether the error says the stored data is damaged, as opposed to the store being busy
    /// (another process holds its lock) or not permitted: everything the engine refuses to
    /// read, or reads wrong, is damage.
    ///
    /// ```
    /// use riskledger_store::BackendError;
    ///
    /// assert!(BackendError::Corrupt("bad page checksum".into()).is_damage());
    /// assert!(!BackendError::Busy("/var/lib/ledger".into()).is_damage());
    /// let denied = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
    /// assert!(!BackendError::Io(denied).is_damage());
    /// ```
    pub fn is_damage(&self) -> bool {
        match self {
            BackendError::Busy(_) => false,
            BackendError::Io(io) => io.kind() != std::io::ErrorKind::PermissionDenied,
            BackendError::Engine(_) | BackendError::Corrupt(_) | BackendError::Marker(_) => true,
        }
    }
}

/// One stored block: its first seq and its bytes (parse them with
/// [`Block::parse`](crate::block::Block::parse)).
///
/// ```
/// use riskledger_store::{block::Block, Backend, SledBytes, StoredBlock};
///
/// # use riskledger_events::json::parse_line;
/// # use riskledger_store::{open_sled, AppendOptions, SledOptions};
/// # let dir = tempfile::tempdir()?;
/// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
/// # let started = line(1, r#"{"id":"k","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"fixed"}"#);
/// # let paid = line(2, r#"{"id":"p","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":400000,"currency":"USD"}"#);
/// # let mut log = open_sled(dir.path(), &SledOptions::default())?;
/// # let ended = line(3, r#"{"id":"e","type":"contract_ended","at":"2024-06-01T00:00:00Z","contract":"k-1","outcome":"completed"}"#);
/// # log.append(&[started, paid], &AppendOptions::default())?;
/// # log.append(&[ended], &AppendOptions::default())?;
/// let (first_seq, bytes): StoredBlock<SledBytes> = log.backend().last_block()?.unwrap();
/// assert_eq!(first_seq, 3); // the second append's block
/// assert_eq!(Block::parse(bytes.as_ref())?.entries().len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub type StoredBlock<B> = (u64, B);

/// Stored blocks in seq order, as [`Backend::blocks_from`] hands them out.
///
/// ```
/// use riskledger_store::{Backend, BlockIter, SledBytes};
///
/// # use riskledger_events::json::parse_line;
/// # use riskledger_store::{open_sled, AppendOptions, SledOptions};
/// # let dir = tempfile::tempdir()?;
/// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
/// # let started = line(1, r#"{"id":"k","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"fixed"}"#);
/// # let paid = line(2, r#"{"id":"p","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":400000,"currency":"USD"}"#);
/// # let mut log = open_sled(dir.path(), &SledOptions::default())?;
/// # let ended = line(3, r#"{"id":"e","type":"contract_ended","at":"2024-06-01T00:00:00Z","contract":"k-1","outcome":"completed"}"#);
/// # log.append(&[started, paid], &AppendOptions::default())?;
/// # log.append(&[ended], &AppendOptions::default())?;
/// let blocks: BlockIter<'_, SledBytes> = log.backend().blocks_from(1);
/// let keys: Vec<u64> = blocks.map(|block| block.map(|(key, _)| key)).collect::<Result<_, _>>()?;
/// assert_eq!(keys, [1, 3]); // one block per append
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub type BlockIter<'a, B> =
    Box<dyn Iterator<Item = Result<StoredBlock<B>, BackendError>> + Send + 'a>;

/// Durable, ordered storage of blocks. [`SledBackend`](crate::SledBackend) is the default;
/// [`Log`](crate::Log), [`verify`](crate::verify()) and
/// [`records_verified`](crate::records_verified()) work on any implementation.
///
/// ```
/// use riskledger_store::{verify, Backend};
///
/// /// How many events a store holds, read and checked from the blocks alone.
/// fn events<B: Backend>(backend: &B) -> u64 {
///     verify(backend).events
/// }
/// # use riskledger_events::json::parse_line;
/// # use riskledger_store::{open_sled, AppendOptions, SledOptions};
/// # let dir = tempfile::tempdir()?;
/// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
/// # let started = line(1, r#"{"id":"k","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"fixed"}"#);
/// # let paid = line(2, r#"{"id":"p","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":400000,"currency":"USD"}"#);
/// # let mut log = open_sled(dir.path(), &SledOptions::default())?;
/// # let ended = line(3, r#"{"id":"e","type":"contract_ended","at":"2024-06-01T00:00:00Z","contract":"k-1","outcome":"completed"}"#);
/// # log.append(&[started, paid], &AppendOptions::default())?;
/// # log.append(&[ended], &AppendOptions::default())?;
/// assert_eq!(events(log.backend()), 3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Backend: Send {
    /// The bytes of a stored block, as the backend hands them out.
    type Bytes: AsRef<[u8]> + Send + Sync + 'static;

    /// Stores `blocks` (each keyed by its first seq, in order) all or none, and returns only
    /// once they are durable. `head` is the log's head after them. The log calls it; a
    /// caller that commits blocks itself must chain them onto the current head.
    ///
    /// ```
    /// use riskledger_events::{codec, json::parse_line, ChainHasher, Timestamp, GENESIS_HASH};
    /// use riskledger_store::{block::BlockBuilder, Backend, Head, Log, SledBackend, SledOptions};
    ///
    /// # let dir = tempfile::tempdir()?;
    /// # let event = parse_line(1, r#"{"id":"g1","type":"account_opened","at":"2024-01-02T10:00:00Z","account":"c-1","role":"client","country":"US"}"#)?;
    /// let mut builder = BlockBuilder::new(1, Timestamp(0), GENESIS_HASH);
    /// let start = builder.begin_entry();
    /// codec::encode(&event, builder.buffer())?;
    /// let (seq, hash) = builder.seal_entry(start, &ChainHasher::new());
    /// let mut backend = SledBackend::open(dir.path(), &SledOptions::default())?;
    /// backend.commit(&[builder.finish()], &Head { seq, hash })?;
    /// assert_eq!(Log::open(backend)?.head(), Head { seq: 1, hash });
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn commit(&mut self, blocks: &[(u64, Vec<u8>)], head: &Head) -> Result<(), BackendError>;

    /// The block with the largest first seq that is `<= seq`: the block that holds `seq`, if
    /// any does.
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
    /// # let ended = line(3, r#"{"id":"e","type":"contract_ended","at":"2024-06-01T00:00:00Z","contract":"k-1","outcome":"completed"}"#);
    /// # log.append(&[started, paid], &AppendOptions::default())?;
    /// # log.append(&[ended], &AppendOptions::default())?;
    /// let (key, _) = log.backend().block_at_or_before(2)?.unwrap();
    /// assert_eq!(key, 1); // seqs 1 and 2 were appended together
    /// assert!(log.backend().block_at_or_before(0)?.is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn block_at_or_before(
        &self,
        seq: u64,
    ) -> Result<Option<StoredBlock<Self::Bytes>>, BackendError>;

    /// Every block whose first seq is `>= first_seq`, in order.
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
    /// # let ended = line(3, r#"{"id":"e","type":"contract_ended","at":"2024-06-01T00:00:00Z","contract":"k-1","outcome":"completed"}"#);
    /// # log.append(&[started, paid], &AppendOptions::default())?;
    /// # log.append(&[ended], &AppendOptions::default())?;
    /// assert_eq!(log.backend().blocks_from(2).count(), 1); // only the block at seq 3
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn blocks_from(&self, first_seq: u64) -> BlockIter<'_, Self::Bytes>;

    /// The block with the largest first seq (`None` for an empty store).
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
    /// # let ended = line(3, r#"{"id":"e","type":"contract_ended","at":"2024-06-01T00:00:00Z","contract":"k-1","outcome":"completed"}"#);
    /// # log.append(&[started, paid], &AppendOptions::default())?;
    /// # log.append(&[ended], &AppendOptions::default())?;
    /// let (key, _) = log.backend().last_block()?.unwrap();
    /// assert_eq!(key, 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn last_block(&self) -> Result<Option<StoredBlock<Self::Bytes>>, BackendError>;

    /// The head the backend last acknowledged, recorded apart from the blocks, so that a store
    /// that silently lost acknowledged blocks is caught. `None` when never written.
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
    /// # let ended = line(3, r#"{"id":"e","type":"contract_ended","at":"2024-06-01T00:00:00Z","contract":"k-1","outcome":"completed"}"#);
    /// # log.append(&[started, paid], &AppendOptions::default())?;
    /// # log.append(&[ended], &AppendOptions::default())?;
    /// assert_eq!(log.backend().acknowledged_head()?, Some(log.head()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn acknowledged_head(&self) -> Result<Option<Head>, BackendError>;

    /// Where the log keeps its checkpoint (the id index and references as of a seq, derived
    /// state: `docs/format.md`), or `None` for a backend that keeps none (every open then
    /// rebuilds from the blocks).
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
    /// # let ended = line(3, r#"{"id":"e","type":"contract_ended","at":"2024-06-01T00:00:00Z","contract":"k-1","outcome":"completed"}"#);
    /// # log.append(&[started, paid], &AppendOptions::default())?;
    /// # log.append(&[ended], &AppendOptions::default())?;
    /// let path = log.backend().checkpoint_path().unwrap();
    /// assert!(!path.exists());
    /// log.checkpoint()?;
    /// assert!(path.exists());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn checkpoint_path(&self) -> Option<std::path::PathBuf> {
        None
    }
}
