//! A typed client for vcr-local's `/_local/` test controls: faults, request counters,
//! the clock, reset, and `docker login` checks. (Images are real pushes to
//! vcr-local's registry, in `images.rs`.)

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use vcr_provider::vcr::Region;

use super::local::LocalVcr;

/// A fault rule to add (`POST /_local/faults`); build one with [`Fault::status`],
/// [`Fault::delay`] or [`Fault::drop_answer`] and narrow it with the setters.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Fault {
    #[serde(skip_serializing_if = "Option::is_none")]
    method: Option<String>,
    path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    listener: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    delay_ms: Option<u64>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    drop_after: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    times: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fraction: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    headers: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    replace_body: Option<String>,
}

impl Fault {
    /// Answer matching requests with this HTTP status instead of performing them.
    pub fn status(path: &str, status: u16) -> Fault {
        Fault {
            path: path.to_string(),
            status: Some(status),
            ..Fault::default()
        }
    }

    /// Hold matching requests this long before handling them.
    pub fn delay(path: &str, ms: u64) -> Fault {
        Fault {
            path: path.to_string(),
            delay_ms: Some(ms),
            ..Fault::default()
        }
    }

    /// Perform matching requests, then drop the connection without an answer.
    pub fn drop_answer(method: &str, path: &str) -> Fault {
        Fault {
            path: path.to_string(),
            drop_after: true,
            ..Fault::default()
        }
        .method(method)
    }

    pub fn method(mut self, method: &str) -> Fault {
        self.method = Some(method.to_string());
        self
    }

    /// Only on this listener: `api`, `registry-hcm` or `registry-han`.
    pub fn on_listener(mut self, listener: &str) -> Fault {
        self.listener = Some(listener.to_string());
        self
    }

    /// Applies to this many requests, then no more.
    pub fn times(mut self, n: u64) -> Fault {
        self.times = Some(n);
        self
    }

    /// Applies to this share of the matching requests, at random.
    pub fn fraction(mut self, f: f64) -> Fault {
        self.fraction = Some(f);
        self
    }

    /// Sends `Retry-After: SECONDS` with the status.
    pub fn retry_after(mut self, seconds: u64) -> Fault {
        self.retry_after = Some(seconds);
        self
    }

    /// The message of the error body.
    pub fn message(mut self, message: &str) -> Fault {
        self.message = Some(message.to_string());
        self
    }

    /// Answers the status with this body (any text, served as JSON) instead of an
    /// error body of vcr-local's own.
    pub fn body(mut self, body: &str) -> Fault {
        self.body = Some(body.to_string());
        self
    }

    /// Adds a header to the answer (`Location` for a redirect).
    pub fn header(mut self, name: &str, value: &str) -> Fault {
        self.headers.insert(name.to_string(), value.to_string());
        self
    }

    /// Performs matching requests, then answers their status with this body instead.
    pub fn replace_body(method: &str, path: &str, body: &str) -> Fault {
        Fault {
            path: path.to_string(),
            replace_body: Some(body.to_string()),
            ..Fault::default()
        }
        .method(method)
    }
}

/// A fault rule as vcr-local holds it (`GET /_local/faults`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultState {
    pub id: String,
    pub path: String,
    pub status: Option<u16>,
    /// How many requests it applied to.
    pub hits: u64,
}

/// `GET /_local/requests`: what the API was asked, and answered.
#[derive(Debug, Clone, Deserialize)]
pub struct RequestCounts {
    pub total: u64,
    pub requests: Vec<RouteCount>,
}

/// The requests of one route: vcr-local counts by route template
/// (`/hcm/v1/repository/{repo_id}/images`), not by the path asked.
#[derive(Debug, Clone, Deserialize)]
pub struct RouteCount {
    /// `api`, `registry-hcm` or `registry-han`.
    pub listener: String,
    pub method: String,
    /// The route template, or `(no route)`.
    pub path: String,
    pub count: u64,
    /// Answers by status (`"200"`, `"503"`, `"dropped"`).
    pub statuses: BTreeMap<String, u64>,
}

impl RouteCount {
    /// Whether `path` (`/hcm/v1/repository/repo-1/images`) is of this route
    /// (`/hcm/v1/repository/{repo_id}/images`): `{x}` stands for one segment.
    pub fn is_route_of(&self, path: &str) -> bool {
        let (t, p): (Vec<&str>, Vec<&str>) =
            (self.path.split('/').collect(), path.split('/').collect());
        t.len() == p.len()
            && t.iter()
                .zip(&p)
                .all(|(t, p)| t == p || (t.starts_with('{') && t.ends_with('}')))
    }
}

impl RequestCounts {
    /// How many `method` requests the route of `path` got.
    pub fn count_of(&self, method: &str, path: &str) -> u64 {
        self.requests
            .iter()
            .filter(|r| r.method == method && r.is_route_of(path))
            .map(|r| r.count)
            .sum()
    }

    /// How many `method` requests a listener (`registry-hcm`) got on a route template
    /// (`/v2/{name}/blobs/uploads/{uuid}`), by status.
    pub fn on(&self, listener: &str, method: &str, template: &str) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for r in self
            .requests
            .iter()
            .filter(|r| r.listener == listener && r.method == method && r.path == template)
        {
            for (status, n) in &r.statuses {
                *out.entry(status.clone()).or_default() += n;
            }
        }
        out
    }

    /// How many answers each status got, over every route.
    pub fn by_status(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for r in &self.requests {
            for (status, n) in &r.statuses {
                *out.entry(status.clone()).or_default() += n;
            }
        }
        out
    }
}

/// vcr-local's clock (`GET /_local/clock`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Clock {
    pub now: String,
    pub offset_seconds: i64,
}

/// The `/_local/` controls of one vcr-local.
pub struct Controls<'a> {
    local: &'a LocalVcr,
}

impl<'a> Controls<'a> {
    pub(crate) fn new(local: &'a LocalVcr) -> Controls<'a> {
        Controls { local }
    }

    /// Adds a fault rule; panics with vcr-local's answer if it refuses it.
    pub fn add_fault(&self, fault: &Fault) -> FaultState {
        let body = serde_json::to_value(fault).unwrap();
        self.expect_json("POST", "/_local/faults", Some(body), 201)
    }

    pub fn faults(&self) -> Vec<FaultState> {
        self.expect_json("GET", "/_local/faults", None, 200)
    }

    /// How many requests the status faults (not the delays) applied to.
    pub fn status_fault_hits(&self) -> u64 {
        self.faults()
            .iter()
            .filter(|f| f.status.is_some())
            .map(|f| f.hits)
            .sum()
    }

    pub fn clear_faults(&self) {
        self.expect_ok("DELETE", "/_local/faults", None);
    }

    pub fn requests(&self) -> RequestCounts {
        self.expect_json("GET", "/_local/requests", None, 200)
    }

    pub fn reset_requests(&self) {
        self.expect_ok("DELETE", "/_local/requests", None);
    }

    pub fn clock(&self) -> Clock {
        self.expect_json("GET", "/_local/clock", None, 200)
    }

    /// Moves vcr-local's clock forward (user expiry, token lifetime).
    pub fn advance_clock(&self, seconds: i64) -> Clock {
        let body = serde_json::json!({ "advanceSeconds": seconds });
        self.expect_json("POST", "/_local/clock", Some(body), 200)
    }

    /// Forgets every object, fault, counter and the clock offset.
    pub fn reset(&self) {
        self.expect_ok("POST", "/_local/reset", Some(serde_json::json!({})));
    }

    /// Whether `docker login` would let this user in: `Ok` or vcr-local's reason.
    pub fn check_login(
        &self,
        region: Region,
        username: &str,
        password: &str,
    ) -> Result<(), String> {
        let path = format!("/_local/{}/check-login", region.as_str().to_lowercase());
        let body = serde_json::json!({ "username": username, "password": password });
        match self.call("POST", &path, Some(body)) {
            (200, _) => Ok(()),
            (401, body) => Err(body["message"]
                .as_str()
                .map_or(body.to_string(), str::to_string)),
            (status, body) => panic!("check-login answered {status}: {body}"),
        }
    }

    /// Whether `docker login` would let this user in.
    pub fn can_login(&self, region: Region, username: &str, password: &str) -> bool {
        self.check_login(region, username, password).is_ok()
    }

    fn expect_ok(&self, method: &str, path: &str, body: Option<Value>) {
        let (status, answer) = self.call(method, path, body);
        assert!(
            (200..300).contains(&status),
            "{method} {path}: {status} {answer}"
        );
    }

    pub(crate) fn expect_json<T: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        expected: u16,
    ) -> T {
        let (status, answer) = self.call(method, path, body);
        assert_eq!(status, expected, "{method} {path}: {answer}");
        serde_json::from_value(answer.clone())
            .unwrap_or_else(|e| panic!("{method} {path}: {e} in {answer}"))
    }

    /// Sends one request and returns the status and the JSON answer (a string when
    /// the answer is not JSON).
    pub(crate) fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("{}{}", self.local.base_url(), path);
        self.local.block_on(async {
            let http = super::images::registry_support::http_client();
            let mut req = http.request(method.parse().unwrap(), url);
            if let Some(b) = body {
                req = req.json(&b);
            }
            let resp = req.send().await.expect("vcr-local answers");
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap_or_default();
            (
                status,
                serde_json::from_str(&text).unwrap_or(Value::String(text)),
            )
        })
    }
}
