//! Where an append's time goes: wall time versus this process's CPU time, per batch size.
//! `cargo run --release --example append_probe [EVENTS]`. Not a benchmark (criterion is);
//! a quick way to tell CPU-bound from waiting on the disk on a busy machine.

#[path = "../benches/support/mod.rs"]
mod support;

use std::time::Instant;

use riskledger::AppendOptions;

fn cpu_seconds() -> f64 {
    // /proc/self/stat fields 14 and 15: user and system time in clock ticks (100 Hz).
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn main() {
    let total: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200_000);
    for batch in [1_000usize, 10_000] {
        let dir = tempfile::tempdir().unwrap();
        let mut ledger = riskledger::open_log_or_create(dir.path()).unwrap();
        let batches: Vec<_> = (0..total / batch as u64)
            .map(|i| support::events(i * batch as u64, batch))
            .collect();
        let (wall, cpu) = (Instant::now(), cpu_seconds());
        for events in &batches {
            ledger.append(events, &AppendOptions::default()).unwrap();
        }
        let wall = wall.elapsed().as_secs_f64();
        let cpu = cpu_seconds() - cpu;
        println!(
            "batch {batch:>6}: {:>10.0} events/s wall, {:>10.0} events/s of CPU ({:.0}% of wall on CPU)",
            total as f64 / wall,
            total as f64 / cpu,
            100.0 * cpu / wall
        );
    }
}
