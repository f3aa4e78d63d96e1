//! The registry's error answers, in the distribution spec's shape
//! `{"errors":[{"code","message","detail"}]}`, with the 401 challenge that
//! sends clients to the token endpoint.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::local::core::{DomainError, RegistryErrorKind};

/// An error answer of the registry.
#[derive(Debug)]
pub struct OciError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// `WWW-Authenticate` to send (401 only).
    pub challenge: Option<String>,
    /// The error's `detail` (what access was refused, for `DENIED`).
    pub detail: Option<serde_json::Value>,
}

impl OciError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> OciError {
        OciError {
            status,
            code,
            message: message.into(),
            challenge: None,
            detail: None,
        }
    }

    /// 403 `DENIED` for an action on a name, with the access refused as its
    /// detail (as distribution does), which is also what makes docker print
    /// `denied: requested access to the resource is denied`.
    pub fn denied(name: &str, action: &str) -> OciError {
        OciError {
            detail: Some(json!([{"Type": "repository", "Name": name, "Action": action}])),
            ..OciError::new(
                StatusCode::FORBIDDEN,
                "DENIED",
                crate::local::core::auth::DENIED_MESSAGE,
            )
        }
    }

    /// 401 `UNAUTHORIZED` with a challenge.
    pub fn unauthorized(message: impl Into<String>, challenge: String) -> OciError {
        OciError {
            challenge: Some(challenge),
            ..OciError::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", message)
        }
    }

    /// A distribution-spec code with its usual status.
    pub fn of_kind(kind: RegistryErrorKind, message: impl Into<String>) -> OciError {
        use RegistryErrorKind::*;
        let status = match kind {
            BlobUnknown | BlobUploadUnknown | ManifestUnknown | NameUnknown => {
                StatusCode::NOT_FOUND
            }
            RangeInvalid => StatusCode::RANGE_NOT_SATISFIABLE,
            InUse => StatusCode::METHOD_NOT_ALLOWED,
            _ => StatusCode::BAD_REQUEST,
        };
        OciError::new(status, kind.code(), message)
    }
}

/// The registry's answer to a domain error. A 401 needs a challenge, which
/// only the caller can build: [`super::auth`] turns `Unauthenticated` into one
/// before it gets here; this one is the fallback.
impl From<DomainError> for OciError {
    fn from(e: DomainError) -> Self {
        let message = e.to_string();
        match e {
            DomainError::Registry { kind, .. } => OciError::of_kind(kind, message),
            DomainError::Invalid(_) => {
                OciError::new(StatusCode::BAD_REQUEST, "UNSUPPORTED", message)
            }
            DomainError::NotFound(_) => {
                OciError::new(StatusCode::NOT_FOUND, "NAME_UNKNOWN", message)
            }
            DomainError::Conflict { .. } => OciError::new(StatusCode::CONFLICT, "DENIED", message),
            DomainError::Unauthenticated(_) => OciError::new(
                StatusCode::UNAUTHORIZED,
                "UNAUTHORIZED",
                "authentication required",
            ),
            DomainError::Denied(_) | DomainError::QuotaExceeded(_) => {
                OciError::new(StatusCode::FORBIDDEN, "DENIED", message)
            }
            DomainError::TooMany(_) => {
                OciError::new(StatusCode::TOO_MANY_REQUESTS, "TOOMANYREQUESTS", message)
            }
            DomainError::Storage(_) => {
                OciError::new(StatusCode::INTERNAL_SERVER_ERROR, "UNKNOWN", message)
            }
        }
    }
}

impl OciError {
    /// The answer, with more headers.
    pub fn into_response_with(self, headers: &[(header::HeaderName, String)]) -> Response {
        let mut resp = self.into_response();
        for (name, value) in headers {
            if let Ok(value) = HeaderValue::from_str(value) {
                resp.headers_mut().insert(name.clone(), value);
            }
        }
        resp
    }
}

impl IntoResponse for OciError {
    fn into_response(self) -> Response {
        let body = json!({"errors": [{"code": self.code, "message": self.message, "detail": self.detail}]});
        let mut resp = (self.status, axum::Json(body)).into_response();
        if let Some(c) = self.challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, c);
        }
        resp
    }
}
