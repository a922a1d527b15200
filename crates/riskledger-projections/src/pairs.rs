//! Circumvention exposure per client–freelancer pair (`spec/policy.md`, section 1).
//!
//! [`PairBook`] is a pure fold: [`PairBook::apply`] records the time-stamped facts of each
//! pair (contract starts and ends, payments, flags and their resolutions, exemptions) in any
//! arrival order, and [`PairBook::report`] / [`PairBook::reports`] evaluate them at any time
//! `T`, counting only facts with `at <= T`. Every rule, boundary and rounding choice is written
//! down in `docs/policy-pairs.md`.

mod arena;
mod digest;
mod eval;
mod money;
mod payments;
mod report;
mod state;
mod wordkey;

pub use report::{
    FlagEvidence, FlagState, NamedAs, PairReport, PairSignal, PairStatus, SignalEvidence,
    SignalKind, StoppedEvidence,
};
pub use state::PairBook;

use riskledger_events::Timestamp;

use crate::policy::PairPolicy;
use crate::Level;

impl PairBook {
    /// The pair `(client, freelancer)` at `at`; `None` when it has no `contract_started` at or
    /// before `at`.
    pub fn report(
        &self,
        policy: &PairPolicy,
        client: &str,
        freelancer: &str,
        at: Timestamp,
    ) -> Option<PairReport> {
        let pair = self.find_pair(client, freelancer)?;
        self.evaluate(policy, pair, at.as_micros(), Level::None)
    }

    /// The level of `(client, freelancer)` at `at`: `report(..).level` without building the
    /// report (no estimate, no text). `None` when the pair has no `contract_started` at or
    /// before `at`.
    pub fn level(
        &self,
        policy: &PairPolicy,
        client: &str,
        freelancer: &str,
        at: Timestamp,
    ) -> Option<Level> {
        let pair = self.find_pair(client, freelancer)?;
        self.level_of(policy, pair, at.as_micros())
    }

    fn find_pair(&self, client: &str, freelancer: &str) -> Option<u32> {
        let key = (
            self.account_lookup(client)?,
            self.account_lookup(freelancer)?,
        );
        self.pair_index.get(&key).copied()
    }

    /// Every pair at `at` whose level is at least `min_level`, sorted by client then
    /// freelancer.
    pub fn reports(&self, policy: &PairPolicy, at: Timestamp, min_level: Level) -> Vec<PairReport> {
        self.collect_reports(policy, at, |_| true, min_level)
    }

    /// The pairs `account` is a member of (as client or freelancer), at any level, sorted by
    /// client then freelancer. A scan of every pair: this serves one-account reports, not a
    /// hot path.
    pub fn reports_for_account(
        &self,
        policy: &PairPolicy,
        account: &str,
        at: Timestamp,
    ) -> Vec<PairReport> {
        let Some(slot) = self.account_lookup(account) else {
            return Vec::new();
        };
        let member = |pair: u32| {
            let record = &self.pairs[pair as usize];
            record.client == slot || record.freelancer == slot
        };
        self.collect_reports(policy, at, member, Level::None)
    }

    fn collect_reports(
        &self,
        policy: &PairPolicy,
        at: Timestamp,
        wanted: impl Fn(u32) -> bool,
        min_level: Level,
    ) -> Vec<PairReport> {
        let t = at.as_micros();
        let mut slots: Vec<(&str, &str, u32)> = (0..self.pairs.len() as u32)
            .filter(|&pair| self.pairs[pair as usize].first_contract != state::NONE)
            .filter(|&pair| wanted(pair))
            .map(|pair| {
                let record = &self.pairs[pair as usize];
                (
                    self.account_name(record.client),
                    self.account_name(record.freelancer),
                    pair,
                )
            })
            .collect();
        // Sorting names before evaluating moves three words per pair instead of whole reports.
        slots.sort_unstable();
        slots
            .into_iter()
            .filter_map(|(_, _, pair)| self.evaluate(policy, pair, t, min_level))
            .collect()
    }
}
