//! Compaction (`docs/retention.md`, stage 2): the book forgets what no `T` at or after a
//! boundary `B` needs, and stores what it found before `B`.
//!
//! Per account opened before `B`: the instances of the one-account rules whose latest event is
//! before `B` are stored ([`Found`]); located logins before `C` are dropped but for the last
//! `foreign_majority_window_logins` (the carry: `foreign_majority`'s window, and the login before
//! the first kept one for `impossible_travel`), counted for `new_country`; payout changes
//! before `B` are dropped. Accounts not opened before `B` keep every located login and payout:
//! their home country, which every location rule reads, may still be set or moved earlier.
//! Per device: the links whose first moment is before `B` are stored and uses before `C`
//! dropped. Hidden logins before `C` are dropped everywhere (they only feed device uses).
//!
//! `C` is midnight UTC at or before `B` minus the longest lookback of the rules (the
//! `new_country` lookback and the shared-device window): every instance with a latest event at
//! or after `B` reads nothing older than `C` but the carry, so the book stays exact at every
//! `T >= B`. `C` falls on a day so that the day buckets of device uses and hidden logins are
//! kept or dropped whole: a login folded later finds the same bucket it would have found.
//!
//! The result is a function of the set of events and `B`, whatever was compacted before: an
//! event at or after `B` cannot change a stored instance (its events are all before `B`), and
//! events before `B` are refused by the ledger ([`AccountBook::is_before_horizon`]), which
//! rebuilds instead.

use std::ops::ControlFlow;

use riskledger_events::{Body, Country, Event, Timestamp};

use super::devices::new_links;
use super::report::{Signal, SignalKind};
use super::rules::{self, PayoutAfterNewDevice, Travel};
use super::state::{until, AccountState, CarriedLogin, DeviceState, Found, Horizon, LocatedLogin};
use super::AccountBook;
use crate::parallel::for_each_on_two_threads;
use crate::policy::AccountPolicy;
use crate::shrink_if_sparse;
use crate::Level;

impl AccountBook {
    /// Compacts the book at `boundary` (`B`): afterwards it answers exactly at every `T >= B`,
    /// and holds per account and device only what `docs/retention.md` lists. Idempotent, and a
    /// boundary at or before the current one changes nothing.
    ///
    /// ```
    /// # use riskledger_events::{json::parse_line, Timestamp};
    /// # use riskledger_projections::{accounts::*, Level, Policy};
    /// # let at = |t: &str| Timestamp::parse_rfc3339(t).unwrap();
    /// # let policy = Policy::default().accounts;
    /// let lines = [
    ///     r#"{"id":"o","type":"account_opened","at":"2024-01-01T00:00:00Z","account":"f-1","role":"freelancer","country":"PH"}"#,
    ///     r#"{"id":"l1","type":"login","at":"2024-03-01T09:00:00Z","account":"f-1","device":"d-1","ip":"203.0.113.9","lat":14.6,"lon":120.98,"country":"PH"}"#,
    ///     r#"{"id":"l2","type":"login","at":"2024-03-01T10:00:00Z","account":"f-1","device":"d-1","ip":"203.0.113.9","lat":51.5,"lon":-0.12,"country":"GB"}"#,
    /// ];
    /// let mut book = AccountBook::new();
    /// for (n, line) in lines.iter().enumerate() {
    ///     book.apply(&parse_line(n as u64 + 1, line)?);
    /// }
    /// let exact = book.report(&policy, "f-1", at("2024-09-01T00:00:00Z"));
    /// book.compact(&policy, at("2024-08-01T00:00:00Z"));
    /// assert_eq!(book.horizon(), Some(at("2024-08-01T00:00:00Z")));
    /// // The flight from Manila to London in an hour is stored; the answer is unchanged.
    /// assert_eq!(book.report(&policy, "f-1", at("2024-09-01T00:00:00Z")), exact);
    /// assert_eq!(exact.unwrap().signals[0].kind, SignalKind::ImpossibleTravel);
    /// # Ok::<(), riskledger_events::json::LineError>(())
    /// ```
    pub fn compact(&mut self, policy: &AccountPolicy, boundary: Timestamp) {
        let boundary_at = boundary.as_micros();
        let since_at = match self.horizon {
            Some(horizon) if boundary_at <= horizon.boundary_at => return,
            Some(horizon) => horizon.boundary_at,
            None => i64::MIN,
        };
        let horizon = Horizon {
            boundary_at,
            kept_from_at: kept_from_at(policy, boundary_at),
        };
        for_each_on_two_threads(self.accounts.chunks_mut(), |account| {
            compact_account(policy, account, since_at, horizon)
        });
        let window = Self::window_micros(policy);
        for_each_on_two_threads(self.devices.chunks_mut(), |device| {
            compact_device(device, window, since_at, horizon)
        });
        self.horizon = Some(horizon);
    }

    /// The boundary of the last compaction: the book answers exactly at `T` at or after it
    /// (`None`: never compacted, exact at every `T`).
    ///
    /// ```
    /// # use riskledger_events::Timestamp;
    /// # use riskledger_projections::{accounts::*, Policy};
    /// let mut book = AccountBook::new();
    /// assert_eq!(book.horizon(), None);
    /// let boundary = Timestamp::parse_rfc3339("2024-08-01T00:00:00Z").unwrap();
    /// book.compact(&Policy::default().accounts, boundary);
    /// assert_eq!(book.horizon(), Some(boundary));
    /// ```
    pub fn horizon(&self) -> Option<Timestamp> {
        self.horizon.map(|horizon| Timestamp(horizon.boundary_at))
    }

    /// Whether `event` is of this section and older than the boundary: folding it needs
    /// history the book no longer holds, so [`apply`](AccountBook::apply) would fold it
    /// inexactly. The ledger rebuilds its books from the log instead.
    ///
    /// ```
    /// # use riskledger_events::{json::parse_line, Timestamp};
    /// # use riskledger_projections::{accounts::*, Policy};
    /// let mut book = AccountBook::new();
    /// book.compact(&Policy::default().accounts, Timestamp::parse_rfc3339("2024-08-01T00:00:00Z").unwrap());
    /// let late = parse_line(1, r#"{"id":"l1","type":"login","at":"2024-07-31T23:00:00Z","account":"f-1","device":"d-1","ip":"203.0.113.9","lat":14.6,"lon":120.98,"country":"PH"}"#)?;
    /// let payment = parse_line(2, r#"{"id":"p1","type":"payment","at":"2024-07-01T00:00:00Z","contract":"k-1","amount_minor":100,"currency":"USD"}"#)?;
    /// assert!(book.is_before_horizon(&late));
    /// assert!(!book.is_before_horizon(&payment)); // not an event of this section
    /// # Ok::<(), riskledger_events::json::LineError>(())
    /// ```
    pub fn is_before_horizon(&self, event: &Event) -> bool {
        let of_this_section = matches!(
            event.body,
            Body::AccountOpened { .. } | Body::Login { .. } | Body::PayoutMethodChanged { .. }
        );
        of_this_section
            && self
                .horizon
                .is_some_and(|horizon| event.at.as_micros() < horizon.boundary_at)
    }

    /// Before which time `account`'s instances are stored rather than computed: the boundary
    /// for an account compacted there, the start of time for one kept whole.
    pub(super) fn stored_before(&self, account: usize) -> i64 {
        match (self.horizon, self.accounts.get(account)) {
            (Some(horizon), Some(state)) if is_compacted(state, horizon) => horizon.boundary_at,
            _ => i64::MIN,
        }
    }

    /// Before which time devices' links are stored rather than computed.
    pub(super) fn links_stored_before(&self) -> i64 {
        self.horizon.map_or(i64::MIN, |horizon| horizon.boundary_at)
    }

    /// The signal of a stored instance, as the rule rendered it when its events were kept.
    pub(super) fn found_signal(
        &self,
        policy: &AccountPolicy,
        account: &AccountState,
        found: &Found,
        home: Option<Country>,
    ) -> Signal {
        match found {
            Found::ImpossibleTravel { from, to } => Travel::new(policy, from, to).signal(),
            Found::NewCountry {
                login,
                earlier_logins,
                previous,
            } => {
                let earlier_logins = usize::try_from(*earlier_logins).unwrap_or(usize::MAX);
                rules::new_country_signal(policy, login, earlier_logins, previous, home)
            }
            Found::PayoutAfterNewDevice { device, payout } => {
                let first_device = first_device(account);
                PayoutAfterNewDevice::new(first_device, device, payout, home)
                    .signal(|d| self.device_name(d))
            }
        }
    }
}

impl Found {
    /// The time of its latest event.
    pub fn at(&self) -> i64 {
        self.order().1
    }

    /// What it adds to the account's level.
    pub fn kind_and_level(&self, home: Option<Country>) -> (SignalKind, Level) {
        match self {
            Found::ImpossibleTravel { .. } => (SignalKind::ImpossibleTravel, Level::High),
            Found::NewCountry { .. } => (SignalKind::NewCountry, Level::Low),
            Found::PayoutAfterNewDevice { payout, .. } => (
                SignalKind::PayoutAfterNewDevice,
                rules::payout_level(payout, home),
            ),
        }
    }
}

fn first_device(account: &AccountState) -> usize {
    account
        .first_login()
        .map_or(usize::MAX, |first| first.device)
}

/// `C` for boundary `B`: midnight UTC at or before `B` minus the longest lookback.
fn kept_from_at(policy: &AccountPolicy, boundary_at: i64) -> i64 {
    let lookback_days = policy
        .new_country_lookback_days
        .max(policy.shared_device_window_days)
        .max(0);
    let day = Timestamp::MICROS_PER_DAY;
    let earliest_needed = boundary_at.saturating_sub(lookback_days.saturating_mul(day));
    earliest_needed.div_euclid(day).saturating_mul(day)
}

/// Accounts opened before the boundary are compacted; the others are kept whole.
fn is_compacted(account: &AccountState, horizon: Horizon) -> bool {
    account
        .opened
        .as_ref()
        .is_some_and(|opened| opened.at < horizon.boundary_at)
}

fn compact_account(
    policy: &AccountPolicy,
    account: &mut AccountState,
    since_at: i64,
    horizon: Horizon,
) {
    let kept_from_at = horizon.kept_from_at;
    if !account.rare().hidden.is_empty() {
        drop_before(&mut account.rare_mut().hidden, |login| {
            login.at < kept_from_at
        });
        account.tidy();
    }
    if !is_compacted(account, horizon) {
        return;
    }
    // Compacted at the previous boundary already: its instances before it are stored.
    let was_compacted = account
        .opened
        .as_ref()
        .is_some_and(|opened| opened.at < since_at);
    let found_from_at = if was_compacted { since_at } else { i64::MIN };
    let found = found_between(policy, account, found_from_at, horizon.boundary_at);
    if !found.is_empty() {
        let stored = &mut account.rare_mut().found;
        stored.extend(found);
        stored.sort_by(|a, b| a.order().cmp(&b.order()));
    }
    carry_before(
        account,
        kept_from_at,
        policy.foreign_majority_window_logins.max(1),
    );
    if !account.rare().payouts.is_empty() {
        drop_before(&mut account.rare_mut().payouts, |payout| {
            payout.at < horizon.boundary_at
        });
    }
    account.tidy();
}

/// Keeps the last `carry` located logins before `C`: the last one whole in `located`
/// (`impossible_travel` pairs it with the first from `C` on), the others slimmed in `carried`
/// (`foreign_majority` reads their countries and ids); counts the rest as dropped.
fn carry_before(account: &mut AccountState, kept_from_at: i64, carry: usize) {
    let before_kept = account.located.partition_point(|l| l.at < kept_from_at);
    if before_kept < 2 {
        return;
    }
    let AccountState { located, .. } = account;
    let slimmed: Vec<CarriedLogin> = located
        .drain(..before_kept - 1)
        .map(CarriedLogin::from)
        .collect();
    // The first login left has no predecessor in the list any more.
    located[0].half_angle_to_previous = 0.0;
    shrink_if_sparse(located);
    let rare = account.rare_mut();
    rare.carried.extend(slimmed);
    let dropped = rare.carried.len().saturating_sub(carry - 1);
    if dropped > 0 {
        rare.carried.drain(..dropped);
        rare.dropped_located = rare.dropped_located.saturating_add(dropped as u64);
    }
    shrink_if_sparse(&mut rare.carried);
}

/// The instances of the one-account rules whose latest event is in `[from_at, to_at)`. Reads
/// the located logins from `from_at` on (and the lookback before it), not the whole list: a
/// ledger compacts every account each day of event time.
fn found_between(
    policy: &AccountPolicy,
    account: &AccountState,
    from_at: i64,
    to_at: i64,
) -> Vec<Found> {
    let until_at = to_at.saturating_sub(1);
    let in_range = |at: i64| at >= from_at && at < to_at;
    let home = account.opened.as_ref().map(|opened| opened.country);
    let located: &[LocatedLogin] = until(&account.located, until_at);
    // A pair whose later login is at or after `from_at` starts one login before it.
    let first_later = located.partition_point(|login| login.at < from_at);
    let pairs_from = &located[first_later.saturating_sub(1)..];
    let mut found: Vec<Found> = rules::impossible_travel(policy, pairs_from)
        .filter(|travel| in_range(travel.to.at))
        .map(|travel| Found::ImpossibleTravel {
            from: travel.from.clone(),
            to: travel.to.clone(),
        })
        .collect();
    // `new_country` at a login reads the lookback before it and the count of all earlier ones.
    let lookback_micros = policy
        .new_country_lookback_days
        .max(0)
        .saturating_mul(Timestamp::MICROS_PER_DAY);
    let window_from =
        located.partition_point(|login| login.at < from_at.saturating_sub(lookback_micros));
    let earlier = account
        .logins_before_located()
        .saturating_add(window_from as u64);
    rules::new_country(
        policy,
        &located[window_from..],
        earlier,
        home,
        |login, earlier, previous| {
            if in_range(login.at) {
                found.push(Found::NewCountry {
                    login: login.clone(),
                    earlier_logins: earlier as u64,
                    previous: previous.sorted(),
                });
            }
            ControlFlow::Continue(())
        },
    );
    found.extend(
        rules::payout_after_new_device(policy, account, until_at, home)
            .filter(|payout| in_range(payout.payout.at))
            .map(|payout| Found::PayoutAfterNewDevice {
                device: payout.device.clone(),
                payout: payout.payout.clone(),
            }),
    );
    found
}

fn compact_device(device: &mut DeviceState, window_micros: i64, since_at: i64, horizon: Horizon) {
    if device.uses().is_empty() {
        return;
    }
    let uses = until(device.uses(), horizon.boundary_at.saturating_sub(1));
    let found: Vec<_> = new_links(device, uses, window_micros, since_at).collect();
    let shared = device.shared_mut();
    if !found.is_empty() {
        shared.links.extend(found);
        shared.links.sort_unstable_by_key(|link| link.accounts);
    }
    drop_before(&mut shared.uses, |u| u.at < horizon.kept_from_at);
    device.tidy();
}

/// Drops the items before a time from a list sorted by time.
fn drop_before<T>(list: &mut Vec<T>, is_before: impl Fn(&T) -> bool) {
    let before = list.partition_point(is_before);
    if before > 0 {
        list.drain(..before);
        shrink_if_sparse(list);
    }
}
