//! The rules of `spec/policy.md` section 2 that look at one account alone. Each takes the
//! account's state and `T` and returns every instance that fired with events at or before `T`.
//! Shared devices, which look across accounts, are in `super::devices`.

use riskledger_events::{Country, Timestamp};

use super::report::{
    round_to, Figures, ForeignMajorityFigures, NewCountryFigures, PayoutFigures, Signal,
    SignalKind, TravelFigures,
};
use super::state::{until, AccountState, LocatedLogin};
use crate::geo::{effective_distance_km, haversine_km, Point};
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

/// The figures of one pair of consecutive located logins, rounded as they are reported.
fn travel_figures(policy: &AccountPolicy, from: &LocatedLogin, to: &LocatedLogin) -> TravelFigures {
    let distance_km = haversine_km(
        Point::new(from.lat, from.lon),
        Point::new(to.lat, to.lon),
        policy.earth_radius_km,
    );
    let accuracy_km = from.accuracy_km + to.accuracy_km;
    let effective_km = round_to(
        effective_distance_km(distance_km, from.accuracy_km, to.accuracy_km),
        10.0,
    );
    let elapsed_micros = to.at.saturating_sub(from.at);
    let min_elapsed_micros = policy
        .travel_min_elapsed_seconds
        .saturating_mul(Timestamp::MICROS_PER_SECOND);
    let counted_micros = elapsed_micros.max(min_elapsed_micros);
    let counted_hours = counted_micros as f64 / MICROS_PER_HOUR as f64;
    TravelFigures {
        from_country: country_text(from.country),
        to_country: country_text(to.country),
        distance_km: round_to(distance_km, 10.0),
        accuracy_km: round_to(accuracy_km, 10.0),
        effective_distance_km: effective_km,
        elapsed_seconds: round_to(elapsed_micros as f64 / 1e6, 1e3),
        counted_elapsed_seconds: round_to(counted_micros as f64 / 1e6, 1e3),
        speed_kmh: round_to(effective_km / counted_hours, 10.0),
    }
}

/// `impossible_travel`: every pair of consecutive located logins (event order) that covers at
/// least the minimum effective distance faster than the limit. Both comparisons are made on
/// the reported (rounded) figures.
pub(crate) fn impossible_travel(policy: &AccountPolicy, located: &[LocatedLogin]) -> Vec<Signal> {
    located
        .windows(2)
        .filter_map(|pair| {
            let figures = travel_figures(policy, &pair[0], &pair[1]);
            let far = figures.effective_distance_km >= policy.travel_min_distance_km;
            let fast = figures.speed_kmh > policy.travel_max_speed_kmh;
            (far && fast).then(|| Signal {
                kind: SignalKind::ImpossibleTravel,
                level: Level::High,
                at: rfc3339(pair[1].at),
                events: vec![pair[0].id.to_string(), pair[1].id.to_string()],
                figures: Figures::ImpossibleTravel(figures),
            })
        })
        .collect()
}

/// Login counts per country over a small set of countries (an account uses a handful).
#[derive(Default)]
struct CountryCounts(Vec<(Country, usize)>);

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

    fn sorted_countries(&self) -> Vec<String> {
        let mut countries: Vec<String> = self.0.iter().map(|(c, _)| country_text(*c)).collect();
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
pub(crate) fn foreign_majority(
    policy: &AccountPolicy,
    located: &[LocatedLogin],
    home: Option<Country>,
) -> Option<Signal> {
    let home = home?;
    let window = &located[located
        .len()
        .saturating_sub(policy.foreign_majority_window_logins)..];
    if window.len() < policy.foreign_majority_min_logins || window.is_empty() {
        return None;
    }
    let mut counts = CountryCounts::default();
    window.iter().for_each(|login| counts.add(login.country));
    let (country, count) = counts.top_other_than(home)?;
    // Integer comparison: count / len >= percent / 100, exactly.
    let majority =
        (count as u128) * 100 >= u128::from(policy.foreign_majority_percent) * window.len() as u128;
    majority.then(|| Signal {
        kind: SignalKind::ForeignMajority,
        level: Level::Medium,
        at: rfc3339(window[window.len() - 1].at),
        events: window.iter().map(|login| login.id.to_string()).collect(),
        figures: Figures::ForeignMajority(ForeignMajorityFigures {
            country: country_text(country),
            home_country: country_text(home),
            window_logins: window.len(),
            country_logins: count,
            share_percent: round_to(count as f64 * 100.0 / window.len() as f64, 10.0),
        }),
    })
}

/// `new_country`: every located login from a country that is neither home nor the country
/// of any located login in the lookback before it (`[at − lookback, at]`, earlier in event
/// order), once the account has the minimum number of earlier located logins. One sweep with
/// a sliding window of country counts.
pub(crate) fn new_country(
    policy: &AccountPolicy,
    located: &[LocatedLogin],
    home: Option<Country>,
) -> Vec<Signal> {
    let lookback_micros = days_micros(policy.new_country_lookback_days);
    let mut window = CountryCounts::default();
    let mut window_start = 0;
    let mut signals = Vec::new();
    for (earlier_logins, login) in located.iter().enumerate() {
        let oldest = login.at.saturating_sub(lookback_micros);
        while window_start < earlier_logins && located[window_start].at < oldest {
            window.remove(located[window_start].country);
            window_start += 1;
        }
        let is_new = Some(login.country) != home && !window.contains(login.country);
        if is_new && earlier_logins >= policy.new_country_min_earlier_logins {
            signals.push(Signal {
                kind: SignalKind::NewCountry,
                level: Level::Low,
                at: rfc3339(login.at),
                events: vec![login.id.to_string()],
                figures: Figures::NewCountry(NewCountryFigures {
                    country: country_text(login.country),
                    home_country: home.map(country_text),
                    previous_countries: window.sorted_countries(),
                    earlier_logins,
                    lookback_days: policy.new_country_lookback_days,
                }),
            });
        }
        window.add(login.country);
    }
    signals
}

/// `payout_after_new_device`: every payout change at or before `T` that comes 0 to the
/// policy's hours (both inclusive) after the first login from a device other than the
/// account's very first one. `device_name` turns a device index into its id.
pub(crate) fn payout_after_new_device<'a>(
    policy: &AccountPolicy,
    account: &AccountState,
    at: i64,
    home: Option<Country>,
    device_name: impl Fn(usize) -> &'a str,
) -> Vec<Signal> {
    let Some(first_login) = account.first_login.as_ref().filter(|first| first.at <= at) else {
        return Vec::new();
    };
    let max_micros = policy
        .payout_after_new_device_hours
        .saturating_mul(MICROS_PER_HOUR);
    let new_devices = account
        .devices
        .iter()
        .filter(|device| device.at <= at && device.device != first_login.device);
    let mut signals = Vec::new();
    for device in new_devices {
        for payout in until(&account.payouts, at) {
            let after_micros = payout.at.saturating_sub(device.at);
            if !(0..=max_micros).contains(&after_micros) {
                continue;
            }
            let abroad = home.is_some_and(|home| home != payout.country);
            signals.push(Signal {
                kind: SignalKind::PayoutAfterNewDevice,
                level: if abroad { Level::High } else { Level::Medium },
                at: rfc3339(payout.at),
                events: ordered_ids([(device.at, &*device.id), (payout.at, &*payout.id)]),
                figures: Figures::PayoutAfterNewDevice(PayoutFigures {
                    device: device_name(device.device).to_owned(),
                    first_device: device_name(first_login.device).to_owned(),
                    method: payout.method.to_string(),
                    payout_country: country_text(payout.country),
                    home_country: home.map(country_text),
                    hours_after_new_device: round_to(
                        after_micros as f64 / MICROS_PER_HOUR as f64,
                        100.0,
                    ),
                }),
            });
        }
    }
    signals
}

/// Event ids in event order (time, then id).
pub(crate) fn ordered_ids<const N: usize>(mut events: [(i64, &str); N]) -> Vec<String> {
    events.sort();
    events.iter().map(|(_, id)| id.to_string()).collect()
}
