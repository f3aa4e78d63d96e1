//! `POST /iam/accounts-api/v2/auth/token`: the IAM's client-credentials grant.

use std::collections::HashMap;

use axum::extract::{FromRequest, Request, State};
use axum::http::{header, HeaderMap, StatusCode};

use super::wire::TokenDto;
use super::{ok, ApiError, ApiResult, Body};
use crate::local::core::secrets::same_text;
use crate::local::http::basic_credentials;
use crate::local::jwt::{self, Claims};
use crate::local::state::AppState;

/// Client credentials in a Basic header, `grant_type=client_credentials` as a
/// form or JSON body; answers an access token for the account.
pub async fn issue_token(State(app): State<AppState>, req: Request) -> ApiResult {
    let headers = req.headers().clone();
    let (id, secret) = basic_credentials(&headers).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "an Authorization: Basic base64(client_id:client_secret) header is required",
        )
    })?;
    let cfg = &app.config;
    let id_ok = same_text(&cfg.client_id, &id);
    let secret_ok = same_text(&cfg.client_secret, &secret);
    if !(id_ok && secret_ok) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "the client id or client secret is wrong",
        ));
    }
    if grant_type(&headers, req).await?.as_deref() != Some("client_credentials") {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type must be client_credentials",
        ));
    }
    let now = app.now();
    let ttl = app.config.token_ttl.as_secs_f64().ceil().max(1.0) as i64;
    let claims = Claims {
        iss: "vcr-local".into(),
        sub: cfg.client_id.clone(),
        account_id: cfg.account_id,
        iat: now,
        exp: now + ttl,
        jti: uuid::Uuid::new_v4().to_string(),
    };
    ok(
        StatusCode::OK,
        TokenDto {
            token_type: "Bearer",
            access_token: jwt::sign(&app.iam_key, &claims),
            expires_in: ttl as u64,
            refresh_expires_in: 0,
        },
    )
}

async fn grant_type(headers: &HeaderMap, req: Request) -> Result<Option<String>, ApiError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if is_json {
        return Body::from_request(req, &()).await?.opt_str("grant_type");
    }
    let axum::extract::Form(f) =
        axum::extract::Form::<HashMap<String, String>>::from_request(req, &())
            .await
            .map_err(form_refused)?;
    Ok(f.get("grant_type").cloned())
}

/// A form body that could not be read: 413 when it is too large (as every
/// body of the API), 400 otherwise.
fn form_refused(r: axum::extract::rejection::FormRejection) -> ApiError {
    if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "BODY_TOO_LARGE",
            format!(
                "the request body is too large: at most {} bytes",
                crate::local::state::MAX_BODY_BYTES
            ),
        );
    }
    ApiError::invalid(format!(
        "the request body is not a valid form: {}",
        r.body_text()
    ))
}
