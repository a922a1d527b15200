//! The log's promises, each as given batches → expected receipt or error.

use riskledger_events::json::parse_line;
use riskledger_events::{Event, Timestamp};
use riskledger_store::*;

fn ev(line: &str) -> Event {
    parse_line(1, line).unwrap()
}

fn account(id: &str, account: &str) -> Event {
    ev(&format!(
        r#"{{"id":"{id}","type":"account_opened","at":"2024-01-02T10:00:00Z","account":"{account}","role":"client","country":"US"}}"#
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

fn fixed_time() -> AppendOptions {
    AppendOptions {
        recorded_at: Some(Timestamp(1_800_000_000_000_000)),
        ..AppendOptions::default()
    }
}

fn with(on_invalid: OnInvalid) -> AppendOptions {
    AppendOptions {
        on_invalid,
        ..fixed_time()
    }
}

fn open(dir: &tempfile::TempDir) -> SledLog {
    open_sled(dir.path(), &SledOptions::default()).unwrap()
}

#[test]
fn seqs_are_dense_from_one_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let head = {
        let mut log = open(&dir);
        let receipt = log
            .append(&[account("a", "x"), account("b", "y")], &fixed_time())
            .unwrap();
        assert_eq!(
            receipt.outcomes,
            vec![Outcome::Appended(1), Outcome::Appended(2)]
        );
        let receipt = log.append(&[account("c", "z")], &fixed_time()).unwrap();
        assert_eq!(receipt.outcomes, vec![Outcome::Appended(3)]);
        receipt.head
    };
    let log = open(&dir);
    assert_eq!(log.head(), head);
    let seqs: Vec<u64> = log.records(1).map(|r| r.unwrap().seq).collect();
    assert_eq!(seqs, vec![1, 2, 3]);
    let from_two: Vec<String> = log.records(2).map(|r| r.unwrap().event.id).collect();
    assert_eq!(from_two, vec!["b", "c"]);
    assert!(log.verify().ok());
}

#[test]
fn the_same_id_with_the_same_content_is_a_duplicate_across_all_history() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut log = open(&dir);
        log.append(&[account("a", "x"), account("b", "y")], &fixed_time())
            .unwrap();
    }
    let mut log = open(&dir);
    let receipt = log
        .append(
            &[account("b", "y"), account("c", "z"), account("a", "x")],
            &fixed_time(),
        )
        .unwrap();
    assert_eq!(
        receipt.outcomes,
        vec![
            Outcome::Duplicate(2),
            Outcome::Appended(3),
            Outcome::Duplicate(1)
        ]
    );
    assert_eq!((receipt.appended, receipt.duplicates), (1, 2));
    assert_eq!(receipt.head.seq, 3);
}

#[test]
fn the_same_id_with_other_content_is_a_conflict_naming_the_id() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(&dir);
    log.append(&[account("a", "x")], &fixed_time()).unwrap();
    let err = log
        .append(&[account("a", "other")], &fixed_time())
        .unwrap_err();
    let AppendError::Rejected(rejection) = err else {
        panic!("{err}")
    };
    assert_eq!(
        rejection,
        Rejection {
            index: 0,
            id: "a".into(),
            reason: RejectReason::Conflict { seq: 1 }
        }
    );
    assert_eq!(
        rejection.to_string(),
        "event 0 (id \"a\"): field `id`: already used by the event at seq 1 with different content"
    );
}

#[test]
fn duplicates_inside_one_batch_are_found_too() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(&dir);
    let receipt = log
        .append(&[account("a", "x"), account("a", "x")], &fixed_time())
        .unwrap();
    assert_eq!(
        receipt.outcomes,
        vec![Outcome::Appended(1), Outcome::Duplicate(1)]
    );
    let err = log
        .append(&[account("b", "x"), account("b", "y")], &fixed_time())
        .unwrap_err();
    assert!(
        matches!(
            err,
            AppendError::Rejected(Rejection {
                index: 1,
                reason: RejectReason::Conflict { seq: 2 },
                ..
            })
        ),
        "{err}"
    );
    assert_eq!(log.head().seq, 1, "a rejected batch stores nothing");
}

#[test]
fn a_rejected_batch_stores_nothing_and_its_ids_stay_free() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(&dir);
    let batch = [
        contract("k", "k-1"),
        payment("p", "k-1", 5),
        payment("bad", "k-2", 5),
    ];
    let err = log.append(&batch, &fixed_time()).unwrap_err();
    let AppendError::Rejected(rejection) = err else {
        panic!()
    };
    assert_eq!(rejection.index, 2);
    assert_eq!(
        rejection.reason.to_string(),
        "field `contract`: contract \"k-2\" does not exist"
    );
    assert_eq!(log.head(), Head::EMPTY);
    assert_eq!(log.records(1).count(), 0);
    // Nothing of the batch was remembered: not its ids, not its contract.
    let receipt = log.append(&batch[..2], &fixed_time()).unwrap();
    assert_eq!(
        receipt.outcomes,
        vec![Outcome::Appended(1), Outcome::Appended(2)]
    );
}

#[test]
fn keep_prefix_stores_the_events_before_the_first_invalid_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(&dir);
    let batch = [
        contract("k", "k-1"),
        payment("bad", "k-9", 5),
        payment("p", "k-1", 5),
    ];
    let receipt = log.append(&batch, &with(OnInvalid::KeepPrefix)).unwrap();
    assert_eq!(
        receipt.outcomes,
        vec![Outcome::Appended(1), Outcome::Rejected, Outcome::NotTried]
    );
    assert_eq!(receipt.rejected.len(), 1);
    assert_eq!(receipt.head.seq, 1);
}

#[test]
fn skip_stores_every_valid_event() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(&dir);
    let batch = [
        contract("k", "k-1"),
        payment("bad", "k-9", 5),
        payment("p", "k-1", 5),
    ];
    let receipt = log.append(&batch, &with(OnInvalid::Skip)).unwrap();
    assert_eq!(
        receipt.outcomes,
        vec![
            Outcome::Appended(1),
            Outcome::Rejected,
            Outcome::Appended(2)
        ]
    );
    assert_eq!(receipt.rejected[0].id, "bad");
}

#[test]
fn references_follow_the_history_across_batches_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut log = open(&dir);
        log.append(&[contract("k", "k-1")], &fixed_time()).unwrap();
    }
    let mut log = open(&dir);
    let wrong_currency = ev(
        r#"{"id":"p1","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":5,"currency":"EUR"}"#,
    );
    let err = log.append(&[wrong_currency], &fixed_time()).unwrap_err();
    assert!(
        err.to_string()
            .contains("field `currency`: EUR is not the currency of contract \"k-1\" (USD)"),
        "{err}"
    );
    let again = log
        .append(&[contract("k2", "k-1")], &fixed_time())
        .unwrap_err();
    assert!(
        again
            .to_string()
            .contains("contract \"k-1\" already started"),
        "{again}"
    );
    log.append(&[payment("p2", "k-1", 5)], &fixed_time())
        .unwrap();
}

#[test]
fn an_append_that_expects_an_old_head_gets_head_moved() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(&dir);
    log.append(&[account("a", "x")], &fixed_time()).unwrap();
    let stale = AppendOptions {
        expected_head: Some(0),
        ..fixed_time()
    };
    let err = log.append(&[account("b", "y")], &stale).unwrap_err();
    assert!(
        matches!(
            err,
            AppendError::HeadMoved {
                expected: 0,
                actual: 1
            }
        ),
        "{err}"
    );
    let fresh = AppendOptions {
        expected_head: Some(1),
        ..fixed_time()
    };
    assert_eq!(
        log.append(&[account("b", "y")], &fresh).unwrap().head.seq,
        2
    );
}

#[test]
fn batches_over_the_limit_are_refused_whole() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(&dir);
    let events: Vec<Event> = (0..riskledger_events::limits::MAX_BATCH_EVENTS + 1)
        .map(|i| account(&format!("a{i}"), "x"))
        .collect();
    assert!(matches!(
        log.append(&events, &fixed_time()),
        Err(AppendError::TooLarge { events: 16385 })
    ));
    assert_eq!(log.head().seq, 0);
}

/// Hashes cover events, not batching or append time: the same events give the same head.
#[test]
fn the_head_hash_depends_on_the_events_only() {
    let events: Vec<Event> = (0..3000)
        .map(|i| account(&format!("a{i}"), &format!("x{i}")))
        .collect();
    let one = tempfile::tempdir().unwrap();
    let mut log = open(&one);
    log.append(&events, &fixed_time()).unwrap();
    let other = tempfile::tempdir().unwrap();
    let mut split = open(&other);
    for (i, chunk) in events.chunks(7).enumerate() {
        let options = AppendOptions {
            recorded_at: Some(Timestamp(i as i64)),
            ..AppendOptions::default()
        };
        split.append(chunk, &options).unwrap();
    }
    assert_eq!(log.head(), split.head());
    assert_eq!(log.head().seq, 3000);
    drop((log, split));
    let reopened = open(&one);
    assert!(reopened.verify().ok());
    assert_eq!(
        reopened
            .records(2999)
            .map(|r| r.unwrap().event.id)
            .collect::<Vec<_>>(),
        vec!["a2998", "a2999"]
    );
}

/// sled is reopened whenever enough bytes were touched (to release the memory sled 0.34 keeps):
/// during appends and in the middle of scans, with nothing lost or reordered.
#[test]
fn sled_is_reopened_mid_stream_without_losing_anything() {
    let dir = tempfile::tempdir().unwrap();
    let options = SledOptions {
        recycle_after_bytes: 64 * 1024,
        ..SledOptions::default()
    };
    let events: Vec<Event> = (0..5_000)
        .map(|i| account(&format!("a{i}"), &format!("x{i}")))
        .collect();
    let head = {
        let backend = SledBackend::open(dir.path(), &options).unwrap();
        let mut log = Log::open(backend).unwrap();
        for chunk in events.chunks(700) {
            log.append(chunk, &fixed_time()).unwrap();
        }
        assert!(
            log.backend().recycles() >= 3,
            "recycled {} times while appending",
            log.backend().recycles()
        );
        log.head()
    };
    let backend = SledBackend::open(dir.path(), &options).unwrap();
    let log = Log::open(backend).unwrap();
    assert_eq!(log.head(), head);
    let before = log.backend().recycles();
    assert!(
        before >= 1,
        "opening scans every block and recycles on the way"
    );
    let verification = log.verify();
    assert!(verification.ok(), "{verification:?}");
    assert_eq!(verification.events, 5_000);
    let ids: Vec<String> = log.records(1).map(|r| r.unwrap().event.id).collect();
    assert_eq!(ids, events.iter().map(|e| e.id.clone()).collect::<Vec<_>>());
    assert!(log.backend().recycles() > before, "scans recycle too");
}

/// `records_in` reads exactly the seqs asked for, across block boundaries (batches of 7 make
/// blocks of 7), decodes only what the filter keeps, and answers nothing for empty, inverted
/// or out-of-range requests.
#[test]
fn records_in_reads_exactly_the_range_across_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(&dir);
    let events: Vec<Event> = (1..=30)
        .map(|n| account(&format!("e{n}"), &format!("a{}", n % 4)))
        .collect();
    for batch in events.chunks(7) {
        log.append(batch, &fixed_time()).unwrap();
    }
    let seqs = |first: u64, last: u64, keep: &dyn Fn(&[u8]) -> bool| -> Vec<u64> {
        let records = log.records_in(first, last, keep).unwrap();
        records.iter().map(|r| r.seq).collect()
    };
    let all = |_: &[u8]| true;
    assert_eq!(seqs(5, 16, &all), (5..=16).collect::<Vec<_>>());
    assert_eq!(seqs(7, 8, &all), [7, 8]);
    assert_eq!(seqs(0, 2, &all), [1, 2]);
    assert_eq!(seqs(28, 99, &all), [28, 29, 30]);
    assert_eq!(seqs(9, 8, &all), Vec::<u64>::new());
    assert_eq!(seqs(31, 40, &all), Vec::<u64>::new());
    let a1 = |stored: &[u8]| stored.windows(2).any(|w| w == b"a1");
    assert_eq!(seqs(1, 30, &a1), [1, 5, 9, 13, 17, 21, 25, 29]);
    let records = log.records_in(9, 9, all).unwrap();
    assert_eq!(records[0].event, events[8]);
    assert_eq!(records[0].hash, log.hash_at(9).unwrap());
}
