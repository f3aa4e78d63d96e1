//! `/_local/`: what tests and benchmarks need that the real API lacks. Not
//! part of the contract, and not for exposure beyond the machine.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use super::core::DomainError;
use super::core::LocalRegion;
use super::faults::{FaultError, FaultRequest};
use super::http::fmt_time;
use super::state::AppState;

/// A refusal of the test controls, answered `{"message","errorCode"}` (the
/// management API's shape, so that one client reads both) by this module
/// itself: the test controls do not depend on the management API.
#[derive(Debug)]
pub struct AdminError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl AdminError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        AdminError {
            status,
            code,
            message: message.into(),
        }
    }

    fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", message)
    }

    fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NOT_FOUND", message)
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let body = json!({ "message": self.message, "errorCode": self.code });
        (self.status, Json(body)).into_response()
    }
}

/// A refused fault rule is a 400 naming the rule.
impl From<FaultError> for AdminError {
    fn from(e: FaultError) -> Self {
        AdminError::invalid(e.message)
    }
}

/// Only a failure of the storage (reset) or a refused login reaches here.
impl From<DomainError> for AdminError {
    fn from(e: DomainError) -> Self {
        let message = e.to_string();
        match e {
            DomainError::Unauthenticated(_) => {
                Self::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", message)
            }
            DomainError::Storage(_) => {
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL", message)
            }
            DomainError::NotFound(_) => Self::not_found(message),
            _ => Self::invalid(message),
        }
    }
}

impl From<JsonRejection> for AdminError {
    fn from(r: JsonRejection) -> Self {
        let (status, code) = match r.status() {
            StatusCode::PAYLOAD_TOO_LARGE => (StatusCode::PAYLOAD_TOO_LARGE, "BODY_TOO_LARGE"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE")
            }
            _ => (StatusCode::BAD_REQUEST, "MALFORMED_JSON"),
        };
        Self::new(
            status,
            code,
            format!("the request body is not acceptable JSON: {}", r.body_text()),
        )
    }
}

type AdminResult = Result<Response, AdminError>;

/// A JSON object body.
fn object(body: Result<Json<Value>, JsonRejection>) -> Result<Map<String, Value>, AdminError> {
    match body?.0 {
        Value::Object(m) => Ok(m),
        _ => Err(AdminError::invalid(
            "the request body must be a JSON object",
        )),
    }
}

/// A required string field.
fn req_str(body: &Map<String, Value>, name: &str) -> Result<String, AdminError> {
    match body.get(name) {
        None | Some(Value::Null) => Err(AdminError::invalid(format!("{name} is required"))),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(AdminError::invalid(format!("{name} must be a string"))),
    }
}

/// An optional whole number of seconds.
fn opt_seconds(body: &Map<String, Value>, name: &str) -> Result<Option<i64>, AdminError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or_else(|| {
            AdminError::invalid(format!("{name} must be a whole number of seconds"))
        }),
    }
}

fn region(code: &str) -> Result<LocalRegion, AdminError> {
    LocalRegion::parse(code)
        .ok_or_else(|| AdminError::not_found(format!("unknown region {code:?}: use hcm or han")))
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
pub async fn reset(State(app): State<AppState>) -> AdminResult {
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
    Path(reg): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> AdminResult {
    let r = region(&reg)?;
    let b = object(body)?;
    let username = req_str(&b, "username")?;
    let password = req_str(&b, "password")?;
    match app.core.authenticate(r, Some((&username, &password))) {
        Ok(principal) => Ok(Json(
            json!({ "ok": true, "uuid": principal.subject(), "username": username }),
        )
        .into_response()),
        Err(DomainError::Unauthenticated(why)) => Err(AdminError::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            format!("login refused: {why}"),
        )),
        Err(e) => Err(e.into()),
    }
}

/// `POST /_local/faults`: adds a fault rule (see [`FaultRequest`]).
pub async fn add_fault(
    State(app): State<AppState>,
    request: Result<Json<FaultRequest>, JsonRejection>,
) -> AdminResult {
    let Json(request) = request?;
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
pub async fn remove_fault(State(app): State<AppState>, Path(id): Path<String>) -> AdminResult {
    if !app.faults.lock().remove(&id) {
        return Err(AdminError::not_found(format!("no fault {id:?}")));
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
pub async fn set_clock(
    State(app): State<AppState>,
    body: Result<Json<Value>, JsonRejection>,
) -> AdminResult {
    let b = object(body)?;
    let max = 100 * 365 * 86_400_i64;
    let check = |v: i64| {
        if v.abs() > max {
            Err(AdminError::invalid("the clock can move at most 100 years"))
        } else {
            Ok(v)
        }
    };
    if let Some(adv) = opt_seconds(&b, "advanceSeconds")? {
        let next = check(app.core.clock.offset().saturating_add(check(adv)?))?;
        app.core.clock.set_offset(next);
    } else if let Some(off) = opt_seconds(&b, "offsetSeconds")? {
        app.core.clock.set_offset(check(off)?);
    } else {
        return Err(AdminError::invalid("give advanceSeconds or offsetSeconds"));
    }
    Ok(clock(State(app)).await)
}
