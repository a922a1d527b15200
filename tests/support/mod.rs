//! Shared by the root integration tests: random valid histories.

#![allow(dead_code)] // each test binary uses a part

use riskledger::events::json::parse_line;
use riskledger::{Event, Timestamp};

/// A valid history of `n` events drawn from `seed`: accounts, contracts, payments, flags and
/// their resolutions, logins on shared devices from several countries, payout changes.
pub fn history(seed: u64, n: usize) -> Vec<Event> {
    history_spread(seed, n, 3_600)
}

/// [`history`] with events `step_seconds` apart on average (plus up to ~2.3 days of jitter):
/// a long step spans windows and payment gaps.
pub fn history_spread(seed: u64, n: usize, step_seconds: i64) -> Vec<Event> {
    let mut state = seed | 1;
    let mut next = move |bound: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % bound
    };
    let places = [
        ("PH", 14.6, 121.0),
        ("US", 40.7, -74.0),
        ("GB", 51.5, -0.1),
        ("IN", 19.1, 72.9),
        ("NG", 6.5, 3.4),
    ];
    let mut contracts = 0u64;
    let mut flags: Vec<(u64, bool)> = Vec::new();
    let mut lines = Vec::new();
    for i in 0..n as u64 {
        // Event times wander: arrival order is not time order.
        let at = Timestamp(
            1_700_000_000_000_000 + (i as i64 * step_seconds + next(200_000) as i64) * 1_000_000,
        )
        .to_rfc3339();
        let (c, f) = (next(12), next(12));
        let line = match next(10) {
            0 => format!(
                r#"{{"id":"e{i}","type":"account_opened","at":"{at}","account":"f{f}","role":"freelancer","country":"{}"}}"#,
                places[next(5) as usize].0
            ),
            1 => {
                contracts += 1;
                format!(
                    r#"{{"id":"e{i}","type":"contract_started","at":"{at}","contract":"k{contracts}","client":"c{c}","freelancer":"f{f}","currency":"USD","kind":"hourly","rate_minor":{}}}"#,
                    1000 + next(4000)
                )
            }
            2 | 3 if contracts > 0 => format!(
                r#"{{"id":"e{i}","type":"payment","at":"{at}","contract":"k{}","amount_minor":{},"currency":"USD"}}"#,
                1 + next(contracts),
                1 + next(90_000)
            ),
            4 => {
                flags.push((i, false));
                let reason = ["off_platform_payment", "contact_info", "other"][next(3) as usize];
                format!(
                    r#"{{"id":"e{i}","type":"flag_raised","at":"{at}","flag":"fl{i}","reporter":"f{f}","subject":"c{c}","counterparty":"f{f}","reason":"{reason}"}}"#
                )
            }
            5 if flags.iter().any(|(_, resolved)| !resolved) => {
                let open: Vec<usize> = (0..flags.len()).filter(|&j| !flags[j].1).collect();
                let j = open[next(open.len() as u64) as usize];
                flags[j].1 = true;
                let outcome = ["confirmed", "dismissed"][next(2) as usize];
                format!(
                    r#"{{"id":"e{i}","type":"flag_resolved","at":"{at}","flag":"fl{}","outcome":"{outcome}"}}"#,
                    flags[j].0
                )
            }
            6 => format!(
                r#"{{"id":"e{i}","type":"payout_method_changed","at":"{at}","account":"f{f}","method":"m{}","country":"{}"}}"#,
                next(3),
                places[next(5) as usize].0
            ),
            7 if next(8) == 0 => {
                if next(2) == 0 {
                    format!(
                        r#"{{"id":"e{i}","type":"conversion_fee_paid","at":"{at}","client":"c{c}","freelancer":"f{f}","amount_minor":{},"currency":"USD"}}"#,
                        100 + next(500_000)
                    )
                } else {
                    format!(
                        r#"{{"id":"e{i}","type":"prior_relationship_proven","at":"{at}","client":"c{c}","freelancer":"f{f}","since":"2020-03-01"}}"#
                    )
                }
            }
            _ => {
                let (country, lat, lon) = places[next(5) as usize];
                format!(
                    r#"{{"id":"e{i}","type":"login","at":"{at}","account":"f{f}","device":"d{}","ip":"10.0.0.1","lat":{lat},"lon":{lon},"country":"{country}"}}"#,
                    next(15)
                )
            }
        };
        lines.push(parse_line(i + 1, &line).unwrap());
    }
    lines
}
