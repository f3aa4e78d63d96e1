//! The action `vcr_image_check` through a real Terraform 1.15.5 against vcr-local,
//! with images a real OCI client pushed: `terraform apply -invoke=...` passes for a
//! present tag or digest (its progress reaching Terraform's output) and stops for a
//! missing tag, naming the image and the tags there are; `pushed_within_days` both
//! ways (vcr-local's clock moved back for an old push); a registry host that is not
//! the provider's fails the plan; as an `action_trigger`, it stops the apply of a
//! resource that would deploy a missing tag and lets a present one through; Terraform's
//! interrupt (SIGINT) during a slow step stops it at once, saying what was done.
//! Actions write no state.

use crate::support;

use std::time::{Duration, Instant};

use support::controls::Fault;
use support::local::LocalVcr;
use support::terraform::NEWEST_AVAILABLE;
use support::{Terraform, Workspace};

const RESOURCES: &str = r#"
resource "vcr_repository" "app" {
  name           = "check-app"
  quota_limit_gb = 1
  force_destroy  = true
}
resource "vcr_repository_user" "ci" {
  name = "check-ci"
  repository_permission {
    repository_id = vcr_repository.app.id
    permission    = "push_pull"
  }
}
"#;

const DAY: i64 = 86_400;

/// The actions under test, each on a reference in the repository.
fn actions(v2_digest: &str) -> String {
    let check = |name: &str, image: &str, extra: &str| {
        format!(
            r#"
action "vcr_image_check" "{name}" {{
  config {{
    reference = "${{vcr_repository.app.registry_url}}/{image}"{extra}
  }}
}}
"#
        )
    };
    [
        RESOURCES.to_string(),
        check("present", "web/frontend:v2", ""),
        check("missing", "web/frontend:v9", ""),
        check("no_image", "web/backend:v1", ""),
        check(
            "by_digest",
            &format!("web/frontend:v2@{v2_digest}"),
            "\n    pushed_within_days = 1",
        ),
        check(
            "old_enough",
            "web/frontend:v1",
            "\n    pushed_within_days = 30",
        ),
        check("too_old", "web/frontend:v1", "\n    pushed_within_days = 5"),
        r#"
action "vcr_image_check" "foreign" {
  config {
    reference = "registry.example.com/100001-app/web:v1"
  }
}
"#
        .to_string(),
    ]
    .concat()
}

/// A repository and a user that may push to it, applied by Terraform 1.15.5: the
/// workspace, the repository's `registry_url`, and the user's login.
fn repository_with_ci(local: &LocalVcr) -> (Workspace, String, (String, String)) {
    let ws = Workspace::against(local).with_terraform(Terraform::version(NEWEST_AVAILABLE));
    ws.write_config(RESOURCES);
    ws.must(&["apply", "-auto-approve", "-input=false", "-no-color"]);
    let state = ws.state();
    let text = |address: &str, name: &str| {
        state.expect(address)[name]
            .as_str()
            .unwrap_or_else(|| panic!("{address}.{name} in state"))
            .to_string()
    };
    let login = (
        text("vcr_repository_user.ci", "backend_name"),
        text("vcr_repository_user.ci", "secret"),
    );
    let registry_url = text("vcr_repository.app", "registry_url");
    (ws, registry_url, login)
}

fn invoke(ws: &Workspace, name: &str) -> support::terraform::Run {
    ws.invoke(&format!("action.vcr_image_check.{name}"))
}

#[test]
fn image_check_passes_present_images_and_stops_missing_or_old_ones() {
    let local = LocalVcr::start();
    let (ws, registry_url, login) = repository_with_ci(&local);
    let push = |tag: &str, text: &str| {
        let to = format!("{registry_url}/web/frontend:{tag}");
        support::images::push_layer(&local, &to, (&login.0, &login.1), text)
    };
    // v1 ten days ago (vcr-local's clock moved back for the push), v2 now.
    let controls = local.controls();
    controls.advance_clock(-10 * DAY);
    let v1 = push("v1", "old build");
    controls.advance_clock(10 * DAY);
    let v2 = push("v2", "new build");
    assert_ne!(v1, v2);

    ws.write_config(&actions(&v2));
    // The pushes changed the repository's image count: into state first, so that
    // what follows would show any state an action wrote.
    ws.must(&[
        "apply",
        "-refresh-only",
        "-auto-approve",
        "-input=false",
        "-no-color",
    ]);
    let before = ws.state_text();

    let run = invoke(&ws, "present");
    assert!(run.success(), "{}", run.output());
    let said = run.said();
    let reference = format!("{registry_url}/web/frontend:v2");
    assert!(
        said.contains(&format!(
            "Action action.vcr_image_check.present (triggered by CLI): looking for {reference} in HCM"
        )),
        "progress reaches Terraform: {said}"
    );
    assert!(
        said.contains(&format!(
            "Action action.vcr_image_check.present (triggered by CLI): found {v2} pushed at"
        )),
        "{said}"
    );
    assert!(
        said.contains("Action complete: action.vcr_image_check.present"),
        "{said}"
    );

    let run = invoke(&ws, "missing");
    assert!(!run.success(), "{}", run.output());
    let said = run.said();
    let missing = format!("{registry_url}/web/frontend:v9");
    assert!(
        said.contains(&format!("Image {missing} failed its check")),
        "{said}"
    );
    assert!(
        said.contains(r#"image "web/frontend" in repository "check-app" ("#)
            && said.contains(r#"has no artifact tagged "v9"; its tags: "v1" and "v2"."#),
        "{said}"
    );

    let run = invoke(&ws, "no_image");
    assert!(!run.success(), "{}", run.output());
    assert!(
        run.said().contains(r#"holds no image "web/backend"."#),
        "{}",
        run.output()
    );

    let run = invoke(&ws, "by_digest");
    assert!(run.success(), "{}", run.output());

    let run = invoke(&ws, "old_enough");
    assert!(run.success(), "{}", run.output());
    assert!(
        run.said().contains(&format!("found {v1} pushed at")),
        "{}",
        run.output()
    );

    let run = invoke(&ws, "too_old");
    assert!(!run.success(), "{}", run.output());
    let said = run.said();
    assert!(
        said.contains("10 days ago: not within the last 5 days (pushed_within_days)."),
        "{said}"
    );

    let run = invoke(&ws, "foreign");
    assert!(!run.success(), "{}", run.output());
    let said = run.said();
    assert!(
        said.contains(r#"its registry host "registry.example.com" is none of"#)
            && !said.contains("Action started: action.vcr_image_check.foreign"),
        "refused at plan, never started: {said}"
    );

    assert_eq!(ws.state_text(), before, "actions write no state");
}

const DEPLOY: &str = r#"
variable "tag" {
  type = string
}
action "vcr_image_check" "deploy" {
  config {
    reference = "${vcr_repository.app.registry_url}/web/frontend:${var.tag}"
  }
}
resource "terraform_data" "deploy" {
  input = var.tag
  lifecycle {
    action_trigger {
      events  = [before_create, before_update]
      actions = [action.vcr_image_check.deploy]
    }
  }
}
"#;

#[test]
fn image_check_as_a_trigger_stops_the_deploy_of_a_missing_tag() {
    let local = LocalVcr::start();
    let (ws, registry_url, login) = repository_with_ci(&local);
    let to = format!("{registry_url}/web/frontend:v1");
    support::images::push_layer(&local, &to, (&login.0, &login.1), "build");

    ws.write_config(&format!("{RESOURCES}{DEPLOY}"));
    let apply = |tag: &str| {
        let var = format!("tag={tag}");
        ws.run(&[
            "apply",
            "-auto-approve",
            "-input=false",
            "-no-color",
            "-var",
            &var,
        ])
    };
    let run = apply("v9");
    assert!(!run.success(), "{}", run.output());
    let said = run.said();
    assert!(
        said.contains(&format!(
            "Image {registry_url}/web/frontend:v9 failed its check"
        )),
        "{said}"
    );
    assert!(
        ws.state().get("terraform_data.deploy").is_none(),
        "nothing deployed: {said}"
    );

    let run = apply("v1");
    assert!(run.success(), "{}", run.output());
    assert!(
        run.said()
            .contains("Action complete: action.vcr_image_check.deploy"),
        "{}",
        run.output()
    );
    assert_eq!(
        ws.state().expect("terraform_data.deploy")["input"]["value"],
        "v1"
    );
}

/// SIGINT to terraform while the action waits for vCR (a minute's delay on the
/// repository list): Terraform calls the provider's Stop, and the action abandons its
/// read (only that path says "during a step it could abandon") and ends with the error
/// that says what was done.
#[test]
fn image_check_stops_at_terraform_s_interrupt() {
    let local = LocalVcr::start();
    let (ws, registry_url, _) = repository_with_ci(&local);
    ws.write_config(&format!(
        r#"{RESOURCES}
action "vcr_image_check" "slow" {{
  config {{
    reference = "{registry_url}/web/frontend:v1"
  }}
}}
"#
    ));
    let controls = local.controls();
    controls.add_fault(&Fault::delay("/hcm/v1/repository", 60_000).method("GET"));
    let child = ws.spawn(&[
        "apply",
        "-auto-approve",
        "-input=false",
        "-no-color",
        "-refresh=false",
        "-invoke=action.vcr_image_check.slow",
    ]);
    // Interrupt once the action is waiting on the delayed list.
    let deadline = Instant::now() + Duration::from_secs(50);
    while controls.faults()[0].hits == 0 {
        assert!(
            Instant::now() < deadline,
            "the action never listed repositories"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let pid = child.id().to_string();
    let kill = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(kill.success());
    let run =
        support::terraform::Run::from(&["apply", "-invoke"], child.wait_with_output().unwrap());
    assert!(!run.success(), "{}", run.output());
    let said = run.said();
    assert!(
        said.contains("Action interrupted: Terraform asked the provider to stop, so the action stopped during a step it could abandon. Done before stopping: nothing; the image was not checked"),
        "{said}"
    );
}
