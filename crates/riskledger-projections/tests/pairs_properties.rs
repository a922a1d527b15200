//! Properties of the pair fold over generated histories:
//!
//! 1. arrival order does not matter: the same events in a shuffled order give byte-identical
//!    reports and the same digest;
//! 2. as-of: reports at `T` of a book that saw everything equal the reports of a book that only
//!    saw the events with `at <= T`;
//! 3. a snapshot (bincode, legacy config) restores the same reports and digest.
//!
//! The generator draws from small id spaces on purpose, so that pairs share accounts, flags
//! name several pairs, payments hit contracts that never start, and ids collide (the same
//! contract started twice, the same event applied twice), which the ledger would reject but
//! the fold must still fold canonically. The runner's seed is fixed (`SEED`), so a run is
//! reproducible; a failing case is also saved under `proptest-regressions/` and printed.

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use riskledger_events::{
    Body, ContractKind, Currency, Date, Event, FlagOutcome, FlagReason, Reporter, Timestamp,
};
use riskledger_projections::pairs::PairBook;
use riskledger_projections::policy::PairPolicy;
use riskledger_projections::Level;

const SEED: u64 = 0x5eed_0001_9a1e_2026;
const DAY_MICROS: i64 = Timestamp::MICROS_PER_DAY;
/// 2024-01-01T00:00:00Z.
const EPOCH_MICROS: i64 = 1_704_067_200 * 1_000_000;

fn config(cases: u32) -> Config {
    Config {
        cases,
        rng_seed: RngSeed::Fixed(SEED),
        ..Config::default()
    }
}

fn account(prefix: &str, n: u8) -> String {
    format!("{prefix}-{n}")
}

/// Event times over about three years: whole days (so that boundaries of 60 and 365 days are
/// hit exactly), sometimes shifted by a microsecond.
fn event_time() -> impl Strategy<Value = i64> {
    (
        0i64..1100,
        prop_oneof![4 => Just(0i64), 1 => Just(1i64), 1 => Just(-1i64)],
    )
        .prop_map(|(day, nudge)| EPOCH_MICROS + day * DAY_MICROS + nudge)
}

fn currency() -> impl Strategy<Value = Currency> {
    prop_oneof![5 => Just(*b"USD"), 1 => Just(*b"EUR")].prop_map(Currency)
}

fn body() -> impl Strategy<Value = Body> {
    let contract = (0u8..6).prop_map(|n| format!("k-{n}"));
    let client = (0u8..3).prop_map(|n| account("c", n));
    let freelancer = (0u8..3).prop_map(|n| account("f", n));
    let any_account = prop_oneof![
        (0u8..3).prop_map(|n| account("c", n)),
        (0u8..3).prop_map(|n| account("f", n))
    ];
    let flag = (0u8..4).prop_map(|n| format!("fl-{n}"));
    prop_oneof![
        3 => (contract.clone(), client.clone(), freelancer.clone(), currency(), any::<bool>(), proptest::option::of(1u64..5000))
            .prop_map(|(contract, client, freelancer, currency, hourly, rate_minor)| Body::ContractStarted {
                contract, client, freelancer, currency,
                kind: if hourly { ContractKind::Hourly } else { ContractKind::Fixed },
                rate_minor,
            }),
        1 => contract.clone().prop_map(|contract| Body::ContractEnded {
            contract, outcome: riskledger_events::ContractOutcome::Completed,
        }),
        8 => (contract, 1u64..1_000_000, currency())
            .prop_map(|(contract, amount_minor, currency)| Body::Payment { contract, amount_minor, currency }),
        2 => (flag.clone(), proptest::option::of(any_account.clone()), any_account.clone(), proptest::option::of(any_account),
              prop_oneof![Just(FlagReason::OffPlatformPayment), Just(FlagReason::ContactInfo), Just(FlagReason::Other)])
            .prop_map(|(flag, reporter, subject, counterparty, reason)| Body::FlagRaised {
                flag, reporter: reporter.map_or(Reporter::System, Reporter::Account), subject, counterparty, reason, note: None,
            }),
        1 => (flag, any::<bool>()).prop_map(|(flag, confirmed)| Body::FlagResolved {
            flag, outcome: if confirmed { FlagOutcome::Confirmed } else { FlagOutcome::Dismissed },
        }),
        1 => (client.clone(), freelancer.clone(), 0i32..20_000)
            .prop_map(|(client, freelancer, since)| Body::PriorRelationshipProven { client, freelancer, since: Date(since) }),
        1 => (client, freelancer, 1u64..100_000, currency())
            .prop_map(|(client, freelancer, amount_minor, currency)| Body::ConversionFeePaid { client, freelancer, amount_minor, currency }),
    ]
}

/// A history of distinct events, plus some exact repeats (the same event applied twice).
fn history() -> impl Strategy<Value = Vec<Event>> {
    (
        proptest::collection::vec((event_time(), body()), 0..80),
        proptest::collection::vec(any::<prop::sample::Index>(), 0..4),
    )
        .prop_map(|(drawn, repeats)| {
            let mut events: Vec<Event> = drawn
                .into_iter()
                .enumerate()
                .map(|(i, (at, body))| Event {
                    // One id in five of no numeric shape: stored as text by the book.
                    id: if i % 5 == 4 {
                        format!("u{i:x}-z")
                    } else {
                        format!("e-{i:03}")
                    },
                    at: Timestamp(at),
                    body,
                })
                .collect();
            if !events.is_empty() {
                let copies: Vec<Event> = repeats.iter().map(|ix| ix.get(&events).clone()).collect();
                events.extend(copies);
            }
            events
        })
}

fn book_of<'a>(events: impl IntoIterator<Item = &'a Event>) -> PairBook {
    let mut book = PairBook::new();
    for event in events {
        book.apply(event);
    }
    book
}

fn digest(book: &PairBook) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new();
    book.digest_into(&mut hasher);
    *hasher.finalize().as_bytes()
}

/// Every distinct event time, one microsecond either side, and a time after everything.
fn evaluation_times(events: &[Event]) -> Vec<Timestamp> {
    let mut times: Vec<i64> = events
        .iter()
        .flat_map(|e| [e.at.0 - 1, e.at.0, e.at.0 + 1])
        .collect();
    times.push(EPOCH_MICROS + 1200 * DAY_MICROS);
    times.sort_unstable();
    times.dedup();
    times.into_iter().map(Timestamp).collect()
}

fn all_reports_json(book: &PairBook, policy: &PairPolicy, at: Timestamp) -> String {
    serde_json::to_string(&book.reports(policy, at, Level::None)).expect("reports serialise")
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn arrival_order_does_not_matter(
        (events, shuffled) in history().prop_flat_map(|events| {
            let shuffled = Just(events.clone()).prop_shuffle();
            (Just(events), shuffled)
        })
    ) {
        let policy = PairPolicy::default();
        let in_order = book_of(&events);
        let other_order = book_of(&shuffled);
        prop_assert_eq!(digest(&in_order), digest(&other_order));
        prop_assert_eq!(in_order.len(), other_order.len());
        for at in evaluation_times(&events) {
            prop_assert_eq!(all_reports_json(&in_order, &policy, at), all_reports_json(&other_order, &policy, at));
            for account in ["c-0", "f-1"] {
                prop_assert_eq!(
                    in_order.reports_for_account(&policy, account, at),
                    other_order.reports_for_account(&policy, account, at)
                );
            }
        }
    }

    #[test]
    fn reports_as_of_t_only_see_events_up_to_t(events in history()) {
        let policy = PairPolicy::default();
        let everything = book_of(&events);
        for at in evaluation_times(&events) {
            let prefix = book_of(events.iter().filter(|e| e.at <= at));
            prop_assert_eq!(all_reports_json(&everything, &policy, at), all_reports_json(&prefix, &policy, at));
        }
    }

    #[test]
    fn a_snapshot_restores_the_same_state(events in history()) {
        let policy = PairPolicy::default();
        let book = book_of(&events);
        let config = bincode::config::legacy();
        let bytes = bincode::serde::encode_to_vec(&book, config).expect("a book encodes");
        let (restored, read): (PairBook, usize) =
            bincode::serde::decode_from_slice(&bytes, config).expect("a snapshot decodes");
        prop_assert_eq!(read, bytes.len());
        prop_assert_eq!(digest(&book), digest(&restored));
        let at = Timestamp(EPOCH_MICROS + 1200 * DAY_MICROS);
        prop_assert_eq!(all_reports_json(&book, &policy, at), all_reports_json(&restored, &policy, at));
    }
}

/// A policy whose trailing year and `payments_stopped` numbers are drawn small as well as
/// default, so that compaction's boundaries fall among a generated history's payments.
fn compaction_policy() -> impl Strategy<Value = PairPolicy> {
    (
        prop_oneof![2 => Just(365i64), 2 => 0i64..=60, 1 => Just(-3i64)],
        prop_oneof![Just(60i64), 0i64..=30],
        1u64..=4,
    )
        .prop_map(
            |(trailing_days, payments_stopped_days, min_payments)| PairPolicy {
                trailing_days,
                payments_stopped_days,
                payments_stopped_min_payments: min_payments,
                ..PairPolicy::default()
            },
        )
}

/// Where a drawn boundary falls.
#[derive(Clone, Copy, Debug)]
enum Boundary {
    /// Midnight of a day of the history.
    Midnight(i64),
    /// An event's time.
    AtAnEvent(prop::sample::Index),
    /// An event's time plus the trailing year, give or take a microsecond: the event is then
    /// at `P`, the last time compaction drops payments at, or either side of it.
    TrailingYearAfter(prop::sample::Index, i64),
}

fn boundary() -> impl Strategy<Value = Boundary> {
    prop_oneof![
        (0i64..1200).prop_map(Boundary::Midnight),
        any::<prop::sample::Index>().prop_map(Boundary::AtAnEvent),
        (any::<prop::sample::Index>(), -1i64..=1)
            .prop_map(|(i, nudge)| Boundary::TrailingYearAfter(i, nudge)),
    ]
}

fn boundary_at(events: &[Event], policy: &PairPolicy, boundary: Boundary) -> i64 {
    match boundary {
        Boundary::AtAnEvent(index) if !events.is_empty() => index.get(events).at.0,
        Boundary::TrailingYearAfter(index, nudge) if !events.is_empty() => {
            index.get(events).at.0 + policy.trailing_days.max(0) * DAY_MICROS + nudge
        }
        Boundary::Midnight(day) => EPOCH_MICROS + day * DAY_MICROS,
        _ => EPOCH_MICROS,
    }
}

fn compacted(book: &PairBook, policy: &PairPolicy, boundary_at: i64) -> PairBook {
    let mut book = book.clone();
    book.compact(policy, Timestamp(boundary_at));
    book
}

/// Every account's reports and every pair's level at `at`, as text.
fn answers_at(book: &PairBook, policy: &PairPolicy, at: Timestamp) -> String {
    let mut answers = all_reports_json(book, policy, at);
    for client in ["c-0", "c-1", "c-2"] {
        let reports = book.reports_for_account(policy, client, at);
        answers.push_str(&serde_json::to_string(&reports).expect("reports serialise"));
        for freelancer in ["f-0", "f-1", "f-2"] {
            answers.push_str(&format!("{:?}", book.level(policy, client, freelancer, at)));
        }
    }
    answers
}

proptest! {
    #![proptest_config(config(256))]

    /// Stage 3's promise: from the boundary on, a compacted book gives every answer of the
    /// whole one.
    #[test]
    fn a_compacted_book_answers_as_the_whole_one_from_its_boundary_on(
        events in history(),
        policy in compaction_policy(),
        drawn in boundary(),
    ) {
        let boundary_at = boundary_at(&events, &policy, drawn);
        let whole = book_of(&events);
        let book = compacted(&whole, &policy, boundary_at);
        prop_assert_eq!(book.horizon(), Some(Timestamp(boundary_at)));
        let from_boundary_on = evaluation_times(&events).into_iter().filter(|at| at.0 >= boundary_at);
        for at in std::iter::once(Timestamp(boundary_at)).chain(from_boundary_on) {
            prop_assert_eq!(answers_at(&book, &policy, at), answers_at(&whole, &policy, at), "at {}", at.0);
        }
    }

    /// Compacting at `B1`, folding the later events, then compacting at `B2` gives the state
    /// (digest, answers, snapshot) of compacting the whole book at `B2`.
    #[test]
    fn compaction_and_folding_commute(
        (events, shuffled) in history().prop_flat_map(|events| {
            let shuffled = Just(events.clone()).prop_shuffle();
            (Just(events), shuffled)
        }),
        policy in compaction_policy(),
        drawn in boundary(),
        later_days in prop_oneof![Just(0i64), 0i64..400],
        seen_first in proptest::collection::vec(any::<bool>(), 0..90),
    ) {
        let first_at = boundary_at(&events, &policy, drawn);
        let second_at = first_at + later_days * DAY_MICROS;
        let expected = compacted(&book_of(&shuffled), &policy, second_at);
        let mut book = PairBook::new();
        book.compact(&policy, Timestamp(first_at));
        // What is before the first horizon, and some of the rest, is folded before it.
        let (first, late): (Vec<_>, Vec<_>) = shuffled.iter().enumerate().partition(|(n, e)| {
            book.is_before_horizon(e) || seen_first.get(*n).copied().unwrap_or(false)
        });
        let mut book = book_of(first.into_iter().map(|(_, e)| e));
        book.compact(&policy, Timestamp(first_at));
        for (_, event) in late {
            prop_assert!(!book.is_before_horizon(event));
            book.apply(event);
        }
        book.compact(&policy, Timestamp(second_at));
        prop_assert_eq!(digest(&book), digest(&expected));
        book.compact(&policy, Timestamp(first_at));
        prop_assert_eq!(digest(&book), digest(&expected));
        let config = bincode::config::legacy();
        let bytes = bincode::serde::encode_to_vec(&book, config).expect("a book encodes");
        let (restored, _): (PairBook, usize) =
            bincode::serde::decode_from_slice(&bytes, config).expect("a snapshot decodes");
        prop_assert_eq!(digest(&restored), digest(&expected));
        let end = Timestamp(EPOCH_MICROS + 1200 * DAY_MICROS);
        prop_assert_eq!(answers_at(&restored, &policy, end), answers_at(&expected, &policy, end));
    }
}

/// `k-1`, a fixed-price contract between `c-1` and `f-1`, started at the epoch.
fn fixed_price_start(id: &str) -> Event {
    Event {
        id: id.into(),
        at: Timestamp(EPOCH_MICROS),
        body: Body::ContractStarted {
            contract: "k-1".into(),
            client: "c-1".into(),
            freelancer: "f-1".into(),
            currency: Currency(*b"USD"),
            kind: ContractKind::Fixed,
            rate_minor: None,
        },
    }
}

/// Three years of weekly payments of 1,000 on `k-1`, each id made by `id_of(week)`.
fn weekly_payments(id_of: fn(i64) -> String) -> Vec<Event> {
    let payments = (1..=WEEKS).map(|week| Event {
        id: id_of(week),
        at: Timestamp(EPOCH_MICROS + week * 7 * DAY_MICROS),
        body: Body::Payment {
            contract: "k-1".into(),
            amount_minor: 1_000,
            currency: Currency(*b"USD"),
        },
    });
    std::iter::once(fixed_price_start("s"))
        .chain(payments)
        .collect()
}

const WEEKS: i64 = 3 * 52;

/// The boundary 30 days before the last weekly payment.
fn boundary_after_weeks() -> i64 {
    EPOCH_MICROS + WEEKS * 7 * DAY_MICROS - 30 * DAY_MICROS
}

fn snapshot_bytes(book: &PairBook) -> usize {
    bincode::serde::encode_to_vec(book, bincode::config::legacy())
        .unwrap()
        .len()
}

/// Years of weekly payments compacted keep a year's worth per contract, and the count.
#[test]
fn years_of_payments_compacted_keep_the_trailing_year() {
    let events = weekly_payments(|week| format!("p-{week:03}"));
    let policy = PairPolicy::default();
    let whole = book_of(&events);
    let book = compacted(&whole, &policy, boundary_after_weeks());
    let at = Timestamp(boundary_after_weeks() + 91 * DAY_MICROS);
    let report = book
        .report(&policy, "c-1", "f-1", at)
        .expect("the pair exists");
    assert_eq!(report, whole.report(&policy, "c-1", "f-1", at).unwrap());
    // `T` is 61 days after the last payment: weeks 113 to 156 are in its trailing year.
    assert_eq!(
        (report.trailing_payments, report.trailing_payments_minor),
        (44, 44_000)
    );
    let stopped = report
        .signals
        .iter()
        .find(|s| s.kind == riskledger_projections::pairs::SignalKind::PaymentsStopped);
    let Some(riskledger_projections::pairs::SignalEvidence::PaymentsStopped(evidence)) =
        stopped.map(|s| &s.evidence)
    else {
        panic!("payments stopped: {report:?}");
    };
    assert_eq!(evidence.payments, 156);
    assert_eq!(stopped.unwrap().events, ["s", "p-156"]);
    // `P` = `B` − 365 days = 395 days before the last payment: weeks 1 to 99 are at or before
    // it, and 98 of them are dropped (16 bytes each); the horizon costs 16 bytes.
    assert_eq!(snapshot_bytes(&whole) - snapshot_bytes(&book), 98 * 16 - 16);
}

/// Payments dropped under one policy stay dropped: a later compaction under a longer trailing
/// window does not make the book take payments it can no longer place.
#[test]
fn the_time_payments_were_dropped_through_never_moves_back() {
    let short = PairPolicy {
        trailing_days: 10,
        ..PairPolicy::default()
    };
    let mut book = book_of(&weekly_payments(|week| format!("p-{week:03}")));
    book.compact(&short, Timestamp(boundary_after_weeks()));
    book.compact(
        &PairPolicy::default(),
        Timestamp(boundary_after_weeks() + DAY_MICROS),
    );
    let payment_at = |at: i64| Event {
        id: "late".into(),
        at: Timestamp(at),
        body: Body::Payment {
            contract: "k-1".into(),
            amount_minor: 1,
            currency: Currency(*b"USD"),
        },
    };
    // Dropped through `B − 10 days` by the first compaction.
    assert!(book.is_before_horizon(&payment_at(boundary_after_weeks() - 10 * DAY_MICROS)));
    assert!(!book.is_before_horizon(&payment_at(boundary_after_weeks() - 10 * DAY_MICROS + 1)));
}

/// Ids of no numeric shape (UUIDs) are stored as text; compaction gives the text of the
/// dropped payments back, so such a book keeps what a numeric one keeps plus the kept ids.
#[test]
fn compaction_gives_back_the_text_of_dropped_ids() {
    let uuid = |week: i64| format!("{week:08x}-9c1e-4b7a-8f3d-5e2a1c0b9d{week:02x}");
    let numeric = book_of(&weekly_payments(|week| format!("p-{week:03}")));
    let textual = book_of(&weekly_payments(|week| {
        format!("{week:08x}-9c1e-4b7a-8f3d-5e2a1c0b9d{week:02x}")
    }));
    let policy = PairPolicy::default();
    let (numeric, textual) = (
        compacted(&numeric, &policy, boundary_after_weeks()),
        compacted(&textual, &policy, boundary_after_weeks()),
    );
    // 58 payments are kept; each id costs its 36 bytes and a length byte in the text arena.
    // The numeric book holds two id shapes instead (`p-` zero-padded to three digits, `p-`
    // unpadded), 10 bytes each. Without the reclaim, all 156 ids would stay.
    let kept_text = 58 * (uuid(1).len() + 1);
    assert_eq!(
        snapshot_bytes(&textual) + 2 * 10,
        snapshot_bytes(&numeric) + kept_text
    );
    let at = Timestamp(boundary_after_weeks());
    let (a, b) = (
        numeric.report(&policy, "c-1", "f-1", at).unwrap(),
        textual.report(&policy, "c-1", "f-1", at).unwrap(),
    );
    assert_eq!(
        (a.trailing_payments, a.level),
        (b.trailing_payments, b.level)
    );
}

/// The digest must be able to tell books apart: one more payment changes it.
#[test]
fn the_digest_sees_every_fact() {
    let start = fixed_price_start("e1");
    let payment = |id: &str, amount_minor: u64| Event {
        id: id.into(),
        at: Timestamp(EPOCH_MICROS + DAY_MICROS),
        body: Body::Payment {
            contract: "k-1".into(),
            amount_minor,
            currency: Currency(*b"USD"),
        },
    };
    let one = book_of([&start, &payment("e2", 100)]);
    let same_twice = book_of([&start, &payment("e2", 100), &payment("e2", 100)]);
    let other_amount = book_of([&start, &payment("e2", 101)]);
    let two = book_of([&start, &payment("e2", 100), &payment("e3", 100)]);
    assert_eq!(digest(&one), digest(&same_twice));
    assert_ne!(digest(&one), digest(&other_amount));
    assert_ne!(digest(&one), digest(&two));
    assert_ne!(digest(&one), digest(&PairBook::new()));
}

/// Any values at all: extreme times and amounts, and policies with zero or negative numbers.
fn wild_event() -> impl Strategy<Value = Event> {
    let time = prop_oneof![Just(i64::MIN), Just(i64::MAX), Just(0i64), any::<i64>()];
    let amount = prop_oneof![Just(u64::MAX), Just(0u64), any::<u64>()];
    (time, amount, body(), 0u8..4).prop_map(|(at, amount, body, id)| {
        let body = match body {
            Body::Payment {
                contract, currency, ..
            } => Body::Payment {
                contract,
                amount_minor: amount,
                currency,
            },
            Body::ContractStarted {
                contract,
                client,
                freelancer,
                currency,
                kind,
                ..
            } => Body::ContractStarted {
                contract,
                client,
                freelancer,
                currency,
                kind,
                rate_minor: Some(amount),
            },
            other => other,
        };
        Event {
            id: format!("w-{id}"),
            at: Timestamp(at),
            body,
        }
    })
}

fn wild_policy() -> impl Strategy<Value = PairPolicy> {
    let days = prop_oneof![
        Just(i64::MIN),
        Just(i64::MAX),
        Just(0i64),
        Just(-1i64),
        -400i64..400
    ];
    (
        any::<u32>(),
        any::<u64>(),
        any::<u64>(),
        days.clone(),
        days.clone(),
        any::<u64>(),
        any::<u64>(),
        days,
    )
        .prop_map(
            |(
                window_months,
                fee_basis_points,
                hours_per_year,
                trailing_days,
                annualise_min_days,
                after_window_fee_minor,
                payments_stopped_min_payments,
                payments_stopped_days,
            )| PairPolicy {
                window_months,
                fee_basis_points,
                hours_per_year,
                trailing_days,
                annualise_min_days,
                after_window_fee_minor,
                payments_stopped_min_payments,
                payments_stopped_days,
            },
        )
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn no_input_panics(
        events in proptest::collection::vec(wild_event(), 0..40),
        policy in wild_policy(),
        at in prop_oneof![Just(i64::MIN), Just(i64::MAX), any::<i64>()],
    ) {
        let book = book_of(&events);
        let _ = digest(&book);
        for at in [Timestamp(at), Timestamp(i64::MAX), Timestamp(i64::MIN)] {
            for report in book.reports(&policy, at, Level::None) {
                serde_json::to_string(&report).expect("a report serialises");
            }
        }
    }
}
