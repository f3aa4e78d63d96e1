//! The management API adapter: the IAM token endpoint and the vCR v1 API of
//! each region, over the domain core, in vCR's JSON shapes.

use std::collections::HashMap;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, put};
use axum::{Json, Router};

pub mod error;
pub mod iam;
mod images;
mod repos;
mod users;
pub mod wire;

pub use super::http::{fmt_time, fmt_time_ms};
pub use error::{ApiError, ApiPath, ApiQuery, Body};
pub use iam::issue_token;

use super::core::model::Repository;
use super::core::LocalRegion;
use super::jwt::{self, Claims};
use super::state::AppState;
use wire::{PageDto, RepositoryDto};

/// The state of a region's routes.
#[derive(Clone)]
pub struct RegionCtx {
    pub app: AppState,
    pub region: LocalRegion,
}

type Query = ApiQuery<HashMap<String, String>>;
type ApiResult = Result<Response, ApiError>;

/// The vCR v1 API of one region (to nest under `/hcm` or `/han`).
pub fn region_routes(state: AppState, region: LocalRegion) -> Router {
    Router::new()
        .route("/v1/repository", get(repos::list).post(repos::create))
        .route(
            "/v1/repository/{repo_id}",
            get(repos::get).delete(repos::delete),
        )
        .route("/v1/repository/{repo_id}/quotas", put(repos::set_quota))
        .route("/v1/repository/{repo_id}/user", get(users::of_repository))
        .route("/v1/repository/{repo_id}/attach", put(repos::attach))
        .route("/v1/repository/{repo_id}/detach", put(repos::detach))
        .route("/v1/repository/{repo_id}/history", get(repos::history))
        .route("/v1/repository/{repo_id}/images", get(images::list))
        .route(
            "/v1/repository/{repo_id}/images/detail",
            get(images::detail),
        )
        .route(
            "/v1/repository/{repo_id}/images/artifacts",
            get(images::artifacts),
        )
        .route(
            "/v1/repository/{repo_id}/images/delete",
            delete(images::delete_image),
        )
        .route(
            "/v1/repository/{repo_id}/images/artifacts/delete",
            delete(images::delete_artifact),
        )
        .route("/v1/user", get(users::list).post(users::create))
        .route("/v1/user/permissions", get(users::policies))
        .route(
            "/v1/user/{user_id}",
            put(users::update).delete(users::delete),
        )
        .route("/v1/user/{user_id}/enable", put(users::enable))
        .route("/v1/user/{user_id}/disable", put(users::disable))
        .route("/v1/user/{user_id}/permission", put(users::set_permissions))
        .route("/v1/user/{user_id}/refresh", get(users::refresh_secret))
        .route_layer(from_fn_with_state(state.clone(), require_token))
        .with_state(RegionCtx { app: state, region })
}

/// RepositoryDto of a repository.
pub fn repo_dto(app: &AppState, region: LocalRegion, r: Repository) -> RepositoryDto {
    RepositoryDto {
        registry_url: format!("{}/{}", app.registry_host(region), r.backend_name),
        uuid: r.uuid,
        name: r.name,
        backend_name: r.backend_name,
        access_level: if r.public { "PUBLIC" } else { "PRIVATE" },
        image_count: r.image_count,
        attached_user: r.attached_users,
        quota_limit: r.quota_limit_gb,
        quota_used: r.quota_used_gb,
        created_at: fmt_time(r.created_at),
    }
}

fn page_of<T>(items: Vec<T>, page: u64, size: u64) -> PageDto<T> {
    let total = items.len() as u64;
    let list: Vec<T> = items
        .into_iter()
        .skip(((page - 1).saturating_mul(size)) as usize)
        .take(size as usize)
        .collect();
    PageDto {
        list_data: list,
        page,
        page_size: size,
        total_page: total.div_ceil(size),
        total_item: total,
    }
}

/// The `name` filter of a list: trimmed, lower case, `None` when empty.
fn name_filter(q: &HashMap<String, String>) -> Option<String> {
    q.get("name")
        .map(|n| n.trim().to_lowercase())
        .filter(|n| !n.is_empty())
}

fn ok<T: serde::Serialize>(status: StatusCode, body: T) -> ApiResult {
    Ok((status, Json(body)).into_response())
}

/// The body's copy of the id in the path must be present and equal.
fn same_id(b: &Body, field: &str, path_id: &str) -> Result<(), ApiError> {
    let v = b.req_str(field)?;
    if v != path_id {
        return Err(ApiError::invalid(format!(
            "{field} in the body ({v:?}) does not match the id in the path ({path_id:?})"
        )));
    }
    Ok(())
}

/// Refuses requests without a valid, unexpired bearer token of this account.
pub async fn require_token(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(s, _)| s.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().to_string());
    let Some(token) = bearer else {
        return ApiError::unauthorized(
            "an Authorization: Bearer <access token> header is required",
        )
        .into_response();
    };
    match jwt::verify::<Claims>(&app.iam_key, &token, app.now()) {
        Err(r) => ApiError::unauthorized(r.message()).into_response(),
        Ok(c) if c.account_id != app.config.account_id => {
            ApiError::unauthorized("the access token was issued for another account")
                .into_response()
        }
        Ok(_) => next.run(req).await,
    }
}
