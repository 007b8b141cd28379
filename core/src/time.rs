//! Time as plain values: two clocks, never read here.
//!
//! Core never reads a clock. It knows two, as quinn-proto separates its `Instant`
//! from its wall-clock time source:
//!
//! - [`Instant`], a **monotonic** reading, for everything that waits or times out:
//!   poll intervals, retry backoff, a login's deadline ([`crate::flow::Step::WaitUntil`]).
//!   A wall-clock jump (NTP, a laptop waking up, a user changing the date) neither fires
//!   nor stalls a wait.
//! - [`Timestamp`], the **wall clock**, only for what is absolute: token expiry, the
//!   dates in the credentials document, `Retry-After` HTTP-dates, RFC 3339 output.
//!
//! Flows take both at once as a [`Now`]. The native shell reads `Instant::now()` and
//! `SystemTime::now()`; the wasm binding passes `Date.now()` for both
//! ([`Now::from_wall`]), as the JS timers it sleeps with are themselves wall-clock
//! based. Tests drive flows with a virtual clock by constructing these values.

use crate::encoding::decimal;
use core::time::Duration;

use serde::{Deserialize, Serialize};

/// An instant on the wall clock: milliseconds since the Unix epoch (UTC).
///
/// Arithmetic saturates: adding a huge duration yields [`Timestamp::MAX`], subtracting
/// past the epoch yields the epoch. No operation panics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The Unix epoch, 1970-01-01T00:00:00Z.
    pub const EPOCH: Timestamp = Timestamp(0);
    /// The latest representable instant.
    pub const MAX: Timestamp = Timestamp(u64::MAX);

    /// A timestamp from milliseconds since the Unix epoch.
    pub const fn from_unix_millis(millis: u64) -> Self {
        Timestamp(millis)
    }

    /// A timestamp from whole seconds since the Unix epoch (saturating).
    pub const fn from_unix_secs(secs: u64) -> Self {
        Timestamp(secs.saturating_mul(1000))
    }

    /// The wall-clock time a [`std::time::SystemTime`] names (the epoch for times
    /// before it, saturating far in the future). Converts a value the shell read; core
    /// reads no clock.
    pub fn from_system_time(time: std::time::SystemTime) -> Self {
        let since = time
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp(duration_millis(since))
    }

    /// Milliseconds since the Unix epoch.
    pub const fn unix_millis(self) -> u64 {
        self.0
    }

    /// Whole seconds since the Unix epoch (rounded down).
    pub const fn unix_secs(self) -> u64 {
        self.0 / 1000
    }

    /// `self + duration`, saturating at [`Timestamp::MAX`].
    pub fn saturating_add(self, duration: Duration) -> Self {
        Timestamp(self.0.saturating_add(duration_millis(duration)))
    }

    /// `self - duration`, saturating at the epoch.
    pub fn saturating_sub(self, duration: Duration) -> Self {
        Timestamp(self.0.saturating_sub(duration_millis(duration)))
    }

    /// The time elapsed from `earlier` to `self`, or zero when `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }

    /// Formats the instant as RFC 3339 in UTC with second precision, e.g.
    /// `2026-11-22T06:00:00Z`.
    pub fn to_rfc3339(self) -> String {
        let secs = self.unix_secs();
        let days = secs / 86_400;
        let rem = secs % 86_400;
        let (year, month, day) = civil_from_days(days);
        format!(
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
            rem / 3600,
            (rem % 3600) / 60,
            rem % 60
        )
    }
}

/// A reading of a shell's monotonic clock: milliseconds since an origin the shell chose
/// (the process start natively, the Unix epoch when a wasm page passes `Date.now()`).
///
/// Only instants from the same shell compare; arithmetic saturates and never panics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(u64);

impl Instant {
    /// The clock's origin.
    pub const ZERO: Instant = Instant(0);
    /// The latest representable instant (a wait that never ends).
    pub const MAX: Instant = Instant(u64::MAX);

    /// An instant `millis` milliseconds after the origin.
    pub const fn from_millis(millis: u64) -> Self {
        Instant(millis)
    }

    /// Milliseconds since the origin.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// `self + duration`, saturating at [`Instant::MAX`].
    pub fn saturating_add(self, duration: Duration) -> Self {
        Instant(self.0.saturating_add(duration_millis(duration)))
    }

    /// The time from `earlier` to `self`, or zero when `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

/// Both clocks at one moment: what every flow's `poll` and `handle` take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Now {
    /// The monotonic clock, for waits and timeouts.
    pub instant: Instant,
    /// The wall clock, for expiry and dates.
    pub wall: Timestamp,
}

impl Now {
    /// The two readings.
    pub const fn new(instant: Instant, wall: Timestamp) -> Self {
        Now { instant, wall }
    }

    /// Both clocks from one wall-clock reading (the instant counts milliseconds since
    /// the Unix epoch): for shells whose only clock is the wall (the wasm binding, with
    /// `Date.now()`) and for virtual clocks in tests.
    pub const fn from_wall(wall: Timestamp) -> Self {
        Now {
            instant: Instant(wall.0),
            wall,
        }
    }

    /// Both clocks advanced by `duration` (a virtual clock's tick).
    pub fn saturating_add(self, duration: Duration) -> Self {
        Now {
            instant: self.instant.saturating_add(duration),
            wall: self.wall.saturating_add(duration),
        }
    }
}

impl From<Timestamp> for Now {
    fn from(wall: Timestamp) -> Self {
        Now::from_wall(wall)
    }
}

/// Milliseconds in a duration, saturating at `u64::MAX`.
pub(crate) fn duration_millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Converts days since 1970-01-01 to a proleptic Gregorian (year, month, day).
///
/// This is the well-known "days from civil" inverse (H. Hinnant); it only uses integer
/// arithmetic and is exact for every `u64` day count that fits a four-digit-plus year.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (the inverse of
/// [`civil_from_days`]; `year` at least 1970).
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y - era * 400;
    let doy = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses an HTTP-date (RFC 9110 §5.6.7) into seconds since the Unix epoch: the
/// IMF-fixdate `Sun, 06 Nov 1994 08:49:37 GMT` and the obsolete RFC 850
/// (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime (`Sun Nov  6 08:49:37 1994`) forms.
///
/// Exactly as strict as the `httpdate` crate it replaces (core's tests compare the
/// two): ASCII only, surrounding whitespace ignored, the exact layout of one of the
/// forms, a real date from 1970 to 9999, and the weekday that date falls on. A few
/// lines here instead of that crate keep its date formatting (and `Debug`/panic
/// paths) out of the web pages' wasm.
pub(crate) fn parse_http_date(text: &str) -> Option<u64> {
    // The three layouts, tried in turn (their lengths differ, so at most one fits).
    // `w`: weekday, 3 letters; `W`: weekday, full name; `d`: day digit; `_`: a day
    // digit or the space before a one-digit day; `n`: month name; `y`: year digit;
    // `h`, `m`, `s`: time digits; `?`: any byte (httpdate does not check the one
    // after an RFC 850 year); everything else literally.
    const LAYOUTS: [&[u8]; 3] = [
        b"w, dd n yyyy hh:mm:ss GMT",
        b"W, dd-n-yy?hh:mm:ss GMT",
        b"w n _d hh:mm:ss yyyy",
    ];
    if !text.is_ascii() {
        return None;
    }
    let s = text.trim().as_bytes();
    let (form, [wday, day, mon, year, hour, min, sec]) = LAYOUTS
        .iter()
        .enumerate()
        .find_map(|(form, layout)| Some((form, match_layout(s, layout)?)))?;
    // RFC 850 has two-digit years.
    let year = match (form, year) {
        (1, 0..=69) => 2000 + year,
        (1, _) => 1900 + year,
        _ => year,
    };
    let valid = sec < 60
        && min < 60
        && hour < 24
        && (1..=31).contains(&day)
        && (1..=12).contains(&mon)
        && (1970..=9999).contains(&year);
    if !valid {
        return None;
    }
    let days = days_from_civil(year, mon, day);
    // The date must exist (no 31 April) and fall on the weekday given (1970-01-01 was
    // a Thursday).
    if civil_from_days(days) != (year, mon, day) || (days + 3) % 7 + 1 != wday {
        return None;
    }
    Some(days * 86_400 + hour * 3600 + min * 60 + sec)
}

/// Matches `s` against a [`parse_http_date`] layout: `[weekday (1 = Monday), day,
/// month, year, hour, minute, second]`.
fn match_layout(s: &[u8], layout: &[u8]) -> Option<[u64; 7]> {
    const MONTHS: &[u8] = b"JanFebMarAprMayJunJulAugSepOctNovDec";
    const WEEKDAYS: [&str; 7] = [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ];
    let mut f = [0u64; 7];
    let mut i = 0;
    for &p in layout {
        let rest = s.get(i..)?;
        let (slot, value, len) = match p {
            b'w' | b'W' => {
                let (n, name) = WEEKDAYS.iter().enumerate().find_map(|(n, w)| {
                    let name = if p == b'w' { w.get(..3)? } else { w };
                    rest.starts_with(name.as_bytes()).then_some((n, name))
                })?;
                (0, n as u64 + 1, name.len())
            }
            b'n' => {
                let m = MONTHS.chunks(3).position(|m| rest.get(..3) == Some(m))?;
                (2, m as u64 + 1, 3)
            }
            b'?' if !rest.is_empty() => (7, 0, 1),
            b'_' if rest.first() == Some(&b' ') => (7, 0, 1),
            b'd' | b'_' | b'y' | b'h' | b'm' | b's' => {
                let digit = rest.first().filter(|b| b.is_ascii_digit())?;
                let slot = match p {
                    b'd' | b'_' => 1,
                    b'y' => 3,
                    b'h' => 4,
                    b'm' => 5,
                    _ => 6,
                };
                let value = f.get(slot)? * 10 + u64::from(digit - b'0');
                (slot, value, 1)
            }
            literal if rest.first() == Some(&literal) => (7, 0, 1),
            _ => return None,
        };
        if let Some(field) = f.get_mut(slot) {
            *field = value;
        }
        i += len;
    }
    (i == s.len()).then_some(f)
}

/// Formats a duration for people: `45s`, `12m`, `7h 59m`, `3d 4h`.
///
/// Sub-second parts are rounded up so that "Retry in 0s" never appears for a
/// non-zero wait.
pub fn human_duration(duration: Duration) -> String {
    let mut secs = duration.as_secs();
    if duration.subsec_nanos() > 0 {
        secs += 1;
    }
    // Two units at most, written without core::fmt (see `encoding::decimal`).
    let (big, big_unit, small, small_unit) = match secs {
        0..=59 => (secs, "s", 0, ""),
        60..=3599 => (secs / 60, "m", secs % 60, "s"),
        3600..=86_399 => (secs / 3600, "h", (secs % 3600) / 60, "m"),
        _ => (secs / 86_400, "d", (secs % 86_400) / 3600, "h"),
    };
    let mut out = decimal(big);
    out.push_str(big_unit);
    if small > 0 {
        out.push(' ');
        out.push_str(&decimal(small));
        out.push_str(small_unit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_known_instants() {
        assert_eq!(Timestamp::EPOCH.to_rfc3339(), "1970-01-01T00:00:00Z");
        assert_eq!(
            Timestamp::from_unix_secs(951_782_400).to_rfc3339(),
            "2000-02-29T00:00:00Z"
        );
        assert_eq!(
            Timestamp::from_unix_secs(1_795_341_600).to_rfc3339(),
            "2026-11-22T10:00:00Z"
        );
        assert_eq!(
            Timestamp::from_unix_secs(4_102_444_799).to_rfc3339(),
            "2099-12-31T23:59:59Z"
        );
    }

    #[test]
    fn arithmetic_saturates() {
        assert_eq!(
            Timestamp::MAX.saturating_add(Duration::from_secs(1)),
            Timestamp::MAX
        );
        assert_eq!(
            Timestamp::EPOCH.saturating_sub(Duration::from_secs(1)),
            Timestamp::EPOCH
        );
        assert_eq!(Timestamp::from_unix_secs(u64::MAX).unix_millis(), u64::MAX);
        let t = Timestamp::from_unix_millis(1500);
        assert_eq!(
            t.saturating_duration_since(Timestamp::from_unix_millis(2000)),
            Duration::ZERO
        );
        assert_eq!(
            t.saturating_duration_since(Timestamp::EPOCH),
            Duration::from_millis(1500)
        );
        assert!(Timestamp::MAX.to_rfc3339().ends_with("Z"));
    }

    #[test]
    fn http_dates() {
        let imf = parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(imf, Some(784_111_777));
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), imf);
        assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), imf);
        assert_eq!(parse_http_date("  Sun Nov 06 08:49:37 1994\t"), imf);
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(
            parse_http_date("Fri, 31 Dec 9999 23:59:59 GMT"),
            Some(253_402_300_799)
        );
        assert_eq!(
            parse_http_date("Tue, 29 Feb 2000 00:00:00 GMT"),
            Some(951_782_400)
        );
        for bad in [
            "",
            "Mon, 06 Nov 1994 08:49:37 GMT", // wrong weekday
            "Sun, 06 nov 1994 08:49:37 GMT", // month case
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 06 Nov 1994 08:49:60 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Wed, 31 Apr 2026 00:00:00 GMT", // no such day
            "Tue, 29 Feb 2100 00:00:00 GMT",
            "Wed, 31 Dec 1969 23:59:59 GMT",
            "Sun, 06 Nov 1994 08:49:37 GMT ü",
            "Sun,  6 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994T08:49:37 GMT",
            "Sun Nov 6 08:49:37 1994",
            "Sun Nov  6 08:49:37 94",
            "Sunday, 06-Nov-1994 08:49:37 GMT",
            "Sun, 06-Nov-94 08:49:37 GMT",
            "12",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad:?}");
        }
    }

    /// The `httpdate` crate's answer, as seconds.
    fn httpdate_secs(text: &str) -> Option<u64> {
        let t = httpdate::parse_http_date(text).ok()?;
        Some(t.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs())
    }

    proptest::proptest! {
        #[test]
        fn http_dates_agree_with_httpdate(
            form in 0..4usize,
            wday in 0..8usize,
            day in 0..33u64,
            mon in 0..14usize,
            year in proptest::prop_oneof![1965..2105u64, 9990..10001u64],
            (hour, min, sec) in (0..26u64, 0..62u64, 0..62u64),
            sep in proptest::sample::select(vec![' ', 'T', ':', '-']),
            pad in proptest::sample::select(vec!["", " ", "\t"]),
        ) {
            const W: [&str; 8] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "Caturday"];
            const M: [&str; 14] = ["Nul", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "Foo"];
            let (w, m) = (W[wday], M[mon]);
            let text = match form {
                0 => format!("{}, {day:02} {m} {year:04}{sep}{hour:02}:{min:02}:{sec:02} GMT", &w[..3]),
                1 => format!("{w}, {day:02}-{m}-{:02}{sep}{hour:02}:{min:02}:{sec:02} GMT", year % 100),
                2 => format!("{} {m} {day:>2} {hour:02}:{min:02}:{sec:02}{sep}{year:04}", &w[..3]),
                _ => format!("{} {m} {day:02} {hour:02}:{min:02}:{sec:02} {year:04}", &w[..3]),
            };
            let text = format!("{pad}{text}{pad}");
            proptest::prop_assert_eq!(parse_http_date(&text), httpdate_secs(&text), "{:?}", text);
        }

        #[test]
        fn http_date_noise_agrees(text in "[A-Za-z0-9 ,:\\-]{0,34}") {
            proptest::prop_assert_eq!(parse_http_date(&text), httpdate_secs(&text));
        }
    }

    #[test]
    fn human_durations() {
        assert_eq!(human_duration(Duration::from_millis(1)), "1s");
        assert_eq!(human_duration(Duration::ZERO), "0s");
        assert_eq!(human_duration(Duration::from_secs(12)), "12s");
        assert_eq!(human_duration(Duration::from_secs(300)), "5m");
        assert_eq!(human_duration(Duration::from_secs(61)), "1m 1s");
        assert_eq!(human_duration(Duration::from_secs(8 * 3600 - 60)), "7h 59m");
        assert_eq!(
            human_duration(Duration::from_secs(3 * 86_400 + 4 * 3600)),
            "3d 4h"
        );
    }
}
