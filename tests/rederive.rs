//! Re-deriving one account from the log (`Ledger::rederive`): the account's records and its
//! cluster's, found through the finder, give the dossier the kept state gives, at every `T`,
//! after appends in any batches, across a snapshot and its tail. proptest prints failing seeds.

mod support;

use proptest::prelude::*;
use riskledger::events::{json::parse_line, Name, NameKind};
use riskledger::{AppendOptions, Books, Event, Ledger, LedgerOptions, Policy, Timestamp};

use support::{history, history_spread, resolve_open_flag, Rng};

fn options() -> LedgerOptions {
    LedgerOptions {
        policy: Policy::default(),
        snapshot_every_events: u64::MAX,
    }
}

fn append_in(ledger: &mut Ledger, events: &[Event], batch: usize) {
    for chunk in events.chunks(batch.max(1)) {
        ledger.append(chunk, &AppendOptions::default()).unwrap();
    }
}

/// Every account the support histories use, and one that never appears.
fn accounts() -> Vec<String> {
    (0..12)
        .flat_map(|n| [format!("c{n}"), format!("f{n}")])
        .chain(["nobody".to_owned()])
        .collect()
}

/// Evaluation times spread over the history: before it, inside it, and the default.
fn times(events: &[Event]) -> Vec<Option<Timestamp>> {
    let mut at: Vec<i64> = events.iter().map(|e| e.at.as_micros()).collect();
    at.sort_unstable();
    let mut times = vec![None, Some(Timestamp(at[0] - 1))];
    times.extend([at.len() / 3, at.len() / 2, at.len() - 1].map(|i| Some(Timestamp(at[i]))));
    times
}

/// The client–freelancer pairs of the support histories, and some that never met.
fn pairs() -> Vec<(String, String)> {
    let freelancers = || {
        (0..12)
            .map(|n| format!("f{n}"))
            .chain(["nobody".to_owned()])
    };
    (0..12)
        .flat_map(|n| freelancers().map(move |f| (format!("c{n}"), f)))
        .collect()
}

/// Every account's re-derived dossier and every pair's re-derived report equal the kept ones,
/// at every time of [`times`], and equal those of books folded from every event and never
/// compacted: before the horizon the ledger's own answer is itself re-derived, so only the
/// whole books can show that the re-derivation is right there.
fn assert_rederived_equals_kept(
    ledger: &Ledger,
    events: &[Event],
    accounts: &[String],
    pairs: &[(String, String)],
) -> Result<(), TestCaseError> {
    let mut whole = Books::new();
    events.iter().for_each(|event| whole.apply(event));
    let policy = ledger.policy();
    for at in times(events) {
        let t = ledger.evaluation_time(at).unwrap();
        for account in accounts {
            let dossier = ledger.rederive(account, at).unwrap();
            let rederived = serde_json::to_string(&dossier).unwrap();
            let kept = serde_json::to_string(&ledger.dossier(account, at).unwrap()).unwrap();
            prop_assert_eq!(&rederived, &kept, "account {} at {:?}", account, at);
            let signals = whole.accounts().report(&policy.accounts, account, t);
            prop_assert_eq!(
                &dossier.signals,
                &signals,
                "account {} at {:?}",
                account,
                at
            );
            let account_pairs = whole.pairs().reports_for_account(&policy.pairs, account, t);
            prop_assert_eq!(
                &dossier.pairs,
                &account_pairs,
                "account {} at {:?}",
                account,
                at
            );
        }
        for (client, freelancer) in pairs {
            let rederived = ledger.rederive_pair(client, freelancer, at).unwrap();
            let kept = ledger.pair(client, freelancer, at).unwrap();
            let context = format!("pair {client} {freelancer} at {at:?}");
            prop_assert_eq!(&rederived, &kept, "{}", context);
            let exact = whole.pairs().report(&policy.pairs, client, freelancer, t);
            prop_assert_eq!(&rederived, &exact, "{}", context);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Dense histories (12 clients, 12 freelancers, 15 devices: large clusters) over several
    /// ranges of the finder, appended in random batches, with a snapshot somewhere.
    #[test]
    fn rederived_dossiers_equal_the_kept_ones(
        seed in any::<u64>(),
        n in 20usize..2_600,
        batch in 1usize..700,
        snapshot_at in 0usize..2_600,
    ) {
        let events = history(seed, n);
        let snapshot_at = snapshot_at.min(n);
        let dir = tempfile::tempdir().unwrap();
        {
            let mut ledger = Ledger::open_with(dir.path(), options()).unwrap();
            append_in(&mut ledger, &events[..snapshot_at], batch);
            ledger.snapshot().unwrap();
            append_in(&mut ledger, &events[snapshot_at..], batch);
            assert_rederived_equals_kept(&ledger, &events, &accounts(), &pairs())?;
        }
        // Reopened: the finder comes from the snapshot and the tail.
        let reopened = Ledger::open_with(dir.path(), options()).unwrap();
        prop_assert_eq!(reopened.snapshot_seq(), snapshot_at as u64);
        assert_rederived_equals_kept(&reopened, &events, &accounts(), &pairs())?;
    }
}

/// Spread-out histories cross the 30-day device window, the 60-day payment gap and the
/// 24-month window; one fixed seed, printed.
#[test]
fn rederived_dossiers_equal_the_kept_ones_over_years() {
    const SEED: u64 = 0x5eed_4ede_41fe_0001;
    println!("seed {SEED:#x}");
    let events = history_spread(SEED, 3_000, 40_000);
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = Ledger::open_with(dir.path(), options()).unwrap();
    append_in(&mut ledger, &events, 250);
    assert_rederived_equals_kept(&ledger, &events, &accounts(), &pairs()).unwrap();
}

/// `records_naming` finds exactly the records that name the subject, whatever range they are
/// in, and none of another kind with the same text.
#[test]
fn records_naming_finds_exactly_the_subjects_records() {
    let line = |n: u64, text: String| parse_line(n, &text).unwrap();
    let events: Vec<Event> = (1..=5_000u64)
        .map(|n| {
            let (account, device) = if n % 1_700 == 3 {
                ("solo".to_owned(), "x".to_owned())
            } else {
                (format!("a{n}"), format!("d{n}"))
            };
            line(n, format!(
                r#"{{"id":"l{n}","type":"login","at":"2025-01-01T00:00:00Z","account":"{account}","device":"{device}","ip":"10.0.0.1","lat":1.0,"lon":2.0,"country":"PH"}}"#
            ))
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = Ledger::open_with(dir.path(), options()).unwrap();
    append_in(&mut ledger, &events, 1_000);
    let seqs = |name: Name<'_>| -> Vec<u64> {
        ledger
            .records_naming(name)
            .unwrap()
            .iter()
            .map(|r| r.seq)
            .collect()
    };
    assert_eq!(seqs(Name::account("solo")), [3, 1_703, 3_403]);
    let device = |id| Name {
        kind: NameKind::Device,
        id,
    };
    assert_eq!(seqs(device("x")), [3, 1_703, 3_403]);
    assert_eq!(seqs(device("solo")), Vec::<u64>::new());
    assert_eq!(seqs(Name::account("a4999")), [4_999]);
}

/// A history made to trip a re-derivation: the same texts (`x0`, `x1`, … `x139`) name
/// accounts, devices, contracts, flags and events, and are substrings of one another; both
/// roles sign in, change payouts and report; flags come from the system or an account, with
/// or without a counterparty; logins go through every kind of network; each account keeps to
/// its own devices but sometimes borrows another's, so clusters are sparse.
fn tangled_history(seed: u64, n: usize) -> Vec<Event> {
    let mut rng = Rng::new(seed);
    let mut next = move |bound: u64| rng.below(bound);
    let mut lines = Vec::new();
    let mut contracts: Vec<u64> = Vec::new();
    let mut flags: Vec<(u64, bool)> = Vec::new();
    for a in 0..30u64 {
        let role = if a < 15 { "client" } else { "freelancer" };
        lines.push(format!(
            r#"{{"id":"x{}","type":"account_opened","at":"2025-01-01T00:00:00Z","account":"x{a}","role":"{role}","country":"PH"}}"#,
            100_000 + a
        ));
    }
    for i in 0..n as u64 {
        let at = Timestamp(
            1_735_776_000_000_000 + (i as i64 * 7_200 + next(400_000) as i64) * 1_000_000,
        )
        .to_rfc3339();
        let account = next(30);
        let line = match next(12) {
            0 => {
                let (client, freelancer) = (next(15), 15 + next(15));
                contracts.push(i);
                format!(
                    r#"{{"id":"x{i}","type":"contract_started","at":"{at}","contract":"x{i}","client":"x{client}","freelancer":"x{freelancer}","currency":"USD","kind":"hourly","rate_minor":{}}}"#,
                    1_000 + next(4_000)
                )
            }
            1 | 2 if !contracts.is_empty() => format!(
                r#"{{"id":"x{i}","type":"payment","at":"{at}","contract":"x{}","amount_minor":{},"currency":"USD"}}"#,
                contracts[next(contracts.len() as u64) as usize],
                1 + next(90_000)
            ),
            3 => {
                flags.push((i, false));
                let reporter = if next(2) == 0 {
                    "system".to_owned()
                } else {
                    format!("x{}", next(30))
                };
                let counterparty = match next(3) {
                    0 => String::new(),
                    _ => format!(r#","counterparty":"x{}""#, next(30)),
                };
                let reason = ["off_platform_payment", "contact_info", "other"][next(3) as usize];
                format!(
                    r#"{{"id":"x{i}","type":"flag_raised","at":"{at}","flag":"x{i}","reporter":"{reporter}","subject":"x{}"{counterparty},"reason":"{reason}"}}"#,
                    next(30)
                )
            }
            4 if flags.iter().any(|(_, resolved)| !resolved) => {
                let (raised, outcome) = resolve_open_flag(&mut flags, &mut next);
                format!(
                    r#"{{"id":"x{i}","type":"flag_resolved","at":"{at}","flag":"x{raised}","outcome":"{outcome}"}}"#
                )
            }
            5 => format!(
                r#"{{"id":"x{i}","type":"payout_method_changed","at":"{at}","account":"x{account}","method":"x{}","country":"{}"}}"#,
                next(5),
                ["PH", "US", "GB"][next(3) as usize]
            ),
            6 if contracts.len() > 1 && next(4) == 0 => {
                let contract = contracts[next(contracts.len() as u64) as usize];
                format!(
                    r#"{{"id":"x{i}","type":"contract_ended","at":"{at}","contract":"x{contract}","outcome":"completed"}}"#
                )
            }
            7 if next(6) == 0 => format!(
                r#"{{"id":"x{i}","type":"prior_relationship_proven","at":"{at}","client":"x{}","freelancer":"x{}","since":"2020-03-01"}}"#,
                next(15),
                15 + next(15)
            ),
            _ => {
                // Mostly one of the account's own three devices, sometimes anyone's.
                let device = if next(8) == 0 {
                    next(140)
                } else {
                    account * 4 + next(3)
                };
                let (country, lat, lon) =
                    [("PH", 14.6, 121.0), ("US", 40.7, -74.0), ("GB", 51.5, -0.1)]
                        [next(3) as usize];
                let network = [
                    "",
                    r#","network":"vpn""#,
                    r#","network":"mobile""#,
                    r#","network":"residential""#,
                ][next(4) as usize];
                format!(
                    r#"{{"id":"x{i}","type":"login","at":"{at}","account":"x{account}","device":"x{device}","ip":"10.0.0.1","lat":{lat},"lon":{lon},"country":"{country}"{network}}}"#
                )
            }
        };
        lines.push(line);
    }
    // A contract can end only once, and before the history's end it may have ended twice
    // above: keep the first end of each.
    let mut ended = std::collections::HashSet::new();
    lines
        .iter()
        .filter(|line| {
            !line.contains("contract_ended")
                || ended.insert(
                    line.split("\"contract\":\"")
                        .nth(1)
                        .map(|s| s.split('"').next().unwrap().to_owned()),
                )
        })
        .enumerate()
        .map(|(n, line)| parse_line(n as u64 + 1, line).unwrap())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    #[test]
    fn rederived_answers_equal_the_kept_ones_when_names_collide(
        seed in any::<u64>(),
        n in 50usize..1_500,
        batch in 1usize..400,
    ) {
        let events = tangled_history(seed, n);
        let dir = tempfile::tempdir().unwrap();
        let mut ledger = Ledger::open_with(dir.path(), options()).unwrap();
        append_in(&mut ledger, &events, batch);
        // Every ordered pair: clients and freelancers both ways round, and an account with itself.
        let accounts: Vec<String> = (0..30).map(|a| format!("x{a}")).collect();
        let pairs: Vec<(String, String)> = accounts
            .iter()
            .flat_map(|a| accounts.iter().map(move |b| (a.clone(), b.clone())))
            .collect();
        assert_rederived_equals_kept(&ledger, &events, &accounts, &pairs)?;
    }
}
