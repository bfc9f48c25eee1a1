//! Time as a value: [`UnixTime`], a [`Clock`] trait the adapters implement, and a strict
//! RFC 3339 parser for the timestamps Supabase Auth sends.

use std::fmt;

/// Whole seconds since the Unix epoch, UTC. Negative before 1970 (GoTrue sends
/// `0001-01-01T00:00:00Z` for "not yet").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixTime(i64);

impl UnixTime {
    /// The instant `secs` seconds after the epoch.
    #[must_use]
    pub const fn from_secs(secs: i64) -> Self {
        Self(secs)
    }

    /// The instant `millis` milliseconds after the epoch, truncated to whole seconds
    /// (JavaScript's `Date.now()` unit).
    #[must_use]
    pub fn from_millis(millis: f64) -> Self {
        // `as` saturates for out-of-range floats and maps NaN to 0: no panic on any input.
        Self((millis / 1000.0).floor() as i64)
    }

    /// Seconds since the epoch.
    #[must_use]
    pub const fn secs(self) -> i64 {
        self.0
    }

    /// Absolute distance between two instants, in seconds.
    #[must_use]
    pub const fn abs_diff(self, other: Self) -> u64 {
        self.0.abs_diff(other.0)
    }

    /// This instant moved by `secs` seconds (saturating at the representable range).
    #[must_use]
    pub const fn saturating_add(self, secs: i64) -> Self {
        Self(self.0.saturating_add(secs))
    }

    /// Parses an RFC 3339 date-time (`2026-08-01T12:00:00.123456+02:00`), any offset, any
    /// number of fractional digits (truncated), `T`/`t`/space separator, `Z`/`z` for UTC.
    ///
    /// # Errors
    /// [`TimeError`] when the text is not a valid RFC 3339 date-time.
    pub fn parse_rfc3339(text: &str) -> Result<Self, TimeError> {
        parse_rfc3339(text.as_bytes()).ok_or(TimeError)
    }
}

/// Where "now" comes from. Implemented by the runtime adapters (`Date.now()` in JavaScript
/// hosts, the system clock natively) and by [`FixedClock`] in tests.
pub trait Clock {
    /// The current time.
    fn now(&self) -> UnixTime;

    /// Milliseconds since the epoch, for deadlines within a request.
    fn millis(&self) -> u64 {
        u64::try_from(self.now().secs())
            .unwrap_or(0)
            .saturating_mul(1000)
    }
}

/// A clock stopped at one instant: for tests and for deterministic replays.
#[derive(Clone, Copy, Debug)]
pub struct FixedClock(pub UnixTime);

impl Clock for FixedClock {
    fn now(&self) -> UnixTime {
        self.0
    }
}

/// The text is not an RFC 3339 date-time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeError;

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not an RFC 3339 date-time")
    }
}

impl std::error::Error for TimeError {}

fn digits(bytes: &[u8]) -> Option<i64> {
    if bytes.is_empty() {
        return None;
    }
    bytes.iter().try_fold(0i64, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + i64::from(b - b'0'))
    })
}

fn parse_rfc3339(s: &[u8]) -> Option<UnixTime> {
    // date-full "T" time-hour ":" time-minute ":" time-second [time-secfrac] time-offset
    let (date, rest) = s.split_at_checked(10)?;
    let (sep, rest) = rest.split_first()?;
    if !matches!(sep, b'T' | b't' | b' ') {
        return None;
    }
    let (time, mut rest) = rest.split_at_checked(8)?;
    if date.get(4) != Some(&b'-') || date.get(7) != Some(&b'-') {
        return None;
    }
    if time.get(2) != Some(&b':') || time.get(5) != Some(&b':') {
        return None;
    }
    let year = digits(date.get(0..4)?)?;
    let month = digits(date.get(5..7)?)?;
    let day = digits(date.get(8..10)?)?;
    let hour = digits(time.get(0..2)?)?;
    let minute = digits(time.get(3..5)?)?;
    let second = digits(time.get(6..8)?)?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    // 60 is a leap second; it is folded into the next minute.
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    if let Some((b'.', frac)) = rest.split_first() {
        let n = frac.iter().take_while(|b| b.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        rest = frac.get(n..)?;
    }
    let offset = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let oh = digits(&[*h1, *h2])?;
            let om = digits(&[*m1, *m2])?;
            if oh > 23 || om > 59 {
                return None;
            }
            let o = oh * 3600 + om * 60;
            if *sign == b'-' { -o } else { o }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    Some(UnixTime(
        days * 86_400 + hour * 3600 + minute * 60 + second - offset,
    ))
}

const fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

const fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
const fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_utc_and_offsets_to_the_same_instant() {
        let utc = UnixTime::parse_rfc3339("2026-08-01T12:00:00Z").unwrap();
        assert_eq!(utc.secs(), 1_785_585_600);
        let plus = UnixTime::parse_rfc3339("2026-08-01T14:00:00+02:00").unwrap();
        let minus = UnixTime::parse_rfc3339("2026-08-01T07:30:00-04:30").unwrap();
        assert_eq!(utc, plus);
        assert_eq!(utc, minus);
    }

    #[test]
    fn fractional_seconds_of_any_length_are_truncated() {
        let a = UnixTime::parse_rfc3339("2024-02-29T23:59:59.999999999Z").unwrap();
        let b = UnixTime::parse_rfc3339("2024-02-29t23:59:59.1z").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.secs(), 1_709_251_199);
    }

    #[test]
    fn gotrue_zero_time_is_representable() {
        let t = UnixTime::parse_rfc3339("0001-01-01T00:00:00Z").unwrap();
        assert_eq!(t.secs(), -62_135_596_800);
    }

    #[test]
    fn rejects_malformed_text() {
        for bad in [
            "",
            "2026-08-01",
            "2026-08-01T12:00:00",
            "2026-13-01T12:00:00Z",
            "2026-02-29T12:00:00Z",
            "2026-08-01T24:00:00Z",
            "2026-08-01T12:00:00.Z",
            "2026-08-01T12:00:00+0200",
            "2026-08-01T12:00:00+24:00",
            "2026-08-01X12:00:00Z",
            "2026-08-01T12:00:00Zjunk",
            "２０２６-08-01T12:00:00Z",
        ] {
            assert_eq!(UnixTime::parse_rfc3339(bad), Err(TimeError), "{bad:?}");
        }
    }

    #[test]
    fn millis_conversion_never_panics() {
        assert_eq!(
            UnixTime::from_millis(1_700_000_000_999.0).secs(),
            1_700_000_000
        );
        assert_eq!(UnixTime::from_millis(f64::NAN).secs(), 0);
        assert_eq!(UnixTime::from_millis(f64::INFINITY).secs(), i64::MAX);
    }
}
