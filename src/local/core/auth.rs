//! Who is asking (`authenticate`) and what they may do (`authorize`), from the
//! users, grants and repositories as they are now: a user disabled or expired
//! after it got a token is refused from then on.

use super::model::{policy, Action, Principal, RepoRef, Rights, UserRef};
use super::{secrets, Core, DomainError, DomainResult, LocalRegion};
use crate::local::store::Records;

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
        let login = self.store.read(|r| r.login(region.code(), name))?;
        let Some(login) = login else {
            let _ = secrets::secret_matches(NO_USER_SALT, NO_USER_HASH, secret);
            tracing::debug!(
                region = region.code(),
                username,
                "login refused: no such user"
            );
            return Err(DomainError::Unauthenticated(BAD_CREDENTIALS.into()));
        };
        if !secrets::secret_matches(&login.salt, &login.secret_hash, secret) {
            tracing::debug!(
                region = region.code(),
                username,
                "login refused: wrong secret"
            );
            return Err(DomainError::Unauthenticated(BAD_CREDENTIALS.into()));
        }
        if let Some(why) = unusable(login.disabled, login.expires_at, self.clock.now()) {
            return Err(DomainError::Unauthenticated(why.into()));
        }
        Ok(Principal::User(UserRef {
            uuid: login.uuid,
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
        self.store
            .read(|r| self.rights_in(r, principal, region, backend))
    }

    fn rights_in(
        &self,
        records: &Records<'_>,
        principal: &Principal,
        region: LocalRegion,
        backend: &str,
    ) -> DomainResult<Option<(RepoRef, Rights)>> {
        self.still_usable(records, principal, region)?;
        let Some(repo) = self.repo_by_backend(records, region, backend)? else {
            return Ok(None);
        };
        let mut rights = if repo.public {
            Rights::PULL
        } else {
            Rights::NONE
        };
        if let Principal::User(user) = principal {
            for id in records.policies(&user.uuid, &repo.uuid)? {
                if let Some(p) = policy(&id) {
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
        records: &Records<'_>,
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
        match records.user_state(region.code(), &user.uuid)? {
            None => Err(DomainError::Unauthenticated(
                "the user no longer exists".into(),
            )),
            Some(state) => match unusable(state.disabled, state.expires_at, self.clock.now()) {
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
