//! The labels against the ledger: generate a history, ingest it into a ledger, reopen it,
//! evaluate at `T` (the latest event time) under the default policy, and compare with what the
//! generator says it hid. Precision and recall at `medium` or above must be 1,
//! labelled levels exact, decoys under their ceiling, and everything unlabelled at `none`.

use std::collections::{BTreeMap, BTreeSet};

use riskledger::events::json::parse_line;
use riskledger::{AppendOptions, Ledger, Level};
use riskledger_generator::{generate, Config};
use serde_json::Value;

fn level(text: &str) -> Level {
    Level::parse(text).unwrap_or_else(|| panic!("unknown level {text:?}"))
}

struct Outcome {
    expected: BTreeSet<String>,
    predicted: BTreeSet<String>,
}

impl Outcome {
    fn precision_recall(&self) -> (f64, f64) {
        let hits = self.expected.intersection(&self.predicted).count() as f64;
        let precision = if self.predicted.is_empty() {
            1.0
        } else {
            hits / self.predicted.len() as f64
        };
        let recall = if self.expected.is_empty() {
            1.0
        } else {
            hits / self.expected.len() as f64
        };
        (precision, recall)
    }
}

/// Seeds to check: `DETECTION_SEEDS=1,2,3` (and `DETECTION_ACCOUNTS=N`, `DETECTION_MONTHS=M`)
/// to try more.
fn seeds() -> Vec<u64> {
    std::env::var("DETECTION_SEEDS")
        .map(|text| {
            text.split(',')
                .map(|s| s.trim().parse().expect("a seed"))
                .collect()
        })
        .unwrap_or_else(|_| vec![20_261_122])
}

#[test]
fn the_projections_find_exactly_what_was_hidden() {
    let accounts =
        std::env::var("DETECTION_ACCOUNTS").map_or(2_000, |n| n.parse().expect("a number"));
    for seed in seeds() {
        check_seed(seed, accounts);
    }
}

fn check_seed(seed: u64, accounts: u64) {
    let mut config = Config::new(accounts, seed).with_all_rates_per_100k(500);
    if let Ok(months) = std::env::var("DETECTION_MONTHS") {
        config.months = months.parse().expect("a number of months");
    }
    let mut bytes = Vec::new();
    let mut labels = Vec::new();
    let summary = generate(&config, &mut bytes, Some(&mut labels)).expect("generation succeeds");
    let labels: Value = serde_json::from_slice(&labels).expect("labels are JSON");
    println!(
        "seed {seed}: {} events, T = {}",
        summary.events, summary.evaluated_at
    );

    // Ingest into a real ledger, close it (a snapshot), reopen it: the product's own path.
    let events: Vec<_> = std::str::from_utf8(&bytes)
        .unwrap()
        .lines()
        .enumerate()
        .map(|(i, line)| parse_line(i as u64 + 1, line).expect("a valid line"))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = Ledger::open(dir.path()).unwrap();
    for chunk in events.chunks(4096) {
        let receipt = ledger.append(chunk, &AppendOptions::default()).unwrap();
        assert!(receipt.rejected.is_empty());
    }
    ledger.close().unwrap();
    let ledger = Ledger::open(dir.path()).unwrap();
    assert!(ledger.verify().ok());
    let at = summary.evaluated_at;
    assert_eq!(
        ledger.evaluation_time(None),
        Some(at),
        "T is the latest event time"
    );
    let pair_reports: BTreeMap<(String, String), _> = ledger
        .pairs(None, Level::None)
        .unwrap()
        .into_iter()
        .map(|r| ((r.client.clone(), r.freelancer.clone()), r))
        .collect();
    let account_reports: BTreeMap<String, _> = ledger
        .accounts(None, Level::None)
        .unwrap()
        .into_iter()
        .map(|r| (r.account.clone(), r))
        .collect();

    let mut failures = Vec::new();
    // Which signals each labelled kind produced (printed: shows that decoys do raise the
    // lesser signals a careless detector would act on).
    let mut signals_by_kind: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();

    // Pairs.
    let mut labelled_pairs = BTreeSet::new();
    let mut pair_outcome = Outcome {
        expected: BTreeSet::new(),
        predicted: BTreeSet::new(),
    };
    for label in labels["pairs"].as_array().unwrap() {
        let key = (
            label["client"].as_str().unwrap().to_owned(),
            label["freelancer"].as_str().unwrap().to_owned(),
        );
        let name = format!("{}/{}", key.0, key.1);
        labelled_pairs.insert(key.clone());
        let kind = label["kind"].as_str().unwrap();
        let Some(report) = pair_reports.get(&key) else {
            failures.push(format!("pair {name} ({kind}): no report"));
            continue;
        };
        let seen = signals_by_kind.entry(format!("pair {kind}")).or_default();
        for signal in kinds_of_pair(report) {
            *seen.entry(signal).or_default() += 1;
        }
        if let Some(expected) = label["level"].as_str().map(level) {
            if expected >= Level::Medium {
                pair_outcome.expected.insert(name.clone());
            }
            if report.level != expected {
                failures.push(format!(
                    "pair {name} ({kind}): level {} expected {expected}: {:?}",
                    report.level,
                    kinds_of_pair(report)
                ));
            }
        }
        if let Some(ceiling) = label["max_level"].as_str().map(level) {
            if report.level > ceiling {
                failures.push(format!(
                    "pair {name} ({kind}): decoy at {} above {ceiling}: {:?}",
                    report.level,
                    kinds_of_pair(report)
                ));
            }
        }
        if report.status.as_str() != label["status"].as_str().unwrap() {
            failures.push(format!(
                "pair {name} ({kind}): status {} expected {}",
                report.status.as_str(),
                label["status"]
            ));
        }
    }
    for (key, report) in &pair_reports {
        let name = format!("{}/{}", key.0, key.1);
        if report.level >= Level::Medium {
            pair_outcome.predicted.insert(name.clone());
        }
        if !labelled_pairs.contains(key) && report.level != Level::None {
            failures.push(format!(
                "unlabelled pair {name} at {}: {:?}",
                report.level,
                kinds_of_pair(report)
            ));
        }
    }

    // Accounts.
    let mut labelled_accounts = BTreeSet::new();
    let mut account_outcome = Outcome {
        expected: BTreeSet::new(),
        predicted: BTreeSet::new(),
    };
    for label in labels["accounts"].as_array().unwrap() {
        let account = label["account"].as_str().unwrap().to_owned();
        labelled_accounts.insert(account.clone());
        let kind = label["kind"].as_str().unwrap();
        let Some(report) = account_reports.get(&account) else {
            failures.push(format!("account {account} ({kind}): no report"));
            continue;
        };
        let seen = signals_by_kind
            .entry(format!("account {kind}"))
            .or_default();
        for signal in kinds_of_account(report) {
            *seen.entry(signal).or_default() += 1;
        }
        if let Some(expected) = label["level"].as_str().map(level) {
            if expected >= Level::Medium {
                account_outcome.expected.insert(account.clone());
            }
            if report.level != expected {
                failures.push(format!(
                    "account {account} ({kind}): level {} expected {expected}: {:?}",
                    report.level,
                    kinds_of_account(report)
                ));
            }
        }
        if let Some(ceiling) = label["max_level"].as_str().map(level) {
            if report.level > ceiling {
                failures.push(format!(
                    "account {account} ({kind}): decoy at {} above {ceiling}: {:?}",
                    report.level,
                    kinds_of_account(report)
                ));
            }
        }
    }
    for (account, report) in &account_reports {
        if report.level >= Level::Medium {
            account_outcome.predicted.insert(account.clone());
        }
        if !labelled_accounts.contains(account) && report.level != Level::None {
            failures.push(format!(
                "unlabelled account {account} at {}: {:?}",
                report.level,
                kinds_of_account(report)
            ));
        }
    }

    let (pair_precision, pair_recall) = pair_outcome.precision_recall();
    let (account_precision, account_recall) = account_outcome.precision_recall();
    println!(
        "pairs at medium or above: {} expected, {} found, precision {pair_precision:.2}, recall {pair_recall:.2}",
        pair_outcome.expected.len(),
        pair_outcome.predicted.len()
    );
    println!(
        "accounts at medium or above: {} expected, {} found, precision {account_precision:.2}, recall {account_recall:.2}",
        account_outcome.expected.len(),
        account_outcome.predicted.len()
    );
    for (kind, seen) in &signals_by_kind {
        println!("  {kind}: {seen:?}");
    }
    for failure in failures.iter().take(40) {
        println!("  {failure}");
    }
    assert!(
        failures.is_empty(),
        "{} disagreements (first 40 above)",
        failures.len()
    );
    assert_eq!((pair_precision, pair_recall), (1.0, 1.0));
    assert_eq!((account_precision, account_recall), (1.0, 1.0));
    assert!(pair_outcome.expected.len() >= 30 && account_outcome.expected.len() >= 40);
}

fn kinds_of_pair(report: &riskledger::projections::pairs::PairReport) -> Vec<String> {
    report
        .signals
        .iter()
        .map(|s| format!("{}:{}", s.kind.as_str(), s.level))
        .collect()
}

fn kinds_of_account(report: &riskledger::projections::accounts::AccountReport) -> Vec<String> {
    report
        .signals
        .iter()
        .map(|s| format!("{}:{}", s.kind.as_str(), s.level))
        .collect()
}
