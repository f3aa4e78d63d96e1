//! Keeps web pages away from `/_local/`, the unauthenticated test controls.
//!
//! A page in a browser on the same machine can send requests to vcr-local;
//! what stops it here:
//!
//! - every `POST` must say `Content-Type: application/json`, which a browser
//!   only sends cross-origin after a CORS preflight, and vcr-local answers
//!   none (a `text/plain` form post is refused with 415);
//! - the `Host` must name this machine (`localhost`, `127.0.0.0/8`, `::1`), so
//!   a page on a name rebound to 127.0.0.1 (DNS rebinding) is refused;
//! - a request that says it comes from a page (`Origin`, or `Sec-Fetch-Site`
//!   other than `same-origin` or `none`) is refused, unless the page is
//!   vcr-local's own origin (it serves none).
//!
//! Clients that are not browsers (curl, scripts, tests) send none of these
//! headers and pass, whatever address they use.

use std::net::IpAddr;

use axum::extract::Request;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::api::ApiError;
use super::faults::LOCAL_PREFIX;

/// Applies the checks to requests under `/_local/`; others pass untouched.
pub async fn local_controls(req: Request, next: Next) -> Response {
    if !is_local_path(req.uri().path()) {
        return next.run(req).await;
    }
    match check(&req) {
        Ok(()) => next.run(req).await,
        Err(refusal) => {
            tracing::warn!(
                method = %req.method(),
                path = %super::core::rules::truncate(req.uri().path(), 200),
                reason = %refusal.message,
                "a /_local/ request was refused"
            );
            refusal.into_response()
        }
    }
}

fn is_local_path(path: &str) -> bool {
    path == LOCAL_PREFIX || path.starts_with(&format!("{LOCAL_PREFIX}/"))
}

fn check(req: &Request) -> Result<(), ApiError> {
    let headers = req.headers();
    let host = host_of(req).ok_or_else(|| {
        forbidden("a Host header naming this machine (localhost, 127.0.0.1, [::1]) is required")
    })?;
    if !is_loopback_host(&host) {
        return Err(forbidden(format!(
            "Host {:?} is not this machine: /_local/ answers requests to localhost, \
             127.0.0.1 or [::1] only",
            super::core::rules::truncate(&host, 80)
        )));
    }
    check_origin(headers, &host)?;
    if req.method() == Method::POST && !is_json(headers) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "a POST to /_local/ must have Content-Type: application/json",
        ));
    }
    Ok(())
}

/// Refuses requests a web page sent, but for vcr-local's own origin.
fn check_origin(headers: &HeaderMap, host: &str) -> Result<(), ApiError> {
    if let Some(origin) = headers.get(header::ORIGIN) {
        let own = format!("http://{host}");
        let same = origin.to_str().is_ok_and(|o| o.eq_ignore_ascii_case(&own));
        if !same {
            return Err(forbidden(
                "requests from web pages are refused: /_local/ is for tests and scripts",
            ));
        }
    }
    let site = headers
        .get("sec-fetch-site")
        .map(|v| v.to_str().unwrap_or("").to_ascii_lowercase());
    if site.is_some_and(|s| s != "same-origin" && s != "none") {
        return Err(forbidden(
            "requests from web pages are refused: /_local/ is for tests and scripts",
        ));
    }
    Ok(())
}

fn forbidden(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "FORBIDDEN", message)
}

/// The `Host` header, or the authority of an absolute request target.
fn host_of(req: &Request) -> Option<String> {
    match req.headers().get(header::HOST) {
        Some(h) => h.to_str().ok().map(str::to_string),
        None => req.uri().authority().map(|a| a.as_str().to_string()),
    }
}

/// Whether `host[:port]` names this machine: `localhost`, a `127.0.0.0/8`
/// address or `[::1]`. Other names are refused, since a page's own name can
/// be made to resolve to 127.0.0.1.
pub fn is_loopback_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        match rest.split_once(']') {
            Some((inside, port)) if port.is_empty() || is_port(port) => inside,
            _ => return false,
        }
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if is_port(port) => name,
            Some(_) => return false,
            None => host,
        }
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.to_canonical().is_loopback())
}

fn is_port(text: &str) -> bool {
    text.strip_prefix(':')
        .unwrap_or(text)
        .parse::<u16>()
        .is_ok()
}

/// Whether the body is declared JSON (`application/json`, parameters allowed).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for good in [
            "localhost",
            "LOCALHOST:8080",
            "127.0.0.1",
            "127.0.0.1:8080",
            "127.9.8.7:1",
            "[::1]",
            "[::1]:8080",
            "[::ffff:127.0.0.1]:80",
        ] {
            assert!(is_loopback_host(good), "{good}");
        }
        for bad in [
            "evil.example",
            "evil.example:8080",
            "localhost.evil.example",
            "10.0.0.1:8080",
            "0.0.0.0:8080",
            "[::]:8080",
            "[::1]x",
            "127.0.0.1:notaport",
            "",
        ] {
            assert!(!is_loopback_host(bad), "{bad}");
        }
    }
}
