//! What a pair evaluation returns: the JSON object of `spec/cli.md`'s `pairs` command, with the
//! figures every decision was taken on. Serialisation is the contract; field order is fixed so
//! that the same events and the same `T` print identical bytes.

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use crate::Level;

/// Where a pair stands with respect to the conversion-fee policy, in the spec's precedence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PairStatus {
    ExemptPriorRelationship,
    ExemptFeePaid,
    InWindow,
    AfterWindow,
}

impl PairStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PairStatus::ExemptPriorRelationship => "exempt_prior_relationship",
            PairStatus::ExemptFeePaid => "exempt_fee_paid",
            PairStatus::InWindow => "in_window",
            PairStatus::AfterWindow => "after_window",
        }
    }

    pub fn is_exempt(self) -> bool {
        matches!(
            self,
            PairStatus::ExemptPriorRelationship | PairStatus::ExemptFeePaid
        )
    }
}

/// The signals of section 1, in the order reports list them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalKind {
    OffPlatformRequest,
    ContactInfoShared,
    PaymentsStopped,
}

impl SignalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SignalKind::OffPlatformRequest => "off_platform_request",
            SignalKind::ContactInfoShared => "contact_info_shared",
            SignalKind::PaymentsStopped => "payments_stopped",
        }
    }
}

/// A flag signal is `open` until a `flag_resolved` with `at <= T` confirms it (a dismissed
/// flag gives no signal at all).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagState {
    Open,
    Confirmed,
}

/// How a flag names the pair: as its subject and counterparty, or as its reporter and subject.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NamedAs {
    SubjectAndCounterparty,
    ReporterAndSubject,
}

/// The figures a flag signal was decided on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlagEvidence {
    pub flag: String,
    pub state: FlagState,
    pub named_as: NamedAs,
    /// An account id, or `system`.
    pub reporter: String,
    pub subject: String,
    pub counterparty: Option<String>,
    pub raised_at: String,
    /// Set when `state` is `confirmed`.
    pub confirmed_at: Option<String>,
}

/// The figures `payments_stopped` was decided on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoppedEvidence {
    /// Payments of the pair with `at <= T`, every currency.
    pub payments: u64,
    pub last_payment_at: String,
    /// Whole days (floor) from the last payment to `T`.
    pub days_since_last_payment: i64,
    /// Contract ids of the pair's contracts open at `T`, sorted.
    pub open_contracts: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignalEvidence {
    Flag(FlagEvidence),
    PaymentsStopped(StoppedEvidence),
}

/// One signal about a pair. `level` is what this signal contributes on its own under the
/// spec's level table (confirmed `off_platform_request` high, open one medium,
/// `contact_info_shared` low, `payments_stopped` low); combinations, exemptions and the
/// after-window cap are applied to the pair's level, not here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PairSignal {
    pub kind: SignalKind,
    pub level: Level,
    /// Ids of the events the signal rests on, in event-time order (ties by id).
    pub events: Vec<String>,
    pub evidence: SignalEvidence,
}

impl Serialize for PairSignal {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("kind", &self.kind)?;
        map.serialize_entry("level", &self.level)?;
        map.serialize_entry("events", &self.events)?;
        match &self.evidence {
            SignalEvidence::Flag(flag) => {
                map.serialize_entry("flag", &flag.flag)?;
                map.serialize_entry("state", &flag.state)?;
                map.serialize_entry("named_as", &flag.named_as)?;
                map.serialize_entry("reporter", &flag.reporter)?;
                map.serialize_entry("subject", &flag.subject)?;
                map.serialize_entry("counterparty", &flag.counterparty)?;
                map.serialize_entry("raised_at", &flag.raised_at)?;
                map.serialize_entry("confirmed_at", &flag.confirmed_at)?;
            }
            SignalEvidence::PaymentsStopped(stopped) => {
                map.serialize_entry("payments", &stopped.payments)?;
                map.serialize_entry("last_payment_at", &stopped.last_payment_at)?;
                map.serialize_entry("days_since_last_payment", &stopped.days_since_last_payment)?;
                map.serialize_entry("open_contracts", &stopped.open_contracts)?;
            }
        }
        map.end()
    }
}

/// The circumvention exposure of one pair at `T` (`as_of`), with its explanation.
///
/// The first eight fields are `spec/cli.md`'s; the rest are the figures an auditor needs to
/// re-derive the estimate and the fee by hand.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PairReport {
    pub client: String,
    pub freelancer: String,
    pub status: PairStatus,
    pub level: Level,
    /// The currency of the pair's first contract; every amount of the report is in it.
    pub currency: String,
    pub estimated_annual_earnings_minor: u64,
    pub conversion_fee_minor: u64,
    /// `conversion_fee_minor` when `level >= low`, else 0: what the platform stands to lose.
    pub exposure_minor: u64,
    /// The evaluation time `T`.
    pub as_of: String,
    /// Event time of the pair's first `contract_started` (at or before `T`).
    pub met_at: String,
    /// Whole days (floor) from `met_at` to `T`.
    pub days_since_met: i64,
    /// `met_at` plus the window's calendar months: the first instant of `after_window`.
    /// `null` when that date is beyond what the calendar can represent.
    pub window_ends_at: Option<String>,
    /// Ids of the events the status rests on: the first `contract_started`, and the
    /// `prior_relationship_proven` or `conversion_fee_paid` that exempts the pair.
    pub status_events: Vec<String>,
    /// Highest `rate_minor` of the pair's hourly contracts in `currency` (0 if none).
    pub highest_hourly_rate_minor: u64,
    /// `hours_per_year` × `highest_hourly_rate_minor`.
    pub rate_based_minor: u64,
    /// Sum of the pair's payments in `currency` with `at` in `(T − trailing_days, T]`.
    pub trailing_payments_minor: u64,
    /// How many payments that sum has.
    pub trailing_payments: u64,
    /// The days the trailing sum was annualised over (`max(days_since_met, 30)`), or `null`
    /// when the pair is at least `trailing_days` old and the sum is taken as it is.
    pub annualised_over_days: Option<i64>,
    /// `trailing_payments_minor`, annualised when the pair is younger than `trailing_days`.
    pub payment_based_minor: u64,
    pub signals: Vec<PairSignal>,
}
