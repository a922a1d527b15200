//! `cargo run --release -p riskledger-generator --example generate -- ACCOUNTS SEED [LABELS|-] [THREADS]`:
//! writes the history to stdout and reports the speed on stderr (until the CLI's `generate`
//! is wired).

use std::io::{BufWriter, Write};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let accounts: u64 = args.first().map_or(Ok(1_000), |a| a.parse())?;
    let seed: u64 = args.get(1).map_or(Ok(1), |a| a.parse())?;
    let mut config = riskledger_generator::Config::new(accounts, seed);
    config.threads = args.get(3).map_or(Ok(1), |a| a.parse())?;
    let stdout = std::io::stdout();
    let mut events = BufWriter::with_capacity(1 << 20, stdout.lock());
    let mut labels = match args.get(2).filter(|a| *a != "-") {
        Some(path) => Some(BufWriter::new(std::fs::File::create(path)?)),
        None => None,
    };
    let started = Instant::now();
    let summary = riskledger_generator::generate(
        &config,
        &mut events,
        labels.as_mut().map(|l| l as &mut dyn Write),
    )?;
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "{} accounts, {} pairs, {} events, {} bytes in {:.2} s: {:.0} events/s, {:.1} MB/s; {} late logins; {} labelled pairs, {} labelled accounts",
        summary.accounts,
        summary.pairs,
        summary.events,
        summary.bytes,
        seconds,
        summary.events as f64 / seconds,
        summary.bytes as f64 / seconds / 1e6,
        summary.late_logins,
        summary.labelled_pairs,
        summary.labelled_accounts,
    );
    Ok(())
}
