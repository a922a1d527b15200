//! The one canonical stored encoding of an event: a format-version byte, then the event in
//! bincode 2.0.1's legacy (fixed-int, little-endian) layout through serde. These are the bytes
//! that are stored and hashed; nothing else produces them. Layout: `docs/format.md`.

use crate::limits::MAX_RECORD_BYTES;
use crate::model::{Event, EventError};

/// The version byte that starts every stored event record.
pub const FORMAT_VERSION: u8 = 1;

type Config = bincode::config::Configuration<
    bincode::config::LittleEndian,
    bincode::config::Fixint,
    bincode::config::Limit<MAX_RECORD_BYTES>,
>;

const CONFIG: Config = bincode::config::legacy().with_limit::<MAX_RECORD_BYTES>();

/// Why stored bytes do not decode to a valid event.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("empty record")]
    Empty,
    #[error("unknown record format version {0} (this build reads {FORMAT_VERSION})")]
    Version(u8),
    #[error("record is {0} bytes long; the limit is {MAX_RECORD_BYTES}")]
    TooLong(usize),
    #[error("record does not decode: {0}")]
    Bincode(#[from] bincode::error::DecodeError),
    #[error("record has {0} trailing bytes")]
    Trailing(usize),
    #[error("record decodes to an invalid event: {0}")]
    Invalid(#[from] EventError),
}

/// Why an event could not be encoded.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error("event does not encode: {0}")]
    Bincode(#[from] bincode::error::EncodeError),
    #[error("encoded event is {0} bytes long; the limit is {MAX_RECORD_BYTES}")]
    TooLong(usize),
}

/// Appends the stored bytes of `event` to `out` and returns how many were written.
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

/// The stored bytes of `event` in a fresh vector.
pub fn encode_to_vec(event: &Event) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::with_capacity(128);
    encode(event, &mut out)?;
    Ok(out)
}

/// Decodes stored bytes and checks the event against every stateless rule again.
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
pub fn peek_type_index(bytes: &[u8]) -> Option<u32> {
    let id_len = peek_id(bytes)?.len();
    let at = 1 + 8 + id_len + 8;
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}
