//! `riskledger`: the command-line tool over the riskledger library (`spec/cli.md`).
//!
//! Exit status: 0 success; 1 the answer is "no" (`verify` found damage); 2 bad usage or bad
//! input; 3 the machine failed us (storage or IO error). With `--json`, stdout holds exactly one
//! JSON document (NDJSON for `export` and `generate`); messages and progress go to stderr.

mod ingest;
mod log_commands;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    },
    /// Size and shape of the ledger.
    Stats,
    /// Ingest a bundled example history into the ledger and verify it.
    Demo,
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
        Command::Export { from, to } => log_commands::export(&cli.data, from, to),
        Command::Stats => log_commands::stats(&cli.data, cli.json),
        Command::Demo => log_commands::demo(&cli.data, cli.json),
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
