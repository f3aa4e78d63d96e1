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

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::header;
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;

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
mod state;
pub mod store;

pub use self::core::{LocalError, LocalRegion, QuotaUnit};
pub use api::ApiError;
use faults::Listener;
pub use serve::ConnectionLimits;
use state::loopback_if_unspecified;
pub use state::{
    is_loopback, AppState, LocalConfig, Shared, DEFAULT_ACCOUNT_ID, DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET, DEFAULT_LISTEN, DEFAULT_REGISTRY_PORT_HAN, DEFAULT_REGISTRY_PORT_HCM,
    MAX_BODY_BYTES, TOKEN_PATH,
};

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
/// the core on it, the shared state and middleware (faults, guard, admin,
/// counters and their helpers) on the core, the two adapters (api, registry)
/// on top, and this module wiring them (nothing names it). No code names a module of a layer above its own,
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
            "admin" | "faults" | "guard" | "counters" | "http" | "jwt" | "serve" | "state" => {
                "middleware"
            }
            _ => "wiring",
        }
    }

    /// What a layer's code may not name: the layers above it, and the other adapter.
    fn forbidden(layer: &str) -> &'static [&'static str] {
        match layer {
            "store" => &["core", "middleware", "api", "registry", "wiring"],
            "core" => &["middleware", "api", "registry", "wiring"],
            "middleware" => &["api", "registry", "wiring"],
            "api" => &["registry", "wiring"],
            "registry" => &["api", "wiring"],
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
        for (rel, source) in [
            ("faults.rs", "use super::{AppState, LocalRegion};"),
            ("api/x.rs", "use crate::local::MAX_BODY_BYTES;"),
            (
                "registry/mod.rs",
                "use super::{state::AppState, LocalRegion};",
            ),
        ] {
            assert!(
                !breaches(rel, source).is_empty(),
                "{rel}: {source} names the wiring"
            );
        }
        let fine = [
            (
                "core/x.rs",
                "use super::model::RepoRef;\nuse crate::local::store::Tx;",
            ),
            (
                "admin.rs",
                "use super::core::{DomainError, LocalRegion};\nuse super::state::AppState;",
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
