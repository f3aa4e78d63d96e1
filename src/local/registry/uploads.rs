//! `/v2/<name>/blobs/uploads/`: monolithic (`POST ?digest=`), `POST` then
//! `PUT`, chunked `PATCH`, cross-repository mounts, status and cancel. Bodies
//! stream into the upload; nothing holds a whole layer in memory.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderName, StatusCode};

use super::error::OciError;
use super::paths::ImagePath;
use super::{answer, auth, docker_digest, query, Answer, RegistryCtx};
use crate::local::core::model::{Action, RepoRef};
use crate::local::core::uploads::Lease;
use crate::local::core::{rules, RegistryErrorKind};

fn upload_headers(path: &ImagePath, id: &str, size: u64) -> Vec<(HeaderName, String)> {
    vec![
        (
            header::LOCATION,
            format!("/v2/{}/blobs/uploads/{id}", path.full),
        ),
        (
            HeaderName::from_static("docker-upload-uuid"),
            id.to_string(),
        ),
        (header::RANGE, format!("0-{}", size.saturating_sub(1))),
        (header::CONTENT_LENGTH, "0".into()),
    ]
}

fn created(path: &ImagePath, digest: &str) -> Answer {
    let headers = [
        (
            header::LOCATION,
            format!("/v2/{}/blobs/{digest}", path.full),
        ),
        (docker_digest(), digest.to_string()),
        (header::CONTENT_LENGTH, "0".into()),
    ];
    answer(StatusCode::CREATED, &headers, Body::empty())
}

/// `POST`: a mount, a whole blob, or a new upload session.
pub async fn start(ctx: &RegistryCtx, req: Request, path: ImagePath) -> Answer {
    let (principal, repo) = auth::access(ctx, req.headers(), &path, Action::Push)?;
    let q = query(&req);
    if let (Some(digest), Some(from)) = (q.get("mount"), q.get("from")) {
        rules::digest(digest)?;
        if let Ok(source_path) = ImagePath::parse(from) {
            if let Some(source) = auth::may_pull(ctx, &principal, &source_path) {
                if ctx.app.core.mount_blob(&repo, &source, digest)? {
                    return created(&path, digest);
                }
            }
        }
        // Not mountable (or not allowed): the client uploads it instead.
    }
    // Checked before the upload is registered: a refused request must leave
    // no session behind (its id never reaches the client).
    if let Some(digest) = q.get("digest") {
        rules::digest(digest)?;
    }
    let id = ctx.app.core.start_upload(ctx.region, &repo).await?;
    if let Some(digest) = q.get("digest") {
        let mut lease = ctx.app.core.lease_upload(&id, ctx.region, &repo)?;
        let body = req.into_body().into_data_stream();
        ctx.app.core.append(&mut lease, &repo, body).await?;
        ctx.app.core.finish_upload(lease, &repo, digest).await?;
        return created(&path, digest);
    }
    answer(
        StatusCode::ACCEPTED,
        &upload_headers(&path, &id, 0),
        Body::empty(),
    )
}

/// Checks a `Content-Range: <start>-<end>` against the bytes received so far.
fn check_range(req: &Request, lease: &mut Lease<'_>) -> Result<(), OciError> {
    let Some(range) = req
        .headers()
        .get(header::CONTENT_RANGE)
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(());
    };
    let start = range
        .trim()
        .trim_start_matches("bytes ")
        .split('-')
        .next()
        .and_then(|s| s.trim().parse::<u64>().ok());
    let have = lease.session().size;
    if start != Some(have) {
        return Err(OciError::of_kind(
            RegistryErrorKind::RangeInvalid,
            format!(
                "Content-Range {:?} does not continue the upload, which holds {have} bytes",
                rules::truncate(range, 60)
            ),
        ));
    }
    Ok(())
}

fn leased<'a>(ctx: &'a RegistryCtx, id: &str, repo: &RepoRef) -> Result<Lease<'a>, OciError> {
    Ok(ctx.app.core.lease_upload(id, ctx.region, repo)?)
}

/// `PATCH`: a chunk.
pub async fn patch(ctx: &RegistryCtx, req: Request, path: ImagePath, id: String) -> Answer {
    let (_, repo) = auth::access(ctx, req.headers(), &path, Action::Push)?;
    let mut lease = leased(ctx, &id, &repo)?;
    if let Err(e) = check_range(&req, &mut lease) {
        lease.give_back();
        return Err(e);
    }
    let size = ctx
        .app
        .core
        .append(&mut lease, &repo, req.into_body().into_data_stream())
        .await?;
    lease.give_back();
    answer(
        StatusCode::ACCEPTED,
        &upload_headers(&path, &id, size),
        Body::empty(),
    )
}

/// `PUT ?digest=`: the last chunk (if any), and the blob is checked and stored.
pub async fn put(ctx: &RegistryCtx, req: Request, path: ImagePath, id: String) -> Answer {
    let (_, repo) = auth::access(ctx, req.headers(), &path, Action::Push)?;
    let q = query(&req);
    let digest = q.get("digest").ok_or_else(|| {
        OciError::of_kind(
            RegistryErrorKind::DigestInvalid,
            "the digest query parameter is required to finish an upload",
        )
    })?;
    rules::digest(digest)?;
    let mut lease = leased(ctx, &id, &repo)?;
    ctx.app
        .core
        .append(&mut lease, &repo, req.into_body().into_data_stream())
        .await?;
    ctx.app.core.finish_upload(lease, &repo, digest).await?;
    created(&path, digest)
}

/// `GET`: how much an upload holds.
pub async fn status(ctx: &RegistryCtx, req: Request, path: ImagePath, id: String) -> Answer {
    let (_, repo) = auth::access(ctx, req.headers(), &path, Action::Push)?;
    let size = ctx.app.core.upload_size(&id, ctx.region, &repo)?;
    answer(
        StatusCode::NO_CONTENT,
        &upload_headers(&path, &id, size),
        Body::empty(),
    )
}

/// `DELETE`: cancels an upload.
pub async fn cancel(ctx: &RegistryCtx, req: Request, path: ImagePath, id: String) -> Answer {
    let (_, repo) = auth::access(ctx, req.headers(), &path, Action::Push)?;
    let lease = leased(ctx, &id, &repo)?;
    ctx.app.core.cancel_upload(lease);
    answer(
        StatusCode::NO_CONTENT,
        &[(header::CONTENT_LENGTH, "0".into())],
        Body::empty(),
    )
}
