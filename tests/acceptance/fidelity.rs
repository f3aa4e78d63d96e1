//! What a user sees in `terraform apply` when vCR answers as the real service does
//! and vcr-local does not on its own (`docs/development/vcr-api.md`): the IAM gateway's 403, a
//! redirect to another host, and a rotated secret in each published shape. The
//! answers come from vcr-local's fault rules; every step runs with Terraform's trace
//! log, which must hold no secret.

use crate::support;

use support::controls::Fault;
use support::local::LocalVcr;
use support::steps::Ctx;
use support::{words, Action, Scenario, Step};

const REPOSITORY: &str = r#"
resource "vcr_repository" "app" {
  name           = "fidelity-app"
  quota_limit_gb = 1
}
"#;

/// The JWT header every access token starts with (`{"alg":...`, base64).
const JWT_START: &str = "eyJhbGci";

/// Nothing secret in the output of the step's commands, trace log included.
fn no_secret_in_output(ctx: &Ctx, also: &[&str]) {
    let out = ctx.output();
    assert!(out.contains("[TRACE]"), "the trace log is on");
    let client_secret = ctx.local.settings["VCR_CLIENT_SECRET"].as_str();
    assert!(
        !out.contains(client_secret),
        "the client secret is in the output"
    );
    assert!(!out.contains(JWT_START), "an access token is in the output");
    for secret in also {
        assert!(!out.contains(secret), "a secret is in the output");
    }
}

#[test]
fn an_iam_permission_denied_says_which_policy_to_attach() {
    let local = LocalVcr::start();
    let denied = r#"[{"code":"IAM_PERMISSION_DENIED","message":"You don't have permission to access this resource"}]"#;
    Scenario::new(&local)
        .step(
            Step::apply(REPOSITORY)
                .named("the IAM gateway refuses the create: the service account lacks vcrFullAccess")
                .env("TF_LOG", "trace")
                .pre(move |ctx| {
                    let refusal = Fault::status("/hcm/v1/repository", 403)
                        .method("POST")
                        .body(denied);
                    ctx.local.controls().add_fault(&refusal);
                })
                .expect("vcr_repository.app", Action::Create)
                .expect_apply_error(&words("Error: Could not create repository"))
                .expect_output(&words(
                    "VNG Cloud's IAM gateway said: forbidden: You don't have permission to access this resource [IAM_PERMISSION_DENIED]",
                ))
                .expect_output(&words("The IAM service account lacks the vcrFullAccess policy, which vCR requires"))
                .expect_output(&words("on its Permission tab choose Attach Policies and attach vcrFullAccess"))
                .check(|ctx| {
                    assert!(!ctx.output().contains("vCR said"), "not vCR's own words");
                    no_secret_in_output(ctx, &[]);
                    ctx.local.controls().clear_faults();
                }),
        )
        .step(
            Step::apply(REPOSITORY)
                .named("once the policy is attached, the same apply works")
                .expect("vcr_repository.app", Action::Create),
        )
        .run();
}

#[test]
fn a_redirect_to_another_host_is_not_followed() {
    let local = LocalVcr::start();
    let moved = "https://vcr.api.greennode.example/v1/repository";
    Scenario::new(&local)
        .step(
            Step::apply(REPOSITORY)
                .named("vCR answers the create with a 301 to another host")
                .env("TF_LOG", "trace")
                .pre(move |ctx| {
                    let redirect = Fault::status("/hcm/v1/repository", 301)
                        .method("POST")
                        .body("")
                        .header("Location", moved);
                    ctx.local.controls().add_fault(&redirect);
                })
                .expect("vcr_repository.app", Action::Create)
                .expect_apply_error(&words("Error: Could not create repository"))
                .expect_output(&words(&format!(
                    "POST /hcm/v1/repository: the server answered 301, pointing to {moved}."
                )))
                .expect_output(&words("The provider does not follow a redirect to another host"))
                .expect_output(&words(
                    "set endpoints { hcm } (or VCR_ENDPOINT_HCM) to https://vcr.api.greennode.example/",
                ))
                .check(|ctx| {
                    let controls = ctx.local.controls();
                    assert_eq!(controls.faults()[0].hits, 1, "asked once, not retried");
                    no_secret_in_output(ctx, &[]);
                    controls.clear_faults();
                }),
        )
        .run();
}

const USER: &str = "vcr_repository_user.ci";

fn rotated(n: usize) -> String {
    format!(
        r#"{REPOSITORY}
resource "vcr_repository_user" "ci" {{
  name              = "rotating-ci"
  rotation_triggers = {{ n = "{n}" }}
  repository_permission {{
    repository_id = vcr_repository.app.id
    permission    = "push_pull"
  }}
}}
"#
    )
}

#[test]
fn rotation_reads_every_shape_of_refreshed_secret() {
    let local = LocalVcr::start();
    let shapes = [
        (
            "a JSON string",
            r#""rotated-json-string-1""#,
            "rotated-json-string-1",
        ),
        ("plain text", "rotated-plain-text-2", "rotated-plain-text-2"),
        (
            "an object with secretKey",
            r#"{"secretKey":"rotated-object-3"}"#,
            "rotated-object-3",
        ),
    ];
    let mut scenario =
        Scenario::new(&local).step(Step::apply(rotated(0)).expect_all(Action::Create).check(
            |ctx| {
                let secret = ctx.attr(USER, "secret");
                let backend = ctx.attr(USER, "backend_name");
                assert!(ctx.local.controls().can_login(
                    vcr_provider::vcr::Region::Hcm,
                    &backend,
                    &secret
                ));
            },
        ));
    for (n, (shape, body, secret)) in shapes.into_iter().enumerate() {
        scenario = scenario.step(
            Step::apply(rotated(n + 1))
                .named(&format!("vCR answers the refresh with {shape}"))
                .env("TF_LOG", "trace")
                .pre(move |ctx| {
                    let answer =
                        Fault::replace_body("GET", "/hcm/v1/user/*/refresh", body).times(1);
                    ctx.local.controls().add_fault(&answer);
                })
                .expect(USER, Action::Update)
                .expect_unknown(USER, "secret")
                .check(move |ctx| {
                    let controls = ctx.local.controls();
                    assert_eq!(controls.faults()[0].hits, 1, "one refresh");
                    controls.clear_faults();
                    // The secret the answer held, whatever its shape, is the one in state.
                    assert_eq!(ctx.attr(USER, "secret"), secret, "{shape}");
                    assert_ne!(ctx.prior(USER)["secret"], secret);
                    no_secret_in_output(ctx, &[secret]);
                }),
        );
    }
    scenario.run();
}
