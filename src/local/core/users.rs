//! Repository users (robot accounts): create, list, change, enable and disable,
//! grants, secret refresh, delete.

use super::model::{GrantRequest, GrantView, User};
use super::{rules, secrets, Core, DomainError, DomainResult, LocalRegion};
use crate::local::store::records::NewUserRow;
use crate::local::store::{Records, Tx};

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

impl Core {
    fn user_view(
        &self,
        records: &Records<'_>,
        region: LocalRegion,
        id: &str,
    ) -> DomainResult<User> {
        let row = records
            .user(region.code(), id)?
            .ok_or_else(|| not_found(region, id))?;
        let grants = records
            .grants_of_user(id)?
            .into_iter()
            .map(|g| GrantView {
                repo_uuid: g.repo_uuid,
                repo_backend_name: self.backend_name(&g.repo_name),
                repo_name: g.repo_name,
                policy_ids: g.policy_ids,
            })
            .collect();
        Ok(User {
            uuid: row.uuid,
            backend_name: self.backend_name(&row.name),
            name: row.name,
            description: row.description,
            disabled: row.disabled,
            expires_at: row.expires_at,
            created_at: row.created_at,
            grants,
        })
    }

    /// A user's name, checking it exists in the region (for the message of a
    /// request listing users in `field`).
    pub(super) fn user_name_in(
        &self,
        records: &Records<'_>,
        region: LocalRegion,
        id: &str,
        field: &str,
    ) -> DomainResult<String> {
        records.user_name(region.code(), id)?.ok_or_else(|| {
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
        self.store.read(|records| {
            if let Some(repo) = repo {
                self.repo_view(records, region, repo)?;
            }
            let ids = records.user_ids(region.code(), name, repo)?;
            ids.iter()
                .map(|id| self.user_view(records, region, id))
                .collect()
        })
    }

    /// Checks a permission list: every repository exists in the region and is
    /// listed once.
    fn check_grants(
        &self,
        records: &Records<'_>,
        region: LocalRegion,
        grants: &[GrantRequest],
    ) -> DomainResult<()> {
        for (i, g) in grants.iter().enumerate() {
            let field = format!("permissionRequestList[{i}].repoId");
            if !records.repository_exists(region.code(), &g.repo_uuid)? {
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
        self.store.write(|tx| {
            if tx.user_name_taken(region.code(), &new.name)? {
                return Err(DomainError::conflict(
                    "USER_NAME_TAKEN",
                    format!("a repository user named {:?} already exists: names are unique in the account", new.name),
                ));
            }
            self.check_grants(tx, region, &new.grants)?;
            let uuid = format!("ra-{}", uuid::Uuid::new_v4());
            tx.insert_user(&NewUserRow {
                uuid: &uuid,
                region: region.code(),
                name: &new.name,
                description: new.description.as_deref(),
                expires_at: new.duration_days.map(|d| now + d as i64 * DAY),
                created_at: now,
                salt: &salt,
                secret_hash: &hash,
            })?;
            for g in &new.grants {
                tx.upsert_grant(&uuid, &g.repo_uuid, &g.policy_ids)?;
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
        f: impl FnOnce(&Tx<'_>) -> DomainResult<()>,
    ) -> DomainResult<User> {
        self.store.write(|tx| {
            self.user_view(tx, region, id)?;
            f(tx)?;
            self.user_view(tx, region, id)
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
            Ok(tx.set_user_terms(id, expires, description.as_deref())?)
        })
    }

    /// Enables or disables a user; a disabled user's tokens stop working at once.
    pub fn set_user_disabled(
        &self,
        region: LocalRegion,
        id: &str,
        disabled: bool,
    ) -> DomainResult<User> {
        self.change_user(region, id, |tx| Ok(tx.set_user_disabled(id, disabled)?))
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
            tx.delete_grants_of_user(id)?;
            for g in grants {
                tx.upsert_grant(id, &g.repo_uuid, &g.policy_ids)?;
            }
            Ok(())
        })
    }

    /// Deletes a user.
    pub fn delete_user(&self, region: LocalRegion, id: &str) -> DomainResult<User> {
        self.store.write(|tx| {
            let user = self.user_view(tx, region, id)?;
            tx.delete_user(id)?;
            Ok(user)
        })
    }

    /// A new secret for the user; the old one stops working.
    pub fn refresh_secret(&self, region: LocalRegion, id: &str) -> DomainResult<String> {
        let secret = secrets::new_secret();
        let (salt, hash) = secrets::hash_secret(&secret);
        self.change_user(region, id, |tx| Ok(tx.set_user_secret(id, &salt, &hash)?))?;
        Ok(secret)
    }
}
