//! The provider functions through a real terraform, in outputs: on the default
//! terraform (1.11.4 on these machines) and on the newest available (1.15.5). Round
//! trips (parse, then join the parts again; join, then parse), null for an absent tag
//! or digest, and every error case failing the plan with Terraform's message naming
//! the parameter. Functions are pure: no vcr-local, no credentials.
//!
//! Terraform before 1.8 has no provider functions: the oldest supported version
//! refuses the call itself and serves the rest (tests/acceptance/terraform_versions.rs).

use crate::support;

use support::terraform::{flat, NEWEST_AVAILABLE};
use support::{Terraform, Workspace};

const DIGEST: &str = "sha256:4e07408562bedb8b60ce05c1decfe3ad16b72230967de01f640b7e4729b49fce";

fn round_trips() -> String {
    format!(
        r#"
locals {{
  refs = [
    "vcr.vngcloud.vn/100001-my-app/web:v1",
    "vcr-han.vngcloud.vn/100001-my-app/tools/helm@{DIGEST}",
    "127.0.0.1:5000/100001-my-app/web/frontend:1.2.3",
    "localhost:5001/100001-my_app/a/b/c",
    "vcr.vngcloud.vn/100001-my-app/web/frontend:v2@{DIGEST}",
  ]
  parsed = [for r in local.refs : provider::vcr::parse_image_reference(r)]
}}

output "parsed" {{
  value = local.parsed
}}

# Parsed, then joined again from the parts: the same reference (a digest wins over a
# tag, as docker pulls it).
output "joined_again" {{
  value = [
    for p in local.parsed : provider::vcr::image_reference(
      p.registry, p.repository, p.image, coalesce(p.digest, p.tag, "latest")
    )
  ]
}}

output "by_digest" {{
  value = provider::vcr::image_reference("vcr.vngcloud.vn", "100001-my-app", "web/frontend", "{DIGEST}")
}}

# Joined, then parsed: the same parts.
output "parsed_again" {{
  value = provider::vcr::parse_image_reference(
    provider::vcr::image_reference("vcr.vngcloud.vn:443", "100001-my-app", "a.b_c__d--e/f0", "V1.0_rc-1")
  )
}}
"#
    )
}

/// Each bad call, and the parameter Terraform names in its error.
const ERRORS: [(&str, &str, &str); 10] = [
    (
        "no_registry",
        r#"provider::vcr::parse_image_reference("web:v1")"#,
        r#"Invalid value for "ref" parameter: "web:v1" is not a vCR image reference (<registry>/<repository>/<image>[:<tag>][@<digest>]): it has no registry host and no repository."#,
    ),
    (
        "hub_name",
        r#"provider::vcr::parse_image_reference("my-app/web:v1")"#,
        r#"Invalid value for "ref" parameter: "my-app/web:v1" is not a vCR image reference"#,
    ),
    (
        "no_image",
        r#"provider::vcr::parse_image_reference("vcr.vngcloud.vn/100001-my-app:v1")"#,
        r#"it has no image under the repository "100001-my-app""#,
    ),
    (
        "bad_digest",
        r#"provider::vcr::parse_image_reference("vcr.vngcloud.vn/100001-my-app/web@sha256:abc")"#,
        r#"Invalid value for "ref" parameter: "vcr.vngcloud.vn/100001-my-app/web@sha256:abc" is not a vCR image reference"#,
    ),
    (
        "scheme",
        r#"provider::vcr::image_reference("https://vcr.vngcloud.vn", "100001-my-app", "web", "v1")"#,
        r#"Invalid value for "registry" parameter: must be a registry host"#,
    ),
    (
        "nested_repository",
        r#"provider::vcr::image_reference("vcr.vngcloud.vn", "100001-my-app/web", "web", "v1")"#,
        r#"Invalid value for "repository_backend_name" parameter: must be the repository's backend name, one part without '/'; got "100001-my-app/web"."#,
    ),
    (
        "upper_image",
        r#"provider::vcr::image_reference("vcr.vngcloud.vn", "100001-my-app", "Web", "v1")"#,
        r#"Invalid value for "image" parameter: must be an image name"#,
    ),
    (
        "image_with_tag",
        r#"provider::vcr::image_reference("vcr.vngcloud.vn", "100001-my-app", "web:v1", "v1")"#,
        r#"Invalid value for "image" parameter: must be an image name without tag or digest"#,
    ),
    (
        "bad_tag",
        r#"provider::vcr::image_reference("vcr.vngcloud.vn", "100001-my-app", "web", "-v1")"#,
        r#"Invalid value for "tag_or_digest" parameter: must be a tag"#,
    ),
    (
        "null_argument",
        r#"provider::vcr::image_reference("vcr.vngcloud.vn", null, "web", "v1")"#,
        r#"Invalid value for "repository_backend_name" parameter: argument must not be null."#,
    ),
];

fn functions_on(terraform: &'static Terraform) {
    let ws = Workspace::new().with_terraform(terraform);
    ws.write_config(&round_trips());
    ws.must(&["apply", "-auto-approve", "-input=false", "-no-color"]);
    let out = ws.must(&["output", "-json"]);
    let outputs: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let parsed = &outputs["parsed"]["value"];
    assert_eq!(
        parsed[0],
        serde_json::json!({"registry": "vcr.vngcloud.vn", "repository": "100001-my-app", "image": "web", "tag": "v1", "digest": null})
    );
    assert_eq!(
        parsed[1],
        serde_json::json!({"registry": "vcr-han.vngcloud.vn", "repository": "100001-my-app", "image": "tools/helm", "tag": null, "digest": DIGEST})
    );
    assert_eq!(parsed[2]["registry"], "127.0.0.1:5000");
    assert_eq!(parsed[2]["image"], "web/frontend");
    assert_eq!(parsed[3]["tag"], serde_json::Value::Null);
    assert_eq!(parsed[4]["tag"], "v2", "tag and digest together");
    assert_eq!(parsed[4]["digest"], DIGEST);
    let joined = &outputs["joined_again"]["value"];
    assert_eq!(
        joined,
        &serde_json::json!([
            "vcr.vngcloud.vn/100001-my-app/web:v1",
            format!("vcr-han.vngcloud.vn/100001-my-app/tools/helm@{DIGEST}"),
            "127.0.0.1:5000/100001-my-app/web/frontend:1.2.3",
            "localhost:5001/100001-my_app/a/b/c:latest",
            format!("vcr.vngcloud.vn/100001-my-app/web/frontend@{DIGEST}"),
        ])
    );
    assert_eq!(
        outputs["by_digest"]["value"],
        format!("vcr.vngcloud.vn/100001-my-app/web/frontend@{DIGEST}")
    );
    assert_eq!(
        outputs["parsed_again"]["value"],
        serde_json::json!({"registry": "vcr.vngcloud.vn:443", "repository": "100001-my-app", "image": "a.b_c__d--e/f0", "tag": "V1.0_rc-1", "digest": null})
    );

    // Every bad call fails the plan, each naming its parameter.
    let config: String = ERRORS
        .iter()
        .map(|(name, call, _)| format!("output \"{name}\" {{\n  value = {call}\n}}\n"))
        .collect();
    ws.write_config(&config);
    let run = ws.run(&["plan", "-input=false", "-no-color"]);
    assert!(!run.success(), "{}", run.output());
    let said = run.said();
    for (name, _, message) in ERRORS {
        assert!(
            said.contains(&flat(message)),
            "{name}: Terraform {} did not say {message:?}:\n{}",
            terraform.version_string(),
            run.output()
        );
    }
    assert_eq!(
        said.matches("Error: Invalid function argument").count(),
        ERRORS.len(),
        "{}",
        run.output()
    );
}

#[test]
fn functions_on_the_default_terraform() {
    functions_on(Terraform::default());
}

#[test]
fn functions_on_the_newest_terraform() {
    functions_on(Terraform::version(NEWEST_AVAILABLE));
}
