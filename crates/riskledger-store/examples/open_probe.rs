//! Open time of an existing log with and without the store checkpoint, and the checkpoint's
//! write time and size. `cargo run --release -p riskledger-store --example open_probe DIR [RUNS]
//! [--from-checkpoint-only]`.
//! Writes (replaces) DIR/log.checkpoint. Wall time and this process's CPU time, because the
//! machine is shared: CPU time is the steadier figure.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::Instant;

use riskledger_store::{Log, SledBackend, SledOptions};

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

fn timed<T>(what: &str, run: impl FnOnce() -> T) -> T {
    let (wall, cpu) = (Instant::now(), cpu_seconds());
    let out = run();
    println!(
        "{what:<40} {:>8.3} s wall {:>8.2} s CPU",
        wall.elapsed().as_secs_f64(),
        cpu_seconds() - cpu
    );
    out
}

fn main() {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).expect("a ledger directory"));
    let runs: usize = std::env::args()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or(3);
    let backend = || SledBackend::open(&dir, &SledOptions::default()).unwrap();
    if std::env::args().nth(3).as_deref() == Some("--from-checkpoint-only") {
        for _ in 0..runs {
            let log = timed("open from the checkpoint", || Log::open(backend()).unwrap());
            assert_eq!(log.checkpoint_seq(), log.head().seq);
        }
        return;
    }
    for _ in 0..runs {
        let log = timed("open, rebuilding from every block", || {
            Log::open_rebuilding(backend()).unwrap()
        });
        println!("  head {}", log.head().seq);
    }
    let mut log = Log::open_rebuilding(backend()).unwrap();
    for _ in 0..runs {
        timed("checkpoint (write, fsync, rename)", || {
            log.checkpoint().unwrap()
        });
    }
    let size = std::fs::metadata(dir.join("log.checkpoint")).unwrap().len();
    println!(
        "  checkpoint: {size} bytes, covers seq {}",
        log.checkpoint_seq()
    );
    drop(log);
    for _ in 0..runs {
        let log = timed("open from the checkpoint", || Log::open(backend()).unwrap());
        assert_eq!(log.checkpoint_seq(), log.head().seq);
    }
}
