//! Repositories: create, read, list, quota, attach and detach users, delete,
//! history.

use super::model::{HistoryEntry, RepoRef, Repository};
use super::{rules, Core, DomainError, DomainResult, LocalRegion};
use crate::local::store::records::RepositoryRow;
use crate::local::store::Records;

pub(super) fn not_found(region: LocalRegion, id: &str) -> DomainError {
    DomainError::NotFound(format!("no repository {id:?} in region {}", region.code()))
}

impl Core {
    fn repository_of(&self, row: RepositoryRow) -> Repository {
        Repository {
            backend_name: self.backend_name(&row.name),
            uuid: row.uuid,
            name: row.name,
            public: row.public,
            quota_limit_gb: row.quota_gb,
            created_at: row.created_at,
            used_bytes: row.used_bytes,
            quota_used_gb: self.quota_unit.gb(row.used_bytes),
            image_count: row.image_count,
            attached_users: row.attached_users,
        }
    }

    /// A repository with its figures, by id.
    pub(super) fn repo_view(
        &self,
        records: &Records<'_>,
        region: LocalRegion,
        id: &str,
    ) -> DomainResult<Repository> {
        let row = records.repository(region.code(), id)?;
        Ok(self.repository_of(row.ok_or_else(|| not_found(region, id))?))
    }

    /// Repositories of a region in creation order, optionally by part of the
    /// name and by access level.
    pub fn list_repositories(
        &self,
        region: LocalRegion,
        name: Option<&str>,
        public: Option<bool>,
    ) -> DomainResult<Vec<Repository>> {
        let rows = self
            .store
            .read(|r| r.repositories(region.code(), name, public))?;
        Ok(rows.into_iter().map(|r| self.repository_of(r)).collect())
    }

    /// A repository by id.
    pub fn repository(&self, region: LocalRegion, id: &str) -> DomainResult<Repository> {
        self.store.read(|r| self.repo_view(r, region, id))
    }

    /// Creates a repository; names are unique in the region.
    pub fn create_repository(
        &self,
        region: LocalRegion,
        name: &str,
        public: bool,
        quota_gb: u64,
    ) -> DomainResult<Repository> {
        rules::repo_name(name)?;
        rules::quota(Some(quota_gb as i64))?;
        self.store.write(|tx| {
            if tx.repository_name_taken(region.code(), name)? {
                return Err(DomainError::conflict(
                    "REPO_NAME_TAKEN",
                    format!("a repository named {name:?} already exists: names are unique in the account"),
                ));
            }
            let uuid = format!("repo-{}", uuid::Uuid::new_v4());
            tx.insert_repository(&uuid, region.code(), name, public, quota_gb, self.clock.now())?;
            self.log(tx, &uuid, "CREATE_REPOSITORY", &format!("created with a quota of {quota_gb} GB"))?;
            self.repo_view(tx, region, &uuid)
        })
    }

    /// Deletes a repository that holds no image, with every blob it holds.
    pub fn delete_repository(&self, region: LocalRegion, id: &str) -> DomainResult<Repository> {
        self.store.write(|tx| {
            let repo = self.repo_view(tx, region, id)?;
            if repo.image_count > 0 {
                return Err(DomainError::conflict(
                    "REPO_NOT_EMPTY",
                    format!(
                        "repository {:?} still holds {} image(s): a repository with images cannot be deleted, delete its images first",
                        repo.name, repo.image_count
                    ),
                ));
            }
            tx.delete_repository(id)?;
            Ok(repo)
        })
    }

    /// Sets the quota, never below what the repository uses.
    pub fn set_quota(
        &self,
        region: LocalRegion,
        id: &str,
        quota_gb: u64,
    ) -> DomainResult<Repository> {
        rules::quota(Some(quota_gb as i64))?;
        self.store.write(|tx| {
            let repo = self.repo_view(tx, region, id)?;
            if self.quota_unit.of(quota_gb) < repo.used_bytes {
                return Err(DomainError::Invalid(format!(
                    "quotaLimit {quota_gb} GB is below the {} GB the repository already uses: the quota cannot be below what is used",
                    repo.quota_used_gb
                )));
            }
            tx.set_quota(id, quota_gb)?;
            let detail = format!("quota changed from {} GB to {quota_gb} GB", repo.quota_limit_gb);
            self.log(tx, id, "UPDATE_QUOTA", &detail)?;
            self.repo_view(tx, region, id)
        })
    }

    /// Grants users policies on a repository (replacing what each had there).
    pub fn attach_users(
        &self,
        region: LocalRegion,
        id: &str,
        users: &[(String, Vec<String>)],
    ) -> DomainResult<Repository> {
        self.store.write(|tx| {
            self.repo_view(tx, region, id)?;
            for (user_id, policies) in users {
                let name = self.user_name_in(tx, region, user_id, "repoUserList")?;
                tx.upsert_grant(user_id, id, policies)?;
                self.log(tx, id, "ATTACH_USER", &format!("user {name} attached"))?;
            }
            self.repo_view(tx, region, id)
        })
    }

    /// Takes every policy of these users on the repository away.
    pub fn detach_users(
        &self,
        region: LocalRegion,
        id: &str,
        users: &[String],
    ) -> DomainResult<Repository> {
        self.store.write(|tx| {
            self.repo_view(tx, region, id)?;
            for user_id in users {
                let name = self.user_name_in(tx, region, user_id, "repoUserUuidList")?;
                tx.delete_grant(user_id, id)?;
                self.log(tx, id, "DETACH_USER", &format!("user {name} detached"))?;
            }
            self.repo_view(tx, region, id)
        })
    }

    /// The repository's history, newest first.
    pub fn history(&self, region: LocalRegion, id: &str) -> DomainResult<Vec<HistoryEntry>> {
        self.store.read(|r| {
            self.repo_view(r, region, id)?;
            Ok(r.history(id)?)
        })
    }

    /// A repository of the region by its backend name (`{accountId}-{name}`),
    /// as the registry names it.
    pub(super) fn repo_by_backend(
        &self,
        records: &Records<'_>,
        region: LocalRegion,
        backend: &str,
    ) -> DomainResult<Option<RepoRef>> {
        let prefix = format!("{}-", self.account_id);
        let Some(name) = backend.strip_prefix(&prefix) else {
            return Ok(None);
        };
        let found = records.repository_by_name(region.code(), name)?;
        Ok(found.map(|r| RepoRef {
            uuid: r.uuid,
            backend_name: backend.to_string(),
            name: r.name,
            public: r.public,
            quota_limit_gb: r.quota_gb,
            quota_bytes: self.quota_unit.of(r.quota_gb),
        }))
    }
}
