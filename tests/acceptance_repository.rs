//! `vcr_repository` and the repository data sources, driven by a real Terraform
//! against a real `vcr-local`.

mod support;

use support::local::LocalVcr;
use support::Workspace;
use vcr_provider::vcr::Region;

fn workspace(local: &LocalVcr) -> Workspace {
    let mut ws = Workspace::new();
    local.configure(&mut ws);
    ws
}

fn repo_config(name: &str, quota: u32, extra: &str) -> String {
    format!(
        r#"
resource "vcr_repository" "app" {{
  name           = "{name}"
  quota_limit_gb = {quota}
  {extra}
}}
"#
    )
}

#[test]
fn create_then_import_in_every_form() {
    let local = LocalVcr::start();
    let ws = workspace(&local);
    let config = repo_config("my-app", 5, "");
    ws.write_config(&config);
    ws.apply();

    let applied = ws.state_values("vcr_repository.app");
    let id = applied["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("repo-"), "{applied}");
    assert_eq!(applied["region"], "HCM");
    assert_eq!(applied["access_level"], "private");
    assert_eq!(applied["force_destroy"], false);
    assert_eq!(applied["quota_limit_gb"], 5);
    let backend = applied["backend_name"].as_str().unwrap();
    assert!(backend.ends_with("-my-app"), "{backend}");
    assert_eq!(
        applied["registry_url"],
        format!("vcr.vngcloud.vn/{backend}")
    );
    assert_eq!(local.repository_names(Region::Hcm), vec!["my-app"]);

    for import_id in [
        id.clone(),
        "my-app".to_string(),
        format!("HCM/{id}"),
        "HCM/my-app".to_string(),
    ] {
        let other = workspace(&local);
        other.write_config(&config);
        let run = other.import("vcr_repository.app", &import_id);
        assert!(run.success(), "import {import_id}: {}", run.output());
        assert_eq!(
            other.state_values("vcr_repository.app"),
            applied,
            "import by {import_id}"
        );
        other.assert_no_changes();
    }

    let other = workspace(&local);
    other.write_config(&config);
    let run = other.import("vcr_repository.app", "HAN/my-app");
    assert!(!run.success());
    assert!(
        run.output()
            .contains("No repository has the id or name \"my-app\" in HAN"),
        "{}",
        run.output()
    );

    ws.destroy();
    assert!(local.repository_names(Region::Hcm).is_empty());
}

#[test]
fn quota_updates_in_place_and_a_rename_replaces() {
    let local = LocalVcr::start();
    let ws = workspace(&local);
    ws.write_config(&repo_config("quota-app", 5, ""));
    ws.apply();
    let id = ws.state_values("vcr_repository.app")["id"].clone();

    ws.write_config(&repo_config("quota-app", 7, ""));
    let plan = ws.assert_changes();
    assert!(plan.contains("will be updated in-place"), "{plan}");
    assert!(plan.contains("~ quota_limit_gb = 5 -> 7"), "{plan}");
    assert!(
        !plan.contains("known after apply"),
        "no needless unknowns: {plan}"
    );
    ws.apply();
    let after = ws.state_values("vcr_repository.app");
    assert_eq!(after["id"], id, "same repository");
    assert_eq!(after["quota_limit_gb"], 7);
    let repo = local
        .block_on(
            local
                .client()
                .repositories(Region::Hcm)
                .get(id.as_str().unwrap()),
        )
        .unwrap();
    assert_eq!(repo.quota_limit, 7);

    ws.write_config(&repo_config("renamed-app", 7, ""));
    let plan = ws.assert_changes();
    assert!(plan.contains("must be replaced"), "{plan}");
    assert!(plan.contains("# forces replacement"), "{plan}");
    ws.apply();
    assert_eq!(local.repository_names(Region::Hcm), vec!["renamed-app"]);
    assert_ne!(ws.state_values("vcr_repository.app")["id"], id);

    ws.destroy();
    assert!(local.repository_names(Region::Hcm).is_empty());
}

#[test]
fn drift_is_set_back() {
    let local = LocalVcr::start();
    let ws = workspace(&local);
    ws.write_config(&repo_config("drift-app", 3, ""));
    ws.apply();
    let id = ws.state_values("vcr_repository.app")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let client = local.client();

    // Quota changed outside Terraform: the next plan sets it back, in place.
    local
        .block_on(client.repositories(Region::Hcm).set_quota(&id, 9))
        .unwrap();
    let plan = ws.assert_changes();
    assert!(plan.contains("~ quota_limit_gb = 9 -> 3"), "{plan}");
    ws.apply();

    // Deleted outside Terraform: the next plan creates it again.
    local
        .block_on(client.repositories(Region::Hcm).delete(&id))
        .unwrap();
    let plan = ws.assert_changes();
    assert!(plan.contains("will be created"), "{plan}");
    ws.apply();
    assert_eq!(local.repository_names(Region::Hcm), vec!["drift-app"]);
    ws.destroy();
}

#[test]
fn regions_stay_apart() {
    let local = LocalVcr::start();
    let ws = workspace(&local);
    ws.write_config(
        r#"
resource "vcr_repository" "south" {
  name           = "south-app"
  quota_limit_gb = 1
}
resource "vcr_repository" "north" {
  name           = "north-app"
  quota_limit_gb = 2
  region         = "HAN"
  access_level   = "public"
}
"#,
    );
    ws.apply();
    assert_eq!(local.repository_names(Region::Hcm), vec!["south-app"]);
    assert_eq!(local.repository_names(Region::Han), vec!["north-app"]);
    let north = ws.state_values("vcr_repository.north");
    assert_eq!(north["region"], "HAN");
    assert_eq!(north["access_level"], "public");
    assert!(north["registry_url"]
        .as_str()
        .unwrap()
        .starts_with("vcr-han.vngcloud.vn/"));

    // Import by the region-prefixed id finds the HAN repository.
    let other = workspace(&local);
    other.write_config(
        r#"
resource "vcr_repository" "north" {
  name           = "north-app"
  quota_limit_gb = 2
  region         = "HAN"
  access_level   = "public"
}
"#,
    );
    let id = north["id"].as_str().unwrap();
    let run = other.import("vcr_repository.north", &format!("HAN/{id}"));
    assert!(run.success(), "{}", run.output());
    assert_eq!(other.state_values("vcr_repository.north"), north);

    ws.destroy();
    assert!(local.repository_names(Region::Hcm).is_empty());
    assert!(local.repository_names(Region::Han).is_empty());
}

#[test]
fn data_sources_find_repositories() {
    let local = LocalVcr::start();
    let ws = workspace(&local);
    ws.write_config(
        r#"
resource "vcr_repository" "a" {
  name           = "team-a-api"
  quota_limit_gb = 1
}
resource "vcr_repository" "b" {
  name           = "team-b-web"
  quota_limit_gb = 2
  access_level   = "public"
}
data "vcr_repository" "by_name" {
  name       = vcr_repository.a.name
}
data "vcr_repository" "by_id" {
  id = vcr_repository.b.id
}
data "vcr_repositories" "public" {
  access_level = "public"
  depends_on   = [vcr_repository.a, vcr_repository.b]
}
data "vcr_repositories" "team" {
  name       = "team-"
  depends_on = [vcr_repository.a, vcr_repository.b]
}
output "by_name_url" { value = data.vcr_repository.by_name.registry_url }
output "by_id_name"  { value = data.vcr_repository.by_id.name }
output "public"      { value = [for r in data.vcr_repositories.public.repositories : r.name] }
output "team"        { value = [for r in data.vcr_repositories.team.repositories : r.name] }
"#,
    );
    ws.apply();
    let out = ws.must(&["output", "-json"]);
    let outputs: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        outputs["by_name_url"]["value"],
        ws.state_values("vcr_repository.a")["registry_url"]
    );
    assert_eq!(outputs["by_id_name"]["value"], "team-b-web");
    assert_eq!(
        outputs["public"]["value"],
        serde_json::json!(["team-b-web"])
    );
    assert_eq!(
        outputs["team"]["value"],
        serde_json::json!(["team-a-api", "team-b-web"])
    );
    ws.destroy();
}

#[test]
fn bad_input_fails_at_validate_naming_the_attribute() {
    let ws = Workspace::new();
    let cases = [
        (r#"name = "app""#, "\"name\"", "6 to 20 characters"),
        (r#"name = "My_App1""#, "\"name\"", "contains 'M'"),
        (
            r#"name = "-my-app""#,
            "\"name\"",
            "starting with a letter or a digit",
        ),
        (
            r#"name = "my-app"
  access_level = "internal""#,
            "\"access_level\"",
            "\"private\", \"public\"",
        ),
        (
            r#"name = "my-app"
  region = "SGN""#,
            "\"region\"",
            "\"HCM\", \"HAN\"",
        ),
        (
            r#"name = "my-app"
  backend_name = "x""#,
            "\"backend_name\"",
            "set by the provider",
        ),
    ];
    for (attrs, attribute, rule) in cases {
        ws.write_config(&format!(
            "resource \"vcr_repository\" \"x\" {{\n  quota_limit_gb = 1\n  {attrs}\n}}\n"
        ));
        let run = ws.validate();
        assert!(!run.success(), "{attrs} should fail validation");
        let out = run.output();
        assert!(
            out.contains(&format!("Invalid value for {attribute}")),
            "{attrs}: {out}"
        );
        assert!(out.contains(rule), "{attrs}: {out}");
    }
    for quota in ["0", "1.5"] {
        ws.write_config(&format!("resource \"vcr_repository\" \"x\" {{\n  name = \"my-app\"\n  quota_limit_gb = {quota}\n}}\n"));
        let run = ws.validate();
        assert!(!run.success());
        assert!(
            run.output()
                .contains("Invalid value for \"quota_limit_gb\""),
            "{}",
            run.output()
        );
        assert!(
            run.output().contains("whole number of at least 1"),
            "{}",
            run.output()
        );
    }
    // A wrong region in the provider block fails too, naming it.
    ws.write_config("provider \"vcr\" {\n  region = \"SGN\"\n}\nresource \"vcr_repository\" \"x\" {\n  name = \"my-app\"\n  quota_limit_gb = 1\n}\n");
    let run = ws.validate();
    assert!(!run.success());
    assert!(
        run.output().contains("Invalid value for \"region\""),
        "{}",
        run.output()
    );
}

#[test]
fn a_repository_with_images_needs_force_destroy() {
    let local = LocalVcr::start();
    let ws = workspace(&local);
    ws.write_config(&repo_config("images-app", 2, ""));
    ws.apply();
    let id = ws.state_values("vcr_repository.app")["id"]
        .as_str()
        .unwrap()
        .to_string();
    local.push_image(Region::Hcm, &id, "web", 10);
    // New images show up on refresh without planning a change.
    ws.assert_no_changes();
    assert_eq!(
        ws.state_values("vcr_repository.app")["image_count"],
        0,
        "state refreshes only on apply"
    );
    ws.must(&["apply", "-refresh-only", "-auto-approve", "-no-color"]);
    assert_eq!(ws.state_values("vcr_repository.app")["image_count"], 1);

    let run = ws.run(&["destroy", "-auto-approve", "-no-color"]);
    assert!(
        !run.success(),
        "destroy of a non-empty repository must fail"
    );
    let out = run.output();
    assert!(
        out.contains("Repository \"images-app\" still holds images"),
        "{out}"
    );
    assert!(out.contains("force_destroy = true"), "{out}");
    assert_eq!(
        local.repository_names(Region::Hcm),
        vec!["images-app"],
        "nothing deleted"
    );
    assert_eq!(
        ws.state_values("vcr_repository.app")["id"],
        id.as_str(),
        "still in state"
    );

    ws.write_config(&repo_config("images-app", 2, "force_destroy = true"));
    let plan = ws.assert_changes();
    assert!(
        plan.contains("~ force_destroy") && plan.contains("update in-place"),
        "{plan}"
    );
    ws.apply();
    ws.destroy();
    assert!(local.repository_names(Region::Hcm).is_empty());
}

#[test]
fn an_error_other_than_not_found_keeps_the_object_in_state() {
    let local = LocalVcr::start();
    let mut ws = workspace(&local);
    ws.set_env("VCR_MAX_RETRIES", "0");
    ws.write_config(&repo_config("sturdy-app", 1, ""));
    ws.apply();
    let applied = ws.state_values("vcr_repository.app");

    let (status, body) = local.local_call(
        "POST",
        "/_local/faults",
        Some(serde_json::json!({"method": "GET", "path": "/hcm/v1/repository/*", "status": 500, "message": "disk on fire"})),
    );
    assert!(status < 300, "{body}");
    let run = ws.plan(true);
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.output().contains("Could not read repository"),
        "{}",
        run.output()
    );
    assert!(run.output().contains("disk on fire"), "{}", run.output());

    local.local_call("DELETE", "/_local/faults", None);
    assert_eq!(ws.state_values("vcr_repository.app"), applied);
    ws.assert_no_changes();
    ws.destroy();
}

#[test]
fn a_wrong_endpoint_is_an_error_not_a_deleted_repository() {
    let local = LocalVcr::start();
    let mut ws = workspace(&local);
    ws.write_config(&repo_config("kept-app", 1, ""));
    ws.apply();
    let applied = ws.state_values("vcr_repository.app");

    // The endpoint without its "/hcm" prefix answers 404 "no such endpoint".
    let wrong = local.settings["VCR_ENDPOINT_HCM"]
        .trim_end_matches("/hcm")
        .to_string();
    ws.set_env("VCR_ENDPOINT_HCM", &wrong);
    ws.set_env("VCR_MAX_RETRIES", "0");
    let run = ws.plan(true);
    assert_eq!(
        run.code,
        1,
        "a wrong endpoint must fail the plan, not plan a create:\n{}",
        run.output()
    );
    assert!(
        run.output().contains("Could not read repository"),
        "{}",
        run.output()
    );
    let run = ws.run(&["destroy", "-auto-approve", "-no-color"]);
    assert!(!run.success(), "{}", run.output());
    assert_eq!(
        ws.state_values("vcr_repository.app"),
        applied,
        "still in state"
    );
    assert_eq!(local.repository_names(Region::Hcm), vec!["kept-app"]);

    ws.set_env("VCR_ENDPOINT_HCM", &local.settings["VCR_ENDPOINT_HCM"]);
    ws.assert_no_changes();
    ws.destroy();
}

#[test]
fn a_quota_below_the_usage_fails_at_plan() {
    // A real image over 1 GiB: kept on disk rather than in memory.
    let data = tempfile::tempdir().unwrap();
    let local = LocalVcr::start_with(&["--data", data.path().to_str().unwrap()]);
    let ws = workspace(&local);
    ws.write_config(&repo_config("full-app", 2, ""));
    ws.apply();
    let id = ws.state_values("vcr_repository.app")["id"]
        .as_str()
        .unwrap()
        .to_string();
    local.push_image(Region::Hcm, &id, "big", 1100);
    ws.write_config(&repo_config("full-app", 1, "force_destroy = true"));
    let run = ws.plan(true);
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.output()
            .contains("Invalid value for \"quota_limit_gb\""),
        "{}",
        run.output()
    );
    assert!(run.output().contains("already use"), "{}", run.output());
    ws.write_config(&repo_config("full-app", 2, "force_destroy = true"));
    ws.apply();
    ws.destroy();
}

#[test]
fn provider_logs_reach_terraform_at_their_level() {
    let local = LocalVcr::start();
    let mut ws = workspace(&local);
    ws.write_config(&repo_config("logged-app", 1, ""));
    ws.apply();
    let (status, body) = local.local_call(
        "POST",
        "/_local/faults",
        Some(serde_json::json!({"method": "GET", "path": "/hcm/v1/repository/*", "status": 503, "times": 1})),
    );
    assert!(status < 300, "{body}");
    ws.set_env("TF_LOG_PROVIDER", "WARN");
    let run = ws.plan(true);
    assert_eq!(run.code, 0, "the retry succeeds:\n{}", run.output());
    // Terraform parsed the hclog line: level and message, not raw JSON.
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains("vCR answered 503: retrying"))
        .unwrap_or_else(|| panic!("no retry warning in:\n{}", run.stderr));
    assert!(
        line.contains("[WARN]") && line.contains("provider.terraform-provider-vcr"),
        "{line}"
    );
    assert!(
        !line.contains("\"@level\""),
        "Terraform could not parse the line: {line}"
    );
    ws.set_env("TF_LOG_PROVIDER", "");
    ws.destroy();
}
