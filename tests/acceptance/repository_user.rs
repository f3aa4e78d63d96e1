//! `vcr_repository_user` and the user data sources, driven by a real Terraform against
//! a real `vcr-local`, as scenarios of steps (see `support::steps`).

use crate::support;

use std::cell::{OnceCell, RefCell};

use support::local::LocalVcr;
use support::steps::Ctx;
use support::{literal, words, Action, Scenario, Step, Workspace};
use vcr_provider::vcr::{PolicyKind, Region};

const CI: &str = "vcr_repository_user.ci";
const DEPLOY: &str = "vcr_repository_user.deploy";

const REPOS: &str = r#"
resource "vcr_repository" "app" {
  name           = "team-app"
  quota_limit_gb = 5
}
resource "vcr_repository" "web" {
  name           = "team-web"
  quota_limit_gb = 5
}
"#;

fn config(users: &str) -> String {
    format!("{REPOS}\n{users}")
}

const CI_AND_DEPLOY: &str = r#"
resource "vcr_repository_user" "ci" {
  name        = "ci-pusher"
  description = "pushes from CI"
  repository_permission {
    repository_id = vcr_repository.app.id
    permission    = "push_pull"
  }
  repository_permission {
    repository_id = vcr_repository.web.id
    permission    = "push_pull"
  }
}
resource "vcr_repository_user" "deploy" {
  name            = "deployer"
  expiration_date = "2099-06-30"
  repository_permission {
    repository_id = vcr_repository.app.id
    permission    = "pull_only"
  }
}
"#;

/// A repository in HAN, the region other than the provider's.
const NORTH_REPOSITORY: &str = r#"
resource "vcr_repository" "north" {
  name           = "north-app"
  quota_limit_gb = 1
  region         = "HAN"
}
"#;

/// "Through the end of that day, UTC", as the docs say of an `expiration_date`: vCR
/// counts whole days from the apply, so the user expires at the apply's time of day on
/// the next day, never before the date ends.
fn assert_expires_through_the_end_of(ctx: &Ctx, address: &str, date: &str) {
    use time::format_description::well_known::Rfc3339;
    let expires_at = ctx.attr(address, "expires_at");
    let at = time::OffsetDateTime::parse(&expires_at, &Rfc3339).unwrap();
    let end = time::OffsetDateTime::parse(&format!("{date}T23:59:59Z"), &Rfc3339).unwrap();
    assert!(
        at >= end && at < end + time::Duration::days(1),
        "{address} expires at {expires_at}, not through the end of {date}"
    );
}

/// Whether vcr-local would let `docker login` through with the user's login name and
/// this secret.
fn can_login(ctx: &Ctx, address: &str, secret: &str) -> bool {
    let login = ctx.attr(address, "backend_name");
    ctx.local.controls().can_login(Region::Hcm, &login, secret)
}

fn policy_kinds(local: &LocalVcr, name: &str) -> Vec<(String, Vec<PolicyKind>)> {
    let user = local
        .block_on(local.client().users(Region::Hcm).find_by_name(name))
        .unwrap()
        .unwrap();
    let mut out: Vec<(String, Vec<PolicyKind>)> = user
        .repo_permission_list
        .iter()
        .map(|rp| {
            let mut kinds: Vec<PolicyKind> =
                rp.policy_dto_list.iter().filter_map(|p| p.kind()).collect();
            kinds.sort_by_key(|k| format!("{k:?}"));
            (rp.repo_name.clone(), kinds)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The two users again, with the repository ids written out (for a workspace that
/// imports them without the repositories).
fn users_only(ctx: &Ctx) -> String {
    let app = ctx.attr("vcr_repository.app", "id");
    let web = ctx.attr("vcr_repository.web", "id");
    CI_AND_DEPLOY
        .replace("vcr_repository.app.id", &format!("\"{app}\""))
        .replace("vcr_repository.web.id", &format!("\"{web}\""))
}

/// Imports a user and compares it with the applied one but for the secret, which
/// vCR never returns (the provider warns, and the state holds null).
fn import_user<'a>(address: &str) -> Step<'a> {
    Step::import(address)
        .import_config_from(users_only)
        .ignoring(&["secret"])
        .unordered(&["repository_permission"])
        .expect_output(&literal(
            "The secret of an imported repository user is unknown",
        ))
        .expect_output("rotation_triggers")
        .check(|ctx| assert!(ctx.imported()["secret"].is_null()))
}

#[test]
fn lifecycle_with_secrets_permissions_and_import() {
    let local = LocalVcr::start();
    let ci_id = |ctx: &Ctx| ctx.attr(CI, "id");
    let hcm_ci_id = |ctx: &Ctx| format!("HCM/{}", ctx.attr(CI, "id"));
    Scenario::new(&local)
        .step(
            Step::apply(config(CI_AND_DEPLOY))
                .expect_all(Action::Create)
                .check(|ctx| {
                    let ci = ctx.state(CI);
                    let deploy = ctx.state(DEPLOY);
                    let ci_secret = ctx.attr(CI, "secret");
                    assert!(!ci_secret.is_empty());
                    assert!(ctx.attr(CI, "id").starts_with("ra-"), "{}", ci["id"]);
                    assert!(ctx.attr(CI, "backend_name").ends_with("-ci-pusher"));
                    assert_eq!(ci["enabled"], true);
                    assert_eq!(ci["expired"], false);
                    assert!(
                        ci["expires_at"].is_null(),
                        "no expiration_date: never expires"
                    );
                    assert_eq!(deploy["expiration_date"], "2099-06-30");
                    assert_expires_through_the_end_of(ctx, DEPLOY, "2099-06-30");
                    assert!(can_login(ctx, CI, &ci_secret));
                    assert!(can_login(ctx, DEPLOY, &ctx.attr(DEPLOY, "secret")));
                    assert_eq!(
                        policy_kinds(ctx.local, "deployer"),
                        vec![("team-app".to_string(), vec![PolicyKind::Pull])]
                    );
                    assert_eq!(
                        policy_kinds(ctx.local, "ci-pusher"),
                        vec![
                            (
                                "team-app".to_string(),
                                vec![PolicyKind::Pull, PolicyKind::Push]
                            ),
                            (
                                "team-web".to_string(),
                                vec![PolicyKind::Pull, PolicyKind::Push]
                            ),
                        ]
                    );
                }),
        )
        // Import in every form: state equals the applied one but for the secret.
        .step(import_user(CI).import_id_from(ci_id))
        .step(import_user(CI).import_id("ci-pusher"))
        .step(import_user(CI).import_id_from(hcm_ci_id))
        .step(import_user(DEPLOY).import_id("HCM/deployer"))
        .run();
}

#[test]
fn updates_in_place_and_rotation() {
    let local = LocalVcr::start();
    // Reordering blocks is no change.
    let reordered = CI_AND_DEPLOY.replacen(
        "  repository_permission {\n    repository_id = vcr_repository.app.id\n    permission    = \"push_pull\"\n  }\n  repository_permission {\n    repository_id = vcr_repository.web.id\n    permission    = \"push_pull\"\n  }",
        "  repository_permission {\n    repository_id = vcr_repository.web.id\n    permission    = \"push_pull\"\n  }\n  repository_permission {\n    repository_id = vcr_repository.app.id\n    permission    = \"push_pull\"\n  }",
        1,
    );
    assert_ne!(reordered, CI_AND_DEPLOY);
    // Description, expiry, enabled and permissions change in place, keeping the secret.
    let changed = CI_AND_DEPLOY
        .replace("expiration_date = \"2099-06-30\"", "expiration_date = \"2098-01-15\"\n  description = \"deploys\"\n  enabled = false")
        .replace(
            "  repository_permission {\n    repository_id = vcr_repository.app.id\n    permission    = \"pull_only\"\n  }\n}",
            "  repository_permission {\n    repository_id = vcr_repository.app.id\n    permission    = \"pull_only\"\n  }\n  repository_permission {\n    repository_id = vcr_repository.web.id\n    permission    = \"pull_only\"\n  }\n}",
        );
    let described = changed.replace(
        "description = \"deploys\"",
        "description = \"deploys to prod\"",
    );
    // Removing the expiration date means the user never expires; enable it again.
    let never = changed
        .replace("expiration_date = \"2098-01-15\"\n", "")
        .replace("enabled = false", "enabled = true");
    let rotated = never.replace(
        "description = \"deploys\"",
        "description = \"deploys\"\n  rotation_triggers = { month = \"2027-01\" }",
    );
    // The deploy user's first secret, kept across the steps.
    let old_secret = OnceCell::new();
    Scenario::new(&local)
        .step(
            Step::apply(config(CI_AND_DEPLOY))
                .expect_all(Action::Create)
                .check(|ctx| old_secret.set(ctx.attr(DEPLOY, "secret")).unwrap()),
        )
        .step(Step::apply(config(&reordered)).expect_no_changes())
        .step(
            Step::apply(config(&changed))
                .expect(DEPLOY, Action::Update)
                .expect_unchanged(DEPLOY, "secret")
                .check(|ctx| {
                    let (before, after) = (ctx.prior(DEPLOY), ctx.state(DEPLOY));
                    assert_eq!(after["id"], before["id"]);
                    assert_eq!(after["secret"], before["secret"]);
                    assert_eq!(after["description"], "deploys");
                    assert_eq!(after["enabled"], false);
                    assert_expires_through_the_end_of(ctx, DEPLOY, "2098-01-15");
                    assert_eq!(
                        policy_kinds(ctx.local, "deployer"),
                        vec![
                            ("team-app".to_string(), vec![PolicyKind::Pull]),
                            ("team-web".to_string(), vec![PolicyKind::Pull]),
                        ]
                    );
                    assert!(
                        !can_login(ctx, DEPLOY, old_secret.get().unwrap()),
                        "a disabled user cannot log in"
                    );
                }),
        )
        .step(
            Step::apply(config(&described))
                .named("the description alone changes in place, though vCR recounts the expiry")
                .expect(DEPLOY, Action::Update)
                .expect_value(DEPLOY, "description", "deploys", "deploys to prod")
                .check(|ctx| assert_expires_through_the_end_of(ctx, DEPLOY, "2098-01-15")),
        )
        .step(
            Step::apply(config(&never))
                .expect(DEPLOY, Action::Update)
                .check(|ctx| {
                    let after = ctx.state(DEPLOY);
                    assert!(
                        after["expires_at"].is_null() && after["expiration_date"].is_null(),
                        "{after}"
                    );
                    assert!(can_login(ctx, DEPLOY, old_secret.get().unwrap()));
                }),
        )
        .step(
            Step::apply(config(&rotated))
                .named("a change of rotation_triggers refreshes the secret in place")
                .expect(DEPLOY, Action::Update)
                .expect_unknown(DEPLOY, "secret")
                .expect_sensitive(DEPLOY, "secret")
                .check(|ctx| {
                    let new_secret = ctx.attr(DEPLOY, "secret");
                    let old_secret = old_secret.get().unwrap();
                    assert_ne!(&new_secret, old_secret);
                    assert!(can_login(ctx, DEPLOY, &new_secret));
                    assert!(
                        !can_login(ctx, DEPLOY, old_secret),
                        "the old secret stops working"
                    );
                }),
        )
        .run();
}

#[test]
fn drift_is_set_back() {
    let local = LocalVcr::start();
    let drift = |ctx: &Ctx| {
        let client = ctx.local.client();
        let users = client.users(Region::Hcm);
        let id = ctx.attr(DEPLOY, "id");
        let web = ctx.attr("vcr_repository.web", "id");
        let policies = ctx.local.block_on(users.policies()).unwrap();
        let push_pull = vcr_provider::vcr::Permission::PushPull
            .policy_ids(&policies)
            .unwrap();
        ctx.local.block_on(users.disable(&id)).unwrap();
        ctx.local
            .block_on(users.update(
                &id,
                &vcr_provider::vcr::UpdateUser {
                    duration_days: Some(400),
                    description: Some("changed by hand".into()),
                },
            ))
            .unwrap();
        ctx.local
            .block_on(users.set_permissions(
                &id,
                &[vcr_provider::vcr::PermissionRequest {
                    repo_id: web,
                    policy_ids: push_pull,
                }],
            ))
            .unwrap();
    };
    Scenario::new(&local)
        .step(Step::apply(config(CI_AND_DEPLOY)).expect_all(Action::Create))
        .step(
            Step::reapply()
                .named("disabled, described, extended and given other permissions by hand")
                .pre(drift)
                .expect(DEPLOY, Action::Update)
                .expect_value(DEPLOY, "enabled", false, true)
                .expect_value(
                    DEPLOY,
                    "description",
                    "changed by hand",
                    serde_json::Value::Null,
                )
                .check_plan(|plan| {
                    let c = plan.get(DEPLOY).unwrap();
                    assert_eq!(c.after["expiration_date"], "2099-06-30");
                    assert_ne!(c.before["expiration_date"], c.after["expiration_date"]);
                    let app_pull = |v: &serde_json::Value| {
                        v["repository_permission"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .any(|p| p["permission"] == "pull_only")
                    };
                    assert!(
                        app_pull(&c.after) && !app_pull(&c.before),
                        "{} -> {}",
                        c.before["repository_permission"],
                        c.after["repository_permission"]
                    );
                })
                .check(|ctx| {
                    assert_eq!(
                        policy_kinds(ctx.local, "deployer"),
                        vec![("team-app".to_string(), vec![PolicyKind::Pull])]
                    );
                    let after = ctx.state(DEPLOY);
                    assert_eq!(after["enabled"], true);
                    assert!(after["description"].is_null());
                    assert_expires_through_the_end_of(ctx, DEPLOY, "2099-06-30");
                    assert_eq!(after["secret"], ctx.prior(DEPLOY)["secret"]);
                }),
        )
        .step(
            Step::reapply()
                .named("deleted outside Terraform: planned again")
                .pre(|ctx| {
                    let client = ctx.local.client();
                    let id = ctx.attr(DEPLOY, "id");
                    ctx.local
                        .block_on(client.users(Region::Hcm).delete(&id))
                        .unwrap();
                })
                .expect(DEPLOY, Action::Create),
        )
        .run();
}

#[test]
fn generated_names_regions_and_data_sources() {
    let local = LocalVcr::start();
    let config = NORTH_REPOSITORY.to_string()
        + r#"
resource "vcr_repository_user" "anon" {
  region = "HAN"
  repository_permission {
    repository_id = vcr_repository.north.id
    permission    = "pull_only"
  }
}
data "vcr_repository_user" "by_name" {
  region = "HAN"
  name   = vcr_repository_user.anon.name
}
data "vcr_repository_users" "all" {
  region     = "HAN"
  depends_on = [vcr_repository_user.anon]
}
output "perm" { value = data.vcr_repository_user.by_name.permissions[0].permission }
output "names" { value = [for u in data.vcr_repository_users.all.users : u.name] }
"#;
    Scenario::new(&local)
        .step(
            Step::apply(config)
                .expect_all(Action::Create)
                .expect("data.vcr_repository_user.by_name", Action::Read)
                .expect("data.vcr_repository_users.all", Action::Read)
                .check(|ctx| {
                    let anon = "vcr_repository_user.anon";
                    let name = ctx.attr(anon, "name");
                    assert!(name.starts_with("tf-") && name.len() == 11, "{name}");
                    assert_eq!(ctx.local.user_names(Region::Han), vec![name.clone()]);
                    assert!(ctx.local.user_names(Region::Hcm).is_empty());
                    let out = ctx.outputs();
                    assert_eq!(out["perm"]["value"], "pull_only");
                    assert_eq!(out["names"]["value"], serde_json::json!([name]));
                    let show = ctx.workspace().must(&["show", "-json"]).stdout;
                    let data_user = ctx.state("data.vcr_repository_user.by_name");
                    assert!(
                        data_user.get("secret").is_none(),
                        "data sources carry no secret"
                    );
                    assert_eq!(
                        show.matches(&ctx.attr(anon, "secret")).count(),
                        1,
                        "the secret is only in the resource"
                    );
                }),
        )
        .run();
}

#[test]
fn bad_input_fails_naming_the_attribute() {
    let ws = Workspace::new();
    let user = |attrs: &str, blocks: &str| {
        format!("resource \"vcr_repository_user\" \"u\" {{\n  {attrs}\n{blocks}\n}}\n")
    };
    let one = "  repository_permission {\n    repository_id = \"repo-1\"\n    permission = \"push_pull\"\n  }";
    let cases = [
        (user("name = \"ci\"", one), "Invalid value for \"name\"", "6 to 14 characters"),
        (user("name = \"ci.pusher\"", one), "Invalid value for \"name\"", "contains '.'"),
        (
            user("", "  repository_permission {\n    repository_id = \"repo-1\"\n    permission = \"admin\"\n  }"),
            "Invalid value for \"repository_permission.permission\"",
            "\"push_pull\", \"pull_only\"",
        ),
        (
            user("", &format!("{one}\n  repository_permission {{\n    repository_id = \"repo-1\"\n    permission = \"pull_only\"\n  }}")),
            "Invalid value for \"repository_permission\"",
            "appears in two repository_permission blocks",
        ),
        (user("expiration_date = \"30/06/2027\"", one), "Invalid value for \"expiration_date\"", "YYYY-MM-DD"),
        (user("", ""), "Insufficient repository_permission blocks", "At least 1"),
        (user("secret = \"x\"", one), "Invalid value for \"secret\"", "set by the provider"),
    ];
    for (hcl, summary, rule) in cases {
        ws.write_config(&hcl);
        let run = ws.validate();
        assert!(!run.success(), "should fail: {hcl}");
        let out = run.output();
        assert!(out.contains(summary), "{hcl}\n{out}");
        assert!(out.contains(rule), "{hcl}\n{out}");
    }

    // A date less than a day ahead cannot be had from vCR (whole days): refused at
    // plan. A date in the past fails at plan time too.
    let local = LocalVcr::start();
    let soon = (time::OffsetDateTime::now_utc() + time::Duration::hours(5))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    Scenario::new(&local)
        .step(
            Step::plan_only()
                .config(user(&format!("expiration_date = \"{soon}\""), one))
                .expect_plan_error("at least one day ahead"),
        )
        .step(
            Step::plan_only()
                .config(user("expiration_date = \"2020-01-01\"", one))
                .expect_plan_error(&literal("Invalid value for \"expiration_date\""))
                .expect_output("must be in the future"),
        )
        .run();
}

#[test]
fn the_secret_never_reaches_logs_or_output() {
    let local = LocalVcr::start();
    let transcript = RefCell::new(String::new());
    let secrets = RefCell::new(Vec::new());
    let collect_secrets = |ctx: &Ctx| {
        for address in [CI, DEPLOY] {
            secrets.borrow_mut().push(ctx.attr(address, "secret"));
        }
    };
    let rotated = CI_AND_DEPLOY.replace(
        "description = \"pushes from CI\"",
        "description = \"pushes from CI\"\n  rotation_triggers = { n = \"1\" }",
    );
    Scenario::new(&local)
        .env("TF_LOG", "trace")
        .step(
            Step::apply(config(CI_AND_DEPLOY))
                .expect_all(Action::Create)
                .check(|ctx| {
                    collect_secrets(ctx);
                    let mut t = transcript.borrow_mut();
                    t.push_str(&ctx.output());
                    for args in [["plan", "-no-color"], ["show", "-no-color"]] {
                        t.push_str(&ctx.workspace().must(&args).output());
                    }
                }),
        )
        .step(
            // Rotate the CI user's secret, and look again.
            Step::apply(config(&rotated))
                .expect(CI, Action::Update)
                .expect_unknown(CI, "secret")
                .check(|ctx| {
                    collect_secrets(ctx);
                    transcript.borrow_mut().push_str(&ctx.output());
                }),
        )
        .step(Step::destroy().check(|ctx| transcript.borrow_mut().push_str(&ctx.output())))
        .run();

    let transcript = transcript.into_inner();
    let secrets = secrets.into_inner();
    assert!(
        transcript.contains("provider.terraform-provider-vcr"),
        "provider logs are in the trace"
    );
    assert_eq!(secrets.len(), 4);
    assert_ne!(secrets[0], secrets[2], "rotation changed the secret");
    for secret in &secrets {
        assert!(secret.len() >= 16, "a real secret: {}", secret.len());
        assert!(
            !transcript.contains(secret.as_str()),
            "a user secret appears in the logs or output"
        );
    }
    assert!(
        !transcript.contains(&local.settings["VCR_CLIENT_SECRET"]),
        "the client secret appears in the logs"
    );
}

#[test]
fn a_name_where_an_id_belongs_fails_at_plan_for_every_id_argument() {
    let local = LocalVcr::start();
    // Each `*_id` argument given the repository's name (known at plan, unlike its id).
    let users = |resource: &str| {
        format!(
            r#"
{resource} "u" {{
  repository_permission {{
    repository_id = vcr_repository.app.name
    permission    = "pull_only"
  }}
}}
"#
        )
    };
    let image = r#"
data "vcr_image" "pinned" {
  repository_id = vcr_repository.app.name
  name          = "web"
  tag           = "v1"
}
"#;
    let cases = [
        (
            users("resource \"vcr_repository_user\""),
            "repository_permission.repository_id",
        ),
        (
            users("ephemeral \"vcr_registry_credentials\""),
            "repository_permission.repository_id",
        ),
        (image.to_string(), "repository_id"),
    ];
    // The repositories exist: a data source that names one is read at plan (one that
    // depends on a change pending is read at apply, and says the same then).
    let mut scenario =
        Scenario::new(&local).step(Step::apply(config("")).expect_all(Action::Create));
    for (block, attribute) in cases {
        scenario = scenario.step(
            Step::plan_only()
                .config(config(&block))
                .expect_plan_error(&literal(&format!("Invalid value for \"{attribute}\"")))
                .expect_output(&words(
                    "must be a repository id, `repo-...`; \"team-app\" looks like a repository name. Use `vcr_repository.<label>.id`",
                )),
        );
    }
    scenario
        .step(
            Step::plan_only()
                .named("the configuration without them")
                .config(config("")),
        )
        .run();
}

#[test]
fn a_permission_on_a_repository_of_the_other_region_names_the_region_to_set() {
    let local = LocalVcr::start();
    let north = NORTH_REPOSITORY;
    let user_of = |repository: &str| {
        format!(
            r#"
resource "vcr_repository_user" "hcm" {{
  name = "hcm-puller"
  repository_permission {{
    repository_id = vcr_repository.{repository}.id
    permission    = "pull_only"
  }}
}}
"#
        )
    };
    let south = north
        .replace("\"north\"", "\"south\"")
        .replace("north-app", "south-app");
    let fix = "set region = \"HAN\" on the vcr_repository_user";
    Scenario::new(&local)
        .step(Step::apply(north).expect_all(Action::Create))
        .step(
            Step::plan_only()
                .named("the id is known at plan: said at plan")
                .config(format!("{north}{}", user_of("north")))
                .expect_plan_error(&words("is in HAN, not in the user's region HCM"))
                .expect_output(&words(fix)),
        )
        .step(
            Step::apply(format!("{north}{south}{}", user_of("south")))
                .named("the id is known at apply only: said at apply, naming the fix")
                .expect("vcr_repository.south", Action::Create)
                .expect("vcr_repository_user.hcm", Action::Create)
                .expect_apply_error(&words("is in HAN, not in the user's region HCM"))
                .expect_output(&words(fix))
                .check(|ctx| {
                    assert!(ctx.local.user_names(Region::Hcm).is_empty());
                    assert!(ctx.local.user_names(Region::Han).is_empty());
                }),
        )
        .step(
            Step::apply(format!(
                "{north}{south}{}",
                user_of("south").replace(
                    "name = \"hcm-puller\"",
                    "name = \"hcm-puller\"\n  region = \"HAN\""
                )
            ))
            .named("the fix, as said")
            .expect("vcr_repository_user.hcm", Action::Create)
            .check(|ctx| {
                assert_eq!(ctx.local.user_names(Region::Han), vec!["hcm-puller"]);
            }),
        )
        .run();
}
