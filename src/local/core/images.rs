//! Images and artifacts as the management API shows them: what was really
//! pushed to the registry, listed and deleted.

use rusqlite::{params, Connection, OptionalExtension};

use super::model::{Artifact, ImageSummary, RepoRef};
use super::{Core, DomainError, DomainResult};
use crate::local::LocalRegion;

/// Manifests of an image that are artifacts of their own (not a platform
/// manifest listed by an index of the same image).
const TOP_LEVEL: &str = "NOT EXISTS (SELECT 1 FROM manifest_refs r WHERE r.repo_uuid = m.repo_uuid
    AND r.image = m.image AND r.ref_digest = m.digest AND r.is_manifest = 1)";

impl Core {
    fn repo_ref(&self, conn: &Connection, region: LocalRegion, id: &str) -> DomainResult<RepoRef> {
        let repo = self.repo_view(conn, region, id)?;
        Ok(RepoRef {
            uuid: repo.uuid,
            name: repo.name,
            backend_name: repo.backend_name,
            public: repo.public,
            quota_limit_gb: repo.quota_limit_gb,
        })
    }

    fn image_summaries(
        &self,
        conn: &Connection,
        repo_uuid: &str,
        filter: Option<&str>,
        exact: bool,
    ) -> DomainResult<Vec<ImageSummary>> {
        let sql = format!(
            "SELECT i.name, i.pull_count, i.updated_at,
                (SELECT COUNT(*) FROM manifests m WHERE m.repo_uuid = i.repo_uuid AND m.image = i.name AND {TOP_LEVEL})
             FROM images i WHERE i.repo_uuid = ?1
             AND (?2 IS NULL OR (?3 AND i.name = ?2) OR (NOT ?3 AND instr(i.name, ?2) > 0))
             ORDER BY i.name"
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![repo_uuid, filter, exact], |r| {
            Ok(ImageSummary {
                name: r.get(0)?,
                pull_count: r.get(1)?,
                updated_at: r.get(2)?,
                artifact_count: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// The images of a repository by name, optionally by part of the name.
    pub fn list_images(
        &self,
        region: LocalRegion,
        repo_id: &str,
        name: Option<&str>,
    ) -> DomainResult<Vec<ImageSummary>> {
        self.read(|conn| {
            let repo = self.repo_ref(conn, region, repo_id)?;
            self.image_summaries(conn, &repo.uuid, name, false)
        })
    }

    /// One image of a repository.
    pub fn image(
        &self,
        region: LocalRegion,
        repo_id: &str,
        image: &str,
    ) -> DomainResult<ImageSummary> {
        self.read(|conn| {
            let repo = self.repo_ref(conn, region, repo_id)?;
            self.image_summaries(conn, &repo.uuid, Some(image), true)?
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
        self.read(|conn| {
            let repo = self.repo_ref(conn, region, repo_id)?;
            self.image_summaries(conn, &repo.uuid, Some(image), true)?
                .first()
                .ok_or_else(|| no_image(image, &repo.name))?;
            let sql = format!(
                "SELECT m.digest, m.artifact_size, m.pushed_at, m.media_type, m.pulled_at,
                    (SELECT group_concat(tag, char(10)) FROM (SELECT tag FROM tags t
                        WHERE t.repo_uuid = m.repo_uuid AND t.image = m.image AND t.digest = m.digest ORDER BY tag))
                 FROM manifests m WHERE m.repo_uuid = ?1 AND m.image = ?2 AND {TOP_LEVEL}
                 ORDER BY m.pushed_at DESC, m.digest"
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt.query_map(params![repo.uuid, image], |r| {
                let tags: Option<String> = r.get(5)?;
                Ok(Artifact {
                    digest: r.get(0)?,
                    size: r.get::<_, i64>(1)? as u64,
                    pushed_at: r.get(2)?,
                    media_type: r.get(3)?,
                    pulled_at: r.get(4)?,
                    tags: tags.map(|t| t.split('\n').map(String::from).collect()).unwrap_or_default(),
                })
            })?;
            let all = rows.collect::<Result<Vec<_>, _>>()?;
            Ok(match filter {
                None => all,
                Some(f) => all
                    .into_iter()
                    .filter(|a| a.digest.contains(f) || a.tags.iter().any(|t| t.contains(f)))
                    .collect(),
            })
        })
    }

    /// Deletes every artifact of an image (and so the image).
    pub fn delete_image(
        &self,
        region: LocalRegion,
        repo_id: &str,
        image: &str,
    ) -> DomainResult<()> {
        self.write(|c| {
            let repo = self.repo_ref(c.tx, region, repo_id)?;
            let mut stmt =
                c.tx.prepare("SELECT digest FROM manifests WHERE repo_uuid = ?1 AND image = ?2")?;
            let digests = stmt
                .query_map(params![repo.uuid, image], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            drop(stmt);
            if digests.is_empty() {
                return Err(no_image(image, &repo.name));
            }
            self.remove_manifests(c, &repo, image, &digests)?;
            self.log(
                c.tx,
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
        self.write(|c| {
            let repo = self.repo_ref(c.tx, region, repo_id)?;
            let exists = c
                .tx
                .query_row(
                    "SELECT 1 FROM manifests WHERE repo_uuid = ?1 AND image = ?2 AND digest = ?3",
                    params![repo.uuid, image, digest],
                    |_| Ok(()),
                )
                .optional()?;
            if exists.is_none() {
                return Err(DomainError::NotFound(format!(
                    "no artifact {digest:?} of image {image:?} in repository {:?}",
                    repo.name
                )));
            }
            self.refuse_if_listed(c, &repo, image, digest)?;
            let mut stmt = c.tx.prepare(
                "SELECT ref_digest FROM manifest_refs r WHERE repo_uuid = ?1 AND image = ?2
                 AND manifest_digest = ?3 AND is_manifest = 1
                 AND NOT EXISTS (SELECT 1 FROM manifest_refs o WHERE o.repo_uuid = r.repo_uuid
                    AND o.image = r.image AND o.ref_digest = r.ref_digest AND o.manifest_digest <> ?3)",
            )?;
            let children = stmt
                .query_map(params![repo.uuid, image, digest], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            drop(stmt);
            let mut all = vec![digest.to_string()];
            all.extend(children);
            self.remove_manifests(c, &repo, image, &all)?;
            self.log(c.tx, &repo.uuid, "DELETE_ARTIFACT", &format!("{image}@{digest} deleted"))
        })
    }
}

fn no_image(image: &str, repo: &str) -> DomainError {
    DomainError::NotFound(format!("no image {image:?} in repository {repo:?}"))
}
