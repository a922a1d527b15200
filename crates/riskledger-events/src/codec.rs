//! The one canonical stored encoding of an event: a format-version byte, then the event in
//! bincode 2.0.1's legacy (fixed-int, little-endian) layout through serde. These are the bytes
//! that are stored and hashed; nothing else produces them. Layout: `docs/format.md`.

use crate::limits::MAX_RECORD_BYTES;
use crate::model::{Event, EventError};

/// The version byte that starts every stored event record.
const FORMAT_VERSION: u8 = 1;

type Config = bincode::config::Configuration<
    bincode::config::LittleEndian,
    bincode::config::Fixint,
    bincode::config::Limit<MAX_RECORD_BYTES>,
>;

const CONFIG: Config = bincode::config::legacy().with_limit::<MAX_RECORD_BYTES>();

/// Why stored bytes do not decode to a valid event. Every variant means the record is not
/// one that [`encode`] wrote (or not one this build can read): report the record's seq as
/// damaged, never skip it silently.
///
/// ```
/// use riskledger_events::codec::{self, DecodeError};
///
/// # let event = riskledger_events::json::parse_line(1, r#"{"id":"g1","type":"account_opened","at":"2024-01-02T10:00:00Z","account":"c-1","role":"client","country":"US"}"#)?;
/// let mut stored = codec::encode_to_vec(&event)?;
/// stored.push(0);
/// assert!(matches!(codec::decode(&stored), Err(DecodeError::Trailing(1))));
/// assert!(matches!(codec::decode(&[]), Err(DecodeError::Empty)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// No bytes at all. The store never writes an empty record: treat it as damage.
    #[error("empty record")]
    Empty,
    /// The first byte is not this build's format version: written by another (newer) build.
    /// Read it with that build; do not rewrite or drop it.
    #[error("unknown record format version {0} (this build reads {FORMAT_VERSION})")]
    Version(u8),
    /// Longer than [`MAX_RECORD_BYTES`], which no encoding can be: treat it as damage.
    #[error("record is {0} bytes long; the limit is {MAX_RECORD_BYTES}")]
    TooLong(usize),
    /// The bytes after the version are not an encoded event (cut short, a bad variant or
    /// string): treat it as damage.
    #[error("record does not decode: {0}")]
    Bincode(#[from] bincode::error::DecodeError),
    /// An event decoded, but bytes were left after it: treat it as damage.
    #[error("record has {0} trailing bytes")]
    Trailing(usize),
    /// The bytes decode to an event that breaks a validation rule (the inner error names the
    /// field): altered bytes, or a build with other rules wrote them. Treat it as damage.
    #[error("record decodes to an invalid event: {0}")]
    Invalid(#[from] EventError),
}

/// Why an event could not be encoded. Only an event that skipped [`Event::validate`] can fail:
/// validate first, and reject the event like any other invalid one.
///
/// ```
/// use riskledger_events::codec::{self, EncodeError};
///
/// # let event = riskledger_events::json::parse_line(1, r#"{"id":"g1","type":"account_opened","at":"2024-01-02T10:00:00Z","account":"c-1","role":"client","country":"US"}"#)?;
/// let mut huge = event.clone();
/// huge.id = "x".repeat(5_000); // breaks the 64-byte rule, so validate would refuse it
/// assert!(matches!(codec::encode_to_vec(&huge), Err(EncodeError::TooLong(5_038))));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// The serializer refused the event. Not expected for any [`Event`]: report it as a bug.
    #[error("event does not encode: {0}")]
    Bincode(#[from] bincode::error::EncodeError),
    /// The encoding is longer than [`MAX_RECORD_BYTES`], which no valid event's is. Validate
    /// the event and reject it (its fields are over their limits).
    #[error("encoded event is {0} bytes long; the limit is {MAX_RECORD_BYTES}")]
    TooLong(usize),
}

/// Appends the stored bytes of `event` to `out` and returns how many were written. On error
/// `out` is left as it was.
///
/// ```
/// use riskledger_events::codec;
///
/// # let event = riskledger_events::json::parse_line(1, r#"{"id":"g1","type":"account_opened","at":"2024-01-02T10:00:00Z","account":"c-1","role":"client","country":"US"}"#)?;
/// let mut out = b"header".to_vec();
/// let written = codec::encode(&event, &mut out)?;
/// assert_eq!(written, 40);
/// assert_eq!(out.len(), 6 + 40);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn encode(event: &Event, out: &mut Vec<u8>) -> Result<usize, EncodeError> {
    let start = out.len();
    out.push(FORMAT_VERSION);
    if let Err(err) = bincode::serde::encode_into_std_write(event, out, CONFIG) {
        out.truncate(start);
        return Err(err.into());
    }
    let written = out.len() - start;
    if written > MAX_RECORD_BYTES {
        out.truncate(start);
        return Err(EncodeError::TooLong(written));
    }
    Ok(written)
}

/// The stored bytes of `event` in a fresh vector: the format version byte (1), then the event.
///
/// ```
/// use riskledger_events::codec;
///
/// # let event = riskledger_events::json::parse_line(1, r#"{"id":"g1","type":"account_opened","at":"2024-01-02T10:00:00Z","account":"c-1","role":"client","country":"US"}"#)?;
/// let stored = codec::encode_to_vec(&event)?;
/// assert_eq!((stored.len(), stored[0]), (40, 1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn encode_to_vec(event: &Event) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::with_capacity(128);
    encode(event, &mut out)?;
    Ok(out)
}

/// Decodes stored bytes and checks the event against every stateless rule again.
///
/// ```
/// use riskledger_events::codec;
///
/// # let event = riskledger_events::json::parse_line(1, r#"{"id":"g1","type":"account_opened","at":"2024-01-02T10:00:00Z","account":"c-1","role":"client","country":"US"}"#)?;
/// let stored = codec::encode_to_vec(&event)?;
/// assert_eq!(codec::decode(&stored)?, event);
/// assert!(codec::decode(&stored[..stored.len() - 1]).is_err(), "cut short");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn decode(bytes: &[u8]) -> Result<Event, DecodeError> {
    let (&version, body) = bytes.split_first().ok_or(DecodeError::Empty)?;
    if version != FORMAT_VERSION {
        return Err(DecodeError::Version(version));
    }
    if bytes.len() > MAX_RECORD_BYTES {
        return Err(DecodeError::TooLong(bytes.len()));
    }
    let (event, used): (Event, usize) = bincode::serde::decode_from_slice(body, CONFIG)?;
    if used != body.len() {
        return Err(DecodeError::Trailing(body.len() - used));
    }
    event.validate()?;
    Ok(event)
}

/// Reads only the `id` of a stored record, without decoding the rest: the id is the first
/// field (a u64 length, then its bytes). Returns `None` when the bytes are not of that form.
///
/// ```
/// use riskledger_events::codec;
///
/// # let event = riskledger_events::json::parse_line(1, r#"{"id":"g1","type":"account_opened","at":"2024-01-02T10:00:00Z","account":"c-1","role":"client","country":"US"}"#)?;
/// let stored = codec::encode_to_vec(&event)?;
/// assert_eq!(codec::peek_id(&stored), Some(&b"g1"[..]));
/// assert_eq!(codec::peek_id(&stored[..5]), None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn peek_id(bytes: &[u8]) -> Option<&[u8]> {
    let (&version, body) = bytes.split_first()?;
    if version != FORMAT_VERSION {
        return None;
    }
    let len = u64::from_le_bytes(body.get(..8)?.try_into().ok()?);
    let len = usize::try_from(len).ok()?;
    body.get(8..8usize.checked_add(len)?)
}

/// Reads only the type index of a stored record (its `Body` variant, see
/// [`crate::EVENT_TYPES`]): after the id (u64 length + bytes) and `at` (8 bytes) comes the
/// variant as a u32. Lets a scan skip decoding events it does not need.
///
/// ```
/// use riskledger_events::{codec, EVENT_TYPES};
///
/// # let event = riskledger_events::json::parse_line(1, r#"{"id":"g1","type":"account_opened","at":"2024-01-02T10:00:00Z","account":"c-1","role":"client","country":"US"}"#)?;
/// let stored = codec::encode_to_vec(&event)?;
/// let index = codec::peek_type_index(&stored).unwrap();
/// assert_eq!(EVENT_TYPES[index as usize], "account_opened");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn peek_type_index(bytes: &[u8]) -> Option<u32> {
    let id_len = peek_id(bytes)?.len();
    let at = 1 + 8 + id_len + 8;
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}
