//! Keeps web pages away from vcr-local: from every listener, a page on a name
//! rebound to this machine (DNS rebinding), and from `/_local/`, the
//! unauthenticated test controls, any page at all.
//!
//! A page in a browser on the same machine can send requests to vcr-local;
//! what stops it here:
//!
//! - on every listener (IAM, API, both registries), the `Host` must be one
//!   vcr-local answers to ([`HostPolicy`]): `localhost`, a loopback address,
//!   an address it listens on, any address when it listens on every
//!   interface (`--allow-remote`), or a name given with `--allow-host`. A
//!   browser sends the name of the page it runs for, so a page on
//!   `rebind.attacker.example` resolved to 127.0.0.1 is refused, while an IP
//!   literal can only be the address the browser really connected to;
//! - under `/_local/`, the `Host` must name this machine (`localhost`,
//!   `127.0.0.0/8`, `::1`) whatever else is admitted;
//! - every `POST` to `/_local/` must say `Content-Type: application/json`,
//!   which a browser only sends cross-origin after a CORS preflight, and
//!   vcr-local answers none (a `text/plain` form post is refused with 415);
//! - a request to `/_local/` that says it comes from a page (`Origin`, or
//!   `Sec-Fetch-Site` other than `same-origin` or `none`) is refused, unless
//!   the page is vcr-local's own origin (it serves none).
//!
//! Clients that are not browsers (curl, scripts, tests, docker) send a `Host`
//! naming the address they connect to and none of the other headers, and pass.
//!
//! The refusals are this module's own [`Refusal`], answered in the shape of
//! the listener that refused (vCR's JSON, or the registry's `errors` list).

use std::net::IpAddr;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::faults::{Listener, LOCAL_PREFIX};
use super::state::{AppState, LocalConfig};

/// A request the guard refuses, with the listener that refused it (which
/// decides the shape of the answer).
#[derive(Debug)]
pub struct Refusal {
    pub status: StatusCode,
    /// The error code (vCR's `errorCode`, or the registry's `code`).
    pub code: &'static str,
    pub message: String,
    pub listener: Listener,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let body = match self.listener {
            Listener::Api => json!({"message": self.message, "errorCode": self.code}),
            Listener::Registry(_) => {
                json!({"errors": [{"code": self.code, "message": self.message}]})
            }
        };
        (self.status, axum::Json(body)).into_response()
    }
}

fn forbidden(listener: Listener, message: impl Into<String>) -> Refusal {
    let code = match listener {
        Listener::Api => "FORBIDDEN",
        Listener::Registry(_) => "DENIED",
    };
    Refusal {
        status: StatusCode::FORBIDDEN,
        code,
        message: message.into(),
        listener,
    }
}

/// The `Host` names vcr-local answers to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostPolicy {
    /// The addresses it listens on.
    listen_ips: Vec<IpAddr>,
    /// Whether it listens on every interface (any address of this machine
    /// may be used, and an IP literal cannot be a rebound name).
    any_ip: bool,
    /// Names admitted besides `localhost` (`--allow-host`), lowercase.
    names: Vec<String>,
}

impl HostPolicy {
    /// What a configuration admits.
    pub fn new(config: &LocalConfig) -> HostPolicy {
        let listen_ips: Vec<IpAddr> = config
            .addresses()
            .iter()
            .map(|(addr, _)| addr.ip().to_canonical())
            .collect();
        HostPolicy {
            any_ip: listen_ips.iter().any(IpAddr::is_unspecified),
            listen_ips,
            names: config
                .allowed_hosts
                .iter()
                .map(|n| n.trim_end_matches('.').to_ascii_lowercase())
                .collect(),
        }
    }

    /// Whether a `Host` header (`name[:port]`, `[v6][:port]`) is admitted.
    pub fn admits(&self, host: &str) -> bool {
        let Some(name) = host_name(host) else {
            return false;
        };
        if is_loopback_name(name) {
            return true;
        }
        if let Ok(ip) = name.parse::<IpAddr>() {
            let ip = ip.to_canonical();
            return self.any_ip || self.listen_ips.contains(&ip);
        }
        let name = name.trim_end_matches('.');
        self.names.iter().any(|n| n.eq_ignore_ascii_case(name))
    }
}

/// Refuses, on every listener, a request whose `Host` vcr-local does not
/// answer to.
pub async fn check_host(
    State((app, listener)): State<(AppState, Listener)>,
    req: Request,
    next: Next,
) -> Response {
    let admitted = host_of(&req).is_some_and(|h| app.host_policy.admits(&h));
    if admitted {
        return next.run(req).await;
    }
    let host = host_of(&req).unwrap_or_default();
    tracing::warn!(
        listener = listener.name(),
        host = %super::core::rules::truncate(&host, 80),
        "a request for a name vcr-local does not answer to was refused"
    );
    forbidden(
        listener,
        format!(
            "Host {:?} is not a name vcr-local answers to: use localhost, a loopback address or \
             an address it listens on (or start it with --allow-host NAME)",
            super::core::rules::truncate(&host, 80)
        ),
    )
    .into_response()
}

/// Applies the `/_local/` checks to requests under it; others pass untouched.
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

fn check(req: &Request) -> Result<(), Refusal> {
    let headers = req.headers();
    let host = host_of(req).ok_or_else(|| {
        forbidden(
            Listener::Api,
            "a Host header naming this machine (localhost, 127.0.0.1, [::1]) is required",
        )
    })?;
    if !is_loopback_host(&host) {
        return Err(forbidden(
            Listener::Api,
            format!(
                "Host {:?} is not this machine: /_local/ answers requests to localhost, \
                 127.0.0.1 or [::1] only",
                super::core::rules::truncate(&host, 80)
            ),
        ));
    }
    check_origin(headers, &host)?;
    if req.method() == Method::POST && !is_json(headers) {
        return Err(Refusal {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code: "UNSUPPORTED_MEDIA_TYPE",
            message: "a POST to /_local/ must have Content-Type: application/json".into(),
            listener: Listener::Api,
        });
    }
    Ok(())
}

/// Refuses requests a web page sent, but for vcr-local's own origin.
fn check_origin(headers: &HeaderMap, host: &str) -> Result<(), Refusal> {
    let from_page = || {
        forbidden(
            Listener::Api,
            "requests from web pages are refused: /_local/ is for tests and scripts",
        )
    };
    if let Some(origin) = headers.get(header::ORIGIN) {
        let own = format!("http://{host}");
        let same = origin.to_str().is_ok_and(|o| o.eq_ignore_ascii_case(&own));
        if !same {
            return Err(from_page());
        }
    }
    let site = headers
        .get("sec-fetch-site")
        .map(|v| v.to_str().unwrap_or("").to_ascii_lowercase());
    if site.is_some_and(|s| s != "same-origin" && s != "none") {
        return Err(from_page());
    }
    Ok(())
}

/// The `Host` header, or the authority of an absolute request target.
fn host_of(req: &Request) -> Option<String> {
    match req.headers().get(header::HOST) {
        Some(h) => h.to_str().ok().map(str::to_string),
        None => req.uri().authority().map(|a| a.as_str().to_string()),
    }
}

/// The name of `host[:port]` (the address inside `[...]` for IPv6); `None`
/// for a malformed one.
fn host_name(host: &str) -> Option<&str> {
    if let Some(rest) = host.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((inside, port)) if port.is_empty() || is_port(port) => Some(inside),
            _ => None,
        };
    }
    let name = match host.rsplit_once(':') {
        Some((name, port)) if is_port(port) => name,
        Some(_) => return None,
        None => host,
    };
    (!name.is_empty()).then_some(name)
}

fn is_loopback_name(name: &str) -> bool {
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.to_canonical().is_loopback())
}

/// Whether `host[:port]` names this machine: `localhost`, a `127.0.0.0/8`
/// address or `[::1]`. Other names are refused, since a page's own name can
/// be made to resolve to 127.0.0.1.
pub fn is_loopback_host(host: &str) -> bool {
    host_name(host).is_some_and(is_loopback_name)
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

    fn config(listen: &str, allow_hosts: &[&str]) -> LocalConfig {
        LocalConfig {
            listen: listen.parse().unwrap(),
            allowed_hosts: allow_hosts.iter().map(|h| h.to_string()).collect(),
            allow_remote: true,
            ..LocalConfig::default()
        }
    }

    #[test]
    fn hosts_admitted_by_each_listener() {
        let default = HostPolicy::new(&LocalConfig::default());
        for good in ["localhost:8080", "127.0.0.1:5080", "[::1]", "127.0.0.2"] {
            assert!(default.admits(good), "{good}");
        }
        for bad in [
            "rebind.attacker.example",
            "rebind.attacker.example:8080",
            "localhost.attacker.example",
            "10.0.0.1:8080",
            "",
            ":80",
        ] {
            assert!(!default.admits(bad), "{bad}");
        }
        let lan = HostPolicy::new(&config("192.168.1.5:8080", &["vcr-local"]));
        assert!(lan.admits("192.168.1.5:5080"));
        assert!(
            !lan.admits("192.168.1.6:5080"),
            "not an address it listens on"
        );
        assert!(lan.admits("VCR-LOCAL:8080") && lan.admits("vcr-local."));
        assert!(!lan.admits("vcr-local.attacker.example"));
        let every = HostPolicy::new(&config("0.0.0.0:8080", &[]));
        assert!(every.admits("10.1.2.3:8080") && every.admits("[fe80::1]:5080"));
        assert!(!every.admits("rebind.attacker.example:8080"));
    }
}
