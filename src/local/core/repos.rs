//! Repositories: create, read, list, quota, attach and detach users, delete,
//! history.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::model::{HistoryEntry, RepoRef, Repository, GIB};
use super::{region_code, rules, Core, DomainError, DomainResult};
use crate::local::LocalRegion;

/// GB with up to 3 decimals, as `quotaUsed` shows usage.
pub fn gb(bytes: u64) -> f64 {
    ((bytes as f64 / GIB as f64) * 1000.0).round() / 1000.0
}

const REPO_VIEW: &str = "
    SELECT r.uuid, r.name, r.public, r.quota_gb, r.created_at,
        (SELECT COALESCE(SUM(size), 0) FROM repo_blobs b WHERE b.repo_uuid = r.uuid),
        (SELECT COUNT(*) FROM images i WHERE i.repo_uuid = r.uuid),
        (SELECT COUNT(*) FROM grants g WHERE g.repo_uuid = r.uuid)
    FROM repositories r";

pub(super) fn not_found(region: LocalRegion, id: &str) -> DomainError {
    DomainError::NotFound(format!("no repository {id:?} in region {}", region.code()))
}

impl Core {
    fn repo_from_row(&self, r: &Row<'_>) -> rusqlite::Result<Repository> {
        let name: String = r.get(1)?;
        Ok(Repository {
            uuid: r.get(0)?,
            backend_name: self.backend_name(&name),
            name,
            public: r.get(2)?,
            quota_limit_gb: r.get(3)?,
            created_at: r.get(4)?,
            used_bytes: r.get::<_, i64>(5)? as u64,
            image_count: r.get(6)?,
            attached_users: r.get(7)?,
        })
    }

    /// A repository with its figures, by id.
    pub(super) fn repo_view(
        &self,
        conn: &Connection,
        region: LocalRegion,
        id: &str,
    ) -> DomainResult<Repository> {
        let sql = format!("{REPO_VIEW} WHERE r.region = ?1 AND r.uuid = ?2");
        conn.query_row(&sql, params![region_code(region), id], |r| {
            self.repo_from_row(r)
        })
        .optional()?
        .ok_or_else(|| not_found(region, id))
    }

    /// Repositories of a region in creation order, optionally by part of the
    /// name and by access level.
    pub fn list_repositories(
        &self,
        region: LocalRegion,
        name: Option<&str>,
        public: Option<bool>,
    ) -> DomainResult<Vec<Repository>> {
        self.read(|conn| {
            let sql = format!(
                "{REPO_VIEW} WHERE r.region = ?1 AND (?2 IS NULL OR instr(r.name, ?2) > 0)
                 AND (?3 IS NULL OR r.public = ?3) ORDER BY r.rowid"
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt.query_map(params![region_code(region), name, public], |r| {
                self.repo_from_row(r)
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    /// A repository by id.
    pub fn repository(&self, region: LocalRegion, id: &str) -> DomainResult<Repository> {
        self.read(|conn| self.repo_view(conn, region, id))
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
        self.write(|c| {
            let taken: bool = c.tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM repositories WHERE region = ?1 AND name = ?2)",
                params![region_code(region), name],
                |r| r.get(0),
            )?;
            if taken {
                return Err(DomainError::conflict(
                    "REPO_NAME_TAKEN",
                    format!("a repository named {name:?} already exists: names are unique in the account"),
                ));
            }
            let uuid = format!("repo-{}", uuid::Uuid::new_v4());
            c.tx.execute(
                "INSERT INTO repositories (uuid, region, name, public, quota_gb, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![uuid, region_code(region), name, public, quota_gb, self.clock.now()],
            )?;
            self.log(c.tx, &uuid, "CREATE_REPOSITORY", &format!("created with a quota of {quota_gb} GB"))?;
            self.repo_view(c.tx, region, &uuid)
        })
    }

    /// Deletes a repository that holds no image, with every blob it holds.
    pub fn delete_repository(&self, region: LocalRegion, id: &str) -> DomainResult<Repository> {
        self.write(|c| {
            let repo = self.repo_view(c.tx, region, id)?;
            if repo.image_count > 0 {
                return Err(DomainError::conflict(
                    "REPO_NOT_EMPTY",
                    format!(
                        "repository {:?} still holds {} image(s): a repository with images cannot be deleted, delete its images first",
                        repo.name, repo.image_count
                    ),
                ));
            }
            let mut stmt = c.tx.prepare("SELECT digest FROM repo_blobs WHERE repo_uuid = ?1")?;
            let held = stmt
                .query_map([id], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            drop(stmt);
            c.released.extend(held);
            c.tx.execute("DELETE FROM repositories WHERE uuid = ?1", [id])?;
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
        self.write(|c| {
            let repo = self.repo_view(c.tx, region, id)?;
            if (quota_gb as u128) * (GIB as u128) < repo.used_bytes as u128 {
                return Err(DomainError::Invalid(format!(
                    "quotaLimit {quota_gb} GB is below the {} GB the repository already uses: the quota cannot be below what is used",
                    gb(repo.used_bytes)
                )));
            }
            c.tx.execute("UPDATE repositories SET quota_gb = ?1 WHERE uuid = ?2", params![quota_gb, id])?;
            let detail = format!("quota changed from {} GB to {quota_gb} GB", repo.quota_limit_gb);
            self.log(c.tx, id, "UPDATE_QUOTA", &detail)?;
            self.repo_view(c.tx, region, id)
        })
    }

    /// Grants users policies on a repository (replacing what each had there).
    pub fn attach_users(
        &self,
        region: LocalRegion,
        id: &str,
        users: &[(String, Vec<String>)],
    ) -> DomainResult<Repository> {
        self.write(|c| {
            self.repo_view(c.tx, region, id)?;
            for (user_id, policies) in users {
                let name = self.user_name_in(c.tx, region, user_id, "repoUserList")?;
                super::users::upsert_grant(c.tx, user_id, id, policies)?;
                self.log(c.tx, id, "ATTACH_USER", &format!("user {name} attached"))?;
            }
            self.repo_view(c.tx, region, id)
        })
    }

    /// Takes every policy of these users on the repository away.
    pub fn detach_users(
        &self,
        region: LocalRegion,
        id: &str,
        users: &[String],
    ) -> DomainResult<Repository> {
        self.write(|c| {
            self.repo_view(c.tx, region, id)?;
            for user_id in users {
                let name = self.user_name_in(c.tx, region, user_id, "repoUserUuidList")?;
                c.tx.execute(
                    "DELETE FROM grants WHERE user_uuid = ?1 AND repo_uuid = ?2",
                    params![user_id, id],
                )?;
                self.log(c.tx, id, "DETACH_USER", &format!("user {name} detached"))?;
            }
            self.repo_view(c.tx, region, id)
        })
    }

    /// The repository's history, newest first.
    pub fn history(&self, region: LocalRegion, id: &str) -> DomainResult<Vec<HistoryEntry>> {
        self.read(|conn| {
            self.repo_view(conn, region, id)?;
            let mut stmt = conn.prepare_cached(
                "SELECT action, detail, at FROM history WHERE repo_uuid = ?1 ORDER BY id DESC",
            )?;
            let rows = stmt.query_map([id], |r| {
                Ok(HistoryEntry {
                    action: r.get(0)?,
                    detail: r.get(1)?,
                    at: r.get(2)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    /// A repository of the region by its backend name (`{accountId}-{name}`),
    /// as the registry names it.
    pub(super) fn repo_by_backend(
        &self,
        conn: &Connection,
        region: LocalRegion,
        backend: &str,
    ) -> DomainResult<Option<RepoRef>> {
        let prefix = format!("{}-", self.account_id);
        let Some(name) = backend.strip_prefix(&prefix) else {
            return Ok(None);
        };
        let found = conn
            .query_row(
                "SELECT uuid, name, public, quota_gb FROM repositories WHERE region = ?1 AND name = ?2",
                params![region_code(region), name],
                |r| {
                    Ok(RepoRef {
                        uuid: r.get(0)?,
                        backend_name: backend.to_string(),
                        name: r.get(1)?,
                        public: r.get(2)?,
                        quota_limit_gb: r.get(3)?,
                    })
                },
            )
            .optional()?;
        Ok(found)
    }
}
