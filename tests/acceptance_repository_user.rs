//! `vcr_repository_user` and the user data sources, driven by a real Terraform against
//! a real `vcr-local`.

mod support;

use support::local::LocalVcr;
use support::Workspace;
use vcr_provider::vcr::{PolicyKind, Region};

fn workspace(local: &LocalVcr) -> Workspace {
    let mut ws = Workspace::new();
    local.configure(&mut ws);
    ws
}

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

/// Whether vcr-local would let `docker login` through with these credentials.
fn can_login(local: &LocalVcr, region: &str, user: &str, secret: &str) -> bool {
    let (status, _) = local.local_call(
        "POST",
        &format!("/_local/{region}/check-login"),
        Some(serde_json::json!({"username": user, "password": secret})),
    );
    status == 200
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

#[test]
fn lifecycle_with_secrets_permissions_and_import() {
    let local = LocalVcr::start();
    let ws = workspace(&local);
    ws.write_config(&config(CI_AND_DEPLOY));
    ws.apply();

    let ci = ws.state_values("vcr_repository_user.ci");
    let deploy = ws.state_values("vcr_repository_user.deploy");
    let ci_secret = ci["secret"].as_str().unwrap().to_string();
    assert!(!ci_secret.is_empty());
    assert!(ci["id"].as_str().unwrap().starts_with("ra-"), "{ci}");
    assert!(ci["backend_name"].as_str().unwrap().ends_with("-ci-pusher"));
    assert_eq!(ci["enabled"], true);
    assert_eq!(ci["expired"], false);
    assert!(
        ci["expires_at"].is_null(),
        "no expiration_date: never expires"
    );
    assert_eq!(deploy["expiration_date"], "2099-06-30");
    assert!(
        deploy["expires_at"]
            .as_str()
            .unwrap()
            .starts_with("2099-06-30"),
        "{deploy}"
    );

    assert!(can_login(
        &local,
        "hcm",
        ci["backend_name"].as_str().unwrap(),
        &ci_secret
    ));
    assert!(can_login(
        &local,
        "hcm",
        deploy["backend_name"].as_str().unwrap(),
        deploy["secret"].as_str().unwrap()
    ));
    assert_eq!(
        policy_kinds(&local, "deployer"),
        vec![("team-app".to_string(), vec![PolicyKind::Pull])]
    );
    assert_eq!(
        policy_kinds(&local, "ci-pusher"),
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

    // Import in every form: state equals the applied one but for the secret.
    let repo_app = ws.state_values("vcr_repository.app")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let repo_web = ws.state_values("vcr_repository.web")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let user_only = format!(
        r#"
resource "vcr_repository_user" "deploy" {{
  name            = "deployer"
  expiration_date = "2099-06-30"
  repository_permission {{
    repository_id = "{repo_app}"
    permission    = "pull_only"
  }}
}}
resource "vcr_repository_user" "ci" {{
  name        = "ci-pusher"
  description = "pushes from CI"
  repository_permission {{
    repository_id = "{repo_app}"
    permission    = "push_pull"
  }}
  repository_permission {{
    repository_id = "{repo_web}"
    permission    = "push_pull"
  }}
}}
"#
    );
    let ci_id = ci["id"].as_str().unwrap().to_string();
    for (address, id, applied) in [
        ("vcr_repository_user.ci", ci_id.clone(), &ci),
        ("vcr_repository_user.ci", "ci-pusher".to_string(), &ci),
        ("vcr_repository_user.ci", format!("HCM/{ci_id}"), &ci),
        (
            "vcr_repository_user.deploy",
            "HCM/deployer".to_string(),
            &deploy,
        ),
    ] {
        let other = workspace(&local);
        other.write_config(&user_only);
        let run = other.import(address, &id);
        assert!(run.success(), "import {id}: {}", run.output());
        assert!(
            run.output()
                .contains("The secret of an imported repository user is unknown"),
            "{}",
            run.output()
        );
        assert!(
            run.output().contains("rotation_triggers"),
            "{}",
            run.output()
        );
        let mut imported = other.state_values(address);
        assert!(imported["secret"].is_null());
        let mut expected = applied.clone();
        expected["secret"] = serde_json::Value::Null;
        imported["repository_permission"] = sort_blocks(&imported["repository_permission"]);
        expected["repository_permission"] = sort_blocks(&expected["repository_permission"]);
        assert_eq!(imported, expected, "import {id}");
    }

    ws.destroy();
    assert!(local.user_names(Region::Hcm).is_empty());
    assert!(local.repository_names(Region::Hcm).is_empty());
}

fn sort_blocks(v: &serde_json::Value) -> serde_json::Value {
    let mut items = v.as_array().cloned().unwrap_or_default();
    items.sort_by_key(|b| b["repository_id"].to_string());
    serde_json::Value::Array(items)
}

#[test]
fn updates_in_place_and_rotation() {
    let local = LocalVcr::start();
    let ws = workspace(&local);
    ws.write_config(&config(CI_AND_DEPLOY));
    ws.apply();
    let before = ws.state_values("vcr_repository_user.deploy");
    let old_secret = before["secret"].as_str().unwrap().to_string();
    let login = before["backend_name"].as_str().unwrap().to_string();

    // Reordering blocks is no change.
    let reordered = CI_AND_DEPLOY.replacen(
        "  repository_permission {\n    repository_id = vcr_repository.app.id\n    permission    = \"push_pull\"\n  }\n  repository_permission {\n    repository_id = vcr_repository.web.id\n    permission    = \"push_pull\"\n  }",
        "  repository_permission {\n    repository_id = vcr_repository.web.id\n    permission    = \"push_pull\"\n  }\n  repository_permission {\n    repository_id = vcr_repository.app.id\n    permission    = \"push_pull\"\n  }",
        1,
    );
    assert_ne!(reordered, CI_AND_DEPLOY);
    ws.write_config(&config(&reordered));
    ws.assert_no_changes();

    // Description, expiry, enabled and permissions change in place, keeping the secret.
    let changed = CI_AND_DEPLOY
        .replace("expiration_date = \"2099-06-30\"", "expiration_date = \"2098-01-15\"\n  description = \"deploys\"\n  enabled = false")
        .replace(
            "  repository_permission {\n    repository_id = vcr_repository.app.id\n    permission    = \"pull_only\"\n  }\n}",
            "  repository_permission {\n    repository_id = vcr_repository.app.id\n    permission    = \"pull_only\"\n  }\n  repository_permission {\n    repository_id = vcr_repository.web.id\n    permission    = \"pull_only\"\n  }\n}",
        );
    ws.write_config(&config(&changed));
    let plan = ws.assert_changes();
    assert!(
        plan.contains("vcr_repository_user.deploy will be updated in-place"),
        "{plan}"
    );
    assert!(!plan.contains("must be replaced"), "{plan}");
    assert!(
        !plan.contains("secret"),
        "the secret is not planned to change: {plan}"
    );
    ws.apply();
    let after = ws.state_values("vcr_repository_user.deploy");
    assert_eq!(after["id"], before["id"]);
    assert_eq!(after["secret"], before["secret"]);
    assert_eq!(after["description"], "deploys");
    assert_eq!(after["enabled"], false);
    assert!(
        after["expires_at"]
            .as_str()
            .unwrap()
            .starts_with("2098-01-15"),
        "{after}"
    );
    assert_eq!(
        policy_kinds(&local, "deployer"),
        vec![
            ("team-app".to_string(), vec![PolicyKind::Pull]),
            ("team-web".to_string(), vec![PolicyKind::Pull]),
        ]
    );
    assert!(
        !can_login(&local, "hcm", &login, &old_secret),
        "a disabled user cannot log in"
    );

    // The description alone changes in place too, though vCR recounts the expiry.
    let described = changed.replace(
        "description = \"deploys\"",
        "description = \"deploys to prod\"",
    );
    ws.write_config(&config(&described));
    let plan = ws.assert_changes();
    assert!(
        plan.contains("~ description") && plan.contains("update in-place"),
        "{plan}"
    );
    ws.apply();
    assert!(ws.state_values("vcr_repository_user.deploy")["expires_at"]
        .as_str()
        .unwrap()
        .starts_with("2098-01-15"));
    let changed = described.replace("deploys to prod", "deploys");

    // Removing the expiration date means the user never expires; enable it again.
    let never = changed
        .replace("expiration_date = \"2098-01-15\"\n", "")
        .replace("enabled = false", "enabled = true");
    ws.write_config(&config(&never));
    ws.apply();
    let after = ws.state_values("vcr_repository_user.deploy");
    assert!(
        after["expires_at"].is_null() && after["expiration_date"].is_null(),
        "{after}"
    );
    assert!(can_login(&local, "hcm", &login, &old_secret));

    // A change of rotation_triggers refreshes the secret in place.
    let rotated = never.replace(
        "description = \"deploys\"",
        "description = \"deploys\"\n  rotation_triggers = { month = \"2027-01\" }",
    );
    ws.write_config(&config(&rotated));
    let plan = ws.assert_changes();
    assert!(plan.contains("will be updated in-place"), "{plan}");
    assert!(
        plan.contains("~ secret") && plan.contains("(sensitive value)"),
        "{plan}"
    );
    ws.apply();
    let new_secret = ws.state_values("vcr_repository_user.deploy")["secret"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(new_secret, old_secret);
    assert!(can_login(&local, "hcm", &login, &new_secret));
    assert!(
        !can_login(&local, "hcm", &login, &old_secret),
        "the old secret stops working"
    );

    ws.destroy();
}

#[test]
fn drift_is_set_back() {
    let local = LocalVcr::start();
    let ws = workspace(&local);
    ws.write_config(&config(CI_AND_DEPLOY));
    ws.apply();
    let users = local.client();
    let users = users.users(Region::Hcm);
    let deploy = ws.state_values("vcr_repository_user.deploy");
    let id = deploy["id"].as_str().unwrap().to_string();
    let web = ws.state_values("vcr_repository.web")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let policies = local.block_on(users.policies()).unwrap();
    let push_pull = vcr_provider::vcr::Permission::PushPull
        .policy_ids(&policies)
        .unwrap();

    local.block_on(users.disable(&id)).unwrap();
    local
        .block_on(users.update(
            &id,
            &vcr_provider::vcr::UpdateUser {
                duration_days: Some(400),
                description: Some("changed by hand".into()),
            },
        ))
        .unwrap();
    local
        .block_on(users.set_permissions(
            &id,
            &[vcr_provider::vcr::PermissionRequest {
                repo_id: web,
                policy_ids: push_pull,
            }],
        ))
        .unwrap();
    let plan = ws.assert_changes();
    assert!(
        plan.contains("vcr_repository_user.deploy will be updated in-place"),
        "{plan}"
    );
    for expected in [
        "~ enabled",
        "- description",
        "~ expiration_date",
        "+ repository_permission",
    ] {
        assert!(plan.contains(expected), "{expected} missing: {plan}");
    }
    ws.apply();
    assert_eq!(
        policy_kinds(&local, "deployer"),
        vec![("team-app".to_string(), vec![PolicyKind::Pull])]
    );
    let after = ws.state_values("vcr_repository_user.deploy");
    assert_eq!(after["enabled"], true);
    assert!(after["description"].is_null());
    assert!(
        after["expires_at"]
            .as_str()
            .unwrap()
            .starts_with("2099-06-30"),
        "{after}"
    );
    assert_eq!(after["secret"], deploy["secret"]);

    // Deleted outside Terraform: planned again.
    local.block_on(users.delete(&id)).unwrap();
    let plan = ws.assert_changes();
    assert!(
        plan.contains("vcr_repository_user.deploy will be created"),
        "{plan}"
    );
    ws.apply();
    ws.destroy();
}

#[test]
fn generated_names_regions_and_data_sources() {
    let local = LocalVcr::start();
    let ws = workspace(&local);
    ws.write_config(
        r#"
resource "vcr_repository" "north" {
  name           = "north-app"
  quota_limit_gb = 1
  region         = "HAN"
}
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
"#,
    );
    ws.apply();
    let anon = ws.state_values("vcr_repository_user.anon");
    let name = anon["name"].as_str().unwrap();
    assert!(name.starts_with("tf-") && name.len() == 11, "{name}");
    assert_eq!(local.user_names(Region::Han), vec![name.to_string()]);
    assert!(local.user_names(Region::Hcm).is_empty());
    let out: serde_json::Value =
        serde_json::from_str(&ws.must(&["output", "-json"]).stdout).unwrap();
    assert_eq!(out["perm"]["value"], "pull_only");
    assert_eq!(out["names"]["value"], serde_json::json!([name]));
    let show = ws.must(&["show", "-json"]).stdout;
    let data_user = ws.state_values("data.vcr_repository_user.by_name");
    assert!(
        data_user.get("secret").is_none(),
        "data sources carry no secret"
    );
    assert_eq!(
        show.matches(anon["secret"].as_str().unwrap()).count(),
        1,
        "the secret is only in the resource"
    );
    ws.destroy();
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

    // A date less than a day ahead cannot be had from vCR (whole days): refused at plan.
    let local = LocalVcr::start();
    let ws = workspace(&local);
    let soon = (time::OffsetDateTime::now_utc() + time::Duration::hours(5))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    ws.write_config(&user(&format!("expiration_date = \"{soon}\""), one));
    let run = ws.plan(true);
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.output().contains("at least one day ahead"),
        "{}",
        run.output()
    );

    // A date in the past fails at plan time.
    ws.write_config(&user("expiration_date = \"2020-01-01\"", one));
    let run = ws.plan(true);
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.output()
            .contains("Invalid value for \"expiration_date\""),
        "{}",
        run.output()
    );
    assert!(
        run.output().contains("must be in the future"),
        "{}",
        run.output()
    );
}

#[test]
fn the_secret_never_reaches_logs_or_output() {
    let local = LocalVcr::start();
    let mut ws = workspace(&local);
    ws.set_env("TF_LOG", "trace");
    ws.write_config(&config(CI_AND_DEPLOY));
    let mut transcript = String::new();
    let mut secrets = Vec::new();
    let mut collect_secrets = |ws: &Workspace| {
        for address in ["vcr_repository_user.ci", "vcr_repository_user.deploy"] {
            secrets.push(
                ws.state_values(address)["secret"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
    };
    transcript.push_str(&ws.must(&["apply", "-auto-approve", "-no-color"]).output());
    collect_secrets(&ws);
    for args in [vec!["plan", "-no-color"], vec!["show", "-no-color"]] {
        transcript.push_str(&ws.must(&args).output());
    }
    // Rotate the CI user's secret, and look again.
    ws.write_config(&config(&CI_AND_DEPLOY.replace(
        "description = \"pushes from CI\"",
        "description = \"pushes from CI\"\n  rotation_triggers = { n = \"1\" }",
    )));
    transcript.push_str(&ws.must(&["apply", "-auto-approve", "-no-color"]).output());
    collect_secrets(&ws);
    transcript.push_str(&ws.must(&["destroy", "-auto-approve", "-no-color"]).output());

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
