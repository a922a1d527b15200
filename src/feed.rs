//! The change feed: every change of a pair's or an account's level, with the seq that caused it.
//!
//! The feed is a pure function of the log: after record `N`, each subject's level is its level
//! in the books of records `1..=N`, evaluated at `T_N`, the latest event time among them. A
//! change is recorded at `N` when that level differs from the one after `N − 1`. So the feed
//! does not depend on how appends were batched, on snapshots, or on restarts, and a subscriber
//! can resume from any seq and get the same changes a continuous subscriber got.
//!
//! Computing it without evaluating every subject after every record rests on two facts (see
//! `docs/change-feed.md`):
//!
//! - an event can only change the level of the subjects it names: the pair of a contract,
//!   payment, flag or exemption; the account of a login, payout change or opening, and the
//!   accounts its shared devices cluster it with;
//! - as `T` moves on with no new event about a pair, its level changes only at two times the
//!   feed schedules: the end of its window (`after_window` caps it at `low`) and
//!   `payments_stopped_days` after its last payment (`payments_stopped` starts). An account's
//!   level depends on its events only, never on `T` alone.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use riskledger_events::{Body, Event, Reporter, Timestamp};
use riskledger_projections::{Level, Policy};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::books::Books;

/// What a level belongs to: a pair or an account. Ask [`Ledger::level`](crate::Ledger::level)
/// about one, or match on [`LevelChange::subject`] to route a change.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
// Externally tagged (`{"pair":{"client":..,"freelancer":..}}`): snapshots are bincode, which
// cannot decode internally tagged enums.
///
/// ```
/// # use riskledger::{events::json::parse_line, AppendOptions, Ledger, LedgerOptions, Level, Policy, Subject};
/// # let dir = tempfile::tempdir()?;
/// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
/// # let contract = line(1, r#"{"id":"k","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#);
/// # let flag = line(2, r#"{"id":"f","type":"flag_raised","at":"2025-02-01T08:00:00Z","flag":"fl-1","reporter":"system","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#);
/// let mut ledger = Ledger::open(dir.path())?;
/// ledger.append(&[contract, flag], &AppendOptions::default())?;
/// match &ledger.changes(1)[0].subject {
///     Subject::Pair { client, freelancer } => assert_eq!((client.as_str(), freelancer.as_str()), ("c-1", "f-1")),
///     Subject::Account { .. } => unreachable!("a flag about a pair"),
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[serde(rename_all = "snake_case")]
pub enum Subject {
    /// An account's leased/shared-account level.
    Account {
        /// The account's id.
        account: String,
    },
    /// A client–freelancer pair's circumvention level.
    Pair {
        /// The client's account id.
        client: String,
        /// The freelancer's account id.
        freelancer: String,
    },
}

impl Subject {
    /// The account `account`, as a subject to ask about.
    ///
    /// ```
    /// # use riskledger::{events::json::parse_line, AppendOptions, Ledger, LedgerOptions, Level, Policy, Subject};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let contract = line(1, r#"{"id":"k","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#);
    /// # let flag = line(2, r#"{"id":"f","type":"flag_raised","at":"2025-02-01T08:00:00Z","flag":"fl-1","reporter":"system","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#);
    /// assert_eq!(Subject::account("f-1"), Subject::Account { account: "f-1".to_owned() });
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn account(account: &str) -> Self {
        Subject::Account {
            account: account.to_owned(),
        }
    }

    /// The pair of client `client` and freelancer `freelancer` (in that order), as a subject to
    /// ask about.
    ///
    /// ```
    /// # use riskledger::{events::json::parse_line, AppendOptions, Ledger, LedgerOptions, Level, Policy, Subject};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let contract = line(1, r#"{"id":"k","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#);
    /// # let flag = line(2, r#"{"id":"f","type":"flag_raised","at":"2025-02-01T08:00:00Z","flag":"fl-1","reporter":"system","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#);
    /// let pair = Subject::pair("c-1", "f-1");
    /// assert!(matches!(pair, Subject::Pair { .. }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn pair(client: &str, freelancer: &str) -> Self {
        Subject::Pair {
            client: client.to_owned(),
            freelancer: freelancer.to_owned(),
        }
    }
}

/// One change of level, in the order of the log.
///
/// ```
/// # use riskledger::{events::json::parse_line, AppendOptions, Ledger, LedgerOptions, Level, Policy, Subject};
/// # let dir = tempfile::tempdir()?;
/// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
/// # let contract = line(1, r#"{"id":"k","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#);
/// # let flag = line(2, r#"{"id":"f","type":"flag_raised","at":"2025-02-01T08:00:00Z","flag":"fl-1","reporter":"system","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#);
/// let mut ledger = Ledger::open(dir.path())?;
/// ledger.append(&[contract, flag.clone()], &AppendOptions::default())?;
/// let change = &ledger.changes(1)[0];
/// assert_eq!((change.seq, change.at, change.from, change.to), (2, flag.at, Level::None, Level::Medium));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LevelChange {
    /// The record after which the new level holds.
    pub seq: u64,
    /// The evaluation time after that record: the latest event time in records `1..=seq`.
    pub at: Timestamp,
    /// The pair or account whose level changed.
    pub subject: Subject,
    /// Its level after record `seq - 1` (`none` for a subject that did not exist).
    pub from: Level,
    /// Its level after record `seq`.
    pub to: Level,
}

type Name = Box<str>;
type PairKey = (Name, Name);

/// The names a flag was raised with: every pair two of them form may be the flag's.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct FlagNames {
    reporter: Option<Name>,
    subject: Name,
    counterparty: Option<Name>,
}

/// The feed's own state: the current level of every subject above `none`, what it needs to
/// find the subjects an event touches, the pending time-driven re-evaluations, and every
/// change so far.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Feed {
    seq: u64,
    levels: FxHashMap<Subject, Level>,
    /// Contract → every pair a `contract_started` named for it (normally one).
    contracts: FxHashMap<Name, Vec<PairKey>>,
    flags: FxHashMap<Name, FlagNames>,
    /// Pair → its latest payment time seen, so that only the latest schedules a deadline.
    latest_payment_at: FxHashMap<PairKey, i64>,
    /// Times at which a pair's level may change with no new event about it. Read back at its
    /// stated length: a heap's array read back is already a heap, so `From` moves nothing.
    #[serde(deserialize_with = "deadlines_read_exactly")]
    deadlines: Deadlines,
    changes: Vec<LevelChange>,
}

type Deadlines = BinaryHeap<Reverse<(i64, PairKey)>>;

fn deadlines_read_exactly<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Deadlines, D::Error> {
    riskledger_projections::exact::vec(deserializer).map(BinaryHeap::from)
}

impl Feed {
    /// The last seq observed.
    pub(crate) fn seq(&self) -> u64 {
        self.seq
    }

    /// The current level of `subject` (`none` when it has no signal or does not exist).
    pub(crate) fn level(&self, subject: &Subject) -> Level {
        self.levels.get(subject).copied().unwrap_or(Level::None)
    }

    /// Every change with `seq >= from_seq`, in order.
    pub(crate) fn changes_from(&self, from_seq: u64) -> &[LevelChange] {
        let start = self.changes.partition_point(|c| c.seq < from_seq);
        &self.changes[start..]
    }

    /// The level `subject` had after record `seq`: its last change at or before `seq`.
    pub(crate) fn level_after(&self, subject: &Subject, seq: u64) -> Level {
        let end = self.changes.partition_point(|c| c.seq <= seq);
        self.changes[..end]
            .iter()
            .rev()
            .find(|c| &c.subject == subject)
            .map_or(Level::None, |c| c.to)
    }

    /// Records the changes caused by record `seq`, whose event `books` has just folded.
    pub(crate) fn observe(&mut self, seq: u64, event: &Event, books: &Books, policy: &Policy) {
        debug_assert_eq!(
            seq,
            self.seq + 1,
            "the feed sees every record once, in order"
        );
        self.seq = seq;
        let Some(at) = books.latest_event_at() else {
            return;
        };
        let mut touched = self.touched_by(event, books, policy, at);
        self.schedule_from(event, books, policy, at);
        while let Some(Reverse((due, _))) = self.deadlines.peek() {
            if *due > at.as_micros() {
                break;
            }
            let Reverse((_, (client, freelancer))) = self.deadlines.pop().expect("peeked");
            touched.push(Subject::Pair {
                client: client.into(),
                freelancer: freelancer.into(),
            });
        }
        touched.sort_unstable();
        touched.dedup();
        for subject in touched {
            let to = evaluate(books, policy, &subject, at);
            let from = self.level(&subject);
            if from == to {
                continue;
            }
            if to == Level::None {
                self.levels.remove(&subject);
            } else {
                self.levels.insert(subject.clone(), to);
            }
            self.changes.push(LevelChange {
                seq,
                at,
                subject,
                from,
                to,
            });
        }
    }

    /// The subjects whose level `event` may change at `at`.
    fn touched_by(
        &mut self,
        event: &Event,
        books: &Books,
        policy: &Policy,
        at: Timestamp,
    ) -> Vec<Subject> {
        match &event.body {
            Body::ContractStarted {
                contract,
                client,
                freelancer,
                ..
            } => {
                let key: PairKey = (client.as_str().into(), freelancer.as_str().into());
                let pairs = self.contracts.entry(contract.as_str().into()).or_default();
                if !pairs.contains(&key) {
                    pairs.push(key);
                }
                self.pairs_of_contract(contract)
            }
            Body::ContractEnded { contract, .. } | Body::Payment { contract, .. } => {
                self.pairs_of_contract(contract)
            }
            Body::FlagRaised {
                flag,
                reporter,
                subject,
                counterparty,
                ..
            } => {
                let names = FlagNames {
                    reporter: match reporter {
                        Reporter::System => None,
                        Reporter::Account(account) => Some(account.as_str().into()),
                    },
                    subject: subject.as_str().into(),
                    counterparty: counterparty.as_deref().map(Into::into),
                };
                let pairs = pairs_named(&names);
                self.flags.entry(flag.as_str().into()).or_insert(names);
                pairs
            }
            Body::FlagResolved { flag, .. } => self
                .flags
                .get(flag.as_str())
                .map_or_else(Vec::new, pairs_named),
            Body::PriorRelationshipProven {
                client, freelancer, ..
            }
            | Body::ConversionFeePaid {
                client, freelancer, ..
            } => vec![Subject::pair(client, freelancer)],
            Body::AccountOpened { account, .. } | Body::Login { account, .. } => {
                cluster_of(books, policy, account, at)
            }
            Body::PayoutMethodChanged { account, .. } => vec![Subject::account(account)],
        }
    }

    fn pairs_of_contract(&self, contract: &str) -> Vec<Subject> {
        self.contracts.get(contract).map_or_else(Vec::new, |pairs| {
            pairs
                .iter()
                .map(|(client, freelancer)| Subject::pair(client, freelancer))
                .collect()
        })
    }

    /// Schedules the times at which the pairs `event` is about may change level with no
    /// further event: the end of the window (from a contract start) and the onset of
    /// `payments_stopped` (from a payment later than any seen for the pair).
    fn schedule_from(&mut self, event: &Event, books: &Books, policy: &Policy, at: Timestamp) {
        match &event.body {
            Body::ContractStarted {
                client, freelancer, ..
            } => {
                let window_end = books
                    .pairs
                    .report(&policy.pairs, client, freelancer, at)
                    .and_then(|r| r.window_ends_at)
                    .and_then(|end| Timestamp::parse_rfc3339(&end).ok());
                if let Some(end) = window_end {
                    self.schedule(
                        end.as_micros(),
                        (client.as_str().into(), freelancer.as_str().into()),
                    );
                }
            }
            Body::Payment { contract, .. } => {
                let stop = policy
                    .pairs
                    .payments_stopped_days
                    .saturating_mul(Timestamp::MICROS_PER_DAY);
                let at = event.at.as_micros();
                // Fields borrowed one by one: the contract's pairs are read in place, not cloned
                // on every payment.
                for key in self.contracts.get(contract.as_str()).into_iter().flatten() {
                    if !self.latest_payment_at.contains_key(key) {
                        self.latest_payment_at.insert(key.clone(), i64::MIN);
                    }
                    let latest = self.latest_payment_at.get_mut(key).expect("just ensured");
                    if at > *latest {
                        *latest = at;
                        self.deadlines
                            .push(Reverse((at.saturating_add(stop), key.clone())));
                    }
                }
            }
            _ => {}
        }
    }

    fn schedule(&mut self, due: i64, pair: PairKey) {
        self.deadlines.push(Reverse((due, pair)));
    }
}

/// Every pair two of a flag's names can form, in both orders (the flag names the pair in
/// either order; a pair that does not exist evaluates to `none`).
fn pairs_named(names: &FlagNames) -> Vec<Subject> {
    let mut members: Vec<&str> = vec![&names.subject];
    members.extend(names.counterparty.as_deref());
    members.extend(names.reporter.as_deref());
    let mut pairs = Vec::new();
    for (i, a) in members.iter().enumerate() {
        for b in &members[i + 1..] {
            if a != b {
                pairs.push(Subject::pair(a, b));
                pairs.push(Subject::pair(b, a));
            }
        }
    }
    pairs
}

/// `account` and every account its shared devices cluster it with at `at`.
fn cluster_of(books: &Books, policy: &Policy, account: &str, at: Timestamp) -> Vec<Subject> {
    books
        .account_cluster(&policy.accounts, account, at)
        .into_iter()
        .map(|account| Subject::Account { account })
        .collect()
}

fn evaluate(books: &Books, policy: &Policy, subject: &Subject, at: Timestamp) -> Level {
    match subject {
        Subject::Account { account } => books.account_level(&policy.accounts, account, at),
        Subject::Pair { client, freelancer } => {
            books.pair_level(&policy.pairs, client, freelancer, at)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The deadlines read back at their stated length, as the very heap they were: the same
    /// array (so the same bytes again), popped in the same order.
    #[test]
    fn deadlines_read_back_as_the_same_heap() {
        let mut feed = Feed::default();
        for n in 0..1_000i64 {
            let due = (n * 7_919) % 1_009;
            feed.schedule(
                due,
                (format!("c-{n}").into(), format!("f-{}", n % 13).into()),
            );
        }
        let config = bincode::config::legacy();
        let bytes = bincode::serde::encode_to_vec(&feed, config).unwrap();
        let (back, _): (Feed, usize) = bincode::serde::decode_from_slice(&bytes, config).unwrap();
        assert_eq!(back.deadlines.capacity(), 1_000);
        assert_eq!(bincode::serde::encode_to_vec(&back, config).unwrap(), bytes);
        let order = |heap: Deadlines| heap.into_sorted_vec();
        assert_eq!(order(back.deadlines), order(feed.deadlines));
    }
}
