//! The contract's endpoints: the IAM token and the vCR v1 API of a region.

use std::collections::HashMap;

use axum::extract::{FromRequest, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine as _;

use super::error::{ApiError, ApiPath, ApiQuery, Body};
use super::jwt::{self, Claims};
use super::rules;
use super::store::{self, Grant, ImageRec, RegionData, Repo, User, POLICIES};
use super::wire::*;
use super::{AppState, LocalRegion};

/// The state of a region's routes.
#[derive(Clone)]
pub struct RegionCtx {
    pub app: AppState,
    pub region: LocalRegion,
}

type Query = ApiQuery<HashMap<String, String>>;
type ApiResult = Result<Response, ApiError>;

// ---- time and rendering ------------------------------------------------------

/// RFC 3339, UTC, whole seconds: `2026-05-01T10:00:00Z`.
pub fn fmt_time(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

fn backend_name(account: u64, name: &str) -> String {
    format!("{account}-{name}")
}

/// GB with up to 3 decimals.
fn gb(mb: u64) -> f64 {
    ((mb as f64 / 1024.0) * 1000.0).round() / 1000.0
}

pub fn repo_dto(account: u64, region: LocalRegion, data: &RegionData, r: &Repo) -> RepositoryDto {
    let backend = backend_name(account, &r.name);
    RepositoryDto {
        uuid: r.uuid.clone(),
        name: r.name.clone(),
        registry_url: format!("{}/{}", region.registry_host(), backend),
        backend_name: backend,
        access_level: if r.public { "PUBLIC" } else { "PRIVATE" },
        image_count: r.images.len() as u64,
        attached_user: data
            .users
            .iter()
            .filter(|u| u.grants.iter().any(|g| g.repo_id == r.uuid))
            .count() as u64,
        quota_limit: r.quota_limit_gb,
        quota_used: gb(r.used_mb()),
        created_at: fmt_time(r.created_at),
    }
}

fn policy_dto(id: &str) -> PolicyDto {
    let action = POLICIES
        .iter()
        .find(|(p, _)| *p == id)
        .map(|(_, a)| a.to_string())
        .unwrap_or_default();
    PolicyDto {
        uuid: id.to_string(),
        action,
    }
}

pub fn user_dto(account: u64, data: &RegionData, u: &User) -> RobotAccountDto {
    let perms: Vec<RepoPermissionDto> = u
        .grants
        .iter()
        .filter_map(|g| {
            let r = data.repos.iter().find(|r| r.uuid == g.repo_id)?;
            Some(RepoPermissionDto {
                repo_id: r.uuid.clone(),
                repo_name: r.name.clone(),
                backend_repo_name: backend_name(account, &r.name),
                policy_dto_list: g.policy_ids.iter().map(|p| policy_dto(p)).collect(),
            })
        })
        .collect();
    RobotAccountDto {
        uuid: u.uuid.clone(),
        name: u.name.clone(),
        backend_name: backend_name(account, &u.name),
        description: u.description.clone(),
        disable: u.disabled,
        expired_at: u.expires_at.map(fmt_time),
        created_at: fmt_time(u.created_at),
        user_id: account,
        number_of_repo: perms.len() as u64,
        repo_permission_list: perms,
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

fn name_filter(q: &HashMap<String, String>) -> Option<String> {
    q.get("name")
        .map(|n| n.trim().to_lowercase())
        .filter(|n| !n.is_empty())
}

fn ok<T: serde::Serialize>(status: StatusCode, body: T) -> ApiResult {
    Ok((status, Json(body)).into_response())
}

fn repo_not_found(region: LocalRegion, id: &str) -> ApiError {
    ApiError::not_found(format!("no repository {id:?} in region {}", region.code()))
}

fn user_not_found(region: LocalRegion, id: &str) -> ApiError {
    ApiError::not_found(format!(
        "no repository user {id:?} in region {}",
        region.code()
    ))
}

fn repo_mut<'a>(
    data: &'a mut RegionData,
    region: LocalRegion,
    id: &str,
) -> Result<&'a mut Repo, ApiError> {
    data.repos
        .iter_mut()
        .find(|r| r.uuid == id)
        .ok_or_else(|| repo_not_found(region, id))
}

fn user_mut<'a>(
    data: &'a mut RegionData,
    region: LocalRegion,
    id: &str,
) -> Result<&'a mut User, ApiError> {
    data.users
        .iter_mut()
        .find(|u| u.uuid == id)
        .ok_or_else(|| user_not_found(region, id))
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

// ---- IAM ----------------------------------------------------------------------

/// `POST /iam/accounts-api/v2/auth/token`: client credentials in a Basic
/// header, `grant_type=client_credentials` as a form or JSON body.
pub async fn issue_token(State(app): State<AppState>, req: Request) -> ApiResult {
    let headers = req.headers().clone();
    let creds = basic_credentials(&headers).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "an Authorization: Basic base64(client_id:client_secret) header is required",
        )
    })?;
    let cfg = &app.config;
    let id_ok = store::same_text(&cfg.client_id, &creds.0);
    let secret_ok = store::same_text(&cfg.client_secret, &creds.1);
    if !(id_ok && secret_ok) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "the client id or client secret is wrong",
        ));
    }
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    let grant = if is_json {
        Body::from_request(req, &()).await?.opt_str("grant_type")?
    } else {
        let axum::extract::Form(f) =
            axum::extract::Form::<HashMap<String, String>>::from_request(req, &())
                .await
                .map_err(|r| {
                    ApiError::invalid(format!(
                        "the request body is not a valid form: {}",
                        r.body_text()
                    ))
                })?;
        f.get("grant_type").cloned()
    };
    if grant.as_deref() != Some("client_credentials") {
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
    let token = jwt::sign(&app.signing_key, &claims);
    ok(
        StatusCode::OK,
        TokenDto {
            token_type: "Bearer",
            access_token: token,
            expires_in: ttl as u64,
            refresh_expires_in: 0,
        },
    )
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
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
    match jwt::verify(&app.signing_key, &token, app.now()) {
        Err(r) => ApiError::unauthorized(r.message()).into_response(),
        Ok(c) if c.account_id != app.config.account_id => {
            ApiError::unauthorized("the access token was issued for another account")
                .into_response()
        }
        Ok(_) => next.run(req).await,
    }
}

// ---- repositories --------------------------------------------------------------

pub async fn list_repos(State(ctx): State<RegionCtx>, ApiQuery(q): Query) -> ApiResult {
    let (page, size) = rules::paging(&q)?;
    let name = name_filter(&q);
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
                "accessLevel {a:?}: must be PUBLIC or PRIVATE"
            )))
        }
    };
    let acct = ctx.app.config.account_id;
    let items = ctx.app.store.read(|s| {
        let d = ctx.region.data(s);
        d.repos
            .iter()
            .filter(|r| name.as_ref().is_none_or(|n| r.name.contains(n.as_str())))
            .filter(|r| public.is_none_or(|p| r.public == p))
            .map(|r| repo_dto(acct, ctx.region, d, r))
            .collect::<Vec<_>>()
    });
    ok(StatusCode::OK, page_of(items, page, size))
}

pub async fn create_repo(State(ctx): State<RegionCtx>, b: Body) -> ApiResult {
    let name = b.req_str("repoName")?;
    rules::repo_name(&name)?;
    let public = b.req_bool("isPublic")?;
    let quota = rules::quota(b.opt_int("quotaLimit", "a whole number of GB, at least 1")?)?;
    let now = ctx.app.now();
    let acct = ctx.app.config.account_id;
    let dto = ctx.app.store.write(|s| {
        let d = ctx.region.data_mut(s);
        if d.repos.iter().any(|r| r.name == name) {
            return Err(ApiError::conflict(
                "REPO_NAME_TAKEN",
                format!(
                    "a repository named {name:?} already exists: names are unique in the account"
                ),
            ));
        }
        let mut repo = Repo {
            uuid: format!("repo-{}", uuid::Uuid::new_v4()),
            name: name.clone(),
            public,
            quota_limit_gb: quota,
            created_at: now,
            images: Vec::new(),
            history: Vec::new(),
        };
        repo.log(
            now,
            "CREATE_REPOSITORY",
            format!("created with a quota of {quota} GB"),
        );
        d.repos.push(repo);
        Ok(repo_dto(
            acct,
            ctx.region,
            d,
            d.repos.last().expect("just pushed"),
        ))
    })?;
    ok(StatusCode::ACCEPTED, dto)
}

pub async fn get_repo(State(ctx): State<RegionCtx>, ApiPath(id): ApiPath<String>) -> ApiResult {
    let acct = ctx.app.config.account_id;
    let dto = ctx.app.store.read(|s| {
        let d = ctx.region.data(s);
        d.repos
            .iter()
            .find(|r| r.uuid == id)
            .map(|r| repo_dto(acct, ctx.region, d, r))
    });
    let dto = dto.ok_or_else(|| repo_not_found(ctx.region, &id))?;
    ok(StatusCode::OK, dto)
}

pub async fn delete_repo(State(ctx): State<RegionCtx>, ApiPath(id): ApiPath<String>) -> ApiResult {
    let acct = ctx.app.config.account_id;
    let dto = ctx.app.store.write(|s| {
        let d = ctx.region.data_mut(s);
        let r = d
            .repos
            .iter()
            .find(|r| r.uuid == id)
            .ok_or_else(|| repo_not_found(ctx.region, &id))?;
        if !r.images.is_empty() {
            return Err(ApiError::conflict(
                "REPO_NOT_EMPTY",
                format!(
                    "repository {:?} still holds {} image(s): a repository with images cannot be deleted, delete its images first",
                    r.name,
                    r.images.len()
                ),
            ));
        }
        let dto = repo_dto(acct, ctx.region, d, r);
        d.repos.retain(|r| r.uuid != id);
        for u in d.users.iter_mut() {
            u.grants.retain(|g| g.repo_id != id);
        }
        Ok(dto)
    })?;
    ok(StatusCode::ACCEPTED, dto)
}

pub async fn set_quota(
    State(ctx): State<RegionCtx>,
    ApiPath(id): ApiPath<String>,
    b: Body,
) -> ApiResult {
    same_id(&b, "repoId", &id)?;
    let quota = rules::quota(b.opt_int("quotaLimit", "a whole number of GB, at least 1")?)?;
    let now = ctx.app.now();
    let acct = ctx.app.config.account_id;
    let dto = ctx.app.store.write(|s| {
        let d = ctx.region.data_mut(s);
        let r = repo_mut(d, ctx.region, &id)?;
        let used = r.used_mb();
        if (quota as u128) * 1024 < used as u128 {
            return Err(ApiError::invalid(format!(
                "quotaLimit {quota} GB is below the {} GB the repository already uses: the quota cannot be below what is used",
                gb(used)
            )));
        }
        let old = r.quota_limit_gb;
        r.quota_limit_gb = quota;
        r.log(now, "UPDATE_QUOTA", format!("quota changed from {old} GB to {quota} GB"));
        let r = d.repos.iter().find(|r| r.uuid == id).expect("found above");
        Ok(repo_dto(acct, ctx.region, d, r))
    })?;
    ok(StatusCode::OK, dto)
}

pub async fn repo_users(
    State(ctx): State<RegionCtx>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): Query,
) -> ApiResult {
    let (page, size) = rules::paging(&q)?;
    let name = name_filter(&q);
    let acct = ctx.app.config.account_id;
    let items = ctx.app.store.read(|s| {
        let d = ctx.region.data(s);
        if !d.repos.iter().any(|r| r.uuid == id) {
            return Err(repo_not_found(ctx.region, &id));
        }
        Ok::<_, ApiError>(
            d.users
                .iter()
                .filter(|u| u.grants.iter().any(|g| g.repo_id == id))
                .filter(|u| {
                    name.as_ref()
                        .is_none_or(|n| u.name.to_lowercase().contains(n.as_str()))
                })
                .map(|u| user_dto(acct, d, u))
                .collect::<Vec<_>>(),
        )
    })?;
    ok(StatusCode::OK, page_of(items, page, size))
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
        let pols = rules::policy_ids(
            &format!("{field}.policyIdList"),
            obj.get("policyIdList").unwrap_or(&serde_json::Value::Null),
        )?;
        wanted.push((user.to_string(), pols));
    }
    if wanted.is_empty() {
        return Err(ApiError::invalid(
            "repoUserList is empty: attach at least one user",
        ));
    }
    let now = ctx.app.now();
    let acct = ctx.app.config.account_id;
    let dto = ctx.app.store.write(|s| {
        let d = ctx.region.data_mut(s);
        repo_mut(d, ctx.region, &id)?;
        for (user_id, pols) in &wanted {
            let u = d
                .users
                .iter_mut()
                .find(|u| &u.uuid == user_id)
                .ok_or_else(|| {
                    ApiError::invalid(format!(
                        "repoUserList: no repository user {user_id:?} in region {}",
                        ctx.region.code()
                    ))
                })?;
            match u.grants.iter_mut().find(|g| g.repo_id == id) {
                Some(g) => g.policy_ids = pols.clone(),
                None => u.grants.push(Grant {
                    repo_id: id.clone(),
                    policy_ids: pols.clone(),
                }),
            }
            let name = u.name.clone();
            repo_mut(d, ctx.region, &id)?.log(now, "ATTACH_USER", format!("user {name} attached"));
        }
        let r = d.repos.iter().find(|r| r.uuid == id).expect("found above");
        Ok(repo_dto(acct, ctx.region, d, r))
    })?;
    ok(StatusCode::OK, dto)
}

pub async fn detach(
    State(ctx): State<RegionCtx>,
    ApiPath(id): ApiPath<String>,
    b: Body,
) -> ApiResult {
    same_id(&b, "repoId", &id)?;
    let mut users: Vec<String> = Vec::new();
    for v in b.req_array("repoUserUuidList")? {
        users.push(
            v.as_str()
                .ok_or_else(|| ApiError::invalid("repoUserUuidList must be an array of user ids"))?
                .to_string(),
        );
    }
    let now = ctx.app.now();
    let acct = ctx.app.config.account_id;
    let dto = ctx.app.store.write(|s| {
        let d = ctx.region.data_mut(s);
        repo_mut(d, ctx.region, &id)?;
        for user_id in &users {
            let u = d
                .users
                .iter_mut()
                .find(|u| &u.uuid == user_id)
                .ok_or_else(|| {
                    ApiError::invalid(format!(
                        "repoUserUuidList: no repository user {user_id:?} in region {}",
                        ctx.region.code()
                    ))
                })?;
            u.grants.retain(|g| g.repo_id != id);
            let name = u.name.clone();
            repo_mut(d, ctx.region, &id)?.log(now, "DETACH_USER", format!("user {name} detached"));
        }
        let r = d.repos.iter().find(|r| r.uuid == id).expect("found above");
        Ok(repo_dto(acct, ctx.region, d, r))
    })?;
    ok(StatusCode::OK, dto)
}

fn image_dto(i: &ImageRec) -> ImageDto {
    ImageDto {
        name: i.name.clone(),
        tags: i.tags.clone(),
        size_mb: i.size_mb,
        pushed_at: fmt_time(i.pushed_at),
    }
}

pub async fn list_images(
    State(ctx): State<RegionCtx>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): Query,
) -> ApiResult {
    let (page, size) = rules::paging(&q)?;
    let name = name_filter(&q);
    let items = ctx.app.store.read(|s| {
        let r = ctx
            .region
            .data(s)
            .repos
            .iter()
            .find(|r| r.uuid == id)
            .ok_or_else(|| repo_not_found(ctx.region, &id))?;
        let mut imgs: Vec<&ImageRec> = r
            .images
            .iter()
            .filter(|i| name.as_ref().is_none_or(|n| i.name.contains(n.as_str())))
            .collect();
        imgs.sort_by(|a, b| a.name.cmp(&b.name));
        Ok::<_, ApiError>(imgs.into_iter().map(image_dto).collect::<Vec<_>>())
    })?;
    ok(StatusCode::OK, page_of(items, page, size))
}

pub async fn delete_image(
    State(ctx): State<RegionCtx>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): Query,
) -> ApiResult {
    let image = q
        .get("imageName")
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::invalid("the query parameter imageName is required"))?;
    let now = ctx.app.now();
    let acct = ctx.app.config.account_id;
    let dto = ctx.app.store.write(|s| {
        let d = ctx.region.data_mut(s);
        let r = repo_mut(d, ctx.region, &id)?;
        let before = r.images.len();
        r.images.retain(|i| i.name != image);
        if r.images.len() == before {
            return Err(ApiError::not_found(format!(
                "no image {image:?} in repository {:?}",
                r.name
            )));
        }
        r.log(now, "DELETE_IMAGE", format!("image {image} deleted"));
        let r = d.repos.iter().find(|r| r.uuid == id).expect("found above");
        Ok(repo_dto(acct, ctx.region, d, r))
    })?;
    ok(StatusCode::OK, dto)
}

pub async fn history(
    State(ctx): State<RegionCtx>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): Query,
) -> ApiResult {
    let (page, size) = rules::paging(&q)?;
    let items = ctx.app.store.read(|s| {
        let r = ctx
            .region
            .data(s)
            .repos
            .iter()
            .find(|r| r.uuid == id)
            .ok_or_else(|| repo_not_found(ctx.region, &id))?;
        Ok::<_, ApiError>(
            r.history
                .iter()
                .rev()
                .map(|h| HistoryDto {
                    action: h.action.clone(),
                    detail: h.detail.clone(),
                    created_at: fmt_time(h.at),
                })
                .collect::<Vec<_>>(),
        )
    })?;
    ok(StatusCode::OK, page_of(items, page, size))
}

// ---- users ---------------------------------------------------------------------

pub async fn list_users(State(ctx): State<RegionCtx>, ApiQuery(q): Query) -> ApiResult {
    let (page, size) = rules::paging(&q)?;
    let name = name_filter(&q);
    let acct = ctx.app.config.account_id;
    let items = ctx.app.store.read(|s| {
        let d = ctx.region.data(s);
        d.users
            .iter()
            .filter(|u| {
                name.as_ref()
                    .is_none_or(|n| u.name.to_lowercase().contains(n.as_str()))
            })
            .map(|u| user_dto(acct, d, u))
            .collect::<Vec<_>>()
    });
    ok(StatusCode::OK, page_of(items, page, size))
}

/// Reads a `permissionRequestList`, checking every repository exists.
fn permission_list(b: &Body, d: &RegionData, region: LocalRegion) -> Result<Vec<Grant>, ApiError> {
    let mut grants: Vec<Grant> = Vec::new();
    for (i, item) in b.req_array("permissionRequestList")?.iter().enumerate() {
        let field = format!("permissionRequestList[{i}]");
        let obj = item
            .as_object()
            .ok_or_else(|| ApiError::invalid(format!("{field} must be an object")))?;
        let repo = obj.get("repoId").and_then(|v| v.as_str()).ok_or_else(|| {
            ApiError::invalid(format!("{field}.repoId is required and must be a string"))
        })?;
        if !d.repos.iter().any(|r| r.uuid == repo) {
            return Err(ApiError::invalid(format!(
                "{field}.repoId: no repository {repo:?} in region {}",
                region.code()
            )));
        }
        if grants.iter().any(|g| g.repo_id == repo) {
            return Err(ApiError::invalid(format!(
                "{field}.repoId: repository {repo:?} is listed twice"
            )));
        }
        let pols = rules::policy_ids(
            &format!("{field}.policyIdList"),
            obj.get("policyIdList").unwrap_or(&serde_json::Value::Null),
        )?;
        grants.push(Grant {
            repo_id: repo.to_string(),
            policy_ids: pols,
        });
    }
    Ok(grants)
}

const DAY: i64 = 86_400;

pub async fn create_user(State(ctx): State<RegionCtx>, b: Body) -> ApiResult {
    let name = b.req_str("name")?;
    rules::user_name(&name)?;
    let duration = rules::duration(b.opt_int("duration", "a whole number of days")?)?;
    let description = rules::description(b.opt_str("description")?)?;
    let now = ctx.app.now();
    let secret = store::new_secret();
    let (salt, hash) = store::hash_secret(&secret);
    ctx.app.store.write(|s| {
        let d = ctx.region.data_mut(s);
        if d.users.iter().any(|u| u.name == name) {
            return Err(ApiError::conflict(
                "USER_NAME_TAKEN",
                format!("a repository user named {name:?} already exists: names are unique in the account"),
            ));
        }
        let grants = permission_list(&b, d, ctx.region)?;
        d.users.push(User {
            uuid: format!("ra-{}", uuid::Uuid::new_v4()),
            name: name.clone(),
            description,
            disabled: false,
            expires_at: duration.map(|days| now + days as i64 * DAY),
            created_at: now,
            salt,
            secret_hash: hash,
            grants,
        });
        Ok(())
    })?;
    ok(StatusCode::OK, SecretDto { secret_key: secret })
}

pub async fn policies() -> ApiResult {
    let list: Vec<PolicyDto> = POLICIES.iter().map(|(id, _)| policy_dto(id)).collect();
    ok(StatusCode::OK, list)
}

/// Applies `f` to a user and answers with the user.
fn change_user(
    ctx: &RegionCtx,
    id: &str,
    f: impl FnOnce(&mut User, &RegionData) -> Result<(), ApiError>,
) -> ApiResult {
    let acct = ctx.app.config.account_id;
    let dto = ctx.app.store.write(|s| {
        let d = ctx.region.data_mut(s);
        let snapshot = d.clone();
        let u = user_mut(d, ctx.region, id)?;
        f(u, &snapshot)?;
        let u = d.users.iter().find(|u| u.uuid == id).expect("found above");
        Ok(user_dto(acct, d, u))
    })?;
    ok(StatusCode::OK, dto)
}

/// `PUT /v1/user/{id}`. **Assumed**: the call replaces both fields: a
/// duration counts from now, and an absent duration means "never expires".
pub async fn update_user(
    State(ctx): State<RegionCtx>,
    ApiPath(id): ApiPath<String>,
    b: Body,
) -> ApiResult {
    same_id(&b, "repoUserId", &id)?;
    let duration = rules::duration(b.opt_int("duration", "a whole number of days")?)?;
    let description = rules::description(b.opt_str("description")?)?;
    let now = ctx.app.now();
    change_user(&ctx, &id, |u, _| {
        u.expires_at = duration.map(|days| now + days as i64 * DAY);
        u.description = description;
        Ok(())
    })
}

pub async fn delete_user(State(ctx): State<RegionCtx>, ApiPath(id): ApiPath<String>) -> ApiResult {
    let acct = ctx.app.config.account_id;
    let dto = ctx.app.store.write(|s| {
        let d = ctx.region.data_mut(s);
        let u = d
            .users
            .iter()
            .find(|u| u.uuid == id)
            .ok_or_else(|| user_not_found(ctx.region, &id))?;
        let dto = user_dto(acct, d, u);
        d.users.retain(|u| u.uuid != id);
        Ok(dto)
    })?;
    ok(StatusCode::OK, dto)
}

pub async fn enable_user(State(ctx): State<RegionCtx>, ApiPath(id): ApiPath<String>) -> ApiResult {
    change_user(&ctx, &id, |u, _| {
        u.disabled = false;
        Ok(())
    })
}

pub async fn disable_user(State(ctx): State<RegionCtx>, ApiPath(id): ApiPath<String>) -> ApiResult {
    change_user(&ctx, &id, |u, _| {
        u.disabled = true;
        Ok(())
    })
}

pub async fn set_user_permissions(
    State(ctx): State<RegionCtx>,
    ApiPath(id): ApiPath<String>,
    b: Body,
) -> ApiResult {
    same_id(&b, "repoUserId", &id)?;
    let region = ctx.region;
    change_user(&ctx, &id, |u, d| {
        u.grants = permission_list(&b, d, region)?;
        Ok(())
    })
}

/// `GET /v1/user/{id}/refresh`: a new secret, answered as a bare JSON string.
pub async fn refresh_secret(
    State(ctx): State<RegionCtx>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult {
    let secret = store::new_secret();
    let (salt, hash) = store::hash_secret(&secret);
    ctx.app.store.write(|s| {
        let u = user_mut(ctx.region.data_mut(s), ctx.region, &id)?;
        u.salt = salt;
        u.secret_hash = hash;
        Ok(())
    })?;
    ok(StatusCode::OK, secret)
}
