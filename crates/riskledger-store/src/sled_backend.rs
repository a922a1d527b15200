//! The embedded default: blocks in one sled tree, keyed by first seq (u64 big-endian, so key
//! order is seq order), one atomic batch and one flush per commit. The only file that names sled.

use std::fs;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock};

use crate::backend::{Backend, BackendError, BlockIter, Head, StoredBlock};

const TREE: &str = "blocks";
const MARKER_FILE: &str = "acknowledged-head";
const LOCK_FILE: &str = "lock";
const CHECKPOINT_FILE: &str = "log.checkpoint";
const MARKER_CONTEXT: &str = "riskledger 2026-11-22 acknowledged head v1";
const MARKER_BYTES: usize = 8 + 32 + 32;
/// sled's segment size, fixed when a store is created. Measured on the 2-core machine
/// (`examples/append_probe.rs`, batches of 1,000): 1 MiB beat 512 KiB, 2 MiB and 4 MiB. A block
/// (at most 256 KiB) stays an inline value; sled writes its consolidated leaves (16 blocks) as
/// blob files, so it does not copy block bytes around inside its leaves.
const SEGMENT_BYTES: usize = 1024 * 1024;

/// Tuning of the sled store. The defaults suit a store of any size; lower them to bound memory
/// on a small machine.
///
/// ```
/// use riskledger_store::{open_sled, SledOptions};
///
/// # let dir = tempfile::tempdir()?;
/// let options = SledOptions { cache_capacity_bytes: 8 << 20, ..SledOptions::default() };
/// assert_eq!(options.recycle_after_bytes, 256 << 20);
/// let log = open_sled(dir.path(), &options)?;
/// assert_eq!(log.head().seq, 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct SledOptions {
    /// sled's page cache, in bytes. Blocks are read once per scan, so a small cache suffices.
    pub cache_capacity_bytes: u64,
    /// Reopen sled after this many bytes were read or written since it was opened. sled 0.34.7
    /// keeps every page it touches in memory whatever `cache_capacity` says (measured: resident
    /// memory follows the bytes touched, 1.9 GB for one scan of a 10M-event store); reopening
    /// releases them and takes ~10 ms on a 2 GB store.
    pub recycle_after_bytes: u64,
}

impl Default for SledOptions {
    fn default() -> Self {
        SledOptions {
            cache_capacity_bytes: 64 * 1024 * 1024,
            recycle_after_bytes: 256 * 1024 * 1024,
        }
    }
}

/// Blocks on sled, plus the acknowledged-head marker file beside the database: the default
/// [`Backend`]. [`open_sled`](crate::open_sled) opens a [`Log`](crate::Log) on one.
///
/// ```
/// use riskledger_store::{Backend, Log, SledBackend, SledOptions};
///
/// # let dir = tempfile::tempdir()?;
/// let backend = SledBackend::open(dir.path(), &SledOptions::default())?;
/// assert!(backend.last_block()?.is_none());
/// let log = Log::open(backend)?;
/// assert_eq!(log.head().seq, 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SledBackend {
    /// Held for the backend's lifetime: one process per ledger.
    _lock: fs::File,
    /// sled, behind a lock so that it can be reopened between two operations (`touched`).
    engine: RwLock<Option<Engine>>,
    marker: fs::File,
    dir: PathBuf,
    options: SledOptions,
    /// Bytes read or written since sled was last opened.
    touched_bytes: AtomicU64,
    recycles: AtomicU64,
}

/// An open sled database and its tree of blocks.
struct Engine {
    _db: sled::Db,
    blocks: sled::Tree,
}

impl Engine {
    /// Opens sled. Our own directory lock is already held, so a sled lock that is busy can only
    /// be an earlier handle of this process still closing (sled releases its lock after its
    /// I/O threads finish): wait for it, up to about two seconds.
    fn open(dir: &Path, options: &SledOptions) -> Result<Self, BackendError> {
        let mut attempt = 0u64;
        loop {
            match Self::try_open(dir, options) {
                Err(BackendError::Io(err))
                    if attempt < 60 && err.to_string().contains("could not acquire lock") =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(5 + attempt));
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    fn try_open(dir: &Path, options: &SledOptions) -> Result<Self, BackendError> {
        let db = sled::Config::new()
            .path(dir.join("sled"))
            .cache_capacity(options.cache_capacity_bytes)
            .mode(sled::Mode::HighThroughput)
            // Durability comes from the flush in every commit; a background flusher would only
            // compete with it for the disk.
            .flush_every_ms(None)
            .segment_size(SEGMENT_BYTES)
            .open()
            .map_err(engine)?;
        let blocks = db.open_tree(TREE).map_err(engine)?;
        Ok(Engine { _db: db, blocks })
    }
}

/// A stored block's bytes (sled's reference-counted buffer, kept private). Read them through
/// `AsRef<[u8]>`.
///
/// ```
/// use riskledger_store::{block::Block, open_sled, AppendOptions, Backend, SledBytes, SledOptions};
///
/// # let dir = tempfile::tempdir()?;
/// # let event = riskledger_events::json::parse_line(1, r#"{"id":"g1","type":"account_opened","at":"2024-01-02T10:00:00Z","account":"c-1","role":"client","country":"US"}"#)?;
/// let mut log = open_sled(dir.path(), &SledOptions::default())?;
/// log.append(&[event], &AppendOptions::default())?;
/// let (_, bytes): (u64, SledBytes) = log.backend().last_block()?.unwrap();
/// assert_eq!(Block::parse(bytes.as_ref())?.entries().len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SledBytes(sled::IVec);

impl AsRef<[u8]> for SledBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

fn engine(err: sled::Error) -> BackendError {
    match err {
        // sled's own checksums refused what it read: the files are damaged.
        sled::Error::Corruption { .. } => BackendError::Corrupt(err.to_string()),
        sled::Error::Io(io) => BackendError::Io(io),
        other => BackendError::Engine(other.to_string()),
    }
}

fn key(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}

fn decode_entry(
    entry: sled::Result<(sled::IVec, sled::IVec)>,
) -> Result<StoredBlock<SledBytes>, BackendError> {
    let (k, v) = entry.map_err(engine)?;
    let k: [u8; 8] = k
        .as_ref()
        .try_into()
        .map_err(|_| BackendError::Engine(format!("a block key is {} bytes, not 8", k.len())))?;
    Ok((u64::from_be_bytes(k), SledBytes(v)))
}

impl SledBackend {
    /// Opens (creating if needed) the store in directory `dir`, and holds it: a second open of
    /// the same directory fails with [`BackendError::Busy`] until this one is dropped.
    ///
    /// ```
    /// use riskledger_store::{BackendError, SledBackend, SledOptions};
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let first = SledBackend::open(dir.path(), &SledOptions::default())?;
    /// let second = SledBackend::open(dir.path(), &SledOptions::default());
    /// assert!(matches!(second, Err(BackendError::Busy(_))));
    /// drop(first);
    /// assert!(SledBackend::open(dir.path(), &SledOptions::default()).is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(dir: &Path, options: &SledOptions) -> Result<Self, BackendError> {
        fs::create_dir_all(dir)?;
        // Our own lock, taken before sled's, so that "another process has it open" is told
        // apart from damage (sled reports its lock failure as a generic IO error).
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(LOCK_FILE))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => return Err(BackendError::Busy(dir.to_owned())),
            Err(fs::TryLockError::Error(err)) => return Err(err.into()),
        }
        let engine = Engine::open(dir, options)?;
        let marker = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(dir.join(MARKER_FILE))?;
        Ok(SledBackend {
            _lock: lock,
            engine: RwLock::new(Some(engine)),
            marker,
            dir: dir.to_owned(),
            options: options.clone(),
            touched_bytes: AtomicU64::new(0),
            recycles: AtomicU64::new(0),
        })
    }

    /// How many times sled was reopened to release memory (for tests and diagnostics).
    ///
    /// ```
    /// use riskledger_store::{open_sled, AppendOptions, SledOptions};
    ///
    /// # let dir = tempfile::tempdir()?;
    /// # let event = riskledger_events::json::parse_line(1, r#"{"id":"g1","type":"account_opened","at":"2024-01-02T10:00:00Z","account":"c-1","role":"client","country":"US"}"#)?;
    /// let options = SledOptions { recycle_after_bytes: 1, ..SledOptions::default() };
    /// let mut log = open_sled(dir.path(), &options)?;
    /// assert_eq!(log.backend().recycles(), 0);
    /// log.append(&[event], &AppendOptions::default())?; // writes more than 1 byte
    /// assert_eq!(log.backend().recycles(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn recycles(&self) -> u64 {
        self.recycles.load(Ordering::Relaxed)
    }

    /// Runs `read` on the open tree.
    fn with_tree<T>(&self, read: impl FnOnce(&sled::Tree) -> T) -> Result<T, BackendError> {
        let guard = self.engine.read().unwrap_or_else(PoisonError::into_inner);
        match guard.as_ref() {
            Some(engine) => Ok(read(&engine.blocks)),
            None => Err(BackendError::Engine(
                "sled could not be reopened; reopen the ledger".into(),
            )),
        }
    }

    /// Counts bytes touched, and reopens sled once enough were: between two operations, when
    /// no read holds the tree (block bytes handed out are reference-counted and outlive it).
    fn touched(&self, bytes: usize) -> Result<(), BackendError> {
        let total = self
            .touched_bytes
            .fetch_add(bytes as u64, Ordering::Relaxed)
            + bytes as u64;
        if total < self.options.recycle_after_bytes {
            return Ok(());
        }
        let mut guard = self.engine.write().unwrap_or_else(PoisonError::into_inner);
        if self.touched_bytes.load(Ordering::Relaxed) < self.options.recycle_after_bytes {
            return Ok(()); // another thread recycled meanwhile
        }
        drop(guard.take());
        *guard = Some(Engine::open(&self.dir, &self.options)?);
        self.touched_bytes.store(0, Ordering::Relaxed);
        self.recycles.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Decodes one entry sled returned, counting its bytes as touched.
    fn read_one(
        &self,
        found: Option<sled::Result<(sled::IVec, sled::IVec)>>,
    ) -> Result<Option<StoredBlock<SledBytes>>, BackendError> {
        let Some(entry) = found else { return Ok(None) };
        let block = decode_entry(entry)?;
        self.touched(block.1 .0.len())?;
        Ok(Some(block))
    }

    /// Whether `dir` holds a store (without opening or creating one).
    ///
    /// ```
    /// use riskledger_store::{SledBackend, SledOptions};
    ///
    /// # let dir = tempfile::tempdir()?;
    /// assert!(!SledBackend::exists(dir.path()));
    /// SledBackend::open(dir.path(), &SledOptions::default())?;
    /// assert!(SledBackend::exists(dir.path()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn exists(dir: &Path) -> bool {
        dir.join("sled").join("conf").exists()
    }

    fn write_marker(&self, head: &Head) -> Result<(), BackendError> {
        // Written after the flush, without a flush of its own: it may lag the blocks after a
        // power loss, never lead them, so "blocks reach at least the marker" always holds.
        // One 72-byte write at offset 0 lies in one sector; a torn one fails its checksum and
        // is reported, never trusted.
        let mut bytes = [0u8; MARKER_BYTES];
        bytes[..8].copy_from_slice(&head.seq.to_le_bytes());
        bytes[8..40].copy_from_slice(&head.hash);
        let check = blake3::derive_key(MARKER_CONTEXT, &bytes[..40]);
        bytes[40..].copy_from_slice(&check);
        self.marker.write_all_at(&bytes, 0)?;
        Ok(())
    }
}

/// Reads from offset 0 until `buf` is full or the file ends; returns the bytes read.
fn read_all_at(file: &fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read_at(&mut buf[filled..], filled as u64)? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

impl Backend for SledBackend {
    type Bytes = SledBytes;

    fn commit(&mut self, blocks: &[(u64, Vec<u8>)], head: &Head) -> Result<(), BackendError> {
        let mut batch = sled::Batch::default();
        let mut bytes_written = 0;
        for (first_seq, bytes) in blocks {
            batch.insert(&key(*first_seq), bytes.as_slice());
            bytes_written += bytes.len();
        }
        self.with_tree(|tree| {
            tree.apply_batch(batch)?;
            tree.flush()
        })?
        .map_err(engine)?;
        self.write_marker(head)?;
        self.touched(bytes_written)
    }

    fn block_at_or_before(&self, seq: u64) -> Result<Option<StoredBlock<SledBytes>>, BackendError> {
        let found = self.with_tree(|tree| tree.range(..=key(seq)).next_back())?;
        self.read_one(found)
    }

    fn blocks_from(&self, first_seq: u64) -> BlockIter<'_, SledBytes> {
        // One short-lived sled iterator per block (a descent of the tree per ~1,000 events), so
        // that sled can be reopened between any two blocks of a long scan.
        let mut next_key = Some(first_seq);
        Box::new(std::iter::from_fn(move || {
            let from = next_key?;
            let found = self.with_tree(|tree| tree.range(key(from)..).next());
            let item = found.and_then(|found| self.read_one(found)).transpose()?;
            next_key = match &item {
                Ok((seq, _)) => seq.checked_add(1),
                Err(_) => None,
            };
            Some(item)
        }))
    }

    fn last_block(&self) -> Result<Option<StoredBlock<SledBytes>>, BackendError> {
        let found = self.with_tree(|tree| tree.last().transpose())?;
        self.read_one(found)
    }

    fn acknowledged_head(&self) -> Result<Option<Head>, BackendError> {
        let mut bytes = vec![0u8; MARKER_BYTES + 1];
        let len = read_all_at(&self.marker, &mut bytes)?;
        if len == 0 {
            return Ok(None);
        }
        bytes.truncate(len);
        if bytes.len() != MARKER_BYTES {
            return Err(BackendError::Marker(format!(
                "{} bytes, expected {MARKER_BYTES}",
                bytes.len()
            )));
        }
        if blake3::derive_key(MARKER_CONTEXT, &bytes[..40])[..] != bytes[40..] {
            return Err(BackendError::Marker("checksum does not match".into()));
        }
        let seq = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
        let hash = bytes[8..40].try_into().expect("32 bytes");
        Ok(Some(Head { seq, hash }))
    }

    fn checkpoint_path(&self) -> Option<PathBuf> {
        Some(self.dir.join(CHECKPOINT_FILE))
    }
}
