//! Pure folds from events to risk state (`spec/policy.md`). No IO, no clock: time is event
//! time, and every evaluation takes its `T` as an argument.
//!
//! - [`pairs`]: circumvention exposure per client–freelancer pair (section 1);
//! - [`accounts`]: leased, shared or sold account signals per account (section 2);
//! - [`policy`]: every number those rules use, loadable from TOML, with a digest.

pub mod accounts;
pub mod geo;
mod keys;
pub mod pairs;
pub mod policy;

pub use policy::Policy;

/// The version of what the folds compute. Bump it whenever a change to `pairs` or `accounts`
/// changes their state or its meaning: snapshots of another version are rebuilt from the log,
/// never loaded (their bytes may still decode).
pub const STATE_VERSION: u32 = 3;

/// Bytes the state digests buffer before they reach the hasher: their encodings are written a
/// few bytes at a time, and BLAKE3 hashes a long input many chunks at once (SIMD) where it
/// would take many tiny updates one by one. The bytes hashed are the same either way.
pub(crate) const DIGEST_BUFFER_BYTES: usize = 64 * 1024;

use serde::{Deserialize, Serialize};

/// How risky: `none` < `low` < `medium` < `high`.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    #[default]
    None,
    Low,
    Medium,
    High,
}

impl Level {
    pub const NAMES: &'static str = "none, low, medium, high";

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "none" => Some(Level::None),
            "low" => Some(Level::Low),
            "medium" => Some(Level::Medium),
            "high" => Some(Level::High),
            _ => None,
        }
    }

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
