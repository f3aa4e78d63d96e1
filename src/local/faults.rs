//! Fault injection and request counters (the `/_local/faults` and
//! `/_local/requests` endpoints), and the middleware that applies them.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body as HttpBody;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::core::LocalRegion;
use super::state::AppState;

/// The path prefix of the endpoints that are not part of the contract. They
/// are neither counted nor subject to faults.
pub const LOCAL_PREFIX: &str = "/_local";
/// The longest path pattern a fault may have (matching is O(pattern × path)).
pub const MAX_PATTERN: usize = 512;
/// The longest request path a fault may match; longer ones match none
/// (every path of the API and the registries is far shorter).
pub const MAX_MATCHED_PATH: usize = 2048;
/// The most fault rules held at once.
pub const MAX_FAULTS: usize = 100;
/// The most headers a fault may add.
pub const MAX_FAULT_HEADERS: usize = 20;
/// The longest body a fault may answer.
pub const MAX_FAULT_BODY: usize = 64 * 1024;

/// Which of vcr-local's listeners a request came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Listener {
    /// The IAM and management API (and `/_local/`).
    Api,
    /// A region's registry.
    Registry(LocalRegion),
}

impl Listener {
    /// `api`, `registry-hcm` or `registry-han`.
    pub fn name(self) -> &'static str {
        match self {
            Listener::Api => "api",
            Listener::Registry(LocalRegion::Hcm) => "registry-hcm",
            Listener::Registry(LocalRegion::Han) => "registry-han",
        }
    }
}

/// `retryAfter`: seconds or an HTTP date.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum RetryAfter {
    Seconds(u64),
    Text(String),
}

/// A `POST /_local/faults` body, as sent; [`FaultRequest::validate`] makes it
/// a rule.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultRequest {
    /// Only this method (any when absent or `*`).
    method: Option<String>,
    /// A path pattern; `*` matches any run of characters.
    path: Option<String>,
    /// `api`, `registry` (both regions), `registry-hcm` or `registry-han`;
    /// any listener when absent.
    listener: Option<String>,
    /// Answer this status (300 to 599) instead of performing the request.
    status: Option<u16>,
    /// With `status`: answer this text (served as JSON) instead of an error
    /// body of vcr-local's own.
    body: Option<String>,
    /// Headers to add to the answer (with `status` or `replaceBody`), e.g.
    /// `Location` for a redirect.
    headers: Option<BTreeMap<String, String>>,
    retry_after: Option<RetryAfter>,
    delay_ms: Option<u64>,
    drop_after: Option<bool>,
    replace_body: Option<String>,
    times: Option<u64>,
    fraction: Option<f64>,
    message: Option<String>,
}

/// A fault to inject into matching requests. What it matches and does is
/// fixed; its counts change as it applies, without a lock.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultRule {
    pub id: String,
    /// `None` matches every method.
    pub method: Option<String>,
    /// A path pattern; `*` matches any run of characters (`/` included).
    pub path: String,
    /// `None` matches every listener.
    pub listener: Option<String>,
    /// Answer this status instead of performing the request.
    pub status: Option<u16>,
    /// The body to answer with `status` (served as JSON).
    pub body: Option<String>,
    /// Headers added to the answer.
    pub headers: BTreeMap<String, String>,
    /// `Retry-After` to send with `status`.
    pub retry_after: Option<String>,
    /// Wait this long before handling the request.
    pub delay_ms: u64,
    /// Perform the request, then drop the connection without an answer.
    pub drop_after: bool,
    /// Perform the request, then answer its status with this body instead
    /// (to try a client against answers of another shape).
    pub replace_body: Option<String>,
    /// How many more requests it applies to (`None`: until removed).
    pub remaining: Option<AtomicU64>,
    /// The chance it applies to a matching request (`None`: always).
    pub fraction: Option<f64>,
    /// The message of the error body.
    pub message: Option<String>,
    /// How many requests it applied to.
    pub hits: AtomicU64,
}

/// Why a fault rule was refused: the rule it breaks (the `/_local/` adapter
/// answers it as a 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FaultError {
    pub message: String,
}

fn invalid(message: impl Into<String>) -> FaultError {
    FaultError {
        message: message.into(),
    }
}

impl FaultRequest {
    /// Checks the request's rules and makes it a rule.
    pub fn validate(self) -> Result<FaultRule, FaultError> {
        self.check_matching()?;
        self.check_numbers()?;
        self.check_answer()?;
        let headers = self.headers.unwrap_or_default();
        Ok(FaultRule {
            id: format!("fault-{}", uuid::Uuid::new_v4()),
            method: self
                .method
                .map(|m| m.trim().to_ascii_uppercase())
                .filter(|m| !m.is_empty() && m != "*"),
            path: self.path.unwrap_or_else(|| "*".to_string()),
            listener: self.listener.map(|l| l.trim().to_ascii_lowercase()),
            status: self.status,
            body: self.body,
            headers,
            retry_after: self.retry_after.map(|r| match r {
                RetryAfter::Seconds(n) => n.to_string(),
                RetryAfter::Text(t) => t,
            }),
            delay_ms: self.delay_ms.unwrap_or(0),
            drop_after: self.drop_after.unwrap_or(false),
            replace_body: self.replace_body,
            remaining: self.times.map(AtomicU64::new),
            fraction: self.fraction,
            message: self.message,
            hits: AtomicU64::new(0),
        })
    }

    /// Which requests it matches: a bounded path pattern, a known listener.
    fn check_matching(&self) -> Result<(), FaultError> {
        let path = self.path.as_deref().unwrap_or("*");
        if !path.starts_with('/') && !path.starts_with('*') {
            return Err(invalid("path must start with '/' or '*'"));
        }
        if path.len() > MAX_PATTERN {
            return Err(invalid(format!(
                "path may be at most {MAX_PATTERN} characters"
            )));
        }
        let listener = self
            .listener
            .as_deref()
            .map(|l| l.trim().to_ascii_lowercase());
        if listener.is_some_and(|l| {
            !["api", "registry", "registry-hcm", "registry-han"].contains(&l.as_str())
        }) {
            return Err(invalid(
                "listener must be api, registry, registry-hcm or registry-han",
            ));
        }
        Ok(())
    }

    fn check_numbers(&self) -> Result<(), FaultError> {
        if let Some(s) = self.status {
            if !(300..=599).contains(&s) {
                return Err(invalid(format!("status {s}: must be from 300 to 599")));
            }
        }
        if self.delay_ms.is_some_and(|d| d > 600_000) {
            return Err(invalid("delayMs must be from 0 to 600000"));
        }
        if self.times == Some(0) {
            return Err(invalid("times 0: must be at least 1"));
        }
        if self.fraction.is_some_and(|f| !(f > 0.0 && f <= 1.0)) {
            return Err(invalid("fraction must be a number above 0 and at most 1"));
        }
        Ok(())
    }

    /// What it does: one action at most, a body and headers only with one,
    /// and something to do.
    fn check_answer(&self) -> Result<(), FaultError> {
        let actions = [
            self.status.is_some(),
            self.drop_after.unwrap_or(false),
            self.replace_body.is_some(),
        ];
        if actions.iter().filter(|x| **x).count() > 1 {
            return Err(invalid(
                "give only one of status, dropAfter and replaceBody",
            ));
        }
        if self.body.is_some() && self.status.is_none() {
            return Err(invalid(
                "body goes with status (use replaceBody to change a real answer's body)",
            ));
        }
        if [&self.body, &self.replace_body]
            .iter()
            .any(|b| b.as_ref().is_some_and(|b| b.len() > MAX_FAULT_BODY))
        {
            return Err(invalid(format!(
                "body and replaceBody may be at most {MAX_FAULT_BODY} bytes"
            )));
        }
        let headers = self.headers.as_ref();
        if let Some(h) = headers {
            check_headers(h)?;
        }
        if headers.is_some_and(|h| !h.is_empty())
            && self.status.is_none()
            && self.replace_body.is_none()
        {
            return Err(invalid("headers go with status or replaceBody"));
        }
        if !actions.contains(&true) && self.delay_ms.unwrap_or(0) == 0 {
            return Err(invalid(
                "a fault needs status, dropAfter, replaceBody or delayMs",
            ));
        }
        Ok(())
    }
}

fn check_headers(headers: &BTreeMap<String, String>) -> Result<(), FaultError> {
    if headers.len() > MAX_FAULT_HEADERS {
        return Err(invalid(format!("at most {MAX_FAULT_HEADERS} headers")));
    }
    for (name, value) in headers {
        if HeaderName::from_bytes(name.as_bytes()).is_err() || HeaderValue::from_str(value).is_err()
        {
            return Err(invalid(format!(
                "headers: {:?} is not a valid header",
                super::core::rules::truncate(name, 60)
            )));
        }
    }
    Ok(())
}

impl FaultRule {
    fn matches(&self, listener: Listener, method: &str, path: &str) -> bool {
        let listener_ok = match self.listener.as_deref() {
            None => true,
            Some("registry") => matches!(listener, Listener::Registry(_)),
            Some(l) => l == listener.name(),
        };
        listener_ok
            && self.method.as_deref().is_none_or(|m| m == method)
            && path.len() <= MAX_MATCHED_PATH
            && glob(&self.path, path)
    }

    /// Takes one of its remaining uses, if any is left; counts the hit.
    fn claim(&self) -> bool {
        if let Some(remaining) = &self.remaining {
            let took =
                remaining.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
            if took.is_err() {
                return false;
            }
        }
        self.hits.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// The answer of a rule with a status.
    fn answer(&self, status: u16, listener: Listener) -> Response {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        let message = self
            .message
            .clone()
            .unwrap_or_else(|| format!("fault {} injected by vcr-local", self.id));
        let mut resp = match (&self.body, listener) {
            (Some(body), _) => json_response(status, body.clone()),
            (None, Listener::Registry(_)) => {
                let body =
                    serde_json::json!({"errors": [{"code": "INJECTED_FAULT", "message": message}]});
                json_response(status, body.to_string())
            }
            (None, Listener::Api) => {
                let body = serde_json::json!({"message": message, "errorCode": "INJECTED_FAULT"});
                json_response(status, body.to_string())
            }
        };
        if let Some(ra) = self
            .retry_after
            .as_ref()
            .and_then(|v| HeaderValue::from_str(v).ok())
        {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, ra);
        }
        self.add_headers(&mut resp);
        resp
    }

    fn add_headers(&self, resp: &mut Response) {
        for (name, value) in &self.headers {
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                resp.headers_mut().insert(n, v);
            }
        }
    }
}

/// Whether `text` matches `pattern`, where `*` matches any run of characters.
/// Byte by byte, which for UTF-8 is the same as character by character (a
/// literal never starts inside a character); at worst O(pattern × text).
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == b'*')
}

/// The fault rules, in the order they were added. Requests match against a
/// snapshot taken in O(1), outside any lock; adding or removing a rule makes
/// a new list.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Arc<[Arc<FaultRule>]>,
}

impl Faults {
    /// The rules as they are now.
    pub fn snapshot(&self) -> Arc<[Arc<FaultRule>]> {
        self.rules.clone()
    }

    /// Adds a rule; refused past [`MAX_FAULTS`].
    pub fn add(&mut self, rule: Arc<FaultRule>) -> Result<(), FaultError> {
        if self.rules.len() >= MAX_FAULTS {
            return Err(invalid(format!(
                "at most {MAX_FAULTS} fault rules: remove some first"
            )));
        }
        self.rules = self.rules.iter().cloned().chain([rule]).collect();
        Ok(())
    }

    /// Removes a rule by id; whether there was one.
    pub fn remove(&mut self, id: &str) -> bool {
        let before = self.rules.len();
        self.rules = self.rules.iter().filter(|r| r.id != id).cloned().collect();
        self.rules.len() != before
    }

    /// Removes every rule.
    pub fn clear(&mut self) {
        self.rules = Arc::new([]);
    }
}

/// The first rule of `rules` that applies to this request, counting it as
/// used (rules with `times` are claimed atomically: never more than `times`).
fn pick(
    rules: &[Arc<FaultRule>],
    listener: Listener,
    method: &str,
    path: &str,
) -> Option<Arc<FaultRule>> {
    rules
        .iter()
        .filter(|r| r.matches(listener, method, path))
        .filter(|r| r.fraction.is_none_or(|f| rand::random::<f64>() < f))
        .find(|r| r.claim())
        .cloned()
}

/// Marks a response whose connection is to be dropped.
#[derive(Clone, Copy)]
pub struct Dropped;

/// Whether a request is outside the counters and faults (`/_local/`).
pub fn exempt(listener: Listener, path: &str) -> bool {
    listener == Listener::Api && path.starts_with(LOCAL_PREFIX)
}

/// Applies the first matching fault rule, if any.
pub async fn inject_faults(
    State((app, listener)): State<(AppState, Listener)>,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path();
    if exempt(listener, path) {
        return next.run(req).await;
    }
    let rules = app.faults.lock().snapshot();
    let Some(rule) = pick(&rules, listener, req.method().as_str(), path) else {
        return next.run(req).await;
    };
    if rule.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(rule.delay_ms)).await;
    }
    if let Some(status) = rule.status {
        return rule.answer(status, listener);
    }
    let resp = next.run(req).await;
    if rule.drop_after {
        return dropped_response();
    }
    if let Some(body) = &rule.replace_body {
        let mut out = json_response(resp.status(), body.clone());
        rule.add_headers(&mut out);
        return out;
    }
    resp
}

/// A body of any text, served as JSON.
fn json_response(status: StatusCode, body: String) -> Response {
    let mut out = Response::new(HttpBody::from(body));
    *out.status_mut() = status;
    out.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    out
}

/// A response that makes the server abort the connection: its body fails
/// before yielding a byte, so hyper closes the connection instead of
/// completing the exchange.
fn dropped_response() -> Response {
    let failing = futures_util::stream::once(async {
        Err::<axum::body::Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "vcr-local drops this answer (injected fault)",
        ))
    });
    let mut resp = Response::new(HttpBody::from_stream(failing));
    *resp.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    resp.extensions_mut().insert(Dropped);
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("/hcm/v1/repository", "/hcm/v1/repository"));
        assert!(!glob("/hcm/v1/repository", "/hcm/v1/repository/x"));
        assert!(glob("/hcm/v1/repository/*", "/hcm/v1/repository/x/images"));
        assert!(glob("*/v1/user*", "/han/v1/user"));
        assert!(glob("*", "/anything"));
        assert!(!glob("/han/*", "/hcm/v1"));
        assert!(glob("/a*b*c", "/aXbYbc"));
        assert!(glob("/ä*ö", "/äxyö"));
        assert!(!glob("/ä*ö", "/äxyo"));
    }

    fn arc_rule(json: serde_json::Value) -> Arc<FaultRule> {
        Arc::new(rule(json).unwrap())
    }

    #[test]
    fn times_are_never_exceeded_by_concurrent_requests() {
        let rules: Arc<[Arc<FaultRule>]> =
            Arc::new([arc_rule(serde_json::json!({"status": 503, "times": 5}))]);
        let picked: usize = std::thread::scope(|s| {
            let workers: Vec<_> = (0..8)
                .map(|_| {
                    s.spawn(|| {
                        (0..200)
                            .filter(|_| pick(&rules, Listener::Api, "GET", "/x").is_some())
                            .count()
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).sum()
        });
        assert_eq!(picked, 5);
        assert_eq!(rules[0].hits.load(Ordering::Relaxed), 5);
    }

    #[test]
    fn rules_and_matched_paths_are_bounded() {
        let every = arc_rule(serde_json::json!({"status": 503}));
        let rules: Arc<[Arc<FaultRule>]> = Arc::new([every]);
        let at_cap = format!("/{}", "a".repeat(MAX_MATCHED_PATH - 1));
        assert!(pick(&rules, Listener::Api, "GET", &at_cap).is_some());
        let over = format!("{at_cap}a");
        assert!(pick(&rules, Listener::Api, "GET", &over).is_none());

        let mut faults = Faults::default();
        for _ in 0..MAX_FAULTS {
            faults
                .add(arc_rule(serde_json::json!({"delayMs": 1})))
                .unwrap();
        }
        let refused = faults
            .add(arc_rule(serde_json::json!({"delayMs": 1})))
            .unwrap_err();
        assert!(
            refused.message.contains("at most 100"),
            "{}",
            refused.message
        );
        let id = faults.snapshot()[3].id.clone();
        assert!(faults.remove(&id) && !faults.remove(&id));
        assert_eq!(faults.snapshot().len(), MAX_FAULTS - 1);
    }

    fn rule(json: serde_json::Value) -> Result<FaultRule, FaultError> {
        serde_json::from_value::<FaultRequest>(json)
            .unwrap()
            .validate()
    }

    #[test]
    fn fault_requests_are_validated() {
        use serde_json::json;
        let table: &[(serde_json::Value, Option<&str>)] = &[
            (json!({"status": 503}), None),
            (
                json!({"status": 301, "headers": {"Location": "http://elsewhere/"}}),
                None,
            ),
            (
                json!({"status": 403, "body": "[{\"code\":\"IAM_PERMISSION_DENIED\"}]"}),
                None,
            ),
            (json!({"replaceBody": "{}", "headers": {"X-A": "b"}}), None),
            (json!({"delayMs": 5, "listener": "registry-han"}), None),
            (json!({"status": 200}), Some("300 to 599")),
            (json!({"path": "/x"}), Some("needs status")),
            (json!({"status": 500, "dropAfter": true}), Some("only one")),
            (json!({"body": "x"}), Some("body goes with status")),
            (
                json!({"delayMs": 1, "headers": {"A": "b"}}),
                Some("headers go with"),
            ),
            (
                json!({"status": 500, "headers": {"bad name": "b"}}),
                Some("not a valid header"),
            ),
            (json!({"status": 500, "path": "x"}), Some("start with")),
            (
                json!({"status": 500, "path": format!("/{}", "*".repeat(600))}),
                Some("at most 512"),
            ),
            (json!({"status": 500, "listener": "nope"}), Some("listener")),
            (json!({"status": 500, "times": 0}), Some("at least 1")),
            (json!({"status": 500, "fraction": 1.5}), Some("fraction")),
            (json!({"delayMs": 600_001}), Some("delayMs")),
        ];
        for (input, refusal) in table {
            match (rule(input.clone()), refusal) {
                (Ok(_), None) => {}
                (Err(e), Some(needle)) => {
                    assert!(e.message.contains(needle), "{input}: {}", e.message)
                }
                (got, want) => panic!("{input}: got {got:?}, want refusal {want:?}"),
            }
        }
        assert!(
            serde_json::from_value::<FaultRequest>(json!({"stauts": 500})).is_err(),
            "unknown fields are refused"
        );
        let r = rule(json!({"status": 503, "retryAfter": 2, "method": "get"})).unwrap();
        assert_eq!(
            (r.retry_after.as_deref(), r.method.as_deref()),
            (Some("2"), Some("GET"))
        );
    }
}
