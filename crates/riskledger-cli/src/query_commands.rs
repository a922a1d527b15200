//! Commands that ask the projections: `pairs`, `accounts`, `report`, `replay`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use riskledger::{Ledger, LedgerOptions, Level, Policy, Timestamp};

use crate::{print_json, render_accounts, render_pairs, BadInput};

/// Reads the policy file, or the spec's defaults without one.
pub fn load_policy(path: Option<&Path>) -> anyhow::Result<Policy> {
    let Some(path) = path else {
        return Ok(Policy::default());
    };
    let text = std::fs::read_to_string(path).map_err(|err| {
        BadInput(format!(
            "cannot read the policy file {}: {err}",
            path.display()
        ))
    })?;
    Policy::from_toml(&text).map_err(|err| BadInput(format!("{}: {err}", path.display())).into())
}

pub fn parse_time(text: &str) -> Result<Timestamp, String> {
    Timestamp::parse_rfc3339(text).map_err(|reason| format!("{text:?}: {reason}"))
}

pub fn parse_level(text: &str) -> Result<Level, String> {
    Level::parse(text).ok_or_else(|| format!("{text:?} is not one of {}", Level::NAMES))
}

fn open(data: &Path, policy: Policy) -> anyhow::Result<Ledger> {
    Ledger::open_existing(
        data,
        LedgerOptions {
            policy,
            ..LedgerOptions::default()
        },
    )
    .with_context(|| format!("opening the ledger at {}", data.display()))
}

/// What `pairs` and `accounts` list: every report at or above a level, as JSON or as a table.
pub enum Listing {
    Pairs,
    Accounts,
}

pub fn list(
    data: &Path,
    policy: Policy,
    listing: Listing,
    as_of: Option<Timestamp>,
    min_level: Level,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let ledger = open(data, policy)?;
    let (table, count, noun) = match listing {
        Listing::Pairs => {
            let reports = ledger.pairs(as_of, min_level)?;
            if json {
                return print_json(&reports).map(|()| ExitCode::SUCCESS);
            }
            (render_pairs::pairs_table(&reports), reports.len(), "pairs")
        }
        Listing::Accounts => {
            let reports = ledger.accounts(as_of, min_level)?;
            if json {
                return print_json(&reports).map(|()| ExitCode::SUCCESS);
            }
            (
                render_accounts::accounts_table(&reports),
                reports.len(),
                "accounts",
            )
        }
    };
    print!("{table}");
    eprintln!(
        "{count} {noun} at or above {min_level}; policy {}",
        ledger.policy().digest()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn report(
    data: &Path,
    policy: Policy,
    account: &str,
    as_of: Option<Timestamp>,
    from_log: bool,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let ledger = open(data, policy)?;
    let horizon = ledger.books().horizon();
    let at = ledger.evaluation_time(as_of);
    let before_horizon = at.zip(horizon).is_some_and(|(at, horizon)| at < horizon);
    if from_log && before_horizon {
        eprintln!(
            "riskledger: {} is before the kept state's horizon ({}): the dossier comes from the \
             log either way, and there is no kept answer to compare it with",
            at.map_or_else(String::new, |t| t.to_rfc3339()),
            horizon.map_or_else(String::new, |t| t.to_rfc3339()),
        );
    }
    let (dossier, status) = if from_log && !before_horizon {
        let kept = ledger.dossier(account, as_of)?;
        let rederived = ledger.rederive(account, as_of)?;
        let agree = serde_json::to_value(&rederived)? == serde_json::to_value(&kept)?;
        if !agree {
            eprintln!(
                "riskledger: the kept projections of {account} disagree with its records in \
                 the log; printing the dossier re-derived from the records (`riskledger \
                 verify` checks the records, `riskledger replay` rebuilds everything)"
            );
        }
        let status = if agree {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(crate::EXIT_NO)
        };
        (rederived, status)
    } else {
        (ledger.dossier(account, as_of)?, ExitCode::SUCCESS)
    };
    if json {
        print_json(&dossier)?;
        return Ok(status);
    }
    println!(
        "account {}  level {}  as of {}",
        dossier.account,
        dossier.level,
        dossier.as_of.as_deref().unwrap_or("-")
    );
    println!("policy  {}", dossier.policy_digest);
    match &dossier.signals {
        Some(signals) => {
            println!("\nsignals");
            print!(
                "{}",
                render_accounts::accounts_table(std::slice::from_ref(signals))
            );
            for signal in &signals.signals {
                println!("  {}", serde_json::to_string(signal)?);
            }
        }
        None => println!("\nno events of this account by then"),
    }
    println!("\npairs");
    print!("{}", render_pairs::pairs_table(&dossier.pairs));
    for pair in &dossier.pairs {
        for signal in &pair.signals {
            println!(
                "  {} / {}: {}",
                pair.client,
                pair.freelancer,
                serde_json::to_string(signal)?
            );
        }
    }
    if from_log {
        let verdict = if status == ExitCode::SUCCESS {
            "agrees with"
        } else {
            "DIFFERS from"
        };
        println!("\nre-derived from its records in the log: {verdict} the kept state");
    }
    Ok(status)
}

pub fn replay(
    data: &Path,
    policy: Policy,
    until_seq: Option<u64>,
    as_of: Option<Timestamp>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let (replay, books) = riskledger::replay(data, &policy, until_seq, as_of)
        .with_context(|| format!("replaying the ledger at {}", data.display()))?;
    // The process ends next, and the kernel takes the books back at once: freeing them an
    // allocation at a time would take half a second at 10M events.
    std::mem::forget(books);
    if json {
        print_json(&replay)?;
    } else {
        println!(
            "events {}  head_seq {}  state_digest {}",
            replay.events, replay.head_seq, replay.state_digest
        );
    }
    Ok(ExitCode::SUCCESS)
}
