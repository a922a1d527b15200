//! The retention horizon at the ledger (`docs/retention.md`, stages 2 and 3): the kept books are
//! compacted, an answer before their horizon comes from the log and equals the whole
//! history's, and an event older than the horizon makes the ledger rebuild its books exactly.
//! Histories are drawn from fixed seeds, printed on failure.

mod support;

use std::collections::BTreeSet;

use riskledger::events::Body;
use riskledger::{AppendOptions, Books, Event, Ledger, LedgerOptions, Level, Policy, Timestamp};

use support::{history, short_memory_policy};

fn ledger_of(dir: &std::path::Path, policy: &Policy, events: &[Event]) -> Ledger {
    let options = LedgerOptions {
        policy: policy.clone(),
        snapshot_every_events: 10_000,
    };
    let mut ledger = Ledger::open_with(dir, options).unwrap();
    for batch in events.chunks(50) {
        ledger.append(batch, &AppendOptions::default()).unwrap();
    }
    ledger
}

/// Books that saw every event and were never compacted: exact at every `T`.
fn whole_books(events: &[Event]) -> Books {
    let mut books = Books::new();
    events.iter().for_each(|event| books.apply(event));
    books
}

fn account_names(events: &[Event]) -> BTreeSet<String> {
    events
        .iter()
        .filter_map(|event| match &event.body {
            Body::Login { account, .. } | Body::AccountOpened { account, .. } => {
                Some(account.clone())
            }
            _ => None,
        })
        .collect()
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap()
}

#[test]
fn answers_before_the_horizon_come_from_the_log_and_equal_the_whole_history() {
    for seed in [7, 8, 9] {
        let policy = short_memory_policy(2);
        let events = history(seed, 400);
        let dir = tempfile::tempdir().unwrap();
        let ledger = ledger_of(dir.path(), &policy, &events);
        let whole = whole_books(&events);
        let horizon = ledger
            .books()
            .horizon()
            .expect("two weeks of history, two days kept");
        let first = events.iter().map(|e| e.at).min().unwrap();
        assert!(
            first < horizon,
            "seed {seed}: the history reaches before the horizon"
        );
        // The kept state is not the whole one: something was compacted away.
        assert_ne!(
            json(ledger.books().accounts()),
            json(whole.accounts()),
            "seed {seed}"
        );
        // Payments older than the horizon minus the trailing year were dropped.
        let bytes = |pairs| {
            bincode::serde::encode_to_vec(pairs, bincode::config::legacy())
                .unwrap()
                .len()
        };
        assert!(
            bytes(ledger.books().pairs()) < bytes(whole.pairs()),
            "seed {seed}"
        );
        let latest = ledger.books().latest_event_at().unwrap();
        let micros = |t: Timestamp| t.as_micros();
        let times = [
            first,
            Timestamp((micros(first) + micros(horizon)) / 2),
            Timestamp(micros(horizon) - 1),
            horizon,
            Timestamp((micros(horizon) + micros(latest)) / 2),
            latest,
        ];
        let mut pairs_seen = 0;
        for t in times {
            let context = format!("seed {seed} at {t}");
            let expected = whole.accounts().reports(&policy.accounts, t, Level::None);
            assert!(!expected.is_empty(), "{context}");
            let answered = ledger.accounts(Some(t), Level::None).unwrap();
            assert_eq!(json(&answered), json(&expected), "{context}");
            let expected = whole.pairs().reports(&policy.pairs, t, Level::None);
            pairs_seen += expected.len();
            let answered = ledger.pairs(Some(t), Level::None).unwrap();
            assert_eq!(json(&answered), json(&expected), "{context}");
            for pair in &expected {
                let (client, freelancer) = (&pair.client, &pair.freelancer);
                let answered = ledger.pair(client, freelancer, Some(t)).unwrap();
                assert_eq!(
                    answered.as_ref(),
                    Some(pair),
                    "{context} pair {client} {freelancer}"
                );
            }
            for name in account_names(&events) {
                let expected = whole.accounts().report(&policy.accounts, &name, t);
                let answered = ledger.account(&name, Some(t)).unwrap();
                assert_eq!(answered, expected, "{context} account {name}");
                let dossier = ledger.dossier(&name, Some(t)).unwrap();
                assert_eq!(dossier.signals, expected, "{context} account {name}");
                let pairs = whole.pairs().reports_for_account(&policy.pairs, &name, t);
                assert_eq!(
                    json(&dossier.pairs),
                    json(&pairs),
                    "{context} account {name}"
                );
            }
        }
        assert!(pairs_seen > 0, "seed {seed}");
    }
}

#[test]
fn an_event_older_than_the_horizon_rebuilds_the_books_exactly() {
    for seed in [11, 12, 13] {
        let policy = short_memory_policy(1);
        let in_order = history(seed, 300);
        let mut events = in_order.clone();
        // The earliest login and the earliest payment arrive last, about two weeks late.
        let earliest = |events: &[Event], of_kind: fn(&Body) -> bool| {
            (0..events.len())
                .filter(|&i| of_kind(&events[i].body))
                .min_by_key(|&i| events[i].at)
                .unwrap()
        };
        let late_login = events.remove(earliest(&events, |b| matches!(b, Body::Login { .. })));
        let late_payment = events.remove(earliest(&events, |b| matches!(b, Body::Payment { .. })));
        let dir = tempfile::tempdir().unwrap();
        let mut ledger = ledger_of(dir.path(), &policy, &events);
        let horizon = ledger.books().horizon().unwrap();
        assert!(
            late_login.at < horizon,
            "seed {seed}: the login is older than the horizon"
        );
        for late in [late_payment, late_login] {
            assert!(
                ledger.books().is_before_horizon(&late),
                "seed {seed}: {late:?} needs a rebuild"
            );
            ledger
                .append(std::slice::from_ref(&late), &AppendOptions::default())
                .unwrap();
            let (replayed, _) = ledger.replay(None, None).unwrap();
            assert_eq!(ledger.state_digest(), replayed.state_digest, "seed {seed}");
            events.push(late);
        }
        let (replayed, _) = ledger.replay(None, None).unwrap();
        assert_eq!(ledger.state_digest(), replayed.state_digest, "seed {seed}");
        let latest = ledger.books().latest_event_at().unwrap();
        let whole = whole_books(&events);
        assert_eq!(
            json(&ledger.accounts(None, Level::None).unwrap()),
            json(
                &whole
                    .accounts()
                    .reports(&policy.accounts, latest, Level::None)
            ),
            "seed {seed}"
        );
        // A ledger that held the login in its place has the same state.
        let in_order_dir = tempfile::tempdir().unwrap();
        let in_order = ledger_of(in_order_dir.path(), &policy, &in_order);
        assert_eq!(
            in_order.state_digest(),
            ledger.state_digest(),
            "seed {seed}"
        );
    }
}
