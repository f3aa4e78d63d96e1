//! Docker token authentication, as Harbor (and so, very likely, vCR) does it:
//! a 401 challenge naming the token realm on this host; a token endpoint that
//! takes Basic `backendName:secret` (or nothing, for anonymous pulls) and
//! `scope` parameters and answers a short-lived signed token granting only
//! what the principal may do; and, on every request, the token checked
//! against the users and grants as they are now.

use std::collections::HashMap;

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::error::OciError;
use super::paths::ImagePath;
use super::RegistryCtx;
use crate::local::core::model::{Action, Principal, RepoRef, UserRef};
use crate::local::core::DomainError;
use crate::local::http::{basic_credentials, fmt_time};
use crate::local::jwt::{self, Expiring};

/// The `service` of the challenge (Harbor's name for its registry).
pub const SERVICE: &str = "harbor-registry";
/// The token endpoint's path on the registry's host.
pub const TOKEN_PATH: &str = "/service/token";
/// How long a registry token lives, in seconds (clients fetch new ones).
pub const TOKEN_TTL: i64 = 300;
/// The largest form `POST /service/token` accepts.
pub const MAX_TOKEN_FORM: usize = 64 * 1024;

/// What a registry token says.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RegistryClaims {
    pub iss: String,
    pub aud: String,
    /// The user's id; empty for anonymous.
    pub sub: String,
    /// The user's docker login name; empty for anonymous.
    pub name: String,
    /// `HCM` or `HAN`: a token works on its own region's registry only.
    pub region: String,
    pub access: Vec<AccessEntry>,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

impl Expiring for RegistryClaims {
    fn exp(&self) -> i64 {
        self.exp
    }
}

/// Actions granted on one name, as in the distribution token spec.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessEntry {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub actions: Vec<String>,
}

/// A parsed `scope`: `repository:<name>:<action>[,<action>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub name: String,
    pub actions: Vec<Action>,
}

/// Reads the repository scopes of a request; others (`registry:catalog:*`)
/// are ignored, as they grant nothing here.
pub fn parse_scopes<'a>(values: impl Iterator<Item = &'a str>) -> Vec<Scope> {
    let mut out = Vec::new();
    for value in values.flat_map(|v| v.split(' ')) {
        let Some((kind_and_name, actions)) = value.rsplit_once(':') else {
            continue;
        };
        let Some((kind, name)) = kind_and_name.split_once(':') else {
            continue;
        };
        if kind != "repository" && !kind.starts_with("repository(") {
            continue;
        }
        let actions = actions
            .split(',')
            .flat_map(|a| match a {
                "*" => Action::ALL.to_vec(),
                a => Action::parse(a).into_iter().collect(),
            })
            .collect();
        out.push(Scope {
            name: name.to_string(),
            actions,
        });
    }
    out
}

/// `Bearer realm=...,service=...[,scope=...]`.
pub fn challenge(ctx: &RegistryCtx, scope: Option<&str>) -> String {
    let realm = format!("http://{}{TOKEN_PATH}", ctx.app.registry_host(ctx.region));
    match scope {
        Some(s) => format!("Bearer realm=\"{realm}\",service=\"{SERVICE}\",scope=\"{s}\""),
        None => format!("Bearer realm=\"{realm}\",service=\"{SERVICE}\""),
    }
}

/// The challenge for a token that lacks what the request needs: as
/// distribution answers it, `error="insufficient_scope"` and the scope to ask
/// for, so that clients fetch a new token with it.
pub fn insufficient_scope(ctx: &RegistryCtx, scope: &str) -> String {
    format!(
        "{},error=\"insufficient_scope\"",
        challenge(ctx, Some(scope))
    )
}

/// The scope a request needs, for a challenge.
fn scope_for(name: &str, action: Action) -> String {
    let words = match action {
        Action::Pull => "pull",
        Action::Push => "pull,push",
        Action::Delete => "delete",
    };
    format!("repository:{name}:{words}")
}

/// The refusal of credentials, the same whatever was wrong (the reason goes
/// to the log only).
fn bad_credentials(ctx: &RegistryCtx, e: &DomainError) -> OciError {
    tracing::info!(region = ctx.region.code(), reason = %e, "registry login refused");
    OciError::unauthorized("authentication required: the user name or secret is wrong, or the user is disabled or expired", challenge(ctx, None))
}

fn basic_principal(ctx: &RegistryCtx, headers: &HeaderMap) -> Result<Principal, OciError> {
    let creds = basic_credentials(headers);
    ctx.app
        .core
        .authenticate(
            ctx.region,
            creds.as_ref().map(|(u, s)| (u.as_str(), s.as_str())),
        )
        .map_err(|e| bad_credentials(ctx, &e))
}

/// Signs a token for the principal granting, of each scope, what it may do.
fn issue(ctx: &RegistryCtx, principal: &Principal, scopes: &[Scope]) -> Result<Response, OciError> {
    let mut access = Vec::new();
    for scope in scopes {
        let Ok(path) = ImagePath::parse(&scope.name) else {
            continue;
        };
        let rights = match ctx.app.core.rights(principal, ctx.region, &path.backend) {
            Ok(Some((_, rights))) => rights,
            Ok(None) => continue,
            Err(DomainError::Unauthenticated(why)) => {
                return Err(bad_credentials(ctx, &DomainError::Unauthenticated(why)))
            }
            Err(e) => return Err(e.into()),
        };
        let mut granted: Vec<Action> = scope
            .actions
            .iter()
            .copied()
            .filter(|a| rights.allows(*a))
            .collect();
        granted.sort();
        granted.dedup();
        if !granted.is_empty() {
            access.push(AccessEntry {
                kind: "repository".into(),
                name: scope.name.clone(),
                actions: granted.iter().map(|a| a.word().to_string()).collect(),
            });
        }
    }
    let now = ctx.app.now();
    let claims = RegistryClaims {
        iss: "vcr-local".into(),
        aud: SERVICE.into(),
        sub: principal.subject().to_string(),
        name: match principal {
            Principal::User(u) => u.backend_name.clone(),
            Principal::Anonymous => String::new(),
        },
        region: ctx.region.code().into(),
        access,
        iat: now,
        exp: now + TOKEN_TTL,
        jti: uuid::Uuid::new_v4().to_string(),
    };
    let token = jwt::sign(&ctx.app.registry_key, &claims);
    Ok(Json(serde_json::json!({
        "token": token,
        "access_token": token,
        "expires_in": TOKEN_TTL,
        "issued_at": fmt_time(now),
    }))
    .into_response())
}

/// `GET /service/token?service=&scope=...`: `docker login` asks with no scope
/// (200 for good credentials, 401 otherwise); pulls and pushes ask with the
/// scopes they need.
pub async fn token(
    State(ctx): State<RegistryCtx>,
    Query(q): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    let principal = match basic_principal(&ctx, &headers) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let scopes = parse_scopes(
        q.iter()
            .filter(|(k, _)| k == "scope")
            .map(|(_, v)| v.as_str()),
    );
    issue(&ctx, &principal, &scopes).unwrap_or_else(IntoResponse::into_response)
}

/// `POST /service/token` (the OAuth2 form some clients use):
/// `grant_type=password&username=&password=&scope=`.
pub async fn token_form(
    State(ctx): State<RegistryCtx>,
    headers: HeaderMap,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let fields = match form {
        Ok(Form(f)) => f,
        Err(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            let why = format!("the form is too large: at most {MAX_TOKEN_FORM} bytes");
            return OciError::new(StatusCode::PAYLOAD_TOO_LARGE, "SIZE_INVALID", why)
                .into_response();
        }
        Err(r) => {
            let why = format!("the body is not a form: {}", r.body_text());
            return OciError::new(StatusCode::BAD_REQUEST, "UNSUPPORTED", why).into_response();
        }
    };
    let principal = match fields.get("grant_type").map(String::as_str) {
        Some("password") => {
            let creds = fields.get("username").zip(fields.get("password"));
            ctx.app
                .core
                .authenticate(ctx.region, creds.map(|(u, p)| (u.as_str(), p.as_str())))
                .map_err(|e| bad_credentials(&ctx, &e))
        }
        None => basic_principal(&ctx, &headers),
        Some(_) => Err(OciError::new(
            StatusCode::BAD_REQUEST,
            "UNSUPPORTED",
            "grant_type must be password (refresh tokens are not issued)",
        )),
    };
    let scopes = parse_scopes(fields.get("scope").map(String::as_str).into_iter());
    principal
        .and_then(|p| issue(&ctx, &p, &scopes))
        .unwrap_or_else(IntoResponse::into_response)
}

/// Who sent a request: the principal of its bearer token (with what the
/// token grants), or of Basic credentials sent directly; `None` without any.
pub enum Caller {
    Token(Principal, Vec<AccessEntry>),
    Basic(Principal),
}

impl Caller {
    fn principal(&self) -> &Principal {
        match self {
            Caller::Token(p, _) | Caller::Basic(p) => p,
        }
    }

    /// Whether the token (if it is one) grants the action on the name.
    fn token_allows(&self, name: &str, action: Action) -> bool {
        match self {
            Caller::Basic(_) => true,
            Caller::Token(_, access) => access.iter().any(|a| {
                a.name == name && a.actions.iter().any(|w| w == action.word() || w == "*")
            }),
        }
    }
}

/// Reads the caller of a request; a bad token is a 401 with a challenge.
pub fn caller(
    ctx: &RegistryCtx,
    headers: &HeaderMap,
    scope: Option<&str>,
) -> Result<Option<Caller>, OciError> {
    let Some(value) = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(None);
    };
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if scheme.eq_ignore_ascii_case("basic") {
        return basic_principal(ctx, headers).map(|p| Some(Caller::Basic(p)));
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(OciError::unauthorized(
            "use a Bearer token from the token endpoint",
            challenge(ctx, scope),
        ));
    }
    let claims: RegistryClaims = jwt::verify(&ctx.app.registry_key, rest.trim(), ctx.app.now())
        .map_err(|r| {
            OciError::unauthorized(
                r.message().replace("access token", "registry token"),
                challenge(ctx, scope),
            )
        })?;
    if claims.region != ctx.region.code() || claims.aud != SERVICE {
        return Err(OciError::unauthorized(
            "the token was issued by another registry",
            challenge(ctx, scope),
        ));
    }
    let principal = if claims.sub.is_empty() {
        Principal::Anonymous
    } else {
        Principal::User(UserRef {
            uuid: claims.sub,
            backend_name: claims.name,
            region: ctx.region,
        })
    };
    Ok(Some(Caller::Token(principal, claims.access)))
}

/// Checks that the request may do `action` on `path`: the token must grant
/// it and the principal must still be allowed it now. A refusal is a 401
/// with a challenge when asking again could help (no token, a token without
/// that scope, an anonymous caller), else 403 `DENIED`.
pub fn access(
    ctx: &RegistryCtx,
    headers: &HeaderMap,
    path: &ImagePath,
    action: Action,
) -> Result<(Principal, RepoRef), OciError> {
    let scope = scope_for(&path.full, action);
    let Some(caller) = caller(ctx, headers, Some(&scope))? else {
        return Err(OciError::unauthorized(
            "authentication required",
            challenge(ctx, Some(&scope)),
        ));
    };
    let principal = caller.principal().clone();
    let retry = |message: String| {
        let challenge = match caller {
            Caller::Token(..) => insufficient_scope(ctx, &scope),
            Caller::Basic(_) => challenge(ctx, Some(&scope)),
        };
        OciError::unauthorized(message, challenge)
    };
    let rights = match ctx.app.core.rights(&principal, ctx.region, &path.backend) {
        Ok(r) => r,
        Err(e @ DomainError::Unauthenticated(_)) => return Err(bad_credentials(ctx, &e)),
        Err(e) => return Err(e.into()),
    };
    match rights {
        Some((repo, rights)) if rights.allows(action) => {
            if caller.token_allows(&path.full, action) {
                Ok((principal, repo))
            } else {
                Err(retry(format!(
                    "the token does not grant {} on {}: ask the token endpoint for scope {scope}",
                    action.word(),
                    path.full
                )))
            }
        }
        _ if principal == Principal::Anonymous => Err(retry(format!(
            "authentication required: log in (docker login) as a repository user that may {} {}",
            action.word(),
            path.full
        ))),
        _ => Err(OciError::denied(&path.full, action.word())),
    }
}

/// Whether the principal may pull from another repository (the source of a
/// cross-repository mount), by its grants as they are now.
pub fn may_pull(ctx: &RegistryCtx, principal: &Principal, path: &ImagePath) -> Option<RepoRef> {
    ctx.app
        .core
        .authorize(principal, ctx.region, &path.backend, Action::Pull)
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes() {
        let s = parse_scopes(
            [
                "repository:1-app/web:pull,push",
                "registry:catalog:*",
                "repository:1-app/a:* repository(plugin):1-app/b:pull",
                "junk",
            ]
            .into_iter(),
        );
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].actions, vec![Action::Pull, Action::Push]);
        assert_eq!(s[1].actions, Action::ALL.to_vec());
        assert_eq!(s[2].name, "1-app/b");
    }
}
