//! Write-only arguments (Terraform 1.11+) are one of the places an ephemeral value may
//! go: the credentials of `ephemeral "vcr_registry_credentials"` reach a resource's
//! write-only argument at apply, the resource logs in to vcr-local's registry with
//! them, and neither the plan nor the state holds them.
//!
//! No provider with a write-only argument can be installed offline, so this test
//! brings its own: started by Terraform (the plugin cookie in its environment), this
//! binary serves `test/sink`, built on this crate's plugin framework, whose
//! `sink_exec` runs a command with a write-only environment. It also shows what the
//! framework does with write-only attributes: planned and stored as null, refused by
//! a Terraform too old to keep them out of its state.
//!
//! No libtest harness (`harness = false` in Cargo.toml): `main` either serves the
//! provider or runs the scenarios.

mod support;

use std::collections::BTreeMap;
use std::process::ExitCode;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use support::credentials::{
    assert_a_generated_login, push_the_image, IMAGE, LOGIN_SCRIPT, REPOSITORY,
};
use support::local::LocalVcr;
use support::steps::Ctx;
use support::{Action, Scenario, Step, Terraform};
use vcr_provider::tfplugin::{
    serve, Attribute, Block, Components, ConfigureRequest, CreateRequest, DeleteRequest,
    Diagnostic, Diagnostics, Failure, ImportRequest, Provider, ReadRequest, Resource, Saved,
    Schema, Type, UpdateRequest,
};
use vcr_provider::vcr::Region;

fn main() -> ExitCode {
    if std::env::var_os("TF_PLUGIN_MAGIC_COOKIE").is_some() {
        return sink::serve();
    }
    let scenarios: [(&str, fn()); 2] = [
        (
            "credentials_reach_a_write_only_argument_and_are_stored_nowhere",
            credentials_reach_a_write_only_argument_and_are_stored_nowhere,
        ),
        (
            "a_terraform_before_1_11_is_refused_a_write_only_argument",
            a_terraform_before_1_11_is_refused_a_write_only_argument,
        ),
    ];
    for (name, scenario) in scenarios {
        println!("test {name} ...");
        scenario();
        println!("test {name} ... ok");
    }
    ExitCode::SUCCESS
}

/// `required_providers` for both providers (the scenario's steps are written as is).
const PROVIDERS: &str = r#"
terraform {
  required_providers {
    vcr  = { source = "vngcloud/vcr" }
    sink = { source = "test/sink" }
  }
}
"#;

/// The repository, credentials for it, and a `sink_exec` whose write-only environment
/// carries them to the login script.
fn write_only_config(permission: &str) -> String {
    format!(
        r#"{PROVIDERS}
{REPOSITORY}
ephemeral "vcr_registry_credentials" "ci" {{
  repository_permission {{
    repository_id = vcr_repository.app.id
    permission    = "{permission}"
  }}
}}

resource "sink_exec" "login" {{
  command     = "sh login.sh"
  working_dir = abspath(path.module)
  environment_wo = {{
    USERNAME = ephemeral.vcr_registry_credentials.ci.username
    PASSWORD = ephemeral.vcr_registry_credentials.ci.password
    REGISTRY = ephemeral.vcr_registry_credentials.ci.registry
    IMAGE    = "${{vcr_repository.app.backend_name}}/{IMAGE}"
  }}
}}
"#
    )
}

fn the_sink() -> std::path::PathBuf {
    std::env::current_exe().expect("the test binary's path")
}

fn credentials_reach_a_write_only_argument_and_are_stored_nowhere() {
    let local = LocalVcr::start();
    Scenario::new(&local)
        .provider("test/sink", &the_sink())
        .step(
            Step::apply_as_is(format!("{PROVIDERS}\n{REPOSITORY}"))
                .named("the repository and its image")
                .expect("vcr_repository.app", Action::Create)
                .check(|ctx| {
                    let id = ctx.attr("vcr_repository.app", "id");
                    push_the_image(ctx.local, Region::Hcm, &id);
                }),
        )
        .step(
            Step::apply_as_is(write_only_config("pull_only"))
                .named("the credentials reach the write-only environment; TF_LOG=trace")
                .file("login.sh", LOGIN_SCRIPT)
                .env("TF_LOG", "trace")
                .expect("sink_exec.login", Action::Create)
                .pre(|ctx| ctx.local.controls().reset_requests())
                .check(|ctx| {
                    assert_a_generated_login(ctx, false);
                    assert_write_only_is_null(ctx);
                }),
        )
        .step(
            Step::plan_only()
                .named("new credentials at each run make no change of their own")
                .expect_no_changes()
                .check(assert_write_only_is_null),
        )
        .run();
}

/// The state keeps the write-only attribute as null, beside the rest as given.
fn assert_write_only_is_null(ctx: &Ctx) {
    let state = ctx.state("sink_exec.login");
    assert_eq!(
        state["environment_wo"],
        serde_json::Value::Null,
        "{state:#}"
    );
    assert_eq!(state["command"], "sh login.sh");
    assert_eq!(state["id"], "sh login.sh");
}

/// Terraform 1.6 knows nothing of write-only attributes and would store the value:
/// the framework refuses it at validate, naming the attribute and what to do; left
/// out, the resource works.
fn a_terraform_before_1_11_is_refused_a_write_only_argument() {
    let local = LocalVcr::start();
    let config = |environment: &str| {
        format!(
            r#"{PROVIDERS}
resource "sink_exec" "old" {{
  command     = "true"
  working_dir = abspath(path.module)
  {environment}
}}
"#
        )
    };
    Scenario::new(&local)
        .provider("test/sink", &the_sink())
        .terraform(Terraform::version("1.6.6"))
        .step(
            Step::apply_as_is(config(
                r#"environment_wo = { SECRET = "not to be stored" }"#,
            ))
            .named("refused at validate")
            .expect_plan_error(
                r#"(?s)environment_wo.*write-only, which needs Terraform 1\.11 or later"#,
            ),
        )
        .step(
            Step::apply_as_is(config(""))
                .named("left out, the resource works")
                .expect("sink_exec.old", Action::Create),
        )
        .run();
}

/// The provider `test/sink`: one resource, `sink_exec`.
mod sink {
    use super::*;

    pub fn serve() -> ExitCode {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let options = serve::ServeOptions {
            provider_address: "registry.terraform.io/test/sink".into(),
            debug: false,
        };
        match runtime.block_on(serve::serve(Sink, options)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        }
    }

    struct Sink;

    #[async_trait]
    impl Provider for Sink {
        type Data = ();

        fn schema(&self) -> Schema {
            Schema::new(0, Block::new("A test provider with a write-only argument."))
        }

        async fn configure(
            &self,
            _req: ConfigureRequest,
        ) -> Result<((), Diagnostics), Diagnostics> {
            Ok(((), Diagnostics::new()))
        }

        fn components(&self) -> Components<()> {
            Components::new().resource(Exec)
        }
    }

    /// Runs `command` in `working_dir` at create, with `environment_wo` added to its
    /// environment.
    struct Exec;

    #[derive(Debug, Default, Serialize, Deserialize)]
    struct ExecState {
        id: Option<String>,
        command: Option<String>,
        working_dir: Option<String>,
        environment_wo: Option<BTreeMap<String, String>>,
    }

    #[async_trait]
    impl Resource<()> for Exec {
        type State = ExecState;
        type Identity = vcr_provider::tfplugin::NoIdentity;

        fn type_name(&self) -> &'static str {
            "sink_exec"
        }

        fn schema(&self) -> Schema {
            Schema::new(
                0,
                Block::new("Runs a command once.")
                    .attribute(
                        Attribute::computed("id", Type::String, "The command.")
                            .use_state_for_unknown(),
                    )
                    .attribute(
                        Attribute::required("command", Type::String, "Run by `sh -c`.")
                            .requires_replace(),
                    )
                    .attribute(
                        Attribute::required("working_dir", Type::String, "Where it runs.")
                            .requires_replace(),
                    )
                    .attribute(
                        Attribute::optional(
                            "environment_wo",
                            Type::map(Type::String),
                            "Added to the command's environment.",
                        )
                        .sensitive()
                        .write_only(),
                    ),
            )
        }

        async fn create(
            &self,
            _data: &(),
            req: CreateRequest<ExecState>,
        ) -> Result<Saved<ExecState>, Failure<ExecState>> {
            let command = req.config.command.clone().unwrap_or_default();
            let status = std::process::Command::new("sh")
                .args(["-c", &command])
                .current_dir(req.config.working_dir.clone().unwrap_or_default())
                .envs(req.config.environment_wo.clone().unwrap_or_default())
                .status();
            match status {
                Ok(s) if s.success() => Ok(Saved::new(ExecState {
                    id: Some(command),
                    // The framework stores write-only values as null whatever is
                    // returned: return it, to prove that.
                    ..req.config
                })),
                other => Err(Diagnostic::error(
                    "Command failed",
                    format!("{command:?}: {other:?}"),
                )
                .into()),
            }
        }

        async fn read(
            &self,
            _data: &(),
            req: ReadRequest<ExecState>,
        ) -> Result<Option<Saved<ExecState>>, Diagnostics> {
            Ok(Some(Saved::new(req.state)))
        }

        async fn update(
            &self,
            _data: &(),
            req: UpdateRequest<ExecState>,
        ) -> Result<Saved<ExecState>, Failure<ExecState>> {
            Ok(Saved::new(req.planned))
        }

        async fn delete(
            &self,
            _data: &(),
            _req: DeleteRequest<ExecState>,
        ) -> Result<(), Diagnostics> {
            Ok(())
        }

        async fn import(
            &self,
            _data: &(),
            _req: ImportRequest<Self::Identity>,
        ) -> Result<Saved<ExecState>, Diagnostics> {
            Err(Diagnostic::error("Not importable", "sink_exec cannot be imported.").into())
        }
    }
}
