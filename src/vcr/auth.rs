//! The IAM access token: fetched with the client-credentials grant, shared by
//! every call of a [`super::Client`], renewed shortly before it expires and
//! once when vCR answers 401.

use std::time::{Duration, Instant};

use base64::Engine as _;
use reqwest::Method;

use super::contract::{ACCOUNT_ID_CLAIM, DEFAULT_TOKEN_LIFETIME_SECS, TOKEN_TYPE};
use super::error::{ApiMessage, VcrError};
use super::retry::Idempotency;
use super::secret::Secret;
use super::transport::Target;
use super::Inner;

/// Used when IAM's answer does not say how long the token lives.
const DEFAULT_EXPIRES_IN: Duration = Duration::from_secs(DEFAULT_TOKEN_LIFETIME_SECS);
/// A token is renewed this long before it expires (or a tenth of its life,
/// whichever is shorter).
const RENEW_MARGIN: Duration = Duration::from_secs(60);

/// A token and when to stop using it.
#[derive(Clone)]
pub(crate) struct Token {
    pub(crate) value: Secret,
    renew_at: Instant,
    /// How long IAM said the token lives.
    lifetime: Duration,
    pub(crate) account_id: Option<u64>,
}

/// The shared token slot. The mutex is held while a token is fetched, so
/// concurrent calls wait for one fetch instead of each starting their own.
#[derive(Default)]
pub(crate) struct TokenCache {
    slot: tokio::sync::Mutex<Option<Token>>,
}

impl TokenCache {
    /// A token that is good for a while, fetched if needed.
    pub(crate) async fn get(&self, inner: &Inner) -> Result<Token, VcrError> {
        let mut slot = self.slot.lock().await;
        if let Some(t) = slot.as_ref() {
            if Instant::now() < t.renew_at {
                return Ok(t.clone());
            }
        }
        let fresh = fetch(inner).await?;
        *slot = Some(fresh.clone());
        Ok(fresh)
    }

    /// Forgets `bad` (vCR refused it) unless another call already replaced it.
    pub(crate) async fn invalidate(&self, bad: &Secret) {
        let mut slot = self.slot.lock().await;
        if slot.as_ref().is_some_and(|t| &t.value == bad) {
            *slot = None;
        }
    }
}

/// `POST {token_url}` with `Authorization: Basic base64(id:secret)` and the
/// form body `grant_type=client_credentials`.
async fn fetch(inner: &Inner) -> Result<Token, VcrError> {
    let started = Instant::now();
    let url = &inner.token_url;
    let target = Target {
        method: &Method::POST,
        url,
        base: url,
        setting: "token_url",
        idempotency: Idempotency::Idempotent,
    };
    let answer = inner
        .transport
        .send(&target, || {
            // basic_auth marks the header sensitive: it never shows in a debug print.
            inner
                .transport
                .http
                .post(url.clone())
                .basic_auth(
                    &inner.config.client_id,
                    Some(inner.config.client_secret.expose()),
                )
                .header(reqwest::header::ACCEPT, "application/json")
                .form(&[("grant_type", "client_credentials")])
        })
        .await?;
    if let Some(location) = &answer.location {
        return Err(target.redirect_error(answer.status, location));
    }
    if !(200..300).contains(&answer.status) {
        return Err(VcrError::Auth {
            status: answer.status,
            message: ApiMessage::from_body(answer.status, &answer.body),
        });
    }
    let token = parse_token_answer(&answer.body, started)
        .map_err(|message| VcrError::unexpected("POST", url.path(), message))?;
    tracing::debug!(
        lifetime_s = token.lifetime.as_secs(),
        "IAM issued a token; renewing it before it expires"
    );
    Ok(token)
}

/// Reads `{"token_type","access_token","expires_in",...}` (see
/// [`super::contract::TOKEN_TYPE`]) without ever putting the token in an error
/// message. The token is renewed before the lifetime the answer gives.
fn parse_token_answer(body: &[u8], fetched_at: Instant) -> Result<Token, String> {
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| "the IAM token answer is not JSON".to_string())?;
    let access = v
        .get("access_token")
        .or_else(|| v.get("accessToken"))
        .and_then(|t| t.as_str())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| "the IAM token answer has no access_token".to_string())?;
    let token_type = v
        .get("token_type")
        .or_else(|| v.get("tokenType"))
        .and_then(|t| t.as_str());
    if let Some(t) = token_type.filter(|t| !t.trim().eq_ignore_ascii_case(TOKEN_TYPE)) {
        let t: String = t.chars().take(40).collect();
        return Err(format!(
            "IAM issued a token of type {t:?}, where vCR takes a {TOKEN_TYPE} token"
        ));
    }
    let expires_in = v
        .get("expires_in")
        .or_else(|| v.get("expiresIn"))
        .and_then(|e| {
            e.as_f64()
                .or_else(|| e.as_str().and_then(|s| s.trim().parse().ok()))
        })
        .filter(|e| e.is_finite() && *e > 0.0)
        .map(|e| Duration::from_secs_f64(e.min(86_400.0 * 365.0)))
        .unwrap_or(DEFAULT_EXPIRES_IN);
    let margin = RENEW_MARGIN.min(expires_in / 10);
    Ok(Token {
        account_id: account_id_from_jwt(access),
        value: Secret::new(access),
        renew_at: fetched_at + expires_in - margin,
        lifetime: expires_in,
    })
}

/// The account id claim of a JWT (see `contract.rs`), read without checking
/// the signature: it only serves to show names, never to trust anything.
pub(crate) fn account_id_from_jwt(jwt: &str) -> Option<u64> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    match claims.get(ACCOUNT_ID_CLAIM)? {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_answer() {
        let now = Instant::now();
        let t = parse_token_answer(
            br#"{"token_type":"Bearer","access_token":"abc","expires_in":1800,"refresh_expires_in":0}"#,
            now,
        )
        .unwrap();
        assert_eq!(t.value.expose(), "abc");
        assert_eq!(t.renew_at, now + Duration::from_secs(1740));
        let t = parse_token_answer(br#"{"access_token":"abc","expires_in":2}"#, now).unwrap();
        assert_eq!(t.renew_at, now + Duration::from_millis(1800));
        let err = parse_token_answer(br#"{"access_token":"","expires_in":"x"}"#, now)
            .err()
            .unwrap();
        assert!(!err.contains("abc"));
    }

    #[test]
    fn token_answers_of_every_published_shape() {
        let now = Instant::now();
        let shapes: [(&str, u64); 5] = [
            (
                r#"{"token_type":"bearer","access_token":"t","expires_in":7200,"scope":"vcr"}"#,
                7200,
            ),
            (
                r#"{"token_type":"BEARER","access_token":"t","expires_in":3600}"#,
                3600,
            ),
            (
                r#"{"access_token":"t","expires_in":"1800","refresh_expires_in":0,"extra":{"a":1}}"#,
                1800,
            ),
            (r#"{"access_token":"t"}"#, DEFAULT_TOKEN_LIFETIME_SECS),
            (
                r#"{"access_token":"t","expires_in":-5}"#,
                DEFAULT_TOKEN_LIFETIME_SECS,
            ),
        ];
        for (body, lifetime) in shapes {
            let t = parse_token_answer(body.as_bytes(), now).unwrap();
            assert_eq!(t.lifetime, Duration::from_secs(lifetime), "{body}");
            // Renewed a minute (or a tenth of the life) before the end the answer gives.
            let margin = RENEW_MARGIN.min(t.lifetime / 10);
            assert_eq!(t.renew_at, now + t.lifetime - margin, "{body}");
        }
        let err = parse_token_answer(
            br#"{"token_type":"mac","access_token":"hunter2","expires_in":60}"#,
            now,
        )
        .err()
        .unwrap();
        assert!(err.contains("\"mac\"") && !err.contains("hunter2"), "{err}");
    }

    #[test]
    fn account_id_claim() {
        let enc = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let jwt = format!("{}.{}.sig", enc("{}"), enc(r#"{"accountId":53461}"#));
        assert_eq!(account_id_from_jwt(&jwt), Some(53461));
        let jwt = format!("{}.{}.sig", enc("{}"), enc(r#"{"accountId":"7"}"#));
        assert_eq!(account_id_from_jwt(&jwt), Some(7));
        assert_eq!(account_id_from_jwt("not-a-jwt"), None);
    }
}
