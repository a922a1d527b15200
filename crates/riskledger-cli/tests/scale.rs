//! A million-event history: ingested, verified, damaged and named.

mod common;

use common::*;

#[test]
fn a_million_events_ingest_verify_and_damage_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("history.ndjson");
    write_history(&history, 1_000_000);
    let data = dir.path().join("data");
    let out = run(&data, &["ingest", history.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let ingested = json(&out);
    assert_eq!(ingested["appended"], 1_000_000);
    let verified = json(&run(&data, &["verify", "--json"]));
    assert_eq!(verified["ok"], true);
    assert_eq!(verified["events"], 1_000_000);
    assert_eq!(verified["head_hash"], ingested["head_hash"]);

    // Alter one byte of one record inside sled's files: find the record's bytes and flip one.
    let needle = b"e777777";
    let mut found = false;
    for entry in std::fs::read_dir(data.join("sled")).unwrap().flatten() {
        let path = entry.path();
        if !path.is_file() {
            continue;
        }
        let mut bytes = std::fs::read(&path).unwrap();
        if let Some(at) = bytes.windows(needle.len()).position(|w| w == needle) {
            bytes[at + 1] = b'9'; // e777777 -> e977777: the id changes, the length does not
            std::fs::write(&path, &bytes).unwrap();
            found = true;
            break;
        }
    }
    assert!(found, "the record of e777777 is in sled's data file");
    let out = run(&data, &["verify", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let report = json(&out);
    assert_eq!(report["ok"], false);
    // Either sled's own checksum refuses the damaged page (a storage error), or the chain names
    // the record: event e777777 is line 777778, so seq 777778.
    if let Some(seq) = report["first_bad_seq"].as_u64() {
        assert_eq!(seq, 777_778, "{report}");
    }
    eprintln!("verify after damage: {report}");
}
