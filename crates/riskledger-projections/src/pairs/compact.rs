//! Compaction (`docs/retention.md`, stage 3): the book forgets the payments no `T` at or
//! after a boundary `B` reads.
//!
//! At `T >= B` a pair's payments are read three ways: the trailing sum adds those in
//! `(T − trailing_days, T]`, all after `P = B − trailing_days`; `payments_stopped` counts every
//! payment at or before `T` and reads the last one. So each contract keeps its payments after
//! `P`, the last one at or before `P` (the pair's last payment at any `T` before the contract's
//! next one), and the number of the others ([`ContractRecord::dropped_payments`]). Everything
//! else a pair holds (contract starts and ends, flags, exemptions) is one fact per subject and
//! is kept whole.
//!
//! A payment at or before `P` that arrives after a compaction would need the dropped ones to be
//! placed and de-duplicated: [`PairBook::is_before_horizon`] says so, and the ledger rebuilds
//! its books from the log instead (as it does for an account event before `B`). Every other
//! event folds exactly into a compacted book, so the result is a function of the set of events
//! and `B`, whatever was compacted before.

use riskledger_events::{Body, Event, Timestamp};

use super::money::days_micros;
use super::state::{ContractRecord, PairBook, PairHorizon, PaymentTables};
use crate::policy::PairPolicy;
use crate::shrink_if_sparse;

impl PairBook {
    /// Compacts the book at `boundary` (`B`): afterwards it answers exactly at every `T >= B`
    /// under `policy` and keeps, per contract, only the payments that some `T >= B` reads.
    /// Idempotent, and a boundary at or before the current one changes nothing. A book is
    /// compacted under one policy (a ledger rebuilds its books when its policy changes):
    /// should a later call give a longer trailing window, payments already dropped stay
    /// dropped, and [`PairBook::is_before_horizon`] keeps refusing payments up to the latest
    /// time any call dropped them at.
    ///
    /// ```
    /// # use riskledger_events::{json::parse_line, Timestamp};
    /// # use riskledger_projections::{pairs::*, Level, Policy};
    /// # let at = |t: &str| Timestamp::parse_rfc3339(t).unwrap();
    /// # let policy = Policy::default().pairs;
    /// let mut book = PairBook::new();
    /// book.apply(&parse_line(1, r#"{"id":"k","type":"contract_started","at":"2023-01-02T00:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"fixed"}"#)?);
    /// for (n, day) in ["2023-01-09", "2023-01-16", "2023-01-23", "2024-05-06"].iter().enumerate() {
    ///     let line = format!(r#"{{"id":"p{n}","type":"payment","at":"{day}T00:00:00Z","contract":"k-1","amount_minor":10000,"currency":"USD"}}"#);
    ///     book.apply(&parse_line(n as u64 + 2, &line)?);
    /// }
    /// let t = at("2024-09-01T00:00:00Z");
    /// let whole = book.report(&policy, "c-1", "f-1", t);
    /// book.compact(&policy, at("2024-08-01T00:00:00Z"));
    /// assert_eq!(book.horizon(), Some(at("2024-08-01T00:00:00Z")));
    /// assert_eq!(book.report(&policy, "c-1", "f-1", t), whole); // 4 payments, the last in May
    /// assert_eq!(whole.unwrap().trailing_payments_minor, 10_000);
    /// # Ok::<(), riskledger_events::json::LineError>(())
    /// ```
    pub fn compact(&mut self, policy: &PairPolicy, boundary: Timestamp) {
        let boundary_at = boundary.as_micros();
        if self
            .horizon
            .is_some_and(|horizon| boundary_at <= horizon.boundary_at)
        {
            return;
        }
        let dropped_through_at = self
            .horizon
            .map_or(i64::MIN, |horizon| horizon.summed_after_at);
        let horizon = PairHorizon {
            boundary_at,
            summed_after_at: summed_after_at(policy, boundary_at).max(dropped_through_at),
        };
        let mut left_behind = false;
        for contract in &mut self.contracts {
            left_behind |= drop_unread_payments(contract, horizon.summed_after_at);
        }
        if left_behind {
            self.reclaim_payment_tables();
        }
        self.horizon = Some(horizon);
    }

    /// The boundary of the last compaction: the book answers exactly at `T` at or after it
    /// (`None`: never compacted, exact at every `T`).
    ///
    /// ```
    /// # use riskledger_events::Timestamp;
    /// # use riskledger_projections::{pairs::*, Policy};
    /// let mut book = PairBook::new();
    /// assert_eq!(book.horizon(), None);
    /// let boundary = Timestamp::parse_rfc3339("2024-08-01T00:00:00Z").unwrap();
    /// book.compact(&Policy::default().pairs, boundary);
    /// assert_eq!(book.horizon(), Some(boundary));
    /// ```
    pub fn horizon(&self) -> Option<Timestamp> {
        self.horizon.map(|horizon| Timestamp(horizon.boundary_at))
    }

    /// Whether `event` is a payment the compacted book can no longer place: one at or before
    /// the boundary minus the trailing year, where payments were dropped.
    /// [`apply`](PairBook::apply) would fold it inexactly; the ledger rebuilds its books from
    /// the log instead.
    ///
    /// ```
    /// # use riskledger_events::{json::parse_line, Timestamp};
    /// # use riskledger_projections::{pairs::*, Policy};
    /// let mut book = PairBook::new();
    /// book.compact(&Policy::default().pairs, Timestamp::parse_rfc3339("2024-08-01T00:00:00Z").unwrap());
    /// let payment = |at: &str| parse_line(1, &format!(r#"{{"id":"p","type":"payment","at":"{at}","contract":"k-1","amount_minor":100,"currency":"USD"}}"#));
    /// assert!(book.is_before_horizon(&payment("2023-08-02T00:00:00Z")?)); // 365 days before B
    /// assert!(!book.is_before_horizon(&payment("2023-08-02T00:00:00.000001Z")?));
    /// # Ok::<(), riskledger_events::json::LineError>(())
    /// ```
    pub fn is_before_horizon(&self, event: &Event) -> bool {
        matches!(event.body, Body::Payment { .. })
            && self
                .horizon
                .is_some_and(|horizon| event.at.as_micros() <= horizon.summed_after_at)
    }
}

/// `P`: no `T >= boundary` sums a payment at or before it. A trailing window of zero or fewer
/// days sums nothing, so `P` is never after the boundary.
fn summed_after_at(policy: &PairPolicy, boundary_at: i64) -> i64 {
    boundary_at.saturating_sub(days_micros(policy.trailing_days.max(0)))
}

/// Drops a contract's payments at or before `summed_after_at` but the last of them, and counts
/// them. Whether a dropped one left its id text or amount behind in the payment tables.
fn drop_unread_payments(contract: &mut ContractRecord, summed_after_at: i64) -> bool {
    let unread = contract
        .payments
        .partition_point(|payment| payment.at <= summed_after_at);
    let mut left_behind = false;
    if unread > 1 {
        let dropped = unread - 1;
        left_behind = contract.payments[..dropped]
            .iter()
            .any(PaymentTables::holds_part_of);
        contract.payments.drain(..dropped);
        contract.dropped_payments = contract
            .dropped_payments
            .saturating_add(u32::try_from(dropped).unwrap_or(u32::MAX));
        shrink_if_sparse(&mut contract.payments);
    }
    left_behind
}

impl PairBook {
    /// Rebuilds the payment tables from the words still in use: ids that are not of a known
    /// numeric shape (UUIDs, say) are stored as text, and a dropped payment's text would
    /// otherwise stay for good. Once per compaction that dropped such a payment: O(payments
    /// kept).
    fn reclaim_payment_tables(&mut self) {
        let mut fresh = self.paid.with_shapes_only();
        for contract in &mut self.contracts {
            contract.move_words(&self.paid, &mut fresh);
        }
        self.paid = fresh;
    }
}
