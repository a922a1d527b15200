//! Running the `riskledger` binary and making histories for the CLI tests.
#![allow(dead_code)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output};

pub fn bin() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_riskledger"));
    command.env_remove("RISKLEDGER_DATA");
    command
}

/// Runs `riskledger --data DIR ARGS...`.
pub fn run(data: &Path, args: &[&str]) -> Output {
    bin()
        .arg("--data")
        .arg(data)
        .args(args)
        .output()
        .expect("the binary runs")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

pub fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is one JSON document ({e}): {} (exit {:?}, stderr: {})",
            stdout(output),
            output.status.code(),
            stderr(output)
        )
    })
}

/// A valid history of `events` lines: every 50 lines open 5 accounts, start 1 contract, pay 10
/// times and log in 34 times.
pub fn write_history(path: &Path, events: u64) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for n in 0..events {
        let round = n / 50;
        let seconds = n * 37;
        let at = format!(
            "2024-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            1 + (seconds / 2_419_200) % 12,
            1 + (seconds / 86_400) % 28,
            (seconds / 3600) % 24,
            (seconds / 60) % 60,
            seconds % 60
        );
        let line = match n % 50 {
            0 => format!(
                r#"{{"id":"e{n}","type":"contract_started","at":"{at}","contract":"k{round}","client":"c{round}","freelancer":"f{round}","currency":"USD","kind":"hourly","rate_minor":2500}}"#
            ),
            1..=5 => format!(
                r#"{{"id":"e{n}","type":"account_opened","at":"{at}","account":"a{n}","role":"freelancer","country":"PH"}}"#
            ),
            6..=15 => format!(
                r#"{{"id":"e{n}","type":"payment","at":"{at}","contract":"k{round}","amount_minor":{},"currency":"USD"}}"#,
                10_000 + n % 997
            ),
            _ => format!(
                r#"{{"id":"e{n}","type":"login","at":"{at}","account":"a{}","device":"d{}","ip":"203.0.113.{}","lat":14.{},"lon":120.98,"country":"PH"}}"#,
                n % 5000,
                n % 7000,
                n % 250,
                n % 1000
            ),
        };
        writeln!(out, "{line}").unwrap();
    }
    out.flush().unwrap();
}

/// A small seeded generator for test timings and positions (xorshift64*).
pub struct Rng(u64);

impl Rng {
    /// Seeded from `RISKLEDGER_TEST_SEED` or the clock; prints the seed so a failure can be rerun.
    pub fn from_env(test: &str) -> Self {
        let seed = std::env::var("RISKLEDGER_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
            });
        eprintln!("{test}: seed {seed} (rerun with RISKLEDGER_TEST_SEED={seed})");
        Rng(seed | 1)
    }

    pub fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % bound.max(1)
    }
}
