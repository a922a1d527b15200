//! Every input has a bound. These are part of the format's contract (`docs/format.md`).

/// Longest NDJSON line `ingest` accepts, in bytes (without the newline).
pub const MAX_LINE_BYTES: usize = 16 * 1024;
/// Longest identifier (`id`, `account`, `contract`, `device`, `flag`, ...), in bytes.
pub const MAX_ID_BYTES: usize = 64;
/// Longest `note` of a `flag_raised`, in bytes.
pub const MAX_NOTE_BYTES: usize = 1024;
/// Longest `method` of a `payout_method_changed`, in bytes (an opaque id).
pub const MAX_METHOD_BYTES: usize = MAX_ID_BYTES;
/// Largest amount or rate, in minor units: 10^15 (ten trillion dollars). Sums of up to
/// 2^64 / 10^15 ≈ 18,000 such amounts cannot overflow a `u64`; projections sum in `u128`.
pub const MAX_AMOUNT_MINOR: u64 = 1_000_000_000_000_000;
/// Largest `accuracy_km` of a login: half the Earth's circumference.
pub const MAX_ACCURACY_KM: f64 = 20_038.0;
/// Largest stored event record, in bytes. Decoding refuses anything longer.
pub const MAX_RECORD_BYTES: usize = 4 * 1024;
/// Most events in one append (one atomic commit of up to 16 blocks).
pub const MAX_BATCH_EVENTS: usize = 16 * 1024;
