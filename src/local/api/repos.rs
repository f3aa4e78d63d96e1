//! `/v1/repository`: repositories, their quota, users attached, history.

use axum::extract::State;
use axum::http::StatusCode;

use super::wire::HistoryDto;
use super::{
    fmt_time, name_filter, ok, page_of, repo_dto, same_id, ApiError, ApiPath, ApiQuery, ApiResult,
    Body, Query, RegionCtx,
};
use crate::local::core::rules;

pub async fn list(State(ctx): State<RegionCtx>, ApiQuery(q): Query) -> ApiResult {
    let (page, size) = rules::paging(&q)?;
    let public = match q
        .get("accessLevel")
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(a) if a.eq_ignore_ascii_case("PUBLIC") => Some(true),
        Some(a) if a.eq_ignore_ascii_case("PRIVATE") => Some(false),
        Some(a) => {
            return Err(ApiError::invalid(format!(
                "accessLevel {:?}: must be PUBLIC or PRIVATE",
                rules::truncate(a, 40)
            )))
        }
    };
    let repos = ctx
        .app
        .core
        .list_repositories(ctx.region, name_filter(&q).as_deref(), public)?;
    let items = repos
        .into_iter()
        .map(|r| repo_dto(&ctx.app, ctx.region, r))
        .collect();
    ok(StatusCode::OK, page_of(items, page, size))
}

pub async fn create(State(ctx): State<RegionCtx>, b: Body) -> ApiResult {
    let name = b.req_str("repoName")?;
    rules::repo_name(&name)?;
    let public = b.req_bool("isPublic")?;
    let quota = rules::quota(b.opt_int("quotaLimit", "a whole number of GB, at least 1")?)?;
    let repo = ctx
        .app
        .core
        .create_repository(ctx.region, &name, public, quota)?;
    ok(StatusCode::ACCEPTED, repo_dto(&ctx.app, ctx.region, repo))
}

pub async fn get(State(ctx): State<RegionCtx>, ApiPath(id): ApiPath<String>) -> ApiResult {
    let repo = ctx.app.core.repository(ctx.region, &id)?;
    ok(StatusCode::OK, repo_dto(&ctx.app, ctx.region, repo))
}

pub async fn delete(State(ctx): State<RegionCtx>, ApiPath(id): ApiPath<String>) -> ApiResult {
    let repo = ctx.app.core.delete_repository(ctx.region, &id)?;
    ok(StatusCode::ACCEPTED, repo_dto(&ctx.app, ctx.region, repo))
}

pub async fn set_quota(
    State(ctx): State<RegionCtx>,
    ApiPath(id): ApiPath<String>,
    b: Body,
) -> ApiResult {
    same_id(&b, "repoId", &id)?;
    let quota = rules::quota(b.opt_int("quotaLimit", "a whole number of GB, at least 1")?)?;
    let repo = ctx.app.core.set_quota(ctx.region, &id, quota)?;
    ok(StatusCode::OK, repo_dto(&ctx.app, ctx.region, repo))
}

pub async fn attach(
    State(ctx): State<RegionCtx>,
    ApiPath(id): ApiPath<String>,
    b: Body,
) -> ApiResult {
    same_id(&b, "repoId", &id)?;
    let mut wanted: Vec<(String, Vec<String>)> = Vec::new();
    for (i, item) in b.req_array("repoUserList")?.iter().enumerate() {
        let field = format!("repoUserList[{i}]");
        let obj = item
            .as_object()
            .ok_or_else(|| ApiError::invalid(format!("{field} must be an object")))?;
        let user = obj
            .get("repoUserId")
            .and_then(|v| v.as_str())
            .ok_or_else(|| {
                ApiError::invalid(format!(
                    "{field}.repoUserId is required and must be a string"
                ))
            })?;
        let policies = rules::policy_ids(
            &format!("{field}.policyIdList"),
            obj.get("policyIdList").unwrap_or(&serde_json::Value::Null),
        )?;
        wanted.push((user.to_string(), policies));
    }
    if wanted.is_empty() {
        return Err(ApiError::invalid(
            "repoUserList is empty: attach at least one user",
        ));
    }
    let repo = ctx.app.core.attach_users(ctx.region, &id, &wanted)?;
    ok(StatusCode::OK, repo_dto(&ctx.app, ctx.region, repo))
}

pub async fn detach(
    State(ctx): State<RegionCtx>,
    ApiPath(id): ApiPath<String>,
    b: Body,
) -> ApiResult {
    same_id(&b, "repoId", &id)?;
    let users = b
        .req_array("repoUserUuidList")?
        .iter()
        .map(|v| {
            v.as_str()
                .map(String::from)
                .ok_or_else(|| ApiError::invalid("repoUserUuidList must be an array of user ids"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let repo = ctx.app.core.detach_users(ctx.region, &id, &users)?;
    ok(StatusCode::OK, repo_dto(&ctx.app, ctx.region, repo))
}

pub async fn history(
    State(ctx): State<RegionCtx>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): Query,
) -> ApiResult {
    let (page, size) = rules::paging(&q)?;
    let items = ctx
        .app
        .core
        .history(ctx.region, &id)?
        .into_iter()
        .map(|h| HistoryDto {
            action: h.action,
            detail: h.detail,
            created_at: fmt_time(h.at),
        })
        .collect();
    ok(StatusCode::OK, page_of(items, page, size))
}
