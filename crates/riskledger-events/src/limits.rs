//! Every input has a bound. These are part of the format's contract (`docs/format.md`).

/// Longest NDJSON line `ingest` accepts, in bytes (without the newline).
///
/// ```
/// use riskledger_events::{json::parse_line, limits::MAX_LINE_BYTES};
///
/// let long = format!(r#"{{"id":"x","note":"{}"}}"#, "n".repeat(MAX_LINE_BYTES));
/// let err = parse_line(1, &long).unwrap_err();
/// assert!(err.to_string().ends_with(&format!("the limit is {MAX_LINE_BYTES}")));
/// ```
pub const MAX_LINE_BYTES: usize = 16 * 1024;
/// Longest identifier (`id`, `account`, `contract`, `device`, `flag`, ...), in bytes.
///
/// ```
/// use riskledger_events::{json::parse_line, limits::MAX_ID_BYTES};
///
/// let line = |id: &str| format!(r#"{{"id":"{id}","type":"contract_ended","at":"2024-06-01T00:00:00Z","contract":"k-1","outcome":"completed"}}"#);
/// assert!(parse_line(1, &line(&"x".repeat(MAX_ID_BYTES))).is_ok());
/// assert_eq!(parse_line(2, &line(&"x".repeat(MAX_ID_BYTES + 1))).unwrap_err().error.field(), Some("id"));
/// ```
pub const MAX_ID_BYTES: usize = 64;
/// Longest `note` of a `flag_raised`, in bytes.
///
/// ```
/// use riskledger_events::{json::parse_line, limits::MAX_NOTE_BYTES};
///
/// let line = |note: &str| format!(r#"{{"id":"r","type":"flag_raised","at":"2024-02-03T08:00:00Z","flag":"f","reporter":"system","subject":"c","reason":"other","note":"{note}"}}"#);
/// assert!(parse_line(1, &line(&"n".repeat(MAX_NOTE_BYTES))).is_ok());
/// assert_eq!(parse_line(2, &line(&"n".repeat(MAX_NOTE_BYTES + 1))).unwrap_err().error.field(), Some("note"));
/// ```
pub const MAX_NOTE_BYTES: usize = 1024;
/// Longest `method` of a `payout_method_changed`, in bytes (an opaque id).
///
/// ```
/// use riskledger_events::{json::parse_line, limits::MAX_METHOD_BYTES};
///
/// let line = |method: &str| format!(r#"{{"id":"p","type":"payout_method_changed","at":"2024-03-01T00:00:00Z","account":"f-1","method":"{method}","country":"PH"}}"#);
/// assert!(parse_line(1, &line(&"m".repeat(MAX_METHOD_BYTES))).is_ok());
/// assert_eq!(parse_line(2, &line(&"m".repeat(MAX_METHOD_BYTES + 1))).unwrap_err().error.field(), Some("method"));
/// ```
pub const MAX_METHOD_BYTES: usize = MAX_ID_BYTES;
/// Largest amount or rate, in minor units: 10^15 (ten trillion dollars). Sums of up to
/// 2^64 / 10^15 ≈ 18,000 such amounts cannot overflow a `u64`; projections sum in `u128`.
///
/// ```
/// use riskledger_events::{json::parse_line, limits::MAX_AMOUNT_MINOR};
///
/// let line = |amount: u64| format!(r#"{{"id":"e4","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":{amount},"currency":"USD"}}"#);
/// assert!(parse_line(1, &line(MAX_AMOUNT_MINOR)).is_ok());
/// assert_eq!(parse_line(2, &line(MAX_AMOUNT_MINOR + 1)).unwrap_err().error.field(), Some("amount_minor"));
/// ```
pub const MAX_AMOUNT_MINOR: u64 = 1_000_000_000_000_000;
/// Largest `accuracy_km` of a login: half the Earth's circumference.
///
/// ```
/// use riskledger_events::{json::parse_line, limits::MAX_ACCURACY_KM};
///
/// let line = |km: f64| format!(r#"{{"id":"e6","type":"login","at":"2024-02-03T09:00:00Z","account":"f-1","device":"d-77","ip":"203.0.113.9","lat":14.6,"lon":120.98,"country":"PH","accuracy_km":{km}}}"#);
/// assert!(parse_line(1, &line(MAX_ACCURACY_KM)).is_ok());
/// assert_eq!(parse_line(2, &line(MAX_ACCURACY_KM + 1.0)).unwrap_err().error.field(), Some("accuracy_km"));
/// ```
pub const MAX_ACCURACY_KM: f64 = 20_038.0;
/// Largest stored event record, in bytes. Decoding refuses anything longer.
///
/// ```
/// use riskledger_events::{codec, limits::MAX_RECORD_BYTES};
///
/// let too_long = [&[1u8][..], &[0; MAX_RECORD_BYTES]].concat();
/// assert!(matches!(codec::decode(&too_long), Err(codec::DecodeError::TooLong(4097))));
/// ```
pub const MAX_RECORD_BYTES: usize = 4 * 1024;
/// Most events in one append (one atomic commit of up to 16 blocks).
///
/// ```
/// use riskledger_events::limits::MAX_BATCH_EVENTS;
///
/// // Split larger inputs into batches of at most this many events before appending.
/// let events = vec![(); 40_000];
/// assert_eq!(events.chunks(MAX_BATCH_EVENTS).count(), 3);
/// ```
pub const MAX_BATCH_EVENTS: usize = 16 * 1024;
