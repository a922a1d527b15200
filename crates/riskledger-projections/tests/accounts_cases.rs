//! Section 2 of `spec/policy.md` (leased, shared or sold accounts), tested as data.
//!
//! Each file in `tests/cases/accounts/` holds NDJSON events (one JSON object each, in the
//! order they are applied) and checks: at an `as_of` time, the expected level and signals of
//! some accounts. Every account a check does not name must be at level `none` with no signal.
//! Expected signals are listed in full (their number and order are checked), each with the
//! fields that matter (a subset of the reported ones, compared exactly). Every case is also
//! run with its events applied in reverse order, which must give the same bytes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use riskledger_events::{json::parse_line, Body, Event, Timestamp};
use riskledger_projections::accounts::{AccountBook, AccountReport, Figures};
use riskledger_projections::geo::{haversine_km, Point};
use riskledger_projections::policy::AccountPolicy;
use riskledger_projections::Level;
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    description: String,
    events: Vec<Value>,
    checks: Vec<Check>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Check {
    as_of: String,
    accounts: BTreeMap<String, Expected>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    level: Level,
    signals: Vec<serde_json::Map<String, Value>>,
}

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/accounts")
}

fn load_events(case: &Case, name: &str) -> Vec<Event> {
    case.events
        .iter()
        .enumerate()
        .map(|(i, value)| {
            let line = serde_json::to_string(value).unwrap();
            parse_line(i as u64 + 1, &line).unwrap_or_else(|e| panic!("{name}: {e}"))
        })
        .collect()
}

fn book_of<'a>(events: impl IntoIterator<Item = &'a Event>) -> AccountBook {
    let mut book = AccountBook::new();
    events.into_iter().for_each(|event| book.apply(event));
    book
}

fn digest(book: &AccountBook) -> blake3::Hash {
    let mut hasher = blake3::Hasher::new();
    book.digest_into(&mut hasher);
    hasher.finalize()
}

/// The accounts the events name, and one they do not.
fn account_names(events: &[Event]) -> Vec<String> {
    let mut names: Vec<String> = events
        .iter()
        .filter_map(|event| match &event.body {
            Body::Login { account, .. }
            | Body::AccountOpened { account, .. }
            | Body::PayoutMethodChanged { account, .. } => Some(account.clone()),
            _ => None,
        })
        .collect();
    names.push("no-such-account".to_string());
    names.sort_unstable();
    names.dedup();
    names
}

/// The cluster by its definition over reports: the account and every account reachable along
/// the `other_accounts` of `shared_device` signals; empty when the account has no report.
fn cluster_from_reports(
    book: &AccountBook,
    policy: &AccountPolicy,
    account: &str,
    at: Timestamp,
) -> Vec<String> {
    if book.report(policy, account, at).is_none() {
        return Vec::new();
    }
    let mut seen = BTreeSet::from([account.to_string()]);
    let mut to_visit = vec![account.to_string()];
    while let Some(current) = to_visit.pop() {
        let Some(report) = book.report(policy, &current, at) else {
            continue;
        };
        for signal in &report.signals {
            if let Figures::SharedDevice(figures) = &signal.figures {
                for other in &figures.other_accounts {
                    if seen.insert(other.clone()) {
                        to_visit.push(other.clone());
                    }
                }
            }
        }
    }
    seen.into_iter().collect()
}

/// `level()` and `cluster()` of every account against its report at `at`: the same level, and
/// the cluster a walk over the reports finds.
fn level_and_cluster_failures(
    context: &str,
    book: &AccountBook,
    policy: &AccountPolicy,
    accounts: &[String],
    at: Timestamp,
) -> Vec<String> {
    let mut failures = Vec::new();
    for account in accounts {
        let from_report = book.report(policy, account, at).map(|r| r.level);
        let level = book.level(policy, account, at);
        if level != from_report {
            failures.push(format!(
                "{context} at {at} account {account}: level() {level:?}, report {from_report:?}"
            ));
        }
        let cluster = book.cluster(policy, account, at);
        let expected = cluster_from_reports(book, policy, account, at);
        if cluster != expected {
            failures.push(format!(
                "{context} at {at} account {account}: cluster() {cluster:?}, reports {expected:?}"
            ));
        }
    }
    failures
}

fn run_check(name: &str, book: &AccountBook, check: &Check) -> Vec<String> {
    let policy = AccountPolicy::default();
    let at = Timestamp::parse_rfc3339(&check.as_of).unwrap();
    let reports = book.reports(&policy, at, Level::None);
    let mut failures = Vec::new();
    for report in &reports {
        let context = format!("{name} as of {} account {}", check.as_of, report.account);
        match check.accounts.get(&report.account) {
            Some(expected) => failures.extend(compare(&context, report, expected)),
            None if report.level != Level::None || !report.signals.is_empty() => {
                failures.push(format!(
                    "{context}: expected nothing, got {}",
                    serde_json::to_string(report).unwrap()
                ))
            }
            None => {}
        }
    }
    for account in check.accounts.keys() {
        if !reports.iter().any(|r| &r.account == account) {
            failures.push(format!(
                "{name} as of {}: no report for {account}",
                check.as_of
            ));
        }
    }
    failures
}

fn compare(context: &str, report: &AccountReport, expected: &Expected) -> Vec<String> {
    let actual = serde_json::to_value(report).unwrap();
    let mut failures = Vec::new();
    if report.level != expected.level {
        failures.push(format!(
            "{context}: level {} != expected {}",
            report.level, expected.level
        ));
    }
    let signals = actual["signals"].as_array().unwrap();
    if signals.len() != expected.signals.len() {
        failures.push(format!(
            "{context}: {} signals, expected {}: {}",
            signals.len(),
            expected.signals.len(),
            serde_json::to_string_pretty(&actual["signals"]).unwrap()
        ));
        return failures;
    }
    for (index, (got, want)) in signals.iter().zip(&expected.signals).enumerate() {
        for (field, value) in want {
            if got.get(field) != Some(value) {
                failures.push(format!(
                    "{context}: signal {index} field {field}: got {}, expected {value}",
                    got.get(field)
                        .map_or("nothing".to_string(), Value::to_string)
                ));
            }
        }
    }
    failures
}

#[test]
fn accounts_cases_from_data() {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    assert!(
        paths.len() >= 10,
        "cases missing in {}",
        cases_dir().display()
    );
    let mut failures = Vec::new();
    for path in &paths {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let case: Case = serde_json::from_str(&std::fs::read_to_string(path).unwrap())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            !case.description.is_empty() && !case.checks.is_empty(),
            "{name}"
        );
        let events = load_events(&case, &name);
        let forward = book_of(&events);
        let backward = book_of(events.iter().rev());
        assert_eq!(
            digest(&forward),
            digest(&backward),
            "{name}: digest depends on arrival order"
        );
        // `level()` and `cluster()` agree with the reports at every checked time and at every
        // event's time, in both books.
        let names = account_names(&events);
        let mut times: Vec<Timestamp> = events.iter().map(|e| e.at).collect();
        times.extend(
            case.checks
                .iter()
                .map(|c| Timestamp::parse_rfc3339(&c.as_of).unwrap()),
        );
        for at in times {
            for (book, order) in [(&forward, "forward"), (&backward, "backward")] {
                let context = format!("{name} ({order})");
                let policy = AccountPolicy::default();
                failures.extend(level_and_cluster_failures(
                    &context, book, &policy, &names, at,
                ));
            }
        }
        for check in &case.checks {
            failures.extend(run_check(&name, &forward, check));
            let at = Timestamp::parse_rfc3339(&check.as_of).unwrap();
            let policy = AccountPolicy::default();
            let bytes = |book: &AccountBook| {
                serde_json::to_string(&book.reports(&policy, at, Level::None)).unwrap()
            };
            assert_eq!(
                bytes(&forward),
                bytes(&backward),
                "{name}: JSON depends on arrival order"
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Test 3 of the brief, on its own: the arrival login of a flight is applied before the last
/// login at home. Sorted by event time, no pair is faster than an airliner.
#[test]
fn late_home_login_is_placed_where_it_happened() {
    let lines = [
        r#"{"id":"h1","type":"login","at":"2025-03-01T08:00:00Z","account":"a","device":"d","ip":"10.0.0.1","lat":51.5074,"lon":-0.1278,"country":"GB"}"#,
        r#"{"id":"ny","type":"login","at":"2025-03-01T17:00:00Z","account":"a","device":"d","ip":"10.0.0.1","lat":40.7128,"lon":-74.006,"country":"US"}"#,
        r#"{"id":"h2","type":"login","at":"2025-03-01T10:00:00Z","account":"a","device":"d","ip":"10.0.0.1","lat":51.5074,"lon":-0.1278,"country":"GB"}"#,
    ];
    let events: Vec<Event> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| parse_line(i as u64 + 1, l).unwrap())
        .collect();
    let book = book_of(&events);
    let at = Timestamp::parse_rfc3339("2025-03-02T00:00:00Z").unwrap();
    let report = book.report(&AccountPolicy::default(), "a", at).unwrap();
    assert_eq!(
        report.level,
        Level::None,
        "{}",
        serde_json::to_string(&report).unwrap()
    );
    assert!(report.signals.is_empty());
    // The same flight leaving at 16:00 instead of 10:00 would be impossible: the test can fail.
    let mut fast = events.clone();
    fast[2].at = Timestamp::parse_rfc3339("2025-03-01T16:00:00Z").unwrap();
    let report = book_of(&fast)
        .report(&AccountPolicy::default(), "a", at)
        .unwrap();
    assert_eq!(report.level, Level::High);
    assert_eq!(
        report.signals[0].events,
        vec!["h2".to_string(), "ny".to_string()]
    );
}

/// Test 2 of the brief: the haversine distance between real cities is within 0.5% of the
/// WGS-84 geodesic. The geodesic distances were computed once with the Python package
/// `geographiclib` 2.x (`Geodesic.WGS84.Inverse(lat1, lon1, lat2, lon2)["s12"]`, in km,
/// rounded to 1 m) for exactly these coordinates.
#[test]
fn haversine_is_within_half_a_percent_of_the_geodesic() {
    let cities = [
        (
            "London - New York",
            (51.5074, -0.1278),
            (40.7128, -74.0060),
            5_585.234,
        ),
        (
            "Sydney - Los Angeles",
            (-33.8688, 151.2093),
            (34.0522, -118.2437),
            12_063.119,
        ),
        (
            "Manila - Singapore",
            (14.5995, 120.9842),
            (1.3521, 103.8198),
            2_389.649,
        ),
        (
            "Paris - Berlin",
            (48.8566, 2.3522),
            (52.5200, 13.4050),
            879.699,
        ),
        (
            "Tokyo - Sao Paulo",
            (35.6762, 139.6503),
            (-23.5505, -46.6333),
            18_533.548,
        ),
    ];
    let radius_km = AccountPolicy::default().earth_radius_km;
    for (name, a, b, geodesic_km) in cities {
        let d = haversine_km(Point::new(a.0, a.1), Point::new(b.0, b.1), radius_km);
        let back = haversine_km(Point::new(b.0, b.1), Point::new(a.0, a.1), radius_km);
        let error = (d - geodesic_km).abs() / geodesic_km;
        assert!(
            error < 0.005,
            "{name}: haversine {d:.3} km vs geodesic {geodesic_km} km"
        );
        assert!((d - back).abs() < 1e-9, "{name}: not symmetric");
    }
}

/// Test 4 of the brief: arrival order, as-of and clusters, as properties over random
/// histories. Failing inputs are shrunk and printed by proptest (with the seed it saves in
/// `proptest-regressions/`).
mod properties {
    use std::collections::{BTreeMap, BTreeSet};

    use proptest::prelude::*;
    use riskledger_events::{Body, Country, Event, Ip, Network, Role, Timestamp};
    use riskledger_projections::accounts::{AccountBook, Figures};
    use riskledger_projections::policy::AccountPolicy;
    use riskledger_projections::Level;

    use super::{account_names, book_of, digest, level_and_cluster_failures};

    const HOUR_MICROS: i64 = 3_600_000_000;
    const BASE_MICROS: i64 = 1_740_000_000_000_000;
    const CITIES: [(f64, f64, &str); 4] = [
        (51.5, -0.12, "GB"),
        (40.71, -74.0, "US"),
        (14.6, 120.98, "PH"),
        (48.85, 2.35, "FR"),
    ];

    fn account_name(i: usize) -> String {
        format!("acct-{i}")
    }

    /// A login: account, device, hour (over `days`, half of them in the first 3 so that one
    /// account often logs in on one device several times a day), city, whether through a VPN.
    fn login(days: i64) -> impl Strategy<Value = (usize, usize, i64, usize, bool)> {
        (
            0..8usize,
            0..5usize,
            prop_oneof![0..(days * 24), 0..(3 * 24i64)],
            0..4usize,
            proptest::bool::weighted(0.2),
        )
    }

    fn history() -> impl Strategy<Value = (Vec<Event>, Vec<Event>, i64)> {
        history_over(20, false)
    }

    /// Events over `days`, in time order and shuffled, and a time within them. Accounts are
    /// opened before the first login, or, with `opened_late`, sometimes anywhere in the span.
    fn history_over(
        days: i64,
        opened_late: bool,
    ) -> impl Strategy<Value = (Vec<Event>, Vec<Event>, i64)> {
        let logins = proptest::collection::vec(login(days), 1..80);
        let opened_hour = if opened_late {
            prop_oneof![3 => Just(-1), 1 => 0..(days * 24)].boxed()
        } else {
            Just(-1).boxed()
        };
        let opened =
            proptest::collection::vec((0..8usize, 0..3usize, 0..4usize, opened_hour), 0..8);
        let payouts = proptest::collection::vec((0..8usize, 0..(days * 24), 0..4usize), 0..6);
        (logins, opened, payouts)
            .prop_map(|(logins, opened, payouts)| {
                let mut events = Vec::new();
                for (n, (account, device, hour, city, vpn)) in logins.into_iter().enumerate() {
                    let (lat, lon, country) = CITIES[city];
                    events.push(Event {
                        id: format!("l{n:03}"),
                        at: Timestamp(
                            BASE_MICROS + hour * HOUR_MICROS + (n as i64 % 7) * 60_000_000,
                        ),
                        body: Body::Login {
                            account: account_name(account),
                            device: format!("dev-{device}"),
                            ip: Ip::V4([10, 0, 0, 1]),
                            lat,
                            lon,
                            country: Country::parse(country).unwrap(),
                            accuracy_km: 50.0,
                            network: vpn.then_some(Network::Vpn),
                        },
                    });
                }
                for (n, (account, role, city, hour)) in opened.into_iter().enumerate() {
                    let hour = if hour < 0 { -(n as i64) } else { hour };
                    events.push(Event {
                        id: format!("o{n:03}"),
                        at: Timestamp(BASE_MICROS + HOUR_MICROS * hour),
                        body: Body::AccountOpened {
                            account: account_name(account),
                            role: Role::ALL[role],
                            country: Country::parse(CITIES[city].2).unwrap(),
                        },
                    });
                }
                for (n, (account, hour, city)) in payouts.into_iter().enumerate() {
                    events.push(Event {
                        id: format!("p{n:03}"),
                        at: Timestamp(BASE_MICROS + hour * HOUR_MICROS),
                        body: Body::PayoutMethodChanged {
                            account: account_name(account),
                            method: format!("m{n}"),
                            country: Country::parse(CITIES[city].2).unwrap(),
                        },
                    });
                }
                events
            })
            .prop_flat_map(move |mut events| {
                events.sort_by_key(|e| e.at);
                let shuffled = Just(events.clone()).prop_shuffle();
                (Just(events), shuffled, 0..((days + 1) * 24))
            })
            .prop_map(|(events, shuffled, hour)| {
                (events, shuffled, BASE_MICROS + hour * HOUR_MICROS)
            })
    }

    fn policy_with_window(window_days: i64) -> AccountPolicy {
        AccountPolicy {
            shared_device_window_days: window_days,
            ..AccountPolicy::default()
        }
    }

    fn reports_json(book: &AccountBook, policy: &AccountPolicy, at: i64) -> String {
        serde_json::to_string(&book.reports(policy, Timestamp(at), Level::None)).unwrap()
    }

    /// Clusters and device links straight from the definition, over every login (no
    /// compaction): every pair of logins of two accounts on one device within the window.
    fn naive_shared(
        events: &[Event],
        at: i64,
        window_days: i64,
    ) -> BTreeMap<String, (usize, BTreeMap<String, BTreeSet<String>>)> {
        let window = window_days * 24 * HOUR_MICROS;
        let logins: Vec<(&str, &str, i64)> = events
            .iter()
            .filter(|e| e.at.0 <= at)
            .filter_map(|e| match &e.body {
                Body::Login {
                    account, device, ..
                } => Some((account.as_str(), device.as_str(), e.at.0)),
                _ => None,
            })
            .collect();
        let mut neighbours: BTreeMap<&str, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
        for (i, a) in logins.iter().enumerate() {
            for b in &logins[i + 1..] {
                if a.1 == b.1 && a.0 != b.0 && (a.2 - b.2).abs() <= window {
                    neighbours
                        .entry(a.0)
                        .or_default()
                        .entry(a.1.to_string())
                        .or_default()
                        .insert(b.0.to_string());
                    neighbours
                        .entry(b.0)
                        .or_default()
                        .entry(b.1.to_string())
                        .or_default()
                        .insert(a.0.to_string());
                }
            }
        }
        let mut result = BTreeMap::new();
        for (&account, devices) in &neighbours {
            let mut seen = BTreeSet::from([account.to_string()]);
            let mut stack = vec![account.to_string()];
            while let Some(current) = stack.pop() {
                for others in neighbours
                    .get(current.as_str())
                    .into_iter()
                    .flat_map(|d| d.values())
                {
                    for other in others {
                        if seen.insert(other.clone()) {
                            stack.push(other.clone());
                        }
                    }
                }
            }
            result.insert(account.to_string(), (seen.len(), devices.clone()));
        }
        result
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

        #[test]
        fn arrival_order_changes_nothing((events, shuffled, at) in history(), window_days in 1..=3i64) {
            let policy = policy_with_window(window_days);
            let sorted = book_of(&events);
            let arrived = book_of(&shuffled);
            prop_assert_eq!(digest(&sorted), digest(&arrived));
            prop_assert!(sorted == arrived);
            prop_assert_eq!(reports_json(&sorted, &policy, at), reports_json(&arrived, &policy, at));
            // A snapshot (bincode, as the ledger stores it) restores the same book.
            let config = bincode::config::legacy();
            let bytes = bincode::serde::encode_to_vec(&arrived, config).unwrap();
            let (restored, _): (AccountBook, usize) = bincode::serde::decode_from_slice(&bytes, config).unwrap();
            prop_assert_eq!(digest(&restored), digest(&sorted));
            prop_assert_eq!(bincode::serde::encode_to_vec(&sorted, config).unwrap(), bytes);
            prop_assert_eq!(reports_json(&restored, &policy, at), reports_json(&sorted, &policy, at));
            // Applying everything twice changes nothing either.
            let mut twice = arrived.clone();
            shuffled.iter().for_each(|e| twice.apply(e));
            prop_assert_eq!(digest(&twice), digest(&sorted));
        }

        #[test]
        fn as_of_equals_a_book_that_saw_only_the_past((events, shuffled, at) in history(), window_days in 1..=3i64) {
            let policy = policy_with_window(window_days);
            let full = book_of(&shuffled);
            let past = book_of(events.iter().filter(|e| e.at.0 <= at));
            prop_assert_eq!(reports_json(&full, &policy, at), reports_json(&past, &policy, at));
            // One account at a time (a walk over its cluster) agrees with all at once.
            for report in full.reports(&policy, Timestamp(at), Level::None) {
                let one = full.report(&policy, &report.account, Timestamp(at));
                prop_assert_eq!(Some(report), one);
            }
        }

        /// `level()` equals the report's level and `cluster()` the walk over reports'
        /// `other_accounts`, for every account, at `T` and at every event's time.
        #[test]
        fn level_and_cluster_agree_with_the_reports((events, shuffled, at) in history(), window_days in 1..=3i64) {
            let policy = policy_with_window(window_days);
            let book = book_of(&shuffled);
            let names = account_names(&events);
            let mut times: Vec<i64> = events.iter().map(|e| e.at.0).collect();
            times.push(at);
            times.sort_unstable();
            times.dedup();
            for t in times {
                let failures = level_and_cluster_failures("property", &book, &policy, &names, Timestamp(t));
                prop_assert!(failures.is_empty(), "{}", failures.join("\n"));
            }
        }

        #[test]
        fn clusters_match_the_definition((events, shuffled, at) in history(), window_days in 1..=3i64) {
            let policy = policy_with_window(window_days);
            let book = book_of(&shuffled);
            let expected = naive_shared(&events, at, window_days);
            let mut actual = BTreeMap::new();
            for report in book.reports(&policy, Timestamp(at), Level::None) {
                for signal in &report.signals {
                    if let Figures::SharedDevice(f) = &signal.figures {
                        let entry = actual.entry(report.account.clone()).or_insert((f.cluster_size, BTreeMap::new()));
                        prop_assert_eq!(entry.0, f.cluster_size);
                        entry.1.insert(f.device.clone(), f.other_accounts.iter().cloned().collect::<BTreeSet<_>>());
                        let high = f.cluster_size >= 3 || f.cluster_joins_client_and_freelancer;
                        prop_assert_eq!(signal.level, if high { Level::High } else { Level::Medium });
                    }
                }
            }
            prop_assert_eq!(actual, expected);
        }
    }

    /// Short lookbacks and a short carry, so that compaction over 40 days drops most logins.
    fn compaction_policy(window_days: i64, lookback_days: i64, carry: usize) -> AccountPolicy {
        AccountPolicy {
            shared_device_window_days: window_days,
            new_country_lookback_days: lookback_days,
            new_country_min_earlier_logins: 2,
            foreign_majority_window_logins: carry,
            foreign_majority_min_logins: 2,
            ..AccountPolicy::default()
        }
    }

    /// A boundary on the hour, or exactly at an event (the boundary cases: an event at `B`,
    /// its lookback reaching exactly `C`).
    fn boundary(
        events: &[Event],
        hour_at: i64,
        at_an_event: Option<proptest::sample::Index>,
    ) -> i64 {
        at_an_event.map_or(hour_at, |index| events[index.index(events.len())].at.0)
    }

    fn compacted(book: &AccountBook, policy: &AccountPolicy, boundary_at: i64) -> AccountBook {
        let mut compacted = book.clone();
        compacted.compact(policy, Timestamp(boundary_at));
        compacted
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// The promise of `docs/retention.md`: compacted at `B`, the book gives every answer
        /// the whole book gives at every `T >= B` (reports, one account's report, level and
        /// cluster), and flags exactly the events of its section older than `B`.
        #[test]
        fn a_compacted_book_answers_as_the_whole_one_from_its_boundary_on(
            (events, shuffled, hour_at) in history_over(40, true),
            at_an_event in proptest::option::of(any::<proptest::sample::Index>()),
            window_days in 0..=3i64,
            lookback_days in 0..=3i64,
            carry in 1..=5usize,
        ) {
            let policy = compaction_policy(window_days, lookback_days, carry);
            let boundary_at = boundary(&events, hour_at, at_an_event);
            let whole = book_of(&shuffled);
            let book = compacted(&whole, &policy, boundary_at);
            let names = account_names(&events);
            let mut times: Vec<i64> = events.iter().map(|e| e.at.0).filter(|&t| t >= boundary_at).collect();
            times.extend([boundary_at, boundary_at + HOUR_MICROS, BASE_MICROS + 50 * 24 * HOUR_MICROS]);
            times.sort_unstable();
            times.dedup();
            for t in times {
                prop_assert_eq!(reports_json(&book, &policy, t), reports_json(&whole, &policy, t), "at {}", t);
                for name in &names {
                    prop_assert_eq!(book.report(&policy, name, Timestamp(t)), whole.report(&policy, name, Timestamp(t)));
                    prop_assert_eq!(book.cluster(&policy, name, Timestamp(t)), whole.cluster(&policy, name, Timestamp(t)));
                }
                let failures = level_and_cluster_failures("compacted", &book, &policy, &names, Timestamp(t));
                prop_assert!(failures.is_empty(), "{}", failures.join("\n"));
            }
            for event in &events {
                let of_accounts = !matches!(event.body, Body::ContractStarted { .. });
                prop_assert_eq!(book.is_before_horizon(event), of_accounts && event.at.0 < boundary_at);
            }
        }

        /// Folding then compacting equals compacting then folding: a book compacted at `B1`
        /// that then folds the events at or after `B1` it had not seen, compacted at `B2`,
        /// holds the same bytes (and digest) as the whole book compacted at `B2`; and so does
        /// its snapshot read back. Compacting again, or at an earlier boundary, changes nothing.
        #[test]
        fn compaction_and_folding_commute(
            (events, shuffled, hour_at) in history_over(40, true),
            at_an_event in proptest::option::of(any::<proptest::sample::Index>()),
            later_hours in prop_oneof![Just(0), 0..(20 * 24i64)],
            seen_first in proptest::collection::vec(any::<bool>(), 0..100),
            window_days in 0..=3i64,
            lookback_days in 0..=3i64,
            carry in 1..=5usize,
        ) {
            let policy = compaction_policy(window_days, lookback_days, carry);
            let first_at = boundary(&events, hour_at, at_an_event);
            let second_at = first_at + later_hours * HOUR_MICROS;
            let expected = compacted(&book_of(&shuffled), &policy, second_at);
            // Every event before `B1`, and some after it, is folded before the first compaction.
            let folded_first = |n: usize, e: &Event| e.at.0 < first_at || seen_first.get(n).copied().unwrap_or(false);
            let mut book = book_of(shuffled.iter().enumerate().filter(|(n, e)| folded_first(*n, e)).map(|(_, e)| e));
            book.compact(&policy, Timestamp(first_at));
            let late = shuffled.iter().enumerate().filter(|(n, e)| !folded_first(*n, e)).map(|(_, e)| e);
            for event in late {
                prop_assert!(!book.is_before_horizon(event));
                book.apply(event);
            }
            book.compact(&policy, Timestamp(second_at));
            prop_assert_eq!(digest(&book), digest(&expected));
            prop_assert!(book == expected);
            book.compact(&policy, Timestamp(second_at));
            book.compact(&policy, Timestamp(first_at));
            prop_assert!(book == expected);
            let config = bincode::config::legacy();
            let bytes = bincode::serde::encode_to_vec(&book, config).unwrap();
            let (restored, _): (AccountBook, usize) = bincode::serde::decode_from_slice(&bytes, config).unwrap();
            prop_assert!(restored == expected);
            let end = BASE_MICROS + 50 * 24 * HOUR_MICROS;
            prop_assert_eq!(reports_json(&restored, &policy, end), reports_json(&expected, &policy, end));
        }
    }
}

/// The fold is total: extreme times, positions and policies give answers, not panics.
#[test]
fn total_on_extreme_input() {
    use riskledger_events::{Body, Country, Ip, Network, Role};
    let login = |id: &str, at: i64, lat: f64, lon: f64, accuracy_km: f64| Event {
        id: id.into(),
        at: Timestamp(at),
        body: Body::Login {
            account: "x".into(),
            device: format!("d-{id}"),
            ip: Ip::V4([10, 0, 0, 1]),
            lat,
            lon,
            country: Country::parse("AQ").unwrap(),
            accuracy_km,
            network: Some(Network::Mobile),
        },
    };
    let events = vec![
        login("a", i64::MIN, 90.0, 180.0, 0.0),
        login("b", i64::MIN, -90.0, -180.0, 0.0),
        login("c", i64::MAX, 0.0, 0.0, 20_038.0),
        login("d", i64::MAX, 0.0, 180.0, 0.0),
        login("e", 0, f64::NAN, 0.0, 0.0),
        Event {
            id: "p".into(),
            at: Timestamp(i64::MAX),
            body: Body::PayoutMethodChanged {
                account: "x".into(),
                method: "m".into(),
                country: Country::parse("AQ").unwrap(),
            },
        },
        Event {
            id: "o".into(),
            at: Timestamp(i64::MIN),
            body: Body::AccountOpened {
                account: "x".into(),
                role: Role::Agency,
                country: Country::parse("AQ").unwrap(),
            },
        },
    ];
    let book = book_of(&events);
    let odd = AccountPolicy {
        travel_min_elapsed_seconds: i64::MIN,
        shared_device_window_days: i64::MAX,
        foreign_majority_window_logins: 0,
        foreign_majority_min_logins: 0,
        new_country_lookback_days: i64::MIN,
        new_country_min_earlier_logins: 0,
        payout_after_new_device_hours: i64::MAX,
        ..AccountPolicy::default()
    };
    for policy in [AccountPolicy::default(), odd] {
        for at in [i64::MIN, -1, 0, i64::MAX] {
            let reports = book.reports(&policy, Timestamp(at), Level::None);
            serde_json::to_string(&reports).unwrap();
            assert_eq!(
                book.level(&policy, "x", Timestamp(at)),
                reports.first().map(|r| r.level)
            );
            assert_eq!(
                book.report(&policy, "x", Timestamp(at)),
                reports.into_iter().next()
            );
        }
    }
    // Two logins at the same microsecond, antipodal, zero accuracy: the one-minute floor.
    let report = book
        .report(&AccountPolicy::default(), "x", Timestamp(i64::MIN))
        .unwrap();
    assert_eq!(report.level, Level::High);
    assert_eq!(
        report.signals[0].events,
        vec!["a".to_string(), "b".to_string()]
    );
}
