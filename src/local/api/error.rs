//! Errors answered by vcr-local, in the contract's shape
//! `{"message":"...","errorCode":"..."}`, and extractors that turn axum's
//! rejections into that shape.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use super::wire::ErrorDto;
use crate::local::core::{DomainError, RegistryErrorKind};

/// An error answer.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The machine-readable code (`errorCode`).
    pub code: &'static str,
    /// The message, which names the rule that was broken.
    pub message: String,
    /// `Retry-After`, for 429 and 503.
    pub retry_after: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 400: a rule of the contract was broken.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NOT_FOUND", message)
    }

    /// 409.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// 401.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", message)
    }

    /// 500, for a failure of vcr-local itself (the disk).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (
            self.status,
            axum::Json(ErrorDto {
                message: self.message,
                error_code: self.code.to_string(),
            }),
        )
            .into_response();
        if let Some(ra) = self
            .retry_after
            .and_then(|v| HeaderValue::from_str(&v).ok())
        {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, ra);
        }
        resp
    }
}

/// The management API's answer to a domain error: vCR's JSON shape, with the
/// status the contract gives each kind of refusal.
impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        let message = e.to_string();
        match e {
            DomainError::Invalid(_) => ApiError::invalid(message),
            DomainError::NotFound(_) => ApiError::not_found(message),
            DomainError::Conflict { code, .. } => ApiError::conflict(code, message),
            DomainError::Unauthenticated(_) => ApiError::unauthorized(message),
            DomainError::Denied(_) => ApiError::new(StatusCode::FORBIDDEN, "FORBIDDEN", message),
            DomainError::QuotaExceeded(_) => {
                ApiError::new(StatusCode::FORBIDDEN, "QUOTA_EXCEEDED", message)
            }
            DomainError::TooMany(_) => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_REQUESTS", message)
            }
            DomainError::Registry { kind, .. } => match kind {
                RegistryErrorKind::BlobUnknown
                | RegistryErrorKind::BlobUploadUnknown
                | RegistryErrorKind::ManifestUnknown
                | RegistryErrorKind::NameUnknown => ApiError::not_found(message),
                _ => ApiError::invalid(message),
            },
            DomainError::Storage(_) => ApiError::internal(message),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let status = r.status();
        let code = match status {
            StatusCode::PAYLOAD_TOO_LARGE => "BODY_TOO_LARGE",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "UNSUPPORTED_MEDIA_TYPE",
            _ => "MALFORMED_JSON",
        };
        // A body of the wrong shape (axum's 422) is a plain 400 here, as the
        // contract answers every invalid request.
        let status = if status.is_client_error() && status != StatusCode::UNPROCESSABLE_ENTITY {
            status
        } else {
            StatusCode::BAD_REQUEST
        };
        ApiError::new(
            status,
            code,
            format!("the request body is not acceptable JSON: {}", r.body_text()),
        )
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::invalid(format!("the query string is malformed: {}", r.body_text()))
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::invalid(format!("the path is malformed: {}", r.body_text()))
    }
}

/// `axum::Json` whose rejection answers in the contract's error shape.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let axum::Json(v) = axum::Json::<T>::from_request(req, state).await?;
        Ok(ApiJson(v))
    }
}

/// A JSON object body, read field by field so that a wrong type gets a
/// message naming the field.
pub struct Body(pub serde_json::Map<String, serde_json::Value>);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let ApiJson(v) = ApiJson::<serde_json::Value>::from_request(req, state).await?;
        match v {
            serde_json::Value::Object(m) => Ok(Body(m)),
            _ => Err(ApiError::invalid("the request body must be a JSON object")),
        }
    }
}

impl Body {
    fn field(&self, name: &str) -> Option<&serde_json::Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    /// A required string.
    pub fn req_str(&self, name: &str) -> Result<String, ApiError> {
        self.opt_str(name)?
            .ok_or_else(|| ApiError::invalid(format!("{name} is required")))
    }

    /// An optional string (absent or null: `None`).
    pub fn opt_str(&self, name: &str) -> Result<Option<String>, ApiError> {
        match self.field(name) {
            None => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(ApiError::invalid(format!("{name} must be a string"))),
        }
    }

    /// A required boolean.
    pub fn req_bool(&self, name: &str) -> Result<bool, ApiError> {
        match self.field(name) {
            None => Err(ApiError::invalid(format!("{name} is required"))),
            Some(serde_json::Value::Bool(b)) => Ok(*b),
            Some(_) => Err(ApiError::invalid(format!("{name} must be true or false"))),
        }
    }

    /// An optional whole number (absent or null: `None`).
    pub fn opt_int(&self, name: &str, rule: &str) -> Result<Option<i64>, ApiError> {
        match self.field(name) {
            None => Ok(None),
            Some(serde_json::Value::Number(n)) => match n.as_i64() {
                Some(i) => Ok(Some(i)),
                None => Err(ApiError::invalid(format!("{name} must be {rule}"))),
            },
            Some(_) => Err(ApiError::invalid(format!("{name} must be {rule}"))),
        }
    }

    /// A required array.
    pub fn req_array(&self, name: &str) -> Result<&Vec<serde_json::Value>, ApiError> {
        match self.field(name) {
            None => Err(ApiError::invalid(format!("{name} is required"))),
            Some(serde_json::Value::Array(a)) => Ok(a),
            Some(_) => Err(ApiError::invalid(format!("{name} must be an array"))),
        }
    }
}

/// `axum::extract::Query` whose rejection answers in the contract's shape.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Query(v) =
            axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(ApiQuery(v))
    }
}

/// `axum::extract::Path` whose rejection answers in the contract's shape.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(v) =
            axum::extract::Path::<T>::from_request_parts(parts, state).await?;
        Ok(ApiPath(v))
    }
}
