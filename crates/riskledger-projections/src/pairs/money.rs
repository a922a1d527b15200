//! Integer money and calendar arithmetic of section 1. No floats: every division rounds half
//! up on `u128` intermediates, and results that would not fit a `u64` saturate.

use riskledger_events::Timestamp;

/// `numerator / denominator` rounded half up (x.5 goes up). A zero denominator gives 0.
pub(crate) fn divide_half_up(numerator: u128, denominator: u128) -> u128 {
    if denominator == 0 {
        return 0;
    }
    let quotient = numerator / denominator;
    let remainder = numerator % denominator;
    // remainder >= denominator / 2, without losing the half of an odd denominator.
    if remainder.saturating_mul(2) >= denominator {
        quotient + 1
    } else {
        quotient
    }
}

pub(crate) fn saturate_u64(value: u128) -> u64 {
    u64::try_from(value).unwrap_or(u64::MAX)
}

/// The conversion fee of an estimate: `basis_points` / 10,000 of it, rounded half up.
pub(crate) fn fee_of(estimate_minor: u64, basis_points: u64) -> u64 {
    let scaled = u128::from(estimate_minor) * u128::from(basis_points);
    saturate_u64(divide_half_up(scaled, 10_000))
}

/// The trailing sum annualised: `sum × year_days / over_days`, rounded half up.
pub(crate) fn annualise(sum_minor: u128, year_days: i64, over_days: i64) -> u64 {
    let year_days = u128::try_from(year_days.max(0)).unwrap_or(0);
    let over_days = u128::try_from(over_days.max(1)).unwrap_or(1);
    saturate_u64(divide_half_up(
        sum_minor.saturating_mul(year_days),
        over_days,
    ))
}

/// `at` plus `months` calendar months, in UTC, keeping the time of day. A day that the target
/// month lacks is clamped to its last day (Jan 31 + 1 month = Feb 28 or 29; Feb 29 + 24
/// months = Feb 28). `None` when either end is outside the calendar chrono represents.
pub(crate) fn add_calendar_months(at_micros: i64, months: u32) -> Option<i64> {
    let start = chrono::DateTime::from_timestamp_micros(at_micros)?;
    let end = start.checked_add_months(chrono::Months::new(months))?;
    Some(end.timestamp_micros())
}

/// Whole days (floor) from `from` to `to`; negative spans floor towards minus infinity.
pub(crate) fn whole_days_between(from_micros: i64, to_micros: i64) -> i64 {
    let span = i128::from(to_micros) - i128::from(from_micros);
    let days = span.div_euclid(i128::from(Timestamp::MICROS_PER_DAY));
    i64::try_from(days).unwrap_or(if days < 0 { i64::MIN } else { i64::MAX })
}

/// `days` in microseconds, saturating.
pub(crate) fn days_micros(days: i64) -> i64 {
    days.saturating_mul(Timestamp::MICROS_PER_DAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn micros(text: &str) -> i64 {
        Timestamp::parse_rfc3339(text).unwrap().as_micros()
    }

    #[test]
    fn half_up_rounds_the_half_up_and_below_it_down() {
        assert_eq!(divide_half_up(5, 10), 1);
        assert_eq!(divide_half_up(4, 10), 0);
        assert_eq!(divide_half_up(15, 10), 2);
        assert_eq!(divide_half_up(3, 2), 2);
        assert_eq!(divide_half_up(7, 3), 2);
        assert_eq!(divide_half_up(8, 3), 3);
        assert_eq!(divide_half_up(1, 0), 0);
    }

    #[test]
    fn fee_is_basis_points_half_up() {
        // The published example: 12% of 2,080 h × $20.00.
        assert_eq!(fee_of(4_160_000, 1200), 499_200);
        // 12% of 4,129 = 495.48 → 495; of 4,130 = 495.6 → 496.
        assert_eq!(fee_of(4_129, 1200), 495);
        assert_eq!(fee_of(4_130, 1200), 496);
        // 12% of an integer never ends in exactly .5 (12·x ≡ 50 mod 100 has no solution),
        // so the half is shown with 12.5%: 12.5% of 4 = 0.5 → 1; of 12 = 1.5 → 2.
        assert_eq!(fee_of(4, 1250), 1);
        assert_eq!(fee_of(12, 1250), 2);
        assert_eq!(fee_of(u64::MAX, 10_000), u64::MAX);
        assert_eq!(fee_of(u64::MAX, u64::MAX), u64::MAX);
    }

    #[test]
    fn annualising_rounds_half_up() {
        // 1,203 × 365 / 30 = 14,636.5 → 14,637; 1,202 × 365 / 30 = 14,624.33 → 14,624.
        assert_eq!(annualise(1_203, 365, 30), 14_637);
        assert_eq!(annualise(1_202, 365, 30), 14_624);
        assert_eq!(annualise(10, 365, 0), 3_650);
    }

    #[test]
    fn calendar_months_clamp_to_the_month_end() {
        let jan31 = micros("2024-01-31T12:00:00Z");
        assert_eq!(
            add_calendar_months(jan31, 1),
            Some(micros("2024-02-29T12:00:00Z"))
        );
        let feb29 = micros("2024-02-29T08:30:00.000001Z");
        assert_eq!(
            add_calendar_months(feb29, 24),
            Some(micros("2026-02-28T08:30:00.000001Z"))
        );
        assert_eq!(add_calendar_months(i64::MAX, 24), None);
    }

    #[test]
    fn whole_days_floor() {
        let day = Timestamp::MICROS_PER_DAY;
        assert_eq!(whole_days_between(0, day - 1), 0);
        assert_eq!(whole_days_between(0, day), 1);
        assert_eq!(whole_days_between(0, -1), -1);
        assert_eq!(whole_days_between(i64::MIN, i64::MAX), 213_503_982);
    }
}
