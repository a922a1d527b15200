//! The peers a user would pick instead, on the same events and the same durability (the commit
//! is durable before it returns). Three PostgreSQL event stores (`synchronous_commit=on`, one
//! transaction per batch):
//! - the `events` table of `postgres-es` as that crate writes it: one prepared `INSERT` per
//!   event, JSON payload, `(aggregate_type, aggregate_id, sequence)` as the key;
//! - the same table filled by one `INSERT ... SELECT FROM unnest(...)` per batch, as a
//!   hand-written tokio-postgres or sqlx store would batch it;
//! - a tuned one: the stored bytes, one array insert per batch, ids unique so that re-sent
//!   events are not stored twice, as in riskledger.
//!
//! And NATS JetStream (`nats/mod.rs`: file storage, `Nats-Msg-Id`, batched acknowledgements;
//! fsync per write only on a server with `sync_interval: always`).
//! `cargo bench --bench peers -- --quick`; compare with `--bench ledger` in the same session.
//!
//! PostgreSQL must listen on 127.0.0.1:5432 (user `postgres`, database `test`, trust auth;
//! `.ci/run` starts it if it is down); NATS with JetStream on 127.0.0.1:4222 (see `nats/mod.rs`
//! for the second server the bench starts itself). When a service is unreachable the bench says
//! so loudly and measures nothing: it never reports a figure it did not take.

mod nats;
mod support;

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use postgres::{Client, NoTls};
use riskledger::events::codec;

/// The allocator the `riskledger` binary uses (see the workspace Cargo.toml).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BATCH_SIZES: [usize; 4] = [1, 100, 1_000, 10_000];
const READ_BACK_EVENTS: u64 = 200_000;
const POSTGRES: &str = "host=127.0.0.1 port=5432 user=postgres dbname=test";
const TABLE: &str = "riskledger_bench_events";
/// postgres-es's table, under a name of the bench's own.
const ES_TABLE: &str = "riskledger_bench_es_events";

fn reachable(port: u16) -> bool {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    TcpStream::connect_timeout(&address, Duration::from_secs(1)).is_ok()
}

fn connect() -> Option<Client> {
    if !reachable(5432) {
        eprintln!("\n*** SKIPPED: PostgreSQL is unreachable on 127.0.0.1:5432; no peer figure was taken ***\n");
        return None;
    }
    match Client::connect(POSTGRES, NoTls) {
        Ok(client) => Some(client),
        Err(err) => {
            eprintln!("\n*** SKIPPED: cannot connect to PostgreSQL ({err}); no peer figure was taken ***\n");
            None
        }
    }
}

fn reset(client: &mut Client) {
    client
        .batch_execute(&format!(
            "SET synchronous_commit = on;
             DROP TABLE IF EXISTS {TABLE};
             CREATE TABLE {TABLE} (seq bigserial PRIMARY KEY, id text NOT NULL UNIQUE, body bytea NOT NULL);"
        ))
        .expect("the bench table is created");
}

/// The stored bytes riskledger would write for events `start..start + count`, with their ids.
fn encoded(start: u64, count: usize) -> (Vec<String>, Vec<Vec<u8>>) {
    support::events(start, count)
        .iter()
        .map(|e| (e.id.clone(), codec::encode_to_vec(e).unwrap()))
        .unzip()
}

/// One durable transaction per batch: an array insert, re-sent ids ignored.
fn insert(client: &mut Client, ids: &[String], bodies: &[Vec<u8>]) {
    let mut tx = client.transaction().unwrap();
    tx.execute(
        &format!("INSERT INTO {TABLE} (id, body) SELECT * FROM unnest($1::text[], $2::bytea[]) ON CONFLICT (id) DO NOTHING"),
        &[&ids, &bodies],
    )
    .unwrap();
    tx.commit().unwrap();
}

/// postgres-es's `events` table (its `db/init.sql`), one aggregate holding the whole log.
fn reset_es(client: &mut Client) {
    client
        .batch_execute(&format!(
            "SET synchronous_commit = on;
             DROP TABLE IF EXISTS {ES_TABLE};
             CREATE TABLE {ES_TABLE} (aggregate_type text NOT NULL, aggregate_id text NOT NULL,
               sequence bigint CHECK (sequence >= 0) NOT NULL, event_type text NOT NULL,
               event_version text NOT NULL, payload json NOT NULL, metadata json NOT NULL,
               PRIMARY KEY (aggregate_type, aggregate_id, sequence));"
        ))
        .expect("the bench table is created");
}

/// One batch as postgres-es commits it: one transaction, one prepared `INSERT` per event, the
/// event as JSON (its NDJSON line), the next sequence of the aggregate as the key.
fn insert_es(client: &mut Client, (first_sequence, events): (i64, Vec<riskledger::Event>)) {
    let mut tx = client.transaction().unwrap();
    let insert = tx
        .prepare(&format!(
            "INSERT INTO {ES_TABLE} (aggregate_type, aggregate_id, sequence, event_type, \
             event_version, payload, metadata) VALUES ($1, $2, $3, $4, $5, $6::text::json, $7::text::json)"
        ))
        .unwrap();
    for (offset, event) in events.iter().enumerate() {
        let payload = riskledger::events::json::to_line(event);
        let sequence = first_sequence + offset as i64;
        let event_type = event.body.type_name();
        tx.execute(
            &insert,
            &[
                &"ledger",
                &"marketplace",
                &sequence,
                &event_type,
                &"1",
                &payload,
                &"{}",
            ],
        )
        .unwrap();
    }
    tx.commit().unwrap();
}

/// The same table and rows, batched as a hand-written tokio-postgres or sqlx store would: one
/// transaction, one `INSERT ... SELECT FROM unnest(...)` of the whole batch.
fn insert_es_batched(client: &mut Client, (first_sequence, events): (i64, Vec<riskledger::Event>)) {
    let sequences: Vec<i64> = (first_sequence..).take(events.len()).collect();
    let event_types: Vec<&str> = events.iter().map(|e| e.body.type_name()).collect();
    let payloads: Vec<String> = events
        .iter()
        .map(riskledger::events::json::to_line)
        .collect();
    let mut tx = client.transaction().unwrap();
    tx.execute(
        &format!(
            "INSERT INTO {ES_TABLE} (aggregate_type, aggregate_id, sequence, event_type, \
             event_version, payload, metadata) SELECT 'ledger', 'marketplace', s, t, '1', \
             p::json, '{{}}'::json FROM unnest($1::bigint[], $2::text[], $3::text[]) AS b(s, t, p)"
        ),
        &[&sequences, &event_types, &payloads],
    )
    .unwrap();
    tx.commit().unwrap();
}

/// Durable appends at every batch size into a fresh table (`reset`), each batch made by
/// `supply(first event, batch size)` outside the timing and committed by `insert`.
fn postgres_peer<S>(
    c: &mut Criterion,
    name: &str,
    reset: fn(&mut Client),
    supply: fn(u64, usize) -> S,
    insert: fn(&mut Client, S),
) {
    let Some(mut client) = connect() else { return };
    let mut group = c.benchmark_group("peer_append_durable");
    group.sample_size(10);
    for batch in BATCH_SIZES {
        reset(&mut client);
        group.throughput(Throughput::Elements(batch as u64));
        let mut next = 0u64;
        let mut next_batch = move || {
            let made = supply(next, batch);
            next += batch as u64;
            made
        };
        group.bench_function(BenchmarkId::new(name, batch), |b| {
            b.iter_batched(
                &mut next_batch,
                |made| insert(&mut client, made),
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

/// The postgres-es table, written row by row as that crate writes it, then batched as a
/// hand-written store would batch it.
fn postgres_es_append(c: &mut Criterion) {
    let numbered = |start: u64, count| (start as i64 + 1, support::events(start, count));
    postgres_peer(c, "postgres_es_events_table", reset_es, numbered, insert_es);
    postgres_peer(
        c,
        "postgres_es_schema_batched",
        reset_es,
        numbered,
        insert_es_batched,
    );
}

fn postgres_append(c: &mut Criterion) {
    postgres_peer(
        c,
        "postgres_event_store",
        reset,
        encoded,
        |client, (ids, bodies)| insert(client, &ids, &bodies),
    );
}

fn postgres_read_back(c: &mut Criterion) {
    let Some(mut client) = connect() else { return };
    reset(&mut client);
    for start in (0..READ_BACK_EVENTS).step_by(10_000) {
        let (ids, bodies) = encoded(start, 10_000);
        insert(&mut client, &ids, &bodies);
    }
    let mut group = c.benchmark_group("peer_read_back");
    group.sample_size(10);
    group.throughput(Throughput::Elements(READ_BACK_EVENTS));
    group.bench_function("postgres_read_decode_in_seq_order", |b| {
        b.iter(|| {
            let rows = client
                .query(&format!("SELECT body FROM {TABLE} ORDER BY seq"), &[])
                .unwrap();
            let decoded = rows
                .iter()
                .filter(|row| codec::decode(row.get::<_, &[u8]>(0)).is_ok())
                .count();
            assert_eq!(decoded as u64, READ_BACK_EVENTS);
        })
    });
    group.finish();
    client
        .batch_execute(&format!("DROP TABLE IF EXISTS {TABLE}"))
        .unwrap();
}

criterion_group!(
    benches,
    postgres_es_append,
    postgres_append,
    postgres_read_back,
    nats::nats_append,
    nats::nats_read_back
);
criterion_main!(benches);
