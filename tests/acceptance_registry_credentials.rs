//! `ephemeral "vcr_registry_credentials"` driven by a real Terraform against a real
//! `vcr-local`, as scenarios of steps (see `support::steps`): the credentials reach a
//! `local-exec` provisioner that logs in with them, each plan and apply makes and
//! deletes its own short-lived user, nothing of them reaches the state or a trace log,
//! and a Close that fails leaves a user that expires within a day, with a warning.

mod support;

use support::controls::Fault;
use support::local::LocalVcr;
use support::steps::Ctx;
use support::{literal, Action, Scenario, Step};
use time::OffsetDateTime;
use vcr_provider::provider::expiry::parse_api_time;
use vcr_provider::vcr::{PolicyKind, Region, RobotAccount};

const APP: &str = "vcr_repository.app";

/// What the provisioner's script writes: the login name, the registry and the
/// verdict of its login, and (apart) the password, so that the checks can look for it
/// where it must not be.
const SEEN: &str = "login.seen";
const SEEN_PASSWORD: &str = "password.seen";

/// Run by `local-exec` with the credentials in its environment: logs in as `docker
/// login` would (vcr-local's check-login) and writes what it saw.
const LOGIN_SCRIPT: &str = r#"set -eu
printf '%s' "$PASSWORD" > password.seen
printf '%s\n%s\n' "$USERNAME" "$REGISTRY" > login.seen
if printf '{"username":"%s","password":"%s"}' "$USERNAME" "$PASSWORD" |
   curl -fsS -o /dev/null -X POST -H 'content-type: application/json' --data-binary @- "$LOGIN_URL"
then echo "login ok" >> login.seen
else echo "login refused" >> login.seen
fi
"#;

/// vcr-local's login check for a region, which the provisioner calls.
fn login_url(local: &LocalVcr, region: Region) -> String {
    format!(
        "{}/_local/{}/check-login",
        local.base_url(),
        region.as_str().to_lowercase()
    )
}

/// A repository, credentials for it, and a `terraform_data` whose provisioner gets the
/// credentials through its environment (and, unused by `local-exec`, a connection).
fn provisioner_config(login_url: &str, permission: &str) -> String {
    format!(
        r#"
resource "vcr_repository" "app" {{
  name           = "eph-app"
  quota_limit_gb = 5
}}

ephemeral "vcr_registry_credentials" "ci" {{
  description = "one CI run"
  repository_permission {{
    repository_id = vcr_repository.app.id
    permission    = "{permission}"
  }}
}}

resource "terraform_data" "push" {{
  connection {{
    type     = "ssh"
    host     = "127.0.0.1"
    user     = ephemeral.vcr_registry_credentials.ci.username
    password = ephemeral.vcr_registry_credentials.ci.password
  }}
  provisioner "local-exec" {{
    command = "sh login.sh"
    environment = {{
      USERNAME  = ephemeral.vcr_registry_credentials.ci.username
      PASSWORD  = ephemeral.vcr_registry_credentials.ci.password
      REGISTRY  = ephemeral.vcr_registry_credentials.ci.registry
      LOGIN_URL = "{login_url}"
    }}
  }}
}}
"#
    )
}

/// The registry host the provider reports in `region` for this vcr-local.
fn registry_host(local: &LocalVcr, region: Region) -> String {
    let (key, default) = match region {
        Region::Hcm => ("VCR_REGISTRY_HCM", "vcr.vngcloud.vn"),
        Region::Han => ("VCR_REGISTRY_HAN", "vcr-han.vngcloud.vn"),
    };
    local
        .settings
        .get(key)
        .cloned()
        .unwrap_or_else(|| default.to_string())
}

/// What the provisioner saw: login name, registry, login verdict; and the password.
struct Seen {
    username: String,
    registry: String,
    verdict: String,
    password: String,
}

fn seen(ctx: &Ctx) -> Seen {
    let ws = ctx.workspace();
    let text = ws
        .read_file(SEEN)
        .expect("the provisioner ran and wrote what it saw");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    Seen {
        username: lines[0].to_string(),
        registry: lines[1].to_string(),
        verdict: lines[2].to_string(),
        password: ws.read_file(SEEN_PASSWORD).unwrap_or_default(),
    }
}

/// The password is nowhere Terraform keeps or prints things: not in the state file
/// (which holds no ephemeral resource either; a resource that used one names it among
/// its dependencies only), not in the output of the step (which, under `TF_LOG=trace`,
/// holds the whole trace log).
fn assert_no_trace_of(ctx: &Ctx, password: &str) {
    assert!(password.len() >= 16, "a real password: {}", password.len());
    let state = ctx.workspace().state_text();
    assert!(
        !state.contains(password),
        "the password is in the state file"
    );
    let json: serde_json::Value = serde_json::from_str(&state).expect("a state was written");
    let resources = json["resources"].as_array().expect("resources in state");
    assert!(!resources.is_empty());
    for r in resources {
        assert!(
            ["managed", "data"].contains(&r["mode"].as_str().unwrap_or_default())
                && r["type"] != "vcr_registry_credentials",
            "an ephemeral resource is in the state file: {}",
            r["type"]
        );
    }
    assert!(
        !ctx.output().contains(password),
        "the password is in Terraform's output or log"
    );
}

/// The output of the step with Terraform's line wrapping undone.
fn unwrapped_output(ctx: &Ctx) -> String {
    ctx.output()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// How many requests vcr-local answered for this method on user paths, by status.
fn user_calls(ctx: &Ctx, method: &str, region: Region) -> (u64, Vec<String>) {
    let prefix = format!("/{}/v1/user", region.as_str().to_lowercase());
    let counts = ctx.local.controls().requests();
    let mut total = 0;
    let mut statuses = Vec::new();
    for r in counts.requests.iter().filter(|r| r.method == method) {
        let is_user = r.path == prefix
            || (r.path.starts_with(&format!("{prefix}/ra-")) && !r.path.ends_with("/refresh"));
        if is_user {
            total += r.count;
            statuses.extend(r.statuses.keys().cloned());
        }
    }
    statuses.sort();
    statuses.dedup();
    (total, statuses)
}

/// One user made (POST) and one deleted (DELETE, 200), none left in the region.
fn assert_made_and_deleted_one_user(ctx: &Ctx, region: Region) {
    assert_eq!(user_calls(ctx, "POST", region), (1, vec!["200".into()]));
    assert_eq!(user_calls(ctx, "DELETE", region), (1, vec!["200".into()]));
    assert_eq!(ctx.local.user_names(region), Vec::<String>::new());
}

#[test]
fn credentials_reach_a_provisioner_log_in_and_leave_nothing_behind() {
    let local = LocalVcr::start();
    let config = provisioner_config(&login_url(&local, Region::Hcm), "push_pull");
    Scenario::new(&local)
        .step(
            Step::apply(config)
                .named("the provisioner logs in; TF_LOG=trace")
                .file("login.sh", LOGIN_SCRIPT)
                .env("TF_LOG", "trace")
                .expect(APP, Action::Create)
                .expect("terraform_data.push", Action::Create)
                .pre(|ctx| ctx.local.controls().reset_requests())
                .expect_output(&literal(
                    "ephemeral.vcr_registry_credentials.ci: Closing complete",
                ))
                .check(|ctx| {
                    let seen = seen(ctx);
                    assert_eq!(seen.verdict, "login ok");
                    assert!(
                        seen.username.contains("-tf-eph-"),
                        "the backend name of a generated user: {}",
                        seen.username
                    );
                    assert_eq!(seen.registry, registry_host(ctx.local, Region::Hcm));
                    // The plan could not open the credentials (the repository id was
                    // unknown); the apply opened them once, and closed them.
                    assert_made_and_deleted_one_user(ctx, Region::Hcm);
                    assert_no_trace_of(ctx, &seen.password);
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
                .check(|ctx| assert_made_and_deleted_one_user(ctx, Region::Hcm)),
        )
        .run();
}

/// The short-lived user vcr-local holds in HCM (there must be exactly one).
fn the_one_user(ctx: &Ctx) -> RobotAccount {
    let users = ctx
        .local
        .block_on(ctx.local.client().users(Region::Hcm).list_all(None))
        .unwrap();
    assert_eq!(users.len(), 1, "{users:?}");
    users.into_iter().next().unwrap()
}

/// What a user may do on each repository, by vCR's policies.
fn policy_kinds(user: &RobotAccount) -> Vec<Vec<PolicyKind>> {
    user.repo_permission_list
        .iter()
        .map(|rp| rp.policy_dto_list.iter().filter_map(|p| p.kind()).collect())
        .collect()
}

#[test]
fn a_pull_only_user_whose_close_fails_stays_with_a_warning_until_it_expires() {
    let local = LocalVcr::start();
    let config = provisioner_config(&login_url(&local, Region::Hcm), "pull_only");
    Scenario::new(&local)
        .step(
            Step::apply(config)
                .named("the delete fails")
                .file("login.sh", LOGIN_SCRIPT)
                .env("VCR_MAX_RETRIES", "0")
                .pre(|ctx| {
                    let fault = Fault::status("/hcm/v1/user/ra-*", 500).method("DELETE");
                    ctx.local.controls().add_fault(&fault);
                })
                .expect(APP, Action::Create)
                .expect("terraform_data.push", Action::Create)
                .expect_output(r#"Warning: Could not delete the short-lived repository user "tf-eph-[a-z0-9]{7}" in HCM"#)
                .check(|ctx| {
                    ctx.local.controls().clear_faults();
                    let seen = seen(ctx);
                    assert_eq!(seen.verdict, "login ok");
                    let user = the_one_user(ctx);
                    assert_eq!(seen.username, user.backend_name);
                    let output = unwrapped_output(ctx);
                    assert!(
                        output.contains(&format!("short-lived repository user {:?}", user.name)),
                        "the warning names the user left behind"
                    );
                    // The warning gives the expiry vCR holds, a day after creation.
                    let expires_at = user.expired_at.clone().expect("the user expires");
                    let warned = regex::Regex::new(r"It expires at (\S+), within a day")
                        .unwrap()
                        .captures(&output)
                        .map(|c| c[1].to_string());
                    assert_eq!(warned.as_deref(), Some(expires_at.as_str()), "{output}");
                    let created = parse_api_time(&user.created_at).unwrap();
                    let expires = parse_api_time(&expires_at).unwrap();
                    assert_eq!((expires - created).whole_minutes(), 24 * 60);
                    assert!(expires > OffsetDateTime::now_utc());
                    // Pull only: it may log in and pull, not push.
                    assert!(ctx.local.controls().can_login(
                        Region::Hcm,
                        &user.backend_name,
                        &seen.password
                    ));
                    assert_eq!(policy_kinds(&user), vec![vec![PolicyKind::Pull]]);
                    // Gone, as its expiry would make it.
                    let users = ctx.local.client();
                    ctx.local
                        .block_on(users.users(Region::Hcm).delete(&user.uuid))
                        .unwrap();
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

/// The registry host the root provider block sets for HAN.
const HAN_REGISTRY: &str = "registry-han.test:5443";

const HAN_REPOSITORY: &str = r#"
provider "vcr" {
  endpoints {
    registry_han = "registry-han.test:5443"
  }
}

resource "vcr_repository" "app" {
  name           = "eph-han-app"
  quota_limit_gb = 5
  region         = "HAN"
}
"#;

/// The module's credentials through an ephemeral local into a provisioner and into the
/// configuration of a second provider (as the Docker provider's `registry_auth` would
/// take them), whose data source shows the value arrived.
fn module_config(login_url: &str) -> String {
    format!(
        r#"{HAN_REPOSITORY}
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
      USERNAME  = local.login.username
      PASSWORD  = local.login.password
      REGISTRY  = local.login.registry
      LOGIN_URL = "{login_url}"
    }}
  }}
}}
"#
    )
}

#[test]
fn credentials_through_a_module_an_ephemeral_local_and_a_provider_block() {
    let local = LocalVcr::start();
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
                module_config(&login_url(&local, Region::Han))
            ))
            .named("the password cannot go where Terraform stores values")
            .file("creds/main.tf", CREDS_MODULE)
            .expect_plan_error("Invalid use of ephemeral value")
            .check(no_user_left),
        )
        .step(Step::apply(HAN_REPOSITORY).expect(APP, Action::Create))
        .step(
            Step::apply(module_config(&login_url(&local, Region::Han)))
                .file("login.sh", LOGIN_SCRIPT)
                .expect("terraform_data.pull", Action::Create)
                .check(move |ctx| {
                    let seen = seen(ctx);
                    assert_eq!(seen.verdict, "login ok");
                    assert_eq!(seen.registry, HAN_REGISTRY, "registry follows endpoints");
                    assert_no_trace_of(ctx, &seen.password);
                    let url = ctx.attr("data.vcr_repository.through_credentials", "registry_url");
                    let backend = ctx.attr(APP, "backend_name");
                    assert_eq!(url, format!("{HAN_REGISTRY}/{backend}"));
                    no_user_left(ctx);
                }),
        )
        .run();
}
