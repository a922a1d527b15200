//! Snapshots of the projections, so that opening a ledger replays only the tail of the log.
//!
//! File `projections.snapshot` in the ledger directory, integers little-endian:
//!
//! ```text
//! header   MAGIC "RLSNAP\0\0" [8] | VERSION u8 | STATE_VERSION u32 | seq u64 | hash at seq [32]
//! section 0  Rest (policy digest, pair book, latest time, event count, feed, finder)
//!            in bincode 2 legacy: P0 bytes
//! section 1  the account book's head part (devices, first half of the accounts): P1 bytes
//! section 2  the account book's tail part (second half of the accounts): P2 bytes
//! pieces   for each 1 MiB piece of each section (a section's last piece may be shorter):
//!          BLAKE3-derive-key(PIECE_CONTEXT, piece) [32]
//! trailer  P0 u64 | P1 u64 | P2 u64 |
//!          check: BLAKE3-derive-key(CONTEXT, header | pieces | P0 | P1 | P2) [32]
//! ```
//!
//! Three sections so that they decode at once, on three threads: most of a reopen is the kernel
//! handing out fresh pages, which two threads get about twice as fast as one on this machine,
//! and the account book (about two thirds of the state) is cut in two to keep the threads even.
//!
//! Writing encodes the payload straight into the file, a piece at a time, hashing each piece as
//! it goes: a snapshot never holds a second copy of the state in memory (it is as large as the
//! state). Reading checks the header, the piece checks and the lengths against the trailer's
//! check on one handle of the file, then decodes each section from that same handle (so every
//! section is read from the file that was checked) one piece at a time, each checked before the
//! decoder sees a byte of it: one pass, never the whole file in memory, and the bytes decoded
//! are the bytes checked, so damage anywhere is refused before it reaches the decoder. The
//! checks guard against damage, not forgery: they hold no secret, so whoever can write the
//! ledger directory can forge a snapshot that loads. That is why an audit uses `replay`, which
//! rebuilds from the hash-chained log alone and never reads a snapshot. A forged length of
//! bytes is refused by the decoder's limit (its section's size) rather than allocated; a
//! forged count of accounts or devices reserves address space, never memory, and is refused
//! once the items run out (`riskledger_projections`' `exact.rs`).
//!
//! A snapshot is derived state: one that does not match the log (other format, a seq beyond the
//! head, a hash the log does not have at that seq, damage) is ignored and the state rebuilt from
//! the log. It never gives a wrong answer, only a slower open.

use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use riskledger_events::{ChainHash, Timestamp};
use riskledger_projections::accounts::{AccountBook, AccountsHead, AccountsTail};
use riskledger_projections::pairs::PairBook;
use serde::de::DeserializeOwned;

use crate::books::Books;
use crate::feed::Feed;
use crate::finder::Finder;

/// What a snapshot holds: the projections (compacted under the policy), the change feed, the
/// policy the feed's levels and the compaction were computed under, and the finder.
#[derive(Clone, Default)]
pub struct State {
    pub policy_digest: String,
    pub books: Books,
    pub feed: Feed,
    pub finder: Finder,
}

/// [`State`] by reference, for writing.
#[derive(Clone, Copy)]
pub struct StateRef<'a> {
    pub policy_digest: &'a str,
    pub books: &'a Books,
    pub feed: &'a Feed,
    pub finder: &'a Finder,
}

/// Section 0: everything but the account book, as written.
#[derive(serde::Serialize)]
struct RestRef<'a> {
    policy_digest: &'a str,
    pairs: &'a PairBook,
    latest_at: Option<Timestamp>,
    events: u64,
    feed: &'a Feed,
    finder: &'a Finder,
}

/// Section 0 as read: the same fields, owned.
#[derive(serde::Deserialize)]
struct Rest {
    policy_digest: String,
    pairs: PairBook,
    latest_at: Option<Timestamp>,
    events: u64,
    feed: Feed,
    finder: Finder,
}

const FILE: &str = "projections.snapshot";
const MAGIC: &[u8; 8] = b"RLSNAP\0\0";
const VERSION: u8 = 8;
const CONTEXT: &str = "riskledger 2026-11-22 projection snapshot v8";
const PIECE_CONTEXT: &str = "riskledger 2026-11-22 projection snapshot v8 piece";
const HEADER_BYTES: usize = 8 + 1 + 4 + 8 + 32;
const CHECK_BYTES: usize = 32;
const TRAILER_BYTES: usize = SECTIONS * 8 + CHECK_BYTES;
/// Payload bytes per piece: what is written, read and checked at a time.
const PIECE_BYTES: usize = 1 << 20;

/// Where a snapshot stands in the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Covered {
    pub seq: u64,
    pub hash: ChainHash,
}

pub fn path(dir: &Path) -> PathBuf {
    dir.join(FILE)
}

fn header(covered: Covered) -> [u8; HEADER_BYTES] {
    let mut header = [0u8; HEADER_BYTES];
    header[..8].copy_from_slice(MAGIC);
    header[8] = VERSION;
    header[9..13].copy_from_slice(&riskledger_projections::STATE_VERSION.to_le_bytes());
    header[13..21].copy_from_slice(&covered.seq.to_le_bytes());
    header[21..53].copy_from_slice(&covered.hash);
    header
}

fn piece_check(piece: &[u8]) -> [u8; CHECK_BYTES] {
    blake3::derive_key(PIECE_CONTEXT, piece)
}

/// The trailer's check: over the header, every piece check (fed to the hasher by
/// `piece_checks`: the writer has them in memory, the reader streams them from the file) and
/// the sections' lengths.
fn check(
    header: &[u8; HEADER_BYTES],
    piece_checks: impl FnOnce(&mut blake3::Hasher) -> std::io::Result<()>,
    section_bytes: [u64; SECTIONS],
) -> std::io::Result<[u8; 32]> {
    let mut hasher = blake3::Hasher::new_derive_key(CONTEXT);
    hasher.update(header);
    piece_checks(&mut hasher)?;
    for bytes in section_bytes {
        hasher.update(&bytes.to_le_bytes());
    }
    Ok(*hasher.finalize().as_bytes())
}

/// Section 0 (everything but the account book), 1 and 2 (the account book's two parts).
const SECTIONS: usize = 3;

/// Pieces a section of `bytes` takes (its last may be shorter than [`PIECE_BYTES`]).
fn pieces_of(bytes: u64) -> u64 {
    bytes.div_ceil(PIECE_BYTES as u64)
}

/// Writes a snapshot atomically (temporary file, fsync, rename, fsync of the directory).
pub fn write(dir: &Path, covered: Covered, state: StateRef<'_>) -> std::io::Result<()> {
    let tmp = dir.join(format!("{FILE}.tmp"));
    let header = header(covered);
    let mut file = fs::File::create(&tmp)?;
    file.write_all(&header)?;
    let mut payload = Pieces {
        file,
        piece: Vec::with_capacity(PIECE_BYTES),
        checks: Vec::new(),
        payload_bytes: 0,
    };
    let rest = RestRef {
        policy_digest: state.policy_digest,
        pairs: &state.books.pairs,
        latest_at: state.books.latest_at,
        events: state.books.events,
        feed: state.feed,
        finder: state.finder,
    };
    let accounts = state.books.accounts.parts();
    let section_bytes = [
        payload.section(&rest)?,
        payload.section(&accounts.head())?,
        payload.section(&accounts.tail())?,
    ];
    let Pieces {
        mut file, checks, ..
    } = payload;
    file.write_all(&checks)?;
    for bytes in section_bytes {
        file.write_all(&bytes.to_le_bytes())?;
    }
    let in_memory = |hasher: &mut blake3::Hasher| {
        hasher.update(&checks);
        Ok(())
    };
    file.write_all(&check(&header, in_memory, section_bytes)?)?;
    file.sync_all()?;
    fs::rename(&tmp, path(dir))?;
    fs::File::open(dir)?.sync_all()
}

/// The payload's writer: gathers a piece, then writes it and keeps its check.
struct Pieces {
    file: fs::File,
    piece: Vec<u8>,
    /// The checks of the pieces written so far, back to back.
    checks: Vec<u8>,
    payload_bytes: u64,
}

impl Pieces {
    /// Encodes `value` as the next section, ending with its last (maybe short) piece; returns
    /// the section's length.
    fn section<T: serde::Serialize>(&mut self, value: &T) -> std::io::Result<u64> {
        let before = self.payload_bytes;
        bincode::serde::encode_into_std_write(value, &mut *self, bincode::config::legacy())
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        self.finish_piece()?;
        Ok(self.payload_bytes - before)
    }

    /// Writes the gathered piece and keeps its check; nothing is recorded if the write fails.
    fn finish_piece(&mut self) -> std::io::Result<()> {
        if self.piece.is_empty() {
            return Ok(());
        }
        self.file.write_all(&self.piece)?;
        self.checks.extend_from_slice(&piece_check(&self.piece));
        self.payload_bytes += self.piece.len() as u64;
        self.piece.clear();
        Ok(())
    }
}

impl Write for Pieces {
    /// Takes bytes into the piece; a full piece is written first, so an error means no byte
    /// of `buf` was taken (`Write`'s contract).
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.piece.len() == PIECE_BYTES {
            self.finish_piece()?;
        }
        let taken = buf.len().min(PIECE_BYTES - self.piece.len());
        self.piece.extend_from_slice(&buf[..taken]);
        Ok(taken)
    }

    /// Writes nothing: every piece but the last must be a whole 1 MiB, so a partial piece
    /// waits for more bytes, or for [`Pieces::finish_piece`] at the end of the payload.
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
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

/// Reads a snapshot and checks its own integrity (not yet that it belongs to this log), in one
/// pass that never holds the file in memory: see the module docs. A snapshot is as large as the
/// state, and on a machine that zeroes every fresh page, reading it whole cost a fifth of a
/// reopen.
///
/// `abandon` lets another thread stop a read whose result it no longer wants: once it is set,
/// the next piece read fails with [`Unusable::Abandoned`].
pub fn read(dir: &Path, abandon: &AtomicBool) -> Result<(Covered, State), Unusable> {
    let mut file = match fs::File::open(path(dir)) {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Err(Unusable::Absent),
        Err(_) => return Err(Unusable::Damaged("unreadable")),
    };
    let unreadable = |_| Unusable::Damaged("unreadable");
    let file_bytes = file.metadata().map_err(unreadable)?.len();
    if file_bytes < (HEADER_BYTES + TRAILER_BYTES) as u64 {
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
    let mut trailer = [0u8; TRAILER_BYTES];
    file.seek(SeekFrom::End(-(TRAILER_BYTES as i64)))
        .and_then(|_| file.read_exact(&mut trailer))
        .map_err(unreadable)?;
    let length = |at: usize| u64::from_le_bytes(trailer[at..at + 8].try_into().expect("8 bytes"));
    let section_bytes: [u64; SECTIONS] = std::array::from_fn(|i| length(8 * i));
    let payload_bytes = section_bytes
        .iter()
        .try_fold(0u64, |sum, &b| sum.checked_add(b));
    let all_pieces: u64 = section_bytes.map(pieces_of).iter().sum();
    let laid_out = payload_bytes
        .and_then(|payload| {
            all_pieces
                .checked_mul(CHECK_BYTES as u64)?
                .checked_add(payload)
        })
        .and_then(|bytes| bytes.checked_add((HEADER_BYTES + TRAILER_BYTES) as u64));
    let Some(payload_bytes) = payload_bytes.filter(|_| laid_out == Some(file_bytes)) else {
        return Err(Unusable::Damaged("lengths do not match"));
    };
    let checks_at = HEADER_BYTES as u64 + payload_bytes;
    let from_file =
        |hasher: &mut blake3::Hasher| stream_checks(&file, checks_at, all_pieces, hasher);
    let checked = check(&header, from_file, section_bytes);
    if checked.map_err(unreadable)?[..] != trailer[SECTIONS * 8..] {
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
    let sections = Section::laid_out(section_bytes, checks_at);
    let sibling_failed = AtomicBool::new(false);
    let stop = Stop {
        abandon,
        sibling_failed: &sibling_failed,
    };
    let (rest, head, tail) = std::thread::scope(|scope| {
        let beside = |name: &str| std::thread::Builder::new().name(name.into());
        let rest = beside("riskledger-snapshot-rest")
            .spawn_scoped(scope, || sections[0].decode::<Rest>(&file, stop));
        let head = beside("riskledger-snapshot-head")
            .spawn_scoped(scope, || sections[1].decode::<AccountsHead>(&file, stop));
        let tail = sections[2].decode::<AccountsTail>(&file, stop);
        (joined(rest), joined(head), tail)
    });
    // A part whose thread could not be spawned is decoded here, after the others.
    let rest = rest.unwrap_or_else(|| sections[0].decode::<Rest>(&file, stop));
    let head = head.unwrap_or_else(|| sections[1].decode::<AccountsHead>(&file, stop));
    let (rest, head, tail) = match (rest, head, tail) {
        (Ok(rest), Ok(head), Ok(tail)) => (rest, head, tail),
        (rest, head, tail) => return Err(first_cause([rest.err(), head.err(), tail.err()])),
    };
    if !head.is_completed_by(&tail) {
        return Err(Unusable::Damaged(
            "the account book's head counts other accounts than its parts hold",
        ));
    }
    let accounts = AccountBook::from_parts(head, tail);
    let books = Books {
        pairs: rest.pairs,
        accounts,
        latest_at: rest.latest_at,
        events: rest.events,
    };
    let state = State {
        policy_digest: rest.policy_digest,
        books,
        feed: rest.feed,
        finder: rest.finder,
    };
    Ok((Covered { seq, hash }, state))
}

/// The result of a decoding thread; `None` when it could not be spawned. A panic is caught
/// inside the decoder, so a join never fails; if it did, the section counts as undecodable.
fn joined<T>(
    thread: std::io::Result<std::thread::ScopedJoinHandle<'_, Result<T, Unusable>>>,
) -> Option<Result<T, Unusable>> {
    let thread = thread.ok()?;
    Some(
        thread
            .join()
            .unwrap_or(Err(Unusable::Decode("the decoder panicked".into()))),
    )
}

/// Where one section lies in the file: its bytes, and its first piece check.
struct Section {
    at: u64,
    bytes: u64,
    checks_at: u64,
}

impl Section {
    /// The sections of a payload, back to back after the header, their piece checks back to
    /// back at `checks_at`.
    fn laid_out(section_bytes: [u64; SECTIONS], checks_at: u64) -> [Section; SECTIONS] {
        let mut at = HEADER_BYTES as u64;
        let mut check_at = checks_at;
        section_bytes.map(|bytes| {
            let section = Section {
                at,
                bytes,
                checks_at: check_at,
            };
            at += bytes;
            check_at += pieces_of(bytes) * CHECK_BYTES as u64;
            section
        })
    }

    /// Decodes the section, reading the file at its own positions (the threads share the
    /// handle the checks were made on, so they read the same file), each piece checked before
    /// the decoder sees it; the whole section must be read, and nothing more. A failure tells
    /// the other sections to stop.
    fn decode<T: DeserializeOwned>(&self, file: &fs::File, stop: Stop<'_>) -> Result<T, Unusable> {
        let decoded = self.decode_checked(file, stop);
        if decoded.is_err() {
            stop.sibling_failed.store(true, Ordering::Relaxed);
        }
        decoded
    }

    fn decode_checked<T: DeserializeOwned>(
        &self,
        file: &fs::File,
        stop: Stop<'_>,
    ) -> Result<T, Unusable> {
        let mut payload = CheckedPieces {
            file,
            pos: self.at,
            checks_at: self.checks_at,
            next_piece: 0,
            left: self.bytes,
            piece: Vec::with_capacity(PIECE_BYTES),
            at: 0,
            stop,
            failed: None,
        };
        let decoded = decode_guarded::<T>(&mut payload, self.bytes);
        if let Some(failure) = payload.failed {
            return Err(failure);
        }
        if stop.requested() {
            return Err(Unusable::Abandoned);
        }
        let value = decoded?;
        if payload.left > 0 || payload.at < payload.piece.len() {
            return Err(Unusable::Damaged("trailing bytes"));
        }
        Ok(value)
    }
}

/// When a section's reading stops before its end: the open it was for failed (`abandon`, set
/// by the opener), or another section failed (no use decoding the rest of a state that will
/// be rebuilt).
#[derive(Clone, Copy)]
struct Stop<'a> {
    abandon: &'a AtomicBool,
    sibling_failed: &'a AtomicBool,
}

impl Stop<'_> {
    fn requested(&self) -> bool {
        self.abandon.load(Ordering::Relaxed) || self.sibling_failed.load(Ordering::Relaxed)
    }
}

/// Why a read failed: the first section's own reason, not the "stopped" of the sections a
/// failure stopped; [`Unusable::Abandoned`] only when the opener gave up.
fn first_cause(failures: [Option<Unusable>; SECTIONS]) -> Unusable {
    let mut failures = failures.into_iter().flatten();
    let first = failures.next().unwrap_or(Unusable::Abandoned);
    match first {
        Unusable::Abandoned => failures
            .find(|why| !matches!(why, Unusable::Abandoned))
            .unwrap_or(Unusable::Abandoned),
        why => why,
    }
}

/// Decodes one section. The checks guard against damage, not forgery (anyone can recompute
/// them), so a forged length must not bring the process down. On the serde path bincode counts
/// against its limit the bytes every string and byte run claims, before it allocates them; a
/// section holds all of those bytes, so the limit is the section's length rounded up to a
/// power of two (bincode takes it as a type parameter, hence the table). A forged length then
/// allocates at most about twice the file's size, and is refused beyond. Sequences allocate
/// as their elements arrive (serde's cautious size hints), but for the account book's lists of
/// accounts and devices, which reserve their stated count at once (each at most 4 GiB of
/// address space, nothing touched before an item is read, and only where the system grants
/// it): a forged count there fails when the items run out, or, for the head's count of both
/// parts, when the parts do not add up to it. A panic inside the decoder (a
/// capacity overflow, say) is a section that does not decode. The state is then rebuilt from
/// the log.
fn decode_guarded<T: DeserializeOwned>(
    payload: &mut CheckedPieces<'_>,
    bytes: u64,
) -> Result<T, Unusable> {
    macro_rules! limited {
        ($($shift:literal)*) => {
            match bytes.max(1).next_power_of_two().trailing_zeros() {
                $( shift if shift <= $shift => decode_limited::<T, { 1usize << $shift }>(payload), )*
                _ => Err(Unusable::Decode("a section over 1 TiB".into())),
            }
        };
    }
    limited!(12 16 20 22 24 26 28 30 32 34 36 38 40)
}

/// [`decode_guarded`] with the limit chosen.
fn decode_limited<T: DeserializeOwned, const LIMIT: usize>(
    payload: &mut CheckedPieces<'_>,
) -> Result<T, Unusable> {
    let config = bincode::config::legacy().with_limit::<LIMIT>();
    let decode = std::panic::AssertUnwindSafe(|| {
        bincode::serde::decode_from_std_read::<T, _, _>(payload, config)
    });
    match std::panic::catch_unwind(decode) {
        Ok(decoded) => decoded.map_err(|e| Unusable::Decode(e.to_string())),
        Err(_) => Err(Unusable::Decode("the decoder panicked".into())),
    }
}

/// Feeds `hasher` the `pieces` piece checks at `checks_at` in the file, a chunk at a time, so
/// that memory stays bounded whatever the file claims.
fn stream_checks(
    file: &fs::File,
    checks_at: u64,
    pieces: u64,
    hasher: &mut blake3::Hasher,
) -> std::io::Result<()> {
    let mut chunk = vec![0u8; PIECE_BYTES];
    let mut left = pieces * CHECK_BYTES as u64; // at most the file's size: checked by the caller
    let mut at = checks_at;
    while left > 0 {
        let take = left.min(PIECE_BYTES as u64) as usize;
        file.read_exact_at(&mut chunk[..take], at)?;
        hasher.update(&chunk[..take]);
        left -= take as u64;
        at += take as u64;
    }
    Ok(())
}

/// The payload's reader: one piece at a time, each checked before any of it is handed out.
/// Why reading stopped early, if it did, is kept in `failed` (the decoder only sees an error),
/// and once it has, every further read fails too.
struct CheckedPieces<'a> {
    file: &'a fs::File,
    /// Where the next piece starts in the file.
    pos: u64,
    /// Where the piece checks start in the file; each is read when its piece is.
    checks_at: u64,
    next_piece: u64,
    /// Payload bytes not yet read from the file.
    left: u64,
    piece: Vec<u8>,
    /// Bytes of `piece` already handed out.
    at: usize,
    stop: Stop<'a>,
    failed: Option<Unusable>,
}

impl CheckedPieces<'_> {
    /// Reads and checks the next piece; false at the end of the payload.
    fn next_piece(&mut self) -> std::io::Result<bool> {
        if self.stop.requested() {
            return Err(self.fail(Unusable::Abandoned));
        }
        if self.left == 0 {
            return Ok(false);
        }
        let take = self.left.min(PIECE_BYTES as u64) as usize;
        self.piece.resize(take, 0);
        let mut expected = [0u8; CHECK_BYTES];
        let check_at = self.checks_at + self.next_piece * CHECK_BYTES as u64;
        let read = self
            .file
            .read_exact_at(&mut self.piece, self.pos)
            .and_then(|()| self.file.read_exact_at(&mut expected, check_at));
        if read.is_err() {
            return Err(self.fail(Unusable::Damaged("unreadable")));
        }
        if piece_check(&self.piece) != expected {
            return Err(self.fail(Unusable::Damaged("a piece does not match its check")));
        }
        self.next_piece += 1;
        self.pos += take as u64;
        self.left -= take as u64;
        self.at = 0;
        Ok(true)
    }

    /// Records why reading stopped and drops the piece, so that none of it is handed out.
    fn fail(&mut self, why: Unusable) -> std::io::Error {
        let error = std::io::Error::other(why.to_string());
        self.failed = Some(why);
        self.piece.clear();
        self.at = 0;
        error
    }

    fn failed_before(&self) -> std::io::Result<()> {
        match &self.failed {
            Some(why) => Err(std::io::Error::other(why.to_string())),
            None => Ok(()),
        }
    }
}

impl Read for CheckedPieces<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.failed_before()?;
        if self.at == self.piece.len() && !self.next_piece()? {
            return Ok(0);
        }
        let n = buf.len().min(self.piece.len() - self.at);
        buf[..n].copy_from_slice(&self.piece[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }

    /// The decoder reads field by field: most reads are a few bytes inside the current piece.
    fn read_exact(&mut self, buf: &mut [u8]) -> std::io::Result<()> {
        // A failure clears the piece, so this never hands out a byte after one.
        if let Some(bytes) = self.piece.get(self.at..self.at + buf.len()) {
            buf.copy_from_slice(bytes);
            self.at += buf.len();
            return Ok(());
        }
        let mut filled = 0;
        while filled < buf.len() {
            match self.read(&mut buf[filled..])? {
                0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
                n => filled += n,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use riskledger_events::json::parse_line;
    use riskledger_projections::Policy;

    /// A snapshot of the pinned history's books (no feed: it is encoded the same way), with a
    /// policy digest of `padding` bytes to make the payload as long as a test needs.
    fn written(dir: &Path, padding: usize) -> (Books, Vec<u8>) {
        let mut books = Books::default();
        let history = include_str!("../tests/data/state-digest-history.ndjson");
        for (i, line) in history.lines().enumerate() {
            books.apply(&parse_line(i as u64 + 1, line).unwrap());
        }
        let state = StateRef {
            policy_digest: &"p".repeat(padding),
            books: &books,
            feed: &Feed::default(),
            finder: &Finder::default(),
        };
        let covered = Covered {
            seq: books.events(),
            hash: [7; 32],
        };
        write(dir, covered, state).unwrap();
        (books, fs::read(path(dir)).unwrap())
    }

    /// The sections' lengths, from a snapshot's trailer.
    fn section_bytes(bytes: &[u8]) -> [u64; SECTIONS] {
        let trailer = &bytes[bytes.len() - TRAILER_BYTES..];
        std::array::from_fn(|i| u64::from_le_bytes(trailer[8 * i..8 * i + 8].try_into().unwrap()))
    }

    fn read_now(dir: &Path) -> Result<(Covered, State), Unusable> {
        read(dir, &AtomicBool::new(false))
    }

    #[test]
    fn a_written_snapshot_reads_back_as_the_same_state() {
        let dir = tempfile::tempdir().unwrap();
        let (books, bytes) = written(dir.path(), 2 * PIECE_BYTES + 12_345);
        assert!(
            bytes.len() > 2 * PIECE_BYTES,
            "the payload spans three pieces"
        );
        let (covered, state) = read_now(dir.path()).unwrap();
        assert_eq!(covered.seq, books.events());
        assert_eq!(covered.hash, [7; 32]);
        assert_eq!(state.policy_digest.len(), 2 * PIECE_BYTES + 12_345);
        let policy = Policy::default();
        assert_eq!(state.books.digest(&policy), books.digest(&policy));
    }

    /// A payload of exactly two pieces is laid out without an empty third, and reads back.
    #[test]
    fn a_payload_of_whole_pieces_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let (_, bytes) = written(dir.path(), 0);
        let unpadded = section_bytes(&bytes)[0] as usize;
        let (_, bytes) = written(dir.path(), 2 * PIECE_BYTES - unpadded);
        let [rest, head, tail] = section_bytes(&bytes).map(|b| b as usize);
        assert_eq!(rest, 2 * PIECE_BYTES);
        let pieces = 2 + head.div_ceil(PIECE_BYTES) + tail.div_ceil(PIECE_BYTES);
        assert_eq!(
            bytes.len(),
            HEADER_BYTES + rest + head + tail + pieces * CHECK_BYTES + TRAILER_BYTES
        );
        let (_, state) = read_now(dir.path()).unwrap();
        assert_eq!(state.policy_digest.len(), 2 * PIECE_BYTES - unpadded);
    }

    /// A snapshot file of `sections`, laid out and checked as [`write`] does.
    fn assembled(header: &[u8; HEADER_BYTES], sections: [&[u8]; SECTIONS]) -> Vec<u8> {
        let mut file = header.to_vec();
        let mut checks = Vec::new();
        for section in sections {
            file.extend_from_slice(section);
            for piece in section.chunks(PIECE_BYTES) {
                checks.extend_from_slice(&piece_check(piece));
            }
        }
        file.extend_from_slice(&checks);
        let lengths = sections.map(|section| section.len() as u64);
        lengths
            .iter()
            .for_each(|length| file.extend_from_slice(&length.to_le_bytes()));
        let in_memory = |hasher: &mut blake3::Hasher| {
            hasher.update(&checks);
            Ok(())
        };
        file.extend_from_slice(&check(header, in_memory, lengths).unwrap());
        file
    }

    /// The checks guard against damage, not forgery: a snapshot with valid checks whose
    /// string lengths are forged (a capacity overflow, an allocation no machine has, one this
    /// machine would try and fail: the process would abort, which no `catch_unwind` catches)
    /// does not decode, and nothing panics or aborts. One section forged at a time, the other
    /// two as written.
    #[test]
    fn a_forged_length_does_not_bring_the_process_down() {
        let dir = tempfile::tempdir().unwrap();
        let (_, bytes) = written(dir.path(), 0);
        let lengths = section_bytes(&bytes).map(|b| b as usize);
        let mut at = HEADER_BYTES;
        let valid: [Vec<u8>; SECTIONS] = lengths.map(|length| {
            at += length;
            bytes[at - length..at].to_vec()
        });
        let header: [u8; HEADER_BYTES] = bytes[..HEADER_BYTES].try_into().unwrap();
        assert!(read_now(dir.path()).is_ok(), "the unforged snapshot reads");
        for length in [1u64 << 63, 1 << 62, 1 << 40, 1 << 37, 1 << 30] {
            for forged_section in 0..SECTIONS {
                // Section 0 begins with the policy digest's length; the account parts with a
                // list of one device or account, whose name's length comes next (the head
                // after its horizon: none).
                let mut forged = Vec::new();
                if forged_section == 1 {
                    forged.push(0);
                }
                if forged_section > 0 {
                    forged.extend_from_slice(&1u64.to_le_bytes());
                }
                forged.extend_from_slice(&length.to_le_bytes());
                forged.extend_from_slice(&[0; 64]);
                let mut sections: [&[u8]; SECTIONS] = [&valid[0], &valid[1], &valid[2]];
                sections[forged_section] = &forged;
                fs::write(path(dir.path()), assembled(&header, sections)).unwrap();
                assert!(
                    matches!(read_now(dir.path()), Err(Unusable::Decode(_))),
                    "a forged length of {length} in section {forged_section} was not refused"
                );
            }
        }
    }

    /// Every cut of the file is refused as damaged; a flipped bit in the header, at the start,
    /// the piece boundaries and the end of the payload, in the piece checks and the trailer is
    /// refused, and in the payload it is refused as damage, before the decoder sees it.
    #[test]
    fn a_truncated_or_damaged_snapshot_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (_, bytes) = written(dir.path(), 2 * PIECE_BYTES + 12_345);
        let cuts = (0..bytes.len()).step_by(997).chain([bytes.len() - 1]);
        for cut in cuts {
            fs::write(path(dir.path()), &bytes[..cut]).unwrap();
            assert!(
                matches!(read_now(dir.path()), Err(Unusable::Damaged(_))),
                "a snapshot cut at byte {cut} of {} was not refused as damaged",
                bytes.len()
            );
        }
        let [rest, head, tail] = section_bytes(&bytes).map(|b| b as usize);
        assert_eq!(rest.div_ceil(PIECE_BYTES), 3);
        let payload_end = HEADER_BYTES + rest + head + tail;
        let in_payload = |at: usize| (HEADER_BYTES..payload_end).contains(&at);
        let boundary = |k: usize| HEADER_BYTES + k * PIECE_BYTES;
        let (head_at, tail_at) = (HEADER_BYTES + rest, HEADER_BYTES + rest + head);
        let flips = (0..HEADER_BYTES + 64)
            .chain(boundary(1) - 32..boundary(1) + 32)
            .chain(boundary(2) - 32..boundary(2) + 32)
            .chain(head_at - 32..head_at + 32)
            .chain(tail_at - 32..tail_at + 32)
            .chain(payload_end - 64..bytes.len());
        for at in flips {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x10;
            fs::write(path(dir.path()), &damaged).unwrap();
            let result = read_now(dir.path());
            assert!(
                result.is_err(),
                "a snapshot with byte {at} flipped was read as a state"
            );
            if in_payload(at) {
                assert!(
                    matches!(result, Err(Unusable::Damaged(_))),
                    "byte {at} of the payload flipped reached the decoder"
                );
            }
        }
        fs::write(path(dir.path()), &bytes).unwrap();
        assert!(
            matches!(
                read(dir.path(), &AtomicBool::new(true)),
                Err(Unusable::Abandoned)
            ),
            "a read whose open failed stops at its first piece"
        );
        fs::remove_file(path(dir.path())).unwrap();
        assert!(matches!(read_now(dir.path()), Err(Unusable::Absent)));
    }
}
