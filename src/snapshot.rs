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
//! the whole file before decoding anything: damaged bytes never reach the decoder.
//!
//! ```text
//! ```
//!
//! A snapshot is derived state: one that does not match the log (other format, a seq beyond the
//! head, a hash the log does not have at that seq, damage) is ignored and the state rebuilt from
//! the log. It never gives a wrong answer, only a slower open.

use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

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

/// Why a snapshot was not used.
#[derive(Debug, thiserror::Error)]
pub enum Unusable {
    #[error("no snapshot")]
    Absent,
    #[error("damaged: {0}")]
    Damaged(&'static str),
    #[error("does not decode: {0}")]
    Decode(String),
}

/// Reads a snapshot and checks its own integrity (not yet that it belongs to this log).
pub fn read(dir: &Path) -> Result<(Covered, State), Unusable> {
    let bytes = match fs::read(path(dir)) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Err(Unusable::Absent),
        Err(_) => return Err(Unusable::Damaged("unreadable")),
    };
    if bytes.len() < HEADER_BYTES + 32 || &bytes[..8] != MAGIC {
        return Err(Unusable::Damaged("not a snapshot"));
    }
    if bytes[8] != VERSION {
        return Err(Unusable::Damaged("another snapshot version"));
    }
    let (body, check) = bytes.split_at(bytes.len() - 32);
    if blake3::derive_key(CONTEXT, body)[..] != *check {
        return Err(Unusable::Damaged("checksum does not match"));
    }
    let state_version = u32::from_le_bytes(body[9..13].try_into().expect("4 bytes"));
    if state_version != riskledger_projections::STATE_VERSION {
        return Err(Unusable::Damaged(
            "made by another version of the projections",
        ));
    }
    let seq = u64::from_le_bytes(body[13..21].try_into().expect("8 bytes"));
    let hash: ChainHash = body[21..53].try_into().expect("32 bytes");
    let payload = &body[HEADER_BYTES..];
    let (state, used): (State, usize) =
        bincode::serde::decode_from_slice(payload, bincode::config::legacy())
            .map_err(|e| Unusable::Decode(e.to_string()))?;
    if used != payload.len() {
        return Err(Unusable::Damaged("trailing bytes"));
    }
    Ok((Covered { seq, hash }, state))
}
