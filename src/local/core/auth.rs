//! Who is asking (`authenticate`) and what they may do (`authorize`), from the
//! users, grants and repositories as they are now: a user disabled or expired
//! after it got a token is refused from then on.

use rusqlite::{params, Connection, OptionalExtension};

use super::model::{policy, Action, Principal, RepoRef, Rights, UserRef};
use super::{region_code, secrets, Core, DomainError, DomainResult};
use crate::local::LocalRegion;

/// The distribution spec's words for a refusal, which docker prints.
pub const DENIED_MESSAGE: &str = "requested access to the resource is denied";

/// The one answer for an unknown user and a wrong secret, so that a refusal
/// does not tell which user names exist.
pub const BAD_CREDENTIALS: &str = "the user name or secret is wrong";

/// A salt and hash no secret matches, checked against for an unknown user so
/// that its refusal takes as long as a wrong secret's.
const NO_USER_SALT: &str = "00000000000000000000000000000000";
const NO_USER_HASH: &str = "not a hash: an unknown user never logs in";

/// Why a user cannot act now, if it cannot.
fn unusable(disabled: bool, expires_at: Option<i64>, now: i64) -> Option<&'static str> {
    if disabled {
        Some("the user is disabled")
    } else if expires_at.is_some_and(|e| e <= now) {
        Some("the user has expired")
    } else {
        None
    }
}

impl Core {
    /// The principal behind a docker login: `None` is anonymous; otherwise
    /// the user of this region whose backend name is `username`, if the secret
    /// matches and the user is enabled and unexpired. An unknown user and a
    /// wrong secret get the same error ([`BAD_CREDENTIALS`], after the same
    /// work); only a caller with the right secret learns that the user is
    /// disabled or expired (the registry answers the same for all).
    pub fn authenticate(
        &self,
        region: LocalRegion,
        credentials: Option<(&str, &str)>,
    ) -> DomainResult<Principal> {
        let Some((username, secret)) = credentials else {
            return Ok(Principal::Anonymous);
        };
        let prefix = format!("{}-", self.account_id);
        let name = username.strip_prefix(&prefix).unwrap_or("");
        let row = self.read(|conn| {
            Ok(conn
                .query_row(
                    "SELECT uuid, salt, secret_hash, disabled, expires_at FROM users
                     WHERE region = ?1 AND name = ?2",
                    params![region_code(region), name],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, bool>(3)?,
                            r.get::<_, Option<i64>>(4)?,
                        ))
                    },
                )
                .optional()?)
        })?;
        let Some((uuid, salt, hash, disabled, expires_at)) = row else {
            let _ = secrets::secret_matches(NO_USER_SALT, NO_USER_HASH, secret);
            tracing::debug!(
                region = region.code(),
                username,
                "login refused: no such user"
            );
            return Err(DomainError::Unauthenticated(BAD_CREDENTIALS.into()));
        };
        if !secrets::secret_matches(&salt, &hash, secret) {
            tracing::debug!(
                region = region.code(),
                username,
                "login refused: wrong secret"
            );
            return Err(DomainError::Unauthenticated(BAD_CREDENTIALS.into()));
        }
        if let Some(why) = unusable(disabled, expires_at, self.clock.now()) {
            return Err(DomainError::Unauthenticated(why.into()));
        }
        Ok(Principal::User(UserRef {
            uuid,
            backend_name: username.to_string(),
            region,
        }))
    }

    /// What the principal may do on the repository named by its backend name
    /// in this region: `None` when there is no such repository (or the user
    /// can no longer act: then the error says why).
    pub fn rights(
        &self,
        principal: &Principal,
        region: LocalRegion,
        backend: &str,
    ) -> DomainResult<Option<(RepoRef, Rights)>> {
        self.read(|conn| self.rights_in(conn, principal, region, backend))
    }

    fn rights_in(
        &self,
        conn: &Connection,
        principal: &Principal,
        region: LocalRegion,
        backend: &str,
    ) -> DomainResult<Option<(RepoRef, Rights)>> {
        self.still_usable(conn, principal, region)?;
        let Some(repo) = self.repo_by_backend(conn, region, backend)? else {
            return Ok(None);
        };
        let mut rights = if repo.public {
            Rights::PULL
        } else {
            Rights::NONE
        };
        if let Principal::User(user) = principal {
            let policies: Option<String> = conn
                .query_row(
                    "SELECT policies FROM grants WHERE user_uuid = ?1 AND repo_uuid = ?2",
                    params![user.uuid, repo.uuid],
                    |r| r.get(0),
                )
                .optional()?;
            for id in policies.iter().flat_map(|p| p.split(',')) {
                if let Some(p) = policy(id) {
                    rights = rights.union(p.rights);
                }
            }
        }
        Ok(Some((repo, rights)))
    }

    /// Refuses a user (from a token) that was deleted, disabled or has expired
    /// since, or that belongs to another region.
    fn still_usable(
        &self,
        conn: &Connection,
        principal: &Principal,
        region: LocalRegion,
    ) -> DomainResult<()> {
        let Principal::User(user) = principal else {
            return Ok(());
        };
        if user.region != region {
            return Err(DomainError::Unauthenticated(
                "the user belongs to another region".into(),
            ));
        }
        let row: Option<(bool, Option<i64>)> = conn
            .query_row(
                "SELECT disabled, expires_at FROM users WHERE uuid = ?1 AND region = ?2",
                params![user.uuid, region_code(region)],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        match row {
            None => Err(DomainError::Unauthenticated(
                "the user no longer exists".into(),
            )),
            Some((disabled, expires)) => match unusable(disabled, expires, self.clock.now()) {
                Some(why) => Err(DomainError::Unauthenticated(why.into())),
                None => Ok(()),
            },
        }
    }

    /// The repository named by `backend`, if the principal may do `action`
    /// on it; `Denied` otherwise (also when there is no such repository, so
    /// that a refusal tells nothing about what exists).
    pub fn authorize(
        &self,
        principal: &Principal,
        region: LocalRegion,
        backend: &str,
        action: Action,
    ) -> DomainResult<RepoRef> {
        match self.rights(principal, region, backend)? {
            Some((repo, rights)) if rights.allows(action) => Ok(repo),
            _ => Err(DomainError::Denied(DENIED_MESSAGE.into())),
        }
    }
}
