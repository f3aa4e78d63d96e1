//! Docker token authentication (what `docker login` does): the registry's `401`
//! names a token service (`WWW-Authenticate: Bearer realm=...,service=...`), which
//! trades the user's name and secret, sent as HTTP Basic, for a bearer token
//! granting the asked scopes. A registry that asks for Basic gets the credentials
//! on every request instead.

use std::time::{Duration, Instant};

use reqwest::header::WWW_AUTHENTICATE;
use serde::Deserialize;

use super::{failed_answer, Endpoint, RegistryError};
use crate::vcr::Secret;

/// A repository user's credentials for one registry.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The user's backend name (`<account id>-<name>`), as `docker login` takes it.
    pub username: String,
    pub secret: Secret,
}

/// A `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    Bearer {
        realm: String,
        service: Option<String>,
    },
    Basic,
}

impl Challenge {
    /// Reads a challenge; `None` for schemes this client does not speak.
    pub fn parse(header: &str) -> Option<Challenge> {
        let header = header.trim();
        let (scheme, params) = header.split_once(' ').unwrap_or((header, ""));
        if scheme.eq_ignore_ascii_case("basic") {
            return Some(Challenge::Basic);
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        let mut realm = None;
        let mut service = None;
        for (key, value) in parameters(params) {
            match key.to_ascii_lowercase().as_str() {
                "realm" => realm = Some(value),
                "service" => service = Some(value),
                _ => {}
            }
        }
        Some(Challenge::Bearer {
            realm: realm?,
            service,
        })
    }
}

/// `key="value"` pairs separated by commas; quoted values may hold commas.
fn parameters(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = text.trim();
    while let Some((key, after)) = rest.split_once('=') {
        let key = key.trim().trim_start_matches(',').trim().to_string();
        let after = after.trim_start();
        let (value, next) = if let Some(quoted) = after.strip_prefix('"') {
            match quoted.find('"') {
                Some(end) => (quoted[..end].to_string(), &quoted[end + 1..]),
                None => (quoted.to_string(), ""),
            }
        } else {
            match after.find(',') {
                Some(end) => (after[..end].trim().to_string(), &after[end..]),
                None => (after.trim().to_string(), ""),
            }
        };
        out.push((key, value));
        rest = next.trim_start().trim_start_matches(',');
    }
    out
}

/// How requests to one registry are authorised.
#[derive(Debug, Clone)]
pub(crate) enum Authorization {
    /// The registry lets anyone in (`GET /v2/` answered 200).
    None,
    Basic(Credentials),
    Bearer {
        token: Secret,
        /// When to get a new one: half its lifetime after it was issued.
        renew_at: Instant,
        challenge: (String, Option<String>),
    },
}

#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

/// Tokens shorter-lived than this are renewed before each request.
const MIN_LIFETIME: Duration = Duration::from_secs(60);

/// Asks the token service for a token granting `scopes`.
pub(crate) async fn fetch_token(
    http: &reqwest::Client,
    endpoint: &Endpoint,
    realm: &str,
    service: Option<&str>,
    scopes: &[String],
    credentials: &Credentials,
) -> Result<Authorization, RegistryError> {
    let mut query: Vec<(&str, &str)> = Vec::new();
    if let Some(service) = service {
        query.push(("service", service));
    }
    for scope in scopes {
        query.push(("scope", scope));
    }
    let what = format!("a token from {realm}");
    let answer = http
        .get(realm)
        .query(&query)
        .basic_auth(&credentials.username, Some(credentials.secret.expose()))
        .send()
        .await
        .map_err(|e| RegistryError::transport(&endpoint.host, &what, e))?;
    if !answer.status().is_success() {
        return Err(failed_answer(&endpoint.host, &what, answer).await);
    }
    let body: TokenAnswer = answer
        .json()
        .await
        .map_err(|e| RegistryError::transport(&endpoint.host, &what, e))?;
    let token = body
        .token
        .or(body.access_token)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| RegistryError::Unsupported(format!("{what}: the answer holds no token")))?;
    // Docker's default lifetime when the service does not say.
    let lifetime = Duration::from_secs(body.expires_in.unwrap_or(60)).max(MIN_LIFETIME);
    Ok(Authorization::Bearer {
        token: Secret::new(token),
        renew_at: Instant::now() + lifetime / 2,
        challenge: (realm.to_string(), service.map(str::to_string)),
    })
}

/// How `GET /v2/` says to authenticate: `None` when it lets anyone in.
pub(crate) async fn probe(
    http: &reqwest::Client,
    endpoint: &Endpoint,
) -> Result<Option<Challenge>, RegistryError> {
    let url = endpoint.url("/v2/");
    let what = "GET /v2/ (the registry's version check)";
    let answer = http
        .get(url)
        .send()
        .await
        .map_err(|e| RegistryError::transport(&endpoint.host, what, e))?;
    if answer.status().is_success() {
        return Ok(None);
    }
    if answer.status() != reqwest::StatusCode::UNAUTHORIZED {
        return Err(failed_answer(&endpoint.host, what, answer).await);
    }
    let challenge = answer
        .headers()
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(Challenge::parse);
    challenge.map(Some).ok_or_else(|| {
        RegistryError::Unsupported(format!(
            "{what}: the registry at {} answered 401 without a Bearer or Basic challenge",
            endpoint.host
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_are_read_as_docker_reads_them() {
        assert_eq!(
            Challenge::parse(
                r#"Bearer realm="https://r.example/service/token",service="harbor-registry""#
            ),
            Some(Challenge::Bearer {
                realm: "https://r.example/service/token".into(),
                service: Some("harbor-registry".into())
            })
        );
        assert_eq!(
            Challenge::parse(
                r#"bearer service="s", realm="http://127.0.0.1:5000/t?a=1,b=2",error="insufficient_scope""#
            ),
            Some(Challenge::Bearer {
                realm: "http://127.0.0.1:5000/t?a=1,b=2".into(),
                service: Some("s".into())
            })
        );
        assert_eq!(
            Challenge::parse(r#"Basic realm="x""#),
            Some(Challenge::Basic)
        );
        assert_eq!(Challenge::parse("Negotiate abc"), None);
        assert_eq!(Challenge::parse(r#"Bearer service="no realm""#), None);
    }

    #[test]
    fn credentials_print_no_secret() {
        let c = Credentials {
            username: "100-u".into(),
            secret: Secret::new("s3cr3t-value"),
        };
        assert!(!format!("{c:?}").contains("s3cr3t"));
    }
}
