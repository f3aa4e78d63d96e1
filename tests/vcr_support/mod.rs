//! Helpers shared by the tests that run the vCR client against vcr-local.
#![allow(dead_code)]

#[path = "../registry_support/mod.rs"]
pub mod registry_support;

use std::time::Duration;

use serde_json::{json, Value};
use vcr_provider::local::{start, LocalConfig, RunningServer};
use vcr_provider::vcr::{Client, ClientConfig, Secret};

/// A vcr-local on a free port, in memory, with a short default token life.
pub async fn server() -> RunningServer {
    server_with(LocalConfig::default()).await
}

pub async fn server_with(cfg: LocalConfig) -> RunningServer {
    start(LocalConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..cfg
    })
    .await
    .expect("vcr-local starts")
}

/// A client for the server, with small retry delays.
pub fn client(server: &RunningServer) -> Client {
    client_with(server, |_| {})
}

pub fn client_with(server: &RunningServer, f: impl FnOnce(&mut ClientConfig)) -> Client {
    let settings: std::collections::HashMap<_, _> = server.settings().into_iter().collect();
    let mut cfg = ClientConfig {
        client_id: settings["VCR_CLIENT_ID"].clone(),
        client_secret: Secret::new(settings["VCR_CLIENT_SECRET"].clone()),
        token_url: Some(server.token_url()),
        endpoint_hcm: Some(server.endpoint_hcm()),
        endpoint_han: Some(server.endpoint_han()),
        max_retries: 3,
        retry_base_delay: Duration::from_millis(10),
        retry_max_delay: Duration::from_secs(2),
        timeout: Duration::from_secs(10),
        ..ClientConfig::default()
    };
    f(&mut cfg);
    Client::new(cfg).expect("client config is valid")
}

/// `POST /_local/...` with a JSON body; returns status and body.
pub async fn local_post(server: &RunningServer, path: &str, body: Value) -> (u16, Value) {
    let resp = registry_support::http_client()
        .post(format!("{}{path}", server.local_url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Adds a fault rule.
pub async fn fault(server: &RunningServer, rule: Value) {
    let (status, body) = local_post(server, "/faults", rule).await;
    assert_eq!(status, 201, "fault accepted: {body}");
}

/// Removes every fault rule.
pub async fn clear_faults(server: &RunningServer) {
    registry_support::http_client()
        .delete(format!("{}/faults", server.local_url()))
        .send()
        .await
        .unwrap();
}

/// How many requests `METHOD path` got, and how many per status. vcr-local
/// counts by route template (`/hcm/v1/user/{user_id}/refresh`): `path` may be
/// the template or a path of that route (the counts are the route's).
pub async fn count(server: &RunningServer, method: &str, path: &str) -> (u64, Value) {
    let v: Value = reqwest::get(format!("{}/requests", server.local_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for r in v["requests"].as_array().unwrap() {
        if r["method"] == method && of_route(r["path"].as_str().unwrap(), path) {
            return (r["count"].as_u64().unwrap(), r["statuses"].clone());
        }
    }
    (0, json!({}))
}

/// Whether `path` is of the route `template` (`{x}` stands for one segment).
pub fn of_route(template: &str, path: &str) -> bool {
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| t == p || (t.starts_with('{') && t.ends_with('}')))
}

/// Resets the counters.
pub async fn reset_counts(server: &RunningServer) {
    registry_support::http_client()
        .delete(format!("{}/requests", server.local_url()))
        .send()
        .await
        .unwrap();
}

/// How to reach a region (`hcm` or `han`) of the server, API and registry.
pub fn region(server: &RunningServer, region: &str) -> registry_support::Region {
    let r = vcr_provider::local::LocalRegion::parse(region).expect("hcm or han");
    registry_support::Region {
        token_url: server.token_url(),
        client_id: vcr_provider::local::DEFAULT_CLIENT_ID.to_string(),
        client_secret: vcr_provider::local::DEFAULT_CLIENT_SECRET.to_string(),
        endpoint: server.endpoint(region).unwrap(),
        registry: server.registry(r),
    }
}

/// Pushes a real image (`<image>:latest`, one layer of `layer_kib` KiB) to a
/// repository (by id or name) through the registry; answers the repository.
pub async fn push_image(
    server: &RunningServer,
    region_code: &str,
    repo: &str,
    name: &str,
    layer_kib: u64,
) -> Value {
    region(server, region_code)
        .push_image(repo, name, layer_kib)
        .await
}

/// What `docker login` would answer: 200 or 401.
pub async fn login(server: &RunningServer, region: &str, username: &str, password: &str) -> u16 {
    local_post(
        server,
        &format!("/{region}/check-login"),
        json!({"username": username, "password": password}),
    )
    .await
    .0
}

/// Moves vcr-local's clock forward.
pub async fn advance_clock(server: &RunningServer, seconds: i64) {
    let (status, _) = local_post(server, "/clock", json!({ "advanceSeconds": seconds })).await;
    assert_eq!(status, 200);
}

/// The log events of this thread, as text, while the value lives (use a
/// current-thread runtime, as `#[tokio::test]` does). One global subscriber serves
/// every test of the binary, so that no test's events are filtered by another's.
pub struct Logs {
    buf: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
}

thread_local! {
    static CAPTURE: std::cell::RefCell<Option<std::sync::Arc<std::sync::Mutex<Vec<u8>>>>> =
        const { std::cell::RefCell::new(None) };
}

impl Logs {
    pub fn capture() -> Logs {
        static INIT: std::sync::Once = std::sync::Once::new();
        INIT.call_once(|| {
            let subscriber = tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_ansi(false)
                .with_writer(|| ThreadWriter)
                .finish();
            tracing::subscriber::set_global_default(subscriber).expect("one global subscriber");
        });
        let buf = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        CAPTURE.with(|c| *c.borrow_mut() = Some(buf.clone()));
        Logs { buf }
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.buf.lock().unwrap()).to_string()
    }
}

impl Drop for Logs {
    fn drop(&mut self) {
        CAPTURE.with(|c| *c.borrow_mut() = None);
    }
}

/// Writes into the capture of the current thread, if any.
struct ThreadWriter;

impl std::io::Write for ThreadWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        CAPTURE.with(|c| {
            if let Some(buf) = c.borrow().as_ref() {
                buf.lock().unwrap().extend_from_slice(data);
            }
        });
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
