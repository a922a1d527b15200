//! The human-readable table of the `pairs` command (the `--json` output is the report list
//! itself). Presentation only: every figure comes from the reports as they are.

use riskledger::projections::pairs::{PairReport, PairSignal, SignalEvidence};

const HEADERS: [&str; 7] = [
    "CLIENT",
    "FREELANCER",
    "STATUS",
    "LEVEL",
    "FEE",
    "EXPOSURE",
    "SIGNALS",
];
/// Columns whose figures are right-aligned.
const NUMERIC: [bool; 7] = [false, false, false, false, true, true, false];

/// A fixed-width text table: one row per pair, in the order given (the library sorts by client
/// then freelancer), columns as wide as their widest cell, money in major units with its
/// currency, and the signals as `kind` or `kind (state)`.
pub fn pairs_table(reports: &[PairReport]) -> String {
    let rows: Vec<[String; 7]> = reports.iter().map(row_of).collect();
    let mut widths = HEADERS.map(|header| header.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    push_line(&mut out, &HEADERS.map(str::to_owned), &widths);
    for row in &rows {
        push_line(&mut out, row, &widths);
    }
    if rows.is_empty() {
        out.push_str("(no pairs at or above the requested level)\n");
    }
    out
}

fn row_of(report: &PairReport) -> [String; 7] {
    [
        report.client.clone(),
        report.freelancer.clone(),
        report.status.as_str().to_owned(),
        report.level.as_str().to_owned(),
        money(report.conversion_fee_minor, &report.currency),
        money(report.exposure_minor, &report.currency),
        signals_cell(&report.signals),
    ]
}

fn push_line(out: &mut String, cells: &[String; 7], widths: &[usize; 7]) {
    let mut line = String::new();
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            line.push_str("  ");
        }
        let width = widths[i];
        if NUMERIC[i] {
            line.push_str(&format!("{cell:>width$}"));
        } else {
            line.push_str(&format!("{cell:<width$}"));
        }
    }
    out.push_str(line.trim_end());
    out.push('\n');
}

fn signals_cell(signals: &[PairSignal]) -> String {
    if signals.is_empty() {
        return "-".to_owned();
    }
    let names: Vec<String> = signals
        .iter()
        .map(|signal| match &signal.evidence {
            SignalEvidence::Flag(flag) => {
                format!(
                    "{} ({}, {})",
                    signal.kind.as_str(),
                    flag.flag,
                    state_name(flag)
                )
            }
            SignalEvidence::PaymentsStopped(stopped) => {
                format!(
                    "{} ({} d)",
                    signal.kind.as_str(),
                    stopped.days_since_last_payment
                )
            }
        })
        .collect();
    names.join(", ")
}

fn state_name(flag: &riskledger::projections::pairs::FlagEvidence) -> &'static str {
    match flag.state {
        riskledger::projections::pairs::FlagState::Open => "open",
        riskledger::projections::pairs::FlagState::Confirmed => "confirmed",
    }
}

/// `amount_minor` in major units with thousands separators, e.g. `4,992.00 USD`. The number
/// of decimals follows ISO 4217 for the common zero- and three-decimal currencies, else two.
fn money(amount_minor: u64, currency: &str) -> String {
    let decimals = minor_unit_digits(currency);
    let scale = 10u64.pow(decimals);
    let major = group_thousands(amount_minor / scale);
    if decimals == 0 {
        format!("{major} {currency}")
    } else {
        let fraction = amount_minor % scale;
        format!(
            "{major}.{fraction:0width$} {currency}",
            width = decimals as usize
        )
    }
}

fn minor_unit_digits(currency: &str) -> u32 {
    match currency {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX"
        | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        _ => 2,
    }
}

fn group_thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    // A separator goes before every digit whose position is a whole number of groups of
    // three from the end.
    let lead = digits.len() % 3;
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && i % 3 == lead {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use riskledger::events::{json::parse_line, Timestamp};
    use riskledger::projections::pairs::PairBook;
    use riskledger::projections::policy::PairPolicy;
    use riskledger::projections::Level;

    fn reports(lines: &[&str], at: &str) -> Vec<PairReport> {
        let mut book = PairBook::new();
        for (i, line) in lines.iter().enumerate() {
            book.apply(&parse_line(i as u64 + 1, line).expect("a valid test event"));
        }
        let at = Timestamp::parse_rfc3339(at).expect("a time");
        book.reports(&PairPolicy::default(), at, Level::None)
    }

    #[test]
    fn the_table_lines_up_and_shows_fee_level_and_signals() {
        let table = reports(
            &[
                r#"{"id":"e1","type":"contract_started","at":"2025-01-06T09:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2000}"#,
                r#"{"id":"e2","type":"flag_raised","at":"2025-02-01T00:00:00Z","flag":"fl-1","reporter":"system","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#,
                r#"{"id":"e3","type":"contract_started","at":"2025-01-06T09:00:00Z","contract":"k-2","client":"client-22","freelancer":"f-1","currency":"JPY","kind":"hourly","rate_minor":3000}"#,
            ],
            "2025-03-01T00:00:00Z",
        );
        let expected = "\
CLIENT     FREELANCER  STATUS     LEVEL            FEE      EXPOSURE  SIGNALS
c-1        f-1         in_window  medium  4,992.00 USD  4,992.00 USD  off_platform_request (fl-1, open)
client-22  f-1         in_window  none     748,800 JPY         0 JPY  -
";
        assert_eq!(pairs_table(&table), expected);
    }

    #[test]
    fn an_empty_table_says_so() {
        assert_eq!(
            pairs_table(&[]),
            "CLIENT  FREELANCER  STATUS  LEVEL  FEE  EXPOSURE  SIGNALS\n\
             (no pairs at or above the requested level)\n"
        );
    }

    #[test]
    fn money_groups_thousands_and_keeps_the_minor_digits() {
        assert_eq!(money(499_200, "USD"), "4,992.00 USD");
        assert_eq!(money(5, "USD"), "0.05 USD");
        assert_eq!(money(1_234_567, "KWD"), "1,234.567 KWD");
        assert_eq!(money(100, "JPY"), "100 JPY");
        assert_eq!(money(u64::MAX, "USD"), "184,467,440,737,095,516.15 USD");
    }
}
