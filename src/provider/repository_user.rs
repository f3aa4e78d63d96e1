//! `vcr_repository_user`: a robot account that `docker login`s, with a permission per
//! repository; the resource view of [`UserModel`]. Its secret is shown once by vCR:
//! it is kept in state, never logged, and replaced only when `rotation_triggers`
//! change.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::config::REGIONS;
use super::errors::{api, api_error};
use super::expiry::{date_of, date_written_for, parse_api_time, Expiration};
use super::importing::ImportLookup;
use super::model::repository_user::{
    permission_attributes, permission_name, permission_of, UserModel, PERMISSIONS,
};
use super::model::{written_region, ObjectIdentity};
use super::recovery::{create_exactly_once, CreateFailure, Created};
use super::repository::name_taken;
use super::{validators, ProviderData};
use crate::tfplugin::modifiers::{AttributePlan, PlanModifier};
use crate::tfplugin::validators::one_of;
use crate::tfplugin::{
    Attribute, AttributePath, Block, CreateRequest, DeleteRequest, Diagnostic, Diagnostics,
    Failure, IdentitySchema, ImportRequest, Mode, NestedBlock, Nesting, Plan, ReadRequest,
    Resource, Saved, Schema, Type, UpdateRequest, Value,
};
use crate::vcr::{
    CreateUser, Permission, PermissionRequest, Region, RobotAccount, Secret, UpdateUser, Users,
    VcrError,
};

pub const TYPE_NAME: &str = "vcr_repository_user";

/// One `repository_permission` block.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct RepositoryPermission {
    pub repository_id: Option<String>,
    pub permission: Option<String>,
}

/// The state of a `vcr_repository_user`: the model, and what only Terraform holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct UserState {
    #[serde(flatten)]
    pub user: UserModel,
    pub expiration_date: Option<String>,
    #[serde(default)]
    pub repository_permission: Vec<RepositoryPermission>,
    pub rotation_triggers: Option<BTreeMap<String, String>>,
    pub secret: Option<String>,
}

/// What Terraform's state says about the user, given vCR's view of it. Attributes vCR
/// does not hold (the secret, rotation triggers) come from `known`; so does
/// `expiration_date` while vCR's expiry still matches it.
fn state_from_api(user: &RobotAccount, region: Region, known: &UserState) -> UserState {
    let mut model = UserModel::from_api(user, region);
    // vCR may answer "" for no description: keep "" only when it was written so.
    if model.description.is_none() {
        model.description = known.user.description.clone().filter(|d| d.is_empty());
    }
    let expired_at = user.expired_at.as_deref().and_then(parse_api_time);
    let expiration_date = match (&known.expiration_date, expired_at) {
        (Some(written), Some(at)) if Expiration::parse(written).is_ok_and(|e| e.matches(at)) => {
            Some(written.clone())
        }
        (_, Some(at)) => Some(date_written_for(at)),
        (_, None) => None,
    };
    let permissions = user.repo_permission_list.iter().filter_map(|rp| {
        Permission::from_policies(&rp.policy_dto_list).map(|p| RepositoryPermission {
            repository_id: Some(rp.repo_id.clone()),
            permission: Some(permission_name(p).to_string()),
        })
    });
    UserState {
        user: model,
        expiration_date,
        repository_permission: sorted(permissions.collect()),
        rotation_triggers: known.rotation_triggers.clone(),
        secret: known.secret.clone(),
    }
}

/// The state of a user taken in from vCR (an import, a listing): all vCR knows, with
/// no secret (vCR never shows it again) and no rotation triggers.
pub fn imported_state(user: &RobotAccount, region: Region) -> UserState {
    state_from_api(user, region, &UserState::default())
}

/// What the user wrote stands in state where vCR's view agrees with it.
fn as_written(state: &mut UserState, planned: UserState) {
    state.expiration_date = planned.expiration_date;
    state.user.description = planned.user.description;
    state.user.enabled = planned.user.enabled;
    state.repository_permission = planned.repository_permission;
}

/// A new or changed expiration must lie at least a day ahead: vCR counts expiry in
/// whole days from the apply, so anything sooner cannot be had.
#[derive(Debug, Clone, Copy)]
struct ExpirationAhead;

impl PlanModifier for ExpirationAhead {
    fn description(&self) -> String {
        "A new expiration must be at least a day ahead.".into()
    }
    fn modify(&self, plan: &mut AttributePlan<'_>) {
        if !plan.is_create && !plan.changed() {
            return;
        }
        let Some(written) = plan.planned.as_str() else {
            return;
        };
        let Ok(exp) = Expiration::parse(written) else {
            return;
        };
        let now = time::OffsetDateTime::now_utc();
        if exp.instant() - now >= time::Duration::days(1) {
            return;
        }
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
        plan.diagnostics.push(Diagnostic::invalid_attribute(
            AttributePath::root(plan.name),
            rule,
        ));
    }
}

fn region_attribute(a: Attribute) -> Attribute {
    a.with_mode(Mode::OptionalComputed)
        .note("Defaults to the provider's region.")
        .validate(one_of(REGIONS))
        .requires_replace()
        .use_state_for_unknown()
}

/// The `repository_permission` blocks: one per repository, at least one. Shared with
/// `vcr_registry_credentials`, which grants its short-lived user the same way.
pub fn permission_blocks() -> NestedBlock {
    let permission_block = Block::new("A permission of the user on one repository.").attributes(
        permission_attributes()
            .with("repository_id", |a| {
                a.with_mode(Mode::Required)
                    .validate(validators::repository_id())
            })
            .with("permission", |a| {
                a.with_mode(Mode::Required).validate(one_of(PERMISSIONS))
            }),
    );
    NestedBlock::new("repository_permission", Nesting::Set, permission_block).min_items(1)
}

/// The rule across `repository_permission` blocks that the schema cannot state: one
/// block per repository.
pub fn validate_permission_blocks(config: &Value) -> Diagnostics {
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

pub fn schema() -> Schema {
    let keep = |a: Attribute| a.use_state_for_unknown();
    let attributes = UserModel::attributes()
        .with("id", keep)
        .with("name", |a| {
            a.with_mode(Mode::OptionalComputed)
                .note("Generated (`tf-` and 8 random characters) when omitted.")
                .validate(validators::user_name())
                .requires_replace()
                .use_state_for_unknown()
        })
        .with("description", |a| a.with_mode(Mode::Optional))
        .with("enabled", |a| a.default(Value::Bool(true)))
        .with("region", region_attribute)
        .with("backend_name", keep)
        .with("expires_at", keep)
        .with("expired", keep)
        .with("created_at", keep)
        .and(
            Attribute::optional(
                "expiration_date",
                Type::String,
                "When the user expires. vCR counts expiry in whole days from the apply: for a date, the days are rounded up, so the user may log in through the end of that day (UTC) and expires at the apply's time of day on the next; for a time, rounded down, so the user expires up to a day before it. Omit it (or remove it) for a user that never expires.",
            )
            .validate(validators::expiration())
            .plan(ExpirationAhead),
        )
        .and(Attribute::optional(
            "rotation_triggers",
            Type::map(Type::String),
            "Arbitrary values; when they change (set, changed or removed), the user's secret is refreshed in place and the new one lands in `secret` (for example `{ month = \"2027-01\" }`).",
        ))
        .and(
            Attribute::computed(
                "secret",
                Type::String,
                "The password to `docker login` with. vCR shows it only at creation and rotation; it is null after an import (change `rotation_triggers` to get a new one).",
            )
            .sensitive()
            .use_state_for_unknown(),
        );
    Schema::new(
        0,
        Block::new("A repository user: a robot account that logs in with `docker login <registry host> -u <backend_name> --password-stdin` (the secret on standard input) to push or pull the repositories it is given.")
            .attributes(attributes)
            .block(permission_blocks()),
    )
}

/// The pause before a create is sent again after a lost answer (times the attempt).
const RESEND_BACKOFF: Duration = Duration::from_millis(500);

/// A failed create whose user may exist: kept in state (Terraform marks it tainted) so
/// nothing is orphaned; the next apply finds it by name and replaces it.
fn pending_user(planned: &UserState, name: &str, region: Region, why: &str) -> Failure<UserState> {
    let mut pending = planned.clone();
    pending.user.id = None;
    pending.user.name = Some(name.to_string());
    pending.user.region = Some(region.as_str().to_string());
    pending.secret = None;
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
    random_name("tf-", 8)
}

/// `prefix` followed by `len` random characters of `a-z 0-9`: a user name vCR accepts
/// when the whole stays within its 6 to 14 characters.
pub fn random_name(prefix: &str, len: usize) -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let suffix: String = (0..len)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("{prefix}{suffix}")
}

/// The API's permission requests for the blocks, with the region's policy ids.
pub async fn permission_requests(
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

/// The repositories of `blocks` that live in the other region, not in the user's
/// `region`: vCR gives a user repositories of its own region only, and answers such a
/// permission with a bare "no repository" in the user's region. Looked up only for
/// ids the user's region does not know; a lookup that fails says nothing.
async fn in_other_region(
    data: &ProviderData,
    region: Region,
    ids: Vec<String>,
) -> Vec<(String, Region)> {
    let Ok(client) = data.client() else {
        return Vec::new();
    };
    let other = match region {
        Region::Hcm => Region::Han,
        Region::Han => Region::Hcm,
    };
    let mut found = Vec::new();
    for id in ids {
        match client.repositories(region).get(&id).await {
            Err(e) if e.is_not_found() || matches!(e, VcrError::Invalid { .. }) => {}
            _ => continue,
        }
        if client.repositories(other).get(&id).await.is_ok() {
            found.push((id, other));
        }
    }
    found
}

/// The error for permissions on repositories of the other region, naming the fix.
fn other_region_error(user_region: Region, found: &[(String, Region)]) -> Option<Diagnostic> {
    let (_, other) = found.first()?;
    let ids: Vec<String> = found.iter().map(|(id, _)| format!("{id:?}")).collect();
    Some(Diagnostic::error(
        format!("Repository {} is in {other}, not in the user's region {user_region}", ids.join(", ")),
        format!(
            "A repository user is given repositories of its own region only: vCR's regions are separate services. \
             To give a user this repository, set region = \"{other}\" on the vcr_repository_user (and keep its other \
             repository_permission blocks in {other}), or use a repository of {user_region}."
        ),
    ))
}

/// A failed create or permission change, naming the region to set when a repository
/// turns out to be in the other region; the API's error otherwise.
async fn permission_failure(
    data: &ProviderData,
    region: Region,
    blocks: &[RepositoryPermission],
    what: &str,
    err: &VcrError,
) -> Diagnostic {
    if err.is_not_found() || matches!(err, VcrError::Invalid { .. }) {
        let ids: Vec<String> = blocks
            .iter()
            .filter_map(|b| b.repository_id.clone())
            .collect();
        let found = in_other_region(data, region, ids).await;
        if let Some(mut d) = other_region_error(region, &found) {
            d.detail
                .push_str(&format!("\n\n{}", super::errors::cause(err)));
            return d;
        }
    }
    api_error(what, err)
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

/// The secret of a user just created, whatever became of the create's answer.
async fn secret_after_create(
    users: &Users<'_>,
    outcome: Result<Created<Option<Secret>>, CreateFailure>,
    planned: &UserState,
    name: &str,
    region: Region,
) -> Result<Secret, Failure<UserState>> {
    match outcome {
        Ok(Created::Answered(Some(secret))) => Ok(secret),
        Ok(Created::Answered(None) | Created::Recovered(_)) => {
            // The user exists but its secret was lost with the answer: no one has it,
            // so a fresh one is as good, and the only way to get one.
            let Some(user) = users.find_by_name(name).await.ok().flatten() else {
                let why = "the user's id could not be read after its create answer was lost";
                return Err(pending_user(planned, name, region, why));
            };
            users.refresh_secret(&user.uuid).await.map_err(|e| {
                let known = UserState {
                    secret: None,
                    ..planned.clone()
                };
                let what = format!("get a secret for repository user {name:?}, whose create answer was lost (change rotation_triggers to get one)");
                Failure::with_state(api_error(&what, &e), state_from_api(&user, region, &known))
            })
        }
        Err(CreateFailure::Failed(e)) => {
            Err(api_error(&format!("create repository user {name:?} in {region}"), &e).into())
        }
        Err(CreateFailure::NameTaken { .. }) => {
            let mut taken = name_taken("repository user", TYPE_NAME, name, region);
            taken.detail.push_str(" After an import, change rotation_triggers to get its secret.");
            Err(taken.into())
        }
        Err(CreateFailure::Unknown { create, lookup }) => Err(pending_user(
            planned,
            name,
            region,
            &format!("the create's answer was lost and vCR could not be asked afterwards.\n\nCreate error: {create}\nLookup error: {lookup}"),
        )),
    }
}

/// Reads back a user just created and disables it if asked. From here on the secret
/// exists only in this process: every failure keeps it in state, with what is known,
/// so the next refresh completes the rest.
async fn finish_create(
    users: &Users<'_>,
    planned: UserState,
    name: &str,
    region: Region,
    secret: Secret,
) -> Result<UserState, Failure<UserState>> {
    let mut known = planned.clone();
    known.user.name = Some(name.to_string());
    known.user.region = Some(region.as_str().to_string());
    known.secret = Some(secret.expose().to_string());
    let keep = |d: Diagnostics| Failure::with_state(d, known.clone());
    let user = match users.find_by_name(name).await {
        Ok(Some(user)) => user,
        Ok(None) => {
            return Err(keep(Diagnostic::error(
                format!("Created repository user {name:?} but cannot find it"),
                "vCR accepted the user but does not list it. The user and its secret are kept in state; run terraform apply again to complete it.",
            )
            .into()))
        }
        Err(e) => {
            let what = format!("look up the new repository user {name:?}");
            return Err(keep(api_error(&what, &e).into()));
        }
    };
    let mut state = state_from_api(&user, region, &known);
    if planned.user.enabled == Some(false) {
        if let Err(e) = users.disable(&user.uuid).await {
            let what = format!("disable repository user {name:?}");
            return Err(Failure::with_state(api_error(&what, &e), state));
        }
    }
    as_written(&mut state, planned);
    Ok(state)
}

/// Makes the changes of an update; the secret afterwards (new when rotated).
async fn apply_changes(
    data: &ProviderData,
    users: &Users<'_>,
    prior: &UserState,
    planned: &UserState,
) -> Result<Option<String>, Failure<UserState>> {
    let id = prior.user.id.clone().unwrap_or_default();
    let name = prior.user.name.clone().unwrap_or_default();
    let region = users.region();
    let failed = |what: &str, e: VcrError| {
        let what = format!("{what} repository user {name:?}");
        Failure::with_state(api_error(&what, &e), prior.clone())
    };
    if planned.user.description != prior.user.description
        || planned.expiration_date != prior.expiration_date
    {
        // vCR's update replaces both: an absent duration means "never expires".
        let update = UpdateUser {
            duration_days: duration_days(planned.expiration_date.as_deref()),
            description: planned.user.description.clone(),
        };
        users
            .update(&id, &update)
            .await
            .map_err(|e| failed("update", e))?;
    }
    if planned.user.enabled != prior.user.enabled {
        let result = match planned.user.enabled {
            Some(false) => users.disable(&id).await,
            _ => users.enable(&id).await,
        };
        result.map_err(|e| failed("enable or disable", e))?;
    }
    if sorted(planned.repository_permission.clone()) != sorted(prior.repository_permission.clone())
    {
        let permissions = permission_requests(data, region, &planned.repository_permission)
            .await
            .map_err(|d| Failure::with_state(d, prior.clone()))?;
        if let Err(e) = users.set_permissions(&id, &permissions).await {
            let what = format!("set the permissions of repository user {name:?}");
            let blocks = &planned.repository_permission;
            let d = permission_failure(data, region, blocks, &what, &e).await;
            return Err(Failure::with_state(d, prior.clone()));
        }
    }
    if planned.rotation_triggers == prior.rotation_triggers {
        return Ok(prior.secret.clone());
    }
    tracing::info!(%region, name, "rotation_triggers changed: refreshing the secret");
    let fresh = users
        .refresh_secret(&id)
        .await
        .map_err(|e| failed("refresh the secret of", e))?;
    Ok(Some(fresh.expose().to_string()))
}

/// A permission on a repository of the other region fails at plan when its id is known
/// then (not in an offline plan), naming the region to set; else the apply says so.
async fn check_permission_regions(
    data: Option<&ProviderData>,
    plan: &Plan,
) -> Result<(), Diagnostics> {
    let Some(data) = data.filter(|d| !d.settings.skip_credentials_validation) else {
        return Ok(());
    };
    let Ok(region) = data.region(plan.get("region").as_str()) else {
        return Ok(());
    };
    let ids: Vec<String> = plan
        .get("repository_permission")
        .as_elements()
        .unwrap_or_default()
        .iter()
        .filter_map(|b| b.attr("repository_id").as_str().map(str::to_string))
        .collect();
    let found = in_other_region(data, region, ids).await;
    match other_region_error(region, &found) {
        Some(d) => Err(d.at(AttributePath::root("repository_permission")).into()),
        None => Ok(()),
    }
}

#[async_trait]
impl Resource<ProviderData> for RepositoryUserResource {
    type State = UserState;
    type Identity = ObjectIdentity;

    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    fn identity_schema(&self) -> Option<IdentitySchema> {
        Some(ObjectIdentity::schema("repository user"))
    }

    fn identity(&self, state: &UserState) -> Option<ObjectIdentity> {
        state.user.identity()
    }

    fn generate_config(
        &self,
        data: Option<&ProviderData>,
        mut config: UserState,
    ) -> Result<UserState, Diagnostics> {
        let provider_region = data.map(|d| d.settings.region.as_str());
        config.user.region = written_region(config.user.region.take(), provider_region);
        Ok(config)
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        validate_permission_blocks(config)
    }

    async fn modify_plan(
        &self,
        data: Option<&ProviderData>,
        plan: &mut Plan,
    ) -> Result<(), Diagnostics> {
        super::plan_needs_credentials(data, plan)?;
        super::plan_default_region(data, plan);
        if plan.is_destroy() || plan.is_replace() {
            return Ok(());
        }
        let expiration = plan.get("expiration_date").clone();
        let expiration_changed = plan.is_create() || plan.changed("expiration_date");
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
        if plan.is_create() || plan.changed("repository_permission") {
            check_permission_regions(data, plan).await?;
        }
        Ok(())
    }

    async fn create(
        &self,
        data: &ProviderData,
        req: CreateRequest<UserState>,
    ) -> Result<Saved<UserState>, Failure<UserState>> {
        let planned = req.planned;
        let region = data.region(planned.user.region.as_deref())?;
        let users = data.client()?.users(region);
        let name = planned.user.name.clone().unwrap_or_else(generated_name);
        let create = CreateUser {
            name: name.clone(),
            duration_days: duration_days(planned.expiration_date.as_deref()),
            description: planned.user.description.clone(),
            permissions: permission_requests(data, region, &planned.repository_permission).await?,
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
        if let Err(CreateFailure::Failed(e)) = &outcome {
            let what = format!("create repository user {name:?} in {region}");
            let blocks = &planned.repository_permission;
            return Err(permission_failure(data, region, blocks, &what, e)
                .await
                .into());
        }
        let secret = secret_after_create(&users, outcome, &planned, &name, region).await?;
        finish_create(&users, planned, &name, region, secret)
            .await
            .map(Saved::from)
    }

    async fn read(
        &self,
        data: &ProviderData,
        req: ReadRequest<UserState>,
    ) -> Result<Option<Saved<UserState>>, Diagnostics> {
        let state = req.state;
        let region = data.region(state.user.region.as_deref())?;
        let Some(name) = state.user.name.clone() else {
            return Ok(None);
        };
        let users = data.client()?.users(region);
        let found = users
            .find_by_name(&name)
            .await
            .map_err(api(format!("read repository user {name:?} in {region}")))?;
        match found {
            Some(user) if state.user.id.as_ref().is_none_or(|id| *id == user.uuid) => {
                let mut fresh = state_from_api(&user, region, &state);
                // Keep the blocks as written when vCR agrees with them (set order is free).
                if sorted(state.repository_permission.clone()) == fresh.repository_permission {
                    fresh.repository_permission = state.repository_permission;
                }
                Ok(Some(fresh.into()))
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
    ) -> Result<Saved<UserState>, Failure<UserState>> {
        let UpdateRequest { prior, planned, .. } = req;
        let region = data.region(prior.user.region.as_deref())?;
        let users = data.client()?.users(region);
        let secret = apply_changes(data, &users, &prior, &planned).await?;
        let known = UserState {
            secret,
            rotation_triggers: planned.rotation_triggers.clone(),
            expiration_date: planned.expiration_date.clone(),
            ..prior.clone()
        };
        let name = prior.user.name.clone().unwrap_or_default();
        let mut state = match users.find_by_name(&name).await {
            Ok(Some(user)) => state_from_api(&user, region, &known),
            Ok(None) | Err(_) => {
                // The changes are made; what vCR computes refreshes on the next read.
                let same_expiry = planned.expiration_date == prior.expiration_date;
                let mut state = known;
                state.user.expires_at = prior.user.expires_at.filter(|_| same_expiry);
                state.user.expired = prior.user.expired.filter(|_| same_expiry);
                state
            }
        };
        as_written(&mut state, planned);
        Ok(state.into())
    }

    async fn delete(
        &self,
        data: &ProviderData,
        req: DeleteRequest<UserState>,
    ) -> Result<(), Diagnostics> {
        let state = req.prior;
        let region = data.region(state.user.region.as_deref())?;
        let name = state.user.name.clone().unwrap_or_default();
        let users = data.client()?.users(region);
        let id = match state.user.id.clone() {
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
        req: ImportRequest<ObjectIdentity>,
    ) -> Result<Saved<UserState>, Diagnostics> {
        let lookup = ImportLookup::of(req.target, data, "repository user")?;
        let (region, key) = (lookup.region, lookup.key.as_str());
        let users = data.client()?.users(region);
        let looked_up = || api(format!("look up repository user {key:?} in {region}"));
        let by_name = if lookup.names_too {
            users.find_by_name(key).await.map_err(looked_up())?
        } else {
            None
        };
        let found = match by_name {
            Some(u) => Some(u),
            None => users.find_by_id(key).await.map_err(looked_up())?,
        };
        let what = lookup.compared_with();
        let user = found.ok_or_else(|| {
            Diagnostics::from(Diagnostic::error(
                "Cannot import a repository user that does not exist",
                format!("No repository user has the {what} {key:?} in {region}."),
            ))
        })?;
        let warning = Diagnostic::warning(
            "The secret of an imported repository user is unknown",
            format!(
                "vCR shows a user's secret only when it is created or refreshed, so `secret` of {:?} is null in state. \
                 To get a new secret, set or change `rotation_triggers` on the resource and apply: the secret is refreshed \
                 in place (the old one stops working).",
                user.name
            ),
        );
        Ok(Saved::new(imported_state(&user, region)).with_diagnostics(warning))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_resource_is_a_view_of_the_model() {
        let schema = schema();
        for name in UserModel::attributes().names() {
            assert!(schema.block.get_attribute(name).is_some(), "{name} missing");
        }
        let expiration = schema.block.get_attribute("expiration_date").unwrap();
        let doc = schema.block.documentation(expiration);
        assert!(
            doc.contains("RFC 3339") && doc.contains("at least a day ahead"),
            "{doc}"
        );
        let enabled = schema.block.get_attribute("enabled").unwrap();
        assert_eq!(
            schema.block.documentation(enabled),
            "Whether the user may log in. Defaults to `true`."
        );
    }
}
