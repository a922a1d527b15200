//! The append-only, hash-chained riskledger log.
//!
//! Events are group-committed in blocks (`docs/format.md`): one append is one atomic write of
//! one or more blocks and one flush, acknowledged only once durable. Each event's hash chains
//! to the previous one (`riskledger_events::chain`). Appends are idempotent by event id over
//! the whole history and may state the head they expect. Only `sled_backend.rs` names sled.
//!
//! ```
//! use riskledger_store::{open_sled, AppendOptions, SledOptions};
//!
//! # use riskledger_events::json::parse_line;
//! # let dir = tempfile::tempdir()?;
//! # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
//! # let started = line(1, r#"{"id":"k","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"fixed"}"#);
//! # let paid = line(2, r#"{"id":"p","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":400000,"currency":"USD"}"#);
//! let mut log = open_sled(dir.path(), &SledOptions::default())?;
//! let receipt = log.append(&[started, paid.clone()], &AppendOptions::default())?;
//! assert_eq!((receipt.appended, receipt.head.seq), (2, 2));
//! let last = log.records(2).next().unwrap()?;
//! assert_eq!(last.event, paid);
//! assert!(log.verify().ok());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

mod backend;
pub mod block;
mod checkpoint;
mod ids;
mod log;
mod sled_backend;

use std::path::Path;

pub use backend::{Backend, BackendError, BlockIter, Head, StoredBlock};
pub use log::{
    records_verified, verify, AppendError, AppendOptions, CheckpointError, Log, OnInvalid, Outcome,
    Receipt, Record, Records, RejectReason, Rejection, StoreError, Verification,
};
pub use sled_backend::{SledBackend, SledBytes, SledOptions};

/// The log on the embedded default backend.
///
/// ```
/// use riskledger_store::{open_sled, SledLog, SledOptions};
///
/// # let dir = tempfile::tempdir()?;
/// let log: SledLog = open_sled(dir.path(), &SledOptions::default())?;
/// assert_eq!(log.head().seq, 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub type SledLog = Log<SledBackend>;

/// Opens (creating if needed) a log on sled in directory `dir`. Only one process (one open
/// log) may hold a directory at a time.
///
/// ```
/// use riskledger_store::{open_sled, AppendOptions, SledOptions};
///
/// # use riskledger_events::json::parse_line;
/// # let dir = tempfile::tempdir()?;
/// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
/// # let started = line(1, r#"{"id":"k","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"fixed"}"#);
/// # let paid = line(2, r#"{"id":"p","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":400000,"currency":"USD"}"#);
/// let mut log = open_sled(dir.path(), &SledOptions::default())?;
/// log.append(&[started, paid.clone()], &AppendOptions::default())?;
/// drop(log);
/// let log = open_sled(dir.path(), &SledOptions::default())?; // reopened: the events are there
/// assert_eq!(log.records(2).next().unwrap()?.event, paid);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn open_sled(dir: &Path, options: &SledOptions) -> Result<SledLog, StoreError> {
    let backend = SledBackend::open(dir, options)?;
    Log::open(backend)
}

/// Verifies the log in `dir` without opening it for writing (works on a log that will not open).
/// Fails only when the storage cannot be opened at all; what it finds is in the
/// [`Verification`].
///
/// ```
/// use riskledger_store::{open_sled, verify_sled, AppendOptions, SledOptions};
///
/// # use riskledger_events::json::parse_line;
/// # let dir = tempfile::tempdir()?;
/// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
/// # let started = line(1, r#"{"id":"k","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"fixed"}"#);
/// # let paid = line(2, r#"{"id":"p","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":400000,"currency":"USD"}"#);
/// let mut log = open_sled(dir.path(), &SledOptions::default())?;
/// log.append(&[started, paid], &AppendOptions::default())?;
/// drop(log); // one process at a time
/// let verification = verify_sled(dir.path(), &SledOptions::default())?;
/// assert!(verification.ok());
/// assert_eq!(verification.events, 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn verify_sled(dir: &Path, options: &SledOptions) -> Result<Verification, BackendError> {
    let backend = SledBackend::open(dir, options)?;
    Ok(verify(&backend))
}
