//! Every example under `examples/` is valid for a real Terraform, and the quickstart
//! applies against `vcr-local`, plans empty, and destroys to nothing (a scenario of
//! steps, see `support::steps`); after CI pushes, its `release_tag` pins the image by
//! digest. Examples of what only newer Terraform reads (import blocks by identity,
//! `.tfquery.hcl` files, actions) are validated by the newest.

use crate::support;

use std::path::Path;

use oci_client::client::{Config, ImageLayer};
use oci_client::manifest::IMAGE_LAYER_MEDIA_TYPE;
use oci_client::secrets::RegistryAuth;
use oci_client::Reference;
use support::local::LocalVcr;
use support::terraform::NEWEST_AVAILABLE;
use support::{Action, Scenario, Step, Terraform, Workspace};
use vcr_provider::vcr::Region;

fn example_dirs() -> Vec<std::path::PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut dirs = Vec::new();
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        let mut has_tf = false;
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if is_example_file(&path) {
                has_tf = true;
            }
        }
        if has_tf {
            dirs.push(dir);
        }
    }
    dirs.sort();
    dirs
}

/// A Terraform file or a query file.
fn is_example_file(path: &Path) -> bool {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    name.ends_with(".tf") || name.ends_with(".tfquery.hcl")
}

/// Files only Terraform 1.12+ (import blocks by identity) or 1.14+ (queries,
/// actions) reads.
fn needs_newer_terraform(path: &Path) -> bool {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    name == "import-by-identity.tf" || name == "action.tf" || name.ends_with(".tfquery.hcl")
}

/// Copies an example's files (those `wanted`) into a workspace, adding
/// `required_providers` where the example leaves it out (the registry's snippets do);
/// how many it copied.
fn load(ws: &Workspace, dir: &Path, wanted: impl Fn(&Path) -> bool) -> usize {
    let mut copied = 0;
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if is_example_file(&path) && wanted(&path) {
            copied += 1;
            let text = std::fs::read_to_string(&path).unwrap();
            let name = path.file_name().unwrap().to_str().unwrap();
            if text.contains("required_providers") {
                ws.write_file(name, &text);
            } else {
                ws.write_file(name, &text);
                ws.write_file(
                    "versions.tf",
                    "terraform {\n  required_providers {\n    vcr = { source = \"vngcloud/vcr\" }\n  }\n}\n",
                );
            }
        }
    }
    copied
}

#[test]
fn every_example_validates() {
    let dirs = example_dirs();
    assert!(dirs.len() >= 10, "examples found: {dirs:?}");
    for dir in dirs {
        let ws = Workspace::new();
        if load(&ws, &dir, |p| !needs_newer_terraform(p)) == 0 {
            continue;
        }
        let run = ws.validate();
        assert!(
            run.success(),
            "{} does not validate:\n{}",
            dir.display(),
            run.output()
        );
    }
}

/// Every example, queries included, with the newest Terraform: `validate -query`
/// checks the list blocks against the list resources' schemas and rules.
#[test]
fn every_example_validates_on_the_newest_terraform_queries_included() {
    let newest = Terraform::version(NEWEST_AVAILABLE);
    let mut newer_only = 0;
    for dir in example_dirs() {
        let ws = Workspace::new().with_terraform(newest);
        load(&ws, &dir, |_| true);
        newer_only += std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .filter(|e| needs_newer_terraform(&e.path()))
            .count();
        let run = ws.run(&["validate", "-no-color", "-query"]);
        assert!(
            run.success(),
            "{} does not validate with Terraform {NEWEST_AVAILABLE}:\n{}",
            dir.display(),
            run.output()
        );
    }
    assert_eq!(
        newer_only, 6,
        "two import-by-identity.tf, two list-resource.tfquery.hcl and two action.tf"
    );
}

#[test]
fn quickstart_applies_plans_empty_and_destroys() {
    let local = LocalVcr::start();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart");
    let module = std::fs::read_to_string(dir.join("main.tf")).unwrap();
    let tf_files = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "tf"))
        .count();
    assert_eq!(tf_files, 1, "the quickstart is one main.tf");
    Scenario::new(&local)
        .step(
            Step::apply_as_is(module)
                .expect_all(Action::Create)
                .check(|ctx| {
                    let out = ctx.outputs();
                    let login = out["ci_docker_login"]["value"].as_str().unwrap();
                    // The registry hosts follow VCR_REGISTRY_*: vcr-local's own.
                    let hcm = &local.settings["VCR_REGISTRY_HCM"];
                    let han = &local.settings["VCR_REGISTRY_HAN"];
                    assert!(
                        login.contains(&format!("docker login {hcm} -u "))
                            && login.contains("-quick-ci"),
                        "{login}"
                    );
                    let push = out["ci_docker_push"]["value"].as_str().unwrap();
                    assert!(
                        push.contains(&format!("docker push {hcm}/"))
                            && push.contains("-quickstart-app/my-app:1.0"),
                        "{push}"
                    );
                    assert!(out["mirror_docker_pull"]["value"]
                        .as_str()
                        .unwrap()
                        .starts_with(&format!("docker pull {han}/")));
                    assert_eq!(out["ci_secret"]["sensitive"], true);
                    assert_eq!(local.repository_names(Region::Hcm), vec!["quickstart-app"]);
                    assert_eq!(
                        local.repository_names(Region::Han),
                        vec!["quickstart-mirror"]
                    );
                    assert_eq!(
                        local.user_names(Region::Hcm),
                        vec!["quick-ci", "quick-deploy"]
                    );
                    assert_eq!(out["release_image"]["value"], serde_json::Value::Null);
                }),
        )
        .step(
            Step::reapply()
                .named(
                    "CI pushes hello:1.0; release_tag pins it by digest and replicates it to HAN",
                )
                .pre(push_hello)
                .env("TF_VAR_release_tag", "1.0")
                .expect("vcr_image_copy.release_han[0]", Action::Create)
                .expect("vcr_repository.app", Action::NoOp)
                .check(|ctx| {
                    let registry_url = ctx.attr("vcr_repository.app", "registry_url");
                    let digest = ctx.attr("data.vcr_image.release[0]", "digest");
                    assert!(digest.starts_with("sha256:"), "{digest}");
                    assert_eq!(
                        ctx.outputs()["release_image"]["value"],
                        format!("{registry_url}/hello@{digest}").as_str()
                    );
                    // The deploy user pulls exactly that.
                    let pinned: Reference = ctx.outputs()["release_image"]["value"]
                        .as_str()
                        .unwrap()
                        .parse()
                        .unwrap();
                    let deploy = RegistryAuth::Basic(
                        ctx.attr("vcr_repository_user.deploy", "backend_name"),
                        ctx.attr("vcr_repository_user.deploy", "secret"),
                    );
                    let pulled = ctx
                        .local
                        .block_on(oci().pull(&pinned, &deploy, vec![IMAGE_LAYER_MEDIA_TYPE]))
                        .unwrap();
                    assert_eq!(pulled.layers[0].data.as_ref(), b"hello from the quickstart");
                    assert_eq!(pulled.digest.as_deref(), Some(digest.as_str()));
                    // Anyone pulls the same digest from the public mirror in HAN.
                    let mirror_url = ctx.attr("vcr_repository.mirror", "registry_url");
                    assert_eq!(
                        ctx.outputs()["release_image_han"]["value"],
                        format!("{mirror_url}/hello@{digest}").as_str()
                    );
                    let replica: Reference = format!("{mirror_url}/hello:1.0").parse().unwrap();
                    let pulled = ctx
                        .local
                        .block_on(oci().pull(
                            &replica,
                            &RegistryAuth::Anonymous,
                            vec![IMAGE_LAYER_MEDIA_TYPE],
                        ))
                        .unwrap();
                    assert_eq!(pulled.layers[0].data.as_ref(), b"hello from the quickstart");
                    assert_eq!(pulled.digest.as_deref(), Some(digest.as_str()));
                }),
        )
        .run();
}

fn oci() -> oci_client::Client {
    oci_client::Client::new(oci_client::client::ClientConfig {
        protocol: oci_client::client::ClientProtocol::Http,
        ..Default::default()
    })
}

/// What CI does after the first apply: pushes `app_image` (`hello:1.0`) with the
/// CI user's credentials from state.
fn push_hello(ctx: &support::steps::Ctx) {
    let to: Reference = ctx.outputs()["app_image"]["value"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let ci = RegistryAuth::Basic(
        ctx.attr("vcr_repository_user.ci", "backend_name"),
        ctx.attr("vcr_repository_user.ci", "secret"),
    );
    let layer = ImageLayer::oci_v1(b"hello from the quickstart".to_vec(), None);
    let config = Config::oci_v1(br#"{"architecture":"amd64","os":"linux"}"#.to_vec(), None);
    ctx.local
        .block_on(oci().push(&to, &[layer], config, &ci, None))
        .unwrap_or_else(|e| panic!("push {to}: {e}"));
}
