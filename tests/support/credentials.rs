//! Registry credentials in a real run: a `local-exec` provisioner that receives them
//! through its environment and logs in with them, and the checks that they leave no
//! trace where Terraform keeps things.

use vcr_provider::vcr::Region;

use super::local::LocalVcr;
use super::steps::Ctx;

/// What the provisioner's script writes: the login name, the registry and the
/// verdict of its login, and (apart) the password, so that the checks can look for it
/// where it must not be.
pub const SEEN: &str = "login.seen";
pub const SEEN_PASSWORD: &str = "password.seen";

/// Run by `local-exec` with the credentials in its environment: logs in as `docker
/// login` would (vcr-local's check-login) and writes what it saw.
pub const LOGIN_SCRIPT: &str = r#"set -eu
printf '%s' "$PASSWORD" > password.seen
printf '%s\n%s\n' "$USERNAME" "$REGISTRY" > login.seen
if printf '{"username":"%s","password":"%s"}' "$USERNAME" "$PASSWORD" |
   curl -fsS -o /dev/null -X POST -H 'content-type: application/json' --data-binary @- "$LOGIN_URL"
then echo "login ok" >> login.seen
else echo "login refused" >> login.seen
fi
"#;

/// vcr-local's login check for a region, which the provisioner calls.
pub fn login_url(local: &LocalVcr, region: Region) -> String {
    format!(
        "{}/_local/{}/check-login",
        local.base_url(),
        region.as_str().to_lowercase()
    )
}

/// A repository, credentials for it, and a `terraform_data` whose provisioner gets the
/// credentials through its environment (and, unused by `local-exec`, a connection).
pub fn provisioner_config(login_url: &str, permission: &str) -> String {
    format!(
        r#"
resource "vcr_repository" "app" {{
  name           = "eph-app"
  quota_limit_gb = 5
}}

ephemeral "vcr_registry_credentials" "ci" {{
  description = "one CI run"
  repository_permission {{
    repository_id = vcr_repository.app.id
    permission    = "{permission}"
  }}
}}

resource "terraform_data" "push" {{
  connection {{
    type     = "ssh"
    host     = "127.0.0.1"
    user     = ephemeral.vcr_registry_credentials.ci.username
    password = ephemeral.vcr_registry_credentials.ci.password
  }}
  provisioner "local-exec" {{
    command = "sh login.sh"
    environment = {{
      USERNAME  = ephemeral.vcr_registry_credentials.ci.username
      PASSWORD  = ephemeral.vcr_registry_credentials.ci.password
      REGISTRY  = ephemeral.vcr_registry_credentials.ci.registry
      LOGIN_URL = "{login_url}"
    }}
  }}
}}
"#
    )
}

/// The registry host the provider reports in `region` for this vcr-local.
pub fn registry_host(local: &LocalVcr, region: Region) -> String {
    let (key, default) = match region {
        Region::Hcm => ("VCR_REGISTRY_HCM", "vcr.vngcloud.vn"),
        Region::Han => ("VCR_REGISTRY_HAN", "vcr-han.vngcloud.vn"),
    };
    local
        .settings
        .get(key)
        .cloned()
        .unwrap_or_else(|| default.to_string())
}

/// What the provisioner saw: login name, registry, login verdict; and the password.
pub struct Seen {
    pub username: String,
    pub registry: String,
    pub verdict: String,
    pub password: String,
}

pub fn seen(ctx: &Ctx) -> Seen {
    let ws = ctx.workspace();
    let text = ws
        .read_file(SEEN)
        .expect("the provisioner ran and wrote what it saw");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    Seen {
        username: lines[0].to_string(),
        registry: lines[1].to_string(),
        verdict: lines[2].to_string(),
        password: ws.read_file(SEEN_PASSWORD).unwrap_or_default(),
    }
}

/// The password is nowhere Terraform keeps or prints things: not in the state file
/// (which holds no ephemeral resource either; a resource that used one names it among
/// its dependencies only), not in the output of the step (which, under `TF_LOG=trace`,
/// holds the whole trace log).
pub fn assert_no_trace_of(ctx: &Ctx, password: &str) {
    assert!(password.len() >= 16, "a real password: {}", password.len());
    let state = ctx.workspace().state_text();
    assert!(
        !state.contains(password),
        "the password is in the state file"
    );
    let json: serde_json::Value = serde_json::from_str(&state).expect("a state was written");
    let resources = json["resources"].as_array().expect("resources in state");
    assert!(!resources.is_empty());
    for r in resources {
        assert!(
            ["managed", "data"].contains(&r["mode"].as_str().unwrap_or_default())
                && r["type"] != "vcr_registry_credentials",
            "an ephemeral resource is in the state file: {}",
            r["type"]
        );
    }
    assert!(
        !ctx.output().contains(password),
        "the password is in Terraform's output or log"
    );
}

/// The output of the step with Terraform's line wrapping undone.
pub fn unwrapped_output(ctx: &Ctx) -> String {
    ctx.output()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// How many requests vcr-local answered for this method on user paths, by status.
pub fn user_calls(ctx: &Ctx, method: &str, region: Region) -> (u64, Vec<String>) {
    let prefix = format!("/{}/v1/user", region.as_str().to_lowercase());
    let counts = ctx.local.controls().requests();
    let mut total = 0;
    let mut statuses = Vec::new();
    for r in counts.requests.iter().filter(|r| r.method == method) {
        let is_user = r.path == prefix
            || (r.path.starts_with(&format!("{prefix}/ra-")) && !r.path.ends_with("/refresh"));
        if is_user {
            total += r.count;
            statuses.extend(r.statuses.keys().cloned());
        }
    }
    statuses.sort();
    statuses.dedup();
    (total, statuses)
}

/// One user made (POST) and one deleted (DELETE, 200), none left in the region.
pub fn assert_made_and_deleted_one_user(ctx: &Ctx, region: Region) {
    assert_eq!(user_calls(ctx, "POST", region), (1, vec!["200".into()]));
    assert_eq!(user_calls(ctx, "DELETE", region), (1, vec!["200".into()]));
    assert_eq!(ctx.local.user_names(region), Vec::<String>::new());
}
