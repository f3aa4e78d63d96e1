//! `vcr_retention_policy` with a real terraform against vcr-local, on images really
//! pushed through its registry over simulated days (vcr-local's clock): several
//! images, tags, untagged artifacts and a multi-architecture index.
//!
//! - the create lists what the rules delete and deletes nothing;
//! - the next plan shows exactly that list going to empty, and its apply deletes exactly
//!   it (checked through the images API and by pulling each digest), while an artifact
//!   pushed between the plan and the apply survives, and one pulled in between survives
//!   with a warning naming it; unselected artifacts and images are never touched; an
//!   index goes with its platform manifests;
//! - `enabled = false` lists and deletes nothing; import; removing the policy deletes
//!   no image; plans are empty once nothing is pending;
//! - the quota story: a push refused for quota succeeds once the policy has run;
//! - the `vcr_image_cleanup` action (Terraform 1.15.5): it deletes exactly what its
//!   dry run lists, runs as an `action_trigger` after a policy update, and stops
//!   between batches at Terraform's interrupt, saying what it deleted.

use crate::support;

use std::collections::BTreeSet;

use serde_json::{json, Value};
use support::images::{registry_support, Pusher};
use support::local::LocalVcr;
use support::Workspace;
use vcr_provider::vcr::Region;

/// The summaries of the provider's warnings in a `terraform ... -json` run (without
/// Terraform's own about the harness's `dev_overrides`).
fn warnings(run: &support::terraform::Run) -> Vec<String> {
    run.diagnostics()
        .into_iter()
        .filter(|d| {
            d.severity == "warning" && d.summary != "Provider development overrides are in effect"
        })
        .map(|d| d.summary)
        .collect()
}

const DAY: i64 = 86_400;

const RESOURCES: &str = r#"
resource "vcr_repository" "app" {
  name           = "retain-app"
  quota_limit_gb = 1
  force_destroy  = true
}
resource "vcr_repository_user" "ci" {
  name = "retain-ci"
  repository_permission {
    repository_id = vcr_repository.app.id
    permission    = "push_pull"
  }
}
"#;

fn policy(enabled: bool) -> String {
    format!(
        r#"{RESOURCES}
resource "vcr_retention_policy" "app" {{
  repository_id = vcr_repository.app.id
  enabled       = {enabled}
  rule {{
    images           = ["web/**"]
    tags             = ["v*"]
    keep_last_pushed = 2
  }}
  rule {{
    tags        = ["prod-*"]
    keep_always = true
  }}
  rule {{
    images                  = ["web/**"]
    tags                    = []
    untagged                = true
    keep_pushed_within_days = 3
  }}
  rule {{
    images                  = ["web/**"]
    tags                    = ["v*"]
    keep_pulled_within_days = 1
  }}
}}
"#
    )
}

/// The pusher of the `app` repository, as the `ci` user.
fn pusher(local: &LocalVcr, ws: &Workspace) -> Pusher {
    let state = ws.state();
    let repo = state.expect("vcr_repository.app");
    let user = state.expect("vcr_repository_user.ci");
    Pusher {
        host: local.settings["VCR_REGISTRY_HCM"].clone(),
        repo: repo["backend_name"].as_str().unwrap().to_string(),
        login: user["backend_name"].as_str().unwrap().to_string(),
        secret: user["secret"].as_str().unwrap().to_string(),
    }
}

/// Every artifact digest of every image of the repository, per the images API.
fn held(local: &LocalVcr, repo_id: &str) -> BTreeSet<String> {
    let client = local.client();
    let repos = client.repositories(Region::Hcm);
    local.block_on(async {
        let mut all = BTreeSet::new();
        for image in repos.list_images(repo_id).await.unwrap() {
            for a in repos
                .list_artifacts(repo_id, &image.name, None)
                .await
                .unwrap()
            {
                all.insert(format!("{}@{}", image.name, a.digest));
            }
        }
        all
    })
}

fn pending_of(state: &Value) -> Vec<String> {
    state["pending_deletions"]
        .as_array()
        .unwrap_or_else(|| panic!("no pending_deletions in {state}"))
        .iter()
        .map(|p| {
            format!(
                "{}@{}",
                p["image"].as_str().unwrap(),
                p["digest"].as_str().unwrap()
            )
        })
        .collect()
}

/// What was pushed, by role.
struct Pushed {
    /// web/frontend: v1 (also prod-1, 20 days ago), v2 (15), v3 (5), v4 (3), v5 (now).
    v: Vec<String>,
    /// web/frontend untagged 10 days ago, and untagged today.
    old_untagged: String,
    new_untagged: String,
    /// web/frontend:tmp (a tag no rule selects), 20 days ago.
    tmp: String,
    /// web/multi indexes v1 (20 days ago), v2 (10), v3 (now), with their platforms.
    indexes: Vec<(String, Vec<String>)>,
    /// api:v1 and api:v2, 20 days ago: no rule selects the image.
    api: Vec<String>,
}

fn push_history(local: &LocalVcr, reg: &Pusher) -> Pushed {
    let controls = local.controls();
    // Moves vcr-local's clock to `days` ago (relative to the real now).
    let mut offset = 0i64;
    let mut at = |days: i64| {
        let target = -days * DAY;
        controls.advance_clock(target - offset);
        offset = target;
    };
    let push =
        |image: &str, tag: &str, text: &str| local.block_on(reg.push_image(image, tag, text));
    let index = |tag: &str, text: &str| local.block_on(reg.push_index("web/multi", tag, text));
    at(20);
    let v1 = push("web/frontend", "v1", "build 1");
    assert_eq!(push("web/frontend", "prod-1", "build 1"), v1);
    let tmp = push("web/frontend", "tmp", "scratch");
    let api = vec![push("api", "v1", "api 1"), push("api", "v2", "api 2")];
    let i1 = index("v1", "multi 1");
    at(15);
    let v2 = push("web/frontend", "v2", "build 2");
    at(10);
    // An artifact loses its only tag when the tag moves: untagged, 10 days old.
    let old_untagged = push("web/frontend", "next", "build 2.5");
    let i2 = index("v2", "multi 2");
    at(5);
    let v3 = push("web/frontend", "v3", "build 3");
    at(3);
    let v4 = push("web/frontend", "v4", "build 4");
    push("web/frontend", "next", "build 4.5");
    at(0);
    let v5 = push("web/frontend", "v5", "build 5");
    let new_untagged = push("web/frontend", "scratch2", "build 5.5");
    push("web/frontend", "scratch2", "build 5.6");
    let i3 = index("v3", "multi 3");
    Pushed {
        v: vec![v1, v2, v3, v4, v5],
        old_untagged,
        new_untagged,
        tmp,
        indexes: vec![i1, i2, i3],
        api,
    }
}

fn plan_json(ws: &Workspace) -> Value {
    let run = ws.must(&["show", "-json", "tfplan"]);
    serde_json::from_str(&run.stdout).unwrap()
}

fn change_of<'a>(plan: &'a Value, address: &str) -> &'a Value {
    plan["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == address)
        .map(|c| &c["change"])
        .unwrap_or_else(|| panic!("no change of {address}"))
}

const POLICY: &str = "vcr_retention_policy.app";

#[test]
fn the_plan_lists_exactly_what_the_apply_deletes() {
    let local = LocalVcr::start();
    let ws = Workspace::against(&local);
    let (reg, repo_id) = applied_repository(&local, &ws);
    let p = push_history(&local, &reg);
    let everything = held(&local, &repo_id);

    // The create lists, and deletes nothing.
    ws.write_config(&policy(true));
    let created = ws.must(&["apply", "-auto-approve", "-json", "-input=false"]);
    assert!(
        warnings(&created)
            .iter()
            .any(|w| w.starts_with("4 artifact(s) (") && w.ends_with(") are pending deletion")),
        "{}",
        created.output()
    );
    let expected = vec![
        format!("web/frontend@{}", p.v[1]),
        format!("web/frontend@{}", p.old_untagged),
        format!("web/frontend@{}", p.v[2]),
        format!("web/multi@{}", p.indexes[0].0),
    ];
    let state = ws.state().expect(POLICY).clone();
    assert_eq!(
        pending_of(&state),
        expected,
        "sorted by image, oldest push first"
    );
    let listed = &state["pending_deletions"][0];
    assert_eq!(listed["tags"], json!(["v2"]));
    assert!(listed["size_bytes"].as_u64().unwrap() > 0);
    assert!(listed["pushed_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(listed["pulled_at"], Value::Null);
    assert_eq!(state["pending_deletions"][1]["tags"], json!([]));
    let bytes: u64 = state["pending_deletions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["size_bytes"].as_u64().unwrap())
        .sum();
    assert_eq!(state["pending_bytes"].as_u64(), Some(bytes));
    assert_eq!(
        held(&local, &repo_id),
        everything,
        "the create deleted nothing"
    );

    // The plan shows the list going to empty, as an update.
    ws.must(&["plan", "-out=tfplan", "-no-color", "-input=false"]);
    let plan = plan_json(&ws);
    let change = change_of(&plan, POLICY);
    assert_eq!(change["actions"], json!(["update"]));
    assert_eq!(pending_of(&change["before"]), expected);
    assert_eq!(change["after"]["pending_deletions"], json!([]));
    assert_eq!(change["after"]["pending_bytes"], json!(0));

    // Between the plan and the apply: v6 is pushed (so v4 is now beyond the last two),
    // and v3 (listed) is pulled (so the pull rule keeps it now).
    let v6 = local.block_on(reg.push_image("web/frontend", "v6", "build 6"));
    assert_eq!(local.block_on(reg.pull("web/frontend", "v3")), 200);
    let applied = ws.must(&["apply", "-json", "-input=false", "tfplan"]);
    let kept = applied
        .diagnostics()
        .into_iter()
        .find(|d| {
            d.severity == "warning"
                && d.summary
                    == "1 artifact(s) of the plan were not deleted: the rules keep them now"
        })
        .unwrap_or_else(|| panic!("no warning of what was kept: {}", applied.output()));
    assert!(
        kept.detail
            .lines()
            .any(|l| l == format!("web/frontend@{}", p.v[2])),
        "the warning names v3: {kept:?}"
    );

    let gone: BTreeSet<String> = [&expected[0], &expected[1], &expected[3]]
        .into_iter()
        .cloned()
        .collect();
    let now = held(&local, &repo_id);
    let mut expected_now: BTreeSet<String> = everything.difference(&gone).cloned().collect();
    expected_now.insert(format!("web/frontend@{v6}"));
    assert_eq!(
        now, expected_now,
        "exactly the plan's list, less what the rules keep now"
    );
    local.block_on(async {
        assert_eq!(reg.pull("web/frontend", &p.v[1]).await, 404, "v2 is gone");
        assert_eq!(reg.pull("web/frontend", "v2").await, 404);
        assert_eq!(reg.pull("web/frontend", &p.old_untagged).await, 404);
        assert_eq!(reg.pull("web/multi", &p.indexes[0].0).await, 404);
        for child in &p.indexes[0].1 {
            assert_eq!(
                reg.pull("web/multi", child).await,
                404,
                "platforms go with their index"
            );
        }
        for child in &p.indexes[1].1 {
            assert_eq!(
                reg.pull("web/multi", child).await,
                200,
                "a kept index keeps its platforms"
            );
        }
        // v4 was not on the plan: still held (above); not pulled here, so the rules
        // still delete it next time.
        assert_eq!(
            reg.pull("web/frontend", &p.v[0]).await,
            200,
            "prod-1 is kept always"
        );
        assert_eq!(
            reg.pull("web/frontend", &p.new_untagged).await,
            200,
            "recent untagged kept"
        );
        assert_eq!(
            reg.pull("web/frontend", &p.tmp).await,
            200,
            "tmp: no rule selects it"
        );
        for api in &p.api {
            assert_eq!(
                reg.pull("api", api).await,
                200,
                "api: no rule selects the image"
            );
        }
    });
    let state = ws.state().expect(POLICY).clone();
    assert_eq!(state["pending_deletions"], json!([]));

    // The next plan lists v4 alone (v3 was pulled within the day): and its apply
    // deletes it; then nothing is pending and plans are empty.
    ws.must(&["plan", "-out=tfplan", "-no-color", "-input=false"]);
    let plan = plan_json(&ws);
    assert_eq!(
        pending_of(&change_of(&plan, POLICY)["before"]),
        [format!("web/frontend@{}", p.v[3])]
    );
    ws.must(&["apply", "-no-color", "-input=false", "tfplan"]);
    assert!(!held(&local, &repo_id).contains(&format!("web/frontend@{}", p.v[3])));
    ws.assert_no_changes();

    // enabled = false: the change deletes nothing; what becomes pending is listed and
    // stays.
    ws.write_config(&policy(false));
    let run = ws.must(&["apply", "-auto-approve", "-json", "-input=false"]);
    // Terraform shows it from the plan and again from the apply's own plan: once, deduplicated.
    assert_eq!(
        warnings(&run).into_iter().collect::<BTreeSet<_>>(),
        BTreeSet::from([
            "The retention rules or enabled change: this apply deletes nothing".to_string()
        ]),
        "{}",
        run.output()
    );
    ws.assert_no_changes();
    // v7 makes v5 the third most recent v* tag.
    local.block_on(reg.push_image("web/frontend", "v7", "build 7"));
    let before = held(&local, &repo_id);
    let run = ws.plan(true);
    assert_eq!(run.code, 0, "disabled: nothing to apply\n{}", run.output());
    ws.must(&[
        "apply",
        "-refresh-only",
        "-auto-approve",
        "-no-color",
        "-input=false",
    ]);
    let state = ws.state().expect(POLICY).clone();
    assert_eq!(
        pending_of(&state),
        [format!("web/frontend@{}", p.v[4])],
        "v5 is third now"
    );
    assert_eq!(held(&local, &repo_id), before, "disabled deletes nothing");

    // Import by the repository's id: the rules come from the configuration, and the
    // apply after it deletes nothing.
    let other = ws.sibling();
    other.write_config(&policy(false));
    other.write_file("terraform.tfstate", &ws.state_text());
    other.must(&["state", "rm", POLICY]);
    other.must(&["import", "-no-color", "-input=false", POLICY, &repo_id]);
    let imported = other.state().expect(POLICY).clone();
    assert_eq!(imported["repository_id"], json!(repo_id));
    assert_eq!(imported["region"], json!("HCM"));
    other.apply();
    assert_eq!(held(&local, &repo_id), before);
    assert_eq!(
        pending_of(other.state().expect(POLICY)),
        [format!("web/frontend@{}", p.v[4])]
    );

    // Removing the policy deletes no image.
    ws.write_config(RESOURCES);
    ws.apply();
    assert!(ws.state().get(POLICY).is_none());
    assert_eq!(held(&local, &repo_id), before);
    ws.destroy();
}

#[test]
fn bad_rules_fail_validate_naming_the_attribute() {
    let local = LocalVcr::start();
    let ws = Workspace::against(&local);
    let cases = [
        (
            "",
            r#"rule\s*\[?0?\]?.*keep_last_pushed|Missing keep_last_pushed"#,
        ),
        (
            "keep_last_pushed = 2\n keep_always = true",
            "set only one of",
        ),
        ("keep_last_pushed = 0", "at least 1"),
        (
            "tags = [\"v[\"]\n keep_always = true",
            r#"not a valid glob"#,
        ),
        ("keep_always = false", "must be true when set"),
    ];
    for (body, expected) in cases {
        ws.write_config(&format!(
            r#"resource "vcr_retention_policy" "p" {{
  repository_id = "repo-1"
  rule {{
    {body}
  }}
}}"#
        ));
        let run = ws.validate();
        assert!(!run.success(), "{body} validated");
        let re = regex::Regex::new(expected).unwrap();
        assert!(
            re.is_match(&run.output()),
            "{body}: expected {expected}, got\n{}",
            run.output()
        );
    }
    ws.write_config(
        r#"resource "vcr_retention_policy" "p" {
  repository_id = "retain-app"
  rule {
    keep_always = true
  }
}"#,
    );
    let run = ws.validate();
    assert!(
        !run.success()
            && run
                .output()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .contains("looks like a repository name"),
        "a name where the id belongs: {}",
        run.output()
    );
    ws.write_config(r#"resource "vcr_retention_policy" "p" { repository_id = "repo-1" }"#);
    let run = ws.validate();
    assert!(
        !run.success() && run.output().contains("rule"),
        "{}",
        run.output()
    );
}

/// A repository at its quota refuses a push; the policy runs; `quota_used_gb` drops,
/// and the same push succeeds.
#[test]
fn a_policy_makes_room_for_a_refused_push() {
    // The 1 GB quota is 1 MiB here (MIB_QUOTA_UNIT): 600 KiB images fill it.
    let local = LocalVcr::start_with_mib_quotas();
    let ws = Workspace::against(&local);
    ws.write_config(RESOURCES);
    ws.apply();
    let repo_id = ws.state().expect("vcr_repository.app")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let region = support::images::region(&local, Region::Hcm);
    local.controls().advance_clock(-30 * DAY);
    local.block_on(region.push_image_tagged(&repo_id, "old", "v1", 600));
    local.controls().advance_clock(30 * DAY);

    let refused = local.block_on(async {
        let reg = pusher(&local, &ws);
        let token = reg.token("new").await;
        registry_support::push_streamed_blob(&reg.host, &token, &reg.name("new"), "new", 600 << 10)
            .await
    });
    let (status, body) = refused.expect_err("600 KiB more than the 1 MiB quota allows");
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("Quota exceeded"), "{body}");

    let config = format!(
        r#"{RESOURCES}
resource "vcr_retention_policy" "app" {{
  repository_id = vcr_repository.app.id
  rule {{
    keep_pushed_within_days = 7
  }}
}}
"#
    );
    ws.write_config(&config);
    ws.apply();
    ws.apply();
    ws.must(&[
        "apply",
        "-refresh-only",
        "-auto-approve",
        "-no-color",
        "-input=false",
    ]);
    let repo = ws.state().expect("vcr_repository.app").clone();
    assert_eq!(repo["quota_used_gb"].as_f64(), Some(0.0), "{repo}");
    assert_eq!(
        repo["image_count"].as_u64(),
        Some(0),
        "the emptied image went too"
    );

    local.block_on(region.push_image_tagged(&repo_id, "new", "v1", 600));
    ws.must(&[
        "apply",
        "-refresh-only",
        "-auto-approve",
        "-no-color",
        "-input=false",
    ]);
    let used = ws.state().expect("vcr_repository.app")["quota_used_gb"]
        .as_f64()
        .unwrap();
    assert!(used > 0.5, "{used}");
    ws.assert_no_changes();
    ws.destroy();
}

// ------------------------------------------------------------------------------------
// The vcr_image_cleanup action (Terraform 1.14+): the same rules, run now.

const CLEANUP_RULES: &str = r#"
    rule {
      images           = ["web"]
      tags             = ["v*"]
      keep_last_pushed = 2
    }"#;

fn cleanup_action(name: &str, dry_run: bool) -> String {
    format!(
        r#"
action "vcr_image_cleanup" "{name}" {{
  config {{
    repository_ids = [vcr_repository.app.id]
    dry_run        = {dry_run}
{CLEANUP_RULES}
  }}
}}
"#
    )
}

/// Applies the repository and its CI user; answers how to push there, and its id.
fn applied_repository(local: &LocalVcr, ws: &Workspace) -> (Pusher, String) {
    ws.write_config(RESOURCES);
    ws.apply();
    let repo_id = ws.state().expect("vcr_repository.app")["id"]
        .as_str()
        .unwrap()
        .to_string();
    (pusher(local, ws), repo_id)
}

fn newest_workspace(local: &LocalVcr) -> Workspace {
    use support::terraform::NEWEST_AVAILABLE;
    Workspace::against(local).with_terraform(support::Terraform::version(NEWEST_AVAILABLE))
}

/// Pushes web:v1..v{n} (in that order) and api:v1; answers web's digests.
fn push_releases(local: &LocalVcr, reg: &Pusher, n: usize) -> Vec<String> {
    let web = (1..=n)
        .map(|i| local.block_on(reg.push_image("web", &format!("v{i}"), &format!("web {i}"))))
        .collect();
    local.block_on(reg.push_image("api", "v1", "api 1"));
    web
}

#[test]
fn the_cleanup_action_deletes_exactly_what_its_dry_run_lists() {
    let local = LocalVcr::start();
    let ws = newest_workspace(&local);
    let (reg, repo_id) = applied_repository(&local, &ws);
    let web = push_releases(&local, &reg, 6);
    let before = held(&local, &repo_id);
    ws.write_config(&format!(
        "{RESOURCES}{}{}",
        cleanup_action("dry", true),
        cleanup_action("now", false)
    ));

    let dry = ws.invoke("action.vcr_image_cleanup.dry");
    assert!(dry.success(), "{}", dry.output());
    let listed: BTreeSet<String> = dry
        .output()
        .split_whitespace()
        .collect::<Vec<_>>()
        .windows(3)
        .filter(|w| w[0] == "would" && w[1] == "delete")
        .map(|w| w[2].to_string())
        .collect();
    let expected: BTreeSet<String> = web[..4].iter().map(|d| format!("web@{d}")).collect();
    assert_eq!(listed, expected, "{}", dry.output());
    assert!(
        dry.said().contains("nothing was deleted"),
        "{}",
        dry.output()
    );
    assert_eq!(held(&local, &repo_id), before, "a dry run deletes nothing");

    let now = ws.invoke("action.vcr_image_cleanup.now");
    assert!(now.success(), "{}", now.output());
    assert!(
        now.said().contains("deleted 4/4 from retain-app"),
        "{}",
        now.output()
    );
    let after = held(&local, &repo_id);
    assert_eq!(
        after,
        before.difference(&listed).cloned().collect::<BTreeSet<_>>(),
        "exactly what the dry run listed"
    );
    assert!(
        after.iter().any(|a| a.starts_with("api@")),
        "api: no rule selects it"
    );
    // Actions write no state: the plan is still empty.
    ws.assert_no_changes();
}

/// As an `action_trigger`, the cleanup runs after a policy's update (whose own apply
/// deletes nothing when its rules change).
#[test]
fn the_cleanup_action_runs_after_a_policy_update() {
    let local = LocalVcr::start();
    let ws = newest_workspace(&local);
    let (reg, repo_id) = applied_repository(&local, &ws);
    let web = push_releases(&local, &reg, 4);
    let config = |keep: u32| {
        format!(
            r#"{RESOURCES}{}
resource "vcr_retention_policy" "app" {{
  repository_id = vcr_repository.app.id
  enabled       = false
  rule {{
    images           = ["web"]
    keep_last_pushed = {keep}
  }}
  lifecycle {{
    action_trigger {{
      events  = [after_update]
      actions = [action.vcr_image_cleanup.now]
    }}
  }}
}}
"#,
            cleanup_action("now", false)
        )
    };
    ws.write_config(&config(3));
    ws.apply();
    assert_eq!(held(&local, &repo_id).len(), 5, "a create triggers nothing");
    ws.write_config(&config(2));
    let run = ws.apply();
    assert!(
        run.said().contains("deleted 2/2 from retain-app"),
        "{}",
        run.output()
    );
    let after = held(&local, &repo_id);
    for d in &web[..4 - 2] {
        assert!(
            !after.contains(&format!("web@{d}")),
            "{d} was deleted by the action"
        );
    }
    for d in &web[4 - 2..] {
        assert!(after.contains(&format!("web@{d}")), "{d} is kept");
    }
}

/// Terraform's interrupt during a long cleanup stops it between two batches, saying what
/// was deleted; the rest stays.
#[test]
fn the_cleanup_action_stops_at_terraform_s_interrupt() {
    use std::time::{Duration, Instant};
    use support::controls::Fault;
    let local = LocalVcr::start();
    let ws = newest_workspace(&local);
    let (reg, repo_id) = applied_repository(&local, &ws);
    push_releases(&local, &reg, 82);
    // One delete at a time, each slowed: 80 deletes are two batches of 40 and more.
    ws.write_config(&format!(
        "provider \"vcr\" {{\n  max_parallel_requests = 1\n}}\n{RESOURCES}{}",
        cleanup_action("slow", false)
    ));
    let controls = local.controls();
    controls.add_fault(
        &Fault::delay("/hcm/v1/repository/*/images/artifacts/delete", 200).method("DELETE"),
    );
    let child = ws.spawn(&[
        "apply",
        "-auto-approve",
        "-input=false",
        "-no-color",
        "-refresh=false",
        "-invoke=action.vcr_image_cleanup.slow",
    ]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while controls.faults()[0].hits < 3 {
        assert!(Instant::now() < deadline, "the action never deleted");
        std::thread::sleep(Duration::from_millis(50));
    }
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let run =
        support::terraform::Run::from(&["apply", "-invoke"], child.wait_with_output().unwrap());
    assert!(!run.success(), "{}", run.output());
    let said = run.said();
    assert!(said.contains("Action interrupted"), "{said}");
    assert!(said.contains("Done before stopping: deleted"), "{said}");
    controls.clear_faults();
    let left = held(&local, &repo_id)
        .iter()
        .filter(|a| a.starts_with("web@"))
        .count();
    assert!(left > 2 && left < 82, "some deleted, not all: {left} left");
}
