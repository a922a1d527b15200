//! The command-line contract of `spec/cli.md`: JSON fields, exit codes, round trips.

mod common;

use common::*;

const EXAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/data/spec-example.ndjson"
);
/// The head hash of the spec's example: fixed by the events alone, on any machine.
const EXAMPLE_HEAD: &str = "bfb658dad7bb9c9b241da63d42e70ae3631753d363b502ab2e3ab54e215ef4f6";

#[test]
fn ingest_reports_exactly_the_documented_fields() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["ingest", EXAMPLE, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!("{{\"appended\":6,\"duplicates\":0,\"rejected\":[],\"head_seq\":6,\"head_hash\":\"{EXAMPLE_HEAD}\"}}\n")
    );
    let again = json(&run(dir.path(), &["ingest", EXAMPLE, "--json"]));
    assert_eq!(
        (again["appended"].as_u64(), again["duplicates"].as_u64()),
        (Some(0), Some(6))
    );
}

#[test]
fn verify_reports_exactly_the_documented_fields() {
    let dir = tempfile::tempdir().unwrap();
    run(dir.path(), &["ingest", EXAMPLE]);
    let out = run(dir.path(), &["verify", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        stdout(&out),
        format!("{{\"ok\":true,\"events\":6,\"head_seq\":6,\"head_hash\":\"{EXAMPLE_HEAD}\",\"first_bad_seq\":null,\"error\":null}}\n")
    );
}

#[test]
fn stdin_is_read_with_a_dash() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let mut child = bin()
        .arg("--data")
        .arg(dir.path())
        .args(["ingest", "-", "--json"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&std::fs::read(EXAMPLE).unwrap())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(json(&out)["head_hash"], EXAMPLE_HEAD);
}

#[test]
fn strict_ingest_stops_at_the_first_bad_line_keeping_every_line_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.ndjson");
    let mut text = std::fs::read_to_string(EXAMPLE).unwrap();
    text.push_str("{\"id\":\"e7\",\"type\":\"payment\",\"at\":\"2024-03-01T00:00:00Z\",\"contract\":\"k-1\",\"amount_minor\":-3,\"currency\":\"USD\"}\n");
    text.push_str("{\"id\":\"e8\",\"type\":\"contract_ended\",\"at\":\"2024-03-02T00:00:00Z\",\"contract\":\"k-1\",\"outcome\":\"completed\"}\n");
    std::fs::write(&file, text).unwrap();
    let data = dir.path().join("data");
    let out = run(&data, &["ingest", file.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let summary = json(&out);
    assert_eq!(summary["appended"], 6);
    assert_eq!(summary["head_seq"], 6);
    assert_eq!(
        summary["rejected"],
        serde_json::json!([{"line": 7, "id": "e7", "error": "field `amount_minor`: must be greater than 0"}])
    );
    assert!(stderr(&out).contains("stopped at line 7"));

    let skipped = run(
        &data,
        &["ingest", file.to_str().unwrap(), "--json", "--skip-invalid"],
    );
    assert_eq!(skipped.status.code(), Some(0));
    let summary = json(&skipped);
    assert_eq!(
        (summary["appended"].as_u64(), summary["duplicates"].as_u64()),
        (Some(1), Some(6))
    );
    assert_eq!(summary["rejected"][0]["line"], 7);
}

#[test]
fn export_then_ingest_elsewhere_gives_the_same_head() {
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("history.ndjson");
    write_history(&history, 5_000);
    let first = dir.path().join("first");
    let ingested = json(&run(
        &first,
        &["ingest", history.to_str().unwrap(), "--json"],
    ));
    let exported = run(&first, &["export"]);
    assert_eq!(exported.status.code(), Some(0));
    let lines: Vec<serde_json::Value> = stdout(&exported)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5_000);
    assert_eq!(lines[4_999]["seq"], 5_000);
    assert_eq!(lines[4_999]["hash"], ingested["head_hash"]);
    let export_file = dir.path().join("export.ndjson");
    std::fs::write(&export_file, &exported.stdout).unwrap();
    let second = dir.path().join("second");
    let again = json(&run(
        &second,
        &["ingest", export_file.to_str().unwrap(), "--json"],
    ));
    assert_eq!(again["head_hash"], ingested["head_hash"]);

    let slice = run(&first, &["export", "--from", "10", "--to", "12"]);
    let seqs: Vec<u64> = stdout(&slice)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["seq"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(seqs, vec![10, 11, 12]);
}

#[test]
fn exit_codes_mean_something() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothing-here");
    let out = run(&missing, &["verify", "--json"]);
    assert_eq!(out.status.code(), Some(2), "no ledger is bad usage");
    assert!(stderr(&out).contains("no ledger at"));
    assert!(out.stdout.is_empty());
    assert_eq!(run(dir.path(), &["frobnicate"]).status.code(), Some(2));
    assert_eq!(
        run(dir.path(), &["ingest", "/no/such/file.ndjson"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(run(dir.path(), &["--help"]).status.code(), Some(0));
}

#[test]
fn demo_ingests_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["demo", "--accounts", "300", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let demo = json(&out);
    assert_eq!(demo["verify"]["ok"], true);
    assert_eq!(demo["duplicates"], 0);
    assert!(demo["appended"].as_u64().unwrap() > 10_000);
    // Running it again appends nothing: the generator is deterministic, the ledger idempotent.
    let again = json(&run(dir.path(), &["demo", "--accounts", "300", "--json"]));
    assert_eq!(again["appended"], 0);
    assert_eq!(again["duplicates"], demo["appended"]);
    assert_eq!(again["pairs"], demo["pairs"]);
}

#[test]
fn generate_is_deterministic_and_ingests_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let labels = dir.path().join("labels.json");
    let first = bin()
        .args(["generate", "--accounts", "200", "--seed", "9", "--labels"])
        .arg(&labels)
        .output()
        .unwrap();
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let second = bin()
        .args(["generate", "--accounts", "200", "--seed", "9"])
        .output()
        .unwrap();
    assert_eq!(
        first.stdout, second.stdout,
        "the same seed gives the same bytes"
    );
    let labels: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&labels).unwrap()).unwrap();
    assert!(labels["pairs"].is_array() && labels["accounts"].is_array());
    let file = dir.path().join("history.ndjson");
    std::fs::write(&file, &first.stdout).unwrap();
    let summary = json(&run(
        &dir.path().join("data"),
        &["ingest", file.to_str().unwrap(), "--json"],
    ));
    assert_eq!(summary["rejected"], serde_json::json!([]));
    assert_eq!(
        summary["appended"].as_u64().unwrap() as usize,
        stdout(&first).lines().count()
    );
}

/// A line that parses but breaks a rule of the history (a payment for a contract that does not
/// exist) is found at append time: strict ingest keeps every line before it, in the same chunk.
#[test]
fn strict_ingest_stops_at_a_line_the_history_rejects() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("history.ndjson");
    let mut text = std::fs::read_to_string(EXAMPLE).unwrap();
    text.push_str("{\"id\":\"e7\",\"type\":\"payment\",\"at\":\"2024-03-01T00:00:00Z\",\"contract\":\"k-404\",\"amount_minor\":5,\"currency\":\"USD\"}\n");
    text.push_str("{\"id\":\"e8\",\"type\":\"contract_ended\",\"at\":\"2024-03-02T00:00:00Z\",\"contract\":\"k-1\",\"outcome\":\"completed\"}\n");
    std::fs::write(&file, text).unwrap();
    let data = dir.path().join("data");
    let out = run(&data, &["ingest", file.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let summary = json(&out);
    assert_eq!(summary["appended"], 6);
    assert_eq!(
        summary["rejected"],
        serde_json::json!([{"line": 7, "id": "e7", "error": "field `contract`: contract \"k-404\" does not exist"}])
    );
    let skipped = json(&run(
        &data,
        &["ingest", file.to_str().unwrap(), "--json", "--skip-invalid"],
    ));
    assert_eq!(
        (skipped["appended"].as_u64(), skipped["duplicates"].as_u64()),
        (Some(1), Some(6))
    );
}

/// `verify` on a ledger another process holds open is not a "no" about the data: exit 3.
#[test]
fn verify_of_a_busy_ledger_is_a_failure_not_damage() {
    let dir = tempfile::tempdir().unwrap();
    run(dir.path(), &["ingest", EXAMPLE]);
    let holder = riskledger::Ledger::open(dir.path()).unwrap();
    let out = run(dir.path(), &["verify", "--json"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    drop(holder);
    assert_eq!(
        run(dir.path(), &["verify", "--json"]).status.code(),
        Some(0)
    );
}

/// `pairs --json` and `accounts --json`: the fields of spec/cli.md, sorted, the level filter,
/// and the same bytes on every run.
#[test]
fn pairs_and_accounts_json_follow_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let history = bin()
        .args(["generate", "--accounts", "400", "--seed", "5"])
        .output()
        .unwrap();
    let file = dir.path().join("history.ndjson");
    std::fs::write(&file, &history.stdout).unwrap();
    let data = dir.path().join("data");
    assert_eq!(
        run(&data, &["ingest", file.to_str().unwrap()])
            .status
            .code(),
        Some(0)
    );

    let first = run(&data, &["pairs", "--json", "--min-level", "none"]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    assert_eq!(
        first.stdout,
        run(&data, &["pairs", "--json", "--min-level", "none"]).stdout
    );
    let pairs = json(&first);
    let pairs = pairs.as_array().unwrap();
    assert!(!pairs.is_empty());
    let keys: Vec<(String, String)> = pairs
        .iter()
        .map(|p| {
            (
                p["client"].as_str().unwrap().to_owned(),
                p["freelancer"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        keys.windows(2).all(|w| w[0] < w[1]),
        "sorted by client then freelancer"
    );
    for pair in pairs {
        for field in [
            "status",
            "level",
            "currency",
            "estimated_annual_earnings_minor",
            "conversion_fee_minor",
            "signals",
        ] {
            assert!(pair.get(field).is_some(), "pair lacks {field}: {pair}");
        }
        for signal in pair["signals"].as_array().unwrap() {
            assert!(
                signal["kind"].is_string()
                    && signal["level"].is_string()
                    && signal["events"].is_array(),
                "{signal}"
            );
        }
    }
    let medium = json(&run(&data, &["pairs", "--json", "--min-level", "medium"]));
    let rank = |level: &str| {
        ["none", "low", "medium", "high"]
            .iter()
            .position(|l| *l == level)
            .unwrap()
    };
    assert!(medium
        .as_array()
        .unwrap()
        .iter()
        .all(|p| rank(p["level"].as_str().unwrap()) >= 2));
    assert!(
        !medium.as_array().unwrap().is_empty(),
        "the generator hides pairs at medium or above"
    );

    let accounts = run(&data, &["accounts", "--json"]);
    assert_eq!(accounts.stdout, run(&data, &["accounts", "--json"]).stdout);
    let accounts = json(&accounts);
    let ids: Vec<&str> = accounts
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["account"].as_str().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "sorted by account");
    for account in accounts.as_array().unwrap() {
        assert!(
            rank(account["level"].as_str().unwrap()) >= 1,
            "default --min-level is low"
        );
        assert!(account["signals"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["kind"].is_string() && s["events"].is_array()));
    }
    let early = json(&run(
        &data,
        &["accounts", "--json", "--as-of", "2025-01-02T00:00:00Z"],
    ));
    assert!(
        early.as_array().unwrap().len() < accounts.as_array().unwrap().len(),
        "as of an early date, fewer accounts look risky"
    );
    assert_eq!(
        run(&data, &["pairs", "--min-level", "severe"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        run(&data, &["pairs", "--as-of", "yesterday"]).status.code(),
        Some(2)
    );
}

/// `report --from-log` re-derives an account from its records and prints the same object as
/// `report`, exiting 0 when the two agree; at the latest time and at an earlier one.
#[test]
fn report_from_the_log_equals_the_kept_report() {
    let dir = tempfile::tempdir().unwrap();
    let history = bin()
        .args(["generate", "--accounts", "1000", "--seed", "4"])
        .output()
        .unwrap();
    let file = dir.path().join("history.ndjson");
    std::fs::write(&file, &history.stdout).unwrap();
    let data = dir.path().join("data");
    run(&data, &["ingest", file.to_str().unwrap()]);
    let listed = json(&run(&data, &["accounts", "--min-level", "none", "--json"]));
    let listed = listed.as_array().unwrap();
    let kinds = |a: &serde_json::Value| a["signals"].to_string();
    // Every account in a shared-device cluster (re-derived through its devices), a few with
    // other signals, one without, one unknown.
    let mut accounts: Vec<&str> = listed
        .iter()
        .filter(|a| kinds(a).contains("shared_device"))
        .chain(listed.iter().filter(|a| a["level"] != "none").take(4))
        .chain(listed.iter().filter(|a| a["level"] == "none").take(1))
        .map(|a| a["account"].as_str().unwrap())
        .collect();
    accounts.push("nobody");
    assert!(accounts.len() >= 6, "{accounts:?}");
    for account in accounts {
        for as_of in [None, Some("2025-06-01T00:00:00Z")] {
            let mut args = vec!["report", account, "--json"];
            args.extend(as_of.iter().flat_map(|t| ["--as-of", *t]));
            let kept = run(&data, &args);
            args.push("--from-log");
            let rederived = run(&data, &args);
            assert_eq!(rederived.status.code(), Some(0), "{}", stderr(&rederived));
            assert_eq!(stdout(&rederived), stdout(&kept), "{account} at {as_of:?}");
        }
    }
    let text = run(&data, &["report", "nobody", "--from-log"]);
    assert!(stdout(&text)
        .contains("re-derived from its records in the log: agrees with the kept state"));

    // `export --account` gives exactly the lines of `export` that name the account.
    let everything = stdout(&run(&data, &["export"]));
    let names = |line: &str, account: &str| {
        let event: serde_json::Value = serde_json::from_str(line).unwrap();
        [
            "account",
            "client",
            "freelancer",
            "subject",
            "counterparty",
            "reporter",
        ]
        .iter()
        .any(|field| event[*field] == account)
    };
    for account in listed
        .iter()
        .take(3)
        .map(|a| a["account"].as_str().unwrap())
    {
        let expected: Vec<&str> = everything.lines().filter(|l| names(l, account)).collect();
        let only = run(&data, &["export", "--account", account]);
        assert_eq!(only.status.code(), Some(0), "{}", stderr(&only));
        assert!(!expected.is_empty());
        assert_eq!(
            stdout(&only).lines().collect::<Vec<_>>(),
            expected,
            "{account}"
        );
        // --from and --to cut it as they cut `export`.
        let seq = |line: &str| {
            serde_json::from_str::<serde_json::Value>(line).unwrap()["seq"].to_string()
        };
        let (from, to) = (seq(expected[0]), seq(expected[expected.len() / 2]));
        let args = ["export", "--account", account, "--from", &from, "--to", &to];
        let window = stdout(&run(&data, &args));
        assert_eq!(
            window.lines().collect::<Vec<_>>(),
            expected[..=expected.len() / 2]
        );
    }
}
