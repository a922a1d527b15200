//! Commands over the log itself: `verify`, `export`, `stats`, `demo`.

use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;

use riskledger::events::json::{parse_line, write_line, Placement};
use riskledger::events::{chain, Name, EVENT_TYPES};
use riskledger::store::Record;
use riskledger::{AppendOptions, Ledger, LedgerOptions, Policy, StoreError, Verification};
use serde::Serialize;

use crate::{print_json, BadInput, EXIT_NO};

#[derive(Serialize)]
struct VerifyReport {
    ok: bool,
    events: u64,
    head_seq: u64,
    head_hash: String,
    first_bad_seq: Option<u64>,
    error: Option<String>,
}

impl From<Verification> for VerifyReport {
    fn from(v: Verification) -> Self {
        VerifyReport {
            ok: v.ok(),
            events: v.events,
            head_seq: v.head.seq,
            head_hash: v.head.hash_hex(),
            first_bad_seq: v.first_bad_seq,
            error: v.error,
        }
    }
}

/// Runs `verify_dir`, turning a storage engine's panic on a damaged file into a "no".
fn verify_catching_panics(data: &Path) -> anyhow::Result<VerifyReport> {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let outcome = std::panic::catch_unwind(|| riskledger::verify_dir(data));
    std::panic::set_hook(default_hook);
    let storage_failure = |error: String| VerifyReport {
        ok: false,
        events: 0,
        head_seq: 0,
        head_hash: chain::to_hex(&riskledger::events::GENESIS_HASH),
        first_bad_seq: None,
        error: Some(error),
    };
    Ok(match outcome {
        Ok(Ok(verification)) => verification.into(),
        Ok(Err(riskledger::LedgerError::Missing(dir))) => {
            return Err(BadInput(format!("no ledger at {}", dir.display())).into())
        }
        Ok(Err(riskledger::LedgerError::Store(err))) if err.is_damage() => {
            storage_failure(err.to_string())
        }
        // Not an answer about the data (the store is locked by a writer, unreadable, ...):
        // a failure of the machine, exit 3.
        Ok(Err(err)) => return Err(anyhow::Error::from(err).context("cannot read the store")),
        Err(panic) => {
            let what = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown".into());
            storage_failure(format!(
                "the storage engine failed reading the store: {what}"
            ))
        }
    })
}

pub fn verify(data: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let report = verify_catching_panics(data)?;
    if json {
        print_json(&report)?;
    } else if report.ok {
        println!(
            "ok: {} events, head seq {} hash {}",
            report.events, report.head_seq, report.head_hash
        );
    } else {
        println!(
            "DAMAGED: first bad seq {}; {}",
            report
                .first_bad_seq
                .map_or("unknown".to_string(), |s| s.to_string()),
            report.error.as_deref().unwrap_or("")
        );
        println!(
            "the {} events before it verify (head seq {} hash {})",
            report.events, report.head_seq, report.head_hash
        );
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_NO)
    })
}

pub fn export(data: &Path, from: u64, to: Option<u64>) -> anyhow::Result<ExitCode> {
    let ledger = riskledger::open_log(data)?;
    let records = ledger.records(from).take_while(|record| {
        !record
            .as_ref()
            .is_ok_and(|r| to.is_some_and(|to| r.seq > to))
    });
    write_records(records)
}

/// `export --account`: the records that name the account, through the ledger's finder.
pub fn export_account(
    data: &Path,
    policy: Policy,
    account: &str,
    from: u64,
    to: Option<u64>,
) -> anyhow::Result<ExitCode> {
    let ledger = Ledger::open_existing(
        data,
        LedgerOptions {
            policy,
            ..LedgerOptions::default()
        },
    )?;
    let records = ledger.records_naming(Name::account(account))?;
    let in_range = |seq: u64| seq >= from && to.is_none_or(|to| seq <= to);
    write_records(records.into_iter().filter(|r| in_range(r.seq)).map(Ok))
}

/// Writes records as NDJSON with their placement, stopping quietly when the reader does.
fn write_records(
    records: impl Iterator<Item = Result<Record, StoreError>>,
) -> anyhow::Result<ExitCode> {
    let mut out = BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    let written = (|| -> anyhow::Result<()> {
        for record in records {
            let record = record?;
            let hash = chain::to_hex(&record.hash);
            let placement = Placement {
                seq: record.seq,
                hash: &hash,
                recorded_at: record.recorded_at,
            };
            write_line(&mut out, &record.event, Some(placement))?;
            out.write_all(b"\n")?;
        }
        out.flush()?;
        Ok(())
    })();
    match written {
        // A reader that stops early (`| head`) is not a failure of ours.
        Err(err) if is_broken_pipe(&err) => Ok(ExitCode::SUCCESS),
        Err(err) => Err(err),
        Ok(()) => Ok(ExitCode::SUCCESS),
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

#[derive(Serialize)]
struct Stats {
    events: u64,
    head_seq: u64,
    head_hash: String,
    by_type: BTreeMap<&'static str, u64>,
    first_event_at: Option<String>,
    last_event_at: Option<String>,
    disk_bytes: u64,
}

fn disk_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.metadata() {
            Ok(m) if m.is_dir() => disk_bytes(&entry.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

pub fn stats(data: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let ledger = riskledger::open_log(data)?;
    let mut by_type: BTreeMap<&'static str, u64> = EVENT_TYPES.iter().map(|t| (*t, 0)).collect();
    let (mut first, mut last) = (None, None);
    let mut events = 0;
    for record in ledger.records(1) {
        let record = record?;
        events += 1;
        *by_type.entry(record.event.body.type_name()).or_default() += 1;
        let at = record.event.at;
        first = Some(first.map_or(at, |f: riskledger::Timestamp| f.min(at)));
        last = Some(last.map_or(at, |l: riskledger::Timestamp| l.max(at)));
    }
    let head = ledger.head();
    let stats = Stats {
        events,
        head_seq: head.seq,
        head_hash: head.hash_hex(),
        by_type,
        first_event_at: first.map(|t| t.to_rfc3339()),
        last_event_at: last.map(|t| t.to_rfc3339()),
        disk_bytes: disk_bytes(data),
    };
    if json {
        print_json(&stats)?;
    } else {
        println!("events      {}", stats.events);
        println!(
            "head        seq {} hash {}",
            stats.head_seq, stats.head_hash
        );
        println!(
            "event time  {} .. {}",
            stats.first_event_at.as_deref().unwrap_or("-"),
            stats.last_event_at.as_deref().unwrap_or("-")
        );
        println!("disk        {} bytes", stats.disk_bytes);
        for (kind, count) in &stats.by_type {
            println!("  {kind:<26} {count}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn generate(
    accounts: u64,
    seed: u64,
    labels: Option<&Path>,
    months: u32,
    threads: usize,
) -> anyhow::Result<ExitCode> {
    let mut config = riskledger_generator::Config::new(accounts, seed);
    config.months = months;
    config.threads = threads.max(1);
    let mut labels_file = match labels {
        Some(path) => Some(BufWriter::new(
            std::fs::File::create(path)
                .map_err(|e| BadInput(format!("cannot write {}: {e}", path.display())))?,
        )),
        None => None,
    };
    let mut out = BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    let written = riskledger_generator::generate(
        &config,
        &mut out,
        labels_file.as_mut().map(|f| f as &mut dyn Write),
    )
    .map_err(anyhow::Error::from)
    .and_then(|summary| {
        out.flush()?;
        if let Some(file) = labels_file.as_mut() {
            file.flush()?;
        }
        Ok(summary)
    });
    match written {
        Ok(summary) => {
            eprintln!(
                "generated {} events for {} accounts ({} pairs), {} bytes",
                summary.events, summary.accounts, summary.pairs, summary.bytes
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(err) if is_broken_pipe(&err) => Ok(ExitCode::SUCCESS),
        Err(err) => Err(err),
    }
}

/// The README's quickstart: a synthetic marketplace, ingested, verified and asked.
pub fn demo(data: &Path, accounts: u64, seed: u64, json: bool) -> anyhow::Result<ExitCode> {
    let config = riskledger_generator::Config::new(accounts, seed);
    let mut history = Vec::new();
    riskledger_generator::generate(&config, &mut history, None)?;
    let text = String::from_utf8(history)?;
    let events = text
        .lines()
        .enumerate()
        .map(|(i, line)| parse_line(i as u64 + 1, line))
        .collect::<Result<Vec<_>, _>>()?;
    let mut ledger = riskledger::open_log_or_create(data)?;
    let (mut appended, mut duplicates) = (0, 0);
    for chunk in events.chunks(4096) {
        let receipt = ledger.append(chunk, &AppendOptions::default())?;
        appended += receipt.appended;
        duplicates += receipt.duplicates;
    }
    let verification: VerifyReport = ledger.verify().into();
    drop(ledger);
    let ledger = Ledger::open(data)?;
    let pairs = ledger.pairs(None, riskledger::Level::Medium)?;
    let accounts_at_risk = ledger.accounts(None, riskledger::Level::Medium)?;
    if json {
        print_json(&serde_json::json!({
            "verify": verification,
            "appended": appended,
            "duplicates": duplicates,
            "pairs": pairs,
            "accounts": accounts_at_risk,
        }))?;
    } else {
        println!(
            "demo: generated {} events for {accounts} accounts (seed {seed}); ingested into {}: appended {appended}, duplicates {duplicates}",
            events.len(),
            data.display()
        );
        println!(
            "verify: ok={} events={} head_hash={}\n",
            verification.ok, verification.events, verification.head_hash
        );
        println!("pairs at medium or above ({}):", pairs.len());
        print!("{}", crate::render_pairs::pairs_table(&pairs));
        println!(
            "\naccounts at medium or above ({}):",
            accounts_at_risk.len()
        );
        print!(
            "{}",
            crate::render_accounts::accounts_table(&accounts_at_risk)
        );
        println!(
            "\nnext: riskledger --data {} report ACCOUNT",
            data.display()
        );
    }
    Ok(if verification.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_NO)
    })
}
