//! `vcr_image_cleanup`: the rules of `vcr_retention_policy` (the same blocks, the same
//! engine) run now on one repository or several, as a Terraform action
//! (`terraform apply -invoke=action.vcr_image_cleanup.NAME`, Terraform 1.14+). It
//! reports a progress event per batch of deletes and stops between batches when
//! Terraform is interrupted. `dry_run = true` lists what would go and deletes nothing.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::config::REGIONS;
use super::errors::{api_error, cause};
use super::pruning::{self, human_size, Skipped};
use super::retention_policy::{compile, rule_block, RuleBlock};
use super::ProviderData;
use crate::retention::Candidate;
use crate::tfplugin::validators::one_of;
use crate::tfplugin::{
    Action, Attribute, AttributePath, Block, Diagnostic, Diagnostics, InvokeRequest, Progress,
    Schema, Type, Value,
};

pub const TYPE_NAME: &str = "vcr_image_cleanup";

/// Deletes a progress event reports at most (one event per batch).
const BATCH: usize = 40;

/// The action's configuration.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct CleanupConfig {
    pub repository_ids: Option<Vec<String>>,
    pub region: Option<String>,
    pub dry_run: Option<bool>,
    #[serde(default)]
    pub rule: Vec<RuleBlock>,
}

pub fn schema() -> Schema {
    Schema::new(
        0,
        Block::new(
            "Runs retention rules now: deletes from each repository the artifacts the rules select and do not keep \
             (the rule blocks and the engine of `vcr_retention_policy`), reporting each batch as it goes. \
             `dry_run = true` lists them and deletes nothing. Terraform 1.14 and later.",
        )
        .attribute(Attribute::required(
            "repository_ids",
            Type::list(Type::String),
            "The ids of the repositories to clean (`vcr_repository.<label>.id`), one or more, all in `region`.",
        ))
        .attribute(
            Attribute::optional(
                "region",
                Type::String,
                "The repositories' region. Defaults to the provider's region.",
            )
            .validate(one_of(REGIONS)),
        )
        .attribute(Attribute::optional(
            "dry_run",
            Type::Bool,
            "List what would be deleted, as progress messages, and delete nothing. Defaults to `false`.",
        ))
        .block(rule_block(
            "A rule, as in `vcr_retention_policy`: which artifacts it selects (`images`, `tags`, `untagged`) and which of them it keeps (exactly one `keep_*`). An artifact is kept when any rule keeps it; one that no rule selects is never touched.",
        )),
    )
}

fn listed(c: &Candidate) -> String {
    let tags = if c.tags.is_empty() {
        "untagged".to_string()
    } else {
        c.tags.join(", ")
    };
    format!(
        "{}@{} ({tags}; {})",
        c.image,
        c.digest,
        human_size(c.size_bytes)
    )
}

/// What the action did so far, for its messages and an interrupt.
#[derive(Debug, Default)]
struct Tally {
    deleted: usize,
    freed: u64,
    repositories: usize,
}

impl Tally {
    fn sentence(&self) -> String {
        format!(
            "deleted {} artifact(s) ({} freed) from {} repository(ies)",
            self.deleted,
            human_size(self.freed),
            self.repositories
        )
    }
}

/// The `vcr_image_cleanup` action.
#[derive(Debug, Default)]
pub struct ImageCleanupAction;

#[async_trait]
impl Action<ProviderData> for ImageCleanupAction {
    type Config = CleanupConfig;

    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        let mut diags = Diagnostics::new();
        if let Some(ids) = config.attr("repository_ids").as_elements() {
            let shape = super::validators::repository_id();
            for (i, id) in ids
                .iter()
                .enumerate()
                .filter(|(_, id)| id.as_str().is_some())
            {
                if let Err(rule) = shape.check(id) {
                    diags.push(Diagnostic::invalid_attribute(
                        AttributePath::root("repository_ids").index(i as i64),
                        rule,
                    ));
                }
            }
            if ids.is_empty() {
                diags.push(Diagnostic::invalid_attribute(
                    AttributePath::root("repository_ids"),
                    "needs at least one repository id.",
                ));
            }
        }
        if config
            .attr("rule")
            .as_elements()
            .is_some_and(|r| r.is_empty())
        {
            diags.push(Diagnostic::invalid_attribute(
                AttributePath::root("rule"),
                "needs at least one rule block.",
            ));
        }
        diags.extend(super::retention_policy::validate_rule_globs(config));
        diags
    }

    async fn invoke(
        &self,
        data: &ProviderData,
        req: InvokeRequest<CleanupConfig>,
        progress: &Progress,
    ) -> Result<(), Diagnostics> {
        let config = req.config;
        let region = data.region(config.region.as_deref())?;
        let policy = compile(&config.rule)?;
        let dry_run = config.dry_run == Some(true);
        let repos = data.client()?.repositories(region);
        let parallel = data.settings.max_parallel_requests;
        let now = OffsetDateTime::now_utc();
        let mut tally = Tally::default();
        let mut failures: Vec<String> = Vec::new();
        let mut would = (0usize, 0u64);
        for id in config.repository_ids.iter().flatten() {
            progress.checkpoint(|| tally.sentence())?;
            let name = repos
                .names(id)
                .await
                .map(|n| n.name)
                .map_err(|e| api_error(&format!("read repository {id} in {region}"), &e))?;
            let holdings =
                pruning::read_holdings(&repos, id, |i| policy.selects_image(i), parallel)
                    .await
                    .map_err(|e| {
                        api_error(
                            &format!("read the images of repository {name:?} in {region}"),
                            &e,
                        )
                    })?;
            let list = policy.deletions(&holdings.artifacts, now);
            let bytes: u64 = list.iter().map(|c| c.size_bytes).sum();
            if dry_run {
                would.0 += list.len();
                would.1 += bytes;
                progress
                    .report(format!(
                        "dry run: {} artifact(s) ({}) of {name} would be deleted",
                        list.len(),
                        human_size(bytes)
                    ))
                    .await;
                for batch in list.chunks(BATCH) {
                    let lines: Vec<String> = batch
                        .iter()
                        .map(|c| format!("would delete {}", listed(c)))
                        .collect();
                    progress.report(lines.join("\n")).await;
                }
                continue;
            }
            tally.repositories += 1;
            let total = list.len();
            let mut deleted_here: Vec<Candidate> = Vec::new();
            let mut freed_here = 0u64;
            for batch in list.chunks(BATCH) {
                progress.checkpoint(|| tally.sentence())?;
                let out = pruning::delete_artifacts(
                    &repos,
                    id,
                    batch.to_vec(),
                    parallel,
                    |_, _, _| {},
                    || progress.is_cancelled(),
                )
                .await;
                for s in &out.skipped {
                    let (Skipped::AlreadyGone(c) | Skipped::KeptNow(c)) = s;
                    tracing::debug!(image = %c.image, digest = %c.digest, "already gone");
                }
                freed_here += out.freed_bytes();
                tally.deleted += out.deleted.len();
                tally.freed += out.freed_bytes();
                failures.extend(
                    out.failed
                        .iter()
                        .map(|(c, e)| format!("{name}: {}@{}: {}", c.image, c.digest, cause(e))),
                );
                deleted_here.extend(out.deleted);
                progress
                    .report(format!(
                        "deleted {}/{total} from {name} ({} freed)",
                        deleted_here.len(),
                        human_size(freed_here)
                    ))
                    .await;
            }
            let emptied = pruning::delete_emptied_images(&repos, id, &holdings, &deleted_here)
                .await
                .map_err(|e| api_error(&format!("delete the emptied images of {name:?}"), &e))?;
            if !emptied.is_empty() {
                progress
                    .report(format!(
                        "deleted the emptied image(s) {} of {name}",
                        emptied.join(", ")
                    ))
                    .await;
            }
        }
        if dry_run {
            progress
                .report(format!(
                    "dry run: {} artifact(s) ({}) would be deleted; nothing was deleted",
                    would.0,
                    human_size(would.1)
                ))
                .await;
            return Ok(());
        }
        progress.report(tally.sentence()).await;
        if !failures.is_empty() {
            return Err(Diagnostic::error(
                format!("Could not delete {} artifact(s)", failures.len()),
                format!(
                    "{}; these failed:\n{}",
                    tally.sentence(),
                    failures.join("\n")
                ),
            )
            .into());
        }
        Ok(())
    }
}
