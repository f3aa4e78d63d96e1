//! The IAM access token: fetched with the client-credentials grant, shared by
//! every call of a [`super::Client`], renewed shortly before it expires and
//! once when vCR answers 401.

use std::time::{Duration, Instant};

use base64::Engine as _;
use reqwest::Method;

use super::contract::ACCOUNT_ID_CLAIM;
use super::error::VcrError;
use super::retry::Idempotency;
use super::secret::Secret;
use super::Inner;

/// Used when IAM's answer does not say how long the token lives.
const DEFAULT_EXPIRES_IN: Duration = Duration::from_secs(300);
/// A token is renewed this long before it expires (or a tenth of its life,
/// whichever is shorter).
const RENEW_MARGIN: Duration = Duration::from_secs(60);

/// A token and when to stop using it.
#[derive(Clone)]
pub(crate) struct Token {
    pub(crate) value: Secret,
    renew_at: Instant,
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
    let basic = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        inner.config.client_id,
        inner.config.client_secret.expose()
    ));
    let url = inner.token_url.clone();
    let path = url.path().to_string();
    let answer = inner
        .send_with_retries(&Method::POST, &path, Idempotency::Idempotent, || {
            inner
                .http
                .post(url.clone())
                .header(reqwest::header::AUTHORIZATION, format!("Basic {basic}"))
                .header(reqwest::header::ACCEPT, "application/json")
                .form(&[("grant_type", "client_credentials")])
        })
        .await?;
    if !(200..300).contains(&answer.status) {
        return Err(VcrError::Auth {
            status: answer.status,
            message: super::error::error_message(answer.status, &answer.body),
        });
    }
    parse_token_answer(&answer.body, started)
        .map_err(|message| VcrError::unexpected("POST", &path, message))
}

/// Reads `{"access_token","expires_in",...}` without ever putting the token in
/// an error message.
fn parse_token_answer(body: &[u8], fetched_at: Instant) -> Result<Token, String> {
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| "the IAM token answer is not JSON".to_string())?;
    let access = v
        .get("access_token")
        .or_else(|| v.get("accessToken"))
        .and_then(|t| t.as_str())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| "the IAM token answer has no access_token".to_string())?;
    let expires_in = v
        .get("expires_in")
        .or_else(|| v.get("expiresIn"))
        .and_then(|e| {
            e.as_f64()
                .or_else(|| e.as_str().and_then(|s| s.parse().ok()))
        })
        .filter(|e| e.is_finite() && *e > 0.0)
        .map(|e| Duration::from_secs_f64(e.min(86_400.0 * 365.0)))
        .unwrap_or(DEFAULT_EXPIRES_IN);
    let margin = RENEW_MARGIN.min(expires_in / 10);
    Ok(Token {
        account_id: account_id_from_jwt(access),
        value: Secret::new(access),
        renew_at: fetched_at + expires_in - margin,
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
    fn account_id_claim() {
        let enc = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let jwt = format!("{}.{}.sig", enc("{}"), enc(r#"{"accountId":53461}"#));
        assert_eq!(account_id_from_jwt(&jwt), Some(53461));
        let jwt = format!("{}.{}.sig", enc("{}"), enc(r#"{"accountId":"7"}"#));
        assert_eq!(account_id_from_jwt(&jwt), Some(7));
        assert_eq!(account_id_from_jwt("not-a-jwt"), None);
    }
}
