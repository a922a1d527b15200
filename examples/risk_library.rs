//! A small risk-library program: open a ledger, feed it, react to level changes, ask "how
//! risky, and why?", and check that the kept state is the log's own.
//!
//! `cargo run --release --example risk_library [DIR]` (default: a temporary directory).

use riskledger::events::json::parse_line;
use riskledger::{AppendError, AppendOptions, Ledger, Level, Subject, Subscription};

const HISTORY: &[&str] = &[
    r#"{"id":"a1","type":"account_opened","at":"2025-01-02T10:00:00Z","account":"c-1","role":"client","country":"US"}"#,
    r#"{"id":"a2","type":"account_opened","at":"2025-01-03T11:00:00Z","account":"f-1","role":"freelancer","country":"PH"}"#,
    r#"{"id":"k1","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2000}"#,
    r#"{"id":"p1","type":"payment","at":"2025-01-12T08:00:00Z","contract":"k-1","amount_minor":80000,"currency":"USD"}"#,
    r#"{"id":"p2","type":"payment","at":"2025-01-19T08:00:00Z","contract":"k-1","amount_minor":80000,"currency":"USD"}"#,
    r#"{"id":"p3","type":"payment","at":"2025-01-26T08:00:00Z","contract":"k-1","amount_minor":80000,"currency":"USD"}"#,
    r#"{"id":"l1","type":"login","at":"2025-01-27T09:00:00Z","account":"f-1","device":"d-1","ip":"203.0.113.9","lat":14.60,"lon":120.98,"country":"PH"}"#,
    r#"{"id":"l2","type":"login","at":"2025-01-27T10:00:00Z","account":"f-1","device":"d-1","ip":"198.51.100.7","lat":52.52,"lon":13.40,"country":"DE"}"#,
    r#"{"id":"f1","type":"flag_raised","at":"2025-04-01T08:00:00Z","flag":"fl-1","reporter":"f-1","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment","note":"asked to move to bank transfer"}"#,
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let temporary = tempfile::tempdir()?;
    let dir = std::env::args()
        .nth(1)
        .map_or_else(|| temporary.path().to_owned(), Into::into);
    let mut ledger = Ledger::open(&dir)?;
    // A subscriber keeps its position (here from the start); after a restart it resumes from
    // the seq it saved and misses nothing.
    let mut subscription = Subscription::from_seq(1);

    // Feed it: one durable, idempotent batch. Running the program twice appends nothing new.
    let events = HISTORY
        .iter()
        .enumerate()
        .map(|(i, line)| parse_line(i as u64 + 1, line))
        .collect::<Result<Vec<_>, _>>()?;
    let receipt = ledger.append(&events, &AppendOptions::default())?;
    println!(
        "appended {}, duplicates {}, head seq {}",
        receipt.appended, receipt.duplicates, receipt.head.seq
    );

    // React to level changes, each with the record that caused it.
    for change in ledger.poll(&mut subscription) {
        let who = match &change.subject {
            Subject::Account { account } => format!("account {account}"),
            Subject::Pair { client, freelancer } => format!("pair {client}/{freelancer}"),
        };
        println!(
            "seq {}: {who} went from {} to {}",
            change.seq, change.from, change.to
        );
        if change.to == Level::High {
            println!("  -> hold payouts and open a case");
        }
    }
    println!(
        "the subscriber resumes from seq {}",
        subscription.next_seq()
    );

    // A writer that lost a race learns it, instead of overwriting: the expected head.
    let stale = AppendOptions {
        expected_head: Some(0),
        ..AppendOptions::default()
    };
    if let Err(AppendError::HeadMoved { expected, actual }) = ledger.append(&events[..1], &stale) {
        println!("expected head {expected}, but the log is at {actual}: re-read and decide again");
    }

    // How risky, and why? Every signal names the events it rests on.
    if let Some(pair) = ledger.pair("c-1", "f-1", None)? {
        println!(
            "pair c-1/f-1: {} ({}), conversion fee at stake {} {}",
            pair.level,
            pair.status.as_str(),
            pair.conversion_fee_minor,
            pair.currency
        );
        for signal in &pair.signals {
            println!("  {}", serde_json::to_string(signal)?);
        }
    }
    for account in ledger.accounts(None, Level::Low)? {
        println!("account {}: {}", account.account, account.level);
        for signal in &account.signals {
            println!("  {}", serde_json::to_string(signal)?);
        }
    }

    // As of an earlier moment: only the events up to then count.
    let before_flag = riskledger::Timestamp::parse_rfc3339("2025-03-01T00:00:00Z")?;
    let then = ledger
        .pair("c-1", "f-1", Some(before_flag))?
        .map(|p| p.level);
    println!(
        "the same pair on 2025-03-01: {}",
        then.unwrap_or(Level::None)
    );

    // The auditor's check: rebuilding from the log alone gives the state the ledger kept.
    let (replay, _) = ledger.replay(None, None)?;
    assert_eq!(replay.state_digest, ledger.state_digest());
    println!(
        "replay of {} events gives the kept state: {}",
        replay.events, replay.state_digest
    );
    ledger.close()?;
    Ok(())
}
