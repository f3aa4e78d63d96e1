//! When and how long to wait before resending a request.

use std::time::{Duration, SystemTime};

/// Whether a call may be resent after it may have reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// Sending it twice has the effect of sending it once (GET, PUT, DELETE):
    /// resent on 429, 502, 503, 504 and on any transport failure.
    Idempotent,
    /// Sending it twice does something twice (creating, refreshing a secret):
    /// resent only when the request surely had no effect: the connection could
    /// not be made, or the server refused it outright ([`was_refused`]).
    NotIdempotent,
}

/// Whether an answer says the server refused the request without acting on it,
/// so that even a create may be sent again: 429 (rate limited). A 502, 503 or 504
/// may come from a gateway after the service acted, so it does not count.
pub fn was_refused(status: u16) -> bool {
    status == 429
}

/// Statuses worth a retry: the server (or a proxy before it) says "not now".
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 429 | 502 | 503 | 504)
}

/// Exponential backoff with jitter, bounded.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// The first delay (before jitter).
    pub base: Duration,
    /// No delay is longer than this, `Retry-After` included.
    pub max: Duration,
}

impl Backoff {
    /// The delay before retry number `attempt` (0 for the first retry):
    /// `base * 2^attempt`, capped at `max`, of which a random half is taken
    /// away ("equal jitter") so that many clients do not retry in step.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = self.base.saturating_mul(1u32 << attempt.min(20));
        let full = exp.min(self.max);
        let half = full / 2;
        let jitter = if half.is_zero() {
            Duration::ZERO
        } else {
            half.mul_f64(rand::random::<f64>())
        };
        half + jitter
    }

    /// The delay to wait given the server's `Retry-After`, if any: the
    /// server's wish when it gave one (capped at `max`), otherwise
    /// [`Backoff::delay`].
    pub fn delay_with_hint(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        match retry_after {
            Some(d) => d.min(self.max),
            None => self.delay(attempt),
        }
    }
}

/// Parses a `Retry-After` header value: delay-seconds (integer, or a decimal
/// as some servers send) or an HTTP date.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = v.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Some(Duration::from_secs_f64(secs.min(86_400.0)));
        }
        return None;
    }
    let when = httpdate::parse_http_date(v).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let b = Backoff {
            base: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        for attempt in 0..10 {
            let d = b.delay(attempt);
            let full = Duration::from_millis(100 * (1 << attempt)).min(Duration::from_secs(1));
            assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d:?}");
        }
        assert_eq!(
            b.delay_with_hint(0, Some(Duration::from_secs(7))),
            Duration::from_secs(1)
        );
        assert_eq!(
            b.delay_with_hint(0, Some(Duration::from_millis(300))),
            Duration::from_millis(300)
        );
    }

    #[test]
    fn retry_after_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("0.5", now),
            Some(Duration::from_millis(500))
        );
        let later = httpdate::fmt_http_date(now + Duration::from_secs(10));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(10))
        );
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(10));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
    }

    #[test]
    fn retryable_statuses() {
        for s in [429, 502, 503, 504] {
            assert!(is_retryable_status(s));
        }
        for s in [400, 401, 404, 409, 500, 501] {
            assert!(!is_retryable_status(s));
        }
    }
}
