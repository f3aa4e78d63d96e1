//! A small client of the OCI distribution protocol (the Docker registry API), for
//! what the provider does with images itself: copying one image, by digest, between
//! repositories and regions (see [`copy`]). It logs in with a repository user's
//! credentials (Docker token auth, [`auth`]), and streams blobs from one registry
//! to the other without holding one whole. It knows nothing of Terraform, nor of
//! vCR's management API.
//!
//! Why not the `oci-client` crate (which the tests use to push): its uploads take a
//! whole blob in memory, and its tokens cover one repository at a time, while a
//! cross-repository mount needs pull on the source and push on the destination in
//! one token.

pub mod auth;
pub mod copy;
pub mod manifest;

use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::{
    HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, LOCATION,
};
use reqwest::{Method, RequestBuilder, Response, StatusCode, Url};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use auth::Authorization;
pub use auth::{Challenge, Credentials};
pub use copy::{copy_image, CopyReport};

use super::redact::redact;

/// A registry (or its token service) failed a request, or holds what this client
/// does not copy.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// Nothing answered, or the answer broke off.
    #[error("{what}: no answer from the registry at {host} ({cause})")]
    Transport {
        host: String,
        what: String,
        cause: String,
    },
    /// The registry answered with an error status.
    #[error("{what}: the registry at {host} answered {status}{}{}", code.as_ref().map(|c| format!(" {c}")).unwrap_or_default(), if message.is_empty() { String::new() } else { format!(": {message}") })]
    Refused {
        host: String,
        what: String,
        status: u16,
        /// The distribution spec's error code (`DENIED`, `BLOB_UNKNOWN`, ...).
        code: Option<String>,
        message: String,
    },
    /// Content whose digest is not the one asked for.
    #[error("{what}: the content's digest is {actual}, not {expected}")]
    DigestMismatch {
        what: String,
        expected: String,
        actual: String,
    },
    /// A manifest or answer this client does not handle.
    #[error("cannot copy {0}")]
    Unsupported(String),
}

impl RegistryError {
    fn transport(host: &str, what: &str, e: reqwest::Error) -> RegistryError {
        RegistryError::Transport {
            host: host.to_string(),
            what: what.to_string(),
            cause: super::error::error_chain(&e),
        }
    }

    /// The HTTP status of a refusal.
    pub fn status(&self) -> Option<u16> {
        match self {
            RegistryError::Refused { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether the registry refused the credentials or the action (401, 403).
    pub fn is_denied(&self) -> bool {
        matches!(self.status(), Some(401 | 403))
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    errors: Vec<ErrorEntry>,
}

#[derive(Deserialize)]
struct ErrorEntry {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

/// The most of an error body read for its message.
const ERROR_BODY_MAX: usize = 16 * 1024;

/// The error for a failed answer: its status, and the spec's error code and message
/// when the body has them (redacted: a proxy may echo the request's token).
async fn failed_answer(host: &str, what: &str, answer: Response) -> RegistryError {
    let status = answer.status().as_u16();
    let mut body = Vec::new();
    let mut answer = answer;
    while let Ok(Some(chunk)) = answer.chunk().await {
        body.extend_from_slice(&chunk);
        if body.len() >= ERROR_BODY_MAX {
            body.truncate(ERROR_BODY_MAX);
            break;
        }
    }
    let (code, message) = match serde_json::from_slice::<ErrorBody>(&body) {
        Ok(b) if !b.errors.is_empty() => {
            let first = &b.errors[0];
            (
                Some(first.code.clone()).filter(|c| !c.is_empty()),
                first.message.clone(),
            )
        }
        _ => (
            None,
            String::from_utf8_lossy(&body)
                .trim()
                .chars()
                .take(300)
                .collect(),
        ),
    };
    RegistryError::Refused {
        host: host.to_string(),
        what: what.to_string(),
        status,
        code,
        message: redact(&message),
    }
}

/// Where a registry is: `host` or `host:port`, spoken to over HTTPS, or over plain
/// HTTP when it is this machine (as Docker treats `127.0.0.0/8` and `localhost`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    base: Url,
}

impl Endpoint {
    pub fn new(host: &str) -> Result<Endpoint, RegistryError> {
        let bad =
            |why: String| RegistryError::Unsupported(format!("the registry host {host:?}: {why}"));
        let probe = Url::parse(&format!("http://{host}/")).map_err(|e| bad(e.to_string()))?;
        let name = probe.host_str().ok_or_else(|| bad("no host".into()))?;
        let name = name.trim_start_matches('[').trim_end_matches(']');
        let loopback = match name.parse::<std::net::IpAddr>() {
            Ok(ip) => ip.is_loopback(),
            Err(_) => name.eq_ignore_ascii_case("localhost"),
        };
        let scheme = if loopback { "http" } else { "https" };
        let base = Url::parse(&format!("{scheme}://{host}/")).map_err(|e| bad(e.to_string()))?;
        Ok(Endpoint {
            host: host.to_string(),
            base,
        })
    }

    fn url(&self, path: &str) -> Url {
        self.base.join(path).unwrap_or_else(|_| self.base.clone())
    }
}

/// `repository:<name>:pull` or `...:pull,push`: what a token is asked to grant.
pub fn scope(repository: &str, push: bool) -> String {
    let actions = if push { "pull,push" } else { "pull" };
    format!("repository:{repository}:{actions}")
}

/// The HTTP client of registry calls: no overall timeout (a layer may take minutes),
/// but a bound on connecting and on silence.
pub fn http_client(user_agent: &str) -> Result<reqwest::Client, RegistryError> {
    reqwest::Client::builder()
        .user_agent(user_agent)
        .connect_timeout(Duration::from_secs(30))
        .read_timeout(Duration::from_secs(300))
        .build()
        .map_err(|e| RegistryError::Unsupported(format!("an HTTP client: {e}")))
}

/// One registry as one user sees it: its endpoint, the user's credentials and the
/// scopes every token is asked for (all the copy needs at once, so that a mount's
/// token grants both repositories).
pub struct Session {
    http: reqwest::Client,
    pub endpoint: Endpoint,
    credentials: Option<Credentials>,
    scopes: Vec<String>,
    authorization: tokio::sync::Mutex<Option<Authorization>>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("endpoint", &self.endpoint.host)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

impl Session {
    pub fn new(
        http: reqwest::Client,
        endpoint: Endpoint,
        credentials: Option<Credentials>,
        scopes: Vec<String>,
    ) -> Session {
        Session {
            http,
            endpoint,
            credentials,
            scopes,
            authorization: tokio::sync::Mutex::new(None),
        }
    }

    /// The `Authorization` header of the next request, obtaining or renewing a token
    /// when needed.
    async fn authorization(&self) -> Result<Option<HeaderValue>, RegistryError> {
        let mut held = self.authorization.lock().await;
        let stale = match &*held {
            None => true,
            Some(Authorization::Bearer { renew_at, .. }) => Instant::now() >= *renew_at,
            Some(_) => false,
        };
        if stale {
            let challenge = match held.take() {
                Some(Authorization::Bearer { challenge, .. }) => Some(Challenge::Bearer {
                    realm: challenge.0,
                    service: challenge.1,
                }),
                _ => auth::probe(&self.http, &self.endpoint).await?,
            };
            *held = Some(match (challenge, &self.credentials) {
                (None, _) => Authorization::None,
                (Some(Challenge::Basic), Some(c)) => Authorization::Basic(c.clone()),
                (Some(Challenge::Bearer { realm, service }), Some(c)) => {
                    auth::fetch_token(
                        &self.http,
                        &self.endpoint,
                        &realm,
                        service.as_deref(),
                        &self.scopes,
                        c,
                    )
                    .await?
                }
                (Some(_), None) => Authorization::None,
            });
        }
        let value = match held.as_ref() {
            Some(Authorization::Bearer { token, .. }) => Some(format!("Bearer {}", token.expose())),
            Some(Authorization::Basic(c)) => {
                use base64::Engine as _;
                let pair = format!("{}:{}", c.username, c.secret.expose());
                Some(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                ))
            }
            _ => None,
        };
        Ok(value.and_then(|v| {
            let mut h = HeaderValue::from_str(&v).ok()?;
            h.set_sensitive(true);
            Some(h)
        }))
    }

    async fn request(&self, method: Method, url: Url) -> Result<RequestBuilder, RegistryError> {
        let builder = self.http.request(method, url);
        Ok(match self.authorization().await? {
            Some(h) => builder.header(AUTHORIZATION, h),
            None => builder,
        })
    }

    /// Sends a request and hands back a success answer; a failure is an error naming
    /// `what`.
    async fn send(&self, what: &str, builder: RequestBuilder) -> Result<Response, RegistryError> {
        let answer = builder
            .send()
            .await
            .map_err(|e| RegistryError::transport(&self.endpoint.host, what, e))?;
        if answer.status().is_success() {
            Ok(answer)
        } else {
            Err(failed_answer(&self.endpoint.host, what, answer).await)
        }
    }

    /// A repository of this registry, by its full name (`<backend name>/<image>`).
    pub fn repository(&self, name: &str) -> Repository<'_> {
        Repository {
            session: self,
            name: name.to_string(),
        }
    }
}

/// The largest manifest read (the OCI spec's limit registries apply).
const MANIFEST_MAX: usize = 4 * 1024 * 1024;

/// What a mount request came to.
pub enum Mounted {
    /// The blob is in the repository now, and no bytes moved.
    Yes,
    /// The registry did not mount it and opened an upload instead, at this location.
    Upload(Url),
}

/// A repository of a registry, as a session's user sees it.
pub struct Repository<'s> {
    pub session: &'s Session,
    /// `<backend name>/<image>`.
    pub name: String,
}

impl Repository<'_> {
    /// `name@digest` or `name:tag`, as a reference is written.
    fn at_reference(&self, reference: &str) -> String {
        let joiner = if reference.contains(':') { '@' } else { ':' };
        format!("{}{joiner}{reference}", self.name)
    }

    fn url(&self, rest: &str) -> Url {
        self.session
            .endpoint
            .url(&format!("/v2/{}/{rest}", self.name))
    }

    fn at(&self, location: &str) -> Result<Url, RegistryError> {
        self.session.endpoint.base.join(location).map_err(|e| {
            RegistryError::Unsupported(format!("an upload location {location:?} ({e})"))
        })
    }

    /// The manifest `reference` (tag or digest) as stored: its media type and bytes.
    /// A digest reference is checked against the bytes.
    pub async fn manifest(&self, reference: &str) -> Result<(String, Bytes), RegistryError> {
        let what = format!("GET the manifest {}", self.at_reference(reference));
        let builder = self
            .session
            .request(Method::GET, self.url(&format!("manifests/{reference}")))
            .await?
            .header(ACCEPT, manifest::ACCEPTED.join(", "));
        let mut answer = self.session.send(&what, builder).await?;
        let content_type = answer
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let mut body = Vec::new();
        while let Some(chunk) = answer
            .chunk()
            .await
            .map_err(|e| RegistryError::transport(&self.session.endpoint.host, &what, e))?
        {
            body.extend_from_slice(&chunk);
            if body.len() > MANIFEST_MAX {
                return Err(RegistryError::Unsupported(format!(
                    "{what}: a manifest larger than {MANIFEST_MAX} bytes"
                )));
            }
        }
        if reference.contains(':') {
            let actual = sha256_digest(&body);
            if actual != reference {
                return Err(RegistryError::DigestMismatch {
                    what,
                    expected: reference.to_string(),
                    actual,
                });
            }
        }
        let media_type = manifest::media_type(content_type.as_deref(), &body)?;
        Ok((media_type, Bytes::from(body)))
    }

    /// Whether the manifest `reference` is here (`HEAD`).
    pub async fn has_manifest(&self, reference: &str) -> Result<bool, RegistryError> {
        let what = format!("HEAD the manifest {}", self.at_reference(reference));
        let builder = self
            .session
            .request(Method::HEAD, self.url(&format!("manifests/{reference}")))
            .await?
            .header(ACCEPT, manifest::ACCEPTED.join(", "));
        self.exists(&what, builder).await
    }

    /// Stores a manifest under `reference` (a digest, or a tag to point at it).
    pub async fn put_manifest(
        &self,
        reference: &str,
        media_type: &str,
        body: Bytes,
    ) -> Result<(), RegistryError> {
        let what = format!("PUT the manifest {}", self.at_reference(reference));
        let builder = self
            .session
            .request(Method::PUT, self.url(&format!("manifests/{reference}")))
            .await?
            .header(CONTENT_TYPE, media_type)
            .body(body);
        self.session.send(&what, builder).await.map(drop)
    }

    /// Whether the blob is here (`HEAD`).
    pub async fn has_blob(&self, digest: &str) -> Result<bool, RegistryError> {
        let what = format!("HEAD the blob {digest} of {}", self.name);
        let builder = self
            .session
            .request(Method::HEAD, self.url(&format!("blobs/{digest}")))
            .await?;
        self.exists(&what, builder).await
    }

    async fn exists(&self, what: &str, builder: RequestBuilder) -> Result<bool, RegistryError> {
        match self.session.send(what, builder).await {
            Ok(_) => Ok(true),
            Err(e) if e.status() == Some(404) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Asks for the blob to be mounted from repository `from` of the same registry.
    pub async fn mount(&self, digest: &str, from: &str) -> Result<Mounted, RegistryError> {
        let what = format!("mount the blob {digest} from {from} into {}", self.name);
        let mut url = self.url("blobs/uploads/");
        url.query_pairs_mut()
            .append_pair("mount", digest)
            .append_pair("from", from);
        let builder = self
            .session
            .request(Method::POST, url)
            .await?
            .header(CONTENT_LENGTH, "0");
        let answer = self.session.send(&what, builder).await?;
        if answer.status() == StatusCode::CREATED {
            return Ok(Mounted::Yes);
        }
        Ok(Mounted::Upload(self.location(&what, &answer)?))
    }

    /// Opens an upload session; its location.
    pub async fn start_upload(&self) -> Result<Url, RegistryError> {
        let what = format!("start an upload to {}", self.name);
        let builder = self
            .session
            .request(Method::POST, self.url("blobs/uploads/"))
            .await?
            .header(CONTENT_LENGTH, "0");
        let answer = self.session.send(&what, builder).await?;
        self.location(&what, &answer)
    }

    fn location(&self, what: &str, answer: &Response) -> Result<Url, RegistryError> {
        let location = answer
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                RegistryError::Unsupported(format!("{what}: an answer without a Location"))
            })?;
        self.at(location)
    }

    /// Sends bytes `offset..offset + len` of an upload (a chunk); the location of
    /// the next.
    async fn patch(
        &self,
        location: Url,
        offset: u64,
        len: u64,
        body: reqwest::Body,
    ) -> Result<Url, RegistryError> {
        let what = format!(
            "upload bytes {offset}-{} to {}",
            offset + len - 1,
            self.name
        );
        let builder = self
            .session
            .request(Method::PATCH, location)
            .await?
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(CONTENT_RANGE, format!("{offset}-{}", offset + len - 1))
            .header(CONTENT_LENGTH, len.to_string())
            .body(body);
        let answer = self.session.send(&what, builder).await?;
        self.location(&what, &answer)
    }

    /// Closes an upload: the registry checks the bytes against `digest` and keeps them.
    async fn finish_upload(&self, location: Url, digest: &str) -> Result<(), RegistryError> {
        let what = format!("finish the upload of {digest} to {}", self.name);
        let mut url = location;
        url.query_pairs_mut().append_pair("digest", digest);
        let builder = self
            .session
            .request(Method::PUT, url)
            .await?
            .header(CONTENT_LENGTH, "0");
        self.session.send(&what, builder).await.map(drop)
    }

    /// Abandons an upload (best effort: the registry expires it anyway).
    async fn cancel_upload(&self, location: Url) {
        if let Ok(builder) = self.session.request(Method::DELETE, location).await {
            let _ = builder.send().await;
        }
    }

    /// The blob's bytes, as an answer to stream from.
    async fn blob(&self, digest: &str) -> Result<Response, RegistryError> {
        let what = format!("GET the blob {digest} of {}", self.name);
        let builder = self
            .session
            .request(Method::GET, self.url(&format!("blobs/{digest}")))
            .await?;
        self.session.send(&what, builder).await
    }
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_machine_is_spoken_to_in_clear() {
        let scheme = |host: &str| Endpoint::new(host).unwrap().base.scheme().to_string();
        assert_eq!(scheme("127.0.0.1:5000"), "http");
        assert_eq!(scheme("127.8.9.10:5000"), "http");
        assert_eq!(scheme("[::1]:5000"), "http");
        assert_eq!(scheme("localhost:5000"), "http");
        assert_eq!(scheme("vcr.vngcloud.vn"), "https");
        assert_eq!(
            scheme("registry.localhost"),
            "https",
            "a name is not resolved here"
        );
        assert_eq!(scheme("10.0.0.1:5000"), "https");
        assert!(Endpoint::new("bad host/with space").is_err());
    }

    #[test]
    fn scopes_are_docker_s() {
        assert_eq!(scope("1-app/web", false), "repository:1-app/web:pull");
        assert_eq!(scope("1-app/web", true), "repository:1-app/web:pull,push");
    }
}
