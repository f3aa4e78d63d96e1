//! Fault injection and request counters (the `/_local/faults` and
//! `/_local/requests` endpoints), and the middleware that applies them.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use axum::body::Body as HttpBody;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::error::{ApiError, Body};
use super::AppState;

/// The path prefix of the endpoints that are not part of the contract. They
/// are neither counted nor subject to faults.
pub const LOCAL_PREFIX: &str = "/_local";

/// A fault to inject into matching requests.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultRule {
    pub id: String,
    /// `None` matches every method.
    pub method: Option<String>,
    /// A path pattern; `*` matches any run of characters (`/` included).
    pub path: String,
    /// Answer this status instead of performing the request.
    pub status: Option<u16>,
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
    pub remaining: Option<u64>,
    /// The chance it applies to a matching request (`None`: always).
    pub fraction: Option<f64>,
    /// The message of the error body.
    pub message: Option<String>,
    /// How many requests it applied to.
    pub hits: u64,
}

impl FaultRule {
    /// Reads a rule from a `POST /_local/faults` body.
    pub fn from_body(b: &Body) -> Result<FaultRule, ApiError> {
        let method = b
            .opt_str("method")?
            .map(|m| m.trim().to_ascii_uppercase())
            .filter(|m| !m.is_empty() && m != "*");
        let path = b.opt_str("path")?.unwrap_or_else(|| "*".to_string());
        if !path.starts_with('/') && !path.starts_with('*') {
            return Err(ApiError::invalid("path must start with '/' or '*'"));
        }
        let status = match b.opt_int("status", "an HTTP status from 400 to 599")? {
            None => None,
            Some(s) if (400..=599).contains(&s) => Some(s as u16),
            Some(s) => {
                return Err(ApiError::invalid(format!(
                    "status {s}: must be from 400 to 599"
                )))
            }
        };
        let retry_after = match b.0.get("retryAfter") {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(_) => {
                return Err(ApiError::invalid(
                    "retryAfter must be a number of seconds or an HTTP date",
                ))
            }
        };
        let delay_ms =
            match b.opt_int("delayMs", "a whole number of milliseconds from 0 to 600000")? {
                None => 0,
                Some(d) if (0..=600_000).contains(&d) => d as u64,
                Some(d) => {
                    return Err(ApiError::invalid(format!(
                        "delayMs {d}: must be from 0 to 600000"
                    )))
                }
            };
        let drop_after = match b.0.get("dropAfter") {
            None | Some(serde_json::Value::Null) => false,
            Some(serde_json::Value::Bool(v)) => *v,
            Some(_) => return Err(ApiError::invalid("dropAfter must be true or false")),
        };
        let remaining = match b.opt_int("times", "a whole number, at least 1")? {
            None => None,
            Some(t) if t >= 1 => Some(t as u64),
            Some(t) => return Err(ApiError::invalid(format!("times {t}: must be at least 1"))),
        };
        let fraction = match b.0.get("fraction") {
            None | Some(serde_json::Value::Null) => None,
            Some(v) => match v.as_f64() {
                Some(f) if f > 0.0 && f <= 1.0 => Some(f),
                _ => {
                    return Err(ApiError::invalid(
                        "fraction must be a number above 0 and at most 1",
                    ))
                }
            },
        };
        let replace_body = b.opt_str("replaceBody")?;
        let actions = [status.is_some(), drop_after, replace_body.is_some()];
        if actions.iter().filter(|x| **x).count() > 1 {
            return Err(ApiError::invalid(
                "give only one of status, dropAfter and replaceBody",
            ));
        }
        if !actions.contains(&true) && delay_ms == 0 {
            return Err(ApiError::invalid(
                "a fault needs status, dropAfter, replaceBody or delayMs",
            ));
        }
        Ok(FaultRule {
            id: format!("fault-{}", uuid::Uuid::new_v4()),
            method,
            path,
            status,
            retry_after,
            delay_ms,
            drop_after,
            replace_body,
            remaining,
            fraction,
            message: b.opt_str("message")?,
            hits: 0,
        })
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.remaining != Some(0)
            && self.method.as_deref().is_none_or(|m| m == method)
            && glob(&self.path, path)
    }
}

/// Whether `text` matches `pattern`, where `*` matches any run of characters.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
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
    p[pi..].iter().all(|c| *c == '*')
}

/// The fault rules, in the order they were added.
#[derive(Debug, Default)]
pub struct Faults {
    pub rules: Vec<FaultRule>,
}

impl Faults {
    /// The first rule that applies to this request, counting it as used.
    fn pick(&mut self, method: &str, path: &str) -> Option<FaultRule> {
        for r in self.rules.iter_mut() {
            if !r.matches(method, path) {
                continue;
            }
            if let Some(f) = r.fraction {
                if rand::random::<f64>() >= f {
                    continue;
                }
            }
            if let Some(n) = r.remaining.as_mut() {
                *n -= 1;
            }
            r.hits += 1;
            return Some(r.clone());
        }
        None
    }
}

/// Requests seen, by path and method, with their statuses.
#[derive(Debug, Default)]
pub struct Counters {
    total: u64,
    by_route: BTreeMap<(String, String), (u64, BTreeMap<String, u64>)>,
}

/// One line of `GET /_local/requests`.
#[derive(Debug, Serialize)]
pub struct CounterDto {
    pub method: String,
    pub path: String,
    pub count: u64,
    pub statuses: BTreeMap<String, u64>,
}

/// `GET /_local/requests`.
#[derive(Debug, Serialize)]
pub struct CountersDto {
    pub total: u64,
    pub requests: Vec<CounterDto>,
}

impl Counters {
    fn record(&mut self, method: &str, path: &str, status: &str) {
        self.total += 1;
        let e = self
            .by_route
            .entry((path.to_string(), method.to_string()))
            .or_default();
        e.0 += 1;
        *e.1.entry(status.to_string()).or_default() += 1;
    }

    pub fn to_dto(&self) -> CountersDto {
        CountersDto {
            total: self.total,
            requests: self
                .by_route
                .iter()
                .map(|((path, method), (count, statuses))| CounterDto {
                    method: method.clone(),
                    path: path.clone(),
                    count: *count,
                    statuses: statuses.clone(),
                })
                .collect(),
        }
    }
}

/// Marks a response whose connection is to be dropped.
#[derive(Clone, Copy)]
struct Dropped;

/// Counts every request outside `/_local` and logs it.
pub async fn count_requests(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let started = Instant::now();
    let resp = next.run(req).await;
    let status = if resp.extensions().get::<Dropped>().is_some() {
        "dropped".to_string()
    } else {
        resp.status().as_u16().to_string()
    };
    tracing::info!(
        method = %method, path = %path, status = %status,
        elapsed_ms = started.elapsed().as_millis() as u64, "request"
    );
    if !path.starts_with(LOCAL_PREFIX) {
        app.counters.lock().record(&method, &path, &status);
    }
    resp
}

/// Applies the first matching fault rule, if any.
pub async fn inject_faults(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if path.starts_with(LOCAL_PREFIX) {
        return next.run(req).await;
    }
    let Some(rule) = app.faults.lock().pick(req.method().as_str(), path) else {
        return next.run(req).await;
    };
    if rule.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(rule.delay_ms)).await;
    }
    if let Some(status) = rule.status {
        let mut err = ApiError::new(
            StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
            "INJECTED_FAULT",
            rule.message
                .clone()
                .unwrap_or_else(|| format!("fault {} injected by vcr-local", rule.id)),
        );
        err.retry_after = rule.retry_after.clone();
        return err.into_response();
    }
    let resp = next.run(req).await;
    if rule.drop_after {
        return dropped_response();
    }
    if let Some(body) = rule.replace_body {
        let mut out = Response::new(HttpBody::from(body));
        *out.status_mut() = resp.status();
        out.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json"),
        );
        return out;
    }
    resp
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
    }
}
