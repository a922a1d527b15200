use riskledger_events::json::parse_line;
use riskledger_store::*;

#[test]
fn smoke() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/data/spec-example.ndjson"
    ))
    .unwrap();
    let events: Vec<_> = text
        .lines()
        .enumerate()
        .map(|(i, l)| parse_line(i as u64 + 1, l).unwrap())
        .collect();
    let head = {
        let mut log = open_sled(dir.path(), &SledOptions::default()).unwrap();
        let r = log.append(&events, &AppendOptions::default()).unwrap();
        assert_eq!(r.appended, 6);
        let r = log.append(&events, &AppendOptions::default()).unwrap();
        assert_eq!((r.appended, r.duplicates), (0, 6));
        log.head()
    };
    let log = open_sled(dir.path(), &SledOptions::default()).unwrap();
    assert_eq!(log.head(), head);
    let v = log.verify();
    assert!(v.ok(), "{v:?}");
    assert_eq!(v.events, 6);
    let back: Vec<_> = log.records(1).map(|r| r.unwrap().event).collect();
    assert_eq!(back, events);
    println!("{}", head.hash_hex());
}
