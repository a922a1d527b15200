//! What the fold keeps: per account, per device. Every list is kept sorted by event time with
//! the event id as a tiebreak, so the state is a function of the *set* of events applied,
//! never of their arrival order; inserting an event already present changes nothing.

use riskledger_events::{Country, Role, Timestamp};
use serde::{Deserialize, Serialize};

use crate::geo::{half_central_angle, Point};

pub(crate) use super::place::Place;

use super::devices::Link;
pub(crate) use super::id::{DeviceName, EventId, ShortText};

/// The shared-device index keeps, per device, account and bucket of this length, only the
/// earliest and the latest login; an account's non-located logins are kept the same way per
/// device. Exact for every shared-device window of at least one bucket (see
/// `docs/policy-accounts.md`, "Memory bound").
pub(crate) const DEVICE_BUCKET_MICROS: i64 = Timestamp::MICROS_PER_DAY;

/// The total order of events used everywhere: event time, then event id (its bytes, which is
/// the byte order of the text).
pub(crate) type OrderKey<'a> = (i64, &'a [u8]);

pub(crate) trait Ordered {
    fn key(&self) -> OrderKey<'_>;
}

/// Items kept at most two per group and bucket (see [`keep_extremes`]).
pub(crate) trait Grouped: Ordered {
    fn group(&self) -> usize;
}

/// The `account_opened` that gives an account its role and home country.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Opened {
    pub at: i64,
    pub id: EventId,
    pub role: Role,
    pub country: Country,
}

/// A login whose network says where the person is (not vpn, tor or hosting). 48 bytes: the
/// book keeps millions (`record_sizes_stay_as_documented`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(from = "LocatedForm")]
pub(crate) struct LocatedLogin {
    pub at: i64,
    pub id: EventId,
    /// Latitude, longitude, accuracy and country, exactly as the event gave them.
    pub place: Place,
    /// Index into [`super::AccountBook`]'s devices.
    pub device: u32,
    /// [`half_central_angle`] from the located login before this one in event order (0 for
    /// the first), rounded up to an `f32`: never below the angle, so the impossible-travel
    /// pre-filter that reads it never settles a pair that could fire; a pair it lets through
    /// is measured from its places, exactly. A cache, a function of the sorted list kept by
    /// [`insert_located`] and [`refresh_angles`]: not stored in snapshots (recomputed on
    /// load), policy-free (the radius multiplies it at evaluation).
    pub half_angle_to_previous: f32,
}

/// A located login as the canonical form lists its fields: the place as three `f64`s, as
/// the event gave them, and no cache.
#[derive(Deserialize)]
struct LocatedForm {
    at: i64,
    id: EventId,
    lat: f64,
    lon: f64,
    accuracy_km: f64,
    device: u32,
    country: Country,
}

impl From<LocatedForm> for LocatedLogin {
    fn from(form: LocatedForm) -> Self {
        LocatedLogin {
            at: form.at,
            id: form.id,
            place: Place::new(form.lat, form.lon, form.accuracy_km, form.country),
            device: form.device,
            half_angle_to_previous: 0.0,
        }
    }
}

/// Written field by field as [`LocatedForm`] reads it.
impl Serialize for LocatedLogin {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut form = serializer.serialize_struct("LocatedLogin", 7)?;
        form.serialize_field("at", &self.at)?;
        form.serialize_field("id", &self.id)?;
        form.serialize_field("lat", &self.place.lat())?;
        form.serialize_field("lon", &self.place.lon())?;
        form.serialize_field("accuracy_km", &self.place.accuracy_km())?;
        form.serialize_field("device", &self.device)?;
        form.serialize_field("country", &self.place.country())?;
        form.end()
    }
}

/// A located login of the carry before `C`, as much of it as `foreign_majority` reads.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct CarriedLogin {
    pub at: i64,
    pub id: EventId,
    pub country: Country,
}

impl From<LocatedLogin> for CarriedLogin {
    fn from(login: LocatedLogin) -> Self {
        CarriedLogin {
            country: login.country(),
            at: login.at,
            id: login.id,
        }
    }
}

/// A login through vpn, tor or hosting: kept only for the shared-device index, compacted like
/// it (the earliest and the latest per device and bucket).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct HiddenLogin {
    pub at: i64,
    pub id: EventId,
    /// Index into [`super::AccountBook`]'s devices.
    pub device: u32,
}

/// The first login of an account from one device (or from any device, for `first_login`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct FirstUse {
    pub at: i64,
    pub id: EventId,
    /// Index into [`super::AccountBook`]'s devices.
    pub device: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Payout {
    pub at: i64,
    pub id: EventId,
    pub method: Box<str>,
    pub country: Country,
}

/// One login on a device, as the shared-device index keeps it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct DeviceUse {
    pub at: i64,
    pub id: EventId,
    /// Index into [`super::AccountBook`]'s accounts.
    pub account: usize,
}

/// Everything the rules need about one account. 104 bytes: what most accounts never have is
/// in [`Rare`], boxed, so that such an account pays 8 bytes for it, not 104; its first login
/// is not kept apart from its first login on each device ([`AccountState::first_login`]).
#[derive(Clone, Debug, Deserialize)]
#[serde(from = "AccountForm")]
pub(crate) struct AccountState {
    pub name: ShortText,
    /// The earliest `account_opened` (by time, then id); later ones are ignored.
    pub opened: Option<Opened>,
    /// The first login from each device the account ever used, located or not; few per
    /// account. Never dropped, so the earliest of them is the account's first login.
    pub devices: Vec<FirstUse>,
    /// Every located login, sorted: the location rules need the whole sequence for any `T`.
    /// Compacted, the logins from `C` on and the last one before it (`compact.rs`).
    pub located: Vec<LocatedLogin>,
    /// `None` while every list of [`Rare`] is empty (read through [`AccountState::rare`]).
    pub(super) rare: Option<Box<Rare>>,
}

/// What few accounts keep: a carry (only once compacted), logins through a VPN, TOR or a
/// hosting network, payout changes, instances stored by compaction.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Rare {
    /// Compacted, the rest of the carry before `located`, slimmed: `foreign_majority`'s
    /// window reads only their times, ids and countries.
    pub carried: Vec<CarriedLogin>,
    /// Non-located logins, sorted, at most two per device and bucket: what the shared-device
    /// index needs of them once a device is shared.
    pub hidden: Vec<HiddenLogin>,
    /// Every `payout_method_changed`, sorted.
    pub payouts: Vec<Payout>,
    /// Located logins compaction dropped before the carry: `new_country` adds them to each
    /// later login's count of earlier logins.
    pub dropped_located: u64,
    /// The instances compaction found before the boundary, sorted by [`Found::order`]. Only
    /// accounts opened before the boundary are compacted (`docs/retention.md`).
    pub found: Vec<Found>,
}

/// The [`Rare`] of an account that has none.
static NO_RARE: Rare = Rare {
    carried: Vec::new(),
    hidden: Vec::new(),
    payouts: Vec::new(),
    dropped_located: 0,
    found: Vec::new(),
};

impl Rare {
    fn is_empty(&self) -> bool {
        self == &NO_RARE
    }
}

impl SharedUses {
    fn is_empty(&self) -> bool {
        self.uses.is_empty() && self.links.is_empty()
    }
}

/// `value` boxed, or `None` when it holds nothing: how the rare parts of a record are kept.
fn boxed_unless_empty<T>(value: T, is_empty: fn(&T) -> bool) -> Option<Box<T>> {
    (!is_empty(&value)).then(|| Box::new(value))
}

/// An account as the canonical form lists its fields (`canonical.rs` writes them in this
/// order): what a snapshot is read back through.
#[derive(Deserialize)]
struct AccountForm {
    name: ShortText,
    opened: Option<Opened>,
    first_login: Option<FirstUse>,
    devices: Vec<FirstUse>,
    located: Vec<LocatedLogin>,
    carried: Vec<CarriedLogin>,
    hidden: Vec<HiddenLogin>,
    payouts: Vec<Payout>,
    dropped_located: u64,
    found: Vec<Found>,
}

impl From<AccountForm> for AccountState {
    fn from(form: AccountForm) -> Self {
        let rare = Rare {
            carried: form.carried,
            hidden: form.hidden,
            payouts: form.payouts,
            dropped_located: form.dropped_located,
            found: form.found,
        };
        // `first_login` is derived from `devices` (the canonical form writes it for the digest's
        // sake); the copy read is passed over: the snapshot's hashes vouch for its bytes.
        let _ = form.first_login;
        AccountState {
            name: form.name,
            opened: form.opened,
            devices: form.devices,
            located: form.located,
            rare: boxed_unless_empty(rare, Rare::is_empty),
        }
    }
}

/// An instance of a one-account rule whose latest event is before the boundary, kept with
/// what its signal is rendered from once the logins and payouts behind it are dropped.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) enum Found {
    ImpossibleTravel {
        from: LocatedLogin,
        to: LocatedLogin,
    },
    NewCountry {
        login: LocatedLogin,
        earlier_logins: u64,
        /// The countries of the lookback before it, sorted.
        previous: Vec<Country>,
    },
    PayoutAfterNewDevice {
        device: FirstUse,
        payout: Payout,
    },
}

impl Found {
    /// A total order on one account's instances, whichever compaction found them.
    pub fn order(&self) -> (u8, i64, &[u8], &[u8]) {
        match self {
            Found::ImpossibleTravel { from, to } => {
                (0, to.at, to.id.as_bytes(), from.id.as_bytes())
            }
            Found::NewCountry { login, .. } => (1, login.at, login.id.as_bytes(), &[]),
            Found::PayoutAfterNewDevice { device, payout } => {
                (2, payout.at, payout.id.as_bytes(), device.id.as_bytes())
            }
        }
    }
}

/// Where a compacted book's memory begins (`docs/retention.md`, stage 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Horizon {
    /// `B`: instances before it are stored; the book answers exactly at `T >= B`.
    pub boundary_at: i64,
    /// `C`: midnight UTC at or before `B` minus the rules' longest lookback. Before it, located
    /// logins are dropped but for a carry; device uses and hidden logins entirely.
    pub kept_from_at: i64,
}

/// One device. While a single account has used it (nearly every device), its logins are those
/// the account keeps (`located` and `hidden` with this device) and it has no uses: a device
/// used by one account links nothing. Once a second account signs in on it, its uses are the
/// logins of every account on it, sorted, compacted to at most two per account and bucket.
/// 56 bytes, the name inline: the device index holds slots only and compares names here, and
/// the uses and links of the few shared devices are boxed.
#[derive(Clone, Debug, Deserialize)]
#[serde(from = "DeviceForm")]
pub(crate) struct DeviceState {
    pub name: DeviceName,
    /// The only account that used the device so far; `None` once it is shared.
    pub sole: Option<usize>,
    /// While `sole` is set: when that account first signed in on the device (a copy of its
    /// first use, kept by the book, derived on load); `i64::MAX` otherwise. What a login's
    /// fast path reads ([`DeviceState::is_used_before_by`]), in the record the index lookup has
    /// just read.
    pub sole_first_at: i64,
    /// `None` while both lists are empty (read through [`DeviceState::uses`] and
    /// [`DeviceState::links`]).
    pub(super) shared: Option<Box<SharedUses>>,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct SharedUses {
    pub uses: Vec<DeviceUse>,
    /// The links compaction found before the boundary, sorted by their pair of accounts.
    pub links: Vec<Link>,
}

/// A device as the canonical form lists its fields.
#[derive(Deserialize)]
struct DeviceForm {
    name: DeviceName,
    sole: Option<usize>,
    uses: Vec<DeviceUse>,
    links: Vec<Link>,
}

impl From<DeviceForm> for DeviceState {
    fn from(form: DeviceForm) -> Self {
        let shared = SharedUses {
            uses: form.uses,
            links: form.links,
        };
        DeviceState {
            name: form.name,
            sole: form.sole,
            sole_first_at: i64::MAX,
            shared: boxed_unless_empty(shared, SharedUses::is_empty),
        }
    }
}

macro_rules! ordered {
    ($($t:ty),+) => {$(
        impl Ordered for $t {
            #[inline]
            fn key(&self) -> OrderKey<'_> {
                (self.at, self.id.as_bytes())
            }
        }
    )+};
}
ordered!(
    Opened,
    LocatedLogin,
    CarriedLogin,
    HiddenLogin,
    FirstUse,
    Payout,
    DeviceUse
);

impl Grouped for DeviceUse {
    fn group(&self) -> usize {
        self.account
    }
}

impl Grouped for HiddenLogin {
    fn group(&self) -> usize {
        self.device as usize
    }
}

/// Inserts `item` at its place in a sorted list; false when an item with the same key is
/// already there (the same event applied twice). Appending in time order is the fast path.
#[inline]
pub(crate) fn insert_sorted<T: Ordered>(list: &mut Vec<T>, item: T) -> bool {
    insert_sorted_at(list, item).is_some()
}

/// [`insert_sorted`], telling where the item went.
#[inline]
fn insert_sorted_at<T: Ordered>(list: &mut Vec<T>, item: T) -> Option<usize> {
    match list.last() {
        Some(last) if last.key() >= item.key() => insert_sorted_late(list, item),
        _ => {
            list.push(item);
            Some(list.len() - 1)
        }
    }
}

#[inline(never)]
fn insert_sorted_late<T: Ordered>(list: &mut Vec<T>, item: T) -> Option<usize> {
    match list.binary_search_by(|probe| probe.key().cmp(&item.key())) {
        Ok(_) => None,
        Err(position) => {
            list.insert(position, item);
            Some(position)
        }
    }
}

/// Inserts a located login at its place and keeps the cached angles current: its own (to the
/// login before it) and, when it arrived late, its successor's (which now follows it).
#[inline]
pub(crate) fn insert_located(list: &mut Vec<LocatedLogin>, item: LocatedLogin) {
    if let Some(position) = insert_sorted_at(list, item) {
        refresh_angle(list, position);
        refresh_angle(list, position + 1);
    }
}

/// Recomputes every cached angle of a sorted list (after loading a snapshot).
pub(crate) fn refresh_angles(list: &mut [LocatedLogin]) {
    (0..list.len()).for_each(|position| refresh_angle(list, position));
}

fn refresh_angle(list: &mut [LocatedLogin], position: usize) {
    let angle = match position
        .checked_sub(1)
        .map(|before| (&list[before], list.get(position)))
    {
        Some((before, Some(login))) => half_central_angle(before.point(), login.point()),
        Some((_, None)) => return,
        None => 0.0,
    };
    if let Some(login) = list.get_mut(position) {
        login.half_angle_to_previous = at_least_as_f32(angle);
    }
}

/// The least `f32` at or above `angle` (NaN stays NaN): rounding to nearest could give one
/// just below it, and the pre-filter would then read a pair as a hair shorter than it is.
fn at_least_as_f32(angle: f64) -> f32 {
    let narrow = angle as f32;
    if f64::from(narrow) < angle {
        narrow.next_up()
    } else {
        narrow
    }
}

impl LocatedLogin {
    #[inline]
    pub fn point(&self) -> Point {
        Point::new(self.place.lat(), self.place.lon())
    }

    #[inline]
    pub fn accuracy_km(&self) -> f64 {
        self.place.accuracy_km()
    }

    #[inline]
    pub fn country(&self) -> Country {
        self.place.country()
    }
}

/// Adds `item` to a sorted list that keeps, per group and bucket, only the earliest and the
/// latest item (by event order): the result depends only on the set of items added.
///
/// Why that loses nothing for shared devices: a dropped login `t` lies between the kept
/// `first < t < last` of its bucket, `last - first < bucket <= window`. Any other account's
/// login `b` within the window of `t` is also within the window of `first` (when
/// `b <= T < last`) or of `last`, so every link between two accounts exists at the same times
/// `T` with or without `t`.
pub(crate) fn keep_extremes<T: Grouped>(list: &mut Vec<T>, item: T) {
    let at = item.key().0;
    let group = item.group();
    let bucket_start = at
        .div_euclid(DEVICE_BUCKET_MICROS)
        .saturating_mul(DEVICE_BUCKET_MICROS);
    let bucket_end = bucket_start.saturating_add(DEVICE_BUCKET_MICROS);
    // Items mostly arrive in time order: the bucket is then the tail of the list, found
    // without a binary search (which costs a cache miss per step on a cold list).
    let to = if list.last().is_none_or(|last| last.key().0 < bucket_end) {
        list.len()
    } else {
        list.partition_point(|u| u.key().0 < bucket_end)
    };
    let in_bucket = list[..to]
        .iter()
        .rev()
        .take_while(|u| u.key().0 >= bucket_start)
        .count();
    let from = to - in_bucket;
    let mut same_group = (from..to).filter(|&i| list[i].group() == group);
    let earliest = same_group.next();
    let latest = same_group.next_back();
    match (earliest, latest) {
        (Some(earliest), Some(latest)) => {
            if item.key() < list[earliest].key() {
                // The old earliest is now in the middle: it goes.
                list.remove(earliest);
                insert_sorted(list, item);
            } else if item.key() > list[latest].key() {
                list.remove(latest);
                insert_sorted(list, item);
            }
        }
        // None or one item of the group in the bucket: keep this one too (unless it is that
        // very item again).
        _ => {
            insert_sorted(list, item);
        }
    }
}

/// Keeps whichever of the two comes first in the event order.
pub(crate) fn keep_earliest<T: Ordered>(slot: &mut Option<T>, item: T) {
    let replace = match slot {
        Some(current) => item.key() < current.key(),
        None => true,
    };
    if replace {
        *slot = Some(item);
    }
}

/// Items with `at <= until`: a prefix of a sorted list. Evaluations are mostly at the latest
/// event time, where it is the whole list: the last item, just touched, says so without a
/// binary search (a cache miss per step on a cold list).
#[inline]
pub(crate) fn until<T: Ordered>(list: &[T], until: i64) -> &[T] {
    match list.last() {
        Some(last) if last.key().0 <= until => list,
        _ => &list[..list.partition_point(|item| item.key().0 <= until)],
    }
}

impl AccountState {
    pub fn new(name: &str) -> Self {
        AccountState {
            name: ShortText::new(name),
            opened: None,
            devices: Vec::new(),
            located: Vec::new(),
            rare: None,
        }
    }

    /// The account's rare lists, empty when it has none.
    #[inline]
    pub fn rare(&self) -> &Rare {
        self.rare.as_deref().unwrap_or(&NO_RARE)
    }

    /// The account's rare lists, to change (boxed on first use; [`AccountState::tidy`] gives
    /// the box back once they are empty again).
    pub fn rare_mut(&mut self) -> &mut Rare {
        self.rare.get_or_insert_with(Box::default)
    }

    /// Gives back the box of rare lists that are all empty (after compaction dropped them).
    pub fn tidy(&mut self) {
        if self.rare.as_deref().is_some_and(Rare::is_empty) {
            self.rare = None;
        }
    }

    /// Records a login on `device`: keeps the earliest login of each device. Copies the id
    /// only when that changes (rarely, after the first few logins).
    #[inline]
    pub fn record_login(&mut self, at: i64, id: &EventId, device: usize) {
        let earlier_than = |first: &FirstUse| (at, id.as_bytes()) < first.key();
        let use_ = || FirstUse {
            at,
            id: id.clone(),
            device,
        };
        match self.devices.iter_mut().find(|known| known.device == device) {
            Some(known) if earlier_than(known) => *known = use_(),
            Some(_) => {}
            None => self.devices.push(use_()),
        }
    }

    /// The account's earliest login from any device, located or not (by time, then id; of
    /// equal ones, which only events that share an id can be, the one on the device recorded
    /// first).
    pub fn first_login(&self) -> Option<&FirstUse> {
        self.devices.iter().min_by(|a, b| a.key().cmp(&b.key()))
    }

    /// How many located logins precede the first of `located`: dropped or carried.
    pub fn logins_before_located(&self) -> u64 {
        let rare = self.rare();
        let carried = rare.carried.len() as u64;
        rare.dropped_located.saturating_add(carried)
    }

    /// When the account first signed in on `device`; `None` when it never did.
    pub fn first_use_of(&self, device: usize) -> Option<i64> {
        self.devices
            .iter()
            .find(|known| known.device == device)
            .map(|known| known.at)
    }

    /// The logins of this account on `device` that the shared-device index needs (every
    /// located one, the kept non-located ones), in no particular order.
    pub fn logins_on(&self, device: usize) -> impl Iterator<Item = (i64, &EventId)> + '_ {
        let located = self
            .located
            .iter()
            .filter(move |l| l.device as usize == device)
            .map(|l| (l.at, &l.id));
        let hidden = self
            .rare()
            .hidden
            .iter()
            .filter(move |l| l.device as usize == device)
            .map(|l| (l.at, &l.id));
        located.chain(hidden)
    }

    /// The account's home country and role as of `at`.
    pub fn opened_at(&self, at: i64) -> Option<&Opened> {
        self.opened.as_ref().filter(|opened| opened.at <= at)
    }

    /// Whether any event of this account happened at or before `at`.
    pub fn exists_at(&self, at: i64) -> bool {
        self.opened_at(at).is_some()
            || self.first_login().is_some_and(|first| first.at <= at)
            || self
                .rare()
                .payouts
                .first()
                .is_some_and(|payout| payout.at <= at)
    }
}

impl DeviceState {
    pub fn new(name: &str, account: usize) -> Self {
        DeviceState {
            name: DeviceName::new(name),
            sole: Some(account),
            sole_first_at: i64::MAX,
            shared: None,
        }
    }

    /// Whether a login of `account` at `at` on this device leaves the device and the
    /// account's first use of it as they are: the account alone has used the device, and
    /// first did strictly before `at` (a login at the same microsecond could come first by
    /// its id, so it takes the full path).
    #[inline]
    pub fn is_used_before_by(&self, account: usize, at: i64) -> bool {
        self.sole == Some(account) && at > self.sole_first_at
    }

    /// The shared-device index: every account's logins on the device, compacted.
    #[inline]
    pub fn uses(&self) -> &[DeviceUse] {
        self.shared.as_deref().map_or(&[], |shared| &shared.uses)
    }

    /// The links compaction found before the boundary.
    #[inline]
    pub fn links(&self) -> &[Link] {
        self.shared.as_deref().map_or(&[], |shared| &shared.links)
    }

    /// The uses and links, to change (boxed on first use; [`DeviceState::tidy`] gives the box
    /// back once both are empty again).
    pub fn shared_mut(&mut self) -> &mut SharedUses {
        self.shared.get_or_insert_with(Box::default)
    }

    /// Gives back the box of uses and links that are both empty (after compaction).
    pub fn tidy(&mut self) {
        if self.shared.as_deref().is_some_and(SharedUses::is_empty) {
            self.shared = None;
        }
    }

    /// Adds one login to the shared-device index, keeping per account and bucket only the
    /// earliest and the latest login.
    pub fn record_use(&mut self, at: i64, id: &EventId, account: usize) {
        keep_extremes(
            &mut self.shared_mut().uses,
            DeviceUse {
                at,
                id: id.clone(),
                account,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600 * Timestamp::MICROS_PER_SECOND;

    fn kept(order: &[(i64, &str, usize)]) -> Vec<(i64, String, usize)> {
        let mut device = DeviceState::new("d", 0);
        for &(at, id, account) in order {
            device.record_use(at, &EventId::new(id), account);
        }
        device
            .uses()
            .iter()
            .map(|u| (u.at, u.id.to_string(), u.account))
            .collect()
    }

    #[test]
    fn device_keeps_the_earliest_and_latest_login_per_account_and_day() {
        let day2 = DEVICE_BUCKET_MICROS;
        let logins = [
            (HOUR, "a1", 0),
            (5 * HOUR, "a2", 0),
            (9 * HOUR, "a3", 0),
            (3 * HOUR, "b1", 1),
            (day2 + HOUR, "a4", 0),
            (9 * HOUR, "a0", 0), // same time as a3, smaller id: a3 stays the latest
        ];
        let expected = vec![
            (HOUR, "a1".to_string(), 0),
            (3 * HOUR, "b1".to_string(), 1),
            (9 * HOUR, "a3".to_string(), 0),
            (day2 + HOUR, "a4".to_string(), 0),
        ];
        assert_eq!(kept(&logins), expected);
        let mut reversed = logins;
        reversed.reverse();
        assert_eq!(kept(&reversed), expected);
        // Applying a login again changes nothing.
        let mut twice = logins.to_vec();
        twice.extend(logins);
        assert_eq!(kept(&twice), expected);
    }

    /// The cached angle is the least `f32` at or above the angle: never below it (the
    /// pre-filter's bound), and no looser than it must be.
    #[test]
    fn the_cached_angle_is_the_least_f32_not_below_it() {
        use proptest::strategy::Strategy;
        const SEED: u64 = 0x0008_a4c1_e5f3;
        println!("proptest seed {SEED:#x}");
        let config = proptest::test_runner::Config {
            cases: 20_000,
            rng_seed: proptest::test_runner::RngSeed::Fixed(SEED),
            ..Default::default()
        };
        let angle = proptest::prop_oneof![
            0.0f64..=std::f64::consts::FRAC_PI_2,
            // Angles an f32 holds exactly.
            (0u32..1_000_000).prop_map(|n| f64::from(f32::from_bits(n + 0x3c00_0000))),
        ];
        proptest::test_runner::TestRunner::new(config)
            .run(&angle, |angle| {
                let cached = at_least_as_f32(angle);
                proptest::prop_assert!(f64::from(cached) >= angle);
                proptest::prop_assert!(f64::from(cached.next_down()) < angle);
                Ok(())
            })
            .unwrap();
        assert_eq!(at_least_as_f32(0.0), 0.0);
        assert!(at_least_as_f32(f64::NAN).is_nan());
    }

    /// The memory bound of `docs/policy-accounts.md` rests on these sizes (64-bit targets).
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn record_sizes_stay_as_documented() {
        use std::mem::size_of;
        assert_eq!(size_of::<LocatedLogin>(), 48);
        assert_eq!(size_of::<HiddenLogin>(), 32);
        assert_eq!(size_of::<CarriedLogin>(), 32);
        assert_eq!(size_of::<DeviceUse>(), 32);
        assert_eq!(size_of::<FirstUse>(), 32);
        assert!(
            size_of::<AccountState>() <= 104,
            "{}",
            size_of::<AccountState>()
        );
        assert_eq!(size_of::<DeviceState>(), 56);
    }
}
