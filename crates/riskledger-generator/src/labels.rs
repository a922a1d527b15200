//! What the generator hid in the history, and what `spec/policy.md` should conclude about it.

use serde::Serialize;

/// The levels of `spec/policy.md`: `none` < `low` < `medium` < `high`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    None,
    Low,
    Medium,
    High,
}

/// The status of a pair (`spec/policy.md`, section 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PairStatus {
    ExemptPriorRelationship,
    ExemptFeePaid,
    InWindow,
    AfterWindow,
}

/// What the policy should conclude: an exact level, or (for decoys) a ceiling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expected {
    Exactly(Level),
    AtMost(Level),
}

macro_rules! kinds {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $wire:literal, $expected:expr, $rate:expr;)+ }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub const COUNT: usize = Self::ALL.len();
            /// Default number of cases per 100,000 accounts.
            pub const DEFAULT_RATES_PER_100K: [u32; Self::COUNT] = [$($rate),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }

            pub fn expected(self) -> Expected {
                use Expected::*;
                use Level::*;
                match self { $($name::$variant => $expected),+ }
            }

            pub fn is_decoy(self) -> bool {
                matches!(self.expected(), Expected::AtMost(_))
            }

            pub fn index(self) -> usize {
                Self::ALL.iter().position(|k| *k == self).expect("listed in ALL")
            }
        }
    };
}

kinds!(
    /// Labelled behaviour of a client–freelancer pair.
    PairKind {
        OffPlatformConfirmed => "off_platform_confirmed", Exactly(High), 300;
        OffPlatformOpen => "off_platform_open", Exactly(Medium), 300;
        OffPlatformOpenPaymentsStopped => "off_platform_open_payments_stopped", Exactly(High), 300;
        ContactInfo => "contact_info", Exactly(Low), 300;
        ContactInfoPaymentsStopped => "contact_info_payments_stopped", Exactly(Medium), 300;
        ExemptPriorRelationship => "exempt_prior_relationship", Exactly(None), 200;
        ExemptFeePaid => "exempt_fee_paid", Exactly(None), 200;
        AfterWindow => "after_window", Exactly(Low), 200;
        DecoyFlagDismissed => "decoy_flag_dismissed", AtMost(None), 300;
        DecoyPaymentsPaused => "decoy_payments_paused", AtMost(Low), 300;
    }
);

kinds!(
    /// Labelled behaviour of an account.
    AccountKind {
        DeviceFarm => "device_farm", Exactly(High), 150;
        ClientFreelancerDevice => "client_freelancer_device", Exactly(High), 200;
        SharedDevicePair => "shared_device_pair", Exactly(Medium), 200;
        TwoMediumSignals => "two_medium_signals", Exactly(High), 150;
        TakeoverAbroad => "takeover_abroad", Exactly(Medium), 300;
        TakeoverAbroadPayout => "takeover_abroad_payout", Exactly(High), 200;
        ImpossibleTravel => "impossible_travel", Exactly(High), 300;
        PayoutNewDeviceForeign => "payout_after_new_device_foreign", Exactly(High), 300;
        PayoutNewDeviceHome => "payout_after_new_device_home", Exactly(Medium), 300;
        DecoyAirlineTravel => "decoy_airline_travel", AtMost(Low), 400;
        DecoyVpnHops => "decoy_vpn_hops", AtMost(None), 300;
        DecoyFamilyDevice => "decoy_family_device", AtMost(None), 200;
        DecoyPayoutAfter4Days => "decoy_payout_4_days_after_new_device", AtMost(None), 300;
        DecoyNewCountryFewLogins => "decoy_new_country_few_logins", AtMost(None), 300;
    }
);

impl PairKind {
    /// The status the pair should have at `T`.
    pub fn status(self) -> PairStatus {
        match self {
            PairKind::ExemptPriorRelationship => PairStatus::ExemptPriorRelationship,
            PairKind::ExemptFeePaid => PairStatus::ExemptFeePaid,
            PairKind::AfterWindow => PairStatus::AfterWindow,
            _ => PairStatus::InWindow,
        }
    }
}

/// One labelled pair, by account index (ids are given when the labels are written).
#[derive(Clone, Debug)]
pub struct PairLabel {
    pub client: u32,
    pub freelancer: u32,
    pub kind: PairKind,
    /// Which generated case this pair belongs to (one case, one pair).
    pub case: u32,
}

/// One labelled account.
#[derive(Clone, Debug)]
pub struct AccountLabel {
    pub account: u32,
    pub kind: AccountKind,
    /// Accounts of one case (a farm, a shared device) share this number.
    pub case: u32,
}

/// The `--labels` document.
#[derive(Debug, Serialize)]
pub struct LabelsDocument {
    pub format: &'static str,
    pub seed: u64,
    pub generated_accounts: u64,
    pub history_start: String,
    pub history_end: String,
    /// `T`: the latest event time of the history, at which the expectations hold.
    pub evaluated_at: String,
    pub policy: &'static str,
    /// Every pair and account not listed here should be at level `none`.
    pub unlabelled_level: Level,
    pub counts: Counts,
    pub pairs: Vec<PairEntry>,
    pub accounts: Vec<AccountEntry>,
}

#[derive(Debug, Default, Serialize)]
pub struct Counts {
    /// Cases (not accounts) per kind.
    pub pair_cases: std::collections::BTreeMap<&'static str, u64>,
    pub account_cases: std::collections::BTreeMap<&'static str, u64>,
    /// Labelled accounts per kind (a farm is one case of several accounts).
    pub account_labels: std::collections::BTreeMap<&'static str, u64>,
}

#[derive(Debug, Serialize)]
pub struct PairEntry {
    pub client: String,
    pub freelancer: String,
    pub kind: &'static str,
    pub decoy: bool,
    pub case: u32,
    pub status: PairStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<Level>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_level: Option<Level>,
}

#[derive(Debug, Serialize)]
pub struct AccountEntry {
    pub account: String,
    pub kind: &'static str,
    pub decoy: bool,
    pub case: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<Level>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_level: Option<Level>,
}

pub fn split_expected(expected: Expected) -> (Option<Level>, Option<Level>) {
    match expected {
        Expected::Exactly(level) => (Some(level), None),
        Expected::AtMost(level) => (None, Some(level)),
    }
}
