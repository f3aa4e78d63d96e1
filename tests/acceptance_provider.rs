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
