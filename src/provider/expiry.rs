//! `expiration_date` of a repository user: written as a date or an RFC 3339 time,
//! sent to vCR as a whole number of days, and compared with vCR's `expiredAt`.
//!
//! vCR counts expiry in whole days from the time of the call. A date means "through
//! the end of that day, UTC": the days sent are rounded up, so that vCR's `expiredAt`
//! falls at the apply's time of day on the day after (never before the date ends, and
//! less than a day after). An imported user gets back the last whole day it may log in.

use time::format_description::well_known::Rfc3339;
use time::{Date, Duration, OffsetDateTime, Time};

/// An expiration as the user wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiration {
    /// A calendar date: the user may log in through the end of it (UTC).
    Date(Date),
    /// An exact time.
    Time(OffsetDateTime),
}

const DATE_FORMAT: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

impl Expiration {
    /// Parses `YYYY-MM-DD` or an RFC 3339 time; the error is the rule in words.
    pub fn parse(text: &str) -> Result<Expiration, String> {
        if let Ok(date) = Date::parse(text, DATE_FORMAT) {
            return Ok(Expiration::Date(date));
        }
        OffsetDateTime::parse(text, &Rfc3339).map(Expiration::Time).map_err(|_| {
            format!("must be a date (YYYY-MM-DD, e.g. \"2027-06-30\") or an RFC 3339 time (e.g. \"2027-06-30T18:00:00+07:00\"); got {text:?}.")
        })
    }

    /// The last instant the user may log in.
    pub fn instant(self) -> OffsetDateTime {
        match self {
            Expiration::Date(d) => d
                .with_time(Time::from_hms(23, 59, 59).unwrap_or(Time::MIDNIGHT))
                .assume_utc(),
            Expiration::Time(t) => t,
        }
    }

    /// The `duration` to send, at least one: for a date, the whole days from `now` that
    /// cover the end of it (rounded up: the user may log in through the end of the
    /// date, and for less than a day more); for a time, the whole days before it
    /// (rounded down: never later than asked).
    pub fn duration_days(self, now: OffsetDateTime) -> u32 {
        let left = self.instant() - now;
        let days = match self {
            Expiration::Date(_) if left > Duration::days(left.whole_days()) => {
                left.whole_days() + 1
            }
            _ => left.whole_days(),
        };
        days.clamp(1, i64::from(u32::MAX)) as u32
    }

    /// Whether vCR's `expiredAt` is what this expiration asked for. vCR counts whole
    /// days from the time of the call: it falls up to a day after the end of a date,
    /// and up to a day before a time.
    pub fn matches(self, expired_at: OffsetDateTime) -> bool {
        let diff = self.instant() - expired_at;
        let slack = Duration::hours(1);
        match self {
            Expiration::Date(_) => diff <= slack && diff >= -(Duration::days(1) + slack),
            Expiration::Time(_) => diff >= -slack && diff <= Duration::days(1) + slack,
        }
    }
}

/// The date an apply would have written for a user expiring at `expired_at`: the last
/// whole day (UTC) it may log in, the day before the one it expires on (see
/// [`Expiration::duration_days`]).
pub fn date_written_for(expired_at: OffsetDateTime) -> String {
    date_of(expired_at - Duration::days(1) + Duration::seconds(1))
}

/// Parses a time vCR sends (`expiredAt`, `createdAt`): RFC 3339, or without an
/// offset (then UTC).
pub fn parse_api_time(text: &str) -> Option<OffsetDateTime> {
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some(t);
    }
    let naive = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let trimmed = text.split('.').next().unwrap_or(text);
    time::PrimitiveDateTime::parse(trimmed, naive)
        .ok()
        .map(|t| t.assume_utc())
}

/// The calendar date (UTC) of an API time, as `YYYY-MM-DD`.
pub fn date_of(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .date()
        .format(DATE_FORMAT)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn parses_dates_and_times() {
        assert_eq!(
            Expiration::parse("2027-06-30").unwrap(),
            Expiration::Date(time::macros::date!(2027 - 06 - 30))
        );
        assert!(matches!(
            Expiration::parse("2027-06-30T18:00:00+07:00"),
            Ok(Expiration::Time(_))
        ));
        let err = Expiration::parse("30/06/2027").unwrap_err();
        assert!(err.contains("YYYY-MM-DD"));
        assert!(Expiration::parse("2027-02-30").is_err());
    }

    #[test]
    fn a_date_is_honoured_through_its_end_whatever_the_time_of_day() {
        let exp = Expiration::parse("2027-06-30").unwrap();
        for now in [
            datetime!(2026-11-26 00:00:01 UTC),
            datetime!(2026-11-26 13:37:00 UTC),
            datetime!(2026-11-26 23:59:00 UTC),
        ] {
            let days = exp.duration_days(now);
            let expired_at = now + Duration::days(i64::from(days));
            // Not before the date ends, and less than a day after.
            assert!(expired_at >= exp.instant(), "now {now}: {expired_at}");
            assert!(
                expired_at < exp.instant() + Duration::days(1),
                "now {now}: {expired_at}"
            );
            assert!(exp.matches(expired_at));
            // An import of that user gets the date back.
            assert_eq!(date_written_for(expired_at), "2027-06-30", "now {now}");
        }
        // A time is never exceeded.
        let at = Expiration::parse("2027-06-30T18:00:00Z").unwrap();
        let now = datetime!(2026-11-26 13:37:00 UTC);
        let expired_at = now + Duration::days(i64::from(at.duration_days(now)));
        assert!(expired_at <= at.instant() && at.matches(expired_at));
    }

    #[test]
    fn drift_is_noticed() {
        let exp = Expiration::parse("2027-06-30").unwrap();
        assert!(!exp.matches(datetime!(2027-08-01 10:00 UTC)));
        assert!(!exp.matches(datetime!(2027-06-27 10:00 UTC)));
        // The apply's time of day on the date itself: what vCR made before the days
        // were rounded up, short of the promise.
        assert!(!exp.matches(datetime!(2027-06-30 10:00 UTC)));
    }

    #[test]
    fn api_times_with_or_without_offset() {
        assert_eq!(
            parse_api_time("2027-06-30T10:00:00Z"),
            Some(datetime!(2027-06-30 10:00 UTC))
        );
        assert_eq!(
            parse_api_time("2027-06-30T10:00:00.123"),
            Some(datetime!(2027-06-30 10:00 UTC))
        );
        assert_eq!(parse_api_time("nonsense"), None);
    }
}
