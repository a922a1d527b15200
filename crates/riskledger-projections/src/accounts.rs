//! Leased, shared or sold accounts (`spec/policy.md`, section 2), as a pure fold.
//!
//! [`AccountBook::apply`] takes events in any order and keeps, per account, its located
//! logins, devices and payout changes sorted by event time (id as the tiebreak), and per
//! device a compacted list of its logins. [`AccountBook::report`] and
//! [`AccountBook::reports`] evaluate the rules at any `T` from that state alone, counting only
//! events with `at <= T`. Every choice the spec leaves open is in `docs/policy-accounts.md`.

mod canonical;
mod compact;
mod devices;
mod id;
mod place;
mod report;
mod rules;
mod state;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::ControlFlow;

use riskledger_events::{Body, Country, Event, Network, Role, Timestamp};
use serde::Deserialize;

pub use report::{
    AccountReport, Figures, ForeignMajorityFigures, NewCountryFigures, PayoutFigures,
    SharedDeviceFigures, Signal, SignalKind, TravelFigures,
};

use canonical::Snapshot;
pub use canonical::{AccountsHead, AccountsTail, Parts};
use devices::{device_links, Clusters, Link};
use report::LevelSoFar;
use state::{
    insert_located, insert_sorted, keep_earliest, keep_extremes, until, AccountState, DeviceState,
    EventId, Found, HiddenLogin, Horizon, LocatedLogin, Opened, Payout, Place,
};

use crate::chunked::Chunked;
use crate::keys::{find, find_or_add, name_hash, SlotIndex};
use crate::parallel::ITEMS_PER_RUN;
use crate::policy::AccountPolicy;
use crate::Level;

/// Events [`AccountBook::apply_all`] prefetches for before it folds them: enough for the misses
/// of many logins to overlap, few enough that what they bring in (six lines a login, besides
/// the index's) is still in the core's cache when the fold comes to it.
const READ_AHEAD_EVENTS: usize = 256;

/// The fold state of section 2. Exact at every `T` until it is [compacted](AccountBook::compact);
/// afterwards exact at every `T` from its [horizon](AccountBook::horizon) on, and not before it
/// (a ledger answers earlier `T`s from its log). Its serde form (for snapshots) and its digest are canonical:
/// accounts and devices sorted by id, so the same set of events gives the same bytes whatever
/// order they arrived in.
///
/// ```
/// # use riskledger_events::{json::parse_line, Timestamp};
/// # use riskledger_projections::{accounts::*, Level, Policy};
/// # fn book_of<S: AsRef<str>>(lines: &[S]) -> AccountBook {
/// #     let mut book = AccountBook::new();
/// #     lines.iter().enumerate().for_each(|(n, l)| book.apply(&parse_line(n as u64 + 1, l.as_ref()).unwrap()));
/// #     book
/// # }
/// # let at = |t: &str| Timestamp::parse_rfc3339(t).unwrap();
/// # let policy = Policy::default().accounts;
/// # let opened = r#"{"id":"o","type":"account_opened","at":"2024-01-03T11:00:00Z","account":"f-1","role":"freelancer","country":"PH"}"#.to_owned();
/// # let opened_client = r#"{"id":"oc","type":"account_opened","at":"2024-01-02T10:00:00Z","account":"c-1","role":"client","country":"US"}"#.to_owned();
/// # let login = |id: &str, account: &str, when: &str, device: &str, country: &str, (lat, lon): (f64, f64)| format!(r#"{{"id":"{id}","type":"login","at":"2024-{when}:00Z","account":"{account}","device":"{device}","ip":"203.0.113.9","lat":{lat},"lon":{lon},"country":"{country}"}}"#);
/// # let (manila, london, tokyo) = ((14.6, 120.98), (51.5074, -0.1278), (35.68, 139.69));
/// let book = book_of(&[
///     opened, opened_client,
///     login("l1", "f-1", "03-01T09:00", "d-77", "PH", manila),
///     login("l2", "c-1", "03-05T09:00", "d-77", "PH", manila), // the same device, 4 days later
/// ]);
/// let report = book.report(&policy, "f-1", at("2024-03-06T00:00:00Z")).unwrap();
/// assert_eq!((report.level, report.signals[0].kind), (Level::High, SignalKind::SharedDevice));
/// assert_eq!(book.level(&policy, "f-1", at("2024-03-02T00:00:00Z")), Some(Level::None)); // before c-1's login
/// ```
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(from = "Snapshot")]
pub struct AccountBook {
    /// In chunks (`chunked.rs`): a million accounts grow, and are joined from a snapshot's
    /// halves, without a second copy of the list.
    accounts: Chunked<AccountState>,
    /// Account names to slots, the name compared in the account's record.
    account_index: SlotIndex,
    devices: Chunked<DeviceState>,
    /// Device names to slots, the name compared in the device's record.
    device_index: SlotIndex,
    /// Set once the book is compacted (`compact.rs`): it then answers exactly at `T` at or
    /// after the boundary only.
    horizon: Option<Horizon>,
}

/// A login, as `apply` takes it apart.
struct LoginFields<'a> {
    account: &'a str,
    device: &'a str,
    lat: f64,
    lon: f64,
    country: Country,
    accuracy_km: f64,
    network: Option<Network>,
}

/// The accounts a cluster holds, summed up for the `shared_device` level.
#[derive(Clone, Copy, Debug, Default)]
struct ClusterInfo {
    size: usize,
    joins_client_and_freelancer: bool,
}

/// The shared-device links of the accounts being reported, with their clusters.
#[derive(Default)]
struct SharedDevices {
    /// Per account: (device, link) for every link it is part of.
    links: BTreeMap<usize, Vec<(usize, Link)>>,
    /// Per account in a cluster of two or more.
    cluster: HashMap<usize, ClusterInfo>,
}

impl AccountBook {
    /// An empty book, to [`apply`](AccountBook::apply) events to.
    ///
    /// ```
    /// # use riskledger_events::{json::parse_line, Timestamp};
    /// # use riskledger_projections::{accounts::*, Level, Policy};
    /// # fn book_of<S: AsRef<str>>(lines: &[S]) -> AccountBook {
    /// #     let mut book = AccountBook::new();
    /// #     lines.iter().enumerate().for_each(|(n, l)| book.apply(&parse_line(n as u64 + 1, l.as_ref()).unwrap()));
    /// #     book
    /// # }
    /// # let at = |t: &str| Timestamp::parse_rfc3339(t).unwrap();
    /// # let policy = Policy::default().accounts;
    /// # let opened = r#"{"id":"o","type":"account_opened","at":"2024-01-03T11:00:00Z","account":"f-1","role":"freelancer","country":"PH"}"#.to_owned();
    /// # let opened_client = r#"{"id":"oc","type":"account_opened","at":"2024-01-02T10:00:00Z","account":"c-1","role":"client","country":"US"}"#.to_owned();
    /// # let login = |id: &str, account: &str, when: &str, device: &str, country: &str, (lat, lon): (f64, f64)| format!(r#"{{"id":"{id}","type":"login","at":"2024-{when}:00Z","account":"{account}","device":"{device}","ip":"203.0.113.9","lat":{lat},"lon":{lon},"country":"{country}"}}"#);
    /// # let (manila, london, tokyo) = ((14.6, 120.98), (51.5074, -0.1278), (35.68, 139.69));
    /// let book = AccountBook::new();
    /// assert!(book.is_empty());
    /// assert_eq!(book.report(&policy, "f-1", at("2024-03-01T00:00:00Z")), None);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Accounts known (with any event, at any time).
    ///
    /// ```
    /// # use riskledger_events::{json::parse_line, Timestamp};
    /// # use riskledger_projections::{accounts::*, Level, Policy};
    /// # fn book_of<S: AsRef<str>>(lines: &[S]) -> AccountBook {
    /// #     let mut book = AccountBook::new();
    /// #     lines.iter().enumerate().for_each(|(n, l)| book.apply(&parse_line(n as u64 + 1, l.as_ref()).unwrap()));
    /// #     book
    /// # }
    /// # let at = |t: &str| Timestamp::parse_rfc3339(t).unwrap();
    /// # let policy = Policy::default().accounts;
    /// # let opened = r#"{"id":"o","type":"account_opened","at":"2024-01-03T11:00:00Z","account":"f-1","role":"freelancer","country":"PH"}"#.to_owned();
    /// # let opened_client = r#"{"id":"oc","type":"account_opened","at":"2024-01-02T10:00:00Z","account":"c-1","role":"client","country":"US"}"#.to_owned();
    /// # let login = |id: &str, account: &str, when: &str, device: &str, country: &str, (lat, lon): (f64, f64)| format!(r#"{{"id":"{id}","type":"login","at":"2024-{when}:00Z","account":"{account}","device":"{device}","ip":"203.0.113.9","lat":{lat},"lon":{lon},"country":"{country}"}}"#);
    /// # let (manila, london, tokyo) = ((14.6, 120.98), (51.5074, -0.1278), (35.68, 139.69));
    /// let book = book_of(&[
    ///     opened, opened_client,
    ///     login("l1", "f-1", "03-01T09:00", "d-77", "PH", manila),
    ///     login("l2", "c-1", "03-05T09:00", "d-77", "PH", manila), // the same device, 4 days later
    /// ]);
    /// assert_eq!(book.len(), 2); // f-1 and c-1
    /// ```
    pub fn len(&self) -> usize {
        self.accounts.len()
    }

    /// Whether no account is known yet: `len() == 0`.
    ///
    /// ```
    /// # use riskledger_events::{json::parse_line, Timestamp};
    /// # use riskledger_projections::{accounts::*, Level, Policy};
    /// # fn book_of<S: AsRef<str>>(lines: &[S]) -> AccountBook {
    /// #     let mut book = AccountBook::new();
    /// #     lines.iter().enumerate().for_each(|(n, l)| book.apply(&parse_line(n as u64 + 1, l.as_ref()).unwrap()));
    /// #     book
    /// # }
    /// # let at = |t: &str| Timestamp::parse_rfc3339(t).unwrap();
    /// # let policy = Policy::default().accounts;
    /// # let opened = r#"{"id":"o","type":"account_opened","at":"2024-01-03T11:00:00Z","account":"f-1","role":"freelancer","country":"PH"}"#.to_owned();
    /// # let opened_client = r#"{"id":"oc","type":"account_opened","at":"2024-01-02T10:00:00Z","account":"c-1","role":"client","country":"US"}"#.to_owned();
    /// # let login = |id: &str, account: &str, when: &str, device: &str, country: &str, (lat, lon): (f64, f64)| format!(r#"{{"id":"{id}","type":"login","at":"2024-{when}:00Z","account":"{account}","device":"{device}","ip":"203.0.113.9","lat":{lat},"lon":{lon},"country":"{country}"}}"#);
    /// # let (manila, london, tokyo) = ((14.6, 120.98), (51.5074, -0.1278), (35.68, 139.69));
    /// assert!(book_of::<&str>(&[]).is_empty());
    /// assert!(!book_of(&[opened]).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }

    /// Folds one event in. Events may come in any order and more than once: only event time
    /// (then id) places them. Events of other sections are ignored. Once the book is
    /// [compacted](AccountBook::compact), an event of this section older than its horizon is
    /// folded inexactly: check [`is_before_horizon`](AccountBook::is_before_horizon) and
    /// rebuild instead, as the ledger does.
    ///
    /// ```
    /// # use riskledger_events::{json::parse_line, Timestamp};
    /// # use riskledger_projections::{accounts::*, Level, Policy};
    /// # fn book_of<S: AsRef<str>>(lines: &[S]) -> AccountBook {
    /// #     let mut book = AccountBook::new();
    /// #     lines.iter().enumerate().for_each(|(n, l)| book.apply(&parse_line(n as u64 + 1, l.as_ref()).unwrap()));
    /// #     book
    /// # }
    /// # let at = |t: &str| Timestamp::parse_rfc3339(t).unwrap();
    /// # let policy = Policy::default().accounts;
    /// # let opened = r#"{"id":"o","type":"account_opened","at":"2024-01-03T11:00:00Z","account":"f-1","role":"freelancer","country":"PH"}"#.to_owned();
    /// # let opened_client = r#"{"id":"oc","type":"account_opened","at":"2024-01-02T10:00:00Z","account":"c-1","role":"client","country":"US"}"#.to_owned();
    /// # let login = |id: &str, account: &str, when: &str, device: &str, country: &str, (lat, lon): (f64, f64)| format!(r#"{{"id":"{id}","type":"login","at":"2024-{when}:00Z","account":"{account}","device":"{device}","ip":"203.0.113.9","lat":{lat},"lon":{lon},"country":"{country}"}}"#);
    /// # let (manila, london, tokyo) = ((14.6, 120.98), (51.5074, -0.1278), (35.68, 139.69));
    /// let first = parse_line(1, &login("l1", "f-1", "03-01T09:00", "d-1", "PH", manila))?;
    /// let second = parse_line(2, &login("l2", "f-1", "03-01T10:00", "d-1", "GB", london))?;
    /// let mut book = AccountBook::new();
    /// book.apply(&second); // the later login arrives first
    /// book.apply(&first);
    /// book.apply(&first); // and one arrives twice
    /// let report = book.report(&policy, "f-1", at("2024-03-02T00:00:00Z")).unwrap();
    /// assert_eq!(report.signals[0].events, ["l1", "l2"]); // in event-time order
    /// assert_eq!(report.level, Level::High);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn apply(&mut self, event: &Event) {
        let at = event.at.as_micros();
        match &event.body {
            Body::AccountOpened {
                account,
                role,
                country,
            } => {
                let opened = Opened {
                    at,
                    id: EventId::new(&event.id),
                    role: *role,
                    country: *country,
                };
                let account = self.account_slot(account);
                keep_earliest(&mut self.accounts[account].opened, opened);
            }
            Body::Login {
                account,
                device,
                lat,
                lon,
                country,
                accuracy_km,
                network,
                ..
            } => {
                let login = LoginFields {
                    account,
                    device,
                    lat: *lat,
                    lon: *lon,
                    country: *country,
                    accuracy_km: *accuracy_km,
                    network: *network,
                };
                self.apply_login(at, &event.id, login);
            }
            Body::PayoutMethodChanged {
                account,
                method,
                country,
            } => {
                let payout = Payout {
                    at,
                    id: EventId::new(&event.id),
                    method: method.as_str().into(),
                    country: *country,
                };
                let account = self.account_slot(account);
                insert_sorted(&mut self.accounts[account].rare_mut().payouts, payout);
            }
            _ => {}
        }
    }

    /// Folds `events` in, in order: the same book as [`apply`](AccountBook::apply) on each,
    /// sooner on a large book. For each run of `READ_AHEAD_EVENTS` events, what the fold will
    /// read is prefetched first (see `read_ahead`).
    ///
    /// ```
    /// # use riskledger_events::json::parse_line;
    /// # use riskledger_projections::accounts::AccountBook;
    /// let events = [
    ///     r#"{"id":"o","type":"account_opened","at":"2024-01-03T11:00:00Z","account":"f-1","role":"freelancer","country":"PH"}"#,
    ///     r#"{"id":"l1","type":"login","at":"2024-03-01T09:00:00Z","account":"f-1","device":"d-1","ip":"203.0.113.9","lat":14.6,"lon":120.98,"country":"PH"}"#,
    ///     r#"{"id":"l2","type":"login","at":"2024-03-01T10:00:00Z","account":"f-1","device":"d-1","ip":"203.0.113.9","lat":51.5,"lon":-0.12,"country":"GB"}"#,
    /// ]
    /// .iter()
    /// .enumerate()
    /// .map(|(n, line)| parse_line(n as u64 + 1, line))
    /// .collect::<Result<Vec<_>, _>>()?;
    /// let (mut one_by_one, mut all) = (AccountBook::new(), AccountBook::new());
    /// events.iter().for_each(|event| one_by_one.apply(event));
    /// all.apply_all(&events);
    /// assert!(all == one_by_one); // the same canonical bytes
    /// # Ok::<(), riskledger_events::json::LineError>(())
    /// ```
    pub fn apply_all(&mut self, events: &[Event]) {
        for run in events.chunks(READ_AHEAD_EVENTS) {
            self.read_ahead(run);
            run.iter().for_each(|event| self.apply(event));
        }
    }

    /// Asks the cache, for each login of `events`, for what its fold reads first: the
    /// account's record, the device's record, then the end of the account's located logins.
    /// In a book of a million accounts each of these is a cache miss, and folding a login
    /// waits on each in turn. Prefetches wait on nothing: the slots are the index's probable
    /// ones (the first whose hash tag matches; a rare wrong one costs a wasted prefetch), and
    /// by the second pass the records asked for first have arrived. Reads and changes nothing
    /// the fold sees: the book is the same with or without it (at a million accounts, history
    /// B of session 9, the rebuild took about 10% less CPU than with a read-ahead that loaded
    /// what it asked for, in alternating runs).
    fn read_ahead(&self, events: &[Event]) {
        let mut accounts = [u32::MAX; READ_AHEAD_EVENTS];
        for (event, account_slot) in events.iter().zip(&mut accounts) {
            if let Body::Login {
                account, device, ..
            } = &event.body
            {
                let prefetch_account = |&slot: &u32| {
                    if let Some(record) = self.accounts.get(slot as usize) {
                        prefetch(record);
                    }
                    true
                };
                if let Some(&slot) = self
                    .account_index
                    .find(name_hash(account.as_bytes()), prefetch_account)
                {
                    *account_slot = slot;
                }
                let prefetch_device = |&slot: &u32| {
                    if let Some(record) = self.devices.get(slot as usize) {
                        prefetch(record);
                    }
                    true
                };
                let _ = self
                    .device_index
                    .find(name_hash(device.as_bytes()), prefetch_device);
            }
        }
        for &slot in &accounts[..events.len()] {
            let account = self.accounts.get(slot as usize);
            if let Some(last) = account.and_then(|account| account.located.last()) {
                prefetch(last);
            }
        }
    }

    /// One login: one lookup for the account, one for the device, one append to the
    /// account's located (or non-located) logins. The device's shared-device index and the
    /// account's first logins (its very first, its first per device) are touched only when the
    /// device's record cannot tell that the login changes none of them: a new device, a shared
    /// one, a login no later than the account's first on the device.
    #[inline]
    fn apply_login(&mut self, at: i64, id: &str, login: LoginFields<'_>) {
        let account = self.account_slot(login.account);
        let id = EventId::new(id);
        let device = match self.device_named(login.device) {
            // The account signed in on this device before `at`, so also on some device: this
            // login is neither its first on the device nor its first at all.
            Some(device) if self.devices[device].is_used_before_by(account, at) => device,
            found => self.record_device_use(at, &id, login.device, found, account),
        };
        let state = &mut self.accounts[account];
        // Device indexes are below `u32::MAX`: each device holds at least a name in memory.
        let device_u32 = device as u32;
        if login.network.is_some_and(Network::hides_location) {
            let hidden = HiddenLogin {
                at,
                id,
                device: device_u32,
            };
            keep_extremes(&mut state.rare_mut().hidden, hidden);
        } else {
            let located = LocatedLogin {
                at,
                id,
                place: Place::new(login.lat, login.lon, login.accuracy_km, login.country),
                device: device_u32,
                half_angle_to_previous: 0.0,
            };
            insert_located(&mut state.located, located);
        }
    }

    /// A login its device's record cannot vouch for: the device's record, the account's
    /// first use of the device and the device's copy of it are brought up to date.
    #[inline(never)]
    fn record_device_use(
        &mut self,
        at: i64,
        id: &EventId,
        name: &str,
        found: Option<usize>,
        account: usize,
    ) -> usize {
        let device = match found {
            Some(device) => device,
            None => self.new_device(name, account),
        };
        match self.devices[device].sole {
            Some(sole) if sole == account => {}
            Some(sole) => self.share_device(device, sole, at, id, account),
            None => self.devices[device].record_use(at, id, account),
        }
        self.accounts[account].record_login(at, id, device);
        self.devices[device].sole_first_at = self.sole_first_at(device);
        device
    }

    /// When the device's sole account first signed in on it (`i64::MAX` for a shared device):
    /// what [`DeviceState::sole_first_at`] copies.
    fn sole_first_at(&self, device: usize) -> i64 {
        self.devices[device]
            .sole
            .and_then(|account| self.accounts.get(account)?.first_use_of(device))
            .unwrap_or(i64::MAX)
    }

    /// The slot of the device named `name`.
    #[inline]
    fn device_named(&self, name: &str) -> Option<usize> {
        let name_of = |slot: u32| self.devices[slot as usize].name.as_bytes();
        find(&self.device_index, name.as_bytes(), name_of).map(|slot| slot as usize)
    }

    /// A second account signs in on a device: its index is built from the logins its only
    /// account so far kept, then takes the new login.
    #[cold]
    fn share_device(&mut self, device: usize, sole: usize, at: i64, id: &EventId, account: usize) {
        let state = &mut self.devices[device];
        // Uses a compacted device would have dropped are not brought back.
        let kept_from_at = self.horizon.map_or(i64::MIN, |h| h.kept_from_at);
        if let Some(owner) = self.accounts.get(sole) {
            for (owner_at, owner_id) in owner.logins_on(device) {
                if owner_at >= kept_from_at {
                    state.record_use(owner_at, owner_id, sole);
                }
            }
        }
        state.sole = None;
        state.record_use(at, id, account);
    }

    #[inline]
    fn account_slot(&mut self, name: &str) -> usize {
        let AccountBook {
            accounts,
            account_index,
            ..
        } = self;
        // Slots are below `u32::MAX`: each account holds a record of over 100 bytes.
        let new_slot = accounts.len() as u32;
        let name_of = |slot: u32| accounts[slot as usize].name.as_bytes();
        if let Some(slot) = find_or_add(account_index, name.as_bytes(), name_of, new_slot) {
            return slot as usize;
        }
        self.accounts.push(AccountState::new(name));
        new_slot as usize
    }

    /// The slot of the account named `name`.
    #[inline]
    fn account_named(&self, name: &str) -> Option<usize> {
        let name_of = |slot: u32| self.accounts[slot as usize].name.as_bytes();
        find(&self.account_index, name.as_bytes(), name_of).map(|slot| slot as usize)
    }

    /// A device not seen before, used by `account` alone; its copy of the account's first use
    /// is completed once that use is recorded.
    fn new_device(&mut self, name: &str, account: usize) -> usize {
        let AccountBook {
            devices,
            device_index,
            ..
        } = self;
        // Slots are below `u32::MAX`: each device holds a record of 56 bytes.
        let new_slot = devices.len() as u32;
        devices.push(DeviceState::new(name, account));
        let name_of = |slot: u32| devices[slot as usize].name.as_bytes();
        let found = find_or_add(device_index, name.as_bytes(), name_of, new_slot);
        debug_assert!(found.is_none(), "a new device's name is not indexed yet");
        new_slot as usize
    }

    fn device_name(&self, device: usize) -> &str {
        self.devices.get(device).map_or("", |d| d.name.as_str())
    }

    fn account_name(&self, account: usize) -> &str {
        self.accounts.get(account).map_or("", |a| a.name.as_str())
    }

    /// One account as of `at`; `None` when the account has no event at or before `at`.
    ///
    /// ```
    /// # use riskledger_events::{json::parse_line, Timestamp};
    /// # use riskledger_projections::{accounts::*, Level, Policy};
    /// # fn book_of<S: AsRef<str>>(lines: &[S]) -> AccountBook {
    /// #     let mut book = AccountBook::new();
    /// #     lines.iter().enumerate().for_each(|(n, l)| book.apply(&parse_line(n as u64 + 1, l.as_ref()).unwrap()));
    /// #     book
    /// # }
    /// # let at = |t: &str| Timestamp::parse_rfc3339(t).unwrap();
    /// # let policy = Policy::default().accounts;
    /// # let opened = r#"{"id":"o","type":"account_opened","at":"2024-01-03T11:00:00Z","account":"f-1","role":"freelancer","country":"PH"}"#.to_owned();
    /// # let opened_client = r#"{"id":"oc","type":"account_opened","at":"2024-01-02T10:00:00Z","account":"c-1","role":"client","country":"US"}"#.to_owned();
    /// # let login = |id: &str, account: &str, when: &str, device: &str, country: &str, (lat, lon): (f64, f64)| format!(r#"{{"id":"{id}","type":"login","at":"2024-{when}:00Z","account":"{account}","device":"{device}","ip":"203.0.113.9","lat":{lat},"lon":{lon},"country":"{country}"}}"#);
    /// # let (manila, london, tokyo) = ((14.6, 120.98), (51.5074, -0.1278), (35.68, 139.69));
    /// let book = book_of(&[
    ///     opened,
    ///     login("l1", "f-1", "03-01T09:00", "d-1", "PH", manila),
    ///     login("l2", "f-1", "03-01T10:00", "d-1", "GB", london),
    /// ]);
    /// let report = book.report(&policy, "f-1", at("2024-03-02T00:00:00Z")).unwrap();
    /// assert_eq!((report.level, report.signals[0].kind), (Level::High, SignalKind::ImpossibleTravel));
    /// let earlier = book.report(&policy, "f-1", at("2024-03-01T09:30:00Z")).unwrap(); // one login so far
    /// assert!(earlier.signals.is_empty());
    /// assert_eq!(book.report(&policy, "f-1", at("2024-01-01T00:00:00Z")), None); // before any event
    /// ```
    pub fn report(
        &self,
        policy: &AccountPolicy,
        account: &str,
        at: Timestamp,
    ) -> Option<AccountReport> {
        let at = at.as_micros();
        let index = self.account_named(account)?;
        if !self.accounts[index].exists_at(at) {
            return None;
        }
        let (shared, _) = self.walk_cluster(policy, index, at);
        Some(self.report_of(policy, index, at, &shared))
    }

    /// The level of one account as of `at`: exactly `report(policy, account, at).map(|r|
    /// r.level)`, from the same rule instances, without building their text and stopping as
    /// soon as the level is `high`. `None` when the account has no event at or before `at`.
    ///
    /// ```
    /// # use riskledger_events::{json::parse_line, Timestamp};
    /// # use riskledger_projections::{accounts::*, Level, Policy};
    /// # fn book_of<S: AsRef<str>>(lines: &[S]) -> AccountBook {
    /// #     let mut book = AccountBook::new();
    /// #     lines.iter().enumerate().for_each(|(n, l)| book.apply(&parse_line(n as u64 + 1, l.as_ref()).unwrap()));
    /// #     book
    /// # }
    /// # let at = |t: &str| Timestamp::parse_rfc3339(t).unwrap();
    /// # let policy = Policy::default().accounts;
    /// # let opened = r#"{"id":"o","type":"account_opened","at":"2024-01-03T11:00:00Z","account":"f-1","role":"freelancer","country":"PH"}"#.to_owned();
    /// # let opened_client = r#"{"id":"oc","type":"account_opened","at":"2024-01-02T10:00:00Z","account":"c-1","role":"client","country":"US"}"#.to_owned();
    /// # let login = |id: &str, account: &str, when: &str, device: &str, country: &str, (lat, lon): (f64, f64)| format!(r#"{{"id":"{id}","type":"login","at":"2024-{when}:00Z","account":"{account}","device":"{device}","ip":"203.0.113.9","lat":{lat},"lon":{lon},"country":"{country}"}}"#);
    /// # let (manila, london, tokyo) = ((14.6, 120.98), (51.5074, -0.1278), (35.68, 139.69));
    /// let book = book_of(&[
    ///     opened, opened_client,
    ///     login("l1", "f-1", "03-01T09:00", "d-77", "PH", manila),
    ///     login("l2", "c-1", "03-05T09:00", "d-77", "PH", manila), // the same device, 4 days later
    /// ]);
    /// let t = at("2024-03-06T00:00:00Z");
    /// assert_eq!(book.level(&policy, "c-1", t), Some(Level::High));
    /// assert_eq!(book.level(&policy, "c-1", t), book.report(&policy, "c-1", t).map(|r| r.level));
    /// assert_eq!(book.level(&policy, "nobody", t), None);
    /// ```
    pub fn level(&self, policy: &AccountPolicy, account: &str, at: Timestamp) -> Option<Level> {
        let at = at.as_micros();
        let index = self.account_named(account)?;
        if !self.accounts[index].exists_at(at) {
            return None;
        }
        Some(self.level_of(policy, index, at))
    }

    /// The account itself and every account shared devices link it to at `at`, directly or
    /// not, sorted by byte order; empty when the account has no event at or before `at`.
    ///
    /// ```
    /// # use riskledger_events::{json::parse_line, Timestamp};
    /// # use riskledger_projections::{accounts::*, Level, Policy};
    /// # fn book_of<S: AsRef<str>>(lines: &[S]) -> AccountBook {
    /// #     let mut book = AccountBook::new();
    /// #     lines.iter().enumerate().for_each(|(n, l)| book.apply(&parse_line(n as u64 + 1, l.as_ref()).unwrap()));
    /// #     book
    /// # }
    /// # let at = |t: &str| Timestamp::parse_rfc3339(t).unwrap();
    /// # let policy = Policy::default().accounts;
    /// # let opened = r#"{"id":"o","type":"account_opened","at":"2024-01-03T11:00:00Z","account":"f-1","role":"freelancer","country":"PH"}"#.to_owned();
    /// # let opened_client = r#"{"id":"oc","type":"account_opened","at":"2024-01-02T10:00:00Z","account":"c-1","role":"client","country":"US"}"#.to_owned();
    /// # let login = |id: &str, account: &str, when: &str, device: &str, country: &str, (lat, lon): (f64, f64)| format!(r#"{{"id":"{id}","type":"login","at":"2024-{when}:00Z","account":"{account}","device":"{device}","ip":"203.0.113.9","lat":{lat},"lon":{lon},"country":"{country}"}}"#);
    /// # let (manila, london, tokyo) = ((14.6, 120.98), (51.5074, -0.1278), (35.68, 139.69));
    /// let book = book_of(&[
    ///     opened, opened_client,
    ///     login("l1", "f-1", "03-01T09:00", "d-77", "PH", manila),
    ///     login("l2", "c-1", "03-05T09:00", "d-77", "PH", manila), // the same device, 4 days later
    /// ]);
    /// assert_eq!(book.cluster(&policy, "f-1", at("2024-03-06T00:00:00Z")), ["c-1", "f-1"]);
    /// assert_eq!(book.cluster(&policy, "f-1", at("2024-03-02T00:00:00Z")), ["f-1"]); // c-1 not linked yet
    /// assert!(book.cluster(&policy, "nobody", at("2024-03-06T00:00:00Z")).is_empty());
    /// ```
    pub fn cluster(&self, policy: &AccountPolicy, account: &str, at: Timestamp) -> Vec<String> {
        let at = at.as_micros();
        let Some(index) = self.account_named(account) else {
            return Vec::new();
        };
        if !self.accounts[index].exists_at(at) {
            return Vec::new();
        }
        let (_, members) = self.walk_cluster(policy, index, at);
        let mut names: Vec<String> = members
            .into_iter()
            .map(|m| self.account_name(m).to_owned())
            .collect();
        names.sort_unstable();
        names
    }

    /// Every account with an event at or before `at` whose level is at least `min_level`,
    /// sorted by account id.
    ///
    /// ```
    /// # use riskledger_events::{json::parse_line, Timestamp};
    /// # use riskledger_projections::{accounts::*, Level, Policy};
    /// # fn book_of<S: AsRef<str>>(lines: &[S]) -> AccountBook {
    /// #     let mut book = AccountBook::new();
    /// #     lines.iter().enumerate().for_each(|(n, l)| book.apply(&parse_line(n as u64 + 1, l.as_ref()).unwrap()));
    /// #     book
    /// # }
    /// # let at = |t: &str| Timestamp::parse_rfc3339(t).unwrap();
    /// # let policy = Policy::default().accounts;
    /// # let opened = r#"{"id":"o","type":"account_opened","at":"2024-01-03T11:00:00Z","account":"f-1","role":"freelancer","country":"PH"}"#.to_owned();
    /// # let opened_client = r#"{"id":"oc","type":"account_opened","at":"2024-01-02T10:00:00Z","account":"c-1","role":"client","country":"US"}"#.to_owned();
    /// # let login = |id: &str, account: &str, when: &str, device: &str, country: &str, (lat, lon): (f64, f64)| format!(r#"{{"id":"{id}","type":"login","at":"2024-{when}:00Z","account":"{account}","device":"{device}","ip":"203.0.113.9","lat":{lat},"lon":{lon},"country":"{country}"}}"#);
    /// # let (manila, london, tokyo) = ((14.6, 120.98), (51.5074, -0.1278), (35.68, 139.69));
    /// let book = book_of(&[
    ///     opened, opened_client,
    ///     login("l1", "f-1", "03-01T09:00", "d-1", "PH", manila),
    ///     login("l2", "f-1", "03-01T10:00", "d-1", "GB", london),
    /// ]);
    /// let t = at("2024-03-02T00:00:00Z");
    /// let everyone: Vec<_> = book.reports(&policy, t, Level::None).into_iter().map(|r| r.account).collect();
    /// assert_eq!(everyone, ["c-1", "f-1"]);
    /// let high = book.reports(&policy, t, Level::High);
    /// assert_eq!((high.len(), high[0].account.as_str()), (1, "f-1"));
    /// ```
    pub fn reports(
        &self,
        policy: &AccountPolicy,
        at: Timestamp,
        min_level: Level,
    ) -> Vec<AccountReport> {
        let at = at.as_micros();
        let shared = self.shared_devices_everywhere(policy, at);
        let mut order: Vec<usize> = (0..self.accounts.len())
            .filter(|&i| self.accounts[i].exists_at(at))
            .collect();
        order.sort_unstable_by(|&a, &b| self.accounts[a].name.cmp(&self.accounts[b].name));
        order
            .into_iter()
            .map(|index| self.report_of(policy, index, at, &shared))
            .filter(|report| report.level >= min_level)
            .collect()
    }

    fn report_of(
        &self,
        policy: &AccountPolicy,
        index: usize,
        at: i64,
        shared: &SharedDevices,
    ) -> AccountReport {
        let account = &self.accounts[index];
        let opened = account.opened_at(at);
        let home = opened.map(|o| o.country);
        let located = until(&account.located, at);
        let stored_before = self.stored_before(index);
        // Each signal with the time of its latest event (its `at`, as a number).
        let mut signals: Vec<(i64, Signal)> = rules::impossible_travel(policy, located)
            .filter(|travel| travel.to.at >= stored_before)
            .map(|travel| (travel.to.at, travel.signal()))
            .collect();
        signals.extend(self.shared_device_signals(policy, index, shared));
        signals.extend(
            rules::foreign_majority(policy, until(&account.rare().carried, at), located, home)
                .map(|found| (found.at(), found.signal())),
        );
        let earlier = account.logins_before_located();
        rules::new_country(
            policy,
            located,
            earlier,
            home,
            |login, earlier, previous| {
                if login.at >= stored_before {
                    let previous = previous.sorted();
                    let signal = rules::new_country_signal(policy, login, earlier, &previous, home);
                    signals.push((login.at, signal));
                }
                ControlFlow::Continue(())
            },
        );
        signals.extend(
            rules::payout_after_new_device(policy, account, at, home)
                .filter(|found| found.payout.at >= stored_before)
                .map(|found| (found.payout.at, found.signal(|d| self.device_name(d)))),
        );
        signals.extend(
            until_found(account, at)
                .map(|found| (found.at(), self.found_signal(policy, account, found, home))),
        );
        // By kind, then time, then event ids; stable.
        signals.sort_by(|(a_at, a), (b_at, b)| {
            (a.kind, signal_order_at(*a_at))
                .cmp(&(b.kind, signal_order_at(*b_at)))
                .then_with(|| a.events.cmp(&b.events))
        });
        let signals: Vec<Signal> = signals.into_iter().map(|(_, signal)| signal).collect();
        AccountReport {
            account: account.name.to_string(),
            level: AccountReport::level_of(&signals),
            role: opened.map(|o| o.role.as_str().to_owned()),
            home_country: home.map(|c| c.as_str().to_owned()),
            opened_event: opened.map(|o| o.id.to_string()),
            signals,
        }
    }

    /// The level [`Self::report_of`] would give, from the same rule instances, cheapest rules
    /// first, stopping as soon as it is `high`; `new_country` (always `low`) is looked at only
    /// when nothing else fired.
    fn level_of(&self, policy: &AccountPolicy, index: usize, at: i64) -> Level {
        let account = &self.accounts[index];
        let home = account.opened_at(at).map(|o| o.country);
        let stored_before = self.stored_before(index);
        let mut level = LevelSoFar::default();
        for found in until_found(account, at) {
            let (kind, found_level) = found.kind_and_level(home);
            level.add(kind, found_level);
        }
        if level.is_high() {
            return Level::High;
        }
        for found in rules::payout_after_new_device(policy, account, at, home)
            .filter(|found| found.payout.at >= stored_before)
        {
            level.add(SignalKind::PayoutAfterNewDevice, found.level);
            if level.is_high() {
                return Level::High;
            }
        }
        let located = until(&account.located, at);
        let carried = until(&account.rare().carried, at);
        if rules::foreign_majority(policy, carried, located, home).is_some() {
            level.add(SignalKind::ForeignMajority, Level::Medium);
            if level.is_high() {
                return Level::High;
            }
        }
        if rules::impossible_travel(policy, located).any(|travel| travel.to.at >= stored_before) {
            return Level::High;
        }
        let (shared, _) = self.walk_cluster(policy, index, at);
        if let Some(shared_level) = Self::shared_device_level(policy, index, &shared) {
            level.add(SignalKind::SharedDevice, shared_level);
            if level.is_high() {
                return Level::High;
            }
        }
        if level.level() == Level::None {
            let earlier = account.logins_before_located();
            rules::new_country(policy, located, earlier, home, |login, _, _| {
                if login.at < stored_before {
                    return ControlFlow::Continue(());
                }
                level.add(SignalKind::NewCountry, Level::Low);
                ControlFlow::Break(())
            });
        }
        level.level()
    }

    /// The level of every `shared_device` signal of the account (its cluster's), `None` when
    /// it has none.
    fn shared_device_level(
        policy: &AccountPolicy,
        account: usize,
        shared: &SharedDevices,
    ) -> Option<Level> {
        shared.links.get(&account).filter(|l| !l.is_empty())?;
        let cluster = shared.cluster.get(&account).copied().unwrap_or_default();
        let high = cluster.size >= policy.shared_device_high_cluster_size
            || cluster.joins_client_and_freelancer;
        Some(if high { Level::High } else { Level::Medium })
    }

    /// One `shared_device` signal per device the account shares, naming the accounts that
    /// device links it to and the size of its cluster over all devices; each with the time of
    /// its latest event.
    fn shared_device_signals(
        &self,
        policy: &AccountPolicy,
        account: usize,
        shared: &SharedDevices,
    ) -> Vec<(i64, Signal)> {
        let Some(level) = Self::shared_device_level(policy, account, shared) else {
            return Vec::new();
        };
        let Some(links) = shared.links.get(&account) else {
            return Vec::new();
        };
        let cluster = shared.cluster.get(&account).copied().unwrap_or_default();
        let mut by_device: BTreeMap<&str, Vec<&Link>> = BTreeMap::new();
        for (device, link) in links {
            by_device
                .entry(self.device_name(*device))
                .or_default()
                .push(link);
        }
        by_device
            .into_iter()
            .map(|(device, links)| {
                let mut evidence: Vec<(i64, &str)> = links
                    .iter()
                    .flat_map(|l| {
                        [
                            (l.evidence.0.at, &*l.evidence.0.id),
                            (l.evidence.1.at, &*l.evidence.1.id),
                        ]
                    })
                    .collect();
                evidence.sort_unstable();
                evidence.dedup();
                let mut others: Vec<String> = links
                    .iter()
                    .map(|l| {
                        if l.accounts.0 == account {
                            l.accounts.1
                        } else {
                            l.accounts.0
                        }
                    })
                    .map(|other| self.account_name(other).to_owned())
                    .collect();
                others.sort_unstable();
                others.dedup();
                let latest = evidence.last().map_or(0, |e| e.0);
                let signal = Signal {
                    kind: SignalKind::SharedDevice,
                    level,
                    at: rules::rfc3339(latest),
                    events: evidence.iter().map(|e| e.1.to_owned()).collect(),
                    figures: Figures::SharedDevice(SharedDeviceFigures {
                        device: device.to_owned(),
                        other_accounts: others,
                        cluster_size: cluster.size,
                        cluster_joins_client_and_freelancer: cluster.joins_client_and_freelancer,
                        window_days: policy.shared_device_window_days,
                    }),
                };
                (latest, signal)
            })
            .collect()
    }

    fn window_micros(policy: &AccountPolicy) -> i64 {
        policy
            .shared_device_window_days
            .saturating_mul(Timestamp::MICROS_PER_DAY)
    }

    /// Links and clusters over every device, for [`Self::reports`].
    fn shared_devices_everywhere(&self, policy: &AccountPolicy, at: i64) -> SharedDevices {
        let window = Self::window_micros(policy);
        let mut shared = SharedDevices::default();
        let mut clusters = Clusters::new(self.accounts.len());
        for (device, state) in self.devices.iter().enumerate() {
            for link in device_links(state, at, window, self.links_stored_before()) {
                clusters.join(link.accounts.0, link.accounts.1);
                shared.record(device, link);
            }
        }
        for members in clusters.members().into_values() {
            let info = self.cluster_info(&members, at);
            shared
                .cluster
                .extend(members.into_iter().map(|m| (m, info)));
        }
        shared
    }

    /// Links and the cluster of one account only: a walk from the account along links, over
    /// the devices of the accounts it reaches. Returns the account's links with its cluster's
    /// summary, and the cluster's members (the account alone when it has no link).
    fn walk_cluster(
        &self,
        policy: &AccountPolicy,
        account: usize,
        at: i64,
    ) -> (SharedDevices, BTreeSet<usize>) {
        let mut shared = SharedDevices::default();
        let mut seen_accounts: BTreeSet<usize> = BTreeSet::from([account]);
        // Nearly every account uses only devices of its own, which link nothing.
        let uses_a_shared_device = self.accounts.get(account).is_some_and(|state| {
            until_devices(state, at)
                .any(|device| self.devices.get(device).is_some_and(|d| d.sole.is_none()))
        });
        if !uses_a_shared_device {
            return (shared, seen_accounts);
        }
        let window = Self::window_micros(policy);
        let mut links_of_device: HashMap<usize, Vec<Link>> = HashMap::new();
        let mut to_visit = vec![account];
        while let Some(current) = to_visit.pop() {
            let Some(state) = self.accounts.get(current) else {
                continue;
            };
            for device in until_devices(state, at) {
                let Some(device_state) = self.devices.get(device) else {
                    continue;
                };
                let links = links_of_device.entry(device).or_insert_with(|| {
                    device_links(device_state, at, window, self.links_stored_before())
                });
                for link in links.iter() {
                    let other = match link.accounts {
                        (a, b) if a == current => b,
                        (a, b) if b == current => a,
                        _ => continue,
                    };
                    if seen_accounts.insert(other) {
                        to_visit.push(other);
                    }
                    if current == account {
                        shared.record_for(account, device, link.clone());
                    }
                }
            }
        }
        if seen_accounts.len() >= 2 {
            let members: Vec<usize> = seen_accounts.iter().copied().collect();
            shared
                .cluster
                .insert(account, self.cluster_info(&members, at));
        }
        (shared, seen_accounts)
    }

    fn cluster_info(&self, members: &[usize], at: i64) -> ClusterInfo {
        let role_of = |m: &usize| {
            self.accounts
                .get(*m)
                .and_then(|a| a.opened_at(at))
                .map(|o| o.role)
        };
        let has = |role: Role| members.iter().any(|m| role_of(m) == Some(role));
        ClusterInfo {
            size: members.len(),
            joins_client_and_freelancer: has(Role::Client) && has(Role::Freelancer),
        }
    }

    /// Feeds the canonical encoding of the state to `hasher`: the same for the same set of
    /// events, whatever order they were applied in. Compare digests to check that two books (a
    /// replay and a live one, say) hold the same state.
    ///
    /// ```
    /// # use riskledger_events::{json::parse_line, Timestamp};
    /// # use riskledger_projections::{accounts::*, Level, Policy};
    /// # fn book_of<S: AsRef<str>>(lines: &[S]) -> AccountBook {
    /// #     let mut book = AccountBook::new();
    /// #     lines.iter().enumerate().for_each(|(n, l)| book.apply(&parse_line(n as u64 + 1, l.as_ref()).unwrap()));
    /// #     book
    /// # }
    /// # let at = |t: &str| Timestamp::parse_rfc3339(t).unwrap();
    /// # let policy = Policy::default().accounts;
    /// # let opened = r#"{"id":"o","type":"account_opened","at":"2024-01-03T11:00:00Z","account":"f-1","role":"freelancer","country":"PH"}"#.to_owned();
    /// # let opened_client = r#"{"id":"oc","type":"account_opened","at":"2024-01-02T10:00:00Z","account":"c-1","role":"client","country":"US"}"#.to_owned();
    /// # let login = |id: &str, account: &str, when: &str, device: &str, country: &str, (lat, lon): (f64, f64)| format!(r#"{{"id":"{id}","type":"login","at":"2024-{when}:00Z","account":"{account}","device":"{device}","ip":"203.0.113.9","lat":{lat},"lon":{lon},"country":"{country}"}}"#);
    /// # let (manila, london, tokyo) = ((14.6, 120.98), (51.5074, -0.1278), (35.68, 139.69));
    /// let digest = |book: &AccountBook| {
    ///     let mut hasher = blake3::Hasher::new();
    ///     book.digest_into(&mut hasher);
    ///     hasher.finalize()
    /// };
    /// let l1 = login("l1", "f-1", "03-01T09:00", "d-1", "PH", manila);
    /// assert_eq!(digest(&book_of(&[&opened, &l1])), digest(&book_of(&[&l1, &opened])));
    /// assert_ne!(digest(&book_of(&[&opened, &l1])), digest(&book_of(&[&opened])));
    /// ```
    pub fn digest_into(&self, hasher: &mut blake3::Hasher) {
        hasher.update(b"riskledger accounts state v3\0");
        // Buffered (bincode writes field by field). Writing into a hasher cannot fail, and
        // every field of the snapshot encodes.
        let mut buffered = std::io::BufWriter::with_capacity(crate::DIGEST_BUFFER_BYTES, hasher);
        let _ = canonical::write_canonical(self, ITEMS_PER_RUN, &mut buffered);
        let _ = std::io::Write::flush(&mut buffered);
    }
}

impl SharedDevices {
    fn record_for(&mut self, account: usize, device: usize, link: Link) {
        self.links.entry(account).or_default().push((device, link));
    }

    fn record(&mut self, device: usize, link: Link) {
        let (a, b) = link.accounts;
        self.links
            .entry(b)
            .or_default()
            .push((device, link.clone()));
        self.links.entry(a).or_default().push((device, link));
    }
}

/// The time a signal is ordered by: its `at` as the report prints it, read back. Inside years
/// 1 to 9999 that is the number itself; outside, the text is read back as the sort key always
/// was (an unreadable text sorts first).
fn signal_order_at(at: i64) -> i64 {
    // 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z.
    const FIRST: i64 = -62_135_596_800_000_000;
    const LAST: i64 = 253_402_300_799_999_999;
    if (FIRST..=LAST).contains(&at) {
        at
    } else {
        Timestamp::parse_rfc3339(&rules::rfc3339(at)).map_or(i64::MIN, Timestamp::as_micros)
    }
}

/// The instances compaction stored for `account`, with events up to `at`.
fn until_found(account: &AccountState, at: i64) -> impl Iterator<Item = &Found> + '_ {
    account
        .rare()
        .found
        .iter()
        .filter(move |found| found.at() <= at)
}

/// The devices an account had used by `at`.
fn until_devices(account: &AccountState, at: i64) -> impl Iterator<Item = usize> + '_ {
    account
        .devices
        .iter()
        .filter(move |d| d.at <= at)
        .map(|d| d.device)
}

/// Asks the cache for the two lines `item` begins with (a record is up to 104 bytes). A hint:
/// a no-op where there is no prefetch instruction to use without further features.
#[inline(always)]
fn prefetch<T>(item: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let at = (item as *const T).cast::<i8>();
        // SAFETY: `_mm_prefetch` needs SSE, which every x86_64 has. A prefetch reads nothing
        // the program sees and cannot fault, whatever the address; these are a live record's
        // first two lines.
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(at);
            _mm_prefetch::<_MM_HINT_T0>(at.wrapping_add(64));
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = item;
}

#[cfg(test)]
mod tests {
    use super::*;
    use riskledger_events::Ip;

    const MINUTE: i64 = 60 * Timestamp::MICROS_PER_SECOND;
    const DAY: i64 = Timestamp::MICROS_PER_DAY;
    const START: i64 = 1_735_689_600_000_000; // 2025-01-01T00:00:00Z

    fn login(id: String, at: i64, account: &str, device: &str, network: Network) -> Event {
        Event {
            id,
            at: Timestamp(at),
            body: Body::Login {
                account: account.into(),
                device: device.into(),
                ip: Ip::V4([10, 0, 0, 1]),
                lat: 51.5,
                lon: -0.12,
                country: Country::parse("GB").unwrap(),
                accuracy_km: 20.0,
                network: Some(network),
            },
        }
    }

    /// Years of logins: account `a` signs in from home every 6 hours (located) and through a
    /// VPN on its phone every `vpn_every` minutes; account `b` signs in on `a`'s home device
    /// every 30 minutes, so that device is shared and indexed.
    fn years_of_logins(days: i64, vpn_every: i64) -> AccountBook {
        let mut book = AccountBook::new();
        let mut n = 0;
        let mut next_id = || {
            n += 1;
            format!("e{n:09}")
        };
        for day in 0..days {
            let midnight = START + day * DAY;
            for quarter in 0..4 {
                let at = midnight + quarter * 6 * 60 * MINUTE + 7 * MINUTE;
                book.apply(&login(next_id(), at, "a", "home", Network::Residential));
            }
            for minute in (0..24 * 60).step_by(vpn_every as usize) {
                let at = midnight + minute * MINUTE;
                book.apply(&login(next_id(), at, "a", "phone", Network::Vpn));
            }
            for half_hour in 0..48 {
                let at = midnight + half_hour * 30 * MINUTE + 3 * MINUTE;
                book.apply(&login(next_id(), at, "b", "home", Network::Mobile));
            }
        }
        book
    }

    /// Every device is found by its name, and its copy of its sole account's first use is
    /// what the state says.
    fn device_copies_are_true(book: &AccountBook) -> bool {
        (0..book.devices.len()).all(|device| {
            book.device_named(&book.devices[device].name) == Some(device)
                && book.devices[device].sole_first_at == book.sole_first_at(device)
        })
    }

    fn device<'a>(book: &'a AccountBook, name: &str) -> &'a DeviceState {
        let index = book.device_named(name).unwrap();
        &book.devices[index]
    }

    fn account<'a>(book: &'a AccountBook, name: &str) -> &'a AccountState {
        let index = book.account_named(name).unwrap();
        &book.accounts[index]
    }

    /// Each device is found by its name, and its copy of its sole account's first use (what
    /// lets a login skip the device's uses and the account's first logins) stays exactly what
    /// the state says, whatever the arrival order, across a
    /// snapshot, and while devices become shared: the fold then equals one that saw every
    /// event in order.
    #[test]
    fn device_entries_stay_true_to_the_state() {
        // One account's first two logins on a device at the same microsecond, the later id
        // first in the reversed half below: the second arrival ties the entry's first login,
        // so it must take the full path and become the first use (a `>=` in the skip would
        // keep the wrong one).
        let tie_at = START + 100 * MINUTE;
        let mut events = vec![
            login("t1".into(), tie_at, "b", "b-tablet", Network::Residential),
            login("t2".into(), tie_at, "b", "b-tablet", Network::Residential),
        ];
        for n in 0..400_i64 {
            let account = ["a", "b", "c"][(n % 3) as usize];
            // Each account's own device, a phone that "c" starts sharing with "a" halfway,
            // and a few logins at the same microsecond as another.
            let device = match (account, n % 4) {
                ("c", 0) if n > 200 => "a-phone".to_string(),
                (_, 1) => format!("{account}-phone"),
                _ => format!("{account}-home"),
            };
            let network = if n % 5 == 0 {
                Network::Vpn
            } else {
                Network::Residential
            };
            let at = START + (n / 2) * 7 * MINUTE;
            events.push(login(format!("e{n:04}"), at, account, &device, network));
        }
        let mut in_order = AccountBook::new();
        events.iter().for_each(|e| in_order.apply(e));
        assert!(device_copies_are_true(&in_order));
        // Half in reverse, a snapshot, the rest shuffled by a fixed stride: late logins on
        // known devices, first uses moving earlier, a device turning shared after a reload.
        let (first, rest) = events.split_at(events.len() / 2);
        let mut book = AccountBook::new();
        first.iter().rev().for_each(|e| book.apply(e));
        assert!(device_copies_are_true(&book));
        let config = bincode::config::legacy();
        let bytes = bincode::serde::encode_to_vec(&book, config).unwrap();
        let (mut book, _): (AccountBook, usize) =
            bincode::serde::decode_from_slice(&bytes, config).unwrap();
        assert!(device_copies_are_true(&book));
        for i in 0..rest.len() {
            book.apply(&rest[i * 37 % rest.len()]);
        }
        assert!(device_copies_are_true(&book));
        assert!(book == in_order);
        assert!(device(&book, "a-phone").sole.is_none());
    }

    /// Each device's copy of its sole account's first use equals a fresh derivation after
    /// every single event, in reverse time order, across a compaction and a reload from the
    /// snapshot's two parts, with a shared device, a device name too long to be inline and
    /// names of several bytes per character; and a fold that never takes the fast path keeps
    /// the same book (written with a review, session 8).
    #[test]
    fn device_copies_stay_true_after_every_event_compaction_and_reload() {
        let policy = one_day_windows();
        let mut events = vec![opened("a"), opened("b"), opened("c")];
        let mut x: u64 = 0x1234_5678;
        for n in 0..3000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let acct = ["a", "b", "c", "d-long-account-name-1"][(x % 4) as usize];
            let dev = match (x >> 8) % 7 {
                0 => "shared-1".to_string(),
                1 => "dev-0123456789abcdef-long-name".to_string(), // boxed
                2 => format!("dé{}-ü", (x >> 16) % 3),
                _ => format!("{acct}-{}", (x >> 20) % 3),
            };
            let day = ((x >> 24) % 60) as i64;
            let at = START + day * DAY + (((x >> 32) % 5) as i64) * MINUTE;
            let net = if (x >> 40).is_multiple_of(4) {
                Network::Vpn
            } else {
                Network::Residential
            };
            events.push(login(format!("e{n:05}"), at, acct, &dev, net));
        }
        // The events before day 30 in reverse, a compaction there, a reload from the parts, the
        // later events: against a whole fold compacted at the same boundary.
        let boundary = Timestamp(START + 30 * DAY);
        let (before, after): (Vec<_>, Vec<_>) =
            events.iter().cloned().partition(|e| e.at < boundary);
        let mut book = AccountBook::new();
        for e in before.iter().rev() {
            book.apply(e);
            assert!(device_copies_are_true(&book));
        }
        book.compact(&policy, boundary);
        assert!(device_copies_are_true(&book));
        let (head, tail) = canonical::parts_read_back(&book);
        let mut book = AccountBook::from_parts(head, tail);
        assert!(device_copies_are_true(&book));
        for (i, e) in after.iter().enumerate() {
            book.apply(e);
            assert!(device_copies_are_true(&book), "after event {i}");
        }
        let mut whole = AccountBook::new();
        for e in &events {
            whole.apply(e);
        }
        whole.compact(&policy, boundary);
        assert!(device_copies_are_true(&whole));
        assert!(book == whole, "compacted+reloaded+late equals whole");
        // differential: a fold that never takes the fast path
        let mut slow = AccountBook::new();
        for e in events.iter().rev() {
            // The copies made useless before each event: every login takes the full path.
            slow.devices
                .iter_mut()
                .for_each(|d| d.sole_first_at = i64::MAX);
            slow.apply(e);
        }
        let mut fast = AccountBook::new();
        for e in events.iter().rev() {
            fast.apply(e);
        }
        assert!(slow == fast);
        assert!(device_copies_are_true(&fast));
    }

    /// Inside years 1 to 9999 a signal's time reads back as itself, so the report may sort by
    /// the number; the bounds are the last instants where that holds.
    #[test]
    fn signal_times_read_back_exactly_inside_the_fast_range() {
        let read_back = |at: i64| {
            Timestamp::parse_rfc3339(&rules::rfc3339(at)).map_or(i64::MIN, Timestamp::as_micros)
        };
        let first = -62_135_596_800_000_000;
        let last = 253_402_300_799_999_999;
        for at in [
            first,
            first + 1,
            -1,
            0,
            1,
            START + 123_456,
            last - 1_000,
            last,
        ] {
            assert_eq!(read_back(at), at, "{at}");
            assert_eq!(signal_order_at(at), at);
        }
        for at in [i64::MIN, first - 1, last + 1, i64::MAX] {
            assert_eq!(signal_order_at(at), read_back(at));
        }
    }

    /// The bounds of `docs/policy-accounts.md` ("Memory bound") over three years: the
    /// shared-device index keeps at most 2 logins per (device, account, day), a device used by
    /// one account keeps none, an account keeps every located login and at most 2 non-located
    /// logins per (device, day), whatever the login rate.
    #[test]
    fn years_of_logins_stay_within_the_stated_bounds() {
        let days = 3 * 366;
        let book = years_of_logins(days, 15);
        let a = account(&book, "a");
        let b = account(&book, "b");
        let days = days as usize;
        // Located logins: every one is kept (4 a day for a, 48 a day for b).
        assert_eq!(a.located.len(), 4 * days);
        assert_eq!(b.located.len(), 48 * days);
        // Non-located logins: 96 a day on the phone, at most 2 a day kept.
        assert!(
            a.rare().hidden.len() <= 2 * days,
            "{}",
            a.rare().hidden.len()
        );
        assert!(b.rare().hidden.is_empty());
        // The phone is a's alone: not indexed. Home is shared: at most 2 per account and day.
        let phone = device(&book, "phone");
        assert!(phone.sole.is_some() && phone.uses().is_empty());
        let home = device(&book, "home");
        assert!(home.sole.is_none());
        for who in ["a", "b"] {
            let index = book.account_named(who).unwrap();
            let kept = home.uses().iter().filter(|u| u.account == index).count();
            assert!(kept <= 2 * days, "{who}: {kept} uses kept over {days} days");
        }
        // A bot rate costs nothing more: a VPN login every minute keeps the same lists.
        let short = 40;
        let slow = years_of_logins(short, 15);
        let fast = years_of_logins(short, 1);
        assert_eq!(
            account(&slow, "a").rare().hidden.len(),
            account(&fast, "a").rare().hidden.len()
        );
        assert_eq!(
            device(&slow, "home").uses().len(),
            device(&fast, "home").uses().len()
        );
        assert_eq!(account(&fast, "a").located.len(), 4 * short as usize);
    }

    /// Compacted (`docs/retention.md`), years of logins keep what a month and a half of them
    /// keeps: the carry and the logins from `C` on, two hidden logins and two device uses per
    /// account and day from `C` on. The bound the issue asks for: per account and device,
    /// `memory_days` plus the longest lookback (30 + 30 days, and a day of rounding), whatever
    /// the years behind.
    #[test]
    fn years_of_logins_compacted_keep_a_bounded_history() {
        let policy = AccountPolicy::default();
        let compacted_over = |days: i64| {
            let mut book = years_of_logins(days, 15);
            for (n, who) in ["a", "b"].into_iter().enumerate() {
                book.apply(&Event {
                    id: format!("opened-{who}"),
                    at: Timestamp(START - DAY),
                    body: Body::AccountOpened {
                        account: who.into(),
                        role: riskledger_events::Role::ALL[n],
                        country: Country::parse("GB").unwrap(),
                    },
                });
            }
            let latest = Timestamp(START + days * DAY);
            book.compact(
                &policy,
                crate::policy::RetentionPolicy::default().boundary(latest),
            );
            book
        };
        let lengths = |book: &AccountBook| {
            let (a, b) = (account(book, "a"), account(book, "b"));
            let home = device(book, "home");
            (
                a.located.len(),
                b.located.len(),
                a.rare().hidden.len(),
                home.uses().len(),
                home.links().len(),
            )
        };
        let years = compacted_over(3 * 366);
        let kept_days = 30 + 30 + 1;
        let (a_located, b_located, a_hidden, home_uses, home_links) = lengths(&years);
        assert!(a_located <= 20 + 4 * kept_days, "{a_located}");
        assert!(b_located <= 20 + 48 * kept_days, "{b_located}");
        assert!(a_hidden <= 2 * kept_days, "{a_hidden}");
        assert!(home_uses <= 2 * 2 * kept_days, "{home_uses}");
        assert_eq!(
            home_links, 1,
            "a and b on the home computer, found once, stored"
        );
        let a = account(&years, "a");
        let kept = a.rare().carried.len() + a.located.len();
        assert_eq!(a.rare().dropped_located as usize + kept, 4 * 3 * 366);
        assert_eq!(
            a.rare().carried.len(),
            19,
            "the carry but its last, slimmed"
        );
        // A year, or three: the same lists.
        assert_eq!(lengths(&compacted_over(366)), lengths(&years));
    }

    /// A freelancer in GB, opened the day before `START`.
    fn opened(who: &str) -> Event {
        Event {
            id: format!("opened-{who}"),
            at: Timestamp(START - DAY),
            body: Body::AccountOpened {
                account: who.into(),
                role: riskledger_events::Role::Freelancer,
                country: Country::parse("GB").unwrap(),
            },
        }
    }

    /// Lookbacks of a day, so that a compaction a month in drops most of what came before.
    fn one_day_windows() -> AccountPolicy {
        AccountPolicy {
            new_country_lookback_days: 1,
            shared_device_window_days: 1,
            ..AccountPolicy::default()
        }
    }

    /// A device one account used before the boundary turns shared after it: the uses rebuilt
    /// from its owner's logins are those from `C` on, the ones the whole book compacted keeps
    /// (the owner's carry, before `C`, is not brought back into the device's uses).
    #[test]
    fn a_device_shared_after_compaction_keeps_what_the_whole_book_compacted_keeps() {
        let policy = one_day_windows();
        let mut events = vec![opened("a"), opened("b")];
        for day in 0..10 {
            let at = START + day * DAY + 60 * MINUTE;
            events.push(login(format!("a{day}"), at, "a", "d", Network::Residential));
        }
        let boundary = Timestamp(START + 20 * DAY);
        let later = login(
            "b1".into(),
            START + 21 * DAY,
            "b",
            "d",
            Network::Residential,
        );
        let mut book = AccountBook::new();
        events.iter().for_each(|e| book.apply(e));
        book.compact(&policy, boundary);
        assert!(
            device(&book, "d").sole.is_some(),
            "a's alone at the boundary"
        );
        let a = account(&book, "a");
        let kept = (a.rare().carried.len(), a.located.len());
        assert_eq!(kept, (9, 1), "the carry keeps a's logins, the last whole");
        book.apply(&later);
        let mut whole = AccountBook::new();
        events.iter().chain([&later]).for_each(|e| whole.apply(e));
        whole.compact(&policy, boundary);
        assert!(book == whole);
        assert_eq!(
            device(&book, "d").uses().len(),
            1,
            "b's login alone, after C"
        );
    }

    /// `C` falls on midnight: with no lookback at all, a boundary at noon keeps the whole
    /// day's device uses, so a later login of that day replaces the day's latest use as it
    /// does in the whole book (dropping the morning instead would leave the noon use to be
    /// kept beside it).
    #[test]
    fn the_day_of_the_boundary_is_kept_whole() {
        let policy = AccountPolicy {
            new_country_lookback_days: 0,
            shared_device_window_days: 0,
            ..AccountPolicy::default()
        };
        let hour = 60 * MINUTE;
        let day = START + 10 * DAY;
        let events = [
            login("a1".into(), day + hour, "a", "d", Network::Residential),
            login("b1".into(), day + 2 * hour, "b", "d", Network::Residential),
            login("a2".into(), day + 13 * hour, "a", "d", Network::Residential),
        ];
        let evening = login("a3".into(), day + 23 * hour, "a", "d", Network::Residential);
        let boundary = Timestamp(day + 12 * hour);
        let mut book = AccountBook::new();
        events.iter().for_each(|e| book.apply(e));
        book.compact(&policy, boundary);
        book.apply(&evening);
        let mut whole = AccountBook::new();
        events.iter().chain([&evening]).for_each(|e| whole.apply(e));
        whole.compact(&policy, boundary);
        assert!(book == whole);
        let kept: Vec<&str> = device(&book, "d").uses().iter().map(|u| &*u.id).collect();
        assert_eq!(kept, ["a1", "b1", "a3"]);
    }

    /// The impossible-travel pre-filter is off for a minimum distance no one would set, where
    /// `minimum − slack` and the rounding lose their precision: this pair, one step short of
    /// the minimum unrounded, rounds up to it and fires (a case found in review).
    #[test]
    fn an_absurd_minimum_distance_still_fires_as_the_rounding_says() {
        let line = |n: u64, id: &str, at: &str, lon: f64| {
            riskledger_events::json::parse_line(
                n,
                &format!(
                    r#"{{"id":"{id}","type":"login","at":"{at}","account":"a","device":"d","ip":"203.0.113.9","lat":0.0,"lon":{lon},"country":"PH","accuracy_km":0.0}}"#
                ),
            )
            .unwrap()
        };
        let mut book = AccountBook::new();
        book.apply(&line(1, "l1", "2025-01-01T00:00:00Z", 0.0));
        book.apply(&line(2, "l2", "2025-01-01T01:00:00Z", 90.0));
        let policy = AccountPolicy {
            earth_radius_km: 9_174_670_001_013_090.0,
            travel_min_distance_km: 1.441_153_793_714_669_2e16,
            ..AccountPolicy::default()
        };
        let at = Timestamp::parse_rfc3339("2025-01-02T00:00:00Z").unwrap();
        let report = book.report(&policy, "a", at).unwrap();
        let kinds: Vec<SignalKind> = report.signals.iter().map(|s| s.kind).collect();
        assert_eq!(kinds, vec![SignalKind::ImpossibleTravel]);
    }

    proptest::proptest! {
        /// `first_login()` is what the removed field held: the earliest of the account's
        /// logins by (time, id), on that login's device, whatever the arrival order, with
        /// events given twice, across compaction and a snapshot's two parts. Times collide
        /// on purpose (so the id decides), ids are unique per event.
        #[test]
        fn first_login_is_the_earliest_login_by_time_then_id(
            logins in proptest::collection::vec((0i64..4, 0usize..3, 0usize..4, proptest::bool::ANY), 1..40),
            repeat in proptest::collection::vec(0usize..40, 0..10),
            reverse in proptest::bool::ANY,
            compact_at in proptest::option::of(0i64..4),
        ) {
            let mut events: Vec<(Event, (i64, String), usize, usize)> = logins
                .iter()
                .enumerate()
                .map(|(n, &(t, account, device, vpn))| {
                    // Ids whose order is not the order of `n`, so that the id tie-break matters.
                    let id = format!("e{:02}", (n * 7) % 41);
                    let at = START + t * MINUTE;
                    let network = if vpn { Network::Vpn } else { Network::Residential };
                    let event = login(id.clone(), at, &format!("a{account}"), &format!("d{device}"), network);
                    (event, (at, id), account, device)
                })
                .collect();
            let duplicates: Vec<_> = repeat.iter().filter_map(|&i| events.get(i).cloned()).collect();
            events.extend(duplicates);
            if reverse {
                events.reverse();
            }
            let mut book = AccountBook::new();
            for (event, ..) in &events {
                book.apply(event);
            }
            if let Some(t) = compact_at {
                book.compact(&crate::Policy::default().accounts, Timestamp(START + t * MINUTE));
            }
            let (head, tail) = canonical::parts_read_back(&book);
            let reread = AccountBook::from_parts(head, tail);
            for b in [&book, &reread] {
                for account in 0..3 {
                    let expected = events
                        .iter()
                        .filter(|(_, _, a, _)| *a == account)
                        .min_by(|x, y| x.1.cmp(&y.1))
                        .map(|(_, key, _, device)| (key.clone(), format!("d{device}")));
                    let got = b.account_named(&format!("a{account}")).and_then(|slot| {
                        b.accounts[slot].first_login().map(|first| {
                            ((first.at, first.id.as_str().to_string()), b.device_name(first.device).to_string())
                        })
                    });
                    proptest::prop_assert_eq!(got, expected);
                }
            }
        }
    }
}
