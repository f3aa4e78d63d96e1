//! `/v2/<name>/blobs/<digest>`: HEAD, GET (streamed, whole or one byte range)
//! and DELETE of a blob the repository holds.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, Method, StatusCode};

use super::error::OciError;
use super::paths::ImagePath;
use super::{answer, auth, docker_digest, Answer, RegistryCtx};
use crate::local::core::model::Action;
use crate::local::core::{rules, RegistryErrorKind};

/// What a `Range` header asks of a blob of `len` bytes.
#[derive(Debug, PartialEq, Eq)]
enum Wanted {
    /// The whole blob (no `Range`, or one this server ignores, as HTTP lets
    /// it: several ranges, another unit).
    Whole,
    /// Bytes `start..=end`.
    Part { start: u64, end: u64 },
    /// A range that starts beyond the blob.
    Unsatisfiable,
}

/// Reads `Range: bytes=a-b`, `bytes=a-` or `bytes=-n` against a length.
fn wanted(headers: &HeaderMap, len: u64) -> Wanted {
    let Some(spec) = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().strip_prefix("bytes="))
    else {
        return Wanted::Whole;
    };
    if spec.contains(',') {
        return Wanted::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Wanted::Whole;
    };
    let (first, last) = (first.trim(), last.trim());
    let parse = |s: &str| s.parse::<u64>().ok();
    match (first.is_empty(), last.is_empty()) {
        (true, false) => match parse(last) {
            Some(0) => Wanted::Unsatisfiable,
            Some(n) if len > 0 => Wanted::Part {
                start: len.saturating_sub(n),
                end: len - 1,
            },
            Some(_) => Wanted::Unsatisfiable,
            None => Wanted::Whole,
        },
        (false, _) => {
            let Some(start) = parse(first) else {
                return Wanted::Whole;
            };
            let end = if last.is_empty() {
                Some(u64::MAX)
            } else {
                parse(last)
            };
            match end {
                None => Wanted::Whole,
                Some(end) if end < start => Wanted::Whole,
                Some(_) if start >= len => Wanted::Unsatisfiable,
                Some(end) => Wanted::Part {
                    start,
                    end: end.min(len - 1),
                },
            }
        }
        (true, true) => Wanted::Whole,
    }
}

pub async fn get(ctx: &RegistryCtx, req: Request, path: ImagePath, digest: String) -> Answer {
    let (_, repo) = auth::access(ctx, req.headers(), &path, Action::Pull)?;
    rules::digest(&digest)?;
    let core = &ctx.app.core;
    let len = core.blob_size(&repo, &digest)?;
    let (status, reader, range) = match wanted(req.headers(), len) {
        Wanted::Whole => (StatusCode::OK, core.open_blob(&repo, &digest).await?, None),
        Wanted::Part { start, end } => (
            StatusCode::PARTIAL_CONTENT,
            core.open_blob_part(&repo, &digest, start, end - start + 1)
                .await?,
            Some(format!("bytes {start}-{end}/{len}")),
        ),
        Wanted::Unsatisfiable => {
            let mut refused = OciError::of_kind(
                RegistryErrorKind::RangeInvalid,
                format!("the range asked starts beyond the blob's {len} bytes"),
            )
            .into_response_with(&[(header::CONTENT_RANGE, format!("bytes */{len}"))]);
            refused
                .headers_mut()
                .insert(docker_digest(), digest.parse().expect("a checked digest"));
            return Ok(refused);
        }
    };
    let mut headers = vec![
        (header::CONTENT_LENGTH, reader.len.to_string()),
        (header::CONTENT_TYPE, "application/octet-stream".to_string()),
        (header::ACCEPT_RANGES, "bytes".to_string()),
        (docker_digest(), digest),
    ];
    if let Some(range) = range {
        headers.push((header::CONTENT_RANGE, range));
    }
    let body = if req.method() == Method::HEAD {
        Body::empty()
    } else {
        Body::from_stream(reader.body)
    };
    answer(status, &headers, body)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn asked(range: &str, len: u64) -> Wanted {
        let mut headers = HeaderMap::new();
        headers.insert(header::RANGE, range.parse().unwrap());
        wanted(&headers, len)
    }

    #[test]
    fn ranges() {
        let part = |start, end| Wanted::Part { start, end };
        assert_eq!(wanted(&HeaderMap::new(), 10), Wanted::Whole);
        assert_eq!(asked("bytes=0-4", 10), part(0, 4));
        assert_eq!(asked("bytes=5-", 10), part(5, 9));
        assert_eq!(asked("bytes=5-100", 10), part(5, 9));
        assert_eq!(asked("bytes=-3", 10), part(7, 9));
        assert_eq!(asked("bytes=-30", 10), part(0, 9));
        assert_eq!(asked("bytes=10-", 10), Wanted::Unsatisfiable);
        assert_eq!(asked("bytes=-0", 10), Wanted::Unsatisfiable);
        assert_eq!(asked("bytes=0-", 0), Wanted::Unsatisfiable);
        for ignored in [
            "bytes=0-1,3-4",
            "items=0-1",
            "bytes=4-2",
            "bytes=x-",
            "bytes=-",
        ] {
            assert_eq!(asked(ignored, 10), Wanted::Whole, "{ignored}");
        }
    }
}
