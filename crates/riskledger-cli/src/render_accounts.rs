//! The human-readable form of `riskledger accounts`: a fixed-width table, one line per signal
//! (one line for an account without any). `--json` prints the reports themselves instead.

use riskledger::projections::accounts::{AccountReport, Figures, Signal};

const HEADERS: [&str; 7] = ["ACCOUNT", "LEVEL", "HOME", "ROLE", "SIGNAL", "AT", "DETAIL"];
/// Event ids listed in full up to this many; longer lists show the first and the last.
const EVENTS_IN_FULL: usize = 3;

/// A fixed-width table of account reports, in the order given (the projection sorts them by
/// account id). Ends with a newline; an empty input gives a one-line message.
pub fn accounts_table(reports: &[AccountReport]) -> String {
    if reports.is_empty() {
        return "no account at or above the level asked for\n".to_string();
    }
    let rows: Vec<[String; 7]> = reports.iter().flat_map(account_rows).collect();
    let widths: Vec<usize> = (0..HEADERS.len())
        .map(|column| {
            rows.iter()
                .map(|row| row[column].chars().count())
                .chain([HEADERS[column].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    push_row(&mut out, &HEADERS.map(str::to_string), &widths);
    for row in &rows {
        push_row(&mut out, row, &widths);
    }
    out.push_str(&format!(
        "{} account{}\n",
        reports.len(),
        if reports.len() == 1 { "" } else { "s" }
    ));
    out
}

/// One row per signal; the account's own columns only on its first row.
fn account_rows(report: &AccountReport) -> Vec<[String; 7]> {
    let account = [
        report.account.clone(),
        report.level.to_string(),
        report.home_country.clone().unwrap_or_else(|| "-".into()),
        report.role.clone().unwrap_or_else(|| "-".into()),
    ];
    if report.signals.is_empty() {
        let [a, b, c, d] = account;
        return vec![[a, b, c, d, "-".into(), "-".into(), String::new()]];
    }
    report
        .signals
        .iter()
        .enumerate()
        .map(|(i, signal)| {
            let [a, b, c, d] = if i == 0 {
                account.clone()
            } else {
                Default::default()
            };
            let kind = format!("{} ({})", signal.kind, signal.level);
            [a, b, c, d, kind, signal.at.clone(), detail(signal)]
        })
        .collect()
}

fn push_row(out: &mut String, row: &[String; 7], widths: &[usize]) {
    let last = row.len() - 1;
    let mut line = String::new();
    for (column, cell) in row.iter().enumerate() {
        if column == last {
            line.push_str(cell);
        } else {
            let pad = widths[column].saturating_sub(cell.chars().count());
            line.push_str(cell);
            line.push_str(&" ".repeat(pad + 2));
        }
    }
    out.push_str(line.trim_end());
    out.push('\n');
}

/// The figures of a signal in a few words, then its events.
fn detail(signal: &Signal) -> String {
    let figures = match &signal.figures {
        Figures::ImpossibleTravel(f) => format!(
            "{} -> {}: {} km ({} km beyond accuracy) in {}, {} km/h",
            f.from_country,
            f.to_country,
            f.distance_km,
            f.effective_distance_km,
            duration(f.elapsed_seconds),
            f.speed_kmh
        ),
        Figures::SharedDevice(f) => format!(
            "device {} with {} (cluster of {}{})",
            f.device,
            f.other_accounts.join(", "),
            f.cluster_size,
            if f.cluster_joins_client_and_freelancer {
                ", client and freelancer"
            } else {
                ""
            }
        ),
        Figures::ForeignMajority(f) => format!(
            "{} of the last {} located logins from {} ({}%), home {}",
            f.country_logins, f.window_logins, f.country, f.share_percent, f.home_country
        ),
        Figures::NewCountry(f) => format!(
            "first login from {} after {} located logins; last {} days: {}",
            f.country,
            f.earlier_logins,
            f.lookback_days,
            if f.previous_countries.is_empty() {
                "none".to_string()
            } else {
                f.previous_countries.join(", ")
            }
        ),
        Figures::PayoutAfterNewDevice(f) => format!(
            "payout to {} ({}) {} h after first login on device {}",
            f.payout_country, f.method, f.hours_after_new_device, f.device
        ),
    };
    format!("{figures}; events {}", events(&signal.events))
}

fn events(ids: &[String]) -> String {
    match ids {
        [] => "none".to_string(),
        _ if ids.len() <= EVENTS_IN_FULL => ids.join(", "),
        [first, .., last] => format!("{first} .. {last} ({} events)", ids.len()),
        _ => ids.join(", "),
    }
}

/// Seconds as `1h 02m 03s`, `2m 10s` or `10s` (whole seconds, as a person reads them).
fn duration(seconds: f64) -> String {
    let total = if seconds.is_finite() && seconds > 0.0 {
        seconds.round() as u64
    } else {
        0
    };
    let (hours, minutes, secs) = (total / 3600, total % 3600 / 60, total % 60);
    match (hours, minutes) {
        (0, 0) => format!("{secs}s"),
        (0, _) => format!("{minutes}m {secs:02}s"),
        _ => format!("{hours}h {minutes:02}m {secs:02}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use riskledger::projections::accounts::{SharedDeviceFigures, SignalKind, TravelFigures};
    use riskledger::projections::Level;

    fn report() -> AccountReport {
        AccountReport {
            account: "f-1".into(),
            level: Level::High,
            role: Some("freelancer".into()),
            home_country: Some("GB".into()),
            opened_event: Some("e0".into()),
            signals: vec![
                Signal {
                    kind: SignalKind::ImpossibleTravel,
                    level: Level::High,
                    at: "2025-03-01T13:00:00Z".into(),
                    events: vec!["e1".into(), "e2".into()],
                    figures: Figures::ImpossibleTravel(TravelFigures {
                        from_country: "GB".into(),
                        to_country: "US".into(),
                        distance_km: 5570.2,
                        accuracy_km: 100.0,
                        effective_distance_km: 5470.2,
                        elapsed_seconds: 10800.0,
                        counted_elapsed_seconds: 10800.0,
                        speed_kmh: 1823.4,
                    }),
                },
                Signal {
                    kind: SignalKind::SharedDevice,
                    level: Level::Medium,
                    at: "2025-03-02T10:00:00Z".into(),
                    events: vec!["e3".into(), "e4".into()],
                    figures: Figures::SharedDevice(SharedDeviceFigures {
                        device: "d-9".into(),
                        other_accounts: vec!["c-7".into()],
                        cluster_size: 2,
                        cluster_joins_client_and_freelancer: false,
                        window_days: 30,
                    }),
                },
            ],
        }
    }

    #[test]
    fn one_line_per_signal_in_aligned_columns() {
        let quiet = AccountReport {
            account: "a-long-account-id".into(),
            level: Level::None,
            role: None,
            home_country: None,
            opened_event: None,
            signals: vec![],
        };
        let table = accounts_table(&[report(), quiet]);
        let expected = "\
ACCOUNT            LEVEL  HOME  ROLE        SIGNAL                    AT                    DETAIL
f-1                high   GB    freelancer  impossible_travel (high)  2025-03-01T13:00:00Z  GB -> US: 5570.2 km (5470.2 km beyond accuracy) in 3h 00m 00s, 1823.4 km/h; events e1, e2
                                            shared_device (medium)    2025-03-02T10:00:00Z  device d-9 with c-7 (cluster of 2); events e3, e4
a-long-account-id  none   -     -           -                         -
2 accounts
";
        assert_eq!(table, expected);
    }

    #[test]
    fn empty_and_long_event_lists() {
        assert_eq!(
            accounts_table(&[]),
            "no account at or above the level asked for\n"
        );
        let ids: Vec<String> = (1..=20).map(|i| format!("e{i}")).collect();
        assert_eq!(events(&ids), "e1 .. e20 (20 events)");
        assert_eq!(duration(10.0), "10s");
        assert_eq!(duration(130.0), "2m 10s");
    }
}
