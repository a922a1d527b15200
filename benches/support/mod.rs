//! A deterministic event mix for the benches: mostly logins and payments, ~110 bytes stored.
#![allow(dead_code)]

use riskledger::events::{Body, ContractKind, Country, Currency, Event, Ip, Role, Timestamp};

/// Events `start..start + count` of an endless, valid history: every 100 events open 9
/// accounts, start 1 contract, pay 20 times and log in 70 times.
pub fn events(start: u64, count: usize) -> Vec<Event> {
    (start..start + count as u64).map(event).collect()
}

pub fn event(n: u64) -> Event {
    let at = Timestamp(1_700_000_000_000_000 + n as i64 * 60_000_000);
    let id = format!("ev-{n}");
    let round = n / 100;
    let contract = format!("k-{round}");
    let body = match n % 100 {
        0 => Body::ContractStarted {
            contract,
            client: format!("c-{round}"),
            freelancer: format!("f-{round}"),
            currency: Currency(*b"USD"),
            kind: ContractKind::Hourly,
            rate_minor: Some(2500),
        },
        1..=9 => Body::AccountOpened {
            account: format!("a-{n}"),
            role: Role::Freelancer,
            country: Country(*b"PH"),
        },
        10..=29 => Body::Payment {
            contract,
            amount_minor: 40_000 + n % 1000,
            currency: Currency(*b"USD"),
        },
        _ => Body::Login {
            account: format!("a-{}", n % 50_000),
            device: format!("d-{}", n % 70_000),
            ip: Ip::V4([203, 0, 113, (n % 250) as u8]),
            lat: 14.6 + (n % 100) as f64 / 1000.0,
            lon: 120.98,
            country: Country(*b"PH"),
            accuracy_km: 20.0,
            network: None,
        },
    };
    Event { id, at, body }
}
