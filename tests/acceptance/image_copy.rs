//! `vcr_image_copy` with a real terraform against vcr-local: images really pushed to
//! a staging repository, promoted to `prod` in HCM and replicated to HAN by the
//! provider itself (no Docker, no registry password in the configuration).
//!
//! - the promotion mounts every blob (vcr-local's counters: no upload request in HCM);
//!   the replication streams them (uploads in HAN, in more than one chunk);
//! - digests and tags in both regions, as the images API lists them; `image_uri`;
//! - no short-lived user is left behind, and neither the state nor a `TF_LOG=trace`
//!   run holds a token or a password; the next plan is empty;
//! - a tag moved outside Terraform is drift, and the apply puts it back; a changed
//!   source moves the tags (an update, not a replacement);
//! - `delete_on_destroy` both ways;
//! - a multi-platform index is copied whole and `skopeo` pulls each platform in HAN;
//! - a copy that fails midway (a fault in HAN's registry) leaves no user behind, no
//!   state, and the next apply finishes it;
//! - a source without a digest fails at validate, naming `source`.

use crate::support;

use std::collections::BTreeSet;
use std::process::Command;

use serde_json::Value;
use support::controls::Fault;
use support::images::Pusher;
use support::local::LocalVcr;
use support::plan::Action;
use support::workspace::PLAN_FILE;
use support::Workspace;
use vcr_provider::vcr::{Permission, Region};

const REPOSITORIES: &str = r#"
resource "vcr_repository" "staging" {
  name           = "copy-staging"
  quota_limit_gb = 1
  force_destroy  = true
}
resource "vcr_repository" "prod" {
  name           = "copy-prod"
  quota_limit_gb = 1
  force_destroy  = true
}
resource "vcr_repository" "prod_han" {
  name           = "copy-prod"
  region         = "HAN"
  quota_limit_gb = 1
  force_destroy  = true
}
"#;

/// The copies: `tag` of `web` in staging, promoted in HCM then replicated to HAN
/// from the promoted copy; and a scratch copy that deletes itself on destroy.
fn copies(tag: &str, scratch: bool) -> String {
    let scratch = if scratch {
        r#"
resource "vcr_image_copy" "scratch" {
  source            = data.vcr_image.web.image_uri
  repository_id     = vcr_repository.prod.id
  image             = "web-scratch"
  tags              = ["tmp"]
  delete_on_destroy = true
}
"#
    } else {
        ""
    };
    format!(
        r#"{REPOSITORIES}
data "vcr_image" "web" {{
  repository_id = vcr_repository.staging.id
  name          = "web"
  tag           = "{tag}"
}}
resource "vcr_image_copy" "promote" {{
  source        = data.vcr_image.web.image_uri
  repository_id = vcr_repository.prod.id
  tags          = ["1.4.2", "prod"]
}}
resource "vcr_image_copy" "han" {{
  source        = vcr_image_copy.promote.image_uri
  repository_id = vcr_repository.prod_han.id
  tags          = ["1.4.2", "prod"]
}}
{scratch}"#
    )
}

/// Each artifact of an image (by digest) with its tags, per the images API.
fn artifacts(
    local: &LocalVcr,
    region: Region,
    repo_id: &str,
    image: &str,
) -> Vec<(String, BTreeSet<String>)> {
    let client = local.client();
    local.block_on(async {
        match client
            .repositories(region)
            .list_artifacts(repo_id, image, None)
            .await
        {
            Ok(list) => list
                .into_iter()
                .map(|a| (a.digest, a.tags.into_iter().collect()))
                .collect(),
            Err(e) if e.is_not_found() => Vec::new(),
            Err(e) => panic!("artifacts of {image}: {e}"),
        }
    })
}

/// The tags on `digest`, if the image has that artifact.
fn tags_on(
    local: &LocalVcr,
    region: Region,
    repo_id: &str,
    image: &str,
    digest: &str,
) -> Option<BTreeSet<String>> {
    artifacts(local, region, repo_id, image)
        .into_iter()
        .find(|(d, _)| d == digest)
        .map(|(_, tags)| tags)
}

fn set(tags: &[&str]) -> BTreeSet<String> {
    tags.iter().map(|t| t.to_string()).collect()
}

/// The short-lived users a copy makes that still exist, in both regions.
fn copy_users(local: &LocalVcr) -> Vec<String> {
    Region::ALL
        .into_iter()
        .flat_map(|r| local.user_names(r))
        .filter(|n| n.starts_with("tf-copy-"))
        .collect()
}

/// Credential-shaped text: a JWT (registry and IAM tokens are) or an HTTP
/// `Authorization` value.
fn credential_shapes(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for marker in ["eyJ", "Bearer ", "Basic "] {
        for (at, _) in text.match_indices(marker) {
            let end = (at + 60).min(text.len());
            found.push(text[at..end].to_string());
        }
    }
    found
}

fn id_of(ws: &Workspace, address: &str) -> String {
    ws.state().expect(address)["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A user made in the portal with one permission: its login and secret.
fn portal_user(
    local: &LocalVcr,
    region: Region,
    name: &str,
    repo_id: &str,
    permission: Permission,
) -> (String, String) {
    let user = local.make_user(region, name, &[(repo_id, permission)], None, Some(1));
    let users = local.client();
    let secret = local
        .block_on(users.users(region).refresh_secret(&user.uuid))
        .unwrap_or_else(|e| panic!("the secret of {name}: {e}"));
    (user.backend_name, secret.expose().to_string())
}

/// Pushes `web:<tag>` (a layer of `size_mb` MiB) to the staging repository; its digest.
fn push_staging(local: &LocalVcr, staging_id: &str, tag: &str, size_mb: u64) -> String {
    let repo = support::images::region(local, Region::Hcm);
    local.block_on(repo.push_image_tagged(staging_id, "web", tag, size_mb << 10));
    let found = artifacts(local, Region::Hcm, staging_id, "web");
    found
        .into_iter()
        .find(|(_, tags)| tags.contains(tag))
        .unwrap_or_else(|| panic!("web:{tag} was pushed"))
        .0
}

#[test]
fn promotes_by_mount_replicates_by_stream_and_keeps_the_tags_in_place() {
    let local = LocalVcr::start();
    let mut ws = Workspace::against(&local);
    ws.write_config(REPOSITORIES);
    ws.apply();
    let (staging, prod, prod_han) = (
        id_of(&ws, "vcr_repository.staging"),
        id_of(&ws, "vcr_repository.prod"),
        id_of(&ws, "vcr_repository.prod_han"),
    );
    // 40 MiB: more than one 32 MiB chunk when streamed.
    let first = push_staging(&local, &staging, "sha-1", 40);

    ws.write_config(&copies("sha-1", true));
    local.controls().reset_requests();
    ws.set_env("TF_LOG", "trace");
    let run = ws.apply();
    let trace = run.output();
    ws.set_env("TF_LOG", "");

    let state = ws.state();
    let promote = state.expect("vcr_image_copy.promote");
    let han = state.expect("vcr_image_copy.han");
    let (hcm_host, han_host) = (
        &local.settings["VCR_REGISTRY_HCM"],
        &local.settings["VCR_REGISTRY_HAN"],
    );
    let backend = |addr: &str| {
        state.expect(addr)["backend_name"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(promote["digest"], Value::from(first.clone()));
    assert_eq!(han["digest"], Value::from(first.clone()));
    assert_eq!(promote["region"], "HCM");
    assert_eq!(
        han["region"], "HAN",
        "found in the other region without being told"
    );
    assert_eq!(
        promote["image_uri"].as_str().unwrap(),
        format!("{hcm_host}/{}/web@{first}", backend("vcr_repository.prod"))
    );
    assert_eq!(
        han["image_uri"].as_str().unwrap(),
        format!(
            "{han_host}/{}/web@{first}",
            backend("vcr_repository.prod_han")
        )
    );
    assert_eq!(
        tags_on(&local, Region::Hcm, &prod, "web", &first),
        Some(set(&["1.4.2", "prod"]))
    );
    assert_eq!(
        tags_on(&local, Region::Han, &prod_han, "web", &first),
        Some(set(&["1.4.2", "prod"]))
    );

    // HCM: every blob mounted, nothing uploaded; HAN: streamed, in chunks.
    let counts = local.controls().requests();
    let uploads = "/v2/{name}/blobs/uploads/{uuid}";
    assert!(
        counts.on("registry-hcm", "PATCH", uploads).is_empty(),
        "no bytes uploaded in HCM: {:?}",
        counts.on("registry-hcm", "PATCH", uploads)
    );
    assert!(counts.on("registry-hcm", "PUT", uploads).is_empty());
    let mounts = counts.on("registry-hcm", "POST", "/v2/{name}/blobs/uploads/");
    // Layer and config, for `promote` and for `scratch`; the two run at once into one
    // repository, so the second may find a blob the first has mounted already.
    let mounted = mounts.get("201").copied().unwrap_or_default();
    assert!((2..=4).contains(&mounted), "both blobs mounted: {mounts:?}");
    assert_eq!(mounts.len(), 1, "every mount succeeded: {mounts:?}");
    let patches = counts.on("registry-han", "PATCH", uploads);
    assert_eq!(
        patches.get("202"),
        Some(&3),
        "40 MiB in two chunks and the config in one: {patches:?}"
    );
    assert_eq!(
        counts.on("registry-han", "PUT", uploads).get("201"),
        Some(&2)
    );

    // Nothing left behind, nothing to leak.
    assert_eq!(copy_users(&local), Vec::<String>::new());
    assert!(trace.contains("vcr_image_copy"), "the trace ran the copies");
    assert_eq!(
        credential_shapes(&trace),
        Vec::<String>::new(),
        "TF_LOG=trace shows no token or password"
    );
    assert_eq!(credential_shapes(&ws.state_text()), Vec::<String>::new());
    ws.assert_no_changes();

    // A tag moved outside Terraform is drift, and the apply puts it back.
    local.block_on(
        support::images::region(&local, Region::Hcm).push_image_tagged(&prod, "web", "prod", 1024),
    );
    assert_eq!(
        tags_on(&local, Region::Hcm, &prod, "web", &first),
        Some(set(&["1.4.2"]))
    );
    ws.must(&[
        "plan",
        &format!("-out={PLAN_FILE}"),
        "-no-color",
        "-input=false",
    ]);
    let plan = ws.show_plan();
    assert_eq!(
        plan.action("vcr_image_copy.promote"),
        Action::Update,
        "{}",
        plan.summary()
    );
    assert_eq!(
        plan.action("vcr_image_copy.han"),
        Action::NoOp,
        "{}",
        plan.summary()
    );
    ws.apply();
    assert_eq!(
        tags_on(&local, Region::Hcm, &prod, "web", &first),
        Some(set(&["1.4.2", "prod"]))
    );
    ws.assert_no_changes();

    // A new source moves the tags in both regions: updates, not replacements.
    let second = push_staging(&local, &staging, "sha-2", 2);
    ws.write_config(&copies("sha-2", true));
    ws.must(&[
        "plan",
        &format!("-out={PLAN_FILE}"),
        "-no-color",
        "-input=false",
    ]);
    let plan = ws.show_plan();
    for address in [
        "vcr_image_copy.promote",
        "vcr_image_copy.han",
        "vcr_image_copy.scratch",
    ] {
        assert_eq!(
            plan.action(address),
            Action::Update,
            "{address}: {}",
            plan.summary()
        );
    }
    // The reviewer sees the new digest in both regions, and where it lands.
    let han_plan = plan.get("vcr_image_copy.han").unwrap();
    assert_eq!(
        han_plan.after["digest"],
        Value::from(second.clone()),
        "{:?}",
        han_plan.after_unknown
    );
    let promote_plan = plan.get("vcr_image_copy.promote").unwrap();
    assert_eq!(
        promote_plan.after["image_uri"],
        Value::from(format!(
            "{hcm_host}/{}/web@{second}",
            backend("vcr_repository.prod")
        ))
    );
    ws.apply();
    for (region, repo) in [(Region::Hcm, &prod), (Region::Han, &prod_han)] {
        assert_eq!(
            tags_on(&local, region, repo, "web", &second),
            Some(set(&["1.4.2", "prod"])),
            "{region}"
        );
        assert_eq!(
            tags_on(&local, region, repo, "web", &first),
            Some(set(&[])),
            "{region}: the old digest stays, untagged"
        );
    }
    assert_eq!(
        ws.state().expect("vcr_image_copy.han")["digest"],
        Value::from(second.clone())
    );
    ws.assert_no_changes();

    // Renaming the promoted image replaces that copy; the chained copy keeps its own
    // name (the default is taken when a copy is made) and applies in the same run.
    let renamed = copies("sha-2", true).replace(
        "  tags          = [\"1.4.2\", \"prod\"]\n}\nresource \"vcr_image_copy\" \"han\"",
        "  image         = \"web-b\"\n  tags          = [\"1.4.2\", \"prod\"]\n}\nresource \"vcr_image_copy\" \"han\"",
    );
    assert!(renamed.contains("\"web-b\""), "{renamed}");
    ws.write_config(&renamed);
    ws.apply();
    let state = ws.state();
    assert_eq!(state.expect("vcr_image_copy.promote")["image"], "web-b");
    assert_eq!(state.expect("vcr_image_copy.han")["image"], "web");
    assert_eq!(
        tags_on(&local, Region::Hcm, &prod, "web-b", &second),
        Some(set(&["1.4.2", "prod"]))
    );
    ws.assert_no_changes();
    ws.write_config(&copies("sha-2", true));
    ws.apply();

    // Destroy: by default the copies stay; with delete_on_destroy the artifact goes.
    assert!(tags_on(&local, Region::Hcm, &prod, "web-scratch", &second).is_some());
    ws.write_config(&format!("{REPOSITORIES}\n"));
    ws.apply();
    assert_eq!(
        tags_on(&local, Region::Hcm, &prod, "web", &second),
        Some(set(&["1.4.2", "prod"]))
    );
    assert_eq!(
        tags_on(&local, Region::Han, &prod_han, "web", &second),
        Some(set(&["1.4.2", "prod"]))
    );
    assert_eq!(
        tags_on(&local, Region::Hcm, &prod, "web-scratch", &second),
        None,
        "delete_on_destroy deleted it"
    );
    assert_eq!(copy_users(&local), Vec::<String>::new());
}

#[test]
fn a_multi_platform_index_is_copied_whole_and_each_platform_pulls_in_han() {
    let local = LocalVcr::start();
    let staging = local.make_repository(Region::Hcm, "multi-staging", 1, false);
    let dest = local.make_repository(Region::Han, "multi-prod", 1, false);
    let (login, secret) = portal_user(
        &local,
        Region::Hcm,
        "multi-ci",
        &staging.uuid,
        Permission::PushPull,
    );
    let pusher = Pusher {
        host: local.settings["VCR_REGISTRY_HCM"].clone(),
        repo: staging.backend_name.clone(),
        login,
        secret,
    };
    let (index, children) = local.block_on(pusher.push_index("tools/multi", "v1", "multi"));

    let ws = Workspace::against(&local);
    ws.write_config(&format!(
        r#"
resource "vcr_image_copy" "multi" {{
  source        = "{}/{}/tools/multi:v1@{index}"
  repository_id = "{}"
  region        = "HAN"
  tags          = ["v1", "stable"]
}}
"#,
        pusher.host, staging.backend_name, dest.uuid
    ));
    ws.apply();
    assert_eq!(
        tags_on(&local, Region::Han, &dest.uuid, "tools/multi", &index),
        Some(set(&["v1", "stable"]))
    );
    assert_eq!(copy_users(&local), Vec::<String>::new());
    ws.assert_no_changes();

    // skopeo, as a puller in HAN, reads the index and copies each platform out.
    let (puller, pull_secret) = portal_user(
        &local,
        Region::Han,
        "multi-pull",
        &dest.uuid,
        Permission::PullOnly,
    );
    let creds = format!("{puller}:{pull_secret}");
    let image = format!(
        "docker://{}/{}/tools/multi:stable",
        local.settings["VCR_REGISTRY_HAN"], dest.backend_name
    );
    let skopeo = |args: &[&str]| {
        let out = Command::new("skopeo")
            .args(args)
            .output()
            .expect("skopeo runs (make test installs it)");
        assert!(
            out.status.success(),
            "skopeo {:?}: {}",
            args.first(),
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let raw: Value = serde_json::from_slice(&skopeo(&[
        "inspect",
        "--tls-verify=false",
        "--creds",
        &creds,
        "--raw",
        &image,
    ]))
    .unwrap();
    let listed: Vec<&str> = raw["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["digest"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed,
        children.iter().map(String::as_str).collect::<Vec<_>>()
    );
    let dir = tempfile::tempdir().unwrap();
    for arch in ["amd64", "arm64"] {
        let layout = format!("oci:{}:{arch}", dir.path().join(arch).display());
        skopeo(&[
            "copy",
            "--src-tls-verify=false",
            "--src-creds",
            &creds,
            "--override-arch",
            arch,
            "--override-os",
            "linux",
            &image,
            &layout,
        ]);
        let copied: Value =
            serde_json::from_slice(&skopeo(&["inspect", "--raw", &layout])).unwrap();
        assert_eq!(
            copied["layers"].as_array().map(Vec::len),
            Some(1),
            "{arch}: {copied}"
        );
    }
}

#[test]
fn a_copy_that_fails_midway_leaves_no_user_and_the_next_apply_finishes_it() {
    let local = LocalVcr::start();
    let staging = local.make_repository(Region::Hcm, "fail-staging", 1, false);
    let dest = local.make_repository(Region::Han, "fail-prod", 1, false);
    let digest = push_staging(&local, &staging.uuid, "sha-9", 3);
    let source = format!(
        "{}/{}/web@{digest}",
        local.settings["VCR_REGISTRY_HCM"], staging.backend_name
    );
    let ws = Workspace::against(&local);

    // A tag alone is refused at validate, naming the attribute.
    ws.write_config(&format!(
        "resource \"vcr_image_copy\" \"web\" {{\n  source = \"{}/{}/web:sha-9\"\n  repository_id = \"{}\"\n  tags = [\"prod\"]\n}}\n",
        local.settings["VCR_REGISTRY_HCM"], staging.backend_name, dest.uuid
    ));
    let validated = ws.validate_json();
    assert_eq!(validated["valid"], false, "{validated}");
    let diag = &validated["diagnostics"][0];
    assert!(
        diag["summary"].as_str().unwrap().contains("\"source\""),
        "{validated}"
    );
    assert!(
        diag["detail"]
            .as_str()
            .unwrap()
            .contains("must be pinned by digest"),
        "{validated}"
    );

    ws.write_config(&format!(
        "resource \"vcr_image_copy\" \"web\" {{\n  source = \"{source}\"\n  repository_id = \"{}\"\n  tags = [\"prod\"]\n}}\n",
        dest.uuid
    ));
    // vCR refuses the destination's user: the error names the repository and the
    // permission, and the source's user, made first, is deleted.
    local.controls().add_fault(
        &Fault::status("/han/v1/user", 403)
            .method("POST")
            .message("not allowed"),
    );
    let refused = ws.run(&["apply", "-auto-approve", "-json", "-input=false"]);
    assert_ne!(refused.code, 0, "{}", refused.output());
    assert!(
        refused.diagnostics().iter().any(|d| d.severity == "error"
            && d.summary == "vcr_image_copy needs registry access in HAN"
            && d.detail.contains("push on repository \"fail-prod\"")),
        "{}",
        refused.output()
    );
    assert_eq!(copy_users(&local), Vec::<String>::new());
    local.controls().clear_faults();

    // The layer's upload into HAN fails.
    local.controls().add_fault(
        &Fault::status("/v2/*/blobs/uploads/*", 500)
            .method("PATCH")
            .on_listener("registry-han"),
    );
    let failed = ws.run(&["apply", "-auto-approve", "-json", "-input=false"]);
    assert_ne!(failed.code, 0, "the copy failed: {}", failed.output());
    assert!(
        local.controls().status_fault_hits() >= 1,
        "the fault was hit"
    );
    assert!(
        failed
            .diagnostics()
            .iter()
            .any(|d| d.severity == "error" && d.summary.starts_with("Could not copy ")),
        "{}",
        failed.output()
    );
    assert_eq!(
        copy_users(&local),
        Vec::<String>::new(),
        "the users were deleted after the failure"
    );
    assert!(
        ws.state().get("vcr_image_copy.web").is_none(),
        "nothing in state"
    );
    assert_eq!(
        tags_on(&local, Region::Han, &dest.uuid, "web", &digest),
        None
    );

    local.controls().clear_faults();
    ws.apply();
    assert_eq!(
        tags_on(&local, Region::Han, &dest.uuid, "web", &digest),
        Some(set(&["prod"]))
    );
    assert_eq!(copy_users(&local), Vec::<String>::new());
    ws.assert_no_changes();

    // Found at plan, naming the attribute: a region the repository is not in (an
    // error), and a digest the source image lacks (a warning, below: another copy of
    // the same run may make it, as the chained copies above do).
    let copy = |source: &str, extra: &str| {
        format!(
            "resource \"vcr_image_copy\" \"web\" {{\n  source = \"{source}\"\n  repository_id = \"{}\"\n  tags = [\"prod\"]\n{extra}}}\n",
            dest.uuid
        )
    };
    let error_of = |hcl: &str| {
        ws.write_config(hcl);
        let planned = ws.plan_json();
        assert_ne!(planned.code, 0, "{}", planned.output());
        planned
            .diagnostics()
            .into_iter()
            .find(|d| d.severity == "error")
            .unwrap_or_else(|| panic!("an error: {}", planned.output()))
    };
    let d = error_of(&copy(&source, "  region = \"HCM\"\n"));
    assert!(
        d.summary.contains("\"region\"") && d.detail.contains("is in HAN"),
        "{d:?}"
    );

    // Said at plan: a tag dropped from `tags` stays on the image; a new copy moves a
    // tag that names another artifact now.
    let warnings_of = |hcl: &str| {
        ws.write_config(hcl);
        let planned = ws.plan_json();
        assert_eq!(planned.code, 0, "{}", planned.output());
        planned
            .diagnostics()
            .into_iter()
            .filter(|d| {
                d.severity == "warning" && !d.summary.starts_with("Provider development overrides")
            })
            .map(|d| d.summary)
            .collect::<Vec<_>>()
    };
    let absent = format!("sha256:{}", "0".repeat(64));
    assert_eq!(
        warnings_of(&copy(&source.replace(&digest, &absent), "")),
        ["The source of this copy is not in vCR"]
    );
    let retagged = copy(&source, "").replace("[\"prod\"]", "[\"stable\"]");
    assert_eq!(
        warnings_of(&retagged),
        ["Tags removed from vcr_image_copy's tags stay on the image"]
    );
    let other = push_staging(&local, &staging.uuid, "sha-10", 1);
    let taking = format!(
        "{}{}",
        copy(&source, ""),
        copy(&source.replace(&digest, &other), "").replace("\"web\" {", "\"taker\" {")
    );
    let warned = warnings_of(&taking);
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert!(
        warned[0].starts_with("The copy moves tags of \"web\""),
        "{warned:?}"
    );

    // delete_on_destroy keeps an artifact that carries tags the copy does not manage.
    ws.write_config(&format!(
        "{}{}",
        copy(&source, ""),
        copy(&source, "  delete_on_destroy = true\n")
            .replace("\"web\" {", "\"canary\" {")
            .replace("[\"prod\"]", "[\"canary\"]")
    ));
    ws.apply();
    assert_eq!(
        tags_on(&local, Region::Han, &dest.uuid, "web", &digest),
        Some(set(&["canary", "prod"]))
    );
    ws.write_config(&copy(&source, ""));
    let removed = ws.must(&["apply", "-auto-approve", "-json", "-input=false"]);
    assert!(
        removed.diagnostics().iter().any(|d| d.severity == "warning"
            && d.summary == "The copied artifact stays: other tags name it"),
        "{}",
        removed.output()
    );
    assert_eq!(
        tags_on(&local, Region::Han, &dest.uuid, "web", &digest),
        Some(set(&["canary", "prod"]))
    );
    assert!(ws.state().get("vcr_image_copy.canary").is_none());
    ws.assert_no_changes();
}
