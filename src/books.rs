//! Every projection, folded from the same events: the state a ledger keeps current.

use riskledger_events::{Event, Timestamp};
use riskledger_projections::accounts::AccountBook;
use riskledger_projections::pairs::PairBook;
use riskledger_projections::policy::{AccountPolicy, PairPolicy};
use riskledger_projections::{Level, Policy};

const STATE_DIGEST_CONTEXT: &str = "riskledger 2026-11-22 state digest v3";

/// The projections of a set of events. The fold is order-independent: the same events in any
/// arrival order give the same books and the same digest.
///
/// ```
/// # use riskledger::{events::json::parse_line, AppendOptions, Ledger, LedgerOptions, Level, Policy, Subject};
/// # let dir = tempfile::tempdir()?;
/// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
/// # let contract = line(1, r#"{"id":"k","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#);
/// # let flag = line(2, r#"{"id":"f","type":"flag_raised","at":"2025-02-01T08:00:00Z","flag":"fl-1","reporter":"system","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#);
/// let mut books = riskledger::Books::new();
/// books.apply(&contract);
/// books.apply(&flag);
/// let at = books.latest_event_at().unwrap();
/// assert_eq!(books.pairs().report(&Policy::default().pairs, "c-1", "f-1", at).unwrap().level, Level::Medium);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Books {
    pub(crate) pairs: PairBook,
    pub(crate) accounts: AccountBook,
    pub(crate) latest_at: Option<Timestamp>,
    pub(crate) events: u64,
}

impl Books {
    /// Empty books, to [`apply`](Books::apply) events to (a ledger keeps its own; this is for
    /// folding events without one).
    ///
    /// ```
    /// # use riskledger::{events::json::parse_line, AppendOptions, Ledger, LedgerOptions, Level, Policy, Subject};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let contract = line(1, r#"{"id":"k","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#);
    /// # let flag = line(2, r#"{"id":"f","type":"flag_raised","at":"2025-02-01T08:00:00Z","flag":"fl-1","reporter":"system","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#);
    /// let books = riskledger::Books::new();
    /// assert_eq!((books.events(), books.latest_event_at()), (0, None));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Folds one event into every projection.
    ///
    /// ```
    /// # use riskledger::{events::json::parse_line, AppendOptions, Ledger, LedgerOptions, Level, Policy, Subject};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let contract = line(1, r#"{"id":"k","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#);
    /// # let flag = line(2, r#"{"id":"f","type":"flag_raised","at":"2025-02-01T08:00:00Z","flag":"fl-1","reporter":"system","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#);
    /// let (mut forward, mut backward) = (riskledger::Books::new(), riskledger::Books::new());
    /// forward.apply(&contract);
    /// forward.apply(&flag);
    /// backward.apply(&flag); // arrival order does not matter
    /// backward.apply(&contract);
    /// assert_eq!(forward.digest(&Policy::default()), backward.digest(&Policy::default()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn apply(&mut self, event: &Event) {
        self.pairs.apply(event);
        self.accounts.apply(event);
        self.count(event);
    }

    /// [`Books::apply`] on each of `events`, without the pair fold, which a rebuild runs on
    /// another thread (`rebuild.rs`) and hands back with [`Books::with_pairs`].
    pub(crate) fn apply_all_but_pairs(&mut self, events: &[Event]) {
        self.accounts.apply_all(events);
        events.iter().for_each(|event| self.count(event));
    }

    fn count(&mut self, event: &Event) {
        self.latest_at = Some(self.latest_at.map_or(event.at, |t| t.max(event.at)));
        self.events += 1;
    }

    /// These books with `pairs` as their pair fold: the pair fold of the same events, in the
    /// same order, that [`Books::apply_all_but_pairs`] saw.
    pub(crate) fn with_pairs(self, pairs: PairBook) -> Books {
        Books { pairs, ..self }
    }

    /// The latest event time folded: the default evaluation time `T`.
    ///
    /// ```
    /// # use riskledger::{events::json::parse_line, AppendOptions, Ledger, LedgerOptions, Level, Policy, Subject};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let contract = line(1, r#"{"id":"k","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#);
    /// # let flag = line(2, r#"{"id":"f","type":"flag_raised","at":"2025-02-01T08:00:00Z","flag":"fl-1","reporter":"system","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#);
    /// let mut books = riskledger::Books::new();
    /// books.apply(&flag);
    /// books.apply(&contract); // earlier, but arrived later
    /// assert_eq!(books.latest_event_at(), Some(flag.at));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn latest_event_at(&self) -> Option<Timestamp> {
        self.latest_at
    }

    /// How many events were folded.
    ///
    /// ```
    /// # use riskledger::{events::json::parse_line, AppendOptions, Ledger, LedgerOptions, Level, Policy, Subject};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let contract = line(1, r#"{"id":"k","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#);
    /// # let flag = line(2, r#"{"id":"f","type":"flag_raised","at":"2025-02-01T08:00:00Z","flag":"fl-1","reporter":"system","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#);
    /// let mut books = riskledger::Books::new();
    /// books.apply(&contract);
    /// assert_eq!(books.events(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn events(&self) -> u64 {
        self.events
    }

    /// The pair projection (section 1): evaluate pairs at any `T` with its `report`, `level`
    /// and `reports`.
    ///
    /// ```
    /// # use riskledger::{events::json::parse_line, AppendOptions, Ledger, LedgerOptions, Level, Policy, Subject};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let contract = line(1, r#"{"id":"k","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#);
    /// # let flag = line(2, r#"{"id":"f","type":"flag_raised","at":"2025-02-01T08:00:00Z","flag":"fl-1","reporter":"system","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#);
    /// let mut books = riskledger::Books::new();
    /// books.apply(&contract);
    /// assert_eq!(books.pairs().len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn pairs(&self) -> &PairBook {
        &self.pairs
    }

    /// The account projection (section 2): evaluate accounts at any `T` with its `report`,
    /// `level`, `cluster` and `reports`.
    ///
    /// ```
    /// # use riskledger::{events::json::parse_line, AppendOptions, Ledger, LedgerOptions, Level, Policy, Subject};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let contract = line(1, r#"{"id":"k","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#);
    /// # let flag = line(2, r#"{"id":"f","type":"flag_raised","at":"2025-02-01T08:00:00Z","flag":"fl-1","reporter":"system","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#);
    /// let mut books = riskledger::Books::new();
    /// books.apply(&line(3, r#"{"id":"a","type":"account_opened","at":"2025-01-01T00:00:00Z","account":"c-1","role":"client","country":"US"}"#));
    /// assert_eq!(books.accounts().len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn accounts(&self) -> &AccountBook {
        &self.accounts
    }

    /// A digest of the whole state under `policy`: BLAKE3 over the policy digest, each
    /// projection's canonical encoding, the latest event time and the event count. Equal for a
    /// full replay, an incremental catch-up and a snapshot plus tail, on any machine.
    ///
    /// ```
    /// # use riskledger::{events::json::parse_line, AppendOptions, Ledger, LedgerOptions, Level, Policy, Subject};
    /// # let dir = tempfile::tempdir()?;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let contract = line(1, r#"{"id":"k","type":"contract_started","at":"2025-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#);
    /// # let flag = line(2, r#"{"id":"f","type":"flag_raised","at":"2025-02-01T08:00:00Z","flag":"fl-1","reporter":"system","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#);
    /// let mut books = riskledger::Books::new();
    /// books.apply(&contract);
    /// let digest = books.digest(&Policy::default());
    /// let mut other_policy = Policy::default();
    /// other_policy.pairs.fee_basis_points = 1000;
    /// assert_ne!(digest, books.digest(&other_policy)); // the digest names the policy
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
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

// The retention horizon (`docs/retention.md`).
impl Books {
    /// Compacts the books at the boundary the policy sets for the latest event: afterwards
    /// they answer exactly at every `T` from [`Books::horizon`] on, and hold no more than
    /// `docs/retention.md` lists. A ledger keeps its books compacted after every batch, and a
    /// replay compacts before its digest, so that both describe the same state.
    ///
    /// ```
    /// # use riskledger::{events::json::parse_line, Policy};
    /// # use riskledger::events::Timestamp;
    /// let mut books = riskledger::Books::new();
    /// books.apply(&parse_line(1, r#"{"id":"a","type":"account_opened","at":"2025-01-01T00:00:00Z","account":"c-1","role":"client","country":"US"}"#)?);
    /// books.apply(&parse_line(2, r#"{"id":"b","type":"account_opened","at":"2025-03-31T17:45:00Z","account":"c-2","role":"client","country":"US"}"#)?);
    /// books.compact(&Policy::default());
    /// assert_eq!(books.horizon(), Timestamp::parse_rfc3339("2025-03-01T00:00:00Z").ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn compact(&mut self, policy: &Policy) {
        if let Some(latest) = self.latest_at {
            let boundary = policy.retention.boundary(latest);
            self.accounts.compact(&policy.accounts, boundary);
            self.pairs.compact(&policy.pairs, boundary);
        }
    }

    /// The earliest `T` these books answer for exactly (`None`: any `T`). A ledger answers
    /// earlier ones from its log.
    ///
    /// ```
    /// assert_eq!(riskledger::Books::new().horizon(), None);
    /// ```
    pub fn horizon(&self) -> Option<Timestamp> {
        self.accounts.horizon().max(self.pairs.horizon())
    }

    /// Whether folding `event` needs history the books no longer hold (an account event older
    /// than the horizon, a payment older than the horizon minus the trailing year):
    /// [`Books::apply`] would fold it inexactly. A ledger rebuilds its books
    /// from the log instead.
    ///
    /// ```
    /// # use riskledger::{events::json::parse_line, Policy};
    /// let mut books = riskledger::Books::new();
    /// assert!(!books.is_before_horizon(&parse_line(1, r#"{"id":"a","type":"account_opened","at":"2025-01-01T00:00:00Z","account":"c-1","role":"client","country":"US"}"#)?));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_before_horizon(&self, event: &Event) -> bool {
        self.accounts.is_before_horizon(event) || self.pairs.is_before_horizon(event)
    }

    /// Whether an answer at `at` comes from these books (or from the log).
    pub(crate) fn answers_at(&self, at: Timestamp) -> bool {
        self.horizon().is_none_or(|horizon| at >= horizon)
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
            .level(policy, client, freelancer, at)
            .unwrap_or(Level::None)
    }

    /// The level of the account at `at` (`none` when it does not exist at `at`).
    pub(crate) fn account_level(
        &self,
        policy: &AccountPolicy,
        account: &str,
        at: Timestamp,
    ) -> Level {
        self.accounts
            .level(policy, account, at)
            .unwrap_or(Level::None)
    }

    /// `account` and every account shared devices link it to at `at`, directly or not
    /// (`account` alone when it does not exist at `at`).
    pub(crate) fn account_cluster(
        &self,
        policy: &AccountPolicy,
        account: &str,
        at: Timestamp,
    ) -> Vec<String> {
        let cluster = self.accounts.cluster(policy, account, at);
        if cluster.is_empty() {
            vec![account.to_owned()]
        } else {
            cluster
        }
    }
}
