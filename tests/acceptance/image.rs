//! `data "vcr_image"` and `data "vcr_images"` against what a real OCI client
//! (`oci-client`) pushed to vcr-local's registry: two artifacts of a nested name
//! (`web/frontend:v1`, then `:v2` and `:latest`), and more images than one page
//! of the images list holds. By tag the pushed digest and `image_uri` come back,
//! `most_recent` gives the second push, by digest gives its tags, a missing tag
//! fails the plan naming it and the repository, `vcr_images` lists every image with
//! its artifact count, plans after apply are empty, and each data source costs one
//! call per page, counted by vcr-local.

use crate::support;

use std::cell::RefCell;

use serde_json::json;
use support::steps::Ctx;
use support::{literal, Action, Scenario, Step};

const APP: &str = "vcr_repository.app";
const CI: &str = "vcr_repository_user.ci";
/// Images besides `web/frontend`: with it, one more than a page of the client's
/// walk (50) holds.
const FILLERS: usize = 50;

const RESOURCES: &str = r#"
resource "vcr_repository" "app" {
  name           = "images-app"
  quota_limit_gb = 1
  force_destroy  = true
}
resource "vcr_repository_user" "ci" {
  name = "images-ci"
  repository_permission {
    repository_id = vcr_repository.app.id
    permission    = "push_pull"
  }
}
resource "vcr_repository" "han" {
  name           = "images-han"
  quota_limit_gb = 1
  region         = "HAN"
  force_destroy  = true
}
resource "vcr_repository_user" "han_ci" {
  name   = "images-han-ci"
  region = "HAN"
  repository_permission {
    repository_id = vcr_repository.han.id
    permission    = "push_pull"
  }
}
"#;

/// The resources and every data source under test.
fn lookups() -> String {
    format!(
        r#"{RESOURCES}
data "vcr_image" "v1" {{
  repository_id = vcr_repository.app.id
  name          = "web/frontend"
  tag           = "v1"
}}
data "vcr_image" "newest" {{
  repository_id = vcr_repository.app.id
  name          = "web/frontend"
  most_recent   = true
}}
data "vcr_image" "by_digest" {{
  repository_id = vcr_repository.app.id
  name          = "web/frontend"
  digest        = data.vcr_image.newest.digest
}}
data "vcr_image" "han" {{
  repository_id = vcr_repository.han.id
  region        = "HAN"
  name          = "tools/helm"
  tag           = "3"
}}
data "vcr_images" "all" {{
  repository_id = vcr_repository.app.id
}}
data "vcr_images" "web" {{
  repository_id = vcr_repository.app.id
  name_prefix   = "web/"
}}
output "deploy" {{
  value = data.vcr_image.v1.image_uri
}}
"#
    )
}

/// A regex for this text as Terraform prints it: its words, wrapped anywhere.
fn words(text: &str) -> String {
    text.split_whitespace()
        .map(literal)
        .collect::<Vec<_>>()
        .join(r"\s+")
}

/// Pushes a one-layer image with `text` as its layer to the HCM repository as
/// the CI user; answers the manifest's digest as the registry reports it.
fn push(ctx: &Ctx, image: &str, tag: &str, text: &str) -> String {
    push_to(ctx, (APP, CI), image, tag, text)
}

/// As [`push`], to a repository in state as a user in state (their addresses).
fn push_to(ctx: &Ctx, (repo, user): (&str, &str), image: &str, tag: &str, text: &str) -> String {
    let to = format!("{}/{image}:{tag}", ctx.attr(repo, "registry_url"));
    let login = (ctx.attr(user, "backend_name"), ctx.attr(user, "secret"));
    support::images::push_layer(ctx.local, &to, (&login.0, &login.1), text)
}

/// The digests pushed: `v1`, then `v2` (also tagged `latest`), and one in HAN.
#[derive(Default)]
struct Pushed {
    v1: String,
    v2: String,
    /// `tools/helm:3` in HAN.
    helm: String,
}

#[test]
fn image_lookups_pin_what_was_pushed() {
    let local = support::local::LocalVcr::start();
    let pushed = RefCell::new(Pushed::default());
    Scenario::new(&local)
        .step(
            Step::apply(RESOURCES)
                .named("a repository and a CI user; CI pushes")
                .expect_all(Action::Create)
                .check(|ctx| {
                    let v1 = push(ctx, "web/frontend", "v1", "first build");
                    // A minute later (vcr-local's clock): v2 is the most recent.
                    ctx.local.controls().advance_clock(60);
                    let v2 = push(ctx, "web/frontend", "v2", "second build");
                    assert_eq!(push(ctx, "web/frontend", "latest", "second build"), v2);
                    assert_ne!(v1, v2);
                    for i in 0..FILLERS {
                        push(ctx, &format!("fill/img-{i:02}"), "1", "filler");
                    }
                    let han = ("vcr_repository.han", "vcr_repository_user.han_ci");
                    let helm = push_to(ctx, han, "tools/helm", "3", "chart");
                    *pushed.borrow_mut() = Pushed { v1, v2, helm };
                }),
        )
        .step(
            Step::apply(lookups())
                .named("lookups by tag, most recent, digest, and the image lists")
                .expect_no_changes()
                .check(|ctx| check_lookups(ctx, &pushed.borrow())),
        )
        .step(
            Step::plan_only()
                .named("each data source costs one call per page")
                .check(count_calls_per_page),
        )
        .step(
            Step::plan_only()
                .config(missing_tag())
                .named("a missing tag fails the plan, naming the tag and the repository")
                .expect_plan_error(&format!(
                    "(?s)Image tag not found.*{}.*{}.*{}.*{}",
                    words(r#"Image "web/frontend""#),
                    words(r#"repository "images-app" (repo-"#),
                    words(r#"no artifact tagged "v9""#),
                    words(r#"Its tags: "latest", "v1" and "v2""#),
                )),
        )
        .step(
            Step::plan_only()
                .config(missing_image())
                .named("an image that does not exist fails the plan, naming it")
                .expect_plan_error(&format!(
                    "(?s)Image not found.*{}",
                    words(r#"holds no image "web/backend""#)
                )),
        )
        .step(
            Step::plan_only()
                .config(two_lookups())
                .named("exactly one of tag, digest and most_recent")
                .expect_plan_error(&words(
                    r#"set only one of "tag", "digest" and "most_recent""#,
                )),
        )
        .step(
            Step::apply(RESOURCES)
                .named("without the lookups, no resource changes")
                .expect_no_changes(),
        )
        .run();
}

fn check_lookups(ctx: &Ctx, pushed: &Pushed) {
    let registry_url = ctx.attr(APP, "registry_url");
    let registry = &ctx.local.settings["VCR_REGISTRY_HCM"];
    assert!(registry_url.starts_with(&format!("{registry}/")));

    let v1 = ctx.state("data.vcr_image.v1");
    assert_eq!(v1["digest"], pushed.v1.as_str());
    let uri = format!("{registry_url}/web/frontend@{}", pushed.v1);
    assert_eq!(v1["image_uri"], uri.as_str());
    assert_eq!(v1["tags"], json!(["v1"]));
    assert_eq!(
        v1["media_type"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert_eq!(v1["region"], "HCM");
    let size = v1["size_bytes"].as_u64().unwrap();
    assert!(size > "first build".len() as u64, "{size}");
    let pushed_v1 = v1["pushed_at"].as_str().unwrap();
    let parse = |t: &str| {
        time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|e| panic!("{t} is not RFC 3339: {e}"))
    };
    assert_eq!(ctx.outputs()["deploy"]["value"], uri.as_str());

    let newest = ctx.state("data.vcr_image.newest");
    assert_eq!(newest["digest"], pushed.v2.as_str());
    assert_eq!(newest["tags"], json!(["latest", "v2"]), "sorted");
    let pushed_v2 = newest["pushed_at"].as_str().unwrap();
    assert!(parse(pushed_v2) - parse(pushed_v1) >= time::Duration::seconds(60));

    let by_digest = ctx.state("data.vcr_image.by_digest");
    assert_eq!(by_digest["tags"], json!(["latest", "v2"]));
    assert_eq!(
        by_digest["image_uri"],
        format!("{registry_url}/web/frontend@{}", pushed.v2).as_str()
    );

    // In HAN, through HAN's registry host.
    let han = ctx.state("data.vcr_image.han");
    let han_registry = &ctx.local.settings["VCR_REGISTRY_HAN"];
    let han_uri = format!(
        "{han_registry}/{}/tools/helm@{}",
        ctx.attr("vcr_repository.han", "backend_name"),
        pushed.helm
    );
    assert_eq!(han["image_uri"], han_uri.as_str());
    assert_eq!(han["region"], "HAN");

    // Every page read: the fillers and web/frontend, sorted by name.
    let all = ctx.state("data.vcr_images.all")["images"]
        .as_array()
        .unwrap()
        .clone();
    let names: Vec<&str> = all.iter().map(|i| i["name"].as_str().unwrap()).collect();
    let mut expected: Vec<String> = (0..FILLERS).map(|i| format!("fill/img-{i:02}")).collect();
    expected.push("web/frontend".into());
    assert_eq!(names, expected);
    let web = ctx.state("data.vcr_images.web")["images"].clone();
    assert_eq!(web.as_array().unwrap().len(), 1, "{web}");
    assert_eq!(web[0]["name"], "web/frontend");
    assert_eq!(web[0]["artifact_count"], 2, "v1, and v2 with two tags");
    assert_eq!(web[0]["pull_count"], 0);
    let updated = parse(web[0]["updated_at"].as_str().unwrap());
    assert!(updated >= parse(pushed_v2));
    assert_eq!(all[0]["artifact_count"], 1);
}

/// Each data source costs one call per page. `vcr_image` also needs its
/// repository's backend name: in a plan that refreshes, the repository's own
/// refresh has read it; without refresh, it is read once per repository, however
/// many `vcr_image` look into it at the same time.
fn count_calls_per_page(ctx: &Ctx) {
    let controls = ctx.local.controls();
    let hcm = format!("/hcm/v1/repository/{}", ctx.attr(APP, "id"));
    let han = format!(
        "/han/v1/repository/{}",
        ctx.attr("vcr_repository.han", "id")
    );
    let plan = |args: &[&str]| {
        controls.reset_requests();
        let run = ctx.workspace().run(args);
        assert!(run.success(), "{}", run.output());
        let requests = controls.requests();
        let count = |method: &str, path: &str| requests.count_of(method, path);
        // vcr_images "all": 51 images, two pages of 50; "web": one page.
        assert_eq!(count("GET", &format!("{hcm}/images")), 3);
        // Three vcr_image in HCM, each one page of artifacts; one in HAN.
        assert_eq!(count("GET", &format!("{hcm}/images/artifacts")), 3);
        assert_eq!(count("GET", &format!("{han}/images/artifacts")), 1);
        (count("GET", &hcm), count("GET", &han), requests)
    };

    let (hcm_reads, han_reads, requests) =
        plan(&["plan", "-refresh=false", "-input=false", "-no-color"]);
    assert_eq!((hcm_reads, han_reads), (1, 1), "{requests:?}");
    let api_calls: u64 = requests
        .requests
        .iter()
        .filter(|r| r.path.starts_with("/hcm/v1/") || r.path.starts_with("/han/v1/"))
        .map(|r| r.count)
        .sum();
    assert_eq!(api_calls, 9, "no other vCR call: {requests:?}");

    let (hcm_reads, han_reads, requests) =
        plan(&["plan", "-input=false", "-no-color", "-detailed-exitcode"]);
    assert_eq!(
        (hcm_reads, han_reads),
        (1, 1),
        "the refresh of each repository, and no read for the lookups: {requests:?}"
    );
}

fn missing_tag() -> String {
    format!(
        r#"{RESOURCES}
data "vcr_image" "missing" {{
  repository_id = vcr_repository.app.id
  name          = "web/frontend"
  tag           = "v9"
}}
"#
    )
}

fn missing_image() -> String {
    format!(
        r#"{RESOURCES}
data "vcr_image" "missing" {{
  repository_id = vcr_repository.app.id
  name          = "web/backend"
  most_recent   = true
}}
"#
    )
}

fn two_lookups() -> String {
    format!(
        r#"{RESOURCES}
data "vcr_image" "both" {{
  repository_id = vcr_repository.app.id
  name          = "web/frontend"
  tag           = "v1"
  most_recent   = true
}}
"#
    )
}
