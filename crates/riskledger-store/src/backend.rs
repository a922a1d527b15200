//! The storage a log sits on, behind a small trait: durable, ordered blocks keyed by their first
//! seq. sled is the default; a NATS JetStream backend fits the same trait.

use riskledger_events::ChainHash;

/// The last event of the log: its seq (0 for an empty log) and chain hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head {
    pub seq: u64,
    pub hash: ChainHash,
}

impl Head {
    pub const EMPTY: Head = Head {
        seq: 0,
        hash: riskledger_events::GENESIS_HASH,
    };

    pub fn hash_hex(&self) -> String {
        riskledger_events::chain::to_hex(&self.hash)
    }
}

/// A storage failure below the log (IO, the database engine). [`BackendError::is_damage`]
/// tells damage from a busy or forbidden store.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// Another process has this ledger open (only one may). Not damage: wait, or stop it.
    #[error("the ledger at {0} is open in another process")]
    Busy(std::path::PathBuf),
    #[error("storage engine: {0}")]
    Engine(String),
    /// The engine's own checksums refused what it read: the store's files are damaged.
    #[error("storage engine: {0}")]
    Corrupt(String),
    #[error("storage io: {0}")]
    Io(#[from] std::io::Error),
    #[error("acknowledged-head marker is damaged: {0}")]
    Marker(String),
}

impl BackendError {
    /// Whether the error says the stored data is damaged, as opposed to the store being busy
    /// (another process holds its lock) or not permitted: everything the engine refuses to
    /// read, or reads wrong, is damage.
    pub fn is_damage(&self) -> bool {
        match self {
            BackendError::Busy(_) => false,
            BackendError::Io(io) => io.kind() != std::io::ErrorKind::PermissionDenied,
            BackendError::Engine(_) | BackendError::Corrupt(_) | BackendError::Marker(_) => true,
        }
    }
}

/// One stored block: its first seq and its bytes.
pub type StoredBlock<B> = (u64, B);

/// Stored blocks in seq order, as [`Backend::blocks_from`] hands them out.
pub type BlockIter<'a, B> =
    Box<dyn Iterator<Item = Result<StoredBlock<B>, BackendError>> + Send + 'a>;

/// Durable, ordered storage of blocks.
pub trait Backend: Send {
    /// The bytes of a stored block, as the backend hands them out.
    type Bytes: AsRef<[u8]> + Send + Sync + 'static;

    /// Stores `blocks` (each keyed by its first seq, in order) all or none, and returns only
    /// once they are durable. `head` is the log's head after them.
    fn commit(&mut self, blocks: &[(u64, Vec<u8>)], head: &Head) -> Result<(), BackendError>;

    /// The block with the largest first seq that is `<= seq`.
    fn block_at_or_before(
        &self,
        seq: u64,
    ) -> Result<Option<StoredBlock<Self::Bytes>>, BackendError>;

    /// Every block whose first seq is `>= first_seq`, in order.
    fn blocks_from(&self, first_seq: u64) -> BlockIter<'_, Self::Bytes>;

    /// The block with the largest first seq.
    fn last_block(&self) -> Result<Option<StoredBlock<Self::Bytes>>, BackendError>;

    /// The head the backend last acknowledged, recorded apart from the blocks, so that a store
    /// that silently lost acknowledged blocks is caught. `None` when never written.
    fn acknowledged_head(&self) -> Result<Option<Head>, BackendError>;

    /// Where the log keeps its checkpoint (the id index and references as of a seq, derived
    /// state: `docs/format.md`), or `None` for a backend that keeps none (every open then
    /// rebuilds from the blocks).
    fn checkpoint_path(&self) -> Option<std::path::PathBuf> {
        None
    }
}
