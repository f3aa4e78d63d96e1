//! Repository users (robot accounts): create, list, change, enable and disable,
//! grants, secret refresh, delete.

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::model::{GrantRequest, GrantView, User};
use super::{region_code, rules, secrets, Core, DomainError, DomainResult};
use crate::local::LocalRegion;

const DAY: i64 = 86_400;

/// What creating a user takes.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    pub name: String,
    pub description: Option<String>,
    /// Days until it expires; `None` for never.
    pub duration_days: Option<u64>,
    pub grants: Vec<GrantRequest>,
}

pub(super) fn not_found(region: LocalRegion, id: &str) -> DomainError {
    DomainError::NotFound(format!(
        "no repository user {id:?} in region {}",
        region.code()
    ))
}

/// Sets a user's policies on a repository, keeping its place in the list when
/// it had some already.
pub(super) fn upsert_grant(
    tx: &Transaction<'_>,
    user: &str,
    repo: &str,
    policies: &[String],
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO grants (user_uuid, repo_uuid, position, policies)
         VALUES (?1, ?2, (SELECT COALESCE(MAX(position), 0) + 1 FROM grants WHERE user_uuid = ?1), ?3)
         ON CONFLICT (user_uuid, repo_uuid) DO UPDATE SET policies = excluded.policies",
        params![user, repo, policies.join(",")],
    )
    .map(drop)
}

impl Core {
    fn user_view(&self, conn: &Connection, region: LocalRegion, id: &str) -> DomainResult<User> {
        let user = conn
            .query_row(
                "SELECT uuid, name, description, disabled, expires_at, created_at
                 FROM users WHERE region = ?1 AND uuid = ?2",
                params![region_code(region), id],
                |r| {
                    let name: String = r.get(1)?;
                    Ok(User {
                        uuid: r.get(0)?,
                        backend_name: self.backend_name(&name),
                        name,
                        description: r.get(2)?,
                        disabled: r.get(3)?,
                        expires_at: r.get(4)?,
                        created_at: r.get(5)?,
                        grants: Vec::new(),
                    })
                },
            )
            .optional()?;
        let mut user = user.ok_or_else(|| not_found(region, id))?;
        let mut stmt = conn.prepare_cached(
            "SELECT g.repo_uuid, r.name, g.policies FROM grants g
             JOIN repositories r ON r.uuid = g.repo_uuid
             WHERE g.user_uuid = ?1 ORDER BY g.position",
        )?;
        let grants = stmt.query_map([id], |r| {
            let repo_name: String = r.get(1)?;
            let policies: String = r.get(2)?;
            Ok(GrantView {
                repo_uuid: r.get(0)?,
                repo_backend_name: self.backend_name(&repo_name),
                repo_name,
                policy_ids: policies
                    .split(',')
                    .filter(|p| !p.is_empty())
                    .map(String::from)
                    .collect(),
            })
        })?;
        user.grants = grants.collect::<Result<_, _>>()?;
        Ok(user)
    }

    /// A user's name, checking it exists in the region (for the message of a
    /// request listing users in `field`).
    pub(super) fn user_name_in(
        &self,
        conn: &Connection,
        region: LocalRegion,
        id: &str,
        field: &str,
    ) -> DomainResult<String> {
        conn.query_row(
            "SELECT name FROM users WHERE region = ?1 AND uuid = ?2",
            params![region_code(region), id],
            |r| r.get(0),
        )
        .optional()?
        .ok_or_else(|| {
            DomainError::Invalid(format!(
                "{field}: no repository user {id:?} in region {}",
                region.code()
            ))
        })
    }

    /// Users of a region in creation order, optionally by part of the name
    /// (any case) and by a repository they have policies on.
    pub fn list_users(
        &self,
        region: LocalRegion,
        name: Option<&str>,
        repo: Option<&str>,
    ) -> DomainResult<Vec<User>> {
        self.read(|conn| {
            if let Some(repo) = repo {
                self.repo_view(conn, region, repo)?;
            }
            let mut stmt = conn.prepare_cached(
                "SELECT uuid FROM users u WHERE region = ?1
                 AND (?2 IS NULL OR instr(lower(u.name), lower(?2)) > 0)
                 AND (?3 IS NULL OR EXISTS (SELECT 1 FROM grants g WHERE g.user_uuid = u.uuid AND g.repo_uuid = ?3))
                 ORDER BY u.rowid",
            )?;
            let ids = stmt
                .query_map(params![region_code(region), name, repo], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            ids.iter().map(|id| self.user_view(conn, region, id)).collect()
        })
    }

    /// Checks a permission list: every repository exists in the region and is
    /// listed once.
    fn check_grants(
        &self,
        conn: &Connection,
        region: LocalRegion,
        grants: &[GrantRequest],
    ) -> DomainResult<()> {
        for (i, g) in grants.iter().enumerate() {
            let field = format!("permissionRequestList[{i}].repoId");
            let exists: bool = conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM repositories WHERE region = ?1 AND uuid = ?2)",
                params![region_code(region), g.repo_uuid],
                |r| r.get(0),
            )?;
            if !exists {
                return Err(DomainError::Invalid(format!(
                    "{field}: no repository {:?} in region {}",
                    g.repo_uuid,
                    region.code()
                )));
            }
            if grants[..i].iter().any(|o| o.repo_uuid == g.repo_uuid) {
                return Err(DomainError::Invalid(format!(
                    "{field}: repository {:?} is listed twice",
                    g.repo_uuid
                )));
            }
        }
        Ok(())
    }

    /// Creates a user and answers its secret (the only time it is shown, but
    /// for a refresh).
    pub fn create_user(&self, region: LocalRegion, new: &NewUser) -> DomainResult<String> {
        rules::user_name(&new.name)?;
        rules::duration(new.duration_days.map(|d| d as i64))?;
        rules::description(new.description.clone())?;
        let secret = secrets::new_secret();
        let (salt, hash) = secrets::hash_secret(&secret);
        let now = self.clock.now();
        self.write(|c| {
            let taken: bool = c.tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM users WHERE region = ?1 AND name = ?2)",
                params![region_code(region), new.name],
                |r| r.get(0),
            )?;
            if taken {
                return Err(DomainError::conflict(
                    "USER_NAME_TAKEN",
                    format!("a repository user named {:?} already exists: names are unique in the account", new.name),
                ));
            }
            self.check_grants(c.tx, region, &new.grants)?;
            let uuid = format!("ra-{}", uuid::Uuid::new_v4());
            c.tx.execute(
                "INSERT INTO users (uuid, region, name, description, disabled, expires_at, created_at, salt, secret_hash)
                 VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6, ?7, ?8)",
                params![
                    uuid,
                    region_code(region),
                    new.name,
                    new.description,
                    new.duration_days.map(|d| now + d as i64 * DAY),
                    now,
                    salt,
                    hash
                ],
            )?;
            for g in &new.grants {
                upsert_grant(c.tx, &uuid, &g.repo_uuid, &g.policy_ids)?;
            }
            Ok(())
        })?;
        Ok(secret)
    }

    /// Applies `f` to a user's row in a transaction and answers the user.
    fn change_user(
        &self,
        region: LocalRegion,
        id: &str,
        f: impl FnOnce(&Transaction<'_>) -> DomainResult<()>,
    ) -> DomainResult<User> {
        self.write(|c| {
            self.user_view(c.tx, region, id)?;
            f(c.tx)?;
            self.user_view(c.tx, region, id)
        })
    }

    /// **Assumed** semantics of `PUT /v1/user/{id}`: both fields are replaced;
    /// a duration counts from now, and none means "never expires".
    pub fn update_user(
        &self,
        region: LocalRegion,
        id: &str,
        duration_days: Option<u64>,
        description: Option<String>,
    ) -> DomainResult<User> {
        rules::duration(duration_days.map(|d| d as i64))?;
        let description = rules::description(description)?;
        let expires = duration_days.map(|d| self.clock.now() + d as i64 * DAY);
        self.change_user(region, id, |tx| {
            tx.execute(
                "UPDATE users SET expires_at = ?1, description = ?2 WHERE uuid = ?3",
                params![expires, description, id],
            )?;
            Ok(())
        })
    }

    /// Enables or disables a user; a disabled user's tokens stop working at once.
    pub fn set_user_disabled(
        &self,
        region: LocalRegion,
        id: &str,
        disabled: bool,
    ) -> DomainResult<User> {
        self.change_user(region, id, |tx| {
            tx.execute(
                "UPDATE users SET disabled = ?1 WHERE uuid = ?2",
                params![disabled, id],
            )?;
            Ok(())
        })
    }

    /// Replaces a user's grants.
    pub fn set_user_grants(
        &self,
        region: LocalRegion,
        id: &str,
        grants: &[GrantRequest],
    ) -> DomainResult<User> {
        self.change_user(region, id, |tx| {
            self.check_grants(tx, region, grants)?;
            tx.execute("DELETE FROM grants WHERE user_uuid = ?1", [id])?;
            for g in grants {
                upsert_grant(tx, id, &g.repo_uuid, &g.policy_ids)?;
            }
            Ok(())
        })
    }

    /// Deletes a user.
    pub fn delete_user(&self, region: LocalRegion, id: &str) -> DomainResult<User> {
        self.write(|c| {
            let user = self.user_view(c.tx, region, id)?;
            c.tx.execute("DELETE FROM users WHERE uuid = ?1", [id])?;
            Ok(user)
        })
    }

    /// A new secret for the user; the old one stops working.
    pub fn refresh_secret(&self, region: LocalRegion, id: &str) -> DomainResult<String> {
        let secret = secrets::new_secret();
        let (salt, hash) = secrets::hash_secret(&secret);
        self.change_user(region, id, |tx| {
            tx.execute(
                "UPDATE users SET salt = ?1, secret_hash = ?2 WHERE uuid = ?3",
                params![salt, hash, id],
            )?;
            Ok(())
        })?;
        Ok(secret)
    }
}
