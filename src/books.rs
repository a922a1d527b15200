//! Every projection, folded from the same events: the state a ledger keeps current.

use riskledger_events::{Event, Timestamp};
use riskledger_projections::accounts::AccountBook;
use riskledger_projections::accounts::Figures;
use riskledger_projections::pairs::PairBook;
use riskledger_projections::policy::{AccountPolicy, PairPolicy};
use riskledger_projections::{Level, Policy};

const STATE_DIGEST_CONTEXT: &str = "riskledger 2026-11-22 state digest v1";

/// The projections of a set of events. The fold is order-independent: the same events in any
/// arrival order give the same books and the same digest.
#[derive(Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Books {
    pub(crate) pairs: PairBook,
    pub(crate) accounts: AccountBook,
    latest_at: Option<Timestamp>,
    events: u64,
}

impl Books {
    pub fn new() -> Self {
        Self::default()
    }

    /// Folds one event into every projection.
    pub fn apply(&mut self, event: &Event) {
        self.pairs.apply(event);
        self.accounts.apply(event);
        self.latest_at = Some(self.latest_at.map_or(event.at, |t| t.max(event.at)));
        self.events += 1;
    }

    /// The latest event time folded: the default evaluation time `T`.
    pub fn latest_event_at(&self) -> Option<Timestamp> {
        self.latest_at
    }

    /// How many events were folded.
    pub fn events(&self) -> u64 {
        self.events
    }

    pub fn pairs(&self) -> &PairBook {
        &self.pairs
    }

    pub fn accounts(&self) -> &AccountBook {
        &self.accounts
    }

    /// A digest of the whole state under `policy`: BLAKE3 over the policy digest, each
    /// projection's canonical encoding, the latest event time and the event count. Equal for a
    /// full replay, an incremental catch-up and a snapshot plus tail, on any machine.
    pub fn digest(&self, policy: &Policy) -> String {
        let mut hasher = blake3::Hasher::new_derive_key(STATE_DIGEST_CONTEXT);
        hasher.update(policy.digest().as_bytes());
        hasher.update(&self.events.to_le_bytes());
        hasher.update(
            &self
                .latest_at
                .map_or(i64::MIN, Timestamp::as_micros)
                .to_le_bytes(),
        );
        self.pairs.digest_into(&mut hasher);
        self.accounts.digest_into(&mut hasher);
        hasher.finalize().to_hex().to_string()
    }
}

// Level-only views for the change feed.
impl Books {
    /// The level of the pair at `at` (`none` when it does not exist at `at`).
    pub(crate) fn pair_level(
        &self,
        policy: &PairPolicy,
        client: &str,
        freelancer: &str,
        at: Timestamp,
    ) -> Level {
        self.pairs
            .report(policy, client, freelancer, at)
            .map_or(Level::None, |r| r.level)
    }

    /// The level of the account at `at` (`none` when it does not exist at `at`).
    pub(crate) fn account_level(
        &self,
        policy: &AccountPolicy,
        account: &str,
        at: Timestamp,
    ) -> Level {
        self.accounts
            .report(policy, account, at)
            .map_or(Level::None, |r| r.level)
    }

    /// `account` and every account shared devices link it to at `at`, directly or not.
    pub(crate) fn account_cluster(
        &self,
        policy: &AccountPolicy,
        account: &str,
        at: Timestamp,
    ) -> Vec<String> {
        let mut seen = std::collections::BTreeSet::from([account.to_owned()]);
        let mut to_visit = vec![account.to_owned()];
        while let Some(current) = to_visit.pop() {
            let Some(report) = self.accounts.report(policy, &current, at) else {
                continue;
            };
            for signal in &report.signals {
                if let Figures::SharedDevice(figures) = &signal.figures {
                    for other in &figures.other_accounts {
                        if seen.insert(other.clone()) {
                            to_visit.push(other.clone());
                        }
                    }
                }
            }
        }
        seen.into_iter().collect()
    }
}
