//! Re-deriving one account from the log (`Ledger::rederive`): the account's records and its
//! cluster's, found through the finder, give the dossier the kept state gives, at every `T`,
//! after appends in any batches, across a snapshot and its tail. proptest prints failing seeds.

mod support;

use proptest::prelude::*;
use riskledger::events::{json::parse_line, Name, NameKind};
use riskledger::{AppendOptions, Event, Ledger, LedgerOptions, Policy, Timestamp};

use support::{history, history_spread};

fn options() -> LedgerOptions {
    LedgerOptions {
        policy: Policy::default(),
        snapshot_every_events: u64::MAX,
    }
}

fn append_in(ledger: &mut Ledger, events: &[Event], batch: usize) {
    for chunk in events.chunks(batch.max(1)) {
        ledger.append(chunk, &AppendOptions::default()).unwrap();
    }
}

/// Every account the support histories use, and one that never appears.
fn accounts() -> Vec<String> {
    (0..12)
        .flat_map(|n| [format!("c{n}"), format!("f{n}")])
        .chain(["nobody".to_owned()])
        .collect()
}

/// Evaluation times spread over the history: before it, inside it, and the default.
fn times(events: &[Event]) -> Vec<Option<Timestamp>> {
    let mut at: Vec<i64> = events.iter().map(|e| e.at.as_micros()).collect();
    at.sort_unstable();
    let mut times = vec![None, Some(Timestamp(at[0] - 1))];
    times.extend([at.len() / 3, at.len() / 2, at.len() - 1].map(|i| Some(Timestamp(at[i]))));
    times
}

fn assert_rederived_equals_kept(ledger: &Ledger, events: &[Event]) -> Result<(), TestCaseError> {
    for at in times(events) {
        for client in (0..12).map(|n| format!("c{n}")) {
            for freelancer in (0..12)
                .map(|n| format!("f{n}"))
                .chain(["nobody".to_owned()])
            {
                let rederived = ledger.rederive_pair(&client, &freelancer, at).unwrap();
                prop_assert_eq!(
                    rederived,
                    ledger.pair(&client, &freelancer, at),
                    "pair {} {} at {:?}",
                    client,
                    freelancer,
                    at
                );
            }
        }
    }
    for account in accounts() {
        for at in times(events) {
            let kept = serde_json::to_string(&ledger.dossier(&account, at)).unwrap();
            let rederived = serde_json::to_string(&ledger.rederive(&account, at).unwrap()).unwrap();
            prop_assert_eq!(rederived, kept, "account {} at {:?}", account, at);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Dense histories (12 clients, 12 freelancers, 15 devices: large clusters) over several
    /// ranges of the finder, appended in random batches, with a snapshot somewhere.
    #[test]
    fn rederived_dossiers_equal_the_kept_ones(
        seed in any::<u64>(),
        n in 20usize..2_600,
        batch in 1usize..700,
        snapshot_at in 0usize..2_600,
    ) {
        let events = history(seed, n);
        let snapshot_at = snapshot_at.min(n);
        let dir = tempfile::tempdir().unwrap();
        {
            let mut ledger = Ledger::open_with(dir.path(), options()).unwrap();
            append_in(&mut ledger, &events[..snapshot_at], batch);
            ledger.snapshot().unwrap();
            append_in(&mut ledger, &events[snapshot_at..], batch);
            assert_rederived_equals_kept(&ledger, &events)?;
        }
        // Reopened: the finder comes from the snapshot and the tail.
        let reopened = Ledger::open_with(dir.path(), options()).unwrap();
        prop_assert_eq!(reopened.snapshot_seq(), snapshot_at as u64);
        assert_rederived_equals_kept(&reopened, &events)?;
    }
}

/// Spread-out histories cross the 30-day device window, the 60-day payment gap and the
/// 24-month window; one fixed seed, printed.
#[test]
fn rederived_dossiers_equal_the_kept_ones_over_years() {
    const SEED: u64 = 0x5eed_4ede_41fe_0001;
    println!("seed {SEED:#x}");
    let events = history_spread(SEED, 3_000, 40_000);
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = Ledger::open_with(dir.path(), options()).unwrap();
    append_in(&mut ledger, &events, 250);
    assert_rederived_equals_kept(&ledger, &events).unwrap();
}

/// `records_naming` finds exactly the records that name the subject, whatever range they are
/// in, and none of another kind with the same text.
#[test]
fn records_naming_finds_exactly_the_subjects_records() {
    let line = |n: u64, text: String| parse_line(n, &text).unwrap();
    let events: Vec<Event> = (1..=5_000u64)
        .map(|n| {
            let (account, device) = if n % 1_700 == 3 {
                ("solo".to_owned(), "x".to_owned())
            } else {
                (format!("a{n}"), format!("d{n}"))
            };
            line(n, format!(
                r#"{{"id":"l{n}","type":"login","at":"2025-01-01T00:00:00Z","account":"{account}","device":"{device}","ip":"10.0.0.1","lat":1.0,"lon":2.0,"country":"PH"}}"#
            ))
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = Ledger::open_with(dir.path(), options()).unwrap();
    append_in(&mut ledger, &events, 1_000);
    let seqs = |name: Name<'_>| -> Vec<u64> {
        ledger
            .records_naming(name)
            .unwrap()
            .iter()
            .map(|r| r.seq)
            .collect()
    };
    assert_eq!(seqs(Name::account("solo")), [3, 1_703, 3_403]);
    let device = |id| Name {
        kind: NameKind::Device,
        id,
    };
    assert_eq!(seqs(device("x")), [3, 1_703, 3_403]);
    assert_eq!(seqs(device("solo")), Vec::<u64>::new());
    assert_eq!(seqs(Name::account("a4999")), [4_999]);
}
