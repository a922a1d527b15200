//! The rules of `spec/policy.md` section 2 that look at one account alone. Each takes the
//! account's state and `T` and yields every instance that fired with events at or before `T`,
//! as a lightweight value that holds the numbers it was decided on: the report turns each into
//! a [`Signal`] (text, rounded figures), the level-only path only counts them, and stops early.
//! Shared devices, which look across accounts, are in `super::devices`.

use std::ops::ControlFlow;

use riskledger_events::{Country, Timestamp};

use super::report::{
    round_to, Figures, ForeignMajorityFigures, NewCountryFigures, PayoutFigures, Signal,
    SignalKind, TravelFigures,
};
use super::state::{until, AccountState, CarriedLogin, FirstUse, LocatedLogin, Payout};
use crate::geo::{arc_km, effective_distance_km, half_central_angle};
use crate::policy::AccountPolicy;
use crate::Level;

const MICROS_PER_HOUR: i64 = 3_600 * Timestamp::MICROS_PER_SECOND;

pub(crate) fn rfc3339(at: i64) -> String {
    Timestamp(at).to_rfc3339()
}

fn country_text(country: Country) -> String {
    country.as_str().to_owned()
}

fn days_micros(days: i64) -> i64 {
    days.saturating_mul(Timestamp::MICROS_PER_DAY)
}

/// One pair of consecutive located logins, with the numbers `impossible_travel` decides on.
/// The report's figures and the level-only path both come from here: the same floats.
pub(crate) struct Travel<'a> {
    pub from: &'a LocatedLogin,
    pub to: &'a LocatedLogin,
    distance_km: f64,
    /// Rounded to 0.1 km, as reported.
    effective_km: f64,
    elapsed_micros: i64,
    counted_micros: i64,
}

impl<'a> Travel<'a> {
    /// Measured from the two places: `distance_km` is `haversine_km(from, to)` to the last bit.
    /// (The cached angle is an upper bound for the pre-filter only: see
    /// [`may_be_far_enough`].)
    pub fn new(policy: &AccountPolicy, from: &'a LocatedLogin, to: &'a LocatedLogin) -> Self {
        let half_angle = half_central_angle(from.point(), to.point());
        let distance_km = arc_km(half_angle, policy.earth_radius_km);
        let effective_km = round_to(
            effective_distance_km(distance_km, from.accuracy_km(), to.accuracy_km()),
            10.0,
        );
        let elapsed_micros = to.at.saturating_sub(from.at);
        let min_elapsed_micros = policy
            .travel_min_elapsed_seconds
            .saturating_mul(Timestamp::MICROS_PER_SECOND);
        Travel {
            from,
            to,
            distance_km,
            effective_km,
            elapsed_micros,
            counted_micros: elapsed_micros.max(min_elapsed_micros),
        }
    }

    /// `effective_km / counted hours`, rounded to 0.1 km/h, as reported.
    fn speed_kmh(&self) -> f64 {
        let counted_hours = self.counted_micros as f64 / MICROS_PER_HOUR as f64;
        round_to(self.effective_km / counted_hours, 10.0)
    }

    /// Both comparisons on the reported (rounded) figures; the speed only for a pair far
    /// enough apart.
    fn fires(&self, policy: &AccountPolicy) -> bool {
        self.effective_km >= policy.travel_min_distance_km
            && self.speed_kmh() > policy.travel_max_speed_kmh
    }

    pub fn signal(&self) -> Signal {
        let (from, to) = (self.from, self.to);
        Signal {
            kind: SignalKind::ImpossibleTravel,
            level: Level::High,
            at: rfc3339(to.at),
            events: vec![from.id.to_string(), to.id.to_string()],
            figures: Figures::ImpossibleTravel(TravelFigures {
                from_country: country_text(from.country()),
                to_country: country_text(to.country()),
                distance_km: round_to(self.distance_km, 10.0),
                accuracy_km: round_to(from.accuracy_km() + to.accuracy_km(), 10.0),
                effective_distance_km: self.effective_km,
                elapsed_seconds: round_to(self.elapsed_micros as f64 / 1e6, 1e3),
                counted_elapsed_seconds: round_to(self.counted_micros as f64 / 1e6, 1e3),
                speed_kmh: self.speed_kmh(),
            }),
        }
    }
}

/// `impossible_travel`: every pair of consecutive located logins (event order) that covers at
/// least the minimum effective distance faster than the limit, in event order.
pub(crate) fn impossible_travel<'a>(
    policy: &'a AccountPolicy,
    located: &'a [LocatedLogin],
) -> impl Iterator<Item = Travel<'a>> + 'a {
    let shortest_km = shortest_that_may_fire_km(policy);
    located
        .windows(2)
        .filter(move |pair| may_be_far_enough(policy, shortest_km, &pair[0], &pair[1]))
        .map(move |pair| Travel::new(policy, &pair[0], &pair[1]))
        .filter(move |travel| travel.fires(policy))
}

/// How far below the minimum distance an unrounded effective distance may lie and still fire:
/// rounding to 0.1 km moves it by 0.05 km at most, with room to spare.
const ROUNDING_SLACK_KM: f64 = 1.0;

/// Below this minimum, `minimum − slack` is exact and rounding to 0.1 km is accurate to far
/// less than the slack; above it (a policy no one would write, but the file allows it) the
/// pre-filter is off.
const LARGEST_FILTERED_MINIMUM_KM: f64 = 1e12;

/// The effective distance below which a pair cannot fire.
fn shortest_that_may_fire_km(policy: &AccountPolicy) -> f64 {
    if policy.travel_min_distance_km < LARGEST_FILTERED_MINIMUM_KM {
        policy.travel_min_distance_km - ROUNDING_SLACK_KM
    } else {
        f64::NEG_INFINITY
    }
}

/// False only for a pair that cannot fire: its effective distance is below
/// [`shortest_that_may_fire_km`]. Nearly every pair of a person's logins is settled here,
/// without the rounding [`Travel::new`] does (a libm call): a report reads every pair of the
/// account's history, so this is its inner loop.
#[inline]
fn may_be_far_enough(
    policy: &AccountPolicy,
    shortest_km: f64,
    from: &LocatedLogin,
    to: &LocatedLogin,
) -> bool {
    // The cached angle is rounded up, and `arc_km` and `effective_distance_km` never decrease
    // with it: this bound is never below the pair's exact effective distance.
    let distance_km = arc_km(f64::from(to.half_angle_to_previous), policy.earth_radius_km);
    effective_distance_km(distance_km, from.accuracy_km(), to.accuracy_km()) >= shortest_km
}

/// Login counts per country over a small set of countries (an account uses a handful).
#[derive(Default)]
pub(crate) struct CountryCounts(Vec<(Country, usize)>);

impl CountryCounts {
    fn add(&mut self, country: Country) {
        match self.0.iter_mut().find(|(c, _)| *c == country) {
            Some((_, count)) => *count += 1,
            None => self.0.push((country, 1)),
        }
    }

    fn remove(&mut self, country: Country) {
        if let Some(position) = self.0.iter().position(|(c, _)| *c == country) {
            self.0[position].1 -= 1;
            if self.0[position].1 == 0 {
                self.0.swap_remove(position);
            }
        }
    }

    fn contains(&self, country: Country) -> bool {
        self.0.iter().any(|(c, _)| *c == country)
    }

    pub fn sorted(&self) -> Vec<Country> {
        let mut countries: Vec<Country> = self.0.iter().map(|(c, _)| *c).collect();
        countries.sort_unstable();
        countries
    }

    /// The country with the most logins other than `home`; ties go to the lower code.
    fn top_other_than(&self, home: Country) -> Option<(Country, usize)> {
        self.0
            .iter()
            .filter(|(c, _)| *c != home)
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
            .copied()
    }
}

/// `foreign_majority`, as of `T` only (it describes the latest logins, not history): of the
/// last `window` located logins, at least `min` exist and one foreign country has at least
/// `percent` of them. Needs a home country.
pub(crate) struct ForeignMajority<'a> {
    /// The window: the end of the carried logins (a compacted account's), then of the located.
    carried: &'a [CarriedLogin],
    located: &'a [LocatedLogin],
    home: Country,
    country: Country,
    count: usize,
}

/// `carried` and `located` are one sequence: every carried login is earlier than the first
/// located one (`compact.rs`).
pub(crate) fn foreign_majority<'a>(
    policy: &AccountPolicy,
    carried: &'a [CarriedLogin],
    located: &'a [LocatedLogin],
    home: Option<Country>,
) -> Option<ForeignMajority<'a>> {
    let home = home?;
    let wanted = policy.foreign_majority_window_logins;
    let located = &located[located.len().saturating_sub(wanted)..];
    let carried = &carried[carried.len().saturating_sub(wanted - located.len())..];
    let window_logins = carried.len() + located.len();
    if window_logins < policy.foreign_majority_min_logins || window_logins == 0 {
        return None;
    }
    let mut counts = CountryCounts::default();
    carried.iter().for_each(|login| counts.add(login.country));
    located.iter().for_each(|login| counts.add(login.country()));
    let (country, count) = counts.top_other_than(home)?;
    // Integer comparison: count / len >= percent / 100, exactly.
    let majority = (count as u128) * 100
        >= u128::from(policy.foreign_majority_percent) * window_logins as u128;
    majority.then_some(ForeignMajority {
        carried,
        located,
        home,
        country,
        count,
    })
}

impl ForeignMajority<'_> {
    /// The time of its latest login.
    pub fn at(&self) -> i64 {
        match (self.located.last(), self.carried.last()) {
            (Some(login), _) => login.at,
            (None, Some(login)) => login.at,
            (None, None) => i64::MIN,
        }
    }

    pub fn signal(&self) -> Signal {
        let window_logins = self.carried.len() + self.located.len();
        let carried = self.carried.iter().map(|login| login.id.to_string());
        let located = self.located.iter().map(|login| login.id.to_string());
        Signal {
            kind: SignalKind::ForeignMajority,
            level: Level::Medium,
            at: rfc3339(self.at()),
            events: carried.chain(located).collect(),
            figures: Figures::ForeignMajority(ForeignMajorityFigures {
                country: country_text(self.country),
                home_country: country_text(self.home),
                window_logins,
                country_logins: self.count,
                share_percent: round_to(self.count as f64 * 100.0 / window_logins as f64, 10.0),
            }),
        }
    }
}

/// `new_country`: every located login from a country that is neither home nor the country
/// of any located login in the lookback before it (`[at − lookback, at]`, earlier in event
/// order), once the account has the minimum number of earlier located logins. One sweep with
/// a sliding window of country counts; `found` is called for each such login in event order,
/// with the count of earlier logins and the countries of the lookback, and stops the sweep by
/// returning `ControlFlow::Break`.
pub(crate) fn new_country(
    policy: &AccountPolicy,
    located: &[LocatedLogin],
    dropped_logins: u64,
    home: Option<Country>,
    mut found: impl FnMut(&LocatedLogin, usize, &CountryCounts) -> ControlFlow<()>,
) {
    let dropped_logins = usize::try_from(dropped_logins).unwrap_or(usize::MAX);
    let lookback_micros = days_micros(policy.new_country_lookback_days);
    let mut window = CountryCounts::default();
    let mut window_start = 0;
    for (position, login) in located.iter().enumerate() {
        let earlier_logins = dropped_logins.saturating_add(position);
        let oldest = login.at.saturating_sub(lookback_micros);
        while window_start < position && located[window_start].at < oldest {
            window.remove(located[window_start].country());
            window_start += 1;
        }
        let is_new = Some(login.country()) != home && !window.contains(login.country());
        if is_new
            && earlier_logins >= policy.new_country_min_earlier_logins
            && found(login, earlier_logins, &window).is_break()
        {
            return;
        }
        window.add(login.country());
    }
}

/// The `new_country` signal of one login [`new_country`] found.
pub(crate) fn new_country_signal(
    policy: &AccountPolicy,
    login: &LocatedLogin,
    earlier_logins: usize,
    previous: &[Country],
    home: Option<Country>,
) -> Signal {
    Signal {
        kind: SignalKind::NewCountry,
        level: Level::Low,
        at: rfc3339(login.at),
        events: vec![login.id.to_string()],
        figures: Figures::NewCountry(NewCountryFigures {
            country: country_text(login.country()),
            home_country: home.map(country_text),
            previous_countries: previous.iter().map(|c| country_text(*c)).collect(),
            earlier_logins,
            lookback_days: policy.new_country_lookback_days,
        }),
    }
}

/// `payout_after_new_device`: one (new device, payout change) pair that qualifies.
pub(crate) struct PayoutAfterNewDevice<'a> {
    first_device: usize,
    pub device: &'a FirstUse,
    pub payout: &'a Payout,
    after_micros: i64,
    home: Option<Country>,
    pub level: Level,
}

/// Every payout change at or before `T` that comes 0 to the policy's hours (both inclusive)
/// after the first login from a device other than the account's very first one: per new
/// device (in the account's order), per payout change (in event order).
pub(crate) fn payout_after_new_device<'a>(
    policy: &AccountPolicy,
    account: &'a AccountState,
    at: i64,
    home: Option<Country>,
) -> impl Iterator<Item = PayoutAfterNewDevice<'a>> + 'a {
    let first_login = account.first_login().filter(|first| first.at <= at);
    let max_micros = policy
        .payout_after_new_device_hours
        .saturating_mul(MICROS_PER_HOUR);
    let payouts = until(&account.rare().payouts, at);
    first_login.into_iter().flat_map(move |first_login| {
        account
            .devices
            .iter()
            .filter(move |device| device.at <= at && device.device != first_login.device)
            .flat_map(move |device| {
                payouts.iter().filter_map(move |payout| {
                    let found = PayoutAfterNewDevice::new(first_login.device, device, payout, home);
                    (0..=max_micros)
                        .contains(&found.after_micros)
                        .then_some(found)
                })
            })
    })
}

impl<'a> PayoutAfterNewDevice<'a> {
    /// The instance of `payout` after `device`'s first use, within the hours or not.
    pub fn new(
        first_device: usize,
        device: &'a FirstUse,
        payout: &'a Payout,
        home: Option<Country>,
    ) -> Self {
        PayoutAfterNewDevice {
            first_device,
            device,
            payout,
            after_micros: payout.at.saturating_sub(device.at),
            home,
            level: payout_level(payout, home),
        }
    }

    /// `device_name` turns a device index into its id.
    pub fn signal<'n>(&self, device_name: impl Fn(usize) -> &'n str) -> Signal {
        let (device, payout) = (self.device, self.payout);
        Signal {
            kind: SignalKind::PayoutAfterNewDevice,
            level: self.level,
            at: rfc3339(payout.at),
            events: ordered_ids([(device.at, &*device.id), (payout.at, &*payout.id)]),
            figures: Figures::PayoutAfterNewDevice(PayoutFigures {
                device: device_name(device.device).to_owned(),
                first_device: device_name(self.first_device).to_owned(),
                method: payout.method.to_string(),
                payout_country: country_text(payout.country),
                home_country: self.home.map(country_text),
                hours_after_new_device: round_to(
                    self.after_micros as f64 / MICROS_PER_HOUR as f64,
                    100.0,
                ),
            }),
        }
    }
}

/// Event ids in event order (time, then id).
/// A payout change after a new device is `high` when its country is not home, else `medium`.
pub(crate) fn payout_level(payout: &Payout, home: Option<Country>) -> Level {
    let abroad = home.is_some_and(|home| home != payout.country);
    if abroad {
        Level::High
    } else {
        Level::Medium
    }
}

pub(crate) fn ordered_ids<const N: usize>(mut events: [(i64, &str); N]) -> Vec<String> {
    events.sort();
    events.iter().map(|(_, id)| id.to_string()).collect()
}
