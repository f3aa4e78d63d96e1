//! What both adapters (the management API and the registry) read from and
//! write to HTTP the same way: Basic credentials, and times as RFC 3339. Below
//! the adapters, so that neither imports the other.

use axum::http::{header, HeaderMap};
use base64::Engine as _;

/// `(id, secret)` from an `Authorization: Basic` header.
pub fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

/// RFC 3339, UTC, whole seconds: `2026-05-01T10:00:00Z`.
pub fn fmt_time(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// Unix milliseconds as RFC 3339 with milliseconds (`2026-12-02T10:00:00.123Z`), as
/// Harbor writes push and pull times.
pub fn fmt_time_ms(unix_ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(unix_ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            let ms = time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
            );
            t.format(&ms).ok()
        })
        .unwrap_or_default()
}
