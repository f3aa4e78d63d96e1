//! Registry credentials in a real run: a `local-exec` provisioner that receives them
//! through its environment and uses them with a real OCI client (skopeo) against
//! vcr-local's registry, and the checks that they leave no trace where Terraform keeps
//! things.

use vcr_provider::vcr::Region;

use super::local::LocalVcr;
use super::steps::Ctx;

/// What the provisioner's script writes: the login name, the registry and the verdict
/// of each registry call it made, and (apart) the password, so that the checks can
/// look for it where it must not be.
pub const SEEN: &str = "login.seen";
pub const SEEN_PASSWORD: &str = "password.seen";
/// What skopeo said, for failures and refusals.
pub const SKOPEO_LOG: &str = "skopeo.log";

/// Run by `local-exec` with the credentials in its environment: logs in to the
/// registry with skopeo (a real OCI client, as `docker login` would), pulls
/// `$IMAGE:1.0` and pushes it back as `$IMAGE:pushed`, and writes each verdict.
pub const LOGIN_SCRIPT: &str = r#"set -u
printf '%s' "$PASSWORD" > password.seen
printf '%s\n%s\n' "$USERNAME" "$REGISTRY" > login.seen
# skopeo keeps the login in this file rather than the home folder; removed at the end.
export REGISTRY_AUTH_FILE="$PWD/registry-auth.json"
try() {
  what=$1; shift
  if "$@" >/dev/null 2>>skopeo.log; then echo "$what ok"; else echo "$what refused"; fi >> login.seen
}
printf '%s' "$PASSWORD" |
  try login skopeo login --tls-verify=false --username "$USERNAME" --password-stdin "$REGISTRY"
try pull skopeo copy --src-tls-verify=false "docker://$REGISTRY/$IMAGE:1.0" "oci:$PWD/pulled:1.0"
try push skopeo copy --dest-tls-verify=false "oci:$PWD/pulled:1.0" "docker://$REGISTRY/$IMAGE:pushed"
rm -rf "$REGISTRY_AUTH_FILE" "$PWD/pulled"
"#;

/// The image the script pulls (tag `1.0`) and pushes (tag `pushed`).
pub const IMAGE: &str = "app";

/// Puts `app:1.0` into a repository (through the registry), for the script to pull.
pub fn push_the_image(local: &LocalVcr, region: Region, repository_id: &str) {
    let image = super::images::Image {
        name: IMAGE,
        tag: Some("1.0"),
        size_kib: 1024,
    };
    super::images::push_image(local, region, repository_id, &image);
}

/// The repository the credentials are for, alone (to be created, and given an image,
/// before the credentials are opened).
pub const REPOSITORY: &str = r#"
resource "vcr_repository" "app" {
  name           = "eph-app"
  quota_limit_gb = 5
  force_destroy  = true
}
"#;

/// The repository, credentials for it, and a `terraform_data` whose provisioner gets
/// the credentials through its environment (and, unused by `local-exec`, a connection).
pub fn provisioner_config(permission: &str) -> String {
    format!(
        r#"{REPOSITORY}
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
      USERNAME = ephemeral.vcr_registry_credentials.ci.username
      PASSWORD = ephemeral.vcr_registry_credentials.ci.password
      REGISTRY = ephemeral.vcr_registry_credentials.ci.registry
      IMAGE    = "${{vcr_repository.app.backend_name}}/{IMAGE}"
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

/// What the provisioner saw: login name, registry, the verdict of each registry call
/// (`login`, `pull`, `push`: `ok` or `refused`); and the password.
pub struct Seen {
    pub username: String,
    pub registry: String,
    pub verdicts: Vec<(String, String)>,
    pub password: String,
}

impl Seen {
    /// The verdicts as `["login ok", "pull ok", "push refused"]`.
    pub fn verdicts(&self) -> Vec<String> {
        self.verdicts
            .iter()
            .map(|(what, verdict)| format!("{what} {verdict}"))
            .collect()
    }
}

pub fn seen(ctx: &Ctx) -> Seen {
    let ws = ctx.workspace();
    let text = ws
        .read_file(SEEN)
        .expect("the provisioner ran and wrote what it saw");
    let mut lines = text.lines();
    let (username, registry) = (lines.next(), lines.next());
    let verdicts = lines
        .map(|l| {
            let (what, verdict) = l.split_once(' ').unwrap_or((l, ""));
            (what.to_string(), verdict.to_string())
        })
        .collect();
    Seen {
        username: username.unwrap_or_default().to_string(),
        registry: registry.unwrap_or_default().to_string(),
        verdicts,
        password: ws.read_file(SEEN_PASSWORD).unwrap_or_default(),
    }
}

/// The provisioner logged in, pulled, and pushed or was refused as `may_push` says;
/// a refusal is the registry's `denied`.
pub fn assert_registry_calls(ctx: &Ctx, may_push: bool) {
    let seen = seen(ctx);
    let push = if may_push { "push ok" } else { "push refused" };
    let log = ctx.workspace().read_file(SKOPEO_LOG).unwrap_or_default();
    assert_eq!(
        seen.verdicts(),
        ["login ok", "pull ok", push],
        "skopeo said:\n{log}"
    );
    if !may_push {
        assert!(log.contains("denied"), "skopeo said:\n{log}");
    }
    let auth = ctx.workspace().read_file("registry-auth.json");
    assert_eq!(auth, None, "the script removes its login");
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
        // Routes, as vcr-local counts: the list and create, and one user's calls.
        let is_user = r.path == prefix
            || (r.path.starts_with(&format!("{prefix}/{{user_id}}"))
                && !r.path.ends_with("/refresh"));
        if is_user {
            total += r.count;
            statuses.extend(r.statuses.keys().cloned());
        }
    }
    statuses.sort();
    statuses.dedup();
    (total, statuses)
}

/// `count` users made (POST) and as many deleted (DELETE, 200), none left in the
/// region.
pub fn assert_made_and_deleted_users(ctx: &Ctx, region: Region, count: u64) {
    assert_eq!(user_calls(ctx, "POST", region), (count, vec!["200".into()]));
    assert_eq!(
        user_calls(ctx, "DELETE", region),
        (count, vec!["200".into()])
    );
    assert_eq!(ctx.local.user_names(region), Vec::<String>::new());
}

/// One run's credentials at work in HCM: the script logged in as a generated user of
/// the region's registry, pulled, and pushed or was refused as `may_push` says; the
/// plan and the apply each made and deleted their own user; the password is nowhere
/// Terraform keeps or prints things. What the script saw, for more checks.
pub fn assert_a_generated_login(ctx: &Ctx, may_push: bool) -> Seen {
    assert_registry_calls(ctx, may_push);
    let seen = seen(ctx);
    assert!(
        seen.username.contains("-tf-eph-"),
        "the backend name of a generated user: {}",
        seen.username
    );
    assert_eq!(seen.registry, registry_host(ctx.local, Region::Hcm));
    // The plan opened and closed its own credentials, the apply its own.
    assert_made_and_deleted_users(ctx, Region::Hcm, 2);
    assert_no_trace_of(ctx, &seen.password);
    seen
}
