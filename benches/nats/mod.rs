//! The NATS JetStream peer: the same stored bytes published to a file-storage stream with
//! `async-nats` (nats-io's Rust client) on a tokio runtime, each message carrying
//! `Nats-Msg-Id` = the event id (the server drops a re-sent id within the stream's duplicate
//! window, 2 minutes by default: riskledger's dedupe covers all history). A batch is
//! acknowledged when every publish acknowledgement of the batch has arrived (publish all, then
//! await all). Read back: an ordered pull consumer from the first message, each payload decoded.
//!
//! Durability, two servers:
//! - `nats_jetstream_sync_always`: a nats-server this bench starts itself on a free port with
//!   `jetstream { store_dir: <tempdir>, sync_interval: always }`, so every write is fsynced
//!   before it is acknowledged: the same durability as riskledger and the PostgreSQL peer. The
//!   option exists from nats-server 2.10 on; the binary is `$RISKLEDGER_NATS_SERVER`, else
//!   `nats-server` on the PATH. When that binary does not accept the option (Debian 12 ships
//!   2.9.10, which rejects it) the bench says so loudly and takes no figure.
//! - `nats_jetstream_default_sync`: the server at `$RISKLEDGER_NATS_URL` (default
//!   `nats://127.0.0.1:4222`, started as in the README). JetStream's file store acknowledges
//!   after writing to its block file and fsyncs only every `sync_interval` (2 minutes by
//!   default): an acknowledged publish can be lost by a power cut or an OS crash. That figure
//!   is reported under `peer_append_not_durable`, never next to the durable ones.

use std::future::IntoFuture;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::pull::OrderedConfig;
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::stream::{Config as StreamConfig, StorageType};
use async_nats::jetstream::{self, Context};
use bytes::Bytes;
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput};
use futures::StreamExt;
use riskledger::events::codec;
use tokio::runtime::Runtime;

use crate::{encoded, reachable, BATCH_SIZES, READ_BACK_EVENTS};

const STREAM: &str = "RISKLEDGER_BENCH";
const SUBJECT: &str = "riskledger.bench.events";
const DEFAULT_URL: &str = "nats://127.0.0.1:4222";

/// One NATS server under test: its name in the figures, its URL, and what it does about fsync.
struct Target {
    name: &'static str,
    url: String,
    durability: String,
    /// Whether every acknowledged publish was fsynced first.
    durable: bool,
    /// The server this bench started (killed on drop), with its store directory.
    _own: Option<OwnServer>,
}

/// A nats-server started by the bench; killed (by its pid) when dropped.
struct OwnServer {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

fn skipped(what: &str, why: &str) {
    eprintln!("\n*** SKIPPED: NATS JetStream peer ({what}): {why}; no peer figure was taken ***\n");
}

fn port_of(url: &str) -> Option<u16> {
    url.rsplit(':').next()?.trim_end_matches('/').parse().ok()
}

/// The system server (default durability), when it answers.
fn default_target() -> Option<Target> {
    let url = std::env::var("RISKLEDGER_NATS_URL").unwrap_or_else(|_| DEFAULT_URL.to_string());
    if !port_of(&url).is_some_and(reachable) {
        skipped("default server", &format!("nothing listens at {url}"));
        return None;
    }
    Some(Target {
        name: "nats_jetstream_default_sync",
        url,
        durability:
            "server default: JetStream acknowledges after write(2) to its block file and \
                     fsyncs every sync_interval (2 min by default); NOT fsynced per acknowledgement"
                .to_string(),
        durable: false,
        _own: None,
    })
}

fn server_binary() -> PathBuf {
    std::env::var_os("RISKLEDGER_NATS_SERVER")
        .map_or_else(|| PathBuf::from("nats-server"), PathBuf::from)
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free local port");
    listener.local_addr().unwrap().port()
}

/// A server of our own with `sync_interval: always`, when the binary supports it.
fn sync_always_target() -> Option<Target> {
    let binary = server_binary();
    let version = Command::new(&binary)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let version = match version {
        Ok(version) => version,
        Err(err) => {
            skipped(
                "sync_interval: always",
                &format!(
                    "cannot run {} ({err}); set RISKLEDGER_NATS_SERVER",
                    binary.display()
                ),
            );
            return None;
        }
    };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let port = free_port();
    let config = dir.path().join("sync-always.conf");
    let store = dir.path().join("store");
    std::fs::write(
        &config,
        format!(
            "listen: 127.0.0.1:{port}\njetstream {{ store_dir: {:?}, sync_interval: always }}\n",
            store.display().to_string()
        ),
    )
    .expect("the server config is written");
    let check = Command::new(&binary)
        .arg("-c")
        .arg(&config)
        .arg("-t")
        .output();
    match check {
        Ok(out) if out.status.success() => {}
        Ok(out) => {
            skipped(
                "sync_interval: always",
                &format!(
                    "{} ({version}) rejects `sync_interval: always` ({}), so it cannot fsync \
                     before acknowledging; set RISKLEDGER_NATS_SERVER to a nats-server >= 2.10",
                    binary.display(),
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            );
            return None;
        }
        Err(err) => {
            skipped(
                "sync_interval: always",
                &format!("cannot run {} ({err})", binary.display()),
            );
            return None;
        }
    }
    let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
    let child = Command::new(&binary)
        .arg("-c")
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn();
    let child = match child {
        Ok(child) => child,
        Err(err) => {
            skipped(
                "sync_interval: always",
                &format!("cannot start {} ({err})", binary.display()),
            );
            return None;
        }
    };
    let own = OwnServer { child, _dir: dir };
    let started = Instant::now();
    while !reachable(port) {
        if started.elapsed() > Duration::from_secs(10) {
            skipped(
                "sync_interval: always",
                &format!("{version} did not listen on {port} within 10 s"),
            );
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(Target {
        name: "nats_jetstream_sync_always",
        url: format!("nats://127.0.0.1:{port}"),
        durability: format!(
            "{version} started by this bench with `sync_interval: always`: every write is fsynced \
             before it is acknowledged; store in {}",
            store.display()
        ),
        durable: true,
        _own: Some(own),
    })
}

/// Connects and (re)creates the stream: file storage, one replica, default duplicate window.
async fn fresh_stream(url: &str) -> Result<(Context, String), async_nats::Error> {
    let client = async_nats::connect(url).await?;
    let version = client.server_info().version;
    let context = jetstream::ContextBuilder::new()
        .timeout(Duration::from_secs(60))
        .max_ack_inflight(2 * 10_000)
        .build(client);
    let _ = context.delete_stream(STREAM).await;
    context
        .create_stream(StreamConfig {
            name: STREAM.to_string(),
            subjects: vec![SUBJECT.to_string()],
            storage: StorageType::File,
            num_replicas: 1,
            ..Default::default()
        })
        .await?;
    Ok((context, version))
}

/// Publishes every message of the batch, then waits for every acknowledgement.
async fn publish_batch(context: &Context, ids: Vec<String>, bodies: Vec<Bytes>) {
    let mut acks = Vec::with_capacity(ids.len());
    for (id, body) in ids.into_iter().zip(bodies) {
        let message = PublishMessage::build().payload(body).message_id(id);
        let ack = context
            .send_publish(SUBJECT, message)
            .await
            .expect("published");
        acks.push(ack.into_future());
    }
    for ack in futures::future::join_all(acks).await {
        let ack = ack.expect("acknowledged");
        assert!(!ack.duplicate, "a fresh event id was taken for a duplicate");
    }
}

fn batch_supply(batch: usize) -> impl FnMut() -> (Vec<String>, Vec<Bytes>) {
    let mut next = 0u64;
    move || {
        let (ids, bodies) = encoded(next, batch);
        next += batch as u64;
        (ids, bodies.into_iter().map(Bytes::from).collect())
    }
}

fn announce(target: &Target, version: &str) {
    let warning = if target.durable {
        ""
    } else {
        "*** WARNING: NOT THE SAME DURABILITY: acknowledged publishes are not on disk yet ***\n"
    };
    eprintln!(
        "\n{warning}*** NATS JetStream peer `{}` at {} (nats-server {version}), file storage.\n*** durability: {} ***\n{warning}",
        target.name, target.url, target.durability
    );
}

/// A new, empty stream on `target`, with the server's version; `None` after saying loudly why
/// the peer is skipped.
fn fresh_stream_or_skip(rt: &Runtime, target: &Target) -> Option<(Context, String)> {
    match rt.block_on(fresh_stream(&target.url)) {
        Ok(fresh) => Some(fresh),
        Err(err) => {
            skipped(
                target.name,
                &format!("cannot create the stream at {} ({err})", target.url),
            );
            None
        }
    }
}

fn append(c: &mut Criterion, target: &Target, group_name: &str) {
    let rt = runtime();
    let mut group = c.benchmark_group(group_name);
    group.sample_size(10);
    for batch in BATCH_SIZES {
        let Some((context, version)) = fresh_stream_or_skip(&rt, target) else {
            return;
        };
        if batch == BATCH_SIZES[0] {
            announce(target, &version);
        }
        group.throughput(Throughput::Elements(batch as u64));
        let mut supply = batch_supply(batch);
        group.bench_function(BenchmarkId::new(target.name, batch), |b| {
            b.iter_batched(
                &mut supply,
                |(ids, bodies)| rt.block_on(publish_batch(&context, ids, bodies)),
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
    let _ = rt.block_on(async {
        let client = async_nats::connect(&target.url).await?;
        jetstream::new(client).delete_stream(STREAM).await?;
        Ok::<_, async_nats::Error>(())
    });
}

/// Reads the whole stream with an ordered pull consumer, decoding every payload.
async fn read_back(context: &Context) -> u64 {
    let stream = context.get_stream(STREAM).await.expect("the stream");
    let consumer = stream
        .create_consumer(OrderedConfig::default())
        .await
        .expect("an ordered consumer");
    let mut messages = consumer
        .messages()
        .await
        .expect("messages")
        .take(READ_BACK_EVENTS as usize);
    let mut decoded = 0u64;
    while let Some(message) = messages.next().await {
        let message = message.expect("a message");
        if codec::decode(&message.payload).is_ok() {
            decoded += 1;
        }
    }
    decoded
}

fn read(c: &mut Criterion, target: &Target) {
    let rt = runtime();
    let Some((context, version)) = fresh_stream_or_skip(&rt, target) else {
        return;
    };
    announce(target, &version);
    let mut supply = batch_supply(10_000);
    for _ in (0..READ_BACK_EVENTS).step_by(10_000) {
        let (ids, bodies) = supply();
        rt.block_on(publish_batch(&context, ids, bodies));
    }
    let mut group = c.benchmark_group("peer_read_back");
    group.sample_size(10);
    group.throughput(Throughput::Elements(READ_BACK_EVENTS));
    group.bench_function(format!("{}_ordered_consumer_decode", target.name), |b| {
        b.iter(|| assert_eq!(rt.block_on(read_back(&context)), READ_BACK_EVENTS))
    });
    group.finish();
    let _ = rt.block_on(context.delete_stream(STREAM));
}

/// Durable append on a server that fsyncs every write, then the default server.
pub fn nats_append(c: &mut Criterion) {
    if let Some(target) = sync_always_target() {
        append(c, &target, "peer_append_durable");
    }
    if let Some(target) = default_target() {
        append(c, &target, "peer_append_not_durable");
    }
}

/// Read back from the default server (filling 200k events through a server that fsyncs every
/// message would take minutes, and reading does not depend on the sync setting); from the
/// server of our own only when the default one is unreachable.
pub fn nats_read_back(c: &mut Criterion) {
    if let Some(target) = default_target().or_else(sync_always_target) {
        read(c, &target);
    }
}
