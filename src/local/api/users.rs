//! `/v1/user`: repository users (robot accounts), their policies and secrets.

use axum::extract::State;
use axum::http::StatusCode;

use super::wire::{PolicyDto, RepoPermissionDto, RobotAccountDto, SecretDto};
use super::{
    fmt_time, name_filter, ok, page_of, same_id, ApiError, ApiPath, ApiQuery, ApiResult, Body,
    Query, RegionCtx,
};
use crate::local::core::model::{policy, GrantRequest, User, POLICIES};
use crate::local::core::rules;
use crate::local::core::users::NewUser;
use crate::local::state::AppState;

fn policy_dto(id: &str) -> PolicyDto {
    PolicyDto {
        uuid: id.to_string(),
        action: policy(id).map(|p| p.action.to_string()).unwrap_or_default(),
    }
}

fn user_dto(app: &AppState, u: User) -> RobotAccountDto {
    let perms: Vec<RepoPermissionDto> = u
        .grants
        .into_iter()
        .map(|g| RepoPermissionDto {
            repo_id: g.repo_uuid,
            repo_name: g.repo_name,
            backend_repo_name: g.repo_backend_name,
            policy_dto_list: g.policy_ids.iter().map(|p| policy_dto(p)).collect(),
        })
        .collect();
    RobotAccountDto {
        uuid: u.uuid,
        name: u.name,
        backend_name: u.backend_name,
        description: u.description,
        disable: u.disabled,
        expired_at: u.expires_at.map(fmt_time),
        created_at: fmt_time(u.created_at),
        user_id: app.config.account_id,
        number_of_repo: perms.len() as u64,
        repo_permission_list: perms,
    }
}

/// Reads a `permissionRequestList` (the core checks the repositories).
fn permission_list(b: &Body) -> Result<Vec<GrantRequest>, ApiError> {
    let mut grants = Vec::new();
    for (i, item) in b.req_array("permissionRequestList")?.iter().enumerate() {
        let field = format!("permissionRequestList[{i}]");
        let obj = item
            .as_object()
            .ok_or_else(|| ApiError::invalid(format!("{field} must be an object")))?;
        let repo = obj.get("repoId").and_then(|v| v.as_str()).ok_or_else(|| {
            ApiError::invalid(format!("{field}.repoId is required and must be a string"))
        })?;
        let policy_ids = rules::policy_ids(
            &format!("{field}.policyIdList"),
            obj.get("policyIdList").unwrap_or(&serde_json::Value::Null),
        )?;
        grants.push(GrantRequest {
            repo_uuid: repo.to_string(),
            policy_ids,
        });
    }
    Ok(grants)
}

pub async fn list(State(ctx): State<RegionCtx>, ApiQuery(q): Query) -> ApiResult {
    let (page, size) = rules::paging(&q)?;
    let users = ctx
        .app
        .core
        .list_users(ctx.region, name_filter(&q).as_deref(), None)?;
    let items = users.into_iter().map(|u| user_dto(&ctx.app, u)).collect();
    ok(StatusCode::OK, page_of(items, page, size))
}

/// `GET /v1/repository/{id}/user`: the users with policies on a repository.
pub async fn of_repository(
    State(ctx): State<RegionCtx>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): Query,
) -> ApiResult {
    let (page, size) = rules::paging(&q)?;
    let users = ctx
        .app
        .core
        .list_users(ctx.region, name_filter(&q).as_deref(), Some(&id))?;
    let items = users.into_iter().map(|u| user_dto(&ctx.app, u)).collect();
    ok(StatusCode::OK, page_of(items, page, size))
}

pub async fn create(State(ctx): State<RegionCtx>, b: Body) -> ApiResult {
    let name = b.req_str("name")?;
    rules::user_name(&name)?;
    let new = NewUser {
        duration_days: rules::duration(b.opt_int("duration", "a whole number of days")?)?,
        description: rules::description(b.opt_str("description")?)?,
        grants: permission_list(&b)?,
        name,
    };
    let secret = ctx.app.core.create_user(ctx.region, &new)?;
    ok(StatusCode::OK, SecretDto { secret_key: secret })
}

/// The three policies the real service lists.
pub async fn policies() -> ApiResult {
    let list: Vec<PolicyDto> = POLICIES.iter().map(|p| policy_dto(p.id)).collect();
    ok(StatusCode::OK, list)
}

/// `PUT /v1/user/{id}`: duration and description (see [`crate::local::core::Core::update_user`]).
pub async fn update(
    State(ctx): State<RegionCtx>,
    ApiPath(id): ApiPath<String>,
    b: Body,
) -> ApiResult {
    same_id(&b, "repoUserId", &id)?;
    let duration = rules::duration(b.opt_int("duration", "a whole number of days")?)?;
    let description = rules::description(b.opt_str("description")?)?;
    let user = ctx
        .app
        .core
        .update_user(ctx.region, &id, duration, description)?;
    ok(StatusCode::OK, user_dto(&ctx.app, user))
}

pub async fn delete(State(ctx): State<RegionCtx>, ApiPath(id): ApiPath<String>) -> ApiResult {
    let user = ctx.app.core.delete_user(ctx.region, &id)?;
    ok(StatusCode::OK, user_dto(&ctx.app, user))
}

pub async fn enable(State(ctx): State<RegionCtx>, ApiPath(id): ApiPath<String>) -> ApiResult {
    let user = ctx.app.core.set_user_disabled(ctx.region, &id, false)?;
    ok(StatusCode::OK, user_dto(&ctx.app, user))
}

pub async fn disable(State(ctx): State<RegionCtx>, ApiPath(id): ApiPath<String>) -> ApiResult {
    let user = ctx.app.core.set_user_disabled(ctx.region, &id, true)?;
    ok(StatusCode::OK, user_dto(&ctx.app, user))
}

pub async fn set_permissions(
    State(ctx): State<RegionCtx>,
    ApiPath(id): ApiPath<String>,
    b: Body,
) -> ApiResult {
    same_id(&b, "repoUserId", &id)?;
    let grants = permission_list(&b)?;
    let user = ctx.app.core.set_user_grants(ctx.region, &id, &grants)?;
    ok(StatusCode::OK, user_dto(&ctx.app, user))
}

/// `GET /v1/user/{id}/refresh`: a new secret, answered as a bare JSON string.
pub async fn refresh_secret(
    State(ctx): State<RegionCtx>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult {
    let secret = ctx.app.core.refresh_secret(ctx.region, &id)?;
    ok(StatusCode::OK, secret)
}
