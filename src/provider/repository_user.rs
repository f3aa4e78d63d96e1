//! `vcr_repository_user`: a robot account that `docker login`s, with a permission per
//! repository. Its secret is shown once by vCR: it is kept in state, never logged, and
//! replaced only when `rotation_triggers` change.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::errors::{api, api_error};
use super::expiry::{date_of, parse_api_time, Expiration};
use super::recovery::{create_exactly_once, CreateFailure, Created};
use super::{validators, ImportId, ProviderData};
use crate::tfplugin::schema::rules;
use crate::tfplugin::{
    Attribute, AttributePath, Block, CreateRequest, Diagnostic, Diagnostics, Failure, NestedBlock,
    Nesting, Plan, Resource, Schema, Type, UpdateRequest, Value,
};
use crate::vcr::{CreateUser, Permission, PermissionRequest, Region, RobotAccount, UpdateUser};

pub const TYPE_NAME: &str = "vcr_repository_user";
pub const PERMISSIONS: &[&str] = &["push_pull", "pull_only"];

/// One `repository_permission` block.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct RepositoryPermission {
    pub repository_id: Option<String>,
    pub permission: Option<String>,
}

/// The state of a `vcr_repository_user`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct UserState {
    pub id: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub expiration_date: Option<String>,
    pub enabled: Option<bool>,
    pub region: Option<String>,
    #[serde(default)]
    pub repository_permission: Vec<RepositoryPermission>,
    pub rotation_triggers: Option<BTreeMap<String, String>>,
    pub backend_name: Option<String>,
    pub secret: Option<String>,
    pub expires_at: Option<String>,
    pub expired: Option<bool>,
    pub created_at: Option<String>,
}

fn permission_of(name: &str) -> Permission {
    if name == "pull_only" {
        Permission::PullOnly
    } else {
        Permission::PushPull
    }
}

pub fn permission_name(p: Permission) -> &'static str {
    match p {
        Permission::PullOnly => "pull_only",
        Permission::PushPull => "push_pull",
    }
}

/// What Terraform's state says about the user, given vCR's view of it. Attributes vCR
/// does not hold (the secret, rotation triggers) come from `known`; so does
/// `expiration_date` while vCR's expiry still matches it.
fn state_from_api(user: &RobotAccount, region: Region, known: &UserState) -> UserState {
    let now = time::OffsetDateTime::now_utc();
    let expired_at = user.expired_at.as_deref().and_then(parse_api_time);
    let expiration_date = match (&known.expiration_date, expired_at) {
        (Some(written), Some(at)) if Expiration::parse(written).is_ok_and(|e| e.matches(at)) => {
            Some(written.clone())
        }
        (_, Some(at)) => Some(date_of(at)),
        (_, None) => None,
    };
    let mut permissions: Vec<RepositoryPermission> = user
        .repo_permission_list
        .iter()
        .filter_map(|rp| {
            Permission::from_policies(&rp.policy_dto_list).map(|p| RepositoryPermission {
                repository_id: Some(rp.repo_id.clone()),
                permission: Some(permission_name(p).to_string()),
            })
        })
        .collect();
    permissions.sort();
    UserState {
        id: Some(user.uuid.clone()),
        name: Some(user.name.clone()),
        // vCR may answer "" for no description: keep "" only when it was written so.
        description: user
            .description
            .clone()
            .filter(|d| !d.is_empty())
            .or_else(|| known.description.clone().filter(|d| d.is_empty())),
        expiration_date,
        enabled: Some(!user.disable),
        region: Some(region.as_str().to_string()),
        repository_permission: permissions,
        rotation_triggers: known.rotation_triggers.clone(),
        backend_name: Some(user.backend_name.clone()),
        secret: known.secret.clone(),
        expires_at: user.expired_at.clone(),
        expired: Some(expired_at.is_some_and(|at| at <= now)),
        created_at: Some(user.created_at.clone()),
    }
}

pub fn schema() -> Schema {
    let permission_block = Block::new("A permission of the user on one repository.")
        .attribute(Attribute::required(
            "repository_id",
            Type::String,
            "The id of the repository (`vcr_repository.<name>.id`), in the user's region.",
        ))
        .attribute(
            Attribute::required(
                "permission",
                Type::String,
                "`push_pull` (push and pull images) or `pull_only`.",
            )
            .validate(rules::one_of(PERMISSIONS)),
        );
    Schema::new(
        0,
        Block::new("A repository user: a robot account that logs in with `docker login <registry host> -u <backend_name> --password-stdin` (the secret on standard input) to push or pull the repositories it is given.")
            .attribute(Attribute::computed("id", Type::String, "The user's id in vCR (`ra-...`).").stable())
            .attribute(
                Attribute::optional_computed(
                    "name",
                    Type::String,
                    "The user name: 6 to 14 characters of `a-z A-Z 0-9 _ -`, starting with a letter or a digit. Generated (`tf-` and 8 random characters) when omitted. Changing it replaces the user.",
                )
                .force_new()
                .validate(validators::user_name),
            )
            .attribute(Attribute::optional("description", Type::String, "A description of the user."))
            .attribute(
                Attribute::optional(
                    "expiration_date",
                    Type::String,
                    "When the user expires: a date (`2027-06-30`: the user may log in through the end of that day, UTC) or an RFC 3339 time. vCR counts expiry in whole days from the apply. Omit it (or remove it) for a user that never expires. A new expiration must be at least a day ahead.",
                )
                .validate(|v| v.as_str().map_or(Ok(()), |s| Expiration::parse(s).map(|_| ()))),
            )
            .attribute(
                Attribute::optional("enabled", Type::Bool, "Whether the user may log in. Defaults to `true`.")
                    .default(Value::Bool(true)),
            )
            .attribute(
                Attribute::optional_computed(
                    "region",
                    Type::String,
                    "The region of the user, `HCM` or `HAN`; defaults to the provider's region. Changing it replaces the user.",
                )
                .force_new()
                .validate(rules::one_of(super::config::REGIONS)),
            )
            .attribute(Attribute::optional(
                "rotation_triggers",
                Type::map(Type::String),
                "Arbitrary values; when they change (set, changed or removed), the user's secret is refreshed in place and the new one lands in `secret` (for example `{ month = \"2027-01\" }`).",
            ))
            .attribute(
                Attribute::computed(
                    "backend_name",
                    Type::String,
                    "The name to `docker login` with: `<account id>-<name>`.",
                )
                .stable(),
            )
            .attribute(
                Attribute::computed(
                    "secret",
                    Type::String,
                    "The password to `docker login` with. vCR shows it only at creation and rotation; it is null after an import (change `rotation_triggers` to get a new one).",
                )
                .sensitive(),
            )
            .attribute(Attribute::computed("expires_at", Type::String, "When the user expires, as vCR reports it; null for never."))
            .attribute(Attribute::computed("expired", Type::Bool, "Whether the user has expired (and so cannot log in)."))
            .attribute(Attribute::computed("created_at", Type::String, "When the user was created, as vCR reports it.").stable())
            .block(
                NestedBlock::new("repository_permission", Nesting::Set, permission_block).min_items(1),
            ),
    )
}

/// The pause before a create is sent again after a lost answer (times the attempt).
const RESEND_BACKOFF: Duration = Duration::from_millis(500);

/// A failed create whose user may exist: kept in state (Terraform marks it tainted) so
/// nothing is orphaned; the next apply finds it by name and replaces it.
fn pending_user(planned: &UserState, name: &str, region: Region, why: &str) -> Failure<UserState> {
    let pending = UserState {
        id: None,
        name: Some(name.to_string()),
        region: Some(region.as_str().to_string()),
        secret: None,
        ..planned.clone()
    };
    Failure::with_state(
        Diagnostic::error(
            format!("Could not tell whether repository user {name:?} was created in {region}"),
            format!("{why}\n\nThe user is kept in state, marked tainted, so that nothing is orphaned: the next apply looks it up by name and replaces it."),
        ),
        pending,
    )
}

/// The `vcr_repository_user` resource.
#[derive(Debug, Default)]
pub struct RepositoryUserResource;

fn generated_name() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let suffix: String = (0..8)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("tf-{suffix}")
}

impl RepositoryUserResource {
    async fn permission_requests(
        &self,
        data: &ProviderData,
        region: Region,
        blocks: &[RepositoryPermission],
    ) -> Result<Vec<PermissionRequest>, Diagnostics> {
        let policies = data.policies(region).await?;
        blocks
            .iter()
            .map(|b| {
                let permission = permission_of(b.permission.as_deref().unwrap_or("push_pull"));
                let policy_ids = permission.policy_ids(policies).map_err(|e| {
                    Diagnostics::from(Diagnostic::error(
                        "vCR does not offer the needed permission policy",
                        format!(
                            "{e}. The provider matches policies by their action text (pull, push)."
                        ),
                    ))
                })?;
                Ok(PermissionRequest {
                    repo_id: b.repository_id.clone().unwrap_or_default(),
                    policy_ids,
                })
            })
            .collect()
    }
}

fn duration_days(expiration_date: Option<&str>) -> Option<u32> {
    let now = time::OffsetDateTime::now_utc();
    expiration_date
        .and_then(|s| Expiration::parse(s).ok())
        .map(|e| e.duration_days(now))
}

fn sorted(mut blocks: Vec<RepositoryPermission>) -> Vec<RepositoryPermission> {
    blocks.sort();
    blocks
}

#[async_trait]
impl Resource<ProviderData> for RepositoryUserResource {
    type State = UserState;

    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        let mut diags = Diagnostics::new();
        let Some(blocks) = config.attr("repository_permission").as_elements() else {
            return diags;
        };
        let mut seen: Vec<&str> = Vec::new();
        for block in blocks {
            if let Some(id) = block.attr("repository_id").as_str() {
                if seen.contains(&id) {
                    diags.push(Diagnostic::invalid_attribute(
                        AttributePath::root("repository_permission"),
                        format!("repository {id:?} appears in two repository_permission blocks; give each repository one block with one permission."),
                    ));
                } else {
                    seen.push(id);
                }
            }
        }
        diags
    }

    async fn modify_plan(
        &self,
        data: Option<&ProviderData>,
        plan: &mut Plan,
    ) -> Result<(), Diagnostics> {
        super::plan_default_region(data, plan);
        if plan.is_destroy() || plan.is_replace() {
            return Ok(());
        }
        let expiration = plan.get("expiration_date").clone();
        let expiration_changed = plan.is_create() || plan.changed("expiration_date");
        // A new or changed expiration must lie at least a day ahead: vCR counts expiry
        // in whole days from the apply, so anything sooner cannot be had.
        if expiration_changed {
            if let Some(Ok(exp)) = expiration.as_str().map(Expiration::parse) {
                let now = time::OffsetDateTime::now_utc();
                if exp.instant() - now < time::Duration::days(1) {
                    let written = expiration.as_str().unwrap_or_default();
                    let rule = if exp.instant() <= now {
                        format!(
                            "must be in the future; {written:?} has passed (it is now {}).",
                            date_of(now)
                        )
                    } else {
                        format!(
                            "must be at least one day ahead, because vCR counts expiry in whole days; {written:?} is less \
                             than a day away (it is now {}). Use a later date, or disable the user with enabled = false.",
                            date_of(now)
                        )
                    };
                    return Err(Diagnostic::invalid_attribute(
                        AttributePath::root("expiration_date"),
                        rule,
                    )
                    .into());
                }
            }
        }
        if expiration.is_null() {
            // Never expires: known now, on create and when the date is removed.
            if plan.is_create() || expiration_changed {
                plan.set("expires_at", Value::Null);
                plan.set("expired", Value::Bool(false));
            }
        } else if !plan.is_create() && (expiration_changed || plan.changed("description")) {
            // vCR's update sets the description and the expiry together, the latter
            // counted again from the time of the call: the expiry moves by the time
            // since the last update, though its date stays.
            plan.will_change("expires_at");
            plan.will_change("expired");
        }
        if plan.is_update() && plan.changed("rotation_triggers") {
            plan.will_change("secret");
        }
        Ok(())
    }

    async fn create(
        &self,
        data: &ProviderData,
        req: CreateRequest<UserState>,
    ) -> Result<UserState, Failure<UserState>> {
        let planned = req.planned;
        let region = data.region(planned.region.as_deref())?;
        let client = data.client()?;
        let users = client.users(region);
        let name = planned.name.clone().unwrap_or_else(generated_name);
        let permissions = self
            .permission_requests(data, region, &planned.repository_permission)
            .await?;
        let create = CreateUser {
            name: name.clone(),
            duration_days: duration_days(planned.expiration_date.as_deref()),
            description: planned.description.clone(),
            permissions,
        };
        tracing::info!(%region, name, "creating repository user");
        let outcome = create_exactly_once(
            &format!("repository user {name:?} in {region}"),
            data.settings.max_retries,
            RESEND_BACKOFF,
            || async { users.create(&create).await.map(Some) },
            || async {
                Ok(users
                    .find_by_name(&name)
                    .await?
                    .map(|u| (None, parse_api_time(&u.created_at))))
            },
        )
        .await;
        let secret = match outcome {
            Ok(Created::Answered(Some(secret))) => secret,
            Ok(Created::Answered(None) | Created::Recovered(_)) => {
                // The user exists but its secret was lost with the answer: no one has
                // it, so a fresh one is as good, and the only way to get one.
                let Some(user) = users.find_by_name(&name).await.ok().flatten() else {
                    return Err(pending_user(&planned, &name, region, "the user's id could not be read after its create answer was lost"));
                };
                match users.refresh_secret(&user.uuid).await {
                    Ok(secret) => secret,
                    Err(e) => {
                        let state = state_from_api(&user, region, &UserState { secret: None, ..planned.clone() });
                        return Err(Failure::with_state(
                            api_error(
                                &format!("get a secret for repository user {name:?}, whose create answer was lost (change rotation_triggers to get one)"),
                                &e,
                            ),
                            state,
                        ));
                    }
                }
            }
            Err(CreateFailure::Failed(e)) => {
                return Err(api_error(&format!("create repository user {name:?} in {region}"), &e).into())
            }
            Err(CreateFailure::NameTaken { .. }) => {
                return Err(Diagnostic::error(
                    format!("A repository user named {name:?} already exists in {region}"),
                    format!(
                        "User names are unique in an account and region, and this one is not in this Terraform state. \
                         To manage it here, import it (terraform import <address> {region}/{name}) and change \
                         rotation_triggers to get its secret; otherwise choose another name."
                    ),
                )
                .into())
            }
            Err(CreateFailure::Unknown { create, lookup }) => {
                return Err(pending_user(
                    &planned,
                    &name,
                    region,
                    &format!("the create's answer was lost and vCR could not be asked afterwards.\n\nCreate error: {create}\nLookup error: {lookup}"),
                ))
            }
        };
        // From here on the secret exists only in this process: every failure keeps it
        // in state, with what is known, so the next refresh completes the rest.
        let known = UserState {
            name: Some(name.clone()),
            region: Some(region.as_str().to_string()),
            secret: Some(secret.expose().to_string()),
            ..planned.clone()
        };
        let keep = |d: Diagnostics| Failure::with_state(d, known.clone());
        let user = match users.find_by_name(&name).await {
            Ok(Some(user)) => user,
            Ok(None) => {
                return Err(keep(Diagnostic::error(
                    format!("Created repository user {name:?} but cannot find it"),
                    "vCR accepted the user but does not list it. The user and its secret are kept in state; run terraform apply again to complete it.",
                )
                .into()))
            }
            Err(e) => return Err(keep(api_error(&format!("look up the new repository user {name:?}"), &e).into())),
        };
        let mut state = state_from_api(&user, region, &known);
        state.expiration_date = planned.expiration_date.clone().or(state.expiration_date);
        if planned.enabled == Some(false) {
            if let Err(e) = users.disable(&user.uuid).await {
                return Err(Failure::with_state(
                    api_error(&format!("disable repository user {name:?}"), &e),
                    state,
                ));
            }
            state.enabled = Some(false);
        }
        // Permissions and description as configured (vCR's view of them is the same).
        state.repository_permission = sorted(planned.repository_permission);
        state.description = planned.description;
        state.enabled = planned.enabled;
        Ok(state)
    }

    async fn read(
        &self,
        data: &ProviderData,
        state: UserState,
    ) -> Result<Option<UserState>, Diagnostics> {
        let region = data.region(state.region.as_deref())?;
        let Some(name) = state.name.clone() else {
            return Ok(None);
        };
        let users = data.client()?.users(region);
        let found = users
            .find_by_name(&name)
            .await
            .map_err(api(format!("read repository user {name:?} in {region}")))?;
        match found {
            Some(user) if state.id.as_ref().is_none_or(|id| *id == user.uuid) => {
                let mut fresh = state_from_api(&user, region, &state);
                // Keep the blocks as written when vCR agrees with them (set order is free).
                if sorted(state.repository_permission.clone()) == fresh.repository_permission {
                    fresh.repository_permission = state.repository_permission;
                }
                Ok(Some(fresh))
            }
            _ => {
                tracing::info!(%region, name, "repository user is gone from vCR; it leaves the state");
                Ok(None)
            }
        }
    }

    async fn update(
        &self,
        data: &ProviderData,
        req: UpdateRequest<UserState>,
    ) -> Result<UserState, Failure<UserState>> {
        let UpdateRequest { prior, planned, .. } = req;
        let region = data.region(prior.region.as_deref())?;
        let users = data.client()?.users(region);
        let id = prior.id.clone().unwrap_or_default();
        let name = prior.name.clone().unwrap_or_default();
        let keep = |d: Diagnostic| Failure::with_state(d, prior.clone());

        if planned.description != prior.description
            || planned.expiration_date != prior.expiration_date
        {
            // vCR's update replaces both: an absent duration means "never expires".
            let update = UpdateUser {
                duration_days: duration_days(planned.expiration_date.as_deref()),
                description: planned.description.clone(),
            };
            users
                .update(&id, &update)
                .await
                .map_err(|e| keep(api_error(&format!("update repository user {name:?}"), &e)))?;
        }
        if planned.enabled != prior.enabled {
            let result = if planned.enabled == Some(false) {
                users.disable(&id).await
            } else {
                users.enable(&id).await
            };
            result.map_err(|e| {
                keep(api_error(
                    &format!("enable or disable repository user {name:?}"),
                    &e,
                ))
            })?;
        }
        if sorted(planned.repository_permission.clone())
            != sorted(prior.repository_permission.clone())
        {
            let permissions = self
                .permission_requests(data, region, &planned.repository_permission)
                .await
                .map_err(|d| Failure::with_state(d, prior.clone()))?;
            users
                .set_permissions(&id, &permissions)
                .await
                .map_err(|e| {
                    keep(api_error(
                        &format!("set the permissions of repository user {name:?}"),
                        &e,
                    ))
                })?;
        }
        let mut secret = prior.secret.clone();
        if planned.rotation_triggers != prior.rotation_triggers {
            tracing::info!(%region, name, "rotation_triggers changed: refreshing the secret");
            let fresh = users.refresh_secret(&id).await.map_err(|e| {
                keep(api_error(
                    &format!("refresh the secret of repository user {name:?}"),
                    &e,
                ))
            })?;
            secret = Some(fresh.expose().to_string());
        }
        let known = UserState {
            secret,
            rotation_triggers: planned.rotation_triggers.clone(),
            expiration_date: planned.expiration_date.clone(),
            ..prior.clone()
        };
        let user = match users.find_by_name(&name).await {
            Ok(Some(user)) => user,
            Ok(None) | Err(_) => {
                // The changes are made; what vCR computes refreshes on the next read.
                return Ok(UserState {
                    description: planned.description,
                    enabled: planned.enabled,
                    repository_permission: planned.repository_permission,
                    expires_at: prior
                        .expires_at
                        .filter(|_| planned.expiration_date == prior.expiration_date),
                    expired: prior
                        .expired
                        .filter(|_| planned.expiration_date == prior.expiration_date),
                    ..known
                });
            }
        };
        let mut state = state_from_api(&user, region, &known);
        state.expiration_date = planned.expiration_date;
        state.description = planned.description;
        state.enabled = planned.enabled;
        state.repository_permission = planned.repository_permission;
        Ok(state)
    }

    async fn delete(&self, data: &ProviderData, state: UserState) -> Result<(), Diagnostics> {
        let region = data.region(state.region.as_deref())?;
        let name = state.name.clone().unwrap_or_default();
        let users = data.client()?.users(region);
        let id = match state.id.clone() {
            Some(id) => id,
            None => match users
                .find_by_name(&name)
                .await
                .map_err(api(format!("look up repository user {name:?}")))?
            {
                Some(u) => u.uuid,
                None => return Ok(()),
            },
        };
        match users.delete(&id).await {
            Ok(()) => Ok(()),
            // A 404 can come from a wrong endpoint too: gone only if the list agrees.
            Err(e)
                if e.is_not_found()
                    && matches!(users.find_by_name(&name).await, Ok(found) if found.as_ref().is_none_or(|u| u.uuid != id)) =>
            {
                Ok(())
            }
            Err(e) => {
                Err(api_error(&format!("delete repository user {name:?} in {region}"), &e).into())
            }
        }
    }

    async fn import(
        &self,
        data: &ProviderData,
        raw: &str,
    ) -> Result<(UserState, Diagnostics), Diagnostics> {
        let import = ImportId::parse(raw, "repository user")?;
        let region = import.region.unwrap_or(data.region(None)?);
        let users = data.client()?.users(region);
        let found = match users.find_by_name(&import.key).await.map_err(api(format!(
            "look up repository user {:?} in {region}",
            import.key
        )))? {
            Some(u) => Some(u),
            None => users.find_by_id(&import.key).await.map_err(api(format!(
                "look up repository user {:?} in {region}",
                import.key
            )))?,
        };
        let user = found.ok_or_else(|| {
            Diagnostics::from(Diagnostic::error(
                "Cannot import a repository user that does not exist",
                format!(
                    "No repository user has the id or name {:?} in {region}.",
                    import.key
                ),
            ))
        })?;
        let known = UserState {
            enabled: Some(true),
            ..UserState::default()
        };
        let state = state_from_api(&user, region, &known);
        let warning = Diagnostic::warning(
            "The secret of an imported repository user is unknown",
            format!(
                "vCR shows a user's secret only when it is created or refreshed, so `secret` of {:?} is null in state. \
                 To get a new secret, set or change `rotation_triggers` on the resource and apply: the secret is refreshed \
                 in place (the old one stops working).",
                user.name
            ),
        );
        Ok((state, warning.into()))
    }
}
