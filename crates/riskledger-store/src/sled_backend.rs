//! The embedded default: blocks in one sled tree, keyed by first seq (u64 big-endian, so key
//! order is seq order), one atomic batch and one flush per commit. The only file that names sled.

use std::fs;
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::backend::{Backend, BackendError, Head, StoredBlock};

const TREE: &str = "blocks";
const MARKER_FILE: &str = "acknowledged-head";
const LOCK_FILE: &str = "lock";
const MARKER_CONTEXT: &str = "riskledger 2026-11-22 acknowledged head v1";
const MARKER_BYTES: usize = 8 + 32 + 32;
/// sled's segment size, fixed when a store is created. Measured on the 2-core machine
/// (`examples/append_probe.rs`, batches of 1,000): 1 MiB beat 512 KiB, 2 MiB and 4 MiB. A block
/// (at most 256 KiB) stays an inline value; sled writes its consolidated leaves (16 blocks) as
/// blob files, so it does not copy block bytes around inside its leaves.
const SEGMENT_BYTES: usize = 1024 * 1024;

/// Tuning of the sled store.
#[derive(Clone, Debug)]
pub struct SledOptions {
    /// sled's page cache, in bytes. Blocks are read once per scan, so a small cache suffices.
    pub cache_capacity_bytes: u64,
}

impl Default for SledOptions {
    fn default() -> Self {
        SledOptions {
            cache_capacity_bytes: 64 * 1024 * 1024,
        }
    }
}

/// Blocks on sled, plus the acknowledged-head marker file beside the database.
pub struct SledBackend {
    /// Held for the backend's lifetime: one process per ledger.
    _lock: fs::File,
    _db: sled::Db,
    blocks: sled::Tree,
    marker: fs::File,
}

/// A stored block's bytes (sled's reference-counted buffer, kept private).
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
    /// Opens (creating if needed) the store in directory `dir`.
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
        let marker = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(dir.join(MARKER_FILE))?;
        Ok(SledBackend {
            _lock: lock,
            _db: db,
            blocks,
            marker,
        })
    }

    /// Whether `dir` holds a store.
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
        for (first_seq, bytes) in blocks {
            batch.insert(&key(*first_seq), bytes.as_slice());
        }
        self.blocks.apply_batch(batch).map_err(engine)?;
        self.blocks.flush().map_err(engine)?;
        self.write_marker(head)
    }

    fn block_at_or_before(&self, seq: u64) -> Result<Option<StoredBlock<SledBytes>>, BackendError> {
        self.blocks
            .range(..=key(seq))
            .next_back()
            .map(decode_entry)
            .transpose()
    }

    fn blocks_from(
        &self,
        first_seq: u64,
    ) -> Box<dyn Iterator<Item = Result<StoredBlock<SledBytes>, BackendError>> + Send + '_> {
        Box::new(self.blocks.range(key(first_seq)..).map(decode_entry))
    }

    fn last_block(&self) -> Result<Option<StoredBlock<SledBytes>>, BackendError> {
        self.blocks
            .last()
            .map_err(engine)?
            .map(|kv| decode_entry(Ok(kv)))
            .transpose()
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
}
