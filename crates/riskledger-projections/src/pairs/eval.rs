//! Evaluating one pair at a time `T` from the stored facts: only facts with `at <= T` count.

use riskledger_events::{FlagReason, Timestamp};

use super::money::{
    add_calendar_months, annualise, days_micros, fee_of, saturate_u64, whole_days_between,
};
use super::payments::IdText;
use super::report::{
    FlagEvidence, FlagState, NamedAs, PairReport, PairSignal, PairStatus, SignalEvidence,
    SignalKind, StoppedEvidence,
};
use super::state::{
    members_key, ContractStart, FlagRaise, FlagResolution, PairBook, PaymentFact, NONE,
};
use crate::policy::PairPolicy;
use crate::Level;

/// A pair's contract as it stands at `T`.
struct LiveContract<'a> {
    slot: u32,
    start: ContractStart,
    /// Payments with `at <= T`, sorted.
    payments: &'a [PaymentFact],
    /// Payments compaction dropped, all before `payments` (and before the horizon, so before
    /// any `T` the book answers for).
    dropped_payments: u32,
    /// The currency the payment facts hold their amounts in.
    pay_currency: [u8; 3],
    open: bool,
}

/// The payment figures of a pair at `T`.
#[derive(Default)]
struct PaymentFigures {
    /// Every payment with `at <= T`, any currency.
    count: u64,
    /// The latest of them, by `(at, id)`.
    last: Option<PaymentFact>,
    /// Payments in the pair's currency with `at` in `(T − trailing_days, T]`.
    trailing_sum_minor: u128,
    trailing_count: u64,
}

/// The estimate of a pair's annual earnings at `T`, with its parts.
struct Estimate {
    highest_rate_minor: u64,
    rate_based_minor: u64,
    payments: PaymentFigures,
    days_since_met: i64,
    annualised_over_days: Option<i64>,
    payment_based_minor: u64,
    estimate_minor: u64,
}

impl PairBook {
    /// Evaluates pair slot `pair` at `t`; `None` when it has no `contract_started` at or
    /// before `t`, or when its level is below `min_level` (decided before any text of the
    /// report is built, so that filtering most pairs out is cheap).
    pub(crate) fn evaluate(
        &self,
        policy: &PairPolicy,
        pair: u32,
        t: i64,
        min_level: Level,
    ) -> Option<PairReport> {
        let record = self.pairs.get(pair as usize)?;
        let contracts = self.live_contracts(pair, t);
        let first = contracts.iter().map(|c| c.start).min_by(|a, b| {
            a.at.cmp(&b.at).then_with(|| {
                let (a, b) = (self.paid.id_text(a.id), self.paid.id_text(b.id));
                a.as_str().cmp(b.as_str())
            })
        })?;
        let met_at = first.at;
        let window_end = add_calendar_months(met_at, policy.window_months);
        let (status, exemption_event) = self.status_at(pair, t, window_end);

        let estimate = self.estimate_at(policy, &contracts, first, t);
        let payments = &estimate.payments;
        let estimate_minor = estimate.estimate_minor;
        let fee_minor = match status {
            PairStatus::InWindow => fee_of(estimate_minor, policy.fee_basis_points),
            PairStatus::AfterWindow => policy.after_window_fee_minor,
            PairStatus::ExemptPriorRelationship | PairStatus::ExemptFeePaid => 0,
        };

        let flags = self.flag_findings(record.client, record.freelancer, t);
        let stopped_after = payments_stopped_after(&contracts, payments, policy, t);
        let level = pair_level(&flags, stopped_after.is_some(), status);
        if level < min_level {
            return None;
        }
        let mut signals: Vec<PairSignal> = flags.iter().map(|f| self.flag_signal(f)).collect();
        if let Some(last) = stopped_after {
            signals.push(self.payments_stopped_signal(&contracts, payments.count, last, t));
        }

        let first_id = self.paid.id_text(first.id);
        let mut status_events = vec![(first.at, first_id.as_str())];
        status_events.extend(exemption_event);
        Some(PairReport {
            client: self.account_name(record.client).to_owned(),
            freelancer: self.account_name(record.freelancer).to_owned(),
            status,
            level,
            currency: currency_text(first.currency),
            estimated_annual_earnings_minor: estimate_minor,
            conversion_fee_minor: fee_minor,
            exposure_minor: if level >= Level::Low { fee_minor } else { 0 },
            as_of: Timestamp(t).to_rfc3339(),
            met_at: Timestamp(met_at).to_rfc3339(),
            days_since_met: estimate.days_since_met,
            window_ends_at: window_end.map(|end| Timestamp(end).to_rfc3339()),
            status_events: ids_in_time_order(status_events),
            highest_hourly_rate_minor: estimate.highest_rate_minor,
            rate_based_minor: estimate.rate_based_minor,
            trailing_payments_minor: saturate_u64(payments.trailing_sum_minor),
            trailing_payments: payments.trailing_count,
            annualised_over_days: estimate.annualised_over_days,
            payment_based_minor: estimate.payment_based_minor,
            signals,
        })
    }

    /// The level of pair slot `pair` at `t`, decided as [`Self::evaluate`] decides it but
    /// without the estimate or any text: what the change feed asks after every event. `None`
    /// when the pair has no `contract_started` at or before `t`.
    pub(crate) fn level_of(&self, policy: &PairPolicy, pair: u32, t: i64) -> Option<Level> {
        let record = self.pairs.get(pair as usize)?;
        let contracts = self.live_contracts(pair, t);
        let met_at = contracts.iter().map(|c| c.start.at).min()?;
        let window_end = add_calendar_months(met_at, policy.window_months);
        let (status, _) = self.status_at(pair, t, window_end);
        if status.is_exempt() {
            return Some(Level::None);
        }
        let flags = self.flag_findings(record.client, record.freelancer, t);
        let payments = self.payment_count_and_last(&contracts);
        let stopped = payments_stopped_after(&contracts, &payments, policy, t).is_some();
        Some(pair_level(&flags, stopped, status))
    }

    /// The number of payments of `contracts` and the last of them by `(at, id)`; the trailing
    /// figures are left at zero.
    fn payment_count_and_last(&self, contracts: &[LiveContract<'_>]) -> PaymentFigures {
        let mut figures = PaymentFigures::default();
        for contract in contracts {
            figures.count += u64::from(contract.dropped_payments) + contract.payments.len() as u64;
            if let Some(&last) = contract.payments.last() {
                figures.last = Some(match figures.last {
                    Some(kept) if self.later_or_same(&kept, &last) => kept,
                    _ => last,
                });
            }
        }
        figures
    }

    /// The estimated annual earnings at `t` and every figure it is made of. `first` is the
    /// pair's first contract start, whose currency is the pair's.
    fn estimate_at(
        &self,
        policy: &PairPolicy,
        contracts: &[LiveContract<'_>],
        first: ContractStart,
        t: i64,
    ) -> Estimate {
        let highest_rate_minor = contracts
            .iter()
            .filter(|c| c.start.hourly && c.start.currency == first.currency)
            .map(|c| c.start.rate_minor)
            .max()
            .unwrap_or(0);
        let rate_based_minor =
            saturate_u64(u128::from(policy.hours_per_year) * u128::from(highest_rate_minor));
        let payments = self.payment_figures(contracts, first.currency, policy, t);
        let days_since_met = whole_days_between(first.at, t);
        let young = t.saturating_sub(first.at) < days_micros(policy.trailing_days);
        let annualised_over_days = young.then(|| days_since_met.max(policy.annualise_min_days));
        let payment_based_minor = match annualised_over_days {
            Some(over_days) => {
                annualise(payments.trailing_sum_minor, policy.trailing_days, over_days)
            }
            None => saturate_u64(payments.trailing_sum_minor),
        };
        Estimate {
            highest_rate_minor,
            rate_based_minor,
            payments,
            days_since_met,
            annualised_over_days,
            payment_based_minor,
            estimate_minor: rate_based_minor.max(payment_based_minor),
        }
    }

    /// The pair's contracts started at or before `t` (whose winning start names this pair).
    fn live_contracts(&self, pair: u32, t: i64) -> Vec<LiveContract<'_>> {
        let mut live = Vec::new();
        let mut cursor = self.pairs[pair as usize].first_contract;
        while let Some(record) = self.contracts.get(cursor as usize) {
            let slot = cursor;
            cursor = record.next_in_pair;
            let Some(start) = record.start().filter(|s| s.pair == pair && s.at <= t) else {
                continue;
            };
            let upto = record.payments.partition_point(|p| p.at <= t);
            let open = record.end().is_none_or(|end| end.at > t);
            live.push(LiveContract {
                slot,
                start,
                payments: &record.payments[..upto],
                dropped_payments: record.dropped_payments,
                pay_currency: record.pay_currency,
                open,
            });
        }
        live
    }

    /// Status and the event it rests on, in the spec's precedence.
    fn status_at(
        &self,
        pair: u32,
        t: i64,
        window_end: Option<i64>,
    ) -> (PairStatus, Option<(i64, &str)>) {
        let exemptions = self.exemptions_of(pair);
        if let Some(prior) = exemptions
            .and_then(|e| e.prior.as_ref())
            .filter(|p| p.at <= t)
        {
            return (
                PairStatus::ExemptPriorRelationship,
                Some((prior.at, self.text.get(prior.id))),
            );
        }
        if let Some(fee) = exemptions
            .and_then(|e| e.fee_paid.as_ref())
            .filter(|f| f.at <= t)
        {
            return (
                PairStatus::ExemptFeePaid,
                Some((fee.at, self.text.get(fee.id))),
            );
        }
        match window_end {
            Some(end) if t >= end => (PairStatus::AfterWindow, None),
            _ => (PairStatus::InWindow, None),
        }
    }

    fn payment_figures(
        &self,
        contracts: &[LiveContract<'_>],
        currency: [u8; 3],
        policy: &PairPolicy,
        t: i64,
    ) -> PaymentFigures {
        let trailing_from = t.saturating_sub(days_micros(policy.trailing_days));
        let mut figures = self.payment_count_and_last(contracts);
        for contract in contracts {
            if contract.start.currency != currency {
                continue;
            }
            let from = contract.payments.partition_point(|p| p.at <= trailing_from);
            for payment in &contract.payments[from..] {
                let (amount_minor, paid_in) =
                    self.paid.amount(payment.amount, contract.pay_currency);
                if paid_in == currency {
                    figures.trailing_sum_minor += u128::from(amount_minor);
                    figures.trailing_count += 1;
                }
            }
        }
        figures
    }

    /// `a >= b` by `(at, id)`.
    fn later_or_same(&self, a: &PaymentFact, b: &PaymentFact) -> bool {
        a.at > b.at
            || (a.at == b.at
                && self.paid.id_text(a.id).as_str() >= self.paid.id_text(b.id).as_str())
    }

    /// The `payments_stopped` signal of a pair whose payments stopped after `last`.
    fn payments_stopped_signal(
        &self,
        contracts: &[LiveContract<'_>],
        payment_count: u64,
        last: PaymentFact,
        t: i64,
    ) -> PairSignal {
        let open: Vec<&LiveContract<'_>> = contracts.iter().filter(|c| c.open).collect();
        let start_ids: Vec<(i64, IdText<'_>)> = open
            .iter()
            .map(|c| (c.start.at, self.paid.id_text(c.start.id)))
            .collect();
        let mut events: Vec<(i64, &str)> = start_ids
            .iter()
            .map(|(at, id)| (*at, id.as_str()))
            .collect();
        let last_id = self.paid.id_text(last.id);
        events.push((last.at, last_id.as_str()));
        let mut open_contracts: Vec<String> = open
            .iter()
            .map(|c| {
                self.text
                    .get(self.contracts[c.slot as usize].name)
                    .to_owned()
            })
            .collect();
        open_contracts.sort();
        PairSignal {
            kind: SignalKind::PaymentsStopped,
            level: Level::Low,
            events: ids_in_time_order(events),
            evidence: SignalEvidence::PaymentsStopped(StoppedEvidence {
                payments: payment_count,
                last_payment_at: Timestamp(last.at).to_rfc3339(),
                days_since_last_payment: whole_days_between(last.at, t),
                open_contracts,
            }),
        }
    }

    /// Every flag with a pair reason that names both members, is raised at or before `t` and
    /// is not dismissed at `t`; sorted by kind, then raise time, then flag id.
    fn flag_findings(&self, client: u32, freelancer: u32, t: i64) -> Vec<FlagFinding> {
        let Some(candidates) = self.flags_by_members.get(&members_key(client, freelancer)) else {
            return Vec::new();
        };
        let mut found: Vec<FlagFinding> = candidates
            .iter()
            .filter_map(|&flag| self.flag_finding(flag, client, freelancer, t))
            .collect();
        let order = |f: &FlagFinding| {
            (
                f.kind,
                f.raise.at,
                self.text.get(self.flags[f.flag as usize].name),
            )
        };
        found.sort_by(|a, b| order(a).cmp(&order(b)));
        found
    }

    fn flag_finding(&self, flag: u32, client: u32, freelancer: u32, t: i64) -> Option<FlagFinding> {
        let record = self.flags.get(flag as usize)?;
        let raise = record.raised.filter(|r| r.at <= t)?;
        let kind = match raise.reason {
            FlagReason::OffPlatformPayment => SignalKind::OffPlatformRequest,
            FlagReason::ContactInfo => SignalKind::ContactInfoShared,
            _ => return None,
        };
        let named_as = names_pair(&raise, client, freelancer)?;
        let resolution = record.resolved.filter(|r| r.at <= t);
        if resolution.is_some_and(|r| !r.confirmed) {
            return None;
        }
        let confirmed = resolution.filter(|r| r.confirmed);
        let state = if confirmed.is_some() {
            FlagState::Confirmed
        } else {
            FlagState::Open
        };
        Some(FlagFinding {
            flag,
            kind,
            state,
            named_as,
            raise,
            confirmed,
        })
    }

    fn flag_signal(&self, finding: &FlagFinding) -> PairSignal {
        let FlagFinding {
            flag,
            kind,
            state,
            named_as,
            raise,
            confirmed,
        } = *finding;
        let mut events = vec![(raise.at, self.text.get(raise.id))];
        events.extend(confirmed.map(|r| (r.at, self.text.get(r.id))));
        let optional_name = |slot: u32| (slot != NONE).then(|| self.account_name(slot).to_owned());
        PairSignal {
            kind,
            level: flag_signal_level(kind, state),
            events: ids_in_time_order(events),
            evidence: SignalEvidence::Flag(FlagEvidence {
                flag: self.text.get(self.flags[flag as usize].name).to_owned(),
                state,
                named_as,
                reporter: optional_name(raise.reporter).unwrap_or_else(|| "system".to_owned()),
                subject: self.account_name(raise.subject).to_owned(),
                counterparty: optional_name(raise.counterparty),
                raised_at: Timestamp(raise.at).to_rfc3339(),
                confirmed_at: confirmed.map(|r| Timestamp(r.at).to_rfc3339()),
            }),
        }
    }
}

/// A flag that gives a signal at `T`, before its text is built.
#[derive(Clone, Copy)]
struct FlagFinding {
    flag: u32,
    kind: SignalKind,
    state: FlagState,
    named_as: NamedAs,
    raise: FlagRaise,
    confirmed: Option<FlagResolution>,
}

/// What a flag signal contributes on its own under the level table.
fn flag_signal_level(kind: SignalKind, state: FlagState) -> Level {
    match (kind, state) {
        (SignalKind::OffPlatformRequest, FlagState::Confirmed) => Level::High,
        (SignalKind::OffPlatformRequest, FlagState::Open) => Level::Medium,
        _ => Level::Low,
    }
}

/// `payments_stopped` at `t` (enough payments, the last one long enough ago, a contract
/// open): the last payment, if it holds.
fn payments_stopped_after(
    contracts: &[LiveContract<'_>],
    payments: &PaymentFigures,
    policy: &PairPolicy,
    t: i64,
) -> Option<PaymentFact> {
    let last = payments.last?;
    let enough_payments = payments.count >= policy.payments_stopped_min_payments;
    let quiet_long_enough = t.saturating_sub(last.at) >= days_micros(policy.payments_stopped_days);
    let contract_open = contracts.iter().any(|c| c.open);
    (enough_payments && quiet_long_enough && contract_open).then_some(last)
}

/// How a flag names the pair `{client, freelancer}` (either order), if it does.
fn names_pair(raise: &FlagRaise, client: u32, freelancer: u32) -> Option<NamedAs> {
    let pair = members_key(client, freelancer);
    if raise.counterparty != NONE && members_key(raise.subject, raise.counterparty) == pair {
        return Some(NamedAs::SubjectAndCounterparty);
    }
    if raise.reporter != NONE && members_key(raise.reporter, raise.subject) == pair {
        return Some(NamedAs::ReporterAndSubject);
    }
    None
}

/// The level table of section 1, then exemption (always `none`) and the after-window cap.
fn pair_level(flags: &[FlagFinding], stopped: bool, status: PairStatus) -> Level {
    let has = |kind: SignalKind, state: FlagState| {
        flags.iter().any(|f| f.kind == kind && f.state == state)
    };
    let confirmed_request = has(SignalKind::OffPlatformRequest, FlagState::Confirmed);
    let open_request = has(SignalKind::OffPlatformRequest, FlagState::Open);
    let contact = flags
        .iter()
        .any(|f| f.kind == SignalKind::ContactInfoShared);
    let level = if confirmed_request || (open_request && stopped) {
        Level::High
    } else if open_request || (contact && stopped) {
        Level::Medium
    } else if contact || stopped {
        Level::Low
    } else {
        Level::None
    };
    match status {
        PairStatus::ExemptPriorRelationship | PairStatus::ExemptFeePaid => Level::None,
        PairStatus::AfterWindow => level.min(Level::Low),
        PairStatus::InWindow => level,
    }
}

fn ids_in_time_order(mut events: Vec<(i64, &str)>) -> Vec<String> {
    events.sort_unstable();
    events.dedup();
    events.into_iter().map(|(_, id)| id.to_owned()).collect()
}

fn currency_text(code: [u8; 3]) -> String {
    String::from_utf8_lossy(&code).into_owned()
}
