//! What a pair evaluation returns: the JSON object of `spec/cli.md`'s `pairs` command, with the
//! figures every decision was taken on. Serialisation is the contract; field order is fixed so
//! that the same events and the same `T` print identical bytes.

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use crate::Level;

/// Where a pair stands with respect to the conversion-fee policy, in the spec's precedence.
/// An exempt pair is always at level `none` (its signals are still listed); an `after_window`
/// pair is capped at `low`.
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
/// let fee_paid = r#"{"id":"e9","type":"conversion_fee_paid","at":"2024-03-01T08:00:00Z","client":"c-1","freelancer":"f-1","amount_minor":624000,"currency":"USD"}"#;
/// let book = book_of(&[contract, flag, fee_paid]);
/// let before = book.report(&policy, "c-1", "f-1", at("2024-02-10T00:00:00Z")).unwrap();
/// assert_eq!((before.status, before.level), (PairStatus::InWindow, Level::Medium));
/// let after = book.report(&policy, "c-1", "f-1", at("2024-03-10T00:00:00Z")).unwrap();
/// assert_eq!((after.status, after.level), (PairStatus::ExemptFeePaid, Level::None));
/// assert_eq!(after.status_events, ["e3", "e9"]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PairStatus {
    /// The pair proved it worked together before meeting on the platform: no fee is owed.
    ExemptPriorRelationship,
    /// The pair paid the conversion fee and may work off the platform.
    ExemptFeePaid,
    /// Within the window after `met_at`: leaving now owes the full conversion fee.
    InWindow,
    /// The window has ended: only the nominal fee is at stake, and the level is at most `low`.
    AfterWindow,
}

impl PairStatus {
    /// The status's name, as reports print it.
    ///
    /// ```
    /// use riskledger_projections::pairs::PairStatus;
    ///
    /// assert_eq!(PairStatus::InWindow.as_str(), "in_window");
    /// assert_eq!(serde_json::to_string(&PairStatus::ExemptFeePaid)?, r#""exempt_fee_paid""#);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            PairStatus::ExemptPriorRelationship => "exempt_prior_relationship",
            PairStatus::ExemptFeePaid => "exempt_fee_paid",
            PairStatus::InWindow => "in_window",
            PairStatus::AfterWindow => "after_window",
        }
    }

    /// Whether the pair owes no fee (a proven prior relationship, or the fee paid): its level
    /// is `none` whatever its signals.
    ///
    /// ```
    /// use riskledger_projections::pairs::PairStatus;
    ///
    /// assert!(PairStatus::ExemptPriorRelationship.is_exempt());
    /// assert!(!PairStatus::AfterWindow.is_exempt());
    /// ```
    pub fn is_exempt(self) -> bool {
        matches!(
            self,
            PairStatus::ExemptPriorRelationship | PairStatus::ExemptFeePaid
        )
    }
}

/// The signals of section 1, in the order reports list them.
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
/// let contact = r#"{"id":"e6","type":"flag_raised","at":"2024-02-04T08:00:00Z","flag":"fl-2","reporter":"system","subject":"c-1","counterparty":"f-1","reason":"contact_info"}"#;
/// let report = book_of(&[contract, contact, flag]).report(&policy, "c-1", "f-1", at("2024-03-01T00:00:00Z")).unwrap();
/// let kinds: Vec<SignalKind> = report.signals.iter().map(|s| s.kind).collect();
/// assert_eq!(kinds, [SignalKind::OffPlatformRequest, SignalKind::ContactInfoShared]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalKind {
    /// A flag with reason `off_platform_payment` naming the pair: `medium` while open, `high`
    /// once confirmed.
    OffPlatformRequest,
    /// A flag with reason `contact_info` naming the pair: `low`.
    ContactInfoShared,
    /// The pair has at least 3 payments, the last one 60 days or more before `T`, and a
    /// contract between them still open: `low` (the policy holds the numbers).
    PaymentsStopped,
}

impl SignalKind {
    /// The signal's name, as reports print it.
    ///
    /// ```
    /// use riskledger_projections::pairs::SignalKind;
    ///
    /// assert_eq!(SignalKind::PaymentsStopped.as_str(), "payments_stopped");
    /// assert_eq!(serde_json::to_string(&SignalKind::OffPlatformRequest)?, r#""off_platform_request""#);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
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
/// let confirmed = r#"{"id":"e7","type":"flag_resolved","at":"2024-02-10T08:00:00Z","flag":"fl-1","outcome":"confirmed"}"#;
/// let book = book_of(&[contract, flag, confirmed]);
/// let report = book.report(&policy, "c-1", "f-1", at("2024-03-01T00:00:00Z")).unwrap();
/// let SignalEvidence::Flag(evidence) = &report.signals[0].evidence else { unreachable!() };
/// assert_eq!(evidence.state, FlagState::Confirmed);
/// assert_eq!(evidence.confirmed_at.as_deref(), Some("2024-02-10T08:00:00Z"));
/// assert_eq!(report.level, Level::High);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagState {
    /// Raised, not yet resolved at `T`.
    Open,
    /// A reviewer confirmed it at or before `T`.
    Confirmed,
}

/// How a flag names the pair: as its subject and counterparty, or as its reporter and subject.
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
/// let reported = r#"{"id":"e6","type":"flag_raised","at":"2024-02-04T08:00:00Z","flag":"fl-2","reporter":"c-1","subject":"f-1","reason":"off_platform_payment"}"#;
/// let report = book_of(&[contract, reported]).report(&policy, "c-1", "f-1", at("2024-03-01T00:00:00Z")).unwrap();
/// let SignalEvidence::Flag(evidence) = &report.signals[0].evidence else { unreachable!() };
/// assert_eq!(evidence.named_as, NamedAs::ReporterAndSubject); // no counterparty: c-1 reported f-1
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NamedAs {
    /// The flag's subject and counterparty are the pair, either way round (tried first).
    SubjectAndCounterparty,
    /// One of the pair reported the other (as the flag's subject).
    ReporterAndSubject,
}

/// The figures a flag signal was decided on.
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
/// let report = book_of(&[contract, flag]).report(&policy, "c-1", "f-1", at("2024-03-01T00:00:00Z")).unwrap();
/// let SignalEvidence::Flag(evidence) = &report.signals[0].evidence else { unreachable!() };
/// assert_eq!((evidence.flag.as_str(), evidence.state), ("fl-1", FlagState::Open));
/// assert_eq!((evidence.reporter.as_str(), evidence.subject.as_str()), ("f-1", "c-1"));
/// assert_eq!(evidence.raised_at, "2024-02-03T08:00:00Z");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlagEvidence {
    /// The flag's id.
    pub flag: String,
    /// Open or confirmed at `T`.
    pub state: FlagState,
    /// How the flag names the pair.
    pub named_as: NamedAs,
    /// An account id, or `system`.
    pub reporter: String,
    /// The account the flag is about.
    pub subject: String,
    /// The flag's counterparty, when it names one.
    pub counterparty: Option<String>,
    /// The flag's event time (RFC 3339, UTC).
    pub raised_at: String,
    /// Set when `state` is `confirmed`.
    pub confirmed_at: Option<String>,
}

/// The figures `payments_stopped` was decided on.
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
/// let paid = |n: u32, month: u32| format!(r#"{{"id":"p{n}","type":"payment","at":"2024-{month:02}-01T08:00:00Z","contract":"k-1","amount_minor":100000,"currency":"USD"}}"#);
/// let (p1, p2, p3) = (paid(1, 2), paid(2, 3), paid(3, 4));
/// let book = book_of(&[contract, &p1, &p2, &p3]);
/// let report = book.report(&policy, "c-1", "f-1", at("2024-06-15T08:00:00Z")).unwrap();
/// let SignalEvidence::PaymentsStopped(stopped) = &report.signals[0].evidence else { unreachable!() };
/// assert_eq!((stopped.payments, stopped.last_payment_at.as_str()), (3, "2024-04-01T08:00:00Z"));
/// assert_eq!((stopped.days_since_last_payment, &stopped.open_contracts[..]), (75, &["k-1".to_owned()][..]));
/// assert_eq!(report.level, Level::Low);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoppedEvidence {
    /// Payments of the pair with `at <= T`, every currency.
    pub payments: u64,
    /// The latest of them (RFC 3339, UTC).
    pub last_payment_at: String,
    /// Whole days (floor) from the last payment to `T`.
    pub days_since_last_payment: i64,
    /// Contract ids of the pair's contracts open at `T`, sorted.
    pub open_contracts: Vec<String>,
}

/// The figures a [`PairSignal`] was decided on, by kind of signal.
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
/// let report = book_of(&[contract, flag]).report(&policy, "c-1", "f-1", at("2024-03-01T00:00:00Z")).unwrap();
/// match &report.signals[0].evidence {
///     SignalEvidence::Flag(flag) => assert_eq!(flag.flag, "fl-1"),
///     SignalEvidence::PaymentsStopped(_) => unreachable!("there are no payments"),
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignalEvidence {
    /// `off_platform_request` and `contact_info_shared`: the flag.
    Flag(FlagEvidence),
    /// `payments_stopped`: the payments and the open contracts.
    PaymentsStopped(StoppedEvidence),
}

/// One signal about a pair. `level` is what this signal contributes on its own under the
/// spec's level table (confirmed `off_platform_request` high, open one medium,
/// `contact_info_shared` low, `payments_stopped` low); combinations, exemptions and the
/// after-window cap are applied to the pair's level, not here.
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
/// let report = book_of(&[contract, flag]).report(&policy, "c-1", "f-1", at("2024-03-01T00:00:00Z")).unwrap();
/// let signal = &report.signals[0];
/// assert_eq!((signal.kind, signal.level, &signal.events[..]), (SignalKind::OffPlatformRequest, Level::Medium, &["e5".to_owned()][..]));
/// let json = serde_json::to_value(signal)?; // the evidence is flattened into the signal
/// assert_eq!((json["kind"].as_str(), json["state"].as_str()), (Some("off_platform_request"), Some("open")));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PairSignal {
    /// Which signal.
    pub kind: SignalKind,
    /// What it contributes on its own (see above).
    pub level: Level,
    /// Ids of the events the signal rests on, in event-time order (ties by id).
    pub events: Vec<String>,
    /// The figures it was decided on.
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
/// let payment = r#"{"id":"e4","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":400000,"currency":"USD"}"#;
/// let report = book_of(&[contract, payment, flag]).report(&policy, "c-1", "f-1", at("2024-02-03T08:00:00Z")).unwrap();
/// assert_eq!((report.status, report.level), (PairStatus::InWindow, Level::Medium));
/// assert_eq!(report.rate_based_minor, 5_200_000); // 2,080 h at $25/h
/// assert_eq!((report.days_since_met, report.annualised_over_days), (29, Some(30)));
/// assert_eq!(report.payment_based_minor, 4_866_667); // $4,000 over 30 days, annualised
/// assert_eq!(report.estimated_annual_earnings_minor, 5_200_000); // the higher of the two
/// assert_eq!((report.conversion_fee_minor, report.exposure_minor), (624_000, 624_000)); // 12%
/// assert_eq!(report.window_ends_at.as_deref(), Some("2026-01-05T08:00:00Z"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PairReport {
    /// The client's account id.
    pub client: String,
    /// The freelancer's account id.
    pub freelancer: String,
    /// Where the pair stands with respect to the conversion fee at `T`.
    pub status: PairStatus,
    /// The pair's level at `T`: from its signals, then exemptions and the after-window cap.
    pub level: Level,
    /// The currency of the pair's first contract; every amount of the report is in it.
    pub currency: String,
    /// The higher of `rate_based_minor` and `payment_based_minor`: what the pair is worth a
    /// year.
    pub estimated_annual_earnings_minor: u64,
    /// The fee the pair would owe for leaving now: `fee_basis_points` of the estimate in the
    /// window, the nominal fee after it.
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
    /// Every signal about the pair at `T`, in [`SignalKind`] order.
    pub signals: Vec<PairSignal>,
}
