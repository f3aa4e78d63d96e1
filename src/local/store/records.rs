//! Every statement on the records, behind typed methods: the core asks for
//! rows and changes them by name (`insert_repository`, `repository_by_name`,
//! `artifacts_of_image`, ...) and never sees SQL. [`Records`] reads;
//! [`Tx`] is one write transaction (it reads too), and remembers the blobs
//! it stopped holding so that [`super::Store::write`] can delete their
//! contents once committed.

use std::ops::Deref;

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::db;
use super::error::StoreResult;

/// A repository's row with its figures.
#[derive(Debug, Clone, PartialEq)]
pub struct RepositoryRow {
    pub uuid: String,
    pub name: String,
    pub public: bool,
    pub quota_gb: u64,
    pub created_at: i64,
    /// Bytes of the distinct blobs it holds.
    pub used_bytes: u64,
    pub image_count: u64,
    pub attached_users: u64,
}

/// A repository's row without figures (authorization and the data plane).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoKey {
    pub uuid: String,
    pub name: String,
    pub public: bool,
    pub quota_gb: u64,
}

/// A repository user's row (never its secret).
#[derive(Debug, Clone, PartialEq)]
pub struct UserRow {
    pub uuid: String,
    pub name: String,
    pub description: Option<String>,
    pub disabled: bool,
    pub expires_at: Option<i64>,
    pub created_at: i64,
}

/// What a new user's row holds.
#[derive(Debug, Clone)]
pub struct NewUserRow<'a> {
    pub uuid: &'a str,
    pub region: &'a str,
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub expires_at: Option<i64>,
    pub created_at: i64,
    pub salt: &'a str,
    pub secret_hash: &'a str,
}

/// A user's policies on one repository, in the user's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRow {
    pub repo_uuid: String,
    pub repo_name: String,
    pub policy_ids: Vec<String>,
}

/// What checking a login needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    pub uuid: String,
    pub salt: String,
    pub secret_hash: String,
    pub disabled: bool,
    pub expires_at: Option<i64>,
}

/// Whether a user can still act.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserState {
    pub disabled: bool,
    pub expires_at: Option<i64>,
}

/// An entry of a repository's history.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    pub action: String,
    pub detail: String,
    pub at: i64,
}

/// An image (a name under a repository) and its figures.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageSummary {
    pub name: String,
    pub artifact_count: u64,
    pub pull_count: u64,
    /// Unix milliseconds of the last push to the image.
    pub updated_at: i64,
}

/// An artifact of an image: a manifest or index pushed to it.
#[derive(Debug, Clone, PartialEq)]
pub struct Artifact {
    pub digest: String,
    pub tags: Vec<String>,
    /// The manifest and everything it references, in bytes.
    pub size: u64,
    /// Unix milliseconds.
    pub pushed_at: i64,
    /// Unix milliseconds of the last pull of the artifact (by tag or digest), if any.
    pub pulled_at: Option<i64>,
    pub media_type: String,
}

/// A manifest as stored: where to find it and how to serve it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestMeta {
    pub digest: String,
    pub media_type: String,
    pub size: u64,
}

/// A manifest that names another as its subject, as the referrers API lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Referrer {
    pub digest: String,
    pub media_type: String,
    pub size: u64,
    pub artifact_type: Option<String>,
    /// JSON object text.
    pub annotations: Option<String>,
}

/// A manifest's row as a push records it.
#[derive(Debug, Clone)]
pub struct ManifestRow<'a> {
    pub repo_uuid: &'a str,
    pub image: &'a str,
    pub digest: &'a str,
    pub media_type: &'a str,
    pub size: u64,
    pub artifact_size: u64,
    pub pushed_at: i64,
    pub subject: Option<&'a str>,
    pub artifact_type: Option<&'a str>,
    pub annotations: Option<&'a str>,
}

const REPO_VIEW: &str = "
    SELECT r.uuid, r.name, r.public, r.quota_gb, r.created_at,
        (SELECT COALESCE(SUM(size), 0) FROM repo_blobs b WHERE b.repo_uuid = r.uuid),
        (SELECT COUNT(*) FROM images i WHERE i.repo_uuid = r.uuid),
        (SELECT COUNT(*) FROM grants g WHERE g.repo_uuid = r.uuid)
    FROM repositories r";

/// Manifests of an image that are artifacts of their own (not a platform
/// manifest listed by an index of the same image).
const TOP_LEVEL: &str = "NOT EXISTS (SELECT 1 FROM manifest_refs r WHERE r.repo_uuid = m.repo_uuid
    AND r.image = m.image AND r.ref_digest = m.digest AND r.is_manifest = 1)";

fn repository_row(r: &Row<'_>) -> rusqlite::Result<RepositoryRow> {
    Ok(RepositoryRow {
        uuid: r.get(0)?,
        name: r.get(1)?,
        public: r.get(2)?,
        quota_gb: r.get(3)?,
        created_at: r.get(4)?,
        used_bytes: r.get::<_, i64>(5)? as u64,
        image_count: r.get(6)?,
        attached_users: r.get(7)?,
    })
}

fn strings(conn: &Connection, sql: &str, args: impl rusqlite::Params) -> StoreResult<Vec<String>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt
        .query_map(args, |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Reads the records (under the store's lock).
pub struct Records<'c> {
    conn: &'c Connection,
}

impl<'c> Records<'c> {
    pub(super) fn new(conn: &'c Connection) -> Records<'c> {
        Records { conn }
    }

    // Meta.

    /// A value kept in `meta` (the signing key), if set.
    pub fn meta(&self, key: &str) -> StoreResult<Option<String>> {
        Ok(db::meta(self.conn, key)?)
    }

    // Repositories.

    /// A repository of the region with its figures, by id.
    pub fn repository(&self, region: &str, uuid: &str) -> StoreResult<Option<RepositoryRow>> {
        let sql = format!("{REPO_VIEW} WHERE r.region = ?1 AND r.uuid = ?2");
        Ok(self
            .conn
            .query_row(&sql, params![region, uuid], repository_row)
            .optional()?)
    }

    /// Repositories of a region in creation order, optionally with `name` in
    /// their name and of one access level.
    pub fn repositories(
        &self,
        region: &str,
        name: Option<&str>,
        public: Option<bool>,
    ) -> StoreResult<Vec<RepositoryRow>> {
        let sql = format!(
            "{REPO_VIEW} WHERE r.region = ?1 AND (?2 IS NULL OR instr(r.name, ?2) > 0)
             AND (?3 IS NULL OR r.public = ?3) ORDER BY r.rowid"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt
            .query_map(params![region, name, public], repository_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Whether the region has a repository of this name.
    pub fn repository_name_taken(&self, region: &str, name: &str) -> StoreResult<bool> {
        Ok(self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM repositories WHERE region = ?1 AND name = ?2)",
            params![region, name],
            |r| r.get(0),
        )?)
    }

    /// Whether the region has a repository of this id.
    pub fn repository_exists(&self, region: &str, uuid: &str) -> StoreResult<bool> {
        Ok(self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM repositories WHERE region = ?1 AND uuid = ?2)",
            params![region, uuid],
            |r| r.get(0),
        )?)
    }

    /// A repository of the region by name, without figures.
    pub fn repository_by_name(&self, region: &str, name: &str) -> StoreResult<Option<RepoKey>> {
        Ok(self
            .conn
            .query_row(
                "SELECT uuid, name, public, quota_gb FROM repositories WHERE region = ?1 AND name = ?2",
                params![region, name],
                |r| {
                    Ok(RepoKey {
                        uuid: r.get(0)?,
                        name: r.get(1)?,
                        public: r.get(2)?,
                        quota_gb: r.get(3)?,
                    })
                },
            )
            .optional()?)
    }

    /// A repository's history, newest first.
    pub fn history(&self, repo: &str) -> StoreResult<Vec<HistoryEntry>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT action, detail, at FROM history WHERE repo_uuid = ?1 ORDER BY id DESC",
        )?;
        let rows = stmt
            .query_map([repo], |r| {
                Ok(HistoryEntry {
                    action: r.get(0)?,
                    detail: r.get(1)?,
                    at: r.get(2)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    // Users.

    /// A user of the region, by id.
    pub fn user(&self, region: &str, uuid: &str) -> StoreResult<Option<UserRow>> {
        Ok(self
            .conn
            .query_row(
                "SELECT uuid, name, description, disabled, expires_at, created_at
                 FROM users WHERE region = ?1 AND uuid = ?2",
                params![region, uuid],
                |r| {
                    Ok(UserRow {
                        uuid: r.get(0)?,
                        name: r.get(1)?,
                        description: r.get(2)?,
                        disabled: r.get(3)?,
                        expires_at: r.get(4)?,
                        created_at: r.get(5)?,
                    })
                },
            )
            .optional()?)
    }

    /// A user's policies on each repository, in the order they were granted.
    pub fn grants_of_user(&self, uuid: &str) -> StoreResult<Vec<GrantRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT g.repo_uuid, r.name, g.policies FROM grants g
             JOIN repositories r ON r.uuid = g.repo_uuid
             WHERE g.user_uuid = ?1 ORDER BY g.position",
        )?;
        let rows = stmt
            .query_map([uuid], |r| {
                let policies: String = r.get(2)?;
                Ok(GrantRow {
                    repo_uuid: r.get(0)?,
                    repo_name: r.get(1)?,
                    policy_ids: split_policies(&policies),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// A user's name, if the region has that user.
    pub fn user_name(&self, region: &str, uuid: &str) -> StoreResult<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT name FROM users WHERE region = ?1 AND uuid = ?2",
                params![region, uuid],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Ids of the region's users in creation order, optionally with `name` in
    /// their name (any case) and with policies on repository `repo`.
    pub fn user_ids(
        &self,
        region: &str,
        name: Option<&str>,
        repo: Option<&str>,
    ) -> StoreResult<Vec<String>> {
        strings(
            self.conn,
            "SELECT uuid FROM users u WHERE region = ?1
             AND (?2 IS NULL OR instr(lower(u.name), lower(?2)) > 0)
             AND (?3 IS NULL OR EXISTS (SELECT 1 FROM grants g WHERE g.user_uuid = u.uuid AND g.repo_uuid = ?3))
             ORDER BY u.rowid",
            params![region, name, repo],
        )
    }

    /// Whether the region has a user of this name.
    pub fn user_name_taken(&self, region: &str, name: &str) -> StoreResult<bool> {
        Ok(self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM users WHERE region = ?1 AND name = ?2)",
            params![region, name],
            |r| r.get(0),
        )?)
    }

    /// What checking the login of the region's user `name` needs.
    pub fn login(&self, region: &str, name: &str) -> StoreResult<Option<Login>> {
        Ok(self
            .conn
            .query_row(
                "SELECT uuid, salt, secret_hash, disabled, expires_at FROM users
                 WHERE region = ?1 AND name = ?2",
                params![region, name],
                |r| {
                    Ok(Login {
                        uuid: r.get(0)?,
                        salt: r.get(1)?,
                        secret_hash: r.get(2)?,
                        disabled: r.get(3)?,
                        expires_at: r.get(4)?,
                    })
                },
            )
            .optional()?)
    }

    /// Whether the region's user is disabled and when it expires.
    pub fn user_state(&self, region: &str, uuid: &str) -> StoreResult<Option<UserState>> {
        Ok(self
            .conn
            .query_row(
                "SELECT disabled, expires_at FROM users WHERE uuid = ?1 AND region = ?2",
                params![uuid, region],
                |r| {
                    Ok(UserState {
                        disabled: r.get(0)?,
                        expires_at: r.get(1)?,
                    })
                },
            )
            .optional()?)
    }

    /// The policies a user has on a repository (none when not granted).
    pub fn policies(&self, user: &str, repo: &str) -> StoreResult<Vec<String>> {
        let found: Option<String> = self
            .conn
            .query_row(
                "SELECT policies FROM grants WHERE user_uuid = ?1 AND repo_uuid = ?2",
                params![user, repo],
                |r| r.get(0),
            )
            .optional()?;
        Ok(found.as_deref().map(split_policies).unwrap_or_default())
    }

    // Blobs a repository holds.

    /// Bytes of the distinct blobs the repository holds.
    pub fn usage(&self, repo: &str) -> StoreResult<u64> {
        let used: i64 = self.conn.query_row(
            "SELECT COALESCE(SUM(size), 0) FROM repo_blobs WHERE repo_uuid = ?1",
            [repo],
            |r| r.get(0),
        )?;
        Ok(used as u64)
    }

    /// The size of a blob the repository holds, if it holds it.
    pub fn held_blob_size(&self, repo: &str, digest: &str) -> StoreResult<Option<u64>> {
        let size: Option<i64> = self
            .conn
            .query_row(
                "SELECT size FROM repo_blobs WHERE repo_uuid = ?1 AND digest = ?2",
                params![repo, digest],
                |r| r.get(0),
            )
            .optional()?;
        Ok(size.map(|s| s as u64))
    }

    /// Every blob the repository holds.
    pub fn blobs_of_repository(&self, repo: &str) -> StoreResult<Vec<String>> {
        strings(
            self.conn,
            "SELECT digest FROM repo_blobs WHERE repo_uuid = ?1",
            [repo],
        )
    }

    /// Whether any repository of any region holds the blob.
    pub fn blob_held_anywhere(&self, digest: &str) -> StoreResult<bool> {
        Ok(self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM repo_blobs WHERE digest = ?1)",
            [digest],
            |r| r.get(0),
        )?)
    }

    /// An image of the repository that has `digest` as a manifest, if any.
    pub fn image_with_manifest(&self, repo: &str, digest: &str) -> StoreResult<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT image FROM manifests WHERE repo_uuid = ?1 AND digest = ?2 LIMIT 1",
                params![repo, digest],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// An image of the repository and its manifest that names `digest`, if any.
    pub fn manifest_naming(
        &self,
        repo: &str,
        digest: &str,
    ) -> StoreResult<Option<(String, String)>> {
        Ok(self
            .conn
            .query_row(
                "SELECT image, manifest_digest FROM manifest_refs
                 WHERE repo_uuid = ?1 AND ref_digest = ?2 LIMIT 1",
                params![repo, digest],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// Whether anything in the repository still is or names `digest` (a
    /// manifest of any image, or a reference of one).
    pub fn digest_in_use(&self, repo: &str, digest: &str) -> StoreResult<bool> {
        Ok(self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM manifests WHERE repo_uuid = ?1 AND digest = ?2)
                 OR EXISTS (SELECT 1 FROM manifest_refs WHERE repo_uuid = ?1 AND ref_digest = ?2)",
            params![repo, digest],
            |r| r.get(0),
        )?)
    }

    // Images, manifests, tags.

    /// A manifest of the image by digest, or by the tag pointing at it.
    pub fn manifest_by_reference(
        &self,
        repo: &str,
        image: &str,
        reference: &str,
    ) -> StoreResult<Option<ManifestMeta>> {
        Ok(self
            .conn
            .query_row(
                "SELECT m.digest, m.media_type, m.size FROM manifests m
                 WHERE m.repo_uuid = ?1 AND m.image = ?2 AND (m.digest = ?3 OR m.digest =
                    (SELECT digest FROM tags WHERE repo_uuid = ?1 AND image = ?2 AND tag = ?3))",
                params![repo, image, reference],
                |r| {
                    Ok(ManifestMeta {
                        digest: r.get(0)?,
                        media_type: r.get(1)?,
                        size: r.get::<_, i64>(2)? as u64,
                    })
                },
            )
            .optional()?)
    }

    /// The size of a manifest of the image and all it references, if the
    /// image has it.
    pub fn artifact_size(&self, repo: &str, image: &str, digest: &str) -> StoreResult<Option<u64>> {
        let size: Option<i64> = self
            .conn
            .query_row(
                "SELECT artifact_size FROM manifests WHERE repo_uuid = ?1 AND image = ?2 AND digest = ?3",
                params![repo, image, digest],
                |r| r.get(0),
            )
            .optional()?;
        Ok(size.map(|s| s as u64))
    }

    /// Whether the image has the manifest.
    pub fn manifest_exists(&self, repo: &str, image: &str, digest: &str) -> StoreResult<bool> {
        Ok(self.artifact_size(repo, image, digest)?.is_some())
    }

    /// Every manifest of the image.
    pub fn manifests_of_image(&self, repo: &str, image: &str) -> StoreResult<Vec<String>> {
        strings(
            self.conn,
            "SELECT digest FROM manifests WHERE repo_uuid = ?1 AND image = ?2",
            params![repo, image],
        )
    }

    /// What a manifest of the image references (blobs and manifests).
    pub fn references_of(
        &self,
        repo: &str,
        image: &str,
        manifest: &str,
    ) -> StoreResult<Vec<String>> {
        strings(
            self.conn,
            "SELECT ref_digest FROM manifest_refs WHERE repo_uuid = ?1 AND image = ?2 AND manifest_digest = ?3",
            params![repo, image, manifest],
        )
    }

    /// Another manifest (an index) of the image that lists manifest `digest`, if any.
    pub fn index_listing(
        &self,
        repo: &str,
        image: &str,
        digest: &str,
    ) -> StoreResult<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT manifest_digest FROM manifest_refs WHERE repo_uuid = ?1 AND image = ?2
                 AND ref_digest = ?3 AND is_manifest = 1 AND manifest_digest <> ?3 LIMIT 1",
                params![repo, image, digest],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// The manifests an index of the image lists that no other manifest of
    /// the image lists.
    pub fn children_only_listed_by(
        &self,
        repo: &str,
        image: &str,
        index: &str,
    ) -> StoreResult<Vec<String>> {
        strings(
            self.conn,
            "SELECT ref_digest FROM manifest_refs r WHERE repo_uuid = ?1 AND image = ?2
             AND manifest_digest = ?3 AND is_manifest = 1
             AND NOT EXISTS (SELECT 1 FROM manifest_refs o WHERE o.repo_uuid = r.repo_uuid
                AND o.image = r.image AND o.ref_digest = r.ref_digest AND o.manifest_digest <> ?3)",
            params![repo, image, index],
        )
    }

    /// The manifests of an image whose subject is `subject`, oldest push
    /// first, of one artifact type when `artifact_type` is given.
    pub fn referrers(
        &self,
        repo: &str,
        image: &str,
        subject: &str,
        artifact_type: Option<&str>,
    ) -> StoreResult<Vec<Referrer>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT digest, media_type, size, artifact_type, annotations FROM manifests
             WHERE repo_uuid = ?1 AND image = ?2 AND subject = ?3
             AND (?4 IS NULL OR artifact_type = ?4)
             ORDER BY pushed_at, digest",
        )?;
        let rows = stmt
            .query_map(params![repo, image, subject, artifact_type], |r| {
                Ok(Referrer {
                    digest: r.get(0)?,
                    media_type: r.get(1)?,
                    size: r.get::<_, i64>(2)? as u64,
                    artifact_type: r.get(3)?,
                    annotations: r.get(4)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Whether the repository has the image.
    pub fn image_exists(&self, repo: &str, image: &str) -> StoreResult<bool> {
        Ok(self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM images WHERE repo_uuid = ?1 AND name = ?2)",
            params![repo, image],
            |r| r.get(0),
        )?)
    }

    /// Tags of an image in order after `last`, at most `limit` (all when `None`).
    pub fn tags(
        &self,
        repo: &str,
        image: &str,
        last: Option<&str>,
        limit: Option<u64>,
    ) -> StoreResult<Vec<String>> {
        let limit = limit.map(|n| n.min(i64::MAX as u64) as i64).unwrap_or(-1);
        strings(
            self.conn,
            "SELECT tag FROM tags WHERE repo_uuid = ?1 AND image = ?2 AND (?3 IS NULL OR tag > ?3)
             ORDER BY tag LIMIT ?4",
            params![repo, image, last, limit],
        )
    }

    /// The repository's images by name: all, those with `filter` in their
    /// name, or (`exact`) the one named `filter`.
    pub fn images(
        &self,
        repo: &str,
        filter: Option<&str>,
        exact: bool,
    ) -> StoreResult<Vec<ImageSummary>> {
        let sql = format!(
            "SELECT i.name, i.pull_count, i.updated_at,
                (SELECT COUNT(*) FROM manifests m WHERE m.repo_uuid = i.repo_uuid AND m.image = i.name AND {TOP_LEVEL})
             FROM images i WHERE i.repo_uuid = ?1
             AND (?2 IS NULL OR (?3 AND i.name = ?2) OR (NOT ?3 AND instr(i.name, ?2) > 0))
             ORDER BY i.name"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt
            .query_map(params![repo, filter, exact], |r| {
                Ok(ImageSummary {
                    name: r.get(0)?,
                    pull_count: r.get(1)?,
                    updated_at: r.get(2)?,
                    artifact_count: r.get(3)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// The artifacts of an image (its manifests no index of it lists), newest
    /// push first, each with its tags in order.
    pub fn artifacts_of_image(&self, repo: &str, image: &str) -> StoreResult<Vec<Artifact>> {
        let sql = format!(
            "SELECT m.digest, m.artifact_size, m.pushed_at, m.media_type, m.pulled_at,
                (SELECT group_concat(tag, char(10)) FROM (SELECT tag FROM tags t
                    WHERE t.repo_uuid = m.repo_uuid AND t.image = m.image AND t.digest = m.digest ORDER BY tag))
             FROM manifests m WHERE m.repo_uuid = ?1 AND m.image = ?2 AND {TOP_LEVEL}
             ORDER BY m.pushed_at DESC, m.digest"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt
            .query_map(params![repo, image], |r| {
                let tags: Option<String> = r.get(5)?;
                Ok(Artifact {
                    digest: r.get(0)?,
                    size: r.get::<_, i64>(1)? as u64,
                    pushed_at: r.get(2)?,
                    media_type: r.get(3)?,
                    pulled_at: r.get(4)?,
                    tags: tags
                        .map(|t| t.split('\n').map(String::from).collect())
                        .unwrap_or_default(),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }
}

fn split_policies(policies: &str) -> Vec<String> {
    policies
        .split(',')
        .filter(|p| !p.is_empty())
        .map(String::from)
        .collect()
}

/// One write transaction: reads (through [`Records`]) and changes. It
/// commits when [`super::Store::write`]'s closure succeeds, and rolls back
/// otherwise.
pub struct Tx<'c> {
    records: Records<'c>,
    /// Blobs a repository stopped holding in this transaction.
    pub(super) released: Vec<String>,
}

impl<'c> Deref for Tx<'c> {
    type Target = Records<'c>;

    fn deref(&self) -> &Records<'c> {
        &self.records
    }
}

impl<'c> Tx<'c> {
    pub(super) fn new(conn: &'c Connection) -> Tx<'c> {
        Tx {
            records: Records::new(conn),
            released: Vec::new(),
        }
    }

    fn execute(&self, sql: &str, args: impl rusqlite::Params) -> StoreResult<usize> {
        Ok(self.records.conn.prepare_cached(sql)?.execute(args)?)
    }

    /// Sets a value in `meta`.
    pub fn set_meta(&self, key: &str, value: &str) -> StoreResult<()> {
        Ok(db::set_meta(self.records.conn, key, value)?)
    }

    // Repositories.

    /// Adds a repository.
    pub fn insert_repository(
        &self,
        uuid: &str,
        region: &str,
        name: &str,
        public: bool,
        quota_gb: u64,
        created_at: i64,
    ) -> StoreResult<()> {
        self.execute(
            "INSERT INTO repositories (uuid, region, name, public, quota_gb, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![uuid, region, name, public, quota_gb, created_at],
        )
        .map(drop)
    }

    /// Deletes a repository with its grants, history and the blobs it holds
    /// (listed as released).
    pub fn delete_repository(&mut self, uuid: &str) -> StoreResult<()> {
        let held = self.blobs_of_repository(uuid)?;
        self.released.extend(held);
        self.execute("DELETE FROM repositories WHERE uuid = ?1", [uuid])
            .map(drop)
    }

    /// Sets a repository's quota.
    pub fn set_quota(&self, uuid: &str, quota_gb: u64) -> StoreResult<()> {
        self.execute(
            "UPDATE repositories SET quota_gb = ?1 WHERE uuid = ?2",
            params![quota_gb, uuid],
        )
        .map(drop)
    }

    /// Appends to a repository's history, dropping the oldest entries past `cap`.
    pub fn add_history(
        &self,
        repo: &str,
        action: &str,
        detail: &str,
        at: i64,
        cap: i64,
    ) -> StoreResult<()> {
        self.execute(
            "INSERT INTO history (repo_uuid, action, detail, at) VALUES (?1, ?2, ?3, ?4)",
            params![repo, action, detail, at],
        )?;
        self.execute(
            "DELETE FROM history WHERE repo_uuid = ?1 AND id <= (
                SELECT id FROM history WHERE repo_uuid = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
            params![repo, cap],
        )
        .map(drop)
    }

    // Users and grants.

    /// Adds a user.
    pub fn insert_user(&self, user: &NewUserRow<'_>) -> StoreResult<()> {
        self.execute(
            "INSERT INTO users (uuid, region, name, description, disabled, expires_at, created_at, salt, secret_hash)
             VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6, ?7, ?8)",
            params![
                user.uuid,
                user.region,
                user.name,
                user.description,
                user.expires_at,
                user.created_at,
                user.salt,
                user.secret_hash
            ],
        )
        .map(drop)
    }

    /// Sets when a user expires and its description.
    pub fn set_user_terms(
        &self,
        uuid: &str,
        expires_at: Option<i64>,
        description: Option<&str>,
    ) -> StoreResult<()> {
        self.execute(
            "UPDATE users SET expires_at = ?1, description = ?2 WHERE uuid = ?3",
            params![expires_at, description, uuid],
        )
        .map(drop)
    }

    /// Enables or disables a user.
    pub fn set_user_disabled(&self, uuid: &str, disabled: bool) -> StoreResult<()> {
        self.execute(
            "UPDATE users SET disabled = ?1 WHERE uuid = ?2",
            params![disabled, uuid],
        )
        .map(drop)
    }

    /// Replaces a user's secret (its salt and hash).
    pub fn set_user_secret(&self, uuid: &str, salt: &str, secret_hash: &str) -> StoreResult<()> {
        self.execute(
            "UPDATE users SET salt = ?1, secret_hash = ?2 WHERE uuid = ?3",
            params![salt, secret_hash, uuid],
        )
        .map(drop)
    }

    /// Deletes a user with its grants.
    pub fn delete_user(&self, uuid: &str) -> StoreResult<()> {
        self.execute("DELETE FROM users WHERE uuid = ?1", [uuid])
            .map(drop)
    }

    /// Sets a user's policies on a repository, keeping its place in the
    /// user's list when it had some already.
    pub fn upsert_grant(&self, user: &str, repo: &str, policies: &[String]) -> StoreResult<()> {
        self.execute(
            "INSERT INTO grants (user_uuid, repo_uuid, position, policies)
             VALUES (?1, ?2, (SELECT COALESCE(MAX(position), 0) + 1 FROM grants WHERE user_uuid = ?1), ?3)
             ON CONFLICT (user_uuid, repo_uuid) DO UPDATE SET policies = excluded.policies",
            params![user, repo, policies.join(",")],
        )
        .map(drop)
    }

    /// Takes a user's policies on a repository away.
    pub fn delete_grant(&self, user: &str, repo: &str) -> StoreResult<()> {
        self.execute(
            "DELETE FROM grants WHERE user_uuid = ?1 AND repo_uuid = ?2",
            params![user, repo],
        )
        .map(drop)
    }

    /// Takes every policy of a user away.
    pub fn delete_grants_of_user(&self, user: &str) -> StoreResult<()> {
        self.execute("DELETE FROM grants WHERE user_uuid = ?1", [user])
            .map(drop)
    }

    // Blobs a repository holds.

    /// Records that the repository holds a blob.
    pub fn insert_repo_blob(&self, repo: &str, digest: &str, size: u64) -> StoreResult<()> {
        self.execute(
            "INSERT INTO repo_blobs (repo_uuid, digest, size) VALUES (?1, ?2, ?3)",
            params![repo, digest, size as i64],
        )
        .map(drop)
    }

    /// The repository stops holding a blob (listed as released); `false`
    /// when it did not hold it.
    pub fn release_repo_blob(&mut self, repo: &str, digest: &str) -> StoreResult<bool> {
        let n = self.execute(
            "DELETE FROM repo_blobs WHERE repo_uuid = ?1 AND digest = ?2",
            params![repo, digest],
        )?;
        if n > 0 {
            self.released.push(digest.to_string());
        }
        Ok(n > 0)
    }

    // Images, manifests, tags.

    /// Creates the image, or marks it changed at `at`.
    pub fn touch_image(&self, repo: &str, image: &str, at: i64) -> StoreResult<()> {
        self.execute(
            "INSERT INTO images (repo_uuid, name, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (repo_uuid, name) DO UPDATE SET updated_at = excluded.updated_at",
            params![repo, image, at],
        )
        .map(drop)
    }

    /// Records a pushed manifest (a push of one already there updates its
    /// push time and OCI 1.1 fields).
    pub fn upsert_manifest(&self, m: &ManifestRow<'_>) -> StoreResult<()> {
        self.execute(
            "INSERT INTO manifests (repo_uuid, image, digest, media_type, size, artifact_size, pushed_at,
                subject, artifact_type, annotations)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT (repo_uuid, image, digest) DO UPDATE SET pushed_at = excluded.pushed_at,
                subject = excluded.subject, artifact_type = excluded.artifact_type,
                annotations = excluded.annotations",
            params![
                m.repo_uuid,
                m.image,
                m.digest,
                m.media_type,
                m.size as i64,
                m.artifact_size as i64,
                m.pushed_at,
                m.subject,
                m.artifact_type,
                m.annotations
            ],
        )
        .map(drop)
    }

    /// Records that a manifest of the image references a blob or (`is_manifest`) a manifest.
    pub fn insert_reference(
        &self,
        repo: &str,
        image: &str,
        manifest: &str,
        reference: &str,
        is_manifest: bool,
    ) -> StoreResult<()> {
        self.execute(
            "INSERT OR IGNORE INTO manifest_refs (repo_uuid, image, manifest_digest, ref_digest, is_manifest)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![repo, image, manifest, reference, is_manifest],
        )
        .map(drop)
    }

    /// Points a tag of the image at a manifest, pushed at `at`.
    pub fn set_tag(
        &self,
        repo: &str,
        image: &str,
        tag: &str,
        digest: &str,
        at: i64,
    ) -> StoreResult<()> {
        self.execute(
            "INSERT INTO tags (repo_uuid, image, tag, digest, pushed_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (repo_uuid, image, tag) DO UPDATE SET digest = excluded.digest,
                pushed_at = excluded.pushed_at",
            params![repo, image, tag, digest, at],
        )
        .map(drop)
    }

    /// Deletes a tag of the image.
    pub fn delete_tag(&self, repo: &str, image: &str, tag: &str) -> StoreResult<()> {
        self.execute(
            "DELETE FROM tags WHERE repo_uuid = ?1 AND image = ?2 AND tag = ?3",
            params![repo, image, tag],
        )
        .map(drop)
    }

    /// Counts a pull of the image, of its manifest `digest` at `at`, and of
    /// `tag` when it was pulled by tag.
    pub fn record_pull(
        &self,
        repo: &str,
        image: &str,
        digest: &str,
        tag: Option<&str>,
        at: i64,
    ) -> StoreResult<()> {
        self.execute(
            "UPDATE images SET pull_count = pull_count + 1 WHERE repo_uuid = ?1 AND name = ?2",
            params![repo, image],
        )?;
        self.execute(
            "UPDATE manifests SET pulled_at = ?4 WHERE repo_uuid = ?1 AND image = ?2 AND digest = ?3",
            params![repo, image, digest, at],
        )?;
        if let Some(tag) = tag {
            self.execute(
                "UPDATE tags SET pulled_at = ?4 WHERE repo_uuid = ?1 AND image = ?2 AND tag = ?3",
                params![repo, image, tag, at],
            )?;
        }
        Ok(())
    }

    /// Deletes a manifest of the image with its tags and references.
    pub fn delete_manifest(&self, repo: &str, image: &str, digest: &str) -> StoreResult<()> {
        self.execute(
            "DELETE FROM manifests WHERE repo_uuid = ?1 AND image = ?2 AND digest = ?3",
            params![repo, image, digest],
        )
        .map(drop)
    }

    /// Deletes the image if it has no manifest left.
    pub fn delete_image_if_empty(&self, repo: &str, image: &str) -> StoreResult<()> {
        self.execute(
            "DELETE FROM images WHERE repo_uuid = ?1 AND name = ?2
             AND NOT EXISTS (SELECT 1 FROM manifests WHERE repo_uuid = ?1 AND image = ?2)",
            params![repo, image],
        )
        .map(drop)
    }
}
