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

    // Alter the record of e777777 inside sled's files. sled keeps superseded copies of
    // rewritten leaves until it reclaims their space, so alter every copy: the live one among
    // them. The id keeps its length (e777777 -> e977777), so only the content changes.
    let needle = b"e777777";
    let mut copies = 0;
    for path in files_under(&data.join("sled")) {
        let mut bytes = std::fs::read(&path).unwrap();
        let mut changed = false;
        let mut from = 0;
        while let Some(at) = bytes[from..]
            .windows(needle.len())
            .position(|w| w == needle)
        {
            bytes[from + at + 1] = b'9';
            from += at + needle.len();
            changed = true;
            copies += 1;
        }
        if changed {
            std::fs::write(&path, &bytes).unwrap();
        }
    }
    assert!(copies > 0, "the record of e777777 is in sled's files");
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

fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}
