//! Re-deriving one account or pair from the log's records: the subject's records and its
//! cluster's, found through the finder, folded into fresh books. A consistency check of one
//! answer without a full replay, and the way a query or a late event will reach history the
//! live state no longer holds (`docs/retention.md`).
//!
//! What it trusts: the finder (kept beside the books and saved in the same snapshot) to point
//! at every range holding a subject's records, and the stored records as [`Ledger::records`]
//! reads them (block structure checked, hash chain not recomputed). It proves that the kept
//! projections agree with those records; that the records themselves were not altered is what
//! `verify` proves, and a state rebuilt from the log alone is what `replay` gives.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;

use riskledger_events::{Event, Name, NameKind};
use riskledger_store::Record;

use crate::{dossier_of, AccountDossier, Books, Ledger, LedgerError, PairReport, Timestamp};

/// The most records one re-derivation reads: an account, its pairs and its cluster are a few
/// thousand records; a device shared by a large part of the marketplace is a case for
/// `replay`.
///
/// ```
/// # use riskledger::{Ledger, MAX_REDERIVE_RECORDS};
/// # let dir = tempfile::tempdir()?;
/// let ledger = Ledger::open(dir.path())?;
/// // Beyond this many records, `rederive` answers `LedgerError::TooLarge` instead.
/// assert!(MAX_REDERIVE_RECORDS >= 1_000_000);
/// assert!(ledger.rederive("c-1", None)?.signals.is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const MAX_REDERIVE_RECORDS: usize = 1_000_000;

/// The most names (accounts, devices, contracts, flags) one re-derivation looks up: each costs
/// a pass over every filter of the finder (one per 1,024 seqs) and the ranges it points to.
///
/// ```
/// # use riskledger::MAX_REDERIVE_NAMES;
/// assert!(MAX_REDERIVE_NAMES >= 10_000); // a cluster of thousands of accounts still re-derives
/// ```
pub const MAX_REDERIVE_NAMES: usize = 10_000;

impl Ledger {
    /// Every record that names `name` (as account, device, contract or flag), in seq order,
    /// reading only the ranges of the log that may hold one.
    ///
    /// ```
    /// # use riskledger::{events::json::parse_line, AppendOptions, Ledger};
    /// use riskledger::events::Name;
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let contract = line(1, r#"{"id":"k","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#);
    /// # let opened = line(2, r#"{"id":"a","type":"account_opened","at":"2025-01-01T00:00:00Z","account":"c-2","role":"client","country":"US"}"#);
    /// let mut ledger = Ledger::open(dir.path())?;
    /// ledger.append(&[contract, opened], &AppendOptions::default())?;
    /// let records = ledger.records_naming(Name::account("f-1"))?;
    /// assert_eq!(records.iter().map(|r| r.seq).collect::<Vec<_>>(), [1]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn records_naming(&self, name: Name<'_>) -> Result<Vec<Record>, LedgerError> {
        let mut found = Vec::new();
        self.read_naming(name, |record| {
            found.push(record);
            ControlFlow::Continue(())
        })?;
        Ok(found)
    }

    /// [`Ledger::dossier`] re-derived from the log's records: the account's records, its
    /// contracts' and flags', and the records of every account it shares a device with,
    /// directly or through others (its cluster at any time), folded into fresh books and
    /// evaluated at the same `T`. Equal to [`Ledger::dossier`] unless the kept projections
    /// disagree with the log (see the module docs for what it trusts). Reads only the ranges
    /// the finder points to; fails with [`LedgerError::TooLarge`] past
    /// [`MAX_REDERIVE_RECORDS`] or [`MAX_REDERIVE_NAMES`].
    ///
    /// ```
    /// # use riskledger::{events::json::parse_line, AppendOptions, Ledger};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let contract = line(1, r#"{"id":"k","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#);
    /// # let flag = line(2, r#"{"id":"f","type":"flag_raised","at":"2025-02-01T08:00:00Z","flag":"fl-1","reporter":"system","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#);
    /// let mut ledger = Ledger::open(dir.path())?;
    /// ledger.append(&[contract, flag], &AppendOptions::default())?;
    /// let from_the_log = ledger.rederive("f-1", None)?;
    /// assert_eq!(serde_json::to_string(&from_the_log)?, serde_json::to_string(&ledger.dossier("f-1", None)?)?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn rederive(
        &self,
        account: &str,
        as_of: Option<Timestamp>,
    ) -> Result<AccountDossier, LedgerError> {
        let books = self.records_behind(account)?.fold();
        let at = self.evaluation_time(as_of);
        Ok(dossier_of(&books, &self.policy, account, at))
    }

    /// [`Ledger::pair`] re-derived from the log's records: those that name both accounts
    /// (contract starts, flags, exemptions), and those naming the contracts and flags they
    /// name (payments, ends, resolutions), folded into a fresh pair book and evaluated at the
    /// same `T`. Equal to [`Ledger::pair`] unless the kept projections disagree with the log.
    ///
    /// ```
    /// # use riskledger::{events::json::parse_line, AppendOptions, Ledger};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let contract = line(1, r#"{"id":"k","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#);
    /// # let flag = line(2, r#"{"id":"f","type":"flag_raised","at":"2025-02-01T08:00:00Z","flag":"fl-1","reporter":"system","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#);
    /// let mut ledger = Ledger::open(dir.path())?;
    /// ledger.append(&[contract, flag], &AppendOptions::default())?;
    /// assert_eq!(ledger.rederive_pair("c-1", "f-1", None)?, ledger.pair("c-1", "f-1", None)?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn rederive_pair(
        &self,
        client: &str,
        freelancer: &str,
        as_of: Option<Timestamp>,
    ) -> Result<Option<PairReport>, LedgerError> {
        let mut gathered = Gathered::new(format!("pair {client} / {freelancer}"));
        let other = Name::account(freelancer);
        let mut leads = BTreeSet::new();
        gathered.look_up()?;
        self.read_naming(Name::account(client), |record| {
            if !record.event.body.names().any(|name| name == other) {
                return ControlFlow::Continue(());
            }
            let names = record.event.body.names();
            leads.extend(
                names
                    .filter(|name| matches!(name.kind, NameKind::Contract | NameKind::Flag))
                    .map(owned),
            );
            gathered.keep(record)
        })?;
        gathered.within_limits()?;
        for (kind, id) in leads {
            gathered.look_up()?;
            self.read_naming(Name { kind, id: &id }, |record| gathered.keep(record))?;
            gathered.within_limits()?;
        }
        let books = gathered.fold();
        Ok(self.evaluation_time(as_of).and_then(|at| {
            books
                .pairs()
                .report(&self.policy.pairs, client, freelancer, at)
        }))
    }

    /// The records an account's dossier rests on, by seq: those naming the account; those
    /// naming its contracts and flags (payments, ends, resolutions); and, for its cluster,
    /// those naming every device it signed in on and every account seen on those devices, and
    /// so on until no new device or account appears.
    fn records_behind(&self, account: &str) -> Result<Gathered, LedgerError> {
        let mut gathered = Gathered::new(format!("account {account}"));
        // Names looked up or queued, by kind: searched by `&str`, so a name seen before is
        // not copied again (every login of an account names the same few devices).
        let mut seen: BTreeMap<NameKind, BTreeSet<String>> = BTreeMap::new();
        seen.entry(NameKind::Account)
            .or_default()
            .insert(account.to_owned());
        let mut todo = vec![owned(Name::account(account))];
        while let Some((kind, id)) = todo.pop() {
            gathered.look_up()?;
            let is_root = kind == NameKind::Account && id == account;
            self.read_naming(Name { kind, id: &id }, |record| {
                for to in record.event.body.names() {
                    let known = seen.entry(to.kind).or_default();
                    if follows(kind, is_root, to.kind) && !known.contains(to.id) {
                        known.insert(to.id.to_owned());
                        todo.push(owned(to));
                    }
                }
                gathered.keep(record)
            })?;
            gathered.within_limits()?;
        }
        Ok(gathered)
    }

    /// Calls `keep` with every record that names `name`, in seq order, until it breaks. Only
    /// the ranges the finder points to are read, and only records whose stored bytes contain
    /// the id's text are decoded (stored strings are their UTF-8 bytes, `docs/format.md`).
    /// A block two names share is read once per name: measured, reading each range once for a
    /// whole frontier of names was no faster (`benches/results/2026-11-22T1315-session5.txt`).
    fn read_naming(
        &self,
        name: Name<'_>,
        mut keep: impl FnMut(Record) -> ControlFlow<()>,
    ) -> Result<(), LedgerError> {
        let text = memchr::memmem::Finder::new(name.id.as_bytes());
        for (first, last) in self.kept.finder.ranges(name) {
            let candidates = self
                .log
                .records_in(first, last, |stored| text.find(stored).is_some())?;
            for record in candidates {
                if record.event.body.names().any(|named| named == name) && keep(record).is_break() {
                    return Ok(());
                }
            }
        }
        Ok(())
    }
}

/// The records one re-derivation has read, by seq, and what it has spent of its limits.
struct Gathered {
    subject: String,
    records: BTreeMap<u64, Event>,
    names: usize,
}

impl Gathered {
    fn new(subject: String) -> Self {
        Gathered {
            subject,
            records: BTreeMap::new(),
            names: 0,
        }
    }

    /// Counts one more name looked up.
    fn look_up(&mut self) -> Result<(), LedgerError> {
        self.names += 1;
        self.within_limits()
    }

    /// Keeps a record; breaks the reading once past [`MAX_REDERIVE_RECORDS`].
    fn keep(&mut self, record: Record) -> ControlFlow<()> {
        self.records.insert(record.seq, record.event);
        if self.records.len() > MAX_REDERIVE_RECORDS {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }

    fn within_limits(&self) -> Result<(), LedgerError> {
        if self.records.len() > MAX_REDERIVE_RECORDS || self.names > MAX_REDERIVE_NAMES {
            return Err(LedgerError::TooLarge {
                subject: self.subject.clone(),
            });
        }
        Ok(())
    }

    /// Fresh books of the records, folded in seq order.
    fn fold(self) -> Books {
        let mut books = Books::new();
        for event in self.records.values() {
            books.apply(event);
        }
        books
    }
}

/// Whether the records of a `from` name lead on to the `to` names they carry: accounts to their
/// devices and devices to their accounts (the cluster); the account asked about also to its
/// contracts and flags (its pairs). Nothing else: a cluster member's pairs are not the
/// account's.
fn follows(from: NameKind, from_root: bool, to: NameKind) -> bool {
    match (from, to) {
        (NameKind::Account, NameKind::Device) | (NameKind::Device, NameKind::Account) => true,
        (NameKind::Account, NameKind::Contract | NameKind::Flag) => from_root,
        _ => false,
    }
}

/// A name that outlives the record it was read from.
type OwnedName = (NameKind, String);

fn owned(name: Name<'_>) -> OwnedName {
    (name.kind, name.id.to_owned())
}

#[cfg(test)]
mod tests {
    use riskledger_events::json::parse_line;

    use crate::finder::Finder;
    use crate::{snapshot, AppendOptions, Ledger};

    /// A snapshot whose finder does not cover its seq (made by a bug, or forged) is not
    /// loaded: the state, finder included, is rebuilt from the log, and re-deriving finds the
    /// records again.
    #[test]
    fn a_snapshot_whose_finder_does_not_cover_it_is_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let line = |n: u64, text: &str| parse_line(n, text).unwrap();
        let events = [
            line(
                1,
                r#"{"id":"a","type":"account_opened","at":"2025-01-01T00:00:00Z","account":"f-1","role":"freelancer","country":"PH"}"#,
            ),
            line(
                2,
                r#"{"id":"l","type":"login","at":"2025-01-02T00:00:00Z","account":"f-1","device":"d-1","ip":"10.0.0.1","lat":14.6,"lon":121.0,"country":"PH"}"#,
            ),
        ];
        let mut ledger = Ledger::open(dir.path()).unwrap();
        ledger.append(&events, &AppendOptions::default()).unwrap();
        let head = ledger.head();
        let covered = snapshot::Covered {
            seq: head.seq,
            hash: head.hash,
        };
        let state = snapshot::StateRef {
            policy_digest: &ledger.policy.digest(),
            books: &ledger.kept.books,
            feed: &ledger.kept.feed,
            finder: &Finder::default(),
        };
        snapshot::write(dir.path(), covered, state).unwrap();
        let kept = serde_json::to_string(&ledger.dossier("f-1", None).unwrap()).unwrap();
        drop(ledger);
        let reopened = Ledger::open(dir.path()).unwrap();
        assert_eq!(reopened.snapshot_seq(), 0, "the snapshot was not loaded");
        let rederived = reopened.rederive("f-1", None).unwrap();
        assert_eq!(serde_json::to_string(&rederived).unwrap(), kept);
        assert_eq!(reopened.kept.finder.seq(), 2);
    }
}
