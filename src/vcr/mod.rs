//! The vCR portal API client (regions, IAM token, retries, typed errors, models).
//!
//! It knows nothing of Terraform. One [`Client`] serves every region; the calls
//! are grouped per API area and region, octocrab style:
//!
//! ```no_run
//! # async fn demo() -> Result<(), vcr_provider::vcr::VcrError> {
//! use vcr_provider::vcr::{Client, ClientConfig, CreateRepository, Region, Secret};
//!
//! let client = Client::new(ClientConfig {
//!     client_id: "my-service-account".into(),
//!     client_secret: Secret::new("..."),
//!     ..ClientConfig::default()
//! })?;
//! let repo = client
//!     .repositories(Region::Hcm)
//!     .create(&CreateRepository { name: "my-app".into(), is_public: false, quota_limit_gb: 20 })
//!     .await?;
//! println!("{} is at {}", repo.name, repo.registry_url);
//! # Ok(()) }
//! ```
//!
//! Each call is an [`request::ApiRequest`] value, built without I/O and unit-tested;
//! the client only sends them. The contract is `docs/development/vcr-api.md`; what is taken
//! as given about the real API, with its public source, is in [`contract`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use serde::de::DeserializeOwned;

mod auth;
pub mod contract;
mod error;
mod error_body;
mod models;
pub mod oci;
mod paging;
pub mod redact;
mod region;
mod repositories;
pub mod request;
pub mod retry;
mod secret;
mod transport;
mod users;

pub use error::{ApiMessage, BoxError, TransportKind, UnexpectedAnswer, VcrError};
pub use models::{
    AccessLevel, Artifact, AttachUser, CreateRepository, CreateUser, HistoryEntry, Image,
    ListRepositories, Page, Permission, PermissionRequest, Policy, PolicyKind, RepoPermission,
    Repository, RepositoryNames, RobotAccount, UpdateUser,
};
pub use paging::PageCursor;
pub use region::{ParseRegionError, Region};
pub use repositories::Repositories;
pub use secret::Secret;
pub use transport::sends_in_clear;
pub use users::Users;

use request::ApiRequest;
use retry::Backoff;
use transport::{Target, Transport};

/// The most an answer may weigh before the client refuses to read it, unless told
/// otherwise ([`ClientConfig::max_answer_bytes`]): far above any page of a list.
pub const DEFAULT_MAX_ANSWER_BYTES: usize = 8 << 20;

/// The most bytes of answers one walk of a paged list reads in all, unless told
/// otherwise ([`ClientConfig::max_walk_bytes`]).
pub const DEFAULT_MAX_WALK_BYTES: usize = 64 << 20;

/// The most items one walk of a paged list reads, unless told otherwise
/// ([`ClientConfig::max_walk_items`]): far above any account's repositories, users or
/// an image's artifacts.
pub const DEFAULT_MAX_WALK_ITEMS: usize = 100_000;

/// How to reach vCR and how hard to try.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The IAM service account's client id.
    pub client_id: String,
    /// The IAM service account's client secret.
    pub client_secret: Secret,
    /// The IAM token endpoint; `None` for [`contract::DEFAULT_TOKEN_URL`].
    pub token_url: Option<String>,
    /// The HCM API base URL (without `/v1`); `None` for the contract's host.
    pub endpoint_hcm: Option<String>,
    /// The HAN API base URL (without `/v1`); `None` for the contract's host.
    pub endpoint_han: Option<String>,
    /// How many times a failed call may be resent (0: never).
    pub max_retries: u32,
    /// The `User-Agent` header.
    pub user_agent: String,
    /// The first retry delay (doubled at each retry, with jitter).
    pub retry_base_delay: Duration,
    /// The longest wait between two tries, `Retry-After` included.
    pub retry_max_delay: Duration,
    /// The longest a single request may take.
    pub timeout: Duration,
    /// The longest connecting may take.
    pub connect_timeout: Duration,
    /// Whether `http://` URLs to hosts other than loopback are allowed: they would
    /// send the client secret and the tokens in clear ([`sends_in_clear`]).
    pub allow_plain_http: bool,
    /// The most bytes of an answer the client reads; a longer answer is an error.
    pub max_answer_bytes: usize,
    /// The most bytes of answers one walk of a paged list reads in all; past it the
    /// walk is an error naming the call.
    pub max_walk_bytes: usize,
    /// The most items one walk of a paged list reads; past it the walk is an error
    /// naming the call.
    pub max_walk_items: usize,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            client_id: String::new(),
            client_secret: Secret::default(),
            token_url: None,
            endpoint_hcm: None,
            endpoint_han: None,
            max_retries: 5,
            user_agent: concat!("terraform-provider-vcr/", env!("CARGO_PKG_VERSION")).to_string(),
            retry_base_delay: Duration::from_millis(500),
            retry_max_delay: Duration::from_secs(30),
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            allow_plain_http: false,
            max_answer_bytes: DEFAULT_MAX_ANSWER_BYTES,
            max_walk_bytes: DEFAULT_MAX_WALK_BYTES,
            max_walk_items: DEFAULT_MAX_WALK_ITEMS,
        }
    }
}

/// The names of one repository, once known.
pub(crate) type NamesCell = Arc<tokio::sync::OnceCell<RepositoryNames>>;

/// The vCR API client. Cheap to clone: clones share the connection pool and
/// the IAM token.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("client_id", &self.inner.config.client_id)
            .field("token_url", &self.inner.token_url.as_str())
            .field("endpoint_hcm", &self.inner.bases[0].as_str())
            .field("endpoint_han", &self.inner.bases[1].as_str())
            .finish_non_exhaustive()
    }
}

pub(crate) struct Inner {
    pub(crate) config: ClientConfig,
    pub(crate) token_url: Url,
    /// API base per region, in [`Region::ALL`] order.
    bases: [Url; 2],
    token: auth::TokenCache,
    pub(crate) transport: Transport,
    /// The names of every repository an answer has shown, per region: they never
    /// change, so a view that needs only them asks no more. A cell is shared by
    /// lookups of one repository running at once, so they make one read.
    pub(crate) repository_names: std::sync::Mutex<HashMap<(Region, String), NamesCell>>,
}

impl Client {
    /// Checks the configuration and builds the client. No request is sent
    /// until the first call.
    pub fn new(config: ClientConfig) -> Result<Client, VcrError> {
        if config.client_id.trim().is_empty() {
            return Err(VcrError::Config("client_id is empty".into()));
        }
        if config.client_secret.is_empty() {
            return Err(VcrError::Config("client_secret is empty".into()));
        }
        let url = |name: &str, value: &str| parse_url(name, value, config.allow_plain_http);
        let token_url = url(
            "token_url",
            config
                .token_url
                .as_deref()
                .unwrap_or(contract::DEFAULT_TOKEN_URL),
        )?;
        let base = |r: Region, o: &Option<String>, name: &str| {
            url(name, o.as_deref().unwrap_or(r.default_api_base()))
        };
        let bases = [
            base(Region::Hcm, &config.endpoint_hcm, "endpoint_hcm")?,
            base(Region::Han, &config.endpoint_han, "endpoint_han")?,
        ];
        // Redirects are followed by the transport, on the same host only.
        let http = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| VcrError::Config(format!("cannot build the HTTP client: {e}")))?;
        let backoff = Backoff {
            base: config.retry_base_delay,
            max: config.retry_max_delay,
        };
        let transport = Transport::new(http, backoff, config.max_retries, config.max_answer_bytes);
        Ok(Client {
            inner: Arc::new(Inner {
                config,
                token_url,
                bases,
                token: auth::TokenCache::default(),
                transport,
                repository_names: Default::default(),
            }),
        })
    }

    /// Obtains the IAM token now (the one later calls reuse), to find out early
    /// whether the credentials work. Costs no request when a token is already held.
    pub async fn authenticate(&self) -> Result<(), VcrError> {
        self.inner.token.get(&self.inner).await.map(drop)
    }

    /// The repository calls of a region.
    pub fn repositories(&self, region: Region) -> Repositories<'_> {
        Repositories::new(self, region)
    }

    /// The repository-user (robot account) calls of a region.
    pub fn users(&self, region: Region) -> Users<'_> {
        Users::new(self, region)
    }

    /// The API base URL used for a region.
    pub fn endpoint(&self, region: Region) -> &str {
        self.inner.base(region).as_str()
    }

    /// The account id carried by the IAM token (see
    /// [`contract::ACCOUNT_ID_CLAIM`]), fetching a token if needed. `None`
    /// when the token does not say.
    pub async fn account_id(&self) -> Result<Option<u64>, VcrError> {
        Ok(self.inner.token.get(&self.inner).await?.account_id)
    }

    /// Sends an authenticated call to a region's API and returns the body of a
    /// success answer. Fetches a fresh token once if vCR answers 401.
    pub(crate) async fn send(&self, region: Region, req: &ApiRequest) -> Result<Vec<u8>, VcrError> {
        let inner = &*self.inner;
        let url = req.url(inner.base(region));
        let target = Target {
            method: &req.method,
            url: &url,
            base: inner.base(region),
            setting: match region {
                Region::Hcm => "endpoint_hcm",
                Region::Han => "endpoint_han",
            },
            idempotency: req.idempotency,
        };
        let mut reauthenticated = false;
        loop {
            let token = inner.token.get(inner).await?;
            let answer = inner
                .transport
                .send(&target, || {
                    let rb = inner
                        .transport
                        .http
                        .request(req.method.clone(), url.clone())
                        .bearer_auth(token.value.expose())
                        .header(reqwest::header::ACCEPT, "application/json");
                    match &req.body {
                        Some(body) => rb.json(body),
                        None => rb,
                    }
                })
                .await?;
            if answer.status == 401 && !reauthenticated {
                tracing::debug!(method = %req.method, path = url.path(), "vCR answered 401: fetching a new token once");
                inner.token.invalidate(&token.value).await;
                reauthenticated = true;
                continue;
            }
            if (200..300).contains(&answer.status) {
                return Ok(answer.body);
            }
            if let Some(location) = &answer.location {
                return Err(target.redirect_error(answer.status, location));
            }
            return Err(VcrError::from_status(
                answer.status,
                &answer.body,
                answer.retry_after,
            ));
        }
    }

    /// [`Client::send`] and decode the JSON answer.
    pub(crate) async fn send_json<T: DeserializeOwned>(
        &self,
        region: Region,
        req: &ApiRequest,
    ) -> Result<T, VcrError> {
        let bytes = self.send(region, req).await?;
        self.decode(region, req, &bytes)
    }

    fn decode<T: DeserializeOwned>(
        &self,
        region: Region,
        req: &ApiRequest,
        bytes: &[u8],
    ) -> Result<T, VcrError> {
        serde_json::from_slice(bytes).map_err(|e| VcrError::Decode {
            method: req.method.to_string(),
            path: req.url(self.inner.base(region)).path().to_string(),
            source: Box::new(e),
        })
    }

    /// Walks every page of a list (`call(page, size)`, 1-based; see [`PageCursor`]
    /// for where it stops), keeping of each item only what `keep` returns. The walk
    /// is bounded: past [`ClientConfig::max_walk_items`] items,
    /// [`ClientConfig::max_walk_bytes`] of answers or [`contract::MAX_WALK_PAGES`]
    /// pages it is an error naming the call, never a provider that grows with what
    /// a server announces.
    pub(crate) async fn walk<T: DeserializeOwned, U>(
        &self,
        region: Region,
        call: impl Fn(u32, u32) -> ApiRequest,
        mut keep: impl FnMut(T) -> Option<U>,
    ) -> Result<Vec<U>, VcrError> {
        let config = &self.inner.config;
        let mut cursor = PageCursor::new();
        let (mut bytes, mut items, mut kept) = (0usize, 0usize, Vec::new());
        while let Some((page, size)) = cursor.next_page() {
            let req = call(page, size);
            let too_long = |limit: String| VcrError::ListTooLong {
                method: req.method.to_string(),
                path: req.url(self.inner.base(region)).path().to_string(),
                limit,
            };
            let body = self.send(region, &req).await?;
            bytes += body.len();
            if bytes > config.max_walk_bytes {
                return Err(too_long(format!(
                    "more than {} bytes of answers",
                    config.max_walk_bytes
                )));
            }
            let answer: Page<T> = self.decode(region, &req, &body)?;
            items += answer.items.len();
            if items > config.max_walk_items {
                return Err(too_long(format!(
                    "more than {} items",
                    config.max_walk_items
                )));
            }
            cursor.advance(&answer);
            if cursor.cut_short() {
                return Err(too_long(format!(
                    "more than {} pages",
                    contract::MAX_WALK_PAGES
                )));
            }
            kept.extend(answer.items.into_iter().filter_map(&mut keep));
        }
        Ok(kept)
    }
}

impl Inner {
    fn base(&self, region: Region) -> &Url {
        match region {
            Region::Hcm => &self.bases[0],
            Region::Han => &self.bases[1],
        }
    }
}

fn parse_url(name: &str, value: &str, allow_plain_http: bool) -> Result<Url, VcrError> {
    let url = Url::parse(value.trim())
        .map_err(|e| VcrError::Config(format!("{name} {value:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(VcrError::Config(format!(
            "{name} {value:?} is not an http(s) URL"
        )));
    }
    if !allow_plain_http && sends_in_clear(&url) {
        return Err(VcrError::Config(format!(
            "{name} {value:?} is plain http:// to a host that is not this machine: the client \
             secret and tokens would cross the network unencrypted. Use https://, or allow \
             plain HTTP explicitly"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(VcrError::Config(format!(
            "{name} {value:?} must not have a query or fragment"
        )));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ClientConfig {
        ClientConfig {
            client_id: "id".into(),
            client_secret: Secret::new("very-secret"),
            ..ClientConfig::default()
        }
    }

    /// The provider calls the client from gRPC handlers, whose futures must
    /// be `Send`; this does not compile otherwise.
    #[allow(dead_code, clippy::let_underscore_future)]
    fn futures_are_send(c: &Client) {
        fn send<T: Send>(_: T) {}
        send(c.clone());
        send(c.repositories(Region::Hcm).list_all(None, None));
        send(c.repositories(Region::Hcm).create(&CreateRepository {
            name: String::new(),
            is_public: false,
            quota_limit_gb: 1,
        }));
        send(c.repositories(Region::Hcm).list_images("x"));
        send(c.repositories(Region::Hcm).search_images("x", Some("web/")));
        send(
            c.repositories(Region::Hcm)
                .list_artifacts("x", "web/app", None),
        );
        send(c.users(Region::Han).find_by_name("x"));
        send(c.users(Region::Han).create(&CreateUser::default()));
        send(c.users(Region::Han).refresh_secret("x"));
        send(c.account_id());
    }

    #[test]
    fn endpoints_are_kept_as_given() {
        let c = Client::new(ClientConfig {
            endpoint_hcm: Some("http://127.0.0.1:1/hcm/".into()),
            ..config()
        })
        .unwrap();
        assert_eq!(c.endpoint(Region::Hcm), "http://127.0.0.1:1/hcm/");
        assert_eq!(
            c.endpoint(Region::Han),
            "https://han-1.api.vngcloud.vn/vcr-api"
        );
    }

    #[test]
    fn plain_http_off_this_machine_needs_an_explicit_yes() {
        let remote = ClientConfig {
            token_url: Some("http://iam.example/token".into()),
            ..config()
        };
        let err = Client::new(remote.clone()).unwrap_err();
        assert!(
            err.to_string()
                .contains("token_url \"http://iam.example/token\" is plain http://"),
            "{err}"
        );
        assert!(Client::new(ClientConfig {
            allow_plain_http: true,
            ..remote
        })
        .is_ok());
        let err = Client::new(ClientConfig {
            endpoint_han: Some("http://10.1.2.3/han".into()),
            ..config()
        })
        .unwrap_err();
        assert!(err.to_string().contains("endpoint_han"), "{err}");
    }

    #[test]
    fn config_is_checked_and_never_shows_the_secret() {
        assert!(matches!(
            Client::new(ClientConfig {
                client_id: "".into(),
                ..config()
            }),
            Err(VcrError::Config(_))
        ));
        assert!(Client::new(ClientConfig {
            token_url: Some("ftp://x".into()),
            ..config()
        })
        .is_err());
        assert!(Client::new(ClientConfig {
            endpoint_han: Some("not a url".into()),
            ..config()
        })
        .is_err());
        let c = config();
        assert!(!format!("{c:?}").contains("very-secret"));
        let client = Client::new(c).unwrap();
        assert!(!format!("{client:?}").contains("very-secret"));
    }
}
