//! UTC calendar arithmetic on Unix time: day numbers, the start of the day, week (Monday)
//! and month containing an instant, and ISO-8601 text. Pure; no clock reads except `now_ms`.

use std::time::{SystemTime, UNIX_EPOCH};

pub const MS_PER_DAY: i64 = 86_400_000;

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// (year, month 1-12, day 1-31) of a day number (days since 1970-01-01).
/// Howard Hinnant's `civil_from_days`.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Day number of a civil date (inverse of `civil_from_days`).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub fn day_of(ms: i64) -> i64 {
    ms.div_euclid(MS_PER_DAY)
}

/// Day number of the Monday starting the week that contains `day`.
pub fn week_start(day: i64) -> i64 {
    // 1970-01-01 was a Thursday: (day + 3) mod 7 is 0 on Mondays.
    day - (day + 3).rem_euclid(7)
}

/// Day number of the first of the month that contains `day`.
pub fn month_start(day: i64) -> i64 {
    let (y, m, _) = civil_from_days(day);
    days_from_civil(y, m, 1)
}

/// Day number of the first of the month after the one that contains `day`.
pub fn next_month_start(day: i64) -> i64 {
    let (y, m, _) = civil_from_days(day);
    if m == 12 {
        days_from_civil(y + 1, 1, 1)
    } else {
        days_from_civil(y, m + 1, 1)
    }
}

/// `2025-01-31T23:59:59.123Z`: fixed width, so text order is time order.
pub fn iso_ms(ms: i64) -> String {
    let (y, mo, d) = civil_from_days(day_of(ms));
    let in_day = ms.rem_euclid(MS_PER_DAY);
    let (h, mi, s, frac) = (in_day / 3_600_000, in_day / 60_000 % 60, in_day / 1000 % 60, in_day % 1000);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{frac:03}Z")
}

/// `2025-01-31T00:00:00Z` for the start of a day number.
pub fn iso_day(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}T00:00:00Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_dates_across_eras() {
        for day in [-800_000, -1, 0, 1, 10_957, 19_723, 20_000, 60_000] {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day, "{y}-{m}-{d}");
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2024, 2, 29), 19_782);
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }

    #[test]
    fn weeks_start_on_monday() {
        // 2025-01-01 is a Wednesday; its week starts Monday 2024-12-30.
        let wed = days_from_civil(2025, 1, 1);
        assert_eq!(civil_from_days(week_start(wed)), (2024, 12, 30));
        let mon = days_from_civil(2024, 12, 30);
        assert_eq!(week_start(mon), mon);
        let sun = days_from_civil(2025, 1, 5);
        assert_eq!(week_start(sun), mon);
        assert_eq!(week_start(sun + 1), mon + 7);
    }

    #[test]
    fn months_and_iso_text() {
        let d = days_from_civil(2024, 12, 17);
        assert_eq!(civil_from_days(month_start(d)), (2024, 12, 1));
        assert_eq!(civil_from_days(next_month_start(d)), (2025, 1, 1));
        let ms = days_from_civil(2025, 3, 9) * MS_PER_DAY + 13 * 3_600_000 + 5 * 60_000 + 7_089;
        assert_eq!(iso_ms(ms), "2025-03-09T13:05:07.089Z");
        assert_eq!(iso_day(day_of(ms)), "2025-03-09T00:00:00Z");
    }
}
