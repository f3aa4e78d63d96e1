//! A real Terraform against the provider block alone: schema, validate, plan.

mod support;

use support::Workspace;

const PROVIDER_BLOCK: &str = r#"
provider "vcr" {
  region = "HAN"
  endpoints {
    han = "http://127.0.0.1:1/han"
  }
}
"#;

#[test]
fn providers_schema_json_shows_the_provider_block_with_descriptions() {
    let ws = Workspace::new();
    ws.write_config(PROVIDER_BLOCK);
    let run = ws.must(&["providers", "schema", "-json"]);
    let schema: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let block =
        &schema["provider_schemas"]["registry.terraform.io/vngcloud/vcr"]["provider"]["block"];
    for name in [
        "region",
        "client_id",
        "client_secret",
        "token_url",
        "max_retries",
    ] {
        let attr = &block["attributes"][name];
        assert_eq!(attr["optional"], true, "{name}: {attr}");
        assert!(
            !attr["description"].as_str().unwrap_or_default().is_empty(),
            "{name} has no description"
        );
    }
    assert_eq!(block["attributes"]["client_secret"]["sensitive"], true);
    let endpoints = &block["block_types"]["endpoints"];
    assert_eq!(endpoints["nesting_mode"], "single");
    assert!(endpoints["block"]["attributes"]["hcm"]["description"]
        .as_str()
        .unwrap()
        .contains("VCR_ENDPOINT_HCM"));
}

#[test]
fn validate_and_plan_work_without_credentials_and_leave_no_process() {
    let ws = Workspace::new();
    ws.write_config(PROVIDER_BLOCK);
    let run = ws.validate();
    assert!(run.success(), "{}", run.output());
    assert!(
        run.stdout.contains("The configuration is valid"),
        "{}",
        run.output()
    );

    let mut ws = ws;
    ws.set_env("TF_LOG", "debug");
    let run = ws.plan(true);
    assert_eq!(run.code, 0, "{}", run.output());
    // Terraform logs this when a plugin does not exit after Shutdown and is killed
    // after its 2 s grace period.
    assert!(
        !run.stderr.contains("plugin failed to exit gracefully"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("plugin exited"),
        "provider process did not exit:\n{}",
        run.stderr
    );
    assert!(
        ws.running_providers().is_empty(),
        "provider processes left behind"
    );
}

#[test]
fn wrong_types_and_values_in_the_provider_block_get_diagnostics_not_panics() {
    let ws = Workspace::new();
    let cases = [
        ("max_retries = \"many\"", "max_retries"),
        ("max_retries = -1", "Invalid value for \"max_retries\""),
        ("max_retries = 2.5", "Invalid value for \"max_retries\""),
        (
            "token_url = \"ftp://example.com\"",
            "Invalid value for \"token_url\"",
        ),
        (
            "endpoints {\n    hcm = \"not a url\"\n  }",
            "Invalid value for \"endpoints.hcm\"",
        ),
        ("region = [\"HCM\"]", "region"),
        ("unknown_setting = 1", "unknown_setting"),
    ];
    for (setting, expected) in cases {
        ws.write_config(&format!(
            "provider \"vcr\" {{\n  {setting}\n}}\nresource \"vcr_repository\" \"x\" {{\n  name = \"my-app\"\n  quota_limit_gb = 1\n}}\n"
        ));
        let run = ws.validate();
        assert!(!run.success(), "{setting} should fail");
        let out = run.output();
        assert!(out.contains(expected), "{setting}: {out}");
        assert!(!out.to_lowercase().contains("panic"), "{setting}: {out}");
        assert!(
            !out.contains("plugin exited") && !out.contains("crash"),
            "{setting}: {out}"
        );
    }
}
