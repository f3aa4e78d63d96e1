//! `/_local/`: what tests and benchmarks need that the real API lacks.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::api::{fmt_time, repo_dto};
use super::error::{ApiError, ApiPath, Body};
use super::faults::FaultRule;
use super::store::{self, ImageRec, RegionData, Repo};
use super::{AppState, LocalRegion};

type ApiResult = Result<Response, ApiError>;

fn region(code: &str) -> Result<LocalRegion, ApiError> {
    LocalRegion::parse(code)
        .ok_or_else(|| ApiError::not_found(format!("unknown region {code:?}: use hcm or han")))
}

/// A repository by id or by name.
fn find_repo<'a>(
    d: &'a mut RegionData,
    r: LocalRegion,
    key: &str,
) -> Result<&'a mut Repo, ApiError> {
    d.repos
        .iter_mut()
        .find(|x| x.uuid == key || x.name == key)
        .ok_or_else(|| ApiError::not_found(format!("no repository {key:?} in region {}", r.code())))
}

/// `GET /_local/health`.
pub async fn health(State(app): State<AppState>) -> Response {
    Json(json!({
        "ok": true,
        "accountId": app.config.account_id,
        "dataFile": app.store.file().map(|p| p.display().to_string()),
    }))
    .into_response()
}

/// `POST /_local/reset`: forgets every repository and user of both regions,
/// every fault, the counters and the clock offset.
pub async fn reset(State(app): State<AppState>) -> ApiResult {
    app.store.write(|s| {
        s.hcm = RegionData::default();
        s.han = RegionData::default();
        Ok(())
    })?;
    app.faults.lock().rules.clear();
    *app.counters.lock() = Default::default();
    app.clock_offset
        .store(0, std::sync::atomic::Ordering::SeqCst);
    Ok(Json(json!({ "ok": true })).into_response())
}

/// `POST /_local/{region}/repositories/{repo}/images`
/// `{"name": str, "tag": str?, "sizeMb": int?}`: pushes a fake image (or a
/// new tag of it), within the repository's quota.
pub async fn add_image(
    State(app): State<AppState>,
    ApiPath((reg, repo)): ApiPath<(String, String)>,
    b: Body,
) -> ApiResult {
    let r = region(&reg)?;
    let name = b.req_str("name")?;
    if name.is_empty()
        || name.len() > 128
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-/".contains(c))
    {
        return Err(ApiError::invalid(
            "name must be 1 to 128 characters of a-z, 0-9, '.', '_', '-' and '/'",
        ));
    }
    let tag = b.opt_str("tag")?.unwrap_or_else(|| "latest".to_string());
    let size = match b.opt_int("sizeMb", "a whole number of MB from 0 to 1048576")? {
        None => 100,
        Some(s) if (0..=1_048_576).contains(&s) => s as u64,
        Some(s) => {
            return Err(ApiError::invalid(format!(
                "sizeMb {s}: must be from 0 to 1048576"
            )))
        }
    };
    let now = app.now();
    let acct = app.config.account_id;
    let dto = app.store.write(|s| {
        let d = r.data_mut(s);
        let repo = find_repo(d, r, &repo)?;
        let limit_mb = repo.quota_limit_gb as u128 * 1024;
        if repo.used_mb() as u128 + size as u128 > limit_mb {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "QUOTA_EXCEEDED",
                format!(
                    "pushing {size} MB would exceed the quota of repository {:?} ({} GB)",
                    repo.name, repo.quota_limit_gb
                ),
            ));
        }
        match repo.images.iter_mut().find(|i| i.name == name) {
            Some(i) => {
                if !i.tags.contains(&tag) {
                    i.tags.push(tag.clone());
                }
                i.size_mb += size;
                i.pushed_at = now;
            }
            None => repo.images.push(ImageRec {
                name: name.clone(),
                tags: vec![tag.clone()],
                size_mb: size,
                pushed_at: now,
            }),
        }
        repo.log(
            now,
            "PUSH_IMAGE",
            format!("image {name}:{tag} pushed ({size} MB)"),
        );
        let id = repo.uuid.clone();
        let repo = d.repos.iter().find(|x| x.uuid == id).expect("found above");
        Ok(repo_dto(acct, r, d, repo))
    })?;
    Ok((StatusCode::CREATED, Json(dto)).into_response())
}

/// `DELETE /_local/{region}/repositories/{repo}/images/{name}`.
pub async fn remove_image(
    State(app): State<AppState>,
    ApiPath((reg, repo, name)): ApiPath<(String, String, String)>,
) -> ApiResult {
    let r = region(&reg)?;
    let now = app.now();
    let acct = app.config.account_id;
    let dto = app.store.write(|s| {
        let d = r.data_mut(s);
        let repo = find_repo(d, r, &repo)?;
        let before = repo.images.len();
        repo.images.retain(|i| i.name != name);
        if repo.images.len() == before {
            return Err(ApiError::not_found(format!(
                "no image {name:?} in repository {:?}",
                repo.name
            )));
        }
        repo.log(now, "DELETE_IMAGE", format!("image {name} deleted"));
        let id = repo.uuid.clone();
        let repo = d.repos.iter().find(|x| x.uuid == id).expect("found above");
        Ok(repo_dto(acct, r, d, repo))
    })?;
    Ok(Json(dto).into_response())
}

/// `POST /_local/{region}/check-login {"username","password"}`: what
/// `docker login` would say. 200 when the user (by backend name) exists, is
/// enabled, has not expired and the secret matches; 401 otherwise.
pub async fn check_login(
    State(app): State<AppState>,
    ApiPath(reg): ApiPath<String>,
    b: Body,
) -> ApiResult {
    let r = region(&reg)?;
    let username = b.req_str("username")?;
    let password = b.req_str("password")?;
    let now = app.now();
    let acct = app.config.account_id;
    let verdict = app.store.read(|s| {
        let d = r.data(s);
        let Some(u) = d
            .users
            .iter()
            .find(|u| format!("{acct}-{}", u.name) == username)
        else {
            return Err("no such user");
        };
        if !store::secret_matches(&u.salt, &u.secret_hash, &password) {
            return Err("wrong secret");
        }
        if u.disabled {
            return Err("the user is disabled");
        }
        if u.expired(now) {
            return Err("the user has expired");
        }
        Ok(u.uuid.clone())
    });
    match verdict {
        Ok(id) => Ok(Json(json!({ "ok": true, "uuid": id, "username": username })).into_response()),
        Err(why) => Err(ApiError::unauthorized(format!("login refused: {why}"))),
    }
}

/// `POST /_local/faults`: adds a fault rule (see [`FaultRule::from_body`]).
pub async fn add_fault(State(app): State<AppState>, b: Body) -> ApiResult {
    let rule = FaultRule::from_body(&b)?;
    app.faults.lock().rules.push(rule.clone());
    Ok((StatusCode::CREATED, Json(rule)).into_response())
}

/// `GET /_local/faults`.
pub async fn list_faults(State(app): State<AppState>) -> Response {
    Json(app.faults.lock().rules.clone()).into_response()
}

/// `DELETE /_local/faults`.
pub async fn clear_faults(State(app): State<AppState>) -> Response {
    app.faults.lock().rules.clear();
    Json(json!({ "ok": true })).into_response()
}

/// `DELETE /_local/faults/{id}`.
pub async fn remove_fault(State(app): State<AppState>, ApiPath(id): ApiPath<String>) -> ApiResult {
    let mut f = app.faults.lock();
    let before = f.rules.len();
    f.rules.retain(|r| r.id != id);
    if f.rules.len() == before {
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
        "offsetSeconds": app.clock_offset.load(std::sync::atomic::Ordering::SeqCst),
    }))
    .into_response()
}

/// `POST /_local/clock {"advanceSeconds": n}` or `{"offsetSeconds": n}`:
/// moves vcr-local's clock (expiry of users and tokens) without waiting.
pub async fn set_clock(State(app): State<AppState>, b: Body) -> ApiResult {
    use std::sync::atomic::Ordering::SeqCst;
    let max = 100 * 365 * 86_400_i64;
    let check = |v: i64| {
        if v.abs() > max {
            Err(ApiError::invalid("the clock can move at most 100 years"))
        } else {
            Ok(v)
        }
    };
    if let Some(adv) = b.opt_int("advanceSeconds", "a whole number of seconds")? {
        let next = check(app.clock_offset.load(SeqCst).saturating_add(check(adv)?))?;
        app.clock_offset.store(next, SeqCst);
    } else if let Some(off) = b.opt_int("offsetSeconds", "a whole number of seconds")? {
        app.clock_offset.store(check(off)?, SeqCst);
    } else {
        return Err(ApiError::invalid("give advanceSeconds or offsetSeconds"));
    }
    Ok(clock(State(app)).await)
}
