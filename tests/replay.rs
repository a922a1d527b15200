//! Replay and snapshots: a full replay, incremental appends and snapshot-plus-tail reach the
//! same state digest; `--until-seq N` equals a ledger that only ever held N events; a snapshot
//! that does not belong to the log is rebuilt, never trusted. proptest prints failing seeds.

mod support;

use proptest::prelude::*;
use riskledger::store::{records_verified, SledBackend, SledOptions};
use riskledger::{
    replay, AppendOptions, Books, Event, Ledger, LedgerError, LedgerOptions, Level, Policy, Replay,
    StoreError, Timestamp,
};

use support::{history, short_memory_policy};

fn options_with(policy: Policy, snapshot_every_events: u64) -> LedgerOptions {
    LedgerOptions {
        policy,
        snapshot_every_events,
    }
}

/// The default policy, or one that keeps a few days (`docs/retention.md`): the histories
/// span about two weeks, so the books are compacted, events arrive older than the horizon
/// and the ledger rebuilds.
fn any_retention() -> impl Strategy<Value = Policy> {
    prop_oneof![
        Just(Policy::default()),
        (0i64..4).prop_map(short_memory_policy)
    ]
}

fn append_in(ledger: &mut Ledger, events: &[Event], sizes: &[usize]) {
    let mut rest = events;
    let mut i = 0;
    while !rest.is_empty() {
        let take = sizes[i % sizes.len()].clamp(1, rest.len());
        ledger
            .append(&rest[..take], &AppendOptions::default())
            .unwrap();
        rest = &rest[take..];
        i += 1;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn full_replay_incremental_and_snapshot_plus_tail_agree(
        seed in any::<u64>(),
        n in 20usize..400,
        sizes in prop::collection::vec(1usize..60, 1..6),
        snapshot_at in 0usize..400,
        policy in any_retention(),
    ) {
        let events = history(seed, n);
        let snapshot_at = snapshot_at.min(n);
        let dir = tempfile::tempdir().unwrap();
        let options = |every| options_with(policy.clone(), every);
        let incremental = {
            let mut ledger = Ledger::open_with(dir.path(), options(u64::MAX)).unwrap();
            append_in(&mut ledger, &events[..snapshot_at], &sizes);
            ledger.snapshot().unwrap();
            append_in(&mut ledger, &events[snapshot_at..], &sizes);
            ledger.state_digest()
            // dropped without close: the snapshot covers `snapshot_at`, the rest is tail
        };
        let reopened = Ledger::open_with(dir.path(), options(u64::MAX)).unwrap();
        prop_assert_eq!(reopened.snapshot_seq(), snapshot_at as u64, "the snapshot was loaded, only the tail replayed");
        prop_assert_eq!(reopened.state_digest(), incremental.clone());
        let (full, _) = reopened.replay(None, None).unwrap();
        prop_assert_eq!(full.state_digest, incremental);
        prop_assert_eq!(full.events, n as u64);
        prop_assert_eq!(reopened.pairs(None, Level::None).unwrap().len(), reopened.books().pairs().len());
    }

    #[test]
    fn replay_until_seq_equals_a_ledger_that_only_held_that_prefix(
        seed in any::<u64>(),
        n in 20usize..300,
        cut in 0usize..300,
        policy in any_retention(),
    ) {
        let events = history(seed, n);
        let cut = cut.min(n);
        let whole = tempfile::tempdir().unwrap();
        let open = |dir: &tempfile::TempDir| Ledger::open_with(dir.path(), options_with(policy.clone(), 10_000)).unwrap();
        open(&whole).append(&events, &AppendOptions::default()).unwrap();
        let prefix = tempfile::tempdir().unwrap();
        let mut held = open(&prefix);
        held.append(&events[..cut], &AppendOptions::default()).unwrap();
        let live_digest = held.state_digest();
        drop(held);
        // (each ledger above was dropped, releasing its lock)
        let (until, _) = replay(whole.path(), &policy, Some(cut as u64), None).unwrap();
        let (only, _) = replay(prefix.path(), &policy, None, None).unwrap();
        prop_assert_eq!(&until.state_digest, &live_digest);
        prop_assert_eq!(until, only);
    }
}

#[test]
fn answers_as_of_t_equal_a_ledger_holding_only_the_events_up_to_t() {
    let events = history(42, 600);
    let t = events[300].at;
    let whole = tempfile::tempdir().unwrap();
    let mut all = Ledger::open(whole.path()).unwrap();
    all.append(&events, &AppendOptions::default()).unwrap();
    let early: Vec<Event> = events.iter().filter(|e| e.at <= t).cloned().collect();
    let part = tempfile::tempdir().unwrap();
    let mut some = Ledger::open(part.path()).unwrap();
    some.append(&early, &AppendOptions::default()).unwrap();
    let json = |v: &dyn erased::Json| v.json();
    assert_eq!(
        json(&all.pairs(Some(t), Level::None).unwrap()),
        json(&some.pairs(Some(t), Level::None).unwrap())
    );
    assert_eq!(
        json(&all.accounts(Some(t), Level::None).unwrap()),
        json(&some.accounts(Some(t), Level::None).unwrap())
    );
    let (as_of, _) = all.replay(None, Some(t)).unwrap();
    let (held, _) = some.replay(None, None).unwrap();
    assert_eq!(as_of.state_digest, held.state_digest);
}

mod erased {
    pub trait Json {
        fn json(&self) -> String;
    }
    impl<T: serde::Serialize> Json for T {
        fn json(&self) -> String {
            serde_json::to_string(self).unwrap()
        }
    }
}

#[test]
fn a_snapshot_of_another_log_or_a_damaged_one_is_rebuilt_not_trusted() {
    let events = history(7, 300);
    let mine = tempfile::tempdir().unwrap();
    let expected = {
        let mut ledger = Ledger::open(mine.path()).unwrap();
        ledger.append(&events, &AppendOptions::default()).unwrap();
        ledger.state_digest()
    };
    let other = tempfile::tempdir().unwrap();
    {
        let mut ledger = Ledger::open(other.path()).unwrap();
        ledger
            .append(&history(8, 300), &AppendOptions::default())
            .unwrap();
        ledger.close().unwrap();
    }
    let theirs = other.path().join("projections.snapshot");
    let mine_snapshot = mine.path().join("projections.snapshot");
    std::fs::copy(&theirs, &mine_snapshot).unwrap();
    let opened = Ledger::open(mine.path()).unwrap();
    assert_eq!(opened.snapshot_seq(), 0, "a foreign snapshot is not loaded");
    assert_eq!(opened.state_digest(), expected);
    drop(opened);

    // Its own snapshot is loaded...
    std::fs::remove_file(&mine_snapshot).unwrap();
    Ledger::open(mine.path()).unwrap().close().unwrap();
    let opened = Ledger::open(mine.path()).unwrap();
    assert_eq!(opened.snapshot_seq(), 300, "its own snapshot is loaded");
    assert_eq!(opened.state_digest(), expected);
    drop(opened);

    // ... unless it is damaged: then the state is rebuilt from the log.
    let mut bytes = std::fs::read(&mine_snapshot).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&mine_snapshot, bytes).unwrap();
    let opened = Ledger::open(mine.path()).unwrap();
    assert_eq!(opened.snapshot_seq(), 0, "a damaged snapshot is not loaded");
    assert_eq!(opened.state_digest(), expected);
}

#[test]
fn closing_writes_the_store_checkpoint_beside_the_snapshot_so_reopening_reads_only_the_tail() {
    let events = history(9, 200);
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = Ledger::open(dir.path()).unwrap();
    ledger
        .append(&events[..150], &AppendOptions::default())
        .unwrap();
    ledger.close().unwrap();
    let log = riskledger::open_log(dir.path()).unwrap();
    assert_eq!(
        log.checkpoint_seq(),
        150,
        "the log opened from the checkpoint"
    );
    drop(log);
    let mut ledger = Ledger::open(dir.path()).unwrap();
    assert_eq!(ledger.snapshot_seq(), 150);
    let receipt = ledger
        .append(&events[100..], &AppendOptions::default())
        .unwrap();
    assert_eq!(
        (receipt.appended, receipt.duplicates),
        (50, 50),
        "ids from before the checkpoint are still known"
    );
}

/// A ledger directory holding `events`, closed (its lock released once sled's threads end).
fn ledger_of(events: &[Event]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    Ledger::open(dir.path())
        .unwrap()
        .append(events, &AppendOptions::default())
        .unwrap();
    dir
}

/// The rebuild done the plain way, one record after another on this thread: the reference the
/// threaded rebuild of `replay` must equal.
fn fold_sequentially(
    dir: &std::path::Path,
    until_seq: Option<u64>,
    as_of: Option<Timestamp>,
) -> (Replay, Books) {
    // The ledger's sled handle lets go of its lock once its I/O threads end: retry briefly.
    let backend = (0..200)
        .find_map(|_| {
            SledBackend::open(dir, &SledOptions::default())
                .map_err(|_| std::thread::sleep(std::time::Duration::from_millis(10)))
                .ok()
        })
        .expect("the log opens once the ledger is gone");
    let mut books = Books::new();
    let mut head_seq = 0;
    for record in records_verified(&backend) {
        let record = record.unwrap();
        if until_seq.is_some_and(|until| record.seq > until) {
            break;
        }
        head_seq = record.seq;
        if as_of.is_none_or(|t| record.event.at <= t) {
            books.apply(&record.event);
        }
    }
    books.compact(&Policy::default());
    let replay = Replay {
        events: books.events(),
        head_seq,
        state_digest: books.digest(&Policy::default()),
    };
    (replay, books)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Histories of several fold batches (and of exact multiples of one, whose last batch is
    /// empty), cut by seq and by time anywhere.
    #[test]
    fn the_threaded_rebuild_equals_folding_the_same_records_in_order(
        seed in any::<u64>(),
        n in prop_oneof![1usize..3_500, Just(1_024), Just(2_048)],
        until in prop::option::of(0u64..3_600),
        as_of_index in prop::option::of(0usize..3_500),
    ) {
        let events = history(seed, n);
        let as_of = as_of_index.map(|i| events[i % n].at);
        let dir = ledger_of(&events);
        let (threaded, threaded_books) = replay(dir.path(), &Policy::default(), until, as_of).unwrap();
        let (sequential, sequential_books) = fold_sequentially(dir.path(), until, as_of);
        prop_assert_eq!(&threaded, &sequential);
        prop_assert_eq!(threaded_books.latest_event_at(), sequential_books.latest_event_at());
        prop_assert_eq!(threaded_books.pairs().len(), sequential_books.pairs().len());
        prop_assert_eq!(threaded_books.accounts().len(), sequential_books.accounts().len());
        prop_assert_eq!(threaded.head_seq, until.map_or(n as u64, |u| u.min(n as u64)));
    }
}

/// Flips a bit inside the stored record of `seq`, under the log, as a disk fault would.
fn alter_record(dir: &std::path::Path, seq: u64) {
    let open = || {
        sled::Config::new()
            .path(dir.join("sled"))
            .segment_size(1 << 20)
            // No background flusher: its thread would hold sled's lock past our drop.
            .flush_every_ms(None)
            .open()
    };
    let db = (0..200)
        .find_map(|_| {
            open()
                .map_err(|_| std::thread::sleep(std::time::Duration::from_millis(10)))
                .ok()
        })
        .expect("sled opens once the ledger is gone");
    let tree = db.open_tree("blocks").unwrap();
    // Blocks are keyed by their first seq (big-endian): the last key at or before `seq`.
    let (key, block) = tree
        .range(..=seq.to_be_bytes())
        .next_back()
        .unwrap()
        .unwrap();
    let first = u64::from_be_bytes(key.as_ref().try_into().unwrap());
    // Where the record's stored bytes sit in the block, as the store's own parser says.
    let parsed = riskledger::store::block::Block::parse(&block).unwrap();
    let stored = parsed.entries()[(seq - first) as usize].stored;
    let inside_the_record = stored.as_ptr() as usize - block.as_ptr() as usize + 3;
    let mut block = block.to_vec();
    block[inside_the_record] ^= 0x01;
    tree.insert(key, block).unwrap();
    tree.flush().unwrap();
}

#[test]
fn a_log_damaged_midway_fails_the_rebuild_naming_the_first_bad_seq() {
    let events = history(11, 5_000);
    // In the first batch, mid-way through later ones, and the very last record.
    for bad in [5u64, 1_035, 3_100, 5_000] {
        let dir = ledger_of(&events);
        alter_record(dir.path(), bad);
        let verification = riskledger::verify_dir(dir.path()).unwrap();
        assert_eq!(verification.first_bad_seq, Some(bad), "{verification:?}");
        for as_of in [None, Some(events[2_500].at)] {
            match replay(dir.path(), &Policy::default(), None, as_of).map(|(r, _)| r) {
                Err(LedgerError::Store(error @ StoreError::Damaged { .. })) => {
                    assert_eq!(error.first_bad_seq(), Some(bad), "{error}");
                    assert_eq!(
                        Some(error.to_string()),
                        verification.error,
                        "as verify says"
                    );
                }
                other => panic!("seq {bad} damaged, the rebuild gave {other:?}"),
            }
        }
        // What the ledger knew before the damage still rebuilds (the reader reads one record
        // past `until_seq` to know it is past it, as before: that one must be intact).
        let until = Some(bad - 2);
        let (before, _) = replay(dir.path(), &Policy::default(), until, None).unwrap();
        assert_eq!(before, fold_sequentially(dir.path(), until, None).0);
    }
}
