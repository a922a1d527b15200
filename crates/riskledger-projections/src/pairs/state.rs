//! The fold state: time-stamped facts, grouped so that any `T` can be answered without
//! replaying the log. Nothing here depends on arrival order except internal slot numbers, which
//! never reach an output: duplicates of one fact keep the least by `(at, event id, content)`,
//! payments are kept sorted by the same key, and outputs and digests are built from names.

use std::cmp::Ordering;

use riskledger_events::{Body, ContractKind, Currency, Event, FlagOutcome, FlagReason};
use serde::{Deserialize, Serialize};

use super::arena::{Arena, TextRef};
use crate::keys::{FastMap, IdKey};

/// "No slot" in the `u32` links and account references below.
pub(crate) const NONE: u32 = u32::MAX;

/// Circumvention exposure per client–freelancer pair: the fold state of `spec/policy.md`,
/// section 1. See `docs/policy-pairs.md` for every rule and choice.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct PairBook {
    pub(crate) text: Arena,
    account_index: FastMap<IdKey, u32>,
    /// Account slot → its name in `text`.
    pub(crate) account_names: Vec<TextRef>,
    pub(crate) pair_index: FastMap<(u32, u32), u32>,
    pub(crate) pairs: Vec<PairRecord>,
    contract_index: FastMap<IdKey, u32>,
    pub(crate) contracts: Vec<ContractRecord>,
    flag_index: FastMap<IdKey, u32>,
    pub(crate) flags: Vec<FlagRecord>,
    /// Unordered account pair (lower slot first) → flags with a pair reason naming both.
    /// May hold flags whose winning `flag_raised` no longer names the pair; readers re-check.
    pub(crate) flags_by_members: FastMap<(u32, u32), Vec<u32>>,
    /// Pairs with at least one contract linked (what [`PairBook::len`] counts).
    pub(crate) pairs_with_contracts: usize,
}

/// One client–freelancer pair, created by the first event that names it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct PairRecord {
    pub(crate) client: u32,
    pub(crate) freelancer: u32,
    /// Head of the list of this pair's contracts, linked through `ContractRecord::next_in_pair`.
    pub(crate) first_contract: u32,
    /// Rare, so boxed: eight bytes per pair instead of twenty-four.
    pub(crate) prior: Option<Box<PriorFact>>,
    pub(crate) fee_paid: Option<Box<FeePaidFact>>,
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
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct ContractRecord {
    pub(crate) name: TextRef,
    pub(crate) next_in_pair: u32,
    pub(crate) start: Option<ContractStart>,
    pub(crate) end: Option<Stamp>,
    /// Sorted by `(at, event id, amount, currency)`, without exact duplicates.
    pub(crate) payments: Vec<PaymentFact>,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct ContractStart {
    pub(crate) at: i64,
    /// 0 when the contract has no rate.
    pub(crate) rate_minor: u64,
    pub(crate) id: TextRef,
    pub(crate) pair: u32,
    pub(crate) currency: [u8; 3],
    pub(crate) hourly: bool,
}

/// When something happened and the id of the event that says so.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Stamp {
    pub(crate) at: i64,
    pub(crate) id: TextRef,
}

/// One payment: 24 bytes (the id is a reference into the arena).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct PaymentFact {
    pub(crate) at: i64,
    pub(crate) amount_minor: u64,
    pub(crate) id: TextRef,
    pub(crate) currency: [u8; 3],
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
    pub fn new() -> Self {
        Self::default()
    }

    /// Folds one event in. Events may arrive in any order; only their event time matters.
    /// Types section 1 does not read are ignored. Never panics.
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
    pub fn len(&self) -> usize {
        self.pairs_with_contracts
    }

    pub fn is_empty(&self) -> bool {
        self.pairs_with_contracts == 0
    }

    /// Gives back the spare capacity of every buffer (growth slack), for a book that will
    /// mostly be read from now on, e.g. after a replay. Changes no answer.
    pub fn shrink_to_fit(&mut self) {
        self.text.shrink_to_fit();
        self.account_index.shrink_to_fit();
        self.account_names.shrink_to_fit();
        self.pair_index.shrink_to_fit();
        self.pairs.shrink_to_fit();
        self.contract_index.shrink_to_fit();
        self.contracts.shrink_to_fit();
        for contract in &mut self.contracts {
            contract.payments.shrink_to_fit();
        }
        self.flag_index.shrink_to_fit();
        self.flags.shrink_to_fit();
        self.flags_by_members.shrink_to_fit();
    }

    // ----- slots -------------------------------------------------------------------------

    fn account_slot(&mut self, name: &str) -> u32 {
        let key = IdKey::new(name);
        if let Some(&slot) = self.account_index.get(&key) {
            return slot;
        }
        let slot = self.account_names.len() as u32;
        self.account_names.push(self.text.push(name));
        self.account_index.insert(key, slot);
        slot
    }

    pub(crate) fn account_lookup(&self, name: &str) -> Option<u32> {
        self.account_index.get(&IdKey::new(name)).copied()
    }

    pub(crate) fn account_name(&self, slot: u32) -> &str {
        match self.account_names.get(slot as usize) {
            Some(&name) => self.text.get(name),
            None => "system",
        }
    }

    fn pair_slot(&mut self, client: &str, freelancer: &str) -> u32 {
        let key = (self.account_slot(client), self.account_slot(freelancer));
        if let Some(&slot) = self.pair_index.get(&key) {
            return slot;
        }
        let slot = self.pairs.len() as u32;
        self.pairs.push(PairRecord {
            client: key.0,
            freelancer: key.1,
            first_contract: NONE,
            prior: None,
            fee_paid: None,
        });
        self.pair_index.insert(key, slot);
        slot
    }

    fn contract_slot(&mut self, name: &str) -> u32 {
        let key = IdKey::new(name);
        if let Some(&slot) = self.contract_index.get(&key) {
            return slot;
        }
        let slot = self.contracts.len() as u32;
        self.contracts.push(ContractRecord {
            name: self.text.push(name),
            next_in_pair: NONE,
            start: None,
            end: None,
            payments: Vec::new(),
        });
        self.contract_index.insert(key, slot);
        slot
    }

    fn flag_slot(&mut self, name: &str) -> u32 {
        let key = IdKey::new(name);
        if let Some(&slot) = self.flag_index.get(&key) {
            return slot;
        }
        let slot = self.flags.len() as u32;
        self.flags.push(FlagRecord {
            name: self.text.push(name),
            raised: None,
            resolved: None,
        });
        self.flag_index.insert(key, slot);
        slot
    }

    // ----- contracts ---------------------------------------------------------------------

    fn apply_contract_started(&mut self, contract: &str, new: NewStart<'_>) {
        let pair = self.pair_slot(new.client, new.freelancer);
        let slot = self.contract_slot(contract);
        if let Some(old) = self.contracts[slot as usize].start {
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
            .start
            .is_some_and(|old| old.pair == pair);
        let start = ContractStart {
            at: new.at,
            rate_minor: new.rate_minor,
            id: self.text.push(new.id),
            pair,
            currency: new.currency.0,
            hourly: new.hourly,
        };
        self.contracts[slot as usize].start = Some(start);
        if !linked {
            self.link_contract(slot, pair);
        }
    }

    fn compare_start(&self, old: &ContractStart, new: &NewStart<'_>) -> Ordering {
        let old_pair = &self.pairs[old.pair as usize];
        let old_key = (
            old.at,
            self.text.get(old.id),
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
        let current = self.contracts[slot].end;
        if self.replaces(current.map(|end| (end.at, end.id)), at, id) {
            self.contracts[slot].end = Some(Stamp {
                at,
                id: self.text.push(id),
            });
        }
    }

    /// True when a fact `(at, id)` is less than the one kept (or none is kept). Equal keys are
    /// the same event applied twice: kept once.
    fn replaces(&self, kept: Option<(i64, TextRef)>, at: i64, id: &str) -> bool {
        match kept {
            None => true,
            Some((kept_at, kept_id)) => (at, id) < (kept_at, self.text.get(kept_id)),
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
        let text = &mut self.text;
        let payments = &mut self.contracts[slot].payments;
        let key = (at, id, amount_minor, currency.0);
        let position = match payments.last() {
            None => 0,
            Some(last) if last.at < at => payments.len(),
            Some(_) => {
                let mut position = payments.partition_point(|p| p.at < at);
                while let Some(p) = payments.get(position).filter(|p| p.at == at) {
                    match (p.at, text.get(p.id), p.amount_minor, p.currency).cmp(&key) {
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
            amount_minor,
            id: text.push(id),
            currency: currency.0,
        };
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
        let pair = self.pair_slot(client, freelancer) as usize;
        if let Some(kept) = &self.pairs[pair].prior {
            if (kept.at, self.text.get(kept.id), kept.since_days) <= (at, id, since_days) {
                return;
            }
        }
        let fact = PriorFact {
            at,
            id: self.text.push(id),
            since_days,
        };
        self.pairs[pair].prior = Some(Box::new(fact));
    }

    fn apply_conversion_fee_paid(
        &mut self,
        client: &str,
        freelancer: &str,
        fee: (i64, &str, u64, Currency),
    ) {
        let (at, id, amount_minor, currency) = fee;
        let pair = self.pair_slot(client, freelancer) as usize;
        if let Some(kept) = &self.pairs[pair].fee_paid {
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
        self.pairs[pair].fee_paid = Some(Box::new(fact));
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
mod size_tests {
    use super::*;

    /// The per-payment and per-contract sizes `docs/policy-pairs.md` accounts for.
    #[test]
    fn record_sizes_stay_as_documented() {
        assert_eq!(std::mem::size_of::<PaymentFact>(), 24);
        assert_eq!(std::mem::size_of::<ContractRecord>(), 88);
        assert_eq!(std::mem::size_of::<PairRecord>(), 32);
    }
}
