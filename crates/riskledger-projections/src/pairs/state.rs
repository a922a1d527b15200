//! The fold state: time-stamped facts, grouped so that any `T` can be answered without
//! replaying the log. Nothing here depends on arrival order except internal slot numbers, which
//! never reach an output: duplicates of one fact keep the least by `(at, event id, content)`,
//! payments are kept sorted by the same key, and outputs and digests are built from names.

use std::cmp::Ordering;
use std::hash::BuildHasher;

use hashbrown::HashTable;
use riskledger_events::{Body, ContractKind, Currency, Event, FlagOutcome, FlagReason};
use serde::{Deserialize, Serialize};

use super::arena::{Arena, TextRef};
pub(crate) use super::payments::PaymentFact;
pub(crate) use super::payments::PaymentTables;
use crate::keys::{find_or_add, name_hash, name_index, FastMap};
use crate::reserve_an_eighth;

/// The least a lifelong list (pairs, contracts, names, flags) grows by when full.
const LIFELONG_GROWTH: usize = 16;

/// "No slot" in the `u32` links and account references below.
pub(crate) const NONE: u32 = u32::MAX;

/// Circumvention exposure per client–freelancer pair: the fold state of `spec/policy.md`,
/// section 1. See `docs/policy-pairs.md` for every rule and choice. Exact at every `T` until it
/// is [compacted](PairBook::compact); afterwards exact at every `T` from its
/// [horizon](PairBook::horizon) on, and not before it (a ledger answers earlier `T`s from its
/// log).
///
/// ```
/// # use riskledger_events::{json::parse_line, Timestamp};
/// # use riskledger_projections::{pairs::*, Level, Policy};
/// # let book_of = |lines: &[&str]| {
/// #     let mut book = PairBook::new();
/// #     lines.iter().enumerate().for_each(|(n, l)| book.apply(&parse_line(n as u64 + 1, l).unwrap()));
/// #     book
/// # };
/// # let at = |t: &str| Timestamp::parse_rfc3339(t).unwrap();
/// # let policy = Policy::default().pairs;
/// # let contract = r#"{"id":"e3","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#;
/// # let flag = r#"{"id":"e5","type":"flag_raised","at":"2024-02-03T08:00:00Z","flag":"fl-1","reporter":"f-1","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#;
/// let book = book_of(&[contract, flag]);
/// let report = book.report(&policy, "c-1", "f-1", at("2024-02-10T00:00:00Z")).unwrap();
/// assert_eq!((report.level, report.exposure_minor), (Level::Medium, 624_000));
/// assert!(book.report(&policy, "c-1", "f-1", at("2024-01-01T00:00:00Z")).is_none()); // not met yet
/// ```
///
/// The four indexes (account, pair, contract and flag names to slots) hold slots only: a
/// lookup hashes the name and compares it with the name the slot points at in `text` (for a
/// pair, the two account slots in `pairs`). They are not written to snapshots; reading a book
/// back rebuilds them (see `StoredPairBook`).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(from = "StoredPairBook")]
pub struct PairBook {
    pub(crate) text: Arena,
    #[serde(skip_serializing)]
    account_index: HashTable<u32>,
    /// Account slot → its name in `text`.
    pub(crate) account_names: Vec<TextRef>,
    #[serde(skip_serializing)]
    pair_index: HashTable<u32>,
    pub(crate) pairs: Vec<PairRecord>,
    /// Pair slot → its `prior_relationship_proven` and `conversion_fee_paid` facts.
    pub(crate) exemptions: FastMap<u32, Exemptions>,
    #[serde(skip_serializing)]
    contract_index: HashTable<u32>,
    pub(crate) contracts: Vec<ContractRecord>,
    /// What payment facts point into: id shapes, ids kept as text, unusual amounts.
    pub(crate) paid: PaymentTables,
    #[serde(skip_serializing)]
    flag_index: HashTable<u32>,
    pub(crate) flags: Vec<FlagRecord>,
    /// Unordered account pair (lower slot first) → flags with a pair reason naming both.
    /// May hold flags whose winning `flag_raised` no longer names the pair; readers re-check.
    pub(crate) flags_by_members: FastMap<(u32, u32), Vec<u32>>,
    /// Pairs with at least one contract linked (what [`PairBook::len`] counts).
    pub(crate) pairs_with_contracts: usize,
    /// Where the last compaction left the book (`None`: never compacted, exact at every `T`).
    pub(crate) horizon: Option<PairHorizon>,
}

/// Where a compacted book's memory begins (`docs/retention.md`, stage 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PairHorizon {
    /// `B`: the book answers exactly at every `T >= B`.
    pub(crate) boundary_at: i64,
    /// `P`: `B` minus the trailing year. No `T >= B` sums a payment at or before it, so each
    /// contract keeps only the last of those (the pair's last payment at some `T`) and counts
    /// the others ([`ContractRecord::dropped_payments`]).
    pub(crate) summed_after_at: i64,
}

/// A [`PairBook`] as its snapshot holds it: every field but the indexes, in the same order
/// (bincode is not self-describing, so the order is the format).
#[derive(Deserialize)]
struct StoredPairBook {
    text: Arena,
    account_names: Vec<TextRef>,
    pairs: Vec<PairRecord>,
    exemptions: FastMap<u32, Exemptions>,
    contracts: Vec<ContractRecord>,
    paid: PaymentTables,
    flags: Vec<FlagRecord>,
    flags_by_members: FastMap<(u32, u32), Vec<u32>>,
    pairs_with_contracts: usize,
    horizon: Option<PairHorizon>,
}

impl From<StoredPairBook> for PairBook {
    fn from(stored: StoredPairBook) -> Self {
        let mut book = PairBook {
            text: stored.text,
            account_index: HashTable::new(),
            account_names: stored.account_names,
            pair_index: HashTable::new(),
            pairs: stored.pairs,
            exemptions: stored.exemptions,
            contract_index: HashTable::new(),
            contracts: stored.contracts,
            paid: stored.paid,
            flag_index: HashTable::new(),
            flags: stored.flags,
            flags_by_members: stored.flags_by_members,
            pairs_with_contracts: stored.pairs_with_contracts,
            horizon: stored.horizon,
        };
        book.rebuild_indexes();
        book
    }
}

#[inline]
fn pair_hash(client: u32, freelancer: u32) -> u64 {
    rustc_hash::FxBuildHasher.hash_one((client, freelancer))
}

/// One client–freelancer pair, created by the first event that names it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct PairRecord {
    pub(crate) client: u32,
    pub(crate) freelancer: u32,
    /// Head of the list of this pair's contracts, linked through `ContractRecord::next_in_pair`.
    pub(crate) first_contract: u32,
}

/// A pair's exemption facts (rare: kept in [`PairBook`]'s `exemptions`, by pair slot, so that a
/// pair record is twelve bytes).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Exemptions {
    pub(crate) prior: Option<PriorFact>,
    pub(crate) fee_paid: Option<FeePaidFact>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct PriorFact {
    pub(crate) at: i64,
    pub(crate) id: TextRef,
    /// `since`, days since 1970-01-01 (kept for the digest; the rule does not use it).
    pub(crate) since_days: i32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct FeePaidFact {
    pub(crate) at: i64,
    pub(crate) amount_minor: u64,
    pub(crate) id: TextRef,
    pub(crate) currency: [u8; 3],
}

/// A contract, created by the first event that names it (a payment may arrive before its
/// `contract_started`; it waits here and counts once the start is known).
///
/// Flat, 80 bytes: the start and the end are read through [`ContractRecord::start`] and
/// [`ContractRecord::end`]. Their event ids are id words of [`PaymentTables`] (no text for a
/// numeric id of a known shape), like the payments'.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct ContractRecord {
    /// Sorted by `(at, event id, amount, currency)`, without exact duplicates. After a
    /// compaction at most one of them is at or before [`PairHorizon::summed_after_at`].
    pub(crate) payments: Vec<PaymentFact>,
    start_at: i64,
    start_rate_minor: u64,
    end_at: i64,
    pub(crate) name: TextRef,
    pub(crate) next_in_pair: u32,
    /// The winning start's pair slot; [`NONE`] while no start is known.
    start_pair: u32,
    start_id: u32,
    /// [`NONE`] while no end is known (an id word is never `NONE`: see `payments.rs`).
    end_id: u32,
    start_currency: [u8; 3],
    start_hourly: bool,
    /// The currency of the first payment this contract received: the currency payment facts
    /// hold their amount in (see `payments.rs`).
    pub(crate) pay_currency: [u8; 3],
    /// Payments dropped by compaction, all earlier than the first one in `payments`: they
    /// still count towards `payments_stopped`'s minimum.
    pub(crate) dropped_payments: u32,
}

impl ContractRecord {
    fn new(name: TextRef) -> Self {
        ContractRecord {
            payments: Vec::new(),
            start_at: 0,
            start_rate_minor: 0,
            end_at: 0,
            name,
            next_in_pair: NONE,
            start_pair: NONE,
            start_id: 0,
            end_id: NONE,
            start_currency: [0; 3],
            start_hourly: false,
            pay_currency: [0; 3],
            dropped_payments: 0,
        }
    }

    #[inline]
    pub(crate) fn start(&self) -> Option<ContractStart> {
        (self.start_pair != NONE).then_some(ContractStart {
            at: self.start_at,
            rate_minor: self.start_rate_minor,
            id: self.start_id,
            pair: self.start_pair,
            currency: self.start_currency,
            hourly: self.start_hourly,
        })
    }

    fn set_start(&mut self, start: ContractStart) {
        self.start_at = start.at;
        self.start_rate_minor = start.rate_minor;
        self.start_id = start.id;
        self.start_pair = start.pair;
        self.start_currency = start.currency;
        self.start_hourly = start.hourly;
    }

    #[inline]
    pub(crate) fn end(&self) -> Option<Stamp> {
        (self.end_id != NONE).then_some(Stamp {
            at: self.end_at,
            id: self.end_id,
        })
    }

    fn set_end(&mut self, end: Stamp) {
        self.end_at = end.at;
        self.end_id = end.id;
    }

    /// Re-encodes every id and amount word of this record from `old` tables into `new` ones
    /// (compaction gives back the text and amounts of dropped payments this way).
    pub(crate) fn move_words(&mut self, old: &PaymentTables, new: &mut PaymentTables) {
        if self.start_pair != NONE {
            self.start_id = new.encode_id(old.id_text(self.start_id).as_str());
        }
        if self.end_id != NONE {
            self.end_id = new.encode_id(old.id_text(self.end_id).as_str());
        }
        let usual = self.pay_currency;
        for payment in &mut self.payments {
            payment.id = new.encode_id(old.id_text(payment.id).as_str());
            let (amount_minor, currency) = old.amount(payment.amount, usual);
            payment.amount = new.encode_amount(amount_minor, currency, usual);
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct ContractStart {
    pub(crate) at: i64,
    /// 0 when the contract has no rate.
    pub(crate) rate_minor: u64,
    /// An id word of [`PaymentTables`].
    pub(crate) id: u32,
    pub(crate) pair: u32,
    pub(crate) currency: [u8; 3],
    pub(crate) hourly: bool,
}

/// When a contract ended and the id (an id word of [`PaymentTables`]) of the event that says
/// so.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Stamp {
    pub(crate) at: i64,
    pub(crate) id: u32,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct FlagRecord {
    pub(crate) name: TextRef,
    pub(crate) raised: Option<FlagRaise>,
    pub(crate) resolved: Option<FlagResolution>,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct FlagRaise {
    pub(crate) at: i64,
    pub(crate) id: TextRef,
    /// Account slot, or [`NONE`] for `system`.
    pub(crate) reporter: u32,
    pub(crate) subject: u32,
    /// Account slot, or [`NONE`].
    pub(crate) counterparty: u32,
    pub(crate) reason: FlagReason,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct FlagResolution {
    pub(crate) at: i64,
    pub(crate) id: TextRef,
    pub(crate) confirmed: bool,
}

/// The two flag reasons section 1 reads.
pub(crate) fn is_pair_reason(reason: FlagReason) -> bool {
    matches!(
        reason,
        FlagReason::OffPlatformPayment | FlagReason::ContactInfo
    )
}

/// The key of `flags_by_members`: the two account slots, lower first.
pub(crate) fn members_key(a: u32, b: u32) -> (u32, u32) {
    (a.min(b), a.max(b))
}

impl PairBook {
    /// An empty book, to [`apply`](PairBook::apply) events to.
    ///
    /// ```
    /// # use riskledger_events::{json::parse_line, Timestamp};
    /// # use riskledger_projections::{pairs::*, Level, Policy};
    /// # let book_of = |lines: &[&str]| {
    /// #     let mut book = PairBook::new();
    /// #     lines.iter().enumerate().for_each(|(n, l)| book.apply(&parse_line(n as u64 + 1, l).unwrap()));
    /// #     book
    /// # };
    /// # let at = |t: &str| Timestamp::parse_rfc3339(t).unwrap();
    /// # let policy = Policy::default().pairs;
    /// # let contract = r#"{"id":"e3","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#;
    /// # let flag = r#"{"id":"e5","type":"flag_raised","at":"2024-02-03T08:00:00Z","flag":"fl-1","reporter":"f-1","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#;
    /// let book = PairBook::new();
    /// assert!(book.is_empty());
    /// assert!(book.reports(&policy, at("2024-01-01T00:00:00Z"), Level::None).is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Folds one event in. Events may arrive in any order; only their event time matters.
    /// Types section 1 does not read are ignored. Never panics. Once the book is
    /// [compacted](PairBook::compact), a payment older than its horizon minus the trailing
    /// year is folded inexactly: check [`is_before_horizon`](PairBook::is_before_horizon) and
    /// rebuild instead, as the ledger does.
    ///
    /// ```
    /// # use riskledger_events::{json::parse_line, Timestamp};
    /// # use riskledger_projections::{pairs::*, Level, Policy};
    /// # let book_of = |lines: &[&str]| {
    /// #     let mut book = PairBook::new();
    /// #     lines.iter().enumerate().for_each(|(n, l)| book.apply(&parse_line(n as u64 + 1, l).unwrap()));
    /// #     book
    /// # };
    /// # let at = |t: &str| Timestamp::parse_rfc3339(t).unwrap();
    /// # let policy = Policy::default().pairs;
    /// # let contract = r#"{"id":"e3","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#;
    /// # let flag = r#"{"id":"e5","type":"flag_raised","at":"2024-02-03T08:00:00Z","flag":"fl-1","reporter":"f-1","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#;
    /// let mut in_order = PairBook::new();
    /// let mut reversed = PairBook::new();
    /// for (n, line) in [contract, flag].into_iter().enumerate() {
    ///     in_order.apply(&parse_line(n as u64 + 1, line)?);
    /// }
    /// for (n, line) in [flag, contract].into_iter().enumerate() {
    ///     reversed.apply(&parse_line(n as u64 + 1, line)?);
    /// }
    /// let t = at("2024-02-10T00:00:00Z");
    /// assert_eq!(in_order.report(&policy, "c-1", "f-1", t), reversed.report(&policy, "c-1", "f-1", t));
    /// assert_eq!(reversed.level(&policy, "c-1", "f-1", t), Some(Level::Medium));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn apply(&mut self, event: &Event) {
        let at = event.at.as_micros();
        let id = event.id.as_str();
        match &event.body {
            Body::ContractStarted {
                contract,
                client,
                freelancer,
                currency,
                kind,
                rate_minor,
            } => {
                let start = NewStart {
                    at,
                    id,
                    client,
                    freelancer,
                    currency: *currency,
                    hourly: *kind == ContractKind::Hourly,
                    rate_minor: rate_minor.unwrap_or(0),
                };
                self.apply_contract_started(contract, start);
            }
            Body::ContractEnded { contract, .. } => self.apply_contract_ended(contract, at, id),
            Body::Payment {
                contract,
                amount_minor,
                currency,
            } => self.apply_payment(contract, at, id, *amount_minor, *currency),
            Body::FlagRaised {
                flag,
                reporter,
                subject,
                counterparty,
                reason,
                ..
            } => {
                let raise = NewRaise {
                    reporter: reporter.account(),
                    subject,
                    counterparty: counterparty.as_deref(),
                    reason: *reason,
                };
                self.apply_flag_raised(flag, at, id, raise)
            }
            Body::FlagResolved { flag, outcome } => {
                self.apply_flag_resolved(flag, at, id, *outcome == FlagOutcome::Confirmed)
            }
            Body::PriorRelationshipProven {
                client,
                freelancer,
                since,
            } => self.apply_prior_relationship(client, freelancer, at, id, since.0),
            Body::ConversionFeePaid {
                client,
                freelancer,
                amount_minor,
                currency,
            } => {
                let fee = (at, id, *amount_minor, *currency);
                self.apply_conversion_fee_paid(client, freelancer, fee)
            }
            _ => {}
        }
    }

    /// Pairs with at least one `contract_started` (whatever its time).
    ///
    /// ```
    /// # use riskledger_events::{json::parse_line, Timestamp};
    /// # use riskledger_projections::{pairs::*, Level, Policy};
    /// # let book_of = |lines: &[&str]| {
    /// #     let mut book = PairBook::new();
    /// #     lines.iter().enumerate().for_each(|(n, l)| book.apply(&parse_line(n as u64 + 1, l).unwrap()));
    /// #     book
    /// # };
    /// # let at = |t: &str| Timestamp::parse_rfc3339(t).unwrap();
    /// # let policy = Policy::default().pairs;
    /// # let contract = r#"{"id":"e3","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#;
    /// # let flag = r#"{"id":"e5","type":"flag_raised","at":"2024-02-03T08:00:00Z","flag":"fl-1","reporter":"f-1","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#;
    /// let later = r#"{"id":"e8","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-2","client":"c-1","freelancer":"f-1","currency":"USD","kind":"fixed"}"#;
    /// assert_eq!(book_of(&[contract, flag, later]).len(), 1); // one pair, two contracts
    /// assert_eq!(book_of(&[flag]).len(), 0); // a flag alone makes no pair
    /// ```
    pub fn len(&self) -> usize {
        self.pairs_with_contracts
    }

    /// Whether no pair has a `contract_started` yet: `len() == 0`.
    ///
    /// ```
    /// # use riskledger_events::{json::parse_line, Timestamp};
    /// # use riskledger_projections::{pairs::*, Level, Policy};
    /// # let book_of = |lines: &[&str]| {
    /// #     let mut book = PairBook::new();
    /// #     lines.iter().enumerate().for_each(|(n, l)| book.apply(&parse_line(n as u64 + 1, l).unwrap()));
    /// #     book
    /// # };
    /// # let at = |t: &str| Timestamp::parse_rfc3339(t).unwrap();
    /// # let policy = Policy::default().pairs;
    /// # let contract = r#"{"id":"e3","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#;
    /// # let flag = r#"{"id":"e5","type":"flag_raised","at":"2024-02-03T08:00:00Z","flag":"fl-1","reporter":"f-1","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#;
    /// assert!(book_of(&[flag]).is_empty());
    /// assert!(!book_of(&[contract]).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.pairs_with_contracts == 0
    }

    /// Gives back the spare capacity of every buffer (growth slack), for a book that will
    /// mostly be read from now on, e.g. after a replay. Changes no answer.
    ///
    /// ```
    /// # use riskledger_events::{json::parse_line, Timestamp};
    /// # use riskledger_projections::{pairs::*, Level, Policy};
    /// # let book_of = |lines: &[&str]| {
    /// #     let mut book = PairBook::new();
    /// #     lines.iter().enumerate().for_each(|(n, l)| book.apply(&parse_line(n as u64 + 1, l).unwrap()));
    /// #     book
    /// # };
    /// # let at = |t: &str| Timestamp::parse_rfc3339(t).unwrap();
    /// # let policy = Policy::default().pairs;
    /// # let contract = r#"{"id":"e3","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#;
    /// # let flag = r#"{"id":"e5","type":"flag_raised","at":"2024-02-03T08:00:00Z","flag":"fl-1","reporter":"f-1","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#;
    /// let mut book = book_of(&[contract, flag]);
    /// let before = book.report(&policy, "c-1", "f-1", at("2024-02-10T00:00:00Z"));
    /// book.shrink_to_fit();
    /// assert_eq!(book.report(&policy, "c-1", "f-1", at("2024-02-10T00:00:00Z")), before);
    /// ```
    pub fn shrink_to_fit(&mut self) {
        self.text.shrink_to_fit();
        self.account_names.shrink_to_fit();
        self.pairs.shrink_to_fit();
        self.contracts.shrink_to_fit();
        self.paid.shrink_to_fit();
        for contract in &mut self.contracts {
            contract.payments.shrink_to_fit();
        }
        self.flags.shrink_to_fit();
        self.flags_by_members.shrink_to_fit();
        self.exemptions.shrink_to_fit();
        let (text, names) = (&self.text, &self.account_names);
        self.account_index
            .shrink_to_fit(|&slot| name_hash(text.bytes(names[slot as usize])));
        let pairs = &self.pairs;
        self.pair_index.shrink_to_fit(|&slot| {
            let pair = &pairs[slot as usize];
            pair_hash(pair.client, pair.freelancer)
        });
        let contracts = &self.contracts;
        self.contract_index
            .shrink_to_fit(|&slot| name_hash(text.bytes(contracts[slot as usize].name)));
        let flags = &self.flags;
        self.flag_index
            .shrink_to_fit(|&slot| name_hash(text.bytes(flags[slot as usize].name)));
    }

    /// Fills the indexes from the slots (after reading a snapshot, which does not hold them).
    /// Slots are added in order, so should two slots hold one name (never in a book built by
    /// `apply`), the first is the one found.
    fn rebuild_indexes(&mut self) {
        let text = &self.text;
        let names = &self.account_names;
        self.account_index = name_index(names.len(), |slot| text.bytes(names[slot as usize]));

        let pairs = &self.pairs;
        let mut index = HashTable::with_capacity(pairs.len());
        for (slot, pair) in pairs.iter().enumerate() {
            let (client, freelancer) = (pair.client, pair.freelancer);
            let entry = index.entry(
                pair_hash(client, freelancer),
                |&other: &u32| {
                    let other = &pairs[other as usize];
                    (other.client, other.freelancer) == (client, freelancer)
                },
                |&other: &u32| {
                    let other = &pairs[other as usize];
                    pair_hash(other.client, other.freelancer)
                },
            );
            if let hashbrown::hash_table::Entry::Vacant(vacant) = entry {
                vacant.insert(slot as u32);
            }
        }
        self.pair_index = index;

        let contracts = &self.contracts;
        self.contract_index = name_index(contracts.len(), |slot| {
            text.bytes(contracts[slot as usize].name)
        });
        let flags = &self.flags;
        self.flag_index = name_index(flags.len(), |slot| text.bytes(flags[slot as usize].name));
    }

    // ----- slots -------------------------------------------------------------------------

    fn account_slot(&mut self, name: &str) -> u32 {
        let new_slot = self.account_names.len() as u32;
        let (text, names) = (&self.text, &self.account_names);
        let name_of = |slot: u32| text.bytes(names[slot as usize]);
        // The new slot's name is not stored yet: the table only rehashes slots it held.
        if let Some(slot) = find_or_add(&mut self.account_index, name.as_bytes(), name_of, new_slot)
        {
            return slot;
        }
        let name = self.text.push(name);
        reserve_an_eighth(&mut self.account_names, LIFELONG_GROWTH);
        self.account_names.push(name);
        new_slot
    }

    pub(crate) fn account_lookup(&self, name: &str) -> Option<u32> {
        let name = name.as_bytes();
        self.account_index
            .find(name_hash(name), |&slot| {
                self.text.bytes(self.account_names[slot as usize]) == name
            })
            .copied()
    }

    pub(crate) fn pair_lookup(&self, client: u32, freelancer: u32) -> Option<u32> {
        self.pair_index
            .find(pair_hash(client, freelancer), |&slot| {
                let pair = &self.pairs[slot as usize];
                (pair.client, pair.freelancer) == (client, freelancer)
            })
            .copied()
    }

    pub(crate) fn account_name(&self, slot: u32) -> &str {
        match self.account_names.get(slot as usize) {
            Some(&name) => self.text.get(name),
            None => "system",
        }
    }

    fn pair_slot(&mut self, client: &str, freelancer: &str) -> u32 {
        let (client, freelancer) = (self.account_slot(client), self.account_slot(freelancer));
        let new_slot = self.pairs.len() as u32;
        let pairs = &self.pairs;
        let entry = self.pair_index.entry(
            pair_hash(client, freelancer),
            |&slot| {
                let pair = &pairs[slot as usize];
                (pair.client, pair.freelancer) == (client, freelancer)
            },
            |&slot| {
                let pair = &pairs[slot as usize];
                pair_hash(pair.client, pair.freelancer)
            },
        );
        match entry {
            hashbrown::hash_table::Entry::Occupied(found) => return *found.get(),
            hashbrown::hash_table::Entry::Vacant(vacant) => {
                vacant.insert(new_slot);
            }
        }
        let pair = PairRecord {
            client,
            freelancer,
            first_contract: NONE,
        };
        reserve_an_eighth(&mut self.pairs, LIFELONG_GROWTH);
        self.pairs.push(pair);
        new_slot
    }

    fn contract_slot(&mut self, name: &str) -> u32 {
        let new_slot = self.contracts.len() as u32;
        let (text, contracts) = (&self.text, &self.contracts);
        let name_of = |slot: u32| text.bytes(contracts[slot as usize].name);
        if let Some(slot) =
            find_or_add(&mut self.contract_index, name.as_bytes(), name_of, new_slot)
        {
            return slot;
        }
        let contract = ContractRecord::new(self.text.push(name));
        reserve_an_eighth(&mut self.contracts, LIFELONG_GROWTH);
        self.contracts.push(contract);
        new_slot
    }

    fn flag_slot(&mut self, name: &str) -> u32 {
        let new_slot = self.flags.len() as u32;
        let (text, flags) = (&self.text, &self.flags);
        let name_of = |slot: u32| text.bytes(flags[slot as usize].name);
        if let Some(slot) = find_or_add(&mut self.flag_index, name.as_bytes(), name_of, new_slot) {
            return slot;
        }
        let flag = FlagRecord {
            name: self.text.push(name),
            raised: None,
            resolved: None,
        };
        reserve_an_eighth(&mut self.flags, LIFELONG_GROWTH);
        self.flags.push(flag);
        new_slot
    }

    // ----- contracts ---------------------------------------------------------------------

    fn apply_contract_started(&mut self, contract: &str, new: NewStart<'_>) {
        let pair = self.pair_slot(new.client, new.freelancer);
        let slot = self.contract_slot(contract);
        if let Some(old) = self.contracts[slot as usize].start() {
            // A contract starts once (the ledger rejects a second start); should two starts
            // reach the fold anyway, the least by (at, id, content) wins whatever the order.
            if self.compare_start(&old, &new) != Ordering::Greater {
                return;
            }
            if old.pair != pair {
                self.unlink_contract(slot, old.pair);
            }
        }
        let linked = self.contracts[slot as usize]
            .start()
            .is_some_and(|old| old.pair == pair);
        let start = ContractStart {
            at: new.at,
            rate_minor: new.rate_minor,
            id: self.paid.encode_id(new.id),
            pair,
            currency: new.currency.0,
            hourly: new.hourly,
        };
        self.contracts[slot as usize].set_start(start);
        if !linked {
            self.link_contract(slot, pair);
        }
    }

    fn compare_start(&self, old: &ContractStart, new: &NewStart<'_>) -> Ordering {
        let old_pair = &self.pairs[old.pair as usize];
        let old_id = self.paid.id_text(old.id);
        let old_key = (
            old.at,
            old_id.as_str(),
            self.account_name(old_pair.client),
            self.account_name(old_pair.freelancer),
            old.currency,
            old.hourly,
            old.rate_minor,
        );
        let new_key = (
            new.at,
            new.id,
            new.client,
            new.freelancer,
            new.currency.0,
            new.hourly,
            new.rate_minor,
        );
        old_key.cmp(&new_key)
    }

    fn link_contract(&mut self, contract: u32, pair: u32) {
        let head = self.pairs[pair as usize].first_contract;
        if head == NONE {
            self.pairs_with_contracts += 1;
        }
        self.contracts[contract as usize].next_in_pair = head;
        self.pairs[pair as usize].first_contract = contract;
    }

    fn unlink_contract(&mut self, contract: u32, pair: u32) {
        let next = self.contracts[contract as usize].next_in_pair;
        self.contracts[contract as usize].next_in_pair = NONE;
        let mut cursor = self.pairs[pair as usize].first_contract;
        if cursor == contract {
            self.pairs[pair as usize].first_contract = next;
            if next == NONE {
                self.pairs_with_contracts -= 1;
            }
            return;
        }
        while let Some(record) = self.contracts.get(cursor as usize) {
            if record.next_in_pair == contract {
                self.contracts[cursor as usize].next_in_pair = next;
                return;
            }
            cursor = record.next_in_pair;
        }
    }

    fn apply_contract_ended(&mut self, contract: &str, at: i64, id: &str) {
        let slot = self.contract_slot(contract) as usize;
        // A contract ends once; least (at, id) wins.
        let replaces = match self.contracts[slot].end() {
            None => true,
            Some(kept) => (at, id) < (kept.at, self.paid.id_text(kept.id).as_str()),
        };
        if replaces {
            let end = Stamp {
                at,
                id: self.paid.encode_id(id),
            };
            self.contracts[slot].set_end(end);
        }
    }

    fn apply_payment(
        &mut self,
        contract: &str,
        at: i64,
        id: &str,
        amount_minor: u64,
        currency: Currency,
    ) {
        let slot = self.contract_slot(contract) as usize;
        let paid = &mut self.paid;
        let record = &mut self.contracts[slot];
        if record.payments.is_empty() {
            record.pay_currency = currency.0;
        }
        let usual = record.pay_currency;
        let payments = &mut record.payments;
        let position = match payments.last() {
            None => 0,
            Some(last) if last.at < at => payments.len(),
            Some(_) => {
                let key = (at, id, amount_minor, currency.0);
                let mut position = payments.partition_point(|p| p.at < at);
                while let Some(p) = payments.get(position).filter(|p| p.at == at) {
                    match paid.compare(p, key, usual) {
                        Ordering::Less => position += 1,
                        Ordering::Equal => return,
                        Ordering::Greater => break,
                    }
                }
                position
            }
        };
        let fact = PaymentFact {
            at,
            amount: paid.encode_amount(amount_minor, currency.0, usual),
            id: paid.encode_id(id),
        };
        reserve_an_eighth(payments, 4);
        payments.insert(position, fact);
    }

    // ----- flags -------------------------------------------------------------------------

    fn apply_flag_raised(&mut self, flag: &str, at: i64, id: &str, new: NewRaise<'_>) {
        let slot = self.flag_slot(flag);
        let reporter = new.reporter.map_or(NONE, |name| self.account_slot(name));
        let subject = self.account_slot(new.subject);
        let counterparty = new
            .counterparty
            .map_or(NONE, |name| self.account_slot(name));
        let reason = new.reason;
        let candidate = FlagRaise {
            at,
            id: 0,
            reporter,
            subject,
            counterparty,
            reason,
        };
        if let Some(kept) = self.flags[slot as usize].raised {
            // A flag is raised once (the ledger rejects a second); least (at, id, content) wins.
            if self.raise_key(&kept, self.text.get(kept.id)) <= self.raise_key(&candidate, id) {
                return;
            }
        }
        let raise = FlagRaise {
            id: self.text.push(id),
            ..candidate
        };
        self.flags[slot as usize].raised = Some(raise);
        if is_pair_reason(reason) {
            self.index_flag_members(slot, &raise);
        }
    }

    fn raise_key<'a>(&'a self, raise: &FlagRaise, id: &'a str) -> impl Ord + 'a {
        let name = |slot: u32| (slot != NONE).then(|| self.account_name(slot));
        (
            raise.at,
            id,
            name(raise.reporter),
            self.account_name(raise.subject),
            name(raise.counterparty),
            raise.reason,
        )
    }

    fn index_flag_members(&mut self, flag: u32, raise: &FlagRaise) {
        let mut keys = Vec::with_capacity(2);
        if raise.counterparty != NONE {
            keys.push(members_key(raise.subject, raise.counterparty));
        }
        if raise.reporter != NONE {
            keys.push(members_key(raise.reporter, raise.subject));
        }
        for key in keys {
            let flags = self.flags_by_members.entry(key).or_default();
            if !flags.contains(&flag) {
                flags.push(flag);
            }
        }
    }

    fn apply_flag_resolved(&mut self, flag: &str, at: i64, id: &str, confirmed: bool) {
        let slot = self.flag_slot(flag) as usize;
        if let Some(kept) = self.flags[slot].resolved {
            // A flag is resolved once; least (at, id, confirmed) wins.
            if (kept.at, self.text.get(kept.id), kept.confirmed) <= (at, id, confirmed) {
                return;
            }
        }
        self.flags[slot].resolved = Some(FlagResolution {
            at,
            id: self.text.push(id),
            confirmed,
        });
    }

    // ----- exemptions --------------------------------------------------------------------

    fn apply_prior_relationship(
        &mut self,
        client: &str,
        freelancer: &str,
        at: i64,
        id: &str,
        since_days: i32,
    ) {
        let pair = self.pair_slot(client, freelancer);
        if let Some(kept) = self.exemptions_of(pair).and_then(|e| e.prior.as_ref()) {
            if (kept.at, self.text.get(kept.id), kept.since_days) <= (at, id, since_days) {
                return;
            }
        }
        let fact = PriorFact {
            at,
            id: self.text.push(id),
            since_days,
        };
        self.exemptions.entry(pair).or_default().prior = Some(fact);
    }

    fn apply_conversion_fee_paid(
        &mut self,
        client: &str,
        freelancer: &str,
        fee: (i64, &str, u64, Currency),
    ) {
        let (at, id, amount_minor, currency) = fee;
        let pair = self.pair_slot(client, freelancer);
        if let Some(kept) = self.exemptions_of(pair).and_then(|e| e.fee_paid.as_ref()) {
            let kept_key = (
                kept.at,
                self.text.get(kept.id),
                kept.amount_minor,
                kept.currency,
            );
            if kept_key <= (at, id, amount_minor, currency.0) {
                return;
            }
        }
        let fact = FeePaidFact {
            at,
            amount_minor,
            id: self.text.push(id),
            currency: currency.0,
        };
        self.exemptions.entry(pair).or_default().fee_paid = Some(fact);
    }

    /// Pair slot `pair`'s exemption facts, if it has any.
    pub(crate) fn exemptions_of(&self, pair: u32) -> Option<&Exemptions> {
        self.exemptions.get(&pair)
    }
}

/// A `flag_raised` before it is stored. `reporter` is `None` for `system`.
struct NewRaise<'a> {
    reporter: Option<&'a str>,
    subject: &'a str,
    counterparty: Option<&'a str>,
    reason: FlagReason,
}

/// A `contract_started` before it is stored.
struct NewStart<'a> {
    at: i64,
    id: &'a str,
    client: &'a str,
    freelancer: &'a str,
    currency: Currency,
    hourly: bool,
    rate_minor: u64,
}

#[cfg(test)]
mod index_tests {
    use riskledger_events::json::parse_line;
    use riskledger_events::Timestamp;

    use super::*;
    use crate::policy::PairPolicy;

    fn events() -> Vec<Event> {
        let long = "x".repeat(40);
        let mut lines = Vec::new();
        for n in 0..300 {
            let (client, freelancer) = (format!("c-{}", n % 17), format!("f-{}{long}", n % 29));
            let contract = if n % 3 == 0 {
                format!("k-{n}{long}")
            } else {
                format!("k-{n}")
            };
            lines.push(format!(r#"{{"id":"s{n}","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"{contract}","client":"{client}","freelancer":"{freelancer}","currency":"USD","kind":"fixed"}}"#));
            lines.push(format!(r#"{{"id":"p{n}","type":"payment","at":"2024-01-06T08:00:00Z","contract":"{contract}","amount_minor":{},"currency":"USD"}}"#, 1000 + n));
            if n % 7 == 0 {
                lines.push(format!(r#"{{"id":"r{n}","type":"flag_raised","at":"2024-02-03T08:00:00Z","flag":"fl-{}","reporter":"{freelancer}","subject":"{client}","counterparty":"{freelancer}","reason":"off_platform_payment"}}"#, n % 11));
            }
        }
        lines
            .iter()
            .enumerate()
            .map(|(n, line)| parse_line(n as u64 + 1, line).unwrap())
            .collect()
    }

    fn digest(book: &PairBook) -> blake3::Hash {
        let mut hasher = blake3::Hasher::new();
        book.digest_into(&mut hasher);
        hasher.finalize()
    }

    /// A book read back from a snapshot (indexes rebuilt) finds every name, and folds further
    /// events into the same slots as the book that never left memory.
    #[test]
    fn a_restored_book_finds_and_extends_the_same_slots() {
        let events = events();
        let (first, second) = events.split_at(events.len() / 2);
        let mut kept = PairBook::new();
        first.iter().for_each(|e| kept.apply(e));
        let config = bincode::config::legacy();
        let bytes = bincode::serde::encode_to_vec(&kept, config).unwrap();
        let (mut restored, _): (PairBook, usize) =
            bincode::serde::decode_from_slice(&bytes, config).unwrap();
        for (slot, &name) in kept.account_names.iter().enumerate() {
            assert_eq!(
                restored.account_lookup(kept.text.get(name)),
                Some(slot as u32)
            );
        }
        second.iter().for_each(|e| kept.apply(e));
        second.iter().for_each(|e| restored.apply(e));
        assert_eq!(restored.contracts.len(), kept.contracts.len());
        assert_eq!(restored.flags.len(), kept.flags.len());
        assert_eq!(restored.pairs.len(), kept.pairs.len());
        assert_eq!(digest(&restored), digest(&kept));
        let mut all = PairBook::new();
        events.iter().for_each(|e| all.apply(e));
        assert_eq!(digest(&all), digest(&kept));
        let policy = PairPolicy::default();
        let at = Timestamp::parse_rfc3339("2024-03-01T00:00:00Z").unwrap();
        let freelancer = format!("f-3{}", "x".repeat(40));
        let report = restored.report(&policy, "c-3", &freelancer, at);
        assert!(report.is_some());
        assert_eq!(report, kept.report(&policy, "c-3", &freelancer, at));
        restored.shrink_to_fit();
        assert_eq!(restored.report(&policy, "c-3", &freelancer, at), report);
        assert_eq!(restored.account_lookup("c-99"), None);
    }

    /// Ids that differ only in their last bytes must spread over the low bits hashbrown
    /// indexes by.
    #[test]
    fn sequential_ids_spread_over_buckets() {
        let buckets: std::collections::HashSet<u64> = (0..4096)
            .map(|n| name_hash(format!("ct-{n:07}").as_bytes()) & 4095)
            .collect();
        assert!(
            buckets.len() > 2000,
            "only {} of 4096 buckets used",
            buckets.len()
        );
    }
}

#[cfg(test)]
mod size_tests {
    use super::*;

    /// The per-payment and per-contract sizes `docs/policy-pairs.md` accounts for.
    #[test]
    fn record_sizes_stay_as_documented() {
        assert_eq!(std::mem::size_of::<PaymentFact>(), 16);
        assert_eq!(std::mem::size_of::<ContractRecord>(), 80);
        assert_eq!(std::mem::size_of::<PairRecord>(), 12);
    }
}
