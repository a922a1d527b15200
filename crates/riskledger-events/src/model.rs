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
///
/// ```
/// use riskledger_events::{Body, Country, Event, Role, Timestamp};
///
/// let event = Event {
///     id: "e1".into(),
///     at: Timestamp::parse_rfc3339("2024-01-02T10:00:00Z")?,
///     body: Body::AccountOpened { account: "c-1".into(), role: Role::Client, country: Country::parse("US").unwrap() },
/// };
/// event.validate()?;
/// assert_eq!(event.body.type_name(), "account_opened");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The producer's idempotency key, 1..=64 bytes.
    pub id: String,
    /// Event time (when it happened), in microseconds since the Unix epoch, UTC.
    pub at: Timestamp,
    /// What happened.
    pub body: Body,
}

/// Microseconds since 1970-01-01T00:00:00Z. Event time, never append time. Displays as
/// RFC 3339 in UTC.
///
/// ```
/// use riskledger_events::Timestamp;
///
/// let at = Timestamp::parse_rfc3339("2024-02-01T08:00:00+02:00")?;
/// assert_eq!(at, Timestamp(1_706_767_200_000_000));
/// assert_eq!(at.to_string(), "2024-02-01T06:00:00Z");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timestamp(
    /// Microseconds since the Unix epoch, UTC (negative before 1970).
    pub i64,
);

impl Timestamp {
    /// Microseconds in a second, for arithmetic on timestamps.
    ///
    /// ```
    /// use riskledger_events::Timestamp;
    ///
    /// let start = Timestamp::parse_rfc3339("2024-01-02T10:00:00Z")?;
    /// let later = Timestamp(start.as_micros() + 90 * Timestamp::MICROS_PER_SECOND);
    /// assert_eq!(later.to_string(), "2024-01-02T10:01:30Z");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const MICROS_PER_SECOND: i64 = 1_000_000;
    /// Microseconds in a (UTC) day.
    ///
    /// ```
    /// use riskledger_events::Timestamp;
    ///
    /// assert_eq!(Timestamp(Timestamp::MICROS_PER_DAY).to_string(), "1970-01-02T00:00:00Z");
    /// ```
    pub const MICROS_PER_DAY: i64 = 86_400 * Self::MICROS_PER_SECOND;

    /// The earliest instant a `Timestamp` may hold (validation refuses earlier `at`s): the
    /// start of year 0001, as RFC 3339 can write it.
    ///
    /// ```
    /// use riskledger_events::Timestamp;
    ///
    /// assert_eq!(Timestamp::MIN.to_string(), "0001-01-01T00:00:00Z");
    /// ```
    pub const MIN: Timestamp = Timestamp(-62_135_596_800_000_000);
    /// The latest instant a `Timestamp` may hold (validation refuses later `at`s): the last
    /// microsecond of year 9999.
    ///
    /// ```
    /// use riskledger_events::Timestamp;
    ///
    /// assert_eq!(Timestamp::MAX.to_string(), "9999-12-31T23:59:59.999999Z");
    /// ```
    pub const MAX: Timestamp = Timestamp(253_402_300_799_999_999);

    /// The microseconds since the epoch (the same as `.0`).
    ///
    /// ```
    /// use riskledger_events::Timestamp;
    ///
    /// assert_eq!(Timestamp::parse_rfc3339("1970-01-01T00:00:00.001Z")?.as_micros(), 1_000);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn as_micros(self) -> i64 {
        self.0
    }

    /// Parses an RFC 3339 timestamp with an offset. Sub-microsecond digits must be zero. The
    /// error says what is wrong, for a message about the `at` field.
    ///
    /// ```
    /// use riskledger_events::Timestamp;
    ///
    /// let utc = Timestamp::parse_rfc3339("2024-02-01T06:00:00Z")?;
    /// assert_eq!(Timestamp::parse_rfc3339("2024-02-01T08:00:00+02:00")?, utc);
    /// assert!(Timestamp::parse_rfc3339("2024-02-01 06:00").is_err(), "no offset");
    /// assert!(Timestamp::parse_rfc3339("2024-02-01T06:00:00.0000001Z").is_err(), "100 ns");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn parse_rfc3339(text: &str) -> Result<Self, &'static str> {
        let parsed = chrono::DateTime::parse_from_rfc3339(text)
            .map_err(|_| "not an RFC 3339 timestamp with an offset, e.g. 2025-03-01T09:30:00Z")?;
        if parsed.timestamp_subsec_nanos() % 1_000 != 0 {
            return Err("has sub-microsecond digits: at most 6 fractional digits are stored");
        }
        Ok(Timestamp(parsed.timestamp_micros()))
    }

    /// RFC 3339 in UTC with `Z`, with only as many fractional digits as are needed (0, 3 or 6).
    ///
    /// ```
    /// use riskledger_events::Timestamp;
    ///
    /// let at = Timestamp::parse_rfc3339("2024-01-05T09:00:00.123+01:00")?;
    /// assert_eq!(at.to_rfc3339(), "2024-01-05T08:00:00.123Z");
    /// assert_eq!(Timestamp(1).to_rfc3339(), "1970-01-01T00:00:00.000001Z");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
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

/// A calendar date, as days since 1970-01-01 (the `since` of a `prior_relationship_proven`).
/// Displays as `YYYY-MM-DD`.
///
/// ```
/// use riskledger_events::Date;
///
/// let since = Date::parse("2019-03-01")?;
/// assert_eq!(since, Date(17_956));
/// assert_eq!(since.to_string(), "2019-03-01");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Date(
    /// Days since 1970-01-01 (negative before it).
    pub i32,
);

impl Date {
    const EPOCH: chrono::NaiveDate = match chrono::NaiveDate::from_ymd_opt(1970, 1, 1) {
        Some(d) => d,
        None => unreachable!(),
    };

    /// Parses a date of the form `YYYY-MM-DD`, refusing any other form and dates that do not
    /// exist. The error says what is wrong, for a message about the `since` field.
    ///
    /// ```
    /// use riskledger_events::Date;
    ///
    /// assert_eq!(Date::parse("1970-01-02"), Ok(Date(1)));
    /// assert!(Date::parse("2019-02-30").is_err());
    /// assert!(Date::parse("2019-3-1").is_err());
    /// ```
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

    /// The first date a `Date` may hold: the first day RFC 3339 can write.
    ///
    /// ```
    /// use riskledger_events::Date;
    ///
    /// assert_eq!(Date::MIN.to_string(), "0001-01-01");
    /// ```
    pub const MIN: Date = Date(-719_162); // 0001-01-01
    /// The last date a `Date` may hold: the last day RFC 3339 can write.
    ///
    /// ```
    /// use riskledger_events::Date;
    ///
    /// assert_eq!(Date::MAX.to_string(), "9999-12-31");
    /// assert_eq!(Date::parse("9999-12-31"), Ok(Date::MAX));
    /// ```
    pub const MAX: Date = Date(2_932_896); // 9999-12-31

    /// The calendar date (dates outside [`Date::MIN`]..=[`Date::MAX`] clamp to them; validation
    /// keeps them out of the ledger).
    fn to_naive(self) -> chrono::NaiveDate {
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
///
/// ```
/// use riskledger_events::Country;
///
/// let ph = Country::parse("PH").unwrap();
/// assert_eq!(ph, Country(*b"PH"));
/// assert_eq!(ph.to_string(), "PH");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Country(
    /// The two ASCII letters. Build it with [`Country::parse`]; validation refuses other bytes.
    pub [u8; 2],
);

/// ISO 4217 currency code, upper case (checked for form: three letters A–Z).
///
/// ```
/// use riskledger_events::Currency;
///
/// let usd = Currency::parse("USD").unwrap();
/// assert_eq!(usd, Currency(*b"USD"));
/// assert_eq!(usd.to_string(), "USD");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Currency(
    /// The three ASCII letters. Build it with [`Currency::parse`]; validation refuses other
    /// bytes.
    pub [u8; 3],
);

fn upper_letters<const N: usize>(text: &str) -> Option<[u8; N]> {
    let bytes: [u8; N] = text.as_bytes().try_into().ok()?;
    bytes.iter().all(u8::is_ascii_uppercase).then_some(bytes)
}

impl Country {
    /// The country of a two-letter upper-case code; `None` for anything else. Only the form is
    /// checked, not that the code is assigned.
    ///
    /// ```
    /// use riskledger_events::Country;
    ///
    /// assert!(Country::parse("GB").is_some());
    /// assert_eq!(Country::parse("gb"), None);
    /// assert_eq!(Country::parse("GBR"), None);
    /// ```
    pub fn parse(text: &str) -> Option<Self> {
        upper_letters(text).map(Country)
    }

    /// The code as text (`"??"` if the bytes are not UTF-8, which validation prevents).
    ///
    /// ```
    /// use riskledger_events::Country;
    ///
    /// assert_eq!(Country(*b"US").as_str(), "US");
    /// ```
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl Currency {
    /// The currency of a three-letter upper-case code; `None` for anything else. Only the form
    /// is checked, not that the code is assigned.
    ///
    /// ```
    /// use riskledger_events::Currency;
    ///
    /// assert!(Currency::parse("EUR").is_some());
    /// assert_eq!(Currency::parse("eur"), None);
    /// assert_eq!(Currency::parse("EU"), None);
    /// ```
    pub fn parse(text: &str) -> Option<Self> {
        upper_letters(text).map(Currency)
    }

    /// The code as text (`"???"` if the bytes are not UTF-8, which validation prevents).
    ///
    /// ```
    /// use riskledger_events::Currency;
    ///
    /// assert_eq!(Currency(*b"USD").as_str(), "USD");
    /// ```
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
///
/// ```
/// use riskledger_events::Ip;
///
/// let ip = Ip::parse("0:0:0:0:0:0:0:1").unwrap();
/// assert_eq!(ip.to_string(), "::1"); // the canonical form
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Ip {
    /// An IPv4 address, its four octets in network order.
    V4([u8; 4]),
    /// An IPv6 address, its sixteen octets in network order.
    V6([u8; 16]),
}

impl Ip {
    /// Parses an IPv4 or IPv6 address in any form the standard library accepts; `None`
    /// otherwise.
    ///
    /// ```
    /// use riskledger_events::Ip;
    ///
    /// assert_eq!(Ip::parse("203.0.113.9"), Some(Ip::V4([203, 0, 113, 9])));
    /// assert_eq!(Ip::parse("1.2.3"), None);
    /// ```
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
/// Variants are only ever appended (their index is their stored form). The first variant is
/// named apart so that the generated examples can use it.
macro_rules! vocabulary {
    (
        $(#[$meta:meta])* $name:ident {
            $(#[$first_meta:meta])* $first:ident => $first_wire:literal
            $(, $(#[$vmeta:meta])* $variant:ident => $wire:literal)* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(#[$first_meta])*
            $first,
            $($(#[$vmeta])* $variant),*
        }

        impl $name {
            /// Every value, in stored order.
            ///
            #[doc = concat!("```\nuse riskledger_events::", stringify!($name), ";\n")]
            #[doc = concat!("assert_eq!(", stringify!($name), "::ALL[0], ", stringify!($name), "::", stringify!($first), ");")]
            #[doc = concat!("for value in ", stringify!($name), "::ALL {")]
            #[doc = concat!("    assert_eq!(", stringify!($name), "::parse(value.as_str()), Some(*value));")]
            #[doc = "}\n```"]
            pub const ALL: &'static [$name] = &[$name::$first, $($name::$variant),*];
            /// The wire names, for error messages.
            pub(crate) const NAMES: &'static str =
                concat!("`", $first_wire, "` ", $("`", $wire, "` "),*);

            /// The value of a wire name; `None` for anything else (wire names are lower case).
            ///
            #[doc = concat!("```\nuse riskledger_events::", stringify!($name), ";\n")]
            #[doc = concat!("assert_eq!(", stringify!($name), "::parse(", stringify!($first_wire), "), Some(", stringify!($name), "::", stringify!($first), "));")]
            #[doc = concat!("assert_eq!(", stringify!($name), "::parse(\"unknown\"), None);\n```")]
            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $first_wire => Some($name::$first),
                    $($wire => Some($name::$variant),)*
                    _ => None,
                }
            }

            /// The wire name (also what `Display` prints).
            ///
            #[doc = concat!("```\nuse riskledger_events::", stringify!($name), ";\n")]
            #[doc = concat!("assert_eq!(", stringify!($name), "::", stringify!($first), ".as_str(), ", stringify!($first_wire), ");")]
            #[doc = concat!("assert_eq!(", stringify!($name), "::", stringify!($first), ".to_string(), ", stringify!($first_wire), ");\n```")]
            pub fn as_str(self) -> &'static str {
                match self {
                    $name::$first => $first_wire,
                    $($name::$variant => $wire),*
                }
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
    ///
    /// ```
    /// use riskledger_events::{json::parse_line, Body, Role};
    ///
    /// let line = r#"{"id":"a","type":"account_opened","at":"2024-01-03T11:00:00Z","account":"ag-1","role":"agency","country":"PH"}"#;
    /// let event = parse_line(1, line)?;
    /// assert!(matches!(event.body, Body::AccountOpened { role: Role::Agency, .. }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    Role {
        /// Hires freelancers and pays them.
        Client => "client",
        /// Works on contracts and is paid.
        Freelancer => "freelancer",
        /// An agency account.
        Agency => "agency",
    }
);
vocabulary!(
    /// The `kind` of a contract.
    ///
    /// ```
    /// use riskledger_events::ContractKind;
    ///
    /// assert_eq!(ContractKind::ALL, [ContractKind::Hourly, ContractKind::Fixed]);
    /// assert_eq!(ContractKind::parse("fixed"), Some(ContractKind::Fixed));
    /// ```
    ContractKind {
        /// Paid by the hour (`rate_minor` is the hourly rate).
        Hourly => "hourly",
        /// Paid a fixed price.
        Fixed => "fixed",
    }
);
vocabulary!(
    /// How a contract ended.
    ///
    /// ```
    /// use riskledger_events::{json::parse_line, Body, ContractOutcome};
    ///
    /// let line = r#"{"id":"e","type":"contract_ended","at":"2024-06-01T00:00:00Z","contract":"k-1","outcome":"disputed"}"#;
    /// let event = parse_line(1, line)?;
    /// assert!(matches!(event.body, Body::ContractEnded { outcome: ContractOutcome::Disputed, .. }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ContractOutcome {
        /// The work was done.
        Completed => "completed",
        /// One side cancelled it.
        Cancelled => "cancelled",
        /// It ended in a dispute.
        Disputed => "disputed",
    }
);
vocabulary!(
    /// Why a flag was raised.
    ///
    /// ```
    /// use riskledger_events::FlagReason;
    ///
    /// assert_eq!(FlagReason::parse("off_platform_payment"), Some(FlagReason::OffPlatformPayment));
    /// assert_eq!(FlagReason::ALL.len(), 5);
    /// ```
    FlagReason {
        /// A request to pay, or be paid, outside the platform.
        OffPlatformPayment => "off_platform_payment",
        /// Contact details shared to move off the platform.
        ContactInfo => "contact_info",
        /// An account used by more than one person, or not by its owner.
        AccountSharing => "account_sharing",
        /// A sign-in that does not look like the account's owner.
        SuspiciousLogin => "suspicious_login",
        /// Anything else (the `note` says what).
        Other => "other",
    }
);
vocabulary!(
    /// A reviewer's decision on a flag.
    ///
    /// ```
    /// use riskledger_events::FlagOutcome;
    ///
    /// assert_eq!(FlagOutcome::Dismissed.to_string(), "dismissed");
    /// ```
    FlagOutcome {
        /// The reviewer found the report true.
        Confirmed => "confirmed",
        /// The reviewer found nothing in it.
        Dismissed => "dismissed",
    }
);
vocabulary!(
    /// What kind of network a login came through.
    ///
    /// ```
    /// use riskledger_events::Network;
    ///
    /// let hiding: Vec<_> = Network::ALL.iter().filter(|n| n.hides_location()).collect();
    /// assert_eq!(hiding, [&Network::Hosting, &Network::Vpn, &Network::Tor]);
    /// ```
    Network {
        /// A home connection.
        Residential => "residential",
        /// A mobile carrier.
        Mobile => "mobile",
        /// A data centre or cloud provider.
        Hosting => "hosting",
        /// A VPN exit.
        Vpn => "vpn",
        /// A Tor exit node.
        Tor => "tor",
    }
);

impl Network {
    /// `vpn`, `tor` and `hosting` say nothing about where a person is.
    ///
    /// ```
    /// use riskledger_events::Network;
    ///
    /// assert!(Network::Vpn.hides_location());
    /// assert!(!Network::Mobile.hides_location());
    /// ```
    pub fn hides_location(self) -> bool {
        matches!(self, Network::Hosting | Network::Vpn | Network::Tor)
    }
}

/// Who raised a flag: an account, or the platform itself (`system` on the wire).
///
/// ```
/// use riskledger_events::{json::parse_line, Body, Reporter};
///
/// let line = r#"{"id":"r","type":"flag_raised","at":"2024-02-03T08:00:00Z","flag":"fl-1","reporter":"system","subject":"c-1","reason":"suspicious_login"}"#;
/// let Body::FlagRaised { reporter, .. } = parse_line(1, line)?.body else { unreachable!() };
/// assert_eq!(reporter, Reporter::System);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Reporter {
    /// The platform's own detection (`system` on the wire).
    System,
    /// The account that reported it.
    Account(String),
}

impl Reporter {
    /// The wire text of [`Reporter::System`]; any other text names an account.
    ///
    /// ```
    /// use riskledger_events::Reporter;
    ///
    /// assert_eq!(Reporter::System.as_str(), Reporter::SYSTEM);
    /// ```
    pub const SYSTEM: &'static str = "system";

    /// The wire text: `system`, or the reporting account's id.
    ///
    /// ```
    /// use riskledger_events::Reporter;
    ///
    /// assert_eq!(Reporter::Account("f-1".into()).as_str(), "f-1");
    /// assert_eq!(Reporter::System.as_str(), "system");
    /// ```
    pub fn as_str(&self) -> &str {
        match self {
            Reporter::System => Self::SYSTEM,
            Reporter::Account(account) => account,
        }
    }

    /// The reporting account, or `None` when the platform raised the flag.
    ///
    /// ```
    /// use riskledger_events::Reporter;
    ///
    /// assert_eq!(Reporter::Account("f-1".into()).account(), Some("f-1"));
    /// assert_eq!(Reporter::System.account(), None);
    /// ```
    pub fn account(&self) -> Option<&str> {
        match self {
            Reporter::System => None,
            Reporter::Account(account) => Some(account),
        }
    }
}

/// What happened. One variant per `type` of `spec/events.md`, in the spec's order. Variants
/// are only ever appended: the index of a variant is its stored form.
///
/// ```
/// use riskledger_events::{json::parse_line, Body};
///
/// let line = r#"{"id":"e4","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":400000,"currency":"USD"}"#;
/// match parse_line(1, line)?.body {
///     Body::Payment { contract, amount_minor, .. } => assert_eq!((contract.as_str(), amount_minor), ("k-1", 400_000)),
///     other => unreachable!("{other:?}"),
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Body {
    /// `account_opened`: an account exists.
    AccountOpened {
        /// The account's id.
        account: String,
        /// What the account does on the platform.
        role: Role,
        /// The account's verified home country.
        country: Country,
    },
    /// `contract_started`: a contract between two accounts began on the platform.
    ContractStarted {
        /// The contract's id; a contract starts once.
        contract: String,
        /// The paying account.
        client: String,
        /// The working account (never the client).
        freelancer: String,
        /// The currency every payment of the contract must be in.
        currency: Currency,
        /// Hourly or fixed price.
        kind: ContractKind,
        /// The rate in minor units (per hour for hourly contracts), when given.
        rate_minor: Option<u64>,
    },
    /// `contract_ended`: a started contract ended (once).
    ContractEnded {
        /// The contract that ended.
        contract: String,
        /// How it ended.
        outcome: ContractOutcome,
    },
    /// `payment`: money paid through the platform, client to freelancer.
    Payment {
        /// The contract paid under; it must have started.
        contract: String,
        /// The amount in minor units (cents for USD), greater than 0.
        amount_minor: u64,
        /// Must be the contract's currency.
        currency: Currency,
    },
    /// `flag_raised`: someone reported a person (or, with a counterparty, a pair).
    FlagRaised {
        /// The flag's id; a flag is raised once.
        flag: String,
        /// Who reported it.
        reporter: Reporter,
        /// The account reported.
        subject: String,
        /// The other account of the pair the report is about, if it is about a pair.
        counterparty: Option<String>,
        /// Why it was raised.
        reason: FlagReason,
        /// Free text, at most 1024 bytes.
        note: Option<String>,
    },
    /// `flag_resolved`: a reviewer's decision on an earlier flag (once).
    FlagResolved {
        /// The flag decided on; it must have been raised.
        flag: String,
        /// The decision.
        outcome: FlagOutcome,
    },
    /// `prior_relationship_proven`: the pair worked together before they met on the platform.
    PriorRelationshipProven {
        /// The client of the pair.
        client: String,
        /// The freelancer of the pair.
        freelancer: String,
        /// Since when they have worked together.
        since: Date,
    },
    /// `conversion_fee_paid`: the pair paid the fee to work off the platform.
    ConversionFeePaid {
        /// The client of the pair.
        client: String,
        /// The freelancer of the pair.
        freelancer: String,
        /// The fee in minor units, greater than 0.
        amount_minor: u64,
        /// The fee's currency.
        currency: Currency,
    },
    /// `login`: a successful sign-in and where it came from.
    Login {
        /// The account that signed in.
        account: String,
        /// The device's fingerprint id.
        device: String,
        /// The address it came from.
        ip: Ip,
        /// Latitude in degrees (WGS 84), in [-90, 90].
        lat: f64,
        /// Longitude in degrees (WGS 84), in [-180, 180].
        lon: f64,
        /// The country the login service geolocated it to.
        country: Country,
        /// Always present in the stored form: the spec's default (50) is applied on input.
        accuracy_km: f64,
        /// The kind of network, when known.
        network: Option<Network>,
    },
    /// `payout_method_changed`: where the account's money now goes.
    PayoutMethodChanged {
        /// The account.
        account: String,
        /// The new payout method (an opaque id).
        method: String,
        /// The method's country.
        country: Country,
    },
}

/// The wire names of the event types, in stored order (indexed by [`Body::type_index`]).
///
/// ```
/// use riskledger_events::EVENT_TYPES;
///
/// assert_eq!(EVENT_TYPES.len(), 10);
/// assert_eq!(EVENT_TYPES.iter().position(|t| *t == "payment"), Some(3));
/// ```
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
    ///
    /// ```
    /// use riskledger_events::{Body, FlagOutcome};
    ///
    /// let body = Body::FlagResolved { flag: "fl-1".into(), outcome: FlagOutcome::Confirmed };
    /// assert_eq!(body.type_name(), "flag_resolved");
    /// ```
    pub fn type_name(&self) -> &'static str {
        EVENT_TYPES[self.type_index()]
    }

    /// The position of this type in [`EVENT_TYPES`] (also its stored variant index, which
    /// [`crate::codec::peek_type_index`] reads without decoding).
    ///
    /// ```
    /// use riskledger_events::{Body, FlagOutcome, EVENT_TYPES};
    ///
    /// let body = Body::FlagResolved { flag: "fl-1".into(), outcome: FlagOutcome::Confirmed };
    /// assert_eq!(body.type_index(), 5);
    /// assert_eq!(EVENT_TYPES[body.type_index()], body.type_name());
    /// ```
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

/// What kind of thing an id in an event names. Ids of different kinds live in different
/// namespaces: an account and a device may share a text.
///
/// ```
/// use riskledger_events::{json::parse_line, NameKind};
///
/// let line = r#"{"id":"p","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":400000,"currency":"USD"}"#;
/// let kinds: Vec<NameKind> = parse_line(1, line)?.body.names().map(|n| n.kind).collect();
/// assert_eq!(kinds, [NameKind::Contract]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NameKind {
    /// An account (`account`, `client`, `freelancer`, `subject`, `counterparty`, an account
    /// `reporter`).
    Account,
    /// A device fingerprint (`device`).
    Device,
    /// A contract (`contract`).
    Contract,
    /// A flag (`flag`).
    Flag,
}

/// One id an event names, with its kind.
///
/// ```
/// use riskledger_events::{Name, NameKind};
///
/// let device = Name { kind: NameKind::Device, id: "d-77" };
/// assert_ne!(device, Name::account("d-77")); // same text, another thing
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name<'a> {
    /// What the id names.
    pub kind: NameKind,
    /// The id.
    pub id: &'a str,
}

impl<'a> Name<'a> {
    /// An account's name.
    ///
    /// ```
    /// use riskledger_events::{Name, NameKind};
    ///
    /// assert_eq!(Name::account("c-1"), Name { kind: NameKind::Account, id: "c-1" });
    /// ```
    pub fn account(id: &'a str) -> Self {
        Name {
            kind: NameKind::Account,
            id,
        }
    }
}

/// The most names one event carries (a `flag_raised`: flag, reporter, subject, counterparty).
///
/// ```
/// use riskledger_events::{json::parse_line, MAX_NAMES_PER_EVENT};
///
/// let line = r#"{"id":"f","type":"flag_raised","at":"2024-02-03T08:00:00Z","flag":"fl-1","reporter":"f-1","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#;
/// assert_eq!(parse_line(1, line)?.body.names().count(), MAX_NAMES_PER_EVENT);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const MAX_NAMES_PER_EVENT: usize = 4;

impl Body {
    /// Every account, device, contract and flag this event names, in field order; an
    /// account that appears twice (a reporter who is also the counterparty) is listed once per
    /// field. What lets one subject's events be found without reading the rest of the log.
    ///
    /// ```
    /// use riskledger_events::{json::parse_line, Name, NameKind};
    ///
    /// let line = r#"{"id":"e6","type":"login","at":"2024-02-03T09:00:00Z","account":"f-1","device":"d-77","ip":"203.0.113.9","lat":14.6,"lon":120.98,"country":"PH"}"#;
    /// let event = parse_line(1, line)?;
    /// let names: Vec<Name> = event.body.names().collect();
    /// assert_eq!(names, [Name::account("f-1"), Name { kind: NameKind::Device, id: "d-77" }]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn names(&self) -> impl Iterator<Item = Name<'_>> + '_ {
        fn name(kind: NameKind, id: &str) -> Option<Name<'_>> {
            Some(Name { kind, id })
        }
        fn account(id: &str) -> Option<Name<'_>> {
            name(NameKind::Account, id)
        }
        let names: [Option<Name<'_>>; MAX_NAMES_PER_EVENT] = match self {
            Body::AccountOpened { account: a, .. }
            | Body::PayoutMethodChanged { account: a, .. } => [account(a), None, None, None],
            Body::ContractStarted {
                contract,
                client,
                freelancer,
                ..
            } => [
                name(NameKind::Contract, contract),
                account(client),
                account(freelancer),
                None,
            ],
            Body::ContractEnded { contract, .. } | Body::Payment { contract, .. } => {
                [name(NameKind::Contract, contract), None, None, None]
            }
            Body::FlagRaised {
                flag,
                reporter,
                subject,
                counterparty,
                ..
            } => [
                name(NameKind::Flag, flag),
                reporter.account().and_then(account),
                account(subject),
                counterparty.as_deref().and_then(account),
            ],
            Body::FlagResolved { flag, .. } => [name(NameKind::Flag, flag), None, None, None],
            Body::PriorRelationshipProven {
                client, freelancer, ..
            }
            | Body::ConversionFeePaid {
                client, freelancer, ..
            } => [account(client), account(freelancer), None, None],
            Body::Login {
                account: a, device, ..
            } => [account(a), name(NameKind::Device, device), None, None],
        };
        names.into_iter().flatten()
    }
}

/// Why an event is not valid, naming the field. Stateless rules only; rules that need the
/// history (does the contract exist?) are in [`crate::refs`]. Every variant is a fault of the
/// input: reject the event (report it with [`EventError::field`] and the message) and fix it
/// at its source; retrying it unchanged fails the same way.
///
/// ```
/// use riskledger_events::{json::parse_line, EventError};
///
/// let line = r#"{"id":"x","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":0,"currency":"USD"}"#;
/// let err = parse_line(3, line).unwrap_err().error;
/// assert!(matches!(err, EventError::Invalid { field: "amount_minor", .. }));
/// assert_eq!(err.to_string(), "field `amount_minor`: must be greater than 0");
/// ```
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum EventError {
    /// The line is not one well-formed JSON object (the message says how). Fix the producer's
    /// serialisation.
    #[error("{0}")]
    Json(String),
    /// A field has the wrong JSON type (a number for a string, say). Fix the field's type.
    #[error("field `{field}`: {message}")]
    WrongType {
        /// The field, as a JSON path.
        field: String,
        /// What serde_json expected and found.
        message: String,
    },
    /// A required field is absent. Add it.
    #[error("field `{0}` is missing")]
    Missing(&'static str),
    /// A field that the event's type does not carry. Remove it (or fix a typo in its name).
    #[error("field `{field}` is not part of a `{event_type}` event")]
    Unexpected {
        /// The field that does not belong.
        field: String,
        /// The event's type.
        event_type: &'static str,
    },
    /// The `type` is not one of [`crate::EVENT_TYPES`]. Fix it; types are never skipped.
    #[error("field `type`: unknown event type {0:?}")]
    UnknownType(String),
    /// A field's value breaks a rule (empty, too long, out of range, not in the vocabulary).
    /// Fix the value; the reason says which rule.
    #[error("field `{field}`: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// The rule it breaks.
        reason: String,
    },
    /// The event names something the ledger does not know, or repeats a one-time fact (a
    /// contract started twice). Send the event it depends on first, or drop the repeat.
    #[error("field `{field}`: {reason}")]
    Reference {
        /// The field that refers.
        field: &'static str,
        /// What is wrong with the reference.
        reason: String,
    },
}

impl EventError {
    /// The field the error is about, if it is about one.
    ///
    /// ```
    /// use riskledger_events::json::parse_line;
    ///
    /// let line = r#"{"id":"x","type":"account_opened","at":"2024-01-02T10:00:00Z","role":"client","country":"US"}"#;
    /// assert_eq!(parse_line(1, line).unwrap_err().error.field(), Some("account"));
    /// assert_eq!(parse_line(2, "not json").unwrap_err().error.field(), None);
    /// ```
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
    ///
    /// ```
    /// use riskledger_events::{json::parse_line, Body};
    ///
    /// let line = r#"{"id":"e4","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":400000,"currency":"USD"}"#;
    /// let mut event = parse_line(1, line)?;
    /// event.validate()?;
    /// if let Body::Payment { amount_minor, .. } = &mut event.body {
    ///     *amount_minor = 0;
    /// }
    /// assert_eq!(event.validate().unwrap_err().field(), Some("amount_minor"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
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
