//! The plan: who the accounts are, which pairs work together, and what each will do over the
//! history, drawn once from the seed and kept in memory. Events are not stored: they are
//! computed from the plan, window by window (see `emit`), because every recurring event (a
//! login, a weekly payment) is a pure function of its stream's key and its index.

use riskledger_events::{
    ContractKind, ContractOutcome, Country, Currency, FlagOutcome, FlagReason, Network, Role,
};

use crate::geo::Atlas;
use crate::rng::{below_from, hash2, Rng};
use crate::time::{DAY, HOUR, MINUTE};

/// Latest a login may arrive after it happened (a login service's backlog).
pub const MAX_LATE: i64 = 3 * DAY;
/// Regular logins this close to a flight (before departure, after arrival) are not made: the
/// person is at an airport or in the air.
const FLIGHT_MARGIN: i64 = 2 * HOUR;
/// Airliner block speed: a flight of `d` km takes at least `d / 850` hours.
pub const AIRLINER_SPEED_KMH: f64 = 850.0;

/// Which member of a pair an action names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Client,
    Freelancer,
    System,
}

/// A device an account signs in from, and when.
#[derive(Clone, Debug)]
pub struct DeviceUse {
    /// Global device number (its id is derived from it, unique by construction).
    pub device: u64,
    pub from: i64,
    pub until: i64,
    /// For a device that arrives after the stream began: the time of the first regular login
    /// at or after `from`, which is pinned to this device (so the plan knows when the account
    /// first used it). `None` for the stream's first device.
    pub first_use: Option<i64>,
}

/// A trip away from home: regular logins happen at `city` between `arrive` and `back_depart`
/// and not at all around the flights.
#[derive(Clone, Copy, Debug)]
pub struct Trip {
    pub city: u16,
    pub depart: i64,
    pub arrive: i64,
    pub back_depart: i64,
    pub back_arrive: i64,
}

impl Trip {
    fn grounds(&self, at: i64) -> bool {
        let around = |start: i64, end: i64| at >= start - FLIGHT_MARGIN && at < end + FLIGHT_MARGIN;
        around(self.depart, self.arrive) || around(self.back_depart, self.back_arrive)
    }

    fn is_away(&self, at: i64) -> bool {
        at >= self.arrive && at < self.back_depart
    }
}

/// A recurring series of logins: login `k` happens at
/// `from + k * period + jitter(k)`, with `jitter(k)` in `[0, period / 2)`.
#[derive(Clone, Debug)]
pub struct LoginStream {
    pub from: i64,
    pub until: i64,
    pub period: i64,
    pub key: u64,
    pub city: u16,
    pub devices: Vec<DeviceUse>,
    pub trips: Vec<Trip>,
    /// Share of logins through a VPN, tor or hosting exit, per mille.
    pub vpn_per_mille: u16,
    /// Whether this stream's logins may arrive late.
    pub may_arrive_late: bool,
}

const TIME_SALT: u64 = 0x7131_e5a1_7000_0001;

impl LoginStream {
    pub fn time_of(&self, k: u64) -> i64 {
        let jitter = below_from(hash2(self.key ^ TIME_SALT, k), (self.period / 2) as u64) as i64;
        self.from + k as i64 * self.period + jitter
    }

    /// The first index whose time may be at or after `t`.
    pub fn first_index_near(&self, t: i64) -> u64 {
        if t <= self.from {
            return 0;
        }
        // One step back: the jitter may put an index's login after `t`.
        ((t - self.from) / self.period - 1).max(0) as u64
    }

    /// Whether login `k` (at `at`) is made at all: not around a flight.
    pub fn is_made(&self, at: i64) -> bool {
        at < self.until && !self.trips.iter().any(|trip| trip.grounds(at))
    }

    /// The time of the first login made at or after `t`, if any.
    pub fn first_login_at_or_after(&self, t: i64) -> Option<i64> {
        let mut k = self.first_index_near(t);
        loop {
            let at = self.time_of(k);
            if at >= self.until {
                return None;
            }
            if at >= t && self.is_made(at) {
                return Some(at);
            }
            k += 1;
        }
    }

    /// Every login made in `[from, until)`, for plan-time checks.
    pub fn login_times(&self) -> impl Iterator<Item = i64> + '_ {
        (0..)
            .map(|k| self.time_of(k))
            .take_while(|&at| at < self.until)
            .filter(|&at| self.is_made(at))
    }

    pub fn city_at(&self, at: i64) -> u16 {
        self.trips
            .iter()
            .find(|trip| trip.is_away(at))
            .map_or(self.city, |trip| trip.city)
    }

    /// The device of the login at `at` (the `k`-th): a newly arrived device takes its first
    /// login; otherwise any device in use then.
    pub fn device_for(&self, k: u64, at: i64) -> u64 {
        if let Some(pinned) = self.devices.iter().find(|d| d.first_use == Some(at)) {
            return pinned.device;
        }
        let active = self.devices.iter().filter(|d| d.from <= at && at < d.until);
        let count = active.clone().count() as u64;
        match active
            .clone()
            .nth(below_from(hash2(self.key ^ 0xde71ce, k), count.max(1)) as usize)
        {
            Some(d) => d.device,
            None => self.devices[0].device,
        }
    }

    /// The device in use at `at` that a scripted login takes: the first listed one.
    pub fn main_device_at(&self, at: i64) -> u64 {
        self.devices
            .iter()
            .find(|d| d.from <= at && at < d.until)
            .unwrap_or(&self.devices[0])
            .device
    }

    /// Pins each device that arrives after the stream began to its first login.
    pub fn settle_devices(&mut self) {
        for i in 0..self.devices.len() {
            let from = self.devices[i].from;
            self.devices[i].first_use = if from > self.from {
                self.first_login_at_or_after(from)
            } else {
                None
            };
        }
    }
}

/// A one-off account event.
#[derive(Clone, Debug)]
pub enum AccountAction {
    Login {
        device: u64,
        city: u16,
        network: Network,
    },
    PayoutChanged {
        method: u64,
        country: Country,
    },
}

#[derive(Clone, Debug)]
pub struct Account {
    pub role: Role,
    pub home: u16,
    /// The verified home country (the home city's).
    pub country: Country,
    pub opened_at: i64,
    pub key: u64,
    /// The account's home broadband address (the last byte varies).
    pub home_ip: [u8; 4],
    pub streams: Vec<LoginStream>,
    /// One-off events, sorted by time before emission.
    pub scripted: Vec<(i64, AccountAction)>,
}

/// A one-off pair event.
#[derive(Clone, Debug)]
pub enum PairAction {
    FlagRaised {
        flag: u64,
        reporter: Side,
        subject: Side,
        counterparty: Option<Side>,
        reason: FlagReason,
        note: Option<u8>,
    },
    FlagResolved {
        flag: u64,
        outcome: FlagOutcome,
    },
    PriorRelationshipProven {
        since_days: i32,
    },
    ConversionFeePaid {
        amount_minor: u64,
    },
}

/// The one contract of a pair, its weekly payments and how it ends.
#[derive(Clone, Debug)]
pub struct Contract {
    pub start: i64,
    pub kind: ContractKind,
    pub rate_minor: Option<u64>,
    pub currency: Currency,
    /// Typical payment (fixed price) or hours basis (hourly: rate × hours).
    pub base_amount_minor: u64,
    /// Payments happen in `[payments_from, payments_until)`.
    pub payments_from: i64,
    pub payments_until: i64,
    pub end: Option<(i64, ContractOutcome)>,
}

/// Payment `j` of a contract is due one week after the previous one, give or take 6 hours.
pub const PAYMENT_INTERVAL: i64 = 7 * DAY;
const PAYMENT_JITTER: i64 = 6 * HOUR;

impl Contract {
    pub fn payment_time(&self, key: u64, j: u64) -> i64 {
        let jitter =
            below_from(hash2(key ^ 0x9a7, j), (2 * PAYMENT_JITTER) as u64) as i64 - PAYMENT_JITTER;
        self.start + (j as i64 + 1) * PAYMENT_INTERVAL + jitter
    }

    pub fn payment_amount(&self, key: u64, j: u64) -> u64 {
        let h = hash2(key ^ 0xa30, j);
        match self.rate_minor {
            // 5 to 40 hours in the week.
            Some(rate) => rate * (5 + below_from(h, 36)),
            // A milestone of 50% to 150% of the typical one.
            None => (self.base_amount_minor * (50 + below_from(h, 101)) / 100).max(100),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Pair {
    pub client: u32,
    pub freelancer: u32,
    pub key: u64,
    pub contract: Contract,
    pub scripted: Vec<(i64, PairAction)>,
}

/// Phrases of flag notes, by reason.
pub const OFF_PLATFORM_NOTES: &[&str] = &[
    "asked to be paid by bank transfer",
    "offered a 10% discount for paying through PayPal directly",
    "suggested moving the next milestone off the platform to save the fee",
    "asked for payment in USDT outside the contract",
    "proposed paying cash for the remaining work",
    "sent an invoice from a personal company for the same work",
];
pub const CONTACT_INFO_NOTES: &[&str] = &[
    "shared a WhatsApp number in the first message",
    "posted a personal email address in the chat",
    "asked to continue the conversation on Telegram",
    "put a Skype id in the attached brief",
    "left a phone number in the milestone description",
];

/// Complaints that are not about leaving the platform (reason `other`): no pair signal.
pub const OTHER_NOTES: &[&str] = &[
    "missed two milestone deadlines",
    "delivered work that does not match the brief",
    "client stopped answering messages",
    "asked for unpaid extra revisions",
];

/// The notes a flag of `reason` may carry.
pub fn notes_for(reason: FlagReason) -> &'static [&'static str] {
    match reason {
        FlagReason::ContactInfo => CONTACT_INFO_NOTES,
        FlagReason::OffPlatformPayment => OFF_PLATFORM_NOTES,
        _ => OTHER_NOTES,
    }
}

/// A fresh, unused id number.
#[derive(Debug, Default)]
pub struct Counters {
    pub device: u64,
    pub flag: u64,
    pub method: u64,
}

impl Counters {
    pub fn device(&mut self) -> u64 {
        self.device += 1;
        self.device
    }
    pub fn flag(&mut self) -> u64 {
        self.flag += 1;
        self.flag
    }
    pub fn method(&mut self) -> u64 {
        self.method += 1;
        self.method
    }
}

/// Draws from `rng` a public-looking IPv4 address (first octets of large regional blocks).
pub fn public_ipv4(draw: u64) -> [u8; 4] {
    const FIRST: &[u8] = &[
        24, 31, 37, 41, 46, 49, 58, 62, 77, 78, 81, 86, 89, 91, 95, 103, 109, 112, 117, 122, 138,
        151, 176, 178, 185, 188, 190, 196, 200, 203, 212, 217,
    ];
    let b = draw.to_le_bytes();
    [
        FIRST[below_from(draw, FIRST.len() as u64) as usize],
        b[1],
        b[2],
        1 + b[3] % 254,
    ]
}

/// Hosting ranges VPN exits come from.
pub fn hosting_ipv4(draw: u64) -> [u8; 4] {
    const PREFIXES: &[[u8; 2]] = &[
        [45, 83],
        [45, 134],
        [89, 187],
        [146, 70],
        [185, 159],
        [193, 32],
        [194, 36],
        [209, 58],
        [91, 207],
    ];
    let p = PREFIXES[below_from(draw, PREFIXES.len() as u64) as usize];
    let b = draw.to_le_bytes();
    [p[0], p[1], b[2], 1 + b[3] % 254]
}

/// Hours of flight between two cities, rounded up to the minute, at airliner speed.
pub fn flight_time(atlas: &Atlas, from: u16, to: u16) -> i64 {
    let distance_km = atlas.distance_km(from, to);
    let minutes = (distance_km / AIRLINER_SPEED_KMH * 60.0).ceil() as i64;
    minutes.max(30) * MINUTE
}

/// A trip from `home` to `city`: leaves at `depart`, stays `stay`.
pub fn make_trip(
    atlas: &Atlas,
    rng: &mut Rng,
    home: u16,
    city: u16,
    depart: i64,
    stay: i64,
) -> Trip {
    let out = flight_time(atlas, home, city) + rng.range(0, 45) * MINUTE;
    let back = flight_time(atlas, city, home) + rng.range(0, 45) * MINUTE;
    let arrive = depart + out;
    Trip {
        city,
        depart,
        arrive,
        back_depart: arrive + stay,
        back_arrive: arrive + stay + back,
    }
}
