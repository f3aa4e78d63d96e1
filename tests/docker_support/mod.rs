//! A Docker daemon of a test's own, started the way these machines allow (no
//! iptables, no bridge network: containers run with `--network host`), for the
//! tests that drive docker (tests/local/interop.rs, tests/local/container_image.rs, tests/acceptance/ci_templates.rs).
#![allow(dead_code)]

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The path of a tool, or a failure saying how to get it (`make test` installs it).
pub fn tool(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Runs a command with `stdin` fed in; answers its output.
pub fn run(cmd: &mut Command, stdin: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the command starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[track_caller]
pub fn ok(out: Output) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "failed: {text}");
    text
}

/// Whether this runs in CI (`CI=true`), where a docker part may not be skipped.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Says that `what` was skipped and why: on the terminal past the test harness's
/// capture, and in `target/tmp/skipped.txt`, which `make test` prints in its summary.
pub fn skipped(what: &str, why: &str) {
    use std::io::Write as _;
    let test = std::thread::current()
        .name()
        .unwrap_or("a test")
        .to_string();
    let line = format!("SKIPPED {what} of {test}: {why}\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
    let summary = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("skipped.txt");
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(summary)
    {
        let _ = f.write_all(line.as_bytes());
    }
}

/// A docker daemon of this test's own, stopped when dropped.
pub struct Dockerd {
    child: std::process::Child,
    /// `unix://...` of its socket (`docker -H`, `DOCKER_HOST`).
    pub socket: String,
    _dir: tempfile::TempDir,
}

impl Dockerd {
    /// Starts dockerd the way these machines allow (no iptables, no bridge, vfs);
    /// `None` when there is no dockerd or it cannot run here: the skip is said in
    /// `make test`'s summary ([`skipped`]), and with `CI=true` it is a failure.
    pub fn start() -> Option<Dockerd> {
        match Dockerd::try_start() {
            Ok(daemon) => Some(daemon),
            Err(why) if in_ci() => panic!("CI=true: the docker part must run, but {why}"),
            Err(why) => {
                skipped("a docker part", &why);
                None
            }
        }
    }

    fn try_start() -> Result<Dockerd, String> {
        let Some(dockerd) = tool("dockerd") else {
            return Err("no dockerd on this machine (make test installs docker.io as root)".into());
        };
        let dir = tempfile::Builder::new()
            .prefix("vd")
            .tempdir_in("/tmp")
            .unwrap();
        let socket = format!("unix://{}/d.sock", dir.path().display());
        let log = std::fs::File::create(dir.path().join("log")).unwrap();
        let child = Command::new(dockerd)
            .args([
                "--iptables=false",
                "--ip6tables=false",
                "--bridge=none",
                "--storage-driver=vfs",
            ])
            .arg(format!("--data-root={}/root", dir.path().display()))
            .arg(format!("--exec-root={}/exec", dir.path().display()))
            .arg(format!("--pidfile={}/pid", dir.path().display()))
            .args(["-H", &socket])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("dockerd does not start: {e}"))?;
        let mut d = Dockerd {
            child,
            socket,
            _dir: dir,
        };
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(60) {
            if d.docker()
                .arg("info")
                .output()
                .is_ok_and(|o| o.status.success())
            {
                return Ok(d);
            }
            if let Ok(Some(status)) = d.child.try_wait() {
                let log = std::fs::read_to_string(d._dir.path().join("log")).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(5).collect();
                return Err(format!("dockerd cannot run here ({status}): {tail:?}"));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Err("dockerd did not answer within 60 s".into())
    }

    /// `docker` talking to this daemon, with a config folder of its own.
    pub fn docker(&self) -> Command {
        let mut cmd = Command::new("docker");
        for (key, value) in self.client_env() {
            cmd.env(key, value);
        }
        cmd
    }

    /// What makes a `docker` started elsewhere (a script) use this daemon and
    /// its config folder: `DOCKER_HOST` and `DOCKER_CONFIG`.
    pub fn client_env(&self) -> [(&'static str, String); 2] {
        [
            ("DOCKER_HOST", self.socket.clone()),
            (
                "DOCKER_CONFIG",
                self._dir.path().join("config").display().to_string(),
            ),
        ]
    }

    /// Whether a test that found no daemon must fail rather than skip: in CI
    /// (`CI=true`), where `make test` installs docker.io and dockerd runs.
    pub fn required() -> bool {
        std::env::var("CI").is_ok_and(|v| v == "true")
    }
}

impl Drop for Dockerd {
    /// Stops the daemon as its service would (SIGTERM: it stops its containers
    /// and its containerd), then kills it if it is still there after 15 s.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let asked = Instant::now();
        while asked.elapsed() < Duration::from_secs(15) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
