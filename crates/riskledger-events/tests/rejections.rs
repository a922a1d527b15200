//! Bad input, as data: each line, the id the error must name (if any) and the field and reason.

use riskledger_events::json::parse_line;

const LOGIN: &str = r#""type":"login","at":"2024-02-03T09:00:00Z","account":"f-1","device":"d-1","ip":"203.0.113.9","country":"PH""#;

/// (line, expected id, expected error text)
fn cases() -> Vec<(String, Option<&'static str>, &'static str)> {
    let login = |id: &str, coords: &str| format!(r#"{{"id":"{id}",{LOGIN},{coords}}}"#);
    vec![
        ("not json".into(), None, "not a JSON object"),
        (r#"{"id":"a1","type":"payment""#.into(), Some("a1"), "invalid JSON: EOF while parsing an object"),
        (r#"[1,2]"#.into(), None, "not a JSON object"),
        (r#"{"type":"account_opened","at":"2024-01-02T10:00:00Z","account":"c","role":"client","country":"US"}"#.into(), None, "field `id` is missing"),
        (r#"{"id":"","type":"account_opened","at":"2024-01-02T10:00:00Z","account":"c","role":"client","country":"US"}"#.into(), Some(""), "field `id`: must not be empty"),
        (format!(r#"{{"id":"{}","type":"account_opened","at":"2024-01-02T10:00:00Z","account":"c","role":"client","country":"US"}}"#, "x".repeat(65)), Some("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"), "field `id`: is 65 bytes long; the limit is 64"),
        (r#"{"id":"a2","type":"account_closed","at":"2024-01-02T10:00:00Z"}"#.into(), Some("a2"), "field `type`: unknown event type \"account_closed\""),
        (r#"{"id":"a3","at":"2024-01-02T10:00:00Z"}"#.into(), Some("a3"), "field `type` is missing"),
        (r#"{"id":"a4","type":"account_opened","at":"2024-01-02 10:00","account":"c","role":"client","country":"US"}"#.into(), Some("a4"), "field `at`: not an RFC 3339 timestamp"),
        (r#"{"id":"a5","type":"account_opened","at":"2024-01-02T10:00:00","account":"c","role":"client","country":"US"}"#.into(), Some("a5"), "field `at`: not an RFC 3339 timestamp with an offset"),
        (r#"{"id":"a6","type":"account_opened","at":"2024-01-02T10:00:00.0000001Z","account":"c","role":"client","country":"US"}"#.into(), Some("a6"), "field `at`: has sub-microsecond digits"),
        (r#"{"id":"a7","type":"account_opened","at":"2024-01-02T10:00:00Z","role":"client","country":"US"}"#.into(), Some("a7"), "field `account` is missing"),
        (r#"{"id":"a8","type":"account_opened","at":"2024-01-02T10:00:00Z","account":"c","role":"boss","country":"US"}"#.into(), Some("a8"), "field `role`: \"boss\" is not one of"),
        (r#"{"id":"a9","type":"account_opened","at":"2024-01-02T10:00:00Z","account":"c","role":"client","country":"us"}"#.into(), Some("a9"), "field `country`: \"us\" is not one of"),
        (r#"{"id":"b1","type":"account_opened","at":"2024-01-02T10:00:00Z","account":7,"role":"client","country":"US"}"#.into(), Some("b1"), "field `account`: invalid type: integer `7`"),
        (r#"{"id":"b2","type":"account_opened","at":"2024-01-02T10:00:00Z","account":"c","role":"client","country":"US","lat":1}"#.into(), Some("b2"), "field `lat` is not part of a `account_opened` event"),
        (r#"{"id":"b3","type":"account_opened","at":"2024-01-02T10:00:00Z","account":"c","role":"client","country":"US","colour":"red"}"#.into(), Some("b3"), "unknown field `colour`"),
        (r#"{"id":"b4","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":0,"currency":"USD"}"#.into(), Some("b4"), "field `amount_minor`: must be greater than 0"),
        (r#"{"id":"b5","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":-5,"currency":"USD"}"#.into(), Some("b5"), "field `amount_minor`: must be greater than 0"),
        (r#"{"id":"b6","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":12.5,"currency":"USD"}"#.into(), Some("b6"), "field `amount_minor`: invalid type: floating point"),
        (r#"{"id":"b7","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":1000000000000001,"currency":"USD"}"#.into(), Some("b7"), "field `amount_minor`: 1000000000000001 exceeds the limit"),
        (r#"{"id":"b8","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":5,"currency":"usd"}"#.into(), Some("b8"), "field `currency`"),
        (r#"{"id":"b9","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k","client":"c","freelancer":"c","currency":"USD","kind":"hourly"}"#.into(), Some("b9"), "field `freelancer`: must differ from `client`"),
        (login("c1", r#""lat":90.5,"lon":1"#), Some("c1"), "field `lat`: 90.5 is outside [-90, 90]"),
        (login("c2", r#""lat":1,"lon":-180.01"#), Some("c2"), "field `lon`: -180.01 is outside [-180, 180]"),
        (login("c3", r#""lat":"NaN","lon":1"#), Some("c3"), "field `lat`: invalid type: string \"NaN\""),
        (login("c4", r#""lat":NaN,"lon":1"#), Some("c4"), "invalid JSON: expected value"),
        (login("c5", r#""lat":1,"lon":1,"accuracy_km":-1"#), Some("c5"), "field `accuracy_km`: -1 is outside"),
        (login("c6", r#""lat":1,"lon":1,"network":"satellite""#), Some("c6"), "field `network`: \"satellite\" is not one of"),
        (login("c7", r#""lon":1"#), Some("c7"), "field `lat` is missing"),
        (login("c8", r#""lat":1,"lon":1,"ip":"1.2.3""#), Some("c8"), "duplicate field `ip`"),
        (r#"{"id":"d1","type":"flag_raised","at":"2024-02-03T08:00:00Z","flag":"f","reporter":"system","subject":"c","reason":"other","note":"NOTE"}"#.replace("NOTE", &"n".repeat(1025)), Some("d1"), "field `note`: is 1025 bytes long; the limit is 1024"),
        (r#"{"id":"d2","type":"prior_relationship_proven","at":"2024-02-03T08:00:00Z","client":"c","freelancer":"f","since":"2019-02-30"}"#.into(), Some("d2"), "field `since`: not a date of the form YYYY-MM-DD"),
        (format!(r#"{{"id":"d3","type":"other","pad":"{}"}}"#, "x".repeat(16 * 1024)), None, "the line is 16419 bytes long; the limit is 16384"),
    ]
}

#[test]
fn every_bad_line_is_rejected_naming_line_id_and_field() {
    for (n, (line, id, expected)) in cases().into_iter().enumerate() {
        let line_no = n as u64 + 10;
        let err = parse_line(line_no, &line).expect_err(&line);
        assert_eq!(err.line, line_no);
        assert_eq!(err.id.as_deref(), id, "id of {line}");
        let text = err.error.to_string();
        assert!(
            text.contains(expected),
            "line {line}\n  got:      {text}\n  expected: {expected}"
        );
        assert!(
            err.to_string().starts_with(&format!("line {line_no}")),
            "{err}"
        );
    }
}

#[test]
fn the_field_is_reported_separately_for_programs() {
    let err = parse_line(3, r#"{"id":"x","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":0,"currency":"USD"}"#).unwrap_err();
    assert_eq!(err.error.field(), Some("amount_minor"));
    assert_eq!(
        err.to_string(),
        "line 3 (id \"x\"): field `amount_minor`: must be greater than 0"
    );
}

#[test]
fn equivalent_inputs_are_the_same_event() {
    let utc = parse_line(1, r#"{"id":"x","type":"login","at":"2024-02-03T09:00:00Z","account":"a","device":"d","ip":"::1","lat":1,"lon":2,"country":"PH"}"#).unwrap();
    let offset = parse_line(2, r#"{"country":"PH","lon":2.0,"lat":1.0,"ip":"0:0:0:0:0:0:0:1","device":"d","account":"a","accuracy_km":50,"at":"2024-02-03T11:00:00+02:00","type":"login","id":"x"}"#).unwrap();
    assert_eq!(utc, offset);
}

#[test]
fn export_fields_are_ignored_on_input() {
    let line = r#"{"seq":9,"hash":"ab","recorded_at":"2026-01-01T00:00:00Z","id":"x","type":"contract_ended","at":"2024-06-01T00:00:00Z","contract":"k","outcome":"disputed"}"#;
    let event = parse_line(1, line).unwrap();
    assert_eq!(
        riskledger_events::json::to_line(&event),
        r#"{"id":"x","type":"contract_ended","at":"2024-06-01T00:00:00Z","contract":"k","outcome":"disputed"}"#
    );
}
