//! Turns the plan into events, one time window at a time, in arrival order.
//!
//! For each window, every account and pair adds the events that *arrive* in it to a buffer of
//! compact records; the buffer is sorted by (arrival, event time, unit) and written out. Only
//! the plan and one window's records are ever in memory.

use riskledger_events::{
    Body, ContractKind, ContractOutcome, Country, Date, Event, Ip, Network, Reporter, Role,
    Timestamp,
};

use crate::build::Population;
use crate::geo::{jitter_e4, Atlas};
use crate::plan::*;
use crate::rng::{below_from, hash2, mix64};
use crate::time::{DAY, MINUTE};

/// What a login looked like to the login service.
#[derive(Clone, Copy, Debug)]
pub struct LoginSpec {
    pub device: u64,
    pub lat_e4: i32,
    pub lon_e4: i32,
    pub country: Country,
    pub accuracy_km: u8,
    pub network: Network,
    pub ip: Ip,
}

#[derive(Clone, Copy, Debug)]
pub enum RecBody {
    Opened {
        account: u32,
    },
    Login {
        account: u32,
        spec: LoginSpec,
    },
    Payout {
        account: u32,
        method: u64,
        country: Country,
    },
    Started {
        pair: u32,
    },
    Ended {
        pair: u32,
        outcome: ContractOutcome,
    },
    Payment {
        pair: u32,
        amount_minor: u64,
    },
    /// The `action`-th scripted event of the pair.
    PairAction {
        pair: u32,
        action: u32,
    },
}

/// One event to be written, before ids are given.
#[derive(Clone, Copy, Debug)]
pub struct Rec {
    pub arrival: i64,
    pub at: i64,
    pub unit: u32,
    pub body: RecBody,
}

/// Adds the events of `population` that arrive in `[from, until)` to `out`.
pub fn collect_window(
    population: &Population,
    atlas: &Atlas,
    late_per_mille: u32,
    from: i64,
    until: i64,
    out: &mut Vec<Rec>,
) {
    for (index, account) in population.accounts.iter().enumerate() {
        account_events(
            atlas,
            index as u32,
            account,
            late_per_mille,
            from,
            until,
            out,
        );
    }
    let first_pair_unit = population.accounts.len() as u32;
    for (index, pair) in population.pairs.iter().enumerate() {
        pair_events(
            first_pair_unit + index as u32,
            index as u32,
            pair,
            from,
            until,
            out,
        );
    }
}

fn in_window(at: i64, from: i64, until: i64) -> bool {
    at >= from && at < until
}

fn account_events(
    atlas: &Atlas,
    account: u32,
    plan: &Account,
    late_per_mille: u32,
    from: i64,
    until: i64,
    out: &mut Vec<Rec>,
) {
    if in_window(plan.opened_at, from, until) {
        out.push(Rec {
            arrival: plan.opened_at,
            at: plan.opened_at,
            unit: account,
            body: RecBody::Opened { account },
        });
    }
    for stream in &plan.streams {
        stream_logins(
            atlas,
            account,
            plan,
            stream,
            late_per_mille,
            from,
            until,
            out,
        );
    }
    let first = plan.scripted.partition_point(|(at, _)| *at < from);
    for (at, action) in plan.scripted[first..]
        .iter()
        .take_while(|(at, _)| *at < until)
    {
        let body = match *action {
            AccountAction::Login {
                device,
                city,
                network,
            } => {
                let spec = scripted_login(
                    atlas,
                    plan,
                    device,
                    city,
                    network,
                    hash2(plan.key, *at as u64),
                );
                RecBody::Login { account, spec }
            }
            AccountAction::PayoutChanged { method, country } => RecBody::Payout {
                account,
                method,
                country,
            },
        };
        out.push(Rec {
            arrival: *at,
            at: *at,
            unit: account,
            body,
        });
    }
}

#[allow(clippy::too_many_arguments)]
fn stream_logins(
    atlas: &Atlas,
    account: u32,
    plan: &Account,
    stream: &LoginStream,
    late_per_mille: u32,
    from: i64,
    until: i64,
    out: &mut Vec<Rec>,
) {
    // A login that happened up to MAX_LATE before the window may arrive in it.
    let earliest = from.saturating_sub(MAX_LATE);
    let mut k = stream.first_index_near(earliest);
    loop {
        let at = stream.time_of(k);
        if at >= until || at >= stream.until {
            return;
        }
        if at >= earliest && stream.is_made(at) {
            let h = hash2(stream.key, k);
            let arrival = at + lateness(stream, late_per_mille, h);
            if in_window(arrival, from, until) {
                let spec = regular_login(atlas, plan, stream, k, at, h);
                out.push(Rec {
                    arrival,
                    at,
                    unit: account,
                    body: RecBody::Login { account, spec },
                });
            }
        }
        k += 1;
    }
}

/// How late a login arrives: most at once, a few (`late_per_mille`) up to three days late.
fn lateness(stream: &LoginStream, late_per_mille: u32, h: u64) -> i64 {
    if !stream.may_arrive_late || below_from(hash2(h, 7), 1000) >= u64::from(late_per_mille) {
        return 0;
    }
    10 * MINUTE + below_from(hash2(h, 8), (MAX_LATE - 10 * MINUTE) as u64) as i64
}

fn regular_login(
    atlas: &Atlas,
    plan: &Account,
    stream: &LoginStream,
    k: u64,
    at: i64,
    h: u64,
) -> LoginSpec {
    let device = stream.device_for(k, at);
    if below_from(hash2(h, 1), 1000) < u64::from(stream.vpn_per_mille) {
        let exit = below_from(hash2(h, 2), atlas.len() as u64) as u16;
        return hidden_login(atlas, device, exit, None, hash2(h, 3));
    }
    let city = stream.city_at(at);
    let network = if below_from(hash2(h, 4), 100) < 35 {
        Network::Mobile
    } else {
        Network::Residential
    };
    located_login(atlas, plan, device, city, network, at, hash2(h, 5))
}

fn scripted_login(
    atlas: &Atlas,
    plan: &Account,
    device: u64,
    city: u16,
    network: Network,
    h: u64,
) -> LoginSpec {
    if network.hides_location() {
        hidden_login(atlas, device, city, Some(network), h)
    } else {
        located_login(atlas, plan, device, city, network, 0, h)
    }
}

/// A login through a VPN, tor or a hosting provider: geolocated to the exit, confidently.
fn hidden_login(
    atlas: &Atlas,
    device: u64,
    exit: u16,
    network: Option<Network>,
    h: u64,
) -> LoginSpec {
    let network = network.unwrap_or(match below_from(hash2(h, 1), 100) {
        0..=79 => Network::Vpn,
        80..=94 => Network::Hosting,
        _ => Network::Tor,
    });
    let city = atlas.city(exit);
    let accuracy_km = 5 + below_from(hash2(h, 2), 46) as u8;
    let (lat_e4, lon_e4) = jitter_e4(city, f64::from(accuracy_km) * 0.6, hash2(h, 3));
    LoginSpec {
        device,
        lat_e4,
        lon_e4,
        country: city.country,
        accuracy_km,
        network,
        ip: Ip::V4(hosting_ipv4(hash2(h, 4))),
    }
}

/// A login from a real place: within 60% of its stated accuracy of the city, so that the
/// policy's accuracy allowance always covers the jitter.
fn located_login(
    atlas: &Atlas,
    plan: &Account,
    device: u64,
    city: u16,
    network: Network,
    at: i64,
    h: u64,
) -> LoginSpec {
    let accuracy_km = match network {
        Network::Residential => 5 + below_from(hash2(h, 1), 21) as u8,
        _ => 10 + below_from(hash2(h, 1), 41) as u8,
    };
    let place = atlas.city(city);
    let (lat_e4, lon_e4) = jitter_e4(place, f64::from(accuracy_km) * 0.6, hash2(h, 2));
    let ip = if network == Network::Residential && city == plan.home {
        // The home line keeps its address for weeks at a time.
        let mut ip = plan.home_ip;
        ip[3] = 1 + (mix64(plan.key ^ (at / (45 * DAY)) as u64) % 254) as u8;
        Ip::V4(ip)
    } else if network == Network::Mobile && below_from(hash2(h, 3), 100) < 40 {
        let mut v6 = [0u8; 16];
        v6[..8].copy_from_slice(&hash2(h, 4).to_be_bytes());
        v6[8..].copy_from_slice(&hash2(h, 5).to_be_bytes());
        v6[0] = 0x2a;
        v6[1] = 0x02;
        Ip::V6(v6)
    } else {
        Ip::V4(public_ipv4(hash2(h, 6)))
    };
    LoginSpec {
        device,
        lat_e4,
        lon_e4,
        country: place.country,
        accuracy_km,
        network,
        ip,
    }
}

fn pair_events(unit: u32, pair: u32, plan: &Pair, from: i64, until: i64, out: &mut Vec<Rec>) {
    let contract = &plan.contract;
    if in_window(contract.start, from, until) {
        out.push(Rec {
            arrival: contract.start,
            at: contract.start,
            unit,
            body: RecBody::Started { pair },
        });
    }
    let mut j = if from > contract.start {
        ((from - contract.start) / PAYMENT_INTERVAL - 2).max(0) as u64
    } else {
        0
    };
    loop {
        let at = contract.payment_time(plan.key, j);
        if at >= until || at >= contract.payments_until {
            break;
        }
        if at >= from && at >= contract.payments_from {
            let amount_minor = contract.payment_amount(plan.key, j);
            out.push(Rec {
                arrival: at,
                at,
                unit,
                body: RecBody::Payment { pair, amount_minor },
            });
        }
        j += 1;
    }
    if let Some((at, outcome)) = contract.end {
        if in_window(at, from, until) {
            out.push(Rec {
                arrival: at,
                at,
                unit,
                body: RecBody::Ended { pair, outcome },
            });
        }
    }
    let first = plan.scripted.partition_point(|(at, _)| *at < from);
    for (offset, (at, _)) in plan.scripted[first..]
        .iter()
        .enumerate()
        .take_while(|(_, (at, _))| *at < until)
    {
        let action = (first + offset) as u32;
        out.push(Rec {
            arrival: *at,
            at: *at,
            unit,
            body: RecBody::PairAction { pair, action },
        });
    }
}

/// Opaque, unique ids for everything, derived from the seed.
pub struct Names {
    account_multiplier: u64,
    account_offset: u64,
    accounts: u64,
    /// Every account's role, one byte each: the id's prefix, looked up for every event.
    roles: Vec<Role>,
    device_key: u64,
    flag_key: u64,
    method_key: u64,
    contract_key: u64,
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// `prefix` then `value` in 16 lower-case hex digits (what `format!("{prefix}{value:016x}")`
/// gives, without the formatting machinery: ids are made for every event).
fn hex_id(prefix: &str, value: u64) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut id = String::with_capacity(prefix.len() + 16);
    id.push_str(prefix);
    for shift in (0..16).rev() {
        id.push(char::from(HEX[((value >> (shift * 4)) & 15) as usize]));
    }
    id
}

/// `prefix` then `value` in decimal, zero-padded to at least `width` digits.
pub fn decimal_id(prefix: &str, mut value: u64, width: usize) -> String {
    let mut digits = [b'0'; 20];
    let mut used = 0;
    while value > 0 || used < width.max(1) {
        digits[19 - used] = b'0' + (value % 10) as u8;
        value /= 10;
        used += 1;
    }
    let mut id = String::with_capacity(prefix.len() + used);
    id.push_str(prefix);
    id.push_str(std::str::from_utf8(&digits[20 - used..]).expect("ASCII digits"));
    id
}

impl Names {
    pub fn new(seed: u64, population: &Population) -> Self {
        let n = (population.accounts.len() as u64).max(1);
        // idx -> (idx * m + c) mod n is a permutation when gcd(m, n) = 1: account numbers look
        // scattered, and stay unique.
        let mut multiplier = (mix64(seed ^ 0xacc0) % n).max(1);
        while gcd(multiplier, n) != 1 {
            multiplier = multiplier % n + 1;
        }
        Names {
            account_multiplier: multiplier,
            account_offset: mix64(seed ^ 0x0ff5e7) % n,
            accounts: n,
            roles: population.accounts.iter().map(|a| a.role).collect(),
            device_key: mix64(seed ^ 0xde1),
            flag_key: mix64(seed ^ 0xf1a9),
            method_key: mix64(seed ^ 0x3e7d),
            contract_key: mix64(seed ^ 0xc0de),
        }
    }

    pub fn account(&self, index: u32) -> String {
        // Both factors are below 2^31, so the product fits in a u64.
        let number =
            (u64::from(index) * self.account_multiplier + self.account_offset) % self.accounts;
        let prefix = match self.roles[index as usize] {
            Role::Client => "c-",
            Role::Freelancer => "f-",
            Role::Agency => "a-",
        };
        decimal_id(prefix, number, 7)
    }

    pub fn device(&self, device: u64) -> String {
        hex_id("d-", mix64(self.device_key ^ device))
    }

    pub fn flag(&self, flag: u64) -> String {
        hex_id("fl-", mix64(self.flag_key ^ flag))
    }

    pub fn method(&self, method: u64) -> String {
        hex_id("pm-", mix64(self.method_key ^ method))
    }

    pub fn contract(&self, pair: u32) -> String {
        hex_id("k-", mix64(self.contract_key ^ u64::from(pair)))
    }
}

/// Builds the event of a record (its id is the caller's).
pub fn to_event(population: &Population, names: &Names, id: String, rec: &Rec) -> Event {
    let account_id = |index: u32| names.account(index);
    let body = match rec.body {
        RecBody::Opened { account } => {
            let plan = &population.accounts[account as usize];
            Body::AccountOpened {
                account: account_id(account),
                role: plan.role,
                country: country_of(population, account),
            }
        }
        RecBody::Login { account, spec } => Body::Login {
            account: account_id(account),
            device: names.device(spec.device),
            ip: spec.ip,
            lat: f64::from(spec.lat_e4) / 1e4,
            lon: f64::from(spec.lon_e4) / 1e4,
            country: spec.country,
            accuracy_km: f64::from(spec.accuracy_km),
            network: Some(spec.network),
        },
        RecBody::Payout {
            account,
            method,
            country,
        } => Body::PayoutMethodChanged {
            account: account_id(account),
            method: names.method(method),
            country,
        },
        RecBody::Started { pair } => {
            let plan = &population.pairs[pair as usize];
            let c = &plan.contract;
            Body::ContractStarted {
                contract: names.contract(pair),
                client: account_id(plan.client),
                freelancer: account_id(plan.freelancer),
                currency: c.currency,
                kind: c.kind,
                rate_minor: if c.kind == ContractKind::Hourly {
                    c.rate_minor
                } else {
                    None
                },
            }
        }
        RecBody::Ended { pair, outcome } => Body::ContractEnded {
            contract: names.contract(pair),
            outcome,
        },
        RecBody::Payment { pair, amount_minor } => Body::Payment {
            contract: names.contract(pair),
            amount_minor,
            currency: population.pairs[pair as usize].contract.currency,
        },
        RecBody::PairAction { pair, action } => {
            let plan = &population.pairs[pair as usize];
            pair_action_body(
                population,
                names,
                pair,
                plan,
                &plan.scripted[action as usize].1,
            )
        }
    };
    Event {
        id,
        at: Timestamp(event_time(rec.at)),
        body,
    }
}

/// Event times are written to the millisecond, as login and payment services log them (the
/// plan works in microseconds; flooring keeps every order and every margin of the plan).
pub fn event_time(at_micros: i64) -> i64 {
    at_micros - at_micros.rem_euclid(1_000)
}

fn country_of(population: &Population, account: u32) -> Country {
    population.accounts[account as usize].country
}

fn pair_action_body(
    population: &Population,
    names: &Names,
    pair: u32,
    plan: &Pair,
    action: &PairAction,
) -> Body {
    let account_id = |index: u32| names.account(index);
    let side = |side: Side| match side {
        Side::Client => account_id(plan.client),
        Side::Freelancer => account_id(plan.freelancer),
        Side::System => Reporter::SYSTEM.to_owned(),
    };
    match *action {
        PairAction::FlagRaised {
            flag,
            reporter,
            subject,
            counterparty,
            reason,
            note,
        } => {
            let notes = notes_for(reason);
            Body::FlagRaised {
                flag: names.flag(flag),
                reporter: match reporter {
                    Side::System => Reporter::System,
                    other => Reporter::Account(side(other)),
                },
                subject: side(subject),
                counterparty: counterparty.map(side),
                reason,
                note: note.map(|n| notes[usize::from(n)].to_owned()),
            }
        }
        PairAction::FlagResolved { flag, outcome } => Body::FlagResolved {
            flag: names.flag(flag),
            outcome,
        },
        PairAction::PriorRelationshipProven { since_days } => Body::PriorRelationshipProven {
            client: account_id(plan.client),
            freelancer: account_id(plan.freelancer),
            since: Date(since_days),
        },
        PairAction::ConversionFeePaid { amount_minor } => Body::ConversionFeePaid {
            client: account_id(plan.client),
            freelancer: account_id(plan.freelancer),
            amount_minor,
            currency: population.pairs[pair as usize].contract.currency,
        },
    }
}
