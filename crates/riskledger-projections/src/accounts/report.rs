//! What an evaluation returns: `spec/cli.md`'s `accounts` objects. Floats are rounded here,
//! once, and the rules decide on the rounded figures, so that what is printed is exactly what
//! was decided on and the JSON is byte-identical on every machine.

use serde::Serialize;

use crate::Level;

/// The kinds of signal, in the order of the spec's table (the order signals are listed in).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalKind {
    ImpossibleTravel,
    SharedDevice,
    ForeignMajority,
    NewCountry,
    PayoutAfterNewDevice,
}

impl SignalKind {
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

/// One account as of `T`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AccountReport {
    pub account: String,
    pub level: Level,
    /// From the account's `account_opened` at or before `T`; null when there is none.
    pub role: Option<String>,
    pub home_country: Option<String>,
    /// The id of that `account_opened`, the evidence for `role` and `home_country`.
    pub opened_event: Option<String>,
    /// Sorted by kind (the spec's order), then time, then event ids.
    pub signals: Vec<Signal>,
}

/// One instance of a signal, with the events it rests on and the figures it was decided on.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Signal {
    pub kind: SignalKind,
    pub level: Level,
    /// The time of the latest event the signal rests on (RFC 3339, UTC).
    pub at: String,
    /// The ids of the events it rests on, in event order (time, then id).
    pub events: Vec<String>,
    #[serde(flatten)]
    pub figures: Figures,
}

/// The figures of each kind of signal.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Figures {
    ImpossibleTravel(TravelFigures),
    SharedDevice(SharedDeviceFigures),
    ForeignMajority(ForeignMajorityFigures),
    NewCountry(NewCountryFigures),
    PayoutAfterNewDevice(PayoutFigures),
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TravelFigures {
    pub from_country: String,
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

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SharedDeviceFigures {
    pub device: String,
    /// The accounts this device links the account to, sorted.
    pub other_accounts: Vec<String>,
    /// Accounts in the account's cluster (itself included), over every shared device.
    pub cluster_size: usize,
    /// Whether the cluster holds both a client and a freelancer.
    pub cluster_joins_client_and_freelancer: bool,
    pub window_days: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ForeignMajorityFigures {
    pub country: String,
    pub home_country: String,
    /// How many of the latest located logins were looked at (at most the window).
    pub window_logins: usize,
    /// How many of them came from `country`.
    pub country_logins: usize,
    /// `country_logins / window_logins`, percent, 0.1.
    pub share_percent: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NewCountryFigures {
    pub country: String,
    pub home_country: Option<String>,
    /// Countries of the located logins in the lookback before this one, sorted.
    pub previous_countries: Vec<String>,
    /// Located logins of the account before this one (any time).
    pub earlier_logins: usize,
    pub lookback_days: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PayoutFigures {
    /// The new device, and the account's very first device (which is never new).
    pub device: String,
    pub first_device: String,
    pub method: String,
    pub payout_country: String,
    pub home_country: Option<String>,
    /// From the first login on the new device to the payout change, 0.01 h.
    pub hours_after_new_device: f64,
}

impl AccountReport {
    /// The level of an account: the highest level among its signals, raised to `high` by
    /// two or more distinct kinds of signal at `medium`.
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
