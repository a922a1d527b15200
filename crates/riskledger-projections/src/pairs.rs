//! Circumvention exposure per client–freelancer pair (`spec/policy.md`, section 1).
//!
//! [`PairBook`] is a pure fold: [`PairBook::apply`] records the time-stamped facts of each
//! pair (contract starts and ends, payments, flags and their resolutions, exemptions) in any
//! arrival order, and [`PairBook::report`] / [`PairBook::reports`] evaluate them at any time
//! `T`, counting only facts with `at <= T`. Every rule, boundary and rounding choice is written
//! down in `docs/policy-pairs.md`.

mod arena;
mod compact;
mod digest;
mod eval;
mod money;
mod payments;
mod report;
mod state;

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
    ///
    /// ```
    /// # use riskledger_events::{json::parse_line, Timestamp};
    /// # use riskledger_projections::{pairs::*, Level, Policy};
    /// # let book_of = |lines: &[&str]| {
    /// #     let mut book = PairBook::new();
    /// #     lines.iter().enumerate().for_each(|(n, l)| book.apply(&parse_line(n as u64 + 1, l).unwrap()));
    /// #     book
    /// # };
    /// # let at = |t: &str| Timestamp::parse_rfc3339(t).unwrap();
    /// # let policy = Policy::default().pairs;
    /// # let contract = r#"{"id":"e3","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#;
    /// # let flag = r#"{"id":"e5","type":"flag_raised","at":"2024-02-03T08:00:00Z","flag":"fl-1","reporter":"f-1","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#;
    /// let book = book_of(&[contract, flag]);
    /// let report = book.report(&policy, "c-1", "f-1", at("2024-02-10T00:00:00Z")).unwrap();
    /// assert_eq!((report.status, report.level), (PairStatus::InWindow, Level::Medium));
    /// assert_eq!(report.signals[0].kind, SignalKind::OffPlatformRequest);
    /// // Before the flag was raised, the same pair had no signal.
    /// assert_eq!(book.report(&policy, "c-1", "f-1", at("2024-02-01T00:00:00Z")).unwrap().level, Level::None);
    /// assert!(book.report(&policy, "f-1", "c-1", at("2024-02-10T00:00:00Z")).is_none()); // client first
    /// ```
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
    ///
    /// ```
    /// # use riskledger_events::{json::parse_line, Timestamp};
    /// # use riskledger_projections::{pairs::*, Level, Policy};
    /// # let book_of = |lines: &[&str]| {
    /// #     let mut book = PairBook::new();
    /// #     lines.iter().enumerate().for_each(|(n, l)| book.apply(&parse_line(n as u64 + 1, l).unwrap()));
    /// #     book
    /// # };
    /// # let at = |t: &str| Timestamp::parse_rfc3339(t).unwrap();
    /// # let policy = Policy::default().pairs;
    /// # let contract = r#"{"id":"e3","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#;
    /// # let flag = r#"{"id":"e5","type":"flag_raised","at":"2024-02-03T08:00:00Z","flag":"fl-1","reporter":"f-1","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#;
    /// let book = book_of(&[contract, flag]);
    /// let t = at("2024-02-10T00:00:00Z");
    /// assert_eq!(book.level(&policy, "c-1", "f-1", t), Some(Level::Medium));
    /// assert_eq!(book.level(&policy, "c-1", "f-1", t), book.report(&policy, "c-1", "f-1", t).map(|r| r.level));
    /// assert_eq!(book.level(&policy, "c-1", "f-9", t), None);
    /// ```
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
        self.pair_lookup(
            self.account_lookup(client)?,
            self.account_lookup(freelancer)?,
        )
    }

    /// Every pair at `at` whose level is at least `min_level`, sorted by client then
    /// freelancer.
    ///
    /// ```
    /// # use riskledger_events::{json::parse_line, Timestamp};
    /// # use riskledger_projections::{pairs::*, Level, Policy};
    /// # let book_of = |lines: &[&str]| {
    /// #     let mut book = PairBook::new();
    /// #     lines.iter().enumerate().for_each(|(n, l)| book.apply(&parse_line(n as u64 + 1, l).unwrap()));
    /// #     book
    /// # };
    /// # let at = |t: &str| Timestamp::parse_rfc3339(t).unwrap();
    /// # let policy = Policy::default().pairs;
    /// # let contract = r#"{"id":"e3","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#;
    /// # let flag = r#"{"id":"e5","type":"flag_raised","at":"2024-02-03T08:00:00Z","flag":"fl-1","reporter":"f-1","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#;
    /// let other = r#"{"id":"e8","type":"contract_started","at":"2024-01-06T08:00:00Z","contract":"k-2","client":"c-2","freelancer":"f-1","currency":"USD","kind":"fixed"}"#;
    /// let book = book_of(&[other, contract, flag]);
    /// let t = at("2024-02-10T00:00:00Z");
    /// let all: Vec<_> = book.reports(&policy, t, Level::None).into_iter().map(|r| r.client).collect();
    /// assert_eq!(all, ["c-1", "c-2"]);
    /// let risky = book.reports(&policy, t, Level::Medium);
    /// assert_eq!((risky.len(), risky[0].client.as_str()), (1, "c-1"));
    /// ```
    pub fn reports(&self, policy: &PairPolicy, at: Timestamp, min_level: Level) -> Vec<PairReport> {
        self.collect_reports(policy, at, |_| true, min_level)
    }

    /// The pairs `account` is a member of (as client or freelancer), at any level, sorted by
    /// client then freelancer. A scan of every pair: this serves one-account reports, not a
    /// hot path.
    ///
    /// ```
    /// # use riskledger_events::{json::parse_line, Timestamp};
    /// # use riskledger_projections::{pairs::*, Level, Policy};
    /// # let book_of = |lines: &[&str]| {
    /// #     let mut book = PairBook::new();
    /// #     lines.iter().enumerate().for_each(|(n, l)| book.apply(&parse_line(n as u64 + 1, l).unwrap()));
    /// #     book
    /// # };
    /// # let at = |t: &str| Timestamp::parse_rfc3339(t).unwrap();
    /// # let policy = Policy::default().pairs;
    /// # let contract = r#"{"id":"e3","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#;
    /// # let flag = r#"{"id":"e5","type":"flag_raised","at":"2024-02-03T08:00:00Z","flag":"fl-1","reporter":"f-1","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#;
    /// let other = r#"{"id":"e8","type":"contract_started","at":"2024-01-06T08:00:00Z","contract":"k-2","client":"c-2","freelancer":"f-1","currency":"USD","kind":"fixed"}"#;
    /// let book = book_of(&[other, contract, flag]);
    /// let t = at("2024-02-10T00:00:00Z");
    /// assert_eq!(book.reports_for_account(&policy, "f-1", t).len(), 2); // with c-1 and with c-2
    /// let for_c2 = book.reports_for_account(&policy, "c-2", t);
    /// assert_eq!((for_c2[0].freelancer.as_str(), for_c2[0].level), ("f-1", Level::None));
    /// assert!(book.reports_for_account(&policy, "nobody", t).is_empty());
    /// ```
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
