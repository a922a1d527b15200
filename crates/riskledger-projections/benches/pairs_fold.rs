//! The pairs fold (`spec/policy.md` section 1): `apply` alone over a realistic marketplace mix,
//! `reports` at one `T`, and the memory the fold keeps per pair.
//!
//! The mix: 20,000 pairs over 6,000 clients and 15,000 freelancers, met over two years; each
//! pair has one contract (one in five a second one), two in three hourly; each contract is paid
//! weekly for 2 to 30 weeks and three in five end; one pair in 20 is flagged (off-platform
//! payment or contact info), half of those flags resolved; one pair in 200 proves a prior
//! relationship and one in 200 pays the conversion fee. Events are in event-time order except
//! one in 100, which arrives late. About 400,000 events, of which ~88% payments.
//!
//! `cargo bench -p riskledger-projections --bench pairs_fold -- --quick`
//!
//! Memory is measured with a counting allocator around building the book (live bytes after the
//! fold, divided by pairs) and printed before the timings. Then the same mix stretched over 2, 4
//! and 8 years (10,000 new pairs a year), compacted at the default horizon of its latest event
//! as a ledger keeps it: the steady state of a marketplace that keeps running.

mod support;
use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use riskledger_events::{
    Body, ContractKind, ContractOutcome, Currency, Date, Event, FlagOutcome, FlagReason, Reporter,
    Timestamp,
};
use riskledger_projections::pairs::PairBook;
use riskledger_projections::policy::PairPolicy;
use riskledger_projections::{Level, Policy};

#[global_allocator]
static ALLOCATOR: support::Counting = support::Counting;

/// Pairs, clients and freelancers per year of the mix (two years: 20,000 pairs).
const PAIRS_PER_YEAR: u64 = 10_000;
const CLIENTS_PER_YEAR: u64 = 3_000;
const FREELANCERS_PER_YEAR: u64 = 7_500;
const START_MICROS: i64 = 1_704_067_200_000_000; // 2024-01-01T00:00:00Z
const DAY_MICROS: i64 = Timestamp::MICROS_PER_DAY;
const WEEK_MICROS: i64 = 7 * DAY_MICROS;

use support::Rng;

struct Mix {
    rng: Rng,
    events: Vec<(i64, Body)>,
    next_contract: u64,
    next_flag: u64,
}

impl Mix {
    fn contract(&mut self, client: &str, freelancer: &str, start_micros: i64) {
        let contract = format!("ct-{:07}", self.next_contract);
        self.next_contract += 1;
        let hourly = self.rng.below(3) < 2;
        self.events.push((
            start_micros,
            Body::ContractStarted {
                contract: contract.clone(),
                client: client.to_owned(),
                freelancer: freelancer.to_owned(),
                currency: Currency(*b"USD"),
                kind: if hourly {
                    ContractKind::Hourly
                } else {
                    ContractKind::Fixed
                },
                rate_minor: hourly.then(|| 1_000 + self.rng.below(9_000)),
            },
        ));
        let weeks = 2 + self.rng.below(29) as i64;
        for week in 1..=weeks {
            let amount_minor = 5_000 + self.rng.below(200_000);
            let at = start_micros + week * WEEK_MICROS + self.rng.below(DAY_MICROS as u64) as i64;
            let body = Body::Payment {
                contract: contract.clone(),
                amount_minor,
                currency: Currency(*b"USD"),
            };
            self.events.push((at, body));
        }
        if self.rng.below(5) < 3 {
            let at = start_micros + (weeks + 1) * WEEK_MICROS;
            let body = Body::ContractEnded {
                contract,
                outcome: ContractOutcome::Completed,
            };
            self.events.push((at, body));
        }
    }

    fn flag(&mut self, client: &str, freelancer: &str, at: i64) {
        let flag = format!("fl-{:06}", self.next_flag);
        self.next_flag += 1;
        let reason = if self.rng.one_in(2) {
            FlagReason::OffPlatformPayment
        } else {
            FlagReason::ContactInfo
        };
        self.events.push((
            at,
            Body::FlagRaised {
                flag: flag.clone(),
                reporter: Reporter::Account(freelancer.to_owned()),
                subject: client.to_owned(),
                counterparty: Some(freelancer.to_owned()),
                reason,
                note: None,
            },
        ));
        if self.rng.one_in(2) {
            let outcome = if self.rng.one_in(2) {
                FlagOutcome::Confirmed
            } else {
                FlagOutcome::Dismissed
            };
            self.events
                .push((at + 3 * DAY_MICROS, Body::FlagResolved { flag, outcome }));
        }
    }
}

/// The synthetic marketplace over `years`, as events in (mostly) event-time order.
fn marketplace(with_payments: bool, years: u64) -> Vec<Event> {
    let mut mix = Mix {
        rng: Rng(0x9e37_79b9_7f4a_7c15),
        events: Vec::new(),
        next_contract: 0,
        next_flag: 0,
    };
    for _ in 0..PAIRS_PER_YEAR * years {
        let client = format!("client-{:05}", mix.rng.below(CLIENTS_PER_YEAR * years));
        let freelancer = format!(
            "freelancer-{:05}",
            mix.rng.below(FREELANCERS_PER_YEAR * years)
        );
        let met_micros = START_MICROS + mix.rng.below(365 * years) as i64 * DAY_MICROS;
        mix.contract(&client, &freelancer, met_micros);
        if mix.rng.one_in(5) {
            let later = met_micros + mix.rng.below(200) as i64 * DAY_MICROS;
            mix.contract(&client, &freelancer, later);
        }
        if mix.rng.one_in(20) {
            let at = met_micros + mix.rng.below(300) as i64 * DAY_MICROS;
            mix.flag(&client, &freelancer, at);
        }
        if mix.rng.one_in(200) {
            let body = Body::PriorRelationshipProven {
                client: client.clone(),
                freelancer: freelancer.clone(),
                since: Date(18_000),
            };
            mix.events.push((met_micros + DAY_MICROS, body));
        }
        if mix.rng.one_in(200) {
            let body = Body::ConversionFeePaid {
                client,
                freelancer,
                amount_minor: 49_920_000,
                currency: Currency(*b"USD"),
            };
            mix.events.push((met_micros + 90 * DAY_MICROS, body));
        }
    }
    let Mix {
        mut rng,
        mut events,
        ..
    } = mix;
    if !with_payments {
        events.retain(|(_, body)| !matches!(body, Body::Payment { .. }));
    }
    events.sort_by_key(|(at, _)| *at);
    // One event in 100 arrives late: moved some thousand places further down the log.
    for i in 0..events.len() {
        if rng.one_in(100) {
            let to = (i + rng.below(5_000) as usize).min(events.len() - 1);
            events.swap(i, to);
        }
    }
    events
        .into_iter()
        .enumerate()
        .map(|(i, (at, body))| Event {
            id: format!("ev-{i:08}"),
            at: Timestamp(at),
            body,
        })
        .collect()
}

fn fold(events: &[Event]) -> PairBook {
    let mut book = PairBook::new();
    for event in events {
        book.apply(event);
    }
    book
}

/// Live heap bytes of a book built from `events`.
fn book_bytes(events: &[Event]) -> (PairBook, isize) {
    let before = support::live_bytes();
    let book = fold(events);
    (book, support::live_bytes() - before)
}

/// Time this thread spent on a CPU, in nanoseconds (Linux), so that a figure measured on a
/// machine shared with other work is not the wall clock's.
fn on_cpu_nanos() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// One fold timed by the wall clock and by time on CPU.
fn report_one_fold(events: &[Event]) {
    let cpu_before = on_cpu_nanos();
    let wall = std::time::Instant::now();
    let book = fold(black_box(events));
    let wall_nanos = wall.elapsed().as_nanos() as f64;
    let cpu_nanos = cpu_before.zip(on_cpu_nanos()).map(|(a, b)| (b - a) as f64);
    let per_second = |nanos: f64| events.len() as f64 / nanos * 1e9;
    eprintln!(
        "pairs_fold one fold of {} events into {} pairs: {:.1} ms wall ({:.2} M events/s), {}",
        events.len(),
        book.len(),
        wall_nanos / 1e6,
        per_second(wall_nanos) / 1e6,
        match cpu_nanos {
            Some(nanos) => format!(
                "{:.1} ms on CPU ({:.2} M events/s)",
                nanos / 1e6,
                per_second(nanos) / 1e6
            ),
            None => "time on CPU unavailable".to_owned(),
        }
    );
}

fn report_memory(events: &[Event], without_payments: &[Event]) {
    let (book, bytes) = book_bytes(events);
    let (lean, lean_bytes) = book_bytes(without_payments);
    let payments = events
        .iter()
        .filter(|e| matches!(e.body, Body::Payment { .. }))
        .count() as isize;
    let pairs = book.len() as isize;
    eprintln!(
        "pairs_fold memory: {} events, {pairs} pairs, {payments} payments: {bytes} live bytes = \
         {} bytes/pair; without payments {lean_bytes} bytes = {} bytes/pair; each payment adds {} bytes",
        events.len(),
        bytes / pairs,
        lean_bytes / lean.len() as isize,
        (bytes - lean_bytes) / payments.max(1),
    );
    let before = support::live_bytes();
    let mut book = fold(events);
    book.shrink_to_fit();
    let shrunk = support::live_bytes() - before;
    eprintln!(
        "pairs_fold memory after shrink_to_fit: {shrunk} bytes = {} bytes/pair",
        shrunk / pairs
    );
}

/// Live bytes per pair of the mix over `years`, folded and compacted at the default horizon
/// of its latest event (`docs/retention.md`, stage 3), as a ledger keeps it.
fn report_compacted_memory(years: u64) {
    let events = marketplace(true, years);
    let policy = Policy::default();
    let latest = events.iter().map(|e| e.at).max().expect("a mix has events");
    let boundary = policy.retention.boundary(latest);
    let before = support::live_bytes();
    let mut book = fold(&events);
    let whole = support::live_bytes() - before;
    book.compact(&policy.pairs, boundary);
    let compacted = support::live_bytes() - before;
    let pairs = book.len() as isize;
    eprintln!(
        "pairs_fold memory, {years}-year mix ({} events, {pairs} pairs), compacted at {boundary}: \
         {compacted} bytes = {} bytes/pair ({} before compaction)",
        events.len(),
        compacted / pairs,
        whole / pairs,
    );
}

fn bench_pairs(c: &mut Criterion) {
    let events = marketplace(true, 2);
    report_memory(&events, &marketplace(false, 2));
    for years in [2, 4, 8] {
        report_compacted_memory(years);
    }
    for _ in 0..3 {
        report_one_fold(&events);
    }
    let policy = PairPolicy::default();

    let mut group = c.benchmark_group("pairs_fold");
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function("apply", |b| {
        b.iter_batched(
            PairBook::new,
            |mut book| {
                for event in &events {
                    book.apply(black_box(event));
                }
                book
            },
            BatchSize::LargeInput,
        )
    });

    let book = fold(&events);
    let at = events
        .iter()
        .map(|e| e.at)
        .max()
        .unwrap_or(Timestamp(START_MICROS));
    group.throughput(Throughput::Elements(book.len() as u64));
    group.bench_function("reports_at_t", |b| {
        b.iter(|| black_box(book.reports(&policy, black_box(at), Level::None)))
    });
    group.bench_function("reports_at_t_min_level_low", |b| {
        b.iter(|| black_box(book.reports(&policy, black_box(at), Level::Low)))
    });
    let mid = Timestamp(START_MICROS + 400 * DAY_MICROS);
    group.bench_function("reports_as_of_mid_history", |b| {
        b.iter(|| black_box(book.reports(&policy, black_box(mid), Level::Low)))
    });
    group.finish();
}

criterion_group!(benches, bench_pairs);
criterion_main!(benches);
