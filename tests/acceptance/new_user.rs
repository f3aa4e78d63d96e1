//! What a new user runs, run as they would run it.
//!
//! - The README walk-through: its shell blocks, taken from README.md as they are, run
//!   in one bash from the root of the checkout, with the debug build and the terraform
//!   of this test run. It must apply and destroy the quickstart, and end with nothing
//!   running and nothing new in the checkout (tracked, untracked or ignored).
//! - Its wait for vcr-local stops with vcr-local's error when vcr-local exits, instead
//!   of waiting forever.
//! - `make demo` finds the binaries where cargo put them when `CARGO_TARGET_DIR` is set,
//!   in a checkout that has no `target/` of its own.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A shell block of the README walk-through.
#[derive(Debug, PartialEq)]
struct Block {
    /// 1-based line of the opening fence in README.md.
    line: usize,
    /// The block's text, without the fence's indentation.
    text: String,
    /// Fenced as ```` ```shell needs-docker ````: runs only where a Docker daemon answers.
    needs_docker: bool,
}

const WALKTHROUGH_MARKER: &str = "<!-- walk-through:";

/// The `shell` blocks from the walk-through marker to the next `## ` heading.
fn walkthrough_blocks(readme: &str) -> Vec<Block> {
    let lines: Vec<&str> = readme.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.trim_start().starts_with(WALKTHROUGH_MARKER))
        .unwrap_or_else(|| panic!("README.md has no `{WALKTHROUGH_MARKER}` marker"));
    let mut blocks = Vec::new();
    let mut i = start + 1;
    while i < lines.len() && !lines[i].starts_with("## ") {
        let indent = lines[i].len() - lines[i].trim_start().len();
        let Some(info) = lines[i].trim_start().strip_prefix("```") else {
            i += 1;
            continue;
        };
        let words: Vec<&str> = info.split_whitespace().collect();
        let opening = i;
        let mut body = Vec::new();
        i += 1;
        while i < lines.len() && !lines[i].trim_start().starts_with("```") {
            // CommonMark: content loses up to the fence's indentation.
            let strip = lines[i].len() - lines[i].trim_start_matches(' ').len();
            body.push(&lines[i][strip.min(indent)..]);
            i += 1;
        }
        assert!(i < lines.len(), "README.md:{}: unclosed fence", opening + 1);
        i += 1;
        if words.first() == Some(&"shell") {
            blocks.push(Block {
                line: opening + 1,
                text: body.join("\n") + "\n",
                needs_docker: words.contains(&"needs-docker"),
            });
        }
    }
    blocks
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The target directory this test run's binaries are in, so that the scripts under
/// test find (and `cargo build` reuses) the very same build.
fn test_target_dir() -> PathBuf {
    let exe = Path::new(env!("CARGO_BIN_EXE_vcr-local"));
    exe.parent().and_then(Path::parent).unwrap().to_path_buf()
}

fn docker_answers() -> bool {
    Command::new("docker")
        .arg("info")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Commands started for one test carry `NEW_USER_RUN=<id>` in their environment, which
/// their children inherit: what is left running is found by it, and killed on drop.
struct Tagged {
    tag: String,
}

impl Tagged {
    fn new(name: &str) -> Tagged {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        Tagged {
            tag: format!("NEW_USER_RUN={name}-{}-{nanos}", std::process::id()),
        }
    }

    /// A bash with a clean environment for a user's shell: no `TF_*` or `VCR_*` of the
    /// test runner, this run's terraform first on the PATH.
    fn bash(&self, tools: &Path) -> Command {
        let mut cmd = Command::new("bash");
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy().into_owned();
            if key.starts_with("TF_") || key.starts_with("VCR_") {
                cmd.env_remove(key);
            }
        }
        let (key, value) = self.tag.split_once('=').unwrap();
        let path = format!("{}:{}", tools.display(), std::env::var("PATH").unwrap());
        cmd.env(key, value)
            .env("PATH", path)
            .env("CARGO_TARGET_DIR", test_target_dir())
            .env("CHECKPOINT_DISABLE", "1")
            .stdin(Stdio::null());
        cmd
    }

    /// Processes still running with this tag: `(pid, command line)`.
    fn running(&self) -> Vec<(u32, String)> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
                continue;
            };
            if environ.split(|b| *b == 0).any(|v| v == self.tag.as_bytes()) {
                let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
                let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
                found.push((pid, cmdline.trim().to_string()));
            }
        }
        found
    }

    fn kill_all(&self) {
        for (pid, _) in self.running() {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
    }
}

impl Drop for Tagged {
    fn drop(&mut self) {
        self.kill_all();
    }
}

/// What a command printed, and whether it finished in time.
struct Ran {
    finished: Option<std::process::ExitStatus>,
    output: String,
}

/// Runs `cmd` with stdout and stderr into one file, for at most `limit`.
fn run_for(mut cmd: Command, limit: Duration, tagged: &Tagged) -> Ran {
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut child = cmd
        .stdout(log.reopen().unwrap())
        .stderr(log.reopen().unwrap())
        .spawn()
        .expect("start bash");
    let deadline = Instant::now() + limit;
    let finished = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            tagged.kill_all();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let output = std::fs::read_to_string(log.path()).unwrap();
    Ran { finished, output }
}

/// A folder holding `terraform`, linked to the one the tests use.
fn tools_dir() -> tempfile::TempDir {
    let tools = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(support::terraform_binary(), tools.path().join("terraform"))
        .unwrap();
    tools
}

/// Everything `git status` reports in the checkout, ignored files included.
fn git_status() -> String {
    let out = Command::new("git")
        .args(["status", "--porcelain", "--ignored"])
        .current_dir(root())
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "this test needs the checkout to be a git repository: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn readme_blocks() -> Vec<Block> {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    walkthrough_blocks(&readme)
}

#[test]
fn walkthrough_blocks_are_the_shell_blocks_of_the_section() {
    let readme = "# t\n\n## Try it\n\n```shell\nnot yet\n```\n\n\
        1. Steps\n\n   <!-- walk-through: the test runs these -->\n\n   \
        ```shell\n   a=1\n   cat <<EOF\n   x\n   EOF\n   ```\n\n   ```text\n   not run\n   ```\n\n\
        ```shell needs-docker\ndocker info\n```\n\n## Next\n\n```shell\nnot run\n```\n";
    assert_eq!(
        walkthrough_blocks(readme),
        vec![
            Block {
                line: 13,
                text: "a=1\ncat <<EOF\nx\nEOF\n".into(),
                needs_docker: false,
            },
            Block {
                line: 24,
                text: "docker info\n".into(),
                needs_docker: true,
            },
        ]
    );
}

#[test]
fn readme_walkthrough_runs_as_written_and_leaves_nothing_behind() {
    let blocks = readme_blocks();
    assert!(
        blocks.len() >= 2,
        "the walk-through has too few shell blocks: {blocks:?}"
    );
    let tools = tools_dir();
    // `mktemp` in the walk-through lands here: it must be empty again at the end.
    let tmp = tempfile::tempdir().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let before = git_status();

    let docker = docker_answers();
    let mut script = String::new();
    for block in &blocks {
        if block.needs_docker && !docker {
            let note = format!(
                "README.md:{}: skipped: this block needs a Docker daemon, and `docker info` found none",
                block.line
            );
            eprintln!("{note}");
            script.push_str(&format!("echo '{note}'\n"));
            continue;
        }
        script.push_str(&format!("echo '==> README.md:{}'\n", block.line));
        script.push_str(&block.text);
    }
    let script_path = scratch.path().join("walkthrough.sh");
    std::fs::write(&script_path, &script).unwrap();

    let tagged = Tagged::new("walkthrough");
    let mut bash = tagged.bash(tools.path());
    bash.arg("-e")
        .arg(&script_path)
        .current_dir(root())
        .env("TMPDIR", tmp.path());
    let ran = run_for(bash, Duration::from_secs(20 * 60), &tagged);
    let left = tagged.running();
    tagged.kill_all();

    let shown = format!("--- script ---\n{script}--- output ---\n{}", ran.output);
    let status = ran
        .finished
        .unwrap_or_else(|| panic!("the walk-through did not finish in 20 minutes\n{shown}"));
    assert!(
        status.success(),
        "the walk-through failed ({status})\n{shown}"
    );
    for expected in ["Apply complete!", "Destroy complete!"] {
        assert!(
            ran.output.contains(expected),
            "no {expected:?} in the output\n{shown}"
        );
    }
    // The lines to paste come out as they are: no quotes, one per line.
    assert!(
        ran.output
            .lines()
            .any(|l| l.starts_with("terraform output -raw ci_secret | docker login ")),
        "no docker login line to paste in the output\n{shown}"
    );
    assert!(
        left.is_empty(),
        "still running after the walk-through: {left:?}\n{shown}"
    );
    let made: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(made.is_empty(), "left in TMPDIR: {made:?}\n{shown}");
    assert_eq!(
        before,
        git_status(),
        "the walk-through changed the checkout (git status --porcelain --ignored)\n{shown}"
    );
}

#[test]
fn readme_wait_for_vcr_local_stops_with_its_error_when_it_exits() {
    let blocks = readme_blocks();
    let start = blocks
        .iter()
        .find(|b| b.text.contains("vcr-local\" --listen"))
        .expect("a walk-through block that starts vcr-local");
    let tools = tools_dir();
    let tmp = tempfile::tempdir().unwrap();
    let tagged = Tagged::new("wait-loop");
    let mut bash = tagged.bash(tools.path());
    // Pasted as a user would (no -e); vcr-local refuses to start, as it would on a busy
    // port: the account id it reads from the environment is not a number.
    bash.arg("-c")
        .arg(&start.text)
        .current_dir(root())
        .env("TMPDIR", tmp.path())
        .env("VCR_LOCAL_ACCOUNT_ID", "not-a-number");
    let ran = run_for(bash, Duration::from_secs(20 * 60), &tagged);
    assert!(
        ran.finished.is_some(),
        "the block kept waiting after vcr-local exited:\n{}",
        ran.output
    );
    assert!(
        ran.output.contains("vcr-local stopped:") && ran.output.contains("not-a-number"),
        "the block did not show vcr-local's error:\n{}",
        ran.output
    );
    assert!(tagged.running().is_empty());
}

#[test]
fn make_demo_finds_the_binaries_under_cargo_target_dir() {
    // A checkout without a target/ of its own: the sources linked, the scripts copied
    // (they find the checkout from their own path). cargo builds into this run's
    // target directory (CARGO_TARGET_DIR), where the build is already fresh.
    let checkout = tempfile::tempdir().unwrap();
    let target = test_target_dir();
    for entry in std::fs::read_dir(root()).unwrap().flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if ["target", ".git", ".demo", ".tools", "dist", "scripts"].contains(&name.as_ref())
            || entry.path() == target
        {
            continue;
        }
        std::os::unix::fs::symlink(entry.path(), checkout.path().join(&*name)).unwrap();
    }
    std::fs::create_dir(checkout.path().join("scripts")).unwrap();
    for script in std::fs::read_dir(root().join("scripts")).unwrap().flatten() {
        std::fs::copy(
            script.path(),
            checkout.path().join("scripts").join(script.file_name()),
        )
        .unwrap();
    }

    let tools = tools_dir();
    let tagged = Tagged::new("demo");
    let mut bash = tagged.bash(tools.path());
    bash.arg(checkout.path().join("scripts/demo.sh"))
        .current_dir(checkout.path())
        .env("TERRAFORM_BIN", support::terraform_binary());
    let ran = run_for(bash, Duration::from_secs(20 * 60), &tagged);
    let status = ran
        .finished
        .unwrap_or_else(|| panic!("make demo did not finish in 20 minutes:\n{}", ran.output));
    assert!(status.success(), "make demo failed:\n{}", ran.output);
    assert!(
        ran.output
            .contains(&format!("    {}", target.join("debug").display())),
        "make demo did not use the binaries in {}:\n{}",
        target.display(),
        ran.output
    );
    assert!(ran.output.contains("Done:"), "{}", ran.output);
    assert!(
        !checkout.path().join("target").exists(),
        "make demo built into the checkout's target/ instead of CARGO_TARGET_DIR"
    );
    assert!(tagged.running().is_empty(), "make demo left processes");
}

/// `make test` installs skopeo and docker.io system-wide when they are missing (as CI
/// wants), and `INSTALL_MISSING=no`, which the README gives before the command, stops
/// it: run here with a PATH that has neither, and an `apt-get` that only records.
#[test]
fn make_test_installs_system_packages_unless_told_not_to() {
    let make = ["/usr/bin/make", "/bin/make"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("make");
    let run = |opt_out: bool| {
        let bin = tempfile::tempdir().unwrap();
        let calls = bin.path().join("apt-get.calls");
        let apt_get = bin.path().join("apt-get");
        std::fs::write(
            &apt_get,
            format!("#!/bin/sh\necho \"$@\" >>'{}'\n", calls.display()),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&apt_get, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut cmd = Command::new(make);
        cmd.args(["--no-print-directory", "-C"])
            .arg(root())
            .arg("registry-clients")
            .env("PATH", bin.path());
        if opt_out {
            cmd.arg("INSTALL_MISSING=no");
        }
        let out = cmd.output().expect("run make");
        let said = String::from_utf8_lossy(&out.stderr).into_owned();
        let installed = std::fs::read_to_string(&calls).unwrap_or_default();
        (out.status.success(), said, installed)
    };

    let (ok, said, installed) = run(false);
    assert!(
        installed.contains("install -y -qq skopeo docker.io"),
        "{said}\n{installed}"
    );
    assert!(said.contains("system-wide with apt-get"), "{said}");
    assert!(!ok, "skopeo is still missing: {said}");

    let (ok, said, installed) = run(true);
    assert!(
        installed.is_empty(),
        "INSTALL_MISSING=no ran apt-get {installed}: {said}"
    );
    assert!(!ok, "skopeo is missing: {said}");
    assert!(said.contains("install skopeo"), "{said}");
}
