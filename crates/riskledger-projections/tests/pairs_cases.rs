//! Section 1 of `spec/policy.md` as data: every file in `tests/cases/pairs/*.json` holds cases
//! of events (the NDJSON objects of `spec/events.md`, one per array element), and checks of the
//! reports expected at given `as_of` times.
//!
//! Case file shape:
//!
//! ```json
//! {"cases": [{
//!   "name": "…", "why": "…",
//!   "policy": {"window_months": 1},            // optional PairPolicy overrides
//!   "events": [{"id": "e1", "type": "contract_started", …}, …],
//!   "checks": [{
//!     "as_of": "2025-01-01T00:00:00Z",
//!     "min_level": "none",                     // optional, default none
//!     "exact": false,                          // optional: objects must have no other keys
//!     "expect": [{"client": "c-1", "level": "low", …}, …]
//!   }]
//! }]}
//! ```
//!
//! `expect` is the whole list `reports()` returns (same length, same order); each expected
//! object names the fields it pins, and arrays inside it (signals, events) must match in length
//! and order. Every case is also applied in reverse arrival order, which must give the same
//! reports.

use std::path::{Path, PathBuf};

use riskledger_events::{json::parse_line, Event, Timestamp};
use riskledger_projections::pairs::PairBook;
use riskledger_projections::policy::PairPolicy;
use riskledger_projections::Level;
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    #[allow(dead_code)]
    why: Option<String>,
    #[serde(default)]
    policy: PairPolicy,
    events: Vec<Value>,
    checks: Vec<Check>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Check {
    as_of: String,
    #[serde(default)]
    min_level: Option<String>,
    #[serde(default)]
    exact: bool,
    expect: Vec<Value>,
}

fn case_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/pairs");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("reading {}: {err}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    files
}

fn parse_events(case: &Case) -> Vec<Event> {
    case.events
        .iter()
        .enumerate()
        .map(|(i, value)| {
            let line = serde_json::to_string(value).expect("a JSON value prints");
            parse_line(i as u64 + 1, &line)
                .unwrap_or_else(|err| panic!("case {:?}: event {}: {err}", case.name, i + 1))
        })
        .collect()
}

fn book_of<'a>(events: impl IntoIterator<Item = &'a Event>) -> PairBook {
    let mut book = PairBook::new();
    for event in events {
        book.apply(event);
    }
    book
}

/// Appends to `failures` every way `actual` differs from the fields `expected` pins.
fn compare(expected: &Value, actual: &Value, exact: bool, path: &str, failures: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Object(want), Value::Object(got)) => {
            for (key, want_value) in want {
                match got.get(key) {
                    Some(got_value) => compare(
                        want_value,
                        got_value,
                        exact,
                        &format!("{path}.{key}"),
                        failures,
                    ),
                    None => failures.push(format!("{path}.{key}: missing (expected {want_value})")),
                }
            }
            if exact {
                for key in got.keys().filter(|key| !want.contains_key(*key)) {
                    failures.push(format!("{path}.{key}: unexpected field ({})", got[key]));
                }
            }
        }
        (Value::Array(want), Value::Array(got)) => {
            if want.len() != got.len() {
                failures.push(format!(
                    "{path}: expected {} elements, got {}: {}",
                    want.len(),
                    got.len(),
                    actual
                ));
                return;
            }
            for (i, (w, g)) in want.iter().zip(got).enumerate() {
                compare(w, g, exact, &format!("{path}[{i}]"), failures);
            }
        }
        _ if expected == actual => {}
        _ => failures.push(format!("{path}: expected {expected}, got {actual}")),
    }
}

fn run_case(file: &str, case: &Case, failures: &mut Vec<String>) {
    let events = parse_events(case);
    let book = book_of(&events);
    let reversed = book_of(events.iter().rev());
    for check in &case.checks {
        let at = Timestamp::parse_rfc3339(&check.as_of)
            .unwrap_or_else(|err| panic!("case {:?}: as_of {:?}: {err}", case.name, check.as_of));
        let min_level = match check.min_level.as_deref() {
            None => Level::None,
            Some(text) => Level::parse(text).expect("a level name"),
        };
        let reports = book.reports(&case.policy, at, min_level);
        let actual = serde_json::to_value(&reports).expect("reports serialise");
        let where_ = format!("{file}: {:?} at {}", case.name, check.as_of);
        let mut found = Vec::new();
        compare(
            &Value::Array(check.expect.clone()),
            &actual,
            check.exact,
            "reports",
            &mut found,
        );
        if !found.is_empty() {
            failures.push(format!(
                "{where_}:\n    {}\n    actual: {actual}",
                found.join("\n    ")
            ));
        }
        for report in &reports {
            let level = book.level(&case.policy, &report.client, &report.freelancer, at);
            if level != Some(report.level) {
                failures.push(format!(
                    "{where_}: level() of {}/{} is {level:?}, its report says {}",
                    report.client, report.freelancer, report.level
                ));
            }
        }
        if reversed.reports(&case.policy, at, min_level) != reports {
            failures.push(format!(
                "{where_}: reverse arrival order gives other reports"
            ));
        }
    }
}

#[test]
fn every_case_file_holds() {
    let files = case_files();
    assert!(!files.is_empty(), "no case files found");
    let mut failures = Vec::new();
    let mut count = 0;
    for path in &files {
        let text = std::fs::read_to_string(path).expect("case file reads");
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let file: CaseFile =
            serde_json::from_str(&text).unwrap_or_else(|err| panic!("{name}: {err}"));
        for case in &file.cases {
            run_case(&name, case, &mut failures);
            count += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {count} cases' checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("{count} pair cases from {} files hold", files.len());
}

/// The comparison must be able to fail: a wrong pinned value is reported.
#[test]
fn a_wrong_expectation_is_reported() {
    let mut failures = Vec::new();
    let expected =
        serde_json::json!([{"level": "high", "signals": [{"kind": "payments_stopped"}]}]);
    let actual = serde_json::json!([{"level": "low", "signals": []}]);
    compare(&expected, &actual, false, "reports", &mut failures);
    assert_eq!(
        failures,
        vec![
            "reports[0].level: expected \"high\", got \"low\"".to_owned(),
            "reports[0].signals: expected 1 elements, got 0: []".to_owned(),
        ]
    );
}

/// `report` and `reports_for_account` answer from the same evaluation as `reports`.
#[test]
fn single_pair_and_per_account_queries_agree_with_reports() {
    let lines = [
        r#"{"id":"s1","type":"contract_started","at":"2025-01-06T09:00:00Z","contract":"k-1","client":"c-2","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2000}"#,
        r#"{"id":"s2","type":"contract_started","at":"2025-01-06T09:00:00Z","contract":"k-2","client":"c-1","freelancer":"f-9","currency":"USD","kind":"fixed"}"#,
        r#"{"id":"s3","type":"contract_started","at":"2025-04-01T00:00:00Z","contract":"k-3","client":"c-1","freelancer":"f-1","currency":"USD","kind":"fixed"}"#,
        r#"{"id":"x1","type":"flag_raised","at":"2025-02-01T00:00:00Z","flag":"fl-1","reporter":"system","subject":"c-2","counterparty":"f-1","reason":"off_platform_payment"}"#,
    ];
    let events: Vec<Event> = lines
        .iter()
        .enumerate()
        .map(|(i, line)| parse_line(i as u64 + 1, line).unwrap())
        .collect();
    let book = book_of(&events);
    let policy = PairPolicy::default();
    let at = Timestamp::parse_rfc3339("2025-03-01T00:00:00Z").unwrap();
    let all = book.reports(&policy, at, Level::None);
    let names: Vec<(&str, &str)> = all
        .iter()
        .map(|r| (r.client.as_str(), r.freelancer.as_str()))
        .collect();
    assert_eq!(names, [("c-1", "f-9"), ("c-2", "f-1")]);
    assert_eq!(
        book.report(&policy, "c-2", "f-1", at).as_ref(),
        Some(&all[1])
    );
    assert_eq!(book.report(&policy, "f-1", "c-2", at), None, "roles matter");
    assert_eq!(
        book.report(&policy, "c-1", "f-1", at),
        None,
        "k-3 starts after T"
    );
    assert_eq!(
        book.report(&policy, "c-9", "f-1", at),
        None,
        "unknown account"
    );
    let for_f1 = book.reports_for_account(&policy, "f-1", at);
    assert_eq!(for_f1, vec![all[1].clone()]);
    assert_eq!(for_f1[0].level, Level::Medium);
    let later = Timestamp::parse_rfc3339("2025-04-01T00:00:00Z").unwrap();
    let for_c1: Vec<String> = book
        .reports_for_account(&policy, "c-1", later)
        .into_iter()
        .map(|r| r.freelancer)
        .collect();
    assert_eq!(for_c1, ["f-1", "f-9"]);
    assert!(book
        .reports_for_account(&policy, "nobody", later)
        .is_empty());
    assert_eq!(book.len(), 3);
}
