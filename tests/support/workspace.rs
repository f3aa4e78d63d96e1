//! A Terraform working directory for one test: its configuration, its state, and a CLI
//! configuration pointing `vngcloud/vcr` at the provider under test.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::local::LocalVcr;
use super::plan::PlanChanges;
use super::state::State;
use super::terraform::{Run, Terraform};

/// The provider binary Cargo built for this test run.
pub fn provider_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_terraform-provider-vcr"))
}

/// Settings of the developer's shell that would reach the provider unasked.
const CLEARED_ENV: [&str; 12] = [
    "TF_LOG",
    "TF_LOG_PATH",
    "TF_LOG_PROVIDER",
    "VCR_REGION",
    "VCR_CLIENT_ID",
    "VCR_CLIENT_SECRET",
    "VCR_TOKEN_URL",
    "VCR_ENDPOINT_HCM",
    "VCR_ENDPOINT_HAN",
    "VCR_MAX_RETRIES",
    "VCR_SKIP_CREDENTIALS_VALIDATION",
    "VCR_INSECURE_HTTP",
];

/// Writes the workspace's CLI configuration: each provider from its own folder, the
/// rest from the registry.
fn write_overrides(workspace: &Path, providers: &[(&str, PathBuf)]) {
    let lines: String = providers
        .iter()
        .map(|(source, dir)| format!("    \"{source}\" = \"{}\"\n", dir.display()))
        .collect();
    let cli_config =
        format!("provider_installation {{\n  dev_overrides {{\n{lines}  }}\n  direct {{}}\n}}\n");
    std::fs::write(workspace.join("cli.tfrc"), cli_config).unwrap();
}

/// The plan file a step writes and applies.
pub const PLAN_FILE: &str = "tfplan";

/// A folder with a configuration and its state, run by one terraform.
pub struct Workspace {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
    terraform: &'static Terraform,
}

impl Default for Workspace {
    fn default() -> Self {
        Workspace::new()
    }
}

impl Workspace {
    /// A workspace with no vCR to talk to (validate, schema, provider-block tests).
    pub fn new() -> Workspace {
        let dir = tempfile::Builder::new()
            .prefix("vcr-acc-")
            .tempdir()
            .unwrap();
        // Each workspace reaches the provider through its own link, so that its
        // provider processes can be told apart from those of tests running beside it.
        let plugin_dir = dir.path().join("plugins");
        std::fs::create_dir(&plugin_dir).unwrap();
        std::os::unix::fs::symlink(provider_binary(), plugin_dir.join("terraform-provider-vcr"))
            .unwrap();
        write_overrides(dir.path(), &[("vngcloud/vcr", plugin_dir)]);
        Workspace {
            dir,
            env: Vec::new(),
            terraform: Terraform::default(),
        }
    }

    /// Another provider Terraform starts from `binary` in this workspace (a test's own
    /// provider, beside this one): `source` as `required_providers` names it.
    pub fn override_provider(&self, source: &str, binary: &Path) {
        let name = source.rsplit('/').next().unwrap_or(source);
        let dir = self.dir.path().join(format!("plugins-{name}"));
        std::fs::create_dir(&dir).unwrap();
        std::os::unix::fs::symlink(binary, dir.join(format!("terraform-provider-{name}"))).unwrap();
        write_overrides(
            self.dir.path(),
            &[
                ("vngcloud/vcr", self.dir.path().join("plugins")),
                (source, dir),
            ],
        );
    }

    /// A workspace whose provider talks to this vcr-local (through `VCR_*` variables).
    pub fn against(local: &LocalVcr) -> Workspace {
        let mut ws = Workspace::new();
        for (k, v) in &local.settings {
            ws.set_env(k, v);
        }
        ws
    }

    /// Runs this workspace's commands with another terraform.
    pub fn with_terraform(mut self, terraform: &'static Terraform) -> Workspace {
        self.terraform = terraform;
        self
    }

    /// Runs this workspace's later commands with another terraform (an upgrade).
    pub fn use_terraform(&mut self, terraform: &'static Terraform) {
        self.terraform = terraform;
    }

    /// A new, empty workspace with the same settings and terraform (an import step's).
    pub fn sibling(&self) -> Workspace {
        let mut ws = Workspace::new().with_terraform(self.terraform);
        ws.env = self.env.clone();
        ws
    }

    pub fn terraform(&self) -> &'static Terraform {
        self.terraform
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The path Terraform starts the provider from in this workspace.
    pub fn provider_path(&self) -> PathBuf {
        self.dir.path().join("plugins/terraform-provider-vcr")
    }

    /// Sets an environment variable for every later command in this workspace.
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_string(), value.to_string()));
    }

    /// The `required_providers` block every configuration needs.
    pub fn with_required_providers(hcl: &str) -> String {
        format!(
            "terraform {{\n  required_providers {{\n    vcr = {{ source = \"vngcloud/vcr\" }}\n  }}\n}}\n\n{hcl}"
        )
    }

    /// Writes `main.tf` (with the `required_providers` block prepended).
    pub fn write_config(&self, hcl: &str) {
        self.write_file("main.tf", &Self::with_required_providers(hcl));
    }

    /// Writes a file of the workspace as it is (no block prepended), making its
    /// folder when it is in one (`creds/main.tf`).
    pub fn write_file(&self, name: &str, text: &str) {
        let path = self.dir.path().join(name);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(path, text).unwrap();
    }

    /// A file of the workspace as text (what a provisioner wrote); `None` when absent.
    pub fn read_file(&self, name: &str) -> Option<String> {
        std::fs::read_to_string(self.dir.path().join(name)).ok()
    }

    /// The state file as Terraform wrote it, byte for byte (empty when there is none):
    /// for checks that something never reached it.
    pub fn state_text(&self) -> String {
        self.read_file("terraform.tfstate").unwrap_or_default()
    }

    /// Runs `terraform ARGS` here and returns what it did.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, &[])
    }

    /// Runs `terraform ARGS` with extra environment variables for this command only.
    pub fn run_with(&self, args: &[&str], env: &[(String, String)]) -> Run {
        let out = self.command(args, env).output().expect("start terraform");
        Run::from(args, out)
    }

    /// Starts `terraform ARGS` here without waiting (to interrupt it), its output
    /// piped; [`Run::from`] the child's `wait_with_output()` reads what it did.
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        self.command(args, &[])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start terraform")
    }

    /// The command `terraform ARGS` in this workspace, with its settings.
    fn command(&self, args: &[&str], env: &[(String, String)]) -> Command {
        let mut cmd = Command::new(self.terraform.path());
        cmd.args(args)
            .current_dir(self.dir.path())
            .env("TF_CLI_CONFIG_FILE", self.dir.path().join("cli.tfrc"))
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_IN_AUTOMATION", "1");
        for var in CLEARED_ENV {
            cmd.env_remove(var);
        }
        for (k, v) in self.env.iter().chain(env) {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs a command that must succeed.
    pub fn must(&self, args: &[&str]) -> Run {
        let run = self.run(args);
        assert!(
            run.success(),
            "{} failed ({}) with Terraform {}:\n{}",
            run.command(),
            run.code,
            self.terraform.version_string(),
            run.output()
        );
        run
    }

    pub fn validate(&self) -> Run {
        self.run(&["validate", "-no-color"])
    }

    /// `plan -detailed-exitcode`: 0 no changes, 2 changes, 1 error.
    pub fn plan(&self, refresh: bool) -> Run {
        let mut args = vec!["plan", "-detailed-exitcode", "-no-color", "-input=false"];
        if !refresh {
            args.push("-refresh=false");
        }
        self.run(&args)
    }

    /// `validate -json`: one JSON object, `{"valid","error_count","diagnostics":[...]}`.
    pub fn validate_json(&self) -> serde_json::Value {
        let run = self.run(&["validate", "-json"]);
        serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("validate -json: {e}: {}", run.output()))
    }

    /// `plan -json`: its diagnostics are read with [`Run::diagnostics`].
    pub fn plan_json(&self) -> Run {
        self.run(&["plan", "-json", "-input=false"])
    }

    /// Both plans (without and with refresh) are empty.
    pub fn assert_no_changes(&self) {
        for refresh in [false, true] {
            let run = self.plan(refresh);
            assert_eq!(
                run.code,
                0,
                "expected an empty plan (refresh={refresh}), got exit code {} with Terraform {}:\n{}",
                run.code,
                self.terraform.version_string(),
                run.output()
            );
        }
    }

    /// `terraform show -json` of the saved plan file, parsed.
    pub fn show_plan(&self) -> PlanChanges {
        let run = self.must(&["show", "-json", PLAN_FILE]);
        PlanChanges::parse(&run.stdout)
            .unwrap_or_else(|e| panic!("show -json {PLAN_FILE}: {e}\n{}", run.stdout))
    }

    /// `apply -auto-approve` of the current configuration, which must succeed.
    pub fn apply(&self) -> Run {
        self.must(&["apply", "-auto-approve", "-no-color", "-input=false"])
    }

    /// `apply -invoke=ADDRESS` (an action, Terraform 1.14+), succeeding or not.
    pub fn invoke(&self, action: &str) -> Run {
        let target = format!("-invoke={action}");
        self.run(&[
            "apply",
            "-auto-approve",
            "-input=false",
            "-no-color",
            &target,
        ])
    }

    pub fn destroy(&self) -> Run {
        self.must(&["destroy", "-auto-approve", "-no-color", "-input=false"])
    }

    /// The state Terraform saved in this workspace (empty when there is none yet).
    pub fn state(&self) -> State {
        State::read(&self.dir.path().join("terraform.tfstate"))
    }

    /// Provider processes of this workspace still running.
    pub fn running_providers(&self) -> Vec<u32> {
        let needle = self.provider_path();
        let mut pids = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
                continue;
            };
            let first = cmdline.split(|b| *b == 0).next().unwrap_or_default();
            if Path::new(std::str::from_utf8(first).unwrap_or_default()) == needle {
                pids.push(pid);
            }
        }
        pids
    }
}
