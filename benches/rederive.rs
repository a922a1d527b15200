//! Re-deriving one account from the log (`Ledger::rederive`, `riskledger report --from-log`):
//! the finder's lookups, the ranges of the log read, and the fold of the records found, for
//! random accounts, beside the kept-state `dossier` of the same accounts.
//!
//! `cargo bench --bench rederive -- --quick` builds a ledger of `RISKLEDGER_REDERIVE_ACCOUNTS`
//! generated accounts (default 5,000, 12 months, about 450,000 events) in a temporary
//! directory. `RISKLEDGER_REDERIVE_DIR=DIR` measures an existing ledger instead (issue 5's,
//! say: `riskledger generate --accounts 1000000 --months 6 | head -n 10000000`, ingested).
//! Besides criterion's figure it prints the latency distribution of `SAMPLES` re-derivations
//! and of the kept-state dossiers of the same accounts, and how many records each read.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use riskledger::events::json::parse_line;
use riskledger::{AppendOptions, Event, Ledger, Level};
use riskledger_generator::{generate, Config};

/// The allocator the `riskledger` binary uses (see the workspace Cargo.toml).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const DEFAULT_ACCOUNTS: u64 = 5_000;
const SEED: u64 = 7;
const SAMPLES: usize = 300;

fn generated_ledger(dir: &std::path::Path) -> Ledger {
    let accounts = std::env::var("RISKLEDGER_REDERIVE_ACCOUNTS")
        .ok()
        .map_or(DEFAULT_ACCOUNTS, |v| {
            v.parse().expect("a number of accounts")
        });
    let mut text = Vec::new();
    generate(&Config::new(accounts, SEED), &mut text, None).expect("the generator writes");
    let text = String::from_utf8(text).expect("the generator writes UTF-8");
    let events: Vec<Event> = text
        .lines()
        .enumerate()
        .map(|(n, line)| parse_line(n as u64 + 1, line).expect("the generator writes valid lines"))
        .collect();
    let mut ledger = Ledger::open(dir).expect("a new ledger opens");
    for batch in events.chunks(1_000) {
        ledger
            .append(batch, &AppendOptions::default())
            .expect("the generator's events append");
    }
    ledger
}

fn micros(d: Duration) -> f64 {
    d.as_nanos() as f64 / 1000.0
}

fn distribution(name: &str, mut times: Vec<Duration>) {
    times.sort_unstable();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    eprintln!(
        "LATENCY {name}: {} calls: p50 {:.0} µs, p90 {:.0} µs, p99 {:.0} µs, max {:.0} µs",
        times.len(),
        micros(at(0.50)),
        micros(at(0.90)),
        micros(at(0.99)),
        micros(times[times.len() - 1]),
    );
}

fn rederive(c: &mut Criterion) {
    let temp = tempfile::tempdir().expect("a temporary directory");
    let started = Instant::now();
    let ledger = match std::env::var_os("RISKLEDGER_REDERIVE_DIR") {
        Some(dir) => Ledger::open_existing(dir.as_ref(), Default::default())
            .expect("RISKLEDGER_REDERIVE_DIR holds a ledger"),
        None => generated_ledger(temp.path()),
    };
    let accounts: Vec<String> = ledger
        .accounts(None, Level::None)
        .unwrap()
        .into_iter()
        .map(|report| report.account)
        .collect();
    eprintln!(
        "\nrederive: {} events, {} accounts, ready in {:.1} s",
        ledger.head().seq,
        accounts.len(),
        started.elapsed().as_secs_f64()
    );
    let mut state = SEED;
    let picks: Vec<&str> = (0..SAMPLES)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            accounts[(state >> 33) as usize % accounts.len()].as_str()
        })
        .collect();
    let mut rederived = Vec::with_capacity(SAMPLES);
    let mut kept = Vec::with_capacity(SAMPLES);
    for account in &picks {
        let start = Instant::now();
        let dossier = black_box(ledger.rederive(account, None).expect("re-derives"));
        rederived.push(start.elapsed());
        let start = Instant::now();
        assert_eq!(
            serde_json::to_value(black_box(ledger.dossier(account, None).unwrap())).unwrap(),
            serde_json::to_value(dossier).unwrap(),
            "{account}: the log and the kept state agree"
        );
        kept.push(start.elapsed());
    }
    distribution("rederive (from the log)", rederived);
    distribution("dossier (kept state, plus a JSON comparison)", kept);

    let mut group = c.benchmark_group("rederive");
    group.throughput(Throughput::Elements(1));
    let mut i = 0usize;
    group.bench_function("account", |b| {
        b.iter(|| {
            i += 1;
            ledger
                .rederive(picks[i % SAMPLES], None)
                .expect("re-derives")
        })
    });
    group.finish();
}

criterion_group!(benches, rederive);
criterion_main!(benches);
