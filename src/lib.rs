//! riskledger: an event-sourced account risk ledger for a freelance marketplace.
//!
//! This is the library a risk team's code depends on. [`Ledger`] opens a ledger directory,
//! appends events durably, keeps every projection current, and answers "how risky, and why?"
//! for a pair or an account, as of any event time. [`replay`] rebuilds the state from the log
//! alone, for audits. The building blocks are re-exported: [`events`], [`store`],
//! [`projections`].
//!
//! ```
//! use riskledger::{events::json::parse_line, AppendOptions, Ledger, Level};
//!
//! let dir = tempfile::tempdir()?;
//! let mut ledger = Ledger::open(dir.path())?;
//! let lines = [
//!     r#"{"id":"e1","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2000}"#,
//!     r#"{"id":"e2","type":"flag_raised","at":"2024-02-03T08:00:00Z","flag":"fl-1","reporter":"f-1","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#,
//! ];
//! let events = lines.iter().enumerate().map(|(i, l)| parse_line(i as u64 + 1, l)).collect::<Result<Vec<_>, _>>()?;
//! ledger.append(&events, &AppendOptions::default())?;
//! let pair = ledger.pair("c-1", "f-1", None)?.expect("the pair met on the platform");
//! assert_eq!(pair.level, Level::Medium); // an open request to pay off the platform
//! assert_eq!(pair.conversion_fee_minor, 499_200); // 12% of 2,080 h at $20/h
//! assert!(ledger.verify().ok());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

mod books;
mod feed;
mod finder;
mod rebuild;
mod rederive;
mod snapshot;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

pub use riskledger_events as events;
pub use riskledger_projections as projections;
pub use riskledger_store as store;

pub use books::Books;
pub use feed::{LevelChange, Subject};
pub use rederive::{MAX_REDERIVE_NAMES, MAX_REDERIVE_RECORDS};
pub use riskledger_events::{Event, Timestamp};
pub use riskledger_projections::accounts::AccountReport;
pub use riskledger_projections::pairs::PairReport;
pub use riskledger_projections::{Level, Policy};
pub use riskledger_store::{
    AppendError, AppendOptions, CheckpointError, Head, OnInvalid, Outcome, Receipt, Record,
    RejectReason, Rejection, StoreError, Verification,
};

use feed::Feed;
use finder::Finder;
use riskledger_store::{Backend, SledLog, SledOptions};
use serde::Serialize;

/// Why a ledger could not be opened or read.
///
/// ```
/// # use riskledger::{events::json::parse_line, AppendOptions, Ledger, LedgerOptions, Level, Policy, Subject};
/// # let dir = tempfile::tempdir()?;
/// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
/// # let contract = line(1, r#"{"id":"k","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#);
/// # let flag = line(2, r#"{"id":"f","type":"flag_raised","at":"2025-02-01T08:00:00Z","flag":"fl-1","reporter":"system","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#);
/// match Ledger::open_existing(&dir.path().join("absent"), LedgerOptions::default()) {
///     Err(riskledger::LedgerError::Missing(path)) => assert!(path.ends_with("absent")),
///     _ => unreachable!("there is no ledger there"),
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// There is no ledger in the directory (for operations that must not create one). Check
    /// the path.
    #[error("no ledger at {0}")]
    Missing(PathBuf),
    /// The log is damaged or the storage failed. Run `verify` for the first bad record; do not
    /// append until it is resolved.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// A snapshot could not be written. The log is unaffected; the next open replays more.
    #[error("writing the projection snapshot: {0}")]
    Snapshot(#[from] std::io::Error),
    /// The store checkpoint could not be written. The log is unaffected; the next open reads
    /// more of it. After [`CheckpointError::NeedsReopen`], reopen the ledger.
    #[error("{0}")]
    Checkpoint(#[from] CheckpointError),
    /// Re-deriving an account or a pair from the log would read more than
    /// [`MAX_REDERIVE_RECORDS`] records or look up more than [`MAX_REDERIVE_NAMES`] names (its
    /// cluster spans a large part of the marketplace). Use `replay`, which rebuilds everything.
    #[error(
        "re-deriving {subject} would read more than {MAX_REDERIVE_RECORDS} records or look up \
         more than {MAX_REDERIVE_NAMES} names; replay the log instead"
    )]
    TooLarge {
        /// The account or pair asked about.
        subject: String,
    },
    /// An append stored a batch its kept state could not fold: the event was older than the
    /// horizon and the log could not be read to rebuild the state (`docs/retention.md`).
    /// Reopen the ledger; it rebuilds from the log.
    #[error("the kept state is behind the log; reopen the ledger")]
    NeedsReopen,
}

/// Opens the log and reads the projection snapshot at the same time, on two threads: each is
/// mostly the kernel handing out fresh pages, and at 10 million events each takes a good part
/// of a second. The snapshot is only read here; whether it belongs to the log is decided once
/// both are open ([`Ledger::check_snapshot`]). If the log does not open (another process holds
/// the ledger, say) or its open panics, the reader is told to stop at its next chunk rather
/// than decode a state nobody will use. Reads on this thread if no thread can be spawned (a
/// resource limit is not a reason to fail an open).
fn open_log_beside_snapshot(
    dir: &Path,
) -> (
    Result<SledLog, StoreError>,
    Result<(snapshot::Covered, snapshot::State), snapshot::Unusable>,
) {
    let abandon = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let reader = std::thread::Builder::new()
            .name("riskledger-snapshot".into())
            .spawn_scoped(scope, || snapshot::read(dir, &abandon));
        let unless_opened = AbandonOnDrop(&abandon);
        let log = riskledger_store::open_sled(dir, &SledOptions::default());
        if log.is_ok() {
            std::mem::forget(unless_opened);
        } else {
            drop(unless_opened);
        }
        let snapshot = match reader {
            Ok(reader) => reader
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            Err(_) if log.is_ok() => snapshot::read(dir, &abandon),
            Err(_) => Err(snapshot::Unusable::Abandoned),
        };
        (log, snapshot)
    })
}

/// Sets the flag when dropped, including while a panic unwinds.
struct AbandonOnDrop<'a>(&'a AtomicBool);

impl Drop for AbandonOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Opening a ledger writes a snapshot when it replayed at least this many events of tail (or
/// `snapshot_every_events`, if smaller).
const OPEN_SNAPSHOT_AFTER_EVENTS: u64 = 65_536;

/// How to open a ledger.
///
/// ```
/// # use riskledger::{events::json::parse_line, AppendOptions, Ledger, LedgerOptions, Level, Policy, Subject};
/// # let dir = tempfile::tempdir()?;
/// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
/// # let contract = line(1, r#"{"id":"k","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#);
/// # let flag = line(2, r#"{"id":"f","type":"flag_raised","at":"2025-02-01T08:00:00Z","flag":"fl-1","reporter":"system","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#);
/// let options = LedgerOptions { snapshot_every_events: 10_000, ..LedgerOptions::default() };
/// let mut ledger = Ledger::open_with(dir.path(), options)?;
/// ledger.append(&[contract], &AppendOptions::default())?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct LedgerOptions {
    /// The policy every evaluation uses (`spec/policy.md` defaults unless given).
    pub policy: Policy,
    /// Write a snapshot of the projections once this many events were folded since the last
    /// one (by appends, or by the tail replayed on open). Snapshots are also written on close.
    pub snapshot_every_events: u64,
}

impl Default for LedgerOptions {
    fn default() -> Self {
        LedgerOptions {
            policy: Policy::default(),
            snapshot_every_events: 1_000_000,
        }
    }
}

/// An open ledger: the log in a directory and every projection, kept current.
///
/// ```
/// # use riskledger::{events::json::parse_line, AppendOptions, Ledger, LedgerOptions, Level, Policy, Subject};
/// # let dir = tempfile::tempdir()?;
/// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
/// # let contract = line(1, r#"{"id":"k","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#);
/// # let flag = line(2, r#"{"id":"f","type":"flag_raised","at":"2025-02-01T08:00:00Z","flag":"fl-1","reporter":"system","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#);
/// let mut ledger = Ledger::open(dir.path())?;
/// ledger.append(&[contract, flag], &AppendOptions::default())?;
/// assert_eq!(ledger.pair("c-1", "f-1", None)?.unwrap().level, Level::Medium);
/// ledger.close()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Ledger {
    log: SledLog,
    dir: PathBuf,
    policy: Policy,
    kept: Kept,
    snapshot_every_events: u64,
    /// The seq the last snapshot (written or loaded) covers.
    snapshot_seq: u64,
    /// An append stored a batch its books could not fold: appends and snapshots refuse
    /// until the ledger is reopened.
    books_behind_log: bool,
}

/// An account's dossier in `books` at `at` (`None`: nothing happened yet).
fn dossier_of(
    books: &Books,
    policy: &Policy,
    account: &str,
    at: Option<Timestamp>,
) -> AccountDossier {
    let signals = at.and_then(|at| books.accounts.report(&policy.accounts, account, at));
    let pairs = at.map_or_else(Vec::new, |at| {
        books.pairs.reports_for_account(&policy.pairs, account, at)
    });
    let level = signals
        .iter()
        .map(|s| s.level)
        .chain(pairs.iter().map(|p| p.level))
        .max()
        .unwrap_or(Level::None);
    AccountDossier {
        account: account.to_owned(),
        as_of: at.map(Timestamp::to_rfc3339),
        policy_digest: policy.digest(),
        level,
        signals,
        pairs,
    }
}

/// What a ledger keeps beside its log, all derived from it and current to its head.
struct Kept {
    books: Books,
    feed: Feed,
    /// Where each subject's records are (`finder.rs`).
    finder: Finder,
}

impl Kept {
    /// Folds the record at `seq`, the one after the head they were current to. Callers fold a
    /// batch (an append, an open's tail) and then [`Kept::compact`].
    ///
    /// An event older than the books' horizon needs history they no longer hold: the books
    /// are rebuilt exactly from the log up to the record before it (as a replay would), and
    /// stay exact, with no horizon, until the batch is compacted; so a batch costs one rebuild
    /// at most, however many old events it holds. Rare: an account event must be
    /// `retention.memory_days` late or more. The feed and the finder are not affected.
    fn fold<B: Backend>(
        &mut self,
        seq: u64,
        event: &Event,
        policy: &Policy,
        backend: &B,
    ) -> Result<(), StoreError> {
        if self.books.is_before_horizon(event) {
            tracing::info!(seq, id = %event.id, "an event older than the horizon: rebuilding the books from the log");
            self.books = rebuild::rebuild(backend, Some(seq.saturating_sub(1)), None)?.0;
        }
        self.books.apply(event);
        self.feed.observe(seq, event, &self.books, policy);
        self.finder.note(seq, event);
        Ok(())
    }

    /// Compacts the books at the policy's boundary for their latest event
    /// (`docs/retention.md`): after every batch, so that what a snapshot stores and a digest
    /// hashes is always the state compacted there.
    fn compact(&mut self, policy: &Policy) {
        self.books.compact(policy);
    }
}

/// Everything known about one account at `T`: its own signals and the pairs it is in.
///
/// ```
/// # use riskledger::{events::json::parse_line, AppendOptions, Ledger, LedgerOptions, Level, Policy, Subject};
/// # let dir = tempfile::tempdir()?;
/// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
/// # let contract = line(1, r#"{"id":"k","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#);
/// # let flag = line(2, r#"{"id":"f","type":"flag_raised","at":"2025-02-01T08:00:00Z","flag":"fl-1","reporter":"system","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#);
/// let mut ledger = Ledger::open(dir.path())?;
/// ledger.append(&[contract, flag], &AppendOptions::default())?;
/// let dossier = ledger.dossier("c-1", None)?;
/// assert_eq!(dossier.signals, None); // no login, payout or opening for c-1
/// assert_eq!(dossier.pairs[0].freelancer, "f-1");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Serialize)]
pub struct AccountDossier {
    /// The account's id.
    pub account: String,
    /// The evaluation time, RFC 3339; `None` for an empty ledger.
    pub as_of: Option<String>,
    /// The digest of the policy every figure was computed under.
    pub policy_digest: String,
    /// The highest level among the account's own signals and its pairs.
    pub level: Level,
    /// The account's leased/shared-account signals; `None` when it has no event by `T`.
    pub signals: Option<AccountReport>,
    /// Every pair the account is in, at any level, sorted by client then freelancer.
    pub pairs: Vec<PairReport>,
}

impl Ledger {
    /// Opens the ledger in `dir` with the default policy, creating an empty one if there is none.
    ///
    /// ```
    /// # use riskledger::{events::json::parse_line, AppendOptions, Ledger, LedgerOptions, Level, Policy, Subject};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let contract = line(1, r#"{"id":"k","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#);
    /// # let flag = line(2, r#"{"id":"f","type":"flag_raised","at":"2025-02-01T08:00:00Z","flag":"fl-1","reporter":"system","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#);
    /// let ledger = Ledger::open(dir.path())?; // creates an empty ledger
    /// assert_eq!(ledger.head().seq, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(dir: &Path) -> Result<Self, LedgerError> {
        Self::open_with(dir, LedgerOptions::default())
    }

    /// Opens the ledger in `dir`, creating an empty one if there is none, and folds the log into
    /// the projections.
    ///
    /// ```
    /// # use riskledger::{events::json::parse_line, AppendOptions, Ledger, LedgerOptions, Level, Policy, Subject};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let contract = line(1, r#"{"id":"k","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#);
    /// # let flag = line(2, r#"{"id":"f","type":"flag_raised","at":"2025-02-01T08:00:00Z","flag":"fl-1","reporter":"system","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#);
    /// let mut policy = Policy::default();
    /// policy.pairs.fee_basis_points = 1000; // 10% instead of the spec's 12%
    /// let mut ledger = Ledger::open_with(dir.path(), LedgerOptions { policy, ..LedgerOptions::default() })?;
    /// ledger.append(&[contract, flag], &AppendOptions::default())?;
    /// assert_eq!(ledger.pair("c-1", "f-1", None)?.unwrap().conversion_fee_minor, 520_000);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open_with(dir: &Path, options: LedgerOptions) -> Result<Self, LedgerError> {
        let (log, snapshot) = open_log_beside_snapshot(dir);
        let log = log?;
        let (state, snapshot_seq) = Self::check_snapshot(snapshot, &log, &options.policy);
        let mut ledger = Ledger {
            log,
            dir: dir.to_owned(),
            policy: options.policy,
            kept: Kept {
                books: state.books,
                feed: state.feed,
                finder: state.finder,
            },
            snapshot_every_events: options.snapshot_every_events.max(1),
            snapshot_seq,
            books_behind_log: false,
        };
        for record in ledger.log.records(snapshot_seq + 1) {
            let record = record?;
            let backend = ledger.log.backend();
            ledger
                .kept
                .fold(record.seq, &record.event, &ledger.policy, backend)?;
        }
        ledger.kept.compact(&ledger.policy);
        let tail = ledger.log.head().seq - snapshot_seq;
        if tail >= OPEN_SNAPSHOT_AFTER_EVENTS.min(ledger.snapshot_every_events) {
            // A long tail was just replayed: keep the result, so that the next open (a CLI
            // query, say) does not replay it again.
            ledger.snapshot_or_warn();
        }
        Ok(ledger)
    }

    /// The snapshot's state and the seq it covers, when the snapshot belongs to this log and
    /// this policy; otherwise an empty state at seq 0 (rebuild from the log).
    fn check_snapshot(
        snapshot: Result<(snapshot::Covered, snapshot::State), snapshot::Unusable>,
        log: &SledLog,
        policy: &Policy,
    ) -> (snapshot::State, u64) {
        let (covered, state) = match snapshot {
            Ok(found) => found,
            Err(snapshot::Unusable::Absent) => return Default::default(),
            Err(why) => {
                tracing::warn!(%why, "projection snapshot unusable; rebuilding from the log");
                return Default::default();
            }
        };
        let belongs = covered.seq <= log.head().seq
            && state.books.events() == covered.seq
            && state.feed.seq() == covered.seq
            && state.finder.seq() == covered.seq
            && state.finder.is_whole()
            && log
                .hash_at(covered.seq)
                .is_ok_and(|hash| hash == covered.hash);
        if !belongs {
            tracing::warn!(
                seq = covered.seq,
                "projection snapshot is not of this log; rebuilding"
            );
            return Default::default();
        }
        if state.policy_digest != policy.digest() {
            // The feed's history of levels and the books' compaction depend on it.
            tracing::info!("projection snapshot was made under another policy; rebuilding");
            return Default::default();
        }
        (state, covered.seq)
    }

    /// The seq the last snapshot (loaded on open, or written since) covers; 0 for none.
    ///
    /// ```
    /// # use riskledger::{events::json::parse_line, AppendOptions, Ledger, LedgerOptions, Level, Policy, Subject};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let contract = line(1, r#"{"id":"k","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#);
    /// # let flag = line(2, r#"{"id":"f","type":"flag_raised","at":"2025-02-01T08:00:00Z","flag":"fl-1","reporter":"system","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#);
    /// let mut ledger = Ledger::open(dir.path())?;
    /// ledger.append(&[contract], &AppendOptions::default())?;
    /// assert_eq!(ledger.snapshot_seq(), 0);
    /// ledger.snapshot()?;
    /// assert_eq!(ledger.snapshot_seq(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn snapshot_seq(&self) -> u64 {
        self.snapshot_seq
    }

    /// Writes a snapshot of the projections now, covering the head.
    ///
    /// ```
    /// # use riskledger::{events::json::parse_line, AppendOptions, Ledger, LedgerOptions, Level, Policy, Subject};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let contract = line(1, r#"{"id":"k","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#);
    /// # let flag = line(2, r#"{"id":"f","type":"flag_raised","at":"2025-02-01T08:00:00Z","flag":"fl-1","reporter":"system","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#);
    /// let mut ledger = Ledger::open(dir.path())?;
    /// ledger.append(&[contract], &AppendOptions::default())?;
    /// ledger.snapshot()?; // the next open replays nothing
    /// assert!(dir.path().join("projections.snapshot").exists());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn snapshot(&mut self) -> Result<(), LedgerError> {
        if self.books_behind_log {
            return Err(LedgerError::NeedsReopen);
        }
        let head = self.log.head();
        snapshot::write(
            &self.dir,
            snapshot::Covered {
                seq: head.seq,
                hash: head.hash,
            },
            snapshot::StateRef {
                policy_digest: &self.policy.digest(),
                books: &self.kept.books,
                feed: &self.kept.feed,
                finder: &self.kept.finder,
            },
        )?;
        self.snapshot_seq = head.seq;
        if self.log.checkpoint_seq() != head.seq {
            self.log.checkpoint()?;
        }
        Ok(())
    }

    fn snapshot_if_due(&mut self) {
        if self.log.head().seq - self.snapshot_seq >= self.snapshot_every_events {
            self.snapshot_or_warn();
        }
    }

    fn snapshot_or_warn(&mut self) {
        if let Err(err) = self.snapshot() {
            // Derived state: the log is intact, the next open only replays more.
            tracing::warn!(%err, "projection snapshot not written");
        }
    }

    /// Snapshots the projections (when anything changed since the last snapshot) and closes.
    ///
    /// ```
    /// # use riskledger::{events::json::parse_line, AppendOptions, Ledger, Level};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let contract = line(1, r#"{"id":"k","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#);
    /// let mut ledger = Ledger::open(dir.path())?;
    /// ledger.append(&[contract], &AppendOptions::default())?;
    /// ledger.close()?; // writes a snapshot of the projections
    /// let reopened = Ledger::open(dir.path())?;
    /// assert_eq!(reopened.snapshot_seq(), 1); // loaded it: nothing to replay
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn close(mut self) -> Result<(), LedgerError> {
        if self.log.head().seq != self.snapshot_seq {
            self.snapshot()?;
        }
        Ok(())
    }

    /// Opens the ledger in `dir`; fails with [`LedgerError::Missing`] when there is none.
    ///
    /// ```
    /// # use riskledger::{events::json::parse_line, AppendOptions, Ledger, LedgerOptions, Level, Policy, Subject};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let contract = line(1, r#"{"id":"k","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#);
    /// # let flag = line(2, r#"{"id":"f","type":"flag_raised","at":"2025-02-01T08:00:00Z","flag":"fl-1","reporter":"system","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#);
    /// let missing = Ledger::open_existing(&dir.path().join("nothing"), LedgerOptions::default());
    /// assert!(matches!(missing, Err(riskledger::LedgerError::Missing(_))));
    /// Ledger::open(dir.path())?.close()?;
    /// assert!(Ledger::open_existing(dir.path(), LedgerOptions::default()).is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open_existing(dir: &Path, options: LedgerOptions) -> Result<Self, LedgerError> {
        if !Self::exists(dir) {
            return Err(LedgerError::Missing(dir.to_owned()));
        }
        Self::open_with(dir, options)
    }

    /// Whether `dir` holds a ledger.
    ///
    /// ```
    /// # use riskledger::{events::json::parse_line, AppendOptions, Ledger, LedgerOptions, Level, Policy, Subject};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let contract = line(1, r#"{"id":"k","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#);
    /// # let flag = line(2, r#"{"id":"f","type":"flag_raised","at":"2025-02-01T08:00:00Z","flag":"fl-1","reporter":"system","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#);
    /// assert!(!Ledger::exists(dir.path()));
    /// Ledger::open(dir.path())?.close()?;
    /// assert!(Ledger::exists(dir.path()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn exists(dir: &Path) -> bool {
        riskledger_store::SledBackend::exists(dir)
    }

    ///
    /// ```
    /// # use riskledger::{events::json::parse_line, AppendOptions, Ledger, LedgerOptions, Level, Policy, Subject};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let contract = line(1, r#"{"id":"k","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#);
    /// # let flag = line(2, r#"{"id":"f","type":"flag_raised","at":"2025-02-01T08:00:00Z","flag":"fl-1","reporter":"system","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#);
    /// let ledger = Ledger::open(dir.path())?;
    /// assert_eq!(ledger.dir(), dir.path());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    ///
    /// ```
    /// # use riskledger::{events::json::parse_line, AppendOptions, Ledger, LedgerOptions, Level, Policy, Subject};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let contract = line(1, r#"{"id":"k","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#);
    /// # let flag = line(2, r#"{"id":"f","type":"flag_raised","at":"2025-02-01T08:00:00Z","flag":"fl-1","reporter":"system","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#);
    /// let mut ledger = Ledger::open(dir.path())?;
    /// let receipt = ledger.append(&[contract], &AppendOptions::default())?;
    /// assert_eq!(ledger.head(), receipt.head);
    /// assert_eq!(ledger.head().seq, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn head(&self) -> Head {
        self.log.head()
    }

    ///
    /// ```
    /// # use riskledger::{events::json::parse_line, AppendOptions, Ledger, LedgerOptions, Level, Policy, Subject};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let contract = line(1, r#"{"id":"k","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#);
    /// # let flag = line(2, r#"{"id":"f","type":"flag_raised","at":"2025-02-01T08:00:00Z","flag":"fl-1","reporter":"system","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#);
    /// let ledger = Ledger::open(dir.path())?;
    /// assert_eq!(ledger.policy().pairs.window_months, 24); // the spec's default
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The projections as of now, compacted at their horizon ([`Books::horizon`]): exact at
    /// every `T` from it on. For an earlier `T`, ask [`Ledger::pair`], [`Ledger::pairs`],
    /// [`Ledger::account`] or [`Ledger::accounts`], which go to the log.
    ///
    /// ```
    /// # use riskledger::{events::json::parse_line, AppendOptions, Ledger, LedgerOptions, Level, Policy, Subject};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let contract = line(1, r#"{"id":"k","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#);
    /// # let flag = line(2, r#"{"id":"f","type":"flag_raised","at":"2025-02-01T08:00:00Z","flag":"fl-1","reporter":"system","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#);
    /// let mut ledger = Ledger::open(dir.path())?;
    /// ledger.append(&[contract, flag], &AppendOptions::default())?;
    /// assert_eq!(ledger.books().events(), 2);
    /// assert_eq!(ledger.books().pairs().len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn books(&self) -> &Books {
        &self.kept.books
    }

    /// Appends a batch durably (see [`riskledger_store::Log::append`]) and folds what was
    /// appended into the projections.
    ///
    /// ```
    /// # use riskledger::{events::json::parse_line, AppendOptions, Ledger, Level};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let contract = line(1, r#"{"id":"k","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#);
    /// let mut ledger = Ledger::open(dir.path())?;
    /// let receipt = ledger.append(&[contract.clone()], &AppendOptions::default())?;
    /// assert_eq!((receipt.appended, receipt.head.seq), (1, 1));
    /// // The same event again is a duplicate, across all history: nothing doubles.
    /// let again = ledger.append(&[contract], &AppendOptions::default())?;
    /// assert_eq!((again.appended, again.duplicates), (0, 1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn append(
        &mut self,
        events: &[Event],
        options: &AppendOptions,
    ) -> Result<Receipt, AppendError> {
        if self.books_behind_log {
            return Err(AppendError::NeedsReopen);
        }
        let receipt = self.log.append(events, options)?;
        for (event, outcome) in events.iter().zip(&receipt.outcomes) {
            if let Outcome::Appended(seq) = outcome {
                if let Err(error) = self
                    .kept
                    .fold(*seq, event, &self.policy, self.log.backend())
                {
                    // The batch is stored, but the books could not be rebuilt to fold it.
                    tracing::error!(%error, seq, "the books could not be rebuilt from the log");
                    self.books_behind_log = true;
                    return Err(AppendError::NeedsReopen);
                }
            }
        }
        self.kept.compact(&self.policy);
        self.snapshot_if_due();
        Ok(receipt)
    }

    /// Every record from `seq` on.
    ///
    /// ```
    /// # use riskledger::{events::json::parse_line, AppendOptions, Ledger, LedgerOptions, Level, Policy, Subject};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let contract = line(1, r#"{"id":"k","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#);
    /// # let flag = line(2, r#"{"id":"f","type":"flag_raised","at":"2025-02-01T08:00:00Z","flag":"fl-1","reporter":"system","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#);
    /// let mut ledger = Ledger::open(dir.path())?;
    /// ledger.append(&[contract, flag], &AppendOptions::default())?;
    /// let ids: Vec<String> = ledger.records(2).map(|r| r.map(|r| r.event.id)).collect::<Result<_, _>>()?;
    /// assert_eq!(ids, ["f"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn records(&self, from_seq: u64) -> impl Iterator<Item = Result<Record, StoreError>> + '_ {
        self.log.records(from_seq)
    }

    /// Every record from seq 1, with the hash chain recomputed as it is read.
    ///
    /// ```
    /// # use riskledger::{events::json::parse_line, AppendOptions, Ledger, LedgerOptions, Level, Policy, Subject};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let contract = line(1, r#"{"id":"k","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#);
    /// # let flag = line(2, r#"{"id":"f","type":"flag_raised","at":"2025-02-01T08:00:00Z","flag":"fl-1","reporter":"system","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#);
    /// let mut ledger = Ledger::open(dir.path())?;
    /// ledger.append(&[contract, flag], &AppendOptions::default())?;
    /// let last = ledger.records_verified().last().unwrap()?;
    /// assert_eq!((last.seq, last.hash), (2, ledger.head().hash));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn records_verified(&self) -> impl Iterator<Item = Result<Record, StoreError>> + '_ {
        self.log.records_verified()
    }

    /// Re-reads and checks the whole log.
    ///
    /// ```
    /// # use riskledger::{events::json::parse_line, AppendOptions, Ledger, Level};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let contract = line(1, r#"{"id":"k","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#);
    /// let mut ledger = Ledger::open(dir.path())?;
    /// ledger.append(&[contract], &AppendOptions::default())?;
    /// let verification = ledger.verify();
    /// assert!(verification.ok());
    /// assert_eq!(verification.head, ledger.head());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify(&self) -> Verification {
        self.log.verify()
    }

    /// The evaluation time: `as_of` when given, else the latest event time in the ledger.
    ///
    /// ```
    /// # use riskledger::{events::json::parse_line, AppendOptions, Ledger, LedgerOptions, Level, Policy, Subject};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let contract = line(1, r#"{"id":"k","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#);
    /// # let flag = line(2, r#"{"id":"f","type":"flag_raised","at":"2025-02-01T08:00:00Z","flag":"fl-1","reporter":"system","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#);
    /// let mut ledger = Ledger::open(dir.path())?;
    /// assert_eq!(ledger.evaluation_time(None), None); // nothing happened yet
    /// ledger.append(&[contract, flag], &AppendOptions::default())?;
    /// assert_eq!(ledger.evaluation_time(None).unwrap().to_rfc3339(), "2025-02-01T08:00:00Z");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn evaluation_time(&self, as_of: Option<Timestamp>) -> Option<Timestamp> {
        as_of.or(self.kept.books.latest_event_at())
    }

    /// One pair at `as_of` (default: the latest event time).
    ///
    /// ```
    /// # use riskledger::{events::json::parse_line, AppendOptions, Ledger, Level};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let contract = line(1, r#"{"id":"k","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#);
    /// # let flag = line(2, r#"{"id":"f","type":"flag_raised","at":"2025-02-01T08:00:00Z","flag":"fl-1","reporter":"system","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#);
    /// let mut ledger = Ledger::open(dir.path())?;
    /// ledger.append(&[contract, flag], &AppendOptions::default())?;
    /// let pair = ledger.pair("c-1", "f-1", None)?.expect("they met on the platform");
    /// assert_eq!(pair.level, Level::Medium);
    /// assert_eq!(pair.signals[0].events, ["f"]); // the evidence: the flag event
    /// let before_the_flag = riskledger::Timestamp::parse_rfc3339("2025-01-31T00:00:00Z")?;
    /// assert_eq!(ledger.pair("c-1", "f-1", Some(before_the_flag))?.unwrap().level, Level::None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// At a `T` before the kept state's horizon ([`Books::horizon`]) the answer is re-derived
    /// from the pair's records in the log ([`Ledger::rederive_pair`]): milliseconds, not
    /// microseconds, and an error if the log cannot be read.
    pub fn pair(
        &self,
        client: &str,
        freelancer: &str,
        as_of: Option<Timestamp>,
    ) -> Result<Option<PairReport>, LedgerError> {
        let Some(at) = self.evaluation_time(as_of) else {
            return Ok(None);
        };
        let report = |books: &Books| {
            books
                .pairs
                .report(&self.policy.pairs, client, freelancer, at)
        };
        if !self.kept.books.answers_at(at) {
            return match self.rederive_pair(client, freelancer, Some(at)) {
                Err(LedgerError::TooLarge { .. }) => Ok(report(&self.books_from_log(at)?)),
                answered => answered,
            };
        }
        Ok(report(&self.kept.books))
    }

    /// Every pair at or above `min_level`, sorted by client then freelancer.
    ///
    /// ```
    /// # use riskledger::{events::json::parse_line, AppendOptions, Ledger, Level};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let contract = line(1, r#"{"id":"k","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#);
    /// # let flag = line(2, r#"{"id":"f","type":"flag_raised","at":"2025-02-01T08:00:00Z","flag":"fl-1","reporter":"system","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#);
    /// let mut ledger = Ledger::open(dir.path())?;
    /// ledger.append(&[contract, flag], &AppendOptions::default())?;
    /// let at_risk = ledger.pairs(None, Level::Medium)?;
    /// assert_eq!((at_risk[0].client.as_str(), at_risk[0].conversion_fee_minor), ("c-1", 624_000));
    /// assert!(ledger.pairs(None, Level::High)?.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// At a `T` before the kept state's horizon ([`Books::horizon`]) the books are folded from
    /// the log's events up to `T`: seconds at millions of events.
    pub fn pairs(
        &self,
        as_of: Option<Timestamp>,
        min_level: Level,
    ) -> Result<Vec<PairReport>, LedgerError> {
        let Some(at) = self.evaluation_time(as_of) else {
            return Ok(Vec::new());
        };
        self.answer_at(at, |books| {
            books.pairs.reports(&self.policy.pairs, at, min_level)
        })
    }

    /// One account's leased/shared-account signals at `as_of`.
    ///
    /// ```
    /// # use riskledger::{events::json::parse_line, AppendOptions, Ledger, Level};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// let lines = [
    ///     r#"{"id":"l1","type":"login","at":"2025-01-01T09:00:00Z","account":"f-1","device":"d-1","ip":"10.0.0.1","lat":14.6,"lon":121.0,"country":"PH"}"#,
    ///     r#"{"id":"l2","type":"login","at":"2025-01-01T10:00:00Z","account":"f-1","device":"d-1","ip":"10.0.0.2","lat":52.5,"lon":13.4,"country":"DE"}"#,
    /// ];
    /// let logins: Vec<_> = lines.iter().enumerate().map(|(i, l)| line(i as u64 + 1, l)).collect();
    /// let mut ledger = Ledger::open(dir.path())?;
    /// ledger.append(&logins, &AppendOptions::default())?;
    /// let account = ledger.account("f-1", None)?.unwrap();
    /// assert_eq!(account.level, Level::High); // Manila to Berlin in an hour
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// At a `T` before the kept state's horizon ([`Books::horizon`]) the answer is re-derived
    /// from the account's records in the log ([`Ledger::rederive`]): milliseconds, not
    /// microseconds, and an error if the log cannot be read.
    pub fn account(
        &self,
        account: &str,
        as_of: Option<Timestamp>,
    ) -> Result<Option<AccountReport>, LedgerError> {
        let Some(at) = self.evaluation_time(as_of) else {
            return Ok(None);
        };
        if !self.kept.books.answers_at(at) {
            return Ok(self.dossier_from_log(account, at)?.signals);
        }
        Ok(self
            .kept
            .books
            .accounts
            .report(&self.policy.accounts, account, at))
    }

    /// Every account at or above `min_level`, sorted by id.
    ///
    /// ```
    /// # use riskledger::{events::json::parse_line, AppendOptions, Ledger, Level};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// let mut ledger = Ledger::open(dir.path())?;
    /// ledger.append(&[line(1, r#"{"id":"a","type":"account_opened","at":"2025-01-01T00:00:00Z","account":"c-1","role":"client","country":"US"}"#)], &AppendOptions::default())?;
    /// assert!(ledger.accounts(None, Level::Low)?.is_empty());
    /// assert_eq!(ledger.accounts(None, Level::None)?.len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// At a `T` before the kept state's horizon ([`Books::horizon`]) the books are folded from
    /// the log's events up to `T`: seconds at millions of events.
    pub fn accounts(
        &self,
        as_of: Option<Timestamp>,
        min_level: Level,
    ) -> Result<Vec<AccountReport>, LedgerError> {
        let Some(at) = self.evaluation_time(as_of) else {
            return Ok(Vec::new());
        };
        self.answer_at(at, |books| {
            books.accounts.reports(&self.policy.accounts, at, min_level)
        })
    }

    /// Everything known about one account: its signals and its pairs, with evidence.
    ///
    /// ```
    /// # use riskledger::{events::json::parse_line, AppendOptions, Ledger, Level};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let contract = line(1, r#"{"id":"k","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#);
    /// # let flag = line(2, r#"{"id":"f","type":"flag_raised","at":"2025-02-01T08:00:00Z","flag":"fl-1","reporter":"system","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#);
    /// let mut ledger = Ledger::open(dir.path())?;
    /// ledger.append(&[contract, flag], &AppendOptions::default())?;
    /// let dossier = ledger.dossier("f-1", None)?;
    /// assert_eq!((dossier.level, dossier.pairs.len()), (Level::Medium, 1));
    /// assert_eq!(dossier.policy_digest, ledger.policy().digest());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// Before the kept state's horizon, re-derived from the log as [`Ledger::account`] is.
    pub fn dossier(
        &self,
        account: &str,
        as_of: Option<Timestamp>,
    ) -> Result<AccountDossier, LedgerError> {
        let at = self.evaluation_time(as_of);
        if let Some(at) = at.filter(|&at| !self.kept.books.answers_at(at)) {
            return self.dossier_from_log(account, at);
        }
        Ok(dossier_of(&self.kept.books, &self.policy, account, at))
    }

    /// Rebuilds every projection from this ledger's log alone (see [`replay`]), leaving the
    /// ledger's own state untouched: the auditor's check that the kept state is the log's.
    ///
    /// ```
    /// # use riskledger::{events::json::parse_line, AppendOptions, Ledger, Level};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let contract = line(1, r#"{"id":"k","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#);
    /// let mut ledger = Ledger::open(dir.path())?;
    /// ledger.append(&[contract], &AppendOptions::default())?;
    /// let (replay, _books) = ledger.replay(None, None)?;
    /// assert_eq!(replay.state_digest, ledger.state_digest()); // the kept state is the log's
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn replay(
        &self,
        until_seq: Option<u64>,
        as_of: Option<Timestamp>,
    ) -> Result<(Replay, Books), LedgerError> {
        replay_backend(self.log.backend(), &self.policy, until_seq, as_of)
    }

    /// An account's dossier at a `T` before the horizon: re-derived from its records, or, for
    /// a cluster too large to re-derive, from books rebuilt from the log up to `T`.
    fn dossier_from_log(
        &self,
        account: &str,
        at: Timestamp,
    ) -> Result<AccountDossier, LedgerError> {
        match self.rederive(account, Some(at)) {
            Err(LedgerError::TooLarge { .. }) => {
                let books = self.books_from_log(at)?;
                Ok(dossier_of(&books, &self.policy, account, Some(at)))
            }
            answered => answered,
        }
    }

    /// `answer` asked of books exact at `at`: the kept ones from their horizon on, before it
    /// books folded from the log up to `at`.
    fn answer_at<R>(&self, at: Timestamp, answer: impl Fn(&Books) -> R) -> Result<R, LedgerError> {
        if self.kept.books.answers_at(at) {
            return Ok(answer(&self.kept.books));
        }
        Ok(answer(&self.books_from_log(at)?))
    }

    /// Books folded exactly from the log's events up to `T` (never compacted: exact at `T`).
    fn books_from_log(&self, at: Timestamp) -> Result<Books, LedgerError> {
        Ok(rebuild::rebuild(self.log.backend(), None, Some(at))?.0)
    }

    /// The digest of the current state (see [`Books::digest`]).
    ///
    /// ```
    /// # use riskledger::{events::json::parse_line, AppendOptions, Ledger, LedgerOptions, Level, Policy, Subject};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let contract = line(1, r#"{"id":"k","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#);
    /// # let flag = line(2, r#"{"id":"f","type":"flag_raised","at":"2025-02-01T08:00:00Z","flag":"fl-1","reporter":"system","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#);
    /// let mut ledger = Ledger::open(dir.path())?;
    /// ledger.append(&[contract, flag], &AppendOptions::default())?;
    /// let digest = ledger.state_digest();
    /// assert_eq!(digest.len(), 64); // BLAKE3, hex
    /// drop(ledger);
    /// assert_eq!(riskledger::replay(dir.path(), &Policy::default(), None, None)?.0.state_digest, digest);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn state_digest(&self) -> String {
        self.kept.books.digest(&self.policy)
    }

    /// Every level change caused by records with `seq >= from_seq`, in log order (by seq,
    /// then accounts before pairs, each by name). The feed is a function of the log alone, so
    /// the same `from_seq` gives the same changes after a restart, a snapshot or a re-batching.
    ///
    /// ```
    /// # use riskledger::{events::json::parse_line, AppendOptions, Ledger, Level, Subject};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let contract = line(1, r#"{"id":"k","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#);
    /// # let flag = line(2, r#"{"id":"f","type":"flag_raised","at":"2025-02-01T08:00:00Z","flag":"fl-1","reporter":"system","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#);
    /// let mut ledger = Ledger::open(dir.path())?;
    /// ledger.append(&[contract, flag], &AppendOptions::default())?;
    /// let changes = ledger.changes(1);
    /// assert_eq!(changes.len(), 1);
    /// assert_eq!((changes[0].seq, changes[0].from, changes[0].to), (2, Level::None, Level::Medium));
    /// assert_eq!(changes[0].subject, Subject::pair("c-1", "f-1"));
    /// assert!(ledger.changes(3).is_empty()); // nothing after the flag yet
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn changes(&self, from_seq: u64) -> &[LevelChange] {
        self.kept.feed.changes_from(from_seq)
    }

    /// The changes a subscriber has not seen yet; moves the subscription past them. A
    /// subscriber that keeps [`Subscription::next_seq`] (in its own database, say) resumes
    /// after a restart with [`Subscription::from_seq`], missing nothing and seeing nothing
    /// twice.
    ///
    /// ```
    /// # use riskledger::{events::json::parse_line, AppendOptions, Ledger, Level, Subscription};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let contract = line(1, r#"{"id":"k","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#);
    /// # let flag = line(2, r#"{"id":"f","type":"flag_raised","at":"2025-02-01T08:00:00Z","flag":"fl-1","reporter":"system","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#);
    /// # let confirmed = line(3, r#"{"id":"r","type":"flag_resolved","at":"2025-02-03T08:00:00Z","flag":"fl-1","outcome":"confirmed"}"#);
    /// let mut ledger = Ledger::open(dir.path())?;
    /// let mut subscription = Subscription::from_seq(1);
    /// ledger.append(&[contract, flag], &AppendOptions::default())?;
    /// assert_eq!(ledger.poll(&mut subscription)[0].to, Level::Medium);
    /// ledger.append(&[confirmed], &AppendOptions::default())?;
    /// let news = ledger.poll(&mut subscription);
    /// assert_eq!((news.len(), news[0].seq, news[0].to), (1, 3, Level::High));
    /// assert_eq!(subscription.next_seq(), 4);
    /// assert!(ledger.poll(&mut subscription).is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn poll(&self, subscription: &mut Subscription) -> &[LevelChange] {
        let changes = self.kept.feed.changes_from(subscription.next_seq);
        subscription.next_seq = subscription.next_seq.max(self.kept.feed.seq() + 1);
        changes
    }

    /// The level `subject` had right after record `seq` ("what did the ledger know after
    /// record N"), from the change feed: no replay.
    ///
    /// ```
    /// # use riskledger::{events::json::parse_line, AppendOptions, Ledger, Level, Subject};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let contract = line(1, r#"{"id":"k","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#);
    /// # let flag = line(2, r#"{"id":"f","type":"flag_raised","at":"2025-02-01T08:00:00Z","flag":"fl-1","reporter":"system","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#);
    /// let mut ledger = Ledger::open(dir.path())?;
    /// ledger.append(&[contract, flag], &AppendOptions::default())?;
    /// let pair = Subject::pair("c-1", "f-1");
    /// assert_eq!(ledger.level_after_seq(&pair, 1), Level::None);
    /// assert_eq!(ledger.level_after_seq(&pair, 2), Level::Medium);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn level_after_seq(&self, subject: &Subject, seq: u64) -> Level {
        self.kept.feed.level_after(subject, seq)
    }

    /// The current level of `subject`, as the change feed last recorded it.
    ///
    /// ```
    /// # use riskledger::{events::json::parse_line, AppendOptions, Ledger, LedgerOptions, Level, Policy, Subject};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let contract = line(1, r#"{"id":"k","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#);
    /// # let flag = line(2, r#"{"id":"f","type":"flag_raised","at":"2025-02-01T08:00:00Z","flag":"fl-1","reporter":"system","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#);
    /// let mut ledger = Ledger::open(dir.path())?;
    /// ledger.append(&[contract, flag], &AppendOptions::default())?;
    /// assert_eq!(ledger.level(&Subject::pair("c-1", "f-1")), Level::Medium);
    /// assert_eq!(ledger.level(&Subject::account("nobody")), Level::None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn level(&self, subject: &Subject) -> Level {
        self.kept.feed.level(subject)
    }
}

/// A subscriber's position in the change feed: the first seq whose changes it has not seen.
/// Persist [`Subscription::next_seq`] to resume after a restart.
///
/// ```
/// # use riskledger::{events::json::parse_line, AppendOptions, Ledger, LedgerOptions, Level, Policy, Subject};
/// # let dir = tempfile::tempdir()?;
/// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
/// # let contract = line(1, r#"{"id":"k","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#);
/// # let flag = line(2, r#"{"id":"f","type":"flag_raised","at":"2025-02-01T08:00:00Z","flag":"fl-1","reporter":"system","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#);
/// let mut ledger = Ledger::open(dir.path())?;
/// let mut subscription = riskledger::Subscription::from_seq(1);
/// ledger.append(&[contract, flag], &AppendOptions::default())?;
/// for change in ledger.poll(&mut subscription) {
///     assert_eq!(change.to, Level::Medium); // react: open a case, hold a payout...
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Subscription {
    next_seq: u64,
}

impl Subscription {
    /// A subscription that starts with the changes of record `seq` (1 for all history).
    ///
    /// ```
    /// # use riskledger::{events::json::parse_line, AppendOptions, Ledger, LedgerOptions, Level, Policy, Subject};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let contract = line(1, r#"{"id":"k","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#);
    /// # let flag = line(2, r#"{"id":"f","type":"flag_raised","at":"2025-02-01T08:00:00Z","flag":"fl-1","reporter":"system","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#);
    /// let mut ledger = Ledger::open(dir.path())?;
    /// ledger.append(&[contract, flag], &AppendOptions::default())?;
    /// // A subscriber that saved next_seq = 3 before a restart sees nothing old again.
    /// let mut resumed = riskledger::Subscription::from_seq(3);
    /// assert!(ledger.poll(&mut resumed).is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_seq(seq: u64) -> Self {
        Subscription { next_seq: seq }
    }

    /// The first seq whose changes the subscriber has not been given.
    ///
    /// ```
    /// # use riskledger::{events::json::parse_line, AppendOptions, Ledger, LedgerOptions, Level, Policy, Subject};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let contract = line(1, r#"{"id":"k","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#);
    /// # let flag = line(2, r#"{"id":"f","type":"flag_raised","at":"2025-02-01T08:00:00Z","flag":"fl-1","reporter":"system","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#);
    /// let mut ledger = Ledger::open(dir.path())?;
    /// let mut subscription = riskledger::Subscription::from_seq(1);
    /// ledger.append(&[contract, flag], &AppendOptions::default())?;
    /// ledger.poll(&mut subscription);
    /// assert_eq!(subscription.next_seq(), 3); // save it; resume with from_seq(3)
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }
}

/// What a replay rebuilt.
///
/// ```
/// # use riskledger::{events::json::parse_line, AppendOptions, Ledger, LedgerOptions, Level, Policy, Subject};
/// # let dir = tempfile::tempdir()?;
/// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
/// # let contract = line(1, r#"{"id":"k","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#);
/// # let flag = line(2, r#"{"id":"f","type":"flag_raised","at":"2025-02-01T08:00:00Z","flag":"fl-1","reporter":"system","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#);
/// Ledger::open(dir.path())?.append(&[contract, flag], &AppendOptions::default())?;
/// let (replay, _) = riskledger::replay(dir.path(), &Policy::default(), None, None)?;
/// assert_eq!((replay.events, replay.head_seq), (2, 2));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Replay {
    /// Events folded into the state.
    pub events: u64,
    /// The last seq read.
    pub head_seq: u64,
    /// The digest of the rebuilt state under the policy given ([`Books::digest`]): equal to a
    /// live ledger's [`Ledger::state_digest`] over the same records.
    pub state_digest: String,
}

/// Rebuilds every projection from the log in `dir` alone, verifying the hash chain as it reads:
/// up to `until_seq` when given ("what did the ledger know after record N"), and counting only
/// events with `at <= as_of` when given ("the state of that moment"). For a ledger this process
/// has open, use [`Ledger::replay`].
///
/// The log is read on the calling thread while a second thread folds what was read, in seq
/// order: the result is the sequential fold's, and a damaged log fails with the first bad seq.
/// The books returned are compacted as a ledger keeps them (the digest describes that state):
/// they answer exactly from [`Books::horizon`] on.
///
/// ```
/// # use riskledger::{events::json::parse_line, AppendOptions, Ledger, LedgerOptions, Level, Policy, Subject};
/// # let dir = tempfile::tempdir()?;
/// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
/// # let contract = line(1, r#"{"id":"k","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#);
/// # let flag = line(2, r#"{"id":"f","type":"flag_raised","at":"2025-02-01T08:00:00Z","flag":"fl-1","reporter":"system","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#);
/// Ledger::open(dir.path())?.append(&[contract.clone(), flag], &AppendOptions::default())?;
/// let (replay, books) = riskledger::replay(dir.path(), &Policy::default(), Some(1), None)?;
/// assert_eq!((replay.events, replay.head_seq), (1, 1)); // what the ledger knew after record 1
/// assert_eq!(books.pairs().report(&Policy::default().pairs, "c-1", "f-1", contract.at).unwrap().level, Level::None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn replay(
    dir: &Path,
    policy: &Policy,
    until_seq: Option<u64>,
    as_of: Option<Timestamp>,
) -> Result<(Replay, Books), LedgerError> {
    if !Ledger::exists(dir) {
        return Err(LedgerError::Missing(dir.to_owned()));
    }
    let backend = riskledger_store::SledBackend::open(dir, &SledOptions::default())
        .map_err(StoreError::from)?;
    replay_backend(&backend, policy, until_seq, as_of)
}

fn replay_backend<B: riskledger_store::Backend>(
    backend: &B,
    policy: &Policy,
    until_seq: Option<u64>,
    as_of: Option<Timestamp>,
) -> Result<(Replay, Books), LedgerError> {
    let (mut books, head_seq) = rebuild::rebuild(backend, until_seq, as_of)?;
    books.compact(policy);
    let replay = Replay {
        events: books.events(),
        head_seq,
        state_digest: books.digest(policy),
    };
    Ok((replay, books))
}

/// Opens only the log in `dir` (no projections): for reading records, exporting, counting.
///
/// ```
/// # use riskledger::{events::json::parse_line, AppendOptions, Ledger, LedgerOptions, Level, Policy, Subject};
/// # let dir = tempfile::tempdir()?;
/// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
/// # let contract = line(1, r#"{"id":"k","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#);
/// # let flag = line(2, r#"{"id":"f","type":"flag_raised","at":"2025-02-01T08:00:00Z","flag":"fl-1","reporter":"system","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#);
/// assert!(riskledger::open_log(dir.path()).is_err()); // no ledger there yet
/// Ledger::open(dir.path())?.append(&[contract], &AppendOptions::default())?;
/// let log = riskledger::open_log(dir.path())?;
/// assert_eq!(log.head().seq, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn open_log(dir: &Path) -> Result<SledLog, LedgerError> {
    if !Ledger::exists(dir) {
        return Err(LedgerError::Missing(dir.to_owned()));
    }
    open_log_or_create(dir)
}

/// Opens only the log in `dir`, creating an empty one if there is none: for writers that keep
/// no projections (bulk loaders, benchmarks).
///
/// ```
/// # use riskledger::{events::json::parse_line, AppendOptions, Ledger, LedgerOptions, Level, Policy, Subject};
/// # let dir = tempfile::tempdir()?;
/// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
/// # let contract = line(1, r#"{"id":"k","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#);
/// # let flag = line(2, r#"{"id":"f","type":"flag_raised","at":"2025-02-01T08:00:00Z","flag":"fl-1","reporter":"system","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#);
/// let mut log = riskledger::open_log_or_create(dir.path())?;
/// let receipt = log.append(&[contract, flag], &AppendOptions::default())?;
/// assert_eq!(receipt.appended, 2); // durable; no projections kept
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn open_log_or_create(dir: &Path) -> Result<SledLog, LedgerError> {
    Ok(riskledger_store::open_sled(dir, &SledOptions::default())?)
}

/// Verifies the ledger in `dir` without opening it for writing, so that a ledger too damaged to
/// open still gets a precise report.
///
/// ```
/// # use riskledger::{events::json::parse_line, AppendOptions, Ledger, LedgerOptions, Level, Policy, Subject};
/// # let dir = tempfile::tempdir()?;
/// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
/// # let contract = line(1, r#"{"id":"k","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#);
/// # let flag = line(2, r#"{"id":"f","type":"flag_raised","at":"2025-02-01T08:00:00Z","flag":"fl-1","reporter":"system","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#);
/// Ledger::open(dir.path())?.append(&[contract, flag], &AppendOptions::default())?;
/// let verification = riskledger::verify_dir(dir.path())?;
/// assert!(verification.ok());
/// assert_eq!(verification.head.seq, 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn verify_dir(dir: &Path) -> Result<Verification, LedgerError> {
    if !Ledger::exists(dir) {
        return Err(LedgerError::Missing(dir.to_owned()));
    }
    riskledger_store::verify_sled(dir, &SledOptions::default())
        .map_err(|e| LedgerError::Store(e.into()))
}
