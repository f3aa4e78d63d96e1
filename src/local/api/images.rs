//! `/v1/repository/{id}/images...`: the images and artifacts really pushed to
//! the region's registry.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;

use super::wire::{ArtifactDto, ImageDto};
use super::{fmt_time_ms, ok, page_of, ApiError, ApiPath, ApiQuery, ApiResult, Query, RegionCtx};
use crate::local::core::model::ImageSummary;
use crate::local::core::rules;

fn image_dto(i: ImageSummary) -> ImageDto {
    ImageDto {
        name: i.name,
        artifact_count: i.artifact_count,
        pull_count: i.pull_count,
        update_time: fmt_time_ms(i.updated_at),
    }
}

/// A required, non-empty query parameter.
fn required<'a>(q: &'a HashMap<String, String>, name: &str) -> Result<&'a str, ApiError> {
    q.get(name)
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::invalid(format!("the query parameter {name} is required")))
}

/// `GET .../images?name=`: without `name` the real service answers 500, and
/// so does this one, so that a client that leaves it out fails here too.
pub async fn list(
    State(ctx): State<RegionCtx>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): Query,
) -> ApiResult {
    let Some(name) = q.get("name") else {
        return Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_SERVER_ERROR",
            "the query parameter name is missing (the real vCR answers 500 without it: send name=, empty if need be)",
        ));
    };
    let (page, size) = rules::paging(&q)?;
    let filter = Some(name.trim()).filter(|n| !n.is_empty());
    let images = ctx.app.core.list_images(ctx.region, &id, filter)?;
    ok(
        StatusCode::OK,
        page_of(images.into_iter().map(image_dto).collect(), page, size),
    )
}

/// `GET .../images/detail?imageName=`.
pub async fn detail(
    State(ctx): State<RegionCtx>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): Query,
) -> ApiResult {
    let image = required(&q, "imageName")?;
    ok(
        StatusCode::OK,
        image_dto(ctx.app.core.image(ctx.region, &id, image)?),
    )
}

/// `GET .../images/artifacts?imageName=&name=`.
pub async fn artifacts(
    State(ctx): State<RegionCtx>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): Query,
) -> ApiResult {
    let image = required(&q, "imageName")?;
    let (page, size) = rules::paging(&q)?;
    let filter = q.get("name").map(|s| s.trim()).filter(|s| !s.is_empty());
    let items = ctx
        .app
        .core
        .artifacts(ctx.region, &id, image, filter)?
        .into_iter()
        .map(|a| ArtifactDto {
            digest: a.digest,
            tags: a.tags,
            size: a.size,
            push_time: fmt_time_ms(a.pushed_at),
            pull_time: a.pulled_at.map(fmt_time_ms),
            media_type: a.media_type,
        })
        .collect();
    ok(StatusCode::OK, page_of(items, page, size))
}

/// `DELETE .../images/delete?imageName=`: every artifact of the image.
pub async fn delete_image(
    State(ctx): State<RegionCtx>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): Query,
) -> ApiResult {
    let image = required(&q, "imageName")?;
    ctx.app.core.delete_image(ctx.region, &id, image)?;
    Ok(StatusCode::OK.into_response())
}

/// `DELETE .../images/artifacts/delete?imageName=&digest=`.
pub async fn delete_artifact(
    State(ctx): State<RegionCtx>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): Query,
) -> ApiResult {
    let image = required(&q, "imageName")?;
    let digest = required(&q, "digest")?;
    ctx.app
        .core
        .delete_artifact(ctx.region, &id, image, digest)?;
    Ok(StatusCode::OK.into_response())
}
