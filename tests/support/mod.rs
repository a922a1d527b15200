//! Shared by the root integration tests: random valid histories.

#![allow(dead_code)] // each test binary uses a part

use riskledger::events::json::parse_line;
use riskledger::projections::policy::{AccountPolicy, PairPolicy, RetentionPolicy};
use riskledger::{Event, Policy, Timestamp};

/// A policy that keeps `memory_days`, looks back one day and sums a trailing "year" of three
/// days: over the histories' two weeks, the books are compacted, drop most logins and
/// payments, and see events older than their horizon.
pub fn short_memory_policy(memory_days: i64) -> Policy {
    Policy {
        retention: RetentionPolicy { memory_days },
        accounts: AccountPolicy {
            new_country_lookback_days: 1,
            shared_device_window_days: 1,
            foreign_majority_window_logins: 3,
            foreign_majority_min_logins: 2,
            new_country_min_earlier_logins: 2,
            ..AccountPolicy::default()
        },
        // A trailing "year" of three days, so that pair compaction drops payments too.
        pairs: PairPolicy {
            trailing_days: 3,
            payments_stopped_days: 2,
            ..PairPolicy::default()
        },
    }
}

/// A valid history of `n` events drawn from `seed`: accounts, contracts, payments, flags and
/// their resolutions, logins on shared devices from several countries, payout changes.
pub fn history(seed: u64, n: usize) -> Vec<Event> {
    history_spread(seed, n, 3_600)
}

/// [`history`] with events `step_seconds` apart on average (plus up to ~2.3 days of jitter):
/// a long step spans windows and payment gaps.
pub fn history_spread(seed: u64, n: usize, step_seconds: i64) -> Vec<Event> {
    let mut rng = Rng::new(seed);
    let mut next = move |bound: u64| rng.below(bound);
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
                let (raised, outcome) = resolve_open_flag(&mut flags, &mut next);
                format!(
                    r#"{{"id":"e{i}","type":"flag_resolved","at":"{at}","flag":"fl{raised}","outcome":"{outcome}"}}"#
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

/// The histories' random numbers: xorshift64, the same sequence for the same seed everywhere.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed | 1)
    }

    /// A number below `bound` (not quite uniform; good enough for test data).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }
}

/// Resolves one of the open flags (`(raised at event number, resolved)`), picked at random:
/// the number it was raised at, and the outcome. There must be an open flag.
pub fn resolve_open_flag(
    flags: &mut [(u64, bool)],
    next: &mut impl FnMut(u64) -> u64,
) -> (u64, &'static str) {
    let open: Vec<usize> = (0..flags.len()).filter(|&j| !flags[j].1).collect();
    let j = open[next(open.len() as u64) as usize];
    flags[j].1 = true;
    (flags[j].0, ["confirmed", "dismissed"][next(2) as usize])
}
