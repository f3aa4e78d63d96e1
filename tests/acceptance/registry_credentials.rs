//! `ephemeral "vcr_registry_credentials"` driven by a real Terraform against a real
//! `vcr-local`, as scenarios of steps (see `support::steps`): the credentials reach a
//! `local-exec` provisioner that logs in to the registry with them (skopeo), each plan
//! and apply makes and deletes its own short-lived user, nothing of them reaches the
//! state or a trace log, and a Close that fails leaves a user that expires within a
//! day, with a warning.

use crate::support;

use support::controls::Fault;
use support::credentials::{
    assert_a_generated_login, assert_made_and_deleted_users, assert_no_trace_of,
    assert_registry_calls, provisioner_config, push_the_image, registry_host, seen,
    unwrapped_output, LOGIN_SCRIPT, REPOSITORY,
};
use support::local::LocalVcr;
use support::steps::Ctx;
use support::{literal, Action, Scenario, Step};
use time::OffsetDateTime;
use vcr_provider::provider::expiry::parse_api_time;
use vcr_provider::vcr::{PolicyKind, Region, RobotAccount};

const APP: &str = "vcr_repository.app";
const PUSH: &str = "terraform_data.push";

/// The repository, created, with `app:1.0` in it.
fn repository_with_an_image<'a>() -> Step<'a> {
    Step::apply(REPOSITORY)
        .named("the repository and its image")
        .expect(APP, Action::Create)
        .check(|ctx| push_the_image(ctx.local, Region::Hcm, &ctx.attr(APP, "id")))
}

#[test]
fn credentials_reach_a_provisioner_log_in_and_leave_nothing_behind() {
    let local = LocalVcr::start();
    Scenario::new(&local)
        .step(repository_with_an_image())
        .step(
            Step::apply(provisioner_config("push_pull"))
                .named("the provisioner logs in, pulls and pushes; TF_LOG=trace")
                .file("login.sh", LOGIN_SCRIPT)
                .env("TF_LOG", "trace")
                .expect(PUSH, Action::Create)
                .pre(|ctx| ctx.local.controls().reset_requests())
                .expect_output(&literal(
                    "ephemeral.vcr_registry_credentials.ci: Closing complete",
                ))
                .check(|ctx| {
                    assert_a_generated_login(ctx, true);
                    let log = ctx.output();
                    for expected in [
                        "OpenEphemeralResource",
                        "CloseEphemeralResource",
                        "creating a short-lived repository user",
                    ] {
                        assert!(log.contains(expected), "the trace log lacks {expected:?}");
                    }
                }),
        )
        .step(
            Step::plan_only()
                .named("a plan opens and closes its own credentials")
                .pre(|ctx| ctx.local.controls().reset_requests())
                .expect_no_changes()
                .expect_output(&literal(
                    "ephemeral.vcr_registry_credentials.ci: Opening complete",
                ))
                .expect_output(&literal(
                    "ephemeral.vcr_registry_credentials.ci: Closing complete",
                ))
                .check(|ctx| assert_made_and_deleted_users(ctx, Region::Hcm, 1)),
        )
        .step(
            Step::plan_only()
                .named("the create's answer is lost: the user is found and given a new secret")
                .pre(|ctx| {
                    let controls = ctx.local.controls();
                    controls.reset_requests();
                    controls.add_fault(&Fault::drop_answer("POST", "/hcm/v1/user").times(1));
                })
                .expect_no_changes()
                .check(|ctx| {
                    let controls = ctx.local.controls();
                    assert_eq!(controls.faults()[0].hits, 1, "the answer was dropped");
                    let refreshed: u64 = controls
                        .requests()
                        .requests
                        .iter()
                        .filter(|r| r.path.ends_with("/refresh"))
                        .map(|r| r.count)
                        .sum();
                    assert_eq!(refreshed, 1, "the lost secret was replaced");
                    controls.clear_faults();
                    assert_eq!(ctx.local.user_names(Region::Hcm), Vec::<String>::new());
                }),
        )
        .run();
}

/// What a user may do on each repository, by vCR's policies.
fn policy_kinds(user: &RobotAccount) -> Vec<Vec<PolicyKind>> {
    user.repo_permission_list
        .iter()
        .map(|rp| rp.policy_dto_list.iter().filter_map(|p| p.kind()).collect())
        .collect()
}

/// A user that Close could not delete: the warning names it and gives the expiry vCR
/// holds, a day after its creation; it is pull only.
fn assert_left_with_a_warning(user: &RobotAccount, output: &str) {
    let expires_at = user.expired_at.clone().expect("the user expires");
    let warning = format!(
        "Could not delete the short-lived repository user {:?} in HCM",
        user.name
    );
    let at = output
        .find(&warning)
        .unwrap_or_else(|| panic!("no warning names {}: {output}", user.name));
    let expiry = regex::Regex::new(r"It expires at (\S+), within a day")
        .unwrap()
        .captures(&output[at..])
        .map(|c| c[1].to_string());
    assert_eq!(expiry.as_deref(), Some(expires_at.as_str()), "{output}");
    let created = parse_api_time(&user.created_at).unwrap();
    let expires = parse_api_time(&expires_at).unwrap();
    assert_eq!((expires - created).whole_minutes(), 24 * 60);
    assert!(expires > OffsetDateTime::now_utc());
    assert_eq!(policy_kinds(user), vec![vec![PolicyKind::Pull]]);
}

#[test]
fn a_pull_only_user_whose_close_fails_stays_with_a_warning_until_it_expires() {
    let local = LocalVcr::start();
    Scenario::new(&local)
        .step(repository_with_an_image())
        .step(
            Step::apply(provisioner_config("pull_only"))
                .named("pull only; every delete fails")
                .file("login.sh", LOGIN_SCRIPT)
                .env("VCR_MAX_RETRIES", "0")
                .pre(|ctx| {
                    let fault = Fault::status("/hcm/v1/user/ra-*", 500).method("DELETE");
                    ctx.local.controls().add_fault(&fault);
                })
                .expect(PUSH, Action::Create)
                .check(|ctx| {
                    ctx.local.controls().clear_faults();
                    // The provisioner logged in and pulled, and the registry refused
                    // its push.
                    assert_registry_calls(ctx, false);
                    let seen = seen(ctx);
                    // The plan's user and the apply's stay, each with its warning.
                    let client = ctx.local.client();
                    let users = ctx
                        .local
                        .block_on(client.users(Region::Hcm).list_all(None))
                        .unwrap();
                    assert_eq!(users.len(), 2, "{users:?}");
                    let output = unwrapped_output(ctx);
                    for user in &users {
                        assert_left_with_a_warning(user, &output);
                    }
                    let applied = users.iter().find(|u| u.backend_name == seen.username);
                    let applied = applied.expect("the provisioner's user is left");
                    assert!(ctx.local.controls().can_login(
                        Region::Hcm,
                        &applied.backend_name,
                        &seen.password
                    ));
                    // Gone, as their expiry would make them.
                    for user in users {
                        ctx.local
                            .block_on(client.users(Region::Hcm).delete(&user.uuid))
                            .unwrap();
                    }
                }),
        )
        .run();
}

/// A child module that opens pull-only credentials in HAN and hands them out as an
/// ephemeral output.
const CREDS_MODULE: &str = r#"
terraform {
  required_providers {
    vcr = { source = "vngcloud/vcr" }
  }
}

variable "repository_id" {
  type = string
}

ephemeral "vcr_registry_credentials" "this" {
  region = "HAN"
  repository_permission {
    repository_id = var.repository_id
    permission    = "pull_only"
  }
}

output "login" {
  value     = ephemeral.vcr_registry_credentials.this
  ephemeral = true
}
"#;

/// vcr-local's HAN registry under another name (`localhost` for `127.0.0.1`), set in
/// the provider block: the credentials' `registry` follows it rather than the
/// `VCR_REGISTRY_HAN` vcr-local printed.
fn han_registry(local: &LocalVcr) -> String {
    registry_host(local, Region::Han).replace("127.0.0.1", "localhost")
}

fn han_repository(registry: &str) -> String {
    format!(
        r#"
provider "vcr" {{
  endpoints {{
    registry_han = "{registry}"
  }}
}}

resource "vcr_repository" "app" {{
  name           = "eph-han-app"
  quota_limit_gb = 5
  region         = "HAN"
  force_destroy  = true
}}
"#
    )
}

/// The module's credentials through an ephemeral local into a provisioner and into the
/// configuration of a second provider (as the Docker provider's `registry_auth` would
/// take them), whose data source shows the value arrived.
fn module_config(registry: &str) -> String {
    format!(
        r#"{}
module "creds" {{
  source        = "./creds"
  repository_id = vcr_repository.app.id
}}

locals {{
  login = module.creds.login
}}

provider "vcr" {{
  alias = "through_credentials"
  endpoints {{
    registry_han = local.login.registry
  }}
}}

data "vcr_repository" "through_credentials" {{
  provider = vcr.through_credentials
  region   = "HAN"
  name     = vcr_repository.app.name
}}

resource "terraform_data" "pull" {{
  provisioner "local-exec" {{
    command = "sh login.sh"
    environment = {{
      USERNAME = local.login.username
      PASSWORD = local.login.password
      REGISTRY = local.login.registry
      IMAGE    = "${{vcr_repository.app.backend_name}}/app"
    }}
  }}
}}
"#,
        han_repository(registry)
    )
}

#[test]
fn credentials_through_a_module_an_ephemeral_local_and_a_provider_block() {
    let local = LocalVcr::start();
    let registry = han_registry(&local);
    let no_user_left = |ctx: &Ctx| {
        for region in Region::ALL {
            assert_eq!(ctx.local.user_names(region), Vec::<String>::new());
        }
    };
    Scenario::new(&local)
        .step(
            Step::apply(
                r#"
ephemeral "vcr_registry_credentials" "twice" {
  repository_permission {
    repository_id = "repo-1"
    permission    = "pull_only"
  }
  repository_permission {
    repository_id = "repo-1"
    permission    = "push_pull"
  }
}
"#,
            )
            .named("the rules of vcr_repository_user's blocks")
            .expect_plan_error(&literal(
                r#"repository "repo-1" appears in two repository_permission blocks"#,
            )),
        )
        .step(
            Step::apply(format!(
                "{}\nresource \"terraform_data\" \"leak\" {{\n  input = local.login.password\n}}\n",
                module_config(&registry)
            ))
            .named("the password cannot go where Terraform stores values")
            .file("creds/main.tf", CREDS_MODULE)
            .expect_plan_error("Invalid use of ephemeral value")
            .check(no_user_left),
        )
        .step(
            Step::apply(han_repository(&registry))
                .expect(APP, Action::Create)
                .check(|ctx| push_the_image(ctx.local, Region::Han, &ctx.attr(APP, "id"))),
        )
        .step(
            Step::apply(module_config(&registry))
                .file("login.sh", LOGIN_SCRIPT)
                .expect("terraform_data.pull", Action::Create)
                .check(|ctx| {
                    assert_registry_calls(ctx, false);
                    let seen = seen(ctx);
                    assert_eq!(seen.registry, registry, "registry follows endpoints");
                    assert_no_trace_of(ctx, &seen.password);
                    let url = ctx.attr("data.vcr_repository.through_credentials", "registry_url");
                    let backend = ctx.attr(APP, "backend_name");
                    assert_eq!(url, format!("{registry}/{backend}"));
                    no_user_left(ctx);
                }),
        )
        .run();
}

/// Over the protocol in process: the private data Open hands Terraform names the user
/// (and holds no password), Close deletes it, and a second Close of a user already
/// gone is quiet.
#[tokio::test]
async fn private_data_names_the_user_and_closing_twice_is_quiet() {
    use vcr_provider::provider::{config, registry_credentials, VcrProvider};
    use vcr_provider::tfplugin::proto::provider_server::Provider as _;
    use vcr_provider::tfplugin::proto::{self, close_ephemeral_resource, open_ephemeral_resource};
    use vcr_provider::tfplugin::server::ProviderService;
    use vcr_provider::tfplugin::{codec, Private, Value};

    let local = vcr_provider::local::start(vcr_provider::local::LocalConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..Default::default()
    })
    .await
    .unwrap();
    let settings: std::collections::HashMap<_, _> = local.settings().into_iter().collect();
    let provider = Value::from_json(&serde_json::json!({
        "client_id": settings["VCR_CLIENT_ID"],
        "client_secret": settings["VCR_CLIENT_SECRET"],
        "token_url": local.token_url(),
        "endpoints": { "hcm": local.endpoint_hcm(), "han": local.endpoint_han() },
    }))
    .conform(&config::schema().value_type())
    .unwrap();
    let service = ProviderService::new(VcrProvider);
    let configure = proto::configure::Request {
        config: Some(codec::encode(&provider)),
        ..Default::default()
    };
    service
        .configure(tonic::Request::new(configure))
        .await
        .unwrap();
    let client = vcr_provider::vcr::Client::new(vcr_provider::vcr::ClientConfig {
        client_id: settings["VCR_CLIENT_ID"].clone(),
        client_secret: vcr_provider::vcr::Secret::new(settings["VCR_CLIENT_SECRET"].clone()),
        token_url: Some(local.token_url()),
        endpoint_hcm: Some(local.endpoint_hcm()),
        endpoint_han: Some(local.endpoint_han()),
        ..Default::default()
    })
    .unwrap();
    let repository = client
        .repositories(Region::Hcm)
        .create(&vcr_provider::vcr::CreateRepository {
            name: "eph-proto".into(),
            is_public: false,
            quota_limit_gb: 1,
        })
        .await
        .unwrap();

    let ty = registry_credentials::schema().value_type();
    let config = Value::from_json(&serde_json::json!({
        "repository_permission": [{ "repository_id": repository.uuid, "permission": "pull_only" }],
    }))
    .conform(&ty)
    .unwrap();
    let opened = service
        .open_ephemeral_resource(tonic::Request::new(open_ephemeral_resource::Request {
            type_name: registry_credentials::TYPE_NAME.into(),
            config: Some(codec::encode(&config)),
            client_capabilities: None,
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(opened.diagnostics.is_empty(), "{:?}", opened.diagnostics);
    assert!(opened.renew_at.is_none(), "a day is enough: no renewal");
    let result = codec::decode(opened.result.as_ref(), &ty).unwrap();
    let password = result.attr("password").as_str().unwrap().to_string();
    assert_eq!(result.attr("region"), &Value::from("HCM"));
    assert_eq!(result.attr("description"), &Value::Null, "as configured");
    let private_bytes = opened.private.unwrap();
    assert!(!String::from_utf8_lossy(&private_bytes).contains(&password));
    let private = Private::from_bytes(&private_bytes).unwrap();
    let user: registry_credentials::OpenedUser = private.get("user").unwrap().unwrap();
    assert!(
        user.id.starts_with("ra-") && user.name.starts_with("tf-eph-"),
        "{user:?}"
    );
    assert_eq!(user.region, "HCM");

    let close = || {
        service.close_ephemeral_resource(tonic::Request::new(close_ephemeral_resource::Request {
            type_name: registry_credentials::TYPE_NAME.into(),
            private: Some(private_bytes.clone()),
        }))
    };
    let first = close().await.unwrap().into_inner();
    assert!(first.diagnostics.is_empty(), "{:?}", first.diagnostics);
    let users = client.users(Region::Hcm).list_all(None).await.unwrap();
    assert!(users.is_empty(), "{users:?}");
    let again = close().await.unwrap().into_inner();
    assert!(again.diagnostics.is_empty(), "{:?}", again.diagnostics);
    local.shutdown().await;
}

/// With the API at vcr-local and no `VCR_REGISTRY_HCM` (an empty value is unset), the
/// credentials' `registry` is where vCR says the repository's images are, not vCR's
/// production registry: the provisioner logs in to vcr-local's.
#[test]
fn the_registry_is_what_vcr_reports_without_an_override() {
    let local = LocalVcr::start();
    Scenario::new(&local)
        .env("VCR_REGISTRY_HCM", "")
        .step(repository_with_an_image())
        .step(
            Step::apply(provisioner_config("push_pull"))
                .file("login.sh", LOGIN_SCRIPT)
                .expect(PUSH, Action::Create)
                .pre(|ctx| ctx.local.controls().reset_requests())
                .check(|ctx| {
                    assert_a_generated_login(ctx, true);
                }),
        )
        .run();
}
