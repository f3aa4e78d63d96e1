//! `/_local/`: what tests and benchmarks need that the real API lacks. Not
//! part of the contract, and not for exposure beyond the machine.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::api::error::ApiJson;
use super::api::{fmt_time, ApiError, ApiPath, Body};
use super::core::DomainError;
use super::faults::FaultRequest;
use super::{AppState, LocalRegion};

type ApiResult = Result<Response, ApiError>;

fn region(code: &str) -> Result<LocalRegion, ApiError> {
    LocalRegion::parse(code)
        .ok_or_else(|| ApiError::not_found(format!("unknown region {code:?}: use hcm or han")))
}

/// `GET /_local/health`.
pub async fn health(State(app): State<AppState>) -> Response {
    Json(json!({
        "ok": true,
        "accountId": app.config.account_id,
        "dataDir": app.core.data_dir().map(|p| p.display().to_string()),
        "registries": {
            "HCM": app.registry_host(LocalRegion::Hcm),
            "HAN": app.registry_host(LocalRegion::Han),
        },
        "uploadsInProgress": app.core.uploads_in_progress(),
    }))
    .into_response()
}

/// `POST /_local/reset`: forgets every repository, user, image and upload of
/// both regions, every fault, the counters and the clock offset.
pub async fn reset(State(app): State<AppState>) -> ApiResult {
    app.core.reset()?;
    app.faults.lock().clear();
    *app.counters.lock() = Default::default();
    app.core.clock.set_offset(0);
    Ok(Json(json!({ "ok": true })).into_response())
}

/// `POST /_local/{region}/check-login {"username","password"}`: what the
/// registry's token endpoint would say to `docker login`: 200 when the user
/// (by backend name) exists, is enabled, has not expired and the secret
/// matches; 401 otherwise. A shortcut for tests.
pub async fn check_login(
    State(app): State<AppState>,
    ApiPath(reg): ApiPath<String>,
    b: Body,
) -> ApiResult {
    let r = region(&reg)?;
    let username = b.req_str("username")?;
    let password = b.req_str("password")?;
    match app.core.authenticate(r, Some((&username, &password))) {
        Ok(principal) => Ok(Json(
            json!({ "ok": true, "uuid": principal.subject(), "username": username }),
        )
        .into_response()),
        Err(DomainError::Unauthenticated(why)) => {
            Err(ApiError::unauthorized(format!("login refused: {why}")))
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /_local/faults`: adds a fault rule (see [`FaultRequest`]).
pub async fn add_fault(
    State(app): State<AppState>,
    ApiJson(request): ApiJson<FaultRequest>,
) -> ApiResult {
    let rule = std::sync::Arc::new(request.validate()?);
    app.faults.lock().add(rule.clone())?;
    Ok((StatusCode::CREATED, Json(&*rule)).into_response())
}

/// `GET /_local/faults`.
pub async fn list_faults(State(app): State<AppState>) -> Response {
    let rules = app.faults.lock().snapshot();
    Json(rules.iter().map(|r| &**r).collect::<Vec<_>>()).into_response()
}

/// `DELETE /_local/faults`.
pub async fn clear_faults(State(app): State<AppState>) -> Response {
    app.faults.lock().clear();
    Json(json!({ "ok": true })).into_response()
}

/// `DELETE /_local/faults/{id}`.
pub async fn remove_fault(State(app): State<AppState>, ApiPath(id): ApiPath<String>) -> ApiResult {
    if !app.faults.lock().remove(&id) {
        return Err(ApiError::not_found(format!("no fault {id:?}")));
    }
    Ok(Json(json!({ "ok": true })).into_response())
}

/// `GET /_local/requests`.
pub async fn requests(State(app): State<AppState>) -> Response {
    Json(app.counters.lock().to_dto()).into_response()
}

/// `DELETE /_local/requests`.
pub async fn reset_requests(State(app): State<AppState>) -> Response {
    *app.counters.lock() = Default::default();
    Json(json!({ "ok": true })).into_response()
}

/// `GET /_local/clock`.
pub async fn clock(State(app): State<AppState>) -> Response {
    Json(json!({
        "now": fmt_time(app.now()),
        "offsetSeconds": app.core.clock.offset(),
    }))
    .into_response()
}

/// `POST /_local/clock {"advanceSeconds": n}` or `{"offsetSeconds": n}`:
/// moves vcr-local's clock (expiry of users and tokens) without waiting.
pub async fn set_clock(State(app): State<AppState>, b: Body) -> ApiResult {
    let max = 100 * 365 * 86_400_i64;
    let check = |v: i64| {
        if v.abs() > max {
            Err(ApiError::invalid("the clock can move at most 100 years"))
        } else {
            Ok(v)
        }
    };
    if let Some(adv) = b.opt_int("advanceSeconds", "a whole number of seconds")? {
        let next = check(app.core.clock.offset().saturating_add(check(adv)?))?;
        app.core.clock.set_offset(next);
    } else if let Some(off) = b.opt_int("offsetSeconds", "a whole number of seconds")? {
        app.core.clock.set_offset(check(off)?);
    } else {
        return Err(ApiError::invalid("give advanceSeconds or offsetSeconds"));
    }
    Ok(clock(State(app)).await)
}
