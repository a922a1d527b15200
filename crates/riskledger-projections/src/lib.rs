//! Pure folds from events to risk state (`spec/policy.md`). No IO, no clock: time is event
//! time, and every evaluation takes its `T` as an argument.
//!
//! - [`pairs`]: circumvention exposure per client–freelancer pair (section 1);
//! - [`accounts`]: leased, shared or sold account signals per account (section 2);
//! - [`policy`]: every number those rules use, loadable from TOML, with a digest.

#![warn(missing_docs)]

pub mod accounts;
mod chunked;
pub mod exact;
pub mod geo;
mod keys;
pub mod pairs;
mod parallel;
pub mod policy;

pub use policy::Policy;

/// The version of what the folds compute. Bump it whenever a change to `pairs` or `accounts`
/// changes their state or its meaning: snapshots of another version are rebuilt from the log,
/// never loaded (their bytes may still decode).
///
/// ```
/// use riskledger_projections::STATE_VERSION;
///
/// // What a snapshot loader does with the version a snapshot was written under.
/// let loadable = |saved_under: u32| saved_under == STATE_VERSION;
/// assert!(loadable(STATE_VERSION));
/// assert!(!loadable(STATE_VERSION - 1)); // rebuilt from the log instead
/// ```
pub const STATE_VERSION: u32 = 6;

/// Bytes the state digests buffer before they reach the hasher: their encodings are written a
/// few bytes at a time, and BLAKE3 hashes a long input many chunks at once (SIMD) where it
/// would take many tiny updates one by one. The bytes hashed are the same either way.
pub(crate) const DIGEST_BUFFER_BYTES: usize = 64 * 1024;

use serde::{Deserialize, Serialize};

/// Gives back what a list reserved beyond an eighth more than it holds: compaction is what
/// bounds memory, and a list's next push doubles it again anyway.
pub(crate) fn shrink_if_sparse<T>(list: &mut Vec<T>) {
    if list.capacity() > list.len() + list.len() / 8 + 4 {
        list.shrink_to_fit();
    }
}

/// Makes room for one more item in a list the book keeps (its pairs, contracts, names, a
/// contract's payments), growing a full list by an eighth, and by at least `at_least` items,
/// instead of doubling it: a doubled list is a quarter empty on average, an eighth-grown one
/// about 6%, and that slack is memory held for as long as the list lives. The price is more
/// reallocations (about eight copies of the list over its growth instead of two), which the
/// pair fold's bench does not show through the machine's noise.
pub(crate) fn reserve_an_eighth<T>(list: &mut Vec<T>, at_least: usize) {
    if list.len() == list.capacity() {
        list.reserve_exact((list.len() / 8).max(at_least));
    }
}

/// How risky: `none` < `low` < `medium` < `high`. Every report carries one; compare levels
/// with `<` and `>=` to pick what to act on.
///
/// ```
/// use riskledger_projections::Level;
///
/// assert!(Level::None < Level::Low && Level::Medium < Level::High);
/// assert_eq!(Level::default(), Level::None);
/// assert_eq!(serde_json::to_string(&Level::Medium)?, r#""medium""#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// No signal counts at `T` (or the pair is exempt): nothing to do.
    #[default]
    None,
    /// A weak signal alone (`contact_info_shared`, `payments_stopped`, `new_country`), or a
    /// stronger pair signal capped after the window: worth a look, not enough to act on.
    Low,
    /// A signal to review (an open `off_platform_request`, a `shared_device`, a
    /// `foreign_majority`): open a case.
    Medium,
    /// Act on it (a confirmed `off_platform_request`, an `impossible_travel`, two distinct
    /// medium account signals, ...): hold payouts, escalate.
    High,
}

impl Level {
    /// Every level's name, in order, for messages that list the accepted values.
    ///
    /// ```
    /// use riskledger_projections::Level;
    ///
    /// let levels: Vec<Level> = Level::NAMES.split(", ").filter_map(Level::parse).collect();
    /// assert_eq!(levels, [Level::None, Level::Low, Level::Medium, Level::High]);
    /// ```
    pub const NAMES: &'static str = "none, low, medium, high";

    /// The level named `text` (`none`, `low`, `medium`, `high`, lower case), for command-line
    /// and configuration input; `None` for anything else.
    ///
    /// ```
    /// use riskledger_projections::Level;
    ///
    /// assert_eq!(Level::parse("medium"), Some(Level::Medium));
    /// assert_eq!(Level::parse("High"), None); // names are lower case
    /// ```
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "none" => Some(Level::None),
            "low" => Some(Level::Low),
            "medium" => Some(Level::Medium),
            "high" => Some(Level::High),
            _ => None,
        }
    }

    /// The level's name, as reports and `Display` write it.
    ///
    /// ```
    /// use riskledger_projections::Level;
    ///
    /// assert_eq!(Level::High.as_str(), "high");
    /// assert_eq!(Level::parse(Level::Low.as_str()), Some(Level::Low));
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Level::None => "none",
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
        }
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
