//! HS256 JSON Web Tokens: the IAM's access tokens and the registry's tokens,
//! each signed with its own key derived from the stored signing key, so that
//! neither kind is ever accepted as the other.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Claims that expire.
pub trait Expiring {
    /// Unix seconds after which the token is refused.
    fn exp(&self) -> i64;
}

impl Expiring for Claims {
    fn exp(&self) -> i64 {
        self.exp
    }
}

/// A key for one purpose, derived from the stored signing key.
pub fn derive_key(key: &[u8], purpose: &str) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(purpose.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// The claims vcr-local puts in a token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    /// The account id (the contract's **assumed** claim).
    pub account_id: u64,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Malformed,
    BadSignature,
    Expired,
}

impl Refusal {
    pub fn message(self) -> &'static str {
        match self {
            Refusal::Malformed => "the access token is malformed",
            Refusal::BadSignature => "the access token's signature is not valid",
            Refusal::Expired => "the access token has expired: fetch a new one",
        }
    }
}

/// Signs the claims.
pub fn sign<C: Serialize>(key: &[u8], claims: &C) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
    let signing_input = format!("{header}.{payload}");
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(signing_input.as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signing_input}.{sig}")
}

/// Checks the signature (in constant time) and the expiry against `now`.
pub fn verify<C: DeserializeOwned + Expiring>(
    key: &[u8],
    token: &str,
    now: i64,
) -> Result<C, Refusal> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Refusal::Malformed);
    };
    let header: serde_json::Value = URL_SAFE_NO_PAD
        .decode(h)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(Refusal::Malformed)?;
    if header.get("alg").and_then(|a| a.as_str()) != Some("HS256") {
        return Err(Refusal::Malformed);
    }
    let sig = URL_SAFE_NO_PAD.decode(s).map_err(|_| Refusal::Malformed)?;
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(h.as_bytes());
    mac.update(b".");
    mac.update(p.as_bytes());
    mac.verify_slice(&sig).map_err(|_| Refusal::BadSignature)?;
    let claims: C = URL_SAFE_NO_PAD
        .decode(p)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(Refusal::Malformed)?;
    if now >= claims.exp() {
        return Err(Refusal::Expired);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims {
            iss: "vcr-local".into(),
            sub: "id".into(),
            account_id: 7,
            iat: 0,
            exp,
            jti: "j".into(),
        }
    }

    #[test]
    fn round_trip_and_refusals() {
        let t = sign(b"key", &claims(100));
        assert_eq!(verify::<Claims>(b"key", &t, 99).unwrap(), claims(100));
        assert_eq!(verify::<Claims>(b"key", &t, 100), Err(Refusal::Expired));
        assert_eq!(
            verify::<Claims>(b"other", &t, 0),
            Err(Refusal::BadSignature)
        );
        assert_eq!(verify::<Claims>(b"key", "a.b", 0), Err(Refusal::Malformed));
        let mut tampered = t.clone();
        tampered.insert(t.find('.').unwrap() + 2, 'x');
        assert!(verify::<Claims>(b"key", &tampered, 0).is_err());
        assert_ne!(derive_key(b"key", "a"), derive_key(b"key", "b"));
    }
}
