//! `vcr-local`: a local stand-in for the vCR API (IAM token endpoint and both
//! regions), for trying the provider and for tests, with no cloud account.
//!
//! One process serves, under one address:
//!
//! | path | what |
//! |---|---|
//! | `POST /iam/accounts-api/v2/auth/token` | the IAM token endpoint |
//! | `/hcm/v1/...` | the vCR API of region HCM (endpoint `http://ADDR/hcm`) |
//! | `/han/v1/...` | the vCR API of region HAN (endpoint `http://ADDR/han`) |
//! | `/_local/...` | test controls, not part of the contract |
//!
//! It defines its own wire types ([`wire`]) from the contract; it shares none
//! with the client in [`crate::vcr`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), vcr_provider::local::LocalError> {
//! use vcr_provider::local::{start, LocalConfig};
//! let server = start(LocalConfig { listen: "127.0.0.1:0".parse().unwrap(), ..LocalConfig::default() }).await?;
//! for (k, v) in server.settings() {
//!     println!("{k}={v}");
//! }
//! server.shutdown().await;
//! # Ok(()) }
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::ops::Deref;
use std::path::PathBuf;
use std::sync::atomic::AtomicI64;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::header;
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::Router;
use base64::Engine as _;
use parking_lot::Mutex;

mod admin;
mod api;
mod error;
mod faults;
mod jwt;
mod rules;
mod store;
pub mod wire;

pub use error::ApiError;

/// The path of the IAM token endpoint.
pub const TOKEN_PATH: &str = "/iam/accounts-api/v2/auth/token";
/// The default client id (a fixed development value, not a secret).
pub const DEFAULT_CLIENT_ID: &str = "vcr-local";
/// The default client secret (a fixed development value, documented).
pub const DEFAULT_CLIENT_SECRET: &str = "vcr-local-secret";
/// The default account id (the prefix of every `backendName`).
pub const DEFAULT_ACCOUNT_ID: u64 = 100_001;
/// The default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// How to run vcr-local.
#[derive(Debug, Clone)]
pub struct LocalConfig {
    /// Where to listen (`127.0.0.1:0` picks a free port).
    pub listen: SocketAddr,
    /// Where to keep the state; `None` keeps it in memory only.
    pub data_dir: Option<PathBuf>,
    /// The account id, prefix of every `backendName`.
    pub account_id: u64,
    /// The IAM client id to accept.
    pub client_id: String,
    /// The IAM client secret to accept.
    pub client_secret: String,
    /// How long an access token lives (whole seconds, at least 1).
    pub token_ttl: Duration,
}

impl Default for LocalConfig {
    fn default() -> Self {
        LocalConfig {
            listen: DEFAULT_LISTEN.parse().expect("a valid address"),
            data_dir: None,
            account_id: DEFAULT_ACCOUNT_ID,
            client_id: DEFAULT_CLIENT_ID.to_string(),
            client_secret: DEFAULT_CLIENT_SECRET.to_string(),
            token_ttl: Duration::from_secs(1800),
        }
    }
}

/// Why vcr-local could not start.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// The data directory or its state file is not usable.
    #[error("{0}")]
    Data(String),
    /// The configuration is not usable.
    #[error("invalid configuration: {0}")]
    Config(String),
}

/// A region of vcr-local (its own type: vcr-local shares nothing with the client).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalRegion {
    Hcm,
    Han,
}

impl LocalRegion {
    /// Both regions.
    pub const ALL: [LocalRegion; 2] = [LocalRegion::Hcm, LocalRegion::Han];

    /// `HCM` or `HAN`.
    pub fn code(self) -> &'static str {
        match self {
            LocalRegion::Hcm => "HCM",
            LocalRegion::Han => "HAN",
        }
    }

    /// The path prefix of the region's API: `/hcm` or `/han`.
    pub fn prefix(self) -> &'static str {
        match self {
            LocalRegion::Hcm => "/hcm",
            LocalRegion::Han => "/han",
        }
    }

    /// The docker registry host shown in `registryUrl` (the real region's).
    pub fn registry_host(self) -> &'static str {
        match self {
            LocalRegion::Hcm => "vcr.vngcloud.vn",
            LocalRegion::Han => "vcr-han.vngcloud.vn",
        }
    }

    /// Parses `hcm`/`han` in any case.
    pub fn parse(s: &str) -> Option<LocalRegion> {
        LocalRegion::ALL
            .into_iter()
            .find(|r| r.code().eq_ignore_ascii_case(s.trim()))
    }

    fn data(self, s: &store::Snapshot) -> &store::RegionData {
        match self {
            LocalRegion::Hcm => &s.hcm,
            LocalRegion::Han => &s.han,
        }
    }

    fn data_mut(self, s: &mut store::Snapshot) -> &mut store::RegionData {
        match self {
            LocalRegion::Hcm => &mut s.hcm,
            LocalRegion::Han => &mut s.han,
        }
    }
}

/// The server's shared state. Cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// What [`AppState`] holds.
pub struct Shared {
    config: LocalConfig,
    store: store::Store,
    signing_key: Vec<u8>,
    faults: Mutex<faults::Faults>,
    counters: Mutex<faults::Counters>,
    /// Seconds added to the system clock (`/_local/clock`).
    clock_offset: AtomicI64,
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    /// Opens the state (loading the data directory, if any).
    pub fn new(config: LocalConfig) -> Result<AppState, LocalError> {
        if config.client_id.is_empty() || config.client_id.contains(':') {
            return Err(LocalError::Config(
                "the client id must be non-empty and have no ':'".into(),
            ));
        }
        if config.client_secret.is_empty() {
            return Err(LocalError::Config(
                "the client secret must be non-empty".into(),
            ));
        }
        if config.token_ttl.is_zero() {
            return Err(LocalError::Config(
                "the token lifetime must be at least 1 second".into(),
            ));
        }
        let store = store::Store::open(config.data_dir.as_deref())?;
        let key = store.read(|s| base64::engine::general_purpose::STANDARD.decode(&s.signing_key));
        let signing_key =
            key.map_err(|_| LocalError::Data("the state file's signing key is not base64".into()))?;
        Ok(AppState(Arc::new(Shared {
            config,
            store,
            signing_key,
            faults: Mutex::default(),
            counters: Mutex::default(),
            clock_offset: AtomicI64::new(0),
        })))
    }

    /// vcr-local's clock, in Unix seconds (system time plus the offset set
    /// with `/_local/clock`).
    pub fn now(&self) -> i64 {
        let sys = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        sys + self.clock_offset.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The configuration.
    pub fn config(&self) -> &LocalConfig {
        &self.config
    }
}

/// The whole application: IAM, both regions, `/_local/`.
pub fn app(state: AppState) -> Router {
    let region_routes = |region: LocalRegion| {
        Router::new()
            .route(
                "/v1/repository",
                get(api::list_repos).post(api::create_repo),
            )
            .route(
                "/v1/repository/{repo_id}",
                get(api::get_repo).delete(api::delete_repo),
            )
            .route("/v1/repository/{repo_id}/quotas", put(api::set_quota))
            .route("/v1/repository/{repo_id}/user", get(api::repo_users))
            .route("/v1/repository/{repo_id}/attach", put(api::attach))
            .route("/v1/repository/{repo_id}/detach", put(api::detach))
            .route("/v1/repository/{repo_id}/images", get(api::list_images))
            .route(
                "/v1/repository/{repo_id}/images/delete",
                delete(api::delete_image),
            )
            .route("/v1/repository/{repo_id}/history", get(api::history))
            .route("/v1/user", get(api::list_users).post(api::create_user))
            .route("/v1/user/permissions", get(api::policies))
            .route(
                "/v1/user/{user_id}",
                put(api::update_user).delete(api::delete_user),
            )
            .route("/v1/user/{user_id}/enable", put(api::enable_user))
            .route("/v1/user/{user_id}/disable", put(api::disable_user))
            .route(
                "/v1/user/{user_id}/permission",
                put(api::set_user_permissions),
            )
            .route("/v1/user/{user_id}/refresh", get(api::refresh_secret))
            .route_layer(from_fn_with_state(state.clone(), api::require_token))
            .with_state(api::RegionCtx {
                app: state.clone(),
                region,
            })
    };
    let local = Router::new()
        .route("/health", get(admin::health))
        .route("/reset", post(admin::reset))
        .route("/clock", get(admin::clock).post(admin::set_clock))
        .route(
            "/faults",
            get(admin::list_faults)
                .post(admin::add_fault)
                .delete(admin::clear_faults),
        )
        .route("/faults/{id}", delete(admin::remove_fault))
        .route(
            "/requests",
            get(admin::requests).delete(admin::reset_requests),
        )
        .route(
            "/{region}/repositories/{repo}/images",
            post(admin::add_image),
        )
        .route(
            "/{region}/repositories/{repo}/images/{name}",
            delete(admin::remove_image),
        )
        .route("/{region}/check-login", post(admin::check_login));
    Router::new()
        .route(TOKEN_PATH, post(api::issue_token))
        .nest("/_local", local)
        .with_state(state.clone())
        .nest(LocalRegion::Hcm.prefix(), region_routes(LocalRegion::Hcm))
        .nest(LocalRegion::Han.prefix(), region_routes(LocalRegion::Han))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(json_errors))
        .layer(from_fn_with_state(state.clone(), faults::inject_faults))
        .layer(from_fn_with_state(state, faults::count_requests))
}

async fn not_found(req: Request) -> Response {
    ApiError::not_found(format!(
        "no such endpoint: {} {}",
        req.method(),
        req.uri().path()
    ))
    .into_response()
}

/// Gives every error answer without a JSON body (axum's own 405, 413, ...)
/// the contract's error shape.
async fn json_errors(req: Request, next: Next) -> Response {
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    let resp = next.run(req).await;
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return resp;
    }
    let message = match status.as_u16() {
        405 => format!("method {method} is not allowed on {path}"),
        413 => format!("the request body is too large: at most {MAX_BODY_BYTES} bytes"),
        _ => format!(
            "{} {}",
            status.as_u16(),
            status.canonical_reason().unwrap_or("error")
        ),
    };
    let code = match status.as_u16() {
        405 => "METHOD_NOT_ALLOWED",
        413 => "BODY_TOO_LARGE",
        _ => "ERROR",
    };
    let mut out = ApiError::new(status, code, message).into_response();
    if let Some(allow) = resp.headers().get(header::ALLOW) {
        out.headers_mut().insert(header::ALLOW, allow.clone());
    }
    out
}

/// A running vcr-local. Stops when [`RunningServer::shutdown`] is awaited or
/// when dropped.
pub struct RunningServer {
    addr: SocketAddr,
    state: AppState,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// Binds the listen address and serves in a background task.
pub async fn start(config: LocalConfig) -> Result<RunningServer, LocalError> {
    let state = AppState::new(config.clone())?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| LocalError::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| LocalError::Bind {
        addr: config.listen,
        source,
    })?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let router = app(state.clone());
    let task = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });
    tracing::info!(%addr, data = ?config.data_dir, "vcr-local listening");
    Ok(RunningServer {
        addr,
        state,
        stop: Some(stop),
        task: Some(task),
    })
}

impl RunningServer {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://HOST:PORT`, with a loopback host when listening on all
    /// interfaces.
    pub fn base_url(&self) -> String {
        let ip = match self.addr.ip() {
            IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        format!("http://{}", SocketAddr::new(ip, self.addr.port()))
    }

    /// The IAM token URL.
    pub fn token_url(&self) -> String {
        format!("{}{TOKEN_PATH}", self.base_url())
    }

    /// The API base URL of region `HCM` or `HAN` (any case); `None` for
    /// another name.
    pub fn endpoint(&self, region: &str) -> Option<String> {
        LocalRegion::parse(region).map(|r| format!("{}{}", self.base_url(), r.prefix()))
    }

    /// The HCM API base URL.
    pub fn endpoint_hcm(&self) -> String {
        format!("{}{}", self.base_url(), LocalRegion::Hcm.prefix())
    }

    /// The HAN API base URL.
    pub fn endpoint_han(&self) -> String {
        format!("{}{}", self.base_url(), LocalRegion::Han.prefix())
    }

    /// The `/_local` base URL.
    pub fn local_url(&self) -> String {
        format!("{}{}", self.base_url(), faults::LOCAL_PREFIX)
    }

    /// The settings a provider needs, in order: `VCR_TOKEN_URL`,
    /// `VCR_ENDPOINT_HCM`, `VCR_ENDPOINT_HAN`, `VCR_CLIENT_ID`,
    /// `VCR_CLIENT_SECRET`.
    pub fn settings(&self) -> Vec<(String, String)> {
        let c = self.state.config();
        vec![
            ("VCR_TOKEN_URL".into(), self.token_url()),
            ("VCR_ENDPOINT_HCM".into(), self.endpoint_hcm()),
            ("VCR_ENDPOINT_HAN".into(), self.endpoint_han()),
            ("VCR_CLIENT_ID".into(), c.client_id.clone()),
            ("VCR_CLIENT_SECRET".into(), c.client_secret.clone()),
        ]
    }

    /// The server's state (for in-process inspection).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Stops accepting connections, lets requests in flight finish (for at
    /// most 5 seconds), and returns once the server has stopped.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take() {
            if tokio::time::timeout(Duration::from_secs(5), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }
}

impl Drop for RunningServer {
    /// Signals the server to stop; it finishes in the background (closing
    /// idle connections at once, letting requests in flight complete).
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
