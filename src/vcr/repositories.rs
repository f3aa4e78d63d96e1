//! Repository calls (`/v1/repository`).

use std::collections::HashMap;
use std::sync::MutexGuard;

use super::models::{
    AccessLevel, Artifact, AttachUser, CreateRepository, HistoryEntry, Image, ListRepositories,
    Page, Repository, RepositoryNames, RobotAccount,
};
use super::{request, Client, NamesCell, Region, VcrError};

/// The repository calls of one region: `client.repositories(Region::Hcm)`.
#[derive(Debug, Clone, Copy)]
pub struct Repositories<'c> {
    client: &'c Client,
    region: Region,
}

impl<'c> Repositories<'c> {
    pub(crate) fn new(client: &'c Client, region: Region) -> Self {
        Repositories { client, region }
    }

    /// The region these calls go to.
    pub fn region(&self) -> Region {
        self.region
    }

    /// `GET /v1/repository`: one page.
    pub async fn list(&self, q: &ListRepositories) -> Result<Page<Repository>, VcrError> {
        let page: Page<Repository> = self
            .client
            .send_json(self.region, &request::repository::list(q))
            .await?;
        self.remember(&page.items);
        Ok(page)
    }

    /// Every repository (walking all pages), optionally filtered. Each
    /// repository appears once even if the list shifts while it is walked.
    pub async fn list_all(
        &self,
        name: Option<&str>,
        access_level: Option<AccessLevel>,
    ) -> Result<Vec<Repository>, VcrError> {
        let all = self
            .client
            .walk(
                self.region,
                |page, size| {
                    request::repository::list(&ListRepositories {
                        name: name.map(str::to_string),
                        access_level,
                        page,
                        size,
                    })
                },
                |r: Repository| {
                    self.remember(std::slice::from_ref(&r));
                    Some(r)
                },
            )
            .await?;
        Ok(dedup_by(all, |r| r.uuid.clone()))
    }

    /// `GET /v1/repository/{id}`.
    pub async fn get(&self, id: &str) -> Result<Repository, VcrError> {
        let repo = self
            .client
            .send_json(self.region, &request::repository::get(id))
            .await?;
        self.remember(std::slice::from_ref(&repo));
        Ok(repo)
    }

    /// The repository's name and backend name: from any answer this client has
    /// already had about it (they never change), else read (one call, shared by
    /// the lookups of this repository waiting at the same time).
    pub async fn names(&self, id: &str) -> Result<RepositoryNames, VcrError> {
        let cell = self.cell(id);
        let names = cell
            .get_or_try_init(|| async {
                let r = self.get(id).await?;
                Ok::<_, VcrError>(RepositoryNames {
                    uuid: r.uuid,
                    name: r.name,
                    backend_name: r.backend_name,
                    registry_url: r.registry_url,
                })
            })
            .await?;
        Ok(names.clone())
    }

    /// The known names of every repository, for the time of one short change.
    fn known(&self) -> MutexGuard<'_, HashMap<(Region, String), NamesCell>> {
        // The map holds plain values: one left by a panicking holder is still whole.
        let names = &self.client.inner.repository_names;
        names
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The cell of one repository's names, made empty if there is none yet.
    fn cell(&self, id: &str) -> NamesCell {
        let key = (self.region, id.to_string());
        self.known().entry(key).or_default().clone()
    }

    fn remember(&self, repos: &[Repository]) {
        for names in repos.iter().filter_map(RepositoryNames::of) {
            // Already known: the names are the same.
            let _ = self.cell(&names.uuid).set(names);
        }
    }

    fn forget(&self, id: &str) {
        self.known().remove(&(self.region, id.to_string()));
    }

    /// `POST /v1/repository` (202). Not resent unless the request surely never
    /// reached the server. Should the answer not carry the repository, it is
    /// looked up by its (unique) name.
    pub async fn create(&self, req: &CreateRepository) -> Result<Repository, VcrError> {
        let call = request::repository::create(req);
        let bytes = self.client.send(self.region, &call).await?;
        if let Some(r) = decode_repository(&bytes) {
            self.remember(std::slice::from_ref(&r));
            return Ok(r);
        }
        tracing::debug!(name = %req.name, "the create answer holds no repository: looking it up by name");
        self.list_all(Some(&req.name), None)
            .await?
            .into_iter()
            .find(|r| r.name == req.name)
            .ok_or_else(|| {
                VcrError::unexpected(
                    "POST",
                    "/v1/repository",
                    format!(
                        "the answer holds no repository, and no repository is named {:?}",
                        req.name
                    ),
                )
            })
    }

    /// `DELETE /v1/repository/{id}` (202). Fails with a conflict while the
    /// repository holds images. The answer is the deleted repository; should
    /// it not carry one, the success still stands and only `uuid` is set.
    pub async fn delete(&self, id: &str) -> Result<Repository, VcrError> {
        let call = request::repository::delete(id);
        let bytes = self.client.send(self.region, &call).await?;
        self.forget(id);
        Ok(decode_repository(&bytes).unwrap_or_else(|| Repository {
            uuid: id.to_string(),
            ..Repository::default()
        }))
    }

    /// `PUT /v1/repository/{id}/quotas`: the quota in whole GB. Should the
    /// answer not carry the repository, it is read again.
    pub async fn set_quota(&self, id: &str, quota_limit_gb: u64) -> Result<Repository, VcrError> {
        let call = request::repository::set_quota(id, quota_limit_gb);
        let bytes = self.client.send(self.region, &call).await?;
        match decode_repository(&bytes) {
            Some(r) => {
                self.remember(std::slice::from_ref(&r));
                Ok(r)
            }
            None => self.get(id).await,
        }
    }

    /// `GET /v1/repository/{id}/user`: every user attached, with their
    /// permissions (all pages).
    pub async fn list_users(&self, id: &str) -> Result<Vec<RobotAccount>, VcrError> {
        let all = self
            .client
            .walk(
                self.region,
                |page, size| request::repository::list_users(id, page, size),
                Some::<RobotAccount>,
            )
            .await?;
        Ok(dedup_by(all, |u| u.uuid.clone()))
    }

    /// `PUT /v1/repository/{id}/attach`: grants users policies on the
    /// repository.
    pub async fn attach(&self, id: &str, users: &[AttachUser]) -> Result<(), VcrError> {
        let call = request::repository::attach(id, users);
        self.client.send(self.region, &call).await.map(drop)
    }

    /// `PUT /v1/repository/{id}/detach`: removes users from the repository.
    /// (On the real service a user detached then attached again fails: prefer
    /// [`super::Users::set_permissions`].)
    pub async fn detach(&self, id: &str, user_ids: &[String]) -> Result<(), VcrError> {
        let call = request::repository::detach(id, user_ids);
        self.client.send(self.region, &call).await.map(drop)
    }

    /// `GET /v1/repository/{id}/images`: every image (all pages). `name` is sent
    /// empty: the real service fails without it.
    pub async fn list_images(&self, id: &str) -> Result<Vec<Image>, VcrError> {
        self.search_images(id, None).await
    }

    /// `GET /v1/repository/{id}/images?name=...`: every image the server's `name`
    /// filter lets through (all pages, one call per page). The filter's matching
    /// is the server's: callers that need an exact rule apply it again.
    pub async fn search_images(
        &self,
        id: &str,
        name: Option<&str>,
    ) -> Result<Vec<Image>, VcrError> {
        let all = self
            .client
            .walk(
                self.region,
                |page, size| request::repository::list_images(id, name, page, size),
                Some::<Image>,
            )
            .await?;
        Ok(dedup_by(all, |i| i.name.clone()))
    }

    /// `GET /v1/repository/{id}/images/detail?imageName=...`: one image.
    pub async fn image(&self, id: &str, image_name: &str) -> Result<Image, VcrError> {
        let call = request::repository::image_detail(id, image_name);
        self.client.send_json(self.region, &call).await
    }

    /// `GET /v1/repository/{id}/images/artifacts?imageName=...`: every artifact of
    /// an image (all pages, one call per page), optionally filtered by `name` (a
    /// tag or digest, matched as the server matches).
    pub async fn list_artifacts(
        &self,
        id: &str,
        image_name: &str,
        name: Option<&str>,
    ) -> Result<Vec<Artifact>, VcrError> {
        let all = self
            .client
            .walk(
                self.region,
                |page, size| request::repository::list_artifacts(id, image_name, name, page, size),
                Some::<Artifact>,
            )
            .await?;
        Ok(dedup_by(all, |a| a.digest.clone()))
    }

    /// `DELETE /v1/repository/{id}/images/delete?imageName=...`: the image and
    /// every artifact of it.
    pub async fn delete_image(&self, id: &str, image_name: &str) -> Result<(), VcrError> {
        let call = request::repository::delete_image(id, image_name);
        self.client.send(self.region, &call).await.map(drop)
    }

    /// `DELETE /v1/repository/{id}/images/artifacts/delete?imageName=...&digest=...`.
    pub async fn delete_artifact(
        &self,
        id: &str,
        image_name: &str,
        digest: &str,
    ) -> Result<(), VcrError> {
        let call = request::repository::delete_artifact(id, image_name, digest);
        self.client.send(self.region, &call).await.map(drop)
    }

    /// `GET /v1/repository/{id}/history`: one page of the repository's history.
    pub async fn history(
        &self,
        id: &str,
        page: u32,
        size: u32,
    ) -> Result<Page<HistoryEntry>, VcrError> {
        let call = request::repository::history(id, page, size);
        self.client.send_json(self.region, &call).await
    }
}

/// A repository from an answer body, if it holds one (with an id).
fn decode_repository(bytes: &[u8]) -> Option<Repository> {
    serde_json::from_slice::<Repository>(bytes)
        .ok()
        .filter(|r| !r.uuid.is_empty())
}

/// Keeps the first item of each key, in order.
pub(crate) fn dedup_by<T>(items: Vec<T>, key: impl Fn(&T) -> String) -> Vec<T> {
    let mut seen = std::collections::HashSet::new();
    items.into_iter().filter(|i| seen.insert(key(i))).collect()
}
