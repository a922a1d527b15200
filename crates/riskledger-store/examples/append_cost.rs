//! The cost of durable appends at batches of 1,000 on the store alone (no projections), for
//! A/B comparisons under callgrind (instruction counts do not depend on the machine's load):
//! `valgrind --tool=callgrind --toggle-collect='*Log*append*' target/release/examples/append_cost 50000`.
//! Without valgrind it prints events/s of wall time.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::Instant;

use riskledger_events::{Body, ContractKind, Country, Currency, Event, Ip, Role, Timestamp};
use riskledger_store::{AppendOptions, Log, SledBackend, SledOptions};

/// The benches' event mix (`benches/support/mod.rs`): per 100 events 1 contract, 9 accounts,
/// 20 payments, 70 logins; ~110 bytes stored.
fn event(n: u64) -> Event {
    let at = Timestamp(1_700_000_000_000_000 + n as i64 * 60_000_000);
    let id = format!("ev-{n}");
    let round = n / 100;
    let contract = format!("k-{round}");
    let body = match n % 100 {
        0 => Body::ContractStarted {
            contract,
            client: format!("c-{round}"),
            freelancer: format!("f-{round}"),
            currency: Currency(*b"USD"),
            kind: ContractKind::Hourly,
            rate_minor: Some(2500),
        },
        1..=9 => Body::AccountOpened {
            account: format!("a-{n}"),
            role: Role::Freelancer,
            country: Country(*b"PH"),
        },
        10..=29 => Body::Payment {
            contract,
            amount_minor: 40_000 + n % 1000,
            currency: Currency(*b"USD"),
        },
        _ => Body::Login {
            account: format!("a-{}", n % 50_000),
            device: format!("d-{}", n % 70_000),
            ip: Ip::V4([203, 0, 113, (n % 250) as u8]),
            lat: 14.6 + (n % 100) as f64 / 1000.0,
            lon: 120.98,
            country: Country(*b"PH"),
            accuracy_km: 20.0,
            network: None,
        },
    };
    Event { id, at, body }
}

fn main() {
    let total: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200_000);
    let batch = 1_000u64;
    let dir = tempfile::tempdir().unwrap();
    let backend = SledBackend::open(dir.path(), &SledOptions::default()).unwrap();
    let mut log = Log::open(backend).unwrap();
    let batches: Vec<Vec<Event>> = (0..total / batch)
        .map(|b| (b * batch..(b + 1) * batch).map(event).collect())
        .collect();
    let options = AppendOptions {
        recorded_at: Some(Timestamp(1_800_000_000_000_000)),
        ..AppendOptions::default()
    };
    let start = Instant::now();
    for events in &batches {
        log.append(events, &options).unwrap();
    }
    let wall = start.elapsed().as_secs_f64();
    println!(
        "{total} events in batches of {batch}: {:.0} events/s wall, head {}",
        total as f64 / wall,
        log.head().hash_hex()
    );
}
