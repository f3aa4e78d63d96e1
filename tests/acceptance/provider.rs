//! A real Terraform against the provider block alone: schema, validate, plan.

use crate::support;

use std::collections::BTreeMap;
use std::time::Instant;

use support::local::LocalVcr;
use support::{literal, words, Action, Scenario, Step, Workspace};

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
        // From `validate -json`: invalid, with exactly one error, the provider's (a
        // provider that crashed would add Terraform's own "Plugin did not respond").
        let report = ws.validate_json();
        assert_eq!(report["valid"], false, "{setting}: {report}");
        assert_eq!(report["error_count"], 1, "{setting}: {report}");
        let diagnostic = &report["diagnostics"][0];
        assert_eq!(diagnostic["severity"], "error", "{setting}: {report}");
        let text = |field: &str| diagnostic[field].as_str().unwrap_or_default().to_string();
        let said = format!("{} {}", text("summary"), text("detail"));
        assert!(said.contains(expected), "{setting}: {report}");
    }
}

// ---- credentials checked at plan, honest errors, no secrets in clear --------------

const TOKEN_PATH: &str = "/iam/accounts-api/v2/auth/token";

/// A new repository: planning it needs no call to vCR, only the provider's start.
const NEW_REPOSITORY: &str = r#"
resource "vcr_repository" "app" {
  name           = "checked-app"
  quota_limit_gb = 1
}
"#;

/// How many token requests vcr-local answered with each status, and how many other
/// requests it got.
fn token_and_other_requests(local: &LocalVcr) -> (BTreeMap<String, u64>, u64) {
    let counts = local.controls().requests();
    let mut token = BTreeMap::new();
    let mut other = 0;
    for route in &counts.requests {
        if route.path == TOKEN_PATH {
            token = route.statuses.clone();
        } else {
            other += route.count;
        }
    }
    (token, other)
}

#[test]
fn a_wrong_secret_fails_the_plan_naming_the_credentials() {
    let local = LocalVcr::start();
    let wrong = "not-the-right-secret-4711";
    Scenario::new(&local)
        .step(
            Step::plan_only()
                .config(NEW_REPOSITORY)
                .named("a new repository, planned with a wrong client_secret")
                .env("VCR_CLIENT_SECRET", wrong)
                .env("TF_LOG", "trace")
                .pre(|ctx| ctx.local.controls().reset_requests())
                .expect_plan_error(&literal(
                    "Invalid vCR credentials: client_id or client_secret",
                ))
                .expect_output(&words("VCR_CLIENT_ID and VCR_CLIENT_SECRET"))
                .expect_output(&words("skip_credentials_validation = true"))
                .expect_output(&words(
                    "The IAM token endpoint said: IAM token request failed (HTTP 401)",
                ))
                .check(move |ctx| {
                    // One token request, refused; nothing else reached vCR.
                    let (token, other) = token_and_other_requests(ctx.local);
                    assert_eq!(token, BTreeMap::from([("401".to_string(), 1)]));
                    assert_eq!(other, 0);
                    assert!(!ctx.output().contains(wrong), "the secret leaked");
                }),
        )
        .step(
            Step::plan_only()
                .named(
                    "the same plan with the right secret: one token request per provider process",
                )
                .pre(|ctx| ctx.local.controls().reset_requests())
                .expect("vcr_repository.app", Action::Create)
                .check(|ctx| {
                    let (token, other) = token_and_other_requests(ctx.local);
                    assert_eq!(token.get("200"), Some(&1), "{token:?}");
                    assert_eq!(token.len(), 1, "{token:?}");
                    // The plan file is shown by `terraform show`, which configures nothing.
                    assert_eq!(other, 0);
                }),
        )
        .run();
}

#[test]
fn skip_credentials_validation_plans_without_calling_vcr() {
    let local = LocalVcr::start();
    for (how, key, value) in [
        (
            "in the environment",
            "VCR_SKIP_CREDENTIALS_VALIDATION",
            "true",
        ),
        ("in the block", "", ""),
    ] {
        let config = match key.is_empty() {
            true => format!(
                "provider \"vcr\" {{\n  skip_credentials_validation = true\n}}\n{NEW_REPOSITORY}"
            ),
            false => NEW_REPOSITORY.to_string(),
        };
        let mut step = Step::plan_only()
            .config(config)
            .named(how)
            // Credentials that would fail the check, had there been one.
            .env("VCR_CLIENT_SECRET", "wrong-but-unchecked")
            .pre(|ctx| ctx.local.controls().reset_requests())
            .expect("vcr_repository.app", Action::Create)
            .check(|ctx| {
                let counts = ctx.local.controls().requests();
                assert_eq!(counts.total, 0, "vCR was called: {counts:?}");
            });
        if !key.is_empty() {
            step = step.env(key, value);
        }
        Scenario::new(&local).step(step).run();
    }
}

#[test]
fn missing_credentials_fail_the_plan_of_a_new_object() {
    // No vcr-local and no VCR_* settings: a CI job whose secrets were not passed on.
    let ws = Workspace::new();
    ws.write_config(NEW_REPOSITORY);
    let run = ws.plan(true);
    assert_eq!(run.code, 1, "{}", run.output());
    // Terraform wraps the detail: compare words.
    let out = run
        .output()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(out.contains("Error: vCR credentials are missing"), "{out}");
    assert!(
        out.contains(
            "client_id (or VCR_CLIENT_ID) and client_secret (or VCR_CLIENT_SECRET) are not set"
        ),
        "{out}"
    );
    // An offline plan is still possible when asked for.
    ws.write_config(&format!(
        "provider \"vcr\" {{\n  skip_credentials_validation = true\n}}\n{NEW_REPOSITORY}"
    ));
    let run = ws.plan(true);
    assert_eq!(run.code, 2, "{}", run.output());
    assert!(run.output().contains("vcr_repository.app will be created"));
}

/// A port where nothing listens (bound, then let go).
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn an_unreachable_address_fails_fast_saying_what_happened() {
    let local = LocalVcr::start();
    let port = closed_port();
    let token_url = format!("http://127.0.0.1:{port}/iam/accounts-api/v2/auth/token");
    let endpoint = format!("http://127.0.0.1:{port}/hcm");
    // The token URL is checked at the provider's start; an endpoint when a data source
    // reads at plan.
    // Each names the setting to check, and only that one.
    let (token_setting, endpoint_setting) = (
        "Check token_url (or VCR_TOKEN_URL)",
        "Check endpoints { hcm } (or VCR_ENDPOINT_HCM)",
    );
    let cases = [
        (
            "VCR_TOKEN_URL",
            token_url.as_str(),
            NEW_REPOSITORY,
            "obtain an IAM token",
            (token_setting, endpoint_setting),
        ),
        (
            "VCR_ENDPOINT_HCM",
            endpoint.as_str(),
            "data \"vcr_repositories\" \"all\" {}\n",
            "",
            (endpoint_setting, token_setting),
        ),
    ];
    let connection_failed = regex::Regex::new(r"^(GET|POST) /\S*: could not connect to ").unwrap();
    for (var, url, config, summary, (named, not_named)) in cases {
        let mut ws = Workspace::against(&local);
        ws.set_env(var, url);
        ws.set_env("TF_LOG_PROVIDER", "debug");
        ws.write_config(config);
        let started = Instant::now();
        let run = ws.plan_json();
        let took = started.elapsed();
        let out = run.output();
        assert_eq!(run.code, 1, "{var}: {out}");
        // One error of the provider's, read from the -json diagnostics (Terraform adds
        // its own "Invalid provider configuration" after a failed configure).
        let errors: Vec<_> = run
            .diagnostics()
            .into_iter()
            .filter(|d| d.severity == "error" && d.summary != "Invalid provider configuration")
            .collect();
        assert_eq!(errors.len(), 1, "{var}: {errors:?}");
        let error = format!("{}\n{}", errors[0].summary, errors[0].detail);
        let says = |text: &str| regex::Regex::new(&words(text)).unwrap().is_match(&error);
        assert!(says(summary), "{var}: {error}");
        assert!(
            says(&format!(
                "could not connect to 127.0.0.1:{port}: connection refused"
            )),
            "{var}: {error}"
        );
        assert!(says("Nothing listens at that address"), "{var}: {error}");
        assert!(says(named), "{var}: {error}");
        assert!(!says(not_named), "{var}: {error}");
        // Said once in the error's detail.
        assert_eq!(
            errors[0]
                .detail
                .to_lowercase()
                .matches("connection refused")
                .count(),
            1,
            "{var}: {:?}",
            errors[0]
        );
        // Not presented as an answer from vCR: the detail is the call and its failed
        // connection, first thing.
        assert!(
            connection_failed.is_match(&errors[0].detail),
            "{var}: {:?}",
            errors[0]
        );
        // Fast because nothing is retried: the provider's debug log shows one try,
        // not retryable.
        let tries: Vec<&str> = run
            .stderr
            .lines()
            .filter(|l| l.contains("no answer:"))
            .collect();
        assert_eq!(tries.len(), 1, "{var}: one try: {}", run.stderr);
        assert!(tries[0].contains("retryable=false"), "{var}: {}", tries[0]);
        eprintln!("{var} at a closed port: terraform plan failed in {took:?}");
    }
}

/// A plain TCP listener standing for an HTTP proxy on the way: it records every
/// connection and the bytes sent on it, and answers nothing.
struct Capture {
    addr: std::net::SocketAddr,
    seen: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Capture {
    fn start() -> Capture {
        use std::io::Read;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = seen.clone();
        // The thread ends with the test process; a connection of the capture's own
        // (see Drop) tells it to stop earlier.
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                conn.set_read_timeout(Some(std::time::Duration::from_millis(500)))
                    .unwrap();
                let mut bytes = Vec::new();
                let mut buf = [0u8; 4096];
                while let Ok(n) = conn.read(&mut buf) {
                    if n == 0 || bytes.len() > 65536 {
                        break;
                    }
                    bytes.extend_from_slice(&buf[..n]);
                }
                let text = String::from_utf8_lossy(&bytes).to_string();
                if text == "stop" {
                    return;
                }
                log.lock().unwrap().push(text);
            }
        });
        Capture { addr, seen }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn requests(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        use std::io::Write;
        if let Ok(mut c) = std::net::TcpStream::connect(self.addr) {
            let _ = c.write_all(b"stop");
        }
    }
}

#[test]
fn plain_http_to_another_host_is_refused_before_anything_is_sent() {
    let local = LocalVcr::start();
    let proxy = Capture::start();
    let remote = "http://vcr.example/iam/accounts-api/v2/auth/token";
    let mut ws = Workspace::against(&local);
    for var in ["HTTP_PROXY", "http_proxy"] {
        ws.set_env(var, &proxy.url());
    }
    ws.set_env("NO_PROXY", "");
    ws.set_env("no_proxy", "");
    let says = |out: &str, text: &str| regex::Regex::new(&words(text)).unwrap().is_match(out);

    // Written in the block: refused by validate, naming the attribute.
    ws.write_config(&format!(
        "provider \"vcr\" {{\n  token_url = \"{remote}\"\n}}\n{NEW_REPOSITORY}"
    ));
    let run = ws.validate();
    assert!(!run.success(), "{}", run.output());
    assert!(
        run.output().contains("Invalid value for \"token_url\""),
        "{}",
        run.output()
    );
    assert!(
        says(&run.output(), "insecure_http = true"),
        "{}",
        run.output()
    );

    // From the environment: refused when the provider starts, naming the variable.
    ws.write_config(NEW_REPOSITORY);
    ws.set_env("VCR_TOKEN_URL", remote);
    let run = ws.plan(true);
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.output()
            .contains("Error: Plain HTTP refused for VCR_TOKEN_URL"),
        "{}",
        run.output()
    );
    assert_eq!(proxy.requests(), Vec::<String>::new(), "nothing may leave");

    // Allowed explicitly, the request goes out, credentials and all: the proxy sees it
    // (so the two checks above could have seen a leak).
    ws.set_env("VCR_INSECURE_HTTP", "true");
    ws.set_env("VCR_MAX_RETRIES", "0");
    let run = ws.plan(true);
    assert_eq!(run.code, 1, "the proxy answers nothing: {}", run.output());
    let seen = proxy.requests();
    // Only first lines in messages: the rest holds the credentials.
    let first_lines: Vec<&str> = seen
        .iter()
        .map(|r| r.lines().next().unwrap_or(""))
        .collect();
    assert_eq!(first_lines, [format!("POST {remote} HTTP/1.1")]);
    assert!(seen[0]
        .to_ascii_lowercase()
        .contains("authorization: basic "));
    let secret = &local.settings["VCR_CLIENT_SECRET"];
    assert!(
        !run.output().contains(secret.as_str()),
        "the secret is not in the output"
    );
}

#[test]
fn validate_checks_no_credentials_and_calls_nothing() {
    let local = LocalVcr::start();
    let mut ws = Workspace::against(&local);
    ws.set_env("VCR_CLIENT_SECRET", "wrong-but-never-sent");
    ws.write_config(NEW_REPOSITORY);
    local.controls().reset_requests();
    let run = ws.validate();
    assert!(run.success(), "{}", run.output());
    assert_eq!(local.controls().requests().total, 0, "validate called vCR");
}
