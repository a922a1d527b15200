//! The change feed against its definition: after record N, a subject's level is its level in
//! the books of records 1..=N evaluated at the latest event time among them; the feed lists
//! every difference between consecutive prefixes. The oracle below evaluates every pair and
//! account after every record, so the feed's shortcuts (touched subjects, scheduled window
//! ends and payment gaps) are checked against brute force, over random histories, random
//! batchings, snapshots and restarts. proptest prints failing seeds.

mod support;

use std::collections::BTreeMap;

use proptest::prelude::*;
use riskledger::{
    AppendOptions, Books, Event, Ledger, LedgerOptions, Level, LevelChange, Policy, Subject,
    Subscription,
};
use support::history_spread;

/// Every level change of `events` (appended in this order, so record N is `events[N - 1]`),
/// by brute force.
fn oracle(events: &[Event], policy: &Policy) -> Vec<(u64, Subject, Level, Level)> {
    let mut books = Books::new();
    let mut before: BTreeMap<Subject, Level> = BTreeMap::new();
    let mut changes = Vec::new();
    for (index, event) in events.iter().enumerate() {
        books.apply(event);
        let at = books.latest_event_at().expect("an event was folded");
        let mut now: BTreeMap<Subject, Level> = BTreeMap::new();
        for pair in books.pairs().reports(&policy.pairs, at, Level::Low) {
            now.insert(Subject::pair(&pair.client, &pair.freelancer), pair.level);
        }
        for account in books.accounts().reports(&policy.accounts, at, Level::Low) {
            now.insert(Subject::account(&account.account), account.level);
        }
        let subjects: std::collections::BTreeSet<&Subject> =
            before.keys().chain(now.keys()).collect();
        for subject in subjects {
            let from = before.get(subject).copied().unwrap_or(Level::None);
            let to = now.get(subject).copied().unwrap_or(Level::None);
            if from != to {
                changes.push((index as u64 + 1, subject.clone(), from, to));
            }
        }
        before = now;
    }
    changes
}

fn plain(changes: &[LevelChange]) -> Vec<(u64, Subject, Level, Level)> {
    changes
        .iter()
        .map(|c| (c.seq, c.subject.clone(), c.from, c.to))
        .collect()
}

fn options(policy: &Policy, snapshot_every_events: u64) -> LedgerOptions {
    LedgerOptions {
        policy: policy.clone(),
        snapshot_every_events,
    }
}

/// A policy under which pairs go quiet after 20 days and windows last 3 months, so that short
/// random histories cross both time-driven transitions many times.
fn brisk_policy() -> Policy {
    let mut policy = Policy::default();
    policy.pairs.payments_stopped_days = 20;
    policy.pairs.window_months = 3;
    policy
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Batched appends with a restart in the middle (snapshot plus tail) give the oracle's
    /// feed, and a subscriber resuming from any seq gets exactly the rest of it.
    #[test]
    fn the_feed_is_every_level_change_of_every_prefix(
        seed in any::<u64>(),
        n in 20usize..260,
        step_hours in prop::sample::select(vec![1i64, 24, 72]),
        brisk in any::<bool>(),
        batch in 1usize..40,
        restart_at in 0usize..260,
        resume_from in 0u64..280,
    ) {
        let policy = if brisk { brisk_policy() } else { Policy::default() };
        let events = history_spread(seed, n, step_hours * 3_600);
        let expected = oracle(&events, &policy);
        let restart_at = restart_at.min(n);
        let dir = tempfile::tempdir().unwrap();
        {
            let mut ledger = Ledger::open_with(dir.path(), options(&policy, 50)).unwrap();
            for chunk in events[..restart_at].chunks(batch) {
                ledger.append(chunk, &AppendOptions::default()).unwrap();
            }
            ledger.close().unwrap();
        }
        let mut ledger = Ledger::open_with(dir.path(), options(&policy, 50)).unwrap();
        prop_assert_eq!(ledger.snapshot_seq(), restart_at as u64, "reopened from the snapshot");
        for chunk in events[restart_at..].chunks(batch) {
            ledger.append(chunk, &AppendOptions::default()).unwrap();
        }
        prop_assert_eq!(ledger.head().seq, n as u64);
        prop_assert_eq!(plain(ledger.changes(1)), expected.clone());

        let mut subscription = Subscription::from_seq(resume_from);
        let rest: Vec<_> = expected.iter().filter(|c| c.0 >= resume_from).cloned().collect();
        prop_assert_eq!(plain(ledger.poll(&mut subscription)), rest);
        prop_assert_eq!(subscription.next_seq(), (n as u64 + 1).max(resume_from));
        prop_assert!(ledger.poll(&mut subscription).is_empty());

        // The level after any record is the oracle's.
        let probe = (resume_from as usize).min(n) as u64;
        for (_, subject, _, _) in expected.iter().take(5) {
            let oracle_level = expected
                .iter()
                .rfind(|c| c.0 <= probe && &c.1 == subject)
                .map_or(Level::None, |c| c.3);
            prop_assert_eq!(ledger.level_after_seq(subject, probe), oracle_level);
        }
    }
}

#[test]
fn time_alone_moves_levels_and_the_feed_names_the_record_that_moved_time() {
    let policy = Policy::default();
    let lines = [
        r#"{"id":"k","type":"contract_started","at":"2024-01-01T00:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2000}"#,
        r#"{"id":"f","type":"flag_raised","at":"2024-01-10T00:00:00Z","flag":"fl-1","reporter":"system","subject":"c-1","counterparty":"f-1","reason":"contact_info"}"#,
        r#"{"id":"p1","type":"payment","at":"2024-01-15T00:00:00Z","contract":"k-1","amount_minor":100,"currency":"USD"}"#,
        r#"{"id":"p2","type":"payment","at":"2024-01-22T00:00:00Z","contract":"k-1","amount_minor":100,"currency":"USD"}"#,
        r#"{"id":"p3","type":"payment","at":"2024-01-29T00:00:00Z","contract":"k-1","amount_minor":100,"currency":"USD"}"#,
        // An unrelated account's login moves T to 60 days after p3, to the microsecond.
        r#"{"id":"l1","type":"login","at":"2024-03-29T00:00:00Z","account":"x-1","device":"d-9","ip":"10.0.0.1","lat":14.6,"lon":121.0,"country":"PH"}"#,
        // And past the end of the 24-month window.
        r#"{"id":"l2","type":"login","at":"2026-01-01T00:00:00Z","account":"x-1","device":"d-9","ip":"10.0.0.1","lat":14.6,"lon":121.0,"country":"PH"}"#,
    ];
    let events: Vec<Event> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| riskledger::events::json::parse_line(i as u64 + 1, l).unwrap())
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = Ledger::open(dir.path()).unwrap();
    ledger.append(&events, &AppendOptions::default()).unwrap();
    let pair = Subject::pair("c-1", "f-1");
    assert_eq!(
        plain(ledger.changes(1)),
        vec![
            (2, pair.clone(), Level::None, Level::Low), // contact info shared
            (6, pair.clone(), Level::Low, Level::Medium), // ... and payments stopped
            (7, pair.clone(), Level::Medium, Level::Low), // after the window: capped at low
        ]
    );
    assert_eq!(plain(ledger.changes(1)), oracle(&events, &policy));
    assert_eq!(ledger.changes(7)[0].at, events[6].at);
}

#[test]
fn a_snapshot_made_under_another_policy_rebuilds_the_feed_under_this_one() {
    let events = history_spread(11, 240, 72 * 3_600);
    let dir = tempfile::tempdir().unwrap();
    {
        let mut ledger = Ledger::open(dir.path()).unwrap();
        ledger.append(&events, &AppendOptions::default()).unwrap();
        ledger.close().unwrap();
    }
    let brisk = brisk_policy();
    let ledger = Ledger::open_with(dir.path(), options(&brisk, u64::MAX)).unwrap();
    assert_eq!(
        ledger.snapshot_seq(),
        0,
        "the snapshot's feed was made under the default policy"
    );
    let expected = oracle(&events, &brisk);
    assert_ne!(
        expected,
        oracle(&events, &Policy::default()),
        "the policies must disagree somewhere"
    );
    assert_eq!(plain(ledger.changes(1)), expected);
}
