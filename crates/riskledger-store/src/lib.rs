//! The append-only, hash-chained riskledger log.
//!
//! Events are group-committed in blocks (`docs/format.md`): one append is one atomic write of
//! one or more blocks and one flush, acknowledged only once durable. Each event's hash chains
//! to the previous one (`riskledger_events::chain`). Appends are idempotent by event id over
//! the whole history and may state the head they expect. Only [`sled_backend`] names sled.

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
pub type SledLog = Log<SledBackend>;

/// Opens (creating if needed) a log on sled in directory `dir`.
pub fn open_sled(dir: &Path, options: &SledOptions) -> Result<SledLog, StoreError> {
    let backend = SledBackend::open(dir, options)?;
    Log::open(backend)
}

/// Verifies the log in `dir` without opening it for writing (works on a log that will not open).
pub fn verify_sled(dir: &Path, options: &SledOptions) -> Result<Verification, BackendError> {
    let backend = SledBackend::open(dir, options)?;
    Ok(verify(&backend))
}
