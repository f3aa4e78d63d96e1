//! Copying one image, by digest, from a repository to another (of the same registry
//! or of another one), and pointing tags at it. What the destination holds already
//! is skipped (a failed copy resumes where it stopped); a blob of the same registry
//! is mounted (no bytes move); any other blob is streamed from the source into the
//! destination in chunks, its digest checked on the way, so memory stays bounded
//! whatever the layer size. A multi-platform image is copied whole, each platform's
//! manifest before the index that names it.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::{stream, FutureExt, StreamExt, TryStreamExt};
use sha2::{Digest as _, Sha256};

use super::manifest::{self, Contents, Descriptor};
use super::{Mounted, RegistryError, Repository};

/// The bytes of one `PATCH` of a streamed blob.
pub const CHUNK_BYTES: u64 = 32 * 1024 * 1024;

/// Pieces of a chunk in flight between the source's answer and the destination's
/// request: with the registry's own reads of ~16-64 KiB, a few MiB at most.
const PIECES_IN_FLIGHT: usize = 16;

/// What a copy did.
#[derive(Debug, Default)]
pub struct CopyReport {
    /// Manifests written by digest (platform manifests, indexes, the image).
    pub manifests_written: AtomicUsize,
    /// Tags pointed at the image.
    pub tags_written: AtomicUsize,
    /// Blobs the destination held already.
    pub blobs_present: AtomicUsize,
    /// Blobs mounted from the source repository (same registry; no bytes moved).
    pub blobs_mounted: AtomicUsize,
    /// Blobs streamed from the source registry.
    pub blobs_streamed: AtomicUsize,
    /// Bytes streamed.
    pub bytes_streamed: AtomicU64,
}

impl CopyReport {
    /// One line for logs: `2 blobs streamed (200.0 MiB), 1 mounted, 3 already there`.
    pub fn summary(&self) -> String {
        format!(
            "{} blob(s) streamed ({}), {} mounted, {} already there; {} manifest(s) written, {} tag(s) set",
            self.blobs_streamed.load(Ordering::Relaxed),
            mib(self.bytes_streamed.load(Ordering::Relaxed)),
            self.blobs_mounted.load(Ordering::Relaxed),
            self.blobs_present.load(Ordering::Relaxed),
            self.manifests_written.load(Ordering::Relaxed),
            self.tags_written.load(Ordering::Relaxed),
        )
    }
}

/// A size for logs: `80.0 MiB`.
fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / 1048576.0)
}

/// One copy's two ends and how many blobs move at once.
struct Copy<'a> {
    from: &'a Repository<'a>,
    to: &'a Repository<'a>,
    parallel: usize,
    /// Whether both are on one registry, where a blob can be mounted.
    same_registry: bool,
    report: CopyReport,
}

/// Copies the image `digest` from `from` to `to` and points each of `tags` at it.
/// `parallel` blobs move at once.
pub async fn copy_image(
    from: &Repository<'_>,
    to: &Repository<'_>,
    digest: &str,
    tags: &[String],
    parallel: usize,
) -> Result<CopyReport, RegistryError> {
    let copy = Copy {
        from,
        to,
        parallel: parallel.max(1),
        same_registry: from.session.endpoint.host == to.session.endpoint.host,
        report: CopyReport::default(),
    };
    let (media_type, body) = copy.manifest(digest.to_string()).await?;
    for tag in tags {
        to.put_manifest(tag, &media_type, body.clone()).await?;
        copy.report
            .manifests_written
            .fetch_add(1, Ordering::Relaxed);
    }
    Ok(copy.report)
}

impl Copy<'_> {
    /// Makes sure the destination holds the manifest `digest` and all it names;
    /// its media type and bytes.
    fn manifest(&self, digest: String) -> BoxFuture<'_, Result<(String, Bytes), RegistryError>> {
        async move {
            let (media_type, body) = self.from.manifest(&digest).await?;
            if self.to.has_manifest(&digest).await? {
                tracing::debug!(digest, to = %self.to.name, "the manifest is there already");
                return Ok((media_type, body));
            }
            match manifest::contents(&media_type, &body)? {
                Contents::Index { manifests } => {
                    // Children first: an index naming a manifest the repository lacks is refused.
                    stream::iter(manifests)
                        .map(|child| self.manifest(child.digest))
                        .buffer_unordered(self.parallel)
                        .try_collect::<Vec<_>>()
                        .await?;
                }
                Contents::Image { blobs } => {
                    stream::iter(blobs)
                        .map(|blob| self.blob(blob))
                        .buffer_unordered(self.parallel)
                        .try_collect::<Vec<_>>()
                        .await?;
                }
            }
            self.to
                .put_manifest(&digest, &media_type, body.clone())
                .await?;
            self.report
                .manifests_written
                .fetch_add(1, Ordering::Relaxed);
            Ok((media_type, body))
        }
        .boxed()
    }

    /// Makes sure the destination holds a blob: there already, mounted, or streamed.
    async fn blob(&self, blob: Descriptor) -> Result<(), RegistryError> {
        let to = self.to;
        if to.has_blob(&blob.digest).await? {
            self.report.blobs_present.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        let location = if self.same_registry {
            match to.mount(&blob.digest, &self.from.name).await? {
                Mounted::Yes => {
                    tracing::info!(
                        digest = blob.digest,
                        from = %self.from.name,
                        to = format!("{}/{}", to.session.endpoint.host, to.name),
                        "mounted a blob of {} (no bytes moved)",
                        mib(blob.size)
                    );
                    self.report.blobs_mounted.fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
                Mounted::Upload(location) => location,
            }
        } else {
            to.start_upload().await?
        };
        let started = Instant::now();
        self.stream(&blob, location).await?;
        let secs = started.elapsed().as_secs_f64();
        tracing::info!(
            digest = blob.digest,
            to = format!("{}/{}", to.session.endpoint.host, to.name),
            "streamed a blob of {} in {secs:.1} s ({:.1} MiB/s)",
            mib(blob.size),
            blob.size as f64 / 1048576.0 / secs.max(0.001)
        );
        self.report.blobs_streamed.fetch_add(1, Ordering::Relaxed);
        self.report
            .bytes_streamed
            .fetch_add(blob.size, Ordering::Relaxed);
        Ok(())
    }

    /// Streams a blob from the source into the upload at `location`, in chunks of
    /// [`CHUNK_BYTES`], checking its size and digest on the way; a blob that does
    /// not match is abandoned, not stored.
    async fn stream(&self, blob: &Descriptor, location: reqwest::Url) -> Result<(), RegistryError> {
        let (from, to) = (self.from, self.to);
        let what = format!(
            "copy the blob {} from {} to {}",
            blob.digest, from.name, to.name
        );
        let mut source = from.blob(&blob.digest).await?;
        let mut hasher = Sha256::new();
        let mut carry: Option<Bytes> = None;
        let mut offset = 0u64;
        let mut location = location;
        let read_error =
            |e: reqwest::Error| RegistryError::transport(&from.session.endpoint.host, &what, e);
        let short = |got: u64| {
            RegistryError::Unsupported(format!(
                "the blob {}: the source sent {got} bytes where its manifest says {}",
                blob.digest, blob.size
            ))
        };
        while offset < blob.size {
            let len = CHUNK_BYTES.min(blob.size - offset);
            let (tx, rx) =
                tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(PIECES_IN_FLIGHT);
            let body = reqwest::Body::wrap_stream(stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|piece| (piece, rx))
            }));
            let send = to.patch(location.clone(), offset, len, body);
            let feed = async {
                let mut sent = 0u64;
                while sent < len {
                    let piece = match carry.take() {
                        Some(piece) => piece,
                        None => match source.chunk().await.map_err(read_error)? {
                            Some(piece) => piece,
                            None => return Err(short(offset + sent)),
                        },
                    };
                    let room = (len - sent) as usize;
                    let piece = if piece.len() > room {
                        carry = Some(piece.slice(room..));
                        piece.slice(..room)
                    } else {
                        piece
                    };
                    hasher.update(&piece);
                    sent += piece.len() as u64;
                    if tx.send(Ok(piece)).await.is_err() {
                        break; // the request ended early: its answer says why
                    }
                }
                drop(tx);
                Ok(())
            };
            let (sent, fed) = tokio::join!(send, feed);
            if let Err(e) = fed {
                to.cancel_upload(location).await;
                return Err(e);
            }
            location = sent?;
            offset += len;
        }
        let rest = match carry.take() {
            Some(piece) => Some(piece),
            None => source.chunk().await.map_err(read_error)?,
        };
        if rest.is_some_and(|r| !r.is_empty()) {
            to.cancel_upload(location).await;
            return Err(short(blob.size + 1));
        }
        let actual = format!("sha256:{:x}", hasher.finalize());
        if actual != blob.digest {
            to.cancel_upload(location).await;
            return Err(RegistryError::DigestMismatch {
                what,
                expected: blob.digest.clone(),
                actual,
            });
        }
        to.finish_upload(location, &blob.digest).await
    }
}
