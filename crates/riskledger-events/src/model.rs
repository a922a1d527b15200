//! The event types of `spec/events.md`, as they are stored.
//!
//! Stored types follow the rules of `docs/format.md`: no `skip`, `flatten`, `tag` or `untagged`
//! serde attributes; enum variants are only ever appended; money and time are integers.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::limits::{
    MAX_ACCURACY_KM, MAX_AMOUNT_MINOR, MAX_ID_BYTES, MAX_METHOD_BYTES, MAX_NOTE_BYTES,
};

/// One event: the producer's idempotency key, when it happened, and what happened.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The producer's idempotency key, 1..=64 bytes.
    pub id: String,
    /// Event time (when it happened), in microseconds since the Unix epoch, UTC.
    pub at: Timestamp,
    /// What happened.
    pub body: Body,
}

/// Microseconds since 1970-01-01T00:00:00Z. Event time, never append time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub const MICROS_PER_SECOND: i64 = 1_000_000;
    pub const MICROS_PER_DAY: i64 = 86_400 * Self::MICROS_PER_SECOND;

    /// The earliest and latest instants a `Timestamp` may hold: years 0001 to 9999, as RFC 3339
    /// can write them.
    pub const MIN: Timestamp = Timestamp(-62_135_596_800_000_000);
    pub const MAX: Timestamp = Timestamp(253_402_300_799_999_999);

    pub fn as_micros(self) -> i64 {
        self.0
    }

    /// Parses an RFC 3339 timestamp with an offset. Sub-microsecond digits must be zero.
    pub fn parse_rfc3339(text: &str) -> Result<Self, &'static str> {
        let parsed = chrono::DateTime::parse_from_rfc3339(text)
            .map_err(|_| "not an RFC 3339 timestamp with an offset, e.g. 2025-03-01T09:30:00Z")?;
        if parsed.timestamp_subsec_nanos() % 1_000 != 0 {
            return Err("has sub-microsecond digits: at most 6 fractional digits are stored");
        }
        Ok(Timestamp(parsed.timestamp_micros()))
    }

    /// RFC 3339 in UTC with `Z`, with only as many fractional digits as are needed (0, 3 or 6).
    pub fn to_rfc3339(self) -> String {
        match chrono::DateTime::from_timestamp_micros(self.0) {
            Some(t) => t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            None => format!("@{}us", self.0),
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

/// A calendar date, as days since 1970-01-01.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Date(pub i32);

impl Date {
    const EPOCH: chrono::NaiveDate = match chrono::NaiveDate::from_ymd_opt(1970, 1, 1) {
        Some(d) => d,
        None => unreachable!(),
    };

    pub fn parse(text: &str) -> Result<Self, &'static str> {
        let date = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .filter(|_| text.len() == 10)
            .ok_or("not a date of the form YYYY-MM-DD")?;
        let days = date.signed_duration_since(Self::EPOCH).num_days();
        i32::try_from(days)
            .map(Date)
            .map_err(|_| "date out of range")
    }

    /// The first and last dates a `Date` may hold: the years RFC 3339 can write.
    pub const MIN: Date = Date(-719_162); // 0001-01-01
    pub const MAX: Date = Date(2_932_896); // 9999-12-31

    /// The calendar date (dates outside [`Date::MIN`]..=[`Date::MAX`] clamp to them; validation
    /// keeps them out of the ledger).
    pub fn to_naive(self) -> chrono::NaiveDate {
        let days = i64::from(self.0.clamp(Self::MIN.0, Self::MAX.0));
        Self::EPOCH
            .checked_add_signed(chrono::TimeDelta::days(days))
            .unwrap_or(Self::EPOCH)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_naive().format("%Y-%m-%d"))
    }
}

/// ISO 3166-1 alpha-2 country code, upper case (checked for form: two letters A–Z).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Country(pub [u8; 2]);

/// ISO 4217 currency code, upper case (checked for form: three letters A–Z).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Currency(pub [u8; 3]);

fn upper_letters<const N: usize>(text: &str) -> Option<[u8; N]> {
    let bytes: [u8; N] = text.as_bytes().try_into().ok()?;
    bytes.iter().all(u8::is_ascii_uppercase).then_some(bytes)
}

impl Country {
    pub fn parse(text: &str) -> Option<Self> {
        upper_letters(text).map(Country)
    }
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl Currency {
    pub fn parse(text: &str) -> Option<Self> {
        upper_letters(text).map(Currency)
    }
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("???")
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An IP address, stored as its bytes (the canonical text is printed on export).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Ip {
    V4([u8; 4]),
    V6([u8; 16]),
}

impl Ip {
    pub fn parse(text: &str) -> Option<Self> {
        match text.parse::<std::net::IpAddr>().ok()? {
            std::net::IpAddr::V4(v4) => Some(Ip::V4(v4.octets())),
            std::net::IpAddr::V6(v6) => Some(Ip::V6(v6.octets())),
        }
    }
}

impl fmt::Display for Ip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Ip::V4(b) => std::net::Ipv4Addr::from(b).fmt(f),
            Ip::V6(b) => std::net::Ipv6Addr::from(b).fmt(f),
        }
    }
}

/// Declares a closed vocabulary: a stored enum, its wire names, parsing and printing.
/// Variants are only ever appended (their index is their stored form).
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every value, in stored order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The wire names, for error messages.
            pub const NAMES: &'static str = concat!($("`", $wire, "` "),+);

            pub fn parse(text: &str) -> Option<Self> {
                match text { $($wire => Some($name::$variant),)+ _ => None }
            }
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

vocabulary!(
    /// The `role` of an account.
    Role { Client => "client", Freelancer => "freelancer", Agency => "agency" }
);
vocabulary!(
    /// The `kind` of a contract.
    ContractKind { Hourly => "hourly", Fixed => "fixed" }
);
vocabulary!(
    /// How a contract ended.
    ContractOutcome { Completed => "completed", Cancelled => "cancelled", Disputed => "disputed" }
);
vocabulary!(
    /// Why a flag was raised.
    FlagReason {
        OffPlatformPayment => "off_platform_payment",
        ContactInfo => "contact_info",
        AccountSharing => "account_sharing",
        SuspiciousLogin => "suspicious_login",
        Other => "other",
    }
);
vocabulary!(
    /// A reviewer's decision on a flag.
    FlagOutcome { Confirmed => "confirmed", Dismissed => "dismissed" }
);
vocabulary!(
    /// What kind of network a login came through.
    Network {
        Residential => "residential",
        Mobile => "mobile",
        Hosting => "hosting",
        Vpn => "vpn",
        Tor => "tor",
    }
);

impl Network {
    /// `vpn`, `tor` and `hosting` say nothing about where a person is.
    pub fn hides_location(self) -> bool {
        matches!(self, Network::Hosting | Network::Vpn | Network::Tor)
    }
}

/// Who raised a flag: an account, or the platform itself (`system` on the wire).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Reporter {
    System,
    Account(String),
}

impl Reporter {
    pub const SYSTEM: &'static str = "system";

    pub fn as_str(&self) -> &str {
        match self {
            Reporter::System => Self::SYSTEM,
            Reporter::Account(account) => account,
        }
    }

    pub fn account(&self) -> Option<&str> {
        match self {
            Reporter::System => None,
            Reporter::Account(account) => Some(account),
        }
    }
}

/// What happened. One variant per `type` of `spec/events.md`, in the spec's order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Body {
    AccountOpened {
        account: String,
        role: Role,
        country: Country,
    },
    ContractStarted {
        contract: String,
        client: String,
        freelancer: String,
        currency: Currency,
        kind: ContractKind,
        rate_minor: Option<u64>,
    },
    ContractEnded {
        contract: String,
        outcome: ContractOutcome,
    },
    Payment {
        contract: String,
        amount_minor: u64,
        currency: Currency,
    },
    FlagRaised {
        flag: String,
        reporter: Reporter,
        subject: String,
        counterparty: Option<String>,
        reason: FlagReason,
        note: Option<String>,
    },
    FlagResolved {
        flag: String,
        outcome: FlagOutcome,
    },
    PriorRelationshipProven {
        client: String,
        freelancer: String,
        since: Date,
    },
    ConversionFeePaid {
        client: String,
        freelancer: String,
        amount_minor: u64,
        currency: Currency,
    },
    Login {
        account: String,
        device: String,
        ip: Ip,
        lat: f64,
        lon: f64,
        country: Country,
        /// Always present in the stored form: the spec's default (50) is applied on input.
        accuracy_km: f64,
        network: Option<Network>,
    },
    PayoutMethodChanged {
        account: String,
        method: String,
        country: Country,
    },
}

/// The wire names of the event types, in stored order.
pub const EVENT_TYPES: [&str; 10] = [
    "account_opened",
    "contract_started",
    "contract_ended",
    "payment",
    "flag_raised",
    "flag_resolved",
    "prior_relationship_proven",
    "conversion_fee_paid",
    "login",
    "payout_method_changed",
];

impl Body {
    /// The wire name of this event's `type`.
    pub fn type_name(&self) -> &'static str {
        EVENT_TYPES[self.type_index()]
    }

    /// The position of this type in [`EVENT_TYPES`] (also its stored variant index).
    pub fn type_index(&self) -> usize {
        match self {
            Body::AccountOpened { .. } => 0,
            Body::ContractStarted { .. } => 1,
            Body::ContractEnded { .. } => 2,
            Body::Payment { .. } => 3,
            Body::FlagRaised { .. } => 4,
            Body::FlagResolved { .. } => 5,
            Body::PriorRelationshipProven { .. } => 6,
            Body::ConversionFeePaid { .. } => 7,
            Body::Login { .. } => 8,
            Body::PayoutMethodChanged { .. } => 9,
        }
    }
}

/// Why an event is not valid, naming the field. Stateless rules only; rules that need the
/// history (does the contract exist?) are in [`crate::refs`].
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum EventError {
    /// The line is not one well-formed JSON object (the message says how).
    #[error("{0}")]
    Json(String),
    #[error("field `{field}`: {message}")]
    WrongType { field: String, message: String },
    #[error("field `{0}` is missing")]
    Missing(&'static str),
    #[error("field `{field}` is not part of a `{event_type}` event")]
    Unexpected {
        field: String,
        event_type: &'static str,
    },
    #[error("field `type`: unknown event type {0:?}")]
    UnknownType(String),
    #[error("field `{field}`: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("field `{field}`: {reason}")]
    Reference { field: &'static str, reason: String },
}

impl EventError {
    /// The field the error is about, if it is about one.
    pub fn field(&self) -> Option<&str> {
        match self {
            EventError::Json(_) => None,
            EventError::WrongType { field, .. } | EventError::Unexpected { field, .. } => {
                Some(field)
            }
            EventError::Missing(field)
            | EventError::Invalid { field, .. }
            | EventError::Reference { field, .. } => Some(field),
            EventError::UnknownType(_) => Some("type"),
        }
    }

    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        EventError::Invalid {
            field,
            reason: reason.into(),
        }
    }
}

fn check_id(field: &'static str, value: &str) -> Result<(), EventError> {
    check_text(field, value, MAX_ID_BYTES)
}

fn check_text(field: &'static str, value: &str, max_bytes: usize) -> Result<(), EventError> {
    if value.is_empty() {
        return Err(EventError::invalid(field, "must not be empty"));
    }
    if value.len() > max_bytes {
        return Err(EventError::invalid(
            field,
            format!("is {} bytes long; the limit is {max_bytes}", value.len()),
        ));
    }
    Ok(())
}

fn check_amount(field: &'static str, value: u64) -> Result<(), EventError> {
    match value {
        0 => Err(EventError::invalid(field, "must be greater than 0")),
        v if v > MAX_AMOUNT_MINOR => Err(EventError::invalid(
            field,
            format!("{v} exceeds the limit {MAX_AMOUNT_MINOR}"),
        )),
        _ => Ok(()),
    }
}

fn check_country(field: &'static str, value: Country) -> Result<(), EventError> {
    Country::parse(value.as_str())
        .map(|_| ())
        .ok_or_else(|| EventError::invalid(field, "must be two upper-case letters (ISO 3166-1)"))
}

fn check_currency(field: &'static str, value: Currency) -> Result<(), EventError> {
    Currency::parse(value.as_str())
        .map(|_| ())
        .ok_or_else(|| EventError::invalid(field, "must be three upper-case letters (ISO 4217)"))
}

impl Event {
    /// Checks every stateless rule of `spec/events.md`. Run on input and again on every record
    /// decoded from disk: the one place these rules live.
    pub fn validate(&self) -> Result<(), EventError> {
        check_id("id", &self.id)?;
        if !(Timestamp::MIN..=Timestamp::MAX).contains(&self.at) {
            return Err(EventError::invalid("at", "outside the years 0001 to 9999"));
        }
        self.body.validate()
    }
}

impl Body {
    fn validate(&self) -> Result<(), EventError> {
        match self {
            Body::AccountOpened {
                account, country, ..
            } => {
                check_id("account", account)?;
                check_country("country", *country)
            }
            Body::ContractStarted {
                contract,
                client,
                freelancer,
                currency,
                rate_minor,
                ..
            } => {
                check_id("contract", contract)?;
                check_id("client", client)?;
                check_id("freelancer", freelancer)?;
                if client == freelancer {
                    return Err(EventError::invalid(
                        "freelancer",
                        "must differ from `client`",
                    ));
                }
                check_currency("currency", *currency)?;
                rate_minor.map_or(Ok(()), |rate| check_amount("rate_minor", rate))
            }
            Body::ContractEnded { contract, .. } => check_id("contract", contract),
            Body::Payment {
                contract,
                amount_minor,
                currency,
            } => {
                check_id("contract", contract)?;
                check_amount("amount_minor", *amount_minor)?;
                check_currency("currency", *currency)
            }
            Body::FlagRaised {
                flag,
                reporter,
                subject,
                counterparty,
                note,
                ..
            } => {
                check_id("flag", flag)?;
                if let Reporter::Account(account) = reporter {
                    check_id("reporter", account)?;
                }
                check_id("subject", subject)?;
                if let Some(counterparty) = counterparty {
                    check_id("counterparty", counterparty)?;
                }
                note.as_deref().map_or(Ok(()), |note| {
                    if note.len() > MAX_NOTE_BYTES {
                        Err(EventError::invalid(
                            "note",
                            format!(
                                "is {} bytes long; the limit is {MAX_NOTE_BYTES}",
                                note.len()
                            ),
                        ))
                    } else {
                        Ok(())
                    }
                })
            }
            Body::FlagResolved { flag, .. } => check_id("flag", flag),
            Body::PriorRelationshipProven {
                client, freelancer, ..
            } => {
                check_id("client", client)?;
                check_id("freelancer", freelancer)
            }
            Body::ConversionFeePaid {
                client,
                freelancer,
                amount_minor,
                currency,
            } => {
                check_id("client", client)?;
                check_id("freelancer", freelancer)?;
                check_amount("amount_minor", *amount_minor)?;
                check_currency("currency", *currency)
            }
            Body::Login {
                account,
                device,
                lat,
                lon,
                country,
                accuracy_km,
                ..
            } => {
                check_id("account", account)?;
                check_id("device", device)?;
                if !(lat.is_finite() && (-90.0..=90.0).contains(lat)) {
                    return Err(EventError::invalid(
                        "lat",
                        format!("{lat} is outside [-90, 90]"),
                    ));
                }
                if !(lon.is_finite() && (-180.0..=180.0).contains(lon)) {
                    return Err(EventError::invalid(
                        "lon",
                        format!("{lon} is outside [-180, 180]"),
                    ));
                }
                if !(accuracy_km.is_finite() && (0.0..=MAX_ACCURACY_KM).contains(accuracy_km)) {
                    return Err(EventError::invalid(
                        "accuracy_km",
                        format!("{accuracy_km} is outside [0, {MAX_ACCURACY_KM}]"),
                    ));
                }
                check_country("country", *country)
            }
            Body::PayoutMethodChanged {
                account,
                method,
                country,
            } => {
                check_id("account", account)?;
                check_text("method", method, MAX_METHOD_BYTES)?;
                check_country("country", *country)
            }
        }
    }
}
