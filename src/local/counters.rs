//! Request counters (`/_local/requests`): requests by listener, method and
//! route template, with the statuses answered. Keyed by template, not by the
//! path asked (ids, names, digests and upload ids are left out), and capped
//! in entries, so that a flood of junk paths cannot grow them.

use std::collections::BTreeMap;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use serde::Serialize;

use super::faults::{exempt, Dropped, Listener};
use super::state::AppState;

/// The most (listener, method, route) entries kept; requests past it are
/// counted in `total` and `untracked` only. The routes of the API and both
/// registries with every method stay well below it.
pub const MAX_ENTRIES: usize = 1000;
/// The route of a request that matched none.
pub const NO_ROUTE: &str = "(no route)";

/// Requests seen, by route and method, with their statuses.
#[derive(Debug, Default)]
pub struct Counters {
    total: u64,
    untracked: u64,
    by_route: BTreeMap<CounterKey, (u64, BTreeMap<u16, u64>)>,
}

/// The status key of an answer that was dropped (no status was sent).
const DROPPED: u16 = 0;

/// Listener, route template and method of counted requests.
type CounterKey = (Listener, String, &'static str);

/// One line of `GET /_local/requests`.
#[derive(Debug, Serialize)]
pub struct CounterDto {
    /// `api`, `registry-hcm` or `registry-han`.
    pub listener: &'static str,
    pub method: &'static str,
    /// The route template: `/hcm/v1/repository/{repo_id}`, `/v2/{name}/blobs/{digest}`.
    pub path: String,
    pub count: u64,
    /// Answers by status: `"200"`, ..., and `"dropped"`.
    pub statuses: BTreeMap<String, u64>,
}

/// `GET /_local/requests`.
#[derive(Debug, Serialize)]
pub struct CountersDto {
    pub total: u64,
    /// Requests past [`MAX_ENTRIES`] entries, counted in `total` only.
    pub untracked: u64,
    pub requests: Vec<CounterDto>,
}

impl Counters {
    fn record(&mut self, listener: Listener, method: &Method, route: &str, status: u16) {
        self.total += 1;
        let key = (listener, route.to_string(), method_name(method));
        if !self.by_route.contains_key(&key) && self.by_route.len() >= MAX_ENTRIES {
            self.untracked += 1;
            return;
        }
        let e = self.by_route.entry(key).or_default();
        e.0 += 1;
        *e.1.entry(status).or_default() += 1;
    }

    pub fn to_dto(&self) -> CountersDto {
        CountersDto {
            total: self.total,
            untracked: self.untracked,
            requests: self
                .by_route
                .iter()
                .map(|((listener, path, method), (count, statuses))| CounterDto {
                    listener: listener.name(),
                    method,
                    path: path.clone(),
                    count: *count,
                    statuses: statuses
                        .iter()
                        .map(|(s, n)| (status_name(*s), *n))
                        .collect(),
                })
                .collect(),
        }
    }
}

/// A method's name; methods outside the standard ones are all `OTHER`.
fn method_name(method: &Method) -> &'static str {
    const KNOWN: [Method; 9] = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::OPTIONS,
        Method::TRACE,
        Method::CONNECT,
    ];
    KNOWN
        .iter()
        .find(|m| *m == method)
        .map_or("OTHER", |m| m.as_str())
}

/// The status key of an answer: its status, or [`DROPPED`].
fn status_of(resp: &Response) -> u16 {
    if resp.extensions().get::<Dropped>().is_some() {
        DROPPED
    } else {
        resp.status().as_u16()
    }
}

fn status_name(status: u16) -> String {
    match status {
        DROPPED => "dropped".to_string(),
        s => s.to_string(),
    }
}

/// The route template an adapter names for a request whose route axum cannot
/// tell (the registry's catch-all `/v2/{*rest}`, routed by the shape of its
/// path), set before [`count_requests`] sees the request.
#[derive(Debug, Clone, Copy)]
pub struct RouteTemplate(pub &'static str);

/// The route template of a request: the one its adapter named, else the
/// route it matched, else [`NO_ROUTE`].
fn template(req: &Request) -> String {
    if let Some(RouteTemplate(named)) = req.extensions().get::<RouteTemplate>() {
        return named.to_string();
    }
    req.extensions()
        .get::<MatchedPath>()
        .map_or(NO_ROUTE, MatchedPath::as_str)
        .to_string()
}

/// Counts every request outside `/_local` and logs it.
pub async fn count_requests(
    State((app, listener)): State<(AppState, Listener)>,
    req: Request,
    next: Next,
) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let route = template(&req);
    let started = Instant::now();
    let resp = next.run(req).await;
    let status = status_of(&resp);
    tracing::info!(
        listener = listener.name(), method = %method, path = %path, status = %status_name(status),
        elapsed_ms = started.elapsed().as_millis() as u64, "request"
    );
    if !exempt(listener, &path) {
        app.counters
            .lock()
            .record(listener, &method, &route, status);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_capped() {
        let mut c = Counters::default();
        for i in 0..(MAX_ENTRIES + 10) {
            c.record(Listener::Api, &Method::GET, &format!("/r{i}"), 200);
        }
        c.record(Listener::Api, &Method::GET, "/r0", 404);
        let dto = c.to_dto();
        assert_eq!(dto.requests.len(), MAX_ENTRIES);
        assert_eq!((dto.total, dto.untracked), (MAX_ENTRIES as u64 + 11, 10));
        let custom = Method::from_bytes(b"JUNK").unwrap();
        assert_eq!(method_name(&custom), "OTHER");
        assert_eq!(method_name(&Method::PATCH), "PATCH");
    }
}
