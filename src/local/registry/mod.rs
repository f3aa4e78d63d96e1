//! The registry adapter: the OCI distribution API (Docker registry v2) of one
//! region, on its own listener (Docker needs `/v2/` at the root of a host),
//! over the domain core, with Docker token authentication. No body limit sits
//! in front of it: blobs stream to storage.

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{from_fn_with_state, map_request, map_response};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::Router;

pub mod auth;
mod blobs;
pub mod error;
mod manifests;
pub mod paths;
mod uploads;

use super::core::LocalRegion;
use super::faults::{self, Listener};
use super::state::AppState;
use error::OciError;
use paths::Route;

/// The state of a region's registry.
#[derive(Clone)]
pub struct RegistryCtx {
    pub app: AppState,
    pub region: LocalRegion,
}

type Answer = Result<Response, OciError>;

/// The registry of one region, with the same faults and counters as the API.
pub fn registry_app(state: AppState, region: LocalRegion) -> Router {
    let listener = Listener::Registry(region);
    Router::new()
        .route("/v2", get(base))
        .route("/v2/", get(base))
        .route("/v2/{*rest}", any(dispatch))
        .route(
            auth::TOKEN_PATH,
            get(auth::token)
                .post(auth::token_form)
                .layer(DefaultBodyLimit::max(auth::MAX_TOKEN_FORM)),
        )
        .fallback(not_found)
        .with_state(RegistryCtx {
            app: state.clone(),
            region,
        })
        .layer(map_response(api_version))
        .layer(from_fn_with_state(
            (state.clone(), listener),
            faults::inject_faults,
        ))
        .layer(from_fn_with_state(
            (state.clone(), listener),
            super::guard::check_host,
        ))
        .layer(from_fn_with_state(
            (state, listener),
            super::counters::count_requests,
        ))
        .layer(map_request(name_route))
}

/// Names the route of a `/v2/...` request by the shape of its path for the
/// request counters (axum only knows it matched the catch-all).
async fn name_route(mut req: Request) -> Request {
    let matched = req
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str);
    if matched == Some("/v2/{*rest}") {
        let named = req
            .uri()
            .path()
            .strip_prefix("/v2/")
            .and_then(paths::template)
            .unwrap_or(super::counters::NO_ROUTE);
        req.extensions_mut()
            .insert(super::counters::RouteTemplate(named));
    }
    req
}

async fn api_version(mut resp: Response) -> Response {
    resp.headers_mut().insert(
        "Docker-Distribution-API-Version",
        HeaderValue::from_static("registry/2.0"),
    );
    resp
}

/// `GET /v2/`: 200 for any valid token or credentials, else the challenge
/// that starts `docker login`.
async fn base(State(ctx): State<RegistryCtx>, req: Request) -> Response {
    match auth::caller(&ctx, req.headers(), None) {
        Ok(Some(_)) => (StatusCode::OK, axum::Json(serde_json::json!({}))).into_response(),
        Ok(None) => OciError::unauthorized("authentication required", auth::challenge(&ctx, None))
            .into_response(),
        Err(e) => e.into_response(),
    }
}

/// An unknown route: 404 with the spec's `UNSUPPORTED` code (the spec
/// defines no `NOT_FOUND`).
async fn not_found(req: Request) -> Response {
    OciError::new(
        StatusCode::NOT_FOUND,
        "UNSUPPORTED",
        format!(
            "no such endpoint: {} {}",
            req.method(),
            paths_excerpt(req.uri().path())
        ),
    )
    .into_response()
}

fn paths_excerpt(path: &str) -> String {
    super::core::rules::truncate(path, 200)
}

/// Routes a request under `/v2/<name>/...` by the shape of its path.
async fn dispatch(State(ctx): State<RegistryCtx>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    let rest = path.strip_prefix("/v2/").unwrap_or_default();
    let route = match paths::route(rest) {
        None if rest == "_catalog" => {
            return OciError::new(
                StatusCode::NOT_FOUND,
                "UNSUPPORTED",
                "the catalog is not offered",
            )
            .into_response()
        }
        None => return not_found(req).await,
        Some(Err(e)) => return e.into_response(),
        Some(Ok(route)) => route,
    };
    let method = req.method().clone();
    let answer = match (route, &method) {
        (Route::Tags(p), &Method::GET) => manifests::tags(&ctx, req, p).await,
        (Route::Manifest(p, r), &Method::GET | &Method::HEAD) => {
            manifests::get(&ctx, req, p, r).await
        }
        (Route::Manifest(p, r), &Method::PUT) => manifests::put(&ctx, req, p, r).await,
        (Route::Manifest(p, r), &Method::DELETE) => manifests::delete(&ctx, req, p, r).await,
        (Route::Referrers(p, d), &Method::GET) => manifests::referrers(&ctx, req, p, d).await,
        (Route::Blob(p, d), &Method::GET | &Method::HEAD) => blobs::get(&ctx, req, p, d).await,
        (Route::Blob(p, d), &Method::DELETE) => blobs::delete(&ctx, req, p, d).await,
        (Route::Uploads(p), &Method::POST) => uploads::start(&ctx, req, p).await,
        (Route::Upload(p, id), &Method::PATCH) => uploads::patch(&ctx, req, p, id).await,
        (Route::Upload(p, id), &Method::PUT) => uploads::put(&ctx, req, p, id).await,
        (Route::Upload(p, id), &Method::GET) => uploads::status(&ctx, req, p, id).await,
        (Route::Upload(p, id), &Method::DELETE) => uploads::cancel(&ctx, req, p, id).await,
        _ => Err(OciError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "UNSUPPORTED",
            format!("method {method} is not allowed on {}", paths_excerpt(&path)),
        )),
    };
    answer.unwrap_or_else(IntoResponse::into_response)
}

/// A response with headers and a body.
fn answer(status: StatusCode, headers: &[(header::HeaderName, String)], body: Body) -> Answer {
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    for (name, value) in headers {
        let value = HeaderValue::from_str(value).map_err(|_| {
            OciError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "UNKNOWN",
                "a header could not be written",
            )
        })?;
        resp.headers_mut().insert(name.clone(), value);
    }
    Ok(resp)
}

/// The query parameters of a request.
fn query(req: &Request) -> std::collections::HashMap<String, String> {
    axum::extract::Query::<std::collections::HashMap<String, String>>::try_from_uri(req.uri())
        .map(|q| q.0)
        .unwrap_or_default()
}

fn docker_digest() -> header::HeaderName {
    header::HeaderName::from_static("docker-content-digest")
}

#[cfg(test)]
mod tests {
    use tower::ServiceExt as _;

    use super::*;
    use crate::local::state::LocalConfig;

    /// The request counters key a `/v2/...` request by the route template the
    /// registry names (the counters do not parse registry paths themselves).
    #[tokio::test]
    async fn registry_requests_are_counted_by_the_route_the_registry_names() {
        let state = AppState::new(LocalConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            ..LocalConfig::default()
        })
        .unwrap();
        let app = registry_app(state.clone(), LocalRegion::Hcm);
        for path in [
            "/v2/100001-app/web/manifests/v1",
            "/v2/100001-app/web/tags/list",
            "/nowhere",
        ] {
            let req = axum::http::Request::get(path)
                .header(header::HOST, "127.0.0.1")
                .body(Body::empty())
                .unwrap();
            app.clone().oneshot(req).await.unwrap();
        }
        let counted = serde_json::to_value(state.counters.lock().to_dto()).unwrap();
        let paths: Vec<&str> = counted["requests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["path"].as_str().unwrap())
            .collect();
        for route in [
            "/v2/{name}/manifests/{reference}",
            "/v2/{name}/tags/list",
            super::super::counters::NO_ROUTE,
        ] {
            assert!(paths.contains(&route), "{route} in {paths:?}");
        }
        assert!(
            !paths.iter().any(|p| p.contains("100001-app")),
            "no name is kept: {paths:?}"
        );
    }
}
