//! Damage to the stored blocks is found by verify, naming the first bad seq, and a damaged log
//! does not open. The tests reach under the log into sled, as a disk fault or an attacker would.

use riskledger_events::json::parse_line;
use riskledger_events::Event;
use riskledger_store::*;

const EVENTS: u64 = 2_500; // three blocks: 1..=1024, 1025..=2048, 2049..=2500

fn events() -> Vec<Event> {
    (0..EVENTS)
        .map(|i| {
            parse_line(1, &format!(r#"{{"id":"e{i}","type":"login","at":"2024-02-03T09:00:00Z","account":"a{i}","device":"d","ip":"10.0.0.1","lat":1,"lon":2,"country":"PH"}}"#)).unwrap()
        })
        .collect()
}

fn ledger() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open_sled(dir.path(), &SledOptions::default()).unwrap();
    log.append(&events(), &AppendOptions::default()).unwrap();
    dir
}

/// Runs `damage` on the sled tree of blocks, then verifies.
fn damage_and_verify(damage: impl FnOnce(&sled::Tree)) -> (tempfile::TempDir, Verification) {
    let dir = ledger();
    {
        // sled releases its lock when its I/O threads finish: wait for the log's handle to go.
        let open = || {
            sled::Config::new()
                .path(dir.path().join("sled"))
                .segment_size(1 << 20)
                // No background flusher: its thread would hold sled's lock past our drop.
                .flush_every_ms(None)
                .open()
        };
        let db = (0..200)
            .find_map(|_| {
                open().ok().or_else(|| {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                    None
                })
            })
            .expect("sled opens once the log's handle is gone");
        let tree = db.open_tree("blocks").unwrap();
        damage(&tree);
        tree.flush().unwrap();
    }
    let verification = verify_sled(dir.path(), &SledOptions::default()).unwrap();
    (dir, verification)
}

fn key(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}

/// Byte offset of entry `index`'s stored bytes in a block (`docs/format.md`: a 21-byte header,
/// then per entry a 32-byte hash, a u32 length and the bytes); `index == count` gives the
/// offset just past the last entry's header position, i.e. where the check would start + 36.
fn entry_offset(block: &[u8], index: usize) -> usize {
    let mut at = 21;
    for _ in 0..index {
        let len = u32::from_le_bytes(block[at + 32..at + 36].try_into().unwrap()) as usize;
        at += 36 + len;
    }
    at + 36
}

fn assert_bad(verification: &Verification, seq: u64, reason: &str) {
    assert!(!verification.ok());
    assert_eq!(verification.first_bad_seq, Some(seq), "{verification:?}");
    assert_eq!(
        verification.events,
        seq - 1,
        "everything before the bad record verifies"
    );
    let error = verification.error.as_deref().unwrap();
    assert!(error.contains(reason), "{error}");
}

#[test]
fn an_intact_log_verifies() {
    let dir = ledger();
    let verification = verify_sled(dir.path(), &SledOptions::default()).unwrap();
    assert!(verification.ok(), "{verification:?}");
    assert_eq!(verification.events, EVENTS);
}

#[test]
fn an_altered_record_is_named() {
    let (_dir, verification) = damage_and_verify(|tree| {
        let mut block = tree.get(key(1025)).unwrap().unwrap().to_vec();
        let at = entry_offset(&block, 10) + 20; // inside the record of seq 1035
        block[at] ^= 0x01;
        tree.insert(key(1025), block).unwrap();
    });
    assert_bad(&verification, 1035, "hash does not match the chain");
}

#[test]
fn an_altered_hash_is_named() {
    let (_dir, verification) = damage_and_verify(|tree| {
        let mut block = tree.get(key(1)).unwrap().unwrap().to_vec();
        let at = entry_offset(&block, 4) - 36; // the hash of seq 5
        block[at] ^= 0x80;
        tree.insert(key(1), block).unwrap();
    });
    assert_bad(&verification, 5, "hash does not match the chain");
}

#[test]
fn a_removed_block_is_named() {
    let (_dir, verification) = damage_and_verify(|tree| {
        tree.remove(key(1025)).unwrap();
    });
    assert_bad(
        &verification,
        1025,
        "expected a block starting at seq 1025, found one at 2049",
    );
}

#[test]
fn reordered_blocks_are_named() {
    let (_dir, verification) = damage_and_verify(|tree| {
        let first = tree.get(key(1025)).unwrap().unwrap();
        let second = tree.get(key(2049)).unwrap().unwrap();
        tree.insert(key(1025), second).unwrap();
        tree.insert(key(2049), first).unwrap();
    });
    assert_bad(&verification, 1025, "says it starts at 2049");
}

#[test]
fn a_truncated_log_is_named_by_the_acknowledged_head() {
    let (dir, verification) = damage_and_verify(|tree| {
        tree.remove(key(2049)).unwrap();
    });
    assert_bad(
        &verification,
        2049,
        "acknowledged events are missing: the log ends at seq 2048, but seq 2500 was acknowledged",
    );
    let refused = open_sled(dir.path(), &SledOptions::default())
        .err()
        .expect("a damaged log does not open");
    assert_eq!(refused.first_bad_seq(), Some(2049));
}

#[test]
fn a_damaged_block_header_is_named() {
    let (_dir, verification) = damage_and_verify(|tree| {
        let mut block = tree.get(key(2049)).unwrap().unwrap().to_vec();
        block[15] ^= 0x01; // recorded_at
        tree.insert(key(2049), block).unwrap();
    });
    assert_bad(&verification, 2049, "block check does not match");
}

#[test]
fn a_damaged_log_does_not_open() {
    let (dir, _) = damage_and_verify(|tree| {
        let mut block = tree.get(key(2049)).unwrap().unwrap().to_vec();
        let at = entry_offset(&block, 0) + 3;
        block[at] ^= 0x01;
        tree.insert(key(2049), block).unwrap();
    });
    let refused = open_sled(dir.path(), &SledOptions::default())
        .err()
        .expect("refused");
    assert_eq!(refused.first_bad_seq(), Some(2049), "{refused}");
}

/// A block stored under a key inside the first block (read by `block_at_or_before` for the
/// seqs after its key) is named by verify, as it is inside any later block.
#[test]
fn a_stray_block_inside_the_first_block_is_named() {
    let (_dir, verification) = damage_and_verify(|tree| {
        let second = tree.get(key(1025)).unwrap().unwrap();
        tree.insert(key(500), second).unwrap();
    });
    assert_bad(
        &verification,
        1025,
        "expected a block starting at seq 1025, found one at 500",
    );
}
