//! Blobs on the data plane: which repository holds which digest, uploads
//! streamed to storage and checked against their digest, cross-repository
//! mounts, and the quota (bytes of the distinct blobs a repository holds).

use super::error::RegistryErrorKind;
use super::model::{QuotaUnit, RepoRef};
use super::uploads::{Lease, Session};
use super::{Core, DomainError, DomainResult, LocalRegion};
use crate::local::store::{BlobReader, Tx, UploadSink};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};

fn blob_unknown(digest: &str) -> DomainError {
    DomainError::registry(
        RegistryErrorKind::BlobUnknown,
        format!("blob {digest} is not in this repository"),
    )
}

/// The quota refusal, in the words Harbor uses.
pub fn quota_message(unit: QuotaUnit, adding: u64, usage_after: u64, limit_gb: u64) -> String {
    format!(
        "Quota exceeded when processing the request of adding {:.1} MiB of storage resource, \
         which when updated to current usage of {:.1} MiB will exceed the configured upper limit of {limit_gb} GiB.",
        unit.mib(adding),
        unit.mib(usage_after),
    )
}

impl Core {
    /// Bytes of the distinct blobs the repository holds.
    pub fn usage(&self, repo_uuid: &str) -> DomainResult<u64> {
        Ok(self.store.read(|r| r.usage(repo_uuid))?)
    }

    /// Records that the repository holds a blob, within its quota (a blob it
    /// holds already costs nothing).
    pub(super) fn hold_blob(
        &self,
        tx: &Tx<'_>,
        repo: &RepoRef,
        digest: &str,
        size: u64,
    ) -> DomainResult<()> {
        if tx.held_blob_size(&repo.uuid, digest)?.is_some() {
            return Ok(());
        }
        let after = tx.usage(&repo.uuid)? + size;
        if after > repo.quota_bytes {
            return Err(DomainError::QuotaExceeded(quota_message(
                self.quota_unit,
                size,
                after,
                repo.quota_limit_gb,
            )));
        }
        Ok(tx.insert_repo_blob(&repo.uuid, digest, size)?)
    }

    /// The size of a blob the repository holds.
    pub fn blob_size(&self, repo: &RepoRef, digest: &str) -> DomainResult<u64> {
        self.store
            .read(|r| r.held_blob_size(&repo.uuid, digest))?
            .ok_or_else(|| blob_unknown(digest))
    }

    /// Opens a blob the repository holds (never one only another holds).
    pub async fn open_blob(&self, repo: &RepoRef, digest: &str) -> DomainResult<BlobReader> {
        self.blob_size(repo, digest)?;
        self.store
            .blobs()
            .open(digest)
            .await?
            .ok_or_else(|| blob_unknown(digest))
    }

    /// Opens `count` bytes from `start` of a blob the repository holds (the
    /// caller resolved the range against [`Core::blob_size`]).
    pub async fn open_blob_part(
        &self,
        repo: &RepoRef,
        digest: &str,
        start: u64,
        count: u64,
    ) -> DomainResult<BlobReader> {
        let size = self.blob_size(repo, digest)?;
        if start.saturating_add(count) > size {
            return Err(DomainError::registry(
                RegistryErrorKind::RangeInvalid,
                format!("bytes {start}+{count} are beyond the blob's {size} bytes"),
            ));
        }
        self.store
            .blobs()
            .open_part(digest, start, count)
            .await?
            .ok_or_else(|| blob_unknown(digest))
    }

    /// Starts an upload into the repository; answers its id.
    pub async fn start_upload(&self, region: LocalRegion, repo: &RepoRef) -> DomainResult<String> {
        let id = uuid::Uuid::new_v4().to_string();
        let sink = self.store.blobs().sink(&id).await?;
        self.uploads
            .add(Session::new(id.clone(), region, repo.uuid.clone(), sink))?;
        Ok(id)
    }

    /// Takes an upload for one request.
    pub fn lease_upload(
        &self,
        id: &str,
        region: LocalRegion,
        repo: &RepoRef,
    ) -> DomainResult<Lease<'_>> {
        self.uploads.lease(id, region, &repo.uuid)
    }

    /// How many bytes an upload holds so far.
    pub fn upload_size(&self, id: &str, region: LocalRegion, repo: &RepoRef) -> DomainResult<u64> {
        self.uploads.size(id, region, &repo.uuid)
    }

    /// Streams a request body into an upload. The bytes of the repository's
    /// uploads in progress count against its quota as they arrive: an upload
    /// that would take them past the quota's free space is refused as soon
    /// as it would (and dropped with its bytes).
    pub async fn append<S, E>(
        &self,
        lease: &mut Lease<'_>,
        repo: &RepoRef,
        mut body: S,
    ) -> DomainResult<u64>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let used = self.usage(&repo.uuid)?;
        let free = repo.quota_bytes.saturating_sub(used);
        let session = lease.session();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| {
                DomainError::registry(
                    RegistryErrorKind::BlobUploadInvalid,
                    format!("the upload's body could not be read: {e}"),
                )
            })?;
            let adding = chunk.len() as u64;
            if let Err(held) = self.uploads.grow(&repo.uuid, adding, free) {
                let in_progress = held + adding;
                return Err(DomainError::QuotaExceeded(quota_message(
                    self.quota_unit,
                    in_progress,
                    used + in_progress,
                    repo.quota_limit_gb,
                )));
            }
            session.hash(&chunk);
            session.sink.write(chunk).await?;
        }
        Ok(session.size)
    }

    /// Completes an upload: its bytes must have the digest the client named;
    /// then the blob is stored (once, whoever else holds it) and the
    /// repository holds it, within its quota.
    pub async fn finish_upload(
        &self,
        lease: Lease<'_>,
        repo: &RepoRef,
        digest: &str,
    ) -> DomainResult<u64> {
        let mut session = lease.finish();
        let actual = session.digest();
        if actual != digest {
            session.sink.discard();
            return Err(DomainError::registry(
                RegistryErrorKind::DigestInvalid,
                format!("the uploaded bytes have digest {actual}, not {digest}"),
            ));
        }
        if let Err(e) = session.sink.finish().await {
            session.sink.discard();
            return Err(e.into());
        }
        let size = session.size;
        let sink = session.sink;
        self.store.write(|tx| {
            if let Err(e) = self.hold_blob(tx, repo, digest, size) {
                sink.discard();
                return Err(e);
            }
            self.store.blobs().commit(sink, digest)?;
            Ok(size)
        })
    }

    /// Cancels an upload.
    pub fn cancel_upload(&self, lease: Lease<'_>) {
        lease.finish().sink.discard();
    }

    /// Writes a small blob given whole (a manifest) into a sink, ready for
    /// [`crate::local::store::BlobStore::commit`] once the repository may hold it.
    pub(super) async fn small_blob_sink(&self, bytes: Bytes) -> DomainResult<UploadSink> {
        let mut sink = self
            .store
            .blobs()
            .sink(&uuid::Uuid::new_v4().to_string())
            .await?;
        if let Err(e) = async {
            sink.write(bytes).await?;
            sink.finish().await
        }
        .await
        {
            sink.discard();
            return Err(e.into());
        }
        Ok(sink)
    }

    /// Mounts a blob from another repository the caller may pull from:
    /// `true` when the target now holds it, `false` when the source does not
    /// hold it (the client then uploads it).
    pub fn mount_blob(
        &self,
        target: &RepoRef,
        source: &RepoRef,
        digest: &str,
    ) -> DomainResult<bool> {
        self.store.write(|tx| {
            let Some(size) = tx.held_blob_size(&source.uuid, digest)? else {
                return Ok(false);
            };
            self.hold_blob(tx, target, digest, size)?;
            Ok(true)
        })
    }

    /// The repository stops holding a blob (its bytes go when no repository
    /// holds them). A blob its images use is refused, as Harbor does: a
    /// manifest (deleted through its own path) or a blob a manifest names
    /// (it goes with the last manifest naming it), so that no image is left
    /// listed but unpullable and the quota always counts what images hold.
    pub fn delete_blob(&self, repo: &RepoRef, digest: &str) -> DomainResult<()> {
        self.store.write(|tx| {
            if let Some(image) = tx.image_with_manifest(&repo.uuid, digest)? {
                return Err(DomainError::registry(
                    RegistryErrorKind::InUse,
                    format!(
                        "blob {digest} is a manifest of image {image:?}: delete it with \
                         DELETE /v2/<name>/manifests/{digest}"
                    ),
                ));
            }
            if let Some((image, manifest)) = tx.manifest_naming(&repo.uuid, digest)? {
                return Err(DomainError::registry(
                    RegistryErrorKind::InUse,
                    format!(
                        "blob {digest} is used by manifest {manifest} of image {image:?}: \
                         delete the manifest (a blob goes with the last manifest naming it)"
                    ),
                ));
            }
            if !tx.release_repo_blob(&repo.uuid, digest)? {
                return Err(blob_unknown(digest));
            }
            Ok(())
        })
    }

    /// Sweeps abandoned uploads (also done whenever an upload starts).
    pub fn sweep_uploads(&self) {
        self.uploads.sweep();
    }

    /// Uploads in progress.
    pub fn uploads_in_progress(&self) -> usize {
        self.uploads.len()
    }
}
