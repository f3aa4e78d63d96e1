//! One HTTP exchange and its retries: redirects followed only on the same host,
//! answers read up to a bound, and transport failures told apart so that an address
//! where nothing ever answered fails at once instead of after every retry.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use reqwest::{Method, Url};

use super::contract::MAX_SAME_HOST_REDIRECTS;
use super::error::{error_chain, error_host, host_port, TransportKind};
use super::retry::{self, Backoff, Idempotency};
use super::VcrError;

/// A finished HTTP exchange.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) retry_after: Option<Duration>,
    /// Where a redirect that was not followed pointed (made absolute).
    pub(crate) location: Option<Url>,
    pub(crate) body: Vec<u8>,
}

/// Where a call goes, and which setting its URL came from.
pub(crate) struct Target<'a> {
    pub(crate) method: &'a Method,
    /// The URL of the call, query included.
    pub(crate) url: &'a Url,
    /// The configured URL the call's URL was built from (the token URL, a region's base).
    pub(crate) base: &'a Url,
    /// The [`super::ClientConfig`] field `base` came from, for messages.
    pub(crate) setting: &'static str,
    pub(crate) idempotency: Idempotency,
}

impl Target<'_> {
    fn path(&self) -> &str {
        self.url.path()
    }

    /// The error for an answer that is a redirect the client did not follow.
    pub(crate) fn redirect_error(&self, status: u16, location: &Url) -> VcrError {
        VcrError::Redirect {
            method: self.method.to_string(),
            path: self.path().to_string(),
            status,
            location: location.to_string(),
            to_other_host: !same_origin(location, self.url),
            setting: self.setting,
            suggested: suggested_base(self.base, self.url, location),
        }
    }
}

/// Why one try ended without an answer to hand back.
enum Failure {
    NoAnswer(reqwest::Error),
    TooLarge,
}

/// The HTTP client, how hard to try, and which hosts have answered so far.
pub(crate) struct Transport {
    pub(crate) http: reqwest::Client,
    pub(crate) backoff: Backoff,
    pub(crate) max_retries: u32,
    pub(crate) max_answer_bytes: usize,
    /// `host:port` of every server that answered in this process: a refused
    /// connection there is a restart worth waiting for; elsewhere, a wrong address.
    answered: Mutex<HashSet<String>>,
}

impl Transport {
    pub(crate) fn new(
        http: reqwest::Client,
        backoff: Backoff,
        max_retries: u32,
        max_answer_bytes: usize,
    ) -> Transport {
        Transport {
            http,
            backoff,
            max_retries,
            max_answer_bytes,
            answered: Mutex::new(HashSet::new()),
        }
    }

    fn note_answered(&self, url: &Url) {
        if let Ok(mut set) = self.answered.lock() {
            set.insert(host_port(url));
        }
    }

    fn has_answered(&self, host: &str) -> bool {
        self.answered.lock().is_ok_and(|set| set.contains(host))
    }

    /// Sends a request, resending it on 429/502/503/504 and transport failures as
    /// [`Idempotency`] allows, at most `max_retries` times. A connection refused, a
    /// name not found or a connect timeout at an address where nothing answered yet is
    /// not retried: it is a wrong address, not a blip. Returns the last answer whatever
    /// its status; errs only when no answer came.
    pub(crate) async fn send(
        &self,
        target: &Target<'_>,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<Answer, VcrError> {
        let (method, path) = (target.method, target.path());
        let resendable = target.idempotency == Idempotency::Idempotent;
        let mut attempt: u32 = 0;
        loop {
            let started = Instant::now();
            let outcome = self.attempt(method, build()).await;
            let elapsed_ms = started.elapsed().as_millis() as u64;
            // Whether to try again, and the wait the server asked for, if any.
            let (retryable, hint, what) = match &outcome {
                Ok(a) => {
                    tracing::debug!(method = %method, path, status = a.status, attempt, elapsed_ms, "vCR request");
                    let retryable = retry::is_retryable_status(a.status)
                        && (resendable || retry::was_refused(a.status));
                    (
                        retryable,
                        a.retry_after,
                        format!("vCR answered {}", a.status),
                    )
                }
                Err(Failure::TooLarge) => (false, None, String::new()),
                Err(Failure::NoAnswer(error)) => {
                    let retryable = self.worth_another_try(error, target.url, resendable);
                    tracing::debug!(method = %method, path, attempt, elapsed_ms, retryable, "no answer: {}", error_chain(error));
                    (
                        retryable,
                        None,
                        format!("vCR request failed: {}", error_chain(error)),
                    )
                }
            };
            if !retryable || attempt >= self.max_retries {
                return outcome.map_err(|f| match f {
                    Failure::TooLarge => VcrError::TooLarge {
                        method: method.to_string(),
                        path: path.to_string(),
                        limit: self.max_answer_bytes,
                    },
                    Failure::NoAnswer(error) => VcrError::Transport {
                        method: method.to_string(),
                        path: path.to_string(),
                        not_sent: error.is_connect(),
                        source: Box::new(error),
                        setting: target.setting,
                    },
                });
            }
            let delay = self.backoff.delay_with_hint(attempt, hint);
            tracing::warn!(
                method = %method, path, attempt = attempt + 1, max_retries = self.max_retries,
                delay_ms = delay.as_millis() as u64, "{what}: retrying"
            );
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    /// Whether a request that got no answer may be sent again.
    fn worth_another_try(&self, error: &reqwest::Error, url: &Url, resendable: bool) -> bool {
        let kind = TransportKind::of(error);
        let host = error_host(error).unwrap_or_else(|| host_port(url));
        match kind {
            TransportKind::Tls => false,
            k if k.never_connected() && !self.has_answered(&host) => false,
            _ => error.is_connect() || resendable,
        }
    }

    /// One try, following redirects on the same host: the answer whatever its
    /// status, or why there was none.
    async fn attempt(
        &self,
        method: &Method,
        request: reqwest::RequestBuilder,
    ) -> Result<Answer, Failure> {
        let mut request = request.build().map_err(Failure::NoAnswer)?;
        let mut hops = 0;
        loop {
            let again = request.try_clone();
            let resp = self
                .http
                .execute(request)
                .await
                .map_err(Failure::NoAnswer)?;
            self.note_answered(resp.url());
            let status = resp.status().as_u16();
            let location = (300..400)
                .contains(&status)
                .then(|| resp.headers().get(reqwest::header::LOCATION))
                .flatten()
                .and_then(|v| v.to_str().ok())
                .and_then(|l| resp.url().join(l).ok());
            if let (Some(next), Some(mut again)) = (&location, again) {
                if same_origin(next, resp.url())
                    && keeps_method(status, method)
                    && hops < MAX_SAME_HOST_REDIRECTS
                {
                    tracing::debug!(method = %method, from = resp.url().path(), to = next.path(), status, "following a redirect on the same host");
                    *again.url_mut() = next.clone();
                    request = again;
                    hops += 1;
                    continue;
                }
            }
            let retry_after = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| retry::parse_retry_after(v, SystemTime::now()));
            let body = read_bounded(resp, self.max_answer_bytes).await?;
            return Ok(Answer {
                status,
                retry_after,
                location,
                body,
            });
        }
    }
}

/// The body of an answer, refused when longer than `limit` bytes.
async fn read_bounded(mut resp: reqwest::Response, limit: usize) -> Result<Vec<u8>, Failure> {
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Err(Failure::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(Failure::NoAnswer)? {
        if body.len() + chunk.len() > limit {
            return Err(Failure::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Whether following this redirect keeps the call as it is: 307 and 308 keep the
/// method and body; 301, 302 and 303 turn it into a GET, fine only for a GET.
fn keeps_method(status: u16, method: &Method) -> bool {
    match status {
        307 | 308 => true,
        301..=303 => method == Method::GET || method == Method::HEAD,
        _ => false,
    }
}

/// Same scheme, host and port: where the credentials may go along.
pub(crate) fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// The value the setting behind `base` would take if `location` is the API's new
/// home: the location less the part of the call's path that follows the base's path
/// (the whole location for the token URL, whose base is the call itself), with no
/// query. When the location does not end that way, its origin.
fn suggested_base(base: &Url, called: &Url, location: &Url) -> String {
    let rest = called
        .path()
        .strip_prefix(base.path().trim_end_matches('/'))
        .unwrap_or("")
        .trim_matches('/');
    let moved = location.path().trim_end_matches('/');
    let path = match rest.is_empty() {
        true => Some(moved),
        false => moved
            .strip_suffix(rest)
            .filter(|p| p.is_empty() || p.ends_with('/'))
            .map(|p| p.trim_end_matches('/')),
    };
    let mut new = location.clone();
    new.set_query(None);
    new.set_fragment(None);
    new.set_path(path.filter(|p| !p.is_empty()).unwrap_or("/"));
    new.to_string()
}

/// Whether a URL would carry credentials in clear across the network: `http://` to a
/// host other than this machine's loopback. Loopback is a literal loopback address
/// (`127.0.0.0/8`, `::1`), or the name `localhost` when every address it resolves to
/// is one. No other name counts, `*.localhost` included: what a name resolves to is
/// up to whoever answers the DNS query, and the client secret would follow it.
pub fn sends_in_clear(url: &Url) -> bool {
    if url.scheme() != "http" {
        return false;
    }
    let host = url.host_str().unwrap_or_default();
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    !match literal.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => {
            host.trim_end_matches('.').eq_ignore_ascii_case("localhost")
                && resolves_to_loopback_only("localhost")
        }
    }
}

/// Whether `name` resolves, and only to loopback addresses.
fn resolves_to_loopback_only(name: &str) -> bool {
    use std::net::ToSocketAddrs;
    match (name, 0).to_socket_addrs() {
        Ok(addrs) => {
            let addrs: Vec<_> = addrs.collect();
            !addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback())
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn origins() {
        assert!(same_origin(
            &url("https://a.example/x"),
            &url("https://a.example:443/y")
        ));
        assert!(!same_origin(
            &url("http://a.example/x"),
            &url("https://a.example/x")
        ));
        assert!(!same_origin(
            &url("https://a.example/"),
            &url("https://b.example/")
        ));
        assert!(!same_origin(
            &url("http://127.0.0.1:1/"),
            &url("http://127.0.0.1:2/")
        ));
    }

    #[test]
    fn which_redirects_keep_the_call() {
        assert!(keeps_method(301, &Method::GET));
        assert!(!keeps_method(301, &Method::POST));
        assert!(!keeps_method(303, &Method::PUT));
        assert!(keeps_method(307, &Method::POST));
        assert!(keeps_method(308, &Method::DELETE));
        assert!(!keeps_method(304, &Method::GET));
    }

    #[test]
    fn the_suggested_setting_is_the_location_less_the_call() {
        let base = url("https://vcr.api.vngcloud.vn");
        let called = url("https://vcr.api.vngcloud.vn/v1/repository?page=1");
        let moved = url("https://vcr.api.greennode.ai/v1/repository?page=1");
        assert_eq!(
            suggested_base(&base, &called, &moved),
            "https://vcr.api.greennode.ai/"
        );
        let base = url("https://han-1.api.vngcloud.vn/vcr-api");
        let called = url("https://han-1.api.vngcloud.vn/vcr-api/v1/user");
        let moved = url("https://han.example/new-api/v1/user");
        assert_eq!(
            suggested_base(&base, &called, &moved),
            "https://han.example/new-api"
        );
        // Somewhere that does not end with the call: the host alone.
        let moved = url("https://elsewhere.example/login");
        assert_eq!(
            suggested_base(&base, &called, &moved),
            "https://elsewhere.example/"
        );
        // The token URL is a call of its own: the whole new place.
        let token = url("https://iamapis.vngcloud.vn/accounts-api/v2/auth/token");
        let moved = url("https://iam.example/v2/auth/token?x=1");
        assert_eq!(
            suggested_base(&token, &token, &moved),
            "https://iam.example/v2/auth/token"
        );
    }

    #[test]
    fn plain_http_is_refused_off_this_machine() {
        for clear in [
            "http://vcr.example/",
            "http://10.0.0.5:8080/hcm",
            "http://[2001:db8::1]/",
            "http://localhost.example/",
            // Not resolved by this rule: a DNS answer could send it anywhere.
            "http://vcr.localhost/",
            "http://localhost.localhost/",
        ] {
            assert!(sends_in_clear(&url(clear)), "{clear}");
        }
        for fine in [
            "https://vcr.example/",
            "http://127.0.0.1:8080/hcm",
            "http://127.9.9.9/",
            "http://localhost:1/",
            "http://LOCALHOST./x",
            "http://[::1]:8080/",
        ] {
            assert!(!sends_in_clear(&url(fine)), "{fine}");
        }
    }
}
