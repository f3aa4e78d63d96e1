//! `vcr_retention_policy`: what stays in a repository. vCR has no retention of its
//! own, so the policy lives in Terraform: every refresh computes which artifacts its
//! rules would delete (`pending_deletions`), the plan shows that list going to empty,
//! and the apply deletes exactly that list (each artifact re-checked), nothing else.
//!
//! A plan that creates the policy, or changes its rules or `enabled`, deletes nothing:
//! the list under the new rules is computed at that apply and shown by the next plan,
//! which is the one that deletes. So every deletion has been on a plan first.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::config::REGIONS;
use super::errors::api_error;
use super::pruning::{self, human_size, Judge, Pruned, Skipped};
use super::{ImportId, ProviderData};
use crate::retention::{Candidate, Keep, Policy, RuleError, RuleSpec, MAX_RULES};
use crate::tfplugin::validators::{whole_at_least, Validator};
use crate::tfplugin::{
    Attribute, AttributePath, Block, CreateRequest, DeleteRequest, Diagnostic, Diagnostics,
    Failure, ImportRequest, ImportTarget, NestedBlock, Nesting, NoIdentity, Plan, ReadRequest,
    Resource, Saved, Schema, Type, UpdateRequest, Value,
};
use crate::vcr::Region;

pub const TYPE_NAME: &str = "vcr_retention_policy";

/// The keep conditions, exactly one per rule.
const KEEPS: [&str; 5] = [
    "keep_last_pushed",
    "keep_last_pulled",
    "keep_pushed_within_days",
    "keep_pulled_within_days",
    "keep_always",
];

/// One `rule` block.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RuleBlock {
    pub images: Option<Vec<String>>,
    pub tags: Option<Vec<String>>,
    pub untagged: Option<bool>,
    pub keep_last_pushed: Option<i64>,
    pub keep_last_pulled: Option<i64>,
    pub keep_pushed_within_days: Option<i64>,
    pub keep_pulled_within_days: Option<i64>,
    pub keep_always: Option<bool>,
}

impl RuleBlock {
    /// The rule for the engine; `None` when no keep condition is set (refused at
    /// validation).
    pub fn spec(&self) -> Option<RuleSpec> {
        let count = |n: i64| n.clamp(0, i64::from(u32::MAX)) as u32;
        let keep = if let Some(n) = self.keep_last_pushed {
            Keep::LastPushed(count(n))
        } else if let Some(n) = self.keep_last_pulled {
            Keep::LastPulled(count(n))
        } else if let Some(n) = self.keep_pushed_within_days {
            Keep::PushedWithinDays(count(n))
        } else if let Some(n) = self.keep_pulled_within_days {
            Keep::PulledWithinDays(count(n))
        } else if self.keep_always == Some(true) {
            Keep::Always
        } else {
            return None;
        };
        Some(RuleSpec {
            images: self.images.clone(),
            tags: self.tags.clone(),
            untagged: self.untagged.unwrap_or(false),
            keep,
        })
    }
}

/// One artifact the rules would delete.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct PendingDeletion {
    pub image: String,
    pub digest: String,
    pub tags: Vec<String>,
    pub size_bytes: i64,
    pub pushed_at: Option<String>,
    pub pulled_at: Option<String>,
}

impl PendingDeletion {
    fn of(c: &Candidate) -> Self {
        let at = |t: Option<OffsetDateTime>| {
            t.and_then(|t| {
                t.to_offset(time::UtcOffset::UTC)
                    .format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
        };
        PendingDeletion {
            image: c.image.clone(),
            digest: c.digest.clone(),
            tags: c.tags.clone(),
            size_bytes: i64::try_from(c.size_bytes).unwrap_or(i64::MAX),
            pushed_at: at(c.pushed_at),
            pulled_at: at(c.pulled_at),
        }
    }

    /// The artifact as the rules see it (for the re-check at apply).
    fn candidate(&self) -> Candidate {
        let parse = |t: &Option<String>| {
            t.as_deref().and_then(|t| {
                OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
            })
        };
        Candidate {
            image: self.image.clone(),
            digest: self.digest.clone(),
            tags: self.tags.clone(),
            size_bytes: u64::try_from(self.size_bytes).unwrap_or(0),
            pushed_at: parse(&self.pushed_at),
            pulled_at: parse(&self.pulled_at),
        }
    }
}

/// The state of a `vcr_retention_policy`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RetentionPolicyState {
    pub id: Option<String>,
    pub repository_id: Option<String>,
    pub region: Option<String>,
    pub enabled: Option<bool>,
    #[serde(default)]
    pub rule: Vec<RuleBlock>,
    pub pending_deletions: Option<Vec<PendingDeletion>>,
    pub pending_bytes: Option<i64>,
}

impl RetentionPolicyState {
    fn enabled(&self) -> bool {
        self.enabled != Some(false)
    }

    /// The rules, checked and compiled.
    fn policy(&self) -> Result<Policy, Diagnostics> {
        compile(&self.rule)
    }

    fn with_pending(mut self, pending: &[Candidate]) -> Self {
        self.pending_bytes = Some(pending.iter().map(|c| c.size_bytes as i64).sum());
        self.pending_deletions = Some(pending.iter().map(PendingDeletion::of).collect());
        self
    }
}

/// The globs of every known `rule` block compile; an error names the rule and the
/// attribute (the keep conditions are the schema's rule). Shared with the cleanup action.
pub fn validate_rule_globs(config: &Value) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let Some(rules) = config.attr("rule").as_elements() else {
        return diags;
    };
    for (i, rule) in rules
        .iter()
        .enumerate()
        .filter(|(_, r)| r.is_wholly_known())
    {
        let Ok(block) = crate::tfplugin::state::from_value::<RuleBlock>(rule) else {
            continue;
        };
        if let Some(spec) = block.spec() {
            // Compiled alone, the rule is rule 0 of its own policy: put it back at `i`.
            if let Err(e) = Policy::new(&[spec]) {
                // A zero count is the schema's own rule (whole_at_least), said once there.
                if let RuleError::BadGlob { attribute, .. } = &e {
                    let at = AttributePath::root("rule").index(i as i64).attr(attribute);
                    diags.push(Diagnostic::invalid_attribute(at, e.to_string()));
                }
            }
        }
    }
    diags
}

/// Compiles rule blocks; an error names the rule and attribute at fault.
pub fn compile(rules: &[RuleBlock]) -> Result<Policy, Diagnostics> {
    let mut specs = Vec::new();
    for (i, block) in rules.iter().enumerate() {
        match block.spec() {
            Some(spec) => specs.push(spec),
            None => {
                return Err(Diagnostic::invalid_attribute(
                    AttributePath::root("rule").index(i as i64),
                    missing_keep(),
                )
                .into())
            }
        }
    }
    Policy::new(&specs).map_err(|e| rule_error(&e).into())
}

fn missing_keep() -> String {
    format!(
        "a rule says what it keeps: set exactly one of {}.",
        KEEPS.map(|k| format!("{k:?}")).join(", ")
    )
}

/// A rule error as a diagnostic on the attribute it is about.
pub fn rule_error(e: &RuleError) -> Diagnostic {
    let at = |rule: usize, attribute: &str| {
        AttributePath::root("rule")
            .index(rule as i64)
            .attr(attribute)
    };
    match e {
        RuleError::BadGlob {
            rule, attribute, ..
        }
        | RuleError::ZeroCount { rule, attribute } => {
            Diagnostic::invalid_attribute(at(*rule, attribute), e.to_string())
        }
        RuleError::NoRule | RuleError::TooManyRules(_) => {
            Diagnostic::invalid_attribute(AttributePath::root("rule"), e.to_string())
        }
    }
}

/// `keep_always` can only be `true`: `false` would keep nothing and read as a rule.
fn only_true() -> Validator {
    Validator::bool("Only `true` (leave it out otherwise).", |v| {
        if v {
            Ok(())
        } else {
            Err("must be true when set (false would keep nothing): remove it, or set another keep condition instead.".into())
        }
    })
}

/// The attributes of one `rule` block; shared with the `vcr_image_cleanup` action.
pub fn rule_block(description: &str) -> NestedBlock {
    let globs = |name: &str, text: &str| Attribute::optional(name, Type::list(Type::String), text);
    let block = Block::new(description)
        .attribute(globs(
            "images",
            "Globs on the image name (the path under the repository, such as `web/frontend`). `*` matches within one `/` segment, `**` across segments, `?` one character, `[a-z]` a class, `{a,b}` either. Left out: every image.",
        ))
        .attribute(globs(
            "tags",
            "Globs on tags, as for `images`; an artifact is selected when any of its tags matches. Left out: every tagged artifact; `[]`: no tagged artifact (with `untagged = true`, only untagged ones).",
        ))
        .attribute(
            Attribute::optional(
                "untagged",
                Type::Bool,
                "Also select artifacts that have no tag.",
            )
            .default(Value::Bool(false)),
        )
        .attribute(
            Attribute::optional(
                "keep_last_pushed",
                Type::Number,
                "Keep the N most recently pushed of the selected artifacts of each image.",
            )
            .validate(whole_at_least(1)),
        )
        .attribute(
            Attribute::optional(
                "keep_last_pulled",
                Type::Number,
                "Keep the N most recently pulled of the selected artifacts of each image; one never pulled counts as least recent.",
            )
            .validate(whole_at_least(1)),
        )
        .attribute(
            Attribute::optional(
                "keep_pushed_within_days",
                Type::Number,
                "Keep the selected artifacts pushed within the last N days.",
            )
            .validate(whole_at_least(1)),
        )
        .attribute(
            Attribute::optional(
                "keep_pulled_within_days",
                Type::Number,
                "Keep the selected artifacts pulled within the last N days; one never pulled is not kept by this rule.",
            )
            .validate(whole_at_least(1)),
        )
        .attribute(
            Attribute::optional(
                "keep_always",
                Type::Bool,
                "Keep every selected artifact: what a rule protects.",
            )
            .validate(only_true()),
        )
        .exactly_one_of(&KEEPS);
    NestedBlock::new("rule", Nesting::List, block)
        .min_items(1)
        .max_items(MAX_RULES as i64)
}

/// The type of one `pending_deletions` element.
fn pending_type() -> Type {
    Type::Object(
        [
            ("image", Type::String),
            ("digest", Type::String),
            ("tags", Type::list(Type::String)),
            ("size_bytes", Type::Number),
            ("pushed_at", Type::String),
            ("pulled_at", Type::String),
        ]
        .into_iter()
        .map(|(k, t)| (k.to_string(), t))
        .collect(),
    )
}

pub fn schema() -> Schema {
    Schema::new(
        0,
        Block::new(
            "What stays in a repository: rules that select artifacts by image and tag and say which to keep; \
             the rest of what they select is deleted. Each refresh lists what the rules would delete \
             (`pending_deletions`); a plan shows that list going to empty, and the apply deletes exactly \
             that list, each artifact checked again. A plan that creates the policy or changes its rules \
             deletes nothing: the next plan shows what the new rules delete.",
        )
        .attribute(
            Attribute::computed("id", Type::String, "The repository's id: one policy per repository.")
                .use_state_for_unknown(),
        )
        .attribute(
            Attribute::required(
                "repository_id",
                Type::String,
                "The id of the repository the policy applies to (`vcr_repository.<label>.id`).",
            )
            .validate(super::validators::repository_id())
            .requires_replace(),
        )
        .attribute(
            Attribute::optional_computed("region", Type::String, "The repository's region.")
                .note("Defaults to the provider's region.")
                .validate(crate::tfplugin::validators::one_of(REGIONS))
                .requires_replace()
                .use_state_for_unknown(),
        )
        .attribute(
            Attribute::optional(
                "enabled",
                Type::Bool,
                "Delete what the rules select and do not keep. With `false`, `pending_deletions` is still computed and shown, and nothing is deleted.",
            )
            .default(Value::Bool(true)),
        )
        .attribute(Attribute::computed(
            "pending_deletions",
            Type::list(pending_type()),
            "The artifacts the rules would delete now, as of the last refresh, sorted by image, then oldest push first: each with `image`, `digest`, `tags`, `size_bytes`, `pushed_at` and `pulled_at` (RFC 3339; null when never pulled). A plan that deletes shows this list going to empty.",
        ))
        .attribute(Attribute::computed(
            "pending_bytes",
            Type::Number,
            "The bytes of the artifacts in `pending_deletions`; vCR may free less where artifacts share layers.",
        ))
        .block(rule_block(
            "A rule: which artifacts it selects (`images`, `tags`, `untagged`) and which of them it keeps (exactly one `keep_*`). An artifact is kept when any rule keeps it; an artifact that no rule selects is never touched.",
        )),
    )
}

/// The `vcr_retention_policy` resource.
#[derive(Debug, Default)]
pub struct RetentionPolicyResource;

fn state_region(data: &ProviderData, state: &RetentionPolicyState) -> Result<Region, Diagnostics> {
    data.region(state.region.as_deref())
}

/// What the rules would delete from the policy's repository now.
async fn compute_pending(
    data: &ProviderData,
    state: &RetentionPolicyState,
) -> Result<Vec<Candidate>, Diagnostics> {
    let region = state_region(data, state)?;
    let policy = state.policy()?;
    let id = state.repository_id.clone().unwrap_or_default();
    let repos = data.client()?.repositories(region);
    let judge = Judge {
        policy: &policy,
        now: OffsetDateTime::now_utc(),
        parallel: data.settings.max_parallel_requests,
    };
    pruning::pending(&repos, &id, judge).await.map_err(|e| {
        api_error(
            &format!("read the images of repository {id} in {region} for its retention policy"),
            &e,
        )
        .into()
    })
}

/// The planned rules (defaults applied) and `enabled`, if they differ from the prior
/// ones (or are not known yet).
fn rules_changed(plan: &Plan) -> bool {
    let now = (plan.planned.attr("rule"), plan.planned.attr("enabled"));
    let before = (plan.prior.attr("rule"), plan.prior.attr("enabled"));
    !now.0.is_wholly_known()
        || !now.1.is_wholly_known()
        || !now.0.semantically_equal(before.0)
        || !now.1.semantically_equal(before.1)
}

/// Warnings for what the apply left in place, and errors for what failed.
fn outcome_diagnostics(pruned: &Pruned, repository: &str) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let kept: Vec<String> = pruned
        .skipped
        .iter()
        .filter_map(|s| match s {
            Skipped::KeptNow(c) => Some(format!("{}@{}", c.image, c.digest)),
            Skipped::AlreadyGone(_) => None,
        })
        .collect();
    if !kept.is_empty() {
        diags.push(Diagnostic::warning(
            format!("{} artifact(s) of the plan were not deleted: the rules keep them now", kept.len()),
            format!(
                "Between the plan and the apply these were pulled, tagged, or others were deleted, and the rules \
                 of repository {repository} now keep them, so they stay:\n{}",
                kept.join("\n")
            ),
        ));
    }
    if !pruned.failed.is_empty() {
        let lines: Vec<String> = pruned
            .failed
            .iter()
            .map(|(c, e)| format!("{}@{}: {}", c.image, c.digest, super::errors::cause(e)))
            .collect();
        diags.push(Diagnostic::error(
            format!("Could not delete {} artifact(s) of repository {repository}", pruned.failed.len()),
            format!(
                "{} of the plan's artifacts were deleted; these failed and stay in pending_deletions, for the next apply:\n{}",
                pruned.deleted.len(),
                lines.join("\n")
            ),
        ));
    }
    diags
}

#[async_trait]
impl Resource<ProviderData> for RetentionPolicyResource {
    type State = RetentionPolicyState;
    type Identity = NoIdentity;

    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        validate_rule_globs(config)
    }

    async fn modify_plan(
        &self,
        data: Option<&ProviderData>,
        plan: &mut Plan,
    ) -> Result<(), Diagnostics> {
        super::plan_needs_credentials(data, plan)?;
        super::plan_default_region(data, plan);
        if plan.is_destroy() {
            return Ok(());
        }
        let repository_id = plan.config.attr("repository_id").clone();
        if plan.is_create() || plan.is_replace() {
            plan.set("id", repository_id);
            plan.diagnostics.push(Diagnostic::warning(
                "A new retention policy deletes nothing in this apply",
                "This apply lists what the rules would delete (pending_deletions); the next plan shows that list \
                 going to empty, and its apply deletes it. So every artifact deleted has been on a plan first.",
            ));
            return Ok(());
        }
        if rules_changed(plan) {
            // Nothing is deleted by this apply: the new list is computed then.
            plan.will_change("pending_deletions");
            plan.will_change("pending_bytes");
            plan.diagnostics.push(Diagnostic::warning(
                "The retention rules or enabled change: this apply deletes nothing",
                "What the new rules delete is computed by this apply and listed by the next plan, which deletes it. \
                 So every artifact deleted has been on a plan first.",
            ));
            return Ok(());
        }
        let pending = plan.prior.attr("pending_deletions");
        let has_pending = pending.as_elements().is_some_and(|p| !p.is_empty());
        let enabled = plan.planned.attr("enabled").as_bool() != Some(false);
        if enabled && has_pending {
            plan.set("pending_deletions", Value::List(Vec::new()));
            plan.set("pending_bytes", Value::int(0));
        } else {
            plan.set("pending_deletions", pending.clone());
            plan.set("pending_bytes", plan.prior.attr("pending_bytes").clone());
        }
        Ok(())
    }

    async fn create(
        &self,
        data: &ProviderData,
        req: CreateRequest<RetentionPolicyState>,
    ) -> Result<Saved<RetentionPolicyState>, Failure<RetentionPolicyState>> {
        let mut state = req.planned;
        state.id = state.repository_id.clone();
        let region = state_region(data, &state)?;
        state.region = Some(region.as_str().to_string());
        let pending = compute_pending(data, &state).await?;
        let mut diags = Diagnostics::new();
        if !pending.is_empty() && state.enabled() {
            let bytes = pending.iter().map(|c| c.size_bytes).sum();
            diags.push(Diagnostic::warning(
                format!(
                    "{} artifact(s) ({}) are pending deletion",
                    pending.len(),
                    human_size(bytes)
                ),
                "Creating the policy deletes nothing. The next plan lists them in pending_deletions, and its apply deletes them.",
            ));
        }
        Ok(Saved::new(state.with_pending(&pending)).with_diagnostics(diags))
    }

    async fn read(
        &self,
        data: &ProviderData,
        req: ReadRequest<RetentionPolicyState>,
    ) -> Result<Option<Saved<RetentionPolicyState>>, Diagnostics> {
        let state = req.state;
        if state.rule.is_empty() {
            // Just imported: the rules come from the configuration.
            return Ok(Some(Saved::new(state.with_pending(&[]))));
        }
        let region = state_region(data, &state)?;
        let id = state.repository_id.clone().unwrap_or_default();
        let repos = data.client()?.repositories(region);
        match repos.get(&id).await {
            Ok(_) => {}
            Err(e) if e.is_not_found() => {
                tracing::info!(%region, id, "the policy's repository is gone; the policy leaves the state");
                return Ok(None);
            }
            Err(e) => {
                return Err(api_error(&format!("read repository {id} in {region}"), &e).into())
            }
        }
        let pending = compute_pending(data, &state).await?;
        Ok(Some(Saved::new(state.with_pending(&pending))))
    }

    async fn update(
        &self,
        data: &ProviderData,
        req: UpdateRequest<RetentionPolicyState>,
    ) -> Result<Saved<RetentionPolicyState>, Failure<RetentionPolicyState>> {
        let UpdateRequest { prior, planned, .. } = req;
        let region = state_region(data, &prior)?;
        let mut state = planned.clone();
        state.id = prior.id.clone();
        state.region = Some(region.as_str().to_string());
        let id = prior.repository_id.clone().unwrap_or_default();
        let reviewed: Vec<Candidate> = prior
            .pending_deletions
            .iter()
            .flatten()
            .map(PendingDeletion::candidate)
            .collect();
        let deletes = planned
            .pending_deletions
            .as_ref()
            .is_some_and(|p| p.is_empty())
            && state.enabled()
            && !reviewed.is_empty();
        if !deletes {
            // Rules or `enabled` changed (or nothing to do): list under the new rules.
            let pending = compute_pending(data, &state).await?;
            return Ok(state.with_pending(&pending).into());
        }
        let policy = state.policy()?;
        let repos = data.client()?.repositories(region);
        let total = reviewed.len();
        tracing::info!(%region, id, total, "deleting the artifacts the plan listed");
        let step = (total / 10).max(1);
        let pruned = pruning::prune(
            &repos,
            &id,
            &reviewed,
            Judge {
                policy: &policy,
                now: OffsetDateTime::now_utc(),
                parallel: data.settings.max_parallel_requests,
            },
            |done, total, freed| {
                if done % step == 0 || done == total {
                    tracing::info!(repository = %id, "deleted {done}/{total} ({} freed)", human_size(freed));
                }
            },
            || false,
        )
        .await
        .map_err(|e| {
            Failure::with_state(
                api_error(&format!("delete the listed artifacts of repository {id} in {region}"), &e),
                prior.clone(),
            )
        })?;
        tracing::info!(
            repository = %id,
            deleted = pruned.deleted.len(),
            skipped = pruned.skipped.len(),
            failed = pruned.failed.len(),
            "retention applied ({} freed)",
            human_size(pruned.freed_bytes())
        );
        let diags = outcome_diagnostics(&pruned, &id);
        if diags.has_errors() {
            let left: Vec<Candidate> = pruned.failed.iter().map(|(c, _)| c.clone()).collect();
            return Err(Failure::with_state(diags, state.with_pending(&left)));
        }
        Ok(Saved::new(state.with_pending(&[])).with_diagnostics(diags))
    }

    async fn delete(
        &self,
        _data: &ProviderData,
        _req: DeleteRequest<RetentionPolicyState>,
    ) -> Result<(), Diagnostics> {
        // The policy lives only in Terraform: removing it deletes no image.
        Ok(())
    }

    async fn import(
        &self,
        data: &ProviderData,
        req: ImportRequest<NoIdentity>,
    ) -> Result<Saved<RetentionPolicyState>, Diagnostics> {
        let ImportTarget::Id(raw) = req.target else {
            return Err(Diagnostic::error(
                "Import by identity is not supported",
                "Import a retention policy by its repository's id: `<repository id>` or `HAN/<repository id>`.",
            )
            .into());
        };
        let import = ImportId::parse(&raw, "retention policy (by its repository's id)")?;
        let region = match import.region {
            Some(r) => r,
            None => data.region(None)?,
        };
        let repos = data.client()?.repositories(region);
        let repo = repos.get(&import.key).await.map_err(|e| {
            if e.is_not_found() {
                Diagnostics::from(Diagnostic::error(
                    "Cannot import a retention policy of a repository that does not exist",
                    format!("No repository has the id {:?} in {region}.", import.key),
                ))
            } else {
                api_error(&format!("read repository {} in {region}", import.key), &e).into()
            }
        })?;
        Ok(Saved::new(RetentionPolicyState {
            id: Some(repo.uuid.clone()),
            repository_id: Some(repo.uuid),
            region: Some(region.as_str().to_string()),
            enabled: Some(true),
            rule: Vec::new(),
            pending_deletions: Some(Vec::new()),
            pending_bytes: Some(0),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_block_is_one_engine_rule() {
        let block = RuleBlock {
            tags: Some(vec!["v*".into()]),
            keep_last_pushed: Some(10),
            ..RuleBlock::default()
        };
        assert_eq!(
            block.spec(),
            Some(RuleSpec {
                tags: Some(vec!["v*".into()]),
                keep: Keep::LastPushed(10),
                ..RuleSpec::default()
            })
        );
        assert_eq!(RuleBlock::default().spec(), None);
        let err = compile(&[RuleBlock::default()]).unwrap_err();
        assert!(format!("{err:?}").contains("keep_last_pushed"), "{err:?}");
    }

    #[test]
    fn pending_deletions_round_trip_to_candidates() {
        let c = Candidate {
            image: "web".into(),
            digest: "sha256:a".into(),
            tags: vec!["v1".into()],
            size_bytes: 42,
            pushed_at: Some(time::macros::datetime!(2026-01-02 3:04:05.678 UTC)),
            pulled_at: None,
        };
        let p = PendingDeletion::of(&c);
        assert_eq!(p.pushed_at.as_deref(), Some("2026-01-02T03:04:05.678Z"));
        assert_eq!(p.pulled_at, None);
        assert_eq!(p.candidate(), c);
    }

    #[test]
    fn the_state_mirrors_the_schema() {
        let ty = schema().value_type();
        assert_eq!(
            crate::tfplugin::state::type_mismatches::<RetentionPolicyState>(&ty),
            Vec::<String>::new()
        );
    }
}
