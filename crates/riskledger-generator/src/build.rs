//! Draws the population: labelled cases first (each on fresh accounts, so one account carries
//! at most one label), then the honest majority, then the honest pairs.

use riskledger_events::{
    ContractKind, ContractOutcome, Currency, FlagOutcome, FlagReason, Network, Role,
};

use crate::geo::{Atlas, Market};
use crate::labels::{AccountKind, AccountLabel, PairKind, PairLabel};
use crate::plan::*;
use crate::rng::Rng;
use crate::time::{DAY, HOUR, MINUTE};
use crate::{Config, GenerateError};

/// Everything the emitter needs: the plan of every account and pair, and the labels.
#[derive(Debug)]
pub struct Population {
    pub accounts: Vec<Account>,
    pub pairs: Vec<Pair>,
    pub pair_labels: Vec<PairLabel>,
    pub account_labels: Vec<AccountLabel>,
    pub start: i64,
    pub end: i64,
}

/// Currencies contracts are written in; a client elsewhere contracts in USD.
const CONTRACT_CURRENCIES: &[&str] = &[
    "USD", "EUR", "GBP", "CAD", "AUD", "CHF", "SEK", "NZD", "SGD",
];

struct Builder<'a> {
    atlas: &'a Atlas,
    rng: Rng,
    start: i64,
    end: i64,
    accounts: Vec<Account>,
    pairs: Vec<Pair>,
    pair_labels: Vec<PairLabel>,
    account_labels: Vec<AccountLabel>,
    ids: Counters,
    cases: u32,
}

pub fn build(config: &Config, atlas: &Atlas) -> Result<Population, GenerateError> {
    let (start, end) = config.history_bounds();
    let mut b = Builder {
        atlas,
        rng: Rng::new(config.seed),
        start,
        end,
        accounts: Vec::new(),
        pairs: Vec::new(),
        pair_labels: Vec::new(),
        account_labels: Vec::new(),
        ids: Counters::default(),
        cases: 0,
    };
    for &kind in PairKind::ALL {
        for _ in 0..config.pair_cases(kind) {
            b.pair_case(kind);
        }
    }
    let honest_pool_from = b.accounts.len() as u32;
    for &kind in AccountKind::ALL {
        for _ in 0..config.account_cases(kind) {
            b.account_case(kind);
        }
    }
    if b.accounts.len() as u64 >= config.accounts && config.accounts > 0 {
        return Err(GenerateError::Config(format!(
            "the configured rates need {} accounts for labelled cases, but only {} are generated",
            b.accounts.len(),
            config.accounts
        )));
    }
    while (b.accounts.len() as u64) < config.accounts {
        b.honest_account();
    }
    b.honest_pairs(honest_pool_from);
    b.add_clock_login();
    for account in &mut b.accounts {
        account.scripted.sort_by_key(|(at, _)| *at);
    }
    for pair in &mut b.pairs {
        pair.scripted.sort_by_key(|(at, _)| *at);
    }
    Ok(Population {
        accounts: b.accounts,
        pairs: b.pairs,
        pair_labels: b.pair_labels,
        account_labels: b.account_labels,
        start,
        end,
    })
}

impl Builder<'_> {
    // ---- places -------------------------------------------------------------------------

    fn home_city(&mut self) -> u16 {
        let draw = self.rng.next_u64();
        self.atlas.weighted_city(Market::Anyone, draw)
    }

    fn home_city_for(&mut self, role: Role) -> u16 {
        let market = if role == Role::Client {
            Market::Clients
        } else {
            Market::Freelancers
        };
        let draw = self.rng.next_u64();
        self.atlas.weighted_city(market, draw)
    }

    fn any_city(&mut self) -> u16 {
        self.rng.below(self.atlas.len() as u64) as u16
    }

    fn foreign_city(&mut self, home: u16) -> u16 {
        let home_country = self.atlas.city(home).country;
        loop {
            let city = self.any_city();
            if self.atlas.city(city).country != home_country {
                return city;
            }
        }
    }

    /// A city in another country at least `min_distance_km` away (the farthest of a few tries
    /// when none is that far).
    fn far_city(&mut self, home: u16, min_distance_km: f64) -> u16 {
        let mut best = self.foreign_city(home);
        for _ in 0..200 {
            if self.atlas.distance_km(home, best) >= min_distance_km {
                break;
            }
            let candidate = self.foreign_city(home);
            if self.atlas.distance_km(home, candidate) > self.atlas.distance_km(home, best) {
                best = candidate;
            }
        }
        best
    }

    // ---- accounts -----------------------------------------------------------------------

    fn random_role(&mut self) -> Role {
        match self.rng.below(100) {
            0..=34 => Role::Client,
            35..=92 => Role::Freelancer,
            _ => Role::Agency,
        }
    }

    fn freelancer_side_role(&mut self) -> Role {
        if self.rng.chance(100) {
            Role::Agency
        } else {
            Role::Freelancer
        }
    }

    /// Opened some months before the history or early in it: has plenty of logins to judge.
    fn early_opening(&mut self) -> i64 {
        self.rng
            .range(self.start - 120 * DAY, self.start + 45 * DAY)
    }

    /// A plain account: one device, logins every 2 to 6 days from home, and (freelancers and
    /// agencies) a payout method set up right after opening. Returns its index.
    fn add_account(&mut self, role: Role, home: u16, opened_at: i64) -> u32 {
        let from = opened_at.max(self.start) + self.rng.range(5 * MINUTE, 3 * HOUR);
        let period = self.rng.range(2 * DAY, 6 * DAY) / 1_000_000 * 1_000_000;
        let device = self.ids.device();
        let stream = LoginStream {
            from,
            until: self.end,
            period,
            key: self.rng.key(),
            city: home,
            devices: vec![DeviceUse {
                device,
                from,
                until: i64::MAX,
                first_use: None,
            }],
            trips: Vec::new(),
            vpn_per_mille: 0,
            may_arrive_late: true,
        };
        let mut scripted = Vec::new();
        if role != Role::Client {
            // Before the first login could be followed by a new device: never suspicious.
            let at = from + self.rng.range(HOUR, 36 * HOUR);
            let country = self.atlas.city(home).country;
            scripted.push((
                at,
                AccountAction::PayoutChanged {
                    method: self.ids.method(),
                    country,
                },
            ));
        }
        let draw = self.rng.next_u64();
        self.accounts.push(Account {
            role,
            home,
            country: self.atlas.city(home).country,
            opened_at,
            key: self.rng.key(),
            home_ip: public_ipv4(draw),
            streams: vec![stream],
            scripted,
        });
        (self.accounts.len() - 1) as u32
    }

    fn stream(&mut self, account: u32) -> &mut LoginStream {
        &mut self.accounts[account as usize].streams[0]
    }

    fn login(&mut self, account: u32, at: i64, device: u64, city: u16, network: Network) {
        self.accounts[account as usize].scripted.push((
            at,
            AccountAction::Login {
                device,
                city,
                network,
            },
        ));
    }

    fn payout(&mut self, account: u32, at: i64, country: riskledger_events::Country) {
        let method = self.ids.method();
        self.accounts[account as usize]
            .scripted
            .push((at, AccountAction::PayoutChanged { method, country }));
    }

    /// Adds a trip to the account's main stream, with the logins just before departure
    /// (optional) and just after each landing that make it look fast but honest.
    fn add_trip(&mut self, account: u32, trip: Trip, login_before_departure: bool) {
        let home = self.accounts[account as usize].home;
        let before = trip.depart - self.rng.range(30 * MINUTE, 90 * MINUTE);
        let landed = trip.arrive + self.rng.range(20 * MINUTE, 90 * MINUTE);
        let leaving = trip.back_depart - self.rng.range(30 * MINUTE, 90 * MINUTE);
        let home_again = trip.back_arrive + self.rng.range(20 * MINUTE, 90 * MINUTE);
        let stream = self.stream(account);
        stream.trips.push(trip);
        let device_at = |t: i64| stream.main_device_at(t);
        let (d_before, d_landed, d_leaving, d_home) = (
            device_at(before),
            device_at(landed),
            device_at(leaving),
            device_at(home_again),
        );
        if login_before_departure {
            self.login(account, before, d_before, home, Network::Mobile);
        }
        self.login(account, landed, d_landed, trip.city, Network::Mobile);
        self.login(account, leaving, d_leaving, trip.city, Network::Residential);
        self.login(account, home_again, d_home, home, Network::Mobile);
    }

    /// A new device arriving at `at`; with `replaces`, the old ones stop at the same time.
    fn add_device(&mut self, account: u32, at: i64, replaces: bool) -> u64 {
        let device = self.ids.device();
        let stream = self.stream(account);
        if replaces {
            for d in &mut stream.devices {
                d.until = d.until.min(at);
            }
        }
        stream.devices.push(DeviceUse {
            device,
            from: at,
            until: i64::MAX,
            first_use: None,
        });
        stream.settle_devices();
        device
    }

    /// The first use of the device that arrived last (the end of history if never used).
    fn last_device_first_use(&mut self, account: u32) -> i64 {
        let end = self.end;
        let stream = self.stream(account);
        stream
            .devices
            .last()
            .and_then(|d| d.first_use)
            .unwrap_or(end)
    }

    fn honest_account(&mut self) {
        let role = self.random_role();
        let home = self.home_city_for(role);
        let opened_at = if self.rng.chance(200) {
            self.rng.range(self.start - 700 * DAY, self.start)
        } else {
            self.rng
                .range(self.start, self.start + (self.end - self.start) * 7 / 10)
        };
        let account = self.add_account(role, home, opened_at);
        let from = self.stream(account).from;
        if self.rng.chance(150) {
            let vpn = self.rng.range(30, 150) as u16;
            self.stream(account).vpn_per_mille = vpn;
        }
        if self.rng.chance(400) && from + 30 * DAY < self.end - 15 * DAY {
            let at = self.rng.range(from + 30 * DAY, self.end - 15 * DAY);
            let replaces = self.rng.chance(250);
            self.add_device(account, at, replaces);
        }
        if self.rng.chance(150) {
            self.domestic_trips(account);
        }
        self.stream(account).settle_devices();
        if role != Role::Client && self.rng.chance(200) {
            self.honest_payout_change(account);
        }
    }

    /// One or two trips inside the home country, at airliner speed.
    fn domestic_trips(&mut self, account: u32) {
        let home = self.accounts[account as usize].home;
        let others = self.atlas.same_country(home);
        if others.is_empty() {
            return;
        }
        let from = self.stream(account).from;
        let mut earliest = from + 20 * DAY;
        for _ in 0..2 {
            let latest = self.end - 30 * DAY;
            if earliest >= latest {
                return;
            }
            let depart = self
                .rng
                .range(earliest, earliest + (latest - earliest) / 2 + 1);
            let city = *self.rng.pick(&others);
            let stay = self.rng.range(3 * DAY, 10 * DAY);
            let trip = make_trip(self.atlas, &mut self.rng, home, city, depart, stay);
            if trip.back_arrive + DAY >= self.end - 10 * DAY {
                return;
            }
            self.add_trip(account, trip, true);
            earliest = trip.back_arrive + 30 * DAY;
        }
    }

    /// A payout change well away from any new device (more than a day before it arrives, or
    /// more than 5 days after its first use).
    fn honest_payout_change(&mut self, account: u32) {
        let from = self.stream(account).from;
        if from + 20 * DAY >= self.end - 2 * DAY {
            return;
        }
        let at = self.rng.range(from + 20 * DAY, self.end - 2 * DAY);
        let end = self.end;
        let stream = self.stream(account);
        let near_new_device = stream
            .devices
            .iter()
            .filter(|d| d.from > stream.from)
            .any(|d| at >= d.from - DAY && at <= d.first_use.unwrap_or(end) + 5 * DAY);
        if !near_new_device {
            let country = self.accounts[account as usize].country;
            self.payout(account, at, country);
        }
    }

    // ---- pairs --------------------------------------------------------------------------

    fn draw_contract(&mut self, client: u32, start: i64) -> Contract {
        let local = self
            .atlas
            .city(self.accounts[client as usize].home)
            .currency;
        let currency = if CONTRACT_CURRENCIES.contains(&local.as_str()) && self.rng.chance(600) {
            local
        } else {
            Currency::parse("USD").expect("a currency")
        };
        let hourly = self.rng.chance(600);
        Contract {
            start,
            kind: if hourly {
                ContractKind::Hourly
            } else {
                ContractKind::Fixed
            },
            rate_minor: hourly.then(|| self.rng.range(1_200, 9_000) as u64 / 50 * 50),
            currency,
            base_amount_minor: self.rng.range(5_000, 300_000) as u64 / 100 * 100,
            payments_from: start.max(self.start) + DAY,
            payments_until: self.end,
            end: None,
        }
    }

    fn random_outcome(&mut self) -> ContractOutcome {
        match self.rng.below(100) {
            0..=79 => ContractOutcome::Completed,
            80..=93 => ContractOutcome::Cancelled,
            _ => ContractOutcome::Disputed,
        }
    }

    fn add_pair(&mut self, client: u32, freelancer: u32, contract: Contract) -> usize {
        let key = self.rng.key();
        self.pairs.push(Pair {
            client,
            freelancer,
            key,
            contract,
            scripted: Vec::new(),
        });
        self.pairs.len() - 1
    }

    fn end_contract(&mut self, pair: usize, at: i64) {
        let outcome = self.random_outcome();
        let contract = &mut self.pairs[pair].contract;
        contract.end = Some((at, outcome));
        contract.payments_until = contract.payments_until.min(at - HOUR);
    }

    /// Honest pairs: each freelancer-side account works for up to three distinct clients.
    fn honest_pairs(&mut self, pool_from: u32) {
        let pool = pool_from as usize..self.accounts.len();
        let clients: Vec<u32> = pool
            .clone()
            .filter(|&i| self.accounts[i].role == Role::Client)
            .map(|i| i as u32)
            .collect();
        if clients.is_empty() {
            return;
        }
        let freelancers: Vec<u32> = pool
            .filter(|&i| self.accounts[i].role != Role::Client)
            .map(|i| i as u32)
            .collect();
        for freelancer in freelancers {
            let wanted = match self.rng.below(100) {
                0..=24 => 0,
                25..=59 => 1,
                60..=84 => 2,
                _ => 3,
            };
            let mut chosen: Vec<u32> = Vec::new();
            for _ in 0..wanted {
                let client = *self.rng.pick(&clients);
                if !chosen.contains(&client) {
                    chosen.push(client);
                }
            }
            for client in chosen {
                self.honest_contract(client, freelancer);
            }
        }
    }

    fn honest_contract(&mut self, client: u32, freelancer: u32) {
        let both_open = self.accounts[client as usize]
            .opened_at
            .max(self.accounts[freelancer as usize].opened_at);
        let earliest = both_open.max(self.start) + DAY;
        let latest = self.end - 7 * DAY;
        if earliest >= latest {
            return;
        }
        let start = self.rng.range(earliest, latest);
        let contract = self.draw_contract(client, start);
        let pair = self.add_pair(client, freelancer, contract);
        if self.rng.chance(500) {
            let at = start + self.rng.range(21 * DAY, 200 * DAY);
            if at < self.end - DAY {
                self.end_contract(pair, at);
            }
        }
        // Ordinary complaints (reason `other`): they name the pair but are no sign of leaving it.
        if self.rng.chance(20) && start + 10 * DAY < self.end - 2 * DAY {
            let at = self.rng.range(start + 10 * DAY, self.end - 2 * DAY);
            let flag = self.raise_flag(pair, at, FlagReason::Other);
            if self.rng.chance(700) && at + 2 * DAY < self.end {
                let decided = self.rng.range(at + DAY, (at + 9 * DAY).min(self.end - DAY));
                let outcome = if self.rng.chance(500) {
                    FlagOutcome::Dismissed
                } else {
                    FlagOutcome::Confirmed
                };
                self.resolve_flag(pair, flag, decided, outcome);
            }
        }
    }

    fn next_case(&mut self) -> u32 {
        self.cases += 1;
        self.cases
    }

    /// Who raises a flag about a pair, always naming both (reporter and subject, or subject
    /// and counterparty).
    fn flag_parties(&mut self) -> (Side, Side, Option<Side>) {
        match self.rng.below(4) {
            0 => (Side::Freelancer, Side::Client, None),
            1 => (Side::Client, Side::Freelancer, None),
            2 => (Side::System, Side::Client, Some(Side::Freelancer)),
            _ => (Side::System, Side::Freelancer, Some(Side::Client)),
        }
    }

    fn raise_flag(&mut self, pair: usize, at: i64, reason: FlagReason) -> u64 {
        let flag = self.ids.flag();
        let (reporter, subject, counterparty) = self.flag_parties();
        let notes = notes_for(reason);
        let note = self
            .rng
            .chance(750)
            .then(|| self.rng.below(notes.len() as u64) as u8);
        self.pairs[pair].scripted.push((
            at,
            PairAction::FlagRaised {
                flag,
                reporter,
                subject,
                counterparty,
                reason,
                note,
            },
        ));
        flag
    }

    fn resolve_flag(&mut self, pair: usize, flag: u64, at: i64, outcome: FlagOutcome) {
        self.pairs[pair]
            .scripted
            .push((at, PairAction::FlagResolved { flag, outcome }));
    }

    /// Payments stop 65 to 150 days before the end (after at least 4 weeks of them), and the
    /// contract stays open.
    fn stop_payments(&mut self, pair: usize) -> i64 {
        let met = self.pairs[pair].contract.start.max(self.start);
        let stop = self.rng.range(
            (met + 29 * DAY).max(self.end - 150 * DAY),
            self.end - 65 * DAY,
        );
        self.pairs[pair].contract.payments_until = stop;
        stop
    }

    fn pair_case(&mut self, kind: PairKind) {
        let case = self.next_case();
        let old = kind == PairKind::AfterWindow;
        let opening = |b: &mut Self| {
            if old {
                b.rng.range(b.end - 1_000 * DAY, b.end - 920 * DAY)
            } else {
                b.rng.range(b.start - 200 * DAY, b.start + 30 * DAY)
            }
        };
        let client_home = self.home_city_for(Role::Client);
        let freelancer_home = self.home_city_for(Role::Freelancer);
        let (client_opened, freelancer_opened) = (opening(self), opening(self));
        let client = self.add_account(Role::Client, client_home, client_opened);
        let role = self.freelancer_side_role();
        let freelancer = self.add_account(role, freelancer_home, freelancer_opened);
        let met = if old {
            self.rng.range(self.end - 900 * DAY, self.end - 800 * DAY)
        } else {
            let earliest = client_opened.max(freelancer_opened).max(self.start) + DAY;
            self.rng.range(earliest, self.end - 150 * DAY)
        };
        let contract = self.draw_contract(client, met);
        let pair = self.add_pair(client, freelancer, contract);
        self.pair_labels.push(PairLabel {
            client,
            freelancer,
            kind,
            case,
        });
        let first_flag_at =
            |b: &mut Self| b.rng.range(met.max(b.start) + 14 * DAY, b.end - 12 * DAY);
        match kind {
            PairKind::OffPlatformConfirmed => {
                let at = first_flag_at(self);
                let flag = self.raise_flag(pair, at, FlagReason::OffPlatformPayment);
                let decided = at + self.rng.range(DAY, 10 * DAY);
                self.resolve_flag(pair, flag, decided, FlagOutcome::Confirmed);
                match self.rng.below(3) {
                    0 => {
                        let ended = decided + self.rng.range(HOUR, DAY);
                        self.end_contract(pair, ended);
                    }
                    1 => {
                        self.stop_payments(pair);
                    }
                    _ => {}
                }
            }
            PairKind::OffPlatformOpen => {
                let at = first_flag_at(self);
                self.raise_flag(pair, at, FlagReason::OffPlatformPayment);
                if self.rng.chance(400) {
                    let ended = self.rng.range(at + DAY, self.end - DAY);
                    self.end_contract(pair, ended);
                }
            }
            PairKind::OffPlatformOpenPaymentsStopped => {
                let stop = self.stop_payments(pair);
                // Reported before or after the money stopped.
                let at = self.rng.range(
                    met.max(self.start) + 14 * DAY,
                    (stop + 40 * DAY).min(self.end - 3 * DAY),
                );
                self.raise_flag(pair, at, FlagReason::OffPlatformPayment);
            }
            PairKind::ContactInfo => {
                let at = first_flag_at(self);
                let flag = self.raise_flag(pair, at, FlagReason::ContactInfo);
                if self.rng.chance(300) {
                    let decided = at + self.rng.range(DAY, 8 * DAY);
                    self.resolve_flag(pair, flag, decided, FlagOutcome::Confirmed);
                }
                if self.rng.chance(300) {
                    let ended = self.rng.range(at + DAY, self.end - DAY);
                    self.end_contract(pair, ended);
                }
            }
            PairKind::ContactInfoPaymentsStopped => {
                let stop = self.stop_payments(pair);
                let at = self.rng.range(met.max(self.start) + 7 * DAY, stop);
                let flag = self.raise_flag(pair, at, FlagReason::ContactInfo);
                if self.rng.chance(300) {
                    let decided = at + self.rng.range(DAY, 8 * DAY);
                    self.resolve_flag(pair, flag, decided, FlagOutcome::Confirmed);
                }
            }
            PairKind::ExemptPriorRelationship => {
                let since_days = (met / DAY - self.rng.range(200, 2_500)) as i32;
                let proven = self.rng.range(met + HOUR, self.end - 5 * DAY);
                self.pairs[pair]
                    .scripted
                    .push((proven, PairAction::PriorRelationshipProven { since_days }));
                let stop = self.stop_payments(pair);
                let at = self
                    .rng
                    .range(met.max(self.start) + 7 * DAY, stop + 30 * DAY);
                let flag = self.raise_flag(pair, at, FlagReason::OffPlatformPayment);
                if self.rng.chance(400) {
                    let decided = at + self.rng.range(DAY, 8 * DAY);
                    self.resolve_flag(pair, flag, decided, FlagOutcome::Confirmed);
                }
            }
            PairKind::ExemptFeePaid => {
                let paid = self.rng.range(met + 30 * DAY, self.end - 70 * DAY);
                let c = &self.pairs[pair].contract;
                let yearly = c
                    .rate_minor
                    .map_or(c.base_amount_minor * 52, |rate| rate * 2_080);
                let amount_minor = (yearly * 12).div_ceil(100);
                self.pairs[pair]
                    .scripted
                    .push((paid, PairAction::ConversionFeePaid { amount_minor }));
                // They moved off the platform: payments stop soon after, the contract stays open.
                let stop = (paid + self.rng.range(0, 10 * DAY)).min(self.end - 65 * DAY);
                self.pairs[pair].contract.payments_until = stop;
                let at = self.rng.range(paid + DAY, self.end - 3 * DAY);
                self.raise_flag(pair, at, FlagReason::OffPlatformPayment);
            }
            PairKind::AfterWindow => {
                let stop = self.stop_payments(pair);
                let at = self.rng.range(self.start + 10 * DAY, self.end - 3 * DAY);
                let flag = self.raise_flag(pair, at, FlagReason::OffPlatformPayment);
                if self.rng.chance(300) {
                    let decided = (at + self.rng.range(DAY, 8 * DAY)).min(self.end - HOUR);
                    self.resolve_flag(pair, flag, decided, FlagOutcome::Confirmed);
                }
                let _ = stop;
            }
            PairKind::DecoyFlagDismissed => {
                let at = first_flag_at(self);
                let reason = if self.rng.chance(650) {
                    FlagReason::OffPlatformPayment
                } else {
                    FlagReason::ContactInfo
                };
                let flag = self.raise_flag(pair, at, reason);
                let decided = at + self.rng.range(DAY, 10 * DAY);
                self.resolve_flag(pair, flag, decided, FlagOutcome::Dismissed);
            }
            PairKind::DecoyPaymentsPaused => {
                self.stop_payments(pair);
            }
        }
    }

    // ---- account cases ------------------------------------------------------------------

    fn label(&mut self, account: u32, kind: AccountKind, case: u32) {
        self.account_labels.push(AccountLabel {
            account,
            kind,
            case,
        });
    }

    fn plain_early_account(&mut self, role: Role, home: u16) -> u32 {
        let opened = self.early_opening();
        self.add_account(role, home, opened)
    }

    fn account_case(&mut self, kind: AccountKind) {
        let case = self.next_case();
        match kind {
            AccountKind::DeviceFarm => self.device_farm(case),
            AccountKind::ClientFreelancerDevice => self.shared_device(case, kind, true),
            AccountKind::SharedDevicePair => self.shared_device(case, kind, false),
            AccountKind::TakeoverAbroad => self.takeover(case, kind, None),
            AccountKind::TakeoverAbroadPayout => self.takeover(case, kind, Some(true)),
            AccountKind::TwoMediumSignals => self.takeover(case, kind, Some(false)),
            AccountKind::ImpossibleTravel => self.impossible_travel(case),
            AccountKind::PayoutNewDeviceForeign => {
                self.payout_after_new_device(case, kind, 2 * HOUR, 60 * HOUR, true)
            }
            AccountKind::PayoutNewDeviceHome => {
                self.payout_after_new_device(case, kind, 2 * HOUR, 60 * HOUR, false)
            }
            AccountKind::DecoyPayoutAfter4Days => {
                let foreign = self.rng.chance(500);
                self.payout_after_new_device(case, kind, 96 * HOUR, 120 * HOUR, foreign)
            }
            AccountKind::DecoyAirlineTravel => self.airline_travel(case),
            AccountKind::DecoyVpnHops => self.vpn_hops(case),
            AccountKind::DecoyFamilyDevice => self.family_device(case),
            AccountKind::DecoyNewCountryFewLogins => self.new_country_few_logins(case),
        }
    }

    /// Three to six accounts on one device within days: fake accounts made on it, or bought
    /// accounts that the farm signs in to in a burst.
    fn device_farm(&mut self, case: u32) {
        let size = 3 + self.rng.below(4);
        let farm_city = self.home_city();
        let farm_device = self.ids.device();
        if self.rng.chance(500) {
            let opened = self.rng.range(self.start + 10 * DAY, self.end - 90 * DAY);
            for _ in 0..size {
                let role = if self.rng.chance(200) {
                    Role::Client
                } else {
                    Role::Freelancer
                };
                let at = opened + self.rng.range(0, 5 * DAY);
                let account = self.add_account(role, farm_city, at);
                let stream = self.stream(account);
                stream.devices = vec![DeviceUse {
                    device: farm_device,
                    from: stream.from,
                    until: i64::MAX,
                    first_use: None,
                }];
                self.label(account, AccountKind::DeviceFarm, case);
            }
        } else {
            let domestic = self.atlas.same_country(farm_city);
            let burst = self.rng.range(self.start + 40 * DAY, self.end - 10 * DAY);
            for _ in 0..size {
                let home = if domestic.is_empty() || self.rng.chance(500) {
                    farm_city
                } else {
                    *self.rng.pick(&domestic)
                };
                let account = self.plain_early_account(Role::Freelancer, home);
                for _ in 0..2 + self.rng.below(2) {
                    let at = burst + self.rng.range(0, 5 * DAY);
                    self.login(account, at, farm_device, farm_city, Network::Residential);
                }
                self.label(account, AccountKind::DeviceFarm, case);
            }
        }
    }

    /// A second account signs in a few times, within a week, on the first one's device.
    fn shared_device(&mut self, case: u32, kind: AccountKind, client_and_freelancer: bool) {
        let home = self.home_city();
        let (first_role, second_role) = if client_and_freelancer {
            (Role::Client, Role::Freelancer)
        } else if self.rng.chance(500) {
            (Role::Freelancer, Role::Freelancer)
        } else {
            (Role::Client, Role::Client)
        };
        let owner = self.plain_early_account(first_role, home);
        let borrower = self.plain_early_account(second_role, home);
        let device = self.stream(owner).devices[0].device;
        let at = self.rng.range(self.start + 50 * DAY, self.end - 10 * DAY);
        for _ in 0..2 + self.rng.below(3) {
            let when = at + self.rng.range(0, 7 * DAY);
            self.login(borrower, when, device, home, Network::Residential);
        }
        if client_and_freelancer {
            // The same person hiring themself: a contract between the two.
            let opened = self.accounts[owner as usize]
                .opened_at
                .max(self.accounts[borrower as usize].opened_at);
            let start = self
                .rng
                .range(opened.max(self.start) + DAY, self.end - 30 * DAY);
            let contract = self.draw_contract(owner, start);
            self.add_pair(owner, borrower, contract);
        }
        self.label(owner, kind, case);
        self.label(borrower, kind, case);
    }

    /// The owner stops signing in; from then on someone abroad runs the account on a new
    /// device, every one to two days. `payout_abroad`: the payout moves within 72 h of the
    /// new device (abroad: `Some(true)`, at home: `Some(false)`).
    fn takeover(&mut self, case: u32, kind: AccountKind, payout_abroad: Option<bool>) {
        let role = self.freelancer_side_role();
        let home = self.home_city();
        let account = self.plain_early_account(role, home);
        let taken_at = self.rng.range(self.end - 90 * DAY, self.end - 55 * DAY);
        let city = self.foreign_city(home);
        let from =
            taken_at + flight_time(self.atlas, home, city) + self.rng.range(6 * HOUR, 5 * DAY);
        let device = self.ids.device();
        let stream = LoginStream {
            from,
            until: self.end,
            period: self.rng.range(DAY, 38 * HOUR),
            key: self.rng.key(),
            city,
            devices: vec![DeviceUse {
                device,
                from,
                until: i64::MAX,
                first_use: None,
            }],
            trips: Vec::new(),
            vpn_per_mille: 0,
            may_arrive_late: true,
        };
        debug_assert!(
            stream.login_times().count() >= 20,
            "a takeover needs 20 foreign logins"
        );
        let first_login = stream.time_of(0);
        let account_ref = &mut self.accounts[account as usize];
        account_ref.streams[0].until = taken_at;
        account_ref.streams.push(stream);
        if let Some(abroad) = payout_abroad {
            let country = if abroad {
                self.atlas.city(city).country
            } else {
                self.atlas.city(home).country
            };
            let at = first_login + self.rng.range(2 * HOUR, 48 * HOUR);
            self.payout(account, at, country);
        }
        self.label(account, kind, case);
    }

    /// One or two logins from a far city minutes to an hour or two after a login at home.
    fn impossible_travel(&mut self, case: u32) {
        let role = self.random_role();
        let home = self.home_city();
        let account = self.plain_early_account(role, home);
        let jumps = if self.rng.chance(300) { 2 } else { 1 };
        let (from, end) = (self.stream(account).from, self.end);
        for _ in 0..jumps {
            let after = self.rng.range(from + 30 * DAY, end - 10 * DAY);
            let Some(at_home) = self.stream(account).first_login_at_or_after(after) else {
                continue;
            };
            let city = self.far_city(home, 2_500.0);
            let distance_km = self.atlas.distance_km(home, city);
            // Effective distance loses at most 2 x 50 km of accuracy; stay far above 900 km/h.
            let max_minutes = (((distance_km - 150.0) / 1_800.0) * 60.0) as i64;
            let at = at_home + self.rng.range(10, max_minutes.max(11)) * MINUTE;
            let device = if self.rng.chance(500) {
                self.stream(account).main_device_at(at)
            } else {
                self.ids.device()
            };
            let network = if self.rng.chance(500) {
                Network::Residential
            } else {
                Network::Mobile
            };
            self.login(account, at, device, city, network);
        }
        self.label(account, AccountKind::ImpossibleTravel, case);
    }

    /// A new device (sometimes replacing the old one), then a payout change `delay` later.
    fn payout_after_new_device(
        &mut self,
        case: u32,
        kind: AccountKind,
        min_delay: i64,
        max_delay: i64,
        abroad: bool,
    ) {
        let role = self.freelancer_side_role();
        let home = self.home_city();
        let account = self.plain_early_account(role, home);
        let from = self.stream(account).from;
        let arrives = self.rng.range(from + 30 * DAY, self.end - 20 * DAY);
        let replaces = self.rng.chance(500);
        self.add_device(account, arrives, replaces);
        let first_use = self.last_device_first_use(account);
        let country = if abroad {
            self.atlas.city(self.foreign_city(home)).country
        } else {
            self.atlas.city(home).country
        };
        let at = first_use + self.rng.range(min_delay, max_delay);
        self.payout(account, at, country);
        self.label(account, kind, case);
    }

    /// One or two trips abroad at airliner speed, each at most ten days, to two countries.
    fn airline_travel(&mut self, case: u32) {
        let role = self.random_role();
        let home = self.home_city();
        let account = self.plain_early_account(role, home);
        // Logins at least 1.5 days apart: a trip cannot outnumber the logins at home.
        let period = self.rng.range(3 * DAY, 6 * DAY) / 1_000_000 * 1_000_000;
        self.stream(account).period = period;
        let from = self.stream(account).from;
        let mut earliest = from + 45 * DAY;
        let mut last_country = self.atlas.city(home).country;
        for _ in 0..1 + self.rng.below(2) {
            let latest = self.end - 25 * DAY;
            if earliest >= latest {
                break;
            }
            let min_distance_km = self.rng.range(300, 9_000) as f64;
            let mut city = self.far_city(home, min_distance_km);
            while self.atlas.city(city).country == last_country {
                city = self.foreign_city(home);
            }
            last_country = self.atlas.city(city).country;
            let depart = self
                .rng
                .range(earliest, earliest + (latest - earliest) / 2 + 1);
            let stay = self.rng.range(3 * DAY, 10 * DAY);
            let trip = make_trip(self.atlas, &mut self.rng, home, city, depart, stay);
            if trip.back_arrive >= self.end - 12 * DAY {
                break;
            }
            self.add_trip(account, trip, true);
            earliest = trip.back_arrive + 40 * DAY;
        }
        self.stream(account).settle_devices();
        self.label(account, AccountKind::DecoyAirlineTravel, case);
    }

    /// Many logins through VPN exits around the world, some hopping country every few minutes.
    fn vpn_hops(&mut self, case: u32) {
        let role = self.random_role();
        let home = self.home_city();
        let account = self.plain_early_account(role, home);
        let share = self.rng.range(250, 500) as u16;
        self.stream(account).vpn_per_mille = share;
        let from = self.stream(account).from;
        for _ in 0..2 + self.rng.below(3) {
            let mut at = self.rng.range(from + DAY, self.end - DAY);
            for _ in 0..3 + self.rng.below(4) {
                let device = self.stream(account).main_device_at(at);
                let exit = self.any_city();
                self.login(account, at, device, exit, Network::Vpn);
                at += self.rng.range(3 * MINUTE, 15 * MINUTE);
            }
        }
        self.label(account, AccountKind::DecoyVpnHops, case);
    }

    /// One device handed from one family member to another, more than 30 days apart.
    fn family_device(&mut self, case: u32) {
        let home = self.home_city();
        let (first_role, second_role) = (self.random_role(), self.random_role());
        let first = self.plain_early_account(first_role, home);
        let second = self.plain_early_account(second_role, home);
        let tablet = self.stream(first).devices[0].device;
        let from = self.stream(first).from;
        let handed_over = self.rng.range(from + 40 * DAY, self.end - 80 * DAY);
        // The first member's new phone comes a few days before the old tablet is handed on.
        self.add_device(first, handed_over - 5 * DAY, false);
        self.stream(first).devices[0].until = handed_over;
        self.stream(first).settle_devices();
        let received = handed_over + self.rng.range(35 * DAY, 45 * DAY);
        let stream = self.stream(second);
        stream.devices.push(DeviceUse {
            device: tablet,
            from: received,
            until: i64::MAX,
            first_use: None,
        });
        stream.settle_devices();
        self.label(first, AccountKind::DecoyFamilyDevice, case);
        self.label(second, AccountKind::DecoyFamilyDevice, case);
    }

    /// A new account goes abroad after only one to three logins at home.
    fn new_country_few_logins(&mut self, case: u32) {
        let role = self.random_role();
        let home = self.home_city();
        let opened = self.rng.range(self.start + 30 * DAY, self.end - 90 * DAY);
        let account = self.add_account(role, home, opened);
        let logins_before = 1 + self.rng.below(3);
        let last_at_home = self.stream(account).time_of(logins_before - 1);
        let depart = last_at_home + self.rng.range(3 * HOUR, 12 * HOUR);
        let city = self.foreign_city(home);
        let stay = self.rng.range(DAY, 4 * DAY);
        let trip = make_trip(self.atlas, &mut self.rng, home, city, depart, stay);
        self.add_trip(account, trip, false);
        self.stream(account).settle_devices();
        self.label(account, AccountKind::DecoyNewCountryFewLogins, case);
    }

    /// A login at exactly the end of the history, so that `T` (the latest event time) is known
    /// when the labels are written. It belongs to the last account, which is always honest.
    fn add_clock_login(&mut self) {
        let Some(last) = self.accounts.len().checked_sub(1) else {
            return;
        };
        let end = self.end;
        let home = self.accounts[last].home;
        let device = self.accounts[last].streams[0].main_device_at(end - 1);
        self.login(last as u32, end, device, home, Network::Residential);
    }
}
