//! The store checkpoint: the id index and the reference state as of a seq, so that an open
//! reads only the blocks after it. Derived state, like the projections snapshot: a checkpoint
//! that is absent, damaged, of another version or of another log is ignored and everything is
//! rebuilt from the blocks. It never gives a wrong answer, only a slower open.
//!
//! Layout (`docs/format.md`, "Store checkpoint"), all integers little-endian:
//!
//! ```text
//! offset    size   field
//! 0         8      MAGIC "RLCKPT\0\0"
//! 8         1      VERSION (1)
//! 9         8      fingerprint probe: the id fingerprint of a fixed id under this build
//! 17        8      seq               the last seq the checkpoint covers
//! 25        32     hash              the chain hash at seq
//! 57        8      n                 fingerprint entries
//! 65        8      x                 bytes of the exact-id section
//! 73        8      r                 bytes of the references section
//! 81        16·n   n × (fingerprint u64 | seq u64), fingerprints strictly increasing
//! 81+16n    x      exact ids: count u64, then per id (sorted): len u8 | id | seq u64
//! ...       r      references, `References::encode_flat`
//! end-32    32     check = BLAKE3-derive-key(CONTEXT, every byte before)
//! ```
//!
//! Every id of seqs 1..=seq is in exactly one of the two id sections, so n + exact count = seq.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use riskledger_events::limits::MAX_ID_BYTES;
use riskledger_events::refs::References;
use riskledger_events::ChainHash;

use crate::backend::Head;
use crate::ids::{fingerprint_probe, FpTable, IdIndex};

pub(crate) const MAGIC: &[u8; 8] = b"RLCKPT\0\0";
pub(crate) const VERSION: u8 = 1;
const CONTEXT: &str = "riskledger 2026-11-22 store checkpoint v1";
const HEADER_BYTES: usize = 81;
const ENTRY_BYTES: usize = 16;
const CHECK_BYTES: usize = 32;
/// Bytes read or written per call: fingerprint entries stream through a buffer this large.
const CHUNK_BYTES: usize = 1 << 20;

/// What a checkpoint holds: the state of the log's memory after `head.seq`.
pub(crate) struct Checkpoint {
    pub(crate) head: Head,
    pub(crate) ids: IdIndex,
    pub(crate) refs: References,
}

/// Why a checkpoint was not loaded.
#[derive(Debug)]
pub(crate) enum Unusable {
    Absent,
    Damaged(String),
}

impl std::fmt::Display for Unusable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unusable::Absent => f.write_str("no checkpoint"),
            Unusable::Damaged(why) => f.write_str(why),
        }
    }
}

fn damaged(why: impl Into<String>) -> Unusable {
    Unusable::Damaged(why.into())
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

/// The temporary file a checkpoint is written to before it is renamed over `path`.
fn temporary(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(".tmp");
    path.with_file_name(name)
}

/// The exact-id section: count, then (len u8 | id | seq u64) sorted by id.
fn exact_section(ids: &IdIndex) -> Vec<u8> {
    let mut exact: Vec<_> = ids.exact.iter().collect();
    exact.sort_unstable();
    let mut out = Vec::with_capacity(8 + exact.len() * (1 + MAX_ID_BYTES + 8));
    out.extend_from_slice(&(exact.len() as u64).to_le_bytes());
    for (id, seq) in exact {
        out.push(u8::try_from(id.len()).expect("ids are at most 64 bytes"));
        out.extend_from_slice(id);
        out.extend_from_slice(&seq.to_le_bytes());
    }
    out
}

/// A file being written, hashed on the way.
struct Hashing<W> {
    out: W,
    hasher: blake3::Hasher,
}

impl<W: Write> Hashing<W> {
    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.hasher.update(bytes);
        self.out.write_all(bytes)
    }
}

/// The whole checkpoint as bytes (for tests and the golden vector).
#[cfg(test)]
pub(crate) fn to_bytes(head: &Head, ids: &IdIndex, refs: &References) -> Vec<u8> {
    let mut out = Hashing {
        out: Vec::new(),
        hasher: blake3::Hasher::new_derive_key(CONTEXT),
    };
    put_all(&mut out, head, ids, refs).expect("writing to memory");
    out.out
}

fn put_all<W: Write>(
    out: &mut Hashing<W>,
    head: &Head,
    ids: &IdIndex,
    refs: &References,
) -> io::Result<()> {
    let exact = exact_section(ids);
    let mut references = Vec::new();
    refs.encode_flat(&mut references);
    let table = &ids.by_fingerprint;
    let mut header = Vec::with_capacity(HEADER_BYTES);
    header.extend_from_slice(MAGIC);
    header.push(VERSION);
    header.extend_from_slice(&fingerprint_probe().to_le_bytes());
    header.extend_from_slice(&head.seq.to_le_bytes());
    header.extend_from_slice(&head.hash);
    header.extend_from_slice(&(table.len() as u64).to_le_bytes());
    header.extend_from_slice(&(exact.len() as u64).to_le_bytes());
    header.extend_from_slice(&(references.len() as u64).to_le_bytes());
    debug_assert_eq!(header.len(), HEADER_BYTES);
    out.put(&header)?;
    let mut chunk = Vec::with_capacity(CHUNK_BYTES);
    for (fp, seq) in table.entries() {
        chunk.extend_from_slice(&fp.to_le_bytes());
        chunk.extend_from_slice(&seq.to_le_bytes());
        if chunk.len() == CHUNK_BYTES {
            out.put(&chunk)?;
            chunk.clear();
        }
    }
    out.put(&chunk)?;
    out.put(&exact)?;
    out.put(&references)?;
    let check = *out.hasher.finalize().as_bytes();
    out.out.write_all(&check)
}

/// Writes the checkpoint of `head` atomically: a temporary file, fsync, rename over `path`,
/// fsync of the directory. A crash leaves the old checkpoint or the new one, never a mix.
pub(crate) fn write(path: &Path, head: &Head, ids: &IdIndex, refs: &References) -> io::Result<()> {
    let tmp = temporary(path);
    let written = (|| {
        let file = fs::File::create(&tmp)?;
        let mut out = Hashing {
            out: io::BufWriter::with_capacity(CHUNK_BYTES, file),
            hasher: blake3::Hasher::new_derive_key(CONTEXT),
        };
        put_all(&mut out, head, ids, refs)?;
        let file = out.out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        fs::rename(&tmp, path)?;
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
        fs::File::open(dir.unwrap_or(Path::new(".")))?.sync_all()
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written
}

/// Reads and checks a checkpoint: its own integrity, not yet that it belongs to the log (the
/// log compares the hash it holds at `head.seq`). Streams the fingerprint entries into the
/// table as it hashes them; nothing is trusted before the check matched.
pub(crate) fn read(path: &Path) -> Result<Checkpoint, Unusable> {
    let mut file = match fs::File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Err(Unusable::Absent),
        Err(err) => return Err(damaged(format!("unreadable: {err}"))),
    };
    let io = |err: io::Error| damaged(format!("unreadable: {err}"));
    let size = file.metadata().map_err(io)?.len();
    let mut header = [0u8; HEADER_BYTES];
    if size < (HEADER_BYTES + CHECK_BYTES) as u64 {
        return Err(damaged(format!("{size} bytes, too short")));
    }
    file.read_exact(&mut header).map_err(io)?;
    if &header[..8] != MAGIC {
        return Err(damaged("not a store checkpoint"));
    }
    if header[8] != VERSION {
        return Err(damaged(format!(
            "checkpoint version {} (this build reads {VERSION})",
            header[8]
        )));
    }
    if u64_at(&header, 9) != fingerprint_probe() {
        return Err(damaged("made with another id fingerprint function"));
    }
    let seq = u64_at(&header, 17);
    let hash: ChainHash = header[25..57].try_into().expect("32 bytes");
    let (n, x, r) = (
        u64_at(&header, 57),
        u64_at(&header, 65),
        u64_at(&header, 73),
    );
    let expected = n
        .checked_mul(ENTRY_BYTES as u64)
        .and_then(|e| e.checked_add(x))
        .and_then(|e| e.checked_add(r))
        .and_then(|e| e.checked_add((HEADER_BYTES + CHECK_BYTES) as u64));
    if expected != Some(size) || n > seq {
        return Err(damaged(format!(
            "{size} bytes; the header describes {expected:?}"
        )));
    }
    let mut hasher = blake3::Hasher::new_derive_key(CONTEXT);
    hasher.update(&header);
    let n = usize::try_from(n).map_err(|_| damaged("too many entries"))?;
    let mut entries = Entries::new(n, seq);
    let mut chunk = vec![0u8; CHUNK_BYTES];
    let mut left = n * ENTRY_BYTES;
    while left > 0 {
        let take = left.min(CHUNK_BYTES);
        let bytes = &mut chunk[..take];
        file.read_exact(bytes).map_err(io)?;
        hasher.update(bytes);
        entries.load(bytes)?;
        left -= take;
    }
    let table = entries.table;
    let rest_len = usize::try_from(x + r).map_err(|_| damaged("sections too large"))?;
    let mut rest = vec![0u8; rest_len + CHECK_BYTES];
    file.read_exact(&mut rest).map_err(io)?;
    let (sections, check) = rest.split_at(rest_len);
    hasher.update(sections);
    if hasher.finalize().as_bytes()[..] != *check {
        return Err(damaged("checksum does not match"));
    }
    let (exact, references) = sections.split_at(x as usize);
    let exact = read_exact_section(exact, seq)?;
    if (n as u64).checked_add(exact.len() as u64) != Some(seq) {
        return Err(damaged(format!(
            "{} ids for {seq} events",
            n as u64 + exact.len() as u64
        )));
    }
    let refs = References::decode_flat(references).map_err(|e| damaged(e.to_string()))?;
    Ok(Checkpoint {
        head: Head { seq, hash },
        ids: IdIndex {
            by_fingerprint: table,
            exact,
        },
        refs,
    })
}

/// The fingerprint entries streamed into the table, checked on the way: strictly increasing
/// fingerprints, seqs in 1..=seq (any u64: the table keeps those that do not fit a slot aside).
struct Entries {
    table: FpTable,
    seq: u64,
    previous: u64,
    next: usize,
}

impl Entries {
    fn new(n: usize, seq: u64) -> Self {
        Entries {
            table: FpTable::sized_for(n),
            seq,
            previous: 0,
            next: 0,
        }
    }

    /// Loads whole entries (`bytes` is a multiple of [`ENTRY_BYTES`]).
    fn load(&mut self, bytes: &[u8]) -> Result<(), Unusable> {
        for entry in bytes.chunks_exact(ENTRY_BYTES) {
            let fp = u64_at(entry, 0);
            let at = u64_at(entry, 8);
            let first = self.table.len() == 0;
            if (fp <= self.previous && !first) | (at == 0) | (at > self.seq) {
                return Err(damaged("fingerprint entries out of order or out of range"));
            }
            self.previous = fp;
            self.next = self.table.place_sorted(self.next, fp, at);
        }
        Ok(())
    }
}

fn read_exact_section(
    bytes: &[u8],
    seq: u64,
) -> Result<std::collections::HashMap<Box<[u8]>, u64>, Unusable> {
    let bad = || damaged("exact-id section does not parse");
    let count = u64_at(bytes.get(..8).ok_or_else(bad)?, 0);
    let mut at = 8;
    let mut exact = std::collections::HashMap::new();
    let mut last: Option<&[u8]> = None;
    for _ in 0..count {
        let len = usize::from(*bytes.get(at).ok_or_else(bad)?);
        let id = bytes.get(at + 1..at + 1 + len).ok_or_else(bad)?;
        let at_seq = u64_at(bytes.get(at + 1 + len..at + 9 + len).ok_or_else(bad)?, 0);
        if len == 0 || len > MAX_ID_BYTES || last.is_some_and(|l| l >= id) {
            return Err(bad());
        }
        if at_seq == 0 || at_seq > seq {
            return Err(bad());
        }
        last = Some(id);
        exact.insert(id.into(), at_seq);
        at += 9 + len;
    }
    if at != bytes.len() {
        return Err(bad());
    }
    Ok(exact)
}

#[cfg(test)]
mod tests {
    use riskledger_events::json::parse_line;
    use riskledger_events::{codec, ChainHasher, GENESIS_HASH};

    use super::*;
    use crate::ids::fingerprint;

    /// A tiny checkpoint: three events (an account, a contract, a raised flag), ids all in the
    /// fingerprint table. Its bytes, field by field, as `docs/format.md` spells them out.
    fn tiny() -> (Head, IdIndex, References) {
        let lines = [
            r#"{"id":"g1","type":"account_opened","at":"2024-01-02T10:00:00Z","account":"c-1","role":"client","country":"US"}"#,
            r#"{"id":"g2","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"fixed"}"#,
            r#"{"id":"g3","type":"flag_raised","at":"2024-02-03T08:00:00Z","flag":"fl-1","reporter":"system","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#,
        ];
        let chain = ChainHasher::new();
        let mut head = Head::EMPTY;
        let mut ids = IdIndex::default();
        let mut refs = References::new();
        for line in lines {
            let event = parse_line(1, line).unwrap();
            let stored = codec::encode_to_vec(&event).unwrap();
            let seq = head.seq + 1;
            head = Head {
                seq,
                hash: chain.link(seq, &head.hash, &stored),
            };
            ids.insert(fingerprint(event.id.as_bytes()), event.id.as_bytes(), seq);
            refs.replay(&event);
        }
        assert_ne!(head.hash, GENESIS_HASH);
        (head, ids, refs)
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn a_tiny_checkpoint_is_laid_out_as_documented() {
        let (head, ids, refs) = tiny();
        let bytes = to_bytes(&head, &ids, &refs);
        let mut fps: Vec<(u64, u64)> = ["g1", "g2", "g3"]
            .iter()
            .zip(1..)
            .map(|(id, seq)| (fingerprint(id.as_bytes()), seq))
            .collect();
        fps.sort();
        let mut expected = Vec::new();
        expected.extend_from_slice(b"RLCKPT\0\0");
        expected.push(1);
        expected.extend_from_slice(&fingerprint(b"riskledger fingerprint probe v1").to_le_bytes());
        expected.extend_from_slice(&3u64.to_le_bytes());
        expected.extend_from_slice(&head.hash);
        expected.extend_from_slice(&3u64.to_le_bytes()); // n
        expected.extend_from_slice(&8u64.to_le_bytes()); // x: an empty exact section
        expected.extend_from_slice(&30u64.to_le_bytes()); // r: 8 + 8 + 8 + 6
        for (fp, seq) in fps {
            expected.extend_from_slice(&fp.to_le_bytes());
            expected.extend_from_slice(&seq.to_le_bytes());
        }
        expected.extend_from_slice(&0u64.to_le_bytes()); // no exact ids
        expected.extend_from_slice(&1u64.to_le_bytes()); // one contract
        expected.extend_from_slice(b"\x03k-1USD\x00"); // "k-1", USD, not ended
        expected.extend_from_slice(&1u64.to_le_bytes()); // one flag
        expected.extend_from_slice(b"\x04fl-1\x00"); // "fl-1", not resolved
        let check = blake3::derive_key("riskledger 2026-11-22 store checkpoint v1", &expected);
        expected.extend_from_slice(&check);
        assert_eq!(hex(&bytes), hex(&expected));
    }

    /// The golden vector: fails if the checkpoint's bytes change (layout, fingerprint function,
    /// check context), which needs a new VERSION.
    #[test]
    fn the_tiny_checkpoint_bytes_are_pinned() {
        let (head, ids, refs) = tiny();
        let bytes = to_bytes(&head, &ids, &refs);
        assert_eq!(bytes.len(), 81 + 3 * 16 + 8 + 30 + 32);
        assert_eq!(hex(&bytes), GOLDEN);
    }

    const GOLDEN: &str = concat!(
        "524c434b5054000001014291644189363e0300000000000000387665861fdd34",
        "88664d62b9fb1f66f2847d8431a1af31420a18a14fd223f00503000000000000",
        "0008000000000000001e0000000000000020f76a336f4b874502000000000000",
        "00d8832849ef86e8b90100000000000000189f8cc4a5d019bf03000000000000",
        "0000000000000000000100000000000000036b2d315553440001000000000000",
        "0004666c2d3100d21cc4c3638c6b44f685f7bfb2a811d55895568fb82ff8581a",
        "725e2ff8173d00",
    );

    #[test]
    fn a_checkpoint_reads_back_as_written_with_colliding_ids() {
        let (head, mut ids, refs) = tiny();
        // Two more ids whose fingerprints collide with g1's go to the exact section.
        let fp = fingerprint(b"g1");
        ids.insert(fp, b"zz", 4);
        ids.insert(fp, b"aa", 5);
        let head = Head { seq: 5, ..head };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.checkpoint");
        write(&path, &head, &ids, &refs).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), to_bytes(&head, &ids, &refs));
        let back = read(&path).unwrap();
        assert_eq!(back.head, head);
        assert_eq!(back.ids.len(), 5);
        assert_eq!(back.ids.candidate(fp), Some(1));
        assert_eq!(back.ids.exact(b"zz"), Some(4));
        assert_eq!(back.ids.exact(b"aa"), Some(5));
        assert_eq!(back.ids.candidate(fingerprint(b"g3")), Some(3));
        assert_eq!(back.refs.len(), (1, 1));
        assert!(!temporary(&path).exists());
    }

    /// Seqs that do not fit the table's 32-bit slots (2^32 − 1 and up) are written as u64, as
    /// the format has them, and read back exactly by the loader `read` streams entries through
    /// (a whole checkpoint of them would need 2^32 events, so the entry section is taken from
    /// `to_bytes` and loaded on its own, in two chunks).
    #[test]
    fn fingerprint_entries_with_seqs_past_u32_load_exactly() {
        let edge = u64::from(u32::MAX);
        let seqs = [edge - 1, edge, edge + 1, 1 << 32, 1 << 40, u64::MAX, 7];
        let mut ids = IdIndex::default();
        let mut expected = Vec::new();
        for (n, &seq) in seqs.iter().cycle().take(700).enumerate() {
            let id = format!("big-{n}");
            let fp = fingerprint(id.as_bytes());
            ids.insert(fp, id.as_bytes(), seq);
            expected.push((fp, seq));
        }
        expected.sort_unstable();
        let head = Head {
            seq: u64::MAX,
            hash: GENESIS_HASH,
        };
        let bytes = to_bytes(&head, &ids, &References::new());
        let section = &bytes[HEADER_BYTES..HEADER_BYTES + expected.len() * ENTRY_BYTES];
        let written: Vec<(u64, u64)> = section
            .chunks_exact(ENTRY_BYTES)
            .map(|e| (u64_at(e, 0), u64_at(e, 8)))
            .collect();
        assert_eq!(written, expected, "16-byte entries, seqs as u64");
        let mut entries = Entries::new(expected.len(), u64::MAX);
        let (first, second) = section.split_at(301 * ENTRY_BYTES);
        entries.load(first).unwrap();
        entries.load(second).unwrap();
        let table = entries.table;
        assert_eq!(table.entries().collect::<Vec<_>>(), expected);
        for &(fp, seq) in &expected {
            assert_eq!(table.get(fp), Some(seq));
        }
        // A seq past the checkpoint's own is refused, big or not.
        let mut entries = Entries::new(expected.len(), (1 << 40) - 1);
        assert!(entries.load(section).is_err());
    }
}
