//! The accounts fold (`spec/policy.md` section 2): `apply` alone over a realistic login mix,
//! and `reports` at one `T`.
//!
//! The mix: 10,000 accounts over 180 days, each signing in every 1 to 5 days (about 60
//! logins each, 600,000 in all) from one or two devices near home; 1 in 10 logins through a
//! VPN; 1 in 50 accounts sharing a device with another account; 1 in 100 logins arriving
//! late (out of event-time order); one payout change per 20 accounts.
//!
//! A second run of `apply` over the same mix for 500 accounts shows the cost without cache
//! misses (the whole state fits in the caches).
//!
//! `cargo bench -p riskledger-projections --bench accounts_fold -- --quick`
//!
//! Memory is measured with a counting allocator (live heap bytes after folding the whole mix,
//! divided by accounts, then after compacting the book at the default retention horizon) and
//! printed before the timings.
//!
//! For instruction counts, `ACCOUNTS_FOLD_ONCE=N` folds the logins of the mix for `N` accounts
//! once, prints the figures and exits without running criterion:
//! `ACCOUNTS_FOLD_ONCE=10000 valgrind --tool=callgrind --toggle-collect='accounts_fold::fold'
//! target/release/deps/accounts_fold-*` gives the fold's instructions (divide by the logins).
//! The name must be exact: `fold*` also matches `fold_once`, whose toggle then collects
//! everything but the fold.

mod support;
use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use riskledger_events::{Body, Country, Event, Ip, Network, Role, Timestamp};
use riskledger_projections::accounts::AccountBook;
use riskledger_projections::policy::{AccountPolicy, RetentionPolicy};
use riskledger_projections::Level;

#[global_allocator]
static ALLOCATOR: support::Counting = support::Counting;

const ACCOUNTS: usize = 10_000;
const DAYS: i64 = 180;
const START_MICROS: i64 = 1_735_689_600_000_000; // 2025-01-01T00:00:00Z
const HOUR_MICROS: i64 = 3_600_000_000;

const HOMES: [(f64, f64, &str); 6] = [
    (14.5995, 120.9842, "PH"),
    (40.7128, -74.0060, "US"),
    (51.5074, -0.1278, "GB"),
    (28.6139, 77.2090, "IN"),
    (-23.5505, -46.6333, "BR"),
    (52.5200, 13.4050, "DE"),
];

use support::Rng;

fn login(rng: &mut Rng, n: usize, account: &str, device: String, at: i64, home: usize) -> Event {
    let (lat, lon, country) = HOMES[home];
    let vpn = rng.below(10) == 0;
    Event {
        id: format!("ev-{n:08}"),
        at: Timestamp(at),
        body: Body::Login {
            account: account.to_owned(),
            device,
            ip: Ip::V4([203, 0, 113, (n % 250) as u8]),
            lat: lat + rng.unit() - 0.5,
            lon: lon + rng.unit() - 0.5,
            country: Country::parse(country).unwrap(),
            accuracy_km: 50.0,
            network: Some(if vpn {
                Network::Vpn
            } else {
                Network::Residential
            }),
        },
    }
}

/// Account-opened events first, then logins and payouts in (mostly) event-time order.
fn synthesise(accounts: usize) -> (Vec<Event>, usize) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut opened = Vec::new();
    let mut timed = Vec::new();
    let mut n = 0;
    for a in 0..accounts {
        let account = format!("acct-{a:06}");
        let home = rng.below(HOMES.len() as u64) as usize;
        opened.push(Event {
            id: format!("open-{a:06}"),
            at: Timestamp(START_MICROS - HOUR_MICROS),
            body: Body::AccountOpened {
                account: account.clone(),
                role: if a % 3 == 0 {
                    Role::Client
                } else {
                    Role::Freelancer
                },
                country: Country::parse(HOMES[home].2).unwrap(),
            },
        });
        let shares_with = (a % 50 == 0 && a > 0).then(|| a - 1);
        let mut at = START_MICROS + rng.below(24) as i64 * HOUR_MICROS;
        while at < START_MICROS + DAYS * 24 * HOUR_MICROS {
            let device = match (shares_with, rng.below(4)) {
                (Some(other), 0) => format!("dev-{other:06}-0"),
                (_, 0) => format!("dev-{a:06}-1"),
                _ => format!("dev-{a:06}-0"),
            };
            timed.push(login(&mut rng, n, &account, device, at, home));
            n += 1;
            at +=
                (24 + rng.below(4 * 24) as i64) * HOUR_MICROS + rng.below(3_600) as i64 * 1_000_000;
        }
        if a % 20 == 0 {
            timed.push(Event {
                id: format!("payout-{a:06}"),
                at: Timestamp(START_MICROS + 90 * 24 * HOUR_MICROS),
                body: Body::PayoutMethodChanged {
                    account: account.clone(),
                    method: format!("pm-{a}"),
                    country: Country::parse(HOMES[home].2).unwrap(),
                },
            });
        }
    }
    timed.sort_by_key(|e| e.at);
    // 1 in 100 arrives late: swapped with an event some way ahead.
    for i in (0..timed.len().saturating_sub(500)).step_by(100) {
        let j = i + 1 + rng.below(499) as usize;
        timed.swap(i, j);
    }
    let logins = timed
        .iter()
        .filter(|e| matches!(e.body, Body::Login { .. }))
        .count();
    // Fresh copies in apply order: a decoder hands the fold events whose strings were just
    // written, not strings scattered over the heap in the order they were synthesised.
    opened.extend(timed.iter().cloned());
    drop(timed);
    (opened, logins)
}

#[inline(never)]
fn fold(events: &[Event]) -> AccountBook {
    let mut book = AccountBook::new();
    for event in events {
        book.apply(event);
    }
    book
}

/// The book of `events` and the live heap bytes it holds.
fn measured_fold(events: &[Event]) -> (AccountBook, isize) {
    let before = support::live_bytes();
    let book = fold(events);
    (book, support::live_bytes() - before)
}

fn logins_only(events: &[Event]) -> Vec<Event> {
    events
        .iter()
        .filter(|e| matches!(e.body, Body::Login { .. }))
        .cloned()
        .collect()
}

/// `ACCOUNTS_FOLD_ONCE=N`: one fold of the logins of the mix for `N` accounts, for profilers.
fn fold_once(accounts: usize) {
    let (events, logins) = synthesise(accounts);
    let login_events = logins_only(&events);
    drop(events);
    let (book, bytes) = measured_fold(&login_events);
    println!(
        "accounts_fold once: {accounts} accounts, {logins} logins: {bytes} live bytes = {} bytes \
         per account",
        bytes / accounts as isize
    );
    drop(black_box(book));
}

fn bench_accounts(c: &mut Criterion) {
    if let Some(accounts) = std::env::var("ACCOUNTS_FOLD_ONCE")
        .ok()
        .and_then(|n| n.parse().ok())
    {
        fold_once(accounts);
        std::process::exit(0);
    }
    let (events, logins) = synthesise(ACCOUNTS);
    let (mut book, bytes) = measured_fold(&events);
    println!(
        "accounts_fold memory: {} events, {ACCOUNTS} accounts, {logins} logins: {bytes} live \
         bytes = {} bytes per account, {:.1} per login",
        events.len(),
        bytes / ACCOUNTS as isize,
        bytes as f64 / logins as f64
    );
    let before = support::live_bytes();
    let latest = events
        .iter()
        .map(|e| e.at)
        .max()
        .unwrap_or(Timestamp(START_MICROS));
    book.compact(
        &AccountPolicy::default(),
        RetentionPolicy::default().boundary(latest),
    );
    let compacted = bytes + (support::live_bytes() - before);
    println!(
        "accounts_fold memory compacted (docs/retention.md, memory_days 30, {DAYS} days of \
         history): {compacted} live bytes = {} bytes per account",
        compacted / ACCOUNTS as isize
    );
    drop(book);
    let mut group = c.benchmark_group("accounts_fold");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));

    // apply() alone, over logins only (the hot path the target is stated for).
    let login_events = logins_only(&events);
    group.throughput(Throughput::Elements(logins as u64));
    group.bench_function("apply_logins", |b| {
        b.iter_with_large_drop(|| fold(black_box(&login_events)))
    });

    // The same mix over 500 accounts: the whole state stays in the CPU caches, which shows
    // the fold's own cost apart from memory latency.
    let (small, small_logins) = synthesise(500);
    let small_logins_only: Vec<Event> = small
        .into_iter()
        .filter(|e| matches!(e.body, Body::Login { .. }))
        .collect();
    group.throughput(Throughput::Elements(small_logins as u64));
    group.bench_function("apply_logins_500_accounts", |b| {
        b.iter_with_large_drop(|| fold(black_box(&small_logins_only)))
    });

    // apply() over the whole mix, into a book that already holds the account_opened events.
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function("apply_all", |b| {
        b.iter_with_large_drop(|| fold(black_box(&events)))
    });

    // reports() at the end of the history, over every account.
    let book = fold(&events);
    let policy = AccountPolicy::default();
    let at = Timestamp(START_MICROS + DAYS * 24 * HOUR_MICROS);
    group.throughput(Throughput::Elements(book.len() as u64));
    group.bench_function("reports_at_t", |b| {
        b.iter_batched(
            || (),
            |()| book.reports(&policy, at, Level::None),
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench_accounts);
criterion_main!(benches);
