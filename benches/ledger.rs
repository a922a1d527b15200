//! Durable append and cold replay of the ledger, next to the storage floor in the same run.
//!
//! `cargo bench --bench ledger` (add `-- --quick` for a short run). Figures are events/s
//! (`Throughput::Elements`); every append is flushed (fsync) before it returns.
//!
//! `RISKLEDGER_REOPEN_DIR=DIR cargo bench --bench ledger -- reopen_at_scale` also times
//! `Ledger::open` of an existing, closed ledger (issue 5's 10M events: build it with
//! `riskledger ingest`, then any query command writes its snapshot). The ledger is dropped
//! outside the timing: what is measured is the open, not the process's exit.

mod support;

/// The allocator the `riskledger` binary uses (see the workspace Cargo.toml).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::Write;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use riskledger::events::codec;
use riskledger::store::{records_verified, Log, SledBackend, SledOptions};
use riskledger::{AppendOptions, Ledger, Policy};

const BATCH_SIZES: [usize; 4] = [1, 100, 1_000, 10_000];

/// Hands out fresh batches of `batch` new events (unique ids), one per call. Create it outside
/// `bench_function`: criterion calls that closure several times.
fn batches(batch: usize) -> impl FnMut() -> Vec<riskledger::Event> {
    let mut next = 0u64;
    move || {
        let events = support::events(next, batch);
        next += batch as u64;
        events
    }
}
const REPLAY_EVENTS: u64 = 200_000;

fn durable_append(c: &mut Criterion) {
    let mut group = c.benchmark_group("append_durable");
    group.sample_size(10);
    for batch in BATCH_SIZES {
        group.throughput(Throughput::Elements(batch as u64));
        let dir = tempfile::tempdir().unwrap();
        let mut log = riskledger::open_log_or_create(dir.path()).unwrap();
        let mut supply = batches(batch);
        group.bench_function(BenchmarkId::new("log", batch), |b| {
            b.iter_batched(
                &mut supply,
                |events| log.append(&events, &AppendOptions::default()).unwrap(),
                BatchSize::PerIteration,
            )
        });
        let dir = tempfile::tempdir().unwrap();
        let mut ledger = Ledger::open(dir.path()).unwrap();
        let mut supply = batches(batch);
        group.bench_function(BenchmarkId::new("ledger_with_projections", batch), |b| {
            b.iter_batched(
                &mut supply,
                |events| ledger.append(&events, &AppendOptions::default()).unwrap(),
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

/// The floor: the same stored bytes, one sled value per batch, flushed the same way; and a
/// plain file with one fdatasync per batch. No chain, no index, no validation.
fn floor(c: &mut Criterion) {
    let mut group = c.benchmark_group("append_floor");
    group.sample_size(10);
    for batch in BATCH_SIZES {
        group.throughput(Throughput::Elements(batch as u64));
        let dir = tempfile::tempdir().unwrap();
        // The store's own settings (1 MiB segments, no background flusher), keys in seq order.
        let db = sled::Config::new()
            .path(dir.path())
            .segment_size(1 << 20)
            .flush_every_ms(None)
            .open()
            .unwrap();
        let mut block_key = 0u64;
        let mut supply = batches(batch);
        group.bench_function(BenchmarkId::new("raw_sled_value_per_batch", batch), |b| {
            b.iter_batched(
                &mut supply,
                |events| {
                    let mut value = Vec::with_capacity(batch * 120);
                    for event in &events {
                        codec::encode(event, &mut value).unwrap();
                    }
                    block_key += 1;
                    db.insert(block_key.to_be_bytes(), value).unwrap();
                    db.flush().unwrap();
                },
                BatchSize::PerIteration,
            )
        });
        let mut file = std::fs::File::create(dir.path().join("plain.log")).unwrap();
        group.bench_function(
            BenchmarkId::new("plain_file_fdatasync_per_batch", batch),
            |b| {
                b.iter_batched(
                    &mut supply,
                    |events| {
                        let mut value = Vec::with_capacity(batch * 120);
                        for event in &events {
                            codec::encode(event, &mut value).unwrap();
                        }
                        file.write_all(&value).unwrap();
                        file.sync_data().unwrap();
                    },
                    BatchSize::PerIteration,
                )
            },
        );
    }
    group.finish();
}

fn cold_replay(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut ledger = Ledger::open(dir.path()).unwrap();
        for start in (0..REPLAY_EVENTS).step_by(10_000) {
            ledger
                .append(&support::events(start, 10_000), &AppendOptions::default())
                .unwrap();
        }
    }
    let mut group = c.benchmark_group("cold_replay");
    group.sample_size(10);
    group.throughput(Throughput::Elements(REPLAY_EVENTS));
    group.bench_function("open_read_decode_verify_chain", |b| {
        b.iter(|| {
            let backend = SledBackend::open(dir.path(), &SledOptions::default()).unwrap();
            let count = records_verified(&backend)
                .inspect(|r| assert!(r.is_ok(), "{r:?}"))
                .count();
            assert_eq!(count as u64, REPLAY_EVENTS);
        })
    });
    // The auditor's full rebuild, next to the verified read it starts from: that read (the
    // reader's thread, the chain on the store's), every projection folded on a thread of its
    // own meanwhile, then the state digest.
    group.bench_function("full_rebuild_every_projection", |b| {
        b.iter(|| {
            let (replay, _) =
                riskledger::replay(dir.path(), &Policy::default(), None, None).unwrap();
            assert_eq!(replay.events, REPLAY_EVENTS);
            replay.state_digest
        })
    });
    // Opening the log for appends: rebuilding the id index and references from every block,
    // then from a store checkpoint (reads only what follows it: here nothing).
    group.bench_function("open_log_for_appends", |b| {
        b.iter(|| {
            let backend = SledBackend::open(dir.path(), &SledOptions::default()).unwrap();
            Log::open_rebuilding(backend).unwrap().head()
        })
    });
    riskledger::open_log(dir.path())
        .unwrap()
        .checkpoint()
        .unwrap();
    group.bench_function("open_log_from_checkpoint", |b| {
        b.iter(|| {
            let backend = SledBackend::open(dir.path(), &SledOptions::default()).unwrap();
            let log = Log::open(backend).unwrap();
            assert_eq!(log.checkpoint_seq(), REPLAY_EVENTS);
            log.head()
        })
    });
    // Reopening a closed ledger: the store checkpoint and the projection snapshot, no replay.
    Ledger::open(dir.path()).unwrap().close().unwrap();
    group.bench_function("ledger_reopen_from_snapshot", |b| {
        b.iter(|| {
            let ledger = Ledger::open(dir.path()).unwrap();
            assert_eq!(ledger.snapshot_seq(), REPLAY_EVENTS);
            ledger.head()
        })
    });
    group.finish();
}

/// Reopens the ledger in `RISKLEDGER_REOPEN_DIR`, when that is set: its snapshot and store
/// checkpoint, with nothing to replay (asserted).
fn reopen_at_scale(c: &mut Criterion) {
    let Some(dir) = std::env::var_os("RISKLEDGER_REOPEN_DIR") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let head = Ledger::open(&dir).unwrap().head().seq;
    let mut group = c.benchmark_group("reopen_at_scale");
    group.sample_size(10);
    group.throughput(Throughput::Elements(head));
    // One ledger at a time (the store locks its directory), dropped outside the timing.
    group.bench_function("ledger_reopen_from_snapshot", |b| {
        b.iter_batched(
            || (),
            |()| {
                let ledger = Ledger::open(&dir).unwrap();
                let covered = ledger.snapshot_seq();
                assert_eq!(covered, head, "a snapshot covers the whole log");
                ledger
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, durable_append, floor, cold_replay, reopen_at_scale);
criterion_main!(benches);
