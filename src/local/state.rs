//! What every part of vcr-local's server shares: its configuration, the
//! domain core, the signing keys, the faults and counters of the test
//! controls, where the registries listen. Below the adapters and the wiring
//! (which start it), beside the middleware that reads it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::ops::Deref;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use parking_lot::Mutex;

use super::core::{self, LocalError, LocalRegion, QuotaUnit};
use super::serve::ConnectionLimits;
use super::{counters, faults, guard, jwt};

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
    /// What one GB of quota is: vCR's GiB, or less in tests that fill a quota.
    pub quota_unit: QuotaUnit,
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
            quota_unit: QuotaUnit::GIB,
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
    pub(super) fn addresses(&self) -> [(SocketAddr, &'static str); 3] {
        [
            (self.listen, "--listen"),
            (self.registry_addr(LocalRegion::Hcm), "--registry-hcm"),
            (self.registry_addr(LocalRegion::Han), "--registry-han"),
        ]
    }

    /// Refuses an address other machines could reach, unless `allow_remote`:
    /// `/_local/` and the documented default secret are not for a network.
    pub(super) fn check_reach(&self) -> Result<(), LocalError> {
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
    pub(super) config: LocalConfig,
    /// The domain core: records, blobs, uploads, clock.
    pub core: core::Core,
    /// Signs the IAM's access tokens.
    pub(super) iam_key: Vec<u8>,
    /// Signs the registries' tokens.
    pub(super) registry_key: Vec<u8>,
    pub(super) faults: Mutex<faults::Faults>,
    pub(super) counters: Mutex<counters::Counters>,
    /// Each region's registry `host:port`, once it listens.
    pub(super) registry_hosts: [OnceLock<String>; 2],
    /// The `Host` names every listener answers to.
    pub(super) host_policy: guard::HostPolicy,
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
        let core = core::Core::open(config.data_dir.as_deref(), config.account_id)?
            .with_quota_unit(config.quota_unit);
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

    pub(super) fn set_registry_host(&self, region: LocalRegion, addr: SocketAddr) {
        let _ = self.registry_hosts[region.index()].set(self.reachable_at(addr));
    }

    /// `host:port` where clients reach a bound address: the public host when
    /// one is set, else the address (loopback for an unspecified one).
    pub(super) fn reachable_at(&self, addr: SocketAddr) -> String {
        match &self.config.public_host {
            Some(host) => format!("{host}:{}", addr.port()),
            None => loopback_if_unspecified(addr).to_string(),
        }
    }
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

pub(super) fn loopback_if_unspecified(addr: SocketAddr) -> SocketAddr {
    let ip = match addr.ip() {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, addr.port())
}
