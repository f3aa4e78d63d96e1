//! `/v2/<name>/blobs/<digest>`: HEAD, GET (streamed) and DELETE of a blob the
//! repository holds.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, Method, StatusCode};

use super::paths::ImagePath;
use super::{answer, auth, docker_digest, Answer, RegistryCtx};
use crate::local::core::model::Action;
use crate::local::core::rules;

pub async fn get(ctx: &RegistryCtx, req: Request, path: ImagePath, digest: String) -> Answer {
    let (_, repo) = auth::access(ctx, req.headers(), &path, Action::Pull)?;
    rules::digest(&digest)?;
    let reader = ctx.app.core.open_blob(&repo, &digest).await?;
    let headers = [
        (header::CONTENT_LENGTH, reader.len.to_string()),
        (header::CONTENT_TYPE, "application/octet-stream".to_string()),
        (docker_digest(), digest),
    ];
    let body = if req.method() == Method::HEAD {
        Body::empty()
    } else {
        Body::from_stream(reader.body)
    };
    answer(StatusCode::OK, &headers, body)
}

pub async fn delete(ctx: &RegistryCtx, req: Request, path: ImagePath, digest: String) -> Answer {
    let (_, repo) = auth::access(ctx, req.headers(), &path, Action::Delete)?;
    rules::digest(&digest)?;
    ctx.app.core.delete_blob(&repo, &digest)?;
    answer(
        StatusCode::ACCEPTED,
        &[(header::CONTENT_LENGTH, "0".into())],
        Body::empty(),
    )
}
