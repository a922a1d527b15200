//! riskledger: an event-sourced account risk ledger for a freelance marketplace.
//!
//! This is the library a risk team's code depends on. It re-exports the building blocks
//! (events, the log) and offers [`Ledger`]: open a ledger directory, append, read, verify.
//!
//! ```
//! use riskledger::{events::json::parse_line, AppendOptions, Ledger};
//!
//! let dir = tempfile::tempdir()?;
//! let mut ledger = Ledger::open(dir.path())?;
//! let event = parse_line(1, r#"{"id":"e1","type":"account_opened","at":"2024-01-02T10:00:00Z","account":"c-1","role":"client","country":"US"}"#)?;
//! let receipt = ledger.append(&[event], &AppendOptions::default())?;
//! assert_eq!(receipt.head.seq, 1);
//! assert!(ledger.verify().ok());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::{Path, PathBuf};

pub use riskledger_events as events;
pub use riskledger_projections as projections;
pub use riskledger_store as store;

pub use riskledger_events::{Event, Timestamp};
pub use riskledger_store::{
    AppendError, AppendOptions, Head, OnInvalid, Outcome, Receipt, Record, RejectReason, Rejection,
    StoreError, Verification,
};

use riskledger_store::{SledLog, SledOptions};

/// Why a ledger could not be opened or read.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// There is no ledger in the directory (for commands that must not create one).
    #[error("no ledger at {0}")]
    Missing(PathBuf),
    /// The log is damaged or the storage failed; run `verify` for the first bad record.
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// An open ledger: the log in a directory.
pub struct Ledger {
    log: SledLog,
    dir: PathBuf,
}

impl Ledger {
    /// Opens the ledger in `dir`, creating an empty one if there is none.
    pub fn open(dir: &Path) -> Result<Self, LedgerError> {
        let log = riskledger_store::open_sled(dir, &SledOptions::default())?;
        Ok(Ledger {
            log,
            dir: dir.to_owned(),
        })
    }

    /// Opens the ledger in `dir`; fails with [`LedgerError::Missing`] when there is none.
    pub fn open_existing(dir: &Path) -> Result<Self, LedgerError> {
        if !Self::exists(dir) {
            return Err(LedgerError::Missing(dir.to_owned()));
        }
        Self::open(dir)
    }

    /// Whether `dir` holds a ledger.
    pub fn exists(dir: &Path) -> bool {
        riskledger_store::SledBackend::exists(dir)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn head(&self) -> Head {
        self.log.head()
    }

    /// Appends a batch durably (see [`riskledger_store::Log::append`]).
    pub fn append(
        &mut self,
        events: &[Event],
        options: &AppendOptions,
    ) -> Result<Receipt, AppendError> {
        self.log.append(events, options)
    }

    /// Every record from `seq` on.
    pub fn records(&self, from_seq: u64) -> impl Iterator<Item = Result<Record, StoreError>> + '_ {
        self.log.records(from_seq)
    }

    /// Every record from seq 1, with the hash chain recomputed as it is read.
    pub fn records_verified(&self) -> impl Iterator<Item = Result<Record, StoreError>> + '_ {
        self.log.records_verified()
    }

    /// Re-reads and checks the whole log.
    pub fn verify(&self) -> Verification {
        self.log.verify()
    }
}

/// Verifies the ledger in `dir` without opening it for writing, so that a ledger too damaged to
/// open still gets a precise report.
pub fn verify_dir(dir: &Path) -> Result<Verification, LedgerError> {
    if !Ledger::exists(dir) {
        return Err(LedgerError::Missing(dir.to_owned()));
    }
    riskledger_store::verify_sled(dir, &SledOptions::default())
        .map_err(|e| LedgerError::Store(e.into()))
}
