//! `Body::names` lists every id an event carries that names an account, device, contract or
//! flag: the finder's completeness rests on it. Every string field of every event type is
//! classified here, so a field added to the wire without a decision fails this test.

use riskledger_events::json::parse_line;
use riskledger_events::NameKind;

const EVERY_TYPE: &str = include_str!("../../../tests/data/every-type.ndjson");

/// The wire fields that name something, and what.
fn kind_of(field: &str) -> Option<NameKind> {
    match field {
        "account" | "client" | "freelancer" | "subject" | "counterparty" | "reporter" => {
            Some(NameKind::Account)
        }
        "device" => Some(NameKind::Device),
        "contract" => Some(NameKind::Contract),
        "flag" => Some(NameKind::Flag),
        // The event's own id, its type and time, codes, free text and values: not names.
        "id" | "type" | "at" | "role" | "country" | "currency" | "kind" | "outcome" | "reason"
        | "note" | "since" | "ip" | "network" | "method" => None,
        other => panic!("field `{other}` is not classified: does it name a subject?"),
    }
}

#[test]
fn names_are_exactly_the_fields_that_name_something() {
    let extra = [
        // An account as reporter (not `system`), and a flag about a person alone.
        r#"{"id":"h1","type":"flag_raised","at":"2024-02-03T08:00:00Z","flag":"fl-2","reporter":"f-9","subject":"c-1","counterparty":"f-1","reason":"contact_info"}"#,
        r#"{"id":"h2","type":"flag_raised","at":"2024-02-03T08:00:00Z","flag":"fl-3","reporter":"system","subject":"c-1","reason":"other"}"#,
    ];
    for (n, line) in EVERY_TYPE.lines().chain(extra).enumerate() {
        let event = parse_line(n as u64 + 1, line).unwrap();
        let wire: serde_json::Map<String, serde_json::Value> = serde_json::from_str(line).unwrap();
        let mut expected: Vec<(NameKind, &str)> = wire
            .iter()
            .filter_map(|(field, value)| {
                let text = value.as_str()?;
                let kind = kind_of(field)?;
                (!(field == "reporter" && text == "system")).then_some((kind, text))
            })
            .collect();
        let mut named: Vec<(NameKind, &str)> = event
            .body
            .names()
            .map(|name| (name.kind, name.id))
            .collect();
        expected.sort();
        named.sort();
        assert_eq!(named, expected, "line {}: {line}", n + 1);
    }
}
