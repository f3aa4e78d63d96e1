//! Images and artifacts as the management API shows them: what was really
//! pushed to the registry, listed and deleted.

use super::model::{Artifact, ImageSummary, RepoRef};
use super::{Core, DomainError, DomainResult, LocalRegion};
use crate::local::store::Records;

impl Core {
    fn repo_ref(
        &self,
        records: &Records<'_>,
        region: LocalRegion,
        id: &str,
    ) -> DomainResult<RepoRef> {
        let repo = self.repo_view(records, region, id)?;
        Ok(RepoRef {
            uuid: repo.uuid,
            name: repo.name,
            backend_name: repo.backend_name,
            public: repo.public,
            quota_limit_gb: repo.quota_limit_gb,
            quota_bytes: self.quota_unit.of(repo.quota_limit_gb),
        })
    }

    /// The images of a repository by name, optionally by part of the name.
    pub fn list_images(
        &self,
        region: LocalRegion,
        repo_id: &str,
        name: Option<&str>,
    ) -> DomainResult<Vec<ImageSummary>> {
        self.store.read(|r| {
            let repo = self.repo_ref(r, region, repo_id)?;
            Ok(r.images(&repo.uuid, name, false)?)
        })
    }

    /// One image of a repository.
    pub fn image(
        &self,
        region: LocalRegion,
        repo_id: &str,
        image: &str,
    ) -> DomainResult<ImageSummary> {
        self.store.read(|r| {
            let repo = self.repo_ref(r, region, repo_id)?;
            r.images(&repo.uuid, Some(image), true)?
                .into_iter()
                .next()
                .ok_or_else(|| no_image(image, &repo.name))
        })
    }

    /// The artifacts of an image, newest first, optionally those with a tag
    /// or digest containing `filter`.
    pub fn artifacts(
        &self,
        region: LocalRegion,
        repo_id: &str,
        image: &str,
        filter: Option<&str>,
    ) -> DomainResult<Vec<Artifact>> {
        let all = self.store.read(|r| {
            let repo = self.repo_ref(r, region, repo_id)?;
            if !r.image_exists(&repo.uuid, image)? {
                return Err(no_image(image, &repo.name));
            }
            Ok(r.artifacts_of_image(&repo.uuid, image)?)
        })?;
        Ok(match filter {
            None => all,
            Some(f) => all
                .into_iter()
                .filter(|a| a.digest.contains(f) || a.tags.iter().any(|t| t.contains(f)))
                .collect(),
        })
    }

    /// Deletes every artifact of an image (and so the image).
    pub fn delete_image(
        &self,
        region: LocalRegion,
        repo_id: &str,
        image: &str,
    ) -> DomainResult<()> {
        self.store.write(|tx| {
            let repo = self.repo_ref(tx, region, repo_id)?;
            let digests = tx.manifests_of_image(&repo.uuid, image)?;
            if digests.is_empty() {
                return Err(no_image(image, &repo.name));
            }
            self.remove_manifests(tx, &repo, image, &digests)?;
            self.log(
                tx,
                &repo.uuid,
                "DELETE_IMAGE",
                &format!("image {image} deleted"),
            )
        })
    }

    /// Deletes one artifact of an image, and the platform manifests of an
    /// index that nothing else in the image lists.
    pub fn delete_artifact(
        &self,
        region: LocalRegion,
        repo_id: &str,
        image: &str,
        digest: &str,
    ) -> DomainResult<()> {
        self.store.write(|tx| {
            let repo = self.repo_ref(tx, region, repo_id)?;
            if !tx.manifest_exists(&repo.uuid, image, digest)? {
                return Err(DomainError::NotFound(format!(
                    "no artifact {digest:?} of image {image:?} in repository {:?}",
                    repo.name
                )));
            }
            self.refuse_if_listed(tx, &repo, image, digest)?;
            let mut all = vec![digest.to_string()];
            all.extend(tx.children_only_listed_by(&repo.uuid, image, digest)?);
            self.remove_manifests(tx, &repo, image, &all)?;
            self.log(
                tx,
                &repo.uuid,
                "DELETE_ARTIFACT",
                &format!("{image}@{digest} deleted"),
            )
        })
    }
}

fn no_image(image: &str, repo: &str) -> DomainError {
    DomainError::NotFound(format!("no image {image:?} in repository {repo:?}"))
}
