//! `vcr-local`: a local stand-in for the vCR API (IAM token endpoint and both
//! regions), for trying the provider and for tests, with no cloud account.
//!
//! One process serves, under its API address:
//!
//! | path | what |
//! |---|---|
//! | `POST /iam/accounts-api/v2/auth/token` | the IAM token endpoint |
//! | `/hcm/v1/...` | the vCR API of region HCM (endpoint `http://ADDR/hcm`) |
//! | `/han/v1/...` | the vCR API of region HAN (endpoint `http://ADDR/han`) |
//! | `/_local/...` | test controls, not part of the contract, refused to web pages |
//!
//! and, on one more address per region, that region's Docker registry (`/v2/`
//! and the token endpoint `/service/token`).
//!
//! Inside, one domain core ([`core`]) holds the rules; the management API
//! ([`api`]) and the registry ([`registry`]) are thin adapters over it. It
//! defines its own wire types from the contract; it shares none with the
//! client in [`crate::vcr`].
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
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::header;
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use parking_lot::Mutex;

mod admin;
pub mod api;
pub mod core;
mod counters;
mod faults;
pub mod guard;
mod http;
mod jwt;
pub mod registry;
mod serve;
pub mod store;

pub use self::core::{LocalError, LocalRegion};
pub use api::ApiError;
use faults::Listener;
pub use serve::ConnectionLimits;

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
/// The default port of region HCM's registry (when `--listen`'s port is not 0).
pub const DEFAULT_REGISTRY_PORT_HCM: u16 = 5080;
/// The default port of region HAN's registry (when `--listen`'s port is not 0).
pub const DEFAULT_REGISTRY_PORT_HAN: u16 = 5081;
/// The largest request body the management API accepts (the registry streams).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// How to run vcr-local.
#[derive(Debug, Clone)]
pub struct LocalConfig {
    /// Where the API listens (`127.0.0.1:0` picks a free port).
    pub listen: SocketAddr,
    /// Where region HCM's registry listens; `None`: the listen host, on port
    /// 5080, or a free port when the listen port is 0.
    pub registry_hcm: Option<SocketAddr>,
    /// Where region HAN's registry listens; `None`: as for HCM, port 5081.
    pub registry_han: Option<SocketAddr>,
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
    /// Whether the API and registries may listen on an address other machines
    /// can reach; off, such an address is refused at start.
    pub allow_remote: bool,
    /// Timeouts and the connection cap of each listener.
    pub limits: ConnectionLimits,
    /// Host names every listener answers to besides `localhost` and its
    /// addresses (a CI service's name); others are refused, against DNS
    /// rebinding (see [`guard`]).
    pub allowed_hosts: Vec<String>,
    /// The host name clients reach vcr-local by when that is not the bound
    /// address (a container's service name, as `vcr-local`): the registries'
    /// token realm, `registryUrl` and the printed settings use it, with the
    /// bound ports. `None`: the bound address (`127.0.0.1` for `0.0.0.0`).
    pub public_host: Option<String>,
}

impl Default for LocalConfig {
    fn default() -> Self {
        LocalConfig {
            listen: DEFAULT_LISTEN.parse().expect("a valid address"),
            registry_hcm: None,
            registry_han: None,
            data_dir: None,
            account_id: DEFAULT_ACCOUNT_ID,
            client_id: DEFAULT_CLIENT_ID.to_string(),
            client_secret: DEFAULT_CLIENT_SECRET.to_string(),
            token_ttl: Duration::from_secs(1800),
            allow_remote: false,
            limits: ConnectionLimits::default(),
            allowed_hosts: Vec::new(),
            public_host: None,
        }
    }
}

impl LocalConfig {
    /// Where a region's registry listens.
    pub fn registry_addr(&self, region: LocalRegion) -> SocketAddr {
        let (given, default_port) = match region {
            LocalRegion::Hcm => (self.registry_hcm, DEFAULT_REGISTRY_PORT_HCM),
            LocalRegion::Han => (self.registry_han, DEFAULT_REGISTRY_PORT_HAN),
        };
        given.unwrap_or_else(|| {
            let port = if self.listen.port() == 0 {
                0
            } else {
                default_port
            };
            SocketAddr::new(self.listen.ip(), port)
        })
    }

    /// The three addresses to bind, each with the flag that sets it.
    fn addresses(&self) -> [(SocketAddr, &'static str); 3] {
        [
            (self.listen, "--listen"),
            (self.registry_addr(LocalRegion::Hcm), "--registry-hcm"),
            (self.registry_addr(LocalRegion::Han), "--registry-han"),
        ]
    }

    /// Refuses an address other machines could reach, unless `allow_remote`:
    /// `/_local/` and the documented default secret are not for a network.
    fn check_reach(&self) -> Result<(), LocalError> {
        if self.allow_remote {
            return Ok(());
        }
        for (addr, flag) in self.addresses() {
            if !is_loopback(addr.ip()) {
                return Err(LocalError::Config(format!(
                    "{flag} {addr} is not a loopback address: vcr-local would be reachable from \
                     other machines (its test controls under /_local/ have no authentication). \
                     Listen on 127.0.0.1 (port 0 picks a free port), or give --allow-remote to \
                     accept the risk"
                )));
            }
        }
        Ok(())
    }
}

/// Whether an address is this machine only (`127.0.0.0/8`, `::1`, or
/// `::ffff:127.x.y.z`).
pub fn is_loopback(ip: IpAddr) -> bool {
    ip.to_canonical().is_loopback()
}

/// The server's shared state. Cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// What [`AppState`] holds.
pub struct Shared {
    config: LocalConfig,
    /// The domain core: records, blobs, uploads, clock.
    pub core: core::Core,
    /// Signs the IAM's access tokens.
    iam_key: Vec<u8>,
    /// Signs the registries' tokens.
    registry_key: Vec<u8>,
    faults: Mutex<faults::Faults>,
    counters: Mutex<counters::Counters>,
    /// Each region's registry `host:port`, once it listens.
    registry_hosts: [OnceLock<String>; 2],
    /// The `Host` names every listener answers to.
    host_policy: guard::HostPolicy,
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    /// Opens the state (locking and loading the data directory, if any).
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
        if let Some(host) = &config.public_host {
            if !is_host_name(host) {
                return Err(LocalError::Config(format!(
                    "the public host {:?} is not a host name or IP address (no port, scheme or path)",
                    core::rules::truncate(host, 80)
                )));
            }
        }
        if config.token_ttl.is_zero() {
            return Err(LocalError::Config(
                "the token lifetime must be at least 1 second".into(),
            ));
        }
        let core = core::Core::open(config.data_dir.as_deref(), config.account_id)?;
        let iam_key = jwt::derive_key(core.signing_key(), "vcr-local IAM access tokens");
        let registry_key = jwt::derive_key(core.signing_key(), "vcr-local registry tokens");
        Ok(AppState(Arc::new(Shared {
            host_policy: guard::HostPolicy::new(&config),
            config,
            core,
            iam_key,
            registry_key,
            faults: Mutex::default(),
            counters: Mutex::default(),
            registry_hosts: [OnceLock::new(), OnceLock::new()],
        })))
    }

    /// vcr-local's clock, in Unix seconds (system time plus the offset set
    /// with `/_local/clock`).
    pub fn now(&self) -> i64 {
        self.core.clock.now()
    }

    /// The configuration.
    pub fn config(&self) -> &LocalConfig {
        &self.config
    }

    /// The `host:port` of a region's registry: where it listens, or the real
    /// region's host when it does not listen (an app served in-process).
    pub fn registry_host(&self, region: LocalRegion) -> String {
        self.registry_hosts[region.index()]
            .get()
            .cloned()
            .unwrap_or_else(|| region.real_registry_host().to_string())
    }

    fn set_registry_host(&self, region: LocalRegion, addr: SocketAddr) {
        let _ = self.registry_hosts[region.index()].set(self.reachable_at(addr));
    }

    /// `host:port` where clients reach a bound address: the public host when
    /// one is set, else the address (loopback for an unspecified one).
    fn reachable_at(&self, addr: SocketAddr) -> String {
        match &self.config.public_host {
            Some(host) => format!("{host}:{}", addr.port()),
            None => loopback_if_unspecified(addr).to_string(),
        }
    }
}

/// The management API: IAM, both regions, `/_local/`.
pub fn app(state: AppState) -> Router {
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
        .route("/{region}/check-login", post(admin::check_login));
    let listener = Listener::Api;
    Router::new()
        .route(TOKEN_PATH, post(api::issue_token))
        .nest("/_local", local)
        .with_state(state.clone())
        .nest(
            LocalRegion::Hcm.prefix(),
            api::region_routes(state.clone(), LocalRegion::Hcm),
        )
        .nest(
            LocalRegion::Han.prefix(),
            api::region_routes(state.clone(), LocalRegion::Han),
        )
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(guard::local_controls))
        .layer(axum::middleware::from_fn(json_errors))
        .layer(from_fn_with_state(
            (state.clone(), listener),
            faults::inject_faults,
        ))
        .layer(from_fn_with_state(
            (state.clone(), listener),
            guard::check_host,
        ))
        .layer(from_fn_with_state(
            (state, listener),
            counters::count_requests,
        ))
}

/// The registry of one region (see [`registry`]).
pub fn registry_app(state: AppState, region: LocalRegion) -> Router {
    registry::registry_app(state, region)
}

async fn not_found(req: Request) -> Response {
    ApiError::not_found(format!(
        "no such endpoint: {} {}",
        req.method(),
        core::rules::truncate(req.uri().path(), 200)
    ))
    .into_response()
}

/// Gives every error answer of the management API without a JSON body
/// (axum's own 405, 413, ...) the contract's error shape.
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
    let path = core::rules::truncate(&path, 200);
    let (code, message) = match status.as_u16() {
        405 => (
            "METHOD_NOT_ALLOWED",
            format!("method {method} is not allowed on {path}"),
        ),
        413 => (
            "BODY_TOO_LARGE",
            format!("the request body is too large: at most {MAX_BODY_BYTES} bytes"),
        ),
        _ => (
            "ERROR",
            format!(
                "{} {}",
                status.as_u16(),
                status.canonical_reason().unwrap_or("error")
            ),
        ),
    };
    let mut out = ApiError::new(status, code, message).into_response();
    if let Some(allow) = resp.headers().get(header::ALLOW) {
        out.headers_mut().insert(header::ALLOW, allow.clone());
    }
    out
}

/// A DNS name or an IPv4 address: letters, digits, `-`, `.` (a public host
/// is put before `:port` as it is).
fn is_host_name(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
}

fn loopback_if_unspecified(addr: SocketAddr) -> SocketAddr {
    let ip = match addr.ip() {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, addr.port())
}

/// How often abandoned uploads are swept.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// A running vcr-local: the API and both registries. Stops when
/// [`RunningServer::shutdown`] is awaited or when dropped.
pub struct RunningServer {
    addr: SocketAddr,
    registries: [SocketAddr; 2],
    state: AppState,
    stop: tokio::sync::watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<std::io::Result<()>>>,
}

async fn bind(
    addr: SocketAddr,
    what: &'static str,
) -> Result<(tokio::net::TcpListener, SocketAddr), LocalError> {
    let fail = |source| LocalError::Bind { addr, what, source };
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(fail)?;
    let bound = listener.local_addr().map_err(fail)?;
    Ok((listener, bound))
}

/// Binds the API and both registries and serves them in background tasks.
pub async fn start(config: LocalConfig) -> Result<RunningServer, LocalError> {
    config.check_reach()?;
    let state = AppState::new(config.clone())?;
    let (api_listener, addr) = bind(config.listen, "the API, --listen").await?;
    let (hcm_listener, hcm) = bind(
        config.registry_addr(LocalRegion::Hcm),
        "the HCM registry, --registry-hcm",
    )
    .await?;
    let (han_listener, han) = bind(
        config.registry_addr(LocalRegion::Han),
        "the HAN registry, --registry-han",
    )
    .await?;
    state.set_registry_host(LocalRegion::Hcm, hcm);
    state.set_registry_host(LocalRegion::Han, han);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let limits = config.limits;
    let serve = |listener, router, what| {
        tokio::spawn(serve::serve(
            listener,
            router,
            limits,
            what,
            stopped.clone(),
        ))
    };
    let mut tasks = vec![
        serve(api_listener, app(state.clone()), "api"),
        serve(
            hcm_listener,
            registry_app(state.clone(), LocalRegion::Hcm),
            "registry-hcm",
        ),
        serve(
            han_listener,
            registry_app(state.clone(), LocalRegion::Han),
            "registry-han",
        ),
    ];
    let sweeper = state.clone();
    let mut stopped_sweep = stopped.clone();
    tasks.push(tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(SWEEP_EVERY) => sweeper.core.sweep_uploads(),
                _ = stopped_sweep.wait_for(|s| *s) => return Ok(()),
            }
        }
    }));
    tracing::info!(%addr, registry_hcm = %hcm, registry_han = %han, data = ?config.data_dir, "vcr-local listening");
    Ok(RunningServer {
        addr,
        registries: [hcm, han],
        state,
        stop,
        tasks,
    })
}

impl RunningServer {
    /// The API's bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every bound address, as bound (`0.0.0.0` stays), with what listens there.
    pub fn listening(&self) -> [(&'static str, SocketAddr); 3] {
        [
            ("the API", self.addr),
            (
                "the HCM registry",
                self.registries[LocalRegion::Hcm.index()],
            ),
            (
                "the HAN registry",
                self.registries[LocalRegion::Han.index()],
            ),
        ]
    }

    /// A warning to show when some listener is reachable from other machines
    /// (only possible with `allow_remote`): the real bind addresses, and what
    /// anyone on the network can then do.
    pub fn remote_warning(&self) -> Option<String> {
        let remote: Vec<String> = self
            .listening()
            .into_iter()
            .filter(|(_, addr)| !is_loopback(addr.ip()))
            .map(|(what, addr)| {
                let every = if addr.ip().is_unspecified() {
                    " (every interface)"
                } else {
                    ""
                };
                format!("{what} on {addr}{every}")
            })
            .collect();
        if remote.is_empty() {
            return None;
        }
        let mut text = format!(
            "WARNING: vcr-local is reachable from other machines: {}. Anyone who can reach \
             these ports can use the test controls under /_local/ (reset wipes everything), \
             which have no authentication; use this on a trusted network only.",
            remote.join(", ")
        );
        if self.state.config().client_secret == DEFAULT_CLIENT_SECRET {
            text.push_str(
                " The client secret is the documented default: set VCR_LOCAL_CLIENT_SECRET.",
            );
        }
        Some(text)
    }

    /// `http://HOST:PORT` of the API: the public host when one is set, else
    /// a loopback host when listening on all interfaces.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.state.reachable_at(self.addr))
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

    /// A region's registry, `host:port` (what `docker login` takes).
    pub fn registry(&self, region: LocalRegion) -> String {
        self.state.reachable_at(self.registries[region.index()])
    }

    /// The `/_local` base URL.
    pub fn local_url(&self) -> String {
        // Not the public host: /_local/ answers requests to this machine only.
        let addr = loopback_if_unspecified(self.addr);
        format!("http://{addr}{}", faults::LOCAL_PREFIX)
    }

    /// The settings a provider (and docker) needs, in order: `VCR_TOKEN_URL`,
    /// `VCR_ENDPOINT_HCM`, `VCR_ENDPOINT_HAN`, `VCR_REGISTRY_HCM`,
    /// `VCR_REGISTRY_HAN`, `VCR_CLIENT_ID`, `VCR_CLIENT_SECRET`.
    pub fn settings(&self) -> Vec<(String, String)> {
        let c = self.state.config();
        vec![
            ("VCR_TOKEN_URL".into(), self.token_url()),
            ("VCR_ENDPOINT_HCM".into(), self.endpoint_hcm()),
            ("VCR_ENDPOINT_HAN".into(), self.endpoint_han()),
            ("VCR_REGISTRY_HCM".into(), self.registry(LocalRegion::Hcm)),
            ("VCR_REGISTRY_HAN".into(), self.registry(LocalRegion::Han)),
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
        let _ = self.stop.send(true);
        for mut task in std::mem::take(&mut self.tasks) {
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
        let _ = self.stop.send(true);
    }
}

/// The layers of `src/local`, read from its sources: store at the bottom,
/// the core on it, the shared middleware (faults, guard, admin, counters and
/// their helpers) on the core, the two adapters (api, registry) on top, and
/// this module wiring them. No code names a module of a layer above its own,
/// and the adapters do not name each other.
#[cfg(test)]
mod layer_tests {
    use std::path::Path;

    /// The layer a top-level module of `src/local` belongs to.
    fn layer_of(module: &str) -> &'static str {
        match module {
            "store" => "store",
            "core" => "core",
            "api" => "api",
            "registry" => "registry",
            "admin" | "faults" | "guard" | "counters" | "http" | "jwt" | "serve" => "middleware",
            _ => "wiring",
        }
    }

    /// What a layer's code may not name: the layers above it, and the other adapter.
    fn forbidden(layer: &str) -> &'static [&'static str] {
        match layer {
            "store" => &["core", "middleware", "api", "registry", "wiring"],
            "core" => &["middleware", "api", "registry", "wiring"],
            "middleware" => &["api", "registry"],
            "api" => &["registry"],
            "registry" => &["api"],
            _ => &[],
        }
    }

    /// The code of a file: no comment lines, nothing from its tests on.
    fn code(source: &str) -> String {
        source
            .lines()
            .take_while(|l| !l.trim_start().starts_with("#[cfg(test)]"))
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The first path segments after `prefix` wherever it occurs: one name,
    /// or each name of a `{a, b::c}` group.
    fn names_after(code: &str, prefix: &str) -> Vec<String> {
        let ident = |s: &str| -> String {
            s.trim()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect()
        };
        let mut out = Vec::new();
        for (at, _) in code.match_indices(prefix) {
            let before = code[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue; // `super::super::` seen as `super::`, or a longer path
            }
            let rest = &code[at + prefix.len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let group = &group[..group.find('}').unwrap_or(group.len())];
                out.extend(group.split(',').map(ident));
            } else {
                out.push(ident(rest));
            }
        }
        out.retain(|n| !n.is_empty() && n != "super");
        out
    }

    /// The top-level modules of `src/local` the code of file `rel` (its path
    /// under `src/local`) names, through `crate::local::`, `super::` or
    /// `super::super::`.
    fn local_modules_named(rel: &str, source: &str) -> Vec<String> {
        let code = code(source);
        let nested = rel.contains('/');
        let is_mod = rel.ends_with("mod.rs");
        let mut names = names_after(&code, "crate::local::");
        // `super::` is src/local itself from a top-level file and from a
        // folder's mod.rs; `super::super::` is src/local from a folder's file.
        match (nested, is_mod) {
            (false, false) | (true, true) => names.extend(names_after(&code, "super::")),
            (true, false) => names.extend(names_after(&code, "super::super::")),
            (false, true) => {}
        }
        names
    }

    /// The layering breaches of one file: what it names that its layer may not.
    fn breaches(rel: &str, source: &str) -> Vec<String> {
        let layer = layer_of(rel.split(['/', '.']).next().unwrap_or(""));
        let mut found: Vec<String> = local_modules_named(rel, source)
            .into_iter()
            .filter(|m| forbidden(layer).contains(&layer_of(m)))
            .map(|m| format!("{rel} ({layer}) names {m} ({})", layer_of(&m)))
            .collect();
        if layer == "core" {
            let code = code(source);
            for word in [
                "axum",
                "rusqlite",
                "SELECT ",
                "INSERT ",
                "UPDATE ",
                "DELETE FROM",
            ] {
                if code.contains(word) {
                    found.push(format!("{rel} (core) uses {word:?}"));
                }
            }
        }
        found
    }

    fn sources(dir: &Path, rel: &str, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            let rel = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            if entry.path().is_dir() {
                sources(&entry.path(), &rel, out);
            } else if name.ends_with(".rs") {
                out.push((rel, std::fs::read_to_string(entry.path()).unwrap()));
            }
        }
    }

    #[test]
    fn no_import_runs_up_a_layer() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/local");
        let mut files = Vec::new();
        sources(&root, "", &mut files);
        assert!(files.len() > 30, "the sources of src/local were read");
        let all: Vec<String> = files
            .iter()
            .flat_map(|(rel, source)| breaches(rel, source))
            .collect();
        assert!(
            all.is_empty(),
            "imports running up a layer:\n{}",
            all.join("\n")
        );
    }

    /// The check sees each kind of breach (so that its silence above means something).
    #[test]
    fn the_check_sees_breaches() {
        let cases = [
            ("core/x.rs", "use crate::local::api::ApiError;"),
            ("core/x.rs", "use super::super::registry::paths;"),
            ("core/mod.rs", "use super::{store, guard};"),
            ("core/x.rs", "use axum::Json;"),
            ("core/x.rs", "fn f() { q(\"SELECT 1\") }"),
            ("store/x.rs", "use super::super::core::Core;"),
            ("admin.rs", "use super::api::error::ApiJson;"),
            (
                "counters.rs",
                "let t = super::registry::paths::template(p);",
            ),
            ("registry/x.rs", "use crate::local::api::ApiError;"),
            ("api/mod.rs", "use super::registry::paths;"),
        ];
        for (rel, source) in cases {
            assert!(!breaches(rel, source).is_empty(), "{rel}: {source}");
        }
        let fine = [
            (
                "core/x.rs",
                "use super::model::RepoRef;\nuse crate::local::store::Tx;",
            ),
            (
                "admin.rs",
                "use super::core::DomainError;\nuse super::{AppState, LocalRegion};",
            ),
            (
                "registry/x.rs",
                "use super::super::core::Core; // not the api::",
            ),
            (
                "core/x.rs",
                "// SELECT in a comment\nfn f() {}\n#[cfg(test)]\nuse axum::Json;",
            ),
        ];
        for (rel, source) in fine {
            assert_eq!(
                breaches(rel, source),
                Vec::<String>::new(),
                "{rel}: {source}"
            );
        }
    }
}
