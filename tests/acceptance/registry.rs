//! Terraform declares repositories and users; then the registry obeys exactly that.
//! A real `terraform` creates them against a real `vcr-local`, and a real OCI client
//! (`oci-client`) pushes and pulls with the credentials from state: what was granted
//! works, nothing else does, a change in Terraform changes what the registry allows,
//! and `terraform apply -refresh-only` shows the new `image_count` and
//! `quota_used_gb`.

use crate::support;

use oci_client::client::{ClientConfig, ClientProtocol, Config, ImageLayer};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use support::steps::Ctx;
use support::{Action, Scenario, Step};

const APP: &str = "vcr_repository.app";
const OPEN: &str = "vcr_repository.open";
const CI: &str = "vcr_repository_user.ci";
const DEPLOY: &str = "vcr_repository_user.deploy";

fn config(deploy_permission: &str, ci_enabled: bool) -> String {
    format!(
        r#"
resource "vcr_repository" "app" {{
  name           = "registry-app"
  quota_limit_gb = 1
  force_destroy  = true
}}
resource "vcr_repository" "open" {{
  name           = "registry-open"
  access_level   = "public"
  quota_limit_gb = 1
  force_destroy  = true
}}
resource "vcr_repository_user" "ci" {{
  name    = "registry-ci"
  enabled = {ci_enabled}
  repository_permission {{
    repository_id = vcr_repository.app.id
    permission    = "push_pull"
  }}
  repository_permission {{
    repository_id = vcr_repository.open.id
    permission    = "push_pull"
  }}
}}
resource "vcr_repository_user" "deploy" {{
  name = "registry-dep"
  repository_permission {{
    repository_id = vcr_repository.app.id
    permission    = "{deploy_permission}"
  }}
}}
"#
    )
}

/// The docker login of a user in state: its backend name and secret.
fn login(ctx: &Ctx, user: &str) -> RegistryAuth {
    RegistryAuth::Basic(ctx.attr(user, "backend_name"), ctx.attr(user, "secret"))
}

/// `<registry_url of the repository>/<image>`, as the provider computed it.
fn reference(ctx: &Ctx, repo: &str, image: &str) -> Reference {
    format!("{}/{image}", ctx.attr(repo, "registry_url"))
        .parse()
        .unwrap()
}

fn client() -> Client {
    Client::new(ClientConfig {
        protocol: ClientProtocol::Http,
        ..ClientConfig::default()
    })
}

/// Pushes an image with one layer of `size` bytes; `Err` with the client's error.
fn push(ctx: &Ctx, auth: &RegistryAuth, to: &Reference, size: usize) -> Result<(), String> {
    let layer = ImageLayer::oci_v1(vec![0x42; size], None);
    let config = Config::oci_v1(br#"{"architecture":"amd64","os":"linux"}"#.to_vec(), None);
    ctx.local
        .block_on(client().push(to, &[layer], config, auth, None))
        .map(drop)
        .map_err(|e| e.to_string())
}

/// Pulls an image; answers its layer's size.
fn pull(ctx: &Ctx, auth: &RegistryAuth, from: &Reference) -> Result<usize, String> {
    ctx.local
        .block_on(client().pull(
            from,
            auth,
            vec![oci_client::manifest::IMAGE_LAYER_MEDIA_TYPE],
        ))
        .map(|image| image.layers[0].data.len())
        .map_err(|e| e.to_string())
}

const LAYER: usize = 3 << 20;

#[test]
fn push_and_pull_obey_what_terraform_declared() {
    let local = support::local::LocalVcr::start();
    Scenario::new(&local)
        .step(
            Step::apply(config("pull_only", true))
                .expect_all(Action::Create)
                .check(|ctx| {
                    let registry = &ctx.local.settings["VCR_REGISTRY_HCM"];
                    let backend = ctx.attr(APP, "backend_name");
                    assert_eq!(
                        ctx.attr(APP, "registry_url"),
                        format!("{registry}/{backend}")
                    );
                    let web = reference(ctx, APP, "web:1.0");

                    // push_pull pushes; pull_only pulls but cannot push.
                    push(ctx, &login(ctx, CI), &web, LAYER).expect("the CI user pushes");
                    assert_eq!(pull(ctx, &login(ctx, DEPLOY), &web), Ok(LAYER));
                    let refused = push(
                        ctx,
                        &login(ctx, DEPLOY),
                        &reference(ctx, APP, "web:2.0"),
                        10,
                    );
                    let refused = refused.expect_err("a pull_only user cannot push");
                    assert!(
                        refused.contains("DENIED") || refused.contains("denied"),
                        "{refused}"
                    );
                    // Anonymous: nothing from a private repository, anything public.
                    assert!(pull(ctx, &RegistryAuth::Anonymous, &web).is_err());
                    let base = reference(ctx, OPEN, "base:1");
                    push(ctx, &login(ctx, CI), &base, 10).unwrap();
                    assert_eq!(pull(ctx, &RegistryAuth::Anonymous, &base), Ok(10));
                    assert!(push(ctx, &RegistryAuth::Anonymous, &base, 11).is_err());
                    // The deploy user has no rights on the public repository but pull.
                    assert!(push(ctx, &login(ctx, DEPLOY), &base, 12).is_err());
                    // A wrong secret is refused.
                    let wrong =
                        RegistryAuth::Basic(ctx.attr(DEPLOY, "backend_name"), "wrong".into());
                    assert!(pull(ctx, &wrong, &web).is_err());
                    assert_eq!(
                        ctx.state(APP)["image_count"],
                        0,
                        "state refreshes only on apply"
                    );
                }),
        )
        .step(
            Step::refresh_only()
                .named("refresh-only shows the pushed image and its size")
                .check(|ctx| {
                    assert_eq!(ctx.state(APP)["image_count"], 1);
                    assert_eq!(ctx.state(APP)["quota_used_gb"], 0.003, "3 MiB and a little");
                    assert_eq!(ctx.state(OPEN)["image_count"], 1);
                }),
        )
        .step(
            Step::apply(config("push_pull", false))
                .named("what Terraform changes, the registry follows")
                .expect(DEPLOY, Action::Update)
                .expect(CI, Action::Update)
                .check(|ctx| {
                    let web2 = reference(ctx, APP, "web:2.0");
                    push(ctx, &login(ctx, DEPLOY), &web2, 20).expect("push_pull now");
                    let disabled = pull(ctx, &login(ctx, CI), &web2);
                    assert!(
                        disabled.is_err(),
                        "a disabled user is refused: {disabled:?}"
                    );
                }),
        )
        .step(
            Step::refresh_only()
                .check(|ctx| assert_eq!(ctx.state(APP)["image_count"], 1, "one image, two tags")),
        )
        .run();
}
