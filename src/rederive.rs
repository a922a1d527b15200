//! Re-deriving one account from the log alone: its records and its cluster's, found through the
//! finder, folded into fresh books. The auditor's check of one answer without a full replay,
//! and the way a query or a late event reaches history the live state no longer holds
//! (`docs/retention.md`).

use std::collections::{BTreeMap, BTreeSet};

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
/// // Beyond this many records, `rederive` answers `LedgerError::TooManyRecords` instead.
/// assert!(MAX_REDERIVE_RECORDS >= 1_000_000);
/// assert!(ledger.rederive("c-1", None)?.signals.is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const MAX_REDERIVE_RECORDS: usize = 1_000_000;

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
        self.read_naming(name, |record| found.push(record))?;
        Ok(found)
    }

    /// [`Ledger::dossier`] re-derived from the log alone: the account's records, its
    /// contracts' and flags', and the records of every account it shares a device with,
    /// directly or through others (its cluster at any time), folded into fresh books and
    /// evaluated at the same `T`. Equal to [`Ledger::dossier`] unless the kept state is wrong;
    /// reads a few ranges of the log, not all of it.
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
    /// assert_eq!(serde_json::to_string(&from_the_log)?, serde_json::to_string(&ledger.dossier("f-1", None))?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn rederive(
        &self,
        account: &str,
        as_of: Option<Timestamp>,
    ) -> Result<AccountDossier, LedgerError> {
        let mut books = Books::new();
        for event in self.records_behind(account)?.values() {
            books.apply(event);
        }
        let at = self.evaluation_time(as_of);
        Ok(dossier_of(&books, &self.policy, account, at))
    }

    /// [`Ledger::pair`] re-derived from the log alone: the records that name both accounts
    /// (contract starts, flags, exemptions), and those naming the contracts and flags they
    /// name (payments, ends, resolutions), folded into a fresh pair book and evaluated at the
    /// same `T`. Equal to [`Ledger::pair`] unless the kept state is wrong.
    ///
    /// ```
    /// # use riskledger::{events::json::parse_line, AppendOptions, Ledger};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let contract = line(1, r#"{"id":"k","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#);
    /// # let flag = line(2, r#"{"id":"f","type":"flag_raised","at":"2025-02-01T08:00:00Z","flag":"fl-1","reporter":"system","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#);
    /// let mut ledger = Ledger::open(dir.path())?;
    /// ledger.append(&[contract, flag], &AppendOptions::default())?;
    /// assert_eq!(ledger.rederive_pair("c-1", "f-1", None)?, ledger.pair("c-1", "f-1", None));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn rederive_pair(
        &self,
        client: &str,
        freelancer: &str,
        as_of: Option<Timestamp>,
    ) -> Result<Option<PairReport>, LedgerError> {
        let mut records = BTreeMap::new();
        let mut leads = BTreeSet::new();
        let other = Name::account(freelancer);
        self.read_naming(Name::account(client), |record| {
            if record.event.body.names().any(|name| name == other) {
                leads.extend(
                    record
                        .event
                        .body
                        .names()
                        .filter(|name| matches!(name.kind, NameKind::Contract | NameKind::Flag))
                        .map(owned),
                );
                records.insert(record.seq, record.event);
            }
        })?;
        for (kind, id) in leads {
            self.read_naming(Name { kind, id: &id }, |record| {
                records.insert(record.seq, record.event);
            })?;
        }
        let mut books = Books::new();
        for event in records.values() {
            books.apply(event);
        }
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
    fn records_behind(&self, account: &str) -> Result<BTreeMap<u64, Event>, LedgerError> {
        let mut records = BTreeMap::new();
        let mut seen: BTreeSet<(NameKind, String)> = BTreeSet::new();
        seen.insert((NameKind::Account, account.to_owned()));
        let mut todo = vec![(NameKind::Account, account.to_owned())];
        while let Some((kind, id)) = todo.pop() {
            let is_root = kind == NameKind::Account && id == account;
            let mut found = Vec::new();
            self.read_naming(Name { kind, id: &id }, |record| {
                for name in record.event.body.names() {
                    if follows(kind, is_root, name.kind) && !seen.contains(&owned(name)) {
                        found.push(owned(name));
                    }
                }
                records.insert(record.seq, record.event);
            })?;
            if records.len() > MAX_REDERIVE_RECORDS {
                return Err(LedgerError::TooManyRecords {
                    account: account.to_owned(),
                    limit: MAX_REDERIVE_RECORDS,
                });
            }
            for name in found {
                if seen.insert(name.clone()) {
                    todo.push(name);
                }
            }
        }
        Ok(records)
    }

    /// Calls `keep` with every record that names `name`, in seq order. Only the ranges the
    /// finder points to are read, and only records whose stored bytes contain the id's text
    /// are decoded (stored strings are their UTF-8 bytes, `docs/format.md`).
    fn read_naming(&self, name: Name<'_>, mut keep: impl FnMut(Record)) -> Result<(), LedgerError> {
        let text = memchr::memmem::Finder::new(name.id.as_bytes());
        for (first, last) in self.kept.finder.ranges(name) {
            let candidates = self
                .log
                .records_in(first, last, |stored| text.find(stored).is_some())?;
            for record in candidates {
                if record.event.body.names().any(|named| named == name) {
                    keep(record);
                }
            }
        }
        Ok(())
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

fn owned(name: Name<'_>) -> (NameKind, String) {
    (name.kind, name.id.to_owned())
}
