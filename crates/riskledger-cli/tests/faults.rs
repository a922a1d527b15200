//! Faults: a writer killed with SIGKILL mid-ingest loses no acknowledged event and re-running
//! completes it; damaged bytes in the store's files are found by verify, never a panic.
//!
//! A SIGKILL leaves the operating system's page cache intact, so this tests the log's own
//! atomicity and recovery (no half batch, a tail that verifies, idempotent re-runs), not the
//! flush: that every append is flushed before it is acknowledged is the backend's contract
//! (`SledBackend::commit`), and a power cut is not simulated here.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;

const EVENTS: u64 = 120_000;

fn clean_head(history: &std::path::Path, dir: &std::path::Path) -> String {
    let out = json(&run(
        &dir.join("clean"),
        &["ingest", history.to_str().unwrap(), "--json"],
    ));
    out["head_hash"].as_str().unwrap().to_owned()
}

#[test]
fn sigkill_mid_ingest_loses_no_acknowledged_event() {
    let mut rng = Rng::from_env("sigkill_mid_ingest");
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("history.ndjson");
    write_history(&history, EVENTS);
    let expected_head = clean_head(&history, dir.path());
    let data = dir.path().join("data");
    let started = Instant::now();
    let full = run(
        &data.with_extension("timing"),
        &["ingest", history.to_str().unwrap()],
    );
    assert!(full.status.success());
    let full_ms = started.elapsed().as_millis() as u64;

    let mut kills_mid_append = 0;
    // Every round appends to the same ledger: what any round acknowledged must survive all
    // the later kills.
    let mut acked_so_far = 0u64;
    for round in 0..25 {
        let mut child = bin()
            .arg("--data")
            .arg(&data)
            .args(["ingest", history.to_str().unwrap(), "--print-acks"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let acked = Arc::new(Mutex::new(0u64));
        let reader = {
            let acked = Arc::clone(&acked);
            let stderr = child.stderr.take().unwrap();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    // A kill can cut the last line short; a cut number only under-reports.
                    if let Some(Ok(seq)) = line.strip_prefix("acked ").map(str::parse::<u64>) {
                        *acked.lock().unwrap() = seq;
                    }
                }
            })
        };
        std::thread::sleep(Duration::from_millis(rng.below(full_ms + 20)));
        let killed = child.kill().is_ok();
        let status = child.wait().unwrap();
        reader.join().unwrap();
        let acked = *acked.lock().unwrap();
        if killed && !status.success() {
            kills_mid_append += 1;
        }
        acked_so_far = acked_so_far.max(acked);
        let verify = run(&data, &["verify", "--json"]);
        if acked_so_far == 0 && stderr(&verify).contains("no ledger at") {
            // Killed before it created the ledger (a loaded machine starts the binary
            // slowly): nothing was ever acknowledged, so nothing can be lost.
            continue;
        }
        let verified = json(&verify);
        assert_eq!(verified["ok"], true, "round {round}: {verified}");
        let head = verified["head_seq"].as_u64().unwrap();
        assert!(
            head >= acked_so_far,
            "round {round}: acknowledged seq {acked_so_far} but the log ends at {head}"
        );
    }
    assert!(
        kills_mid_append >= 5,
        "only {kills_mid_append} kills landed mid-ingest"
    );
    let finished = json(&run(
        &data,
        &["ingest", history.to_str().unwrap(), "--json"],
    ));
    assert_eq!(finished["head_seq"], EVENTS);
    assert_eq!(
        finished["head_hash"],
        expected_head.as_str(),
        "the same events give the same head"
    );
    let verified = json(&run(&data, &["verify", "--json"]));
    assert_eq!(verified["ok"], true);
    assert_eq!(verified["events"], EVENTS);
}

fn store_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(store_files(&path));
        } else if std::fs::metadata(&path).unwrap().len() > 0 {
            files.push(path);
        }
    }
    files.sort();
    files
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn damaged_bytes_on_disk_are_found_by_verify() {
    let mut rng = Rng::from_env("damaged_bytes_on_disk");
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("history.ndjson");
    write_history(&history, 20_000);
    let pristine = dir.path().join("pristine");
    let head = json(&run(
        &pristine,
        &["ingest", history.to_str().unwrap(), "--json"],
    ));
    let files = store_files(&pristine);
    let (mut noticed, mut harmless) = (0, 0);
    for round in 0..30 {
        let damaged = dir.path().join(format!("damaged-{round}"));
        copy_dir(&pristine, &damaged);
        let target_files = store_files(&damaged);
        let file = &target_files[rng.below(files.len() as u64) as usize];
        let mut bytes = std::fs::read(file).unwrap();
        let at = rng.below(bytes.len() as u64) as usize;
        bytes[at] ^= 1 << rng.below(8);
        std::fs::write(file, &bytes).unwrap();
        let out = run(&damaged, &["verify", "--json"]);
        let report = json(&out);
        let where_ = format!("round {round}: {} byte {at}", file.display());
        match out.status.code() {
            Some(0) => {
                // A flipped bit in space the store does not use changes nothing: every event
                // must still be there, with the same head.
                assert_eq!(report["events"], 20_000, "{where_}: {report}");
                assert_eq!(report["head_hash"], head["head_hash"], "{where_}");
                harmless += 1;
            }
            Some(1) => {
                assert_eq!(report["ok"], false, "{where_}");
                assert!(report["error"].is_string(), "{where_}");
                noticed += 1;
            }
            other => panic!("{where_}: verify exited {other:?}: {}", stderr(&out)),
        }
        std::fs::remove_dir_all(&damaged).unwrap();
    }
    eprintln!("damage noticed {noticed} times, harmless {harmless} times");
}
