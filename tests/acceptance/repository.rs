//! `vcr_repository` and the repository data sources, driven by a real Terraform
//! against a real `vcr-local`, as scenarios of steps (see `support::steps`).

use crate::support;

use support::controls::Fault;
use support::images::{push_image, Image};
use support::local::LocalVcr;
use support::{literal, words, Action, Scenario, Step, Workspace};
use vcr_provider::vcr::Region;

const APP: &str = "vcr_repository.app";

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
    let hcm_id = |ctx: &support::steps::Ctx| format!("HCM/{}", ctx.attr(APP, "id"));
    Scenario::new(&local)
        .step(
            Step::apply(repo_config("my-app", 5, ""))
                .expect(APP, Action::Create)
                .check(|ctx| {
                    let applied = ctx.state(APP);
                    assert!(ctx.attr(APP, "id").starts_with("repo-"), "{applied}");
                    assert_eq!(applied["region"], "HCM");
                    assert_eq!(applied["access_level"], "private");
                    assert_eq!(applied["force_destroy"], false);
                    assert_eq!(applied["quota_limit_gb"], 5);
                    let backend = ctx.attr(APP, "backend_name");
                    assert!(backend.ends_with("-my-app"), "{backend}");
                    // The registry host follows VCR_REGISTRY_HCM: vcr-local's own.
                    assert_eq!(
                        applied["registry_url"],
                        format!("{}/{backend}", local.settings["VCR_REGISTRY_HCM"])
                    );
                    assert_eq!(local.repository_names(Region::Hcm), vec!["my-app"]);
                }),
        )
        // By id (the default), by name, and both with the region in front: each import
        // gives back exactly the applied state, and plans nothing.
        .step(Step::import(APP).plan_empty_after())
        .step(Step::import(APP).import_id("my-app").plan_empty_after())
        .step(Step::import(APP).import_id_from(hcm_id).plan_empty_after())
        .step(Step::import(APP).import_id("HCM/my-app").plan_empty_after())
        .step(
            Step::import(APP)
                .import_id("HAN/my-app")
                .expect_error(&literal(
                    "No repository has the id or name \"my-app\" in HAN",
                )),
        )
        .run();
}

#[test]
fn quota_updates_in_place_and_a_rename_replaces() {
    let local = LocalVcr::start();
    Scenario::new(&local)
        .step(Step::apply(repo_config("quota-app", 5, "")).expect(APP, Action::Create))
        .step(
            Step::apply(repo_config("quota-app", 7, ""))
                .expect(APP, Action::Update)
                .expect_value(APP, "quota_limit_gb", 5, 7)
                .expect_known(APP)
                .check(|ctx| {
                    assert_eq!(
                        ctx.state(APP)["id"],
                        ctx.prior(APP)["id"],
                        "same repository"
                    );
                    assert_eq!(ctx.state(APP)["quota_limit_gb"], 7);
                    let client = ctx.local.client();
                    let id = ctx.attr(APP, "id");
                    let repo = ctx
                        .local
                        .block_on(client.repositories(Region::Hcm).get(&id))
                        .unwrap();
                    assert_eq!(repo.quota_limit, 7);
                }),
        )
        .step(
            Step::apply(repo_config("renamed-app", 7, ""))
                .expect_replaced_by(APP, "name")
                .check(|ctx| {
                    assert_eq!(local.repository_names(Region::Hcm), vec!["renamed-app"]);
                    assert_ne!(ctx.state(APP)["id"], ctx.prior(APP)["id"]);
                }),
        )
        .run();
}

#[test]
fn drift_is_set_back() {
    let local = LocalVcr::start();
    Scenario::new(&local)
        .step(Step::apply(repo_config("drift-app", 3, "")).expect(APP, Action::Create))
        .step(
            Step::reapply()
                .named("quota changed outside Terraform: set back in place")
                .pre(|ctx| {
                    let client = ctx.local.client();
                    let id = ctx.attr(APP, "id");
                    ctx.local
                        .block_on(client.repositories(Region::Hcm).set_quota(&id, 9))
                        .unwrap();
                })
                .expect(APP, Action::Update)
                .expect_value(APP, "quota_limit_gb", 9, 3),
        )
        .step(
            Step::reapply()
                .named("deleted outside Terraform: created again")
                .pre(|ctx| {
                    let client = ctx.local.client();
                    let id = ctx.attr(APP, "id");
                    ctx.local
                        .block_on(client.repositories(Region::Hcm).delete(&id))
                        .unwrap();
                })
                .expect(APP, Action::Create)
                .check(|_| assert_eq!(local.repository_names(Region::Hcm), vec!["drift-app"])),
        )
        .run();
}

const NORTH: &str = r#"
resource "vcr_repository" "north" {
  name           = "north-app"
  quota_limit_gb = 2
  region         = "HAN"
  access_level   = "public"
}
"#;

#[test]
fn regions_stay_apart() {
    let local = LocalVcr::start();
    let south = r#"
resource "vcr_repository" "south" {
  name           = "south-app"
  quota_limit_gb = 1
}
"#;
    Scenario::new(&local)
        .step(
            Step::apply(format!("{south}{NORTH}"))
                .expect_all(Action::Create)
                .check(|ctx| {
                    assert_eq!(local.repository_names(Region::Hcm), vec!["south-app"]);
                    assert_eq!(local.repository_names(Region::Han), vec!["north-app"]);
                    let north = ctx.state("vcr_repository.north");
                    assert_eq!(north["region"], "HAN");
                    assert_eq!(north["access_level"], "public");
                    assert!(ctx
                        .attr("vcr_repository.north", "registry_url")
                        .starts_with(&format!("{}/", local.settings["VCR_REGISTRY_HAN"])));
                }),
        )
        // Import by the region-prefixed id finds the HAN repository.
        .step(
            Step::import("vcr_repository.north")
                .config(NORTH)
                .import_id_from(|ctx| format!("HAN/{}", ctx.attr("vcr_repository.north", "id")))
                .plan_empty_after(),
        )
        .run();
}

#[test]
fn data_sources_find_repositories() {
    let local = LocalVcr::start();
    let config = r#"
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
"#;
    Scenario::new(&local)
        .step(
            Step::apply(config)
                .expect_all(Action::Create)
                .expect("data.vcr_repository.by_name", Action::Read)
                .expect("data.vcr_repository.by_id", Action::Read)
                .expect("data.vcr_repositories.public", Action::Read)
                .expect("data.vcr_repositories.team", Action::Read)
                .check(|ctx| {
                    let outputs = ctx.outputs();
                    assert_eq!(
                        outputs["by_name_url"]["value"],
                        ctx.state("vcr_repository.a")["registry_url"]
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
                }),
        )
        .run();
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

/// A second repository beside the one with images: destroyed first by the destroy
/// that stops at the images, and never re-created by the advised way out.
const OTHER_REPOSITORY: &str = r#"
resource "vcr_repository" "other" {
  name           = "other-app"
  quota_limit_gb = 1
}
"#;

#[test]
fn a_repository_with_images_needs_force_destroy() {
    let local = LocalVcr::start();
    let with_other = |extra: &str| repo_config("images-app", 2, extra) + OTHER_REPOSITORY;
    Scenario::new(&local)
        .step(Step::apply(with_other("")).expect_all(Action::Create))
        .step(
            Step::plan_only()
                .named("a new image shows on refresh without planning a change")
                .pre(|ctx| {
                    let image = Image {
                        name: "web",
                        tag: Some("v1"),
                        size_kib: 10 << 10,
                    };
                    push_image(ctx.local, Region::Hcm, &ctx.attr(APP, "id"), &image);
                })
                .expect_no_changes()
                .check(|ctx| {
                    assert_eq!(
                        ctx.state(APP)["image_count"],
                        0,
                        "state refreshes only on apply"
                    );
                }),
        )
        .step(Step::refresh_only().check(|ctx| assert_eq!(ctx.state(APP)["image_count"], 1)))
        .step(
            Step::destroy()
                .named("a repository with images is not destroyed")
                .expect_error(&literal("Repository \"images-app\" in HCM still holds images"))
                .expect_output(&literal("force_destroy = true"))
                // The way out that re-creates nothing the destroy already removed.
                .expect_output(&words(
                    "terraform apply -target=vcr_repository.LABEL (LABEL being this resource block's name); then run terraform destroy again.",
                ))
                // vCR's own words, said to be vCR's: not a second "Error:" line.
                .expect_output(&words(
                    r#"vCR said: conflict: repository "images-app" still holds"#,
                ))
                .check(|ctx| {
                    assert!(
                        !ctx.output().contains("Error: conflict"),
                        "{}",
                        ctx.output()
                    );
                    assert_eq!(
                        local.repository_names(Region::Hcm),
                        vec!["images-app"],
                        "the repository with images is not deleted; the other one is"
                    );
                    assert_eq!(ctx.state(APP)["id"], ctx.prior(APP)["id"], "still in state");
                }),
        )
        .step(
            Step::plan_only()
                .named("the advice, followed: force_destroy, apply -target, destroy")
                .config(with_other("force_destroy = true"))
                // A plain apply would re-create what the destroy removed.
                .expect(APP, Action::Update)
                .expect("vcr_repository.other", Action::Create)
                .check(|ctx| {
                    let ws = ctx.workspace();
                    let run = ws.run(&[
                        "apply",
                        "-target=vcr_repository.app",
                        "-auto-approve",
                        "-no-color",
                        "-input=false",
                    ]);
                    assert!(run.success(), "{}", run.output());
                    assert_eq!(
                        local.repository_names(Region::Hcm),
                        vec!["images-app"],
                        "the other repository is not re-created: {}",
                        run.output()
                    );
                    assert_eq!(ws.state().expect(APP)["force_destroy"], true);
                    ws.destroy();
                    assert!(local.repository_names(Region::Hcm).is_empty());
                }),
        )
        .run();
}

#[test]
fn the_same_name_in_two_blocks_is_taken_but_not_by_this_resource() {
    let local = LocalVcr::start();
    let twins: String = ["a", "b"]
        .map(|label| {
            format!("resource \"vcr_repository\" \"{label}\" {{\n  name = \"twin-app\"\n  quota_limit_gb = 1\n}}\n")
        })
        .concat();
    Scenario::new(&local)
        .step(
            Step::apply(twins)
                .expect_all(Action::Create)
                .expect_apply_error(&literal(
                    "A repository named \"twin-app\" already exists in HCM",
                ))
                // What is known: taken, not by this resource; and both ways out.
                .expect_output(&words("this one is taken, but not by this resource."))
                .expect_output(&words(
                    "If another resource block (in this configuration or another) already declares \"twin-app\" in HCM, give this block another name or remove one of the two blocks.",
                ))
                .expect_output(&words("terraform import vcr_repository.LABEL HCM/twin-app"))
                .check(|ctx| {
                    assert!(
                        !ctx.output().contains("not in this Terraform state"),
                        "it may well be in this state: {}",
                        ctx.output()
                    );
                    assert_eq!(local.repository_names(Region::Hcm), vec!["twin-app"]);
                }),
        )
        .run();
}

#[test]
fn registry_url_is_what_vcr_reports_unless_overridden() {
    let local = LocalVcr::start();
    let registry = local.settings["VCR_REGISTRY_HCM"].clone();
    let endpoint = local.settings["VCR_ENDPOINT_HCM"].clone();
    let lookup = r#"
data "vcr_repository" "same" {
  name = vcr_repository.app.name
}
"#;
    let config = repo_config("where-app", 1, "") + lookup;
    Scenario::new(&local)
        // The API at vcr-local, and VCR_REGISTRY_HCM not exported (an empty value is
        // unset): where vCR says the images are, not vCR's production registry.
        .env("VCR_REGISTRY_HCM", "")
        .step(
            Step::apply(config)
                .expect(APP, Action::Create)
                .check(|ctx| {
                    let backend = ctx.attr(APP, "backend_name");
                    let expected = format!("{registry}/{backend}");
                    assert_eq!(ctx.attr(APP, "registry_url"), expected);
                    assert_eq!(
                        ctx.state("data.vcr_repository.same")["registry_url"],
                        expected
                    );
                    let out = ctx.output();
                    assert!(!out.contains("differs from what vCR reports"), "{out}");
                    assert!(!out.contains("production registry"), "{out}");
                }),
        )
        .step(
            Step::plan_only()
                .named("an override naming vCR's production registry, with the API local")
                .env("VCR_REGISTRY_HCM", "vcr.vngcloud.vn")
                .expect_output(&words(
                    "Warning: The registry of HCM differs from what vCR reports",
                ))
                .expect_output(&words(
                    "endpoints { registry_hcm } (or VCR_REGISTRY_HCM) is \"vcr.vngcloud.vn\"",
                ))
                .expect_output(&words(&format!(
                    "but vCR reports this repository at \"{registry}/"
                )))
                .expect_output(&words(
                    "Warning: registry_url in HCM points at vCR's production registry",
                ))
                .expect_output(&words(&format!("The API of HCM is local (\"{endpoint}\")"))),
        )
        .run();
}

#[test]
fn an_error_other_than_not_found_keeps_the_object_in_state() {
    let local = LocalVcr::start();
    Scenario::new(&local)
        .env("VCR_MAX_RETRIES", "0")
        .step(Step::apply(repo_config("sturdy-app", 1, "")).expect(APP, Action::Create))
        .step(
            Step::plan_only()
                .pre(|ctx| {
                    let fault = Fault::status("/hcm/v1/repository/*", 500)
                        .method("GET")
                        .message("disk on fire");
                    ctx.local.controls().add_fault(&fault);
                })
                .expect_plan_error("Could not read repository")
                .expect_output("disk on fire")
                .check(|ctx| assert_eq!(ctx.state(APP), ctx.prior(APP))),
        )
        .step(
            Step::reapply()
                .pre(|ctx| ctx.local.controls().clear_faults())
                .expect_no_changes(),
        )
        .run();
}

#[test]
fn a_wrong_endpoint_is_an_error_not_a_deleted_repository() {
    let local = LocalVcr::start();
    // The endpoint without its "/hcm" prefix answers 404 "no such endpoint".
    let wrong = local.settings["VCR_ENDPOINT_HCM"]
        .trim_end_matches("/hcm")
        .to_string();
    Scenario::new(&local)
        .step(Step::apply(repo_config("kept-app", 1, "")).expect(APP, Action::Create))
        .step(
            Step::plan_only()
                .named("a wrong endpoint fails the plan, not plans a create")
                .env("VCR_ENDPOINT_HCM", &wrong)
                .env("VCR_MAX_RETRIES", "0")
                .expect_plan_error("Could not read repository"),
        )
        .step(
            Step::destroy()
                .env("VCR_ENDPOINT_HCM", &wrong)
                .env("VCR_MAX_RETRIES", "0")
                .expect_error("Could not read repository")
                .check(|ctx| {
                    assert_eq!(ctx.state(APP), ctx.prior(APP), "still in state");
                    assert_eq!(local.repository_names(Region::Hcm), vec!["kept-app"]);
                }),
        )
        .step(
            Step::reapply()
                .named("the right endpoint again")
                .expect_no_changes(),
        )
        .run();
}

#[test]
fn a_quota_below_the_usage_fails_at_plan() {
    // A real image over 1 GB of quota, where a GB is a MiB (MIB_QUOTA_UNIT).
    let local = LocalVcr::start_with_mib_quotas();
    Scenario::new(&local)
        .step(Step::apply(repo_config("full-app", 2, "")).expect(APP, Action::Create))
        .step(
            Step::apply(repo_config("full-app", 1, "force_destroy = true"))
                .pre(|ctx| {
                    let image = Image {
                        name: "big",
                        tag: None,
                        size_kib: 1100,
                    };
                    push_image(ctx.local, Region::Hcm, &ctx.attr(APP, "id"), &image);
                })
                .expect_plan_error(&literal("Invalid value for \"quota_limit_gb\""))
                .expect_output("already use"),
        )
        .step(
            Step::apply(repo_config("full-app", 2, "force_destroy = true"))
                .expect(APP, Action::Update)
                .expect_value(APP, "force_destroy", false, true),
        )
        .run();
}

#[test]
fn provider_logs_reach_terraform_at_their_level() {
    let local = LocalVcr::start();
    Scenario::new(&local)
        .step(Step::apply(repo_config("logged-app", 1, "")).expect(APP, Action::Create))
        .step(
            Step::plan_only()
                .named("the retry succeeds, and its warning is logged")
                .pre(|ctx| {
                    let fault = Fault::status("/hcm/v1/repository/*", 503)
                        .method("GET")
                        .times(1);
                    ctx.local.controls().add_fault(&fault);
                })
                .env("TF_LOG_PROVIDER", "WARN")
                .expect_no_changes()
                .check(|ctx| {
                    // Terraform parsed the hclog line: level and message, not raw JSON.
                    let stderr = &ctx.run("plan").stderr;
                    let line = stderr
                        .lines()
                        .find(|l| l.contains("vCR answered 503: retrying"))
                        .unwrap_or_else(|| panic!("no retry warning in:\n{stderr}"));
                    assert!(
                        line.contains("[WARN]") && line.contains("provider.terraform-provider-vcr"),
                        "{line}"
                    );
                    assert!(
                        !line.contains("\"@level\""),
                        "Terraform could not parse the line: {line}"
                    );
                }),
        )
        .run();
}

/// What the vcr_image page says: a lookup that refers to the repository resource is
/// read at apply, "(known after apply)", when the plan changes the repository; one that
/// looks the repository up by name is read at plan.
#[test]
fn an_image_lookup_waits_for_a_change_to_its_repository_unless_it_looks_it_up() {
    let local = LocalVcr::start();
    let lookups = r#"
data "vcr_image" "through_the_resource" {
  repository_id = vcr_repository.app.id
  name          = "web"
  tag           = "v1"
}
data "vcr_repository" "by_name" {
  name = "pinned-app"
}
data "vcr_image" "through_a_lookup" {
  repository_id = data.vcr_repository.by_name.id
  name          = "web"
  tag           = "v1"
}
"#;
    let with_quota =
        |quota: u32| repo_config("pinned-app", quota, "force_destroy = true") + lookups;
    Scenario::new(&local)
        .step(
            Step::apply(repo_config("pinned-app", 1, "force_destroy = true"))
                .expect(APP, Action::Create),
        )
        .step(
            Step::apply(with_quota(1))
                .named("both lookups read at plan while the repository does not change")
                .pre(|ctx| {
                    let image = Image {
                        name: "web",
                        tag: Some("v1"),
                        size_kib: 1024,
                    };
                    push_image(ctx.local, Region::Hcm, &ctx.attr(APP, "id"), &image);
                })
                .check_plan(|plan| {
                    assert!(plan.get("data.vcr_image.through_the_resource").is_none());
                    assert!(plan.get("data.vcr_image.through_a_lookup").is_none());
                }),
        )
        .step(
            Step::plan_only()
                .named("a quota change defers the lookup through the resource only")
                .config(with_quota(2))
                .expect(APP, Action::Update)
                .expect("data.vcr_image.through_the_resource", Action::Read)
                .expect_unknown("data.vcr_image.through_the_resource", "image_uri")
                .check_plan(|plan| {
                    assert!(
                        plan.get("data.vcr_image.through_a_lookup").is_none(),
                        "read at plan, its digest known"
                    );
                }),
        )
        .run();
}
