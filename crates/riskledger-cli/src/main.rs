//! `riskledger`: the command-line tool over the riskledger library (`spec/cli.md`).
//!
//! Exit status: 0 success; 1 the answer is "no" (`verify` found damage); 2 bad usage or bad
//! input; 3 the machine failed us (storage or IO error). With `--json`, stdout holds exactly one
//! JSON document (NDJSON for `export` and `generate`); messages and progress go to stderr.

mod ingest;
mod log_commands;
mod query_commands;
mod render_accounts;
mod render_pairs;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc: measurably faster than the system allocator on the decode and commit paths
/// (see the workspace Cargo.toml). The libraries leave the choice to the application.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use riskledger::{Level, Timestamp};

#[derive(Parser)]
#[command(
    name = "riskledger",
    version,
    about = "An event-sourced account risk ledger"
)]
struct Cli {
    /// The ledger directory.
    #[arg(
        long,
        global = true,
        env = "RISKLEDGER_DATA",
        default_value = "./riskledger-data"
    )]
    data: PathBuf,
    /// Print exactly one JSON document on stdout.
    #[arg(long, global = true)]
    json: bool,
    /// A policy file (TOML); keys it leaves out keep the defaults of spec/policy.md.
    #[arg(long, global = true, env = "RISKLEDGER_POLICY")]
    policy: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Append the NDJSON events of FILE (`-` for stdin), durably, in order.
    Ingest {
        /// NDJSON file, or `-` for stdin.
        file: PathBuf,
        /// Report and skip invalid lines instead of stopping at the first one.
        #[arg(long)]
        skip_invalid: bool,
        /// Stop at the first invalid line (the default).
        #[arg(long, conflicts_with = "skip_invalid")]
        strict: bool,
        /// Print `acked SEQ` on stderr after each durable append (for crash tests).
        #[arg(long, hide = true)]
        print_acks: bool,
    },
    /// Re-read the whole log and check every record and the hash chain.
    Verify,
    /// Write events back as NDJSON, each line with its `seq`, `hash` and `recorded_at`.
    Export {
        #[arg(long, default_value_t = 1)]
        from: u64,
        #[arg(long)]
        to: Option<u64>,
        /// Only the records that name this account (as account, client, freelancer, subject,
        /// counterparty or reporter), found without reading the rest of the log.
        #[arg(long)]
        account: Option<String>,
    },
    /// Size and shape of the ledger.
    Stats,
    /// Circumvention exposure of every pair at or above a level.
    Pairs {
        /// Evaluate at this event time (RFC 3339); default: the latest event time.
        #[arg(long, value_parser = query_commands::parse_time)]
        as_of: Option<Timestamp>,
        #[arg(long, default_value = "low", value_parser = query_commands::parse_level)]
        min_level: Level,
    },
    /// Leased/shared-account signals of every account at or above a level.
    Accounts {
        #[arg(long, value_parser = query_commands::parse_time)]
        as_of: Option<Timestamp>,
        #[arg(long, default_value = "low", value_parser = query_commands::parse_level)]
        min_level: Level,
    },
    /// Everything known about one account: its pairs and its signals, with evidence.
    Report {
        account: String,
        #[arg(long, value_parser = query_commands::parse_time)]
        as_of: Option<Timestamp>,
        /// Re-derive the account from its records in the log (its own, its contracts' and
        /// flags', its cluster's, found through the finder), print that, and check it against
        /// the kept state: exit 1 when they differ. `verify` proves the records unaltered.
        #[arg(long)]
        from_log: bool,
    },
    /// Rebuild every projection from the log alone and print a digest of the state.
    Replay {
        /// Stop after this seq: what the ledger knew after record N.
        #[arg(long)]
        until_seq: Option<u64>,
        /// Count only events at or before this event time.
        #[arg(long, value_parser = query_commands::parse_time)]
        as_of: Option<Timestamp>,
    },
    /// Print the effective policy (TOML) and its digest.
    Policy,
    /// Generate a synthetic marketplace, ingest it, verify it and show the riskiest pairs and
    /// accounts.
    Demo {
        #[arg(long, default_value_t = 2_000)]
        accounts: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Write a synthetic marketplace history to stdout as NDJSON (the same seed gives the same
    /// bytes).
    Generate {
        #[arg(long)]
        accounts: u64,
        #[arg(long)]
        seed: u64,
        /// Write which accounts and pairs were made to misbehave, and what the policy should
        /// conclude, to this file (JSON).
        #[arg(long)]
        labels: Option<PathBuf>,
        /// Months of history (6 to 24).
        #[arg(long, default_value_t = 12)]
        months: u32,
        /// Worker threads (the output is the same for any number).
        #[arg(long, default_value_t = 1)]
        threads: usize,
    },
}

/// An error that is the caller's to fix: exit status 2.
#[derive(Debug)]
pub struct BadInput(pub String);

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

pub const EXIT_NO: u8 = 1;
pub const EXIT_BAD_INPUT: u8 = 2;
pub const EXIT_FAILURE: u8 = 3;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() { EXIT_BAD_INPUT } else { 0 });
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("riskledger: {err:#}");
            let bad_input = err.chain().any(|cause| {
                cause.is::<BadInput>()
                    || matches!(
                        cause.downcast_ref(),
                        Some(riskledger::LedgerError::Missing(_))
                    )
            });
            ExitCode::from(if bad_input {
                EXIT_BAD_INPUT
            } else {
                EXIT_FAILURE
            })
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let policy = || query_commands::load_policy(cli.policy.as_deref());
    match cli.command {
        Command::Ingest {
            file,
            skip_invalid,
            strict: _,
            print_acks,
        } => {
            let options = ingest::Options {
                skip_invalid,
                print_acks,
                json: cli.json,
            };
            ingest::run(&cli.data, &file, &options)
        }
        Command::Verify => log_commands::verify(&cli.data, cli.json),
        Command::Export { from, to, account } => match account {
            None => log_commands::export(&cli.data, from, to),
            Some(account) => log_commands::export_account(&cli.data, policy()?, &account, from, to),
        },
        Command::Stats => log_commands::stats(&cli.data, cli.json),
        Command::Pairs { as_of, min_level } => {
            let listing = query_commands::Listing::Pairs;
            query_commands::list(&cli.data, policy()?, listing, as_of, min_level, cli.json)
        }
        Command::Accounts { as_of, min_level } => {
            let listing = query_commands::Listing::Accounts;
            query_commands::list(&cli.data, policy()?, listing, as_of, min_level, cli.json)
        }
        Command::Report {
            account,
            as_of,
            from_log,
        } => query_commands::report(&cli.data, policy()?, &account, as_of, from_log, cli.json),
        Command::Replay { until_seq, as_of } => {
            query_commands::replay(&cli.data, policy()?, until_seq, as_of, cli.json)
        }
        Command::Policy => {
            let policy = policy()?;
            if cli.json {
                print_json(&serde_json::json!({ "digest": policy.digest(), "policy": policy }))?;
            } else {
                print!("# digest {}\n{}", policy.digest(), policy.to_toml());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo { accounts, seed } => log_commands::demo(&cli.data, accounts, seed, cli.json),
        Command::Generate {
            accounts,
            seed,
            labels,
            months,
            threads,
        } => log_commands::generate(accounts, seed, labels.as_deref(), months, threads),
    }
}

/// Prints one JSON document on stdout.
pub fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}
