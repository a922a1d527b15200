//! The store checkpoint: an open from a checkpoint gives the same answers as an open that reads
//! every block (idempotency and references across the checkpoint boundary, the head), and a
//! checkpoint that is damaged, of another version, of another log or ahead of the log is
//! ignored: the open rebuilds from every block and still gives the same answers.

use std::path::{Path, PathBuf};

use riskledger_events::json::parse_line;
use riskledger_events::{Event, Timestamp};
use riskledger_store::*;

fn ev(line: &str) -> Event {
    parse_line(1, line).unwrap()
}

fn login(id: &str) -> Event {
    ev(&format!(
        r#"{{"id":"{id}","type":"login","at":"2024-02-03T09:00:00Z","account":"a","device":"d","ip":"10.0.0.1","lat":1,"lon":2,"country":"PH"}}"#
    ))
}

fn contract(id: &str, contract: &str) -> Event {
    ev(&format!(
        r#"{{"id":"{id}","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"{contract}","client":"c","freelancer":"f","currency":"USD","kind":"fixed"}}"#
    ))
}

fn payment(id: &str, contract: &str, amount: u64) -> Event {
    ev(&format!(
        r#"{{"id":"{id}","type":"payment","at":"2024-02-01T08:00:00Z","contract":"{contract}","amount_minor":{amount},"currency":"USD"}}"#
    ))
}

fn flag_raised(id: &str, flag: &str) -> Event {
    ev(&format!(
        r#"{{"id":"{id}","type":"flag_raised","at":"2024-02-03T08:00:00Z","flag":"{flag}","reporter":"system","subject":"c","counterparty":"f","reason":"off_platform_payment"}}"#
    ))
}

fn flag_resolved(id: &str, flag: &str) -> Event {
    ev(&format!(
        r#"{{"id":"{id}","type":"flag_resolved","at":"2024-02-04T08:00:00Z","flag":"{flag}","outcome":"confirmed"}}"#
    ))
}

fn fixed_time() -> AppendOptions {
    AppendOptions {
        recorded_at: Some(Timestamp(1_800_000_000_000_000)),
        ..AppendOptions::default()
    }
}

fn open(dir: &Path) -> SledLog {
    open_sled(dir, &SledOptions::default()).unwrap()
}

fn checkpoint_file(dir: &Path) -> PathBuf {
    dir.join("log.checkpoint")
}

/// `count` logins l{from}.., appended in batches of `batch`.
fn logins(log: &mut SledLog, from: u64, count: u64, batch: usize) {
    let events: Vec<Event> = (from..from + count)
        .map(|n| login(&format!("l{n}")))
        .collect();
    for chunk in events.chunks(batch) {
        log.append(chunk, &fixed_time()).unwrap();
    }
}

/// History before the checkpoint: 2,500 logins (three blocks), a contract k-1, flags fl-1
/// (raised) and fl-2 (raised). Seqs: logins 1..=2500, contract 2501, flags 2502, 2503.
fn before(log: &mut SledLog) {
    logins(log, 0, 2_500, 2_500);
    log.append(
        &[
            contract("k", "k-1"),
            flag_raised("r1", "fl-1"),
            flag_raised("r2", "fl-2"),
        ],
        &fixed_time(),
    )
    .unwrap();
}

/// History after the checkpoint: fl-2 resolved (2504), 700 more logins (2505..=3204).
fn after(log: &mut SledLog) {
    log.append(&[flag_resolved("s2", "fl-2")], &fixed_time())
        .unwrap();
    logins(log, 10_000, 700, 300);
}

/// A ledger with a checkpoint between `before` and `after`.
fn ledger() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path());
    before(&mut log);
    assert_eq!(log.checkpoint().unwrap(), Some(2_503));
    assert_eq!(log.checkpoint_seq(), 2_503);
    after(&mut log);
    dir
}

fn rejected(log: &mut SledLog, event: Event) -> String {
    match log.append(&[event], &fixed_time()) {
        Err(AppendError::Rejected(rejection)) => rejection.reason.to_string(),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

/// Everything a reopened log must answer the same, however it was opened. Leaves the log
/// unchanged (every probe is a duplicate or a rejection), except for the final append.
fn same_answers(log: &mut SledLog) {
    assert_eq!(log.head().seq, 3_204);
    // Duplicates and conflicts on both sides of the boundary.
    let receipt = log
        .append(
            &[
                login("l0"),
                login("l2499"),
                login("l10000"),
                login("l10699"),
            ],
            &fixed_time(),
        )
        .unwrap();
    assert_eq!(
        receipt.outcomes,
        vec![
            Outcome::Duplicate(1),
            Outcome::Duplicate(2_500),
            Outcome::Duplicate(2_505),
            Outcome::Duplicate(3_204)
        ]
    );
    for (id, seq) in [("l7", 8), ("l10003", 2_508), ("k", 2_501)] {
        let reason = rejected(log, flag_raised(id, "fl-new"));
        assert!(
            reason.contains(&format!("seq {seq}")) && reason.contains("different content"),
            "{id}: {reason}"
        );
    }
    // References: the contract and flags exist only in the checkpoint's part of the log.
    assert!(rejected(log, contract("k2", "k-1")).contains("already started"));
    assert!(rejected(log, flag_raised("r3", "fl-1")).contains("already raised"));
    // fl-2 was raised before the checkpoint and resolved after it: resolving again fails.
    assert!(rejected(log, flag_resolved("s3", "fl-2")).contains("already resolved"));
    assert!(rejected(log, payment("p0", "k-9", 5)).contains("does not exist"));
    assert_eq!(log.head().seq, 3_204, "nothing was stored");
    // A payment naming the checkpointed contract and a resolution of fl-1 are accepted.
    let receipt = log
        .append(
            &[payment("p1", "k-1", 100), flag_resolved("s1", "fl-1")],
            &fixed_time(),
        )
        .unwrap();
    assert_eq!(
        receipt.outcomes,
        vec![Outcome::Appended(3_205), Outcome::Appended(3_206)]
    );
    assert!(log.verify().ok());
}

/// The answers of a log opened from every block, for comparison.
fn rebuilt_head(dir: &Path) -> Head {
    let backend = SledBackend::open(dir, &SledOptions::default()).unwrap();
    Log::open_rebuilding(backend).unwrap().head()
}

#[test]
fn an_open_from_a_checkpoint_reads_only_the_tail_and_answers_the_same() {
    let dir = ledger();
    let full = rebuilt_head(dir.path());
    let mut log = open(dir.path());
    assert_eq!(log.checkpoint_seq(), 2_503, "the checkpoint was loaded");
    assert_eq!(log.head(), full);
    same_answers(&mut log);
    // A new checkpoint covers the new head; the next open has nothing to read.
    assert_eq!(log.checkpoint().unwrap(), Some(3_206));
    drop(log);
    let log = open(dir.path());
    assert_eq!((log.checkpoint_seq(), log.head().seq), (3_206, 3_206));
}

#[test]
fn an_open_that_rebuilds_from_every_block_answers_the_same() {
    let dir = ledger();
    let backend = SledBackend::open(dir.path(), &SledOptions::default()).unwrap();
    let mut log = Log::open_rebuilding(backend).unwrap();
    assert_eq!(log.checkpoint_seq(), 0);
    same_answers(&mut log);
}

#[test]
fn without_a_checkpoint_the_open_rebuilds() {
    let dir = ledger();
    std::fs::remove_file(checkpoint_file(dir.path())).unwrap();
    let mut log = open(dir.path());
    assert_eq!(log.checkpoint_seq(), 0);
    same_answers(&mut log);
}

/// Replaces the checkpoint's bytes with `change(bytes)`, then expects a full rebuild.
fn unusable(change: impl FnOnce(Vec<u8>) -> Vec<u8>) {
    let dir = ledger();
    let path = checkpoint_file(dir.path());
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, change(bytes)).unwrap();
    let mut log = open(dir.path());
    assert_eq!(log.checkpoint_seq(), 0, "the checkpoint was not used");
    same_answers(&mut log);
}

/// The checkpoint's check, recomputed after a deliberate change (`docs/format.md`).
fn recheck(mut bytes: Vec<u8>) -> Vec<u8> {
    let body = bytes.len() - 32;
    let check = blake3::derive_key("riskledger 2026-11-22 store checkpoint v1", &bytes[..body]);
    bytes[body..].copy_from_slice(&check);
    bytes
}

#[test]
fn a_flipped_byte_anywhere_is_refused() {
    let len = {
        let dir = ledger();
        std::fs::metadata(checkpoint_file(dir.path()))
            .unwrap()
            .len() as usize
    };
    // Header (magic, seq, hash, counts), a fingerprint entry, the references, the check.
    for at in [0, 17, 30, 60, 81 + 16 * 100 + 3, len - 40, len - 1] {
        unusable(|mut bytes| {
            bytes[at] ^= 0x10;
            bytes
        });
    }
}

#[test]
fn a_truncated_or_empty_checkpoint_is_refused() {
    unusable(|bytes| bytes[..bytes.len() - 1].to_vec());
    unusable(|bytes| bytes[..bytes.len() / 2].to_vec());
    unusable(|_| Vec::new());
    unusable(|mut bytes| {
        bytes.push(0);
        bytes
    });
}

#[test]
fn another_version_is_refused_even_with_a_matching_check() {
    unusable(|mut bytes| {
        bytes[8] = 2;
        recheck(bytes)
    });
}

#[test]
fn inconsistent_contents_with_a_matching_check_are_refused() {
    // The seq no longer matches the number of ids.
    unusable(|mut bytes| {
        bytes[17] ^= 1;
        recheck(bytes)
    });
    // Two fingerprint entries swapped: out of order.
    unusable(|mut bytes| {
        let (a, b) = (81 + 16 * 10, 81 + 16 * 11);
        let first: Vec<u8> = bytes[a..a + 16].to_vec();
        bytes.copy_within(b..b + 16, a);
        bytes[b..b + 16].copy_from_slice(&first);
        recheck(bytes)
    });
}

#[test]
fn a_checkpoint_of_another_log_is_refused() {
    let other = tempfile::tempdir().unwrap();
    {
        let mut log = open(other.path());
        logins(&mut log, 50_000, 2_503, 1_000);
        log.checkpoint().unwrap();
    }
    unusable(|_| std::fs::read(checkpoint_file(other.path())).unwrap());
}

#[test]
fn a_checkpoint_ahead_of_the_log_is_refused() {
    // The same history, 5,000 events further: its checkpoint's seq is beyond this log's head.
    let longer = tempfile::tempdir().unwrap();
    {
        let mut log = open(longer.path());
        before(&mut log);
        after(&mut log);
        logins(&mut log, 20_000, 5_000, 5_000);
        log.checkpoint().unwrap();
    }
    unusable(|_| std::fs::read(checkpoint_file(longer.path())).unwrap());
}

/// The same history batched differently: a checkpoint made where one log's block ends lies in
/// the middle of the other's block. It belongs (the hash at its seq is the same) and is used.
#[test]
fn a_checkpoint_in_the_middle_of_a_block_is_used() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut log = open(dir.path());
        before(&mut log);
        after(&mut log);
    }
    let split = tempfile::tempdir().unwrap();
    {
        let mut log = open(split.path());
        logins(&mut log, 0, 1_000, 1_000);
        log.checkpoint().unwrap();
    }
    std::fs::copy(checkpoint_file(split.path()), checkpoint_file(dir.path())).unwrap();
    let mut log = open(dir.path());
    assert_eq!(log.checkpoint_seq(), 1_000);
    same_answers(&mut log);
}

#[test]
fn a_checkpoint_of_an_empty_log_is_used() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut log = open(dir.path());
        assert_eq!(log.checkpoint().unwrap(), Some(0));
        before(&mut log);
        after(&mut log);
    }
    let mut log = open(dir.path());
    assert_eq!(log.checkpoint_seq(), 0);
    same_answers(&mut log);
}

/// A checkpoint does not hide what happened after it: acknowledged events that the blocks
/// lost still stop the open.
#[test]
fn lost_acknowledged_events_after_the_checkpoint_still_stop_the_open() {
    let dir = ledger();
    {
        let db = (0..200)
            .find_map(|_| {
                sled::Config::new()
                    .path(dir.path().join("sled"))
                    .segment_size(1 << 20)
                    .flush_every_ms(None)
                    .open()
                    .ok()
                    .or_else(|| {
                        std::thread::sleep(std::time::Duration::from_millis(10));
                        None
                    })
            })
            .expect("sled opens once the log's handle is gone");
        let tree = db.open_tree("blocks").unwrap();
        let (last, _) = tree.last().unwrap().unwrap();
        tree.remove(last).unwrap();
        tree.flush().unwrap();
    }
    let err = match open_sled(dir.path(), &SledOptions::default()) {
        Ok(_) => panic!("a log that lost acknowledged events opened"),
        Err(err) => err,
    };
    assert!(
        err.to_string().contains("acknowledged events are missing"),
        "{err}"
    );
}
