//! What an evaluation returns: `spec/cli.md`'s `accounts` objects. Floats are rounded here,
//! once, and the rules decide on the rounded figures, so that what is printed is exactly what
//! was decided on and the JSON is byte-identical on every machine.

use serde::Serialize;

use crate::Level;

/// The kinds of signal, in the order of the spec's table (the order signals are listed in).
///
/// ```
/// # use riskledger_events::{json::parse_line, Timestamp};
/// # use riskledger_projections::{accounts::*, Level, Policy};
/// # fn book_of<S: AsRef<str>>(lines: &[S]) -> AccountBook {
/// #     let mut book = AccountBook::new();
/// #     lines.iter().enumerate().for_each(|(n, l)| book.apply(&parse_line(n as u64 + 1, l.as_ref()).unwrap()));
/// #     book
/// # }
/// # let at = |t: &str| Timestamp::parse_rfc3339(t).unwrap();
/// # let policy = Policy::default().accounts;
/// # let opened = r#"{"id":"o","type":"account_opened","at":"2024-01-03T11:00:00Z","account":"f-1","role":"freelancer","country":"PH"}"#.to_owned();
/// # let opened_client = r#"{"id":"oc","type":"account_opened","at":"2024-01-02T10:00:00Z","account":"c-1","role":"client","country":"US"}"#.to_owned();
/// # let login = |id: &str, account: &str, when: &str, device: &str, country: &str, (lat, lon): (f64, f64)| format!(r#"{{"id":"{id}","type":"login","at":"2024-{when}:00Z","account":"{account}","device":"{device}","ip":"203.0.113.9","lat":{lat},"lon":{lon},"country":"{country}"}}"#);
/// # let (manila, london, tokyo) = ((14.6, 120.98), (51.5074, -0.1278), (35.68, 139.69));
/// let book = book_of(&[
///     opened,
///     login("l1", "f-1", "03-01T09:00", "d-1", "PH", manila),
///     login("l2", "f-1", "03-01T10:00", "d-1", "GB", london), // an hour later
/// ]);
/// let report = book.report(&policy, "f-1", at("2024-03-02T00:00:00Z")).unwrap();
/// assert_eq!(report.signals[0].kind, SignalKind::ImpossibleTravel);
/// assert_eq!(serde_json::to_string(&SignalKind::ImpossibleTravel)?, r#""impossible_travel""#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalKind {
    /// Two consecutive located logins too far apart for the time between them: `high`.
    ImpossibleTravel,
    /// One device signed in to several accounts: `medium`, or `high` for a large cluster or
    /// one that joins a client and a freelancer.
    SharedDevice,
    /// Most recent logins from one country that is not the home country: `medium`.
    ForeignMajority,
    /// A login from a country not seen lately: `low`.
    NewCountry,
    /// The payout method changed soon after a new device appeared: `medium`, or `high` when
    /// the money now goes abroad.
    PayoutAfterNewDevice,
}

impl SignalKind {
    /// The signal's name, as reports print it.
    ///
    /// ```
    /// use riskledger_projections::accounts::SignalKind;
    ///
    /// assert_eq!(SignalKind::PayoutAfterNewDevice.as_str(), "payout_after_new_device");
    /// assert_eq!(SignalKind::SharedDevice.to_string(), "shared_device");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            SignalKind::ImpossibleTravel => "impossible_travel",
            SignalKind::SharedDevice => "shared_device",
            SignalKind::ForeignMajority => "foreign_majority",
            SignalKind::NewCountry => "new_country",
            SignalKind::PayoutAfterNewDevice => "payout_after_new_device",
        }
    }
}

impl std::fmt::Display for SignalKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One account as of `T`: its level and every signal behind it.
///
/// ```
/// # use riskledger_events::{json::parse_line, Timestamp};
/// # use riskledger_projections::{accounts::*, Level, Policy};
/// # fn book_of<S: AsRef<str>>(lines: &[S]) -> AccountBook {
/// #     let mut book = AccountBook::new();
/// #     lines.iter().enumerate().for_each(|(n, l)| book.apply(&parse_line(n as u64 + 1, l.as_ref()).unwrap()));
/// #     book
/// # }
/// # let at = |t: &str| Timestamp::parse_rfc3339(t).unwrap();
/// # let policy = Policy::default().accounts;
/// # let opened = r#"{"id":"o","type":"account_opened","at":"2024-01-03T11:00:00Z","account":"f-1","role":"freelancer","country":"PH"}"#.to_owned();
/// # let opened_client = r#"{"id":"oc","type":"account_opened","at":"2024-01-02T10:00:00Z","account":"c-1","role":"client","country":"US"}"#.to_owned();
/// # let login = |id: &str, account: &str, when: &str, device: &str, country: &str, (lat, lon): (f64, f64)| format!(r#"{{"id":"{id}","type":"login","at":"2024-{when}:00Z","account":"{account}","device":"{device}","ip":"203.0.113.9","lat":{lat},"lon":{lon},"country":"{country}"}}"#);
/// # let (manila, london, tokyo) = ((14.6, 120.98), (51.5074, -0.1278), (35.68, 139.69));
/// let book = book_of(&[
///     opened,
///     login("l1", "f-1", "03-01T09:00", "d-1", "PH", manila),
///     login("l2", "f-1", "03-01T10:00", "d-1", "GB", london), // an hour later
/// ]);
/// let report = book.report(&policy, "f-1", at("2024-03-02T00:00:00Z")).unwrap();
/// assert_eq!((report.account.as_str(), report.level), ("f-1", Level::High));
/// assert_eq!((report.role.as_deref(), report.home_country.as_deref()), (Some("freelancer"), Some("PH")));
/// assert_eq!(report.opened_event.as_deref(), Some("o"));
/// assert_eq!(report.signals.len(), 1);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AccountReport {
    /// The account's id.
    pub account: String,
    /// The highest level among `signals`, raised to `high` by two distinct kinds at `medium`.
    pub level: Level,
    /// From the account's `account_opened` at or before `T`; null when there is none.
    pub role: Option<String>,
    /// The verified home country of that `account_opened`; null when there is none.
    pub home_country: Option<String>,
    /// The id of that `account_opened`, the evidence for `role` and `home_country`.
    pub opened_event: Option<String>,
    /// Sorted by kind (the spec's order), then time, then event ids.
    pub signals: Vec<Signal>,
}

/// One instance of a signal, with the events it rests on and the figures it was decided on.
///
/// ```
/// # use riskledger_events::{json::parse_line, Timestamp};
/// # use riskledger_projections::{accounts::*, Level, Policy};
/// # fn book_of<S: AsRef<str>>(lines: &[S]) -> AccountBook {
/// #     let mut book = AccountBook::new();
/// #     lines.iter().enumerate().for_each(|(n, l)| book.apply(&parse_line(n as u64 + 1, l.as_ref()).unwrap()));
/// #     book
/// # }
/// # let at = |t: &str| Timestamp::parse_rfc3339(t).unwrap();
/// # let policy = Policy::default().accounts;
/// # let opened = r#"{"id":"o","type":"account_opened","at":"2024-01-03T11:00:00Z","account":"f-1","role":"freelancer","country":"PH"}"#.to_owned();
/// # let opened_client = r#"{"id":"oc","type":"account_opened","at":"2024-01-02T10:00:00Z","account":"c-1","role":"client","country":"US"}"#.to_owned();
/// # let login = |id: &str, account: &str, when: &str, device: &str, country: &str, (lat, lon): (f64, f64)| format!(r#"{{"id":"{id}","type":"login","at":"2024-{when}:00Z","account":"{account}","device":"{device}","ip":"203.0.113.9","lat":{lat},"lon":{lon},"country":"{country}"}}"#);
/// # let (manila, london, tokyo) = ((14.6, 120.98), (51.5074, -0.1278), (35.68, 139.69));
/// let book = book_of(&[
///     opened,
///     login("l1", "f-1", "03-01T09:00", "d-1", "PH", manila),
///     login("l2", "f-1", "03-01T10:00", "d-1", "GB", london), // an hour later
/// ]);
/// let report = book.report(&policy, "f-1", at("2024-03-02T00:00:00Z")).unwrap();
/// let signal = &report.signals[0];
/// assert_eq!((signal.kind, signal.level), (SignalKind::ImpossibleTravel, Level::High));
/// assert_eq!((signal.at.as_str(), &signal.events[..]), ("2024-03-01T10:00:00Z", &["l1".to_owned(), "l2".to_owned()][..]));
/// assert!(matches!(signal.figures, Figures::ImpossibleTravel(_)));
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Signal {
    /// Which signal.
    pub kind: SignalKind,
    /// What this instance contributes to the account's level.
    pub level: Level,
    /// The time of the latest event the signal rests on (RFC 3339, UTC).
    pub at: String,
    /// The ids of the events it rests on, in event order (time, then id).
    pub events: Vec<String>,
    /// The figures it was decided on (flattened into the signal's JSON).
    #[serde(flatten)]
    pub figures: Figures,
}

/// The figures of each kind of signal: one variant per [`SignalKind`], of the same name.
///
/// ```
/// # use riskledger_events::{json::parse_line, Timestamp};
/// # use riskledger_projections::{accounts::*, Level, Policy};
/// # fn book_of<S: AsRef<str>>(lines: &[S]) -> AccountBook {
/// #     let mut book = AccountBook::new();
/// #     lines.iter().enumerate().for_each(|(n, l)| book.apply(&parse_line(n as u64 + 1, l.as_ref()).unwrap()));
/// #     book
/// # }
/// # let at = |t: &str| Timestamp::parse_rfc3339(t).unwrap();
/// # let policy = Policy::default().accounts;
/// # let opened = r#"{"id":"o","type":"account_opened","at":"2024-01-03T11:00:00Z","account":"f-1","role":"freelancer","country":"PH"}"#.to_owned();
/// # let opened_client = r#"{"id":"oc","type":"account_opened","at":"2024-01-02T10:00:00Z","account":"c-1","role":"client","country":"US"}"#.to_owned();
/// # let login = |id: &str, account: &str, when: &str, device: &str, country: &str, (lat, lon): (f64, f64)| format!(r#"{{"id":"{id}","type":"login","at":"2024-{when}:00Z","account":"{account}","device":"{device}","ip":"203.0.113.9","lat":{lat},"lon":{lon},"country":"{country}"}}"#);
/// # let (manila, london, tokyo) = ((14.6, 120.98), (51.5074, -0.1278), (35.68, 139.69));
/// let book = book_of(&[
///     opened, opened_client,
///     login("l1", "f-1", "03-01T09:00", "d-77", "PH", manila),
///     login("l2", "c-1", "03-05T09:00", "d-77", "PH", manila), // the same device, 4 days later
/// ]);
/// let report = book.report(&policy, "c-1", at("2024-03-06T00:00:00Z")).unwrap();
/// match &report.signals[0].figures {
///     Figures::SharedDevice(shared) => assert_eq!(shared.other_accounts, ["f-1"]),
///     other => unreachable!("{other:?}"),
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Figures {
    /// The figures of `impossible_travel`.
    ImpossibleTravel(TravelFigures),
    /// The figures of `shared_device`.
    SharedDevice(SharedDeviceFigures),
    /// The figures of `foreign_majority`.
    ForeignMajority(ForeignMajorityFigures),
    /// The figures of `new_country`.
    NewCountry(NewCountryFigures),
    /// The figures of `payout_after_new_device`.
    PayoutAfterNewDevice(PayoutFigures),
}

/// The figures `impossible_travel` was decided on: the two logins' distance and time apart,
/// rounded as printed.
///
/// ```
/// # use riskledger_events::{json::parse_line, Timestamp};
/// # use riskledger_projections::{accounts::*, Level, Policy};
/// # fn book_of<S: AsRef<str>>(lines: &[S]) -> AccountBook {
/// #     let mut book = AccountBook::new();
/// #     lines.iter().enumerate().for_each(|(n, l)| book.apply(&parse_line(n as u64 + 1, l.as_ref()).unwrap()));
/// #     book
/// # }
/// # let at = |t: &str| Timestamp::parse_rfc3339(t).unwrap();
/// # let policy = Policy::default().accounts;
/// # let opened = r#"{"id":"o","type":"account_opened","at":"2024-01-03T11:00:00Z","account":"f-1","role":"freelancer","country":"PH"}"#.to_owned();
/// # let opened_client = r#"{"id":"oc","type":"account_opened","at":"2024-01-02T10:00:00Z","account":"c-1","role":"client","country":"US"}"#.to_owned();
/// # let login = |id: &str, account: &str, when: &str, device: &str, country: &str, (lat, lon): (f64, f64)| format!(r#"{{"id":"{id}","type":"login","at":"2024-{when}:00Z","account":"{account}","device":"{device}","ip":"203.0.113.9","lat":{lat},"lon":{lon},"country":"{country}"}}"#);
/// # let (manila, london, tokyo) = ((14.6, 120.98), (51.5074, -0.1278), (35.68, 139.69));
/// let book = book_of(&[
///     opened,
///     login("l1", "f-1", "03-01T09:00", "d-1", "PH", manila),
///     login("l2", "f-1", "03-01T10:00", "d-1", "GB", london), // an hour later
/// ]);
/// let report = book.report(&policy, "f-1", at("2024-03-02T00:00:00Z")).unwrap();
/// let Figures::ImpossibleTravel(travel) = &report.signals[0].figures else { unreachable!() };
/// assert_eq!((travel.from_country.as_str(), travel.to_country.as_str()), ("PH", "GB"));
/// assert_eq!((travel.distance_km, travel.accuracy_km, travel.effective_distance_km), (10_734.8, 100.0, 10_634.8));
/// assert_eq!((travel.elapsed_seconds, travel.speed_kmh), (3_600.0, 10_634.8)); // far above 900 km/h
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TravelFigures {
    /// The country of the earlier login.
    pub from_country: String,
    /// The country of the later login.
    pub to_country: String,
    /// Great-circle distance, 0.1 km.
    pub distance_km: f64,
    /// The two accuracy radii added up, 0.1 km.
    pub accuracy_km: f64,
    /// `max(0, distance − accuracies)`, 0.1 km: compared with the minimum distance.
    pub effective_distance_km: f64,
    /// Time between the two logins, 0.001 s.
    pub elapsed_seconds: f64,
    /// The elapsed time the speed divides by: at least the policy's minimum (60 s).
    pub counted_elapsed_seconds: f64,
    /// `effective_distance_km / counted elapsed hours`, 0.1 km/h: compared with the limit.
    pub speed_kmh: f64,
}

/// The figures `shared_device` was decided on: the device, whom it links the account to, and
/// the cluster those links make.
///
/// ```
/// # use riskledger_events::{json::parse_line, Timestamp};
/// # use riskledger_projections::{accounts::*, Level, Policy};
/// # fn book_of<S: AsRef<str>>(lines: &[S]) -> AccountBook {
/// #     let mut book = AccountBook::new();
/// #     lines.iter().enumerate().for_each(|(n, l)| book.apply(&parse_line(n as u64 + 1, l.as_ref()).unwrap()));
/// #     book
/// # }
/// # let at = |t: &str| Timestamp::parse_rfc3339(t).unwrap();
/// # let policy = Policy::default().accounts;
/// # let opened = r#"{"id":"o","type":"account_opened","at":"2024-01-03T11:00:00Z","account":"f-1","role":"freelancer","country":"PH"}"#.to_owned();
/// # let opened_client = r#"{"id":"oc","type":"account_opened","at":"2024-01-02T10:00:00Z","account":"c-1","role":"client","country":"US"}"#.to_owned();
/// # let login = |id: &str, account: &str, when: &str, device: &str, country: &str, (lat, lon): (f64, f64)| format!(r#"{{"id":"{id}","type":"login","at":"2024-{when}:00Z","account":"{account}","device":"{device}","ip":"203.0.113.9","lat":{lat},"lon":{lon},"country":"{country}"}}"#);
/// # let (manila, london, tokyo) = ((14.6, 120.98), (51.5074, -0.1278), (35.68, 139.69));
/// let book = book_of(&[
///     opened, opened_client,
///     login("l1", "f-1", "03-01T09:00", "d-77", "PH", manila),
///     login("l2", "c-1", "03-05T09:00", "d-77", "PH", manila), // the same device, 4 days later
/// ]);
/// let report = book.report(&policy, "f-1", at("2024-03-06T00:00:00Z")).unwrap();
/// let Figures::SharedDevice(shared) = &report.signals[0].figures else { unreachable!() };
/// assert_eq!((shared.device.as_str(), &shared.other_accounts[..]), ("d-77", &["c-1".to_owned()][..]));
/// assert_eq!((shared.cluster_size, shared.cluster_joins_client_and_freelancer), (2, true));
/// assert_eq!(report.signals[0].level, Level::High); // a client and a freelancer on one device
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SharedDeviceFigures {
    /// The device both accounts signed in from.
    pub device: String,
    /// The accounts this device links the account to, sorted.
    pub other_accounts: Vec<String>,
    /// Accounts in the account's cluster (itself included), over every shared device.
    pub cluster_size: usize,
    /// Whether the cluster holds both a client and a freelancer.
    pub cluster_joins_client_and_freelancer: bool,
    /// The policy's window: the logins were at most this many days apart.
    pub window_days: i64,
}

/// The figures `foreign_majority` was decided on: the share of recent logins from one foreign
/// country.
///
/// ```
/// # use riskledger_events::{json::parse_line, Timestamp};
/// # use riskledger_projections::{accounts::*, Level, Policy};
/// # fn book_of<S: AsRef<str>>(lines: &[S]) -> AccountBook {
/// #     let mut book = AccountBook::new();
/// #     lines.iter().enumerate().for_each(|(n, l)| book.apply(&parse_line(n as u64 + 1, l.as_ref()).unwrap()));
/// #     book
/// # }
/// # let at = |t: &str| Timestamp::parse_rfc3339(t).unwrap();
/// # let policy = Policy::default().accounts;
/// # let opened = r#"{"id":"o","type":"account_opened","at":"2024-01-03T11:00:00Z","account":"f-1","role":"freelancer","country":"PH"}"#.to_owned();
/// # let opened_client = r#"{"id":"oc","type":"account_opened","at":"2024-01-02T10:00:00Z","account":"c-1","role":"client","country":"US"}"#.to_owned();
/// # let login = |id: &str, account: &str, when: &str, device: &str, country: &str, (lat, lon): (f64, f64)| format!(r#"{{"id":"{id}","type":"login","at":"2024-{when}:00Z","account":"{account}","device":"{device}","ip":"203.0.113.9","lat":{lat},"lon":{lon},"country":"{country}"}}"#);
/// # let (manila, london, tokyo) = ((14.6, 120.98), (51.5074, -0.1278), (35.68, 139.69));
/// let mut lines = vec![opened];
/// for day in 1..=10 {
///     lines.push(login(&format!("l{day}"), "f-1", &format!("03-{day:02}T09:00"), "d-1", "GB", london));
/// }
/// let report = book_of(&lines).report(&policy, "f-1", at("2024-03-11T00:00:00Z")).unwrap();
/// let Figures::ForeignMajority(foreign) = &report.signals[0].figures else { unreachable!() };
/// assert_eq!((foreign.country.as_str(), foreign.home_country.as_str()), ("GB", "PH"));
/// assert_eq!((foreign.window_logins, foreign.country_logins, foreign.share_percent), (10, 10, 100.0));
/// assert_eq!(report.level, Level::Medium);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ForeignMajorityFigures {
    /// The foreign country most logins came from.
    pub country: String,
    /// The account's home country.
    pub home_country: String,
    /// How many of the latest located logins were looked at (at most the window).
    pub window_logins: usize,
    /// How many of them came from `country`.
    pub country_logins: usize,
    /// `country_logins / window_logins`, percent, 0.1.
    pub share_percent: f64,
}

/// The figures `new_country` was decided on: the new country and the countries seen before it.
///
/// ```
/// # use riskledger_events::{json::parse_line, Timestamp};
/// # use riskledger_projections::{accounts::*, Level, Policy};
/// # fn book_of<S: AsRef<str>>(lines: &[S]) -> AccountBook {
/// #     let mut book = AccountBook::new();
/// #     lines.iter().enumerate().for_each(|(n, l)| book.apply(&parse_line(n as u64 + 1, l.as_ref()).unwrap()));
/// #     book
/// # }
/// # let at = |t: &str| Timestamp::parse_rfc3339(t).unwrap();
/// # let policy = Policy::default().accounts;
/// # let opened = r#"{"id":"o","type":"account_opened","at":"2024-01-03T11:00:00Z","account":"f-1","role":"freelancer","country":"PH"}"#.to_owned();
/// # let opened_client = r#"{"id":"oc","type":"account_opened","at":"2024-01-02T10:00:00Z","account":"c-1","role":"client","country":"US"}"#.to_owned();
/// # let login = |id: &str, account: &str, when: &str, device: &str, country: &str, (lat, lon): (f64, f64)| format!(r#"{{"id":"{id}","type":"login","at":"2024-{when}:00Z","account":"{account}","device":"{device}","ip":"203.0.113.9","lat":{lat},"lon":{lon},"country":"{country}"}}"#);
/// # let (manila, london, tokyo) = ((14.6, 120.98), (51.5074, -0.1278), (35.68, 139.69));
/// let mut lines = vec![opened];
/// for day in 1..=5 {
///     lines.push(login(&format!("l{day}"), "f-1", &format!("03-{day:02}T09:00"), "d-1", "PH", manila));
/// }
/// lines.push(login("l6", "f-1", "03-06T09:00", "d-1", "JP", tokyo));
/// let report = book_of(&lines).report(&policy, "f-1", at("2024-03-07T00:00:00Z")).unwrap();
/// let Figures::NewCountry(new) = &report.signals[0].figures else { unreachable!() };
/// assert_eq!((new.country.as_str(), new.home_country.as_deref()), ("JP", Some("PH")));
/// assert_eq!((&new.previous_countries[..], new.earlier_logins), (&["PH".to_owned()][..], 5));
/// assert_eq!(report.level, Level::Low);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NewCountryFigures {
    /// The country of the login that fired the signal.
    pub country: String,
    /// The account's home country; null when it has no `account_opened` by `T`.
    pub home_country: Option<String>,
    /// Countries of the located logins in the lookback before this one, sorted.
    pub previous_countries: Vec<String>,
    /// Located logins of the account before this one (any time).
    pub earlier_logins: usize,
    /// The policy's lookback, in days.
    pub lookback_days: i64,
}

/// The figures `payout_after_new_device` was decided on: the new device, the payout change, and
/// the time between them.
///
/// ```
/// # use riskledger_events::{json::parse_line, Timestamp};
/// # use riskledger_projections::{accounts::*, Level, Policy};
/// # fn book_of<S: AsRef<str>>(lines: &[S]) -> AccountBook {
/// #     let mut book = AccountBook::new();
/// #     lines.iter().enumerate().for_each(|(n, l)| book.apply(&parse_line(n as u64 + 1, l.as_ref()).unwrap()));
/// #     book
/// # }
/// # let at = |t: &str| Timestamp::parse_rfc3339(t).unwrap();
/// # let policy = Policy::default().accounts;
/// # let opened = r#"{"id":"o","type":"account_opened","at":"2024-01-03T11:00:00Z","account":"f-1","role":"freelancer","country":"PH"}"#.to_owned();
/// # let opened_client = r#"{"id":"oc","type":"account_opened","at":"2024-01-02T10:00:00Z","account":"c-1","role":"client","country":"US"}"#.to_owned();
/// # let login = |id: &str, account: &str, when: &str, device: &str, country: &str, (lat, lon): (f64, f64)| format!(r#"{{"id":"{id}","type":"login","at":"2024-{when}:00Z","account":"{account}","device":"{device}","ip":"203.0.113.9","lat":{lat},"lon":{lon},"country":"{country}"}}"#);
/// # let (manila, london, tokyo) = ((14.6, 120.98), (51.5074, -0.1278), (35.68, 139.69));
/// let book = book_of(&[
///     opened,
///     login("l1", "f-1", "03-01T09:00", "d-1", "PH", manila),
///     login("l2", "f-1", "03-02T09:00", "d-2", "PH", manila), // a second device
///     r#"{"id":"pm","type":"payout_method_changed","at":"2024-03-03T09:00:00Z","account":"f-1","method":"pm-9","country":"GB"}"#.to_owned(),
/// ]);
/// let report = book.report(&policy, "f-1", at("2024-03-07T00:00:00Z")).unwrap();
/// let Figures::PayoutAfterNewDevice(payout) = &report.signals[0].figures else { unreachable!() };
/// assert_eq!((payout.device.as_str(), payout.first_device.as_str()), ("d-2", "d-1"));
/// assert_eq!((payout.method.as_str(), payout.payout_country.as_str()), ("pm-9", "GB"));
/// assert_eq!((payout.home_country.as_deref(), payout.hours_after_new_device), (Some("PH"), 24.0));
/// assert_eq!(report.level, Level::High); // the money now goes abroad
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PayoutFigures {
    /// The new device, and the account's very first device (which is never new).
    pub device: String,
    /// The account's very first device.
    pub first_device: String,
    /// The new payout method's id.
    pub method: String,
    /// The country the money now goes to.
    pub payout_country: String,
    /// The account's home country; null when it has no `account_opened` by `T`.
    pub home_country: Option<String>,
    /// From the first login on the new device to the payout change, 0.01 h.
    pub hours_after_new_device: f64,
}

impl AccountReport {
    /// The level of an account: the highest level among its signals, raised to `high` by
    /// two or more distinct kinds of signal at `medium`. Use it to re-derive a report's level
    /// from its signals (after filtering some out, say).
    ///
    /// ```
    /// # use riskledger_events::{json::parse_line, Timestamp};
    /// # use riskledger_projections::{accounts::*, Level, Policy};
    /// # fn book_of<S: AsRef<str>>(lines: &[S]) -> AccountBook {
    /// #     let mut book = AccountBook::new();
    /// #     lines.iter().enumerate().for_each(|(n, l)| book.apply(&parse_line(n as u64 + 1, l.as_ref()).unwrap()));
    /// #     book
    /// # }
    /// # let at = |t: &str| Timestamp::parse_rfc3339(t).unwrap();
    /// # let policy = Policy::default().accounts;
    /// # let opened = r#"{"id":"o","type":"account_opened","at":"2024-01-03T11:00:00Z","account":"f-1","role":"freelancer","country":"PH"}"#.to_owned();
    /// # let opened_client = r#"{"id":"oc","type":"account_opened","at":"2024-01-02T10:00:00Z","account":"c-1","role":"client","country":"US"}"#.to_owned();
    /// # let login = |id: &str, account: &str, when: &str, device: &str, country: &str, (lat, lon): (f64, f64)| format!(r#"{{"id":"{id}","type":"login","at":"2024-{when}:00Z","account":"{account}","device":"{device}","ip":"203.0.113.9","lat":{lat},"lon":{lon},"country":"{country}"}}"#);
    /// # let (manila, london, tokyo) = ((14.6, 120.98), (51.5074, -0.1278), (35.68, 139.69));
    /// let book = book_of(&[
    ///     opened,
    ///     login("l1", "f-1", "03-01T09:00", "d-1", "PH", manila),
    ///     login("l2", "f-1", "03-01T10:00", "d-1", "GB", london), // an hour later
    /// ]);
    /// let report = book.report(&policy, "f-1", at("2024-03-02T00:00:00Z")).unwrap();
    /// assert_eq!(AccountReport::level_of(&report.signals), report.level);
    /// assert_eq!(AccountReport::level_of(&[]), Level::None);
    /// ```
    pub fn level_of(signals: &[Signal]) -> Level {
        let mut level = LevelSoFar::default();
        signals.iter().for_each(|s| level.add(s.kind, s.level));
        level.level()
    }
}

/// An account's level as its signals come in: what [`AccountReport::level_of`] computes over
/// the report's signals, and `AccountBook::level` over the rules' instances, stopping as soon
/// as it is `high`.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct LevelSoFar {
    highest: Level,
    /// One bit per [`SignalKind`] seen at `medium`.
    medium_kinds: u8,
}

impl LevelSoFar {
    pub fn add(&mut self, kind: SignalKind, level: Level) {
        self.highest = self.highest.max(level);
        if level == Level::Medium {
            self.medium_kinds |= 1 << (kind as u8);
        }
    }

    pub fn level(&self) -> Level {
        if self.medium_kinds.count_ones() >= 2 {
            Level::High
        } else {
            self.highest
        }
    }

    /// Nothing can raise it any more.
    pub fn is_high(&self) -> bool {
        self.level() == Level::High
    }
}

/// Rounds to `1 / per_unit` (10 for 0.1): the same f64, and so the same JSON, everywhere.
pub(crate) fn round_to(value: f64, per_unit: f64) -> f64 {
    (value * per_unit).round() / per_unit
}
