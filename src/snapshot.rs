//! Snapshots of the projections, so that opening a ledger replays only the tail of the log.
//!
//! File `projections.snapshot` in the ledger directory:
//!
//! ```text
//! MAGIC "RLSNAP\0\0" [8] | VERSION u8 | STATE_VERSION u32 LE | seq u64 LE | hash at seq [32]
//! | payload: State (policy digest, Books, Feed) in bincode 2 legacy, up to the check
//! | check: BLAKE3-derive-key(CONTEXT, everything before) [32]
//! ```
//!
//! The payload is encoded straight into the file while the check is computed, so a snapshot
//! never holds a second copy of the state in memory (it is as large as the state). Reading checks
//! the whole file before decoding anything (bytes damaged at rest never reach the decoder), then
//! decodes straight from the file: neither pass holds the file in memory. The two passes read
//! the same bytes as long as nothing rewrites the file in place meanwhile: riskledger replaces a
//! snapshot by renaming a new file over it, and the open handle keeps the file it checked.
//!
//! ```text
//! ```
//!
//! A snapshot is derived state: one that does not match the log (other format, a seq beyond the
//! head, a hash the log does not have at that seq, damage) is ignored and the state rebuilt from
//! the log. It never gives a wrong answer, only a slower open.

use std::fs;
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use riskledger_events::ChainHash;

use crate::books::Books;
use crate::feed::Feed;

/// What a snapshot holds: the projections and the change feed, and the policy the feed's
/// levels were computed under (the books themselves do not depend on the policy).
#[derive(Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct State {
    pub policy_digest: String,
    pub books: Books,
    pub feed: Feed,
}

/// [`State`] by reference, for writing: the same encoding.
#[derive(Clone, Copy, serde::Serialize)]
pub struct StateRef<'a> {
    pub policy_digest: &'a str,
    pub books: &'a Books,
    pub feed: &'a Feed,
}

const FILE: &str = "projections.snapshot";
const MAGIC: &[u8; 8] = b"RLSNAP\0\0";
const VERSION: u8 = 3;
const CONTEXT: &str = "riskledger 2026-11-22 projection snapshot v3";
const HEADER_BYTES: usize = 8 + 1 + 4 + 8 + 32;
const CHECK_BYTES: usize = 32;
/// Bytes per read when checking and decoding.
const CHUNK_BYTES: usize = 1 << 20;

/// Where a snapshot stands in the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Covered {
    pub seq: u64,
    pub hash: ChainHash,
}

pub fn path(dir: &Path) -> PathBuf {
    dir.join(FILE)
}

/// Writes a snapshot atomically (temporary file, fsync, rename, fsync of the directory).
pub fn write(dir: &Path, covered: Covered, state: StateRef<'_>) -> std::io::Result<()> {
    let tmp = dir.join(format!("{FILE}.tmp"));
    let mut out = Checked {
        inner: BufWriter::with_capacity(1 << 20, fs::File::create(&tmp)?),
        hasher: blake3::Hasher::new_derive_key(CONTEXT),
    };
    out.write_all(MAGIC)?;
    out.write_all(&[VERSION])?;
    out.write_all(&riskledger_projections::STATE_VERSION.to_le_bytes())?;
    out.write_all(&covered.seq.to_le_bytes())?;
    out.write_all(&covered.hash)?;
    bincode::serde::encode_into_std_write(state, &mut out, bincode::config::legacy())
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let check = *out.hasher.finalize().as_bytes();
    let mut file = out.inner.into_inner().map_err(|e| e.into_error())?;
    file.write_all(&check)?;
    file.sync_all()?;
    fs::rename(&tmp, path(dir))?;
    fs::File::open(dir)?.sync_all()
}

/// A writer that feeds the check with every byte it writes.
struct Checked<W> {
    inner: W,
    hasher: blake3::Hasher,
}

impl<W: Write> Write for Checked<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.hasher.update(&buf[..written]);
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A reader that fails once `abandon` is set: the decoder then stops at its next refill.
struct Abandonable<'a, R> {
    inner: R,
    abandon: &'a AtomicBool,
}

impl<R: Read> Read for Abandonable<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.abandon.load(Ordering::Relaxed) {
            return Err(std::io::Error::other("snapshot read abandoned"));
        }
        self.inner.read(buf)
    }
}

/// Why a snapshot was not used.
#[derive(Debug, thiserror::Error)]
pub enum Unusable {
    #[error("no snapshot")]
    Absent,
    #[error("damaged: {0}")]
    Damaged(&'static str),
    #[error("does not decode: {0}")]
    Decode(String),
    #[error("not read to the end: the open it was for failed")]
    Abandoned,
}

/// Reads a snapshot and checks its own integrity (not yet that it belongs to this log).
///
/// Two passes over the file, neither of which holds it in memory: the first computes the check
/// through a small buffer, so bytes damaged at rest never reach the decoder; the second decodes
/// the state straight from the file. A snapshot is as large as the state, and on a machine that
/// zeroes every fresh page, reading it whole cost a fifth of a reopen.
///
/// `abandon` lets another thread stop a read whose result it no longer wants: once it is set,
/// the next chunk read fails with [`Unusable::Abandoned`].
pub fn read(dir: &Path, abandon: &AtomicBool) -> Result<(Covered, State), Unusable> {
    let mut file = match fs::File::open(path(dir)) {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Err(Unusable::Absent),
        Err(_) => return Err(Unusable::Damaged("unreadable")),
    };
    let unreadable = |_| Unusable::Damaged("unreadable");
    let file_bytes = file.metadata().map_err(unreadable)?.len();
    if file_bytes < (HEADER_BYTES + CHECK_BYTES) as u64 {
        return Err(Unusable::Damaged("not a snapshot"));
    }
    let mut header = [0u8; HEADER_BYTES];
    file.read_exact(&mut header).map_err(unreadable)?;
    if &header[..8] != MAGIC {
        return Err(Unusable::Damaged("not a snapshot"));
    }
    if header[8] != VERSION {
        return Err(Unusable::Damaged("another snapshot version"));
    }
    let payload_bytes = file_bytes - (HEADER_BYTES + CHECK_BYTES) as u64;
    let check = check_matches(&mut file, &header, payload_bytes, abandon);
    if abandon.load(Ordering::Relaxed) {
        return Err(Unusable::Abandoned);
    }
    if !check.map_err(unreadable)? {
        return Err(Unusable::Damaged("checksum does not match"));
    }
    let state_version = u32::from_le_bytes(header[9..13].try_into().expect("4 bytes"));
    if state_version != riskledger_projections::STATE_VERSION {
        return Err(Unusable::Damaged(
            "made by another version of the projections",
        ));
    }
    let seq = u64::from_le_bytes(header[13..21].try_into().expect("8 bytes"));
    let hash: ChainHash = header[21..53].try_into().expect("32 bytes");
    file.seek(SeekFrom::Start(HEADER_BYTES as u64))
        .map_err(unreadable)?;
    let abandonable = Abandonable {
        inner: file.take(payload_bytes),
        abandon,
    };
    let mut payload = BufReader::with_capacity(CHUNK_BYTES, abandonable);
    let decoded: Result<State, _> =
        bincode::serde::decode_from_std_read(&mut payload, bincode::config::legacy());
    if abandon.load(Ordering::Relaxed) {
        return Err(Unusable::Abandoned);
    }
    let state = decoded.map_err(|e| Unusable::Decode(e.to_string()))?;
    if !payload.fill_buf().map_err(unreadable)?.is_empty() {
        return Err(Unusable::Damaged("trailing bytes"));
    }
    Ok((Covered { seq, hash }, state))
}

/// Whether the check at the end of `file` matches the header and the `payload_bytes` after it,
/// read from the current position (just after the header) in chunks.
fn check_matches(
    file: &mut fs::File,
    header: &[u8; HEADER_BYTES],
    payload_bytes: u64,
    abandon: &AtomicBool,
) -> std::io::Result<bool> {
    let mut hasher = blake3::Hasher::new_derive_key(CONTEXT);
    hasher.update(header);
    let mut chunk = vec![0u8; CHUNK_BYTES];
    let mut left = payload_bytes;
    while left > 0 {
        if abandon.load(Ordering::Relaxed) {
            return Ok(false);
        }
        let take = left.min(CHUNK_BYTES as u64) as usize;
        file.read_exact(&mut chunk[..take])?;
        hasher.update(&chunk[..take]);
        left -= take as u64;
    }
    let mut check = [0u8; CHECK_BYTES];
    file.read_exact(&mut check)?;
    Ok(*hasher.finalize().as_bytes() == check)
}

#[cfg(test)]
mod tests {
    use super::*;
    use riskledger_events::json::parse_line;
    use riskledger_projections::Policy;

    /// A snapshot of the pinned history's books (no feed: it is encoded the same way).
    fn written(dir: &Path) -> (Books, Vec<u8>) {
        let mut books = Books::default();
        let history = include_str!("../tests/data/state-digest-history.ndjson");
        for (i, line) in history.lines().enumerate() {
            books.apply(&parse_line(i as u64 + 1, line).unwrap());
        }
        let state = StateRef {
            policy_digest: "policy",
            books: &books,
            feed: &Feed::default(),
        };
        let covered = Covered {
            seq: books.events(),
            hash: [7; 32],
        };
        write(dir, covered, state).unwrap();
        (books, fs::read(path(dir)).unwrap())
    }

    #[test]
    fn a_written_snapshot_reads_back_as_the_same_state() {
        let dir = tempfile::tempdir().unwrap();
        let (books, _) = written(dir.path());
        let (covered, state) = read(dir.path(), &AtomicBool::new(false)).unwrap();
        assert_eq!(covered.seq, books.events());
        assert_eq!(covered.hash, [7; 32]);
        assert_eq!(state.policy_digest, "policy");
        let policy = Policy::default();
        assert_eq!(state.books.digest(&policy), books.digest(&policy));
    }

    /// Every cut of the file, and a flipped bit in the header, the payload's first and last
    /// 256 bytes and the check: each is refused, none panics, none is decoded as a state.
    #[test]
    fn a_truncated_or_damaged_snapshot_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (_, bytes) = written(dir.path());
        let cuts = (0..bytes.len()).step_by(997).chain([bytes.len() - 1]);
        for cut in cuts {
            fs::write(path(dir.path()), &bytes[..cut]).unwrap();
            assert!(
                matches!(
                    read(dir.path(), &AtomicBool::new(false)),
                    Err(Unusable::Damaged(_))
                ),
                "a snapshot cut at byte {cut} of {} was not refused as damaged",
                bytes.len()
            );
        }
        let payload_start = HEADER_BYTES;
        let check_start = bytes.len() - CHECK_BYTES;
        let flips = (0..payload_start + 256)
            .chain(check_start - 256..bytes.len())
            .collect::<Vec<_>>();
        for at in flips {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x10;
            fs::write(path(dir.path()), &damaged).unwrap();
            assert!(
                read(dir.path(), &AtomicBool::new(false)).is_err(),
                "a snapshot with byte {at} flipped was read as a state"
            );
        }
        fs::write(path(dir.path()), &bytes).unwrap();
        assert!(
            matches!(
                read(dir.path(), &AtomicBool::new(true)),
                Err(Unusable::Abandoned)
            ),
            "a read whose open failed stops at its first chunk"
        );
        fs::remove_file(path(dir.path())).unwrap();
        assert!(matches!(
            read(dir.path(), &AtomicBool::new(false)),
            Err(Unusable::Absent)
        ));
    }
}
