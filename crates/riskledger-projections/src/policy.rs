//! Every number of `spec/policy.md`, as an operator-editable policy file (TOML). The defaults
//! are the spec's. A report names the policy it was computed under by [`Policy::digest`].

use riskledger_events::Timestamp;
use serde::{Deserialize, Serialize};

/// The effective policy: both sections. Missing keys take the spec's defaults; unknown keys
/// are rejected (a misspelt threshold must not silently fall back to its default).
///
/// ```
/// use riskledger_projections::Policy;
///
/// let policy = Policy::from_toml("[pairs]\nwindow_months = 12\n")?;
/// assert_eq!(policy.pairs.window_months, 12);
/// assert_eq!(policy.accounts, Policy::default().accounts); // the section left out
/// assert!(Policy::from_toml("[pairs]\nwindow_month = 12\n").is_err()); // a typo
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// Section 1: the numbers of the pair (circumvention) rules.
    pub pairs: PairPolicy,
    /// Section 2: the numbers of the account (leased, shared or sold) rules.
    pub accounts: AccountPolicy,
    /// How much history the kept state holds (`docs/retention.md`). No rule reads it: it
    /// changes where answers come from, never what they are.
    pub retention: RetentionPolicy,
}

/// Section 1: circumvention exposure per client–freelancer pair. Pass it to
/// [`PairBook`](crate::pairs::PairBook)'s evaluations.
///
/// ```
/// use riskledger_projections::policy::PairPolicy;
///
/// let policy = PairPolicy::default(); // the spec's numbers
/// assert_eq!((policy.window_months, policy.fee_basis_points), (24, 1200));
/// let stricter = PairPolicy { payments_stopped_days: 30, ..PairPolicy::default() };
/// assert_eq!(stricter.payments_stopped_min_payments, 3);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PairPolicy {
    /// A pair may leave the platform without a fee this many calendar months after `met_at`.
    pub window_months: u32,
    /// The conversion fee, in basis points of the estimated annual earnings (1200 = 12%).
    pub fee_basis_points: u64,
    /// Hours in a working year, for the rate-based estimate.
    pub hours_per_year: u64,
    /// The trailing window of payments that the payment-based estimate sums.
    pub trailing_days: i64,
    /// The least number of days the payment-based estimate annualises over.
    pub annualise_min_days: i64,
    /// The nominal fee after the window, in minor units.
    pub after_window_fee_minor: u64,
    /// `payments_stopped`: at least this many payments ...
    pub payments_stopped_min_payments: u64,
    /// ... the last one at least this many days before `T`.
    pub payments_stopped_days: i64,
}

impl Default for PairPolicy {
    fn default() -> Self {
        PairPolicy {
            window_months: 24,
            fee_basis_points: 1200,
            hours_per_year: 2080,
            trailing_days: 365,
            annualise_min_days: 30,
            after_window_fee_minor: 100,
            payments_stopped_min_payments: 3,
            payments_stopped_days: 60,
        }
    }
}

/// Section 2: leased, shared or sold accounts. Pass it to
/// [`AccountBook`](crate::accounts::AccountBook)'s evaluations.
///
/// ```
/// use riskledger_projections::policy::AccountPolicy;
///
/// let policy = AccountPolicy::default(); // the spec's numbers
/// assert_eq!((policy.travel_min_distance_km, policy.travel_max_speed_kmh), (500.0, 900.0));
/// let wider = AccountPolicy { shared_device_window_days: 90, ..AccountPolicy::default() };
/// assert_eq!(wider.shared_device_high_cluster_size, 3);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccountPolicy {
    /// Radius of the sphere distances are measured on.
    pub earth_radius_km: f64,
    /// `impossible_travel`: at least this effective distance ...
    pub travel_min_distance_km: f64,
    /// ... at more than this speed ...
    pub travel_max_speed_kmh: f64,
    /// ... with elapsed time counted as at least this long.
    pub travel_min_elapsed_seconds: i64,
    /// `shared_device`: logins of two accounts on one device at most this far apart.
    pub shared_device_window_days: i64,
    /// `shared_device` is high for clusters of at least this many accounts.
    pub shared_device_high_cluster_size: usize,
    /// `foreign_majority`: look at this many of the latest located logins ...
    pub foreign_majority_window_logins: usize,
    /// ... when at least this many exist ...
    pub foreign_majority_min_logins: usize,
    /// ... and this share of them (percent) is from one foreign country.
    pub foreign_majority_percent: u32,
    /// `new_country`: countries seen in located logins of this many days before ...
    pub new_country_lookback_days: i64,
    /// ... when the account has at least this many earlier located logins.
    pub new_country_min_earlier_logins: usize,
    /// `payout_after_new_device`: a payout change at most this many hours after a new device.
    pub payout_after_new_device_hours: i64,
}

impl Default for AccountPolicy {
    fn default() -> Self {
        AccountPolicy {
            earth_radius_km: 6_371.008_8,
            travel_min_distance_km: 500.0,
            travel_max_speed_kmh: 900.0,
            travel_min_elapsed_seconds: 60,
            shared_device_window_days: 30,
            shared_device_high_cluster_size: 3,
            foreign_majority_window_logins: 20,
            foreign_majority_min_logins: 10,
            foreign_majority_percent: 80,
            new_country_lookback_days: 30,
            new_country_min_earlier_logins: 5,
            payout_after_new_device_hours: 72,
        }
    }
}

/// How far back from its latest event a ledger answers from memory (`docs/retention.md`).
///
/// ```
/// use riskledger_events::Timestamp;
/// use riskledger_projections::policy::RetentionPolicy;
///
/// let at = |t: &str| Timestamp::parse_rfc3339(t).unwrap();
/// let retention = RetentionPolicy::default();
/// assert_eq!(retention.memory_days, 30);
/// // Midnight UTC of the day 30 days before the latest event's.
/// assert_eq!(retention.boundary(at("2025-03-31T17:45:00Z")), at("2025-03-01T00:00:00Z"));
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionPolicy {
    /// Answers at a `T` from midnight UTC `memory_days` before the latest event's day on come
    /// from the kept state; earlier ones from the log. A very large value keeps everything.
    pub memory_days: i64,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        RetentionPolicy { memory_days: 30 }
    }
}

impl RetentionPolicy {
    /// The boundary `B` for a ledger whose latest event is at `latest`: midnight UTC,
    /// `memory_days` before `latest`'s day (never after it).
    pub fn boundary(&self, latest: Timestamp) -> Timestamp {
        let day = Timestamp::MICROS_PER_DAY;
        let latest_day = latest.as_micros().div_euclid(day);
        let days = latest_day.saturating_sub(self.memory_days.max(0));
        Timestamp(days.saturating_mul(day).min(latest.as_micros()))
    }
}

/// A policy file that does not parse, or has a key that is unknown or of the wrong type. The
/// message names the key and its line: fix the file; nothing falls back to a default.
///
/// ```
/// use riskledger_projections::Policy;
///
/// let err = Policy::from_toml("[pairs]\nwindow_months = \"two years\"\n").unwrap_err();
/// assert!(err.to_string().starts_with("policy file: "));
/// assert!(err.to_string().contains("window_months"));
/// ```
#[derive(Debug, thiserror::Error)]
#[error("policy file: {0}")]
pub struct PolicyError(#[from] toml::de::Error);

impl Policy {
    /// Reads a policy file; keys it leaves out keep the spec's defaults.
    ///
    /// ```
    /// use riskledger_projections::Policy;
    ///
    /// let policy = Policy::from_toml("[accounts]\nforeign_majority_percent = 70\n")?;
    /// assert_eq!(policy.accounts.foreign_majority_percent, 70);
    /// assert_eq!(Policy::from_toml("")?, Policy::default());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_toml(text: &str) -> Result<Self, PolicyError> {
        Ok(toml::from_str(text)?)
    }

    /// The effective policy as TOML (every key, defaults included): a complete file to start
    /// editing from, which reads back as the same policy.
    ///
    /// ```
    /// use riskledger_projections::Policy;
    ///
    /// let text = Policy::default().to_toml();
    /// assert!(text.contains("window_months = 24"));
    /// assert_eq!(Policy::from_toml(&text)?, Policy::default());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a policy always serialises")
    }

    /// A digest of the effective policy: BLAKE3 of its canonical bincode encoding, hex.
    /// Two policies with the same numbers have the same digest, however their files were written.
    ///
    /// ```
    /// use riskledger_projections::Policy;
    ///
    /// let written = Policy::from_toml("[pairs]\nwindow_months = 24 # the default, stated\n")?;
    /// assert_eq!(written.digest(), Policy::default().digest());
    /// assert_eq!(written.digest().len(), 64); // hex of 32 bytes
    /// let changed = Policy::from_toml("[pairs]\nwindow_months = 12\n")?;
    /// assert_ne!(changed.digest(), Policy::default().digest());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn digest(&self) -> String {
        let bytes = bincode::serde::encode_to_vec(self, bincode::config::legacy())
            .expect("a policy always encodes");
        blake3::derive_key("riskledger 2026-11-22 policy v1", &bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}
