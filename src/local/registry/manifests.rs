//! `/v2/<name>/manifests/<reference>` (by tag or digest),
//! `/v2/<name>/tags/list` (with `n` and `last` paging) and
//! `/v2/<name>/referrers/<digest>` (OCI 1.1, with the `artifactType` filter).

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderName, Method, StatusCode};

use super::error::OciError;
use super::paths::ImagePath;
use super::{answer, auth, docker_digest, query, Answer, RegistryCtx};
use crate::local::core::manifests::{MAX_MANIFEST_BYTES, OCI_INDEX};
use crate::local::core::model::Action;
use crate::local::core::RegistryErrorKind;

pub async fn get(ctx: &RegistryCtx, req: Request, path: ImagePath, reference: String) -> Answer {
    let (_, repo) = auth::access(ctx, req.headers(), &path, Action::Pull)?;
    let (meta, body) = if req.method() == Method::HEAD {
        (
            ctx.app.core.manifest(&repo, &path.image, &reference)?,
            Body::empty(),
        )
    } else {
        let (meta, bytes) = ctx
            .app
            .core
            .pull_manifest(&repo, &path.image, &reference)
            .await?;
        (meta, Body::from(bytes))
    };
    let headers = [
        (header::CONTENT_TYPE, meta.media_type),
        (header::CONTENT_LENGTH, meta.size.to_string()),
        (docker_digest(), meta.digest.clone()),
        (header::ETAG, format!("\"{}\"", meta.digest)),
    ];
    answer(StatusCode::OK, &headers, body)
}

pub async fn put(ctx: &RegistryCtx, req: Request, path: ImagePath, reference: String) -> Answer {
    let (_, repo) = auth::access(ctx, req.headers(), &path, Action::Push)?;
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let bytes = axum::body::to_bytes(req.into_body(), MAX_MANIFEST_BYTES as usize)
        .await
        .map_err(|_| {
            OciError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                RegistryErrorKind::SizeInvalid.code(),
                format!("a manifest may be at most {MAX_MANIFEST_BYTES} bytes"),
            )
        })?;
    let pushed = ctx
        .app
        .core
        .put_manifest(
            &repo,
            &path.image,
            &reference,
            content_type.as_deref(),
            bytes,
        )
        .await?;
    let mut headers = vec![
        (
            header::LOCATION,
            format!("/v2/{}/manifests/{}", path.full, pushed.digest),
        ),
        (docker_digest(), pushed.digest),
        (header::CONTENT_LENGTH, "0".into()),
    ];
    if let Some(subject) = pushed.subject {
        headers.push((HeaderName::from_static("oci-subject"), subject));
    }
    answer(StatusCode::CREATED, &headers, Body::empty())
}

pub async fn delete(ctx: &RegistryCtx, req: Request, path: ImagePath, reference: String) -> Answer {
    let (_, repo) = auth::access(ctx, req.headers(), &path, Action::Delete)?;
    ctx.app
        .core
        .delete_manifest(&repo, &path.image, &reference)?;
    answer(
        StatusCode::ACCEPTED,
        &[(header::CONTENT_LENGTH, "0".into())],
        Body::empty(),
    )
}

pub async fn tags(ctx: &RegistryCtx, req: Request, path: ImagePath) -> Answer {
    let (_, repo) = auth::access(ctx, req.headers(), &path, Action::Pull)?;
    let q = query(&req);
    let n = match q.get("n") {
        None => None,
        Some(n) => Some(n.parse::<u64>().map_err(|_| {
            OciError::new(
                StatusCode::BAD_REQUEST,
                "PAGINATION_NUMBER_INVALID",
                "n must be a whole number",
            )
        })?),
    };
    let last = q.get("last").map(String::as_str);
    let (tags, more) = ctx.app.core.tags(&repo, &path.image, n, last)?;
    let mut headers = vec![(header::CONTENT_TYPE, "application/json".to_string())];
    if let (true, Some(n), Some(last_tag)) = (more, n, tags.last()) {
        headers.push((
            header::LINK,
            format!(
                "</v2/{}/tags/list?n={n}&last={last_tag}>; rel=\"next\"",
                path.full
            ),
        ));
    }
    let body = serde_json::json!({"name": path.full, "tags": tags});
    answer(StatusCode::OK, &headers, Body::from(body.to_string()))
}

/// `GET /v2/<name>/referrers/<digest>`: an image index of the manifests whose
/// subject is the digest (empty when none), filtered by `artifactType`.
pub async fn referrers(
    ctx: &RegistryCtx,
    req: Request,
    path: ImagePath,
    subject: String,
) -> Answer {
    let (_, repo) = auth::access(ctx, req.headers(), &path, Action::Pull)?;
    let q = query(&req);
    let artifact_type = q.get("artifactType").filter(|t| !t.is_empty());
    let found = ctx.app.core.referrers(
        &repo,
        &path.image,
        &subject,
        artifact_type.map(String::as_str),
    )?;
    let manifests: Vec<serde_json::Value> = found
        .into_iter()
        .map(|r| {
            let mut d = serde_json::json!({
                "mediaType": r.media_type,
                "digest": r.digest,
                "size": r.size,
            });
            if let Some(t) = r.artifact_type {
                d["artifactType"] = t.into();
            }
            if let Some(a) = r.annotations.and_then(|a| serde_json::from_str(&a).ok()) {
                d["annotations"] = a;
            }
            d
        })
        .collect();
    let body = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": manifests,
    });
    let mut headers = vec![(header::CONTENT_TYPE, OCI_INDEX.to_string())];
    if artifact_type.is_some() {
        headers.push((
            HeaderName::from_static("oci-filters-applied"),
            "artifactType".to_string(),
        ));
    }
    answer(StatusCode::OK, &headers, Body::from(body.to_string()))
}
