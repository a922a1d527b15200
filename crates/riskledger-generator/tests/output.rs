//! The generated history: deterministic, valid line by line, accepted by the ledger's
//! reference rules, with unique ids, late logins, and the configured number of labels.

use std::collections::{BTreeMap, HashSet};

use riskledger_events::json::parse_line;
use riskledger_events::refs::References;
use riskledger_events::{Body, Event};
use riskledger_generator::{generate, AccountKind, Config, PairKind, Summary};

fn run(config: &Config) -> (Vec<u8>, Vec<u8>, Summary) {
    let mut events = Vec::new();
    let mut labels = Vec::new();
    let summary = generate(config, &mut events, Some(&mut labels)).expect("generation succeeds");
    (events, labels, summary)
}

fn parse_all(bytes: &[u8]) -> Vec<Event> {
    let text = std::str::from_utf8(bytes).expect("UTF-8");
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            parse_line(i as u64 + 1, line)
                .unwrap_or_else(|e| panic!("line {} does not parse: {e}\n{line}", i + 1))
        })
        .collect()
}

#[test]
fn same_seed_same_bytes_and_another_seed_differs() {
    let seed = 20_261_122;
    let config = Config::new(600, seed);
    let (first, first_labels, _) = run(&config);
    let (second, second_labels, _) = run(&config);
    // BLAKE3 (keyed, through the events crate: blake3 itself is not a dev-dependency here).
    let hasher = riskledger_events::ChainHasher::new();
    let digest = |bytes: &[u8]| {
        riskledger_events::chain::to_hex(&hasher.link(0, &riskledger_events::GENESIS_HASH, bytes))
    };
    println!(
        "seed {seed}: {} bytes, blake3 {}",
        first.len(),
        digest(&first)
    );
    assert_eq!(
        (first.len(), digest(&first)),
        (second.len(), digest(&second))
    );
    assert_eq!(first_labels, second_labels);

    let (other, _, _) = run(&Config::new(600, seed + 1));
    println!(
        "seed {}: {} bytes, blake3 {}",
        seed + 1,
        other.len(),
        digest(&other)
    );
    assert_ne!(digest(&first), digest(&other));
}

#[test]
fn window_length_and_threads_do_not_change_the_output() {
    let mut narrow = Config::new(400, 5);
    narrow.window_days = 1;
    let mut wide = Config::new(400, 5);
    wide.window_days = 30;
    let mut threaded = Config::new(400, 5);
    threaded.threads = 2;
    let expected = run(&narrow).0;
    assert_eq!(expected, run(&wide).0);
    assert_eq!(expected, run(&threaded).0);
}

#[test]
fn every_line_parses_and_passes_the_reference_rules() {
    let config = Config::new(2_000, 7);
    let (bytes, _, summary) = run(&config);
    let events = parse_all(&bytes);
    assert_eq!(events.len() as u64, summary.events);
    assert_eq!(bytes.len() as u64, summary.bytes);

    let mut refs = References::new();
    for (i, event) in events.iter().enumerate() {
        let mut staged = refs.stage();
        if let Err(error) = staged.check(event) {
            panic!("line {} ({}) rejected: {error}", i + 1, event.id);
        }
        let changes = staged.into_changes();
        refs.commit(changes);
    }

    let mut ids = HashSet::new();
    for event in &events {
        assert!(ids.insert(event.id.as_str()), "duplicate id {}", event.id);
    }
    // Every generated line is also the canonical line of its event.
    for (line, event) in std::str::from_utf8(&bytes).unwrap().lines().zip(&events) {
        assert_eq!(line, riskledger_events::json::to_line(event));
    }
    let latest = events.iter().map(|e| e.at).max().unwrap();
    assert_eq!(latest, summary.evaluated_at, "T is the end of the history");
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for event in &events {
        *counts.entry(event.body.type_name()).or_default() += 1;
    }
    println!(
        "{} events, {} bytes, {:?}",
        events.len(),
        bytes.len(),
        counts
    );
    for kind in riskledger_events::EVENT_TYPES {
        assert!(counts.contains_key(kind), "no {kind} event generated");
    }
}

#[test]
fn some_logins_arrive_late() {
    let (bytes, _, summary) = run(&Config::new(1_000, 11));
    let events = parse_all(&bytes);
    let mut latest = None;
    let mut late = 0;
    for event in &events {
        if let (Body::Login { .. }, Some(latest)) = (&event.body, latest) {
            if event.at < latest {
                late += 1;
            }
        }
        latest = latest.max(Some(event.at));
    }
    println!("{late} late logins of {}", events.len());
    assert!(late > 0);
    assert_eq!(late, summary.late_logins);
}

#[test]
fn ids_are_distinct_per_kind_and_clients_differ_from_freelancers() {
    let (bytes, _, _) = run(&Config::new(2_000, 3));
    let events = parse_all(&bytes);
    let mut opened = HashSet::new();
    let mut contracts = HashSet::new();
    let mut flags = HashSet::new();
    for event in &events {
        match &event.body {
            Body::AccountOpened { account, .. } => {
                assert!(opened.insert(account.clone()), "{account} opened twice")
            }
            Body::ContractStarted {
                contract,
                client,
                freelancer,
                ..
            } => {
                assert_ne!(client, freelancer);
                assert!(contracts.insert(contract.clone()));
                assert!(
                    opened.contains(client) && opened.contains(freelancer),
                    "{contract} names unknown accounts"
                );
            }
            Body::FlagRaised { flag, .. } => assert!(flags.insert(flag.clone())),
            Body::Login { account, .. } | Body::PayoutMethodChanged { account, .. } => {
                assert!(
                    opened.contains(account),
                    "{account} acts before it was opened"
                )
            }
            _ => {}
        }
    }
    assert_eq!(opened.len(), 2_000);
}

#[test]
fn label_counts_are_as_configured() {
    let config = Config::new(4_000, 99);
    let (_, labels, summary) = run(&config);
    let labels: serde_json::Value = serde_json::from_slice(&labels).expect("labels are JSON");
    assert_eq!(labels["seed"], 99);
    assert_eq!(labels["evaluated_at"], summary.evaluated_at.to_rfc3339());

    let cases = |list: &str, kind: &str| -> usize {
        let mut seen: Vec<u64> = labels[list]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["kind"] == kind)
            .map(|l| l["case"].as_u64().unwrap())
            .collect();
        seen.sort();
        seen.dedup();
        seen.len()
    };
    for &kind in PairKind::ALL {
        let expected = config.pair_cases(kind);
        assert!(expected > 0, "{kind:?}: no case at this size");
        assert_eq!(cases("pairs", kind.as_str()) as u64, expected, "{kind:?}");
        assert_eq!(labels["counts"]["pair_cases"][kind.as_str()], expected);
    }
    for &kind in AccountKind::ALL {
        let expected = config.account_cases(kind);
        assert!(expected > 0, "{kind:?}: no case at this size");
        assert_eq!(
            cases("accounts", kind.as_str()) as u64,
            expected,
            "{kind:?}"
        );
    }
    assert_eq!(
        labels["pairs"].as_array().unwrap().len() as u64,
        summary.labelled_pairs
    );
    assert_eq!(
        labels["accounts"].as_array().unwrap().len() as u64,
        summary.labelled_accounts
    );

    // Pairs are one per case; a farm has 3 to 6 accounts, a shared device 2.
    let farms = labels["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["kind"] == "device_farm")
        .count() as u64;
    let farm_cases = config.account_cases(AccountKind::DeviceFarm);
    assert!((3 * farm_cases..=6 * farm_cases).contains(&farms));

    // Rates of zero give no labels at all.
    let quiet = Config::new(1_000, 99).with_all_rates_per_100k(0);
    let (_, quiet_labels, quiet_summary) = run(&quiet);
    assert_eq!(
        (
            quiet_summary.labelled_pairs,
            quiet_summary.labelled_accounts
        ),
        (0, 0)
    );
    let quiet_labels: serde_json::Value = serde_json::from_slice(&quiet_labels).unwrap();
    assert!(quiet_labels["pairs"].as_array().unwrap().is_empty());
}

#[test]
fn tiny_and_empty_histories_work() {
    for accounts in [0, 1, 2, 17] {
        let (bytes, _, summary) = run(&Config::new(accounts, 1));
        let events = parse_all(&bytes);
        assert_eq!(events.len() as u64, summary.events);
    }
}

#[test]
fn bad_configurations_are_refused() {
    let mut config = Config::new(10, 1);
    config.months = 30;
    assert!(generate(&config, &mut Vec::new(), None).is_err());
    let crowded = Config::new(100, 1).with_all_rates_per_100k(20_000);
    assert!(generate(&crowded, &mut Vec::new(), None).is_err());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 8, ..Default::default() })]

    /// Any seed, size and history length gives lines that parse, pass the reference rules in
    /// arrival order, and end at `T`.
    #[test]
    fn any_configuration_gives_a_valid_history(
        seed in proptest::prelude::any::<u64>(),
        accounts in 0u64..400,
        months in 6u32..=24,
        late in 0u32..200,
    ) {
        let mut config = Config::new(accounts, seed).with_all_rates_per_100k(1_000);
        config.months = months;
        config.late_login_per_mille = late;
        let (bytes, _, summary) = run(&config);
        let events = parse_all(&bytes);
        let mut refs = References::new();
        for event in &events {
            let mut staged = refs.stage();
            proptest::prop_assert!(staged.check(event).is_ok(), "{} rejected", event.id);
            let changes = staged.into_changes();
            refs.commit(changes);
        }
        if accounts > 0 {
            proptest::prop_assert_eq!(events.iter().map(|e| e.at).max(), Some(summary.evaluated_at));
        }
    }
}
